"""Tracking back from suppliers: polled from the supplier API sandbox (or read from a supplier's
tracking CSV) into OpenCart's order history and status with an ``order.status_changed`` event in
the same transaction, once — and from there, for a marketplace order, to the marketplace sandbox
through the orders worker's shipment path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge import channels, outbox
from bridge.envelope import Event
from kervan import demo_store
from sandbox.supplier.api import SupplierApiSandbox
from sandbox.trendyol import TrendyolSandbox
from tests.dropship import (
    CANON,
    IPHONE,
    add_supplier,
    history,
    link,
    market_order,
    rest_forward,
    supplier_orders,
)
from tests.test_shipments import _import
from workers.clients import build_client
from workers.orders.importer import OrderImporter
from workers.orders.shipments import parse_shipment
from workers.suppliers.dropship_worker import DropshipHandler
from workers.suppliers.forward import Forwarder
from workers.suppliers.forward_types import TrackingInfo
from workers.suppliers.tracking import TrackingPoller, apply_tracking, import_tracking_csv, shipment_comment


@pytest.fixture
def two() -> Iterator[tuple[SupplierApiSandbox, SupplierApiSandbox]]:
    with SupplierApiSandbox(name="a") as a, SupplierApiSandbox(name="b") as b:
        yield a, b


def poller(db, forwarder: Forwarder) -> TrackingPoller:
    # interval 0: every sent order is asked about on every round (the test drives the rounds)
    return TrackingPoller(db, forwarder.suppliers, forwarder.sender, interval=0)


def status_events(db) -> list[dict]:
    """The status changes tracking wrote (the order import writes its own, from the marketplace)."""
    return [outbox.to_event(r).payload for r in db.query(
        "SELECT * FROM {p}kervan_outbox WHERE event_type = 'order.status_changed' AND source = 'kervan:dropship'"
        " ORDER BY id")]


def order_status(db, order_id: int) -> int:
    return int(db.one("SELECT order_status_id FROM {p}order WHERE order_id = %s", (order_id,))["order_status_id"])


def test_the_comment_is_one_the_shipment_path_reads():
    info = TrackingInfo("Yurtiçi Kargo", "YK000000123", "https://www.yurticikargo.com/x?code=YK000000123")
    found = parse_shipment(shipment_comment(info, "Alfa Toptan"))
    assert (found.carrier, found.tracking_number) == ("Yurtiçi Kargo", "YK000000123")


def test_polled_tracking_ships_the_order_once_every_supplier_shipped(store, two):
    a, b = two
    sa = add_supplier(store, "alfa", rest_forward(a))
    sb_ = add_supplier(store, "beta", rest_forward(b))
    link(store, sa, IPHONE, "ALFA-IPH")
    link(store, sb_, CANON, "BETA-CAN")
    order_id = market_order(store, [("product 11", 1), ("Product 3", 1)])
    forwarder = Forwarder(store)
    forwarder.forward_order(order_id)
    tracker = poller(store, forwarder)

    assert tracker.poll_once() == 0  # nobody shipped yet
    assert supplier_orders(store)[sa]["tracking_checked_at"] is not None
    before = len(history(store, order_id))

    (ao,) = a.orders()
    a.ship(ao["orderId"], "Aras Kargo", "AR000111222")
    assert tracker.poll_once() == 1
    rows = supplier_orders(store)
    assert (rows[sa]["state"], rows[sa]["carrier"], rows[sa]["tracking_number"]) == ("shipped", "Aras Kargo",
                                                                                     "AR000111222")
    assert rows[sa]["tracking_url"].endswith("AR000111222") and rows[sb_]["state"] == "sent"
    # Part of the order is on its way: noted in the history, the order itself not shipped yet.
    assert order_status(store, order_id) == 2 and status_events(store) == []
    part = history(store, order_id)[-1]
    assert part["order_status_id"] == 2 and "AR000111222" in part["comment"]

    (bo,) = b.orders()
    b.ship(bo["orderId"], "Yurtiçi Kargo", "YK000333444")
    assert tracker.poll_once() == 1
    assert order_status(store, order_id) == 3
    last = history(store, order_id)[-1]
    assert last["order_status_id"] == 3 and last["notify"] == 0
    shipment = parse_shipment(last["comment"])
    assert (shipment.carrier, shipment.tracking_number) == ("Yurtiçi Kargo", "YK000333444")
    assert status_events(store) == [{"order_id": order_id, "old_status_id": 2, "new_status_id": 3}]

    # Once: more rounds and a late tracking file change nothing.
    assert tracker.poll_once() == 0
    assert apply_tracking(store, int(rows[sa]["supplier_order_id"]), TrackingInfo("X", "X123456789")) is False
    assert len(history(store, order_id)) == before + 2 and len(status_events(store)) == 1


def test_a_supplier_that_is_down_is_asked_again_later(store41, two):
    a, _ = two
    sid = add_supplier(store41, "alfa", rest_forward(a, rest={"timeout": 1}))
    link(store41, sid, IPHONE, "ALFA-IPH")
    order_id = market_order(store41, [("product 11", 1)])
    forwarder = Forwarder(store41)
    forwarder.forward_order(order_id)
    (ao,) = a.orders()
    a.ship(ao["orderId"])
    a.faults.set("tracking", error_rate=1.0, error_status=502)
    tracker = poller(store41, forwarder)
    assert tracker.poll_once() == 0
    assert supplier_orders(store41)[sid]["state"] == "sent"
    a.faults.clear()
    assert tracker.poll_once() == 1 and order_status(store41, order_id) == 3


def test_tracking_reaches_the_marketplace_the_order_came_from(store41, cfg_factory):
    with TrendyolSandbox() as trendyol, SupplierApiSandbox() as supplier:
        demo_store.install(store41, trendyol.base_url)
        account = channels.get(store41, "trendyol")
        package = trendyol.create_order([{"barcode": "product 11", "quantity": 1, "price": 120.0}])
        order_id = _import(store41, account.channel_id, "trendyol", package)
        sid = add_supplier(store41, "alfa", rest_forward(supplier))
        link(store41, sid, IPHONE, "ALFA-IPH")

        forwarder = Forwarder(store41)
        handler = DropshipHandler(forwarder, poller(store41, forwarder))
        # What the dropship worker does with the order's event, then with a "poll tracking now".
        handler.handle(Event("order.created", "order", str(order_id), {"order_id": order_id}))
        (so,) = supplier.orders()
        supplier.ship(so["orderId"], "Yurtiçi Kargo", "YK555666777")
        handler.handle(Event("cmd.dropship", "supplier", "suppliers", {"channel": "suppliers",
                                                                        "action": "poll_tracking"}))

        (row,) = store41.query("SELECT * FROM {p}kervan_outbox WHERE event_type = 'order.status_changed'"
                               " AND source = 'kervan:dropship'")
        event = outbox.to_event(row)
        assert event.payload["order_id"] == order_id and event.source == "kervan:dropship"
        # The Trendyol orders worker receives that event (its queue binds order.status_changed).
        importer = OrderImporter(store41, account, build_client(cfg_factory(store41), account))
        importer.handle(event)
        assert trendyol.package(package["shipmentPackageId"])["cargoTrackingNumber"] == "YK555666777"
        link_row = store41.one("SELECT tracking_number, shipped_at FROM {p}kervan_order_link WHERE order_id = %s",
                               (order_id,))
        assert link_row["tracking_number"] == "YK555666777" and link_row["shipped_at"] is not None


def test_a_tracking_csv_from_the_supplier_is_imported_once(store41, two):
    a, _ = two
    sid = add_supplier(store41, "alfa", rest_forward(a))
    link(store41, sid, IPHONE, "ALFA-IPH")
    first = market_order(store41, [("product 11", 1)], remote_id="PKG-1")
    second = market_order(store41, [("product 11", 2)], remote_id="PKG-2")
    forwarder = Forwarder(store41)
    forwarder.forward_order(first)
    forwarder.forward_order(second)
    supplier = forwarder.suppliers()[sid]
    remote_second = supplier_orders_by_order(store41)[second]["remote_id"]
    # A Turkish Excel export: windows-1254, semicolons, Turkish headers, an Excel apostrophe.
    text = ("Sipariş No;Kargo Firması;Takip No;Takip Linki\r\n"
            f"{first}-{sid};Sürat Kargo;'SR900800700;https://suratkargo.com.tr/KargoTakip/?kargotakipno=SR900800700\r\n"
            f"{remote_second};MNG Kargo;MN100200300;\r\n"
            "999999-1;Aras;AR1;\r\n"
            f"{first}-{sid};;;\r\n")
    result = import_tracking_csv(store41, supplier, text.encode("cp1254"))
    assert (result.applied, result.already, result.unknown) == (2, 0, ["999999-1"])
    assert result.problems == ["row 5: no reference or no tracking number"]
    rows = supplier_orders_by_order(store41)
    assert (rows[first]["carrier"], rows[first]["tracking_number"]) == ("Sürat Kargo", "SR900800700")
    assert rows[second]["tracking_number"] == "MN100200300"
    assert order_status(store41, first) == 3 and order_status(store41, second) == 3
    assert [e["order_id"] for e in status_events(store41)] == [first, second]
    again = import_tracking_csv(store41, supplier, text.encode("cp1254"))
    assert (again.applied, again.already) == (0, 2) and len(status_events(store41)) == 2

    bad = import_tracking_csv(store41, supplier, "order;what\n1;2\n")
    assert bad.applied == 0 and bad.problems and "tracking_number" in bad.problems[0]


def supplier_orders_by_order(db) -> dict[int, dict]:
    return {int(r["order_id"]): r for r in db.query("SELECT * FROM {p}kervan_supplier_order")}


def test_the_tracking_file_command(store41, two, tmp_path, capsys):
    a, _ = two
    sid = add_supplier(store41, "alfa", rest_forward(a))
    link(store41, sid, IPHONE, "ALFA-IPH")
    order_id = market_order(store41, [("product 11", 1)])
    Forwarder(store41).forward_order(order_id)
    ini = tmp_path / "kervan.ini"
    ini.write_text(f"[database]\nurl = {store41.url}\nprefix = {store41.prefix}\n")
    csv_file = tmp_path / "takip.csv"
    csv_file.write_text(f"reference,carrier,tracking number\n{order_id}-{sid},PTT Kargo,PT123456789\n")
    from workers.suppliers.tracking import main

    assert main(["alfa", str(csv_file), "--config", str(ini)]) == 0
    assert "1 shipped" in capsys.readouterr().out
    assert supplier_orders(store41)[sid]["tracking_number"] == "PT123456789"
