"""The Amazon sandbox held to the published SP-API contract, over raw HTTP (no Kervan client):
LWA, the 403/429 shapes, Listings Items validation, the feed lifecycle and its schemas, getOrders
filter rules and NextToken paging, fault injection and the ``/__sandbox/`` control surface."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.amazon import (
    DE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
    DEMO_PRODUCT_TYPES,
    TR,
    AmazonSandbox,
)
from sandbox.amazon import schema as amazon_schema
from sandbox.amazon.reference import PRODUCT_TYPES, RATE_LIMITS
from sandbox.amazon.service import iso_minus
from sandbox.registry import sandbox_class

ITEMS = f"/listings/2021-08-01/items/{DEFAULT_SELLER_ID}"
DENIED = "Access to requested resource is denied."


@pytest.fixture
def sb() -> Iterator[AmazonSandbox]:
    sandbox = AmazonSandbox(feed_delay=0.05, seed=3).start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


def token(sb: AmazonSandbox) -> str:
    r = requests.post(
        sb.lwa_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": DEFAULT_REFRESH_TOKEN,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    )
    assert r.status_code == 200
    return r.json()["access_token"]


class Api:
    def __init__(self, sb: AmazonSandbox) -> None:
        self.sb = sb
        self.headers = {"x-amz-access-token": token(sb)}

    def __call__(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return requests.request(method, self.sb.base_url + path, headers=headers, timeout=10, **kw)


@pytest.fixture
def api(sb) -> Api:
    return Api(sb)


def attrs(**overrides: Any) -> dict[str, Any]:
    a: dict[str, Any] = {
        "item_name": [{"value": "Monitor", "marketplace_id": TR}],
        "brand": [{"value": "Samsung"}],
        "bullet_point": [{"value": "Wide"}],
        "product_description": [{"value": "A monitor"}],
        "condition_type": [{"value": "new_new"}],
        "main_product_image_locator": [{"media_location": "https://x.example/m.jpg"}],
        "purchasable_offer": [
            {"currency": "TRY", "marketplace_id": TR, "our_price": [{"schedule": [{"value_with_tax": 10.5}]}]}
        ],
        "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": 4}],
    }
    a.update(overrides)
    return {k: v for k, v in a.items() if v is not None}


def errors_of(r: requests.Response) -> list[dict[str, Any]]:
    body = r.json()
    assert set(body) == {"errors"}
    for e in body["errors"]:
        assert set(e) == {"code", "message", "details"}
    return body["errors"]


# --- basics --------------------------------------------------------------------------------------


def test_registry_and_reference(sb):
    assert sandbox_class("amazon") is AmazonSandbox
    assert sorted(DEMO_PRODUCT_TYPES) == [18, 20, 24, 26, 27, 28, 33, 34, 45, 46, 57]
    assert set(DEMO_PRODUCT_TYPES.values()) <= set(PRODUCT_TYPES)
    assert RATE_LIMITS["putListingsItem"] == (5.0, 10) and RATE_LIMITS["getOrders"] == (0.0167, 20)
    assert sb.base_url.startswith("http://127.0.0.1:") and sb.lwa_url.endswith("/auth/o2/token")


# --- LWA -------------------------------------------------------------------------------------------


def test_lwa_token_grant_and_errors(sb):
    form = {
        "grant_type": "refresh_token",
        "refresh_token": DEFAULT_REFRESH_TOKEN,
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
    }
    r = requests.post(sb.lwa_url, data=form)
    body = r.json()
    assert r.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|") and body["refresh_token"] == DEFAULT_REFRESH_TOKEN
    r = requests.post(sb.lwa_url, data={**form, "client_secret": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = requests.post(sb.lwa_url, data={**form, "refresh_token": "Atzr|other"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = requests.post(sb.lwa_url, json=form)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = requests.post(sb.lwa_url, data={**form, "grant_type": "password"})
    assert r.json()["error"] == "unsupported_grant_type"
    assert sb.request_log()["tokenRequests"] == 4  # the JSON body never reached the grant logic


def test_token_ttl_is_configurable(sb):
    sb.configure(token_ttl=5)
    r = requests.post(
        sb.lwa_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": DEFAULT_REFRESH_TOKEN,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    )
    assert r.json()["expires_in"] == 5


def test_access_token_403_shapes(sb, api):
    url = f"{sb.base_url}{ITEMS}/SKU1"
    r = requests.get(url, params={"marketplaceIds": TR})
    assert r.status_code == 403 and errors_of(r) == [
        {"code": "Unauthorized", "message": DENIED, "details": ""}
    ]
    assert r.headers["x-amzn-RequestId"]
    r = requests.get(url, params={"marketplaceIds": TR}, headers={"x-amz-access-token": "Atza|forged"})
    assert errors_of(r)[0]["details"] == "The access token you provided is revoked, malformed or invalid."
    sb.advance_clock(3601)
    r = api("GET", f"{ITEMS}/SKU1", params={"marketplaceIds": TR})
    assert r.status_code == 403
    assert errors_of(r) == [
        {"code": "Unauthorized", "message": DENIED, "details": "The access token you provided has expired."}
    ]
    api.headers = {"x-amz-access-token": token(sb)}
    assert api("GET", f"{ITEMS}/SKU1", params={"marketplaceIds": TR}).status_code == 404
    sb.expire_tokens()
    assert api("GET", f"{ITEMS}/SKU1", params={"marketplaceIds": TR}).status_code == 403
    api.headers = {"x-amz-access-token": token(sb)}
    r = api("GET", "/listings/2021-08-01/items/A9SOMEONEELSE/SKU1", params={"marketplaceIds": TR})
    assert r.status_code == 403


# --- rate limits -----------------------------------------------------------------------------------


def test_token_bucket_answers_documented_429(sb, api):
    sb.configure(rate_limits={"getListingsItem": [0.001, 3]})
    statuses = []
    for _ in range(5):
        r = api("GET", f"{ITEMS}/SKU1", params={"marketplaceIds": TR})
        statuses.append(r.status_code)
        if r.status_code == 429:
            assert errors_of(r) == [
                {
                    "code": "QuotaExceeded",
                    "message": "You exceeded your quota for the requested resource.",
                    "details": "",
                }
            ]
            assert "x-amzn-RateLimit-Limit" not in r.headers
        else:
            assert r.headers["x-amzn-RateLimit-Limit"] == "0.001"
    assert statuses == [404, 404, 404, 429, 429]
    # per operation: another operation still has its own bucket
    assert (
        api("GET", "/definitions/2020-09-01/productTypes", params={"marketplaceIds": TR}).status_code == 200
    )
    assert sb.request_log()["throttled"] == 2
    sb.configure(rate_limits_enabled=False)
    assert api("GET", f"{ITEMS}/SKU1", params={"marketplaceIds": TR}).status_code == 404


def test_listings_feed_submissions_limited_to_five_per_window(sb, api):
    doc = api("POST", "/feeds/2021-06-30/documents", json={"contentType": "application/json; charset=UTF-8"})
    statuses = []
    for _ in range(6):
        r = api(
            "POST",
            "/feeds/2021-06-30/feeds",
            json={
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": [TR],
                "inputFeedDocumentId": doc.json()["feedDocumentId"],
            },
        )
        statuses.append(r.status_code)
    assert statuses == [202] * 5 + [429]
    assert errors_of(r)[0]["code"] == "QuotaExceeded"


# --- listings items --------------------------------------------------------------------------------


def test_put_get_patch_delete(sb, api):
    q = {"marketplaceIds": TR, "issueLocale": "en_US"}
    r = api("PUT", f"{ITEMS}/MON%2F1", params=q, json={"productType": "MONITOR", "attributes": attrs()})
    body = r.json()
    assert (
        r.status_code == 200
        and body["status"] == "ACCEPTED"
        and body["sku"] == "MON/1"
        and body["issues"] == []
    )
    assert r.headers["x-amzn-RateLimit-Limit"] == "5"
    r = api("GET", f"{ITEMS}/MON%2F1", params={**q, "includedData": "summaries,attributes,offers,issues"})
    item = r.json()
    assert item["summaries"][0]["status"] == ["BUYABLE", "DISCOVERABLE"]
    assert item["attributes"]["brand"] == [{"value": "Samsung"}] and item["issues"] == []
    assert set(item) == {"sku", "summaries", "attributes", "offers", "issues"}
    assert set(api("GET", f"{ITEMS}/MON%2F1", params=q).json()) == {
        "sku",
        "summaries",
    }  # default includedData
    patch = {
        "productType": "MONITOR",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 0}],
            }
        ],
    }
    assert api("PATCH", f"{ITEMS}/MON%2F1", params=q, json=patch).json()["status"] == "ACCEPTED"
    assert sb.product("MON/1")["attributes"]["fulfillment_availability"][0]["quantity"] == 0
    summary = api("GET", f"{ITEMS}/MON%2F1", params=q).json()["summaries"][0]
    assert summary["status"] == ["DISCOVERABLE"]
    delete = {"productType": "MONITOR", "patches": [{"op": "delete", "path": "/attributes/bullet_point"}]}
    assert api("PATCH", f"{ITEMS}/MON%2F1", params=q, json=delete).json()["status"] == "ACCEPTED"
    assert "bullet_point" not in sb.product("MON/1")["attributes"]
    assert api("DELETE", f"{ITEMS}/MON%2F1", params=q).json()["status"] == "ACCEPTED"
    r = api("GET", f"{ITEMS}/MON%2F1", params=q)
    assert r.status_code == 404 and errors_of(r)[0]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("params", "body", "message"),
    [
        ({}, {"productType": "MONITOR", "attributes": {}}, "Missing required parameter marketplaceIds"),
        (
            {"marketplaceIds": "ATVPDKIKX0DERX"},
            {"productType": "MONITOR", "attributes": {}},
            "Invalid marketplaceIds",
        ),
        (
            {"marketplaceIds": TR, "includedData": "issues,everything"},
            {"productType": "MONITOR", "attributes": {}},
            "Invalid includedData",
        ),
        (
            {"marketplaceIds": TR, "issueLocale": "english"},
            {"productType": "MONITOR", "attributes": {}},
            "Invalid issueLocale",
        ),
        (
            {"marketplaceIds": TR, "mode": "DRY_RUN"},
            {"productType": "MONITOR", "attributes": {}},
            "Invalid mode",
        ),
        ({"marketplaceIds": TR}, {"attributes": {}}, "productType"),
        (
            {"marketplaceIds": TR},
            {"productType": "MONITOR", "attributes": [], "requirements": "LISTING"},
            "'attributes' an object",
        ),
        (
            {"marketplaceIds": TR},
            {"productType": "MONITOR", "attributes": {}, "requirements": "ALL"},
            "Invalid requirements",
        ),
    ],
)
def test_put_request_errors_are_400_invalid_input(api, params, body, message):
    r = api("PUT", f"{ITEMS}/SKU1", params=params, json=body)
    assert r.status_code == 400
    err = errors_of(r)[0]
    assert err["code"] == "InvalidInput" and message in err["message"]


def test_put_needs_json_content_type_and_sane_sku(api):
    r = api(
        "PUT",
        f"{ITEMS}/SKU1",
        params={"marketplaceIds": TR},
        data=b"{}",
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 415 and errors_of(r)[0]["code"] == "UnsupportedMediaType"
    r = api(
        "PUT",
        f"{ITEMS}/{'S' * 41}",
        params={"marketplaceIds": TR},
        json={"productType": "MONITOR", "attributes": attrs()},
    )
    assert r.status_code == 400


def test_put_issues_make_the_submission_invalid(sb, api):
    bad = attrs(
        brand=None,
        purchasable_offer=[
            {"currency": "EUR", "marketplace_id": TR, "our_price": [{"schedule": [{"value_with_tax": 0}]}]}
        ],
        fulfillment_availability=[{"fulfillment_channel_code": "DEFAULT", "quantity": -1}],
        main_product_image_locator=[{"media_location": "ftp://x"}],
        condition_type=[{"value": "mint"}],
        item_name=[{"value": "x", "marketplace_id": DE}],
    )
    r = api(
        "PUT",
        f"{ITEMS}/BAD1",
        params={"marketplaceIds": TR},
        json={"productType": "MONITOR", "attributes": bad},
    )
    body = r.json()
    assert r.status_code == 200 and body["status"] == "INVALID"
    names = {n for i in body["issues"] for n in i["attributeNames"]}
    assert {
        "brand",
        "purchasable_offer.currency",
        "purchasable_offer.our_price",
        "fulfillment_availability.quantity",
        "main_product_image_locator",
        "condition_type",
        "item_name",
    } <= names
    for issue in body["issues"]:
        assert issue["severity"] == "ERROR" and issue["categories"] and issue["code"]
    assert sb.product("BAD1") is None
    r = api(
        "PUT",
        f"{ITEMS}/BAD2",
        params={"marketplaceIds": TR},
        json={"productType": "TOASTER", "attributes": attrs()},
    )
    assert r.json()["status"] == "INVALID" and "TOASTER" in r.json()["issues"][0]["message"]
    r = api(
        "PUT",
        f"{ITEMS}/OK1",
        params={"marketplaceIds": TR, "mode": "VALIDATION_PREVIEW"},
        json={"productType": "MONITOR", "attributes": attrs()},
    )
    assert r.json()["status"] == "VALID" and sb.product("OK1") is None
    r = api(
        "PUT",
        f"{ITEMS}/OFFER1",
        params={"marketplaceIds": TR},
        json={
            "productType": "MONITOR",
            "requirements": "LISTING_OFFER_ONLY",
            "attributes": {
                k: v
                for k, v in attrs().items()
                if k in ("condition_type", "purchasable_offer", "fulfillment_availability")
            },
        },
    )
    assert r.json()["status"] == "ACCEPTED"


def test_patch_rules(sb, api):
    sb.configure(rate_limits_enabled=False)  # more patches than patchListingsItem's burst of 5
    q = {"marketplaceIds": TR}
    patch = {"op": "replace", "path": "/attributes/item_name", "value": [{"value": "New"}]}
    r = api("PATCH", f"{ITEMS}/NOPE", params=q, json={"productType": "MONITOR", "patches": [patch]})
    assert r.json()["status"] == "INVALID"
    api("PUT", f"{ITEMS}/P1", params=q, json={"productType": "MONITOR", "attributes": attrs()})
    deep = {"op": "replace", "path": "/attributes/item_name/0/value", "value": "x"}
    r = api("PATCH", f"{ITEMS}/P1", params=q, json={"productType": "MONITOR", "patches": [deep]})
    assert r.json()["status"] == "INVALID" and "top-level" in r.json()["issues"][0]["message"]
    r = api("PATCH", f"{ITEMS}/P1", params=q, json={"productType": "MONITOR", "patches": []})
    assert r.status_code == 400
    r = api(
        "PATCH",
        f"{ITEMS}/P1",
        params=q,
        json={"productType": "MONITOR", "patches": [{"op": "move", "path": "/x"}]},
    )
    assert r.status_code == 400
    r = api("PATCH", f"{ITEMS}/P1", params=q, json={"productType": "LAPTOP", "patches": [patch]})
    assert r.json()["status"] == "INVALID"
    merge = {"op": "merge", "path": "/attributes/item_name", "value": [{"language_tag": "tr_TR"}]}
    assert (
        api("PATCH", f"{ITEMS}/P1", params=q, json={"productType": "MONITOR", "patches": [merge]}).json()[
            "status"
        ]
        == "ACCEPTED"
    )
    assert sb.product("P1")["attributes"]["item_name"] == [
        {"value": "Monitor", "marketplace_id": TR, "language_tag": "tr_TR"}
    ]


# --- feeds -----------------------------------------------------------------------------------------


def _feed(
    api: Api,
    document: Any,
    *,
    content_type: str = "application/json; charset=UTF-8",
    feed_type: str = "JSON_LISTINGS_FEED",
) -> str:
    doc = api("POST", "/feeds/2021-06-30/documents", json={"contentType": content_type})
    assert doc.status_code == 201 and set(doc.json()) == {"feedDocumentId", "url"}
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    up = requests.put(doc.json()["url"], data=raw, headers={"Content-Type": content_type})
    assert up.status_code == 200
    r = api(
        "POST",
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": feed_type,
            "marketplaceIds": [TR],
            "inputFeedDocumentId": doc.json()["feedDocumentId"],
        },
    )
    assert r.status_code == 202, r.text
    return r.json()["feedId"]


def _wait(api: Api, feed_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    seen = set()
    while True:
        r = api("GET", f"/feeds/2021-06-30/feeds/{feed_id}")
        if r.status_code == 429:  # getFeed: 2/s, burst 15
            time.sleep(0.5)
            continue
        feed = r.json()
        seen.add(feed["processingStatus"])
        if feed["processingStatus"] in ("DONE", "FATAL", "CANCELLED") or time.monotonic() > deadline:
            feed["seen"] = seen
            return feed
        time.sleep(0.05)


def _report(api: Api, feed: dict[str, Any]) -> dict[str, Any]:
    doc = api("GET", f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}").json()
    content = requests.get(doc["url"]).content
    if doc.get("compressionAlgorithm") == "GZIP":
        content = gzip.decompress(content)
    return json.loads(content)


def _doc(*messages: dict[str, Any], seller: str = DEFAULT_SELLER_ID, report: bool = False) -> dict[str, Any]:
    header: dict[str, Any] = {"sellerId": seller, "version": "2.0", "issueLocale": "en_US"}
    if report:
        header["report"] = {"includedData": ["summaries", "issues"], "apiVersion": "2021-08-01"}
    return {"header": header, "messages": list(messages)}


def test_feed_lifecycle_and_processing_report(sb, api):
    sb.configure(feed_delay=0.3)
    document = _doc(
        {
            "messageId": 1,
            "sku": "F1",
            "operationType": "UPDATE",
            "productType": "MONITOR",
            "attributes": attrs(),
        },
        {
            "messageId": 2,
            "sku": "F2",
            "operationType": "UPDATE",
            "productType": "NOTEBOOK_COMPUTER",
            "attributes": attrs(),
        },
        {
            "messageId": 3,
            "sku": "F3",
            "operationType": "UPDATE",
            "productType": "MONITOR",
            "attributes": attrs(),
            "patches": [{"op": "add", "path": "/attributes/brand", "value": [{"value": "x"}]}],
        },
        {
            "messageId": 3,
            "sku": "F4",
            "operationType": "UPDATE",
            "productType": "MONITOR",
            "attributes": attrs(),
        },
        {
            "messageId": 5,
            "sku": "F1",
            "operationType": "PATCH",
            "productType": "MONITOR",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 1}],
                }
            ],
        },
        report=True,
    )
    assert amazon_schema.feed_errors({**document, "messages": [document["messages"][0]]}) == []
    feed_id = _feed(api, document)
    first = api("GET", f"/feeds/2021-06-30/feeds/{feed_id}").json()
    assert first["feedType"] == "JSON_LISTINGS_FEED" and set(first) >= {
        "feedId",
        "createdTime",
        "marketplaceIds",
    }
    assert first["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS", "DONE")
    feed = _wait(api, feed_id)
    assert feed["processingStatus"] == "DONE" and {"processingStartTime", "processingEndTime"} <= set(feed)
    report = _report(api, feed)
    assert amazon_schema.report_errors(report) == []
    assert report["header"]["feedId"] == feed_id and report["header"]["sellerId"] == DEFAULT_SELLER_ID
    assert report["summary"] == {
        "errors": 3,
        "warnings": 0,
        "messagesProcessed": 5,
        "messagesAccepted": 2,
        "messagesInvalid": 3,
        "itemSummary": {"items": 2, "errors": 0, "warnings": 0},
    }
    by_id = {}
    for issue in report["issues"]:
        by_id.setdefault(issue["messageId"], []).append(issue)
    assert set(by_id) == {2, 3}
    assert by_id[2][0]["message"] == "'[batteries_required]' is required but not supplied."
    assert [i["sku"] for i in by_id[3]] == ["F3", "F4"]  # schema violation, then the duplicate messageId
    assert sb.product("F1")["attributes"]["fulfillment_availability"][0]["quantity"] == 1
    assert sb.product("F3") is None and sb.product("F4") is None
    assert [i["sku"] for i in report["items"]] == ["F1", "F1"]


def test_fatal_feeds(sb, api):
    for document, feed_type, text in [
        (b"not json", "JSON_LISTINGS_FEED", "not valid UTF-8 JSON"),
        (
            {"header": {"sellerId": DEFAULT_SELLER_ID, "version": "1.0"}, "messages": []},
            "JSON_LISTINGS_FEED",
            "does not match the JSON_LISTINGS_FEED schema",
        ),
        (
            _doc({"messageId": 1, "sku": "A", "operationType": "DELETE"}, seller="A9OTHER"),
            "JSON_LISTINGS_FEED",
            "does not match the selling partner",
        ),
        (b"<xml/>", "POST_INVENTORY_AVAILABILITY_DATA", "no longer supported"),
    ]:
        feed = _wait(api, _feed(api, document, feed_type=feed_type))
        assert feed["processingStatus"] == "FATAL"
        report = _report(api, feed)
        assert amazon_schema.report_errors(report) == [] and text in report["issues"][0]["message"]


def test_feed_request_rules(sb, api):
    r = api(
        "POST",
        "/feeds/2021-06-30/feeds",
        json={"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": [TR], "inputFeedDocumentId": "missing"},
    )
    assert r.status_code == 400 and errors_of(r)[0]["code"] == "InvalidInput"
    doc = api(
        "POST", "/feeds/2021-06-30/documents", json={"contentType": "application/json; charset=UTF-8"}
    ).json()
    r = api(
        "POST",
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": "POST_NONSENSE",
            "marketplaceIds": [TR],
            "inputFeedDocumentId": doc["feedDocumentId"],
        },
    )
    assert r.status_code == 400 and "feedType" in errors_of(r)[0]["message"]
    r = api(
        "POST",
        "/feeds/2021-06-30/feeds",
        json={
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [],
            "inputFeedDocumentId": doc["feedDocumentId"],
        },
    )
    assert r.status_code == 400
    assert api("POST", "/feeds/2021-06-30/documents", json={}).status_code == 400
    r = api("GET", "/feeds/2021-06-30/feeds/999")
    assert r.status_code == 404 and errors_of(r)[0]["code"] == "NotFound"
    assert api("GET", "/feeds/2021-06-30/documents/nope").status_code == 404


def test_presigned_urls_check_content_type_signature_and_expiry(sb, api):
    doc = api(
        "POST", "/feeds/2021-06-30/documents", json={"contentType": "application/json; charset=UTF-8"}
    ).json()
    r = requests.put(doc["url"], data=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 403 and b"SignatureDoesNotMatch" in r.content
    r = requests.put(
        doc["url"].replace("Signature=", "Signature=0"),
        data=b"{}",
        headers={"Content-Type": "application/json; charset=UTF-8"},
    )
    assert r.status_code == 403
    sb.advance_clock(301)
    r = requests.put(doc["url"], data=b"{}", headers={"Content-Type": "application/json; charset=UTF-8"})
    assert r.status_code == 403 and b"Request has expired" in r.content


def test_cancel_feed_only_in_queue(sb, api):
    sb.configure(feed_delay=60)
    feed_id = _feed(api, _doc({"messageId": 1, "sku": "C1", "operationType": "DELETE"}))
    assert api("GET", f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"] == "IN_QUEUE"
    assert api("DELETE", f"/feeds/2021-06-30/feeds/{feed_id}").status_code == 200
    assert api("GET", f"/feeds/2021-06-30/feeds/{feed_id}").json()["processingStatus"] == "CANCELLED"
    assert api("DELETE", f"/feeds/2021-06-30/feeds/{feed_id}").status_code == 400
    feed_id = _feed(api, _doc({"messageId": 1, "sku": "C2", "operationType": "DELETE"}))
    assert sb.flush() == 1
    feed = api("GET", f"/feeds/2021-06-30/feeds/{feed_id}").json()
    assert feed["processingStatus"] == "DONE"
    assert _report(api, feed)["summary"]["messagesInvalid"] == 1  # C2 never existed


def test_gzip_reports(sb, api):
    sb.configure(gzip_reports=True)
    feed = _wait(
        api,
        _feed(
            api,
            _doc(
                {
                    "messageId": 1,
                    "sku": "G1",
                    "operationType": "UPDATE",
                    "productType": "MONITOR",
                    "attributes": attrs(),
                }
            ),
        ),
    )
    doc = api("GET", f"/feeds/2021-06-30/documents/{feed['resultFeedDocumentId']}").json()
    assert doc["compressionAlgorithm"] == "GZIP"
    assert _report(api, feed)["summary"]["messagesAccepted"] == 1


# --- orders ----------------------------------------------------------------------------------------


def _orders(api: Api, **params: Any) -> requests.Response:
    return api("GET", "/orders/v0/orders", params={"MarketplaceIds": TR, **params})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Either CreatedAfter or LastUpdatedAfter"),
        ({"CreatedAfter": "2020-01-01T00:00:00Z", "LastUpdatedAfter": "2020-01-01T00:00:00Z"}, "Only one of"),
        (
            {"CreatedAfter": "2020-01-01T00:00:00Z", "LastUpdatedBefore": "2021-01-01T00:00:00Z"},
            "LastUpdatedBefore",
        ),
        (
            {"LastUpdatedAfter": "2020-01-01T00:00:00Z", "CreatedBefore": "2021-01-01T00:00:00Z"},
            "CreatedBefore",
        ),
        ({"CreatedAfter": "2021-01-01T00:00:00Z", "CreatedBefore": "2020-01-01T00:00:00Z"}, "later than"),
        ({"CreatedAfter": "yesterday"}, "ISO 8601"),
        ({"CreatedAfter": "2020-01-01T00:00:00Z", "MaxResultsPerPage": 101}, "between 1 and 100"),
        ({"CreatedAfter": "2020-01-01T00:00:00Z", "MaxResultsPerPage": 0}, "between 1 and 100"),
        ({"CreatedAfter": "2020-01-01T00:00:00Z", "OrderStatuses": "Unshipped"}, "used together"),
        ({"CreatedAfter": "2020-01-01T00:00:00Z", "OrderStatuses": "Lost"}, "Invalid OrderStatuses"),
        (
            {"CreatedAfter": "2020-01-01T00:00:00Z", "FulfillmentChannels": "FBM"},
            "Invalid FulfillmentChannels",
        ),
        ({"CreatedAfter": "2020-01-01T00:00:00Z", "NextToken": "garbage"}, "Invalid NextToken"),
    ],
)
def test_get_orders_filter_rules(api, params, message):
    r = _orders(api, **params)
    assert r.status_code == 400
    err = errors_of(r)[0]
    assert err["code"] == "InvalidInput" and message in err["message"]


def test_get_orders_before_must_be_two_minutes_old(api):
    r = _orders(api, CreatedAfter="2020-01-01T00:00:00Z", CreatedBefore=iso_minus(60))
    assert r.status_code == 400 and "2 minutes" in errors_of(r)[0]["message"]
    r = _orders(api, CreatedAfter=iso_minus(30))
    assert r.status_code == 400
    assert _orders(api, CreatedAfter="2020-01-01T00:00:00Z", CreatedBefore=iso_minus(180)).status_code == 200
    r = api("GET", "/orders/v0/orders", params={"CreatedAfter": "2020-01-01T00:00:00Z"})
    assert r.status_code == 400 and "MarketplaceIds" in errors_of(r)[0]["message"]


def test_get_orders_next_token_paging(sb, api):
    ids = set(sb.seed_orders(12, days=3))
    sb.seed_orders(4, marketplace_id=DE)
    filters = {"LastUpdatedAfter": "2020-01-01T00:00:00Z", "MaxResultsPerPage": 5}
    seen: list[str] = []
    r = _orders(api, **filters)
    pages = 0
    while True:
        assert r.status_code == 200, r.text
        payload = r.json()["payload"]
        pages += 1
        assert "LastUpdatedBefore" in payload and "CreatedBefore" not in payload
        for order in payload["Orders"]:
            assert {"AmazonOrderId", "PurchaseDate", "LastUpdateDate", "OrderStatus"} <= set(order)
            assert order["MarketplaceId"] == TR and order["OrderTotal"]["CurrencyCode"] == "TRY"
        seen += [o["AmazonOrderId"] for o in payload["Orders"]]
        token = payload.get("NextToken")
        if not token:
            break
        # NextToken alone, or with other filters, is refused: the same filters must come along
        assert (
            api("GET", "/orders/v0/orders", params={"MarketplaceIds": TR, "NextToken": token}).status_code
            == 400
        )
        changed = _orders(api, LastUpdatedAfter="2021-01-01T00:00:00Z", MaxResultsPerPage=5, NextToken=token)
        assert changed.status_code == 400 and errors_of(changed)[0]["message"] == "Invalid NextToken."
        r = _orders(api, **filters, NextToken=token)
    assert pages == 3 and len(seen) == 12 and set(seen) == ids
    both = api(
        "GET",
        "/orders/v0/orders",
        params={"MarketplaceIds": f"{TR},{DE}", "CreatedAfter": "2020-01-01T00:00:00Z"},
    )
    assert len(both.json()["payload"]["Orders"]) == 16 and "CreatedBefore" in both.json()["payload"]


def test_orders_filters_and_items(sb, api):
    now = time.time()
    shipped = sb.add_order(now - 7200, now - 3600, status="Shipped", sku="S-1", quantity=2)
    fba = sb.add_order(now - 7200, status="Unshipped", fulfillment_channel="AFN")
    r = _orders(api, CreatedAfter=iso_minus(86400), OrderStatuses="Shipped")
    assert [o["AmazonOrderId"] for o in r.json()["payload"]["Orders"]] == [shipped]
    r = _orders(api, CreatedAfter=iso_minus(86400), FulfillmentChannels="AFN")
    assert [o["AmazonOrderId"] for o in r.json()["payload"]["Orders"]] == [fba]
    r = _orders(api, LastUpdatedAfter=iso_minus(5400))
    assert [o["AmazonOrderId"] for o in r.json()["payload"]["Orders"]] == [shipped]
    items = api("GET", f"/orders/v0/orders/{shipped}/orderItems").json()["payload"]
    assert items["AmazonOrderId"] == shipped and items["OrderItems"][0]["QuantityShipped"] == 2
    assert api("GET", "/orders/v0/orders/000-0000000-0000000/orderItems").status_code == 404


# --- faults ----------------------------------------------------------------------------------------


def test_faults(sb, api):
    q = {"marketplaceIds": TR}
    sb.set_faults("getListingsItem", fail_next=1)
    r = api("GET", f"{ITEMS}/X", params=q)
    assert r.status_code == 500 and errors_of(r)[0]["code"] == "InternalFailure"
    assert api("GET", f"{ITEMS}/X", params=q).status_code == 404
    sb.set_faults("getListingsItem", error_rate=1.0, error_status=503)
    assert api("GET", f"{ITEMS}/X", params=q).status_code == 503
    sb.clear_faults()
    sb.set_faults("*", throttle_rate=1.0)
    r = api("GET", f"{ITEMS}/X", params=q)
    assert r.status_code == 429 and errors_of(r)[0]["code"] == "QuotaExceeded"
    sb.clear_faults()
    sb.set_faults("getListingsItem", latency=0.01)
    assert api("GET", f"{ITEMS}/X", params=q).status_code == 404
    sb.configure(hang_seconds=1.0)
    sb.set_faults("getListingsItem", timeout_rate=1.0)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{sb.base_url}{ITEMS}/X", params=q, headers=api.headers, timeout=0.3)
    sb.set_faults("lwaToken", error_rate=1.0)
    assert requests.post(sb.lwa_url, data={"grant_type": "refresh_token"}).status_code == 500
    with pytest.raises(ValueError):
        sb.set_faults("getOrders", error_rate=2)


# --- control surface -------------------------------------------------------------------------------


def test_admin_endpoints(sb, api):
    admin = sb.admin_url
    assert requests.get(f"{admin}/health").json()["ok"] is True
    api(
        "PUT",
        f"{ITEMS}/ADM1",
        params={"marketplaceIds": TR},
        json={"productType": "MONITOR", "attributes": attrs()},
    )
    assert [p["sku"] for p in requests.get(f"{admin}/listings").json()] == ["ADM1"]
    assert requests.post(f"{admin}/orders", json={"count": 3}).status_code == 200
    assert len(requests.get(f"{admin}/orders").json()) == 3
    assert requests.post(f"{admin}/config", json={"feed_delay": 0.01}).json()["feed_delay"] == 0.01
    assert (
        requests.post(f"{admin}/faults", json={"endpoint": "getOrders", "error_rate": 0.5}).status_code == 200
    )
    assert requests.get(f"{admin}/faults").json()["getOrders"]["error_rate"] == 0.5
    assert requests.delete(f"{admin}/faults").json() == {}
    state = requests.get(f"{admin}/state").json()
    assert (
        state["requestLog"]["counts"]["putListingsItem"] == {"200": 1}
        and state["requestLog"]["tokenRequests"] == 1
    )
    assert requests.post(f"{admin}/expire-tokens").json()["expired"] == 1
    assert api("GET", f"{ITEMS}/ADM1", params={"marketplaceIds": TR}).status_code == 403
    assert requests.post(f"{admin}/clock", json={"advance": 10}).status_code == 200
    assert requests.get(f"{admin}/feeds").json() == []
    assert requests.post(f"{admin}/config", json={"nonsense": 1}).status_code == 400
    assert requests.get(f"{admin}/nothing").status_code == 404
    assert requests.post(f"{admin}/reset").json() == {"reset": True}
    assert sb.products() == [] and sb.orders() == [] and sb.request_log()["tokenRequests"] == 0


def test_confirm_shipment_validates_against_the_model(sb, api):
    order_id = sb.add_order(time.time() - 7200, quantity=1)
    item_id = api("GET", f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]["OrderItems"][0][
        "OrderItemId"
    ]
    url = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
    detail = {
        "packageReferenceId": "1",
        "carrierCode": "UPS",
        "trackingNumber": "1Z",
        "shipDate": iso_minus(60),
        "orderItems": [{"orderItemId": item_id, "quantity": 1}],
    }
    r = api(
        "POST",
        url,
        json={
            "marketplaceId": TR,
            "packageDetail": {**detail, "orderItems": [{"orderItemId": item_id, "quantity": "1"}]},
        },
    )
    assert r.status_code == 400 and "expected integer" in errors_of(r)[0]["details"]
    r = api("POST", url, json={"packageDetail": detail})
    assert r.status_code == 400 and "'marketplaceId' is required" in errors_of(r)[0]["details"]
    r = api("POST", url, json={"marketplaceId": TR, "packageDetail": {**detail, "carrierCode": "Other"}})
    assert r.status_code == 400 and "carrierName" in errors_of(r)[0]["message"]
    r = api("POST", url, json={"marketplaceId": DE, "packageDetail": detail})
    assert r.status_code == 400
    r = api(
        "POST",
        url,
        json={
            "marketplaceId": TR,
            "packageDetail": {**detail, "orderItems": [{"orderItemId": item_id, "quantity": 2}]},
        },
    )
    assert r.status_code == 400 and "quantity" in errors_of(r)[0]["message"]
    r = api("POST", url, json={"marketplaceId": TR, "packageDetail": detail})
    assert r.status_code == 204 and r.content == b"" and r.headers["x-amzn-RateLimit-Limit"] == "2"
    assert next(o for o in sb.orders() if o["AmazonOrderId"] == order_id)["OrderStatus"] == "Shipped"
    assert api("POST", url, json={"marketplaceId": TR, "packageDetail": detail}).status_code == 400


def test_search_orders_v2026_rules_and_pagination(sb, api):
    sb.seed_orders(7, days=2)
    url = "/orders/2026-01-01/orders"
    r = api("GET", url, params={})
    assert r.status_code == 400 and "Exactly one of" in errors_of(r)[0]["message"]
    r = api("GET", url, params={"createdAfter": "2020-01-01T00:00:00Z", "fulfillmentStatuses": "Unshipped"})
    assert r.status_code == 400
    r = api("GET", url, params={"createdAfter": "2020-01-01T00:00:00Z", "includedData": "EVERYTHING"})
    assert r.status_code == 400
    base = {"createdAfter": "2020-01-01T00:00:00Z", "maxResultsPerPage": 3}
    first = api("GET", url, params=base).json()
    assert len(first["orders"]) == 3 and "createdBefore" in first and first["pagination"]["nextToken"]
    page_token = first["pagination"]["nextToken"]
    # maxResultsPerPage and includedData may change between pages; other filters may not
    second = api(
        "GET",
        url,
        params={**base, "maxResultsPerPage": 4, "includedData": "BUYER", "paginationToken": page_token},
    )
    assert (
        second.status_code == 200 and len(second.json()["orders"]) == 4 and "pagination" not in second.json()
    )
    r = api("GET", url, params={**base, "fulfilledBy": "AMAZON", "paginationToken": page_token})
    assert r.status_code == 400 and "paginationToken" in errors_of(r)[0]["message"]
    sb.advance_clock(86401)
    api.headers = {"x-amz-access-token": token(sb)}  # the access token expired too
    r = api("GET", url, params={**base, "paginationToken": page_token})
    assert r.status_code == 400 and "expired" in errors_of(r)[0]["message"]
