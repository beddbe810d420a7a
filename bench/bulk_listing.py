"""Bulk listing: generated products listed on four sandboxes, against the floor the rate limits set.

``n`` products are generated into OpenCart's schema (``bench.generate``), then saved (one
``product.saved`` outbox row each, as the extension writes them) while the relay and one catalog
worker per marketplace run as processes. The clock stops when every listing on Trendyol,
Hepsiburada, N11 and Amazon is written back (synced or failed).

The rate limits are the documented ones (the fleet's limiters hard-code them: there is no knob to
scale them, so the factor is 1 and the sizes are kept small enough to finish). Two floors:

- **minimum requests**: ``ceil(n / largest batch)`` create requests per marketplace (Trendyol,
  N11 and Hepsiburada take 1,000 items per request, Amazon 25,000 per JSON_LISTINGS_FEED), and
  the time the documented limit needs for them (with the limiter's burst of 1);
- **one request per product**, which is what the catalog worker sends today (creates are not
  coalesced: each product's create is its own request, its outcome recorded per listing): at
  Trendyol's 50 per 10 s and Amazon's putListingsItem 5/s, that floor is ``n / 5`` seconds.

Reported: wall time against both floors, and create requests used against the minimum.
"""

from __future__ import annotations

import math
from typing import Any

from bench.env import fresh
from bench.fleet import Fleet, diff
from bench.generate import generate
from kervan.demo import DemoEnvironment

CHANNELS = ("trendyol", "hepsiburada", "n11", "amazon")
# (create endpoint names in the sandbox's request log, largest batch, documented requests/s or None)
LIMITS: dict[str, tuple[tuple[str, ...], int, float | None]] = {
    "trendyol": (("create",), 1000, 5.0),  # 50 per 10 s per endpoint
    "hepsiburada": (("import",), 1000, 100.0),  # catalog host 100/s
    "n11": (("create", "create_product", "product_create"), 1000, None),  # no documented limit
    "amazon": (("putListingsItem", "createFeed"), 25_000, 5.0),  # putListingsItem 5/s; feeds 1 per 120 s
}


def floors(n: int) -> dict[str, Any]:
    minimum = {c: math.ceil(n / LIMITS[c][1]) for c in CHANNELS}
    # Amazon's batch is a feed: createFeed allows one per 120 s, so its minimum needs that spacing.
    batch_floor = {c: ((minimum[c] - 1) * (120.0 if c == "amazon" else 1 / LIMITS[c][2]) if LIMITS[c][2] else 0.0)
                   for c in CHANNELS}
    per_item = {c: (n / LIMITS[c][2] if LIMITS[c][2] else 0.0) for c in CHANNELS}
    return {"minimum_requests": minimum, "batch_floor_s": max(batch_floor.values()),
            "per_item_floor_s": max(per_item.values())}


def measure(env: DemoEnvironment, n: int) -> dict[str, Any]:
    fleet = Fleet(env, CHANNELS)
    ok = False
    try:
        # Only the generated products are for sale: the demo catalogue is taken off first.
        env.db.execute("UPDATE {p}product SET status = 0")
        ids = generate(env.db, n)
        fleet.start_relay()
        for code in CHANNELS:
            fleet.start_worker(code)
        before = {c: fleet.request_counts(c) for c in CHANNELS}
        wall = fleet.list_products(ids, timeout=120 + n * 0.6)
        used = {c: diff(fleet.request_counts(c), before[c]) for c in CHANNELS}
        creates = {c: sum(v for k, v in used[c].items() if k in LIMITS[c][0]) for c in CHANNELS}
        synced = int(env.db.one("SELECT COUNT(*) AS n FROM {p}kervan_listing WHERE status = 'synced'")["n"])
        f = floors(n)
        ok = True
        return {
            "products": n, "listings": n * len(CHANNELS), "synced": synced, "wall_s": wall,
            "batch_floor_s": f["batch_floor_s"], "per_item_floor_s": f["per_item_floor_s"],
            "per_item_floor_ratio": f["per_item_floor_s"] / wall if wall else 0.0,
            "create_requests": sum(creates.values()), "minimum_requests": sum(f["minimum_requests"].values()),
            "create_requests_by_channel": creates, "requests_by_endpoint": used,
            "total_requests": sum(sum(v.values()) for v in used.values()),
        }
    finally:
        fleet.close(keep_logs=not ok)


def run(quick: bool = False, tiny: bool = False) -> dict[str, Any]:
    n = 5 if tiny else 60 if quick else 500
    env = fresh()
    try:
        return measure(env, n)
    finally:
        env.close()


def report(r: dict[str, Any]) -> str:
    return (f"| bulk listing, {int(r['products']):,} generated products on 4 sandboxes ({int(r['synced']):,}/"
            f"{int(r['listings']):,} synced; documented rate limits, factor 1) | {r['wall_s']:,.1f} s;"
            f" {int(r['create_requests']):,} create requests | floor of one request per product at the limits:"
            f" {r['per_item_floor_s']:,.1f} s; floor with full batches: {r['batch_floor_s']:,.1f} s"
            f" and {int(r['minimum_requests'])} requests | {r['per_item_floor_ratio']:.2f} of the per-product floor;"
            f" requests {r['create_requests'] / max(1, r['minimum_requests']):,.0f}× min | at the limits |")
