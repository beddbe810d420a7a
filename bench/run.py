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
import statistics
from datetime import UTC, datetime
from pathlib import Path

from bridge import config as kconfig
from bridge import logsetup
from kervan.demo import DemoEnvironment

HERE = Path(__file__).resolve().parent


def _median(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float)]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
    args = p.parse_args(argv)
    logsetup.setup("WARNING")
    cfg = kconfig.load()
    runs = 1 if args.quick else 3
    env = DemoEnvironment(cfg, tag="bench")
    env.amqp_url = env.cfg.get("amqp", "url")
    results = {}
    try:
        from bench import relay

        n = 5000 if args.quick else 20000
        results["outbox_relay"] = _median([relay.run(env, n) for _ in range(runs)])
    finally:
        env.close()

    stamp = datetime.now(UTC)
    out = {
        "date": stamp.isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "quick": args.quick,
        "runs": runs,
        "results": results,
    }
    (HERE / "results").mkdir(exist_ok=True)
    path = HERE / "results" / f"{stamp:%Y-%m-%d}{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(out, indent=2) + "\n")

    print("| benchmark | Kervan | baseline (same run) | ratio | target |")
    print("|---|---|---|---|---|")
    r = results["outbox_relay"]
    print(f"| outbox relay, {int(r['events'])} events → confirmed | {r['kervan_per_s']:,.0f} events/s"
          f" | bare pika async confirms: {r['baseline_per_s']:,.0f} msg/s | {r['ratio']:.2f} | ≥ 0.8 |")
    print(f"\nwritten to {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
