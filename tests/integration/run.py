"""Run the complaintd integration tests.

    python3 tests/integration/run.py [SUBSTRING]

Runs every function named test_* of every tests/integration/test_*.py, in
file order and, within a file, in the order of definition; with SUBSTRING,
only the tests whose "file.function" name contains it. Each test gets its
own daemons and temporary directories (see harness.py). Prints one line per
test, the traceback and the daemon logs of each failure, and ends with
"N passed, N failed" (", N skipped" when tests were skipped). Exits 0 only
if no test failed.

The interpreter needs the zmq (pyzmq) and msgpack modules. Environment:
COMPLAINTD_BUILD (directory of complaintd and complaintctl, default
"build"), COMPLAINTD_WRAPPER (command prefix for the daemon, e.g. valgrind;
timeouts are then longer), COMPLAINTD_OPTIONS (options for every complaintd
run), COMPLAINTD_TIMEOUT_SCALE.
"""

import importlib
import inspect
import os
import signal
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

#  Longest a single test may run, seconds (scaled); a backstop only
TEST_LIMIT = 180


class TestTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise TestTimeout("test ran longer than %d s"
                      % int(harness.scaled(TEST_LIMIT)))


def discover(pattern):
    tests = []
    for filename in sorted(os.listdir(HERE)):
        if not (filename.startswith("test_") and filename.endswith(".py")):
            continue
        module = importlib.import_module(filename[:-3])
        for name, value in vars(module).items():
            if (name.startswith("test_") and inspect.isfunction(value)
                    and value.__module__ == module.__name__):
                full = "%s.%s" % (module.__name__, name)
                if not pattern or pattern in full:
                    tests.append((full, value))
    return tests


def dump_logs():
    for label, text in harness.logs():
        print("---- log of %s ----" % label)
        print(text.rstrip() if text.strip() else "(empty)")
        print("---- end of log ----")


def main(argv):
    pattern = argv[1] if len(argv) > 1 else ""
    for program in (harness.COMPLAINTD, harness.COMPLAINTCTL):
        if not os.access(program, os.X_OK):
            print("%s is missing: build first (make build), or set "
                  "COMPLAINTD_BUILD" % program)
            print("0 passed, 1 failed")
            return 1
    tests = discover(pattern)
    if not tests:
        print("no test matches %r" % pattern)
        print("0 passed, 0 failed")
        return 2
    passed = failed = skipped = 0
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _alarm)
    for name, function in tests:
        harness.begin_test()
        begin = time.monotonic()
        signal.alarm(int(harness.scaled(TEST_LIMIT)))
        try:
            function()
            signal.alarm(0)
            passed += 1
            print("ok   %s (%.1f s)" % (name, time.monotonic() - begin),
                  flush=True)
        except harness.SkipTest as reason:
            signal.alarm(0)
            skipped += 1
            print("skip %s (%s)" % (name, reason), flush=True)
        except KeyboardInterrupt:
            signal.alarm(0)
            harness.end_test()
            print("interrupted in %s" % name)
            raise
        except BaseException:
            signal.alarm(0)
            failed += 1
            print("FAIL %s" % name)
            print("after %.1f s:" % (time.monotonic() - begin))
            traceback.print_exc(file=sys.stdout)
            dump_logs()
            sys.stdout.flush()
        finally:
            signal.alarm(0)
            harness.end_test()
    print("total %.1f s, build %s%s" % (
        time.monotonic() - started, harness.BUILD,
        ", wrapper " + " ".join(harness.WRAPPER) if harness.WRAPPER else ""))
    summary = "%d passed, %d failed" % (passed, failed)
    if skipped:
        summary += ", %d skipped" % skipped
    print(summary, flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
