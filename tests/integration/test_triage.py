"""Triage of new complaints by written rules (daemon/triage.yaml is the
format's manual): the record, history entry and event a triage makes,
repeat complaints, emergencies, reloads that keep or replace the rules,
--check-config, reclassify and retriage, triage turned off, and bad text
at intake.

Most tests write a small rules file of their own into the daemon's
directory (triage/rules); one uses the rules built into the daemon."""

import ctypes
import hashlib
import os
import re
import signal
import subprocess
import textwrap
import time

import msgpack

from harness import (COMPLAINTD, OPTIONS, PERSONAL_KEYS, READER, TOP,
                     WRAPPER, Daemon, SkipTest, Subscriber, assert_error,
                     assert_reply, next_request_id, pack, python, request,
                     run_daemon, scaled, submit_fields, wait_for)

# --------------------------------------------------------------------------
#  Rules files

HEAD = """\
version: "%s"
priority:
  critical: {one: urgent, several: urgent, public: urgent}
  major:    {one: high,   several: high,   public: urgent}
  ordinary: {one: normal, several: high,   public: high}
  minor:    {one: low,    several: normal, public: high}
defaults:
  category: other
  severity: ordinary
  impact: one
  sla: standard
rules:
"""

#  What a complaint no rule decides gets (the table gives ordinary x one)
DEFAULT_CASE = {"category": "other", "severity": "ordinary", "impact": "one",
                "priority": "normal", "sla": "standard"}

BILLING = """\
- name: billing
  when:
    text: {any: [多收, 乱收费, overcharged], none: [没有多收]}
    channel: [web, phone]
  set:
    category: fees_billing
    subcategory: overcharge
    severity: minor
    impact: several
    department: finance
    group: billing-desk
    tags: [money]
"""

VERSION = re.compile(r"^([^#]+)#([0-9a-f]{12})$")


def rules_text(version, rules):
    """A whole rules file: version, the priority table, the defaults and
    rules (YAML list items, at any indentation)."""
    body = textwrap.indent(textwrap.dedent(rules), "  ")
    return HEAD % version + body


def write_rules(path, version, rules):
    """Write a rules file; returns its text."""
    text = rules_text(version, rules)
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
    return text


def line_of(text, marker):
    """1-based number of the line of text that holds marker."""
    for number, line in enumerate(text.splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError("%r not in the rules" % marker)


def triage_daemon(version, rules, **settings):
    """A daemon triaging by its own rules file (rules.yaml in its
    directory); returns (daemon, path of the rules file)."""
    daemon = Daemon(start=False)
    path = os.path.join(daemon.dir, "rules.yaml")
    write_rules(path, version, rules)
    daemon.settings["triage/rules"] = path
    daemon.settings.update(settings)
    daemon.write_config()
    daemon.start()
    return daemon, path


def check_version(value, label):
    """value is "<label>#<12 hex digits>"; returns it."""
    match = VERSION.match(value or "")
    assert match, "triage.rules %r is not <version>#<12 hex>" % (value,)
    assert match.group(1) == label, "version %r, expected label %r" % (
        value, label)
    return value


# --------------------------------------------------------------------------
#  Requests

def get(daemon, target):
    """(record, history count) of an id or a number."""
    key = "number" if isinstance(target, str) else "id"
    request_id = next_request_id()
    reply = daemon.call(request("GET", request_id, {key: target}), "api")
    fields = assert_reply(reply, "COMPLAINT", request_id)
    return fields["complaint"], fields["history"]


def history(daemon, id):
    request_id = next_request_id()
    reply = daemon.call(request("HISTORY", request_id, {"id": id}), "api")
    fields = assert_reply(reply, "ENTRIES", request_id)
    assert len(fields["entries"]) == fields["total"], fields
    return fields["entries"]


def act(daemon, actor, id, action, **fields):
    request_id = next_request_id()
    fields = dict(fields, actor=actor, action=action, id=id)
    reply = daemon.call(request("ACT", request_id, fields), "api")
    assert reply[3] == request_id, "request_id not echoed: %r" % (reply,)
    return reply


def reload(daemon, actor="root.ops"):
    """A RELOAD request; returns the reply array."""
    request_id = next_request_id()
    reply = daemon.call(request("RELOAD", request_id, {"actor": actor}),
                        "api")
    assert reply[3] == request_id, "request_id not echoed: %r" % (reply,)
    return reply


def sighup(daemon, expect):
    """SIGHUP, then wait for the log to show expect; returns the log
    written since."""
    mark = daemon.log_size()
    daemon.signal(signal.SIGHUP)
    daemon.wait_log(expect, mark)
    return daemon.log_text(mark)


def submit(daemon, ref, description, **extra):
    """SUBMIT a complaint that must be stored; returns its record."""
    reply = daemon.submit_ok(submit_fields(ref, extra.pop("channel", "web"),
                                           description=description, **extra))
    return get(daemon, reply["id"])[0]


def changes_of(entry):
    """A history entry's changes as {field: (old, new)}."""
    result = {}
    for change in entry.get("changes", []):
        assert change["field"] not in result, "field twice: %r" % entry
        result[change["field"]] = (change.get("old"), change.get("new"))
    return result


def events_from(daemon, seq):
    return daemon.replay(seq)["events"]


# --------------------------------------------------------------------------
#  1. A new complaint is triaged: record, history, event

RULES_1 = BILLING + """\
- name: refund-asked
  when: {demands: [退款, refund]}
  set: {category: not_this_one, sla: refund-3d, tags: [refund, money]}
- name: vip
  when: {tier: [vip]}
  set: {raise_priority: 2, tags: [vip]}
"""


def test_a_matching_complaint_is_triaged_in_its_record_history_and_event():
    daemon, path = triage_daemon("t-1", RULES_1)
    subscriber = Subscriber(daemon)
    subscriber.wait_live(daemon)

    reply = daemon.submit_ok(submit_fields(
        "bill-1", "web", description="收费处多收了我两百元 overcharged",
        demands="要求退款", subject={"department": "收费处"},
        complainant={"name": "王芳", "phone": "13912345678", "tier": "vip"}))
    record, count = get(daemon, reply["id"])

    #  The record: state, case fields, and how they were decided
    assert record["state"] == "triaged", record
    assert record["version"] == 1, record
    assert count == 2, "history %d, expected submit and triage" % count
    assert record["case"] == {
        "category": "fees_billing", "subcategory": "overcharge",
        "severity": "minor", "impact": "several",
        #  minor x several is normal in the table, raised 2 steps by vip
        "priority": "urgent", "department": "finance", "sla": "refund-3d",
        "group": "billing-desk"}, record["case"]
    triage = record["triage"]
    version = check_version(triage["rules"], "t-1")
    assert triage["matched"] == ["billing", "refund-asked", "vip"], triage
    assert triage["decided_by"] == {
        "category": "billing", "subcategory": "billing",
        "severity": "billing", "impact": "billing", "department": "billing",
        "group": "billing", "sla": "refund-asked",
        "priority": "vip"}, triage["decided_by"]
    assert triage["tags"] == ["money", "refund", "vip"], triage
    assert triage["at"] == record["received_at"], triage
    assert "repeats" not in triage and "repeat_of" not in triage, triage
    assert "emergency" not in record["case"], record["case"]

    #  History entry 2: the daemon's triage, listing what it set
    entries = history(daemon, reply["id"])
    assert [entry["n"] for entry in entries] == [1, 2], entries
    entry = entries[1]
    assert (entry["actor"], entry["role"], entry["action"],
            entry["previous"], entry["state"]) == (
        "complaintd", "system", "triage", "registered", "triaged"), entry
    assert entry["at"] == record["received_at"], entry
    assert changes_of(entry) == {
        "case.category": (None, "fees_billing"),
        "case.subcategory": (None, "overcharge"),
        "case.severity": (None, "minor"),
        "case.impact": (None, "several"),
        "case.priority": (None, "urgent"),
        "case.department": (None, "finance"),
        "case.sla": (None, "refund-3d"),
        "case.group": (None, "billing-desk"),
        "triage.rules": (None, version)}, entry

    #  The event, live and replayed, says how it was triaged
    event = subscriber.event()
    assert event["id"] == reply["id"], event
    expected = {"seq": event["seq"], "topic": "complaint.created",
                "at": record["received_at"], "id": reply["id"],
                "number": reply["number"], "channel": "web",
                "state": "triaged", "department": "收费处",
                "case_department": "finance", "category": "fees_billing",
                "severity": "minor", "priority": "urgent"}
    assert event == expected, event
    assert events_from(daemon, event["seq"]) == [expected]
    assert subscriber.recv(0.2) is None, "a second event was published"

    #  LIST finds it by what the triage set
    for query in ({"category": "fees_billing"}, {"department": "finance"},
                  {"priority": "urgent"}, {"state": "triaged"}):
        assert [item["id"] for item in daemon.list_all(**query)] == [
            reply["id"]], query

    #  No rule sets the category: registered, with the defaults
    reply = daemon.submit_ok(submit_fields(
        "lift-1", "email", description="电梯太慢 the lift is slow",
        complainant={"email": "zhao@example.cn"}))
    record, count = get(daemon, reply["id"])
    assert record["state"] == "registered", record
    assert count == 2, count
    assert record["case"] == DEFAULT_CASE, record["case"]
    assert record["triage"]["rules"] == version, record["triage"]
    assert not record["triage"].get("matched"), record["triage"]
    assert not record["triage"].get("decided_by"), record["triage"]
    entry = history(daemon, reply["id"])[1]
    assert (entry["actor"], entry["role"], entry["action"],
            entry["previous"], entry["state"]) == (
        "complaintd", "system", "triage", "registered", "registered"), entry
    assert changes_of(entry) == {
        "case.category": (None, "other"), "case.severity": (None, "ordinary"),
        "case.impact": (None, "one"), "case.priority": (None, "normal"),
        "case.sla": (None, "standard"), "triage.rules": (None, version)}, \
        entry
    event = subscriber.event()
    assert event["id"] == reply["id"], event
    assert (event["state"], event["category"], event["severity"],
            event["priority"]) == ("registered", "other", "ordinary",
                                   "normal"), event
    assert "case_department" not in event, event

    #  A rule that matches without setting the category: still registered;
    #  "none" keeps the billing rule out; a channel it does not name too
    for ref, channel, description, tier, matched in (
            ("vip-1", "web", "等了很久 waited long", "VIP", ["vip"]),
            ("none-1", "web", "没有多收，只是问问 多收", None, []),
            ("letter-1", "letter", "多收了钱", None, [])):
        complainant = {"name": "陈"}
        if tier:
            complainant["tier"] = tier
        record = submit(daemon, ref, description, channel=channel,
                        complainant=complainant)
        assert record["state"] == "registered", (ref, record)
        assert record["case"]["category"] == "other", (ref, record)
        assert record["triage"].get("matched", []) == matched, (ref, record)
    daemon.stop()


def test_rules_version_is_the_label_and_the_documented_digest():
    """cmp_triage.h: "the file's version label, "#", and the first 12 hex
    digits of the SHA-1 of the file's text"."""
    daemon = Daemon(start=False)
    path = os.path.join(daemon.dir, "rules.yaml")
    text = write_rules(path, "digest-1", BILLING)
    daemon.settings["triage/rules"] = path
    daemon.write_config()
    daemon.start()
    record = submit(daemon, "digest", "多收了钱")
    data = text.encode("utf-8")
    sha1 = hashlib.sha1(data).hexdigest()[:12]
    version = check_version(record["triage"]["rules"], "digest-1")
    assert version == "digest-1#" + sha1, \
        "triage.rules %r: expected the SHA-1 prefix %s" % (version, sha1)
    daemon.stop()


def test_shipped_rules_classify_a_chinese_billing_complaint():
    """Without triage/rules the rules built in (daemon/triage.yaml) are
    used."""
    with open(os.path.join(TOP, "daemon", "triage.yaml"),
              encoding="utf-8") as file:
        label = re.search(r'^version:\s*"?([^"\n#]+?)"?\s*$', file.read(),
                          re.MULTILINE).group(1)
    daemon = Daemon()
    assert re.search(r"rules: triage rules %s#[0-9a-f]{12} with \d+ rules"
                     % re.escape(label), daemon.log_text()), daemon.log_text()
    record = submit(daemon, "shipped-bill", "收费处多收了我两百元，要求退款",
                    channel="phone")
    assert record["state"] == "triaged", record
    assert record["case"]["category"] == "fees_billing", record["case"]
    assert record["case"]["department"] == "finance", record["case"]
    assert record["triage"]["decided_by"]["category"] in \
        record["triage"]["matched"], record["triage"]
    check_version(record["triage"]["rules"], label)
    daemon.stop()


def test_patterns_run_in_the_interpreter_with_jit_off():
    """triage/jit = false: the same rules match, the patterns run in
    PCRE2's interpreter, and the log says so."""
    daemon = Daemon(settings={"triage/jit": "false"})
    assert re.search(r"rules: triage rules \S+ with \d+ rules \(patterns "
                     r"in PCRE2's interpreter, no JIT\)", daemon.log_text()), \
        daemon.log_text()
    record = submit(daemon, "nojit-shout", "收费处多收了我两百元！！！",
                    channel="phone")
    assert record["case"]["category"] == "fees_billing", record["case"]
    assert "agitated-exclamations" in record["triage"]["matched"], \
        record["triage"]
    daemon.stop()


def test_where_code_written_at_run_time_is_forbidden_the_log_says_so():
    """Under Linux's MDWE (what systemd's MemoryDenyWriteExecute sets)
    PCRE2's JIT cannot compile: complaintd warns and the patterns run
    in the interpreter."""
    if WRAPPER:
        raise SkipTest("valgrind itself writes code at run time")
    libc = ctypes.CDLL(None, use_errno=True)
    probe = subprocess.run([python(), "-c",
                            "import ctypes, sys; sys.exit(ctypes.CDLL(None)"
                            ".prctl(65, 1, 0, 0, 0) != 0)"])
    if probe.returncode != 0:
        raise SkipTest("this kernel has no PR_SET_MDWE (Linux 6.3)")
    done = subprocess.run(
        [COMPLAINTD] + OPTIONS + ["--check-config"], capture_output=True,
        preexec_fn=lambda: libc.prctl(65, 1, 0, 0, 0), timeout=scaled(30))
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, (stdout, stderr)
    assert "patterns in PCRE2's interpreter, no JIT" in stdout, stdout
    assert "PCRE2's JIT cannot compile the patterns here" in stderr, stderr


RULES_SENTENCES = """\
- name: refund-late
  when:
    text: {any: [退款, refund], pattern: '(?i)^(退款|refund).{0,20}(没|never)'}
  set: {category: fees_billing, tags: [refund-late]}
"""


def test_a_pattern_with_keywords_runs_on_each_sentence_that_holds_them():
    """The sentence of a keyword is matched as a text of its own: ^ is
    its start, a match may not run on into the next sentence, and a line
    break alone ends no sentence (a blank line does)."""
    daemon, path = triage_daemon("sentences", RULES_SENTENCES)
    cases = [("s1", "收费不对。退款到现在还没到账。", True),
             ("s2", "Wrong fee. Refund never arrived", True),
             ("s3", "退款！等了很久没人理", False),
             ("s4", "Refund? Never heard back", False),
             ("s5", "Wrong fee\n\n退款没到账", True),
             ("s6", "Wrong fee, and the\n退款没到账", False),
             ("s7", "收费不对。\n退款没到账", True)]
    for ref, description, late in cases:
        record = submit(daemon, ref, description)
        tags = record.get("triage", {}).get("tags", [])
        assert ("refund-late" in tags) == late, (description, record)
    daemon.stop()


# --------------------------------------------------------------------------
#  2. Repeat complaints

RULES_REPEATS = """\
- name: frequent
  when: {repeats: 2}
  set: {category: repeat_complaint, raise_priority: 1, tags: [repeat]}
"""


def test_repeats_are_counted_by_phone_and_email_written_differently():
    daemon, _ = triage_daemon("rep-1", RULES_REPEATS)

    def one(ref, **complainant):
        return submit(daemon, ref, "还是没有解决 still not solved %s" % ref,
                      complainant=complainant)

    first = one("p1", name="李伟", phone="+86 138 0013 8000")
    assert "repeats" not in first["triage"], first["triage"]
    assert first["state"] == "registered", first

    #  The same complaint sent again is a duplicate, not a repeat
    again = daemon.submit_ok(submit_fields(
        "p1", "web", description="还是没有解决 still not solved p1",
        complainant={"name": "李伟", "phone": "+86 138 0013 8000"}),
        duplicate=True)
    assert again["id"] == first["id"], again

    second = one("p2", phone="13800138000")
    assert second["triage"]["repeats"] == 1, second["triage"]
    assert second["triage"]["repeat_of"] == [first["number"]], second
    assert second["state"] == "registered", second
    assert "frequent" not in second["triage"].get("matched", [])

    #  The third: the rule with repeats: 2 fires
    third = one("p3", phone="0086 (138) 0013-8000")
    assert third["triage"]["repeats"] == 2, third["triage"]
    assert third["triage"]["repeat_of"] == [second["number"],
                                            first["number"]], third
    assert third["triage"]["matched"] == ["frequent"], third["triage"]
    assert third["state"] == "triaged", third
    assert third["case"]["category"] == "repeat_complaint", third["case"]
    assert third["case"]["priority"] == "high", third["case"]  # normal + 1
    assert third["triage"]["tags"] == ["repeat"], third["triage"]

    #  The contacts are kept across a restart
    daemon.restart()
    fourth = one("p3b", phone="138-0013-8000")
    assert fourth["triage"]["repeats"] == 3, fourth["triage"]
    assert fourth["triage"]["repeat_of"] == [
        third["number"], second["number"], first["number"]], fourth

    #  Another phone is somebody else
    other = one("p4", phone="+86 139 0013 8000")
    assert "repeats" not in other["triage"], other["triage"]

    #  Email, in another case
    mail_1 = one("m1", email="Wang.Fang@Example.COM")
    assert "repeats" not in mail_1["triage"], mail_1["triage"]
    mail_2 = one("m2", name="王芳", email="wang.fang@example.com")
    assert mail_2["triage"]["repeats"] == 1, mail_2["triage"]
    assert mail_2["triage"]["repeat_of"] == [mail_1["number"]], mail_2
    assert "repeats" not in one("m3", email="wang.fang2@example.com")[
        "triage"]

    #  Both contacts: the earlier complaints of either, newest 3 named
    both = one("b1", phone="13800138000", email="WANG.FANG@example.com")
    assert both["triage"]["repeats"] == 6, both["triage"]
    assert both["triage"]["repeat_of"] == [
        mail_2["number"], mail_1["number"], fourth["number"]], both["triage"]
    assert both["state"] == "triaged", both

    #  Anonymous, without contact: never a repeat
    for ref in ("a1", "a2", "a3"):
        record = submit(daemon, ref, "匿名 anonymous",
                        complainant={"anonymous": True})
        assert "repeats" not in record["triage"], record["triage"]
    daemon.stop()


def test_repeat_window_zero_counts_no_repeats_and_a_short_window_ends():
    daemon, _ = triage_daemon("rep-0", RULES_REPEATS,
                              **{"triage/repeat_window": "0"})
    for ref in ("z1", "z2", "z3"):
        record = submit(daemon, ref, "同一个人 same person",
                        complainant={"phone": "13800138000"})
        assert "repeats" not in record["triage"], record["triage"]
        assert record["state"] == "registered", record
    daemon.stop()

    #  A window of under a second: a repeat inside it, none after it
    window = int(scaled(0.7) * 1000)
    daemon, _ = triage_daemon("rep-w", RULES_REPEATS, **{
        "triage/repeat_window": "%dms" % window})
    first = submit(daemon, "w1", "第一次", complainant={"phone": "13800138000"})
    second = submit(daemon, "w2", "第二次", complainant={"phone": "13800138000"})
    if second["received_at"] - first["received_at"] < window:
        assert second["triage"]["repeats"] == 1, second["triage"]
    wait_for(lambda: time.time() * 1000 > second["received_at"] + window
             + 50, 2 * window / 1000.0 + 1, "the repeat window to pass")
    third = submit(daemon, "w3", "第三次", complainant={"phone": "13800138000"})
    assert "repeats" not in third["triage"], third["triage"]
    daemon.stop()


RULES_TIME = """\
- name: weekend-night
  when: {days: [sat, sun], hours: "18:00-08:00"}
  set: {category: weekend_night, tags: [night]}
  stop: true
- name: off-hours
  when: {working: false}
  set: {category: off_hours, tags: [off]}
- name: office
  when: {working: true}
  set: {category: office_hours}
"""

#  Asia/Shanghai is UTC+8 all year
CST = 8 * 3600 * 1000


def shanghai(year, month, day, hour, minute):
    """ms since the epoch of a local time in Asia/Shanghai."""
    import calendar
    return calendar.timegm((year, month, day, hour, minute, 0)) * 1000 - CST


def test_time_conditions_use_the_time_complained_in_the_calendar_zone():
    daemon, _ = triage_daemon("time-1", RULES_TIME)
    cases = [
        #  Saturday 2026-11-21 23:30: night at a weekend; stop ends there
        (shanghai(2026, 11, 21, 23, 30), "weekend_night", ["weekend-night"]),
        #  Sunday 07:59, still night
        (shanghai(2026, 11, 22, 7, 59), "weekend_night", ["weekend-night"]),
        #  Saturday noon: not night, and no working time at weekends
        (shanghai(2026, 11, 21, 12, 0), "off_hours", ["off-hours"]),
        #  Thursday 2026-11-19 10:00: working time
        (shanghai(2026, 11, 19, 10, 0), "office_hours", ["office"]),
        #  Thursday 12:30: the lunch break (12:00-13:30)
        (shanghai(2026, 11, 19, 12, 30), "off_hours", ["off-hours"]),
        #  Friday 2026-11-20 20:00: night, but not at a weekend
        (shanghai(2026, 11, 20, 20, 0), "off_hours", ["off-hours"]),
    ]
    for index, (when, category, matched) in enumerate(cases):
        record = submit(daemon, "time-%d" % index, "投诉 complaint",
                        complained_at=when)
        assert record["complained_at"] == when
        assert (record["case"]["category"], record["triage"]["matched"]) \
            == (category, matched), (index, record["triage"])
    daemon.stop()


# --------------------------------------------------------------------------
#  3. Emergencies

RULES_EMERGENCY = """\
- name: fire
  when: {text: [火灾, 着火, fire]}
  set: {category: safety, severity: critical, impact: public,
        emergency: true, tags: [safety]}
- name: injury
  when: {text: {any: [受伤, injur], none: [没有受伤]}}
  set: {category: medical_safety, severity: major, emergency: true}
- name: noise
  when: {text: [噪音]}
  set: {category: environment_hygiene}
"""


def test_an_emergency_rule_publishes_complaint_emergency_after_created():
    daemon, _ = triage_daemon("em-1", RULES_EMERGENCY)
    subscriber = Subscriber(daemon)
    subscriber.wait_live(daemon)

    reply = daemon.submit_ok(submit_fields(
        "fire-1", "phone", description="三楼着火了，有人受伤 fire, one injured",
        subject={"location": "三楼 3F"}))
    record, count = get(daemon, reply["id"])
    assert record["state"] == "triaged", record
    assert record["case"]["emergency"] is True, record["case"]
    assert record["case"]["category"] == "safety", record["case"]
    assert record["case"]["priority"] == "urgent", record["case"]
    assert record["triage"]["decided_by"]["emergency"] == "fire", record
    assert record["triage"]["matched"] == ["fire", "injury"], record
    #  Registered, triaged, and escalated to the top (the emergency plan)
    assert count == 3, count
    assert history(daemon, reply["id"])[2]["action"] == "escalate"
    assert changes_of(history(daemon, reply["id"])[1])["case.emergency"] == \
        (None, "true")

    #  Live: complaint.created, then complaint.emergency with seq + 1
    received = []
    for _ in range(2):
        got = subscriber.recv()
        assert got is not None, "no event within the timeout"
        topic, body, _ = got
        assert body[:4] == ["CMP", 1, "EVENT", 0], body
        assert topic == body[4]["topic"], (topic, body)
        assert not set(body[4]) & PERSONAL_KEYS, body
        received.append(body[4])
    created, emergency = received
    assert created["topic"] == "complaint.created", created
    assert created["id"] == reply["id"] and created["emergency"] is True, \
        created
    assert created["state"] == "triaged", created
    assert emergency["topic"] == "complaint.emergency", emergency
    assert emergency["seq"] == created["seq"] + 1, (created, emergency)
    assert emergency["id"] == reply["id"], emergency
    assert emergency["number"] == reply["number"], emergency
    assert emergency["emergency"] is True, emergency
    assert "fire" in emergency["reason"], emergency
    assert "injury" in emergency["reason"], emergency
    assert emergency["category"] == "safety", emergency
    assert emergency["priority"] == "urgent", emergency

    #  Replayed the same, in the same order
    replayed = events_from(daemon, created["seq"])
    assert replayed[:2] == [created, emergency], replayed
    #  Then the escalation to the top of the ladder, in the same commit
    assert [event["topic"] for event in replayed[2:]] == [
        "complaint.escalated"], replayed
    assert replayed[2]["level"] == "executive", replayed
    assert daemon.health()["last_seq"] == replayed[2]["seq"]
    escalated = subscriber.recv()
    assert escalated and escalated[0] == "complaint.escalated", escalated

    #  A complaint that is no emergency: no flag, no second event
    reply = daemon.submit_ok(submit_fields(
        "noise-1", description="楼上噪音 noise, 没有受伤"))
    record, _ = get(daemon, reply["id"])
    assert "emergency" not in record["case"], record["case"]
    assert "emergency" not in record["triage"].get("decided_by", {})
    event = subscriber.event()
    assert event["id"] == reply["id"] and "emergency" not in event, event
    assert subscriber.recv(0.2) is None, "an event too many"
    assert events_from(daemon, event["seq"]) == [event]
    daemon.stop()


# --------------------------------------------------------------------------
#  4. A reload with a broken file keeps the running rules

def test_a_broken_rules_file_is_refused_at_sighup_and_reload():
    daemon, path = triage_daemon("keep-1", BILLING)
    before = submit(daemon, "k1", "多收了钱")
    version = check_version(before["triage"]["rules"], "keep-1")
    assert before["case"]["category"] == "fees_billing"

    broken = write_rules(path, "keep-2", """\
        - name: billing
          when: {text: [多收]}
          set: {category: new_billing, severity: huge}
        """)
    line = line_of(broken, "severity: huge")
    log = sighup(daemon, r"reload refused")
    assert re.search(r"%s:%d: .*severity.*huge" % (re.escape(path), line),
                     log), log
    assert "configuration reloaded" not in log, log

    after = submit(daemon, "k2", "又多收了钱")
    assert after["triage"]["rules"] == version, after["triage"]
    assert after["case"]["category"] == "fees_billing", after["case"]
    assert after["state"] == "triaged", after

    #  The same by RELOAD: 422 on "rules", naming file and line
    mark = daemon.log_size()
    error = assert_error(reload(daemon), 422, "INVALID", "rules")
    assert "%s:%d:" % (path, line) in error["message"], error
    assert "reload asked by root.ops" in daemon.log_text(mark)
    after = submit(daemon, "k3", "还是多收")
    assert after["triage"]["rules"] == version, after["triage"]
    assert after["case"]["category"] == "fees_billing", after["case"]

    #  A file that cannot be read is refused too
    os.rename(path, path + ".away")
    error = assert_error(reload(daemon), 422, "INVALID", "rules",
                         message=path)
    assert submit(daemon, "k4", "多收")["triage"]["rules"] == version
    os.rename(path + ".away", path)

    #  Only an admin may ask; anyone else gets 403 on actor
    for actor in ("wang.wei", "li.na", READER, "gateway", "stranger"):
        assert_error(reload(daemon, actor), 403, "FORBIDDEN", "actor")
    assert_error(reload(daemon, ""), 422, "INVALID", "actor")
    assert_error(reload(daemon, "complaintd"), 403, "FORBIDDEN", "actor")
    assert daemon.health()["complaints"] == 4
    daemon.stop()


# --------------------------------------------------------------------------
#  5. A reload with a good file applies to new complaints only

RULES_V2 = """\
- name: billing-v2
  when: {text: [多收, 收费]}
  set: {category: fees_billing, severity: major, department: finance-2}
- name: noise
  when: {text: [噪音]}
  set: {category: environment_hygiene, department: property}
"""


def test_a_good_reload_applies_to_new_complaints_only():
    daemon, path = triage_daemon("v1", BILLING)
    old_bill = submit(daemon, "o1", "多收了钱")
    old_noise = submit(daemon, "o2", "楼上噪音")
    v1 = check_version(old_bill["triage"]["rules"], "v1")
    assert old_noise["state"] == "registered"

    write_rules(path, "v2", RULES_V2)
    fields = assert_reply(reload(daemon), "RELOADED")
    v2 = check_version(fields["rules"], "v2")
    assert v2 in fields["message"], fields
    new_bill = submit(daemon, "n1", "多收了钱")
    new_noise = submit(daemon, "n2", "楼上噪音")
    assert new_bill["triage"]["rules"] == v2, new_bill["triage"]
    assert new_bill["case"]["department"] == "finance-2", new_bill["case"]
    assert new_bill["case"]["severity"] == "major", new_bill["case"]
    assert new_bill["triage"]["matched"] == ["billing-v2"], new_bill
    assert new_noise["state"] == "triaged", new_noise
    assert new_noise["case"]["category"] == "environment_hygiene"
    assert new_noise["case"]["department"] == "property"

    #  The old ones keep what they were given
    assert get(daemon, old_bill["id"]) == (old_bill, 2)
    assert get(daemon, old_noise["id"]) == (old_noise, 2)
    assert old_bill["triage"]["rules"] == v1
    assert old_bill["case"]["department"] == "finance"

    #  SIGHUP does the same
    write_rules(path, "v3", BILLING)
    log = sighup(daemon, r"configuration reloaded")
    assert re.search(r"rules: triage rules v3#[0-9a-f]{12} with 1 rules",
                     log), log
    newest = submit(daemon, "n3", "楼上噪音")
    check_version(newest["triage"]["rules"], "v3")
    assert newest["state"] == "registered", newest
    assert get(daemon, new_noise["id"]) == (new_noise, 2)
    daemon.stop()


# --------------------------------------------------------------------------
#  6. --check-config

#  The same two patterns, in one order and in the other: a complaint
#  about a late doctor is tagged a-late by A and b-late by B
RULES_A = """\
- name: a-never
  when: {text: {pattern: 'zzz'}}
  set: {tags: [a-never]}
- name: a-late
  when: {text: {pattern: '迟到'}}
  set: {tags: [a-late]}
"""
RULES_B = """\
- name: b-late
  when: {text: {pattern: '迟到'}}
  set: {tags: [b-late]}
- name: b-never
  when: {text: {pattern: 'zzz'}}
  set: {tags: [b-never]}
"""


def test_reloads_under_load_triage_each_complaint_by_the_rules_it_names():
    """The event loop scans each SUBMIT's texts with the rules loaded when
    it came; a reload while SUBMITs wait must not let the new rules read
    the old rules' results. Every complaint's tags match its rules."""
    daemon, path = triage_daemon("a", RULES_A)
    intake = daemon.client("intake")
    sent, ids = 0, []
    for round_ in range(6):
        for _ in range(150):
            sent += 1
            intake.send(request("SUBMIT", 100000 + sent,
                                submit_fields("load-%d" % sent,
                                              description="医生又迟到了")))
        #  Reload once the daemon answered one SUBMIT of this round, most
        #  of the round waiting; that one is triaged by this round's rules
        while True:
            reply = intake.recv()
            ids.append(assert_reply(reply, "SUBMITTED")["id"])
            if reply[3] > 100000 + sent - 150:
                break
        version, rules = ("b", RULES_B) if round_ % 2 == 0 else ("a", RULES_A)
        write_rules(path, version, rules)
        assert_reply(reload(daemon), "RELOADED")
    while len(ids) < sent:
        ids.append(assert_reply(intake.recv(), "SUBMITTED")["id"])
    seen = set()
    for id in ids:
        record = get(daemon, id)[0]
        label = check_version(record["triage"]["rules"],
                              record["triage"]["rules"][0])[0]
        assert record["triage"]["tags"] == [label + "-late"], (
            record["triage"])
        seen.add(label)
    assert seen == {"a", "b"}, seen
    daemon.stop()


def test_check_config_prints_every_error_with_file_and_line():
    directory = Daemon(start=False).dir
    path = os.path.join(directory, "broken.yaml")
    text = write_rules(path, "broken-1", BILLING + textwrap.dedent("""\
        - name: a
          when: {text: [x]}
          set: {severity: huge}
        - name: b
          when: {channel: [fax]}
          set: {category: c}
        """))
    status, out, err = run_daemon("--check-config", "-o",
                                  "triage/rules=" + path)
    assert status != 0, (status, out, err)
    errors = [line for line in out.splitlines()
              if re.match(r"^%s:\d+: " % re.escape(path), line)]
    assert len(errors) == 2, out
    assert errors[0].startswith("%s:%d: " % (path, line_of(
        text, "severity: huge"))) and "huge" in errors[0], out
    assert errors[1].startswith("%s:%d: " % (path, line_of(
        text, "channel: [fax]"))) and "fax" in errors[1], out
    assert not re.search(r"^rules: ", out, re.MULTILINE), out

    #  A YAML syntax error, and a file that is not there
    with open(path, "w", encoding="utf-8") as file:
        file.write('version: "s"\nrules: [\n  - {name: a\n')
    status, out, err = run_daemon("--check-config", "-o",
                                  "triage/rules=" + path)
    assert status != 0, (status, out, err)
    assert re.search(r"^%s:\d+: " % re.escape(path), out, re.MULTILINE), out
    missing = os.path.join(directory, "missing.yaml")
    status, out, err = run_daemon("--check-config", "-o",
                                  "triage/rules=" + missing)
    assert status != 0, (status, out, err)
    assert re.search(r"^%s: " % re.escape(missing), out, re.MULTILINE), out

    #  A good file
    write_rules(path, "good-1", RULES_1)
    status, out, err = run_daemon("--check-config", "-o",
                                  "triage/rules=" + path)
    assert status == 0, (status, out, err)
    assert re.search(r"^rules: triage rules good-1#[0-9a-f]{12} with 3 rules",
                     out, re.MULTILINE), out
    #  Triage off: the rules file is not read
    status, out, err = run_daemon("--check-config", "-o",
                                  "triage/rules=" + missing, "-o",
                                  "triage/enabled=false")
    assert status == 0, (status, out, err)
    assert re.search(r"^rules: triage off", out, re.MULTILINE), out


# --------------------------------------------------------------------------
#  7. reclassify, retriage, triage off

def test_reclassify_by_a_supervisor_with_a_reason():
    daemon, _ = triage_daemon("rc-1", BILLING)
    record = submit(daemon, "rc", "多收了钱")
    assert record["state"] == "triaged"
    id = record["id"]

    #  Who, what and why
    assert_error(act(daemon, "li.na", id, "reclassify", category="x",
                     reason="agent"), 403, "FORBIDDEN", "actor")
    assert_error(act(daemon, "wang.wei", id, "reclassify",
                     category="service_attitude"), 422, "INVALID", "reason")
    assert_error(act(daemon, "wang.wei", id, "reclassify",
                     reason="nothing to change"), 422, "INVALID", "category")
    assert_error(act(daemon, "wang.wei", id, "reclassify", reason="r",
                     department="x"), 422, "INVALID", "department")
    assert_error(act(daemon, "wang.wei", id, "reclassify", reason="r",
                     severity="huge"), 422, "INVALID", "severity")
    entries = history(daemon, id)
    assert len(entries) == 3, entries  # submit, triage, the refused 403
    assert entries[2]["actor"] == "li.na" and entries[2]["refused"], entries

    acted = assert_reply(act(daemon, "wang.wei", id, "reclassify",
                             category="service_attitude", severity="major",
                             impact="public", sla="fast",
                             reason="误分类 it is about the cashier"),
                         "ACTED")
    assert (acted["previous"], acted["state"], acted["version"]) == (
        "triaged", "triaged", 2), acted
    after, count = get(daemon, id)
    assert count == 4, count
    assert after["case"]["category"] == "service_attitude", after["case"]
    assert after["case"]["severity"] == "major", after["case"]
    assert after["case"]["impact"] == "public", after["case"]
    assert after["case"]["sla"] == "fast", after["case"]
    assert after["case"]["subcategory"] == "overcharge", after["case"]
    assert after["case"]["department"] == "finance", after["case"]
    decided = after["triage"]["decided_by"]
    for field in ("category", "severity", "impact", "sla"):
        assert decided[field] == "reclassified by wang.wei", decided
    assert decided["subcategory"] == "billing", decided
    assert after["triage"]["rules"] == record["triage"]["rules"]
    entry = history(daemon, id)[3]
    assert (entry["actor"], entry["role"], entry["action"],
            entry["previous"], entry["state"]) == (
        "wang.wei", "supervisor", "reclassify", "triaged", "triaged"), entry
    assert changes_of(entry) == {
        "case.category": ("fees_billing", "service_attitude"),
        "case.severity": ("minor", "major"),
        "case.impact": ("several", "public"),
        "case.sla": ("standard", "fast"),
        #  major x public, by the rules' table
        "case.priority": ("normal", "urgent"),
        "reason": (None, "误分类 it is about the cashier")}, entry

    #  A registered complaint given a category is triaged
    other = submit(daemon, "rc2", "电梯慢")
    assert other["state"] == "registered"
    acted = assert_reply(act(daemon, "chen.jie", other["id"], "reclassify",
                             category="quality", reason="电梯 lift"),
                         "ACTED")
    assert (acted["previous"], acted["state"]) == ("registered", "triaged")

    #  Only while the case is open
    assert_reply(act(daemon, "li.na", other["id"], "withdraw",
                     reason="撤回"), "ACTED")
    assert_error(act(daemon, "wang.wei", other["id"], "reclassify",
                     category="x", reason="late"), 409, "CONFLICT", "action")
    daemon.stop()


def test_reclassify_without_a_category_leaves_a_registered_complaint():
    """A registered complaint has only the defaults' category; correcting
    its severity does not classify it (triaged needs a category decided by
    a rule or by hand)."""
    daemon, _ = triage_daemon("rc-2", BILLING)
    record = submit(daemon, "rcs", "电梯慢")
    assert record["state"] == "registered"
    assert record["case"]["category"] == "other"
    acted = assert_reply(act(daemon, "wang.wei", record["id"], "reclassify",
                             severity="major", reason="更严重 worse"),
                         "ACTED")
    assert acted["state"] == "registered", \
        "reclassify of severity only moved a complaint classified by " \
        "nobody to %r" % acted["state"]
    daemon.stop()


def test_retriage_applies_the_rules_now_loaded():
    daemon, path = triage_daemon("rt-1", BILLING)
    noise = submit(daemon, "rt1", "楼上噪音 noise")
    bill = submit(daemon, "rt2", "多收了钱")
    moved = submit(daemon, "rt3", "多收了钱 again")
    v1 = noise["triage"]["rules"]
    assert noise["state"] == "registered" and bill["state"] == "triaged"
    assert_reply(act(daemon, "li.na", moved["id"], "assign",
                     department="finance"), "ACTED")

    #  Under the same rules a retriage changes nothing but says so
    acted = assert_reply(act(daemon, "wang.wei", noise["id"], "retriage"),
                         "ACTED")
    assert (acted["previous"], acted["state"], acted["version"]) == (
        "registered", "registered", 2), acted
    entry = history(daemon, noise["id"])[2]
    assert (entry["actor"], entry["role"], entry["action"]) == (
        "wang.wei", "supervisor", "retriage"), entry
    assert changes_of(entry) == {}, entry

    write_rules(path, "rt-2", RULES_V2)
    v2 = check_version(assert_reply(reload(daemon), "RELOADED")["rules"],
                       "rt-2")
    assert get(daemon, noise["id"])[0]["triage"]["rules"] == v1

    #  Supervisors only; only registered or triaged; no fields of its own
    assert_error(act(daemon, "li.na", noise["id"], "retriage"), 403,
                 "FORBIDDEN", "actor")
    assert_error(act(daemon, "wang.wei", moved["id"], "retriage"), 409,
                 "CONFLICT", "action")
    assert_error(act(daemon, "wang.wei", noise["id"], "retriage",
                     category="x"), 422, "INVALID", "category")

    last = daemon.replay()["last"]
    acted = assert_reply(act(daemon, "chen.jie", noise["id"], "retriage",
                             reason="规则更新 rules changed"), "ACTED")
    assert (acted["previous"], acted["state"], acted["version"]) == (
        "registered", "triaged", 3), acted
    after, count = get(daemon, noise["id"])
    assert after["triage"]["rules"] == v2, after["triage"]
    assert after["case"]["category"] == "environment_hygiene", after["case"]
    assert after["case"]["department"] == "property", after["case"]
    assert after["triage"]["matched"] == ["noise"], after["triage"]
    assert after["triage"]["decided_by"]["category"] == "noise"
    entry = history(daemon, noise["id"])[count - 1]
    assert (entry["actor"], entry["role"], entry["action"],
            entry["previous"], entry["state"]) == (
        "chen.jie", "supervisor", "retriage", "registered", "triaged"), entry
    assert changes_of(entry) == {
        "case.category": ("other", "environment_hygiene"),
        "case.department": (None, "property"),
        "triage.rules": (v1, v2),
        "reason": (None, "规则更新 rules changed")}, entry
    events = events_from(daemon, last + 1)
    assert [(event["topic"], event["action"], event["state"])
            for event in events] == [
        ("complaint.state", "retriage", "triaged")], events
    assert [item["id"] for item in daemon.list_all(
        category="environment_hygiene")] == [noise["id"]]
    assert [item["id"] for item in daemon.list_all(
        department="property")] == [noise["id"]]
    assert noise["id"] not in [item["id"] for item in daemon.list_all(
        category="other")]

    #  A triaged complaint stays triaged, with what the new rules say
    acted = assert_reply(act(daemon, "wang.wei", bill["id"], "retriage"),
                         "ACTED")
    assert (acted["previous"], acted["state"]) == ("triaged", "triaged")
    after, _ = get(daemon, bill["id"])
    assert after["case"]["department"] == "finance-2", after["case"]
    assert after["case"]["severity"] == "major", after["case"]
    assert "subcategory" not in after["case"], after["case"]
    daemon.stop()


def test_a_retriage_that_declares_an_emergency_publishes_it():
    """The emergency plan starts with a complaint.emergency event; a
    complaint that the rules now loaded make an emergency gets one at its
    retriage too, right after the complaint.state event."""
    daemon, path = triage_daemon("rte-1", BILLING)
    record = submit(daemon, "rte", "三楼着火了 fire")
    assert "emergency" not in record["case"], record
    write_rules(path, "rte-2", RULES_EMERGENCY)
    assert_reply(reload(daemon), "RELOADED")
    last = daemon.replay()["last"]
    assert_reply(act(daemon, "wang.wei", record["id"], "retriage"), "ACTED")
    after, count = get(daemon, record["id"])
    assert after["case"]["emergency"] is True, after["case"]
    #  The retriage's entry, then the escalation to the top
    assert changes_of(history(daemon, record["id"])[count - 2])[
        "case.emergency"] == (None, "true")
    events = events_from(daemon, last + 1)
    assert [event["topic"] for event in events] == [
        "complaint.state", "complaint.emergency", "complaint.escalated"], \
        events
    assert events[1]["seq"] == events[0]["seq"] + 1, events
    assert "fire" in events[1]["reason"], events
    daemon.stop()


def test_triage_off_leaves_complaints_registered_and_refuses_retriage():
    daemon = Daemon(settings={"triage/enabled": "false"})
    assert re.search(r"rules: triage off", daemon.log_text()), \
        daemon.log_text()
    first = submit(daemon, "off1", "收费处多收了我两百元")
    second = submit(daemon, "off2", "又多收了", complainant={
        "phone": "+86 138 0013 8000"})
    for record in (first, second):
        assert record["state"] == "registered", record
        assert "case" not in record and "triage" not in record, record
        assert get(daemon, record["id"])[1] == 1
    event = events_from(daemon, 1)[0]
    assert event["state"] == "registered", event
    assert not {"category", "severity", "priority", "case_department",
                "emergency"} & set(event), event

    assert_error(act(daemon, "wang.wei", first["id"], "retriage"), 409,
                 "CONFLICT", "action", message="triage/enabled")
    fields = assert_reply(reload(daemon), "RELOADED")
    assert fields.get("rules") is None, fields
    assert "rules" in fields, "RELOADED without rules (nil): %r" % fields

    #  Turned on by a reload: new complaints are triaged, old ones can be
    path = os.path.join(daemon.dir, "rules.yaml")
    write_rules(path, "on-1", BILLING)
    daemon.settings.update({"triage/enabled": "true", "triage/rules": path})
    daemon.write_config()
    version = check_version(assert_reply(reload(daemon), "RELOADED")["rules"],
                            "on-1")
    third = submit(daemon, "on1", "多收了")
    assert third["state"] == "triaged", third
    assert third["triage"]["rules"] == version
    acted = assert_reply(act(daemon, "wang.wei", first["id"], "retriage"),
                         "ACTED")
    assert (acted["previous"], acted["state"]) == ("registered", "triaged")
    assert get(daemon, first["id"])[0]["case"]["category"] == "fees_billing"
    daemon.stop()


# --------------------------------------------------------------------------
#  8. Text that is not UTF-8

def _str_header(size):
    if size < 32:
        return bytes([0xa0 | size])
    if size < 256:
        return bytes([0xd9, size])
    return bytes([0xda, size >> 8, size & 0xff])


def test_invalid_utf8_is_refused_and_triage_goes_on():
    daemon, _ = triage_daemon("utf-1", BILLING)
    placeholder = "@@placeholder@@"
    cases = [("description", b"\xe5\xa4\x9a\xe6\x94\xb6 \xc3\x28"),
             ("description", b"\xe5\xa4"),
             ("demands", b"\xed\xa0\x80"),
             ("subject.location", b"\xff\xfe")]
    for path, raw in cases:
        fields = submit_fields("bad-utf8", description="多收了钱")
        if path == "subject.location":
            fields["subject"] = {"location": placeholder}
        else:
            fields[path] = placeholder
        request_id = next_request_id()
        body = pack(request("SUBMIT", request_id, fields))
        packed = msgpack.packb(placeholder, use_bin_type=True)
        assert body.count(packed) == 1
        body = body.replace(packed, _str_header(len(raw)) + raw)
        reply = daemon.call(body, "intake")
        error = assert_error(reply, 422, "INVALID", path, request_id)
        assert path in error["message"], error
        health = daemon.health()
        assert health["complaints"] == 0, health
    record = submit(daemon, "good-utf8", "收费处多收了我两百元")
    assert record["state"] == "triaged", record
    assert record["case"]["category"] == "fees_billing", record
    daemon.stop()


def test_a_purge_forgets_the_triage_and_the_complainant():
    """A purged complaint keeps nothing of its triage, and its phone and
    email no longer make a later complaint a repeat."""
    daemon, _ = triage_daemon(
        "purge-1", BILLING, **{"archive/after": "1ms", "archive/sweep": "10ms",
                               "archive/purge": "true", "archive/keep": "1ms"})
    person = {"name": "赵敏", "phone": "+86 139 0000 1111",
              "email": "Zhao.Min@example.org", "tier": "vip"}
    record = submit(daemon, "purge-a", "多收了挂号费", complainant=person)
    assert record["state"] == "triaged" and "triage" in record, record
    id = record["id"]
    for action, fields in (("resolve_on_spot", {"text": "已退款"}),
                           ("follow_up", {"satisfaction": 5}),
                           ("close", {"reason": "结案"})):
        assert_reply(act(daemon, "li.na", id, action, **fields), "ACTED")
    purged = wait_for(lambda: [r for r in [get(daemon, id)[0]]
                               if r["state"] == "purged"], 10,
                      "the daemon to purge the complaint")[0]
    for key in ("complainant", "case", "triage", "description"):
        assert key not in purged, "purged record keeps %s: %r" % (key, purged)
    later = submit(daemon, "purge-b", "又多收了", complainant={
        "phone": "13900001111", "email": "zhao.min@example.org"})
    assert "repeats" not in later["triage"], later["triage"]
    assert "repeat_of" not in later["triage"], later["triage"]
    daemon.stop()
