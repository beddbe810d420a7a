"""Parked messages: the ones the fleet gave up on, kept in ``kervan_parked`` where the merchant
and the operator see them, with the reason, and from where they can be replayed or discarded."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pika

from bridge.db import Database

# The first part of a body lives in kervan_parked.body, the rest in kervan_parked_part rows of this
# size: each statement stays far below max_allowed_packet (16 MB; bytes travel hex-encoded) and
# each BLOB below a tenth of InnoDB's redo log (96 MB by default), whatever the body's size.
PARKED_PART_BYTES = 2 * 1024 * 1024


def park(
    db: Database,
    *,
    queue: str,
    message_id: str,
    body: bytes,
    reason: str,
    routing_key: str = "",
    event_type: str | None = None,
    headers: dict[str, Any] | None = None,
    attempts: int = 0,
) -> None:
    """Record a parked message, its body whole however large; parking the same message again (a
    redelivery, or at-least-once dead-lettering's duplicates) updates the row instead of adding one."""

    def run(cur: Any) -> None:
        cur.execute(
            "INSERT INTO {p}kervan_parked (message_id, queue, routing_key, event_type, headers, body, reason, attempts)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE reason = VALUES(reason),"
            " attempts = GREATEST(attempts, VALUES(attempts)), last_failed_at = CURRENT_TIMESTAMP(6),"
            " status = 'open', resolved_at = NULL",
            (
                message_id[:64],
                queue[:255],
                routing_key[:255],
                (event_type or "")[:64] or None,
                json.dumps(_jsonable(headers or {}), ensure_ascii=False),
                body[:PARKED_PART_BYTES],
                reason,
                attempts,
            ),
        )
        if cur.rowcount != 1 or len(body) <= PARKED_PART_BYTES:
            return  # parked before: its parts are there already (same message, same body)
        parked_id = cur.lastrowid
        for seq, start in enumerate(range(PARKED_PART_BYTES, len(body), PARKED_PART_BYTES), start=1):
            cur.execute("INSERT INTO {p}kervan_parked_part (parked_id, seq, data) VALUES (%s, %s, %s)",
                        (parked_id, seq, body[start:start + PARKED_PART_BYTES]))

    db.run_in_transaction(run)


def body_of(db: Database, parked_id: int, first: bytes) -> bytes:
    """A parked message's whole body: ``first`` (its ``kervan_parked.body``) and its parts."""
    parts = db.query("SELECT data FROM {p}kervan_parked_part WHERE parked_id = %s ORDER BY seq", (parked_id,))
    return bytes(first) + b"".join(bytes(r["data"]) for r in parts)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def list_open(db: Database, limit: int = 100, *, queue: str | None = None,
              reason: str | None = None) -> list[dict[str, Any]]:
    """Open parked messages, oldest first; ``queue`` matches exactly, ``reason`` as a substring."""
    return db.query(
        "SELECT parked_id, message_id, queue, event_type, reason, attempts, status, first_failed_at, last_failed_at"
        " FROM {p}kervan_parked WHERE status = 'open' AND (%s IS NULL OR queue = %s)"
        " AND (%s IS NULL OR reason LIKE CONCAT('%%', %s, '%%')) ORDER BY parked_id LIMIT %s",
        (queue, queue, reason, reason, limit),
    )


def replay(db: Database, publish: Callable[..., None], parked_id: int) -> bool:
    """Publish a parked message back to its queue and mark it replayed. ``publish(exchange,
    routing_key, body, properties)`` must return only once the broker confirmed."""
    row = db.one("SELECT * FROM {p}kervan_parked WHERE parked_id = %s AND status = 'open'", (parked_id,))
    if row is None:
        return False
    publish(
        "",
        row["queue"],
        body_of(db, parked_id, row["body"]),
        pika.BasicProperties(delivery_mode=2, message_id=row["message_id"], headers={"x-kervan-replay": parked_id}),
    )
    db.execute(
        "UPDATE {p}kervan_parked SET status = 'replayed', resolved_at = CURRENT_TIMESTAMP(6) WHERE parked_id = %s",
        (parked_id,),
    )
    return True


def discard(db: Database, parked_id: int) -> bool:
    return bool(
        db.execute(
            "UPDATE {p}kervan_parked SET status = 'discarded', resolved_at = CURRENT_TIMESTAMP(6)"
            " WHERE parked_id = %s AND status = 'open'",
            (parked_id,),
        )
    )
