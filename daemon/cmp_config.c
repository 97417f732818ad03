/*  =========================================================================
    cmp_config - the daemon's configuration

    The table s_keys is the one list of configuration keys. complaintd.conf
    and README.md document each of them; `make check` fails when one is
    missing there (tests/check-config-doc.sh reads this table).
    =========================================================================
*/

#include "cmp_classes.h"

typedef enum
{
    T_STRING, //  Any UTF-8 string
    T_NUMBER, //  Non-negative integer, with optional K, M, G, T suffix
    T_BOOL,   //  true/false, yes/no, 1/0
    T_NAMES,  //  Names separated by spaces or commas; may be empty
    T_TIME    //  Duration: a number and ms, s, m, h, d or y (365 d)
} s_type_t;

typedef struct
{
    const char *key;      //  ZPL path
    s_type_t type;        //  Value type
    const char *fallback; //  Default value
    int64_t min;          //  Smallest number allowed
    int64_t max;          //  Largest number allowed
    bool reloadable;      //  SIGHUP applies a change
    const char *doc;      //  One line of documentation
} s_key_t;

#define KEY_MAX INT64_MAX

static const s_key_t s_keys[] = {
  {"server/intake", T_STRING, "tcp://127.0.0.1:7470", 0, 0, false,
   "ROUTER endpoint for channel adapters (SUBMIT, HEALTH)"},
  {"server/api", T_STRING, "tcp://127.0.0.1:7471", 0, 0, false,
   "ROUTER endpoint for tools (GET, LIST, COUNT, HISTORY, ACT, REPLAY, "
   "HEALTH)"},
  {"server/events", T_STRING, "tcp://127.0.0.1:7472", 0, 0, false,
   "PUB endpoint where every stored event is published"},
  {"server/batch_max", T_NUMBER, "512", 1, 65536, true,
   "most submissions gathered into one write transaction"},
  {"server/verbose", T_BOOL, "false", 0, 0, true,
   "log every request at debug level"},
  {"store/path", T_STRING, "complaintd-data", 0, 0, false,
   "directory of the LMDB environment (created if missing)"},
  {"store/map_size", T_NUMBER, "64M", 1048576, KEY_MAX, false,
   "initial LMDB map size; the map doubles by itself when full"},
  {"store/map_max", T_NUMBER, "0", 0, KEY_MAX, false,
   "largest map size the store may grow to; 0 means no limit"},
  {"limits/max_request", T_NUMBER, "65536", 4096, 16777216, false,
   "largest request body in bytes; larger ones get TOO_LARGE"},
  {"limits/description", T_NUMBER, "16384", 1, 1048576, true,
   "largest description in bytes"},
  {"limits/demands", T_NUMBER, "4096", 1, 1048576, true,
   "largest demands text in bytes"},
  {"limits/text", T_NUMBER, "200", 1, 4096, true,
   "largest short text (name, department, handler, category...) in bytes"},
  {"limits/attachments", T_NUMBER, "16", 0, 1024, true,
   "most attachment URIs per complaint"},
  {"limits/tags", T_NUMBER, "32", 0, 1024, true, "most tags per complaint"},
  {"limits/note", T_NUMBER, "4096", 1, 1048576, true,
   "largest note, reason, proposal, summary or comment of an ACT in bytes"},
  {"limits/contacts", T_NUMBER, "200", 0, 100000, true,
   "most contacts a complaint's record keeps (the history keeps all)"},
  {"list/page_max", T_NUMBER, "500", 1, 4096, true,
   "largest page a LIST or HISTORY may ask for"},
  {"events/replay_max", T_NUMBER, "1000", 1, 4096, true,
   "largest page a REPLAY may ask for"},
  {"cases/reopen_below", T_NUMBER, "3", 0, 6, true,
   "a follow-up satisfaction below this reopens the case; 0 never"},
  {"archive/after", T_TIME, "30d", 0, KEY_MAX, true,
   "a closed, withdrawn or merged complaint this long unchanged is archived"},
  {"archive/sweep", T_TIME, "1h", 10, 86400000, true,
   "how often the daemon looks for complaints to archive"},
  {"archive/purge", T_BOOL, "false", 0, 0, true,
   "purge archived complaints after archive/keep; off, nothing is purged"},
  {"archive/keep", T_TIME, "3y", 1, KEY_MAX, true,
   "how long an archived complaint is kept at least"},
  {"triage/enabled", T_BOOL, "true", 0, 0, true,
   "triage every new complaint by the rules; off, complaints stay "
   "unclassified"},
  {"triage/rules", T_STRING, "", 0, 0, true,
   "YAML file of triage rules; empty: the rules built in (triage.yaml)"},
  {"triage/jit", T_BOOL, "true", 0, 0, true,
   "run patterns as machine code compiled by PCRE2's JIT; off, in its "
   "interpreter (several times slower; valgrind can check it)"},
  {"triage/repeat_window", T_TIME, "30d", 0, KEY_MAX, true,
   "an earlier complaint from the same phone or email within this makes "
   "a repeat"},
  {"calendars/file", T_STRING, "", 0, 0, true,
   "YAML file of business calendars; empty: the one built in "
   "(calendars.yaml)"},
  {"sla/enabled", T_BOOL, "true", 0, 0, true,
   "run the deadline clocks of every complaint; off, no deadline is kept"},
  {"sla/policies", T_STRING, "", 0, 0, true,
   "YAML file of deadline policies and the escalation ladder; empty: the "
   "ones built in (sla.yaml)"},
  {"sla/fire_max", T_NUMBER, "1000", 1, 100000, true,
   "most complaints whose due deadline points fire in one transaction"},
  {"clock/test", T_NUMBER, "0", 0, KEY_MAX, false,
   "0: the system clock; else a test clock starting at this time in ms "
   "since the epoch, which only the admin's TICK request moves"},
  {"roles/adapter", T_NAMES, "", 0, 0, true,
   "actors who may only submit (channel adapters)"},
  {"roles/agent", T_NAMES, "", 0, 0, true,
   "actors who handle cases (complaints office, handlers)"},
  {"roles/supervisor", T_NAMES, "", 0, 0, true,
   "actors who also approve proposals and extend investigations"},
  {"roles/auditor", T_NAMES, "", 0, 0, true,
   "actors who may only read complaints and their history"},
  {"roles/admin", T_NAMES, "", 0, 0, true,
   "actors who read and archive; they do not handle cases"},
  {NULL, T_STRING, NULL, 0, 0, false, NULL}};

//  Structure of our class

struct _cmp_config_t
{
    zhashx_t *values;    //  key -> value string (owned)
    zhashx_t *overrides; //  Keys set by cmp_config_set -> value (owned)
    char *filename;      //  File loaded, or NULL
};

static const s_key_t *
s_key (const char *key)
{
    for (int index = 0; s_keys[index].key; index++)
        if (streq (s_keys[index].key, key))
            return &s_keys[index];
    return NULL;
}

//  Parse a number with an optional K/M/G/T suffix (powers of 1024)
static int
s_parse_number (const char *value, int64_t *result)
{
    char *end;
    errno = 0;
    if (!isdigit ((unsigned char) *value))
        return -1;
    unsigned long long number = strtoull (value, &end, 10);
    if (errno)
        return -1;
    unsigned long long scale = 1;
    if (*end) {
        switch (toupper ((unsigned char) *end)) {
            case 'K': scale = 1ULL << 10; break;
            case 'M': scale = 1ULL << 20; break;
            case 'G': scale = 1ULL << 30; break;
            case 'T': scale = 1ULL << 40; break;
            default: return -1;
        }
        if (end[1])
            return -1;
    }
    if (number > (unsigned long long) INT64_MAX / scale)
        return -1;
    *result = (int64_t) (number * scale);
    return 0;
}

//  Parse a duration into milliseconds
static int
s_parse_time (const char *value, int64_t *result)
{
    char *end;
    errno = 0;
    if (!isdigit ((unsigned char) *value))
        return -1;
    unsigned long long number = strtoull (value, &end, 10);
    if (errno)
        return -1;
    if (number == 0 && *end == 0) {
        *result = 0; //  Zero needs no unit
        return 0;
    }
    static const struct
    {
        const char *unit; //  Suffix
        int64_t scale;    //  Milliseconds per unit
    } units[] = {{"ms", 1},      {"s", 1000},     {"m", 60000},
                 {"h", 3600000}, {"d", 86400000}, {"y", 365LL * 86400000}};
    for (size_t index = 0; index < sizeof (units) / sizeof (units[0]); index++)
        if (streq (end, units[index].unit)) {
            if (number > (unsigned long long) INT64_MAX / units[index].scale)
                return -1;
            *result = (int64_t) number * units[index].scale;
            return 0;
        }
    return -1;
}

static int
s_parse_bool (const char *value, bool *result)
{
    if (streq (value, "true") || streq (value, "yes") || streq (value, "1"))
        *result = true;
    else if (streq (value, "false") || streq (value, "no")
             || streq (value, "0"))
        *result = false;
    else
        return -1;
    return 0;
}

//  Check one value; log the problem with its origin and return -1
static int
s_check (const s_key_t *key, const char *value, const char *origin)
{
    if (key->type == T_NUMBER || key->type == T_TIME) {
        bool time = key->type == T_TIME;
        int64_t number;
        if (time ? s_parse_time (value, &number)
                 : s_parse_number (value, &number)) {
            zsys_error ("%s: %s: \"%s\" is not %s", origin, key->key, value,
                        time ? "a duration (a number and one of ms, s, m, h, "
                               "d, y: 30d, 12h, 500ms)"
                             : "a number (digits with an optional K, M, G or "
                               "T suffix)");
            return -1;
        }
        if (number < key->min || number > key->max) {
            zsys_error ("%s: %s: %s is out of range (%" PRId64 "%s to %" PRId64
                        "%s)",
                        origin, key->key, value, key->min, time ? " ms" : "",
                        key->max, time ? " ms" : "");
            return -1;
        }
    } else if (key->type == T_BOOL) {
        bool flag;
        if (s_parse_bool (value, &flag)) {
            zsys_error ("%s: %s: \"%s\" is not true or false", origin, key->key,
                        value);
            return -1;
        }
    } else if (key->type == T_NAMES) {
        for (const char *at = value; *at; at++)
            if (!isalnum ((unsigned char) *at) && !strchr ("._@-, ", *at)) {
                zsys_error ("%s: %s: \"%s\": a name may hold letters, "
                            "digits and . _ @ - only (names are separated "
                            "by spaces or commas)",
                            origin, key->key, value);
                return -1;
            }
    } else if (*value == 0 && *key->fallback) {
        zsys_error ("%s: %s: must not be empty", origin, key->key);
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Create a configuration with every default

cmp_config_t *
cmp_config_new (void)
{
    cmp_config_t *self = (cmp_config_t *) zmalloc (sizeof (cmp_config_t));
    assert (self);
    self->values = zhashx_new ();
    assert (self->values);
    zhashx_set_duplicator (self->values, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (self->values, (zhashx_destructor_fn *) zstr_free);
    self->overrides = zhashx_new ();
    assert (self->overrides);
    zhashx_set_duplicator (self->overrides, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (self->overrides, (zhashx_destructor_fn *) zstr_free);
    for (int index = 0; s_keys[index].key; index++)
        zhashx_insert (self->values, s_keys[index].key,
                       (void *) s_keys[index].fallback);
    return self;
}

void
cmp_config_destroy (cmp_config_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_config_t *self = *self_p;
        zhashx_destroy (&self->values);
        zhashx_destroy (&self->overrides);
        zstr_free (&self->filename);
        free (self);
        *self_p = NULL;
    }
}

int
cmp_config_set (cmp_config_t *self, const char *key, const char *value)
{
    assert (self);
    const s_key_t *entry = s_key (key);
    if (!entry) {
        zsys_error ("%s: unknown configuration key", key);
        return -1;
    }
    if (s_check (entry, value, "command line"))
        return -1;
    zhashx_update (self->values, key, (void *) value);
    zhashx_update (self->overrides, key, (void *) value);
    return 0;
}

int
cmp_config_validate (cmp_config_t *self)
{
    assert (self);
    //  An actor has one role
    zhashx_t *seen = zhashx_new ();
    assert (seen);
    int errors = 0;
    for (int index = 0; s_keys[index].key; index++) {
        if (s_keys[index].type != T_NAMES)
            continue;
        char *names = strdup (cmp_config_string (self, s_keys[index].key));
        assert (names);
        char *state = NULL;
        for (char *name = strtok_r (names, " ,", &state); name;
             name = strtok_r (NULL, " ,", &state)) {
            const char *other = (const char *) zhashx_lookup (seen, name);
            if (streq (name, CMP_CASE_SYSTEM)) {
                zsys_error ("%s: \"%s\" is the daemon's own name and cannot "
                            "have a role",
                            s_keys[index].key, name);
                errors++;
            } else if (other) {
                zsys_error ("%s: \"%s\" is also in %s; an actor has one "
                            "role",
                            s_keys[index].key, name, other);
                errors++;
            } else
                zhashx_insert (seen, name, (void *) s_keys[index].key);
        }
        free (names);
    }
    zhashx_destroy (&seen);
    return errors ? -1 : 0;
}

int
cmp_config_take_over (cmp_config_t *self, cmp_config_t *running)
{
    assert (self);
    assert (running);
    //  The command line still wins over the file
    for (const char *value = (const char *) zhashx_first (running->overrides);
         value; value = (const char *) zhashx_next (running->overrides)) {
        const char *key = (const char *) zhashx_cursor (running->overrides);
        zhashx_update (self->values, key, (void *) value);
        zhashx_update (self->overrides, key, (void *) value);
    }
    //  Keys that cannot change while running keep their running values,
    //  so that the configuration says what runs, and a later reload
    //  reports the same pending change again
    int held = 0;
    for (int index = 0; s_keys[index].key; index++) {
        const char *key = s_keys[index].key;
        const char *now = cmp_config_string (running, key);
        if (s_keys[index].reloadable
            || streq (now, cmp_config_string (self, key)))
            continue;
        zsys_warning ("%s changed from \"%s\" to \"%s\"; it takes effect "
                      "only at restart",
                      key, now, cmp_config_string (self, key));
        zhashx_update (self->values, key, (void *) now);
        held++;
    }
    return held;
}

//  Walk the tree: every leaf must be a known key with a valid value
static int
s_walk (cmp_config_t *self,
        zconfig_t *node,
        const char *prefix,
        const char *filename,
        int *errors)
{
    for (zconfig_t *child = zconfig_child (node); child;
         child = zconfig_next (child)) {
        char path[256];
        snprintf (path, sizeof (path), "%s%s%s", prefix, *prefix ? "/" : "",
                  zconfig_name (child));
        if (zconfig_child (child)) {
            if (zconfig_value (child) && *zconfig_value (child)) {
                zsys_error ("%s: %s: a section cannot have a value", filename,
                            path);
                (*errors)++;
            }
            s_walk (self, child, path, filename, errors);
            continue;
        }
        const s_key_t *entry = s_key (path);
        if (!entry) {
            zsys_error ("%s: %s: unknown configuration key", filename, path);
            (*errors)++;
            continue;
        }
        const char *value = zconfig_value (child);
        if (s_check (entry, value ? value : "", filename))
            (*errors)++;
        else
            zhashx_update (self->values, entry->key, (void *) value);
    }
    return 0;
}

int
cmp_config_load (cmp_config_t *self, const char *filename)
{
    assert (self);
    assert (filename);
    if (!zsys_file_exists (filename)) {
        zsys_error ("%s: cannot read the configuration file: %s", filename,
                    strerror (errno ? errno : ENOENT));
        return -1;
    }
    //  Read the file ourselves: zconfig_load leaks its file object when
    //  the text is not valid ZPL (czmq 4.2.1)
    zfile_t *file = zfile_new (NULL, filename);
    zchunk_t *chunk = NULL;
    if (file && zfile_input (file) == 0) {
        chunk = zfile_read (file, zfile_cursize (file), 0);
        zfile_close (file);
    }
    zfile_destroy (&file);
    if (!chunk) {
        zsys_error ("%s: cannot read the configuration file", filename);
        return -1;
    }
    zconfig_t *root = zconfig_chunk_load (chunk);
    zchunk_destroy (&chunk);
    if (!root) {
        zsys_error ("%s: not a valid ZPL file (indent with 4 spaces, "
                    "\"key = value\" lines)",
                    filename);
        return -1;
    }
    int errors = 0;
    s_walk (self, root, "", filename, &errors);
    zconfig_destroy (&root);
    zstr_free (&self->filename);
    self->filename = strdup (filename);
    return errors ? -1 : 0;
}

const char *
cmp_config_string (cmp_config_t *self, const char *key)
{
    assert (self);
    const char *value = (const char *) zhashx_lookup (self->values, key);
    assert (value); //  Unknown key: a programmer error
    return value;
}

int64_t
cmp_config_number (cmp_config_t *self, const char *key)
{
    const s_key_t *entry = s_key (key);
    assert (entry && (entry->type == T_NUMBER || entry->type == T_TIME));
    int64_t number = 0;
    int rc = entry->type == T_TIME
               ? s_parse_time (cmp_config_string (self, key), &number)
               : s_parse_number (cmp_config_string (self, key), &number);
    assert (rc == 0); //  Checked when set
    return number;
}

bool
cmp_config_bool (cmp_config_t *self, const char *key)
{
    const s_key_t *entry = s_key (key);
    assert (entry && entry->type == T_BOOL);
    bool flag = false;
    int rc = s_parse_bool (cmp_config_string (self, key), &flag);
    assert (rc == 0);
    return flag;
}

const char *
cmp_config_filename (cmp_config_t *self)
{
    assert (self);
    return self->filename;
}

void
cmp_config_print_keys (FILE *file)
{
    for (int index = 0; s_keys[index].key; index++)
        fprintf (
          file, "%s = %s%s  # %s\n", s_keys[index].key, s_keys[index].fallback,
          s_keys[index].reloadable ? "  (reloadable)" : "", s_keys[index].doc);
}

//  --------------------------------------------------------------------------
//  Self test

void
cmp_config_test (bool verbose)
{
    printf (" * cmp_config: ");
    if (verbose)
        printf ("\n");
    else
        zsys_set_logstream (NULL);

    //  @selftest
    cmp_config_t *self = cmp_config_new ();
    assert (self);
    assert (streq (cmp_config_string (self, "server/intake"),
                   "tcp://127.0.0.1:7470"));
    assert (cmp_config_number (self, "store/map_size") == 64 * 1024 * 1024);
    assert (cmp_config_bool (self, "server/verbose") == false);
    assert (cmp_config_filename (self) == NULL);

    int rc = cmp_config_set (self, "store/path", "/tmp/x");
    assert (rc == 0);
    rc = cmp_config_set (self, "store/nothing", "1");
    assert (rc == -1);
    rc = cmp_config_set (self, "server/batch_max", "0");
    assert (rc == -1);
    rc = cmp_config_set (self, "server/batch_max", "12x");
    assert (rc == -1);
    rc = cmp_config_set (self, "server/verbose", "maybe");
    assert (rc == -1);

    const char *path = "tests/selftest-rw/cmp_config.cfg";
    zsys_dir_create ("tests/selftest-rw");
    FILE *file = fopen (path, "w");
    assert (file);
    fprintf (file, "#   A test file\n"
                   "server\n"
                   "    batch_max = 64\n"
                   "    verbose = yes\n"
                   "store\n"
                   "    map_size = 2G\n");
    fclose (file);
    rc = cmp_config_load (self, path);
    assert (rc == 0);
    assert (cmp_config_number (self, "server/batch_max") == 64);
    assert (cmp_config_bool (self, "server/verbose"));
    assert (cmp_config_number (self, "store/map_size") == 2LL << 30);
    assert (streq (cmp_config_filename (self), path));

    //  A reload: the command line still wins, a fixed key keeps its
    //  running value (and is reported), a reloadable key takes the new one
    cmp_config_t *other = cmp_config_new ();
    rc = cmp_config_set (other, "limits/tags", "7");
    assert (rc == 0);
    assert (cmp_config_take_over (other, self) == 1);
    assert (streq (cmp_config_string (other, "store/path"), "/tmp/x"));
    assert (cmp_config_number (other, "store/map_size") == 2LL << 30);
    assert (cmp_config_number (other, "limits/tags") == 7);
    assert (cmp_config_number (other, "server/batch_max") == 512);
    cmp_config_destroy (&other);

    //  Every error in a file is reported
    file = fopen (path, "w");
    assert (file);
    fprintf (file, "server\n"
                   "    batch_max = lots\n"
                   "    colour = blue\n"
                   "limits\n"
                   "    tags = 99999\n");
    fclose (file);
    other = cmp_config_new ();
    rc = cmp_config_load (other, path);
    assert (rc == -1);
    cmp_config_destroy (&other);
    rc = cmp_config_load (self, "tests/selftest-rw/no-such-file.cfg");
    assert (rc == -1);
    zsys_file_delete (path);
    cmp_config_destroy (&self);
    assert (self == NULL);
    //  @end
    zsys_set_logstream (stderr);
    printf ("OK\n");
}
