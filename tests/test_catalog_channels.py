"""The catalog flow on Hepsiburada, N11 and Amazon: OpenCart's real demo data, each marketplace's
real client built from its ``kervan_channel`` account (``workers.clients``), and its sandbox over
HTTP. Trendyol's own cases are in test_catalog.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bridge import channels
from bridge.envelope import Event
from bridge.heartbeat import wait_until
from kervan import demo_store
from sandbox.amazon import AmazonSandbox
from sandbox.hepsiburada import HepsiburadaSandbox
from sandbox.n11 import N11Sandbox
from workers import batches
from workers.catalog import AmazonCatalog, Catalog, HepsiburadaCatalog, N11Catalog, handler_for
from workers.channels.errors import BatchNotFound
from workers.clients import build_client

PRODUCTS = (28, 30, 40, 43, 47)  # HTC Touch HD, Canon EOS 5D, iPhone, MacBook, HP LP3065


@dataclass
class Setup:
    code: str
    sandbox: Any
    catalog: Catalog

    def writes(self) -> int:
        """Requests that could change something on the marketplace."""
        return sum(1 for r in self.sandbox.request_log()["requests"] if r["method"] in ("POST", "PUT", "PATCH", "DELETE"))

    def remote(self, key: str) -> dict[str, Any] | None:
        found = self.catalog.client.find_listings([key])
        return found[0] if found else None

    def price(self, key: str) -> float | None:
        row = self.remote(key)
        if row is None:
            return None
        if self.code == "amazon":
            offer = (row.get("attributes") or {}).get("purchasable_offer") or [{}]
            return float(offer[0]["our_price"][0]["schedule"][0]["value_with_tax"])
        return float(row.get("price") if self.code == "hepsiburada" else row.get("salePrice"))

    def quantity(self, key: str) -> int | None:
        row = self.remote(key)
        if row is None:
            return None
        if self.code == "amazon":
            return int((row.get("attributes") or {}).get("fulfillment_availability", [{}])[0].get("quantity"))
        return int(row.get("availableStock") if self.code == "hepsiburada" else row.get("quantity"))


def _start(code: str):
    if code == "hepsiburada":
        sb = HepsiburadaSandbox(processing_delay=0.05, seed=3).start()
        return sb, sb.base_url, demo_store.install_hepsiburada
    if code == "n11":
        sb = N11Sandbox(task_delay=0.05, seed=3).start()
        return sb, sb.base_url, demo_store.install_n11
    sb = AmazonSandbox(feed_delay=0.05, seed=3).start()
    return sb, sb.base_url, demo_store.install_amazon


@pytest.fixture(params=["hepsiburada", "n11", "amazon"])
def setup(request, store41, cfg_factory) -> Iterator[Setup]:
    sb, url, install = _start(request.param)
    try:
        install(store41, url)
        account = channels.get(store41, request.param)
        client = build_client(cfg_factory(store41), account)
        catalog = handler_for(store41, account, client)
        catalog._mapping_ttl = 0
        yield Setup(request.param, sb, catalog)
        client.close()
    finally:
        sb.stop()


def saved(pid: int) -> Event:
    return Event("product.saved", "product", str(pid), {"product_id": pid})


def settle(db, cat: Catalog, timeout: float = 20) -> None:
    def done() -> bool:
        batches.poll_once(db, cat.account.channel_id, cat.client.batch_result, cat.on_created, BatchNotFound)
        return db.one("SELECT COUNT(*) AS n FROM {p}kervan_batch WHERE status IN ('submitted','in_progress')")[
            "n"] == 0

    db.execute("UPDATE {p}kervan_batch SET next_check_at = CURRENT_TIMESTAMP(6)")
    assert wait_until(done, timeout, interval=0.1)


def listing(db, pid: int) -> dict:
    return db.one("SELECT * FROM {p}kervan_listing WHERE product_id = %s", (pid,))


def test_handler_per_marketplace(setup):
    expected = {"hepsiburada": HepsiburadaCatalog, "n11": N11Catalog, "amazon": AmazonCatalog}[setup.code]
    assert type(setup.catalog) is expected


def test_demo_products_are_listed_and_the_outcome_written_back(setup, store41):
    cat = setup.catalog
    for pid in PRODUCTS:
        cat.handle(saved(pid))
    settle(store41, cat)
    for pid in PRODUCTS:
        row = listing(store41, pid)
        assert row["status"] == "synced", (pid, row["last_error"])
        assert setup.remote(row["remote_sku"]) is not None, f"{setup.code} does not hold product {pid}"
        product = cat.reader.get(pid)
        assert setup.quantity(row["remote_sku"]) == product.quantity


def test_price_change_sends_only_price_and_reaches_the_marketplace(setup, store41):
    cat = setup.catalog
    cat.handle(saved(40))
    settle(store41, cat)
    key = listing(store41, 40)["remote_sku"]
    before = setup.price(key)
    items_before = store41.one("SELECT COUNT(*) AS n FROM {p}kervan_batch_item")["n"]

    store41.execute("UPDATE {p}product SET price = price + 10 WHERE product_id = 40")
    cat.handle(saved(40))
    settle(store41, cat)

    assert listing(store41, 40)["status"] == "synced"
    after = setup.price(key)
    assert after is not None and after > before
    if setup.code != "amazon":  # Amazon answers at once: no batch is recorded
        parts = [r["part"] for r in store41.query(
            "SELECT part FROM {p}kervan_batch_item ORDER BY batch_item_id")][items_before:]
        assert parts == [{"hepsiburada": "price", "n11": "price_stock"}[setup.code]]


def test_an_unchanged_product_sends_nothing(setup, store41):
    cat = setup.catalog
    cat.handle(saved(43))
    settle(store41, cat)
    n = setup.writes()
    assert n > 0
    body = listing(store41, 43)["confirmed_body"]
    cat.handle(saved(43))
    assert setup.writes() == n
    assert listing(store41, 43)["confirmed_body"] == body


def test_unmapped_category_fails_with_a_sentence(setup, store41):
    store41.execute("DELETE FROM {p}kervan_mapping WHERE channel_id = %s AND kind = 'category'",
                    (setup.catalog.account.channel_id,))
    setup.catalog.handle(saved(40))
    row = listing(store41, 40)
    assert row["status"] == "failed"
    assert "categor" in row["last_error"].lower() or "product type" in row["last_error"].lower()


def test_deleted_product_is_taken_down(setup, store41):
    cat = setup.catalog
    cat.handle(saved(47))
    settle(store41, cat)
    key = listing(store41, 47)["remote_sku"]
    cat.handle(Event("product.deleted", "product", "47", {"product_id": 47}))
    settle(store41, cat)
    assert listing(store41, 47)["status"] == "deleted"
    if setup.code == "hepsiburada":  # no delete on HB: the listing stays with no stock
        assert setup.quantity(key) == 0
    else:
        assert setup.remote(key) is None


def test_a_listing_the_marketplace_already_holds_is_adopted_not_created_twice(setup, store41):
    cat = setup.catalog
    cat.handle(saved(30))
    settle(store41, cat)
    # The worker lost what it knew (crash between sending and recording): it asks, then updates.
    store41.execute("UPDATE {p}kervan_listing SET confirmed_body = NULL, content_hash = NULL, status = 'reconcile'"
                    " WHERE product_id = 30")
    cat.handle(saved(30))
    settle(store41, cat)
    row = listing(store41, 30)
    assert row["status"] == "synced", row["last_error"]
    creates = store41.one("SELECT COUNT(*) AS n FROM {p}kervan_batch_item WHERE product_id = 30 AND part = 'create'")
    assert creates["n"] == (0 if setup.code == "amazon" else 1)
    assert setup.remote(row["remote_sku"]) is not None


def test_an_upload_polled_by_another_process_is_confirmed(store41, cfg_factory):
    """Hepsiburada lists only failing upload rows: a poller that did not send the upload (another
    process, or this one after a restart) must still count the unlisted rows as accepted."""
    sb, url, install = _start("hepsiburada")
    try:
        install(store41, url)
        account = channels.get(store41, "hepsiburada")
        sender = handler_for(store41, account, build_client(cfg_factory(store41), account))
        sender.handle(saved(40))
        settle(store41, sender)
        store41.execute("UPDATE {p}product SET quantity = quantity + 3 WHERE product_id = 40")
        sender.handle(saved(40))
        assert listing(store41, 40)["status"] == "submitted"
        poller = handler_for(store41, account, build_client(cfg_factory(store41), account))
        settle(store41, poller)
        row = listing(store41, 40)
        assert row["status"] == "synced", row["last_error"]
        assert Setup("hepsiburada", sb, poller).quantity(row["remote_sku"]) == poller.reader.get(40).quantity
    finally:
        sb.stop()
