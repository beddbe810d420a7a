"""Fleet processes log one JSON object per line; the lines of a message's handling carry its event
and correlation ids, the role and the channel; no credential appears."""

from __future__ import annotations

import json

import pytest

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


def test_json_lines_carry_the_event_context(store41, amqp_url, cfg_factory, sandbox, tmp_path):
    demo_store.install(store41, sandbox.base_url)
    cfg = cfg_factory(store41, amqp_url, log={"json": "true", "level": "DEBUG"})
    relay = Proc(cfg, "relay", log_dir=tmp_path)
    worker = Proc(cfg, "worker", "catalog", "--channel", "trendyol", log_dir=tmp_path)
    event = outbox.product_saved(42)
    try:
        outbox.write_many(store41, [event])
        assert wait_until(lambda: store41.one(
            "SELECT COUNT(*) AS n FROM {p}kervan_listing WHERE status = 'synced'")["n"] == 1, 60), worker.log()[-2000:]
    finally:
        worker.term()
        relay.term()
    records = [json.loads(line)["record"] for line in worker.log().splitlines() if line.startswith("{")]
    assert records and len(records) == len([ln for ln in worker.log().splitlines() if ln.strip()])
    mine = [r for r in records if r["extra"].get("event_id") == event.id]
    assert any("Trendyol create" in r["message"] for r in mine)
    assert all(r["extra"]["correlation_id"] == event.id and r["extra"]["role"] == "catalog"
               and r["extra"]["channel"] == "trendyol" for r in mine)
    assert all(r["extra"]["role"] == "catalog" for r in records)
    assert demo_store.API_SECRET not in worker.log() and demo_store.API_SECRET not in relay.log()
