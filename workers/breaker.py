"""One circuit breaker per marketplace account, its state in Redis so every process of the fleet
shares it (reliability §3, rule 10).

Only transient failures count (network errors and 5xx: see ``workers.http``); validation errors
and 429s do not (429s are the rate limiter's business). While a breaker is open the account's
consumers stop taking messages — they wait in RabbitMQ instead of feeding a retry storm — and
once the reset timeout has passed they take messages again: the first call is the half-open trial,
which closes the breaker on success or opens it again on failure.
"""

from __future__ import annotations

import time

import pybreaker
import redis
from loguru import logger

OPEN = pybreaker.STATE_OPEN


class _LogListener(pybreaker.CircuitBreakerListener):
    def state_change(self, cb, old_state, new_state) -> None:
        logger.warning("breaker {}: {} → {}", cb.name, getattr(old_state, "name", old_state),
                       getattr(new_state, "name", new_state))


def namespace(prefix: str, code: str, account: str) -> str:
    return f"{prefix}breaker:{code}:{account}"


def make_breaker(client: redis.Redis, prefix: str, code: str, account: str, *, fail_max: int = 5,
                 reset_timeout: float = 30.0) -> pybreaker.CircuitBreaker:
    """``client``: pybreaker's Redis storage needs bytes from it (no ``decode_responses``)."""
    storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, client, namespace=namespace(prefix, code, account))
    return pybreaker.CircuitBreaker(fail_max=fail_max, reset_timeout=reset_timeout, state_storage=storage,
                                    listeners=[_LogListener()], name=f"{code}/{account}")


def blocks_consumers(breaker: pybreaker.CircuitBreaker) -> bool:
    """Open and still inside its reset timeout: the consumers should not take messages now."""
    try:
        if breaker.current_state != OPEN:
            return False
        opened_at = breaker._state_storage.opened_at  # noqa: SLF001 - pybreaker exposes no public getter
    except redis.RedisError:
        return False  # Redis away: fail open, as pybreaker itself does
    if opened_at is None:
        return True
    opened = opened_at.timestamp() if hasattr(opened_at, "timestamp") else float(opened_at)
    return time.time() - opened < breaker.reset_timeout


def state(redis_client: redis.Redis, prefix: str, code: str, account: str) -> str:
    """The shared state as stored (for ``kervan status``): closed, open or half-open."""
    raw = redis_client.get(f"{namespace(prefix, code, account)}:pybreaker:state")
    if raw is None:
        return "closed"
    return raw.decode() if isinstance(raw, bytes) else str(raw)
