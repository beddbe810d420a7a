"""Order webhook → stock on every other marketplace, end to end, against the polling baseline.

Real processes on throw-away resources (``DemoEnvironment``): the Trendyol, Hepsiburada and N11
sandboxes, the relay, a catalog worker per marketplace, the Trendyol orders worker and the
gateway. The Trendyol sandbox delivers its order webhooks to the gateway (Basic auth). For each
of N orders, one at a time, a customer buys one unit on Trendyol (the sandbox's order endpoint)
and the clock runs until

- ``to_opencart``: the order is a row in OpenCart (``kervan_order_link``), and
- ``to_all``: Hepsiburada and N11 (read through their sandboxes' control surface, which no rate
  limit slows) hold OpenCart's new quantity.

Baseline (same configuration, not measured): without the webhook the orders worker finds an order
on its next poll, on average ``[orders] poll_interval / 2`` seconds after it was placed, plus the
same propagation. Amazon is left out: its listings settle through feeds on a slower clock that has
nothing to do with the webhook path.

``run(quick)`` returns the figures; ``python -m bench.webhook_latency [--quick]`` prints them.
"""

from __future__ import annotations

import argparse
import json
import math
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import requests

from bridge import channels as accounts
from bridge import config as kconfig
from bridge import logsetup, outbox
from bridge.heartbeat import wait_until
from kervan import demo_store
from kervan.demo import DemoEnvironment, free_port
from kervan.procs import Proc

CHANNELS = ("trendyol", "hepsiburada", "n11")
USER = "bench-webhook"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) — with few samples, p99 is the slowest one."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _held(port: int, code: str) -> dict[str, int]:
    base = f"http://127.0.0.1:{port}/__sandbox"
    if code == "hepsiburada":
        return {r["merchantSku"]: int(r["availableStock"]) for r in requests.get(f"{base}/listings", timeout=5).json()}
    return {r["stockCode"]: int(r["quantity"]) for r in requests.get(f"{base}/products", timeout=5).json()}


def _listings(db, pids: list[int]) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {c: {} for c in CHANNELS}
    for r in db.query("SELECT c.code, l.product_id, l.remote_sku, l.status FROM {p}kervan_listing l"
                      " JOIN {p}kervan_channel c ON c.channel_id = l.channel_id"):
        if r["product_id"] in pids and r["status"] == "synced" and r["remote_sku"]:
            out[r["code"]][r["product_id"]] = r["remote_sku"]
    return out


def measure(env: DemoEnvironment, n: int, products: int = 4) -> dict:
    log_dir = Path(tempfile.mkdtemp(prefix="kervan-bench-webhook-"))  # named in every error below
    ok = False
    password = secrets.token_urlsafe(16)
    ports = {code: free_port() for code in CHANNELS}
    gw_port = free_port()
    env.cfg = env.cfg.with_overrides({"channels": {"enabled": ",".join(CHANNELS)},
                                      "gateway": {"port": str(gw_port), "rate_limit": "100000"}})
    poll_interval = env.cfg.getfloat("orders", "poll_interval")
    db = env.db
    urls = {code: f"http://127.0.0.1:{port}" + ("/integration" if code == "trendyol" else "")
            for code, port in ports.items()}
    demo_store.install_all(db, urls)
    ty = accounts.get(db, "trendyol")
    db.execute("UPDATE {p}kervan_channel SET credentials = %s WHERE channel_id = %s",
               (json.dumps({**ty.credentials, "webhook_user": USER, "webhook_password": password}), ty.channel_id))
    procs: list[Proc] = []
    try:
        for code in CHANNELS:
            procs.append(Proc(env.cfg, "sandbox", code, "--port", str(ports[code]), log_dir=log_dir))
        for code in CHANNELS:
            if not wait_until(lambda code=code: _up(ports[code]), 20):
                raise RuntimeError(f"the {code} sandbox did not start; see {log_dir}")
        procs.append(Proc(env.cfg, "relay", log_dir=log_dir))
        for code in CHANNELS:
            procs.append(Proc(env.cfg, "worker", "catalog", "--channel", code, log_dir=log_dir))
        pids = [int(r["product_id"]) for r in db.query(
            "SELECT product_id FROM {p}product WHERE status = 1 AND quantity > %s ORDER BY product_id LIMIT %s",
            (n + 5, products))]
        outbox.write_many(db, [outbox.product_saved(pid, source="bench") for pid in pids])
        if not wait_until(lambda: all(len(v) == len(pids) for v in _listings(db, pids).values()), 180, 0.3):
            raise RuntimeError(f"the products were not listed on every sandbox; see {log_dir}")
        skus = _listings(db, pids)

        gateway = Proc(env.cfg, "gateway", log_dir=log_dir)
        orders = Proc(env.cfg, "worker", "orders", "--channel", "trendyol", log_dir=log_dir)
        procs += [gateway, orders]
        if not wait_until(lambda: _up(gw_port, "/v1/health/live") and "consuming kervan.orders" in orders.log(), 60):
            raise RuntimeError(f"the gateway or the orders worker did not start; see {log_dir}")
        time.sleep(1.0)  # the worker's first poll (of nothing) is behind it
        hook = f"http://127.0.0.1:{gw_port}/v1/webhooks/trendyol/default"
        requests.post(f"{urls['trendyol'].rsplit('/integration', 1)[0]}/__sandbox/webhooks", timeout=5,
                      json={"url": hook, "auth": "basic", "username": USER, "password": password}).raise_for_status()

        to_oc: list[float] = []
        to_all: list[float] = []
        missed = 0
        for i in range(n):
            pid = pids[i % len(pids)]
            t0 = time.perf_counter()
            r = requests.post(f"http://127.0.0.1:{ports['trendyol']}/__sandbox/orders", timeout=5,
                              json={"lines": [{"barcode": skus["trendyol"][pid], "quantity": 1}]})
            r.raise_for_status()
            package = str(r.json()["shipmentPackageId"])
            if not wait_until(lambda package=package: db.one(
                    "SELECT 1 AS x FROM {p}kervan_order_link WHERE remote_order_id = %s", (package,)), 60, 0.01):
                missed += 1
                continue
            to_oc.append(time.perf_counter() - t0)
            want = int(db.one("SELECT quantity FROM {p}product WHERE product_id = %s", (pid,))["quantity"])

            def everywhere(pid=pid, want=want) -> bool:
                return all(_held(ports[c], c).get(skus[c][pid]) == want for c in CHANNELS if c != "trendyol")

            if not wait_until(everywhere, 60, 0.02):
                missed += 1
                continue
            to_all.append(time.perf_counter() - t0)
        if not to_all:
            raise RuntimeError(f"no order reached every marketplace; see {log_dir}")
        imported_at_once = orders.log().count("imported at once")
        ok = True
        return {
            "orders": n,
            "missed": missed,
            "webhook_imports": imported_at_once,
            "to_opencart_p50_s": statistics.median(to_oc),
            "to_opencart_p99_s": percentile(to_oc, 99),
            "to_all_channels_p50_s": statistics.median(to_all),
            "to_all_channels_p99_s": percentile(to_all, 99),
            "poll_interval_s": poll_interval,
            # Polling finds an order on average half an interval late, then the same propagation.
            "polling_to_all_channels_mean_s": poll_interval / 2 + statistics.median(to_all) - statistics.median(to_oc),
        }
    finally:
        for p in reversed(procs):
            p.term(30)
        if ok:  # a failed run keeps its logs: the errors above name the directory
            shutil.rmtree(log_dir, ignore_errors=True)


def _up(port: int, path: str = "/__sandbox/health") -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code < 500
    except requests.RequestException:
        return False


def run(quick: bool) -> dict:
    env = DemoEnvironment(kconfig.load(), tag="bench")
    try:
        return measure(env, 5 if quick else 20)
    finally:
        env.close()


def report(r: dict) -> str:
    return (f"| order webhook → OpenCart → every other marketplace, {r['orders']} orders"
            f" ({r['webhook_imports']} imported by webhook, {r['missed']} missed)"
            f" | OpenCart p50 {r['to_opencart_p50_s']:.2f} s / p99 {r['to_opencart_p99_s']:.2f} s;"
            f" all marketplaces p50 {r['to_all_channels_p50_s']:.2f} s / p99 {r['to_all_channels_p99_s']:.2f} s"
            f" | polling every {r['poll_interval_s']:.0f} s: ≈ {r['polling_to_all_channels_mean_s']:.1f} s on average"
            f" | {r['polling_to_all_channels_mean_s'] / r['to_all_channels_p50_s']:.0f}× sooner | seconds |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    logsetup.setup("WARNING")
    r = run(args.quick)
    print(json.dumps(r, indent=2))
    print("| benchmark | Kervan | baseline (same configuration) | ratio | target |")
    print("|---|---|---|---|---|")
    print(report(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
