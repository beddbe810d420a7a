"""Helpers for tests that run fleet processes for real (``kervan relay``, ``kervan worker``) and
read what reached the broker."""

from __future__ import annotations

import json
import time

import pika

from kervan.procs import Proc

__all__ = ["Proc", "drain"]


def drain(amqp_url: str, queue: str, idle: float = 1.0) -> list[dict]:
    """Consume everything in ``queue`` (acking) until it stays empty for ``idle`` seconds."""
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    out, last = [], time.monotonic()
    while time.monotonic() - last < idle:
        method, _props, body = ch.basic_get(queue)
        if method is None:
            time.sleep(0.05)
            continue
        out.append(json.loads(body))
        ch.basic_ack(method.delivery_tag)
        last = time.monotonic()
    conn.close()
    return out
