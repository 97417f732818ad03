/*  =========================================================================
    cmp_case - the complaint's life: states, actions, roles and history

    One table (s_actions in cmp_case.c) says, for every action, the states
    it applies in, the state it leads to, the roles that may take it and
    the fields it needs and allows; proto/PROTOCOL.md prints the same table
    and cmp_case_print_table prints it from the code. Anything not in the
    table is refused, naming the current state and the actions it allows.

    An ACT is checked twice. cmp_case_check, on the event loop, checks what
    the request says by itself: the action, the target, the fields and
    their values. cmp_case_apply, in the writer's transaction, checks it
    against the complaint as it is now (version, role, state, guards),
    then writes the new record, one history entry per change and one event
    per entry. A refused permission is recorded in the history too.

    The role of an actor comes from the roles/ keys of the configuration.
    An instance is immutable once made: a reload makes a new one.
    =========================================================================
*/

#ifndef CMP_CASE_H_INCLUDED
#define CMP_CASE_H_INCLUDED

//  The actor of what the daemon does by itself (a reopen after a poor
//  follow-up, an archive after the quiet period)
#define CMP_CASE_SYSTEM "complaintd"

//  Event topics
#define CMP_TOPIC_STATE "complaint.state"
#define CMP_TOPIC_UPDATED "complaint.updated"
#define CMP_TOPIC_PURGED "complaint.purged"
#define CMP_TOPIC_REMINDER "complaint.sla.reminder"
#define CMP_TOPIC_WARNING "complaint.sla.warning"
#define CMP_TOPIC_BREACHED "complaint.sla.breached"
#define CMP_TOPIC_STOPPED "complaint.sla.stopped"
#define CMP_TOPIC_ESCALATED "complaint.escalated"

//  One stored event to publish after the commit
typedef struct
{
    const char *topic; //  CMP_TOPIC_ constant
    zchunk_t *event;   //  Stored event map
} cmp_case_event_t;

//  Most events one request may produce: a follow-up with its reopen,
//  each with the clocks it stops and an escalation, and an emergency
#define CMP_CASE_EVENTS_MAX (3 + 2 * (CMP_SLA_CLOCKS + 1))

//  Create the case rules with the roles and limits of config.
cmp_case_t *cmp_case_new (cmp_config_t *config);

//  Destroy; idempotent.
void cmp_case_destroy (cmp_case_t **self_p);

//  True if name is a state of the transition table ("investigating").
bool cmp_case_state_known (const char *name);

//  True if name is a priority an ACT may set ("urgent").
bool cmp_case_priority_known (const char *name);

//  The role of actor ("agent"), or NULL if the configuration gives none.
const char *cmp_case_role (cmp_case_t *self, const char *actor);

//  Check that actor may take action ("submit", "read" or an ACT action)
//  by role alone. Returns 0, or -1 with fault filled in (403, or 422 when
//  the actor is missing).
int cmp_case_may (cmp_case_t *self,
                  const char *actor,
                  const char *action,
                  cmp_proto_fault_t *fault) CMP_MUSTCHECK;

//  Check an ACT by itself. Returns 0, or -1 with fault filled in.
int cmp_case_check (cmp_case_t *self,
                    cmp_proto_t *act,
                    cmp_proto_fault_t *fault) CMP_MUSTCHECK;

//  Apply a checked ACT at now (ms) in the store's open write transaction,
//  by the rulebook's triage rules (a retriage) and deadline policies
//  (rulebook may be NULL: no triage, no deadlines). Sets *reply_p to
//  ACTED or ERROR, and fills events (up to CMP_CASE_EVENTS_MAX, the rest
//  zeroed) with what to publish after the commit. Returns -1 if the store
//  failed; the transaction must then be aborted.
int cmp_case_apply (cmp_case_t *self,
                    cmp_store_t *store,
                    cmp_rulebook_t *rulebook,
                    cmp_proto_t *act,
                    int64_t now,
                    cmp_proto_t **reply_p,
                    cmp_case_event_t *events) CMP_MUSTCHECK;

//  Fire the deadline points due at or before now, in the store's open
//  write transaction: for each complaint whose timer is due (at most max,
//  earliest first), the clocks' reminders, warnings, breaches and
//  escalations, each with its event (and an escalation with its history
//  entry). Appends the events to fired (cmp_case_event_t items, which
//  the caller frees with cmp_case_event_free), sets *count to the number
//  of complaints and *more if more were due. Returns -1 if the store
//  failed.
int cmp_case_fire (cmp_store_t *store,
                   cmp_sla_t *sla,
                   int64_t now,
                   size_t max,
                   zlistx_t *fired,
                   size_t *count,
                   bool *more) CMP_MUSTCHECK;

//  Free a cmp_case_event_t that cmp_case_fire allocated (a zlistx
//  destructor).
void cmp_case_event_free (void **item);

//  Store the events (and, for escalations, the history entries after
//  entry *history) of count notices of cmp_sla about the complaint
//  record; put them in events from *used on, up to max. Returns -1 if the
//  store failed.
int cmp_case_notices_put (cmp_store_t *store,
                          cmp_sla_t *sla,
                          cmp_proto_t *record,
                          cmp_sla_notice_t *notices,
                          int count,
                          int64_t now,
                          uint64_t *history,
                          cmp_case_event_t *events,
                          size_t max,
                          size_t *used) CMP_MUSTCHECK;

//  The record of complaint id, decoded, or NULL if it is not stored or
//  cannot be decoded. In the writer thread this sees the open transaction.
cmp_proto_t *cmp_case_record (cmp_store_t *store, uint64_t id);

//  What the query indexes hold of a record (its state, department,
//  handler, category, priority, escalation level, overdue flag, times,
//  earliest due time and next timer). With copy, the strings are copies:
//  free them with cmp_case_keys_free.
void cmp_case_keys (cmp_proto_t *record, cmp_store_keys_t *keys, bool copy);
void cmp_case_keys_free (cmp_store_keys_t *keys);

//  The first history entry of a new complaint, registered by actor (the
//  channel's adapter when NULL). Caller owns the chunk.
zchunk_t *cmp_case_entry_registered (cmp_proto_t *submit, int64_t now);

//  The second history entry of a complaint the rules triaged at
//  registration: the daemon's, with every field the triage set. Caller
//  owns the chunk.
zchunk_t *cmp_case_entry_triaged (cmp_proto_t *record, int64_t now);

//  Print the transition table (action, from, to, roles) as Markdown.
void cmp_case_print_table (FILE *file);

//  Self test of this class
void cmp_case_test (bool verbose);

#endif
