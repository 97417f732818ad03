/*  =========================================================================
    complaintd - the complaint-handling daemon

    args -> config -> server -> loop -> destroy in reverse.
    =========================================================================
*/

#include "cmp_classes.h"

static void
s_usage (FILE *file)
{
    fprintf (file,
             "usage: complaintd [options]\n"
             "  -c, --config FILE   read the configuration from FILE (ZPL)\n"
             "  -d, --data DIR      keep the store in DIR (store/path)\n"
             "  -v, --verbose       log every request (server/verbose)\n"
             "  -o KEY=VALUE        set a configuration key, over the file\n"
             "      --check-config  check the configuration, print each "
             "error, exit\n"
             "      --list-keys     print every configuration key with its "
             "default\n"
             "      --list-actions  print the transition table of cases\n"
             "      --version       print the version and exit\n"
             "  -h, --help          print this help and exit\n"
             "Without -c, every key has its default; see complaintd.conf.\n");
}

int
main (int argc, char *argv[])
{
    //  Signals become loop events: block them before libzmq starts threads
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGHUP);
    sigprocmask (SIG_BLOCK, &signals, NULL);
    zsys_handler_set (NULL);
    zsys_set_logident ("complaintd");
    zsys_set_logstream (stderr);
    zsys_init ();
    if (cmp_sd_supervised ())
        zsys_set_logsystem (true);

    const char *config_file = NULL;
    const char *data_dir = NULL;
    bool check_only = false;
    bool verbose = false;
    zlist_t *settings = zlist_new ();
    assert (settings);
    for (int index = 1; index < argc; index++) {
        const char *arg = argv[index];
        if ((streq (arg, "-c") || streq (arg, "--config")) && index + 1 < argc)
            config_file = argv[++index];
        else if ((streq (arg, "-d") || streq (arg, "--data"))
                 && index + 1 < argc)
            data_dir = argv[++index];
        else if (streq (arg, "-v") || streq (arg, "--verbose"))
            verbose = true;
        else if (streq (arg, "-o") && index + 1 < argc)
            zlist_append (settings, argv[++index]);
        else if (streq (arg, "--check-config"))
            check_only = true;
        else if (streq (arg, "--list-keys")) {
            cmp_config_print_keys (stdout);
            zlist_destroy (&settings);
            return EXIT_SUCCESS;
        } else if (streq (arg, "--list-actions")) {
            cmp_case_print_table (stdout);
            zlist_destroy (&settings);
            return EXIT_SUCCESS;
        } else if (streq (arg, "--version")) {
            printf ("complaintd %s (protocol %d)\n", CMP_DAEMON_VERSION,
                    CMP_PROTO_VERSION);
            zlist_destroy (&settings);
            return EXIT_SUCCESS;
        } else if (streq (arg, "-h") || streq (arg, "--help")) {
            s_usage (stdout);
            zlist_destroy (&settings);
            return EXIT_SUCCESS;
        } else {
            fprintf (stderr, "complaintd: unknown or incomplete option '%s'\n",
                     arg);
            s_usage (stderr);
            zlist_destroy (&settings);
            return 2;
        }
    }

    cmp_config_t *config = cmp_config_new ();
    int rc = 0;
    if (config_file)
        rc = cmp_config_load (config, config_file);
    if (rc == 0 && data_dir)
        rc = cmp_config_set (config, "store/path", data_dir);
    if (rc == 0 && verbose)
        rc = cmp_config_set (config, "server/verbose", "true");
    for (char *setting = (char *) zlist_first (settings); setting && rc == 0;
         setting = (char *) zlist_next (settings)) {
        char *equals = strchr (setting, '=');
        if (!equals) {
            fprintf (stderr, "complaintd: -o %s: expected KEY=VALUE\n",
                     setting);
            rc = -1;
            break;
        }
        *equals = 0;
        rc = cmp_config_set (config, setting, equals + 1);
        *equals = '=';
    }
    zlist_destroy (&settings);
    if (rc == 0)
        rc = cmp_config_validate (config);
    if (check_only) {
        rc = rc == 0 ? cmp_rulebook_check (config, stdout) : rc;
        printf ("%s: %s\n", config_file ? config_file : "(defaults)",
                rc == 0 ? "configuration OK" : "configuration has errors");
        cmp_config_destroy (&config);
        return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (rc) {
        cmp_config_destroy (&config);
        return EXIT_FAILURE;
    }

    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    zsys_notice ("complaintd %s starting (protocol %d; czmq %d.%d.%d, "
                 "libzmq %d.%d.%d, %s, msgpack-c %s)",
                 CMP_DAEMON_VERSION, CMP_PROTO_VERSION, CZMQ_VERSION_MAJOR,
                 CZMQ_VERSION_MINOR, CZMQ_VERSION_PATCH, major, minor, patch,
                 cmp_store_lmdb_version (), cmp_proto_msgpack_version ());

    cmp_server_t *server = cmp_server_new (&config);
    if (!server) {
        cmp_config_destroy (&config);
        zsys_error ("complaintd could not start");
        return EXIT_FAILURE;
    }
    rc = cmp_server_run (server);
    cmp_server_destroy (&server);
    if (rc) {
        zsys_error ("complaintd stopped on a storage failure");
        return EXIT_FAILURE;
    }
    zsys_notice ("complaintd stopped");
    return EXIT_SUCCESS;
}
