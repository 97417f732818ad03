"""A commit that fails for any reason but a full map is never acknowledged:
the daemon stops with a non-zero status, and after a restart everything it
had acknowledged is there. The disk failure is real as far as the daemon
knows: fdatasync returns EIO (tests/cmp_fault.c, preloaded)."""

import os

from harness import (BUILD, Daemon, assert_record, assert_reply,
                     next_request_id, note, request, submit_fields)


def test_failed_commit_stops_the_daemon():
    fault = os.path.abspath(os.path.join(BUILD, "libcmp_fault.so"))
    assert os.path.exists(fault), "build %s first" % fault
    daemon = Daemon(start=False)
    trigger = os.path.join(daemon.dir, "disk-fails")
    daemon.env.update({
        "LD_PRELOAD": fault,
        "CMP_FAULT_TRIGGER": trigger,
        #  The sanitizer runtime need not come first for this shim
        "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")
                        + ":verify_asan_link_order=0",
    })
    daemon.start()
    acked = []
    for index in range(5):
        fields = submit_fields("before-%d" % index)
        acked.append((fields, daemon.submit_ok(fields)))

    #  The disk fails: the next SUBMIT gets no reply, and the daemon stops
    open(trigger, "w").close()
    client = daemon.client("intake")
    request_id = next_request_id()
    client.send(request("SUBMIT", request_id, submit_fields("during")))
    status = daemon.wait_exit()
    #  Anything the daemon sent went out before it exited
    frames = client.recv_frames(timeout=0.2)
    assert frames is None, "a failed commit was answered: %r" % (frames,)
    assert status != 0, "complaintd exited 0 after a failed commit"
    assert "storage failure" in daemon.log_text(), daemon.log_text()
    note("exit status %d after the failed commit" % status)

    #  The disk is back: everything acknowledged is there, nothing else
    os.unlink(trigger)
    daemon.start()
    for fields, submitted in acked:
        record = daemon.get_record(id=submitted["id"])
        assert_record(record, fields, submitted)
    assert daemon.health()["complaints"] == len(acked)
    #  The unacknowledged SUBMIT can be sent again and is stored once
    reply = daemon.submit(submit_fields("during"))
    assert_reply(reply, "SUBMITTED")
    assert daemon.health()["complaints"] == len(acked) + 1
    daemon.stop()
