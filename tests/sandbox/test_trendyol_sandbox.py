"""The Trendyol sandbox against its published contract, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.trendyol import TrendyolSandbox

SELLER = "1001"
DUPLICATE_MESSAGE = "15 dakika boyunca aynı isteği tekrarlı olarak atamazsınız!"
REPO = Path(__file__).resolve().parents[2]


class Client:
    """A minimal, well-behaved Trendyol client: Basic auth, mandatory User-Agent, JSON bodies."""

    def __init__(self, sandbox: TrendyolSandbox, seller_id: str = SELLER) -> None:
        self.sandbox = sandbox
        self.base = sandbox.base_url
        self.seller_id = seller_id
        self.http = requests.Session()
        self.http.headers.update(sandbox.headers(seller_id))

    def url(self, path: str) -> str:
        return self.base + path.replace("{sellerId}", self.seller_id)

    def get(self, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return self.http.get(self.url(path), **kw)

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 10)
        return self.http.post(self.url(path), json=body, **kw)

    def create(self, *items: dict) -> str:
        r = self.post("/product/sellers/{sellerId}/v2/products", {"items": list(items)})
        assert r.status_code == 200, r.text
        return r.json()["batchRequestId"]

    def price(self, *items: dict) -> requests.Response:
        return self.post("/inventory/sellers/{sellerId}/products/price-and-inventory", {"items": list(items)})

    def batch(self, batch_id: str) -> dict:
        r = self.get(f"/product/sellers/{{sellerId}}/products/batch-requests/{batch_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait(self, batch_id: str, timeout: float = 5.0) -> dict:
        """Poll like a client: until COMPLETED, or (stock/price batches, which carry no top-level
        status) until every item has its own status."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.batch(batch_id)
            if body.get("status") == "COMPLETED":
                return body
            if "status" not in body and body["items"] and len(body["items"]) == body["itemCount"]:
                return body
            assert time.monotonic() < deadline, f"batch {batch_id} never finished: {body}"
            time.sleep(0.02)


def product_item(barcode: str, **overrides: Any) -> dict:
    item = {
        "barcode": barcode,
        "title": "Apple MacBook Air 13",
        "productMainId": "MBA-13",
        "brandId": 1791,
        "categoryId": 1001,
        "quantity": 10,
        "stockCode": f"SKU-{barcode}",
        "dimensionalWeight": 3,
        "description": "<p>Hafif ve güçlü.</p>",
        "listPrice": 1200.0,
        "salePrice": 999.9,
        "vatRate": 20,
        "images": [{"url": "https://cdn.example.com/mba.jpg"}],
        "attributes": [
            {"attributeId": 1192, "attributeValueIds": [10618]},
            {"attributeId": 47, "attributeValue": "Gümüş"},
        ],
    }
    item.update(overrides)
    return item


@pytest.fixture
def sandbox() -> Iterator[TrendyolSandbox]:
    sb = TrendyolSandbox(port=0, batch_delay=0.05, seed=7).start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def client(sandbox: TrendyolSandbox) -> Client:
    return Client(sandbox)


def created(client: Client, *items: dict) -> dict:
    body = client.wait(client.create(*items))
    assert body["failedItemCount"] == 0, body
    return body


# --- gateway: auth, User-Agent, envelope, rate limit ------------------------------------------------


def test_wrong_credentials_get_401_with_client_api_authentication_exception(sandbox, client):
    bad = base64.b64encode(b"sandbox-key:wrong").decode()
    r = requests.get(
        client.url("/product/sellers/{sellerId}/products/approved"),
        headers={"Authorization": f"Basic {bad}", "User-Agent": "1001 - SelfIntegration"},
        timeout=5,
    )
    assert r.status_code == 401
    body = r.json()
    assert body["exception"] == "ClientApiAuthenticationException"
    assert body["errors"][0]["key"] and body["errors"][0]["message"]

    # Valid credentials, but the sellerId in the path is not theirs.
    r = client.get("/product/sellers/9999/products/approved")
    assert r.status_code == 401
    assert r.json()["exception"] == "ClientApiAuthenticationException"

    # No Authorization header at all.
    r = requests.get(
        client.url("/product/brands"), headers={"User-Agent": "1001 - SelfIntegration"}, timeout=5
    )
    assert r.status_code == 401


@pytest.mark.parametrize(
    "user_agent",
    [
        None,
        "python-requests/2.32",
        "1001-SelfIntegration",
        "1001 - Self Integration",
        "1001 - " + "A" * 31,
        "2002 - Kervan",
    ],
)
def test_missing_or_malformed_user_agent_gets_403(client, user_agent):
    headers = dict(client.http.headers)
    if user_agent is None:
        headers.pop("User-Agent")
        # requests adds its own User-Agent unless told not to; urllib3's SKIP sentinel removes it.
        from urllib3.util import SKIP_HEADER

        headers["User-Agent"] = SKIP_HEADER
    else:
        headers["User-Agent"] = user_agent
    r = requests.get(client.url("/product/product-categories"), headers=headers, timeout=5)
    assert r.status_code == 403, r.text


def test_user_agent_with_integrator_name_is_accepted(client):
    r = client.get("/product/brands", headers={"User-Agent": "1001 - KervanBridge2"})
    assert r.status_code == 200


def test_more_than_1000_items_is_a_400_with_the_error_envelope(client, sandbox):
    items = [product_item(f"BULK{i}") for i in range(1001)]
    r = client.post("/product/sellers/{sellerId}/v2/products", {"items": items})
    assert r.status_code == 400
    body = r.json()
    assert body["exception"] == "ClientApiBusinessException"
    assert "1000" in body["errors"][0]["message"]
    assert set(body["errors"][0]) == {"key", "message", "errorCode"}
    assert sandbox.batches() == []  # nothing was queued
    r = client.price(*[{"barcode": f"B{i}", "quantity": 1} for i in range(1001)])
    assert r.status_code == 400


def test_exactly_1000_items_are_accepted(client):
    items = [product_item(f"OK{i}", productMainId=f"M{i}") for i in range(1000)]
    body = client.wait(client.create(*items), timeout=20)
    assert body["itemCount"] == 1000 and body["failedItemCount"] == 0


def test_non_json_and_malformed_bodies_are_400(client):
    url = client.url("/product/sellers/{sellerId}/v2/products")
    r = client.http.post(
        url, data="items=1", headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5
    )
    assert r.status_code == 400
    r = client.http.post(url, data="{not json", headers={"Content-Type": "application/json"}, timeout=5)
    assert r.status_code == 400 and r.json()["errors"][0]["key"] == "invalid.request.body"
    r = client.post("/product/sellers/{sellerId}/v2/products", {"items": {"barcode": "x"}})
    assert r.status_code == 400
    r = client.post("/product/sellers/{sellerId}/v2/products", {"items": []})
    assert r.status_code == 400


def test_51st_request_in_the_window_gets_429_too_many_requests(sandbox, client):
    sandbox.configure(rate_limit=50, rate_window=30.0)
    for i in range(50):
        r = client.get("/product/brands")
        assert r.status_code == 200, f"request {i + 1} was refused"
    r = client.get("/product/brands")
    assert r.status_code == 429
    assert r.json()["errors"][0]["key"] == "too.many.requests"
    # The limit is per endpoint: another endpoint of the same seller is unaffected.
    assert client.get("/product/product-categories").status_code == 200
    # Once the window has slid past, the endpoint admits requests again.
    sandbox.advance_clock(31)
    assert client.get("/product/brands").status_code == 200
    counts = sandbox.request_log()["counts"]["brands"]["byStatus"]
    assert counts == {"200": 51, "429": 1}


def test_rate_limit_is_per_seller(sandbox):
    sb = TrendyolSandbox(
        port=0, rate_limit=3, rate_window=60, sellers=[("1001", "k1", "s1"), ("2002", "k2", "s2")]
    ).start()
    try:
        one, two = Client(sb, "1001"), Client(sb, "2002")
        assert [one.get("/product/brands").status_code for _ in range(4)] == [200, 200, 200, 429]
        assert two.get("/product/brands").status_code == 200
    finally:
        sb.stop()


# --- product create: asynchronous, per-item validation ----------------------------------------------


def test_create_goes_in_progress_then_completed_with_per_item_reasons(sandbox, client):
    sandbox.configure(batch_delay=1.0)  # long enough to observe IN_PROGRESS even on a loaded machine
    items = [
        product_item("GOOD1"),
        product_item("NONLEAF", categoryId=1000),
        product_item("NOORIGIN", attributes=[{"attributeId": 47, "attributeValue": "Siyah"}]),
        product_item("CHEAPLIST", listPrice=50.0, salePrice=60.0),
        product_item("TOOMANY", quantity=20001),
        product_item("NOBRAND", brandId=424242),
        product_item("BADVAT", vatRate=18),
        product_item("HTTPIMG", images=[{"url": "http://cdn.example.com/a.jpg"}]),
        product_item("LONGTITLE", title="x" * 101),
    ]
    batch_id = client.create(*items)
    first = client.batch(batch_id)
    assert first["status"] == "IN_PROGRESS"
    assert first["batchRequestType"] == "ProductV2OnBoarding"
    assert first["itemCount"] == len(items)
    body = client.wait(batch_id)
    assert body["status"] == "COMPLETED"
    assert body["lastModification"] >= body["creationDate"]
    by_barcode = {i["requestItem"]["barcode"]: i for i in body["items"]}
    assert by_barcode["GOOD1"]["status"] == "SUCCESS" and by_barcode["GOOD1"]["failureReasons"] == []
    expected = {
        "NONLEAF": "en alt seviye kategori değildir",
        "NOORIGIN": "Zorunlu kategori özelliği eksik: Menşei",
        "CHEAPLIST": "Liste fiyatı (listPrice) satış fiyatından (salePrice) küçük olamaz.",
        "TOOMANY": "en fazla 20000 adet stok",
        "NOBRAND": "Marka bulunamadı. brandId: 424242",
        "BADVAT": "KDV oranı (vatRate) geçersiz",
        "HTTPIMG": "https ile başlayan",
        "LONGTITLE": "en fazla 100 karakter",
    }
    for barcode, fragment in expected.items():
        item = by_barcode[barcode]
        assert item["status"] == "FAILED", barcode
        assert any(fragment in reason for reason in item["failureReasons"]), (barcode, item["failureReasons"])
    assert body["failedItemCount"] == len(expected)
    # The echo nests the product under requestItem.product, as the guide shows.
    assert by_barcode["GOOD1"]["requestItem"]["product"]["title"] == "Apple MacBook Air 13"

    stored = {p["barcode"]: p for p in sandbox.products()}
    assert set(stored) == {"GOOD1"}
    good = stored["GOOD1"]
    assert good["approved"] is True and isinstance(good["contentId"], int)
    assert good["quantity"] == 10 and good["salePrice"] == 999.9 and good["listPrice"] == 1200.0


def test_invalid_attribute_values_and_custom_values_fail(client):
    body = client.wait(
        client.create(
            product_item("BADVALUE", attributes=[{"attributeId": 1192, "attributeValueIds": [99999]}]),
            product_item("CUSTOMORIGIN", attributes=[{"attributeId": 1192, "attributeValue": "Türkiye"}]),
            product_item(
                "UNKNOWNATTR",
                attributes=[
                    {"attributeId": 1192, "attributeValueIds": [10617]},
                    {"attributeId": 5, "attributeValue": "x"},
                ],
            ),
            product_item(
                "SIZED",
                attributes=[
                    {"attributeId": 1192, "attributeValueIds": [10617]},
                    {"attributeId": 338, "attributeValueIds": [6822]},
                ],
            ),
        )
    )
    reasons = {i["requestItem"]["barcode"]: i["failureReasons"] for i in body["items"]}
    assert any("attributeValueId: 99999" in r for r in reasons["BADVALUE"])
    assert any("serbest değer girilemez" in r for r in reasons["CUSTOMORIGIN"])
    assert any("Kategoriye ait olmayan özellik" in r for r in reasons["UNKNOWNATTR"])
    assert reasons["SIZED"] == []


def test_guide_attribute_form_is_accepted_and_barcode_spaces_are_joined(sandbox, client):
    item = product_item(
        "GUIDE 01",
        attributes=[
            {"attributeId": 1192, "attributeValueId": 10620},
            {"attributeId": 47, "customAttributeValue": "Mavi"},
            {"attributeId": 338, "attributeValueId": 6824},
        ],
    )
    body = created(client, item)
    assert body["items"][0]["requestItem"]["barcode"] == "GUIDE01"
    assert sandbox.product("GUIDE 01") is None
    stored = sandbox.product("GUIDE01")
    assert stored is not None
    assert {a["attributeId"]: (a["valueIds"], a["customValue"]) for a in stored["attributes"]} == {
        1192: ([10620], None),
        47: ([], "Mavi"),
        338: ([6824], None),
    }
    # Stock updates must use the joined barcode; the original one is "not found".
    by_original = client.wait(client.price({"barcode": "GUIDE 01", "quantity": 3}).json()["batchRequestId"])
    assert by_original["items"][0]["status"] == "FAILED"
    assert "Ürün bulunamadı" in by_original["items"][0]["failureReasons"][0]
    by_joined = client.wait(client.price({"barcode": "GUIDE01", "quantity": 3}).json()["batchRequestId"])
    assert by_joined["items"][0]["status"] == "SUCCESS"
    assert sandbox.product("GUIDE01")["quantity"] == 3


def test_duplicate_barcode_create_never_stores_a_second_product(sandbox, client):
    created(client, product_item("DUP1"))
    again = client.wait(
        client.create(product_item("DUP1", title="Another title"), product_item("DUP2"), product_item("DUP2"))
    )
    results = [(i["requestItem"]["barcode"], i["status"]) for i in again["items"]]
    assert results == [("DUP1", "FAILED"), ("DUP2", "SUCCESS"), ("DUP2", "FAILED")]
    assert "daha önce ürün oluşturulmuştur" in again["items"][0]["failureReasons"][0]
    assert "birden fazla kez" in again["items"][2]["failureReasons"][0]

    barcodes = [p["barcode"] for p in sandbox.products()]
    assert sorted(barcodes) == ["DUP1", "DUP2"]
    assert sandbox.product("DUP1")["title"] == "Apple MacBook Air 13"  # the first write stands
    log = sandbox.request_log()
    carried = [w for w in log["writes"] if w["endpoint"] == "create" and "DUP1" in w["barcodes"]]
    assert len(carried) == 2  # the client sent it twice ...
    applied = [e for e in log["effects"] if e["kind"] == "create" and e["barcode"] == "DUP1"]
    assert len(applied) == 1  # ... and it was created once


def test_variants_share_a_content_id_unless_a_slicer_value_differs(sandbox, client):
    def variant(barcode: str, size: int, colour: str) -> dict:
        return product_item(
            barcode,
            productMainId="TEE",
            attributes=[
                {"attributeId": 1192, "attributeValueIds": [10617]},
                {"attributeId": 47, "attributeValue": colour},
                {"attributeId": 338, "attributeValueIds": [size]},
            ],
        )

    created(
        client,
        variant("TEE-S", 6821, "Kırmızı"),
        variant("TEE-M", 6822, "Kırmızı"),
        variant("TEE-BLUE", 6821, "Mavi"),
    )
    s, m, blue = (sandbox.product(b)["contentId"] for b in ("TEE-S", "TEE-M", "TEE-BLUE"))
    assert s == m
    assert blue != s


# --- stock and price -----------------------------------------------------------------------------------


def test_price_and_inventory_updates_stock_and_price(sandbox, client):
    created(client, product_item("PI1"), product_item("PI2", productMainId="OTHER"))
    r = client.price(
        {"barcode": "PI1", "quantity": 42, "salePrice": 899.5, "listPrice": 1100.0},
        {"barcode": "PI2", "quantity": 0},
    )
    assert r.status_code == 200
    batch_id = r.json()["batchRequestId"]
    body = client.wait(batch_id)
    assert "status" not in body  # stock/price batches carry only per-item statuses
    assert body["batchRequestType"] == "ProductInventoryUpdate"
    assert [i["status"] for i in body["items"]] == ["SUCCESS", "SUCCESS"]
    assert body["items"][0]["requestItem"]["quantity"] == 42
    assert "updateRequestDate" in body["items"][0]["requestItem"]
    p1, p2 = sandbox.product("PI1"), sandbox.product("PI2")
    assert (p1["quantity"], p1["salePrice"], p1["listPrice"]) == (42, 899.5, 1100.0)
    assert p2["quantity"] == 0 and p2["salePrice"] == 999.9
    assert p1["stockModifiedAt"] is not None

    bad = client.wait(
        client.price(
            {"barcode": "PI1", "quantity": 20001},
            {"barcode": "PI2", "salePrice": 5000.0},
            {"barcode": "NOPE", "quantity": 1},
        ).json()["batchRequestId"]
    )
    reasons = [i["failureReasons"] for i in bad["items"]]
    assert all(i["status"] == "FAILED" for i in bad["items"])
    assert "20000" in reasons[0][0]
    assert "Liste fiyatı" in reasons[1][0]
    assert "Ürün bulunamadı" in reasons[2][0]
    assert bad["failedItemCount"] == 3
    assert sandbox.product("PI1")["quantity"] == 42


def test_identical_price_body_within_15_minutes_is_rejected(sandbox, client):
    created(client, product_item("SAME1"))
    body = {"barcode": "SAME1", "quantity": 5}
    first = client.price(body)
    assert first.status_code == 200
    again = client.price(dict(body))
    assert again.status_code == 400
    err = again.json()
    assert err["errors"][0]["message"] == DUPLICATE_MESSAGE
    assert err["exception"] == "ClientApiBusinessException"
    # Key order does not make a body different; a changed value does.
    reordered = client.http.post(
        client.url("/inventory/sellers/{sellerId}/products/price-and-inventory"),
        data=json.dumps({"items": [{"quantity": 5, "barcode": "SAME1"}]}, indent=2),
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert reordered.status_code == 400
    assert client.price({"barcode": "SAME1", "quantity": 6}).status_code == 200
    sandbox.advance_clock(14 * 60)
    assert client.price(body).status_code == 400
    sandbox.advance_clock(61)
    assert client.price(body).status_code == 200
    accepted = [w for w in sandbox.request_log()["writes"] if w["endpoint"] == "price_inventory"]
    assert len(accepted) == 3


def test_stock_of_unapproved_products_cannot_be_updated(sandbox, client):
    sandbox.configure(auto_approve=False)
    created(client, product_item("PEND1"))
    assert sandbox.product("PEND1")["approved"] is False
    body = client.wait(client.price({"barcode": "PEND1", "quantity": 1}).json()["batchRequestId"])
    assert body["items"][0]["status"] == "FAILED"
    assert "Onaylanmamış" in body["items"][0]["failureReasons"][0]
    assert sandbox.product("PEND1")["quantity"] == 10


def test_more_than_30_price_changes_a_minute_fail_for_that_barcode(sandbox, client):
    sandbox.configure(rate_limit=1000)  # this test polls far more than 50 times in 10 s
    created(client, product_item("HOT1"))
    statuses = []
    for i in range(31):
        body = client.wait(client.price({"barcode": "HOT1", "salePrice": 100.0 + i}).json()["batchRequestId"])
        statuses.append(body["items"][0]["status"])
    assert statuses[:30] == ["SUCCESS"] * 30 and statuses[30] == "FAILED"
    assert sandbox.product("HOT1")["salePrice"] == 129.0


# --- updates -----------------------------------------------------------------------------------------------


def test_content_update_by_content_id(sandbox, client):
    created(client, product_item("CT1"), product_item("CT2", attributes=product_item("x")["attributes"]))
    content_id = sandbox.product("CT1")["contentId"]
    assert sandbox.product("CT2")["contentId"] == content_id
    r = client.post(
        "/product/sellers/{sellerId}/products/content-bulk-update",
        {"items": [{"contentId": content_id, "title": "MacBook Air M3", "description": "<p>Yeni</p>"}]},
    )
    assert r.status_code == 200
    body = client.wait(r.json()["batchRequestId"])
    assert body["batchRequestType"] == "ApprovedProductContentUpdate"
    assert body["items"][0]["status"] == "SUCCESS"
    assert body["items"][0]["requestItem"]["updateRequest"]["contentId"] == content_id
    assert {sandbox.product(b)["title"] for b in ("CT1", "CT2")} == {"MacBook Air M3"}
    listed = client.get(
        "/product/sellers/{sellerId}/products/approved", params={"contentId": content_id}
    ).json()
    assert listed["content"][0]["title"] == "MacBook Air M3"
    assert len(listed["content"][0]["variants"]) == 2

    r = client.post(
        "/product/sellers/{sellerId}/products/content-bulk-update",
        {
            "items": [
                {
                    "contentId": content_id,
                    "attributes": [
                        {"attributeId": 1192, "attributeValueIds": [10617]},
                        {"attributeId": 47, "attributeValue": "Mor"},
                    ],
                },
                {"contentId": content_id + 999, "title": "Nope"},
            ]
        },
    )
    body = client.wait(r.json()["batchRequestId"])
    reasons = [i["failureReasons"] for i in body["items"]]
    assert any("slicer/varianter" in x for x in reasons[0])
    assert any("İçerik bulunamadı" in x or "içeriği bulunamadı" in x for x in reasons[1])
    immutable = client.wait(
        client.post(
            "/product/sellers/{sellerId}/products/content-bulk-update",
            {
                "items": [
                    {"contentId": content_id, "categoryId": 1002},
                    {"contentId": content_id, "title": "Twice"},
                ]
            },
        ).json()["batchRequestId"]
    )
    assert any("categoryId alanı güncellenemez" in x for x in immutable["items"][0]["failureReasons"])
    assert any("birden fazla kez" in x for x in immutable["items"][1]["failureReasons"])
    assert sandbox.product("CT1")["categoryId"] == 1001
    colour = [a for a in sandbox.product("CT1")["attributes"] if a["attributeId"] == 47][0]
    assert colour["customValue"] == "Gümüş"


def test_content_update_with_attributes_must_resend_all_of_them(sandbox, client):
    created(client, product_item("ATTR1"))
    content_id = sandbox.product("ATTR1")["contentId"]
    body = client.wait(
        client.post(
            "/product/sellers/{sellerId}/products/content-bulk-update",
            {
                "items": [
                    {
                        "contentId": content_id,
                        "attributes": [{"attributeId": 1192, "attributeValueIds": [10619]}],
                    }
                ]
            },
        ).json()["batchRequestId"]
    )
    assert body["items"][0]["status"] == "FAILED"
    assert any("tüm özellikler gönderilmelidir" in x for x in body["items"][0]["failureReasons"])
    body = client.wait(
        client.post(
            "/product/sellers/{sellerId}/products/content-bulk-update",
            {
                "items": [
                    {
                        "contentId": content_id,
                        "attributes": [
                            {"attributeId": 1192, "attributeValueIds": [10619]},
                            {"attributeId": 47, "attributeValue": "Gümüş"},
                        ],
                    }
                ]
            },
        ).json()["batchRequestId"]
    )
    assert body["items"][0]["status"] == "SUCCESS"
    origin = [a for a in sandbox.product("ATTR1")["attributes"] if a["attributeId"] == 1192][0]
    assert origin["valueIds"] == [10619]


def test_variant_update_changes_variant_fields_of_approved_products(sandbox, client):
    created(client, product_item("VAR1"))
    r = client.post(
        "/product/sellers/{sellerId}/products/variant-bulk-update",
        {
            "items": [
                {"barcode": "VAR1", "stockCode": "NEW-SKU", "vatRate": 10, "dimensionalWeight": 5},
                {"barcode": "GHOST", "vatRate": 10},
            ]
        },
    )
    body = client.wait(r.json()["batchRequestId"])
    assert body["batchRequestType"] == "ApprovedProductVariantUpdate"
    assert [i["status"] for i in body["items"]] == ["SUCCESS", "FAILED"]
    p = sandbox.product("VAR1")
    assert (p["stockCode"], p["vatRate"], p["dimensionalWeight"]) == ("NEW-SKU", 10, 5)


def test_unapproved_products_flow_until_approval(sandbox, client):
    sandbox.configure(auto_approve=False)
    created(client, product_item("UNAP1"))
    assert client.get("/product/sellers/{sellerId}/products/approved").json()["totalElements"] == 0
    pending = client.get(
        "/product/sellers/{sellerId}/products/unapproved", params={"barcode": "UNAP1"}
    ).json()
    assert pending["content"][0]["status"] == "pendingApproval"
    assert pending["content"][0]["media"] == [{"url": "https://cdn.example.com/mba.jpg"}]

    r = client.post(
        "/product/sellers/{sellerId}/products/unapproved-bulk-update",
        {"items": [{"barcode": "UNAP1", "title": "Düzeltilmiş başlık", "categoryId": 1003}]},
    )
    body = client.wait(r.json()["batchRequestId"])
    assert body["batchRequestType"] == "ProductV2Update"
    assert body["items"][0]["status"] == "SUCCESS", body
    assert sandbox.product("UNAP1")["title"] == "Düzeltilmiş başlık"
    assert sandbox.product("UNAP1")["categoryId"] == 1003

    bad = client.wait(
        client.post(
            "/product/sellers/{sellerId}/products/unapproved-bulk-update",
            {"items": [{"barcode": "UNAP1", "categoryId": 3000}]},
        ).json()["batchRequestId"]
    )
    assert bad["items"][0]["status"] == "FAILED"
    assert sandbox.product("UNAP1")["categoryId"] == 1003

    assert sandbox.approve(["UNAP1"]) == ["UNAP1"]
    approved = client.get("/product/sellers/{sellerId}/products/approved", params={"barcode": "UNAP1"}).json()
    assert approved["totalElements"] == 1
    late = client.wait(
        client.post(
            "/product/sellers/{sellerId}/products/unapproved-bulk-update",
            {"items": [{"barcode": "UNAP1", "title": "Çok geç"}]},
        ).json()["batchRequestId"]
    )
    assert late["items"][0]["status"] == "FAILED"
    assert "Onaylı ürünler bu servis ile güncellenemez" in late["items"][0]["failureReasons"][0]


def test_delete_needs_an_archived_product(sandbox, client):
    created(client, product_item("DEL1"))
    url = client.url("/product/sellers/{sellerId}/products")
    r = client.http.delete(url, json={"items": [{"barcode": "DEL1"}]}, timeout=5)
    body = client.wait(r.json()["batchRequestId"])
    assert body["batchRequestType"] == "ProductDeletion"
    assert body["items"][0]["status"] == "FAILED"
    assert sandbox.product("DEL1") is not None
    r = client.http.put(
        client.url("/product/sellers/{sellerId}/products/archive-state"),
        json={"items": [{"barcode": "DEL1", "archived": True}]},
        timeout=5,
    )
    assert client.wait(r.json()["batchRequestId"])["items"][0]["status"] == "SUCCESS"
    assert sandbox.product("DEL1")["archived"] is True
    r = client.http.delete(url, json={"items": [{"barcode": "DEL1"}]}, timeout=5)
    assert client.wait(r.json()["batchRequestId"])["items"][0]["status"] == "SUCCESS"
    assert sandbox.product("DEL1") is None


# --- reads ------------------------------------------------------------------------------------------------


def test_filter_approved_by_barcode_is_content_centric(sandbox, client):
    created(client, product_item("F1"), product_item("F2", productMainId="OTHER", stockCode="S-F2"))
    r = client.get("/product/sellers/{sellerId}/products/approved", params={"barcode": "F2"})
    assert r.status_code == 200
    body = r.json()
    assert body["totalElements"] == 1 and body["page"] == 0
    content = body["content"][0]
    assert content["productMainId"] == "OTHER"
    assert content["brand"] == {"id": 1791, "name": "Apple"}
    assert content["category"] == {"id": 1001, "name": "Dizüstü Bilgisayar"}
    variant = content["variants"][0]
    assert variant["barcode"] == "F2" and variant["stockCode"] == "S-F2"
    assert variant["stock"]["quantity"] == 10 and variant["price"]["salePrice"] == 999.9
    assert variant["onSale"] is True
    both = client.get("/product/sellers/{sellerId}/products/approved", params={"barcodes": "F1,F2"}).json()
    assert both["totalElements"] == 2
    by_stock = client.get(
        "/product/sellers/{sellerId}/products/approved", params={"stockCode": "S-F2"}
    ).json()
    assert [c["variants"][0]["barcode"] for c in by_stock["content"]] == ["F2"]
    assert (
        client.get("/product/sellers/{sellerId}/products/approved", params={"size": 101}).status_code == 400
    )
    inv = client.get(
        "/product/sellers/{sellerId}/products/approved/inventory-and-price", params={"barcode": "F1"}
    ).json()
    assert inv["content"][0]["variants"][0] == {
        "variantId": sandbox.product("F1")["variantId"],
        "barcode": "F1",
        "salePrice": 999.9,
        "listPrice": 1200.0,
        "quantity": 10,
        "stockCode": "SKU-F1",
        "stockLastModifiedDate": None,
    }
    base = client.get("/product/sellers/{sellerId}/product/F1").json()
    assert base["approved"] is True and base["contentId"] == sandbox.product("F1")["contentId"]


def test_filter_paginates_by_content(client):
    created(client, *[product_item(f"PG{i}", productMainId=f"PG{i}") for i in range(5)])
    page0 = client.get("/product/sellers/{sellerId}/products/approved", params={"page": 0, "size": 2}).json()
    page2 = client.get("/product/sellers/{sellerId}/products/approved", params={"page": 2, "size": 2}).json()
    assert (page0["totalElements"], page0["totalPages"], len(page0["content"])) == (5, 3, 2)
    assert len(page2["content"]) == 1


def test_batch_results_are_private_unknown_ids_404_and_expire_after_4_hours():
    sb = TrendyolSandbox(port=0, batch_delay=0, sellers=[("1001", "k1", "s1"), ("2002", "k2", "s2")]).start()
    try:
        one, two = Client(sb, "1001"), Client(sb, "2002")
        batch_id = one.create(product_item("EXP1"))
        one.wait(batch_id)
        r = one.get("/product/sellers/{sellerId}/products/batch-requests/does-not-exist")
        assert r.status_code == 404 and r.json()["errors"][0]["key"] == "batch.request.not.found"
        # Another seller sees neither the batch nor the product.
        assert two.get(f"/product/sellers/{{sellerId}}/products/batch-requests/{batch_id}").status_code == 404
        assert two.get("/product/sellers/{sellerId}/products/approved").json()["totalElements"] == 0
        assert one.get("/product/sellers/{sellerId}/products/approved").json()["totalElements"] == 1
        sb.advance_clock(4 * 3600 - 5)
        assert one.get(f"/product/sellers/{{sellerId}}/products/batch-requests/{batch_id}").status_code == 200
        sb.advance_clock(10)
        assert one.get(f"/product/sellers/{{sellerId}}/products/batch-requests/{batch_id}").status_code == 404
    finally:
        sb.stop()


def test_reference_data_endpoints(client):
    tree = client.get("/product/product-categories").json()["categories"]
    roots = {c["id"]: c for c in tree}
    assert set(roots) == {411, 5000}
    computers = [c for c in roots[411]["subCategories"] if c["id"] == 1000][0]
    assert [c["id"] for c in computers["subCategories"]] == [1001, 1002, 1003]
    assert all(c["subCategories"] == [] and c["parentId"] == 1000 for c in computers["subCategories"])

    attrs = client.get("/product/categories/1001/attributes").json()
    assert attrs["id"] == 1001
    by_id = {a["attribute"]["id"]: a for a in attrs["categoryAttributes"]}
    assert by_id[1192]["required"] is True and by_id[1192]["allowCustom"] is False
    assert by_id[47]["slicer"] is True and by_id[47]["allowCustom"] is True
    assert by_id[338]["varianter"] is True
    required = client.get("/product/categories/1001/attributes", params={"required": "true"}).json()
    assert [a["attribute"]["id"] for a in required["categoryAttributes"]] == [1192]

    values = client.get("/product/categories/1001/attributes/1192/values").json()
    assert values["totalElements"] == 5
    assert {"attributeValueId": 10617, "attributeValueName": "TR"} in values["content"]
    assert client.get("/product/categories/1001/attributes/12345/values").status_code == 404

    brands = client.get("/product/brands").json()["brands"]
    assert {"id": 1797, "name": "Kervan Generic"} in brands and len(brands) == 7
    assert client.get("/product/brands/by-name", params={"name": "Canon"}).json() == [
        {"id": 1792, "name": "Canon"}
    ]
    assert client.get("/product/brands/by-name", params={"name": "canon"}).json() == []


def test_category_tree_can_be_served_as_a_bare_array(sandbox, client):
    sandbox.configure(category_tree_shape="array")
    body = client.get("/product/product-categories").json()
    assert isinstance(body, list) and body[0]["id"] == 411


# --- faults ---------------------------------------------------------------------------------------------


def test_error_rate_one_gives_500_with_trendyol_system_exception(sandbox, client):
    sandbox.set_faults("create", error_rate=1.0)
    r = client.post("/product/sellers/{sellerId}/v2/products", {"items": [product_item("ERR1")]})
    assert r.status_code == 500
    body = r.json()
    assert body["exception"] == "TrendyolSystemException"
    assert body["errors"] == [{"key": "generic.exception", "message": "Exception Occured", "errorCode": None}]
    assert sandbox.batches() == [] and sandbox.products() == []
    assert client.get("/product/brands").status_code == 200  # other endpoints unaffected
    sandbox.clear_faults()
    assert (
        client.post("/product/sellers/{sellerId}/v2/products", {"items": [product_item("ERR1")]}).status_code
        == 200
    )


def test_fail_next_fails_exactly_n_requests(sandbox, client):
    sandbox.set_faults("*", fail_next=2)
    statuses = [client.get("/product/brands").status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    assert sandbox.request_log()["counts"]["brands"]["byStatus"] == {"500": 2, "200": 1}


def test_throttle_latency_timeout_and_drop_faults(sandbox, client):
    sandbox.set_faults("brands", throttle_rate=1.0)
    assert client.get("/product/brands").status_code == 429
    sandbox.clear_faults()

    sandbox.set_faults("brands", latency=0.3)
    started = time.monotonic()
    assert client.get("/product/brands").status_code == 200
    assert time.monotonic() - started >= 0.3
    sandbox.clear_faults()

    sandbox.configure(hang_seconds=2.0)
    sandbox.set_faults("categories", timeout_rate=1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.get("/product/product-categories", timeout=0.3)
    sandbox.clear_faults()

    sandbox.set_faults("brands", drop_rate=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(client.url("/product/brands"), headers=sandbox.headers(), timeout=5)


def test_lost_response_applies_the_write_but_the_client_sees_an_error(sandbox, client):
    sandbox.set_faults("price_inventory", lost_response_rate=1.0)
    created(client, product_item("LOST1"))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(
            client.url("/inventory/sellers/{sellerId}/products/price-and-inventory"),
            json={"items": [{"barcode": "LOST1", "quantity": 2}]},
            headers=sandbox.headers(),
            timeout=5,
        )
    sandbox.clear_faults()
    sandbox.flush()
    assert sandbox.product("LOST1")["quantity"] == 2
    # The blind retry of the same body is now the 15-minute duplicate.
    assert client.price({"barcode": "LOST1", "quantity": 2}).status_code == 400
    lost = [w for w in sandbox.request_log()["writes"] if w.get("responseLost")]
    assert len(lost) == 1 and lost[0]["barcodes"] == ["LOST1"]


def test_seeded_random_faults_repeat(sandbox):
    def run() -> list[int]:
        sb = TrendyolSandbox(port=0, seed=99).start()
        try:
            sb.set_faults("brands", error_rate=0.5)
            c = Client(sb)
            return [c.get("/product/brands").status_code for _ in range(20)]
        finally:
            sb.stop()

    first, second = run(), run()
    assert first == second
    assert 500 in first and 200 in first


# --- control surface -------------------------------------------------------------------------------------


def test_http_control_endpoints(sandbox, client):
    admin = sandbox.admin_url
    assert requests.get(f"{admin}/health", timeout=5).json() == {"ok": True, "baseUrl": sandbox.base_url}
    config = requests.post(
        f"{admin}/config", json={"auto_approve": "false", "rate_limit": "70"}, timeout=5
    ).json()
    assert config["auto_approve"] is False and config["rate_limit"] == 70
    assert requests.post(f"{admin}/config", json={"no_such_setting": 1}, timeout=5).status_code == 400
    created(client, product_item("ADM1"))

    products = requests.get(f"{admin}/products", timeout=5).json()
    assert [(p["barcode"], p["approved"]) for p in products] == [("ADM1", False)]
    r = requests.post(f"{admin}/approve", json={"barcodes": ["ADM1"], "sellerId": SELLER}, timeout=5)
    assert r.json() == {"approved": ["ADM1"]}
    assert requests.get(f"{admin}/products/ADM1", timeout=5).json()["approved"] is True

    patched = requests.post(f"{admin}/products/ADM1", json={"quantity": 1}, timeout=5).json()
    assert patched["quantity"] == 1
    assert requests.get(f"{admin}/products/NOPE", timeout=5).status_code == 404

    r = requests.post(f"{admin}/faults", json={"endpoint": "filter", "error_rate": 1.0}, timeout=5)
    assert r.json()["filter"]["error_rate"] == 1.0
    assert client.get("/product/sellers/{sellerId}/products/approved").status_code == 500
    requests.delete(f"{admin}/faults", timeout=5).raise_for_status()
    assert client.get("/product/sellers/{sellerId}/products/approved").status_code == 200

    batches = requests.get(f"{admin}/batches", timeout=5).json()
    assert len(batches) == 1 and batches[0]["kind"] == "create"
    log = requests.get(f"{admin}/requests", timeout=5).json()
    assert log["counts"]["create"]["byStatus"] == {"200": 1}
    assert log["writes"][0]["barcodes"] == ["ADM1"]

    state = requests.get(f"{admin}/state", timeout=5).json()
    assert state["config"]["auto_approve"] is False and state["products"][0]["barcode"] == "ADM1"

    before = requests.post(f"{admin}/clock", json={"advance": 0}, timeout=5).json()["now"]
    after = requests.post(f"{admin}/clock", json={"advance": 60}, timeout=5).json()["now"]
    assert after - before >= 60000

    requests.post(f"{admin}/reset", timeout=5).raise_for_status()
    assert requests.get(f"{admin}/products", timeout=5).json() == []
    assert requests.get(f"{admin}/requests", timeout=5).json()["writes"] == []
    assert requests.get(f"{admin}/nope", timeout=5).status_code == 404


def test_http_flush_processes_queued_batches(sandbox, client):
    sandbox.configure(batch_delay=60)
    batch_id = client.create(product_item("FL1"))
    assert client.batch(batch_id)["status"] == "IN_PROGRESS"
    assert requests.post(f"{sandbox.admin_url}/flush", timeout=5).json() == {"processed": 1}
    assert client.batch(batch_id)["status"] == "COMPLETED"


def test_unknown_paths_and_methods(client):
    assert client.get("/product/sellers/{sellerId}/nothing-here").status_code == 404
    assert client.get("/product/sellers/{sellerId}/v2/products").status_code == 405
    assert requests.get(client.base.replace("/integration", "/elsewhere"), timeout=5).status_code == 404


def test_python_module_entry_point_serves_until_sigterm(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox.trendyol", "--port", "0", "--rate-limit", "5", "--batch-delay", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line + proc.stderr.read()
        base = line.split("listening on ")[1].split()[0]
        admin = base.replace("/integration", "/__sandbox")
        config = requests.get(f"{admin}/config", timeout=5).json()
        assert config["rate_limit"] == 5 and config["batch_delay"] == 0
        headers = {
            "Authorization": "Basic " + base64.b64encode(b"sandbox-key:sandbox-secret").decode(),
            "User-Agent": "1001 - SelfIntegration",
        }
        assert requests.get(f"{base}/product/brands", headers=headers, timeout=5).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_snapshots_are_copies(sandbox, client):
    created(client, product_item("COPY1"))
    snapshot = sandbox.product("COPY1")
    snapshot["quantity"] = 999
    listed = sandbox.products()
    listed[0]["title"] = "changed"
    listed[0]["attributes"].clear()
    assert sandbox.product("COPY1")["quantity"] == 10
    assert sandbox.product("COPY1")["title"] == "Apple MacBook Air 13"
    assert len(sandbox.product("COPY1")["attributes"]) == 2
