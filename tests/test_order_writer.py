"""Marketplace orders written into OpenCart's real order tables (4.1.0.4 and 4.0.2.3 demo
databases): exactly once under racing writers and crashes, stock moved once, totals that add up,
cancellations that restock once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bridge import channels
from bridge.db import Database
from bridge.order_writer import FLAG_UNKNOWN_CURRENCY, FLAG_UNKNOWN_SKU, OrderWriter
from workers.orders import model as m


def account(db: Database) -> int:
    return channels.upsert(db, "trendyol", name="T", base_url="http://127.0.0.1:1", seller_id="1",
                           credentials={}).channel_id


def addr(**kw) -> m.Address:
    base = dict(firstname="Şükrü", lastname="Öztürk", address_1="İnönü Cd. No:5 D:3", city="Kadıköy",
                zone="İstanbul", postcode="34710", country_code="TR", telephone="05321234567")
    return m.Address(**{**base, **kw})


def order(remote_id: str = "PKG-1", state: str = m.CREATED, status: str = "Created", currency: str = "USD",
          lines: tuple[m.OrderLine, ...] | None = None, shipping: Decimal = Decimal("0"),
          total: Decimal | None = None) -> m.MarketOrder:
    lines = lines if lines is not None else (
        m.OrderLine("L1", "product 11", "iPhone", 2, Decimal("120.00"), Decimal(20)),  # model of product 40
        m.OrderLine("L2", "Product 3", "Canon EOS 5D", 1, Decimal("110.00"), Decimal(10), variant="Renk: Kırmızı"),
    )
    return m.MarketOrder(
        remote_id=remote_id, order_number="ORD-" + remote_id, state=state, remote_status=status,
        created_at=datetime(2026, 11, 28, 10, 30, tzinfo=UTC), currency=currency,
        customer_firstname="Şükrü", customer_lastname="Öztürk", email="pf+x@trendyolmail.com",
        telephone="05321234567", shipping_address=addr(), payment_address=addr(), lines=lines,
        shipping=shipping, total=total,
    )


def qty(db: Database, pid: int) -> int:
    return int(db.one("SELECT quantity FROM {p}product WHERE product_id = %s", (pid,))["quantity"])


def orders(db: Database) -> list[dict]:
    return db.query("SELECT * FROM {p}order WHERE user_agent LIKE 'Kervan%%' ORDER BY order_id")


def test_an_order_is_stored_as_opencart_stores_one(store):
    cid = account(store)
    before = {40: qty(store, 40), 30: qty(store, 30)}
    res = OrderWriter(store, cid, "trendyol").apply(order(shipping=Decimal("29.99"), total=Decimal("379.99")))
    assert res.created and res.order_id > 0 and res.flags == []

    (o,) = orders(store)
    assert o["order_status_id"] == 2  # created → Processing
    assert (o["firstname"], o["shipping_city"], o["shipping_zone"]) == ("Şükrü", "Kadıköy", "İstanbul")
    assert o["shipping_country_id"] == store.one("SELECT country_id FROM {p}country WHERE iso_code_2 = 'TR'")[
        "country_id"]
    assert o["payment_method"].startswith("{") and '"kervan.trendyol"' in o["payment_method"]
    assert Decimal(str(o["total"])) == Decimal("379.99")

    lines = store.query("SELECT * FROM {p}order_product WHERE order_id = %s ORDER BY product_id", (o["order_id"],))
    assert [(r["product_id"], r["quantity"]) for r in lines] == [(30, 1), (40, 2)]
    iphone = lines[1]
    assert Decimal(str(iphone["price"])) == Decimal("100.0000") and Decimal(str(iphone["tax"])) == Decimal("20.0000")
    assert Decimal(str(iphone["total"])) == Decimal("200.0000")
    options = store.query("SELECT name, value FROM {p}order_option WHERE order_id = %s", (o["order_id"],))
    assert options == [{"name": "Varyant", "value": "Renk: Kırmızı"}]

    totals = {r["code"] + ":" + r["title"]: Decimal(str(r["value"])) for r in store.query(
        "SELECT code, title, value FROM {p}order_total WHERE order_id = %s", (o["order_id"],))}
    assert totals["tax:KDV %20"] == Decimal("40.0000") and totals["tax:KDV %10"] == Decimal("10.0000")
    assert totals["total:Total"] == Decimal("379.9900")
    parts = sum(v for k, v in totals.items() if not k.startswith("total:"))
    assert abs(parts - totals["total:Total"]) <= Decimal("0.0002")  # sub_total + shipping + taxes = total

    history = store.query("SELECT order_status_id, comment FROM {p}order_history WHERE order_id = %s",
                          (o["order_id"],))
    assert history == [{"order_status_id": 2, "comment": "Trendyol: Created"}]
    assert qty(store, 40) == before[40] - 2 and qty(store, 30) == before[30] - 1
    events = store.query("SELECT aggregate_id FROM {p}kervan_outbox WHERE event_type = 'stock.changed'"
                         " ORDER BY aggregate_id")
    assert [e["aggregate_id"] for e in events] == ["30", "40"]
    # As the extension does for a storefront order: dropshipping forwards supplier lines from these.
    order_events = store.query("SELECT event_type, payload FROM {p}kervan_outbox WHERE aggregate_type = 'order'"
                               " ORDER BY id")
    assert [(e["event_type"], json.loads(e["payload"])) for e in order_events] == [
        ("order.created", {"order_id": o["order_id"], "channel": "trendyol"}),
        ("order.status_changed", {"order_id": o["order_id"], "old_status_id": 0, "new_status_id": 2,
                                  "channel": "trendyol"})]


def test_applying_the_same_order_again_changes_nothing(store):
    cid = account(store)
    w = OrderWriter(store, cid, "trendyol")
    first = w.apply(order())
    stock = qty(store, 40)
    again = w.apply(order())
    assert not again.created and again.order_id == first.order_id and not again.status_changed
    assert len(orders(store)) == 1 and qty(store, 40) == stock


def test_racing_writers_create_one_order_and_lower_stock_once(store41):
    cid = account(store41)
    before = qty(store41, 40)
    results, errors = [], []
    barrier = threading.Barrier(4)

    def run() -> None:
        db = Database(store41.url, store41.prefix)
        try:
            barrier.wait()
            results.append(OrderWriter(db, cid, "trendyol").apply(order()))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sum(r.created for r in results) == 1
    assert len({r.order_id for r in results}) == 1
    assert len(orders(store41)) == 1 and qty(store41, 40) == before - 2


class CrashingWriter(OrderWriter):
    """Dies after the order rows are written but before the status and stock: a kill -9 there."""

    def _set_status(self, *args, **kwargs):
        raise SystemExit("killed")


def test_a_crash_mid_order_leaves_nothing_and_the_retry_imports_it_once(store41):
    cid = account(store41)
    before = qty(store41, 40)
    with pytest.raises(SystemExit):
        CrashingWriter(store41, cid, "trendyol").apply(order())
    assert orders(store41) == []
    assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_order_link")["n"] == 0
    assert qty(store41, 40) == before
    OrderWriter(store41, cid, "trendyol").apply(order())
    assert len(orders(store41)) == 1 and qty(store41, 40) == before - 2


def test_cancellation_restocks_once(store):
    cid = account(store)
    before = qty(store, 40)
    w = OrderWriter(store, cid, "trendyol")
    w.apply(order())
    assert qty(store, 40) == before - 2
    res = w.apply(order(state=m.CANCELLED, status="Cancelled"))
    assert res.status_changed and res.stock_moved == [30, 40]
    assert qty(store, 40) == before
    w.apply(order(state=m.CANCELLED, status="Cancelled"))
    assert qty(store, 40) == before
    (o,) = orders(store)
    assert o["order_status_id"] == 7
    assert [h["order_status_id"] for h in store.query(
        "SELECT order_status_id FROM {p}order_history WHERE order_id = %s ORDER BY order_history_id",
        (o["order_id"],))] == [2, 7]


def test_moving_along_processing_statuses_does_not_touch_stock(store41):
    cid = account(store41)
    w = OrderWriter(store41, cid, "trendyol")
    w.apply(order())
    stock = qty(store41, 40)
    res = w.apply(order(state=m.SHIPPED, status="Shipped"))
    assert res.status_changed and res.stock_moved == []
    assert qty(store41, 40) == stock and orders(store41)[0]["order_status_id"] == 3


def test_unknown_sku_and_currency_are_imported_and_flagged(store41):
    cid = account(store41)
    line = m.OrderLine("L9", "NOT-IN-OPENCART", "Bilinmeyen Ürün", 1, Decimal("50"), Decimal(20))
    res = OrderWriter(store41, cid, "trendyol").apply(order(currency="TRY", lines=(line,)))
    assert res.created and set(res.flags) == {FLAG_UNKNOWN_SKU, FLAG_UNKNOWN_CURRENCY}
    link = store41.one("SELECT flags FROM {p}kervan_order_link")
    assert set(link["flags"].split(",")) == {FLAG_UNKNOWN_SKU, FLAG_UNKNOWN_CURRENCY}
    (row,) = store41.query("SELECT product_id, name FROM {p}order_product")
    assert row == {"product_id": 0, "name": "Bilinmeyen Ürün"}


def test_a_listing_sku_resolves_to_its_product(store41):
    cid = account(store41)
    store41.execute("INSERT INTO {p}kervan_listing (channel_id, product_id, remote_sku) VALUES (%s, 43, 'BC-43')",
                    (cid,))
    line = m.OrderLine("L1", "BC-43", "MacBook", 1, Decimal("600"), Decimal(20))
    OrderWriter(store41, cid, "trendyol").apply(order(lines=(line,)))
    assert store41.one("SELECT product_id FROM {p}order_product")["product_id"] == 43


def test_lines_cancelled_before_the_first_import_are_not_sold(store41):
    cid = account(store41)
    before = {40: qty(store41, 40), 30: qty(store41, 30)}
    lines = (
        m.OrderLine("L1", "product 11", "iPhone", 2, Decimal("120.00"), Decimal(20)),
        m.OrderLine("L2", "Product 3", "Canon EOS 5D", 1, Decimal("110.00"), Decimal(10), state=m.CANCELLED),
    )
    OrderWriter(store41, cid, "trendyol").apply(order(lines=lines, total=Decimal("240.00")))
    assert [r["product_id"] for r in store41.query("SELECT product_id FROM {p}order_product")] == [40]
    assert qty(store41, 40) == before[40] - 2 and qty(store41, 30) == before[30]
    assert store41.one("SELECT flags FROM {p}kervan_order_link")["flags"] is None  # total = live lines
    # The marketplace took the cancelled line's stock when the customer ordered: that listing is
    # resent as well as the sold one (the chaos run's 'synced' listing Trendyol held lower).
    events = store41.query("SELECT aggregate_id, payload FROM {p}kervan_outbox WHERE event_type = 'stock.changed'"
                           " ORDER BY aggregate_id")
    assert [(e["aggregate_id"], json.loads(e["payload"])["channel"], json.loads(e["payload"])["moved"])
            for e in events] == [("30", "trendyol", False), ("40", "trendyol", True)]


def test_an_order_cancelled_before_the_first_import_still_resends_its_listings(store):
    cid = account(store)
    before = {40: qty(store, 40), 30: qty(store, 30)}
    lines = tuple(m.OrderLine(f"L{i}", sku, name, 1, Decimal("110.00"), Decimal(10), state=m.CANCELLED)
                  for i, (sku, name) in enumerate((("product 11", "iPhone"), ("Product 3", "Canon EOS 5D"))))
    OrderWriter(store, cid, "trendyol").apply(order(state=m.CANCELLED, status="Cancelled", lines=lines,
                                                    total=Decimal("0")))
    assert qty(store, 40) == before[40] and qty(store, 30) == before[30]  # never sold in OpenCart
    events = store.query("SELECT aggregate_id, payload FROM {p}kervan_outbox WHERE event_type = 'stock.changed'"
                         " ORDER BY aggregate_id")
    assert [(e["aggregate_id"], json.loads(e["payload"])["moved"]) for e in events] == [("30", False), ("40", False)]
    # A later poll of the same cancelled order moves nothing and resends nothing.
    OrderWriter(store, cid, "trendyol").apply(order(state=m.CANCELLED, status="Cancelled", lines=lines,
                                                    total=Decimal("0")))
    assert store.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox WHERE event_type = 'stock.changed'")["n"] == 2


def test_a_status_only_document_of_an_unseen_order_creates_nothing(store41):
    cid = account(store41)
    res = OrderWriter(store41, cid, "hepsiburada").apply(order(remote_id="HB-9", state=m.DELIVERED,
                                                               status="Delivered", lines=()))
    assert res.order_id == 0 and not res.created
    assert orders(store41) == [] and store41.one("SELECT COUNT(*) AS n FROM {p}kervan_order_link")["n"] == 0
