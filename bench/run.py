"""``make bench``: every benchmark against a baseline measured in the same run.

Each benchmark runs several times on throw-away resources (a fresh OpenCart store, its own
RabbitMQ vhost and Redis prefix, all removed afterwards); the median of each figure is reported as
a Markdown table and written to ``bench/results/<date>.json``. ``QUICK=1`` runs a short form
(under ten minutes on a 2-vCPU machine); ``--tiny`` only proves the runner works (the tests).

A benchmark that fails is reported as failed in the table and the JSON (with its error), the
others still run, and the runner exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bridge import config as kconfig
from bridge import logsetup

HERE = Path(__file__).resolve().parent
TARGET = {"outbox_relay": "≥ 0.8"}


def median_of(runs: list[Any]) -> Any:
    """Element-wise median of several runs' results: numbers by median, dicts key by key, lists
    of the same length item by item; anything else is taken from the first run."""
    first = runs[0]
    if isinstance(first, bool) or not isinstance(first, int | float | dict | list):
        return first
    if isinstance(first, int | float):
        values = [r for r in runs if isinstance(r, int | float) and not isinstance(r, bool)]
        if len(values) != len(runs):
            return first
        m = statistics.median(values)
        return round(m) if all(isinstance(v, int) for v in values) else m  # counts stay counts
    if isinstance(first, dict):
        return {k: median_of([r.get(k) for r in runs]) for k in first}
    if all(isinstance(r, list) and len(r) == len(first) for r in runs):
        return [median_of([r[i] for r in runs]) for i in range(len(first))]
    return first


# -- the benchmarks -------------------------------------------------------------------------------
def outbox_relay(size: str) -> dict:
    from bench import relay
    from bench.env import fresh

    n = {"tiny": 300, "quick": 5000, "full": 20000}[size]
    env = fresh()
    env.amqp_url = env.cfg.get("amqp", "url")
    try:
        return relay.run(env, n)
    finally:
        env.close()


def hook_overhead(size: str) -> dict | None:
    """The extension's product-save hooks (stock guard + outbox INSERT) against an empty loop, in
    PHP over the real MariaDB (bench/hook_overhead/hook_bench.php); None without PHP."""
    if not shutil.which("php"):
        return None
    n = {"tiny": 50, "quick": 500, "full": 2000}[size]
    out = subprocess.run(["php", str(HERE / "hook_overhead" / "hook_bench.php"), str(n)], capture_output=True,
                         text=True, timeout=600, check=True).stdout
    added = re.search(r"added median: ([0-9.]+) ms", out)
    base = re.search(r"empty baseline: median ([0-9.]+) ms", out)
    p99 = re.search(r"p99 ([0-9.]+)", out)
    return {"samples": n, "added_median_ms": float(added.group(1)), "baseline_median_ms": float(base.group(1)),
            "p99_ms": float(p99.group(1)) if p99 else None}


def stock_propagation(size: str) -> dict:
    from bench import stock_propagation as b

    return b.run(quick=size == "quick", tiny=size == "tiny")


def order_import(size: str) -> dict:
    from bench import order_import as b

    return b.run(quick=size == "quick", tiny=size == "tiny")


def bulk_listing(size: str) -> dict:
    from bench import bulk_listing as b

    return b.run(quick=size == "quick", tiny=size == "tiny")


def feed_import(size: str) -> dict:
    from bench import feed_import as b

    if size == "tiny":
        return b.run(quick=True, count=2000)
    return b.run(quick=size == "quick")


def scaling(size: str) -> dict:
    from bench import scaling as b

    return b.run(quick=size == "quick", tiny=size == "tiny")


def webhook_latency(size: str) -> dict:
    from bench import webhook_latency as b

    if size == "tiny":
        from bench.env import fresh

        env = fresh()
        try:
            return b.measure(env, 2, products=2)
        finally:
            env.close()
    return b.run(size == "quick")


# name → (function, runs in the full form, runs in QUICK): the fleet benchmarks already take
# hundreds to thousands of samples inside one run and cost minutes, so they repeat less.
BENCHMARKS: dict[str, tuple[Callable[[str], Any], int, int]] = {
    "outbox_relay": (outbox_relay, 3, 2),
    "hook_overhead": (hook_overhead, 1, 1),  # n samples alternating with the baseline, inside PHP
    "order_import": (order_import, 3, 2),
    "stock_propagation": (stock_propagation, 2, 1),
    "bulk_listing": (bulk_listing, 1, 1),  # 100,000 products: one run is minutes of the whole machine
    "scaling": (scaling, 1, 1),
    "feed_import": (feed_import, 1, 1),  # a 1,000,000-item file, parsed twice in child processes
    "webhook_latency": (webhook_latency, 2, 1),
}


# -- the table --------------------------------------------------------------------------------------
def rows(name: str, r: dict) -> list[str]:
    if "error" in r:
        return [f"| {name} | failed: {r['error'][:200]} | | | |"]
    if name == "outbox_relay":
        return [f"| outbox relay, {int(r['events']):,} events → confirmed and marked | {r['kervan_per_s']:,.0f}"
                f" events/s | bare pika async confirms, same messages: {r['baseline_per_s']:,.0f} msg/s (bodies"
                f" only: {r['plain_baseline_per_s']:,.0f}; with the relay's own frame writer:"
                f" {r['writer_baseline_per_s']:,.0f}, ratio {r['writer_ratio']:.2f}) | {r['ratio']:.2f} | ≥ 0.8 |"]
    if name == "hook_overhead":
        return [f"| product-save hook (stock guard + outbox INSERT), n={int(r['samples'])} |"
                f" +{r['added_median_ms']:.3f} ms median (p99 {r['p99_ms']} ms) | empty loop:"
                f" {r['baseline_median_ms']:.4f} ms | — | < 1 ms |"]
    from bench import bulk_listing, feed_import, order_import, scaling, stock_propagation, webhook_latency

    module = {"stock_propagation": stock_propagation, "order_import": order_import, "bulk_listing": bulk_listing,
              "scaling": scaling, "feed_import": feed_import, "webhook_latency": webhook_latency}[name]
    out = module.report(r)
    return out if isinstance(out, list) else [out]


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    try:
        mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
        info["memory_gib"] = round(int(mem) / 1024 / 1024, 1)
    except (OSError, IndexError, ValueError):
        pass
    try:
        from bridge.db import Database

        cfg = kconfig.load()
        db = Database(cfg.get("database", "url").rsplit("/", 1)[0] + "/mysql", cfg.prefix)
        info["mariadb"] = db.one("SELECT VERSION() AS v")["v"]
        db.close()
    except Exception:  # noqa: BLE001 - informational only
        pass
    try:
        import pika

        from bridge.topology import connection_parameters

        conn = pika.BlockingConnection(connection_parameters(kconfig.load().get("amqp", "url")))
        info["rabbitmq"] = conn._impl.server_properties.get("version", b"").decode()  # noqa: SLF001
        conn.close()
    except Exception:  # noqa: BLE001 - informational only
        pass
    return info


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
    p.add_argument("--tiny", action="store_true", help="smallest sizes: only proves the runner works (tests)")
    p.add_argument("--only", default=os.environ.get("ONLY", ""), help="comma list of benchmarks to run")
    p.add_argument("--runs", type=int, default=0, help="runs of every benchmark (default: per benchmark)")
    p.add_argument("--out", type=Path, default=HERE / "results", help="where the JSON result goes")
    args = p.parse_args(argv)
    logsetup.setup("WARNING")
    # SIGTERM (or SIGINT, which a background job ignores) unwinds like Ctrl-C, so the running
    # benchmark's finally blocks stop its fleet and drop its store, vhost and Redis keys.
    signal.signal(signal.SIGTERM, _interrupt)
    size = "tiny" if args.tiny else "quick" if args.quick else "full"
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")

    started = time.monotonic()
    results: dict[str, Any] = {}
    failed = False
    for name in names:
        fn, full_runs, quick_runs = BENCHMARKS[name]
        runs = args.runs or (1 if size == "tiny" else quick_runs if size == "quick" else full_runs)
        t0 = time.monotonic()
        try:
            got = [fn(size) for _ in range(runs)]
            if got[0] is None:
                continue  # not runnable here (hook_overhead without php)
            results[name] = {**median_of(got), "runs": runs, "seconds": time.monotonic() - t0}
        except Exception as exc:  # noqa: BLE001 - one failed benchmark must not hide the others
            failed = True
            results[name] = {"error": f"{type(exc).__name__}: {exc}", "seconds": time.monotonic() - t0}
            traceback.print_exc()
        print(f"[{name}: {time.monotonic() - t0:.0f} s]", flush=True)

    stamp = datetime.now(UTC)
    out = {
        "date": stamp.isoformat(timespec="seconds"),
        "machine": machine(),
        "size": size,
        "quick": size == "quick",
        "tiny": size == "tiny",
        "seconds": time.monotonic() - started,
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = {"tiny": "-tiny", "quick": "-quick", "full": ""}[size]
    path = args.out / f"{stamp:%Y-%m-%d}{suffix}.json"
    path.write_text(json.dumps(out, indent=2, default=str) + "\n")

    print("\n| benchmark | Kervan | baseline (same run) | ratio | target |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        for line in rows(name, r):
            print(line)
    if "hook_overhead" in names and "hook_overhead" not in results:
        print("| product-save hook | skipped: no php on this machine (make test installs it) | | | |")
    print(f"\nwritten to {path} ({out['seconds']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
