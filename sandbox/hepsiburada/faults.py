"""Fault injection and the sliding-window rate limits of the three hosts.

Faults are set per route name (see ``server.ROUTES``), per host (``catalog``, ``listing``,
``oms``) or ``*``; for each field the most specific non-default setting wins. Random faults draw
from one seedable RNG.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class FaultSpec:
    error_rate: float = 0.0  # probability of a 5xx (error_status)
    error_status: int = 500
    throttle_rate: float = 0.0  # probability of the host's throttling answer (catalog 403, others 429)
    latency: float | list[float] = 0.0  # seconds, or [min, max]
    timeout_rate: float = 0.0  # probability of holding the connection, then closing it unanswered
    fail_next: int = 0  # the next N requests answer error_status

    def is_default(self, name: str) -> bool:
        return getattr(self, name) == getattr(FaultSpec, name)


FAULT_FIELDS = tuple(f.name for f in fields(FaultSpec))


@dataclass
class Decision:
    action: str = "ok"  # ok | error | throttle | timeout
    delay: float = 0.0
    status: int = 500
    reasons: list[str] = field(default_factory=list)


class FaultInjector:
    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._specs: dict[str, FaultSpec] = {}
        self._rng = random.Random(seed)

    def set(self, endpoint: str, **settings: Any) -> dict[str, Any]:
        unknown = set(settings) - set(FAULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        for name in ("error_rate", "throttle_rate", "timeout_rate"):
            if name in settings:
                settings[name] = float(settings[name])
                if not 0.0 <= settings[name] <= 1.0:
                    raise ValueError(f"{name} must be a probability between 0 and 1")
        for name in ("error_status", "fail_next"):
            if name in settings:
                settings[name] = int(settings[name])
        latency = settings.get("latency")
        if isinstance(latency, (list, tuple)):
            if len(latency) != 2 or float(latency[0]) > float(latency[1]):
                raise ValueError("latency range must be [min, max]")
            settings["latency"] = [float(latency[0]), float(latency[1])]
        elif latency is not None:
            settings["latency"] = float(latency)
        with self._lock:
            spec = self._specs.setdefault(endpoint, FaultSpec())
            for key, value in settings.items():
                setattr(spec, key, value)
            return dict(spec.__dict__)

    def clear(self, endpoint: str | None = None) -> None:
        with self._lock:
            if endpoint is None:
                self._specs.clear()
            else:
                self._specs.pop(endpoint, None)

    def reset(self) -> None:
        with self._lock:
            self._specs.clear()
            self._rng = random.Random(self._seed)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: dict(spec.__dict__) for name, spec in self._specs.items()}

    def decide(self, endpoint: str, host: str) -> Decision:
        with self._lock:
            specs = [self._specs[n] for n in (endpoint, host, "*") if n in self._specs]
            if not specs:
                return Decision()

            def pick(name: str) -> Any:
                for spec in specs:
                    if not spec.is_default(name):
                        return getattr(spec, name)
                return getattr(FaultSpec, name)

            decision = Decision(status=int(pick("error_status")))
            latency = pick("latency")
            decision.delay = (
                self._rng.uniform(latency[0], latency[1]) if isinstance(latency, list) else float(latency)
            )
            for spec in specs:
                if spec.fail_next > 0:
                    spec.fail_next -= 1
                    decision.action = "error"
                    decision.reasons.append("fail_next")
                    return decision
            for action, name in (("timeout", "timeout_rate"), ("error", "error_rate"), ("throttle", "throttle_rate")):
                rate = float(pick(name))
                if rate > 0 and self._rng.random() < rate:
                    decision.action = action
                    decision.reasons.append(name)
                    return decision
            return decision


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
