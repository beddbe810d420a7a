"""What every marketplace client offers the workers, marketplace-neutral.

Kept deliberately small: the catalog, stock and batch-status workers program against ``Channel``;
each marketplace module (``workers/channels/<code>.py``) implements it by speaking that
marketplace's HTTP API and translating its errors into ``workers.channels.errors``. A client never
knows anything about OpenCart.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

# Capability names a channel may declare (``Channel.capabilities``).
CREATE = "create"
UPDATE = "update"
DELETE = "delete"
PRICE_STOCK = "price_stock"
BATCH_RESULT = "batch_result"
FIND = "find"
CATEGORIES = "categories"
ATTRIBUTES = "attributes"
BRANDS = "brands"
ORDERS = "orders"  # orders_changed_since
ACKNOWLEDGE = "acknowledge"  # acknowledge_order (Trendyol/N11 Picking, Hepsiburada packaging)
SHIP = "ship"  # ship_order with carrier and tracking number
CANCEL = "cancel"  # cancel_order_lines (Trendyol UnSupplied, HB cancelbymerchant, N11 split-by-quantity)

# Why a seller cancels a line, marketplace-neutral; each client maps it to its own reason code.
CANCEL_REASONS = ("out_of_stock", "defective", "wrong_price", "force_majeure", "other")

SUCCESS = "SUCCESS"
FAILED = "FAILED"
ITEM_FINAL = frozenset({SUCCESS, FAILED})
# Batch statuses that mean "finished": Trendyol COMPLETED (FAILED / PARTIALLY_COMPLETED are legacy),
# Hepsiburada DONE/PROCESSED, N11 task REJECT, Amazon feed DONE/FATAL/CANCELLED.
BATCH_FINAL = frozenset({"COMPLETED", "FAILED", "PARTIALLY_COMPLETED", "DONE", "PROCESSED", "REJECT", "REJECTED",
                         "FATAL", "CANCELLED"})


@dataclass
class BatchItem:
    """One item's outcome in an async batch.

    ``key`` identifies the item the way the marketplace does (Trendyol: the barcode; for content
    updates the contentId, as a string); ``status`` is "SUCCESS", "FAILED" or None/other while
    still in progress; ``reasons`` are the marketplace's own failure texts; ``request_item`` is the
    marketplace's echo of what was sent."""

    key: str | None
    status: str | None
    reasons: list[str] = field(default_factory=list)
    request_item: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def final(self) -> bool:
        return self.status in ITEM_FINAL


@dataclass
class BatchResult:
    """An async batch's state. ``status`` is None when the marketplace omits it (Trendyol does for
    stock/price batches); then the batch is done once every item has a final status."""

    id: str
    status: str | None
    batch_type: str | None
    items: list[BatchItem] = field(default_factory=list)
    item_count: int | None = None
    failed_item_count: int | None = None
    created_at: int | None = None  # epoch ms, as the marketplace reports it
    modified_at: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    # True when the marketplace lists only failing items and every item it does not mention
    # succeeded (Hepsiburada's listing uploads).
    unlisted_ok: bool = False

    @property
    def done(self) -> bool:
        if self.status is not None:
            return self.status.upper() in BATCH_FINAL
        if not self.items:
            return False
        if self.item_count is not None and len(self.items) < self.item_count:
            return False
        return all(item.final for item in self.items)

    @property
    def succeeded(self) -> list[BatchItem]:
        return [i for i in self.items if i.ok]

    @property
    def failed(self) -> list[BatchItem]:
        return [i for i in self.items if i.failed]

    def item(self, key: str) -> BatchItem | None:
        for i in self.items:
            if i.key == key:
                return i
        return None


@dataclass(frozen=True)
class OrderRef:
    """Enough to address one marketplace order (or package) in an action.

    ``order_id`` is the marketplace's order number; ``package_id`` the unit the marketplace acts on
    where that is not the order (Trendyol shipmentPackageId, Hepsiburada packageNumber, N11
    shipment package id; None on Amazon); ``lines`` are ``(remote line id, quantity)`` pairs —
    Trendyol lineId, Hepsiburada line item id, N11 orderLineId, Amazon OrderItemId."""

    order_id: str
    package_id: str | None = None
    lines: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Shipment:
    """A parcel handed to a carrier: what goes back to the marketplace."""

    carrier: str  # the marketplace's carrier code where it has one (Amazon carrierCode), else a name
    tracking_number: str
    tracking_url: str | None = None
    shipped_at: datetime | None = None


class Channel(ABC):
    """A marketplace account's API. Methods raise ``workers.channels.errors.ChannelError`` subclasses.

    Write methods are asynchronous on most marketplaces: they return the marketplace's batch/task id,
    and ``batch_result`` reports per-item outcomes later. Each write refuses more than ``MAX_BATCH``
    items (``ValueError``): callers chunk."""

    code: ClassVar[str]
    capabilities: ClassVar[frozenset[str]] = frozenset()
    MAX_BATCH: ClassVar[int] = 1000

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    @abstractmethod
    def create_listings(self, items: Sequence[dict[str, Any]]) -> str:
        """Create products/listings; returns the batch id."""

    @abstractmethod
    def update_listings(self, items: Sequence[dict[str, Any]], *, kind: str | None = None) -> str:
        """Update products/listings; ``kind`` selects a marketplace-specific flavour
        (Trendyol: "unapproved", "content", "variant"). Returns the batch id."""

    @abstractmethod
    def update_price_stock(self, items: Sequence[dict[str, Any]]) -> str:
        """Send price and/or stock changes; returns the batch id."""

    @abstractmethod
    def batch_result(self, batch_id: str) -> BatchResult:
        """The current state of an async batch."""

    @abstractmethod
    def find_listings(self, keys: Sequence[str]) -> list[dict[str, Any]]:
        """What the marketplace holds for these SKUs/barcodes (missing ones are simply absent)."""

    @abstractmethod
    def category_tree(self) -> list[dict[str, Any]]:
        """The marketplace's category tree (root nodes)."""

    @abstractmethod
    def category_attributes(self, category_id: int) -> Any:
        """The attributes of a (leaf) category."""

    @abstractmethod
    def brand_by_name(self, name: str) -> list[dict[str, Any]]:
        """Brands matching a name."""

    # -- orders: raw marketplace documents; turning them into OpenCart orders is a mapper's job -----
    def orders_changed_since(self, since: datetime, until: datetime | None = None) -> Iterator[dict[str, Any]]:
        """Every order/package created or changed in ``[since, until]`` (until: now), walking all of
        the marketplace's pages and sub-windows. The same order may be yielded more than once."""
        raise NotImplementedError(f"{self.code} does not list orders")

    def acknowledge_order(self, ref: OrderRef) -> Any:
        """Tell the marketplace the seller took the order on, where it requires that."""
        raise NotImplementedError(f"{self.code} has no order acknowledgement")

    def ship_order(self, ref: OrderRef, shipment: Shipment) -> Any:
        """Report carrier and tracking number for the order/package."""
        raise NotImplementedError(f"{self.code} does not take shipments")

    def cancel_order_lines(self, ref: OrderRef, reason: str = "out_of_stock") -> Any:
        """Cancel (unsupply) ``ref.lines``; ``reason`` is one of ``CANCEL_REASONS``."""
        raise NotImplementedError(f"{self.code} does not cancel lines")

    def close(self) -> None:  # noqa: B027 — optional hook
        """Release connections."""


__all__ = [
    "ACKNOWLEDGE",
    "ATTRIBUTES",
    "BATCH_RESULT",
    "BRANDS",
    "CANCEL",
    "CANCEL_REASONS",
    "CATEGORIES",
    "CREATE",
    "DELETE",
    "FAILED",
    "FIND",
    "ORDERS",
    "PRICE_STOCK",
    "SHIP",
    "SUCCESS",
    "UPDATE",
    "BatchItem",
    "BatchResult",
    "Channel",
    "OrderRef",
    "Shipment",
]
