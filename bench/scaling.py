"""Scaling: catalog-sync throughput with 1, 2 and 4 worker processes, and with more threads.

Every sandbox answer takes 100–300 ms (uniform), as a real marketplace API does. Each step lists
``n`` freshly generated products (one ``product.saved`` each) through the relay and the catalog
workers of one channel, and counts listings written back per second.

The channel's catalog queue is split into ``PARTITIONS`` partitions (``[worker]
catalog_partitions``): products are spread over them by hash, each partition has a single active
consumer (one product's events stay in order), and each process is started owning its share
(``kervan worker catalog --partitions 0,1``), standing by for the others. So processes add
throughput the way threads do, until the shared limit is reached:

- **Amazon** creates one listing per ``putListingsItem`` (documented 5/s, burst 10, shared
  through Redis by every process). Limits here are the documented ones × ``AMAZON_SCALE`` on the
  sandbox and the fleet alike, so the shared limit sits where two processes of four threads reach
  it: one process, then two, then four, climb to the limit and stay there.
- **N11** has no documented limit and takes creates in batches of up to 1,000, so what bounds it
  is the work per listing in the worker (reading the product, the listing rows) and the write-back.

Before partitions, a second or fourth process on a channel was only a hot standby
(single active consumer on one queue); the table of that time said so ("1 did the work").
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
CREATE = {"n11": "product_create", "trendyol": "create", "amazon": "putListingsItem"}  # in each request log
PARTITIONS = 4
AMAZON_SCALE = 8.0  # putListingsItem 5/s × 8 = 40/s: reached by about 2 processes × 4 threads


def owned(processes: int, index: int) -> str:
    """The partitions process ``index`` of ``processes`` owns ("0,1" for the first of two)."""
    return ",".join(str(k) for k in range(PARTITIONS) if k % processes == index)


def _creates(fleet: Fleet, code: str) -> int:
    return fleet.request_counts(code).get(CREATE[code], 0)


def _step(fleet: Fleet, env: DemoEnvironment, code: str, n: int, processes: int, threads: int,
          first_number: int) -> dict[str, Any]:
    env.cfg = env.cfg.with_overrides({"worker": {"threads": str(threads)}})
    workers = [fleet.start_worker(code, owned(processes, i)) for i in range(processes)]
    try:
        # Every process on its own partitions and standing by for the others' (standby_after).
        if not wait_until(lambda: all(w.log().count("consuming") >= PARTITIONS for w in workers), 60, 0.2):
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
        # Each partition has one active consumer: count the processes that sent anything.
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
    scale = AMAZON_SCALE if code == "amazon" else 1.0
    fleet = Fleet(env, (code,), rate_scale=scale,
                  worker={"catalog_partitions": str(PARTITIONS), "standby_after": "1"})
    ok = False
    try:
        env.db.execute("UPDATE {p}product SET status = 0")
        fleet.sandboxes[code].set_faults("*", latency=LATENCY)
        fleet.start_relay()
        out = []
        for i, (processes, threads) in enumerate(steps):
            out.append(_step(fleet, env, code, n, processes, threads, 1 + i * n))
        for s in out:
            s["baseline"] = f"{out[0]['processes']} process × {out[0]['threads']} thread(s)"
            s["ratio"] = s["per_s"] / out[0]["per_s"]
            s["sent_ratio"] = (s["sent_per_s"] / out[0]["sent_per_s"]) if s["sent_per_s"] and out[0]["sent_per_s"] \
                else None
        ok = True
        return out
    finally:
        fleet.close(keep_logs=not ok)


def run(quick: bool = False, tiny: bool = False) -> dict[str, Any]:
    if tiny:
        plan = {"n11": (12, [(1, 1), (2, 1)])}  # enough products that both halves get some
    else:
        plan = {"amazon": (150 if quick else 400, [(1, 2), (1, 4), (2, 4), (4, 4)]),
                "n11": (300 if quick else 1000, [(1, 4), (2, 4), (4, 4)])}
    steps = []
    for code, (n, todo) in plan.items():
        env = fresh()
        try:
            steps += measure(env, code, n, todo)
        finally:
            env.close()
    return {"latency_s": LATENCY, "partitions": PARTITIONS, "amazon_rate_scale": AMAZON_SCALE, "steps": steps}


def report(r: dict[str, Any]) -> list[str]:
    rows = []
    for s in r["steps"]:
        sent = (f"sent {s['sent_per_s']:,.1f} creates/s ({s['sent_ratio']:.2f}×)" if s.get("sent_per_s")
                and s.get("sent_ratio") else "sent: not measured")
        rows.append(
            f"| scaling: {s['channel']} catalog sync, {s['processes']} process(es) × {s['threads']} thread(s)"
            f" ({s['processes_that_worked']} did the work; {r.get('partitions', 1)} partitions"
            + (f"; putListingsItem limit 5/s × {r['amazon_rate_scale']:g}" if s["channel"] == "amazon"
               and r.get("amazon_rate_scale") else "")
            + f"), sandbox latency {r['latency_s'][0] * 1000:.0f}–"
            f"{r['latency_s'][1] * 1000:.0f} ms, {s['products']} products | {sent}; written back"
            f" {s['per_s']:,.1f} listings/s | {s.get('baseline', '1 process × 1 thread')} on {s['channel']}"
            f" | {s['ratio']:.2f} | see text |")
    return rows
