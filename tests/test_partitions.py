"""Partitioned catalog queues on the real RabbitMQ and MariaDB: the relay's events split by
product over the partitions, each product's events in one of them and in order, none lost or
doubled when the partition count changes; workers that each own some partitions all work at once,
and a survivor takes over a dead worker's partitions."""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import contextmanager

import pika
import pytest

from bridge import outbox
from bridge.envelope import Event
from bridge.heartbeat import wait_until
from bridge.relay import Relay, RelaySettings
from bridge.topology import Topology, bucket_of, declare_all
from tests.fleet import drain, worker_thread
from workers.runtime import Worker, WorkerSettings

BASE = "kervan.catalog.trendyol"


def relay_all(db, amqp_url: str, topology: Topology, events: list[Event]) -> None:
    outbox.write_many(db, events)
    relay = Relay(db, RelaySettings(amqp_url=amqp_url, topology=topology))
    t = threading.Thread(target=relay.run, daemon=True)
    t.start()
    try:
        assert wait_until(lambda: db.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox"
                                         " WHERE published_at IS NULL")["n"] == 0, 60)
    finally:
        relay.stop()
        t.join(30)


def depth(amqp_url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        return conn.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        conn.close()


def test_the_relay_s_events_split_by_product_over_the_partitions(store41, amqp_url):
    topology = Topology(catalog_partitions=4)
    queues = topology.queues("catalog", "trendyol")
    assert queues == [BASE, f"{BASE}.p1", f"{BASE}.p2", f"{BASE}.p3"]
    events = [e for pid in range(1, 121) for e in (
        outbox.product_saved(pid), Event("stock.changed", "product", str(pid), {"product_id": pid}))]
    relay_all(store41, amqp_url, topology, events)

    where: dict[str, set[int]] = defaultdict(set)
    got: dict[int, list[dict]] = {}
    for k, q in enumerate(queues):
        got[k] = drain(amqp_url, q)
        for m in got[k]:
            where[m["aggregate_id"]].add(k)
            assert int(bucket_of(f"product:{m['aggregate_id']}")) % 4 == k  # the bucket decides
    assert all(len(parts) == 1 for parts in where.values())  # a product's events in one partition
    assert sorted(m["id"] for msgs in got.values() for m in msgs) == sorted(e.id for e in events)  # once each
    assert all(len(msgs) > 20 for msgs in got.values())  # every partition has a share
    for msgs in got.values():  # in outbox order within a partition
        assert [m["seq"] for m in msgs] == sorted(m["seq"] for m in msgs)


def test_a_message_without_a_bucket_goes_to_the_first_partition(amqp_url):
    topology = Topology(catalog_partitions=2)
    declare_all(amqp_url, topology)
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.confirm_delivery()
    body = Event("product.saved", "product", "7", {"product_id": 7}).to_json()
    ch.basic_publish("kervan", "product.saved", body, pika.BasicProperties(delivery_mode=2), mandatory=True)
    conn.close()
    assert [m["aggregate_id"] for m in drain(amqp_url, BASE)] == ["7"]
    assert drain(amqp_url, f"{BASE}.p1") == []


@pytest.mark.parametrize("before, after", [(1, 4), (4, 2), (4, 1), (2, 8)])
def test_changing_the_partition_count_routes_each_event_to_exactly_one_queue(store41, amqp_url, before, after):
    declare_all(amqp_url, Topology(catalog_partitions=before))
    relay_all(store41, amqp_url, Topology(catalog_partitions=after),
              [outbox.product_saved(pid) for pid in range(1, 65)])
    now = Topology(catalog_partitions=after).queues("catalog", "trendyol")
    old = [q for q in Topology(catalog_partitions=before).queues("catalog", "trendyol") if q not in now]
    received = [m["aggregate_id"] for q in now for m in drain(amqp_url, q)]
    assert sorted(received, key=int) == [str(pid) for pid in range(1, 65)]
    for q in old:  # kept (nothing that waited there is thrown away) but fed no more
        assert depth(amqp_url, q) == 0


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (worker, aggregate id)
        self.lock = threading.Lock()

    def handler(self, name: str):
        recorder = self

        class H:
            def handle(self, event: Event) -> None:
                with recorder.lock:
                    recorder.seen.append((name, event.aggregate_id))
        return H()


@contextmanager
def worker(db, amqp_url: str, topology: Topology, recorder: Recorder, name: str, first: tuple[int, ...],
           paused: threading.Event | None = None):
    queues = tuple(topology.queues("catalog", "trendyol"))
    settings = WorkerSettings(amqp_url=amqp_url, queue=queues[0], queues=queues,
                              first=tuple(queues[i] for i in first), standby_after=1.0,
                              pause_check_every=0.2, heartbeat_interval=0.5)
    with worker_thread(Worker(db, settings, recorder.handler(name), topology, role="catalog", channel="trendyol",
                              paused=paused.is_set if paused else None)) as w:
        yield w


def test_workers_owning_different_partitions_work_at_once_and_a_survivor_takes_over(store41, amqp_url):
    topology = Topology(catalog_partitions=4)
    declare_all(amqp_url, topology)
    rec = Recorder()
    pids = list(range(1, 201))
    part_of = {str(pid): int(bucket_of(f"product:{pid}")) % 4 for pid in pids}
    paused = threading.Event()

    def each_on_its_own() -> None:
        relay_all(store41, amqp_url, topology, [outbox.product_saved(pid) for pid in pids])
        assert wait_until(lambda: len(rec.seen) == len(pids), 30)
        by_worker = defaultdict(set)
        for name, agg in rec.seen:
            by_worker[name].add(part_of[agg])
        assert by_worker == {"A": {0, 1}, "B": {2, 3}}  # each its own partitions, at once
        rec.seen.clear()

    with worker(store41, amqp_url, topology, rec, "A", (0, 1), paused):
        with worker(store41, amqp_url, topology, rec, "B", (2, 3), paused):
            # Both subscribed everywhere before any event: owners first, then (standby_after = 1 s)
            # the other as standby. (queue.declare's consumer count shows only the active one.)
            threading.Event().wait(3.0)
            each_on_its_own()
            # The merchant pauses the channel and resumes it: both resubscribe, owners first again.
            paused.set()
            threading.Event().wait(1.0)
            paused.clear()
            threading.Event().wait(3.0)
            each_on_its_own()
        # B stopped: A, its standby, now gets B's partitions too.
        relay_all(store41, amqp_url, topology, [outbox.product_saved(pid) for pid in pids])
        assert wait_until(lambda: len(rec.seen) == len(pids), 30)
        assert {name for name, _ in rec.seen} == {"A"}
        assert {part_of[agg] for _, agg in rec.seen} == {0, 1, 2, 3}


def test_two_processes_sync_one_product_one_after_the_other(store41, monkeypatch):
    """An order's event (partition of the order) and the product's own event (the product's
    partition) may sync one product in two processes at once; with partitions the catalog takes
    a MariaDB named lock per product, so the second waits for the first (here: gives up after the
    wait and is retried), and goes ahead once the first is done."""
    from bridge import channels
    from bridge.db import Database
    from kervan import demo_store
    from sandbox.trendyol import TrendyolSandbox
    from workers.catalog import TrendyolCatalog
    from workers.catalog import base as catalog_base
    from workers.channels.errors import TransientError
    from workers.channels.trendyol import TrendyolClient

    monkeypatch.setattr(catalog_base, "SHARED_LOCK_WAIT", 1)
    sb = TrendyolSandbox(batch_delay=0.05).start()
    try:
        demo_store.install(store41, sb.base_url)
        account = channels.get(store41, "trendyol")

        def catalog(db):  # its own connections, as another process has
            client = TrendyolClient(sb.base_url, account.seller_id, demo_store.API_KEY, demo_store.API_SECRET)
            return TrendyolCatalog(db, account, client, mapping_ttl=0, shared_locks=True)

        other_process_db = Database(store41.url, prefix=store41.prefix)
        first, second = catalog(store41), catalog(other_process_db)
        with first._shared_lock(40):
            with pytest.raises(TransientError, match="being synced by another process"):
                second.sync(40, "e-order")
            assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_listing WHERE product_id = 40")["n"] == 0
        second.sync(40, "e-order")  # the first is done: the lock is free
        assert store41.one("SELECT status FROM {p}kervan_listing WHERE product_id = 40")["status"] == "submitted"
        # Without partitions no named lock is taken at all.
        plain = TrendyolCatalog(other_process_db, account, TrendyolClient(sb.base_url, account.seller_id, demo_store.API_KEY,
                                                                  demo_store.API_SECRET), mapping_ttl=0)
        with first._shared_lock(41):
            plain.sync(41, "e-41")
        assert store41.one("SELECT status FROM {p}kervan_listing WHERE product_id = 41")["status"] == "submitted"
    finally:
        sb.stop()


def test_the_partitions_a_process_owns_come_from_its_configuration():
    from bridge import config as kconfig
    from workers.roles import _first_partitions

    cfg = kconfig.load(environ={}).with_overrides({"worker": {"partitions": "2,3"}})
    four = tuple(Topology(catalog_partitions=4).queues("catalog", "trendyol"))
    assert _first_partitions(cfg, four) == four[2:]
    # A role with one queue (orders, or an unpartitioned catalog) ignores a shared setting.
    assert _first_partitions(cfg, ("kervan.orders.trendyol",)) == ("kervan.orders.trendyol",)
    assert _first_partitions(kconfig.load(environ={}), four) == ()  # none named: all at once
    with pytest.raises(SystemExit, match=r"\[4\] do not exist"):
        _first_partitions(cfg.with_overrides({"worker": {"partitions": "0,4"}}), four)
    with pytest.raises(SystemExit, match="partition numbers"):
        _first_partitions(cfg.with_overrides({"worker": {"partitions": "p1"}}), four)
