"""``kervan demo``: the demo catalogue travelling from OpenCart's database to four sandbox
marketplaces (Trendyol, Hepsiburada, N11, Amazon) and back, with every piece a real process on
the local services.

A fresh OpenCart 4.1.0.4 demo store is loaded, migrated and given one account per marketplace,
each pointing at a sandbox started here; the relay and one catalog worker per marketplace run as
processes. The demo writes
outbox rows the way the OpenCart extension does, waits for the sandbox to hold the products and
for the outcome to be written back, changes a price, imports customer orders from every
marketplace (stock converging everywhere, a shipment reported back), then runs the
dropshipping part (``kervan/demo_suppliers.py``: a supplier feed import, a truncated feed
quarantined, a Trendyol order forwarded to the supplier and its tracking number brought back),
and prints what happened. Everything it started or created is stopped and removed at the end.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import requests

from bridge import channels as accounts
from bridge import outbox, redisconn
from bridge.db import Database
from bridge.envelope import Event
from bridge.heartbeat import wait_until
from bridge.migrate import migrate
from kervan import demo_store, demo_suppliers
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
        client = redisconn.connect(self.cfg)
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
    env.cfg = env.cfg.with_overrides({"channels": {"enabled": ",".join(channels)},
                                      "orders": {"poll_interval": "2", "first_days": "1"},
                                      **demo_suppliers.config_overrides(log_dir)})
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

        orders_ok = _orders_part(env, db, channels, ports, clients, procs, log_dir)
        suppliers_ok = "trendyol" not in channels or demo_suppliers.supplier_part(env.cfg, db, ports, procs, log_dir)

        success = ok and all(changed.values()) and listed == len(ids) * len(channels) and orders_ok and suppliers_ok
        print("\nDEMO " + ("OK" if success else "FAILED") + f" (logs in {log_dir})")
        return 0 if success else 1
    finally:
        for c in clients.values():
            c.close()
        for p in reversed(procs):
            p.term(30)
        env.close(keep=keep)


def _held_quantity(code: str, row: dict) -> int | None:
    if code == "amazon":
        avail = (row.get("attributes") or {}).get("fulfillment_availability") or [{}]
        value = avail[0].get("quantity")
    elif code == "hepsiburada":
        value = row.get("availableStock")
    else:  # Trendyol's approved products nest it under "stock"
        value = row.get("quantity", (row.get("stock") or {}).get("quantity"))
    return None if value is None else int(value)


def _orders_part(env: DemoEnvironment, db: Database, channels: tuple[str, ...], ports: dict[str, int],
                 clients: dict, procs: list, log_dir: Path, per_channel: int = 3) -> bool:
    """Customers buy on every marketplace; the orders land in OpenCart once, the stock they took
    reaches every other marketplace, and a shipment goes back."""
    for code in channels:
        procs.append(Proc(env.cfg, "worker", "orders", "--channel", code, log_dir=log_dir))
    made = {}
    for code in channels:
        answer = requests.post(f"http://127.0.0.1:{ports[code]}/__sandbox/orders/generate",
                               # Amazon lists an order changed in the last two minutes only
                               # after that: no customer cancellations there, to keep the demo short.
                               json={"count": per_channel, "advance_share": 0,
                                     **({"cancel_share": 0} if code == "amazon" else {})}, timeout=10)
        answer.raise_for_status()
        made[code] = per_channel
    if "amazon" in channels:
        # Amazon lists an order only once it is two minutes old: the sandbox's clock jumps ahead
        # instead of the demo waiting.
        requests.post(f"http://127.0.0.1:{ports['amazon']}/__sandbox/clock", json={"advance": 150}, timeout=10)
    print(f"\n{per_channel} customer orders placed on each marketplace; waiting for them in OpenCart…")
    t0 = time.monotonic()

    def links() -> dict[str, int]:
        rows = db.query("SELECT c.code, COUNT(*) AS n FROM {p}kervan_order_link l JOIN {p}kervan_channel c"
                        " ON c.channel_id = l.channel_id WHERE l.order_id > 0 GROUP BY c.code")
        return {r["code"]: int(r["n"]) for r in rows}

    imported = wait_until(lambda: all(links().get(c, 0) >= made[c] for c in channels), 90, interval=0.3)
    rows = []
    for r in db.query(
            "SELECT c.code, l.remote_order_id, l.order_id, l.flags, o.total, o.currency_code, os.name AS status"
            " FROM {p}kervan_order_link l JOIN {p}kervan_channel c ON c.channel_id = l.channel_id"
            " JOIN {p}order o ON o.order_id = l.order_id LEFT JOIN {p}order_status os"
            " ON os.order_status_id = o.order_status_id AND os.language_id = o.language_id ORDER BY l.order_id"):
        rows.append([NAMES[r["code"]], r["remote_order_id"], r["order_id"], f"{r['total']:.2f} {r['currency_code']}",
                     r["status"] or "", r["flags"] or ""])
    _print_table(rows, ["marketplace", "marketplace order", "OpenCart order", "total", "status", "flags"])
    print(f"{len(rows)} orders in OpenCart after {time.monotonic() - t0:.1f}s")

    # Stock: every listing of a sold product shows OpenCart's new quantity on every marketplace.
    sold = [r["product_id"] for r in db.query("SELECT DISTINCT product_id FROM {p}order_product op JOIN"
                                              " {p}kervan_order_link l ON l.order_id = op.order_id"
                                              " WHERE op.product_id > 0 ORDER BY product_id")]

    mismatch: list[str] = []

    def in_step() -> bool:
        mismatch.clear()
        for code in channels:
            listed = {r["remote_sku"]: r["product_id"] for r in _listings(db)
                      if r["code"] == code and r["product_id"] in sold and r["remote_sku"]}
            for found in clients[code].find_listings(list(listed)):
                key = str(found.get("barcode") or found.get("merchantSku") or found.get("stockCode") or found.get("sku"))
                want = db.one("SELECT quantity FROM {p}product WHERE product_id = %s", (listed.get(key),))
                if want is None or _held_quantity(code, found) != max(0, int(want["quantity"])):
                    mismatch.append(f"{NAMES[code]} {key}: holds {_held_quantity(code, found)}, OpenCart has "
                                    f"{want['quantity'] if want else '?'}")
        return not mismatch

    stock_ok = wait_until(in_step, 90, interval=0.5)
    print(f"stock of the {len(sold)} products sold is the same in OpenCart and on all {len(channels)} marketplaces"
          if stock_ok else "stock did not converge on every marketplace: " + "; ".join(mismatch[:5]))

    # Shipment back: the merchant ships the first Trendyol order with a tracking number.
    shipped = True
    first = db.one("SELECT l.order_id FROM {p}kervan_order_link l JOIN {p}kervan_channel c ON c.channel_id ="
                   " l.channel_id JOIN {p}order o ON o.order_id = l.order_id WHERE c.code = 'trendyol'"
                   " AND o.order_status_id IN (1, 2) ORDER BY l.order_id LIMIT 1")
    if first:
        oid = int(first["order_id"])
        db.execute("UPDATE {p}order SET order_status_id = 3 WHERE order_id = %s", (oid,))
        db.execute("INSERT INTO {p}order_history (order_id, order_status_id, notify, comment, date_added)"
                   " VALUES (%s, 3, 0, %s, NOW())", (oid, "Kargo: Yurtiçi Kargo, Takip No: YK100200300"))
        # What the extension's addHistory hook writes.
        outbox.write_many(db, [Event("order.status_changed", "order", str(oid),
                                     {"order_id": oid, "old_status_id": 2, "new_status_id": 3}, source="demo")])
        shipped = wait_until(lambda: db.one("SELECT shipped_at FROM {p}kervan_order_link WHERE order_id = %s",
                                            (oid,))["shipped_at"] is not None, 30, interval=0.2)
        print(f"OpenCart order {oid} shipped with tracking YK100200300 → "
              + ("reported to Trendyol" if shipped else "NOT reported"))
    return imported and stock_ok and shipped


def _up(port: int) -> bool:
    try:
        requests.get(f"http://127.0.0.1:{port}/__sandbox/state", timeout=1)
        return True
    except requests.RequestException:
        return False
