/*  =========================================================================
    cmp_yaml - a YAML file read for its meaning, with lines for errors

    The triage rules and the calendars are YAML files that people write by
    hand. This class parses one with libyaml into a document and offers
    the lookups their readers need. Every problem is appended to an error
    list as "file:line: what is wrong", so that --check-config can print
    all of them at once.

    Nodes are libyaml's; they are valid while the cmp_yaml_t lives.
    =========================================================================
*/

#ifndef CMP_YAML_H_INCLUDED
#define CMP_YAML_H_INCLUDED

#include <yaml.h>

//  Parse size bytes of text as one YAML document; name is the file name
//  that errors carry. On a syntax error, appends it to errors (a zlist_t
//  of strings, with autofree) and returns NULL.
cmp_yaml_t *
cmp_yaml_new (const char *name, const char *text, size_t size, zlist_t *errors);

//  Read a file of at most 16 MB whole. Returns NULL, with the error
//  appended ("file: cannot be read: why"), if it cannot. Caller owns the
//  chunk.
zchunk_t *cmp_yaml_read (const char *filename, zlist_t *errors);

//  Read and parse a file. Returns NULL, with the error appended, if it
//  cannot be read or parsed.
cmp_yaml_t *cmp_yaml_load (const char *filename, zlist_t *errors);

//  Destroy the document; idempotent.
void cmp_yaml_destroy (cmp_yaml_t **self_p);

//  The file name given at creation.
const char *cmp_yaml_name (cmp_yaml_t *self);

//  The root node, or NULL if the document is empty.
yaml_node_t *cmp_yaml_root (cmp_yaml_t *self);

//  Line of a node, counted from 1.
size_t cmp_yaml_line (yaml_node_t *node);

//  Append "file:line: message" for node (or "file: message" if node is
//  NULL) to the error list. Always returns -1.
int
cmp_yaml_error (cmp_yaml_t *self, yaml_node_t *node, const char *format, ...)
  __attribute__ ((format (printf, 3, 4)));

//  How many errors the list holds.
size_t cmp_yaml_errors (cmp_yaml_t *self);

//  Check that node is a mapping whose keys are all in allowed (a NULL-
//  terminated list) and appear once. what names the node in errors
//  ("rule", "calendar"). Returns 0, or -1 with an error per problem.
int cmp_yaml_expect_map (cmp_yaml_t *self,
                         yaml_node_t *node,
                         const char *what,
                         const char *const allowed[]);

//  Value of key in a mapping, or NULL if absent or node is no mapping.
yaml_node_t *cmp_yaml_get (cmp_yaml_t *self, yaml_node_t *map, const char *key);

//  Items of a sequence, or pairs of a mapping: count, then each by index.
size_t cmp_yaml_size (yaml_node_t *node);
yaml_node_t *cmp_yaml_item (cmp_yaml_t *self, yaml_node_t *node, size_t index);
yaml_node_t *cmp_yaml_key (cmp_yaml_t *self, yaml_node_t *map, size_t index);
yaml_node_t *cmp_yaml_value (cmp_yaml_t *self, yaml_node_t *map, size_t index);

//  A scalar's text, or NULL (with an error naming what) if node is not a
//  scalar or holds a NUL. Valid while self lives.
const char *
cmp_yaml_string (cmp_yaml_t *self, yaml_node_t *node, const char *what);

//  A scalar read as true/false (also yes/no, on/off). Returns 0, or -1
//  with an error.
int cmp_yaml_bool (cmp_yaml_t *self,
                   yaml_node_t *node,
                   const char *what,
                   bool *value) CMP_MUSTCHECK;

//  A scalar read as a whole number in [min, max]. Returns 0, or -1 with
//  an error.
int cmp_yaml_int (cmp_yaml_t *self,
                  yaml_node_t *node,
                  const char *what,
                  int64_t min,
                  int64_t max,
                  int64_t *value) CMP_MUSTCHECK;

//  A scalar or a sequence of scalars, as a new list of strings (with
//  autofree). Returns NULL, with an error, if an item is not a scalar.
zlist_t *
cmp_yaml_strings (cmp_yaml_t *self, yaml_node_t *node, const char *what);

//  Self test of this class
void cmp_yaml_test (bool verbose);

#endif
