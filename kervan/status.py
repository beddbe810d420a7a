"""``kervan status`` and ``kervan parked``: the fleet at a glance, from the database and broker."""

from __future__ import annotations

import json
from typing import Any

import pika
import pika.exceptions
import redis

from bridge import outbox, redisconn
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


def _counters(text: str | None) -> dict | str | None:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def status_data(cfg) -> dict[str, Any]:
    """The fleet at a glance as plain data (JSON-ready): ``kervan status`` prints it and the
    gateway's ``GET /v1/status`` serves it. A broker or Redis that cannot be reached is reported
    in the data, not raised; the database is where the rest lives, so its errors propagate."""
    db = from_config(cfg)
    try:
        beats = db.query(
            "SELECT role, channel, host, pid, state, counters,"
            " TIMESTAMPDIFF(SECOND, last_seen, CURRENT_TIMESTAMP(6)) AS age FROM {p}kervan_heartbeat"
            " ORDER BY role, channel, host, pid"
        )
        processes = [{
            "role": b["role"], "channel": b["channel"] or "", "host": b["host"], "pid": int(b["pid"]),
            "state": b["state"], "alive": b["age"] <= ALIVE_SECONDS and b["state"] != "stopped",
            "seen_seconds_ago": int(b["age"]), "counters": _counters(b["counters"]),
        } for b in beats]
        depths = queue_depths(cfg.get("amqp", "url"), Topology.from_config(cfg))
        queues = {q: None if v is None else {"messages": v[0], "consumers": v[1]} for q, v in depths.items()}
        breakers: list[dict[str, Any]] = []
        redis_error = None
        try:
            client = redisconn.connect(cfg, socket_timeout=3)
            for ch in db.query("SELECT code, account, paused FROM {p}kervan_channel ORDER BY code, account"):
                breakers.append({"channel": ch["code"], "account": ch["account"], "paused": bool(ch["paused"]),
                                 "state": breaker.state(client, cfg.get("redis", "prefix"), ch["code"], ch["account"])})
            client.close()
        except redis.RedisError as exc:
            redis_error = str(exc)
        parked = db.one("SELECT COUNT(*) AS n FROM {p}kervan_parked WHERE status = 'open'")["n"]
        listings = [{"channel": r["code"], "status": r["status"], "count": int(r["n"])} for r in db.query(
            "SELECT c.code, l.status, COUNT(*) AS n FROM {p}kervan_listing l JOIN {p}kervan_channel c"
            " USING (channel_id) GROUP BY c.code, l.status ORDER BY c.code, l.status"
        )]
        return {"processes": processes, "outbox": outbox.lag(db), "broker_reachable": bool(depths),
                "queues": queues, "breakers": breakers, "redis_error": redis_error,
                "parked_open": int(parked), "listings": listings}
    finally:
        db.close()


def print_status(cfg) -> int:
    data = status_data(cfg)
    print("processes")
    for b in data["processes"]:
        alive = "alive" if b["alive"] else "gone"
        counters = b["counters"]
        shown = json.dumps(counters) if isinstance(counters, dict) else (counters or "")
        print(f"  {b['role']:<8} {b['channel'] or '-':<10} {b['host']}:{b['pid']:<8} {b['state']:<10} {alive:<5}"
              f" seen {b['seen_seconds_ago']}s ago  {shown}")
    if not data["processes"]:
        print("  (none has ever run)")
    lag = data["outbox"]
    print(f"outbox    {lag['waiting']} waiting, oldest {lag['oldest_seconds']:.1f}s")
    print("queues")
    if not data["broker_reachable"]:
        print("  broker unreachable")
    for q, v in data["queues"].items():
        print(f"  {q:<32} " + ("not declared" if v is None else f"{v['messages']} ready, {v['consumers']} consumers"))
    print("breakers")
    if data["redis_error"] is not None:
        print(f"  Redis unreachable: {data['redis_error']}")
    else:
        for b in data["breakers"]:
            name = f"{b['channel']}/{b['account']}"
            print(f"  {name:<32} {b['state']}" + ("  (paused by the merchant)" if b["paused"] else ""))
    print(f"parked    {data['parked_open']} open")
    print("listings")
    for r in data["listings"]:
        print(f"  {r['channel']:<10} {r['status']:<10} {r['count']}")
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
