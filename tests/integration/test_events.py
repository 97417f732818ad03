"""Events: published once per new complaint with a gapless seq, carrying no
personal data; REPLAY pages; workers that were down, or that start while
complaints are coming in, see every event once and in order."""

import json
import subprocess
import threading

import msgpack

from harness import (CHANNELS, COMPLAINTCTL, EVENT_KEYS, CALL_TIMEOUT,
                     PERSONAL_KEYS,
                     Client, Daemon, Subscriber, assert_no_sanitizer_report,
                     assert_reply,
                     next_request_id, note, request, scaled, submit_fields,
                     wait_for)

PERSONAL = PERSONAL_KEYS


def personal_submit(index):
    """A SUBMIT whose personal data is easy to look for in an event."""
    fields = submit_fields(
        "evt-%d" % index, CHANNELS[index % len(CHANNELS)],
        description="secret description %d 投诉内容" % index,
        complainant={"name": "Name%04d 张" % index,
                     "phone": "+86 555 %04d" % index,
                     "email": "person%04d@example.org" % index,
                     "relation": "Relation%04d" % index},
    )
    if index % 3:
        fields["subject"] = {"department": "科室%d" % (index % 4),
                             "staff": "Staff%04d" % index}
    return fields


def check_event(event, fields, reply):
    assert EVENT_KEYS - {"department"} <= set(event), event
    assert not set(event) & PERSONAL, event
    assert event["topic"] == "complaint.created", event
    assert event["id"] == reply["id"], (event, reply)
    assert event["number"] == reply["number"], (event, reply)
    assert event["at"] == reply["received_at"], (event, reply)
    assert event["channel"] == fields["channel"], (event, fields)
    assert event["state"] == "registered", event
    department = fields.get("subject", {}).get("department")
    assert event.get("department") == department, (event, fields)


def test_events_published_gapless_without_personal_data():
    daemon = Daemon()
    subscriber = Subscriber(daemon)
    everything = Subscriber(daemon, b"")
    everything.wait_live(daemon)
    base = subscriber.wait_live(daemon)["seq"]
    wait_for(lambda: _drain_to(everything, base), 10,
             "the second subscriber to get the last probe")
    sent = []
    for index in range(40):
        fields = personal_submit(index)
        sent.append((fields, daemon.submit_ok(fields)))
    published = []
    published_maps = []
    for offset, (fields, reply) in enumerate(sent):
        for sub in (subscriber, everything):
            event = sub.event()
            assert event["seq"] == base + 1 + offset, \
                "expected seq %d, got %r" % (base + 1 + offset, event)
            check_event(event, fields, reply)
            raw = sub.last_raw
            for secret in (fields["complainant"]["name"],
                           fields["complainant"]["phone"],
                           fields["complainant"]["email"],
                           fields["complainant"]["relation"],
                           fields["description"], fields["ref"]):
                assert secret.encode("utf-8") not in raw, \
                    "event carries %r: %r" % (secret, raw)
        published.append(event)
        published_maps.append(map_bytes(raw))
    health = daemon.health()
    assert health["last_seq"] == base + len(sent), health
    #  What REPLAY returns is what was published
    replayed = daemon.replay(base + 1, 1000)
    assert replayed["events"] == published, (replayed, published)
    assert replayed["last"] == base + len(sent)
    #  ... byte for byte
    api = daemon.client("api")
    api.send(request("REPLAY", 5, {"from": base + 1, "limit": 1000}))
    raw = api.recv_frames()[-1]
    position = 0
    for event_map in published_maps:
        found = raw.find(event_map, position)
        assert found >= position, "published map not in REPLAY: %r" % (
            event_map,)
        position = found + len(event_map)
    subscriber.close()
    everything.close()
    daemon.stop()


def map_bytes(body):
    """The raw bytes of the fields map of a body."""
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(body)
    assert unpacker.read_array_header() == 5
    for _ in range(4):
        unpacker.skip()
    return body[unpacker.tell():]


def test_events_in_order_under_load():
    """Two clients pipelining SUBMITs (many per write transaction): every
    event is published once, in seq order, matching its complaint."""
    daemon = Daemon()
    subscriber = Subscriber(daemon)
    base = subscriber.wait_live(daemon)["seq"]
    clients = [Client(daemon.intake), Client(daemon.intake)]
    sent = {}
    for index in range(600):
        request_id = next_request_id()
        fields = personal_submit(1000 + index)
        sent[request_id] = fields
        clients[index % 2].send(request("SUBMIT", request_id, fields))
    by_id = {}
    for index in range(600):
        reply = clients[index % 2].recv()
        result = assert_reply(reply, "SUBMITTED")
        by_id[result["id"]] = (sent[reply[3]], result)
    assert len(by_id) == 600
    for offset in range(600):
        event = subscriber.event()
        assert event["seq"] == base + 1 + offset, (offset, event)
        fields, result = by_id[event["id"]]
        check_event(event, fields, result)
    assert sorted(by_id) == list(range(base + 1, base + 601))
    for client in clients:
        client.close()
    subscriber.close()
    daemon.stop()


def _drain_to(sub, seq):
    """Read events until the one with seq arrives; True when it has."""
    received = sub.recv(0.05)
    return bool(received) and received[1][4]["seq"] == seq


def test_replay_pages():
    daemon = Daemon()
    client = daemon.client("intake")
    sent = {}
    for index in range(250):
        request_id = next_request_id()
        fields = submit_fields("replay-%d" % index,
                               CHANNELS[index % len(CHANNELS)])
        sent[request_id] = fields
        client.send(request("SUBMIT", request_id, fields))
    replies = {}
    for _ in range(250):
        reply = client.recv()
        replies[reply[3]] = assert_reply(reply, "SUBMITTED")
    assert sorted(r["id"] for r in replies.values()) == list(range(1, 251))
    by_id = {r["id"]: (sent[request_id], r)
             for request_id, r in replies.items()}

    def seqs(fields):
        return [event["seq"] for event in fields["events"]]

    pages = [((1, 3), [1, 2, 3]), ((4, 3), [4, 5, 6]), ((2, 1), [2]),
             ((250, 3), [250]), ((251, 3), []), ((10000, 5), []),
             ((248, 1000), [248, 249, 250])]
    for (start, limit), expected in pages:
        fields = daemon.replay(start, limit)
        assert seqs(fields) == expected, (start, limit, fields)
        assert fields["last"] == 250, fields
    #  Defaults: from 1, limit 100; from 0 reads as 1
    fields = daemon.replay(start=0, limit=5)
    assert seqs(fields) == [1, 2, 3, 4, 5], fields
    fields = daemon.replay()
    assert seqs(fields) == list(range(1, 101)) and fields["last"] == 250
    fields = daemon.replay(start=101)
    assert seqs(fields) == list(range(101, 201))
    fields = daemon.replay(limit=1000)
    assert seqs(fields) == list(range(1, 251))
    #  Paging by 64 walks through every event once
    events, last = daemon.replay_all(page=64)
    assert [event["seq"] for event in events] == list(range(1, 251))
    assert last == 250
    for event in events:
        fields, reply = by_id[event["id"]]
        check_event(event, fields, reply)
    assert sorted(event["id"] for event in events) == list(range(1, 251))
    daemon.stop()


class Watcher:
    """complaintctl watch as a worker would run it; lines are collected by
    a thread."""

    def __init__(self, daemon, *args):
        command = [COMPLAINTCTL, "--api", daemon.api, "--events",
                   daemon.events, "--timeout",
                   str(int(scaled(CALL_TIMEOUT) * 1000)), "--json", "watch"]
        command += [str(arg) for arg in args]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def finish(self, timeout=30):
        try:
            status = self.proc.wait(scaled(timeout))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("watch did not finish; it printed %d events"
                                 % len(self.lines))
        self.reader.join(scaled(timeout))
        error = self.proc.stderr.read().decode("utf-8", "replace")
        assert_no_sanitizer_report(error, "complaintctl watch")
        assert status == 0, "watch exit %d: %s" % (status, error)
        return self.lines

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def assert_in_order(events, first, last, sent_by_id=None):
    seqs = [event["seq"] for event in events]
    assert seqs == list(range(first, last + 1)), \
        "expected seqs %d..%d once each, got %s" % (first, last, seqs)
    for event in events:
        assert EVENT_KEYS - {"department"} <= set(event), event
        assert not set(event) & PERSONAL, event
        if sent_by_id is not None:
            fields, reply = sent_by_id[event["id"]]
            check_event(event, fields, reply)


def test_watch_catches_up_after_being_down():
    daemon = Daemon()
    sent = {}
    for index in range(30):
        fields = personal_submit(index)
        reply = daemon.submit_ok(fields)
        sent[reply["id"]] = (fields, reply)
    events = daemon.ctl_json("watch", "--from", 1, "--count", 30)
    assert_in_order(events, 1, 30, sent)
    events = daemon.ctl_json("watch", "--from", 11, "--count", 5)
    assert_in_order(events, 11, 15, sent)
    daemon.stop()


def test_watch_live_while_submitting():
    daemon = Daemon()
    sent = {}
    for index in range(5):
        fields = personal_submit(index)
        reply = daemon.submit_ok(fields)
        sent[reply["id"]] = (fields, reply)
    total = 5 + 80
    failures = []
    watcher = None
    started = threading.Event()

    def submitter():
        client = Client(daemon.intake)
        try:
            for index in range(5, total):
                fields = personal_submit(index)
                request_id = next_request_id()
                reply = client.call(request("SUBMIT", request_id, fields))
                result = assert_reply(reply, "SUBMITTED", request_id)
                sent[result["id"]] = (fields, result)
                if index == 15:
                    #  Go on only once the watcher is live: it has printed
                    #  more than the history
                    started.wait(scaled(10))
                    wait_for(lambda: watcher and len(watcher.lines) > 6,
                             10, "the watcher to print live events")
        except BaseException as error:
            failures.append(error)
        finally:
            client.close()

    thread = threading.Thread(target=submitter)
    thread.start()
    try:
        watcher = Watcher(daemon, "--from", 1, "--count", total)
        started.set()
        thread.join(scaled(60))
        assert not thread.is_alive(), "the submitter hangs"
        if failures:
            raise failures[0]
        events = watcher.finish()
    finally:
        started.set()
        if watcher:
            watcher.kill()
        thread.join(scaled(60))
    assert len(sent) == total
    assert_in_order(events, 1, total, sent)
    note("watcher saw %d events, %d of them submitted while it ran"
         % (len(events), total - 5))
    daemon.stop()


def test_watch_across_a_restart():
    """A worker keeps its place while the daemon restarts."""
    daemon = Daemon()
    sent = {}

    def submit(index):
        fields = personal_submit(index)
        reply = daemon.submit_ok(fields)
        sent[reply["id"]] = (fields, reply)

    for index in range(10):
        submit(index)
    watcher = Watcher(daemon, "--from", 1, "--count", 30)
    try:
        wait_for(lambda: len(watcher.lines) >= 10, 10,
                 "the watcher to catch up")
        for index in range(10, 15):
            submit(index)
        daemon.restart()
        for index in range(15, 30):
            submit(index)
        events = watcher.finish()
    finally:
        watcher.kill()
    assert_in_order(events, 1, 30, sent)
    daemon.stop()
