"""The sandbox's memory: products, batches, the 15-minute duplicate register and the request log.

One re-entrant lock guards everything. The sandbox is a test double, not a database: one lock keeps
every read consistent (a test never sees half a batch applied) and is far below the request rates
the benchmarks reach. All snapshots handed out are deep copies, safe to keep and to JSON-encode.
"""

from __future__ import annotations

import copy
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from sandbox.common.ratescale import check as check_scale


@dataclass
class Settings:
    """Runtime-tunable behaviour; the server, batch worker and fault layer all read the same object,
    so a change (Python API or ``POST /__sandbox/config``) applies to the next request."""

    batch_delay: float = 0.2  # seconds a batch stays IN_PROGRESS before the worker processes it
    rate_limit: int = 50  # requests per window, per seller and endpoint (doc-2-authorization)
    rate_window: float = 10.0
    rate_scale: float = 1.0  # factor on every documented limit (sandbox/common/ratescale.py)
    auto_approve: bool = True  # created products are approved at once (else wait for approve())
    price_updates_per_minute: int | None = 30  # per barcode (doc-1-servis-limitleri); None disables
    duplicate_window: float = 900.0  # the 15-minute identical price/stock body rule
    batch_ttl: float = 4 * 3600.0  # batch results are viewable for 4 hours, then 404
    max_items: int = 1000  # items per write request
    hang_seconds: float = 30.0  # how long a timeout fault holds the connection before closing it
    category_tree_shape: str = "object"  # "object" = {"categories": [...]}, "array" = bare list
    content_by_slicer: bool = True  # slicer values (Renk) split a productMainId into separate contents

    def update(self, **changes: Any) -> None:
        """Apply changes, coercing JSON/CLI strings and numbers to each setting's own type."""
        for key, value in changes.items():
            if key not in self.__dataclass_fields__:
                raise ValueError(f"unknown sandbox setting {key!r}")
            current = getattr(self, key)
            if key == "price_updates_per_minute":
                value = None if value in (None, "", "none", "None", 0) else int(value)
            elif isinstance(current, bool):
                value = (
                    value.strip().lower() in ("1", "true", "yes", "on")
                    if isinstance(value, str)
                    else bool(value)
                )
            elif isinstance(current, (int, float, str)):
                value = type(current)(value)
            if key == "rate_scale":
                value = check_scale(value)
            if key == "category_tree_shape" and value not in ("object", "array"):
                raise ValueError("category_tree_shape must be 'object' or 'array'")
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Seller:
    seller_id: str
    api_key: str
    api_secret: str


DEFAULT_SELLERS = (Seller("1001", "sandbox-key", "sandbox-secret"),)


def coerce_sellers(sellers: Any) -> tuple[Seller, ...]:
    """Accept Seller objects, dicts ({sellerId, apiKey, apiSecret}) or (id, key, secret) tuples."""
    if not sellers:
        return DEFAULT_SELLERS
    out = []
    for s in sellers:
        if isinstance(s, Seller):
            out.append(s)
        elif isinstance(s, dict):
            out.append(Seller(str(s["sellerId"]), str(s["apiKey"]), str(s["apiSecret"])))
        else:
            sid, key, secret = s
            out.append(Seller(str(sid), str(key), str(secret)))
    return tuple(out)


class Clock:
    """Wall clock plus an offset tests can advance (15-minute rule, 4-hour batch expiry, rate windows)
    without sleeping. Never goes backwards: only ``advance`` and ``reset`` move the offset."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def ms(self) -> int:
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0


class Store:
    """Thread-safe state. Callers take ``store.lock`` around multi-step read-modify-write sequences."""

    def __init__(
        self, clock: Clock, seed: int | None = None, log_capacity: int = 10000, history_capacity: int = 200000
    ) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._seed = seed
        self._log_capacity = log_capacity  # raw request entries kept (newest win)
        self._history_capacity = history_capacity  # accepted writes and applied effects kept
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self._ids = random.Random(self._seed)
            # (sellerId, barcode) -> product record
            self.products: dict[tuple[str, str], dict[str, Any]] = {}
            # (sellerId, productMainId, slicer signature) -> contentId
            self.content_keys: dict[tuple, int] = {}
            self.batches: dict[str, dict[str, Any]] = {}
            # (sellerId, canonical body) -> accepted at (clock seconds)
            self.price_bodies: dict[tuple[str, str], float] = {}
            # (sellerId, barcode) -> times a price change was applied (per-barcode 30/min rule)
            self.price_hits: dict[tuple[str, str], deque[float]] = {}
            self.requests: deque[dict[str, Any]] = deque(maxlen=self._log_capacity)
            self.counts: dict[str, dict[str, int]] = {}
            # Bounded so a long-running demo or benchmark does not grow without limit; the capacity
            # is far above what any test produces, so "applied exactly once" checks stay exact.
            self.writes: deque[dict[str, Any]] = deque(maxlen=self._history_capacity)
            self.effects: deque[dict[str, Any]] = deque(maxlen=self._history_capacity)
            self._next_content = 100000001
            self._next_variant = 500000001

    # --- identifiers --------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def new_batch_id(self) -> str:
        # Trendyol's shape: a UUID followed by "-<epoch seconds>",
        # e.g. "fa75dfd5-6ce6-4730-a09e-97563500000-1529854840".
        with self.lock:
            return f"{self._uuid()}-{int(self.clock.now())}"

    def content_id_for(self, seller_id: str, product_main_id: str, slicer_signature: tuple) -> int:
        with self.lock:
            key = (seller_id, product_main_id, slicer_signature)
            if key not in self.content_keys:
                self.content_keys[key] = self._next_content
                self._next_content += 1
            return self.content_keys[key]

    def new_variant_id(self) -> int:
        with self.lock:
            vid = self._next_variant
            self._next_variant += 1
            return vid

    def new_listing_id(self) -> str:
        with self.lock:
            return self._uuid().replace("-", "")

    # --- products -----------------------------------------------------------------------------

    def product(self, seller_id: str, barcode: str) -> dict[str, Any] | None:
        return self.products.get((seller_id, barcode))

    def seller_products(self, seller_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for (sid, _), p in self.products.items() if sid == seller_id]

    def record_effect(
        self, kind: str, seller_id: str, barcode: str, batch_id: str | None, **detail: Any
    ) -> None:
        self.effects.append(
            {
                "kind": kind,
                "sellerId": seller_id,
                "barcode": barcode,
                "batchRequestId": batch_id,
                "at": self.clock.ms(),
                **detail,
            }
        )

    # --- request log --------------------------------------------------------------------------

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)
            per = self.counts.setdefault(entry["endpoint"], {})
            per[str(entry["status"])] = per.get(str(entry["status"]), 0) + 1
            if entry.get("accepted"):
                self.writes.append(
                    {
                        k: entry.get(k)
                        for k in (
                            "at",
                            "endpoint",
                            "sellerId",
                            "batchRequestId",
                            "barcodes",
                            "contentIds",
                            "responseLost",
                        )
                    }
                )

    def request_log(self) -> dict[str, Any]:
        with self.lock:
            counts = {
                ep: {"total": sum(by.values()), "byStatus": dict(by)}
                for ep, by in sorted(self.counts.items())
            }
            return copy.deepcopy(
                {
                    "counts": counts,
                    "writes": list(self.writes),
                    "effects": list(self.effects),
                    "requests": list(self.requests),
                }
            )

    # --- snapshots ----------------------------------------------------------------------------

    def snapshot_products(self, seller_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            items = [
                p for (sid, _), p in sorted(self.products.items()) if seller_id is None or sid == seller_id
            ]
            return copy.deepcopy(items)

    def snapshot_batches(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(sorted(self.batches.values(), key=lambda b: b["creationDate"]))
