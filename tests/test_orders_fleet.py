"""Marketplace orders through the real fleet: ``kervan worker orders --channel trendyol`` polls
the Trendyol sandbox over HTTP and writes each order into OpenCart; it is killed with SIGKILL
while orders keep coming and restarted, and a second poller races it. Every order lands once,
stock is lowered once per line, and the Hepsiburada catalog worker carries the new stock to the
Hepsiburada sandbox."""

from __future__ import annotations

import json
import random

from bridge import channels, outbox
from bridge.heartbeat import wait_until
from kervan import demo_store
from sandbox.hepsiburada import HepsiburadaSandbox
from sandbox.trendyol import TrendyolSandbox
from tests.fleet import Proc

PRODUCTS = {40: "product 11", 43: "Product 16", 36: "Product 9"}  # product id → model (the order's barcode)


def qty(db, pid: int) -> int:
    return int(db.one("SELECT quantity FROM {p}product WHERE product_id = %s", (pid,))["quantity"])


def test_orders_land_once_under_kill_and_race_and_stock_reaches_the_other_channel(store41, amqp_url, cfg_factory,
                                                                                   tmp_path):
    ty = TrendyolSandbox().start()
    hb = HepsiburadaSandbox(processing_delay=0.05).start()
    procs: list[Proc] = []
    try:
        demo_store.install(store41, ty.base_url)
        demo_store.install_hepsiburada(store41, hb.base_url)
        ty_account = channels.get(store41, "trendyol")
        store41.execute("UPDATE {p}kervan_channel SET settings = %s WHERE channel_id = %s",
                        (json.dumps({**ty_account.settings, "stream_interval": 0}), ty_account.channel_id))
        cfg = cfg_factory(store41, amqp_url, channels={"enabled": "trendyol,hepsiburada"},
                          orders={"poll_interval": "0.3"}, worker={"batch_poll_interval": "0.2", "retry_tiers": "1,2"})
        before = {pid: qty(store41, pid) for pid in PRODUCTS}

        procs.append(Proc(cfg, "relay", log_dir=tmp_path))
        procs.append(Proc(cfg, "worker", "catalog", "--channel", "hepsiburada", log_dir=tmp_path))
        outbox.write_many(store41, [outbox.product_saved(pid) for pid in PRODUCTS])
        assert wait_until(lambda: len(hb.listings()) == len(PRODUCTS), 60)

        poller = Proc(cfg, "worker", "orders", "--channel", "trendyol", log_dir=tmp_path)
        rng = random.Random(5)
        sold = dict.fromkeys(PRODUCTS, 0)
        packages = []

        def place(n: int) -> None:
            for _ in range(n):
                lines = []
                for pid in rng.sample(list(PRODUCTS), rng.randint(1, 2)):
                    q = rng.randint(1, 2)
                    sold[pid] += q
                    lines.append({"barcode": PRODUCTS[pid], "quantity": q, "price": 100.0 + pid})
                packages.append(ty.create_order(lines)["shipmentPackageId"])

        place(10)
        assert wait_until(lambda: store41.one("SELECT COUNT(*) AS n FROM {p}kervan_order_link")["n"] >= 3, 60)
        poller.kill9()  # mid-stream
        place(10)
        poller = Proc(cfg, "worker", "orders", "--channel", "trendyol", log_dir=tmp_path)
        racer = Proc(cfg, "worker", "orders", "--channel", "trendyol", log_dir=tmp_path)  # a second poller
        procs += [poller, racer]
        place(10)

        def all_in() -> bool:
            return store41.one("SELECT COUNT(*) AS n FROM {p}kervan_order_link")["n"] == len(packages)

        assert wait_until(all_in, 90), poller.log()[-3000:]
        orders = store41.query("SELECT order_id, total FROM {p}order WHERE user_agent = 'Kervan trendyol'")
        assert len(orders) == len(packages)  # once each
        for pid in PRODUCTS:
            assert qty(store41, pid) == before[pid] - sold[pid], pid  # lowered once per line

        for pkg in packages[:5]:  # totals match the marketplace's
            remote = ty.package(pkg)
            link = store41.one("SELECT order_id FROM {p}kervan_order_link WHERE remote_order_id = %s", (str(pkg),))
            total = store41.one("SELECT value FROM {p}order_total WHERE order_id = %s AND code = 'total'",
                                (link["order_id"],))["value"]
            assert abs(float(total) - float(remote["packageTotalPrice"])) < 0.01

        def hb_holds_opencart_stock() -> bool:
            held = {r["merchantSku"]: r["availableStock"] for r in hb.listings()}
            rows = store41.query("SELECT l.product_id, l.remote_sku FROM {p}kervan_listing l JOIN {p}kervan_channel c"
                                 " ON c.channel_id = l.channel_id WHERE c.code = 'hepsiburada'")
            return all(held.get(r["remote_sku"]) == qty(store41, r["product_id"]) for r in rows)

        assert wait_until(hb_holds_opencart_stock, 60)
    finally:
        for p in reversed(procs):
            p.term(20)
        ty.stop()
        hb.stop()
