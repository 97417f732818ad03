/*  =========================================================================
    cmp_sla - deadlines (SLA clocks) and the escalation ladder

    The format of the policies file is documented in the header of
    daemon/sla.yaml; this file follows it. A policy is read into an array
    of s_clock_t, its parent's clocks first (extends), so that nothing is
    looked up through the parent at run time. The names a clock's start,
    stop, pause and resume lists hold are bits of one set over the states
    and actions of a complaint.

    A clock's points are offsets in clock ms; the instant of an offset is
    worked out from the clock's running stretch (since, used) each time it
    is needed, and what fired is recorded in flags, so that the state in
    the record is all there is.
    =========================================================================
*/

#include "cmp_classes.h"

#define MINUTE_MS ((int64_t) 60000)
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)
//  Longest duration a file may give, and the furthest a search looks back
#define SPAN_MAX ((int64_t) CMP_CALENDAR_HORIZON * DAY_MS)
//  Most working days a duration may count
#define WORKDAYS_MAX 2000
//  late_after when the file gives none
#define LATE_AFTER MINUTE_MS

//  The names start, stop, pause and resume may hold: the states of a
//  complaint (s_state_names of cmp_case.c), then "register" and the
//  actions (s_actions of cmp_case.c). Keep them in step with cmp_case.
static const char *const s_names[] = {
  //  States
  "registered", "triaged", "assigned", "investigating", "waiting", "proposed",
  "approved", "told", "accepted", "rejected", "resolved", "resolved_on_spot",
  "followed_up", "closed", "withdrawn", "merged", "referred", "archived",
  "purged",
  //  Actions
  "register", "triage", "assign", "recuse", "start", "request_info",
  "info_received", "note", "contact", "propose", "approve", "reject_proposal",
  "tell", "answer", "resolve", "resolve_on_spot", "follow_up", "close",
  "reopen", "withdraw", "merge", "refer", "extend", "reclassify", "retriage",
  "archive", "purge", NULL};

//  How many of s_names are states
#define STATES 19

//  How a duration counts
typedef enum
{
    U_ELAPSED,  //  Calendar time: amount is ms
    U_WORK,     //  Working time: amount is ms of working time
    U_WORKDAYS, //  Working days: amount is a number of days
} s_unit_t;

//  A target or duration as the file gives it
typedef struct
{
    s_unit_t unit;               //  How it counts
    int64_t amount;              //  ms, or days for U_WORKDAYS; 0: none
    char text[CMP_SLA_NAME_MAX]; //  As written ("3 workdays")
} s_duration_t;

//  A clock of a policy
typedef struct
{
    char name[CMP_SLA_NAME_MAX];    //  Clock name
    s_duration_t target;            //  Its target
    s_duration_t extended;          //  Target once extended; amount 0:
                                    //  not extendable
    uint64_t start;                 //  Names that start it (s_names bits)
    uint64_t stop;                  //  Names that stop it
    uint64_t pause;                 //  States that pause it
    uint64_t resume;                //  Names that resume it
    bool resume_given;              //  resume was given (else: leaving
                                    //  every pause state resumes it)
    int warnings[CMP_SLA_WARNINGS]; //  Warning points, percent, ascending
    int warning_count;              //  How many
    s_duration_t remind;            //  Reminder before due; 0: none
} s_clock_t;

//  A policy, its parent's clocks included
typedef struct
{
    char name[CMP_SLA_NAME_MAX];      //  Policy name
    s_clock_t clocks[CMP_SLA_CLOCKS]; //  Clocks, parent's first
    size_t size;                      //  How many
} s_policy_t;

//  A level of the escalation ladder
typedef struct
{
    char name[CMP_SLA_NAME_MAX]; //  Level name
    zlist_t *notify;             //  Whom it notifies, as written
} s_level_t;

//  Structure of our class

struct _cmp_sla_t
{
    char *version;                    //  Label "#" digest
    cmp_calendar_t *calendar;         //  Working time (not owned)
    s_duration_t remind;              //  Default reminder; 0: none
    int64_t late_after;               //  A point fired later is late
    s_duration_t again;               //  Escalation interval; 0: none
    s_level_t levels[CMP_SLA_LEVELS]; //  The ladder, lowest first
    int level_count;                  //  Levels used
    s_policy_t *policies;             //  Policies in file order
    size_t size;                      //  How many
    s_policy_t *fallback;             //  The default policy
    s_policy_t *emergency;            //  The emergency one, or NULL
};

//  What a policy is while the file is read
typedef struct
{
    yaml_node_t *extends;          //  Its extends value, or NULL
    int parent;                    //  Index of the parent, or -1
    s_clock_t own[CMP_SLA_CLOCKS]; //  Its own clocks
    size_t owns;                   //  How many
    int resolved;                  //  0 not yet, 1 under way, 2 done,
                                   //  -1 failed
} s_draft_t;

//  --------------------------------------------------------------------------
//  Reading the file

//  Index of a name in s_names, or -1
static int
s_name_index (const char *name)
{
    for (int index = 0; name && s_names[index]; index++)
        if (streq (s_names[index], name))
            return index;
    return -1;
}

//  The bit of a name, or 0 if it is none of s_names
static uint64_t
s_name_bit (const char *name)
{
    int index = s_name_index (name);
    return index < 0 ? 0 : 1ULL << index;
}

//  Parse a duration: 90m, 24h, 7d, 2 work hours, 30 work minutes, 3
//  workdays (singulars too), or 0 when zero is allowed. Returns 0 or -1.
static int
s_duration_parse (const char *text, bool zero, s_duration_t *duration)
{
    memset (duration, 0, sizeof (*duration));
    if (!text || strlen (text) >= CMP_SLA_NAME_MAX)
        return -1;
    snprintf (duration->text, sizeof (duration->text), "%s", text);
    if (zero && streq (text, "0"))
        return 0;
    const char *scan = text;
    int64_t number = 0;
    int digits = 0;
    while (isdigit ((unsigned char) *scan) && digits < 8) {
        number = number * 10 + (*scan++ - '0');
        digits++;
    }
    if (digits == 0 || isdigit ((unsigned char) *scan))
        return -1;
    while (*scan == ' ')
        scan++;
    int64_t unit = 0;
    if (streq (scan, "m"))
        unit = MINUTE_MS;
    else if (streq (scan, "h"))
        unit = HOUR_MS;
    else if (streq (scan, "d"))
        unit = DAY_MS;
    else if (streq (scan, "work minute") || streq (scan, "work minutes")) {
        unit = MINUTE_MS;
        duration->unit = U_WORK;
    } else if (streq (scan, "work hour") || streq (scan, "work hours")) {
        unit = HOUR_MS;
        duration->unit = U_WORK;
    } else if (streq (scan, "workday") || streq (scan, "workdays"))
        duration->unit = U_WORKDAYS;
    else
        return -1;
    if (number == 0)
        return zero ? 0 : -1;
    if (duration->unit == U_WORKDAYS) {
        if (number > WORKDAYS_MAX)
            return -1;
        duration->amount = number;
    } else {
        if (number > SPAN_MAX / unit)
            return -1;
        duration->amount = number * unit;
    }
    return 0;
}

//  Read a duration from node; what names it in errors
static int
s_read_duration (cmp_yaml_t *yaml,
                 yaml_node_t *node,
                 const char *what,
                 bool zero,
                 s_duration_t *duration)
{
    const char *text = cmp_yaml_string (yaml, node, what);
    if (!text)
        return -1;
    if (s_duration_parse (text, zero, duration))
        return cmp_yaml_error (yaml, node,
                               "%s: \"%.64s\" is not a duration (90m, 24h, "
                               "7d, 2 work hours, 30 work minutes, 3 "
                               "workdays%s)",
                               what, text, zero ? ", or 0" : "");
    return 0;
}

//  A name of a policy, clock or level: 1 to CMP_SLA_NAME_MAX - 1 bytes
//  without control characters
static int
s_check_name (cmp_yaml_t *yaml,
              yaml_node_t *node,
              const char *where,
              const char *what,
              const char *name)
{
    if (!*name || strlen (name) >= CMP_SLA_NAME_MAX
        || cmp_proto_control_at (name, false) >= 0 || cmp_proto_blank (name))
        return cmp_yaml_error (yaml, node,
                               "%s%s%s \"%.64s\" must be 1 to %d bytes "
                               "without control characters",
                               where ? where : "", where ? ": " : "", what,
                               name, CMP_SLA_NAME_MAX - 1);
    return 0;
}

//  Read a list of names as a bit set; states only if states is true
static int
s_read_names (cmp_yaml_t *yaml,
              yaml_node_t *node,
              const char *what,
              bool states,
              uint64_t *bits)
{
    zlist_t *names = cmp_yaml_strings (yaml, node, what);
    if (!names)
        return -1;
    int rc = 0;
    for (const char *name = (const char *) zlist_first (names); name;
         name = (const char *) zlist_next (names)) {
        int index = s_name_index (name);
        if (index < 0 || (states && index >= STATES))
            rc = cmp_yaml_error (yaml, node,
                                 index < 0
                                   ? "%s: \"%.64s\" is not a state or an action"
                                   : "%s: \"%.64s\" is not a state",
                                 what, name);
        else
            *bits |= 1ULL << index;
    }
    zlist_destroy (&names);
    return rc;
}

//  Read the warning points, "N%" each, 1% to 99%, ascending once read
static int
s_read_warnings (cmp_yaml_t *yaml,
                 yaml_node_t *node,
                 const char *what,
                 s_clock_t *clock)
{
    zlist_t *points = cmp_yaml_strings (yaml, node, what);
    if (!points)
        return -1;
    int rc = 0;
    if (zlist_size (points) > CMP_SLA_WARNINGS)
        rc = cmp_yaml_error (yaml, node, "%s: more than %d points", what,
                             CMP_SLA_WARNINGS);
    for (const char *point = (const char *) zlist_first (points);
         point && rc == 0; point = (const char *) zlist_next (points)) {
        char *end = (char *) point;
        long percent = 0;
        if (isdigit ((unsigned char) *point))
            percent = strtol (point, &end, 10);
        if (*end != '%' || end[1] || percent < 1 || percent > 99) {
            rc = cmp_yaml_error (yaml, node,
                                 "%s: \"%.64s\" is not a percent from 1%% to "
                                 "99%%",
                                 what, point);
            break;
        }
        int index = clock->warning_count;
        for (int other = 0; other < clock->warning_count; other++)
            if (clock->warnings[other] == percent)
                rc = cmp_yaml_error (yaml, node, "%s: %ld%% appears twice",
                                     what, percent);
        //  Insert in order
        while (index > 0 && clock->warnings[index - 1] > percent) {
            clock->warnings[index] = clock->warnings[index - 1];
            index--;
        }
        clock->warnings[index] = (int) percent;
        clock->warning_count++;
    }
    zlist_destroy (&points);
    return rc;
}

static int
s_read_clock (cmp_sla_t *self,
              cmp_yaml_t *yaml,
              yaml_node_t *node,
              const char *policy,
              const char *name,
              s_clock_t *clock,
              bool *working)
{
    static const char *const keys[] = {"target",   "extended", "start",
                                       "stop",     "pause",    "resume",
                                       "warnings", "remind",   NULL};
    char what[160];
    snprintf (what, sizeof (what), "policy \"%s\": clock \"%s\"", policy, name);
    snprintf (clock->name, sizeof (clock->name), "%s", name);
    if (cmp_yaml_expect_map (yaml, node, what, keys))
        return -1;
    int rc = 0;
    char path[200];
    yaml_node_t *value = cmp_yaml_get (yaml, node, "target");
    snprintf (path, sizeof (path), "%s: target", what);
    if (!value)
        rc = cmp_yaml_error (yaml, node, "%s: needs a target", what);
    else if (s_read_duration (yaml, value, path, false, &clock->target))
        rc = -1;
    if ((value = cmp_yaml_get (yaml, node, "extended"))) {
        snprintf (path, sizeof (path), "%s: extended", what);
        if (s_read_duration (yaml, value, path, false, &clock->extended))
            rc = -1;
        else if (clock->target.amount
                 && (clock->extended.unit == U_ELAPSED)
                      != (clock->target.unit == U_ELAPSED))
            rc =
              cmp_yaml_error (yaml, value,
                              "%s: \"%s\" must count the same time "
                              "(calendar or working) as the target \"%s\"",
                              path, clock->extended.text, clock->target.text);
    }
    if (clock->target.unit != U_ELAPSED)
        *working = true;
    static const char *const lists[] = {"start", "stop", "pause", "resume"};
    uint64_t *bits[] = {&clock->start, &clock->stop, &clock->pause,
                        &clock->resume};
    for (int list = 0; list < 4; list++) {
        value = cmp_yaml_get (yaml, node, lists[list]);
        snprintf (path, sizeof (path), "%s: %s", what, lists[list]);
        if (!value) {
            if (list == 0)
                rc = cmp_yaml_error (yaml, node, "%s: needs a start", what);
        } else if (s_read_names (yaml, value, path, list == 2, bits[list]))
            rc = -1;
        else if (list == 0 && clock->start == 0)
            rc = cmp_yaml_error (yaml, value, "%s: the list is empty", path);
    }
    clock->resume_given = cmp_yaml_get (yaml, node, "resume") != NULL;
    if ((value = cmp_yaml_get (yaml, node, "warnings"))) {
        snprintf (path, sizeof (path), "%s: warnings", what);
        if (s_read_warnings (yaml, value, path, clock))
            rc = -1;
    } else {
        clock->warnings[0] = 75;
        clock->warning_count = 1;
    }
    clock->remind = self->remind;
    if ((value = cmp_yaml_get (yaml, node, "remind"))) {
        snprintf (path, sizeof (path), "%s: remind", what);
        if (s_read_duration (yaml, value, path, true, &clock->remind))
            rc = -1;
    }
    if (clock->remind.unit != U_ELAPSED && clock->remind.amount)
        *working = true;
    return rc;
}

//  Read a policy's own clocks and what it extends into draft
static int
s_read_policy (cmp_sla_t *self,
               cmp_yaml_t *yaml,
               yaml_node_t *node,
               s_policy_t *policy,
               s_draft_t *draft,
               bool *working)
{
    char what[120];
    snprintf (what, sizeof (what), "policy \"%s\"", policy->name);
    if (cmp_yaml_expect_map (yaml, node, what, NULL))
        return -1;
    int rc = 0;
    size_t size = cmp_yaml_size (node);
    for (size_t index = 0; index < size; index++) {
        yaml_node_t *key = cmp_yaml_key (yaml, node, index);
        yaml_node_t *value = cmp_yaml_value (yaml, node, index);
        const char *name = cmp_yaml_string (yaml, key, what);
        if (!name)
            rc = -1;
        else if (streq (name, "extends"))
            draft->extends = value;
        else if (draft->owns == CMP_SLA_CLOCKS)
            rc = cmp_yaml_error (yaml, key, "%s: more than %d clocks", what,
                                 CMP_SLA_CLOCKS);
        else if (s_check_name (yaml, key, what, "clock name", name))
            rc = -1;
        else if (s_read_clock (self, yaml, value, policy->name, name,
                               &draft->own[draft->owns++], working))
            rc = -1;
    }
    return rc;
}

//  Fill a policy with its parent's clocks, then its own; -1 on a cycle,
//  a parent that failed, or too many clocks
static int
s_resolve_policy (cmp_sla_t *self,
                  cmp_yaml_t *yaml,
                  s_draft_t *drafts,
                  size_t index)
{
    s_draft_t *draft = &drafts[index];
    s_policy_t *policy = &self->policies[index];
    if (draft->resolved)
        return draft->resolved == 2 ? 0 : -1;
    draft->resolved = 1;
    if (draft->parent >= 0) {
        s_draft_t *parent = &drafts[draft->parent];
        if (parent->resolved == 1) {
            draft->resolved = -1;
            if (parent == draft)
                return cmp_yaml_error (yaml, draft->extends,
                                       "policy \"%s\": extends itself",
                                       policy->name);
            return cmp_yaml_error (
              yaml, draft->extends,
              "policy \"%s\": extends \"%s\", which "
              "leads back to \"%s\"",
              policy->name, self->policies[draft->parent].name, policy->name);
        }
        if (s_resolve_policy (self, yaml, drafts, (size_t) draft->parent)) {
            draft->resolved = -1;
            return -1;
        }
        s_policy_t *from = &self->policies[draft->parent];
        memcpy (policy->clocks, from->clocks, sizeof (policy->clocks));
        policy->size = from->size;
    }
    for (size_t own = 0; own < draft->owns; own++) {
        size_t slot = 0;
        while (slot < policy->size
               && !streq (policy->clocks[slot].name, draft->own[own].name))
            slot++;
        if (slot == CMP_SLA_CLOCKS) {
            draft->resolved = -1;
            return cmp_yaml_error (yaml, draft->extends,
                                   "policy \"%s\": more than %d clocks with "
                                   "those of \"%s\"",
                                   policy->name, CMP_SLA_CLOCKS,
                                   self->policies[draft->parent].name);
        }
        policy->clocks[slot] = draft->own[own];
        if (slot == policy->size)
            policy->size++;
    }
    draft->resolved = 2;
    return 0;
}

//  The policy of that name, or NULL
static s_policy_t *
s_policy_find (cmp_sla_t *self, const char *name)
{
    for (size_t index = 0; name && index < self->size; index++)
        if (streq (self->policies[index].name, name))
            return &self->policies[index];
    return NULL;
}

static int
s_read_policies (cmp_sla_t *self,
                 cmp_yaml_t *yaml,
                 yaml_node_t *node,
                 bool *working)
{
    if (!node || node->type != YAML_MAPPING_NODE || cmp_yaml_size (node) == 0)
        return cmp_yaml_error (yaml, node ? node : cmp_yaml_root (yaml),
                               "policies must map each policy's name to its "
                               "clocks");
    if (cmp_yaml_expect_map (yaml, node, "policies", NULL))
        return -1;
    self->size = cmp_yaml_size (node);
    self->policies = (s_policy_t *) zmalloc (self->size * sizeof (s_policy_t));
    s_draft_t *drafts = (s_draft_t *) zmalloc (self->size * sizeof (s_draft_t));
    assert (self->policies && drafts);
    int rc = 0;
    for (size_t index = 0; index < self->size; index++) {
        yaml_node_t *key = cmp_yaml_key (yaml, node, index);
        const char *name = cmp_yaml_string (yaml, key, "a policy's name");
        drafts[index].parent = -1;
        if (!name || s_check_name (yaml, key, NULL, "policy name", name)) {
            rc = -1;
            drafts[index].resolved = -1;
            continue;
        }
        snprintf (self->policies[index].name, CMP_SLA_NAME_MAX, "%s", name);
        if (s_read_policy (self, yaml, cmp_yaml_value (yaml, node, index),
                           &self->policies[index], &drafts[index], working))
            rc = -1;
    }
    //  What each extends
    for (size_t index = 0; index < self->size; index++) {
        yaml_node_t *extends = drafts[index].extends;
        if (!extends)
            continue;
        char what[120];
        snprintf (what, sizeof (what), "policy \"%s\": extends",
                  self->policies[index].name);
        const char *name = cmp_yaml_string (yaml, extends, what);
        s_policy_t *parent = name ? s_policy_find (self, name) : NULL;
        if (name && !parent)
            cmp_yaml_error (yaml, extends,
                            "%s: policy \"%.64s\" is not defined", what, name);
        if (parent)
            drafts[index].parent = (int) (parent - self->policies);
        else {
            rc = -1;
            drafts[index].resolved = -1;
        }
    }
    for (size_t index = 0; index < self->size; index++)
        if (s_resolve_policy (self, yaml, drafts, index))
            rc = -1;
    free (drafts);
    return rc;
}

static int
s_read_escalation (cmp_sla_t *self,
                   cmp_yaml_t *yaml,
                   yaml_node_t *node,
                   bool *working)
{
    static const char *const keys[] = {"again", "levels", NULL};
    if (!node)
        return cmp_yaml_error (yaml, cmp_yaml_root (yaml),
                               "needs an escalation ladder (escalation: "
                               "levels: - name: ...)");
    if (cmp_yaml_expect_map (yaml, node, "escalation", keys))
        return -1;
    int rc = 0;
    yaml_node_t *value = cmp_yaml_get (yaml, node, "again");
    if (value) {
        if (s_read_duration (yaml, value, "escalation.again", true,
                             &self->again))
            rc = -1;
        else if (self->again.unit != U_ELAPSED && self->again.amount)
            *working = true;
    }
    yaml_node_t *levels = cmp_yaml_get (yaml, node, "levels");
    size_t size = cmp_yaml_size (levels);
    if (!levels || levels->type != YAML_SEQUENCE_NODE || size == 0)
        return cmp_yaml_error (yaml, levels ? levels : node,
                               "escalation.levels must be a list of 1 to %d "
                               "levels (- name: ...)",
                               CMP_SLA_LEVELS);
    if (size > CMP_SLA_LEVELS)
        return cmp_yaml_error (yaml, levels,
                               "escalation.levels: %zu levels, more than %d",
                               size, CMP_SLA_LEVELS);
    static const char *const level_keys[] = {"name", "notify", NULL};
    for (size_t index = 0; index < size; index++) {
        yaml_node_t *level = cmp_yaml_item (yaml, levels, index);
        char what[64];
        snprintf (what, sizeof (what), "escalation.levels[%zu]", index);
        if (cmp_yaml_expect_map (yaml, level, what, level_keys)) {
            rc = -1;
            continue;
        }
        s_level_t *slot = &self->levels[self->level_count++];
        value = cmp_yaml_get (yaml, level, "name");
        const char *name = value ? cmp_yaml_string (yaml, value, what) : NULL;
        if (!value)
            rc = cmp_yaml_error (yaml, level, "%s: needs a name", what);
        else if (!name || s_check_name (yaml, value, what, "level name", name))
            rc = -1;
        else {
            for (int before = 0; before < self->level_count - 1; before++)
                if (streq (self->levels[before].name, name))
                    rc = cmp_yaml_error (yaml, value,
                                         "%s: level \"%s\" appears twice", what,
                                         name);
            snprintf (slot->name, sizeof (slot->name), "%s", name);
        }
        if ((value = cmp_yaml_get (yaml, level, "notify"))) {
            char path[80];
            snprintf (path, sizeof (path), "%s.notify", what);
            if (!(slot->notify = cmp_yaml_strings (yaml, value, path)))
                rc = -1;
        }
        if (!slot->notify) {
            slot->notify = zlist_new ();
            assert (slot->notify);
            zlist_autofree (slot->notify);
        }
    }
    return rc;
}

//  Label "#" the first 12 hex digits of the text's SHA-1
static char *
s_version (const char *label, const char *text, size_t size)
{
    zdigest_t *digest = zdigest_new ();
    assert (digest);
    zdigest_update (digest, (const byte *) text, size);
    char hex[13];
    snprintf (hex, sizeof (hex), "%s", zdigest_string (digest));
    for (char *scan = hex; *scan; scan++)
        *scan = (char) tolower ((unsigned char) *scan);
    zdigest_destroy (&digest);
    return zsys_sprintf ("%s#%s", label ? label : "sla", hex);
}

//  The policy a top-level key (default, emergency) names, or NULL
static s_policy_t *
s_named_policy (cmp_sla_t *self,
                cmp_yaml_t *yaml,
                yaml_node_t *root,
                const char *key)
{
    yaml_node_t *value = cmp_yaml_get (yaml, root, key);
    if (!value)
        return NULL;
    const char *name = cmp_yaml_string (yaml, value, key);
    s_policy_t *policy = name ? s_policy_find (self, name) : NULL;
    if (name && !policy)
        cmp_yaml_error (yaml, value, "%s: policy \"%.64s\" is not defined", key,
                        name);
    return policy;
}

cmp_sla_t *
cmp_sla_new (const char *name,
             const char *text,
             size_t size,
             zhashx_t *calendars,
             zlist_t *errors)
{
    assert (name);
    assert (errors);
    cmp_yaml_t *yaml = cmp_yaml_new (name, text, size, errors);
    if (!yaml)
        return NULL;
    cmp_sla_t *self = (cmp_sla_t *) zmalloc (sizeof (cmp_sla_t));
    assert (self);
    static const char *const keys[] = {"version",    "calendar", "remind",
                                       "late_after", "default",  "emergency",
                                       "escalation", "policies", NULL};
    yaml_node_t *root = cmp_yaml_root (yaml);
    if (cmp_yaml_expect_map (yaml, root, "the policies file", keys))
        goto done;

    yaml_node_t *value = cmp_yaml_get (yaml, root, "version");
    const char *label = value ? cmp_yaml_string (yaml, value, "version") : NULL;
    if (label
        && (!*label || strlen (label) > 64
            || cmp_proto_control_at (label, false) >= 0 || strchr (label, '#')))
        cmp_yaml_error (yaml, value,
                        "version: \"%.64s\" must be 1 to 64 bytes without # "
                        "or control characters",
                        label);
    self->version = s_version (label, text, size);

    bool working = false;
    if ((value = cmp_yaml_get (yaml, root, "remind"))
        && s_read_duration (yaml, value, "remind", true, &self->remind) == 0
        && self->remind.unit != U_ELAPSED && self->remind.amount)
        working = true;
    self->late_after = LATE_AFTER;
    if ((value = cmp_yaml_get (yaml, root, "late_after"))) {
        s_duration_t late;
        if (s_read_duration (yaml, value, "late_after", true, &late) == 0) {
            if (late.unit != U_ELAPSED)
                cmp_yaml_error (yaml, value,
                                "late_after: \"%s\" must be calendar time "
                                "(90m, 24h, 7d)",
                                late.text);
            self->late_after = late.amount;
        }
    }
    s_read_escalation (self, yaml, cmp_yaml_get (yaml, root, "escalation"),
                       &working);
    s_read_policies (self, yaml, cmp_yaml_get (yaml, root, "policies"),
                     &working);
    if (self->size) {
        self->fallback = s_named_policy (self, yaml, root, "default");
        self->emergency = s_named_policy (self, yaml, root, "emergency");
        if (!cmp_yaml_get (yaml, root, "default"))
            cmp_yaml_error (yaml, root,
                            "needs default: the policy of a complaint that "
                            "names none");
    }

    const char *calendar = "default";
    if ((value = cmp_yaml_get (yaml, root, "calendar")))
        calendar = cmp_yaml_string (yaml, value, "calendar");
    if (calendar) {
        self->calendar =
          calendars ? (cmp_calendar_t *) zhashx_lookup (calendars, calendar)
                    : NULL;
        if (!self->calendar && (value || working))
            cmp_yaml_error (yaml, value ? value : root,
                            "calendar \"%.64s\" is not defined in the "
                            "calendars file",
                            calendar);
    }
done:
    if (cmp_yaml_errors (yaml))
        cmp_sla_destroy (&self);
    cmp_yaml_destroy (&yaml);
    return self;
}

cmp_sla_t *
cmp_sla_load (const char *filename, zhashx_t *calendars, zlist_t *errors)
{
    zchunk_t *chunk = cmp_yaml_read (filename, errors);
    if (!chunk)
        return NULL;
    cmp_sla_t *self = cmp_sla_new (filename, (const char *) zchunk_data (chunk),
                                   zchunk_size (chunk), calendars, errors);
    zchunk_destroy (&chunk);
    return self;
}

void
cmp_sla_destroy (cmp_sla_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_sla_t *self = *self_p;
        for (int level = 0; level < self->level_count; level++)
            zlist_destroy (&self->levels[level].notify);
        free (self->policies);
        free (self->version);
        free (self);
        *self_p = NULL;
    }
}

const char *
cmp_sla_version (cmp_sla_t *self)
{
    assert (self);
    return self->version;
}

size_t
cmp_sla_size (cmp_sla_t *self)
{
    assert (self);
    return self->size;
}

bool
cmp_sla_known (cmp_sla_t *self, const char *policy)
{
    assert (self);
    return s_policy_find (self, policy) != NULL;
}

cmp_calendar_t *
cmp_sla_calendar (cmp_sla_t *self)
{
    assert (self);
    return self->calendar;
}

int
cmp_sla_levels (cmp_sla_t *self)
{
    assert (self);
    return self->level_count;
}

const char *
cmp_sla_level_name (cmp_sla_t *self, int level)
{
    assert (self);
    assert (level >= 0 && level < self->level_count);
    return self->levels[level].name;
}

int
cmp_sla_level_find (cmp_sla_t *self, const char *name)
{
    assert (self);
    for (int level = 0; name && level < self->level_count; level++)
        if (streq (self->levels[level].name, name))
            return level;
    return -1;
}

zlist_t *
cmp_sla_level_notify (cmp_sla_t *self, int level)
{
    assert (self);
    assert (level >= 0 && level < self->level_count);
    return self->levels[level].notify;
}

//  --------------------------------------------------------------------------
//  Clock arithmetic

//  a - b, at least 0, INT64_MAX if a is
static int64_t
s_minus (int64_t a, int64_t b)
{
    if (a == INT64_MAX)
        return INT64_MAX;
    return a > b ? a - b : 0;
}

//  a + b for b >= 0, saturating at INT64_MAX
static int64_t
s_plus (int64_t a, int64_t b)
{
    return b > INT64_MAX - a ? INT64_MAX : a + b;
}

//  Clock ms from one instant to another
static int64_t
s_span (cmp_sla_t *self, cmp_sla_clock_t *clock, int64_t from, int64_t to)
{
    if (to <= from)
        return 0;
    return clock->work ? cmp_calendar_work_between (self->calendar, from, to)
                       : to - from;
}

//  The instant a RUNNING clock reaches offset (clock ms), INT64_MAX if
//  never; an offset already used gives the start of the running stretch
static int64_t
s_instant (cmp_sla_t *self, cmp_sla_clock_t *clock, int64_t offset)
{
    int64_t rest = offset > clock->used ? offset - clock->used : 0;
    return clock->work
             ? cmp_calendar_add_work (self->calendar, clock->since, rest)
             : s_plus (clock->since, rest);
}

//  A target in clock ms, for a clock that starts at
static int64_t
s_total (cmp_sla_t *self, s_duration_t *target, int64_t at)
{
    if (target->unit != U_WORKDAYS)
        return target->amount;
    int64_t end =
      cmp_calendar_add_workdays (self->calendar, at, (int) target->amount);
    return cmp_calendar_work_between (self->calendar, at, end);
}

//  The latest instant from which work ms of working time reach end
static int64_t
s_work_before (cmp_sla_t *self, int64_t end, int64_t work)
{
    int64_t span = work;
    while (cmp_calendar_work_between (self->calendar, end - span, end) < work)
        if ((span *= 2) > SPAN_MAX)
            return end - span;
    int64_t low = end - span, high = end;
    while (high - low > 1) {
        int64_t middle = low + (high - low) / 2;
        if (cmp_calendar_work_between (self->calendar, middle, end) >= work)
            low = middle;
        else
            high = middle;
    }
    return low;
}

//  A duration (remind, again) in a RUNNING clock's ms. Another kind of
//  time is converted at the clock's due time: forward from it (again,
//  after the due time) or, if before, back from it (remind). 0 is none.
static int64_t
s_clock_ms (cmp_sla_t *self,
            cmp_sla_clock_t *clock,
            s_duration_t *duration,
            bool before)
{
    if (duration->amount == 0)
        return 0;
    int64_t due = clock->due_at;
    int64_t ms;
    if (duration->unit == U_ELAPSED) {
        if (!clock->work)
            return duration->amount;
        ms = before ? cmp_calendar_work_between (self->calendar,
                                                 due - duration->amount, due)
                    : cmp_calendar_work_between (
                      self->calendar, due, s_plus (due, duration->amount));
        return ms > 0 ? ms : 1;
    }
    int64_t work = duration->amount;
    if (duration->unit == U_WORKDAYS) {
        int64_t end = cmp_calendar_add_workdays (self->calendar, due,
                                                 (int) duration->amount);
        if (!clock->work && !before)
            return end == INT64_MAX ? SPAN_MAX : s_minus (end, due);
        work = cmp_calendar_work_between (self->calendar, due, end);
    }
    if (clock->work)
        ms = work;
    else if (before)
        ms = due - s_work_before (self, due, work);
    else {
        int64_t end = cmp_calendar_add_work (self->calendar, due, work);
        ms = end == INT64_MAX ? SPAN_MAX : s_minus (end, due);
    }
    return ms > 0 ? ms : 1;
}

//  The policy a complaint follows: the emergency policy in an emergency
//  (if the file has one), else its own if known, else the default
static s_policy_t *
s_policy_of (cmp_sla_t *self, const char *name, bool emergency)
{
    s_policy_t *policy = s_policy_find (self, name);
    if (emergency && self->emergency)
        return self->emergency;
    return policy ? policy : self->fallback;
}

//  The definition of a clock in the state's policy, or NULL
static s_clock_t *
s_clock_def (cmp_sla_t *self, cmp_sla_state_t *state, const char *name)
{
    s_policy_t *policy = s_policy_of (self, state->policy, false);
    for (size_t index = 0; index < policy->size; index++)
        if (streq (policy->clocks[index].name, name))
            return &policy->clocks[index];
    return NULL;
}

//  A point of a clock: what, and its offset in clock ms
typedef struct
{
    cmp_sla_notice_kind_t kind; //  REMINDER, WARNING, BREACH, ESCALATION
    int64_t offset;             //  Clock ms at which it fires
    int percent;                //  WARNING: the point
} s_point_t;

//  The next point a RUNNING clock has to fire, if any. At equal offsets a
//  reminder comes before a warning, a warning before the breach.
static bool
s_next_point (cmp_sla_t *self,
              cmp_sla_state_t *state,
              cmp_sla_clock_t *clock,
              s_point_t *point)
{
    if (clock->state != CMP_SLA_RUNNING)
        return false;
    s_clock_t *def = s_clock_def (self, state, clock->name);
    bool found = false;
    if (def && !clock->reminded) {
        int64_t remind = s_clock_ms (self, clock, &def->remind, true);
        if (remind > 0 && remind < clock->total) {
            *point = (s_point_t){CMP_SLA_REMINDER, clock->total - remind, 0};
            found = true;
        }
    }
    if (def && clock->warned >= 0 && clock->warned < def->warning_count) {
        int percent = def->warnings[clock->warned];
        int64_t offset = clock->total * percent / 100;
        if (!found || offset < point->offset) {
            *point = (s_point_t){CMP_SLA_WARNING, offset, percent};
            found = true;
        }
    }
    if (clock->breached_at == 0) {
        if (!found || clock->total < point->offset) {
            *point = (s_point_t){CMP_SLA_BREACH, clock->total, 0};
            found = true;
        }
    } else if (state->level < self->level_count - 1) {
        //  Further escalations, after the breach
        int64_t again = s_clock_ms (self, clock, &self->again, false);
        int64_t count = (int64_t) clock->escalations + 1;
        int64_t offset = again > (INT64_MAX / 4 - clock->total) / count
                           ? INT64_MAX / 4
                           : clock->total + count * again;
        if (again > 0 && (!found || offset < point->offset)) {
            *point = (s_point_t){CMP_SLA_ESCALATION, offset, 0};
            found = true;
        }
    }
    return found;
}

//  Work out due times, next points, and the state's summary at now
static void
s_update (cmp_sla_t *self, cmp_sla_state_t *state, int64_t now)
{
    state->next_at = 0;
    state->due_at = 0;
    state->overdue = false;
    for (size_t index = 0; index < state->size; index++) {
        cmp_sla_clock_t *clock = &state->clocks[index];
        clock->next_at = 0;
        if (clock->state == CMP_SLA_PAUSED)
            clock->due_at = 0;
        if (clock->state != CMP_SLA_RUNNING) {
            if (clock->state == CMP_SLA_PAUSED
                && (clock->breached_at || clock->used >= clock->total))
                state->overdue = true;
            continue;
        }
        clock->due_at = s_instant (self, clock, clock->total);
        if (clock->due_at == INT64_MAX)
            clock->due_at = 0;
        s_point_t point;
        if (s_next_point (self, state, clock, &point)) {
            int64_t at = s_instant (self, clock, point.offset);
            clock->next_at = at == INT64_MAX ? 0 : at;
        }
        if (clock->next_at
            && (!state->next_at || clock->next_at < state->next_at))
            state->next_at = clock->next_at;
        if (clock->due_at && (!state->due_at || clock->due_at < state->due_at))
            state->due_at = clock->due_at;
        if (clock->breached_at
            || clock->used + s_span (self, clock, clock->since, now)
                 >= clock->total)
            state->overdue = true;
    }
}

//  Append a notice about a clock
static cmp_sla_notice_t *
s_notice (cmp_sla_notice_t *notices,
          int *count,
          cmp_sla_notice_kind_t kind,
          cmp_sla_clock_t *clock,
          int64_t at)
{
    assert (*count < CMP_SLA_NOTICES);
    cmp_sla_notice_t *notice = &notices[(*count)++];
    memset (notice, 0, sizeof (*notice));
    notice->kind = kind;
    notice->clock = clock ? clock->name : NULL;
    notice->at = at;
    notice->due_at = clock ? clock->due_at : 0;
    return notice;
}

//  Start a clock afresh at now
static void
s_start (cmp_sla_t *self, cmp_sla_clock_t *clock, s_clock_t *def, int64_t now)
{
    memset (clock, 0, sizeof (*clock));
    snprintf (clock->name, sizeof (clock->name), "%s", def->name);
    snprintf (clock->target, sizeof (clock->target), "%s", def->target.text);
    clock->state = CMP_SLA_RUNNING;
    clock->work = def->target.unit != U_ELAPSED;
    clock->started_at = clock->since = now;
    clock->total = s_total (self, &def->target, now);
    clock->due_at = s_instant (self, clock, clock->total);
}

//  Give a clock kept through a policy switch (or extended) a new target,
//  counted from its start
static void
s_retarget (cmp_sla_t *self, cmp_sla_clock_t *clock, s_duration_t *target)
{
    bool work = target->unit != U_ELAPSED;
    if (work != clock->work) {
        //  The time used, counted again in the other kind of time as if
        //  it had run without pause from the start
        int64_t used =
          work ? cmp_calendar_work_between (self->calendar, clock->started_at,
                                            clock->started_at + clock->used)
               : s_minus (cmp_calendar_add_work (
                            self->calendar, clock->started_at, clock->used),
                          clock->started_at);
        clock->used = used == INT64_MAX ? SPAN_MAX : used;
        clock->work = work;
    }
    snprintf (clock->target, sizeof (clock->target), "%s", target->text);
    clock->total = s_total (self, target, clock->started_at);
    if (clock->state == CMP_SLA_RUNNING)
        clock->due_at = s_instant (self, clock, clock->total);
}

int
cmp_sla_on (cmp_sla_t *self,
            cmp_sla_state_t *state,
            const char *policy_name,
            bool emergency,
            const char *action,
            const char *entered,
            int64_t now,
            cmp_sla_notice_t *notices)
{
    assert (self);
    assert (state);
    assert (notices);
    int count = 0;
    s_policy_t *policy = s_policy_of (self, policy_name, emergency);
    if (*state->policy && !streq (state->policy, policy->name)) {
        //  A switch: keep the clocks both have, with the new targets
        size_t kept = 0;
        for (size_t index = 0; index < state->size; index++) {
            cmp_sla_clock_t *clock = &state->clocks[index];
            s_clock_t *def = NULL;
            for (size_t slot = 0; slot < policy->size && !def; slot++)
                if (streq (policy->clocks[slot].name, clock->name))
                    def = &policy->clocks[slot];
            if (!def)
                continue;
            if (clock->state != CMP_SLA_STOPPED)
                s_retarget (self, clock,
                            clock->extended && def->extended.amount
                              ? &def->extended
                              : &def->target);
            if (kept != index)
                state->clocks[kept] = *clock;
            kept++;
        }
        state->size = kept;
    }
    snprintf (state->policy, sizeof (state->policy), "%s", policy->name);

    uint64_t names = s_name_bit (action) | s_name_bit (entered);
    uint64_t state_bit = s_name_bit (entered);
    //  A case that ends stops every clock, whatever its stop list says
    uint64_t final = s_name_bit ("closed") | s_name_bit ("withdrawn")
                     | s_name_bit ("merged") | s_name_bit ("archived")
                     | s_name_bit ("purged");
    bool ended = (state_bit & final) != 0;
    bool extend = action && streq (action, "extend");
    for (size_t slot = 0; slot < policy->size; slot++) {
        s_clock_t *def = &policy->clocks[slot];
        cmp_sla_clock_t *clock = NULL;
        for (size_t index = 0; index < state->size && !clock; index++)
            if (streq (state->clocks[index].name, def->name))
                clock = &state->clocks[index];
        if (clock && clock->state != CMP_SLA_STOPPED
            && ((def->stop & names) || ended)) {
            if (clock->state == CMP_SLA_RUNNING)
                clock->used += s_span (self, clock, clock->since, now);
            clock->state = CMP_SLA_STOPPED;
            clock->since = 0;
            clock->stopped_at = now;
            clock->met = clock->used < clock->total;
            clock->next_at = 0;
            cmp_sla_notice_t *notice =
              s_notice (notices, &count, CMP_SLA_STOP, clock, now);
            notice->met = clock->met;
        }
        if ((!clock || clock->state == CMP_SLA_STOPPED) && !ended
            && (def->start & names)) {
            if (!clock && state->size == CMP_SLA_CLOCKS)
                continue; //  Full: cannot be, policies have fewer
            if (!clock)
                clock = &state->clocks[state->size++];
            s_start (self, clock, def, now);
        }
        if (!clock || clock->state == CMP_SLA_STOPPED)
            continue;
        if (extend && def->extended.amount && !clock->extended) {
            s_retarget (self, clock, &def->extended);
            clock->extended = true;
        }
        if (clock->state == CMP_SLA_RUNNING && (def->pause & state_bit)) {
            clock->used += s_span (self, clock, clock->since, now);
            clock->state = CMP_SLA_PAUSED;
            clock->since = 0;
            clock->due_at = 0;
        } else if (clock->state == CMP_SLA_PAUSED
                   && (def->resume_given ? (def->resume & names) != 0
                                         : !(def->pause & state_bit))) {
            clock->since = now;
            clock->state = CMP_SLA_RUNNING;
            clock->due_at = s_instant (self, clock, clock->total);
        }
    }
    int top = self->level_count - 1;
    if (emergency && state->level < top) {
        cmp_sla_notice_t *notice =
          s_notice (notices, &count, CMP_SLA_ESCALATION, NULL, now);
        notice->from = state->level;
        notice->to = top;
        snprintf (notice->reason, sizeof (notice->reason), "emergency");
        state->level = top;
    }
    s_update (self, state, now);
    return count;
}

int
cmp_sla_fire (cmp_sla_t *self,
              cmp_sla_state_t *state,
              int64_t now,
              cmp_sla_notice_t *notices)
{
    assert (self);
    assert (state);
    assert (notices);
    int count = 0;
    s_update (self, state, now);
    while (true) {
        //  The earliest point due, first clock first at equal instants
        cmp_sla_clock_t *clock = NULL;
        s_point_t point;
        int64_t at = 0;
        for (size_t index = 0; index < state->size; index++) {
            s_point_t next;
            cmp_sla_clock_t *candidate = &state->clocks[index];
            if (!s_next_point (self, state, candidate, &next))
                continue;
            int64_t instant = s_instant (self, candidate, next.offset);
            if (instant <= now && (!clock || instant < at)) {
                clock = candidate;
                point = next;
                at = instant;
            }
        }
        if (!clock)
            break;
        cmp_sla_notice_t *notice =
          s_notice (notices, &count, point.kind, clock, at);
        notice->late = now - at > self->late_after;
        if (point.kind == CMP_SLA_REMINDER)
            clock->reminded = true;
        else if (point.kind == CMP_SLA_WARNING) {
            clock->warned++;
            notice->percent = point.percent;
        } else if (point.kind == CMP_SLA_BREACH) {
            clock->breached_at = now;
            if (state->level < self->level_count - 1) {
                notice =
                  s_notice (notices, &count, CMP_SLA_ESCALATION, clock, at);
                notice->late = now - at > self->late_after;
                notice->from = state->level;
                notice->to = ++state->level;
                snprintf (notice->reason, sizeof (notice->reason),
                          "%s breached", clock->name);
            }
        } else {
            clock->escalations++;
            notice->from = state->level;
            notice->to = ++state->level;
            snprintf (notice->reason, sizeof (notice->reason),
                      "%s overdue %s more", clock->name, self->again.text);
        }
    }
    s_update (self, state, now);
    return count;
}

void
cmp_sla_measure (cmp_sla_t *self,
                 cmp_sla_clock_t *clock,
                 int64_t now,
                 int64_t *used,
                 int64_t *remaining)
{
    assert (self);
    assert (clock);
    int64_t sum = clock->used;
    if (clock->state == CMP_SLA_RUNNING)
        sum += s_span (self, clock, clock->since, now);
    if (used)
        *used = sum;
    if (remaining)
        *remaining = clock->total - sum;
}

//  --------------------------------------------------------------------------
//  The record

static const char *s_clock_states[] = {NULL, "running", "paused", "stopped"};

void
cmp_sla_read (cmp_sla_t *self, cmp_proto_t *record, cmp_sla_state_t *state)
{
    assert (self);
    assert (record);
    assert (state);
    memset (state, 0, sizeof (*state));
    const char *policy = cmp_proto_sla_policy (record);
    snprintf (state->policy, sizeof (state->policy), "%s",
              policy ? policy : "");
    int level = cmp_sla_level_find (self, cmp_proto_level (record));
    state->level = level > 0 ? level : 0;
    zlistx_t *clocks = cmp_proto_clocks (record);
    for (cmp_proto_t *item = (cmp_proto_t *) zlistx_first (clocks);
         item && state->size < CMP_SLA_CLOCKS;
         item = (cmp_proto_t *) zlistx_next (clocks)) {
        const char *name = cmp_proto_clock (item);
        const char *status = cmp_proto_state (item);
        int kind = 0;
        for (int index = CMP_SLA_RUNNING; status && index <= CMP_SLA_STOPPED;
             index++)
            if (streq (s_clock_states[index], status))
                kind = index;
        if (!name || !kind)
            continue; //  Not a clock this class wrote
        cmp_sla_clock_t *clock = &state->clocks[state->size++];
        snprintf (clock->name, sizeof (clock->name), "%s", name);
        snprintf (clock->target, sizeof (clock->target), "%s",
                  cmp_proto_target (item) ? cmp_proto_target (item) : "");
        clock->state = kind;
        //  Without a calendar (the file changed) working time cannot be
        //  counted: the clock counts elapsed time
        clock->work = cmp_proto_work (item) && self->calendar;
        clock->started_at = cmp_proto_started_at (item);
        clock->since = cmp_proto_since (item);
        clock->used = cmp_proto_used (item);
        clock->total = cmp_proto_total (item);
        clock->due_at = cmp_proto_due_at (item);
        clock->next_at = cmp_proto_next_at (item);
        clock->breached_at = cmp_proto_breached_at (item);
        clock->stopped_at = cmp_proto_stopped_at (item);
        clock->met =
          cmp_proto_outcome (item) && streq (cmp_proto_outcome (item), "met");
        clock->reminded = cmp_proto_reminded (item);
        clock->extended = cmp_proto_extended (item);
        uint64_t warned = cmp_proto_warned (item);
        uint64_t escalations = cmp_proto_escalations (item);
        clock->warned =
          warned > CMP_SLA_WARNINGS ? CMP_SLA_WARNINGS : (int) warned;
        clock->escalations =
          escalations > CMP_SLA_LEVELS ? CMP_SLA_LEVELS : (int) escalations;
        if (clock->next_at
            && (!state->next_at || clock->next_at < state->next_at))
            state->next_at = clock->next_at;
        if (kind == CMP_SLA_RUNNING && clock->due_at
            && (!state->due_at || clock->due_at < state->due_at))
            state->due_at = clock->due_at;
        if (kind != CMP_SLA_STOPPED && clock->breached_at)
            state->overdue = true;
    }
}

void
cmp_sla_write (cmp_sla_t *self, cmp_sla_state_t *state, cmp_proto_t *record)
{
    assert (self);
    assert (state);
    assert (record);
    cmp_proto_set_sla_policy (record, *state->policy ? state->policy : NULL);
    int level =
      state->level < self->level_count ? state->level : self->level_count - 1;
    //  The first level is where every complaint starts: only an
    //  escalation is written (and indexed)
    cmp_proto_set_level (record,
                         level > 0 ? cmp_sla_level_name (self, level) : NULL);
    zlistx_t *clocks = cmp_proto_clocks (record);
    zlistx_purge (clocks);
    for (size_t index = 0; index < state->size; index++) {
        cmp_sla_clock_t *clock = &state->clocks[index];
        assert (clock->state >= CMP_SLA_RUNNING
                && clock->state <= CMP_SLA_STOPPED);
        cmp_proto_t *item = cmp_proto_new (CMP_PROTO_CLOCK);
        assert (item);
        cmp_proto_set_clock (item, clock->name);
        cmp_proto_set_target (item, clock->target);
        cmp_proto_set_state (item, s_clock_states[clock->state]);
        cmp_proto_set_work (item, clock->work);
        cmp_proto_set_started_at (item, clock->started_at);
        if (clock->state == CMP_SLA_RUNNING)
            cmp_proto_set_since (item, clock->since);
        cmp_proto_set_used (item, clock->used);
        cmp_proto_set_total (item, clock->total);
        if (clock->due_at)
            cmp_proto_set_due_at (item, clock->due_at);
        if (clock->next_at)
            cmp_proto_set_next_at (item, clock->next_at);
        if (clock->breached_at)
            cmp_proto_set_breached_at (item, clock->breached_at);
        if (clock->state == CMP_SLA_STOPPED) {
            cmp_proto_set_stopped_at (item, clock->stopped_at);
            cmp_proto_set_outcome (item, clock->met ? "met" : "missed");
        }
        if (clock->reminded)
            cmp_proto_set_reminded (item, true);
        if (clock->extended)
            cmp_proto_set_extended (item, true);
        if (clock->warned)
            cmp_proto_set_warned (item, (uint64_t) clock->warned);
        if (clock->escalations)
            cmp_proto_set_escalations (item, (uint64_t) clock->escalations);
        zlistx_add_end (clocks, item);
    }
}

//  --------------------------------------------------------------------------
//  Self test

//  The instant of a local time "MM-DD HH:MM[:SS]" of 2026 in Shanghai
//  (UTC+8 all year)
static int64_t
s_test_at (const char *text)
{
    int month = 0, day = 0, hour = 0, minute = 0, second = 0;
    int fields =
      sscanf (text, "%d-%d %d:%d:%d", &month, &day, &hour, &minute, &second);
    assert (fields >= 4);
    //  Days since 1970-01-01 of the date (H. Hinnant's days_from_civil)
    int year = 2026 - (month <= 2);
    int64_t era = year / 400;
    int64_t yoe = year - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * DAY_MS + hour * HOUR_MS + minute * MINUTE_MS + second * 1000
           - 8 * HOUR_MS;
}

//  Append an instant as local "MM-DD HH:MM[:SS]", or "-" for 0
static void
s_test_show (cmp_calendar_t *calendar, int64_t at, char *text, size_t size)
{
    size_t used = strlen (text);
    if (at == 0) {
        snprintf (text + used, size - used, "-");
        return;
    }
    cmp_calendar_local_t local;
    cmp_calendar_local (calendar, at, &local);
    int second = (int) (((at + local.offset) % MINUTE_MS) / 1000);
    used +=
      snprintf (text + used, size - used, "%02d-%02d %02d:%02d", local.month,
                local.day, local.minute / 60, local.minute % 60);
    if (second)
        snprintf (text + used, size - used, ":%02d", second);
}

//  Notices as "kind clock ... at[ late]; ..."
static void
s_test_notices (cmp_calendar_t *calendar,
                cmp_sla_notice_t *notices,
                int count,
                char *text,
                size_t size)
{
    *text = 0;
    for (int index = 0; index < count; index++) {
        cmp_sla_notice_t *notice = &notices[index];
        size_t used = strlen (text);
        if (index)
            used += snprintf (text + used, size - used, "; ");
        if (notice->kind == CMP_SLA_REMINDER)
            snprintf (text + used, size - used, "reminder %s ", notice->clock);
        else if (notice->kind == CMP_SLA_WARNING)
            snprintf (text + used, size - used, "warning %s %d%% ",
                      notice->clock, notice->percent);
        else if (notice->kind == CMP_SLA_BREACH)
            snprintf (text + used, size - used, "breach %s ", notice->clock);
        else if (notice->kind == CMP_SLA_ESCALATION)
            snprintf (text + used, size - used, "escalation %d>%d %s ",
                      notice->from, notice->to, notice->reason);
        else
            snprintf (text + used, size - used, "stop %s %s ", notice->clock,
                      notice->met ? "met" : "missed");
        s_test_show (calendar, notice->at, text, size);
        if (notice->late)
            snprintf (text + strlen (text), size - strlen (text), " late");
    }
}

//  A state as "L<level>[ overdue] next <at> | clock target due|paused|
//  met|missed | ..."
static void
s_test_state (cmp_calendar_t *calendar,
              cmp_sla_state_t *state,
              char *text,
              size_t size)
{
    snprintf (text, size, "L%d%s next ", state->level,
              state->overdue ? " overdue" : "");
    s_test_show (calendar, state->next_at, text, size);
    for (size_t index = 0; index < state->size; index++) {
        cmp_sla_clock_t *clock = &state->clocks[index];
        size_t used = strlen (text);
        snprintf (text + used, size - used, " | %s %s ", clock->name,
                  clock->target);
        if (clock->state == CMP_SLA_RUNNING)
            s_test_show (calendar, clock->due_at, text, size);
        else
            snprintf (text + strlen (text), size - strlen (text), "%s",
                      clock->state == CMP_SLA_PAUSED ? "paused"
                      : clock->met                   ? "met"
                                                     : "missed");
    }
}

//  One step of a scenario: at a local time, an action and the state
//  entered (or, with no action, a fire), and what must come of it
typedef struct
{
    const char *scenario; //  Starts a fresh complaint, if set
    const char *at;       //  Local time, 2026
    const char *action;   //  Action taken, NULL to fire
    const char *entered;  //  State entered
    const char *policy;   //  The complaint's case.sla
    bool emergency;       //  It is an emergency
    const char *notices;  //  Notices expected
    const char *state;    //  State expected afterwards, NULL: not checked
} s_test_step_t;

//  The shipped policies on the shipped default calendar (Mon-Fri
//  08:30-12:00 and 13:30-17:30, 7.5 working hours a day); 2026-11-18 is a
//  Wednesday. Every instant below is worked out by hand.
static const s_test_step_t s_test_steps[] = {
  //  Registration starts four clocks. The default reminder, 2 working
  //  hours, on the 24h clock: back from its due time Thu 10:00 over the
  //  night, Wed 17:00
  {"the ladder", "11-18 10:00", "register", "registered", "standard", false, "",
   "L0 next 11-18 17:00 | first_reply 24h 11-19 10:00 | initial_review 1 "
   "workday 11-19 10:00 | resolution 3 workdays 11-23 10:00 | latest 15 "
   "workdays 12-09 10:00"},
  {NULL, "11-18 11:00", "contact", "registered", "standard", false,
   "stop first_reply met 11-18 11:00",
   "L0 next 11-18 17:00 | first_reply 24h met | initial_review 1 workday "
   "11-19 10:00 | resolution 3 workdays 11-23 10:00 | latest 15 workdays "
   "12-09 10:00"},
  //  5.5 of 7.5 working hours, then 75% (5h37m30s)
  {NULL, "11-18 17:00", NULL, NULL, NULL, false,
   "reminder initial_review 11-18 17:00", NULL},
  {NULL, "11-18 17:07:30", NULL, NULL, NULL, false,
   "warning initial_review 75% 11-18 17:07:30",
   "L0 next 11-19 10:00 | first_reply 24h met | initial_review 1 workday "
   "11-19 10:00 | resolution 3 workdays 11-23 10:00 | latest 15 workdays "
   "12-09 10:00"},
  {NULL, "11-19 10:00", NULL, NULL, NULL, false,
   "breach initial_review 11-19 10:00; escalation 0>1 initial_review "
   "breached 11-19 10:00",
   "L1 overdue next 11-20 10:00 | first_reply 24h met | initial_review 1 "
   "workday 11-19 10:00 | resolution 3 workdays 11-23 10:00 | latest 15 "
   "workdays 12-09 10:00"},
  //  Twice, and earlier: nothing more
  {NULL, "11-19 10:00", NULL, NULL, NULL, false, "", NULL},
  {NULL, "11-19 09:00", NULL, NULL, NULL, false, "",
   "L1 overdue next 11-20 10:00 | first_reply 24h met | initial_review 1 "
   "workday 11-19 10:00 | resolution 3 workdays 11-23 10:00 | latest 15 "
   "workdays 12-09 10:00"},
  //  One workday (again) later, still overdue
  {NULL, "11-20 10:00", NULL, NULL, NULL, false,
   "escalation 1>2 initial_review overdue 1 workday more 11-20 10:00",
   "L2 overdue next 11-20 11:52:30 | first_reply 24h met | initial_review 1 "
   "workday 11-19 10:00 | resolution 3 workdays 11-23 10:00 | latest 15 "
   "workdays 12-09 10:00"},
  {NULL, "11-20 10:00", NULL, NULL, NULL, false, "", NULL},
  {NULL, "11-20 11:00", "assign", "assigned", "standard", false,
   "stop initial_review missed 11-20 11:00",
   "L2 next 11-20 11:52:30 | first_reply 24h met | initial_review 1 workday "
   "missed | resolution 3 workdays 11-23 10:00 | latest 15 workdays 12-09 "
   "10:00"},

  //  Everything fires in time order, late; the ladder stops at its top
  {"downtime", "11-18 10:00", "register", "registered", NULL, false, "", NULL},
  {NULL, "12-31 10:00", NULL, NULL, NULL, false,
   "reminder first_reply 11-18 17:00 late; reminder initial_review 11-18 "
   "17:00 late; warning initial_review 75% 11-18 17:07:30 late; warning "
   "first_reply 75% 11-19 04:00 late; breach first_reply 11-19 10:00 late; "
   "escalation 0>1 first_reply breached 11-19 10:00 late; breach "
   "initial_review 11-19 10:00 late; escalation 1>2 initial_review breached "
   "11-19 10:00 late; escalation 2>3 first_reply overdue 1 workday more "
   "11-20 10:00 late; warning resolution 75% 11-20 11:52:30 late; reminder "
   "resolution 11-20 17:00 late; breach resolution 11-23 10:00 late; "
   "warning latest 75% 12-03 11:52:30 late; reminder latest 12-08 17:00 "
   "late; breach latest 12-09 10:00 late",
   "L3 overdue next - | first_reply 24h 11-19 10:00 | initial_review 1 "
   "workday 11-19 10:00 | resolution 3 workdays 11-23 10:00 | latest 15 "
   "workdays 12-09 10:00"},
  {NULL, "12-31 10:00", NULL, NULL, NULL, false, "", NULL},
  {NULL, "12-31 11:00", NULL, NULL, NULL, false, "", NULL},

  //  A case handled through: waiting pauses (Thu 09:00-14:00 is 3.5
  //  working hours), the investigation is extended once, clocks stop met
  //  or missed
  {"handling", "11-18 10:00", "register", "registered", "standard", false, "",
   NULL},
  {NULL, "11-18 11:00", "assign", "assigned", "standard", false,
   "stop initial_review met 11-18 11:00", NULL},
  {NULL, "11-18 14:00", "start", "investigating", "standard", false, "",
   "L0 next 11-18 17:00 | first_reply 24h 11-19 10:00 | initial_review 1 "
   "workday met | resolution 3 workdays 11-23 10:00 | latest 15 workdays "
   "12-09 10:00 | investigation 5 workdays 11-25 14:00"},
  {NULL, "11-18 15:00", "contact", "investigating", "standard", false,
   "stop first_reply met 11-18 15:00", NULL},
  {NULL, "11-19 09:00", "request_info", "waiting", "standard", false, "",
   "L0 next - | first_reply 24h met | initial_review 1 workday met | "
   "resolution 3 workdays paused | latest 15 workdays paused | "
   "investigation 5 workdays paused"},
  {NULL, "11-19 14:00", "info_received", "investigating", "standard", false, "",
   "L0 next 11-20 16:52:30 | first_reply 24h met | initial_review 1 workday "
   "met | resolution 3 workdays 11-23 15:00 | latest 15 workdays 12-09 "
   "15:00 | investigation 5 workdays 11-25 17:30"},
  {NULL, "11-20 10:00", "extend", "investigating", "standard", false, "",
   "L0 next 11-20 16:52:30 | first_reply 24h met | initial_review 1 workday "
   "met | resolution 3 workdays 11-23 15:00 | latest 15 workdays 12-09 "
   "15:00 | investigation 10 workdays 12-02 17:30"},
  {NULL, "11-20 11:00", "extend", "investigating", "standard", false, "",
   "L0 next 11-20 16:52:30 | first_reply 24h met | initial_review 1 workday "
   "met | resolution 3 workdays 11-23 15:00 | latest 15 workdays 12-09 "
   "15:00 | investigation 10 workdays 12-02 17:30"},
  {NULL, "11-23 11:00", "propose", "proposed", "standard", false,
   "stop investigation met 11-23 11:00",
   "L0 next 11-20 16:52:30 | first_reply 24h met | initial_review 1 workday "
   "met | resolution 3 workdays 11-23 15:00 | latest 15 workdays 12-09 "
   "15:00 | investigation 10 workdays met | approval 2 workdays 11-25 "
   "11:00"},
  {NULL, "11-23 11:00", NULL, NULL, NULL, false,
   "warning resolution 75% 11-20 16:52:30 late", NULL},
  {NULL, "11-24 10:00", "approve", "approved", "standard", false,
   "stop approval met 11-24 10:00", NULL},
  {NULL, "11-24 11:00", "tell", "told", "standard", false,
   "stop decision_told met 11-24 11:00", NULL},
  {NULL, "11-24 15:00", "resolve", "resolved", "standard", false,
   "stop resolution missed 11-24 15:00; stop latest met 11-24 15:00",
   "L0 next 11-29 21:00 | first_reply 24h met | initial_review 1 workday "
   "met | resolution 3 workdays missed | latest 15 workdays met | "
   "investigation 10 workdays met | approval 2 workdays met | "
   "decision_told 2 workdays met | follow_up 7d 12-01 15:00"},

  //  An emergency starts at the top, with the emergency policy's clocks
  {"emergency", "11-18 10:00", "register", "registered", "standard", true,
   "escalation 0>3 emergency 11-18 10:00",
   "L3 next 11-18 17:00 | first_reply 72h 11-21 10:00 | initial_review 1 "
   "workday 11-19 10:00 | resolution 7 workdays 11-27 10:00 | latest 15 "
   "workdays 12-09 10:00 | emergency_response 24h 11-19 10:00"},
  {NULL, "11-19 10:00", NULL, NULL, NULL, false,
   "reminder initial_review 11-18 17:00 late; warning initial_review 75% "
   "11-18 17:07:30 late; warning emergency_response 50% 11-18 22:00 late; "
   "warning emergency_response 75% 11-19 04:00 late; reminder "
   "emergency_response 11-19 06:00 late; breach initial_review 11-19 10:00; "
   "breach emergency_response 11-19 10:00",
   "L3 overdue next 11-20 15:30 | first_reply 72h 11-21 10:00 | "
   "initial_review 1 workday 11-19 10:00 | resolution 7 workdays 11-27 "
   "10:00 | latest 15 workdays 12-09 10:00 | emergency_response 24h 11-19 "
   "10:00"},

  //  A reclassification keeps the clocks, with the new targets from
  //  their start; an unknown policy is the default one
  {"switch", "11-18 10:00", "register", "registered", "no_such_policy", false,
   "", NULL},
  {NULL, "11-18 11:00", "reclassify", "registered", "serious", false, "",
   "L0 next 11-18 17:00 | first_reply 72h 11-21 10:00 | initial_review 1 "
   "workday 11-19 10:00 | resolution 7 workdays 11-27 10:00 | latest 15 "
   "workdays 12-09 10:00"},
  //  A retriage that finds an emergency climbs to the top
  {NULL, "11-18 12:00", "retriage", "triaged", "serious", true,
   "escalation 0>3 emergency 11-18 12:00",
   "L3 next 11-18 17:00 | first_reply 72h 11-21 10:00 | initial_review 1 "
   "workday 11-19 10:00 | resolution 7 workdays 11-27 10:00 | latest 15 "
   "workdays 12-09 10:00"},
  {NULL, NULL, NULL, NULL, NULL, false, NULL, NULL}};

//  Policies from text that must be refused with exactly this error
static int
s_test_refused (const char *text, zhashx_t *calendars, const char *expected)
{
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    cmp_sla_t *self =
      cmp_sla_new ("bad.yaml", text, strlen (text), calendars, errors);
    bool found = false;
    for (char *error = (char *) zlist_first (errors); error;
         error = (char *) zlist_next (errors))
        found |= streq (error, expected);
    if (self || !found) {
        printf ("\nexpected the error:\n  %s\ngot:\n", expected);
        for (char *error = (char *) zlist_first (errors); error;
             error = (char *) zlist_next (errors))
            printf ("  %s\n", error);
    }
    int failed = self || !found;
    cmp_sla_destroy (&self);
    zlist_destroy (&errors);
    return failed;
}

//  A policies file's head: the default policy, a ladder, and policy p
//  (lines 1 to 7); the clock follows on line 8
#define HEAD                                                                   \
    "default: p\n"                                                             \
    "escalation:\n"                                                            \
    "  levels:\n"                                                              \
    "    - name: handler\n"                                                    \
    "    - name: head\n"                                                       \
    "policies:\n"                                                              \
    "  p:\n"
#define CLOCK "    c:\n      target: 24h\n      start: [register]\n"

static const struct
{
    const char *text;     //  Policies file
    const char *expected; //  One of its errors
} s_test_errors[] = {
  {"colour: red\n" HEAD CLOCK,
   "bad.yaml:1: the policies file: unknown key \"colour\" (known: version, "
   "calendar, remind, late_after, default, emergency, escalation, "
   "policies)"},
  {HEAD "    c:\n      target: 3 weeks\n      start: [register]\n",
   "bad.yaml:9: policy \"p\": clock \"c\": target: \"3 weeks\" is not a "
   "duration (90m, 24h, 7d, 2 work hours, 30 work minutes, 3 workdays)"},
  {HEAD "    c:\n      target: 0\n      start: [register]\n",
   "bad.yaml:9: policy \"p\": clock \"c\": target: \"0\" is not a duration "
   "(90m, 24h, 7d, 2 work hours, 30 work minutes, 3 workdays)"},
  {HEAD "    c:\n      start: [register]\n",
   "bad.yaml:9: policy \"p\": clock \"c\": needs a target"},
  {HEAD "    c:\n      target: 24h\n      start: [register, sneeze]\n",
   "bad.yaml:10: policy \"p\": clock \"c\": start: \"sneeze\" is not a state "
   "or an action"},
  {HEAD CLOCK "      stop: closed\n      pause: [waiting, contact]\n",
   "bad.yaml:12: policy \"p\": clock \"c\": pause: \"contact\" is not a "
   "state"},
  {HEAD CLOCK "      colour: red\n",
   "bad.yaml:11: policy \"p\": clock \"c\": unknown key \"colour\" (known: "
   "target, extended, start, stop, pause, resume, warnings, remind)"},
  {HEAD CLOCK "      start: [register]\n",
   "bad.yaml:11: policy \"p\": clock \"c\": key \"start\" appears twice"},
  {HEAD CLOCK "      warnings: [50%, 100%]\n",
   "bad.yaml:11: policy \"p\": clock \"c\": warnings: \"100%\" is not a "
   "percent from 1% to 99%"},
  {HEAD CLOCK "      warnings: [10%, 20%, 30%, 40%, 50%]\n",
   "bad.yaml:11: policy \"p\": clock \"c\": warnings: more than 4 points"},
  {HEAD CLOCK "      remind: soon\n",
   "bad.yaml:11: policy \"p\": clock \"c\": remind: \"soon\" is not a "
   "duration (90m, 24h, 7d, 2 work hours, 30 work minutes, 3 workdays, or "
   "0)"},
  {HEAD CLOCK "      extended: 5 workdays\n",
   "bad.yaml:11: policy \"p\": clock \"c\": extended: \"5 workdays\" must "
   "count the same time (calendar or working) as the target \"24h\""},
  {HEAD "    a_clock_name_that_is_forty_eight_bytes_long_xxxx:\n"
        "      target: 24h\n      start: [register]\n",
   "bad.yaml:8: policy \"p\": clock name "
   "\"a_clock_name_that_is_forty_eight_bytes_long_xxxx\" must be 1 to 47 "
   "bytes without control characters"},
  {"default: q\nescalation: {levels: [{name: a}]}\npolicies: {p: {}}\n",
   "bad.yaml:1: default: policy \"q\" is not defined"},
  {"emergency: e\n" HEAD CLOCK,
   "bad.yaml:1: emergency: policy \"e\" is not defined"},
  {"escalation: {levels: [{name: a}]}\npolicies: {p: {}}\n",
   "bad.yaml:1: needs default: the policy of a complaint that names none"},
  {"calendar: office\n" HEAD CLOCK,
   "bad.yaml:1: calendar \"office\" is not defined in the calendars file"},
  {"late_after: 2 work hours\n" HEAD CLOCK,
   "bad.yaml:1: late_after: \"2 work hours\" must be calendar time (90m, "
   "24h, 7d)"},
  {HEAD "    extends: q\n" CLOCK,
   "bad.yaml:8: policy \"p\": extends: policy \"q\" is not defined"},
  {HEAD "    extends: p\n" CLOCK, "bad.yaml:8: policy \"p\": extends itself"},
  {HEAD "    extends: r\n" CLOCK "  r:\n    extends: p\n",
   "bad.yaml:13: policy \"r\": extends \"p\", which leads back to \"r\""},
  {"default: p\nescalation:\n  levels: []\npolicies: {p: {}}\n",
   "bad.yaml:3: escalation.levels must be a list of 1 to 8 levels (- name: "
   "...)"},
  {"default: p\nescalation:\n  levels: [{name: a}, {name: b}, {name: c}, "
   "{name: d}, {name: e}, {name: f}, {name: g}, {name: h}, {name: i}]\n"
   "policies: {p: {}}\n",
   "bad.yaml:3: escalation.levels: 9 levels, more than 8"},
  {"default: p\nescalation:\n  levels: [{name: a}, {name: a}]\n"
   "policies: {p: {}}\n",
   "bad.yaml:3: escalation.levels[1]: level \"a\" appears twice"},
  {"default: p\nescalation:\n  again: soon\n  levels: [{name: a}]\n"
   "policies: {p: {}}\n",
   "bad.yaml:3: escalation.again: \"soon\" is not a duration (90m, 24h, 7d, "
   "2 work hours, 30 work minutes, 3 workdays, or 0)"},
  {"default: p\nescalation: {levels: [{name: a}]}\npolicies: {}\n",
   "bad.yaml:3: policies must map each policy's name to its clocks"},
  {NULL, NULL}};

void
cmp_sla_test (bool verbose)
{
    printf (" * cmp_sla: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    //  The shipped calendars and policies
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    cmp_yaml_t *yaml = cmp_yaml_new ("calendars", cmp_shipped_calendars,
                                     strlen (cmp_shipped_calendars), errors);
    assert (yaml);
    cmp_calendar_t *calendar = cmp_calendar_new (
      yaml,
      cmp_yaml_get (yaml,
                    cmp_yaml_get (yaml, cmp_yaml_root (yaml), "calendars"),
                    "default"),
      "default");
    assert (calendar);
    cmp_yaml_destroy (&yaml);
    zhashx_t *calendars = zhashx_new ();
    assert (calendars);
    zhashx_insert (calendars, "default", calendar);
    cmp_sla_t *self = cmp_sla_new ("sla.yaml", cmp_shipped_sla,
                                   strlen (cmp_shipped_sla), calendars, errors);
    for (char *error = (char *) zlist_first (errors); error;
         error = (char *) zlist_next (errors))
        printf ("%s\n", error);
    fflush (stdout);
    assert (self);
    assert (cmp_sla_size (self) == 4);
    assert (cmp_sla_known (self, "standard")
            && cmp_sla_known (self, "serious"));
    assert (!cmp_sla_known (self, "nothing") && !cmp_sla_known (self, NULL));
    assert (cmp_sla_calendar (self) == calendar);
    assert (strncmp (cmp_sla_version (self), "shipped-2026.11#", 16) == 0);
    assert (strlen (cmp_sla_version (self)) == 16 + 12);
    assert (cmp_sla_levels (self) == 4);
    assert (streq (cmp_sla_level_name (self, 1), "department_head"));
    assert (cmp_sla_level_find (self, "executive") == 3);
    assert (cmp_sla_level_find (self, "nobody") == -1);
    assert (
      streq ((char *) zlist_first (cmp_sla_level_notify (self, 0)), "handler"));

    //  The scenarios
    cmp_sla_notice_t *notices =
      (cmp_sla_notice_t *) malloc (CMP_SLA_NOTICES * sizeof (cmp_sla_notice_t));
    assert (notices);
    cmp_sla_state_t state;
    char got[2048], shown[2048];
    int failures = 0;
    const char *scenario = NULL;
    for (const s_test_step_t *step = s_test_steps; step->at; step++) {
        if (step->scenario) {
            memset (&state, 0, sizeof (state));
            scenario = step->scenario;
        }
        int64_t now = s_test_at (step->at);
        int count = step->action
                      ? cmp_sla_on (self, &state, step->policy, step->emergency,
                                    step->action, step->entered, now, notices)
                      : cmp_sla_fire (self, &state, now, notices);
        assert (count >= 0 && count <= CMP_SLA_NOTICES);
        s_test_notices (calendar, notices, count, got, sizeof (got));
        s_test_state (calendar, &state, shown, sizeof (shown));
        bool failed = !streq (got, step->notices)
                      || (step->state && !streq (shown, step->state));
        if (failed || verbose)
            printf ("%s%s, %s %s %s:\n  notices  %s\n  state    %s\n",
                    failed ? "\nFAILED: " : "", scenario, step->at,
                    step->action ? step->action : "fire",
                    step->entered ? step->entered : "", got, shown);
        if (failed)
            printf ("  expected %s\n  state    %s\n", step->notices,
                    step->state ? step->state : "(not checked)");
        failures += failed;
        //  The record holds what the state holds
        if (!step->action || !step[1].at || step[1].scenario) {
            cmp_proto_t *record = cmp_proto_new (CMP_PROTO_COMPLAINT);
            cmp_sla_write (self, &state, record);
            zchunk_t *chunk = cmp_proto_encode_map (record);
            cmp_proto_destroy (&record);
            record = cmp_proto_decode_map (
              CMP_PROTO_COMPLAINT, zchunk_data (chunk), zchunk_size (chunk));
            zchunk_destroy (&chunk);
            assert (record);
            cmp_sla_state_t copy;
            cmp_sla_read (self, record, &copy);
            cmp_proto_destroy (&record);
            bool same = copy.size == state.size && copy.level == state.level
                        && streq (copy.policy, state.policy)
                        && copy.next_at == state.next_at
                        && copy.due_at == state.due_at
                        && memcmp (copy.clocks, state.clocks,
                                   state.size * sizeof (cmp_sla_clock_t))
                             == 0;
            if (!same)
                printf ("\nFAILED: %s, %s: the record does not hold the "
                        "state\n",
                        scenario, step->at);
            failures += !same;
        }
    }
    fflush (stdout);
    assert (failures == 0);

    //  Time used and remaining: the resolution clock, 22.5 working hours,
    //  at Thu 10:00 has used Wed's 6 and Thu's 1.5
    memset (&state, 0, sizeof (state));
    int count = cmp_sla_on (self, &state, "standard", false, "register",
                            "registered", s_test_at ("11-18 10:00"), notices);
    assert (count == 0 && state.size == 4);
    cmp_sla_clock_t *clock = &state.clocks[2];
    assert (streq (clock->name, "resolution") && clock->work);
    assert (clock->total == 22 * HOUR_MS + 30 * MINUTE_MS);
    int64_t used, remaining;
    cmp_sla_measure (self, clock, s_test_at ("11-19 10:00"), &used, &remaining);
    assert (used == 7 * HOUR_MS + 30 * MINUTE_MS);
    assert (remaining == 15 * HOUR_MS);
    cmp_sla_measure (self, clock, s_test_at ("11-24 10:00"), &used, &remaining);
    assert (remaining == -7 * HOUR_MS - 30 * MINUTE_MS);
    clock = &state.clocks[0];
    cmp_sla_measure (self, clock, s_test_at ("11-18 09:00"), &used, &remaining);
    assert (used == 0 && remaining == DAY_MS);
    cmp_sla_destroy (&self);

    //  A switch drops the clocks the new policy lacks; a calendar clock
    //  with a working target counts its time used again
    const char *text = "default: a\n"
                       "escalation: {levels: [{name: one}, {name: two}]}\n"
                       "policies:\n"
                       "  a:\n"
                       "    x: {target: 1h, start: register, warnings: []}\n"
                       "    y: {target: 4h, start: register, warnings: []}\n"
                       "  b:\n"
                       "    y: {target: 2 work hours, start: register,\n"
                       "        remind: 30m, warnings: [50%]}\n";
    self = cmp_sla_new ("ab.yaml", text, strlen (text), calendars, errors);
    assert (self);
    assert (strncmp (cmp_sla_version (self), "sla#", 4) == 0);
    memset (&state, 0, sizeof (state));
    count = cmp_sla_on (self, &state, "a", false, "register", "registered",
                        s_test_at ("11-18 11:00"), notices);
    s_test_state (calendar, &state, shown, sizeof (shown));
    assert (streq (shown, "L0 next 11-18 12:00 | x 1h 11-18 12:00 | y 4h "
                          "11-18 15:00"));
    count = cmp_sla_fire (self, &state, s_test_at ("11-18 12:00"), notices);
    s_test_notices (calendar, notices, count, got, sizeof (got));
    assert (streq (got, "breach x 11-18 12:00; escalation 0>1 x breached "
                        "11-18 12:00"));
    //  y, 1.5h of elapsed time used at 12:30, counts working time from
    //  its start: 2 working hours from Wed 11:00 are due at 14:30, and its
    //  50% point (1 working hour) was at 12:00
    count = cmp_sla_on (self, &state, "b", false, "reclassify", "registered",
                        s_test_at ("11-18 12:30"), notices);
    assert (count == 0);
    s_test_state (calendar, &state, shown, sizeof (shown));
    if (!streq (shown, "L1 next 11-18 12:00 | y 2 work hours 11-18 14:30"))
        printf ("\nswitch: %s\n", shown);
    fflush (stdout);
    assert (streq (shown, "L1 next 11-18 12:00 | y 2 work hours 11-18 14:30"));
    //  The 50% point passed before the switch; the reminder is 30m of
    //  elapsed time before due, 30 working minutes
    count = cmp_sla_fire (self, &state, s_test_at ("11-18 14:00"), notices);
    s_test_notices (calendar, notices, count, got, sizeof (got));
    if (!streq (got, "warning y 50% 11-18 12:00 late; reminder y 11-18 14:00"))
        printf ("\nswitch: %s\n", got);
    fflush (stdout);
    assert (
      streq (got, "warning y 50% 11-18 12:00 late; reminder y 11-18 14:00"));
    cmp_sla_destroy (&self);
    free (notices);

    //  Errors name the file, the line, the key and the value
    self =
      cmp_sla_load ("tests/selftest-rw/no-such-file.yaml", calendars, errors);
    assert (self == NULL);
    assert (strstr ((char *) zlist_last (errors), "cannot be read"));
    failures = 0;
    for (int index = 0; s_test_errors[index].text; index++)
        failures += s_test_refused (s_test_errors[index].text, calendars,
                                    s_test_errors[index].expected);
    //  A working target needs the calendar
    failures += s_test_refused (
      HEAD "    c:\n      target: 1 workday\n      start: [register]\n", NULL,
      "bad.yaml:1: calendar \"default\" is not defined in the calendars "
      "file");
    //  Thirteen clocks, and twelve with one more from a parent
    char many[2048] = HEAD;
    for (int index = 0; index < 13; index++)
        snprintf (many + strlen (many), sizeof (many) - strlen (many),
                  "    c%d: {target: 1h, start: register}\n", index);
    failures += s_test_refused (
      many, calendars, "bad.yaml:20: policy \"p\": more than 12 clocks");
    snprintf (many, sizeof (many), "%s",
              HEAD "    extends: r\n" CLOCK "  r:\n");
    for (int index = 0; index < 12; index++)
        snprintf (many + strlen (many), sizeof (many) - strlen (many),
                  "    r%d: {target: 1h, start: register}\n", index);
    failures += s_test_refused (many, calendars,
                                "bad.yaml:8: policy \"p\": more than 12 "
                                "clocks with those of \"r\"");
    fflush (stdout);
    assert (failures == 0);
    zhashx_destroy (&calendars);
    cmp_calendar_destroy (&calendar);
    zlist_destroy (&errors);
    //  @end
    printf ("OK\n");
}
