#!/usr/bin/python3
"""Interoperability client for the complaintd protocol (CMP), version 1.

Written from proto/PROTOCOL.md alone, to show that the document is enough to
implement a client. Needs only the standard library, pyzmq and msgpack.

Usage: interop_client.py --intake tcp://127.0.0.1:7470 --api tcp://127.0.0.1:7471
                         [--events tcp://127.0.0.1:7472] [--timeout SECONDS]

Exits 0 when every check passes, 1 with a message at the first mismatch.
"""
import argparse
import re
import sys
import time
import uuid

import msgpack
import zmq


class Mismatch(Exception):
    """The daemon did something the spec does not allow."""


def check(cond, what):
    if not cond:
        raise Mismatch(what)


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def encode(mtype, request_id, fields):
    # Body: ["CMP", 1, type, request_id, fields]; use_bin_type keeps str as str.
    return msgpack.packb(["CMP", 1, mtype, request_id, fields], use_bin_type=True)


def decode(frame):
    """Decode and check one body; return (type, request_id, fields)."""
    try:
        body = msgpack.unpackb(frame, raw=False)  # raises on trailing bytes
    except Exception as e:
        raise Mismatch(f"reply body is not one msgpack value: {e}")
    check(isinstance(body, list) and len(body) == 5, f"body is not a 5-array: {body!r}")
    sig, ver, mtype, rid, fields = body
    check(sig == "CMP", f"bad signature {sig!r}")
    check(ver == 1, f"bad version {ver!r}")
    check(isinstance(mtype, str), f"type is not a str: {mtype!r}")
    check(is_uint(rid), f"request_id is not a uint: {rid!r}")
    check(isinstance(fields, dict), f"fields is not a map: {fields!r}")
    return mtype, rid, fields


class Client:
    """A DEALER client: one body frame out, one body frame back, matched by request_id."""

    def __init__(self, ctx, name, endpoint, timeout, first_id):
        self.name, self.timeout, self.next_id = name, timeout, first_id
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def call(self, mtype, fields, expect):
        rid = self.next_id
        self.next_id = (rid + 1) % 2**64          # request_id is any uint64
        self.sock.send(encode(mtype, rid, fields))
        deadline = time.monotonic() + self.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                raise Mismatch(f"{self.name}: no reply to {mtype} within {self.timeout}s")
            frames = self.sock.recv_multipart()
            check(len(frames) == 1, f"{self.name}: DEALER reply has {len(frames)} frames, not 1")
            rtype, rrid, rfields = decode(frames[0])
            if rrid != rid:  # spec: log and ignore replies matching no request
                print(f"  ({self.name}: ignoring reply with unknown request_id {rrid})")
                continue
            check(rtype == expect, f"{self.name}: {mtype} got {rtype} {rfields!r}, expected {expect}")
            return rfields


def check_status(name, st):
    # Table 16: version str, protocol 1, uptime int, last_seq and complaints uint.
    check(set(st) == {"version", "protocol", "uptime", "last_seq", "complaints"},
          f"{name}: STATUS keys {sorted(st)}")
    check(isinstance(st["version"], str), f"{name}: STATUS version not a str")
    check(st["protocol"] == 1, f"{name}: STATUS protocol {st['protocol']!r}")
    check(isinstance(st["uptime"], int) and st["uptime"] >= 0, f"{name}: bad uptime")
    check(is_uint(st["last_seq"]) and is_uint(st["complaints"]), f"{name}: bad counters")


def replay_all(api):
    """REPLAY from 1 until caught up; check seq is contiguous; return all events."""
    events, nxt = [], 1
    while True:
        r = api.call("REPLAY", {"from": nxt, "limit": 1000}, "EVENTS")
        check(isinstance(r.get("events"), list) and is_uint(r.get("last")), f"bad EVENTS {r!r}")
        for e in r["events"]:
            check(e.get("seq") == nxt, f"REPLAY: expected seq {nxt}, got {e.get('seq')!r}")
            events.append(e)
            nxt += 1
        if not r["events"] or nxt > r["last"]:
            return events


def main():
    ap = argparse.ArgumentParser(description="CMP v1 interop client")
    ap.add_argument("--intake", required=True)
    ap.add_argument("--api", required=True)
    ap.add_argument("--events")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per reply")
    a = ap.parse_args()

    ctx = zmq.Context()
    sub = None
    if a.events:  # subscribe first, so the live EVENT is queued for us
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"complaint.")
        sub.connect(a.events)
    # Request ids near the top of uint64 exercise the 8-byte encoding (and wrap to 0).
    intake = Client(ctx, "intake", a.intake, a.timeout, 2**64 - 8)
    api = Client(ctx, "api", a.api, a.timeout, 2**63)

    # 1. HEALTH on both endpoints.
    for c in (intake, api):
        check_status(c.name, c.call("HEALTH", {}, "STATUS"))
    print("ok   HEALTH -> STATUS on intake and api")

    # 2. SUBMIT a complaint with every field of Tables 4-6.
    now = int(time.time() * 1000)
    sent = {
        "channel": "email",
        "ref": f"interop-{uuid.uuid4()}",          # unique idempotency key per run
        "complained_at": now - 3600 * 1000,        # an hour ago
        "complainant": {"name": "李伟 (Li Wei)", "phone": "+86 138 0013 8000",
                        "email": "li.wei@example.org", "anonymous": False,
                        "relation": "患者之子 / son of the patient"},
        "subject": {"department": "放射科 Radiology", "staff": "王医生 Dr. Wang",
                    "location": "B栋2楼 Building B, floor 2"},
        "description": "预约了09:00的X光检查，一直等到12:10。\n"
                       "Booked an X-ray for 09:00, waited until 12:10.\tNobody explained.",
        "demands": "道歉并解释延误原因。An apology and an explanation.",
        "attachments": ["https://files.example.org/c/8f3a.jpg", "urn:uuid:" + str(uuid.uuid4())],
        "tags": ["waiting-time", "等候时间"],
    }
    sub_r = intake.call("SUBMIT", sent, "SUBMITTED")
    check(set(sub_r) == {"id", "number", "received_at", "duplicate"}, f"SUBMITTED keys {sorted(sub_r)}")
    cid, number = sub_r["id"], sub_r["number"]
    check(is_uint(cid) and cid >= 1, f"SUBMITTED id {cid!r}")
    # YYYYMMDD-NNNNNN; the spec says not to rely on exactly six counter digits.
    check(isinstance(number, str) and re.fullmatch(r"\d{8}-\d{6,}", number),
          f"SUBMITTED number {number!r} is not YYYYMMDD-NNNNNN")
    check(isinstance(sub_r["received_at"], int) and abs(sub_r["received_at"] - now) < 600_000,
          f"SUBMITTED received_at {sub_r['received_at']!r} far from client clock")
    check(sub_r["duplicate"] is False, f"SUBMITTED duplicate {sub_r['duplicate']!r}, expected false")
    print(f"ok   SUBMIT -> SUBMITTED id={cid} number={number}")

    # 3. GET by id and by number; the record is what we sent plus server fields.
    expected = dict(sent, id=cid, number=number, received_at=sub_r["received_at"],
                    state="registered", version=1)
    for key in ("id", "number"):
        rec = api.call("GET", {key: expected[key]}, "COMPLAINT").get("complaint")
        check(isinstance(rec, dict), f"COMPLAINT has no complaint map")
        for k in sorted(set(expected) | set(rec)):
            check(rec.get(k) == expected.get(k),
                  f"GET by {key}: field {k}: got {rec.get(k)!r}, sent/expected {expected.get(k)!r}")
    print("ok   GET by id and by number return every field as sent")

    # 4. The same SUBMIT again is a duplicate of the original registration.
    dup = intake.call("SUBMIT", sent, "SUBMITTED")
    check(dup == dict(sub_r, duplicate=True), f"resend: got {dup!r}, expected {dict(sub_r, duplicate=True)!r}")
    print("ok   resent SUBMIT -> SUBMITTED duplicate=true, same id/number/received_at")

    # 5. One invalid SUBMIT: a phone given as an int -> 422 INVALID on complainant.phone.
    bad = {"channel": "phone", "ref": f"interop-bad-{uuid.uuid4()}", "description": "bad type",
           "complainant": {"phone": 8613800138000}}
    err = intake.call("SUBMIT", bad, "ERROR")
    got = (err.get("status"), err.get("code"), err.get("field"))
    check(got == (422, "INVALID", "complainant.phone"), f"invalid SUBMIT: got {got} ({err.get('message')!r})")
    check(isinstance(err.get("message"), str), "ERROR without a message str")
    print(f"ok   invalid SUBMIT -> ERROR 422 INVALID field=complainant.phone")

    # 6a. LIST, narrowed to our received_at and channel, paging until next is nil.
    found, page, flt = None, 0, {"from": expected["received_at"],
                                 "to": expected["received_at"] + 1, "channel": "email", "limit": 50}
    req = dict(flt)
    while True:
        page += 1
        check(page <= 1000, "LIST: too many pages")
        r = api.call("LIST", req, "COMPLAINTS")
        check(isinstance(r.get("items"), list), f"COMPLAINTS without items: {r!r}")
        found = found or next((i for i in r["items"] if i.get("id") == cid), None)
        if r.get("next") is None:
            break
        req = dict(flt, after=r["next"])
    check(found == expected, f"LIST: complaint {cid} missing or different: {found!r}")
    print(f"ok   LIST finds complaint {cid} ({page} page(s))")

    # 6b. REPLAY from 1: exactly one complaint.created for our id, without contact details.
    mine = [e for e in replay_all(api) if e.get("id") == cid]
    check(len(mine) == 1, f"REPLAY: {len(mine)} events for complaint {cid}, expected 1")
    ev = mine[0]
    allowed = {"seq", "topic", "at", "id", "number", "channel", "state", "department"}
    check(set(ev) <= allowed, f"event has keys beyond Table 17: {sorted(set(ev) - allowed)}")
    want = {"topic": "complaint.created", "number": number, "channel": "email",
            "state": "registered", "department": sent["subject"]["department"]}
    for k, v in want.items():
        check(ev.get(k) == v, f"event {k}: got {ev.get(k)!r}, expected {v!r}")
    check(isinstance(ev.get("at"), int), f"event at {ev.get('at')!r}")
    blob = repr(ev)
    for k in ("name", "phone", "email"):
        check(sent["complainant"][k] not in blob, f"event leaks complainant {k}: {ev!r}")
    print(f"ok   REPLAY finds complaint.created seq={ev['seq']}, no contact details")
    st = api.call("HEALTH", {}, "STATUS")
    check_status("api", st)
    check(st["last_seq"] >= ev["seq"], f"HEALTH last_seq {st['last_seq']} < event seq {ev['seq']}")

    # Optional: the same event was published live on the events endpoint.
    if sub is not None:
        deadline = time.monotonic() + a.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sub.poll(int(left * 1000)):
                raise Mismatch(f"events: no EVENT for seq {ev['seq']} within {a.timeout}s")
            frames = sub.recv_multipart()
            check(len(frames) == 2, f"events: message of {len(frames)} frames, not 2")
            etype, erid, emap = decode(frames[1])
            check(etype == "EVENT" and erid == 0, f"events: got {etype} request_id {erid}")
            check(frames[0].decode() == emap.get("topic"), f"events: topic frame {frames[0]!r} != {emap.get('topic')!r}")
            check(emap.get("seq", 0) <= ev["seq"], f"events: seq {ev['seq']} was not published (dropped?)")
            if emap.get("seq") == ev["seq"]:
                check(emap == ev, f"events: published {emap!r} != replayed {ev!r}")
                break
        print(f"ok   events endpoint published the same event (seq={ev['seq']})")

    print("PASS all checks")


if __name__ == "__main__":
    try:
        main()
    except Mismatch as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
