"""Fault injection and the per-endpoint rate limit.

Faults are configured per endpoint name (the route names in ``server.ROUTES``), per alias
(``update`` = the three update services, ``write`` = every write service, ``read`` = every read
service) or ``*``. For each fault field the most specific setting wins, so ``*`` error_rate plus a
``create`` latency gives create both. Random faults draw from one seedable RNG, so a seeded run
injects the same faults in the same request order.
"""

from __future__ import annotations

import threading
from collections import deque

from sandbox.common.faults import FAULT_FIELDS, Decision, FaultSpec
from sandbox.common.faults import FaultInjector as _FaultInjector

__all__ = ["ALIASES", "FAULT_FIELDS", "Decision", "FaultInjector", "FaultSpec", "RateLimiter", "READ_ENDPOINTS",
           "WRITE_ENDPOINTS"]

WRITE_ENDPOINTS = (
    "create",
    "update_unapproved",
    "update_content",
    "update_variant",
    "delete",
    "archive",
    "price_inventory",
)
READ_ENDPOINTS = (
    "batch_result",
    "filter",
    "filter_unapproved",
    "filter_inventory_price",
    "product_base",
    "categories",
    "category_attributes",
    "attribute_values",
    "brands",
    "brands_by_name",
)
ALIASES: dict[str, tuple[str, ...]] = {
    "update": ("update_unapproved", "update_content", "update_variant"),
    "write": WRITE_ENDPOINTS,
    "read": READ_ENDPOINTS,
}


class FaultInjector(_FaultInjector):
    def __init__(self, seed: int | None = None) -> None:
        super().__init__(ALIASES, seed)


class RateLimiter:
    """Sliding-window log: at most ``limit`` admitted requests per ``window`` seconds per key
    (key = seller + endpoint, as Trendyol counts "the same endpoint"). Rejected requests are not
    counted, so a client that backs off is admitted again as soon as the window slides."""

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
