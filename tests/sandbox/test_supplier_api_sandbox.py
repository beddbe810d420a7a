"""The supplier order/tracking API sandbox held to its contract over raw HTTP (no Kervan client):
token auth, idempotent order creation, out-of-stock and validation answers, tracking, faults and
the ``/__sandbox/`` control surface."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sandbox.supplier.api import DEFAULT_TOKEN, SupplierApiSandbox

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


def order_body(ref: str = "100-1", code: str = "SUP-1", qty: int = 2) -> dict:
    return {"reference": ref, "shipTo": {"name": "Ayşe Yılmaz", "phone": "05321234567", "address": "Atatürk Cd. 1",
                                         "district": "Çankaya", "city": "Ankara", "country": "TR"},
            "items": [{"code": code, "quantity": qty}]}


@pytest.fixture
def sb() -> Iterator[SupplierApiSandbox]:
    with SupplierApiSandbox(out_of_stock=["GONE-1"]) as sandbox:
        yield sandbox


def post(sb: SupplierApiSandbox, body: dict, key: str | None = "k-1", headers: dict | None = None,
         timeout: float = 10) -> requests.Response:
    h = {**AUTH, **({"Idempotency-Key": key} if key else {}), **(headers or {})}
    return requests.post(f"{sb.base_url}/orders", json=body, headers=h, timeout=timeout)


def test_an_order_is_created_once_per_idempotency_key(sb):
    first = post(sb, order_body())
    assert first.status_code == 201 and first.json()["orderId"] == "SO-000001"
    again = post(sb, order_body())
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = post(sb, order_body(ref="101-1"), key="k-2")
    assert other.status_code == 201 and other.json()["orderId"] == "SO-000002"
    held = sb.orders()
    assert [(o["orderId"], o["idempotencyKey"], o["replays"]) for o in held] == [("SO-000001", "k-1", 1),
                                                                              ("SO-000002", "k-2", 0)]
    assert held[0]["body"]["shipTo"]["name"] == "Ayşe Yılmaz"
    # The same key with another order is a client bug, not a new order.
    reused = post(sb, order_body(qty=5))
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key.reused"
    assert len(sb.orders()) == 2
    listed = requests.get(f"{sb.admin_url}/orders", timeout=5).json()["orders"]
    assert [o["orderId"] for o in listed] == ["SO-000001", "SO-000002"]


def test_auth_key_and_validation_are_checked(sb):
    assert requests.post(f"{sb.base_url}/orders", json=order_body(), headers={"Idempotency-Key": "x"},
                         timeout=5).status_code == 401
    assert post(sb, order_body(), headers={"Authorization": "Bearer wrong"}).status_code == 401
    no_key = post(sb, order_body(), key=None)
    assert no_key.status_code == 400 and no_key.json()["error"] == "idempotency_key.required"
    bad = order_body()
    del bad["shipTo"]["phone"]
    bad["items"].append({"code": "", "quantity": 1})
    bad["items"].append({"code": "X", "quantity": 0})
    r = post(sb, bad)
    assert r.status_code == 422 and r.json()["error"] == "validation"
    assert r.json()["fields"] == ["shipTo.phone", "items[1].code", "items[2].quantity"]
    assert requests.get(f"{sb.base_url}/orders/SO-999", headers=AUTH, timeout=5).status_code == 404
    assert requests.get(f"{sb.base_url}/orders", headers=AUTH, timeout=5).status_code == 405
    assert sb.orders() == []


def test_out_of_stock_codes_are_refused_with_the_codes(sb):
    body = order_body()
    body["items"].append({"code": "GONE-1", "quantity": 1})
    r = post(sb, body)
    assert r.status_code == 409 and r.json()["error"] == "out_of_stock" and r.json()["codes"] == ["GONE-1"]
    assert sb.orders() == []
    # Restocked: the same key now creates the order (a refusal is not remembered under the key).
    sb.configure(out_of_stock=[])
    assert post(sb, body).status_code == 201


def test_tracking_appears_when_the_supplier_ships(sb):
    order_id = post(sb, order_body()).json()["orderId"]
    url = f"{sb.base_url}/orders/{order_id}/tracking"
    before = requests.get(url, headers=AUTH, timeout=5).json()
    assert before["status"] == "received" and before["trackingNumber"] is None
    r = requests.post(f"{sb.admin_url}/ship", json={"orderId": order_id, "carrier": "Aras Kargo",
                                                    "trackingNumber": "AR123456789"}, timeout=5)
    assert r.status_code == 200
    after = requests.get(url, headers=AUTH, timeout=5).json()
    assert (after["status"], after["carrier"], after["trackingNumber"]) == ("shipped", "Aras Kargo", "AR123456789")
    assert after["trackingUrl"].endswith("AR123456789")
    assert requests.get(f"{sb.base_url}/orders/{order_id}", headers=AUTH, timeout=5).json()["status"] == "shipped"


def test_tracking_after_a_configured_delay():
    with SupplierApiSandbox(tracking_delay=0) as sb:
        order_id = post(sb, order_body()).json()["orderId"]
        view = requests.get(f"{sb.base_url}/orders/{order_id}/tracking", headers=AUTH, timeout=5).json()
        assert view["status"] == "shipped" and view["trackingNumber"] and view["carrier"]


def test_faults_answer_5xx_or_drop_the_connection(sb):
    requests.post(f"{sb.admin_url}/faults", json={"endpoint": "create_order", "fail_next": 1, "error_status": 503},
                  timeout=5)
    assert post(sb, order_body()).status_code == 503
    assert sb.orders() == []
    sb.faults.set("create_order", drop_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        post(sb, order_body())
    sb.faults.clear()
    # A lost response: the supplier has the order, the client never heard; the retry finds it.
    sb.faults.set("create_order", lost_response_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        post(sb, order_body())
    sb.faults.clear()
    assert post(sb, order_body()).status_code == 200
    assert len(sb.orders()) == 1
    statuses = [r["status"] for r in sb.requests()]
    assert statuses == [503, "dropped", "lost_response", 200]


def test_a_held_answer_comes_after_the_order_is_stored(sb):
    sb.configure(hold_after_create=5)
    with pytest.raises(requests.ReadTimeout):
        post(sb, order_body(), timeout=0.5)
    assert len(sb.orders()) == 1  # stored before the client heard anything
