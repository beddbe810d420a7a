"""Scaling: catalog-sync throughput with 1, 2 and 4 worker processes, and with more threads.

Every sandbox answer takes 100–300 ms (uniform), as a real marketplace API does. Each step lists
``n`` freshly generated products (one ``product.saved`` each) through the relay and the catalog
workers of one channel, and counts listings written back per second.

What to expect, and what this measures honestly: every work queue is a quorum queue with
**single active consumer** (per-aggregate order needs one consumer at a time), so a second or
fourth process on the same channel is a hot standby — it takes over within seconds when the active
one dies, but does not add throughput. What does scale:

- **threads inside the active worker** (``[worker] threads``): requests to the marketplace overlap,
  so a latency-bound channel (N11: no documented rate limit on product writes) speeds up with
  threads until the database or the CPU is the bottleneck;
- **more channels / accounts**: each account has its own queue, limiter and active consumer, so the
  fleet's total throughput grows with accounts (not measured here: the sandboxes serve one account);
- a **rate-limited** channel (Trendyol: 50 requests per 10 s per endpoint, shared through Redis by
  every process) stays at the limit however many threads or processes it is given.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from bench.env import fresh
from bench.fleet import Fleet
from bench.generate import generate
from bridge.heartbeat import wait_until
from kervan.demo import DemoEnvironment

LATENCY = [0.1, 0.3]
CREATE = {"n11": "product_create", "trendyol": "create"}  # the create endpoint in each request log


def _creates(fleet: Fleet, code: str) -> int:
    return fleet.request_counts(code).get(CREATE[code], 0)


def _step(fleet: Fleet, env: DemoEnvironment, code: str, n: int, processes: int, threads: int,
          first_number: int) -> dict[str, Any]:
    env.cfg = env.cfg.with_overrides({"worker": {"threads": str(threads)}})
    workers = [fleet.start_worker(code) for _ in range(processes)]
    try:
        if not wait_until(lambda: all("consuming" in w.log() for w in workers), 60, 0.2):
            raise RuntimeError(f"workers did not start; logs in {fleet.log_dir}")
        ids = generate(env.db, n, first_number=first_number)
        before = _creates(fleet, code)
        sent: list[float] = []
        t0 = time.perf_counter()

        def watch() -> None:
            # When the last create reached the marketplace (its answer is what the write-back polls).
            while not sent and time.perf_counter() - t0 < 60 + n * 1.5:
                if _creates(fleet, code) - before >= n:
                    sent.append(time.perf_counter() - t0)
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        seconds = fleet.list_products(ids, timeout=60 + n * 1.5)
        watcher.join(5)
        # Single active consumer: count the processes that sent anything (the others stood by).
        active = sum(1 for w in workers if " → " in w.log())
        return {"channel": code, "processes": processes, "threads": threads, "products": n, "seconds": seconds,
                "per_s": n / seconds, "sent_s": sent[0] if sent else None,
                "sent_per_s": n / sent[0] if sent else None, "processes_that_worked": active}
    finally:
        for w in workers:
            w.term(30)
        fleet.workers[code] = []


def measure(env: DemoEnvironment, code: str, n: int, steps: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """The steps (processes, threads) of one channel, on a fleet serving only that channel (so no
    other channel's queue fills with events nobody consumes)."""
    fleet = Fleet(env, (code,))
    ok = False
    try:
        env.db.execute("UPDATE {p}product SET status = 0")
        fleet.sandboxes[code].set_faults("*", latency=LATENCY)
        fleet.start_relay()
        out = []
        for i, (processes, threads) in enumerate(steps):
            out.append(_step(fleet, env, code, n, processes, threads, 1 + i * n))
        for s in out:
            s["ratio"] = s["per_s"] / out[0]["per_s"]
            s["sent_ratio"] = (s["sent_per_s"] / out[0]["sent_per_s"]) if s["sent_per_s"] and out[0]["sent_per_s"] \
                else None
        ok = True
        return out
    finally:
        fleet.close(keep_logs=not ok)


def run(quick: bool = False, tiny: bool = False) -> dict[str, Any]:
    if tiny:
        n, plan = 3, {"n11": [(1, 1), (2, 1)]}
    else:
        n = 30 if quick else 120
        plan = {"n11": [(1, 1), (2, 1), (4, 1), (1, 4), (1, 8)], "trendyol": [(1, 1), (1, 8), (4, 8)]}
    steps = []
    for code, todo in plan.items():
        env = fresh()
        try:
            steps += measure(env, code, n, todo)
        finally:
            env.close()
    return {"latency_s": LATENCY, "steps": steps}


def report(r: dict[str, Any]) -> list[str]:
    rows = []
    for s in r["steps"]:
        sent = (f"sent {s['sent_per_s']:,.1f} creates/s ({s['sent_ratio']:.2f}×)" if s.get("sent_per_s")
                and s.get("sent_ratio") else "sent: not measured")
        rows.append(
            f"| scaling: {s['channel']} catalog sync, {s['processes']} process(es) × {s['threads']} thread(s)"
            f" ({s['processes_that_worked']} did the work), sandbox latency {r['latency_s'][0] * 1000:.0f}–"
            f"{r['latency_s'][1] * 1000:.0f} ms, {s['products']} products | {sent}; written back"
            f" {s['per_s']:,.1f} listings/s | 1 process × 1 thread on {s['channel']} | {s['ratio']:.2f} | see text |")
    return rows
