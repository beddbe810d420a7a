"""Coalescing: many small changes for one marketplace account become few requests.

Handlers ``submit`` items; a flusher thread sends whatever has gathered once the first item has
waited ``window`` seconds, or at once when ``max_items`` (the marketplace's largest batch) are
waiting. A second item for a key already waiting replaces the first: only the latest value of a
listing is worth sending. Each ``submit`` returns a ``Future`` that completes when the request
carrying its item was sent and recorded (or failed), which the consumer runtime uses to ack the
message only then (``workers/runtime.py``) — nothing is acknowledged that is only in memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from loguru import logger


@dataclass
class _Waiting:
    item: Any
    futures: list[Future] = field(default_factory=list)


# send(items) → {key: exception} for items that failed alone; raising fails the whole batch.
Sender = Callable[[list[tuple[str, Any]]], dict[str, BaseException]]


class Coalescer:
    def __init__(self, send: Sender, *, max_items: int, window: float, name: str = "coalescer") -> None:
        self.send = send
        self.max_items = max(1, int(max_items))
        self.window = max(0.0, float(window))
        self.name = name
        self._cond = threading.Condition()
        self._waiting: dict[str, _Waiting] = {}
        self._first_at: float | None = None
        self._stopping = False
        self.requests = 0  # batches sent, for metrics and tests
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, key: str, item: Any) -> Future:
        fut: Future = Future()
        with self._cond:
            if self._stopping:
                raise RuntimeError(f"{self.name} is stopped")
            waiting = self._waiting.get(key)
            if waiting is None:
                waiting = self._waiting[key] = _Waiting(item)
            else:
                waiting.item = item
            waiting.futures.append(fut)
            if self._first_at is None:
                self._first_at = time.monotonic()
            self._cond.notify()
        return fut

    def pending(self, key: str) -> Any | None:
        """The item waiting for ``key``, if one is (not yet taken for sending)."""
        with self._cond:
            waiting = self._waiting.get(key)
            return waiting.item if waiting is not None else None

    def close(self, timeout: float = 30.0) -> None:
        """Send what is waiting, then stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)

    def _take(self) -> list[tuple[str, _Waiting]] | None:
        with self._cond:
            while True:
                if self._waiting:
                    assert self._first_at is not None
                    due = self._first_at + self.window
                    now = time.monotonic()
                    if self._stopping or len(self._waiting) >= self.max_items or now >= due:
                        keys = list(self._waiting)[: self.max_items]
                        taken = [(k, self._waiting.pop(k)) for k in keys]
                        self._first_at = time.monotonic() if self._waiting else None
                        return taken
                    self._cond.wait(due - now)
                elif self._stopping:
                    return None
                else:
                    self._cond.wait()

    def _run(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            self.requests += 1
            try:
                failures = self.send([(k, w.item) for k, w in taken]) or {}
            except BaseException as exc:  # noqa: BLE001 - every item of the batch learns why
                failures = {k: exc for k, _ in taken}
                logger.warning("{}: batch of {} not sent: {}", self.name, len(taken), exc)
            for key, waiting in taken:
                exc = failures.get(key)
                for fut in waiting.futures:
                    if exc is None:
                        fut.set_result(None)
                    else:
                        fut.set_exception(exc)


def all_of(futures: list[Future]) -> Future:
    """One future for several: done when all are, failed with the first failure."""
    out: Future = Future()
    if not futures:
        out.set_result(None)
        return out
    left = [len(futures)]
    lock = threading.Lock()

    def done(f: Future) -> None:
        with lock:
            left[0] -= 1
            if out.done():
                return
            if f.exception() is not None:
                out.set_exception(f.exception())
            elif left[0] == 0:
                out.set_result(None)

    for f in futures:
        f.add_done_callback(done)
    return out


__all__ = ["Coalescer", "all_of"]
