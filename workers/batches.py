"""Asynchronous marketplace batches: record what was sent, poll the outcome, write each item's
outcome to ``kervan_batch_item`` and ``kervan_listing``.

Polling is claimed with ``FOR UPDATE SKIP LOCKED`` and a pushed-forward ``next_check_at``, so any
number of processes may poll the same channel without checking one batch twice at once, and a
poller killed mid-way leaves the batch due again a few seconds later.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from loguru import logger

from bridge import metrics, outbox
from bridge.db import Database
from workers.binder import digest

# Trendyol answers a create for a barcode it already holds with a failure reason, not an error
# code; these fragments (Turkish and English) recognise it, so we adopt the existing product.
_ALREADY_EXISTS = ("zaten", "already exist", "mevcut", "daha önce ürün oluşturul")


@dataclass(frozen=True)
class Entry:
    """One item of a batch: which product, under which key the marketplace reports it, which
    part of the listing it changes, the fields sent, and the listing hash it leads to."""

    product_id: int
    key: str
    part: str
    payload: dict[str, Any]
    content_hash: str


def record(db: Database, channel_id: int, remote_batch_id: str, kind: str, entries: list[Entry]) -> None:
    def run(cur) -> None:
        cur.execute(
            "INSERT INTO {p}kervan_batch (channel_id, remote_batch_id, kind, item_count, next_check_at)"
            " VALUES (%s, %s, %s, %s, CURRENT_TIMESTAMP(6) + INTERVAL 1 SECOND)",
            (channel_id, remote_batch_id, kind, len(entries)),
        )
        batch_id = cur.lastrowid
        cur.executemany(
            "INSERT INTO {p}kervan_batch_item (batch_id, product_id, item_key, part, payload, content_hash)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [(batch_id, e.product_id, e.key, e.part, json.dumps(e.payload, ensure_ascii=False), e.content_hash)
             for e in entries],
        )
        cur.executemany(
            "UPDATE {p}kervan_listing SET status = 'submitted', batch_id = %s WHERE channel_id = %s AND product_id = %s",
            [(remote_batch_id, channel_id, e.product_id) for e in entries],
        )

    db.run_in_transaction(run)


def claim_due(db: Database, channel_id: int, limit: int = 20, recheck_seconds: float = 1.0) -> list[dict[str, Any]]:
    def run(cur) -> list[dict[str, Any]]:
        cur.execute(
            "SELECT * FROM {p}kervan_batch WHERE channel_id = %s AND status IN ('submitted', 'in_progress')"
            " AND next_check_at <= CURRENT_TIMESTAMP(6) ORDER BY next_check_at LIMIT %s FOR UPDATE SKIP LOCKED",
            (channel_id, limit),
        )
        rows = cur.fetchall()
        if rows:
            marks = ",".join(["%s"] * len(rows))
            cur.execute(
                "UPDATE {p}kervan_batch SET checks = checks + 1,"  # noqa: S608 - placeholders only
                f" next_check_at = CURRENT_TIMESTAMP(6) + INTERVAL %s SECOND WHERE batch_id IN ({marks})",
                (int(recheck_seconds), *[r["batch_id"] for r in rows]),
            )
        return rows

    return db.run_in_transaction(run)


@dataclass(frozen=True)
class Accepted:
    """What the marketplace accepted for one listing: the part, its fields, and (for a batch
    item) the item's id, which orders it against later submissions for the same product."""

    product_id: int
    part: str
    payload: dict[str, Any]
    batch_item_id: int | None = None


def _newer_fields(cur, channel_id: int, accepted: list[Accepted]) -> dict[int, set[str]]:
    """Per batch item: the fields that a later submission for the same product already got
    accepted. An older batch whose result arrives late (it was polled again after a failure) must
    not overwrite them. One query for the whole batch, not one per item."""
    items = [a for a in accepted if a.batch_item_id is not None and a.part not in ("archive", "delete")]
    if not items:
        return {}
    pids = sorted({a.product_id for a in items})
    cur.execute(
        "SELECT i.product_id, i.batch_item_id, i.payload FROM {p}kervan_batch_item i"  # noqa: S608
        " JOIN {p}kervan_batch b ON b.batch_id = i.batch_id"
        f" WHERE b.channel_id = %s AND i.product_id IN ({','.join(['%s'] * len(pids))})"
        " AND i.batch_item_id > %s AND i.status = 'success'",
        (channel_id, *pids, min(a.batch_item_id for a in items)),
    )
    later = [(r["product_id"], r["batch_item_id"], json.loads(r["payload"] or "{}")) for r in cur.fetchall()]
    out: dict[int, set[str]] = {}
    for a in items:
        fields: set[str] = set()
        for pid, item_id, payload in later:
            if pid == a.product_id and item_id > a.batch_item_id:
                fields.update(payload)
        out[a.batch_item_id] = fields
    return out


def _merge_confirmed(cur, channel_id: int, accepted: list[Accepted]) -> None:
    """Fold what the marketplace accepted into each listing's confirmed body; a listing is synced
    once that body is exactly what was last submitted. The listings are locked in one statement
    and merged in order, so the same product twice merges its second part over its first."""
    if not accepted:
        return
    newer_by_item = _newer_fields(cur, channel_id, accepted)
    pids = sorted({a.product_id for a in accepted})
    cur.execute(
        "SELECT product_id, confirmed_body, pending_hash FROM {p}kervan_listing"  # noqa: S608
        f" WHERE channel_id = %s AND product_id IN ({','.join(['%s'] * len(pids))}) FOR UPDATE",
        (channel_id, *pids),
    )
    listings = {r["product_id"]: r for r in cur.fetchall()}
    for a in accepted:
        row = listings.get(a.product_id)
        if row is None:
            continue
        if a.part == "archive":
            # Off sale on the marketplace; the product was deleted in OpenCart, so finish the job.
            cur.execute(
                "UPDATE {p}kervan_listing SET status = 'archived', pending_hash = NULL, last_error = NULL"
                " WHERE channel_id = %s AND product_id = %s",
                (channel_id, a.product_id),
            )
            outbox.write(cur, outbox.product_deleted(a.product_id, reason="archived"))
            row["pending_hash"] = None
            continue
        if a.part == "delete":
            cur.execute(
                "UPDATE {p}kervan_listing SET status = 'deleted', confirmed_body = NULL, content_hash = NULL,"
                " remote_id = NULL, pending_hash = NULL, last_error = NULL, synced_at = CURRENT_TIMESTAMP(6)"
                " WHERE channel_id = %s AND product_id = %s",
                (channel_id, a.product_id),
            )
            row["confirmed_body"] = row["pending_hash"] = None
            continue
        newer = newer_by_item.get(a.batch_item_id, set()) if a.batch_item_id is not None else set()
        existing = json.loads(row["confirmed_body"] or "{}")
        accepted_fields = {k: v for k, v in a.payload.items() if k != "contentId" and k not in newer}
        if a.part in ("create", "unapproved"):
            # A whole body replaces what we knew, except fields a later submission already set.
            confirmed = {**{k: v for k, v in existing.items() if k in newer}, **accepted_fields}
        else:
            confirmed = {**existing, **accepted_fields}
        h = digest(confirmed)
        synced = row["pending_hash"] in (None, h)
        body = json.dumps(confirmed, ensure_ascii=False)
        cur.execute(
            "UPDATE {p}kervan_listing SET confirmed_body = %s, content_hash = %s,"
            " status = IF(%s, 'synced', status), pending_hash = IF(%s, NULL, pending_hash),"
            " last_error = IF(%s, NULL, last_error), synced_at = IF(%s, CURRENT_TIMESTAMP(6), synced_at)"
            " WHERE channel_id = %s AND product_id = %s",
            (body, h, synced, synced, synced, synced, channel_id, a.product_id),
        )
        row["confirmed_body"] = body
        if synced:
            row["pending_hash"] = None


def confirm_now(db: Database, channel_id: int, entries: list[Entry]) -> None:
    """The marketplace told us synchronously that it already holds these values (e.g. Trendyol's
    'same request within 15 minutes'): confirm them without a batch."""
    db.run_in_transaction(lambda cur: _merge_confirmed(
        cur, channel_id, [Accepted(e.product_id, e.part, e.payload) for e in entries]))


def apply_result(db: Database, batch: dict[str, Any], result) -> list[int]:
    """Write a finished batch's per-item outcome. Returns the product ids whose create succeeded
    (the caller looks up their remote ids)."""
    created: list[int] = []

    def run(cur) -> None:
        created.clear()  # a transaction retried after a deadlock starts over
        cur.execute("SELECT * FROM {p}kervan_batch_item WHERE batch_id = %s ORDER BY batch_item_id FOR UPDATE",
                    (batch["batch_id"],))
        items = cur.fetchall()
        outcomes = {str(i.key): i for i in result.items}
        decided: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        for item in items:
            outcome = outcomes.get(item["item_key"])
            if outcome is None and getattr(result, "unlisted_ok", False):
                status, message = "success", None
            elif outcome is None:
                # A batch refused as a whole (N11's REJECT) gives its reasons once, not per item.
                reasons = (getattr(result, "raw", None) or {}).get("reasons") or []
                reasons = [reasons] if isinstance(reasons, str) else [str(r) for r in reasons]
                status = "failed"
                message = "; ".join(reasons) or "the marketplace's batch result does not mention this item"
            else:
                status = "success" if outcome.status == "SUCCESS" else "failed"
                message = "; ".join(outcome.reasons) or None
            decided.setdefault((status, message), []).append(item)
        # One statement per distinct outcome rather than per item: a 1,000-item batch that all
        # succeeded is one UPDATE here and one SELECT … FOR UPDATE of its listings below.
        for (status, message), group in decided.items():
            ids = [i["batch_item_id"] for i in group]
            cur.execute(
                "UPDATE {p}kervan_batch_item SET status = %s, message = %s"  # noqa: S608 - placeholders only
                f" WHERE batch_item_id IN ({','.join(['%s'] * len(ids))})",
                (status, message, *ids),
            )
            metrics.BATCH_ITEMS.labels(str(batch["channel_id"]), status).inc(len(group))
        succeeded = [i for (status, _), group in decided.items() if status == "success" for i in group]
        succeeded.sort(key=lambda i: i["batch_item_id"])
        _merge_confirmed(cur, batch["channel_id"], [
            Accepted(i["product_id"], i["part"], json.loads(i["payload"] or "{}"), i["batch_item_id"])
            for i in succeeded])
        created.extend(i["product_id"] for i in succeeded if i["part"] == "create")
        failed = 0
        for (status, message), group in decided.items():
            if status == "success":
                continue
            failed += len(group)
            for item in group:
                pid = item["product_id"]
                if item["part"] == "create" and any(f in (message or "").lower() for f in _ALREADY_EXISTS):
                    # We created it before and lost track (a crash between sending and recording):
                    # look again, adopt what the marketplace holds and send only the difference.
                    cur.execute(
                        "UPDATE {p}kervan_listing SET status = 'reconcile', pending_hash = NULL, last_error = NULL"
                        " WHERE channel_id = %s AND product_id = %s",
                        (batch["channel_id"], pid),
                    )
                    outbox.write(cur, outbox.product_saved(pid, reason="reconcile"))
                    continue
                cur.execute(
                    "UPDATE {p}kervan_listing SET status = 'failed', last_error = %s, pending_hash = NULL"
                    " WHERE channel_id = %s AND product_id = %s AND (pending_hash <=> %s OR batch_id = %s)",
                    (message, batch["channel_id"], pid, item["content_hash"], batch["remote_batch_id"]),
                )
        cur.execute(
            "UPDATE {p}kervan_batch SET status = 'completed', failed_count = %s, completed_at = CURRENT_TIMESTAMP(6)"
            " WHERE batch_id = %s",
            (failed, batch["batch_id"]),
        )

    db.run_in_transaction(run)
    return created


def expire(db: Database, batch: dict[str, Any], reason: str) -> None:
    """The marketplace forgot the batch (Trendyol keeps results 4 hours): re-check its products."""

    def run(cur) -> None:
        cur.execute(
            "UPDATE {p}kervan_batch SET status = 'expired', last_error = %s, completed_at = CURRENT_TIMESTAMP(6)"
            " WHERE batch_id = %s",
            (reason, batch["batch_id"]),
        )
        cur.execute("SELECT DISTINCT product_id FROM {p}kervan_batch_item WHERE batch_id = %s", (batch["batch_id"],))
        for row in cur.fetchall():
            cur.execute(
                "UPDATE {p}kervan_listing SET status = 'reconcile', pending_hash = NULL"
                " WHERE channel_id = %s AND product_id = %s AND batch_id = %s",
                (batch["channel_id"], row["product_id"], batch["remote_batch_id"]),
            )
            outbox.write(cur, outbox.product_saved(row["product_id"], reason="reconcile"))

    db.run_in_transaction(run)


# Batches checked at once by one poller. Checking is mostly waiting (the marketplace's answer, the
# database's commit); one at a time, a bulk listing's results were read back far slower than its
# creates went out.
CHECKS_AT_ONCE = 4
CLAIM_LIMIT = 20


def _check(db: Database, batch: dict[str, Any], fetch: Callable[[str], Any],
           on_created: Callable[[list[int]], None], not_found: type[Exception]) -> bool:
    """Ask for one batch's result and write it if it is done; True when it was."""
    try:
        result = fetch(batch["remote_batch_id"])
    except not_found as exc:
        expire(db, batch, str(exc))
        return False
    except Exception as exc:  # noqa: BLE001 - transient: it stays due and is checked again
        logger.warning("batch {} not checked: {}", batch["remote_batch_id"], exc)
        return False
    if not result.done:
        db.execute("UPDATE {p}kervan_batch SET status = 'in_progress' WHERE batch_id = %s", (batch["batch_id"],))
        return False
    created = apply_result(db, batch, result)
    if created:
        on_created(created)
    return True


def _poll(db: Database, channel_id: int, fetch: Callable[[str], Any], on_created: Callable[[list[int]], None],
          not_found: type[Exception], pool: Executor | None) -> tuple[int, int]:
    due = claim_due(db, channel_id, limit=CLAIM_LIMIT)
    if pool is None or len(due) < 2:
        done = [_check(db, b, fetch, on_created, not_found) for b in due]
    else:
        done = list(pool.map(lambda b: _check(db, b, fetch, on_created, not_found), due))
    return len(due), sum(done)


def poll_once(db: Database, channel_id: int, fetch: Callable[[str], Any], on_created: Callable[[list[int]], None],
              not_found: type[Exception], pool: Executor | None = None) -> int:
    """Check every due batch once (``pool``: several at a time); returns how many finished."""
    return _poll(db, channel_id, fetch, on_created, not_found, pool)[1]


def poll_loop(db: Database, channel_id: int, fetch, on_created, not_found, interval: float,
              stop: threading.Event) -> None:
    with ThreadPoolExecutor(CHECKS_AT_ONCE, thread_name_prefix="batch-check") as pool:
        while not stop.is_set():
            claimed = 0
            try:
                claimed, _ = _poll(db, channel_id, fetch, on_created, not_found, pool)
            except Exception as exc:  # noqa: BLE001 - the database may be restarting; keep polling
                logger.warning("batch polling failed: {}", exc)
                db.reset()
            if claimed < CLAIM_LIMIT:  # a full claim: more are due now, no pause
                stop.wait(interval)
