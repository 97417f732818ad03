/*  =========================================================================
    cmp_intake - receive and register complaints (接收、登记)

    Checks a SUBMIT against the protocol's rules and the configured limits,
    and registers it in the store's open write transaction: the record, its
    indexes and its complaint.created event. Idempotent on (channel, ref).
    Testable without sockets.
    =========================================================================
*/

#ifndef CMP_INTAKE_H_INCLUDED
#define CMP_INTAKE_H_INCLUDED

//  Create an intake with the limits of config.
cmp_intake_t *cmp_intake_new (cmp_config_t *config);

//  Destroy the intake; idempotent.
void cmp_intake_destroy (cmp_intake_t **self_p);

//  Take the reloadable limits from config.
void cmp_intake_configure (cmp_intake_t *self, cmp_config_t *config);

//  Check a SUBMIT received at now (ms). Empty optional strings are
//  removed. Returns 0, or -1 with fault filled in (status, field, text).
int cmp_intake_check (cmp_intake_t *self,
                      cmp_proto_t *submit,
                      int64_t now,
                      cmp_proto_fault_t *fault) CMP_MUSTCHECK;

//  Register a checked SUBMIT in the store's open write transaction:
//  looks for the complainant's earlier complaints and triages it by the
//  rulebook's rules (neither when rulebook is NULL or triage is off), with
//  scan (cmp_triage_scan_new, or NULL) for what its texts hold. Sets
//  *reply_p to SUBMITTED (new or duplicate) or ERROR (conflict), and fills
//  events with what to publish after commit: complaint.created, and
//  complaint.emergency when the rules declare one; none for a duplicate.
//  Returns -1 if the store failed; the transaction must then be aborted.
int cmp_intake_register (cmp_intake_t *self,
                         cmp_store_t *store,
                         cmp_rulebook_t *rulebook,
                         cmp_proto_t *submit,
                         cmp_triage_scan_t *scan,
                         int64_t now,
                         cmp_proto_t **reply_p,
                         cmp_case_event_t *events) CMP_MUSTCHECK;

//  A complainant's contact as the repeat index keys it: "tel:" and the
//  national number (digits only; an international prefix +86 or 0086 and
//  a leading trunk 0 dropped), or "mail:" and the address in lower case.
//  Returns false if there is no usable key.
bool cmp_intake_contact_phone (const char *phone, char *key, size_t size);
bool cmp_intake_contact_email (const char *email, char *key, size_t size);

//  The repeat-index keys of a record's complainant (phone, then email),
//  as above; returns how many there are (0 to 2).
#define CMP_INTAKE_CONTACT_SIZE (CMP_STORE_CONTACT_MAX + 8)
int cmp_intake_contacts (cmp_proto_t *record,
                         char keys[2][CMP_INTAKE_CONTACT_SIZE]);

//  True if channel is one the protocol knows (phone, email, ...).
bool cmp_intake_channel_valid (const char *channel);

//  Topic of the event a registration publishes
#define CMP_TOPIC_CREATED "complaint.created"
//  Topic of the event a complaint the rules mark as an emergency publishes
#define CMP_TOPIC_EMERGENCY "complaint.emergency"

#endif
