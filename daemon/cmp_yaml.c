/*  =========================================================================
    cmp_yaml - a YAML file read for its meaning, with lines for errors

    libyaml resolves no types: every scalar is text, and this class reads
    "true" or "12" from it where a reader asks. Keys appear once in a
    mapping (libyaml does not check that; cmp_yaml_expect_map does).
    =========================================================================
*/

#include "cmp_classes.h"

//  Largest YAML file read (rules and calendars are small)
#define YAML_FILE_MAX (16 * 1024 * 1024)

//  Structure of our class

struct _cmp_yaml_t
{
    yaml_document_t document; //  Parsed document
    char *name;               //  File name for errors
    zlist_t *errors;          //  Where errors go (not owned)
    size_t error_count;       //  Errors appended through this document
};

cmp_yaml_t *
cmp_yaml_new (const char *name, const char *text, size_t size, zlist_t *errors)
{
    assert (name);
    assert (errors);
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser)) {
        zlist_append (errors, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string (&parser, (const unsigned char *) text, size);
    yaml_parser_set_encoding (&parser, YAML_UTF8_ENCODING);
    cmp_yaml_t *self = (cmp_yaml_t *) zmalloc (sizeof (cmp_yaml_t));
    assert (self);
    self->name = strdup (name);
    assert (self->name);
    self->errors = errors;
    if (!yaml_parser_load (&parser, &self->document)) {
        char *error = zsys_sprintf (
          "%s:%zu: %s%s%s", name, parser.problem_mark.line + 1,
          parser.problem ? parser.problem : "cannot be parsed",
          parser.context ? " " : "", parser.context ? parser.context : "");
        zlist_append (errors, error);
        zstr_free (&error);
        yaml_parser_delete (&parser);
        free (self->name);
        free (self);
        return NULL;
    }
    yaml_parser_delete (&parser);
    return self;
}

zchunk_t *
cmp_yaml_read (const char *filename, zlist_t *errors)
{
    assert (filename);
    zfile_t *file = zfile_new (NULL, filename);
    zchunk_t *chunk = NULL;
    char *error = NULL;
    if (!file || zfile_input (file))
        error =
          zsys_sprintf ("%s: cannot be read: %s", filename, strerror (errno));
    else if (zfile_cursize (file) > YAML_FILE_MAX)
        error =
          zsys_sprintf ("%s: larger than %d bytes", filename, YAML_FILE_MAX);
    else if (!(chunk = zfile_read (file, zfile_cursize (file), 0)))
        error = zsys_sprintf ("%s: cannot be read", filename);
    zfile_destroy (&file);
    if (error) {
        zlist_append (errors, error);
        zstr_free (&error);
    }
    return chunk;
}

cmp_yaml_t *
cmp_yaml_load (const char *filename, zlist_t *errors)
{
    zchunk_t *chunk = cmp_yaml_read (filename, errors);
    cmp_yaml_t *self =
      chunk ? cmp_yaml_new (filename, (const char *) zchunk_data (chunk),
                            zchunk_size (chunk), errors)
            : NULL;
    zchunk_destroy (&chunk);
    return self;
}

void
cmp_yaml_destroy (cmp_yaml_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_yaml_t *self = *self_p;
        yaml_document_delete (&self->document);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

const char *
cmp_yaml_name (cmp_yaml_t *self)
{
    assert (self);
    return self->name;
}

yaml_node_t *
cmp_yaml_root (cmp_yaml_t *self)
{
    assert (self);
    return yaml_document_get_root_node (&self->document);
}

size_t
cmp_yaml_line (yaml_node_t *node)
{
    return node ? node->start_mark.line + 1 : 0;
}

int
cmp_yaml_error (cmp_yaml_t *self, yaml_node_t *node, const char *format, ...)
{
    assert (self);
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    assert (text);
    char *error =
      node ? zsys_sprintf ("%s:%zu: %s", self->name, cmp_yaml_line (node), text)
           : zsys_sprintf ("%s: %s", self->name, text);
    zlist_append (self->errors, error);
    zstr_free (&error);
    zstr_free (&text);
    self->error_count++;
    return -1;
}

size_t
cmp_yaml_errors (cmp_yaml_t *self)
{
    assert (self);
    return self->error_count;
}

//  --------------------------------------------------------------------------
//  Navigation

size_t
cmp_yaml_size (yaml_node_t *node)
{
    if (node && node->type == YAML_SEQUENCE_NODE)
        return (size_t) (node->data.sequence.items.top
                         - node->data.sequence.items.start);
    if (node && node->type == YAML_MAPPING_NODE)
        return (size_t) (node->data.mapping.pairs.top
                         - node->data.mapping.pairs.start);
    return 0;
}

yaml_node_t *
cmp_yaml_item (cmp_yaml_t *self, yaml_node_t *node, size_t index)
{
    assert (self);
    if (!node || node->type != YAML_SEQUENCE_NODE
        || index >= cmp_yaml_size (node))
        return NULL;
    return yaml_document_get_node (&self->document,
                                   node->data.sequence.items.start[index]);
}

yaml_node_t *
cmp_yaml_key (cmp_yaml_t *self, yaml_node_t *map, size_t index)
{
    assert (self);
    if (!map || map->type != YAML_MAPPING_NODE || index >= cmp_yaml_size (map))
        return NULL;
    return yaml_document_get_node (&self->document,
                                   map->data.mapping.pairs.start[index].key);
}

yaml_node_t *
cmp_yaml_value (cmp_yaml_t *self, yaml_node_t *map, size_t index)
{
    assert (self);
    if (!map || map->type != YAML_MAPPING_NODE || index >= cmp_yaml_size (map))
        return NULL;
    return yaml_document_get_node (&self->document,
                                   map->data.mapping.pairs.start[index].value);
}

//  The text of a scalar without a NUL inside, or NULL
static const char *
s_text (yaml_node_t *node)
{
    if (!node || node->type != YAML_SCALAR_NODE)
        return NULL;
    const char *text = (const char *) node->data.scalar.value;
    if (strlen (text) != node->data.scalar.length)
        return NULL;
    return text;
}

yaml_node_t *
cmp_yaml_get (cmp_yaml_t *self, yaml_node_t *map, const char *key)
{
    size_t size = cmp_yaml_size (map);
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (size_t index = 0; index < size; index++) {
        const char *name = s_text (cmp_yaml_key (self, map, index));
        if (name && streq (name, key))
            return cmp_yaml_value (self, map, index);
    }
    return NULL;
}

int
cmp_yaml_expect_map (cmp_yaml_t *self,
                     yaml_node_t *node,
                     const char *what,
                     const char *const allowed[])
{
    assert (self);
    if (!node || node->type != YAML_MAPPING_NODE)
        return cmp_yaml_error (self, node, "%s must be a mapping of keys",
                               what);
    int rc = 0;
    size_t size = cmp_yaml_size (node);
    for (size_t index = 0; index < size; index++) {
        yaml_node_t *key = cmp_yaml_key (self, node, index);
        const char *name = s_text (key);
        if (!name) {
            rc =
              cmp_yaml_error (self, key, "%s: a key must be plain text", what);
            continue;
        }
        bool known = allowed == NULL;
        for (int entry = 0; !known && allowed[entry]; entry++)
            known = streq (allowed[entry], name);
        if (!known) {
            char list[512] = "";
            for (int entry = 0; allowed[entry]; entry++)
                snprintf (list + strlen (list), sizeof (list) - strlen (list),
                          "%s%s", entry ? ", " : "", allowed[entry]);
            rc = cmp_yaml_error (self, key,
                                 "%s: unknown key \"%.64s\" (known: %s)", what,
                                 name, list);
        }
        for (size_t before = 0; before < index; before++) {
            const char *other = s_text (cmp_yaml_key (self, node, before));
            if (other && streq (other, name)) {
                rc = cmp_yaml_error (
                  self, key, "%s: key \"%.64s\" appears twice", what, name);
                break;
            }
        }
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Values

const char *
cmp_yaml_string (cmp_yaml_t *self, yaml_node_t *node, const char *what)
{
    assert (self);
    const char *text = s_text (node);
    if (!text)
        cmp_yaml_error (self, node, "%s must be %s", what,
                        node && node->type == YAML_SCALAR_NODE
                          ? "text without a NUL character"
                          : "a single value");
    return text;
}

int
cmp_yaml_bool (cmp_yaml_t *self,
               yaml_node_t *node,
               const char *what,
               bool *value)
{
    const char *text = cmp_yaml_string (self, node, what);
    if (!text)
        return -1;
    if (streq (text, "true") || streq (text, "yes") || streq (text, "on"))
        *value = true;
    else if (streq (text, "false") || streq (text, "no") || streq (text, "off"))
        *value = false;
    else
        return cmp_yaml_error (self, node, "%s: \"%.64s\" is not true or false",
                               what, text);
    return 0;
}

int
cmp_yaml_int (cmp_yaml_t *self,
              yaml_node_t *node,
              const char *what,
              int64_t min,
              int64_t max,
              int64_t *value)
{
    const char *text = cmp_yaml_string (self, node, what);
    if (!text)
        return -1;
    char *end;
    errno = 0;
    long long number = strtoll (text, &end, 10);
    if (!*text || *end || errno
        || !(isdigit ((unsigned char) *text) || *text == '-'))
        return cmp_yaml_error (
          self, node, "%s: \"%.64s\" is not a whole number", what, text);
    if (number < min || number > max)
        return cmp_yaml_error (self, node,
                               "%s: %lld is outside %" PRId64 "..%" PRId64,
                               what, number, min, max);
    *value = number;
    return 0;
}

zlist_t *
cmp_yaml_strings (cmp_yaml_t *self, yaml_node_t *node, const char *what)
{
    assert (self);
    zlist_t *list = zlist_new ();
    assert (list);
    zlist_autofree (list);
    if (node && node->type == YAML_SCALAR_NODE) {
        const char *text = cmp_yaml_string (self, node, what);
        if (text)
            zlist_append (list, (void *) text);
        else
            zlist_destroy (&list);
        return list;
    }
    if (!node || node->type != YAML_SEQUENCE_NODE) {
        cmp_yaml_error (self, node, "%s must be a value or a list of values",
                        what);
        zlist_destroy (&list);
        return NULL;
    }
    size_t size = cmp_yaml_size (node);
    for (size_t index = 0; index < size; index++) {
        char path[128];
        snprintf (path, sizeof (path), "%s[%zu]", what, index);
        const char *text =
          cmp_yaml_string (self, cmp_yaml_item (self, node, index), path);
        if (!text) {
            zlist_destroy (&list);
            return NULL;
        }
        zlist_append (list, (void *) text);
    }
    return list;
}

//  --------------------------------------------------------------------------
//  Self test

void
cmp_yaml_test (bool verbose)
{
    printf (" * cmp_yaml: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    const char *text = "# a comment\n"
                       "name: 规则\n"
                       "count: 12\n"
                       "flag: yes\n"
                       "words: [受伤, injury]\n"
                       "one: word\n"
                       "nested:\n"
                       "  - {a: 1}\n";
    cmp_yaml_t *self = cmp_yaml_new ("rules.yaml", text, strlen (text), errors);
    assert (self);
    yaml_node_t *root = cmp_yaml_root (self);
    const char *const keys[] = {"name", "count",  "flag", "words",
                                "one",  "nested", NULL};
    assert (cmp_yaml_expect_map (self, root, "file", keys) == 0);
    assert (
      streq (cmp_yaml_string (self, cmp_yaml_get (self, root, "name"), "name"),
             "规则"));
    int64_t count;
    int rc = cmp_yaml_int (self, cmp_yaml_get (self, root, "count"), "count", 0,
                           100, &count);
    assert (rc == 0 && count == 12);
    bool flag = false;
    rc = cmp_yaml_bool (self, cmp_yaml_get (self, root, "flag"), "flag", &flag);
    assert (rc == 0 && flag);
    zlist_t *words =
      cmp_yaml_strings (self, cmp_yaml_get (self, root, "words"), "words");
    assert (words && zlist_size (words) == 2);
    assert (streq ((char *) zlist_first (words), "受伤"));
    zlist_destroy (&words);
    words = cmp_yaml_strings (self, cmp_yaml_get (self, root, "one"), "one");
    assert (words && zlist_size (words) == 1);
    zlist_destroy (&words);
    assert (cmp_yaml_line (cmp_yaml_get (self, root, "nested")) == 8);
    assert (zlist_size (errors) == 0);

    //  Each problem is one error with file and line
    rc = cmp_yaml_int (self, cmp_yaml_get (self, root, "count"), "count", 0, 10,
                       &count);
    assert (rc == -1);
    assert (streq ((char *) zlist_last (errors),
                   "rules.yaml:3: count: 12 is outside 0..10"));
    rc = cmp_yaml_bool (self, cmp_yaml_get (self, root, "name"), "name", &flag);
    assert (rc == -1);
    assert (strstr ((char *) zlist_last (errors), "is not true or false"));
    const char *const fewer[] = {"name", NULL};
    rc = cmp_yaml_expect_map (self, root, "file", fewer);
    assert (rc == -1);
    assert (strstr ((char *) zlist_last (errors), "unknown key \"nested\""));
    assert (cmp_yaml_strings (self, cmp_yaml_get (self, root, "nested"), "n")
            == NULL);
    assert (cmp_yaml_errors (self) == 8);
    cmp_yaml_destroy (&self);
    cmp_yaml_destroy (&self);

    //  A key twice, and a syntax error, with their lines
    zlist_purge (errors);
    text = "a: 1\nb: 2\na: 3\n";
    self = cmp_yaml_new ("twice.yaml", text, strlen (text), errors);
    const char *const ab[] = {"a", "b", NULL};
    assert (cmp_yaml_expect_map (self, cmp_yaml_root (self), "file", ab) == -1);
    assert (streq ((char *) zlist_first (errors),
                   "twice.yaml:3: file: key \"a\" appears twice"));
    cmp_yaml_destroy (&self);
    text = "a: [1, 2\nb: 3\n";
    self = cmp_yaml_new ("broken.yaml", text, strlen (text), errors);
    assert (self == NULL);
    assert (strstr ((char *) zlist_last (errors), "broken.yaml:"));
    text = "a: \xff\xfe\n";
    self = cmp_yaml_new ("bytes.yaml", text, strlen (text), errors);
    assert (self == NULL);
    self = cmp_yaml_load ("tests/selftest-rw/no-such-file.yaml", errors);
    assert (self == NULL);
    assert (strstr ((char *) zlist_last (errors), "cannot be read"));
    zlist_destroy (&errors);
    //  @end
    printf ("OK\n");
}
