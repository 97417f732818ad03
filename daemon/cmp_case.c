/*  =========================================================================
    cmp_case - the complaint's life: states, actions, roles and history

    s_actions is the one transition table. A row names an action, the
    states it applies in, where it leads, the roles that may take it, and
    the ACT fields it needs and allows. Guards that depend on more than the
    state (a handler must be set, nobody approves their own proposal, an
    investigation is extended once) sit in s_guard, next to it.
    =========================================================================
*/

#include "cmp_classes.h"

//  States of a complaint
typedef enum
{
    ST_REGISTERED,
    ST_TRIAGED,
    ST_ASSIGNED,
    ST_INVESTIGATING,
    ST_WAITING,
    ST_PROPOSED,
    ST_APPROVED,
    ST_TOLD,
    ST_ACCEPTED,
    ST_REJECTED,
    ST_RESOLVED,
    ST_RESOLVED_ON_SPOT,
    ST_FOLLOWED_UP,
    ST_CLOSED,
    ST_WITHDRAWN,
    ST_MERGED,
    ST_REFERRED,
    ST_ARCHIVED,
    ST_PURGED,
    ST_COUNT
} s_state_t;

static const char *s_state_names[ST_COUNT] = {
  "registered", "triaged",          "assigned",    "investigating", "waiting",
  "proposed",   "approved",         "told",        "accepted",      "rejected",
  "resolved",   "resolved_on_spot", "followed_up", "closed",        "withdrawn",
  "merged",     "referred",         "archived",    "purged"};

#define B(state) (1u << (state))

//  Every state in which the case is still being handled
#define OPEN                                                                   \
    (B (ST_REGISTERED) | B (ST_TRIAGED) | B (ST_ASSIGNED)                      \
     | B (ST_INVESTIGATING) | B (ST_WAITING) | B (ST_PROPOSED)                 \
     | B (ST_APPROVED) | B (ST_TOLD) | B (ST_ACCEPTED) | B (ST_REJECTED))

//  Every state but archived and purged
#define LIVE ((B (ST_COUNT) - 1) & ~B (ST_ARCHIVED) & ~B (ST_PURGED))

//  Roles
typedef enum
{
    R_ADAPTER,
    R_AGENT,
    R_SUPERVISOR,
    R_AUDITOR,
    R_ADMIN,
    R_SYSTEM,
    R_COUNT
} s_role_t;

static const char *s_role_names[R_COUNT] = {"adapter", "agent", "supervisor",
                                            "auditor", "admin", "system"};

#define R(role) (1u << (role))
#define STAFF (R (R_AGENT) | R (R_SUPERVISOR))

//  Who may read complaints and their history, and who may submit
#define READERS (R (R_AGENT) | R (R_SUPERVISOR) | R (R_AUDITOR) | R (R_ADMIN))
#define SUBMITTERS (R (R_ADAPTER) | R (R_AGENT) | R (R_SUPERVISOR))

//  Where an action leads, besides a state
#define TO_SAME -1       //  The state does not change
#define TO_ANSWER -2     //  accepted or rejected, after the answer
#define TO_REOPEN -3     //  assigned, or registered when no department is set
#define TO_CLASSIFIED -4 //  triaged from registered once classified; else same

typedef enum
{
    A_TRIAGE,
    A_ASSIGN,
    A_RECUSE,
    A_START,
    A_REQUEST_INFO,
    A_INFO_RECEIVED,
    A_NOTE,
    A_CONTACT,
    A_PROPOSE,
    A_APPROVE,
    A_REJECT_PROPOSAL,
    A_TELL,
    A_ANSWER,
    A_RESOLVE,
    A_RESOLVE_ON_SPOT,
    A_FOLLOW_UP,
    A_CLOSE,
    A_REOPEN,
    A_WITHDRAW,
    A_MERGE,
    A_REFER,
    A_EXTEND,
    A_RECLASSIFY,
    A_RETRIAGE,
    A_ARCHIVE,
    A_PURGE,
    A_COUNT
} s_action_id_t;

typedef struct
{
    s_action_id_t id;     //  A_ constant
    const char *name;     //  Name on the wire
    uint32_t from;        //  States it applies in (B bits)
    int to;               //  State it leads to, or TO_ constant
    uint32_t roles;       //  Roles that may take it (R bits)
    const char *required; //  ACT fields it needs, space-separated
    const char *optional; //  ACT fields it also allows
    const char *doc;      //  What it means, for the printed table
} s_action_t;

static const s_action_t s_actions[A_COUNT] = {
  {A_TRIAGE, "triage", B (ST_REGISTERED) | B (ST_TRIAGED), ST_TRIAGED, STAFF,
   "category", "severity priority", "classify and assess (分类、评估)"},
  {A_ASSIGN, "assign", B (ST_REGISTERED) | B (ST_TRIAGED) | B (ST_ASSIGNED),
   ST_ASSIGNED, STAFF, "department", "handler",
   "give to a department, and a handler in it (指定处理人员)"},
  {A_RECUSE, "recuse", B (ST_ASSIGNED) | B (ST_INVESTIGATING) | B (ST_WAITING),
   ST_ASSIGNED, STAFF, "reason", "",
   "the handler steps aside (回避); back to the department's queue"},
  {A_START, "start", B (ST_ASSIGNED) | B (ST_REJECTED), ST_INVESTIGATING, STAFF,
   "", "text", "start (or restart) the investigation (调查核实)"},
  {A_REQUEST_INFO, "request_info", B (ST_INVESTIGATING), ST_WAITING, STAFF,
   "text", "", "ask the complainant for material; the clocks pause"},
  {A_INFO_RECEIVED, "info_received", B (ST_WAITING), ST_INVESTIGATING, STAFF,
   "", "text", "the material arrived; the clocks resume"},
  {A_NOTE, "note", LIVE, TO_SAME, STAFF, "text", "", "an internal note"},
  {A_CONTACT, "contact", LIVE, TO_SAME, STAFF, "direction channel summary", "",
   "log a contact with the complainant (communication log)"},
  {A_PROPOSE, "propose", B (ST_INVESTIGATING), ST_PROPOSED, STAFF, "text",
   "kind amount currency", "propose a solution (处理方案)"},
  {A_APPROVE, "approve", B (ST_PROPOSED), ST_APPROVED, R (R_SUPERVISOR), "",
   "text", "approve the proposal (报请审批); not one's own"},
  {A_REJECT_PROPOSAL, "reject_proposal", B (ST_PROPOSED), ST_INVESTIGATING,
   R (R_SUPERVISOR), "reason", "", "send the proposal back"},
  {A_TELL, "tell", B (ST_PROPOSED) | B (ST_APPROVED), ST_TOLD, STAFF, "",
   "text channel",
   "the decision was told (反馈); from proposed only without compensation"},
  {A_ANSWER, "answer", B (ST_TOLD), TO_ANSWER, STAFF, "accepted", "reason",
   "the complainant accepts, or rejects with a reason"},
  {A_RESOLVE, "resolve", B (ST_ACCEPTED), ST_RESOLVED, STAFF, "", "text",
   "the accepted decision was carried out"},
  {A_RESOLVE_ON_SPOT, "resolve_on_spot", B (ST_REGISTERED) | B (ST_TRIAGED),
   ST_RESOLVED_ON_SPOT, STAFF, "text", "",
   "solved at first contact (当场解决); straight to follow-up"},
  {A_FOLLOW_UP, "follow_up", B (ST_RESOLVED) | B (ST_RESOLVED_ON_SPOT),
   ST_FOLLOWED_UP, STAFF, "satisfaction", "comment",
   "satisfaction 1-5 (回访); below cases/reopen_below it reopens"},
  {A_CLOSE, "close", B (ST_FOLLOWED_UP) | B (ST_REJECTED) | B (ST_REFERRED),
   ST_CLOSED, STAFF, "reason", "", "close the case"},
  {A_REOPEN, "reopen",
   B (ST_RESOLVED) | B (ST_RESOLVED_ON_SPOT) | B (ST_FOLLOWED_UP)
     | B (ST_CLOSED),
   TO_REOPEN, STAFF, "reason", "",
   "handle again: assigned, or registered without a department"},
  {A_WITHDRAW, "withdraw", OPEN, ST_WITHDRAWN, STAFF, "reason", "",
   "the complainant withdrew the complaint"},
  {A_MERGE, "merge",
   B (ST_REGISTERED) | B (ST_TRIAGED) | B (ST_ASSIGNED) | B (ST_INVESTIGATING)
     | B (ST_WAITING),
   ST_MERGED, STAFF, "into", "reason",
   "a duplicate: merged into complaint number \"into\""},
  {A_REFER, "refer", B (ST_INVESTIGATING) | B (ST_TOLD) | B (ST_REJECTED),
   ST_REFERRED, STAFF, "route", "text",
   "handed to an outside route: mediation, regulator, appraisal, court"},
  {A_EXTEND, "extend", B (ST_INVESTIGATING) | B (ST_WAITING), TO_SAME,
   R (R_SUPERVISOR), "reason", "", "extend the investigation, once"},
  {A_RECLASSIFY, "reclassify", OPEN, TO_CLASSIFIED, R (R_SUPERVISOR), "reason",
   "category subcategory severity impact priority sla",
   "correct the triage by hand; what is given replaces what the rules set"},
  {A_RETRIAGE, "retriage", B (ST_REGISTERED) | B (ST_TRIAGED), TO_CLASSIFIED,
   R (R_SUPERVISOR), "", "reason",
   "triage again by the rules now loaded (after a rules change)"},
  {A_ARCHIVE, "archive", B (ST_CLOSED) | B (ST_WITHDRAWN) | B (ST_MERGED),
   ST_ARCHIVED, R (R_ADMIN) | R (R_SYSTEM), "", "reason",
   "move to the archive (归档); stays readable"},
  {A_PURGE, "purge", B (ST_ARCHIVED), ST_PURGED, R (R_SYSTEM), "", "reason",
   "after archive/keep, if archive/purge is on: only the number stays"}};

//  Priorities, most urgent first (the triage's)
#define PRIORITIES CMP_TRIAGE_PRIORITIES

//  How an ACT field's value is checked
typedef enum
{
    V_TEXT,     //  Short text, limits/text
    V_NOTE,     //  Longer text, limits/note
    V_ENUM,     //  One of the listed words
    V_CURRENCY, //  ISO 4217 code: three capital letters
    V_AMOUNT,   //  Unsigned integer, minor units
    V_BOOL,     //  true or false
    V_SCORE     //  1 to 5
} s_check_t;

static const struct
{
    const char *key;    //  ACT field
    s_check_t check;    //  How its value is checked
    const char *values; //  V_ENUM: the words allowed
} s_fields[] = {{"department", V_TEXT, NULL},
                {"handler", V_TEXT, NULL},
                {"category", V_TEXT, NULL},
                {"severity", V_ENUM, CMP_TRIAGE_SEVERITIES},
                {"subcategory", V_TEXT, NULL},
                {"impact", V_ENUM, CMP_TRIAGE_IMPACTS},
                {"sla", V_TEXT, NULL},
                {"priority", V_ENUM, PRIORITIES},
                {"reason", V_NOTE, NULL},
                {"text", V_NOTE, NULL},
                {"direction", V_ENUM, "in out"},
                {"channel", V_ENUM, "phone email web counter letter social"},
                {"summary", V_NOTE, NULL},
                {"kind", V_ENUM, "refund voucher free_service apology other"},
                {"amount", V_AMOUNT, NULL},
                {"currency", V_CURRENCY, NULL},
                {"accepted", V_BOOL, NULL},
                {"satisfaction", V_SCORE, NULL},
                {"comment", V_NOTE, NULL},
                {"into", V_TEXT, NULL},
                {"route", V_ENUM, "mediation regulator appraisal court"},
                {NULL, V_TEXT, NULL}};

//  Structure of our class

struct _cmp_case_t
{
    zhashx_t *roles;       //  actor -> role name (static string)
    size_t text_max;       //  limits/text
    size_t note_max;       //  limits/note
    size_t contacts_max;   //  limits/contacts
    uint64_t reopen_below; //  cases/reopen_below
};

cmp_case_t *
cmp_case_new (cmp_config_t *config)
{
    cmp_case_t *self = (cmp_case_t *) zmalloc (sizeof (cmp_case_t));
    assert (self);
    self->roles = zhashx_new ();
    assert (self->roles);
    for (int role = 0; role < R_SYSTEM; role++) {
        char key[32];
        snprintf (key, sizeof (key), "roles/%s", s_role_names[role]);
        char *names = strdup (cmp_config_string (config, key));
        assert (names);
        char *state = NULL;
        for (char *name = strtok_r (names, " ,", &state); name;
             name = strtok_r (NULL, " ,", &state))
            zhashx_insert (self->roles, name, (void *) s_role_names[role]);
        free (names);
    }
    self->text_max = (size_t) cmp_config_number (config, "limits/text");
    self->note_max = (size_t) cmp_config_number (config, "limits/note");
    self->contacts_max = (size_t) cmp_config_number (config, "limits/contacts");
    self->reopen_below =
      (uint64_t) cmp_config_number (config, "cases/reopen_below");
    return self;
}

void
cmp_case_destroy (cmp_case_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_case_t *self = *self_p;
        zhashx_destroy (&self->roles);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Lookups

static int
s_state (const char *name)
{
    for (int state = 0; state < ST_COUNT && name; state++)
        if (streq (s_state_names[state], name))
            return state;
    return -1;
}

static const s_action_t *
s_action (const char *name)
{
    for (int index = 0; index < A_COUNT && name; index++)
        if (streq (s_actions[index].name, name))
            return &s_actions[index];
    return NULL;
}

static int
s_role (const char *name)
{
    for (int role = 0; role < R_COUNT && name; role++)
        if (streq (s_role_names[role], name))
            return role;
    return -1;
}

//  True if word is one of the space-separated words of list
static bool
s_listed (const char *list, const char *word)
{
    size_t size = strlen (word);
    if (size == 0 || strchr (word, ' '))
        return false;
    for (const char *at = list; (at = strstr (at, word)); at += size)
        if ((at == list || at[-1] == ' ') && (at[size] == ' ' || at[size] == 0))
            return true;
    return false;
}

bool
cmp_case_state_known (const char *name)
{
    return s_state (name) >= 0;
}

bool
cmp_case_priority_known (const char *name)
{
    return name && s_listed (PRIORITIES, name);
}

//  The string value of an ACT field, NULL if absent or empty
static const char *
s_act_string (cmp_proto_t *act, const char *key)
{
    const char *value = cmp_proto_string (act, key);
    return value && *value ? value : NULL;
}

static bool
s_act_present (cmp_proto_t *act, const char *key)
{
    return s_act_string (act, key) != NULL || cmp_proto_has (act, key);
}

//  "a, b, c": the roles of a bit set
static void
s_role_list (uint32_t roles, char *text, size_t size)
{
    *text = 0;
    for (int role = 0; role < R_SYSTEM; role++)
        if (roles & R (role))
            snprintf (text + strlen (text), size - strlen (text), "%s%s",
                      *text ? ", " : "", s_role_names[role]);
    if (roles & R (R_SYSTEM))
        snprintf (text + strlen (text), size - strlen (text), "%s%s",
                  *text ? ", or " : "", "the daemon itself");
}

//  --------------------------------------------------------------------------
//  Roles

const char *
cmp_case_role (cmp_case_t *self, const char *actor)
{
    assert (self);
    if (!actor)
        return NULL;
    if (streq (actor, CMP_CASE_SYSTEM))
        return s_role_names[R_SYSTEM];
    return (const char *) zhashx_lookup (self->roles, actor);
}

//  Check the actor a request names: present, printable, and not the
//  daemon's own name (which only the daemon's own requests carry)
static int
s_actor_check (const char *actor, cmp_proto_fault_t *fault)
{
    if (!actor || !*actor)
        return cmp_proto_fault (fault, CMP_STATUS_INVALID, "actor",
                                "actor: required: who is sending this request");
    long bad = cmp_proto_control_at (actor, false);
    if (bad >= 0)
        return cmp_proto_fault (fault, CMP_STATUS_INVALID, "actor",
                                "actor: control character 0x%02x at byte %ld",
                                (byte) actor[bad], bad);
    if (streq (actor, CMP_CASE_SYSTEM))
        return cmp_proto_fault (fault, CMP_STATUS_FORBIDDEN, "actor",
                                "actor: \"%s\" is the daemon itself; requests "
                                "must name another actor",
                                CMP_CASE_SYSTEM);
    return 0;
}

//  Check actor's role against a bit set of roles allowed to do what
static int
s_may (cmp_case_t *self,
       const char *actor,
       uint32_t roles,
       const char *what,
       cmp_proto_fault_t *fault)
{
    if (!actor || !*actor)
        return cmp_proto_fault (fault, CMP_STATUS_INVALID, "actor",
                                "actor: required: who is sending this request");
    const char *role = cmp_case_role (self, actor);
    char allowed[80];
    s_role_list (roles, allowed, sizeof (allowed));
    if (!role)
        return cmp_proto_fault (
          fault, CMP_STATUS_FORBIDDEN, "actor",
          "actor: \"%.64s\" has no role (the roles/ keys of the "
          "configuration); %s needs %s",
          actor, what, allowed);
    if (!(roles & R (s_role (role))))
        return cmp_proto_fault (fault, CMP_STATUS_FORBIDDEN, "actor",
                                "actor: \"%.64s\" is %s; %s needs %s", actor,
                                role, what, allowed);
    return 0;
}

int
cmp_case_may (cmp_case_t *self,
              const char *actor,
              const char *action,
              cmp_proto_fault_t *fault)
{
    assert (self);
    assert (fault);
    if (s_actor_check (actor, fault))
        return -1;
    if (streq (action, "read"))
        return s_may (self, actor, READERS, "reading", fault);
    if (streq (action, "submit"))
        return s_may (self, actor, SUBMITTERS, "submit", fault);
    if (streq (action, "reload") || streq (action, "tick"))
        return s_may (self, actor, R (R_ADMIN), action, fault);
    const s_action_t *row = s_action (action);
    assert (row);
    return s_may (self, actor, row->roles, row->name, fault);
}

//  --------------------------------------------------------------------------
//  Checking an ACT by itself

static int
s_check_value (cmp_case_t *self,
               cmp_proto_t *act,
               int index,
               cmp_proto_fault_t *fault)
{
    const char *key = s_fields[index].key;
    const char *value = s_act_string (act, key);
    size_t size = value ? strlen (value) : 0;
    long bad = cmp_proto_control_at (value, s_fields[index].check == V_NOTE);
    if (bad >= 0)
        return cmp_proto_fault (fault, CMP_STATUS_INVALID, key,
                                "%s: control character 0x%02x at byte %ld", key,
                                (byte) value[bad], bad);
    if (value && cmp_proto_blank (value))
        return cmp_proto_fault (fault, CMP_STATUS_INVALID, key,
                                "%s: must not be blank", key);
    switch (s_fields[index].check) {
        case V_TEXT:
            if (size > self->text_max)
                return cmp_proto_fault (
                  fault, CMP_STATUS_INVALID, key,
                  "%s: %zu bytes is over the limit of %zu bytes "
                  "(limits/text)",
                  key, size, self->text_max);
            break;
        case V_NOTE:
            if (size > self->note_max)
                return cmp_proto_fault (
                  fault, CMP_STATUS_INVALID, key,
                  "%s: %zu bytes is over the limit of %zu bytes "
                  "(limits/note)",
                  key, size, self->note_max);
            break;
        case V_ENUM:
            if (!s_listed (s_fields[index].values, value))
                return cmp_proto_fault (fault, CMP_STATUS_INVALID, key,
                                        "%s: \"%.32s\" is not one of: %s", key,
                                        value, s_fields[index].values);
            break;
        case V_CURRENCY:
            if (size != 3 || !isupper ((byte) value[0])
                || !isupper ((byte) value[1]) || !isupper ((byte) value[2]))
                return cmp_proto_fault (
                  fault, CMP_STATUS_INVALID, key,
                  "%s: \"%.16s\" is not an ISO 4217 code (three "
                  "capital letters, e.g. CNY)",
                  key, value);
            break;
        case V_SCORE:
            if (cmp_proto_satisfaction (act) < 1
                || cmp_proto_satisfaction (act) > 5)
                return cmp_proto_fault (fault, CMP_STATUS_INVALID, key,
                                        "%s: %" PRIu64
                                        " is out of range (1 to 5)",
                                        key, cmp_proto_satisfaction (act));
            break;
        case V_AMOUNT:
        case V_BOOL: break; //  The codec checked the type
    }
    return 0;
}

int
cmp_case_check (cmp_case_t *self, cmp_proto_t *act, cmp_proto_fault_t *fault)
{
    assert (self);
    assert (act);
    assert (fault);
    fault->id = CMP_PROTO_ACT;
    fault->request_id = cmp_proto_request_id (act);
    const char *name = cmp_proto_action (act);
    const s_action_t *action = s_action (name);
    if (!name || !*name)
        return cmp_proto_fault (
          fault, CMP_STATUS_INVALID, "action",
          "action: required (triage, assign, ... archive)");
    if (!action)
        return cmp_proto_fault (fault, CMP_STATUS_INVALID, "action",
                                "action: \"%.32s\" is not an action (see the "
                                "transition table)",
                                name);
    if (s_actor_check (cmp_proto_actor (act), fault))
        return -1;
    const char *number = cmp_proto_number (act);
    long bad = cmp_proto_control_at (number, false);
    if (bad >= 0)
        return cmp_proto_fault (fault, CMP_STATUS_INVALID, "number",
                                "number: control character 0x%02x at byte %ld",
                                (byte) number[bad], bad);
    if (cmp_proto_has (act, "id") == (cmp_proto_number (act) != NULL))
        return cmp_proto_fault (fault, CMP_STATUS_INVALID, "id",
                                "id: give exactly one of id and number");
    if (cmp_proto_has (act, "id") && cmp_proto_complaint_id (act) == 0)
        return cmp_proto_fault (fault, CMP_STATUS_INVALID, "id",
                                "id: must be 1 or more (ids start at 1)");
    if (cmp_proto_has (act, "version") && cmp_proto_version (act) == 0)
        return cmp_proto_fault (
          fault, CMP_STATUS_INVALID, "version",
          "version: must be 1 or more (versions start at 1)");
    //  Every field present must be one the action uses, with a valid value
    for (int index = 0; s_fields[index].key; index++) {
        const char *key = s_fields[index].key;
        if (!s_act_present (act, key))
            continue;
        if (!s_listed (action->required, key)
            && !s_listed (action->optional, key))
            return cmp_proto_fault (
              fault, CMP_STATUS_INVALID, key,
              "%s: not used by action %s (it takes: %s%s%s)", key, action->name,
              action->required,
              *action->required && *action->optional ? " " : "",
              action->optional);
        if (s_check_value (self, act, index, fault))
            return -1;
    }
    for (int index = 0; s_fields[index].key; index++) {
        const char *key = s_fields[index].key;
        if (s_listed (action->required, key) && !s_act_present (act, key))
            return cmp_proto_fault (fault, CMP_STATUS_INVALID, key,
                                    "%s: required by action %s", key,
                                    action->name);
    }
    //  Rules between fields
    if (action->id == A_PROPOSE) {
        bool amount = cmp_proto_has (act, "amount");
        bool currency = s_act_present (act, "currency");
        const char *kind = s_act_string (act, "kind");
        if (amount && !currency)
            return cmp_proto_fault (fault, CMP_STATUS_INVALID, "currency",
                                    "currency: required with an amount");
        if (currency && !amount)
            return cmp_proto_fault (fault, CMP_STATUS_INVALID, "amount",
                                    "amount: required with a currency");
        if (amount && !kind)
            return cmp_proto_fault (
              fault, CMP_STATUS_INVALID, "kind",
              "kind: required with an amount (refund, voucher, "
              "free_service, other)");
        if (amount && streq (kind, "apology"))
            return cmp_proto_fault (fault, CMP_STATUS_INVALID, "amount",
                                    "amount: an apology carries no amount");
    }
    if (action->id == A_ANSWER && !cmp_proto_accepted (act)
        && !s_act_present (act, "reason"))
        return cmp_proto_fault (fault, CMP_STATUS_INVALID, "reason",
                                "reason: required when the complainant rejects "
                                "(accepted is false)");
    return 0;
}

//  --------------------------------------------------------------------------
//  Applying an ACT

static cmp_proto_t *
s_entry_new (int64_t now,
             const char *actor,
             const char *role,
             const char *action,
             const char *previous,
             const char *state)
{
    cmp_proto_t *entry = cmp_proto_new (CMP_PROTO_ENTRY);
    cmp_proto_set_at (entry, now);
    cmp_proto_set_actor (entry, actor);
    cmp_proto_set_role (entry, role);
    cmp_proto_set_action (entry, action);
    cmp_proto_set_previous (entry, previous);
    cmp_proto_set_state (entry, state);
    return entry;
}

//  Record a change of field from old to new (either may be NULL)
static void
s_change (cmp_proto_t *entry,
          const char *field,
          const char *old_value,
          const char *new_value)
{
    if ((old_value == NULL && new_value == NULL)
        || (old_value && new_value && streq (old_value, new_value)))
        return;
    cmp_proto_add_change (entry, field, old_value, new_value);
}

//  Set a string field of the record, recording the change. The setter
//  copies; old is copied first because the setter frees it.
static void
s_set (cmp_proto_t *record,
       cmp_proto_t *entry,
       const char *field,
       const char *(*get) (cmp_proto_t *),
       void (*set) (cmp_proto_t *, const char *),
       const char *value)
{
    char *old_value = get (record) ? strdup (get (record)) : NULL;
    s_change (entry, field, old_value, value);
    set (record, value);
    free (old_value);
}

//  Record a text that goes only into the history (a note, a reason)
static void
s_say (cmp_proto_t *entry, const char *field, const char *value)
{
    if (value && *value)
        s_change (entry, field, NULL, value);
}

//  Record a change of a number field (had/has: present before/after)
static void
s_change_number (cmp_proto_t *entry,
                 const char *field,
                 bool had,
                 uint64_t old_value,
                 bool has,
                 uint64_t new_value)
{
    char old_text[24], new_text[24];
    snprintf (old_text, sizeof (old_text), "%" PRIu64, old_value);
    snprintf (new_text, sizeof (new_text), "%" PRIu64, new_value);
    s_change (entry, field, had ? old_text : NULL, has ? new_text : NULL);
}

//  Store an entry as number n of complaint id
static int
s_entry_put (cmp_store_t *store, uint64_t id, uint64_t n, cmp_proto_t *entry)
{
    cmp_proto_set_seq (entry, n);
    zchunk_t *chunk = cmp_proto_encode_map (entry);
    int rc = cmp_store_history_put (store, id, n, chunk);
    zchunk_destroy (&chunk);
    return rc;
}

//  Store the event of an entry and hand it to the caller to publish
static int
s_event_put (cmp_store_t *store,
             cmp_proto_t *record,
             cmp_proto_t *entry,
             bool purge,
             int64_t now,
             cmp_case_event_t *event)
{
    bool moved = !streq (cmp_proto_previous (entry), cmp_proto_state (entry));
    cmp_proto_t *message = cmp_proto_new (CMP_PROTO_EVENT);
    uint64_t seq = cmp_store_next_seq (store);
    cmp_proto_set_seq (message, seq);
    event->topic = purge   ? CMP_TOPIC_PURGED
                   : moved ? CMP_TOPIC_STATE
                           : CMP_TOPIC_UPDATED;
    cmp_proto_set_topic (message, event->topic);
    cmp_proto_set_at (message, now);
    cmp_proto_set_complaint_id (message, cmp_proto_complaint_id (record));
    cmp_proto_set_number (message, cmp_proto_number (record));
    cmp_proto_set_channel (message, cmp_proto_channel (record));
    cmp_proto_set_state (message, cmp_proto_state (entry));
    cmp_proto_set_previous (message, cmp_proto_previous (entry));
    cmp_proto_set_action (message, cmp_proto_action (entry));
    cmp_proto_set_role (message, cmp_proto_role (entry));
    cmp_proto_set_version (message, cmp_proto_version (record));
    cmp_proto_set_department (message, cmp_proto_department (record));
    cmp_proto_set_case_department (message, cmp_proto_case_department (record));
    event->event = cmp_proto_encode_map (message);
    cmp_proto_destroy (&message);
    return cmp_store_event_put (store, seq, event->event);
}

//  Remove a complaint from the repeat index (its phone and email)
static int
s_contacts_forget (cmp_store_t *store, cmp_proto_t *record)
{
    char keys[2][CMP_INTAKE_CONTACT_SIZE];
    int count = cmp_intake_contacts (record, keys);
    for (int index = 0; index < count; index++)
        if (cmp_store_contact_delete (store, keys[index],
                                      cmp_proto_received_at (record),
                                      cmp_proto_complaint_id (record)))
            return -1;
    return 0;
}

//  Store the complaint.emergency event of a complaint that became one
static int
s_emergency_put (cmp_store_t *store,
                 cmp_proto_t *record,
                 int64_t now,
                 cmp_case_event_t *event)
{
    cmp_proto_t *message = cmp_proto_new (CMP_PROTO_EVENT);
    uint64_t seq = cmp_store_next_seq (store);
    cmp_proto_set_seq (message, seq);
    event->topic = CMP_TOPIC_EMERGENCY;
    cmp_proto_set_topic (message, event->topic);
    cmp_proto_set_at (message, now);
    cmp_proto_set_complaint_id (message, cmp_proto_complaint_id (record));
    cmp_proto_set_number (message, cmp_proto_number (record));
    cmp_proto_set_channel (message, cmp_proto_channel (record));
    cmp_proto_set_state (message, cmp_proto_state (record));
    cmp_proto_set_department (message, cmp_proto_department (record));
    cmp_proto_set_case_department (message, cmp_proto_case_department (record));
    cmp_proto_set_category (message, cmp_proto_category (record));
    cmp_proto_set_severity (message, cmp_proto_severity (record));
    cmp_proto_set_priority (message, cmp_proto_priority (record));
    cmp_proto_set_emergency (message, true);
    cmp_proto_set_reason (message, cmp_proto_decided_by (record, "emergency"));
    event->event = cmp_proto_encode_map (message);
    cmp_proto_destroy (&message);
    return cmp_store_event_put (store, seq, event->event);
}

cmp_proto_t *
cmp_case_record (cmp_store_t *store, uint64_t id)
{
    zchunk_t *chunk = cmp_store_complaint (store, id);
    cmp_proto_t *record =
      chunk ? cmp_proto_decode_map (CMP_PROTO_COMPLAINT, zchunk_data (chunk),
                                    zchunk_size (chunk))
            : NULL;
    zchunk_destroy (&chunk);
    return record;
}

//  --------------------------------------------------------------------------
//  Deadlines: what the clocks did becomes events, and escalations history

static const char *
s_notice_topic (cmp_sla_notice_kind_t kind)
{
    switch (kind) {
        case CMP_SLA_REMINDER: return CMP_TOPIC_REMINDER;
        case CMP_SLA_WARNING: return CMP_TOPIC_WARNING;
        case CMP_SLA_BREACH: return CMP_TOPIC_BREACHED;
        case CMP_SLA_ESCALATION: return CMP_TOPIC_ESCALATED;
        case CMP_SLA_STOP: return CMP_TOPIC_STOPPED;
    }
    return CMP_TOPIC_UPDATED;
}

//  Store the event of one notice, and the history entry of an escalation
static int
s_notice_put (cmp_store_t *store,
              cmp_sla_t *sla,
              cmp_proto_t *record,
              cmp_sla_notice_t *notice,
              int64_t now,
              uint64_t *history,
              cmp_case_event_t *event)
{
    uint64_t id = cmp_proto_complaint_id (record);
    const char *state = cmp_proto_state (record);
    if (notice->kind == CMP_SLA_ESCALATION) {
        cmp_proto_t *entry = s_entry_new (now, CMP_CASE_SYSTEM, "system",
                                          "escalate", state, state);
        s_change (entry, "level", cmp_sla_level_name (sla, notice->from),
                  cmp_sla_level_name (sla, notice->to));
        s_say (entry, "reason", notice->reason);
        int rc = s_entry_put (store, id, ++*history, entry);
        cmp_proto_destroy (&entry);
        if (rc)
            return -1;
    }
    cmp_proto_t *message = cmp_proto_new (CMP_PROTO_EVENT);
    uint64_t seq = cmp_store_next_seq (store);
    cmp_proto_set_seq (message, seq);
    event->topic = s_notice_topic (notice->kind);
    cmp_proto_set_topic (message, event->topic);
    cmp_proto_set_at (message, now);
    cmp_proto_set_complaint_id (message, id);
    cmp_proto_set_number (message, cmp_proto_number (record));
    cmp_proto_set_channel (message, cmp_proto_channel (record));
    cmp_proto_set_state (message, state);
    cmp_proto_set_version (message, cmp_proto_version (record));
    cmp_proto_set_case_department (message, cmp_proto_case_department (record));
    cmp_proto_set_priority (message, cmp_proto_priority (record));
    if (notice->clock) {
        cmp_proto_set_clock (message, notice->clock);
        cmp_proto_set_due_at (message, notice->due_at);
    }
    if (notice->late)
        cmp_proto_set_late (message, true);
    switch (notice->kind) {
        case CMP_SLA_REMINDER:
            cmp_proto_set_handler (message, cmp_proto_handler (record));
            break;
        case CMP_SLA_WARNING:
            cmp_proto_set_percent (message, (uint64_t) notice->percent);
            break;
        case CMP_SLA_ESCALATION: {
            cmp_proto_set_previous_level (
              message, cmp_sla_level_name (sla, notice->from));
            cmp_proto_set_level (message, cmp_sla_level_name (sla, notice->to));
            cmp_proto_set_reason (message, notice->reason);
            cmp_proto_set_handler (message, cmp_proto_handler (record));
            zlist_t *notify = cmp_sla_level_notify (sla, notice->to);
            for (const char *name = (const char *) zlist_first (notify); name;
                 name = (const char *) zlist_next (notify))
                cmp_proto_add_notify (message, name);
            break;
        }
        case CMP_SLA_STOP:
            cmp_proto_set_outcome (message, notice->met ? "met" : "missed");
            break;
        case CMP_SLA_BREACH: break;
    }
    event->event = cmp_proto_encode_map (message);
    cmp_proto_destroy (&message);
    return cmp_store_event_put (store, seq, event->event);
}

int
cmp_case_notices_put (cmp_store_t *store,
                      cmp_sla_t *sla,
                      cmp_proto_t *record,
                      cmp_sla_notice_t *notices,
                      int count,
                      int64_t now,
                      uint64_t *history,
                      cmp_case_event_t *events,
                      size_t max,
                      size_t *used)
{
    for (int index = 0; index < count; index++) {
        //  Every event is stored; one that finds no room in events is
        //  not published at once, and workers read it with REPLAY
        cmp_case_event_t spare = {NULL, NULL};
        cmp_case_event_t *event = *used < max ? &events[(*used)++] : &spare;
        if (event == &spare)
            zsys_warning ("complaint %s: more than %zu events in one change",
                          cmp_proto_number (record), max);
        int rc = s_notice_put (store, sla, record, &notices[index], now,
                               history, event);
        zchunk_destroy (&spare.event);
        if (rc)
            return -1;
    }
    return 0;
}

//  Run the clocks of record for action taken and state entered, in
//  memory; returns the number of notices, which point into state
static int
s_clocks_on (cmp_sla_t *sla,
             cmp_proto_t *record,
             const char *action,
             const char *entered,
             int64_t now,
             cmp_sla_state_t *state,
             cmp_sla_notice_t *notices)
{
    if (!sla)
        return 0;
    cmp_sla_read (sla, record, state);
    int count =
      cmp_sla_on (sla, state, cmp_proto_sla (record),
                  cmp_proto_emergency (record), action, entered, now, notices);
    cmp_sla_write (sla, state, record);
    return count;
}

void
cmp_case_event_free (void **item)
{
    if (*item) {
        cmp_case_event_t *event = (cmp_case_event_t *) *item;
        zchunk_destroy (&event->event);
        free (event);
        *item = NULL;
    }
}

//  Fire the due points of one complaint
static int
s_fire_one (cmp_store_t *store,
            cmp_sla_t *sla,
            uint64_t id,
            int64_t now,
            cmp_sla_notice_t *notices,
            zlistx_t *fired)
{
    cmp_proto_t *record = cmp_case_record (store, id);
    uint64_t history;
    if (!record || cmp_store_history_count (store, id, &history)) {
        zsys_error ("complaint %" PRIu64 " has a timer but cannot be read", id);
        cmp_proto_destroy (&record);
        return -1;
    }
    cmp_store_keys_t old;
    cmp_case_keys (record, &old, true);
    cmp_sla_state_t state;
    cmp_sla_read (sla, record, &state);
    int count = cmp_sla_fire (sla, &state, now, notices);
    cmp_sla_write (sla, &state, record);
    cmp_store_keys_t keys;
    cmp_case_keys (record, &keys, false);
    if (keys.timer_at > 0 && keys.timer_at <= now) {
        //  Never fire the same complaint in a loop
        zsys_error ("complaint %s: its next deadline point %" PRId64
                    " is not after now; it is dropped",
                    cmp_proto_number (record), keys.timer_at);
        keys.timer_at = 0;
    }
    //  The clocks are the daemon's bookkeeping: the version stays, so
    //  that a reminder does not make a handler's request stale
    zchunk_t *encoded = cmp_proto_encode_map (record);
    int rc = cmp_store_complaint_replace (store, id, encoded);
    zchunk_destroy (&encoded);
    if (rc == 0)
        rc = cmp_store_index (store, id, &old, &keys);
    cmp_case_keys_free (&old);
    for (int index = 0; index < count && rc == 0; index++) {
        cmp_case_event_t *event =
          (cmp_case_event_t *) zmalloc (sizeof (cmp_case_event_t));
        assert (event);
        zlistx_add_end (fired, event);
        rc = s_notice_put (store, sla, record, &notices[index], now, &history,
                           event);
    }
    cmp_proto_destroy (&record);
    return rc;
}

int
cmp_case_fire (cmp_store_t *store,
               cmp_sla_t *sla,
               int64_t now,
               size_t max,
               zlistx_t *fired,
               size_t *count,
               bool *more)
{
    assert (store);
    assert (sla);
    assert (max > 0);
    *count = 0;
    *more = false;
    uint64_t *ids = (uint64_t *) malloc ((max + 1) * sizeof (uint64_t));
    cmp_sla_notice_t *notices =
      (cmp_sla_notice_t *) malloc (CMP_SLA_NOTICES * sizeof (cmp_sla_notice_t));
    assert (ids && notices);
    size_t due;
    int rc = cmp_store_timers_due (store, now, ids, max + 1, &due);
    if (rc == 0) {
        *more = due > max;
        *count = due > max ? max : due;
    }
    for (size_t index = 0; index < *count && rc == 0; index++)
        rc = s_fire_one (store, sla, ids[index], now, notices, fired);
    free (notices);
    free (ids);
    return rc;
}

static cmp_proto_t *
s_error (cmp_proto_t *act, cmp_proto_fault_t *fault)
{
    return cmp_proto_new_error (cmp_proto_request_id (act), fault->status,
                                fault->field, fault->text);
}

//  The actions allowed in a state, "a, b, c"
static void
s_allowed (int state, char *text, size_t size)
{
    *text = 0;
    for (int index = 0; index < A_COUNT; index++)
        if (s_actions[index].from & B (state))
            snprintf (text + strlen (text), size - strlen (text), "%s%s",
                      *text ? ", " : "", s_actions[index].name);
    if (!*text)
        snprintf (text, size, "none");
}

//  Checks beyond the table. Returns 0, or -1 with fault filled in; a 403
//  is recorded in the history by the caller.
static int
s_guard (cmp_case_t *self,
         cmp_store_t *store,
         cmp_triage_t *triage,
         const s_action_t *action,
         cmp_proto_t *act,
         const char *role,
         cmp_proto_t *record,
         uint64_t *into_id,
         cmp_proto_fault_t *fault)
{
    (void) self;
    const char *actor = cmp_proto_actor (act);
    const char *number = cmp_proto_number (record);
    switch (action->id) {
        case A_RECUSE:
            if (!cmp_proto_handler (record))
                return cmp_proto_fault (
                  fault, CMP_STATUS_CONFLICT, "action",
                  "action: complaint %s has no handler to step "
                  "aside",
                  number);
            if (!streq (role, "supervisor")
                && !streq (cmp_proto_handler (record), actor))
                return cmp_proto_fault (
                  fault, CMP_STATUS_FORBIDDEN, "actor",
                  "actor: only the handler (\"%.64s\") or a "
                  "supervisor may recuse on complaint %s",
                  cmp_proto_handler (record), number);
            break;
        case A_START:
            if (!cmp_proto_handler (record))
                return cmp_proto_fault (
                  fault, CMP_STATUS_CONFLICT, "action",
                  "action: complaint %s has no handler; assign "
                  "one before start",
                  number);
            break;
        case A_APPROVE:
            if (cmp_proto_proposed_by (record)
                && streq (cmp_proto_proposed_by (record), actor))
                return cmp_proto_fault (
                  fault, CMP_STATUS_FORBIDDEN, "actor",
                  "actor: \"%.64s\" made this proposal and may "
                  "not approve it",
                  actor);
            break;
        case A_TELL:
            if (streq (cmp_proto_state (record), "proposed")
                && cmp_proto_kind (record)
                && !streq (cmp_proto_kind (record), "apology"))
                return cmp_proto_fault (
                  fault, CMP_STATUS_CONFLICT, "action",
                  "action: the proposal of complaint %s carries "
                  "compensation (%s) and needs a supervisor's "
                  "approval before tell",
                  number, cmp_proto_kind (record));
            break;
        case A_RETRIAGE:
            if (!triage)
                return cmp_proto_fault (
                  fault, CMP_STATUS_CONFLICT, "action",
                  "action: triage is off (triage/enabled); complaint %s "
                  "cannot be triaged again",
                  number);
            break;
        case A_RECLASSIFY:
            if (!s_act_string (act, "category")
                && !s_act_string (act, "subcategory")
                && !s_act_string (act, "severity")
                && !s_act_string (act, "impact")
                && !s_act_string (act, "priority")
                && !s_act_string (act, "sla"))
                return cmp_proto_fault (
                  fault, CMP_STATUS_INVALID, "category",
                  "category: reclassify needs at least one of category, "
                  "subcategory, severity, impact, priority, sla");
            break;
        case A_EXTEND:
            if (cmp_proto_extended (record))
                return cmp_proto_fault (
                  fault, CMP_STATUS_CONFLICT, "action",
                  "action: the investigation of complaint %s "
                  "was extended already (once only)",
                  number);
            break;
        case A_MERGE: {
            const char *into = cmp_proto_into (act);
            *into_id = cmp_store_number_find (store, into);
            if (*into_id == 0)
                return cmp_proto_fault (
                  fault, CMP_STATUS_NOT_FOUND, "into",
                  "into: no complaint with number \"%.64s\"", into);
            if (*into_id == cmp_proto_complaint_id (record))
                return cmp_proto_fault (
                  fault, CMP_STATUS_CONFLICT, "into",
                  "into: a complaint cannot be merged into "
                  "itself");
            cmp_proto_t *target = cmp_case_record (store, *into_id);
            const char *state = target ? cmp_proto_state (target) : NULL;
            int rc = 0;
            //  Into a case that is still handled (not closed, withdrawn,
            //  merged itself, archived or purged)
            uint32_t handled = OPEN | B (ST_RESOLVED) | B (ST_RESOLVED_ON_SPOT)
                               | B (ST_FOLLOWED_UP) | B (ST_REFERRED);
            if (s_state (state) < 0 || !(handled & B (s_state (state))))
                rc = cmp_proto_fault (
                  fault, CMP_STATUS_CONFLICT, "into",
                  "into: complaint %.64s is %s; merge into one "
                  "that is still handled",
                  into, state ? state : "unreadable");
            cmp_proto_destroy (&target);
            return rc;
        }
        default: break;
    }
    return 0;
}

//  The case fields a triage decides, by their place in the record
static const struct
{
    const char *path;                          //  Name in history changes
    const char *key;                           //  Name in triage.decided_by
    const char *(*get) (cmp_proto_t *);        //  Getter
    void (*set) (cmp_proto_t *, const char *); //  Setter
} s_triaged[] = {
  {"case.category", "category", cmp_proto_category, cmp_proto_set_category},
  {"case.subcategory", "subcategory", cmp_proto_subcategory,
   cmp_proto_set_subcategory},
  {"case.severity", "severity", cmp_proto_severity, cmp_proto_set_severity},
  {"case.impact", "impact", cmp_proto_impact, cmp_proto_set_impact},
  {"case.priority", "priority", cmp_proto_priority, cmp_proto_set_priority},
  {"case.department", "department", cmp_proto_case_department,
   cmp_proto_set_case_department},
  {"case.sla", "sla", cmp_proto_sla, cmp_proto_set_sla},
  {"case.group", "group", cmp_proto_group, cmp_proto_set_group},
  {NULL, NULL, NULL, NULL}};

#define TRIAGED_FIELDS 8

//  What a triage may change, copied before it runs
typedef struct
{
    char *values[TRIAGED_FIELDS]; //  Case fields, NULL if absent
    bool emergency;               //  Emergency flag
    char *rules;                  //  Rules version
} s_triage_before_t;

static void
s_triage_before (cmp_proto_t *record, s_triage_before_t *before)
{
    for (int index = 0; s_triaged[index].path; index++) {
        const char *value = s_triaged[index].get (record);
        before->values[index] = value ? strdup (value) : NULL;
    }
    before->emergency = cmp_proto_emergency (record);
    before->rules =
      cmp_proto_rules (record) ? strdup (cmp_proto_rules (record)) : NULL;
}

//  Record in entry what a triage changed, and free the copy
static void
s_triage_changes (cmp_proto_t *record,
                  cmp_proto_t *entry,
                  s_triage_before_t *before)
{
    for (int index = 0; s_triaged[index].path; index++) {
        s_change (entry, s_triaged[index].path, before->values[index],
                  s_triaged[index].get (record));
        zstr_free (&before->values[index]);
    }
    if (before->emergency != cmp_proto_emergency (record))
        s_change (entry, "case.emergency", before->emergency ? "true" : NULL,
                  cmp_proto_emergency (record) ? "true" : NULL);
    s_change (entry, "triage.rules", before->rules, cmp_proto_rules (record));
    zstr_free (&before->rules);
}

//  Make the changes of an action to the record, recording them in entry.
//  Returns the new state.
static int
s_change_record (cmp_case_t *self,
                 const s_action_t *action,
                 cmp_proto_t *act,
                 cmp_proto_t *record,
                 cmp_proto_t *entry,
                 int state,
                 uint64_t into_id,
                 cmp_triage_t *triage,
                 int64_t now)
{
    const char *actor = cmp_proto_actor (act);
    int to =
      action->to == TO_SAME || action->to == TO_CLASSIFIED ? state : action->to;
    switch (action->id) {
        case A_RECLASSIFY: {
            for (int index = 0; s_triaged[index].path; index++) {
                const char *value = s_act_string (act, s_triaged[index].key);
                if (!value || streq (s_triaged[index].key, "department"))
                    continue;
                s_set (record, entry, s_triaged[index].path,
                       s_triaged[index].get, s_triaged[index].set, value);
                char by[128];
                snprintf (by, sizeof (by), "reclassified by %.64s", actor);
                cmp_proto_set_decided_by (record, s_triaged[index].key, by);
            }
            //  A new severity or impact gives a new priority, unless one
            //  was given
            const char *priority =
              triage && !s_act_string (act, "priority")
                  && (s_act_string (act, "severity")
                      || s_act_string (act, "impact"))
                ? cmp_triage_priority (triage, cmp_proto_severity (record),
                                       cmp_proto_impact (record))
                : NULL;
            if (priority)
                s_set (record, entry, "case.priority", cmp_proto_priority,
                       cmp_proto_set_priority, priority);
            s_say (entry, "reason", cmp_proto_reason (act));
            if (state == ST_REGISTERED && s_act_string (act, "category"))
                to = ST_TRIAGED;
            break;
        }
        case A_RETRIAGE: {
            s_triage_before_t before;
            s_triage_before (record, &before);
            cmp_triage_result_t result;
            cmp_triage_apply (triage, record, now, NULL, &result);
            s_triage_changes (record, entry, &before);
            s_say (entry, "reason", s_act_string (act, "reason"));
            if (result.classified)
                to = ST_TRIAGED;
            break;
        }
        case A_TRIAGE:
            s_set (record, entry, "case.category", cmp_proto_category,
                   cmp_proto_set_category, s_act_string (act, "category"));
            if (s_act_string (act, "severity"))
                s_set (record, entry, "case.severity", cmp_proto_severity,
                       cmp_proto_set_severity, s_act_string (act, "severity"));
            if (s_act_string (act, "priority"))
                s_set (record, entry, "case.priority", cmp_proto_priority,
                       cmp_proto_set_priority, s_act_string (act, "priority"));
            break;
        case A_ASSIGN:
            s_set (record, entry, "case.department", cmp_proto_case_department,
                   cmp_proto_set_case_department,
                   cmp_proto_case_department (act));
            s_set (record, entry, "case.handler", cmp_proto_handler,
                   cmp_proto_set_handler, s_act_string (act, "handler"));
            break;
        case A_RECUSE:
            s_set (record, entry, "case.handler", cmp_proto_handler,
                   cmp_proto_set_handler, NULL);
            s_say (entry, "reason", cmp_proto_reason (act));
            break;
        case A_PROPOSE:
            s_set (record, entry, "proposal.text", cmp_proto_proposal,
                   cmp_proto_set_proposal, cmp_proto_text (act));
            s_set (record, entry, "proposal.kind", cmp_proto_kind,
                   cmp_proto_set_kind, s_act_string (act, "kind"));
            s_change_number (
              entry, "proposal.amount", cmp_proto_has (record, "amount"),
              cmp_proto_amount (record), cmp_proto_has (act, "amount"),
              cmp_proto_amount (act));
            if (cmp_proto_has (act, "amount"))
                cmp_proto_set_amount (record, cmp_proto_amount (act));
            else
                cmp_proto_unset (record, "amount");
            s_set (record, entry, "proposal.currency", cmp_proto_currency,
                   cmp_proto_set_currency, s_act_string (act, "currency"));
            cmp_proto_set_proposed_by (record, actor);
            cmp_proto_set_proposed_at (record, now);
            cmp_proto_set_approved_by (record, NULL);
            cmp_proto_unset (record, "approved_at");
            break;
        case A_APPROVE:
            s_set (record, entry, "proposal.approved_by", cmp_proto_approved_by,
                   cmp_proto_set_approved_by, actor);
            cmp_proto_set_approved_at (record, now);
            s_say (entry, "text", s_act_string (act, "text"));
            break;
        case A_ANSWER:
            to = cmp_proto_accepted (act) ? ST_ACCEPTED : ST_REJECTED;
            s_change (entry, "answer.accepted",
                      !cmp_proto_has (record, "accepted") ? NULL
                      : cmp_proto_accepted (record)       ? "true"
                                                          : "false",
                      cmp_proto_accepted (act) ? "true" : "false");
            cmp_proto_set_accepted (record, cmp_proto_accepted (act));
            s_set (record, entry, "answer.reason", cmp_proto_answer_reason,
                   cmp_proto_set_answer_reason, s_act_string (act, "reason"));
            cmp_proto_set_answered_at (record, now);
            break;
        case A_RESOLVE:
        case A_RESOLVE_ON_SPOT:
            s_set (record, entry, "case.resolution", cmp_proto_resolution,
                   cmp_proto_set_resolution, s_act_string (act, "text"));
            break;
        case A_FOLLOW_UP: {
            s_change_number (entry, "follow_up.satisfaction",
                             cmp_proto_has (record, "satisfaction"),
                             cmp_proto_satisfaction (record), true,
                             cmp_proto_satisfaction (act));
            cmp_proto_set_satisfaction (record, cmp_proto_satisfaction (act));
            s_set (record, entry, "follow_up.comment", cmp_proto_comment,
                   cmp_proto_set_comment, s_act_string (act, "comment"));
            cmp_proto_set_followed_up_at (record, now);
            break;
        }
        case A_REOPEN:
            to =
              cmp_proto_case_department (record) ? ST_ASSIGNED : ST_REGISTERED;
            s_say (entry, "reason", cmp_proto_reason (act));
            break;
        case A_CLOSE:
        case A_WITHDRAW:
            s_set (record, entry, "case.reason", cmp_proto_reason,
                   cmp_proto_set_reason, cmp_proto_reason (act));
            break;
        case A_MERGE: {
            s_change_number (entry, "case.merged_into", false, 0, true,
                             into_id);
            cmp_proto_set_merged_into (record, into_id);
            s_say (entry, "into", cmp_proto_into (act));
            s_say (entry, "reason", s_act_string (act, "reason"));
            break;
        }
        case A_REFER:
            s_set (record, entry, "case.route", cmp_proto_route,
                   cmp_proto_set_route, cmp_proto_route (act));
            s_say (entry, "text", s_act_string (act, "text"));
            break;
        case A_EXTEND:
            cmp_proto_set_extended (record, true);
            s_change (entry, "case.extended", NULL, "true");
            s_say (entry, "reason", cmp_proto_reason (act));
            break;
        case A_CONTACT: {
            zlistx_t *contacts = cmp_proto_items (record);
            //  The log keeps the latest limits/contacts; the history all
            while (zlistx_size (contacts) >= self->contacts_max
                   && zlistx_size (contacts) > 0) {
                zlistx_first (contacts);
                zlistx_delete (contacts, zlistx_cursor (contacts));
            }
            cmp_proto_t *contact = cmp_proto_new (CMP_PROTO_CONTACT);
            cmp_proto_set_at (contact, now);
            cmp_proto_set_actor (contact, actor);
            cmp_proto_set_direction (contact, cmp_proto_direction (act));
            cmp_proto_set_channel (contact, cmp_proto_channel (act));
            cmp_proto_set_summary (contact, cmp_proto_summary (act));
            if (self->contacts_max)
                zlistx_add_end (contacts, contact);
            else
                cmp_proto_destroy (&contact);
            s_say (entry, "direction", cmp_proto_direction (act));
            s_say (entry, "channel", cmp_proto_channel (act));
            s_say (entry, "summary", cmp_proto_summary (act));
            break;
        }
        case A_START:
        case A_REQUEST_INFO:
        case A_INFO_RECEIVED:
        case A_NOTE:
        case A_TELL:
        case A_ARCHIVE:
            s_say (entry, "text", s_act_string (act, "text"));
            s_say (entry, "channel", s_act_string (act, "channel"));
            s_say (entry, "reason", s_act_string (act, "reason"));
            break;
        case A_REJECT_PROPOSAL:
            s_say (entry, "reason", cmp_proto_reason (act));
            break;
        case A_PURGE: {
            //  Only what identifies the complaint stays, so that its id
            //  and number are never given again
            void (*clear[]) (cmp_proto_t *, const char *) = {
              cmp_proto_set_name,          cmp_proto_set_phone,
              cmp_proto_set_email,         cmp_proto_set_relation,
              cmp_proto_set_department,    cmp_proto_set_staff,
              cmp_proto_set_location,      cmp_proto_set_description,
              cmp_proto_set_demands,       cmp_proto_set_case_department,
              cmp_proto_set_handler,       cmp_proto_set_category,
              cmp_proto_set_severity,      cmp_proto_set_priority,
              cmp_proto_set_route,         cmp_proto_set_resolution,
              cmp_proto_set_reason,        cmp_proto_set_proposal,
              cmp_proto_set_kind,          cmp_proto_set_currency,
              cmp_proto_set_proposed_by,   cmp_proto_set_approved_by,
              cmp_proto_set_answer_reason, cmp_proto_set_comment,
              cmp_proto_set_subcategory,   cmp_proto_set_impact,
              cmp_proto_set_sla,           cmp_proto_set_group,
              cmp_proto_set_tier,          cmp_proto_set_rules};
            for (size_t index = 0; index < sizeof (clear) / sizeof (clear[0]);
                 index++)
                clear[index](record, NULL);
            const char *numbers[] = {
              "anonymous",   "extended",       "merged_into", "amount",
              "accepted",    "satisfaction",   "proposed_at", "approved_at",
              "answered_at", "followed_up_at", "emergency",   "repeats",
              "triaged_at"};
            for (size_t index = 0;
                 index < sizeof (numbers) / sizeof (numbers[0]); index++)
                cmp_proto_unset (record, numbers[index]);
            zlist_purge (cmp_proto_attachments (record));
            zlist_purge (cmp_proto_tags (record));
            zlist_purge (cmp_proto_matched (record));
            zlist_purge (cmp_proto_triage_tags (record));
            zlist_purge (cmp_proto_repeat_of (record));
            for (int index = 0; s_triaged[index].path; index++)
                cmp_proto_set_decided_by (record, s_triaged[index].key, NULL);
            cmp_proto_set_decided_by (record, "emergency", NULL);
            zlistx_purge (cmp_proto_items (record));
            zlistx_purge (cmp_proto_clocks (record));
            cmp_proto_set_level (record, NULL);
            cmp_proto_set_sla_policy (record, NULL);
            break;
        }
        case A_COUNT: break;
    }
    return to;
}

void
cmp_case_keys (cmp_proto_t *record, cmp_store_keys_t *keys, bool copy)
{
    memset (keys, 0, sizeof (*keys));
    //  The deadlines: earliest due time of a running clock, next point to
    //  fire, and whether a clock that has not stopped is past its breach
    bool overdue = false;
    zlistx_t *clocks = cmp_proto_clocks (record);
    for (cmp_proto_t *clock = (cmp_proto_t *) zlistx_first (clocks); clock;
         clock = (cmp_proto_t *) zlistx_next (clocks)) {
        const char *state = cmp_proto_state (clock);
        if (!state || streq (state, "stopped"))
            continue;
        int64_t due_at = cmp_proto_due_at (clock);
        int64_t next_at = cmp_proto_next_at (clock);
        if (streq (state, "running") && due_at > 0
            && (keys->due_at == 0 || due_at < keys->due_at))
            keys->due_at = due_at;
        if (next_at > 0 && (keys->timer_at == 0 || next_at < keys->timer_at))
            keys->timer_at = next_at;
        overdue |= cmp_proto_breached_at (clock) > 0;
    }
    const char *values[CMP_STORE_FIELDS] = {
      cmp_proto_state (record),    cmp_proto_case_department (record),
      cmp_proto_handler (record),  cmp_proto_category (record),
      cmp_proto_priority (record), cmp_proto_level (record),
      overdue ? "yes" : NULL};
    for (int field = 0; field < CMP_STORE_FIELDS; field++)
        keys->field[field] =
          copy && values[field] ? strdup (values[field]) : values[field];
    keys->received_at = cmp_proto_received_at (record);
    keys->updated_at = cmp_proto_has (record, "updated_at")
                         ? cmp_proto_updated_at (record)
                         : keys->received_at;
}

void
cmp_case_keys_free (cmp_store_keys_t *keys)
{
    for (int field = 0; field < CMP_STORE_FIELDS; field++)
        free ((char *) keys->field[field]);
}

//  Write the record, its indexes, entry and event of one change; old
//  holds the index values from before it
static int
s_commit_change (cmp_store_t *store,
                 cmp_proto_t *record,
                 const cmp_store_keys_t *old,
                 cmp_proto_t *entry,
                 uint64_t n,
                 bool purge,
                 int64_t now,
                 cmp_case_event_t *event)
{
    uint64_t id = cmp_proto_complaint_id (record);
    cmp_proto_set_version (record, cmp_proto_version (record) + 1);
    cmp_proto_set_updated_at (record, now);
    cmp_proto_set_state (record, cmp_proto_state (entry));
    zchunk_t *chunk = cmp_proto_encode_map (record);
    int rc = cmp_store_complaint_replace (store, id, chunk);
    zchunk_destroy (&chunk);
    cmp_store_keys_t keys;
    cmp_case_keys (record, &keys, false);
    if (rc || cmp_store_index (store, id, old, &keys))
        return -1;
    //  A purge takes the history with it (notes and contacts hold
    //  personal data); its event says that it happened
    if (purge ? cmp_store_history_purge (store, id)
              : s_entry_put (store, id, n, entry))
        return -1;
    return s_event_put (store, record, entry, purge, now, event);
}

int
cmp_case_apply (cmp_case_t *self,
                cmp_store_t *store,
                cmp_rulebook_t *rulebook,
                cmp_proto_t *act,
                int64_t now,
                cmp_proto_t **reply_p,
                cmp_case_event_t *events)
{
    assert (self);
    assert (store);
    cmp_triage_t *triage = rulebook ? cmp_rulebook_triage (rulebook) : NULL;
    cmp_sla_t *sla = rulebook ? cmp_rulebook_sla (rulebook) : NULL;
    *reply_p = NULL;
    memset (events, 0, CMP_CASE_EVENTS_MAX * sizeof (cmp_case_event_t));
    const s_action_t *action = s_action (cmp_proto_action (act));
    assert (action);
    cmp_proto_fault_t fault;
    memset (&fault, 0, sizeof (fault));

    //  The complaint as it is now
    uint64_t id = cmp_proto_has (act, "id")
                    ? cmp_proto_complaint_id (act)
                    : cmp_store_number_find (store, cmp_proto_number (act));
    zchunk_t *chunk = id ? cmp_store_complaint (store, id) : NULL;
    if (!chunk) {
        if (cmp_proto_has (act, "id"))
            cmp_proto_fault (&fault, CMP_STATUS_NOT_FOUND, "id",
                             "id: no complaint with id %" PRIu64, id);
        else
            cmp_proto_fault (&fault, CMP_STATUS_NOT_FOUND, "number",
                             "number: no complaint with number \"%.64s\"",
                             cmp_proto_number (act));
        *reply_p = s_error (act, &fault);
        return 0;
    }
    cmp_proto_t *record = cmp_proto_decode_map (
      CMP_PROTO_COMPLAINT, zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);
    uint64_t history;
    if (!record || cmp_store_history_count (store, id, &history)) {
        cmp_proto_destroy (&record);
        return -1;
    }
    const char *number = cmp_proto_number (record);
    int state = s_state (cmp_proto_state (record));
    assert (state >= 0);
    const char *actor = cmp_proto_actor (act);
    const char *role = cmp_case_role (self, actor);
    int rc = 0;
    uint64_t into_id = 0;

    if (s_may (self, actor, action->roles, action->name, &fault))
        ; //  Refused by role
    else if (cmp_proto_has (act, "version")
             && cmp_proto_version (act) != cmp_proto_version (record))
        cmp_proto_fault (
          &fault, CMP_STATUS_STALE, "version",
          "version: complaint %s is at version %" PRIu64
          ", the request was based on version %" PRIu64 "; read it again",
          number, cmp_proto_version (record), cmp_proto_version (act));
    else if (!(action->from & B (state))) {
        char allowed[512];
        s_allowed (state, allowed, sizeof (allowed));
        cmp_proto_fault (&fault, CMP_STATUS_CONFLICT, "action",
                         "action: complaint %s is %s, where %s is not allowed; "
                         "allowed: %s",
                         number, s_state_names[state], action->name, allowed);
    } else if (fault.status == 0)
        s_guard (self, store, triage, action, act, role, record, &into_id,
                 &fault);

    if (fault.status == CMP_STATUS_FORBIDDEN)
        zsys_warning ("refused %s on complaint %s: %s", action->name, number,
                      fault.text);
    if (fault.status == CMP_STATUS_FORBIDDEN && role && state != ST_PURGED) {
        //  A refused permission of a known actor stays on the record (an
        //  unknown name is only logged: anyone may send one)
        cmp_proto_t *entry =
          s_entry_new (now, actor, role ? role : "none", action->name,
                       s_state_names[state], s_state_names[state]);
        cmp_proto_set_refused (entry, fault.text);
        rc = s_entry_put (store, id, history + 1, entry);
        cmp_proto_destroy (&entry);
    }
    if (fault.status) {
        *reply_p = s_error (act, &fault);
        cmp_proto_destroy (&record);
        return rc;
    }

    //  The change itself
    cmp_proto_t *entry =
      s_entry_new (now, actor, role, action->name, s_state_names[state], NULL);
    cmp_store_keys_t old;
    cmp_case_keys (record, &old, true);
    bool was_emergency = cmp_proto_emergency (record);
    //  A purge also takes the complainant out of the repeat index
    rc = action->id == A_PURGE ? s_contacts_forget (store, record) : 0;
    int to = s_change_record (self, action, act, record, entry, state, into_id,
                              triage, now);
    cmp_proto_set_state (entry, s_state_names[to]);
    //  The deadlines follow the change, in the same transaction
    cmp_sla_notice_t *notices =
      (cmp_sla_notice_t *) malloc (CMP_SLA_NOTICES * sizeof (cmp_sla_notice_t));
    cmp_sla_state_t *clocks =
      (cmp_sla_state_t *) malloc (2 * sizeof (cmp_sla_state_t));
    assert (notices && clocks);
    int noticed = action->id == A_PURGE
                    ? 0
                    : s_clocks_on (sla, record, action->name, s_state_names[to],
                                   now, &clocks[0], notices);
    size_t used = 1;
    if (rc == 0)
        rc = s_commit_change (store, record, &old, entry, ++history,
                              action->id == A_PURGE, now, &events[0]);
    cmp_case_keys_free (&old);
    cmp_proto_destroy (&entry);

    //  A retriage that finds an emergency starts the emergency plan
    if (rc == 0 && cmp_proto_emergency (record) && !was_emergency)
        rc = s_emergency_put (store, record, now, &events[used++]);
    if (rc == 0)
        rc =
          cmp_case_notices_put (store, sla, record, notices, noticed, now,
                                &history, events, CMP_CASE_EVENTS_MAX, &used);

    //  A follow-up below the bar reopens the case by itself
    if (rc == 0 && action->id == A_FOLLOW_UP
        && cmp_proto_satisfaction (act) < self->reopen_below) {
        int reopened =
          cmp_proto_case_department (record) ? ST_ASSIGNED : ST_REGISTERED;
        entry = s_entry_new (now, CMP_CASE_SYSTEM, "system", "reopen",
                             s_state_names[to], s_state_names[reopened]);
        char reason[128];
        snprintf (reason, sizeof (reason),
                  "satisfaction %" PRIu64 " is below %" PRIu64
                  " (cases/reopen_below)",
                  cmp_proto_satisfaction (act), self->reopen_below);
        s_say (entry, "reason", reason);
        cmp_case_keys (record, &old, true);
        noticed = s_clocks_on (sla, record, "reopen", s_state_names[reopened],
                               now, &clocks[1], notices);
        rc = s_commit_change (store, record, &old, entry, ++history, false, now,
                              &events[used++]);
        cmp_case_keys_free (&old);
        cmp_proto_destroy (&entry);
        if (rc == 0)
            rc = cmp_case_notices_put (store, sla, record, notices, noticed,
                                       now, &history, events,
                                       CMP_CASE_EVENTS_MAX, &used);
    }
    free (notices);
    free (clocks);
    if (rc == 0) {
        cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_ACTED);
        cmp_proto_set_request_id (reply, cmp_proto_request_id (act));
        cmp_proto_set_complaint_id (reply, id);
        cmp_proto_set_number (reply, number);
        cmp_proto_set_previous (reply, s_state_names[state]);
        cmp_proto_set_state (reply, cmp_proto_state (record));
        cmp_proto_set_version (reply, cmp_proto_version (record));
        *reply_p = reply;
    }
    cmp_proto_destroy (&record);
    return rc;
}

zchunk_t *
cmp_case_entry_triaged (cmp_proto_t *record, int64_t now)
{
    cmp_proto_t *entry = s_entry_new (now, CMP_CASE_SYSTEM, "system", "triage",
                                      "registered", cmp_proto_state (record));
    cmp_proto_set_seq (entry, 2);
    s_triage_before_t before;
    memset (&before, 0, sizeof (before));
    s_triage_changes (record, entry, &before);
    zchunk_t *chunk = cmp_proto_encode_map (entry);
    cmp_proto_destroy (&entry);
    return chunk;
}

zchunk_t *
cmp_case_entry_registered (cmp_proto_t *submit, int64_t now)
{
    char adapter[64];
    const char *actor = cmp_proto_actor (submit);
    if (!actor) {
        snprintf (adapter, sizeof (adapter), "adapter:%s",
                  cmp_proto_channel (submit));
        actor = adapter;
    }
    const char *role = cmp_proto_role (submit);
    cmp_proto_t *entry = s_entry_new (now, actor, role ? role : "adapter",
                                      "submit", NULL, "registered");
    cmp_proto_set_seq (entry, 1);
    s_say (entry, "channel", cmp_proto_channel (submit));
    s_say (entry, "ref", cmp_proto_ref (submit));
    zchunk_t *chunk = cmp_proto_encode_map (entry);
    cmp_proto_destroy (&entry);
    return chunk;
}

void
cmp_case_print_table (FILE *file)
{
    fprintf (file, "| action | from | to | roles | needs | also takes |\n");
    fprintf (file, "| --- | --- | --- | --- | --- | --- |\n");
    for (int index = 0; index < A_COUNT; index++) {
        const s_action_t *action = &s_actions[index];
        char from[512] = "";
        if (action->from == LIVE)
            snprintf (from, sizeof (from), "any but archived and purged");
        else if (action->from == OPEN)
            snprintf (from, sizeof (from), "any open (registered to rejected)");
        else
            for (int state = 0; state < ST_COUNT; state++)
                if (action->from & B (state))
                    snprintf (from + strlen (from),
                              sizeof (from) - strlen (from), "%s%s",
                              *from ? ", " : "", s_state_names[state]);
        const char *to =
          action->to == TO_SAME         ? "(same)"
          : action->to == TO_ANSWER     ? "accepted or rejected"
          : action->to == TO_CLASSIFIED ? "triaged if classified, else the same"
          : action->to == TO_REOPEN
            ? "assigned (registered without a department)"
          : action->id == A_FOLLOW_UP ? "followed_up (then reopened below "
                                        "cases/reopen_below)"
                                      : s_state_names[action->to];
        char roles[80];
        s_role_list (action->roles, roles, sizeof (roles));
        fprintf (file, "| %s | %s | %s | %s | %s | %s |\n", action->name, from,
                 to, roles, *action->required ? action->required : "-",
                 *action->optional ? action->optional : "-");
    }
}

//  --------------------------------------------------------------------------
//  Self test

//  An ACT on complaint 1 by actor, with a few fields (key, value pairs;
//  integers are given as text and set by key)
static cmp_proto_t *
s_act (const char *actor, const char *action, ...)
{
    cmp_proto_t *act = cmp_proto_new (CMP_PROTO_ACT);
    cmp_proto_set_request_id (act, 9);
    cmp_proto_set_actor (act, actor);
    cmp_proto_set_complaint_id (act, 1);
    cmp_proto_set_action (act, action);
    va_list args;
    va_start (args, action);
    const char *key;
    while ((key = va_arg (args, const char *))) {
        const char *value = va_arg (args, const char *);
        if (streq (key, "amount"))
            cmp_proto_set_amount (act, strtoull (value, NULL, 10));
        else if (streq (key, "satisfaction"))
            cmp_proto_set_satisfaction (act, strtoull (value, NULL, 10));
        else if (streq (key, "version"))
            cmp_proto_set_version (act, strtoull (value, NULL, 10));
        else if (streq (key, "accepted"))
            cmp_proto_set_accepted (act, streq (value, "true"));
        else
            cmp_proto_set_string (act, key, value);
    }
    va_end (args);
    return act;
}

//  Check an ACT by itself: 0 expects success, else the status and field
static void
s_expect_check (cmp_case_t *self,
                cmp_proto_t *act,
                int status,
                const char *field)
{
    cmp_proto_fault_t fault;
    memset (&fault, 0, sizeof (fault));
    int rc = cmp_case_check (self, act, &fault);
    if ((rc == 0) != (status == 0)
        || (status && (fault.status != status || !streq (fault.field, field))))
        printf ("%s: expected %d '%s', got rc %d: %d '%s' %s\n",
                cmp_proto_action (act), status, field ? field : "", rc,
                fault.status, fault.field, fault.text);
    assert ((rc == 0) == (status == 0));
    if (status) {
        assert (fault.status == status);
        assert (streq (fault.field, field));
        //  Every message starts with the field it names
        assert (strncmp (fault.text, field, strlen (field)) == 0);
    }
    cmp_proto_destroy (&act);
}

//  Apply an ACT in its own transaction; returns the reply
static cmp_proto_t *
s_apply (cmp_case_t *self, cmp_store_t *store, cmp_proto_t *act, int64_t now)
{
    cmp_proto_fault_t fault;
    int rc = cmp_case_check (self, act, &fault);
    if (rc)
        printf ("check of %s failed: %s\n", cmp_proto_action (act), fault.text);
    assert (rc == 0);
    rc = cmp_store_begin (store);
    assert (rc == 0);
    cmp_proto_t *reply = NULL;
    cmp_case_event_t events[CMP_CASE_EVENTS_MAX];
    rc = cmp_case_apply (self, store, NULL, act, now, &reply, events);
    assert (rc == 0 && reply);
    rc = cmp_store_commit (store);
    assert (rc == 0);
    for (int index = 0; index < CMP_CASE_EVENTS_MAX; index++)
        zchunk_destroy (&events[index].event);
    cmp_proto_destroy (&act);
    return reply;
}

//  Apply and expect the complaint to reach state
static void
s_expect_state (cmp_case_t *self,
                cmp_store_t *store,
                cmp_proto_t *act,
                const char *state)
{
    const char *action = s_action (cmp_proto_action (act))->name;
    cmp_proto_t *reply = s_apply (self, store, act, 1795000001000);
    if (cmp_proto_id (reply) != CMP_PROTO_ACTED
        || !streq (cmp_proto_state (reply), state))
        printf ("%s: expected state %s, got %s %s\n", action, state,
                cmp_proto_command (reply),
                cmp_proto_message (reply) ? cmp_proto_message (reply)
                                          : cmp_proto_state (reply));
    assert (cmp_proto_id (reply) == CMP_PROTO_ACTED);
    assert (streq (cmp_proto_state (reply), state));
    cmp_proto_destroy (&reply);
}

//  Apply and expect an ERROR with status, field, and text in its message
static void
s_expect_error (cmp_case_t *self,
                cmp_store_t *store,
                cmp_proto_t *act,
                int status,
                const char *field,
                const char *text)
{
    cmp_proto_t *reply = s_apply (self, store, act, 1795000001000);
    if (cmp_proto_id (reply) != CMP_PROTO_ERROR
        || (int) cmp_proto_status (reply) != status
        || !streq (cmp_proto_field (reply), field)
        || !strstr (cmp_proto_message (reply), text))
        printf ("expected %d %s '%s', got %s %s\n", status, field, text,
                cmp_proto_command (reply),
                cmp_proto_message (reply) ? cmp_proto_message (reply) : "");
    assert (cmp_proto_id (reply) == CMP_PROTO_ERROR);
    assert ((int) cmp_proto_status (reply) == status);
    assert (streq (cmp_proto_field (reply), field));
    assert (strstr (cmp_proto_message (reply), text));
    cmp_proto_destroy (&reply);
}

//  The record of complaint 1
static cmp_proto_t *
s_record (cmp_store_t *store)
{
    zchunk_t *chunk = cmp_store_complaint (store, 1);
    assert (chunk);
    cmp_proto_t *record = cmp_proto_decode_map (
      CMP_PROTO_COMPLAINT, zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);
    assert (record);
    return record;
}

void
cmp_case_test (bool verbose)
{
    printf (" * cmp_case: ");
    if (verbose)
        printf ("\n");

    cmp_config_t *config = cmp_config_new ();
    int rc = cmp_config_set (config, "roles/agent", "li.na,zhang.min");
    assert (rc == 0);
    rc = cmp_config_set (config, "roles/supervisor", "wang.wei chen.jie");
    assert (rc == 0);
    rc = cmp_config_set (config, "roles/auditor", "audit");
    assert (rc == 0);
    rc = cmp_config_set (config, "roles/admin", "ops");
    assert (rc == 0);
    rc = cmp_config_set (config, "roles/adapter", "gateway");
    assert (rc == 0);
    rc = cmp_config_set (config, "limits/contacts", "2");
    assert (rc == 0);
    rc = cmp_config_validate (config);
    assert (rc == 0);
    cmp_case_t *self = cmp_case_new (config);
    assert (self);

    //  Roles, from the configuration
    assert (streq (cmp_case_role (self, "zhang.min"), "agent"));
    assert (streq (cmp_case_role (self, "chen.jie"), "supervisor"));
    assert (cmp_case_role (self, "nobody") == NULL);
    //  Permissions by role alone: one row per role
    struct
    {
        const char *actor; //  Actor of that role
        bool submit, read; //  May submit, may read
        bool assign;       //  May take a case action
        bool approve;      //  May approve and extend
        bool archive;      //  May archive
    } roles[] = {{"gateway", true, false, false, false, false},
                 {"li.na", true, true, true, false, false},
                 {"wang.wei", true, true, true, true, false},
                 {"audit", false, true, false, false, false},
                 {"ops", false, true, false, false, true},
                 {"nobody", false, false, false, false, false}};
    for (size_t index = 0; index < sizeof (roles) / sizeof (roles[0]);
         index++) {
        cmp_proto_fault_t fault;
        const char *actor = roles[index].actor;
        assert ((cmp_case_may (self, actor, "submit", &fault) == 0)
                == roles[index].submit);
        assert ((cmp_case_may (self, actor, "read", &fault) == 0)
                == roles[index].read);
        assert ((cmp_case_may (self, actor, "assign", &fault) == 0)
                == roles[index].assign);
        assert ((cmp_case_may (self, actor, "note", &fault) == 0)
                == roles[index].assign);
        assert ((cmp_case_may (self, actor, "approve", &fault) == 0)
                == roles[index].approve);
        assert ((cmp_case_may (self, actor, "extend", &fault) == 0)
                == roles[index].approve);
        assert ((cmp_case_may (self, actor, "archive", &fault) == 0)
                == roles[index].archive);
        if (!roles[index].read) {
            assert (fault.status == CMP_STATUS_FORBIDDEN);
            assert (streq (fault.field, "actor"));
        }
    }
    cmp_proto_fault_t fault;
    rc = cmp_case_may (self, NULL, "read", &fault);
    assert (rc == -1 && fault.status == CMP_STATUS_INVALID);

    //  Checks of an ACT by itself
    s_expect_check (
      self, s_act ("li.na", "assign", "department", "ward 3", NULL), 0, NULL);
    s_expect_check (self, s_act ("li.na", "fly", NULL), CMP_STATUS_INVALID,
                    "action");
    s_expect_check (self, s_act (NULL, "note", "text", "x", NULL),
                    CMP_STATUS_INVALID, "actor");
    s_expect_check (self, s_act ("li.na", "assign", NULL), CMP_STATUS_INVALID,
                    "department");
    s_expect_check (
      self, s_act ("li.na", "assign", "department", "a", "reason", "why", NULL),
      CMP_STATUS_INVALID, "reason");
    s_expect_check (
      self,
      s_act ("li.na", "triage", "category", "fees", "severity", "huge", NULL),
      CMP_STATUS_INVALID, "severity");
    s_expect_check (self,
                    s_act ("li.na", "follow_up", "satisfaction", "0", NULL),
                    CMP_STATUS_INVALID, "satisfaction");
    s_expect_check (self,
                    s_act ("li.na", "follow_up", "satisfaction", "6", NULL),
                    CMP_STATUS_INVALID, "satisfaction");
    s_expect_check (
      self, s_act ("li.na", "propose", "text", "refund", "amount", "100", NULL),
      CMP_STATUS_INVALID, "currency");
    s_expect_check (self,
                    s_act ("li.na", "propose", "text", "refund", "amount",
                           "100", "currency", "cny", "kind", "refund", NULL),
                    CMP_STATUS_INVALID, "currency");
    s_expect_check (self,
                    s_act ("li.na", "propose", "text", "sorry", "kind",
                           "apology", "amount", "1", "currency", "CNY", NULL),
                    CMP_STATUS_INVALID, "amount");
    //  Blank is refused, in any script's spaces
    s_expect_check (self,
                    s_act ("li.na", "close", "reason", " \xe3\x80\x80\t", NULL),
                    CMP_STATUS_INVALID, "reason");
    s_expect_check (self, s_act ("li.na", "note", "text", "a\x01b", NULL),
                    CMP_STATUS_INVALID, "text");
    s_expect_check (self, s_act ("li\x01na", "note", "text", "x", NULL),
                    CMP_STATUS_INVALID, "actor");
    s_expect_check (self, s_act ("li.na", "answer", "accepted", "false", NULL),
                    CMP_STATUS_INVALID, "reason");
    s_expect_check (self,
                    s_act ("li.na", "note", "text", "x", "version", "0", NULL),
                    CMP_STATUS_INVALID, "version");
    cmp_proto_t *act = s_act ("li.na", "note", "text", "x", NULL);
    cmp_proto_set_number (act, "20261123-000001");
    s_expect_check (self, act, CMP_STATUS_INVALID, "id");
    char *long_text = (char *) zmalloc (4098);
    memset (long_text, 'x', 4097);
    s_expect_check (self, s_act ("li.na", "note", "text", long_text, NULL),
                    CMP_STATUS_INVALID, "text");
    free (long_text);

    //  A whole case in a store
    const char *path = "tests/selftest-rw/cmp_case";
    zsys_dir_create ("tests/selftest-rw");
    zdir_t *old = zdir_new (path, NULL);
    if (old)
        zdir_remove (old, true);
    zdir_destroy (&old);
    cmp_store_t *store = cmp_store_new (path, 1 << 20, 0);
    assert (store);
    cmp_intake_t *intake = cmp_intake_new (config);
    cmp_proto_t *submit = cmp_proto_new (CMP_PROTO_SUBMIT);
    cmp_proto_set_channel (submit, "counter");
    cmp_proto_set_ref (submit, "desk-1");
    cmp_proto_set_description (submit, "多收了挂号费 charged twice");
    rc = cmp_store_begin (store);
    assert (rc == 0);
    cmp_proto_t *reply;
    cmp_case_event_t created[CMP_CASE_EVENTS_MAX];
    rc = cmp_intake_register (intake, store, NULL, submit, NULL, 1795000000000,
                              &reply, created);
    assert (rc == 0);
    rc = cmp_store_commit (store);
    assert (rc == 0);
    cmp_proto_destroy (&reply);
    zchunk_destroy (&created[0].event);
    cmp_proto_destroy (&submit);

    //  Not allowed in this state: the error names state and what is
    s_expect_error (self, store, s_act ("li.na", "resolve", NULL),
                    CMP_STATUS_CONFLICT, "action",
                    "is registered, where resolve is not allowed; allowed: "
                    "triage, assign, note, contact, resolve_on_spot, "
                    "withdraw, merge");
    s_expect_state (self, store,
                    s_act ("li.na", "triage", "category", "fees", "severity",
                           "ordinary", NULL),
                    "triaged");
    s_expect_error (self, store, s_act ("li.na", "start", NULL),
                    CMP_STATUS_CONFLICT, "action", "not allowed");
    s_expect_state (self, store,
                    s_act ("li.na", "assign", "department", "finance", NULL),
                    "assigned");
    //  No handler yet
    s_expect_error (self, store, s_act ("li.na", "start", NULL),
                    CMP_STATUS_CONFLICT, "action", "has no handler");
    s_expect_state (self, store,
                    s_act ("li.na", "assign", "department", "finance",
                           "handler", "zhang.min", NULL),
                    "assigned");
    //  Only the handler or a supervisor steps aside; that is recorded
    s_expect_error (self, store,
                    s_act ("li.na", "recuse", "reason", "not mine", NULL),
                    CMP_STATUS_FORBIDDEN, "actor", "only the handler");
    s_expect_state (
      self, store,
      s_act ("zhang.min", "recuse", "reason", "my cousin is the cashier", NULL),
      "assigned");
    cmp_proto_t *record = s_record (store);
    assert (cmp_proto_handler (record) == NULL);
    assert (streq (cmp_proto_case_department (record), "finance"));
    cmp_proto_destroy (&record);
    s_expect_state (self, store,
                    s_act ("li.na", "assign", "department", "finance",
                           "handler", "li.na", NULL),
                    "assigned");
    s_expect_state (self, store, s_act ("li.na", "start", NULL),
                    "investigating");
    //  The record keeps the latest limits/contacts contacts
    const char *summaries[] = {"first call", "second call", "third call"};
    for (int index = 0; index < 3; index++) {
        cmp_proto_t *contact = s_act ("li.na", "contact", NULL);
        cmp_proto_set_direction (contact, "out");
        cmp_proto_set_channel (contact, "phone");
        cmp_proto_set_summary (contact, summaries[index]);
        s_expect_state (self, store, contact, "investigating");
    }
    record = s_record (store);
    assert (zlistx_size (cmp_proto_items (record)) == 2);
    cmp_proto_t *oldest =
      (cmp_proto_t *) zlistx_first (cmp_proto_items (record));
    assert (streq (cmp_proto_summary (oldest), "second call"));
    cmp_proto_destroy (&record);
    s_expect_error (self, store,
                    s_act ("li.na", "extend", "reason", "slow", NULL),
                    CMP_STATUS_FORBIDDEN, "actor", "needs supervisor");
    s_expect_state (self, store,
                    s_act ("wang.wei", "extend", "reason", "two wards", NULL),
                    "investigating");
    s_expect_error (self, store,
                    s_act ("wang.wei", "extend", "reason", "again", NULL),
                    CMP_STATUS_CONFLICT, "action", "once only");
    s_expect_state (self, store,
                    s_act ("li.na", "propose", "text", "refund the fee", "kind",
                           "refund", "amount", "1500", "currency", "CNY", NULL),
                    "proposed");
    //  Compensation needs approval, not by the one who proposed it
    s_expect_error (self, store, s_act ("li.na", "tell", NULL),
                    CMP_STATUS_CONFLICT, "action", "needs a supervisor");
    //  A stale version is refused before anything else
    s_expect_error (self, store,
                    s_act ("wang.wei", "approve", "version", "3", NULL),
                    CMP_STATUS_STALE, "version", "is at version");
    s_expect_state (self, store, s_act ("wang.wei", "approve", NULL),
                    "approved");
    s_expect_state (self, store, s_act ("li.na", "tell", NULL), "told");
    s_expect_state (self, store,
                    s_act ("li.na", "answer", "accepted", "true", NULL),
                    "accepted");
    s_expect_state (self, store,
                    s_act ("li.na", "resolve", "text", "refunded", NULL),
                    "resolved");
    //  A poor follow-up reopens the case by itself
    s_expect_state (self, store,
                    s_act ("li.na", "follow_up", "satisfaction", "2", NULL),
                    "assigned");
    record = s_record (store);
    assert (cmp_proto_satisfaction (record) == 2);
    uint64_t version = cmp_proto_version (record);
    cmp_proto_destroy (&record);
    uint64_t history;
    rc = cmp_store_history_count (store, 1, &history);
    assert (rc == 0);
    //  The registration, 16 changes, 7 refusals of which the 2 refused
    //  permissions are recorded, and the reopen
    zlistx_t *entries = zlistx_new ();
    rc = cmp_store_history (store, 1, 1, 1000, entries);
    assert (rc == 0);
    assert (zlistx_size (entries) == history);
    size_t refused = 0, reopened = 0, number = 0;
    for (zchunk_t *chunk = (zchunk_t *) zlistx_first (entries); chunk;
         chunk = (zchunk_t *) zlistx_next (entries)) {
        cmp_proto_t *entry = cmp_proto_decode_map (
          CMP_PROTO_ENTRY, zchunk_data (chunk), zchunk_size (chunk));
        assert (entry);
        assert (cmp_proto_seq (entry) == ++number);
        if (cmp_proto_refused (entry)) {
            refused++;
            assert (
              streq (cmp_proto_previous (entry), cmp_proto_state (entry)));
        }
        if (streq (cmp_proto_action (entry), "reopen")) {
            reopened++;
            assert (streq (cmp_proto_actor (entry), CMP_CASE_SYSTEM));
            assert (streq (cmp_proto_state (entry), "assigned"));
        }
        cmp_proto_destroy (&entry);
        zchunk_destroy (&chunk);
    }
    zlistx_destroy (&entries);
    assert (refused == 2);
    assert (reopened == 1);
    //  Versions count changes, not refusals
    assert (version == 1 + 16 + 1);
    assert (history == 1 + 16 + 2 + 1);
    //  An entry, once written, cannot be written again
    rc = cmp_store_begin (store);
    assert (rc == 0);
    zchunk_t *chunk = zchunk_new ("\x80", 1);
    rc = cmp_store_history_put (store, 1, 1, chunk);
    assert (rc == -1);
    cmp_store_abort (store);
    zchunk_destroy (&chunk);

    cmp_intake_destroy (&intake);
    cmp_store_destroy (&store);
    zdir_t *dir = zdir_new (path, NULL);
    zdir_remove (dir, true);
    zdir_destroy (&dir);
    cmp_case_destroy (&self);
    cmp_config_destroy (&config);
    printf ("OK\n");
}
