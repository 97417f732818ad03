/*  =========================================================================
    complaint - public umbrella header of libcomplaint

    Channel adapters, case-handling tools and event workers include this
    one header to talk to complaintd. See proto/PROTOCOL.md for the wire
    protocol these classes implement.
    =========================================================================
*/

#ifndef COMPLAINT_H_INCLUDED
#define COMPLAINT_H_INCLUDED

//  Library version macros (RFC 21)
#define COMPLAINT_VERSION_MAJOR 0
#define COMPLAINT_VERSION_MINOR 1
#define COMPLAINT_VERSION_PATCH 0

#define COMPLAINT_MAKE_VERSION(major, minor, patch)                            \
    ((major) *10000 + (minor) *100 + (patch))
#define COMPLAINT_VERSION                                                      \
    COMPLAINT_MAKE_VERSION (COMPLAINT_VERSION_MAJOR, COMPLAINT_VERSION_MINOR,  \
                            COMPLAINT_VERSION_PATCH)

#include <czmq.h>

#if CZMQ_VERSION < 40200
#error "libcomplaint needs czmq 4.2 or later"
#endif

#include "cmp_proto.h"
#include "cmp_client.h"
#include "cmp_subscriber.h"

#endif
