"""Deadlines and escalation (daemon/sla.yaml is the format's manual):
clocks that start, pause, resume, extend and stop with the case; the
reminder, warning, breach and escalation events they fire, in order and
exactly once; deadlines that pass while the daemon is stopped; the test
clock that drives them; SLA and the deadline queries.

Every daemon here runs on a test clock (clock/test): nothing sleeps to
wait for a deadline, TICK moves the clock."""

import os
import time

from harness import (Daemon, assert_error, assert_reply, next_request_id,
                     request, submit_fields, wait_for)

ADMIN = "root.ops"
AGENT = "li.na"
SUPERVISOR = "wang.wei"

HOUR = 3600 * 1000
#  Wednesday 2026-11-18 10:00 in Shanghai (UTC+8)
T0 = 1794967200000

#  Policies of whole hours, so that the figures below are easy to check:
#  one clock of 10 hours, reminded 1 hour before, warned at 75%, rising
#  again every 2 hours while overdue
POLICIES = """\
version: "test-1"
calendar: default
remind: 1h
late_after: 1m
default: standard
emergency: emergency
escalation:
  again: 2h
  levels:
    - {name: handler, notify: [handler]}
    - {name: department_head, notify: [dept.head]}
    - {name: complaints_office, notify: [office]}
    - {name: executive, notify: [boss]}
policies:
  standard:
    resolution:
      target: 10h
      start: [register]
      pause: [waiting]
      stop: [resolved, resolved_on_spot, closed, withdrawn, merged]
    investigation:
      target: 5h
      extended: 8h
      warnings: []
      remind: 0
      start: [investigating]
      pause: [waiting]
      stop: [proposed, withdrawn]
  emergency:
    extends: standard
    response:
      target: 24h
      start: [register]
      stop: [investigating, withdrawn]
"""

RULES = """\
version: "test-rules"
priority:
  critical: {one: urgent, several: urgent, public: urgent}
  major:    {one: high,   several: high,   public: urgent}
  ordinary: {one: normal, several: high,   public: high}
  minor:    {one: low,    several: normal, public: high}
defaults: {category: other, severity: ordinary, impact: one, sla: standard}
rules:
  - name: fire
    when: {text: [火灾, fire]}
    set: {category: environment, severity: critical, emergency: true,
          sla: emergency}
"""


def deadline_daemon(start=T0, policies=POLICIES, settings=None, **kwargs):
    """A daemon on a test clock at start, with the policies above and no
    triage unless settings say otherwise."""
    daemon = Daemon(start=False, **kwargs)
    path = os.path.join(daemon.dir, "sla.yaml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(policies)
    values = {"clock/test": str(start), "sla/policies": path,
              "triage/enabled": "false"}
    values.update(settings or {})
    daemon.settings.update(values)
    daemon.write_config()
    daemon.start()
    return daemon


def tick(daemon, at, actor=ADMIN):
    """Move the test clock; returns the TICKED fields."""
    request_id = next_request_id()
    reply = daemon.call(request("TICK", request_id,
                                {"actor": actor, "at": at}), "api")
    return assert_reply(reply, "TICKED", request_id)


def tick_all(daemon, at):
    """Move the clock and let every due point fire."""
    fired = 0
    for _ in range(10000):
        fields = tick(daemon, at)
        fired += fields["fired"]
        if not fields["pending"]:
            return fired
    raise AssertionError("timers never stopped being due")


def act(daemon, actor, number, action, **fields):
    request_id = next_request_id()
    body = request("ACT", request_id, dict(fields, actor=actor,
                                           action=action, number=number))
    return assert_reply(daemon.call(body, "api"), "ACTED", request_id)


def sla(daemon, number):
    request_id = next_request_id()
    reply = daemon.call(request("SLA", request_id, {"number": number}),
                        "api")
    return assert_reply(reply, "CLOCKS", request_id)


def clock_of(fields, name):
    clocks = [clock for clock in fields["clocks"] if clock["name"] == name]
    assert len(clocks) == 1, fields
    return clocks[0]


def deadline_events(daemon, number=None):
    """Stored events about deadlines (of one complaint), in order."""
    events, _ = daemon.replay_all()
    return [event for event in events
            if (event["topic"].startswith("complaint.sla.")
                or event["topic"] == "complaint.escalated")
            and (number is None or event["number"] == number)]


def submit(daemon, ref, description="服务态度差 rude staff"):
    return daemon.submit_ok(submit_fields(ref, "web",
                                          description=description))


# --------------------------------------------------------------------------

def test_reminder_warning_breach_and_two_escalations_in_order():
    daemon = deadline_daemon()
    number = submit(daemon, "d-1")["number"]
    record = daemon.get_record(number=number)
    resolution = [clock for clock in record["clocks"]
                  if clock["name"] == "resolution"][0]
    assert resolution["state"] == "running", resolution
    assert resolution["due_at"] == T0 + 10 * HOUR, resolution
    assert "investigation" not in [c["name"] for c in record["clocks"]
                                   if c.get("state") == "running"]

    #  Nothing is due yet
    assert tick(daemon, T0 + 7 * HOUR)["fired"] == 0
    assert deadline_events(daemon, number) == []
    #  75% of 10 hours, then the reminder an hour before, then the breach
    #  with its escalation, then one more level 2 hours later
    assert tick(daemon, T0 + 7 * HOUR + 30 * 60000)["fired"] == 1
    assert tick(daemon, T0 + 9 * HOUR)["fired"] == 1
    assert tick(daemon, T0 + 10 * HOUR)["fired"] == 1
    assert tick(daemon, T0 + 12 * HOUR)["fired"] == 1
    assert tick(daemon, T0 + 13 * HOUR)["fired"] == 0
    events = deadline_events(daemon, number)
    topics = [event["topic"] for event in events]
    assert topics == ["complaint.sla.warning", "complaint.sla.reminder",
                      "complaint.sla.breached", "complaint.escalated",
                      "complaint.escalated"], topics
    warning, reminder, breached, first, second = events
    assert warning["percent"] == 75 and warning["clock"] == "resolution"
    assert warning["due_at"] == T0 + 10 * HOUR
    assert warning["at"] == T0 + 7 * HOUR + 30 * 60000
    assert not any(event.get("late") for event in events), events
    assert reminder["clock"] == "resolution"
    assert breached["at"] == T0 + 10 * HOUR
    assert (first["previous_level"], first["level"]) == \
        ("handler", "department_head"), first
    assert first["notify"] == ["dept.head"], first
    assert "resolution" in first["reason"], first
    assert (second["previous_level"], second["level"]) == \
        ("department_head", "complaints_office"), second
    assert second["notify"] == ["office"], second
    seqs = [event["seq"] for event in events]
    assert seqs == sorted(seqs)

    #  The record, its history and the queries say the same
    record = daemon.get_record(number=number)
    assert record["case"]["level"] == "complaints_office", record["case"]
    request_id = next_request_id()
    reply = daemon.call(request("HISTORY", request_id, {"number": number}),
                        "api")
    entries = assert_reply(reply, "ENTRIES", request_id)["entries"]
    escalations = [entry for entry in entries
                   if entry["action"] == "escalate"]
    assert len(escalations) == 2, entries
    assert all(entry["actor"] == "complaintd" for entry in escalations)
    assert escalations[0]["changes"][0] == {
        "field": "level", "old": "handler", "new": "department_head"}
    found = daemon.list_all(level="complaints_office")
    assert [item["number"] for item in found] == [number]
    assert daemon.list_all(level="executive") == []
    other = submit(daemon, "d-2")["number"]
    breached_now = [item["number"] for item in daemon.list_all(breached=True)]
    assert breached_now == [number], breached_now
    due = [item["number"] for item in
           daemon.list_all(due_before=T0 + 13 * HOUR + 11 * HOUR)]
    assert due == [number, other], due
    daemon.stop()


def test_a_stop_before_the_due_time_is_met_and_after_it_missed():
    daemon = deadline_daemon()
    early = submit(daemon, "m-1")["number"]
    late = submit(daemon, "m-2")["number"]
    tick(daemon, T0 + 2 * HOUR)
    act(daemon, AGENT, early, "resolve_on_spot", text="explained")
    tick_all(daemon, T0 + 11 * HOUR)
    act(daemon, AGENT, late, "resolve_on_spot", text="explained, late")
    stops = [event for event in deadline_events(daemon)
             if event["topic"] == "complaint.sla.stopped"]
    outcome = {event["number"]: event["outcome"] for event in stops
               if event["clock"] == "resolution"}
    assert outcome == {early: "met", late: "missed"}, stops
    clock = clock_of(sla(daemon, late), "resolution")
    assert clock["state"] == "stopped" and clock["outcome"] == "missed"
    assert daemon.list_all(breached=True) == []
    daemon.stop()


def test_waiting_for_the_complainant_pauses_the_clocks():
    daemon = deadline_daemon()
    number = submit(daemon, "p-1")["number"]
    act(daemon, AGENT, number, "assign", department="service",
        handler=AGENT)
    act(daemon, AGENT, number, "start")
    tick(daemon, T0 + 2 * HOUR)
    act(daemon, AGENT, number, "request_info", text="the receipt, please")
    fields = sla(daemon, number)
    clock = clock_of(fields, "resolution")
    assert clock["state"] == "paused", clock
    assert clock["used"] == 2 * HOUR and clock["remaining"] == 8 * HOUR
    #  A long wait fires nothing
    assert tick_all(daemon, T0 + 40 * HOUR) == 0
    assert deadline_events(daemon, number) == []
    act(daemon, AGENT, number, "info_received")
    clock = clock_of(sla(daemon, number), "resolution")
    assert clock["state"] == "running", clock
    assert clock["due_at"] == T0 + 48 * HOUR, clock
    assert clock["due_local"] == "2026-11-20 10:00 +08:00", clock
    #  The investigation clock (started at 0 h) paused too: 3 h left
    investigation = clock_of(sla(daemon, number), "investigation")
    assert investigation["due_at"] == T0 + 43 * HOUR, investigation
    assert tick_all(daemon, T0 + 48 * HOUR) >= 1
    topics = [event["topic"] for event in deadline_events(daemon, number)
              if event.get("clock") == "resolution"]
    assert "complaint.sla.breached" in topics, topics
    daemon.stop()


def test_an_extension_moves_the_investigation_target_once():
    daemon = deadline_daemon()
    number = submit(daemon, "x-1")["number"]
    act(daemon, AGENT, number, "assign", department="service",
        handler=AGENT)
    act(daemon, AGENT, number, "start")
    assert clock_of(sla(daemon, number), "investigation")["due_at"] == \
        T0 + 5 * HOUR
    tick(daemon, T0 + 1 * HOUR)
    act(daemon, SUPERVISOR, number, "extend", reason="expert appraisal")
    clock = clock_of(sla(daemon, number), "investigation")
    assert clock["due_at"] == T0 + 8 * HOUR, clock
    assert clock["extended"] is True and clock["target"] == "8h", clock
    request_id = next_request_id()
    body = request("ACT", request_id, {"actor": SUPERVISOR,
                                       "action": "extend", "number": number,
                                       "reason": "again"})
    assert_error(daemon.call(body, "api"), 409, "CONFLICT", "action")
    tick_all(daemon, T0 + 8 * HOUR)
    breaches = [event for event in deadline_events(daemon, number)
                if event["topic"] == "complaint.sla.breached"
                and event["clock"] == "investigation"]
    assert len(breaches) == 1 and breaches[0]["at"] == T0 + 8 * HOUR
    daemon.stop()


def test_a_deadline_passed_while_stopped_fires_once_late_after_restart():
    daemon = deadline_daemon()
    number = submit(daemon, "r-1")["number"]
    daemon.stop()
    #  Down for a day and a half
    daemon.settings["clock/test"] = str(T0 + 36 * HOUR)
    daemon.write_config()
    daemon.start()
    wait_for(lambda: any(event["topic"] == "complaint.sla.breached"
                         for event in deadline_events(daemon, number)),
             10, "the late breach")
    tick_all(daemon, T0 + 36 * HOUR)
    events = deadline_events(daemon, number)
    topics = [event["topic"] for event in events]
    #  Warning, reminder, breach, and every further level up to the top,
    #  each once, in due order, all late
    assert topics == ["complaint.sla.warning", "complaint.sla.reminder",
                      "complaint.sla.breached", "complaint.escalated",
                      "complaint.escalated", "complaint.escalated"], topics
    assert all(event["late"] for event in events), events
    assert events[-1]["level"] == "executive"
    #  Another restart at the same time fires nothing more
    daemon.restart()
    assert tick_all(daemon, T0 + 36 * HOUR) == 0
    assert len(deadline_events(daemon, number)) == len(events)
    daemon.stop()


def test_a_restart_during_a_burst_of_firings_loses_and_repeats_none():
    count = 1500
    daemon = deadline_daemon(settings={"sla/fire_max": "1"})
    numbers = [submit(daemon, "b-%d" % index)["number"]
               for index in range(count)]
    daemon.stop()
    daemon.settings["clock/test"] = str(T0 + 10 * HOUR + 1)
    daemon.write_config()
    daemon.start()
    #  Kill it while it fires one complaint per commit, then start it again
    wait_for(lambda: len(deadline_events(daemon)) > 0, 10, "first firings")
    before = len([event for event in deadline_events(daemon)
                  if event["topic"] == "complaint.sla.breached"])
    daemon.kill()
    assert before < count, "the burst was over before the kill"
    daemon.start()
    tick_all(daemon, T0 + 10 * HOUR + 1)
    breaches = {}
    for event in deadline_events(daemon):
        if event["topic"] == "complaint.sla.breached":
            breaches[event["number"]] = breaches.get(event["number"], 0) + 1
    assert sorted(breaches) == sorted(numbers)
    assert set(breaches.values()) == {1}, breaches
    daemon.stop()


def test_a_clock_that_jumps_back_fires_nothing_twice():
    daemon = deadline_daemon()
    number = submit(daemon, "j-1")["number"]
    assert tick_all(daemon, T0 + 8 * HOUR) == 1   # the 75% warning
    assert tick_all(daemon, T0 + 1 * HOUR) == 0   # back
    assert tick_all(daemon, T0 + 8 * HOUR) == 0   # and forward again
    topics = [event["topic"] for event in deadline_events(daemon, number)]
    assert topics == ["complaint.sla.warning"], topics
    daemon.stop()


def test_an_emergency_starts_at_the_top_of_the_ladder():
    daemon = deadline_daemon(settings={"triage/enabled": "true"})
    path = os.path.join(daemon.dir, "rules.yaml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(RULES)
    daemon.stop()
    daemon.settings["triage/rules"] = path
    daemon.write_config()
    daemon.start()
    number = submit(daemon, "e-1", "厨房火灾 fire in the kitchen")["number"]
    record = daemon.get_record(number=number)
    assert record["case"]["emergency"] is True
    assert record["case"]["level"] == "executive", record["case"]
    escalated = [event for event in deadline_events(daemon, number)
                 if event["topic"] == "complaint.escalated"]
    assert len(escalated) == 1 and escalated[0]["reason"] == "emergency"
    assert escalated[0]["level"] == "executive"
    response = clock_of(sla(daemon, number), "response")
    assert response["due_at"] == T0 + 24 * HOUR, response
    daemon.stop()


def test_shipped_policies_count_working_days_in_the_calendar():
    daemon = Daemon({"clock/test": str(T0), "triage/enabled": "false"})
    number = submit(daemon, "w-1")["number"]
    fields = sla(daemon, number)
    assert fields["zone"] == "Asia/Shanghai"
    assert fields["level"] == "handler"
    due = {clock["name"]: clock.get("due_local")
           for clock in fields["clocks"] if clock["state"] == "running"}
    #  Wednesday 10:00: 24 hours; 1, 3 and 15 workdays later (Mon-Fri)
    assert due == {"first_reply": "2026-11-19 10:00 +08:00",
                   "initial_review": "2026-11-19 10:00 +08:00",
                   "resolution": "2026-11-23 10:00 +08:00",
                   "latest": "2026-12-09 10:00 +08:00"}, due
    daemon.stop()


def test_tick_needs_a_test_clock_and_an_admin():
    daemon = Daemon()
    request_id = next_request_id()
    reply = daemon.call(request("TICK", request_id,
                                {"actor": ADMIN, "at": T0}), "api")
    assert_error(reply, 409, "CONFLICT", request_id=request_id)
    daemon.stop()
    daemon = deadline_daemon()
    request_id = next_request_id()
    reply = daemon.call(request("TICK", request_id,
                                {"actor": AGENT, "at": T0}), "api")
    assert_error(reply, 403, "FORBIDDEN", "actor", request_id=request_id)
    request_id = next_request_id()
    reply = daemon.call(request("TICK", request_id, {"actor": ADMIN}), "api")
    assert_error(reply, 422, "INVALID", "at", request_id=request_id)
    #  And the daemon keeps serving
    assert tick(daemon, T0 + 1)["at"] == T0 + 1
    daemon.stop()


def test_a_broken_policy_file_is_refused_with_its_line():
    daemon = deadline_daemon()
    path = os.path.join(daemon.dir, "sla.yaml")
    with open(path, "w", encoding="utf-8") as file:
        file.write(POLICIES.replace("target: 10h", "target: ten hours"))
    request_id = next_request_id()
    reply = daemon.call(request("RELOAD", request_id, {"actor": ADMIN}),
                        "api")
    fields = assert_error(reply, 422, "INVALID", "rules",
                          request_id=request_id)
    line = POLICIES.splitlines().index("      target: 10h") + 1
    assert "sla.yaml:%d:" % line in fields["message"], fields
    assert "ten hours" in fields["message"], fields
    #  The running policies stay
    number = submit(daemon, "k-1")["number"]
    assert clock_of(sla(daemon, number), "resolution")["due_at"] == \
        T0 + 10 * HOUR
    daemon.stop()


def test_sla_of_an_unknown_complaint_and_bad_filters():
    daemon = deadline_daemon()
    request_id = next_request_id()
    reply = daemon.call(request("SLA", request_id,
                                {"number": "20991231-000001"}), "api")
    assert_error(reply, 404, "NOT_FOUND", "number", request_id=request_id)
    request_id = next_request_id()
    reply = daemon.call(request("LIST", request_id, {"level": "king"}),
                        "api")
    assert_error(reply, 422, "INVALID", "level", request_id=request_id)
    assert daemon.health()["complaints"] == 0
    daemon.stop()


def test_complaintctl_sla_tick_and_the_deadline_filters():
    daemon = deadline_daemon()
    number = submit(daemon, "c-1")["number"]
    other = submit(daemon, "c-2")["number"]
    act(daemon, AGENT, other, "resolve_on_spot", text="explained")
    #  Only an admin moves the clock
    status, _, err = daemon.ctl("tick", "--at", T0 + 10 * HOUR, actor=AGENT)
    assert status == 1 and "admin" in err, (status, err)
    status, out, err = daemon.ctl("tick", "--at", T0 + 10 * HOUR,
                                  actor=ADMIN)
    assert status == 0, err
    assert "deadlines of 1 complaints fired" in out, out
    #  The clocks as a table: resolution breached, due 20:00 local time
    status, out, err = daemon.ctl("sla", number)
    assert status == 0, err
    assert "level department_head" in out, out
    rows = [line.split() for line in out.splitlines()
            if line.startswith("resolution ")]
    assert len(rows) == 1, out
    assert rows[0][1:3] == ["running", "10h"], rows
    assert "2026-11-18 20:00 +08:00" in out and rows[0][-1] == "breached", out
    status, _, err = daemon.ctl("sla", "20991231-000001")
    assert status == 1 and "number" in err, (status, err)
    #  The filters, as complaintctl sends them
    (page,) = daemon.ctl_json("list", "--breached")
    assert [item["number"] for item in page["items"]] == [number], page
    (page,) = daemon.ctl_json("list", "--level", "department_head")
    assert [item["number"] for item in page["items"]] == [number], page
    (page,) = daemon.ctl_json("list", "--due-before", T0 + 11 * HOUR)
    assert [item["number"] for item in page["items"]] == [number], page
    (page,) = daemon.ctl_json("list", "--due-before", T0 + 9 * HOUR)
    assert page["items"] == [], page
    status, _, err = daemon.ctl("list", "--level", "king")
    assert status == 1 and "level" in err, (status, err)
    daemon.stop()


def _cpu_ticks(pid):
    with open("/proc/%d/stat" % pid, encoding="ascii") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime + stime


def test_on_the_system_clock_what_passed_fires_at_start_unless_off():
    #  Registered on 2026-11-18, then run on the system clock (later)
    daemon = deadline_daemon()
    number = submit(daemon, "s-1")["number"]
    daemon.stop()
    daemon.settings.update({"clock/test": "0", "sla/enabled": "false"})
    daemon.write_config()
    daemon.start()
    #  Deadlines off: the due timers stay, nothing fires, and the daemon
    #  does not spin on them (a second of an idle daemon: well under a
    #  third of a CPU second even on a loaded machine)
    before = _cpu_ticks(daemon.pid)
    time.sleep(1)
    used = _cpu_ticks(daemon.pid) - before
    assert used < os.sysconf("SC_CLK_TCK") // 3, "%d ticks idle" % used
    assert deadline_events(daemon, number) == []
    daemon.stop()
    #  Deadlines on: everything that passed fires at start, late, once
    daemon.settings["sla/enabled"] = "true"
    daemon.write_config()
    daemon.start()
    wait_for(lambda: len(deadline_events(daemon, number)) == 6, 10,
             "the late points")
    events = deadline_events(daemon, number)
    assert [event["topic"] for event in events] == [
        "complaint.sla.warning", "complaint.sla.reminder",
        "complaint.sla.breached", "complaint.escalated",
        "complaint.escalated", "complaint.escalated"], events
    assert all(event["late"] for event in events), events
    daemon.stop()
