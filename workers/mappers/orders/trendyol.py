"""Trendyol shipment package → ``MarketOrder``. Only mapping: no HTTP, no database.

One package is one OpenCart order: ``remote_id`` = ``shipmentPackageId``, ``order_number`` =
``orderNumber``. A cannot-supply (or split) cancels the package and moves what is left to a new
``shipmentPackageId`` on the same order number, so the old OpenCart order goes to cancelled
(restocking it) and the new package arrives as a new order with the remaining lines.

Field names are those of the 08.12.2025 rename (marketplace-apis.md §1.10): ``shipmentPackageId``,
``packageTotalPrice``, lines' ``lineId``, ``barcode``, ``stockCode``, ``lineGrossAmount``,
``lineSellerDiscount``, ``lineUnitPrice``, ``vatRate``, ``productSize``, ``productColor``,
``orderLineItemStatusName``.

- sku = the line's ``barcode`` as Trendyol reports it: the key Kervan lists under on Trendyol
  (``workers/catalog/trendyol.py`` ``key_of``; the catalog already sends it space-free, the form
  Trendyol keeps).
- unit price = (``lineGrossAmount`` − ``lineSellerDiscount``) / quantity: gross, after the
  seller's discount. Trendyol-funded discounts (``lineTyDiscount``) are not taken off — Trendyol
  pays them to the seller. Without ``lineGrossAmount``, ``lineUnitPrice`` (after both discounts)
  plus the Trendyol discount per unit.
- total = ``packageTotalPrice``, Trendyol's own figure (after both discounts); when Trendyol funded
  part of the discount it is below the lines and the order writer flags the difference.
- shipping = 0: the package has no field for a shipping fee paid by the customer.
- vat = the line's ``vatRate`` (else 20, ``common.DEFAULT_VAT``); variant from ``productColor`` /
  ``productSize``.
- addresses: ``district`` (ilçe) → city, ``city`` (il) → zone, ``neighborhood`` → second line.
- dates: ``orderDate`` (epoch ms, read as UTC; the client widens its windows for the "GMT+3"
  ambiguity, the mapper does not shift dates).
- dedupe: the copy with the latest ``lastModifiedDate`` wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from workers.mappers.orders import common as c
from workers.orders import model as m

CODE = "trendyol"

# Package / line status → neutral state. Source: marketplace-apis.md §1.10 (status enum and
# lifecycle, [OFF] getShipmentPackages / stream / webhook model) and docs/channels/trendyol.md.
STATES: dict[str, str] = {
    "Awaiting": m.AWAITING,  # payment check: reserve stock, do not ship
    "Created": m.CREATED,
    "Picking": m.PICKING,  # the seller took it on
    "Invoiced": m.INVOICED,
    "Shipped": m.SHIPPED,  # carrier scan; Trendyol sets it
    "AtCollectionPoint": m.SHIPPED,  # waiting at a pick-up point: still with the carrier
    "Delivered": m.DELIVERED,
    "UnDelivered": m.UNDELIVERED,
    "Returned": m.RETURNED,
    "Cancelled": m.CANCELLED,  # by the customer, or the old package of a cannot-supply/split
    "UnSupplied": m.CANCELLED,  # the seller could not supply it
    "UnPacked": m.CANCELLED,  # a split's husk: its lines live on in the new packages
}
# "Verified" (stream/webhook only) is left out on purpose: no source says what it means, and a
# guessed state would move the OpenCart order wrongly; such a package is skipped with a warning.


def remote_id(doc: dict[str, Any]) -> str | None:
    pid = c.text(doc.get("shipmentPackageId"))
    return pid or None


def _status(value: Any) -> str:
    return c.text(value)


def _state(word: str, what: str) -> str:
    state = STATES.get(word)
    if state is None:
        raise c.Skip(f"{what} {word!r} is not a Trendyol status Kervan maps")
    return state


def _address(raw: Any, first: str, last: str) -> m.Address:
    a = raw if isinstance(raw, dict) else {}
    line_1 = c.first_text(a.get("address1"), a.get("fullAddress"))
    return m.Address(
        firstname=c.first_text(a.get("firstName"), first),
        lastname=c.first_text(a.get("lastName"), last),
        address_1=line_1,
        address_2=c.first_text(a.get("address2")) or c.address_2(a.get("neighborhood"), line_1),
        city=c.text(a.get("district")),
        zone=c.text(a.get("city")),
        postcode=c.text(a.get("postalCode")),
        country_code=c.text(a.get("countryCode")).upper() or "TR",
        company=c.text(a.get("company")),
        telephone=c.text(a.get("phone")),
    )


def _line(raw: Any, package_state: str, index: int) -> m.OrderLine:
    if not isinstance(raw, dict):
        raise c.Skip(f"line {index} is not an object")
    line_id = c.text(raw.get("lineId"))
    if not line_id:
        raise c.Skip(f"line {index} has no lineId")
    what = f"line {line_id}"
    qty = c.quantity(raw.get("quantity"), f"{what} quantity")
    if raw.get("lineGrossAmount") is not None:
        gross = c.amount(raw.get("lineGrossAmount"), f"{what} lineGrossAmount")
        seller = c.amount_or(raw.get("lineSellerDiscount"), f"{what} lineSellerDiscount")
        unit = c.per_unit(gross - seller, qty)
    else:
        paid = c.amount(raw.get("lineUnitPrice"), f"{what} lineUnitPrice")
        trendyol = c.amount_or(raw.get("lineTyDiscount"), f"{what} lineTyDiscount")
        unit = c.per_unit(paid * qty + trendyol, qty)
    word = _status(raw.get("orderLineItemStatusName"))
    return m.OrderLine(
        remote_line_id=line_id,
        sku=c.text(raw.get("barcode")),
        name=c.first_text(raw.get("productName"), raw.get("barcode")),
        quantity=qty,
        unit_price=unit,
        vat_rate=c.vat_rate(raw.get("vatRate"), f"{what} vatRate"),
        model=c.text(raw.get("stockCode")),
        variant=c.variant((("Renk", raw.get("productColor")), ("Beden", raw.get("productSize")))),
        state=_state(word, f"{what} status") if word else package_state,
    )


def to_order(doc: dict[str, Any]) -> m.MarketOrder:
    """One package; raises ``common.Skip`` when it cannot be mapped."""
    pid = remote_id(doc)
    if pid is None:
        raise c.Skip("no shipmentPackageId")
    number = c.text(doc.get("orderNumber"))
    if not number:
        raise c.Skip("no orderNumber")
    word = c.first_text(doc.get("status"), doc.get("shipmentPackageStatus"))
    state = _state(word, "status")
    history = doc.get("packageHistory") or doc.get("packageHistories")
    history = history if isinstance(history, list) else []
    created = c.from_epoch_ms(doc.get("orderDate")) or min(
        (t for t in (c.from_epoch_ms(h.get("createdDate")) for h in history if isinstance(h, dict)) if t),
        default=None,
    ) or c.from_epoch_ms(doc.get("lastModifiedDate"))
    if created is None:
        raise c.Skip("no orderDate")
    raw_lines = doc.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise c.Skip("no lines")
    lines = tuple(_line(raw, state, i) for i, raw in enumerate(raw_lines))
    first, last = c.text(doc.get("customerFirstName")), c.text(doc.get("customerLastName"))
    shipping_address = _address(doc.get("shipmentAddress"), first, last)
    invoice = doc.get("invoiceAddress") if isinstance(doc.get("invoiceAddress"), dict) else None
    payment_address = _address(invoice, first, last) if invoice else shipping_address
    total = c.amount_or(doc.get("packageTotalPrice"), "packageTotalPrice", None)
    currency = c.first_text(doc.get("currencyCode"), *(ln.get("currencyCode") for ln in raw_lines
                                                        if isinstance(ln, dict))) or "TRY"
    return m.MarketOrder(
        remote_id=pid,
        order_number=number,
        state=state,
        remote_status=word,
        created_at=created,
        currency=currency.upper(),
        customer_firstname=first or shipping_address.firstname,
        customer_lastname=last or shipping_address.lastname,
        email=c.text(doc.get("customerEmail")),
        telephone=shipping_address.telephone or payment_address.telephone,
        shipping_address=shipping_address,
        payment_address=payment_address,
        lines=lines,
        shipping=Decimal(0),
        total=total,
        carrier=c.text(doc.get("cargoProviderName")),
        tracking_number=c.text(doc.get("cargoTrackingNumber")),
        raw=doc,
    )


def map_orders(docs: Iterable[Any], *,
               fetch_items: Callable[[str], list[dict[str, Any]]] | None = None) -> list[m.MarketOrder]:
    """Every mappable package of a poll, one per ``shipmentPackageId`` (the latest copy);
    ``fetch_items`` is not used (packages carry their lines)."""
    del fetch_items
    unique = c.latest(CODE, docs, remote_id, lambda d: c.from_epoch_ms(d.get("lastModifiedDate")))
    return c.each(CODE, unique, remote_id, to_order)


__all__ = ["CODE", "STATES", "map_orders", "remote_id", "to_order"]
