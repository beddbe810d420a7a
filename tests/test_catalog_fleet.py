"""One product change travelling for real: outbox → ``kervan relay`` → RabbitMQ → ``kervan worker
catalog`` → sandbox Trendyol over HTTP → batch outcome written back. Processes are real, and
one of them is killed with SIGKILL in the middle of a message."""

from __future__ import annotations

import json
import time

import pika
import pytest

from bridge import channels, outbox
from bridge.heartbeat import wait_until
from bridge.opencart import ProductReader
from bridge.topology import Topology, declare_all
from kervan import demo_store
from sandbox.trendyol import TrendyolSandbox
from tests.fleet import Proc
from workers.binder import digest
from workers.catalog import load_mapping
from workers.mappers import trendyol as mapper


@pytest.fixture
def sandbox():
    sb = TrendyolSandbox(batch_delay=0.1).start()
    yield sb
    sb.stop()


def all_ids(db) -> list[int]:
    return [r["product_id"] for r in db.query("SELECT product_id FROM {p}product ORDER BY product_id")]


def settled(db, n: int) -> bool:
    rows = db.query("SELECT status FROM {p}kervan_listing")
    return len(rows) == n and all(r["status"] in ("synced", "failed") for r in rows)


def desired_hashes(db) -> dict[int, str]:
    """What every listing should hold now, computed from OpenCart's current data."""
    account = channels.get(db, "trendyol")
    mapping = load_mapping(db, account)
    reader = ProductReader(db)
    out = {}
    for pid, product in reader.load(all_ids(db)).items():
        master = reader.get(product.master_id) if product.master_id else None
        out[pid] = digest(mapper.to_item(product, mapping, master=master))
    return out


def creates_per_barcode(sandbox) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in sandbox.request_log()["effects"]:
        if e["kind"] == "create":
            counts[e["barcode"]] = counts.get(e["barcode"], 0) + 1
    return counts


@pytest.fixture
def fleet_cfg(store, amqp_url, cfg_factory, sandbox):
    demo_store.install(store, sandbox.base_url)
    return cfg_factory(store, amqp_url, worker={"batch_poll_interval": "0.2", "retry_tiers": "1,2,3"})


def test_every_demo_product_reaches_trendyol_and_the_outcome_comes_back(store, fleet_cfg, sandbox, amqp_url,
                                                                        tmp_path):
    relay = Proc(fleet_cfg, "relay", log_dir=tmp_path)
    worker = Proc(fleet_cfg, "worker", "catalog", "--channel", "trendyol", log_dir=tmp_path)
    try:
        ids = all_ids(store)
        outbox.write_many(store, [outbox.product_saved(pid) for pid in ids])
        # A poison message in the middle of the stream: parked with its reason, the rest flows.
        declare_all(amqp_url, Topology())
        conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish("kervan", "product.saved", b"{not json", pika.BasicProperties(delivery_mode=2,
                                                                                       message_id="poison-1"))
        conn.close()
        assert wait_until(lambda: settled(store, len(ids)), 90), worker.log()[-3000:]
        assert wait_until(lambda: store.one("SELECT COUNT(*) AS n FROM {p}kervan_parked")["n"] == 1, 20)
        # SIGTERM: both finish what they hold and exit cleanly.
        assert worker.term() == 0 and relay.term() == 0
    finally:
        worker.term()
        relay.term()
    rows = {r["product_id"]: r for r in store.query("SELECT * FROM {p}kervan_listing")}
    assert {pid for pid, r in rows.items() if r["status"] == "synced"} == set(ids)
    held = {p["barcode"]: p for p in sandbox.products()}
    assert len(held) == len(ids)
    for r in rows.values():
        assert r["remote_sku"] in held and r["remote_id"] == str(held[r["remote_sku"]]["contentId"])
        assert json.loads(r["confirmed_body"])["quantity"] == held[r["remote_sku"]]["quantity"]
    parked = store.one("SELECT * FROM {p}kervan_parked")
    assert parked["message_id"] == "poison-1" and parked["reason"].startswith("poison: body is not JSON")
    assert "catalog" in store.one("SELECT role FROM {p}kervan_heartbeat WHERE role = 'catalog'")["role"]


@pytest.mark.chaos
def test_worker_killed_mid_message_leaves_sandbox_and_listings_correct(store, fleet_cfg, sandbox, tmp_path):
    # Every create takes 2 s at Trendyol, so the kill lands while requests are in flight.
    sandbox.set_faults("create", latency=2.0)
    relay = Proc(fleet_cfg, "relay", log_dir=tmp_path)
    worker = Proc(fleet_cfg, "worker", "catalog", "--channel", "trendyol", log_dir=tmp_path)
    ids = all_ids(store)
    try:
        outbox.write_many(store, [outbox.product_saved(pid) for pid in ids])
        assert wait_until(lambda: sandbox.request_log()["counts"].get("create", {}).get("total", 0) >= 1
                          or len(sandbox.products()) >= 1, 30)
        time.sleep(0.5)
        worker.kill9()
        # While no worker runs, the merchant changes a price and a stock: these must not be lost.
        store.execute("UPDATE {p}product SET price = 250 WHERE product_id = 42")
        store.execute("UPDATE {p}product SET quantity = 3 WHERE product_id = 40")
        outbox.write_many(store, [outbox.product_saved(42), outbox.product_saved(40)])
        sandbox.clear_faults("create")
        worker = Proc(fleet_cfg, "worker", "catalog", "--channel", "trendyol", log_dir=tmp_path)
        expected = desired_hashes(store)

        def correct() -> bool:
            rows = {r["product_id"]: r for r in store.query("SELECT * FROM {p}kervan_listing")}
            return len(rows) == len(ids) and all(
                r["status"] == "synced" and r["content_hash"] == expected[pid] for pid, r in rows.items())

        assert wait_until(correct, 120), worker.log()[-4000:]
    finally:
        worker.term()
        relay.term()
    creates = creates_per_barcode(sandbox)
    assert creates and max(creates.values()) == 1, f"a product was created twice: {creates}"
    held = {p["barcode"]: p for p in sandbox.products()}
    assert len(held) == len(ids)
    rows = {r["product_id"]: r for r in store.query("SELECT * FROM {p}kervan_listing")}
    assert held[rows[40]["remote_sku"]]["quantity"] == 3
    assert held[rows[42]["remote_sku"]]["listPrice"] == pytest.approx(250 * 1.2 + 2)
