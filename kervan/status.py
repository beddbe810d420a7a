"""``kervan status`` and ``kervan parked``: the fleet at a glance, from the database and broker."""

from __future__ import annotations

import pika
import pika.exceptions
import redis

from bridge import outbox
from bridge.db import from_config
from bridge.topology import CONTROL, PARKED, Topology, connection_parameters
from workers import breaker, parking

ALIVE_SECONDS = 30


def queue_depths(amqp_url: str, topology: Topology) -> dict[str, tuple[int, int] | None]:
    """Queue → (messages, consumers), by passive declares (no management plugin needed)."""
    out: dict[str, tuple[int, int] | None] = {}
    try:
        conn = pika.BlockingConnection(connection_parameters(amqp_url))
    except pika.exceptions.AMQPError:
        return {}
    try:
        for q in [*topology.work_queues(), CONTROL, PARKED]:
            ch = conn.channel()
            try:
                ok = ch.queue_declare(q, passive=True).method
                out[q] = (ok.message_count, ok.consumer_count)
                ch.close()
            except pika.exceptions.ChannelClosedByBroker:
                out[q] = None
    finally:
        conn.close()
    return out


def print_status(cfg) -> int:
    db = from_config(cfg)
    print("processes")
    beats = db.query(
        "SELECT role, channel, host, pid, state, counters,"
        " TIMESTAMPDIFF(SECOND, last_seen, CURRENT_TIMESTAMP(6)) AS age FROM {p}kervan_heartbeat"
        " ORDER BY role, channel, host, pid"
    )
    for b in beats:
        alive = "alive" if b["age"] <= ALIVE_SECONDS and b["state"] != "stopped" else "gone"
        print(f"  {b['role']:<8} {b['channel'] or '-':<10} {b['host']}:{b['pid']:<8} {b['state']:<10} {alive:<5}"
              f" seen {b['age']}s ago  {b['counters'] or ''}")
    if not beats:
        print("  (none has ever run)")
    lag = outbox.lag(db)
    print(f"outbox    {lag['waiting']} waiting, oldest {lag['oldest_seconds']:.1f}s")
    print("queues")
    depths = queue_depths(cfg.get("amqp", "url"), Topology.from_config(cfg))
    if not depths:
        print("  broker unreachable")
    for q, v in depths.items():
        print(f"  {q:<32} " + ("not declared" if v is None else f"{v[0]} ready, {v[1]} consumers"))
    print("breakers")
    try:
        client = redis.Redis.from_url(cfg.get("redis", "url"), socket_timeout=3)
        for ch in db.query("SELECT code, account, paused FROM {p}kervan_channel ORDER BY code, account"):
            state = breaker.state(client, cfg.get("redis", "prefix"), ch["code"], ch["account"])
            print(f"  {ch['code']}/{ch['account']:<12} {state}" + ("  (paused by the merchant)" if ch["paused"] else ""))
        client.close()
    except redis.RedisError as exc:
        print(f"  Redis unreachable: {exc}")
    parked = db.one("SELECT COUNT(*) AS n FROM {p}kervan_parked WHERE status = 'open'")["n"]
    print(f"parked    {parked} open")
    print("listings")
    for r in db.query(
        "SELECT c.code, l.status, COUNT(*) AS n FROM {p}kervan_listing l JOIN {p}kervan_channel c"
        " USING (channel_id) GROUP BY c.code, l.status ORDER BY c.code, l.status"
    ):
        print(f"  {r['code']:<10} {r['status']:<10} {r['n']}")
    return 0


def parked_command(cfg, action: str, ids: list[int], *, queue: str | None = None, reason: str | None = None) -> int:
    """List, replay or discard parked messages chosen by id, or by queue and/or reason."""
    db = from_config(cfg)
    chosen = parking.list_open(db, 10_000, queue=queue, reason=reason)
    if action == "list":
        for r in chosen[:500]:
            print(f"{r['parked_id']:>6}  {r['queue']:<28} {r['event_type'] or '-':<16} attempts {r['attempts']:<3}"
                  f" {r['reason']}")
        return 0
    if not ids:
        if queue is None and reason is None:
            print("give parked ids, or --queue and/or --reason to choose them")
            return 2
        ids = [r["parked_id"] for r in chosen]
    if action == "discard":
        for i in ids:
            print(f"{i}: {'discarded' if parking.discard(db, i) else 'not open'}")
        return 0
    conn = pika.BlockingConnection(connection_parameters(cfg.get("amqp", "url")))
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        for i in ids:
            replayed = parking.replay(db, lambda *a: ch.basic_publish(*a, mandatory=True), i)
            print(f"{i}: {'replayed' if replayed else 'not open'}")
    finally:
        conn.close()
    return 0
