"""``kervan demo``: one product change travelling from OpenCart's database to a sandbox Trendyol
and back, with every piece a real process on the local services.

A fresh OpenCart 4.1.0.4 demo store is loaded, migrated and given a Trendyol account that points
at a sandbox started here; the relay and a catalog worker run as processes. The demo writes
outbox rows the way the OpenCart extension does, waits for the sandbox to hold the products and
for the outcome to be written back, changes a price, and prints what happened. Everything it
started or created is stopped and removed at the end.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from decimal import Decimal
from pathlib import Path

import redis
import requests

from bridge import outbox
from bridge.db import Database
from bridge.heartbeat import wait_until
from bridge.migrate import migrate
from bridge.opencart import decode_html
from kervan import demo_store
from kervan.procs import ROOT, Proc
from sandbox import opencart


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _vhost_url(amqp_url: str, vhost: str) -> str:
    head, _, _ = amqp_url.rpartition("/")
    return f"{head}/{vhost}"


class DemoEnvironment:
    """A throw-away store database, RabbitMQ vhost and Redis prefix, torn down by close()."""

    def __init__(self, cfg, tag: str = "demo") -> None:
        self.suffix = uuid.uuid4().hex[:8]
        self.db_name = f"kervan_{tag}_{self.suffix}"
        self.vhost = f"kervan_{tag}_{self.suffix}"
        self.server_url = cfg.get("database", "url")
        opencart.create(self.server_url, self.db_name, "4.1.0.4")
        self.db = Database(opencart.server_url(self.server_url, self.db_name), cfg.prefix)
        migrate(self.db)
        amqp_url = cfg.get("amqp", "url")
        self.own_vhost = shutil.which("rabbitmqctl") is not None
        if self.own_vhost:
            subprocess.run(["rabbitmqctl", "-q", "add_vhost", self.vhost], check=True, capture_output=True)
            user = amqp_url.split("://", 1)[1].split(":", 1)[0] or "guest"
            subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", self.vhost, user, ".*", ".*", ".*"],
                           check=True, capture_output=True)
            amqp_url = _vhost_url(amqp_url, self.vhost)
        self.redis_prefix = f"kervan_{tag}_{self.suffix}:"
        self.cfg = cfg.with_overrides({
            "database": {"url": self.db.url},
            "amqp": {"url": amqp_url},
            "redis": {"prefix": self.redis_prefix},
        })

    def close(self, keep: bool = False) -> None:
        self.db.close()
        if not keep:
            opencart.drop(self.server_url, self.db_name)
        if self.own_vhost:
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", self.vhost], capture_output=True)
        client = redis.Redis.from_url(self.cfg.get("redis", "url"))
        keys = list(client.scan_iter(match=self.redis_prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


def _listings(db: Database) -> list[dict]:
    return db.query(
        "SELECT l.product_id, d.name, l.remote_sku, l.remote_id, l.status, l.last_error, l.batch_id"
        " FROM {p}kervan_listing l LEFT JOIN {p}product_description d ON d.product_id = l.product_id"
        " AND d.language_id = (SELECT MIN(language_id) FROM {p}language) ORDER BY l.product_id"
    )


def _print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=False)))


def run_demo(cfg, *, keep: bool = False, products: int = 0, timeout: float = 120.0, log_dir: Path | None = None) -> int:
    log_dir = log_dir or ROOT / "demo-logs"
    env = DemoEnvironment(cfg)
    procs: list[Proc] = []
    try:
        db = env.db
        port = free_port()
        base_url = f"http://127.0.0.1:{port}/integration"
        demo_store.install(db, base_url)
        print(f"store     {db.dsn.safe()} (OpenCart 4.1.0.4 demo data, Kervan tables migrated)")
        print(f"broker    vhost {env.vhost if env.own_vhost else '(configured)'}; sandbox Trendyol at {base_url}")

        procs.append(Proc(env.cfg, "sandbox", "trendyol", "--port", str(port), log_dir=log_dir))
        if not wait_until(lambda: _up(port), 20):
            raise RuntimeError(f"sandbox did not start; see {procs[-1].log_path}")
        procs.append(Proc(env.cfg, "relay", log_dir=log_dir))
        procs.append(Proc(env.cfg, "worker", "catalog", "--channel", "trendyol", log_dir=log_dir))

        ids = [r["product_id"] for r in db.query("SELECT product_id FROM {p}product ORDER BY product_id")]
        if products:
            ids = ids[:products]
        # What the extension's editProduct/after hook does: one outbox row per saved product.
        started = time.monotonic()
        outbox.write_many(db, [outbox.product_saved(pid, source="demo") for pid in ids])
        print(f"\n{len(ids)} products saved in OpenCart → {len(ids)} outbox rows; waiting for Trendyol…")

        def settled() -> bool:
            rows = _listings(db)
            return len(rows) == len(ids) and all(r["status"] in ("synced", "failed") for r in rows)

        ok = wait_until(settled, timeout, interval=0.2)
        elapsed = time.monotonic() - started
        remote = requests.get(f"http://127.0.0.1:{port}/__sandbox/state", timeout=5).json()
        held = {p["barcode"]: p for p in _products(remote)}
        rows = []
        for r in _listings(db):
            p = held.get(r["remote_sku"] or "", {})
            rows.append([r["product_id"], decode_html(r["name"] or "")[:28], r["remote_sku"] or "-", r["remote_id"] or "-",
                         p.get("quantity", "-"), p.get("salePrice", "-"), r["status"],
                         (r["last_error"] or "")[:60]])
        print()
        _print_table(rows, ["product", "name", "barcode", "contentId", "qty@TY", "price@TY", "status", "error"])
        synced = sum(1 for r in rows if r[6] == "synced" and r[2] in held)
        print(f"\n{synced}/{len(ids)} listed on the sandbox Trendyol and written back in {elapsed:.1f}s")

        # One change travelling: the merchant raises a price; only the price part is sent.
        pid = ids[0]
        db.execute("UPDATE {p}product SET price = price + 10 WHERE product_id = %s", (pid,))
        outbox.write_many(db, [outbox.product_saved(pid, source="demo")])
        barcode = next(r["remote_sku"] for r in _listings(db) if r["product_id"] == pid)
        before = held.get(barcode, {}).get("salePrice")
        t0 = time.monotonic()
        changed = wait_until(lambda: _price(port, barcode) not in (None, before), 30, interval=0.1)
        after = _price(port, barcode)
        print(f"price change of product {pid}: Trendyol {before} → {after} in {time.monotonic() - t0:.2f}s")
        wait_until(lambda: any(r["product_id"] == pid and r["status"] == "synced" for r in _listings(db)), 15)

        success = ok and changed and synced == len(ids) and after is not None and Decimal(str(after)) > Decimal(
            str(before))
        print("\nDEMO " + ("OK" if success else "FAILED") + f" (logs in {log_dir})")
        return 0 if success else 1
    finally:
        for p in reversed(procs):
            p.term(30)
        env.close(keep=keep)


def _up(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/__sandbox/state", timeout=1)
        return True
    except requests.RequestException:
        return False


def _products(state: dict) -> list[dict]:
    products = state.get("products", [])
    return list(products.values()) if isinstance(products, dict) else list(products)


def _price(port: int, barcode: str):
    state = requests.get(f"http://127.0.0.1:{port}/__sandbox/state", timeout=5).json()
    for p in _products(state):
        if p.get("barcode") == barcode:
            return p.get("salePrice")
    return None
