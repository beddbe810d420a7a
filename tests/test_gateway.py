"""The gateway as a real OS process (``kervan gateway``) on the test's own database, vhost and
Redis prefix: an accepted webhook is in RabbitMQ even when the gateway is SIGKILLed right after
its 2xx; duplicates make one OpenCart order through the orders worker's handler; every refusal
has its status and reason and leaves nothing in the broker; the rate limit, health, status and
metrics routes behave; the Trendyol sandbox delivers its order webhooks with faults and retries."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge import channels
from bridge.envelope import Event
from bridge.heartbeat import wait_until
from bridge.topology import Topology
from kervan import demo_store
from kervan.procs import ROOT
from kervan.status import print_status
from sandbox.hepsiburada import HepsiburadaSandbox
from sandbox.trendyol import TrendyolSandbox
from sandbox.trendyol.webhooks import WebhookSender
from tests.fleet import Proc, drain
from workers.clients import build_client
from workers.orders.importer import OrderImporter

USER, PASSWORD, API_KEY, TOKEN = "trendyol-hook", "pässword-1", "key-42-Zq", "status-token-9"
PRODUCTS = {40: "product 11", 43: "Product 16"}  # product id → model (the order's barcode)
QUEUE = Topology.queue("orders", "trendyol")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qty(db, pid: int) -> int:
    return int(db.one("SELECT quantity FROM {p}product WHERE product_id = %s", (pid,))["quantity"])


class Gateway:
    def __init__(self, cfg, tmp_path) -> None:
        self.cfg = cfg
        self.url = f"http://127.0.0.1:{cfg.get('gateway', 'port')}"
        self.proc = Proc(cfg, "gateway", log_dir=tmp_path)

        def live() -> bool:
            try:
                return requests.get(f"{self.url}/v1/health/live", timeout=1).ok
            except requests.RequestException:
                return False

        assert wait_until(live, 60, 0.1), self.proc.log()[-3000:]

    def hook(self, body: Any, *, account: str = "default", channel: str = "trendyol", auth=(USER, PASSWORD),
             headers: dict[str, str] | None = None) -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return requests.post(f"{self.url}/v1/webhooks/{channel}/{account}", data=data, auth=auth,
                             headers={"Content-Type": "application/json", **(headers or {})}, timeout=10)


@pytest.fixture
def env(store41, amqp_url, cfg_factory, tmp_path) -> Iterator[dict[str, Any]]:
    ty = TrendyolSandbox().start()
    procs: list[Gateway] = []
    try:
        demo_store.install(store41, ty.base_url)
        account = channels.get(store41, "trendyol")
        store41.execute("UPDATE {p}kervan_channel SET credentials = %s, settings = %s WHERE channel_id = %s", (
            json.dumps({**account.credentials, "webhook_user": USER, "webhook_password": PASSWORD,
                        "webhook_api_key": API_KEY}),
            json.dumps({**account.settings, "stream_interval": 0}), account.channel_id))

        def start(enabled: str = "trendyol", **gateway: str) -> Gateway:
            settings = {"port": str(free_port()), "token": TOKEN, "max_body": "4096", "rate_limit": "1000",
                        "account_cache": "0", **gateway}
            cfg = cfg_factory(store41, amqp_url, gateway=settings, worker={"retry_tiers": "1,2"},
                              channels={"enabled": enabled})
            g = Gateway(cfg, tmp_path)
            procs.append(g)
            return g

        yield {"db": store41, "ty": ty, "amqp": amqp_url, "start": start, "cfg_factory": cfg_factory}
    finally:
        for g in procs:
            g.proc.term(20)
        ty.orders.webhooks.stop()
        ty.stop()


def order(ty: TrendyolSandbox, quantity: int = 1) -> dict[str, Any]:
    return ty.create_order([{"barcode": PRODUCTS[40], "quantity": quantity, "price": 140.0},
                            {"barcode": PRODUCTS[43], "quantity": 1, "price": 143.0}])


def importer_for(env: dict[str, Any]) -> OrderImporter:
    db = env["db"]
    cfg = env["cfg_factory"](db, env["amqp"])
    account = channels.get(db, "trendyol")
    return OrderImporter(db, account, build_client(cfg, account, None))


def test_an_accepted_webhook_survives_a_kill_right_after_the_answer(env):
    g = env["start"]()
    pkg = order(env["ty"])
    r = g.hook(pkg)
    assert r.status_code == 200, r.text
    g.proc.kill9()  # nothing of the gateway is left to flush anything
    messages = drain(env["amqp"], QUEUE)
    assert len(messages) == 1
    m = messages[0]
    assert m["id"] == r.json()["id"]
    assert m["type"] == "cmd.poll_orders"
    assert m["payload"]["orders"] == [{"package_id": str(pkg["shipmentPackageId"]),
                                       "order_number": pkg["orderNumber"], "status": "Created"}]


def test_duplicate_webhooks_make_one_opencart_order_and_lower_stock_once(env):
    db, ty = env["db"], env["ty"]
    g = env["start"]()
    before = {pid: qty(db, pid) for pid in PRODUCTS}
    pkg = order(ty, quantity=2)
    answers = [g.hook(pkg), g.hook(pkg), g.hook(pkg, auth=None, headers={"x-api-key": API_KEY})]
    assert [a.status_code for a in answers] == [200, 200, 200]
    messages = drain(env["amqp"], QUEUE)
    assert len(messages) == 3
    importer = importer_for(env)
    for m in messages:
        importer.handle(Event.from_json(json.dumps(m)))
    links = db.query("SELECT order_id FROM {p}kervan_order_link WHERE remote_order_id = %s",
                     (str(pkg["shipmentPackageId"]),))
    assert len(links) == 1
    assert db.one("SELECT COUNT(*) AS n FROM {p}order WHERE user_agent = 'Kervan trendyol'")["n"] == 1
    assert qty(db, 40) == before[40] - 2
    assert qty(db, 43) == before[43] - 1
    # The late copy of an older state (out of order) leaves the order as the marketplace has it now.
    ty.advance_package(pkg["shipmentPackageId"], "Cancelled")
    importer.handle(Event.from_json(json.dumps(messages[0])))
    assert qty(db, 40) == before[40]  # restocked once, by the current (cancelled) state
    importer.handle(Event.from_json(json.dumps(messages[1])))
    assert qty(db, 40) == before[40]


def test_refusals_have_their_status_and_reason_and_leave_nothing_in_the_broker(env):
    g = env["start"]()
    pkg = order(env["ty"])
    cases = [
        (g.hook(pkg, auth=(USER, "wrong")), 401, "credentials"),
        (g.hook(pkg, auth=None), 401, "credentials"),
        (g.hook(pkg, auth=None, headers={"x-api-key": "nope"}), 401, "credentials"),
        (g.hook(pkg, auth=("", "")), 401, "credentials"),
        (g.hook({**pkg, "customerFirstName": "x" * 5000}), 413, "limit"),
        (g.hook(b"{not json"), 400, "not JSON"),
        (g.hook([pkg]), 400, "JSON object"),
        (g.hook({k: v for k, v in pkg.items() if k != "orderNumber"}), 400, "orderNumber is missing"),
        (g.hook({**pkg, "shipmentPackageId": "abc"}), 400, "shipmentPackageId"),
        (g.hook({**pkg, "lines": "none"}), 400, "lines"),
        (g.hook(pkg, account="nobody"), 404, "account"),
        (g.hook(pkg, channel="n11"), 404, "channel"),
    ]
    for r, status, reason in cases:
        assert r.status_code == status, (status, r.text)
        assert reason in r.json()["error"], r.text
    # A forged Basic header that is not base64 is a refusal too, not a crash.
    r = requests.post(f"{g.url}/v1/webhooks/trendyol/default", data=json.dumps(pkg),
                      headers={"Authorization": "Basic ###"}, timeout=10)
    assert r.status_code == 401
    assert requests.get(f"{g.url}/v1/webhooks/trendyol/default", timeout=10).status_code == 405
    assert requests.get(f"{g.url}/v2/anything", timeout=10).status_code == 404
    assert drain(env["amqp"], QUEUE) == []


def test_an_account_without_webhook_credentials_has_no_endpoint(env):
    db = env["db"]
    account = channels.get(db, "trendyol")
    creds = {k: v for k, v in account.credentials.items() if not k.startswith("webhook_")}
    db.execute("UPDATE {p}kervan_channel SET credentials = %s WHERE channel_id = %s",
               (json.dumps(creds), account.channel_id))
    g = env["start"]()
    r = g.hook(order(env["ty"]))
    assert r.status_code == 404


def test_rate_limit_per_source(env):
    g = env["start"](rate_limit="3", rate_period="60")
    pkg = order(env["ty"])
    codes = [g.hook(pkg).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    r = g.hook(pkg)
    assert int(r.headers["Retry-After"]) >= 1
    assert len(drain(env["amqp"], QUEUE)) == 3


def test_health_status_and_metrics(env):
    g = env["start"]()
    h = requests.get(f"{g.url}/v1/health", timeout=10)
    assert h.status_code == 200, h.text
    assert h.json() == {"ok": True, "checks": {"database": "ok", "broker": "ok", "redis": "ok"}}
    for path in ("/v1/status", "/metrics"):
        assert requests.get(g.url + path, timeout=10).status_code == 401
        wrong = requests.get(g.url + path, headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401
    assert g.hook(order(env["ty"])).status_code == 200
    ok = {"Authorization": f"Bearer {TOKEN}"}
    status = requests.get(f"{g.url}/v1/status", headers=ok, timeout=30)
    assert status.status_code == 200, status.text
    data = status.json()
    assert data["broker_reachable"] is True
    assert data["queues"][QUEUE]["messages"] == 1
    assert {"channel": "trendyol", "account": "default", "paused": False, "state": "closed"} in data["breakers"]
    metrics = requests.get(f"{g.url}/metrics", headers=ok, timeout=10)
    assert metrics.status_code == 200
    assert 'kervan_gateway_webhooks_total{channel="trendyol",outcome="accepted"} 1.0' in metrics.text
    assert PASSWORD not in metrics.text and API_KEY not in metrics.text
    assert PASSWORD not in g.proc.log() and TOKEN not in g.proc.log()



def test_kervan_status_prints_the_same_data(env, capsys):
    g = env["start"]()
    assert g.hook(order(env["ty"])).status_code == 200
    assert print_status(g.cfg) == 0
    out = capsys.readouterr().out
    assert f"  {QUEUE:<32} 1 ready, 0 consumers" in out
    assert re.search(r"^  trendyol/default +closed$", out, re.M)
    assert "parked    0 open" in out


def test_status_and_metrics_are_off_without_a_token(env):
    g = env["start"](token="")
    for path in ("/v1/status", "/metrics"):
        r = requests.get(g.url + path, headers={"Authorization": "Bearer "}, timeout=10)
        assert r.status_code == 403


def test_health_names_what_is_down(env, store41, cfg_factory, tmp_path):
    g = env["start"](token="")
    cfg = cfg_factory(store41, env["amqp"], gateway={"port": str(free_port())},
                      redis={"url": f"redis://127.0.0.1:{free_port()}/0"})
    down = Gateway(cfg, tmp_path)
    try:
        r = requests.get(f"{down.url}/v1/health", timeout=20)
        assert r.status_code == 503
        assert r.json()["checks"]["redis"].startswith("redis unreachable")
        assert r.json()["checks"]["database"] == "ok"
    finally:
        down.proc.term(20)
    assert requests.get(f"{g.url}/v1/health", timeout=20).status_code == 200


def test_sandbox_webhooks_reach_opencart_through_the_gateway_and_worker(env, tmp_path):
    """The sandbox delivers every package change (twice each, some held back), first with a wrong
    password (401s, retried), then the right one; the real orders worker imports each order once."""
    db, ty = env["db"], env["ty"]
    g = env["start"]()
    worker_cfg = env["cfg_factory"](db, env["amqp"], orders={"poll_interval": "3600"}, worker={"retry_tiers": "1,2"})
    worker = Proc(worker_cfg, "worker", "orders", "--channel", "trendyol", log_dir=tmp_path)
    try:
        assert wait_until(lambda: "consuming kervan.orders.trendyol" in worker.log(), 60), worker.log()[-2000:]
        url = f"{g.url}/v1/webhooks/trendyol/default"
        hooks = ty.orders.webhooks
        r = requests.post(f"{ty.admin_url}/webhooks", timeout=5, json={
            "url": url, "auth": "basic", "username": USER, "password": "stale", "duplicate_rate": 1.0,
            "reorder_rate": 0.3, "reorder_delay": 0.3, "retry_delay": 0.2, "seed": 3,
            "deactivate_after": 1000})  # the 401s below must not switch it off before the fix
        assert r.status_code == 200 and r.json()["settings"]["password"] == "***", r.text
        assert requests.post(f"{ty.admin_url}/webhooks", json={"auth": "x"}, timeout=5).status_code == 400
        before = {pid: qty(db, pid) for pid in PRODUCTS}
        packages = [order(ty) for _ in range(3)]
        assert wait_until(lambda: hooks.status()["counters"]["failed_attempts"] >= 3, 30)
        hooks.configure(password=PASSWORD)
        ty.advance_package(packages[0]["shipmentPackageId"], "Picking", force=True)

        def all_in() -> bool:
            return db.one("SELECT COUNT(*) AS n FROM {p}kervan_order_link")["n"] == len(packages)

        assert wait_until(all_in, 60), worker.log()[-3000:]
        assert wait_until(lambda: hooks.idle() and hooks.status()["pending"] == 0, 30)
        st = hooks.status()
        assert st["counters"]["duplicated"] >= 4 and st["counters"]["delivered"] >= 8
        assert any(d["answer"] == 401 for d in st["deliveries"])
        assert "imported at once" in worker.log()  # the webhook path, not the hourly poll
        assert db.one("SELECT COUNT(*) AS n FROM {p}order WHERE user_agent = 'Kervan trendyol'")["n"] == 3
        assert qty(db, 40) == before[40] - 3
        assert qty(db, 43) == before[43] - 3
    finally:
        worker.term(30)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_gateway_unit_verifies(tmp_path):
    kervan = Path(sys.executable).with_name("kervan")
    text = (ROOT / "deploy" / "systemd" / "kervan-gateway@.service").read_text()
    assert "ExecStart=/opt/kervan/.venv/bin/kervan gateway" in text
    # A template is verified through an instance: the port it listens on.
    (tmp_path / "kervan-gateway@8780.service").write_text(text.replace("/opt/kervan/.venv/bin/kervan", str(kervan)))
    out = subprocess.run(["systemd-analyze", "verify", "--man=no", "kervan-gateway@8780.service"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr


def test_hepsiburada_create_order_webhook_imports_the_order_once(env):
    db = env["db"]
    hb = HepsiburadaSandbox(processing_delay=0.05).start()
    try:
        demo_store.install_hepsiburada(db, hb.base_url)
        account = channels.get(db, "hepsiburada")
        db.execute("UPDATE {p}kervan_channel SET credentials = %s WHERE channel_id = %s", (
            json.dumps({**account.credentials, "webhook_user": USER, "webhook_password": PASSWORD}),
            account.channel_id))
        placed = hb.add_order([{"merchantSku": PRODUCTS[40], "quantity": 1, "price": 140.0}])
        body = {"items": [{"id": line["id"], "orderNumber": placed["orderNumber"], "sku": "HBV00000NE0YY",
                           "quantity": line["quantity"], "lastStatusUpdateDate": "2026-06-24T10:36:53.593"}
                          for line in placed["lines"]]}
        # A channel without an orders queue (not enabled): the broker cannot take the command, so
        # the webhook is refused with 503 and Hepsiburada sends it again.
        off = env["start"]()
        refused = requests.post(f"{off.url}/v1/webhooks/hepsiburada/default/orders", json=body,
                                auth=(USER, PASSWORD), timeout=10)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
        off.proc.term(20)
        g = env["start"]("trendyol,hepsiburada")
        url = f"{g.url}/v1/webhooks/hepsiburada/default/orders"
        answers = [requests.post(url, json=body, auth=(USER, PASSWORD), timeout=10) for _ in range(2)]
        assert [a.status_code for a in answers] == [200, 200], answers[0].text
        assert requests.post(url, json={"items": []}, auth=(USER, PASSWORD), timeout=10).status_code == 400
        bad = requests.post(url, json={"items": [{"id": "x"}]}, auth=(USER, PASSWORD), timeout=10)
        assert bad.status_code == 400 and "items[0]: orderNumber is missing" in bad.json()["error"]
        assert requests.post(url, json=body, auth=(USER, "wrong"), timeout=10).status_code == 401
        # Each marketplace only where it sends: no Trendyol /orders, no Hepsiburada package URL.
        assert requests.post(url[: -len("/orders")], json=body, auth=(USER, PASSWORD), timeout=10).status_code == 404
        ty_orders = requests.post(f"{g.url}/v1/webhooks/trendyol/default/orders", json=order(env["ty"]),
                                  auth=(USER, PASSWORD), timeout=10)
        assert ty_orders.status_code == 404
        messages = drain(env["amqp"], Topology.queue("orders", "hepsiburada"))
        assert [m["payload"]["orders"] for m in messages] == [
            [{"package_id": "", "order_number": placed["orderNumber"], "status": "Open"}]] * 2
        cfg = env["cfg_factory"](db, env["amqp"])
        importer = OrderImporter(db, account, build_client(cfg, channels.get(db, "hepsiburada"), None))
        for m in messages:
            importer.handle(Event.from_json(json.dumps(m)))
        links = db.query("SELECT l.remote_order_id FROM {p}kervan_order_link l JOIN {p}kervan_channel c"
                         " ON c.channel_id = l.channel_id WHERE c.code = 'hepsiburada'")
        assert len(links) == 1
        assert db.one("SELECT COUNT(*) AS n FROM {p}order WHERE user_agent = 'Kervan hepsiburada'")["n"] == 1
    finally:
        hb.stop()


def test_sandbox_webhooks_filter_by_status_and_deactivate_after_failures_in_a_row():
    """No gateway at all: the sandbox's sender keeps retrying, then gives up as Trendyol does."""
    sender = WebhookSender()
    try:
        sender.configure(url=f"http://127.0.0.1:{free_port()}/hook", auth="api_key", api_key="k",
                         statuses="CREATED,AT_COLLECTION_POINT", retry_delay=0.01, deactivate_after=3)
        sender.notify({"shipmentPackageId": 1, "status": "Picking"})  # not subscribed
        assert sender.status()["counters"]["queued"] == 0
        sender.notify({"shipmentPackageId": 1, "status": "AtCollectionPoint"})
        assert wait_until(lambda: not sender.status()["active"], 30)
        st = sender.status()
        assert st["counters"]["failed_attempts"] == 3 and st["counters"]["delivered"] == 0
        assert [d["attempt"] for d in st["deliveries"]] == [1, 2, 3]
        assert st["settings"]["api_key"] == "***"
        sender.notify({"shipmentPackageId": 2, "status": "Created"})  # deactivated: nothing goes out
        assert sender.status()["counters"]["queued"] == 1
        with pytest.raises(ValueError):
            sender.configure(auth="oauth", password="p")
        assert sender.settings.auth == "api_key" and sender.settings.password == ""
    finally:
        sender.stop()
