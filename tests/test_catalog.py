"""Catalog sync to Trendyol: OpenCart's real demo data (4.1.0.4 and 4.0.2.3), the real Trendyol
client, and the sandbox over HTTP. Handler-level tests; the process-level ones are in
test_catalog_fleet.py."""

from __future__ import annotations

import json

import pytest

from bridge import channels
from bridge.envelope import Event
from bridge.heartbeat import wait_until
from kervan import demo_store
from sandbox.trendyol import TrendyolSandbox
from workers import batches
from workers.binder import digest
from workers.catalog import CreateInFlight, TrendyolCatalog
from workers.channels.errors import BatchNotFound
from workers.channels.trendyol import TrendyolClient
from workers.mappers import trendyol as mapper


@pytest.fixture
def sandbox():
    sb = TrendyolSandbox(batch_delay=0.05).start()
    yield sb
    sb.stop()


def make_catalog(db, sandbox) -> TrendyolCatalog:
    demo_store.install(db, sandbox.base_url)
    account = channels.get(db, "trendyol")
    client = TrendyolClient(sandbox.base_url, account.seller_id, demo_store.API_KEY, demo_store.API_SECRET,
                            retry_budget=5)
    return TrendyolCatalog(db, account, client, mapping_ttl=0)


def saved(pid: int) -> Event:
    return Event("product.saved", "product", str(pid), {"product_id": pid})


def settle(db, cat: TrendyolCatalog, timeout: float = 15) -> None:
    """Poll batches until none is pending (what the worker's poller thread does)."""

    def done() -> bool:
        batches.poll_once(db, cat.account.channel_id, cat.client.batch_result, cat.on_created, BatchNotFound)
        return db.one("SELECT COUNT(*) AS n FROM {p}kervan_batch WHERE status IN ('submitted','in_progress')")[
            "n"] == 0

    db.execute("UPDATE {p}kervan_batch SET next_check_at = CURRENT_TIMESTAMP(6)")
    assert wait_until(done, timeout, interval=0.1)


def listing(db, pid: int) -> dict:
    return db.one("SELECT * FROM {p}kervan_listing WHERE product_id = %s", (pid,))


def writes(sandbox, endpoint: str) -> list[dict]:
    return [w for w in sandbox.request_log()["writes"] if w["endpoint"] == endpoint]


def test_product_is_created_then_only_differences_are_sent(store, sandbox):
    cat = make_catalog(store, sandbox)
    cat.handle(saved(42))
    row = listing(store, 42)
    assert row["status"] == "submitted" and row["batch_id"]
    settle(store, cat)

    row = listing(store, 42)
    remote = sandbox.product("Product15")
    assert row["status"] == "synced" and row["last_error"] is None
    assert row["remote_sku"] == "Product15" and row["remote_id"] == str(remote["contentId"])
    assert remote["title"] == 'Apple Cinema 30"'
    assert remote["brandId"] == 1791 and remote["categoryId"] == 1002  # Apple; Monitors → Monitör
    assert remote["quantity"] == 990
    # 100.00 net + 20 % VAT + 2.00 eco tax in the demo tax class; 4.0.2.3's demo has a special at 90.
    expected_sale = 90 * 1.2 + 2 if store.opencart_version == "4.0.2.3" else 122.0
    assert remote["salePrice"] == pytest.approx(expected_sale) and remote["listPrice"] == pytest.approx(122.0)
    assert json.loads(row["confirmed_body"])["barcode"] == "Product15"
    item = store.one("SELECT * FROM {p}kervan_batch_item WHERE product_id = 42")
    assert item["status"] == "success" and item["part"] == "create"

    # Stock changes in OpenCart: only the price/stock endpoint is called, with only quantity.
    store.execute("UPDATE {p}product SET quantity = 5 WHERE product_id = 42")
    cat.handle(saved(42))
    settle(store, cat)
    assert sandbox.product("Product15")["quantity"] == 5
    stock_writes = writes(sandbox, "price_inventory")
    assert len(stock_writes) == 1 and len(writes(sandbox, "create")) == 1
    assert writes(sandbox, "update_content") == [] and listing(store, 42)["status"] == "synced"

    # The name changes: a content update keyed by contentId.
    store.execute("UPDATE {p}product_description SET name = %s WHERE product_id = 42", ("İpek Şal Ğ Monitör",))
    cat.handle(saved(42))
    settle(store, cat)
    assert sandbox.product("Product15")["title"] == "İpek Şal Ğ Monitör"
    assert len(writes(sandbox, "update_content")) == 1
    assert len(writes(sandbox, "price_inventory")) == 1  # unchanged price/stock not sent again
    row = listing(store, 42)
    assert row["status"] == "synced" and row["content_hash"] == digest(json.loads(row["confirmed_body"]))


def test_unchanged_product_sends_nothing(store41, sandbox):
    cat = make_catalog(store41, sandbox)
    cat.handle(saved(40))
    settle(store41, cat)
    before = sandbox.request_log()["writes"]
    cat.handle(saved(40))  # a duplicate delivery, or a save that changed nothing Trendyol sees
    cat.handle(saved(40))
    assert sandbox.request_log()["writes"] == before
    assert listing(store41, 40)["status"] == "synced"


def test_marketplace_validation_error_lands_on_the_listing(store, sandbox):
    cat = make_catalog(store, sandbox)
    # The merchant mapped Monitors to a category that is not a leaf on Trendyol.
    store.execute("UPDATE {p}kervan_mapping SET remote_id = '1000' WHERE kind = 'category' AND local_id = '28'")
    cat.handle(saved(42))
    settle(store, cat)
    row = listing(store, 42)
    batch = sandbox.batches()[-1]
    reasons = batch["items"][0]["failureReasons"]
    assert batch["items"][0]["status"] == "FAILED" and reasons
    assert row["status"] == "failed" and row["last_error"] == "; ".join(reasons)
    assert sandbox.product("Product15") is None
    item = store.one("SELECT * FROM {p}kervan_batch_item WHERE product_id = 42")
    assert item["status"] == "failed" and item["message"] == row["last_error"]

    # Fixed by the merchant: the next save lists it.
    store.execute("UPDATE {p}kervan_mapping SET remote_id = '1002' WHERE kind = 'category' AND local_id = '28'")
    cat.handle(saved(42))
    settle(store, cat)
    assert listing(store, 42)["status"] == "synced" and sandbox.product("Product15") is not None


def test_product_without_image_uses_the_placeholder_or_is_explained(store41, sandbox):
    cat = make_catalog(store41, sandbox)
    cat.handle(saved(35))  # the demo's "Product 8" has no image at all
    settle(store41, cat)
    assert sandbox.product("Product8")["images"] == [{"url": "https://demo.kervan.test/image/placeholder.png"}]

    store41.execute("UPDATE {p}kervan_channel SET settings = JSON_REMOVE(settings, '$.placeholder_image')")
    cat = TrendyolCatalog(store41, channels.get(store41, "trendyol"), cat.client, mapping_ttl=0)
    cat.handle(saved(35))
    row = listing(store41, 35)
    assert row["status"] == "failed" and "has no image; Trendyol requires at least one" in row["last_error"]


def test_unmappable_product_is_explained_and_not_sent(store41, sandbox):
    cat = make_catalog(store41, sandbox)
    store41.execute("DELETE FROM {p}kervan_mapping WHERE kind = 'category'")
    cat.handle(saved(42))
    row = listing(store41, 42)
    assert row["status"] == "failed"
    assert row["last_error"].startswith("No Trendyol category is mapped for the categories of product 42")
    assert "Components > Monitors" in row["last_error"]
    assert sandbox.request_log()["writes"] == []


def test_barcode_comes_from_the_versions_own_place(store, sandbox):
    if store.opencart_version == "4.1.0.4":
        store.execute("INSERT INTO {p}product_code (product_id, code, value) VALUES (30, 'EAN', '8690000000301')")
    else:
        store.execute("UPDATE {p}product SET ean = '8690000000301' WHERE product_id = 30")
    cat = make_catalog(store, sandbox)
    cat.handle(saved(30))
    settle(store, cat)
    assert listing(store, 30)["remote_sku"] == "8690000000301"
    assert sandbox.product("8690000000301")["stockCode"] == "Product 3"


def test_deleted_product_is_deleted_on_trendyol(store41, sandbox):
    cat = make_catalog(store41, sandbox)
    cat.handle(saved(33))
    settle(store41, cat)
    assert sandbox.product("Product6") is not None
    deleted = Event("product.deleted", "product", "33", {"product_id": 33})
    cat.handle(deleted)
    settle(store41, cat)
    # Trendyol deletes only archived products: first the archive, which asks for the delete.
    assert sandbox.product("Product6")["archived"] is True
    assert listing(store41, 33)["status"] == "archived"
    follow_up = store41.one("SELECT * FROM {p}kervan_outbox WHERE event_type = 'product.deleted'")
    assert follow_up["aggregate_id"] == "33"
    cat.handle(Event("product.deleted", "product", "33", {"product_id": 33}, id=follow_up["event_id"]))
    settle(store41, cat)
    assert sandbox.product("Product6") is None
    assert listing(store41, 33)["status"] == "deleted"
    assert [e["kind"] for e in sandbox.request_log()["effects"] if e["barcode"] == "Product6"] == [
        "create", "archive", "delete"]


def test_update_waits_for_a_create_still_in_flight(store41, sandbox):
    sandbox.configure(batch_delay=30)  # Trendyol has not processed the create yet
    cat = make_catalog(store41, sandbox)
    cat.handle(saved(34))
    store41.execute("UPDATE {p}product SET quantity = 3 WHERE product_id = 34")
    with pytest.raises(CreateInFlight):
        cat.handle(saved(34))  # retried later through the TTL tier, never a second create
    assert len(writes(sandbox, "create")) == 1


def test_lost_track_of_a_create_is_adopted_not_duplicated(store41, sandbox):
    cat = make_catalog(store41, sandbox)
    cat.handle(saved(36))
    settle(store41, cat)
    # Simulate a crash between sending and recording: Kervan forgot it, Trendyol did not.
    store41.execute("UPDATE {p}kervan_listing SET confirmed_body = NULL, content_hash = NULL, remote_id = NULL,"
                    " status = 'submitted', batch_id = NULL WHERE product_id = 36")
    store41.execute("UPDATE {p}product SET quantity = 1 WHERE product_id = 36")
    cat.handle(saved(36))
    settle(store41, cat)
    creates = [e for e in sandbox.request_log()["effects"] if e["kind"] == "create" and e["barcode"] == "Product9"]
    assert len(creates) == 1
    assert sandbox.product("Product9")["quantity"] == 1
    row = listing(store41, 36)
    assert row["status"] == "synced" and row["remote_id"] == str(sandbox.product("Product9")["contentId"])


def test_mapper_refuses_vat_rates_trendyol_does_not_take(store41):
    from bridge.opencart import ProductReader

    product = ProductReader(store41).get(42)
    odd = product.__class__(**{**product.__dict__, "tax_rates": (product.tax_rates[0].__class__("KDV", 18, "P"),)})
    with pytest.raises(mapper.MappingError, match="VAT rate of 18%"):
        mapper.to_item(odd, mapper.TrendyolMapping(categories={28: mapper.CategoryMapping(1002)}, default_brand_id=1))


def test_refused_credentials_are_shown_on_the_listing(store41, sandbox):
    store41_channel = make_catalog(store41, sandbox)
    bad = TrendyolClient(sandbox.base_url, "1001", "sandbox-key", "wrong-secret", retry_budget=2)
    cat = TrendyolCatalog(store41, store41_channel.account, bad, mapping_ttl=0)
    cat.handle(saved(42))
    row = listing(store41, 42)
    assert row["status"] == "failed" and row["pending_hash"] is None
    assert row["last_error"].startswith("Trendyol: Yetkilendirme başarısız")
    assert "wrong-secret" not in row["last_error"]
    assert sandbox.request_log()["writes"] == []


def test_a_to_b_to_a_within_15_minutes_is_neither_lost_nor_a_false_success(store41, sandbox):
    from workers.catalog import SameRequestTooSoon

    cat = make_catalog(store41, sandbox)
    cat.handle(saved(42))
    settle(store41, cat)
    for qty in (5, 7):
        store41.execute("UPDATE {p}product SET quantity = %s WHERE product_id = 42", (qty,))
        cat.handle(saved(42))
        settle(store41, cat)
    store41.execute("UPDATE {p}product SET quantity = 5 WHERE product_id = 42")
    # {"barcode": …, "quantity": 5} again within 15 minutes: Trendyol refuses it and holds 7.
    with pytest.raises(SameRequestTooSoon):
        cat.handle(saved(42))
    assert sandbox.product("Product15")["quantity"] == 7
    row = listing(store41, 42)
    assert json.loads(row["confirmed_body"])["quantity"] == 7 and row["pending_hash"] is None
    sandbox.advance_clock(16 * 60)  # the retry ladder brings the event back later
    cat.handle(saved(42))
    settle(store41, cat)
    assert sandbox.product("Product15")["quantity"] == 5
    assert listing(store41, 42)["status"] == "synced"


def test_a_late_result_of_an_older_batch_does_not_undo_a_newer_one(store41, sandbox):
    cat = make_catalog(store41, sandbox)
    cat.handle(saved(42))
    settle(store41, cat)
    store41.execute("UPDATE {p}product SET quantity = 11 WHERE product_id = 42")
    cat.handle(saved(42))
    older = store41.one("SELECT * FROM {p}kervan_batch ORDER BY batch_id DESC LIMIT 1")
    # Its first check failed (say a 5xx): it is due again only later, after the next change.
    store41.execute("UPDATE {p}kervan_batch SET next_check_at = CURRENT_TIMESTAMP(6) + INTERVAL 1 HOUR"
                    " WHERE batch_id = %s", (older["batch_id"],))
    store41.execute("UPDATE {p}product SET quantity = 22 WHERE product_id = 42")
    cat.handle(saved(42))
    sandbox.flush()
    newer = store41.one("SELECT * FROM {p}kervan_batch ORDER BY batch_id DESC LIMIT 1")
    result = cat.client.batch_result(newer["remote_batch_id"])
    batches.apply_result(store41, newer, result)
    assert json.loads(listing(store41, 42)["confirmed_body"])["quantity"] == 22
    # Now the older batch's success arrives.
    batches.apply_result(store41, older, cat.client.batch_result(older["remote_batch_id"]))
    row = listing(store41, 42)
    assert json.loads(row["confirmed_body"])["quantity"] == 22 and row["status"] == "synced"
    assert sandbox.product("Product15")["quantity"] == 22


def test_a_value_that_returns_while_another_is_in_flight_is_sent_again(store41, sandbox):
    """A → B → A with B's batch still open: A is diffed against what Trendyol will hold (B), not
    against what it last confirmed (A), so A goes out again and wins (the chaos run's drift)."""
    cat = make_catalog(store41, sandbox)
    cat.handle(saved(42))
    settle(store41, cat)
    original = cat.reader.get(42).quantity
    store41.execute("UPDATE {p}product SET quantity = %s WHERE product_id = 42", (original + 9,))
    cat.handle(saved(42))  # B: its batch is open, not yet polled
    store41.execute("UPDATE {p}product SET quantity = %s WHERE product_id = 42", (original,))
    cat.handle(saved(42))  # back to A while B is on its way
    sent = [json.loads(r["payload"]).get("quantity") for r in store41.query(
        "SELECT payload FROM {p}kervan_batch_item WHERE product_id = 42 AND part = 'price_stock' ORDER BY batch_item_id")]
    assert sent == [original + 9, original]
    settle(store41, cat)
    assert sandbox.product("Product15")["quantity"] == original
    row = listing(store41, 42)
    assert json.loads(row["confirmed_body"])["quantity"] == original and row["status"] == "synced"


def test_a_repeat_of_what_is_already_in_flight_sends_nothing(store41, sandbox):
    cat = make_catalog(store41, sandbox)
    cat.handle(saved(42))
    settle(store41, cat)
    store41.execute("UPDATE {p}product SET quantity = quantity + 3 WHERE product_id = 42")
    cat.handle(saved(42))
    n = store41.one("SELECT COUNT(*) AS n FROM {p}kervan_batch")["n"]
    cat.handle(Event("product.saved", "product", "42", {"product_id": 42}))  # another event, same truth
    assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_batch")["n"] == n
    settle(store41, cat)
    assert listing(store41, 42)["status"] == "synced"


# What a Trendyol sale of product 40 brings the catalog (the order writer's stock.changed).
SOLD_40 = Event("stock.changed", "product", "40", {"product_id": 40, "channel": "trendyol"})


def listed(db, cat: TrendyolCatalog) -> tuple[str, int]:
    """Product 40 listed on Trendyol: its barcode, and the stock OpenCart asks Trendyol to hold."""
    cat.handle(saved(40))
    settle(db, cat)
    return listing(db, 40)["remote_sku"], min(
        int(db.one("SELECT quantity FROM {p}product WHERE product_id = 40")["quantity"]), 20_000)


def test_a_sale_on_trendyol_while_a_price_change_is_in_flight_still_resends_the_stock(store, sandbox):
    """A price change is on its way (claimed under the new body's hash) when a Trendyol sale lowers
    Trendyol's own stock. The stock must still be sent: the request in flight carries no stock, so
    its hash must not be taken for "already on its way" (the chaos run's stuck 'submitted' listing)."""
    cat = make_catalog(store, sandbox)
    sku, opencart = listed(store, cat)
    store.execute("UPDATE {p}product SET price = price + 5 WHERE product_id = 40")
    cat.handle(saved(40))  # the price change's batch is recorded, not yet polled
    assert listing(store, 40)["status"] == "submitted"

    sandbox.create_order([{"barcode": sku, "quantity": 2}])  # Trendyol lowers its own stock
    assert sandbox.product(sku)["quantity"] == opencart - 2
    cat.handle(SOLD_40)
    settle(store, cat)
    assert sandbox.product(sku)["quantity"] == opencart  # OpenCart did not subtract here: its stock stands
    row = listing(store, 40)
    assert row["status"] == "synced" and row["pending_hash"] is None


def test_a_sale_is_resent_even_when_another_worker_trusts_the_request_before_it(store, sandbox):
    """Two catalog workers. Trendyol applied a stock resend, then a second sale lowered its stock;
    the resend's batch is still open. Worker B takes the sale's stock.changed and forgets the stock;
    in that moment worker A syncs the product for another event, claims the same hash and, trusting
    the open resend, sends nothing. B must still send the stock (the mixed chaos run's 'synced'
    listing with Trendyol 3 lower: B found the hash claimed and in flight, and sent nothing)."""
    cat_a = make_catalog(store, sandbox)
    cat_b = TrendyolCatalog(store, cat_a.account, cat_a.client, mapping_ttl=0)
    sku, opencart = listed(store, cat_a)
    sandbox.create_order([{"barcode": sku, "quantity": 2}])
    cat_a.handle(SOLD_40)
    assert wait_until(lambda: sandbox.product(sku)["quantity"] == opencart, 10)  # landed, not yet polled
    sandbox.create_order([{"barcode": sku, "quantity": 3}])
    sandbox.advance_clock(16 * 60)

    forget = cat_b.binder.forget

    def forget_while_a_syncs(pid: int, fields: tuple[str, ...]) -> None:
        forget(pid, fields)
        cat_a.handle(saved(40))  # another event of the product on the other worker, right then

    cat_b.binder.forget = forget_while_a_syncs
    cat_b.handle(SOLD_40)
    settle(store, cat_a)
    assert sandbox.product(sku)["quantity"] == opencart
    row = listing(store, 40)
    assert row["status"] == "synced" and json.loads(row["confirmed_body"])["quantity"] == opencart


def test_a_sale_after_the_stock_resend_reached_trendyol_is_resent_too(store, sandbox):
    """A Trendyol sale; Kervan resends OpenCart's stock, and Trendyol applies it; then a second sale
    lowers Trendyol's stock again while that resend's batch is still open. The open batch carries
    the stock, but it landed before the second sale, so it must not count as what Trendyol will
    hold: the stock is sent again (the reduced chaos run's 'synced' listing with a lower stock)."""
    cat = make_catalog(store, sandbox)
    sku, opencart = listed(store, cat)

    sandbox.create_order([{"barcode": sku, "quantity": 2}])
    cat.handle(SOLD_40)  # the resend's batch is recorded and not yet polled
    assert wait_until(lambda: sandbox.product(sku)["quantity"] == opencart, 10)
    assert listing(store, 40)["status"] == "submitted"
    sandbox.create_order([{"barcode": sku, "quantity": 1}])  # after the resend landed
    sandbox.advance_clock(16 * 60)  # Trendyol refuses the very same stock request within 15 minutes
    cat.handle(SOLD_40)
    settle(store, cat)
    assert sandbox.product(sku)["quantity"] == opencart
    assert listing(store, 40)["status"] == "synced"
