"""Data survives a restart; ids, numbers and event seqs continue."""

import datetime

from harness import Daemon, assert_record, submit_fields


def next_number(previous, new):
    """new follows previous: the next counter of the same day, or the first
    of a later day."""
    if new[:8] == previous[:8]:
        return int(new[9:]) == int(previous[9:]) + 1
    return new[:8] > previous[:8] and new[9:] == "000001"


def test_restart_keeps_everything():
    daemon = Daemon()
    sent = {}
    for index, channel in enumerate(("phone", "web", "email", "phone")):
        fields = submit_fields("persist-%d" % index, channel,
                               tags=["重启 %d" % index],
                               subject={"department": "急诊科"})
        reply = daemon.submit_ok(fields)
        sent[reply["id"]] = (fields, reply)
    assert sorted(sent) == [1, 2, 3, 4]
    before_list = daemon.list_all()
    before_events, last = daemon.replay_all()
    assert last == 4
    assert [event["seq"] for event in before_events] == [1, 2, 3, 4]
    daemon.stop()

    daemon.start()
    health = daemon.health()
    assert health["complaints"] == 4 and health["last_seq"] == 4, health
    assert daemon.health("intake")["complaints"] == 4
    for id, (fields, reply) in sent.items():
        assert_record(daemon.get_record(id=id), fields, reply)
        assert_record(daemon.get_record(number=reply["number"]), fields, reply)
    assert daemon.list_all() == before_list
    assert daemon.list_all(channel="phone") == [
        item for item in before_list if item["channel"] == "phone"]
    events, last = daemon.replay_all()
    assert events == before_events and last == 4, events

    #  A resend after the restart is still a duplicate
    fields, reply = sent[2]
    again = daemon.submit_ok(fields, duplicate=True)
    assert (again["id"], again["number"], again["received_at"]) == (
        2, reply["number"], reply["received_at"]), again

    #  The next complaint follows the old ones
    new = daemon.submit_ok(submit_fields("persist-new", "letter"))
    assert new["id"] == 5, new
    assert next_number(sent[4][1]["number"], new["number"]), (
        sent[4][1]["number"], new["number"])
    events, last = daemon.replay_all()
    assert last == 5 and [event["seq"] for event in events] == [1, 2, 3, 4, 5]
    assert events[-1]["id"] == 5 and events[-1]["number"] == new["number"]

    #  And once more, after a second restart
    daemon.restart()
    newer = daemon.submit_ok(submit_fields("persist-newer", "social"))
    assert newer["id"] == 6 and next_number(new["number"], newer["number"])
    health = daemon.health()
    assert health["complaints"] == 6 and health["last_seq"] == 6, health
    daemon.stop()


def test_restart_with_data_option():
    """--data DIR puts the store where the command line says, and a
    restart with the same option finds it."""
    daemon = Daemon(start=False)
    other = daemon.dir + "/elsewhere"
    daemon.start(["--data", other])
    reply = daemon.submit_ok(submit_fields("data-option"))
    daemon.stop()
    daemon.start()                      #  store/path of the file: empty
    assert daemon.health()["complaints"] == 0
    daemon.stop()
    daemon.start(["--data", other])
    assert daemon.health()["complaints"] == 1
    assert daemon.get_record(id=1)["number"] == reply["number"]
    daemon.stop()


def local_date(ms, hours):
    zone = datetime.timezone(datetime.timedelta(hours=hours))
    return datetime.datetime.fromtimestamp(ms / 1000, zone).strftime("%Y%m%d")


def test_numbers_follow_the_local_date():
    """The number's date is the daemon's local date (TZ); each date has its
    own counter, which continues across restarts even when numbers of a
    later date exist."""
    west, east = ("WST+12", -12), ("EST-14", 14)     # UTC-12, UTC+14
    daemon = Daemon(start=False, env={"TZ": west[0]})
    numbers = []

    def submit(ref, zone):
        reply = daemon.submit_ok(submit_fields(ref))
        assert reply["number"][:8] == local_date(reply["received_at"],
                                                 zone[1]), (reply, zone)
        numbers.append(reply["number"])
        return reply

    daemon.start()
    first = submit("tz-1", west)
    second = submit("tz-2", west)
    assert next_number(first["number"], second["number"]), numbers
    daemon.stop()
    daemon.env["TZ"] = east[0]
    daemon.start()
    third = submit("tz-3", east)
    assert third["number"][:8] > second["number"][:8], numbers
    assert third["number"][9:] == "000001", numbers
    daemon.stop()
    daemon.env["TZ"] = west[0]
    daemon.start()
    fourth = submit("tz-4", west)
    #  (the west date may have reached the east one meanwhile)
    before = third if fourth["number"][:8] == third["number"][:8] else second
    assert next_number(before["number"], fourth["number"]), numbers
    assert len(set(numbers)) == 4, numbers
    for id, number in enumerate(numbers, 1):
        assert daemon.get_record(number=number)["id"] == id
    daemon.stop()
