"""The binder: which remote listing belongs to which OpenCart product on a channel, and what the
marketplace last accepted for it (``kervan_listing``). No HTTP and no mapping here."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bridge.db import Database


def _canonical(value: Any) -> Any:
    # 5 and 5.0 are the same price to a marketplace (and to Python's ==), but not to json.dumps.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def digest(body: dict[str, Any]) -> str:
    """The content hash of a listing body: stable across key order, runs and 5 vs 5.0."""
    return hashlib.sha256(json.dumps(_canonical(body), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Listing:
    listing_id: int
    product_id: int
    remote_sku: str | None
    remote_id: str | None
    status: str
    content_hash: str | None
    confirmed: dict[str, Any]
    pending_hash: str | None
    batch_id: str | None
    last_error: str | None
    submitted_recently: bool

    @property
    def known_remotely(self) -> bool:
        return bool(self.confirmed)


# A submission older than this without an outcome is presumed lost (crash between sending and
# recording it): the next event re-checks the marketplace instead of trusting it.
SUBMISSION_GRACE_SECONDS = 600


class ListingBinder:
    def __init__(self, db: Database, channel_id: int) -> None:
        self.db = db
        self.channel_id = channel_id

    def get(self, product_id: int) -> Listing | None:
        row = self.db.one(
            "SELECT *, submitted_at > CURRENT_TIMESTAMP(6) - INTERVAL %s SECOND AS recent"
            " FROM {p}kervan_listing WHERE channel_id = %s AND product_id = %s",
            (SUBMISSION_GRACE_SECONDS, self.channel_id, product_id),
        )
        if row is None:
            return None
        return Listing(
            listing_id=row["listing_id"],
            product_id=row["product_id"],
            remote_sku=row["remote_sku"],
            remote_id=row["remote_id"],
            status=row["status"],
            content_hash=row["content_hash"],
            confirmed=json.loads(row["confirmed_body"]) if row["confirmed_body"] else {},
            pending_hash=row["pending_hash"],
            batch_id=row["batch_id"],
            last_error=row["last_error"],
            submitted_recently=bool(row["recent"]),
        )

    def ensure(self, product_id: int, sku: str | None) -> None:
        self.db.execute(
            "INSERT INTO {p}kervan_listing (channel_id, product_id, remote_sku) VALUES (%s, %s, %s)"
            " ON DUPLICATE KEY UPDATE remote_sku = COALESCE(VALUES(remote_sku), remote_sku)",
            (self.channel_id, product_id, sku),
        )

    def claim(self, product_id: int, desired_hash: str, event_id: str, *, force: bool = False) -> bool:
        """Mark ``desired_hash`` as being submitted. False when that content is already in flight
        (recorded batch, or another worker sending it right now), so nothing is sent twice.

        A redelivery of the very event whose worker died before recording its batch may claim
        again: that worker is gone, and the resend re-checks the marketplace first.

        ``force``: the marketplace changed some fields by itself after what is in flight was sent
        (a sale there), so "the same content is on its way" proves nothing: claim regardless."""
        if force:
            self.db.execute(
                "UPDATE {p}kervan_listing SET pending_hash = %s, submitted_at = CURRENT_TIMESTAMP(6), batch_id = NULL,"
                " last_event_id = %s, attempts = attempts + 1 WHERE channel_id = %s AND product_id = %s",
                (desired_hash, event_id, self.channel_id, product_id))
            return True
        # "Recorded" means a batch carrying this very hash is still open: the listing's batch_id may
        # name an older batch recorded after this claim was made (a coalesced request finishing
        # late), which says nothing about this hash.
        n = self.db.execute(
            "UPDATE {p}kervan_listing SET pending_hash = %s, submitted_at = CURRENT_TIMESTAMP(6), batch_id = NULL,"
            " last_event_id = %s, attempts = attempts + 1"
            " WHERE channel_id = %s AND product_id = %s AND NOT (pending_hash <=> %s"
            " AND submitted_at > CURRENT_TIMESTAMP(6) - INTERVAL %s SECOND"
            " AND ("
            " EXISTS (SELECT 1 FROM {p}kervan_batch_item i JOIN {p}kervan_batch b ON b.batch_id = i.batch_id"
            " WHERE b.channel_id = %s AND i.product_id = %s AND i.content_hash = %s"
            " AND b.status IN ('submitted', 'in_progress')) OR NOT last_event_id <=> %s))",
            (desired_hash, event_id, self.channel_id, product_id, desired_hash, SUBMISSION_GRACE_SECONDS,
             self.channel_id, product_id, desired_hash, event_id),
        )
        return n == 1

    def release(self, product_id: int, desired_hash: str) -> None:
        """Give up a claim whose sending failed, so the retry of the event may claim again."""
        self.db.execute(
            "UPDATE {p}kervan_listing SET pending_hash = NULL WHERE channel_id = %s AND product_id = %s"
            " AND pending_hash = %s AND NOT"
            " EXISTS (SELECT 1 FROM {p}kervan_batch_item i JOIN {p}kervan_batch b ON b.batch_id = i.batch_id"
            " WHERE b.channel_id = %s AND i.product_id = %s AND i.content_hash = %s"
            " AND b.status IN ('submitted', 'in_progress'))",
            (self.channel_id, product_id, desired_hash, self.channel_id, product_id, desired_hash),
        )

    def submitted(self, product_id: int, remote_batch_id: str) -> None:
        self.db.execute(
            "UPDATE {p}kervan_listing SET status = 'submitted', batch_id = %s WHERE channel_id = %s AND product_id = %s",
            (remote_batch_id, self.channel_id, product_id),
        )

    def set_status(self, product_id: int, status: str, error: str | None = None) -> None:
        """Record an outcome decided without the marketplace (e.g. a mapping error): nothing is
        in flight any more."""
        self.db.execute(
            "UPDATE {p}kervan_listing SET status = %s, last_error = %s, pending_hash = NULL"
            " WHERE channel_id = %s AND product_id = %s",
            (status, error, self.channel_id, product_id),
        )

    def forget(self, product_id: int, fields: tuple[str, ...]) -> None:
        """The marketplace changed these fields by itself (its own stock after a sale there): they
        are no longer known to be what it holds, so the next pass sends them.

        The claim is dropped too: a request already on its way (a price change, say) was claimed
        under the hash of the whole desired body, but it does not carry these fields any more —
        left claimed, the next pass would take that hash for "in flight" and never send them."""

        def run(cur: Any) -> None:
            cur.execute("SELECT confirmed_body FROM {p}kervan_listing WHERE channel_id = %s AND product_id = %s"
                        " FOR UPDATE", (self.channel_id, product_id))
            row = cur.fetchone()
            if not row or not row["confirmed_body"]:
                return
            body = {k: v for k, v in json.loads(row["confirmed_body"]).items() if k not in fields}
            cur.execute(
                "UPDATE {p}kervan_listing SET confirmed_body = %s, content_hash = %s, pending_hash = NULL"
                " WHERE channel_id = %s AND product_id = %s",
                (json.dumps(body, ensure_ascii=False), digest(body), self.channel_id, product_id))

        self.db.run_in_transaction(run)

    def lost(self, product_id: int) -> None:
        """The marketplace no longer holds this listing (removed in its panel): nothing about it is
        confirmed any more, so the next pass asks the marketplace and lists it again."""
        self.db.execute(
            "UPDATE {p}kervan_listing SET confirmed_body = NULL, content_hash = NULL, remote_id = NULL,"
            " status = 'reconcile', pending_hash = NULL WHERE channel_id = %s AND product_id = %s",
            (self.channel_id, product_id))

    def adopt_remote(self, product_id: int, remote_id: str | None, confirmed: dict[str, Any]) -> None:
        """The marketplace already holds this product (found by barcode): remember its id and
        what it holds, so the next pass sends only the difference."""
        self.db.execute(
            "UPDATE {p}kervan_listing SET remote_id = COALESCE(%s, remote_id), confirmed_body = %s,"
            " content_hash = %s, pending_hash = NULL WHERE channel_id = %s AND product_id = %s",
            (remote_id, json.dumps(confirmed, ensure_ascii=False), digest(confirmed), self.channel_id, product_id),
        )
