"""A rate limiter shared by every process that calls the same marketplace account (rule 11).

GCRA (generic cell rate algorithm) in one Lua script on Redis, timed by Redis ``TIME`` so that the
clocks of the calling hosts do not matter. One key per (marketplace, endpoint, account):
``<prefix>rl:<marketplace>:<endpoint>:<account>``, holding the "theoretical arrival time" (TAT) in
microseconds, expiring by itself once idle.

Configured as ``limit`` requests per ``period`` seconds (Trendyol: 50 per 10 s per endpoint):
requests are spaced ``period / limit`` apart, with a burst of up to ``burst`` (default ``limit``)
admitted at once after idleness. Note that a GCRA with burst = limit admits up to
``burst + limit - 1`` requests in a worst-case sliding window of ``period``; against a marketplace
that counts a strict sliding window, pass a smaller ``burst`` (``burst=1`` never exceeds ``limit``
in any window) — the 429s that remain are handled by ``penalize``.

``scale`` (``[ratelimit] scale``, default 1) multiplies the documented rate: ``limit × scale``
requests per ``period`` (the spacing shrinks by ``scale``; the burst stays as given). It exists for
sandboxes run with the same factor (``rate_scale``), e.g. the 100,000-product benchmark; against a
real marketplace it stays 1.
"""

from __future__ import annotations

import math
import random
import time
from typing import Any

import redis
from loguru import logger

from workers.channels.errors import ThrottledError

# KEYS[1] = key; ARGV[1] = emission interval T (µs); ARGV[2] = delay tolerance tau (µs).
# Admit iff now >= TAT + T - (tau + T)  i.e. new_tat - now <= tau + T. Returns wait in µs (0 = admitted).
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or 0)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tau - interval
if now < allow_at then
  return allow_at - now
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return 0
"""

# KEYS[1] = key; ARGV[1] = T (µs); ARGV[2] = tau (µs); ARGV[3] = penalty (µs).
# Push TAT so that the next admission is no earlier than now + penalty (and the burst is used up).
_PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local target = now + tonumber(ARGV[3]) + tau
local tat = tonumber(redis.call('GET', KEYS[1]) or 0)
if tat < target then
  tat = target
  redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
return tat - now
"""


def rate_scale(cfg: Any) -> float:
    """The fleet's ``[ratelimit] scale`` (``KERVAN_RATELIMIT_SCALE``): the factor every client
    limiter multiplies its documented rate by. 1 — the documented limits — unless set."""
    value = cfg.getfloat("ratelimit", "scale")
    if not value > 0:
        raise ValueError(f"[ratelimit] scale must be > 0, not {value!r}")
    return value


def rate_key(marketplace: str, endpoint: str, account: str) -> str:
    """The part of the Redis key after ``<prefix>rl:`` — ``<marketplace>:<endpoint>:<account>``."""
    return f"{marketplace}:{endpoint}:{account}"


class RateLimiter:
    """Redis GCRA limiter: ``limit`` per ``period`` seconds per key, shared by all processes.

    ``client`` is a redis-py client (any ``decode_responses``); ``prefix`` is the deployment's Redis
    key prefix (e.g. ``kervan:``), to which ``rl:`` and the key are appended.

    If Redis fails, ``fail_open`` (default) admits the request and logs a warning — a 429 is then
    handled reactively — otherwise the Redis error propagates.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        limit: int,
        period: float,
        *,
        burst: int | None = None,
        fail_open: bool = True,
        name: str = "",
        scale: float = 1.0,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be >= 1 and period > 0")
        if not scale > 0:
            raise ValueError("scale must be > 0")
        burst = limit if burst is None else burst
        if burst < 1:
            raise ValueError("burst must be >= 1")
        self.client = client
        self.prefix = prefix
        self.limit = limit
        self.period = float(period)
        self.burst = burst
        self.fail_open = fail_open
        self.name = name
        self.scale = float(scale)
        self.interval_us = max(1, round(self.period * 1_000_000 / (limit * self.scale)))
        self.tau_us = self.interval_us * (burst - 1)
        self._acquire = client.register_script(_ACQUIRE)
        self._penalize = client.register_script(_PENALIZE)

    def redis_key(self, key: str) -> str:
        return f"{self.prefix}rl:{key}"

    def try_acquire(self, key: str) -> float:
        """Take one slot if free: 0.0 when admitted, else the seconds until one frees (nothing taken)."""
        try:
            wait_us = self._acquire(keys=[self.redis_key(key)], args=[self.interval_us, self.tau_us])
        except redis.RedisError as exc:
            if not self.fail_open:
                raise
            logger.warning("rate limiter unavailable for {} ({}); admitting", key, type(exc).__name__)
            return 0.0
        return int(wait_us) / 1_000_000

    def acquire(self, key: str, max_wait: float = 30.0) -> float:
        """Block until admitted, at most ``max_wait`` seconds; returns the seconds waited.

        Raises ``ThrottledError`` (``retry_after`` = the limiter's estimate) at once when the wait
        would exceed ``max_wait`` — the caller decides whether to requeue or retry."""
        waited = 0.0
        deadline = time.monotonic() + max_wait
        while True:
            wait = self.try_acquire(key)
            if wait <= 0:
                return waited
            remaining = deadline - time.monotonic()
            if wait > remaining:
                raise ThrottledError(
                    f"local rate limit for {key} ({self.limit}/{self.period:g}s"
                    f"{f' ×{self.scale:g}' if self.scale != 1 else ''})",
                    status=None,
                    code="rate.limited",
                    retry_after=math.ceil(wait * 1000) / 1000,
                )
            # A little jitter so that processes woken at the same instant do not collide again.
            nap = min(remaining, wait + random.uniform(0, min(0.05, self.interval_us / 4_000_000)))
            time.sleep(nap)
            waited += nap

    def penalize(self, key: str, seconds: float) -> float:
        """Admit nothing on ``key`` for ``seconds`` from now (e.g. a 429's Retry-After); returns the
        seconds until the next admission. Never shortens an existing wait."""
        try:
            left_us = self._penalize(
                keys=[self.redis_key(key)],
                args=[self.interval_us, self.tau_us, max(0, round(seconds * 1_000_000))],
            )
        except redis.RedisError as exc:
            if not self.fail_open:
                raise
            logger.warning("rate limiter unavailable for {} ({}); penalty dropped", key, type(exc).__name__)
            return 0.0
        return max(0.0, (int(left_us) - self.tau_us) / 1_000_000)

    def reset(self, key: str) -> None:
        self.client.delete(self.redis_key(key))


__all__ = ["RateLimiter", "rate_key", "rate_scale"]
