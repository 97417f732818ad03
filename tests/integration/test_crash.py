"""SIGKILL in the middle of a stream of SUBMITs loses nothing that was
acknowledged, leaves no half-stored complaint and no gap in the events."""

import random
import threading

from harness import (CHANNELS, Client, Daemon, assert_record, assert_reply,
                     next_request_id, note, random_seed, request, scaled,
                     unpack, wait_for)

CLIENTS = 3
IN_FLIGHT = 32
ACKS_BEFORE_KILL = 400

WORDS = ["等候", "收费", "态度", "病房", "挂号", "退款", "waited", "billing",
         "rude", "lost", "parking", "noise", "药房", "急诊"]


def random_fields(rng, ref):
    fields = {
        "channel": rng.choice(CHANNELS),
        "ref": ref,
        "complainant": rng.choice([
            {"name": "患者%d" % rng.randrange(10000)},
            {"phone": "+86 1%010d" % rng.randrange(10 ** 10)},
            {"email": "p%d@example.org" % rng.randrange(10 ** 6),
             "relation": "家属"},
            {"anonymous": True},
        ]),
        "description": " ".join(rng.choice(WORDS)
                                for _ in range(rng.randrange(1, 400))),
    }
    if rng.random() < 0.5:
        fields["subject"] = {"department": rng.choice(["急诊科", "Radiology",
                                                       "Billing"])}
    if rng.random() < 0.3:
        fields["tags"] = [rng.choice(WORDS)
                          for _ in range(rng.randrange(1, 4))]
    if rng.random() < 0.3:
        fields["demands"] = "请回复 " * rng.randrange(1, 50)
    return fields


def test_sigkill_mid_stream():
    daemon = Daemon()
    seed = random_seed()
    lock = threading.Lock()
    stop = threading.Event()
    sent = {}           # ref -> fields, for every SUBMIT sent
    acked = {}          # ref -> (fields, SUBMITTED fields)
    unacked = {}        # ref -> fields, sent but not answered
    failures = []

    def submitter(number):
        client = Client(daemon.intake)
        rng = random.Random(seed + number)
        in_flight = {}
        counter = 0
        try:
            while not stop.is_set():
                while len(in_flight) < IN_FLIGHT:
                    counter += 1
                    ref = "crash-%d-%d" % (number, counter)
                    fields = random_fields(rng, ref)
                    request_id = next_request_id()
                    in_flight[request_id] = fields
                    with lock:
                        sent[ref] = fields
                    client.send(request("SUBMIT", request_id, fields))
                if client.socket.poll(20):
                    reply = unpack(client.socket.recv_multipart()[-1])
                    fields = in_flight.pop(reply[3])
                    result = assert_reply(reply, "SUBMITTED")
                    assert result["duplicate"] is False, reply
                    with lock:
                        acked[fields["ref"]] = (fields, result)
        except BaseException as error:
            failures.append(error)
        finally:
            with lock:
                for fields in in_flight.values():
                    unacked[fields["ref"]] = fields
            client.close()

    threads = [threading.Thread(target=submitter, args=(number,))
               for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: failures or len(acked) >= ACKS_BEFORE_KILL, 60,
                 "%d acknowledgements" % ACKS_BEFORE_KILL)
        daemon.kill()
    finally:
        stop.set()
        for thread in threads:
            thread.join(scaled(30))
    if failures:
        raise failures[0]
    assert not any(thread.is_alive() for thread in threads)
    assert set(acked) | set(unacked) == set(sent)
    assert not set(acked) & set(unacked)
    assert "complaintd stopped" not in daemon.log_text()

    daemon.start()
    health = daemon.health()
    stored = health["complaints"]
    assert stored >= len(acked), (health, len(acked))
    assert health["last_seq"] == stored, health

    #  Every acknowledged complaint is there, whole
    acked_ids = {}
    for ref, (fields, reply) in acked.items():
        assert_record(daemon.get_record(id=reply["id"]), fields, reply)
        acked_ids[reply["id"]] = ref

    #  Every stored complaint is one that was sent, whole; ids 1..n
    items = daemon.list_all(limit=500)
    assert sorted(item["id"] for item in items) == list(range(1, stored + 1))
    refs = [(item["channel"], item["ref"]) for item in items]
    assert len(set(refs)) == stored, "a (channel, ref) is stored twice"
    numbers = [item["number"] for item in items]
    assert len(set(numbers)) == stored, "a number is given twice"
    for item in items:
        assert_record(item, sent[item["ref"]])
        if item["id"] in acked_ids:
            assert item["ref"] == acked_ids[item["id"]]

    #  One event per complaint, seqs without gaps
    events, last = daemon.replay_all(page=1000)
    assert last == stored
    assert [event["seq"] for event in events] == list(range(1, stored + 1))
    assert sorted(event["id"] for event in events) == list(
        range(1, stored + 1))
    by_id = {item["id"]: item for item in items}
    for event in events:
        assert event["number"] == by_id[event["id"]]["number"]

    #  Resending what was not acknowledged: each gets SUBMITTED once; those
    #  stored before the kill are duplicates of themselves, never of an
    #  acknowledged complaint
    stored_refs = {item["ref"]: item for item in items}
    client = daemon.client("intake")
    pending = {}
    for ref, fields in unacked.items():
        request_id = next_request_id()
        pending[request_id] = fields
        client.send(request("SUBMIT", request_id, fields))
    duplicates = 0
    for _ in range(len(pending)):
        reply = client.recv()
        fields = pending.pop(reply[3])
        result = assert_reply(reply, "SUBMITTED")
        assert result["id"] not in acked_ids, (reply, fields["ref"])
        if result["duplicate"]:
            duplicates += 1
            assert fields["ref"] in stored_refs, (reply, fields["ref"])
            assert stored_refs[fields["ref"]]["id"] == result["id"]
        else:
            assert fields["ref"] not in stored_refs, (reply, fields["ref"])
            assert result["id"] > stored
        assert_record(daemon.get_record(id=result["id"]), fields, result)
    #  Acknowledged ones resent are duplicates with their own id
    for ref in list(acked)[:50]:
        fields, first = acked[ref]
        again = daemon.submit_ok(fields, duplicate=True)
        assert again["id"] == first["id"], (again, first)
    final = daemon.health()
    assert final["complaints"] == len(sent), (final, len(sent))
    assert final["last_seq"] == len(sent), final
    note("sent %d, acknowledged %d, stored at the kill %d (%d of them "
         "unacknowledged), resent %d" % (len(sent), len(acked), stored,
                                         duplicates, len(unacked)))
    daemon.stop()
