"""Helpers for tests that run fleet processes for real (``kervan relay``, ``kervan worker``) and
read what reached the broker."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pika

from kervan.procs import Proc

__all__ = ["Proc", "drain", "worker_thread"]


@contextmanager
def worker_thread(worker) -> Iterator:
    """Run a ``workers.runtime.Worker`` (or a ``bridge.relay.Relay``: anything with ``run`` and
    ``stop``) on a thread of this process; stop it on leaving, and fail if it does not stop (it
    must drain and exit on ``stop()``)."""
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    try:
        yield worker
    finally:
        worker.stop()
        t.join(timeout=60)
        assert not t.is_alive(), "worker did not stop"


def drain(amqp_url: str, queue: str, idle: float = 1.0) -> list[dict]:
    """Consume everything in ``queue`` (acking) until it stays empty for ``idle`` seconds.
    (A consumer, not basic.get: work queues have a single active consumer, which basic.get
    cannot be.)"""
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=500)
    out = []
    for method, _props, body in ch.consume(queue, inactivity_timeout=idle):
        if method is None:
            break
        out.append(json.loads(body))
        ch.basic_ack(method.delivery_tag)
    ch.cancel()
    conn.close()
    return out
