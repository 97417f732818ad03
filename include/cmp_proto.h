/*  =========================================================================
    cmp_proto - the complaintd protocol codec (version 1)

    One cmp_proto_t is one protocol message. The class mirrors
    proto/PROTOCOL.md one to one: a CMP_PROTO_<NAME> constant per message and
    an accessor pair per field. Fields form one flat set, as in zproto
    codecs; each message uses the subset its table in the spec lists, and
    the encoder writes only that subset.

    Every body is the msgpack array [signature, version, type, request id,
    fields]. cmp_proto_decode checks the signature and version, bounds
    nesting, element counts and sizes before msgpack allocates anything,
    checks every field's type and UTF-8, and refuses unknown keys.
    =========================================================================
*/

#ifndef CMP_PROTO_H_INCLUDED
#define CMP_PROTO_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CMP_PROTO_SIGNATURE "CMP"
#define CMP_PROTO_VERSION 1

//  Decoder bounds, applied before anything is allocated
#define CMP_PROTO_MAX_DEPTH 8
#define CMP_PROTO_MAX_ELEMENTS 4096

//  Message types
#define CMP_PROTO_SUBMIT 1
#define CMP_PROTO_SUBMITTED 2
#define CMP_PROTO_GET 3
#define CMP_PROTO_COMPLAINT 4
#define CMP_PROTO_LIST 5
#define CMP_PROTO_COMPLAINTS 6
#define CMP_PROTO_REPLAY 7
#define CMP_PROTO_EVENTS 8
#define CMP_PROTO_HEALTH 9
#define CMP_PROTO_STATUS 10
#define CMP_PROTO_EVENT 11
#define CMP_PROTO_ERROR 12
#define CMP_PROTO_ACT 13
#define CMP_PROTO_ACTED 14
#define CMP_PROTO_HISTORY 15
#define CMP_PROTO_ENTRIES 16
#define CMP_PROTO_COUNT 17
#define CMP_PROTO_COUNTED 18
#define CMP_PROTO_RELOAD 19
#define CMP_PROTO_RELOADED 20
#define CMP_PROTO_SLA 21
#define CMP_PROTO_CLOCKS 22
#define CMP_PROTO_TICK 23
#define CMP_PROTO_TICKED 24

//  Maps that are not messages: stored history entries, and the items of
//  a record's contact log, of an entry's changes and of a record's (or a
//  CLOCKS reply's) deadline clocks
#define CMP_PROTO_ENTRY 64
#define CMP_PROTO_CONTACT 65
#define CMP_PROTO_CHANGE 66
#define CMP_PROTO_CLOCK 67

//  Status codes (one table, PROTOCOL.md "Errors")
#define CMP_STATUS_OK 200
#define CMP_STATUS_BAD_REQUEST 400
#define CMP_STATUS_FORBIDDEN 403
#define CMP_STATUS_NOT_FOUND 404
#define CMP_STATUS_NOT_SUPPORTED 405
#define CMP_STATUS_CONFLICT 409
#define CMP_STATUS_STALE 412
#define CMP_STATUS_TOO_LARGE 413
#define CMP_STATUS_INVALID 422
#define CMP_STATUS_INTERNAL 500
#define CMP_STATUS_UNAVAILABLE 503
#define CMP_STATUS_VERSION 505
#define CMP_STATUS_STORAGE_FULL 507

//  Why a body could not be decoded. The request id and message type are
//  filled in as far as the body could be read, so that the ERROR reply can
//  carry them.
typedef struct
{
    int status;          //  CMP_STATUS_ code
    int id;              //  Message type, 0 if not known
    uint64_t request_id; //  Request id, 0 if not read
    char field[128];     //  Dotted path of the field at fault, or ""
    char text[512];      //  Human-readable reason
} cmp_proto_fault_t;

typedef struct _cmp_proto_t cmp_proto_t;

//  Create a new empty message of the given type.
cmp_proto_t *cmp_proto_new (int id);

//  Destroy a message; idempotent, nulls the pointer.
void cmp_proto_destroy (cmp_proto_t **self_p);

//  Decode one body. Returns a new message, or NULL with *fault filled in
//  (fault may be NULL) and a warning logged.
cmp_proto_t *
cmp_proto_decode (const void *data, size_t size, cmp_proto_fault_t *fault);

//  Encode the message as a body frame. Caller owns the frame.
zframe_t *cmp_proto_encode (cmp_proto_t *self);

//  Encode only the fields map of a COMPLAINT (the stored record), an
//  EVENT (the stored event) or an ENTRY (a stored history entry). Caller
//  owns the chunk.
zchunk_t *cmp_proto_encode_map (cmp_proto_t *self);

//  Decode a bare fields map as encoded by cmp_proto_encode_map (a stored
//  record when id is CMP_PROTO_COMPLAINT, a stored event when it is
//  CMP_PROTO_EVENT, an entry when it is CMP_PROTO_ENTRY). Returns NULL if
//  the map is not valid.
cmp_proto_t *cmp_proto_decode_map (int id, const void *data, size_t size);

//  Message type and its protocol name ("SUBMIT"), or "?" if unknown.
int cmp_proto_id (cmp_proto_t *self);
void cmp_proto_set_id (cmp_proto_t *self, int id);
const char *cmp_proto_command (cmp_proto_t *self);
const char *cmp_proto_id_name (int id);

//  Client-chosen request id, echoed in the reply
uint64_t cmp_proto_request_id (cmp_proto_t *self);
void cmp_proto_set_request_id (cmp_proto_t *self, uint64_t request_id);

//  Print the message to stdout, for debugging and the CLI
void cmp_proto_print (cmp_proto_t *self);

//  The message's fields as a JSON object (UTF-8), for scripts. Caller
//  frees the string with zstr_free. Returns NULL on failure.
char *cmp_proto_json (cmp_proto_t *self);

//  ---------------------------------------------------------------------
//  String fields. Getters return NULL when the field is absent; the value
//  is valid until the field is set again or the message is destroyed.
//  Setters copy the value; NULL clears the field.

//  Complaint: channel (phone, email, ...) and the adapter's reference
const char *cmp_proto_channel (cmp_proto_t *self);
void cmp_proto_set_channel (cmp_proto_t *self, const char *value);
const char *cmp_proto_ref (cmp_proto_t *self);
void cmp_proto_set_ref (cmp_proto_t *self, const char *value);
//  Complaint number, e.g. 20261123-000042
const char *cmp_proto_number (cmp_proto_t *self);
void cmp_proto_set_number (cmp_proto_t *self, const char *value);
//  Complaint state ("registered")
const char *cmp_proto_state (cmp_proto_t *self);
void cmp_proto_set_state (cmp_proto_t *self, const char *value);
//  Complainant (map "complainant" on the wire)
const char *cmp_proto_name (cmp_proto_t *self);
void cmp_proto_set_name (cmp_proto_t *self, const char *value);
const char *cmp_proto_phone (cmp_proto_t *self);
void cmp_proto_set_phone (cmp_proto_t *self, const char *value);
const char *cmp_proto_email (cmp_proto_t *self);
void cmp_proto_set_email (cmp_proto_t *self, const char *value);
const char *cmp_proto_relation (cmp_proto_t *self);
void cmp_proto_set_relation (cmp_proto_t *self, const char *value);
//  What is complained about (map "subject" on the wire)
const char *cmp_proto_department (cmp_proto_t *self);
void cmp_proto_set_department (cmp_proto_t *self, const char *value);
const char *cmp_proto_staff (cmp_proto_t *self);
void cmp_proto_set_staff (cmp_proto_t *self, const char *value);
const char *cmp_proto_location (cmp_proto_t *self);
void cmp_proto_set_location (cmp_proto_t *self, const char *value);
//  What happened, and what the complainant asks for
const char *cmp_proto_description (cmp_proto_t *self);
void cmp_proto_set_description (cmp_proto_t *self, const char *value);
const char *cmp_proto_demands (cmp_proto_t *self);
void cmp_proto_set_demands (cmp_proto_t *self, const char *value);
//  EVENT topic, e.g. complaint.created
const char *cmp_proto_topic (cmp_proto_t *self);
void cmp_proto_set_topic (cmp_proto_t *self, const char *value);
//  ERROR: symbolic code, human-readable message, field at fault
const char *cmp_proto_code (cmp_proto_t *self);
void cmp_proto_set_code (cmp_proto_t *self, const char *value);
const char *cmp_proto_message (cmp_proto_t *self);
void cmp_proto_set_message (cmp_proto_t *self, const char *value);
const char *cmp_proto_field (cmp_proto_t *self);
void cmp_proto_set_field (cmp_proto_t *self, const char *value);
//  LIST cursor, and COMPLAINTS cursor of the next page
const char *cmp_proto_after (cmp_proto_t *self);
void cmp_proto_set_after (cmp_proto_t *self, const char *value);
const char *cmp_proto_next (cmp_proto_t *self);
void cmp_proto_set_next (cmp_proto_t *self, const char *value);
//  STATUS: daemon version
const char *cmp_proto_software (cmp_proto_t *self);
void cmp_proto_set_software (cmp_proto_t *self, const char *value);
//  Who sends a request, with the role the daemon found for them; ACT's
//  action; the state before a change
const char *cmp_proto_actor (cmp_proto_t *self);
void cmp_proto_set_actor (cmp_proto_t *self, const char *value);
const char *cmp_proto_role (cmp_proto_t *self);
void cmp_proto_set_role (cmp_proto_t *self, const char *value);
const char *cmp_proto_action (cmp_proto_t *self);
void cmp_proto_set_action (cmp_proto_t *self, const char *value);
const char *cmp_proto_previous (cmp_proto_t *self);
void cmp_proto_set_previous (cmp_proto_t *self, const char *value);
//  The case (map "case" in a record; flat in ACT): responsible department,
//  handler, classification, outside route, resolution, last reason
const char *cmp_proto_case_department (cmp_proto_t *self);
void cmp_proto_set_case_department (cmp_proto_t *self, const char *value);
const char *cmp_proto_handler (cmp_proto_t *self);
void cmp_proto_set_handler (cmp_proto_t *self, const char *value);
const char *cmp_proto_category (cmp_proto_t *self);
void cmp_proto_set_category (cmp_proto_t *self, const char *value);
const char *cmp_proto_severity (cmp_proto_t *self);
void cmp_proto_set_severity (cmp_proto_t *self, const char *value);
const char *cmp_proto_priority (cmp_proto_t *self);
void cmp_proto_set_priority (cmp_proto_t *self, const char *value);
const char *cmp_proto_route (cmp_proto_t *self);
void cmp_proto_set_route (cmp_proto_t *self, const char *value);
const char *cmp_proto_resolution (cmp_proto_t *self);
void cmp_proto_set_resolution (cmp_proto_t *self, const char *value);
const char *cmp_proto_reason (cmp_proto_t *self);
void cmp_proto_set_reason (cmp_proto_t *self, const char *value);
//  ACT: free text of a note, proposal, resolution or decision
const char *cmp_proto_text (cmp_proto_t *self);
void cmp_proto_set_text (cmp_proto_t *self, const char *value);
//  A contact with the complainant: in or out, channel (channel), summary
const char *cmp_proto_direction (cmp_proto_t *self);
void cmp_proto_set_direction (cmp_proto_t *self, const char *value);
const char *cmp_proto_summary (cmp_proto_t *self);
void cmp_proto_set_summary (cmp_proto_t *self, const char *value);
//  Proposal (map "proposal" in a record): text, compensation kind and
//  currency, who proposed and who approved
const char *cmp_proto_proposal (cmp_proto_t *self);
void cmp_proto_set_proposal (cmp_proto_t *self, const char *value);
const char *cmp_proto_kind (cmp_proto_t *self);
void cmp_proto_set_kind (cmp_proto_t *self, const char *value);
const char *cmp_proto_currency (cmp_proto_t *self);
void cmp_proto_set_currency (cmp_proto_t *self, const char *value);
const char *cmp_proto_proposed_by (cmp_proto_t *self);
void cmp_proto_set_proposed_by (cmp_proto_t *self, const char *value);
const char *cmp_proto_approved_by (cmp_proto_t *self);
void cmp_proto_set_approved_by (cmp_proto_t *self, const char *value);
//  The complainant's answer (map "answer") and the follow-up comment
const char *cmp_proto_answer_reason (cmp_proto_t *self);
void cmp_proto_set_answer_reason (cmp_proto_t *self, const char *value);
const char *cmp_proto_comment (cmp_proto_t *self);
void cmp_proto_set_comment (cmp_proto_t *self, const char *value);
//  ACT merge: number of the complaint this one is merged into
const char *cmp_proto_into (cmp_proto_t *self);
void cmp_proto_set_into (cmp_proto_t *self, const char *value);
//  History entry: one change (field, old and new value as text), or why
//  the action was refused
const char *cmp_proto_old_value (cmp_proto_t *self);
void cmp_proto_set_old_value (cmp_proto_t *self, const char *value);
const char *cmp_proto_new_value (cmp_proto_t *self);
void cmp_proto_set_new_value (cmp_proto_t *self, const char *value);
const char *cmp_proto_refused (cmp_proto_t *self);
void cmp_proto_set_refused (cmp_proto_t *self, const char *value);
//  Case: subcategory, impact (one, several, public), deadline policy and
//  handler group, as triage set them (CLOCKS: sla, the policy followed)
const char *cmp_proto_subcategory (cmp_proto_t *self);
void cmp_proto_set_subcategory (cmp_proto_t *self, const char *value);
const char *cmp_proto_impact (cmp_proto_t *self);
void cmp_proto_set_impact (cmp_proto_t *self, const char *value);
const char *cmp_proto_sla (cmp_proto_t *self);
void cmp_proto_set_sla (cmp_proto_t *self, const char *value);
const char *cmp_proto_group (cmp_proto_t *self);
void cmp_proto_set_group (cmp_proto_t *self, const char *value);
//  Complainant: tier (vip, gold...), as the adapter knows it
const char *cmp_proto_tier (cmp_proto_t *self);
void cmp_proto_set_tier (cmp_proto_t *self, const char *value);
//  Triage: version of the rules that triaged the complaint
const char *cmp_proto_rules (cmp_proto_t *self);
void cmp_proto_set_rules (cmp_proto_t *self, const char *value);
//  Deadlines. A clock's name (key "name" in a CLOCK item, "clock" in an
//  event); its target as written ("5 workdays"); met or missed once it
//  stopped; CLOCK in a CLOCKS reply: its due time in the calendar's zone
//  ("2026-11-23 17:30 +08:00")
const char *cmp_proto_clock (cmp_proto_t *self);
void cmp_proto_set_clock (cmp_proto_t *self, const char *value);
const char *cmp_proto_target (cmp_proto_t *self);
void cmp_proto_set_target (cmp_proto_t *self, const char *value);
const char *cmp_proto_outcome (cmp_proto_t *self);
void cmp_proto_set_outcome (cmp_proto_t *self, const char *value);
const char *cmp_proto_due_local (cmp_proto_t *self);
void cmp_proto_set_due_local (cmp_proto_t *self, const char *value);
//  Escalation level (case.level of a record, CLOCKS, LIST and COUNT
//  filter, the level an event reached), and the one before (event)
const char *cmp_proto_level (cmp_proto_t *self);
void cmp_proto_set_level (cmp_proto_t *self, const char *value);
const char *cmp_proto_previous_level (cmp_proto_t *self);
void cmp_proto_set_previous_level (cmp_proto_t *self, const char *value);
//  The SLA policy the clocks came from (case.policy of a record; CLOCKS
//  carries it as "sla", cmp_proto_sla), and CLOCKS: the IANA zone of the
//  calendar ("Asia/Shanghai")
const char *cmp_proto_sla_policy (cmp_proto_t *self);
void cmp_proto_set_sla_policy (cmp_proto_t *self, const char *value);
const char *cmp_proto_zone (cmp_proto_t *self);
void cmp_proto_set_zone (cmp_proto_t *self, const char *value);

//  ---------------------------------------------------------------------
//  Integer and boolean fields. cmp_proto_has (self, "key") tells whether
//  an optional field was present; getters return 0 or false when absent.

bool cmp_proto_has (cmp_proto_t *self, const char *field);
//  A string field by its key in this message's fields map (flat fields
//  only, "department" of an ACT), or NULL; the setter asserts the key
const char *cmp_proto_string (cmp_proto_t *self, const char *key);
void
cmp_proto_set_string (cmp_proto_t *self, const char *key, const char *value);
//  Make an optional number field absent again
void cmp_proto_unset (cmp_proto_t *self, const char *field);
//  Times, milliseconds since the Unix epoch (UTC)
int64_t cmp_proto_complained_at (cmp_proto_t *self);
void cmp_proto_set_complained_at (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_received_at (cmp_proto_t *self);
void cmp_proto_set_received_at (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_at (cmp_proto_t *self);
void cmp_proto_set_at (cmp_proto_t *self, int64_t value);
//  LIST: time range [from, to); REPLAY: first sequence number (from)
int64_t cmp_proto_from (cmp_proto_t *self);
void cmp_proto_set_from (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_to (cmp_proto_t *self);
void cmp_proto_set_to (cmp_proto_t *self, int64_t value);
//  LIST and COUNT: range of the last change [updated_from, updated_to)
int64_t cmp_proto_updated_from (cmp_proto_t *self);
void cmp_proto_set_updated_from (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_updated_to (cmp_proto_t *self);
void cmp_proto_set_updated_to (cmp_proto_t *self, int64_t value);
//  STATUS: uptime in milliseconds
int64_t cmp_proto_uptime (cmp_proto_t *self);
void cmp_proto_set_uptime (cmp_proto_t *self, int64_t value);
//  Complaint id (server-assigned, from 1)
uint64_t cmp_proto_complaint_id (cmp_proto_t *self);
void cmp_proto_set_complaint_id (cmp_proto_t *self, uint64_t value);
//  Complaint version (1 after registration)
uint64_t cmp_proto_version (cmp_proto_t *self);
void cmp_proto_set_version (cmp_proto_t *self, uint64_t value);
//  EVENT sequence number; EVENTS "last" and STATUS "last_seq"
uint64_t cmp_proto_seq (cmp_proto_t *self);
void cmp_proto_set_seq (cmp_proto_t *self, uint64_t value);
uint64_t cmp_proto_last_seq (cmp_proto_t *self);
void cmp_proto_set_last_seq (cmp_proto_t *self, uint64_t value);
//  LIST and REPLAY page size
uint64_t cmp_proto_limit (cmp_proto_t *self);
void cmp_proto_set_limit (cmp_proto_t *self, uint64_t value);
//  ERROR status code
uint64_t cmp_proto_status (cmp_proto_t *self);
void cmp_proto_set_status (cmp_proto_t *self, uint64_t value);
//  STATUS: protocol version and number of complaints stored (also
//  COUNTED "count")
uint64_t cmp_proto_protocol (cmp_proto_t *self);
void cmp_proto_set_protocol (cmp_proto_t *self, uint64_t value);
uint64_t cmp_proto_complaints (cmp_proto_t *self);
void cmp_proto_set_complaints (cmp_proto_t *self, uint64_t value);
//  Complainant chose to stay anonymous
bool cmp_proto_anonymous (cmp_proto_t *self);
void cmp_proto_set_anonymous (cmp_proto_t *self, bool value);
//  SUBMITTED: the (channel, ref) was already registered
bool cmp_proto_duplicate (cmp_proto_t *self);
void cmp_proto_set_duplicate (cmp_proto_t *self, bool value);
//  Record: last change; COMPLAINT and ENTRIES: history length
int64_t cmp_proto_updated_at (cmp_proto_t *self);
void cmp_proto_set_updated_at (cmp_proto_t *self, int64_t value);
uint64_t cmp_proto_history (cmp_proto_t *self);
void cmp_proto_set_history (cmp_proto_t *self, uint64_t value);
//  Case: investigation extended once; id of the complaint merged into
bool cmp_proto_extended (cmp_proto_t *self);
void cmp_proto_set_extended (cmp_proto_t *self, bool value);
uint64_t cmp_proto_merged_into (cmp_proto_t *self);
void cmp_proto_set_merged_into (cmp_proto_t *self, uint64_t value);
//  Proposal: compensation in minor units (fen, cents); times
uint64_t cmp_proto_amount (cmp_proto_t *self);
void cmp_proto_set_amount (cmp_proto_t *self, uint64_t value);
int64_t cmp_proto_proposed_at (cmp_proto_t *self);
void cmp_proto_set_proposed_at (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_approved_at (cmp_proto_t *self);
void cmp_proto_set_approved_at (cmp_proto_t *self, int64_t value);
//  Answer: the complainant accepted the decision, and when
bool cmp_proto_accepted (cmp_proto_t *self);
void cmp_proto_set_accepted (cmp_proto_t *self, bool value);
int64_t cmp_proto_answered_at (cmp_proto_t *self);
void cmp_proto_set_answered_at (cmp_proto_t *self, int64_t value);
//  Follow-up: satisfaction 1 to 5, and when
uint64_t cmp_proto_satisfaction (cmp_proto_t *self);
void cmp_proto_set_satisfaction (cmp_proto_t *self, uint64_t value);
int64_t cmp_proto_followed_up_at (cmp_proto_t *self);
void cmp_proto_set_followed_up_at (cmp_proto_t *self, int64_t value);

//  Triage: an emergency (应急预案); earlier complaints of the same
//  complainant within the repeat window; when the triage ran
bool cmp_proto_emergency (cmp_proto_t *self);
void cmp_proto_set_emergency (cmp_proto_t *self, bool value);
uint64_t cmp_proto_repeats (cmp_proto_t *self);
void cmp_proto_set_repeats (cmp_proto_t *self, uint64_t value);
int64_t cmp_proto_triaged_at (cmp_proto_t *self);
void cmp_proto_set_triaged_at (cmp_proto_t *self, int64_t value);

//  A deadline clock (CLOCK item): counts working time (else elapsed
//  time); when it (last) started; start of its current running stretch;
//  clock ms used before it (in a CLOCKS reply: all used at its "at"); its
//  target in clock ms; when it is due; when its next point fires; when
//  its breach fired; when it stopped; whether its reminder fired; how
//  many warning points and further escalations fired (extended:
//  cmp_proto_extended). In a CLOCKS reply only: clock ms remaining,
//  negative when overdue.
bool cmp_proto_work (cmp_proto_t *self);
void cmp_proto_set_work (cmp_proto_t *self, bool value);
int64_t cmp_proto_started_at (cmp_proto_t *self);
void cmp_proto_set_started_at (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_since (cmp_proto_t *self);
void cmp_proto_set_since (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_used (cmp_proto_t *self);
void cmp_proto_set_used (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_total (cmp_proto_t *self);
void cmp_proto_set_total (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_due_at (cmp_proto_t *self);
void cmp_proto_set_due_at (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_next_at (cmp_proto_t *self);
void cmp_proto_set_next_at (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_breached_at (cmp_proto_t *self);
void cmp_proto_set_breached_at (cmp_proto_t *self, int64_t value);
int64_t cmp_proto_stopped_at (cmp_proto_t *self);
void cmp_proto_set_stopped_at (cmp_proto_t *self, int64_t value);
bool cmp_proto_reminded (cmp_proto_t *self);
void cmp_proto_set_reminded (cmp_proto_t *self, bool value);
uint64_t cmp_proto_warned (cmp_proto_t *self);
void cmp_proto_set_warned (cmp_proto_t *self, uint64_t value);
uint64_t cmp_proto_escalations (cmp_proto_t *self);
void cmp_proto_set_escalations (cmp_proto_t *self, uint64_t value);
int64_t cmp_proto_remaining (cmp_proto_t *self);
void cmp_proto_set_remaining (cmp_proto_t *self, int64_t value);
//  Event of a deadline point: its clock's due time (cmp_proto_due_at),
//  fired late (after downtime or a clock jump), the warning point in
//  percent of the target
bool cmp_proto_late (cmp_proto_t *self);
void cmp_proto_set_late (cmp_proto_t *self, bool value);
uint64_t cmp_proto_percent (cmp_proto_t *self);
void cmp_proto_set_percent (cmp_proto_t *self, uint64_t value);
//  LIST and COUNT: a running clock due before this time; a clock past its
//  due time that has not stopped (level: cmp_proto_level)
int64_t cmp_proto_due_before (cmp_proto_t *self);
void cmp_proto_set_due_before (cmp_proto_t *self, int64_t value);
bool cmp_proto_breached (cmp_proto_t *self);
void cmp_proto_set_breached (cmp_proto_t *self, bool value);
//  TICKED: complaints whose points fired; more are due and fire in the
//  next batch (at: cmp_proto_at, as in TICK)
uint64_t cmp_proto_fired (cmp_proto_t *self);
void cmp_proto_set_fired (cmp_proto_t *self, uint64_t value);
bool cmp_proto_pending (cmp_proto_t *self);
void cmp_proto_set_pending (cmp_proto_t *self, bool value);
//  Triage: the rule that decided a field (category, subcategory,
//  severity, impact, priority, department, sla, group, emergency), or
//  NULL; the field must be one of these
const char *cmp_proto_decided_by (cmp_proto_t *self, const char *field);
void cmp_proto_set_decided_by (cmp_proto_t *self,
                               const char *field,
                               const char *rule);

//  ---------------------------------------------------------------------
//  List fields

//  Attachment URIs and free tags. The list is borrowed, never NULL; it
//  holds strings owned by the message.
zlist_t *cmp_proto_attachments (cmp_proto_t *self);
void cmp_proto_add_attachment (cmp_proto_t *self, const char *uri);
zlist_t *cmp_proto_tags (cmp_proto_t *self);
void cmp_proto_add_tag (cmp_proto_t *self, const char *tag);
//  Triage: the rules that matched, in order; the tags they added; the
//  numbers of the earlier complaints of the same complainant
zlist_t *cmp_proto_matched (cmp_proto_t *self);
zlist_t *cmp_proto_triage_tags (cmp_proto_t *self);
zlist_t *cmp_proto_repeat_of (cmp_proto_t *self);
//  Event complaint.escalated: whom the level reached notifies, as the
//  policies name them
zlist_t *cmp_proto_notify (cmp_proto_t *self);
void cmp_proto_add_notify (cmp_proto_t *self, const char *whom);

//  Nested maps: COMPLAINTS items and EVENTS events (decoded into COMPLAINT
//  and EVENT messages), ENTRIES entries (ENTRY), an entry's changes
//  (CHANGE), a record's contact log (CONTACT). Borrowed, never NULL,
//  valid while the message lives; add to it to encode.
zlistx_t *cmp_proto_items (cmp_proto_t *self);

//  A record's deadline clocks ("clocks"), and those of a CLOCKS reply:
//  CLOCK item messages, apart from the record's contacts. Borrowed, never
//  NULL, valid while the message lives; add to it to encode (the list
//  destroys its items).
zlistx_t *cmp_proto_clocks (cmp_proto_t *self);

//  For the encoder: append an already-encoded fields map (a stored record
//  or event) to COMPLAINTS, EVENTS, COMPLAINT or EVENT. Takes ownership.
void cmp_proto_add_raw (cmp_proto_t *self, zchunk_t **chunk_p);

//  Append a change (field, old and new value; a NULL value is left out)
//  to the changes of an ENTRY that is to be encoded, encoding it at once
//  as cmp_proto_items would. All the changes of an entry must be added
//  this way.
void cmp_proto_add_change (cmp_proto_t *self,
                           const char *field,
                           const char *old_value,
                           const char *new_value);

//  Fill fault with status, the field at fault and a printf-style reason;
//  returns -1, for "return cmp_proto_fault (...)"
int cmp_proto_fault (cmp_proto_fault_t *fault,
                     int status,
                     const char *field,
                     const char *format,
                     ...) __attribute__ ((format (printf, 4, 5)));

//  Offset of the first control character of text (NULL: none), or -1.
//  Multi-line text may hold tabs and line breaks.
long cmp_proto_control_at (const char *text, bool multiline);

//  Offset of the first byte of text that is not valid UTF-8 (RFC 3629),
//  or -1 if all size bytes are
long cmp_proto_utf8_error (const char *text, size_t size);

//  True if text holds only white space: ASCII, no-break (U+00A0) and the
//  ideographic space (U+3000) common in Chinese input
bool cmp_proto_blank (const char *text);

//  Copy out an ERROR reply for a fault
cmp_proto_t *cmp_proto_new_error (uint64_t request_id,
                                  int status,
                                  const char *field,
                                  const char *text);

//  Symbolic name of a status code ("INVALID"), or "UNKNOWN"
const char *cmp_proto_status_code (int status);

//  Version of the msgpack-c library the codec is built on
const char *cmp_proto_msgpack_version (void);

//  Self test of this class
void cmp_proto_test (bool verbose);

#ifdef __cplusplus
}
#endif

#endif
