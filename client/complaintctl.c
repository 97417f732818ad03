/*  =========================================================================
    complaintctl - command-line tool for complaintd

    Every request goes through libcomplaint (cmp_client, cmp_subscriber);
    this file only parses arguments and prints. Exit status: 0 success,
    1 the daemon refused the request (its message is printed), 2 usage,
    3 no answer from the daemon.
    =========================================================================
*/

#include "complaint.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_NO_ANSWER 3

typedef struct
{
    const char *intake; //  Intake endpoint
    const char *api;    //  API endpoint
    const char *events; //  Events endpoint
    bool json;          //  Print JSON
    int timeout;        //  Call timeout, ms
} s_options_t;

static void
s_usage (FILE *file)
{
    fprintf (
      file,
      "usage: complaintctl [global options] COMMAND [options]\n"
      "commands:\n"
      "  submit --channel C --description TEXT [--ref R] [--name N]\n"
      "         [--phone P] [--email E] [--anonymous] [--relation R]\n"
      "         [--department D] [--staff S] [--location L] [--demands TEXT]\n"
      "         [--complained-at TIME] [--attach URI]... [--tag T]...\n"
      "  get ID|NUMBER\n"
      "  list [--from TIME] [--to TIME] [--channel C] [--limit N]\n"
      "       [--after CURSOR] [--all]\n"
      "  watch [--from SEQ] [--count N]\n"
      "  health [--intake]\n"
      "global options:\n"
      "  --intake EP   intake endpoint (default $COMPLAINTD_INTAKE or\n"
      "                tcp://127.0.0.1:7470)\n"
      "  --api EP      API endpoint (default $COMPLAINTD_API or\n"
      "                tcp://127.0.0.1:7471)\n"
      "  --events EP   events endpoint (default $COMPLAINTD_EVENTS or\n"
      "                tcp://127.0.0.1:7472)\n"
      "  --timeout MS  how long to wait for a reply (default 5000)\n"
      "  --json        print replies as JSON, one object per line\n"
      "TIME is milliseconds since the epoch, YYYY-MM-DD or\n"
      "YYYY-MM-DDTHH:MM[:SS] (local time).\n");
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

static void
s_print_complaint (cmp_proto_t *record)
{
    char text[64];
    snprintf (text, sizeof (text), "%" PRIu64, cmp_proto_complaint_id (record));
    s_print_line ("number:", cmp_proto_number (record));
    s_print_line ("id:", text);
    s_print_line ("state:", cmp_proto_state (record));
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

static int
s_get (s_options_t *options, int argc, char *argv[])
{
    if (argc != 1) {
        fprintf (stderr, "complaintctl: get needs one id or number\n");
        return EXIT_USAGE;
    }
    cmp_proto_t *request = cmp_proto_new (CMP_PROTO_GET);
    char *end;
    unsigned long long id = strtoull (argv[0], &end, 10);
    if (*argv[0] && *end == 0)
        cmp_proto_set_complaint_id (request, id);
    else
        cmp_proto_set_number (request, argv[0]);
    cmp_proto_t *reply = s_call (options, options->api, &request);
    if (!reply)
        return EXIT_NO_ANSWER;
    int status = EXIT_SUCCESS;
    if (cmp_proto_id (reply) != CMP_PROTO_COMPLAINT)
        status = s_refused (reply);
    else if (options->json)
        s_print_json (reply);
    else
        s_print_complaint (reply);
    cmp_proto_destroy (&reply);
    return status;
}

static int
s_list (s_options_t *options, int argc, char *argv[])
{
    cmp_proto_t *request = cmp_proto_new (CMP_PROTO_LIST);
    bool all = false;
    for (int index = 0; index < argc; index++) {
        const char *value;
        int64_t time;
        if ((value = s_take (argc, argv, &index, "--from"))
            || (value = s_take (argc, argv, &index, "--to"))) {
            if (s_parse_time (value, &time)) {
                fprintf (stderr, "complaintctl: \"%s\" is not a time\n", value);
                cmp_proto_destroy (&request);
                return EXIT_USAGE;
            }
            if (streq (argv[index - 1], "--from"))
                cmp_proto_set_from (request, time);
            else
                cmp_proto_set_to (request, time);
        } else if ((value = s_take (argc, argv, &index, "--channel")))
            cmp_proto_set_channel (request, value);
        else if ((value = s_take (argc, argv, &index, "--limit")))
            cmp_proto_set_limit (request, strtoull (value, NULL, 10));
        else if ((value = s_take (argc, argv, &index, "--after")))
            cmp_proto_set_after (request, value);
        else if (streq (argv[index], "--all"))
            all = true;
        else {
            fprintf (stderr, "complaintctl: list: unknown option %s\n",
                     argv[index]);
            cmp_proto_destroy (&request);
            return EXIT_USAGE;
        }
    }
    cmp_client_t *client = cmp_client_new (options->api);
    if (!client) {
        cmp_proto_destroy (&request);
        return EXIT_USAGE;
    }
    cmp_client_set_timeout (client, options->timeout);
    int status = EXIT_SUCCESS;
    while (request) {
        //  Keep a copy of the query for the next page
        cmp_proto_t *query = cmp_proto_new (CMP_PROTO_LIST);
        if (cmp_proto_has (request, "from"))
            cmp_proto_set_from (query, cmp_proto_from (request));
        if (cmp_proto_has (request, "to"))
            cmp_proto_set_to (query, cmp_proto_to (request));
        if (cmp_proto_has (request, "limit"))
            cmp_proto_set_limit (query, cmp_proto_limit (request));
        cmp_proto_set_channel (query, cmp_proto_channel (request));
        cmp_proto_t *reply = cmp_client_call (client, &request);
        if (!reply) {
            fprintf (stderr, "complaintctl: no answer from %s\n", options->api);
            cmp_proto_destroy (&query);
            status = EXIT_NO_ANSWER;
            break;
        }
        if (cmp_proto_id (reply) != CMP_PROTO_COMPLAINTS) {
            status = s_refused (reply);
            cmp_proto_destroy (&reply);
            cmp_proto_destroy (&query);
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
                printf ("%s  %s  %-7s  %.*s  %.*s\n", cmp_proto_number (item),
                        time, cmp_proto_channel (item),
                        s_cut (department ? department : "-", 24),
                        department ? department : "-", s_cut (text, 90), text);
            }
        if (cmp_proto_next (reply) && all) {
            cmp_proto_set_after (query, cmp_proto_next (reply));
            request = query;
        } else {
            if (cmp_proto_next (reply) && !options->json)
                printf ("more: --after %s\n", cmp_proto_next (reply));
            cmp_proto_destroy (&query);
        }
        cmp_proto_destroy (&reply);
    }
    cmp_client_destroy (&client);
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
            printf ("%" PRIu64 "  %s  %s  %s  %s\n", cmp_proto_seq (event),
                    time, cmp_proto_topic (event), cmp_proto_number (event),
                    cmp_proto_channel (event) ? cmp_proto_channel (event) : "");
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
                           false, 5000};
    int index = 1;
    for (; index < argc && argv[index][0] == '-'; index++) {
        const char *value;
        if ((value = s_take (argc, argv, &index, "--intake")))
            options.intake = value;
        else if ((value = s_take (argc, argv, &index, "--api")))
            options.api = value;
        else if ((value = s_take (argc, argv, &index, "--events")))
            options.events = value;
        else if ((value = s_take (argc, argv, &index, "--timeout")))
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
    const char *command = argv[index++];
    int rest = argc - index;
    char **args = argv + index;
    if (streq (command, "submit"))
        return s_submit (&options, rest, args);
    if (streq (command, "get"))
        return s_get (&options, rest, args);
    if (streq (command, "list"))
        return s_list (&options, rest, args);
    if (streq (command, "watch"))
        return s_watch (&options, rest, args);
    if (streq (command, "health"))
        return s_health (&options, rest, args);
    fprintf (stderr, "complaintctl: unknown command %s\n", command);
    s_usage (stderr);
    return EXIT_USAGE;
}
