"""The N11 client and mapper over real HTTP: against the local N11 sandbox (tasks, per-SKU
outcomes, product query, categories, shipment packages, order actions, auth, faults, the orders
rate limit) with the real Redis limiter, plus a tiny stdlib server for shapes the sandbox does not
produce. Assertions are on counts and outcomes, never on timings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
import requests
from loguru import logger

from bridge.opencart import Category, Description, Manufacturer, Product, TaxRate
from sandbox.n11 import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DEMO_CATEGORIES, N11Sandbox
from tests.conftest import REDIS_URL
from workers.channels import n11
from workers.channels.base import BATCH_FINAL, CANCEL_REASONS, Channel, OrderRef, Shipment
from workers.channels.errors import (
    AuthError,
    BatchNotFound,
    NotFoundError,
    PermanentError,
    ThrottledError,
    TransientError,
)
from workers.channels.n11 import N11Client, fleet_limits, normalize_status, parse_task, translate_error
from workers.mappers.n11 import MappingError, N11Mapping, price_stock_item, task_body, to_sku
from workers.stock import StockRules

KEY, SECRET = DEFAULT_APP_KEY, DEFAULT_APP_SECRET
DAY = 86_400_000


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[N11Sandbox]:
    sb = N11Sandbox(task_delay=0.05, seed=5).start()
    try:
        yield sb
    finally:
        sb.stop()


def make_client(base_url: str, **kw: Any) -> N11Client:
    kw.setdefault("retry_budget", 10.0)
    return N11Client(base_url, kw.pop("app_key", KEY), kw.pop("app_secret", SECRET), **kw)


@pytest.fixture
def client(sandbox) -> Iterator[N11Client]:
    c = make_client(sandbox.base_url)
    yield c
    c.close()


@pytest.fixture
def logs() -> Iterator[list[str]]:
    lines: list[str] = []
    sink_id = logger.add(
        lambda m: lines.append(str(m)), level="DEBUG", format="{message} | {extra} | {exception}"
    )
    yield lines
    logger.remove(sink_id)


def sku(code: str, **overrides: Any) -> dict[str, Any]:
    item = {
        "title": f"Kervan Test Ürünü {code}",
        "description": "<p>Açıklama</p>",
        "categoryId": DEMO_CATEGORIES[18],
        "currencyType": "TL",
        "productMainId": "GRP-1",
        "preparingDay": 3,
        "shipmentTemplate": "Standart",
        "stockCode": code,
        "quantity": 10,
        "images": [{"url": "https://cdn.example.com/a.jpg", "order": 1}],
        "attributes": [{"id": 1, "valueId": None, "customValue": "Apple"}],
        "salePrice": 1600.5,
        "listPrice": 2000.0,
        "vatRate": 20,
    }
    item.update(overrides)
    return item


def count(sandbox: N11Sandbox, endpoint: str, status: int | None = None) -> int:
    c = sandbox.request_log()["counts"].get(endpoint, {"total": 0, "byStatus": {}})
    return c["total"] if status is None else c["byStatus"].get(str(status), 0)


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in (KEY, SECRET):
            assert secret not in text, f"credential leaked into: {text[:200]!r}"


# --- catalog -----------------------------------------------------------------------------------


def test_is_a_channel_without_credentials_in_repr(client):
    assert isinstance(client, Channel) and client.code == "n11"
    assert (
        client.supports("price_stock") and client.supports("batch_result") and not client.supports("brands")
    )
    assert KEY not in repr(client) and SECRET not in repr(client)
    assert KEY not in client.account and len(client.account) == 12
    assert "PROCESSED" in BATCH_FINAL


def test_create_task_polled_to_processed_with_per_sku_outcome(client):
    task_id = client.create_listings([sku("A-1"), sku("A-2"), sku("A-3", listPrice=100.0, salePrice=150.0)])
    assert task_id.isdigit()
    result = client.wait_task(task_id, timeout=20, interval=0.05)
    assert result.done and result.status == "PROCESSED" and result.batch_type == "PRODUCT_CREATE"
    assert result.id == task_id and result.item_count == 3 and result.failed_item_count == 1
    assert [i.key for i in result.succeeded] == ["A-1", "A-2"]
    failed = result.item("A-3")
    assert failed.failed and failed.reasons == ["listPrice, salePrice değerinden küçük olamaz."]
    assert result.item("A-1").request_item == {"salePrice": 1600.5, "listPrice": 2000.0, "stock": 10}


def test_a_queued_task_is_not_done(sandbox, client):
    sandbox.configure(task_delay=60)
    result = client.task_result(client.create_products([sku("Q-1")]))
    assert result.status == "IN_QUEUE" and not result.done and result.items == []


def test_rejected_task_raises_permanent_error_with_n11_reasons(sandbox, client):
    sandbox.configure(max_skus=2)
    with pytest.raises(PermanentError) as exc:
        client.update_price_stock([{"stockCode": f"S{i}", "quantity": 1} for i in range(3)])
    assert exc.value.code == "task.rejected" and "en fazla 2 sku" in exc.value.message
    assert not exc.value.transient


def test_rejected_task_result_is_final_and_keeps_n11s_status():
    result = parse_task(
        {"taskId": 7, "status": "REJECT", "reasons": ["integrator zorunlu"], "skus": {"content": []}}
    )
    assert result.status == "REJECT" and result.done and result.raw["reasons"] == ["integrator zorunlu"]
    with_items = parse_task(
        {
            "taskId": 8,
            "status": "REJECT",
            "reasons": ["task reddedildi"],
            "skus": {
                "content": [
                    {"itemCode": "A", "status": "SUCCESS"},
                    {"itemCode": "B", "status": "FAIL", "reasons": ["fiyat hatalı"]},
                    {"itemCode": "C", "status": "IN_QUEUE"},
                ],
                "totalElements": 3,
            },
        }
    )
    assert with_items.status == "REJECT" and with_items.done
    assert [(i.key, i.status, i.reasons) for i in with_items.items] == [
        ("A", "SUCCESS", []),
        ("B", "FAILED", ["fiyat hatalı"]),
        ("C", "FAILED", ["task reddedildi"]),
    ]


def test_more_than_1000_items_are_refused_before_any_request(sandbox, client):
    with pytest.raises(ValueError, match="at most 1000"):
        client.update_price_stock([{"stockCode": str(i), "quantity": 1} for i in range(1001)])
    with pytest.raises(ValueError):
        client.create_products([])
    assert sandbox.request_log()["counts"] == {}


def test_price_stock_chunked_at_1000_and_applied(sandbox, client):
    client.wait_task(client.create_products([sku(f"P-{i}") for i in range(3)]), timeout=20, interval=0.05)
    items = [{"stockCode": f"P-{i % 3}" if i < 3 else f"NONE-{i}", "quantity": 5} for i in range(2500)]
    task_ids = client.update_price_stock_chunked(items)
    assert len(task_ids) == 3 and len(set(task_ids)) == 3
    results = [client.wait_task(t, timeout=20, interval=0.05) for t in task_ids]
    assert [r.item_count for r in results] == [1000, 1000, 500]
    assert all(r.done for r in results)
    assert [i.key for i in results[0].succeeded] == ["P-0", "P-1", "P-2"]
    assert results[0].item("NONE-3").reasons == ["NONE-3 stok kodlu ürün bulunamadı."]
    assert sandbox.product("P-1")["quantity"] == 5
    assert count(sandbox, "price_stock") == 3


def test_task_result_walks_every_page(client, sandbox, monkeypatch):
    monkeypatch.setattr(n11, "TASK_PAGE_SIZE", 7)
    task_id = client.update_price_stock([{"stockCode": f"S{i}", "quantity": 1} for i in range(20)])
    result = client.wait_task(task_id, timeout=20, interval=0.05)
    assert len(result.items) == 20 and result.item_count == 20 and len(result.failed) == 20
    assert [i.key for i in result.items] == [f"S{i}" for i in range(20)]


def test_unknown_task_is_batch_not_found(client):
    with pytest.raises(BatchNotFound) as exc:
        client.task_result("99999")
    assert "99999" in exc.value.message and exc.value.status == 404


def test_update_and_delete_tasks(sandbox, client):
    client.wait_task(client.create_products([sku("U-1"), sku("U-2")]), timeout=20, interval=0.05)
    result = client.wait_task(
        client.update_listings([{"stockCode": "U-1", "vatRate": 10, "status": "Suspended"}]),
        timeout=20,
        interval=0.05,
    )
    assert result.item("U-1").ok and sandbox.product("U-1")["productStatus"] == "Suspended"
    with pytest.raises(ValueError):
        client.update_listings([{"stockCode": "U-1"}], kind="content")
    result = client.wait_task(client.delete_products(["U-2"]), timeout=20, interval=0.05)
    assert result.item("U-2").ok and sandbox.product("U-2") is None


def test_find_listings_and_product_pages(sandbox, client):
    client.wait_task(client.create_products([sku(f"F-{i}") for i in range(5)]), timeout=20, interval=0.05)
    found = client.find_listings(["F-1", "MISSING", "F-3", "F-1"])
    assert [p["stockCode"] for p in found] == ["F-1", "F-3"]
    before = count(sandbox, "product_query")
    rows = list(client.iter_products(page_size=2))
    assert sorted(r["stockCode"] for r in rows) == [f"F-{i}" for i in range(5)]
    assert count(sandbox, "product_query") - before == 3  # 2 + 2 + 1, stops on the last page


def test_reference_data(client):
    tree = client.category_tree()
    assert tree[0]["name"] == "Elektronik"
    doc = client.category_attributes(DEMO_CATEGORIES[24])
    assert {a["attributeId"] for a in doc["categoryAttributes"]} == {1, 2, 3}
    assert client.brand_by_name("apple", DEMO_CATEGORIES[24]) == [{"id": 101, "name": "Apple"}]
    assert client.brand_by_name("Apple") == []
    with pytest.raises(NotFoundError):
        client.category_attributes(42)


# --- orders ------------------------------------------------------------------------------------


def test_orders_walk_every_page_and_stop(sandbox, client):
    now = sandbox.clock.ms()
    for i in range(230):
        sandbox.add_order([{"stockCode": f"O-{i}", "quantity": 1, "price": 10}], created_at_ms=now - 1000)
    packages = list(client.iter_packages(now - DAY, now + 1000, "Created"))
    assert len(packages) == 230 and len({p["id"] for p in packages}) == 230
    assert count(sandbox, "shipment_packages") == 3
    queries = [r["query"] for r in sandbox.request_log()["requests"] if r["endpoint"] == "shipment_packages"]
    assert [q["page"] for q in queries] == ["0", "1", "2"]
    assert {q["size"] for q in queries} == {"100"} and {q["status"] for q in queries} == {"Created"}


def test_orders_split_wide_ranges_into_15_day_windows(sandbox, client):
    now = sandbox.clock.ms()
    wanted = [sandbox.add_order([{"stockCode": "W"}], created_at_ms=now - d * DAY)["id"] for d in (2, 20, 35)]
    sandbox.add_order([{"stockCode": "W"}], created_at_ms=now - 50 * DAY)
    got = client.list_orders(now - 40 * DAY, now, by_last_modified=False)
    assert sorted(p["id"] for p in got) == sorted(wanted)
    assert count(sandbox, "shipment_packages") == 3


def test_one_status_per_call_and_normalized_statuses(sandbox, client):
    now = sandbox.clock.ms()
    shipped = sandbox.add_order([{"stockCode": "A"}], status="Picking")
    sandbox.ship_package(shipped["id"], "TRK-9")
    sandbox.add_order([{"stockCode": "B"}], status="Cancelled")
    sandbox.add_order([{"stockCode": "C"}])
    sandbox.configure(status_noise=True)
    with pytest.raises(ValueError):
        list(client.iter_packages(now - DAY, now + 1000, "Created,Picking"))
    got = client.list_orders(now - DAY, now + 1000, ["Shipped", "Cancelled"])
    assert sorted(p["shipmentPackageStatus"] for p in got) == ["Cancelled", "Shipped"]
    assert next(p for p in got if p["id"] == shipped["id"])["cargoSenderNumber"] == "TRK-9"
    assert count(sandbox, "shipment_packages") == 2
    assert normalize_status(" shipped") == "Shipped" and normalize_status("Canceled") == "Cancelled"


def test_picking_split_and_cancel(sandbox, client):
    pkg = sandbox.add_order([{"stockCode": "A", "quantity": 3}, {"stockCode": "B", "quantity": 1}])
    a, b = (line["orderLineId"] for line in pkg["lines"])
    items = client.approve_lines([a, b, 12345])
    assert [(i.key, i.status) for i in items] == [
        (str(a), "SUCCESS"),
        (str(b), "SUCCESS"),
        ("12345", "FAILED"),
    ]
    assert items[2].reasons
    assert client.split_package([[a]]) == {"code": 200, "message": "success"}
    with pytest.raises(ValueError):
        client.cancel_lines([(a, 1, 70)])
    answer = client.cancel_lines([(a, 1, 61)])
    assert answer["splitPackageOrderItems"][0]["quantity"] == 1
    statuses = sorted(p["shipmentPackageStatus"] for p in sandbox.packages())
    assert statuses == ["Picking", "Picking", "UnSupplied"]
    with pytest.raises(PermanentError) as exc:
        client.cancel_lines([(a, 99, 61)])
    assert exc.value.status == 400 and exc.value.message == "quantity geçersiz."


# --- neutral order operations ----------------------------------------------------------------------


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def test_order_capabilities(client):
    for cap in ("orders", "acknowledge", "cancel"):
        assert client.supports(cap)
    assert not client.supports("ship")  # N11 documents no tracking upload
    with pytest.raises(NotImplementedError, match="no tracking upload"):
        client.ship_order(OrderRef("1"), Shipment("Yurtiçi Kargo", "T1"))
    assert set(n11.CANCEL_REASON_IDS) == set(CANCEL_REASONS)
    assert sorted(n11.CANCEL_REASON_IDS.values()) == sorted(n11.CANCEL_REASONS)


def test_orders_changed_since_walks_every_status_window_and_page(sandbox, client):
    now = sandbox.clock.ms()
    wanted = {
        p["id"]
        for p in (
            sandbox.add_order([{"stockCode": f"C-{i}"}], created_at_ms=now - 2 * DAY) for i in range(230)
        )
    }
    for status, days in (
        ("Picking", 20),
        ("Shipped", 35),
        ("Cancelled", 38),
        ("UnSupplied", 10),
        ("Delivered", 1),
    ):
        wanted.add(
            sandbox.add_order([{"stockCode": status}], status=status, created_at_ms=now - days * DAY)["id"]
        )
    sandbox.add_order([{"stockCode": "SPLIT"}], status="Unpacked", created_at_ms=now - 5 * DAY)
    sandbox.add_order([{"stockCode": "OLD"}], created_at_ms=now - 50 * DAY)
    modified = sandbox.add_order([{"stockCode": "M"}], created_at_ms=now - 45 * DAY)
    sandbox.set_package_status(modified["id"], "Cancelled")  # created long ago, changed now
    wanted.add(modified["id"])

    got = list(client.orders_changed_since(at(now - 40 * DAY), at(now)))
    assert {p["id"] for p in got} == wanted and len(got) == len(wanted)
    queries = [r["query"] for r in sandbox.request_log()["requests"] if r["endpoint"] == "shipment_packages"]
    # 40 days + 2 × 3 h of slack → three 15-day windows per status; Created's last window has 3 pages.
    assert len(queries) == 6 * 3 + 2
    assert {q["status"] for q in queries} == set(n11.SYNC_STATUSES)
    assert all(q["orderByField"] == "true" and q["orderByDirection"] == "ASC" for q in queries)
    for status in n11.SYNC_STATUSES:
        starts = sorted({int(q["startDate"]) for q in queries if q["status"] == status})
        assert len(starts) == 3 and starts[0] == now - 40 * DAY - n11.DATE_SLACK_MS
    assert [q["page"] for q in queries if q["status"] == "Created"] == ["0", "0", "0", "1", "2"]
    with pytest.raises(ValueError):
        list(client.orders_changed_since(at(now), at(now - DAY)))


def test_orders_changed_since_error_is_n11s_rest_403(sandbox):
    bad = make_client(sandbox.base_url, app_key="wrong-key-123", app_secret="wrong-secret-456")
    with pytest.raises(AuthError) as e:
        list(bad.orders_changed_since(datetime.now(UTC) - timedelta(days=1)))
    assert e.value.status == 403 and e.value.message == "Authentication failed"


def test_acknowledge_order_moves_lines_to_picking(sandbox, client):
    pkg = sandbox.add_order([{"stockCode": "A", "quantity": 2}, {"stockCode": "B"}])
    ref = OrderRef(
        pkg["orderNumber"],
        str(pkg["id"]),
        tuple((str(x["orderLineId"]), x["quantity"]) for x in pkg["lines"]),
    )
    items = client.acknowledge_order(ref)
    assert [i.status for i in items] == ["SUCCESS", "SUCCESS"]
    assert sandbox.packages()[0]["shipmentPackageStatus"] == "Picking"
    assert [i.ok for i in client.acknowledge_order(ref)] == [True, True]  # repeating is harmless


def test_acknowledge_order_error_carries_n11s_reason(sandbox, client):
    shipped = sandbox.add_order([{"stockCode": "A"}], status="Shipped")
    line = shipped["lines"][0]["orderLineId"]
    with pytest.raises(PermanentError) as e:
        client.acknowledge_order(OrderRef(shipped["orderNumber"], lines=((str(line), 1), ("999999", 1))))
    assert e.value.code == "lines.not.approved"
    assert f"line {line}: Kalem Shipped durumunda; onaylanamaz." in e.value.message
    assert "line 999999: Sipariş kalemi bulunamadı." in e.value.message
    with pytest.raises(ValueError):
        client.acknowledge_order(OrderRef("1", lines=(("abc", 1),)))


def test_cancel_order_lines_sends_n11s_reason_code(sandbox, client):
    pkg = sandbox.add_order([{"stockCode": "A", "quantity": 3}, {"stockCode": "B"}])
    a, b = (line["orderLineId"] for line in pkg["lines"])
    client.acknowledge_order(OrderRef(pkg["orderNumber"], lines=((str(a), 3), (str(b), 1))))
    answer = client.cancel_order_lines(OrderRef(pkg["orderNumber"], lines=((str(a), 2),)), "defective")
    assert answer["splitPackageOrderItems"][0]["quantity"] == 2
    unsupplied = next(p for p in sandbox.packages() if p["shipmentPackageStatus"] == "UnSupplied")
    assert unsupplied["lines"][0]["cancelReasonId"] == 62 and unsupplied["lines"][0]["quantity"] == 2
    client.cancel_order_lines(OrderRef(pkg["orderNumber"], lines=((str(b), 1),)), "force_majeure")
    reasons = sorted(
        p["lines"][0]["cancelReasonId"]
        for p in sandbox.packages()
        if p["shipmentPackageStatus"] == "UnSupplied"
    )
    assert reasons == [62, 64]
    with pytest.raises(ValueError):
        client.cancel_order_lines(OrderRef("1", lines=((str(a), 1),)), "customer_changed_mind")


def test_cancel_order_lines_error_is_n11s_rest_400(sandbox, client):
    pkg = sandbox.add_order([{"stockCode": "A"}])  # Created: only the panel may reject it
    line = pkg["lines"][0]["orderLineId"]
    with pytest.raises(PermanentError) as e:
        client.cancel_order_lines(OrderRef(pkg["orderNumber"], lines=((str(line), 1),)))
    assert (
        e.value.status == 400 and e.value.message == "Yalnızca Picking durumundaki kalemler iptal edilebilir."
    )


# --- errors ------------------------------------------------------------------------------------


def test_wrong_credentials_on_ms_and_rest_are_auth_errors(sandbox, logs):
    bad = make_client(sandbox.base_url, app_key="wrong-key-123", app_secret="wrong-secret-456")
    with pytest.raises(AuthError) as ms:
        bad.update_price_stock([{"stockCode": "A", "quantity": 1}])
    assert ms.value.status == 401 and ms.value.code == "SellerApiUserUnauthorizedException"
    assert ms.value.message == "Apide doğrulama işlemi başarısız oldu."
    with pytest.raises(AuthError) as rest:
        list(bad.iter_packages(0, DAY))
    assert rest.value.status == 403 and rest.value.message == "Authentication failed"
    with pytest.raises(AuthError):
        bad.category_tree()
    assert count(sandbox, "price_stock") == 1  # permanent: not retried
    for text in [str(ms.value), repr(ms.value), str(rest.value), *logs]:
        assert "wrong-key-123" not in text and "wrong-secret-456" not in text


def test_server_errors_are_retried_then_succeed(sandbox, client):
    sandbox.set_faults("categories", fail_next=2, error_status=503)
    assert client.category_tree()
    assert count(sandbox, "categories", 503) == 2 and count(sandbox, "categories", 200) == 1


def test_persistent_server_error_is_transient_after_the_budget(sandbox):
    sandbox.set_faults("task_details", error_rate=1.0, error_status=500)
    c = make_client(sandbox.base_url, retry_budget=0.5)
    with pytest.raises(TransientError) as exc:
        c.task_result("1")
    assert exc.value.status == 500


def test_throttling_is_a_throttled_error_and_slows_the_shared_limiter(sandbox, redis_prefix):
    sandbox.configure(orders_rate_limit=1, orders_rate_window=600)
    r = redis.Redis.from_url(REDIS_URL)
    c = make_client(
        sandbox.base_url, limiter=fleet_limits(r, redis_prefix, orders_per_minute=6000), retry_budget=0.3
    )
    list(c.iter_packages(0, DAY))
    with pytest.raises(ThrottledError) as exc:
        list(c.iter_packages(0, DAY))
    assert exc.value.status in (429, None) and exc.value.transient
    assert count(sandbox, "shipment_packages", 429) >= 1
    assert r.pttl(f"{redis_prefix}rl:n11:orders:{c.account}") > 0
    r.close()


def test_two_threads_sharing_one_limiter_never_exceed_the_sandbox_limit(sandbox, redis_prefix):
    # Sandbox: 10 per second per account. Fleet limiter: 5 per second, burst 1 — a 2x margin so
    # that scheduling jitter on a busy machine cannot push two admitted requests into one window.
    sandbox.configure(orders_rate_limit=10, orders_rate_window=1.0)
    r = redis.Redis.from_url(REDIS_URL)
    limits = fleet_limits(r, redis_prefix, orders_per_minute=5, orders_period=1.0)
    errors: list[BaseException] = []

    def worker() -> None:
        c = make_client(sandbox.base_url, limiter=limits, retry_budget=30.0)
        try:
            for _ in range(8):
                list(c.iter_packages(0, DAY))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    r.close()
    assert not errors
    assert count(sandbox, "shipment_packages", 200) == 16
    assert count(sandbox, "shipment_packages", 429) == 0


class _Stub(BaseHTTPRequestHandler):
    """Answers every request with the status/body/headers queued in ``server.replies``."""

    def log_message(self, *args: Any) -> None:
        return

    def _reply(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append({k.lower(): v for k, v in self.headers.items()})
        status, body, headers = self.server.replies.pop(0) if self.server.replies else (200, {}, {})
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", **headers}.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _reply  # noqa: N815


@pytest.fixture
def stub() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.replies, server.seen = [], []
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()


def test_messages_echoing_credentials_are_scrubbed(stub, logs):
    stub.replies.append(
        (400, {"@type": "BadRequestException", "message": f"bad appkey {KEY} / {SECRET}"}, {})
    )
    c = make_client(f"http://127.0.0.1:{stub.server_address[1]}")
    with pytest.raises(PermanentError) as exc:
        c.category_tree()
    assert exc.value.code == "BadRequestException" and "***" in exc.value.message
    assert_no_secrets(str(exc.value), repr(exc.value), *logs)
    assert stub.seen[0]["appkey"] == KEY and stub.seen[0]["appsecret"] == SECRET
    assert "authorization" not in stub.seen[0]


def test_retry_after_on_429_is_honoured(stub):
    stub.replies += [(429, "", {"Retry-After": "0.2", "Content-Type": "text/plain"}), (200, [{"id": 1}], {})]
    c = make_client(f"http://127.0.0.1:{stub.server_address[1]}")
    assert c.category_tree() == [{"id": 1}]
    assert len(stub.seen) == 2


def _response(status: int, body: Any, content_type: str = "application/json", headers: dict | None = None):
    r = requests.Response()
    r.status_code = status
    r._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    r.headers.update({"Content-Type": content_type, **(headers or {})})
    return r


@pytest.mark.parametrize(
    ("status", "body", "ctype", "cls", "message"),
    [
        (
            401,
            {
                "@type": "SellerApiUserUnauthorizedException",
                "message": "Apide doğrulama işlemi başarısız oldu.",
            },
            "application/json",
            AuthError,
            "Apide doğrulama işlemi başarısız oldu.",
        ),
        (403, "Authentication failed", "text/plain", AuthError, "Authentication failed"),
        (429, {"message": "Too many requests"}, "application/json", ThrottledError, "Too many requests"),
        (429, "", "text/plain", ThrottledError, "Too many requests"),
        (
            404,
            {"@type": "TaskNotFoundException", "message": "Task bulunamadı."},
            "application/json",
            NotFoundError,
            "Task bulunamadı.",
        ),
        (
            400,
            {"code": 400, "message": "status parametresi tek bir değer almalıdır."},
            "application/json",
            PermanentError,
            "status parametresi tek bir değer almalıdır.",
        ),
        (
            200,
            {"code": 400, "message": "Paket bulunamadı."},
            "application/json",
            PermanentError,
            "Paket bulunamadı.",
        ),
        (
            500,
            {"@type": "InternalServerError", "message": "Internal Server Error"},
            "application/json",
            TransientError,
            "Internal Server Error",
        ),
        (502, "<html>Bad Gateway</html>", "text/html", TransientError, "<html>Bad Gateway</html>"),
    ],
)
def test_documented_error_shapes_translate(status, body, ctype, cls, message):
    err = translate_error(_response(status, body, ctype))
    assert type(err) is cls and err.message == message


def test_success_shapes_are_not_errors():
    assert translate_error(_response(200, {"code": 200, "message": "success"})) is None
    assert translate_error(_response(200, {"id": 1, "type": "SKU_UPDATE", "status": "IN_QUEUE"})) is None


# --- mapper --------------------------------------------------------------------------------------


def oc_product(**overrides: Any) -> Product:
    fields: dict[str, Any] = dict(
        product_id=40,
        master_id=0,
        model="product 11",
        codes={"SKU": "IPH-40", "EAN": "8690000000001"},
        quantity=970,
        price=Decimal("101.0000"),
        special=None,
        status=True,
        subtract=True,
        minimum=1,
        weight=Decimal("10"),
        weight_class="kg",
        length=Decimal("0"),
        width=Decimal("0"),
        height=Decimal("0"),
        length_class="cm",
        tax_class_id=9,
        tax_rates=(TaxRate("KDV", Decimal("20"), "P"),),
        manufacturer=Manufacturer(8, "Apple"),
        descriptions={"en-gb": Description("iPhone", "<p>iPhone is a revolutionary phone</p>", "iPhone", "")},
        image="catalog/demo/iphone_1.jpg",
        images=("catalog/demo/iphone_2.jpg",),
        categories=(Category(24, "Phones & PDAs", ("Phones & PDAs",), (24,)),),
        options=(),
        variants=(),
        date_modified=None,
        language="en-gb",
    )
    fields.update(overrides)
    return Product(**fields)


MAPPING = N11Mapping(
    categories=dict(DEMO_CATEGORIES),
    brands={8: 101},
    image_base_url="https://shop.example.com/image/",
    placeholder_image="placeholder.png",
)


def test_mapped_product_is_accepted_by_the_sandbox(sandbox, client):
    item = to_sku(oc_product(), MAPPING)
    assert item["title"] == "Apple iPhone product 11" and len(item["title"]) >= 15
    assert item["categoryId"] == DEMO_CATEGORIES[24] and item["stockCode"] == "IPH-40"
    assert item["attributes"][0] == {"id": 1, "valueId": 101, "customValue": None}
    assert (item["listPrice"], item["salePrice"], item["vatRate"]) == (121.2, 121.2, 20)
    assert item["images"][0] == {
        "url": "https://shop.example.com/image/catalog/demo/iphone_1.jpg",
        "order": 1,
    }
    assert item["barcode"] == "8690000000001" and item["shipmentTemplate"] == "Standart"
    result = client.wait_task(client.create_products([item]), timeout=20, interval=0.05)
    assert result.item("IPH-40").ok, result.item("IPH-40").reasons
    special = oc_product(special=Decimal("90"), quantity=3)
    ps = price_stock_item(special, N11Mapping(categories=MAPPING.categories, stock=StockRules(buffer=1)))
    assert ps == {
        "stockCode": "IPH-40",
        "listPrice": 121.2,
        "salePrice": 108.0,
        "quantity": 2,
        "currencyType": "TL",
    }
    result = client.wait_task(client.update_price_stock([ps]), timeout=20, interval=0.05)
    assert result.item("IPH-40").ok
    assert sandbox.product("IPH-40")["salePrice"] == 108.0
    assert task_body([ps])["payload"]["integrator"] == "Kervan"


def test_unmapped_manufacturer_is_sent_as_custom_brand_and_disabled_products_have_no_stock():
    item = to_sku(
        oc_product(manufacturer=Manufacturer(99, "Palm"), status=False, image=None, images=()), MAPPING
    )
    assert item["attributes"][0] == {"id": 1, "valueId": None, "customValue": "Palm"}
    assert item["quantity"] == 0 and item["images"][0]["url"].endswith("/placeholder.png")


@pytest.mark.parametrize(
    ("overrides", "mapping", "fragment"),
    [
        ({"categories": (Category(99, "Other", ("Other",), (99,)),)}, MAPPING, "No N11 category is mapped"),
        ({"manufacturer": None}, MAPPING, "no default brand"),
        ({"tax_rates": (TaxRate("KDV", Decimal("18"), "P"),)}, MAPPING, "0, 1, 10 or 20%"),
        (
            {"descriptions": {"en-gb": Description("Pod", "", "", "")}, "model": "", "manufacturer": None},
            N11Mapping(categories=dict(DEMO_CATEGORIES), default_brand="X"),
            "at least 15 characters",
        ),
        ({"image": None, "images": ()}, N11Mapping(categories=dict(DEMO_CATEGORIES)), "no image"),
        ({}, N11Mapping(categories=dict(DEMO_CATEGORIES), currency="GBP"), "TL, USD or EUR"),
    ],
)
def test_mapping_errors_are_sentences_for_the_merchant(overrides, mapping, fragment):
    with pytest.raises(MappingError) as exc:
        to_sku(oc_product(**overrides), mapping)
    assert fragment in str(exc.value) and str(exc.value).endswith(".")
