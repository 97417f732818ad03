/*  =========================================================================
    cmp_intake - receive and register complaints (接收、登记)

    The rules a SUBMIT must meet are those of proto/PROTOCOL.md, "SUBMIT";
    each refusal names the field, the limit and the value at fault.
    =========================================================================
*/

#include "cmp_classes.h"

//  Channels a complaint can arrive on, as named on the wire
static const char *s_channels[] = {"phone",  "email",  "web", "counter",
                                   "letter", "social", NULL};

//  Fixed limits of the protocol (not configurable)
#define REF_MAX 256
#define PHONE_MAX 32
#define EMAIL_MAX 254
#define URI_MAX 2048
#define TAG_MAX 64
#define EARLIEST_TIME 946684800000LL //  2000-01-01T00:00:00Z
#define FUTURE_SLACK 86400000LL      //  complained_at may be 24 h ahead
#define REPEAT_LINKS 3 //  Earlier complaints a repeat names (newest)
#define REPEAT_IDS 32  //  Ids of one contact looked at for the union

//  Structure of our class

struct _cmp_intake_t
{
    size_t description_max; //  limits/description
    size_t demands_max;     //  limits/demands
    size_t text_max;        //  limits/text
    size_t attachments_max; //  limits/attachments
    size_t tags_max;        //  limits/tags
    //  Room for what a registration's deadlines say (writer thread only)
    cmp_sla_state_t clocks;
    cmp_sla_notice_t notices[CMP_SLA_NOTICES];
};

cmp_intake_t *
cmp_intake_new (cmp_config_t *config)
{
    cmp_intake_t *self = (cmp_intake_t *) zmalloc (sizeof (cmp_intake_t));
    assert (self);
    cmp_intake_configure (self, config);
    return self;
}

void
cmp_intake_destroy (cmp_intake_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

void
cmp_intake_configure (cmp_intake_t *self, cmp_config_t *config)
{
    assert (self);
    self->description_max =
      (size_t) cmp_config_number (config, "limits/description");
    self->demands_max = (size_t) cmp_config_number (config, "limits/demands");
    self->text_max = (size_t) cmp_config_number (config, "limits/text");
    self->attachments_max =
      (size_t) cmp_config_number (config, "limits/attachments");
    self->tags_max = (size_t) cmp_config_number (config, "limits/tags");
}

bool
cmp_intake_channel_valid (const char *channel)
{
    for (int index = 0; s_channels[index]; index++)
        if (streq (s_channels[index], channel))
            return true;
    return false;
}

//  --------------------------------------------------------------------------
//  Checks

static int
s_refuse (cmp_proto_fault_t *fault, const char *field, const char *format, ...)
{
    fault->status = CMP_STATUS_INVALID;
    snprintf (fault->field, sizeof (fault->field), "%s", field);
    char text[384];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    snprintf (fault->text, sizeof (fault->text), "%s: %s", field, text);
    return -1;
}


//  Check one optional text: length and control characters
static int
s_check_text (const char *field,
              const char *value,
              size_t max,
              const char *limit_key,
              bool multiline,
              cmp_proto_fault_t *fault)
{
    if (!value)
        return 0;
    size_t size = strlen (value);
    if (size > max)
        return s_refuse (fault, field,
                         "%zu bytes is over the limit of %zu%s%s%s", size, max,
                         limit_key ? " (" : "", limit_key ? limit_key : "",
                         limit_key ? ")" : "");
    long control = cmp_proto_control_at (value, multiline);
    if (control >= 0)
        return s_refuse (fault, field,
                         "control character 0x%02x at byte %ld is not allowed",
                         ((const unsigned char *) value)[control], control);
    return 0;
}

static int
s_check_phone (const char *phone, cmp_proto_fault_t *fault)
{
    if (s_check_text ("complainant.phone", phone, PHONE_MAX, NULL, false,
                      fault))
        return -1;
    if (!phone)
        return 0;
    int digits = 0;
    for (const char *scan = phone; *scan; scan++)
        if (isdigit ((unsigned char) *scan))
            digits++;
        else if (!strchr (" +-().", *scan))
            return s_refuse (fault, "complainant.phone",
                             "\"%s\": only digits, spaces and + - ( ) . are "
                             "allowed",
                             phone);
    if (digits < 3)
        return s_refuse (fault, "complainant.phone",
                         "\"%s\": needs at least 3 digits", phone);
    return 0;
}

static int
s_check_email (const char *email, cmp_proto_fault_t *fault)
{
    if (s_check_text ("complainant.email", email, EMAIL_MAX, NULL, false,
                      fault))
        return -1;
    if (!email)
        return 0;
    const char *at = strchr (email, '@');
    bool valid = at && at != email && at[1] && !strchr (at + 1, '@');
    for (const char *scan = email; valid && *scan; scan++)
        if (isspace ((unsigned char) *scan))
            valid = false;
    if (!valid)
        return s_refuse (fault, "complainant.email",
                         "\"%s\" is not an address of the form name@domain",
                         email);
    return 0;
}

//  Check a list of strings: count, and each item's size and characters
static int
s_check_list (const char *field,
              zlist_t *list,
              size_t count_max,
              const char *limit_key,
              size_t item_max,
              bool uri,
              cmp_proto_fault_t *fault)
{
    if (zlist_size (list) > count_max)
        return s_refuse (fault, field,
                         "%zu items is over the limit of %zu (%s)",
                         zlist_size (list), count_max, limit_key);
    int index = 0;
    for (const char *item = (const char *) zlist_first (list); item;
         item = (const char *) zlist_next (list), index++) {
        char path[64];
        snprintf (path, sizeof (path), "%s[%d]", field, index);
        size_t size = strlen (item);
        if (size == 0)
            return s_refuse (fault, path, "must not be empty");
        if (s_check_text (path, item, item_max, NULL, false, fault))
            return -1;
        if (uri) {
            //  scheme ":" with scheme = ALPHA *( ALPHA / DIGIT / + - . )
            size_t scheme = 0;
            while (isalnum ((unsigned char) item[scheme])
                   || (scheme && strchr ("+-.", item[scheme]) && item[scheme]))
                scheme++;
            if (!isalpha ((unsigned char) item[0]) || item[scheme] != ':'
                || strchr (item, ' '))
                return s_refuse (
                  fault, path,
                  "\"%.80s\" is not a URI (scheme:rest, no spaces)", item);
        }
    }
    return 0;
}

//  Remove an empty optional string, so that "" reads as absent
#define DROP_EMPTY(name)                                                       \
    if (cmp_proto_##name (submit) && *cmp_proto_##name (submit) == 0)          \
        cmp_proto_set_##name (submit, NULL);

int
cmp_intake_check (cmp_intake_t *self,
                  cmp_proto_t *submit,
                  int64_t now,
                  cmp_proto_fault_t *fault)
{
    assert (self);
    assert (submit);
    memset (fault, 0, sizeof (*fault));
    fault->request_id = cmp_proto_request_id (submit);
    fault->id = cmp_proto_id (submit);
    DROP_EMPTY (name);
    DROP_EMPTY (phone);
    DROP_EMPTY (email);
    DROP_EMPTY (relation);
    DROP_EMPTY (tier);
    DROP_EMPTY (department);
    DROP_EMPTY (staff);
    DROP_EMPTY (location);
    DROP_EMPTY (demands);

    const char *channel = cmp_proto_channel (submit);
    if (!channel)
        return s_refuse (fault, "channel",
                         "required (phone, email, web, counter, letter or "
                         "social)");
    if (!cmp_intake_channel_valid (channel))
        return s_refuse (fault, "channel",
                         "\"%.64s\" is not one of phone, email, web, counter, "
                         "letter, social",
                         channel);
    const char *ref = cmp_proto_ref (submit);
    if (!ref || !*ref)
        return s_refuse (fault, "ref",
                         "required: the adapter's own reference (call id, "
                         "Message-ID, form id)");
    if (s_check_text ("ref", ref, REF_MAX, NULL, false, fault))
        return -1;
    if (cmp_proto_has (submit, "complained_at")) {
        int64_t when = cmp_proto_complained_at (submit);
        if (when < EARLIEST_TIME)
            return s_refuse (fault, "complained_at",
                             "%" PRId64 " is before 2000-01-01 (the value is "
                             "milliseconds since 1970-01-01 UTC)",
                             when);
        if (when > now + FUTURE_SLACK)
            return s_refuse (fault, "complained_at",
                             "%" PRId64 " is more than 24 hours in the future",
                             when);
    }
    bool anonymous = cmp_proto_anonymous (submit);
    if (!anonymous && !cmp_proto_name (submit) && !cmp_proto_phone (submit)
        && !cmp_proto_email (submit))
        return s_refuse (fault, "complainant",
                         "required: a name, phone or email, or anonymous: "
                         "true");
    if (s_check_text ("complainant.name", cmp_proto_name (submit),
                      self->text_max, "limits/text", false, fault)
        || s_check_phone (cmp_proto_phone (submit), fault)
        || s_check_email (cmp_proto_email (submit), fault)
        || s_check_text ("complainant.relation", cmp_proto_relation (submit),
                         self->text_max, "limits/text", false, fault)
        || s_check_text ("complainant.tier", cmp_proto_tier (submit),
                         self->text_max, "limits/text", false, fault)
        || s_check_text ("subject.department", cmp_proto_department (submit),
                         self->text_max, "limits/text", false, fault)
        || s_check_text ("subject.staff", cmp_proto_staff (submit),
                         self->text_max, "limits/text", false, fault)
        || s_check_text ("subject.location", cmp_proto_location (submit),
                         self->text_max, "limits/text", false, fault))
        return -1;
    const char *description = cmp_proto_description (submit);
    if (!description)
        return s_refuse (fault, "description", "required: what happened");
    if (cmp_proto_blank (description))
        return s_refuse (fault, "description", "must not be empty");
    if (s_check_text ("description", description, self->description_max,
                      "limits/description", true, fault)
        || s_check_text ("demands", cmp_proto_demands (submit),
                         self->demands_max, "limits/demands", true, fault)
        || s_check_list ("attachments", cmp_proto_attachments (submit),
                         self->attachments_max, "limits/attachments", URI_MAX,
                         true, fault)
        || s_check_list ("tags", cmp_proto_tags (submit), self->tags_max,
                         "limits/tags", TAG_MAX, false, fault))
        return -1;
    return 0;
}

//  --------------------------------------------------------------------------
//  Registration

static cmp_proto_t *
s_submitted (cmp_proto_t *submit,
             uint64_t id,
             const char *number,
             int64_t received_at,
             bool duplicate)
{
    cmp_proto_t *reply = cmp_proto_new (CMP_PROTO_SUBMITTED);
    cmp_proto_set_request_id (reply, cmp_proto_request_id (submit));
    cmp_proto_set_complaint_id (reply, id);
    cmp_proto_set_number (reply, number);
    cmp_proto_set_received_at (reply, received_at);
    cmp_proto_set_duplicate (reply, duplicate);
    return reply;
}

//  A (channel, ref) seen before: the same complaint again, or a conflict
static int
s_repeat (cmp_store_t *store,
          cmp_proto_t *submit,
          uint64_t id,
          cmp_proto_t **reply_p)
{
    zchunk_t *stored = cmp_store_complaint (store, id);
    if (!stored)
        return -1;
    cmp_proto_t *record = cmp_proto_decode_map (
      CMP_PROTO_COMPLAINT, zchunk_data (stored), zchunk_size (stored));
    zchunk_destroy (&stored);
    if (!record) {
        zsys_error ("cmp_intake: record %" PRIu64 " cannot be decoded", id);
        return -1;
    }
    const char *before = cmp_proto_description (record);
    if (before && streq (before, cmp_proto_description (submit)))
        *reply_p = s_submitted (submit, id, cmp_proto_number (record),
                                cmp_proto_received_at (record), true);
    else {
        char text[256];
        snprintf (text, sizeof (text),
                  "ref: \"%.64s\" on channel %s is already complaint %s, "
                  "with a different description",
                  cmp_proto_ref (submit), cmp_proto_channel (submit),
                  cmp_proto_number (record));
        *reply_p = cmp_proto_new_error (cmp_proto_request_id (submit),
                                        CMP_STATUS_CONFLICT, "ref", text);
    }
    cmp_proto_destroy (&record);
    return 0;
}

//  --------------------------------------------------------------------------
//  Repeat complaints

bool
cmp_intake_contact_phone (const char *phone, char *key, size_t size)
{
    char digits[64];
    size_t count = 0;
    bool international = false;
    for (const char *scan = phone; *scan && count < sizeof (digits) - 1; scan++)
        if (isdigit ((unsigned char) *scan))
            digits[count++] = *scan;
        else if (*scan == '+' && count == 0)
            international = true;
    digits[count] = 0;
    const char *number = digits;
    if (number[0] == '0' && number[1] == '0') {
        number += 2;
        international = true;
    }
    if (international && number[0] == '8' && number[1] == '6')
        number += 2;
    if (*number == '0')
        number++;
    if (strlen (number) < 5)
        return false;
    snprintf (key, size, "tel:%s", number);
    return true;
}

bool
cmp_intake_contact_email (const char *email, char *key, size_t size)
{
    if (!email || strlen (email) + 6 > size)
        return false;
    size_t used = (size_t) snprintf (key, size, "mail:");
    for (const char *scan = email; *scan; scan++)
        key[used++] = (char) tolower ((unsigned char) *scan);
    key[used] = 0;
    return true;
}

int
cmp_intake_contacts (cmp_proto_t *record, char keys[2][CMP_INTAKE_CONTACT_SIZE])
{
    int count = 0;
    if (cmp_proto_phone (record)
        && cmp_intake_contact_phone (cmp_proto_phone (record), keys[count],
                                     CMP_INTAKE_CONTACT_SIZE))
        count++;
    if (cmp_proto_email (record)
        && cmp_intake_contact_email (cmp_proto_email (record), keys[count],
                                     CMP_INTAKE_CONTACT_SIZE))
        count++;
    return count;
}

//  Find the complainant's earlier complaints within the window, index
//  this one under its contacts, and note the repeats in the record
static int
s_repeats (cmp_store_t *store,
           cmp_proto_t *record,
           uint64_t id,
           int64_t now,
           int64_t window)
{
    char keys[2][CMP_INTAKE_CONTACT_SIZE];
    int key_count = cmp_intake_contacts (record, keys);
    uint64_t earlier[2 * REPEAT_IDS];
    char numbers[2 * REPEAT_IDS][CMP_STORE_NUMBER_MAX + 1];
    size_t earlier_size = 0, repeats = 0;
    for (int index = 0; index < key_count && window > 0; index++) {
        uint64_t ids[REPEAT_IDS];
        char found[REPEAT_IDS][CMP_STORE_NUMBER_MAX + 1];
        size_t count;
        if (cmp_store_contact_find (store, keys[index], now - window, ids,
                                    found, REPEAT_IDS, &count))
            return -1;
        if (count > repeats)
            repeats = count;
        size_t kept = count < REPEAT_IDS ? count : REPEAT_IDS;
        for (size_t one = 0; one < kept; one++) {
            bool seen = false;
            for (size_t other = 0; other < earlier_size && !seen; other++)
                seen = earlier[other] == ids[one];
            if (!seen) {
                memcpy (numbers[earlier_size], found[one], sizeof (found[0]));
                earlier[earlier_size++] = ids[one];
            }
        }
    }
    if (earlier_size > repeats)
        repeats = earlier_size;
    for (int index = 0; index < key_count; index++)
        if (cmp_store_contact_put (store, keys[index], now, id,
                                   cmp_proto_number (record)))
            return -1;
    if (repeats == 0)
        return 0;
    cmp_proto_set_repeats (record, repeats);
    //  Name the newest few by number (ids ascend with time), as the index
    //  keeps it, or from the record if the index is older than that
    for (size_t link = 0; link < REPEAT_LINKS && earlier_size; link++) {
        size_t newest = 0;
        for (size_t index = 1; index < earlier_size; index++)
            if (earlier[index] > earlier[newest])
                newest = index;
        if (*numbers[newest])
            zlist_append (cmp_proto_repeat_of (record), numbers[newest]);
        else {
            cmp_proto_t *before = cmp_case_record (store, earlier[newest]);
            if (before && cmp_proto_number (before))
                zlist_append (cmp_proto_repeat_of (record),
                              (void *) cmp_proto_number (before));
            cmp_proto_destroy (&before);
        }
        earlier_size--;
        earlier[newest] = earlier[earlier_size];
        memcpy (numbers[newest], numbers[earlier_size], sizeof (numbers[0]));
    }
    return 0;
}

int
cmp_intake_register (cmp_intake_t *self,
                     cmp_store_t *store,
                     cmp_rulebook_t *rulebook,
                     cmp_proto_t *submit,
                     cmp_triage_scan_t *scan,
                     int64_t now,
                     cmp_proto_t **reply_p,
                     cmp_case_event_t *events)
{
    assert (self);
    assert (store);
    *reply_p = NULL;
    memset (events, 0, CMP_CASE_EVENTS_MAX * sizeof (cmp_case_event_t));
    events[0].topic = CMP_TOPIC_CREATED;
    zchunk_t **event_p = &events[0].event;
    const char *channel = cmp_proto_channel (submit);
    const char *ref = cmp_proto_ref (submit);
    uint64_t known;
    if (cmp_store_ref_find (store, channel, ref, &known))
        return -1;
    if (known)
        return s_repeat (store, submit, known, reply_p);

    //  The record is the SUBMIT's fields plus what the server assigns
    char number[32];
    uint64_t id = cmp_store_next_id (store, now, number, sizeof (number));
    cmp_proto_t *record = submit;
    int submit_id = cmp_proto_id (submit);
    cmp_proto_set_id (record, CMP_PROTO_COMPLAINT);
    cmp_proto_set_complaint_id (record, id);
    cmp_proto_set_number (record, number);
    cmp_proto_set_received_at (record, now);
    if (!cmp_proto_has (record, "complained_at"))
        cmp_proto_set_complained_at (record, now);
    cmp_proto_set_state (record, "registered");
    cmp_proto_set_version (record, 1);
    cmp_proto_set_updated_at (record, now);

    //  Triage (分类、评估), in the same transaction
    cmp_triage_t *triage = rulebook ? cmp_rulebook_triage (rulebook) : NULL;
    cmp_triage_result_t verdict;
    memset (&verdict, 0, sizeof (verdict));
    if (triage) {
        if (s_repeats (store, record, id, now,
                       cmp_rulebook_repeat_window (rulebook)))
            return -1;
        cmp_triage_apply (triage, record, now, scan, &verdict);
        if (verdict.classified)
            cmp_proto_set_state (record, "triaged");
    }
    //  The deadlines start (时限), in the same transaction
    cmp_sla_t *sla = rulebook ? cmp_rulebook_sla (rulebook) : NULL;
    int noticed = 0;
    if (sla) {
        cmp_sla_read (sla, record, &self->clocks);
        noticed = cmp_sla_on (sla, &self->clocks, cmp_proto_sla (record),
                              cmp_proto_emergency (record), "register",
                              cmp_proto_state (record), now, self->notices);
        cmp_sla_write (sla, &self->clocks, record);
    }
    zchunk_t *stored = cmp_proto_encode_map (record);
    cmp_proto_set_id (record, submit_id);
    int rc =
      cmp_store_complaint_put (store, id, number, channel, ref, now, stored);
    zchunk_destroy (&stored);
    if (rc)
        return -1;
    cmp_store_keys_t keys;
    cmp_case_keys (record, &keys, false);
    if (cmp_store_index (store, id, NULL, &keys))
        return -1;
    zchunk_t *entry = cmp_case_entry_registered (submit, now);
    rc = cmp_store_history_put (store, id, 1, entry);
    zchunk_destroy (&entry);
    if (rc == 0 && triage) {
        entry = cmp_case_entry_triaged (record, now);
        rc = cmp_store_history_put (store, id, 2, entry);
        zchunk_destroy (&entry);
    }
    if (rc)
        return -1;

    //  Its event carries no name or contact details
    cmp_proto_t *event = cmp_proto_new (CMP_PROTO_EVENT);
    uint64_t seq = cmp_store_next_seq (store);
    cmp_proto_set_seq (event, seq);
    cmp_proto_set_topic (event, CMP_TOPIC_CREATED);
    cmp_proto_set_at (event, now);
    cmp_proto_set_complaint_id (event, id);
    cmp_proto_set_number (event, number);
    cmp_proto_set_channel (event, channel);
    cmp_proto_set_state (event, cmp_proto_state (record));
    cmp_proto_set_department (event, cmp_proto_department (submit));
    cmp_proto_set_case_department (event, cmp_proto_case_department (record));
    cmp_proto_set_category (event, cmp_proto_category (record));
    cmp_proto_set_severity (event, cmp_proto_severity (record));
    cmp_proto_set_priority (event, cmp_proto_priority (record));
    if (verdict.emergency)
        cmp_proto_set_emergency (event, true);
    *event_p = cmp_proto_encode_map (event);
    if (cmp_store_event_put (store, seq, *event_p)) {
        cmp_proto_destroy (&event);
        return -1;
    }
    //  The emergency plan (应急预案) starts with an event of its own
    if (verdict.emergency) {
        cmp_proto_set_seq (event, cmp_store_next_seq (store));
        cmp_proto_set_topic (event, CMP_TOPIC_EMERGENCY);
        cmp_proto_set_reason (event, verdict.emergency_rules);
        events[1].topic = CMP_TOPIC_EMERGENCY;
        events[1].event = cmp_proto_encode_map (event);
        if (cmp_store_event_put (store, cmp_proto_seq (event),
                                 events[1].event)) {
            cmp_proto_destroy (&event);
            return -1;
        }
    }
    cmp_proto_destroy (&event);
    uint64_t history = triage ? 2 : 1;
    size_t used = verdict.emergency ? 2 : 1;
    if (cmp_case_notices_put (store, sla, record, self->notices, noticed, now,
                              &history, events, CMP_CASE_EVENTS_MAX, &used))
        return -1;
    *reply_p = s_submitted (submit, id, number, now, false);
    return 0;
}

//  --------------------------------------------------------------------------
//  Self test

static cmp_proto_t *
s_valid_submit (void)
{
    cmp_proto_t *submit = cmp_proto_new (CMP_PROTO_SUBMIT);
    cmp_proto_set_request_id (submit, 1);
    cmp_proto_set_channel (submit, "phone");
    cmp_proto_set_ref (submit, "call-1");
    cmp_proto_set_name (submit, "王芳");
    cmp_proto_set_phone (submit, "+86 (10) 1234-5678");
    cmp_proto_set_description (submit, "收费错误 charged twice");
    return submit;
}

//  Apply a change to a valid SUBMIT and expect a refusal naming field
static void
s_expect_refused (cmp_intake_t *self,
                  void (*change) (cmp_proto_t *),
                  const char *field)
{
    cmp_proto_t *submit = s_valid_submit ();
    change (submit);
    cmp_proto_fault_t fault;
    int rc = cmp_intake_check (self, submit, 1795000000000, &fault);
    if (rc == 0 || !streq (fault.field, field))
        printf ("expected refusal of %s, got rc=%d field='%s' (%s)\n", field,
                rc, fault.field, fault.text);
    assert (rc == -1);
    assert (fault.status == CMP_STATUS_INVALID);
    assert (streq (fault.field, field));
    assert (strstr (fault.text, field) == fault.text);
    cmp_proto_destroy (&submit);
}

static void
s_no_channel (cmp_proto_t *s)
{
    cmp_proto_set_channel (s, NULL);
}
static void
s_bad_channel (cmp_proto_t *s)
{
    cmp_proto_set_channel (s, "fax");
}
static void
s_no_ref (cmp_proto_t *s)
{
    cmp_proto_set_ref (s, "");
}
static void
s_long_ref (cmp_proto_t *s)
{
    char ref[300];
    memset (ref, 'r', 299);
    ref[299] = 0;
    cmp_proto_set_ref (s, ref);
}
static void
s_no_contact (cmp_proto_t *s)
{
    cmp_proto_set_name (s, "");
    cmp_proto_set_phone (s, NULL);
}
static void
s_bad_phone (cmp_proto_t *s)
{
    cmp_proto_set_phone (s, "call me");
}
static void
s_bad_email (cmp_proto_t *s)
{
    cmp_proto_set_email (s, "a@b@c");
}
static void
s_no_description (cmp_proto_t *s)
{
    cmp_proto_set_description (s, NULL);
}
static void
s_blank_description (cmp_proto_t *s)
{
    cmp_proto_set_description (s, " \t\xe3\x80\x80\n");
}
static void
s_long_description (cmp_proto_t *s)
{
    char *text = (char *) malloc (20000);
    memset (text, 'x', 19999);
    text[19999] = 0;
    cmp_proto_set_description (s, text);
    free (text);
}
static void
s_control_name (cmp_proto_t *s)
{
    cmp_proto_set_name (s, "a\x1b[2J");
}
static void
s_old_time (cmp_proto_t *s)
{
    cmp_proto_set_complained_at (s, 5);
}
static void
s_future_time (cmp_proto_t *s)
{
    cmp_proto_set_complained_at (s, 1795000000000 + 2 * 86400000LL);
}
static void
s_bad_uri (cmp_proto_t *s)
{
    cmp_proto_add_attachment (s, "https://x/a.jpg");
    cmp_proto_add_attachment (s, "not a uri");
}
static void
s_many_tags (cmp_proto_t *s)
{
    for (int index = 0; index < 40; index++)
        cmp_proto_add_tag (s, "t");
}
static void
s_long_tag (cmp_proto_t *s)
{
    cmp_proto_add_tag (s, "ok");
    cmp_proto_add_tag (
      s,
      "0123456789012345678901234567890123456789012345678901234567890123456789");
}

void
cmp_intake_test (bool verbose)
{
    printf (" * cmp_intake: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    cmp_config_t *config = cmp_config_new ();
    cmp_intake_t *self = cmp_intake_new (config);
    assert (self);

    //  A valid SUBMIT passes; empty optional strings become absent
    cmp_proto_t *submit = s_valid_submit ();
    cmp_proto_set_relation (submit, "");
    cmp_proto_fault_t fault;
    int rc = cmp_intake_check (self, submit, 1795000000000, &fault);
    assert (rc == 0);
    assert (cmp_proto_relation (submit) == NULL);
    cmp_proto_destroy (&submit);

    //  Anonymous complaints need no contact
    submit = s_valid_submit ();
    s_no_contact (submit);
    cmp_proto_set_anonymous (submit, true);
    rc = cmp_intake_check (self, submit, 1795000000000, &fault);
    assert (rc == 0);
    cmp_proto_destroy (&submit);

    //  Each rule names its field
    s_expect_refused (self, s_no_channel, "channel");
    s_expect_refused (self, s_bad_channel, "channel");
    s_expect_refused (self, s_no_ref, "ref");
    s_expect_refused (self, s_long_ref, "ref");
    s_expect_refused (self, s_no_contact, "complainant");
    s_expect_refused (self, s_bad_phone, "complainant.phone");
    s_expect_refused (self, s_bad_email, "complainant.email");
    s_expect_refused (self, s_no_description, "description");
    s_expect_refused (self, s_blank_description, "description");
    s_expect_refused (self, s_long_description, "description");
    s_expect_refused (self, s_control_name, "complainant.name");
    s_expect_refused (self, s_old_time, "complained_at");
    s_expect_refused (self, s_future_time, "complained_at");
    s_expect_refused (self, s_bad_uri, "attachments[1]");
    s_expect_refused (self, s_many_tags, "tags");
    s_expect_refused (self, s_long_tag, "tags[1]");

    //  Contacts for repeat detection: one complainant, several spellings
    char key[64], other[64];
    assert (cmp_intake_contact_phone ("+86 138 0013 8000", key, sizeof (key)));
    assert (streq (key, "tel:13800138000"));
    assert (cmp_intake_contact_phone ("138-0013-8000", other, sizeof (other)));
    assert (streq (key, other));
    assert (cmp_intake_contact_phone ("0086 10 1234 5678", key, sizeof (key)));
    assert (
      cmp_intake_contact_phone ("(010) 1234-5678", other, sizeof (other)));
    assert (streq (key, other) && streq (key, "tel:1012345678"));
    assert (!cmp_intake_contact_phone ("+86 12", key, sizeof (key)));
    assert (
      cmp_intake_contact_email ("Wang.Fang@Example.CN", key, sizeof (key)));
    assert (streq (key, "mail:wang.fang@example.cn"));

    //  Registration: new, duplicate, conflict
    const char *path = "tests/selftest-rw/cmp_intake";
    zsys_dir_create ("tests/selftest-rw");
    cmp_store_t *store = cmp_store_new (path, 1 << 20, 0);
    assert (store);
    rc = cmp_store_begin (store);
    assert (rc == 0);
    cmp_proto_t *reply;
    cmp_case_event_t events[CMP_CASE_EVENTS_MAX];
    submit = s_valid_submit ();
    rc = cmp_intake_register (self, store, NULL, submit, NULL, 1795000000000,
                              &reply, events);
    zchunk_t *event = events[0].event;
    assert (rc == 0 && event);
    assert (cmp_proto_id (reply) == CMP_PROTO_SUBMITTED);
    assert (cmp_proto_complaint_id (reply) == 1);
    assert (!cmp_proto_duplicate (reply));
    cmp_proto_t *decoded = cmp_proto_decode_map (
      CMP_PROTO_EVENT, zchunk_data (event), zchunk_size (event));
    assert (decoded && cmp_proto_seq (decoded) == 1);
    assert (streq (cmp_proto_topic (decoded), CMP_TOPIC_CREATED));
    assert (cmp_proto_name (decoded) == NULL);
    assert (cmp_proto_phone (decoded) == NULL);
    cmp_proto_destroy (&decoded);
    zchunk_destroy (&event);
    cmp_proto_destroy (&reply);
    //  Same ref, same text, in the same transaction: a duplicate
    rc = cmp_intake_register (self, store, NULL, submit, NULL, 1795000000100,
                              &reply, events);
    assert (rc == 0 && events[0].event == NULL);
    assert (cmp_proto_duplicate (reply));
    assert (cmp_proto_complaint_id (reply) == 1);
    assert (cmp_proto_received_at (reply) == 1795000000000);
    cmp_proto_destroy (&reply);
    //  Same ref, other text: a conflict
    cmp_proto_set_description (submit, "something else");
    rc = cmp_intake_register (self, store, NULL, submit, NULL, 1795000000200,
                              &reply, events);
    assert (rc == 0 && events[0].event == NULL);
    assert (cmp_proto_id (reply) == CMP_PROTO_ERROR);
    assert (cmp_proto_status (reply) == CMP_STATUS_CONFLICT);
    assert (streq (cmp_proto_field (reply), "ref"));
    cmp_proto_destroy (&reply);
    cmp_proto_destroy (&submit);
    rc = cmp_store_commit (store);
    assert (rc == 0);
    zchunk_t *record = cmp_store_complaint (store, 1);
    decoded = cmp_proto_decode_map (CMP_PROTO_COMPLAINT, zchunk_data (record),
                                    zchunk_size (record));
    assert (decoded);
    assert (streq (cmp_proto_state (decoded), "registered"));
    assert (cmp_proto_version (decoded) == 1);
    assert (cmp_proto_complained_at (decoded) == 1795000000000);
    assert (streq (cmp_proto_name (decoded), "王芳"));
    cmp_proto_destroy (&decoded);
    zchunk_destroy (&record);
    cmp_store_destroy (&store);
    zdir_t *dir = zdir_new (path, NULL);
    zdir_remove (dir, true);
    zdir_destroy (&dir);

    cmp_intake_destroy (&self);
    assert (self == NULL);
    cmp_config_destroy (&config);
    //  @end
    printf ("OK\n");
}
