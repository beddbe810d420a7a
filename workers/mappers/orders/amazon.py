"""Amazon orders (Orders API v0 ``getOrders``) → ``MarketOrder``. Only mapping: no HTTP, no database.

``AmazonClient.orders_changed_since`` yields orders without items; each order's items come from
``fetch_items(AmazonOrderId)`` (``AmazonClient.order_items``, ``getOrderItems``), asked once per
order after the dedupe. ``remote_id`` = ``order_number`` = ``AmazonOrderId``; lines are keyed by
``OrderItemId``, which ``ship_order`` takes back. Field meanings: ordersV0.json (Order, OrderItem,
Address, BuyerInfo, Money), marketplace-apis.md §4.5.

- sku = ``SellerSKU`` (``workers/catalog/amazon.py`` ``key_of``); quantity = ``QuantityOrdered``
  (0 is kept: Amazon zeroes it on cancelled orders).
- ``ItemPrice`` is the line total (price × quantity). Where Amazon includes VAT in prices (TR,
  EU, UK) unit price = (``ItemPrice`` − ``PromotionDiscount``) / quantity; where it adds tax on
  top (US-style: ``OrderTotal`` = items + shipping − promotions + taxes, as in ordersV0.json's
  own example) the tax fields are added to make the price gross. Promotions are the seller's.
- vat: Amazon sends amounts, not rates. With a positive ``ItemTax`` the rate is tax / net,
  rounded to a whole percent when that is within the cents' rounding, else to 0.01 %; with no or
  zero ``ItemTax`` (Amazon collects no VAT for TR sellers, who still charge KDV in the price),
  20 (``common.DEFAULT_VAT``).
- shipping = Σ (``ShippingPrice`` − ``ShippingDiscount``), made gross the same way.
- total = ``OrderTotal.Amount``; Pending orders have none (None: the writer sums the lines).
- Pending / PendingAvailability orders carry no amounts yet (no ``OrderTotal``, no ``ItemPrice``):
  they map to AWAITING with their items at unit price 0 and total None, so stock is reserved;
  the amounts come with the order's next state.
- addresses: ``ShippingAddress`` (restricted: often only city, region, postcode, country without a
  Restricted Data Token): ``City`` → city, ``StateOrRegion`` → zone, ``District`` → second line
  (ASSUMED for Amazon.com.tr: province in ``StateOrRegion``, district in ``City``). There is no
  billing address in v0: the payment address is the shipping address. Buyer name and e-mail from
  ``BuyerInfo`` where present.
- carrier / tracking: not in getOrders (""), currency = ``OrderTotal.CurrencyCode``, else the
  items', else the marketplace's.
- dedupe: the copy with the latest ``LastUpdateDate`` wins.
- A failure of ``fetch_items`` that is transient (throttled, 5xx, timeout) is raised, so the
  poll is retried instead of the order being lost; any other failure skips that order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from workers.channels.errors import TransientError
from workers.mappers.orders import common as c
from workers.orders import model as m

CODE = "amazon"

# OrderStatus → neutral state. Source: ordersV0.json Order.OrderStatus enum and its descriptions.
STATES: dict[str, str] = {
    "PendingAvailability": m.AWAITING,  # pre-order, payment not authorised
    "Pending": m.AWAITING,  # placed, payment not authorised: not ready for shipment
    "Unshipped": m.CREATED,  # payment authorised, ready for shipment
    "PartiallyShipped": m.PICKING,  # some items shipped: the seller is on it, not all gone
    "Shipped": m.SHIPPED,
    "InvoiceUnconfirmed": m.SHIPPED,  # all shipped, invoice confirmation pending
    "Canceled": m.CANCELLED,
    "Unfulfillable": m.CANCELLED,  # Amazon-fulfilled orders that cannot be fulfilled
}

# Marketplace id → (country, currency): for orders whose amounts are not there yet. Source: the
# SP-API marketplace id table (developer-docs "Marketplace IDs").
MARKETPLACES: dict[str, tuple[str, str]] = {
    "A33AVAJ2PDY3EV": ("TR", "TRY"),
    "A1PA6795UKMFR9": ("DE", "EUR"),
    "A1RKKUPIHCS9HS": ("ES", "EUR"),
    "A13V1IB3VIYZZH": ("FR", "EUR"),
    "APJ6JRA9NG5V4": ("IT", "EUR"),
    "A1805IZSGTT6HS": ("NL", "EUR"),
    "AMEN7PMS3EDWL": ("BE", "EUR"),
    "A1F83G8C2ARO7P": ("GB", "GBP"),
    "A2NODRKZP88ZB9": ("SE", "SEK"),
    "A1C3SOZRARQ6R3": ("PL", "PLN"),
    "ATVPDKIKX0DER": ("US", "USD"),
    "A2EUQ1WTGCTBG2": ("CA", "CAD"),
    "A1AM78C64UM0Y8": ("MX", "MXN"),
    "A2Q3Y263D00KWC": ("BR", "BRL"),
    "A2VIGQ35RCS4UG": ("AE", "AED"),
    "A17E79C6D8DWNP": ("SA", "SAR"),
    "ARBP9OOSHTCHU": ("EG", "EGP"),
    "A21TJRUUN4KGV": ("IN", "INR"),
    "A1VC38T7YXB528": ("JP", "JPY"),
    "A39IBJ37TRP1C6": ("AU", "AUD"),
    "A19VAU5U5O7RUS": ("SG", "SGD"),
}
HUNDRED = Decimal(100)


def remote_id(doc: dict[str, Any]) -> str | None:
    return c.text(doc.get("AmazonOrderId")) or None


def _money(item: dict[str, Any], name: str, what: str) -> Decimal:
    return c.amount_or(item.get(name), f"{what} {name}") or Decimal(0)


def _address(raw: Any, name: str, country: str) -> m.Address:
    a = raw if isinstance(raw, dict) else {}
    first, last = c.split_name(c.first_text(a.get("Name"), name))
    line_1 = c.text(a.get("AddressLine1"))
    extra = " ".join(x for x in (c.text(a.get("AddressLine2")), c.text(a.get("AddressLine3"))) if x)
    district = c.address_2(a.get("District"), f"{line_1} {extra}")
    return m.Address(
        firstname=first,
        lastname=last,
        address_1=line_1,
        address_2=" ".join(x for x in (extra, district) if x),
        city=c.first_text(a.get("City"), a.get("Municipality"), a.get("County")),
        zone=c.text(a.get("StateOrRegion")),
        postcode=c.text(a.get("PostalCode")),
        country_code=(c.text(a.get("CountryCode")) or country or "").upper(),
        company=c.text(a.get("CompanyName")),
        telephone=c.text(a.get("Phone")),
    )


def _rate(tax: Decimal, net: Decimal) -> Decimal:
    """VAT rate in percent from a tax amount and the net it was charged on, both rounded to the
    cent by Amazon: a whole percent when one lies within that rounding, else to 0.01 %."""
    if tax <= 0 or net <= 0:
        return c.DEFAULT_VAT
    half = Decimal("0.005")
    low = (tax - half) / (net + half) * HUNDRED
    high = (tax + half) / max(net - half, Decimal("0.001")) * HUNDRED
    point = tax / net * HUNDRED
    whole = point.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if low <= whole <= high:
        return whole
    return point.quantize(c.CENT, rounding=ROUND_HALF_UP)


def _tax_added(doc: dict[str, Any], items: list[dict[str, Any]]) -> bool:
    """True when Amazon's amounts are net and its taxes come on top (US-style): ``OrderTotal``
    equals the items, shipping and promotions plus their taxes, and not without them."""
    total = c.amount_or(doc.get("OrderTotal"), "OrderTotal", None)
    if total is None:
        return False
    net = taxes = Decimal(0)
    for i, item in enumerate(items):
        what = f"item {i}"
        net += (_money(item, "ItemPrice", what) + _money(item, "ShippingPrice", what)
                - _money(item, "PromotionDiscount", what) - _money(item, "ShippingDiscount", what))
        taxes += (_money(item, "ItemTax", what) + _money(item, "ShippingTax", what)
                  - _money(item, "PromotionDiscountTax", what) - _money(item, "ShippingDiscountTax", what))
    cent = Decimal("0.01")
    return taxes > 0 and abs(net + taxes - total) < cent <= abs(net - total)


def _line(item: Any, index: int, tax_added: bool) -> m.OrderLine:
    if not isinstance(item, dict):
        raise c.Skip(f"item {index} is not an object")
    item_id = c.text(item.get("OrderItemId"))
    if not item_id:
        raise c.Skip(f"item {index} has no OrderItemId")
    what = f"item {item_id}"
    qty = c.quantity(item.get("QuantityOrdered"), f"{what} QuantityOrdered", allow_zero=True)
    price = _money(item, "ItemPrice", what)
    tax = _money(item, "ItemTax", what)
    promotion = _money(item, "PromotionDiscount", what)
    if tax_added:
        paid = price + tax - promotion - _money(item, "PromotionDiscountTax", what)
        rate = _rate(tax, price)
    else:
        paid = price - promotion
        rate = _rate(tax, price - tax)
    return m.OrderLine(
        remote_line_id=item_id,
        sku=c.text(item.get("SellerSKU")),
        name=c.first_text(item.get("Title"), item.get("SellerSKU"), item.get("ASIN")),
        quantity=qty,
        unit_price=c.per_unit(paid, qty) if qty else Decimal(0),
        vat_rate=rate,
    )


def _shipping(items: list[dict[str, Any]], tax_added: bool) -> Decimal:
    total = Decimal(0)
    for i, item in enumerate(items):
        what = f"item {i}"
        total += _money(item, "ShippingPrice", what) - _money(item, "ShippingDiscount", what)
        if tax_added:
            total += _money(item, "ShippingTax", what) - _money(item, "ShippingDiscountTax", what)
    return total


def _checked(doc: dict[str, Any]) -> tuple[str, str, str]:
    oid = remote_id(doc)
    if oid is None:
        raise c.Skip("no AmazonOrderId")
    word = c.text(doc.get("OrderStatus"))
    state = STATES.get(word)
    if state is None:
        raise c.Skip(f"OrderStatus {word!r} is not an Amazon status Kervan maps")
    return oid, word, state


def to_order(doc: dict[str, Any], items: list[dict[str, Any]] | None) -> m.MarketOrder:
    """One order with its items (None: not fetched, no lines); raises ``common.Skip`` when it
    cannot be mapped."""
    oid, word, state = _checked(doc)
    created = c.from_iso(doc.get("PurchaseDate")) or c.from_iso(doc.get("LastUpdateDate"))
    if created is None:
        raise c.Skip("no PurchaseDate")
    items = list(items or [])
    tax_added = _tax_added(doc, [i for i in items if isinstance(i, dict)])
    lines = tuple(_line(item, i, tax_added) for i, item in enumerate(items))
    country, market_currency = MARKETPLACES.get(c.text(doc.get("MarketplaceId")), ("", ""))
    order_total = doc.get("OrderTotal") if isinstance(doc.get("OrderTotal"), dict) else {}
    currency = c.first_text(
        order_total.get("CurrencyCode"),
        *((i.get("ItemPrice") or {}).get("CurrencyCode") for i in items
          if isinstance(i, dict) and isinstance(i.get("ItemPrice"), dict)),
        market_currency,
    ).upper()
    buyer = doc.get("BuyerInfo") if isinstance(doc.get("BuyerInfo"), dict) else {}
    name = c.text(buyer.get("BuyerName"))
    ship_to = _address(doc.get("ShippingAddress"), name, country)
    first, last = c.split_name(name)
    return m.MarketOrder(
        remote_id=oid,
        order_number=oid,
        state=state,
        remote_status=word,
        created_at=created,
        currency=currency,
        customer_firstname=first or ship_to.firstname,
        customer_lastname=last if first else ship_to.lastname,
        email=c.text(buyer.get("BuyerEmail")),
        telephone=ship_to.telephone,
        shipping_address=ship_to,
        payment_address=ship_to,
        lines=lines,
        shipping=_shipping([i for i in items if isinstance(i, dict)], tax_added),
        total=c.amount_or(doc.get("OrderTotal"), "OrderTotal", None),
        raw={"order": doc, "items": items},
    )


def map_orders(docs: Iterable[Any], *,
               fetch_items: Callable[[str], list[dict[str, Any]]] | None = None) -> list[m.MarketOrder]:
    """Every mappable order of a poll, one per ``AmazonOrderId`` (the latest copy), with its items
    from ``OrderItems`` in the document or ``fetch_items``."""
    unique = c.latest(CODE, docs, remote_id, lambda d: c.from_iso(d.get("LastUpdateDate")))
    out = []
    for doc in unique:
        oid = remote_id(doc)
        if doc.get("FulfillmentChannel") == "AFN":
            # Fulfilled by Amazon from its own warehouse: OpenCart's stock is not involved.
            continue
        try:
            _checked(doc)  # before asking Amazon for the items of an order that cannot map
            items = doc.get("OrderItems")
            if items is None and fetch_items is not None:
                items = fetch_items(oid or "")
            if items is not None and not isinstance(items, list):
                raise c.Skip("OrderItems is not a list")
            out.append(to_order(doc, items))
        except TransientError:
            raise  # Amazon is busy or down: the poll is retried, the order is not lost
        except Exception as exc:  # noqa: BLE001 - one odd order must not stop the others
            c.skipped(CODE, oid, c.reason_of(exc))
    return out


__all__ = ["CODE", "MARKETPLACES", "STATES", "map_orders", "remote_id", "to_order"]
