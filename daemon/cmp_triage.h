/*  =========================================================================
    cmp_triage - classify, assess, prioritise and route by written rules

    The organisation's triage rules are a YAML file (daemon/triage.yaml is
    the shipped one, built into the daemon; its header is the manual of
    the format). Rules are tried in file order against a complaint's
    channel, text, subject, complainant, repeat count and time; each field
    a rule sets is decided by the first matching rule that sets it, tags
    add up, and the priority comes from severity x impact through the
    file's table. The verdict is written into the complaint's record with
    the rules that decided it, so that every classification can be
    explained.

    Text patterns are PCRE2, compiled once (with JIT) in UTF-8 mode. The
    costly part of a triage, finding the keywords and running the patterns
    on a complaint's texts, can be done ahead (cmp_triage_scan_new), so
    that the event loop does it while the writer thread commits, and the
    apply in the write transaction only reads the results. A triage object
    is read-only after it is made: cmp_triage_scan_new may run in one
    thread while cmp_triage_apply runs in another, but neither may run in
    two threads at once.
    =========================================================================
*/

#ifndef CMP_TRIAGE_H_INCLUDED
#define CMP_TRIAGE_H_INCLUDED

//  What a triage decided, besides what it wrote into the record
typedef struct
{
    bool classified; //  A rule set the category: the complaint is triaged
    bool emergency;  //  A rule declared an emergency
    size_t matched;  //  How many rules matched
    char emergency_rules[256]; //  Names of the rules that declared it
} cmp_triage_result_t;

//  Read rules from size bytes of YAML text; name is the file name that
//  errors carry. calendars maps a calendar name to its cmp_calendar_t
//  (not owned: it must outlive the rules). Returns NULL, with every
//  problem in errors as "file:line: what is wrong", if the rules are not
//  valid.
cmp_triage_t *cmp_triage_new (const char *name,
                              const char *text,
                              size_t size,
                              zhashx_t *calendars,
                              zlist_t *errors);

//  Read rules from a file, as cmp_triage_new.
cmp_triage_t *
cmp_triage_load (const char *filename, zhashx_t *calendars, zlist_t *errors);

//  Destroy the rules; idempotent.
void cmp_triage_destroy (cmp_triage_t **self_p);

//  The rules' version as stored in each complaint they triage: the
//  file's version label, "#", and the first 12 hex digits of the SHA-1
//  of the file's text (czmq's zdigest).
const char *cmp_triage_version (cmp_triage_t *self);

//  How many rules there are.
size_t cmp_triage_size (cmp_triage_t *self);

//  Run the patterns as machine code compiled by PCRE2's JIT (the
//  default) or, jit false, in PCRE2's interpreter: slower, but valgrind
//  can check it (it reports JIT code's 16-byte reads past the end of a
//  text). Call before the rules are shared between threads.
void cmp_triage_set_jit (cmp_triage_t *self, bool jit);

//  True if every pattern runs as JIT code: JIT is on and compiled them
//  all. It cannot where the system forbids memory that is first written
//  and then run (systemd's MemoryDenyWriteExecute).
bool cmp_triage_jit (cmp_triage_t *self);

//  Scan a complaint's texts (a SUBMIT or COMPLAINT) ahead of its triage:
//  the keywords found, and the result of every pattern that a rule may
//  need whatever the repeat count and the time turn out to be. The
//  complaint's texts, channel and complainant must not change before the
//  apply. Caller destroys the scan.
cmp_triage_scan_t *cmp_triage_scan_new (cmp_triage_t *self,
                                        cmp_proto_t *complaint);

//  Destroy a scan; idempotent.
void cmp_triage_scan_destroy (cmp_triage_scan_t **self_p);

//  Triage a complaint record (a COMPLAINT map; its triage.repeats already
//  set, if the complainant has complained before) at the time now: sets
//  case.category, subcategory, severity, impact, priority, department,
//  sla, group and emergency, and triage.rules, at, matched and tags.
//  Fields no rule sets take the file's defaults. Fills result. scan, if
//  not NULL and made by these rules, gives what the texts hold; else the
//  texts are scanned here. The verdict is the same either way.
void cmp_triage_apply (cmp_triage_t *self,
                       cmp_proto_t *record,
                       int64_t now,
                       cmp_triage_scan_t *scan,
                       cmp_triage_result_t *result);

//  The priority the file's table gives severity x impact, or NULL if
//  either is not one of the names below. Valid while self lives.
const char *cmp_triage_priority (cmp_triage_t *self,
                                 const char *severity,
                                 const char *impact);

//  Severities, impacts and priorities, highest first, space-separated
#define CMP_TRIAGE_SEVERITIES "critical major ordinary minor"
#define CMP_TRIAGE_IMPACTS "one several public"
#define CMP_TRIAGE_PRIORITIES "urgent high normal low"

//  The rules built into the daemon (daemon/triage.yaml) and the
//  calendars (daemon/calendars.yaml), NUL-terminated
extern const char cmp_shipped_triage[];
extern const char cmp_shipped_calendars[];

#endif
