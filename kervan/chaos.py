"""``make chaos``: a steady load of product changes through the real fleet while faults are
injected, then, once the faults stop and the fleet settles, the invariants as a table.

Load: random price and stock edits of the demo products, each written to OpenCart and to the
outbox as the extension does. Faults, on a schedule: SIGKILL of a random catalog worker or of the
active relay (each restarted a moment later), Trendyol answering 5xx, 429 or slowly, a RabbitMQ
restart, a MariaDB restart, a Redis restart (the full run). Invariants after settling:

- lost: outbox events never published (must be 0);
- duplicated: products created twice on Trendyol (must be 0);
- drift: listings whose Trendyol stock/price/content differs from what OpenCart says now (0);
- unexplained parked messages (0: nothing here is a permanent error).

Storefront and marketplace orders, feeds and the other marketplaces join the load as they are
built.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import threading
import time
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
from sandbox.trendyol import TrendyolSandbox
from workers.binder import digest
from workers.catalog import load_mapping
from workers.mappers import trendyol as mapper


@dataclass
class Fleet:
    cfg: object
    log_dir: Path
    relays: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)

    def start(self, relays: int, workers: int) -> None:
        self.relays = [Proc(self.cfg, "relay", log_dir=self.log_dir) for _ in range(relays)]
        self.workers = [Proc(self.cfg, "worker", "catalog", "--channel", "trendyol", log_dir=self.log_dir)
                        for _ in range(workers)]

    def revive(self) -> None:
        """Restart whatever died (systemd's Restart=always)."""
        self.relays = [p if p.alive() else Proc(self.cfg, "relay", log_dir=self.log_dir) for p in self.relays]
        self.workers = [p if p.alive() else Proc(self.cfg, "worker", "catalog", "--channel", "trendyol",
                                                 log_dir=self.log_dir) for p in self.workers]

    def stop(self) -> None:
        for p in [*self.workers, *self.relays]:
            p.term(60)


def _edit_load(db, stop: threading.Event, counts: dict, rng: random.Random) -> None:
    ids = [r["product_id"] for r in db.query("SELECT product_id FROM {p}product")]
    while not stop.is_set():
        pid = rng.choice(ids)
        try:
            if rng.random() < 0.5:
                db.execute("UPDATE {p}product SET quantity = %s WHERE product_id = %s", (rng.randint(0, 500), pid))
            else:
                db.execute("UPDATE {p}product SET price = %s WHERE product_id = %s", (rng.randint(50, 2000), pid))
            outbox.write_many(db, [outbox.product_saved(pid, source="chaos")])
            counts["edits"] += 1
        except Exception as exc:  # noqa: BLE001 - the database is being restarted: try again shortly
            counts["edit_errors"] += 1
            logger.debug("load: {}", exc)
            db.reset()
        stop.wait(0.15)


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
    schedule = ["kill_worker", "sandbox_5xx"]
    for i, extra in enumerate(["kill_relay", "sandbox_429", "kill_worker", "sandbox_slow"]):
        if i < len(services):
            schedule.append(services[i])
        schedule.append(extra)
    i = 0
    while not stop.wait(every):
        fault = schedule[i % len(schedule)]
        i += 1
        try:
            if fault == "kill_worker" and fleet.workers:
                rng.choice(fleet.workers).kill9()
            elif fault == "kill_relay" and fleet.relays:
                for p in fleet.relays[:1]:
                    p.kill9()
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


def invariants(db, sandbox: TrendyolSandbox) -> dict[str, int]:
    lost = db.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox WHERE published_at IS NULL")["n"]
    creates: dict[str, int] = {}
    for e in sandbox.request_log()["effects"]:
        if e["kind"] == "create":
            creates[e["barcode"]] = creates.get(e["barcode"], 0) + 1
    duplicated = sum(1 for n in creates.values() if n > 1)
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
    if drift:
        logger.info("drift: {}", "; ".join(drift))
    parked = db.one("SELECT COUNT(*) AS n FROM {p}kervan_parked WHERE status = 'open'")["n"]
    return {"lost": lost, "duplicated": duplicated, "drift": len(drift), "parked": parked,
            "listings": len(held)}


def run(cfg, *, duration: float = 300, services: tuple[str, ...] = ("rabbitmq", "mariadb", "redis"),
        fault_every: float = 4.0, settle: float = 240, seed: int = 7, log_dir: Path | None = None,
        keep: bool = False) -> dict:
    rng = random.Random(seed)
    log_dir = log_dir or Path("chaos-logs")
    env = DemoEnvironment(cfg, tag="chaos")
    sandbox = TrendyolSandbox(batch_delay=0.1, seed=seed).start()
    fleet = Fleet(env.cfg.with_overrides({
        "worker": {"retry_tiers": "1,2,4", "max_attempts": "60", "batch_poll_interval": "0.5",
                   "heartbeat_interval": "1"},
        "breaker": {"fail_max": "5", "reset_timeout": "3"},
    }), log_dir)
    counts = {"edits": 0, "edit_errors": 0}
    done: list[str] = []
    try:
        demo_store.install(env.db, sandbox.base_url)
        fleet.start(relays=2, workers=2)
        outbox.write_many(env.db, [outbox.product_saved(r["product_id"], source="chaos")
                                   for r in env.db.query("SELECT product_id FROM {p}product")])
        stop = threading.Event()
        load = threading.Thread(target=_edit_load, args=(env.db, stop, counts, rng), daemon=True)
        chaos = threading.Thread(target=_faults, args=(fleet, sandbox, stop, rng, list(services), done, fault_every),
                                 daemon=True)
        load.start()
        chaos.start()
        stop.wait(duration)
        stop.set()
        load.join(30)
        chaos.join(300)
        sandbox.clear_faults()
        # Trendyol's 15-minute rule may still block an A → B → A price or stock change: let the
        # sandbox's clock pass it rather than wait a real quarter of an hour.
        sandbox.advance_clock(16 * 60)
        fleet.revive()
        t0 = time.monotonic()
        wait_until(lambda: _settled(env.db, sandbox), settle, interval=1.0)
        result = {**invariants(env.db, sandbox), **counts, "faults": len(done),
                  "settle_seconds": round(time.monotonic() - t0, 1)}
        result["fault_kinds"] = sorted(set(done))
        return result
    finally:
        fleet.stop()
        if keep:
            import json as _json

            (log_dir / "sandbox-state.json").write_text(_json.dumps(sandbox.state(), default=str))
            logger.info("kept database {}", env.db_name)
        sandbox.stop()
        env.close(keep=keep)


def _settled(db, sandbox) -> bool:
    try:
        inv = invariants(db, sandbox)
    except Exception:  # noqa: BLE001 - the database may still be coming back
        db.reset()
        return False
    return inv["lost"] == 0 and inv["drift"] == 0


def print_table(result: dict) -> None:
    print("| invariant | value | must be |")
    print("|---|---|---|")
    for key, want in (("lost", 0), ("duplicated", 0), ("drift", 0), ("parked", 0)):
        print(f"| {key} | {result[key]} | {want} |")
    print(f"\n{result['edits']} product edits, {result['listings']} listings, {result['faults']} faults "
          f"({', '.join(result['fault_kinds'])}), settled in {result['settle_seconds']} s")


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
    ok = all(result[k] == 0 for k in ("lost", "duplicated", "drift", "parked"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
