"""Fault injection and the sliding-window rate limits of the three hosts.

Faults are set per route name (see ``server.ROUTES``), per host (``catalog``, ``listing``,
``oms``) or ``*``; for each field the most specific non-default setting wins. Random faults draw
from one seedable RNG.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from sandbox.common.faults import FaultInjector as _FaultInjector


class FaultInjector(_FaultInjector):
    """Faults per route name, per host (``catalog``, ``listing``, ``oms``) or ``*``."""

    def __init__(self, seed: int | None = None) -> None:
        super().__init__({}, seed)


class WindowLimiter:
    """Sliding-window log: at most ``limit`` admitted requests per ``window`` seconds per key.
    Rejected requests are not counted. ``over_since`` remembers when a key started being refused
    (cleared by the next admitted request): the catalog host blocks an IP refused for 5 s on end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[Any, deque[float]] = {}
        self.over_since: dict[Any, float] = {}

    def allow(self, key: Any, limit: int, window: float, now: float) -> tuple[bool, int, float]:
        """(admitted, remaining, seconds until the window frees a slot)."""
        if limit <= 0:
            return True, 0, 0.0
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                self.over_since.setdefault(key, now)
                return False, 0, max(0.0, hits[0] + window - now)
            hits.append(now)
            self.over_since.pop(key, None)
            return True, limit - len(hits), max(0.0, hits[0] + window - now)

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
            self.over_since.clear()
