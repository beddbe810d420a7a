"""An order the marketplace sends with data no shop can store (a negative price) is not written,
is shown to the merchant on its order link, and does not hold the poll back: the orders after it
are imported and the cursor moves on. A corrected version of it is imported as usual."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

from bridge import channels
from bridge.order_writer import FLAG_INVALID, OrderWriter
from kervan import demo_store
from sandbox.trendyol import TrendyolSandbox
from tests.test_order_writer import account, order
from workers.clients import build_client
from workers.orders.importer import OrderImporter


def _link(db, remote_id: str) -> dict:
    return db.one("SELECT order_id, flags FROM {p}kervan_order_link WHERE remote_order_id = %s", (remote_id,))


def test_a_refused_order_is_shown_and_the_poll_moves_on(store41, cfg_factory):
    sb = TrendyolSandbox().start()
    try:
        demo_store.install(store41, sb.base_url)
        ty = channels.get(store41, "trendyol")
        store41.execute("UPDATE {p}kervan_channel SET settings = %s WHERE channel_id = %s",
                        (json.dumps({**ty.settings, "stream_interval": 0}), ty.channel_id))
        ty = channels.get(store41, "trendyol")
        bad = sb.create_order([{"barcode": "REFUSED-1", "quantity": 1, "price": -5}])["shipmentPackageId"]
        good = sb.create_order([{"barcode": "FINE-1", "quantity": 1, "price": 10}])["shipmentPackageId"]
        importer = OrderImporter(store41, ty, build_client(cfg_factory(store41), ty))
        summary = importer.poll()
        assert summary.refused == [str(bad)] and summary.created == 1 and summary.failed == []
        assert importer.cursor() is not None  # moved on: the refused order does not hold it back
        refused = _link(store41, str(bad))
        assert refused["order_id"] == 0 and refused["flags"].startswith(FLAG_INVALID + ": ")
        assert "price -5" in refused["flags"]
        assert _link(store41, str(good))["order_id"] > 0
        again = importer.poll()  # the overlap reads it again: still refused, nothing else changes
        assert again.created == 0 and again.refused == [str(bad)]
        assert store41.one("SELECT COUNT(*) AS n FROM {p}order WHERE user_agent = 'Kervan trendyol'")["n"] == 1
    finally:
        sb.stop()


def test_a_corrected_order_is_imported_after_being_refused(store41):
    writer = OrderWriter(store41, account(store41), "trendyol", label="Trendyol")
    good = order("FIXED-1")
    broken = replace(good, lines=tuple(replace(line, unit_price=Decimal("-1")) for line in good.lines))
    writer.refuse(broken, "order FIXED-1: line 1 has price -1")
    assert _link(store41, "FIXED-1")["order_id"] == 0
    result = writer.apply(good)
    assert result.created and result.order_id > 0
    row = _link(store41, "FIXED-1")
    assert row["order_id"] == result.order_id and not (row["flags"] or "").startswith(FLAG_INVALID)
