"""``kervan worker feeds``: supplier feed imports on command.

The queue ``kervan.feeds.suppliers`` binds ``cmd.import_feed.*``; the scheduler (each enabled
supplier whose ``import_interval`` elapsed) and the admin's "import now" button write
``import_command(code)`` to the outbox, whose routing key is ``cmd.import_feed.<code>``.

A run's own outcome (applied, quarantined, bad settings) is recorded in ``kervan_feed_run`` and
the message is acked; only an unexpected failure (the database away, a bug) raises, so the
runtime retries it through its delay tiers. A supplier that is unknown is a permanent failure.
A second command for a supplier whose import is running elsewhere finds its lock taken and is
acked: the running import reads the feed anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from loguru import logger

from bridge import outbox
from bridge.db import Database
from bridge.envelope import Event
from workers.channels.errors import PermanentError
from workers.suppliers import store
from workers.suppliers.runs import FeedRun, FeedSettings, RunResult

COMMAND = "cmd.import_feed"


def import_command(code: str, *, manual: bool = False, source: str = "scheduler") -> Event:
    """The command that asks the feeds worker to import one supplier's feed now. ``manual``
    (the admin's button) runs it even while the supplier is switched off, to try its settings."""
    return Event(COMMAND, "supplier", code, {"channel": code, "supplier": code, "manual": manual}, source=source)


class FeedsHandler:
    def __init__(self, db: Database, settings: FeedSettings, *, run: Callable[..., RunResult] | None = None) -> None:
        self.db = db
        self.settings = settings
        self._run = run or (lambda db, supplier, settings: FeedRun(db, supplier, settings).run())

    def handle(self, event: Event) -> RunResult | None:
        if event.type != COMMAND and not event.type.startswith(COMMAND + "."):
            raise PermanentError(f"the feeds worker does not handle {event.type}")
        code = str(event.payload.get("supplier") or event.payload.get("channel") or event.aggregate_id or "")
        supplier = store.load(self.db, code) if code else None
        if supplier is None:
            raise PermanentError(f"no supplier {code!r} in kervan_supplier")
        if not supplier.enabled and not event.payload.get("manual"):
            logger.info("supplier {} is switched off; its feed is not imported", supplier.code)
            return None
        return self._run(self.db, supplier, self.settings)


def enqueue_due(db: Database) -> dict[str, int]:
    """The scheduler's job: ``cmd.import_feed.<code>`` for each enabled supplier whose
    ``import_interval`` passed since its last run and since the last time it was asked (so a
    command waiting for a stopped worker is not piled up), written with the mark in one
    transaction."""
    due = "s.enabled = 1 AND (s.import_requested_at IS NULL OR s.import_requested_at <" \
          " CURRENT_TIMESTAMP(6) - INTERVAL s.import_interval SECOND) AND NOT EXISTS (SELECT 1 FROM" \
          " {p}kervan_feed_run r WHERE r.supplier_id = s.supplier_id AND r.started_at >=" \
          " CURRENT_TIMESTAMP(6) - INTERVAL s.import_interval SECOND)"
    codes = [r["code"] for r in db.query(f"SELECT s.code FROM {{p}}kervan_supplier s WHERE {due}")]  # noqa: S608

    def ask(cur: Any, code: str) -> int:
        n = cur.execute(f"UPDATE {{p}}kervan_supplier s SET s.import_requested_at = CURRENT_TIMESTAMP(6)"  # noqa: S608
                        f" WHERE s.code = %s AND {due}", (code,))
        if n:
            outbox.write(cur, import_command(code))
        return n

    sent = sum(db.run_in_transaction(lambda cur, c=code: ask(cur, c)) for code in codes)
    return {"commands": sent}


def build_handler(cfg: Any, db: Database) -> tuple[FeedsHandler, list[Callable[[threading.Event], None]]]:
    return FeedsHandler(db, FeedSettings.from_config(cfg)), []


__all__ = ["COMMAND", "FeedsHandler", "build_handler", "enqueue_due", "import_command"]
