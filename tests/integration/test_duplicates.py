"""Idempotency: (channel, ref) identifies a complaint across resends."""

from harness import (Daemon, Subscriber, assert_error, assert_record,
                     assert_reply, next_request_id, request, submit_fields)


def test_duplicate_conflict_and_other_channel():
    daemon = Daemon()
    subscriber = Subscriber(daemon)
    probe = subscriber.wait_live(daemon)
    base_seq = probe["seq"]

    original = submit_fields("call-0001", "phone",
                             subject={"department": "Radiology"})
    first = daemon.submit_ok(original)
    health = daemon.health()
    count, last_seq = health["complaints"], health["last_seq"]
    assert last_seq == base_seq + 1, health

    #  The same SUBMIT again: same id, number and time, duplicate
    for _ in range(2):
        again = daemon.submit_ok(original, duplicate=True)
        assert again == dict(first, duplicate=True), (again, first)
    #  Same description, other details: still the same complaint, and the
    #  stored record does not change
    changed = dict(original, demands="退款", tags=["changed"],
                   complainant={"name": "Someone Else"})
    again = daemon.submit_ok(changed, duplicate=True)
    assert again["id"] == first["id"] and again["number"] == first["number"]
    assert_record(daemon.get_record(id=first["id"]), original, first)
    health = daemon.health()
    assert (health["complaints"], health["last_seq"]) == (count, last_seq), \
        health

    #  Same ref, another description: 409 naming the ref and the number
    conflicting = dict(original, description="a different story")
    request_id = next_request_id()
    reply = daemon.call(request("SUBMIT", request_id, conflicting))
    assert_error(reply, 409, "CONFLICT", "ref", request_id,
                 message=first["number"])
    #  A description differing only in trailing space is different too
    reply = daemon.call(request("SUBMIT", request_id,
                                dict(original,
                                     description=original["description"]
                                     + " ")))
    assert_error(reply, 409, "CONFLICT", "ref", request_id)
    health = daemon.health()
    assert (health["complaints"], health["last_seq"]) == (count, last_seq), \
        health

    #  The same ref on another channel is another complaint
    other = dict(original, channel="web")
    second = daemon.submit_ok(other)
    assert second["id"] == first["id"] + 1, (first, second)
    assert second["number"] != first["number"]
    assert_record(daemon.get_record(id=second["id"]), other, second)
    assert daemon.health()["complaints"] == count + 1

    #  Events: one for the first SUBMIT, one for the other channel, none
    #  for the duplicates and conflicts in between
    event = subscriber.event()
    assert (event["seq"], event["id"]) == (base_seq + 1, first["id"]), event
    assert event.get("department") == "Radiology", event
    event = subscriber.event()
    assert (event["seq"], event["id"]) == (base_seq + 2, second["id"]), event
    assert event["channel"] == "web", event
    replayed = daemon.replay(base_seq + 1)
    assert [e["seq"] for e in replayed["events"]] == [base_seq + 1,
                                                      base_seq + 2]
    assert replayed["last"] == base_seq + 2
    subscriber.close()
    daemon.stop()


def test_duplicates_in_one_batch():
    """Resends that arrive together (one write transaction) are still
    recognised."""
    daemon = Daemon()
    client = daemon.client("intake")
    fields = submit_fields("batch-dup", "social")
    ids = [next_request_id() for _ in range(4)]
    for request_id in ids:
        client.send(request("SUBMIT", request_id, fields))
    conflicting = dict(fields, description="another text")
    conflict_id = next_request_id()
    client.send(request("SUBMIT", conflict_id, conflicting))
    replies = {}
    for _ in range(5):
        reply = client.recv()
        replies[reply[3]] = reply
    assert sorted(replies) == sorted(ids + [conflict_id]), replies
    results = [assert_reply(replies[request_id], "SUBMITTED")
               for request_id in ids]
    assert [result["duplicate"] for result in results] == [
        False, True, True, True], results
    assert len({(r["id"], r["number"], r["received_at"])
                for r in results}) == 1, results
    assert_error(replies[conflict_id], 409, "CONFLICT", "ref", conflict_id)
    health = daemon.health()
    assert health["complaints"] == 1 and health["last_seq"] == 1, health
    daemon.stop()
