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

//  Register a checked SUBMIT in the store's open write transaction. Sets
//  *reply_p to SUBMITTED (new or duplicate) or ERROR (conflict), and
//  *event_p to the stored event to publish after commit, or NULL. Returns
//  -1 if the store failed; the transaction must then be aborted.
int cmp_intake_register (cmp_intake_t *self,
                         cmp_store_t *store,
                         cmp_proto_t *submit,
                         int64_t now,
                         cmp_proto_t **reply_p,
                         zchunk_t **event_p) CMP_MUSTCHECK;

//  True if channel is one the protocol knows (phone, email, ...).
bool cmp_intake_channel_valid (const char *channel);

//  Topic of the event a registration publishes
#define CMP_TOPIC_CREATED "complaint.created"

#endif
