"""Concurrent one-key reads served by one many-key read.

A catalog worker syncs a product per message on several threads, and most of each sync is
reading the product: eleven statements whether one product is read or a hundred. Threads that ask
while a read is running wait for it to end and are then read together, in one go, by the first of
them. Nobody waits for a timer: a thread asking alone reads at once. A read always starts after
every ask it serves was made, so what it returns is at least as fresh as a read of one's own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Ask(Generic[K, V]):
    __slots__ = ("done", "error", "key", "leads", "value")

    def __init__(self, key: K) -> None:
        self.key = key
        self.done = threading.Event()
        self.leads = False  # woken to read the next group rather than with a value
        self.value: V | None = None
        self.error: BaseException | None = None


class GroupedReads(Generic[K, V]):
    """``get(key)`` from many threads; ``load_many(keys) -> {key: value}`` runs for a group of
    them at a time (at most ``max_group`` keys), never two at once. Absent keys read as None;
    an error of ``load_many`` is raised in every thread of that group."""

    def __init__(self, load_many: Callable[[list[K]], dict[K, V]], max_group: int = 100) -> None:
        self._load_many = load_many
        self._max_group = max_group
        self._lock = threading.Lock()
        self._waiting: list[_Ask[K, V]] = []
        self._busy = False

    def get(self, key: K) -> V | None:
        ask: _Ask[K, V] = _Ask(key)
        with self._lock:
            self._waiting.append(ask)
            leads = not self._busy
            self._busy = True
        if not leads:
            ask.done.wait()
            if not ask.leads:
                if ask.error is not None:
                    raise ask.error
                return ask.value
        return self._read_group(ask)

    def _read_group(self, mine: _Ask[K, V]) -> V | None:
        # The leader is always first in line: it asked when nobody was reading, or it was the
        # first waiting when the last read ended.
        with self._lock:
            group = self._waiting[: self._max_group]
            del self._waiting[: self._max_group]
        found: dict[K, V] = {}
        error: BaseException | None = None
        try:
            found = self._load_many(list(dict.fromkeys(a.key for a in group)))
        except BaseException as exc:  # noqa: BLE001 - handed to every thread of the group
            error = exc
        with self._lock:
            successor = self._waiting[0] if self._waiting else None
            if successor is None:
                self._busy = False
            else:
                successor.leads = True
        if successor is not None:
            successor.done.set()
        for a in group:
            if a is not mine:
                a.value, a.error = found.get(a.key), error
                a.done.set()
        if error is not None:
            raise error
        return found.get(mine.key)
