"""Shipment back: a marketplace order the merchant marks shipped in OpenCart, with the tracking
number in the history comment, is reported to the marketplace it came from — once."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bridge import channels
from bridge.order_writer import OrderWriter
from kervan import demo_store
from sandbox.n11 import N11Sandbox
from sandbox.trendyol import TrendyolSandbox
from workers.clients import build_client
from workers.orders import model as m
from workers.orders.shipments import ShipmentReporter, parse_shipment


@pytest.mark.parametrize("comment, carrier, number", [
    ("Kargo: Yurtiçi Kargo, Takip No: YK123456789", "Yurtiçi Kargo", "YK123456789"),
    ("Carrier: DHL Tracking: 1Z999AA10123456784", "DHL", "1Z999AA10123456784"),
    ("kargoya verildi, takip numarası 7312345678", "Aras", "7312345678"),
])
def test_tracking_numbers_are_read_from_what_merchants_write(comment, carrier, number):
    s = parse_shipment(comment, default_carrier="Aras")
    assert (s.carrier, s.tracking_number) == (carrier, number)


def test_no_number_no_shipment():
    assert parse_shipment("Paketlendi, yarın kargoda") is None


def _import(db, channel_id: int, code: str, package: dict) -> int:
    a = m.Address("Ayşe", "Yılmaz", "Atatürk Cd. 1", city="Çankaya", zone="Ankara")
    order = m.MarketOrder(
        remote_id=str(package["shipmentPackageId"]), order_number=str(package["orderNumber"]), state=m.CREATED,
        remote_status="Created", created_at=datetime.now(UTC), currency="USD", customer_firstname="Ayşe",
        customer_lastname="Yılmaz", email="a@example.com", telephone="0555", shipping_address=a, payment_address=a,
        lines=tuple(m.OrderLine(str(li["lineId"]), li["barcode"], li["productName"], li["quantity"],
                                Decimal(str(li["lineUnitPrice"])), Decimal(20)) for li in package["lines"]),
    )
    return OrderWriter(db, channel_id, code).apply(order).order_id


def _ship_in_opencart(db, order_id: int, comment: str) -> None:
    """What the admin's "Add history" does to the order (the extension then emits order.status_changed)."""
    db.execute("UPDATE {p}order SET order_status_id = 3 WHERE order_id = %s", (order_id,))
    db.execute("INSERT INTO {p}order_history (order_id, order_status_id, notify, comment, date_added)"
               " VALUES (%s, 3, 0, %s, NOW())", (order_id, comment))


def test_a_shipped_trendyol_order_reports_its_tracking_number_once(store41, cfg_factory):
    sb = TrendyolSandbox().start()
    try:
        demo_store.install(store41, sb.base_url)
        account = channels.get(store41, "trendyol")
        package = sb.create_order([{"barcode": "product 11", "quantity": 1, "price": 120.0}])
        order_id = _import(store41, account.channel_id, "trendyol", package)
        reporter = ShipmentReporter(store41, account, build_client(cfg_factory(store41), account))

        assert reporter.on_status_changed(order_id) is False  # not shipped yet: nothing to say
        _ship_in_opencart(store41, order_id, "Kargo: Yurtiçi Kargo, Takip No: YK123456789")
        assert reporter.on_status_changed(order_id) is True
        assert sb.package(package["shipmentPackageId"])["cargoTrackingNumber"] == "YK123456789"
        link = store41.one("SELECT tracking_number, shipped_at FROM {p}kervan_order_link")
        assert link["tracking_number"] == "YK123456789" and link["shipped_at"] is not None
        writes = len([r for r in sb.request_log()["requests"] if r["method"] == "PUT"])
        assert reporter.on_status_changed(order_id) is False  # once
        assert len([r for r in sb.request_log()["requests"] if r["method"] == "PUT"]) == writes
    finally:
        sb.stop()


def test_a_marketplace_without_tracking_upload_is_flagged_not_retried(store41, cfg_factory):
    sb = N11Sandbox().start()
    try:
        demo_store.install_n11(store41, sb.base_url)
        account = channels.get(store41, "n11")
        package = {"shipmentPackageId": 555, "orderNumber": "N-1",
                   "lines": [{"lineId": 9, "barcode": "product 11", "productName": "iPhone", "quantity": 1,
                              "lineUnitPrice": 100}]}
        order_id = _import(store41, account.channel_id, "n11", package)
        _ship_in_opencart(store41, order_id, "Takip No: ARAS12345678")
        reporter = ShipmentReporter(store41, account, build_client(cfg_factory(store41), account))
        assert reporter.on_status_changed(order_id) is False
        link = store41.one("SELECT flags, shipped_at FROM {p}kervan_order_link")
        assert link["shipped_at"] is None and link["flags"].startswith("ship_failed:")
    finally:
        sb.stop()


def _cancel_in_opencart(db, order_id: int) -> None:
    db.execute("UPDATE {p}order SET order_status_id = 7 WHERE order_id = %s", (order_id,))
    db.execute("INSERT INTO {p}order_history (order_id, order_status_id, notify, comment, date_added)"
               " VALUES (%s, 7, 0, 'Stokta kalmadı', NOW())", (order_id,))


def test_an_order_cancelled_in_opencart_is_cancelled_on_the_marketplace_once(store41, cfg_factory):
    sb = TrendyolSandbox().start()
    try:
        demo_store.install(store41, sb.base_url)
        account = channels.get(store41, "trendyol")
        package = sb.create_order([{"barcode": "product 11", "quantity": 2, "price": 120.0}])
        order_id = _import(store41, account.channel_id, "trendyol", package)
        reporter = ShipmentReporter(store41, account, build_client(cfg_factory(store41), account))

        _cancel_in_opencart(store41, order_id)
        assert reporter.on_status_changed(order_id) is True
        lines = sb.package(package["shipmentPackageId"])["lines"]
        assert [li["orderLineItemStatusName"] for li in lines] == ["UnSupplied"]
        assert store41.one("SELECT cancelled_at FROM {p}kervan_order_link")["cancelled_at"] is not None
        writes = len([r for r in sb.request_log()["requests"] if r["method"] == "PUT"])
        assert reporter.on_status_changed(order_id) is False  # once
        assert len([r for r in sb.request_log()["requests"] if r["method"] == "PUT"]) == writes
    finally:
        sb.stop()


def test_a_status_the_marketplace_set_itself_is_not_sent_back(store41, cfg_factory):
    from bridge.envelope import Event
    from workers.orders.importer import OrderImporter

    sb = TrendyolSandbox().start()
    try:
        demo_store.install(store41, sb.base_url)
        account = channels.get(store41, "trendyol")
        package = sb.create_order([{"barcode": "product 11", "quantity": 1, "price": 120.0}])
        order_id = _import(store41, account.channel_id, "trendyol", package)
        _cancel_in_opencart(store41, order_id)
        importer = OrderImporter(store41, account, build_client(cfg_factory(store41), account))
        # The OrderWriter's own event (the marketplace cancelled it): no cancel request goes back.
        importer.handle(Event("order.status_changed", "order", str(order_id),
                              {"order_id": order_id, "old_status_id": 2, "new_status_id": 7}, source="kervan:trendyol"))
        assert store41.one("SELECT cancelled_at FROM {p}kervan_order_link")["cancelled_at"] is None
        # The merchant's change in the admin (the extension's event): it does.
        importer.handle(Event("order.status_changed", "order", str(order_id),
                              {"order_id": order_id, "old_status_id": 2, "new_status_id": 7}, source="admin"))
        assert store41.one("SELECT cancelled_at FROM {p}kervan_order_link")["cancelled_at"] is not None
    finally:
        sb.stop()
