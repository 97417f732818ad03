"""Every class of bad input gets an ERROR that names the problem, and the
daemon goes on serving: after each refusal HEALTH answers on both ROUTER
endpoints and the number of complaints is unchanged."""

import random

import msgpack
import zmq
from zmq.utils.monitor import recv_monitor_message

from harness import (Client, Daemon, assert_error, assert_record, assert_reply,
                     next_request_id, note, pack, request, submit_fields,
                     wait_for)

HEALTH_7 = bytes.fromhex("95a3434d5001a64845414c54480780")


def str_header(size):
    if size < 32:
        return bytes([0xa0 | size])
    if size < 256:
        return bytes([0xd9, size])
    return bytes([0xda, size >> 8, size & 0xff])


def pack_with(body, replacements):
    """Pack body, then replace each placeholder string by a msgpack str
    holding the given raw bytes (which need not be valid UTF-8)."""
    data = pack(body)
    for placeholder, raw in replacements.items():
        packed = msgpack.packb(placeholder, use_bin_type=True)
        assert data.count(packed) == 1, placeholder
        data = data.replace(packed, str_header(len(raw)) + raw)
    return data


class Checker:
    """Sends bad requests and checks that the daemon still serves."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.count = daemon.health()["complaints"]
        self.checked = 0

    def serving(self):
        for endpoint in ("intake", "api"):
            health = self.daemon.health(endpoint)
            assert health["complaints"] == self.count, \
                "complaints %d, expected %d" % (health["complaints"],
                                                self.count)
        self.checked += 1

    def refused(self, body, status, code, field=None, request_id=None,
                message=None, endpoint="intake", envelope=()):
        reply = self.daemon.call(body, endpoint, envelope)
        try:
            fields = assert_error(reply, status, code, field, request_id,
                                  message)
        except AssertionError as error:
            raise AssertionError("%s\n  request: %s"
                                 % (error, repr(body)[:300]))
        self.serving()
        return fields

    def invalid(self, fields, field, message=None, type_="SUBMIT",
                endpoint="intake"):
        """A request with these fields gets 422 naming field."""
        request_id = next_request_id()
        return self.refused(request(type_, request_id, fields), 422,
                            "INVALID", field, request_id, message, endpoint)

    def accepted(self, fields):
        reply = self.daemon.submit_ok(fields)
        self.count += 1
        self.serving()
        return reply


def test_malformed_bodies():
    daemon = Daemon()
    daemon.submit_ok(submit_fields("before"))
    check = Checker(daemon)
    check.serving()

    #  The spec's byte-level example is what the harness sends, and works
    assert pack(request("HEALTH", 7)) == HEALTH_7
    reply = daemon.call(HEALTH_7, "intake")
    assert_reply(reply, "STATUS", 7)

    #  Not msgpack, or not one value
    rng = random.Random(20261123)
    garbage = [b"", b"\xc1", b"hello, world", b"\xff" * 64,
               bytes(rng.randrange(256) for _ in range(200)),
               b"\x00", HEALTH_7 + HEALTH_7]
    for body in garbage:
        for endpoint in ("intake", "api"):
            #  No request_id can be read: 0 is sent
            check.refused(body, 400, "BAD_REQUEST", request_id=0,
                          endpoint=endpoint)

    #  Truncated: every proper prefix of a valid SUBMIT
    full = pack(request("SUBMIT", 77, submit_fields(
        "trunc", tags=["a", "b"], complained_at=1767225600000,
        subject={"department": "放射科"})))
    for size in range(1, len(full)):
        check.refused(full[:size], 400, "BAD_REQUEST")
    note("%d truncations refused" % (len(full) - 1))

    #  Trailing bytes after the array
    for extra in (b"\xc0", b"\x00", HEALTH_7):
        check.refused(HEALTH_7 + extra, 400, "BAD_REQUEST")

    #  Valid msgpack, but not an array of 5
    for body in (42, "CMP", {}, [], ["CMP"], ["CMP", 1, "HEALTH"], None,
                 {"CMP": 1}):
        check.refused(body, 400, "BAD_REQUEST")
    #  ... where request_id can be read, it is echoed
    check.refused(["CMP", 1, "HEALTH", 31], 400, "BAD_REQUEST",
                  request_id=31)
    check.refused(["CMP", 1, "HEALTH", 32, {}, {}], 400, "BAD_REQUEST",
                  request_id=32)

    #  Signature
    for signature in ("CMQ", "cmp", "CMP ", "", None, 1, b"CMP"):
        check.refused([signature, 1, "HEALTH", 41, {}], 400, "BAD_REQUEST",
                      "signature", 41)

    #  Version: not 1 is 505 (in a version-1 ERROR); not an int is 400
    for version in (2, 0, 255, 1 << 40):
        request_id = next_request_id()
        reply = daemon.call(["CMP", version, "HEALTH", request_id, {}])
        assert reply[:4] == ["CMP", 1, "ERROR", request_id], reply
        assert_error(reply, 505, "VERSION", "version", request_id,
                     "supported: 1")
        check.serving()
    for version in (-1, "1", 1.0, None):
        check.refused(["CMP", version, "HEALTH", 43, {}], 400, "BAD_REQUEST",
                      "version", 43)

    #  Type: unknown names and reply types are 405; not a str is 400
    for type_ in ("COMPLAIN", "health", "Health", "SUBMITTED", "STATUS",
                  "COMPLAINT", "EVENTS", "EVENT", "ERROR", ""):
        for endpoint in ("intake", "api"):
            request_id = next_request_id()
            check.refused(["CMP", 1, type_, request_id, {}], 405,
                          "NOT_SUPPORTED", "type", request_id,
                          endpoint=endpoint)
    for type_ in (9, None, ["HEALTH"], b"HEALTH"):
        check.refused(["CMP", 1, type_, 44, {}], 400, "BAD_REQUEST", "type",
                      44)

    #  request_id: any uint64 is echoed; negative or not an int is 400
    for request_id in (0, 1, 255, 65536, (1 << 64) - 1):
        reply = daemon.call(request("HEALTH", request_id))
        assert_reply(reply, "STATUS", request_id)
    for request_id in (-1, -(1 << 63), "7", 7.0, None):
        check.refused(["CMP", 1, "HEALTH", request_id, {}], 400,
                      "BAD_REQUEST", "request_id")

    #  fields must be a map
    for fields in ([], None, "", 0):
        check.refused(["CMP", 1, "HEALTH", 45, fields], 400, "BAD_REQUEST",
                      "fields", 45)

    #  Lengths beyond the bytes present: a 5-byte header may declare 4 GB
    header = HEALTH_7[:-1]
    for body in (b"\xdd\xff\xff\xff\xff",              # array32
                 b"\xdf\xff\xff\xff\xff",              # map32
                 b"\xdb\xff\xff\xff\xff",              # str32
                 b"\xc6\xff\xff\xff\xff",              # bin32
                 header + b"\xdf\xff\xff\xff\xff",     # fields map32
                 header + b"\xdd\x00\x01\x00\x00",     # array of 65536
                 b"\x95\xa3CMP\x01\xa6HEALTH\x07\xde\xff\xff"):
        check.refused(body, 400, "BAD_REQUEST")

    #  Nesting: 8 levels are understood (the unknown key is named), 9 are
    #  not
    def nested(levels):
        value = []
        for _ in range(levels - 3):      # body array, fields map, x
            value = [value]
        return request("HEALTH", 46, {"x": value})
    check.refused(nested(8), 422, "INVALID", "x", 46)
    for levels in (9, 10, 50):
        check.refused(nested(levels), 400, "BAD_REQUEST")
    deep = b"\x91" * 1000 + b"\x90"
    check.refused(deep, 400, "BAD_REQUEST")
    note("%d refusals checked, daemon served after each" % check.checked)
    daemon.stop()


def test_container_bounds():
    """At most 4096 entries in any array or map (400 beyond). A request
    over the bound always breaks a field rule too (no field takes that
    many items, and unknown keys are refused), and which of two faults is
    reported is not specified: 400 or 422, and the daemon goes on."""
    daemon = Daemon()
    check = Checker(daemon)
    #  4096 tags are read; then they are too many for limits/tags
    check.invalid(submit_fields("bound", tags=["t"] * 4096), "tags",
                  "limits/tags")
    over = [
        request("SUBMIT", 52, submit_fields("bound", tags=["t"] * 4097)),
        request("SUBMIT", 53, submit_fields("bound", tags=["t"] * 8192)),
        request("HEALTH", 54, {"k%d" % i: 0 for i in range(4097)}),
        request("HEALTH", 55, {"x": [0] * 8193}),
    ]
    for body in over:
        reply = daemon.call(body)
        assert reply[2] == "ERROR" and reply[4]["status"] in (400, 422), \
            reply
        check.serving()
    daemon.stop()


def test_wrong_endpoint():
    daemon = Daemon()
    check = Checker(daemon)
    request_id = next_request_id()
    check.refused(request("SUBMIT", request_id, submit_fields("api-submit")),
                  405, "NOT_SUPPORTED", "type", request_id, endpoint="api")
    for type_, fields in (("GET", {"id": 1}), ("LIST", {}),
                          ("REPLAY", {"from": 1})):
        request_id = next_request_id()
        check.refused(request(type_, request_id, fields), 405,
                      "NOT_SUPPORTED", "type", request_id, endpoint="intake")
    #  The events endpoint answers nothing; the daemon is not disturbed
    dealer = Client(daemon.events)
    dealer.send(HEALTH_7)
    check.serving()
    dealer.close()
    check.accepted(submit_fields("after-wrong-endpoint"))
    assert daemon.get_record(id=1)["ref"] == "after-wrong-endpoint"
    daemon.stop()


def test_invalid_fields():
    daemon = Daemon()
    check = Checker(daemon)
    good = submit_fields("fields-ok")

    def without(key):
        fields = dict(good)
        del fields[key]
        return fields

    #  Missing required fields
    check.invalid(without("description"), "description")
    check.invalid(without("channel"), "channel")
    check.invalid(without("ref"), "ref")
    check.invalid(without("complainant"), "complainant")
    for complainant in ({}, {"relation": "self"}, {"anonymous": False},
                        {"name": ""}, {"name": None, "phone": None}):
        check.invalid(dict(good, complainant=complainant), "complainant")
    #  nil is absent
    check.invalid(dict(good, description=None), "description")
    #  Empty or blank where text is required
    check.invalid(dict(good, ref=""), "ref")
    check.invalid(dict(good, description=""), "description")
    check.invalid(dict(good, description=" \t\n\u3000\u00a0"), "description")

    #  Mistyped
    mistyped = [
        (dict(good, complainant={"phone": 13800138000}), "complainant.phone"),
        (dict(good, complainant={"name": ["李"]}), "complainant.name"),
        (dict(good, complainant={"name": "a", "anonymous": "yes"}),
         "complainant.anonymous"),
        (dict(good, complainant="李伟"), "complainant"),
        (dict(good, subject=["x"]), "subject"),
        (dict(good, channel=1), "channel"),
        (dict(good, ref=12345), "ref"),
        (dict(good, description="说明".encode("utf-8")), "description"),
        (dict(good, description=True), "description"),
        (dict(good, complained_at="2026-01-01"), "complained_at"),
        (dict(good, complained_at=1767225600000.0), "complained_at"),
        (dict(good, tags="waiting"), "tags"),
        (dict(good, tags=["ok", 2]), "tags[1]"),
        (dict(good, attachments=[None]), "attachments[0]"),
        (dict(good, demands={"text": "x"}), "demands"),
    ]
    for fields, field in mistyped:
        check.invalid(fields, field)

    #  Strings that are not UTF-8, or hold NUL
    bad_strings = [
        ("description", b"bad \xc3\x28 text"),    # broken sequence
        ("description", b"\xe4\xb8"),             # truncated character
        ("description", b"over \xc0\xaf long"),   # overlong
        ("description", b"\xed\xa0\x80 surr"),    # surrogate U+D800
        ("description", b"\xf4\x90\x80\x80"),     # above U+10FFFF
        ("description", b"nul \x00 inside"),
        ("complainant.name", b"\xff\xfe"),
        ("subject.staff", b"\xed\xbf\xbf"),
        ("ref", b"r\x00"),
        ("tags[0]", b"\x80"),
    ]
    for path, raw in bad_strings:
        fields = submit_fields("utf8", subject={"department": "x"})
        placeholder = "@@placeholder@@"
        if path == "complainant.name":
            fields["complainant"] = {"name": placeholder}
        elif path == "subject.staff":
            fields["subject"] = {"staff": placeholder}
        elif path == "tags[0]":
            fields["tags"] = [placeholder]
        else:
            fields[path] = placeholder
        request_id = next_request_id()
        body = pack_with(request("SUBMIT", request_id, fields),
                         {placeholder: raw})
        check.refused(body, 422, "INVALID", path, request_id)

    #  Unknown channel, unknown fields at every level
    for channel in ("fax", "Phone", "phone ", "电话"):
        check.invalid(dict(good, channel=channel), "channel")
    check.invalid(dict(good, colour="red"), "colour")
    check.invalid(dict(good, id=5), "id")
    check.invalid(dict(good, complainant={"name": "a", "fax": "1"}),
                  "complainant.fax")
    check.invalid(dict(good, subject={"floor": "2"}), "subject.floor")
    #  ... whatever the value, nil included
    check.invalid(dict(good, colour=None), "colour")
    check.invalid(dict(good, complainant={"name": "a", "fax": None}),
                  "complainant.fax")
    check.invalid({"x": None}, "x", type_="HEALTH", endpoint="api")
    #  Keys that are not strings: the enclosing map is named, or no field
    #  at the top level
    check.invalid(dict(good, complainant={"name": "a", 1: "x"}),
                  "complainant")
    check.invalid(dict(good, subject={b"department": "x"}), "subject")
    request_id = next_request_id()
    check.refused(request("SUBMIT", request_id, {**good, 7: "seven"}), 422,
                  "INVALID", None, request_id)
    #  A key given twice
    body = b"\x95\xa3CMP\x01\xa6SUBMIT\x3f\x82\xa3ref\xa1a\xa3ref\xa1b"
    check.refused(body, 422, "INVALID", "ref", 0x3f)

    #  Sizes count bytes, not characters: description limit 16384
    check.invalid(dict(good, ref="d1", description="x" * 16385),
                  "description", "limits/description")
    check.invalid(dict(good, ref="d2", description="投" * 5462),  # 16386 B
                  "description", "limits/description")
    check.accepted(dict(good, ref="d3", description="x" * 16384))
    check.accepted(dict(good, ref="d4", description="投" * 5461))  # 16383 B
    check.invalid(dict(good, demands="y" * 4097), "demands", "limits/demands")
    check.invalid(dict(good, complainant={"name": "n" * 201}),
                  "complainant.name", "limits/text")
    check.invalid(dict(good, subject={"location": "楼" * 67}),  # 201 B
                  "subject.location", "limits/text")
    check.invalid(dict(good, ref="r" * 257), "ref")
    check.accepted(dict(good, ref="r" * 256))
    check.invalid(dict(good, complainant={"phone": "1" * 33}),
                  "complainant.phone")
    check.invalid(dict(good, complainant={"email": "a@" + "b" * 253}),
                  "complainant.email")
    check.invalid(dict(good, tags=["t"] * 33), "tags", "limits/tags")
    check.invalid(dict(good, tags=["ok", "t" * 65]), "tags[1]")
    check.invalid(dict(good, tags=[""]), "tags[0]")
    check.invalid(dict(good, attachments=["https://x/%d" % i
                                          for i in range(17)]),
                  "attachments", "limits/attachments")
    check.invalid(dict(good, attachments=["https://x/" + "a" * 2040]),
                  "attachments[0]")

    #  Contents
    check.invalid(dict(good, complainant={"phone": "call me"}),
                  "complainant.phone")
    check.invalid(dict(good, complainant={"phone": "12"}), "complainant.phone")
    for email in ("no-at", "@example.org", "a@", "a@b@c", "a b@c"):
        check.invalid(dict(good, complainant={"email": email}),
                      "complainant.email")
    check.invalid(dict(good, complainant={"name": "a\x1b[2J"}),
                  "complainant.name")
    check.invalid(dict(good, ref="r\n1"), "ref")
    check.invalid(dict(good, description="bell \x07"), "description")
    check.invalid(dict(good, demands="del \x7f"), "demands")
    check.invalid(dict(good, subject={"staff": "tab\there"}), "subject.staff")
    check.invalid(dict(good, tags=["new\nline"]), "tags[0]")
    check.accepted(dict(good, ref="controls-ok",
                        description="line 1\r\n\tline 2\n",
                        demands="a\tb\r\nc"))
    check.invalid(dict(good, attachments=["not a uri"]), "attachments[0]")
    check.invalid(dict(good, complained_at=5), "complained_at")
    check.invalid(dict(good, complained_at=-1), "complained_at")
    check.invalid(dict(good, complained_at=(1 << 63) - 1), "complained_at")
    check.invalid(dict(good, complained_at=1 << 63), "complained_at")

    #  Other requests' fields
    check.invalid({"x": 1}, "x", type_="HEALTH", endpoint="api")
    check.invalid({"x": 1}, "x", type_="HEALTH", endpoint="intake")
    check.invalid({}, "id", type_="GET", endpoint="api")
    check.invalid({"id": 1, "number": "20260101-000001"}, "id", type_="GET",
                  endpoint="api")
    check.invalid({"id": -1}, "id", type_="GET", endpoint="api")
    check.invalid({"id": "1"}, "id", type_="GET", endpoint="api")
    check.invalid({"limit": 0}, "limit", type_="LIST", endpoint="api")
    check.invalid({"limit": 501}, "limit", "list/page_max", type_="LIST",
                  endpoint="api")
    check.invalid({"channel": "fax"}, "channel", type_="LIST", endpoint="api")
    check.invalid({"after": "not-a-cursor"}, "after", type_="LIST",
                  endpoint="api")
    check.invalid({"limit": 0}, "limit", type_="REPLAY", endpoint="api")
    check.invalid({"limit": 1001}, "limit", "events/replay_max",
                  type_="REPLAY", endpoint="api")
    check.invalid({"from": -1}, "from", type_="REPLAY", endpoint="api")
    request_id = next_request_id()
    check.refused(request("GET", request_id, {"id": 12345}), 404,
                  "NOT_FOUND", "id", request_id, endpoint="api")
    check.refused(request("GET", request_id, {"number": "20990101-000001"}),
                  404, "NOT_FOUND", "number", request_id, endpoint="api")

    #  And a valid SUBMIT still goes through
    reply = check.accepted(good)
    assert daemon.get_record(id=reply["id"])["ref"] == "fields-ok"
    note("%d refusals checked, daemon served after each" % check.checked)
    daemon.stop()


def test_empty_values_mean_absent():
    """nil, "" in an optional text field, [] and {} are stored as
    absent."""
    daemon = Daemon()
    fields = submit_fields(
        "empty", "email", complained_at=None, demands="", tags=[],
        attachments=[], subject={"department": "", "staff": None},
        complainant={"name": "", "phone": None, "email": "e@example.org",
                     "relation": ""})
    reply = daemon.submit_ok(fields)
    record = daemon.get_record(id=reply["id"])
    stored = submit_fields("empty", "email",
                           complainant={"email": "e@example.org"})
    assert_record(record, stored, reply)
    #  A resend of the same with the values actually absent is the same
    #  complaint
    again = daemon.submit_ok(stored, duplicate=True)
    assert again["id"] == reply["id"]
    #  Contact details given with anonymous = true are stored, and
    #  anonymous = false is stored as given
    for number, complainant in enumerate((
            {"anonymous": True, "phone": "12345"},
            {"anonymous": False, "name": "实名"})):
        fields = submit_fields("anon-%d" % number, complainant=complainant)
        reply = daemon.submit_ok(fields)
        assert_record(daemon.get_record(id=reply["id"]), fields, reply)
    daemon.stop()


def sized_submit(size, request_id=91):
    """A SUBMIT body of exactly size bytes."""
    fields = submit_fields("sized", description="")
    length = size
    for _ in range(3):
        body = pack(request("SUBMIT", request_id,
                            dict(fields, description="x" * length)))
        length += size - len(body)
    assert len(body) == size, (len(body), size)
    return body


def test_body_size_limits():
    daemon = Daemon()
    check = Checker(daemon)
    #  At the limit the body is read (and its description is too long)
    check.refused(sized_submit(65536), 422, "INVALID", "description", 91)
    #  Above it: 413
    for size in (65537, 100000, 262000):
        check.refused(sized_submit(size), 413, "TOO_LARGE", request_id=0,
                      message="limits/max_request")

    #  Above the transport limit (4 x 65536) ZeroMQ drops the connection;
    #  no reply, and the daemon goes on
    client = Client(daemon.intake, monitor=zmq.EVENT_DISCONNECTED)

    def disconnected():
        if client.monitor.poll(50, zmq.POLLIN):
            event = recv_monitor_message(client.monitor)["event"]
            return event == zmq.EVENT_DISCONNECTED
        return False
    client.send(HEALTH_7)
    assert_reply(client.recv(), "STATUS", 7)        # connected
    client.send(b"\x00" * 300000)
    wait_for(disconnected, 10, "the daemon to drop the connection")
    assert client.socket.poll(0, zmq.POLLIN) == 0, "a reply came"
    check.serving()
    #  The same socket reconnects and is served
    client.send(HEALTH_7)
    assert_reply(client.recv(), "STATUS", 7)
    client.close()
    daemon.stop()


def test_envelopes():
    daemon = Daemon()
    check = Checker(daemon)
    #  A real REQ socket
    req = Client(daemon.intake, zmq.REQ)
    for request_id in (1, 2, 3):
        assert_reply(req.call(request("HEALTH", request_id)), "STATUS",
                     request_id)
    req.close()
    req = Client(daemon.api, zmq.REQ)
    assert_reply(req.call(request("GET", 4, {"id": 1})), "ERROR", 4)
    req.close()

    #  REQ-style and custom envelopes come back verbatim, on every path
    envelopes = [[b""], [b"a", b"\x00\xffbinary", b""],
                 [b"e%d" % i for i in range(7)]]
    for envelope in envelopes:
        reply = daemon.call(request("HEALTH", 5), "intake", envelope)
        assert_reply(reply, "STATUS", 5)
        reply = daemon.call(request("HEALTH", 6), "api", envelope)
        assert_reply(reply, "STATUS", 6)
        reply = daemon.call(b"garbage", "intake", envelope)
        assert_error(reply, 400, "BAD_REQUEST")
        reply = daemon.call(request("GET", 7, {"id": 99}), "api", envelope)
        assert_error(reply, 404, "NOT_FOUND", "id", 7)
        reply = daemon.call(request("SUBMIT", 8, {"x": 1}), "intake",
                            envelope)
        assert_error(reply, 422, "INVALID", "x", 8)
        reply = daemon.call(request("SUBMIT", 9, submit_fields(
            "env-%d" % len(envelope))), "intake", envelope)
        assert_reply(reply, "SUBMITTED", 9)
        check.count += 1
        check.serving()

    #  More than 8 frames: dropped without a reply. Requests on one
    #  connection are handled in order, so when the HEALTH sent after it is
    #  answered, the long message has been handled.
    for frames in (9, 10, 64):
        for endpoint in ("intake", "api"):
            client = Client(daemon.endpoint(endpoint))
            client.send(request("HEALTH", 100 + frames),
                        [b"f%d" % i for i in range(frames - 1)])
            client.send(request("HEALTH", 200 + frames))
            reply = client.recv()
            assert reply[3] == 200 + frames, \
                "a %d-frame message was answered: %r" % (frames, reply)
            assert_reply(reply, "STATUS")
            assert client.socket.poll(0, zmq.POLLIN) == 0
            client.close()
    check.serving()
    daemon.stop()
