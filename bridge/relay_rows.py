"""The relay's database side: reading outbox rows into messages, and marking confirmed rows
published on a thread of its own.

Why a marking thread: the UPDATE that marks a batch and its commit took MariaDB longer than
claiming and publishing the same rows, and done on the I/O loop nothing was sent nor confirmed
meanwhile. On its own thread and connection MariaDB marks while the broker works. (Reading ahead
on a thread as well was measured and was slower on two vCPUs — the read is short, and the GIL and
the switching cost more than the overlap gained; docs/performance.md has the figures.)

Every id the reader hands out stays *held* until the marker has marked it or the I/O loop gives
it back (nack): a rescan from the start of the table meets those rows still unpublished and must
not send them twice.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable

from loguru import logger

from bridge import amqp_frames, envelope, outbox
from bridge.db import Database
from bridge.envelope import routing_key
from bridge.topology import bucket_of


def frames_of(row: tuple, exchange: str, channel: int, body_max: int) -> bytes:
    """The wire bytes of one row of ``outbox.claim_for_relay``: the envelope of
    ``bridge.envelope`` with the payload forwarded as stored, not decoded and encoded again (it is
    most of the body). A payload that is not a JSON object is parked by its consumers with the
    reason; it cannot stop the relay on that row."""
    oid, event_id, event_type, agg_type, agg_id, payload, corr, source, occurred = row
    corr = corr or event_id
    aggregate = f"{agg_type}:{agg_id}"
    body = envelope.body(event_type, agg_type, agg_id, event_id, occurred, corr, oid, source, payload or b"{}")
    # bucket: which partition of a partitioned queue takes it (bridge/topology.py).
    return amqp_frames.publish(channel, body_max, exchange, _routing_key(event_type, payload), body,
                               message_id=event_id, correlation_id=corr, event_type=event_type,
                               aggregate=aggregate, seq=oid, bucket=bucket_of(aggregate))


def _routing_key(event_type: str, payload: bytes | None) -> str:
    if not event_type.startswith("cmd."):
        return event_type
    # Commands aimed at one channel route by it, so only they need their payload read.
    try:
        data = json.loads(payload or b"{}")
    except ValueError:
        return event_type
    return routing_key(event_type, data if isinstance(data, dict) else {})


class Reader:
    """Reads unpublished rows in id order for one relay session.

    It reads past the highest id it has read; every ``rescan_every`` seconds (and at once after
    a nack, or after a rescan that found something) it reads from the start instead, which finds
    rows that became visible below that point: auto-increment ids are taken in insert order but
    become visible in commit order (reliability §7)."""

    def __init__(self, db: Database, rescan_every: float) -> None:
        self.db = db
        self.rescan_every = rescan_every
        self._lock = threading.Lock()
        self._held: set[int] = set()
        self._high_water = 0
        self._last_rescan = -math.inf

    def release(self, ids: list[int], rescan: bool = False) -> None:
        """``ids`` are marked published (from the marker's thread), or (``rescan``) were nacked
        and must be read again."""
        with self._lock:
            self._held.difference_update(ids)
            if rescan:
                self._last_rescan = -math.inf

    def read(self, limit: int) -> list[tuple]:
        now = time.monotonic()
        with self._lock:
            rescan = now - self._last_rescan >= self.rescan_every
            if rescan:
                self._last_rescan = now
            # Taken before the read: an id the marker releases while the read runs was read as
            # unpublished and must still count as held, or it would be sent twice.
            held = set(self._held) if rescan else None
        if held is None:
            rows = list(outbox.claim_for_relay(self.db, limit, after=self._high_water))
        else:
            rows = [r for r in outbox.claim_for_relay(self.db, limit + len(held)) if r[0] not in held][:limit]
            if rows and rows[0][0] < self._high_water:
                # Rows below what was already read: a transaction's rows became visible late, or
                # a nack. There may be many more, so the next read rescans too.
                with self._lock:
                    self._last_rescan = -math.inf
        if rows:
            with self._lock:
                self._held.update(r[0] for r in rows)
            self._high_water = max(self._high_water, rows[-1][0])
        return rows


class Marker(threading.Thread):
    """Marks confirmed rows published. A row stays unmarked until its UPDATE commits, so a crash
    between confirm and mark sends it again (a harmless duplicate) and never loses it."""

    GIVE_UP_AFTER = 30.0  # once closed: what is still unmarked is sent again by a later session

    def __init__(self, db: Database, on_marked: Callable[[list[int]], None]) -> None:
        super().__init__(name="relay-marker", daemon=True)
        self.db = db
        self._on_marked = on_marked
        self._cv = threading.Condition()
        self._todo: list[int] = []
        self._marking = 0
        self._closing_at: float | None = None

    def add(self, ids: list[int]) -> None:
        with self._cv:
            self._todo.extend(ids)
            self._cv.notify()

    def pending(self) -> int:
        """Confirmed rows not yet marked: after a crash these are sent again."""
        with self._cv:
            return len(self._todo) + self._marking

    def close(self) -> None:
        """Mark what is left (for up to ``GIVE_UP_AFTER`` seconds) and end."""
        with self._cv:
            self._closing_at = time.monotonic()
            self._cv.notify()
        if self.is_alive():
            self.join(self.GIVE_UP_AFTER + 5)

    def run(self) -> None:
        try:
            while True:
                with self._cv:
                    while not self._todo and self._closing_at is None:
                        self._cv.wait()
                    if not self._todo or (self._closing_at is not None
                                          and time.monotonic() - self._closing_at > self.GIVE_UP_AFTER):
                        return
                    ids, self._todo = self._todo, []
                    self._marking = len(ids)
                try:
                    outbox.mark_published(self.db, ids)
                except Exception as exc:  # noqa: BLE001 - database trouble: keep them, try again
                    logger.warning("relay: cannot mark {} rows published yet: {}", len(ids), exc)
                    self.db.reset()
                    with self._cv:
                        self._todo = ids + self._todo
                        self._marking = 0
                    time.sleep(1.0)
                    continue
                with self._cv:
                    self._marking = 0
                self._on_marked(ids)
        finally:
            self.db.close()
