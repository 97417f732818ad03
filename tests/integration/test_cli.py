"""complaintctl against the real daemon: submit, get, list, health, and the
exit statuses."""

import re
import subprocess
import time

from harness import (CALL_TIMEOUT, COMPLAINTCTL, Daemon, assert_record,
                     assert_reply, free_ports, note, request, scaled,
                     submit_fields, wait_for)

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


def ctl_submit(daemon, fields):
    (reply,) = daemon.ctl_json(*submit_args(fields))
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
                                  "信件投诉：停车收费过高")
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
                                  "--description", "信件投诉：停车收费过高")
    assert status == 0, err
    assert out == "already registered as %s (id 1)\n" % match.group(1), out
    daemon.stop()


def test_complaintctl_generated_refs_differ():
    """Without --ref, complaintctl makes a ref; different complaints
    submitted at the same time must not share it (a shared ref turns the
    others into 409s, or, with the same text, into silent duplicates)."""
    daemon = Daemon()
    command = [COMPLAINTCTL, "--intake", daemon.intake, "--timeout",
               str(int(scaled(CALL_TIMEOUT) * 1000)), "submit", "--channel",
               "counter"]
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
                                      "--description", "电话一直占线")
        assert status == 0 and out.startswith("registered "), (out, err)
    assert daemon.health()["complaints"] == 6
    daemon.stop()


def test_complaintctl_list_text_is_valid_utf8():
    """The columns of list's text output must not cut a character in
    two."""
    daemon = Daemon()
    daemon.ctl_json("submit", "--channel", "web", "--ref", "w1",
                    "--name", "周", "--department", "B门诊部收费处",
                    "--description", "x" + "收" * 30)
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
        status, out, err = daemon.ctl(*args)
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
