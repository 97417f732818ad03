"""Case handling through the api endpoint: every row of the transition
table, the transitions it forbids, the roles, the guards, scenarios taken
from the trade's manuals (each stopped and restarted half way), the events
of a case and bad ACT input.

The table below is the specification the tests hold the daemon to; it is
checked against what `complaintd --list-actions` prints, so that a change
of the table in cmp_case.c without one here (or the other way round) fails
a test instead of going unnoticed."""

import json
import re
import signal

from harness import (PERSONAL_KEYS, READER, Client, Daemon, Subscriber,
                     assert_error, assert_reply, next_request_id, request,
                     run_daemon, submit_fields, wait_for)

# --------------------------------------------------------------------------
#  The transition table

STATES = ["registered", "triaged", "assigned", "investigating", "waiting",
          "proposed", "approved", "told", "accepted", "rejected", "resolved",
          "resolved_on_spot", "followed_up", "closed", "withdrawn", "merged",
          "referred", "archived", "purged"]
OPEN = frozenset(STATES[:STATES.index("rejected") + 1])
LIVE = frozenset(STATES) - {"archived", "purged"}

#  Where an action leads besides a state
SAME = "(same)"          # the state does not change
ANSWER = "(answer)"      # accepted or rejected
REOPEN = "(reopen)"      # assigned, or registered without a department
CLASSIFIED = "(classified)"  # triaged if classified, else the same

STAFF = ("agent", "supervisor")
SUPERVISOR = ("supervisor",)
DAEMON = "daemon"       # the daemon itself (actor "complaintd", role system)

#  action: (from states, to, roles, required fields, optional fields), in
#  the order of s_actions (the order of the "allowed:" list of a 409)
TABLE = [
    ("triage", {"registered", "triaged"}, "triaged", STAFF,
     "category", "severity priority"),
    ("assign", {"registered", "triaged", "assigned"}, "assigned", STAFF,
     "department", "handler"),
    ("recuse", {"assigned", "investigating", "waiting"}, "assigned", STAFF,
     "reason", ""),
    ("start", {"assigned", "rejected"}, "investigating", STAFF, "", "text"),
    ("request_info", {"investigating"}, "waiting", STAFF, "text", ""),
    ("info_received", {"waiting"}, "investigating", STAFF, "", "text"),
    ("note", LIVE, SAME, STAFF, "text", ""),
    ("contact", LIVE, SAME, STAFF, "direction channel summary", ""),
    ("propose", {"investigating"}, "proposed", STAFF, "text",
     "kind amount currency"),
    ("approve", {"proposed"}, "approved", SUPERVISOR, "", "text"),
    ("reject_proposal", {"proposed"}, "investigating", SUPERVISOR,
     "reason", ""),
    ("tell", {"proposed", "approved"}, "told", STAFF, "", "text channel"),
    ("answer", {"told"}, ANSWER, STAFF, "accepted", "reason"),
    ("resolve", {"accepted"}, "resolved", STAFF, "", "text"),
    ("resolve_on_spot", {"registered", "triaged"}, "resolved_on_spot", STAFF,
     "text", ""),
    ("follow_up", {"resolved", "resolved_on_spot"}, "followed_up", STAFF,
     "satisfaction", "comment"),
    ("close", {"followed_up", "rejected", "referred"}, "closed", STAFF,
     "reason", ""),
    ("reopen", {"resolved", "resolved_on_spot", "followed_up", "closed"},
     REOPEN, STAFF, "reason", ""),
    ("withdraw", OPEN, "withdrawn", STAFF, "reason", ""),
    ("merge", {"registered", "triaged", "assigned", "investigating",
               "waiting"}, "merged", STAFF, "into", "reason"),
    ("refer", {"investigating", "told", "rejected"}, "referred", STAFF,
     "route", "text"),
    ("extend", {"investigating", "waiting"}, SAME, SUPERVISOR, "reason", ""),
    ("reclassify", OPEN, CLASSIFIED, SUPERVISOR, "reason",
     "category subcategory severity impact priority sla"),
    ("retriage", {"registered", "triaged"}, CLASSIFIED, SUPERVISOR, "",
     "reason"),
    ("archive", {"closed", "withdrawn", "merged"}, "archived",
     ("admin", DAEMON), "", "reason"),
    ("purge", {"archived"}, "purged", (DAEMON,), "", "reason"),
]
ACTIONS = [row[0] for row in TABLE]

#  These tests follow the lifecycle by hand, without rules (test_triage
#  covers complaints the rules triage)
#  The case flow alone: no triage, no deadline clocks (test_triage.py and
#  test_deadlines.py test those)
NO_TRIAGE = {"triage/enabled": "false", "sla/enabled": "false"}
ROW = {row[0]: row for row in TABLE}


#  Actions a person may take (the others only the daemon takes); the
#  triage actions are exercised in test_triage, with rules loaded
HUMAN = [row[0] for row in TABLE
         if set(row[3]) - {DAEMON} and row[2] != CLASSIFIED]


def roles_text(roles):
    """How complaintd names roles: "agent, supervisor", "admin, or the
    daemon itself", "the daemon itself"."""
    people = ", ".join(role for role in roles if role != DAEMON)
    if DAEMON not in roles:
        return people
    return people + ", or the daemon itself" if people \
        else "the daemon itself"


def allowed_in(state):
    """The actions the table allows in state, in table order."""
    return [row[0] for row in TABLE if state in row[1]]


#  Actors of every test daemon (harness.ROLES), and one with no role
ROLE_OF = {"gateway": "adapter", "li.na": "agent", "zhang.min": "agent",
           "wang.wei": "supervisor", "chen.jie": "supervisor",
           READER: "auditor", "root.ops": "admin"}
NOBODY = "stranger"
ONE_OF_EACH = {"adapter": "gateway", "agent": "li.na",
               "supervisor": "chen.jie", "auditor": READER,
               "admin": "root.ops", None: NOBODY}

#  A valid example of every action's fields; INTO stands for the number of
#  a complaint to merge into
INTO = object()
EXAMPLE = {
    "triage": {"category": "账单 billing", "severity": "major",
               "priority": "high"},
    "assign": {"department": "财务科", "handler": "zhang.min"},
    "recuse": {"reason": "与投诉人相识 knows the complainant"},
    "start": {"text": "调取通话录音 pulling the call recording"},
    "request_info": {"text": "请提供收据 please send the receipt"},
    "info_received": {"text": "收据已收到 receipt arrived"},
    "note": {"text": "内部备注 internal note"},
    "contact": {"direction": "out", "channel": "phone",
                "summary": "回电说明进展 called back about progress"},
    "propose": {"text": "退款十元 refund 10 yuan", "kind": "refund",
                "amount": 1000, "currency": "CNY"},
    "approve": {"text": "同意 agreed"},
    "reject_proposal": {"reason": "金额不足 not enough"},
    "tell": {"text": "电话告知 told by phone", "channel": "phone"},
    "answer": {"accepted": True},
    "resolve": {"text": "已退款 refunded"},
    "resolve_on_spot": {"text": "当场更正账单 corrected the bill"},
    "follow_up": {"satisfaction": 5, "comment": "满意 satisfied"},
    "close": {"reason": "处理完毕 done"},
    "reopen": {"reason": "投诉人再次来电 called again"},
    "withdraw": {"reason": "投诉人撤回 withdrawn"},
    "merge": {"into": INTO, "reason": "重复投诉 duplicate"},
    "refer": {"route": "mediation", "text": "转人民调解 to mediation"},
    "extend": {"reason": "涉及多个科室 several departments"},
    "reclassify": {"reason": "分错了类 wrong category", "severity": "major"},
    "retriage": {"reason": "规则已更新 rules changed"},
    "archive": {"reason": "保存期满 retention"},
    "purge": {"reason": "保存期满 retention"},
}

#  Where a field given to an action is recorded in the history: a value
#  of the record is named by its place in it; a text that goes only into
#  the history (text, reason, channel, direction, summary, into) keeps its
#  own name and never has an old value
RECORDED_AS = {("triage", "category"): "case.category",
               ("triage", "severity"): "case.severity",
               ("triage", "priority"): "case.priority",
               ("assign", "department"): "case.department",
               ("assign", "handler"): "case.handler",
               ("propose", "text"): "proposal.text",
               ("propose", "kind"): "proposal.kind",
               ("propose", "amount"): "proposal.amount",
               ("propose", "currency"): "proposal.currency",
               ("answer", "accepted"): "answer.accepted",
               ("answer", "reason"): "answer.reason",
               ("resolve", "text"): "case.resolution",
               ("resolve_on_spot", "text"): "case.resolution",
               ("follow_up", "satisfaction"): "follow_up.satisfaction",
               ("follow_up", "comment"): "follow_up.comment",
               ("close", "reason"): "case.reason",
               ("withdraw", "reason"): "case.reason",
               ("refer", "route"): "case.route"}
HISTORY_ONLY = {"text", "reason", "channel", "direction", "summary", "into",
                "ref"}


def recorded_as(action, key):
    return RECORDED_AS.get((action, key), key)


def change_value(value):
    """A value as the history shows it: a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

#  How to reach every state from registered: (actor, action, fields, state)
_ASSIGN = ("li.na", "assign", {"department": "客服部", "handler": "li.na"},
           "assigned")
_START = ("li.na", "start", {}, "investigating")
_PROPOSE = ("li.na", "propose", {"text": "书面道歉 written apology",
                                 "kind": "apology"}, "proposed")
_APPROVE = ("wang.wei", "approve", {}, "approved")
_TELL = ("li.na", "tell", {}, "told")
_ON_SPOT = ("li.na", "resolve_on_spot", {"text": "当场解决 solved"},
            "resolved_on_spot")
_FOLLOW_UP = ("li.na", "follow_up", {"satisfaction": 5}, "followed_up")
_WITHDRAW = ("li.na", "withdraw", {"reason": "撤回"}, "withdrawn")
PATHS = {
    "registered": [],
    "triaged": [("li.na", "triage", {"category": "billing"}, "triaged")],
    "assigned": [_ASSIGN],
    "investigating": [_ASSIGN, _START],
    "waiting": [_ASSIGN, _START,
                ("li.na", "request_info", {"text": "发票?"}, "waiting")],
    "proposed": [_ASSIGN, _START, _PROPOSE],
    "approved": [_ASSIGN, _START, _PROPOSE, _APPROVE],
    "told": [_ASSIGN, _START, _PROPOSE, _APPROVE, _TELL],
    "accepted": [_ASSIGN, _START, _PROPOSE, _APPROVE, _TELL,
                 ("li.na", "answer", {"accepted": True}, "accepted")],
    "rejected": [_ASSIGN, _START, _PROPOSE, _APPROVE, _TELL,
                 ("li.na", "answer", {"accepted": False, "reason": "不够"},
                  "rejected")],
    "resolved": [_ASSIGN, _START, _PROPOSE, _APPROVE, _TELL,
                 ("li.na", "answer", {"accepted": True}, "accepted"),
                 ("li.na", "resolve", {}, "resolved")],
    "resolved_on_spot": [_ON_SPOT],
    "followed_up": [_ON_SPOT, _FOLLOW_UP],
    "closed": [_ON_SPOT, _FOLLOW_UP,
               ("li.na", "close", {"reason": "结案"}, "closed")],
    "withdrawn": [_WITHDRAW],
    "merged": [("li.na", "merge", {"into": INTO}, "merged")],
    "referred": [_ASSIGN, _START,
                 ("li.na", "refer", {"route": "regulator"}, "referred")],
    "archived": [_WITHDRAW, ("root.ops", "archive", {}, "archived")],
}


def actor_for(action, index=0):
    """An actor whose role may take action; alternates between an agent
    and a supervisor (or between the two supervisors) by index."""
    roles = tuple(role for role in ROW[action][3] if role != DAEMON)
    if roles == ("admin",):
        return "root.ops"
    if not roles:
        return None
    if roles == SUPERVISOR:
        return ("wang.wei", "chen.jie")[index % 2]
    return ("li.na", "chen.jie")[index % 2]


def expected_to(action, state, path, fields):
    """Where the table says action leads from state, reached by path."""
    to = ROW[action][2]
    if to == SAME:
        return state
    if to == ANSWER:
        return "accepted" if fields["accepted"] else "rejected"
    if to == REOPEN:
        assigned = any(step[1] == "assign" for step in path)
        return "assigned" if assigned else "registered"
    return to


# --------------------------------------------------------------------------
#  Helpers: ACT, HISTORY, GET

def act_body(target, fields, request_id=None):
    """An ACT request for target (an id, or a number when a str)."""
    fields = dict(fields)
    if target is not None:
        fields["number" if isinstance(target, str) else "id"] = target
    return request("ACT", next_request_id() if request_id is None
                   else request_id, fields)


def act(daemon, actor, target, action, **fields):
    """Send one ACT and return the reply array."""
    body = act_body(target, dict(fields, actor=actor, action=action))
    reply = daemon.call(body, "api")
    assert reply[3] == body[3], "request_id not echoed: %r" % (reply,)
    return reply


def send_all(daemon, bodies):
    """Send every request at once on the api socket, then collect the
    replies; returns them in the order of bodies."""
    client = daemon.client("api")
    for body in bodies:
        client.send(body)
    replies = {}
    for _ in bodies:
        reply = client.recv()
        assert reply[3] not in replies, "two replies to %r" % reply[3]
        replies[reply[3]] = reply
    return [replies[body[3]] for body in bodies]


def resolve(fields, into):
    return {key: (into if value is INTO else value)
            for key, value in fields.items()}


def get(daemon, target, actor=READER):
    """(record, history count) of target, read by actor."""
    key = "number" if isinstance(target, str) else "id"
    request_id = next_request_id()
    reply = daemon.call(request("GET", request_id,
                                {key: target, "actor": actor}), "api")
    fields = assert_reply(reply, "COMPLAINT", request_id)
    return fields["complaint"], fields["history"]


def history(daemon, target, actor=READER, page=7):
    """Every history entry of target, through pages of page entries; the
    entries are numbered 1, 2, ... without a gap."""
    key = "number" if isinstance(target, str) else "id"
    entries = []
    total = None
    while total is None or len(entries) < total:
        request_id = next_request_id()
        reply = daemon.call(request("HISTORY", request_id, {
            key: target, "actor": actor, "from": len(entries) + 1,
            "limit": page}), "api")
        fields = assert_reply(reply, "ENTRIES", request_id)
        assert total in (None, fields["total"]), (total, fields)
        total = fields["total"]
        assert fields["entries"] or len(entries) == total, \
            "HISTORY page empty at %d of %d" % (len(entries), total)
        entries += fields["entries"]
    assert [entry["n"] for entry in entries] == list(range(1, total + 1)), \
        [entry["n"] for entry in entries]
    return entries


#  What the deadlines publish (test_deadlines.py tests them)
DEADLINE_TOPICS = ("complaint.sla.", "complaint.escalated")


def events_of(daemon, id):
    """(events of complaint id but those of its deadlines, all events)
    through REPLAY; the seqs of all events are 1..last without a gap."""
    events, last = daemon.replay_all(page=50)
    assert [event["seq"] for event in events] == list(range(1, last + 1)), \
        "REPLAY seqs have a gap: %r" % [event["seq"] for event in events]
    return [event for event in events if event["id"] == id
            and not event["topic"].startswith(DEADLINE_TOPICS)], events


def entry_summary(entry):
    return (entry["actor"], entry["role"], entry["action"],
            entry.get("previous"), entry["state"], bool(entry.get("refused")))


def check_events_follow_history(daemon, id, secrets=()):
    """Each change in complaint id's history (an entry not refused) has
    one stored event, in order: complaint.created for the submission,
    complaint.state when the state changed, complaint.updated when not;
    a refused entry has none. Each event carries case_department, the
    department the case is assigned to after the change, when it has one.
    No event carries personal data."""
    entries = [entry for entry in history(daemon, id)
               if not entry.get("refused")]
    events, _ = events_of(daemon, id)
    assert len(events) == len(entries), \
        "%d events for %d changes: %r" % (len(events), len(entries), events)
    department = None
    for version, (entry, event) in enumerate(zip(entries, events), 1):
        assert event["at"] == entry["at"], (event, entry)
        assert event["state"] == entry["state"], (event, entry)
        for change in entry.get("changes", []):
            if change["field"] == "case.department":
                department = change.get("new")
        assert event.get("case_department") == department, \
            "case_department %r expected: %r" % (department, event)
        assert not set(event) & PERSONAL_KEYS, "personal data: %r" % event
        text = json.dumps(event, ensure_ascii=False)
        for secret in secrets:
            assert secret not in text, "event carries %r: %r" % (secret,
                                                                 event)
        if version == 1:
            assert event["topic"] == "complaint.created", event
            continue
        topic = ("complaint.state" if entry["previous"] != entry["state"]
                 else "complaint.updated")
        assert event["topic"] == topic, (event, entry)
        assert (event["previous"], event["action"], event["role"],
                event["version"]) == (entry["previous"], entry["action"],
                                      entry["role"], version), (event, entry)
    return events


class Case:
    """One complaint carried through the api, with what the tests expect
    of it: its state, version and history, updated by every ACT."""

    def __init__(self, daemon, fields=None, ref=None):
        self.daemon = daemon
        self.fields = fields or submit_fields(ref or "case-%d"
                                              % next_request_id())
        reply = daemon.submit_ok(self.fields)
        self.id = reply["id"]
        self.number = reply["number"]
        self.state = "registered"
        self.version = 1
        #  (actor, role, action, previous, state, refused)
        self.expected = [("adapter:%s" % self.fields["channel"], "adapter",
                          "submit", None, "registered", False)]

    def act(self, actor, action, to, by_number=False, **fields):
        """ACT, which must be applied and lead to state to; returns the
        ACTED fields."""
        target = self.number if by_number else self.id
        reply = act(self.daemon, actor, target, action, **fields)
        acted = assert_reply(reply, "ACTED")
        steps = 2 if (action == "follow_up" and to != "followed_up") else 1
        assert acted == {"id": self.id, "number": self.number,
                         "previous": self.state, "state": to,
                         "version": self.version + steps}, \
            "%s by %s: expected %s -> %s at version %d, got %r" % (
                action, actor, self.state, to, self.version + steps, reply)
        if steps == 2:
            self.expected.append((actor, ROLE_OF[actor], action, self.state,
                                  "followed_up", False))
            self.expected.append(("complaintd", "system", "reopen",
                                  "followed_up", to, False))
        else:
            self.expected.append((actor, ROLE_OF[actor], action, self.state,
                                  to, False))
        self.state = to
        self.version += steps
        return acted

    def refuse(self, actor, action, status, code, field, message=None,
               **fields):
        """ACT, which must be refused with this ERROR and change nothing
        but (a 403 of an actor with a role, on a complaint not purged) add
        a refused entry; returns the ERROR fields."""
        before, count = get(self.daemon, self.id)
        last = self.daemon.replay()["last"]
        reply = act(self.daemon, actor, self.id, action, **fields)
        error = assert_error(reply, status, code, field, message=message)
        after, count_after = get(self.daemon, self.id)
        assert after == before, "a refused %s changed the record: %r -> %r" \
            % (action, before, after)
        assert self.daemon.replay()["last"] == last, \
            "a refused %s published an event" % action
        if status == 403 and actor in ROLE_OF and self.state != "purged":
            assert count_after == count + 1, \
                "a refused %s was not recorded" % action
            entry = history(self.daemon, self.id)[-1]
            assert entry_summary(entry) == (
                actor, ROLE_OF[actor], action, self.state, self.state,
                True), entry
            assert entry["refused"] == error["message"], (entry, error)
            self.expected.append(entry_summary(entry))
        else:
            assert count_after == count, \
                "a %d for %s by %s was recorded in the history" % (
                    status, action, actor)
        return error

    def check(self):
        """The stored complaint is what the replies acknowledged."""
        record, count = get(self.daemon, self.id)
        assert (record["state"], record["version"]) == (
            self.state, self.version), (record, self.state, self.version)
        entries = history(self.daemon, self.id)
        assert count == len(entries)
        got = [entry_summary(entry) for entry in entries]
        assert got == self.expected, "history:\n%s\nexpected:\n%s" % (
            "\n".join(map(str, got)), "\n".join(map(str, self.expected)))
        return record, entries

    def snapshot(self):
        record, entries = self.check()
        return record, entries, events_of(self.daemon, self.id)[0]


def restart_and_compare(daemon, case, how):
    """Stop the daemon (SIGTERM: "stop", SIGKILL: "kill") after an
    acknowledged ACT, start it again: record, history and events are
    exactly as they were."""
    before = case.snapshot()
    if how == "kill":
        daemon.kill()
    else:
        daemon.stop()
    daemon.start()
    after = case.snapshot()
    assert after == before, "after a restart (%s):\n%r\nbefore:\n%r" % (
        how, after, before)



# --------------------------------------------------------------------------
#  1. The transition table

def _parse_states(text):
    if text == "any but archived and purged":
        return set(LIVE)
    if text == "any open (registered to rejected)":
        return set(OPEN)
    return set(text.split(", "))


def _parse_roles(text):
    """"agent, supervisor", "admin, or the daemon itself" or "the daemon
    itself" as a tuple of roles (DAEMON for the daemon itself)."""
    if text == "the daemon itself":
        return (DAEMON,)
    people, daemon = text, ()
    if text.endswith(", or the daemon itself"):
        people, daemon = text[:-len(", or the daemon itself")], (DAEMON,)
    roles = tuple(people.split(", "))
    assert all(re.fullmatch(r"[a-z]+", role) for role in roles), text
    return roles + daemon


def test_table_is_the_one_complaintd_lists():
    status, out, err = run_daemon("--list-actions")
    assert status == 0, (status, err)
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert rows[0].split("|")[1].strip() == "action", rows[0]
    listed = []
    for line in rows[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert len(cells) == 6, line
        name, from_, to, roles, needs, takes = cells
        if name in ROW:
            assert roles == roles_text(ROW[name][3]), (name, roles)
        to = {"(same)": SAME, "accepted or rejected": ANSWER,
              "assigned (registered without a department)": REOPEN,
              "triaged if classified, else the same": CLASSIFIED}.get(
                  to, to.split(" ")[0])
        roles = _parse_roles(roles)
        listed.append((name, _parse_states(from_), to, roles,
                       "" if needs == "-" else needs,
                       "" if takes == "-" else takes))
    assert listed == [(name, set(from_), to, roles, needs, takes)
                      for name, from_, to, roles, needs, takes in TABLE], \
        "complaintd --list-actions:\n%s" % out
    for state in STATES:
        if state == "purged":
            continue            # only the daemon purges
        assert state in PATHS, state
        path = PATHS[state]
        assert not path or path[-1][3] == state, state


def test_every_transition_of_the_table():
    """For every (action, from state) of the table: a fresh complaint,
    driven to the state, takes the action; the reply, the stored state,
    the new history entry and the event are what the table says."""
    daemon = Daemon(NO_TRIAGE)
    target = daemon.submit_ok(submit_fields("merge-target"))
    rows = []
    for action in HUMAN:
        for state in STATES:
            if state in ROW[action][1]:
                reply = daemon.submit_ok(submit_fields(
                    "row-%s-%s" % (action, state)))
                rows.append({"action": action, "state": state,
                             "id": reply["id"], "number": reply["number"],
                             "path": PATHS[state], "version": 1})
    assert len(rows) == sum(len(ROW[action][1]) for action in HUMAN) == 87, \
        len(rows)

    #  Drive all complaints to their state, one step of each per round
    for step in range(max(len(row["path"]) for row in rows)):
        moving = [row for row in rows if len(row["path"]) > step]
        bodies = []
        for row in moving:
            actor, action, fields, _ = row["path"][step]
            fields = resolve(fields, target["number"])
            bodies.append(act_body(row["id"], dict(
                fields, actor=actor, action=action)))
        for row, reply in zip(moving, send_all(daemon, bodies)):
            to = row["path"][step][3]
            acted = assert_reply(reply, "ACTED")
            assert (acted["state"], acted["version"]) == (
                to, row["version"] + 1), \
                "path to %s, step %d: %r" % (row["state"], step, reply)
            row["version"] += 1

    #  Take every row's action at once
    bodies = []
    for index, row in enumerate(rows):
        row["actor"] = actor_for(row["action"], index)
        row["fields"] = resolve(EXAMPLE[row["action"]], target["number"])
        row["to"] = expected_to(row["action"], row["state"], row["path"],
                                row["fields"])
        bodies.append(act_body(row["id"], dict(
            row["fields"], actor=row["actor"], action=row["action"])))
    for row, reply in zip(rows, send_all(daemon, bodies)):
        what = "%s in %s by %s" % (row["action"], row["state"], row["actor"])
        acted = assert_reply(reply, "ACTED")
        assert acted == {"id": row["id"], "number": row["number"],
                         "previous": row["state"], "state": row["to"],
                         "version": row["version"] + 1}, \
            "%s: expected -> %s at version %d, got %r" % (
                what, row["to"], row["version"] + 1, reply)

    events, _ = daemon.replay_all()
    last_event = {}
    for event in events:
        last_event[event["id"]] = event
    for row in rows:
        what = "%s in %s by %s" % (row["action"], row["state"], row["actor"])
        record, count = get(daemon, row["id"])
        assert (record["state"], record["version"]) == (
            row["to"], row["version"] + 1), (what, record)
        entries = history(daemon, row["id"])
        assert count == len(entries) == len(row["path"]) + 2, (what, entries)
        entry = entries[-1]
        assert entry_summary(entry) == (
            row["actor"], ROLE_OF[row["actor"]], row["action"], row["state"],
            row["to"], False), (what, entry)
        #  The history records what the action was given, and nothing
        #  else but what the action itself sets: a value of the record by
        #  its place in it, with the value it replaced (set by the same
        #  action earlier on the path); a text said only to the history
        #  by its own name, without an old value
        action = row["action"]
        before = {}
        for _, step_action, step_fields, _ in row["path"]:
            if step_action == action:
                before.update({recorded_as(action, key): change_value(value)
                               for key, value in step_fields.items()})
        expected = set()
        for key, value in row["fields"].items():
            field = recorded_as(action, key)
            assert (field == key) == (key in HISTORY_ONLY
                                      and (action, key) not in RECORDED_AS)
            expected.add((field, None if field == key else before.get(field),
                          change_value(value)))
        if action == "approve":
            expected.add(("proposal.approved_by", None, row["actor"]))
        if action == "merge":
            expected.add(("case.merged_into", None, str(target["id"])))
        if action == "extend":
            expected.add(("case.extended", None, "true"))
        if action == "recuse":
            handler = [step[2]["handler"] for step in row["path"]
                       if step[1] == "assign"][-1]
            expected.add(("case.handler", handler, None))
        changes = [(change["field"], change.get("old"), change.get("new"))
                   for change in entry.get("changes", [])]
        assert len(changes) == len(set(changes)) and \
            set(changes) == expected, \
            "%s: history changes %r, expected %r" % (what, changes,
                                                     sorted(expected))
        #  The event names the department the case is assigned to
        department = None
        for _, step_action, step_fields, _ in row["path"]:
            department = step_fields.get("department", department)
        department = row["fields"].get("department", department)
        event = last_event[row["id"]]
        topic = ("complaint.state" if row["to"] != row["state"]
                 else "complaint.updated")
        assert (event["topic"], event["previous"], event["state"],
                event["action"], event["role"], event["version"],
                event.get("case_department")) == (
            topic, row["state"], row["to"], row["action"],
            ROLE_OF[row["actor"]], row["version"] + 1, department), \
            (what, event)
    #  The complaint merged into is untouched
    record, count = get(daemon, target["id"])
    assert (record["state"], record["version"], count) == (
        "registered", 1, 1), record

    #  What only the daemon does, nobody may ask for, whatever the role
    for action in ACTIONS:
        if action in HUMAN or ROW[action][2] == CLASSIFIED:
            continue
        for state in sorted(ROW[action][1]):
            case = Case(daemon, ref="daemon-only-%s-%s" % (action, state))
            for actor, action_, fields, to in PATHS[state]:
                case.act(actor, action_, to, **fields)
            for actor in ONE_OF_EACH.values():
                error = case.refuse(actor, action, 403, "FORBIDDEN",
                                    "actor", **EXAMPLE[action])
                assert error["message"].endswith(
                    "; %s needs the daemon itself" % action), error
            case.check()
    daemon.stop()


#  The states a person can lead a complaint to
REACHABLE = [state for state in STATES if state in PATHS]

_CONFLICT = re.compile(r"^action: complaint (\S+) is (\w+), where (\w+) is "
                       r"not allowed; allowed: (.+)$")


def test_forbidden_transitions_name_the_state_and_the_allowed_actions():
    """Every (action, state) pair the table does not have is refused with
    409 CONFLICT, field "action", naming the state and listing exactly the
    actions the state allows; nothing is stored."""
    daemon = Daemon(NO_TRIAGE)
    target = daemon.submit_ok(submit_fields("merge-target"))
    cases = {}
    for state in REACHABLE:
        reply = daemon.submit_ok(submit_fields("state-%s" % state))
        cases[state] = {"id": reply["id"], "number": reply["number"]}
    for step in range(max(len(path) for path in PATHS.values())):
        moving = [state for state in REACHABLE if len(PATHS[state]) > step]
        bodies = []
        for state in moving:
            actor, action, fields, _ = PATHS[state][step]
            bodies.append(act_body(cases[state]["id"], dict(
                resolve(fields, target["number"]), actor=actor,
                action=action)))
        for state, reply in zip(moving, send_all(daemon, bodies)):
            assert assert_reply(reply, "ACTED")["state"] == \
                PATHS[state][step][3], (state, step, reply)
    last = daemon.replay()["last"]
    before = {state: get(daemon, case["id"])
              for state, case in cases.items()}

    #  (A person asking for what only the daemon does gets a 403 first)
    pairs = [(state, action) for state in REACHABLE for action in HUMAN
             if state not in ROW[action][1]]
    assert len(pairs) == len(REACHABLE) * len(HUMAN) - 87
    #  Those the brief names, among all of them
    for pair in (("investigating", "approve"), ("registered", "resolve"),
                 ("told", "follow_up"), ("investigating", "archive"),
                 ("archived", "note"), ("archived", "contact"),
                 ("archived", "reopen"), ("closed", "close"),
                 ("merged", "merge"), ("waiting", "propose"),
                 ("approved", "approve"), ("accepted", "answer")):
        assert pair in pairs, pair
    bodies = [act_body(cases[state]["id"], dict(
        resolve(EXAMPLE[action], target["number"]),
        actor=actor_for(action, index), action=action))
        for index, (state, action) in enumerate(pairs)]
    for (state, action), reply in zip(pairs, send_all(daemon, bodies)):
        error = assert_error(reply, 409, "CONFLICT", "action")
        match = _CONFLICT.match(error["message"])
        assert match, "%s in %s: message %r" % (action, state,
                                                 error["message"])
        number, named_state, named_action, allowed = match.groups()
        assert (number, named_state, named_action) == (
            cases[state]["number"], state, action), error
        expected = allowed_in(state) or ["none"]
        assert allowed.split(", ") == expected, \
            "%s in %s: allowed %r, the table allows %r" % (
                action, state, allowed, expected)
    #  Nothing was stored
    for state, case in cases.items():
        assert get(daemon, case["id"]) == before[state], state
    assert daemon.replay()["last"] == last
    daemon.stop()


# --------------------------------------------------------------------------
#  2. Permissions

def test_submit_and_read_permissions_of_every_role():
    daemon = Daemon(NO_TRIAGE)
    may_submit = {"adapter", "agent", "supervisor"}
    may_read = {"agent", "supervisor", "auditor", "admin"}
    #  Without an actor, the channel's adapter submits
    plain = Case(daemon, ref="perm-plain")
    plain.check()
    for role, actor in ONE_OF_EACH.items():
        fields = submit_fields("perm-%s" % actor, actor=actor)
        reply = daemon.submit(fields)
        if role in may_submit:
            submitted = assert_reply(reply, "SUBMITTED")
            first = history(daemon, submitted["id"])[0]
            assert (first["actor"], first["role"], first["action"],
                    first["state"]) == (actor, role, "submit",
                                        "registered"), first
        else:
            error = assert_error(reply, 403, "FORBIDDEN", "actor")
            assert actor in error["message"], error
            assert "submit" in error["message"], error
    health = daemon.health()
    assert health["complaints"] == 1 + len(may_submit), health

    for role, actor in ONE_OF_EACH.items():
        reads = [("GET", {"id": plain.id}, "COMPLAINT"),
                 ("GET", {"number": plain.number}, "COMPLAINT"),
                 ("LIST", {}, "COMPLAINTS"),
                 ("HISTORY", {"id": plain.id}, "ENTRIES")]
        for type_, fields, answer in reads:
            request_id = next_request_id()
            reply = daemon.call(request(type_, request_id, dict(
                fields, actor=actor)), "api")
            if role in may_read:
                result = assert_reply(reply, answer, request_id)
                if type_ == "LIST":
                    assert len(result["items"]) == health["complaints"]
            else:
                error = assert_error(reply, 403, "FORBIDDEN", "actor",
                                     request_id)
                assert "reading" in error["message"], error
    #  A read without an actor is refused as invalid, not forbidden
    for type_ in ("GET", "LIST", "HISTORY"):
        request_id = next_request_id()
        reply = daemon.call(request(type_, request_id,
                                    {"id": plain.id, "actor": ""}
                                    if type_ != "LIST" else {"actor": ""}),
                            "api")
        assert_error(reply, 422, "INVALID", "actor", request_id)
    #  Reads leave no trace in the history
    plain.check()
    daemon.stop()


def test_act_permissions_of_every_role_and_refusals_on_record():
    """note (staff), approve and extend (supervisors) and archive (admin)
    by one actor of every role: the others get 403 FORBIDDEN, field
    "actor", recorded in the history as refused with the state and the
    version unchanged when the actor has a role; an actor without one is
    refused alike, but only logged."""
    daemon = Daemon(NO_TRIAGE)
    proposed = Case(daemon, ref="perm-proposed")
    proposed.act("li.na", "assign", "assigned", department="客服部",
                 handler="zhang.min")
    proposed.act("zhang.min", "start", "investigating")
    proposed.act("zhang.min", "propose", "proposed", text="退款",
                 kind="refund", amount=2000, currency="CNY")
    investigating = Case(daemon, ref="perm-investigating")
    investigating.act("chen.jie", "assign", "assigned", department="客服部",
                      handler="li.na")
    investigating.act("li.na", "start", "investigating")
    withdrawn = Case(daemon, ref="perm-withdrawn")
    withdrawn.act("li.na", "withdraw", "withdrawn", reason="撤回")
    registered = Case(daemon, ref="perm-registered")

    checks = [
        (registered, "note", {"text": "备注"}, {"agent", "supervisor"},
         "registered"),
        (registered, "triage", {"category": "服务"}, {"agent", "supervisor"},
         "triaged"),
        (investigating, "extend", {"reason": "复杂"}, {"supervisor"},
         "investigating"),
        (proposed, "approve", {}, {"supervisor"}, "approved"),
        (withdrawn, "archive", {}, {"admin"}, "archived"),
    ]
    for case, action, fields, roles, to in checks:
        #  The refused ones first, then the allowed one(s)
        order = sorted(ONE_OF_EACH.items(),
                       key=lambda item: item[0] in roles)
        done = 0
        for role, actor in order:
            if role in roles:
                #  Every allowed role when the state stays, else the first
                if not done or to == case.state:
                    case.act(actor, action, to, **fields)
                    done += 1
            else:
                error = case.refuse(actor, action, 403, "FORBIDDEN", "actor",
                                    **fields)
                assert error["message"].endswith("%s needs %s" % (
                    action, roles_text(ROW[action][3]))), error
                assert ('"%s"' % actor) in error["message"], error
                if role is None:
                    assert "has no role" in error["message"], error
                else:
                    assert " is %s;" % role in error["message"], error
        assert done, action
    for case in (registered, investigating, proposed, withdrawn):
        case.check()
        check_events_follow_history(daemon, case.id)
    #  The role comes before the version: a forbidden actor with a stale
    #  version gets 403 (recorded when the actor has a role), an allowed
    #  one 412 (never recorded)
    assert registered.version > 1
    registered.refuse(READER, "note", 403, "FORBIDDEN", "actor", text="x",
                      version=1)
    registered.refuse(NOBODY, "note", 403, "FORBIDDEN", "actor", text="x",
                      version=1)
    registered.refuse("li.na", "note", 412, "STALE", "version", text="x",
                      version=1)
    registered.check()
    #  Only the refusals of actors with a role are on record
    refused = [entry for case in (registered, investigating, proposed,
                                  withdrawn)
               for entry in history(daemon, case.id) if entry.get("refused")]
    assert refused and {entry["actor"] for entry in refused} == {
        actor for role, actor in ONE_OF_EACH.items() if role}, refused
    assert ('"%s" has no role' % NOBODY) in daemon.log_text(), \
        "the refusal of %s is not logged" % NOBODY
    daemon.stop()


def test_own_proposal_and_recuse_guards():
    daemon = Daemon(NO_TRIAGE)
    #  A supervisor who proposes may not approve; another supervisor may
    case = Case(daemon, ref="guard-own")
    case.act("wang.wei", "assign", "assigned", department="医务科",
             handler="wang.wei")
    case.act("wang.wei", "start", "investigating")
    case.act("wang.wei", "propose", "proposed", text="赔偿", kind="voucher",
             amount=10000, currency="CNY")
    error = case.refuse("wang.wei", "approve", 403, "FORBIDDEN", "actor",
                        message="wang.wei")
    assert "may not approve" in error["message"], error
    acted = case.act("chen.jie", "approve", "approved", text="同意")
    record, _ = get(daemon, case.id)
    assert record["proposal"]["by"] == "wang.wei", record
    assert record["proposal"]["approved_by"] == "chen.jie", record
    assert acted["version"] == case.version
    case.check()

    #  Only the handler or a supervisor may recuse
    case = Case(daemon, ref="guard-recuse")
    case.act("li.na", "assign", "assigned", department="客服部",
             handler="li.na")
    case.act("li.na", "start", "investigating")
    error = case.refuse("zhang.min", "recuse", 403, "FORBIDDEN", "actor",
                        reason="我来")
    assert '"li.na"' in error["message"], error
    case.act("li.na", "recuse", "assigned", reason="亲属 relative")
    record, _ = get(daemon, case.id)
    assert "handler" not in record["case"], record
    assert record["case"]["department"] == "客服部", record
    #  Without a handler there is nobody to recuse, and nobody to start
    case.refuse("wang.wei", "recuse", 409, "CONFLICT", "action",
                message="no handler", reason="x")
    case.refuse("li.na", "start", 409, "CONFLICT", "action",
                message="no handler")
    case.act("li.na", "assign", "assigned", department="客服部",
             handler="zhang.min")
    case.act("zhang.min", "start", "investigating")
    case.act("wang.wei", "recuse", "assigned", reason="主管调整")
    case.act("chen.jie", "assign", "assigned", department="客服部",
             handler="li.na")
    case.act("li.na", "start", "investigating")
    case.check()
    check_events_follow_history(daemon, case.id)
    daemon.stop()


# --------------------------------------------------------------------------
#  3 and 4. Scenarios, each stopped and restarted half way

def scenario_billing_on_the_spot(daemon, midpoint):
    """A billing error solved at first contact (当场解决)."""
    case = Case(daemon, submit_fields(
        "bill-1", "counter", description="收费单多收了挂号费 charged twice",
        demands="退还多收费用"))
    case.act("li.na", "resolve_on_spot", "resolved_on_spot",
             text="更正收费并当场退还 corrected and refunded at the counter")
    midpoint(case)
    case.act("zhang.min", "follow_up", "followed_up", satisfaction=5,
             comment="很满意")
    case.act("li.na", "close", "closed", reason="当场解决，回访满意")
    case.refuse("li.na", "archive", 403, "FORBIDDEN", "actor")
    case.act("root.ops", "archive", "archived", by_number=True)
    case.refuse("li.na", "note", 409, "CONFLICT", "action",
                message="is archived", text="x")
    record, entries = case.check()
    assert record["case"] == {
        "resolution": "更正收费并当场退还 corrected and refunded at the "
                      "counter",
        "reason": "当场解决，回访满意"}, record
    assert record["follow_up"]["satisfaction"] == 5, record
    assert record["follow_up"]["comment"] == "很满意", record
    assert record["complainant"] == case.fields["complainant"], record
    assert record["demands"] == "退还多收费用", record
    assert [entry["action"] for entry in entries] == [
        "submit", "resolve_on_spot", "follow_up", "close", "archive",
        "archive"], entries
    return case


def scenario_multi_department(daemon, midpoint):
    """A complaint that concerns several departments: triaged major,
    assigned, handed on after a recusal, investigated with a request for
    material and an extension, a refund approved by a supervisor, told,
    accepted, carried out, followed up and closed."""
    case = Case(daemon, submit_fields(
        "multi-1", "phone", subject={"department": "急诊科"},
        description="急诊等候四小时，收费有误，护士态度差",
        complainant={"name": "王芳", "phone": "+86 139 1111 2222",
                     "email": "wang.fang@example.org"}))
    case.act("li.na", "triage", "triaged", category="服务质量",
             severity="major", priority="high")
    case.act("li.na", "assign", "assigned", department="财务科",
             handler="li.na")
    case.act("li.na", "recuse", "assigned", reason="投诉人是亲属 a relative")
    case.act("wang.wei", "assign", "assigned", department="医务科",
             handler="zhang.min")
    case.act("zhang.min", "start", "investigating",
             text="协调急诊科、财务科、护理部")
    case.act("zhang.min", "request_info", "waiting", text="请提供收费单据")
    case.act("zhang.min", "info_received", "investigating",
             text="单据已收到")
    case.act("wang.wei", "extend", "investigating",
             reason="涉及三个科室 three departments")
    case.refuse("chen.jie", "extend", 409, "CONFLICT", "action",
                message="extended already", reason="再延")
    case.act("zhang.min", "contact", "investigating", direction="out",
             channel="phone", summary="告知调查进展")
    case.act("zhang.min", "contact", "investigating", direction="in",
             channel="email", summary="投诉人补充说明")
    case.act("zhang.min", "propose", "proposed",
             text="退还多收费用并赔偿 refund and compensate", kind="refund",
             amount=50000, currency="CNY")
    midpoint(case)
    case.refuse("zhang.min", "tell", 409, "CONFLICT", "action",
                message="approval")
    case.refuse("zhang.min", "approve", 403, "FORBIDDEN", "actor")
    case.act("wang.wei", "approve", "approved", text="同意退款")
    case.act("zhang.min", "tell", "told", text="电话告知处理结果",
             channel="phone")
    case.act("zhang.min", "answer", "accepted", accepted=True)
    case.act("zhang.min", "resolve", "resolved", text="已退款 500 元")
    case.act("li.na", "follow_up", "followed_up", satisfaction=4,
             comment="基本满意")
    case.act("zhang.min", "close", "closed", reason="已处理并回访")
    record, entries = case.check()
    assert record["case"] == {
        "department": "医务科", "handler": "zhang.min",
        "category": "服务质量", "severity": "major", "priority": "high",
        "extended": True, "resolution": "已退款 500 元",
        "reason": "已处理并回访"}, record["case"]
    proposal = dict(record["proposal"])
    at, approved_at = proposal.pop("at"), proposal.pop("approved_at")
    assert at <= approved_at, record["proposal"]
    assert proposal == {
        "text": "退还多收费用并赔偿 refund and compensate", "kind": "refund",
        "amount": 50000, "currency": "CNY", "by": "zhang.min",
        "approved_by": "wang.wei"}, record["proposal"]
    assert record["answer"]["accepted"] is True, record["answer"]
    assert "reason" not in record["answer"], record["answer"]
    assert record["follow_up"]["satisfaction"] == 4, record
    assert record["follow_up"]["comment"] == "基本满意", record
    contacts = [(contact["actor"], contact["direction"], contact["channel"],
                 contact["summary"]) for contact in record["contacts"]]
    assert contacts == [("zhang.min", "out", "phone", "告知调查进展"),
                        ("zhang.min", "in", "email", "投诉人补充说明")], \
        record["contacts"]
    assert all(isinstance(contact["at"], int)
               for contact in record["contacts"])
    assert record["subject"] == {"department": "急诊科"}, record
    #  The changes the history keeps for some entries
    by_action = {}
    for entry in entries:
        by_action.setdefault(entry["action"], []).append(entry)
    def expect_changes(action, expected, index=0):
        """The changes of the index-th applied entry of action."""
        entry = [entry for entry in by_action[action]
                 if not entry.get("refused")][index]
        got = [(change["field"], change.get("old"), change.get("new"))
               for change in entry.get("changes", [])]
        assert got == expected, "%s: %r, expected %r" % (action, got,
                                                         expected)

    expect_changes("triage", [
        ("case.category", None, "服务质量"), ("case.severity", None, "major"),
        ("case.priority", None, "high")])
    expect_changes("recuse", [
        ("case.handler", "li.na", None),
        ("reason", None, "投诉人是亲属 a relative")])
    expect_changes("assign", [
        ("case.department", "财务科", "医务科"),
        ("case.handler", None, "zhang.min")], 1)
    expect_changes("extend", [
        ("case.extended", None, "true"),
        ("reason", None, "涉及三个科室 three departments")])
    expect_changes("contact", [
        ("direction", None, "in"), ("channel", None, "email"),
        ("summary", None, "投诉人补充说明")], 1)
    expect_changes("propose", [
        ("proposal.text", None, "退还多收费用并赔偿 refund and compensate"),
        ("proposal.kind", None, "refund"), ("proposal.amount", None, "50000"),
        ("proposal.currency", None, "CNY")])
    expect_changes("approve", [
        ("proposal.approved_by", None, "wang.wei"), ("text", None, "同意退款")])
    expect_changes("tell", [
        ("text", None, "电话告知处理结果"), ("channel", None, "phone")])
    expect_changes("answer", [("answer.accepted", None, "true")])
    expect_changes("resolve", [("case.resolution", None, "已退款 500 元")])
    expect_changes("follow_up", [
        ("follow_up.satisfaction", None, "4"),
        ("follow_up.comment", None, "基本满意")])
    expect_changes("close", [("case.reason", None, "已处理并回访")])
    return case


def scenario_poor_follow_up(daemon, midpoint):
    """A follow-up with satisfaction 2 reopens the case by itself; it is
    then settled with an apology."""
    case = Case(daemon, submit_fields("poor-1", "web"))
    case.act("li.na", "assign", "assigned", department="门诊部",
             handler="li.na")
    case.act("li.na", "start", "investigating")
    case.act("li.na", "propose", "proposed", text="解释说明")
    case.act("li.na", "tell", "told")
    case.act("li.na", "answer", "accepted", accepted=True)
    case.act("li.na", "resolve", "resolved", text="已解释")
    version = case.version
    acted = case.act("zhang.min", "follow_up", "assigned", satisfaction=2,
                     comment="不满意")
    assert acted["version"] == version + 2
    entries = history(daemon, case.id)
    follow_up, reopen = entries[-2:]
    assert entry_summary(follow_up) == (
        "zhang.min", "agent", "follow_up", "resolved", "followed_up", False)
    assert entry_summary(reopen) == (
        "complaintd", "system", "reopen", "followed_up", "assigned", False)
    assert [(change["field"], change.get("old"), change.get("new"))
            for change in follow_up["changes"]] == [
        ("follow_up.satisfaction", None, "2"),
        ("follow_up.comment", None, "不满意")], follow_up
    reasons = [change["new"] for change in reopen["changes"]
               if change["field"] == "reason" and "old" not in change]
    assert len(reasons) == len(reopen["changes"]) == 1 and \
        "2" in reasons[0] and "3" in reasons[0], reopen
    events = events_of(daemon, case.id)[0]
    first, second = events[-2:]
    assert second["seq"] == first["seq"] + 1, events
    assert (first["topic"], first["previous"], first["state"],
            first["action"], first["role"], first["version"]) == (
        "complaint.state", "resolved", "followed_up", "follow_up", "agent",
        version + 1), first
    assert (second["topic"], second["previous"], second["state"],
            second["action"], second["role"], second["version"]) == (
        "complaint.state", "followed_up", "assigned", "reopen", "system",
        version + 2), second
    record, _ = get(daemon, case.id)
    assert record["follow_up"]["satisfaction"] == 2, record
    assert record["case"]["handler"] == "li.na", record
    midpoint(case)
    case.act("li.na", "start", "investigating", text="重新调查")
    case.act("li.na", "propose", "proposed", text="书面道歉",
             kind="apology")
    #  An apology carries no compensation: tell without approval
    case.act("li.na", "tell", "told", channel="letter")
    case.act("li.na", "answer", "accepted", accepted=True)
    case.act("li.na", "resolve", "resolved", text="已致歉")
    case.act("zhang.min", "follow_up", "followed_up", satisfaction=5)
    case.act("li.na", "close", "closed", reason="致歉后满意")
    record, entries = case.check()
    #  The second round replaced the values of the first: old and new
    proposals = [entry for entry in entries if entry["action"] == "propose"]
    assert [(change["field"], change.get("old"), change.get("new"))
            for change in proposals[1]["changes"]] == [
        ("proposal.text", "解释说明", "书面道歉"),
        ("proposal.kind", None, "apology")], proposals[1]
    follow_ups = [entry for entry in entries
                  if entry["action"] == "follow_up"]
    assert [(change["field"], change.get("old"), change.get("new"))
            for change in follow_ups[1]["changes"]] == [
        ("follow_up.satisfaction", "2", "5"),
        ("follow_up.comment", "不满意", None)], follow_ups[1]
    assert record["follow_up"]["satisfaction"] == 5, record
    assert record["proposal"]["kind"] == "apology", record
    assert "approved_by" not in record["proposal"], record
    return case


def scenario_mediation(daemon, midpoint):
    """The complainant rejects the decision; the case goes to mediation
    (人民调解) and is closed."""
    case = Case(daemon, submit_fields("mediation-1", "letter"))
    case.act("chen.jie", "assign", "assigned", department="外科",
             handler="li.na")
    case.act("li.na", "start", "investigating")
    case.act("li.na", "propose", "proposed", text="赠送复查一次",
             kind="voucher", amount=20000, currency="CNY")
    case.act("chen.jie", "approve", "approved")
    case.act("li.na", "tell", "told", channel="phone")
    case.act("li.na", "answer", "rejected", accepted=False,
             reason="要求赔偿医疗费 wants the costs paid")
    midpoint(case)
    case.act("li.na", "refer", "referred", route="mediation",
             text="转医疗纠纷人民调解委员会")
    case.act("li.na", "close", "closed", reason="已转调解")
    record, _ = case.check()
    assert record["answer"]["accepted"] is False, record
    assert record["answer"]["reason"] == "要求赔偿医疗费 wants the costs " \
                                         "paid", record
    assert record["case"]["route"] == "mediation", record
    assert record["case"]["reason"] == "已转调解", record
    return case


def _run_scenario(scenario, how):
    daemon = Daemon(NO_TRIAGE)
    stopped = []

    def midpoint(case):
        restart_and_compare(daemon, case, how)
        stopped.append(case.state)

    case = scenario(daemon, midpoint)
    assert len(stopped) == 1
    complainant = case.fields["complainant"]
    check_events_follow_history(daemon, case.id, [
        value for key, value in complainant.items()
        if key in ("name", "phone", "email")])
    daemon.stop()


def test_billing_error_solved_on_the_spot_across_a_restart():
    _run_scenario(scenario_billing_on_the_spot, "stop")


def test_multi_department_complaint_across_a_kill():
    _run_scenario(scenario_multi_department, "kill")


def test_poor_follow_up_reopens_across_a_restart():
    _run_scenario(scenario_poor_follow_up, "stop")


def test_referred_to_mediation_across_a_kill():
    _run_scenario(scenario_mediation, "kill")


def test_stale_update_refused_and_no_lost_update():
    daemon = Daemon(NO_TRIAGE)
    case = Case(daemon, ref="stale-1")
    case.act("li.na", "triage", "triaged", category="环境")
    #  Two agents read the same version
    seen_by_li, _ = get(daemon, case.id, actor="li.na")
    seen_by_zhang, _ = get(daemon, case.id, actor="zhang.min")
    version = seen_by_li["version"]
    assert seen_by_zhang["version"] == version == 2
    case.act("li.na", "assign", "assigned", department="后勤科",
             handler="li.na", version=version)
    record, count = get(daemon, case.id)
    last = daemon.replay()["last"]
    reply = act(daemon, "zhang.min", case.id, "assign", version=version,
                department="保卫科", handler="zhang.min")
    error = assert_error(reply, 412, "STALE", "version")
    assert case.number in error["message"], error
    assert ("version %d" % (version + 1)) in error["message"], error
    assert ("version %d" % version) in error["message"], error
    assert get(daemon, case.id) == (record, count)
    assert record["case"]["department"] == "后勤科", record
    assert daemon.replay()["last"] == last
    case.check()

    #  Two ACTs without a version, sent at once on two sockets: both apply
    clients = [Client(daemon.api), Client(daemon.api)]
    try:
        bodies = [act_body(case.id, {"actor": actor, "action": "note",
                                     "text": "同时 %s" % actor})
                  for actor in ("li.na", "zhang.min")]
        for client, body in zip(clients, bodies):
            client.send(body)
        replies = [client.recv() for client in clients]
        versions = sorted(assert_reply(reply, "ACTED")["version"]
                          for reply in replies)
        assert versions == [case.version + 1, case.version + 2], replies
        record, count = get(daemon, case.id)
        assert record["version"] == case.version + 2, record
        entries = history(daemon, case.id)[-2:]
        assert sorted((entry["actor"], entry["changes"][0]["new"])
                      for entry in entries) == [
            ("li.na", "同时 li.na"), ("zhang.min", "同时 zhang.min")], entries
        case.version += 2
        case.expected += [entry_summary(entry) for entry in entries]

        #  Two ACTs with the same version at once: one applies, one is
        #  stale
        bodies = [act_body(case.id, {"actor": actor, "action": "note",
                                     "text": "抢 %s" % actor,
                                     "version": case.version})
                  for actor in ("li.na", "zhang.min")]
        for client, body in zip(clients, bodies):
            client.send(body)
        replies = [client.recv() for client in clients]
        kinds = sorted(reply[2] for reply in replies)
        assert kinds == ["ACTED", "ERROR"], replies
        for reply in replies:
            if reply[2] == "ERROR":
                assert_error(reply, 412, "STALE", "version")
            else:
                assert reply[4]["version"] == case.version + 1, reply
                winner = [body for body in bodies if body[3] == reply[3]][0]
        case.version += 1
        entry = history(daemon, case.id)[-1]
        assert entry["changes"][0]["new"] == winner[4]["text"], entry
        case.expected.append(entry_summary(entry))
    finally:
        for client in clients:
            client.close()
    case.check()
    check_events_follow_history(daemon, case.id)
    daemon.stop()


def test_merge_a_duplicate():
    daemon = Daemon(NO_TRIAGE)
    original = Case(daemon, ref="dup-original")
    duplicate = Case(daemon, ref="dup-copy")
    other = Case(daemon, ref="dup-other")
    original.act("li.na", "assign", "assigned", department="药剂科",
                 handler="li.na")
    acted = duplicate.act("zhang.min", "merge", "merged",
                          into=original.number, reason="同一投诉人重复来电")
    assert acted["number"] == duplicate.number
    record, _ = get(daemon, duplicate.id)
    assert record["case"]["merged_into"] == original.id, record
    entry = history(daemon, duplicate.id)[-1]
    assert [(change["field"], change.get("old"), change.get("new"))
            for change in entry["changes"]] == [
        ("case.merged_into", None, str(original.id)),
        ("into", None, original.number),
        ("reason", None, "同一投诉人重复来电")], entry
    #  Into itself, into a missing number, into a merged one: refused
    error = original.refuse("li.na", "merge", 409, "CONFLICT", "into",
                            into=original.number)
    assert "itself" in error["message"], error
    error = original.refuse("li.na", "merge", 404, "NOT_FOUND", "into",
                            into="20000101-999999")
    assert "20000101-999999" in error["message"], error
    error = other.refuse("li.na", "merge", 409, "CONFLICT", "into",
                         into=duplicate.number)
    assert "merged" in error["message"], error
    #  A merged complaint is taken no further but to the archive
    duplicate.refuse("li.na", "merge", 409, "CONFLICT", "action",
                     into=other.number)
    duplicate.act("root.ops", "archive", "archived", by_number=True)
    error = other.refuse("li.na", "merge", 409, "CONFLICT", "into",
                         into=duplicate.number)
    assert "archived" in error["message"], error
    for case in (original, duplicate, other):
        case.check()
        check_events_follow_history(daemon, case.id)
    daemon.stop()


# --------------------------------------------------------------------------
#  5. Events, live

def test_events_of_a_case_live_and_replayed():
    """A worker subscribed to complaint. gets every change of a case in
    order: complaint.state for each transition, complaint.updated for the
    rest; the same as REPLAY; without personal data."""
    daemon = Daemon(NO_TRIAGE)
    subscriber = Subscriber(daemon, b"complaint.")
    try:
        base = subscriber.wait_live(daemon)["seq"]
        case = scenario_multi_department(daemon, lambda case: None)
        replayed, _ = events_of(daemon, case.id)
        last = daemon.replay()["last"]
        live = []
        while not live or live[-1][1][4]["seq"] < last:
            received = subscriber.recv()
            assert received is not None, \
                "no event after seq %r" % (live[-1][1][4]["seq"]
                                           if live else base)
            live.append(received)
        assert [body[4]["seq"] for _, body, _ in live] == list(
            range(base + 1, last + 1)), [body[4]["seq"] for _, body, _ in live]
        for topic, body, _ in live:
            assert body[:4] == ["CMP", 1, "EVENT", 0], body
            assert topic == body[4]["topic"], (topic, body)
        mine = [body[4] for _, body, _ in live if body[4]["id"] == case.id]
        assert mine == replayed, (mine, replayed)
        secrets = [value.encode("utf-8") for key, value
                   in case.fields["complainant"].items()
                   if key in ("name", "phone", "email")]
        assert len(secrets) == 3
        for _, _, raw in live:
            for secret in secrets:
                assert secret not in raw, "event carries %r" % secret
        events = check_events_follow_history(
            daemon, case.id, [secret.decode("utf-8") for secret in secrets])
        topics = [(event["action"], event["topic"]) for event in events[1:]]
        updated = {action for action, topic in topics
                   if topic == "complaint.updated"}
        #  recuse and the reassignment leave the case assigned: updated
        assert updated == {"recuse", "assign", "extend", "contact"}, topics
        assert topics[:3] == [("triage", "complaint.state"),
                              ("assign", "complaint.state"),
                              ("recuse", "complaint.updated")], topics
        assert len(mine) == 1 + len([entry for entry in case.expected[1:]
                                     if not entry[5]])
    finally:
        subscriber.close()
    daemon.stop()


# --------------------------------------------------------------------------
#  6. Bad input

def test_bad_act_input_gets_a_clear_422():
    daemon = Daemon(NO_TRIAGE)
    case = Case(daemon, ref="bad-1")
    case.act("li.na", "assign", "assigned", department="客服部",
             handler="li.na")
    case.act("li.na", "start", "investigating")
    base = {"actor": "li.na", "id": case.id}
    bad = [
        ({"action": "fly"}, "action", "not an action"),
        ({"action": ""}, "action", "required"),
        ({"actor": None, "action": "note", "text": "x"}, "actor",
         "required"),
        ({"actor": "", "action": "note", "text": "x"}, "actor", "required"),
        ({"number": case.number, "action": "note", "text": "x"}, "id",
         "exactly one"),
        ({"id": None, "action": "note", "text": "x"}, "id", "exactly one"),
        ({"id": 0, "action": "note", "text": "x"}, "id", "1 or more"),
        ({"action": "assign", "department": "d", "satisfaction": 3},
         "satisfaction", "not used by action assign"),
        ({"action": "note", "text": "x", "route": "court"}, "route",
         "not used by action note"),
        ({"action": "assign"}, "department", "required by action assign"),
        ({"action": "note"}, "text", "required by action note"),
        ({"action": "note", "text": ""}, "text", "required"),
        ({"action": "refer"}, "route", "required"),
        ({"action": "answer"}, "accepted", "required"),
        ({"action": "follow_up", "satisfaction": 0}, "satisfaction",
         "out of range"),
        ({"action": "follow_up", "satisfaction": 6}, "satisfaction",
         "out of range"),
        ({"action": "follow_up", "satisfaction": "5"}, "satisfaction",
         "integer"),
        ({"action": "triage", "category": "c", "severity": "huge"},
         "severity", "not one of"),
        ({"action": "triage", "category": "c", "priority": "asap"},
         "priority", "not one of"),
        ({"action": "contact", "direction": "sideways", "channel": "phone",
          "summary": "s"}, "direction", "not one of"),
        ({"action": "contact", "direction": "in", "channel": "fax",
          "summary": "s"}, "channel", "not one of"),
        ({"action": "refer", "route": "police"}, "route", "not one of"),
        ({"action": "propose", "text": "t", "kind": "cash"}, "kind",
         "not one of"),
        ({"action": "propose", "text": "t", "kind": "refund",
          "amount": 100, "currency": "cny"}, "currency", "ISO 4217"),
        ({"action": "propose", "text": "t", "kind": "refund",
          "amount": 100, "currency": "RMB1"}, "currency", "ISO 4217"),
        ({"action": "propose", "text": "t", "kind": "refund",
          "amount": 100}, "currency", "required with an amount"),
        ({"action": "propose", "text": "t", "kind": "refund",
          "currency": "CNY"}, "amount", "required with a currency"),
        ({"action": "propose", "text": "t", "amount": 100,
          "currency": "CNY"}, "kind", "required with an amount"),
        ({"action": "propose", "text": "t", "kind": "apology",
          "amount": 100, "currency": "CNY"}, "amount", "apology"),
        ({"action": "propose", "text": "t", "kind": "refund",
          "amount": -1, "currency": "CNY"}, "amount", "negative"),
        ({"action": "answer", "accepted": False}, "reason",
         "accepted is false"),
        ({"action": "answer", "accepted": "yes"}, "accepted", "boolean"),
        ({"action": "triage", "category": "类" * 67}, "category",
         "limits/text"),
        ({"action": "assign", "department": "d" * 201}, "department",
         "limits/text"),
        ({"action": "note", "text": "x" * 4097}, "text", "limits/note"),
        ({"action": "contact", "direction": "in", "channel": "phone",
          "summary": "说" * 1366}, "summary", "limits/note"),
        ({"action": "note", "text": "x", "version": 0}, "version",
         "1 or more"),
        ({"action": "note", "text": "x", "colour": "red"}, "colour",
         "unknown"),
    ]
    bodies = []
    for fields, _, _ in bad:
        fields = dict(base, **fields)
        fields = {key: value for key, value in fields.items()
                  if value is not None}
        bodies.append(act_body(None, fields))
    bodies.append(request("HEALTH", next_request_id()))
    replies = send_all(daemon, bodies)
    for (fields, field, text), body, reply in zip(bad, bodies, replies):
        error = assert_error(reply, 422, "INVALID", field, body[3], text)
        assert error["message"].startswith(field + ":"), \
            "%r: the message should start with the field: %r" % (
                fields, error["message"])
    assert_reply(replies[-1], "STATUS", bodies[-1][3])
    #  Limits are inclusive
    case.act("li.na", "note", "investigating", text="x" * 4096)
    case.act("li.na", "note", "investigating", text="记" * 1365)
    #  A complaint that is not there
    reply = act(daemon, "li.na", 999, "note", text="x")
    assert_error(reply, 404, "NOT_FOUND", "id", message="999")
    reply = act(daemon, "li.na", "20000101-000001", "note", text="x")
    assert_error(reply, 404, "NOT_FOUND", "number",
                 message="20000101-000001")
    #  Still serving, and nothing of the bad requests was stored
    case.act("li.na", "request_info", "waiting", text="请补充材料")
    case.check()
    assert daemon.health()["complaints"] == 1
    daemon.stop()


# --------------------------------------------------------------------------
#  What the daemon does by itself: archive and purge

_SWEEPING = {"archive/after": "1ms", "archive/sweep": "10ms",
             "archive/purge": "true", "archive/keep": "1ms"}


def test_the_daemon_archives_and_purges_by_itself():
    """archive (after archive/after) and purge (after archive/keep, with
    archive/purge on) are taken by the daemon: actor complaintd, role
    system; a purge leaves only what identifies the complaint."""
    daemon = Daemon(dict(_SWEEPING, **NO_TRIAGE))
    case = Case(daemon, submit_fields(
        "sweep-1", "email", description="秘密 secret description",
        complainant={"name": "赵敏", "email": "zhao.min@example.org"}))
    case.act("li.na", "resolve_on_spot", "resolved_on_spot", text="已解决")
    case.act("li.na", "note", "resolved_on_spot", text="秘密备注 secret note")
    case.act("li.na", "follow_up", "followed_up", satisfaction=4)
    case.act("li.na", "close", "closed", reason="结案")
    record = wait_for(lambda: [record for record in [get(daemon, case.id)[0]]
                               if record["state"] == "purged"], 10,
                      "the daemon to archive and purge the complaint")[0]
    assert (record["id"], record["number"], record["version"]) == (
        case.id, case.number, case.version + 2), record
    for key in ("complainant", "description", "case", "follow_up",
                "contacts", "proposal"):
        assert key not in record, "purged record keeps %s: %r" % (key,
                                                                  record)
    text = json.dumps(history(daemon, case.id), ensure_ascii=False)
    for secret in ("赵敏", "zhao.min@example.org", "secret note",
                   "secret description"):
        assert secret not in text, "purged history keeps %r" % secret
    events = events_of(daemon, case.id)[0]
    assert [(event["topic"], event["previous"], event["state"],
             event["action"], event["role"], event["version"])
            for event in events[-3:]] == [
        ("complaint.state", "followed_up", "closed", "close", "agent",
         case.version),
        ("complaint.state", "closed", "archived", "archive", "system",
         case.version + 1),
        ("complaint.purged", "archived", "purged", "purge", "system",
         case.version + 2)], events
    #  Nothing more happens to a purged complaint, and nothing is
    #  recorded of what is refused on it, a 403 included
    last = daemon.replay()["last"]
    case.state, case.version, case.expected = "purged", case.version + 2, []
    error = case.refuse("li.na", "note", 409, "CONFLICT", "action", text="x")
    assert error["message"].endswith("is purged, where note is not "
                                     "allowed; allowed: none"), error
    for actor, action, fields in ((READER, "note", {"text": "x"}),
                                  ("chen.jie", "purge", {}),
                                  ("root.ops", "note", {"text": "x"})):
        case.refuse(actor, action, 403, "FORBIDDEN", "actor", **fields)
    assert get(daemon, case.id)[1] == 0 and history(daemon, case.id) == []
    assert daemon.replay()["last"] == last
    case.check()
    #  Nobody may speak as the daemon
    for reply in (act(daemon, "complaintd", case.id, "note", text="x"),
                  daemon.submit(submit_fields("as-daemon",
                                              actor="complaintd")),
                  daemon.call(request("GET", next_request_id(), {
                      "actor": "complaintd", "id": case.id}), "api")):
        assert_error(reply, 403, "FORBIDDEN", "actor",
                     message="the daemon itself")
    daemon.stop()


# --------------------------------------------------------------------------
#  Defects found while writing these tests: each test holds the daemon to
#  the right behaviour (see the report that came with this file)

def test_merge_into_a_purged_complaint_is_refused():
    """A purged complaint is no longer handled (only its number is left):
    merging a duplicate into it is refused like merging into an archived
    one."""
    daemon = Daemon(dict(_SWEEPING, **NO_TRIAGE))
    gone = Case(daemon, ref="purged-target")
    gone.act("li.na", "withdraw", "withdrawn", reason="撤回")
    wait_for(lambda: get(daemon, gone.id)[0]["state"] == "purged", 10,
             "the daemon to purge the complaint")
    duplicate = Case(daemon, ref="purged-duplicate")
    duplicate.refuse("li.na", "merge", 409, "CONFLICT", "into",
                     message="purged", into=gone.number)
    daemon.stop()


def test_enum_fields_take_exactly_one_of_their_words():
    """severity, priority, direction, channel, kind and route take one of
    their listed words, not several."""
    daemon = Daemon(NO_TRIAGE)
    case = Case(daemon, ref="enum-words")
    case.act("li.na", "assign", "assigned", department="客服部",
             handler="li.na")
    case.act("li.na", "start", "investigating")
    bad = [
        ({"action": "contact", "direction": "in out", "channel": "phone",
          "summary": "s"}, "direction"),
        ({"action": "contact", "direction": "in", "channel": "phone email",
          "summary": "s"}, "channel"),
        ({"action": "refer", "route": "mediation court"}, "route"),
        ({"action": "propose", "text": "t", "kind": "refund voucher"},
         "kind"),
    ]
    for fields, field in bad:
        reply = act(daemon, "li.na", case.id, **fields)
        assert_error(reply, 422, "INVALID", field, message="not one of")
    other = Case(daemon, ref="enum-words-triage")
    for fields, field in (({"severity": "critical major"}, "severity"),
                          ({"priority": "high normal"}, "priority")):
        reply = act(daemon, "li.na", other.id, "triage", category="c",
                    **fields)
        assert_error(reply, 422, "INVALID", field, message="not one of")
    case.check()
    other.check()
    daemon.stop()


def test_an_empty_severity_or_priority_does_not_wipe_the_stored_one():
    """An empty string counts as absent everywhere else in an ACT; in a
    triage too: an empty severity or priority is not given, and the
    stored one stays (never replaced with "", a value outside their
    lists)."""
    daemon = Daemon(NO_TRIAGE)
    case = Case(daemon, ref="enum-empty")
    case.act("li.na", "triage", "triaged", category="c", severity="major",
             priority="high")
    for index, key in enumerate(("severity", "priority")):
        category = "c%d" % index
        case.act("li.na", "triage", "triaged", category=category,
                 **{key: ""})
        entry = history(daemon, case.id)[-1]
        assert [(change["field"], change.get("old"), change.get("new"))
                for change in entry["changes"]] == [
            ("case.category", "c" if index == 0 else "c0", category)], entry
    stored = get(daemon, case.id)[0]["case"]
    assert (stored.get("severity"), stored.get("priority")) == (
        "major", "high"), stored
    #  Both empty at once, and an empty category is still no category
    case.act("li.na", "triage", "triaged", category="c2", severity="",
             priority="")
    case.refuse("li.na", "triage", 422, "INVALID", "category",
                message="required", category="", severity="minor")
    stored = get(daemon, case.id)[0]["case"]
    assert (stored["category"], stored.get("severity"),
            stored.get("priority")) == ("c2", "major", "high"), stored
    case.check()
    daemon.stop()


def test_control_characters_are_refused_in_act_strings():
    """Control characters are refused in every string of an ACT with a
    422 that names the field and says which character, where (in bytes,
    from 0); tab, line feed and carriage return are allowed in the long
    texts (text, reason, summary, comment), and only there. The checks
    come before the state's: the actions need not be allowed."""
    daemon = Daemon(NO_TRIAGE)
    case = Case(daemon, ref="control")
    case.act("li.na", "assign", "assigned", department="客服部",
             handler="li.na")
    case.act("li.na", "start", "investigating")
    target = Case(daemon, ref="control-target")
    refused = [
        ({"action": "note", "text": "a\x01b"}, "text", 0x01, 1),
        ({"action": "note", "text": "x\x7f"}, "text", 0x7f, 1),
        ({"action": "triage", "category": "a\x1bb"}, "category", 0x1b, 1),
        ({"action": "triage", "category": "c", "severity": "major\t"},
         "severity", 0x09, 5),
        ({"action": "triage", "category": "c", "priority": "\nhigh"},
         "priority", 0x0a, 0),
        ({"action": "assign", "department": "客服\r部", "handler": "li.na"},
         "department", 0x0d, 6),
        ({"action": "assign", "department": "d", "handler": "li\tna"},
         "handler", 0x09, 2),
        ({"action": "merge", "into": target.number + "\n"}, "into", 0x0a,
         len(target.number)),
        ({"action": "contact", "direction": "in", "channel": "phone",
          "summary": "s\x07"}, "summary", 0x07, 1),
        ({"action": "refer", "route": "court\x0b"}, "route", 0x0b, 5),
        ({"action": "propose", "text": "t", "kind": "refund", "amount": 1,
          "currency": "CN\x01"}, "currency", 0x01, 2),
        ({"action": "withdraw", "reason": "r\x1f"}, "reason", 0x1f, 1),
        ({"action": "follow_up", "satisfaction": 5, "comment": "c\x02"},
         "comment", 0x02, 1),
    ]
    for fields, field, code, at in refused:
        fields = dict(fields)
        error = case.refuse("li.na", fields.pop("action"), 422, "INVALID",
                            field, **fields)
        assert error["message"] == "%s: control character 0x%02x at byte " \
            "%d" % (field, code, at), error
    #  The actor too, even one without a role
    for actor in ("li.na\x01", "\x1b[31mroot"):
        case.refuse(actor, "note", 422, "INVALID", "actor", text="x")
    #  Tab, line feed and carriage return in the long texts
    text = "第一行\r\n\t第二行"
    case.act("li.na", "note", "investigating", text=text)
    case.act("li.na", "contact", "investigating", direction="out",
             channel="phone", summary=text)
    case.act("wang.wei", "extend", "investigating", reason=text)
    record, entries = case.check()
    assert record["contacts"][-1]["summary"] == text, record
    assert [change["new"] for entry in entries[-3:]
            for change in entry["changes"]
            if change["field"] in ("text", "summary", "reason")] == [text] * 3
    other = Case(daemon, ref="control-lines")
    other.act("li.na", "resolve_on_spot", "resolved_on_spot", text=text)
    other.act("li.na", "follow_up", "followed_up", satisfaction=4,
              comment=text)
    other.act("li.na", "close", "closed", reason=text)
    record, _ = other.check()
    assert (record["case"]["resolution"], record["case"]["reason"],
            record["follow_up"]["comment"]) == (text, text, text), record
    target.check()
    daemon.stop()


# --------------------------------------------------------------------------
#  Merge targets, and the old values in the history

#  The states of a complaint that another may be merged into
HANDLED = ["registered", "triaged", "assigned", "investigating", "waiting",
           "proposed", "approved", "told", "accepted", "rejected",
           "resolved", "resolved_on_spot", "followed_up", "referred"]


def test_merge_only_into_a_case_still_handled():
    """merge takes a target that is still handled, in any of the HANDLED
    states; a closed, withdrawn, merged or archived one (purged: see
    test_merge_into_a_purged_complaint_is_refused) gets 409 CONFLICT,
    field "into", naming its state."""
    daemon = Daemon(NO_TRIAGE)
    base = Case(daemon, ref="merge-base")
    targets = {}
    for state in REACHABLE:
        target = Case(daemon, ref="merge-target-%s" % state)
        for actor, action, fields, to in PATHS[state]:
            target.act(actor, action, to, **resolve(fields, base.number))
        assert target.state == state
        targets[state] = target
    assert set(HANDLED) | {"closed", "withdrawn", "merged", "archived"} \
        == set(REACHABLE)
    for state, target in targets.items():
        duplicate = Case(daemon, ref="merge-duplicate-%s" % state)
        duplicate.act("li.na", "triage", "triaged", category="重复")
        if state in HANDLED:
            duplicate.act("li.na", "merge", "merged", into=target.number,
                          reason="重复 %s" % state)
            record, _ = get(daemon, duplicate.id)
            assert record["case"]["merged_into"] == target.id, record
        else:
            error = duplicate.refuse("li.na", "merge", 409, "CONFLICT",
                                     "into", into=target.number)
            assert error["message"].startswith(
                "into: complaint %s is %s;" % (target.number, state)), error
        duplicate.check()
        #  The target is not changed by what is merged into it
        target.check()
    daemon.stop()


def test_history_shows_the_value_a_change_replaced():
    """A value of the record given again shows the one it replaced as old
    (answer.accepted, proposal.amount and .currency, answer.reason), and
    a value removed shows only old."""
    daemon = Daemon(NO_TRIAGE)
    case = Case(daemon, ref="old-values")
    case.act("li.na", "assign", "assigned", department="客服部",
             handler="li.na")
    case.act("li.na", "start", "investigating")
    case.act("li.na", "propose", "proposed", text="退款", kind="refund",
             amount=1000, currency="CNY")
    case.act("chen.jie", "approve", "approved")
    case.act("li.na", "tell", "told")
    case.act("li.na", "answer", "rejected", accepted=False, reason="不够")
    case.act("li.na", "start", "investigating", text="再查")
    case.act("li.na", "propose", "proposed", text="道歉", kind="apology")
    case.act("li.na", "tell", "told", channel="letter")
    case.act("li.na", "answer", "accepted", accepted=True)
    case.act("li.na", "resolve", "resolved")
    _, entries = case.check()
    changes = {}
    for entry in entries:
        changes.setdefault(entry["action"], []).append(
            [(change["field"], change.get("old"), change.get("new"))
             for change in entry.get("changes", [])])
    assert changes["propose"] == [
        [("proposal.text", None, "退款"), ("proposal.kind", None, "refund"),
         ("proposal.amount", None, "1000"),
         ("proposal.currency", None, "CNY")],
        [("proposal.text", "退款", "道歉"),
         ("proposal.kind", "refund", "apology"),
         ("proposal.amount", "1000", None),
         ("proposal.currency", "CNY", None)]], changes["propose"]
    assert changes["answer"] == [
        [("answer.accepted", None, "false"), ("answer.reason", None, "不够")],
        [("answer.accepted", "false", "true"),
         ("answer.reason", "不够", None)]], changes["answer"]
    assert changes["approve"] == [
        [("proposal.approved_by", None, "chen.jie")]], changes["approve"]
    assert changes["resolve"] == [[]], changes["resolve"]
    record, _ = get(daemon, case.id)
    assert "amount" not in record["proposal"] and \
        "approved_by" not in record["proposal"], record
    assert record["answer"]["accepted"] is True and \
        "reason" not in record["answer"], record
    daemon.stop()


def test_reload_changes_roles_and_refuses_an_actor_in_two():
    """SIGHUP applies a new role table to the requests after it; a table
    that gives one actor two roles is refused and the running one stays."""
    import signal
    daemon = Daemon(NO_TRIAGE)
    number = daemon.submit_ok(submit_fields("reload-roles"))["number"]

    def note(actor):
        return daemon.call(request("ACT", next_request_id(), {
            "actor": actor, "number": number, "action": "note",
            "text": "after the reload"}), "api")

    def reload(expect):
        mark = daemon.log_size()
        daemon.signal(signal.SIGHUP)
        daemon.wait_log(expect, mark)

    assert_error(note("newcomer"), 403, "FORBIDDEN", "actor",
                 message="has no role")
    daemon.settings["roles/agent"] = "li.na,zhang.min,newcomer"
    daemon.write_config()
    reload(r"configuration reloaded")
    assert_reply(note("newcomer"), "ACTED")

    #  newcomer as agent and auditor: refused, newcomer stays an agent
    daemon.settings["roles/auditor"] = READER + ",newcomer"
    daemon.write_config()
    reload(r"reload refused")
    assert '"newcomer" is also in roles/agent' in daemon.log_text(), \
        daemon.log_text()
    assert_reply(note("newcomer"), "ACTED")

    #  Taken away again: refused, and recorded no more (no role)
    daemon.settings["roles/auditor"] = READER
    daemon.settings["roles/agent"] = "li.na,zhang.min"
    daemon.write_config()
    reload(r"configuration reloaded")
    assert_error(note("newcomer"), 403, "FORBIDDEN", "actor",
                 message="has no role")
    reply = daemon.call(request("GET", next_request_id(),
                                {"number": number}), "api")
    assert assert_reply(reply, "COMPLAINT")["history"] == 3  # submit, 2 notes
    daemon.stop()


def test_long_filter_values_are_compared_on_their_first_200_bytes():
    """LIST and COUNT take filter values of any length up to the request
    limit; the index compares the first 200 bytes (PROTOCOL.md, LIST)."""
    daemon = Daemon(NO_TRIAGE)
    number = daemon.submit_ok(submit_fields("long-filter"))["number"]
    department = "科" * 66 + "xy"          # 200 bytes in UTF-8
    reply = daemon.call(request("ACT", next_request_id(), {
        "actor": "li.na", "number": number, "action": "assign",
        "department": department}), "api")
    assert_reply(reply, "ACTED")
    for value, found in ((department, 1), (department + "z" * 300, 1),
                         (department[:-1], 0), ("d" * 60000, 0)):
        for field in ("department", "handler", "category"):
            fields = {field: value}
            listed = assert_reply(daemon.call(request(
                "LIST", next_request_id(), fields), "api"), "COMPLAINTS")
            counted = assert_reply(daemon.call(request(
                "COUNT", next_request_id(), fields), "api"), "COUNTED")
            expect = found if field == "department" else 0
            assert len(listed["items"]) == expect, (field, len(value))
            assert counted["count"] == expect, (field, len(value))
    assert daemon.health()["complaints"] == 1
    daemon.stop()
