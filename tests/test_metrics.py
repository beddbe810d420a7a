"""Every long-running process serves Prometheus metrics; the port is in its heartbeat."""

from __future__ import annotations

import json
import re

import pytest
import requests

from bridge import outbox
from bridge.heartbeat import wait_until
from kervan import demo_store
from sandbox.trendyol import TrendyolSandbox
from tests.fleet import Proc


@pytest.fixture
def sandbox():
    sb = TrendyolSandbox(batch_delay=0.05).start()
    yield sb
    sb.stop()


def metrics_of(db, role: str) -> str:
    row = db.one("SELECT counters FROM {p}kervan_heartbeat WHERE role = %s", (role,))
    port = json.loads(row["counters"])["metrics_port"]
    return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def value(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} {labels} not in metrics")


def test_worker_and_relay_serve_their_metrics(store41, amqp_url, cfg_factory, sandbox, tmp_path):
    demo_store.install(store41, sandbox.base_url)
    cfg = cfg_factory(store41, amqp_url, worker={"heartbeat_interval": "0.5", "batch_poll_interval": "0.2"})
    relay = Proc(cfg, "relay", log_dir=tmp_path)
    worker = Proc(cfg, "worker", "catalog", "--channel", "trendyol", log_dir=tmp_path)
    try:
        outbox.write_many(store41, [outbox.product_saved(pid) for pid in (28, 29, 30)])
        assert wait_until(lambda: store41.one(
            "SELECT COUNT(*) AS n FROM {p}kervan_listing WHERE status = 'synced'")["n"] == 3, 60), worker.log()[-2000:]
        assert wait_until(lambda: "metrics_port" in (store41.one(
            "SELECT counters FROM {p}kervan_heartbeat WHERE role = 'relay'") or {}).get("counters", ""), 20)
        w = metrics_of(store41, "catalog")
        r = metrics_of(store41, "relay")
    finally:
        worker.term()
        relay.term()
    queue = "kervan.catalog.trendyol"
    assert value(w, "kervan_messages_total", queue=queue, outcome="acked") == 3
    assert value(w, "kervan_messages_total", queue=queue, outcome="consumed") == 3
    assert value(w, "kervan_handler_seconds_count", queue=queue) == 3
    # The metric must count exactly the create requests Trendyol received (creates are coalesced,
    # so up to one request for the three products).
    creates = len([x for x in sandbox.request_log()["writes"] if x["endpoint"] == "create"])
    assert 1 <= creates <= 3
    assert value(w, "kervan_marketplace_requests_total", marketplace="trendyol", operation="create",
                 status="200") == creates
    assert value(w, "kervan_batch_items_total", status="success") == 3
    assert value(w, "kervan_breaker_open") == 0
    assert value(r, "kervan_relay_events_total", outcome="confirmed") == 3
    assert value(r, "kervan_outbox_waiting") == 0 and value(r, "kervan_relay_leader") == 1
