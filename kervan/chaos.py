"""``make chaos``: a steady mixed load through the real fleet while faults are injected, then, once
the faults stop and the fleet settles, the invariants as a table.

Load, all at once:
- product edits: random prices of every demo product, random stock of the ones no order touches,
  written to OpenCart and to the outbox as the extension does;
- marketplace orders: customers order on the Trendyol sandbox (one or two lines of the products
  kept for orders), and some cancel a few seconds later;
- storefront orders: guest checkouts in OpenCart of the same products (``kervan.storefront``: the
  rows and the stock change OpenCart's PHP writes, and the extension's outbox events);
- feed runs: the supplier's feed changes its stock and prices and the feeds worker imports it
  (products it created are listed on Trendyol like the others).

The fleet: two relays, two catalog workers and two order pollers for Trendyol, the scheduler and
the feeds worker, all OS processes. Faults, on a schedule: SIGKILL of a random worker of each
role, of the active relay and of the scheduler (each restarted a moment later, as systemd does),
Trendyol answering 5xx, 429 or slowly, a RabbitMQ, a MariaDB and a Redis restart. Invariants:

- lost: outbox events not published ``LOST_AFTER`` seconds after they were written (the relay
  takes a fraction of a second; the scheduler keeps writing while the table is read);
- duplicated: products created twice on Trendyol, or a marketplace order written twice into OpenCart;
- missing orders: a Trendyol order that was not cancelled at once but has no OpenCart order;
- stock: products whose OpenCart stock is not the start minus every live order line (Trendyol's
  own order book, and the storefront orders) — lowered exactly once per line, given back exactly
  once per cancellation;
- feed: products of the supplier whose OpenCart stock is not the last feed's, or runs left running;
- drift: listings whose Trendyol stock/price/content differs from what OpenCart says now;
- parked: messages parked (nothing here is a permanent error).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from bridge import channels, logsetup, outbox
from bridge import config as kconfig
from bridge.heartbeat import wait_until
from bridge.opencart import ProductReader
from kervan import demo_store
from kervan.demo import DemoEnvironment
from kervan.procs import Proc
from kervan.storefront import Storefront
from sandbox.supplier import SupplierFeedSandbox
from sandbox.supplier.feed_catalog import products as feed_products
from sandbox.trendyol import TrendyolSandbox
from workers.binder import digest
from workers.catalog import load_mapping
from workers.mappers import trendyol as mapper
from workers.suppliers import store as suppliers
from workers.suppliers.feeds_worker import import_command

# Products only orders move (no stock edit touches them): their stock is checked line by line.
ORDERED = (28, 33, 40, 43, 46)
START_STOCK = 100_000
SUPPLIER = "tedarik"
FEED_ITEMS = 8
FEED_SEED = 7
RULES = {"price": {"markups": [{"percent": "30"}], "rounding": "0.99", "currency": "TRY", "rates": {"TRY": "0.03"}},
         "categories": {"default": 20}, "new_products": "create_enabled", "missing_products": "zero_stock"}
STOREFRONT_TAG = "chaos storefront "
LOST_AFTER = 5

LOADS = ("edits", "marketplace", "storefront", "feeds")

# role name → the command line of its processes
ROLES = {
    "relay": ("relay",),
    "catalog": ("worker", "catalog", "--channel", "trendyol"),
    "orders": ("worker", "orders", "--channel", "trendyol"),
    "scheduler": ("scheduler",),
    "feeds": ("worker", "feeds"),
}


@dataclass
class Fleet:
    cfg: object
    log_dir: Path
    procs: dict[str, list[Proc]] = field(default_factory=dict)

    def start(self, counts: dict[str, int]) -> None:
        for role, n in counts.items():
            self.procs[role] = [Proc(self.cfg, *ROLES[role], log_dir=self.log_dir) for _ in range(n)]

    def kill(self, role: str, rng: random.Random) -> bool:
        alive = [p for p in self.procs.get(role, []) if p.alive()]
        if not alive:
            return False
        # The relay's first process is the one most likely to lead: kill that one.
        (alive[0] if role == "relay" else rng.choice(alive)).kill9()
        return True

    def revive(self) -> None:
        """Restart whatever died (systemd's Restart=always)."""
        for role, procs in self.procs.items():
            self.procs[role] = [p if p.alive() else Proc(self.cfg, *ROLES[role], log_dir=self.log_dir) for p in procs]

    def stop(self) -> None:
        for role in ("feeds", "scheduler", "orders", "catalog", "relay"):
            for p in self.procs.get(role, []):
                p.term(60)


class Load:
    """The four kinds of load, each on its own thread; what each did is counted."""

    def __init__(self, db, sandbox: TrendyolSandbox, feeds: SupplierFeedSandbox, rng: random.Random) -> None:
        self.db, self.sandbox, self.feeds, self.rng = db, sandbox, feeds, rng
        self.counts: Counter[str] = Counter()
        self.feed_round = 0
        self.stop = threading.Event()
        self.storefront = Storefront(db)
        self._lock = threading.Lock()

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def threads(self, loads: tuple[str, ...] = LOADS) -> list[threading.Thread]:
        steps = {"edits": (self.edit, 0.15), "marketplace": (self.marketplace_order, 0.4),
                 "storefront": (self.storefront_order, 0.8), "feeds": (self.feed_run, 12.0)}
        return [threading.Thread(target=self._loop, args=steps[k], daemon=True, name=k) for k in loads]

    def _loop(self, step, pause: float) -> None:
        while not self.stop.is_set():
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - a service is being restarted: try again shortly
                self.count(f"{step.__name__}_errors")
                logger.debug("load {}: {}", step.__name__, exc)
                self.db.reset()
            self.stop.wait(pause)

    def edit(self) -> None:
        pid = self.rng.choice(self._products())
        if pid not in ORDERED and not self._supplied(pid) and self.rng.random() < 0.5:
            self.db.execute("UPDATE {p}product SET quantity = %s WHERE product_id = %s", (self.rng.randint(0, 500), pid))
        elif not self._supplied(pid):
            self.db.execute("UPDATE {p}product SET price = %s WHERE product_id = %s", (self.rng.randint(50, 2000), pid))
        else:
            return
        outbox.write_many(self.db, [outbox.product_saved(pid, source="chaos")])
        self.count("edits")

    def marketplace_order(self) -> None:
        barcodes = self._barcodes()
        lines = [{"barcode": b, "quantity": self.rng.randint(1, 3)}
                 for b in self.rng.sample(barcodes, self.rng.randint(1, min(2, len(barcodes))))]
        pkg = self.sandbox.create_order(lines)
        self.count("marketplace_orders")
        if self.rng.random() < 0.15:
            # The customer cancels a few seconds later: imported or not by then, both must hold.
            timer = threading.Timer(self.rng.uniform(0.5, 6.0), self._cancel, args=(pkg["shipmentPackageId"],))
            timer.daemon = True
            timer.start()

    def _cancel(self, package_id: int) -> None:
        try:
            self.sandbox.advance_package(package_id, "Cancelled")
            self.count("marketplace_cancels")
        except Exception as exc:  # noqa: BLE001 - e.g. already moved on: not cancelled, nothing to count
            logger.debug("cancel {}: {}", package_id, exc)

    def storefront_order(self) -> None:
        n = self.counts["storefront_orders"] + self.counts["storefront_order_errors"]
        picked = self.rng.sample(ORDERED, self.rng.randint(1, 2))
        self.storefront.checkout([(pid, self.rng.randint(1, 2)) for pid in picked], tag=f"{STOREFRONT_TAG}{n}")
        self.count("storefront_orders")

    def feed_run(self) -> None:
        self.feed_round += 1
        configure_supplier(self.db, self.feeds, self.feed_round)
        outbox.write_many(self.db, [import_command(SUPPLIER, source="chaos")])
        self.count("feed_runs")

    def _products(self) -> list[int]:
        return [int(r["product_id"]) for r in self.db.query("SELECT product_id FROM {p}product")]

    def _supplied(self, pid: int) -> bool:
        return self.db.one("SELECT 1 AS x FROM {p}kervan_supplier_product WHERE product_id = %s", (pid,)) is not None

    def _barcodes(self) -> list[str]:
        return [r["remote_sku"] for r in self.db.query(
            "SELECT remote_sku FROM {p}kervan_listing WHERE product_id IN %s AND remote_sku IS NOT NULL",
            (ORDERED,))]


def configure_supplier(db, feeds: SupplierFeedSandbox, feed_round: int) -> None:
    """The supplier's feed as it stands at ``feed_round`` (stock and prices move each round)."""
    spec = feeds.feed_spec("urun", "basic", items=FEED_ITEMS, variants=1, seed=FEED_SEED, round=feed_round)
    suppliers.save(db, suppliers.Supplier(code=SUPPLIER, name="Tedarik A.Ş. (sandbox)", feed=spec, rules_raw=RULES))


def _restart(what: str) -> None:
    if what == "rabbitmq":
        subprocess.run(["rabbitmqctl", "-q", "stop_app"], check=True, timeout=120)
        time.sleep(1)
        subprocess.run(["rabbitmqctl", "-q", "start_app"], check=True, timeout=180)
    elif what == "mariadb":
        subprocess.run(["start-stop-daemon", "--stop", "--exec", "/usr/sbin/mariadbd", "--retry", "60"],
                       check=True, timeout=120)
        subprocess.run(["start-stop-daemon", "--start", "--oknodo", "--background", "--exec", "/usr/sbin/mariadbd"],
                       check=True, timeout=60)
    elif what == "redis":
        subprocess.run(["redis-cli", "shutdown", "nosave"], timeout=30)
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "",
                        "--appendonly", "no"], check=True, timeout=30)


def _faults(fleet: Fleet, sandbox: TrendyolSandbox, stop: threading.Event, rng: random.Random,
            services: list[str], done: list[str], every: float) -> None:
    # Service restarts come early and spread out, so even a short run sees them under load.
    schedule = ["kill_catalog", "sandbox_5xx", "kill_orders"]
    extras = ["kill_relay", "sandbox_429", "kill_scheduler", "kill_feeds", "sandbox_slow", "kill_catalog", "kill_orders"]
    for i, extra in enumerate(extras):
        if i < len(services):
            schedule.append(services[i])
        schedule.append(extra)
    i = 0
    while not stop.wait(every):
        fault = schedule[i % len(schedule)]
        i += 1
        try:
            if fault.startswith("kill_"):
                if not fleet.kill(fault[5:], rng):
                    continue
            elif fault == "sandbox_5xx":
                sandbox.set_faults("*", error_rate=0.3)
            elif fault == "sandbox_429":
                sandbox.set_faults("*", throttle_rate=0.3)
            elif fault == "sandbox_slow":
                sandbox.set_faults("*", latency=[0.2, 1.0])
            elif fault in ("rabbitmq", "mariadb", "redis"):
                if fault in done:
                    continue
                _restart(fault)
            done.append(fault)
            logger.info("chaos: {}", fault)
        finally:
            if not fault.startswith("sandbox"):
                sandbox.clear_faults()
            time.sleep(1)
            fleet.revive()


def invariants(db, sandbox: TrendyolSandbox, feed_round: int = 0) -> dict[str, int]:
    # The fleet keeps running while this is read (the scheduler writes a poll command every
    # second), so a row written a moment ago and not yet published is not lost.
    out = {"lost": int(db.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox WHERE published_at IS NULL"
                              " AND created_at < CURRENT_TIMESTAMP(6) - INTERVAL %s SECOND", (LOST_AFTER,))["n"])}
    creates: Counter[str] = Counter(e["barcode"] for e in sandbox.request_log()["effects"] if e["kind"] == "create")
    out.update(_orders(db, sandbox))
    out["duplicated"] = sum(1 for n in creates.values() if n > 1) + out.pop("orders_duplicated")
    out["feed"] = _feed(db, feed_round)
    drift = _drift(db, sandbox)
    out["drift"] = len(drift)
    if drift:
        logger.info("drift: {}", "; ".join(drift))
    out["parked"] = int(db.one("SELECT COUNT(*) AS n FROM {p}kervan_parked WHERE status = 'open'")["n"])
    out["listings"] = len(sandbox.products())
    return out


def _orders(db, sandbox: TrendyolSandbox) -> dict[str, int]:
    """Every Trendyol order against OpenCart's, and the stock of the ordered products."""
    account = channels.get(db, "trendyol")
    links = {r["remote_order_id"]: r for r in db.query(
        "SELECT l.remote_order_id, l.order_id, o.order_status_id FROM {p}kervan_order_link l LEFT JOIN {p}order o"
        " ON o.order_id = l.order_id WHERE l.channel_id = %s", (account.channel_id,))}
    written = Counter(r["comment"] for r in db.query(
        "SELECT comment FROM {p}order WHERE user_agent = 'Kervan trendyol'"))
    by_sku = {r["remote_sku"]: int(r["product_id"]) for r in db.query(
        "SELECT product_id, remote_sku FROM {p}kervan_listing WHERE channel_id = %s", (account.channel_id,))}
    sold: Counter[int] = Counter()
    missing = 0
    for pkg in sandbox.packages():
        link = links.get(str(pkg["shipmentPackageId"]))
        cancelled = pkg["status"] == "Cancelled"
        if not cancelled:
            for line in pkg["lines"]:
                sold[by_sku[line["barcode"]]] += int(line["quantity"])
            if link is None or not link["order_id"]:
                missing += 1
        elif link is not None and link["order_id"] and link["order_status_id"] != 7:
            missing += 1  # written, but its cancellation never reached OpenCart
    for r in db.query("SELECT op.product_id, SUM(op.quantity) AS q FROM {p}order_product op JOIN {p}order o"
                      " ON o.order_id = op.order_id WHERE o.comment LIKE %s GROUP BY op.product_id",
                      (STOREFRONT_TAG + "%",)):
        sold[int(r["product_id"])] += int(r["q"])
    stock = {int(r["product_id"]): int(r["quantity"]) for r in db.query(
        "SELECT product_id, quantity FROM {p}product WHERE product_id IN %s", (ORDERED,))}
    wrong = [f"{pid}: {stock[pid]} ≠ {START_STOCK} − {sold[pid]}" for pid in ORDERED
             if stock[pid] != START_STOCK - sold[pid]]
    if wrong:
        logger.info("stock: {}", "; ".join(wrong))
    return {"orders_missing": missing, "orders_duplicated": sum(1 for n in written.values() if n > 1),
            "stock": len(wrong), "orders": len(links)}


def _feed(db, feed_round: int) -> int:
    """The supplier's products whose stock differs from the feed's last round, plus runs never closed."""
    if not feed_round:
        return 0
    want = {p.code: p.variants[0].quantity
            for p in feed_products(FEED_SEED, FEED_ITEMS, 1, 0, feed_round)}
    have = {r["supplier_code"]: int(r["quantity"]) for r in db.query(
        "SELECT sp.supplier_code, p.quantity FROM {p}kervan_supplier_product sp JOIN {p}product p"
        " ON p.product_id = sp.product_id")}
    wrong = [code for code, q in want.items() if have.get(code) != q]
    if wrong:
        logger.info("feed: {} hold other stock than round {}", wrong, feed_round)
    running = int(db.one("SELECT COUNT(*) AS n FROM {p}kervan_feed_run WHERE outcome = 'running'")["n"])
    return len(wrong) + running


def _drift(db, sandbox: TrendyolSandbox) -> list[str]:
    account = channels.get(db, "trendyol")
    mapping = load_mapping(db, account)
    reader = ProductReader(db)
    held = {p["barcode"]: p for p in sandbox.products()}
    drift = []
    for pid, product in reader.load([r["product_id"] for r in db.query("SELECT product_id FROM {p}product")]).items():
        master = reader.get(product.master_id) if product.master_id else None
        want = mapper.to_item(product, mapping, master=master)
        row = db.one("SELECT content_hash, status FROM {p}kervan_listing WHERE product_id = %s", (pid,))
        have = held.get(want["barcode"], {})
        wrong = [k for k in ("quantity", "salePrice", "listPrice", "title") if have.get(k) != want[k]]
        if row is None or row["content_hash"] != digest(want) or row["status"] != "synced" or wrong:
            drift.append(f"{pid}: {row['status'] if row else 'no listing'} {wrong}")
    return drift


def run(cfg, *, duration: float = 300, services: tuple[str, ...] = ("rabbitmq", "mariadb", "redis"),
        fault_every: float = 4.0, settle: float = 240, seed: int = 7, log_dir: Path | None = None,
        keep: bool = False, loads: tuple[str, ...] = LOADS) -> dict:
    """``loads``: which of the load kinds run (all by default); the fleet has the roles they need."""
    rng = random.Random(seed)
    log_dir = log_dir or Path("chaos-logs")
    env = DemoEnvironment(cfg, tag="chaos")
    sandbox = TrendyolSandbox(batch_delay=0.1, seed=seed).start()
    feeds = SupplierFeedSandbox(seed=FEED_SEED).start()
    fleet = Fleet(env.cfg.with_overrides({
        "worker": {"retry_tiers": "1,2,4", "max_attempts": "60", "batch_poll_interval": "0.5",
                   "heartbeat_interval": "1"},
        "breaker": {"fail_max": "5", "reset_timeout": "3"},
        "orders": {"poll_interval": "1", "overlap": "600"},
        "suppliers": {"roles": "feeds"},
        "feeds": {"workdir": str(log_dir / "feeds")},
    }), log_dir)
    load = Load(env.db, sandbox, feeds, rng)
    done: list[str] = []
    try:
        demo_store.install(env.db, sandbox.base_url)
        env.db.execute("UPDATE {p}product SET quantity = %s WHERE product_id IN %s", (START_STOCK, ORDERED))
        configure_supplier(env.db, feeds, 0)
        fleet.start({"relay": 2, "catalog": 2, "orders": 2 if "marketplace" in loads else 0,
                     "scheduler": 1 if set(loads) - {"edits"} else 0, "feeds": 1 if "feeds" in loads else 0})
        outbox.write_many(env.db, [outbox.product_saved(r["product_id"], source="chaos")
                                   for r in env.db.query("SELECT product_id FROM {p}product")])
        # Customers can order once the products are on Trendyol.
        wait_until(lambda: len(load._barcodes()) == len(ORDERED) and all(
            sandbox.product(b) for b in load._barcodes()), 120, interval=0.5)
        threads = load.threads(loads)
        chaos = threading.Thread(target=_faults, args=(fleet, sandbox, load.stop, rng, list(services), done,
                                                       fault_every), daemon=True)
        for t in [*threads, chaos]:
            t.start()
        load.stop.wait(duration)
        load.stop.set()
        for t in threads:
            t.join(60)
        chaos.join(300)
        sandbox.clear_faults()
        # Trendyol's 15-minute rule may still block an A → B → A price or stock change: let the
        # sandbox's clock pass it rather than wait a real quarter of an hour.
        sandbox.advance_clock(16 * 60)
        fleet.revive()
        time.sleep(7)  # the last cancellations (at most 6 s after their order) are in
        if "feeds" in loads:
            # One last feed round once everything is quiet: its stock is what the supplier's products end with.
            load.feed_run()
        t0 = time.monotonic()
        wait_until(lambda: _settled(env.db, sandbox, load.feed_round), settle, interval=1.0)
        result = {**invariants(env.db, sandbox, load.feed_round), **load.counts, "faults": len(done),
                  "settle_seconds": round(time.monotonic() - t0, 1), "fault_kinds": sorted(set(done)),
                  "feed_runs_applied": int(env.db.one(
                      "SELECT COUNT(*) AS n FROM {p}kervan_feed_run WHERE outcome = 'applied'")["n"])}
        return result
    finally:
        load.stop.set()
        fleet.stop()
        if keep:
            import json as _json

            (log_dir / "sandbox-state.json").write_text(_json.dumps(sandbox.state(), default=str))
            logger.info("kept database {}", env.db_name)
        sandbox.stop()
        feeds.stop()
        env.close(keep=keep)


INVARIANTS = ("lost", "duplicated", "orders_missing", "stock", "feed", "drift", "parked")


def _settled(db, sandbox, feed_round: int) -> bool:
    try:
        inv = invariants(db, sandbox, feed_round)
    except Exception:  # noqa: BLE001 - the database may still be coming back
        db.reset()
        return False
    return all(inv[k] == 0 for k in ("lost", "drift", "orders_missing", "stock", "feed"))


def print_table(result: dict) -> None:
    print("| invariant | value | must be |")
    print("|---|---|---|")
    for key in INVARIANTS:
        print(f"| {key} | {result[key]} | 0 |")
    print(f"\nload: {result.get('edits', 0)} product edits, {result.get('marketplace_orders', 0)} Trendyol orders"
          f" ({result.get('marketplace_cancels', 0)} cancelled), {result.get('storefront_orders', 0)} storefront"
          f" orders, {result.get('feed_runs', 0)} feed runs ({result['feed_runs_applied']} applied);"
          f" {result['orders']} orders imported, {result['listings']} listings")
    print(f"{result['faults']} faults ({', '.join(result['fault_kinds'])}), settled in {result['settle_seconds']} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kervan chaos")
    p.add_argument("--duration", type=float, default=300)
    p.add_argument("--no-service-restarts", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the database and the sandbox state for a post-mortem")
    args = p.parse_args(argv)
    logsetup.setup("INFO")
    result = run(kconfig.load(), duration=args.duration,
                 services=() if args.no_service_restarts else ("rabbitmq", "mariadb", "redis"), keep=args.keep)
    print_table(result)
    ok = all(result[k] == 0 for k in INVARIANTS)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
