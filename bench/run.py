"""``make bench``: every benchmark against a baseline measured in the same run.

Each benchmark runs several times on throw-away resources (a fresh OpenCart store, its own
RabbitMQ vhost and Redis prefix); the median of each figure is reported as a Markdown table and
written to ``bench/results/<date>.json``. ``QUICK=1`` runs a short form.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bridge import config as kconfig
from bridge import logsetup
from kervan.demo import DemoEnvironment

HERE = Path(__file__).resolve().parent


def _median(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float)]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def hook_overhead(n: int) -> dict | None:
    """The extension's product-save hooks (stock guard + outbox INSERT) against an empty loop, in
    PHP over the real MariaDB (bench/hook_overhead/hook_bench.php); None without PHP."""
    if not shutil.which("php"):
        return None
    out = subprocess.run(["php", str(HERE / "hook_overhead" / "hook_bench.php"), str(n)], capture_output=True,
                         text=True, timeout=600, check=True).stdout
    added = re.search(r"added median: ([0-9.]+) ms", out)
    base = re.search(r"empty baseline: median ([0-9.]+) ms", out)
    p99 = re.search(r"p99 ([0-9.]+)", out)
    return {"samples": n, "added_median_ms": float(added.group(1)), "baseline_median_ms": float(base.group(1)),
            "p99_ms": float(p99.group(1)) if p99 else None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
    p.add_argument("--tiny", action="store_true", help="smallest sizes: only proves the runner works (tests)")
    p.add_argument("--out", type=Path, default=HERE / "results", help="where the JSON result goes")
    args = p.parse_args(argv)
    logsetup.setup("WARNING")
    cfg = kconfig.load()
    runs = 1 if args.quick or args.tiny else 3
    sizes = {"relay": 300, "hook": 50} if args.tiny else (
        {"relay": 5000, "hook": 500} if args.quick else {"relay": 20000, "hook": 2000})
    env = DemoEnvironment(cfg, tag="bench")
    env.amqp_url = env.cfg.get("amqp", "url")
    results = {}
    try:
        from bench import relay

        results["outbox_relay"] = _median([relay.run(env, sizes["relay"]) for _ in range(runs)])
    finally:
        env.close()
    hook = hook_overhead(sizes["hook"])
    if hook:
        results["hook_overhead"] = hook

    stamp = datetime.now(UTC)
    out = {
        "date": stamp.isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "quick": args.quick,
        "tiny": args.tiny,
        "runs": runs,
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "-tiny" if args.tiny else "-quick" if args.quick else ""
    path = args.out / f"{stamp:%Y-%m-%d}{suffix}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")

    print("| benchmark | Kervan | baseline (same run) | ratio | target |")
    print("|---|---|---|---|---|")
    r = results["outbox_relay"]
    print(f"| outbox relay, {int(r['events'])} events → confirmed | {r['kervan_per_s']:,.0f} events/s"
          f" | bare pika async confirms: {r['baseline_per_s']:,.0f} msg/s | {r['ratio']:.2f} | ≥ 0.8 |")
    if hook:
        print(f"| product-save hook (stock guard + outbox INSERT), n={hook['samples']} | +{hook['added_median_ms']:.3f} ms"
              f" median (p99 {hook['p99_ms']} ms) | empty loop: {hook['baseline_median_ms']:.4f} ms | — | < 1 ms |")
    else:
        print("| product-save hook | skipped: no php on this machine (make test installs it) | | | |")
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
