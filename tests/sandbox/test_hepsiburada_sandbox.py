"""The Hepsiburada sandbox against its published contract, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.hepsiburada import DEFAULT_MERCHANT, DEMO_CATEGORIES, HepsiburadaSandbox
from sandbox.hepsiburada import reference as ref

REPO = Path(__file__).resolve().parents[2]
MID = DEFAULT_MERCHANT.merchant_id


class Client:
    """A minimal well-behaved HB client: Basic auth, the registered User-Agent."""

    def __init__(self, sb: HepsiburadaSandbox, headers: dict[str, str] | None = None) -> None:
        self.sb = sb
        self.http = requests.Session()
        self.http.headers.update(sb.headers() if headers is None else headers)

    def get(self, host: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return self.http.get(self.sb.base_urls[host] + path.replace("{m}", MID), **kw)

    def post(self, host: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        if body is not None:
            kw["json"] = body
        return self.http.post(self.sb.base_urls[host] + path.replace("{m}", MID), **kw)

    def import_(self, items: Any, raw: bytes | None = None) -> requests.Response:
        data = raw if raw is not None else json.dumps(items).encode()
        return self.post("catalog", "/api/products/import", files={"file": ("p.json", data, "application/json")})

    def status(self, tracking_id: str) -> dict:
        r = self.get("catalog", f"/api/products/status/{tracking_id}")
        assert r.status_code == 200, r.text
        return r.json()


def product(sku: str, **attrs: Any) -> dict[str, Any]:
    a = {"merchantSku": sku, "Barcode": "8690000000001", "UrunAdi": "Ürün", "UrunAciklamasi": "Açıklama",
         "Marka": "Apple", "GarantiSuresi": 24, "kg": "1", "tax_vat_rate": "20", "price": "100,00", "stock": "5",
         "Image1": "https://cdn.example.com/a.jpg"}
    category = attrs.pop("categoryId", ref.LAPTOPS)
    a.update(attrs)
    return {"categoryId": category, "merchant": MID, "attributes": a}


@pytest.fixture
def sandbox() -> Iterator[HepsiburadaSandbox]:
    sb = HepsiburadaSandbox(processing_delay=600, seed=3).start()  # jobs settle only on flush()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def client(sandbox) -> Client:
    return Client(sandbox)


def imported(client: Client, *items: dict) -> dict:
    r = client.import_(list(items))
    assert r.status_code == 200 and r.json()["success"], r.text
    tracking = r.json()["data"]["trackingId"]
    client.sb.flush()
    return client.status(tracking)


# --- auth ---------------------------------------------------------------------------------------------


def test_auth_failures_in_each_hosts_shape(sandbox):
    token = base64.b64encode(f"{DEFAULT_MERCHANT.username}:wrong".encode()).decode()
    bad = Client(sandbox, {"Authorization": f"Basic {token}", "User-Agent": DEFAULT_MERCHANT.user_agent})
    r = bad.get("listing", "/listings/merchantid/{m}?offset=0&limit=10")
    assert (r.status_code, r.text, r.headers["Content-Type"].split(";")[0]) == (401, "Missing Credentials!", "text/plain")
    r = bad.get("oms", "/orders/merchantid/{m}?offset=0&limit=10")
    assert r.status_code == 401 and r.content == b""
    r = bad.get("catalog", "/api/categories/get-all-categories")
    assert r.status_code == 401 and r.json()["error"] == "Unauthorized"
    none = Client(sandbox, {})
    assert none.get("listing", "/listings/merchantid/{m}?offset=0&limit=1").text == "Missing Credentials!"


@pytest.mark.parametrize("ua", [None, f"{MID} - SelfIntegration", "SelfIntegration", "KERVAN_DEV"])
def test_user_agent_must_be_the_registered_name(sandbox, ua):
    headers = sandbox.headers()
    if ua is None:
        headers.pop("User-Agent")
        headers["User-Agent"] = ""
    else:
        headers["User-Agent"] = ua
    r = Client(sandbox, headers).get("oms", "/orders/merchantid/{m}?offset=0&limit=1")
    assert r.status_code == 401


def test_other_merchants_path_and_capitalised_segment(client):
    r = client.get("oms", "/orders/merchantid/00000000-0000-4000-8000-000000000000?offset=0&limit=1")
    assert r.status_code == 401
    r = client.get("listing", "/listings/merchantId/{m}?offset=0&limit=1")
    assert r.status_code == 400 and "lower case" in r.text
    assert client.get("listing", "/nowhere").status_code == 404
    assert client.http.get(client.sb.base_url + "/elsewhere", timeout=10).status_code == 404


# --- catalog ----------------------------------------------------------------------------------------------


def test_categories_paged_and_filtered(client):
    r = client.get("catalog", "/api/categories/get-all-categories", params={"leaf": "true", "page": 0, "size": 3})
    body = r.json()
    assert body["success"] and body["totalElements"] == 8 and body["totalPages"] == 3 and not body["last"]
    assert {"categoryId", "name", "parentCategoryId", "paths", "leaf", "status"} <= set(body["data"][0])
    last = client.get("catalog", "/api/categories/get-all-categories", params={"page": 2, "size": 3}).json()
    assert last["last"] and last["numberOfElements"] == 2
    everything = client.get("catalog", "/api/categories/get-all-categories",
                            params={"leaf": "", "status": "", "available": ""}).json()
    assert everything["totalElements"] == len(ref.CATEGORIES)


def test_demo_categories_are_active_leaves():
    assert set(DEMO_CATEGORIES) == {18, 45, 46, 20, 26, 27, 24, 28, 33, 34, 57}
    for hb_id in {*DEMO_CATEGORIES.values(), ref.DEFAULT_CATEGORY}:
        c = ref.category(hb_id)
        assert c is not None and c.leaf and c.status == "ACTIVE" and c.available
    names = {ref.category(DEMO_CATEGORIES[i]).name for i in (18, 20, 24, 28, 33, 34, 57)}
    assert len(names) == 7


def test_import_is_async_with_statuses_and_per_item_validation(client, sandbox):
    r = client.import_([product("A-1"), product("A-2", price="100.00", renk_variant_property="Mor"),
                        product("A-3", categoryId=ref.COMPUTERS), product("A-1")])
    body = r.json()
    assert body["success"] and body["code"] == 0 and body["data"]["trackingId"]
    pending = client.status(body["data"]["trackingId"])
    assert [row["importStatus"] for row in pending["data"]] == ["PROCESSING"] * 4
    sandbox.flush()
    rows = client.status(body["data"]["trackingId"])["data"]
    assert [row["importStatus"] for row in rows] == ["SUCCESS", "FAILED", "FAILED", "FAILED"]
    assert rows[0]["hbSku"].startswith("HBV") and rows[0]["productStatus"] == "MATCHED"
    failed = {v["attributeName"] for v in rows[1]["validationResults"]}
    assert failed == {"price", "renk_variant_property"}
    assert rows[2]["validationResults"][0]["attributeName"] == "categoryId"
    assert "tekrarlanan" in rows[3]["importMessages"][0]["message"]
    assert rows[1]["importMessages"][0]["severity"] == "ERROR"


def test_import_envelope_failures_are_200_success_false(client, sandbox):
    no_file = client.post("catalog", "/api/products/import", {"items": []})
    assert no_file.status_code == 200 and no_file.json()["success"] is False and no_file.json()["code"] != 0
    not_json = client.import_(None, raw=b"{not json")
    assert not_json.json()["success"] is False
    not_array = client.import_({"a": 1})
    assert not_array.json()["success"] is False
    too_many = client.import_([product(f"T-{i}") for i in range(1001)])
    assert too_many.json()["success"] is False and "1000" in too_many.json()["message"]
    assert client.import_([product(f"T-{i}") for i in range(1000)]).json()["success"]
    unknown = client.status("00000000-0000-4000-8000-000000000000")
    assert unknown["success"] is False


def test_manual_approval_keeps_products_waiting(client, sandbox):
    sandbox.configure(auto_approve=False)
    rows = imported(client, product("W-1"))["data"]
    assert rows[0]["productStatus"] == "WAITING" and sandbox.listing("W-1") is None
    assert sandbox.approve(["W-1"]) == ["W-1"]
    assert sandbox.listing("W-1")["price"] == 100.0


# --- listing ------------------------------------------------------------------------------------------------


def test_uploads_are_async_and_list_only_failing_rows(client, sandbox):
    imported(client, product("L-1"), product("L-2"))
    r = client.post("listing", "/listings/merchantid/{m}/price-uploads",
                    [{"merchantSku": "L-1", "price": 120.5}, {"merchantSku": "L-2", "price": "abc"},
                     {"hepsiburadaSku": "HBV999", "price": 10}, {"merchantSku": "L-2", "price": 10000}])
    assert r.status_code == 200 and set(r.json()) == {"id"}
    upload_id = r.json()["id"]
    path = f"/listings/merchantid/{{m}}/price-uploads/id/{upload_id}"
    assert client.get("listing", path).json()["status"] == "InProgress"
    sandbox.flush()
    result = client.get("listing", path).json()
    assert result["status"] == "Done" and result["total"] == 4
    assert [e["elementNo"] for e in result["errors"]] == [1, 2]
    assert result["priceValidations"][0]["elementNo"] == 3 and result["priceValidations"][0]["maxPrice"] == 500.0
    assert sandbox.listing("L-1")["price"] == 120.5 and sandbox.listing("L-2")["isLocked"]
    assert client.get("listing", f"/listings/merchantid/{{m}}/stock-uploads/id/{upload_id}").status_code == 404


def test_stock_upload_and_listing_query(client, sandbox):
    imported(client, product("S-1"), product("S-2"))
    r = client.post("listing", "/listings/merchantid/{m}/stock-uploads",
                    [{"merchantSku": "S-1", "availableStock": 0}, {"merchantSku": "S-2", "availableStock": 1.5}])
    sandbox.flush()
    result = client.get("listing", f"/listings/merchantid/{{m}}/stock-uploads/id/{r.json()['id']}").json()
    assert [e["merchantSku"] for e in result["errors"]] == ["S-2"] and "priceValidations" not in result
    q = client.get("listing", "/listings/merchantid/{m}", params={"offset": 0, "limit": 1}).json()
    assert q["totalCount"] == 2 and len(q["listings"]) == 1 and q["limit"] == 1
    one = client.get("listing", "/listings/merchantid/{m}", params={"offset": 0, "limit": 10, "merchantSkuList": "S-1"})
    row = one.json()["listings"][0]
    assert (row["availableStock"], row["isSalable"]) == (0, False)
    assert client.get("listing", "/listings/merchantid/{m}").status_code == 400  # offset & limit required
    many = ",".join(f"X{i}" for i in range(51))
    assert client.get("listing", "/listings/merchantid/{m}",
                      params={"offset": 0, "limit": 10, "merchantSkuList": many}).status_code == 400


def test_upload_batch_size_and_body_shape(client):
    path = "/listings/merchantid/{m}/stock-uploads"
    r = client.post("listing", path, [{"merchantSku": f"X{i}", "availableStock": 1} for i in range(4001)])
    assert r.status_code == 400 and "4000" in r.text
    assert client.post("listing", path, [{"merchantSku": f"X{i}", "availableStock": 1} for i in range(4000)]).ok
    assert client.post("listing", path, {"merchantSku": "X"}).status_code == 400  # not a bare array
    assert client.post("listing", path, []).status_code == 400
    assert client.post("listing", path, data=b"x", headers={"Content-Type": "text/plain"}).status_code == 415


def test_sixth_concurrent_upload_is_refused_inside_a_200(client, sandbox):
    path = "/listings/merchantid/{m}/price-uploads"
    for i in range(5):
        assert client.post("listing", path, [{"merchantSku": f"C{i}", "price": 1}]).json()["id"]
    r = client.post("listing", path, [{"merchantSku": "C5", "price": 1}])
    assert r.status_code == 200 and r.json()["id"] is None and "too many ongoing" in r.json()["message"]
    sandbox.flush()
    assert client.post("listing", path, [{"merchantSku": "C5", "price": 1}]).json()["id"]


# --- orders ---------------------------------------------------------------------------------------------------


def test_orders_need_offset_and_limit_and_cap_at_100(client, sandbox):
    r = client.get("oms", "/orders/merchantid/{m}")
    assert r.status_code == 400 and r.json() == "Bad Request limit and offset parameters are required"
    for i in range(120):
        sandbox.add_order([{"merchantSku": f"O{i}", "quantity": 1}])
    page = client.get("oms", "/orders/merchantid/{m}", params={"offset": 0, "limit": 500}).json()
    assert page["limit"] == 100 and len(page["items"]) == 100 and page["totalCount"] == 120 and page["pageCount"] == 2
    rest = client.get("oms", "/orders/merchantid/{m}", params={"offset": 100, "limit": 100}).json()
    assert len(rest["items"]) == 20
    line = page["items"][0]
    assert {"id", "orderNumber", "merchantSKU", "sku", "quantity", "unitPrice", "status"} <= set(line)
    iso = client.get("oms", "/orders/merchantid/{m}",
                     params={"offset": 0, "limit": 10, "begindate": "2026-01-01T00:00:00Z"}).json()
    assert iso["items"] == [] and iso["totalCount"] == 0  # HB silently answers nothing for ISO dates


def test_packaging_moves_lines_and_packages_page_by_ten(client, sandbox):
    lines = [sandbox.add_order([{"merchantSku": f"P{i}", "quantity": 1}])["lines"][0] for i in range(12)]
    for line in lines:
        r = client.post("oms", "/packages/merchantid/{m}", {"lineItemRequests": [{"id": line["id"], "quantity": 1}],
                                                             "parcelQuantity": 1})
        assert r.status_code == 201 and set(r.json()) == {"packageNumber", "barcode"}
    again = client.post("oms", "/packages/merchantid/{m}", {"lineItemRequests": [{"id": lines[0]["id"], "quantity": 1}]})
    assert again.status_code == 400
    assert client.get("oms", "/orders/merchantid/{m}", params={"offset": 0, "limit": 10}).json()["totalCount"] == 0
    first = client.get("oms", "/packages/merchantid/{m}", params={"limit": 10, "Offset": 0})
    assert len(first.json()) == 10 and first.headers["pagecount"] == "2"
    assert len(client.get("oms", "/packages/merchantid/{m}", params={"limit": 10, "Offset": 10}).json()) == 2
    assert client.get("oms", "/packages/merchantid/{m}", params={"limit": 11}).status_code == 400


def test_intransit_and_cancel_rules(client, sandbox):
    a, b = sandbox.add_order([{"merchantSku": "A", "quantity": 1}, {"merchantSku": "B", "quantity": 2}])["lines"]
    number = client.post("oms", "/packages/merchantid/{m}",
                         {"lineItemRequests": [{"id": a["id"], "quantity": 1}]}).json()["packageNumber"]
    path = f"/packages/merchantid/{{m}}/packagenumber/{number}/intransit"
    assert client.post("oms", path, {"trackingUrl": "x"}).status_code == 400  # trackingNumber required
    assert client.post("oms", path, {"trackingNumber": "T1"}).status_code == 200
    assert client.post("oms", path, {"trackingNumber": "T1"}).status_code == 400  # no longer Packaged
    cancel = f"/lineitems/merchantid/{{m}}/id/{a['id']}/cancelbymerchant"
    assert client.post("oms", cancel, {"reasonId": 83}).status_code == 400
    cancel_b = f"/lineitems/merchantid/{{m}}/id/{b['id']}/cancelbymerchant"
    assert client.post("oms", cancel_b, {}).status_code == 400
    assert client.post("oms", cancel_b, {"reasonId": 83}).status_code == 200
    assert {x["id"]: x["status"] for x in sandbox.order_lines()} == {a["id"]: "InTransit", b["id"]: "Cancelled"}


def test_status_feeds_page_by_50_and_refuse_dates(client, sandbox):
    lines = [sandbox.add_order([{"merchantSku": f"C{i}", "quantity": 1}])["lines"][0] for i in range(55)]
    for line in lines:
        client.post("oms", f"/lineitems/merchantid/{{m}}/id/{line['id']}/cancelbymerchant", {"reasonId": 83})
    page = client.get("oms", "/orders/merchantid/{m}/cancelled", params={"offset": 0, "limit": 500}).json()
    assert page["limit"] == 50 and len(page["items"]) == 50 and page["totalCount"] == 55 and page["pageCount"] == 2
    row = page["items"][0]
    assert set(row) == {"lineItemId", "orderNumber", "merchantId", "merchantSku", "sku", "quantity", "cancelDate",
                        "cancelReasonCode", "cancelledBy"}
    assert row["cancelledBy"] == "Merchant" and row["cancelReasonCode"] == "83"
    default = client.get("oms", "/orders/merchantid/{m}/cancelled").json()
    assert default["limit"] == 50 and default["offset"] == 0
    for feed in ("/orders/merchantid/{m}/cancelled", "/packages/merchantid/{m}/shipped",
                 "/packages/merchantid/{m}/delivered", "/packages/merchantid/{m}/undelivered"):
        r = client.get("oms", feed, params={"offset": 0, "limit": 10, "begindate": "2026-11-01 00:00"})
        assert r.status_code == 400 and r.json() == "WrongDateFormat"


def test_shipped_delivered_undelivered_feeds_are_thin_and_pascal_case(client, sandbox):
    numbers = []
    for i in range(3):
        line = sandbox.add_order([{"merchantSku": f"S{i}", "quantity": 1}])["lines"][0]
        number = client.post("oms", "/packages/merchantid/{m}",
                             {"lineItemRequests": [{"id": line["id"], "quantity": 1}]}).json()["packageNumber"]
        client.post("oms", f"/packages/merchantid/{{m}}/packagenumber/{number}/intransit",
                    {"trackingNumber": f"T{i}", "shippedDate": "2026-11-02 10:30"})
        numbers.append(number)
    sandbox.deliver(numbers[1])
    sandbox.deliver(numbers[2], delivered=False, reason="Alıcı yok")
    shipped = client.get("oms", "/packages/merchantid/{m}/shipped").json()["items"]
    assert [r["PackageNumber"] for r in shipped] == [numbers[0]]
    assert set(shipped[0]) == {"Id", "MerchantId", "PackageNumber", "Barcode", "OrderNumber", "OrderNumbers", "EtgbNo",
                               "ShippedDate", "Deci"}
    assert shipped[0]["ShippedDate"] == "2026-11-02T07:30:00.000Z"
    delivered = client.get("oms", "/packages/merchantid/{m}/delivered").json()["items"]
    assert [r["PackageNumber"] for r in delivered] == [numbers[1]] and "DeliveredDate" in delivered[0]
    undelivered = client.get("oms", "/packages/merchantid/{m}/undelivered").json()["items"]
    assert undelivered[0]["UndeliveredReason"] == "Alıcı yok"
    r = requests.post(f"{sandbox.admin_url}/deliver", json={"packageNumber": numbers[0]}, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "Delivered"
    r = requests.post(f"{sandbox.admin_url}/deliver", json={"packageNumber": numbers[0]}, timeout=10)
    assert r.status_code == 400


def test_customer_cancellation_over_the_control_surface(client, sandbox):
    line = sandbox.add_order([{"merchantSku": "A", "quantity": 1}])["lines"][0]
    r = requests.post(f"{sandbox.admin_url}/cancel", json={"lineId": line["id"]}, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "Cancelled"
    rows = client.get("oms", "/orders/merchantid/{m}/cancelled").json()["items"]
    assert [(x["lineItemId"], x["cancelledBy"]) for x in rows] == [(line["id"], "Customer")]
    assert requests.post(f"{sandbox.admin_url}/cancel", json={"lineId": line["id"]}, timeout=10).status_code == 400


def test_package_date_window_is_cut_to_24_hours(client, sandbox):
    from datetime import UTC, datetime, timedelta

    numbers = []
    start = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    for hours in (1, 20, 30):
        line = sandbox.add_order([{"merchantSku": f"W{hours}", "quantity": 1}])["lines"][0]
        number = client.post("oms", "/packages/merchantid/{m}",
                             {"lineItemRequests": [{"id": line["id"], "quantity": 1}]}).json()["packageNumber"]
        sandbox.backdate_package(number, start + timedelta(hours=hours))
        numbers.append(number)
    params = {"limit": 10, "begindate": "2026-11-01 09:00", "enddate": "2026-11-04 09:00"}  # Istanbul = UTC+3
    got = client.get("oms", "/packages/merchantid/{m}", params=params).json()
    assert [p["packageNumber"] for p in got] == numbers[:2]  # the 30-hour one is past begin + 24 h
    only_end = client.get("oms", "/packages/merchantid/{m}", params={"limit": 10, "enddate": "2026-11-02 18:00"})
    assert [p["packageNumber"] for p in only_end.json()] == numbers[1:]
    iso = client.get("oms", "/packages/merchantid/{m}", params={"limit": 10, "begindate": "2026-11-01T00:00:00Z"})
    assert iso.json() == []


# --- limits and faults -----------------------------------------------------------------------------------------


def test_catalog_throttles_with_403_and_blocks_sustained_excess(client, sandbox):
    sandbox.configure(catalog_rate_limit=2, catalog_rate_window=60, ip_block_after=0.0001)
    path = "/api/categories/get-all-categories"
    assert [client.get("catalog", path).status_code for _ in range(3)] == [200, 200, 403]
    assert client.get("catalog", path).status_code == 403
    sandbox.configure(catalog_rate_limit=1000)
    assert client.get("catalog", path).status_code == 403  # blocked until support unblocks
    assert sandbox.state()["blocked"]
    sandbox.unblock()
    assert client.get("catalog", path).status_code == 200


def test_oms_throttles_with_429_and_rate_headers(client, sandbox):
    sandbox.configure(oms_rate_limit=1, oms_rate_window=30)
    params = {"offset": 0, "limit": 1}
    assert client.get("oms", "/orders/merchantid/{m}", params=params).status_code == 200
    r = client.get("oms", "/orders/merchantid/{m}", params=params)
    assert r.status_code == 429 and r.json() == "TooManyRequest"
    assert r.headers["X-RateLimit-Limit"] == "1" and r.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(r.headers["X-RateLimit-Reset"]) <= 30
    assert client.get("listing", "/listings/merchantid/{m}", params=params).status_code == 200  # per host


def test_faults(client, sandbox):
    sandbox.set_faults("orders", fail_next=1, error_status=502)
    params = {"offset": 0, "limit": 1}
    assert client.get("oms", "/orders/merchantid/{m}", params=params).status_code == 502
    assert client.get("oms", "/orders/merchantid/{m}", params=params).status_code == 200
    sandbox.set_faults("listing", throttle_rate=1)
    assert client.get("listing", "/listings/merchantid/{m}", params=params).status_code == 429
    sandbox.clear_faults("listing")
    sandbox.set_faults("*", latency=0.01)
    assert client.get("listing", "/listings/merchantid/{m}", params=params).status_code == 200
    sandbox.configure(hang_seconds=5)
    sandbox.set_faults("categories", timeout_rate=1)
    with pytest.raises(requests.exceptions.RequestException):
        client.get("catalog", "/api/categories/get-all-categories", timeout=0.3)
    with pytest.raises(ValueError):
        sandbox.set_faults("*", error_rate=2)
    with pytest.raises(ValueError):
        sandbox.set_faults("*", bogus=1)


def test_control_surface_over_http(client, sandbox):
    admin = sandbox.admin_url
    assert requests.get(f"{admin}/health", timeout=10).json()["baseUrls"] == sandbox.base_urls
    assert requests.post(f"{admin}/config", json={"processing_delay": 0}, timeout=10).json()["processing_delay"] == 0
    order = requests.post(f"{admin}/orders", json={"lines": [{"merchantSku": "H", "quantity": 1}]}, timeout=10).json()
    assert order["lines"][0]["merchantSKU"] == "H"
    imported(client, product("H"))
    state = requests.get(f"{admin}/state", timeout=10).json()
    assert state["listings"][0]["merchantSku"] == "H" and len(state["orders"]) == 1
    assert state["requestLog"]["counts"]["import"]["byStatus"] == {"200": 1}
    assert requests.post(f"{admin}/faults", json={"endpoint": "oms", "error_rate": 1}, timeout=10).ok
    assert requests.get(f"{admin}/faults", timeout=10).json()["oms"]["error_rate"] == 1
    assert requests.post(f"{admin}/reset", timeout=10).json() == {"reset": True}
    after = requests.get(f"{admin}/state", timeout=10).json()
    assert after["listings"] == [] and after["faults"] == {} and after["requestLog"]["counts"] == {}
    assert requests.get(f"{admin}/nope", timeout=10).status_code == 404


def test_module_runs_as_a_process():
    proc = subprocess.Popen([sys.executable, "-m", "sandbox.hepsiburada", "--port", "0"], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split("listening on ")[1].split()[0]
        r = requests.get(f"{url}/__sandbox/health", timeout=10)
        assert r.json()["ok"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
