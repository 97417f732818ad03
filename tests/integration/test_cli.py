"""complaintctl against the real daemon: submit, get, list, health, the
case actions and history, the actor, and the exit statuses."""

import contextlib
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
    daemon = Daemon()
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
    daemon = Daemon(settings={"list/page_max": "4"})
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
    """Each of the 23 commands sends its own action: an auditor may take
    none of them, and each refusal, naming the action on the wire, stays
    in the history."""
    daemon = Daemon()
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
    daemon = Daemon()
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
        "withdraw", "merge"]), allowed
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
    daemon = Daemon()
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
    daemon = Daemon()
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
