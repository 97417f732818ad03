"""A store at its configured maximum refuses new complaints with 507 and
goes on serving everything else."""

import random

from harness import (Daemon, assert_error, assert_record, assert_reply,
                     next_request_id, note, random_seed, request,
                     submit_fields)

#  The smallest map the configuration allows, and twice that as the limit
MAP_SIZE = "1M"
MAP_MAX = "2M"


def random_text(rng, size):
    """About size bytes of mixed Chinese and ASCII text."""
    pieces = []
    total = 0
    while total < size:
        if rng.random() < 0.5:
            piece = "".join(chr(rng.randrange(0x4e00, 0x9fa5))
                            for _ in range(rng.randrange(1, 20)))
        else:
            piece = "".join(rng.choice("abcdefghij klmnopqrstuvwxyz,.")
                            for _ in range(rng.randrange(1, 40)))
        pieces.append(piece)
        total += len(piece.encode("utf-8"))
    return "".join(pieces)[:size // 3 * 2]


def test_storage_full():
    #  Random text can read as an emergency to the rules, which adds an
    #  event: without triage, one event per complaint
    daemon = Daemon({"store/map_size": MAP_SIZE, "store/map_max": MAP_MAX,
                     "triage/enabled": "false"})
    seed = random_seed()
    rng = random.Random(seed)
    client = daemon.client("intake")
    acked = {}
    full = []
    number = 0
    for _ in range(200):
        window = {}
        for _ in range(6):
            number += 1
            fields = submit_fields(
                "full-%d" % number, rng.choice(["phone", "web", "email"]),
                description=random_text(rng, rng.randrange(8000, 16000)),
                demands=random_text(rng, 3000),
                tags=["满"])
            request_id = next_request_id()
            window[request_id] = fields
            client.send(request("SUBMIT", request_id, fields))
        for _ in range(len(window)):
            reply = client.recv()
            fields = window[reply[3]]
            if reply[2] == "SUBMITTED":
                assert reply[4]["duplicate"] is False, reply
                acked[reply[4]["id"]] = (fields, reply[4])
            else:
                assert_error(reply, 507, "STORAGE_FULL", None, reply[3])
                full.append(fields)
        if full:
            break
    assert full, "the store never filled up (%d complaints)" % len(acked)
    #  A whole batch was refused; smaller ones may still fit. Go on one at
    #  a time until one alone is refused.
    refused = None
    for _ in range(200):
        number += 1
        fields = full.pop() if full else submit_fields(
            "full-%d" % number, description=random_text(rng, 15000),
            demands=random_text(rng, 3000), tags=["满"])
        reply = daemon.submit(fields)
        if reply[2] == "SUBMITTED":
            acked[reply[4]["id"]] = (fields, reply[4])
        else:
            assert_error(reply, 507, "STORAGE_FULL", None, reply[3])
            refused = fields
            break
    assert refused, "the store never filled up (%d complaints)" % len(acked)
    note("%d complaints stored, then STORAGE_FULL" % len(acked))
    assert len(acked) > 20, len(acked)
    assert "map grown from 1048576 to 2097152 bytes" in daemon.log_text()

    def everything_readable():
        health = daemon.health()
        assert health["complaints"] == len(acked), (health, len(acked))
        assert health["last_seq"] == len(acked), health
        assert daemon.health("intake")["complaints"] == len(acked)
        for id, (fields, reply) in acked.items():
            assert_record(daemon.get_record(id=id), fields, reply)
            assert daemon.get_record(number=reply["number"])["id"] == id
        items = daemon.list_all(limit=7)
        assert sorted(item["id"] for item in items) == sorted(acked)
        events, last = daemon.replay_all(page=10)
        assert [event["seq"] for event in events] == list(
            range(1, len(acked) + 1))
        assert sorted(event["id"] for event in events) == sorted(acked)

    everything_readable()
    #  Still full: the refused complaint is refused again, nothing stored
    reply = daemon.submit(refused)
    assert_error(reply, 507, "STORAGE_FULL")
    #  Resending a stored complaint stores nothing, so it still works
    fields, first = acked[min(acked)]
    again = daemon.submit_ok(fields, duplicate=True)
    assert (again["id"], again["number"]) == (first["id"], first["number"])
    #  Invalid requests are still told what is wrong
    assert_error(daemon.submit(submit_fields("x", channel="fax")), 422,
                 "INVALID", "channel")
    everything_readable()

    #  After a restart the store is as full and as readable as before
    daemon.restart()
    everything_readable()
    assert_error(daemon.submit(refused), 507, "STORAGE_FULL")
    daemon.stop()


def test_storage_grows_without_a_limit():
    """Without store/map_max the map doubles by itself and nothing is
    refused."""
    daemon = Daemon({"store/map_size": MAP_SIZE})
    rng = random.Random(7)
    client = daemon.client("intake")
    sent = {}
    for index in range(200):
        request_id = next_request_id()
        sent[request_id] = submit_fields(
            "grow-%d" % index, description=random_text(rng, 15000))
        client.send(request("SUBMIT", request_id, sent[request_id]))
    for _ in range(len(sent)):
        reply = client.recv()
        assert_reply(reply, "SUBMITTED")
    assert "map grown from 1048576 to 2097152 bytes" in daemon.log_text()
    assert daemon.health()["complaints"] == 200
    #  A page of 200 large complaints is far above the request limits
    page = assert_reply(daemon.call(request("LIST", 3, {"limit": 500}),
                                    "api"), "COMPLAINTS", 3)
    assert [item["id"] for item in page["items"]] == list(range(1, 201))
    assert page["next"] is None
    daemon.restart()
    assert daemon.health()["complaints"] == 200
    record = daemon.get_record(id=200)
    assert record["description"] in [f["description"] for f in sent.values()]
    daemon.stop()
