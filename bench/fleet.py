"""The real fleet for a benchmark: sandbox marketplaces, the relay and catalog workers.

The sandboxes run in the benchmark's own process (as the tests run them), so what each one holds
is read from its state directly — no HTTP, no rate limit — and its request log counts what the
fleet sent. The relay and every worker are OS processes (``kervan.procs.Proc``) started with the
benchmark's throw-away configuration (its database, vhost and Redis prefix).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge import outbox
from bridge.heartbeat import wait_until
from kervan import demo_store
from kervan.demo import DemoEnvironment
from kervan.procs import Proc


def _sandbox(code: str, delay: float, seed: int, rate_scale: float) -> Any:
    if code == "trendyol":
        from sandbox.trendyol import TrendyolSandbox
        return TrendyolSandbox(batch_delay=delay, seed=seed, rate_scale=rate_scale)
    if code == "hepsiburada":
        from sandbox.hepsiburada import HepsiburadaSandbox
        return HepsiburadaSandbox(processing_delay=delay, seed=seed, rate_scale=rate_scale)
    if code == "n11":
        from sandbox.n11 import N11Sandbox
        return N11Sandbox(task_delay=delay, seed=seed, rate_scale=rate_scale)
    from sandbox.amazon import AmazonSandbox
    return AmazonSandbox(feed_delay=delay, seed=seed, rate_scale=rate_scale)


def held_quantity(code: str, row: dict[str, Any]) -> int | None:
    """The stock a sandbox's stored record says it holds (each marketplace keeps it its own way)."""
    if code == "amazon":
        avail = (row.get("attributes") or {}).get("fulfillment_availability") or [{}]
        value = avail[0].get("quantity")
    elif code == "hepsiburada":
        value = row.get("availableStock")
    else:
        value = row.get("quantity", (row.get("stock") or {}).get("quantity"))
    return None if value is None else int(value)


def sku_of(code: str, row: dict[str, Any]) -> str:
    return str(row.get("barcode") or row.get("merchantSku") or row.get("stockCode") or row.get("sku"))


class Fleet:
    """Sandboxes for ``channels`` plus relay and catalog workers on ``env``; ``close()`` stops all.

    ``rate_scale`` multiplies the documented rate limits on both sides alike: the sandboxes'
    ``rate_scale`` and the fleet's ``[ratelimit] scale``."""

    def __init__(self, env: DemoEnvironment, channels: tuple[str, ...], *, delay: float = 0.05,
                 worker: dict[str, str] | None = None, rate_scale: float = 1.0) -> None:
        self.env = env
        self.channels = channels
        self.rate_scale = rate_scale
        self.log_dir = Path(tempfile.mkdtemp(prefix="kervan-bench-"))  # named in every error
        self.sandboxes = {code: _sandbox(code, delay, i + 1, rate_scale) for i, code in enumerate(channels)}
        for sb in self.sandboxes.values():
            sb.start()
        demo_store.install_all(env.db, {code: sb.base_url for code, sb in self.sandboxes.items()})
        env.cfg = env.cfg.with_overrides({
            "channels": {"enabled": ",".join(channels)},
            "worker": {"batch_poll_interval": "0.2", "retry_tiers": "1,2,5", **(worker or {})},
            "ratelimit": {"scale": repr(float(rate_scale))},
        })
        self.procs: list[Proc] = []
        self.outbox_s = 0.0
        self.workers: dict[str, list[Proc]] = {code: [] for code in channels}

    # -- processes ------------------------------------------------------------------------------
    def start_relay(self) -> Proc:
        p = Proc(self.env.cfg, "relay", log_dir=self.log_dir)
        self.procs.append(p)
        return p

    def start_worker(self, code: str, partitions: str | None = None) -> Proc:
        """A catalog worker; ``partitions`` ("0,1"): the catalog partitions it owns."""
        extra = ("--partitions", partitions) if partitions is not None else ()
        p = Proc(self.env.cfg, "worker", "catalog", "--channel", code, *extra, log_dir=self.log_dir)
        self.procs.append(p)
        self.workers[code].append(p)
        return p

    def close(self, keep_logs: bool = False) -> None:
        """Stop everything; the process logs are removed unless ``keep_logs`` (a failed run)."""
        for p in reversed(self.procs):
            p.term(30)
        for sb in self.sandboxes.values():
            sb.stop()
        if not keep_logs:
            shutil.rmtree(self.log_dir, ignore_errors=True)

    # -- listing ---------------------------------------------------------------------------------
    def list_products(self, ids: list[int], timeout: float, *, every: float = 0.1,
                      settled: Callable[[], int] | None = None) -> float:
        """Save ``ids`` (one ``product.saved`` each, as the extension does) and wait until every
        channel's listing of every one is written back; returns the seconds it took (the part
        spent inserting the outbox rows is kept in ``outbox_s``). ``settled`` counts the
        written-back listings if the caller already polls them; ``every`` spaces the polls."""
        t0 = time.perf_counter()
        self.save_products(ids)
        want = len(ids) * len(self.channels)
        count = settled or (lambda: self.settled(ids))
        if not wait_until(lambda: count() >= want, timeout, every):
            bad = self.env.db.query(
                "SELECT l.product_id, l.status, l.last_error FROM {p}kervan_listing l WHERE l.status <> 'synced'"
                " LIMIT 5")
            raise RuntimeError(f"{self.settled(ids)}/{want} listings settled after {timeout:.0f} s ({bad});"
                               f" logs in {self.log_dir}")
        return time.perf_counter() - t0

    def save_products(self, ids: list[int]) -> None:
        """One ``product.saved`` outbox row per id, 5,000 rows per transaction (the relay starts
        publishing the first ones while the rest are inserted); the seconds go to ``outbox_s``."""
        t0 = time.perf_counter()
        for i in range(0, len(ids), 5000):
            outbox.write_many(self.env.db, [outbox.product_saved(pid, source="bench") for pid in ids[i:i + 5000]])
        self.outbox_s = time.perf_counter() - t0

    def settled(self, ids: list[int]) -> int:
        lo, hi = min(ids), max(ids)
        return int(self.env.db.one(
            "SELECT COUNT(*) AS n FROM {p}kervan_listing WHERE status IN ('synced', 'failed')"
            " AND product_id BETWEEN %s AND %s", (lo, hi))["n"])

    def skus(self, ids: list[int]) -> dict[str, dict[int, str]]:
        """Channel → product id → the key the marketplace knows the listing by (synced only)."""
        out: dict[str, dict[int, str]] = {c: {} for c in self.channels}
        lo, hi = min(ids), max(ids)
        for r in self.env.db.query(
                "SELECT c.code, l.product_id, l.remote_sku FROM {p}kervan_listing l JOIN {p}kervan_channel c"
                " ON c.channel_id = l.channel_id WHERE l.status = 'synced' AND l.product_id BETWEEN %s AND %s",
                (lo, hi)):
            if r["code"] in out and r["remote_sku"]:
                out[r["code"]][int(r["product_id"])] = r["remote_sku"]
        return out

    # -- what the marketplaces saw ---------------------------------------------------------------
    def held(self, code: str) -> dict[str, int]:
        """SKU → quantity the sandbox holds now (read from its state, not through its API)."""
        sb = self.sandboxes[code]
        rows = sb.listings() if code == "hepsiburada" else sb.products()
        return {sku_of(code, r): q for r in rows if (q := held_quantity(code, r)) is not None}

    def request_counts(self, code: str) -> dict[str, int]:
        """Endpoint (or SP-API operation) → requests the sandbox answered so far."""
        counts = self.sandboxes[code].request_log()["counts"]
        out = {}
        for ep, per in counts.items():
            if isinstance(per, dict) and "total" in per:
                out[ep] = int(per["total"])
            elif isinstance(per, dict):
                out[ep] = sum(int(v) for v in per.values())
        return out


def diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
