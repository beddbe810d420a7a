"""The relay's fast path, piece by piece, on the real MariaDB and RabbitMQ: the frames it writes
itself against pika's, the rows it reads, the ranges it marks, the envelope it builds without
decoding payloads, and a row whose payload is not JSON."""

from __future__ import annotations

import json
import random
import time
import uuid

import pika
import pytest
from loguru import logger
from pika import frame, spec

from bridge import amqp_frames, outbox
from bridge.envelope import Event, PoisonMessage
from bridge.heartbeat import wait_until
from bridge.relay import Relay, RelaySettings
from bridge.relay_rows import Reader, frames_of
from bridge.topology import BUCKET_HEADER, Topology, bucket_of
from tests.fleet import drain, worker_thread

QUEUE = "kervan.catalog.trendyol"


def _relay(db, amqp_url: str, **settings) -> Relay:
    return Relay(db, RelaySettings(amqp_url=amqp_url, topology=Topology(), **settings))


def _pika_frames(channel, body_max, exchange, key, body, props) -> bytes:
    method = spec.Basic.Publish(exchange=exchange, routing_key=key, mandatory=True)
    out = [frame.Method(channel, method).marshal(), frame.Header(channel, len(body), props).marshal()]
    out += [frame.Body(channel, body[i:i + body_max]).marshal() for i in range(0, len(body), body_max)]
    return b"".join(out)


def test_frames_are_the_bytes_pika_writes():
    rnd = random.Random(7)
    for _ in range(500):
        channel = rnd.choice([1, 2, 65535])
        body_max = rnd.choice([131064, 4096, 5])  # small ones force bodies over several frames
        exchange = rnd.choice(["kervan", "", "kervan.İş"])
        key = rnd.choice(["product.saved", "cmd.resync.trendyol", "ğüşİöç"])
        body = rnd.choice([b"", b"{}", "İstanbul'da çiğ köfte".encode() * rnd.randint(1, 400)])
        message_id, corr = str(uuid.uuid4()), rnd.choice([str(uuid.uuid4()), "bağıntı"])
        aggregate = "product:" + "İ" * rnd.randint(0, 60)
        seq = rnd.choice([0, 1, 2**31 - 1, 2**31, 2**62, -5])
        bucket = str(rnd.randint(0, 63))
        props = pika.BasicProperties(content_type="application/json", delivery_mode=2, message_id=message_id,
                                     correlation_id=corr, type="stock.changed",
                                     headers={"aggregate": aggregate, "seq": seq, BUCKET_HEADER: bucket})
        mine = amqp_frames.publish(channel, body_max, exchange, key, body, message_id=message_id,
                                   correlation_id=corr, event_type="stock.changed", aggregate=aggregate,
                                   seq=seq, bucket=bucket)
        assert mine == _pika_frames(channel, body_max, exchange, key, body, props)


def test_a_short_string_over_255_bytes_is_refused_as_pika_refuses_it():
    with pytest.raises(pika.exceptions.ShortStringTooLong):
        amqp_frames.publish(1, 131064, "kervan", "İ" * 128, b"{}", message_id="m", correlation_id="c",
                            event_type="t", aggregate="a", seq=1, bucket="0")


def test_marking_covers_exactly_the_given_ids_never_a_gap(store41):
    outbox.write_many(store41, [outbox.product_saved(i) for i in range(1, 11)])
    ids = [r["id"] for r in store41.query("SELECT id FROM {p}kervan_outbox ORDER BY id")]
    chosen = [ids[0], ids[1], ids[2], ids[4], ids[6], ids[7], ids[9]]  # runs, singles and gaps
    assert outbox.mark_published(store41, chosen + [ids[1]]) == 7
    left = [r["id"] for r in store41.query("SELECT id FROM {p}kervan_outbox WHERE published_at IS NULL ORDER BY id")]
    assert left == [ids[3], ids[5], ids[8]]
    assert outbox.mark_published(store41, chosen) == 0  # already marked: nothing changes again


def test_the_relay_reads_rows_as_the_envelope_needs_them(store41):
    events = [outbox.product_saved(7, name="İğne \"iplik\"\n"),
              Event("stock.changed", "product", 'a"b\\İ\u2028', {"quantity": 0}, correlation_id="c\"1"),
              Event("cmd.resync", "channel", "trendyol", {"channel": "trendyol"})]
    outbox.write_many(store41, events)
    rows = Reader(store41, rescan_every=60).read(10)
    assert [r[1] for r in rows] == [e.id for e in events]
    by_dict = {r["id"]: r for r in outbox.unpublished(store41, 10)}
    for row in rows:
        old = outbox.to_event(by_dict[row[0]])  # the envelope as the relay built it before
        raw = frames_of(row, "kervan", 1, 131064)
        new = json.loads(raw[raw.index(b'{"type"'):raw.rindex(b"}") + 1])
        assert new == json.loads(old.to_json())
        assert Event.from_json(json.dumps(new)).routing_key == old.routing_key
    assert Event.from_json(json.dumps(new)).routing_key == "cmd.resync.trendyol"


def test_the_reader_reads_on_and_a_rescan_passes_over_held_rows(store41):
    outbox.write_many(store41, [outbox.product_saved(i) for i in range(1, 7)])
    reader = Reader(store41, rescan_every=3600)
    first = reader.read(4)  # the first read is a rescan (from the start)
    assert len(first) == 4
    rest = reader.read(4)  # past the highest id read, along the primary key
    assert [r[0] for r in rest] == [r["id"] for r in store41.query(
        "SELECT id FROM {p}kervan_outbox ORDER BY id")][4:]
    reader.release([first[0][0]], rescan=True)  # as after a nack: read again, the rest held
    assert [r[0] for r in reader.read(10)] == [first[0][0]]


def _consume_raw(amqp_url: str, queue: str, want: int) -> list[tuple[pika.BasicProperties, bytes]]:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    out = []
    for method, props, body in ch.consume(queue, inactivity_timeout=5):
        if method is None:
            break
        out.append((props, body))
        ch.basic_ack(method.delivery_tag)
        if len(out) == want:
            break
    ch.cancel()
    conn.close()
    return out


def test_a_payload_that_is_not_json_is_forwarded_and_parked_not_a_stopped_relay(store41, amqp_url):
    good = outbox.product_saved(40)
    outbox.write_many(store41, [outbox.product_saved(39)])
    store41.execute("UPDATE {p}kervan_outbox SET payload = %s", ("{not json",))
    outbox.write_many(store41, [good])
    with worker_thread(_relay(store41, amqp_url)):
        assert wait_until(lambda: not outbox.unpublished(store41, 1), 20)
    (bad_props, bad_body), (good_props, good_body) = _consume_raw(amqp_url, QUEUE, 2)
    with pytest.raises(PoisonMessage, match="not JSON"):
        Event.from_json(bad_body)  # what a consumer parks, with this reason
    event = Event.from_json(good_body)
    assert event.id == good.id and event.payload == {"product_id": 40}
    assert good_props.message_id == good.id and good_props.type == "product.saved"
    assert good_props.headers == {"aggregate": "product:40", "seq": event.seq, BUCKET_HEADER: bucket_of("product:40")}
    assert good_props.delivery_mode == 2 and good_props.content_type == "application/json"
    assert bad_props.message_id != good.id


def test_many_rows_through_the_relay_arrive_whole(store41, amqp_url):
    # Bodies of every size, several frames each with a small frame_max, and Turkish text.
    events = [outbox.product_saved(i, note="Ğ" * (i * 997 % 20000)) for i in range(1, 301)]
    outbox.write_many(store41, events)
    with worker_thread(_relay(store41, amqp_url + "?frame_max=8192", batch_size=64, confirm_window=128)):
        assert wait_until(lambda: not outbox.unpublished(store41, 1), 60)
    got = drain(amqp_url, QUEUE)
    assert [m["id"] for m in got] == [e.id for e in events]
    assert [m["payload"] for m in got] == [e.payload for e in events]


def test_a_row_that_cannot_be_a_message_stays_unpublished_and_the_rest_go(store41, amqp_url):
    # A routing key longer than AMQP's 255 bytes: pika refuses it as well. The row is kept,
    # unpublished (the outbox lag shows it), and the rows after it are not held up.
    bad = Event("cmd.resync", "channel", "x", {"channel": "k" * 300})
    good = outbox.product_saved(41)
    outbox.write_many(store41, [bad, good])
    logs: list[str] = []
    sink = logger.add(logs.append, level="ERROR")
    try:
        with worker_thread(_relay(store41, amqp_url, rescan_every=0.2)):
            assert wait_until(lambda: store41.one("SELECT published_at FROM {p}kervan_outbox WHERE event_id = %s",
                                                  (good.id,))["published_at"], 20)
            time.sleep(1.0)  # several rescans meet the bad row again
    finally:
        logger.remove(sink)
    said = [m for m in logs if "cannot be sent and stays unpublished" in m]
    bad_row = store41.one("SELECT id FROM {p}kervan_outbox WHERE event_id = %s", (bad.id,))["id"]
    assert len(said) == 1 and f"row {bad_row} (cmd.resync)" in said[0] and "AMQP allows 255" in said[0]
    assert store41.one("SELECT published_at FROM {p}kervan_outbox WHERE event_id = %s", (bad.id,))["published_at"] is None
    assert [m["id"] for m in drain(amqp_url, QUEUE)] == [good.id]
    assert outbox.lag(store41)["waiting"] == 1
