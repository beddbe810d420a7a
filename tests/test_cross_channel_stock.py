"""Stock sold on one marketplace reaches the others: a Trendyol order written into OpenCart emits
stock.changed, and the Hepsiburada catalog handler sends the lower stock to the Hepsiburada sandbox;
an order placed in the storefront (its order.status_changed event) does the same."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bridge import channels, outbox
from bridge.envelope import Event
from bridge.order_writer import OrderWriter
from kervan import demo_store
from sandbox.hepsiburada import HepsiburadaSandbox
from tests.test_catalog_channels import listing, saved, settle
from workers.catalog import handler_for
from workers.clients import build_client
from workers.orders import model as m


def _order(qty: int) -> m.MarketOrder:
    a = m.Address("Ayşe", "Yılmaz", "Atatürk Cd. 1", city="Çankaya", zone="Ankara", postcode="06100")
    return m.MarketOrder(
        remote_id="TY-PKG-77", order_number="TY-77", state=m.CREATED, remote_status="Created",
        created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC), currency="USD", customer_firstname="Ayşe",
        customer_lastname="Yılmaz", email="a@example.com", telephone="0555", shipping_address=a, payment_address=a,
        lines=(m.OrderLine("1", "product 11", "iPhone", qty, Decimal("120"), Decimal(20)),),
    )


def test_a_trendyol_sale_lowers_the_stock_on_hepsiburada(store41, cfg_factory):
    sb = HepsiburadaSandbox(processing_delay=0.05).start()
    try:
        demo_store.install_hepsiburada(store41, sb.base_url)
        hb = channels.get(store41, "hepsiburada")
        catalog = handler_for(store41, hb, build_client(cfg_factory(store41), hb))
        catalog.handle(saved(40))
        settle(store41, catalog)
        sku = listing(store41, 40)["remote_sku"]
        held = lambda: catalog.client.find_listings([sku])[0]["availableStock"]  # noqa: E731
        start = held()

        ty = channels.upsert(store41, "trendyol", name="T", base_url="http://127.0.0.1:1", seller_id="1",
                             credentials={})
        OrderWriter(store41, ty.channel_id, "trendyol").apply(_order(3))
        rows = store41.query("SELECT * FROM {p}kervan_outbox WHERE event_type = 'stock.changed'")
        assert [r["aggregate_id"] for r in rows] == ["40"]
        catalog.handle(outbox.to_event(rows[0]))
        settle(store41, catalog)
        assert held() == start - 3

        # The storefront sells 2 more: OpenCart lowers the stock itself and the extension emits
        # order.status_changed for the order; the catalog resends that order's products.
        store41.execute("UPDATE {p}product SET quantity = quantity - 2 WHERE product_id = 40")
        order_id = store41.one("SELECT order_id FROM {p}order_product WHERE product_id = 40 ORDER BY order_id DESC"
                               " LIMIT 1")["order_id"]
        catalog.handle(Event("order.status_changed", "order", str(order_id),
                             {"order_id": order_id, "old_status_id": 0, "new_status_id": 1}, source="storefront"))
        settle(store41, catalog)
        assert held() == start - 5
        assert listing(store41, 40)["status"] == "synced"
    finally:
        sb.stop()


def test_a_sale_on_hepsiburada_is_corrected_there_when_opencart_does_not_subtract(store41, cfg_factory):
    """Product 47 has subtract = 0 in OpenCart: a sale does not lower OpenCart's stock, but
    Hepsiburada lowered its own. Kervan sends OpenCart's quantity back to Hepsiburada."""
    sb = HepsiburadaSandbox(processing_delay=0.05).start()
    try:
        demo_store.install_hepsiburada(store41, sb.base_url)
        hb = channels.get(store41, "hepsiburada")
        catalog = handler_for(store41, hb, build_client(cfg_factory(store41), hb))
        catalog.handle(saved(47))
        settle(store41, catalog)
        sku = listing(store41, 47)["remote_sku"]
        held = lambda: catalog.client.find_listings([sku])[0]["availableStock"]  # noqa: E731
        opencart = int(store41.one("SELECT quantity FROM {p}product WHERE product_id = 47")["quantity"])
        assert held() == opencart

        sb.add_order([{"merchantSku": sku, "quantity": 2, "price": 100.0}])  # HB lowers its own stock
        assert held() == opencart - 2
        a = m.Address("Ayşe", "Yılmaz", "Atatürk Cd. 1", city="Çankaya", zone="Ankara")
        OrderWriter(store41, hb.channel_id, "hepsiburada").apply(m.MarketOrder(
            remote_id="HB-1", order_number="HB-1", state=m.CREATED, remote_status="Open",
            created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC), currency="USD", customer_firstname="Ayşe",
            customer_lastname="Yılmaz", email="", telephone="", shipping_address=a, payment_address=a,
            lines=(m.OrderLine("1", sku, "HP LP3065", 2, Decimal("100"), Decimal(20)),)))
        assert int(store41.one("SELECT quantity FROM {p}product WHERE product_id = 47")["quantity"]) == opencart
        (row,) = store41.query("SELECT * FROM {p}kervan_outbox WHERE event_type = 'stock.changed'")
        catalog.handle(outbox.to_event(row))
        settle(store41, catalog)
        assert held() == opencart
    finally:
        sb.stop()
