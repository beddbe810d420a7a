"""The catalog role's flow, marketplace-neutral: a product changed in OpenCart → its listing.

Reads the product's current truth (events carry only ids), maps it into the marketplace's body,
compares that with what the marketplace last accepted (``kervan_listing.confirmed_body``) and sends
only the parts that differ. Each request's batch is recorded; the batch poller writes the outcome.

What differs per marketplace — which mapper, which parts a listing is updated in, which fields can
never change, how a listing is taken down — lives in a subclass per marketplace
(``workers/catalog/<code>.py``). HTTP stays in the channel client; remote ids in the binder.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Any, ClassVar

from loguru import logger

from bridge.channels import ChannelAccount
from bridge.db import Database
from bridge.envelope import Event
from bridge.opencart import Product, ProductReader
from bridge.replica import FreshReads
from workers import batches
from workers.batches import Entry
from workers.binder import Listing, ListingBinder, digest
from workers.catalog.reconcile import Reconciler
from workers.channels.base import Channel
from workers.channels.errors import AuthError, PermanentError, TransientError
from workers.coalescer import Coalescer, all_of
from workers.pricing import PriceRules

CONTENT = "content"
CREATE = "create"
# How long a sync of a product waits for that product's create to be sent from a coalescer
# before going on regardless (the claim still keeps one content from being sent twice).
CREATE_WAIT_SECONDS = 120.0
# Seconds a sync waits for another process's sync of the same product before it is retried later.
SHARED_LOCK_WAIT = 30


@dataclass(frozen=True)
class Deferred:
    """A part waiting in a coalescer: the request row, and what to record once it is sent."""

    product_id: int
    content_hash: str
    row: dict[str, Any]
    entry: Entry


class Catalog:
    """Keeps one marketplace account's listings equal to OpenCart.

    Subclasses set ``label`` (the marketplace's name, for the merchant), ``mapping_error`` (their
    mapper's error class), ``PARTS`` (part name → the fields it carries; fields in no part belong to
    ``CONTENT``) and ``FIXED_FIELDS`` (fields the marketplace never lets change), and implement
    ``load_mapping``, ``desired``, ``key_of``, ``remote_body`` and ``send_part``."""

    label: ClassVar[str] = "the marketplace"
    mapping_error: ClassVar[type[Exception]] = ValueError
    PARTS: ClassVar[dict[str, tuple[str, ...]]] = {}
    FIXED_FIELDS: ClassVar[tuple[str, ...]] = ()
    # Parts that carry the whole body: when one of them is sent, the others are not needed.
    WHOLE_PARTS: ClassVar[tuple[str, ...]] = ()
    # The body's stock fields: a sale on this marketplace lowers them there by itself.
    STOCK_FIELDS: ClassVar[tuple[str, ...]] = ("quantity",)

    # Parts sent through a coalescer (one request for many listings) when a window is configured;
    # ``CREATE`` among them: new listings' creates gather too and go out through ``send_creates``.
    COALESCED_PARTS: ClassVar[tuple[str, ...]] = ()
    # The body's price fields, which the channel's price rules adjust (workers/pricing.py).
    PRICE_FIELDS: ClassVar[tuple[str, ...]] = ("salePrice", "listPrice")

    def __init__(self, db: Database, account: ChannelAccount, client: Channel, *, mapping_ttl: float = 30.0,
                 coalesce_window: float | None = None, replica: FreshReads | None = None,
                 shared_locks: bool = False) -> None:
        self.db = db
        # Several processes sync this channel (partitioned queues): one product at a time across them.
        self.shared_locks = shared_locks
        self.account = account
        self.client = client
        self.reader = ProductReader(db)
        self.replica = replica
        self._replica_reader = ProductReader(replica.replica) if replica else None
        self.binder = ListingBinder(db, account.channel_id)
        self._mapping: Any = None
        self._mapping_at = 0.0
        self._mapping_ttl = mapping_ttl
        self.coalesce_window = coalesce_window
        self.price_rules = PriceRules.from_settings(account.settings)
        self._coalescers: dict[str, Coalescer] = {}
        self._product_locks: dict[int, threading.Lock] = {}
        self._stale: dict[int, tuple[str, ...]] = {}
        self._locks_guard = threading.Lock()
        # product id → the future of its create waiting in (or being sent from) the create coalescer
        self._creating: dict[int, Future] = {}

    # -- per marketplace ----------------------------------------------------------------------
    def load_mapping(self) -> Any:
        raise NotImplementedError

    def desired(self, product: Product, master: Product | None) -> dict[str, Any]:
        """The listing body OpenCart's truth asks for; raises ``mapping_error`` with a sentence."""
        raise NotImplementedError

    def priced(self, desired: dict[str, Any]) -> dict[str, Any]:
        """``desired`` with the channel's price rules applied to its price fields."""
        if not self.price_rules.active:
            return desired
        out = dict(desired)
        for f in self.PRICE_FIELDS:
            if out.get(f) is not None:
                out[f] = float(self.price_rules.apply(out[f]))
        if "listPrice" in out and "salePrice" in out and out["listPrice"] < out["salePrice"]:
            out["listPrice"] = out["salePrice"]  # marketplaces refuse a list price below the sale price
        return out

    def key_of(self, desired: dict[str, Any]) -> str:
        """The key the marketplace reports this listing under (barcode, merchant SKU, stock code)."""
        raise NotImplementedError

    def remote_body(self, key: str) -> tuple[str | None, dict[str, Any]] | None:
        """What the marketplace holds for ``key`` as ``(remote id, body in our shape)``; None if absent."""
        raise NotImplementedError

    def remote_states(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """What the marketplace holds for these keys, in our body's shape; absent keys are missing.
        Full reconciliation reads it; marketplaces with a bulk lookup override this."""
        out = {}
        for key in keys:
            found = self.remote_body(key)
            if found is not None:
                out[key] = found[1]
        return out

    def create(self, desired: dict[str, Any]) -> str | None:
        """Send a new listing; returns the batch id, or None when the marketplace accepted it
        synchronously."""
        return self.send_creates([self.create_row(desired)])

    def create_row(self, desired: dict[str, Any]) -> dict[str, Any]:
        """One new listing's item of a create request."""
        return desired

    def send_creates(self, rows: list[dict[str, Any]]) -> str | None:
        """Send one create request carrying ``rows`` (``create_row`` items); returns the batch id,
        or None when the marketplace accepted them synchronously."""
        return self.client.create_listings(rows)

    def send_part(self, part: str, listing: Listing, desired: dict[str, Any], fields: dict[str, Any]) -> str | None:
        """Send one changed part; returns the batch id (None: accepted synchronously)."""
        raise NotImplementedError

    def take_down(self, listing: Listing) -> tuple[str, str | None]:
        """Remove the listing from sale; returns ``(step, batch id or None)`` where step is
        "delete" or "archive" (archive: a second pass deletes)."""
        raise NotImplementedError

    def batch_row(self, part: str, listing: Listing, desired: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        """One listing's row of a coalesced request for ``part``."""
        raise NotImplementedError

    def send_rows(self, part: str, rows: list[dict[str, Any]]) -> str:
        """Send a coalesced request of ``part`` rows; returns the batch id."""
        raise NotImplementedError

    # Where a created listing's remote id is found in ``find_listings`` rows (key field, id field);
    # None: the marketplace gives none worth keeping.
    REMOTE_ID: ClassVar[tuple[str, str] | None] = None

    def on_created(self, product_ids: list[int]) -> None:
        """After creates succeeded (called by the batch poller): remember the marketplace's id for
        each new listing, which later updates use."""
        if self.REMOTE_ID is None or not product_ids:
            return
        key_field, id_field = self.REMOTE_ID
        marks = ",".join(["%s"] * len(product_ids))
        rows = self.db.query(
            f"SELECT product_id, remote_sku FROM {{p}}kervan_listing WHERE channel_id = %s"  # noqa: S608
            f" AND product_id IN ({marks})",
            (self.account.channel_id, *product_ids),
        )
        by_sku = {r["remote_sku"]: r["product_id"] for r in rows if r["remote_sku"]}
        for remote in self.client.find_listings(list(by_sku)):
            pid = by_sku.get(remote.get(key_field))
            if pid and remote.get(id_field):
                self.db.execute(
                    "UPDATE {p}kervan_listing SET remote_id = %s WHERE channel_id = %s AND product_id = %s",
                    (str(remote[id_field]), self.account.channel_id, pid),
                )

    # -- shared helpers -----------------------------------------------------------------------
    def mapping(self) -> Any:
        if self._mapping is None or time.monotonic() - self._mapping_at > self._mapping_ttl:
            self._mapping = self.load_mapping()
            self._mapping_at = time.monotonic()
        return self._mapping

    def mapping_rows(self) -> list[dict[str, Any]]:
        """This account's ``kervan_mapping`` rows with ``extra`` decoded."""
        rows = self.db.query(
            "SELECT kind, local_id, remote_id, extra FROM {p}kervan_mapping WHERE channel_id = %s",
            (self.account.channel_id,),
        )
        for r in rows:
            r["extra"] = json.loads(r["extra"] or "{}")
        return rows

    def changed_parts(self, desired: dict[str, Any], confirmed: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Part → the fields of it that differ from what the marketplace accepted."""
        placed = {f for fields in self.PARTS.values() for f in fields}
        out: dict[str, dict[str, Any]] = {}
        for key, value in desired.items():
            if key in self.FIXED_FIELDS or confirmed.get(key) == value:
                continue
            part = next((p for p, fields in self.PARTS.items() if key in fields), CONTENT)
            if part == CONTENT and key in placed:
                continue
            out.setdefault(part, {})[key] = value
        for whole in self.WHOLE_PARTS:
            if whole in out:
                return {whole: {k: v for k, v in desired.items() if k not in self.FIXED_FIELDS}}
        return out

    # -- coalescing ---------------------------------------------------------------------------
    def projected(self, listing: Listing) -> dict[str, Any]:
        """What the marketplace will hold once every request already on its way for this listing
        is applied: the confirmed body, then the payloads of its open batches in the order they
        were sent (a sync never runs while a row of the listing waits in a coalescer). Parts are
        diffed against this, not only against what was confirmed: when a value goes A → B → A
        while B is still on its way, A must be sent again, or B stays on the marketplace with
        nothing left to correct it."""
        # Fields the marketplace changed by itself since: a request already sent may have been
        # applied before that change (a sale right after our stock update), so it proves nothing,
        # nor does its result if it was confirmed after the binder forgot them.
        stale = self._stale.get(listing.product_id, ())
        body = {k: v for k, v in listing.confirmed.items() if k not in stale}
        for row in self.db.query(
                "SELECT i.payload FROM {p}kervan_batch_item i JOIN {p}kervan_batch b ON b.batch_id = i.batch_id"
                " WHERE b.channel_id = %s AND i.product_id = %s AND b.status IN ('submitted', 'in_progress')"
                " AND i.status = 'pending' AND i.part NOT IN ('archive', 'delete') ORDER BY i.batch_item_id",
                (self.account.channel_id, listing.product_id)):
            body.update({k: v for k, v in json.loads(row["payload"] or "{}").items() if k not in stale})
        return body

    def coalesces(self, part: str) -> bool:
        return self.coalesce_window is not None and part in self.COALESCED_PARTS

    def _coalescer(self, part: str) -> Coalescer:
        co = self._coalescers.get(part)
        if co is None:
            with self._locks_guard:
                co = self._coalescers.get(part)
                if co is None:
                    co = self._coalescers[part] = Coalescer(
                        lambda items, part=part: self.flush(part, items), max_items=self.client.MAX_BATCH,
                        window=self.coalesce_window or 0.0, name=f"{self.account.code}-{part}")
        return co

    def defer(self, part: str, product_id: int, h: str, key: str, row: dict[str, Any], entry: Entry) -> Future:
        return self._coalescer(part).submit(key, Deferred(product_id, h, row, entry))

    def flush(self, part: str, items: list[tuple[str, Deferred]]) -> dict[str, BaseException]:
        """Send one coalesced request and record its batch; a refusal of the request itself is
        written on every listing in it, anything else fails them all for a retry."""
        if part == CREATE:
            refused = self._send_creates(items)
            if refused is not None:
                self._refused_creates(items, refused)
            return {}
        waiting = [d for _, d in items]
        try:
            batch_id = self.send_rows(part, [d.row for d in waiting])
        except PermanentError as exc:
            return self._release_refused(part, items, exc)
        except BaseException:
            for d in waiting:
                self.binder.release(d.product_id, d.content_hash)
            raise
        self.record(batch_id, part, [d.entry for d in waiting])
        return {}

    def refused(self, part: str, items: list[tuple[str, Deferred]], exc: PermanentError) -> dict[str, BaseException]:
        """The marketplace refused a coalesced request as a whole: the merchant sees its words on
        every listing in it. Returns the keys whose waiters fail (none: the refusal is recorded)."""
        for _, d in items:
            self.binder.set_status(d.product_id, "failed", f"{self.label}: {exc.message or exc}")
        return {}

    def _send_creates(self, items: list[tuple[str, Deferred]]) -> PermanentError | None:
        """Send one create request and record its batch; returns the marketplace's refusal of the
        request as a whole (nothing of it was created), raises anything else after releasing the
        claims, so that the messages are retried."""
        waiting = [d for _, d in items]
        try:
            batch_id = self.send_creates([d.row for d in waiting])
        except PermanentError as exc:
            return exc
        except BaseException:
            for d in waiting:
                self.binder.release(d.product_id, d.content_hash)
            raise
        self.record(batch_id, CREATE, [d.entry for d in waiting])
        logger.info("{} creates → {} in one request (batch {})", len(waiting), self.label, batch_id)
        return None

    def _refused_creates(self, items: list[tuple[str, Deferred]], exc: PermanentError) -> None:
        """The marketplace refused a create request as a whole. Item problems are normally
        reported per item by the batch result, but one malformed item can make it refuse the
        whole request: the halves are sent on their own, and a refused half is split again only
        while its other half went through (the refusal is then narrowed to one item). When both
        halves are refused too, the cause is not one item (credentials, the envelope), and more
        requests would only repeat it: each listing gets the marketplace's words."""
        if len(items) > 1 and not isinstance(exc, AuthError):
            half = len(items) // 2
            halves = [items[:half], items[half:]]
            refusals = [self._send_creates(h) for h in halves]
            if any(r is None for r in refusals):
                for h, r in zip(halves, refusals, strict=True):
                    if r is not None:
                        self._refused_creates(h, r)
                return
            for h, r in zip(halves, refusals, strict=True):
                assert r is not None
                self._release_refused(CREATE, h, r)
            return
        self._release_refused(CREATE, items, exc)

    def _release_refused(self, part: str, items: list[tuple[str, Deferred]],
                         exc: PermanentError) -> dict[str, BaseException]:
        for _, d in items:
            self.binder.release(d.product_id, d.content_hash)
        return self.refused(part, items, exc)

    def send_create(self, product_id: int, key: str, desired: dict[str, Any], h: str) -> Future | None:
        """Create a new listing: at once, or through the create coalescer when a window is set
        (the listing stays claimed while it waits; ``flush`` releases the claim if sending fails)."""
        entry = Entry(product_id, key, CREATE, desired, h)
        if not self.coalesces(CREATE):
            batch_id = self.create(desired)
            self.record(batch_id, CREATE, [entry])
            logger.info("product {} → {} create (batch {})", product_id, self.label, batch_id)
            return None
        co = self._coalescer(CREATE)
        other = co.pending(key)
        if other is not None and other.product_id != product_id:
            # One request may not carry a key twice, and a later item would replace the other
            # product's: the merchant has to give one of them another key.
            self.binder.set_status(product_id, "failed",
                                   f"{self.label}: product {other.product_id} is being listed under the same"
                                   f" key {key}; give one of them another one")
            return None
        fut = self.defer(CREATE, product_id, h, key, self.create_row(desired), entry)
        with self._locks_guard:
            self._creating[product_id] = fut
        fut.add_done_callback(lambda f, pid=product_id: self._create_done(pid, f))
        logger.info("product {} → {} create (waiting to be sent with others)", product_id, self.label)
        return fut

    def _create_done(self, product_id: int, fut: Future) -> None:
        with self._locks_guard:
            if self._creating.get(product_id) is fut:
                del self._creating[product_id]

    def _await_create(self, product_id: int) -> None:
        """A create of this product still in a coalescer decides what comes next (it is recorded
        as submitted, or released): wait for it, so that a second create cannot set off while
        the first one is on its way but not yet recorded."""
        with self._locks_guard:
            fut = self._creating.get(product_id)
        if fut is not None:
            wait([fut], timeout=CREATE_WAIT_SECONDS)

    def close(self) -> None:
        for co in self._coalescers.values():
            co.close()

    # -- the handler --------------------------------------------------------------------------
    def handle(self, event: Event) -> Future | None:
        """Keep the listing equal to OpenCart. Returns a future when a part waits in a coalescer:
        the message is done when that request was sent and recorded."""
        if event.type == "cmd.full_reconcile":
            return Reconciler(self).run(event.id)[1]
        if event.type == "cmd.resync":
            ids = event.payload.get("product_ids") or [
                r["product_id"] for r in self.db.query("SELECT product_id FROM {p}product ORDER BY product_id")]
            return self._all([self.sync(int(pid), event.id) for pid in ids])
        if event.type in ("order.created", "order.status_changed"):
            # A storefront order (or an admin status change) moved stock: resend its products.
            rows = self.db.query(
                "SELECT DISTINCT product_id FROM {p}order_product WHERE order_id = %s AND product_id > 0"
                " UNION SELECT DISTINCT master_id FROM {p}order_product WHERE order_id = %s AND master_id > 0",
                (int(event.payload.get("order_id") or event.aggregate_id),) * 2)
            return self._all([self.sync(int(r["product_id"]), event.id) for r in rows])
        product_id = int(event.payload.get("product_id") or event.aggregate_id)
        if event.type == "stock.changed" and event.payload.get("channel") == self.account.code:
            self.binder.forget(product_id, self.STOCK_FIELDS)
            return self.sync(product_id, event.id, stale=self.STOCK_FIELDS)
        if event.type == "product.deleted":
            self.delete(product_id, event.id)
            return None
        return self.sync(product_id, event.id)

    @staticmethod
    def _all(results: list[Future | None]) -> Future | None:
        pending = [r for r in results if r is not None]
        return all_of(pending) if pending else None

    def sync(self, product_id: int, event_id: str, *, stale: tuple[str, ...] = ()) -> Future | None:
        """Bring one listing to OpenCart's truth. ``stale``: fields the marketplace changed by
        itself (its stock after a sale there); a request already sent may have landed before
        that change, so only a new request can set them (``projected``)."""
        # One product at a time in this process: events of different aggregates (a product's
        # stock.changed, an order's order.created) can sync the same product on two threads, and
        # a thread that read the truth first could send it last (a synchronous Amazon PATCH).
        with self._locks_guard:
            lock = self._product_locks.setdefault(product_id, threading.Lock())
        with lock, self._shared_lock(product_id):
            self._await_create(product_id)
            self._stale[product_id] = stale
            try:
                return self._sync(product_id, event_id)
            finally:
                self._stale.pop(product_id, None)

    @contextlib.contextmanager
    def _shared_lock(self, product_id: int) -> Iterator[None]:
        """The per-product lock across processes when partitions split the channel: a product's
        own events stay in one partition, but an order's event lands in the order's partition and
        syncs products that belong to others. A MariaDB named lock, held by this thread's
        connection (named per database: locks are server-wide)."""
        if not self.shared_locks:
            yield
            return
        name = f"{self.db.dsn.database[:32]}.ksync.{self.account.channel_id}.{product_id}"
        if not self.db.one("SELECT GET_LOCK(%s, %s) AS got", (name, SHARED_LOCK_WAIT))["got"]:
            raise TransientError(f"product {product_id} is being synced by another process for {self.label}")
        try:
            yield
        finally:
            try:
                self.db.execute("DO RELEASE_LOCK(%s)", (name,))
            except Exception as exc:  # noqa: BLE001 - a lost connection released it already
                logger.debug("product lock {} not released: {}", name, exc)

    def truth_reader(self) -> ProductReader:
        """The product reader for OpenCart's truth now: the replica's when one is configured and
        has caught up with the primary, else the primary's."""
        if self._replica_reader is None:
            return self.reader
        return self._replica_reader if self.replica.db() is self.replica.replica else self.reader

    def _sync(self, product_id: int, event_id: str) -> Future | None:
        reader = self.truth_reader()
        product = reader.get_grouped(product_id)
        if product is None:
            self.delete(product_id, event_id)
            return None
        master = reader.get_grouped(product.master_id) if product.master_id else None
        try:
            desired = self.priced(self.desired(product, master))
        except self.mapping_error as exc:
            self.binder.ensure(product_id, None)  # the merchant sees why on a listing row
            self.binder.set_status(product_id, "failed", str(exc))
            logger.info("product {} not listable on {}: {}", product_id, self.account.code, exc)
            return None
        key = self.key_of(desired)
        for co in self._coalescers.values():
            if co.pending(key) is not None:
                # A row of this listing still waits to be sent: this event is retried once it is,
                # and diffed against that row's batch then. Checked before claiming: a claim made
                # and released here would drop the waiting row's claim, and a change back to the
                # confirmed value (A → B → A) would then look synced with B on its way.
                raise TransientError(f"a change of {key} is still waiting to be sent to {self.label}")
        self.binder.ensure(product_id, key)
        listing = self.binder.get(product_id)
        assert listing is not None
        h = digest(desired)
        stale = self._stale.get(product_id, ())
        if listing.content_hash == h and listing.pending_hash in (None, h) and not stale:
            # Confirmed, and nothing else on its way (an A → B → A with B in flight goes on).
            if listing.status != "synced":
                self.binder.set_status(product_id, "synced")
            return None
        self.before_claim(listing)
        # After a sale on the marketplace the stale fields are sent, always: another worker may hold
        # the claim of this very hash for a request sent before the sale (and find nothing to send,
        # trusting that request), or that request's result may have been confirmed since.
        if not self.binder.claim(product_id, h, event_id, force=bool(stale)):
            logger.debug("product {} content {} already in flight", product_id, h[:8])
            return None
        try:
            return self.send(product_id, listing, desired, h)
        except PermanentError as exc:
            # The marketplace refused the request itself (validation of the envelope, credentials):
            # the merchant sees its words on the listing; a later change or resync retries.
            self.binder.release(product_id, h)
            self.binder.set_status(product_id, "failed", f"{self.label}: {exc.message or exc}")
        except BaseException:
            self.binder.release(product_id, h)
            raise
        return None

    def before_claim(self, listing: Listing) -> None:  # noqa: B027 - optional hook
        """Raise a ``TransientError`` to wait (e.g. a create still being processed)."""

    def record(self, batch_id: str | None, kind: str, entries: Sequence[Entry]) -> None:
        """Remember a sent batch for the poller; without a batch id the marketplace already
        accepted the entries, so they are confirmed now."""
        if batch_id is None:
            batches.confirm_now(self.db, self.account.channel_id, list(entries))
            if kind == "create":
                self.on_created([e.product_id for e in entries])
            return
        batches.record(self.db, self.account.channel_id, batch_id, kind, list(entries))

    def send(self, product_id: int, listing: Listing, desired: dict[str, Any], h: str) -> Future | None:
        key = self.key_of(desired)
        unsure = listing.status != "new" or listing.pending_hash is not None
        if not listing.known_remotely and unsure:
            # We may have created it before and crashed before recording that: ask first.
            self.adopt_remote(product_id, key)
            listing = self.binder.get(product_id) or listing
        if not listing.known_remotely:
            return self.send_create(product_id, key, desired, h)
        confirmed = listing.confirmed
        fixed = [f for f in self.FIXED_FIELDS if f in desired and desired.get(f) != confirmed.get(f)]
        if fixed:
            self.binder.set_status(
                product_id, "failed",
                f"{self.label} does not allow changing " + ", ".join(fixed) + " of a listed product; "
                f"take it off {self.label} and list it again to change them.")
            desired = {**desired, **{f: confirmed.get(f) for f in fixed}}
            h = digest(desired)
            if not self.binder.claim(product_id, h, f"{listing.listing_id}-fixed-{h[:8]}"):
                return None
        projected = self.projected(listing)
        parts = self.changed_parts(desired, projected)
        deferred = []
        for part, fields in parts.items():
            entry = Entry(product_id, key, part, fields, h)
            if self.coalesces(part):
                deferred.append(self.defer(part, product_id, h, key, self.batch_row(part, listing, desired, fields),
                                           entry))
                continue
            batch_id = self.send_part(part, listing, desired, fields)
            self.record(batch_id, "update", [entry])
        if not parts and not fixed:
            if projected != confirmed:
                # What is on its way already makes the marketplace hold this: its results confirm it.
                self.binder.release(product_id, h)
                return None
            # Only fields the marketplace does not report differed (e.g. after adopting): what it
            # holds is what we want.
            batches.confirm_now(self.db, self.account.channel_id, [Entry(product_id, key, "create", desired, h)])
        logger.info("product {} → {} update ({})", product_id, self.label, ", ".join(parts) or "nothing")
        return all_of(deferred) if deferred else None

    def adopt_remote(self, product_id: int, key: str) -> None:
        found = self.remote_body(key)
        if found is None:
            return
        remote_id, body = found
        self.binder.adopt_remote(product_id, remote_id, body)
        logger.info("product {} already on {} as {}; adopted", product_id, self.label, key)

    def delete(self, product_id: int, event_id: str) -> None:
        """Take the listing off the marketplace once the product is gone from OpenCart."""
        listing = self.binder.get(product_id)
        if listing is None or listing.status == "deleted":
            return
        if not listing.known_remotely or not listing.remote_sku:
            self.binder.set_status(product_id, "deleted")
            return
        claim = "archive" if self.archives_first(listing) else "delete"
        if not self.binder.claim(product_id, claim, event_id):
            return
        try:
            step, batch_id = self.take_down(listing)
        except BaseException:
            self.binder.release(product_id, claim)
            raise
        self.record(batch_id, step, [Entry(product_id, listing.remote_sku, step, {}, step)])

    def archives_first(self, listing: Listing) -> bool:
        return False


__all__ = ["CONTENT", "CREATE", "Catalog"]
