"""The N11 sandbox against the facts of marketplace-apis.md §3, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.n11 import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DEMO_CATEGORIES, N11Sandbox, reference

REPO = Path(__file__).resolve().parents[2]
LAPTOPS = DEMO_CATEGORIES[18]


class Client:
    """A minimal, well-behaved N11 client: appkey/appsecret headers, JSON bodies."""

    def __init__(self, sandbox: N11Sandbox, app_key: str | None = None) -> None:
        self.base = sandbox.base_url
        self.http = requests.Session()
        self.http.headers.update(sandbox.headers(app_key))

    def get(self, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return self.http.get(self.base + path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return self.http.post(self.base + path, json=body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return self.http.put(self.base + path, json=body, **kw)

    def task(self, kind: str, skus: list[dict], integrator: str | None = "Kervan") -> dict:
        payload: dict[str, Any] = {"skus": skus}
        if integrator is not None:
            payload["integrator"] = integrator
        r = self.post(f"/ms/product/tasks/{kind}", {"payload": payload})
        assert r.status_code == 200, r.text
        return r.json()

    def details(self, task_id: int, page: int = 0, size: int = 1000) -> dict:
        r = self.post(
            "/ms/product/task-details/page-query",
            {"taskId": task_id, "pageable": {"page": page, "size": size}},
        )
        assert r.status_code == 200, r.text
        return r.json()

    def outcome(self, task_id: int) -> dict[str, tuple[str, list[str]]]:
        return {s["itemCode"]: (s["status"], s["reasons"]) for s in self.details(task_id)["skus"]["content"]}


@pytest.fixture
def sandbox() -> Iterator[N11Sandbox]:
    sb = N11Sandbox(task_delay=0, seed=3).start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def client(sandbox) -> Client:
    return Client(sandbox)


def sku(code: str, **overrides: Any) -> dict[str, Any]:
    item = {
        "title": f"Kervan Test Ürünü {code}",
        "description": "<p>Açıklama</p>",
        "categoryId": LAPTOPS,
        "currencyType": "TL",
        "productMainId": "GRP-1",
        "preparingDay": 3,
        "shipmentTemplate": "Standart",
        "stockCode": code,
        "quantity": 10,
        "images": [{"url": "https://cdn.example.com/a.jpg", "order": 1}],
        "attributes": [{"id": 1, "valueId": None, "customValue": "Apple"}],
        "salePrice": 1600.5,
        "listPrice": 2000,
        "vatRate": 20,
    }
    item.update(overrides)
    return item


# --- auth ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"appkey": DEFAULT_APP_KEY},
        {"appkey": DEFAULT_APP_KEY, "appsecret": "wrong"},
        {"appkey": "x", "appsecret": DEFAULT_APP_SECRET},
    ],
)
def test_ms_paths_answer_401_json_seller_api_user_unauthorized(sandbox, headers):
    r = requests.post(
        sandbox.base_url + "/ms/product/tasks/price-stock-update", json={}, headers=headers, timeout=10
    )
    assert r.status_code == 401
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {
        "@type": "SellerApiUserUnauthorizedException",
        "message": "Apide doğrulama işlemi başarısız oldu.",
    }


@pytest.mark.parametrize("path", ["/rest/delivery/v1/shipmentPackages", "/cdn/categories"])
def test_rest_and_cdn_paths_answer_403_text_plain(sandbox, path):
    r = requests.get(sandbox.base_url + path, headers={"appkey": "nope", "appsecret": "nope"}, timeout=10)
    assert r.status_code == 403
    assert r.headers["Content-Type"].startswith("text/plain")
    assert r.text == "Authentication failed"


def test_header_names_are_case_insensitive_and_accounts_are_separate(sandbox, client):
    r = requests.get(
        sandbox.base_url + "/cdn/categories",
        headers={"AppKey": DEFAULT_APP_KEY, "APPSECRET": DEFAULT_APP_SECRET},
        timeout=10,
    )
    assert r.status_code == 200
    task = client.task("product-create", [sku("A-1")])
    other = Client(sandbox, "sandbox-appkey-2")
    r = other.post(
        "/ms/product/task-details/page-query", {"taskId": task["id"], "pageable": {"page": 0, "size": 10}}
    )
    assert r.status_code == 404
    assert other.get("/ms/product-query").json()["content"] == []


# --- product tasks ---------------------------------------------------------------------------------


def test_create_task_is_queued_then_processed_with_per_sku_results(sandbox, client):
    sandbox.configure(task_delay=30)
    answer = client.task("product-create", [sku("A-1"), sku("A-2", title="Kısa")])
    assert answer["type"] == "PRODUCT_CREATE" and answer["status"] == "IN_QUEUE"
    assert answer["reasons"] == ["2 sku işlenmeye alındı."] and isinstance(answer["id"], int)
    queued = client.details(answer["id"])
    assert queued["status"] == "IN_QUEUE" and queued["skus"]["content"] == []
    sandbox.advance_clock(31)
    done = client.details(answer["id"])
    assert done["taskId"] == answer["id"] and done["status"] == "PROCESSED"
    outcome = {s["itemCode"]: s for s in done["skus"]["content"]}
    assert outcome["A-1"]["status"] == "SUCCESS" and outcome["A-1"]["reasons"] == []
    assert outcome["A-1"]["sku"] == {"salePrice": 1600.5, "listPrice": 2000, "stock": 10}
    assert outcome["A-2"]["status"] == "FAIL"
    assert any("15 karakter" in r for r in outcome["A-2"]["reasons"])
    assert sandbox.product("A-1")["productStatus"] == "Active"
    assert sandbox.product("A-2") is None


def test_task_with_more_than_1000_skus_is_rejected_and_1000_accepted(sandbox, client):
    too_many = client.task("price-stock-update", [{"stockCode": f"S{i}", "quantity": 1} for i in range(1001)])
    assert too_many["status"] == "REJECT" and too_many["type"] == "SKU_UPDATE"
    assert any("1000" in r for r in too_many["reasons"])
    details = client.details(too_many["id"])
    assert details["status"] == "REJECT" and details["skus"]["content"] == []
    ok = client.task("price-stock-update", [{"stockCode": f"S{i}", "quantity": 1} for i in range(1000)])
    assert ok["status"] == "IN_QUEUE"
    assert client.details(ok["id"], size=1000)["skus"]["totalElements"] == 1000


def test_integrator_and_skus_are_required(client):
    answer = client.task("product-create", [sku("A-1")], integrator=None)
    assert answer["status"] == "REJECT" and any("integrator" in r for r in answer["reasons"])
    assert client.task("product-create", [])["status"] == "REJECT"
    r = client.post("/ms/product/tasks/product-create", {"nope": 1})
    assert r.status_code == 200 and r.json()["status"] == "REJECT"


def test_invalid_json_body_is_400(sandbox):
    r = requests.post(
        sandbox.base_url + "/ms/product/tasks/product-create",
        data=b"{not json",
        headers={**sandbox.headers(), "Content-Type": "application/json"},
        timeout=10,
    )
    assert r.status_code == 400 and "@type" in r.json()


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"categoryId": reference.CATEGORIES[1].id}, "leaf"),
        ({"categoryId": 999}, "leaf"),
        ({"attributes": []}, "Marka"),
        ({"attributes": [{"id": 1, "valueId": 999}]}, "geçersiz değer"),
        ({"attributes": [{"id": 1, "customValue": "X"}, {"id": 2, "customValue": "Mor"}]}, "özel değer"),
        ({"vatRate": 18}, "vatRate"),
        ({"listPrice": 100, "salePrice": 150}, "küçük olamaz"),
        ({"salePrice": 99.999}, "2 ondalık"),
        ({"currencyType": "GBP"}, "currencyType"),
        ({"quantity": 1_000_000}, "quantity"),
        ({"shipmentTemplate": "Yok Böyle"}, "şablon"),
        ({"images": []}, "görsel"),
        ({"stockCode": "X" * 256}, "255"),
        ({"preparingDay": None}, "preparingDay"),
    ],
)
def test_per_sku_validation_failures(client, overrides, fragment):
    code = overrides.get("stockCode", "V-1")
    task = client.task("product-create", [sku("V-1", **overrides)])
    status, reasons = client.outcome(task["id"])[code]
    assert status == "FAIL"
    assert any(fragment in r for r in reasons), reasons


def test_duplicate_stock_codes_fail(client):
    first = client.task("product-create", [sku("D-1"), sku("D-1")])
    outcome = client.details(first["id"])["skus"]["content"]
    assert [s["status"] for s in outcome] == ["SUCCESS", "FAIL"]
    again = client.task("product-create", [sku("D-1")])
    assert client.outcome(again["id"])["D-1"][0] == "FAIL"


def test_price_stock_update_applies_and_omitted_fields_are_kept(sandbox, client):
    client.task("product-create", [sku("P-1")])
    task = client.task(
        "price-stock-update", [{"stockCode": "P-1", "listPrice": 2000, "salePrice": 1600, "quantity": 2}]
    )
    assert task["type"] == "SKU_UPDATE"
    assert client.outcome(task["id"])["P-1"] == ("SUCCESS", [])
    p = sandbox.product("P-1")
    assert (p["listPrice"], p["salePrice"], p["quantity"]) == (2000, 1600, 2)
    client.task("price-stock-update", [{"stockCode": "P-1", "quantity": 7}])
    p = sandbox.product("P-1")
    assert (p["listPrice"], p["salePrice"], p["quantity"]) == (2000, 1600, 7)


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"stockCode": "P-1", "listPrice": 10}, "birlikte"),
        ({"stockCode": "P-1", "listPrice": 10.123, "salePrice": 9}, "2 ondalık"),
        ({"stockCode": "P-1", "listPrice": 5, "salePrice": 9}, "küçük olamaz"),
        ({"stockCode": "P-1", "quantity": -1}, "quantity"),
        ({"stockCode": "NOPE", "quantity": 1}, "bulunamadı"),
    ],
)
def test_price_stock_failures_per_sku(client, item, fragment):
    client.task("product-create", [sku("P-1")])
    task = client.task("price-stock-update", [item])
    status, reasons = client.outcome(task["id"])[item["stockCode"]]
    assert status == "FAIL" and any(fragment in r for r in reasons), reasons


def test_product_update_needs_vat_rate_and_can_suspend(sandbox, client):
    client.task("product-create", [sku("U-1")])
    task = client.task("product-update", [{"stockCode": "U-1", "status": "Suspended"}])
    assert client.outcome(task["id"])["U-1"][0] == "FAIL"
    task = client.task(
        "product-update", [{"stockCode": "U-1", "status": "Suspended", "vatRate": 10, "preparingDay": 5}]
    )
    assert client.outcome(task["id"])["U-1"] == ("SUCCESS", [])
    p = sandbox.product("U-1")
    assert (p["productStatus"], p["vatRate"], p["preparingDay"]) == ("Suspended", 10, 5)


def test_product_delete_task(sandbox, client):
    client.task("product-create", [sku("X-1")])
    task = client.task("product-delete", [{"stockCode": "X-1"}, {"stockCode": "X-2"}])
    assert client.outcome(task["id"]) == {
        "X-1": ("SUCCESS", []),
        "X-2": ("FAIL", ["X-2 stok kodlu ürün bulunamadı."]),
    }
    assert sandbox.product("X-1") is None


def test_manual_approval_keeps_products_in_catalog_approval(sandbox, client):
    sandbox.configure(auto_approve=False)
    client.task("product-create", [sku("M-1")])
    assert sandbox.product("M-1")["productStatus"] == "InCatalogApproval"


def test_task_details_paging_and_errors(client):
    task = client.task("price-stock-update", [{"stockCode": f"S{i}", "quantity": 1} for i in range(25)])
    pages = [client.details(task["id"], page=p, size=10)["skus"] for p in range(3)]
    assert [len(p["content"]) for p in pages] == [10, 10, 5]
    assert pages[0]["totalPages"] == 3 and pages[2]["last"] is True
    r = client.post(
        "/ms/product/task-details/page-query", {"taskId": task["id"], "pageable": {"page": 0, "size": 1001}}
    )
    assert r.status_code == 400
    r = client.post(
        "/ms/product/task-details/page-query", {"taskId": 424242, "pageable": {"page": 0, "size": 10}}
    )
    assert r.status_code == 404 and r.json()["@type"] == "TaskNotFoundException"


def test_product_query_pages_and_filters(client):
    client.task("product-create", [sku(f"Q-{i:02d}", productMainId="G" + str(i % 2)) for i in range(7)])
    r = client.get("/ms/product-query", params={"page": 0, "size": 3})
    body = r.json()
    assert body["totalElements"] == 7 and body["totalPages"] == 3 and len(body["content"]) == 3
    assert client.get("/ms/product-query", params={"page": 3, "size": 3}).json()["content"] == []
    one = client.get("/ms/product-query", params={"stockCode": "Q-03"}).json()["content"]
    assert [p["stockCode"] for p in one] == ["Q-03"] and one[0]["sender"] == "SELLER"
    assert len(client.get("/ms/product-query", params={"productMainId": "G0"}).json()["content"]) == 4
    assert client.get("/ms/product-query", params={"size": 251}).status_code == 400
    assert (
        client.get("/ms/product-query", params=[("stockCode", "Q-01"), ("stockCode", "Q-02")]).status_code
        == 400
    )


# --- reference data -------------------------------------------------------------------------------


def test_categories_tree_and_attributes(client):
    tree = client.get("/cdn/categories").json()
    assert isinstance(tree, list) and tree[0]["subCategories"]

    def leaves(nodes):
        for n in nodes:
            if n["subCategories"] is None:
                yield n["id"]
            else:
                yield from leaves(n["subCategories"])

    assert set(DEMO_CATEGORIES.values()) <= set(leaves(tree))
    assert set(DEMO_CATEGORIES) == {18, 45, 46, 20, 26, 27, 24, 28, 33, 34, 57}
    doc = client.get(f"/cdn/category/{LAPTOPS}/attribute").json()
    assert doc["id"] == LAPTOPS
    brand = next(a for a in doc["categoryAttributes"] if a["attributeId"] == 1)
    assert (
        brand["attributeName"] == "Marka" and brand["isMandatory"] is True and brand["isCustomValue"] is True
    )
    assert set(brand) == {
        "attributeId",
        "attributeName",
        "isMandatory",
        "isVariant",
        "isSlicer",
        "isCustomValue",
        "attributeValues",
    }
    assert client.get("/cdn/category/1/attribute").status_code == 404


# --- orders ---------------------------------------------------------------------------------------


def seed_orders(sandbox: N11Sandbox, n: int, status: str = "Created", at: int | None = None) -> list[dict]:
    return [
        sandbox.add_order(
            [{"stockCode": f"O-{i}", "quantity": 2, "price": 50}], status=status, created_at_ms=at
        )
        for i in range(n)
    ]


def test_shipment_packages_pages_of_at_most_100(sandbox, client):
    seed_orders(sandbox, 130)
    now = sandbox.clock.ms()
    params = {"startDate": now - 86_400_000, "endDate": now + 1000, "size": 100, "status": "Created"}
    first = client.get("/rest/delivery/v1/shipmentPackages", params={**params, "page": 0}).json()
    second = client.get("/rest/delivery/v1/shipmentPackages", params={**params, "page": 1}).json()
    assert (len(first["content"]), len(second["content"])) == (100, 30)
    assert first["totalPages"] == 2 and first["totalElements"] == 130
    ids = {p["id"] for p in first["content"]} | {p["id"] for p in second["content"]}
    assert len(ids) == 130
    line = first["content"][0]["lines"][0]
    assert line["sellerInvoiceAmount"] == 100.0 and line["orderItemLineItemStatusName"] == "Created"
    assert client.get("/rest/delivery/v1/shipmentPackages", params={**params, "size": 101}).status_code == 400


def test_shipment_packages_take_one_status_per_call(sandbox, client):
    seed_orders(sandbox, 2)
    seed_orders(sandbox, 3, status="Picking")
    r = client.get("/rest/delivery/v1/shipmentPackages", params={"status": "Created,Picking"})
    assert r.status_code == 400 and r.json()["code"] == 400
    r = client.get(
        "/rest/delivery/v1/shipmentPackages", params=[("status", "Created"), ("status", "Picking")]
    )
    assert r.status_code == 400
    assert client.get("/rest/delivery/v1/shipmentPackages", params={"status": "Bogus"}).status_code == 400
    picking = client.get("/rest/delivery/v1/shipmentPackages", params={"status": "Picking"}).json()
    assert picking["totalElements"] == 3


def test_windows_wider_than_15_days_are_silently_clipped(sandbox, client):
    now = sandbox.clock.ms()
    day = 86_400_000
    old = seed_orders(sandbox, 1, at=now - 20 * day)[0]
    recent = seed_orders(sandbox, 1, at=now - 2 * day)[0]
    body = client.get(
        "/rest/delivery/v1/shipmentPackages", params={"startDate": now - 30 * day, "endDate": now}
    ).json()
    assert [p["id"] for p in body["content"]] == [recent["id"]]
    body = client.get(
        "/rest/delivery/v1/shipmentPackages", params={"startDate": now - 21 * day, "endDate": now - 19 * day}
    ).json()
    assert [p["id"] for p in body["content"]] == [old["id"]]


def test_orders_rate_limit_answers_429(sandbox, client):
    sandbox.configure(orders_rate_limit=3, orders_rate_window=60)
    statuses = [client.get("/rest/delivery/v1/shipmentPackages").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    r = client.get("/rest/delivery/v1/shipmentPackages")
    assert r.status_code == 429 and r.json() == {"code": 429, "message": "Too many requests"}
    # Other endpoints are not limited by the orders budget.
    assert client.get("/cdn/categories").status_code == 200
    sandbox.advance_clock(61)
    assert client.get("/rest/delivery/v1/shipmentPackages").status_code == 200
    assert sandbox.request_log()["counts"]["shipment_packages"]["byStatus"]["429"] == 3


def test_picking_moves_lines_and_package(sandbox, client):
    pkg = sandbox.add_order([{"stockCode": "A", "quantity": 1}, {"stockCode": "B", "quantity": 1}])
    a, b = (line["orderLineId"] for line in pkg["lines"])
    r = client.put("/rest/order/v1/update", {"lines": [{"lineId": a}], "status": "Shipped"})
    assert r.status_code == 400
    r = client.put("/rest/order/v1/update", {"lines": [{"lineId": a}, {"lineId": 1}], "status": "Picking"})
    assert r.status_code == 200
    results = {x["lineId"]: x["status"] for x in r.json()["content"]}
    assert results == {a: "SUCCESS", 1: "FAIL"}
    assert sandbox.packages()[0]["shipmentPackageStatus"] == "Created"  # one line still Created
    client.put("/rest/order/v1/update", {"lines": [{"lineId": b}], "status": "Picking"})
    assert sandbox.packages()[0]["shipmentPackageStatus"] == "Picking"


def test_split_and_partial_cancel_change_package_ids(sandbox, client):
    pkg = sandbox.add_order([{"stockCode": "A", "quantity": 3}, {"stockCode": "B", "quantity": 1}])
    a, b = (line["orderLineId"] for line in pkg["lines"])
    r = client.post("/rest/delivery/v1/splitCombinePackage", {"splitGroups": [{"orderLineIds": [a]}]})
    assert r.status_code == 400  # Created packages cannot be split
    client.put("/rest/order/v1/update", {"lines": [{"lineId": a}, {"lineId": b}], "status": "Picking"})
    r = client.post("/rest/delivery/v1/splitCombinePackage", {"splitGroups": [{"orderLineIds": [a]}]})
    assert r.json() == {"code": 200, "message": "success"}
    packages = sandbox.packages()
    assert len(packages) == 2 and pkg["id"] not in {p["id"] for p in packages}
    r = client.post(
        "/rest/delivery/v1/splitPackageByQuantity",
        {"cancelledItems": [{"orderLineId": a, "quantity": 1, "cancelReasonId": 99}]},
    )
    assert r.status_code == 400
    r = client.post(
        "/rest/delivery/v1/splitPackageByQuantity",
        {"cancelledItems": [{"orderLineId": a, "quantity": 1, "cancelReasonId": 61}]},
    )
    assert r.status_code == 200 and r.json()["splitPackageOrderItems"][0]["quantity"] == 1
    by_status = {}
    for p in sandbox.packages():
        by_status.setdefault(p["shipmentPackageStatus"], []).append(p)
    assert len(by_status["UnSupplied"]) == 1 and by_status["UnSupplied"][0]["lines"][0]["quantity"] == 1
    remaining = next(x for p in by_status["Picking"] for x in p["lines"] if x["orderLineId"] == a)
    assert remaining["quantity"] == 2


def test_status_noise_spellings(sandbox, client):
    pkg = sandbox.add_order([{"stockCode": "A"}], status="Picking")
    sandbox.ship_package(pkg["id"], "TRK1")
    sandbox.add_order([{"stockCode": "B"}], status="Cancelled")
    sandbox.configure(status_noise=True)
    statuses = {
        p["shipmentPackageStatus"] for p in client.get("/rest/delivery/v1/shipmentPackages").json()["content"]
    }
    assert statuses == {" Shipped", "Canceled"}


# --- faults, control, lifecycle ------------------------------------------------------------------


def test_error_fail_next_throttle_and_timeout_faults(sandbox, client):
    sandbox.set_faults("categories", fail_next=2, error_status=503)
    assert [client.get("/cdn/categories").status_code for _ in range(3)] == [503, 503, 200]
    sandbox.set_faults("categories", throttle_rate=1.0)
    assert client.get("/cdn/categories").status_code == 429
    sandbox.clear_faults()
    sandbox.set_faults("write", error_rate=1.0)
    assert client.post("/ms/product/tasks/product-create", {"payload": {}}).status_code == 500
    assert sandbox.tasks() == []
    sandbox.clear_faults()
    sandbox.configure(hang_seconds=0.2)
    sandbox.set_faults("orders", timeout_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        client.get("/rest/delivery/v1/shipmentPackages", timeout=10)
    sandbox.set_faults("orders", timeout_rate=0.0, latency=0.05)
    assert client.get("/rest/delivery/v1/shipmentPackages").status_code == 200


def test_unknown_paths_and_methods(client):
    assert client.get("/ms/nothing").status_code == 404
    assert client.get("/ms/product/tasks/product-create").status_code == 405


def test_http_control_endpoints(sandbox, client):
    admin = sandbox.admin_url
    assert requests.get(admin + "/health", timeout=10).json()["ok"] is True
    pkg = requests.post(
        admin + "/orders", json={"lines": [{"stockCode": "H-1", "quantity": 2}]}, timeout=10
    ).json()
    assert pkg["shipmentPackageStatus"] == "Created"
    assert (
        requests.post(
            admin + "/faults", json={"endpoint": "categories", "fail_next": 1}, timeout=10
        ).status_code
        == 200
    )
    assert client.get("/cdn/categories").status_code == 500
    assert requests.post(admin + "/config", json={"task_delay": 60}, timeout=10).json()["task_delay"] == 60
    task = client.task("product-create", [sku("H-1")])
    assert requests.get(admin + "/tasks", timeout=10).json()[0]["status"] == "IN_QUEUE"
    assert requests.post(admin + "/flush", timeout=10).json() == {"processed": 1}
    assert client.details(task["id"])["status"] == "PROCESSED"
    state = requests.get(admin + "/state", timeout=10).json()
    assert state["products"][0]["stockCode"] == "H-1" and state["packages"][0]["id"] == pkg["id"]
    assert state["requestLog"]["counts"]["categories"]["byStatus"] == {"500": 1}
    assert requests.post(admin + "/clock", json={"advance": 10}, timeout=10).json()["now"] > 0
    requests.post(admin + "/reset", timeout=10)
    assert requests.get(admin + "/products", timeout=10).json() == []
    assert requests.get(admin + "/nope", timeout=10).status_code == 404


def test_python_module_entry_point_serves_until_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.n11", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = proc.stdout.readline()
        assert "N11 sandbox listening on http://127.0.0.1:" in line
        base = line.split("listening on ")[1].split()[0]
        r = requests.get(
            base + "/cdn/categories",
            headers={"appkey": DEFAULT_APP_KEY, "appsecret": DEFAULT_APP_SECRET},
            timeout=10,
        )
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_snapshots_are_copies_and_json_serializable(sandbox, client):
    client.task("product-create", [sku("C-1")])
    sandbox.products()[0]["quantity"] = 999
    assert sandbox.product("C-1")["quantity"] == 10
    json.dumps(sandbox.state(), default=float)
