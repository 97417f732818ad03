/*  =========================================================================
    cmp_rulebook - the organisation's rules, read from its files
    =========================================================================
*/

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cmp_classes.h"

//  Structure of our class

struct _cmp_rulebook_t
{
    zhashx_t *calendars;   //  name -> cmp_calendar_t (owned)
    cmp_triage_t *triage;  //  Triage rules, or NULL when off
    cmp_sla_t *sla;        //  Deadline policies and the ladder
    bool sla_enabled;      //  sla/enabled
    int64_t repeat_window; //  triage/repeat_window
    char *summary;         //  For the log
};

static void
s_calendar_destroy (void **item)
{
    cmp_calendar_destroy ((cmp_calendar_t **) item);
}

//  Read the calendars: a mapping "calendars:" of name -> calendar
static int
s_read_calendars (cmp_rulebook_t *self, cmp_yaml_t *yaml)
{
    static const char *const keys[] = {"calendars", NULL};
    yaml_node_t *root = cmp_yaml_root (yaml);
    if (cmp_yaml_expect_map (yaml, root, "the calendars file", keys))
        return -1;
    yaml_node_t *calendars = cmp_yaml_get (yaml, root, "calendars");
    if (!calendars || calendars->type != YAML_MAPPING_NODE
        || cmp_yaml_size (calendars) == 0)
        return cmp_yaml_error (yaml, calendars ? calendars : root,
                               "calendars must map each calendar's name to "
                               "its definition");
    int rc = 0;
    size_t size = cmp_yaml_size (calendars);
    for (size_t index = 0; index < size; index++) {
        const char *name = cmp_yaml_string (
          yaml, cmp_yaml_key (yaml, calendars, index), "a calendar's name");
        if (!name) {
            rc = -1;
            continue;
        }
        cmp_calendar_t *calendar = cmp_calendar_new (
          yaml, cmp_yaml_value (yaml, calendars, index), name);
        if (!calendar)
            rc = -1;
        else if (zhashx_insert (self->calendars, name, calendar)) {
            cmp_calendar_destroy (&calendar);
            rc = cmp_yaml_error (yaml, cmp_yaml_key (yaml, calendars, index),
                                 "calendar \"%.64s\" is defined twice", name);
        }
    }
    return rc;
}

cmp_rulebook_t *
cmp_rulebook_new (cmp_config_t *config, zlist_t *errors)
{
    assert (config);
    assert (errors);
    cmp_rulebook_t *self = (cmp_rulebook_t *) zmalloc (sizeof (cmp_rulebook_t));
    assert (self);
    self->calendars = zhashx_new ();
    assert (self->calendars);
    zhashx_set_destructor (self->calendars, s_calendar_destroy);
    self->repeat_window = cmp_config_number (config, "triage/repeat_window");

    const char *filename = cmp_config_string (config, "calendars/file");
    cmp_yaml_t *yaml =
      *filename ? cmp_yaml_load (filename, errors)
                : cmp_yaml_new ("(built-in calendars)", cmp_shipped_calendars,
                                strlen (cmp_shipped_calendars), errors);
    int rc = yaml ? s_read_calendars (self, yaml) : -1;
    cmp_yaml_destroy (&yaml);
    if (rc)
        goto failed;

    if (cmp_config_bool (config, "triage/enabled")) {
        filename = cmp_config_string (config, "triage/rules");
        self->triage =
          *filename ? cmp_triage_load (filename, self->calendars, errors)
                    : cmp_triage_new ("(built-in rules)", cmp_shipped_triage,
                                      strlen (cmp_shipped_triage),
                                      self->calendars, errors);
        if (!self->triage)
            goto failed;
        cmp_triage_set_jit (self->triage,
                            cmp_config_bool (config, "triage/jit"));
        uint32_t jit = 0;
        pcre2_config (PCRE2_CONFIG_JIT, &jit);
        if (cmp_config_bool (config, "triage/jit")
            && !cmp_triage_jit (self->triage))
            zsys_warning ("triage: %s; the patterns run in its interpreter, "
                          "several times slower",
                          jit ? "PCRE2's JIT cannot compile the patterns here "
                                "(is code written at run time forbidden, as "
                                "by systemd's MemoryDenyWriteExecute?)"
                              : "this PCRE2 is built without JIT");
    }
    filename = cmp_config_string (config, "sla/policies");
    //  Read even when off, so that a broken file is found at once
    self->sla = *filename ? cmp_sla_load (filename, self->calendars, errors)
                          : cmp_sla_new ("(built-in policies)", cmp_shipped_sla,
                                         strlen (cmp_shipped_sla),
                                         self->calendars, errors);
    if (!self->sla)
        goto failed;
    self->sla_enabled = cmp_config_bool (config, "sla/enabled");
    self->summary = zsys_sprintf (
      "triage %s%s%s%zu rules%s, deadlines %s%s with %zu policies, %zu "
      "calendar%s",
      self->triage ? "rules " : "off",
      self->triage ? cmp_triage_version (self->triage) : "",
      self->triage ? " with " : ", ",
      self->triage ? cmp_triage_size (self->triage) : 0,
      self->triage && !cmp_triage_jit (self->triage)
        ? " (patterns in PCRE2's interpreter, no JIT)"
        : "",
      cmp_config_bool (config, "sla/enabled") ? "" : "off, ",
      cmp_sla_version (self->sla), cmp_sla_size (self->sla),
      zhashx_size (self->calendars),
      zhashx_size (self->calendars) == 1 ? "" : "s");
    return self;

failed:
    cmp_rulebook_destroy (&self);
    return NULL;
}

int
cmp_rulebook_check (cmp_config_t *config, FILE *file)
{
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    cmp_rulebook_t *self = cmp_rulebook_new (config, errors);
    for (char *error = (char *) zlist_first (errors); error;
         error = (char *) zlist_next (errors))
        fprintf (file, "%s\n", error);
    if (self)
        fprintf (file, "rules: %s\n", cmp_rulebook_summary (self));
    zlist_destroy (&errors);
    int rc = self ? 0 : -1;
    cmp_rulebook_destroy (&self);
    return rc;
}

void
cmp_rulebook_destroy (cmp_rulebook_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_rulebook_t *self = *self_p;
        //  The rules point into the calendars: they go first
        cmp_triage_destroy (&self->triage);
        cmp_sla_destroy (&self->sla);
        zhashx_destroy (&self->calendars);
        zstr_free (&self->summary);
        free (self);
        *self_p = NULL;
    }
}

cmp_triage_t *
cmp_rulebook_triage (cmp_rulebook_t *self)
{
    assert (self);
    return self->triage;
}

cmp_sla_t *
cmp_rulebook_sla (cmp_rulebook_t *self)
{
    assert (self);
    return self->sla_enabled ? self->sla : NULL;
}

cmp_calendar_t *
cmp_rulebook_calendar (cmp_rulebook_t *self, const char *name)
{
    assert (self);
    return (cmp_calendar_t *) zhashx_lookup (self->calendars, name);
}

int64_t
cmp_rulebook_repeat_window (cmp_rulebook_t *self)
{
    assert (self);
    return self->repeat_window;
}

const char *
cmp_rulebook_summary (cmp_rulebook_t *self)
{
    assert (self);
    return self->summary;
}

//  --------------------------------------------------------------------------
//  Self test

void
cmp_rulebook_test (bool verbose)
{
    printf (" * cmp_rulebook: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    //  The built-in files are valid
    cmp_config_t *config = cmp_config_new ();
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    cmp_rulebook_t *self = cmp_rulebook_new (config, errors);
    for (char *error = (char *) zlist_first (errors); error;
         error = (char *) zlist_next (errors))
        printf ("%s\n", error);
    fflush (stdout);
    assert (self);
    assert (cmp_rulebook_triage (self));
    assert (cmp_rulebook_calendar (self, "default"));
    assert (cmp_rulebook_sla (self));
    assert (cmp_sla_known (cmp_rulebook_sla (self), "standard"));
    assert (cmp_rulebook_repeat_window (self) == 30 * 86400000LL);
    assert (strstr (cmp_rulebook_summary (self), "2026.11"));
    cmp_rulebook_destroy (&self);
    cmp_rulebook_destroy (&self);

    //  Triage off
    int rc = cmp_config_set (config, "triage/enabled", "false");
    assert (rc == 0);
    self = cmp_rulebook_new (config, errors);
    assert (self && !cmp_rulebook_triage (self));
    cmp_rulebook_destroy (&self);

    //  JIT off: the patterns run in PCRE2's interpreter, and the log says so
    rc = cmp_config_set (config, "triage/enabled", "true");
    assert (rc == 0);
    rc = cmp_config_set (config, "triage/jit", "false");
    assert (rc == 0);
    self = cmp_rulebook_new (config, errors);
    assert (self && !cmp_triage_jit (cmp_rulebook_triage (self)));
    assert (strstr (cmp_rulebook_summary (self), "PCRE2's interpreter"));
    cmp_rulebook_destroy (&self);

    //  A broken rules file is refused with its file and line
    const char *path = "tests/selftest-rw/broken-rules.yaml";
    FILE *file = fopen (path, "w");
    assert (file);
    fprintf (file, "rules:\n  - name: x\n    set: {severity: huge}\n");
    fclose (file);
    rc = cmp_config_set (config, "triage/enabled", "true");
    assert (rc == 0);
    rc = cmp_config_set (config, "triage/rules", path);
    assert (rc == 0);
    self = cmp_rulebook_new (config, errors);
    assert (!self);
    bool found = false;
    for (char *error = (char *) zlist_first (errors); error;
         error = (char *) zlist_next (errors))
        found |= strstr (error, "broken-rules.yaml:3: rule \"x\": "
                                "set.severity: \"huge\"")
                 != NULL;
    assert (found);
    remove (path);
    zlist_destroy (&errors);
    cmp_config_destroy (&config);
    //  @end
    printf ("OK\n");
}
