"""The shared Redis GCRA limiter on the machine's real Redis: burst, spacing, sharing across threads
and processes, penalties. Assertions are on counts and order with generous time bounds, so a busy
2-core machine cannot break them."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.conftest import REDIS_URL
from workers.channels.errors import ThrottledError
from workers.ratelimit import RateLimiter, rate_key

KEY = rate_key("trendyol", "create", "1001")


@pytest.fixture
def client():
    c = redis.Redis.from_url(REDIS_URL)
    yield c
    c.close()


def redis_now(client: redis.Redis) -> float:
    sec, usec = client.time()
    return sec + usec / 1_000_000


def admitted_in_tight_loop(limiter: RateLimiter, key: str, attempts: int) -> tuple[int, float, float]:
    """(how many try_acquire calls were admitted, Redis-clock start and end of the loop)."""
    start = redis_now(limiter.client)
    admitted = sum(1 for _ in range(attempts) if limiter.try_acquire(key) == 0)
    return admitted, start, redis_now(limiter.client)


def gcra_bound(burst: int, interval: float, span: float) -> int:
    """The most a GCRA can admit within ``span`` seconds: the burst plus one per interval."""
    return burst + int(span / interval) + 1


def test_key_layout_and_expiry(client, redis_prefix):
    limiter = RateLimiter(client, redis_prefix, limit=5, period=1.0)
    assert limiter.try_acquire(KEY) == 0
    name = f"{redis_prefix}rl:trendyol:create:1001"
    assert client.exists(name)
    ttl_ms = client.pttl(name)
    assert 0 < ttl_ms <= 10_000  # expires by itself once idle


def test_admits_exactly_the_burst_then_spaces(client, redis_prefix):
    limiter = RateLimiter(client, redis_prefix, limit=5, period=1.0)
    admitted, start, end = admitted_in_tight_loop(limiter, KEY, 20)
    took = end - start
    # Exactly the burst of 5 — plus one per 0.2 s emission interval if this machine was very slow.
    assert 5 <= admitted <= gcra_bound(5, 0.2, took)
    if took < 0.19:
        assert admitted == 5
    wait = limiter.try_acquire(KEY)
    assert 0 < wait <= 0.2 + 1e-6  # the next slot is one emission interval (1 s / 5) away at most

    # Blocking acquire spaces the requests: 5 more can never come faster than 4 intervals.
    t0 = time.monotonic()
    waits = [limiter.acquire(KEY, max_wait=5.0) for _ in range(5)]
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.7  # 5 slots at 0.2 s spacing, first one up to 0.2 s away: ≥ 0.8 s minus slack
    assert elapsed < 10.0
    assert sum(1 for w in waits if w > 0) >= 4


def test_denied_attempts_take_nothing(client, redis_prefix):
    limiter = RateLimiter(client, redis_prefix, limit=2, period=10.0)
    assert limiter.try_acquire(KEY) == 0
    assert limiter.try_acquire(KEY) == 0
    for _ in range(50):
        assert limiter.try_acquire(KEY) > 0
    # 50 denials did not push the next slot out: it is still at most one interval (5 s) away.
    assert limiter.try_acquire(KEY) <= 5.0


def test_keys_are_independent(client, redis_prefix):
    limiter = RateLimiter(client, redis_prefix, limit=1, period=10.0)
    assert limiter.try_acquire(rate_key("trendyol", "create", "1001")) == 0
    assert limiter.try_acquire(rate_key("trendyol", "create", "1001")) > 0
    assert limiter.try_acquire(rate_key("trendyol", "price-inventory", "1001")) == 0
    assert limiter.try_acquire(rate_key("trendyol", "create", "2002")) == 0
    other = RateLimiter(client, redis_prefix + "other:", limit=1, period=10.0)
    assert other.try_acquire(rate_key("trendyol", "create", "1001")) == 0


def test_acquire_raises_throttled_beyond_max_wait(client, redis_prefix):
    limiter = RateLimiter(client, redis_prefix, limit=1, period=5.0)
    assert limiter.acquire(KEY, max_wait=0) == 0
    t0 = time.monotonic()
    with pytest.raises(ThrottledError) as info:
        limiter.acquire(KEY, max_wait=0.5)
    assert time.monotonic() - t0 < 0.5  # gave up at once, did not sleep first
    assert info.value.retry_after is not None and 3.0 < info.value.retry_after <= 5.0
    assert info.value.code == "rate.limited"


def test_shared_across_threads(client, redis_prefix):
    barrier = threading.Barrier(2)
    results: list[tuple[int, float, float]] = []

    def worker() -> None:
        c = redis.Redis.from_url(REDIS_URL)
        limiter = RateLimiter(c, redis_prefix, limit=5, period=1.0)
        barrier.wait()
        results.append(admitted_in_tight_loop(limiter, KEY, 15))
        c.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 2
    total = sum(n for n, _, _ in results)
    span = max(e for _, _, e in results) - min(s for _, s, _ in results)
    assert 5 <= total <= gcra_bound(5, 0.2, span)
    if span < 0.19:
        assert total == 5


def _process_worker(url: str, prefix: str, start_at: float, out) -> None:
    c = redis.Redis.from_url(url)
    limiter = RateLimiter(c, prefix, limit=5, period=1.0)
    while time.time() < start_at:
        time.sleep(0.001)
    out.put(admitted_in_tight_loop(limiter, KEY, 15))
    c.close()


def test_shared_across_processes(redis_prefix):
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 3.0  # both processes are up (spawn imports) before they start
    procs = [
        ctx.Process(target=_process_worker, args=(REDIS_URL, redis_prefix, start_at, out)) for _ in range(2)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    total = sum(n for n, _, _ in results)
    span = max(e for _, _, e in results) - min(s for _, s, _ in results)
    # Together the two processes got the one burst of 5 — plus one slot per 0.2 s their loops spanned.
    assert 5 <= total <= gcra_bound(5, 0.2, span)
    if span < 0.19:
        assert total == 5


def test_penalize_pushes_the_next_slot_out(client, redis_prefix):
    limiter = RateLimiter(client, redis_prefix, limit=50, period=10.0)
    assert limiter.try_acquire(KEY) == 0  # a fresh key has its whole burst
    left = limiter.penalize(KEY, 2.0)
    assert 1.5 < left <= 2.0
    wait = limiter.try_acquire(KEY)
    assert 1.0 < wait <= 2.0  # burst gone: nothing until the penalty passes
    with pytest.raises(ThrottledError):
        limiter.acquire(KEY, max_wait=0.2)
    # A shorter penalty never shortens the longer one.
    assert limiter.penalize(KEY, 0.1) > 1.0
    # Penalties are per key.
    assert limiter.try_acquire(rate_key("trendyol", "create", "2002")) == 0


def test_penalty_then_admission_resumes(client, redis_prefix):
    limiter = RateLimiter(client, redis_prefix, limit=5, period=1.0)
    limiter.penalize(KEY, 0.3)
    assert limiter.try_acquire(KEY) > 0
    t0 = time.monotonic()
    assert limiter.acquire(KEY, max_wait=5.0) > 0  # had to wait for the penalty
    assert time.monotonic() - t0 >= 0.2
    # After a penalty requests are spaced, not released as a new burst.
    assert limiter.try_acquire(KEY) > 0


def test_fail_open_when_redis_is_down():
    # No client-side retries (redis-py 8 retries with backoff by default), so the test is quick.
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    limiter = RateLimiter(dead, "kervan_test_dead:", limit=1, period=10.0)
    assert limiter.try_acquire(KEY) == 0
    assert limiter.try_acquire(KEY) == 0
    assert limiter.penalize(KEY, 5.0) == 0
    strict = RateLimiter(dead, "kervan_test_dead:", limit=1, period=10.0, fail_open=False)
    with pytest.raises(redis.RedisError):
        strict.try_acquire(KEY)


def test_rejects_nonsense_configuration(client):
    with pytest.raises(ValueError):
        RateLimiter(client, "x:", limit=0, period=1.0)
    with pytest.raises(ValueError):
        RateLimiter(client, "x:", limit=5, period=0)
    with pytest.raises(ValueError):
        RateLimiter(client, "x:", limit=5, period=1.0, burst=0)


def test_burst_one_never_exceeds_limit_in_any_window(client, redis_prefix):
    """burst=1 is strict spacing: any window of ``period`` holds at most ``limit`` admissions."""
    limiter = RateLimiter(client, redis_prefix, limit=4, period=0.4, burst=1)
    stamps = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if limiter.try_acquire(KEY) == 0:
            stamps.append(redis_now(client))
    assert len(stamps) >= 2
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    # Admissions are at least one emission interval (0.1 s) apart, by Redis' own clock
    # (minus the few ms between the script's TIME and ours).
    assert min(gaps) > 0.08
