#!/usr/bin/python3
"""Interoperability client for the complaintd protocol (CMP), version 1.

Written from proto/PROTOCOL.md alone, to show that the document is enough to
implement a client. Needs only the standard library, pyzmq and msgpack.

Usage: interop_client.py --intake tcp://127.0.0.1:7470 --api tcp://127.0.0.1:7471
                         [--events tcp://127.0.0.1:7472] [--timeout SECONDS]
                         [--reader NAME] [--agent NAME] [--handler NAME]
                         [--supervisor NAME]

The actor names must be configured in the daemon with the roles their option
names (reader: any role that may read; agent and handler: two actors of role
agent; supervisor: role supervisor).

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


def note(what):
    # Something the spec allows but leaves open; shown, not a failure.
    print(f"  (note: {what})")


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_keys(what, got, required, optional=()):
    """Required keys present; unknown keys in replies are allowed (and ignored)."""
    check(isinstance(got, dict), f"{what}: not a map: {got!r}")
    missing = set(required) - set(got)
    check(not missing, f"{what}: missing keys {sorted(missing)} in {got!r}")
    extra = set(got) - set(required) - set(optional)
    if extra:
        note(f"{what} carries keys this document does not define: {sorted(extra)}")


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


def check_error(what, err, status, code, field):
    # Table 31: status, code, message required; field when one field is at fault.
    check_keys(f"{what} ERROR", err, {"status", "code", "message"}, {"field"})
    got = (err.get("status"), err.get("code"), err.get("field"))
    check(got == (status, code, field),
          f"{what}: got {got} ({err.get('message')!r}), expected {(status, code, field)}")
    check(isinstance(err["message"], str) and err["message"], f"{what}: ERROR without a message")


def check_status(name, st):
    # Table 29: version str, protocol 1, uptime int, last_seq and complaints uint.
    check_keys(f"{name}: STATUS", st, {"version", "protocol", "uptime", "last_seq", "complaints"})
    check(isinstance(st["version"], str), f"{name}: STATUS version not a str")
    check(st["protocol"] == 1, f"{name}: STATUS protocol {st['protocol']!r}")
    check(is_int(st["uptime"]) and st["uptime"] >= 0, f"{name}: bad uptime")
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


def list_all(api, flt):
    """LIST with the filters flt, following `next` until nil; return every item."""
    items, page, req = [], 0, dict(flt)
    while True:
        page += 1
        check(page <= 1000, "LIST: too many pages")
        r = api.call("LIST", req, "COMPLAINTS")
        check(isinstance(r.get("items"), list), f"COMPLAINTS without items: {r!r}")
        if "next" not in r:
            note("COMPLAINTS without `next` (the spec says it is sent as nil)")
        items += r["items"]
        if r.get("next") is None:
            return items, page
        check(isinstance(r["next"], str), f"COMPLAINTS next {r['next']!r} is not a str")
        req = dict(flt, after=r["next"])


def history_all(api, actor, number, limit):
    """HISTORY from 1, `limit` entries at a time, until `total` entries are read."""
    entries, total = [], None
    while True:
        frm = entries[-1]["n"] + 1 if entries else 1
        r = api.call("HISTORY", {"actor": actor, "number": number, "from": frm, "limit": limit},
                     "ENTRIES")
        check_keys("ENTRIES", r, {"entries", "total"})
        check(isinstance(r["entries"], list) and is_uint(r["total"]), f"bad ENTRIES {r!r}")
        check(len(r["entries"]) <= limit, f"HISTORY limit {limit}: got {len(r['entries'])} entries")
        # total is counted when each request is served: it may grow, never shrink.
        check(total is None or r["total"] >= total, f"HISTORY total shrank: {total} -> {r['total']}")
        total = r["total"]
        for e in r["entries"]:
            check(isinstance(e, dict) and e.get("n") == len(entries) + 1,
                  f"HISTORY: expected entry n={len(entries) + 1}, got {e!r}")
            entries.append(e)
        if len(entries) >= total or not r["entries"]:
            check(len(entries) == total, f"HISTORY: read {len(entries)} entries, total is {total}")
            return entries


def main():
    ap = argparse.ArgumentParser(description="CMP v1 interop client")
    ap.add_argument("--intake", required=True)
    ap.add_argument("--api", required=True)
    ap.add_argument("--events")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per reply")
    ap.add_argument("--reader", default="tester", help="an actor whose role may read")
    ap.add_argument("--agent", default="li.na", help="an actor of role agent")
    ap.add_argument("--handler", default="zhang.min", help="another actor of role agent")
    ap.add_argument("--supervisor", default="wang.wei", help="an actor of role supervisor")
    a = ap.parse_args()
    reader, agent, handler, supervisor = a.reader, a.agent, a.handler, a.supervisor

    ctx = zmq.Context()
    sub = None
    if a.events:  # subscribe first, so the live EVENTs are queued for us
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

    # 2. SUBMIT a complaint with every field of Tables 4-6, without an actor (the adapter).
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
    check_keys("SUBMITTED", sub_r, {"id", "number", "received_at", "duplicate"})
    cid, number = sub_r["id"], sub_r["number"]
    check(is_uint(cid) and cid >= 1, f"SUBMITTED id {cid!r}")
    # YYYYMMDD-NNNNNN; the spec says not to rely on exactly six counter digits.
    check(isinstance(number, str) and re.fullmatch(r"\d{8}-\d{6,}", number),
          f"SUBMITTED number {number!r} is not YYYYMMDD-NNNNNN")
    check(is_int(sub_r["received_at"]) and abs(sub_r["received_at"] - now) < 600_000,
          f"SUBMITTED received_at {sub_r['received_at']!r} far from client clock")
    check(sub_r["duplicate"] is False, f"SUBMITTED duplicate {sub_r['duplicate']!r}, expected false")
    print(f"ok   SUBMIT -> SUBMITTED id={cid} number={number}")

    # 3. GET by id and by number, on behalf of a reader; the record is what we sent plus
    #    the server's fields (Table 10: state registered, version 1, updated_at = received_at).
    received = sub_r["received_at"]
    expected = dict(sent, id=cid, number=number, received_at=received, state="registered",
                    version=1, updated_at=received)
    for key in ("id", "number"):
        r = api.call("GET", {"actor": reader, key: expected[key]}, "COMPLAINT")
        check_keys("COMPLAINT", r, {"complaint", "history"})
        rec = r["complaint"]
        check(isinstance(rec, dict), "COMPLAINT has no complaint map")
        for k in sorted(set(expected) | set(rec)):
            check(rec.get(k) == expected.get(k),
                  f"GET by {key}: field {k}: got {rec.get(k)!r}, sent/expected {expected.get(k)!r}")
        check(r["history"] == 1, f"GET by {key}: history {r['history']!r}, expected 1 (the SUBMIT)")
    print("ok   GET by id and by number return every field as sent, history=1")

    # 4. The same SUBMIT again is a duplicate of the original registration.
    dup = intake.call("SUBMIT", sent, "SUBMITTED")
    check({k: dup.get(k) for k in sub_r} == dict(sub_r, duplicate=True),
          f"resend: got {dup!r}, expected {dict(sub_r, duplicate=True)!r}")
    print("ok   resent SUBMIT -> SUBMITTED duplicate=true, same id/number/received_at")

    # 5. One invalid SUBMIT: a phone given as an int -> 422 INVALID on complainant.phone.
    bad = {"channel": "phone", "ref": f"interop-bad-{uuid.uuid4()}", "description": "bad type",
           "complainant": {"phone": 8613800138000}}
    check_error("invalid SUBMIT", intake.call("SUBMIT", bad, "ERROR"), 422, "INVALID",
                "complainant.phone")
    print("ok   invalid SUBMIT -> ERROR 422 INVALID field=complainant.phone")

    # 6a. LIST, narrowed to our received_at and channel, paging until next is nil.
    items, pages = list_all(api, {"actor": reader, "from": received, "to": received + 1,
                                  "channel": "email", "limit": 50})
    found = [i for i in items if i.get("id") == cid]
    check(found == [expected], f"LIST: complaint {cid} missing, repeated or different: {found!r}")
    print(f"ok   LIST finds complaint {cid} ({pages} page(s))")

    # 6b. REPLAY from 1: exactly one complaint.created for our id, without contact details.
    mine = [e for e in replay_all(api) if e.get("id") == cid]
    check(len(mine) == 1, f"REPLAY: {len(mine)} events for complaint {cid}, expected 1")
    created = mine[0]
    check_keys("complaint.created event", created,
               {"seq", "topic", "at", "id", "number", "channel", "state"}, {"department"})
    want = {"topic": "complaint.created", "number": number, "channel": "email",
            "state": "registered", "department": sent["subject"]["department"], "at": received}
    for k, v in want.items():
        check(created.get(k) == v, f"created event {k}: got {created.get(k)!r}, expected {v!r}")
    blob = repr(created)
    for k in ("name", "phone", "email"):
        check(sent["complainant"][k] not in blob, f"event leaks complainant {k}: {created!r}")
    print(f"ok   REPLAY finds complaint.created seq={created['seq']}, no contact details")
    st = api.call("HEALTH", {}, "STATUS")
    check_status("api", st)
    check(st["last_seq"] >= created["seq"],
          f"HEALTH last_seq {st['last_seq']} < event seq {created['seq']}")

    # 7. The case: one complaint through its handling with ACT (Tables 24, 25, 34).
    dept = f"患者服务部 Patient Services {uuid.uuid4().hex[:8]}"   # unique per run, for filters
    version = 1
    applied = []    # (action, role, previous, state, version) of every ACT applied

    def act(action, actor, role, previous, state, by="number", **fields):
        nonlocal version
        req = {"actor": actor, by: cid if by == "id" else number, "action": action,
               "version": version, **fields}
        r = api.call("ACT", req, "ACTED")
        check_keys(f"ACTED ({action})", r, {"id", "number", "previous", "state", "version"})
        got = (r["id"], r["number"], r["previous"], r["state"], r["version"])
        want = (cid, number, previous, state, version + 1)
        check(got == want, f"ACT {action}: ACTED (id, number, previous, state, version) = {got}, "
                           f"expected {want}")
        version = r["version"]
        applied.append((action, role, previous, state, version))
        print(f"ok   ACT {action} by {actor} -> ACTED {previous} -> {state}, version {version}")

    def refused(what, req, status, code, field):
        err = api.call("ACT", req, "ERROR")
        check_error(what, err, status, code, field)
        print(f"ok   {what} -> ERROR {status} {code} field={field}")
        return err

    act("triage", agent, "agent", "registered", "triaged", by="id",
        category="等候时间 waiting time", severity="ordinary", priority="normal")
    act("triage", agent, "agent", "triaged", "triaged",           # stays: complaint.updated
        category="等候时间 waiting time", priority="high")
    act("assign", agent, "agent", "triaged", "assigned", department=dept, handler=handler)
    act("start", handler, "agent", "assigned", "investigating", text="查看了排班记录。")
    act("note", handler, "agent", "investigating", "investigating",
        text="Two radiographers were off sick that morning.")
    act("propose", handler, "agent", "investigating", "proposed", by="id",
        text="退还检查费并书面道歉 / refund the fee and apologise in writing",
        kind="refund", amount=5000, currency="CNY")

    # 7a. Forbidden: an agent may not approve (Table 34) -> 403 naming actor, recorded.
    base = {"actor": agent, "number": number, "action": "approve", "version": version}
    err403 = refused("ACT approve by an agent", base, 403, "FORBIDDEN", "actor")
    # 7b. Stale: the right actor, but the version before the last change -> 412 naming version.
    refused("ACT approve with a stale version",
            dict(base, actor=supervisor, version=version - 1), 412, "STALE", "version")
    # 7c. Guard: a proposal with compensation cannot be told before approval -> 409 action.
    refused("ACT tell of an unapproved refund", dict(base, action="tell", text="x"),
            409, "CONFLICT", "action")
    # Neither refusal changed the version: the next ACT names the same one and is applied.
    act("approve", supervisor, "supervisor", "proposed", "approved", text="同意 / agreed")
    act("tell", agent, "agent", "approved", "told", text="Told by phone.", channel="phone")
    act("answer", agent, "agent", "told", "accepted", accepted=True, reason="满意 / fine")
    act("resolve", handler, "agent", "accepted", "resolved", text="Refund of 50.00 CNY paid.")
    # Satisfaction 5 never reopens unless cases/reopen_below is 6 ("always").
    act("follow_up", agent, "agent", "resolved", "followed_up", satisfaction=5,
        comment="谢谢 thanks")
    act("close", agent, "agent", "followed_up", "closed", reason="Handled and followed up.")

    # 8. GET: the record now holds the case, the proposal, the answer, the follow-up.
    r = api.call("GET", {"actor": reader, "id": cid}, "COMPLAINT")
    rec = r["complaint"]
    n_entries = 1 + len(applied) + 1           # SUBMIT, every ACT applied, one refused entry
    check(r.get("history") == n_entries, f"GET: history {r.get('history')!r}, expected {n_entries}")
    check(rec.get("state") == "closed" and rec.get("version") == version,
          f"GET: state/version {rec.get('state')!r}/{rec.get('version')!r}, expected closed/{version}")
    want_case = {"department": dept, "handler": handler, "category": "等候时间 waiting time",
                 "severity": "ordinary", "priority": "high",
                 "resolution": "Refund of 50.00 CNY paid.", "reason": "Handled and followed up."}
    check(rec.get("case") == want_case, f"GET: case {rec.get('case')!r}, expected {want_case!r}")
    prop = rec.get("proposal") or {}
    check_keys("record proposal", prop, {"text", "kind", "amount", "currency", "by", "at",
                                         "approved_by", "approved_at"})
    check((prop["kind"], prop["amount"], prop["currency"], prop["by"], prop["approved_by"])
          == ("refund", 5000, "CNY", handler, supervisor), f"GET: proposal {prop!r}")
    ans, fol = rec.get("answer") or {}, rec.get("follow_up") or {}
    check_keys("record answer", ans, {"accepted", "reason", "at"})
    check(ans["accepted"] is True and ans["reason"] == "满意 / fine", f"GET: answer {ans!r}")
    check_keys("record follow_up", fol, {"satisfaction", "comment", "at"})
    check(fol["satisfaction"] == 5 and fol["comment"] == "谢谢 thanks", f"GET: follow_up {fol!r}")
    for what, t in (("proposal.at", prop["at"]), ("proposal.approved_at", prop["approved_at"]),
                    ("answer.at", ans["at"]), ("follow_up.at", fol["at"])):
        check(is_int(t) and received <= t <= rec["updated_at"],
              f"GET: {what} {t!r} not between received_at and updated_at")
    check("contacts" not in rec, f"GET: contacts {rec.get('contacts')!r} without any contact")
    for k in ("id", "number", "channel", "ref", "received_at", "complained_at", "complainant",
              "subject", "description", "demands", "attachments", "tags"):
        check(rec.get(k) == expected[k], f"GET: {k} changed to {rec.get(k)!r}")
    print(f"ok   GET after the case: closed, version {version}, history {n_entries}, "
          "case/proposal/answer/follow_up as acted")

    # 9. HISTORY, 4 entries a page: numbered 1.. without gaps; authors, states, changes.
    hist = history_all(api, reader, number, 4)
    check(len(hist) == n_entries, f"HISTORY: {len(hist)} entries, expected {n_entries}")
    for e in hist:
        check_keys(f"history entry {e.get('n')}", e, {"n", "at", "actor", "role", "action", "state"},
                   {"previous", "changes", "refused"})
        check(is_int(e["at"]) and e["at"] >= received, f"history entry {e['n']}: at {e['at']!r}")
    check(all(x["at"] <= y["at"] for x, y in zip(hist, hist[1:])), "HISTORY: `at` goes backwards")
    e1 = hist[0]
    check((e1["actor"], e1["role"], e1["action"], e1["state"], e1.get("previous"))
          == ("adapter:email", "adapter", "submit", "registered", None), f"entry 1: {e1!r}")
    check(e1.get("changes") == [{"field": "channel", "new": "email"},
                                {"field": "ref", "new": sent["ref"]}],
          f"entry 1 changes {e1.get('changes')!r}, expected channel and ref as said")
    ref_e = [e for e in hist if "refused" in e]
    check(len(ref_e) == 1, f"HISTORY: {len(ref_e)} refused entries, expected 1: {ref_e!r}")
    ref_e = ref_e[0]
    check((ref_e["n"], ref_e["actor"], ref_e["role"], ref_e["action"], ref_e.get("previous"),
           ref_e["state"], "changes" in ref_e)
          == (8, agent, "agent", "approve", "proposed", "proposed", False),
          f"refused entry: {ref_e!r}")
    check(isinstance(ref_e["refused"], str) and ref_e["refused"], f"refused: {ref_e['refused']!r}")
    if ref_e["refused"] != err403["message"]:
        note(f"refused entry says {ref_e['refused']!r}, the 403 said {err403['message']!r}")
    done = [e for e in hist[1:] if "refused" not in e]
    check([(e["action"], e["role"], e["previous"], e["state"]) for e in done]
          == [x[:4] for x in applied], f"HISTORY entries do not follow the ACTs applied: {done!r}")
    actors = [agent, agent, agent, handler, handler, handler, supervisor, agent, agent, handler,
              agent, agent]
    check([e["actor"] for e in done] == actors, f"HISTORY actors {[e['actor'] for e in done]}")
    by_action = {e["action"]: e for e in done}     # the last of each action
    want_changes = {
        "assign": [{"field": "case.department", "new": dept},
                   {"field": "case.handler", "new": handler}],
        "propose": [{"field": "proposal.text",
                     "new": "退还检查费并书面道歉 / refund the fee and apologise in writing"},
                    {"field": "proposal.kind", "new": "refund"},
                    {"field": "proposal.amount", "new": "5000"},
                    {"field": "proposal.currency", "new": "CNY"}],
        "approve": [{"field": "proposal.approved_by", "new": supervisor},
                    {"field": "text", "new": "同意 / agreed"}],
        "tell": [{"field": "text", "new": "Told by phone."}, {"field": "channel", "new": "phone"}],
        "answer": [{"field": "answer.accepted", "new": "true"},
                   {"field": "answer.reason", "new": "满意 / fine"}],
        "follow_up": [{"field": "follow_up.satisfaction", "new": "5"},
                      {"field": "follow_up.comment", "new": "谢谢 thanks"}],
        "close": [{"field": "case.reason", "new": "Handled and followed up."}],
        "start": [{"field": "text", "new": "查看了排班记录。"}],
        "note": [{"field": "text", "new": "Two radiographers were off sick that morning."}],
        "resolve": [{"field": "case.resolution", "new": "Refund of 50.00 CNY paid."}],
    }
    for action, changes in want_changes.items():
        check(by_action[action].get("changes") == changes,
              f"HISTORY {action} changes {by_action[action].get('changes')!r}, expected {changes!r}")
    triage1, triage2 = done[0], done[1]
    check(triage1.get("changes") == [{"field": "case.category", "new": "等候时间 waiting time"},
                                     {"field": "case.severity", "new": "ordinary"},
                                     {"field": "case.priority", "new": "normal"}],
          f"HISTORY first triage changes {triage1.get('changes')!r}")
    ch2 = triage2.get("changes") or []
    check({"field": "case.priority", "old": "normal", "new": "high"} in ch2,
          f"HISTORY second triage changes {ch2!r}: no case.priority normal -> high")
    if len(ch2) != 1:
        note(f"a triage repeating the same category lists it in changes: {ch2!r}")
    print(f"ok   HISTORY: {len(hist)} entries numbered 1..{len(hist)}, refused entry {ref_e['n']}, "
          "changes of every entry")

    # 10. COUNT and a filtered LIST, by state and (case) department.
    flt = {"actor": reader, "state": "closed", "department": dept}
    for f, n in ((flt, 1), ({"actor": reader, "department": dept}, 1),
                 (dict(flt, channel="phone"), 0), (dict(flt, state="told"), 0)):
        cnt = api.call("COUNT", f, "COUNTED")
        check_keys("COUNTED", cnt, {"count"})
        check(cnt["count"] == n, f"COUNT {f}: {cnt['count']!r}, expected {n}")
    items, pages = list_all(api, dict(flt, limit=1))
    check(items == [rec], f"LIST {flt}: {items!r}, expected only the record GET returned")
    print(f"ok   COUNT by state+department = 1 (0 with another channel or state); "
          f"LIST by state+department = [complaint {cid}] ({pages} page(s))")

    # 11. REPLAY: one event per ACT applied, none for the refusals, topics and fields of Table 30.
    evs = [e for e in replay_all(api) if e.get("id") == cid]
    check(evs[0] == created, f"REPLAY: the complaint.created event changed: {evs[0]!r}")
    evs = evs[1:]
    check(len(evs) == len(applied), f"REPLAY: {len(evs)} events after complaint.created, "
                                    f"expected {len(applied)} (one per ACT applied)")
    cdep = None
    for ev, (action, role, prev, state, ver), e in zip(evs, applied, done):
        check_keys(f"{action} event", ev, {"seq", "topic", "at", "id", "number", "channel", "state",
                                           "previous", "action", "role", "version"},
                   {"department", "case_department"})
        cdep = dept if action == "assign" else cdep
        topic = "complaint.state" if state != prev else "complaint.updated"
        want = {"topic": topic, "number": number, "channel": "email", "state": state,
                "previous": prev, "action": action, "role": role, "version": ver,
                "department": sent["subject"]["department"], "case_department": cdep,
                "at": e["at"]}
        for k, v in want.items():
            check(ev.get(k) == v, f"{action} event (seq {ev['seq']}) {k}: got {ev.get(k)!r}, "
                                  f"expected {v!r}")
        for name in (agent, handler, supervisor):
            check(name not in repr(ev), f"{action} event names the actor {name}: {ev!r}")
    check(rec["updated_at"] == evs[-1]["at"], f"record updated_at {rec['updated_at']} != "
                                              f"`at` of the last event {evs[-1]['at']}")
    n_state = sum(1 for e in evs if e["topic"] == "complaint.state")
    print(f"ok   REPLAY: {n_state} complaint.state and {len(evs) - n_state} complaint.updated events "
          f"(seq {evs[0]['seq']}..{evs[-1]['seq']}) with previous/state/action/role/version")
    st = api.call("HEALTH", {}, "STATUS")
    check_status("api", st)
    check(st["last_seq"] >= evs[-1]["seq"], f"HEALTH last_seq {st['last_seq']} < {evs[-1]['seq']}")

    # Optional: the same events were published live on the events endpoint.
    if sub is not None:
        replayed = {e["seq"]: e for e in [created] + evs}
        last, seen = evs[-1]["seq"], 0
        deadline = time.monotonic() + a.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not sub.poll(int(left * 1000)):
                raise Mismatch(f"events: no EVENT for seq {last} within {a.timeout}s")
            frames = sub.recv_multipart()
            check(len(frames) == 2, f"events: message of {len(frames)} frames, not 2")
            etype, erid, emap = decode(frames[1])
            check(etype == "EVENT" and erid == 0, f"events: got {etype} request_id {erid}")
            check(frames[0].decode() == emap.get("topic"),
                  f"events: topic frame {frames[0]!r} != {emap.get('topic')!r}")
            check(emap.get("seq", 0) <= last, f"events: seq {last} was not published (dropped?)")
            if emap.get("seq") in replayed:
                check(emap == replayed[emap["seq"]],
                      f"events: published {emap!r} != replayed {replayed[emap['seq']]!r}")
                seen += 1
            if emap.get("seq") == last:
                break
        print(f"ok   events endpoint published {seen} of the {len(replayed)} events as replayed")

    print("PASS all checks")


if __name__ == "__main__":
    try:
        main()
    except Mismatch as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)
