"""Outbox relay throughput against the broker's own ceiling, measured in the same run.

Baseline: a bare pika SelectConnection loop publishing the very messages the relay publishes —
same bodies and the same properties (message id, correlation id, type, the aggregate/seq/bucket headers,
persistent, mandatory) to the same quorum queue — with asynchronous confirms and the same window:
what this machine's RabbitMQ and pika can do with nothing to read or mark. A second baseline
publishes the bodies with minimal properties (how this benchmark measured before); a third writes
the same messages the way the relay writes them (its own frame writer, one write per refill), the
stricter ceiling, since the relay now publishes more cheaply than ``basic_publish``.

Kervan: the relay (``bridge.relay``, the code the fleet runs) already running as leader with its
session open; ``n`` rows are committed into ``kervan_outbox`` in one transaction, and the clock
runs from that commit until the last row is marked published (both read from MariaDB's clock,
so the watcher's polling costs the relay nothing measurable). Reported: events/s for both and
the ratios (target ≥ 0.8 against bare pika).
"""

from __future__ import annotations

import dataclasses
import threading
import time

import pika

from bridge import amqp_frames, outbox
from bridge.heartbeat import wait_until
from bridge.relay import Relay, RelayConnection, RelaySettings
from bridge.topology import BUCKET_HEADER, Topology, bucket_of, connection_parameters, declare_all


def properties(event) -> pika.BasicProperties:
    """The properties the relay gives every message (``bridge.relay``)."""
    return pika.BasicProperties(content_type="application/json", delivery_mode=2, message_id=event.id,
                                correlation_id=event.correlation_id, type=event.type,
                                headers={"aggregate": event.aggregate, "seq": event.seq,
                                         BUCKET_HEADER: bucket_of(event.aggregate)})


def _confirmed_loop(amqp_url: str, n: int, window: int, send, connection=pika.SelectConnection) -> float:
    """Seconds to publish ``n`` messages with async confirms, ``window`` unconfirmed at most,
    refilling the window on each confirm; ``send(conn, channel, lo, hi)`` publishes lo … hi-1."""
    state = {"next": 0, "confirmed": 0, "t0": 0.0, "t1": 0.0}
    conn = None

    def publish_more(channel) -> None:
        hi = min(n, state["confirmed"] + window)
        if hi > state["next"]:
            send(conn, channel, state["next"], hi)
            state["next"] = hi

    def on_confirm(frame, channel) -> None:
        state["confirmed"] += frame.method.delivery_tag - state["confirmed"] if frame.method.multiple else 1
        if state["confirmed"] >= n:
            state["t1"] = time.perf_counter()
            conn.close()
            return
        publish_more(channel)

    def on_channel(channel) -> None:
        channel.confirm_delivery(ack_nack_callback=lambda f: on_confirm(f, channel),
                                 callback=lambda _f: (state.__setitem__("t0", time.perf_counter()),
                                                      publish_more(channel)))

    conn = connection(connection_parameters(amqp_url),
                      on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
                      on_close_callback=lambda c, r: c.ioloop.stop())
    conn.ioloop.start()
    return state["t1"] - state["t0"]


def bare_pika(amqp_url: str, bodies: list[bytes], window: int, props: list | None = None) -> float:
    """Seconds to publish ``bodies`` with ``basic_publish``; with ``props`` (one per body) as
    given, else persistent JSON and nothing more."""
    plain = pika.BasicProperties(delivery_mode=2, content_type="application/json")

    def send(_conn, channel, lo: int, hi: int) -> None:
        for i in range(lo, hi):
            channel.basic_publish("kervan", "product.saved", bodies[i], props[i] if props else plain, mandatory=True)

    return _confirmed_loop(amqp_url, len(bodies), window, send)


def bare_kervan_writer(amqp_url: str, published: list, bodies: list[bytes], window: int) -> float:
    """Seconds for the same loop, but writing as the relay writes: its own frames
    (``bridge.amqp_frames``) and one write per refill of the window. What the relay's
    publishing could do with nothing to read or mark: the stricter ceiling."""

    def send(conn, channel, lo: int, hi: int) -> None:
        pieces = []
        for i in range(lo, hi):
            e = published[i]
            pieces.append(amqp_frames.publish(channel.channel_number, conn.body_max, "kervan", "product.saved",
                                              bodies[i], message_id=e.id, correlation_id=e.correlation_id or e.id,
                                              event_type=e.type, aggregate=e.aggregate, seq=e.seq,
                                              bucket=bucket_of(e.aggregate)))
        conn.write_frames(b"".join(pieces), 3 * len(pieces))

    return _confirmed_loop(amqp_url, len(published), window, send, connection=RelayConnection)


def kervan_relay(db, amqp_url: str, events: list, window: int) -> float:
    """Seconds from committing ``events`` into the outbox (the relay already leader and idle)
    until the last of them is marked published, on MariaDB's clock."""
    relay = Relay(db, RelaySettings(amqp_url=amqp_url, confirm_window=window, batch_size=500,
                                    purge_every=1e9, topology=Topology()))
    t = threading.Thread(target=relay.run, daemon=True)
    t.start()
    try:
        outbox.write_many(db, [outbox.product_saved(1, source="bench-warmup")])
        if not wait_until(lambda: not outbox.unpublished(db, 1), 60, 0.02):
            raise RuntimeError("the relay did not publish the warm-up event")
        time.sleep(0.3)
        outbox.write_many(db, events)
        t0 = db.one("SELECT NOW(6) AS t")["t"]
        if not wait_until(lambda: not outbox.unpublished(db, 1), 600, 0.05):
            raise RuntimeError("the relay did not publish every event")
        t1 = db.one("SELECT MAX(published_at) AS t FROM {p}kervan_outbox")["t"]
    finally:
        relay.stop()
        t.join(30)
    return max((t1 - t0).total_seconds(), 1e-6)


def purge(amqp_url: str) -> None:
    conn = pika.BlockingConnection(connection_parameters(amqp_url))
    conn.channel().queue_purge(Topology.queue("catalog", "trendyol"))
    conn.close()


def run(env, n: int, window: int = 1000) -> dict:
    declare_all(env.amqp_url, Topology())
    events = [outbox.product_saved(i % 19 + 28) for i in range(n)]
    # What the relay will publish: the same envelope, with the seq the outbox assigns (ids follow
    # the warm-up row), so the bodies and properties are byte for byte the same size.
    first = int(env.db.one("SELECT COALESCE(MAX(id), 0) AS m FROM {p}kervan_outbox")["m"]) + 2
    published = [dataclasses.replace(e, seq=first + i) for i, e in enumerate(events)]
    bodies = [e.to_json() for e in published]
    props = [properties(e) for e in published]
    # The baseline runs before and after the relay and the mean is taken: on a shared machine
    # the broker's speed drifts within seconds, and bracketing keeps the ratio fair.
    before = bare_pika(env.amqp_url, bodies, window, props)
    purge(env.amqp_url)
    plain = bare_pika(env.amqp_url, bodies, window)
    purge(env.amqp_url)
    mine = kervan_relay(env.db, env.amqp_url, events, window)
    purge(env.amqp_url)
    after = bare_pika(env.amqp_url, bodies, window, props)
    purge(env.amqp_url)
    strict = bare_kervan_writer(env.amqp_url, published, bodies, window)
    purge(env.amqp_url)
    same = (before + after) / 2
    env.db.execute("DELETE FROM {p}kervan_outbox")
    return {"events": n, "baseline_per_s": n / same, "kervan_per_s": n / mine, "ratio": same / mine,
            "plain_baseline_per_s": n / plain, "plain_ratio": plain / mine,
            "writer_baseline_per_s": n / strict, "writer_ratio": strict / mine}
