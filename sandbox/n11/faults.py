"""Fault injection and the sandbox's own rate limiter (a sliding-window log per account+group).

Faults are set per endpoint name (see ``server.ROUTES``), per alias (``write`` = the product task
endpoints, ``orders`` = every /rest/ order endpoint, ``read`` = every other read) or ``*``; for each
field the most specific setting wins. Random faults draw from one seedable RNG.
"""

from __future__ import annotations

import threading
from collections import deque

from sandbox.common.faults import FaultInjector as _FaultInjector

WRITE_ENDPOINTS = ("product_create", "product_update", "price_stock", "product_delete")
ORDER_ENDPOINTS = ("shipment_packages", "order_update", "split_combine", "split_by_quantity")
READ_ENDPOINTS = ("task_details", "product_query", "categories", "category_attributes")
ALIASES: dict[str, tuple[str, ...]] = {
    "write": WRITE_ENDPOINTS,
    "orders": ORDER_ENDPOINTS,
    "read": READ_ENDPOINTS,
}


class FaultInjector(_FaultInjector):
    def __init__(self, seed: int | None = None) -> None:
        super().__init__(ALIASES, seed)


class WindowLimiter:
    """At most ``limit`` admitted requests per ``window`` seconds per key (rejected ones not counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def allow(self, key: tuple[str, str], limit: int, window: float, now: float) -> bool:
        if limit <= 0:
            return True
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
