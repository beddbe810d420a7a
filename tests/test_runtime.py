"""The consumer runtime on the real RabbitMQ and MariaDB: acks, retries, parking, drain, heartbeats."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pika
import pytest

from bridge.envelope import Event
from bridge.heartbeat import wait_until
from bridge.topology import Topology, declare_all
from tests.fleet import worker_thread
from workers.channels.errors import PermanentError
from workers.runtime import ATTEMPT_HEADER, Worker, WorkerSettings

QUEUE = "kervan.catalog.trendyol"


class Recorder:
    """A handler that records what it applied and fails on command."""

    def __init__(self, fail_times: int = 0, permanent: bool = False, sleep: float = 0.0) -> None:
        self.applied: list[str] = []
        self.calls: list[str] = []
        self.fail_times = fail_times
        self.permanent = permanent
        self.sleep = sleep
        self.started = threading.Event()

    def handle(self, event: Event) -> None:
        self.calls.append(event.id)
        self.started.set()
        if self.sleep:
            time.sleep(self.sleep)
        if self.permanent:
            raise PermanentError("the marketplace said no")
        if self.calls.count(event.id) <= self.fail_times:
            raise ConnectionError("marketplace timed out")
        self.applied.append(event.id)


def topology() -> Topology:
    return Topology(retry_tiers=(1, 1, 1), delivery_limit=3)


@contextmanager
def running(db, amqp_url, handler, **kw):
    settings = WorkerSettings(amqp_url=amqp_url, queue=QUEUE, heartbeat_interval=0.5, **kw)
    with worker_thread(Worker(db, settings, handler, topology(), role="catalog", channel="trendyol")) as worker:
        yield worker


def publish(amqp_url: str, *bodies: bytes, routing_key: str = "product.saved") -> None:
    declare_all(amqp_url, topology())
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.confirm_delivery()
    for i, body in enumerate(bodies):
        ch.basic_publish("kervan", routing_key, body,
                         pika.BasicProperties(delivery_mode=2, message_id=f"m{i}-{time.time_ns()}"), mandatory=True)
    conn.close()


def queue_depth(amqp_url: str, queue: str = QUEUE) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    n = conn.channel().queue_declare(queue, passive=True).method.message_count
    conn.close()
    return n


def event(n: int) -> Event:
    return Event("product.saved", "product", str(n), {"product_id": n})


def parked(db) -> list[dict]:
    return db.query("SELECT * FROM {p}kervan_parked ORDER BY parked_id")


def test_poison_is_parked_and_the_queue_keeps_flowing(store41, amqp_url):
    handler = Recorder()
    good = [event(i) for i in range(5)]
    bad_type = Event("product.exploded", "product", "9").to_json()
    publish(amqp_url, b"\xff not json", good[0].to_json(), bad_type, *[e.to_json() for e in good[1:]])
    with running(store41, amqp_url, handler):
        assert wait_until(lambda: len(handler.applied) == 5 and len(parked(store41)) == 2, 20)
    assert handler.applied == [e.id for e in good] or sorted(handler.applied) == sorted(e.id for e in good)
    rows = parked(store41)
    reasons = sorted(r["reason"] for r in rows)
    assert reasons[0].startswith("poison: body is not JSON")
    assert reasons[1] == "poison: unknown event type 'product.exploded'"
    assert all(r["status"] == "open" and r["queue"] == QUEUE for r in rows)
    assert bytes(rows[0]["body"]) in (b"\xff not json", bad_type)
    assert queue_depth(amqp_url) == 0


def test_transient_failure_is_retried_through_the_ttl_tier(store41, amqp_url):
    handler = Recorder(fail_times=2)
    e = event(42)
    publish(amqp_url, e.to_json())
    with running(store41, amqp_url, handler, max_attempts=5) as worker:
        assert wait_until(lambda: handler.applied == [e.id], 20)
        assert worker.heartbeat.counters["retried"] == 2
    assert handler.calls == [e.id] * 3
    assert parked(store41) == []
    assert queue_depth(amqp_url) == 0
    assert queue_depth(amqp_url, QUEUE + ".retry.1s") == 0


def test_exhausted_attempts_are_parked_with_the_last_error(store41, amqp_url):
    handler = Recorder(fail_times=99)
    e = event(7)
    publish(amqp_url, e.to_json())
    with running(store41, amqp_url, handler, max_attempts=3):
        assert wait_until(lambda: len(parked(store41)) == 1, 20)
    row = parked(store41)[0]
    assert row["reason"] == "gave up after 3 attempts: marketplace timed out"
    assert row["attempts"] == 3 and row["message_id"] == e.id and row["event_type"] == "product.saved"
    assert handler.applied == [] and len(handler.calls) == 3


def test_permanent_failure_is_parked_once_without_retry(store41, amqp_url):
    handler = Recorder(permanent=True)
    publish(amqp_url, event(3).to_json())
    with running(store41, amqp_url, handler):
        assert wait_until(lambda: len(parked(store41)) == 1, 20)
        time.sleep(1.5)  # a retry would have come back through the 1 s tier by now
    assert len(handler.calls) == 1
    assert parked(store41)[0]["reason"] == "permanent: the marketplace said no"


def test_long_handler_keeps_the_connection_alive(store41, amqp_url):
    # Heartbeat 2 s: a handler blocking the I/O loop for 7 s would lose the connection and get
    # the message redelivered. Handlers run off the I/O thread, so it is applied exactly once.
    handler = Recorder(sleep=7)
    e = event(5)
    publish(amqp_url, e.to_json())
    with running(store41, amqp_url, handler, heartbeat=2):
        assert wait_until(lambda: handler.applied == [e.id], 30)
        time.sleep(1)
    assert handler.calls == [e.id]
    assert queue_depth(amqp_url) == 0


def test_stop_finishes_the_message_in_hand(store41, amqp_url):
    handler = Recorder(sleep=2)
    e = event(8)
    publish(amqp_url, e.to_json())
    with running(store41, amqp_url, handler) as worker:
        assert handler.started.wait(20)
        worker.stop()  # as SIGTERM does, while the handler is still busy
    assert handler.applied == [e.id]
    assert queue_depth(amqp_url) == 0
    beat = store41.one("SELECT * FROM {p}kervan_heartbeat WHERE role = 'catalog'")
    assert beat["state"] == "stopped" and beat["channel"] == "trendyol"
    assert '"acked": 1' in beat["counters"]


def test_crash_loops_end_in_the_parked_table(store41, amqp_url):
    # A consumer that takes the message and dies (here: gives it back) every time exhausts the
    # quorum queue's delivery limit; RabbitMQ dead-letters it and a worker drains it to the table.
    e = event(11)
    publish(amqp_url, e.to_json())
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=1)
    for method, _props, _body in ch.consume(QUEUE, inactivity_timeout=1):
        if method is None:
            break
        ch.basic_nack(method.delivery_tag, requeue=True)
    ch.cancel()
    conn.close()
    handler = Recorder()
    with running(store41, amqp_url, handler):
        assert wait_until(lambda: len(parked(store41)) == 1, 20)
    row = parked(store41)[0]
    assert row["reason"].startswith("delivery limit exceeded")
    assert row["queue"] == QUEUE and handler.applied == []


@pytest.mark.parametrize("attempt", [1, 2, 3, 9])
def test_retry_tier_grows_with_the_attempt(attempt):
    t = Topology(retry_tiers=(1, 5, 30))
    assert t.tier_for(attempt) == {1: 1, 2: 5, 3: 30, 9: 30}[attempt]
    assert ATTEMPT_HEADER.startswith("x-kervan")


def test_admin_replay_command_sends_a_parked_message_back(store41, amqp_url):
    handler = Recorder(permanent=True)
    e = event(12)
    publish(amqp_url, e.to_json())
    with running(store41, amqp_url, handler):
        assert wait_until(lambda: len(parked(store41)) == 1, 20)
        handler.permanent = False  # the merchant fixed the cause
        parked_id = parked(store41)[0]["parked_id"]
        # What the admin's "Replay" button writes to the outbox, as the relay publishes it.
        publish(amqp_url, Event("cmd.replay", "parked", str(parked_id), {"parked_ids": [parked_id]}).to_json(),
                routing_key="cmd.replay")
        assert wait_until(lambda: handler.applied == [e.id], 20)
    row = parked(store41)[0]
    assert row["status"] == "replayed" and row["resolved_at"] is not None
    assert queue_depth(amqp_url, "kervan.control") == 0


def test_a_paused_channel_takes_nothing_until_resumed(store41, amqp_url):
    handler = Recorder()
    pause = {"on": True}
    settings = WorkerSettings(amqp_url=amqp_url, queue=QUEUE, heartbeat_interval=0.5, pause_check_every=0.2)
    worker = Worker(store41, settings, handler, topology(), role="catalog", channel="trendyol",
                    paused=lambda: pause["on"])
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    try:
        publish(amqp_url, *[event(i).to_json() for i in range(3)])
        assert wait_until(lambda: worker.heartbeat.state == "paused", 10)
        time.sleep(1)
        assert handler.calls == [] and queue_depth(amqp_url) == 3  # waiting in RabbitMQ
        pause["on"] = False
        assert wait_until(lambda: len(handler.applied) == 3, 20)
        assert worker.heartbeat.state == "consuming"
    finally:
        worker.stop()
        t.join(60)


def test_replay_and_discard_from_the_command_line_by_reason(store41, amqp_url, cfg_factory):
    import subprocess
    import sys

    from kervan.procs import ROOT

    handler = Recorder(permanent=True)
    publish(amqp_url, event(20).to_json(), event(21).to_json(), b"garbage")
    with running(store41, amqp_url, handler):
        assert wait_until(lambda: len(parked(store41)) == 3, 20)
    env = {"PATH": "/usr/bin:/bin", **cfg_factory(store41, amqp_url).env()}

    def kervan(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "kervan.cli", *args], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert len(kervan("parked", "list", "--reason", "permanent").splitlines()) == 2
    assert kervan("discard", "--reason", "poison").count("discarded") == 1
    assert kervan("replay", "--queue", QUEUE).count("replayed") == 2
    statuses = sorted(r["status"] for r in parked(store41))
    assert statuses == ["discarded", "replayed", "replayed"]
    assert queue_depth(amqp_url) == 2  # back in the work queue, waiting for a worker
