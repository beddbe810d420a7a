"""The Trendyol client over real HTTP: against the local Trendyol sandbox (batches, validation,
auth, faults, the 50/10 s limit, the 15-minute duplicate rule) and against a tiny stdlib server of
our own for the response shapes the sandbox does not produce (order-style errors, 426, Retry-After,
text bodies). Assertions are on counts and outcomes, with generous time bounds."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pybreaker
import pytest
import redis
from loguru import logger

from sandbox.trendyol import TrendyolSandbox
from tests.conftest import REDIS_URL
from workers.channels.base import Channel
from workers.channels.errors import (
    AuthError,
    BatchNotFound,
    ChannelError,
    CircuitOpenError,
    DuplicateRequestError,
    NotFoundError,
    PermanentError,
    ThrottledError,
    TransientError,
)
from workers.channels.trendyol import MAX_BATCH, TrendyolClient, is_duplicate_message, parse_batch
from workers.ratelimit import RateLimiter

SELLER, KEY, SECRET = "1001", "sandbox-key", "sandbox-secret"
TOKEN = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
SECRETS = (KEY, SECRET, TOKEN)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[TrendyolSandbox]:
    sb = TrendyolSandbox(batch_delay=0.05, seed=7).start()
    try:
        yield sb
    finally:
        sb.stop()


def make_client(base_url: str, **kw: Any) -> TrendyolClient:
    kw.setdefault("retry_budget", 20.0)
    return TrendyolClient(base_url, SELLER, kw.pop("api_key", KEY), kw.pop("api_secret", SECRET), **kw)


@pytest.fixture
def client(sandbox) -> Iterator[TrendyolClient]:
    c = make_client(sandbox.base_url)
    yield c
    c.close()


@pytest.fixture
def logs() -> Iterator[list[str]]:
    """Every loguru line (DEBUG and up, with extras and exceptions) written during the test."""
    lines: list[str] = []
    sink_id = logger.add(
        lambda m: lines.append(str(m)), level="DEBUG", format="{message} | {extra} | {exception}"
    )
    yield lines
    logger.remove(sink_id)


def product(barcode: str, **overrides: Any) -> dict[str, Any]:
    item = {
        "barcode": barcode,
        "title": f"Kervan test {barcode}",
        "productMainId": "GRP-1",
        "brandId": 1791,
        "categoryId": 1001,
        "quantity": 10,
        "stockCode": f"SKU-{barcode}",
        "dimensionalWeight": 2,
        "description": "<p>Açıklama</p>",
        "listPrice": 250.0,
        "salePrice": 199.9,
        "vatRate": 20,
        "images": [{"url": "https://cdn.example.com/a.jpg"}],
        "attributes": [{"attributeId": 1192, "attributeValueIds": [10617]}],
    }
    item.update(overrides)
    return item


def count(sandbox: TrendyolSandbox, endpoint: str, status: int | str | None = None) -> int:
    """Requests the sandbox logged for ``endpoint`` (optionally with ``status``), once its log settled:
    the sandbox writes a log entry just after sending the response, so give it a moment."""
    deadline = time.monotonic() + 3.0
    last = None
    while True:
        log = sandbox.request_log()["counts"]
        total = sum(c["total"] for c in log.values())
        if total == last or time.monotonic() > deadline:
            break
        last = total
        time.sleep(0.1)
    counts = log.get(endpoint, {"total": 0, "byStatus": {}})
    return counts["total"] if status is None else counts["byStatus"].get(str(status), 0)


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"credential leaked into: {text[:200]!r}"


# --- happy paths against the sandbox ---------------------------------------------------------------


def test_is_a_channel(client):
    assert isinstance(client, Channel)
    assert client.code == "trendyol" and client.supports("price_stock")
    assert client.user_agent == "1001 - Kervan"
    assert SECRET not in repr(client) and KEY not in repr(client)


def test_create_batch_polled_to_completed_with_per_item_outcome(client, sandbox):
    batch_id = client.create_products([product("BC-1"), product("BC-2"), product("BC-3", listPrice=1.0)])
    assert isinstance(batch_id, str) and batch_id
    result = client.wait_batch(batch_id, timeout=20, interval=0.05)
    assert result.done and result.status == "COMPLETED"
    assert result.id == batch_id and result.batch_type == "ProductV2OnBoarding"
    outcome = {i.key: (i.status, i.reasons) for i in result.items}
    assert outcome["BC-1"] == ("SUCCESS", []) and outcome["BC-2"] == ("SUCCESS", [])
    status, reasons = outcome["BC-3"]
    assert status == "FAILED" and any("listPrice" in r for r in reasons)
    assert [i.key for i in result.failed] == ["BC-3"]
    assert result.item("BC-1").request_item  # the marketplace's echo of what was sent
    assert sandbox.product("BC-1")["quantity"] == 10


def test_validation_failure_reasons_surface(client):
    bad = [
        product("V-1", categoryId=411),  # not a leaf
        product("V-2", attributes=[]),  # required 1192 Menşei missing
        product("V-3", attributes=[{"attributeId": 1192, "attributeValueIds": [99999]}]),
        product("V-4", vatRate=7),
    ]
    result = client.wait_batch(client.create_products(bad), timeout=20, interval=0.05)
    assert result.done
    by_key = {i.key: i for i in result.items}
    assert set(by_key) == {"V-1", "V-2", "V-3", "V-4"}
    for item in by_key.values():
        assert item.status == "FAILED" and item.reasons, item
        assert all(isinstance(r, str) and r for r in item.reasons)
    assert any("1192" in r or "Menşei" in r for r in by_key["V-2"].reasons)
    assert any("vatRate" in r or "KDV" in r for r in by_key["V-4"].reasons)


def test_updates_archive_delete_and_keys(client, sandbox):
    client.wait_batch(client.create_products([product("U-1"), product("U-2")]), timeout=20, interval=0.05)
    found = {p["barcode"]: p for p in client.find_products(["U-1", "U-2"])}
    content_id = found["U-1"]["contentId"]
    assert found["U-1"]["approved"] is True and content_id

    content = client.wait_batch(client.update_content([{"contentId": content_id, "title": "Yeni"}]), 20, 0.05)
    assert [(i.key, i.status) for i in content.items] == [(str(content_id), "SUCCESS")]

    variant = client.wait_batch(client.update_variants([{"barcode": "U-1", "stockCode": "S2"}]), 20, 0.05)
    assert [(i.key, i.status) for i in variant.items] == [("U-1", "SUCCESS")]

    refused = client.wait_batch(client.delete_products(["U-2"]), 20, 0.05)
    assert refused.batch_type == "ProductDeletion" and refused.items[0].key == "U-2"
    assert refused.items[0].failed and refused.items[0].reasons  # approved: archive first
    archived = client.wait_batch(client.archive_products(["U-2"]), 20, 0.05)
    assert [(i.key, i.status) for i in archived.items] == [("U-2", "SUCCESS")]
    deleted = client.wait_batch(client.delete_products(["U-2"]), 20, 0.05)
    assert [(i.key, i.status) for i in deleted.items] == [("U-2", "SUCCESS")]
    assert sandbox.product("U-2") is None

    with pytest.raises(ValueError):
        client.update_listings([{"barcode": "U-1"}])  # Trendyol needs to know which update


def test_unapproved_products_found_and_updated(client, sandbox):
    sandbox.configure(auto_approve=False)
    client.wait_batch(client.create_products([product("N-1")]), timeout=20, interval=0.05)
    found = client.find_products(["N-1", "NOPE-1"])
    assert [p["barcode"] for p in found] == ["N-1"]
    assert found[0]["approved"] is False
    result = client.wait_batch(
        client.update_unapproved([{"barcode": "N-1", "title": "Düzeltilmiş"}]), 20, 0.05
    )
    assert [(i.key, i.status) for i in result.items] == [("N-1", "SUCCESS")]
    # Stock of an unapproved product fails per item, not per request.
    stock = client.wait_batch(client.update_price_inventory([{"barcode": "N-1", "quantity": 3}]), 20, 0.05)
    assert stock.items[0].failed and stock.items[0].reasons


def test_price_inventory_batch_done_without_top_level_status(client, sandbox):
    client.wait_batch(client.create_products([product("P-1")]), timeout=20, interval=0.05)
    batch_id = client.update_price_inventory([{"barcode": "P-1", "quantity": 7, "salePrice": 150.0}])
    result = client.wait_batch(batch_id, timeout=20, interval=0.05)
    assert result.status is None  # Trendyol leaves it out for stock/price batches
    assert result.done and [(i.key, i.status) for i in result.items] == [("P-1", "SUCCESS")]
    assert sandbox.product("P-1")["quantity"] == 7


def test_find_products_chunks_barcodes_by_50(client, sandbox):
    barcodes = [f"F-{i:03d}" for i in range(60)]
    client.wait_batch(client.create_products([product(b) for b in barcodes]), timeout=30, interval=0.05)
    before = count(sandbox, "filter")
    found = client.find_products([*barcodes, "F-MISSING"])
    assert [p["barcode"] for p in found] == barcodes
    assert count(sandbox, "filter") - before == 2  # 50 + 10
    assert all(p["approved"] and p["contentId"] for p in found)


def test_reference_data(client):
    tree = client.category_tree()
    ids: set[int] = set()

    def walk(nodes):
        for n in nodes:
            ids.add(n["id"])
            walk(n.get("subCategories") or [])

    walk(tree)
    assert {1001, 1002, 411} <= ids
    attrs = client.category_attributes(1001)["categoryAttributes"]
    origin = next(a for a in attrs if a["attribute"]["id"] == 1192)
    assert origin["required"] is True
    values = client.attribute_values(1001, 1192)
    assert {v["attributeValueId"] for v in values} >= {10617, 10621}
    brands = client.brand_by_name("Apple")
    assert brands and brands[0]["id"] == 1791
    assert client.brand_by_name("apple-does-not-exist") == []
    with pytest.raises(NotFoundError):
        client.category_attributes(999999)


# --- errors against the sandbox ----------------------------------------------------------------------


def test_wrong_credentials_raise_auth_error_with_message_and_no_retry(sandbox, logs):
    bad = make_client(sandbox.base_url, api_secret="wrong-secret-123")
    with pytest.raises(AuthError) as info:
        bad.category_tree()
    err = info.value
    assert err.status == 401 and err.message  # the marketplace's own text
    assert "wrong-secret-123" not in str(err) and "wrong-secret-123" not in repr(err)
    assert not err.transient
    assert count(sandbox, "categories", 401) == 1  # permanent: not retried
    assert all("wrong-secret-123" not in line for line in logs)


def test_server_errors_retried_then_succeed(client, sandbox):
    sandbox.set_faults("create", fail_next=2)
    batch_id = client.create_products([product("R-1")])
    assert batch_id
    assert count(sandbox, "create", 500) == 2 and count(sandbox, "create", 200) == 1
    assert client.wait_batch(batch_id, timeout=20, interval=0.05).items[0].ok


def test_persistent_server_errors_raise_transient_after_budget(sandbox):
    sandbox.set_faults("categories", error_rate=1.0)
    c = make_client(sandbox.base_url, retry_budget=1.5)
    t0 = time.monotonic()
    with pytest.raises(TransientError) as info:
        c.category_tree()
    elapsed = time.monotonic() - t0
    assert info.value.status == 500 and info.value.message == "Exception Occured"
    assert info.value.code == "generic.exception"
    assert count(sandbox, "categories", 500) >= 2  # it did retry
    assert elapsed < 15  # and gave up (budget 1.5 s, far from hanging)


def test_timeouts_are_transient(sandbox):
    sandbox.configure(hang_seconds=3.0)
    sandbox.set_faults("categories", timeout_rate=1.0)
    c = make_client(sandbox.base_url, timeout=0.3, retry_budget=0.5)
    with pytest.raises(TransientError) as info:
        c.category_tree()
    assert info.value.status is None and "timed out" in info.value.message


def test_connection_refused_is_transient():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = make_client(f"http://127.0.0.1:{port}/integration", retry_budget=0.3)
    with pytest.raises(TransientError) as info:
        c.category_tree()
    assert info.value.status is None


def test_429_is_retried_after_waiting(client, sandbox):
    sandbox.configure(rate_limit=2, rate_window=2.0)
    for _ in range(4):
        assert client.category_tree()
    assert count(sandbox, "categories", 429) >= 1  # it did hit the limit…
    assert count(sandbox, "categories", 200) == 4  # …and every call still succeeded


def test_429_without_budget_raises_throttled(sandbox):
    sandbox.set_faults("categories", throttle_rate=1.0)
    c = make_client(sandbox.base_url, retry_budget=0.5)
    with pytest.raises(ThrottledError) as info:
        c.category_tree()
    assert info.value.status == 429 and info.value.message == "too.many.requests"
    assert info.value.transient and info.value.retry_after is not None


class SpyLimiter:
    def __init__(self, inner: RateLimiter) -> None:
        self.inner = inner
        self.acquired: list[str] = []
        self.penalized: list[tuple[str, float]] = []

    def acquire(self, key: str, max_wait: float = 30.0) -> float:
        self.acquired.append(key)
        return self.inner.acquire(key, max_wait)

    def penalize(self, key: str, seconds: float) -> float:
        self.penalized.append((key, seconds))
        return self.inner.penalize(key, seconds)


def test_shared_limiter_asked_before_every_attempt_and_penalized_on_429(sandbox, redis_prefix):
    r = redis.Redis.from_url(REDIS_URL)
    try:
        spy = SpyLimiter(RateLimiter(r, redis_prefix, limit=100, period=1.0))
        c = make_client(sandbox.base_url, limiter=spy)
        sandbox.configure(rate_limit=2, rate_window=2.0)
        for _ in range(4):
            c.category_tree()
        attempts = count(sandbox, "categories")
        assert len(spy.acquired) == attempts  # once per HTTP attempt, retries included
        assert set(spy.acquired) == {"trendyol:categories:1001"}
        assert len(spy.penalized) == count(sandbox, "categories", 429) >= 1
        assert all(key == "trendyol:categories:1001" and s > 0 for key, s in spy.penalized)
        c.wait_batch(c.create_products([product("L-1")]), timeout=20, interval=0.05)
        assert "trendyol:create:1001" in spy.acquired and "trendyol:batch:1001" in spy.acquired
    finally:
        r.close()


def test_limiter_spacing_keeps_the_marketplace_limit(sandbox, redis_prefix):
    """A limiter configured like the marketplace (strictly spaced) meets few or no 429s; all succeed."""
    r = redis.Redis.from_url(REDIS_URL)
    try:
        sandbox.configure(rate_limit=3, rate_window=1.0)
        limiter = RateLimiter(r, redis_prefix, limit=3, period=1.2, burst=1)
        c = make_client(sandbox.base_url, limiter=limiter)
        for _ in range(6):
            assert c.brand_by_name("Apple")
        assert count(sandbox, "brands_by_name", 200) == 6
        assert count(sandbox, "brands_by_name", 429) <= 1
    finally:
        r.close()


def test_duplicate_price_stock_body_is_duplicate_request_error(client, sandbox):
    client.wait_batch(client.create_products([product("D-1")]), timeout=20, interval=0.05)
    body = [{"barcode": "D-1", "quantity": 4}]
    first = client.update_price_inventory(body)
    assert client.wait_batch(first, timeout=20, interval=0.05).items[0].ok
    with pytest.raises(DuplicateRequestError) as info:
        client.update_price_inventory(body)
    err = info.value
    assert isinstance(err, PermanentError) and not err.transient
    assert "15 dakika" in err.message and err.status == 400
    assert count(sandbox, "price_inventory", 400) == 1  # not retried
    # A different body is fine.
    assert client.update_price_inventory([{"barcode": "D-1", "quantity": 5}])


def test_more_than_max_batch_items_refused_before_sending(client, sandbox):
    assert MAX_BATCH == TrendyolClient.MAX_BATCH == 1000
    too_many = [{"barcode": f"X-{i}", "quantity": 1} for i in range(1001)]
    for call in (
        client.update_price_inventory,
        client.create_products,
        client.update_unapproved,
        client.update_content,
        client.update_variants,
        client.archive_products,
    ):
        with pytest.raises(ValueError):
            call(too_many)
    with pytest.raises(ValueError):
        client.delete_products([f"X-{i}" for i in range(1001)])
    with pytest.raises(ValueError):
        client.update_price_inventory([])
    assert sandbox.request_log()["counts"] == {}
    # Exactly 1000 is accepted.
    assert client.update_price_inventory(too_many[:1000])


def test_unknown_batch_is_batch_not_found(client):
    with pytest.raises(BatchNotFound) as info:
        client.batch_result("no-such-batch")
    assert isinstance(info.value, PermanentError) and info.value.status == 404
    assert "no-such-batch" in info.value.message


def test_credentials_never_in_exceptions_or_logs(sandbox, logs):
    sandbox.configure(hang_seconds=2.0)
    errors: list[ChannelError] = []
    c = make_client(sandbox.base_url, retry_budget=0.6, timeout=0.3)
    scenarios = [
        ("categories", {"error_rate": 1.0}, c.category_tree),
        ("brands_by_name", {"timeout_rate": 1.0}, lambda: c.brand_by_name("Apple")),
        ("create", {"throttle_rate": 1.0}, lambda: c.create_products([product("S-1")])),
        ("filter", {"drop_rate": 1.0}, lambda: c.find_products(["S-1"])),
    ]
    for endpoint, faults, call in scenarios:
        sandbox.set_faults(endpoint, **faults)
        with pytest.raises(ChannelError) as info:
            call()
        errors.append(info.value)
    with pytest.raises(BatchNotFound) as info:
        c.batch_result("nope")
    errors.append(info.value)
    bad = make_client(sandbox.base_url, api_key=KEY, api_secret=SECRET + "x")
    with pytest.raises(AuthError) as info:
        bad.category_tree()
    errors.append(info.value)
    assert logs, "the client logs its requests"
    assert_no_secrets(*logs, *(str(e) for e in errors), *(repr(e) for e in errors))
    assert all(SECRET + "x" not in line for line in logs)


def test_constructor_validates_user_agent_parts():
    with pytest.raises(ValueError):
        TrendyolClient("http://x/integration", SELLER, KEY, SECRET, integrator="Kervan Bridge")
    with pytest.raises(ValueError):
        TrendyolClient("http://x/integration", SELLER, KEY, SECRET, integrator="K" * 31)
    with pytest.raises(ValueError):
        TrendyolClient("http://x/integration", "12/34", KEY, SECRET)
    assert TrendyolClient("http://x/integration", 1001, KEY, SECRET, "SelfIntegration").user_agent == (
        "1001 - SelfIntegration"
    )


# --- response shapes the sandbox does not produce: a scripted stdlib server -------------------------


class Scripted:
    """A local HTTP server answering from a script of (status, headers, body) and recording requests."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, dict[str, str], Any]] = []
        self.requests: list[dict[str, Any]] = []
        owner = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                return

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                owner.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                status, headers, reply = owner.replies.pop(0) if owner.replies else (200, {}, {})
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/integration"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.close()


def test_every_request_carries_auth_user_agent_and_json(scripted):
    scripted.replies = [(200, {}, {"batchRequestId": "b-1"})]
    c = make_client(scripted.base_url)
    assert c.update_price_inventory([{"barcode": "A", "quantity": 1}]) == "b-1"
    req = scripted.requests[0]
    assert req["method"] == "POST"
    assert req["path"] == "/integration/inventory/sellers/1001/products/price-and-inventory"
    assert req["headers"]["Authorization"] == f"Basic {TOKEN}"
    assert req["headers"]["User-Agent"] == "1001 - Kervan"
    assert req["headers"]["Content-Type"] == "application/json"
    assert json.loads(req["body"]) == {"items": [{"barcode": "A", "quantity": 1}]}


@pytest.mark.parametrize(
    ("status", "body", "kind", "message", "code"),
    [
        (
            400,
            {"errors": [{"key": "product.barcode.invalid", "message": "Barkod geçersiz", "errorCode": "E1"}]},
            PermanentError,
            "Barkod geçersiz",
            "product.barcode.invalid",
        ),
        (
            400,
            {
                "timestamp": 1,
                "exception": "ClientApiBusinessException",
                "errors": [{"key": "k", "message": "m"}],
            },
            PermanentError,
            "m",
            "k",
        ),
        (
            400,
            {"error": "BAD_REQUEST", "message": "startDate hatalı"},
            PermanentError,
            "startDate hatalı",
            "BAD_REQUEST",
        ),
        (401, {"error": "UNAUTHORIZED", "message": "Yetkisiz"}, AuthError, "Yetkisiz", "UNAUTHORIZED"),
        (403, b"", AuthError, "Forbidden", None),
        (404, {"errors": [{"key": "not.found", "message": "Yok"}]}, NotFoundError, "Yok", "not.found"),
        (409, {"errors": [{"key": "conflict", "message": "Çakışma"}]}, PermanentError, "Çakışma", "conflict"),
        (
            400,
            {
                "errors": [
                    {"key": "x", "message": "15 dakika boyunca aynı isteği tekrarlı olarak atamazsınız!"}
                ]
            },
            DuplicateRequestError,
            "15 dakika boyunca aynı isteği tekrarlı olarak atamazsınız!",
            "x",
        ),
    ],
)
def test_permanent_error_shapes(scripted, status, body, kind, message, code):
    scripted.replies = [(status, {"Content-Type": "application/json"}, body)]
    c = make_client(scripted.base_url)
    with pytest.raises(kind) as info:
        c.category_tree()
    assert type(info.value) is kind
    assert info.value.status == status and info.value.message == message and info.value.code == code
    assert len(scripted.requests) == 1  # permanent: never retried


@pytest.mark.parametrize("status", [426, 500, 502, 503, 504])
def test_transient_statuses_are_retried(scripted, status):
    scripted.replies = [(status, {}, b"<html>gateway</html>"), (200, {}, {"categories": [{"id": 1}]})]
    c = make_client(scripted.base_url)
    assert c.category_tree() == [{"id": 1}]
    assert len(scripted.requests) == 2


def test_retry_after_is_honoured_on_429(scripted):
    scripted.replies = [
        (429, {"Retry-After": "1"}, {"error": "too.many.requests", "message": "too.many.requests"}),
        (200, {}, [{"id": 1791, "name": "Apple"}]),
    ]
    c = make_client(scripted.base_url)
    t0 = time.monotonic()
    assert c.brand_by_name("Apple") == [{"id": 1791, "name": "Apple"}]
    assert time.monotonic() - t0 >= 0.9  # waited at least the Retry-After
    assert len(scripted.requests) == 2


def test_retry_after_beyond_budget_gives_up_with_retry_after(scripted):
    scripted.replies = [
        (429, {"Retry-After": "30"}, {"errors": [{"key": "too.many.requests", "message": "x"}]})
    ]
    c = make_client(scripted.base_url, retry_budget=5.0)
    t0 = time.monotonic()
    with pytest.raises(ThrottledError) as info:
        c.category_tree()
    assert time.monotonic() - t0 < 5  # did not sleep 30 s against a 5 s budget
    assert info.value.retry_after == 30.0  # the caller can requeue with that delay
    assert len(scripted.requests) == 1


def test_marketplace_text_echoing_credentials_is_scrubbed(scripted, logs):
    scripted.replies = [
        (400, {}, {"errors": [{"key": "k", "message": f"bad key {KEY}:{SECRET} / Basic {TOKEN}"}]})
    ]
    c = make_client(scripted.base_url)
    with pytest.raises(PermanentError) as info:
        c.category_tree()
    assert_no_secrets(
        str(info.value), repr(info.value), info.value.message, *map(str, info.value.args), *logs
    )


def test_non_json_success_body_is_transient(scripted):
    scripted.replies = [(200, {}, b"<html>maintenance</html>")] * 2 + [(200, {}, {"categories": []})]
    c = make_client(scripted.base_url)
    assert c.category_tree() == []
    assert len(scripted.requests) == 3


def test_parse_batch_shapes():
    body = {
        "batchRequestId": "b",
        "batchRequestType": "ProductInventoryUpdate",
        "itemCount": 2,
        "items": [
            {"requestItem": {"barcode": "A", "quantity": 1}, "status": "SUCCESS", "failureReasons": []},
        ],
    }
    result = parse_batch(body)
    assert result.status is None and not result.done  # one of two items still missing
    body["items"].append(
        {"requestItem": {"product": {"barcode": "B"}}, "status": "FAILED", "failureReasons": ["x"]}
    )
    result = parse_batch(body)
    assert result.done and [i.key for i in result.items] == ["A", "B"]
    assert not parse_batch({"batchRequestId": "b", "status": "IN_PROGRESS", "items": []}).done
    assert parse_batch({"batchRequestId": "b", "status": "PARTIALLY_COMPLETED"}).done
    assert is_duplicate_message("15 dakika boyunca aynı isteği tekrarlı olarak atamazsınız!")
    assert not is_duplicate_message("Barkod geçersiz")


def test_breaker_inside_the_retry_opens_and_is_not_retried(scripted):
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60)
    scripted.replies = [(500, {}, b"")] * 5
    c = make_client(scripted.base_url, breaker=breaker)
    with pytest.raises(CircuitOpenError) as info:
        c.category_tree()
    assert info.value.transient  # the worker requeues it with a delay…
    assert len(scripted.requests) == 2  # …but it is not retried in-process once the breaker opened
    with pytest.raises(CircuitOpenError):
        c.category_tree()
    assert len(scripted.requests) == 2  # open: fails fast without calling


def test_breaker_does_not_count_client_errors(scripted):
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60)
    scripted.replies = [(400, {}, {"errors": [{"key": "k", "message": "m"}]})] * 3
    c = make_client(scripted.base_url, breaker=breaker)
    for _ in range(3):
        with pytest.raises(PermanentError):
            c.category_tree()
    assert breaker.current_state == "closed" and breaker.fail_counter == 0
