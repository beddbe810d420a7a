"""The orders role: read what changed on a marketplace since the last poll and write it into
OpenCart exactly once.

A poll asks the channel client for every order changed in ``[cursor − overlap, now]`` (each
client walks its marketplace's pagination and windows), maps the documents to ``MarketOrder``
(``workers.mappers.orders``) and hands each to the ``OrderWriter``. The cursor moves to the poll's
start only when every order of the poll was written, so an order that failed is read again next
time; importing the same order twice is harmless. Any number of pollers may run at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger

from bridge.channels import ChannelAccount
from bridge.db import Database
from bridge.envelope import Event
from bridge.order_writer import InvalidOrder, OrderWriter
from workers.channels.base import Channel
from workers.mappers.orders import orders_from
from workers.orders.shipments import ShipmentReporter

CURSOR = "orders"
LABELS = {"trendyol": "Trendyol", "hepsiburada": "Hepsiburada", "n11": "N11", "amazon": "Amazon"}


@dataclass
class PollSummary:
    seen: int = 0
    created: int = 0
    updated: int = 0
    flagged: int = 0
    failed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


class OrderImporter:
    def __init__(self, db: Database, account: ChannelAccount, client: Channel, *, overlap: float = 600.0,
                 first_days: float = 7.0) -> None:
        self.db = db
        self.account = account
        self.client = client
        self.overlap = timedelta(seconds=overlap)
        self.first = timedelta(days=first_days)
        self.writer = OrderWriter(db, account.channel_id, account.code, account.settings,
                                  label=LABELS.get(account.code))
        self._lock = threading.Lock()  # one poll at a time per process; other processes may overlap
        self.shipments = ShipmentReporter(db, account, client)

    def cursor(self) -> datetime | None:
        row = self.db.one("SELECT value FROM {p}kervan_cursor WHERE channel_id = %s AND name = %s",
                          (self.account.channel_id, CURSOR))
        return row["value"].replace(tzinfo=UTC) if row else None

    def _advance(self, to: datetime) -> None:
        self.db.execute(
            "INSERT INTO {p}kervan_cursor (channel_id, name, value) VALUES (%s, %s, %s)"
            " ON DUPLICATE KEY UPDATE value = GREATEST(value, VALUES(value))",
            (self.account.channel_id, CURSOR, to.astimezone(UTC).replace(tzinfo=None)))

    def poll(self) -> PollSummary:
        with self._lock:
            return self._poll()

    def _poll(self) -> PollSummary:
        started = datetime.now(UTC)
        last = self.cursor()
        since = (last - self.overlap) if last else started - self.first
        fetch_items = getattr(self.client, "order_items", None) if self.account.code == "amazon" else None
        docs = list(self.client.orders_changed_since(since, started))
        summary = PollSummary(seen=len(docs))
        for order in orders_from(self.account.code, docs, fetch_items=fetch_items):
            try:
                result = self.writer.apply(order)
            except InvalidOrder as exc:
                # Reading it again would change nothing: the merchant sees it on the Orders page,
                # and the cursor may move on.
                self.writer.refuse(order, str(exc))
                summary.refused.append(order.remote_id)
                logger.error("{} order {} refused: {}", self.account.code, order.remote_id, exc)
                continue
            except Exception as exc:  # noqa: BLE001 - the others still go in; this one is read again
                summary.failed.append(order.remote_id)
                logger.error("{} order {} not imported: {}", self.account.code, order.remote_id, exc)
                continue
            summary.created += result.created
            summary.updated += (not result.created) and result.status_changed
            summary.flagged += bool(result.created and result.flags)
        if not summary.failed:
            self._advance(started)
        if summary.created or summary.updated or summary.failed or summary.refused:
            logger.info("{} orders: {} read, {} new, {} changed, {} flagged, {} failed, {} refused", self.account.code,
                        summary.seen, summary.created, summary.updated, summary.flagged, len(summary.failed),
                        len(summary.refused))
        return summary

    def import_one(self, package_id: str | None = None, order_number: str | None = None) -> PollSummary:
        """Import one marketplace order now (a webhook said it changed), through the same writer
        as polling: exactly once, and a repeat only re-applies the current state. The order's
        current state is read from the marketplace, never taken from the webhook, so late or
        duplicated deliveries cannot move an order backwards. Trendyol: every package of the
        orderNumber (a cannot-supply moves lines to a new package), else the one package.
        Marketplaces without a by-id read fall back to a poll. Raises ``LookupError`` (retried
        by the runtime's tiers) while the marketplace does not list the order yet."""
        if self.account.code != "trendyol":
            return self.poll()
        if order_number:
            docs = self.client.packages_of_order(str(order_number))
        elif package_id:
            pkg = self.client.package(package_id)
            docs = [pkg] if pkg else []
        else:
            raise ValueError("import_one needs a package id or an order number")
        if not docs:
            raise LookupError(f"trendyol does not list order {order_number or package_id} yet")
        summary = PollSummary(seen=len(docs))
        for order in orders_from(self.account.code, docs):
            try:
                result = self.writer.apply(order)  # a failure goes back to the runtime: retried, then parked
            except InvalidOrder as exc:
                self.writer.refuse(order, str(exc))
                summary.refused.append(order.remote_id)
                logger.error("{} order {} refused: {}", self.account.code, order.remote_id, exc)
                continue
            summary.created += result.created
            summary.updated += (not result.created) and result.status_changed
            summary.flagged += bool(result.created and result.flags)
        logger.info("{} order {} imported at once: {} new, {} changed", self.account.code,
                    order_number or package_id, summary.created, summary.updated)
        return summary

    # -- as a worker handler ------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        """``cmd.poll_orders`` (from the scheduler or the admin's "fetch orders now"; with
        ``orders`` in the payload, from the gateway's webhooks: just those orders), or an
        OpenCart order's status change (a shipment to report back)."""
        if event.type == "order.status_changed":
            if event.source == f"kervan:{self.account.code}":
                return  # this marketplace moved the order itself: nothing to tell it back
            self.shipments.on_status_changed(int(event.payload.get("order_id") or event.aggregate_id))
            return
        targets = event.payload.get("orders")
        if targets and isinstance(targets, list):
            for ref in targets:
                self.import_one(ref.get("package_id"), ref.get("order_number"))
            return
        self.poll()

    def poll_loop(self, interval: float, stop: threading.Event) -> None:
        while not stop.is_set():
            wait = interval
            try:
                self.poll()
            except Exception as exc:  # noqa: BLE001 - the marketplace or the database may be down
                # Throttled (Amazon allows one getOrders a minute after its burst): wait as long as
                # the limiter says instead of failing again every interval.
                wait = max(interval, float(getattr(exc, "retry_after", 0) or 0))
                logger.warning("{} order poll failed, next in {:.0f}s: {}", self.account.code, wait, exc)
                self.db.reset()
            stop.wait(wait)


def poll_command(channel: str, **payload: Any) -> Event:
    return Event("cmd.poll_orders", "channel", channel, {"channel": channel, **payload})


__all__ = ["OrderImporter", "PollSummary", "poll_command"]
