/*  =========================================================================
    cmp_classes - private umbrella header of the daemon

    Includes the public API and every class of the daemon, in dependency
    order. Nothing here is installed.
    =========================================================================
*/

#ifndef CMP_CLASSES_H_INCLUDED
#define CMP_CLASSES_H_INCLUDED

#include "complaint.h"

//  Fallible functions whose result must be checked (PgBouncer _MUSTCHECK)
#define CMP_MUSTCHECK __attribute__ ((warn_unused_result))

//  Daemon version, reported by --version and STATUS
#define CMP_DAEMON_VERSION "0.1.0"

typedef struct _cmp_store_t cmp_store_t;
typedef struct _cmp_config_t cmp_config_t;
typedef struct _cmp_yaml_t cmp_yaml_t;
typedef struct _cmp_calendar_t cmp_calendar_t;
typedef struct _cmp_triage_t cmp_triage_t;
typedef struct _cmp_triage_scan_t cmp_triage_scan_t;
typedef struct _cmp_sla_t cmp_sla_t;
typedef struct _cmp_rulebook_t cmp_rulebook_t;
typedef struct _cmp_intake_t cmp_intake_t;
typedef struct _cmp_case_t cmp_case_t;
typedef struct _cmp_server_t cmp_server_t;

#include "cmp_clock.h"
#include "cmp_store.h"
#include "cmp_config.h"
#include "cmp_yaml.h"
#include "cmp_calendar.h"
#include "cmp_triage.h"
#include "cmp_sla.h"
#include "cmp_rulebook.h"
#include "cmp_case.h"
#include "cmp_intake.h"
#include "cmp_writer.h"
#include "cmp_server.h"
#include "cmp_sd.h"


//  The self tests of the daemon's classes, in dependency order
void cmp_config_test (bool verbose);
void cmp_yaml_test (bool verbose);
void cmp_calendar_test (bool verbose);
void cmp_triage_test (bool verbose);
void cmp_sla_test (bool verbose);
void cmp_rulebook_test (bool verbose);
void cmp_intake_test (bool verbose);

#endif
