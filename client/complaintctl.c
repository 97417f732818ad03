/*  =========================================================================
    complaintctl - command-line tool for complaintd

    Every request goes through libcomplaint (cmp_client, cmp_subscriber);
    this file only parses arguments and prints. Exit status: 0 success,
    1 the daemon refused the request (its message is printed), 2 usage,
    3 no answer from the daemon.

    The case actions (assign, propose, close, ...) are one table, s_actions:
    each command sends one ACT. Which fields an action needs or allows is
    the daemon's to say (it answers 422 naming the field); this tool only
    checks the syntax of the options. retriage also has a bulk form: given
    the filters of list instead of an id, it retriages every complaint
    they find, page by page.
    =========================================================================
*/

#include <jansson.h>
#include <pwd.h>

#include "complaint.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_NO_ANSWER 3

typedef struct
{
    const char *intake; //  Intake endpoint
    const char *api;    //  API endpoint
    const char *events; //  Events endpoint
    const char *actor;  //  Who sends the requests, NULL if not known
    bool actor_given;   //  --actor or $COMPLAINT_ACTOR named the actor
    bool json;          //  Print JSON
    int timeout;        //  Call timeout, ms
} s_options_t;

//  The case actions: one command per ACT action, and the fields the daemon
//  wants with it (for the usage text; the daemon checks them)
static const struct
{
    const char *command; //  Command, "request-info"
    const char *action;  //  ACT action on the wire, "request_info"
    const char *options; //  Options it takes, besides --version
} s_actions[] = {
  {"triage", "triage", "--category C [--severity S] [--priority P]"},
  {"assign", "assign", "--department D [--handler H]"},
  {"recuse", "recuse", "--reason R"},
  {"start", "start", "[--text T]"},
  {"request-info", "request_info", "--text T"},
  {"info-received", "info_received", "[--text T]"},
  {"note", "note", "--text T"},
  {"contact", "contact", "--direction in|out --channel C --summary S"},
  {"propose", "propose", "--text T [--kind K] [--amount N --currency CUR]"},
  {"approve", "approve", "[--text T]"},
  {"reject-proposal", "reject_proposal", "--reason R"},
  {"tell", "tell", "[--text T] [--channel C]"},
  {"answer", "answer", "--accept [--reason R] | --reject --reason R"},
  {"resolve", "resolve", "[--text T]"},
  {"resolve-on-spot", "resolve_on_spot", "--text T"},
  {"follow-up", "follow_up", "--satisfaction 1-5 [--comment T]"},
  {"close", "close", "--reason R"},
  {"reopen", "reopen", "--reason R"},
  {"withdraw", "withdraw", "--reason R"},
  {"merge", "merge", "--into NUMBER [--reason R]"},
  {"refer", "refer", "--route R [--text T]"},
  {"extend", "extend", "--reason R"},
  {"reclassify", "reclassify",
   "--reason R [--category C] [--subcategory S] [--severity S] [--impact I] "
   "[--priority P] [--sla S]"},
  {"retriage", "retriage", "[--reason R]"},
  {"archive", "archive", "[--reason R]"},
  {NULL, NULL, NULL}};

//  How an option of the action commands is given
typedef enum
{
    O_TEXT,   //  --name TEXT
    O_NUMBER, //  --name N, a non-negative integer
    O_FLAG    //  --name alone, sets a boolean field to value
} s_kind_t;

//  The options of the action commands and the ACT field each one sets
static const struct
{
    const char *name;                             //  "--department"
    const char *field;                            //  ACT field
    s_kind_t kind;                                //  How it is given
    void (*set_number) (cmp_proto_t *, uint64_t); //  O_NUMBER
    void (*set_flag) (cmp_proto_t *, bool);       //  O_FLAG
    bool value;                                   //  O_FLAG: value
} s_act_options[] = {
  {"--department", "department", O_TEXT, NULL, NULL, false},
  {"--handler", "handler", O_TEXT, NULL, NULL, false},
  {"--category", "category", O_TEXT, NULL, NULL, false},
  {"--subcategory", "subcategory", O_TEXT, NULL, NULL, false},
  {"--severity", "severity", O_TEXT, NULL, NULL, false},
  {"--impact", "impact", O_TEXT, NULL, NULL, false},
  {"--priority", "priority", O_TEXT, NULL, NULL, false},
  {"--sla", "sla", O_TEXT, NULL, NULL, false},
  {"--reason", "reason", O_TEXT, NULL, NULL, false},
  {"--text", "text", O_TEXT, NULL, NULL, false},
  {"--direction", "direction", O_TEXT, NULL, NULL, false},
  {"--channel", "channel", O_TEXT, NULL, NULL, false},
  {"--summary", "summary", O_TEXT, NULL, NULL, false},
  {"--kind", "kind", O_TEXT, NULL, NULL, false},
  {"--amount", "amount", O_NUMBER, cmp_proto_set_amount, NULL, false},
  {"--currency", "currency", O_TEXT, NULL, NULL, false},
  {"--accept", "accepted", O_FLAG, NULL, cmp_proto_set_accepted, true},
  {"--reject", "accepted", O_FLAG, NULL, cmp_proto_set_accepted, false},
  {"--satisfaction", "satisfaction", O_NUMBER, cmp_proto_set_satisfaction, NULL,
   false},
  {"--comment", "comment", O_TEXT, NULL, NULL, false},
  {"--into", "into", O_TEXT, NULL, NULL, false},
  {"--route", "route", O_TEXT, NULL, NULL, false},
  {"--version", "version", O_NUMBER, cmp_proto_set_version, NULL, false},
  {NULL, NULL, O_TEXT, NULL, NULL, false}};

//  Print "  COMMAND ID OPTIONS", the options wrapped at 79 columns, each
//  continuation under the first option
static void
s_usage_action (FILE *file, const char *command, const char *options)
{
    int indent = fprintf (file, "  %s ID ", command);
    int column = indent;
    const char *at = options;
    while (*at) {
        //  The next word: up to a space outside brackets
        size_t size = 0;
        int depth = 0;
        while (at[size] && (at[size] != ' ' || depth > 0)) {
            if (at[size] == '[')
                depth++;
            else if (at[size] == ']')
                depth--;
            size++;
        }
        if (column > indent && column + 1 + (int) size > 79) {
            fprintf (file, "\n%*s", indent, "");
            column = indent;
        } else if (column > indent) {
            fputc (' ', file);
            column++;
        }
        column += fprintf (file, "%.*s", (int) size, at);
        at += size;
        while (*at == ' ')
            at++;
    }
    fputc ('\n', file);
}

static void
s_usage (FILE *file)
{
    fprintf (
      file,
      "usage: complaintctl [global options] COMMAND [options]\n"
      "commands:\n"
      "  submit --channel C --description TEXT [--ref R] [--name N]\n"
      "         [--phone P] [--email E] [--anonymous] [--relation R]\n"
      "         [--tier T] [--department D] [--staff S] [--location L]\n"
      "         [--demands TEXT] [--complained-at TIME] [--attach URI]...\n"
      "         [--tag T]...\n"
      "  get ID\n"
      "  history ID [--from N] [--limit N]\n"
      "  list [--from TIME] [--to TIME] [--updated-from TIME]\n"
      "       [--updated-to TIME] [--channel C] [--state S] [--department D]\n"
      "       [--handler H] [--category C] [--priority P]\n"
      "       [--due-before TIME | --due-within DURATION] [--breached]\n"
      "       [--level L] [--limit N] [--after CURSOR] [--all]\n"
      "  count [the filters of list]\n"
      "  sla ID        the complaint's deadline clocks: state, target, time\n"
      "                used and remaining (h:mm), due time, met or missed,\n"
      "                and its escalation level\n"
      "  watch [--from SEQ] [--count N]\n"
      "  health [--intake]\n"
      "  reload        read the configuration, the triage rules and the\n"
      "                deadline policies again (admin)\n"
      "  tick --at TIME\n"
      "                move the daemon's test clock to TIME and fire the\n"
      "                deadlines due by then (admin; the daemon must run\n"
      "                on a test clock, clock/test)\n"
      "case actions (each also takes --version N, the version the action\n"
      "is based on; the daemon refuses it with 412 if the complaint moved "
      "on):\n");
    for (int index = 0; s_actions[index].command; index++)
        s_usage_action (file, s_actions[index].command,
                        s_actions[index].options);
    fprintf (
      file,
      "retriage with the filters of list instead of an id: every complaint\n"
      "list finds, each at the version listed (so no --version), one line\n"
      "each, then how many were retriaged and refused (exit 1 if any was):\n"
      "  retriage --state S [the other filters of list] [--reason R]\n"
      "global options:\n"
      "  --actor NAME  who sends the requests (default $COMPLAINT_ACTOR or\n"
      "                the login name); submit names an actor only when\n"
      "                --actor or $COMPLAINT_ACTOR gives one, else it is\n"
      "                the channel adapter's\n"
      "  --intake EP   intake endpoint (default $COMPLAINTD_INTAKE or\n"
      "                tcp://127.0.0.1:7470)\n"
      "  --api EP      API endpoint (default $COMPLAINTD_API or\n"
      "                tcp://127.0.0.1:7471)\n"
      "  --events EP   events endpoint (default $COMPLAINTD_EVENTS or\n"
      "                tcp://127.0.0.1:7472)\n"
      "  --timeout MS  how long to wait for a reply (default 5000)\n"
      "  --json        print replies as JSON, one object per line\n"
      "ID is a complaint id (42) or number (YYYYMMDD-NNNNNN).\n"
      "TIME is milliseconds since the epoch, YYYY-MM-DD or\n"
      "YYYY-MM-DDTHH:MM[:SS] (local time).\n"
      "DURATION is a number and a unit, s, m, h, d or w, or several (90m,\n"
      "2h, 3d, 1h30m); --due-within D is --due-before now + D (this\n"
      "machine's clock): complaints with a running clock due by then.\n"
      "--breached: complaints with a clock past its due time that has not\n"
      "stopped; --level L: complaints at level L of the escalation ladder.\n"
      "--amount is in minor units (fen, cents); --satisfaction is 1 to 5.\n"
      "Action names may also be written as on the wire (request_info).\n");
}

static const char *
s_env (const char *name, const char *fallback)
{
    const char *value = getenv (name);
    return value && *value ? value : fallback;
}

//  Parse TIME; returns 0 or -1
static int
s_parse_time (const char *text, int64_t *result)
{
    char *end;
    long long number = strtoll (text, &end, 10);
    if (*text && *end == 0) {
        *result = number;
        return 0;
    }
    struct tm tm;
    memset (&tm, 0, sizeof (tm));
    const char *rest = strptime (text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest || *rest) {
        memset (&tm, 0, sizeof (tm));
        rest = strptime (text, "%Y-%m-%dT%H:%M", &tm);
    }
    if (!rest || *rest) {
        memset (&tm, 0, sizeof (tm));
        rest = strptime (text, "%Y-%m-%d", &tm);
    }
    if (!rest || *rest)
        return -1;
    tm.tm_isdst = -1;
    *result = (int64_t) mktime (&tm) * 1000;
    return 0;
}

static void
s_format_time (int64_t time, char *text, size_t size)
{
    time_t seconds = (time_t) (time / 1000);
    struct tm tm;
    localtime_r (&seconds, &tm);
    strftime (text, size, "%Y-%m-%d %H:%M:%S", &tm);
}

//  Time as local ISO 8601, 2026-11-23T09:14:05
static void
s_format_iso (int64_t time, char *text, size_t size)
{
    time_t seconds = (time_t) (time / 1000);
    struct tm tm;
    localtime_r (&seconds, &tm);
    strftime (text, size, "%Y-%m-%dT%H:%M:%S", &tm);
}

//  Parse a non-negative decimal integer; returns 0 or -1
static int
s_parse_uint (const char *text, uint64_t *result)
{
    if (!*text || strspn (text, "0123456789") != strlen (text))
        return -1;
    errno = 0;
    unsigned long long value = strtoull (text, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *result = (uint64_t) value;
    return 0;
}

//  Parse DURATION, one or more of a number and a unit (s, m, h, d, w):
//  "90m", "3d", "1h30m"; returns 0 or -1
static int
s_parse_duration (const char *text, int64_t *result)
{
    int64_t total = 0;
    const char *at = text;
    if (!*at)
        return -1;
    while (*at) {
        if (*at < '0' || *at > '9')
            return -1;
        char *end;
        errno = 0;
        unsigned long long number = strtoull (at, &end, 10);
        int64_t unit;
        switch (*end) {
            case 's': unit = 1000; break;
            case 'm': unit = 60 * 1000; break;
            case 'h': unit = 3600 * 1000; break;
            case 'd': unit = 24 * 3600 * 1000; break;
            case 'w': unit = 7 * 24 * 3600 * 1000LL; break;
            default: return -1;
        }
        if (errno == ERANGE
            || number > (unsigned long long) ((INT64_MAX - total) / unit))
            return -1;
        total += (int64_t) number * unit;
        at = end + 1;
    }
    *result = total;
    return 0;
}

//  Clock time as h:mm, "-" before it when negative: 12:05, -1:30
static void
s_format_hm (int64_t time, char *text, size_t size)
{
    uint64_t magnitude =
      time < 0 ? (uint64_t) 0 - (uint64_t) time : (uint64_t) time;
    uint64_t minutes = magnitude / 60000;
    snprintf (text, size, "%s%" PRIu64 ":%02" PRIu64, time < 0 ? "-" : "",
              minutes / 60, minutes % 60);
}

//  Name the complaint of a GET, HISTORY or ACT: digits are an id,
//  anything else a number. Returns 0, or -1 (message printed).
static int
s_set_target (cmp_proto_t *request, const char *command, const char *text)
{
    uint64_t id;
    if (*text >= '0' && *text <= '9' && strchr (text, '-') == NULL) {
        if (s_parse_uint (text, &id)) {
            fprintf (stderr,
                     "complaintctl: %s: \"%s\" is neither an id nor a "
                     "number (YYYYMMDD-NNNNNN)\n",
                     command, text);
            return -1;
        }
        cmp_proto_set_complaint_id (request, id);
    } else
        cmp_proto_set_number (request, text);
    return 0;
}

//  Print text on one line: control characters as \n, \t or \xNN
static void
s_print_inline (const char *text)
{
    for (const char *at = text ? text : "(none)"; *at; at++) {
        unsigned char character = (unsigned char) *at;
        if (character == '\n')
            fputs ("\\n", stdout);
        else if (character == '\r')
            fputs ("\\r", stdout);
        else if (character == '\t')
            fputs ("\\t", stdout);
        else if (character < 0x20 || character == 0x7f)
            printf ("\\x%02x", character);
        else
            putchar (character);
    }
}

//  A string or "-" for printf, never NULL
static const char *
s_or_dash (const char *text)
{
    return text ? text : "-";
}

//  Bytes of text to print for at most max bytes, never cutting a UTF-8
//  character in half
static int
s_cut (const char *text, size_t max)
{
    size_t size = strlen (text);
    if (size <= max)
        return (int) size;
    while (max > 0 && ((unsigned char) text[max] & 0xc0) == 0x80)
        max--;
    return (int) max;
}

//  Print a refusal and return the exit status for it
static int
s_refused (cmp_proto_t *reply)
{
    fprintf (stderr, "complaintctl: %" PRIu64 " %s: %s\n",
             cmp_proto_status (reply), cmp_proto_code (reply),
             cmp_proto_message (reply));
    return EXIT_REFUSED;
}

//  Call endpoint; returns the reply or NULL (message printed)
static cmp_proto_t *
s_call (s_options_t *options, const char *endpoint, cmp_proto_t **request_p)
{
    cmp_client_t *client = cmp_client_new (endpoint);
    if (!client) {
        fprintf (stderr, "complaintctl: invalid endpoint %s\n", endpoint);
        cmp_proto_destroy (request_p);
        return NULL;
    }
    cmp_client_set_timeout (client, options->timeout);
    cmp_proto_t *reply = cmp_client_call (client, request_p);
    cmp_client_destroy (&client);
    if (!reply)
        fprintf (stderr, "complaintctl: no answer from %s within %d ms\n",
                 endpoint, options->timeout);
    return reply;
}

static void
s_print_json (cmp_proto_t *message)
{
    char *json = cmp_proto_json (message);
    printf ("%s\n", json ? json : "{}");
    zstr_free (&json);
}

static void
s_print_line (const char *label, const char *value)
{
    if (value)
        printf ("%-14s %s\n", label, value);
}

//  A line of a part of the record (case, proposal, ...), indented
static void
s_print_part (const char *label, const char *value)
{
    if (value)
        printf ("  %-12s %s\n", label, value);
}

//  A list as one indented line, its items separated by ", "; empty as
//  empty_text, or not at all if that is NULL
static void
s_print_part_list (const char *label, zlist_t *list, const char *empty_text)
{
    if (zlist_size (list) == 0) {
        s_print_part (label, empty_text);
        return;
    }
    printf ("  %-12s ", label);
    const char *separator = "";
    for (char *item = (char *) zlist_first (list); item;
         item = (char *) zlist_next (list)) {
        printf ("%s", separator);
        s_print_inline (item);
        separator = ", ";
    }
    printf ("\n");
}

//  The case fields a triage decides, in the order get shows them
static const char *s_decided_fields[] = {
  "category",   "subcategory", "severity", "impact",    "priority",
  "department", "sla",         "group",    "emergency", NULL};

static void
s_print_triage (cmp_proto_t *record)
{
    bool decided = false;
    for (int index = 0; s_decided_fields[index]; index++)
        decided |=
          cmp_proto_decided_by (record, s_decided_fields[index]) != NULL;
    zlist_t *matched = cmp_proto_matched (record);
    zlist_t *tags = cmp_proto_triage_tags (record);
    zlist_t *repeat_of = cmp_proto_repeat_of (record);
    if (!cmp_proto_rules (record) && !cmp_proto_has (record, "triaged_at")
        && !decided && zlist_size (matched) == 0 && zlist_size (tags) == 0
        && !cmp_proto_has (record, "repeats") && zlist_size (repeat_of) == 0)
        return;
    char text[256];
    printf ("triage:\n");
    s_print_part ("rules:", cmp_proto_rules (record));
    if (cmp_proto_has (record, "triaged_at")) {
        s_format_time (cmp_proto_triaged_at (record), text, sizeof (text));
        s_print_part ("triaged:", text);
    }
    s_print_part_list ("matched:", matched,
                       cmp_proto_rules (record) ? "(no rule)" : NULL);
    //  One line per field: field <- the rule that decided it
    for (int index = 0; s_decided_fields[index]; index++) {
        const char *rule =
          cmp_proto_decided_by (record, s_decided_fields[index]);
        if (rule) {
            printf ("  %-12s %s <- ", "decided by:", s_decided_fields[index]);
            s_print_inline (rule);
            printf ("\n");
        }
    }
    s_print_part_list ("tags:", tags, NULL);
    if (cmp_proto_has (record, "repeats") || zlist_size (repeat_of)) {
        printf ("  %-12s %" PRIu64, "repeats:", cmp_proto_repeats (record));
        const char *separator = " (";
        for (char *item = (char *) zlist_first (repeat_of); item;
             item = (char *) zlist_next (repeat_of)) {
            printf ("%s", separator);
            s_print_inline (item);
            separator = ", ";
        }
        printf ("%s\n", zlist_size (repeat_of) ? ")" : "");
    }
}

static void
s_print_complaint (cmp_proto_t *record)
{
    char text[256];
    char time[32];
    snprintf (text, sizeof (text), "%" PRIu64, cmp_proto_complaint_id (record));
    s_print_line ("number:", cmp_proto_number (record));
    s_print_line ("id:", text);
    s_print_line ("state:", cmp_proto_state (record));
    if (cmp_proto_has (record, "version")) {
        snprintf (text, sizeof (text), "%" PRIu64, cmp_proto_version (record));
        s_print_line ("version:", text);
    }
    if (cmp_proto_has (record, "updated_at")) {
        s_format_time (cmp_proto_updated_at (record), text, sizeof (text));
        s_print_line ("updated:", text);
    }
    if (cmp_proto_has (record, "history")) {
        snprintf (text, sizeof (text), "%" PRIu64 " entries",
                  cmp_proto_history (record));
        s_print_line ("history:", text);
    }
    s_print_line ("channel:", cmp_proto_channel (record));
    s_print_line ("ref:", cmp_proto_ref (record));
    s_format_time (cmp_proto_received_at (record), text, sizeof (text));
    s_print_line ("received:", text);
    s_format_time (cmp_proto_complained_at (record), text, sizeof (text));
    s_print_line ("complained:", text);
    if (cmp_proto_anonymous (record))
        s_print_line ("complainant:", "(anonymous)");
    s_print_line ("name:", cmp_proto_name (record));
    s_print_line ("phone:", cmp_proto_phone (record));
    s_print_line ("email:", cmp_proto_email (record));
    s_print_line ("relation:", cmp_proto_relation (record));
    s_print_line ("tier:", cmp_proto_tier (record));
    s_print_line ("department:", cmp_proto_department (record));
    s_print_line ("staff:", cmp_proto_staff (record));
    s_print_line ("location:", cmp_proto_location (record));
    s_print_line ("description:", cmp_proto_description (record));
    s_print_line ("demands:", cmp_proto_demands (record));
    zlist_t *list = cmp_proto_attachments (record);
    for (char *item = (char *) zlist_first (list); item;
         item = (char *) zlist_next (list))
        s_print_line ("attachment:", item);
    list = cmp_proto_tags (record);
    for (char *item = (char *) zlist_first (list); item;
         item = (char *) zlist_next (list))
        s_print_line ("tag:", item);

    //  The case: who handles it and how it ended
    if (cmp_proto_case_department (record) || cmp_proto_handler (record)
        || cmp_proto_category (record) || cmp_proto_severity (record)
        || cmp_proto_priority (record) || cmp_proto_subcategory (record)
        || cmp_proto_impact (record) || cmp_proto_sla (record)
        || cmp_proto_group (record) || cmp_proto_emergency (record)
        || cmp_proto_extended (record) || cmp_proto_has (record, "merged_into")
        || cmp_proto_route (record) || cmp_proto_resolution (record)
        || cmp_proto_reason (record)) {
        printf ("case:\n");
        s_print_part ("department:", cmp_proto_case_department (record));
        s_print_part ("handler:", cmp_proto_handler (record));
        s_print_part ("category:", cmp_proto_category (record));
        s_print_part ("subcategory:", cmp_proto_subcategory (record));
        s_print_part ("severity:", cmp_proto_severity (record));
        s_print_part ("impact:", cmp_proto_impact (record));
        s_print_part ("priority:", cmp_proto_priority (record));
        s_print_part ("sla:", cmp_proto_sla (record));
        s_print_part ("group:", cmp_proto_group (record));
        if (cmp_proto_emergency (record))
            s_print_part ("emergency:", "yes (emergency plan)");
        if (cmp_proto_extended (record))
            s_print_part ("extended:", "yes (once)");
        if (cmp_proto_has (record, "merged_into")) {
            snprintf (text, sizeof (text), "id %" PRIu64,
                      cmp_proto_merged_into (record));
            s_print_part ("merged into:", text);
        }
        s_print_part ("route:", cmp_proto_route (record));
        s_print_part ("resolution:", cmp_proto_resolution (record));
        s_print_part ("reason:", cmp_proto_reason (record));
    }
    //  The triage: by which rules and when, which rules matched, which
    //  rule decided each field, and the complainant's earlier complaints
    s_print_triage (record);
    //  The proposal, and who proposed and approved it
    if (cmp_proto_proposal (record) || cmp_proto_has (record, "proposed_at")) {
        printf ("%-14s %s\n",
                "proposal:", s_or_dash (cmp_proto_proposal (record)));
        s_print_part ("kind:", cmp_proto_kind (record));
        if (cmp_proto_has (record, "amount")) {
            snprintf (text, sizeof (text), "%" PRIu64 " %s (minor units)",
                      cmp_proto_amount (record),
                      s_or_dash (cmp_proto_currency (record)));
            s_print_part ("amount:", text);
        }
        if (cmp_proto_has (record, "proposed_at")) {
            s_format_time (cmp_proto_proposed_at (record), time, sizeof (time));
            snprintf (text, sizeof (text), "%s by %s", time,
                      s_or_dash (cmp_proto_proposed_by (record)));
            s_print_part ("proposed:", text);
        }
        if (cmp_proto_has (record, "approved_at")
            || cmp_proto_approved_by (record)) {
            s_format_time (cmp_proto_approved_at (record), time, sizeof (time));
            snprintf (text, sizeof (text), "%s by %s", time,
                      s_or_dash (cmp_proto_approved_by (record)));
            s_print_part ("approved:", text);
        }
    }
    //  The complainant's answer to the decision
    if (cmp_proto_has (record, "accepted")) {
        s_format_time (cmp_proto_answered_at (record), time, sizeof (time));
        snprintf (text, sizeof (text), "%s, %s",
                  cmp_proto_accepted (record) ? "accepted" : "rejected", time);
        s_print_line ("answer:", text);
        s_print_part ("reason:", cmp_proto_answer_reason (record));
    }
    //  The follow-up
    if (cmp_proto_has (record, "satisfaction")) {
        s_format_time (cmp_proto_followed_up_at (record), time, sizeof (time));
        snprintf (text, sizeof (text), "satisfaction %" PRIu64 " of 5, %s",
                  cmp_proto_satisfaction (record), time);
        s_print_line ("follow-up:", text);
        s_print_part ("comment:", cmp_proto_comment (record));
    }
    //  The contact log, oldest first
    zlistx_t *contacts = cmp_proto_items (record);
    for (cmp_proto_t *contact = (cmp_proto_t *) zlistx_first (contacts);
         contact; contact = (cmp_proto_t *) zlistx_next (contacts)) {
        s_format_time (cmp_proto_at (contact), time, sizeof (time));
        printf ("%-14s %s, %s by %s, %s: %s\n", "contact:", time,
                s_or_dash (cmp_proto_direction (contact)),
                s_or_dash (cmp_proto_channel (contact)),
                s_or_dash (cmp_proto_actor (contact)),
                s_or_dash (cmp_proto_summary (contact)));
    }
    //  The deadlines: the policy, the escalation level, one line a clock
    zlistx_t *clocks = cmp_proto_clocks (record);
    if (cmp_proto_sla_policy (record) || cmp_proto_level (record)
        || zlistx_size (clocks)) {
        printf ("deadlines:\n");
        s_print_part ("policy:", cmp_proto_sla_policy (record));
        s_print_part ("level:", cmp_proto_level (record));
        for (cmp_proto_t *clock = (cmp_proto_t *) zlistx_first (clocks); clock;
             clock = (cmp_proto_t *) zlistx_next (clocks)) {
            //  name state, then met or missed, or when it is due
            const char *state = s_or_dash (cmp_proto_state (clock));
            bool stopped = streq (state, "stopped");
            char due[48] = "";
            if (streq (state, "running") && cmp_proto_due_at (clock)) {
                s_format_time (cmp_proto_due_at (clock), time, sizeof (time));
                snprintf (due, sizeof (due), ", due %s", time);
            }
            snprintf (
              text, sizeof (text), "%s %s%s%s%s",
              s_or_dash (cmp_proto_clock (clock)), state, stopped ? ", " : due,
              stopped ? s_or_dash (cmp_proto_outcome (clock)) : "",
              !stopped && cmp_proto_breached_at (clock) ? ", breached" : "");
            s_print_part ("clock:", text);
        }
    }
}

//  Options of a command: "--name value" pairs and flags
static const char *
s_take (int argc, char *argv[], int *index, const char *name)
{
    if (!streq (argv[*index], name))
        return NULL;
    if (*index + 1 >= argc) {
        fprintf (stderr, "complaintctl: %s needs a value\n", name);
        exit (EXIT_USAGE);
    }
    *index += 1;
    return argv[*index];
}

static int
s_submit (s_options_t *options, int argc, char *argv[])
{
    cmp_proto_t *request = cmp_proto_new (CMP_PROTO_SUBMIT);
    char generated[48] = "";
    //  Without an actor named on purpose, the channel's adapter submits
    if (options->actor_given)
        cmp_proto_set_actor (request, options->actor);
    for (int index = 0; index < argc; index++) {
        const char *value;
        if ((value = s_take (argc, argv, &index, "--channel")))
            cmp_proto_set_channel (request, value);
        else if ((value = s_take (argc, argv, &index, "--ref")))
            cmp_proto_set_ref (request, value);
        else if ((value = s_take (argc, argv, &index, "--description")))
            cmp_proto_set_description (request, value);
        else if ((value = s_take (argc, argv, &index, "--name")))
            cmp_proto_set_name (request, value);
        else if ((value = s_take (argc, argv, &index, "--phone")))
            cmp_proto_set_phone (request, value);
        else if ((value = s_take (argc, argv, &index, "--email")))
            cmp_proto_set_email (request, value);
        else if ((value = s_take (argc, argv, &index, "--relation")))
            cmp_proto_set_relation (request, value);
        else if ((value = s_take (argc, argv, &index, "--tier")))
            cmp_proto_set_tier (request, value);
        else if ((value = s_take (argc, argv, &index, "--department")))
            cmp_proto_set_department (request, value);
        else if ((value = s_take (argc, argv, &index, "--staff")))
            cmp_proto_set_staff (request, value);
        else if ((value = s_take (argc, argv, &index, "--location")))
            cmp_proto_set_location (request, value);
        else if ((value = s_take (argc, argv, &index, "--demands")))
            cmp_proto_set_demands (request, value);
        else if ((value = s_take (argc, argv, &index, "--attach")))
            cmp_proto_add_attachment (request, value);
        else if ((value = s_take (argc, argv, &index, "--tag")))
            cmp_proto_add_tag (request, value);
        else if ((value = s_take (argc, argv, &index, "--complained-at"))) {
            int64_t time;
            if (s_parse_time (value, &time)) {
                fprintf (stderr,
                         "complaintctl: --complained-at: \"%s\" is not "
                         "a time\n",
                         value);
                cmp_proto_destroy (&request);
                return EXIT_USAGE;
            }
            cmp_proto_set_complained_at (request, time);
        } else if (streq (argv[index], "--anonymous"))
            cmp_proto_set_anonymous (request, true);
        else {
            fprintf (stderr, "complaintctl: submit: unknown option %s\n",
                     argv[index]);
            cmp_proto_destroy (&request);
            return EXIT_USAGE;
        }
    }
    //  Without --ref, make one; resending with it is then idempotent
    if (!cmp_proto_ref (request)) {
        zuuid_t *uuid = zuuid_new ();
        snprintf (generated, sizeof (generated), "ctl-%s", zuuid_str (uuid));
        zuuid_destroy (&uuid);
        cmp_proto_set_ref (request, generated);
    }
    cmp_proto_t *reply = s_call (options, options->intake, &request);
    if (!reply)
        return EXIT_NO_ANSWER;
    int status = EXIT_SUCCESS;
    if (cmp_proto_id (reply) != CMP_PROTO_SUBMITTED)
        status = s_refused (reply);
    else if (options->json)
        s_print_json (reply);
    else
        printf ("%s %s (id %" PRIu64 ")%s%s\n",
                cmp_proto_duplicate (reply) ? "already registered as"
                                            : "registered",
                cmp_proto_number (reply), cmp_proto_complaint_id (reply),
                *generated ? ", ref " : "", generated);
    cmp_proto_destroy (&reply);
    return status;
}

//  GET or SLA of one complaint (command name), printed by print
static int
s_show (s_options_t *options,
        int argc,
        char *argv[],
        const char *name,
        int request_id,
        int reply_id,
        void (*print) (cmp_proto_t *))
{
    if (argc != 1 || argv[0][0] == '-') {
        fprintf (stderr, "complaintctl: %s needs one id or number\n", name);
        return EXIT_USAGE;
    }
    cmp_proto_t *request = cmp_proto_new (request_id);
    cmp_proto_set_actor (request, options->actor);
    if (s_set_target (request, name, argv[0])) {
        cmp_proto_destroy (&request);
        return EXIT_USAGE;
    }
    cmp_proto_t *reply = s_call (options, options->api, &request);
    if (!reply)
        return EXIT_NO_ANSWER;
    int status = EXIT_SUCCESS;
    if (cmp_proto_id (reply) != reply_id)
        status = s_refused (reply);
    else if (options->json)
        s_print_json (reply);
    else
        print (reply);
    cmp_proto_destroy (&reply);
    return status;
}

static int
s_get (s_options_t *options, int argc, char *argv[])
{
    return s_show (options, argc, argv, "get", CMP_PROTO_GET,
                   CMP_PROTO_COMPLAINT, s_print_complaint);
}

//  Build a LIST or COUNT from the command line; NULL after a usage error.
//  Sets *all when LIST is to fetch every page.
static cmp_proto_t *
s_query (s_options_t *options,
         int id,
         const char *name,
         int argc,
         char *argv[],
         bool *all)
{
    cmp_proto_t *request = cmp_proto_new (id);
    cmp_proto_set_actor (request, options->actor);
    for (int index = 0; index < argc; index++) {
        const char *value;
        int64_t time;
        const char *option = argv[index];
        if ((value = s_take (argc, argv, &index, "--from"))
            || (value = s_take (argc, argv, &index, "--to"))
            || (value = s_take (argc, argv, &index, "--updated-from"))
            || (value = s_take (argc, argv, &index, "--updated-to"))) {
            if (s_parse_time (value, &time)) {
                fprintf (stderr, "complaintctl: \"%s\" is not a time\n", value);
                cmp_proto_destroy (&request);
                return NULL;
            }
            if (streq (option, "--from"))
                cmp_proto_set_from (request, time);
            else if (streq (option, "--to"))
                cmp_proto_set_to (request, time);
            else if (streq (option, "--updated-from"))
                cmp_proto_set_updated_from (request, time);
            else
                cmp_proto_set_updated_to (request, time);
        } else if ((value = s_take (argc, argv, &index, "--channel")))
            cmp_proto_set_channel (request, value);
        else if ((value = s_take (argc, argv, &index, "--state")))
            cmp_proto_set_state (request, value);
        else if ((value = s_take (argc, argv, &index, "--department")))
            cmp_proto_set_case_department (request, value);
        else if ((value = s_take (argc, argv, &index, "--handler")))
            cmp_proto_set_handler (request, value);
        else if ((value = s_take (argc, argv, &index, "--category")))
            cmp_proto_set_category (request, value);
        else if ((value = s_take (argc, argv, &index, "--priority")))
            cmp_proto_set_priority (request, value);
        else if ((value = s_take (argc, argv, &index, "--level")))
            cmp_proto_set_level (request, value);
        else if (streq (option, "--breached"))
            cmp_proto_set_breached (request, true);
        else if ((value = s_take (argc, argv, &index, "--due-before"))
                 || (value = s_take (argc, argv, &index, "--due-within"))) {
            bool within = streq (option, "--due-within");
            if (cmp_proto_has (request, "due_before")) {
                fprintf (stderr,
                         "complaintctl: %s: give one of --due-before and "
                         "--due-within, once\n",
                         name);
                cmp_proto_destroy (&request);
                return NULL;
            }
            if (within ? s_parse_duration (value, &time)
                       : s_parse_time (value, &time)) {
                fprintf (stderr, "complaintctl: %s: \"%s\" is not a %s\n",
                         option, value, within ? "duration" : "time");
                cmp_proto_destroy (&request);
                return NULL;
            }
            cmp_proto_set_due_before (request,
                                      within ? zclock_time () + time : time);
        } else if (id == CMP_PROTO_LIST
                   && (value = s_take (argc, argv, &index, "--limit")))
            cmp_proto_set_limit (request, strtoull (value, NULL, 10));
        else if (id == CMP_PROTO_LIST
                 && (value = s_take (argc, argv, &index, "--after")))
            cmp_proto_set_after (request, value);
        else if (id == CMP_PROTO_LIST && streq (option, "--all"))
            *all = true;
        else {
            fprintf (stderr, "complaintctl: %s: unknown option %s\n", name,
                     option);
            cmp_proto_destroy (&request);
            return NULL;
        }
    }
    return request;
}

//  A copy of a request, for the next page of a query: the filters stay as
//  they were parsed (--due-within is not counted from a later now)
static cmp_proto_t *
s_copy (cmp_proto_t *request)
{
    zframe_t *frame = cmp_proto_encode (request);
    cmp_proto_t *copy =
      cmp_proto_decode (zframe_data (frame), zframe_size (frame), NULL);
    assert (copy);
    zframe_destroy (&frame);
    return copy;
}

static int
s_count (s_options_t *options, int argc, char *argv[])
{
    bool all = false;
    cmp_proto_t *request =
      s_query (options, CMP_PROTO_COUNT, "count", argc, argv, &all);
    if (!request)
        return EXIT_USAGE;
    cmp_proto_t *reply = s_call (options, options->api, &request);
    if (!reply)
        return EXIT_NO_ANSWER;
    int status = EXIT_SUCCESS;
    if (cmp_proto_id (reply) != CMP_PROTO_COUNTED)
        status = s_refused (reply);
    else if (options->json)
        s_print_json (reply);
    else
        printf ("%" PRIu64 "\n", cmp_proto_complaints (reply));
    cmp_proto_destroy (&reply);
    return status;
}

static int
s_list (s_options_t *options, int argc, char *argv[])
{
    bool all = false;
    cmp_proto_t *query =
      s_query (options, CMP_PROTO_LIST, "list", argc, argv, &all);
    if (!query)
        return EXIT_USAGE;
    cmp_client_t *client = cmp_client_new (options->api);
    if (!client) {
        cmp_proto_destroy (&query);
        return EXIT_USAGE;
    }
    cmp_proto_t *request = s_copy (query);
    cmp_client_set_timeout (client, options->timeout);
    int status = EXIT_SUCCESS;
    while (request) {
        cmp_proto_t *reply = cmp_client_call (client, &request);
        if (!reply) {
            fprintf (stderr, "complaintctl: no answer from %s\n", options->api);
            status = EXIT_NO_ANSWER;
            break;
        }
        if (cmp_proto_id (reply) != CMP_PROTO_COMPLAINTS) {
            status = s_refused (reply);
            cmp_proto_destroy (&reply);
            break;
        }
        if (options->json)
            s_print_json (reply);
        else
            for (cmp_proto_t *item =
                   (cmp_proto_t *) zlistx_first (cmp_proto_items (reply));
                 item;
                 item = (cmp_proto_t *) zlistx_next (cmp_proto_items (reply))) {
                char time[32];
                s_format_time (cmp_proto_received_at (item), time,
                               sizeof (time));
                const char *department = cmp_proto_department (item);
                const char *text = cmp_proto_description (item);
                const char *state = cmp_proto_state (item);
                if (!text)
                    text = "";
                printf ("%s  %s  %-7s  %-13s  %.*s  %.*s\n",
                        cmp_proto_number (item), time, cmp_proto_channel (item),
                        state ? state : "-",
                        s_cut (department ? department : "-", 24),
                        department ? department : "-", s_cut (text, 80), text);
            }
        //  The next page: the same query after the cursor
        if (cmp_proto_next (reply) && all) {
            request = s_copy (query);
            cmp_proto_set_after (request, cmp_proto_next (reply));
        } else if (cmp_proto_next (reply) && !options->json)
            printf ("more: --after %s\n", cmp_proto_next (reply));
        cmp_proto_destroy (&reply);
    }
    cmp_proto_destroy (&request);
    cmp_proto_destroy (&query);
    cmp_client_destroy (&client);
    return status;
}

//  An ACTED: number: previous -> state (version N)
static void
s_print_acted (s_options_t *options, cmp_proto_t *reply)
{
    if (options->json)
        s_print_json (reply);
    else
        printf ("%s: %s -> %s (version %" PRIu64 ")\n",
                s_or_dash (cmp_proto_number (reply)),
                s_or_dash (cmp_proto_previous (reply)),
                s_or_dash (cmp_proto_state (reply)), cmp_proto_version (reply));
}

//  One of the case actions: send an ACT, print the ACTED
static int
s_act (s_options_t *options,
       const char *command,
       const char *action,
       int argc,
       char *argv[])
{
    cmp_proto_t *request = cmp_proto_new (CMP_PROTO_ACT);
    cmp_proto_set_actor (request, options->actor);
    cmp_proto_set_action (request, action);
    const char *target = NULL;
    int status = 0;
    for (int index = 0; index < argc && status == 0; index++) {
        const char *name = argv[index];
        if (name[0] != '-') {
            if (target) {
                fprintf (stderr,
                         "complaintctl: %s takes one id or number, not "
                         "\"%s\" too\n",
                         command, name);
                status = EXIT_USAGE;
            }
            target = name;
            continue;
        }
        int option = 0;
        while (s_act_options[option].name
               && !streq (s_act_options[option].name, name))
            option++;
        if (!s_act_options[option].name) {
            fprintf (stderr, "complaintctl: %s: unknown option %s\n", command,
                     name);
            status = EXIT_USAGE;
            break;
        }
        const char *field = s_act_options[option].field;
        if (s_act_options[option].kind == O_FLAG) {
            bool value = s_act_options[option].value;
            //  --accept and --reject set the same field both ways
            if (cmp_proto_has (request, field)
                && cmp_proto_accepted (request) != value) {
                fprintf (stderr,
                         "complaintctl: %s: --accept and --reject exclude "
                         "each other\n",
                         command);
                status = EXIT_USAGE;
            } else
                s_act_options[option].set_flag (request, value);
            continue;
        }
        if (index + 1 >= argc) {
            fprintf (stderr, "complaintctl: %s needs a value\n", name);
            status = EXIT_USAGE;
            break;
        }
        const char *value = argv[++index];
        uint64_t number;
        if (s_act_options[option].kind == O_TEXT)
            cmp_proto_set_string (request, s_act_options[option].field, value);
        else if (s_parse_uint (value, &number) == 0)
            s_act_options[option].set_number (request, number);
        else {
            fprintf (stderr,
                     "complaintctl: %s: \"%s\" is not a whole number (0 or "
                     "more)\n",
                     name, value);
            status = EXIT_USAGE;
        }
    }
    if (status == 0 && !target) {
        fprintf (stderr, "complaintctl: %s needs an id or number\n", command);
        status = EXIT_USAGE;
    }
    if (status == 0 && s_set_target (request, command, target))
        status = EXIT_USAGE;
    if (status) {
        cmp_proto_destroy (&request);
        return status;
    }
    cmp_proto_t *reply = s_call (options, options->api, &request);
    if (!reply)
        return EXIT_NO_ANSWER;
    if (cmp_proto_id (reply) != CMP_PROTO_ACTED)
        status = s_refused (reply);
    else
        s_print_acted (options, reply);
    cmp_proto_destroy (&reply);
    return status;
}

//  Whether the arguments of an action command name a complaint: a word
//  that is not the value of an option
static bool
s_names_target (int argc, char *argv[])
{
    for (int index = 0; index < argc; index++) {
        const char *arg = argv[index];
        if (arg[0] != '-')
            return true;
        //  Every option but these flags takes a value
        if (!streq (arg, "--all") && !streq (arg, "--accept")
            && !streq (arg, "--reject") && !streq (arg, "--breached"))
            index++;
    }
    return false;
}

//  The refusals of a bulk retriage, counted by status
typedef struct
{
    uint64_t status; //  CMP_STATUS_ code
    char code[32];   //  Its symbolic name, as the daemon sent it
    size_t count;    //  How many
} s_refusal_t;

#define REFUSAL_KINDS 16

//  retriage with the filters of list instead of an id: list page by page
//  and send one retriage per complaint found, based on the version listed
static int
s_retriage_all (s_options_t *options, int argc, char *argv[])
{
    //  --reason goes with each ACT, the rest makes the LIST
    const char *reason = NULL;
    char **filters = (char **) zmalloc (sizeof (char *) * (size_t) (argc + 1));
    int filter_count = 0;
    bool filtered = false;
    for (int index = 0; index < argc; index++) {
        const char *value;
        const char *option = argv[index];
        if ((value = s_take (argc, argv, &index, "--reason"))) {
            reason = value;
            continue;
        }
        if (streq (option, "--version")) {
            fprintf (stderr,
                     "complaintctl: retriage: --version goes with one id or "
                     "number; with filters each complaint is retriaged at "
                     "the version listed\n");
            free (filters);
            return EXIT_USAGE;
        }
        if (!streq (option, "--limit") && !streq (option, "--after")
            && !streq (option, "--all"))
            filtered = true;
        filters[filter_count++] = argv[index];
        if (!streq (option, "--all") && !streq (option, "--breached")
            && index + 1 < argc)
            filters[filter_count++] = argv[++index];
    }
    if (!filtered) {
        fprintf (stderr, "complaintctl: retriage needs an id or number, or the "
                         "filters of list (--state S ...)\n");
        free (filters);
        return EXIT_USAGE;
    }
    bool all = false;
    cmp_proto_t *query = s_query (options, CMP_PROTO_LIST, "retriage",
                                  filter_count, filters, &all);
    free (filters);
    if (!query)
        return EXIT_USAGE;
    cmp_client_t *client = cmp_client_new (options->api);
    if (!client) {
        fprintf (stderr, "complaintctl: invalid endpoint %s\n", options->api);
        cmp_proto_destroy (&query);
        return EXIT_USAGE;
    }
    cmp_proto_t *request = s_copy (query);
    cmp_client_set_timeout (client, options->timeout);
    //  Complaints done: a retriage changes updated_at, and a list by
    //  update time would find them again
    zhashx_t *seen = zhashx_new ();
    s_refusal_t refusals[REFUSAL_KINDS];
    size_t kinds = 0, retriaged = 0, refused = 0;
    int status = EXIT_SUCCESS;
    bool stop = false;
    bool listed = false; //  A page came: the summary is worth printing
    while (request && !stop) {
        cmp_proto_t *reply = cmp_client_call (client, &request);
        if (!reply) {
            fprintf (stderr, "complaintctl: no answer from %s within %d ms\n",
                     options->api, options->timeout);
            status = EXIT_NO_ANSWER;
            break;
        }
        if (cmp_proto_id (reply) != CMP_PROTO_COMPLAINTS) {
            status = s_refused (reply);
            cmp_proto_destroy (&reply);
            break;
        }
        listed = true;
        zlistx_t *items = cmp_proto_items (reply);
        for (cmp_proto_t *item = (cmp_proto_t *) zlistx_first (items);
             item && !stop; item = (cmp_proto_t *) zlistx_next (items)) {
            char key[32];
            snprintf (key, sizeof (key), "%" PRIu64,
                      cmp_proto_complaint_id (item));
            if (zhashx_lookup (seen, key))
                continue;
            zhashx_insert (seen, key, (void *) 1);
            cmp_proto_t *act = cmp_proto_new (CMP_PROTO_ACT);
            cmp_proto_set_actor (act, options->actor);
            cmp_proto_set_action (act, "retriage");
            cmp_proto_set_complaint_id (act, cmp_proto_complaint_id (item));
            cmp_proto_set_version (act, cmp_proto_version (item));
            if (reason)
                cmp_proto_set_reason (act, reason);
            cmp_proto_t *acted = cmp_client_call (client, &act);
            if (!acted) {
                fprintf (stderr,
                         "complaintctl: no answer from %s within %d ms\n",
                         options->api, options->timeout);
                status = EXIT_NO_ANSWER;
                stop = true;
                break;
            }
            if (cmp_proto_id (acted) == CMP_PROTO_ACTED) {
                retriaged++;
                s_print_acted (options, acted);
                cmp_proto_destroy (&acted);
                continue;
            }
            refused++;
            uint64_t code = cmp_proto_status (acted);
            if (options->json) {
                //  The ERROR, with the complaint it is about
                char *text = cmp_proto_json (acted);
                json_t *object = text ? json_loads (text, 0, NULL) : NULL;
                if (!object)
                    object = json_object ();
                json_object_set_new (
                  object, "id",
                  json_integer ((json_int_t) cmp_proto_complaint_id (item)));
                json_object_set_new (
                  object, "number",
                  json_string (s_or_dash (cmp_proto_number (item))));
                char *line = json_dumps (object, JSON_COMPACT);
                printf ("%s\n", line ? line : "{}");
                free (line);
                json_decref (object);
                zstr_free (&text);
            } else {
                printf ("%s: refused: %" PRIu64 " %s: ",
                        s_or_dash (cmp_proto_number (item)), code,
                        s_or_dash (cmp_proto_code (acted)));
                s_print_inline (cmp_proto_message (acted));
                printf ("\n");
            }
            size_t kind = 0;
            while (kind < kinds && refusals[kind].status != code)
                kind++;
            if (kind == kinds && kinds < REFUSAL_KINDS) {
                refusals[kind].status = code;
                snprintf (refusals[kind].code, sizeof (refusals[kind].code),
                          "%s", s_or_dash (cmp_proto_code (acted)));
                refusals[kind].count = 0;
                kinds++;
            }
            if (kind < kinds)
                refusals[kind].count++;
            //  A refusal about this complaint (gone, moved on, in another
            //  state) leaves the others to try; any other would refuse
            //  them all the same (and each 403 is written into a history)
            if (code != CMP_STATUS_NOT_FOUND && code != CMP_STATUS_CONFLICT
                && code != CMP_STATUS_STALE) {
                fprintf (stderr,
                         "complaintctl: retriage: stopped: %" PRIu64
                         " %s would refuse the others too\n",
                         code, s_or_dash (cmp_proto_code (acted)));
                stop = true;
            }
            cmp_proto_destroy (&acted);
        }
        //  The next page: the same query after the cursor
        if (!stop && cmp_proto_next (reply)) {
            request = s_copy (query);
            cmp_proto_set_after (request, cmp_proto_next (reply));
        }
        cmp_proto_destroy (&reply);
    }
    cmp_proto_destroy (&request);
    cmp_proto_destroy (&query);
    cmp_client_destroy (&client);
    zhashx_destroy (&seen);
    //  The summary: how many were retriaged, how many refused and why
    if (listed && options->json)
        printf ("{\"retriaged\":%zu,\"refused\":%zu}\n", retriaged, refused);
    else if (listed) {
        printf ("retriaged %zu, refused %zu", retriaged, refused);
        for (size_t kind = 0; kind < kinds; kind++)
            printf ("%s%" PRIu64 " %s: %zu", kind ? ", " : " (",
                    refusals[kind].status, refusals[kind].code,
                    refusals[kind].count);
        printf ("%s\n", kinds ? ")" : "");
    }
    if (status == EXIT_SUCCESS && refused)
        status = EXIT_REFUSED;
    return status;
}

//  RELOAD: the daemon reads its configuration and triage rules again
static int
s_reload (s_options_t *options, int argc, char *argv[])
{
    if (argc) {
        fprintf (stderr, "complaintctl: reload: unknown option %s\n", argv[0]);
        return EXIT_USAGE;
    }
    cmp_proto_t *request = cmp_proto_new (CMP_PROTO_RELOAD);
    cmp_proto_set_actor (request, options->actor);
    cmp_proto_t *reply = s_call (options, options->api, &request);
    if (!reply)
        return EXIT_NO_ANSWER;
    int status = EXIT_SUCCESS;
    if (cmp_proto_id (reply) != CMP_PROTO_RELOADED)
        status = s_refused (reply);
    else if (options->json)
        s_print_json (reply);
    else
        printf ("rules reloaded: %s (%s)\n",
                cmp_proto_rules (reply) ? cmp_proto_rules (reply)
                                        : "none, triage is off",
                s_or_dash (cmp_proto_message (reply)));
    cmp_proto_destroy (&reply);
    return status;
}

//  Print a CLOCKS reply: the policy, level and zone, then one line a
//  clock: name, state, target, used and remaining (h:mm of the clock's
//  own time), the due time in the calendar's zone, met, missed or
//  breached
static void
s_print_clocks (cmp_proto_t *reply)
{
    char time[32];
    s_format_time (cmp_proto_at (reply), time, sizeof (time));
    printf ("%s: policy %s, level %s, at %s (calendar zone %s)\n",
            s_or_dash (cmp_proto_number (reply)),
            s_or_dash (cmp_proto_sla (reply)),
            s_or_dash (cmp_proto_level (reply)), time,
            s_or_dash (cmp_proto_zone (reply)));
    zlistx_t *clocks = cmp_proto_clocks (reply);
    if (zlistx_size (clocks) == 0) {
        printf ("no clocks\n");
        return;
    }
    printf ("%-16s %-8s %-18s %7s %9s  %s\n", "clock", "state", "target",
            "used", "remaining", "due");
    for (cmp_proto_t *clock = (cmp_proto_t *) zlistx_first (clocks); clock;
         clock = (cmp_proto_t *) zlistx_next (clocks)) {
        const char *state = s_or_dash (cmp_proto_state (clock));
        char target[64];
        snprintf (target, sizeof (target), "%s%s",
                  s_or_dash (cmp_proto_target (clock)),
                  cmp_proto_extended (clock) ? " (ext)" : "");
        char used[24], remaining[24], due[40];
        s_format_hm (cmp_proto_used (clock), used, sizeof (used));
        if (cmp_proto_has (clock, "remaining"))
            s_format_hm (cmp_proto_remaining (clock), remaining,
                         sizeof (remaining));
        else
            snprintf (remaining, sizeof (remaining), "-");
        //  A paused clock is due when it runs again: no time yet
        if (cmp_proto_due_local (clock))
            snprintf (due, sizeof (due), "%s", cmp_proto_due_local (clock));
        else if (cmp_proto_due_at (clock))
            s_format_time (cmp_proto_due_at (clock), due, sizeof (due));
        else
            snprintf (due, sizeof (due), "-");
        const char *outcome = "";
        if (streq (state, "stopped"))
            outcome = s_or_dash (cmp_proto_outcome (clock));
        else if (cmp_proto_breached_at (clock)
                 || (cmp_proto_has (clock, "remaining")
                     && cmp_proto_remaining (clock) < 0))
            outcome = "breached";
        const char *name = s_or_dash (cmp_proto_clock (clock));
        printf ("%-16s %-8s %-18s %7s %9s  ", name, state, target, used,
                remaining);
        if (*outcome)
            printf ("%-25s %s\n", due, outcome);
        else
            printf ("%s\n", due);
    }
}

//  SLA: the deadline clocks of one complaint
static int
s_sla (s_options_t *options, int argc, char *argv[])
{
    return s_show (options, argc, argv, "sla", CMP_PROTO_SLA, CMP_PROTO_CLOCKS,
                   s_print_clocks);
}

//  TICK: move the daemon's test clock, and fire what is due by then
static int
s_tick (s_options_t *options, int argc, char *argv[])
{
    const char *value = NULL;
    for (int index = 0; index < argc; index++) {
        const char *given;
        if ((given = s_take (argc, argv, &index, "--at")))
            value = given;
        else {
            fprintf (stderr, "complaintctl: tick: unknown option %s\n",
                     argv[index]);
            return EXIT_USAGE;
        }
    }
    int64_t at;
    if (!value) {
        fprintf (stderr, "complaintctl: tick needs --at TIME\n");
        return EXIT_USAGE;
    }
    if (s_parse_time (value, &at)) {
        fprintf (stderr, "complaintctl: --at: \"%s\" is not a time\n", value);
        return EXIT_USAGE;
    }
    cmp_proto_t *request = cmp_proto_new (CMP_PROTO_TICK);
    cmp_proto_set_actor (request, options->actor);
    cmp_proto_set_at (request, at);
    cmp_proto_t *reply = s_call (options, options->api, &request);
    if (!reply)
        return EXIT_NO_ANSWER;
    int status = EXIT_SUCCESS;
    if (cmp_proto_id (reply) != CMP_PROTO_TICKED)
        status = s_refused (reply);
    else if (options->json)
        s_print_json (reply);
    else {
        char time[32];
        s_format_time (cmp_proto_at (reply), time, sizeof (time));
        printf ("clock at %s (%" PRId64 "): deadlines of %" PRIu64
                " complaints fired%s\n",
                time, cmp_proto_at (reply), cmp_proto_fired (reply),
                cmp_proto_pending (reply)
                  ? "; more are due and fire in the next batches"
                  : "");
    }
    cmp_proto_destroy (&reply);
    return status;
}

//  Print the entries of an ENTRIES page, one JSON object per line
static void
s_print_entries_json (cmp_proto_t *reply)
{
    char *text = cmp_proto_json (reply);
    json_t *page = text ? json_loads (text, 0, NULL) : NULL;
    json_t *entries = json_object_get (page, "entries");
    size_t index;
    json_t *entry;
    json_array_foreach (entries, index, entry)
    {
        char *line = json_dumps (entry, JSON_COMPACT | JSON_SORT_KEYS);
        printf ("%s\n", line ? line : "{}");
        free (line);
    }
    json_decref (page);
    zstr_free (&text);
}

//  Print one history entry on one line: n, time, actor (role), action,
//  previous -> state, the changes, and why it was refused
static void
s_print_entry (cmp_proto_t *entry)
{
    char time[32];
    s_format_iso (cmp_proto_at (entry), time, sizeof (time));
    printf ("%" PRIu64 "  %s  %s (%s)  %s  %s -> %s", cmp_proto_seq (entry),
            time, s_or_dash (cmp_proto_actor (entry)),
            s_or_dash (cmp_proto_role (entry)),
            s_or_dash (cmp_proto_action (entry)),
            s_or_dash (cmp_proto_previous (entry)),
            s_or_dash (cmp_proto_state (entry)));
    const char *separator = "  ";
    zlistx_t *changes = cmp_proto_items (entry);
    for (cmp_proto_t *change = (cmp_proto_t *) zlistx_first (changes); change;
         change = (cmp_proto_t *) zlistx_next (changes)) {
        printf ("%s%s: ", separator, s_or_dash (cmp_proto_field (change)));
        s_print_inline (cmp_proto_old_value (change));
        printf (" -> ");
        s_print_inline (cmp_proto_new_value (change));
        separator = "; ";
    }
    if (cmp_proto_refused (entry)) {
        printf ("  REFUSED: ");
        s_print_inline (cmp_proto_refused (entry));
    }
    printf ("\n");
}

//  The history of a complaint, every page of it unless --limit
static int
s_history (s_options_t *options, int argc, char *argv[])
{
    const char *target = NULL;
    uint64_t from = 1, limit = 0;
    bool has_from = false, has_limit = false;
    for (int index = 0; index < argc; index++) {
        const char *value;
        uint64_t *number = NULL;
        if ((value = s_take (argc, argv, &index, "--from"))) {
            number = &from;
            has_from = true;
        } else if ((value = s_take (argc, argv, &index, "--limit"))) {
            number = &limit;
            has_limit = true;
        } else if (argv[index][0] == '-') {
            fprintf (stderr, "complaintctl: history: unknown option %s\n",
                     argv[index]);
            return EXIT_USAGE;
        } else if (target) {
            fprintf (stderr, "complaintctl: history needs one id or number\n");
            return EXIT_USAGE;
        } else
            target = argv[index];
        if (number && s_parse_uint (value, number)) {
            fprintf (stderr,
                     "complaintctl: %s: \"%s\" is not a whole number (0 or "
                     "more)\n",
                     argv[index - 1], value);
            return EXIT_USAGE;
        }
    }
    if (!target) {
        fprintf (stderr, "complaintctl: history needs one id or number\n");
        return EXIT_USAGE;
    }
    //  The complaint, copied into the request for each page
    cmp_proto_t *query = cmp_proto_new (CMP_PROTO_HISTORY);
    if (s_set_target (query, "history", target)) {
        cmp_proto_destroy (&query);
        return EXIT_USAGE;
    }
    cmp_client_t *client = cmp_client_new (options->api);
    if (!client) {
        fprintf (stderr, "complaintctl: invalid endpoint %s\n", options->api);
        cmp_proto_destroy (&query);
        return EXIT_USAGE;
    }
    cmp_client_set_timeout (client, options->timeout);
    int status = EXIT_SUCCESS;
    while (true) {
        cmp_proto_t *request = cmp_proto_new (CMP_PROTO_HISTORY);
        cmp_proto_set_actor (request, options->actor);
        if (cmp_proto_has (query, "id"))
            cmp_proto_set_complaint_id (request,
                                        cmp_proto_complaint_id (query));
        else
            cmp_proto_set_number (request, cmp_proto_number (query));
        if (has_from || from > 1)
            cmp_proto_set_from (request, (int64_t) from);
        if (has_limit)
            cmp_proto_set_limit (request, limit);
        cmp_proto_t *reply = cmp_client_call (client, &request);
        if (!reply) {
            fprintf (stderr, "complaintctl: no answer from %s within %d ms\n",
                     options->api, options->timeout);
            status = EXIT_NO_ANSWER;
            break;
        }
        if (cmp_proto_id (reply) != CMP_PROTO_ENTRIES) {
            status = s_refused (reply);
            cmp_proto_destroy (&reply);
            break;
        }
        zlistx_t *entries = cmp_proto_items (reply);
        if (options->json)
            s_print_entries_json (reply);
        else
            for (cmp_proto_t *entry = (cmp_proto_t *) zlistx_first (entries);
                 entry; entry = (cmp_proto_t *) zlistx_next (entries))
                s_print_entry (entry);
        cmp_proto_t *last = (cmp_proto_t *) zlistx_last (entries);
        uint64_t next = last ? cmp_proto_seq (last) + 1 : 0;
        bool more = !has_limit && last && next > from
                    && next <= cmp_proto_history (reply);
        cmp_proto_destroy (&reply);
        if (!more)
            break;
        from = next;
    }
    cmp_client_destroy (&client);
    cmp_proto_destroy (&query);
    return status;
}

static int
s_watch (s_options_t *options, int argc, char *argv[])
{
    uint64_t from = 0;
    long count = -1;
    for (int index = 0; index < argc; index++) {
        const char *value;
        if ((value = s_take (argc, argv, &index, "--from")))
            from = strtoull (value, NULL, 10);
        else if ((value = s_take (argc, argv, &index, "--count")))
            count = strtol (value, NULL, 10);
        else {
            fprintf (stderr, "complaintctl: watch: unknown option %s\n",
                     argv[index]);
            return EXIT_USAGE;
        }
    }
    //  Without --from, start after the last event stored now
    if (from == 0) {
        cmp_proto_t *request = cmp_proto_new (CMP_PROTO_HEALTH);
        cmp_proto_t *reply = s_call (options, options->api, &request);
        if (!reply)
            return EXIT_NO_ANSWER;
        from = cmp_proto_last_seq (reply) + 1;
        cmp_proto_destroy (&reply);
    }
    cmp_subscriber_t *subscriber =
      cmp_subscriber_new (options->api, options->events, from);
    if (!subscriber)
        return EXIT_USAGE;
    setvbuf (stdout, NULL, _IOLBF, 0);
    while (count != 0 && !zsys_interrupted) {
        cmp_proto_t *event = cmp_subscriber_recv (subscriber, 500);
        if (!event)
            continue;
        if (options->json)
            s_print_json (event);
        else {
            char time[32];
            s_format_time (cmp_proto_at (event), time, sizeof (time));
            printf ("%" PRIu64 "  %s  %s  %s  %s", cmp_proto_seq (event), time,
                    cmp_proto_topic (event), cmp_proto_number (event),
                    cmp_proto_channel (event) ? cmp_proto_channel (event) : "");
            //  A deadline event: its clock, the level reached, lateness
            if (cmp_proto_clock (event))
                printf ("  clock %s", cmp_proto_clock (event));
            if (cmp_proto_level (event))
                printf ("  level %s -> %s",
                        s_or_dash (cmp_proto_previous_level (event)),
                        cmp_proto_level (event));
            if (cmp_proto_outcome (event))
                printf ("  %s", cmp_proto_outcome (event));
            if (cmp_proto_late (event))
                printf ("  (late)");
            printf ("\n");
        }
        cmp_proto_destroy (&event);
        if (count > 0)
            count--;
    }
    cmp_subscriber_destroy (&subscriber);
    return EXIT_SUCCESS;
}

static int
s_health (s_options_t *options, int argc, char *argv[])
{
    const char *endpoint = options->api;
    if (argc == 1 && streq (argv[0], "--intake"))
        endpoint = options->intake;
    else if (argc) {
        fprintf (stderr, "complaintctl: health: unknown option %s\n", argv[0]);
        return EXIT_USAGE;
    }
    cmp_proto_t *request = cmp_proto_new (CMP_PROTO_HEALTH);
    cmp_proto_t *reply = s_call (options, endpoint, &request);
    if (!reply)
        return EXIT_NO_ANSWER;
    int status = EXIT_SUCCESS;
    if (cmp_proto_id (reply) != CMP_PROTO_STATUS)
        status = s_refused (reply);
    else if (options->json)
        s_print_json (reply);
    else
        printf ("complaintd %s, protocol %" PRIu64 ", up %" PRId64
                " s, %" PRIu64 " complaints, last event %" PRIu64 "\n",
                cmp_proto_software (reply), cmp_proto_protocol (reply),
                cmp_proto_uptime (reply) / 1000, cmp_proto_complaints (reply),
                cmp_proto_last_seq (reply));
    cmp_proto_destroy (&reply);
    return status;
}

int
main (int argc, char *argv[])
{
    zsys_init ();
    s_options_t options = {s_env ("COMPLAINTD_INTAKE", "tcp://127.0.0.1:7470"),
                           s_env ("COMPLAINTD_API", "tcp://127.0.0.1:7471"),
                           s_env ("COMPLAINTD_EVENTS", "tcp://127.0.0.1:7472"),
                           NULL,
                           false,
                           false,
                           5000};
    int index = 1;
    for (; index < argc && argv[index][0] == '-'; index++) {
        const char *value;
        if ((value = s_take (argc, argv, &index, "--intake")))
            options.intake = value;
        else if ((value = s_take (argc, argv, &index, "--api")))
            options.api = value;
        else if ((value = s_take (argc, argv, &index, "--events")))
            options.events = value;
        else if ((value = s_take (argc, argv, &index, "--actor"))) {
            if (!*value) {
                fprintf (stderr, "complaintctl: --actor needs a name\n");
                return EXIT_USAGE;
            }
            options.actor = value;
        } else if ((value = s_take (argc, argv, &index, "--timeout")))
            options.timeout = atoi (value);
        else if (streq (argv[index], "--json"))
            options.json = true;
        else if (streq (argv[index], "-h") || streq (argv[index], "--help")) {
            s_usage (stdout);
            return EXIT_SUCCESS;
        } else {
            fprintf (stderr, "complaintctl: unknown option %s\n", argv[index]);
            s_usage (stderr);
            return EXIT_USAGE;
        }
    }
    if (index >= argc) {
        s_usage (stderr);
        return EXIT_USAGE;
    }
    //  The actor: --actor, else $COMPLAINT_ACTOR, else the login name
    char login[256] = "";
    if (options.actor)
        options.actor_given = true;
    else if ((options.actor = s_env ("COMPLAINT_ACTOR", NULL)))
        options.actor_given = true;
    else {
        struct passwd *user = getpwuid (getuid ());
        if (user && user->pw_name && *user->pw_name) {
            snprintf (login, sizeof (login), "%s", user->pw_name);
            options.actor = login;
        }
    }
    const char *command = argv[index++];
    int rest = argc - index;
    char **args = argv + index;
    if (streq (command, "submit"))
        return s_submit (&options, rest, args);
    if (streq (command, "get"))
        return s_get (&options, rest, args);
    if (streq (command, "list"))
        return s_list (&options, rest, args);
    if (streq (command, "count"))
        return s_count (&options, rest, args);
    if (streq (command, "watch"))
        return s_watch (&options, rest, args);
    if (streq (command, "health"))
        return s_health (&options, rest, args);
    if (streq (command, "history"))
        return s_history (&options, rest, args);
    if (streq (command, "reload"))
        return s_reload (&options, rest, args);
    if (streq (command, "sla"))
        return s_sla (&options, rest, args);
    if (streq (command, "tick"))
        return s_tick (&options, rest, args);
    //  retriage without an id: every complaint the filters of list find
    if (streq (command, "retriage") && !s_names_target (rest, args))
        return s_retriage_all (&options, rest, args);
    //  The case actions, by command name or by their name on the wire
    for (int action = 0; s_actions[action].command; action++)
        if (streq (command, s_actions[action].command)
            || streq (command, s_actions[action].action))
            return s_act (&options, s_actions[action].command,
                          s_actions[action].action, rest, args);
    fprintf (stderr, "complaintctl: unknown command %s\n", command);
    s_usage (stderr);
    return EXIT_USAGE;
}
