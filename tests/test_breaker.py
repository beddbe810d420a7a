"""A marketplace outage opens the account's breaker (state in Redis, shared by every process); the
worker stops taking that channel's messages, `kervan status` shows the breaker open (and the
heartbeat carries ``breaker_open``, which the admin dashboard shows: tests/php/DashboardTest.php),
and it recovers on its own when the marketplace does."""

from __future__ import annotations

import json
import re

import pika
import pytest
import redis

from bridge import outbox
from bridge.heartbeat import wait_until
from kervan import demo_store, status
from sandbox.trendyol import TrendyolSandbox
from tests.conftest import REDIS_URL
from tests.fleet import Proc
from workers import breaker


@pytest.fixture
def sandbox():
    sb = TrendyolSandbox(batch_delay=0.05).start()
    yield sb
    sb.stop()


def queue_depth(amqp_url: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    n = conn.channel().queue_declare("kervan.catalog.trendyol", passive=True).method.message_count
    conn.close()
    return n


def beat(db) -> dict:
    row = db.one("SELECT state, counters FROM {p}kervan_heartbeat WHERE role = 'catalog'")
    return {"state": row["state"], **json.loads(row["counters"] or "{}")} if row else {}


@pytest.mark.chaos
def shown_by_status(cfg, capsys) -> str:
    """The breakers part of what `kervan status` prints."""
    capsys.readouterr()
    status.print_status(cfg)
    out = capsys.readouterr().out
    start = out.index("\nbreakers\n")
    return out[start:out.index("\nparked", start)]


def test_outage_opens_the_breaker_pauses_consumers_and_recovers(store41, amqp_url, cfg_factory, redis_prefix,
                                                                 sandbox, tmp_path, capsys):
    demo_store.install(store41, sandbox.base_url)
    cfg = cfg_factory(store41, amqp_url, breaker={"fail_max": "3", "reset_timeout": "4"},
                      worker={"retry_tiers": "1,1,2", "max_attempts": "50", "heartbeat_interval": "0.5",
                              "batch_poll_interval": "0.2"})
    sandbox.set_faults("*", error_rate=1.0)  # Trendyol is down
    relay = Proc(cfg, "relay", log_dir=tmp_path)
    worker = Proc(cfg, "worker", "catalog", "--channel", "trendyol", log_dir=tmp_path)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        outbox.write_many(store41, [outbox.product_saved(28)])
        assert wait_until(lambda: breaker.state(client, redis_prefix, "trendyol", "default") == "open", 60), \
            worker.log()[-3000:]
        assert wait_until(lambda: beat(store41).get("state") == "paused" and beat(store41).get("breaker_open") == 1,
                          20), worker.log()[-3000:]
        assert re.search(r"trendyol/default +open$", shown_by_status(cfg, capsys), re.M)
        # While open, new work waits in RabbitMQ instead of being tried and retried.
        outbox.write_many(store41, [outbox.product_saved(pid) for pid in (29, 30, 31)])
        assert wait_until(lambda: queue_depth(amqp_url) >= 3, 20)
        calls_while_open = sandbox.request_log()["counts"].get("create", {}).get("total", 0)

        sandbox.clear_faults()  # Trendyol is back
        assert wait_until(lambda: store41.one(
            "SELECT COUNT(*) AS n FROM {p}kervan_listing WHERE status = 'synced'")["n"] == 4, 60), worker.log()[-3000:]
        assert breaker.state(client, redis_prefix, "trendyol", "default") == "closed"
        assert wait_until(lambda: beat(store41).get("state") == "consuming", 20)
        assert re.search(r"trendyol/default +closed$", shown_by_status(cfg, capsys), re.M)
        assert not beat(store41).get("breaker_open")
        assert calls_while_open <= 6  # a handful of failures opened it; no retry storm followed
        assert "breaker trendyol/default" in worker.log()
    finally:
        worker.term()
        relay.term()
        client.close()
