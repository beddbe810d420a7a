"""Bulk listing: generated products listed on four sandboxes, against the floor the rate limits set.

``n`` products are generated into OpenCart's schema (``bench.generate``), then saved (one
``product.saved`` outbox row each, as the extension writes them) while the relay and one catalog
worker per marketplace run as processes. The clock stops when every listing on Trendyol,
Hepsiburada, N11 and Amazon is written back (synced or failed); each marketplace's own finish is
recorded too.

The rate limits are the documented ones multiplied by one factor ``k`` on both sides — the
sandboxes' ``rate_scale`` and the fleet's ``[ratelimit] scale`` (100,000 products at the documented
limits would take hours by construction, which measures nothing but the limits). Floors, at the
scaled limits:

- **minimum requests**: ``ceil(n / largest batch)`` create requests per marketplace (Trendyol,
  N11 and Hepsiburada take 1,000 items per request, Amazon 25,000 per JSON_LISTINGS_FEED), and
  the time the fleet's limiters need to send them (requests spaced by the scaled interval; Amazon's
  feeds: 5·k per 5 minutes, so a handful of feeds fits in the first window);
- **one request per product** (what a create that is not coalesced costs): at Trendyol's
  50·k per 10 s and Amazon's ``putListingsItem`` 5·k/s that floor is ``n / (5·k)`` seconds.

Reported: wall time against both floors, create requests used against the minimum, and per
marketplace the seconds until its last listing was written back.
"""

from __future__ import annotations

import math
import os
import resource
import threading
import time
from typing import Any

from bench.env import fresh
from bench.fleet import Fleet, diff
from bench.generate import generate
from kervan.demo import DemoEnvironment

CHANNELS = ("trendyol", "hepsiburada", "n11", "amazon")
# (create endpoint names in the sandbox's request log, largest batch, documented requests/s of that
# endpoint or None when undocumented, documented requests/s of a per-product create or None)
LIMITS: dict[str, tuple[tuple[str, ...], int, float | None, float | None]] = {
    "trendyol": (("create",), 1000, 5.0, 5.0),  # 50 per 10 s per endpoint
    "hepsiburada": (("import",), 1000, 100.0, 100.0),  # catalog host 100/s
    "n11": (("create", "create_product", "product_create"), 1000, None, None),  # no documented limit
    # A batch is a JSON_LISTINGS_FEED (5 per 5 minutes); one product is a putListingsItem (5/s).
    "amazon": (("putListingsItem", "createFeed"), 25_000, None, 5.0),
}
AMAZON_FEEDS = (5, 300.0)
# The factor on every documented limit; BULK_RATE_SCALE overrides it. 100 makes the per-product
# floor of 100,000 products 200 s and keeps the batch floor at a few seconds.
RATE_SCALE = float(os.environ.get("BULK_RATE_SCALE", "100"))
SIZES = {"tiny": 5, "quick": 2000, "full": 100_000}
# Threads per catalog worker (``[worker] threads``, 4 by default). A bulk listing keeps every thread
# busy reading products, and threads that read at the same time share one read
# (bridge/grouped.py), so more threads mean larger shared reads. BULK_THREADS overrides it.
THREADS = int(os.environ.get("BULK_THREADS", "16"))


def floors(n: int, scale: float) -> dict[str, Any]:
    minimum = {c: math.ceil(n / LIMITS[c][1]) for c in CHANNELS}
    batch_floor = {}
    for c in CHANNELS:
        rate = LIMITS[c][2]
        if c == "amazon":
            per_window = max(1, math.floor(AMAZON_FEEDS[0] * scale))
            batch_floor[c] = (math.ceil(minimum[c] / per_window) - 1) * AMAZON_FEEDS[1]
        else:
            batch_floor[c] = (minimum[c] - 1) / (rate * scale) if rate else 0.0
    per_item = {c: (n / (LIMITS[c][3] * scale) if LIMITS[c][3] else 0.0) for c in CHANNELS}
    return {"minimum_requests": minimum, "batch_floor_by_channel": batch_floor,
            "batch_floor_s": max(batch_floor.values()), "per_item_floor_by_channel": per_item,
            "per_item_floor_s": max(per_item.values())}


class Progress(threading.Thread):
    """Polls the written-back listings per channel (one GROUP BY on the channel_status index) and
    keeps when each channel finished; polling is spaced with the size so 400,000 rows are not
    counted ten times a second against the database the workers use."""

    def __init__(self, env: DemoEnvironment, ids: list[int], t0: float, every: float) -> None:
        super().__init__(daemon=True, name="bench-progress")
        self.env, self.lo, self.hi, self.n, self.t0, self.every = env, min(ids), max(ids), len(ids), t0, every
        self.done_at: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.stop_flag = threading.Event()
        self.error: Exception | None = None

    def poll(self) -> dict[str, int]:
        rows = self.env.db.query(
            "SELECT c.code, COUNT(*) AS n FROM {p}kervan_listing l JOIN {p}kervan_channel c"
            " ON c.channel_id = l.channel_id WHERE l.status IN ('synced', 'failed')"
            " AND l.product_id BETWEEN %s AND %s GROUP BY c.code", (self.lo, self.hi))
        return {r["code"]: int(r["n"]) for r in rows}

    def run(self) -> None:
        while not self.stop_flag.is_set():
            try:
                self.counts = self.poll()
            except Exception as exc:  # noqa: BLE001 - a database blip; the next poll retries
                self.error = exc
            now = time.perf_counter() - self.t0
            for code, n in self.counts.items():
                if n >= self.n and code not in self.done_at:
                    self.done_at[code] = now
            if len(self.done_at) == len(CHANNELS):
                return
            self.stop_flag.wait(self.every)


def measure(env: DemoEnvironment, n: int, scale: float = RATE_SCALE, timeout: float | None = None) -> dict[str, Any]:
    """List ``n`` products; after ``timeout`` seconds (default: BULK_TIMEOUT, else 300 s + n/10 s,
    between ten minutes and an hour) a run
    that has not finished returns what it reached (``finished`` false) instead of running on."""
    timeout = timeout or float(os.environ.get("BULK_TIMEOUT", "0")) or max(600.0, min(3600.0, 300 + n * 0.1))
    fleet = Fleet(env, CHANNELS, rate_scale=scale, worker={"threads": str(THREADS)})
    ok = False
    try:
        # Only the generated products are for sale: the demo catalogue is taken off first.
        env.db.execute("UPDATE {p}product SET status = 0")
        t = time.perf_counter()
        ids = generate(env.db, n)
        generate_s = time.perf_counter() - t
        fleet.start_relay()
        for code in CHANNELS:
            fleet.start_worker(code)
        before = {c: fleet.request_counts(c) for c in CHANNELS}
        t0 = time.perf_counter()
        progress = Progress(env, ids, t0, every=0.1 if n <= 5000 else 1.0)
        progress.start()
        fleet.save_products(ids)
        outbox_s = fleet.outbox_s
        progress.join(timeout)
        progress.stop_flag.set()
        finished = len(progress.done_at) == len(CHANNELS)
        # The last channel's finish as the poller saw it, not when this thread woke up after it.
        wall = max(progress.done_at.values()) if finished else time.perf_counter() - t0
        if not finished and sum(progress.counts.values()) == 0:
            raise RuntimeError(f"nothing listed after {wall:.0f} s (last poll error: {progress.error});"
                               f" logs in {fleet.log_dir}")
        used = {c: diff(fleet.request_counts(c), before[c]) for c in CHANNELS}
        creates = {c: sum(v for k, v in used[c].items() if k in LIMITS[c][0]) for c in CHANNELS}
        status = {f"{r['code']}:{r['status']}": int(r["n"]) for r in env.db.query(
            "SELECT c.code, l.status, COUNT(*) AS n FROM {p}kervan_listing l JOIN {p}kervan_channel c"
            " ON c.channel_id = l.channel_id GROUP BY c.code, l.status")}
        synced = sum(v for k, v in status.items() if k.endswith(":synced"))
        f = floors(n, scale)
        ok = finished
        settled = sum(progress.counts.values())
        return {
            "products": n, "listings": n * len(CHANNELS), "synced": synced, "status": status,
            "finished": finished, "settled": settled, "timeout_s": timeout,
            **({} if finished else {"logs": str(fleet.log_dir)}),  # kept when the run stopped short
            "listings_per_s": settled / wall if wall else 0.0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rate_scale": scale, "threads": THREADS, "wall_s": wall, "generate_s": generate_s,
            "outbox_insert_s": outbox_s,
            "finished_s_by_channel": progress.done_at,
            "batch_floor_s": f["batch_floor_s"], "batch_floor_by_channel": f["batch_floor_by_channel"],
            "per_item_floor_s": f["per_item_floor_s"], "per_item_floor_by_channel": f["per_item_floor_by_channel"],
            "per_item_floor_ratio": f["per_item_floor_s"] / wall if wall else 0.0,
            "create_requests": sum(creates.values()), "minimum_requests": sum(f["minimum_requests"].values()),
            "create_requests_by_channel": creates, "minimum_requests_by_channel": f["minimum_requests"],
            "requests_by_endpoint": used, "total_requests": sum(sum(v.values()) for v in used.values()),
        }
    finally:
        fleet.close(keep_logs=not ok)


def run(quick: bool = False, tiny: bool = False) -> dict[str, Any]:
    n = int(os.environ.get("BULK_PRODUCTS", "0")) or SIZES["tiny" if tiny else "quick" if quick else "full"]
    env = fresh()
    try:
        return measure(env, n)
    finally:
        env.close()


def report(r: dict[str, Any]) -> list[str]:
    k = r.get("rate_scale", 1)
    if not r.get("finished", True):
        rate = r["listings_per_s"]
        rows = [
            f"| bulk listing, {int(r['products']):,} generated products on 4 sandboxes (documented rate limits"
            f" × {k:g} on sandboxes and fleet alike) | did not finish in {r['wall_s']:,.0f} s:"
            f" {int(r['settled']):,}/{int(r['listings']):,} listings written back ({rate:,.1f}/s; at that rate all"
            f" would take {r['listings'] / max(rate, 1e-9):,.0f} s); {int(r['create_requests']):,} create requests"
            f" | floor with full batches at the scaled limits: {r['batch_floor_s']:,.1f} s and"
            f" {int(r['minimum_requests'])} requests; one request per product: {r['per_item_floor_s']:,.1f} s"
            f" | — | at the limits |"]
        return rows
    rows = [
        f"| bulk listing, {int(r['products']):,} generated products on 4 sandboxes ({int(r['synced']):,}/"
        f"{int(r['listings']):,} synced; documented rate limits × {k:g} on sandboxes and fleet alike) |"
        f" {r['wall_s']:,.1f} s ({r['listings_per_s']:,.0f} listings/s; generating {r['generate_s']:,.1f} s,"
        f" outbox insert {r['outbox_insert_s']:,.1f} s, bench process peak {r['peak_rss_mb']:,.0f} MB);"
        f" {int(r['create_requests']):,} create requests | floor with full batches at the"
        f" scaled limits: {r['batch_floor_s']:,.1f} s and {int(r['minimum_requests'])} requests; one request"
        f" per product: {r['per_item_floor_s']:,.1f} s | {r['wall_s'] / max(r['batch_floor_s'], 1.0):,.0f}× the"
        f" batch floor (≥ 1 s); requests {r['create_requests'] / max(1, r['minimum_requests']):,.1f}× min"
        f" | at the limits |"]
    done = r.get("finished_s_by_channel") or {}
    for c in CHANNELS:
        creates = (r.get("create_requests_by_channel") or {}).get(c)
        minimum = (r.get("minimum_requests_by_channel") or {}).get(c)
        if creates is None or minimum is None:
            continue
        rows.append(
            f"| ↳ {c} | last listing written back at {done[c]:,.1f} s; {int(creates):,} create requests"
            if c in done else f"| ↳ {c} | did not finish; {int(creates):,} create requests")
        rows[-1] += (f" | minimum {int(minimum):,} requests, {r['batch_floor_by_channel'][c]:,.1f} s at the scaled"
                     f" limits; one per product {r['per_item_floor_by_channel'][c]:,.1f} s"
                     f" | {creates / max(1, minimum):,.1f}× min requests | — |")
    return rows
