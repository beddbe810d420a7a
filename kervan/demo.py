"""``kervan demo``: the demo catalogue travelling from OpenCart's database to four sandbox
marketplaces (Trendyol, Hepsiburada, N11, Amazon) and back, with every piece a real process on
the local services.

A fresh OpenCart 4.1.0.4 demo store is loaded, migrated and given one account per marketplace,
each pointing at a sandbox started here; the relay and one catalog worker per marketplace run as
processes. The demo writes
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
from pathlib import Path

import redis
import requests

from bridge import channels as accounts
from bridge import outbox
from bridge.db import Database
from bridge.heartbeat import wait_until
from bridge.migrate import migrate
from kervan import demo_store
from kervan.procs import ROOT, Proc
from sandbox import opencart
from workers.clients import build_client


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


CHANNELS = ("trendyol", "hepsiburada", "n11", "amazon")
NAMES = {"trendyol": "Trendyol", "hepsiburada": "Hepsiburada", "n11": "N11", "amazon": "Amazon"}


def _listings(db: Database) -> list[dict]:
    return db.query(
        "SELECT c.code, l.product_id, d.name, l.remote_sku, l.remote_id, l.status, l.last_error, l.batch_id"
        " FROM {p}kervan_listing l JOIN {p}kervan_channel c ON c.channel_id = l.channel_id"
        " LEFT JOIN {p}product_description d ON d.product_id = l.product_id"
        " AND d.language_id = (SELECT MIN(language_id) FROM {p}language) ORDER BY c.channel_id, l.product_id"
    )


def _print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False))
    print(line)
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=False)))


def remote_price(code: str, row: dict) -> float | None:
    """The sale price a marketplace reports for one listing (each says it its own way)."""
    if code == "amazon":
        offer = (row.get("attributes") or {}).get("purchasable_offer") or [{}]
        try:
            return float(offer[0]["our_price"][0]["schedule"][0]["value_with_tax"])
        except (KeyError, IndexError, TypeError):
            return None
    if code == "hepsiburada":
        value = row.get("price")
    else:  # Trendyol's approved products nest it under "price"
        value = row.get("salePrice", (row.get("price") or {}).get("salePrice"))
    return None if value is None else float(value)


def run_demo(cfg, *, keep: bool = False, products: int = 0, timeout: float = 180.0, log_dir: Path | None = None,
             channels: tuple[str, ...] = CHANNELS) -> int:
    log_dir = log_dir or ROOT / "demo-logs"
    env = DemoEnvironment(cfg)
    env.cfg = env.cfg.with_overrides({"channels": {"enabled": ",".join(channels)}})
    procs: list[Proc] = []
    clients: dict[str, object] = {}
    try:
        db = env.db
        ports = {code: free_port() for code in channels}
        urls = {code: f"http://127.0.0.1:{port}" + ("/integration" if code == "trendyol" else "")
                for code, port in ports.items()}
        demo_store.install_all(db, urls)
        print(f"store     {db.dsn.safe()} (OpenCart 4.1.0.4 demo data, Kervan tables migrated)")
        print(f"broker    vhost {env.vhost if env.own_vhost else '(configured)'}")
        for code in channels:
            procs.append(Proc(env.cfg, "sandbox", code, "--port", str(ports[code]), log_dir=log_dir))
            print(f"sandbox   {NAMES[code]:<12} {urls[code]}")
        for code in channels:
            if not wait_until(lambda code=code: _up(ports[code]), 20):
                raise RuntimeError(f"the {code} sandbox did not start; see {log_dir}")
        procs.append(Proc(env.cfg, "relay", log_dir=log_dir))
        for code in channels:
            procs.append(Proc(env.cfg, "worker", "catalog", "--channel", code, log_dir=log_dir))
        for code in channels:
            clients[code] = build_client(env.cfg, accounts.get(db, code))

        ids = [r["product_id"] for r in db.query("SELECT product_id FROM {p}product ORDER BY product_id")]
        if products:
            ids = ids[:products]
        # What the extension's editProduct/after hook does: one outbox row per saved product.
        started = time.monotonic()
        outbox.write_many(db, [outbox.product_saved(pid, source="demo") for pid in ids])
        print(f"\n{len(ids)} products saved in OpenCart → {len(ids)} outbox rows; "
              f"waiting for {', '.join(NAMES[c] for c in channels)}…")

        def settled() -> bool:
            rows = _listings(db)
            return len(rows) == len(ids) * len(channels) and all(r["status"] in ("synced", "failed") for r in rows)

        ok = wait_until(settled, timeout, interval=0.2)
        elapsed = time.monotonic() - started
        rows = _listings(db)
        held: dict[str, set[str]] = {}
        for code in channels:
            keys = [r["remote_sku"] for r in rows if r["code"] == code and r["remote_sku"]]
            found = clients[code].find_listings(keys) if keys else []
            held[code] = {str(f.get("barcode") or f.get("merchantSku") or f.get("stockCode") or f.get("sku"))
                          for f in found}
        table = []
        for code in channels:
            mine = [r for r in rows if r["code"] == code]
            synced = [r for r in mine if r["status"] == "synced" and r["remote_sku"] in held[code]]
            failed = [r for r in mine if r["status"] == "failed"]
            table.append([NAMES[code], len(ids), len(synced), len(failed),
                          (failed[0]["last_error"] or "")[:70] if failed else ""])
        print()
        _print_table(table, ["marketplace", "products", "listed", "failed", "first error"])
        listed = sum(t[2] for t in table)
        print(f"\n{listed}/{len(ids) * len(channels)} listings held by the sandboxes and written back in "
              f"{elapsed:.1f}s")

        # One change travelling: the merchant raises a price; only the price part is sent.
        pid = ids[0]
        keys = {r["code"]: r["remote_sku"] for r in _listings(db) if r["product_id"] == pid}

        def price(code: str) -> float | None:
            found = clients[code].find_listings([keys[code]])
            return remote_price(code, found[0]) if found else None

        before = {code: price(code) for code in channels}
        db.execute("UPDATE {p}product SET price = price + 10 WHERE product_id = %s", (pid,))
        outbox.write_many(db, [outbox.product_saved(pid, source="demo")])
        t0 = time.monotonic()
        changed = {}
        for code in channels:
            changed[code] = wait_until(lambda code=code: price(code) not in (None, before[code]), 30, interval=0.1)
            after = price(code)
            print(f"price of product {pid} on {NAMES[code]:<12} {before[code]} → {after} "
                  f"(after {time.monotonic() - t0:.2f}s)")
        wait_until(lambda: all(r["status"] == "synced" for r in _listings(db) if r["product_id"] == pid), 15)

        success = ok and all(changed.values()) and listed == len(ids) * len(channels)
        print("\nDEMO " + ("OK" if success else "FAILED") + f" (logs in {log_dir})")
        return 0 if success else 1
    finally:
        for c in clients.values():
            c.close()
        for p in reversed(procs):
            p.term(30)
        env.close(keep=keep)


def _up(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/__sandbox/state", timeout=1)
        return True
    except requests.RequestException:
        return False
