"""The Hepsiburada client (and mapper) over real HTTP against the local Hepsiburada sandbox, and
the shared Redis limiter. Assertions are on counts and outcomes, never on timings."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
from loguru import logger

from bridge.opencart import Category, Description, Manufacturer, Product, TaxRate
from sandbox.hepsiburada import DEMO_CATEGORIES, HepsiburadaSandbox
from sandbox.hepsiburada.reference import LAPTOPS, PHONES
from tests.conftest import REDIS_URL
from workers.channels.base import CANCEL_REASONS, Channel, OrderRef, Shipment
from workers.channels.errors import (
    AuthError,
    BatchNotFound,
    NotFoundError,
    PermanentError,
    ThrottledError,
    TransientError,
)
from workers.channels.hepsiburada import (
    CANCEL_REASON_IDS,
    MAX_IMPORT,
    MAX_UPLOAD,
    PRODUCTION_URLS,
    HepsiburadaClient,
    hb_datetime,
    parse_hb_date,
    parse_upload_result,
)
from workers.mappers.hepsiburada import (
    HepsiburadaCategory,
    HepsiburadaMapping,
    MappingError,
    import_price,
    to_import_item,
    to_price_stock,
)
from workers.ratelimit import RateLimiter
from workers.stock import StockRules

# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[HepsiburadaSandbox]:
    sb = HepsiburadaSandbox(processing_delay=0.05, seed=7).start()
    try:
        yield sb
    finally:
        sb.stop()


def make_client(sb: HepsiburadaSandbox, **kw: Any) -> HepsiburadaClient:
    m = sb.merchant
    kw.setdefault("retry_budget", 20.0)
    return HepsiburadaClient(
        kw.pop("base_urls", sb.base_urls),
        m.merchant_id,
        kw.pop("username", m.username),
        kw.pop("password", m.password),
        kw.pop("user_agent", m.user_agent),
        **kw,
    )


@pytest.fixture
def client(sandbox) -> Iterator[HepsiburadaClient]:
    c = make_client(sandbox)
    yield c
    c.close()


@pytest.fixture
def logs() -> Iterator[list[str]]:
    lines: list[str] = []
    sink_id = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message} | {extra} | {exception}")
    yield lines
    logger.remove(sink_id)


def item(sb: HepsiburadaSandbox, sku: str, **attrs: Any) -> dict[str, Any]:
    a = {
        "merchantSku": sku,
        "VaryantGroupID": "G1",
        "Barcode": f"869{abs(hash(sku)) % 10**10:010d}",
        "UrunAdi": f"Kervan test {sku}",
        "UrunAciklamasi": "<p>Açıklama</p>",
        "Marka": "Apple",
        "GarantiSuresi": 24,
        "kg": "1",
        "tax_vat_rate": "20",
        "price": "130,50",
        "stock": "10",
        "Image1": "https://cdn.example.com/a.jpg",
    }
    category = attrs.pop("categoryId", LAPTOPS)
    a.update(attrs)
    return {"categoryId": category, "merchant": sb.merchant.merchant_id, "attributes": a}


def listed(client: HepsiburadaClient, sb: HepsiburadaSandbox, *skus: str) -> None:
    result = client.wait_batch(client.create_listings([item(sb, s) for s in skus]), timeout=20, interval=0.05)
    assert result.done and all(i.ok for i in result.items), [(i.key, i.reasons) for i in result.items]


def count(sb: HepsiburadaSandbox, endpoint: str, status: int | None = None) -> int:
    c = sb.request_log()["counts"].get(endpoint, {"total": 0, "byStatus": {}})
    return c["total"] if status is None else c["byStatus"].get(str(status), 0)


# --- catalog --------------------------------------------------------------------------------------------


def test_is_a_channel_and_never_shows_credentials(client, sandbox):
    assert isinstance(client, Channel)
    assert client.code == "hepsiburada" and client.supports("price_stock") and not client.supports("brands")
    assert sandbox.merchant.password not in repr(client)
    assert client.base_urls["catalog"].endswith("/mpop/product")
    root = make_client(sandbox, base_urls=sandbox.base_url)
    assert root.base_urls == sandbox.base_urls
    prod = make_client(sandbox, base_urls=PRODUCTION_URLS)
    assert prod.base_urls["oms"] == "https://oms-external.hepsiburada.com"


def test_constructor_validates():
    with pytest.raises(ValueError, match="GUID"):
        HepsiburadaClient("http://x", "123", "u", "p", "ua")
    with pytest.raises(ValueError, match="user_agent"):
        HepsiburadaClient("http://x", "7c1e3b0a-5d2f-4e8b-9a61-0f3c2d4b5a69", "u", "p", "")
    with pytest.raises(ValueError, match="lacks"):
        HepsiburadaClient({"catalog": "http://x"}, "7c1e3b0a-5d2f-4e8b-9a61-0f3c2d4b5a69", "u", "p", "ua")


def test_import_goes_processing_then_per_item_outcome():
    with HepsiburadaSandbox(processing_delay=600, seed=1) as sb:
        c = make_client(sb)
        bad_price = item(sb, "B-2", price="130.50")
        bad_category = item(sb, "B-3", categoryId=18029998)
        missing = item(sb, "B-4")
        del missing["attributes"]["Marka"]
        batch_id = c.create_listings([item(sb, "B-1"), bad_price, bad_category, missing])
        assert batch_id.startswith("catalog:")
        pending = c.batch_result(batch_id)
        assert not pending.done and pending.item_count == 4
        assert all(i.status is None for i in pending.items)
        assert sb.flush() == 1
        result = c.batch_result(batch_id)
        assert result.done and result.failed_item_count == 3
        assert result.item("B-1").ok and result.item("B-1").request_item["hbSku"].startswith("HBV")
        assert any("price" in r and "130,50" in r for r in result.item("B-2").reasons)
        assert any(r.startswith("categoryId") for r in result.item("B-3").reasons)
        assert any(r.startswith("Marka") for r in result.item("B-4").reasons)
        assert [p["merchantSku"] for p in sb.products()] == ["B-1"]
        assert sb.listing("B-1")["price"] == 130.5
        c.close()


def test_import_sends_multipart_file_and_reimport_updates(client, sandbox):
    listed(client, sandbox, "M-1")
    again = client.wait_batch(client.update_listings([item(sandbox, "M-1", UrunAdi="Yeni ad")]), timeout=20,
                              interval=0.05)
    assert again.item("M-1").ok
    assert sandbox.products()[0]["productName"] == "Yeni ad"
    assert len(sandbox.products()) == 1
    assert count(sandbox, "import", 200) == 2


def test_more_than_max_items_refused_before_sending(client, sandbox):
    with pytest.raises(ValueError, match="chunk"):
        client.create_listings([item(sandbox, f"X-{i}") for i in range(MAX_IMPORT + 1)])
    with pytest.raises(ValueError, match="chunk"):
        client.update_price_stock([{"merchantSku": f"X-{i}", "price": 1.0} for i in range(MAX_UPLOAD + 1)])
    with pytest.raises(ValueError):
        client.create_listings([])
    assert sandbox.request_log()["counts"] == {}


def test_unknown_batches_are_batch_not_found(client):
    with pytest.raises(BatchNotFound):
        client.batch_result("catalog:00000000-0000-4000-8000-000000000000")
    with pytest.raises(BatchNotFound):
        client.batch_result("price:00000000-0000-4000-8000-000000000000")
    with pytest.raises(ValueError):
        client.batch_result("nonsense")


def test_reference_data(client):
    cats = client.category_tree()
    ids = {c["categoryId"] for c in cats}
    assert set(DEMO_CATEGORIES.values()) <= ids
    assert all(c["leaf"] and c["status"] == "ACTIVE" for c in cats)
    assert 18029998 not in ids  # archived leaf filtered out
    attrs = client.category_attributes(LAPTOPS)
    assert {a["id"] for a in attrs["baseAttributes"]} >= {"merchantSku", "UrunAdi", "Marka", "Image1"}
    assert any(a["id"] == "renk_variant_property" for a in attrs["variantAttributes"])
    values = client.attribute_values(LAPTOPS, "renk_variant_property")
    assert "Siyah" in [v["value"] for v in values]
    with pytest.raises(PermanentError):
        client.category_attributes(99999)
    with pytest.raises(NotImplementedError):
        client.brand_by_name("Apple")


# --- listing ----------------------------------------------------------------------------------------------


def test_price_and_stock_update_reports_every_row(client, sandbox):
    listed(client, sandbox, "P-1", "P-2")
    rows = [
        {"merchantSku": "P-1", "price": 140.25, "availableStock": 7},
        {"merchantSku": "P-2", "availableStock": -1},
        {"merchantSku": "NOPE", "price": 10.0},
        {"merchantSku": "P-2", "price": 99999.0},  # outside the price band → priceValidations + lock
    ]
    batch_id = client.update_price_stock(rows)
    assert batch_id.startswith("price:") and "+stock:" in batch_id
    result = client.wait_batch(batch_id, timeout=20, interval=0.05)
    assert result.done and result.status == "DONE"
    by = {(i.request_item["upload"], i.request_item["elementNo"]): i for i in result.items}
    assert by[("price", 0)].ok and by[("stock", 0)].ok
    assert by[("stock", 1)].failed and "AvailableStock" in by[("stock", 1)].reasons[0]
    assert by[("price", 1)].failed and by[("price", 1)].key == "NOPE"
    assert by[("price", 2)].failed and "allowed" in by[("price", 2)].reasons[0]
    assert result.item_count == 5 and result.failed_item_count == 3
    p1, p2 = sandbox.listing("P-1"), sandbox.listing("P-2")
    assert (p1["price"], p1["availableStock"]) == (140.25, 7)
    assert p2["isLocked"] and p2["price"] == 130.5


def test_upload_result_from_another_process_lists_only_failures(client, sandbox):
    listed(client, sandbox, "Q-1")
    upload = client.upload_stocks([{"merchantSku": "Q-1", "availableStock": 3}, {"merchantSku": "ZZ", "availableStock": 1}])
    client.wait_batch(upload, timeout=20, interval=0.05)
    other = make_client(sandbox)
    result = other.batch_result(upload)
    assert result.done and result.item_count == 2
    assert [(i.key, i.status) for i in result.items] == [("ZZ", "FAILED")]
    assert parse_upload_result({"id": "x", "status": "InProgress", "total": 1, "errors": []}, "stock").done is False


def test_inventory_upload(client, sandbox):
    listed(client, sandbox, "I-1")
    result = client.wait_batch(
        client.update_listings([{"merchantSku": "I-1", "price": 150.0, "availableStock": 2}], kind="inventory"),
        timeout=20, interval=0.05)
    assert result.done and result.items[0].ok
    assert (sandbox.listing("I-1")["price"], sandbox.listing("I-1")["availableStock"]) == (150.0, 2)


def test_find_listings_chunks_by_50(client, sandbox):
    skus = [f"F-{i:03d}" for i in range(60)]
    listed(client, sandbox, *skus)
    found = client.find_listings([*reversed(skus), "MISSING"])
    assert [f["merchantSku"] for f in found] == list(reversed(skus))
    assert count(sandbox, "listings") == 2


def test_too_many_concurrent_uploads_is_throttled():
    with HepsiburadaSandbox(processing_delay=600, seed=2) as sb:
        c = make_client(sb, retry_budget=0)
        for i in range(5):
            c.upload_stocks([{"merchantSku": f"S-{i}", "availableStock": 1}])
        with pytest.raises(ThrottledError) as e:
            c.upload_stocks([{"merchantSku": "S-6", "availableStock": 1}])
        assert e.value.code == "too.many.uploads" and e.value.transient
        sb.flush()
        assert c.upload_stocks([{"merchantSku": "S-6", "availableStock": 1}]).startswith("stock:")
        c.close()


# --- orders ---------------------------------------------------------------------------------------------


def test_orders_pagination_walks_every_page_and_stops(client, sandbox):
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    for i in range(250):
        sandbox.add_order([{"merchantSku": f"O-{i}", "quantity": 1, "price": 10}],
                          order_date=start + timedelta(minutes=i))
    lines = client.list_orders()
    assert len(lines) == 250 and len({x["id"] for x in lines}) == 250
    assert count(sandbox, "orders") == 3
    assert [r["path"] for r in sandbox.request_log()["requests"] if r["endpoint"] == "orders"]
    window = client.list_orders(start + timedelta(minutes=100), start + timedelta(minutes=150))
    assert len(window) == 50 and window[0]["merchantSKU"] == "O-100"
    assert hb_datetime(start) == "2026-11-01 12:00"  # Istanbul local time
    small = list(client.orders(page_size=7))
    assert len(small) == 250
    with pytest.raises(ValueError):
        list(client.orders(page_size=101))


def test_empty_order_list_is_one_request(client, sandbox):
    assert client.list_orders() == []
    assert count(sandbox, "orders") == 1


def test_package_ship_and_cancel(client, sandbox):
    order = sandbox.add_order([{"merchantSku": "A", "quantity": 2}, {"merchantSku": "B", "quantity": 1}])
    a, b = order["lines"]
    package = client.package_lines([(a["id"], 2)], deci=3)
    assert package["packageNumber"] and package["barcode"]
    assert [x["id"] for x in client.list_orders()] == [b["id"]]  # packed lines leave /orders
    packages = client.packages()
    assert [p["packageNumber"] for p in packages] == [package["packageNumber"]]
    client.ship(package["packageNumber"], "TRK-1", tracking_url="https://kargo.example/TRK-1")
    shipped = sandbox.packages()[0]
    assert shipped["status"] == "InTransit" and shipped["trackingNumber"] == "TRK-1"
    client.cancel_line(b["id"])
    assert client.list_orders() == []
    with pytest.raises(PermanentError) as e:
        client.cancel_line(a["id"])  # packed: not cancellable
    assert e.value.status == 400 and "cannot be cancelled" in e.value.message
    with pytest.raises(NotFoundError):
        client.ship("999", "TRK-2")


def test_packages_walk_pages_of_ten(client, sandbox):
    for i in range(23):
        line = sandbox.add_order([{"merchantSku": f"K-{i}", "quantity": 1}])["lines"][0]
        client.package_lines([(line["id"], 1)])
    assert len(client.packages()) == 23
    assert count(sandbox, "packages") == 3


# --- neutral order operations ----------------------------------------------------------------------------


def requests_to(sb: HepsiburadaSandbox, endpoint: str) -> list[dict[str, Any]]:
    return [r for r in sb.request_log()["requests"] if r["endpoint"] == endpoint]


def test_order_capabilities(client):
    for cap in ("orders", "acknowledge", "ship", "cancel"):
        assert client.supports(cap)
    assert set(CANCEL_REASON_IDS) == set(CANCEL_REASONS) and set(CANCEL_REASON_IDS.values()) == {83}


def test_orders_changed_since_reads_every_feed(client, sandbox):
    now = datetime.now(UTC)
    old = sandbox.add_order([{"merchantSku": "OLD", "quantity": 1}], order_date=now - timedelta(days=3))
    order = sandbox.add_order([{"merchantSku": f"N-{i}", "quantity": 1} for i in range(6)],
                              order_date=now - timedelta(minutes=30))
    lines = order["lines"]
    open_line, packed, shipped, delivered, undelivered, cancelled = lines
    numbers = {}
    for name, line in (("packed", packed), ("shipped", shipped), ("delivered", delivered),
                       ("undelivered", undelivered)):
        numbers[name] = client.acknowledge_order(OrderRef(order["orderNumber"], lines=((line["id"], 1),)))[
            "packageNumber"]
    for name in ("shipped", "delivered", "undelivered"):
        client.ship_order(OrderRef(order["orderNumber"], numbers[name]), Shipment("Kendi Kargom", f"T-{name}"))
    sandbox.deliver(numbers["delivered"])
    sandbox.deliver(numbers["undelivered"], delivered=False, reason="Adreste bulunamadı")
    client.cancel_order_lines(OrderRef(order["orderNumber"], lines=((cancelled["id"], 1),)))
    customer = sandbox.add_order([{"merchantSku": "C", "quantity": 1}], order_date=now - timedelta(minutes=5))
    sandbox.cancel_by_customer(customer["lines"][0]["id"])

    rows = list(client.orders_changed_since(now - timedelta(hours=2)))
    by_feed: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_feed.setdefault(row["_feed"], []).append(row)
    assert [r["id"] for r in by_feed["orders"]] == [open_line["id"]]  # OLD was ordered before since
    assert [p["packageNumber"] for p in by_feed["packages"]] == [numbers["packed"]]
    assert by_feed["packages"][0]["items"][0]["id"] == packed["id"]
    assert {(r["lineItemId"], r["cancelledBy"]) for r in by_feed["cancelled"]} == {
        (cancelled["id"], "Merchant"), (customer["lines"][0]["id"], "Customer")}
    assert next(r for r in by_feed["cancelled"] if r["cancelledBy"] == "Merchant")["cancelReasonCode"] == "83"
    assert [r["PackageNumber"] for r in by_feed["shipped"]] == [numbers["shipped"]]
    assert [r["PackageNumber"] for r in by_feed["delivered"]] == [numbers["delivered"]]
    assert by_feed["undelivered"][0]["UndeliveredReason"] == "Adreste bulunamadı"
    assert all(r["OrderNumber"] == order["orderNumber"] for f in ("shipped", "delivered") for r in by_feed[f])
    for feed in ("cancelled", "shipped", "delivered", "undelivered"):  # HB refuses dates on these feeds
        assert all("begindate" not in r["path"] for r in requests_to(sandbox, feed))
    assert old["lines"][0]["id"] not in {r.get("id") for r in rows}

    # Status-feed rows dated after ``until`` (all of them: they changed just now) are left out.
    earlier = list(client.orders_changed_since(now - timedelta(hours=2), now - timedelta(minutes=10)))
    assert {r["_feed"] for r in earlier} == {"orders"}
    assert parse_hb_date("2026-11-01T09:00:00.1234567Z") == datetime(2026, 11, 1, 9, 0, 0, 123456, tzinfo=UTC)
    assert parse_hb_date("2026-11-01 12:00") == datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    assert parse_hb_date("dün") is None


def test_orders_changed_since_walks_all_pages_and_windows_and_stops(client, sandbox):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    since = now - timedelta(hours=50)
    for i in range(250):
        sandbox.add_order([{"merchantSku": f"O-{i}", "quantity": 1}], order_date=since + timedelta(minutes=i))
    packed = []
    for i in range(23):
        line = sandbox.add_order([{"merchantSku": f"P-{i}", "quantity": 1}], order_date=since)["lines"][0]
        number = client.acknowledge_order(OrderRef("x", lines=((line["id"], 1),)))["packageNumber"]
        sandbox.backdate_package(number, since + timedelta(hours=30, minutes=i))  # all in the second window
        packed.append(number)
    for i in range(120):
        line = sandbox.add_order([{"merchantSku": f"C-{i}", "quantity": 1}], order_date=since)["lines"][0]
        client.cancel_line(line["id"])
    before = {name: count(sandbox, name) for name in ("orders", "packages", "cancelled", "shipped")}

    rows = list(client.orders_changed_since(since))
    kinds = [r["_feed"] for r in rows]
    assert kinds.count("orders") == 250
    assert sorted(r["packageNumber"] for r in rows if r["_feed"] == "packages") == sorted(packed)
    assert kinds.count("cancelled") == 120
    calls = {name: count(sandbox, name) - before[name] for name in before}
    assert calls["orders"] == 3  # 100 + 100 + 50
    assert calls["cancelled"] == 3  # 50 + 50 + 20
    assert calls["shipped"] == 1  # an empty feed is one request
    # 50 hours in windows of (24 h - 1 min): three windows; only the second holds packages (10+10+3).
    assert calls["packages"] == 1 + 3 + 1


def test_package_windows_are_cut_to_24_hours(client, sandbox):
    day = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    assert client.packages(begin=day, end=day) == []
    with pytest.raises(ValueError):
        client.packages(begin=day, end=day - timedelta(hours=1))
    with pytest.raises(ValueError):
        client.packages(timespan_hours=3, begin=day)
    client.packages(begin=day, end=day + timedelta(hours=60))
    paths = [r["path"] for r in requests_to(sandbox, "packages")]
    assert len(paths) == 4  # the first call (an empty window) plus three windows


def test_orders_changed_since_error_is_the_oms_401(sandbox):
    c = make_client(sandbox, password="wrong-service-key-123")
    with pytest.raises(AuthError) as e:
        list(c.orders_changed_since(datetime.now(UTC) - timedelta(hours=1)))
    assert e.value.status == 401 and e.value.message == "Unauthorized"
    with pytest.raises(ValueError):
        list(c.orders_changed_since(datetime.now(UTC), datetime.now(UTC) - timedelta(hours=1)))


def test_acknowledge_order_packages_the_lines(client, sandbox):
    order = sandbox.add_order([{"merchantSku": "A", "quantity": 2}, {"merchantSku": "B", "quantity": 1}])
    a, b = order["lines"]
    package = client.acknowledge_order(OrderRef(order["orderNumber"], lines=((a["id"], 2), (b["id"], 1))))
    assert package["packageNumber"] and package["barcode"]
    assert {x["status"] for x in sandbox.order_lines()} == {"Packaged"}
    with pytest.raises(ValueError):
        client.acknowledge_order(OrderRef(order["orderNumber"]))


def test_acknowledge_order_error_is_hbs_bare_string(client, sandbox):
    line = sandbox.add_order([{"merchantSku": "A", "quantity": 2}])["lines"][0]
    with pytest.raises(PermanentError) as e:
        client.acknowledge_order(OrderRef("1", lines=((line["id"], 1),)))
    assert e.value.status == 400 and e.value.message == f"Quantity of line item {line['id']} must be 2"


def test_ship_order_marks_the_package_in_transit(client, sandbox):
    line = sandbox.add_order([{"merchantSku": "A", "quantity": 1}])["lines"][0]
    number = client.acknowledge_order(OrderRef("1", lines=((line["id"], 1),)))["packageNumber"]
    when = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
    client.ship_order(OrderRef("1", number), Shipment("Kendi Kargom", "TRK-9", "https://kargo.example/TRK-9", when))
    pkg = next(p for p in sandbox.packages() if p["packageNumber"] == number)
    assert pkg["status"] == "InTransit" and pkg["trackingNumber"] == "TRK-9"
    assert pkg["trackingUrl"] == "https://kargo.example/TRK-9" and pkg["shippedDate"] == "2026-11-02 10:30"
    with pytest.raises(ValueError):
        client.ship_order(OrderRef("1"), Shipment("X", "T"))


def test_ship_order_errors_are_hbs(client, sandbox):
    with pytest.raises(NotFoundError) as e:
        client.ship_order(OrderRef("1", "999"), Shipment("X", "T"))
    assert e.value.status == 404 and e.value.message == "Package not found: 999"
    line = sandbox.add_order([{"merchantSku": "A", "quantity": 1}])["lines"][0]
    number = client.acknowledge_order(OrderRef("1", lines=((line["id"], 1),)))["packageNumber"]
    client.ship_order(OrderRef("1", number), Shipment("X", "T1"))
    with pytest.raises(PermanentError, match="not Packaged"):
        client.ship_order(OrderRef("1", number), Shipment("X", "T1"))


def test_cancel_order_lines_sends_hbs_reason(client, sandbox):
    order = sandbox.add_order([{"merchantSku": "A", "quantity": 2}, {"merchantSku": "B", "quantity": 1}])
    a, b = order["lines"]
    assert client.cancel_order_lines(OrderRef(order["orderNumber"], lines=((a["id"], 2), (b["id"], 1))),
                                     "wrong_price") == [a["id"], b["id"]]
    lines = {x["id"]: x for x in sandbox.order_lines()}
    assert {lines[a["id"]]["status"], lines[b["id"]]["status"]} == {"Cancelled"}
    assert lines[a["id"]]["cancelReasonId"] == 83
    with pytest.raises(ValueError):
        client.cancel_order_lines(OrderRef("1", lines=((a["id"], 1),)), "changed_mind")


def test_cancel_order_lines_error_is_hbs_bare_string(client, sandbox):
    line = sandbox.add_order([{"merchantSku": "A", "quantity": 1}])["lines"][0]
    client.acknowledge_order(OrderRef("1", lines=((line["id"], 1),)))
    with pytest.raises(PermanentError) as e:
        client.cancel_order_lines(OrderRef("1", lines=((line["id"], 1),)))
    assert e.value.status == 400 and e.value.message == f"Line item {line['id']} cannot be cancelled (status Packaged)"


# --- errors ---------------------------------------------------------------------------------------------


def test_wrong_credentials_are_auth_errors_in_each_hosts_shape(sandbox, logs):
    c = make_client(sandbox, password="wrong-service-key-123")
    with pytest.raises(AuthError) as listing:
        c.find_listings(["X"])
    assert listing.value.status == 401 and listing.value.message == "Missing Credentials!"
    with pytest.raises(AuthError) as oms:
        c.list_orders()
    assert oms.value.status == 401 and oms.value.message == "Unauthorized"
    with pytest.raises(AuthError) as catalog:
        c.category_tree()
    assert catalog.value.status == 401
    assert count(sandbox, "listings") == count(sandbox, "orders") == count(sandbox, "categories") == 1  # no retry
    for text in (str(listing.value), repr(oms.value), str(catalog.value), *logs):
        assert "wrong-service-key-123" not in text


def test_unregistered_user_agent_is_401(sandbox):
    c = make_client(sandbox, user_agent=f"{sandbox.merchant.merchant_id} - SelfIntegration")
    with pytest.raises(AuthError):
        c.category_tree()


def test_catalog_403_is_throttling_and_retried(sandbox):
    sandbox.configure(catalog_rate_limit=1, catalog_rate_window=60, ip_block_after=0)
    c = make_client(sandbox, retry_budget=0)
    c.category_tree()
    with pytest.raises(ThrottledError) as e:
        c.category_tree()
    assert e.value.status == 403 and e.value.code == "catalog.throttled" and e.value.transient
    sandbox.configure(catalog_rate_window=2.0)
    sandbox.unblock()
    retrying = make_client(sandbox, retry_budget=20)
    assert retrying.category_tree() and retrying.category_tree()  # the second meets a 403, waits, retries
    assert count(sandbox, "categories", 403) >= 2 and count(sandbox, "categories", 200) == 3


def test_injected_throttling_on_the_catalog_is_403(sandbox):
    sandbox.set_faults("categories", throttle_rate=1)
    with pytest.raises(ThrottledError) as e:
        make_client(sandbox, retry_budget=0).category_tree()
    assert e.value.status == 403


def test_oms_429_carries_reset_as_retry_after(sandbox):
    sandbox.configure(oms_rate_limit=2, oms_rate_window=60)
    c = make_client(sandbox, retry_budget=5)
    c.list_orders()
    c.list_orders()
    with pytest.raises(ThrottledError) as e:
        c.list_orders()
    assert e.value.status == 429 and 1 <= e.value.retry_after <= 60
    assert count(sandbox, "orders", 429) == 1  # the reset was beyond the budget: not retried


def test_server_errors_are_retried_then_succeed(client, sandbox):
    sandbox.set_faults("orders", fail_next=2, error_status=503)
    assert client.list_orders() == []
    assert count(sandbox, "orders", 503) == 2 and count(sandbox, "orders", 200) == 1


def test_persistent_server_errors_raise_transient(sandbox):
    sandbox.set_faults("listing", error_rate=1)
    c = make_client(sandbox, retry_budget=0)
    with pytest.raises(TransientError) as e:
        c.upload_prices([{"merchantSku": "X", "price": 1.0}])
    assert e.value.status == 500


def test_timeouts_are_transient(sandbox):
    sandbox.configure(hang_seconds=5)
    sandbox.set_faults("category_attributes", timeout_rate=1)
    c = make_client(sandbox, timeout=0.3, retry_budget=0)
    with pytest.raises(TransientError, match="timed out"):
        c.category_attributes(LAPTOPS)


def test_bad_requests_carry_the_services_text(client, sandbox):
    with pytest.raises(PermanentError) as e:
        client.http["oms"].get(f"orders/merchantid/{client.merchant_id}")  # no offset/limit
    assert e.value.message == "Bad Request limit and offset parameters are required"
    with pytest.raises(PermanentError) as e:
        client.http["listing"].post(f"listings/merchantid/{client.merchant_id}/price-uploads", json={"a": 1})
    assert e.value.status == 400 and "JSON array" in e.value.message
    with pytest.raises(PermanentError) as e:
        client.http["catalog"].get("api/categories/abc/attributes")
    assert e.value.status == 200 and "Kategori" in e.value.message  # catalog's 200 success:false envelope


def test_two_threads_sharing_one_limiter_never_exceed_the_sandbox_limit(sandbox, redis_prefix):
    sandbox.configure(catalog_rate_limit=10, catalog_rate_window=1.0, ip_block_after=0)
    r = redis.Redis.from_url(REDIS_URL)
    limiter = RateLimiter(r, redis_prefix, limit=5, period=1.0, burst=1)
    errors: list[BaseException] = []

    def work() -> None:
        c = make_client(sandbox, limiter=limiter)
        try:
            for _ in range(6):
                c.category_attributes(LAPTOPS)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            c.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        r.close()
    assert not errors
    assert count(sandbox, "category_attributes", 200) == 12
    assert count(sandbox, "category_attributes", 403) == 0


def test_credentials_never_in_exceptions_or_logs(sandbox, logs):
    secret = "s3cr3t-service-key"
    token = base64.b64encode(f"{sandbox.merchant.username}:{secret}".encode()).decode()
    c = make_client(sandbox, password=secret, retry_budget=0)
    texts: list[str] = []
    for call in (c.category_tree, lambda: c.find_listings(["A"]), c.list_orders,
                 lambda: c.upload_prices([{"merchantSku": "A", "price": 1.0}])):
        with pytest.raises(AuthError) as e:
            call()
        texts += [str(e.value), repr(e.value), str(e.value.args)]
    good = make_client(sandbox, retry_budget=0)
    sandbox.set_faults("*", error_rate=1)
    with pytest.raises(TransientError) as e:
        good.category_tree()
    texts.append(str(e.value))
    for text in texts + logs:
        assert secret not in text and token not in text and sandbox.merchant.password not in text


# --- mapper ----------------------------------------------------------------------------------------------


def oc_product(**overrides: Any) -> Product:
    fields: dict[str, Any] = dict(
        product_id=40, master_id=0, model="product 11", codes={"SKU": "IPH-40", "EAN": "8690000000001"},
        quantity=970, price=Decimal("101.0000"), special=None, status=True, subtract=True, minimum=1,
        weight=Decimal("10"), weight_class="kg", length=Decimal("0"), width=Decimal("0"), height=Decimal("0"),
        length_class="cm", tax_class_id=9, tax_rates=(TaxRate("KDV", Decimal("20"), "P"),),
        manufacturer=Manufacturer(8, "Apple"),
        descriptions={"en-gb": Description("iPhone", "<p>iPhone is a revolutionary phone</p>", "iPhone", "")},
        image="catalog/demo/iphone_1.jpg", images=("catalog/demo/iphone_2.jpg",),
        categories=(Category(24, "Phones & PDAs", ("Phones & PDAs",), (24,)),), options=(), variants=(),
        date_modified=None, language="en-gb",
    )
    fields.update(overrides)
    return Product(**fields)


def mapping(sb: HepsiburadaSandbox, **kw: Any) -> HepsiburadaMapping:
    kw.setdefault("categories", dict(DEMO_CATEGORIES))
    return HepsiburadaMapping(merchant_id=sb.merchant.merchant_id, image_base_url="https://shop.example.com/image/",
                              **kw)


def test_mapped_product_is_accepted_by_the_sandbox(client, sandbox):
    m = mapping(sandbox, categories={**DEMO_CATEGORIES, 24: HepsiburadaCategory(PHONES, {"dahili_hafiza": "128 GB"})})
    body = to_import_item(oc_product(), m)
    attrs = body["attributes"]
    assert body["categoryId"] == PHONES and body["merchant"] == sandbox.merchant.merchant_id
    assert (attrs["merchantSku"], attrs["Barcode"], attrs["Marka"]) == ("IPH-40", "8690000000001", "Apple")
    assert attrs["price"] == "121,20" and attrs["stock"] == "970" and attrs["tax_vat_rate"] == "20"
    assert attrs["Image1"] == "https://shop.example.com/image/catalog/demo/iphone_1.jpg" and "Image2" in attrs
    assert attrs["dahili_hafiza"] == "128 GB" and attrs["kg"] == "10"
    result = client.wait_batch(client.create_listings([body]), timeout=20, interval=0.05)
    assert result.item("IPH-40").ok, result.item("IPH-40").reasons
    row = to_price_stock(oc_product(special=Decimal("90"), quantity=3), mapping(sandbox, stock=StockRules(buffer=1)))
    assert row == {"merchantSku": "IPH-40", "price": 108.0, "availableStock": 2}
    done = client.wait_batch(client.update_price_stock([row]), timeout=20, interval=0.05)
    assert done.done and not done.failed
    assert (sandbox.listing("IPH-40")["price"], sandbox.listing("IPH-40")["availableStock"]) == (108.0, 2)
    assert import_price(Decimal("1234.5")) == "1234,50"


@pytest.mark.parametrize(
    ("overrides", "settings", "needle"),
    [
        ({"categories": (Category(99, "Misc", ("Misc",), (99,)),)}, {}, "No Hepsiburada category"),
        ({"manufacturer": None}, {}, "no manufacturer"),
        ({"image": None, "images": ()}, {}, "no image"),
        ({"tax_rates": (TaxRate("KDV", Decimal("18"), "P"),)}, {}, "VAT rate of 18%"),
        ({"codes": {"EAN": "86 90 ?x"}}, {}, "not accepted"),
        ({}, {"image_base_url": ""}, "image base URL"),
    ],
)
def test_mapping_errors_are_merchant_readable(sandbox, overrides, settings, needle):
    m = mapping(sandbox)
    if settings:
        m = HepsiburadaMapping(merchant_id=m.merchant_id, categories=m.categories, **settings)
    with pytest.raises(MappingError, match=needle):
        to_import_item(oc_product(**overrides), m)


def test_mapping_fallbacks(sandbox):
    m = mapping(sandbox, default_brand="Kervan", placeholder_image="placeholder.png")
    body = to_import_item(oc_product(manufacturer=None, image=None, images=(), status=False), m)
    assert body["attributes"]["Marka"] == "Kervan" and body["attributes"]["stock"] == "0"
    assert body["attributes"]["Image1"] == "https://shop.example.com/image/placeholder.png"
    variant = to_import_item(oc_product(product_id=41, codes={"SKU": "IPH-41"}), m, master=oc_product(model="MASTER"))
    assert variant["attributes"]["VaryantGroupID"] == "MASTER"
