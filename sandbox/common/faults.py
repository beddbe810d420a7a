"""Fault injection for the sandboxes: 5xx, throttling, latency, hanging and dropped connections,
lost responses, and "the next N requests fail"."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class FaultSpec:
    error_rate: float = 0.0  # probability of a 5xx (with the marketplace's own error body)
    error_status: int = 500  # status used by error_rate and fail_next (e.g. 502, 503)
    throttle_rate: float = 0.0  # probability of the marketplace's throttling answer (429, or HB catalog's 403)
    latency: float | list[float] = 0.0  # seconds, or [min, max] drawn uniformly
    timeout_rate: float = 0.0  # probability of holding the connection hang_seconds, then closing it
    drop_rate: float = 0.0  # probability of closing the connection at once, no response
    lost_response_rate: float = 0.0  # probability of APPLYING the request, then closing without answering
    fail_next: int = 0  # the next N requests answer error_status

    def is_default(self, name: str) -> bool:
        return getattr(self, name) == getattr(FaultSpec, name)


FAULT_FIELDS = tuple(f.name for f in fields(FaultSpec))


@dataclass
class Decision:
    """What to do with one request: ``action`` is ok | error | throttle | timeout | drop, and
    ``lose_response`` asks the server to apply the request but send nothing back."""

    action: str = "ok"
    delay: float = 0.0
    status: int = 500
    lose_response: bool = False
    reasons: list[str] = field(default_factory=list)


class FaultInjector:
    """Faults per endpoint name, per alias (a group of endpoints, e.g. ``write``) or ``*``; for
    each field the most specific non-default setting wins. Random faults draw from one seedable
    RNG, so a seeded run injects the same faults in the same request order."""

    def __init__(self, aliases: Mapping[str, tuple[str, ...]] | None = None, seed: int | None = None) -> None:
        self.aliases = dict(aliases or {})
        self._seed = seed
        self._lock = threading.Lock()
        self._specs: dict[str, FaultSpec] = {}
        self._rng = random.Random(seed)

    def set(self, endpoint: str, **settings: Any) -> dict[str, Any]:
        """Update (not replace) the faults of ``endpoint``; returns its resulting settings."""
        unknown = set(settings) - set(FAULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        # Values may arrive as JSON strings from POST /__sandbox/faults; store them typed.
        for name in ("error_rate", "throttle_rate", "timeout_rate", "drop_rate", "lost_response_rate"):
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

    def _matching(self, endpoint: str, groups: tuple[str, ...]) -> list[FaultSpec]:
        names = [endpoint, *[a for a, members in self.aliases.items() if endpoint in members], *groups, "*"]
        return [self._specs[n] for n in names if n in self._specs]

    def decide(self, endpoint: str, *groups: str) -> Decision:
        """What to do with one request to ``endpoint``; ``groups`` are further names it answers
        to (e.g. Hepsiburada's host), less specific than its aliases."""
        with self._lock:
            specs = self._matching(endpoint, groups)
            if not specs:
                return Decision()

            def pick(name: str) -> Any:
                for spec in specs:
                    if not spec.is_default(name):
                        return getattr(spec, name)
                return getattr(FaultSpec, name)

            decision = Decision(status=int(pick("error_status")))
            latency = pick("latency")
            if isinstance(latency, list):
                decision.delay = self._rng.uniform(latency[0], latency[1])
            else:
                decision.delay = float(latency)
            for spec in specs:
                if spec.fail_next > 0:
                    spec.fail_next -= 1
                    decision.action = "error"
                    decision.reasons.append("fail_next")
                    return decision
            for action, name in (
                ("drop", "drop_rate"),
                ("timeout", "timeout_rate"),
                ("error", "error_rate"),
                ("throttle", "throttle_rate"),
            ):
                rate = float(pick(name))
                if rate > 0 and self._rng.random() < rate:
                    decision.action = action
                    decision.reasons.append(name)
                    return decision
            rate = float(pick("lost_response_rate"))
            if rate > 0 and self._rng.random() < rate:
                decision.lose_response = True
                decision.reasons.append("lost_response_rate")
            return decision
