"""Coalescing price/stock changes: a burst becomes as few requests as the marketplace's batch size
allows, the latest value of a listing wins, and each change is done only when its request was sent
and recorded."""

from __future__ import annotations

import math
import threading
from concurrent.futures import wait

import pytest

from bridge import channels
from bridge.envelope import Event
from kervan import demo_store
from sandbox.trendyol import TrendyolSandbox
from tests.test_catalog import listing, saved, settle
from workers.catalog import TrendyolCatalog
from workers.catalog.trendyol import SameRequestTooSoon
from workers.channels.errors import TransientError
from workers.channels.trendyol import TrendyolClient
from workers.coalescer import Coalescer, all_of


def test_a_burst_of_5000_changes_is_ceil_5000_over_the_batch_size_requests():
    sent: list[list] = []
    lock = threading.Lock()

    def send(items):
        with lock:
            sent.append(items)
        return {}

    co = Coalescer(send, max_items=1000, window=0.5)
    futures = [co.submit(f"BC-{i}", {"quantity": i}) for i in range(5000)]
    wait(futures, timeout=30)
    co.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert len(sent) <= math.ceil(5000 / 1000) * 1.05
    assert sorted(k for batch in sent for k, _ in batch) == sorted(f"BC-{i}" for i in range(5000))
    assert max(len(b) for b in sent) == 1000


def test_the_latest_value_of_a_key_wins_and_all_its_waiters_finish():
    sent = []
    co = Coalescer(lambda items: sent.append(items) or {}, max_items=10, window=0.3)
    a = co.submit("BC-1", {"quantity": 5})
    b = co.submit("BC-1", {"quantity": 4})
    c = co.submit("BC-2", {"quantity": 9})
    all_of([a, b, c]).result(5)
    co.close()
    assert sent == [[("BC-1", {"quantity": 4}), ("BC-2", {"quantity": 9})]]


def test_failures_reach_only_their_items_or_the_whole_batch():
    co = Coalescer(lambda items: {"BC-2": ValueError("refused")}, max_items=10, window=0.1)
    ok, bad = co.submit("BC-1", 1), co.submit("BC-2", 2)
    assert ok.result(5) is None
    with pytest.raises(ValueError):
        bad.result(5)
    boom = Coalescer(lambda items: (_ for _ in ()).throw(ConnectionError("down")), max_items=10, window=0.1)
    with pytest.raises(ConnectionError):
        boom.submit("BC-1", 1).result(5)
    co.close()
    boom.close()


def _catalog(db, sb: TrendyolSandbox, window: float) -> TrendyolCatalog:
    demo_store.install(db, sb.base_url)
    account = channels.get(db, "trendyol")
    client = TrendyolClient(sb.base_url, account.seller_id, demo_store.API_KEY, demo_store.API_SECRET, retry_budget=5)
    return TrendyolCatalog(db, account, client, mapping_ttl=0, coalesce_window=window)


def test_stock_changes_of_many_products_reach_trendyol_in_one_request(store41):
    sb = TrendyolSandbox(batch_delay=0.05).start()
    try:
        cat = _catalog(store41, sb, window=0.5)
        ids = [r["product_id"] for r in store41.query("SELECT product_id FROM {p}product WHERE status = 1"
                                                      " ORDER BY product_id")]
        created = [cat.handle(saved(pid)) for pid in ids]  # creates gather in the window too
        all_of([f for f in created if f is not None]).result(30)
        settle(store41, cat)
        before = len([w for w in sb.request_log()["writes"] if w["endpoint"] == "price_inventory"])

        store41.execute("UPDATE {p}product SET quantity = quantity + 7 WHERE status = 1")
        pending = [cat.handle(Event("stock.changed", "product", str(pid), {"product_id": pid})) for pid in ids]
        assert all(p is not None for p in pending)
        all_of(pending).result(30)  # acked only now: the request is sent and its batch recorded
        cat.close()
        writes = [w for w in sb.request_log()["writes"] if w["endpoint"] == "price_inventory"]
        assert len(writes) - before == 1
        settle(store41, cat)
        for pid in ids:
            row = listing(store41, pid)
            assert row["status"] == "synced", (pid, row["last_error"])
        held = {p["barcode"]: p["quantity"] for p in sb.state()["products"].values()} if isinstance(
            sb.state()["products"], dict) else {p["barcode"]: p["quantity"] for p in sb.state()["products"]}
        for pid in ids:
            qty = store41.one("SELECT quantity FROM {p}product WHERE product_id = %s", (pid,))["quantity"]
            assert held[listing(store41, pid)["remote_sku"]] == min(qty, 20_000)
    finally:
        sb.stop()


def test_a_second_change_while_the_first_waits_in_the_window_is_diffed_against_it(store41):
    """A listing's stock changes twice within one coalescing window: the second sync waits (a
    transient error, retried) until the first row is sent, and the marketplace ends with the last value."""
    sb = TrendyolSandbox(batch_delay=0.05).start()
    try:
        cat = _catalog(store41, sb, window=1.5)
        cat.handle(saved(40)).result(30)  # the create waits in its own window, then is recorded
        settle(store41, cat)
        changed = Event("stock.changed", "product", "40", {"product_id": 40})
        store41.execute("UPDATE {p}product SET quantity = 11 WHERE product_id = 40")
        first = cat.handle(changed)
        assert first is not None and not first.done()  # waiting in the window
        store41.execute("UPDATE {p}product SET quantity = 12 WHERE product_id = 40")
        with pytest.raises(TransientError, match="still waiting"):
            cat.handle(changed)  # the runtime retries it once the first is sent
        wait([first], 30)
        assert first.exception() is None
        second = cat.handle(changed)
        if second is not None:
            second.result(30)
        settle(store41, cat)
        cat.close()
        assert sb.product(listing(store41, 40)["remote_sku"])["quantity"] == 12
        assert listing(store41, 40)["status"] == "synced"
    finally:
        sb.stop()


def test_a_coalesced_resend_trendyol_calls_a_repeat_waits_for_the_15_minutes_and_is_no_error(store41):
    """After a Trendyol sale the stock is resent; when that body is the one Trendyol accepted minutes
    ago it refuses the whole request as a repeat. That is no error for the merchant: the listing
    waits (a transient error, retried) and the stock lands once the 15 minutes are over. It used to
    be written on the listing as a failure, and nothing sent the stock again (a chaos run)."""
    sb = TrendyolSandbox(batch_delay=0.05).start()
    try:
        cat = _catalog(store41, sb, window=0.2)
        cat.handle(saved(40)).result(30)
        settle(store41, cat)
        store41.execute("UPDATE {p}product SET quantity = 11 WHERE product_id = 40")
        cat.handle(Event("stock.changed", "product", "40", {"product_id": 40})).result(30)
        settle(store41, cat)
        sku = listing(store41, 40)["remote_sku"]
        assert sb.product(sku)["quantity"] == 11

        sb.create_order([{"barcode": sku, "quantity": 1}])  # Trendyol holds 10 now
        sold = Event("stock.changed", "product", "40", {"product_id": 40, "channel": "trendyol"})
        with pytest.raises(SameRequestTooSoon):
            cat.handle(sold).result(30)
        row = listing(store41, 40)
        assert row["status"] != "failed" and row["last_error"] is None
        sb.advance_clock(16 * 60)
        cat.handle(sold).result(30)  # the runtime's retry
        settle(store41, cat)
        cat.close()
        assert sb.product(sku)["quantity"] == 11
        assert listing(store41, 40)["status"] == "synced"
    finally:
        sb.stop()


def test_a_change_back_while_the_first_waits_in_the_window_is_sent_again(store41):
    """A → B → A: the stock changes while another value still waits in the coalescing window and
    then goes back to what Trendyol confirmed. The second sync is retried until B is sent, and then
    sends A again — it used to drop B's claim while waiting, and A then looked synced with B on its way."""
    sb = TrendyolSandbox(batch_delay=0.05).start()
    try:
        cat = _catalog(store41, sb, window=1.5)
        cat.handle(saved(40)).result(30)  # the create waits in its own window, then is recorded
        settle(store41, cat)
        sku = listing(store41, 40)["remote_sku"]
        confirmed = sb.product(sku)["quantity"]
        changed = Event("stock.changed", "product", "40", {"product_id": 40})
        store41.execute("UPDATE {p}product SET quantity = 11 WHERE product_id = 40")
        first = cat.handle(changed)
        assert first is not None and not first.done()
        store41.execute("UPDATE {p}product SET quantity = %s WHERE product_id = 40", (confirmed,))
        with pytest.raises(TransientError, match="still waiting"):
            cat.handle(changed)
        first.result(30)
        assert listing(store41, 40)["pending_hash"] is not None  # B's claim is still held
        back = cat.handle(changed)  # the runtime's retry
        assert back is not None
        back.result(30)
        settle(store41, cat)
        cat.close()
        assert sb.product(sku)["quantity"] == confirmed
        assert listing(store41, 40)["status"] == "synced"
    finally:
        sb.stop()
