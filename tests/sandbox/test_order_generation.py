"""Generated orders in the four marketplace sandboxes (sandbox/common/orderfaker.py).

Products are listed through each marketplace's real client; orders are read back through the
client's ``orders_changed_since``, so Turkish names, lines and quantities are checked after
crossing the marketplace's real HTTP order endpoints. Background behaviour is awaited on a
condition (with a generous deadline as a fail-safe), never on elapsed time."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import requests

from sandbox.amazon import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
    TR,
    AmazonSandbox,
)
from sandbox.amazon import app as amazon_app
from sandbox.amazon import schema as amazon_schema
from sandbox.common.orderfaker import PLACES, GeneratorSettings, Offer, OrderFaker, ascii_fold
from sandbox.hepsiburada import HepsiburadaSandbox
from sandbox.hepsiburada import app as hepsiburada_app
from sandbox.hepsiburada.reference import LAPTOPS
from sandbox.n11 import DEMO_CATEGORIES, N11Sandbox
from sandbox.n11 import app as n11_app
from sandbox.trendyol import TrendyolSandbox
from sandbox.trendyol import app as trendyol_app
from tests.conftest import REDIS_URL
from workers.channels.amazon import AmazonClient
from workers.channels.hepsiburada import HepsiburadaClient
from workers.channels.n11 import N11Client
from workers.channels.trendyol import TrendyolClient

# key → (stock, colour or None). GEN-0 has no stock and must never be sold; GEN-3/GEN-4 run out.
PRODUCTS: dict[str, tuple[int, str | None]] = {
    "GEN-0": (0, "Siyah"),
    "GEN-1": (25, "Siyah"),
    "GEN-2": (25, "Beyaz"),
    "GEN-3": (2, None),
    "GEN-4": (1, None),
    "GEN-5": (30, None),
}
SELLABLE = {k for k, (stock, _c) in PRODUCTS.items() if stock > 0}
TURKISH = set("İıŞşĞğÜüÖöÇç")
QUIET = {"cancel_share": 0.0, "advance_share": 0.0}  # nothing happens after the order


def wait_for(predicate: Callable[[], Any], what: str, deadline: float = 20.0) -> Any:
    """Poll ``predicate`` until truthy; the deadline only keeps a broken run from hanging."""
    end = time.monotonic() + deadline
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < end, f"gave up waiting for {what}"
        time.sleep(0.02)


def since() -> datetime:
    return datetime.now(UTC) - timedelta(hours=1)


# --- one harness per marketplace: list products, read orders back through the real client ---------
#
# read_orders() answers {order id: {"name", "lines": {key: quantity}, "variants": {key: colour},
# "state"}} with state one of open | cancelled | shipped | delivered.


class TrendyolMarket:
    code = "trendyol"
    final = "delivered"

    def __init__(self, seed: int | None, **_: Any) -> None:
        self.sb = TrendyolSandbox(batch_delay=0.01, seed=seed).start()
        self.client = TrendyolClient(
            self.sb.base_url, "1001", "sandbox-key", "sandbox-secret", retry_budget=10.0, stream_interval=0.0
        )

    def list_products(self) -> None:
        items = []
        for key, (stock, colour) in PRODUCTS.items():
            attributes: list[dict[str, Any]] = [{"attributeId": 1192, "attributeValueIds": [10617]}]
            if colour:
                attributes += [{"attributeId": 47, "attributeValue": colour}]
            items.append(
                {
                    "barcode": key,
                    "title": f"Kervan örnek ürün {key}",
                    "productMainId": f"GRP-{key}",
                    "brandId": 1791,
                    "categoryId": 1001,
                    "quantity": stock,
                    "stockCode": f"SKU-{key}",
                    "dimensionalWeight": 2,
                    "description": "<p>Açıklama</p>",
                    "listPrice": 250.0,
                    "salePrice": 199.9,
                    "vatRate": 20,
                    "images": [{"url": "https://cdn.example.com/a.jpg"}],
                    "attributes": attributes,
                }
            )
        result = self.client.wait_batch(self.client.create_products(items), timeout=20, interval=0.02)
        assert result.done and all(i.ok for i in result.items), [(i.key, i.reasons) for i in result.items]

    def read_orders(self) -> dict[Any, dict[str, Any]]:
        states = {"Cancelled": "cancelled", "Shipped": "shipped", "Delivered": "delivered"}
        out = {}
        for pkg in self.client.orders_changed_since(since()):
            assert (
                pkg["shipmentAddress"]["fullName"] == f"{pkg['customerFirstName']} {pkg['customerLastName']}"
            )
            out[pkg["shipmentPackageId"]] = {
                "name": f"{pkg['customerFirstName']} {pkg['customerLastName']}",
                "address": pkg["shipmentAddress"]["fullAddress"],
                "lines": dict(Counter({ln["barcode"]: ln["quantity"] for ln in pkg["lines"]})),
                "variants": {ln["barcode"]: ln["productColor"] for ln in pkg["lines"] if ln["productColor"]},
                "state": states.get(pkg["status"], "open"),
            }
        return out

    def stock(self, key: str) -> int:
        return self.sb.product(key)["quantity"]

    def close(self) -> None:
        self.client.close()
        self.sb.stop()


class HepsiburadaMarket:
    code = "hepsiburada"
    final = "delivered"

    def __init__(self, seed: int | None, **_: Any) -> None:
        self.sb = HepsiburadaSandbox(processing_delay=0.01, seed=seed).start()
        m = self.sb.merchant
        self.client = HepsiburadaClient(
            self.sb.base_urls, m.merchant_id, m.username, m.password, m.user_agent, retry_budget=10.0
        )

    def list_products(self) -> None:
        items = []
        for n, (key, (stock, colour)) in enumerate(PRODUCTS.items()):
            attrs: dict[str, Any] = {
                "merchantSku": key,
                "VaryantGroupID": f"G-{key}",
                "Barcode": f"86900000000{n}",
                "UrunAdi": f"Kervan örnek ürün {key}",
                "UrunAciklamasi": "<p>Açıklama</p>",
                "Marka": "Apple",
                "GarantiSuresi": 24,
                "kg": "1",
                "tax_vat_rate": "20",
                "price": "199,90",
                "stock": str(stock),
                "Image1": "https://cdn.example.com/a.jpg",
            }
            if colour:
                attrs["renk_variant_property"] = colour
            items.append(
                {"categoryId": LAPTOPS, "merchant": self.sb.merchant.merchant_id, "attributes": attrs}
            )
        result = self.client.wait_batch(self.client.create_listings(items), timeout=20, interval=0.02)
        assert result.done and all(i.ok for i in result.items), [(i.key, i.reasons) for i in result.items]

    def read_orders(self) -> dict[Any, dict[str, Any]]:
        out: dict[Any, dict[str, Any]] = {}
        rows = list(self.client.orders_changed_since(since()))
        for row in rows:
            if row["_feed"] != "orders":
                continue
            order = out.setdefault(
                row["orderNumber"],
                {"name": row["customerName"], "lines": {}, "variants": {}, "state": "open"},
            )
            assert row["shippingAddress"]["name"] == row["customerName"]
            order["address"] = f"{row['shippingAddress']['town']}/{row['shippingAddress']['city']}"
            order["lines"][row["merchantSKU"]] = order["lines"].get(row["merchantSKU"], 0) + row["quantity"]
            for prop in row.get("properties") or []:
                order["variants"][row["merchantSKU"]] = prop["value"]
        # Lines leave /orders once packed or cancelled; the status feeds say where they went.
        for row in rows:
            state = {"cancelled": "cancelled", "shipped": "shipped", "delivered": "delivered"}.get(
                row["_feed"]
            )
            numbers = [row["orderNumber"]] if row["_feed"] == "cancelled" else row.get("OrderNumbers") or []
            for number in numbers:
                out.setdefault(number, {"name": None, "lines": {}, "variants": {}})["state"] = state
        return out

    def stock(self, key: str) -> int:
        return self.sb.listing(key)["availableStock"]

    def close(self) -> None:
        self.client.close()
        self.sb.stop()


class N11Market:
    code = "n11"
    final = "delivered"

    def __init__(self, seed: int | None, **_: Any) -> None:
        self.sb = N11Sandbox(task_delay=0.01, seed=seed).start()
        self.client = N11Client(self.sb.base_url, "sandbox-appkey", "sandbox-appsecret", retry_budget=10.0)

    def list_products(self) -> None:
        colours = {"Siyah": 201, "Beyaz": 202}
        skus = []
        for key, (stock, colour) in PRODUCTS.items():
            attributes: list[dict[str, Any]] = [{"id": 1, "valueId": None, "customValue": "Apple"}]
            if colour:
                attributes.append({"id": 2, "valueId": colours[colour], "customValue": None})
            skus.append(
                {
                    "title": f"Kervan örnek ürün {key}",
                    "description": "<p>Açıklama</p>",
                    "categoryId": DEMO_CATEGORIES[18],
                    "currencyType": "TL",
                    "productMainId": f"GRP-{key}",
                    "preparingDay": 3,
                    "shipmentTemplate": "Standart",
                    "stockCode": key,
                    "quantity": stock,
                    "images": [{"url": "https://cdn.example.com/a.jpg", "order": 1}],
                    "attributes": attributes,
                    "salePrice": 199.9,
                    "listPrice": 250.0,
                    "vatRate": 20,
                }
            )
        result = self.client.wait_task(self.client.create_products(skus), timeout=20, interval=0.02)
        assert result.done and all(i.ok for i in result.items), [(i.key, i.reasons) for i in result.items]

    def read_orders(self) -> dict[Any, dict[str, Any]]:
        out = {}
        for pkg in self.client.orders_changed_since(since()):
            status = pkg["shipmentPackageStatus"].strip()
            out[pkg["id"]] = {
                "name": pkg["customerfullName"],
                "address": f"{pkg['shippingAddress']['district']}/{pkg['shippingAddress']['city']}",
                "lines": {ln["stockCode"]: ln["quantity"] for ln in pkg["lines"]},
                "variants": {
                    ln["stockCode"]: ln["variantAttributes"][0]["value"]
                    for ln in pkg["lines"]
                    if ln["variantAttributes"]
                },
                "state": {"Cancelled": "cancelled", "Shipped": "shipped", "Delivered": "delivered"}.get(
                    status, "open"
                ),
            }
        return out

    def stock(self, key: str) -> int:
        return self.sb.product(key)["quantity"]

    def close(self) -> None:
        self.client.close()
        self.sb.stop()


class AmazonMarket:
    code = "amazon"
    final = "shipped"  # Orders API v0 has no delivered status

    def __init__(self, seed: int | None, *, rclient: redis.Redis, prefix: str) -> None:
        self.sb = AmazonSandbox(feed_delay=0.01, seed=seed, rate_limits_enabled=False).start()
        self.client = AmazonClient(
            self.sb.base_url,
            self.sb.lwa_url,
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            DEFAULT_REFRESH_TOKEN,
            DEFAULT_SELLER_ID,
            [TR],
            redis_client=rclient,
            redis_prefix=prefix,
            retry_budget=10.0,
        )

    def list_products(self) -> None:
        for key, (stock, colour) in PRODUCTS.items():
            attrs: dict[str, Any] = {
                "item_name": [{"value": f"Kervan örnek ürün {key}", "marketplace_id": TR}],
                "brand": [{"value": "Kervan"}],
                "bullet_point": [{"value": "Geniş ekran"}],
                "product_description": [{"value": "Açıklama"}],
                "condition_type": [{"value": "new_new"}],
                "main_product_image_locator": [{"media_location": "https://cdn.example.com/a.jpg"}],
                "purchasable_offer": [
                    {
                        "currency": "TRY",
                        "marketplace_id": TR,
                        "our_price": [{"schedule": [{"value_with_tax": 199.9}]}],
                    }
                ],
                "fulfillment_availability": [{"fulfillment_channel_code": "DEFAULT", "quantity": stock}],
            }
            if colour:
                attrs["color"] = [{"value": colour, "marketplace_id": TR}]
            assert self.client.put_listings_item(key, "MONITOR", attrs)["status"] == "ACCEPTED"

    def read_orders(self) -> dict[Any, dict[str, Any]]:
        # getOrders shows nothing younger than 2 minutes: let the sandbox's clock pass them.
        self.sb.advance_clock(180)
        states = {"Canceled": "cancelled", "Shipped": "shipped"}
        spec = amazon_schema.load("ordersV0.json")
        out = {}
        for order in self.client.orders_changed_since(since()):
            assert amazon_schema.errors(order, spec["definitions"]["Order"], spec) == []
            items = self.client.order_items(order["AmazonOrderId"])
            address = order.get("ShippingAddress")
            if address is not None:
                assert address["Name"] == order["BuyerInfo"]["BuyerName"]
            out[order["AmazonOrderId"]] = {
                "name": order["BuyerInfo"]["BuyerName"],
                "address": f"{address['City']}/{address['StateOrRegion']}" if address else None,
                "lines": {i["SellerSKU"]: i["QuantityOrdered"] for i in items},
                "variants": {
                    i["SellerSKU"]: m.group(1) for i in items if (m := re.search(r"\((\w+)\)$", i["Title"]))
                },
                "state": states.get(order["OrderStatus"], "open"),
            }
        return out

    def stock(self, key: str) -> int:
        attrs = self.sb.product(key)["attributes"]
        return next(fa["quantity"] for fa in attrs["fulfillment_availability"])

    def close(self) -> None:
        self.client.close()
        self.sb.stop()


MARKETS = {m.code: m for m in (TrendyolMarket, HepsiburadaMarket, N11Market, AmazonMarket)}


@pytest.fixture
def rclient() -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(REDIS_URL)
    yield r
    r.close()


@pytest.fixture
def open_market(rclient, redis_prefix):
    """``open_market(code, seed)``: a started sandbox with its client, closed after the test."""
    opened: list[Any] = []

    def build(code: str, seed: int | None = 11) -> Any:
        market = MARKETS[code](seed, rclient=rclient, prefix=f"{redis_prefix}{len(opened)}:")
        opened.append(market)
        return market

    yield build
    for market in opened:
        market.close()


@pytest.fixture(params=list(MARKETS))
def market(request, open_market) -> Any:
    m = open_market(request.param)
    m.list_products()
    return m


# --- the faker -------------------------------------------------------------------------------------


def test_faker_customers_are_turkish_and_reproducible():
    a, b = OrderFaker(5), OrderFaker(5)
    customers = [a.customer() for _ in range(300)]
    assert customers == [b.customer() for _ in range(300)]
    assert customers != [OrderFaker(6).customer() for _ in range(300)]
    letters = set("".join(f"{c.full_name} {c.address.full}" for c in customers))
    assert TURKISH <= letters, TURKISH - letters
    for c in customers:
        assert re.fullmatch(r"05\d{9}", c.phone) and c.phone_e164 == "+90" + c.phone[1:]
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d{1,2}@[a-z.]+", c.email)
        assert c.email.startswith(f"{ascii_fold(c.first_name)}.{ascii_fold(c.last_name)}")
        # a real il/ilçe pair, and a postcode that starts with the il's plate code
        assert any((p.province, p.district) == (c.address.province, c.address.district) for p in PLACES)
        assert c.address.postcode[:2] == f"{c.address.province_code:02d}" and len(c.address.postcode) == 5
    assert ascii_fold("İğneci Şükrü Çağlayan Işık Öz") == "ignecisukrucaglayanisikoz"


def test_faker_lines_respect_stock():
    offers = [
        Offer("A", "A", 10.0, 1),
        Offer("B", "B", 10.0, 3, (("Renk", "Gri"),)),
        Offer("C", "C", 10.0, 0),
        Offer("D", "D", 0.0, 5),
        Offer("E", "E", 10.0, 50),
    ]
    faker = OrderFaker(1)
    sizes = Counter()
    for _ in range(500):
        lines = faker.lines(offers)
        sizes[len(lines)] += 1
        keys = [ln.offer.key for ln in lines]
        assert len(keys) == len(set(keys)) and set(keys) <= {"A", "B", "E"}
        assert all(1 <= ln.quantity <= ln.offer.stock for ln in lines)
    assert set(sizes) == {1, 2, 3}
    assert faker.lines([Offer("C", "C", 10.0, 0)]) == () and faker.order([]) is None


def test_generator_settings_are_checked():
    s = GeneratorSettings()
    s.update(rate_per_minute="6", cancel_share=0.2, advance_share="0.5", cancel_after=[1, 2], advance_after=3)
    assert s.as_dict()["cancel_after"] == [1.0, 2.0] and s.advance_after == (3.0, 3.0)
    for bad in (
        {"cancel_share": 1.5},
        {"cancel_share": 0.6, "advance_share": 0.6},
        {"rate_per_minute": -1},
        {"cancel_after": [5, 1]},
        {"speed": 1},
    ):
        with pytest.raises(ValueError):
            s.update(**bad)
    assert s.cancel_share == 0.2 and s.rate_per_minute == 6.0  # a refused update changes nothing


# --- every sandbox -----------------------------------------------------------------------------------


def test_generated_orders_cross_the_real_order_endpoints(market):
    before = {k: market.stock(k) for k in PRODUCTS}
    market.sb.configure_order_generator(**QUIET)
    ids = market.sb.generate_orders(20)
    assert len(ids) == len(set(ids)) == 20
    made = {h["id"]: h for h in market.sb.order_generator.history()}
    assert list(made) == ids

    read = market.read_orders()
    assert set(ids) <= set(read)
    names = []
    sold: Counter[str] = Counter()
    for order_id in ids:
        order, want = read[order_id], made[order_id]
        customer = want["customer"]
        names.append(order["name"])
        assert order["name"] == f"{customer['first_name']} {customer['last_name']}"
        assert customer["address"]["district"] in order["address"]
        assert customer["address"]["province"] in order["address"]
        assert order["lines"] == {ln["key"]: ln["quantity"] for ln in want["lines"]}
        assert 1 <= len(order["lines"]) <= 3 and set(order["lines"]) <= SELLABLE
        for key, quantity in order["lines"].items():
            sold[key] += quantity
            colour = PRODUCTS[key][1]
            assert order["variants"].get(key) == colour
        assert order["state"] == "open"
    assert TURKISH & set("".join(names)), names
    # Selling lowered the sandbox's own stock by exactly what was sold, never below zero.
    for key, (stock, _colour) in PRODUCTS.items():
        assert sold[key] <= stock
        assert market.stock(key) == before[key] - sold[key] >= 0
    assert market.stock("GEN-0") == 0 and sold["GEN-0"] == 0


@pytest.mark.parametrize("code", list(MARKETS))
def test_generation_is_deterministic_per_seed(open_market, code):
    def run(seed: int) -> list[tuple]:
        m = open_market(code, seed)
        m.list_products()
        m.sb.generate_orders(8)
        return [(str(h["customer"]), str(h["lines"]), h["fate"]) for h in m.sb.order_generator.history()]

    first = run(42)
    assert len(first) == 8
    assert run(42) == first
    assert run(43) != first


def test_selling_out_stops_generation(open_market):
    m = open_market("trendyol")
    m.list_products()
    m.sb.configure_order_generator(**QUIET)
    ids = m.sb.generate_orders(200)
    total = sum(stock for stock, _c in PRODUCTS.values())
    assert 0 < len(ids) < 200
    assert all(m.stock(k) == 0 for k in PRODUCTS)
    sold = sum(ln["quantity"] for h in m.sb.order_generator.history() for ln in h["lines"])
    assert sold == total
    assert m.sb.generate_orders(1) == []


def test_a_rate_produces_orders_in_the_background(market):
    sb = market.sb
    sb.configure_order_generator(rate_per_minute=1200, **QUIET)
    wait_for(lambda: sb.order_generator.status()["created"] >= 4, "background orders")
    status = sb.configure_order_generator(rate_per_minute=0)
    assert status["rate_per_minute"] == 0 and status["running"] and status["errors"] == 0
    made = [h["id"] for h in sb.order_generator.history()]
    assert set(made) <= set(market.read_orders())


def test_customers_cancel_the_configured_share(market):
    sb = market.sb
    sb.configure_order_generator(cancel_share=0.3, advance_share=0.0, cancel_after=0)
    ids = sb.generate_orders(20)
    wait_for(sb.order_generator.idle, "cancellations")
    doomed = {h["id"] for h in sb.order_generator.history() if h["fate"] == "cancel"}
    assert 2 <= len(doomed) <= 12  # 30% of 20, as this seed draws it
    status = sb.order_generator.status()
    assert status["cancelled"] == len(doomed) and status["refused"] == status["errors"] == 0
    read = market.read_orders()
    assert {i for i in ids if read[i]["state"] == "cancelled"} == doomed
    assert all(read[i]["state"] == "open" for i in set(ids) - doomed)


def test_orders_move_on_to_the_end(market):
    sb = market.sb
    stock = {k: market.stock(k) for k in PRODUCTS}
    sb.configure_order_generator(cancel_share=0.0, advance_share=1.0, advance_after=[0, 0.05])
    ids = sb.generate_orders(3)
    wait_for(lambda: sb.order_generator.status()["finished"] == 3, "orders reaching their end")
    assert sb.order_generator.status()["errors"] == 0
    read = market.read_orders()
    assert [read[i]["state"] for i in ids] == [market.final] * 3
    sold = Counter()
    for h in sb.order_generator.history():
        sold.update({ln["key"]: ln["quantity"] for ln in h["lines"]})
    assert all(market.stock(k) == stock[k] - sold[k] for k in PRODUCTS)  # moving on takes no more stock


def test_control_endpoint(market):
    url = f"{market.sb.admin_url}/orders/generate"
    r = requests.post(url, json={"count": 3, **QUIET}, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["created"]) == 3 and body["generator"]["created"] == 3
    assert body["created"] == [h["id"] for h in market.sb.order_generator.history()]
    r = requests.post(
        url,
        json={"rate_per_minute": 2, "cancel_share": 0.1, "advance_share": 0.3, "cancel_after": [5, 9]},
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["created"] == []
    status = requests.get(url, timeout=10).json()
    assert (status["rate_per_minute"], status["cancel_share"], status["advance_share"]) == (2.0, 0.1, 0.3)
    assert status["cancel_after"] == [5.0, 9.0]
    for bad in ({"cancel_share": 2}, {"count": -1}, {"count": "x"}, {"colour": "red"}):
        assert requests.post(url, json=bad, timeout=10).status_code == 400, bad
    assert requests.get(url, timeout=10).json()["cancel_share"] == 0.1
    requests.post(url, json={"rate_per_minute": 0}, timeout=10)


def test_reset_restarts_the_sequence_and_keeps_settings(open_market):
    m = open_market("n11")
    m.list_products()
    m.sb.configure_order_generator(cancel_share=0.25, **{"advance_share": 0.0})
    m.sb.generate_orders(2)
    first = [h["customer"] for h in m.sb.order_generator.history()]
    m.sb.reset()
    status = m.sb.order_generator.status()
    assert status["created"] == 0 and status["pending"] == 0 and status["cancel_share"] == 0.25
    assert m.sb.generate_orders(1) == []  # reset forgot the products too
    m.list_products()
    m.sb.generate_orders(2)
    assert [h["customer"] for h in m.sb.order_generator.history()] == first


@pytest.mark.parametrize("module", [trendyol_app, hepsiburada_app, n11_app, amazon_app])
def test_foreground_flags_configure_the_generator(monkeypatch, module):
    seen: dict[str, Any] = {}
    monkeypatch.setattr(module, "serve", lambda **kw: seen.update(kw))
    assert module.main(["--order-rate", "3", "--order-cancel-share", "0.2"]) == 0
    assert seen["order_generator"] == {"rate_per_minute": 3.0, "cancel_share": 0.2, "advance_share": 0.3}
    assert module.main([]) == 0
    assert seen["order_generator"]["rate_per_minute"] == 0.0
