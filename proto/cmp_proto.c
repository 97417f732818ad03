/*  =========================================================================
    cmp_proto - the complaintd protocol codec (version 1)

    The only code in the project that calls msgpack_*. Messages are described
    by schema tables (one per message, one per nested map), and encoding and
    decoding walk those tables, so that the tables here and the field tables
    of proto/PROTOCOL.md can be checked against each other line by line.

    Decoding happens in three steps:
    1. s_prescan walks the raw bytes and refuses anything whose declared
       lengths exceed the bytes present, nests deeper than CMP_PROTO_MAX_DEPTH
       or has more than CMP_PROTO_MAX_ELEMENTS entries. msgpack-c's unpacker
       has no limits of its own and would otherwise allocate what a 5-byte
       header asks for (msgpack-c issue #1013).
    2. msgpack_unpack_next builds the object tree in a zone.
    3. The envelope and each field are checked against the schema: type,
       UTF-8, no NUL bytes, no unknown or repeated keys.
    =========================================================================
*/

#include <czmq.h>
#include <jansson.h>
#include <msgpack.h>

#include "cmp_proto.h"

//  String slots
enum
{
    S_CHANNEL,
    S_REF,
    S_NUMBER,
    S_STATE,
    S_NAME,
    S_PHONE,
    S_EMAIL,
    S_RELATION,
    S_DEPARTMENT,
    S_STAFF,
    S_LOCATION,
    S_DESCRIPTION,
    S_DEMANDS,
    S_TOPIC,
    S_CODE,
    S_MESSAGE,
    S_FIELD,
    S_AFTER,
    S_NEXT,
    S_SOFTWARE,
    S_ACTION,
    S_ACTOR,
    S_ROLE,
    S_PREVIOUS,
    S_UNIT,
    S_HANDLER,
    S_CATEGORY,
    S_SEVERITY,
    S_PRIORITY,
    S_ROUTE,
    S_REASON,
    S_TEXT,
    S_RESOLUTION,
    S_DIRECTION,
    S_SUMMARY,
    S_KIND,
    S_CURRENCY,
    S_PROPOSAL,
    S_PROPOSED_BY,
    S_APPROVED_BY,
    S_ANSWER_REASON,
    S_COMMENT,
    S_INTO,
    S_OLD,
    S_NEW,
    S_REFUSED,
    S_SUBCATEGORY,
    S_IMPACT,
    S_SLA,
    S_GROUP,
    S_TIER,
    S_RULES,
    S_BY_CATEGORY,
    S_BY_SUBCATEGORY,
    S_BY_SEVERITY,
    S_BY_IMPACT,
    S_BY_PRIORITY,
    S_BY_DEPARTMENT,
    S_BY_SLA,
    S_BY_GROUP,
    S_BY_EMERGENCY,
    S_CLOCK,
    S_TARGET,
    S_OUTCOME,
    S_DUE_LOCAL,
    S_LEVEL,
    S_PREVIOUS_LEVEL,
    S_POLICY,
    S_ZONE,
    S_COUNT
};

//  Number slots (integers and booleans)
enum
{
    N_COMPLAINED_AT,
    N_RECEIVED_AT,
    N_AT,
    N_FROM,
    N_TO,
    N_UPTIME,
    N_ID,
    N_VERSION,
    N_SEQ,
    N_LAST_SEQ,
    N_LIMIT,
    N_STATUS,
    N_PROTOCOL,
    N_COMPLAINTS,
    N_ANONYMOUS,
    N_DUPLICATE,
    N_UPDATED_AT,
    N_HISTORY,
    N_EXTENDED,
    N_MERGED_INTO,
    N_AMOUNT,
    N_ACCEPTED,
    N_SATISFACTION,
    N_PROPOSED_AT,
    N_APPROVED_AT,
    N_ANSWERED_AT,
    N_FOLLOWED_UP_AT,
    N_UPDATED_FROM,
    N_UPDATED_TO,
    N_EMERGENCY,
    N_REPEATS,
    N_TRIAGED_AT,
    N_WORK,
    N_STARTED_AT,
    N_SINCE,
    N_USED,
    N_TOTAL,
    N_DUE_AT,
    N_NEXT_AT,
    N_BREACHED_AT,
    N_STOPPED_AT,
    N_REMINDED,
    N_WARNED,
    N_ESCALATIONS,
    N_REMAINING,
    N_LATE,
    N_PERCENT,
    N_DUE_BEFORE,
    N_BREACHED,
    N_FIRED,
    N_PENDING,
    N_COUNT
};

//  List slots
enum
{
    L_ATTACHMENTS,
    L_TAGS,
    L_MATCHED,
    L_TRIAGE_TAGS,
    L_REPEAT_OF,
    L_NOTIFY,
    L_COUNT
};

//  How a field is encoded
typedef enum
{
    K_STR,     //  msgpack str
    K_INT,     //  msgpack int, signed
    K_UINT,    //  msgpack int, not negative
    K_BOOL,    //  msgpack bool
    K_STRLIST, //  msgpack array of str
    K_MAP,     //  nested map, fields in this message
    K_RECORD,  //  nested map, fields in this message or one raw chunk
    K_ITEMS    //  array of maps, decoded into item messages
} s_kind_t;

typedef struct _s_field_t s_field_t;
struct _s_field_t
{
    const char *key;         //  Key on the wire
    s_kind_t kind;           //  Encoding
    int slot;                //  S_, N_ or L_ slot; for K_ITEMS the item id
    const s_field_t *schema; //  Nested schema for K_MAP, K_RECORD, K_ITEMS
    bool nil;                //  Encoder writes nil when absent
};

#define END_SCHEMA                                                             \
    {                                                                          \
        NULL, K_STR, 0, NULL, false                                            \
    }

static const s_field_t s_complainant[] = {
  {"name", K_STR, S_NAME, NULL, false},
  {"phone", K_STR, S_PHONE, NULL, false},
  {"email", K_STR, S_EMAIL, NULL, false},
  {"anonymous", K_BOOL, N_ANONYMOUS, NULL, false},
  {"relation", K_STR, S_RELATION, NULL, false},
  {"tier", K_STR, S_TIER, NULL, false},
  END_SCHEMA};

static const s_field_t s_subject[] = {
  {"department", K_STR, S_DEPARTMENT, NULL, false},
  {"staff", K_STR, S_STAFF, NULL, false},
  {"location", K_STR, S_LOCATION, NULL, false},
  END_SCHEMA};

static const s_field_t s_case[] = {
  {"department", K_STR, S_UNIT, NULL, false},
  {"handler", K_STR, S_HANDLER, NULL, false},
  {"category", K_STR, S_CATEGORY, NULL, false},
  {"severity", K_STR, S_SEVERITY, NULL, false},
  {"priority", K_STR, S_PRIORITY, NULL, false},
  {"subcategory", K_STR, S_SUBCATEGORY, NULL, false},
  {"impact", K_STR, S_IMPACT, NULL, false},
  {"sla", K_STR, S_SLA, NULL, false},
  {"group", K_STR, S_GROUP, NULL, false},
  {"emergency", K_BOOL, N_EMERGENCY, NULL, false},
  {"extended", K_BOOL, N_EXTENDED, NULL, false},
  {"merged_into", K_UINT, N_MERGED_INTO, NULL, false},
  {"route", K_STR, S_ROUTE, NULL, false},
  {"resolution", K_STR, S_RESOLUTION, NULL, false},
  {"reason", K_STR, S_REASON, NULL, false},
  {"level", K_STR, S_LEVEL, NULL, false},
  END_SCHEMA};

//  Which rule decided each field of a triage
static const s_field_t s_decided_by[] = {
  {"category", K_STR, S_BY_CATEGORY, NULL, false},
  {"subcategory", K_STR, S_BY_SUBCATEGORY, NULL, false},
  {"severity", K_STR, S_BY_SEVERITY, NULL, false},
  {"impact", K_STR, S_BY_IMPACT, NULL, false},
  {"priority", K_STR, S_BY_PRIORITY, NULL, false},
  {"department", K_STR, S_BY_DEPARTMENT, NULL, false},
  {"sla", K_STR, S_BY_SLA, NULL, false},
  {"group", K_STR, S_BY_GROUP, NULL, false},
  {"emergency", K_STR, S_BY_EMERGENCY, NULL, false},
  END_SCHEMA};

static const s_field_t s_triage[] = {
  {"rules", K_STR, S_RULES, NULL, false},
  {"at", K_INT, N_TRIAGED_AT, NULL, false},
  {"matched", K_STRLIST, L_MATCHED, NULL, false},
  {"decided_by", K_MAP, 0, s_decided_by, false},
  {"tags", K_STRLIST, L_TRIAGE_TAGS, NULL, false},
  {"repeats", K_UINT, N_REPEATS, NULL, false},
  {"repeat_of", K_STRLIST, L_REPEAT_OF, NULL, false},
  END_SCHEMA};

static const s_field_t s_proposal[] = {
  {"text", K_STR, S_PROPOSAL, NULL, false},
  {"kind", K_STR, S_KIND, NULL, false},
  {"amount", K_UINT, N_AMOUNT, NULL, false},
  {"currency", K_STR, S_CURRENCY, NULL, false},
  {"by", K_STR, S_PROPOSED_BY, NULL, false},
  {"at", K_INT, N_PROPOSED_AT, NULL, false},
  {"approved_by", K_STR, S_APPROVED_BY, NULL, false},
  {"approved_at", K_INT, N_APPROVED_AT, NULL, false},
  END_SCHEMA};

static const s_field_t s_answer[] = {
  {"accepted", K_BOOL, N_ACCEPTED, NULL, false},
  {"reason", K_STR, S_ANSWER_REASON, NULL, false},
  {"at", K_INT, N_ANSWERED_AT, NULL, false},
  END_SCHEMA};

static const s_field_t s_follow_up[] = {
  {"satisfaction", K_UINT, N_SATISFACTION, NULL, false},
  {"comment", K_STR, S_COMMENT, NULL, false},
  {"at", K_INT, N_FOLLOWED_UP_AT, NULL, false},
  END_SCHEMA};

static const s_field_t s_contact[] = {
  {"at", K_INT, N_AT, NULL, false},
  {"actor", K_STR, S_ACTOR, NULL, false},
  {"direction", K_STR, S_DIRECTION, NULL, false},
  {"channel", K_STR, S_CHANNEL, NULL, false},
  {"summary", K_STR, S_SUMMARY, NULL, false},
  END_SCHEMA};

static const s_field_t s_change[] = {{"field", K_STR, S_FIELD, NULL, false},
                                     {"old", K_STR, S_OLD, NULL, false},
                                     {"new", K_STR, S_NEW, NULL, false},
                                     END_SCHEMA};

//  One deadline clock: of a record's clocks, and of a CLOCKS reply (which
//  alone carries remaining and due_local)
static const s_field_t s_clock[] = {
  {"name", K_STR, S_CLOCK, NULL, false},
  {"target", K_STR, S_TARGET, NULL, false},
  {"state", K_STR, S_STATE, NULL, false},
  {"work", K_BOOL, N_WORK, NULL, false},
  {"started_at", K_INT, N_STARTED_AT, NULL, false},
  {"since", K_INT, N_SINCE, NULL, false},
  {"used", K_INT, N_USED, NULL, false},
  {"total", K_INT, N_TOTAL, NULL, false},
  {"due_at", K_INT, N_DUE_AT, NULL, false},
  {"next_at", K_INT, N_NEXT_AT, NULL, false},
  {"breached_at", K_INT, N_BREACHED_AT, NULL, false},
  {"stopped_at", K_INT, N_STOPPED_AT, NULL, false},
  {"outcome", K_STR, S_OUTCOME, NULL, false},
  {"reminded", K_BOOL, N_REMINDED, NULL, false},
  {"extended", K_BOOL, N_EXTENDED, NULL, false},
  {"warned", K_UINT, N_WARNED, NULL, false},
  {"escalations", K_UINT, N_ESCALATIONS, NULL, false},
  {"remaining", K_INT, N_REMAINING, NULL, false},
  {"due_local", K_STR, S_DUE_LOCAL, NULL, false},
  END_SCHEMA};

static const s_field_t s_entry[] = {
  {"n", K_UINT, N_SEQ, NULL, false},
  {"at", K_INT, N_AT, NULL, false},
  {"actor", K_STR, S_ACTOR, NULL, false},
  {"role", K_STR, S_ROLE, NULL, false},
  {"action", K_STR, S_ACTION, NULL, false},
  {"previous", K_STR, S_PREVIOUS, NULL, false},
  {"state", K_STR, S_STATE, NULL, false},
  {"changes", K_ITEMS, CMP_PROTO_CHANGE, s_change, false},
  {"refused", K_STR, S_REFUSED, NULL, false},
  END_SCHEMA};

static const s_field_t s_record[] = {
  {"id", K_UINT, N_ID, NULL, false},
  {"number", K_STR, S_NUMBER, NULL, false},
  {"channel", K_STR, S_CHANNEL, NULL, false},
  {"ref", K_STR, S_REF, NULL, false},
  {"received_at", K_INT, N_RECEIVED_AT, NULL, false},
  {"complained_at", K_INT, N_COMPLAINED_AT, NULL, false},
  {"state", K_STR, S_STATE, NULL, false},
  {"version", K_UINT, N_VERSION, NULL, false},
  {"updated_at", K_INT, N_UPDATED_AT, NULL, false},
  {"complainant", K_MAP, 0, s_complainant, false},
  {"subject", K_MAP, 0, s_subject, false},
  {"description", K_STR, S_DESCRIPTION, NULL, false},
  {"demands", K_STR, S_DEMANDS, NULL, false},
  {"attachments", K_STRLIST, L_ATTACHMENTS, NULL, false},
  {"tags", K_STRLIST, L_TAGS, NULL, false},
  {"case", K_MAP, 0, s_case, false},
  {"triage", K_MAP, 0, s_triage, false},
  {"proposal", K_MAP, 0, s_proposal, false},
  {"answer", K_MAP, 0, s_answer, false},
  {"follow_up", K_MAP, 0, s_follow_up, false},
  {"contacts", K_ITEMS, CMP_PROTO_CONTACT, s_contact, false},
  {"clocks", K_ITEMS, CMP_PROTO_CLOCK, s_clock, false},
  {"sla_policy", K_STR, S_POLICY, NULL, false},
  END_SCHEMA};

static const s_field_t s_event[] = {
  {"seq", K_UINT, N_SEQ, NULL, false},
  {"topic", K_STR, S_TOPIC, NULL, false},
  {"at", K_INT, N_AT, NULL, false},
  {"id", K_UINT, N_ID, NULL, false},
  {"number", K_STR, S_NUMBER, NULL, false},
  {"channel", K_STR, S_CHANNEL, NULL, false},
  {"state", K_STR, S_STATE, NULL, false},
  {"department", K_STR, S_DEPARTMENT, NULL, false},
  {"case_department", K_STR, S_UNIT, NULL, false},
  {"category", K_STR, S_CATEGORY, NULL, false},
  {"severity", K_STR, S_SEVERITY, NULL, false},
  {"priority", K_STR, S_PRIORITY, NULL, false},
  {"emergency", K_BOOL, N_EMERGENCY, NULL, false},
  {"reason", K_STR, S_REASON, NULL, false},
  {"previous", K_STR, S_PREVIOUS, NULL, false},
  {"action", K_STR, S_ACTION, NULL, false},
  {"role", K_STR, S_ROLE, NULL, false},
  {"version", K_UINT, N_VERSION, NULL, false},
  {"clock", K_STR, S_CLOCK, NULL, false},
  {"due_at", K_INT, N_DUE_AT, NULL, false},
  {"late", K_BOOL, N_LATE, NULL, false},
  {"percent", K_UINT, N_PERCENT, NULL, false},
  {"level", K_STR, S_LEVEL, NULL, false},
  {"previous_level", K_STR, S_PREVIOUS_LEVEL, NULL, false},
  {"notify", K_STRLIST, L_NOTIFY, NULL, false},
  {"handler", K_STR, S_HANDLER, NULL, false},
  {"outcome", K_STR, S_OUTCOME, NULL, false},
  END_SCHEMA};

static const s_field_t s_submit[] = {
  {"actor", K_STR, S_ACTOR, NULL, false},
  {"channel", K_STR, S_CHANNEL, NULL, false},
  {"ref", K_STR, S_REF, NULL, false},
  {"complained_at", K_INT, N_COMPLAINED_AT, NULL, false},
  {"complainant", K_MAP, 0, s_complainant, false},
  {"subject", K_MAP, 0, s_subject, false},
  {"description", K_STR, S_DESCRIPTION, NULL, false},
  {"demands", K_STR, S_DEMANDS, NULL, false},
  {"attachments", K_STRLIST, L_ATTACHMENTS, NULL, false},
  {"tags", K_STRLIST, L_TAGS, NULL, false},
  END_SCHEMA};

static const s_field_t s_submitted[] = {
  {"id", K_UINT, N_ID, NULL, false},
  {"number", K_STR, S_NUMBER, NULL, false},
  {"received_at", K_INT, N_RECEIVED_AT, NULL, false},
  {"duplicate", K_BOOL, N_DUPLICATE, NULL, false},
  END_SCHEMA};

static const s_field_t s_get[] = {{"actor", K_STR, S_ACTOR, NULL, false},
                                  {"id", K_UINT, N_ID, NULL, false},
                                  {"number", K_STR, S_NUMBER, NULL, false},
                                  END_SCHEMA};

static const s_field_t s_complaint[] = {
  {"complaint", K_RECORD, 0, s_record, false},
  {"history", K_UINT, N_HISTORY, NULL, false},
  END_SCHEMA};

//  The filters LIST and COUNT share
#define QUERY_FILTERS                                                          \
    {"actor", K_STR, S_ACTOR, NULL, false},                                    \
      {"from", K_INT, N_FROM, NULL, false}, {"to", K_INT, N_TO, NULL, false},  \
      {"updated_from", K_INT, N_UPDATED_FROM, NULL, false},                    \
      {"updated_to", K_INT, N_UPDATED_TO, NULL, false},                        \
      {"channel", K_STR, S_CHANNEL, NULL, false},                              \
      {"state", K_STR, S_STATE, NULL, false},                                  \
      {"department", K_STR, S_UNIT, NULL, false},                              \
      {"handler", K_STR, S_HANDLER, NULL, false},                              \
      {"category", K_STR, S_CATEGORY, NULL, false},                            \
      {"priority", K_STR, S_PRIORITY, NULL, false},                            \
      {"due_before", K_INT, N_DUE_BEFORE, NULL, false},                        \
      {"breached", K_BOOL, N_BREACHED, NULL, false},                           \
    {                                                                          \
        "level", K_STR, S_LEVEL, NULL, false                                   \
    }

static const s_field_t s_list[] = {QUERY_FILTERS,
                                   {"limit", K_UINT, N_LIMIT, NULL, false},
                                   {"after", K_STR, S_AFTER, NULL, false},
                                   END_SCHEMA};

static const s_field_t s_count[] = {QUERY_FILTERS, END_SCHEMA};

static const s_field_t s_counted[] = {
  {"count", K_UINT, N_COMPLAINTS, NULL, false}, END_SCHEMA};

static const s_field_t s_complaints[] = {
  {"items", K_ITEMS, CMP_PROTO_COMPLAINT, s_record, false},
  {"next", K_STR, S_NEXT, NULL, true},
  END_SCHEMA};

static const s_field_t s_replay[] = {{"from", K_UINT, N_FROM, NULL, false},
                                     {"limit", K_UINT, N_LIMIT, NULL, false},
                                     END_SCHEMA};

static const s_field_t s_events[] = {
  {"events", K_ITEMS, CMP_PROTO_EVENT, s_event, false},
  {"last", K_UINT, N_LAST_SEQ, NULL, false},
  END_SCHEMA};

static const s_field_t s_health[] = {END_SCHEMA};

static const s_field_t s_reload[] = {{"actor", K_STR, S_ACTOR, NULL, false},
                                     END_SCHEMA};

static const s_field_t s_reloaded[] = {
  {"rules", K_STR, S_RULES, NULL, true},
  {"message", K_STR, S_MESSAGE, NULL, false},
  END_SCHEMA};

static const s_field_t s_sla[] = {{"actor", K_STR, S_ACTOR, NULL, false},
                                  {"id", K_UINT, N_ID, NULL, false},
                                  {"number", K_STR, S_NUMBER, NULL, false},
                                  END_SCHEMA};

static const s_field_t s_clocks_reply[] = {
  {"id", K_UINT, N_ID, NULL, false},
  {"number", K_STR, S_NUMBER, NULL, false},
  {"sla", K_STR, S_SLA, NULL, false},
  {"level", K_STR, S_LEVEL, NULL, false},
  {"zone", K_STR, S_ZONE, NULL, false},
  {"at", K_INT, N_AT, NULL, false},
  {"clocks", K_ITEMS, CMP_PROTO_CLOCK, s_clock, false},
  END_SCHEMA};

static const s_field_t s_tick[] = {{"actor", K_STR, S_ACTOR, NULL, false},
                                   {"at", K_INT, N_AT, NULL, false},
                                   END_SCHEMA};

static const s_field_t s_ticked[] = {
  {"at", K_INT, N_AT, NULL, false},
  {"fired", K_UINT, N_FIRED, NULL, false},
  {"pending", K_BOOL, N_PENDING, NULL, false},
  END_SCHEMA};

static const s_field_t s_status[] = {
  {"version", K_STR, S_SOFTWARE, NULL, false},
  {"protocol", K_UINT, N_PROTOCOL, NULL, false},
  {"uptime", K_INT, N_UPTIME, NULL, false},
  {"last_seq", K_UINT, N_LAST_SEQ, NULL, false},
  {"complaints", K_UINT, N_COMPLAINTS, NULL, false},
  END_SCHEMA};

static const s_field_t s_act[] = {
  {"actor", K_STR, S_ACTOR, NULL, false},
  {"id", K_UINT, N_ID, NULL, false},
  {"number", K_STR, S_NUMBER, NULL, false},
  {"action", K_STR, S_ACTION, NULL, false},
  {"version", K_UINT, N_VERSION, NULL, false},
  {"department", K_STR, S_UNIT, NULL, false},
  {"handler", K_STR, S_HANDLER, NULL, false},
  {"category", K_STR, S_CATEGORY, NULL, false},
  {"severity", K_STR, S_SEVERITY, NULL, false},
  {"priority", K_STR, S_PRIORITY, NULL, false},
  {"reason", K_STR, S_REASON, NULL, false},
  {"text", K_STR, S_TEXT, NULL, false},
  {"direction", K_STR, S_DIRECTION, NULL, false},
  {"channel", K_STR, S_CHANNEL, NULL, false},
  {"summary", K_STR, S_SUMMARY, NULL, false},
  {"kind", K_STR, S_KIND, NULL, false},
  {"amount", K_UINT, N_AMOUNT, NULL, false},
  {"currency", K_STR, S_CURRENCY, NULL, false},
  {"accepted", K_BOOL, N_ACCEPTED, NULL, false},
  {"satisfaction", K_UINT, N_SATISFACTION, NULL, false},
  {"comment", K_STR, S_COMMENT, NULL, false},
  {"into", K_STR, S_INTO, NULL, false},
  {"route", K_STR, S_ROUTE, NULL, false},
  {"subcategory", K_STR, S_SUBCATEGORY, NULL, false},
  {"impact", K_STR, S_IMPACT, NULL, false},
  {"sla", K_STR, S_SLA, NULL, false},
  END_SCHEMA};

static const s_field_t s_acted[] = {
  {"id", K_UINT, N_ID, NULL, false},
  {"number", K_STR, S_NUMBER, NULL, false},
  {"previous", K_STR, S_PREVIOUS, NULL, false},
  {"state", K_STR, S_STATE, NULL, false},
  {"version", K_UINT, N_VERSION, NULL, false},
  END_SCHEMA};

static const s_field_t s_history[] = {{"actor", K_STR, S_ACTOR, NULL, false},
                                      {"id", K_UINT, N_ID, NULL, false},
                                      {"number", K_STR, S_NUMBER, NULL, false},
                                      {"from", K_UINT, N_FROM, NULL, false},
                                      {"limit", K_UINT, N_LIMIT, NULL, false},
                                      END_SCHEMA};

static const s_field_t s_entries[] = {
  {"entries", K_ITEMS, CMP_PROTO_ENTRY, s_entry, false},
  {"total", K_UINT, N_HISTORY, NULL, false},
  END_SCHEMA};

static const s_field_t s_error[] = {{"status", K_UINT, N_STATUS, NULL, false},
                                    {"code", K_STR, S_CODE, NULL, false},
                                    {"message", K_STR, S_MESSAGE, NULL, false},
                                    {"field", K_STR, S_FIELD, NULL, false},
                                    END_SCHEMA};

//  Message table: id, name, schema
typedef struct
{
    int id;                  //  CMP_PROTO_ constant
    const char *name;        //  Name on the wire
    const s_field_t *schema; //  Fields map
} s_message_t;

static const s_message_t s_messages[] = {
  {CMP_PROTO_SUBMIT, "SUBMIT", s_submit},
  {CMP_PROTO_SUBMITTED, "SUBMITTED", s_submitted},
  {CMP_PROTO_GET, "GET", s_get},
  {CMP_PROTO_COMPLAINT, "COMPLAINT", s_complaint},
  {CMP_PROTO_LIST, "LIST", s_list},
  {CMP_PROTO_COMPLAINTS, "COMPLAINTS", s_complaints},
  {CMP_PROTO_REPLAY, "REPLAY", s_replay},
  {CMP_PROTO_EVENTS, "EVENTS", s_events},
  {CMP_PROTO_HEALTH, "HEALTH", s_health},
  {CMP_PROTO_STATUS, "STATUS", s_status},
  {CMP_PROTO_EVENT, "EVENT", s_event},
  {CMP_PROTO_ERROR, "ERROR", s_error},
  {CMP_PROTO_ACT, "ACT", s_act},
  {CMP_PROTO_ACTED, "ACTED", s_acted},
  {CMP_PROTO_HISTORY, "HISTORY", s_history},
  {CMP_PROTO_ENTRIES, "ENTRIES", s_entries},
  {CMP_PROTO_COUNT, "COUNT", s_count},
  {CMP_PROTO_COUNTED, "COUNTED", s_counted},
  {CMP_PROTO_RELOAD, "RELOAD", s_reload},
  {CMP_PROTO_RELOADED, "RELOADED", s_reloaded},
  {CMP_PROTO_SLA, "SLA", s_sla},
  {CMP_PROTO_CLOCKS, "CLOCKS", s_clocks_reply},
  {CMP_PROTO_TICK, "TICK", s_tick},
  {CMP_PROTO_TICKED, "TICKED", s_ticked},
  {0, NULL, NULL}};

//  Stored maps (and the items nested in them): type and schema
static const struct
{
    int id;                  //  CMP_PROTO_ constant
    const s_field_t *schema; //  Fields map
} s_maps[] = {{CMP_PROTO_COMPLAINT, s_record},
              {CMP_PROTO_EVENT, s_event},
              {CMP_PROTO_ENTRY, s_entry},
              {CMP_PROTO_CONTACT, s_contact},
              {CMP_PROTO_CHANGE, s_change},
              {CMP_PROTO_CLOCK, s_clock},
              {0, NULL}};

static const s_field_t *
s_map_schema (int id)
{
    for (int index = 0; s_maps[index].schema; index++)
        if (s_maps[index].id == id)
            return s_maps[index].schema;
    return NULL;
}

//  Accessor names of the number slots, for cmp_proto_has
static const char *s_number_names[N_COUNT] = {"complained_at",
                                              "received_at",
                                              "at",
                                              "from",
                                              "to",
                                              "uptime",
                                              "id",
                                              "version",
                                              "seq",
                                              "last_seq",
                                              "limit",
                                              "status",
                                              "protocol",
                                              "complaints",
                                              "anonymous",
                                              "duplicate",
                                              "updated_at",
                                              "history",
                                              "extended",
                                              "merged_into",
                                              "amount",
                                              "accepted",
                                              "satisfaction",
                                              "proposed_at",
                                              "approved_at",
                                              "answered_at",
                                              "followed_up_at",
                                              "updated_from",
                                              "updated_to",
                                              "emergency",
                                              "repeats",
                                              "triaged_at",
                                              "work",
                                              "started_at",
                                              "since",
                                              "used",
                                              "total",
                                              "due_at",
                                              "next_at",
                                              "breached_at",
                                              "stopped_at",
                                              "reminded",
                                              "warned",
                                              "escalations",
                                              "remaining",
                                              "late",
                                              "percent",
                                              "due_before",
                                              "breached",
                                              "fired",
                                              "pending"};

//  Status code names
static const struct
{
    int status;       //  CMP_STATUS_ code
    const char *code; //  Symbolic name on the wire
} s_statuses[] = {{CMP_STATUS_OK, "OK"},
                  {CMP_STATUS_BAD_REQUEST, "BAD_REQUEST"},
                  {CMP_STATUS_FORBIDDEN, "FORBIDDEN"},
                  {CMP_STATUS_NOT_FOUND, "NOT_FOUND"},
                  {CMP_STATUS_NOT_SUPPORTED, "NOT_SUPPORTED"},
                  {CMP_STATUS_CONFLICT, "CONFLICT"},
                  {CMP_STATUS_STALE, "STALE"},
                  {CMP_STATUS_TOO_LARGE, "TOO_LARGE"},
                  {CMP_STATUS_INVALID, "INVALID"},
                  {CMP_STATUS_INTERNAL, "INTERNAL"},
                  {CMP_STATUS_UNAVAILABLE, "UNAVAILABLE"},
                  {CMP_STATUS_VERSION, "VERSION"},
                  {CMP_STATUS_STORAGE_FULL, "STORAGE_FULL"},
                  {0, NULL}};

//  Structure of our class

struct _cmp_proto_t
{
    int id;                 //  Message type
    uint64_t request_id;    //  Client-chosen request id
    char *str[S_COUNT];     //  String fields, NULL when absent
    uint64_t num[N_COUNT];  //  Number fields (ints stored as bits)
    bool has[N_COUNT];      //  Number field present
    zlist_t *list[L_COUNT]; //  String lists, created on demand
    zlistx_t *items;        //  Items of a page, a record (contacts), an entry
    zlistx_t *clocks;       //  CLOCK items: a record's, or CLOCKS'
    zlistx_t *raws;         //  Pre-encoded maps for the encoder
};

static const s_message_t *
s_message (int id)
{
    for (int index = 0; s_messages[index].name; index++)
        if (s_messages[index].id == id)
            return &s_messages[index];
    return NULL;
}

static void
s_chunk_destroy (void **item)
{
    zchunk_destroy ((zchunk_t **) item);
}

static void
s_proto_destroy (void **item)
{
    cmp_proto_destroy ((cmp_proto_t **) item);
}

//  The item and raw lists are made on first use: most messages have none
static zlistx_t *
s_items (cmp_proto_t *self)
{
    if (!self->items) {
        self->items = zlistx_new ();
        assert (self->items);
        zlistx_set_destructor (self->items, s_proto_destroy);
    }
    return self->items;
}

static zlistx_t *
s_clocks (cmp_proto_t *self)
{
    if (!self->clocks) {
        self->clocks = zlistx_new ();
        assert (self->clocks);
        zlistx_set_destructor (self->clocks, s_proto_destroy);
    }
    return self->clocks;
}

//  The list that holds the items of a K_ITEMS field: clocks have their
//  own, so that a record keeps its contacts and its clocks apart; every
//  other field of items (there is one per schema) uses items
static zlistx_t *
s_item_list (cmp_proto_t *self, const s_field_t *field)
{
    return field->slot == CMP_PROTO_CLOCK ? s_clocks (self) : s_items (self);
}

static zlistx_t *
s_raws (cmp_proto_t *self)
{
    if (!self->raws) {
        self->raws = zlistx_new ();
        assert (self->raws);
        zlistx_set_destructor (self->raws, s_chunk_destroy);
    }
    return self->raws;
}

//  --------------------------------------------------------------------------
//  Create a new empty message

cmp_proto_t *
cmp_proto_new (int id)
{
    cmp_proto_t *self = (cmp_proto_t *) zmalloc (sizeof (cmp_proto_t));
    assert (self);
    self->id = id;
    return self;
}

//  --------------------------------------------------------------------------
//  Destroy a message

void
cmp_proto_destroy (cmp_proto_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_proto_t *self = *self_p;
        //  Most slots are empty: test them here, not in a call each
        for (int index = 0; index < S_COUNT; index++)
            if (self->str[index])
                free (self->str[index]);
        for (int index = 0; index < L_COUNT; index++)
            if (self->list[index])
                zlist_destroy (&self->list[index]);
        zlistx_destroy (&self->items);
        zlistx_destroy (&self->clocks);
        zlistx_destroy (&self->raws);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Bounds pre-scan. Walks one msgpack object at data[*pos], advancing *pos.
//  Returns 0, or -1 with a reason in text.

static int
s_need (size_t size, size_t pos, uint64_t bytes, char *text, size_t text_size)
{
    if (bytes > size - pos) {
        snprintf (text, text_size,
                  "truncated body: %" PRIu64 " bytes declared at offset %zu, "
                  "%zu present",
                  bytes, pos, size - pos);
        return -1;
    }
    return 0;
}

static uint64_t
s_be (const uint8_t *data, size_t bytes)
{
    uint64_t value = 0;
    for (size_t index = 0; index < bytes; index++)
        value = (value << 8) | data[index];
    return value;
}

static int
s_prescan (const uint8_t *data,
           size_t size,
           size_t *pos,
           int depth,
           char *text,
           size_t text_size)
{
    if (depth > CMP_PROTO_MAX_DEPTH) {
        snprintf (text, text_size, "nesting deeper than %d levels",
                  CMP_PROTO_MAX_DEPTH);
        return -1;
    }
    if (s_need (size, *pos, 1, text, text_size))
        return -1;
    uint8_t byte = data[(*pos)++];
    uint64_t length = 0;   //  Bytes of payload to skip
    uint64_t children = 0; //  Nested objects that follow
    size_t width = 0;      //  Bytes of the length or value field

    if (byte <= 0x7f || byte >= 0xe0 || byte == 0xc0 || byte == 0xc2
        || byte == 0xc3)
        return 0;
    else if (byte >= 0x80 && byte <= 0x8f)
        children = 2 * (uint64_t) (byte & 0x0f);
    else if (byte >= 0x90 && byte <= 0x9f)
        children = byte & 0x0f;
    else if (byte >= 0xa0 && byte <= 0xbf)
        length = byte & 0x1f;
    else
        switch (byte) {
            case 0xc4:
            case 0xd9: width = 1; break; //  bin8, str8
            case 0xc5:
            case 0xda: width = 2; break; //  bin16, str16
            case 0xc6:
            case 0xdb: width = 4; break; //  bin32, str32
            case 0xc7:
                width = 1;
                length = 1;
                break; //  ext8 (+type)
            case 0xc8:
                width = 2;
                length = 1;
                break; //  ext16
            case 0xc9:
                width = 4;
                length = 1;
                break;                    //  ext32
            case 0xca: length = 4; break; //  float32
            case 0xcb: length = 8; break; //  float64
            case 0xcc:
            case 0xd0: length = 1; break;
            case 0xcd:
            case 0xd1: length = 2; break;
            case 0xce:
            case 0xd2: length = 4; break;
            case 0xcf:
            case 0xd3: length = 8; break;
            case 0xd4: length = 2; break; //  fixext1 (+type)
            case 0xd5: length = 3; break;
            case 0xd6: length = 5; break;
            case 0xd7: length = 9; break;
            case 0xd8: length = 17; break;
            case 0xdc:
            case 0xde: width = 2; break; //  array16, map16
            case 0xdd:
            case 0xdf: width = 4; break; //  array32, map32
            default:
                snprintf (text, text_size,
                          "invalid msgpack byte 0x%02x at offset %zu", byte,
                          *pos - 1);
                return -1;
        }
    if (width) {
        if (s_need (size, *pos, width, text, text_size))
            return -1;
        uint64_t value = s_be (data + *pos, width);
        *pos += width;
        if (byte == 0xdc || byte == 0xdd)
            children = value;
        else if (byte == 0xde || byte == 0xdf)
            children = 2 * value;
        else
            length += value;
    }
    if (children) {
        bool map =
          (byte >= 0x80 && byte <= 0x8f) || byte == 0xde || byte == 0xdf;
        uint64_t entries = map ? children / 2 : children;
        if (entries > (uint64_t) CMP_PROTO_MAX_ELEMENTS) {
            snprintf (text, text_size,
                      "container of %" PRIu64 " entries at offset %zu is over "
                      "the limit of %d",
                      entries, *pos, CMP_PROTO_MAX_ELEMENTS);
            return -1;
        }
        //  Every entry takes at least one byte
        if (s_need (size, *pos, children, text, text_size))
            return -1;
        for (uint64_t index = 0; index < children; index++)
            if (s_prescan (data, size, pos, depth + 1, text, text_size))
                return -1;
        return 0;
    }
    if (s_need (size, *pos, length, text, text_size))
        return -1;
    *pos += length;
    return 0;
}

//  --------------------------------------------------------------------------
//  UTF-8 check (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
//  Returns the offset of the first bad byte, or -1 if valid.

static long
s_utf8_error (const uint8_t *text, size_t size)
{
    size_t pos = 0;
    while (pos < size) {
        uint8_t byte = text[pos];
        if (byte < 0x80) {
            pos++;
            continue;
        }
        size_t more;
        uint32_t min, code;
        if ((byte & 0xe0) == 0xc0) {
            more = 1;
            min = 0x80;
            code = byte & 0x1f;
        } else if ((byte & 0xf0) == 0xe0) {
            more = 2;
            min = 0x800;
            code = byte & 0x0f;
        } else if ((byte & 0xf8) == 0xf0) {
            more = 3;
            min = 0x10000;
            code = byte & 0x07;
        } else
            return (long) pos;
        if (more > size - pos - 1)
            return (long) pos; //  Truncated sequence
        for (size_t index = 1; index <= more; index++) {
            if ((text[pos + index] & 0xc0) != 0x80)
                return (long) pos;
            code = (code << 6) | (text[pos + index] & 0x3f);
        }
        if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
            return (long) pos;
        pos += more + 1;
    }
    return -1;
}

//  --------------------------------------------------------------------------
//  Decoding of fields against a schema

static const char *
s_type_name (msgpack_object_type type)
{
    switch (type) {
        case MSGPACK_OBJECT_NIL: return "nil";
        case MSGPACK_OBJECT_BOOLEAN: return "boolean";
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "integer";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return "float";
        case MSGPACK_OBJECT_STR: return "string";
        case MSGPACK_OBJECT_ARRAY: return "array";
        case MSGPACK_OBJECT_MAP: return "map";
        case MSGPACK_OBJECT_BIN: return "binary";
        case MSGPACK_OBJECT_EXT: return "extension";
        default: return "unknown";
    }
}

int
cmp_proto_fault (cmp_proto_fault_t *fault,
                 int status,
                 const char *field,
                 const char *format,
                 ...)
{
    assert (fault);
    fault->status = status;
    snprintf (fault->field, sizeof (fault->field), "%s", field ? field : "");
    va_list args;
    va_start (args, format);
    vsnprintf (fault->text, sizeof (fault->text), format, args);
    va_end (args);
    return -1;
}

long
cmp_proto_control_at (const char *text, bool multiline)
{
    for (const unsigned char *byte = (const unsigned char *) text;
         byte && *byte; byte++)
        if (*byte < 0x20 || *byte == 0x7f) {
            if (multiline && (*byte == '\t' || *byte == '\n' || *byte == '\r'))
                continue;
            return (long) (byte - (const unsigned char *) text);
        }
    return -1;
}

bool
cmp_proto_blank (const char *text)
{
    const unsigned char *byte = (const unsigned char *) text;
    while (*byte) {
        if (isspace (*byte))
            byte++;
        else if (byte[0] == 0xc2 && byte[1] == 0xa0)
            byte += 2;
        else if (byte[0] == 0xe3 && byte[1] == 0x80 && byte[2] == 0x80)
            byte += 3;
        else
            return false;
    }
    return true;
}

long
cmp_proto_utf8_error (const char *text, size_t size)
{
    return s_utf8_error ((const uint8_t *) text, size);
}

//  Copy a msgpack str into a new C string, checking UTF-8 and NUL bytes
static char *
s_string (const msgpack_object *object,
          const char *path,
          cmp_proto_fault_t *fault)
{
    if (object->type != MSGPACK_OBJECT_STR) {
        cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                         "%s: expected string, got %s", path,
                         s_type_name (object->type));
        return NULL;
    }
    const uint8_t *data = (const uint8_t *) object->via.str.ptr;
    size_t size = object->via.str.size;
    const void *nul = memchr (data, 0, size);
    if (nul) {
        cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                         "%s: contains a NUL byte at byte %zu", path,
                         (size_t) ((const uint8_t *) nul - data));
        return NULL;
    }
    long bad = s_utf8_error (data, size);
    if (bad >= 0) {
        cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                         "%s: invalid UTF-8 at byte %ld", path, bad);
        return NULL;
    }
    char *string = (char *) malloc (size + 1);
    assert (string);
    memcpy (string, data, size);
    string[size] = 0;
    return string;
}

static int s_decode_map (cmp_proto_t *self,
                         const s_field_t *schema,
                         const msgpack_object *map,
                         const char *prefix,
                         cmp_proto_fault_t *fault);

static int
s_decode_field (cmp_proto_t *self,
                const s_field_t *field,
                const msgpack_object *value,
                const char *path,
                cmp_proto_fault_t *fault)
{
    if (value->type == MSGPACK_OBJECT_NIL)
        return 0; //  nil means absent
    switch (field->kind) {
        case K_STR: {
            char *string = s_string (value, path, fault);
            if (!string)
                return -1;
            zstr_free (&self->str[field->slot]);
            self->str[field->slot] = string;
            return 0;
        }
        case K_INT:
            if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                self->num[field->slot] = (uint64_t) value->via.i64;
            else if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
                if (value->via.u64 > INT64_MAX)
                    return cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                                            "%s: %" PRIu64 " is out of range",
                                            path, value->via.u64);
                self->num[field->slot] = value->via.u64;
            } else
                return cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                                        "%s: expected integer, got %s", path,
                                        s_type_name (value->type));
            self->has[field->slot] = true;
            return 0;
        case K_UINT:
            if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
                return cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                                        "%s: must not be negative (got %" PRId64
                                        ")",
                                        path, value->via.i64);
            if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                return cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                                        "%s: expected unsigned integer, got %s",
                                        path, s_type_name (value->type));
            self->num[field->slot] = value->via.u64;
            self->has[field->slot] = true;
            return 0;
        case K_BOOL:
            if (value->type != MSGPACK_OBJECT_BOOLEAN)
                return cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                                        "%s: expected boolean, got %s", path,
                                        s_type_name (value->type));
            self->num[field->slot] = value->via.boolean;
            self->has[field->slot] = true;
            return 0;
        case K_STRLIST: {
            if (value->type != MSGPACK_OBJECT_ARRAY)
                return cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                                        "%s: expected array of strings, got %s",
                                        path, s_type_name (value->type));
            zlist_destroy (&self->list[field->slot]);
            self->list[field->slot] = zlist_new ();
            zlist_autofree (self->list[field->slot]);
            for (uint32_t index = 0; index < value->via.array.size; index++) {
                char item_path[128];
                snprintf (item_path, sizeof (item_path), "%.100s[%u]", path,
                          index);
                char *string =
                  s_string (&value->via.array.ptr[index], item_path, fault);
                if (!string)
                    return -1;
                zlist_append (self->list[field->slot], string);
                free (string);
            }
            return 0;
        }
        case K_MAP:
        case K_RECORD:
            if (value->type != MSGPACK_OBJECT_MAP)
                return cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                                        "%s: expected map, got %s", path,
                                        s_type_name (value->type));
            return s_decode_map (self, field->schema, value, path, fault);
        case K_ITEMS:
            if (value->type != MSGPACK_OBJECT_ARRAY)
                return cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                                        "%s: expected array of maps, got %s",
                                        path, s_type_name (value->type));
            for (uint32_t index = 0; index < value->via.array.size; index++) {
                char item_path[128];
                snprintf (item_path, sizeof (item_path), "%.100s[%u]", path,
                          index);
                const msgpack_object *item = &value->via.array.ptr[index];
                if (item->type != MSGPACK_OBJECT_MAP)
                    return cmp_proto_fault (
                      fault, CMP_STATUS_INVALID, item_path,
                      "%s: expected map, got %s", item_path,
                      s_type_name (item->type));
                cmp_proto_t *child = cmp_proto_new (field->slot);
                zlistx_add_end (s_item_list (self, field), child);
                if (s_decode_map (child, field->schema, item, item_path, fault))
                    return -1;
            }
            return 0;
    }
    return -1;
}

//  path = prefix "." name, cut to fit; cheaper than snprintf on every key
static void
s_join (char *path,
        size_t path_size,
        const char *prefix,
        const char *name,
        size_t name_size)
{
    size_t used = strlen (prefix);
    if (used > 60)
        used = 60;
    memcpy (path, prefix, used);
    if (used)
        path[used++] = '.';
    if (name_size > path_size - used - 1)
        name_size = path_size - used - 1;
    memcpy (path + used, name, name_size);
    path[used + name_size] = 0;
}

static int
s_decode_map (cmp_proto_t *self,
              const s_field_t *schema,
              const msgpack_object *map,
              const char *prefix,
              cmp_proto_fault_t *fault)
{
    assert (map->type == MSGPACK_OBJECT_MAP);
    uint64_t seen = 0; //  Bit per schema entry
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object *key = &map->via.map.ptr[index].key;
        const msgpack_object *value = &map->via.map.ptr[index].val;
        if (key->type != MSGPACK_OBJECT_STR)
            return cmp_proto_fault (fault, CMP_STATUS_INVALID, prefix,
                                    "%s%skeys must be strings, got %s", prefix,
                                    *prefix ? ": " : "",
                                    s_type_name (key->type));
        char name[64];
        size_t name_size = key->via.str.size < sizeof (name) - 1
                             ? key->via.str.size
                             : sizeof (name) - 1;
        memcpy (name, key->via.str.ptr, name_size);
        name[name_size] = 0;
        char path[128];
        s_join (path, sizeof (path), prefix, name, name_size);
        int position = -1;
        for (int entry = 0; schema[entry].key; entry++)
            if (strlen (schema[entry].key) == key->via.str.size
                && memcmp (schema[entry].key, key->via.str.ptr,
                           key->via.str.size)
                     == 0) {
                position = entry;
                break;
            }
        if (position < 0) {
            //  Make a printable name: the key may be any bytes
            for (size_t pos = 0; pos < name_size; pos++)
                if ((uint8_t) name[pos] < 0x20 || (uint8_t) name[pos] == 0x7f)
                    name[pos] = '?';
            s_join (path, sizeof (path), prefix, name, name_size);
            return cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                                    "%s: unknown field", path);
        }
        if (seen & (1ULL << position))
            return cmp_proto_fault (fault, CMP_STATUS_INVALID, path,
                                    "%s: field given twice", path);
        seen |= 1ULL << position;
        if (s_decode_field (self, &schema[position], value, path, fault))
            return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Decode one body

cmp_proto_t *
cmp_proto_decode (const void *data, size_t size, cmp_proto_fault_t *fault)
{
    cmp_proto_fault_t local;
    if (!fault)
        fault = &local;
    memset (fault, 0, sizeof (*fault));
    cmp_proto_t *self = NULL;

    if (size == 0) {
        cmp_proto_fault (fault, CMP_STATUS_BAD_REQUEST, NULL, "empty body");
        goto failed;
    }
    size_t pos = 0;
    if (s_prescan ((const uint8_t *) data, size, &pos, 1, fault->text,
                   sizeof (fault->text))) {
        fault->status = CMP_STATUS_BAD_REQUEST;
        goto failed;
    }
    if (pos != size) {
        cmp_proto_fault (fault, CMP_STATUS_BAD_REQUEST, NULL,
                         "%zu bytes after the end of the message", size - pos);
        goto failed;
    }
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    msgpack_unpack_return rc =
      msgpack_unpack_next (&unpacked, (const char *) data, size, &offset);
    if (rc != MSGPACK_UNPACK_SUCCESS) {
        cmp_proto_fault (fault, CMP_STATUS_BAD_REQUEST, NULL,
                         "body is not valid msgpack");
        goto unpacked_destroy;
    }
    const msgpack_object *root = &unpacked.data;
    const msgpack_object *element = root->via.array.ptr;
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size != 5) {
        if (root->type == MSGPACK_OBJECT_ARRAY && root->via.array.size >= 4
            && element[3].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            fault->request_id = element[3].via.u64;
        cmp_proto_fault (
          fault, CMP_STATUS_BAD_REQUEST, NULL,
          "body must be a msgpack array of 5 elements [signature, "
          "version, type, request_id, fields]");
        goto unpacked_destroy;
    }
    if (element[3].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        fault->request_id = element[3].via.u64;
    if (element[0].type != MSGPACK_OBJECT_STR
        || element[0].via.str.size != strlen (CMP_PROTO_SIGNATURE)
        || memcmp (element[0].via.str.ptr, CMP_PROTO_SIGNATURE,
                   element[0].via.str.size)
             != 0) {
        cmp_proto_fault (fault, CMP_STATUS_BAD_REQUEST, "signature",
                         "signature: expected the string \"%s\"",
                         CMP_PROTO_SIGNATURE);
        goto unpacked_destroy;
    }
    if (element[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        cmp_proto_fault (fault, CMP_STATUS_BAD_REQUEST, "version",
                         "version: expected a positive integer, got %s",
                         s_type_name (element[1].type));
        goto unpacked_destroy;
    }
    if (element[1].via.u64 != CMP_PROTO_VERSION) {
        cmp_proto_fault (fault, CMP_STATUS_VERSION, "version",
                         "version: protocol version %" PRIu64
                         " is not supported; supported: %d",
                         element[1].via.u64, CMP_PROTO_VERSION);
        goto unpacked_destroy;
    }
    if (element[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        cmp_proto_fault (fault, CMP_STATUS_BAD_REQUEST, "request_id",
                         "request_id: expected an unsigned integer, got %s",
                         s_type_name (element[3].type));
        goto unpacked_destroy;
    }
    const s_message_t *message = NULL;
    if (element[2].type == MSGPACK_OBJECT_STR)
        for (int index = 0; s_messages[index].name; index++)
            if (strlen (s_messages[index].name) == element[2].via.str.size
                && memcmp (s_messages[index].name, element[2].via.str.ptr,
                           element[2].via.str.size)
                     == 0)
                message = &s_messages[index];
    if (!message) {
        if (element[2].type == MSGPACK_OBJECT_STR) {
            char name[32];
            size_t length = element[2].via.str.size < sizeof (name) - 1
                              ? element[2].via.str.size
                              : sizeof (name) - 1;
            memcpy (name, element[2].via.str.ptr, length);
            name[length] = 0;
            for (size_t index = 0; index < length; index++)
                if ((uint8_t) name[index] < 0x20
                    || (uint8_t) name[index] >= 0x7f)
                    name[index] = '?';
            cmp_proto_fault (fault, CMP_STATUS_NOT_SUPPORTED, "type",
                             "type: unknown message type \"%s\"", name);
        } else
            cmp_proto_fault (fault, CMP_STATUS_BAD_REQUEST, "type",
                             "type: expected a string, got %s",
                             s_type_name (element[2].type));
        goto unpacked_destroy;
    }
    fault->id = message->id;
    if (element[4].type != MSGPACK_OBJECT_MAP) {
        cmp_proto_fault (fault, CMP_STATUS_BAD_REQUEST, "fields",
                         "fields: expected a map, got %s",
                         s_type_name (element[4].type));
        goto unpacked_destroy;
    }
    self = cmp_proto_new (message->id);
    self->request_id = element[3].via.u64;
    if (s_decode_map (self, message->schema, &element[4], "", fault))
        cmp_proto_destroy (&self);

unpacked_destroy:
    msgpack_unpacked_destroy (&unpacked);
failed:
    if (!self)
        zsys_warning ("cmp_proto: refused %zu-byte body: %s", size,
                      fault->text);
    return self;
}

cmp_proto_t *
cmp_proto_decode_map (int id, const void *data, size_t size)
{
    const s_field_t *schema = s_map_schema (id);
    assert (schema);
    cmp_proto_fault_t fault;
    size_t pos = 0;
    if (size == 0
        || s_prescan ((const uint8_t *) data, size, &pos, 1, fault.text,
                      sizeof (fault.text))
        || pos != size)
        return NULL;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    cmp_proto_t *self = NULL;
    if (msgpack_unpack_next (&unpacked, (const char *) data, size, NULL)
          == MSGPACK_UNPACK_SUCCESS
        && unpacked.data.type == MSGPACK_OBJECT_MAP) {
        self = cmp_proto_new (id);
        if (s_decode_map (self, schema, &unpacked.data, "", &fault)) {
            zsys_warning ("cmp_proto: stored map refused: %s", fault.text);
            cmp_proto_destroy (&self);
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    return self;
}

//  --------------------------------------------------------------------------
//  Encoding

static void
s_pack_string (msgpack_packer *packer, const char *string)
{
    size_t size = strlen (string);
    msgpack_pack_str (packer, size);
    msgpack_pack_str_body (packer, string, size);
}

static bool s_map_present (cmp_proto_t *self, const s_field_t *schema);

static bool
s_field_present (cmp_proto_t *self, const s_field_t *field)
{
    switch (field->kind) {
        case K_STR: return self->str[field->slot] != NULL;
        case K_INT:
        case K_UINT:
        case K_BOOL: return self->has[field->slot];
        case K_STRLIST:
            return self->list[field->slot]
                   && zlist_size (self->list[field->slot]) > 0;
        case K_MAP: return s_map_present (self, field->schema);
        case K_RECORD: return true;
        case K_ITEMS:
            //  A page and the clocks of a CLOCKS reply are always there, if
            //  empty; a record's contact log and clocks and an entry's
            //  changes only when they hold something
            if (field->slot == CMP_PROTO_CLOCK)
                return self->id == CMP_PROTO_CLOCKS
                       || (self->clocks && zlistx_size (self->clocks));
            if (field->slot == CMP_PROTO_CONTACT
                || field->slot == CMP_PROTO_CHANGE)
                return (self->raws && zlistx_size (self->raws))
                       || (self->items && zlistx_size (self->items));
            return true;
    }
    return false;
}

static bool
s_map_present (cmp_proto_t *self, const s_field_t *schema)
{
    for (int index = 0; schema[index].key; index++)
        if (s_field_present (self, &schema[index]))
            return true;
    return false;
}

static void s_encode_map (cmp_proto_t *self,
                          const s_field_t *schema,
                          msgpack_sbuffer *buffer,
                          msgpack_packer *packer);

static void
s_encode_field (cmp_proto_t *self,
                const s_field_t *field,
                msgpack_sbuffer *buffer,
                msgpack_packer *packer)
{
    switch (field->kind) {
        case K_STR:
            if (self->str[field->slot])
                s_pack_string (packer, self->str[field->slot]);
            else
                msgpack_pack_nil (packer);
            break;
        case K_INT:
            msgpack_pack_int64 (packer, (int64_t) self->num[field->slot]);
            break;
        case K_UINT:
            msgpack_pack_uint64 (packer, self->num[field->slot]);
            break;
        case K_BOOL:
            if (self->num[field->slot])
                msgpack_pack_true (packer);
            else
                msgpack_pack_false (packer);
            break;
        case K_STRLIST: {
            zlist_t *list = self->list[field->slot];
            msgpack_pack_array (packer, zlist_size (list));
            for (char *item = (char *) zlist_first (list); item;
                 item = (char *) zlist_next (list))
                s_pack_string (packer, item);
            break;
        }
        case K_MAP: s_encode_map (self, field->schema, buffer, packer); break;
        case K_RECORD: {
            zchunk_t *raw =
              self->raws ? (zchunk_t *) zlistx_first (self->raws) : NULL;
            if (raw)
                msgpack_sbuffer_write (buffer, (const char *) zchunk_data (raw),
                                       zchunk_size (raw));
            else
                s_encode_map (self, field->schema, buffer, packer);
            break;
        }
        case K_ITEMS:
            //  Clocks are never spliced raw: the raws of a record are its
            //  page's or its reply's
            if (field->slot != CMP_PROTO_CLOCK && self->raws
                && zlistx_size (self->raws)) {
                msgpack_pack_array (packer, zlistx_size (self->raws));
                for (zchunk_t *raw = (zchunk_t *) zlistx_first (self->raws);
                     raw; raw = (zchunk_t *) zlistx_next (self->raws))
                    msgpack_sbuffer_write (buffer,
                                           (const char *) zchunk_data (raw),
                                           zchunk_size (raw));
            } else {
                zlistx_t *items = s_item_list (self, field);
                msgpack_pack_array (packer, zlistx_size (items));
                for (cmp_proto_t *item = (cmp_proto_t *) zlistx_first (items);
                     item; item = (cmp_proto_t *) zlistx_next (items))
                    s_encode_map (item, field->schema, buffer, packer);
            }
            break;
    }
}

static void
s_encode_map (cmp_proto_t *self,
              const s_field_t *schema,
              msgpack_sbuffer *buffer,
              msgpack_packer *packer)
{
    size_t count = 0;
    for (int index = 0; schema[index].key; index++)
        if (schema[index].nil || s_field_present (self, &schema[index]))
            count++;
    msgpack_pack_map (packer, count);
    for (int index = 0; schema[index].key; index++)
        if (schema[index].nil || s_field_present (self, &schema[index])) {
            s_pack_string (packer, schema[index].key);
            s_encode_field (self, &schema[index], buffer, packer);
        }
}

zframe_t *
cmp_proto_encode (cmp_proto_t *self)
{
    assert (self);
    const s_message_t *message = s_message (self->id);
    assert (message);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&packer, 5);
    s_pack_string (&packer, CMP_PROTO_SIGNATURE);
    msgpack_pack_uint8 (&packer, CMP_PROTO_VERSION);
    s_pack_string (&packer, message->name);
    msgpack_pack_uint64 (&packer, self->request_id);
    zchunk_t *raw = self->raws ? (zchunk_t *) zlistx_first (self->raws) : NULL;
    if (self->id == CMP_PROTO_EVENT && raw)
        msgpack_sbuffer_write (&buffer, (const char *) zchunk_data (raw),
                               zchunk_size (raw));
    else
        s_encode_map (self, message->schema, &buffer, &packer);
    size_t size = buffer.size;
    char *data = msgpack_sbuffer_release (&buffer);
    zframe_t *frame = zframe_new (data, size);
    assert (frame);
    free (data);
    return frame;
}

zchunk_t *
cmp_proto_encode_map (cmp_proto_t *self)
{
    assert (self);
    const s_field_t *schema = s_map_schema (self->id);
    assert (schema);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    s_encode_map (self, schema, &buffer, &packer);
    zchunk_t *chunk = zchunk_new (buffer.data, buffer.size);
    assert (chunk);
    msgpack_sbuffer_destroy (&buffer);
    return chunk;
}

//  --------------------------------------------------------------------------
//  JSON rendering of the fields map, through jansson

static json_t *
s_json (const msgpack_object *object)
{
    switch (object->type) {
        case MSGPACK_OBJECT_NIL: return json_null ();
        case MSGPACK_OBJECT_BOOLEAN: return json_boolean (object->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            return json_integer ((json_int_t) object->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return json_integer ((json_int_t) object->via.i64);
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return json_real (object->via.f64);
        case MSGPACK_OBJECT_STR:
            return json_stringn_nocheck (object->via.str.ptr,
                                         object->via.str.size);
        case MSGPACK_OBJECT_ARRAY: {
            json_t *array = json_array ();
            for (uint32_t index = 0; index < object->via.array.size; index++)
                json_array_append_new (array,
                                       s_json (&object->via.array.ptr[index]));
            return array;
        }
        case MSGPACK_OBJECT_MAP: {
            json_t *map = json_object ();
            for (uint32_t index = 0; index < object->via.map.size; index++) {
                const msgpack_object *key = &object->via.map.ptr[index].key;
                if (key->type != MSGPACK_OBJECT_STR)
                    continue;
                char *name = strndup (key->via.str.ptr, key->via.str.size);
                json_object_set_new (map, name,
                                     s_json (&object->via.map.ptr[index].val));
                free (name);
            }
            return map;
        }
        default: return json_null ();
    }
}

char *
cmp_proto_json (cmp_proto_t *self)
{
    assert (self);
    zframe_t *frame = cmp_proto_encode (self);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    char *result = NULL;
    if (msgpack_unpack_next (&unpacked, (const char *) zframe_data (frame),
                             zframe_size (frame), NULL)
        == MSGPACK_UNPACK_SUCCESS) {
        json_t *json = s_json (&unpacked.data.via.array.ptr[4]);
        char *text = json_dumps (json, JSON_COMPACT | JSON_SORT_KEYS);
        if (text) {
            result = strdup (text);
            free (text);
        }
        json_decref (json);
    }
    msgpack_unpacked_destroy (&unpacked);
    zframe_destroy (&frame);
    return result;
}

//  --------------------------------------------------------------------------
//  Accessors

int
cmp_proto_id (cmp_proto_t *self)
{
    assert (self);
    return self->id;
}

void
cmp_proto_set_id (cmp_proto_t *self, int id)
{
    assert (self);
    self->id = id;
}

const char *
cmp_proto_id_name (int id)
{
    const s_message_t *message = s_message (id);
    return message ? message->name : "?";
}

const char *
cmp_proto_command (cmp_proto_t *self)
{
    assert (self);
    return cmp_proto_id_name (self->id);
}

uint64_t
cmp_proto_request_id (cmp_proto_t *self)
{
    assert (self);
    return self->request_id;
}

void
cmp_proto_set_request_id (cmp_proto_t *self, uint64_t request_id)
{
    assert (self);
    self->request_id = request_id;
}

#define S_STRING_ACCESSORS(name, slot)                                         \
    const char *cmp_proto_##name (cmp_proto_t *self)                           \
    {                                                                          \
        assert (self);                                                         \
        return self->str[slot];                                                \
    }                                                                          \
    void cmp_proto_set_##name (cmp_proto_t *self, const char *value)           \
    {                                                                          \
        assert (self);                                                         \
        zstr_free (&self->str[slot]);                                          \
        if (value) {                                                           \
            self->str[slot] = strdup (value);                                  \
            assert (self->str[slot]);                                          \
        }                                                                      \
    }

S_STRING_ACCESSORS (channel, S_CHANNEL)
S_STRING_ACCESSORS (ref, S_REF)
S_STRING_ACCESSORS (number, S_NUMBER)
S_STRING_ACCESSORS (state, S_STATE)
S_STRING_ACCESSORS (name, S_NAME)
S_STRING_ACCESSORS (phone, S_PHONE)
S_STRING_ACCESSORS (email, S_EMAIL)
S_STRING_ACCESSORS (relation, S_RELATION)
S_STRING_ACCESSORS (department, S_DEPARTMENT)
S_STRING_ACCESSORS (staff, S_STAFF)
S_STRING_ACCESSORS (location, S_LOCATION)
S_STRING_ACCESSORS (description, S_DESCRIPTION)
S_STRING_ACCESSORS (demands, S_DEMANDS)
S_STRING_ACCESSORS (topic, S_TOPIC)
S_STRING_ACCESSORS (code, S_CODE)
S_STRING_ACCESSORS (message, S_MESSAGE)
S_STRING_ACCESSORS (field, S_FIELD)
S_STRING_ACCESSORS (after, S_AFTER)
S_STRING_ACCESSORS (next, S_NEXT)
S_STRING_ACCESSORS (software, S_SOFTWARE)
S_STRING_ACCESSORS (action, S_ACTION)
S_STRING_ACCESSORS (actor, S_ACTOR)
S_STRING_ACCESSORS (role, S_ROLE)
S_STRING_ACCESSORS (previous, S_PREVIOUS)
S_STRING_ACCESSORS (case_department, S_UNIT)
S_STRING_ACCESSORS (handler, S_HANDLER)
S_STRING_ACCESSORS (category, S_CATEGORY)
S_STRING_ACCESSORS (severity, S_SEVERITY)
S_STRING_ACCESSORS (priority, S_PRIORITY)
S_STRING_ACCESSORS (route, S_ROUTE)
S_STRING_ACCESSORS (reason, S_REASON)
S_STRING_ACCESSORS (text, S_TEXT)
S_STRING_ACCESSORS (resolution, S_RESOLUTION)
S_STRING_ACCESSORS (direction, S_DIRECTION)
S_STRING_ACCESSORS (summary, S_SUMMARY)
S_STRING_ACCESSORS (kind, S_KIND)
S_STRING_ACCESSORS (currency, S_CURRENCY)
S_STRING_ACCESSORS (proposal, S_PROPOSAL)
S_STRING_ACCESSORS (proposed_by, S_PROPOSED_BY)
S_STRING_ACCESSORS (approved_by, S_APPROVED_BY)
S_STRING_ACCESSORS (answer_reason, S_ANSWER_REASON)
S_STRING_ACCESSORS (comment, S_COMMENT)
S_STRING_ACCESSORS (into, S_INTO)
S_STRING_ACCESSORS (old_value, S_OLD)
S_STRING_ACCESSORS (new_value, S_NEW)
S_STRING_ACCESSORS (refused, S_REFUSED)
S_STRING_ACCESSORS (subcategory, S_SUBCATEGORY)
S_STRING_ACCESSORS (impact, S_IMPACT)
S_STRING_ACCESSORS (sla, S_SLA)
S_STRING_ACCESSORS (group, S_GROUP)
S_STRING_ACCESSORS (tier, S_TIER)
S_STRING_ACCESSORS (rules, S_RULES)
S_STRING_ACCESSORS (clock, S_CLOCK)
S_STRING_ACCESSORS (target, S_TARGET)
S_STRING_ACCESSORS (outcome, S_OUTCOME)
S_STRING_ACCESSORS (due_local, S_DUE_LOCAL)
S_STRING_ACCESSORS (level, S_LEVEL)
S_STRING_ACCESSORS (previous_level, S_PREVIOUS_LEVEL)
S_STRING_ACCESSORS (sla_policy, S_POLICY)
S_STRING_ACCESSORS (zone, S_ZONE)

#define S_NUMBER_ACCESSORS(name, slot, type)                                   \
    type cmp_proto_##name (cmp_proto_t *self)                                  \
    {                                                                          \
        assert (self);                                                         \
        return self->has[slot] ? (type) self->num[slot] : (type) 0;            \
    }                                                                          \
    void cmp_proto_set_##name (cmp_proto_t *self, type value)                  \
    {                                                                          \
        assert (self);                                                         \
        self->num[slot] = (uint64_t) value;                                    \
        self->has[slot] = true;                                                \
    }

S_NUMBER_ACCESSORS (complained_at, N_COMPLAINED_AT, int64_t)
S_NUMBER_ACCESSORS (received_at, N_RECEIVED_AT, int64_t)
S_NUMBER_ACCESSORS (at, N_AT, int64_t)
S_NUMBER_ACCESSORS (from, N_FROM, int64_t)
S_NUMBER_ACCESSORS (to, N_TO, int64_t)
S_NUMBER_ACCESSORS (uptime, N_UPTIME, int64_t)
S_NUMBER_ACCESSORS (complaint_id, N_ID, uint64_t)
S_NUMBER_ACCESSORS (version, N_VERSION, uint64_t)
S_NUMBER_ACCESSORS (seq, N_SEQ, uint64_t)
S_NUMBER_ACCESSORS (last_seq, N_LAST_SEQ, uint64_t)
S_NUMBER_ACCESSORS (limit, N_LIMIT, uint64_t)
S_NUMBER_ACCESSORS (status, N_STATUS, uint64_t)
S_NUMBER_ACCESSORS (protocol, N_PROTOCOL, uint64_t)
S_NUMBER_ACCESSORS (complaints, N_COMPLAINTS, uint64_t)
S_NUMBER_ACCESSORS (anonymous, N_ANONYMOUS, bool)
S_NUMBER_ACCESSORS (duplicate, N_DUPLICATE, bool)
S_NUMBER_ACCESSORS (updated_at, N_UPDATED_AT, int64_t)
S_NUMBER_ACCESSORS (history, N_HISTORY, uint64_t)
S_NUMBER_ACCESSORS (extended, N_EXTENDED, bool)
S_NUMBER_ACCESSORS (merged_into, N_MERGED_INTO, uint64_t)
S_NUMBER_ACCESSORS (amount, N_AMOUNT, uint64_t)
S_NUMBER_ACCESSORS (accepted, N_ACCEPTED, bool)
S_NUMBER_ACCESSORS (satisfaction, N_SATISFACTION, uint64_t)
S_NUMBER_ACCESSORS (proposed_at, N_PROPOSED_AT, int64_t)
S_NUMBER_ACCESSORS (approved_at, N_APPROVED_AT, int64_t)
S_NUMBER_ACCESSORS (answered_at, N_ANSWERED_AT, int64_t)
S_NUMBER_ACCESSORS (followed_up_at, N_FOLLOWED_UP_AT, int64_t)
S_NUMBER_ACCESSORS (updated_from, N_UPDATED_FROM, int64_t)
S_NUMBER_ACCESSORS (updated_to, N_UPDATED_TO, int64_t)
S_NUMBER_ACCESSORS (emergency, N_EMERGENCY, bool)
S_NUMBER_ACCESSORS (repeats, N_REPEATS, uint64_t)
S_NUMBER_ACCESSORS (triaged_at, N_TRIAGED_AT, int64_t)
S_NUMBER_ACCESSORS (work, N_WORK, bool)
S_NUMBER_ACCESSORS (started_at, N_STARTED_AT, int64_t)
S_NUMBER_ACCESSORS (since, N_SINCE, int64_t)
S_NUMBER_ACCESSORS (used, N_USED, int64_t)
S_NUMBER_ACCESSORS (total, N_TOTAL, int64_t)
S_NUMBER_ACCESSORS (due_at, N_DUE_AT, int64_t)
S_NUMBER_ACCESSORS (next_at, N_NEXT_AT, int64_t)
S_NUMBER_ACCESSORS (breached_at, N_BREACHED_AT, int64_t)
S_NUMBER_ACCESSORS (stopped_at, N_STOPPED_AT, int64_t)
S_NUMBER_ACCESSORS (reminded, N_REMINDED, bool)
S_NUMBER_ACCESSORS (warned, N_WARNED, uint64_t)
S_NUMBER_ACCESSORS (escalations, N_ESCALATIONS, uint64_t)
S_NUMBER_ACCESSORS (remaining, N_REMAINING, int64_t)
S_NUMBER_ACCESSORS (late, N_LATE, bool)
S_NUMBER_ACCESSORS (percent, N_PERCENT, uint64_t)
S_NUMBER_ACCESSORS (due_before, N_DUE_BEFORE, int64_t)
S_NUMBER_ACCESSORS (breached, N_BREACHED, bool)
S_NUMBER_ACCESSORS (fired, N_FIRED, uint64_t)
S_NUMBER_ACCESSORS (pending, N_PENDING, bool)

//  The string slot of a triage decided_by field, or -1
static int
s_decided_slot (const char *field)
{
    for (int index = 0; s_decided_by[index].key; index++)
        if (streq (s_decided_by[index].key, field))
            return s_decided_by[index].slot;
    return -1;
}

const char *
cmp_proto_decided_by (cmp_proto_t *self, const char *field)
{
    assert (self);
    int slot = s_decided_slot (field);
    return slot >= 0 ? self->str[slot] : NULL;
}

void
cmp_proto_set_decided_by (cmp_proto_t *self,
                          const char *field,
                          const char *rule)
{
    assert (self);
    int slot = s_decided_slot (field);
    assert (slot >= 0);
    zstr_free (&self->str[slot]);
    if (rule) {
        self->str[slot] = strdup (rule);
        assert (self->str[slot]);
    }
}

//  The string slot of key in the message's own fields map, or -1
static int
s_string_slot (cmp_proto_t *self, const char *key)
{
    const s_message_t *message = s_message (self->id);
    const s_field_t *schema =
      message ? message->schema : s_map_schema (self->id);
    for (int index = 0; schema && schema[index].key; index++)
        if (schema[index].kind == K_STR && streq (schema[index].key, key))
            return schema[index].slot;
    return -1;
}

const char *
cmp_proto_string (cmp_proto_t *self, const char *key)
{
    assert (self);
    int slot = s_string_slot (self, key);
    return slot >= 0 ? self->str[slot] : NULL;
}

void
cmp_proto_set_string (cmp_proto_t *self, const char *key, const char *value)
{
    assert (self);
    int slot = s_string_slot (self, key);
    assert (slot >= 0);
    zstr_free (&self->str[slot]);
    if (value) {
        self->str[slot] = strdup (value);
        assert (self->str[slot]);
    }
}

bool
cmp_proto_has (cmp_proto_t *self, const char *field)
{
    assert (self);
    for (int index = 0; index < N_COUNT; index++)
        if (streq (s_number_names[index], field))
            return self->has[index];
    return false;
}

void
cmp_proto_unset (cmp_proto_t *self, const char *field)
{
    assert (self);
    for (int index = 0; index < N_COUNT; index++)
        if (streq (s_number_names[index], field)) {
            self->has[index] = false;
            self->num[index] = 0;
        }
}

static zlist_t *
s_strlist (cmp_proto_t *self, int slot)
{
    if (!self->list[slot]) {
        self->list[slot] = zlist_new ();
        assert (self->list[slot]);
        zlist_autofree (self->list[slot]);
    }
    return self->list[slot];
}

zlist_t *
cmp_proto_attachments (cmp_proto_t *self)
{
    assert (self);
    return s_strlist (self, L_ATTACHMENTS);
}

void
cmp_proto_add_attachment (cmp_proto_t *self, const char *uri)
{
    assert (self);
    zlist_append (s_strlist (self, L_ATTACHMENTS), (void *) uri);
}

zlist_t *
cmp_proto_tags (cmp_proto_t *self)
{
    assert (self);
    return s_strlist (self, L_TAGS);
}

void
cmp_proto_add_tag (cmp_proto_t *self, const char *tag)
{
    assert (self);
    zlist_append (s_strlist (self, L_TAGS), (void *) tag);
}

zlist_t *
cmp_proto_matched (cmp_proto_t *self)
{
    assert (self);
    return s_strlist (self, L_MATCHED);
}

zlist_t *
cmp_proto_triage_tags (cmp_proto_t *self)
{
    assert (self);
    return s_strlist (self, L_TRIAGE_TAGS);
}

zlist_t *
cmp_proto_repeat_of (cmp_proto_t *self)
{
    assert (self);
    return s_strlist (self, L_REPEAT_OF);
}

zlist_t *
cmp_proto_notify (cmp_proto_t *self)
{
    assert (self);
    return s_strlist (self, L_NOTIFY);
}

void
cmp_proto_add_notify (cmp_proto_t *self, const char *whom)
{
    assert (self);
    zlist_append (s_strlist (self, L_NOTIFY), (void *) whom);
}

zlistx_t *
cmp_proto_items (cmp_proto_t *self)
{
    assert (self);
    return s_items (self);
}

zlistx_t *
cmp_proto_clocks (cmp_proto_t *self)
{
    assert (self);
    return s_clocks (self);
}

void
cmp_proto_add_raw (cmp_proto_t *self, zchunk_t **chunk_p)
{
    assert (self);
    assert (chunk_p && *chunk_p);
    zlistx_add_end (s_raws (self), *chunk_p);
    *chunk_p = NULL;
}

void
cmp_proto_add_change (cmp_proto_t *self,
                      const char *field,
                      const char *old_value,
                      const char *new_value)
{
    assert (self);
    assert (self->id == CMP_PROTO_ENTRY);
    assert (!self->items || zlistx_size (self->items) == 0);
    assert (field);
    //  The keys of s_change, in its order
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 1 + (old_value != NULL) + (new_value != NULL));
    s_pack_string (&packer, s_change[0].key);
    s_pack_string (&packer, field);
    if (old_value) {
        s_pack_string (&packer, s_change[1].key);
        s_pack_string (&packer, old_value);
    }
    if (new_value) {
        s_pack_string (&packer, s_change[2].key);
        s_pack_string (&packer, new_value);
    }
    zchunk_t *chunk = zchunk_new (buffer.data, buffer.size);
    assert (chunk);
    msgpack_sbuffer_destroy (&buffer);
    zlistx_add_end (s_raws (self), chunk);
}

const char *
cmp_proto_status_code (int status)
{
    for (int index = 0; s_statuses[index].code; index++)
        if (s_statuses[index].status == status)
            return s_statuses[index].code;
    return "UNKNOWN";
}

cmp_proto_t *
cmp_proto_new_error (uint64_t request_id,
                     int status,
                     const char *field,
                     const char *text)
{
    cmp_proto_t *self = cmp_proto_new (CMP_PROTO_ERROR);
    self->request_id = request_id;
    cmp_proto_set_status (self, (uint64_t) status);
    cmp_proto_set_code (self, cmp_proto_status_code (status));
    cmp_proto_set_message (self, text);
    if (field && *field)
        cmp_proto_set_field (self, field);
    return self;
}

const char *
cmp_proto_msgpack_version (void)
{
    return msgpack_version ();
}

void
cmp_proto_print (cmp_proto_t *self)
{
    assert (self);
    char *json = cmp_proto_json (self);
    printf ("%s #%" PRIu64 " %s\n", cmp_proto_command (self), self->request_id,
            json ? json : "?");
    zstr_free (&json);
}

//  --------------------------------------------------------------------------
//  Self test

static cmp_proto_t *
s_roundtrip (cmp_proto_t *self)
{
    zframe_t *frame = cmp_proto_encode (self);
    cmp_proto_fault_t fault;
    cmp_proto_t *copy =
      cmp_proto_decode (zframe_data (frame), zframe_size (frame), &fault);
    if (!copy)
        printf ("roundtrip of %s failed: %s\n", cmp_proto_command (self),
                fault.text);
    assert (copy);
    assert (cmp_proto_id (copy) == cmp_proto_id (self));
    assert (cmp_proto_request_id (copy) == cmp_proto_request_id (self));
    zframe_destroy (&frame);
    return copy;
}

//  Decode a hand-written body and expect a fault
static void
s_expect_fault (const char *data, size_t size, int status, const char *field)
{
    cmp_proto_fault_t fault;
    cmp_proto_t *self = cmp_proto_decode (data, size, &fault);
    if (self || fault.status != status || !streq (fault.field, field))
        printf ("expected %d '%s', got %d '%s' (%s)\n", status, field,
                fault.status, fault.field, fault.text);
    assert (!self);
    assert (fault.status == status);
    assert (streq (fault.field, field));
}

#define S_EXPECT_FAULT(literal, status, field)                                 \
    s_expect_fault (literal, sizeof (literal) - 1, status, field)

void
cmp_proto_test (bool verbose)
{
    printf (" * cmp_proto: ");
    if (verbose)
        printf ("\n");
    if (!verbose)
        zsys_set_logstream (NULL);

    //  @selftest
    //  SUBMIT with every field round-trips
    cmp_proto_t *self = cmp_proto_new (CMP_PROTO_SUBMIT);
    cmp_proto_set_request_id (self, 42);
    cmp_proto_set_channel (self, "phone");
    cmp_proto_set_ref (self, "call-0001");
    cmp_proto_set_complained_at (self, 1795000000000);
    cmp_proto_set_name (self, "张三");
    cmp_proto_set_phone (self, "+86 138 0000 0000");
    cmp_proto_set_email (self, "zhang@example.com");
    cmp_proto_set_anonymous (self, false);
    cmp_proto_set_relation (self, "patient's son");
    cmp_proto_set_department (self, "Radiology");
    cmp_proto_set_staff (self, "Dr Li");
    cmp_proto_set_location (self, "Building 2");
    cmp_proto_set_description (self, "等了三个小时 — waited three hours");
    cmp_proto_set_demands (self, "an apology");
    cmp_proto_add_attachment (self, "https://files.example.com/a.jpg");
    cmp_proto_add_tag (self, "waiting");
    cmp_proto_add_tag (self, "x-ray");
    cmp_proto_t *copy = s_roundtrip (self);
    assert (streq (cmp_proto_channel (copy), "phone"));
    assert (streq (cmp_proto_ref (copy), "call-0001"));
    assert (cmp_proto_complained_at (copy) == 1795000000000);
    assert (streq (cmp_proto_name (copy), "张三"));
    assert (streq (cmp_proto_phone (copy), "+86 138 0000 0000"));
    assert (streq (cmp_proto_email (copy), "zhang@example.com"));
    assert (cmp_proto_has (copy, "anonymous") && !cmp_proto_anonymous (copy));
    assert (streq (cmp_proto_relation (copy), "patient's son"));
    assert (streq (cmp_proto_department (copy), "Radiology"));
    assert (streq (cmp_proto_staff (copy), "Dr Li"));
    assert (streq (cmp_proto_location (copy), "Building 2"));
    assert (streq (cmp_proto_description (copy),
                   "等了三个小时 — waited three hours"));
    assert (streq (cmp_proto_demands (copy), "an apology"));
    assert (zlist_size (cmp_proto_attachments (copy)) == 1);
    assert (zlist_size (cmp_proto_tags (copy)) == 2);
    assert (streq ((char *) zlist_first (cmp_proto_tags (copy)), "waiting"));
    assert (!cmp_proto_has (copy, "received_at"));
    char *json = cmp_proto_json (copy);
    assert (json && strstr (json, "\"complainant\":{"));
    zstr_free (&json);
    cmp_proto_destroy (&copy);

    //  The record encoding is the COMPLAINT reply's "complaint" map
    cmp_proto_set_id (self, CMP_PROTO_COMPLAINT);
    cmp_proto_set_complaint_id (self, 7);
    cmp_proto_set_number (self, "20261123-000007");
    cmp_proto_set_state (self, "registered");
    cmp_proto_set_version (self, 1);
    cmp_proto_set_received_at (self, 1795000000500);
    zchunk_t *record = cmp_proto_encode_map (self);
    copy = cmp_proto_decode_map (CMP_PROTO_COMPLAINT, zchunk_data (record),
                                 zchunk_size (record));
    assert (copy && cmp_proto_complaint_id (copy) == 7);
    assert (streq (cmp_proto_description (copy),
                   "等了三个小时 — waited three hours"));
    cmp_proto_destroy (&copy);
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_COMPLAINT);
    cmp_proto_add_raw (reply, &record);
    assert (record == NULL);
    copy = s_roundtrip (reply);
    assert (cmp_proto_complaint_id (copy) == 7);
    assert (streq (cmp_proto_number (copy), "20261123-000007"));
    assert (streq (cmp_proto_name (copy), "张三"));
    assert (cmp_proto_received_at (copy) == 1795000000500);
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&reply);

    //  COMPLAINTS splices raw records and decodes them into items
    reply = cmp_proto_new (CMP_PROTO_COMPLAINTS);
    for (int index = 0; index < 3; index++) {
        cmp_proto_set_complaint_id (self, 7 + index);
        record = cmp_proto_encode_map (self);
        cmp_proto_add_raw (reply, &record);
    }
    copy = s_roundtrip (reply);
    assert (zlistx_size (cmp_proto_items (copy)) == 3);
    assert (cmp_proto_next (copy) == NULL);
    cmp_proto_t *item = (cmp_proto_t *) zlistx_last (cmp_proto_items (copy));
    assert (cmp_proto_id (item) == CMP_PROTO_COMPLAINT);
    assert (cmp_proto_complaint_id (item) == 9);
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&reply);
    cmp_proto_destroy (&self);

    //  A record keeps its contacts and its clocks apart, stored, in a
    //  COMPLAINT reply and in a page; the case has its level and policy
    self = cmp_proto_new (CMP_PROTO_COMPLAINT);
    cmp_proto_set_complaint_id (self, 12);
    cmp_proto_set_number (self, "20261123-000012");
    cmp_proto_set_state (self, "investigating");
    cmp_proto_set_version (self, 4);
    cmp_proto_set_handler (self, "zhang.min");
    cmp_proto_set_sla (self, "standard");
    cmp_proto_set_level (self, "department_head");
    cmp_proto_set_sla_policy (self, "standard");
    cmp_proto_t *contact = cmp_proto_new (CMP_PROTO_CONTACT);
    cmp_proto_set_at (contact, 1795000100000);
    cmp_proto_set_actor (contact, "li.na");
    cmp_proto_set_direction (contact, "out");
    cmp_proto_set_channel (contact, "phone");
    cmp_proto_set_summary (contact, "called back");
    zlistx_add_end (cmp_proto_items (self), contact);
    cmp_proto_t *clock = cmp_proto_new (CMP_PROTO_CLOCK);
    cmp_proto_set_clock (clock, "investigation");
    cmp_proto_set_target (clock, "10 workdays");
    cmp_proto_set_state (clock, "running");
    cmp_proto_set_work (clock, true);
    cmp_proto_set_started_at (clock, 1795000000000);
    cmp_proto_set_since (clock, 1795000200000);
    cmp_proto_set_used (clock, 3600000);
    cmp_proto_set_total (clock, 288000000);
    cmp_proto_set_due_at (clock, 1796000000000);
    cmp_proto_set_next_at (clock, 1795900000000);
    cmp_proto_set_breached_at (clock, 1795950000000);
    cmp_proto_set_reminded (clock, false);
    cmp_proto_set_extended (clock, true);
    cmp_proto_set_warned (clock, 1);
    cmp_proto_set_escalations (clock, 2);
    zlistx_add_end (cmp_proto_clocks (self), clock);
    clock = cmp_proto_new (CMP_PROTO_CLOCK);
    cmp_proto_set_clock (clock, "first_reply");
    cmp_proto_set_target (clock, "24h");
    cmp_proto_set_state (clock, "stopped");
    cmp_proto_set_work (clock, false);
    cmp_proto_set_used (clock, 7200000);
    cmp_proto_set_total (clock, 86400000);
    cmp_proto_set_due_at (clock, 1795086400000);
    cmp_proto_set_stopped_at (clock, 1795007200000);
    cmp_proto_set_outcome (clock, "met");
    zlistx_add_end (cmp_proto_clocks (self), clock);
    record = cmp_proto_encode_map (self);
    copy = cmp_proto_decode_map (CMP_PROTO_COMPLAINT, zchunk_data (record),
                                 zchunk_size (record));
    assert (copy);
    assert (streq (cmp_proto_level (copy), "department_head"));
    assert (streq (cmp_proto_sla_policy (copy), "standard"));
    assert (streq (cmp_proto_sla (copy), "standard"));
    assert (zlistx_size (cmp_proto_items (copy)) == 1);
    assert (zlistx_size (cmp_proto_clocks (copy)) == 2);
    item = (cmp_proto_t *) zlistx_first (cmp_proto_items (copy));
    assert (cmp_proto_id (item) == CMP_PROTO_CONTACT);
    assert (streq (cmp_proto_summary (item), "called back"));
    item = (cmp_proto_t *) zlistx_first (cmp_proto_clocks (copy));
    assert (cmp_proto_id (item) == CMP_PROTO_CLOCK);
    assert (streq (cmp_proto_clock (item), "investigation"));
    assert (streq (cmp_proto_string (item, "name"), "investigation"));
    assert (streq (cmp_proto_target (item), "10 workdays"));
    assert (streq (cmp_proto_state (item), "running"));
    assert (cmp_proto_work (item) && cmp_proto_extended (item));
    assert (cmp_proto_has (item, "reminded") && !cmp_proto_reminded (item));
    assert (cmp_proto_started_at (item) == 1795000000000);
    assert (cmp_proto_since (item) == 1795000200000);
    assert (cmp_proto_used (item) == 3600000);
    assert (cmp_proto_total (item) == 288000000);
    assert (cmp_proto_due_at (item) == 1796000000000);
    assert (cmp_proto_next_at (item) == 1795900000000);
    assert (cmp_proto_breached_at (item) == 1795950000000);
    assert (cmp_proto_warned (item) == 1 && cmp_proto_escalations (item) == 2);
    assert (!cmp_proto_has (item, "stopped_at") && !cmp_proto_outcome (item));
    assert (!cmp_proto_has (item, "remaining") && !cmp_proto_due_local (item));
    item = (cmp_proto_t *) zlistx_last (cmp_proto_clocks (copy));
    assert (streq (cmp_proto_outcome (item), "met"));
    assert (cmp_proto_stopped_at (item) == 1795007200000);
    assert (cmp_proto_has (item, "work") && !cmp_proto_work (item));
    //  Encoded again, the record is the same bytes
    zchunk_t *again = cmp_proto_encode_map (copy);
    assert (zchunk_size (again) == zchunk_size (record));
    assert (
      memcmp (zchunk_data (again), zchunk_data (record), zchunk_size (record))
      == 0);
    zchunk_destroy (&again);
    cmp_proto_destroy (&copy);
    //  The same, in the COMPLAINT reply that splices it
    reply = cmp_proto_new (CMP_PROTO_COMPLAINT);
    zchunk_t *spliced = zchunk_dup (record);
    cmp_proto_add_raw (reply, &spliced);
    cmp_proto_set_history (reply, 6);
    copy = s_roundtrip (reply);
    assert (zlistx_size (cmp_proto_items (copy)) == 1);
    assert (zlistx_size (cmp_proto_clocks (copy)) == 2);
    assert (streq (cmp_proto_level (copy), "department_head"));
    json = cmp_proto_json (copy);
    assert (json && strstr (json, "\"contacts\":[{"));
    assert (strstr (json, "\"clocks\":[{"));
    assert (strstr (json, "\"name\":\"first_reply\""));
    assert (strstr (json, "\"level\":\"department_head\""));
    assert (strstr (json, "\"sla_policy\":\"standard\""));
    zstr_free (&json);
    //  ... and decoded into a COMPLAINT message that encodes it itself
    zframe_t *direct = cmp_proto_encode (copy);
    cmp_proto_destroy (&copy);
    copy = cmp_proto_decode (zframe_data (direct), zframe_size (direct), NULL);
    assert (copy && zlistx_size (cmp_proto_clocks (copy)) == 2);
    assert (zlistx_size (cmp_proto_items (copy)) == 1);
    zframe_destroy (&direct);
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&reply);
    //  ... and in a page, each item with its own
    reply = cmp_proto_new (CMP_PROTO_COMPLAINTS);
    cmp_proto_add_raw (reply, &record);
    copy = s_roundtrip (reply);
    item = (cmp_proto_t *) zlistx_first (cmp_proto_items (copy));
    assert (item && zlistx_size (cmp_proto_items (item)) == 1);
    assert (zlistx_size (cmp_proto_clocks (item)) == 2);
    assert (zlistx_size (cmp_proto_clocks (copy)) == 0);
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&reply);
    //  Without clocks or contacts, the record has neither key
    zlistx_purge (cmp_proto_items (self));
    zlistx_purge (cmp_proto_clocks (self));
    json = cmp_proto_json (self);
    assert (json && !strstr (json, "\"clocks\""));
    assert (!strstr (json, "\"contacts\""));
    zstr_free (&json);
    cmp_proto_destroy (&self);

    //  An event of a deadline point, and of an escalation
    cmp_proto_t *event = cmp_proto_new (CMP_PROTO_EVENT);
    cmp_proto_set_seq (event, 77);
    cmp_proto_set_topic (event, "complaint.escalated");
    cmp_proto_set_at (event, 1796000000000);
    cmp_proto_set_complaint_id (event, 12);
    cmp_proto_set_number (event, "20261123-000012");
    cmp_proto_set_channel (event, "phone");
    cmp_proto_set_state (event, "investigating");
    cmp_proto_set_version (event, 5);
    cmp_proto_set_clock (event, "investigation");
    cmp_proto_set_due_at (event, 1795999000000);
    cmp_proto_set_late (event, true);
    cmp_proto_set_percent (event, 75);
    cmp_proto_set_previous_level (event, "handler");
    cmp_proto_set_level (event, "department_head");
    cmp_proto_add_notify (event, "department.head");
    cmp_proto_add_notify (event, "handler");
    cmp_proto_set_handler (event, "zhang.min");
    cmp_proto_set_outcome (event, "missed");
    cmp_proto_set_reason (event, "investigation breached");
    zchunk_t *stored = cmp_proto_encode_map (event);
    self = cmp_proto_new (CMP_PROTO_EVENT);
    cmp_proto_add_raw (self, &stored);
    copy = s_roundtrip (self);
    assert (streq (cmp_proto_topic (copy), "complaint.escalated"));
    assert (streq (cmp_proto_clock (copy), "investigation"));
    assert (cmp_proto_due_at (copy) == 1795999000000);
    assert (cmp_proto_late (copy) && cmp_proto_percent (copy) == 75);
    assert (streq (cmp_proto_previous_level (copy), "handler"));
    assert (streq (cmp_proto_level (copy), "department_head"));
    assert (zlist_size (cmp_proto_notify (copy)) == 2);
    assert (streq ((char *) zlist_first (cmp_proto_notify (copy)),
                   "department.head"));
    assert (streq (cmp_proto_handler (copy), "zhang.min"));
    assert (streq (cmp_proto_outcome (copy), "missed"));
    assert (streq (cmp_proto_reason (copy), "investigation breached"));
    assert (cmp_proto_version (copy) == 5);
    json = cmp_proto_json (copy);
    assert (json
            && strstr (json, "\"notify\":[\"department.head\",\"handler\"]"));
    zstr_free (&json);
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);
    cmp_proto_destroy (&event);

    //  SLA and its CLOCKS reply, with the figures of the moment
    self = cmp_proto_new (CMP_PROTO_SLA);
    cmp_proto_set_request_id (self, 21);
    cmp_proto_set_actor (self, "li.na");
    cmp_proto_set_number (self, "20261123-000012");
    copy = s_roundtrip (self);
    assert (streq (cmp_proto_actor (copy), "li.na"));
    assert (streq (cmp_proto_number (copy), "20261123-000012"));
    assert (!cmp_proto_has (copy, "id"));
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);

    self = cmp_proto_new (CMP_PROTO_CLOCKS);
    cmp_proto_set_complaint_id (self, 12);
    cmp_proto_set_number (self, "20261123-000012");
    cmp_proto_set_sla (self, "standard");
    cmp_proto_set_level (self, "handler");
    cmp_proto_set_zone (self, "Asia/Shanghai");
    cmp_proto_set_at (self, 1795400000000);
    clock = cmp_proto_new (CMP_PROTO_CLOCK);
    cmp_proto_set_clock (clock, "resolution");
    cmp_proto_set_state (clock, "paused");
    cmp_proto_set_remaining (clock, -5400000);
    cmp_proto_set_due_local (clock, "2026-11-23 17:30 +08:00");
    zlistx_add_end (cmp_proto_clocks (self), clock);
    copy = s_roundtrip (self);
    assert (cmp_proto_complaint_id (copy) == 12);
    assert (streq (cmp_proto_sla (copy), "standard"));
    assert (streq (cmp_proto_level (copy), "handler"));
    assert (streq (cmp_proto_zone (copy), "Asia/Shanghai"));
    assert (cmp_proto_at (copy) == 1795400000000);
    assert (zlistx_size (cmp_proto_items (copy)) == 0);
    item = (cmp_proto_t *) zlistx_first (cmp_proto_clocks (copy));
    assert (item && streq (cmp_proto_clock (item), "resolution"));
    assert (streq (cmp_proto_state (item), "paused"));
    assert (cmp_proto_remaining (item) == -5400000);
    assert (streq (cmp_proto_due_local (item), "2026-11-23 17:30 +08:00"));
    json = cmp_proto_json (copy);
    assert (json && strstr (json, "\"sla\":\"standard\""));
    zstr_free (&json);
    cmp_proto_destroy (&copy);
    //  A complaint without clocks has an empty list, not none
    zlistx_purge (cmp_proto_clocks (self));
    json = cmp_proto_json (self);
    assert (json && strstr (json, "\"clocks\":[]"));
    zstr_free (&json);
    cmp_proto_destroy (&self);

    //  TICK moves the test clock; TICKED says what fired
    self = cmp_proto_new (CMP_PROTO_TICK);
    cmp_proto_set_actor (self, "root");
    cmp_proto_set_at (self, 1796000000000);
    copy = s_roundtrip (self);
    assert (streq (cmp_proto_actor (copy), "root"));
    assert (cmp_proto_at (copy) == 1796000000000);
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);
    self = cmp_proto_new (CMP_PROTO_TICKED);
    cmp_proto_set_at (self, 1796000000000);
    cmp_proto_set_fired (self, 1000);
    cmp_proto_set_pending (self, true);
    copy = s_roundtrip (self);
    assert (cmp_proto_at (copy) == 1796000000000);
    assert (cmp_proto_fired (copy) == 1000 && cmp_proto_pending (copy));
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);

    //  Every other message round-trips
    self = cmp_proto_new (CMP_PROTO_SUBMITTED);
    cmp_proto_set_complaint_id (self, 1);
    cmp_proto_set_number (self, "20261123-000001");
    cmp_proto_set_received_at (self, 1);
    cmp_proto_set_duplicate (self, true);
    copy = s_roundtrip (self);
    assert (cmp_proto_duplicate (copy) && cmp_proto_complaint_id (copy) == 1);
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);

    self = cmp_proto_new (CMP_PROTO_GET);
    cmp_proto_set_number (self, "20261123-000001");
    copy = s_roundtrip (self);
    assert (streq (cmp_proto_number (copy), "20261123-000001"));
    assert (!cmp_proto_has (copy, "id"));
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);

    self = cmp_proto_new (CMP_PROTO_LIST);
    cmp_proto_set_from (self, -5);
    cmp_proto_set_to (self, 1000);
    cmp_proto_set_limit (self, 10);
    cmp_proto_set_after (self, "00ff");
    cmp_proto_set_due_before (self, 1796000000000);
    cmp_proto_set_breached (self, true);
    cmp_proto_set_level (self, "executive");
    copy = s_roundtrip (self);
    assert (cmp_proto_from (copy) == -5 && cmp_proto_to (copy) == 1000);
    assert (streq (cmp_proto_after (copy), "00ff"));
    assert (cmp_proto_due_before (copy) == 1796000000000);
    assert (cmp_proto_breached (copy));
    assert (streq (cmp_proto_level (copy), "executive"));
    cmp_proto_destroy (&copy);
    cmp_proto_set_id (self, CMP_PROTO_COUNT);
    cmp_proto_set_after (self, NULL);
    cmp_proto_unset (self, "limit");
    copy = s_roundtrip (self);
    assert (cmp_proto_breached (copy) && cmp_proto_has (copy, "due_before"));
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);

    self = cmp_proto_new (CMP_PROTO_REPLAY);
    cmp_proto_set_from (self, 3);
    copy = s_roundtrip (self);
    assert (cmp_proto_from (copy) == 3 && !cmp_proto_has (copy, "limit"));
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);

    event = cmp_proto_new (CMP_PROTO_EVENT);
    cmp_proto_set_seq (event, 5);
    cmp_proto_set_topic (event, "complaint.created");
    cmp_proto_set_at (event, 99);
    cmp_proto_set_complaint_id (event, 3);
    cmp_proto_set_number (event, "20261123-000003");
    cmp_proto_set_channel (event, "web");
    cmp_proto_set_state (event, "registered");
    stored = cmp_proto_encode_map (event);
    self = cmp_proto_new (CMP_PROTO_EVENTS);
    cmp_proto_set_last_seq (self, 5);
    zchunk_t *dup = zchunk_dup (stored);
    cmp_proto_add_raw (self, &dup);
    copy = s_roundtrip (self);
    assert (cmp_proto_last_seq (copy) == 5);
    item = (cmp_proto_t *) zlistx_first (cmp_proto_items (copy));
    assert (cmp_proto_seq (item) == 5);
    assert (streq (cmp_proto_topic (item), "complaint.created"));
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);
    //  A published EVENT wraps the stored map
    self = cmp_proto_new (CMP_PROTO_EVENT);
    cmp_proto_add_raw (self, &stored);
    copy = s_roundtrip (self);
    assert (cmp_proto_seq (copy) == 5 && cmp_proto_at (copy) == 99);
    assert (streq (cmp_proto_channel (copy), "web"));
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);
    cmp_proto_destroy (&event);

    self = cmp_proto_new (CMP_PROTO_HEALTH);
    copy = s_roundtrip (self);
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);

    self = cmp_proto_new (CMP_PROTO_STATUS);
    cmp_proto_set_software (self, "0.1.0");
    cmp_proto_set_protocol (self, 1);
    cmp_proto_set_uptime (self, 12);
    cmp_proto_set_last_seq (self, 4);
    cmp_proto_set_complaints (self, 4);
    copy = s_roundtrip (self);
    assert (streq (cmp_proto_software (copy), "0.1.0"));
    assert (cmp_proto_complaints (copy) == 4);
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);

    self = cmp_proto_new_error (9, CMP_STATUS_INVALID, "complainant.phone",
                                "complainant.phone: too long");
    copy = s_roundtrip (self);
    assert (cmp_proto_status (copy) == CMP_STATUS_INVALID);
    assert (streq (cmp_proto_code (copy), "INVALID"));
    assert (streq (cmp_proto_field (copy), "complainant.phone"));
    cmp_proto_destroy (&copy);
    cmp_proto_destroy (&self);

    //  Garbage and truncated input return NULL with a reason
    S_EXPECT_FAULT ("", CMP_STATUS_BAD_REQUEST, "");
    S_EXPECT_FAULT ("\xc1", CMP_STATUS_BAD_REQUEST, "");
    S_EXPECT_FAULT ("hello", CMP_STATUS_BAD_REQUEST, "");
    //  A 5-byte array32 header declaring 2^32-1 elements allocates nothing
    S_EXPECT_FAULT ("\xdd\xff\xff\xff\xff", CMP_STATUS_BAD_REQUEST, "");
    //  str32 declaring 4 GB
    S_EXPECT_FAULT ("\xdb\xff\xff\xff\xff", CMP_STATUS_BAD_REQUEST, "");
    //  Nesting deeper than the limit
    S_EXPECT_FAULT ("\x91\x91\x91\x91\x91\x91\x91\x91\x91\x90",
                    CMP_STATUS_BAD_REQUEST, "");
    //  Every truncation of a valid body is refused
    self = cmp_proto_new (CMP_PROTO_SUBMIT);
    cmp_proto_set_channel (self, "web");
    cmp_proto_set_description (self, "x");
    zframe_t *frame = cmp_proto_encode (self);
    for (size_t size = 0; size < zframe_size (frame); size++) {
        cmp_proto_t *none = cmp_proto_decode (zframe_data (frame), size, NULL);
        assert (none == NULL);
    }
    //  Trailing bytes are refused
    byte *longer = (byte *) malloc (zframe_size (frame) + 1);
    memcpy (longer, zframe_data (frame), zframe_size (frame));
    longer[zframe_size (frame)] = 0xc0;
    s_expect_fault ((char *) longer, zframe_size (frame) + 1,
                    CMP_STATUS_BAD_REQUEST, "");
    free (longer);
    zframe_destroy (&frame);
    cmp_proto_destroy (&self);

    //  Envelope checks: ["CMP", 1, "HEALTH", 7, {}] and variations
    S_EXPECT_FAULT ("\x95\xa3XMP\x01\xa6HEALTH\x07\x80", CMP_STATUS_BAD_REQUEST,
                    "signature");
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x02\xa6HEALTH\x07\x80", CMP_STATUS_VERSION,
                    "version");
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa6HEALTX\x07\x80",
                    CMP_STATUS_NOT_SUPPORTED, "type");
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa6HEALTH\xff\x80",
                    CMP_STATUS_BAD_REQUEST, "request_id");
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa6HEALTH\x07\x90",
                    CMP_STATUS_BAD_REQUEST, "fields");
    self = cmp_proto_decode (
      "\x95\xa3\x43MP\x01\xa6HEALTH\x07\x80",
      sizeof ("\x95\xa3\x43MP\x01\xa6HEALTH\x07\x80") - 1, NULL);
    assert (self && cmp_proto_id (self) == CMP_PROTO_HEALTH);
    assert (cmp_proto_request_id (self) == 7);
    cmp_proto_destroy (&self);

    //  Field checks: unknown key, wrong type, bad UTF-8, NUL, negative uint
    //  ["CMP",1,"GET",1,{"idx":1}]
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa3GET\x01\x81\xa3idx\x01",
                    CMP_STATUS_INVALID, "idx");
    //  {"id":"1"}
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa3GET\x01\x81\xa2id\xa1\x31",
                    CMP_STATUS_INVALID, "id");
    //  {"id":-1}
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa3GET\x01\x81\xa2id\xff",
                    CMP_STATUS_INVALID, "id");
    //  {"number":"\xc3\x28"} (invalid UTF-8)
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa3GET\x01\x81\xa6number\xa2\xc3\x28",
                    CMP_STATUS_INVALID, "number");
    //  {"number":"\xed\xa0\x80"} (a surrogate)
    S_EXPECT_FAULT (
      "\x95\xa3\x43MP\x01\xa3GET\x01\x81\xa6number\xa3\xed\xa0\x80",
      CMP_STATUS_INVALID, "number");
    //  {"number":"\xe0\x80\xaf"} (overlong)
    S_EXPECT_FAULT (
      "\x95\xa3\x43MP\x01\xa3GET\x01\x81\xa6number\xa3\xe0\x80\xaf",
      CMP_STATUS_INVALID, "number");
    //  {"number":"a\0b"}
    S_EXPECT_FAULT (
      "\x95\xa3\x43MP\x01\xa3GET\x01\x81\xa6number\xa3\x61\x00\x62",
      CMP_STATUS_INVALID, "number");
    //  SLA {"at":1}: SLA takes no time
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa3SLA\x01\x81\xa2\x61t\x01",
                    CMP_STATUS_INVALID, "at");
    //  TICK {"at":"1"}
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa4TICK\x01\x81\xa2\x61t\xa1\x31",
                    CMP_STATUS_INVALID, "at");
    //  {"id":1,"id":2}
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa3GET\x01\x82\xa2id\x01\xa2id\x02",
                    CMP_STATUS_INVALID, "id");
    //  SUBMIT {"complainant":{"phone":5}}
    S_EXPECT_FAULT ("\x95\xa3\x43MP\x01\xa6SUBMIT\x01\x81\xab"
                    "complainant"
                    "\x81\xa5phone\x05",
                    CMP_STATUS_INVALID, "complainant.phone");
    //  SUBMIT {"tags":["a",1]}
    S_EXPECT_FAULT (
      "\x95\xa3\x43MP\x01\xa6SUBMIT\x01\x81\xa4tags\x92\xa1\x61\x01",
      CMP_STATUS_INVALID, "tags[1]");
    //  nil is absent
    self = cmp_proto_decode (
      "\x95\xa3\x43MP\x01\xa3GET\x01\x81\xa2id\xc0",
      sizeof ("\x95\xa3\x43MP\x01\xa3GET\x01\x81\xa2id\xc0") - 1, NULL);
    assert (self && !cmp_proto_has (self, "id"));
    cmp_proto_destroy (&self);

    //  A clock of a stored record takes the keys of a clock, not those of
    //  a contact: {"clocks":[{"summary":"x"}]}, then {"clocks":[{"name":
    //  "x","remaining":-1}]}
    const char contact_keys[] = "\x81\xa6\x63locks\x91\x81\xa7summary\xa1x";
    self = cmp_proto_decode_map (CMP_PROTO_COMPLAINT, contact_keys,
                                 sizeof (contact_keys) - 1);
    assert (self == NULL);
    const char clock_keys[] =
      "\x81\xa6\x63locks\x91\x82\xa4name\xa1x\xa9remaining\xff";
    self = cmp_proto_decode_map (CMP_PROTO_COMPLAINT, clock_keys,
                                 sizeof (clock_keys) - 1);
    assert (self
            && cmp_proto_remaining (
                 (cmp_proto_t *) zlistx_first (cmp_proto_clocks (self)))
                 == -1);
    cmp_proto_destroy (&self);

    //  Valid multi-byte UTF-8 of every length passes
    assert (s_utf8_error (
              (const uint8_t *) "a\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80", 10)
            == -1);
    assert (s_utf8_error ((const uint8_t *) "\xf4\x90\x80\x80", 4) == 0);
    assert (s_utf8_error ((const uint8_t *) "ab\xe4\xb8", 4) == 2);

    //  An entry's changes, encoded as they are added, decode as CHANGEs;
    //  an entry without any has no changes key
    self = cmp_proto_new (CMP_PROTO_ENTRY);
    cmp_proto_set_action (self, "triage");
    zchunk_t *chunk = cmp_proto_encode_map (self);
    cmp_proto_t *decoded = cmp_proto_decode_map (
      CMP_PROTO_ENTRY, zchunk_data (chunk), zchunk_size (chunk));
    assert (decoded && zlistx_size (cmp_proto_items (decoded)) == 0);
    assert (!memmem (zchunk_data (chunk), zchunk_size (chunk), "changes", 7));
    cmp_proto_destroy (&decoded);
    zchunk_destroy (&chunk);
    cmp_proto_add_change (self, "case.category", NULL, "质量 quality");
    cmp_proto_add_change (self, "case.severity", "minor", "major");
    cmp_proto_add_change (self, "case.group", "front_desk", NULL);
    chunk = cmp_proto_encode_map (self);
    decoded = cmp_proto_decode_map (CMP_PROTO_ENTRY, zchunk_data (chunk),
                                    zchunk_size (chunk));
    assert (decoded && streq (cmp_proto_action (decoded), "triage"));
    zlistx_t *changes = cmp_proto_items (decoded);
    assert (zlistx_size (changes) == 3);
    cmp_proto_t *change = (cmp_proto_t *) zlistx_first (changes);
    assert (streq (cmp_proto_field (change), "case.category"));
    assert (!cmp_proto_old_value (change));
    assert (streq (cmp_proto_new_value (change), "质量 quality"));
    change = (cmp_proto_t *) zlistx_next (changes);
    assert (streq (cmp_proto_old_value (change), "minor"));
    assert (streq (cmp_proto_new_value (change), "major"));
    change = (cmp_proto_t *) zlistx_next (changes);
    assert (streq (cmp_proto_field (change), "case.group"));
    assert (streq (cmp_proto_old_value (change), "front_desk"));
    assert (!cmp_proto_new_value (change));
    cmp_proto_destroy (&decoded);
    zchunk_destroy (&chunk);
    cmp_proto_destroy (&self);
    //  @end

    zsys_set_logstream (stderr);
    printf ("OK\n");
}
