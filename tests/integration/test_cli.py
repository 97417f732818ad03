"""complaintctl against the real daemon: submit, get, list, health, the
case actions and history, the actor, the exit statuses, and triage: what
get shows of it, reclassify, retriage (one complaint or every one a list
finds) and reload."""

import contextlib
import json
import os
import pwd
import re
import subprocess
import time

from harness import (CALL_TIMEOUT, COMPLAINTCTL, READER, ROLES, Daemon,
                     assert_record, assert_reply, free_ports, note, request,
                     scaled, submit_fields, wait_for)

#  Actors of the roles the harness gives every daemon
ADAPTER = ROLES["roles/adapter"]
AGENT, AGENT2 = ROLES["roles/agent"].split(",")
SUPERVISOR, SUPERVISOR2 = ROLES["roles/supervisor"].split(",")
ADMIN = ROLES["roles/admin"]

#  The tests of the commands before triage run without it, so that a
#  complaint stays registered until someone acts on it
#  The case flow alone: no triage, no deadline clocks (test_triage.py and
#  test_deadlines.py test those)
NO_TRIAGE = {"triage/enabled": "false", "sla/enabled": "false"}

FULL = {
    "channel": "phone",
    "ref": "call-7731-20261123-0914",
    "complained_at": 1767225600000,
    "complainant": {
        "name": "王芳",
        "phone": "+86 (10) 1234-5678",
        "email": "wang.fang@example.cn",
        "relation": "患者家属 (daughter)",
    },
    "subject": {
        "department": "放射科",
        "staff": "李医生",
        "location": "B栋 2楼",
    },
    "description": "预约九点拍片，一直等到十二点十分，没有人解释。"
                   "Booked an X-ray for 09:00, waited until 12:10.",
    "demands": "道歉，并解释延误原因。",
    "attachments": ["https://files.example.org/c/8f3a.jpg",
                    "https://files.example.org/c/8f3b.pdf"],
    "tags": ["等待时间", "x-ray"],
}


def submit_args(fields):
    """complaintctl submit options for a fields map."""
    args = ["submit", "--channel", fields["channel"], "--ref", fields["ref"],
            "--description", fields["description"]]
    if "complained_at" in fields:
        args += ["--complained-at", fields["complained_at"]]
    complainant = fields.get("complainant", {})
    for key in ("name", "phone", "email", "relation"):
        if key in complainant:
            args += ["--" + key, complainant[key]]
    if complainant.get("anonymous"):
        args.append("--anonymous")
    for key in ("department", "staff", "location"):
        if key in fields.get("subject", {}):
            args += ["--" + key, fields["subject"][key]]
    if "demands" in fields:
        args += ["--demands", fields["demands"]]
    for uri in fields.get("attachments", []):
        args += ["--attach", uri]
    for tag in fields.get("tags", []):
        args += ["--tag", tag]
    return args


def ctl_submit(daemon, fields, actor=ADAPTER):
    (reply,) = daemon.ctl_json(*submit_args(fields), actor=actor)
    assert {"id", "number", "received_at", "duplicate"} <= set(reply), reply
    assert reply["duplicate"] is False, reply
    assert re.fullmatch(r"\d{8}-\d{6}", reply["number"]), reply
    return reply


def ids(items):
    return [item["id"] for item in items]


def wait_clock_past(ms):
    """Wait until the wall clock is past ms (daemon and tests share it)."""
    wait_for(lambda: time.time() * 1000 > ms + 1, 5, "the clock to move on")


def test_submit_get_list_with_complaintctl():
    daemon = Daemon(settings=NO_TRIAGE)
    early = [
        FULL,
        {"channel": "web", "ref": "form-0001",
         "complainant": {"anonymous": True},
         "description": "第一行：收费错误\n\tsecond line: charged twice\r\n",
         "tags": ["收费"]},
        {"channel": "email", "ref": "<m-1@example.org>",
         "complainant": {"email": "a.b@example.org"},
         "description": "Rude answer at the counter, 态度恶劣",
         "subject": {"department": "Billing"}},
    ]
    late = [
        {"channel": "phone", "ref": "call-2",
         "complainant": {"phone": "010 8888 0000"},
         "description": "电话没人接 " * 20},
        {"channel": "counter", "ref": "desk-17",
         "complainant": {"name": "Zhang San", "relation": "self"},
         "description": "Lost my file. 档案丢失。"},
    ]
    submitted = {}
    for fields in early:
        reply = ctl_submit(daemon, fields)
        submitted[reply["id"]] = (fields, reply)
    wait_clock_past(max(reply["received_at"]
                        for _, reply in submitted.values()))
    split = int(time.time() * 1000)
    for fields in late:
        reply = ctl_submit(daemon, fields)
        assert reply["received_at"] >= split, (reply, split)
        submitted[reply["id"]] = (fields, reply)
    assert sorted(submitted) == [1, 2, 3, 4, 5], sorted(submitted)
    numbers = [submitted[id][1]["number"] for id in sorted(submitted)]
    assert len(set(numbers)) == 5 and numbers == sorted(numbers), numbers

    #  get by id and by number, JSON, field by field
    for id, (fields, reply) in sorted(submitted.items()):
        (by_id,) = daemon.ctl_json("get", id)
        assert "complaint" in by_id, by_id
        assert_record(by_id["complaint"], fields, reply)
        (by_number,) = daemon.ctl_json("get", reply["number"])
        assert by_number == by_id, (by_number, by_id)

    #  get, text: the Chinese text survives
    status, out, err = daemon.ctl("get", 1)
    assert status == 0, err
    assert re.search(r"^number:\s+%s$" % submitted[1][1]["number"], out,
                     re.MULTILINE), out
    assert "name:          王芳" in out, out
    assert "description:   " + FULL["description"] in out, out
    assert "department:    放射科" in out, out
    assert "tag:           等待时间" in out, out
    status, out, err = daemon.ctl("get", 2)
    assert status == 0 and "(anonymous)" in out, (status, out, err)

    #  get of nothing
    for missing in ("99", "20991231-000001"):
        status, out, err = daemon.ctl("get", missing)
        assert status == 1, (status, out, err)
        assert "404 NOT_FOUND" in err, err

    #  list: one page, everything, in order, records equal GET's
    (page,) = daemon.ctl_json("list")
    assert "items" in page and "next" in page, page
    assert page["next"] is None, page
    assert ids(page["items"]) == [1, 2, 3, 4, 5], page
    for item in page["items"]:
        fields, reply = submitted[item["id"]]
        assert_record(item, fields, reply)

    #  list by channel
    for channel, expected in (("phone", [1, 4]), ("web", [2]),
                              ("email", [3]), ("counter", [5]),
                              ("letter", [])):
        (page,) = daemon.ctl_json("list", "--channel", channel)
        assert ids(page["items"]) == expected, (channel, page)
        assert all(item["channel"] == channel for item in page["items"])

    #  list by time: from is inclusive, to exclusive
    (page,) = daemon.ctl_json("list", "--to", split)
    assert ids(page["items"]) == [1, 2, 3], page
    (page,) = daemon.ctl_json("list", "--from", split)
    assert ids(page["items"]) == [4, 5], page
    at4 = submitted[4][1]["received_at"]
    (page,) = daemon.ctl_json("list", "--from", at4, "--to", at4 + 1)
    assert 4 in ids(page["items"]) and 3 not in ids(page["items"]), page
    (page,) = daemon.ctl_json("list", "--from", at4, "--to", at4)
    assert page["items"] == [] and page["next"] is None, page
    (page,) = daemon.ctl_json("list", "--from", split, "--channel", "phone")
    assert ids(page["items"]) == [4], page
    #  A negative from reads as 0; a to not after from is an empty page
    assert ids(daemon.list_all(**{"from": -5})) == [1, 2, 3, 4, 5]
    assert daemon.list_all(**{"from": at4, "to": at4 - 1}) == []
    assert daemon.list_all(**{"to": -1}) == []

    #  paging by hand with the cursor
    seen = []
    after = None
    pages = 0
    while True:
        args = ["list", "--limit", 2] + (["--after", after] if after else [])
        (page,) = daemon.ctl_json(*args)
        pages += 1
        assert len(page["items"]) <= 2, page
        seen += ids(page["items"])
        after = page["next"]
        if after is None:
            break
        assert isinstance(after, str) and after, page
        assert pages < 10, "paging does not end"
    assert seen == [1, 2, 3, 4, 5], seen
    assert pages == 3, pages

    #  text mode tells how to go on
    status, out, err = daemon.ctl("list", "--limit", 2)
    assert status == 0, err
    lines = [line for line in out.splitlines()
             if re.match(r"\d{8}-\d{6}  |more: ", line)]
    assert len(lines) == 3 and lines[2].startswith("more: --after "), out
    assert lines[0].startswith(submitted[1][1]["number"]), out
    assert lines[1].startswith(submitted[2][1]["number"]), out
    assert "预约九点拍片" in lines[0], out

    #  --all follows the cursor
    pages = daemon.ctl_json("list", "--limit", 2, "--all")
    assert [len(page["items"]) for page in pages] == [2, 2, 1], pages
    assert sum((ids(page["items"]) for page in pages), []) == [1, 2, 3, 4, 5]
    pages = daemon.ctl_json("list", "--limit", 1, "--all", "--channel",
                            "phone")
    assert sum((ids(page["items"]) for page in pages), []) == [1, 4], pages

    #  health, on both endpoints
    (health,) = daemon.ctl_json("health")
    assert health["complaints"] == 5 and health["last_seq"] == 5, health
    assert health["protocol"] == 1, health
    assert isinstance(health["version"], str) and health["version"], health
    (health,) = daemon.ctl_json("health", "--intake")
    assert health["complaints"] == 5, health
    status, out, err = daemon.ctl("health")
    assert status == 0 and "5 complaints, last event 5" in out, (out, err)
    daemon.stop()


def test_list_pages_inside_one_millisecond():
    """Complaints stored by one write transaction share received_at; the
    cursor still pages through them exactly once, in id order."""
    daemon = Daemon()
    client = daemon.client("intake")
    for index in range(40):
        client.send(request("SUBMIT", index, submit_fields(
            "same-ms-%d" % index, ("web", "phone")[index % 2])))
    times = set()
    for _ in range(40):
        reply = client.recv()
        times.add(assert_reply(reply, "SUBMITTED")["received_at"])
    note("40 complaints stored at %d distinct times" % len(times))
    for limit in (1, 3, 7, 40, 41):
        items = daemon.list_all(limit=limit)
        assert ids(items) == list(range(1, 41)), (limit, ids(items))
    phone = daemon.list_all(limit=4, channel="phone")
    assert ids(phone) == list(range(2, 41, 2)), ids(phone)
    first, last = min(times), max(times)
    window = daemon.list_all(limit=5, **{"from": first, "to": last + 1})
    assert ids(window) == list(range(1, 41))
    daemon.stop()


def test_complaintctl_text_submit_and_generated_ref():
    daemon = Daemon()
    status, out, err = daemon.ctl("submit", "--channel", "letter",
                                  "--name", "赵六", "--description",
                                  "信件投诉：停车收费过高", actor=ADAPTER)
    assert status == 0, err
    match = re.fullmatch(r"registered (\d{8}-\d{6}) \(id 1\), ref (ctl-\w+)\n",
                         out)
    assert match, out
    record = daemon.get_record(id=1)
    assert record["number"] == match.group(1)
    assert record["ref"] == match.group(2)
    assert record["description"] == "信件投诉：停车收费过高"
    #  The same ref again is reported as already registered
    status, out, err = daemon.ctl("submit", "--channel", "letter", "--ref",
                                  match.group(2), "--name", "赵六",
                                  "--description", "信件投诉：停车收费过高",
                                  actor=ADAPTER)
    assert status == 0, err
    assert out == "already registered as %s (id 1)\n" % match.group(1), out
    daemon.stop()


def test_complaintctl_generated_refs_differ():
    """Without --ref, complaintctl makes a ref; different complaints
    submitted at the same time must not share it (a shared ref turns the
    others into 409s, or, with the same text, into silent duplicates)."""
    daemon = Daemon()
    command = [COMPLAINTCTL, "--intake", daemon.intake, "--timeout",
               str(int(scaled(CALL_TIMEOUT) * 1000)), "--actor", ADAPTER,
               "submit", "--channel", "counter"]
    procs = [subprocess.Popen(command + ["--name", "窗口 %d" % index,
                                         "--description", "投诉 %d" % index],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for index in range(4)]
    refs = []
    for index, proc in enumerate(procs):
        out, err = proc.communicate(timeout=scaled(30))
        assert proc.returncode == 0, "submit %d without --ref: exit %d: %s" % (
            index, proc.returncode, err.decode("utf-8", "replace"))
        match = re.search(r"\(id \d+\), ref (ctl-\w+)$", out.decode().strip())
        assert match, out
        refs.append(match.group(1))
    assert len(set(refs)) == 4, refs
    #  Same text from two complainants: two complaints, not a duplicate
    for name in ("甲", "乙"):
        status, out, err = daemon.ctl("submit", "--channel", "phone",
                                      "--name", name,
                                      "--description", "电话一直占线",
                                      actor=ADAPTER)
        assert status == 0 and out.startswith("registered "), (out, err)
    assert daemon.health()["complaints"] == 6
    daemon.stop()


def test_complaintctl_list_text_is_valid_utf8():
    """The columns of list's text output must not cut a character in
    two."""
    daemon = Daemon()
    daemon.ctl_json("submit", "--channel", "web", "--ref", "w1",
                    "--name", "周", "--department", "B门诊部收费处",
                    "--description", "x" + "收" * 30, actor=ADAPTER)
    status, out, err = daemon.ctl("list")
    assert status == 0, err
    line = out.splitlines()[0]
    assert "\ufffd" not in line, "list cut a UTF-8 character: %r" % line
    daemon.stop()


def test_complaintctl_exit_statuses():
    daemon = Daemon()
    usage = [
        [],
        ["frobnicate"],
        ["--bogus", "health"],
        ["get"],
        ["get", "1", "2"],
        ["submit", "--channel", "web", "--colour", "red"],
        ["submit", "--channel", "web", "--description", "x",
         "--complained-at", "yesterday"],
        ["list", "--from", "soon"],
        ["health", "--everything"],
        ["submit", "--channel"],
    ]
    for args in usage:
        status, out, err = daemon.ctl(*args)
        assert status == 2, (args, status, out, err)
    status, out, err = daemon.ctl("--help", endpoints=False)
    assert status == 0 and "usage: complaintctl" in out, (status, out, err)

    #  Refused by the daemon: 1, with the daemon's status and field
    refused = [
        (["submit", "--channel", "fax", "--name", "a", "--description", "x"],
         "422 INVALID: channel"),
        (["submit", "--channel", "web", "--name", "a"],
         "422 INVALID: description"),
        (["submit", "--channel", "web", "--description", "no contact"],
         "422 INVALID: complainant"),
        (["submit", "--channel", "web", "--phone", "call me",
          "--description", "x"], "422 INVALID: complainant.phone"),
        (["submit", "--channel", "web", "--email", "a@b@c",
          "--description", "x"], "422 INVALID: complainant.email"),
        (["submit", "--channel", "web", "--name", "a", "--description", "x",
          "--attach", "not a uri"], "422 INVALID: attachments[0]"),
        (["submit", "--channel", "web", "--name", "a", "--description", "x",
          "--complained-at", "5"], "422 INVALID: complained_at"),
        (["list", "--channel", "fax"], "422 INVALID: channel"),
        (["list", "--limit", "501"], "422 INVALID: limit"),
        (["list", "--after", "zz"], "422 INVALID: after"),
        (["get", "1"], "404 NOT_FOUND"),
    ]
    for args, expected in refused:
        actor = ADAPTER if args[0] == "submit" else READER
        status, out, err = daemon.ctl(*args, actor=actor)
        assert status == 1, (args, status, out, err)
        assert expected in err, (args, err)
    assert daemon.health()["complaints"] == 0

    #  Nobody there: 3
    (port,) = free_ports(1)
    nowhere = "tcp://127.0.0.1:%d" % port
    for args in (["health"], ["get", "1"], ["list"]):
        status, out, err = daemon.ctl("--api", nowhere, "--timeout", "300",
                                      *args, endpoints=False)
        assert status == 3, (args, status, out, err)
        assert "no answer" in err, err
    status, out, err = daemon.ctl("--intake", nowhere, "--timeout", "300",
                                  "submit", "--channel", "web", "--name", "a",
                                  "--description", "x", endpoints=False)
    assert status == 3, (status, out, err)
    note("usage, refusal and no-answer statuses checked")
    daemon.stop()


# --------------------------------------------------------------------------
#  Case handling through complaintctl

#  Every action command, its action on the wire, and the options the daemon
#  needs with it
ACTIONS = [
    ("triage", "triage", ["--category", "waiting"]),
    ("assign", "assign", ["--department", "Billing"]),
    ("recuse", "recuse", ["--reason", "r"]),
    ("start", "start", []),
    ("request-info", "request_info", ["--text", "t"]),
    ("info-received", "info_received", []),
    ("note", "note", ["--text", "t"]),
    ("contact", "contact", ["--direction", "in", "--channel", "phone",
                            "--summary", "s"]),
    ("propose", "propose", ["--text", "t"]),
    ("approve", "approve", []),
    ("reject-proposal", "reject_proposal", ["--reason", "r"]),
    ("tell", "tell", []),
    ("answer", "answer", ["--accept"]),
    ("resolve", "resolve", []),
    ("resolve-on-spot", "resolve_on_spot", ["--text", "t"]),
    ("follow-up", "follow_up", ["--satisfaction", 3]),
    ("close", "close", ["--reason", "r"]),
    ("reopen", "reopen", ["--reason", "r"]),
    ("withdraw", "withdraw", ["--reason", "r"]),
    ("merge", "merge", ["--into", "20991231-000001"]),
    ("refer", "refer", ["--route", "court"]),
    ("extend", "extend", ["--reason", "r"]),
    ("reclassify", "reclassify", ["--reason", "r", "--category", "other"]),
    ("retriage", "retriage", []),
    ("archive", "archive", []),
]

ACTED_KEYS = {"id", "number", "previous", "state", "version"}


@contextlib.contextmanager
def complaint_actor(value):
    """$COMPLAINT_ACTOR set to value (None: unset) for the commands run
    inside, whatever the environment of the tests says."""
    saved = os.environ.get("COMPLAINT_ACTOR")
    if value is None:
        os.environ.pop("COMPLAINT_ACTOR", None)
    else:
        os.environ["COMPLAINT_ACTOR"] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("COMPLAINT_ACTOR", None)
        else:
            os.environ["COMPLAINT_ACTOR"] = saved


def act(daemon, actor, *args):
    """complaintctl --json ACTION ID ... by actor; returns the ACTED
    fields."""
    (acted,) = daemon.ctl_json(*args, actor=actor)
    assert set(acted) == ACTED_KEYS, (args, acted)
    return acted


def refused(daemon, actor, *args):
    """complaintctl ARGS by actor, which the daemon must refuse: exit 1,
    nothing on stdout, one line on stderr; returns that line."""
    status, out, err = daemon.ctl(*args, actor=actor)
    assert status == 1, (args, status, out, err)
    assert out == "", (args, out)
    assert err.startswith("complaintctl: ") and err.count("\n") == 1, \
        (args, err)
    return err.rstrip("\n")


def history(daemon, target, *args, actor=READER):
    """Every entry of the history, through complaintctl history --json."""
    return daemon.ctl_json("history", target, *args, actor=actor)


def local_iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(ms // 1000))


def test_complaintctl_carries_a_case_through():
    """One complaint from submit to close with complaintctl alone; get and
    history show every step. list/page_max is small so that history has
    to follow several pages."""
    daemon = Daemon(settings=dict(NO_TRIAGE, **{"list/page_max": "4"}))
    submitted = ctl_submit(daemon, FULL)
    number, id = submitted["number"], submitted["id"]
    note_text = "第一行：查排班\n\tsecond line"
    proposal = "退还挂号费并书面道歉 — refund the fee, apologise"
    steps = [
        (AGENT, ["assign", number, "--department", "放射科", "--handler",
                 AGENT], "assigned"),
        (AGENT, ["start", id, "--text", "查看排班记录"], "investigating"),
        (AGENT, ["contact", number, "--direction", "out", "--channel",
                 "phone", "--summary", "回电说明情况 — called back"],
         "investigating"),
        (AGENT2, ["note", number, "--text", note_text], "investigating"),
        (AGENT, ["propose", number, "--text", proposal, "--kind", "refund",
                 "--amount", 5000, "--currency", "CNY"], "proposed"),
        (SUPERVISOR, ["approve", number, "--text", "同意"], "approved"),
        (AGENT, ["tell", number, "--channel", "phone"], "told"),
        (AGENT, ["answer", id, "--accept"], "accepted"),
        (AGENT, ["resolve", number, "--text", "已退款"], "resolved"),
        (AGENT, ["follow-up", number, "--satisfaction", 5, "--comment",
                 "满意 — satisfied"], "followed_up"),
        (SUPERVISOR2, ["close", number, "--reason", "处理完毕"], "closed"),
    ]
    state, version = "registered", 1
    for actor, args, expected in steps:
        if args[0] == "start":
            #  Text mode: one line, number: previous -> state (version)
            status, out, err = daemon.ctl(*args, actor=actor)
            assert status == 0, (args, status, out, err)
            assert out == "%s: %s -> %s (version %d)\n" % (
                number, state, expected, version + 1), out
        else:
            if args[0] == "resolve":
                args = args + ["--version", version]
            acted = act(daemon, actor, *args)
            assert acted == {"id": id, "number": number, "previous": state,
                             "state": expected, "version": version + 1}, \
                (args, acted)
        state, version = expected, version + 1
    assert version == 1 + len(steps)

    #  get --json: the whole record with its case parts
    (reply,) = daemon.ctl_json("get", number)
    assert reply["history"] == 1 + len(steps), reply
    record = reply["complaint"]
    assert record["state"] == "closed" and record["version"] == version, \
        record
    assert record["id"] == id and record["number"] == number, record
    assert record["description"] == FULL["description"], record
    assert record["complainant"] == FULL["complainant"], record
    assert record["updated_at"] >= record["received_at"], record
    case = record["case"]
    for key, value in (("department", "放射科"), ("handler", AGENT),
                       ("resolution", "已退款"), ("reason", "处理完毕")):
        assert case.get(key) == value, (key, case)
    assert not case.get("extended") and "merged_into" not in case, case
    offer = record["proposal"]
    for key, value in (("text", proposal), ("kind", "refund"),
                       ("amount", 5000), ("currency", "CNY"), ("by", AGENT),
                       ("approved_by", SUPERVISOR)):
        assert offer.get(key) == value, (key, offer)
    assert record["received_at"] <= offer["at"] <= offer["approved_at"], offer
    answer = record["answer"]
    assert answer["accepted"] is True and "reason" not in answer, answer
    assert offer["approved_at"] <= answer["at"], (offer, answer)
    follow_up = record["follow_up"]
    assert follow_up["satisfaction"] == 5, follow_up
    assert follow_up["comment"] == "满意 — satisfied", follow_up
    assert answer["at"] <= follow_up["at"] <= record["updated_at"]
    (contact,) = record["contacts"]
    assert {key: contact[key] for key in ("actor", "direction", "channel",
                                          "summary")} == {
        "actor": AGENT, "direction": "out", "channel": "phone",
        "summary": "回电说明情况 — called back"}, contact

    #  get, text: the case parts, readable
    status, out, err = daemon.ctl("get", id)
    assert status == 0, err
    for pattern in (r"^state:\s+closed$",
                    r"^version:\s+%d$" % version,
                    r"^history:\s+%d entries$" % (1 + len(steps)),
                    r"^department:\s+放射科$",
                    r"^case:$",
                    r"^  department:\s+放射科$",
                    r"^  handler:\s+%s$" % re.escape(AGENT),
                    r"^  resolution:\s+已退款$",
                    r"^  reason:\s+处理完毕$",
                    r"^proposal:\s+%s$" % re.escape(proposal),
                    r"^  kind:\s+refund$",
                    r"^  amount:\s+5000 CNY\b",
                    r"^  proposed:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d by %s$"
                    % re.escape(AGENT),
                    r"^  approved:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d by %s$"
                    % re.escape(SUPERVISOR),
                    r"^answer:\s+accepted, \d{4}-",
                    r"^follow-up:\s+satisfaction 5 of 5, \d{4}-",
                    r"^  comment:\s+满意 — satisfied$",
                    r"^contact:\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d, out by "
                    r"phone, %s: 回电说明情况 — called back$"
                    % re.escape(AGENT)):
        assert re.search(pattern, out, re.MULTILINE), (pattern, out)

    #  history --json: every page, one entry per step
    entries = history(daemon, number)
    assert [entry["n"] for entry in entries] == list(range(1, len(steps) + 2))
    assert [entry["action"] for entry in entries] == ["submit"] + [
        args[0].replace("-", "_") for _, args, _ in steps], entries
    assert [entry["state"] for entry in entries] == ["registered"] + [
        expected for _, _, expected in steps], entries
    assert [entry.get("previous") for entry in entries] == [None] + [
        entry["state"] for entry in entries[:-1]], entries
    assert [entry["actor"] for entry in entries] == [ADAPTER] + [
        actor for actor, _, _ in steps], entries
    roles = [entry["role"] for entry in entries]
    assert roles == ["adapter"] + [
        "supervisor" if actor in (SUPERVISOR, SUPERVISOR2) else "agent"
        for actor, _, _ in steps], roles
    assert not any("refused" in entry for entry in entries), entries
    times = [entry["at"] for entry in entries]
    assert times == sorted(times) and times[0] == record["received_at"]
    changes = {entry["action"]: entry.get("changes", []) for entry in entries}
    #  Fields of the record are named by their place in it; texts that go
    #  only into the history keep plain names
    assert changes["assign"] == [
        {"field": "case.department", "new": "放射科"},
        {"field": "case.handler", "new": AGENT}], changes["assign"]
    assert changes["note"] == [{"field": "text", "new": note_text}]
    assert changes["contact"] == [
        {"field": "direction", "new": "out"},
        {"field": "channel", "new": "phone"},
        {"field": "summary", "new": "回电说明情况 — called back"}], \
        changes["contact"]
    assert changes["propose"] == [
        {"field": "proposal.text", "new": proposal},
        {"field": "proposal.kind", "new": "refund"},
        {"field": "proposal.amount", "new": "5000"},
        {"field": "proposal.currency", "new": "CNY"}], changes["propose"]
    assert changes["approve"] == [
        {"field": "proposal.approved_by", "new": SUPERVISOR},
        {"field": "text", "new": "同意"}], changes["approve"]
    assert changes["tell"] == [{"field": "channel", "new": "phone"}], \
        changes["tell"]
    assert changes["answer"] == [
        {"field": "answer.accepted", "new": "true"}], changes["answer"]
    assert changes["resolve"] == [
        {"field": "case.resolution", "new": "已退款"}], changes["resolve"]
    assert changes["follow_up"] == [
        {"field": "follow_up.satisfaction", "new": "5"},
        {"field": "follow_up.comment", "new": "满意 — satisfied"}], \
        changes["follow_up"]
    assert changes["close"] == [{"field": "case.reason", "new": "处理完毕"}]

    #  The same by id, and a part of it
    assert history(daemon, id) == entries
    assert history(daemon, number, "--limit", 3) == entries[:3]
    assert history(daemon, number, "--from", 5, "--limit", 2) == entries[4:6]
    assert history(daemon, id, "--from", 7) == entries[6:]
    assert history(daemon, id, "--from", 99) == []
    error = refused(daemon, READER, "history", number, "--limit", 5)
    assert "422 INVALID: limit" in error, error

    #  history, text: one line per entry, the note's lines kept on one
    status, out, err = daemon.ctl("history", number)
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == len(entries), out
    for line, entry in zip(lines, entries):
        assert line.startswith("%d  %s  %s (%s)  %s  " % (
            entry["n"], local_iso(entry["at"]), entry["actor"], entry["role"],
            entry["action"])), (line, entry)
    assert lines[0].endswith("  submit  - -> registered  channel: (none) -> "
                             "phone; ref: (none) -> %s"
                             % FULL["ref"]), lines[0]
    assert lines[1].endswith("  assign  registered -> assigned  "
                             "case.department: (none) -> 放射科; "
                             "case.handler: (none) -> %s" % AGENT), lines[1]
    assert lines[4].endswith("  note  investigating -> investigating  text: "
                             "(none) -> 第一行：查排班\\n\\tsecond line"), lines[4]
    assert "REFUSED" not in out, out
    daemon.stop()


def test_complaintctl_action_commands_map_to_actions():
    """Each of the 25 commands sends its own action: an auditor may take
    none of them, and each refusal, naming the action on the wire, stays
    in the history."""
    daemon = Daemon(settings=NO_TRIAGE)
    submitted = ctl_submit(daemon, FULL)
    number = submitted["number"]
    status, usage, err = daemon.ctl("--help")
    assert status == 0, err
    assert re.search(r"^  --actor NAME ", usage, re.MULTILINE), usage
    assert "COMPLAINT_ACTOR" in usage, usage
    for command, action, args in ACTIONS:
        assert re.search(r"^  %s ID\b" % command, usage, re.MULTILINE), \
            (command, usage)
        error = refused(daemon, READER, command, number, *args)
        assert error.startswith("complaintctl: 403 FORBIDDEN: actor: "), error
        assert '"%s" is auditor; %s needs ' % (READER, action) in error, \
            (command, error)
    entries = history(daemon, number)
    assert len(entries) == 1 + len(ACTIONS), entries
    for entry, (command, action, _) in zip(entries[1:], ACTIONS):
        assert entry["action"] == action, (command, entry)
        assert entry["actor"] == READER and entry["role"] == "auditor", entry
        assert entry["previous"] == entry["state"] == "registered", entry
        assert "is auditor" in entry["refused"], entry
    #  The record did not move
    (reply,) = daemon.ctl_json("get", number)
    assert reply["complaint"]["version"] == 1, reply
    assert reply["complaint"]["state"] == "registered", reply
    #  The text history says so
    status, out, err = daemon.ctl("history", number, "--from", 2,
                                  "--limit", 1)
    assert status == 0, err
    assert re.fullmatch(
        r'2  \S+  %s \(auditor\)  triage  registered -> registered  '
        r'REFUSED: actor: "%s" is auditor; triage needs agent, supervisor\n'
        % (READER, READER), out), out
    daemon.stop()


def test_complaintctl_refusals():
    """The daemon's refusals come out as exit 1 with its status, code and
    message: 403, 409 with the allowed actions, 412 with --version, 422,
    404."""
    daemon = Daemon(settings=NO_TRIAGE)
    submitted = ctl_submit(daemon, FULL)
    number, id = submitted["number"], submitted["id"]

    #  403: an auditor may not assign (recorded), an actor without a role
    #  may do nothing (only logged: anyone may send a name)
    error = refused(daemon, READER, "assign", number, "--department", "x")
    assert error == ('complaintctl: 403 FORBIDDEN: actor: "%s" is auditor; '
                     'assign needs agent, supervisor' % READER), error
    error = refused(daemon, "nobody", "note", id, "--text", "x")
    assert error.startswith('complaintctl: 403 FORBIDDEN: actor: "nobody" '
                            'has no role'), error

    #  409: the state does not allow it; the message lists what it does
    error = refused(daemon, AGENT, "start", number)
    match = re.fullmatch(r"complaintctl: 409 CONFLICT: action: complaint "
                         r"%s is registered, where start is not allowed; "
                         r"allowed: (.*)" % number, error)
    assert match, error
    allowed = match.group(1).split(", ")
    assert sorted(allowed) == sorted([
        "triage", "assign", "note", "contact", "resolve_on_spot",
        "withdraw", "merge", "reclassify", "retriage"]), allowed
    #  The names in that list work as commands too
    error = refused(daemon, AGENT, "request_info", number, "--text", "x")
    assert "409 CONFLICT: action: " in error, error

    #  412: based on a version the complaint has left
    acted = act(daemon, AGENT, "triage", number, "--category", "等待",
                "--severity", "major", "--version", 1)
    assert acted["version"] == 2 and acted["state"] == "triaged", acted
    #  The role is checked before the version: forbidden, not stale
    error = refused(daemon, READER, "note", number, "--text", "late",
                    "--version", 1)
    assert error == ('complaintctl: 403 FORBIDDEN: actor: "%s" is auditor; '
                     'note needs agent, supervisor' % READER), error
    error = refused(daemon, "nobody", "note", number, "--text", "late",
                    "--version", 1)
    assert error.startswith('complaintctl: 403 FORBIDDEN: actor: "nobody" '
                            'has no role'), error
    error = refused(daemon, AGENT, "note", number, "--text", "late",
                    "--version", 1)
    assert error == ("complaintctl: 412 STALE: version: complaint %s is at "
                     "version 2, the request was based on version 1; read "
                     "it again" % number), error
    acted = act(daemon, AGENT, "note", number, "--text", "on time",
                "--version", 2)
    assert acted["version"] == 3, acted

    #  422: the daemon says which field an action does not take, or wants
    error = refused(daemon, AGENT, "assign", number, "--department", "x",
                    "--satisfaction", 3)
    assert "422 INVALID: satisfaction: not used by action assign" in error, \
        error
    error = refused(daemon, AGENT, "assign", number, "--handler", AGENT)
    assert "422 INVALID: department: required by action assign" in error, \
        error
    error = refused(daemon, AGENT, "answer", number, "--reject")
    assert "422 INVALID: reason: " in error, error
    error = refused(daemon, AGENT, "note", number, "--text", "x",
                    "--version", 0)
    assert "422 INVALID: version: " in error, error

    #  404
    error = refused(daemon, AGENT, "note", 99, "--text", "x")
    assert "404 NOT_FOUND: id: no complaint with id 99" in error, error
    error = refused(daemon, AGENT, "note", "20991231-000001", "--text", "x")
    assert "404 NOT_FOUND: number: " in error, error
    error = refused(daemon, READER, "history", "20991231-000001")
    assert "404 NOT_FOUND: number: " in error, error

    #  Only the triage and the note on time changed the complaint; the
    #  auditor's refusals are on record, those of "nobody" are not
    (reply,) = daemon.ctl_json("get", number)
    assert reply["complaint"]["version"] == 3, reply
    entries = history(daemon, number)
    actions = [(entry["action"], "refused" in entry) for entry in entries]
    assert actions == [("submit", False), ("assign", True),
                       ("triage", False), ("note", True), ("note", False)], \
        actions
    assert [entry["actor"] for entry in entries if "refused" in entry] == [
        READER, READER], entries
    daemon.stop()


def test_complaintctl_action_usage_errors():
    """Bad options of the case commands exit 2 and send nothing."""
    daemon = Daemon(settings=NO_TRIAGE)
    submitted = ctl_submit(daemon, FULL)
    number = submitted["number"]
    usage = [
        ["assign"],
        ["assign", "--department", "x"],
        ["assign", number, number, "--department", "x"],
        ["assign", number, "--department", "x", "--colour", "red"],
        ["assign", number, "--department"],
        ["assign", "12abc", "--department", "x"],
        ["note", "99999999999999999999999", "--text", "x"],
        ["propose", number, "--text", "t", "--kind", "refund", "--amount",
         "ten", "--currency", "CNY"],
        ["propose", number, "--text", "t", "--kind", "refund", "--amount",
         "-5", "--currency", "CNY"],
        ["propose", number, "--text", "t", "--kind", "refund", "--amount",
         "1.5", "--currency", "CNY"],
        ["follow-up", number, "--satisfaction", "four"],
        ["note", number, "--text", "x", "--version", "v2"],
        ["note", number, "--text", "x", "--version", ""],
        ["answer", number, "--accept", "--reject", "--reason", "r"],
        ["Assign", number, "--department", "x"],
        ["history"],
        ["history", number, number],
        ["history", number, "--limit", "many"],
        ["history", number, "--from"],
        ["history", number, "--bogus"],
        ["--actor"],
        ["--actor", "", "note", number, "--text", "x"],
    ]
    for args in usage:
        status, out, err = daemon.ctl(*args, actor=AGENT)
        assert status == 2, (args, status, out, err)
        assert err.startswith("complaintctl: "), (args, err)
    #  Nothing reached the daemon: an agent could have done all of these
    (reply,) = daemon.ctl_json("get", number)
    assert reply["complaint"]["version"] == 1, reply
    assert reply["history"] == 1, reply
    daemon.stop()


def test_complaintctl_actor():
    """--actor, else $COMPLAINT_ACTOR, else the login name; submit names
    an actor only when --actor or $COMPLAINT_ACTOR gives one."""
    daemon = Daemon(settings=NO_TRIAGE)
    try:
        login = pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        login = None
    names = set(ADAPTER.split(",")) | {READER, ADMIN, AGENT, AGENT2,
                                        SUPERVISOR, SUPERVISOR2}
    with complaint_actor(None):
        #  No actor named: the channel's adapter submits
        (first,) = daemon.ctl_json("submit", "--channel", "web", "--name",
                                   "甲", "--description", "无人接待",
                                   actor=None)
        (entry,) = history(daemon, first["id"])
        assert entry["actor"] == "adapter:web", entry
        assert entry["role"] == "adapter", entry
        #  Reads and actions go as the login name, which has no role here
        status, out, err = daemon.ctl("get", first["id"], actor=None)
        assert status == 1, (status, out, err)
        if login is None:
            assert "422 INVALID: actor: required" in err, err
        elif login in names:
            note("login name %s has a test role; fallback not checked"
                 % login)
        else:
            assert ('403 FORBIDDEN: actor: "%s" has no role' % login
                    in err), err
            status, out, err = daemon.ctl("note", first["id"], "--text", "x",
                                          actor=None)
            assert status == 1 and '"%s" has no role' % login in err, err

    with complaint_actor(AGENT):
        #  $COMPLAINT_ACTOR names the actor of everything, submit too
        (second,) = daemon.ctl_json("submit", "--channel", "phone",
                                    "--name", "乙", "--description", "占线",
                                    actor=None)
        acted = act(daemon, None, "assign", second["number"], "--department",
                    "Billing", "--handler", AGENT2)
        assert acted["state"] == "assigned", acted
        entries = history(daemon, second["number"], actor=None)
        assert [(entry["actor"], entry["role"], entry["action"])
                for entry in entries] == [(AGENT, "agent", "submit"),
                                          (AGENT, "agent", "assign")], entries
        #  --actor wins over it
        error = refused(daemon, READER, "note", second["number"], "--text",
                        "x")
        assert '"%s" is auditor' % READER in error, error
        (entry,) = history(daemon, second["number"], "--from", 3)
        assert entry["actor"] == READER and "refused" in entry, entry

    with complaint_actor(READER):
        #  An auditor named by $COMPLAINT_ACTOR may read but not submit
        (reply,) = daemon.ctl_json("get", second["id"], actor=None)
        assert reply["complaint"]["state"] == "assigned", reply
        error = refused(daemon, None, "submit", "--channel", "web", "--name",
                        "丙", "--description", "x")
        assert ('403 FORBIDDEN: actor: "%s" is auditor; submit needs '
                % READER) in error, error

    with complaint_actor(""):
        #  Empty is unset: the adapter submits again
        (third,) = daemon.ctl_json("submit", "--channel", "email",
                                   "--email", "a@example.org",
                                   "--description", "x", actor=None)
        (entry,) = history(daemon, third["id"])
        assert entry["actor"] == "adapter:email", entry
    assert daemon.health()["complaints"] == 3
    daemon.stop()


# --------------------------------------------------------------------------
#  Triage through complaintctl: get, reclassify, retriage, reload

#  The case fields a triage decides, in the order get shows "decided by"
DECIDED_FIELDS = ("category", "subcategory", "severity", "impact",
                  "priority", "department", "sla", "group", "emergency")

#  The priority table every rules file needs
PRIORITY_TABLE = """priority:
  critical: {one: urgent, several: urgent, public: urgent}
  major: {one: high, several: high, public: urgent}
  ordinary: {one: normal, several: high, public: high}
  minor: {one: low, several: normal, public: high}
"""

#  Rules of the tests, so that they do not depend on the shipped ones
RULES_V1 = 'version: "cli-1"\n' + PRIORITY_TABLE + """\
defaults: {category: other, sla: standard}
rules:
  - name: billing
    when: {text: [多收, 收费]}
    set: {category: fees_billing, subcategory: overcharge,
          department: finance, group: cashiers, tags: [money]}
  - name: death
    when: {text: [去世]}
    set: {severity: critical, impact: public, emergency: true,
          sla: emergency, tags: [safety]}
"""
#  The same and a rule for cold halls
RULES_V2 = RULES_V1.replace('"cli-1"', '"cli-2"') + """\
  - name: cold
    when: {text: [冷]}
    set: {category: environment_hygiene, subcategory: temperature,
          tags: [hall]}
"""

TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def rules_daemon(text=RULES_V1, settings=None):
    """A daemon triaging by the rules text, in a file of its directory
    (daemon.rules_path: write it again, then reload)."""
    daemon = Daemon(start=False)
    daemon.rules_path = os.path.join(daemon.dir, "rules.yaml")
    with open(daemon.rules_path, "w", encoding="utf-8") as file:
        file.write(text)
    daemon.settings["triage/rules"] = daemon.rules_path
    daemon.settings.update(settings or {})
    daemon.write_config()
    return daemon.start()


def write_rules(daemon, text):
    with open(daemon.rules_path, "w", encoding="utf-8") as file:
        file.write(text)


def block(out, header):
    """The lines of a part of get's text output: the header line and the
    indented lines under it."""
    lines = out.splitlines()
    start = lines.index(header)
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    return lines[start:end]


def part(label, value):
    return "  %-12s %s" % (label, value)


def triage_lines(record):
    """The triage part get should print for a record (as --json gives
    it), the time as a regex."""
    triage = record["triage"]
    lines = ["triage:", part("rules:", triage["rules"])]
    if "at" in triage:
        lines.append(part("triaged:", TIME))
    lines.append(part("matched:", ", ".join(triage.get("matched", []))
                      or "(no rule)"))
    for field in DECIDED_FIELDS:
        rule = triage.get("decided_by", {}).get(field)
        if rule is not None:
            lines.append(part("decided by:", "%s <- %s" % (field, rule)))
    if triage.get("tags"):
        lines.append(part("tags:", ", ".join(triage["tags"])))
    if "repeats" in triage or triage.get("repeat_of"):
        text = "%d" % triage.get("repeats", 0)
        if triage.get("repeat_of"):
            text += " (%s)" % ", ".join(triage["repeat_of"])
        lines.append(part("repeats:", text))
    return lines


def assert_lines(lines, expected):
    """lines equal expected, each expected line a literal except that
    TIME stands for a local time"""
    assert len(lines) == len(expected), (lines, expected)
    for line, want in zip(lines, expected):
        pattern = re.escape(want).replace(re.escape(TIME), TIME)
        assert re.fullmatch(pattern, line), (line, want, lines)


def get_both(daemon, target):
    """get --json and get of a complaint: (record, text output)."""
    (reply,) = daemon.ctl_json("get", target)
    status, out, err = daemon.ctl("get", target)
    assert status == 0, (status, out, err)
    return reply["complaint"], out


def test_complaintctl_submit_tier_and_get_shows_the_shipped_triage():
    """submit --tier stores the complainant's tier; the shipped rules
    classify a complaint about an overcharge as fees_billing; get shows
    the case fields triage set and a triage part that says the same as
    the record."""
    daemon = Daemon()
    description = "收费处多收了我两百元，要求退款"
    (first,) = daemon.ctl_json("submit", "--channel", "phone", "--ref",
                               "tier-1", "--name", "钱七", "--phone",
                               "+86 139 0000 1111", "--tier", "vip",
                               "--description", description, actor=ADAPTER)
    record, out = get_both(daemon, first["number"])
    assert record["complainant"]["tier"] == "vip", record
    assert re.search(r"^tier:\s+vip$", out, re.MULTILINE), out
    case = record["case"]
    assert case["category"] == "fees_billing", record
    assert record["state"] == "triaged", record
    triage = record["triage"]
    assert triage["rules"] and triage["at"] >= record["received_at"], triage
    assert triage["decided_by"]["category"] in triage["matched"], triage
    #  The case part shows each field triage set, the triage part the rest
    case_lines = block(out, "case:")
    for label in ("department", "category", "subcategory", "severity",
                  "impact", "priority", "sla", "group"):
        key = label
        if key in case:
            assert part(label + ":", case[key]) in case_lines, \
                (label, case_lines)
        else:
            assert not any(line.startswith("  %s:" % label)
                           for line in case_lines), (label, case_lines)
    assert (part("emergency:", "yes (emergency plan)") in case_lines) \
        == bool(case.get("emergency")), case_lines
    assert_lines(block(out, "triage:"), triage_lines(record))
    assert part("decided by:", "category <- %s"
                % triage["decided_by"]["category"]) in out.splitlines(), out
    note("shipped rules %s: matched %s" % (triage["rules"],
                                           ", ".join(triage["matched"])))

    #  The same phone again: a repeat of the first complaint, shown
    (second,) = daemon.ctl_json("submit", "--channel", "web", "--ref",
                                "tier-2", "--name", "钱七", "--phone",
                                "+86 139 0000 1111", "--description",
                                "上次多收的钱还没有退", actor=ADAPTER)
    record, out = get_both(daemon, second["id"])
    assert "tier" not in record["complainant"], record
    assert not re.search(r"^tier:", out, re.MULTILINE), out
    assert record["triage"]["repeats"] == 1, record
    assert record["triage"]["repeat_of"] == [first["number"]], record
    assert part("repeats:", "1 (%s)" % first["number"]) in out.splitlines(), \
        out
    assert_lines(block(out, "triage:"), triage_lines(record))

    #  --tier needs a value
    status, out, err = daemon.ctl("submit", "--channel", "web", "--name",
                                  "a", "--description", "x", "--tier",
                                  actor=ADAPTER)
    assert status == 2 and "--tier needs a value" in err, (status, out, err)
    assert daemon.health()["complaints"] == 2
    daemon.stop()


def test_complaintctl_get_shows_the_triage_of_test_rules():
    """With rules of known content, get's case and triage parts are
    exactly as expected: fields, rules, matches, who decided what,
    tags, the emergency."""
    daemon = rules_daemon()
    (billing,) = daemon.ctl_json("submit", "--channel", "phone", "--ref",
                                 "r-1", "--name", "孙", "--description",
                                 "挂号处多收了十元", actor=ADAPTER)
    record, out = get_both(daemon, billing["number"])
    version = record["triage"]["rules"]
    assert re.fullmatch(r"cli-1#[0-9a-f]{12}", version), version
    assert_lines(block(out, "case:"), [
        "case:",
        part("department:", "finance"),
        part("category:", "fees_billing"),
        part("subcategory:", "overcharge"),
        part("severity:", "ordinary"),
        part("impact:", "one"),
        part("priority:", "normal"),
        part("sla:", "standard"),
        part("group:", "cashiers")])
    assert_lines(block(out, "triage:"), [
        "triage:",
        part("rules:", version),
        part("triaged:", TIME),
        part("matched:", "billing"),
        part("decided by:", "category <- billing"),
        part("decided by:", "subcategory <- billing"),
        part("decided by:", "department <- billing"),
        part("decided by:", "group <- billing"),
        part("tags:", "money")])
    assert re.search(r"^state:\s+triaged$", out, re.MULTILINE), out

    #  Two rules, an emergency; the category is the default, so the
    #  complaint stays registered
    (death,) = daemon.ctl_json("submit", "--channel", "counter", "--ref",
                               "r-2", "--name", "周", "--description",
                               "父亲在候诊时去世，收费处还多收了钱",
                               actor=ADAPTER)
    record, out = get_both(daemon, death["id"])
    assert record["case"]["emergency"] is True, record
    assert_lines(block(out, "case:"), [
        "case:",
        part("department:", "finance"),
        part("category:", "fees_billing"),
        part("subcategory:", "overcharge"),
        part("severity:", "critical"),
        part("impact:", "public"),
        part("priority:", "urgent"),
        part("sla:", "emergency"),
        part("group:", "cashiers"),
        part("emergency:", "yes (emergency plan)")])
    assert_lines(block(out, "triage:"), [
        "triage:",
        part("rules:", version),
        part("triaged:", TIME),
        part("matched:", "billing, death"),
        part("decided by:", "category <- billing"),
        part("decided by:", "subcategory <- billing"),
        part("decided by:", "severity <- death"),
        part("decided by:", "impact <- death"),
        part("decided by:", "department <- billing"),
        part("decided by:", "sla <- death"),
        part("decided by:", "group <- billing"),
        part("decided by:", "emergency <- death"),
        part("tags:", "money, safety")])

    #  No rule matched: the defaults, and the triage part says so
    (plain,) = daemon.ctl_json("submit", "--channel", "web", "--ref", "r-3",
                               "--name", "吴", "--description", "电梯太慢",
                               actor=ADAPTER)
    record, out = get_both(daemon, plain["id"])
    assert record["state"] == "registered", record
    assert_lines(block(out, "case:"), [
        "case:",
        part("category:", "other"),
        part("severity:", "ordinary"),
        part("impact:", "one"),
        part("priority:", "normal"),
        part("sla:", "standard")])
    assert_lines(block(out, "triage:"), [
        "triage:",
        part("rules:", version),
        part("triaged:", TIME),
        part("matched:", "(no rule)")])

    #  Without triage there is no triage part
    daemon.write_config({"triage/enabled": "false"})
    status, out, err = daemon.ctl("reload", actor=ADMIN)
    assert status == 0, (status, out, err)
    (untriaged,) = daemon.ctl_json("submit", "--channel", "web", "--ref",
                                   "r-4", "--name", "郑", "--description",
                                   "收费处多收了钱", actor=ADAPTER)
    record, out = get_both(daemon, untriaged["id"])
    assert "triage" not in record and "case" not in record, record
    assert "triage:" not in out.splitlines(), out
    assert "case:" not in out.splitlines(), out
    daemon.stop()


def test_complaintctl_reclassify():
    """A supervisor corrects the triage by hand: what is given replaces
    what the rules set, get says who decided it; the daemon's refusals
    come out as exit 1, bad options as exit 2."""
    daemon = rules_daemon()
    (cold,) = daemon.ctl_json("submit", "--channel", "web", "--ref", "c-1",
                              "--name", "冯", "--description", "候诊大厅很冷",
                              actor=ADAPTER)
    number = cold["number"]
    record, _ = get_both(daemon, number)
    assert record["state"] == "registered", record
    assert record["case"]["category"] == "other", record

    #  Refused: by an agent (403, recorded), without a reason, with
    #  nothing to change, with a value the daemon does not know (422)
    error = refused(daemon, AGENT, "reclassify", number, "--reason", "r",
                    "--category", "environment_hygiene")
    assert error == ('complaintctl: 403 FORBIDDEN: actor: "%s" is agent; '
                     'reclassify needs supervisor' % AGENT), error
    error = refused(daemon, SUPERVISOR, "reclassify", number, "--category",
                    "environment_hygiene")
    assert "422 INVALID: reason: required by action reclassify" in error, \
        error
    error = refused(daemon, SUPERVISOR, "reclassify", number, "--reason",
                    "r")
    assert error.startswith("complaintctl: 422 INVALID: category: "
                            "reclassify needs at least one of "), error
    error = refused(daemon, SUPERVISOR, "reclassify", number, "--reason",
                    "r", "--impact", "everyone")
    assert "422 INVALID: impact: " in error, error
    error = refused(daemon, SUPERVISOR, "reclassify", number, "--reason",
                    "r", "--severity", "awful")
    assert "422 INVALID: severity: " in error, error
    for args in (["reclassify", number, "--reason", "r", "--sla"],
                 ["reclassify", number, "--reason", "r", "--colour", "red"],
                 ["reclassify", "--reason", "r", "--category", "x"]):
        status, out, err = daemon.ctl(*args, actor=SUPERVISOR)
        assert status == 2, (args, status, out, err)

    #  Done by a supervisor: registered -> triaged (it has a category)
    status, out, err = daemon.ctl(
        "reclassify", number, "--reason", "其实是环境问题",
        "--category", "environment_hygiene", "--subcategory", "temperature",
        "--severity", "minor", "--impact", "several", "--priority", "high",
        "--sla", "fast", "--version", 1, actor=SUPERVISOR)
    assert status == 0, (status, out, err)
    assert out == "%s: registered -> triaged (version 2)\n" % number, out
    record, out = get_both(daemon, number)
    assert record["state"] == "triaged" and record["version"] == 2, record
    by = "reclassified by %s" % SUPERVISOR
    assert record["triage"]["decided_by"] == {
        field: by for field in ("category", "subcategory", "severity",
                                "impact", "priority", "sla")}, record
    assert_lines(block(out, "case:"), [
        "case:",
        part("category:", "environment_hygiene"),
        part("subcategory:", "temperature"),
        part("severity:", "minor"),
        part("impact:", "several"),
        part("priority:", "high"),
        part("sla:", "fast")])
    assert_lines(block(out, "triage:"), [
        "triage:",
        part("rules:", record["triage"]["rules"]),
        part("triaged:", TIME),
        part("matched:", "(no rule)")] + [
        part("decided by:", "%s <- %s" % (field, by))
        for field in ("category", "subcategory", "severity", "impact",
                      "priority", "sla")])
    #  list finds it under its new category and priority
    (page,) = daemon.ctl_json("list", "--category", "environment_hygiene")
    assert ids(page["items"]) == [cold["id"]], page
    status, out, err = daemon.ctl("count", "--priority", "high")
    assert status == 0 and out == "1\n", (status, out, err)

    #  Only one field, on a triaged complaint: the rest stays
    acted = act(daemon, SUPERVISOR2, "reclassify", number, "--reason",
                "影响一人", "--impact", "one")
    assert acted["previous"] == acted["state"] == "triaged", acted
    record, out = get_both(daemon, number)
    assert record["case"]["impact"] == "one", record
    assert record["case"]["category"] == "environment_hygiene", record
    assert part("decided by:", "impact <- reclassified by %s" % SUPERVISOR2) \
        in out.splitlines(), out

    #  The history: the agent's refusal, then the two corrections
    entries = history(daemon, number)
    assert [(entry["action"], entry["actor"], "refused" in entry)
            for entry in entries[2:]] == [
        ("reclassify", AGENT, True), ("reclassify", SUPERVISOR, False),
        ("reclassify", SUPERVISOR2, False)], entries
    changes = {change["field"]: change for change in entries[3]["changes"]}
    assert changes["case.category"] == {
        "field": "case.category", "old": "other",
        "new": "environment_hygiene"}, changes
    assert changes["reason"]["new"] == "其实是环境问题", changes
    daemon.stop()


def test_complaintctl_retriage_one_and_many():
    """retriage ID applies the rules now loaded to one complaint;
    retriage with the filters of list does it to each complaint found,
    page by page, with one line each and a summary."""
    daemon = rules_daemon()
    complaints = {}
    for ref, channel, text in (("m-1", "phone", "收费处多收了钱"),
                               ("m-2", "web", "大厅太冷了"),
                               ("m-3", "web", "走廊也很冷"),
                               ("m-4", "phone", "病房里冷得睡不着"),
                               ("m-5", "web", "窗口排队太久")):
        (reply,) = daemon.ctl_json("submit", "--channel", channel, "--ref",
                                   ref, "--name", "陈", "--description", text,
                                   actor=ADAPTER)
        complaints[ref] = reply
    number = {ref: reply["number"] for ref, reply in complaints.items()}
    #  m-3 is assigned: retriage no longer applies to it
    act(daemon, AGENT, "assign", number["m-3"], "--department", "后勤")

    #  One complaint, by a supervisor: the same rules, nothing to change
    status, out, err = daemon.ctl("retriage", number["m-1"], "--reason",
                                  "check", actor=SUPERVISOR)
    assert status == 0, (status, out, err)
    assert out == "%s: triaged -> triaged (version 2)\n" % number["m-1"], out
    error = refused(daemon, AGENT, "retriage", number["m-2"])
    assert error == ('complaintctl: 403 FORBIDDEN: actor: "%s" is agent; '
                     'retriage needs supervisor' % AGENT), error
    error = refused(daemon, SUPERVISOR, "retriage", number["m-3"])
    assert error.startswith("complaintctl: 409 CONFLICT: action: complaint "
                            "%s is assigned, where retriage is not allowed"
                            % number["m-3"]), error
    error = refused(daemon, SUPERVISOR, "retriage", number["m-2"],
                    "--category", "x")
    assert "422 INVALID: category: not used by action retriage" in error, \
        error

    #  New rules know cold halls; reload them
    write_rules(daemon, RULES_V2)
    status, out, err = daemon.ctl("reload", actor=ADMIN)
    assert status == 0, (status, out, err)
    match = re.fullmatch(r"rules reloaded: (cli-2#[0-9a-f]{12}) \((.+)\)\n",
                         out)
    assert match, out
    version = match.group(1)
    assert version in match.group(2), out

    #  Bulk, by state, one complaint a page: m-2, m-4 and m-5 are
    #  registered; m-2 and m-4 are cold, m-5 stays registered
    status, out, err = daemon.ctl("retriage", "--state", "registered",
                                  "--limit", 1, "--reason", "新规则",
                                  actor=SUPERVISOR)
    assert status == 0, (status, out, err)
    assert out.splitlines() == [
        "%s: registered -> triaged (version 2)" % number["m-2"],
        "%s: registered -> triaged (version 2)" % number["m-4"],
        "%s: registered -> registered (version 2)" % number["m-5"],
        "retriaged 3, refused 0"], out
    for ref in ("m-2", "m-4"):
        record, text = get_both(daemon, number[ref])
        assert record["case"]["category"] == "environment_hygiene", record
        assert record["triage"]["rules"] == version, record
        assert_lines(block(text, "triage:"), triage_lines(record))
        assert part("matched:", "cold") in text.splitlines(), text
        entry = history(daemon, number[ref])[-1]
        assert entry["action"] == "retriage" and entry["actor"] == SUPERVISOR
        assert {"field": "reason", "new": "新规则"} in entry["changes"], entry

    #  Bulk, by channel: m-3 is assigned and refused, the rest retriaged;
    #  exit 1, the refusal on its line and counted in the summary
    status, out, err = daemon.ctl("retriage", "--channel", "web",
                                  actor=SUPERVISOR)
    assert status == 1, (status, out, err)
    lines = out.splitlines()
    assert lines[0] == "%s: triaged -> triaged (version 3)" % number["m-2"], \
        lines
    assert lines[1].startswith(
        "%s: refused: 409 CONFLICT: action: complaint %s is assigned"
        % (number["m-3"], number["m-3"])), lines
    assert lines[2] == "%s: registered -> registered (version 3)" \
        % number["m-5"], lines
    assert lines[3] == "retriaged 2, refused 1 (409 CONFLICT: 1)", lines
    assert len(lines) == 4, lines

    #  --json: ACTED, the ERROR with the complaint it is about, a summary
    objects = [json.loads(line) for line in daemon.ctl(
        "--json", "retriage", "--channel", "web", "--limit", 2,
        actor=SUPERVISOR)[1].splitlines()]
    assert [obj.get("number") for obj in objects[:3]] == [
        number["m-2"], number["m-3"], number["m-5"]], objects
    assert objects[0]["version"] == 4 and objects[0]["state"] == "triaged"
    assert objects[1]["status"] == 409 and objects[1]["code"] == "CONFLICT"
    assert objects[1]["id"] == complaints["m-3"]["id"], objects
    assert objects[3] == {"retriaged": 2, "refused": 1}, objects

    #  By an agent: the first refusal (403) stops it, so that only one
    #  history records it
    status, out, err = daemon.ctl("retriage", "--state", "triaged",
                                  actor=AGENT)
    assert status == 1, (status, out, err)
    assert out.splitlines() == [
        '%s: refused: 403 FORBIDDEN: actor: "%s" is agent; retriage needs '
        'supervisor' % (number["m-1"], AGENT),
        "retriaged 0, refused 1 (403 FORBIDDEN: 1)"], out
    assert "stopped" in err, err
    refusals = [entry for ref in number for entry in history(
        daemon, number[ref]) if entry.get("refused")
        and entry["actor"] == AGENT and entry["action"] == "retriage"]
    assert len(refusals) == 2, refusals   # the one above and this one

    #  Nothing found: a summary of nothing
    status, out, err = daemon.ctl("retriage", "--state", "waiting",
                                  actor=SUPERVISOR)
    assert status == 0 and out == "retriaged 0, refused 0\n", \
        (status, out, err)
    #  A filter the daemon refuses: its error, no summary
    status, out, err = daemon.ctl("retriage", "--state", "sleeping",
                                  actor=SUPERVISOR)
    assert status == 1 and out == "", (status, out, err)
    assert "422 INVALID: state: " in err, err
    #  Usage: no id and no filter, --version with filters, a bad option
    for args in (["retriage"], ["retriage", "--reason", "r"],
                 ["retriage", "--limit", "5"],
                 ["retriage", "--state", "triaged", "--version", "2"],
                 ["retriage", "--state", "triaged", "--colour", "red"],
                 ["retriage", "--state"]):
        status, out, err = daemon.ctl(*args, actor=SUPERVISOR)
        assert status == 2 and out == "", (args, status, out, err)
        assert err.startswith("complaintctl: "), (args, err)
    daemon.stop()


def test_complaintctl_reload():
    """reload: an admin's RELOAD answered with the rules' version and the
    daemon's summary; anyone else is refused, and so are broken rules
    (the running ones stay)."""
    daemon = rules_daemon()
    status, out, err = daemon.ctl("reload", actor=ADMIN)
    assert status == 0, (status, out, err)
    match = re.fullmatch(r"rules reloaded: (cli-1#[0-9a-f]{12}) \((.+)\)\n",
                         out)
    assert match, out
    version = match.group(1)
    (reply,) = daemon.ctl_json("reload", actor=ADMIN)
    assert reply == {"rules": version, "message": match.group(2)}, reply
    (submitted,) = daemon.ctl_json("submit", "--channel", "web", "--ref",
                                   "l-1", "--name", "褚", "--description",
                                   "多收了挂号费", actor=ADAPTER)
    record, _ = get_both(daemon, submitted["id"])
    assert record["triage"]["rules"] == version, record

    #  Refused: an agent, a supervisor, an auditor, a name without a role
    for actor, role in ((AGENT, "agent"), (SUPERVISOR, "supervisor"),
                        (READER, "auditor")):
        error = refused(daemon, actor, "reload")
        assert error == ('complaintctl: 403 FORBIDDEN: actor: "%s" is %s; '
                         'reload needs admin' % (actor, role)), error
    error = refused(daemon, "nobody", "reload")
    assert error.startswith('complaintctl: 403 FORBIDDEN: actor: "nobody" '
                            'has no role'), error
    status, out, err = daemon.ctl("reload", "--now", actor=ADMIN)
    assert status == 2, (status, out, err)

    #  Broken rules: refused, the running ones stay
    write_rules(daemon, 'version: "cli-broken"\nrules: 5\n')
    error = refused(daemon, ADMIN, "reload")
    assert error.startswith("complaintctl: 422 INVALID: "), error
    assert "running rules stay" in error and "rules.yaml" in error, error
    (submitted,) = daemon.ctl_json("submit", "--channel", "web", "--ref",
                                   "l-2", "--name", "卫", "--description",
                                   "又多收了", actor=ADAPTER)
    record, _ = get_both(daemon, submitted["id"])
    assert record["triage"]["rules"] == version, record
    assert record["case"]["category"] == "fees_billing", record

    #  Fixed, and triage turned off: no rules
    write_rules(daemon, RULES_V2)
    status, out, err = daemon.ctl("reload", actor=ADMIN)
    assert status == 0 and out.startswith("rules reloaded: cli-2#"), \
        (status, out, err)
    daemon.write_config({"triage/enabled": "false"})
    status, out, err = daemon.ctl("reload", actor=ADMIN)
    assert status == 0, (status, out, err)
    assert out.startswith("rules reloaded: none, triage is off ("), out
    (reply,) = daemon.ctl_json("reload", actor=ADMIN)
    assert reply["rules"] is None, reply
    #  Nobody there: 3
    (port,) = free_ports(1)
    status, out, err = daemon.ctl("--api", "tcp://127.0.0.1:%d" % port,
                                  "--timeout", "300", "reload",
                                  endpoints=False, actor=ADMIN)
    assert status == 3 and "no answer" in err, (status, out, err)
    daemon.stop()
