/*  =========================================================================
    cmp_selftest - runs the self tests of every class

    Each test runs in a child process, so that a failed assertion in one
    is counted and the others still run. The last line is
    "N passed, N failed".

        cmp_selftest [-v] [-l] [-t name]
    =========================================================================
*/

#include <sys/wait.h>

#include "cmp_classes.h"

typedef struct
{
    const char *name;            //  Class name
    void (*test) (bool verbose); //  Its self test
} s_test_t;

static const s_test_t s_tests[] = {{"cmp_proto", cmp_proto_test},
                                   {"cmp_config", cmp_config_test},
                                   {"cmp_yaml", cmp_yaml_test},
                                   {"cmp_calendar", cmp_calendar_test},
                                   {"cmp_triage", cmp_triage_test},
                                   {"cmp_sla", cmp_sla_test},
                                   {"cmp_rulebook", cmp_rulebook_test},
                                   {"cmp_store", cmp_store_test},
                                   {"cmp_intake", cmp_intake_test},
                                   {"cmp_case", cmp_case_test},
                                   {"cmp_client", cmp_client_test},
                                   {"cmp_subscriber", cmp_subscriber_test},
                                   {NULL, NULL}};

static bool
s_run (const s_test_t *test, bool verbose)
{
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        test->test (verbose);
        zsys_shutdown ();
        fflush (stdout);
        _exit (0);
    }
    int status = 0;
    waitpid (pid, &status, 0);
    bool passed = WIFEXITED (status) && WEXITSTATUS (status) == 0;
    if (!passed)
        printf ("FAILED: %s (%s %d)\n", test->name,
                WIFSIGNALED (status) ? "signal" : "exit",
                WIFSIGNALED (status) ? WTERMSIG (status)
                                     : WEXITSTATUS (status));
    return passed;
}

int
main (int argc, char *argv[])
{
    bool verbose = false;
    const char *only = NULL;
    for (int index = 1; index < argc; index++) {
        if (streq (argv[index], "-v"))
            verbose = true;
        else if (streq (argv[index], "-l")) {
            for (int test = 0; s_tests[test].name; test++)
                printf ("%s\n", s_tests[test].name);
            return 0;
        } else if (streq (argv[index], "-t") && index + 1 < argc)
            only = argv[++index];
        else {
            fprintf (stderr, "usage: cmp_selftest [-v] [-l] [-t name]\n");
            return 2;
        }
    }
    printf ("Running complaintd self tests...\n");
    int passed = 0, failed = 0;
    for (int test = 0; s_tests[test].name; test++) {
        if (only && !streq (only, s_tests[test].name))
            continue;
        if (s_run (&s_tests[test], verbose))
            passed++;
        else
            failed++;
    }
    if (only && passed + failed == 0) {
        fprintf (stderr, "cmp_selftest: no test named %s\n", only);
        return 2;
    }
    printf ("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
