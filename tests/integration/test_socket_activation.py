"""Socket activation: the daemon adopts listening sockets passed by a
service manager (systemd-socket-activate stands in for systemd)."""

import shutil

from harness import (Client, Daemon, SkipTest, Subscriber, assert_reply,
                     next_request_id, request, submit_fields)


def test_socket_activation():
    activate = shutil.which("systemd-socket-activate")
    if not activate:
        raise SkipTest("systemd-socket-activate is not installed")
    daemon = Daemon(start=False)
    prefix = [activate]
    for port in daemon.ports:
        prefix += ["-l", "127.0.0.1:%d" % port]
    daemon.start(prefix=prefix, wait=False)
    #  The activator listens first and starts the daemon at the first
    #  connection
    for port in daemon.ports:
        daemon.wait_log(r"Listening on 127\.0\.0\.1:%d" % port)
    intake = Client(daemon.intake)
    request_id = next_request_id()
    intake.send(request("HEALTH", request_id))
    daemon.wait_ready()
    assert_reply(intake.recv(), "STATUS", request_id)
    api = Client(daemon.api)
    request_id = next_request_id()
    status = assert_reply(api.call(request("HEALTH", request_id)), "STATUS",
                          request_id)
    assert status["complaints"] == 0, status
    log = daemon.log_text()
    for endpoint in (daemon.intake, daemon.api, daemon.events):
        assert "%s: socket fd" % endpoint in log, \
            "%s was not taken from the service manager:\n%s" % (endpoint, log)
    #  The three sockets work: a complaint goes in, is read back, and its
    #  event is published
    subscriber = Subscriber(daemon)
    event = subscriber.wait_live(daemon)
    record = daemon.get_record(id=event["id"])
    assert record["number"] == event["number"]
    reply = daemon.submit_ok(submit_fields("activated"))
    event = subscriber.event()
    assert event["id"] == reply["id"] and event["seq"] == reply["id"]
    intake.close()
    api.close()
    subscriber.close()
    daemon.stop()
