"""1,000 marketplace orders across Trendyol, Hepsiburada, N11 and Amazon through the real fleet
(relay, a catalog and an orders worker per channel, all OS processes), with order pollers
SIGKILLed at random while the orders arrive, and a second poller racing one of them.

Every order lands in OpenCart exactly once with the marketplace's total, OpenCart's stock is
lowered exactly once per line, and every marketplace's sandbox ends holding OpenCart's stock.

What is simulated: the marketplaces (the sandboxes, over HTTP, with their own order generators
that pick products, quantities and Turkish customers and lower the marketplace's own stock).
Everything else is the real fleet on MariaDB and RabbitMQ.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter

from bridge import channels, outbox
from bridge.heartbeat import wait_until
from kervan import demo_store
from sandbox.amazon import AmazonSandbox
from sandbox.hepsiburada import HepsiburadaSandbox
from sandbox.n11 import N11Sandbox
from sandbox.trendyol import TrendyolSandbox
from tests.fleet import Proc
from workers.catalog import handler_for
from workers.clients import build_client

CHANNELS = ("trendyol", "hepsiburada", "n11", "amazon")
PRODUCTS = (28, 30, 40, 43, 47, 33)
# Amazon's getOrderItems allows 0.5 requests/s (burst 30), one request per order: 50 Amazon orders
# already take it past its burst; 250 would take eight minutes at the documented rate.
PER_CHANNEL = {"trendyol": 350, "hepsiburada": 300, "n11": 300, "amazon": 50}
ROUNDS = 10
STOCK = 5000  # enough for every order: the check is about counting, not running out


def test_a_thousand_orders_on_four_channels_land_once_under_kills(store41, amqp_url, cfg_factory, tmp_path):
    sandboxes = {
        "trendyol": TrendyolSandbox(batch_delay=0.05, seed=11),
        "hepsiburada": HepsiburadaSandbox(processing_delay=0.05, seed=12),
        "n11": N11Sandbox(task_delay=0.05, seed=13),
        "amazon": AmazonSandbox(feed_delay=0.05, seed=14),
    }
    procs: list[Proc] = []
    clients = {}
    try:
        for sb in sandboxes.values():
            sb.start()
            # One-off orders only: no customer cancels or moves an order on while we count.
            sb.configure_order_generator(cancel_share=0, advance_share=0)
        demo_store.install_all(store41, {code: sb.base_url for code, sb in sandboxes.items()})
        ty = channels.get(store41, "trendyol")
        store41.execute("UPDATE {p}kervan_channel SET settings = %s WHERE channel_id = %s",
                        (json.dumps({**ty.settings, "stream_interval": 0}), ty.channel_id))
        store41.execute("UPDATE {p}product SET quantity = %s, status = 1 WHERE product_id IN %s", (STOCK, PRODUCTS))
        # Only the products under test are for sale: the rest are disabled before listing.
        store41.execute("UPDATE {p}product SET status = 0 WHERE product_id NOT IN %s", (PRODUCTS,))
        cfg = cfg_factory(store41, amqp_url, channels={"enabled": ",".join(CHANNELS)},
                          orders={"poll_interval": "0.5", "overlap": "600"},
                          worker={"batch_poll_interval": "0.2", "retry_tiers": "1,2"})

        procs.append(Proc(cfg, "relay", log_dir=tmp_path))
        for code in CHANNELS:
            procs.append(Proc(cfg, "worker", "catalog", "--channel", code, log_dir=tmp_path))
        outbox.write_many(store41, [outbox.product_saved(pid) for pid in PRODUCTS])

        def listed() -> bool:
            n = store41.one("SELECT COUNT(*) AS n FROM {p}kervan_listing WHERE status = 'synced' AND product_id IN %s",
                            (PRODUCTS,))["n"]
            return n == len(PRODUCTS) * len(CHANNELS)

        assert wait_until(listed, 120), store41.query("SELECT channel_id, product_id, status, last_error"
                                                      " FROM {p}kervan_listing WHERE status <> 'synced'")

        pollers = {code: Proc(cfg, "worker", "orders", "--channel", code, log_dir=tmp_path) for code in CHANNELS}
        procs += list(pollers.values())
        racer = Proc(cfg, "worker", "orders", "--channel", "hepsiburada", log_dir=tmp_path)  # a second poller
        procs.append(racer)

        rng = random.Random(2026)
        made: dict[str, list] = {code: [] for code in CHANNELS}
        kills = 0
        for _ in range(ROUNDS):
            for code, sb in sandboxes.items():
                made[code] += sb.generate_orders(PER_CHANNEL[code] // ROUNDS)
            # Amazon lists an order only once it is two minutes old: its clock jumps instead.
            sandboxes["amazon"].advance_clock(150)
            victim = rng.choice(CHANNELS)
            time.sleep(rng.uniform(0.2, 1.5))
            pollers[victim].kill9()
            kills += 1
            pollers[victim] = Proc(cfg, "worker", "orders", "--channel", victim, log_dir=tmp_path)
            procs.append(pollers[victim])
        assert kills == ROUNDS and all(len(made[c]) == PER_CHANNEL[c] for c in CHANNELS), {c: len(m) for c, m in made.items()}
        total = sum(len(m) for m in made.values())
        assert total == 1000

        def imported() -> int:
            return store41.one("SELECT COUNT(*) AS n FROM {p}kervan_order_link WHERE order_id > 0")["n"]

        assert wait_until(lambda: imported() >= total, 240, interval=1), (imported(), pollers["trendyol"].log()[-2000:])
        time.sleep(2)  # pollers still running may re-read the overlap window: nothing may change
        by_channel = {r["code"]: int(r["n"]) for r in store41.query(
            "SELECT c.code, COUNT(*) AS n FROM {p}kervan_order_link l JOIN {p}kervan_channel c"
            " ON c.channel_id = l.channel_id WHERE l.order_id > 0 GROUP BY c.code")}
        assert by_channel == PER_CHANNEL
        orders = store41.one("SELECT COUNT(*) AS n FROM {p}order WHERE user_agent LIKE 'Kervan %%'")["n"]
        assert orders == total  # exactly once each, however many pollers saw them
        flags = store41.query("SELECT remote_order_id, flags FROM {p}kervan_order_link WHERE flags IS NOT NULL"
                              " AND flags <> ''")
        assert flags == [], flags[:5]  # no total mismatch, no unknown SKU, no unknown currency

        # Totals match the marketplace's, order by order (Trendyol gives the package total).
        for pkg in made["trendyol"]:
            link = store41.one("SELECT order_id FROM {p}kervan_order_link l JOIN {p}kervan_channel c"
                               " ON c.channel_id = l.channel_id WHERE c.code = 'trendyol' AND l.remote_order_id = %s",
                               (str(pkg),))
            total_row = store41.one("SELECT value FROM {p}order_total WHERE order_id = %s AND code = 'total'",
                                    (link["order_id"],))
            assert abs(float(total_row["value"]) - float(sandboxes["trendyol"].package(pkg)["packageTotalPrice"])) < 0.01

        # Stock lowered exactly once per line: OpenCart's stock is the start minus what the four
        # marketplaces' own order books say was sold (product 47 has subtract = 0 in the demo
        # data: OpenCart keeps its stock, and the marketplaces are put back to it).
        keys = {(r["code"], r["remote_sku"]): int(r["product_id"]) for r in store41.query(
            "SELECT c.code, l.remote_sku, l.product_id FROM {p}kervan_listing l JOIN {p}kervan_channel c"
            " ON c.channel_id = l.channel_id")}
        sold: Counter[int] = Counter()
        for code, sb in sandboxes.items():
            history = {h["id"]: h for h in sb.order_generator.history()}
            for oid in made[code]:
                for line in history[oid]["lines"]:
                    sold[keys[(code, str(line["key"]))]] += int(line["quantity"])
        assert sum(sold.values()) >= total
        for pid in PRODUCTS:
            row = store41.one("SELECT quantity, subtract FROM {p}product WHERE product_id = %s", (pid,))
            assert sold[pid] > 0
            assert row["quantity"] == STOCK - (sold[pid] if row["subtract"] else 0), (pid, row, sold[pid])

        # Every marketplace ends holding OpenCart's stock for every listed product.
        catalogs = {}
        for code in CHANNELS:
            account = channels.get(store41, code)
            clients[code] = build_client(cfg, account)
            catalogs[code] = handler_for(store41, account, clients[code])
        mismatch: list[str] = []

        def converged() -> bool:
            mismatch.clear()
            for code, cat in catalogs.items():
                stock_field = cat.STOCK_FIELDS[0]
                held = cat.remote_states([k for (c, k) in keys if c == code])
                for (c, key), pid in keys.items():
                    if c != code:
                        continue
                    want = cat.desired(cat.reader.get(pid), None)[stock_field]
                    if (held.get(key) or {}).get(stock_field) != want:
                        mismatch.append(f"{code} {key}: holds {(held.get(key) or {}).get(stock_field)}, wants {want}")
            return not mismatch

        assert wait_until(converged, 120, interval=1), mismatch[:8]
    finally:
        for c in clients.values():
            c.close()
        for p in reversed(procs):
            p.term(20)
        for sb in sandboxes.values():
            sb.stop()
