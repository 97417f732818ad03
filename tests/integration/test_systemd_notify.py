"""The daemon speaks systemd's notify protocol: READY=1 once it serves,
WATCHDOG=1 while it lives, and no WATCHDOG=1 while a commit hangs on a
stuck disk, so that the service manager restarts it. The notify socket is
ours; the stuck disk is fdatasync blocking (tests/cmp_fault.c)."""

import os
import socket
import time

from harness import (BUILD, Daemon, next_request_id, note, request,
                     scaled, submit_fields, wait_for)

WATCHDOG_USEC = 300000      #  The daemon pings every 150 ms


def messages(sock, seconds):
    """The notify messages received within seconds."""
    received = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return received
        sock.settimeout(left)
        try:
            received.append(sock.recv(4096).decode())
        except socket.timeout:
            return received


def test_ready_watchdog_and_a_stuck_commit():
    fault = os.path.abspath(os.path.join(BUILD, "libcmp_fault.so"))
    assert os.path.exists(fault), "build %s first" % fault
    daemon = Daemon(start=False)
    hang = os.path.join(daemon.dir, "disk-hangs")
    notify_path = os.path.join(daemon.dir, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    try:
        daemon.env.update({
            "NOTIFY_SOCKET": notify_path,
            "WATCHDOG_USEC": str(int(WATCHDOG_USEC * scaled(1))),
            "LD_PRELOAD": fault,
            "CMP_FAULT_HANG": hang,
            "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")
                            + ":verify_asan_link_order=0",
        })
        #  Under a service manager the log goes to syslog: READY=1 on the
        #  notify socket is what tells that the daemon serves
        daemon.start(wait=False)
        seen = []
        wait_for(lambda: seen.extend(messages(sock, 0.05)) or "READY=1" in seen,
                 10, "READY=1")
        seen = messages(sock, scaled(1))
        assert seen.count("WATCHDOG=1") >= 2, seen
        daemon.submit_ok(submit_fields("before"))

        #  The disk sticks in the middle of a commit: the watchdog goes quiet
        open(hang, "w").close()
        client = daemon.client("intake")
        client.send(request("SUBMIT", next_request_id(),
                            submit_fields("stuck")))
        #  Pings stop once the commit is older than the watchdog interval
        wait_for(lambda: "WATCHDOG=1" not in messages(sock, scaled(0.6)),
                 10, "the watchdog to go quiet")
        quiet = messages(sock, scaled(1))
        assert "WATCHDOG=1" not in quiet, quiet
        assert client.recv_frames(timeout=0) is None

        #  The disk comes back: the commit ends, its reply comes, pings too
        os.unlink(hang)
        reply = client.recv(timeout=10)
        assert reply[2] == "SUBMITTED", reply
        assert "WATCHDOG=1" in messages(sock, scaled(1))
        note("watchdog quiet while the commit hung, back after it")
        daemon.stop()
        assert "STOPPING=1" in messages(sock, scaled(0.5))
    finally:
        sock.close()
