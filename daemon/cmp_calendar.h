/*  =========================================================================
    cmp_calendar - business calendars and working-time arithmetic

    A calendar says when an organisation works: intervals of local time
    per weekday, in one IANA time zone, less public holidays, plus make-up
    working days (调休). Deadlines are sums of working time ("4 working
    hours") or of working days ("3 workdays"), and this class computes
    them. Time zones and daylight saving time come from ICU; the class
    never touches TZ or localtime, and every call is thread-safe.

    Instants are int64 milliseconds since the Unix epoch (UTC). Local
    dates and times are those of the calendar's zone. Instants are
    meaningful from 1900 to 9999; outside that they are clamped.

    The calendar's YAML form (the value under calendars: <name>:):

        zone: Asia/Shanghai         # IANA zone; default Asia/Shanghai
        hours:                      # per day (mon..sun) or range (mon-fri)
          mon-fri: [08:30-12:00, 13:30-17:30]
          sat: []                   # absent days have no working hours
        holidays:                   # dates or ranges a..b: no working time
          - 2027-01-01
          - 2027-02-10..2027-02-16
        workdays:                   # make-up working days, worked
          - 2027-02-07
        workday_hours: [08:30-12:00, 13:30-17:30]   # default: mon's hours

    Intervals are HH:MM-HH:MM, sorted, not overlapping, with end after
    start; 24:00 is allowed as an end. A make-up day uses workday_hours
    whatever its weekday. A holiday has no working time whatever its
    weekday; a date may not be both.

    Working time is the union of the working intervals. Local times that
    do not exist (the hour skipped when daylight saving time starts) are
    read as ICU's lenient calendar does (02:30 becomes 03:30); an interval
    that a transition shortens has that much less working time.
    =========================================================================
*/

#ifndef CMP_CALENDAR_H_INCLUDED
#define CMP_CALENDAR_H_INCLUDED

//  Searches look at most this many local days ahead (about ten years).
//  add_work and add_workdays return INT64_MAX when their answer lies
//  further; work_between counts at most this many days from `from`.
#define CMP_CALENDAR_HORIZON 3660

//  Most working intervals one day may have
#define CMP_CALENDAR_INTERVALS 16

//  The local time of an instant, in the calendar's zone
typedef struct
{
    int year;       //  e.g. 2027
    int month;      //  1-12
    int day;        //  1-31
    int weekday;    //  1 = Monday .. 7 = Sunday (ISO 8601)
    int minute;     //  Minutes since local midnight, 0-1439
    int64_t offset; //  Zone offset in ms, DST included (local - UTC)
} cmp_calendar_local_t;

//  Read a calendar named name from a YAML mapping (the value under
//  calendars: <name>:). Returns NULL, with an error in yaml for every
//  problem found ("calendar "name": key: "value" what is wrong"), if the
//  mapping is not a valid calendar. A calendar with no working time at
//  all (every weekday empty, no make-up day) is refused.
cmp_calendar_t *
cmp_calendar_new (cmp_yaml_t *yaml, yaml_node_t *node, const char *name);

//  Destroy the calendar; idempotent.
void cmp_calendar_destroy (cmp_calendar_t **self_p);

//  The calendar's name, as given to new.
const char *cmp_calendar_name (cmp_calendar_t *self);

//  The calendar's IANA zone, as written in the file.
const char *cmp_calendar_zone (cmp_calendar_t *self);

//  Fill local with the local date and time of the instant at.
void cmp_calendar_local (cmp_calendar_t *self,
                         int64_t at,
                         cmp_calendar_local_t *local);

//  True if the local date is a working day: a make-up day, or a day whose
//  weekday has working hours and which is not a holiday. False for a date
//  that does not exist.
bool cmp_calendar_workday (cmp_calendar_t *self, int year, int month, int day);

//  True if the instant falls inside working time. Intervals include their
//  start and exclude their end: with 08:30-12:00, 08:30 is working time
//  and 12:00 is not.
bool cmp_calendar_working (cmp_calendar_t *self, int64_t at);

//  Working time in [from, to), in ms; 0 if to <= from.
int64_t
cmp_calendar_work_between (cmp_calendar_t *self, int64_t from, int64_t to);

//  The instant at which work ms of working time have passed since start:
//  the smallest t with work_between (start, t) == work. So a sum that
//  lands exactly on the end of an interval gives that end (12:00), not
//  the next start (13:30). Returns start if work <= 0.
//  Example, hours 08:30-12:00 and 13:30-17:30: Monday 11:00 + 2 h is
//  Monday 14:30; Friday 17:00 + 1 h is Monday 09:00.
int64_t
cmp_calendar_add_work (cmp_calendar_t *self, int64_t start, int64_t work);

//  The deadline of days working days (an SLA of "3 workdays") counted
//  from start. Let s be the first working instant at or after start, D0
//  its local date, and p the working time of D0 before s. Working days
//  after D0 are D1, D2, ... in order.
//  - If p == 0 (the clock starts at the opening of D0, as for a complaint
//    received overnight or at the weekend), D0 counts as the first day
//    and the answer is the end of the last working interval of D(days-1).
//  - Otherwise the answer is the instant on D(days) at which p ms of its
//    working time have passed: the same working position days working
//    days later, or the end of D(days) if it has less than p.
//  Examples, hours 08:30-12:00 and 13:30-17:30: Friday 10:00 + 3 workdays
//  is Wednesday 10:00; Saturday 10:00 + 1 workday is Monday 17:30.
//  Returns start if days < 1.
int64_t
cmp_calendar_add_workdays (cmp_calendar_t *self, int64_t start, int days);

//  Self test of this class
void cmp_calendar_test (bool verbose);

#endif
