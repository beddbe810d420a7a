"""Per-channel queues keep marketplaces apart: with N11's API unreachable, Trendyol, Hepsiburada
and Amazon still get every product, and N11 catches up once it answers again. Real relay and
worker processes, four sandboxes over HTTP."""

from __future__ import annotations

import pytest

from bridge import outbox
from bridge.heartbeat import wait_until
from kervan import demo_store
from sandbox.amazon import AmazonSandbox
from sandbox.hepsiburada import HepsiburadaSandbox
from sandbox.n11 import N11Sandbox
from sandbox.trendyol import TrendyolSandbox
from tests.fleet import Proc

CODES = ("trendyol", "hepsiburada", "n11", "amazon")
PRODUCTS = (28, 30, 40, 42, 43, 47)


@pytest.fixture
def sandboxes():
    running = {
        "trendyol": TrendyolSandbox(batch_delay=0.05).start(),
        "hepsiburada": HepsiburadaSandbox(processing_delay=0.05).start(),
        "n11": N11Sandbox(task_delay=0.05).start(),
        "amazon": AmazonSandbox(feed_delay=0.05).start(),
    }
    yield running
    for sb in running.values():
        sb.stop()


def statuses(db, code: str) -> list[str]:
    return [r["status"] for r in db.query(
        "SELECT l.status FROM {p}kervan_listing l JOIN {p}kervan_channel c ON c.channel_id = l.channel_id"
        " WHERE c.code = %s", (code,))]


def all_synced(db, code: str) -> bool:
    s = statuses(db, code)
    return len(s) == len(PRODUCTS) and all(x == "synced" for x in s)


def test_a_marketplace_that_is_down_does_not_hold_up_the_others(store41, amqp_url, cfg_factory, sandboxes, tmp_path):
    demo_store.install_all(store41, {code: sb.base_url for code, sb in sandboxes.items()})
    cfg = cfg_factory(store41, amqp_url, channels={"enabled": ",".join(CODES)},
                      worker={"batch_poll_interval": "0.2", "retry_tiers": "1,2", "max_attempts": "50"},
                      breaker={"reset_timeout": "2"})
    n11_port = sandboxes["n11"].port
    sandboxes["n11"].stop()  # N11 is down: its requests are refused

    procs = [Proc(cfg, "relay", log_dir=tmp_path)]
    procs += [Proc(cfg, "worker", "catalog", "--channel", code, log_dir=tmp_path) for code in CODES]
    try:
        outbox.write_many(store41, [outbox.product_saved(pid) for pid in PRODUCTS])
        others = [c for c in CODES if c != "n11"]
        assert wait_until(lambda: all(all_synced(store41, c) for c in others), 90, interval=0.2), {
            c: statuses(store41, c) for c in CODES}
        # At the moment the others are done, N11 has nothing: its messages wait in its own queue.
        assert "synced" not in statuses(store41, "n11")

        sandboxes["n11"] = N11Sandbox(task_delay=0.05, port=n11_port).start()
        assert wait_until(lambda: all_synced(store41, "n11"), 120, interval=0.2), statuses(store41, "n11")
        held = {p["stockCode"] for p in sandboxes["n11"].products()}
        assert {r["remote_sku"] for r in store41.query(
            "SELECT remote_sku FROM {p}kervan_listing l JOIN {p}kervan_channel c ON c.channel_id = l.channel_id"
            " WHERE c.code = 'n11'")} <= held
    finally:
        for p in reversed(procs):
            p.term(20)
