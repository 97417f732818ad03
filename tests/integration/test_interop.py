"""An independent client, written from the protocol document alone, talks
to the daemon."""

import os

from harness import Daemon, SkipTest, python, run

HERE = os.path.dirname(os.path.abspath(__file__))


def test_interop_client():
    script = os.path.join(HERE, "interop_client.py")
    if not os.path.exists(script):
        raise SkipTest("interop_client.py is not there")
    #  The client is written from the spec of version 1 without triage
    daemon = Daemon({"triage/enabled": "false", "sla/enabled": "false"})
    status, out, err = run([python(), script, "--intake", daemon.intake,
                            "--api", daemon.api], timeout=60)
    assert status == 0, "interop_client.py exit %d:\n%s%s" % (status, out,
                                                             err)
    daemon.health()
    daemon.stop()
