"""Signals, reloads and the command line."""

import os
import signal

from harness import (Client, Daemon, assert_error, assert_reply, free_ports,
                     next_request_id, note, request, run_daemon,
                     submit_fields, tempdir, unpack)


def description_check(daemon, size, ref):
    """SUBMIT a description of size bytes; returns the reply."""
    return daemon.submit(submit_fields(ref, description="d" * size))


def reload(daemon, expect):
    """SIGHUP, then wait for the log line saying how it went."""
    mark = daemon.log_size()
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(expect, mark)


def test_sighup_applies_reloadable_keys():
    daemon = Daemon()
    assert_reply(description_check(daemon, 200, "before"), "SUBMITTED")
    assert_reply(daemon.call(request("LIST", 1, {"limit": 300}), "api"),
                 "COMPLAINTS", 1)

    daemon.write_config({"limits/description": "100", "list/page_max": "10",
                         "events/replay_max": "2", "limits/tags": "1"})
    reload(daemon, r"configuration reloaded")
    reply = description_check(daemon, 200, "after")
    assert_error(reply, 422, "INVALID", "description",
                 message="limits/description")
    assert_reply(description_check(daemon, 100, "exactly"), "SUBMITTED")
    assert_error(description_check(daemon, 101, "one-more"), 422, "INVALID",
                 "description", message="limits/description")
    reply = daemon.submit(submit_fields("tags", tags=["a", "b"]))
    assert_error(reply, 422, "INVALID", "tags", message="limits/tags")
    reply = daemon.call(request("LIST", 2, {"limit": 11}), "api")
    assert_error(reply, 422, "INVALID", "limit", 2, message="list/page_max")
    reply = daemon.call(request("REPLAY", 3, {"limit": 3}), "api")
    assert_error(reply, 422, "INVALID", "limit", 3,
                 message="events/replay_max")
    fields = daemon.replay(1, 2)
    assert [event["seq"] for event in fields["events"]] == [1, 2]
    fields = daemon.replay(1)              # default limit: at most 2 now
    assert [event["seq"] for event in fields["events"]] == [1, 2]
    #  LIST without a limit gets at most page_max
    for index in range(12):
        daemon.submit_ok(submit_fields("page-%d" % index,
                                       description="p%d" % index))
    page = assert_reply(daemon.call(request("LIST", 4), "api"), "COMPLAINTS")
    assert len(page["items"]) == 10 and page["next"], page

    #  Back to the defaults
    daemon.write_config()
    reload(daemon, r"configuration reloaded")
    assert_reply(description_check(daemon, 200, "again"), "SUBMITTED")
    assert daemon.health()["complaints"] == 15
    daemon.stop()


def test_sighup_with_a_broken_file_keeps_the_running_settings():
    daemon = Daemon({"limits/description": "100"})
    assert_error(description_check(daemon, 150, "a"), 422, "INVALID",
                 "description")
    broken = [
        daemon.config_text({"limits/description": "1000"},
                           "    colour = blue\n"),
        daemon.config_text({"limits/description": "lots"}),
        daemon.config_text({"limits/description": "1000",
                            "server/batch_max": "0"}),
    ]
    for count, text in enumerate(broken):
        daemon.write_config(text=text)
        reload(daemon, r"reload refused")
        assert daemon.running()
        assert daemon.health("intake")["complaints"] == count
        #  Still 100, not the 1000 of the refused file nor the default
        assert_error(description_check(daemon, 150, "a"), 422, "INVALID",
                     "description", message="limits/description")
        assert_reply(description_check(daemon, 100, "ok-%d" % count),
                     "SUBMITTED")
    os.unlink(daemon.config_path)
    reload(daemon, r"reload refused")
    assert_error(description_check(daemon, 150, "a"), 422, "INVALID",
                 "description")
    #  A good file again is applied
    daemon.write_config({"limits/description": "1000"})
    reload(daemon, r"configuration reloaded")
    assert_reply(description_check(daemon, 150, "b"), "SUBMITTED")
    daemon.stop()


def test_sighup_with_a_file_that_is_not_zpl():
    """A reload of a file that does not even parse is refused, keeps the
    running settings, and costs nothing (the daemon may get many)."""
    daemon = Daemon({"limits/description": "100"})
    for count in range(3):
        daemon.write_config(text="server\n  intake = \"unterminated\n")
        reload(daemon, r"reload refused")
        assert_error(description_check(daemon, 150, "a"), 422, "INVALID",
                     "description", message="limits/description")
        assert_reply(description_check(daemon, 100, "ok-%d" % count),
                     "SUBMITTED")
    daemon.write_config({"limits/description": "1000"})
    reload(daemon, r"configuration reloaded")
    assert_reply(description_check(daemon, 150, "b"), "SUBMITTED")
    daemon.stop()


def test_sighup_does_not_move_fixed_keys():
    """Endpoints and the request limit change only at restart."""
    daemon = Daemon()
    old_intake = daemon.intake
    moved = "tcp://127.0.0.1:%d" % free_ports(1)[0]
    daemon.write_config({"server/intake": moved,
                         "limits/max_request": "4096"})
    reload(daemon, r"configuration reloaded")
    assert "takes effect only at restart" in daemon.log_text()
    assert daemon.health("intake")["complaints"] == 0
    assert Client(old_intake).call(request("HEALTH", 9))[2] == "STATUS"
    #  Bodies over 4096 bytes still pass the 65536 limit
    reply = daemon.submit(submit_fields("big", description="x" * 8000))
    assert_reply(reply, "SUBMITTED")
    daemon.stop()


def test_verbose_option_survives_reload():
    """-v logs every request; a reload must not turn it off."""
    daemon = Daemon(args=["-v"])
    mark = daemon.log_size()
    request_id = next_request_id()
    daemon.call(request("HEALTH", request_id))
    daemon.wait_log(r"request %d: HEALTH" % request_id, mark)
    reload(daemon, r"configuration reloaded")
    mark = daemon.log_size()
    request_id = next_request_id()
    daemon.call(request("HEALTH", request_id))
    marker = next_request_id()
    daemon.call(request("HEALTH", marker, {"x": 1}))   # refused: logged
    daemon.wait_log(r"refused request %d" % marker, mark)
    assert "request %d: HEALTH" % request_id in daemon.log_text(mark), \
        "after SIGHUP the -v option no longer logs requests"
    daemon.stop()


def test_sigterm_and_sigint_exit_zero():
    daemon = Daemon()
    daemon.submit_ok(submit_fields("term"))
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    assert "SIGTERM received" in daemon.log_text()
    assert "complaintd stopped" in daemon.log_text()
    daemon.start()
    daemon.signal(signal.SIGINT)
    assert daemon.wait_exit() == 0
    #  Stopping while requests are coming in: every SUBMITTED is kept
    daemon.start()
    client = daemon.client("intake")
    for index in range(3000):
        client.send(request("SUBMIT", next_request_id(),
                            submit_fields("busy-%d" % index)))
    replies = [client.recv()]
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    while client.socket.poll(0):
        replies.append(unpack(client.socket.recv_multipart()[-1]))
    #  Version 1 never answers 503: what is answered is stored
    acked = []
    for reply in replies:
        assert_reply(reply, "SUBMITTED")
        acked.append(reply)
    daemon.start()
    for reply in acked:
        record = daemon.get_record(id=reply[4]["id"])
        assert record["number"] == reply[4]["number"]
    stored = daemon.health()["complaints"] - 1
    assert stored >= len(acked), (stored, len(acked))
    note("%d of 3000 SUBMITs answered before the stop, %d stored"
         % (len(acked), stored))
    daemon.stop()


def test_check_config():
    directory = tempdir()
    path = os.path.join(directory, "good.cfg")
    with open(path, "w") as file:
        file.write("server\n    batch_max = 64\n    verbose = yes\n"
                   "store\n    map_size = 2G\nlimits\n    description = 1K\n")
    status, out, err = run_daemon("-c", path, "--check-config")
    assert status == 0, (status, out, err)
    assert "OK" in out, out
    status, out, err = run_daemon("--check-config")
    assert status == 0 and "OK" in out, (status, out, err)

    bad = [
        ("server\n    colour = blue\n", "server/colour"),
        ("limits\n    description = lots\n", "limits/description"),
        ("limits\n    description = 12x\n", "limits/description"),
        ("server\n    batch_max = 0\n", "server/batch_max"),
        ("store\n    map_size = 1000\n", "store/map_size"),
        ("server\n    verbose = maybe\n", "server/verbose"),
        ("server\n    intake =\n", "server/intake"),
        ("colour = blue\n", "colour"),
    ]
    for text, key in bad:
        with open(path, "w") as file:
            file.write(text)
        status, out, err = run_daemon("-c", path, "--check-config")
        assert status not in (0, 2), (text, status, out, err)
        assert key in out + err, "%r should name %s: %s%s" % (
            text, key, out, err)
        assert "OK" not in out, out
    #  Every error is reported, not just the first
    with open(path, "w") as file:
        file.write("server\n    batch_max = lots\n    colour = blue\n"
                   "limits\n    tags = 99999\n")
    status, out, err = run_daemon("-c", path, "--check-config")
    assert status not in (0, 2)
    for key in ("server/batch_max", "server/colour", "limits/tags"):
        assert key in out + err, (key, out, err)
    status, out, err = run_daemon("-c", os.path.join(directory, "missing"),
                                  "--check-config")
    assert status not in (0, 2), (status, out, err)
    #  A daemon does not start on a bad file
    daemon = Daemon({"server/batch_max": "0"}, start=False)
    daemon.start(wait=False)
    assert daemon.wait_exit() not in (0, None)
    assert "server/batch_max" in daemon.log_text()
    assert "ready" not in daemon.log_text()


def test_command_line():
    status, out, err = run_daemon("--version")
    assert status == 0 and out.startswith("complaintd "), (status, out, err)
    assert "protocol 1" in out, out
    for option in ("--help", "-h"):
        status, out, err = run_daemon(option)
        assert status == 0 and "usage: complaintd" in out, (status, out, err)
        assert "--check-config" in out
    status, out, err = run_daemon("--list-keys")
    assert status == 0 and "limits/description = 16384" in out, out
    for args in (["--bogus"], ["-x"], ["-c"], ["--data"], ["serve"]):
        status, out, err = run_daemon(*args)
        assert status == 2, (args, status, out, err)
        assert "usage" in out + err, (args, out, err)


def test_port_in_use():
    """A second daemon on the same endpoints exits with an error; the first
    goes on."""
    first = Daemon()
    second = Daemon(start=False, label="second complaintd")
    second.intake, second.api, second.events = (first.intake, first.api,
                                                first.events)
    second.write_config()
    second.start(wait=False)
    status = second.wait_exit()
    assert status not in (0, None), status
    assert "cannot bind" in second.log_text(), second.log_text()
    assert first.health()["complaints"] == 0
    first.stop()


def test_ipc_endpoints():
    """Endpoints may be ipc:// paths in a private directory."""
    daemon = Daemon(start=False)
    daemon.intake = "ipc://%s/intake.sock" % daemon.dir
    daemon.api = "ipc://%s/api.sock" % daemon.dir
    daemon.events = "ipc://%s/events.sock" % daemon.dir
    daemon.write_config()
    daemon.start()
    first = daemon.health("intake")
    reply = daemon.submit_ok(submit_fields("ipc-1", "letter"))
    record = daemon.get_record(number=reply["number"])
    assert record["ref"] == "ipc-1"
    events = daemon.ctl_json("watch", "--from", 1, "--count", 1)
    assert events[0]["id"] == reply["id"], events
    second = daemon.health()
    assert second["complaints"] == 1 and second["last_seq"] == 1, second
    assert 0 <= first["uptime"] <= second["uptime"], (first, second)
    daemon.stop()
    daemon.start()
    assert daemon.health()["complaints"] == 1
    daemon.stop()
