"""The Amazon SP-API client over real HTTP against the local Amazon sandbox and real Redis: listings
items, JSON_LISTINGS_FEED round trips, orders paging, LWA token sharing and refresh, the shared
per-operation limiter, error translation, and that no credential or token ever reaches an exception
or a log line. Assertions are on counts and outcomes, never on elapsed time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from loguru import logger

from bridge.opencart import Category, Description, Manufacturer, Product, TaxRate
from sandbox.amazon import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
    DEMO_PRODUCT_TYPES,
    TR,
    AmazonSandbox,
)
from sandbox.amazon import schema as amazon_schema
from tests.conftest import REDIS_URL
from workers.channels.amazon import (
    AmazonClient,
    ListingsItemInvalid,
    OperationLimiter,
    translate_error,
)
from workers.channels.base import Channel, OrderRef, Shipment
from workers.channels.errors import (
    AuthError,
    BatchNotFound,
    ChannelError,
    NotFoundError,
    PermanentError,
    ThrottledError,
    TransientError,
)
from workers.mappers.amazon import AmazonMapping, MappingError, to_item, to_price_stock

ROOT = Path(__file__).resolve().parents[1]


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[AmazonSandbox]:
    sb = AmazonSandbox(feed_delay=0.05, seed=7).start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def rclient() -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(REDIS_URL)
    yield r
    r.close()


@pytest.fixture
def make(sandbox, rclient, redis_prefix):
    made: list[AmazonClient] = []

    def build(**kw: Any) -> AmazonClient:
        args = dict(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            refresh_token=DEFAULT_REFRESH_TOKEN,
            seller_id=DEFAULT_SELLER_ID,
            marketplace_ids=[TR],
        )
        args.update({k: kw.pop(k) for k in list(kw) if k in args})
        kw.setdefault("retry_budget", 10.0)
        c = AmazonClient(
            sandbox.base_url,
            sandbox.lwa_url,
            args["client_id"],
            args["client_secret"],
            args["refresh_token"],
            args["seller_id"],
            args["marketplace_ids"],
            redis_client=rclient,
            redis_prefix=redis_prefix,
            **kw,
        )
        made.append(c)
        return c

    yield build
    for c in made:
        c.close()


@pytest.fixture
def client(make) -> AmazonClient:
    return make()


@pytest.fixture
def logs() -> Iterator[list[str]]:
    lines: list[str] = []
    sink_id = logger.add(
        lambda m: lines.append(str(m)), level="DEBUG", format="{message} | {extra} | {exception}"
    )
    yield lines
    logger.remove(sink_id)


def attributes(**overrides: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "item_name": [{"value": "Samsung SyncMaster 941BW", "language_tag": "tr_TR", "marketplace_id": TR}],
        "brand": [{"value": "Samsung", "marketplace_id": TR}],
        "bullet_point": [{"value": "19 inch widescreen", "marketplace_id": TR}],
        "product_description": [{"value": "A monitor.", "marketplace_id": TR}],
        "condition_type": [{"value": "new_new", "marketplace_id": TR}],
        "main_product_image_locator": [
            {"media_location": "https://shop.example/img/m.jpg", "marketplace_id": TR}
        ],
        "purchasable_offer": [
            {
                "currency": "TRY",
                "marketplace_id": TR,
                "our_price": [{"schedule": [{"value_with_tax": 240.0}]}],
            }
        ],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
    }
    attrs.update(overrides)
    return {k: v for k, v in attrs.items() if v is not None}


def qty(sandbox: AmazonSandbox, sku: str) -> int:
    item = sandbox.product(sku)
    assert item is not None
    return item["attributes"]["fulfillment_availability"][0]["quantity"]


def price(sandbox: AmazonSandbox, sku: str) -> float:
    item = sandbox.product(sku)
    assert item is not None
    return item["attributes"]["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"]


# --- the Channel interface -----------------------------------------------------------------------


def test_is_a_channel_with_capabilities(client):
    assert isinstance(client, Channel)
    assert client.code == "amazon"
    for cap in (
        "create",
        "update",
        "delete",
        "price_stock",
        "batch_result",
        "find",
        "categories",
        "attributes",
    ):
        assert client.supports(cap)
    assert not client.supports("brands")
    assert client.brand_by_name("Apple") == []
    assert DEFAULT_CLIENT_SECRET not in repr(client) and DEFAULT_REFRESH_TOKEN not in repr(client)


# --- listings items --------------------------------------------------------------------------------


def test_put_get_patch_delete_listings_item(sandbox, client):
    result = client.put_listings_item("MON-941", "MONITOR", attributes(), requirements="LISTING")
    assert result["status"] == "ACCEPTED" and result["submissionId"]
    assert result["identifiers"][0]["marketplaceId"] == TR
    assert qty(sandbox, "MON-941") == 7

    item = client.get_listings_item(
        "MON-941", included_data=("summaries", "offers", "fulfillmentAvailability")
    )
    assert item["summaries"][0]["asin"] == result["identifiers"][0]["asin"]
    assert item["summaries"][0]["productType"] == "MONITOR"
    assert item["offers"][0]["price"] == {"currencyCode": "TRY", "amount": "240.00"}
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 7}]

    assert (
        client.set_price_stock("MON-941", "MONITOR", price=Decimal("199.90"), quantity=3)["status"]
        == "ACCEPTED"
    )
    assert qty(sandbox, "MON-941") == 3 and price(sandbox, "MON-941") == pytest.approx(199.9)
    client.set_price_stock("MON-941", "MONITOR", quantity=0)
    assert qty(sandbox, "MON-941") == 0 and price(sandbox, "MON-941") == pytest.approx(199.9)

    assert client.delete_listings_item("MON-941")["status"] == "ACCEPTED"
    assert sandbox.product("MON-941") is None
    assert client.get_listings_item("MON-941") is None


def test_validation_preview_stores_nothing(sandbox, client):
    assert (
        client.put_listings_item("PREVIEW-1", "MONITOR", attributes(), validation_preview=True)["status"]
        == "VALID"
    )
    assert sandbox.product("PREVIEW-1") is None


def test_sku_with_reserved_characters_is_url_encoded(sandbox, client):
    sku = "Çanta/12 ?#%"
    client.put_listings_item(sku, "MONITOR", attributes())
    assert sandbox.product(sku) is not None
    assert client.get_listings_item(sku)["sku"] == sku


def test_invalid_submission_is_permanent_with_amazons_message(sandbox, client):
    with pytest.raises(ListingsItemInvalid) as info:
        client.put_listings_item("NB-1", "NOTEBOOK_COMPUTER", attributes(brand=None))
    err = info.value
    assert isinstance(err, PermanentError) and not err.transient
    assert "'[brand]' is required but not supplied." in err.message
    assert "'[batteries_required]' is required but not supplied." in err.message
    assert err.code == "90220"
    assert sandbox.product("NB-1") is None


def test_patch_of_unknown_sku_is_invalid(client):
    with pytest.raises(ListingsItemInvalid, match="does not exist"):
        client.set_price_stock("NOPE-1", "MONITOR", quantity=1)


def test_bad_request_is_permanent_error_with_amazon_text(client):
    client.marketplace_ids = ["XXXXXXXXXXXXX"]
    with pytest.raises(PermanentError) as info:
        client.get_listings_item("ANY")
    assert info.value.status == 400 and info.value.code == "InvalidInput"
    assert "Invalid marketplaceIds" in info.value.message


def test_find_listings_returns_the_known_skus_only(client):
    client.put_listings_item("F-1", "MONITOR", attributes())
    client.put_listings_item("F-2", "MONITOR", attributes())
    found = client.find_listings(["F-1", "MISSING", "F-2"])
    assert [f["sku"] for f in found] == ["F-1", "F-2"]
    assert found[0]["attributes"]["brand"][0]["value"] == "Samsung"
    assert found[0]["issues"] == []


# --- feeds -----------------------------------------------------------------------------------------


def test_feed_create_reports_per_sku_outcomes(sandbox, client):
    items = [
        {"sku": "FEED-OK-1", "productType": "MONITOR", "attributes": attributes()},
        {"sku": "FEED-BAD", "productType": "NOTEBOOK_COMPUTER", "attributes": attributes()},
        {"sku": "FEED-OK-2", "productType": "PERSONAL_COMPUTER", "attributes": attributes()},
    ]
    feed_id = client.create_listings(items)
    first = client.batch_result(feed_id)
    assert first.id == feed_id and [i.key for i in first.items] == ["FEED-OK-1", "FEED-BAD", "FEED-OK-2"]
    result = client.wait_for_feed(feed_id, timeout=30, interval=0.05)
    assert result.done and result.status == "DONE"
    assert {i.key: i.status for i in result.items} == {
        "FEED-OK-1": "SUCCESS",
        "FEED-BAD": "FAILED",
        "FEED-OK-2": "SUCCESS",
    }
    assert result.item("FEED-BAD").reasons == ["'[batteries_required]' is required but not supplied."]
    assert result.failed_item_count == 1
    assert amazon_schema.report_errors(result.raw["report"]) == []
    assert sandbox.product("FEED-OK-1") and sandbox.product("FEED-OK-2") and not sandbox.product("FEED-BAD")
    # the uploaded document is the JSON_LISTINGS_FEED the schema describes
    uploaded = [d for d in sandbox.service.documents.values() if not d.get("result")]
    assert amazon_schema.feed_errors(json.loads(uploaded[0]["content"])) == []


def test_price_stock_and_patch_and_delete_feeds(sandbox, client):
    feed = client.create_listings(
        [{"sku": f"PS-{i}", "productType": "MONITOR", "attributes": attributes()} for i in range(3)]
    )
    assert client.wait_for_feed(feed, timeout=30, interval=0.05).status == "DONE"
    feed = client.update_price_stock(
        [
            {"sku": "PS-0", "productType": "MONITOR", "price": 111.5, "quantity": 2},
            {"sku": "PS-1", "productType": "MONITOR", "quantity": 9},
            {"sku": "PS-GONE", "productType": "MONITOR", "quantity": 1},
        ]
    )
    result = client.wait_for_feed(feed, timeout=30, interval=0.05)
    assert [(i.key, i.status) for i in result.items] == [
        ("PS-0", "SUCCESS"),
        ("PS-1", "SUCCESS"),
        ("PS-GONE", "FAILED"),
    ]
    assert (
        qty(sandbox, "PS-0") == 2
        and price(sandbox, "PS-0") == pytest.approx(111.5)
        and qty(sandbox, "PS-1") == 9
    )

    feed = client.update_listings(
        [
            {
                "sku": "PS-2",
                "productType": "MONITOR",
                "attributes": {"item_name": [{"value": "Renamed", "marketplace_id": TR}]},
            }
        ],
        kind="partial",
    )
    assert client.wait_for_feed(feed, timeout=30, interval=0.05).items[0].ok
    assert sandbox.product("PS-2")["attributes"]["item_name"][0]["value"] == "Renamed"
    assert qty(sandbox, "PS-2") == 7  # partial update kept the rest

    result = client.wait_for_feed(client.delete_listings(["PS-2"]), timeout=30, interval=0.05)
    assert result.items[0].ok and sandbox.product("PS-2") is None
    with pytest.raises(ValueError):
        client.update_listings([], kind="nonsense")


def test_gzip_processing_report_is_decompressed(sandbox, client):
    sandbox.configure(gzip_reports=True)
    feed = client.create_listings([{"sku": "GZ-1", "productType": "MONITOR", "attributes": attributes()}])
    result = client.wait_for_feed(feed, timeout=30, interval=0.05)
    assert result.items[0].ok and result.raw["report"]["summary"]["messagesAccepted"] == 1


def test_fatal_feed_fails_every_item(sandbox, make):
    # a feed whose header names another seller is FATAL as a whole
    other = make(seller_id="A3OTHERSELLER")
    feed = other.create_listings([{"sku": "X-1", "productType": "MONITOR", "attributes": attributes()}])
    result = other.wait_for_feed(feed, timeout=30, interval=0.05)
    assert result.done and result.status == "FATAL" and result.raw["processingStatus"] == "FATAL"
    assert result.items[0].failed and "does not match" in result.items[0].reasons[0]


def test_cancelled_feed_is_final_with_every_item_failed(sandbox, client):
    sandbox.configure(feed_delay=60)
    feed = client.create_listings([{"sku": "CX-1", "productType": "MONITOR", "attributes": attributes()}])
    assert not client.batch_result(feed).done
    client.cancel_feed(feed)
    result = client.batch_result(feed)
    assert result.done and result.status == "CANCELLED"
    assert [(i.key, i.status, i.reasons) for i in result.items] == [("CX-1", "FAILED", ["feed CANCELLED"])]


def test_unknown_feed_is_batch_not_found(client):
    with pytest.raises(BatchNotFound):
        client.batch_result("123")


def test_batch_result_from_another_process_knows_the_skus(make):
    a, b = make(), make()
    feed = a.create_listings([{"sku": "SHARED-1", "productType": "MONITOR", "attributes": attributes()}])
    assert [i.key for i in b.wait_for_feed(feed, timeout=30, interval=0.05).items] == ["SHARED-1"]


# --- product types ---------------------------------------------------------------------------------


def test_product_types_as_categories(client):
    names = [n["id"] for n in client.category_tree()]
    assert set(DEMO_PRODUCT_TYPES.values()) <= set(names)
    definition = client.category_attributes("NOTEBOOK_COMPUTER")
    assert definition["productType"] == "NOTEBOOK_COMPUTER"
    assert "batteries_required" in definition["schemaDocument"]["required"]
    with pytest.raises(NotFoundError):
        client.category_attributes("NO_SUCH_TYPE")


# --- orders ----------------------------------------------------------------------------------------


def test_orders_walk_every_page_and_stop(sandbox, client):
    created = set(sandbox.seed_orders(23, days=5))
    orders = client.list_orders(created_after="2020-01-01T00:00:00Z", page_size=10)
    assert {o["AmazonOrderId"] for o in orders} == created and len(orders) == 23
    assert sandbox.request_log()["counts"]["getOrders"] == {"200": 3}
    dates = [o["PurchaseDate"] for o in orders]
    assert dates == sorted(dates)
    updated = client.list_orders(
        last_updated_after="2020-01-01T00:00:00Z",
        page_size=100,
        statuses=("Unshipped", "PartiallyShipped"),
        fulfillment_channels=("MFN",),
    )
    assert len(updated) == 23
    items = client.order_items(orders[0]["AmazonOrderId"])
    assert items[0]["SellerSKU"] and items[0]["QuantityOrdered"] == 1


def test_orders_window_rules_are_amazons(sandbox, client):
    with pytest.raises(ValueError):
        client.list_orders(created_after="2020-01-01T00:00:00Z", last_updated_after="2020-01-01T00:00:00Z")
    from datetime import UTC, datetime

    with pytest.raises(PermanentError) as info:
        client.list_orders(created_after="2020-01-01T00:00:00Z", before=datetime.now(UTC))
    assert "2 minutes" in info.value.message and info.value.status == 400
    with pytest.raises(NotFoundError):
        client.order_items("999-0000000-0000000")


# --- auth ------------------------------------------------------------------------------------------


def test_access_token_is_cached_and_shared(sandbox, make):
    a, b = make(), make()
    a.get_listings_item("NONE")
    b.get_listings_item("NONE")
    a.get_listings_item("NONE")
    assert sandbox.request_log()["tokenRequests"] == 1


def _concurrently(n: int, fn) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_token_expiring_mid_run_is_refreshed_once_for_all_clients(sandbox, make):
    clients = [make() for _ in range(5)]
    clients[0].put_listings_item("TOK-1", "MONITOR", attributes())
    assert _concurrently(5, lambda i: clients[i].get_listings_item("TOK-1")["sku"]) == ["TOK-1"] * 5
    assert sandbox.request_log()["tokenRequests"] == 1

    sandbox.expire_tokens()  # the hour is over for the token every client holds
    assert _concurrently(5, lambda i: clients[i].get_listings_item("TOK-1")["sku"]) == ["TOK-1"] * 5
    log = sandbox.request_log()
    assert log["tokenRequests"] == 2
    assert 1 <= log["counts"]["getListingsItem"].get("403", 0) <= 5
    assert sum(c.tokens.refreshes for c in clients) == 2


def test_token_is_refreshed_before_it_expires(sandbox, make):
    sandbox.configure(token_ttl=3)  # clients stop using it 0.3 s before expiry
    clients = [make() for _ in range(4)]
    clients[0].get_listings_item("NONE")
    assert sandbox.request_log()["tokenRequests"] == 1
    threading.Event().wait(2.9)
    assert _concurrently(4, lambda i: clients[i].get_listings_item("NONE")) == [None] * 4
    log = sandbox.request_log()
    assert log["tokenRequests"] == 2
    assert log["counts"]["getListingsItem"].get("403", 0) == 0


_PROCESS_SCRIPT = """
import sys, redis
from workers.channels.amazon import AmazonClient
base, lwa, prefix, url = sys.argv[1:5]
c = AmazonClient(base, lwa, {cid!r}, {secret!r}, {refresh!r}, {seller!r}, ["A33AVAJ2PDY3EV"],
                 redis_client=redis.Redis.from_url(url), redis_prefix=prefix)
for _ in range(3):
    c.get_listings_item("PROC-1")
print("ok")
"""


def test_token_is_shared_across_processes(sandbox, redis_prefix):
    script = _PROCESS_SCRIPT.format(
        cid=DEFAULT_CLIENT_ID,
        secret=DEFAULT_CLIENT_SECRET,
        refresh=DEFAULT_REFRESH_TOKEN,
        seller=DEFAULT_SELLER_ID,
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, sandbox.base_url, sandbox.lwa_url, redis_prefix, REDIS_URL],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [o[0].decode().strip() for o in outs] == ["ok"] * 3, [o[1].decode()[-500:] for o in outs]
    assert sandbox.request_log()["tokenRequests"] == 1
    for _, err in outs:
        text = err.decode()
        assert DEFAULT_CLIENT_SECRET not in text and DEFAULT_REFRESH_TOKEN not in text and "Atza|" not in text


def test_wrong_credentials_are_auth_errors_without_secrets(sandbox, make, logs):
    bad_secret = "not-the-right-secret-123"
    with pytest.raises(AuthError) as info:
        make(client_secret=bad_secret).get_listings_item("X")
    assert info.value.status == 401 and info.value.code == "invalid_client"
    bad_refresh = "Atzr|a-revoked-refresh-token"
    with pytest.raises(AuthError) as info2:
        make(refresh_token=bad_refresh).get_listings_item("X")
    assert info2.value.code == "invalid_grant"
    for err in (info.value, info2.value):
        for text in (str(err), repr(err), str(err.args)):
            assert bad_secret not in text and bad_refresh not in text
    assert not any(bad_secret in line or bad_refresh in line for line in logs)


def test_no_credentials_or_tokens_in_logs_or_errors(sandbox, make, logs):
    client = make()
    client.put_listings_item("SEC-1", "MONITOR", attributes())
    sandbox.expire_tokens()
    client.get_listings_item("SEC-1")
    sandbox.set_faults("getListingsItem", error_rate=1.0)
    with pytest.raises(TransientError) as info:
        make(retry_budget=0.3).get_listings_item("SEC-1")
    with pytest.raises(ListingsItemInvalid) as info2:
        client.put_listings_item("SEC-2", "MONITOR", attributes(brand=None))
    issued = list(sandbox.service.tokens)
    assert len(issued) == 2
    secrets = [DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, *issued]
    texts = [str(info.value), repr(info.value), str(info2.value), repr(info2.value), repr(client), *logs]
    assert logs, "expected some log lines"
    for secret in secrets:
        for text in texts:
            assert secret not in text


# --- limits, throttling and faults -----------------------------------------------------------------


def test_two_threads_sharing_the_limiter_never_exceed_the_bucket(sandbox, make, rclient, redis_prefix):
    sandbox.configure(rate_limits={"getListingsItem": [10, 5]})
    limits = {"getListingsItem": (10.0, 5)}
    a = make(limiter=OperationLimiter(rclient, redis_prefix, limits))
    b = make(limiter=OperationLimiter(rclient, redis_prefix, limits))
    a.put_listings_item("RL-1", "MONITOR", attributes())

    def burst(i: int) -> int:
        c = (a, b)[i]
        return sum(1 for _ in range(14) if c.get_listings_item("RL-1"))

    assert _concurrently(2, burst) == [14, 14]
    counts = sandbox.request_log()["counts"]["getListingsItem"]
    assert counts == {"200": 28}


def test_429_is_throttled_and_retried(sandbox, make):
    sandbox.configure(rate_limits={"getListingsItem": [0.001, 1]})  # one token, practically no refill
    client = make(limiter=False)
    client.put_listings_item("T-1", "MONITOR", attributes())
    assert client.get_listings_item("T-1")["sku"] == "T-1"
    box: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: box.setdefault("item", client.get_listings_item("T-1")))
    worker.start()
    deadline = time.monotonic() + 30
    while (
        sandbox.request_log()["counts"]["getListingsItem"].get("429", 0) < 1 and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    sandbox.configure(rate_limits={"getListingsItem": [100, 1]})  # now the retry finds a token
    worker.join(30)
    assert box["item"]["sku"] == "T-1"
    assert sandbox.request_log()["counts"]["getListingsItem"].get("429", 0) >= 1
    sandbox.configure(rate_limits={"getListingsItem": [0.001, 1]})
    with pytest.raises(ThrottledError) as info:
        make(limiter=False, retry_budget=0.0).get_listings_item("T-1")
    assert info.value.code == "QuotaExceeded" and info.value.transient and info.value.status == 429


def test_transient_faults_are_retried(sandbox, client):
    client.put_listings_item("FLT-1", "MONITOR", attributes())
    sandbox.set_faults("getListingsItem", fail_next=2, error_status=503)
    assert client.get_listings_item("FLT-1")["sku"] == "FLT-1"
    assert sandbox.request_log()["counts"]["getListingsItem"]["503"] == 2
    sandbox.set_faults("putListingsItem", throttle_rate=1.0)
    client.http.retry_budget = 0.0
    with pytest.raises(ThrottledError):
        client.put_listings_item("FLT-2", "MONITOR", attributes())
    assert sandbox.product("FLT-2") is None


def test_timeouts_are_transient(sandbox, make):
    sandbox.configure(hang_seconds=2.0)
    sandbox.set_faults("getFeed", timeout_rate=1.0)
    client = make(timeout=0.3, retry_budget=0.0)
    with pytest.raises(TransientError, match="timed out"):
        client.get_feed("1")


# --- error translation -----------------------------------------------------------------------------


def _response(status: int, body: Any) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = json.dumps(body).encode() if body is not None else b""
    r.headers["Content-Type"] = "application/json"
    return r


def _errors(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


@pytest.mark.parametrize(
    ("status", "body", "cls", "code"),
    [
        (400, _errors("InvalidInput", "Invalid input"), PermanentError, "InvalidInput"),
        (
            403,
            _errors("Unauthorized", "Access to requested resource is denied.", ""),
            AuthError,
            "Unauthorized",
        ),
        (401, _errors("Unauthorized", "Access to requested resource is denied."), AuthError, "Unauthorized"),
        (404, _errors("NotFound", "Resource not found"), NotFoundError, "NotFound"),
        (413, _errors("RequestEntityTooLarge", "too large"), PermanentError, "RequestEntityTooLarge"),
        (415, _errors("UnsupportedMediaType", "bad type"), PermanentError, "UnsupportedMediaType"),
        (
            429,
            _errors("QuotaExceeded", "You exceeded your quota for the requested resource."),
            ThrottledError,
            "QuotaExceeded",
        ),
        (
            500,
            _errors("InternalFailure", "We encountered an internal error."),
            TransientError,
            "InternalFailure",
        ),
        (503, _errors("ServiceUnavailable", "Service unavailable"), TransientError, "ServiceUnavailable"),
        (502, None, TransientError, None),
    ],
)
def test_documented_error_shapes_translate(status, body, cls, code):
    err = translate_error(_response(status, body))
    assert type(err) is cls and err.code == code and err.status == status
    if body:
        assert body["errors"][0]["message"] in err.message


def test_expired_token_details_are_kept_in_the_message():
    err = translate_error(
        _response(
            403,
            _errors(
                "Unauthorized",
                "Access to requested resource is denied.",
                "The access token you provided has expired.",
            ),
        )
    )
    assert isinstance(err, AuthError) and "has expired" in err.message
    assert translate_error(_response(200, {"sku": "x", "status": "ACCEPTED"})) is None
    assert isinstance(err, ChannelError)


# --- mapper ----------------------------------------------------------------------------------------


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
        descriptions={
            "en-gb": Description(
                "iPhone", "<p>iPhone is a revolutionary phone. It is fast.</p>", "iPhone", ""
            )
        },
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


MAPPING = AmazonMapping(
    product_types=dict(DEMO_PRODUCT_TYPES),
    type_attributes={t: {"batteries_required": False} for t in set(DEMO_PRODUCT_TYPES.values())},
    image_base_url="https://shop.example/image",
)


def test_mapped_product_is_accepted_by_the_sandbox(sandbox, client):
    item = to_item(oc_product(), MAPPING)
    assert item["sku"] == "IPH-40" and item["productType"] == "CELLULAR_PHONE"
    attrs = item["attributes"]
    assert attrs["item_name"][0] == {"value": "iPhone", "language_tag": "tr_TR", "marketplace_id": TR}
    assert attrs["bullet_point"][0]["value"] == "iPhone is a revolutionary phone."
    assert attrs["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] == 121.2
    assert attrs["fulfillment_availability"] == [{"fulfillment_channel_code": "DEFAULT", "quantity": 970}]
    assert attrs["main_product_image_locator"][0]["media_location"] == (
        "https://shop.example/image/catalog/demo/iphone_1.jpg"
    )
    assert attrs["other_product_image_locator_1"][0]["media_location"].endswith("iphone_2.jpg")
    assert (
        client.put_listings_item(item["sku"], item["productType"], attrs, requirements=item["requirements"])[
            "status"
        ]
        == "ACCEPTED"
    )
    ps = to_price_stock(oc_product(quantity=3, special=Decimal("90")), MAPPING)
    assert ps == {
        "sku": "IPH-40",
        "productType": "CELLULAR_PHONE",
        "price": 108.0,
        "quantity": 3,
        "currency": "TRY",
    }
    feed = client.update_price_stock([ps])
    assert client.wait_for_feed(feed, timeout=30, interval=0.05).items[0].ok
    assert qty(sandbox, "IPH-40") == 3


def test_special_price_sends_list_price_and_disabled_product_has_no_stock():
    attrs = to_item(oc_product(special=Decimal("90"), status=False), MAPPING)["attributes"]
    assert attrs["list_price"][0]["value_with_tax"] == 121.2
    assert attrs["fulfillment_availability"][0]["quantity"] == 0


@pytest.mark.parametrize(
    ("overrides", "mapping_changes", "sentence"),
    [
        ({"categories": (Category(99, "Misc", ("Misc",), (99,)),)}, {}, "No Amazon product type is mapped"),
        ({"manufacturer": None}, {}, "Amazon requires a brand"),
        ({"image": None, "images": ()}, {}, "Amazon requires a main image"),
        ({"price": Decimal("0")}, {}, "price above zero"),
        ({"codes": {"SKU": "X" * 41}}, {}, "longer than the 40 characters"),
        ({}, {"image_base_url": ""}, "full image links"),
    ],
)
def test_unmappable_products_raise_a_sentence(overrides, mapping_changes, sentence):
    import dataclasses

    mapping = dataclasses.replace(MAPPING, **mapping_changes)
    with pytest.raises(MappingError, match=sentence):
        to_item(oc_product(**overrides), mapping)


def test_default_brand_and_deepest_category():
    mapping = AmazonMapping(
        product_types={20: "PERSONAL_COMPUTER", 27: "MONITOR"},
        default_brand="Generic",
        image_base_url="https://s/i",
    )
    cats = (
        Category(20, "Desktops", ("Desktops",), (20,)),
        Category(27, "Mac", ("Desktops", "Mac"), (20, 27)),
    )
    item = to_item(oc_product(manufacturer=None, categories=cats), mapping)
    assert item["productType"] == "MONITOR"
    assert item["attributes"]["brand"][0]["value"] == "Generic"


def test_listings_feed_window_is_respected_by_the_client(sandbox, client):
    items = [{"sku": "W-1", "productType": "MONITOR", "attributes": attributes()}]
    for _ in range(5):
        client.create_listings(items)
    with pytest.raises(ThrottledError) as info:
        client.create_listings(items)
    assert info.value.status is None and info.value.retry_after > 200  # our limiter, not Amazon's 429
    assert sandbox.request_log()["counts"]["createFeed"] == {"202": 5}


def test_processing_report_is_downloaded_once(sandbox, make):
    a, b = make(), make()
    feed = a.create_listings([{"sku": "R-1", "productType": "MONITOR", "attributes": attributes()}])
    assert a.wait_for_feed(feed, timeout=30, interval=0.05).items[0].ok
    for c in (a, b, a):
        assert c.batch_result(feed).items[0].ok
    assert sandbox.request_log()["counts"]["getFeedDocument"] == {"200": 1}


def test_confirm_shipment(sandbox, client):
    order_id = sandbox.add_order(time.time() - 7200, quantity=3, sku="SHIP-1")
    item_id = client.order_items(order_id)[0]["OrderItemId"]
    client.confirm_shipment(
        order_id,
        package_reference_id=1,
        carrier_code="Yurtici Kargo",
        tracking_number="YK123",
        items=[(item_id, 2)],
        carrier_name="Yurtici",
    )
    order = next(o for o in sandbox.orders() if o["AmazonOrderId"] == order_id)
    assert order["OrderStatus"] == "PartiallyShipped" and order["NumberOfItemsUnshipped"] == 1
    client.confirm_shipment(
        order_id,
        package_reference_id=2,
        carrier_code="Other",
        carrier_name="Kervan Cargo",
        tracking_number="KC1",
        items=[(item_id, 1)],
        ship_date="2026-01-01T10:00:00Z",
    )
    order = next(o for o in sandbox.orders() if o["AmazonOrderId"] == order_id)
    assert order["OrderStatus"] == "Shipped"
    with pytest.raises(PermanentError, match="cannot be confirmed as shipped"):
        client.confirm_shipment(
            order_id, package_reference_id=3, carrier_code="UPS", tracking_number="1", items=[(item_id, 1)]
        )
    with pytest.raises(NotFoundError):
        client.confirm_shipment(
            "000-0000000-0000000",
            package_reference_id=1,
            carrier_code="UPS",
            tracking_number="1",
            items=[("1", 1)],
        )


# --- neutral order operations ---------------------------------------------------------------------


def recording_session() -> tuple[requests.Session, list[requests.PreparedRequest]]:
    """A plain session that remembers every request it sent (URL with query, headers)."""
    from workers.http import plain_session

    session = plain_session()
    sent: list[requests.PreparedRequest] = []
    session.hooks["response"].append(lambda r, *a, **kw: sent.append(r.request))
    return session, sent


def query_of(request: requests.PreparedRequest) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(request.url).query))


def test_order_capabilities(client):
    assert client.supports("orders") and client.supports("ship")
    assert not client.supports("acknowledge") and not client.supports("cancel")
    with pytest.raises(NotImplementedError):
        client.acknowledge_order(OrderRef("1"))
    with pytest.raises(NotImplementedError):
        client.cancel_order_lines(OrderRef("1", lines=(("1", 1),)))


def test_orders_changed_since_walks_every_page_and_stops(sandbox, make):
    from datetime import UTC, datetime, timedelta

    session, sent = recording_session()
    client = make(session=session)
    now = time.time()
    wanted = {sandbox.add_order(now - 4 * 86400, now - 3 * 86400 + i * 60) for i in range(230)}
    sandbox.add_order(now - 20 * 86400, now - 10 * 86400)  # last changed before since
    sandbox.add_order(now - 3600, now - 30)  # changed less than 2 minutes ago: Amazon's next poll
    since = datetime.now(UTC) - timedelta(days=5)
    orders = list(client.orders_changed_since(since))
    assert {o["AmazonOrderId"] for o in orders} == wanted and len(orders) == 230
    assert sandbox.request_log()["counts"]["getOrders"] == {"200": 3}
    pages = [query_of(r) for r in sent if "/orders/v0/orders" in r.url]
    assert [("NextToken" in q) for q in pages] == [False, True, True]
    assert all(
        q["LastUpdatedAfter"] == pages[0]["LastUpdatedAfter"] and "LastUpdatedBefore" not in q for q in pages
    )
    assert all("CreatedAfter" not in q for q in pages)

    until = datetime.now(UTC) - timedelta(days=3) + timedelta(minutes=99.5)
    window = list(client.orders_changed_since(since, until))
    assert len(window) == 100
    assert query_of(sent[-1])["LastUpdatedBefore"] == until.strftime("%Y-%m-%dT%H:%M:%SZ")

    recent = list(
        client.orders_changed_since(datetime.now(UTC) - timedelta(seconds=30))
    )  # moved back, no 400
    assert recent == []
    with pytest.raises(ValueError):
        list(client.orders_changed_since(since, since - timedelta(days=1)))


def test_orders_changed_since_error_is_amazons_quota_exceeded(sandbox, make):
    from datetime import UTC, datetime, timedelta

    sandbox.set_faults("getOrders", throttle_rate=1.0)
    with pytest.raises(ThrottledError) as info:
        list(make(retry_budget=0.0).orders_changed_since(datetime.now(UTC) - timedelta(days=1)))
    assert info.value.status == 429 and info.value.code == "QuotaExceeded"


def _shipments(sandbox: AmazonSandbox, order_id: str) -> list[dict[str, Any]]:
    with sandbox.service.lock:
        return json.loads(json.dumps(sandbox.service.orders[order_id].get("shipments", [])))


def test_ship_order_confirms_lines_then_the_rest(sandbox, make):
    from datetime import UTC, datetime

    client = make(carrier_codes=("UPS", "DHL", "Yurtici Kargo"))
    order_id = sandbox.add_order(time.time() - 7200, quantity=3, sku="SHIP-2")
    item_id = client.order_items(order_id)[0]["OrderItemId"]
    shipped_at = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    client.ship_order(OrderRef(order_id, "7", ((item_id, 1),)), Shipment("UPS", "1Z999", None, shipped_at))
    client.ship_order(OrderRef(order_id), Shipment("Kervan Kargo", "KK-1"))  # no lines: what is left
    order = next(o for o in sandbox.orders() if o["AmazonOrderId"] == order_id)
    assert order["OrderStatus"] == "Shipped" and order["NumberOfItemsUnshipped"] == 0
    first, rest = _shipments(sandbox, order_id)
    assert first["packageReferenceId"] == "7" and first["carrierCode"] == "UPS" and "carrierName" not in first
    assert first["shipDate"] == "2026-11-02T08:00:00Z" and first["orderItems"] == [
        {"orderItemId": item_id, "quantity": 1}
    ]
    assert rest["carrierCode"] == "Other" and rest["carrierName"] == "Kervan Kargo"
    assert rest["orderItems"] == [{"orderItemId": item_id, "quantity": 2}]
    assert rest["packageReferenceId"].isdigit() and int(rest["packageReferenceId"]) > 0
    with pytest.raises(ValueError):
        client.ship_order(OrderRef(order_id), Shipment("Other", "X-1"))
    with pytest.raises(ValueError, match="nothing left to ship"):
        client.ship_order(OrderRef(order_id), Shipment("UPS", "X-1"))


def test_ship_order_errors_are_amazons(sandbox, client):
    order_id = sandbox.add_order(time.time() - 7200, quantity=1, sku="SHIP-3")
    item_id = client.order_items(order_id)[0]["OrderItemId"]
    client.ship_order(OrderRef(order_id, lines=((item_id, 1),)), Shipment("Yurtici Kargo", "YK-1"))
    with pytest.raises(PermanentError) as info:
        client.ship_order(OrderRef(order_id, lines=((item_id, 1),)), Shipment("Yurtici Kargo", "YK-2"))
    assert info.value.status == 400 and "cannot be confirmed as shipped" in info.value.message
    with pytest.raises(NotFoundError):
        client.ship_order(OrderRef("000-0000000-0000000", lines=(("1", 1),)), Shipment("UPS", "1"))


def test_access_token_goes_per_request_not_in_the_client_headers(sandbox, make):
    session, sent = recording_session()
    client = make(session=session)
    client.get_listings_item("NONE")
    sandbox.expire_tokens()
    client.get_listings_item("NONE")
    tokens = [r.headers.get("x-amz-access-token") for r in sent if "/listings/" in r.url]
    assert len(tokens) == 3 and tokens[0] == tokens[1] != tokens[2]  # expired → refreshed → repeated
    assert "x-amz-access-token" not in {k.lower() for k in client.http.headers}
    assert all(r.headers["Accept"] == "application/json" for r in sent if "/listings/" in r.url)


def test_per_request_headers_override_and_are_scrubbed_from_errors():
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from workers.http import JsonHttp

    seen: list[dict[str, str]] = []

    class Echo(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802
            seen.append({k.lower(): v for k, v in self.headers.items()})
            body = json.dumps({"message": f"bad token {self.headers.get('x-amz-access-token')}"}).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        http = JsonHttp(
            f"http://127.0.0.1:{server.server_port}", headers={"Accept": "text/plain", "X-Fixed": "1"}
        )
        with pytest.raises(PermanentError) as info:
            http.get(
                "x", headers={"accept": "application/json", "x-amz-access-token": "Atza|very-secret-token"}
            )
        assert "very-secret-token" not in info.value.message and "***" in info.value.message
        assert seen[0]["accept"] == "application/json" and seen[0]["x-fixed"] == "1"
        assert seen[0]["x-amz-access-token"] == "Atza|very-secret-token"
        with pytest.raises(PermanentError):
            http.get("x")
        assert seen[1]["accept"] == "text/plain" and "x-amz-access-token" not in seen[1]
    finally:
        server.shutdown()
        server.server_close()


def test_token_cache_fails_open_without_redis(sandbox):
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    client = AmazonClient(
        sandbox.base_url,
        sandbox.lwa_url,
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_REFRESH_TOKEN,
        DEFAULT_SELLER_ID,
        [TR],
        redis_client=dead,
        redis_prefix="x:",
        limiter=False,
        retry_budget=0.0,
    )
    try:
        assert client.get_listings_item("NONE") is None
        assert client.get_listings_item("NONE") is None
        assert sandbox.request_log()["tokenRequests"] == 1
    finally:
        client.close()


def test_search_orders_v2026_walks_pages(sandbox, client):
    from sandbox.amazon import schema as sch

    created = set(sandbox.seed_orders(12, days=2))
    sandbox.add_order(time.time() - 3600, fulfillment_channel="AFN")
    orders = list(
        client.iter_search_orders(
            created_after="2020-01-01T00:00:00Z",
            page_size=5,
            fulfilled_by=("MERCHANT",),
            fulfillment_statuses=("UNSHIPPED",),
        )
    )
    assert {o["orderId"] for o in orders} == created
    assert sandbox.request_log()["counts"]["searchOrders"] == {"200": 3}
    spec = sch.load("orders_2026-01-01.json")
    for order in orders:
        assert sch.errors(order, spec["definitions"]["Order"], spec) == []
        assert order["orderItems"][0]["product"]["price"]["unitPrice"]["currencyCode"] == "TRY"
    assert len(list(client.iter_search_orders(last_updated_after="2020-01-01T00:00:00Z"))) == 13
