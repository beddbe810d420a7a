"""Outbox relay throughput against the broker's own ceiling, measured in the same run.

Baseline: a bare pika SelectConnection loop publishing the same messages (same size, persistent,
mandatory, to the same quorum queue) with asynchronous confirms and the same window — what this
machine's RabbitMQ and pika can do at best. Kervan: the relay taking the same number of rows
from ``kervan_outbox`` to confirmed and marked published. Reported: events/s for both and the
ratio (target ≥ 0.8).
"""

from __future__ import annotations

import threading
import time

import pika

from bridge import outbox
from bridge.relay import Relay, RelaySettings
from bridge.topology import Topology, connection_parameters, declare_all


def bare_pika(amqp_url: str, bodies: list[bytes], window: int) -> float:
    """Seconds to publish ``bodies`` with async confirms, ``window`` unconfirmed at most."""
    state = {"next": 0, "unconfirmed": 0, "confirmed": 0, "t0": 0.0, "t1": 0.0}
    conn = None

    def publish_more(channel) -> None:
        while state["unconfirmed"] < window and state["next"] < len(bodies):
            channel.basic_publish("kervan", "product.saved", bodies[state["next"]],
                                  pika.BasicProperties(delivery_mode=2, content_type="application/json"),
                                  mandatory=True)
            state["next"] += 1
            state["unconfirmed"] += 1

    def on_confirm(frame, channel) -> None:
        n = frame.method.delivery_tag - state["confirmed"] if frame.method.multiple else 1
        state["confirmed"] += n
        state["unconfirmed"] -= n
        if state["confirmed"] >= len(bodies):
            state["t1"] = time.perf_counter()
            conn.close()
            return
        publish_more(channel)

    def on_channel(channel) -> None:
        channel.confirm_delivery(ack_nack_callback=lambda f: on_confirm(f, channel),
                                 callback=lambda _f: (state.__setitem__("t0", time.perf_counter()),
                                                      publish_more(channel)))

    conn = pika.SelectConnection(connection_parameters(amqp_url),
                                 on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
                                 on_close_callback=lambda c, r: c.ioloop.stop())
    conn.ioloop.start()
    return state["t1"] - state["t0"]


def kervan_relay(db, amqp_url: str, n: int, window: int) -> float:
    """Seconds from starting the relay on ``n`` waiting rows until every one is marked published."""
    relay = Relay(db, RelaySettings(amqp_url=amqp_url, confirm_window=window, batch_size=500,
                                    purge_every=1e9, topology=Topology()))
    t0 = time.perf_counter()
    t = threading.Thread(target=relay.run, daemon=True)
    t.start()
    while db.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox WHERE published_at IS NULL")["n"]:
        time.sleep(0.005)
    elapsed = time.perf_counter() - t0
    relay.stop()
    t.join(30)
    return elapsed


def purge(amqp_url: str) -> None:
    conn = pika.BlockingConnection(connection_parameters(amqp_url))
    conn.channel().queue_purge(Topology.queue("catalog", "trendyol"))
    conn.close()


def run(env, n: int, window: int = 1000) -> dict:
    declare_all(env.amqp_url, Topology())
    events = [outbox.product_saved(i % 19 + 28) for i in range(n)]
    bodies = [e.to_json() for e in events]
    base = bare_pika(env.amqp_url, bodies, window)
    purge(env.amqp_url)
    outbox.write_many(env.db, events)
    mine = kervan_relay(env.db, env.amqp_url, n, window)
    purge(env.amqp_url)
    env.db.execute("DELETE FROM {p}kervan_outbox")
    return {"events": n, "baseline_per_s": n / base, "kervan_per_s": n / mine, "ratio": base / mine}
