/*  =========================================================================
    cmp_config - the daemon's configuration

    One table lists every key with its type, default, whether SIGHUP may
    change it, and one line of documentation. A configuration file is ZPL
    (czmq's zconfig format); every key has a default, so no file is
    needed. Unknown keys and bad values are errors naming file, key and
    value.
    =========================================================================
*/

#ifndef CMP_CONFIG_H_INCLUDED
#define CMP_CONFIG_H_INCLUDED

//  Create a configuration holding every default.
cmp_config_t *cmp_config_new (void);

//  Destroy the configuration; idempotent.
void cmp_config_destroy (cmp_config_t **self_p);

//  Load a ZPL file over the current values. On errors, logs each one
//  (file, key, problem) and returns -1; the values are then undefined.
int cmp_config_load (cmp_config_t *self, const char *filename) CMP_MUSTCHECK;

//  Set one key from a string (as from the command line). Returns -1 and
//  logs the problem if the key is unknown or the value is invalid.
int cmp_config_set (cmp_config_t *self,
                    const char *key,
                    const char *value) CMP_MUSTCHECK;

//  Check the rules that span keys (an actor is in one roles/ key only).
//  Logs each problem and returns -1 if there is one.
int cmp_config_validate (cmp_config_t *self) CMP_MUSTCHECK;

//  Values. The key must be in the table (a programmer error otherwise).
//  Strings are valid while the configuration lives.
const char *cmp_config_string (cmp_config_t *self, const char *key);
//  Numbers; durations ("30d") in milliseconds
int64_t cmp_config_number (cmp_config_t *self, const char *key);
bool cmp_config_bool (cmp_config_t *self, const char *key);

//  The file the configuration was loaded from, or NULL for defaults only.
const char *cmp_config_filename (cmp_config_t *self);

//  Make this freshly loaded configuration take over from the running one
//  at a reload: keys set on the command line keep their values, and so do
//  keys that cannot be reloaded (each change is logged, to take effect at
//  restart). Returns how many such changes were held back.
int cmp_config_take_over (cmp_config_t *self, cmp_config_t *running);

//  Print every key with its default and documentation, one per line.
void cmp_config_print_keys (FILE *file);

#endif
