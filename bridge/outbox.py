"""The ``kervan_outbox`` table: writing events, claiming unpublished ones, marking and purging.

The OpenCart extension writes the same rows from PHP on OpenCart's own connection; Python code
(order import, admin commands, the demo) writes them here, inside its own transaction, so an
event exists exactly when the change it describes was committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from bridge.db import Database
from bridge.envelope import Event

_INSERT = (
    "INSERT INTO {p}kervan_outbox (event_id, event_type, aggregate_type, aggregate_id, payload,"
    " correlation_id, source) VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


def _row(event: Event) -> tuple:
    return (
        event.id,
        event.type,
        event.aggregate_type,
        event.aggregate_id,
        json.dumps(event.payload, ensure_ascii=False, separators=(",", ":")),
        event.correlation_id,
        event.source,
    )


def write(cur: Any, event: Event) -> None:
    """Insert one event using ``cur`` (a cursor inside the caller's transaction)."""
    cur.execute(_INSERT, _row(event))


def write_many(db: Database, events: Iterable[Event]) -> int:
    rows = [_row(e) for e in events]
    if not rows:
        return 0

    def run(cur: Any) -> int:
        cur.executemany(_INSERT, rows)
        return len(rows)

    return db.run_in_transaction(run)


def product_saved(product_id: int, source: str = "kervan", **payload: Any) -> Event:
    return Event("product.saved", "product", str(int(product_id)), {"product_id": int(product_id), **payload},
                 source=source)


def product_deleted(product_id: int, source: str = "kervan", **payload: Any) -> Event:
    return Event("product.deleted", "product", str(int(product_id)), {"product_id": int(product_id), **payload},
                 source=source)


def unpublished(db: Database, limit: int) -> list[dict[str, Any]]:
    """The oldest unpublished rows as dicts (``to_event`` turns one into its event), for tools and
    tests. The relay reads with ``claim_for_relay``."""
    return db.query(
        "SELECT id, event_id, event_type, aggregate_type, aggregate_id, payload, correlation_id, source,"
        " created_at FROM {p}kervan_outbox WHERE published_at IS NULL ORDER BY id LIMIT %s",
        (limit,),
    )


# What the relay needs of a row: the payload as the bytes stored (the relay forwards it without
# decoding it) and created_at already in the envelope's ISO form (MariaDB does in C what pymysql's
# datetime converter and strftime did in Python, per row).
_RELAY_SELECT = (
    "SELECT id, event_id, event_type, aggregate_type, aggregate_id, CAST(payload AS BINARY), correlation_id,"
    " source, DATE_FORMAT(created_at, '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ') FROM {p}kervan_outbox"
)
_RELAY_WHERE = " WHERE published_at IS NULL AND id > %s ORDER BY id LIMIT %s"


def claim_for_relay(db: Database, limit: int, after: int = 0) -> tuple[tuple, ...]:
    """Unpublished rows above ``after`` in id order, as tuples (id, event_id, event_type,
    aggregate_type, aggregate_id, payload bytes, correlation_id, source, occurred_at).

    A plain read, not a locking one: only the leader relay publishes, and a transaction's rows are
    invisible until it commits, which is what SKIP LOCKED achieved. A row that commits below
    ``after`` later than its neighbours is found by the relay's rescan (``after=0``), as before.

    Past ``after`` the rows are read along the primary key: they are nearly all unpublished, and
    this skips a lookup per row through the ``unpublished`` index. A rescan must use that index,
    or it would walk every published row kept for the retention period."""
    hint = " FORCE INDEX (PRIMARY)" if after else ""
    return db.tuples(_RELAY_SELECT + hint + _RELAY_WHERE, (after, limit))


def to_event(row: dict[str, Any]) -> Event:
    created = row["created_at"]
    return Event(
        type=row["event_type"],
        aggregate_type=row["aggregate_type"],
        aggregate_id=row["aggregate_id"],
        payload=json.loads(row["payload"] or "{}"),
        id=row["event_id"],
        occurred_at=created.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if hasattr(created, "strftime") else str(created),
        correlation_id=row["correlation_id"] or row["event_id"],
        seq=int(row["id"]),
        source=row["source"],
    )


def mark_published(db: Database, ids: Iterable[int]) -> int:
    """Mark these rows published. Runs of consecutive ids are sent as ranges, which MariaDB
    parses and walks faster than a long IN list; a range covers only ids in ``ids``, never a
    gap between them (a gap may be a row that becomes visible later and was never sent)."""
    ids = sorted(set(ids))
    if not ids:
        return 0
    ranges: list[int] = []
    singles: list[int] = []
    start = prev = ids[0]
    for i in [*ids[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        if prev > start:
            ranges += (start, prev)
        else:
            singles.append(start)
        if i is not None:
            start = prev = i
    terms = ["id BETWEEN %s AND %s"] * (len(ranges) // 2)
    if singles:
        terms.append(f"id IN ({','.join(['%s'] * len(singles))})")
    return db.run_in_transaction(
        lambda cur: cur.execute(
            # publish_attempts is left alone: it was always 1 here, nothing reads it, and it cost about a
            # fifth of the UPDATE.
            "UPDATE {p}kervan_outbox SET published_at = CURRENT_TIMESTAMP(6)"  # noqa: S608 - placeholders only
            f" WHERE published_at IS NULL AND ({' OR '.join(terms)})",
            [*ranges, *singles],
        )
    )


def purge(db: Database, retention_hours: float, batch: int = 5000) -> int:
    """Delete published rows older than the retention, in small batches (no long locks)."""
    total = 0
    while True:
        n = db.run_in_transaction(
            lambda cur: cur.execute(
                "DELETE FROM {p}kervan_outbox WHERE published_at IS NOT NULL"
                " AND published_at < CURRENT_TIMESTAMP(6) - INTERVAL %s SECOND ORDER BY id LIMIT %s",
                (int(retention_hours * 3600), batch),
            )
        )
        total += n
        if n < batch:
            return total


def lag(db: Database) -> dict[str, Any]:
    """How many rows wait and how old the oldest is, in seconds (outbox lag for status/metrics)."""
    row = db.one(
        "SELECT COUNT(*) AS waiting, TIMESTAMPDIFF(MICROSECOND, MIN(created_at), CURRENT_TIMESTAMP(6)) AS age_us"
        " FROM {p}kervan_outbox WHERE published_at IS NULL"
    ) or {"waiting": 0, "age_us": None}
    age = row["age_us"]
    return {"waiting": int(row["waiting"] or 0), "oldest_seconds": (age / 1e6) if age is not None else 0.0}
