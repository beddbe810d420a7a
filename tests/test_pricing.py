"""A channel's price rules: markup, fixed amount, .99/.90 endings and a minimum, applied to what
each marketplace receives."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bridge import channels
from kervan import demo_store
from sandbox.n11 import N11Sandbox
from tests.test_catalog_channels import listing, saved, settle
from workers.catalog import handler_for
from workers.clients import build_client
from workers.pricing import PriceRules
from workers.stock import StockRules


@pytest.mark.parametrize("rules, price, expected", [
    ({}, "100", "100.00"),
    ({"price_markup_percent": 10}, "100", "110.00"),
    ({"price_markup_percent": 10, "price_fixed_amount": 5}, "100", "115.00"),
    ({"price_rounding": "0.99"}, "12.30", "12.99"),
    ({"price_rounding": "0.99"}, "12.99", "12.99"),
    ({"price_rounding": "0.99"}, "12.995", "13.99"),  # 13.00 after rounding to cents: the next .99 above
    ({"price_rounding": "0.90"}, "12.95", "13.90"),
    ({"price_rounding": "0.90"}, "12.10", "12.90"),
    ({"price_minimum": 50}, "20", "50"),
    ({"price_minimum": 0}, "20", "20.00"),  # the admin's 0: no minimum
    ({"price_markup_percent": 12.5, "price_rounding": "0.99", "price_minimum": 30}, "24", "30"),
])
def test_rules(rules, price, expected):
    # The keys are those the admin's Rules page writes (opencart_extension/.../rule.php).
    assert PriceRules.from_settings(rules).apply(Decimal(price)) == Decimal(expected)


def test_an_unknown_rounding_is_refused():
    with pytest.raises(ValueError):
        PriceRules.from_settings({"price_rounding": "0.95"})


@pytest.mark.parametrize("settings, quantity, cap, expected", [
    ({}, 7, None, 7),
    ({"stock_buffer": 2}, 7, None, 5),
    ({"stock_buffer": 9}, 7, None, 0),  # never negative
    ({"stock_maximum": 5}, 7, None, 5),
    ({"stock_maximum": 0}, 7, None, 7),  # the admin's 0: no maximum
    ({}, 30_000, 20_000, 20_000),  # the marketplace's cap
    ({"stock_buffer": 1, "stock_maximum": 100}, 30_000, 20_000, 100),
])
def test_stock_rules(settings, quantity, cap, expected):
    assert StockRules.from_settings(settings).sellable(quantity, cap=cap) == expected
    assert StockRules.from_settings(settings).sellable(quantity, enabled=False, cap=cap) == 0


def test_the_marketplace_receives_the_ruled_price(store41, cfg_factory):
    sb = N11Sandbox(task_delay=0.05).start()
    try:
        demo_store.install_n11(store41, sb.base_url)
        account = channels.get(store41, "n11")
        settings = {**account.settings, "price_markup_percent": 10, "price_rounding": "0.99"}
        store41.execute("UPDATE {p}kervan_channel SET settings = %s WHERE channel_id = %s",
                        (json.dumps(settings), account.channel_id))
        account = channels.get(store41, "n11")
        cat = handler_for(store41, account, build_client(cfg_factory(store41), account))
        cat.handle(saved(40))
        settle(store41, cat)
        held = cat.client.find_listings([listing(store41, 40)["remote_sku"]])[0]
        base = Decimal(str(cat.mapping() and cat.desired(cat.reader.get(40), None)["salePrice"]))
        assert Decimal(str(held["salePrice"])) == PriceRules(Decimal(10), rounding=Decimal("0.99")).apply(base)
        assert str(held["salePrice"]).endswith(".99")
    finally:
        sb.stop()


def test_amazon_offer_carries_the_ruled_price(store41, cfg_factory):
    from sandbox.amazon import AmazonSandbox

    sb = AmazonSandbox(feed_delay=0.05).start()
    try:
        demo_store.install_amazon(store41, sb.base_url)
        account = channels.get(store41, "amazon")
        settings = {**account.settings, "price_fixed_amount": 7, "price_rounding": "0.90"}
        store41.execute("UPDATE {p}kervan_channel SET settings = %s WHERE channel_id = %s",
                        (json.dumps(settings), account.channel_id))
        account = channels.get(store41, "amazon")
        cat = handler_for(store41, account, build_client(cfg_factory(store41), account))
        cat.handle(saved(40))
        held = cat.client.find_listings([listing(store41, 40)["remote_sku"]])[0]
        offer = held["attributes"]["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"]
        base = Decimal(str(cat.desired(cat.reader.get(40), None)["price"]))
        assert Decimal(str(offer)) == PriceRules(fixed=Decimal(7), rounding=Decimal("0.90")).apply(base)
    finally:
        sb.stop()
