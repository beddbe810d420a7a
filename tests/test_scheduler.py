"""The scheduler: its jobs enqueue commands through the outbox; exactly one scheduler process is
active, a standby takes over when it is killed, and no job runs twice at once."""

from __future__ import annotations

import json
import threading

from bridge import channels
from bridge.heartbeat import wait_until
from bridge.scheduler import Jobs, Scheduler, SchedulerSettings
from tests.fleet import Proc


def commands(db, kind: str) -> list[dict]:
    rows = db.query("SELECT payload FROM {p}kervan_outbox WHERE event_type = %s ORDER BY id", (kind,))
    return [json.loads(r["payload"]) for r in rows]


def test_jobs_enqueue_order_polls_and_resyncs(store41):
    cid = channels.upsert(store41, "trendyol", name="T", base_url="http://x", seller_id="1", credentials={}).channel_id
    store41.execute("INSERT INTO {p}kervan_listing (channel_id, product_id, status, updated_at) VALUES"
                    " (%s, 40, 'failed', NOW() - INTERVAL 1 HOUR), (%s, 43, 'failed', NOW()),"
                    " (%s, 30, 'synced', NOW() - INTERVAL 1 HOUR)", (cid, cid, cid))
    jobs = Jobs(store41, SchedulerSettings(channels=("trendyol",), reconcile_grace=600))
    assert jobs.poll_orders("trendyol") == {"commands": 1}
    assert commands(store41, "cmd.poll_orders") == [{"channel": "trendyol"}]
    assert jobs.reconcile() == {"trendyol": 1, "outbox_stuck": 0}  # 43 failed just now: its own retry may come
    assert commands(store41, "cmd.resync") == [{"channel": "trendyol", "product_ids": [40], "reason": "reconcile"}]
    assert set(jobs.cleanup()) == {"outbox_rows", "job_runs"}


def test_full_reconciliation_stuck_outbox_rows_and_parked_digest(store41):
    jobs = Jobs(store41, SchedulerSettings(channels=("trendyol", "n11"), outbox_stuck_after=60))
    assert jobs.full_reconcile("n11") == {"commands": 1}
    assert commands(store41, "cmd.full_reconcile") == [{"channel": "n11"}]
    store41.execute("UPDATE {p}kervan_outbox SET created_at = NOW() - INTERVAL 2 MINUTE")  # the relay is down
    assert jobs.reconcile()["outbox_stuck"] == 1
    store41.execute("INSERT INTO {p}kervan_parked (message_id, queue, body, reason) VALUES ('m1', 'kervan.catalog.n11',"
                    " '{}', 'poison: not JSON'), ('m2', 'kervan.catalog.n11', '{}', 'poison: not JSON'),"
                    " ('m3', 'kervan.orders.n11', '{}', 'gone')")
    store41.execute("UPDATE {p}kervan_parked SET status = 'discarded' WHERE message_id = 'm3'")
    assert jobs.parked_digest() == {"kervan.catalog.n11: poison: not JSON": 2}


def test_runs_are_recorded_and_only_while_holding_the_lock(store41):
    settings = SchedulerSettings(channels=("trendyol",), orders_interval=0.2, leader_check=0.1)
    a, b = Scheduler(store41, settings), Scheduler(store41, settings)
    stop_a, stop_b = threading.Event(), threading.Event()
    ta = threading.Thread(target=a.run, args=(stop_a,))
    ta.start()
    assert wait_until(lambda: a.lock.held, 5)
    tb = threading.Thread(target=b.run, args=(stop_b,))
    tb.start()
    assert wait_until(lambda: store41.one("SELECT COUNT(*) AS n FROM {p}kervan_job_run WHERE outcome = 'ok'")["n"] >= 3,
                      10)
    assert not b.lock.held
    stop_a.set()
    ta.join(10)
    assert wait_until(lambda: b.lock.held, 5)  # the standby takes over
    stop_b.set()
    tb.join(10)


def test_killing_the_active_scheduler_hands_over_without_overlap(store41, cfg_factory, tmp_path):
    channels.upsert(store41, "trendyol", name="T", base_url="http://x", seller_id="1", credentials={})
    cfg = cfg_factory(store41, channels={"enabled": "trendyol,n11"}, orders={"poll_interval": "0.3"},
                      scheduler={"leader_check": "0.2"})
    first = Proc(cfg, "scheduler", log_dir=tmp_path)
    second = Proc(cfg, "scheduler", log_dir=tmp_path)
    try:
        def pids() -> list[int]:
            return [r["pid"] for r in store41.query("SELECT DISTINCT pid FROM {p}kervan_job_run")]

        assert wait_until(lambda: len(pids()) == 1 and store41.one(
            "SELECT COUNT(*) AS n FROM {p}kervan_job_run")["n"] >= 4, 30)
        active = pids()[0]
        victim = first if first.pid == active else second
        victim.kill9()
        assert wait_until(lambda: len(pids()) == 2, 20)  # the standby took over
        runs = store41.query("SELECT job, pid, started_at, finished_at FROM {p}kervan_job_run"
                             " WHERE outcome = 'ok' ORDER BY job, started_at")
        for job in {r["job"] for r in runs}:
            mine = [r for r in runs if r["job"] == job]
            for earlier, later in zip(mine, mine[1:], strict=False):
                assert later["started_at"] >= earlier["finished_at"], job  # never two at once
        assert {r["job"] for r in runs} >= {"poll_orders:trendyol", "poll_orders:n11"}
        assert len(commands(store41, "cmd.poll_orders")) >= 4
    finally:
        first.term(10)
        second.term(10)
