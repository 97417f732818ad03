/*  =========================================================================
    cmp_rulebook - the organisation's rules, read from its files

    What the organisation writes for itself rather than sets as one key:
    the business calendars (calendars/file), the triage rules
    (triage/rules) and the deadline policies with the escalation ladder
    (sla/policies). Empty keys take the copies built into the daemon
    (daemon/calendars.yaml, daemon/triage.yaml and daemon/sla.yaml). A rulebook is read as a
    whole: one error anywhere refuses it, so that a reload with a broken
    file keeps the running rules.
    =========================================================================
*/

#ifndef CMP_RULEBOOK_H_INCLUDED
#define CMP_RULEBOOK_H_INCLUDED

//  Read the files config names. Returns NULL, with every problem in
//  errors (a zlist_t of strings with autofree) as "file:line: what is
//  wrong", if any of them is not valid.
cmp_rulebook_t *cmp_rulebook_new (cmp_config_t *config, zlist_t *errors);

//  Read the files config names, as --check-config does: print each error
//  ("file:line: what is wrong"), or one line saying what was read, to
//  file. Returns 0 if the rulebook is valid, else -1.
int cmp_rulebook_check (cmp_config_t *config, FILE *file);

//  Destroy the rulebook; idempotent.
void cmp_rulebook_destroy (cmp_rulebook_t **self_p);

//  The triage rules, or NULL when triage/enabled is false. Valid while
//  the rulebook lives.
cmp_triage_t *cmp_rulebook_triage (cmp_rulebook_t *self);

//  The deadline policies and the escalation ladder, or NULL when
//  sla/enabled is false. Valid while the rulebook lives.
cmp_sla_t *cmp_rulebook_sla (cmp_rulebook_t *self);

//  The calendar of that name, or NULL.
cmp_calendar_t *cmp_rulebook_calendar (cmp_rulebook_t *self, const char *name);

//  How far back an earlier complaint of the same complainant makes a
//  new one a repeat, in ms (triage/repeat_window).
int64_t cmp_rulebook_repeat_window (cmp_rulebook_t *self);

//  One line for the log: rules version and size, calendars.
const char *cmp_rulebook_summary (cmp_rulebook_t *self);

//  Self test of this class
void cmp_rulebook_test (bool verbose);

#endif
