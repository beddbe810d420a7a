"""A marketplace order in marketplace-neutral terms: what the per-marketplace order mappers
(``workers/mappers/orders/<code>.py``) produce from the marketplace's own document, and what the
OpenCart order writer (``bridge/order_writer.py``) stores.

Amounts are ``Decimal`` in the order's currency, **gross** (VAT included) as every marketplace
here reports them; the writer derives OpenCart's net prices and tax rows from ``vat_rate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

# Marketplace-neutral order states; each channel's settings map them to OpenCart order statuses.
AWAITING = "awaiting"  # placed, payment being checked (Trendyol Awaiting): reserve stock, do not ship
CREATED = "created"  # to be prepared
PICKING = "picking"  # the seller took it on (acknowledged / packaged)
INVOICED = "invoiced"
SHIPPED = "shipped"
DELIVERED = "delivered"
UNDELIVERED = "undelivered"
CANCELLED = "cancelled"  # by the customer, the marketplace or the seller (unsupplied)
RETURNED = "returned"
STATES = (AWAITING, CREATED, PICKING, INVOICED, SHIPPED, DELIVERED, UNDELIVERED, CANCELLED, RETURNED)


@dataclass(frozen=True)
class Address:
    firstname: str
    lastname: str
    address_1: str
    address_2: str = ""
    city: str = ""  # OpenCart's city (Turkish marketplaces: the district, "ilçe")
    zone: str = ""  # OpenCart's zone (Turkish marketplaces: the province, "il")
    postcode: str = ""
    country_code: str = "TR"  # ISO 3166-1 alpha-2
    company: str = ""
    telephone: str = ""


@dataclass(frozen=True)
class OrderLine:
    remote_line_id: str
    sku: str  # the key the listing is known by on that marketplace (barcode, merchant SKU, stock code, seller SKU)
    name: str
    quantity: int
    unit_price: Decimal  # gross, after the seller's discounts, per unit
    vat_rate: Decimal  # percent, e.g. Decimal(20)
    model: str = ""
    variant: str = ""  # e.g. "Renk: Kırmızı / Beden: M", shown as an order option
    state: str | None = None  # a line's own state where the marketplace has one (cancelled lines)


@dataclass(frozen=True)
class MarketOrder:
    remote_id: str  # the unit Kervan imports as one OpenCart order (Trendyol: shipment package)
    order_number: str  # what the customer and the merchant see
    state: str  # one of STATES
    remote_status: str  # the marketplace's own word, kept for the admin
    created_at: datetime
    currency: str  # ISO 4217, e.g. "TRY"
    customer_firstname: str
    customer_lastname: str
    email: str
    telephone: str
    shipping_address: Address
    payment_address: Address
    lines: tuple[OrderLine, ...]
    shipping: Decimal = Decimal(0)  # gross shipping the customer paid
    total: Decimal | None = None  # the marketplace's own order total (gross); None: sum of lines + shipping
    carrier: str = ""
    tracking_number: str = ""
    # The unit the marketplace ships, where that is not ``remote_id`` (Hepsiburada's package number,
    # known once the order is packaged): what a shipment report names.
    package_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def lines_total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal(0))


__all__ = [
    "AWAITING",
    "CANCELLED",
    "CREATED",
    "DELIVERED",
    "INVOICED",
    "PICKING",
    "RETURNED",
    "SHIPPED",
    "STATES",
    "UNDELIVERED",
    "Address",
    "MarketOrder",
    "OrderLine",
]
