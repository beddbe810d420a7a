"""The ``kervan_outbox`` table: writing events, claiming unpublished ones, marking and purging.

The OpenCart extension writes the same rows from PHP on OpenCart's own connection; Python code
(order import, admin commands, the demo) writes them here, inside its own transaction, so an
event exists exactly when the change it describes was committed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

import pymysql.cursors

from bridge.db import Database, is_lost_connection
from bridge.envelope import SCHEMA_VERSION, Event

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


def claim(
    db: Database,
    limit: int,
    exclude: set[int] | frozenset[int] = frozenset(),
    after: int = 0,
) -> list[dict[str, Any]]:
    """Unpublished rows in id order, selected by state (reliability §7: auto-increment ids become
    visible out of commit order, so an id cursor alone would skip rows for ever).

    ``after`` lets a busy relay skip the rows it already has in flight instead of reading them
    again on every poll; it must still call with ``after=0`` regularly (a rescan), which is what
    picks up a row that became visible late or was nacked. SKIP LOCKED passes over rows another
    transaction still holds, instead of waiting on them."""
    rows = db.run_in_transaction(
        lambda cur: (
            cur.execute(
                "SELECT id, event_id, event_type, aggregate_type, aggregate_id, payload, correlation_id, source,"
                " created_at FROM {p}kervan_outbox WHERE published_at IS NULL AND id > %s ORDER BY id LIMIT %s"
                " FOR UPDATE SKIP LOCKED",
                (after, limit + (len(exclude) if not after else 0)),
            ),
            cur.fetchall(),
        )[1]
    )
    return [r for r in rows if r["id"] not in exclude][:limit]


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


class Message(NamedTuple):
    """One outbox row as the relay publishes it: the body is the envelope ``to_event(row).to_json()``
    would give (the payload is forwarded as stored instead of being parsed and dumped again)."""

    id: int
    body: bytes
    event_id: str
    type: str
    aggregate: str
    correlation_id: str
    routing_key: str


# The envelope is built by MariaDB, so the relay reads one ready body per row instead of decoding
# nine columns, parsing the payload and serialising it again (about 25 µs of Python per event,
# most of the relay's own CPU on a machine it shares with the broker). Field order and separators
# are those of Event.to_json(); JSON_QUOTE escapes as json.dumps does (\u001F is upper case there,
# which JSON readers take alike). A payload that is not valid JSON gets no body here: that row
# goes through to_event() (see claim_messages).
_BODY = (
    "CAST(IF(JSON_VALID(payload), CONCAT('{\"type\":', JSON_QUOTE(event_type),"
    " ',\"aggregate_type\":', JSON_QUOTE(aggregate_type), ',\"aggregate_id\":', JSON_QUOTE(aggregate_id),"
    " ',\"payload\":', payload, ',\"id\":', JSON_QUOTE(event_id),"
    " ',\"occurred_at\":\"', DATE_FORMAT(created_at, '%%Y-%%m-%%dT%%H:%%i:%%s.%%fZ'),"
    " '\",\"correlation_id\":', JSON_QUOTE(COALESCE(NULLIF(correlation_id, ''), event_id)),"
    " ',\"seq\":', id, ',\"source\":', JSON_QUOTE(source), ',\"schema\":" + str(SCHEMA_VERSION) + "}'),"
    " NULL) AS BINARY)"
)
# Only the constant above is spliced in; values are parameters.
_CLAIM = (
    "SELECT id, " + _BODY + ", event_id, event_type, CONCAT(aggregate_type, ':', aggregate_id),"  # noqa: S608
    " COALESCE(NULLIF(correlation_id, ''), event_id) FROM {p}kervan_outbox"
    " WHERE published_at IS NULL AND id > %s ORDER BY id LIMIT %s"
)


def claim_messages(
    db: Database,
    limit: int,
    exclude: set[int] | frozenset[int] = frozenset(),
    after: int = 0,
) -> list[Message]:
    """What ``claim`` selects, ready to publish (the relay's hot path).

    A plain consistent read, not ``FOR UPDATE SKIP LOCKED``: one relay is active at a time (the
    leader lock), so a row lock taken and dropped within the claim protects nothing, and a read
    view shows a committing transaction's rows all or none, where SKIP LOCKED passed over rows
    whose locks were still being released. Rows that become visible below ``after`` later (ids
    commit out of order, reliability §7) are still found by the caller's rescan with ``after=0``."""
    sql = db.sql(_CLAIM)
    params = (after, limit + (len(exclude) if not after else 0))
    try:
        rows = _tuples(db, sql, params)
    except Exception as exc:
        if not is_lost_connection(exc):
            raise
        db.reset()
        rows = _tuples(db, sql, params)  # a read: safe to run again
    out = []
    for id_, body, event_id, type_, aggregate, correlation_id in rows:
        if id_ in exclude:
            continue
        if body is None:
            # Invalid stored payload: the general path decides (and fails loudly, as it always has).
            (row,) = db.query(
                "SELECT id, event_id, event_type, aggregate_type, aggregate_id, payload, correlation_id, source,"
                " created_at FROM {p}kervan_outbox WHERE id = %s", (id_,))
            event = to_event(row)
            out.append(Message(id_, event.to_json(), event.id, event.type, event.aggregate,
                               event.correlation_id or event.id, event.routing_key))
            continue
        routing_key = type_
        if type_.startswith("cmd."):
            # Commands aimed at one channel route by it (Event.routing_key); they are few.
            payload = json.loads(body).get("payload")
            channel = payload.get("channel") if isinstance(payload, dict) else None
            if channel:
                routing_key = f"{type_}.{channel}"
        out.append(Message(id_, body, event_id, type_, aggregate, correlation_id, routing_key))
        if len(out) == limit:
            break
    return out


def _tuples(db: Database, sql: str, params: tuple) -> tuple:
    # A plain cursor: rows as tuples cost pymysql less than dicts, and this runs for every event.
    with db.conn.cursor(pymysql.cursors.Cursor) as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def mark_published(db: Database, ids: Iterable[int]) -> int:
    """Mark rows published (after the broker confirmed them). Runs of consecutive ids are sent as
    ranges: a burst is one or a few ``BETWEEN`` instead of a list of thousands of ids. A range
    holds only ids that were given, so no other row can be marked by it."""
    ids = sorted(set(ids))
    if not ids:
        return 0
    ranges: list[int] = []
    start = prev = ids[0]
    for i in ids[1:]:
        if i != prev + 1:
            ranges += (start, prev)
            start = i
        prev = i
    ranges += (start, prev)
    where = " OR ".join(["id BETWEEN %s AND %s"] * (len(ranges) // 2))
    return db.run_in_transaction(
        lambda cur: cur.execute(
            f"UPDATE {{p}}kervan_outbox SET published_at = CURRENT_TIMESTAMP(6),"  # noqa: S608 - placeholders only
            f" publish_attempts = publish_attempts + 1 WHERE ({where}) AND published_at IS NULL",
            ranges,
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
