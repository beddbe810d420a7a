"""Order mappers: raw marketplace documents → ``MarketOrder``.

For each marketplace, orders are placed and moved on in its sandbox through the sandbox's own
control surface (as customers, carriers and the marketplace would), read back with the REAL
client's ``orders_changed_since`` over HTTP, and mapped with ``orders_from``. Every amount is
compared with the marketplace's own number as ``Decimal``. A few pure tests map documented JSON
examples (ordersV0.json) and field shapes the sandboxes do not produce."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
import requests
from loguru import logger

from sandbox.amazon import AmazonSandbox
from sandbox.amazon.reference import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
    TR,
)
from sandbox.hepsiburada import HepsiburadaSandbox
from sandbox.n11 import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, N11Sandbox
from sandbox.trendyol import TrendyolSandbox
from tests.conftest import REDIS_URL
from workers.channels.amazon import AmazonClient
from workers.channels.base import OrderRef, Shipment
from workers.channels.errors import NotFoundError, ThrottledError
from workers.channels.hepsiburada import HepsiburadaClient, parse_hb_date
from workers.channels.n11 import N11Client
from workers.channels.trendyol import TrendyolClient
from workers.mappers.orders import MAPPERS, common, orders_from
from workers.mappers.orders import amazon as amazon_mapper
from workers.orders import model as m

D = Decimal


# --- shared -------------------------------------------------------------------------------------


@pytest.fixture
def logs() -> Iterator[list[str]]:
    lines: list[str] = []
    sink_id = logger.add(lambda msg: lines.append(str(msg)), level="DEBUG", format="{level} {message} | {extra}")
    yield lines
    logger.remove(sink_id)


def by_id(orders: list[m.MarketOrder]) -> dict[str, m.MarketOrder]:
    ids = [o.remote_id for o in orders]
    assert len(ids) == len(set(ids)), f"remote ids repeat: {ids}"
    return {o.remote_id: o for o in orders}


def dec(value: Any) -> Decimal:
    """A marketplace JSON number as the Decimal it reads as (its shortest text form)."""
    return D(str(value))


def assert_decimals(order: m.MarketOrder) -> None:
    amounts = [order.shipping, *(line.unit_price for line in order.lines), *(line.vat_rate for line in order.lines)]
    if order.total is not None:
        amounts.append(order.total)
    assert all(type(a) is Decimal for a in amounts), amounts


def since_an_hour() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


# --- Trendyol -----------------------------------------------------------------------------------

TY_SELLER, TY_KEY, TY_SECRET = "1001", "sandbox-key", "sandbox-secret"


@pytest.fixture
def ty() -> Iterator[TrendyolSandbox]:
    sb = TrendyolSandbox(batch_delay=0.05, seed=7).start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def ty_client(ty) -> Iterator[TrendyolClient]:
    client = TrendyolClient(ty.base_url, TY_SELLER, TY_KEY, TY_SECRET, retry_budget=20.0, stream_interval=0.0)
    yield client
    client.close()


def ty_place(sb: TrendyolSandbox, lines: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    r = requests.post(f"{sb.admin_url}/orders", json={"lines": lines, **body}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def ty_advance(sb: TrendyolSandbox, package_id: int, status: str) -> None:
    r = requests.post(f"{sb.admin_url}/orders/{package_id}/status", json={"status": status}, timeout=5)
    assert r.status_code == 200, r.text


def ty_held(sb: TrendyolSandbox, package_id: int) -> dict[str, Any]:
    r = requests.get(f"{sb.admin_url}/orders/{package_id}", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def ty_ref(pkg: dict[str, Any]) -> OrderRef:
    return OrderRef(pkg["orderNumber"], str(pkg["shipmentPackageId"]),
                    tuple((str(line["lineId"]), line["quantity"]) for line in pkg["lines"]))


def ty_poll(client: TrendyolClient, since: datetime) -> tuple[list[dict[str, Any]], dict[str, m.MarketOrder]]:
    docs = list(client.orders_changed_since(since))
    return docs, by_id(orders_from("trendyol", docs))


def test_trendyol_package_maps_every_field(ty, ty_client):
    since = since_an_hour()
    pkg = ty_place(
        ty,
        [
            {"barcode": "TY-GML-KR-M", "quantity": 2, "price": 149.9, "discount": 20, "tyDiscount": 10,
             "stockCode": "GML-01", "productName": "Kadın Gömlek Işıl", "productColor": "Kırmızı",
             "productSize": "M", "vatRate": 10},
            {"barcode": "TY-CAY-1", "quantity": 3, "price": 33.33, "stockCode": "ÇAY-1",
             "productName": "İnce Belli Çay Bardağı"},
        ],
        customer={"firstName": "Şükrü", "lastName": "Işıkgöz", "email": "pf+1@trendyolmail.com"},
        shipment_address={"address1": "Cemal Gürsel Cd. No:5", "neighborhood": "Bostanlı Mah.",
                          "district": "Karşıyaka", "city": "İzmir", "postalCode": "35590", "phone": "05321234567"},
        invoice_address={"address1": "Atatürk Blv. No:1", "neighborhood": "Kızılay Mah.", "district": "Çankaya",
                         "city": "Ankara", "postalCode": "06420", "company": "Öztürk Ğıda Ltd. Şti."},
    )

    docs, orders = ty_poll(ty_client, since)

    order = orders[str(pkg["shipmentPackageId"])]
    assert len(docs) == 1 and order.raw == docs[0]
    assert (order.order_number, order.state, order.remote_status) == (pkg["orderNumber"], m.CREATED, "Created")
    assert order.created_at == datetime.fromtimestamp(pkg["orderDate"] / 1000, UTC)
    assert order.currency == "TRY"
    assert (order.customer_firstname, order.customer_lastname) == ("Şükrü", "Işıkgöz")
    assert order.email == "pf+1@trendyolmail.com" and order.telephone == "05321234567"
    assert order.shipping_address == m.Address(
        firstname="Şükrü", lastname="Işıkgöz", address_1="Cemal Gürsel Cd. No:5", address_2="Bostanlı Mah.",
        city="Karşıyaka", zone="İzmir", postcode="35590", country_code="TR", telephone="05321234567")
    assert order.payment_address == m.Address(
        firstname="Şükrü", lastname="Işıkgöz", address_1="Atatürk Blv. No:1", address_2="Kızılay Mah.",
        city="Çankaya", zone="Ankara", postcode="06420", country_code="TR", company="Öztürk Ğıda Ltd. Şti.")
    first, second = (line for line in docs[0]["lines"])
    assert order.lines == (
        m.OrderLine(remote_line_id=str(first["lineId"]), sku="TY-GML-KR-M", name="Kadın Gömlek Işıl", quantity=2,
                    unit_price=D("139.9"), vat_rate=D(10), model="GML-01", variant="Renk: Kırmızı / Beden: M",
                    state=m.CREATED),
        m.OrderLine(remote_line_id=str(second["lineId"]), sku="TY-CAY-1", name="İnce Belli Çay Bardağı",
                    quantity=3, unit_price=D("33.33"), vat_rate=D(20), model="ÇAY-1", variant="", state=m.CREATED),
    )
    # Gross after the seller's discount; Trendyol's own discount is Trendyol's to pay.
    assert order.lines[0].unit_price * 2 == dec(first["lineGrossAmount"]) - dec(first["lineSellerDiscount"])
    assert order.lines_total == dec(docs[0]["packageGrossAmount"]) - dec(docs[0]["packageSellerDiscount"])
    assert order.lines_total == D("379.79")
    assert order.total == dec(docs[0]["packageTotalPrice"]) == D("369.79")  # Trendyol's figure, to the cent
    assert order.shipping == 0
    assert order.carrier == "Yurtiçi Kargo Marketplace" and order.tracking_number == pkg["cargoTrackingNumber"]
    assert_decimals(order)


def test_trendyol_states_follow_the_package_through_its_life(ty, ty_client):
    since = since_an_hour()
    pkg = ty_place(ty, [{"barcode": "LIFE-1", "quantity": 1, "price": 10.1}], status="Awaiting")
    pid = str(pkg["shipmentPackageId"])
    ref = ty_ref(pkg)

    def now() -> m.MarketOrder:
        docs, orders = ty_poll(ty_client, since)
        assert set(orders) == {pid}
        return orders[pid]

    seen = [(now().state, now().remote_status)]
    ty_advance(ty, pkg["shipmentPackageId"], "Created")
    seen.append((now().state, now().remote_status))
    ty_client.acknowledge_order(ref)
    seen.append((now().state, now().remote_status))
    ty_client.invoice(ref, "KRV2026000000001")
    seen.append((now().state, now().remote_status))
    for status in ("Shipped", "AtCollectionPoint", "Delivered", "Returned"):
        ty_advance(ty, pkg["shipmentPackageId"], status)
        seen.append((now().state, now().remote_status))
    assert seen == [
        (m.AWAITING, "Awaiting"), (m.CREATED, "Created"), (m.PICKING, "Picking"), (m.INVOICED, "Invoiced"),
        (m.SHIPPED, "Shipped"), (m.SHIPPED, "AtCollectionPoint"), (m.DELIVERED, "Delivered"),
        (m.RETURNED, "Returned"),
    ]
    final = now()
    assert final.order_number == pkg["orderNumber"] and final.total == D("10.1")
    assert [line.state for line in final.lines] == [m.RETURNED]

    lost = ty_place(ty, [{"barcode": "LIFE-2", "quantity": 1, "price": 5}])
    for status in ("Shipped", "UnDelivered"):
        ty_advance(ty, lost["shipmentPackageId"], status)
    cancelled = ty_place(ty, [{"barcode": "LIFE-3", "quantity": 2, "price": 7.5}])
    ty_advance(ty, cancelled["shipmentPackageId"], "Cancelled")
    _docs, orders = ty_poll(ty_client, since)
    assert orders[str(lost["shipmentPackageId"])].state == m.UNDELIVERED
    gone = orders[str(cancelled["shipmentPackageId"])]
    assert (gone.state, gone.remote_status) == (m.CANCELLED, "Cancelled")
    assert [(line.state, line.quantity, line.unit_price) for line in gone.lines] == [(m.CANCELLED, 2, D("7.5"))]


def test_trendyol_unsupplied_cancels_the_package_and_the_rest_is_a_new_order(ty, ty_client):
    since = since_an_hour()
    pkg = ty_place(ty, [{"barcode": "U1", "quantity": 2, "price": 50.0}, {"barcode": "U2", "quantity": 1, "price": 30.0}])
    first_line, second_line = (str(line["lineId"]) for line in pkg["lines"])
    ty_client.acknowledge_order(ty_ref(pkg))
    ty_client.cancel_order_lines(OrderRef(pkg["orderNumber"], str(pkg["shipmentPackageId"]), ((first_line, 1),)))

    docs, orders = ty_poll(ty_client, since)

    assert len(orders) == 2 and {o.order_number for o in orders.values()} == {pkg["orderNumber"]}
    old = orders[str(pkg["shipmentPackageId"])]
    new = next(o for rid, o in orders.items() if rid != str(pkg["shipmentPackageId"]))
    assert (old.state, old.remote_status) == (m.CANCELLED, "Cancelled")
    assert {line.remote_line_id: line.state for line in old.lines} == {first_line: m.CANCELLED, second_line: m.CANCELLED}
    assert (new.state, new.remote_status) == (m.PICKING, "Picking")
    assert {line.remote_line_id: (line.sku, line.quantity, line.unit_price) for line in new.lines} == {
        first_line: ("U1", 1, D("50.0")), second_line: ("U2", 1, D("30.0"))}
    new_doc = next(d for d in docs if str(d["shipmentPackageId"]) == new.remote_id)
    assert new.total == dec(new_doc["packageTotalPrice"]) == new.lines_total == D("80")


def test_trendyol_same_package_twice_in_a_poll_keeps_the_latest(ty, ty_client):
    since = since_an_hour()
    pkg = ty_place(ty, [{"barcode": "TWICE", "quantity": 1, "price": 12.5}])
    other = ty_place(ty, [{"barcode": "ONCE", "quantity": 1, "price": 1}])
    before = list(ty_client.orders_changed_since(since))
    ty_advance(ty, pkg["shipmentPackageId"], "Shipped")
    after = list(ty_client.orders_changed_since(since))

    for docs in (before + after, after + before, after + before + after):
        orders = by_id(orders_from("trendyol", docs))
        assert set(orders) == {str(pkg["shipmentPackageId"]), str(other["shipmentPackageId"])}
        assert orders[str(pkg["shipmentPackageId"])].state == m.SHIPPED
        assert orders[str(other["shipmentPackageId"])].state == m.CREATED


def test_trendyol_odd_package_is_skipped_with_its_id_and_the_rest_maps(ty, ty_client, logs):
    since = since_an_hour()
    good = ty_place(ty, [{"barcode": "GOOD", "quantity": 1, "price": 10}],
                    customer={"firstName": "Gülşah", "lastName": "Çağlayan"})
    docs = list(ty_client.orders_changed_since(since))
    broken = copy.deepcopy(docs[0])
    broken.update(shipmentPackageId=999000111)
    broken["lines"][0]["quantity"] = "iki"
    unknown = copy.deepcopy(docs[0])
    unknown.update(shipmentPackageId=999000222, status="Verified")
    skuless = copy.deepcopy(docs[0])
    skuless.update(shipmentPackageId=999000333)
    skuless["lines"][0]["barcode"] = None
    no_id = copy.deepcopy(docs[0])
    del no_id["shipmentPackageId"]

    orders = by_id(orders_from("trendyol", [broken, "not a package", *docs, unknown, skuless, no_id]))

    assert set(orders) == {str(good["shipmentPackageId"]), "999000333"}
    assert orders["999000333"].lines[0].sku == ""  # an unknown sku is the writer's to flag, not a skip
    warnings = [line for line in logs if line.startswith("WARNING")]
    assert any("999000111" in w and "quantity" in w for w in warnings)
    assert any("999000222" in w and "Verified" in w for w in warnings)
    assert len(warnings) == 4
    assert not any(word in line for line in logs for word in ("Gülşah", "Çağlayan", "Büyükdere", "trendyolmail"))


# --- Hepsiburada --------------------------------------------------------------------------------


@pytest.fixture
def hb() -> Iterator[HepsiburadaSandbox]:
    sb = HepsiburadaSandbox(processing_delay=0.05, seed=7).start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def hb_client(hb) -> Iterator[HepsiburadaClient]:
    mc = hb.merchant
    client = HepsiburadaClient(hb.base_urls, mc.merchant_id, mc.username, mc.password, mc.user_agent,
                               retry_budget=20.0)
    yield client
    client.close()


def hb_place(sb: HepsiburadaSandbox, lines: list[dict[str, Any]]) -> dict[str, Any]:
    r = requests.post(f"{sb.admin_url}/orders", json={"lines": lines}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def hb_control(sb: HepsiburadaSandbox, action: str, **body: Any) -> None:
    r = requests.post(f"{sb.admin_url}/{action}", json=body, timeout=5)
    assert r.status_code == 200, r.text


def hb_poll(client: HepsiburadaClient, since: datetime) -> tuple[list[dict[str, Any]], dict[str, m.MarketOrder]]:
    rows = list(client.orders_changed_since(since))
    return rows, by_id(orders_from("hepsiburada", rows))


def test_hepsiburada_order_keeps_its_remote_id_from_open_lines_to_delivery(hb, hb_client):
    since = since_an_hour()
    placed = hb_place(hb, [{"merchantSku": "HB-ÇANTA-1", "quantity": 2, "price": 149.95},
                           {"merchantSku": "HB-2", "quantity": 1, "price": 0.1}])
    number = placed["orderNumber"]
    a, b = placed["lines"]

    rows, orders = hb_poll(hb_client, since)
    assert set(orders) == {number}
    order = orders[number]
    assert (order.order_number, order.state, order.remote_status) == (number, m.CREATED, "Open")
    assert order.created_at == parse_hb_date(a["orderDate"])
    assert order.currency == "TRY"
    assert (order.customer_firstname, order.customer_lastname) == ("Ayşe", "Yılmaz")
    assert order.shipping_address == m.Address(
        firstname="Ayşe", lastname="Yılmaz", address_1="Örnek Mah. 1. Sok. No:2", city="Kadıköy", zone="İstanbul",
        country_code="TR")
    assert order.payment_address == order.shipping_address  # no invoice address in the rows
    assert sorted(order.lines, key=lambda line: line.sku) == [
        m.OrderLine(remote_line_id=b["id"], sku="HB-2", name="Ürün HB-2", quantity=1, unit_price=D("0.1"),
                    vat_rate=D(20), state=m.CREATED),
        m.OrderLine(remote_line_id=a["id"], sku="HB-ÇANTA-1", name="Ürün HB-ÇANTA-1", quantity=2,
                    unit_price=D("149.95"), vat_rate=D(20), state=m.CREATED),
    ]
    line_totals = sum(dec(r["totalPrice"]["amount"]) for r in rows if r["_feed"] == "orders")
    assert order.total == order.lines_total == line_totals == D("300.00")  # 299.9 + 0.1, no float drift
    assert order.carrier == "Yurtiçi Kargo" and order.shipping == 0
    assert_decimals(order)

    # Line a is packed: it leaves the open lines and shows in a package; b is still open.
    first = hb_client.acknowledge_order(OrderRef(number, lines=((a["id"], 2),)))["packageNumber"]
    _rows, orders = hb_poll(hb_client, since)
    order = orders[number]
    assert (order.state, order.remote_status) == (m.CREATED, "Open")  # b holds the order back
    assert {line.remote_line_id: line.state for line in order.lines} == {a["id"]: m.PICKING, b["id"]: m.CREATED}
    assert order.total == D("300.00")

    second = hb_client.acknowledge_order(OrderRef(number, lines=((b["id"], 1),)))["packageNumber"]
    _rows, orders = hb_poll(hb_client, since)
    order = orders[number]
    assert (order.state, order.remote_status) == (m.PICKING, "Packaged")
    assert order.total == order.lines_total == D("300.00") and len(order.lines) == 2

    hb_client.ship_order(OrderRef(number, first), Shipment("Kendi Kargom", "TRK-1"))
    _rows, orders = hb_poll(hb_client, since)
    assert (orders[number].state, orders[number].remote_status) == (m.PICKING, "Packaged")  # the second parcel

    hb_client.ship_order(OrderRef(number, second), Shipment("Kendi Kargom", "TRK-2"))
    _rows, orders = hb_poll(hb_client, since)
    order = orders[number]
    assert (order.remote_id, order.state, order.remote_status) == (number, m.SHIPPED, "InTransit")
    assert order.lines == () and order.total is None  # the thin shipped feed names packages only

    hb_control(hb, "deliver", packageNumber=first)
    _rows, orders = hb_poll(hb_client, since)
    assert orders[number].state == m.SHIPPED
    hb_control(hb, "deliver", packageNumber=second, delivered=False, reason="Alıcı adreste bulunamadı")
    _rows, orders = hb_poll(hb_client, since)
    assert (orders[number].state, orders[number].remote_status) == (m.UNDELIVERED, "Undelivered")

    again = hb_place(hb, [{"merchantSku": "HB-3", "quantity": 1, "price": 5}])
    pkg = hb_client.acknowledge_order(OrderRef(again["orderNumber"], lines=((again["lines"][0]["id"], 1),)))
    hb_client.ship_order(OrderRef(again["orderNumber"], pkg["packageNumber"]), Shipment("X", "TRK-3"))
    hb_control(hb, "deliver", packageNumber=pkg["packageNumber"])
    _rows, orders = hb_poll(hb_client, since)
    assert (orders[again["orderNumber"]].state, orders[again["orderNumber"]].remote_status) == (
        m.DELIVERED, "Delivered")
    assert orders[number].state == m.UNDELIVERED


def test_hepsiburada_cancelled_lines_and_cancelled_orders(hb, hb_client):
    since = since_an_hour()
    placed = hb_place(hb, [{"merchantSku": "C-A", "quantity": 3, "price": 20}, {"merchantSku": "C-B", "quantity": 1,
                                                                                "price": 12.34}])
    number = placed["orderNumber"]
    a, b = placed["lines"]
    hb_control(hb, "cancel", lineId=a["id"])  # the customer cancels one line

    rows, orders = hb_poll(hb_client, since)
    order = orders[number]
    assert {r["_feed"] for r in rows} == {"orders", "cancelled"}
    assert (order.state, order.remote_status) == (m.CREATED, "Open")
    lines = {line.remote_line_id: line for line in order.lines}
    assert (lines[a["id"]].state, lines[a["id"]].sku, lines[a["id"]].quantity) == (m.CANCELLED, "C-A", 3)
    assert lines[a["id"]].unit_price == 0  # the cancelled feed carries no price
    assert order.total == D("12.34")  # only what is still sold

    hb_client.cancel_order_lines(OrderRef(number, lines=((b["id"], 1),)))
    _rows, orders = hb_poll(hb_client, since)
    order = orders[number]
    assert (order.remote_id, order.state, order.remote_status) == (number, m.CANCELLED, "Cancelled")
    assert {line.state for line in order.lines} == {m.CANCELLED} and order.total is None


def test_hepsiburada_rows_seen_twice_merge_into_one_order(hb, hb_client):
    since = since_an_hour()
    placed = hb_place(hb, [{"merchantSku": "T-1", "quantity": 1, "price": 10}, {"merchantSku": "T-2", "quantity": 2,
                                                                                "price": 2.5}])
    number = placed["orderNumber"]
    early = list(hb_client.orders_changed_since(since))
    a, b = placed["lines"]
    hb_client.acknowledge_order(OrderRef(number, lines=((a["id"], 1), (b["id"], 2))))
    late = list(hb_client.orders_changed_since(since))

    for rows in (early + late, late + early, early + early):
        orders = by_id(orders_from("hepsiburada", rows))
        assert set(orders) == {number} and len(orders[number].lines) == 2
        assert orders[number].total == D("15.0")
    assert orders_from("hepsiburada", early + late)[0].state == m.PICKING  # each line keeps its latest news
    assert orders_from("hepsiburada", early + early)[0].state == m.CREATED


def test_hepsiburada_odd_rows_skip_their_order_only(hb, hb_client, logs):
    since = since_an_hour()
    good = hb_place(hb, [{"merchantSku": "OK-1", "quantity": 1, "price": 10}])
    rows = list(hb_client.orders_changed_since(since))
    bad = copy.deepcopy(rows[0])
    bad.update(orderNumber="4999999999", id="bad-line", quantity="çok")
    orphan = copy.deepcopy(rows[0])
    orphan.update(orderNumber=None, id="orphan-line")

    orders = by_id(orders_from("hepsiburada", [*rows, bad, orphan, 17, {"_feed": "shipped", "OrderNumber": "x"}]))

    assert set(orders) == {good["orderNumber"]}
    warnings = [line for line in logs if line.startswith("WARNING")]
    assert any("4999999999" in w and "quantity" in w for w in warnings)
    assert any("orphan-line" in w for w in warnings)
    assert any(" x " in w and "PackageNumber" in w for w in warnings)
    assert len(warnings) == 4
    assert not any(word in line for line in logs for word in ("Ayşe", "Yılmaz", "Örnek Mah"))


def test_hepsiburada_package_line_shape_with_discounts_and_flat_addresses():
    """HB's documented /packages shape (ExternalRawPackageRepresentation with PackageLine items,
    order.json), which the sandbox does not serve."""
    row = {
        "_feed": "packages", "packageNumber": "7000000123", "status": "Packaged", "barcode": "HB7000000123",
        "cargoCompany": "Aras Kargo", "customerName": "Ömer Faruk Güneş", "email": "x@hb.example",
        "phoneNumber": "05550001122", "orderDate": "2026-11-02T10:15:00",
        "recipientName": "Ömer Faruk Güneş", "shippingAddressDetail": "Çiçek Sk. No:3", "shippingDistrict": "Moda",
        "shippingTown": "Kadıköy", "shippingCity": "İstanbul", "shippingCountryCode": "TR",
        "companyName": "Güneş Bilişim", "billingAddress": "İnönü Cd. 10", "billingDistrict": "Alsancak",
        "billingTown": "Konak", "billingCity": "İzmir", "billingPostalCode": "35220", "billingCountryCode": "TR",
        "shippingTotalPrice": {"currency": "TRY", "amount": 29.99},
        "items": [
            {"lineItemId": "L1", "orderNumber": "4000000777", "merchantSku": "MS-1", "productName": "Kahve Fincanı",
             "quantity": 3, "price": {"currency": "TRY", "amount": 100}, "totalPrice": {"currency": "TRY", "amount": 300},
             "totalMerchantDiscount": {"currency": "TRY", "amount": 30}, "totalHBDiscount": {"amount": 15},
             "vatRate": 0.1, "properties": [{"displayName": "Renk", "name": "renk", "value": "Lacivert"}]},
            {"lineItemId": "L2", "orderNumber": "4000000777", "merchantSku": None, "productName": "Tabak",
             "quantity": 1, "price": {"currency": "TRY", "amount": 45.5}},
        ],
    }
    order = orders_from("hepsiburada", [row])[0]
    assert (order.remote_id, order.state, order.remote_status) == ("4000000777", m.PICKING, "Packaged")
    assert order.created_at == datetime(2026, 11, 2, 7, 15, tzinfo=UTC)  # Istanbul time
    assert [(line.sku, line.quantity, line.unit_price, line.vat_rate, line.variant) for line in order.lines] == [
        ("MS-1", 3, D(90), D(10), "Renk: Lacivert"), ("", 1, D("45.5"), D(20), "")]
    assert order.shipping == D("29.99") and order.total == D("345.49")  # 270 + 45.5 + 29.99
    assert order.shipping_address == m.Address(
        firstname="Ömer Faruk", lastname="Güneş", address_1="Çiçek Sk. No:3", address_2="Moda", city="Kadıköy",
        zone="İstanbul", country_code="TR", telephone="05550001122")
    assert (order.payment_address.city, order.payment_address.zone, order.payment_address.postcode) == (
        "Konak", "İzmir", "35220")
    assert order.email == "x@hb.example" and order.carrier == "Aras Kargo"


# --- N11 ----------------------------------------------------------------------------------------


@pytest.fixture
def n11() -> Iterator[N11Sandbox]:
    sb = N11Sandbox(task_delay=0.05, seed=5).start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def n11_client(n11) -> Iterator[N11Client]:
    client = N11Client(n11.base_url, DEFAULT_APP_KEY, DEFAULT_APP_SECRET, retry_budget=10.0)
    yield client
    client.close()


def n11_place(sb: N11Sandbox, lines: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    r = requests.post(f"{sb.admin_url}/orders", json={"lines": lines, **body}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def n11_poll(client: N11Client, since: datetime) -> tuple[list[dict[str, Any]], dict[str, m.MarketOrder]]:
    docs = list(client.orders_changed_since(since))
    return docs, by_id(orders_from("n11", docs))


def test_n11_order_maps_and_keeps_its_id_through_picking_partial_cancel_and_shipping(n11, n11_client):
    since = since_an_hour()
    pkg = n11_place(n11, [
        {"stockCode": "N11-ÇAY-6", "quantity": 3, "price": "99.90", "totalSellerDiscountPrice": "9.90",
         "productName": "Çay Bardağı 6'lı"},
        {"stockCode": "N11-2", "quantity": 1, "price": "0.30"},
    ])
    number = pkg["orderNumber"]
    first, second = (str(line["orderLineId"]) for line in pkg["lines"])

    docs, orders = n11_poll(n11_client, since)
    order = orders[number]
    assert (order.order_number, order.state, order.remote_status) == (number, m.CREATED, "Created")
    assert order.created_at == datetime.fromtimestamp(pkg["createdDate"] / 1000, UTC)
    assert (order.customer_firstname, order.customer_lastname, order.currency) == ("Test", "Müşteri", "TRY")
    assert order.lines == (
        m.OrderLine(remote_line_id=first, sku="N11-ÇAY-6", name="Çay Bardağı 6'lı", quantity=3,
                    unit_price=D("96.6"), vat_rate=D(20), state=m.CREATED),
        m.OrderLine(remote_line_id=second, sku="N11-2", name="N11-2", quantity=1, unit_price=D("0.3"),
                    vat_rate=D(20), state=m.CREATED),
    )
    invoiced = sum(dec(line["sellerInvoiceAmount"]) for line in docs[0]["lines"])
    assert order.total == order.lines_total == invoiced == D("290.1")  # 299.7 − 9.9 + 0.3
    assert order.carrier == "Yurtiçi Kargo" and order.tracking_number == ""  # the campaign code is no tracking no.
    assert_decimals(order)

    n11_client.acknowledge_order(OrderRef(number, lines=((first, 3),)))
    _docs, orders = n11_poll(n11_client, since)
    assert (orders[number].state, orders[number].remote_status) == (m.CREATED, "Created")  # line two not approved
    n11_client.acknowledge_order(OrderRef(number, lines=((second, 1),)))
    _docs, orders = n11_poll(n11_client, since)
    assert (orders[number].state, orders[number].remote_status) == (m.PICKING, "Picking")

    n11_client.cancel_order_lines(OrderRef(number, lines=((first, 1),)), "out_of_stock")
    docs, orders = n11_poll(n11_client, since)
    assert pkg["id"] not in {d["id"] for d in docs}  # N11 renumbered the package
    order = orders[number]
    assert (order.remote_id, order.state) == (number, m.PICKING)
    lines = {line.remote_line_id: line for line in order.lines}
    assert (lines[first].quantity, lines[first].state) == (2, m.PICKING)
    cancelled = [line for line in order.lines if line.state == m.CANCELLED]
    assert [(line.sku, line.quantity, line.unit_price) for line in cancelled] == [("N11-ÇAY-6", 1, D("96.6"))]
    assert order.total == D("193.5")  # 2 × 96.60 + 0.30: the cancelled unit is not sold

    live = next(d for d in docs if d["shipmentPackageStatus"] == "Picking")
    r = requests.post(f"{n11.admin_url}/ship", json={"packageId": live["id"], "trackingNumber": "YK-778899"}, timeout=5)
    assert r.status_code == 200, r.text
    _docs, orders = n11_poll(n11_client, since)
    order = orders[number]
    assert (order.state, order.remote_status, order.tracking_number) == (m.SHIPPED, "Shipped", "YK-778899")
    n11.set_package_status(live["id"], "Delivered")
    _docs, orders = n11_poll(n11_client, since)
    assert (orders[number].remote_id, orders[number].state) == (number, m.DELIVERED)


def test_n11_cancelled_orders_noisy_statuses_and_the_latest_copy(n11, n11_client):
    since = since_an_hour()
    gone = n11_place(n11, [{"stockCode": "GONE", "quantity": 2, "price": "10.00"}])
    sent = n11_place(n11, [{"stockCode": "SENT", "quantity": 1, "price": "5.55"}], status="Picking")
    before = list(n11_client.orders_changed_since(since))
    n11.set_package_status(gone["id"], "Cancelled")
    n11.ship_package(sent["id"])
    n11.configure(status_noise=True)  # " Shipped", "Canceled"
    after = list(n11_client.orders_changed_since(since))

    for docs in (before + after, after + before):
        orders = by_id(orders_from("n11", docs))
        assert (orders[gone["orderNumber"]].state, orders[gone["orderNumber"]].remote_status) == (
            m.CANCELLED, "Cancelled")
        assert orders[gone["orderNumber"]].total is None
        assert [line.state for line in orders[gone["orderNumber"]].lines] == [m.CANCELLED]
        assert (orders[sent["orderNumber"]].state, orders[sent["orderNumber"]].remote_status) == (m.SHIPPED, "Shipped")
        assert orders[sent["orderNumber"]].total == D("5.55")


def test_n11_odd_package_skips_its_order_only(n11, n11_client, logs):
    since = since_an_hour()
    good = n11_place(n11, [{"stockCode": "OK", "quantity": 1, "price": "1.00"}])
    docs = list(n11_client.orders_changed_since(since))
    bad = copy.deepcopy(docs[0])
    bad.update(orderNumber="N-BAD-1", id=555)
    bad["lines"][0]["sellerInvoiceAmount"] = "bedava"
    weird = copy.deepcopy(docs[0])
    weird.update(orderNumber="N-WEIRD", shipmentPackageStatus="Kayıp")
    husk = copy.deepcopy(docs[0])
    husk.update(orderNumber="N-HUSK", shipmentPackageStatus="Unpacked")

    orders = by_id(orders_from("n11", [*docs, bad, weird, husk, {"id": 9}]))

    assert set(orders) == {good["orderNumber"]}
    warnings = [line for line in logs if line.startswith("WARNING")]
    assert any("N-BAD-1" in w and "sellerInvoiceAmount" in w for w in warnings)
    assert any("N-WEIRD" in w and "Kayıp" in w for w in warnings)
    assert len(warnings) == 3 and not any("N-HUSK" in w for w in warnings)  # a husk is not an error
    assert not any("Müşteri" in line for line in logs)


def test_n11_documented_package_fields_addresses_vat_and_variants():
    """Fields of N11's REST shipmentPackages the sandbox does not serve (addresses, vatRate,
    variant attributes, e-mail), in the shape §3.3 and the RestAPI pages describe."""
    pkg = {
        "id": 1234, "orderNumber": "205001", "shipmentPackageStatus": " Shipped", "createdDate": 1_790_000_000_000,
        "lastModifiedDate": 1_790_000_500_000, "customerfullName": "Çiğdem Şahin", "customerEmail": "c@n11.example",
        "cargoProviderName": "PTT Kargo", "cargoTrackingNumber": "7123", "cargoSenderNumber": "PTT-55",
        "shippingAddress": {"name": "Çiğdem Şahin", "address": "Gül Sk. 4", "neighborhood": "Yıldız Mah.",
                            "district": "Beşiktaş", "city": "İstanbul", "postalCode": "34349", "gsm": "05301112233"},
        "billingAddress": {"name": "Çiğdem Şahin", "address": "Gül Sk. 4", "district": "Beşiktaş", "city": "İstanbul",
                           "companyName": "Şahin Tekstil"},
        "lines": [{"orderLineId": 77, "stockCode": "TSHIRT-L", "productName": "Tişört", "quantity": 2, "price": 250,
                   "totalSellerDiscountPrice": 50.01, "vatRate": 10, "orderItemLineItemStatusName": " Shipped",
                   "variantAttributes": [{"name": "Beden", "value": "L"}, {"name": "Renk", "value": "Siyah"}]}],
    }
    order = orders_from("n11", [pkg])[0]
    assert (order.remote_id, order.state, order.remote_status) == ("205001", m.SHIPPED, "Shipped")
    line = order.lines[0]
    assert (line.remote_line_id, line.sku, line.quantity, line.vat_rate, line.variant) == (
        "77", "TSHIRT-L", 2, D(10), "Beden: L / Renk: Siyah")
    assert line.unit_price == D("224.9950")  # 449.99 / 2, to OpenCart's four decimals
    assert order.total == D("449.99") and abs(order.lines_total - order.total) < D("0.01")
    assert order.shipping_address == m.Address(
        firstname="Çiğdem", lastname="Şahin", address_1="Gül Sk. 4", address_2="Yıldız Mah.", city="Beşiktaş",
        zone="İstanbul", postcode="34349", country_code="TR", telephone="05301112233")
    assert order.payment_address.company == "Şahin Tekstil" and order.email == "c@n11.example"
    assert (order.carrier, order.tracking_number) == ("PTT Kargo", "PTT-55")
    assert order.created_at == datetime.fromtimestamp(1_790_000_000, UTC)


# --- Amazon -------------------------------------------------------------------------------------


@pytest.fixture
def amz() -> Iterator[AmazonSandbox]:
    sb = AmazonSandbox(feed_delay=0.05, seed=7).start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def amz_client(amz, redis_prefix) -> Iterator[AmazonClient]:
    r = redis.Redis.from_url(REDIS_URL)
    client = AmazonClient(amz.base_url, amz.lwa_url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN,
                          DEFAULT_SELLER_ID, [TR], redis_client=r, redis_prefix=redis_prefix, retry_budget=10.0)
    yield client
    client.close()
    r.close()


def amz_poll(amz: AmazonSandbox, client: AmazonClient) -> tuple[list[dict[str, Any]], dict[str, m.MarketOrder]]:
    docs = list(client.orders_changed_since(datetime.now(UTC) - timedelta(days=1)))
    return docs, by_id(orders_from("amazon", docs, fetch_items=client.order_items))


def test_amazon_order_with_items_maps_every_field_and_follows_shipments(amz, amz_client):
    now = time.time()
    oid = amz.add_order(now - 7200, now - 600, sku="AMZ-ÇANTA", quantity=3, amount="449.97")
    pending = amz.add_order(now - 3600, now - 500, status="Pending", sku="AMZ-P")
    canceled = amz.add_order(now - 3600, now - 400, status="Canceled", sku="AMZ-C", quantity=2, amount="20.00")

    docs, orders = amz_poll(amz, amz_client)
    assert set(orders) == {oid, pending, canceled}
    order = orders[oid]
    doc = next(d for d in docs if d["AmazonOrderId"] == oid)
    items = amz_client.order_items(oid)
    assert (order.order_number, order.state, order.remote_status) == (oid, m.CREATED, "Unshipped")
    assert order.created_at == datetime.fromisoformat(doc["PurchaseDate"].replace("Z", "+00:00"))
    assert order.currency == "TRY" and order.total == dec(doc["OrderTotal"]["Amount"]) == D("449.97")
    assert order.lines == (m.OrderLine(remote_line_id=items[0]["OrderItemId"], sku="AMZ-ÇANTA", name="Item AMZ-ÇANTA",
                                       quantity=3, unit_price=D("149.99"), vat_rate=D(20)),)
    assert order.lines_total == dec(items[0]["ItemPrice"]["Amount"]) and order.shipping == 0
    assert order.raw == {"order": doc, "items": items}
    assert order.shipping_address == m.Address(firstname="", lastname="", address_1="", country_code="TR")
    assert order.email == ""  # restricted data: the sandbox serves no address or buyer
    assert_decimals(order)
    assert (orders[pending].state, orders[pending].remote_status) == (m.AWAITING, "Pending")
    assert (orders[canceled].state, orders[canceled].remote_status) == (m.CANCELLED, "Canceled")

    item_id = items[0]["OrderItemId"]
    amz_client.ship_order(OrderRef(oid, lines=((item_id, 1),)), Shipment("Yurtiçi Kargo", "YK1001"))
    amz.advance_clock(150)  # Amazon lists an order change only once it is two minutes old
    _docs, orders = amz_poll(amz, amz_client)
    assert (orders[oid].remote_id, orders[oid].state, orders[oid].remote_status) == (oid, m.PICKING,
                                                                                      "PartiallyShipped")
    amz_client.ship_order(OrderRef(oid, lines=((item_id, 2),)), Shipment("Yurtiçi Kargo", "YK1002"))
    amz.advance_clock(150)
    _docs, orders = amz_poll(amz, amz_client)
    assert (orders[oid].state, orders[oid].remote_status, orders[oid].total) == (m.SHIPPED, "Shipped", D("449.97"))


def test_amazon_same_order_twice_keeps_the_latest_and_reads_its_items_once(amz, amz_client):
    now = time.time()
    oid = amz.add_order(now - 7200, now - 900, sku="TWICE")
    other = amz.add_order(now - 7200, now - 800, sku="ONCE", amount="1.50")
    before, _ = amz_poll(amz, amz_client)
    amz_client.ship_order(OrderRef(oid), Shipment("Yurtiçi Kargo", "YK9"))
    amz.advance_clock(150)
    after = list(amz_client.orders_changed_since(datetime.now(UTC) - timedelta(days=1)))
    calls_before = amz.request_log()["counts"]["getOrderItems"]["200"]

    orders = by_id(orders_from("amazon", after + before, fetch_items=amz_client.order_items))

    assert set(orders) == {oid, other} and orders[oid].state == m.SHIPPED
    assert amz.request_log()["counts"]["getOrderItems"]["200"] - calls_before == 2  # once per order
    assert by_id(orders_from("amazon", before + after, fetch_items=amz_client.order_items))[oid].state == m.SHIPPED


def test_amazon_odd_orders_are_skipped_and_a_busy_amazon_is_raised(amz, amz_client, logs):
    now = time.time()
    good = amz.add_order(now - 7200, now - 900, sku="GOOD")
    docs = list(amz_client.orders_changed_since(datetime.now(UTC) - timedelta(days=1)))
    weird = {**docs[0], "AmazonOrderId": "111-0000000-0000001", "OrderStatus": "Lost"}
    unknown = {**docs[0], "AmazonOrderId": "111-0000000-0000002"}  # getOrderItems answers 404

    orders = by_id(orders_from("amazon", [*docs, weird, unknown, None], fetch_items=amz_client.order_items))

    assert set(orders) == {good}
    warnings = [line for line in logs if line.startswith("WARNING")]
    assert any("111-0000000-0000001" in w and "Lost" in w for w in warnings)
    assert any("111-0000000-0000002" in w and "NotFoundError" in w for w in warnings)

    def busy(order_id: str) -> list[dict[str, Any]]:
        raise ThrottledError("QuotaExceeded", 429, "QuotaExceeded")

    with pytest.raises(ThrottledError):
        orders_from("amazon", docs, fetch_items=busy)

    def missing(order_id: str) -> list[dict[str, Any]]:
        raise NotFoundError("Invalid order id", 404, "InvalidInput")

    assert orders_from("amazon", docs, fetch_items=missing) == []


# Examples from ordersV0.json (x-amzn-api-sandbox of getOrders and getOrderItems), verbatim.
SPEC_ORDER = {
    "AmazonOrderId": "902-1845936-5435065", "PurchaseDate": "1970-01-19T03:58:30Z",
    "LastUpdateDate": "1970-01-19T03:58:32Z", "OrderStatus": "Unshipped", "FulfillmentChannel": "MFN",
    "SalesChannel": "Amazon.com", "ShipServiceLevel": "Std US D2D Dom",
    "OrderTotal": {"CurrencyCode": "USD", "Amount": "11.01"}, "NumberOfItemsShipped": 0, "NumberOfItemsUnshipped": 1,
    "PaymentMethod": "Other", "PaymentMethodDetails": ["Standard"], "IsReplacementOrder": False,
    "MarketplaceId": "ATVPDKIKX0DER", "ShipmentServiceLevelCategory": "Standard", "OrderType": "StandardOrder",
    "EarliestShipDate": "1970-01-19T03:59:27Z", "LatestShipDate": "1970-01-19T04:05:13Z",
    "DefaultShipFromLocationAddress": {"Name": "MFNIntegrationTestMerchant", "AddressLine1": "2201 WESTLAKE AVE",
                                       "City": "SEATTLE", "StateOrRegion": "WA", "PostalCode": "98121-2778",
                                       "CountryCode": "US", "AddressType": "Commercial"},
}
SPEC_ITEMS = [{
    "ASIN": "B00551Q3CS", "OrderItemId": "05015851154158", "SellerSKU": "NABetaASINB00551Q3CS",
    "Title": "B00551Q3CS [Card Book]", "QuantityOrdered": 1, "QuantityShipped": 0, "ProductInfo": {"NumberOfItems": "1"},
    "ItemPrice": {"CurrencyCode": "USD", "Amount": "10.00"}, "ItemTax": {"CurrencyCode": "USD", "Amount": "1.01"},
    "PromotionDiscount": {"CurrencyCode": "USD", "Amount": "0.00"}, "IsGift": "false", "ConditionId": "New",
}]
SPEC_PENDING = {
    "AmazonOrderId": "902-3159896-1390916", "PurchaseDate": "2017-01-20T19:49:35Z",
    "LastUpdateDate": "2017-01-20T19:49:35Z", "OrderStatus": "Pending", "FulfillmentChannel": "MFN",
    "NumberOfItemsShipped": 0, "NumberOfItemsUnshipped": 0, "PaymentMethod": "Other",
    "PaymentMethodDetails": ["CreditCard", "GiftCertificate"], "MarketplaceId": "ATVPDKIKX0DER",
    "ShipmentServiceLevelCategory": "Standard", "OrderType": "StandardOrder",
}


def test_amazon_spec_examples_tax_on_top_and_pending_without_amounts():
    fetched: list[str] = []

    def items(order_id: str) -> list[dict[str, Any]]:
        fetched.append(order_id)
        if order_id == SPEC_ORDER["AmazonOrderId"]:
            return copy.deepcopy(SPEC_ITEMS)
        return [{"ASIN": "B0PENDING1", "OrderItemId": "P1", "SellerSKU": "PEND-1", "QuantityOrdered": 2}]

    orders = by_id(orders_from("amazon", [SPEC_ORDER, SPEC_PENDING], fetch_items=items))

    assert fetched == [SPEC_ORDER["AmazonOrderId"], SPEC_PENDING["AmazonOrderId"]]
    order = orders["902-1845936-5435065"]
    assert (order.state, order.currency, order.total) == (m.CREATED, "USD", D("11.01"))
    # The US adds tax on top (10.00 + 1.01 = 11.01): the line is made gross, its rate kept exact.
    assert [(line.sku, line.unit_price, line.vat_rate) for line in order.lines] == [
        ("NABetaASINB00551Q3CS", D("11.01"), D("10.10"))]
    assert order.lines_total == order.total
    assert order.created_at == datetime(1970, 1, 19, 3, 58, 30, tzinfo=UTC)
    pending = orders["902-3159896-1390916"]
    assert (pending.state, pending.remote_status, pending.total, pending.currency) == (
        m.AWAITING, "Pending", None, "USD")
    assert [(line.sku, line.quantity, line.unit_price) for line in pending.lines] == [("PEND-1", 2, D(0))]


def test_amazon_vat_inclusive_prices_promotions_shipping_and_address():
    order = {"AmazonOrderId": "405-1234567-7654321", "PurchaseDate": "2026-11-01T09:00:00Z",
             "LastUpdateDate": "2026-11-01T10:00:00Z", "OrderStatus": "Unshipped", "MarketplaceId": "A1PA6795UKMFR9",
             "OrderTotal": {"CurrencyCode": "EUR", "Amount": "62.96"},
             "BuyerInfo": {"BuyerEmail": "abc@marketplace.amazon.de", "BuyerName": "Jürgen Groß"},
             "ShippingAddress": {"Name": "Jürgen Groß", "AddressLine1": "Hauptstraße 1", "AddressLine2": "2. OG",
                                 "City": "München", "StateOrRegion": "Bayern", "PostalCode": "80331",
                                 "CountryCode": "DE", "Phone": "+49 89 123"}}
    items = [{"ASIN": "B01", "OrderItemId": "I1", "SellerSKU": "DE-1", "Title": "Tasse", "QuantityOrdered": 3,
              "ItemPrice": {"CurrencyCode": "EUR", "Amount": "59.97"}, "ItemTax": {"CurrencyCode": "EUR", "Amount": "9.58"},
              "PromotionDiscount": {"CurrencyCode": "EUR", "Amount": "2.00"},
              "ShippingPrice": {"CurrencyCode": "EUR", "Amount": "4.99"},
              "ShippingTax": {"CurrencyCode": "EUR", "Amount": "0.80"},
              "ShippingDiscount": {"CurrencyCode": "EUR", "Amount": "0.00"}}]
    mapped = orders_from("amazon", [order], fetch_items=lambda _id: items)[0]
    assert [(line.unit_price, line.vat_rate) for line in mapped.lines] == [(D("19.3233"), D(19))]  # 57.97 / 3
    assert mapped.shipping == D("4.99") and mapped.total == D("62.96")
    assert abs(mapped.lines_total + mapped.shipping - mapped.total) < D("0.01")
    assert mapped.shipping_address == m.Address(
        firstname="Jürgen", lastname="Groß", address_1="Hauptstraße 1", address_2="2. OG", city="München",
        zone="Bayern", postcode="80331", country_code="DE", telephone="+49 89 123")
    assert (mapped.customer_firstname, mapped.email) == ("Jürgen", "abc@marketplace.amazon.de")


# --- dispatch and shared rules --------------------------------------------------------------------


def test_orders_from_knows_the_four_marketplaces_and_refuses_others():
    assert set(MAPPERS) == {"trendyol", "hepsiburada", "n11", "amazon"}
    assert all(orders_from(code, []) == [] for code in MAPPERS)
    with pytest.raises(ValueError, match="ciceksepeti"):
        orders_from("ciceksepeti", [])


def test_every_state_table_maps_into_the_neutral_states():
    from workers.mappers.orders import hepsiburada, n11, trendyol

    for table in (trendyol.STATES, hepsiburada.STATES, n11.STATES, amazon_mapper.STATES):
        assert set(table.values()) <= set(m.STATES)


@pytest.mark.parametrize(("total", "qty", "unit"), [
    (D("300"), 3, D("100.00")), (D("100"), 3, D("33.3333")), (D("0.1"), 1, D("0.10")), (D("449.99"), 2, D("224.9950")),
])
def test_per_unit_is_exact_to_the_cent_or_to_opencarts_precision(total, qty, unit):
    assert common.per_unit(total, qty) == unit


def test_amounts_are_read_without_float_drift_and_odd_ones_refused():
    assert common.amount(0.1, "x") + common.amount(0.2, "x") == D("0.3")
    assert common.amount({"amount": 99.99}, "x") == D("99.99") and common.amount({"Amount": "1.10"}, "x") == D("1.10")
    for bad in ("abc", None, True, float("nan"), {"currency": "TRY"}):
        with pytest.raises(common.Skip):
            common.amount(bad, "x")
    assert common.vat_rate(None, "v") == 20 and common.vat_rate(0.18, "v") == 18 and common.vat_rate("1", "v") == 1
    assert common.split_name("  Ayşe Nur   İpekçi ") == ("Ayşe Nur", "İpekçi")
    assert common.split_name("Ğ") == ("Ğ", "")
