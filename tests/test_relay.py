"""The outbox relay on the real MariaDB and RabbitMQ: order, exactly-once under normal running,
at-least-once with nothing lost across a broker restart, a SIGKILL and a leader change."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter

import pytest

from bridge import outbox
from bridge.heartbeat import wait_until
from bridge.relay import Relay, RelaySettings
from bridge.topology import Topology
from tests.fleet import Proc, drain

QUEUE = "kervan.catalog.trendyol"


def unpublished(db) -> int:
    return db.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox WHERE published_at IS NULL")["n"]


def all_event_ids(db) -> list[str]:
    return [r["event_id"] for r in db.query("SELECT event_id FROM {p}kervan_outbox ORDER BY id")]


def settings(amqp_url: str, **kw) -> RelaySettings:
    return RelaySettings(amqp_url=amqp_url, topology=Topology(), **kw)


def run_relay_thread(db, amqp_url, **kw):
    relay = Relay(db, settings(amqp_url, **kw))
    t = threading.Thread(target=relay.run, daemon=True)
    t.start()
    return relay, t


def test_every_row_published_exactly_once_in_order(store41, amqp_url):
    events = [outbox.product_saved(i % 37 + 1) for i in range(3000)]
    outbox.write_many(store41, events)
    relay, t = run_relay_thread(store41, amqp_url, batch_size=200, confirm_window=500)
    try:
        assert wait_until(lambda: unpublished(store41) == 0, 60)
    finally:
        relay.stop()
        t.join(30)
    got = drain(amqp_url, QUEUE)
    assert [m["id"] for m in got] == [e.id for e in events]  # all, once, in outbox order
    seqs = [m["seq"] for m in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert got[0]["type"] == "product.saved" and got[0]["payload"] == {"product_id": 1}
    # Per aggregate, the order is the order the events were written.
    per_product: dict[str, list[int]] = {}
    for m in got:
        per_product.setdefault(m["aggregate_id"], []).append(m["seq"])
    assert all(s == sorted(s) for s in per_product.values())


def test_rows_written_while_running_are_picked_up(store41, amqp_url):
    relay, t = run_relay_thread(store41, amqp_url)
    try:
        for i in range(5):
            outbox.write_many(store41, [outbox.product_saved(100 + i)])
            time.sleep(0.05)
        assert wait_until(lambda: unpublished(store41) == 0, 20)
    finally:
        relay.stop()
        t.join(30)
    assert [m["payload"]["product_id"] for m in drain(amqp_url, QUEUE)] == [100, 101, 102, 103, 104]


def _writer(db, stop: threading.Event, count: list[int]) -> None:
    while not stop.is_set():
        outbox.write_many(db, [outbox.product_saved(count[0] % 19 + 28) for _ in range(20)])
        count[0] += 20
        time.sleep(0.01)


@pytest.mark.chaos
def test_nothing_lost_when_rabbitmq_restarts_mid_run(store41, amqp_url, cfg_factory, tmp_path):
    relay = Proc(cfg_factory(store41, amqp_url), "relay", log_dir=tmp_path)
    stop, count = threading.Event(), [0]
    writer = threading.Thread(target=_writer, args=(store41, stop, count))
    writer.start()
    try:
        assert wait_until(lambda: count[0] > 500 and unpublished(store41) < count[0], 30)
        subprocess.run(["rabbitmqctl", "-q", "stop_app"], check=True, timeout=120)
        time.sleep(2)
        subprocess.run(["rabbitmqctl", "-q", "start_app"], check=True, timeout=180)
        time.sleep(2)
        stop.set()
        writer.join()
        assert wait_until(lambda: unpublished(store41) == 0, 90), relay.log()[-3000:]
    finally:
        stop.set()
        relay.term()
    got = Counter(m["id"] for m in drain(amqp_url, QUEUE, idle=2))
    expected = all_event_ids(store41)
    assert len(expected) == count[0] > 500
    lost = [e for e in expected if e not in got]
    assert lost == [], f"{len(lost)} events lost"
    assert set(got) == set(expected)  # nothing unexpected either (duplicates are allowed)
    assert "RabbitMQ connection closed" in relay.log() or "session failed" in relay.log()


@pytest.mark.chaos
def test_nothing_lost_when_the_relay_is_killed_mid_batch(store41, amqp_url, cfg_factory, tmp_path):
    cfg = cfg_factory(store41, amqp_url, relay={"batch_size": "100", "confirm_window": "300"})
    outbox.write_many(store41, [outbox.product_saved(i % 19 + 28) for i in range(20000)])
    first = Proc(cfg, "relay", log_dir=tmp_path)
    assert wait_until(lambda: unpublished(store41) < 17000, 60), first.log()[-2000:]
    first.kill9()
    remaining = unpublished(store41)
    assert 0 < remaining < 20000, "the kill should land mid-run"
    second = Proc(cfg, "relay", log_dir=tmp_path)
    try:
        assert wait_until(lambda: unpublished(store41) == 0, 90), second.log()[-2000:]
    finally:
        second.term()
    got = Counter(m["id"] for m in drain(amqp_url, QUEUE, idle=2))
    expected = all_event_ids(store41)
    assert [e for e in expected if e not in got] == []
    assert set(got) == set(expected)
    # At-least-once: only what was in flight at the kill may come twice.
    assert sum(n - 1 for n in got.values()) <= 300


@pytest.mark.chaos
def test_standby_takes_over_when_the_leader_dies(store41, amqp_url, cfg_factory, tmp_path):
    cfg = cfg_factory(store41, amqp_url)
    a = Proc(cfg, "relay", log_dir=tmp_path)
    assert wait_until(lambda: store41.one(
        "SELECT COUNT(*) AS n FROM {p}kervan_heartbeat WHERE role='relay' AND state='leader'")["n"] == 1, 30)
    b = Proc(cfg, "relay", log_dir=tmp_path)
    try:
        assert wait_until(lambda: store41.one(
            "SELECT COUNT(*) AS n FROM {p}kervan_heartbeat WHERE role='relay' AND state='standby'")["n"] == 1, 30)
        outbox.write_many(store41, [outbox.product_saved(30)])
        assert wait_until(lambda: unpublished(store41) == 0, 20)
        a.kill9()
        t0 = time.monotonic()
        outbox.write_many(store41, [outbox.product_saved(31)])
        assert wait_until(lambda: unpublished(store41) == 0, 30), b.log()[-2000:]
        takeover = time.monotonic() - t0
    finally:
        b.term()
    assert takeover < 30
    assert "leader lock" in b.log() and "acquired" in b.log()
    assert [m["payload"]["product_id"] for m in drain(amqp_url, QUEUE)] == [30, 31]


def test_relay_survives_losing_its_database_connections(store41, amqp_url):
    relay, t = run_relay_thread(store41, amqp_url)
    try:
        outbox.write_many(store41, [outbox.product_saved(40)])
        assert wait_until(lambda: unpublished(store41) == 0, 20)
        # Kill every server-side connection of the relay (as a MariaDB restart would).
        mine = store41.one("SELECT CONNECTION_ID() AS id")["id"]
        for row in store41.query(
            "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> %s", (mine,)
        ):
            store41.execute(f"KILL {int(row['id'])}")
        outbox.write_many(store41, [outbox.product_saved(41)])
        assert wait_until(lambda: unpublished(store41) == 0, 30)
    finally:
        relay.stop()
        t.join(30)
    assert [m["payload"]["product_id"] for m in drain(amqp_url, QUEUE)] == [40, 41]


def test_published_rows_are_purged_after_the_retention(store41, amqp_url):
    outbox.write_many(store41, [outbox.product_saved(i + 28) for i in range(10)])
    relay, t = run_relay_thread(store41, amqp_url)
    try:
        assert wait_until(lambda: unpublished(store41) == 0, 20)
    finally:
        relay.stop()
        t.join(30)
    store41.execute("UPDATE {p}kervan_outbox SET published_at = published_at - INTERVAL 4 DAY WHERE id <= 4")
    outbox.write_many(store41, [outbox.product_saved(99)])  # unpublished: never purged
    assert outbox.purge(store41, retention_hours=72) == 4
    assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox")["n"] == 7
    lag = outbox.lag(store41)
    assert lag["waiting"] == 1 and lag["oldest_seconds"] >= 0


def test_a_row_committed_late_below_published_ids_is_not_skipped(store41, amqp_url):
    # The gap hazard (reliability §7): id N is taken by a transaction that commits after id N+1
    # was already published. An id cursor would skip N for ever; the relay's rescan must not.
    slow = store41.connect()
    slow.begin()
    late = outbox.product_saved(50)
    with slow.cursor() as cur:
        outbox.write(_Expand(cur, store41), late)
    early = outbox.product_saved(51)
    outbox.write_many(store41, [early])
    relay, t = run_relay_thread(store41, amqp_url)
    try:
        assert wait_until(lambda: store41.one(
            "SELECT published_at FROM {p}kervan_outbox WHERE event_id = %s", (early.id,))["published_at"], 20)
        time.sleep(1.5)  # several polls and a rescan while the late row is still uncommitted
        slow.commit()
        assert wait_until(lambda: unpublished(store41) == 0, 20)
    finally:
        slow.close()
        relay.stop()
        t.join(30)
    got = [m["id"] for m in drain(amqp_url, QUEUE)]
    assert got == [early.id, late.id]
    ids = {r["event_id"]: r["id"] for r in store41.query("SELECT event_id, id FROM {p}kervan_outbox")}
    assert ids[late.id] < ids[early.id]  # the late event really has the lower id


class _Expand:
    """A raw pymysql cursor that expands the {p} table prefix like the Database's own cursors."""

    def __init__(self, cur, db) -> None:
        self.cur, self.db = cur, db

    def execute(self, sql, params=None):
        return self.cur.execute(self.db.sql(sql), params)


def _restart_mariadb() -> None:
    subprocess.run(["start-stop-daemon", "--stop", "--exec", "/usr/sbin/mariadbd", "--retry", "60"],
                   check=True, timeout=120)
    subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"],
                   check=True, timeout=60)


@pytest.mark.chaos
def test_nothing_lost_when_mariadb_restarts(store41, amqp_url, cfg_factory, tmp_path):
    relay = Proc(cfg_factory(store41, amqp_url), "relay", log_dir=tmp_path)
    try:
        outbox.write_many(store41, [outbox.product_saved(i % 19 + 28) for i in range(300)])
        assert wait_until(lambda: unpublished(store41) == 0, 30), relay.log()[-2000:]
        _restart_mariadb()
        store41.reset()
        # The database is back when it answers; rows written now must still be published.
        assert wait_until(lambda: _answers(store41), 60)
        outbox.write_many(store41, [outbox.product_saved(i % 19 + 28) for i in range(300)])
        assert wait_until(lambda: unpublished(store41) == 0, 60), relay.log()[-3000:]
        assert relay.alive()
    finally:
        relay.term()
    got = Counter(m["id"] for m in drain(amqp_url, QUEUE, idle=2))
    assert set(got) == set(all_event_ids(store41)) and len(got) == 600


def _answers(db) -> bool:
    try:
        db.one("SELECT 1 AS ok")
        return True
    except Exception:  # noqa: BLE001 - still starting
        db.reset()
        return False
