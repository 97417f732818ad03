/*  =========================================================================
    cmp_calendar - business calendars and working-time arithmetic

    Dates are day numbers (days since 1970-01-01, local), computed with
    plain integer arithmetic; ICU is asked only to convert between local
    times and instants in the calendar's zone. One UCalendar per calendar
    does that, under a mutex, because a UCalendar is not thread-safe.

    Every search walks local days forward and stops after
    CMP_CALENDAR_HORIZON days, so no calendar can make it loop forever.
    =========================================================================
*/

#include <pthread.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "cmp_classes.h"

#define DAY_MS ((int64_t) 86400000)
#define MINUTE_MS ((int64_t) 60000)
#define DAY_MINUTES 1440
#define AT_MIN (-2208988800000LL) //  1900-01-01T00:00:00Z
#define AT_MAX 253402300799999LL  //  9999-12-31T23:59:59.999Z
#define DATE_MIN 1900             //  Years a date in the file may have
#define DATE_MAX 9999
#define RANGE_MAX 366 //  Days one range of dates may span
#define ZONE_MAX 128  //  UTF-16 units in a zone name
#define DEFAULT_ZONE "Asia/Shanghai"

//  Weekday names, ISO order (index + 1 is the ISO weekday)
static const char *s_weekdays[] = {"mon", "tue", "wed", "thu",
                                   "fri", "sat", "sun"};

//  One working interval of a day, in local minutes since midnight
typedef struct
{
    int start; //  First minute, 0-1439
    int end;   //  Minute after the last, 1-1440
} s_interval_t;

//  The working intervals of a day, sorted and not overlapping
typedef struct
{
    s_interval_t interval[CMP_CALENDAR_INTERVALS]; //  The intervals
    int count;                                     //  How many are used
} s_hours_t;

//  A sorted set of local dates, as day numbers
typedef struct
{
    int *day;     //  Day numbers, ascending, unique once sorted
    size_t count; //  How many are used
    size_t max;   //  How many are allocated
} s_days_t;

//  Working time of one day, as instants
typedef struct
{
    int64_t start; //  First working ms
    int64_t end;   //  First ms after
} s_span_t;

//  A day's spans, computed once: converting local times to instants is
//  what costs (ICU), and deadlines look at the same few weeks again and
//  again. A slot holds the day whose number is its index modulo
//  CACHE_DAYS, or none (day INT_MIN).
#define CACHE_DAYS 512
typedef struct
{
    int day;                               //  Local day number, or INT_MIN
    int count;                             //  Spans used
    s_span_t span[CMP_CALENDAR_INTERVALS]; //  As s_spans returns them
} s_cached_t;

//  The last results of the working-time arithmetic: the complaints of a
//  batch start their clocks at the same instant, and so ask the same
//  questions again. A slot holds one result, by a hash of the question.
#define MEMO_SLOTS 256
typedef enum
{
    M_NONE,
    M_WORK_BETWEEN,
    M_ADD_WORK,
    M_ADD_WORKDAYS
} s_question_t;
typedef struct
{
    s_question_t question; //  M_NONE: the slot is free
    int64_t first;         //  The arguments
    int64_t second;
    int64_t result;
} s_memo_t;

//  A day with no working time
static const s_hours_t s_no_hours;

//  Structure of our class

struct _cmp_calendar_t
{
    char *name;            //  Calendar name, as given
    char *zone;            //  IANA zone name, as written
    s_hours_t week[7];     //  Working hours per ISO weekday, Monday first
    s_hours_t makeup;      //  Working hours of make-up days
    s_days_t holidays;     //  Dates with no working time
    s_days_t workdays;     //  Make-up working days
    UCalendar *ucal;       //  ICU calendar in the zone; only under mutex
    s_cached_t *cache;     //  CACHE_DAYS days' spans; only under mutex
    s_memo_t *memo;        //  MEMO_SLOTS results; only under mutex
    int64_t offset;        //  Zone offset last found; only under mutex
    int64_t offset_from;   //  First instant it holds for
    int64_t offset_until;  //  First instant it does not (none at first)
    pthread_mutex_t mutex; //  Guards ucal, cache and offset
};


//  --------------------------------------------------------------------------
//  Dates: day numbers since 1970-01-01 (H. Hinnant's civil algorithms)

static int
s_days_from_civil (int year, int month, int day)
{
    year -= month <= 2;
    int era = (year >= 0 ? year : year - 399) / 400;
    int yoe = year - era * 400;
    int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
s_civil_from_days (int days, int *year, int *month, int *day)
{
    days += 719468;
    int era = (days >= 0 ? days : days - 146096) / 146097;
    int doe = days - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = yoe + era * 400 + (*month <= 2);
}

//  ISO weekday of a day number, 1 = Monday (1970-01-01 was a Thursday)
static int
s_weekday (int day)
{
    return (day % 7 + 7 + 3) % 7 + 1;
}

static int
s_month_days (int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

static bool
s_date_valid (int year, int month, int day)
{
    return year >= DATE_MIN && year <= DATE_MAX && month >= 1 && month <= 12
           && day >= 1 && day <= s_month_days (year, month);
}

static int64_t
s_floor_div (int64_t value, int64_t divisor)
{
    int64_t quotient = value / divisor;
    return quotient - (value % divisor < 0);
}

static int
s_compare_day (const void *a, const void *b)
{
    int left = *(const int *) a, right = *(const int *) b;
    return (left > right) - (left < right);
}

static void
s_days_add (s_days_t *days, int day)
{
    if (days->count == days->max) {
        days->max = days->max ? days->max * 2 : 16;
        days->day = (int *) realloc (days->day, days->max * sizeof (int));
        assert (days->day);
    }
    days->day[days->count++] = day;
}

//  Sort and drop duplicates
static void
s_days_sort (s_days_t *days)
{
    if (days->count == 0)
        return;
    qsort (days->day, days->count, sizeof (int), s_compare_day);
    size_t kept = 1;
    for (size_t index = 1; index < days->count; index++)
        if (days->day[index] != days->day[kept - 1])
            days->day[kept++] = days->day[index];
    days->count = kept;
}

static bool
s_days_has (const s_days_t *days, int day)
{
    return days->count
           && bsearch (&day, days->day, days->count, sizeof (int),
                       s_compare_day);
}


//  --------------------------------------------------------------------------
//  Parsing

//  Append "calendar "name": message" for node to the errors of yaml
static int s_error (cmp_calendar_t *self,
                    cmp_yaml_t *yaml,
                    yaml_node_t *node,
                    const char *format,
                    ...) __attribute__ ((format (printf, 4, 5)));

static int
s_error (cmp_calendar_t *self,
         cmp_yaml_t *yaml,
         yaml_node_t *node,
         const char *format,
         ...)
{
    char text[512];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    return cmp_yaml_error (yaml, node, "calendar \"%s\": %s", self->name, text);
}

//  True if node is absent or a plain null scalar (empty, ~ or null)
static bool
s_is_null (yaml_node_t *node)
{
    if (!node)
        return true;
    if (node->type != YAML_SCALAR_NODE
        || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *value = (const char *) node->data.scalar.value;
    return node->data.scalar.length == 0 || streq (value, "~")
           || streq (value, "null") || streq (value, "Null")
           || streq (value, "NULL");
}

//  Read HH:MM (H:MM allowed) at *text_p, advancing it. Returns minutes
//  since midnight (24:00 is 1440), or -1.
static int
s_parse_clock (const char **text_p)
{
    const char *text = *text_p;
    if (!isdigit ((unsigned char) *text))
        return -1;
    int hour = *text++ - '0';
    if (isdigit ((unsigned char) *text))
        hour = hour * 10 + *text++ - '0';
    if (text[0] != ':' || !isdigit ((unsigned char) text[1])
        || !isdigit ((unsigned char) text[2]))
        return -1;
    int minute = (text[1] - '0') * 10 + text[2] - '0';
    *text_p = text + 3;
    if (minute > 59 || hour > 24 || (hour == 24 && minute > 0))
        return -1;
    return hour * 60 + minute;
}

//  Read HH:MM-HH:MM. Returns 0, or -1 if text is not one.
static int
s_parse_interval (const char *text, s_interval_t *interval)
{
    interval->start = s_parse_clock (&text);
    while (*text == ' ')
        text++;
    if (interval->start < 0 || interval->start >= DAY_MINUTES || *text != '-')
        return -1;
    text++;
    while (*text == ' ')
        text++;
    interval->end = s_parse_clock (&text);
    return interval->end < 0 || *text ? -1 : 0;
}

static void
s_format_interval (const s_interval_t *interval, char *text, size_t size)
{
    snprintf (text, size, "%02d:%02d-%02d:%02d", interval->start / 60,
              interval->start % 60, interval->end / 60, interval->end % 60);
}

//  Read a list of intervals (a sequence, one scalar, or null for none)
//  into hours; path names the key in errors ("hours.mon-fri")
static void
s_parse_hours (cmp_calendar_t *self,
               cmp_yaml_t *yaml,
               yaml_node_t *node,
               const char *path,
               s_hours_t *hours)
{
    hours->count = 0;
    if (s_is_null (node))
        return;
    if (node->type == YAML_MAPPING_NODE) {
        s_error (self, yaml, node,
                 "%s: must be a list of intervals like [08:30-12:00]", path);
        return;
    }
    bool list = node->type == YAML_SEQUENCE_NODE;
    size_t size = list ? cmp_yaml_size (node) : 1;
    for (size_t index = 0; index < size; index++) {
        yaml_node_t *item = list ? cmp_yaml_item (yaml, node, index) : node;
        char where[160], what[320];
        if (list)
            snprintf (where, sizeof (where), "%s[%zu]", path, index);
        else
            snprintf (where, sizeof (where), "%s", path);
        snprintf (what, sizeof (what), "calendar \"%s\": %s", self->name,
                  where);
        const char *text = cmp_yaml_string (yaml, item, what);
        if (!text)
            continue;
        s_interval_t interval;
        if (s_parse_interval (text, &interval)) {
            s_error (self, yaml, item,
                     "%s: \"%s\" is not an interval HH:MM-HH:MM "
                     "(00:00 to 24:00)",
                     where, text);
            continue;
        }
        if (interval.end < interval.start) {
            s_error (self, yaml, item, "%s: \"%s\" ends before it starts",
                     where, text);
            continue;
        }
        if (interval.end == interval.start) {
            s_error (self, yaml, item, "%s: \"%s\" is empty", where, text);
            continue;
        }
        if (hours->count > 0) {
            s_interval_t *last = &hours->interval[hours->count - 1];
            char before[32];
            s_format_interval (last, before, sizeof (before));
            if (interval.start < last->start) {
                s_error (self, yaml, item,
                         "%s: \"%s\" comes before %s (list intervals in "
                         "order)",
                         where, text, before);
                continue;
            }
            if (interval.start < last->end) {
                s_error (self, yaml, item, "%s: \"%s\" overlaps %s", where,
                         text, before);
                continue;
            }
        }
        if (hours->count == CMP_CALENDAR_INTERVALS) {
            s_error (self, yaml, item, "%s: more than %d intervals in a day",
                     where, CMP_CALENDAR_INTERVALS);
            return;
        }
        hours->interval[hours->count++] = interval;
    }
}

//  Read a weekday name of size bytes. Returns 1-7, or 0.
static int
s_parse_weekday (const char *text, size_t size)
{
    for (int index = 0; index < 7; index++)
        if (size == 3 && strncasecmp (text, s_weekdays[index], 3) == 0)
            return index + 1;
    return 0;
}

//  Read the hours: mapping of days or day ranges to lists of intervals
static void
s_parse_week (cmp_calendar_t *self, cmp_yaml_t *yaml, yaml_node_t *node)
{
    if (s_is_null (node))
        return;
    if (node->type != YAML_MAPPING_NODE) {
        s_error (self, yaml, node,
                 "hours: must map days (mon..sun, or a range like mon-fri) "
                 "to lists of intervals");
        return;
    }
    bool given[7] = {false};
    char what[160];
    snprintf (what, sizeof (what), "calendar \"%s\": hours key", self->name);
    for (size_t index = 0; index < cmp_yaml_size (node); index++) {
        yaml_node_t *key = cmp_yaml_key (yaml, node, index);
        const char *text = cmp_yaml_string (yaml, key, what);
        if (!text)
            continue;
        const char *dash = strchr (text, '-');
        int first =
          s_parse_weekday (text, dash ? (size_t) (dash - text) : strlen (text));
        int last = dash ? s_parse_weekday (dash + 1, strlen (dash + 1)) : first;
        if (!first || !last) {
            s_error (self, yaml, key,
                     "hours: \"%s\" is not a day (mon tue wed thu fri sat "
                     "sun) or a range of days (mon-fri)",
                     text);
            continue;
        }
        if (last < first) {
            s_error (self, yaml, key,
                     "hours: \"%s\" ends before it starts (ranges run "
                     "mon to sun)",
                     text);
            continue;
        }
        char path[160];
        snprintf (path, sizeof (path), "hours.%s", text);
        s_hours_t hours;
        s_parse_hours (self, yaml, cmp_yaml_value (yaml, node, index), path,
                       &hours);
        for (int weekday = first; weekday <= last; weekday++) {
            if (given[weekday - 1])
                s_error (self, yaml, key, "hours: %s is given twice",
                         s_weekdays[weekday - 1]);
            given[weekday - 1] = true;
            self->week[weekday - 1] = hours;
        }
    }
}

//  Read YYYY-MM-DD, exactly size bytes, as a day number. Returns 0, or -1
//  with the problem in reason.
static int
s_parse_date (
  const char *text, size_t size, int *day, char *reason, size_t reason_size)
{
    int year, month, mday;
    char dash1, dash2;
    bool digits = size == 10;
    for (size_t index = 0; digits && index < 10; index++)
        if (index == 4 || index == 7)
            digits = text[index] == '-';
        else
            digits = isdigit ((unsigned char) text[index]);
    if (!digits
        || sscanf (text, "%4d%c%2d%c%2d", &year, &dash1, &month, &dash2, &mday)
             != 5) {
        snprintf (reason, reason_size, "is not a date YYYY-MM-DD");
        return -1;
    }
    if (year < DATE_MIN || year > DATE_MAX) {
        snprintf (reason, reason_size, "has a year outside %d-%d", DATE_MIN,
                  DATE_MAX);
        return -1;
    }
    if (month < 1 || month > 12) {
        snprintf (reason, reason_size, "has no month %02d", month);
        return -1;
    }
    if (mday < 1 || mday > s_month_days (year, month)) {
        snprintf (reason, reason_size, "is not a date: %04d-%02d has %d days",
                  year, month, s_month_days (year, month));
        return -1;
    }
    *day = s_days_from_civil (year, month, mday);
    return 0;
}

//  Read a list of dates and ranges YYYY-MM-DD..YYYY-MM-DD into days. If
//  exclude is given, a date that is also there is an error.
static void
s_parse_dates (cmp_calendar_t *self,
               cmp_yaml_t *yaml,
               yaml_node_t *node,
               const char *key,
               s_days_t *days,
               const s_days_t *exclude)
{
    if (s_is_null (node))
        return;
    if (node->type == YAML_MAPPING_NODE) {
        s_error (self, yaml, node,
                 "%s: must be a list of dates YYYY-MM-DD or ranges "
                 "YYYY-MM-DD..YYYY-MM-DD",
                 key);
        return;
    }
    bool list = node->type == YAML_SEQUENCE_NODE;
    size_t size = list ? cmp_yaml_size (node) : 1;
    for (size_t index = 0; index < size; index++) {
        yaml_node_t *item = list ? cmp_yaml_item (yaml, node, index) : node;
        char where[64], what[256], reason[64];
        if (list)
            snprintf (where, sizeof (where), "%s[%zu]", key, index);
        else
            snprintf (where, sizeof (where), "%s", key);
        snprintf (what, sizeof (what), "calendar \"%s\": %s", self->name,
                  where);
        const char *text = cmp_yaml_string (yaml, item, what);
        if (!text)
            continue;
        const char *dots = strstr (text, "..");
        size_t length = dots ? (size_t) (dots - text) : strlen (text);
        int first, last;
        if (s_parse_date (text, length, &first, reason, sizeof (reason))
            || (dots
                && s_parse_date (dots + 2, strlen (dots + 2), &last, reason,
                                 sizeof (reason)))) {
            s_error (self, yaml, item, "%s: \"%s\" %s", where, text, reason);
            continue;
        }
        if (!dots)
            last = first;
        if (last < first) {
            s_error (self, yaml, item, "%s: \"%s\" ends before it starts",
                     where, text);
            continue;
        }
        if (last - first >= RANGE_MAX) {
            s_error (self, yaml, item, "%s: \"%s\" spans more than %d days",
                     where, text, RANGE_MAX);
            continue;
        }
        for (int day = first; day <= last; day++) {
            if (exclude && s_days_has (exclude, day)) {
                int year, month, mday;
                s_civil_from_days (day, &year, &month, &mday);
                s_error (self, yaml, item,
                         "%s: %04d-%02d-%02d is also a holiday", where, year,
                         month, mday);
                break;
            }
            s_days_add (days, day);
        }
    }
    s_days_sort (days);
}

//  Check the zone with ICU and open the calendar's UCalendar in it
static void
s_open_zone (cmp_calendar_t *self, cmp_yaml_t *yaml, yaml_node_t *node)
{
    UChar id[ZONE_MAX], canonical[ZONE_MAX];
    int32_t length = 0;
    UBool system = false;
    UErrorCode status = U_ZERO_ERROR;
    u_strFromUTF8 (id, ZONE_MAX, &length, self->zone, -1, &status);
    if (U_SUCCESS (status) && length < ZONE_MAX)
        ucal_getCanonicalTimeZoneID (id, length, canonical, ZONE_MAX, &system,
                                     &status);
    if (U_FAILURE (status) || length >= ZONE_MAX || !system) {
        s_error (self, yaml, node,
                 "zone: \"%s\" is not a known IANA time zone (like "
                 "Asia/Shanghai or Europe/Berlin)",
                 self->zone);
        return;
    }
    self->ucal = ucal_open (id, length, "en_US_POSIX", UCAL_GREGORIAN, &status);
    if (U_FAILURE (status)) {
        s_error (self, yaml, node, "zone: \"%s\": ICU cannot open it (%s)",
                 self->zone, u_errorName (status));
        if (self->ucal)
            ucal_close (self->ucal);
        self->ucal = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Read a calendar named name from a YAML mapping

cmp_calendar_t *
cmp_calendar_new (cmp_yaml_t *yaml, yaml_node_t *node, const char *name)
{
    assert (yaml);
    assert (name);
    cmp_calendar_t *self = (cmp_calendar_t *) zmalloc (sizeof (cmp_calendar_t));
    assert (self);
    self->name = strdup (name);
    assert (self->name);
    int rc = pthread_mutex_init (&self->mutex, NULL);
    assert (rc == 0);
    self->cache = (s_cached_t *) malloc (CACHE_DAYS * sizeof (s_cached_t));
    assert (self->cache);
    for (int slot = 0; slot < CACHE_DAYS; slot++)
        self->cache[slot].day = INT_MIN;
    self->memo = (s_memo_t *) zmalloc (MEMO_SLOTS * sizeof (s_memo_t));
    assert (self->memo);
    size_t errors = cmp_yaml_errors (yaml);

    static const char *const keys[] = {"zone",     "hours",         "holidays",
                                       "workdays", "workday_hours", NULL};
    char what[160];
    snprintf (what, sizeof (what), "calendar \"%s\"", name);
    if (!node) {
        s_error (self, yaml, NULL, "is missing");
        goto failed;
    }
    if (cmp_yaml_expect_map (yaml, node, what, keys)
        && node->type != YAML_MAPPING_NODE)
        goto failed;

    //  Zone
    yaml_node_t *zone = cmp_yaml_get (yaml, node, "zone");
    const char *text = DEFAULT_ZONE;
    if (zone) {
        snprintf (what, sizeof (what), "calendar \"%s\": zone", name);
        text = cmp_yaml_string (yaml, zone, what);
    }
    if (text) {
        self->zone = strdup (text);
        assert (self->zone);
        s_open_zone (self, yaml, zone ? zone : node);
    }

    //  Hours
    s_parse_week (self, yaml, cmp_yaml_get (yaml, node, "hours"));
    yaml_node_t *makeup = cmp_yaml_get (yaml, node, "workday_hours");
    if (makeup)
        s_parse_hours (self, yaml, makeup, "workday_hours", &self->makeup);
    else
        self->makeup = self->week[0];

    //  Dates
    s_parse_dates (self, yaml, cmp_yaml_get (yaml, node, "holidays"),
                   "holidays", &self->holidays, NULL);
    yaml_node_t *workdays = cmp_yaml_get (yaml, node, "workdays");
    s_parse_dates (self, yaml, workdays, "workdays", &self->workdays,
                   &self->holidays);

    //  Some working time, somewhere
    bool weekly = false;
    for (int weekday = 0; weekday < 7; weekday++)
        weekly = weekly || self->week[weekday].count > 0;
    if (self->workdays.count > 0 && self->makeup.count == 0)
        s_error (self, yaml, workdays,
                 "workdays: make-up days have no working hours (give "
                 "workday_hours, or hours for mon)");
    else if (!weekly && self->workdays.count == 0
             && cmp_yaml_errors (yaml) == errors) //  Not after a bad interval
        s_error (self, yaml, node, "has no working hours");

    if (cmp_yaml_errors (yaml) == errors) {
        assert (self->ucal);
        return self;
    }
failed:
    if (cmp_yaml_errors (yaml) == errors)
        s_error (self, yaml, node, "is not a valid calendar");
    cmp_calendar_destroy (&self);
    return NULL;
}

void
cmp_calendar_destroy (cmp_calendar_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_calendar_t *self = *self_p;
        if (self->ucal)
            ucal_close (self->ucal);
        pthread_mutex_destroy (&self->mutex);
        free (self->cache);
        free (self->memo);
        free (self->holidays.day);
        free (self->workdays.day);
        zstr_free (&self->zone);
        zstr_free (&self->name);
        free (self);
        *self_p = NULL;
    }
}

const char *
cmp_calendar_name (cmp_calendar_t *self)
{
    assert (self);
    return self->name;
}

const char *
cmp_calendar_zone (cmp_calendar_t *self)
{
    assert (self);
    return self->zone;
}


//  --------------------------------------------------------------------------
//  Time arithmetic. The s_ helpers below that use ucal need the mutex.

static int64_t
s_clamp (int64_t at)
{
    return at < AT_MIN ? AT_MIN : at > AT_MAX ? AT_MAX : at;
}

//  Zone offset at an instant, DST included, in ms. An offset holds from
//  one transition of the zone to the next; the last one is kept with its
//  bounds, so that most calls leave ICU alone.
static int64_t
s_offset (cmp_calendar_t *self, int64_t at)
{
    if (at >= self->offset_from && at < self->offset_until)
        return self->offset;
    UErrorCode status = U_ZERO_ERROR;
    ucal_setMillis (self->ucal, (UDate) at, &status);
    int32_t zone = ucal_get (self->ucal, UCAL_ZONE_OFFSET, &status);
    int32_t dst = ucal_get (self->ucal, UCAL_DST_OFFSET, &status);
    if (U_FAILURE (status))
        return 0;
    int64_t offset = (int64_t) zone + dst;
    UDate transition;
    int64_t from = INT64_MIN, until = INT64_MAX;
    if (ucal_getTimeZoneTransitionDate (self->ucal,
                                        UCAL_TZ_TRANSITION_PREVIOUS_INCLUSIVE,
                                        &transition, &status)
        && U_SUCCESS (status))
        from = (int64_t) transition;
    status = U_ZERO_ERROR;
    if (ucal_getTimeZoneTransitionDate (self->ucal, UCAL_TZ_TRANSITION_NEXT,
                                        &transition, &status)
        && U_SUCCESS (status))
        until = (int64_t) transition;
    if (from <= at && at < until) {
        self->offset = offset;
        self->offset_from = from;
        self->offset_until = until;
    }
    return offset;
}

//  Local day number of an instant
static int
s_day_of (cmp_calendar_t *self, int64_t at)
{
    return (int) s_floor_div (at + s_offset (self, at), DAY_MS);
}

//  The instant of a local time; minute 1440 is the next day's midnight
static int64_t
s_instant (cmp_calendar_t *self, int day, int minute)
{
    day += minute / DAY_MINUTES;
    minute %= DAY_MINUTES;
    int year, month, mday;
    s_civil_from_days (day, &year, &month, &mday);
    UErrorCode status = U_ZERO_ERROR;
    ucal_clear (self->ucal);
    ucal_setDateTime (self->ucal, year, month - 1, mday, minute / 60,
                      minute % 60, 0, &status);
    UDate millis = ucal_getMillis (self->ucal, &status);
    if (U_FAILURE (status)) //  Not for dates in range; read them as UTC
        return day * DAY_MS + minute * MINUTE_MS;
    return (int64_t) millis;
}

//  The working hours of a local day
static const s_hours_t *
s_hours (cmp_calendar_t *self, int day)
{
    if (s_days_has (&self->holidays, day))
        return &s_no_hours;
    if (s_days_has (&self->workdays, day))
        return &self->makeup;
    return &self->week[s_weekday (day) - 1];
}

//  The working time of a local day as spans of instants, in order and
//  not overlapping even where a DST transition bends the intervals.
//  Returns how many.
static int
s_spans_compute (cmp_calendar_t *self, int day, s_span_t *spans)
{
    const s_hours_t *hours = s_hours (self, day);
    int count = 0;
    int64_t floor = INT64_MIN;
    int last_minute = -1;
    int64_t last_instant = 0;
    for (int index = 0; index < hours->count; index++) {
        const s_interval_t *interval = &hours->interval[index];
        //  Touching intervals share a boundary: convert it once
        int64_t start = interval->start == last_minute
                          ? last_instant
                          : s_instant (self, day, interval->start);
        int64_t end = s_instant (self, day, interval->end);
        last_minute = interval->end;
        last_instant = end;
        if (start < floor)
            start = floor;
        if (end > start) {
            spans[count].start = start;
            spans[count].end = end;
            count++;
            floor = end;
        }
    }
    return count;
}

//  s_spans_compute through the cache
static int
s_spans (cmp_calendar_t *self, int day, s_span_t *spans)
{
    s_cached_t *cached = &self->cache[(unsigned) day % CACHE_DAYS];
    if (cached->day != day) {
        cached->count = s_spans_compute (self, day, cached->span);
        cached->day = day;
    }
    memcpy (spans, cached->span, cached->count * sizeof (s_span_t));
    return cached->count;
}

//  The memo slot of a question; under the mutex
static s_memo_t *
s_memo (cmp_calendar_t *self,
        s_question_t question,
        int64_t first,
        int64_t second)
{
    uint64_t hash = ((uint64_t) first * 0x9E3779B97F4A7C15ULL)
                    ^ ((uint64_t) second * 0xC2B2AE3D27D4EB4FULL)
                    ^ (uint64_t) question;
    return &self->memo[(hash ^ (hash >> 32)) % MEMO_SLOTS];
}

//  True, with its result, if the memo holds the question; under the mutex
static bool
s_recall (s_memo_t *memo,
          s_question_t question,
          int64_t first,
          int64_t second,
          int64_t *result)
{
    if (memo->question != question || memo->first != first
        || memo->second != second)
        return false;
    *result = memo->result;
    return true;
}

void
cmp_calendar_local (cmp_calendar_t *self,
                    int64_t at,
                    cmp_calendar_local_t *local)
{
    assert (self);
    assert (local);
    at = s_clamp (at);
    pthread_mutex_lock (&self->mutex);
    local->offset = s_offset (self, at);
    pthread_mutex_unlock (&self->mutex);
    int64_t wall = at + local->offset;
    int day = (int) s_floor_div (wall, DAY_MS);
    s_civil_from_days (day, &local->year, &local->month, &local->day);
    local->weekday = s_weekday (day);
    local->minute = (int) ((wall - day * DAY_MS) / MINUTE_MS);
}

bool
cmp_calendar_workday (cmp_calendar_t *self, int year, int month, int day)
{
    assert (self);
    if (!s_date_valid (year, month, day))
        return false;
    return s_hours (self, s_days_from_civil (year, month, day))->count > 0;
}

bool
cmp_calendar_working (cmp_calendar_t *self, int64_t at)
{
    assert (self);
    if (at < AT_MIN || at > AT_MAX)
        return false;
    bool working = false;
    pthread_mutex_lock (&self->mutex);
    s_span_t spans[CMP_CALENDAR_INTERVALS];
    int count = s_spans (self, s_day_of (self, at), spans);
    for (int index = 0; index < count; index++)
        if (at >= spans[index].start && at < spans[index].end)
            working = true;
    pthread_mutex_unlock (&self->mutex);
    return working;
}

int64_t
cmp_calendar_work_between (cmp_calendar_t *self, int64_t from, int64_t to)
{
    assert (self);
    from = s_clamp (from);
    to = s_clamp (to);
    if (to <= from)
        return 0;
    int64_t total = 0;
    pthread_mutex_lock (&self->mutex);
    s_memo_t *memo = s_memo (self, M_WORK_BETWEEN, from, to);
    if (s_recall (memo, M_WORK_BETWEEN, from, to, &total)) {
        pthread_mutex_unlock (&self->mutex);
        return total;
    }
    int day = s_day_of (self, from);
    int last = s_day_of (self, to);
    if (last - day >= CMP_CALENDAR_HORIZON)
        last = day + CMP_CALENDAR_HORIZON - 1;
    for (; day <= last; day++) {
        if (s_hours (self, day)->count == 0)
            continue;
        s_span_t spans[CMP_CALENDAR_INTERVALS];
        int count = s_spans (self, day, spans);
        for (int index = 0; index < count; index++) {
            int64_t low = spans[index].start > from ? spans[index].start : from;
            int64_t high = spans[index].end < to ? spans[index].end : to;
            if (high > low)
                total += high - low;
        }
    }
    *memo = (s_memo_t){M_WORK_BETWEEN, from, to, total};
    pthread_mutex_unlock (&self->mutex);
    return total;
}

int64_t
cmp_calendar_add_work (cmp_calendar_t *self, int64_t start, int64_t work)
{
    assert (self);
    if (work <= 0)
        return start;
    if (start > AT_MAX)
        return INT64_MAX;
    start = s_clamp (start);
    int64_t result = INT64_MAX;
    pthread_mutex_lock (&self->mutex);
    s_memo_t *memo = s_memo (self, M_ADD_WORK, start, work);
    if (s_recall (memo, M_ADD_WORK, start, work, &result)) {
        pthread_mutex_unlock (&self->mutex);
        return result;
    }
    int64_t asked = work;
    int day = s_day_of (self, start);
    for (int days = 0; days < CMP_CALENDAR_HORIZON && result == INT64_MAX;
         days++, day++) {
        if (s_hours (self, day)->count == 0)
            continue;
        s_span_t spans[CMP_CALENDAR_INTERVALS];
        int count = s_spans (self, day, spans);
        for (int index = 0; index < count; index++) {
            if (spans[index].end <= start)
                continue;
            int64_t from =
              spans[index].start > start ? spans[index].start : start;
            if (work <= spans[index].end - from) {
                result = from + work;
                break;
            }
            work -= spans[index].end - from;
        }
    }
    *memo = (s_memo_t){M_ADD_WORK, start, asked, result};
    pthread_mutex_unlock (&self->mutex);
    return result;
}

int64_t
cmp_calendar_add_workdays (cmp_calendar_t *self, int64_t start, int days)
{
    assert (self);
    if (days < 1)
        return start;
    if (start > AT_MAX)
        return INT64_MAX;
    start = s_clamp (start);
    int64_t result = INT64_MAX;
    pthread_mutex_lock (&self->mutex);
    s_memo_t *memo = s_memo (self, M_ADD_WORKDAYS, start, days);
    if (s_recall (memo, M_ADD_WORKDAYS, start, days, &result)) {
        pthread_mutex_unlock (&self->mutex);
        return result;
    }
    int day = s_day_of (self, start);
    int limit = day + CMP_CALENDAR_HORIZON;

    //  D0, and the first span of it that ends after start
    s_span_t spans[CMP_CALENDAR_INTERVALS];
    int count = 0, first = -1;
    for (; day < limit && first < 0; day++) {
        if (s_hours (self, day)->count == 0)
            continue;
        count = s_spans (self, day, spans);
        for (int index = 0; index < count && first < 0; index++)
            if (spans[index].end > start)
                first = index;
        if (first >= 0)
            break;
    }
    if (first >= 0) {
        //  p: working time of D0 before s
        int64_t position =
          start > spans[first].start ? start - spans[first].start : 0;
        for (int index = 0; index < first; index++)
            position += spans[index].end - spans[index].start;
        int wanted = position == 0 ? days - 1 : days;
        while (wanted > 0 && ++day < limit)
            if (s_hours (self, day)->count > 0
                && (count = s_spans (self, day, spans)) > 0)
                wanted--;
        if (wanted == 0) {
            result = spans[count - 1].end;
            for (int index = 0; index < count && position > 0; index++) {
                int64_t length = spans[index].end - spans[index].start;
                if (position <= length) {
                    result = spans[index].start + position;
                    break;
                }
                position -= length;
            }
        }
    }
    *memo = (s_memo_t){M_ADD_WORKDAYS, start, days, result};
    pthread_mutex_unlock (&self->mutex);
    return result;
}


//  --------------------------------------------------------------------------
//  Self test

//  Calendars of the test, as in a calendars file
static const char *s_test_yaml = "calendars:\n"
                                 "  cn:\n"
                                 "    zone: Asia/Shanghai\n"
                                 "    hours:\n"
                                 "      mon-fri: [08:30-12:00, 13:30-17:30]\n"
                                 "      sat: []\n"
                                 "    holidays:\n"
                                 "      - 2027-01-01\n"
                                 "      - 2027-02-10..2027-02-16\n"
                                 "      - 2028-01-01..2028-01-03\n"
                                 "    workdays:\n"
                                 "      - 2027-02-07\n"
                                 "      - 2027-02-20\n"
                                 "  half:\n"
                                 "    hours:\n"
                                 "      mon-fri: [08:30-12:00, 13:30-17:30]\n"
                                 "    workdays: [2027-02-20]\n"
                                 "    workday_hours: [09:00-12:00]\n"
                                 "  de:\n"
                                 "    zone: Europe/Berlin\n"
                                 "    hours:\n"
                                 "      mon-fri: [09:00-17:00]\n"
                                 "  always:\n"
                                 "    zone: Europe/Berlin\n"
                                 "    hours:\n"
                                 "      mon-sun: [00:00-24:00]\n";

#define TEST_CALENDARS 4
static const char *s_test_names[TEST_CALENDARS] = {"cn", "half", "de",
                                                   "always"};

//  One case: from (local) and what, with the answer worked out by hand
typedef struct
{
    const char *calendar; //  Name in s_test_yaml
    const char *from;     //  Local "YYYY-MM-DD HH:MM"
    const char *what;     //  "+2h30m", "+3 workdays", "to <local>", "working"
    const char *expect;   //  Local "YYYY-MM-DD HH:MM", a duration, yes or no
} s_test_case_t;

static const s_test_case_t s_test_cases[] = {
  //  Working time added, hours 08:30-12:00 and 13:30-17:30
  {"cn", "2027-03-01 09:00", "+2h", "2027-03-01 11:00"},     //  Plain Monday
  {"cn", "2027-03-01 11:00", "+2h", "2027-03-01 14:30"},     //  Over lunch
  {"cn", "2027-03-01 11:00", "+1h", "2027-03-01 12:00"},     //  Lands on 12:00
  {"cn", "2027-03-01 16:30", "+1h", "2027-03-01 17:30"},     //  Lands on close
  {"cn", "2027-03-01 07:00", "+1h", "2027-03-01 09:30"},     //  Before opening
  {"cn", "2027-03-01 12:30", "+1h", "2027-03-01 14:30"},     //  During lunch
  {"cn", "2027-03-01 18:00", "+1h", "2027-03-02 09:30"},     //  After closing
  {"cn", "2027-03-06 10:00", "+1h", "2027-03-08 09:30"},     //  On Saturday
  {"cn", "2027-03-05 16:30", "+2h", "2027-03-08 09:30"},     //  Over a weekend
  {"cn", "2027-03-01 08:30", "+7h30m", "2027-03-01 17:30"},  //  A whole day
  {"cn", "2027-03-01 08:30", "+37h30m", "2027-03-05 17:30"}, //  A week
  {"cn", "2027-03-06 10:00", "+0m", "2027-03-06 10:00"},     //  Nothing
  {"cn", "2026-12-31 16:00", "+4h", "2027-01-04 11:00"},   //  New Year holiday
  {"cn", "2027-02-09 17:00", "+1h", "2027-02-17 09:00"},   //  Holiday range
  {"cn", "2027-02-05 17:00", "+1h", "2027-02-07 09:00"},   //  Make-up Sunday
  {"cn", "2027-02-19 17:00", "+1h", "2027-02-20 09:00"},   //  Make-up Saturday
  {"cn", "2027-12-31 17:00", "+1h", "2028-01-04 09:00"},   //  Year end
  {"half", "2027-02-19 17:00", "+1h", "2027-02-20 09:30"}, //  workday_hours
  {"half", "2027-02-20 11:30", "+1h", "2027-02-22 09:00"},

  //  Working days added
  {"cn", "2027-02-05 10:00", "+3 workdays", "2027-02-09 10:00"}, //  p > 0
  {"cn", "2027-03-01 10:00", "+3 workdays", "2027-03-04 10:00"},
  {"cn", "2027-03-01 14:00", "+1 workdays", "2027-03-02 14:00"},
  {"cn", "2027-03-01 12:00", "+1 workdays", "2027-03-02 12:00"}, //  p = 3.5h
  {"cn", "2027-03-01 17:00", "+1 workdays", "2027-03-02 17:00"},
  {"cn", "2027-03-06 10:00", "+1 workdays", "2027-03-08 17:30"}, //  p == 0
  {"cn", "2027-03-06 10:00", "+3 workdays", "2027-03-10 17:30"},
  {"cn", "2027-03-01 07:00", "+2 workdays", "2027-03-02 17:30"},
  {"cn", "2027-03-01 08:30", "+1 workdays", "2027-03-01 17:30"},
  {"cn", "2027-03-01 18:00", "+1 workdays", "2027-03-02 17:30"},
  {"cn", "2027-02-09 10:00", "+1 workdays", "2027-02-17 10:00"}, //  Holidays
  {"cn", "2027-12-31 10:00", "+1 workdays", "2028-01-04 10:00"}, //  Year end
  {"cn", "2027-02-05 10:00", "+0 workdays", "2027-02-05 10:00"},
  {"half", "2027-02-19 16:00", "+1 workdays", "2027-02-20 12:00"}, //  Short

  //  Working time between
  {"cn", "2027-03-01 11:00", "to 2027-03-01 14:00", "1h30m"}, //  Over lunch
  {"cn", "2027-03-01 12:00", "to 2027-03-01 13:30", "0m"},    //  Lunch only
  {"cn", "2027-03-05 16:00", "to 2027-03-08 10:00", "3h"},    //  Weekend
  {"cn", "2027-03-01 00:00", "to 2027-03-02 00:00", "7h30m"},
  {"cn", "2027-03-01 00:00", "to 2027-03-08 00:00", "37h30m"},
  {"cn", "2027-02-09 08:30", "to 2027-02-18 08:30", "15h"},    //  Holidays
  {"cn", "2027-02-05 12:00", "to 2027-02-08 09:30", "12h30m"}, //  Make-up day
  {"cn", "2027-03-01 14:00", "to 2027-03-01 11:00", "0m"},     //  Backwards

  //  Working time or not; intervals hold their start, not their end
  {"cn", "2027-03-01 08:29", "working", "no"},
  {"cn", "2027-03-01 08:30", "working", "yes"},
  {"cn", "2027-03-01 11:59", "working", "yes"},
  {"cn", "2027-03-01 12:00", "working", "no"},
  {"cn", "2027-03-01 13:30", "working", "yes"},
  {"cn", "2027-03-01 17:29", "working", "yes"},
  {"cn", "2027-03-01 17:30", "working", "no"},
  {"cn", "2027-03-06 10:00", "working", "no"},  //  Saturday
  {"cn", "2027-02-07 10:00", "working", "yes"}, //  Make-up Sunday
  {"cn", "2027-01-01 10:00", "working", "no"},  //  Holiday
  {"cn", "2027-02-12 10:00", "working", "no"},  //  Holiday range
  {"half", "2027-02-20 08:45", "working", "no"},
  {"half", "2027-02-20 09:00", "working", "yes"},

  //  Daylight saving time in Berlin: 2027-03-28 and 2027-10-31
  {"de", "2027-03-26 16:00", "+2h", "2027-03-29 10:00"},
  {"de", "2027-10-29 16:00", "+2h", "2027-11-01 10:00"},
  {"de", "2027-03-26 10:00", "+1 workdays", "2027-03-29 10:00"},
  {"de", "2027-03-26 09:00", "to 2027-03-29 17:00", "16h"},
  {"de", "2027-03-29 09:00", "working", "yes"},
  {"de", "2027-03-29 08:59", "working", "no"},
  {"always", "2027-03-28 00:00", "to 2027-03-29 00:00", "23h"},
  {"always", "2027-10-31 00:00", "to 2027-11-01 00:00", "25h"},
  {"always", "2027-03-28 01:00", "+2h", "2027-03-28 04:00"},
  {"always", "2027-03-28 23:30", "+1h", "2027-03-29 00:30"}, //  Over 24:00
  {NULL, NULL, NULL, NULL}};

//  Parse "YYYY-MM-DD HH:MM" into a day number and minutes
static void
s_test_parse (const char *text, int *day, int *minute)
{
    int year, month, mday, hour, min;
    int rc = sscanf (text, "%d-%d-%d %d:%d", &year, &month, &mday, &hour, &min);
    assert (rc == 5);
    assert (s_date_valid (year, month, mday));
    *day = s_days_from_civil (year, month, mday);
    *minute = hour * 60 + min;
}

//  A local "YYYY-MM-DD HH:MM" in the calendar's zone, as an instant
static int64_t
s_test_at (cmp_calendar_t *self, const char *text)
{
    int day, minute;
    s_test_parse (text, &day, &minute);
    pthread_mutex_lock (&self->mutex);
    int64_t at = s_instant (self, day, minute);
    pthread_mutex_unlock (&self->mutex);
    return at;
}

//  The same text read as UTC, to check offsets by hand
static int64_t
s_test_utc (const char *text)
{
    int day, minute;
    s_test_parse (text, &day, &minute);
    return day * DAY_MS + minute * MINUTE_MS;
}

//  "1h30m", "2h", "0m" in ms
static int64_t
s_test_duration (const char *text)
{
    int64_t total = 0;
    while (*text) {
        char *end;
        long long number = strtoll (text, &end, 10);
        assert (end > text && (*end == 'h' || *end == 'm'));
        total += number * (*end == 'h' ? 60 : 1) * MINUTE_MS;
        text = end + 1;
    }
    return total;
}

static void
s_test_format (cmp_calendar_t *self, int64_t at, char *text, size_t size)
{
    cmp_calendar_local_t local;
    cmp_calendar_local (self, at, &local);
    snprintf (text, size, "%04d-%02d-%02d %02d:%02d", local.year, local.month,
              local.day, local.minute / 60, local.minute % 60);
}

static void
s_test_case (cmp_calendar_t *self, const s_test_case_t *test, bool verbose)
{
    int64_t from = s_test_at (self, test->from);
    char got[64];
    bool passed;
    if (streq (test->what, "working")) {
        bool working = cmp_calendar_working (self, from);
        snprintf (got, sizeof (got), "%s", working ? "yes" : "no");
        passed = streq (got, test->expect);
    } else if (strncmp (test->what, "to ", 3) == 0) {
        int64_t to = s_test_at (self, test->what + 3);
        int64_t work = cmp_calendar_work_between (self, from, to);
        snprintf (got, sizeof (got), "%" PRId64 "m", work / MINUTE_MS);
        passed = work == s_test_duration (test->expect);
    } else {
        assert (test->what[0] == '+');
        int64_t answer;
        if (strstr (test->what, "workdays"))
            answer =
              cmp_calendar_add_workdays (self, from, atoi (test->what + 1));
        else
            answer = cmp_calendar_add_work (self, from,
                                            s_test_duration (test->what + 1));
        s_test_format (self, answer, got, sizeof (got));
        passed = answer == s_test_at (self, test->expect);
    }
    if (verbose || !passed)
        printf ("%s: %s %s: %s (expected %s)%s\n", test->calendar, test->from,
                test->what, got, test->expect, passed ? "" : " FAILED");
    assert (passed);
}

//  A calendar that must be refused, and what the error must say
typedef struct
{
    const char *yaml;   //  The calendar mapping
    const char *expect; //  Text the error must hold
} s_test_error_t;

static const s_test_error_t s_test_errors[] = {
  {"zone: Mars/Olympus\nhours: {mon: [09:00-17:00]}\n",
   "zone: \"Mars/Olympus\" is not a known IANA time zone"},
  {"hours: {mon: [08:30-12:00, 13:30-12:00]}\n",
   "calendar \"bad\": hours.mon[1]: \"13:30-12:00\" ends before it starts"},
  {"hours: {mon: [8h-12h]}\n", "hours.mon[0]: \"8h-12h\" is not an interval"},
  {"hours: {mon: [09:00-25:00]}\n", "\"09:00-25:00\" is not an interval"},
  {"hours: {mon: [09:00-09:00]}\n", "\"09:00-09:00\" is empty"},
  {"hours: {mon-fri: [08:30-12:00, 11:00-17:30]}\n",
   "hours.mon-fri[1]: \"11:00-17:30\" overlaps 08:30-12:00"},
  {"hours: {mon: [13:30-17:30, 08:30-12:00]}\n",
   "\"08:30-12:00\" comes before 13:30-17:30"},
  {"hours: {mon: [09:00-17:00]}\ncolour: red\n", "colour"},
  {"hours: {monday: [09:00-17:00]}\n", "hours: \"monday\" is not a day"},
  {"hours: {fri-mon: [09:00-17:00]}\n", "\"fri-mon\" ends before it starts"},
  {"hours: {mon-fri: [09:00-17:00], wed: []}\n", "wed is given twice"},
  {"hours: {mon: [09:00-17:00]}\n"
   "holidays: [2027-02-05..2027-02-08]\n"
   "workdays: [2027-02-07]\n",
   "workdays[0]: 2027-02-07 is also a holiday"},
  {"hours: {mon: [09:00-17:00]}\nholidays: [2027-02-30]\n",
   "holidays[0]: \"2027-02-30\" is not a date: 2027-02 has 28 days"},
  {"hours: {mon: [09:00-17:00]}\nholidays: [2027-13-01]\n",
   "\"2027-13-01\" has no month 13"},
  {"hours: {mon: [09:00-17:00]}\nholidays: [27-1-1]\n",
   "\"27-1-1\" is not a date YYYY-MM-DD"},
  {"hours: {mon: [09:00-17:00]}\nholidays: [2027-02-16..2027-02-10]\n",
   "\"2027-02-16..2027-02-10\" ends before it starts"},
  {"hours: {mon: [09:00-17:00]}\nholidays: [2027-01-01..2028-12-31]\n",
   "spans more than 366 days"},
  {"hours: {sat: [], sun: []}\n", "calendar \"bad\": has no working hours"},
  {"workdays: [2027-02-07]\n", "make-up days have no working hours"},
  {"hours: [09:00-17:00]\n", "hours: must map days"},
  {"hours: {mon: {from: 09:00}}\n", "hours.mon: must be a list"},
  {NULL, NULL}};

//  Threads share one calendar: each checks a known answer many times
static void *
s_test_thread (void *args)
{
    cmp_calendar_t *self = (cmp_calendar_t *) args;
    int64_t from = s_test_at (self, "2027-02-05 10:00");
    int64_t expect = s_test_at (self, "2027-02-09 10:00");
    for (int count = 0; count < 2000; count++)
        if (cmp_calendar_add_workdays (self, from, 3) != expect)
            return (void *) "wrong";
    return NULL;
}

void
cmp_calendar_test (bool verbose)
{
    printf (" * cmp_calendar: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    cmp_yaml_t *yaml = cmp_yaml_new ("calendars.yaml", s_test_yaml,
                                     strlen (s_test_yaml), errors);
    assert (yaml);
    yaml_node_t *calendars =
      cmp_yaml_get (yaml, cmp_yaml_root (yaml), "calendars");
    assert (calendars);
    cmp_calendar_t *calendar[TEST_CALENDARS];
    for (int index = 0; index < TEST_CALENDARS; index++) {
        const char *name = s_test_names[index];
        calendar[index] =
          cmp_calendar_new (yaml, cmp_yaml_get (yaml, calendars, name), name);
        if (!calendar[index])
            printf ("%s\n", (char *) zlist_first (errors));
        assert (calendar[index]);
        assert (streq (cmp_calendar_name (calendar[index]), name));
    }
    assert (zlist_size (errors) == 0);
    cmp_calendar_t *cn = calendar[0], *de = calendar[2];
    assert (streq (cmp_calendar_zone (cn), "Asia/Shanghai"));
    assert (streq (cmp_calendar_zone (calendar[1]), "Asia/Shanghai"));
    assert (streq (cmp_calendar_zone (de), "Europe/Berlin"));

    //  The arithmetic, against answers worked out by hand
    int cases = 0;
    for (const s_test_case_t *test = s_test_cases; test->calendar; test++) {
        int index = 0;
        while (!streq (s_test_names[index], test->calendar))
            index++;
        s_test_case (calendar[index], test, verbose);
        cases++;
    }

    //  Working days
    assert (cmp_calendar_workday (cn, 2027, 3, 1));
    assert (!cmp_calendar_workday (cn, 2027, 3, 6));  //  Saturday
    assert (cmp_calendar_workday (cn, 2027, 2, 7));   //  Make-up Sunday
    assert (!cmp_calendar_workday (cn, 2027, 1, 1));  //  Holiday
    assert (!cmp_calendar_workday (cn, 2027, 2, 16)); //  End of a range
    assert (cmp_calendar_workday (cn, 2027, 2, 17));
    assert (!cmp_calendar_workday (cn, 2027, 2, 30)); //  No such date
    assert (!cmp_calendar_workday (calendar[1], 2027, 2, 21));

    //  Local time and offsets, checked against UTC by hand
    cmp_calendar_local_t local;
    cmp_calendar_local (cn, s_test_utc ("2027-02-07 02:00"), &local);
    assert (local.year == 2027 && local.month == 2 && local.day == 7);
    assert (local.weekday == 7 && local.minute == 600);
    assert (local.offset == 8 * 3600000);
    cmp_calendar_local (cn, s_test_utc ("2027-12-31 16:30"), &local);
    assert (local.year == 2028 && local.month == 1 && local.day == 1);
    assert (local.weekday == 6 && local.minute == 30);
    //  Berlin: CET (+1h) until 2027-03-28 01:00Z, then CEST (+2h)
    cmp_calendar_local (de, s_test_utc ("2027-03-28 00:59"), &local);
    assert (local.offset == 3600000 && local.minute == 119);
    cmp_calendar_local (de, s_test_utc ("2027-03-28 01:00"), &local);
    assert (local.offset == 7200000 && local.minute == 180);
    assert (local.weekday == 7 && local.day == 28);
    //  CEST until 2027-10-31 01:00Z, then CET
    cmp_calendar_local (de, s_test_utc ("2027-10-31 00:59"), &local);
    assert (local.offset == 7200000 && local.minute == 179);
    cmp_calendar_local (de, s_test_utc ("2027-10-31 01:00"), &local);
    assert (local.offset == 3600000 && local.minute == 120);
    //  The DST cases above, as UTC: Friday 16:00 CET is 15:00Z, Monday
    //  10:00 CEST is 08:00Z; in October 14:00Z and 09:00Z
    int64_t start = s_test_at (de, "2027-03-26 16:00");
    assert (start == s_test_utc ("2027-03-26 15:00"));
    assert (cmp_calendar_add_work (de, start, 2 * 3600000)
            == s_test_utc ("2027-03-29 08:00"));
    start = s_test_at (de, "2027-10-29 16:00");
    assert (start == s_test_utc ("2027-10-29 14:00"));
    assert (cmp_calendar_add_work (de, start, 2 * 3600000)
            == s_test_utc ("2027-11-01 09:00"));
    //  A local time that does not exist is read leniently: 02:30 is 03:30
    assert (s_test_at (de, "2027-03-28 02:30")
            == s_test_at (de, "2027-03-28 03:30"));
    assert (s_test_at (cn, "2027-03-01 08:30")
            == s_test_utc ("2027-03-01 00:30"));

    //  Bounds: no answer within the horizon, and out-of-range instants
    assert (cmp_calendar_add_work (cn, start, 3661LL * 24 * 3600000)
            == INT64_MAX);
    assert (cmp_calendar_add_workdays (cn, start, 3000) == INT64_MAX);
    assert (cmp_calendar_add_work (cn, INT64_MAX, 1) == INT64_MAX);
    assert (cmp_calendar_add_workdays (cn, INT64_MAX, 1) == INT64_MAX);
    assert (!cmp_calendar_working (cn, INT64_MIN));
    assert (cmp_calendar_work_between (cn, INT64_MIN, INT64_MAX) > 0);
    cmp_calendar_local (cn, INT64_MAX, &local);
    assert (local.year == 10000 && local.month == 1 && local.day == 1);
    //  A calendar of make-up days only runs out of working time
    const char *only = "hours: {}\nworkdays: [2027-02-20]\n"
                       "workday_hours: [09:00-12:00]\n";
    cmp_yaml_t *doc = cmp_yaml_new ("only.yaml", only, strlen (only), errors);
    assert (doc);
    cmp_calendar_t *sparse =
      cmp_calendar_new (doc, cmp_yaml_root (doc), "only");
    assert (sparse);
    start = s_test_at (sparse, "2027-02-01 00:00");
    assert (cmp_calendar_add_work (sparse, start, 3600000)
            == s_test_at (sparse, "2027-02-20 10:00"));
    assert (cmp_calendar_add_workdays (sparse, start, 1)
            == s_test_at (sparse, "2027-02-20 12:00"));
    assert (cmp_calendar_add_workdays (sparse, start, 2) == INT64_MAX);
    assert (cmp_calendar_add_work (sparse, start, 4 * 3600000) == INT64_MAX);
    cmp_calendar_destroy (&sparse);
    cmp_yaml_destroy (&doc);

    //  Calendars that are refused, each with an error that names the key
    //  and the value at fault
    for (const s_test_error_t *test = s_test_errors; test->yaml; test++) {
        doc =
          cmp_yaml_new ("bad.yaml", test->yaml, strlen (test->yaml), errors);
        assert (doc);
        cmp_calendar_t *bad =
          cmp_calendar_new (doc, cmp_yaml_root (doc), "bad");
        assert (bad == NULL);
        assert (zlist_size (errors) > 0);
        bool found = false;
        for (char *error = (char *) zlist_first (errors); error;
             error = (char *) zlist_next (errors)) {
            if (verbose)
                printf ("%s\n", error);
            found = found || strstr (error, test->expect);
        }
        if (!found)
            printf ("expected an error with '%s'\n", test->expect);
        assert (found);
        zlist_purge (errors);
        cmp_yaml_destroy (&doc);
        cases++;
    }
    //  A calendar that is missing, or not a mapping
    assert (cmp_calendar_new (yaml, NULL, "nothing") == NULL);
    assert (strstr ((char *) zlist_first (errors), "\"nothing\": is missing"));
    zlist_purge (errors);
    doc = cmp_yaml_new ("scalar.yaml", "09:00-17:00", 11, errors);
    assert (doc);
    assert (cmp_calendar_new (doc, cmp_yaml_root (doc), "scalar") == NULL);
    assert (zlist_size (errors) > 0);
    zlist_purge (errors);
    cmp_yaml_destroy (&doc);

    //  Errors carry the file and the line of the value
    const char *lined =
      "zone: UTC\nhours:\n  mon: [09:00-12:00, 11:00-13:00]\n";
    doc = cmp_yaml_new ("lined.yaml", lined, strlen (lined), errors);
    assert (doc);
    assert (cmp_calendar_new (doc, cmp_yaml_root (doc), "x") == NULL);
    assert (zlist_size (errors) == 1);
    assert (strncmp ((char *) zlist_first (errors), "lined.yaml:3: ", 14) == 0);
    zlist_purge (errors);
    cmp_yaml_destroy (&doc);

    //  One calendar, several threads
    pthread_t threads[4];
    for (int index = 0; index < 4; index++) {
        int rc = pthread_create (&threads[index], NULL, s_test_thread, cn);
        assert (rc == 0);
    }
    for (int index = 0; index < 4; index++) {
        void *result;
        pthread_join (threads[index], &result);
        assert (result == NULL);
    }

    //  The caches (days' spans, the zone offset, the memo of results) give
    //  the answers a fresh calendar gives, whatever came before: two
    //  Berlin calendars are asked the same over four years (days that
    //  share a slot, both DST changes each year), one in order, one in a
    //  scrambled order that asks each point's questions twice
    {
        enum
        {
            POINTS = 4 * 365 * 24 / 7,
            ANSWERS = 4
        };
        const int64_t step = 7 * 3600000 + 13 * 60000; //  7h13m
        int64_t (*answers)[ANSWERS] =
          (int64_t (*)[ANSWERS]) malloc (POINTS * sizeof (*answers));
        assert (answers);
        int64_t first = s_test_at (de, "2026-01-01 00:00");
        for (int round = 0; round < 2; round++) {
            cmp_calendar_t *self = cmp_calendar_new (
              yaml, cmp_yaml_get (yaml, calendars, "de"), "de");
            assert (self);
            for (int index = 0; index < POINTS; index++) {
                //  31 is prime to POINTS: every point once, in a new order
                int point = round ? (int) ((index * 31L) % POINTS) : index;
                int64_t at = first + point * step;
                cmp_calendar_local_t local;
                cmp_calendar_local (self, at, &local);
                int64_t got[ANSWERS] = {
                  cmp_calendar_add_work (self, at, 5 * 3600000),
                  cmp_calendar_add_workdays (self, at, 1 + point % 15),
                  cmp_calendar_work_between (self, at, at + 9 * DAY_MS),
                  local.offset + (cmp_calendar_working (self, at) ? 1 : 0)};
                if (round == 0)
                    memcpy (answers[point], got, sizeof (got));
                else {
                    assert (memcmp (answers[point], got, sizeof (got)) == 0);
                    int64_t again[3] = {
                      cmp_calendar_add_work (self, at, 5 * 3600000),
                      cmp_calendar_add_workdays (self, at, 1 + point % 15),
                      cmp_calendar_work_between (self, at, at + 9 * DAY_MS)};
                    assert (memcmp (answers[point], again, sizeof (again))
                            == 0);
                }
            }
            cmp_calendar_destroy (&self);
        }
        free (answers);
    }

    //  Cost of a deadline: add_workdays runs at every registration
    start = s_test_at (cn, "2027-02-05 10:00");
    int64_t began = zclock_usecs ();
    for (int count = 0; count < 10000; count++)
        assert (cmp_calendar_add_workdays (cn, start + count, 3) != INT64_MAX);
    int64_t took = zclock_usecs () - began;
    if (verbose)
        printf ("%d cases; add_workdays takes %.2f us\n", cases,
                took / 10000.0);

    for (int index = 0; index < TEST_CALENDARS; index++) {
        cmp_calendar_destroy (&calendar[index]);
        assert (calendar[index] == NULL);
    }
    cmp_yaml_destroy (&yaml);
    zlist_destroy (&errors);
    //  @end
    printf ("OK\n");
}
