"""A supplier's rules as pure functions: categories, price, stock, policies, GTINs, escaping."""

from __future__ import annotations

from decimal import Decimal

import pytest

from workers.suppliers import rules as r
from workers.suppliers.apply import oc_escape, oc_fit
from workers.suppliers.desired import gtin_kind, image_path, prepare
from workers.suppliers.model import FeedItem


def item(**kw) -> FeedItem:
    return FeedItem(**{"record": 1, "code": "A1", "name": "Ürün", "price": Decimal("100"), **kw})


def test_category_paths_map_with_turkish_case_folding_and_longest_prefix():
    cats = r.CategoryRules.from_dict({"map": {"ELEKTRONİK > Telefon": 20, "Elektronik": [7, 8],
                                              "Işık -> Lamba": "31"}, "default": 99})
    assert cats.map(("elektronik", "TELEFON")) == ((20,), True)
    assert cats.map(("Elektronik  ", "Telefon", "Kılıf")) == ((20,), True)  # deeper: longest prefix
    assert cats.map(("Elektronik", "Tablet")) == ((7, 8), True)
    assert cats.map(("IŞIK > lamba",)) == ((31,), True)  # one string with a separator; I → ı
    assert cats.map(("Isik", "Lamba")) == ((99,), False)  # "Isik" is not "Işık": default, reported
    assert r.CategoryRules.from_dict({}).map(("x",)) == ((), False)
    assert r.fold("İSTANBUL") == "istanbul" and r.fold("ISPARTA") == "ısparta"
    with pytest.raises(r.RulesError):
        r.CategoryRules.from_dict({"map": {"A": "yirmi"}})


def test_markup_by_cost_range_fixed_amount_and_rounding():
    rules = r.PriceRules.from_dict({"markups": [{"up_to": "100", "percent": "50"}, {"up_to": "1000", "percent": "20"},
                                                {"percent": "10"}], "fixed": "5", "rounding": ".90",
                                    "vat_included": False})
    assert r.price(item(price=Decimal("80")), rules).net == Decimal("125.90")  # 80*1.5+5 = 125 → 125.90
    assert r.price(item(price=Decimal("500")), rules).net == Decimal("605.90")  # 500*1.2+5
    assert r.price(item(price=Decimal("2000")), rules).net == Decimal("2205.90")  # 2000*1.1+5
    assert r.round_to_ending(Decimal("125.95"), Decimal("0.90")) == Decimal("126.90")
    assert r.round_to_ending(Decimal("125.99"), Decimal("0.99")) == Decimal("125.99")
    assert r.round_to_ending(Decimal("125.991"), None) == Decimal("126.00")
    with pytest.raises(r.RulesError):
        r.PriceRules.from_dict({"markups": [{"percent": "10"}, {"up_to": "5", "percent": "1"}]})
    with pytest.raises(r.RulesError):
        r.PriceRules.from_dict({"rounding": ".95"})


def test_vat_included_prices_become_net_and_gross_is_rounded():
    rules = r.PriceRules.from_dict({"markups": [{"percent": "25"}], "rounding": ".99", "tax_class_id": 9,
                                    "vat_included": True, "vat_rate": "20"})
    p = r.price(item(price=Decimal("120")), rules)  # 100 net cost → 125 net → 150 gross → 150.99
    assert p.cost_net == Decimal("100.0000") and p.gross == Decimal("150.99")
    assert p.net == Decimal("125.8250")
    # The feed's own VAT figures win over the rules' defaults.
    p = r.price(item(price=Decimal("110"), vat_rate=Decimal("0.10"), vat_included=True), rules)
    assert p.cost_net == Decimal("100.0000") and p.gross == Decimal("137.99")
    with pytest.raises(r.ItemRejected):
        r.price(item(vat_rate=Decimal("1.5")), rules)


def test_minimum_margin_and_currency_conversion():
    rules = r.PriceRules.from_dict({"markups": [{"percent": "2"}], "min_margin_percent": "10",
                                    "min_margin_amount": "1", "rates": {"usd": "34.50"}, "vat_included": False})
    assert r.price(item(price=Decimal("100")), rules).net == Decimal("111.00")  # 102 < 100*1.1+1
    p = r.price(item(price=Decimal("10"), currency="USD"), rules)
    assert p.cost_net == Decimal("345.0000") and p.net == Decimal("380.50")
    with pytest.raises(r.ItemRejected, match="EUR"):
        r.price(item(currency="EUR"), rules)
    with pytest.raises(r.ItemRejected):
        r.price(item(price=None), rules)
    with pytest.raises(r.ItemRejected):
        r.price(item(price=Decimal("-10")), rules)
    with pytest.raises(r.RulesError):
        r.PriceRules.from_dict({"rates": {"USD": "0"}})


def test_list_price_as_source():
    rules = r.PriceRules.from_dict({"source": "list", "vat_included": False})
    p = r.price(item(price=Decimal("60"), list_price=Decimal("99.5")), rules)
    assert p.net == Decimal("99.50") and p.cost_net == Decimal("60.0000")


def test_stock_rules():
    rules = r.StockRules.from_dict({"buffer": 2, "in_stock_quantity": 7, "unknown_quantity": 1, "max": 50})
    assert r.quantity(item(quantity=10), rules) == 8
    assert r.quantity(item(quantity=1), rules) == 0
    assert r.quantity(item(quantity=-5), rules) == 0
    assert r.quantity(item(quantity=999), rules) == 48  # placeholder stock capped, then the buffer
    assert r.quantity(item(in_stock=True), rules) == 5  # "var"
    assert r.quantity(item(in_stock=False), rules) == 0  # "yok"
    assert r.quantity(item(), rules) == 0  # unknown: 1 − buffer 2
    with pytest.raises(r.RulesError):
        r.StockRules.from_dict({"buffer": -1})


def test_policies_are_checked():
    rules = r.Rules.from_dict({"new_products": "ignore", "missing_products": "disable", "store_ids": [0, 2]})
    assert (rules.new_products, rules.missing_products, rules.store_ids) == ("ignore", "disable", (0, 2))
    assert r.Rules.from_dict(None).new_products == "create_disabled"
    for bad in ({"new_products": "delete"}, {"missing_products": "delete"}, {"stock": {"buffer": "x"}}):
        with pytest.raises(r.RulesError):
            r.Rules.from_dict(bad)


def test_gtin_check_digit_and_length():
    assert gtin_kind("4006381333931") == ("EAN", "4006381333931")
    assert gtin_kind("'036000291452") == ("UPC", "036000291452")  # Excel's apostrophe
    assert gtin_kind("96385074") == ("EAN", "96385074")  # GTIN-8
    assert gtin_kind("4006381333932") is None  # wrong check digit
    assert gtin_kind("EVKTY2167001") is None and gtin_kind("12345") is None


def test_prepare_reports_unmapped_category_and_bad_barcode_and_hashes_in_halves():
    rules = r.Rules.from_dict({"categories": {"map": {"A": 1}}})
    d = prepare(item(barcode="123", category_path=("B",), images=("//x.com/a.webp?v=2", "x.com/a.webp?v=3", "")),
                rules, "acme")
    assert any("not mapped" in p for p in d.problems) and any("GTIN" in p for p in d.problems)
    assert d.barcode == "" and d.raw_barcode == "123"
    assert len(d.images) == 1 and d.images[0][0].endswith(".webp")  # cache-busting query ignored
    stock_only = prepare(item(barcode="123", category_path=("B",), quantity=5,
                              images=("//x.com/a.webp?v=2", "x.com/a.webp?v=3", "")), rules, "acme")
    assert stock_only.content_hash == d.content_hash and stock_only.offer_hash != d.offer_hash
    renamed = prepare(item(name="Başka", barcode="123", category_path=("B",),
                           images=("//x.com/a.webp?v=2",)), rules, "acme")
    assert renamed.content_hash != d.content_hash and renamed.offer_hash == d.offer_hash
    busted = prepare(item(barcode="123", category_path=("B",), images=("//x.com/a.webp?v=9",)), rules, "acme")
    assert busted.hash == d.hash  # an export's new cache-busting query is no change
    with pytest.raises(r.ItemRejected):
        prepare(item(name=" "), rules, "acme")
    assert image_path("", "acme") is None


def test_escaping_matches_php_htmlspecialchars_ent_compat():
    assert oc_escape(' Ayşe\'nin "İyi" <b>&amp; </b>\n') == "Ayşe'nin &quot;İyi&quot; &lt;b&gt;&amp;amp; &lt;/b&gt;"
    assert oc_fit("a & b", 6) == "a"  # never half an entity
    assert len(oc_fit("ı" * 300, 255)) == 255
