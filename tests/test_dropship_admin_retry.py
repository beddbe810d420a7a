"""The admin's "Send again" (opencart_extension/admin/controller/marketplace/supplier.php, retry)
reaches the dropship worker: the outbox row exactly as the PHP Outbox::dropshipRetry writes it
(tests/php/SupplierOrdersTest.php pins the same text) is read the way the relay reads it, becomes
an envelope the worker's queue binds, and the dropship handler sends the on-hold order again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from bridge import outbox
from bridge.envelope import Event
from bridge.topology import SUPPLIER_ROLES
from sandbox.supplier.api import SupplierApiSandbox
from tests.dropship import CANON, IPHONE, add_supplier, link, market_order, rest_forward, supplier_orders
from workers.suppliers.dropship_worker import DropshipHandler
from workers.suppliers.forward import Forwarder
from workers.suppliers.tracking import TrackingPoller

# What PHP's json_encode(..., JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) writes for
# ['channel' => 'suppliers', 'action' => 'retry', 'order_id' => $o, 'supplier_id' => $s].
PHP_PAYLOAD = '{{"channel":"suppliers","action":"retry","order_id":{order_id},"supplier_id":{supplier_id}}}'


@pytest.fixture
def supplier() -> Iterator[SupplierApiSandbox]:
    with SupplierApiSandbox(name="a") as sb:
        yield sb


def php_retry_row(db, order_id: int, supplier_id: int) -> None:
    """The INSERT of Outbox::write for cmd.dropship: aggregate supplier:<id>, source admin, no correlation id."""
    db.execute("INSERT INTO {p}kervan_outbox (event_id, event_type, aggregate_type, aggregate_id, payload,"
               " correlation_id, source) VALUES (%s, 'cmd.dropship', 'supplier', %s, %s, NULL, 'admin')",
               (str(uuid.uuid4()), str(supplier_id), PHP_PAYLOAD.format(order_id=order_id, supplier_id=supplier_id)))


def relayed(db) -> Event:
    """The one unpublished command, as the relay publishes it and the worker decodes it (marked
    published, so the next press is read on its own)."""
    (row,) = [r for r in outbox.unpublished(db, 100) if r["event_type"] == "cmd.dropship"]
    outbox.mark_published(db, [row["id"]])
    return Event.from_json(outbox.to_event(row).to_json())


def test_send_again_from_the_admin_sends_an_on_hold_order(store, supplier):
    supplier.configure(out_of_stock=["ALFA-CAN"])
    sid = add_supplier(store, "alfa", rest_forward(supplier))
    link(store, sid, IPHONE, "ALFA-IPH")
    link(store, sid, CANON, "ALFA-CAN")
    order_id = market_order(store, [("product 11", 1), ("Product 3", 2)])
    forwarder = Forwarder(store)
    handler = DropshipHandler(forwarder, TrackingPoller(store, forwarder.suppliers, forwarder.sender, interval=0))
    handler.handle(Event("order.created", "order", str(order_id), {"order_id": order_id}))
    held = supplier_orders(store)[sid]
    assert held["state"] == "on_hold" and "ALFA-CAN" in held["last_error"] and supplier.orders() == []

    supplier.configure(out_of_stock=[])  # the supplier restocked; the merchant presses "Send again"
    php_retry_row(store, order_id, sid)
    event = relayed(store)
    assert (event.type, event.aggregate, event.source) == ("cmd.dropship", f"supplier:{sid}", "admin")
    assert event.payload == {"channel": "suppliers", "action": "retry", "order_id": order_id, "supplier_id": sid}
    assert event.routing_key == "cmd.dropship.suppliers"
    assert "cmd.dropship.*" in SUPPLIER_ROLES["dropship"]  # the dropship queue's binding for that key

    handler.handle(event)
    sent = supplier_orders(store)[sid]
    assert sent["state"] == "sent" and sent["last_error"] is None and sent["remote_id"]
    assert sent["idempotency_key"] != held["idempotency_key"]  # the supplier made no order under the old key
    (remote,) = supplier.orders()
    codes = sorted(item["code"] for item in remote["body"]["items"])
    assert codes == ["ALFA-CAN", "ALFA-IPH"]

    # A second press (the page still showed the button) changes nothing: the forward is no longer held.
    php_retry_row(store, order_id, sid)
    handler.handle(relayed(store))
    assert len(supplier.orders()) == 1 and supplier_orders(store)[sid]["state"] == "sent"

