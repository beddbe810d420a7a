"""New listings go out in batches: with a coalescing window, the creates of many products share
one request (Trendyol's v2 create, Hepsiburada's import, N11's product-create task), and each
item's outcome is still written on its own listing by the batch poller. OpenCart's real demo data
(generated copies of the demo iPhone), the real clients, the sandboxes over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from bench.generate import generate
from bridge import channels
from bridge.envelope import Event
from bridge.heartbeat import wait_until
from kervan import demo_store
from sandbox.hepsiburada import HepsiburadaSandbox
from sandbox.n11 import N11Sandbox
from sandbox.trendyol import TrendyolSandbox
from workers import batches
from workers.catalog import Catalog, handler_for
from workers.channels.errors import BatchNotFound, TransientError
from workers.clients import build_client
from workers.coalescer import all_of

MARKETPLACES = ("trendyol", "hepsiburada", "n11")
# A local category mapped to a category id no marketplace has: the mapper lets it through, the
# marketplace refuses the item (a validation error of that item alone).
BAD_LOCAL_CATEGORY = 17
BAD_REMOTE_CATEGORY = "987654321"


@dataclass
class Market:
    code: str
    sandbox: Any
    account: Any
    client: Any

    def catalog(self, db, window: float | None) -> Catalog:
        cat = handler_for(db, self.account, self.client, coalesce_window=window)
        cat._mapping_ttl = 0
        return cat

    def create_requests(self) -> int:
        """Create requests the marketplace accepted."""
        log = self.sandbox.request_log()
        if self.code == "trendyol":
            return sum(1 for w in log["writes"] if w["endpoint"] == "create")
        if self.code == "hepsiburada":
            return sum(1 for w in log["writes"] if w["kind"] == "import")
        return sum(1 for r in log["requests"] if r["endpoint"] == "product_create" and r["status"] == 200)

    def creates_per_key(self) -> dict[str, int]:
        """How many times the marketplace created each key (HB: items in accepted import files,
        counted by key through the imports it holds)."""
        counts: dict[str, int] = {}
        if self.code == "hepsiburada":
            for job in self.sandbox.imports():
                for item in job["items"]:
                    sku = str(item["attributes"]["merchantSku"])
                    counts[sku] = counts.get(sku, 0) + 1
            return counts
        field = "barcode" if self.code == "trendyol" else "key"
        for e in self.sandbox.request_log()["effects"]:
            if e["kind"] == "create":
                counts[str(e[field])] = counts.get(str(e[field]), 0) + 1
        return counts

    def fail_creates(self) -> None:
        endpoint = {"trendyol": "create", "hepsiburada": "import", "n11": "product_create"}[self.code]
        self.sandbox.set_faults(endpoint, error_rate=1.0, error_status=503)


def _start(code: str):
    if code == "trendyol":
        sb = TrendyolSandbox(batch_delay=0.05).start()
        return sb, demo_store.install
    if code == "hepsiburada":
        sb = HepsiburadaSandbox(processing_delay=0.05, seed=3).start()
        return sb, demo_store.install_hepsiburada
    sb = N11Sandbox(task_delay=0.05, seed=3).start()
    return sb, demo_store.install_n11


@contextmanager
def opened(code: str, db, cfg_factory, retry_budget: float | None = None) -> Iterator[Market]:
    """A sandbox of ``code`` with the demo store installed for it, and the real client."""
    sb, install = _start(code)
    try:
        install(db, sb.base_url)
        account = channels.get(db, code)
        client = build_client(cfg_factory(db), account)
        if retry_budget is not None:
            http = client.http
            for h in http.values() if isinstance(http, dict) else [http]:
                h.retry_budget = retry_budget
        try:
            yield Market(code, sb, account, client)
        finally:
            client.close()
    finally:
        sb.stop()


@pytest.fixture(params=MARKETPLACES)
def market(request, store41, cfg_factory) -> Iterator[Market]:
    # A failing request gives up after half a second instead of retrying for 20.
    with opened(request.param, store41, cfg_factory, retry_budget=0.5) as m:
        yield m


def saved(pid: int) -> Event:
    return Event("product.saved", "product", str(pid), {"product_id": pid})


def settle(db, cat: Catalog, timeout: float = 60) -> None:
    def done() -> bool:
        batches.poll_once(db, cat.account.channel_id, cat.client.batch_result, cat.on_created, BatchNotFound)
        return db.one("SELECT COUNT(*) AS n FROM {p}kervan_batch WHERE status IN ('submitted','in_progress')")[
            "n"] == 0

    db.execute("UPDATE {p}kervan_batch SET next_check_at = CURRENT_TIMESTAMP(6)")
    assert wait_until(done, timeout, interval=0.2)


def listing(db, pid: int) -> dict:
    return db.one("SELECT * FROM {p}kervan_listing WHERE product_id = %s", (pid,))


def refuse_category_of(db, market: Market, pid: int) -> None:
    db.execute("DELETE FROM {p}kervan_mapping WHERE channel_id = %s AND kind = 'category' AND local_id = %s",
               (market.account.channel_id, str(BAD_LOCAL_CATEGORY)))
    db.execute("INSERT INTO {p}kervan_mapping (channel_id, kind, local_id, remote_id, extra)"
               " VALUES (%s, 'category', %s, %s, '{}')",
               (market.account.channel_id, str(BAD_LOCAL_CATEGORY), BAD_REMOTE_CATEGORY))
    db.execute("DELETE FROM {p}product_to_category WHERE product_id = %s", (pid,))
    db.execute("INSERT INTO {p}product_to_category (product_id, category_id) VALUES (%s, %s)",
               (pid, BAD_LOCAL_CATEGORY))


def test_sixty_creates_go_out_in_one_request_and_each_outcome_lands_on_its_listing(market, store41):
    ids = generate(store41, 60)
    bad = ids[17]
    refuse_category_of(store41, market, bad)
    # A window longer than the test: the coalescer sends when it is closed, so the count below
    # does not depend on how fast this machine handles 60 events.
    cat = market.catalog(store41, window=600)
    pending = [cat.handle(saved(pid)) for pid in ids]
    assert all(p is not None for p in pending)  # each message waits for its request
    assert all(not p.done() for p in pending)
    assert all(listing(store41, pid)["pending_hash"] for pid in ids)  # claimed while waiting
    cat.close()
    all_of(pending).result(60)
    assert market.create_requests() == 1  # was 60: one request per product

    settle(store41, cat)
    for pid in ids:
        row = listing(store41, pid)
        if pid == bad:
            continue
        assert row["status"] == "synced", (pid, row["last_error"])
        assert row["last_error"] is None and row["pending_hash"] is None
        if market.code != "n11":  # N11 updates by stock code; its catalog keeps no remote id
            assert row["remote_id"], pid
    refused = listing(store41, bad)
    assert refused["status"] == "failed"
    assert BAD_REMOTE_CATEGORY in refused["last_error"], refused["last_error"]
    held = cat.client.find_listings([listing(store41, ids[0])["remote_sku"], listing(store41, bad)["remote_sku"]])
    assert len(held) == 1  # the refused one is not on the marketplace; its neighbours are
    items = store41.query("SELECT product_id, status FROM {p}kervan_batch_item WHERE part = 'create'")
    assert len(items) == 60 and sum(1 for i in items if i["status"] == "failed") == 1
    assert {n for n in market.creates_per_key().values()} == {1}


def test_a_failed_send_releases_every_claim_and_the_retry_creates_each_once(market, store41):
    ids = generate(store41, 20)
    market.fail_creates()
    cat = market.catalog(store41, window=0.3)
    events = [saved(pid) for pid in ids]
    failed = [cat.handle(e) for e in events]
    wait(failed, timeout=120)
    # Every message learns that its request failed (the runtime nacks it for a retry).
    assert all(f.done() and isinstance(f.exception(), TransientError) for f in failed)
    for pid in ids:
        row = listing(store41, pid)
        assert row["pending_hash"] is None and row["status"] != "submitted", pid
    assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_batch")["n"] == 0
    assert market.creates_per_key() == {}

    market.sandbox.clear_faults()
    pending = [cat.handle(e) for e in events]  # the redeliveries of the same messages
    all_of([p for p in pending if p is not None]).result(120)
    cat.close()
    settle(store41, cat)
    for pid in ids:
        row = listing(store41, pid)
        assert row["status"] == "synced", (pid, row["last_error"])
    per_key = market.creates_per_key()
    assert sorted(per_key) == sorted(listing(store41, pid)["remote_sku"] for pid in ids)
    assert set(per_key.values()) == {1}
    assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_batch_item WHERE part = 'create'")["n"] == 20


def test_a_second_change_waits_for_the_create_on_its_way(store41, cfg_factory):
    """A product changed again while its create waits in the coalescer: the second sync waits
    until the create is sent and recorded, and no second create follows it."""
    with opened("trendyol", store41, cfg_factory) as market:
        cat = market.catalog(store41, window=0.3)
        first = cat.handle(saved(40))
        assert first is not None
        store41.execute("UPDATE {p}product SET quantity = quantity + 1 WHERE product_id = 40")
        with pytest.raises(TransientError):  # Trendyol is still processing the create: retry later
            cat.handle(saved(40))
        assert first.done() and first.exception() is None
        cat.close()
        settle(store41, cat)
        assert market.create_requests() == 1
        assert list(market.creates_per_key().values()) == [1]
        assert listing(store41, 40)["status"] == "synced"


def test_without_a_window_each_create_is_its_own_request(store41, cfg_factory):
    with opened("n11", store41, cfg_factory) as market:
        cat = market.catalog(store41, window=None)
        ids = generate(store41, 3)
        assert [cat.handle(saved(pid)) for pid in ids] == [None, None, None]
        assert market.create_requests() == 3
        settle(store41, cat)
        assert all(listing(store41, pid)["status"] == "synced" for pid in ids)


def test_a_create_request_refused_as_a_whole_is_split_only_while_that_narrows_the_refusal(store41, cfg_factory):
    with opened("trendyol", store41, cfg_factory) as market:
        sb = market.sandbox

        # The first request is refused (as one malformed item would make it): its halves go
        # through on their own.
        ids = generate(store41, 20)
        sb.set_faults("create", fail_next=1, error_status=400)
        cat = market.catalog(store41, window=600)
        pending = [cat.handle(saved(pid)) for pid in ids]
        cat.close()
        all_of(pending).result(60)
        assert market.create_requests() == 2
        settle(store41, cat)
        assert all(listing(store41, pid)["status"] == "synced" for pid in ids)

        # Every request is refused (not one item's fault): after the halves are refused too,
        # each listing carries Trendyol's words and no further requests are spent.
        more = generate(store41, 20, first_number=100)
        sb.set_faults("create", error_rate=1.0, error_status=400)
        cat = market.catalog(store41, window=600)
        pending = [cat.handle(saved(pid)) for pid in more]
        cat.close()
        all_of(pending).result(60)
        refused = [r for r in sb.request_log()["requests"] if r["endpoint"] == "create" and r["status"] == 400]
        assert len(refused) == 1 + 3
        for pid in more:
            row = listing(store41, pid)
            assert row["status"] == "failed" and row["last_error"].startswith("Trendyol:"), row
            assert row["pending_hash"] is None


def test_a_change_back_while_the_first_waits_is_sent_once_that_row_is_out(store41, cfg_factory):
    """A change back to what the marketplace confirmed while another value still waits in the
    coalescer: the second sync is retried (a transient error) until that row is sent, then diffed
    against the batch on its way, so the value goes out again and the marketplace ends with it."""
    with opened("n11", store41, cfg_factory) as market:
        cat = market.catalog(store41, window=600)
        first = cat.handle(saved(40))
        cat.close()
        first.result(60)
        settle(store41, cat)
        confirmed = cat.reader.get(40).quantity

        cat = market.catalog(store41, window=600)
        store41.execute("UPDATE {p}product SET quantity = quantity + 5 WHERE product_id = 40")
        waiting = cat.handle(saved(40))
        assert waiting is not None and not waiting.done()
        store41.execute("UPDATE {p}product SET quantity = %s WHERE product_id = 40", (confirmed,))
        with pytest.raises(TransientError, match="still waiting"):
            cat.handle(saved(40))
        cat.close()
        waiting.result(60)
        cat = market.catalog(store41, window=0.1)
        back = cat.handle(saved(40))  # the runtime's retry
        assert back is not None  # differs from the batch on its way, not from the confirmed body
        back.result(60)
        cat.close()
        settle(store41, cat)
        row = listing(store41, 40)
        assert row["status"] == "synced", row["last_error"]
        assert int(market.client.find_listings([row["remote_sku"]])[0]["quantity"]) == confirmed
