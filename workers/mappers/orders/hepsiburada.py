"""Hepsiburada order rows → ``MarketOrder``. Only mapping: no HTTP, no database.

``HepsiburadaClient.orders_changed_since`` yields rows of six listings, each tagged ``_feed``
(marketplace-apis.md §2.5, docs/channels/hepsiburada.md, sandbox/hepsiburada/state.py):

- ``orders``: open lines (LineRepresentation: ``id``, ``orderNumber``, ``merchantSKU``,
  ``unitPrice``/``totalPrice`` money, ``vatRate``, ``shippingAddress``, ``invoice``…), paid and
  to be packed;
- ``packages``: packed packages with their ``items`` (lines of that shape, or HB's PackageLine:
  ``lineItemId``, ``merchantSku``, ``price``…) and flat ``shipping*``/``billing*`` address fields;
- ``cancelled``: thin cancelled lines (``lineItemId``, ``orderNumber``, ``merchantSku``,
  ``quantity``, ``cancelDate``: no price);
- ``shipped`` / ``delivered`` / ``undelivered``: thin PascalCase package rows (``PackageNumber``,
  ``OrderNumber``/``OrderNumbers``, a date): no lines at all.

None of them is a whole order, and one package may hold lines of several orders, so rows are
grouped by ``orderNumber``, the one key every feed carries: ``remote_id`` = ``order_number`` =
the order number, and an order keeps it from its open lines through packing and shipping to
delivery. Lines are merged by line item id; a line seen twice keeps the more advanced status (a
thin feed's package status also moves the lines known to be in that package).

- state: the least advanced live line or package (an order is not shipped while one of its
  parcels is still being packed); cancelled only when everything is. ``remote_status`` is HB's
  word for the part that decided it.
- An order known only from the thin feeds (its packing happened before the poll's window) maps
  with no lines and no address: it carries a status change for an order imported earlier.
- sku = ``merchantSKU``/``merchantSku`` (``workers/catalog/hepsiburada.py`` ``key_of``).
- unit price = (line total − merchant discount) / quantity, gross. ASSUMED: ``totalPrice``
  (else unit price × quantity) is before the merchant's discount (``merchantDiscount`` /
  ``totalMerchantDiscount``); HB-funded discounts are not taken off. Cancelled lines known only
  from the cancelled feed have no price (0).
- vat = ``vatRate`` (a fraction such as 0.2 is read as 20 %), else 20 (``common.DEFAULT_VAT``).
- total = the live lines' totals + shipping: HB lists no order total. shipping = the package's
  ``shippingTotalPrice`` when the package holds one order only (0 otherwise).
- addresses: ``town`` (ilçe) → city, ``city`` (il) → zone, ``district`` (mahalle/semt) → second
  line; packages' ``shippingTown``/``shippingCity``/``shippingDistrict`` likewise.
- dates: ``orderDate`` (HB's Istanbul-time formats, ``parse_hb_date``); an order seen only in
  the thin feeds is dated by the feed's change date.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from workers.channels.hepsiburada import FEED_KEY, parse_hb_date
from workers.mappers.orders import common as c
from workers.orders import model as m

CODE = "hepsiburada"

# HB status word (case-folded) → neutral state. Source: marketplace-apis.md §2.5 lifecycle
# "Open (paid, "Paketlenecek") → Packaged → InTransit → Delivered | Undelivered; Cancelled;
# Unpacked" (the exact string set is not enumerated by HB; these are the documented words, plus
# the feeds' own names). An unpacked package puts its lines back to be packed.
STATES: dict[str, str] = {
    "open": m.CREATED,
    "unpacked": m.CREATED,
    "packaged": m.PICKING,  # the seller packed it: HB's acknowledgement
    "intransit": m.SHIPPED,
    "shipped": m.SHIPPED,
    "delivered": m.DELIVERED,
    "undelivered": m.UNDELIVERED,
    "cancelled": m.CANCELLED,
    "canceled": m.CANCELLED,
}
# What a row's listing says about its status when the row does not (thin rows never do).
FEED_WORDS = {
    "orders": "Open",
    "packages": "Packaged",
    "cancelled": "Cancelled",
    "shipped": "InTransit",
    "delivered": "Delivered",
    "undelivered": "Undelivered",
}
THIN_FEEDS = ("shipped", "delivered", "undelivered")
THIN_DATES = {"shipped": "ShippedDate", "delivered": "DeliveredDate", "undelivered": "UndeliveredDate"}


@dataclass
class _Line:
    line_id: str
    word: str
    state: str
    package: str = ""
    sku: str = ""
    name: str = ""
    quantity: int = 0
    unit: Decimal = Decimal(0)
    total: Decimal | None = None  # after the merchant's discount; None: not priced (thin row)
    vat: Decimal = c.DEFAULT_VAT
    variant: str = ""


@dataclass
class _Order:
    number: str
    lines: dict[str, _Line] = field(default_factory=dict)
    packages: dict[str, tuple[str, str]] = field(default_factory=dict)  # thin feeds: number → (word, state)
    created: list[datetime] = field(default_factory=list)
    changed: list[datetime] = field(default_factory=list)
    shipping: dict[str, Decimal] = field(default_factory=dict)  # per package
    carriers: list[str] = field(default_factory=list)
    tracking: list[str] = field(default_factory=list)
    customer: str = ""
    email: str = ""
    telephone: str = ""
    ship_to: m.Address | None = None
    bill_to: m.Address | None = None
    currency: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)
    broken: str | None = None


def _word(value: Any) -> str:
    """HB's status word if it is one Kervan knows, else ""."""
    word = c.text(value)
    return word if word.casefold() in STATES else ""


def _state(word: str) -> str:
    return STATES[word.casefold()]


def _feed_of(row: dict[str, Any]) -> str:
    feed = c.text(row.get(FEED_KEY))
    if feed:
        return feed
    # Rows that did not come through the client: tell them apart by shape.
    if isinstance(row.get("items"), list):
        return "packages"
    if "lineItemId" in row and "cancelDate" in row:
        return "cancelled"
    return "orders" if "orderNumber" in row else ""


def _numbers(row: dict[str, Any], feed: str) -> list[str]:
    if feed in THIN_FEEDS:
        many = row.get("OrderNumbers")
        found = [c.text(n) for n in many] if isinstance(many, list) else []
        return [n for n in dict.fromkeys(found + [c.text(row.get("OrderNumber"))]) if n]
    if feed == "packages":
        items = row.get("items") if isinstance(row.get("items"), list) else []
        found = [c.text(i.get("orderNumber")) for i in items if isinstance(i, dict)]
        return [n for n in dict.fromkeys(found) if n] or ([c.text(row.get("orderNumber"))]
                                                          if c.text(row.get("orderNumber")) else [])
    number = c.text(row.get("orderNumber"))
    return [number] if number else []


def _row_id(row: dict[str, Any]) -> str:
    return c.first_text(row.get("id"), row.get("lineItemId"), row.get("packageNumber"), row.get("PackageNumber"))


def _address(raw: Any, name: Any = "") -> m.Address | None:
    if not isinstance(raw, dict) or not raw:
        return None
    first, last = c.split_name(c.first_text(raw.get("name"), name))
    line_1 = c.text(raw.get("address"))
    return m.Address(
        firstname=first,
        lastname=last,
        address_1=line_1,
        address_2=c.address_2(raw.get("district"), line_1),
        city=c.text(raw.get("town")),
        zone=c.text(raw.get("city")),
        postcode=c.text(raw.get("postalCode")),
        country_code=c.text(raw.get("countryCode")).upper() or "TR",
        telephone=c.first_text(raw.get("phoneNumber"), raw.get("alternatePhoneNumber")),
    )


def _flat_address(row: dict[str, Any], kind: str) -> m.Address | None:
    """A package's flat ``shipping*`` / ``billing*`` fields as an address."""
    if kind == "shipping":
        name = c.first_text(row.get("recipientName"), row.get("customerName"))
        line_1 = c.text(row.get("shippingAddressDetail"))
    else:
        name = c.first_text(row.get("companyName"), row.get("customerName"))
        line_1 = c.text(row.get("billingAddress"))
    if not line_1:
        return None
    first, last = c.split_name(name)
    return m.Address(
        firstname=first,
        lastname=last,
        address_1=line_1,
        address_2=c.address_2(row.get(f"{kind}District"), line_1),
        city=c.text(row.get(f"{kind}Town")),
        zone=c.text(row.get(f"{kind}City")),
        postcode=c.text(row.get(f"{kind}PostalCode")),
        country_code=c.text(row.get(f"{kind}CountryCode")).upper() or "TR",
        telephone=c.text(row.get("phoneNumber")),
    )


def _money_field(row: dict[str, Any], *names: str) -> Any:
    for name in names:
        if row.get(name) is not None:
            return row.get(name)
    return None


def _discount(row: dict[str, Any], qty: int, what: str) -> Decimal:
    merchant = row.get("merchantDiscount") if isinstance(row.get("merchantDiscount"), dict) else {}
    total = c.amount_or(_money_field(merchant, "totalPrice") or row.get("totalMerchantDiscount"),
                        f"{what} merchant discount", None)
    if total is not None:
        return total
    unit = c.amount_or(_money_field(merchant, "unitPrice") or row.get("unitMerchantDiscount"),
                       f"{what} merchant discount")
    return (unit or Decimal(0)) * qty


def _currency(*moneys: Any) -> str:
    for money in moneys:
        if isinstance(money, dict):
            found = c.first_text(money.get("currency"), money.get("CurrencyCode"))
            if found:
                return found.upper()
    return ""


class _Grouper:
    def __init__(self) -> None:
        self.orders: dict[str, _Order] = {}

    def order(self, number: str) -> _Order:
        if number not in self.orders:
            self.orders[number] = _Order(number)
        return self.orders[number]

    def add(self, row: Any) -> None:
        if not isinstance(row, dict):
            c.skipped(CODE, None, "not a JSON object")
            return
        feed = _feed_of(row)
        numbers = _numbers(row, feed)
        if not numbers:
            c.skipped(CODE, _row_id(row) or None, f"{feed or 'unknown'} row without an order number")
            return
        for number in numbers:
            self.order(number).rows.append(row)
        try:
            if feed == "orders":
                self._line(self.order(numbers[0]), row, "Open", "")
            elif feed == "packages":
                self._package(row)
            elif feed == "cancelled":
                self._cancelled(self.order(numbers[0]), row)
            elif feed in THIN_FEEDS:
                self._thin(row, feed, numbers)
            else:
                raise c.Skip(f"row of an unknown listing {feed!r}")
        except Exception as exc:  # noqa: BLE001 - the order is skipped, the poll goes on
            for number in numbers:
                self.order(number).broken = c.reason_of(exc)

    # -- rows ------------------------------------------------------------------------------------

    def _merge(self, order: _Order, line: _Line) -> None:
        held = order.lines.get(line.line_id)
        if held is None:
            order.lines[line.line_id] = line
            return
        if c.PROGRESS[line.state] > c.PROGRESS[held.state]:
            held.word, held.state = line.word, line.state
        if line.total is not None and held.total is None:
            held.sku, held.name, held.quantity = line.sku or held.sku, line.name, line.quantity
            held.unit, held.total, held.vat, held.variant = line.unit, line.total, line.vat, line.variant
        held.package = held.package or line.package

    def _line(self, order: _Order, row: dict[str, Any], default_word: str, package: str) -> None:
        line_id = c.first_text(row.get("id"), row.get("lineItemId"))
        if not line_id:
            raise c.Skip("a line without an id")
        what = f"line {line_id}"
        word = _word(row.get("status")) or default_word
        qty = c.quantity(row.get("quantity"), f"{what} quantity")
        unit_money = _money_field(row, "unitPrice", "price")
        total_money = row.get("totalPrice")
        gross = (c.amount(total_money, f"{what} totalPrice") if total_money is not None
                 else c.amount(unit_money, f"{what} unitPrice") * qty)
        paid = gross - _discount(row, qty, what)
        properties = row.get("properties") if isinstance(row.get("properties"), list) else []
        self._merge(order, _Line(
            line_id=line_id,
            word=word,
            state=_state(word),
            package=c.first_text(row.get("packageNumber"), package),
            sku=c.first_text(row.get("merchantSKU"), row.get("merchantSku")),
            name=c.first_text(row.get("name"), row.get("productName"), row.get("merchantSKU"),
                              row.get("merchantSku")),
            quantity=qty,
            unit=c.per_unit(paid, qty),
            total=paid,
            vat=c.vat_rate(row.get("vatRate"), f"{what} vatRate"),
            variant=c.variant((p.get("displayName") or p.get("name"), p.get("value"))
                              for p in properties if isinstance(p, dict)),
        ))
        order.currency = order.currency or _currency(unit_money, total_money)
        when = parse_hb_date(row.get("orderDate"))
        if when:
            order.created.append(when)
        order.customer = order.customer or c.text(row.get("customerName"))
        ship = row.get("shippingAddress") if isinstance(row.get("shippingAddress"), dict) else {}
        invoice = row.get("invoice") if isinstance(row.get("invoice"), dict) else {}
        order.ship_to = order.ship_to or _address(ship, row.get("customerName"))
        order.bill_to = order.bill_to or _address(invoice.get("address"), row.get("customerName"))
        bill = invoice.get("address") if isinstance(invoice.get("address"), dict) else {}
        order.email = order.email or c.first_text(ship.get("email"), bill.get("email"))
        order.telephone = order.telephone or c.first_text(ship.get("phoneNumber"), bill.get("phoneNumber"))
        cargo = row.get("cargoCompanyModel") if isinstance(row.get("cargoCompanyModel"), dict) else {}
        carrier = c.first_text(row.get("cargoCompany"), cargo.get("name"))
        if carrier and carrier not in order.carriers:
            order.carriers.append(carrier)

    def _package(self, row: dict[str, Any]) -> None:
        number = c.text(row.get("packageNumber"))
        word = _word(row.get("status")) or "Packaged"
        items = row.get("items")
        if not isinstance(items, list) or not items:
            raise c.Skip(f"package {number or '?'} has no items")
        owners = set()
        for item in items:
            if not isinstance(item, dict):
                raise c.Skip(f"package {number or '?'} has an item that is not an object")
            owner = c.first_text(item.get("orderNumber"), row.get("orderNumber"))
            if not owner:
                raise c.Skip(f"package {number or '?'} has an item without an order number")
            owners.add(owner)
            order = self.order(owner)
            self._line(order, item, word, number)
        for owner in owners:
            order = self.order(owner)
            order.customer = order.customer or c.text(row.get("customerName"))
            order.ship_to = order.ship_to or _flat_address(row, "shipping")
            order.bill_to = order.bill_to or _flat_address(row, "billing")
            order.email = order.email or c.text(row.get("email"))
            order.telephone = order.telephone or c.text(row.get("phoneNumber"))
            when = parse_hb_date(row.get("orderDate"))
            if when:
                order.created.append(when)
            carrier = c.text(row.get("cargoCompany"))
            if carrier and carrier not in order.carriers:
                order.carriers.append(carrier)
            tracking = c.text(row.get("trackingNumber"))
            if tracking and tracking not in order.tracking:
                order.tracking.append(tracking)
        shipping = c.amount_or(row.get("shippingTotalPrice"), f"package {number} shippingTotalPrice", None)
        if shipping is not None and len(owners) == 1 and number:
            self.order(next(iter(owners))).shipping[number] = shipping

    def _cancelled(self, order: _Order, row: dict[str, Any]) -> None:
        line_id = c.first_text(row.get("lineItemId"), row.get("id"))
        if not line_id:
            raise c.Skip("a cancelled line without an id")
        sku = c.first_text(row.get("merchantSku"), row.get("merchantSKU"))
        self._merge(order, _Line(
            line_id=line_id, word="Cancelled", state=m.CANCELLED, sku=sku, name=sku,
            quantity=c.quantity(row.get("quantity"), f"line {line_id} quantity"),
        ))
        when = parse_hb_date(row.get("cancelDate"))
        if when:
            order.changed.append(when)

    def _thin(self, row: dict[str, Any], feed: str, numbers: list[str]) -> None:
        package = c.text(row.get("PackageNumber"))
        if not package:
            raise c.Skip(f"{feed} row without a PackageNumber")
        word = FEED_WORDS[feed]
        state = _state(word)
        when = parse_hb_date(row.get(THIN_DATES[feed]))
        for number in numbers:
            order = self.order(number)
            held = order.packages.get(package)
            if held is None or c.PROGRESS[state] > c.PROGRESS[held[1]]:
                order.packages[package] = (word, state)
            if when:
                order.changed.append(when)

    # -- orders ----------------------------------------------------------------------------------

    def result(self) -> list[m.MarketOrder]:
        out = []
        for order in self.orders.values():
            if order.broken:
                c.skipped(CODE, order.number, order.broken)
                continue
            try:
                out.append(self._market_order(order))
            except Exception as exc:  # noqa: BLE001 - one odd order must not stop the others
                c.skipped(CODE, order.number, c.reason_of(exc))
        return out

    def _market_order(self, order: _Order) -> m.MarketOrder:
        for line in order.lines.values():
            moved = order.packages.get(line.package)
            if moved and c.PROGRESS[moved[1]] > c.PROGRESS[line.state]:
                line.word, line.state = moved
        in_lines = {line.package for line in order.lines.values()}
        parts = [(line.word, line.state) for line in order.lines.values()]
        parts += [part for pkg, part in order.packages.items() if pkg not in in_lines]
        state = c.order_state(s for _w, s in parts)
        if state is None:
            raise c.Skip("no lines and no packages")
        word = next(w for w, s in parts if s == state)
        live = [line for line in order.lines.values() if line.state != m.CANCELLED]
        shipping = sum(order.shipping.values(), Decimal(0))
        total = None
        if live and all(line.total is not None for line in live):
            total = sum((line.total for line in live if line.total is not None), Decimal(0)) + shipping
        when = min(order.created, default=None) or min(order.changed, default=None) or datetime.now(UTC)
        ship_to = order.ship_to or order.bill_to or _empty_address(order.customer)
        bill_to = order.bill_to or ship_to
        first, last = c.split_name(order.customer)
        return m.MarketOrder(
            remote_id=order.number,
            order_number=order.number,
            state=state,
            remote_status=word,
            created_at=when,
            currency=order.currency or "TRY",
            customer_firstname=first or ship_to.firstname,
            customer_lastname=last if first else ship_to.lastname,
            email=order.email,
            telephone=order.telephone or ship_to.telephone,
            shipping_address=ship_to,
            payment_address=bill_to,
            lines=tuple(
                m.OrderLine(
                    remote_line_id=line.line_id,
                    sku=line.sku,
                    name=line.name or line.sku,
                    quantity=line.quantity,
                    unit_price=line.unit,
                    vat_rate=line.vat,
                    variant=line.variant,
                    state=line.state,
                )
                for line in order.lines.values()
            ),
            shipping=shipping,
            total=total,
            carrier=", ".join(order.carriers),
            tracking_number=", ".join(order.tracking),
            package_id=next((line.package for line in order.lines.values() if line.package), None),
            raw={"rows": order.rows},
        )


def _empty_address(name: str) -> m.Address:
    first, last = c.split_name(name)
    return m.Address(firstname=first, lastname=last, address_1="")


def map_orders(docs: Iterable[Any], *,
               fetch_items: Callable[[str], list[dict[str, Any]]] | None = None) -> list[m.MarketOrder]:
    """Every order the poll's rows tell about, one per order number; ``fetch_items`` is not used."""
    del fetch_items
    grouper = _Grouper()
    for row in docs:
        grouper.add(row)
    return grouper.result()


__all__ = ["CODE", "FEED_WORDS", "STATES", "map_orders"]
