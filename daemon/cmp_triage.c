/*  =========================================================================
    cmp_triage - classify, assess, prioritise and route by written rules

    The format of the rules file is documented in the header of
    daemon/triage.yaml; this file follows it. A rule is read into an
    s_rule_t: its conditions (cheapest first when tried) and what it sets.
    Every keyword of every rule is found in one pass over each text (an
    Aho-Corasick automaton, compiled into a table); a pattern beside
    keywords runs on the sentences that hold them.
    =========================================================================
*/

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cmp_classes.h"

//  Fields a rule can decide, in the order of the record
typedef enum
{
    F_CATEGORY,
    F_SUBCATEGORY,
    F_SEVERITY,
    F_IMPACT,
    F_PRIORITY,
    F_DEPARTMENT,
    F_SLA,
    F_GROUP,
    F_COUNT
} s_field_id_t;

static const char *s_field_names[F_COUNT] = {
  "category", "subcategory", "severity", "impact",
  "priority", "department",  "sla",      "group"};

//  Texts a condition can look at
typedef enum
{
    T_TEXT, //  description and demands
    T_DESCRIPTION,
    T_DEMANDS,
    T_DEPARTMENT, //  subject.department
    T_LOCATION,
    T_STAFF,
    T_COUNT
} s_target_t;

static const char *s_target_names[T_COUNT] = {
  "text", "description", "demands", "department", "location", "staff"};


//  Longest keyword and rule name, in bytes
#define KEYWORD_MAX 200
#define NAME_MAX_ 64
#define VALUE_MAX 100
//  PCRE2 limits for one match: patterns that backtrack without end fail
#define MATCH_LIMIT 1000000
#define DEPTH_LIMIT 10000

//  A list of keyword ids
typedef struct
{
    uint32_t *ids; //  Keyword ids
    size_t size;   //  How many
} s_ids_t;

//  A text condition: every part that is given must hold
typedef struct
{
    s_ids_t any;         //  One of these keywords must be found
    s_ids_t all;         //  Each of these must be found
    s_ids_t none;        //  None of these may be found
    pcre2_code *pattern; //  A PCRE2 pattern that must match
    uint32_t slot;       //  Its place in a complaint's pattern results
    uint64_t *gates;     //  With pattern and any: any as a set of ids
    uint32_t number;     //  With any: its bit in a complaint's anys
} s_matcher_t;

//  Where a keyword was found: its id and the offset just after it
typedef struct
{
    uint32_t keyword;
    uint32_t end;
} s_place_t;

//  The keywords beside patterns found in one text of a complaint, in the
//  order of their ends: where the patterns run
typedef struct
{
    const char *text;  //  The text, or NULL: free
    s_place_t *places; //  Every keyword found in it
    size_t size;       //  How many
    size_t max;        //  Room for
} s_places_t;

#define PLACED_TEXTS 5 //  Texts of a complaint: T_DESCRIPTION to T_STAFF

//  What one thread needs to run patterns: PCRE2's match data and JIT
//  stack may not be shared between threads
typedef struct
{
    pcre2_match_data *data;          //  Reused for every match
    pcre2_match_context *context;    //  Match limits
    pcre2_jit_stack *stack;          //  Stack for JIT matching
    uint32_t options;                //  PCRE2_NO_JIT when JIT is off
    s_places_t placed[PLACED_TEXTS]; //  Keywords of this complaint's texts
    uint64_t *anys;                  //  The matchers whose any holds, by number
} s_matching_t;

//  Every keyword of every rule is found in one pass over a text by an
//  Aho-Corasick automaton (a trie of the keywords, in lower case, with
//  failure links); a rule then looks its keywords up in the set found.
//  The automaton is compiled into a table with a row per node and a
//  column per class of bytes (each byte that some keyword holds, in
//  either case, has a class of its own; every other byte shares class
//  0), so that a scan takes one load per byte of text. The cost of a
//  triage grows with the length of the text, hardly with the number of
//  rules.
typedef struct
{
    uint32_t first; //  First edge, or NONE
    uint32_t fail;  //  Longest proper suffix that is a node
    uint32_t own;   //  First keyword ending here, or NONE
    uint32_t dict;  //  Next node on the failure chain that has own, or NONE
} s_node_t;

typedef struct
{
    uint8_t byte;  //  Byte of the edge
    uint32_t node; //  Node it leads to
    uint32_t next; //  Next edge of the same node, or NONE
} s_edge_t;

typedef struct
{
    uint32_t keyword; //  Keyword found here
    uint32_t next;    //  Next output of the same node, or NONE
} s_output_t;

#define NONE UINT32_MAX

typedef struct
{
    zhashx_t *index;      //  "w:" or "p:" and the keyword -> id + 1
    zlistx_t *texts;      //  Keywords in lower case, by id
    uint32_t size;        //  Number of keywords
    size_t *lengths;      //  Byte length per keyword
    bool *word_start;     //  Must start a word, per keyword
    s_node_t *nodes;      //  Trie nodes; 0 is the root
    uint32_t node_count;  //  Nodes used
    s_edge_t *edges;      //  Edges
    uint32_t edge_count;  //  Edges used
    s_output_t *outputs;  //  One output per keyword
    uint32_t root[256];   //  The root's edges, direct (NONE: none)
    bool *gating;         //  Per keyword: beside a pattern (any)
    uint8_t classes[256]; //  Class of each byte, its case folded
    uint32_t width;       //  Number of classes: the table's row size
    uint32_t *table;      //  Row offset of the next node, | EMITS
} s_keywords_t;

//  In a table entry: the node reached ends a keyword, or has one on its
//  failure chain
#define EMITS 0x80000000u

//  Cells of the table at most (256 MB): some 80,000 keywords
#define TABLE_CELLS_MAX (64u * 1024 * 1024)

typedef struct
{
    char *name;                  //  Unique name
    size_t line;                 //  Line in the file
    uint32_t channels;           //  Bit per channel; 0 is any
    int anonymous;               //  -1 any, else 0 or 1
    zlist_t *tiers;              //  Tiers, any of them; NULL is any
    int64_t repeats;             //  At least so many repeats; -1 any
    int hours_from;              //  Minute the hours start; -1 any
    int hours_to;                //  Minute they end (may be < from)
    uint8_t days;                //  Bit per ISO weekday; 0 is any
    int working;                 //  -1 any, else 0 or 1
    s_matcher_t *texts[T_COUNT]; //  Text conditions, NULL if none
    char *sets[F_COUNT];         //  Values it sets, NULL if not
    zlist_t *tags;               //  Tags it adds
    bool emergency;              //  Declares an emergency
    int64_t raise;               //  Steps to raise the priority
    bool stop;                   //  Stop after this rule
} s_rule_t;

//  Structure of our class

struct _cmp_triage_t
{
    char *version;            //  Label "#" digest
    cmp_calendar_t *calendar; //  For time conditions (not owned)
    s_rule_t *rules;          //  Rules in file order
    size_t size;              //  Number of rules
    char *defaults[F_COUNT];  //  Values no rule decided
    int table[4][3];          //  Priority index by severity, impact
    bool timed;               //  Some rule has a time condition
    s_matching_t applying;    //  Patterns run by cmp_triage_apply
    s_matching_t scanning;    //  Patterns run by cmp_triage_scan_new
    s_keywords_t keywords;    //  Every keyword, and the automaton
    uint64_t *hits[T_COUNT];  //  Keywords found per text, a bit each
    size_t hit_words;         //  Size of each hits set in words
    uint32_t patterns;        //  Number of patterns
    uint32_t interpreted;     //  Patterns that JIT could not compile
    //  Which text conditions with any a keyword found satisfies: for
    //  keyword id, the matcher numbers from any_first[id] up to
    //  any_first[id + 1] in any_matchers, each with its target
    uint32_t *any_first;
    uint32_t *any_matchers;
    uint8_t *any_targets; //  Target of each matcher with any, by number
    size_t any_words;     //  Size of a complaint's anys in words
    uint64_t serial;      //  Unique among the rules of a process
    uint8_t *results;     //  Pattern results of an unscanned apply
};

//  A complaint's texts as the rules see them, worked out ahead
struct _cmp_triage_scan_t
{
    uint64_t serial;         //  Serial of the rules it was made by
    uint64_t *hits[T_COUNT]; //  Keywords found per text (T_TEXT unused)
    uint8_t *results;        //  Per pattern slot: see s_found
    unsigned valid;          //  Bit per target whose text is valid UTF-8
};

//  Index of name in a space-separated list, or -1
static int
s_index (const char *list, const char *name)
{
    size_t length = strlen (name);
    int index = 0;
    for (const char *scan = list; *scan; index++) {
        const char *end = strchr (scan, ' ');
        size_t size = end ? (size_t) (end - scan) : strlen (scan);
        if (size == length && memcmp (scan, name, length) == 0)
            return index;
        scan += size + (end ? 1 : 0);
    }
    return -1;
}

//  The words of CMP_TRIAGE_PRIORITIES, by index
static const char *const s_priorities[] = {"urgent", "high", "normal", "low"};

//  --------------------------------------------------------------------------
//  Reading the file

static void
s_matcher_destroy (s_matcher_t **self_p)
{
    s_matcher_t *self = *self_p;
    if (!self)
        return;
    free (self->any.ids);
    free (self->all.ids);
    free (self->none.ids);
    free (self->gates);
    pcre2_code_free (self->pattern);
    free (self);
    *self_p = NULL;
}

static pcre2_code *
s_compile (cmp_triage_t *triage,
           cmp_yaml_t *yaml,
           yaml_node_t *node,
           const char *what,
           const char *pattern,
           uint32_t options)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *compiled =
      pcre2_compile ((PCRE2_SPTR) pattern, PCRE2_ZERO_TERMINATED,
                     PCRE2_UTF | options, &code, &offset, NULL);
    if (!compiled) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message (code, message, sizeof (message));
        cmp_yaml_error (yaml, node, "%s: %s at offset %zu of \"%.80s\"", what,
                        (char *) message, (size_t) offset, pattern);
        return NULL;
    }
    //  Without JIT (not every machine or sandbox allows it) matching is
    //  slower, not wrong
    if (pcre2_jit_compile (compiled, PCRE2_JIT_COMPLETE))
        triage->interpreted++;
    return compiled;
}

static bool
s_word_byte (unsigned char byte)
{
    return isalnum (byte) || byte == '_';
}

//  The id of a keyword, added to the keywords if new, or NONE with an
//  error. One that starts with a Latin letter or a digit must start a
//  word; Latin letters are matched in any case.
static uint32_t
s_keyword_id (cmp_triage_t *self,
              cmp_yaml_t *yaml,
              yaml_node_t *node,
              const char *what,
              const char *keyword)
{
    size_t size = strlen (keyword);
    if (size == 0 || cmp_proto_blank (keyword)) {
        cmp_yaml_error (yaml, node, "%s: a keyword must not be empty", what);
        return NONE;
    }
    if (size > KEYWORD_MAX) {
        cmp_yaml_error (yaml, node,
                        "%s: keyword of %zu bytes is over the limit of %d",
                        what, size, KEYWORD_MAX);
        return NONE;
    }
    s_keywords_t *keywords = &self->keywords;
    bool word = s_word_byte ((unsigned char) keyword[0]);
    char *key = zsys_sprintf ("%s%s", word ? "w:" : "p:", keyword);
    for (char *scan = key + 2; *scan; scan++)
        *scan = (char) tolower ((unsigned char) *scan);
    uintptr_t known = (uintptr_t) zhashx_lookup (keywords->index, key);
    if (!known) {
        known = ++keywords->size;
        zhashx_insert (keywords->index, key, (void *) known);
        zlistx_add_end (keywords->texts, key);
    }
    zstr_free (&key);
    return (uint32_t) known - 1;
}

//  A list of keywords as ids, or -1 with errors
static int
s_keyword_list (cmp_triage_t *self,
                cmp_yaml_t *yaml,
                yaml_node_t *node,
                const char *what,
                s_ids_t *ids)
{
    zlist_t *words = cmp_yaml_strings (yaml, node, what);
    if (!words)
        return -1;
    int rc = 0;
    if (zlist_size (words) == 0)
        rc = cmp_yaml_error (yaml, node, "%s: the list of keywords is empty",
                             what);
    ids->ids =
      (uint32_t *) zmalloc ((zlist_size (words) + 1) * sizeof (uint32_t));
    assert (ids->ids);
    for (const char *word = (const char *) zlist_first (words); word;
         word = (const char *) zlist_next (words)) {
        uint32_t id = s_keyword_id (self, yaml, node, what, word);
        if (id == NONE)
            rc = -1;
        else
            ids->ids[ids->size++] = id;
    }
    zlist_destroy (&words);
    return rc;
}

static s_matcher_t *
s_matcher_new (cmp_triage_t *triage,
               cmp_yaml_t *yaml,
               yaml_node_t *node,
               const char *what)
{
    s_matcher_t *self = (s_matcher_t *) zmalloc (sizeof (s_matcher_t));
    assert (self);
    char path[160];
    int rc = 0;
    if (node && node->type != YAML_MAPPING_NODE)
        //  A plain list: any of these keywords
        rc = s_keyword_list (triage, yaml, node, what, &self->any);
    else {
        static const char *const keys[] = {"any", "all", "none", "pattern",
                                           NULL};
        if (cmp_yaml_expect_map (yaml, node, what, keys)
            || cmp_yaml_size (node) == 0) {
            if (cmp_yaml_size (node) == 0)
                cmp_yaml_error (yaml, node,
                                "%s: give any, all, none or pattern", what);
            s_matcher_destroy (&self);
            return NULL;
        }
        static const char *const lists[] = {"any", "all", "none"};
        s_ids_t *targets[] = {&self->any, &self->all, &self->none};
        for (int list = 0; list < 3; list++) {
            yaml_node_t *value = cmp_yaml_get (yaml, node, lists[list]);
            snprintf (path, sizeof (path), "%.100s.%s", what, lists[list]);
            if (value
                && s_keyword_list (triage, yaml, value, path, targets[list]))
                rc = -1;
        }
        yaml_node_t *value = cmp_yaml_get (yaml, node, "pattern");
        if (value) {
            snprintf (path, sizeof (path), "%.100s.pattern", what);
            const char *pattern = cmp_yaml_string (yaml, value, path);
            if (!pattern
                || !(self->pattern =
                       s_compile (triage, yaml, value, path, pattern, 0)))
                rc = -1;
            else
                self->slot = triage->patterns++;
        }
    }
    if (rc)
        s_matcher_destroy (&self);
    return self;
}

//  The edge of node for byte, or NONE
static inline uint32_t
s_step (s_keywords_t *self, uint32_t node, uint8_t byte)
{
    if (node == 0)
        return self->root[byte];
    for (uint32_t edge = self->nodes[node].first; edge != NONE;
         edge = self->edges[edge].next)
        if (self->edges[edge].byte == byte)
            return self->edges[edge].node;
    return NONE;
}

//  A table entry that leads to node next
static uint32_t
s_entry (s_keywords_t *self, uint32_t next)
{
    bool emits =
      self->nodes[next].own != NONE || self->nodes[next].dict != NONE;
    return next * self->width | (emits ? EMITS : 0);
}

//  Build the automaton of the keywords collected. Returns 0, or -1 if its
//  table would have more than TABLE_CELLS_MAX cells.
static int
s_keywords_build (s_keywords_t *self)
{
    size_t bytes = 1;
    for (const char *key = (const char *) zlistx_first (self->texts); key;
         key = (const char *) zlistx_next (self->texts))
        bytes += strlen (key) - 2;
    self->nodes = (s_node_t *) zmalloc (bytes * sizeof (s_node_t));
    self->edges = (s_edge_t *) zmalloc (bytes * sizeof (s_edge_t));
    self->outputs =
      (s_output_t *) zmalloc ((self->size + 1) * sizeof (s_output_t));
    self->lengths = (size_t *) zmalloc ((self->size + 1) * sizeof (size_t));
    self->word_start = (bool *) zmalloc ((self->size + 1) * sizeof (bool));
    assert (self->nodes && self->edges && self->outputs && self->lengths
            && self->word_start);
    for (int byte = 0; byte < 256; byte++)
        self->root[byte] = NONE;
    self->nodes[0] = (s_node_t){NONE, 0, NONE, NONE};
    self->node_count = 1;
    uint32_t id = 0;
    for (const char *key = (const char *) zlistx_first (self->texts); key;
         key = (const char *) zlistx_next (self->texts), id++) {
        self->word_start[id] = key[0] == 'w';
        self->lengths[id] = strlen (key + 2);
        uint32_t node = 0;
        for (const char *scan = key + 2; *scan; scan++) {
            uint8_t byte = (uint8_t) *scan;
            uint32_t next = s_step (self, node, byte);
            if (next == NONE) {
                next = self->node_count++;
                self->nodes[next] = (s_node_t){NONE, 0, NONE, NONE};
                if (node == 0)
                    self->root[byte] = next;
                else {
                    self->edges[self->edge_count] =
                      (s_edge_t){byte, next, self->nodes[node].first};
                    self->nodes[node].first = self->edge_count++;
                }
            }
            node = next;
        }
        self->outputs[id] = (s_output_t){id, self->nodes[node].own};
        self->nodes[node].own = id;
    }
    //  Failure links, breadth first
    uint32_t *queue =
      (uint32_t *) zmalloc (self->node_count * sizeof (uint32_t));
    assert (queue);
    size_t head = 0, tail = 0;
    for (int byte = 0; byte < 256; byte++)
        if (self->root[byte] != NONE)
            queue[tail++] = self->root[byte];
    while (head < tail) {
        uint32_t node = queue[head++];
        for (uint32_t edge = self->nodes[node].first; edge != NONE;
             edge = self->edges[edge].next) {
            uint32_t child = self->edges[edge].node;
            uint8_t byte = self->edges[edge].byte;
            queue[tail++] = child;
            uint32_t fail = self->nodes[node].fail;
            uint32_t next;
            while ((next = s_step (self, fail, byte)) == NONE && fail != 0)
                fail = self->nodes[fail].fail;
            fail = next != NONE && next != child ? next : 0;
            self->nodes[child].fail = fail;
            self->nodes[child].dict =
              self->nodes[fail].own != NONE ? fail : self->nodes[fail].dict;
        }
    }
    //  Classes of bytes: one per byte on some edge, the same for both
    //  cases of a letter, 0 for the rest
    memset (self->classes, 0, sizeof (self->classes));
    self->width = 1;
    for (uint32_t edge = 0; edge < self->edge_count; edge++)
        if (!self->classes[self->edges[edge].byte])
            self->classes[self->edges[edge].byte] = (uint8_t) self->width++;
    for (int byte = 0; byte < 256; byte++)
        if (self->root[byte] != NONE && !self->classes[byte])
            self->classes[byte] = (uint8_t) self->width++;
    assert (self->width <= 256);
    for (int byte = 0; byte < 256; byte++)
        self->classes[byte] = self->classes[(uint8_t) tolower (byte)];
    //  The table, breadth first: a node goes where its failure link
    //  goes (a row already filled) but for its own edges
    size_t cells = (size_t) self->node_count * self->width;
    if (cells > TABLE_CELLS_MAX) {
        free (queue);
        return -1;
    }
    self->table = (uint32_t *) zmalloc (cells * sizeof (uint32_t));
    assert (self->table);
    for (int byte = 0; byte < 256; byte++)
        if (self->root[byte] != NONE)
            self->table[self->classes[byte]] = s_entry (self, self->root[byte]);
    for (size_t index = 0; index < tail; index++) {
        uint32_t node = queue[index];
        uint32_t *row = self->table + (size_t) node * self->width;
        memcpy (row,
                self->table + (size_t) self->nodes[node].fail * self->width,
                self->width * sizeof (uint32_t));
        for (uint32_t edge = self->nodes[node].first; edge != NONE;
             edge = self->edges[edge].next)
            row[self->classes[self->edges[edge].byte]] =
              s_entry (self, self->edges[edge].node);
    }
    free (queue);
    return 0;
}

static void
s_keywords_destroy (s_keywords_t *self)
{
    zhashx_destroy (&self->index);
    zlistx_destroy (&self->texts);
    free (self->nodes);
    free (self->edges);
    free (self->outputs);
    free (self->lengths);
    free (self->word_start);
    free (self->table);
    free (self->gating);
}

//  Add a place to placed, growing it as needed
static void
s_place (s_places_t *placed, uint32_t keyword, size_t end)
{
    if (placed->size == placed->max) {
        placed->max = placed->max ? placed->max * 2 : 64;
        placed->places = (s_place_t *) realloc (
          placed->places, placed->max * sizeof (s_place_t));
        assert (placed->places);
    }
    placed->places[placed->size++] = (s_place_t){keyword, (uint32_t) end};
}

//  Mark in hits (unless NULL) every keyword text holds, and add to
//  placed (unless NULL) each place where one that is beside a pattern
//  ends, in one pass
static void
s_keywords_scan (s_keywords_t *self,
                 const char *text,
                 uint64_t *hits,
                 s_places_t *placed)
{
    const uint8_t *bytes = (const uint8_t *) text;
    const uint32_t *table = self->table;
    uint32_t row = 0;
    for (size_t index = 0; bytes[index]; index++) {
        uint32_t entry = table[row + self->classes[bytes[index]]];
        row = entry & ~EMITS;
        if (!(entry & EMITS))
            continue;
        uint32_t state = row / self->width;
        uint32_t node =
          self->nodes[state].own != NONE ? state : self->nodes[state].dict;
        for (; node != NONE; node = self->nodes[node].dict)
            for (uint32_t output = self->nodes[node].own; output != NONE;
                 output = self->outputs[output].next) {
                size_t start = index + 1 - self->lengths[output];
                if (self->word_start[output] && start > 0
                    && s_word_byte (bytes[start - 1]))
                    continue;
                if (hits)
                    hits[output / 64] |= 1ULL << (output % 64);
                if (placed && self->gating[output])
                    s_place (placed, output, index + 1);
            }
    }
}

static void
s_rule_destroy (s_rule_t *rule)
{
    free (rule->name);
    zlist_destroy (&rule->tiers);
    zlist_destroy (&rule->tags);
    for (int target = 0; target < T_COUNT; target++)
        s_matcher_destroy (&rule->texts[target]);
    for (int field = 0; field < F_COUNT; field++)
        free (rule->sets[field]);
}

//  "HH:MM" to minutes since midnight (24:00 allowed), or -1
static int
s_minutes (const char *text, size_t size)
{
    if (size != 5 || !isdigit ((unsigned char) text[0])
        || !isdigit ((unsigned char) text[1]) || text[2] != ':'
        || !isdigit ((unsigned char) text[3])
        || !isdigit ((unsigned char) text[4]))
        return -1;
    int hours = (text[0] - '0') * 10 + text[1] - '0';
    int minutes = (text[3] - '0') * 10 + text[4] - '0';
    if (minutes > 59 || hours > 24 || (hours == 24 && minutes))
        return -1;
    return hours * 60 + minutes;
}

//  A value a rule sets: short text without control characters, and for
//  severity, impact and priority one of their names
static char *
s_value (cmp_yaml_t *yaml, yaml_node_t *node, const char *what, int field)
{
    const char *value = cmp_yaml_string (yaml, node, what);
    if (!value)
        return NULL;
    const char *names = field == F_SEVERITY   ? CMP_TRIAGE_SEVERITIES
                        : field == F_IMPACT   ? CMP_TRIAGE_IMPACTS
                        : field == F_PRIORITY ? CMP_TRIAGE_PRIORITIES
                                              : NULL;
    if (names && s_index (names, value) < 0) {
        cmp_yaml_error (yaml, node, "%s: \"%.64s\" is not one of %s", what,
                        value, names);
        return NULL;
    }
    if (!*value || cmp_proto_blank (value) || strlen (value) > VALUE_MAX
        || cmp_proto_control_at (value, false) >= 0) {
        cmp_yaml_error (yaml, node,
                        "%s: \"%.64s\" must be 1 to %d bytes of text without "
                        "control characters",
                        what, value, VALUE_MAX);
        return NULL;
    }
    return strdup (value);
}

static int
s_rule_conditions (cmp_triage_t *self,
                   cmp_yaml_t *yaml,
                   yaml_node_t *when,
                   s_rule_t *rule,
                   const char *what)
{
    static const char *const keys[] = {
      "channel",  "text",  "description", "demands", "department",
      "location", "staff", "anonymous",   "tier",    "repeats",
      "hours",    "days",  "working",     NULL};
    char path[160];
    snprintf (path, sizeof (path), "%.100s: when", what);
    if (cmp_yaml_expect_map (yaml, when, path, keys))
        return -1;
    int rc = 0;
    yaml_node_t *value;
    if ((value = cmp_yaml_get (yaml, when, "channel"))) {
        snprintf (path, sizeof (path), "%.100s: when.channel", what);
        zlist_t *names = cmp_yaml_strings (yaml, value, path);
        for (const char *name = names ? (const char *) zlist_first (names)
                                      : NULL;
             name; name = (const char *) zlist_next (names)) {
            int index = s_index ("phone email web counter letter social", name);
            if (index < 0)
                rc = cmp_yaml_error (yaml, value,
                                     "%s: \"%.64s\" is not one of phone, "
                                     "email, web, counter, letter, social",
                                     path, name);
            else
                rule->channels |= 1u << index;
        }
        if (!names)
            rc = -1;
        zlist_destroy (&names);
    }
    for (int target = 0; target < T_COUNT; target++)
        if ((value = cmp_yaml_get (yaml, when, s_target_names[target]))) {
            snprintf (path, sizeof (path), "%.100s: when.%s", what,
                      s_target_names[target]);
            rule->texts[target] = s_matcher_new (self, yaml, value, path);
            if (!rule->texts[target])
                rc = -1;
        }
    rule->anonymous = -1;
    if ((value = cmp_yaml_get (yaml, when, "anonymous"))) {
        bool flag;
        snprintf (path, sizeof (path), "%.100s: when.anonymous", what);
        if (cmp_yaml_bool (yaml, value, path, &flag))
            rc = -1;
        else
            rule->anonymous = flag;
    }
    if ((value = cmp_yaml_get (yaml, when, "tier"))) {
        snprintf (path, sizeof (path), "%.100s: when.tier", what);
        if (!(rule->tiers = cmp_yaml_strings (yaml, value, path)))
            rc = -1;
    }
    rule->repeats = -1;
    if ((value = cmp_yaml_get (yaml, when, "repeats"))) {
        snprintf (path, sizeof (path), "%.100s: when.repeats", what);
        if (cmp_yaml_int (yaml, value, path, 1, 1000000, &rule->repeats))
            rc = -1;
    }
    rule->hours_from = -1;
    if ((value = cmp_yaml_get (yaml, when, "hours"))) {
        snprintf (path, sizeof (path), "%.100s: when.hours", what);
        const char *text = cmp_yaml_string (yaml, value, path);
        const char *dash = text ? strchr (text, '-') : NULL;
        if (text) {
            rule->hours_from = dash ? s_minutes (text, dash - text) : -1;
            rule->hours_to =
              dash ? s_minutes (dash + 1, strlen (dash + 1)) : -1;
            if (rule->hours_from < 0 || rule->hours_to < 0
                || rule->hours_from == rule->hours_to) {
                rule->hours_from = -1;
                rc = cmp_yaml_error (yaml, value,
                                     "%s: \"%.64s\" is not HH:MM-HH:MM (two "
                                     "different times)",
                                     path, text);
            }
        } else
            rc = -1;
        self->timed = true;
    }
    if ((value = cmp_yaml_get (yaml, when, "days"))) {
        snprintf (path, sizeof (path), "%.100s: when.days", what);
        zlist_t *names = cmp_yaml_strings (yaml, value, path);
        for (const char *name = names ? (const char *) zlist_first (names)
                                      : NULL;
             name; name = (const char *) zlist_next (names)) {
            int day = s_index ("mon tue wed thu fri sat sun", name);
            if (day < 0)
                rc = cmp_yaml_error (yaml, value,
                                     "%s: \"%.64s\" is not one of mon, tue, "
                                     "wed, thu, fri, sat, sun",
                                     path, name);
            else
                rule->days |= 1u << (day + 1);
        }
        if (!names)
            rc = -1;
        zlist_destroy (&names);
        self->timed = true;
    }
    rule->working = -1;
    if ((value = cmp_yaml_get (yaml, when, "working"))) {
        bool flag;
        snprintf (path, sizeof (path), "%.100s: when.working", what);
        if (cmp_yaml_bool (yaml, value, path, &flag))
            rc = -1;
        else
            rule->working = flag;
        self->timed = true;
    }
    return rc;
}

static int
s_rule_actions (cmp_yaml_t *yaml,
                yaml_node_t *set,
                s_rule_t *rule,
                const char *what)
{
    static const char *const keys[] = {
      "category",       "subcategory", "severity", "impact", "priority",
      "department",     "sla",         "group",    "tags",   "emergency",
      "raise_priority", NULL};
    char path[160];
    snprintf (path, sizeof (path), "%.100s: set", what);
    if (cmp_yaml_expect_map (yaml, set, path, keys))
        return -1;
    int rc = 0;
    yaml_node_t *value;
    for (int field = 0; field < F_COUNT; field++)
        if ((value = cmp_yaml_get (yaml, set, s_field_names[field]))) {
            snprintf (path, sizeof (path), "%.100s: set.%s", what,
                      s_field_names[field]);
            if (!(rule->sets[field] = s_value (yaml, value, path, field)))
                rc = -1;
        }
    if ((value = cmp_yaml_get (yaml, set, "tags"))) {
        snprintf (path, sizeof (path), "%.100s: set.tags", what);
        rule->tags = cmp_yaml_strings (yaml, value, path);
        for (const char *tag =
               rule->tags ? (const char *) zlist_first (rule->tags) : NULL;
             tag; tag = (const char *) zlist_next (rule->tags))
            if (!*tag || strlen (tag) > 64
                || cmp_proto_control_at (tag, false) >= 0)
                rc = cmp_yaml_error (yaml, value,
                                     "%s: \"%.64s\" must be 1 to 64 bytes "
                                     "without control characters",
                                     path, tag);
        if (!rule->tags)
            rc = -1;
    }
    if ((value = cmp_yaml_get (yaml, set, "emergency"))) {
        snprintf (path, sizeof (path), "%.100s: set.emergency", what);
        if (cmp_yaml_bool (yaml, value, path, &rule->emergency))
            rc = -1;
    }
    if ((value = cmp_yaml_get (yaml, set, "raise_priority"))) {
        snprintf (path, sizeof (path), "%.100s: set.raise_priority", what);
        if (cmp_yaml_int (yaml, value, path, 1, 3, &rule->raise))
            rc = -1;
    }
    return rc;
}

static int
s_rule_new (cmp_triage_t *self,
            cmp_yaml_t *yaml,
            yaml_node_t *node,
            size_t index,
            s_rule_t *rule)
{
    static const char *const keys[] = {"name", "when", "set", "stop", NULL};
    char what[160];
    snprintf (what, sizeof (what), "rules[%zu]", index);
    rule->line = cmp_yaml_line (node);
    if (cmp_yaml_expect_map (yaml, node, what, keys))
        return -1;
    yaml_node_t *value = cmp_yaml_get (yaml, node, "name");
    const char *name = value ? cmp_yaml_string (yaml, value, "name") : NULL;
    if (!value)
        return cmp_yaml_error (yaml, node, "%s: needs a name", what);
    if (!name)
        return -1;
    if (!*name || strlen (name) > NAME_MAX_
        || cmp_proto_control_at (name, false) >= 0 || strchr (name, ','))
        return cmp_yaml_error (yaml, value,
                               "%s: name \"%.64s\" must be 1 to %d bytes, "
                               "without commas or control characters",
                               what, name, NAME_MAX_);
    for (size_t before = 0; before < index; before++)
        if (self->rules[before].name && streq (self->rules[before].name, name))
            return cmp_yaml_error (yaml, value,
                                   "rule \"%s\" is already the name of the "
                                   "rule on line %zu",
                                   name, self->rules[before].line);
    rule->name = strdup (name);
    snprintf (what, sizeof (what), "rule \"%s\"", name);
    int rc = 0;
    rule->anonymous = rule->working = -1;
    rule->repeats = rule->hours_from = -1;
    if ((value = cmp_yaml_get (yaml, node, "when"))
        && s_rule_conditions (self, yaml, value, rule, what))
        rc = -1;
    if (!(value = cmp_yaml_get (yaml, node, "set")))
        rc = cmp_yaml_error (yaml, node, "%s: needs a set of actions", what);
    else if (s_rule_actions (yaml, value, rule, what))
        rc = -1;
    if ((value = cmp_yaml_get (yaml, node, "stop"))) {
        char path[180];
        snprintf (path, sizeof (path), "%.100s: stop", what);
        if (cmp_yaml_bool (yaml, value, path, &rule->stop))
            rc = -1;
    }
    return rc;
}

static int
s_read_table (cmp_triage_t *self, cmp_yaml_t *yaml, yaml_node_t *node)
{
    static const char *const severities[] = {"critical", "major", "ordinary",
                                             "minor", NULL};
    static const char *const impacts[] = {"one", "several", "public", NULL};
    if (!node)
        return cmp_yaml_error (yaml, NULL,
                               "needs a priority table (priority: severity: "
                               "impact: priority)");
    if (cmp_yaml_expect_map (yaml, node, "priority", severities))
        return -1;
    int rc = 0;
    for (int severity = 0; severities[severity]; severity++) {
        yaml_node_t *row = cmp_yaml_get (yaml, node, severities[severity]);
        char what[64];
        snprintf (what, sizeof (what), "priority.%s", severities[severity]);
        if (!row) {
            rc = cmp_yaml_error (yaml, node, "%s is missing", what);
            continue;
        }
        if (cmp_yaml_expect_map (yaml, row, what, impacts)) {
            rc = -1;
            continue;
        }
        for (int impact = 0; impacts[impact]; impact++) {
            char path[96];
            snprintf (path, sizeof (path), "%.100s.%s", what, impacts[impact]);
            yaml_node_t *cell = cmp_yaml_get (yaml, row, impacts[impact]);
            const char *value =
              cell ? cmp_yaml_string (yaml, cell, path) : NULL;
            int priority = value ? s_index (CMP_TRIAGE_PRIORITIES, value) : -1;
            if (!cell)
                rc = cmp_yaml_error (yaml, row, "%s is missing", path);
            else if (value && priority < 0)
                rc =
                  cmp_yaml_error (yaml, cell, "%s: \"%.64s\" is not one of %s",
                                  path, value, CMP_TRIAGE_PRIORITIES);
            else if (!value)
                rc = -1;
            self->table[severity][impact] = priority;
        }
    }
    return rc;
}

static int
s_read_defaults (cmp_triage_t *self, cmp_yaml_t *yaml, yaml_node_t *node)
{
    static const char *const keys[] = {"category", "subcategory", "severity",
                                       "impact",   "department",  "sla",
                                       "group",    NULL};
    int rc = 0;
    if (node) {
        if (cmp_yaml_expect_map (yaml, node, "defaults", keys))
            return -1;
        for (int field = 0; field < F_COUNT; field++) {
            yaml_node_t *value =
              cmp_yaml_get (yaml, node, s_field_names[field]);
            char path[64];
            snprintf (path, sizeof (path), "defaults.%s", s_field_names[field]);
            if (value
                && !(self->defaults[field] =
                       s_value (yaml, value, path, field)))
                rc = -1;
        }
    }
    //  The priority table needs a severity and an impact
    if (!self->defaults[F_SEVERITY])
        self->defaults[F_SEVERITY] = strdup ("ordinary");
    if (!self->defaults[F_IMPACT])
        self->defaults[F_IMPACT] = strdup ("one");
    return rc;
}

static void
s_matching_init (s_matching_t *self, size_t any_words)
{
    self->anys = (uint64_t *) zmalloc (any_words * sizeof (uint64_t));
    assert (self->anys);
    self->data = pcre2_match_data_create (1, NULL);
    self->context = pcre2_match_context_create (NULL);
    self->stack = pcre2_jit_stack_create (32 * 1024, 1024 * 1024, NULL);
    assert (self->data && self->context && self->stack);
    pcre2_set_match_limit (self->context, MATCH_LIMIT);
    pcre2_set_depth_limit (self->context, DEPTH_LIMIT);
    pcre2_jit_stack_assign (self->context, NULL, self->stack);
}

//  Forget the texts placed: a new complaint
static void
s_placed_clear (s_matching_t *self)
{
    for (int index = 0; index < PLACED_TEXTS; index++)
        self->placed[index].text = NULL;
}

static void
s_matching_fini (s_matching_t *self)
{
    for (int index = 0; index < PLACED_TEXTS; index++)
        free (self->placed[index].places);
    free (self->anys);
    pcre2_match_data_free (self->data);
    pcre2_match_context_free (self->context);
    pcre2_jit_stack_free (self->stack);
}

//  Number the text conditions that have keywords (any), and index them
//  by keyword
static void
s_anys_build (cmp_triage_t *self)
{
    uint32_t keywords = self->keywords.size;
    self->any_first = (uint32_t *) zmalloc ((keywords + 2) * sizeof (uint32_t));
    assert (self->any_first);
    uint32_t number = 0;
    for (size_t index = 0; index < self->size; index++)
        for (int target = 0; target < T_COUNT; target++) {
            s_matcher_t *matcher = self->rules[index].texts[target];
            if (!matcher || !matcher->any.size)
                continue;
            matcher->number = number++;
            for (size_t id = 0; id < matcher->any.size; id++)
                self->any_first[matcher->any.ids[id] + 2]++;
        }
    self->any_words = number / 64 + 1;
    self->any_targets = (uint8_t *) zmalloc (number + 1);
    //  Counts to starts, then fill: any_first[id + 1] runs as a cursor
    for (uint32_t id = 2; id < keywords + 2; id++)
        self->any_first[id] += self->any_first[id - 1];
    self->any_matchers = (uint32_t *) zmalloc (
      (self->any_first[keywords + 1] + 1) * sizeof (uint32_t));
    assert (self->any_targets && self->any_matchers);
    for (size_t index = 0; index < self->size; index++)
        for (int target = 0; target < T_COUNT; target++) {
            s_matcher_t *matcher = self->rules[index].texts[target];
            if (!matcher || !matcher->any.size)
                continue;
            self->any_targets[matcher->number] = (uint8_t) target;
            for (size_t id = 0; id < matcher->any.size; id++)
                self
                  ->any_matchers[self->any_first[matcher->any.ids[id] + 1]++] =
                  matcher->number;
        }
}

//  Label "#" the first 12 hex digits of the text's SHA-1
static char *
s_version (const char *label, const char *text, size_t size)
{
    zdigest_t *digest = zdigest_new ();
    assert (digest);
    zdigest_update (digest, (const byte *) text, size);
    char hex[13];
    snprintf (hex, sizeof (hex), "%s", zdigest_string (digest));
    for (char *scan = hex; *scan; scan++)
        *scan = (char) tolower ((unsigned char) *scan);
    zdigest_destroy (&digest);
    return zsys_sprintf ("%s#%s", label ? label : "rules", hex);
}

cmp_triage_t *
cmp_triage_new (const char *name,
                const char *text,
                size_t size,
                zhashx_t *calendars,
                zlist_t *errors)
{
    assert (name);
    assert (errors);
    cmp_yaml_t *yaml = cmp_yaml_new (name, text, size, errors);
    if (!yaml)
        return NULL;
    cmp_triage_t *self = (cmp_triage_t *) zmalloc (sizeof (cmp_triage_t));
    assert (self);
    self->keywords.index = zhashx_new ();
    self->keywords.texts = zlistx_new ();
    assert (self->keywords.index && self->keywords.texts);
    zlistx_set_destructor (self->keywords.texts, (czmq_destructor *) zstr_free);
    zlistx_set_duplicator (self->keywords.texts, (czmq_duplicator *) strdup);
    static const char *const keys[] = {"version",  "calendar", "priority",
                                       "defaults", "rules",    NULL};
    yaml_node_t *root = cmp_yaml_root (yaml);
    if (cmp_yaml_expect_map (yaml, root, "the rules file", keys))
        goto done;

    yaml_node_t *value = cmp_yaml_get (yaml, root, "version");
    const char *label = value ? cmp_yaml_string (yaml, value, "version") : NULL;
    if (label
        && (!*label || strlen (label) > 64
            || cmp_proto_control_at (label, false) >= 0 || strchr (label, '#')))
        cmp_yaml_error (yaml, value,
                        "version: \"%.64s\" must be 1 to 64 bytes without # "
                        "or control characters",
                        label);
    self->version = s_version (label, text, size);
    s_read_table (self, yaml, cmp_yaml_get (yaml, root, "priority"));
    s_read_defaults (self, yaml, cmp_yaml_get (yaml, root, "defaults"));

    yaml_node_t *rules = cmp_yaml_get (yaml, root, "rules");
    if (!rules || rules->type != YAML_SEQUENCE_NODE) {
        cmp_yaml_error (yaml, rules ? rules : root,
                        "rules must be a list of rules (rules: - name: ...)");
        goto done;
    }
    self->size = cmp_yaml_size (rules);
    self->rules = (s_rule_t *) zmalloc ((self->size + 1) * sizeof (s_rule_t));
    assert (self->rules);
    for (size_t index = 0; index < self->size; index++)
        s_rule_new (self, yaml, cmp_yaml_item (yaml, rules, index), index,
                    &self->rules[index]);

    const char *calendar = "default";
    if ((value = cmp_yaml_get (yaml, root, "calendar")))
        calendar = cmp_yaml_string (yaml, value, "calendar");
    if (calendar) {
        self->calendar =
          calendars ? (cmp_calendar_t *) zhashx_lookup (calendars, calendar)
                    : NULL;
        if (!self->calendar && (value || self->timed))
            cmp_yaml_error (yaml, value ? value : root,
                            "calendar \"%.64s\" is not defined in the "
                            "calendars file",
                            calendar);
    }
done:
    if (cmp_yaml_errors (yaml))
        cmp_triage_destroy (&self);
    cmp_yaml_destroy (&yaml);
    if (self && s_keywords_build (&self->keywords)) {
        //  errors copies (zlist_autofree)
        char *error = zsys_sprintf (
          "%s: the keywords make an automaton of %u states and %u byte "
          "classes, over the limit of %u million cells: use fewer keywords",
          name, self->keywords.node_count, self->keywords.width,
          TABLE_CELLS_MAX / (1024 * 1024));
        zlist_append (errors, error);
        zstr_free (&error);
        cmp_triage_destroy (&self);
    }
    if (self) {
        self->hit_words = self->keywords.size / 64 + 1;
        for (int target = 0; target < T_COUNT; target++) {
            self->hits[target] =
              (uint64_t *) zmalloc (self->hit_words * sizeof (uint64_t));
            assert (self->hits[target]);
        }
        self->results = (uint8_t *) zmalloc (self->patterns + 1);
        self->keywords.gating =
          (bool *) zmalloc ((self->keywords.size + 1) * sizeof (bool));
        assert (self->results && self->keywords.gating);
        for (size_t index = 0; index < self->size; index++)
            for (int target = 0; target < T_COUNT; target++) {
                s_matcher_t *matcher = self->rules[index].texts[target];
                if (!matcher || !matcher->pattern || !matcher->any.size)
                    continue;
                matcher->gates =
                  (uint64_t *) zmalloc (self->hit_words * sizeof (uint64_t));
                assert (matcher->gates);
                for (size_t id = 0; id < matcher->any.size; id++) {
                    matcher->gates[matcher->any.ids[id] / 64] |=
                      1ULL << (matcher->any.ids[id] % 64);
                    self->keywords.gating[matcher->any.ids[id]] = true;
                }
            }
        s_anys_build (self);
        s_matching_init (&self->applying, self->any_words);
        s_matching_init (&self->scanning, self->any_words);
        //  A scan made by other rules, even at the same address, is not
        //  taken for one of these
        static uint64_t serials = 0;
        self->serial = __atomic_add_fetch (&serials, 1, __ATOMIC_RELAXED);
    }
    return self;
}

cmp_triage_t *
cmp_triage_load (const char *filename, zhashx_t *calendars, zlist_t *errors)
{
    zchunk_t *chunk = cmp_yaml_read (filename, errors);
    if (!chunk)
        return NULL;
    cmp_triage_t *self =
      cmp_triage_new (filename, (const char *) zchunk_data (chunk),
                      zchunk_size (chunk), calendars, errors);
    zchunk_destroy (&chunk);
    return self;
}

void
cmp_triage_destroy (cmp_triage_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        cmp_triage_t *self = *self_p;
        for (size_t index = 0; self->rules && index < self->size; index++)
            s_rule_destroy (&self->rules[index]);
        free (self->rules);
        for (int field = 0; field < F_COUNT; field++)
            free (self->defaults[field]);
        s_matching_fini (&self->applying);
        s_matching_fini (&self->scanning);
        free (self->results);
        s_keywords_destroy (&self->keywords);
        for (int target = 0; target < T_COUNT; target++)
            free (self->hits[target]);
        free (self->any_first);
        free (self->any_matchers);
        free (self->any_targets);
        free (self->version);
        free (self);
        *self_p = NULL;
    }
}

const char *
cmp_triage_version (cmp_triage_t *self)
{
    assert (self);
    return self->version;
}

size_t
cmp_triage_size (cmp_triage_t *self)
{
    assert (self);
    return self->size;
}

void
cmp_triage_set_jit (cmp_triage_t *self, bool jit)
{
    assert (self);
    self->applying.options = jit ? 0 : PCRE2_NO_JIT;
    self->scanning.options = self->applying.options;
}

bool
cmp_triage_jit (cmp_triage_t *self)
{
    assert (self);
    return self->applying.options == 0 && self->interpreted == 0;
}

const char *
cmp_triage_priority (cmp_triage_t *self,
                     const char *severity,
                     const char *impact)
{
    assert (self);
    int row = severity ? s_index (CMP_TRIAGE_SEVERITIES, severity) : -1;
    int column = impact ? s_index (CMP_TRIAGE_IMPACTS, impact) : -1;
    if (row < 0 || column < 0)
        return NULL;
    return s_priorities[self->table[row][column]];
}

//  --------------------------------------------------------------------------
//  Triage of one complaint

//  What the rules look at, worked out once per complaint
typedef struct
{
    const char *texts[T_COUNT][2]; //  Up to two texts per target
    uint32_t channel;              //  Channel bit
    bool anonymous;                //  Complainant is anonymous
    const char *tier;              //  Complainant's tier, or NULL
    uint64_t repeats;              //  Repeat count
    int64_t at;                    //  When complained
    bool local_known;              //  local and working are worked out
    cmp_calendar_local_t local;    //  Local time of at
    bool working;                  //  at is in working time
    uint64_t *hits[T_COUNT][2];    //  Keywords found, per text
    uint8_t *results;              //  Pattern results, per slot
    s_matching_t *matching;        //  This thread's buffers: places, anys
    s_keywords_t *keywords;        //  The rules' keywords
    uint64_t *anys;                //  Matchers whose any holds, a bit each
} s_facts_t;

//  Valid UTF-8 text, or NULL (never matched)
static const char *
s_checked (const char *text)
{
    return text && cmp_proto_utf8_error (text, strlen (text)) < 0 ? text : NULL;
}

//  Length of the sentence-ending mark that ends just before offset (。！？
//  ! ?, a full stop that a space or the end follows, the line break that
//  ends a blank line), or 0
static size_t
s_mark_before (const uint8_t *text, size_t offset)
{
    if (offset == 0)
        return 0;
    uint8_t last = text[offset - 1];
    if (last == '!' || last == '?')
        return 1;
    if (last == '.')
        return text[offset] == 0 || isspace (text[offset]) ? 1 : 0;
    if (last == '\n') {
        size_t before = offset - 1;
        while (before > 0
               && (text[before - 1] == ' ' || text[before - 1] == '\t'
                   || text[before - 1] == '\r'))
            before--;
        return before > 0 && text[before - 1] == '\n' ? 1 : 0;
    }
    //  。 is E3 80 82, ！ EF BC 81, ？ EF BC 9F
    if (offset >= 3
        && ((text[offset - 3] == 0xE3 && text[offset - 2] == 0x80
             && last == 0x82)
            || (text[offset - 3] == 0xEF && text[offset - 2] == 0xBC
                && (last == 0x81 || last == 0x9F))))
        return 3;
    return 0;
}

//  True if a mark of s_mark_before starts at offset (for a blank line,
//  the line break that begins it)
static bool
s_mark_at (const uint8_t *text, size_t offset)
{
    uint8_t first = text[offset];
    if (first == '!' || first == '?')
        return true;
    if (first == '\n') {
        size_t next = offset + 1;
        while (text[next] == ' ' || text[next] == '\t' || text[next] == '\r')
            next++;
        return text[next] == '\n';
    }
    if (first == '.')
        return text[offset + 1] == 0 || isspace (text[offset + 1]);
    return (first == 0xE3 && text[offset + 1] == 0x80
            && text[offset + 2] == 0x82)
           || (first == 0xEF && text[offset + 1] == 0xBC
               && (text[offset + 2] == 0x81 || text[offset + 2] == 0x9F));
}

//  True if a sentence ends just before offset: after a run of marks
//  (。！？!? and full stops that a space follows, "！！！" ends one
//  sentence), or after a blank line. A single line break ends none: mail
//  and letters wrap their lines inside sentences.
static bool
s_sentence_ends (const uint8_t *text, size_t offset)
{
    return s_mark_before (text, offset) > 0
           && (text[offset] == 0 || !s_mark_at (text, offset));
}

//  Length of the space at offset that a sentence does not start with: an
//  ASCII space or line break, or U+3000 (E3 80 80), or 0
static size_t
s_space_at (const uint8_t *text, size_t offset)
{
    if (isspace (text[offset]))
        return 1;
    return text[offset] == 0xE3 && text[offset + 1] == 0x80
               && text[offset + 2] == 0x80
             ? 3
             : 0;
}

//  Where the keywords of text are to be kept: its slot in matching,
//  else a free one, emptied
static s_places_t *
s_placed_slot (s_matching_t *matching, const char *text, bool *known)
{
    s_places_t *free_one = NULL;
    for (int index = 0; index < PLACED_TEXTS; index++) {
        s_places_t *placed = &matching->placed[index];
        if (placed->text == text) {
            *known = true;
            return placed;
        }
        if (!placed->text && !free_one)
            free_one = placed;
    }
    assert (free_one);
    free_one->text = text;
    free_one->size = 0;
    *known = false;
    return free_one;
}

//  The keywords found in text: kept by the scan that found the hits, or
//  else (the hits came from a scan made ahead) scanned for now
static s_places_t *
s_placed (s_facts_t *facts, const char *text)
{
    bool known;
    s_places_t *placed = s_placed_slot (facts->matching, text, &known);
    if (!known)
        s_keywords_scan (facts->keywords, text, NULL, placed);
    return placed;
}

//  True if the pattern matches text from start to end as a text of its
//  own
static bool
s_match (s_facts_t *facts,
         s_matcher_t *matcher,
         const char *text,
         size_t start,
         size_t end)
{
    return pcre2_match (matcher->pattern, (PCRE2_SPTR) text + start,
                        end - start, 0,
                        PCRE2_NO_UTF_CHECK | facts->matching->options,
                        facts->matching->data, facts->matching->context)
           >= 0;
}

//  True if the matcher's pattern matches one of the texts. A pattern
//  with keywords (any) runs on each sentence that holds one of them, as
//  a text of its own; one without, on the whole text. Each pattern runs
//  once per complaint: its result is kept in facts->results[slot] (0 not
//  run yet, FOUND or NOT_FOUND).
#define FOUND 1
#define NOT_FOUND 2

static bool
s_found (s_facts_t *facts, s_matcher_t *matcher, const char *texts[2])
{
    uint8_t *result = &facts->results[matcher->slot];
    for (int index = 0; index < 2 && !*result; index++) {
        const char *text = texts[index];
        if (!text)
            continue;
        if (!matcher->gates) {
            if (s_match (facts, matcher, text, 0, strlen (text)))
                *result = FOUND;
            continue;
        }
        const uint8_t *bytes = (const uint8_t *) text;
        s_places_t *placed = s_placed (facts, text);
        size_t from = 0, to = 0; //  The sentences tried last
        for (size_t place = 0; place < placed->size && !*result; place++) {
            uint32_t keyword = placed->places[place].keyword;
            if (!(matcher->gates[keyword / 64] & (1ULL << (keyword % 64))))
                continue;
            size_t end = placed->places[place].end;
            size_t first = end - facts->keywords->lengths[keyword];
            if (first >= from && end <= to)
                continue;
            size_t start = first;
            while (start > 0 && !s_sentence_ends (bytes, start))
                start--;
            for (size_t space;
                 start < first && (space = s_space_at (bytes, start)) > 0;)
                start += space;
            //  To the first sentence end after the keyword's last byte: a
            //  keyword that ends with a mark ("No.") takes the next
            //  sentence too
            while (bytes[end])
                if (s_sentence_ends (bytes, ++end))
                    break;
            if (s_match (facts, matcher, text, start, end))
                *result = FOUND;
            from = start;
            to = end;
        }
    }
    if (!*result)
        *result = NOT_FOUND;
    return *result == FOUND;
}

//  True if keyword id is in one of the hit sets
static inline bool
s_hit (uint64_t *hits[2], uint32_t id)
{
    uint64_t bit = 1ULL << (id % 64);
    return (hits[0] && (hits[0][id / 64] & bit))
           || (hits[1] && (hits[1][id / 64] & bit));
}

static bool
s_matcher_holds (s_facts_t *facts,
                 s_matcher_t *matcher,
                 const char *texts[2],
                 uint64_t *hits[2])
{
    if (matcher->any.size
        && !(facts->anys[matcher->number / 64]
             & (1ULL << (matcher->number % 64))))
        return false;
    for (size_t index = 0; index < matcher->none.size; index++)
        if (s_hit (hits, matcher->none.ids[index]))
            return false;
    for (size_t index = 0; index < matcher->all.size; index++)
        if (!s_hit (hits, matcher->all.ids[index]))
            return false;
    if (matcher->pattern && !s_found (facts, matcher, texts))
        return false;
    return true;
}

//  True if the rule holds for the complaint. Ahead of the write (ahead),
//  the repeat count and the time are not known: a rule that holds but for
//  them is taken to hold.
static bool
s_rule_holds (cmp_triage_t *self, s_rule_t *rule, s_facts_t *facts, bool ahead)
{
    if (rule->channels && !(rule->channels & facts->channel))
        return false;
    if (rule->anonymous >= 0 && rule->anonymous != (int) facts->anonymous)
        return false;
    if (!ahead && rule->repeats >= 0
        && facts->repeats < (uint64_t) rule->repeats)
        return false;
    if (rule->tiers) {
        bool found = false;
        for (const char *tier = (const char *) zlist_first (rule->tiers);
             tier && facts->tier && !found;
             tier = (const char *) zlist_next (rule->tiers))
            found = strcasecmp (tier, facts->tier) == 0;
        if (!found)
            return false;
    }
    if (!ahead && (rule->hours_from >= 0 || rule->days || rule->working >= 0)) {
        if (!facts->local_known) {
            cmp_calendar_local (self->calendar, facts->at, &facts->local);
            facts->working = cmp_calendar_working (self->calendar, facts->at);
            facts->local_known = true;
        }
        int minute = facts->local.minute;
        if (rule->hours_from >= 0
            && !(rule->hours_from < rule->hours_to
                   ? minute >= rule->hours_from && minute < rule->hours_to
                   : minute >= rule->hours_from || minute < rule->hours_to))
            return false;
        if (rule->days && !(rule->days & (1u << facts->local.weekday)))
            return false;
        if (rule->working >= 0 && rule->working != (int) facts->working)
            return false;
    }
    for (int target = 0; target < T_COUNT; target++)
        if (rule->texts[target]
            && !s_matcher_holds (facts, rule->texts[target],
                                 facts->texts[target], facts->hits[target]))
            return false;
    return true;
}

static void
s_add_once (zlist_t *list, const char *item)
{
    for (const char *have = (const char *) zlist_first (list); have;
         have = (const char *) zlist_next (list))
        if (streq (have, item))
            return;
    zlist_append (list, (void *) item);
}

//  The text of one target (T_DESCRIPTION to T_STAFF), or NULL
static const char *
s_target_text (cmp_proto_t *record, int target)
{
    switch (target) {
        case T_DESCRIPTION: return cmp_proto_description (record);
        case T_DEMANDS: return cmp_proto_demands (record);
        case T_DEPARTMENT: return cmp_proto_department (record);
        case T_LOCATION: return cmp_proto_location (record);
        case T_STAFF: return cmp_proto_staff (record);
        default: return NULL;
    }
}

//  Mark in facts->anys each text condition whose keywords (any) hold:
//  from the keywords found, not from every condition's list
static void
s_anys_fill (cmp_triage_t *self, s_facts_t *facts)
{
    facts->anys = facts->matching->anys;
    memset (facts->anys, 0, self->any_words * sizeof (uint64_t));
    for (int target = T_DESCRIPTION; target < T_COUNT; target++) {
        uint64_t *hits = facts->hits[target][0];
        for (size_t word = 0; hits && word < self->hit_words; word++)
            for (uint64_t bits = hits[word]; bits; bits &= bits - 1) {
                uint32_t id = (uint32_t) (word * 64 + __builtin_ctzll (bits));
                for (uint32_t at = self->any_first[id];
                     at < self->any_first[id + 1]; at++) {
                    uint32_t number = self->any_matchers[at];
                    int of = self->any_targets[number];
                    if (of == target
                        || (of == T_TEXT
                            && (target == T_DESCRIPTION
                                || target == T_DEMANDS)))
                        facts->anys[number / 64] |= 1ULL << (number % 64);
                }
            }
    }
}

//  Work out the facts of a complaint. With scan, its hits and results
//  already hold what the texts hold, and it knows which texts are valid
//  UTF-8; else the texts are checked and scanned into hits (T_COUNT sets)
//  and results are cleared.
static void
s_facts_fill (cmp_triage_t *self,
              cmp_proto_t *record,
              int64_t now,
              uint64_t *hits[T_COUNT],
              uint8_t *results,
              cmp_triage_scan_t *scan,
              s_matching_t *matching,
              s_facts_t *facts)
{
    memset (facts, 0, sizeof (*facts));
    facts->keywords = &self->keywords;
    facts->matching = matching;
    s_placed_clear (matching);
    for (int target = T_DESCRIPTION; target < T_COUNT; target++) {
        const char *text = s_target_text (record, target);
        if (scan)
            text = scan->valid & (1u << target) ? text : NULL;
        else {
            //  One pass over each text finds every keyword of every rule,
            //  and where each is for the patterns
            text = s_checked (text);
            memset (hits[target], 0, self->hit_words * sizeof (uint64_t));
            bool known;
            if (text)
                s_keywords_scan (&self->keywords, text, hits[target],
                                 s_placed_slot (matching, text, &known));
        }
        facts->texts[target][0] = text;
        if (text)
            facts->hits[target][0] = hits[target];
    }
    facts->texts[T_TEXT][0] = facts->texts[T_DESCRIPTION][0];
    facts->texts[T_TEXT][1] = facts->texts[T_DEMANDS][0];
    facts->hits[T_TEXT][0] = facts->hits[T_DESCRIPTION][0];
    facts->hits[T_TEXT][1] = facts->hits[T_DEMANDS][0];
    s_anys_fill (self, facts);
    if (!scan)
        memset (results, 0, self->patterns);
    facts->results = results;
    int channel = cmp_proto_channel (record)
                    ? s_index ("phone email web counter letter social",
                               cmp_proto_channel (record))
                    : -1;
    facts->channel = channel >= 0 ? 1u << channel : 0;
    facts->anonymous = cmp_proto_anonymous (record);
    facts->tier = cmp_proto_tier (record);
    facts->repeats = cmp_proto_repeats (record);
    facts->at = cmp_proto_has (record, "complained_at")
                  ? cmp_proto_complained_at (record)
                  : now;
}

cmp_triage_scan_t *
cmp_triage_scan_new (cmp_triage_t *self, cmp_proto_t *complaint)
{
    assert (self);
    assert (complaint);
    size_t hit_bytes = self->hit_words * sizeof (uint64_t);
    cmp_triage_scan_t *scan = (cmp_triage_scan_t *) zmalloc (
      sizeof (cmp_triage_scan_t) + T_COUNT * hit_bytes + self->patterns + 1);
    assert (scan);
    scan->serial = self->serial;
    uint8_t *block = (uint8_t *) (scan + 1);
    for (int target = 0; target < T_COUNT; target++)
        scan->hits[target] = (uint64_t *) (block + target * hit_bytes);
    scan->results = block + T_COUNT * hit_bytes;
    s_facts_t facts;
    s_facts_fill (self, complaint, 0, scan->hits, scan->results, NULL,
                  &self->scanning, &facts);
    for (int target = T_DESCRIPTION; target < T_COUNT; target++)
        if (facts.texts[target][0])
            scan->valid |= 1u << target;
    //  Run every pattern a rule may need: the rules' other conditions
    //  decide which, so that this costs what the triage would
    for (size_t index = 0; index < self->size; index++)
        s_rule_holds (self, &self->rules[index], &facts, true);
    return scan;
}

void
cmp_triage_scan_destroy (cmp_triage_scan_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

void
cmp_triage_apply (cmp_triage_t *self,
                  cmp_proto_t *record,
                  int64_t now,
                  cmp_triage_scan_t *scan,
                  cmp_triage_result_t *result)
{
    assert (self);
    assert (record);
    memset (result, 0, sizeof (*result));
    s_facts_t facts;
    if (scan && scan->serial == self->serial)
        s_facts_fill (self, record, now, scan->hits, scan->results, scan,
                      &self->applying, &facts);
    else
        s_facts_fill (self, record, now, self->hits, self->results, NULL,
                      &self->applying, &facts);

    const char *decided[F_COUNT] = {NULL};
    const char *by[F_COUNT] = {NULL};
    const char *emergency_by = NULL;
    const char *raised_by = NULL;
    int64_t raise = 0;
    zlist_t *matched = cmp_proto_matched (record);
    zlist_t *tags = cmp_proto_triage_tags (record);
    zlist_purge (matched);
    zlist_purge (tags);
    for (size_t index = 0; index < self->size; index++) {
        s_rule_t *rule = &self->rules[index];
        if (!s_rule_holds (self, rule, &facts, false))
            continue;
        result->matched++;
        zlist_append (matched, rule->name);
        for (int field = 0; field < F_COUNT; field++)
            if (rule->sets[field] && !decided[field]) {
                decided[field] = rule->sets[field];
                by[field] = rule->name;
            }
        for (const char *tag =
               rule->tags ? (const char *) zlist_first (rule->tags) : NULL;
             tag; tag = (const char *) zlist_next (rule->tags))
            s_add_once (tags, tag);
        if (rule->emergency) {
            if (!emergency_by)
                emergency_by = rule->name;
            size_t used = strlen (result->emergency_rules);
            snprintf (result->emergency_rules + used,
                      sizeof (result->emergency_rules) - used, "%s%s",
                      used ? ", " : "", rule->name);
        }
        if (rule->raise > raise) {
            raise = rule->raise;
            raised_by = rule->name;
        }
        if (rule->stop)
            break;
    }
    for (int field = 0; field < F_COUNT; field++)
        if (!decided[field])
            decided[field] = self->defaults[field];

    //  Priority: a rule's, or the table's; then raised
    int level =
      decided[F_PRIORITY]
        ? s_index (CMP_TRIAGE_PRIORITIES, decided[F_PRIORITY])
        : self->table[s_index (CMP_TRIAGE_SEVERITIES, decided[F_SEVERITY])]
                     [s_index (CMP_TRIAGE_IMPACTS, decided[F_IMPACT])];
    if (raise) {
        level = level - (int) raise < 0 ? 0 : level - (int) raise;
        if (!by[F_PRIORITY])
            by[F_PRIORITY] = raised_by;
    }
    decided[F_PRIORITY] = s_priorities[level];

    cmp_proto_set_category (record, decided[F_CATEGORY]);
    cmp_proto_set_subcategory (record, decided[F_SUBCATEGORY]);
    cmp_proto_set_severity (record, decided[F_SEVERITY]);
    cmp_proto_set_impact (record, decided[F_IMPACT]);
    cmp_proto_set_priority (record, decided[F_PRIORITY]);
    cmp_proto_set_case_department (record, decided[F_DEPARTMENT]);
    cmp_proto_set_sla (record, decided[F_SLA]);
    cmp_proto_set_group (record, decided[F_GROUP]);
    if (emergency_by)
        cmp_proto_set_emergency (record, true);
    else
        cmp_proto_unset (record, "emergency");
    for (int field = 0; field < F_COUNT; field++)
        cmp_proto_set_decided_by (record, s_field_names[field], by[field]);
    cmp_proto_set_decided_by (record, "emergency", emergency_by);
    cmp_proto_set_rules (record, self->version);
    cmp_proto_set_triaged_at (record, now);
    result->classified = by[F_CATEGORY] != NULL;
    result->emergency = emergency_by != NULL;
}

//  --------------------------------------------------------------------------
//  Self test

//  Shipped rules: a channel, a text, and the expected triage as
//  "category=.. severity=.. impact=.. priority=.. department=..
//  emergency=.. sla=.. tags=a,b" (the complaint made in working time)
static const struct
{
    const char *channel;     //  Channel
    const char *description; //  Description
    const char *expected;    //  Triage expected
} s_shipped_cases[] = {
  {"web", "服务员态度很差，对我大吼大叫",
   "category=service_attitude severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"phone", "护士很不耐烦，叫了几次都不理人",
   "category=service_attitude severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"email", "The receptionist was rude and ignored me for 20 minutes.",
   "category=service_attitude severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"web", "买的洗衣机用了三天就坏了，要求退款",
   "category=quality severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"email",
   "The kettle I bought is defective and stopped working after a week.",
   "category=quality severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"web", "酒店房间很脏，卫生间有蟑螂，还有异味",
   "category=environment_hygiene severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"phone", "The room was dirty and there was a cockroach in the bathroom.",
   "category=environment_hygiene severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"web", "楼上装修噪音太大，晚上根本睡不着",
   "category=environment_hygiene severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"counter", "收费处多收了我200元，发票也不给开",
   "category=fees_billing severity=ordinary impact=one priority=normal "
   "department=finance emergency=false sla=standard tags=finance"},
  {"email", "I was charged twice for the same night and the invoice is wrong.",
   "category=fees_billing severity=ordinary impact=one priority=normal "
   "department=finance emergency=false sla=standard tags=finance"},
  {"web", "退款一直没到账，已经半个月了",
   "category=fees_billing severity=ordinary impact=one priority=normal "
   "department=finance emergency=false sla=standard tags=finance"},
  {"email", "Hidden fees were added to my phone bill.",
   "category=fees_billing severity=ordinary impact=one priority=normal "
   "department=finance emergency=false sla=standard tags=finance"},
  {"web", "扣费不明，话费比上个月多了一百块",
   "category=fees_billing severity=ordinary impact=one priority=normal "
   "department=finance emergency=false sla=standard tags=finance"},
  {"web", "快递三天了还没到，物流信息也不更新",
   "category=delivery severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"email", "My parcel was lost and the courier will not answer my calls.",
   "category=delivery severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"phone", "外卖送错了地址，还超时一个小时",
   "category=delivery severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"phone", "医生开错药，我妈吃了以后头晕",
   "category=medical_safety severity=major impact=one priority=high "
   "department= emergency=false sla=serious tags=safety"},
  {"web", "孩子被误诊为感冒，耽误了治疗",
   "category=medical_safety severity=major impact=one priority=high "
   "department= emergency=false sla=serious tags=safety"},
  {"letter", "术后伤口感染，医院一直推诿",
   "category=medical_safety severity=major impact=one priority=high "
   "department= emergency=false sla=serious tags=safety"},
  {"email",
   "The nurse gave my father the wrong medication and he is now in intensive "
   "care.",
   "category=medical_safety severity=major impact=one priority=high "
   "department= emergency=false sla=serious tags=safety"},
  {"web", "医院把我的病历泄露给了我的单位",
   "category=privacy severity=major impact=one priority=high department= "
   "emergency=false sla=serious tags="},
  {"phone", "每天都接到骚扰电话，肯定是你们泄露了我的个人信息",
   "category=privacy severity=major impact=one priority=high department= "
   "emergency=false sla=serious tags="},
  {"email",
   "My personal data was shared with a marketing company without my consent.",
   "category=privacy severity=major impact=one priority=high department= "
   "emergency=false sla=serious tags="},
  {"phone", "每天都接到推销电话，不胜其烦",
   "category=privacy severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"phone", "我父亲在你们医院做完手术后死亡，家属要求说法",
   "category=medical_safety severity=critical impact=one priority=urgent "
   "department= emergency=true sla=emergency tags=safety"},
  {"web", "游泳池边地滑，我儿子摔倒骨折了",
   "category=other severity=critical impact=one priority=urgent department= "
   "emergency=false sla=serious tags=safety"},
  {"phone", "孩子在游乐区被门夹伤了手指，流了很多血",
   "category=other severity=critical impact=one priority=urgent department= "
   "emergency=false sla=serious tags=safety"},
  {"phone", "我们一家人在你们餐厅吃饭后集体食物中毒，已经送医",
   "category=other severity=critical impact=several priority=urgent "
   "department= emergency=true sla=emergency tags=safety"},
  {"phone", "我们5个人在酒店吃了早餐后都上吐下泻",
   "category=other severity=critical impact=several priority=urgent "
   "department= emergency=true sla=emergency tags=safety"},
  {"email",
   "Several of us were injured when the ceiling collapsed in the lobby.",
   "category=other severity=critical impact=several priority=urgent "
   "department= emergency=true sla=emergency tags=safety"},
  {"email", "Our whole family got food poisoning after the buffet.",
   "category=other severity=critical impact=several priority=urgent "
   "department= emergency=true sla=emergency tags=safety"},
  {"phone", "在你们医院输液后过敏休克了",
   "category=medical_safety severity=critical impact=one priority=urgent "
   "department= emergency=false sla=serious tags=safety"},
  {"web", "我们在大堂被保安殴打，已经报警了",
   "category=other severity=critical impact=one priority=urgent department= "
   "emergency=false sla=serious tags=safety,police"},
  {"phone", "你们的员工太过分了，我要请律师起诉你们",
   "category=other severity=major impact=one priority=urgent department= "
   "emergency=false sla=serious tags=legal,agitated"},
  {"email", "If this is not fixed I will sue you.",
   "category=other severity=major impact=one priority=high department= "
   "emergency=false sla=serious tags=legal"},
  {"web", "我已经联系了记者，明天就曝光你们",
   "category=other severity=major impact=public priority=urgent department= "
   "emergency=false sla=serious tags=media"},
  {"web", "我要打12315投诉你们卖假货",
   "category=quality severity=major impact=one priority=high department= "
   "emergency=false sla=serious tags=regulator"},
  {"phone", "护士态度恶劣，我要向卫健委投诉",
   "category=service_attitude severity=major impact=one priority=high "
   "department= emergency=false sla=serious tags=regulator"},
  {"counter", "我要找律师，你们的医生误诊",
   "category=medical_safety severity=major impact=one priority=high "
   "department= emergency=false sla=serious tags=legal,safety"},
  {"web", "你们的客服太过分了，再不处理我就发到网上",
   "category=other severity=major impact=public priority=urgent department= "
   "emergency=false sla=serious tags=media,agitated"},
  {"web", "我们几个人在这家店买的牛奶都过了保质期",
   "category=quality severity=ordinary impact=several priority=high "
   "department= emergency=false sla=standard tags="},
  {"phone", "很多人都在排队，窗口只开了一个，服务太差了",
   "category=service_attitude severity=ordinary impact=several priority=high "
   "department= emergency=false sla=standard tags="},
  {"web", "我们小区好多人的快递都被驿站弄丢了",
   "category=delivery severity=ordinary impact=several priority=high "
   "department= emergency=false sla=standard tags="},
  {"social", "你们银行乱收费，大家都来看看",
   "category=fees_billing severity=ordinary impact=public priority=high "
   "department=finance emergency=false sla=standard tags=finance"},
  {"web", "气死我了！！！快递又送错了",
   "category=delivery severity=ordinary impact=one priority=high department= "
   "emergency=false sla=standard tags=agitated"},
  {"email", "This is outrageous!!! You charged me twice.",
   "category=fees_billing severity=ordinary impact=one priority=high "
   "department=finance emergency=false sla=standard tags=finance,agitated"},
  {"phone", "体检报告有误，把别人的化验结果写在了我的名字下",
   "category=quality severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=urgent_technical tags=technical"},
  {"web", "我的征信报告有误，银行一直不处理",
   "category=quality severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"web", "电脑死机了，你们的系统一直用不了",
   "category=quality severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"web", "你们这样对待老人，我很伤心",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"web", "The coffee was cold.",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"web", "请问营业时间是几点到几点？",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"email", "I feel the feedback form is confusing.",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"email", "My phone died while I waited on hold for an hour.",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"web", "电脑中毒了，你们装的系统用不了",
   "category=quality severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"web", "这件衣服打骨折促销，结账时却多收了钱",
   "category=fees_billing severity=ordinary impact=one priority=normal "
   "department=finance emergency=false sla=standard tags=finance"},
  {"phone", "酒店的烟雾报警器半夜一直响，吵得没法睡",
   "category=environment_hygiene severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"web", "房费110元，结账却多收了40元",
   "category=fees_billing severity=ordinary impact=one priority=normal "
   "department=finance emergency=false sla=standard tags=finance"},
  {"counter", "银行柜员服务态度很好，但是排队时间太长",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"email", "The staff were very courteous, but the food court was noisy.",
   "category=environment_hygiene severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"web", "订单号1234567的衣服尺码不对",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"web", "我在微博上看到你们的优惠活动，到店后却说不能用",
   "category=quality severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"phone", "医生说我是心脏问题，但一直让我等，态度敷衍",
   "category=service_attitude severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"web", "他说话带脏话，还骂人",
   "category=service_attitude severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"counter", "我母亲去世后，想把她账户里的钱取出来，银行要求的材料太多",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"web", "我们几个人都没受伤，但是房间的门锁坏了",
   "category=quality severity=ordinary impact=several priority=high "
   "department= emergency=false sla=standard tags="},
  {"web", "订了三人间，结果给了两人间",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"phone", "我先生住院的时候被安排在六人间，护士态度很好",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"email", "We waited two hours and the toilet was filthy.",
   "category=environment_hygiene severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"web", "这件事让我非常受伤",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"phone", "我家孩子在你们幼儿园被老师打了一巴掌",
   "category=other severity=critical impact=one priority=urgent department= "
   "emergency=false sla=serious tags=safety"},
  {"web", "我差点摔倒，地上全是水",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"email", "I nearly died of shame when the manager shouted at me.",
   "category=service_attitude severity=ordinary impact=one priority=normal "
   "department= emergency=false sla=standard tags="},
  {"web", "卖家拒绝退款",
   "category=fees_billing severity=ordinary impact=one priority=normal "
   "department=finance emergency=false sla=standard tags=finance"},
  {"web", "手机买回来就用不了，我要求退款，不然就投诉",
   "category=quality severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"email", "Our hotel room had a gas leak.",
   "category=other severity=critical impact=one priority=urgent department= "
   "emergency=false sla=serious tags=safety"},
  {"phone", "酒店火灾，三名住客受伤",
   "category=other severity=critical impact=several priority=urgent "
   "department= emergency=true sla=emergency tags=safety"},
  {"phone", "我们几个人都吓坏了，我老婆受伤了",
   "category=other severity=critical impact=several priority=urgent "
   "department= emergency=false sla=serious tags=safety"},
  {"web", "服务员性骚扰我",
   "category=other severity=major impact=one priority=high department= "
   "emergency=false sla=serious tags=safety"},
  {"email", "Three of us got sick after the buffet.",
   "category=other severity=major impact=several priority=high department= "
   "emergency=false sla=serious tags=safety"},
  {"web", "我的体检结果和上次不一致",
   "category=quality severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=urgent_technical tags=technical"},
  {"counter", "银行让我去派出所开证明，太麻烦了",
   "category=other severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"web", "酒店房间里发现了针孔摄像头",
   "category=privacy severity=ordinary impact=one priority=normal department= "
   "emergency=false sla=standard tags="},
  {"email", "They leaked my phone number to a debt collector.",
   "category=privacy severity=major impact=one priority=high department= "
   "emergency=false sla=serious tags="},
  {NULL, NULL, NULL}};

//  The triage of a record, as s_shipped_cases writes it
static void
s_describe (cmp_proto_t *record, char *text, size_t size)
{
    char tags[256] = "";
    zlist_t *list = cmp_proto_triage_tags (record);
    for (char *tag = (char *) zlist_first (list); tag;
         tag = (char *) zlist_next (list))
        snprintf (tags + strlen (tags), sizeof (tags) - strlen (tags), "%s%s",
                  *tags ? "," : "", tag);
    const char *department = cmp_proto_case_department (record);
    snprintf (text, size,
              "category=%s severity=%s impact=%s priority=%s department=%s "
              "emergency=%s sla=%s tags=%s",
              cmp_proto_category (record), cmp_proto_severity (record),
              cmp_proto_impact (record), cmp_proto_priority (record),
              department ? department : "",
              cmp_proto_emergency (record) ? "true" : "false",
              cmp_proto_sla (record), tags);
}

//  A complaint record to triage
static cmp_proto_t *
s_record (const char *channel, const char *description)
{
    cmp_proto_t *record = cmp_proto_new (CMP_PROTO_COMPLAINT);
    cmp_proto_set_channel (record, channel);
    cmp_proto_set_description (record, description);
    cmp_proto_set_complained_at (record, 1795000000000);
    return record;
}

//  More texts for s_guards_hold: at least one match of every branch of
//  the shipped patterns that have keywords beside them
static const char *s_guard_texts[] = {"三名患者在病房里摔伤了",
                                      "中毒的有五人",
                                      "Two guests were hospitalised",
                                      "The whole family was poisoned",
                                      "mass poisoning at the canteen",
                                      "十几个孩子拉肚子",
                                      "many of us were injured",
                                      "体检报告有误",
                                      "CT片子看错了",
                                      "片子拍错",
                                      "他们说报告出错",
                                      "the X-ray was misread",
                                      "My blood test results were wrong",
                                      "wrong lab results",
                                      "被打骨折",
                                      "打了我一巴掌",
                                      "扇了两个耳光",
                                      "在走廊滑倒了",
                                      "she got hurt",
                                      "a broken wrist",
                                      "I slipped and fell",
                                      "he fell down the stairs",
                                      "吃了外卖以后上吐下泻",
                                      "吃坏肚子了",
                                      "食品安全问题",
                                      "The lunch made us sick",
                                      "vomiting after the buffet",
                                      "got sick from the takeaway",
                                      "I will sue you",
                                      "we will take you to court",
                                      "我要发到微博上",
                                      "挂到网上去",
                                      "I posted it on Twitter",
                                      "this will go viral",
                                      "the media will hear",
                                      "我已经报警了",
                                      "拨打110",
                                      "派出所的民警来了",
                                      "I called the police",
                                      "we called 911",
                                      "the cops came",
                                      "医院内感染",
                                      "输液后过敏",
                                      "纱布留在了肚子里",
                                      "器械没有消毒",
                                      "一次性针头重复使用",
                                      "手术后死亡",
                                      "a surgical-site infection",
                                      "a hospital-acquired infection",
                                      "infected after the surgery",
                                      "我的病历被泄露",
                                      "倒卖了患者的信息",
                                      "电话号码告诉了陌生人",
                                      "they leaked my personal data",
                                      "our medical records were sold",
                                      "a data breach",
                                      "退款迟迟不到账",
                                      "拒绝给我退款",
                                      "费用太高",
                                      "the fees are too high",
                                      "my phone bill",
                                      "two bills",
                                      "my refund was refused",
                                      "still waiting for a refund",
                                      "快递三天还没到",
                                      "外卖送错了",
                                      "包裹被偷",
                                      "屏幕坏了",
                                      "质量太差",
                                      "修了又坏",
                                      "结果单写错",
                                      "it arrived broken",
                                      "poor quality",
                                      "房间很脏",
                                      "rats in the kitchen",
                                      "服务太差了",
                                      "态度很不好",
                                      NULL};

//  Every match of a shipped pattern that has keywords beside it (any)
//  holds one of them and lies within one sentence, so that running it on
//  the sentences of its keywords never keeps it from a complaint it
//  matches: checked on every match in texts, and every such pattern must
//  match somewhere
static void
s_guards_hold (cmp_triage_t *self, const char **texts)
{
    uint64_t *hits = (uint64_t *) zmalloc (self->hit_words * sizeof (uint64_t));
    assert (hits);
    for (size_t index = 0; index < self->size; index++)
        for (int target = 0; target < T_COUNT; target++) {
            s_matcher_t *matcher = self->rules[index].texts[target];
            if (!matcher || !matcher->pattern || !matcher->any.size)
                continue;
            size_t matches = 0;
            for (const char **text = texts; *text; text++) {
                size_t size = strlen (*text), start = 0;
                while (start <= size
                       && pcre2_match (matcher->pattern, (PCRE2_SPTR) *text,
                                       size, start, self->applying.options,
                                       self->applying.data,
                                       self->applying.context)
                            >= 0) {
                    PCRE2_SIZE *span =
                      pcre2_get_ovector_pointer (self->applying.data);
                    char match[512];
                    snprintf (match, sizeof (match), "%.*s",
                              (int) (span[1] - span[0]), *text + span[0]);
                    memset (hits, 0, self->hit_words * sizeof (uint64_t));
                    s_keywords_scan (&self->keywords, match, hits, NULL);
                    uint64_t *sets[2] = {hits, NULL};
                    bool held = false;
                    for (size_t id = 0; id < matcher->any.size && !held; id++)
                        held = s_hit (sets, matcher->any.ids[id]);
                    if (!held)
                        printf ("\nrule \"%s\": \"%s\" matches, none of its "
                                "keywords is in it\n",
                                self->rules[index].name, match);
                    fflush (stdout);
                    assert (held);
                    for (size_t at = span[0] + 1; at < span[1]; at++)
                        if (s_sentence_ends ((const uint8_t *) *text, at)) {
                            printf ("\nrule \"%s\": \"%s\" matches across "
                                    "a sentence end\n",
                                    self->rules[index].name, match);
                            fflush (stdout);
                            assert (false);
                        }
                    matches++;
                    start = span[1] > span[0] ? span[1] : span[1] + 1;
                }
            }
            if (!matches)
                printf ("\nrule \"%s\": no text matches its pattern\n",
                        self->rules[index].name);
            fflush (stdout);
            assert (matches);
        }
    free (hits);
}

//  Triage record through a scan made ahead, then again without: both
//  ways must give the same record and the same result (a second triage
//  replaces the first)
static void
s_apply (cmp_triage_t *self,
         cmp_proto_t *record,
         int64_t now,
         cmp_triage_result_t *result)
{
    //  The scan runs ahead of the repeat count, as the daemon's does
    uint64_t repeats = cmp_proto_repeats (record);
    cmp_proto_unset (record, "repeats");
    cmp_triage_scan_t *scan = cmp_triage_scan_new (self, record);
    if (repeats)
        cmp_proto_set_repeats (record, repeats);
    cmp_triage_result_t scanned;
    cmp_triage_apply (self, record, now, scan, &scanned);
    cmp_triage_scan_destroy (&scan);
    cmp_triage_scan_destroy (&scan);
    zchunk_t *one = cmp_proto_encode_map (record);
    cmp_triage_apply (self, record, now, NULL, result);
    assert (memcmp (&scanned, result, sizeof (scanned)) == 0);
    zchunk_t *other = cmp_proto_encode_map (record);
    assert (
      zchunk_size (one) == zchunk_size (other)
      && memcmp (zchunk_data (one), zchunk_data (other), zchunk_size (one))
           == 0);
    zchunk_destroy (&one);
    zchunk_destroy (&other);
}

//  False if COMPLAINTD_TRIAGE_JIT=false: make memcheck runs the patterns
//  of these tests in PCRE2's interpreter, as valgrind cannot check JIT
//  code
static bool
s_test_jit (void)
{
    const char *jit = getenv ("COMPLAINTD_TRIAGE_JIT");
    return !jit || !streq (jit, "false");
}

//  Rules from text, which must be valid
static cmp_triage_t *
s_rules (const char *text, zhashx_t *calendars)
{
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    cmp_triage_t *self =
      cmp_triage_new ("test.yaml", text, strlen (text), calendars, errors);
    for (char *error = (char *) zlist_first (errors); error;
         error = (char *) zlist_next (errors))
        printf ("%s\n", error);
    fflush (stdout);
    assert (self);
    cmp_triage_set_jit (self, s_test_jit ());
    zlist_destroy (&errors);
    return self;
}

//  Rules from text, which must be refused with an error holding expected
static void
s_refused (const char *text, const char *expected)
{
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    cmp_triage_t *self =
      cmp_triage_new ("bad.yaml", text, strlen (text), NULL, errors);
    bool found = false;
    for (char *error = (char *) zlist_first (errors); error;
         error = (char *) zlist_next (errors))
        found |= strstr (error, expected) != NULL;
    if (self || !found) {
        printf ("expected an error with \"%s\", got:\n", expected);
        for (char *error = (char *) zlist_first (errors); error;
             error = (char *) zlist_next (errors))
            printf ("  %s\n", error);
        fflush (stdout);
    }
    assert (!self);
    assert (found);
    zlist_destroy (&errors);
}

#define TABLE                                                                  \
    "priority:\n"                                                              \
    "  critical: {one: urgent, several: urgent, public: urgent}\n"             \
    "  major: {one: high, several: high, public: urgent}\n"                    \
    "  ordinary: {one: normal, several: high, public: high}\n"                 \
    "  minor: {one: low, several: normal, public: high}\n"

void
cmp_triage_test (bool verbose)
{
    printf (" * cmp_triage: ");
    if (verbose)
        printf ("\n");

    //  @selftest
    const char *text =
      "version: t1\n" TABLE "defaults: {category: other, sla: standard}\n"
      "rules:\n"
      "  - name: death\n"
      "    when: {text: [死亡, 去世, died]}\n"
      "    set: {severity: critical, impact: public, emergency: true,\n"
      "          sla: emergency, tags: [safety]}\n"
      "  - name: injury\n"
      "    when: {text: {any: [受伤, injur], none: [没有受伤, not injured]}}\n"
      "    set: {severity: critical, tags: [safety]}\n"
      "  - name: billing\n"
      "    when: {text: [多收, 收费, fee, refund]}\n"
      "    set: {category: fees_billing, department: finance, tags: [money]}\n"
      "  - name: both-words\n"
      "    when: {description: {all: [医生, rude]}}\n"
      "    set: {category: service_attitude}\n"
      "  - name: shouting\n"
      "    when: {text: {pattern: '[!！]{3,}'}}\n"
      "    set: {raise_priority: 1, tags: [agitated]}\n"
      "  - name: vip\n"
      "    when: {tier: [VIP], channel: [phone]}\n"
      "    set: {tags: [vip]}\n"
      "  - name: repeat\n"
      "    when: {repeats: 2}\n"
      "    set: {raise_priority: 2, tags: [repeat]}\n"
      "  - name: counter-stop\n"
      "    when: {channel: counter}\n"
      "    set: {group: front_desk}\n"
      "    stop: true\n"
      "  - name: never-after-stop\n"
      "    when: {channel: counter}\n"
      "    set: {tags: [unreachable]}\n";
    cmp_triage_t *self = s_rules (text, NULL);
    assert (cmp_triage_size (self) == 9);
    assert (strncmp (cmp_triage_version (self), "t1#", 3) == 0);
    assert (strlen (cmp_triage_version (self)) == 3 + 12);
    cmp_triage_result_t result;

    //  Nothing matches: defaults, and the table gives the priority
    cmp_proto_t *record = s_record ("web", "the waiting room was cold");
    s_apply (self, record, 1795000000100, &result);
    assert (result.matched == 0 && !result.classified && !result.emergency);
    assert (streq (cmp_proto_category (record), "other"));
    assert (streq (cmp_proto_severity (record), "ordinary"));
    assert (streq (cmp_proto_impact (record), "one"));
    assert (streq (cmp_proto_priority (record), "normal"));
    assert (streq (cmp_proto_sla (record), "standard"));
    assert (cmp_proto_case_department (record) == NULL);
    assert (cmp_proto_decided_by (record, "category") == NULL);
    assert (cmp_proto_triaged_at (record) == 1795000000100);
    assert (streq (cmp_proto_rules (record), cmp_triage_version (self)));
    cmp_proto_destroy (&record);

    //  Chinese keywords; each field is decided by the first rule that
    //  sets it; tags add up once each
    record = s_record ("phone", "护士态度差，还多收了费用，我父亲受伤了");
    s_apply (self, record, 1795000000100, &result);
    assert (result.matched == 2 && result.classified && !result.emergency);
    assert (streq (cmp_proto_category (record), "fees_billing"));
    assert (streq (cmp_proto_severity (record), "critical"));
    assert (streq (cmp_proto_priority (record), "urgent"));
    assert (streq (cmp_proto_case_department (record), "finance"));
    assert (streq (cmp_proto_decided_by (record, "severity"), "injury"));
    assert (streq (cmp_proto_decided_by (record, "category"), "billing"));
    assert (
      streq ((char *) zlist_first (cmp_proto_matched (record)), "injury"));
    assert (zlist_size (cmp_proto_triage_tags (record)) == 2);
    cmp_proto_destroy (&record);

    //  none: vetoes; English keywords start a word ("coffee" is no fee)
    record = s_record ("email", "I was not injured, but the coffee fee...");
    s_apply (self, record, 0, &result);
    assert (result.matched == 1);
    assert (streq (cmp_proto_decided_by (record, "category"), "billing"));
    assert (streq (cmp_proto_severity (record), "ordinary"));
    cmp_proto_destroy (&record);
    record = s_record ("email", "the coffee was bad, INJURED nobody");
    s_apply (self, record, 0, &result);
    assert (result.matched == 1);
    assert (streq (cmp_proto_severity (record), "critical"));
    cmp_proto_destroy (&record);
    record = s_record ("email", "coffees and toffees");
    s_apply (self, record, 0, &result);
    assert (result.matched == 0);
    cmp_proto_destroy (&record);

    //  Mixed scripts, all: keywords, a pattern, and the demands count
    record = s_record ("web", "那个医生很rude！！！");
    s_apply (self, record, 0, &result);
    assert (result.matched == 2);
    assert (streq (cmp_proto_category (record), "service_attitude"));
    assert (streq (cmp_proto_priority (record), "high"));
    assert (streq (cmp_proto_decided_by (record, "priority"), "shouting"));
    cmp_proto_destroy (&record);

    //  The same in PCRE2's interpreter, and back
    cmp_triage_set_jit (self, false);
    assert (!cmp_triage_jit (self));
    record = s_record ("web", "那个医生很rude！！！");
    s_apply (self, record, 0, &result);
    assert (result.matched == 2);
    assert (streq (cmp_proto_decided_by (record, "priority"), "shouting"));
    cmp_proto_destroy (&record);
    cmp_triage_set_jit (self, s_test_jit ());
    record = s_record ("web", "医生迟到了");
    cmp_proto_set_demands (record, "请退款 refund");
    s_apply (self, record, 0, &result);
    assert (streq (cmp_proto_category (record), "fees_billing"));
    cmp_proto_destroy (&record);

    //  An emergency; the impact sends the priority to the top
    record = s_record ("phone", "老人在大厅摔倒后去世");
    s_apply (self, record, 0, &result);
    assert (result.emergency && !result.classified);
    assert (streq (result.emergency_rules, "death"));
    assert (cmp_proto_emergency (record));
    assert (streq (cmp_proto_impact (record), "public"));
    assert (streq (cmp_proto_sla (record), "emergency"));
    cmp_proto_destroy (&record);

    //  Complainant: tier (any case), channel; repeats raise two steps
    record = s_record ("phone", "queue too long");
    cmp_proto_set_tier (record, "vip");
    cmp_proto_set_repeats (record, 3);
    s_apply (self, record, 0, &result);
    assert (result.matched == 2);
    assert (streq (cmp_proto_priority (record), "urgent"));
    assert (streq (cmp_proto_decided_by (record, "priority"), "repeat"));
    cmp_proto_set_repeats (record, 1);
    s_apply (self, record, 0, &result);
    assert (result.matched == 1);
    assert (streq (cmp_proto_priority (record), "normal"));
    //  A second triage replaces the first
    assert (zlist_size (cmp_proto_matched (record)) == 1);
    assert (zlist_size (cmp_proto_triage_tags (record)) == 1);
    cmp_proto_destroy (&record);

    //  stop: no later rule is tried
    record = s_record ("counter", "收费");
    s_apply (self, record, 0, &result);
    assert (result.matched == 2);
    assert (streq (cmp_proto_group (record), "front_desk"));
    assert (zlist_size (cmp_proto_triage_tags (record)) == 1);
    cmp_proto_destroy (&record);

    //  Text that is not valid UTF-8 is never matched (intake refuses it
    //  before; a triage must not crash on it)
    record = s_record ("web", "\xe5\xa4\x9a\xe6\x94\xb6\xff fee");
    s_apply (self, record, 0, &result);
    assert (result.matched == 0);
    cmp_proto_destroy (&record);

    //  A scan runs ahead of the repeat count: a rule that stops on
    //  repeats must not keep it from running the patterns after it
    cmp_triage_t *ahead =
      s_rules (TABLE "rules:\n"
                     "  - name: again\n    when: {repeats: 2}\n"
                     "    set: {tags: [again]}\n    stop: true\n"
                     "  - name: late\n"
                     "    when: {text: {pattern: '迟到|(?i:\\blate\\b)'}}\n"
                     "    set: {tags: [late]}\n",
               NULL);
    record = s_record ("web", "医生又迟到了");
    cmp_triage_scan_t *scan = cmp_triage_scan_new (ahead, record);
    cmp_triage_apply (ahead, record, 0, scan, &result);
    assert (result.matched == 1);
    assert (
      streq ((char *) zlist_first (cmp_proto_triage_tags (record)), "late"));
    cmp_proto_set_repeats (record, 2);
    cmp_triage_apply (ahead, record, 0, scan, &result);
    assert (result.matched == 1);
    assert (
      streq ((char *) zlist_first (cmp_proto_triage_tags (record)), "again"));
    //  A scan by other rules is not used: these rules scan for themselves
    cmp_triage_apply (self, record, 0, scan, &result);
    assert (result.matched == 1);
    assert (
      streq ((char *) zlist_first (cmp_proto_triage_tags (record)), "repeat"));
    cmp_triage_scan_destroy (&scan);
    cmp_triage_scan_destroy (&scan);
    cmp_proto_destroy (&record);
    //  With a scan, the apply reads the scan's results, not the texts
    //  (which must not change in between: here they do, to show it)
    record = s_record ("web", "医生又迟到了");
    scan = cmp_triage_scan_new (ahead, record);
    cmp_proto_set_description (record, "nothing to see");
    cmp_triage_apply (ahead, record, 0, scan, &result);
    assert (result.matched == 1);
    cmp_triage_apply (ahead, record, 0, NULL, &result);
    assert (result.matched == 0);
    cmp_triage_scan_destroy (&scan);
    cmp_proto_destroy (&record);
    cmp_triage_destroy (&ahead);
    cmp_triage_destroy (&self);
    cmp_triage_destroy (&self);

    //  Time: hours (across midnight), days and working time, in the
    //  calendar's zone
    zlist_t *errors = zlist_new ();
    zlist_autofree (errors);
    const char *week = "zone: Asia/Shanghai\n"
                       "hours: {mon-fri: [09:00-12:00, 13:00-17:00]}\n";
    cmp_yaml_t *yaml = cmp_yaml_new ("cal.yaml", week, strlen (week), errors);
    assert (yaml);
    cmp_calendar_t *calendar =
      cmp_calendar_new (yaml, cmp_yaml_root (yaml), "office");
    assert (calendar);
    cmp_yaml_destroy (&yaml);
    zhashx_t *calendars = zhashx_new ();
    zhashx_insert (calendars, "office", calendar);
    self = s_rules ("calendar: office\n" TABLE "rules:\n"
                    "  - name: night\n"
                    "    when: {hours: 18:00-08:00}\n"
                    "    set: {tags: [night]}\n"
                    "  - name: weekend\n"
                    "    when: {days: [sat, sun]}\n"
                    "    set: {tags: [weekend]}\n"
                    "  - name: closed\n"
                    "    when: {working: false}\n"
                    "    set: {tags: [after_hours]}\n",
                    calendars);
    struct
    {
        int64_t at;                   //  complained_at
        const char *tags;             //  Tags expected, space-separated
    } times[] = {{1794967200000, ""}, //  Wed 10:00
                 {1795001400000, "night after_hours"},   //  Wed 19:30
                 {1795226400000, "weekend after_hours"}, //  Sat 10:00
                 {1794959940000, "night after_hours"}};  //  Wed 07:59
    for (size_t index = 0; index < sizeof (times) / sizeof (times[0]);
         index++) {
        record = s_record ("web", "x");
        cmp_proto_set_complained_at (record, times[index].at);
        s_apply (self, record, 0, &result);
        char tags[128] = "";
        zlist_t *list = cmp_proto_triage_tags (record);
        for (char *tag = (char *) zlist_first (list); tag;
             tag = (char *) zlist_next (list))
            snprintf (tags + strlen (tags), sizeof (tags) - strlen (tags),
                      "%s%s", *tags ? " " : "", tag);
        if (!streq (tags, times[index].tags))
            printf ("at %" PRId64 ": tags \"%s\", expected \"%s\"\n",
                    times[index].at, tags, times[index].tags);
        assert (streq (tags, times[index].tags));
        cmp_proto_destroy (&record);
    }
    cmp_triage_destroy (&self);
    zhashx_destroy (&calendars);
    cmp_calendar_destroy (&calendar);

    //  The shipped rules, with the shipped calendars: every category,
    //  severity words, impact, routing, agitation, and words that must not
    //  match (死机 is no death, 伤心 no injury)
    yaml = cmp_yaml_new ("calendars", cmp_shipped_calendars,
                         strlen (cmp_shipped_calendars), errors);
    assert (yaml);
    calendars = zhashx_new ();
    calendar = cmp_calendar_new (
      yaml,
      cmp_yaml_get (yaml,
                    cmp_yaml_get (yaml, cmp_yaml_root (yaml), "calendars"),
                    "default"),
      "default");
    assert (calendar);
    cmp_yaml_destroy (&yaml);
    zhashx_insert (calendars, "default", calendar);
    self = cmp_triage_new ("triage.yaml", cmp_shipped_triage,
                           strlen (cmp_shipped_triage), calendars, errors);
    assert (self);
    cmp_triage_set_jit (self, s_test_jit ());
    int failures = 0;
    for (int index = 0; s_shipped_cases[index].channel; index++) {
        record = s_record (s_shipped_cases[index].channel,
                           s_shipped_cases[index].description);
        cmp_proto_set_complained_at (record, 1794967200000); //  Wed 10:00
        s_apply (self, record, 0, &result);
        char got[512];
        s_describe (record, got, sizeof (got));
        if (!streq (got, s_shipped_cases[index].expected)) {
            printf ("\n%s\n  expected %s\n  got      %s\n",
                    s_shipped_cases[index].description,
                    s_shipped_cases[index].expected, got);
            failures++;
        }
        cmp_proto_destroy (&record);
    }
    fflush (stdout);
    assert (failures == 0);
    const char *texts[sizeof (s_shipped_cases) / sizeof (s_shipped_cases[0])
                      + sizeof (s_guard_texts) / sizeof (s_guard_texts[0])];
    size_t count = 0;
    for (int index = 0; s_shipped_cases[index].channel; index++)
        texts[count++] = s_shipped_cases[index].description;
    for (int index = 0; s_guard_texts[index]; index++)
        texts[count++] = s_guard_texts[index];
    texts[count] = NULL;
    s_guards_hold (self, texts);
    cmp_triage_destroy (&self);
    zhashx_destroy (&calendars);
    cmp_calendar_destroy (&calendar);
    zlist_destroy (&errors);

    //  The keyword automaton: a keyword inside another, a false start
    //  that falls back, Latin letters in any case, the start of a word
    self = s_rules (TABLE "rules:\n"
                          "  - name: long\n"
                          "    when: {text: [多收费]}\n"
                          "    set: {tags: [long]}\n"
                          "  - name: short\n"
                          "    when: {text: [收费]}\n"
                          "    set: {tags: [short]}\n"
                          "  - name: latin\n"
                          "    when: {text: [Refund Now]}\n"
                          "    set: {tags: [latin]}\n",
                    NULL);
    static const struct
    {
        const char *text;
        size_t matched;
    } keyword_texts[] = {{"多多收费，请 REFUND now!", 3},
                         {"多收费", 2},
                         {"收费", 1},
                         {"多收 费", 0},
                         {"refund no", 0},
                         {"xrefund now", 0},
                         {"(rEfUnD nOw)", 1}};
    for (size_t index = 0;
         index < sizeof (keyword_texts) / sizeof (keyword_texts[0]); index++) {
        record = s_record ("web", keyword_texts[index].text);
        s_apply (self, record, 0, &result);
        assert (result.matched == keyword_texts[index].matched);
        cmp_proto_destroy (&record);
    }
    cmp_triage_destroy (&self);

    //  A pattern with keywords runs on each sentence that holds one of
    //  them, as a text of its own (from its first non-space character,
    //  so ^ is its start); one without, on the whole text
    self = s_rules (TABLE "rules:\n"
                          "  - name: sentence\n"
                          "    when: {text: {any: [退款, refund], pattern: "
                          "'(?i)^(退款|refund).*(到账|came)'}}\n"
                          "    set: {tags: [sentence]}\n"
                          "  - name: whole\n"
                          "    when: {description: {pattern: '退款.*到账'}}\n"
                          "    set: {tags: [whole]}\n",
                    NULL);
    //  The first eight hold the match in one sentence (a blank line ends
    //  one, a line break alone does not; U+3000 does not start one); a
    //  full stop that no space follows ends nothing; across sentences the
    //  keyword's own sentence does not match; the demands are a text of
    //  their own; each sentence with a keyword is tried, the second too
    static const struct
    {
        const char *description;
        const char *demands;
        size_t matched; //  Rules matched
    } sentences[] = {{"收费不对。退款一直没有到账。", NULL, 2},
                     {"收费不对！退款一直没有到账", NULL, 2},
                     {"收费不对？退款一直没有到账！还要等", NULL, 2},
                     {"收费不对\n\n退款一直没有到账\n", NULL, 2},
                     {"收费不对\n \r\n退款一直没有到账", NULL, 2},
                     {"收费不对。　退款一直没有到账", NULL, 2},
                     {"收费不对。\n退款一直没有到账", NULL, 2},
                     {"收费不对\n退款一直没有到账\n", NULL, 1},
                     {"Wrong fee. Refund never came.", NULL, 1},
                     {"Wrong fee!  Refund never came", NULL, 1},
                     {"Refund of 3.5 yuan never came", NULL, 1},
                     {"退款申请了。到现在都没到账", NULL, 1},
                     {"退款申请了\n到现在都没到账", NULL, 0},
                     {"Refund? It never came", NULL, 0},
                     {"Refund?! It never came", NULL, 0},
                     {"收费不对", "退款没到账", 1},
                     {"收费不对", "退款了。没到账", 0},
                     {"退款。退款已到账", NULL, 2}};
    for (size_t index = 0; index < sizeof (sentences) / sizeof (sentences[0]);
         index++) {
        record = s_record ("web", sentences[index].description);
        if (sentences[index].demands)
            cmp_proto_set_demands (record, sentences[index].demands);
        s_apply (self, record, 0, &result);
        if (result.matched != sentences[index].matched) {
            printf ("\n\"%s\" / \"%s\": %zu rules matched, not %zu\n",
                    sentences[index].description,
                    sentences[index].demands ? sentences[index].demands : "",
                    result.matched, sentences[index].matched);
            fflush (stdout);
        }
        assert (result.matched == sentences[index].matched);
        cmp_proto_destroy (&record);
    }
    cmp_triage_destroy (&self);

    //  A run of marks ends one sentence, so a keyword made of marks finds
    //  the whole run; a keyword that ends with a mark takes the next
    //  sentence too
    self = s_rules (TABLE "rules:\n"
                          "  - name: shouting\n"
                          "    when: {text: {any: ['!', '！'], pattern: "
                          "'[!！]{3,}'}}\n"
                          "    set: {tags: [shouting]}\n"
                          "  - name: numbered\n"
                          "    when: {text: {any: [no.], pattern: "
                          "'(?i)no\\. \\d+'}}\n"
                          "    set: {tags: [numbered]}\n",
                    NULL);
    static const struct
    {
        const char *description;
        size_t matched;
    } marks[] = {{"太差了!!!", 1},
                 {"太差了！！！还不退", 1},
                 {"太差了!! 还不退", 0},
                 {"Ticket No. 5 was lost", 1},
                 {"I said no. 5 times", 1}};
    for (size_t index = 0; index < sizeof (marks) / sizeof (marks[0]);
         index++) {
        record = s_record ("web", marks[index].description);
        s_apply (self, record, 0, &result);
        assert (result.matched == marks[index].matched);
        cmp_proto_destroy (&record);
    }
    cmp_triage_destroy (&self);

    //  Errors name the file, the line and the problem
    s_refused ("rules: []\n", "needs a priority table");
    s_refused (TABLE "rules:\n  - name: a\n    set: {severity: huge}\n",
               "bad.yaml:8: rule \"a\": set.severity: \"huge\" is not one of");
    s_refused (TABLE "rules:\n  - name: a\n    when: {text: {pattern: 'a(b'}}\n"
                     "    set: {tags: [x]}\n",
               "bad.yaml:8: rule \"a\": when.text.pattern: missing closing "
               "parenthesis");
    s_refused (TABLE "rules:\n  - name: a\n    set: {tags: [x]}\n"
                     "  - name: a\n    set: {tags: [y]}\n",
               "bad.yaml:9: rule \"a\" is already the name of the rule on "
               "line 7");
    s_refused (TABLE "rules:\n  - name: a\n    when: {colour: red}\n"
                     "    set: {tags: [x]}\n",
               "unknown key \"colour\"");
    s_refused (TABLE "rules:\n  - name: a\n    when: {channel: fax}\n"
                     "    set: {tags: [x]}\n",
               "when.channel: \"fax\" is not one of");
    s_refused (TABLE "rules:\n  - name: a\n    when: {text: []}\n"
                     "    set: {tags: [x]}\n",
               "the list of keywords is empty");
    s_refused (TABLE "rules:\n  - name: a\n    when: {hours: 25:00-08:00}\n"
                     "    set: {tags: [x]}\n",
               "is not HH:MM-HH:MM");
    s_refused (TABLE "rules:\n  - name: a\n    when: {working: true}\n"
                     "    set: {tags: [x]}\n",
               "calendar \"default\" is not defined");
    //  Keywords whose automaton would be too large: 110,000 of four
    //  random CJK characters make some 1,000,000 states of about 110
    //  byte classes
    const char *head = TABLE "rules:\n  - name: many\n    when: {text: [";
    const char *tail = "]}\n    set: {tags: [x]}\n";
    zchunk_t *many = zchunk_new (head, strlen (head));
    uint64_t seed = 0x243F6A8885A308D3ULL;
    for (int keyword = 0; keyword < 110000; keyword++) {
        char word[16] = "";
        for (int character = 0; character < 4; character++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            uint32_t point = 0x4E00 + (uint32_t) ((seed >> 33) % 0x5000);
            char utf8[4] = {(char) (0xE0 | (point >> 12)),
                            (char) (0x80 | ((point >> 6) & 0x3F)),
                            (char) (0x80 | (point & 0x3F)), 0};
            strcat (word, utf8);
        }
        zchunk_extend (many, keyword ? ", " : "", keyword ? 2 : 0);
        zchunk_extend (many, word, strlen (word));
    }
    zchunk_extend (many, tail, strlen (tail) + 1);
    s_refused ((const char *) zchunk_data (many),
               "over the limit of 64 million cells: use fewer keywords");
    zchunk_destroy (&many);
    s_refused (TABLE "rules:\n  - name: a\n    when: {repeats: 0}\n"
                     "    set: {tags: [x]}\n",
               "when.repeats: 0 is outside 1..1000000");
    s_refused (TABLE "rules:\n  - when: {repeats: 1}\n    set: {tags: [x]}\n",
               "rules[0]: needs a name");
    s_refused (TABLE "rules:\n  - name: a\n    when: {repeats: 1}\n",
               "needs a set of actions");
    s_refused ("priority:\n  critical: {one: urgent}\nrules: []\n",
               "priority.critical.several is missing");
    s_refused (TABLE "rules:\n  - name: a\n    set: {tags: [x]\n", "bad.yaml:");
    //  @end
    printf ("OK\n");
}
