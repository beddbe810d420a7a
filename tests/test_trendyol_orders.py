"""Trendyol orders over real HTTP: the client's order section against the sandbox's order API
(stream cursor and windows, v2 pages, Picking/Invoiced, cannot-supply, tracking number, faults).
Packages are seeded through the sandbox's control surface, as a customer or carrier would cause
them; every assertion is on what crossed HTTP or what the sandbox now holds."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from loguru import logger

from sandbox.trendyol import TrendyolSandbox
from workers.channels.base import ACKNOWLEDGE, CANCEL, ORDERS, SHIP, OrderRef, Shipment
from workers.channels.errors import AuthError, NotFoundError, PermanentError, TransientError
from workers.channels.trendyol import CANCEL_REASON_IDS, TrendyolClient

SELLER, KEY, SECRET = "1001", "sandbox-key", "sandbox-secret"
TOKEN = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
DAY_MS = 24 * 3600 * 1000
HOUR_MS = 3600 * 1000


# --- fixtures (the pattern of tests/test_trendyol_adapter.py) -------------------------------------


@pytest.fixture
def sandbox() -> Iterator[TrendyolSandbox]:
    sb = TrendyolSandbox(batch_delay=0.05, seed=7).start()
    try:
        yield sb
    finally:
        sb.stop()


def make_client(base_url: str, **kw: Any) -> TrendyolClient:
    kw.setdefault("retry_budget", 20.0)
    kw.setdefault("stream_interval", 0.0)
    return TrendyolClient(base_url, SELLER, kw.pop("api_key", KEY), kw.pop("api_secret", SECRET), **kw)


@pytest.fixture
def client(sandbox) -> Iterator[TrendyolClient]:
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


def now_ms() -> int:
    return int(time.time() * 1000)


def seed(sb: TrendyolSandbox, barcode: str = "BC-1", quantity: int = 1, **kw: Any) -> dict[str, Any]:
    """An order placed through the sandbox's HTTP control surface; returns its package."""
    body = {"lines": [{"barcode": barcode, "quantity": quantity, "price": 120.0}], **kw}
    r = requests.post(f"{sb.admin_url}/orders", json=body, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def advance(sb: TrendyolSandbox, package_id: int, status: str) -> dict[str, Any]:
    """A carrier or customer moving the package (sandbox control surface)."""
    r = requests.post(f"{sb.admin_url}/orders/{package_id}/status", json={"status": status}, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def held(sb: TrendyolSandbox, package_id: int) -> dict[str, Any]:
    r = requests.get(f"{sb.admin_url}/orders/{package_id}", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def ref_of(pkg: dict[str, Any], lines: tuple[tuple[str, int], ...] | None = None) -> OrderRef:
    if lines is None:
        lines = tuple((str(line["lineId"]), line["quantity"]) for line in pkg["lines"])
    return OrderRef(pkg["orderNumber"], str(pkg["shipmentPackageId"]), lines)


def stream_requests(sb: TrendyolSandbox) -> list[dict[str, Any]]:
    return [r for r in sb.request_log()["requests"] if r["endpoint"] == "order_stream"]


def count(sb: TrendyolSandbox, endpoint: str, status: int | None = None) -> int:
    counts = sb.request_log()["counts"].get(endpoint, {"total": 0, "byStatus": {}})
    return counts["total"] if status is None else counts["byStatus"].get(str(status), 0)


# --- stream ---------------------------------------------------------------------------------------


def test_stream_walks_every_page_with_identical_filters_and_stops(client, sandbox):
    assert {ORDERS, ACKNOWLEDGE, SHIP, CANCEL} <= client.capabilities
    ids = [seed(sandbox, f"BC-{i}")["shipmentPackageId"] for i in range(7)]

    got = list(client.iter_stream(now_ms() - DAY_MS, now_ms() + HOUR_MS, ["Created"], size=3))

    assert sorted(p["shipmentPackageId"] for p in got) == sorted(ids)
    modified = [p["lastModifiedDate"] for p in got]
    assert modified == sorted(modified, reverse=True)  # Trendyol's fixed DESC order
    calls = stream_requests(sandbox)
    assert len(calls) == 3 and all(c["status"] == 200 for c in calls)  # 3 + 3 + 1, then hasMore false
    assert "nextCursor" not in calls[0]["params"]
    assert all("nextCursor" in c["params"] for c in calls[1:])
    filters = {k: v for k, v in calls[0]["params"].items() if k != "nextCursor"}
    assert all({k: v for k, v in c["params"].items() if k != "nextCursor"} == filters for c in calls)
    pkg = got[0]
    # Field names after the 08.12.2025 rename; the old ones are gone.
    for name in (
        "shipmentPackageId",
        "orderNumber",
        "packageGrossAmount",
        "packageTotalPrice",
        "status",
        "shipmentPackageStatus",
        "customerFirstName",
        "shipmentAddress",
        "invoiceAddress",
        "cargoTrackingNumber",
        "cargoProviderName",
        "packageHistory",
        "lastModifiedDate",
    ):
        assert name in pkg, name
    assert "id" not in pkg and "totalPrice" not in pkg and "grossAmount" not in pkg
    line = pkg["lines"][0]
    for name in (
        "lineId",
        "barcode",
        "stockCode",
        "productName",
        "quantity",
        "lineUnitPrice",
        "lineGrossAmount",
        "lineSellerDiscount",
        "currencyCode",
        "vatRate",
        "orderLineItemStatusName",
    ):
        assert name in line, name
    assert "merchantSku" not in line and "price" not in line and "id" not in line
    assert line["lineUnitPrice"] == 120.0 and pkg["packageTotalPrice"] == 120.0


def test_orders_changed_since_splits_a_long_span_into_14_day_windows_with_3h_slack(client, sandbox):
    now = now_ms()
    since = datetime.now(UTC) - timedelta(days=70)
    since_ms = int(since.timestamp() * 1000)
    inside = [
        seed(sandbox, f"W{d}", last_modified=now - d * DAY_MS)["shipmentPackageId"] for d in (1, 20, 40, 60)
    ]
    slack = seed(sandbox, "SLACK", last_modified=since_ms - 2 * HOUR_MS)["shipmentPackageId"]
    outside = seed(sandbox, "OLD", last_modified=since_ms - 4 * HOUR_MS)["shipmentPackageId"]

    got = {p["shipmentPackageId"] for p in client.orders_changed_since(since)}

    assert set(inside) | {slack} <= got and outside not in got
    windows = [
        (int(c["params"]["lastModifiedStartDate"]), int(c["params"]["lastModifiedEndDate"]))
        for c in stream_requests(sandbox)
    ]
    assert len(windows) == 6  # 70 days + 6 h of slack in 14-day windows
    assert all(end - start <= 14 * DAY_MS for start, end in windows)
    assert windows[-1][0] == int((since - timedelta(hours=3)).timestamp() * 1000)
    assert windows[0][1] >= now + 3 * HOUR_MS - 60_000
    for (start, _end), (_start, next_end) in zip(windows, windows[1:], strict=False):
        assert next_end == start - 1  # contiguous, no gap, no overlap


def test_reusing_a_cursor_with_other_filters_is_a_permanent_400_with_trendyols_text(client, sandbox):
    for i in range(3):
        seed(sandbox, f"CUR{i}")
    first = client.stream_page(size=1)
    assert first["hasMore"] is True and first["size"] == 1 and first["nextCursor"]

    with pytest.raises(PermanentError) as err:
        client.stream_page(size=1, statuses=["Created"], cursor=first["nextCursor"])

    assert err.value.status == 400 and not err.value.transient
    assert "farklı filtrelerle kullanılamaz" in err.value.message
    assert count(sandbox, "order_stream", 400) == 1  # not retried
    # The same filters with the cursor go on (size is not a filter).
    assert client.stream_page(size=2, cursor=first["nextCursor"])["size"] == 2
    raw = requests.get(
        f"{sandbox.base_url}/order/sellers/{SELLER}/orders/stream",
        params={"nextCursor": first["nextCursor"], "packageItemStatuses": "Picking"},
        headers=sandbox.headers(),
        timeout=5,
    )
    assert raw.status_code == 400 and set(raw.json()) == {"error", "message"}  # the order Error schema


def test_stream_window_over_14_days_and_older_than_3_months_are_refused(client, sandbox, logs):
    now = now_ms()
    with pytest.raises(PermanentError) as wide:
        client.stream_page(start_ms=now - 15 * DAY_MS, end_ms=now)
    assert wide.value.status == 400 and "en fazla 14 gün" in wide.value.message
    with pytest.raises(PermanentError) as old:
        client.stream_page(start_ms=now - 100 * DAY_MS, end_ms=now - 95 * DAY_MS)
    assert old.value.status == 400 and "3 aydan" in old.value.message

    recent = seed(sandbox, "R", last_modified=now - 80 * DAY_MS)["shipmentPackageId"]
    ancient = seed(sandbox, "A", last_modified=now - 100 * DAY_MS)["shipmentPackageId"]
    before = count(sandbox, "order_stream", 400)
    got = {
        p["shipmentPackageId"] for p in client.orders_changed_since(datetime.now(UTC) - timedelta(days=200))
    }
    assert recent in got and ancient not in got
    assert count(sandbox, "order_stream", 400) == before  # the client stayed inside the horizon
    assert any("3 months" in line for line in logs)


# --- package actions ------------------------------------------------------------------------------


def test_picking_then_invoiced_and_invoiced_before_picking_is_refused(client, sandbox):
    pkg = seed(sandbox, "PI", quantity=2)
    ref = ref_of(pkg)

    with pytest.raises(PermanentError) as early:
        client.invoice(ref, "EME2026000000001")
    assert early.value.status == 400 and "Picking" in early.value.message
    assert held(sandbox, pkg["shipmentPackageId"])["status"] == "Created"

    with pytest.raises(ValueError):
        client.update_package_status(pkg["shipmentPackageId"], "Shipped", ref.lines)
    assert count(sandbox, "package_status") == 1  # refused before sending

    client.acknowledge_order(OrderRef(pkg["orderNumber"], str(pkg["shipmentPackageId"])))  # lines read first
    assert held(sandbox, pkg["shipmentPackageId"])["status"] == "Picking"
    client.acknowledge_order(ref)  # again: already acknowledged, not an error
    client.invoice(ref, "EME2026000000001")

    now = held(sandbox, pkg["shipmentPackageId"])
    assert now["status"] == "Invoiced" and now["invoiceNumber"] == "EME2026000000001"
    assert [h["status"] for h in now["packageHistory"]] == ["Created", "Picking", "Invoiced"]
    assert all(line["orderLineItemStatusName"] == "Invoiced" for line in now["lines"])

    other = seed(sandbox, "PI2")
    with pytest.raises(PermanentError) as foreign:
        client.acknowledge_order(ref_of(other, ((str(pkg["lines"][0]["lineId"]), 1),)))
    assert foreign.value.status == 400 and "paketine ait değil" in foreign.value.message


def test_unsupplied_creates_a_new_package_and_cancels_the_old_one(client, sandbox):
    r = requests.post(
        f"{sandbox.admin_url}/orders",
        json={
            "lines": [
                {"barcode": "U1", "quantity": 2, "price": 50.0},
                {"barcode": "U2", "quantity": 1, "price": 30.0},
            ]
        },
        timeout=5,
    )
    pkg = r.json()
    first_line, second_line = (line["lineId"] for line in pkg["lines"])
    client.acknowledge_order(ref_of(pkg))
    mark = datetime.now(UTC)

    client.cancel_order_lines(ref_of(pkg, ((str(first_line), 1),)), "out_of_stock")

    old = held(sandbox, pkg["shipmentPackageId"])
    assert old["status"] == "Cancelled"
    cancelled = {line["lineId"]: line for line in old["lines"]}[first_line]
    assert cancelled["orderLineItemStatusName"] == "UnSupplied" and cancelled["cancelReasonCode"] == 500
    siblings = client.packages_of_order(pkg["orderNumber"])
    new = [p for p in siblings if p["shipmentPackageId"] != pkg["shipmentPackageId"]]
    assert len(new) == 1 and new[0]["status"] == "Picking"
    assert {line["lineId"]: line["quantity"] for line in new[0]["lines"]} == {first_line: 1, second_line: 1}
    assert new[0]["packageTotalPrice"] == 80.0 and old["lastModifiedDate"] > pkg["lastModifiedDate"]

    walked = {p["shipmentPackageId"]: p["status"] for p in client.orders_changed_since(mark)}
    assert walked == {new[0]["shipmentPackageId"]: "Picking", pkg["shipmentPackageId"]: "Cancelled"}


@pytest.mark.parametrize("reason", sorted(CANCEL_REASON_IDS))
def test_cancel_reasons_map_to_trendyols_reason_ids(client, sandbox, reason):
    pkg = seed(sandbox, "R1")
    client.cancel_order_lines(ref_of(pkg), reason)
    line = held(sandbox, pkg["shipmentPackageId"])["lines"][0]
    assert (
        line["cancelReasonCode"]
        == {"out_of_stock": 500, "defective": 501, "wrong_price": 502, "force_majeure": 506, "other": 504}[
            reason
        ]
    )
    # Everything was unsupplied: nothing left to move to a new package.
    assert len(client.packages_of_order(pkg["orderNumber"])) == 1


def test_repeated_cancel_after_a_lost_response_is_not_a_failure(client, sandbox):
    pkg = seed(sandbox, "LOST", quantity=3)
    line = str(pkg["lines"][0]["lineId"])
    # The first attempt reached Trendyol, its answer never came back.
    raw = requests.put(
        f"{sandbox.base_url}/order/sellers/{SELLER}/shipment-packages/{pkg['shipmentPackageId']}/items/unsupplied",
        json={"lines": [{"lineId": int(line), "quantity": 1}], "reasonId": 500},
        headers=sandbox.headers(),
        timeout=5,
    )
    assert raw.status_code == 200 and raw.content == b""

    client.cancel_order_lines(ref_of(pkg, ((line, 1),)))

    assert count(sandbox, "package_unsupplied", 400) == 1  # Trendyol refused the repeat…
    assert len(client.packages_of_order(pkg["orderNumber"])) == 2  # …and nothing was cut twice
    with pytest.raises(PermanentError):
        client.cancel_order_lines(ref_of(seed(sandbox, "X"), ((line, 1),)))  # a real refusal still raises


def test_tracking_number_is_taken_until_the_package_ships(client, sandbox):
    pkg = seed(sandbox, "TRK")
    ref = ref_of(pkg)
    assert pkg["cargoTrackingNumber"]  # the contracted carrier's own number, there from the start

    client.ship_order(ref, Shipment("Aras Kargo", "ARAS123"))
    assert held(sandbox, pkg["shipmentPackageId"])["cargoTrackingNumber"] == "ARAS123"

    advance(sandbox, pkg["shipmentPackageId"], "Shipped")
    with pytest.raises(PermanentError) as err:
        client.ship_order(ref, Shipment("Aras Kargo", "ARAS456"))
    assert err.value.status == 400 and err.value.message == "Shipment Update Edilebilir Bir Durumda Değil"
    assert held(sandbox, pkg["shipmentPackageId"])["cargoTrackingNumber"] == "ARAS123"
    advance(sandbox, pkg["shipmentPackageId"], "Delivered")
    with pytest.raises(PermanentError):
        client.update_tracking_number(pkg["shipmentPackageId"], "ARAS789")
    with pytest.raises(NotFoundError):
        client.update_tracking_number(99, "ARAS789")


# --- v2 list --------------------------------------------------------------------------------------


def test_v2_orders_pages_filters_and_the_10000_cap(client, sandbox):
    now = now_ms()
    ids = [
        seed(sandbox, f"V{i}", last_modified=now - (10 - i) * 60_000)["shipmentPackageId"] for i in range(5)
    ]
    advance(sandbox, ids[0], "Cancelled")

    first = client.list_packages_page(size=2)
    assert (first["totalElements"], first["totalPages"], first["page"], first["size"]) == (5, 3, 0, 2)
    walked = [p["shipmentPackageId"] for p in client.iter_packages(size=2)]
    assert sorted(walked) == sorted(ids) and len(walked) == 5
    assert walked[-1] == ids[0]  # ASC by last change: the cancelled one changed last
    assert count(sandbox, "order_list") == 1 + 3

    assert [p["shipmentPackageId"] for p in client.iter_packages(status="Cancelled")] == [ids[0]]
    assert client.package(ids[3])["shipmentPackageId"] == ids[3]
    assert client.package(123) is None
    by_created = client.list_packages_page(order_by="CreatedDate", direction="DESC", start_ms=now - 3_600_000)
    assert by_created["totalElements"] == 5

    with pytest.raises(PermanentError) as cap:
        client.list_packages_page(page=50, size=200)
    assert cap.value.status == 400 and "10000" in cap.value.message
    with pytest.raises(PermanentError) as old:
        client.list_packages_page(start_ms=now - 40 * DAY_MS)
    assert old.value.status == 400 and "1 aydan" in old.value.message


# --- faults, limits, auth -------------------------------------------------------------------------


def test_server_errors_on_order_endpoints_are_retried(client, sandbox):
    for i in range(3):
        seed(sandbox, f"F{i}")
    sandbox.set_faults("order_stream", fail_next=2, error_status=503)
    assert len(list(client.iter_stream(size=2))) == 3
    assert count(sandbox, "order_stream", 503) == 2 and count(sandbox, "order_stream", 200) == 2

    pkg = seed(sandbox, "F9")
    sandbox.set_faults("write", fail_next=1, error_status=500)  # the product-side alias covers order writes
    client.acknowledge_order(ref_of(pkg))
    assert (
        count(sandbox, "package_status", 500) == 1
        and held(sandbox, pkg["shipmentPackageId"])["status"] == "Picking"
    )

    sandbox.set_faults("orders", fail_next=1)
    raw = requests.get(
        f"{sandbox.base_url}/order/sellers/{SELLER}/v2/orders", headers=sandbox.headers(), timeout=5
    )
    assert raw.status_code == 500 and raw.json() == {
        "error": "generic.exception",
        "message": "Exception Occured",
    }


def test_429_on_order_endpoints_is_waited_out_and_retried(client, sandbox):
    for i in range(3):
        seed(sandbox, f"T{i}")
    sandbox.configure(orders_rate_limit=1, orders_rate_window=1.0)  # their own bucket, one call a second
    started = time.monotonic()
    assert len(list(client.iter_stream(size=1))) == 3
    assert count(sandbox, "order_stream", 429) >= 1 and count(sandbox, "order_stream", 200) == 3
    assert time.monotonic() - started >= 1.5
    # Product endpoints keep the gateway's own limit: unaffected by the order bucket.
    assert client.category_tree()


def test_stream_calls_are_spaced_when_configured(sandbox):
    for i in range(3):
        seed(sandbox, f"S{i}")
    sandbox.configure(stream_min_interval=0.25)  # the sandbox answers 429 to closer calls
    spaced = make_client(sandbox.base_url, stream_interval=0.3)
    try:
        started = time.monotonic()
        assert len(list(spaced.iter_stream(size=1))) == 3
        assert time.monotonic() - started >= 0.6
    finally:
        spaced.close()
    assert count(sandbox, "order_stream", 429) == 0


def test_wrong_credentials_and_missing_user_agent_on_order_endpoints(sandbox, logs):
    bad = make_client(sandbox.base_url, api_secret="wrong-secret-value")
    try:
        with pytest.raises(AuthError) as err:
            list(bad.iter_stream())
    finally:
        bad.close()
    assert err.value.status == 401 and "Yetkilendirme" in err.value.message
    assert count(sandbox, "order_stream", 401) == 1
    text = "\n".join(logs) + str(err.value) + repr(err.value)
    for secret in ("wrong-secret-value", KEY, TOKEN):
        assert secret not in text
    no_ua = requests.get(
        f"{sandbox.base_url}/order/sellers/{SELLER}/orders/stream",
        headers={"Authorization": sandbox.headers()["Authorization"], "User-Agent": ""},
        timeout=5,
    )
    assert no_ua.status_code == 403 and set(no_ua.json()) == {"error", "message"}


def test_a_broken_stream_cursor_is_transient(client, sandbox, monkeypatch):
    for i in range(2):
        seed(sandbox, f"B{i}")
    real = client.stream_page

    def cursorless(**kw: Any) -> dict[str, Any]:
        body = real(**kw)
        return {**body, "nextCursor": None}

    monkeypatch.setattr(client, "stream_page", cursorless)
    with pytest.raises(TransientError):
        list(client.iter_stream(size=1))
    assert count(sandbox, "order_stream", 200) == 1


# --- stage-only test endpoints and the sandbox's control surface ---------------------------------


def test_test_order_endpoints_place_an_order_and_move_it(client, sandbox):
    batch = client.create_products(
        [
            {
                "barcode": "TST-1",
                "title": "Kervan test",
                "productMainId": "GRP-T",
                "brandId": 1791,
                "categoryId": 1001,
                "quantity": 10,
                "stockCode": "SKU-TST-1",
                "dimensionalWeight": 2,
                "description": "<p>x</p>",
                "listPrice": 250.0,
                "salePrice": 199.9,
                "vatRate": 20,
                "images": [{"url": "https://cdn.example.com/a.jpg"}],
                "attributes": [{"attributeId": 1192, "attributeValueIds": [10617]}],
            }
        ]
    )
    assert client.wait_batch(batch, timeout=10, interval=0.05).succeeded
    address = {
        "addressText": "Test Mah. 1",
        "city": "İstanbul",
        "district": "Şişli",
        "email": "a@b.c",
        "neighborhood": "Esentepe",
        "phone": "5550000000",
        "postalCode": "34394",
    }
    body = {
        "customer": {"customerFirstName": "Deniz", "customerLastName": "Kaya"},
        "invoiceAddress": {**address, "invoiceFirstName": "Deniz", "invoiceLastName": "Kaya"},
        "shippingAddress": {**address, "shippingFirstName": "Deniz", "shippingLastName": "Kaya"},
        "lines": [{"barcode": "TST-1", "quantity": 3}],
        "seller": {"sellerId": int(SELLER)},
    }
    r = requests.post(
        f"{sandbox.base_url}/test/order/orders/core", json=body, headers=sandbox.headers(), timeout=5
    )
    assert r.status_code == 200, r.text
    number = r.json()["orderNumber"]
    (pkg,) = client.packages_of_order(number)
    assert pkg["customerFirstName"] == "Deniz" and pkg["lines"][0]["stockCode"] == "SKU-TST-1"
    assert pkg["lines"][0]["lineUnitPrice"] == 199.9
    assert sandbox.product("TST-1")["quantity"] == 7  # Trendyol takes the stock on order

    move = requests.put(
        f"{sandbox.base_url}/test/order/sellers/{SELLER}/shipment-packages/{pkg['shipmentPackageId']}/status",
        json={"lines": [], "params": {}, "status": "Shipped"},
        headers=sandbox.headers(),
        timeout=5,
    )
    assert move.status_code == 200
    assert client.package(pkg["shipmentPackageId"])["status"] == "Shipped"
    unknown = requests.post(
        f"{sandbox.base_url}/test/order/orders/core",
        json={**body, "lines": [{"barcode": "NOPE", "quantity": 1}]},
        headers=sandbox.headers(),
        timeout=5,
    )
    assert unknown.status_code == 400 and "NOPE" in unknown.json()["message"]


def test_control_surface_lists_advances_and_resets_orders(sandbox):
    admin = sandbox.admin_url
    pkg = seed(sandbox, "ADM", customer={"firstName": "Ali", "lastName": "Veli"})
    assert pkg["customerFirstName"] == "Ali"
    listed = requests.get(f"{admin}/orders", params={"sellerId": SELLER}, timeout=5).json()
    assert [p["shipmentPackageId"] for p in listed] == [pkg["shipmentPackageId"]]
    bad = requests.post(
        f"{admin}/orders/{pkg['shipmentPackageId']}/status", json={"status": "Delivered"}, timeout=5
    )
    assert bad.status_code == 400 and "Shipped" in bad.json()["error"]
    assert advance(sandbox, pkg["shipmentPackageId"], "Cancelled")["lines"][0]["cancelledBy"] == "customer"
    assert requests.get(f"{admin}/orders/1", timeout=5).status_code == 404
    config = requests.post(f"{admin}/config", json={"stream_min_interval": "0.5"}, timeout=5).json()
    assert config["stream_min_interval"] == 0.5 and config["rate_limit"] == 50
    assert requests.get(f"{admin}/state", timeout=5).json()["orders"][0]["status"] == "Cancelled"
    requests.post(f"{admin}/reset", timeout=5).raise_for_status()
    assert requests.get(f"{admin}/orders", timeout=5).json() == []
