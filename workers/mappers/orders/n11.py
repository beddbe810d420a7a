"""N11 shipment packages → ``MarketOrder``. Only mapping: no HTTP, no database.

``N11Client.orders_changed_since`` yields shipment packages (statuses already normalised by the
client: trimmed, "Canceled" → "Cancelled") with their ``lines``. N11's package ``id`` is not
stable — a split or a partial cancel gives the package a new id (or none), and the husk is not
listed again — so packages are grouped by ``orderNumber`` (marketplace-apis.md §3.3: "key orders
by orderNumber/orderLineId"): ``remote_id`` = ``order_number`` = the order number, lines are
merged by ``orderLineId``, a line seen in two packages keeps the copy of the later-modified
package. A partial cancel moves the cancelled quantity, under a new ``orderLineId``, into an
``UnSupplied`` package: it shows as a cancelled line beside the remaining one.

- state: the least advanced live line (N11 approves line by line); cancelled when every line is.
- sku = ``stockCode`` (``workers/catalog/n11.py`` ``key_of``).
- unit price = ``sellerInvoiceAmount`` / quantity (N11: price × quantity − the seller's
  discount, gross), else (``price`` × quantity − ``totalSellerDiscountPrice``) / quantity.
- vat = the line's ``vatRate`` where sent, else 20 (``common.DEFAULT_VAT``): the package
  documentation read lists no rate.
- variant from ``variantAttributes`` ``[{name, value}]`` where sent.
- total = the live lines' ``sellerInvoiceAmount`` + shipping; shipping = 0: the documented
  package fields have no shipping fee paid by the customer.
- tracking = ``cargoSenderNumber`` (the carrier's number once handed over); ``cargoTrackingNumber``
  is N11's campaign code, not a tracking number, and stays in ``raw``.
- addresses (``shippingAddress`` / ``billingAddress`` where sent): ``district`` (ilçe) → city,
  ``city`` (il) → zone, ``neighborhood`` → second line.
- dates: ``createdDate`` (else ``orderDate``, ``lastModifiedDate``), epoch ms read as UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from loguru import logger

from workers.channels.n11 import normalize_status
from workers.mappers.orders import common as c
from workers.orders import model as m

CODE = "n11"

# Package / line status → neutral state. Source: marketplace-apis.md §3.3 ("Created (paid,
# awaiting approval) → Picking (approved) → Shipped → Delivered; Cancelled; UnSupplied (seller
# cancel); Unpacked (split parent, ignore)"; returns appear as Delivered in REST).
STATES: dict[str, str] = {
    "Created": m.CREATED,
    "Picking": m.PICKING,
    "Shipped": m.SHIPPED,
    "Delivered": m.DELIVERED,
    "Cancelled": m.CANCELLED,
    "UnSupplied": m.CANCELLED,
}
IGNORED = "Unpacked"  # a split's husk: its lines live on in the new packages


@dataclass
class _Line:
    line_id: str
    word: str
    state: str
    modified: float
    sku: str
    name: str
    quantity: int
    unit: Decimal
    total: Decimal
    vat: Decimal
    variant: str


@dataclass
class _Order:
    number: str
    lines: dict[str, _Line] = field(default_factory=dict)
    created: list[datetime] = field(default_factory=list)
    customer: str = ""
    email: str = ""
    telephone: str = ""
    ship_to: m.Address | None = None
    bill_to: m.Address | None = None
    currency: str = ""
    carriers: list[str] = field(default_factory=list)
    tracking: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    broken: str | None = None


def _state(word: str, what: str) -> str:
    state = STATES.get(word)
    if state is None:
        raise c.Skip(f"{what} {word!r} is not an N11 status Kervan maps")
    return state


def _address(raw: Any, name: str) -> m.Address | None:
    if not isinstance(raw, dict) or not raw:
        return None
    first, last = c.split_name(c.first_text(raw.get("name"), raw.get("fullName"), name))
    line_1 = c.text(raw.get("address"))
    return m.Address(
        firstname=first,
        lastname=last,
        address_1=line_1,
        address_2=c.address_2(raw.get("neighborhood"), line_1),
        city=c.text(raw.get("district")),
        zone=c.text(raw.get("city")),
        postcode=c.text(raw.get("postalCode")),
        country_code=c.text(raw.get("countryCode")).upper() or "TR",
        company=c.first_text(raw.get("companyName"), raw.get("company")),
        telephone=c.first_text(raw.get("gsm"), raw.get("phone"), raw.get("phoneNumber")),
    )


def _currency(value: Any) -> str:
    word = c.text(value).upper()
    return "TRY" if word in ("TL", "YTL") else word


def _line(raw: Any, package_word: str, modified: float, index: int) -> _Line | None:
    if not isinstance(raw, dict):
        raise c.Skip(f"line {index} is not an object")
    line_id = c.text(raw.get("orderLineId"))
    if not line_id:
        raise c.Skip(f"line {index} has no orderLineId")
    what = f"line {line_id}"
    word = normalize_status(raw.get("orderItemLineItemStatusName")) or package_word
    if word == IGNORED:
        return None
    qty = c.quantity(raw.get("quantity"), f"{what} quantity")
    if raw.get("sellerInvoiceAmount") is not None:
        total = c.amount(raw.get("sellerInvoiceAmount"), f"{what} sellerInvoiceAmount")
    else:
        price = c.amount(raw.get("price"), f"{what} price")
        discount = c.amount_or(raw.get("totalSellerDiscountPrice"), f"{what} totalSellerDiscountPrice")
        total = price * qty - (discount or Decimal(0))
    attributes = raw.get("variantAttributes") if isinstance(raw.get("variantAttributes"), list) else []
    return _Line(
        line_id=line_id,
        word=word,
        state=_state(word, f"{what} status"),
        modified=modified,
        sku=c.text(raw.get("stockCode")),
        name=c.first_text(raw.get("productName"), raw.get("stockCode")),
        quantity=qty,
        unit=c.per_unit(total, qty),
        total=total,
        vat=c.vat_rate(raw.get("vatRate"), f"{what} vatRate"),
        variant=c.variant((a.get("name"), a.get("value")) for a in attributes if isinstance(a, dict)),
    )


def _add(order: _Order, pkg: dict[str, Any]) -> None:
    word = normalize_status(pkg.get("shipmentPackageStatus")) or ""
    if word == IGNORED:
        return
    _state(word, "status")
    raw_lines = pkg.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise c.Skip(f"package {c.text(pkg.get('id')) or '?'} has no lines")
    when = c.from_epoch_ms(pkg.get("lastModifiedDate"))
    modified = when.timestamp() if when else 0.0
    for i, raw in enumerate(raw_lines):
        line = _line(raw, word, modified, i)
        if line is None:
            continue
        held = order.lines.get(line.line_id)
        if held is None or (line.modified, c.PROGRESS[line.state]) >= (held.modified, c.PROGRESS[held.state]):
            order.lines[line.line_id] = line
        order.currency = order.currency or _currency(raw.get("currencyType") or raw.get("currencyCode"))
    created = (c.from_epoch_ms(pkg.get("createdDate")) or c.from_epoch_ms(pkg.get("orderDate"))
               or when)
    if created:
        order.created.append(created)
    name = c.first_text(pkg.get("customerfullName"), pkg.get("customerFullName"))
    order.customer = order.customer or name
    order.email = order.email or c.text(pkg.get("customerEmail"))
    order.ship_to = order.ship_to or _address(pkg.get("shippingAddress"), name)
    order.bill_to = order.bill_to or _address(pkg.get("billingAddress"), name)
    carrier = c.text(pkg.get("cargoProviderName"))
    if carrier and carrier not in order.carriers:
        order.carriers.append(carrier)
    tracking = c.text(pkg.get("cargoSenderNumber"))
    if tracking and tracking not in order.tracking:
        order.tracking.append(tracking)


def _market_order(order: _Order) -> m.MarketOrder | None:
    lines = list(order.lines.values())
    state = c.order_state(line.state for line in lines)
    if state is None:
        return None
    word = next(line.word for line in lines if line.state == state)
    live = [line for line in lines if line.state != m.CANCELLED]
    shipping = Decimal(0)
    total = sum((line.total for line in live), Decimal(0)) + shipping if live else None
    ship_to = order.ship_to or order.bill_to or m.Address(*c.split_name(order.customer), address_1="")
    bill_to = order.bill_to or ship_to
    first, last = c.split_name(order.customer)
    created = min(order.created, default=None)
    if created is None:
        raise c.Skip("no createdDate")
    return m.MarketOrder(
        remote_id=order.number,
        order_number=order.number,
        state=state,
        remote_status=word,
        created_at=created,
        currency=order.currency or "TRY",
        customer_firstname=first or ship_to.firstname,
        customer_lastname=last if first else ship_to.lastname,
        email=order.email,
        telephone=ship_to.telephone or bill_to.telephone,
        shipping_address=ship_to,
        payment_address=bill_to,
        lines=tuple(
            m.OrderLine(
                remote_line_id=line.line_id,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit,
                vat_rate=line.vat,
                variant=line.variant,
                state=line.state,
            )
            for line in lines
        ),
        shipping=shipping,
        total=total,
        carrier=", ".join(order.carriers),
        tracking_number=", ".join(order.tracking),
        raw={"packages": order.rows},
    )


def map_orders(docs: Iterable[Any], *,
               fetch_items: Callable[[str], list[dict[str, Any]]] | None = None) -> list[m.MarketOrder]:
    """Every order the poll's packages tell about, one per order number; ``fetch_items`` is not
    used (packages carry their lines)."""
    del fetch_items
    orders: dict[str, _Order] = {}
    for pkg in docs:
        if not isinstance(pkg, dict):
            c.skipped(CODE, None, "not a JSON object")
            continue
        number = c.text(pkg.get("orderNumber"))
        if not number:
            c.skipped(CODE, c.text(pkg.get("id")) or None, "package without an orderNumber")
            continue
        order = orders.setdefault(number, _Order(number))
        order.rows.append(pkg)
        try:
            _add(order, pkg)
        except Exception as exc:  # noqa: BLE001 - the order is skipped, the poll goes on
            order.broken = c.reason_of(exc)
    out = []
    for order in orders.values():
        if order.broken:
            c.skipped(CODE, order.number, order.broken)
            continue
        try:
            mapped = _market_order(order)
        except Exception as exc:  # noqa: BLE001 - one odd order must not stop the others
            c.skipped(CODE, order.number, c.reason_of(exc))
            continue
        if mapped is None:
            # Only a split's husk was seen: the new packages carry the lines.
            logger.bind(marketplace=CODE).debug("n11 order {}: only unpacked packages in this poll", order.number)
            continue
        out.append(mapped)
    return out


__all__ = ["CODE", "STATES", "map_orders"]
