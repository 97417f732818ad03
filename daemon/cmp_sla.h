/*  =========================================================================
    cmp_sla - deadlines (SLA clocks) and the escalation ladder

    The organisation's SLA policies are a YAML file (daemon/sla.yaml is
    the shipped one, built into the daemon; its header is the manual of
    the format). A policy is a set of clocks. Each clock has a target in
    calendar time ("24h", "7d") or in the working time of a calendar ("3
    workdays", "2 work hours"), the state changes and actions that start,
    pause, resume and stop it, warning points, and a reminder before the
    due time. At breach the complaint rises one level of the escalation
    ladder, and again after each further interval while still overdue.

    A complaint's clocks are data in its record (the list "clocks" and
    case.level). This class is pure arithmetic on them: cmp_sla_read takes
    them out of a record, cmp_sla_on and cmp_sla_fire change them at a
    given time and say what happened (notices, which the caller turns into
    events and history entries), cmp_sla_write puts them back. Nothing
    here reads a clock or sleeps; "now" is always an argument.

    A clock's time is counted in "clock ms": elapsed ms for a calendar
    target, ms of working time for a working target. A clock has a total
    (its target in clock ms, fixed when it starts: "3 workdays" from a
    start becomes the working time to cmp_calendar_add_workdays' answer),
    the clock ms used before its current running stretch, and the instant
    that stretch began. Every point (reminder, warning, breach, further
    escalation) is an offset in clock ms; it fires when the clock has used
    that much. Pauses therefore push every point later, and a jump of the
    wall clock backwards fires nothing twice: what fired is recorded
    (reminded, warned, breached_at, escalations), not derived from times.

    An instance is read-only after it is made and may be used by several
    threads.
    =========================================================================
*/

#ifndef CMP_SLA_H_INCLUDED
#define CMP_SLA_H_INCLUDED

//  Limits of a policy file
#define CMP_SLA_CLOCKS 12   //  Most clocks in one policy
#define CMP_SLA_WARNINGS 4  //  Most warning points of one clock
#define CMP_SLA_LEVELS 8    //  Most levels of the ladder
#define CMP_SLA_NAME_MAX 48 //  Longest name (clock, level, policy, target)

//  Most notices one call of cmp_sla_on or cmp_sla_fire may produce
#define CMP_SLA_NOTICES                                                        \
    (CMP_SLA_CLOCKS * (CMP_SLA_WARNINGS + 3 + CMP_SLA_LEVELS))

//  States of a clock
#define CMP_SLA_RUNNING 1
#define CMP_SLA_PAUSED 2
#define CMP_SLA_STOPPED 3

//  One clock of a complaint
typedef struct
{
    char name[CMP_SLA_NAME_MAX];   //  Clock name ("resolution")
    char target[CMP_SLA_NAME_MAX]; //  Target as written ("5 workdays");
                                   //  the extended one once extended
    int state;                     //  CMP_SLA_ constant
    bool work;                     //  Counts working time (else elapsed time)
    int64_t started_at;            //  When it (last) started
    int64_t since;       //  RUNNING: start of the current running stretch
    int64_t used;        //  Clock ms used before since (all, when not
                         //  running)
    int64_t total;       //  Target in clock ms
    int64_t due_at;      //  Instant total is used up (RUNNING: if nothing
                         //  pauses it; PAUSED: 0; STOPPED: as it stood)
    int64_t next_at;     //  Instant of the next point to fire, 0 if none
    int64_t breached_at; //  When the breach fired, 0 if not (yet)
    int64_t stopped_at;  //  STOPPED: when
    bool met;            //  STOPPED: stopped before its due time
    bool reminded;       //  The reminder fired
    bool extended;       //  The extension was applied
    int warned;          //  Warning points fired, lowest first
    int escalations;     //  Further escalations fired after the breach
} cmp_sla_clock_t;

//  The deadline state of one complaint
typedef struct
{
    char policy[CMP_SLA_NAME_MAX]; //  Policy the clocks came from ("" none)
    cmp_sla_clock_t clocks[CMP_SLA_CLOCKS];
    size_t size;     //  Clocks used
    int level;       //  Escalation level, index into the ladder (0 first)
    int64_t next_at; //  Earliest next_at of the clocks, 0 if none
    int64_t due_at;  //  Earliest due_at of the running clocks, 0 if none
    bool overdue;    //  A running or paused clock is past its due time
} cmp_sla_state_t;

//  What happened to a clock, for an event (and, for an escalation, a
//  history entry)
typedef enum
{
    CMP_SLA_REMINDER,   //  Reminder before the due time (to the handler)
    CMP_SLA_WARNING,    //  A warning point (percent of the target used)
    CMP_SLA_BREACH,     //  The due time passed
    CMP_SLA_ESCALATION, //  The complaint rose from level from to level to
    CMP_SLA_STOP        //  The clock stopped, met or missed
} cmp_sla_notice_kind_t;

typedef struct
{
    cmp_sla_notice_kind_t kind;
    const char *clock; //  Clock name (valid while the state lives); NULL
                       //  for an escalation not caused by a clock
    int64_t at;        //  When the point was due (STOP: when it stopped)
    int64_t due_at;    //  The clock's due time
    bool late;         //  Fired more than late_after after at
    int percent;       //  WARNING: the point, percent of the target
    int from, to;      //  ESCALATION: levels
    bool met;          //  STOP: before the due time
    char reason[128];  //  ESCALATION: why ("resolution breached",
                       //  "resolution overdue 1 workday more", "emergency")
} cmp_sla_notice_t;

//  Read policies from size bytes of YAML text; name is the file name that
//  errors carry. calendars maps a calendar name to its cmp_calendar_t
//  (not owned: it must outlive the policies). Returns NULL, with every
//  problem in errors as "file:line: what is wrong", if the file is not
//  valid.
cmp_sla_t *cmp_sla_new (const char *name,
                        const char *text,
                        size_t size,
                        zhashx_t *calendars,
                        zlist_t *errors);

//  Read policies from a file, as cmp_sla_new.
cmp_sla_t *
cmp_sla_load (const char *filename, zhashx_t *calendars, zlist_t *errors);

//  Destroy; idempotent.
void cmp_sla_destroy (cmp_sla_t **self_p);

//  The file's version label and the first 12 hex digits of its SHA-1,
//  as cmp_triage_version.
const char *cmp_sla_version (cmp_sla_t *self);

//  Number of policies.
size_t cmp_sla_size (cmp_sla_t *self);

//  True if a policy of this name exists.
bool cmp_sla_known (cmp_sla_t *self, const char *policy);

//  The calendar working-time targets count in.
cmp_calendar_t *cmp_sla_calendar (cmp_sla_t *self);

//  The ladder: number of levels, a level's name ("department_head"), the
//  index of a name (-1 if none), and whom a level notifies, as written
//  ("handler" stands for the case's handler). Valid while self lives.
int cmp_sla_levels (cmp_sla_t *self);
const char *cmp_sla_level_name (cmp_sla_t *self, int level);
int cmp_sla_level_find (cmp_sla_t *self, const char *name);
zlist_t *cmp_sla_level_notify (cmp_sla_t *self, int level);

//  Take a complaint's deadline state out of its record (the "clocks" list,
//  case.level and case.policy); an empty state if it has none. A level
//  the ladder no longer has reads as level 0.
void
cmp_sla_read (cmp_sla_t *self, cmp_proto_t *record, cmp_sla_state_t *state);

//  Write state into the record (replaces its clocks, case.level and
//  case.policy; case.level is left out while there are no clocks and the
//  level is 0).
void
cmp_sla_write (cmp_sla_t *self, cmp_sla_state_t *state, cmp_proto_t *record);

//  Apply what happened to a complaint at now: action is the action taken
//  ("register" at registration, else the ACT's action), entered the state
//  the complaint is in afterwards (may equal the one before). policy is
//  the complaint's case.sla (the file's default when NULL or unknown;
//  the emergency policy when emergency). A policy different from
//  state->policy switches to it: clocks of the same name keep running
//  with the new target counted from their start, clocks the new policy
//  lacks are dropped. Then each clock is started, paused, resumed,
//  extended ("extend") or stopped as its policy says. An emergency at
//  registration starts at the top level. Writes up to CMP_SLA_NOTICES
//  notices (stops, and the emergency escalation) and returns how many.
int cmp_sla_on (cmp_sla_t *self,
                cmp_sla_state_t *state,
                const char *policy,
                bool emergency,
                const char *action,
                const char *entered,
                int64_t now,
                cmp_sla_notice_t *notices);

//  Fire every point due at or before now, in time order: reminders,
//  warnings, breaches (each raises the level by one, at most to the top)
//  and further escalations. Writes the notices (up to CMP_SLA_NOTICES)
//  and returns how many; state->next_at is then after now, or 0.
int cmp_sla_fire (cmp_sla_t *self,
                  cmp_sla_state_t *state,
                  int64_t now,
                  cmp_sla_notice_t *notices);

//  Clock ms used and remaining (negative when overdue) of a clock at now.
void cmp_sla_measure (cmp_sla_t *self,
                      cmp_sla_clock_t *clock,
                      int64_t now,
                      int64_t *used,
                      int64_t *remaining);

//  The policies built into the daemon (daemon/sla.yaml), NUL-terminated
extern const char cmp_shipped_sla[];

//  Self test of this class
void cmp_sla_test (bool verbose);

#endif
