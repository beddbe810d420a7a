"""Supplier items written into OpenCart (4.1.0.4 and 4.0.2.3 through the ``store`` fixture) the way
OpenCart stores them, read back through Kervan's own product read model."""

from __future__ import annotations

from decimal import Decimal

from bridge.opencart import ProductReader, detect_version
from workers.suppliers import store as suppliers
from workers.suppliers.apply import FeedApplier, group_items, oc_escape
from workers.suppliers.desired import prepare
from workers.suppliers.model import FeedItem
from workers.suppliers.rules import Rules

RULES = {
    "categories": {"map": {"Elektronik > Telefon": 24, "Giyim": [20, 18]}},
    "price": {"markups": [{"percent": "50"}], "rounding": ".99", "tax_class_id": 9, "vat_included": False},
    "stock": {"buffer": 1},
    "new_products": "create_enabled",
}
NAME = 'İğneada Işıklı Şarj "Pro" <b> & Çanta'
DESCRIPTION = "<p>Güçlü <strong>ışık</strong> &amp; İyi</p>"


def _supplier(db, rules=None) -> suppliers.Supplier:
    s = suppliers.Supplier(code="acme", name="Acme Toptan", rules_raw=rules or RULES)
    suppliers.save(db, s)
    return s


def _apply(db, s, items):
    applier = FeedApplier(db, s.supplier_id, s.code, s.rules)
    return applier, applier.apply(group_items(prepare(i, s.rules, s.code) for i in items))


def _outbox(db):
    return db.query("SELECT event_type, aggregate_id, payload FROM {p}kervan_outbox ORDER BY id")


def _phone(**kw) -> FeedItem:
    base = dict(record=1, code="TEL-1", name=NAME, description=DESCRIPTION, brand="Şahin Elektronik",
                barcode="8690000000012", category_path=("Elektronik", "Telefon"), price=Decimal("100.00"),
                quantity=6, images=("https://cdn.example.com/a.jpg?v=1", "cdn.example.com/b.png"))
    base.update(kw)
    return FeedItem(**base)


def test_simple_item_is_stored_as_opencart_stores_it(store):
    s = _supplier(store)
    _, counts = _apply(store, s, [_phone(), _phone(record=2, code="TEL-2", barcode="'12345", name="Kılıf")])
    assert (counts.created, counts.updated, counts.events) == (2, 0, 2)

    link = store.one("SELECT * FROM {p}kervan_supplier_product WHERE item_key = 'TEL-1'")
    pid = int(link["product_id"])
    row = store.one("SELECT * FROM {p}product WHERE product_id = %s", (pid,))
    # 100 net × 1.5 = 150 net → 180.00 gross → 180.99 (.99 ending) → 150.825 net
    assert Decimal(row["price"]) == Decimal("150.8250")
    assert row["quantity"] == 5  # buffer 1
    assert row["status"] == 1 and row["subtract"] == 1 and row["tax_class_id"] == 9
    assert row["model"] == "TEL-1"
    assert row["image"].startswith("catalog/kervan/acme/") and row["image"].endswith(".jpg")

    desc = store.query("SELECT * FROM {p}product_description WHERE product_id = %s", (pid,))
    languages = store.query("SELECT language_id FROM {p}language")
    assert len(desc) == len(languages)
    assert desc[0]["name"] == oc_escape(NAME)
    assert desc[0]["name"] == "İğneada Işıklı Şarj &quot;Pro&quot; &lt;b&gt; &amp; Çanta"
    assert desc[0]["description"] == "&lt;p&gt;Güçlü &lt;strong&gt;ışık&lt;/strong&gt; &amp;amp; İyi&lt;/p&gt;"

    product = ProductReader(store).get(pid)
    assert product.name == NAME  # decoded back exactly, Turkish letters intact
    assert product.description.description == DESCRIPTION
    assert product.manufacturer.name == "Şahin Elektronik"
    assert {c.category_id for c in product.categories} == {24}
    assert product.store_ids == (0,)
    assert len(product.images) == 1
    assert product.codes.get("EAN") == "8690000000012"
    assert product.codes.get("SKU") == "TEL-1"

    other = ProductReader(store).get(int(store.one(
        "SELECT product_id FROM {p}kervan_supplier_product WHERE item_key = 'TEL-2'")["product_id"]))
    assert "EAN" not in other.codes and "UPC" not in other.codes  # bad check digit: not written
    assert store.one("SELECT barcode FROM {p}kervan_supplier_product WHERE item_key = 'TEL-2'")["barcode"] == "'12345"
    if detect_version(store) == "4.1":
        assert store.one("SELECT COUNT(*) AS n FROM {p}product_code WHERE product_id = %s AND code = 'EAN'",
                         (pid,))["n"] == 1
    else:
        assert row["ean"] == "8690000000012" and row["sku"] == "TEL-1"

    events = _outbox(store)
    assert sorted(e["event_type"] for e in events) == ["product.saved", "product.saved"]
    assert store.one("SELECT COUNT(*) AS n FROM {p}manufacturer WHERE name = %s", ("Şahin Elektronik",))["n"] == 1


def test_identical_items_write_nothing_and_stock_changes_only_stock(store):
    s = _supplier(store)
    _apply(store, s, [_phone()])
    snapshot = "SELECT p.* FROM {p}product p JOIN {p}kervan_supplier_product sp ON sp.product_id = p.product_id"
    before = store.one(snapshot)
    events = len(_outbox(store))

    _, counts = _apply(store, s, [_phone()])
    assert (counts.created, counts.updated, counts.unchanged, counts.events) == (0, 0, 1, 0)
    assert len(_outbox(store)) == events
    assert store.one(snapshot) == before  # not even date_modified moved

    _, counts = _apply(store, s, [_phone(quantity=40)])
    assert (counts.updated, counts.events) == (1, 1)
    last = _outbox(store)[-1]
    assert last["event_type"] == "stock.changed"
    assert store.one("SELECT p.quantity FROM {p}product p JOIN {p}kervan_supplier_product sp"
                     " ON sp.product_id = p.product_id")["quantity"] == 39

    _, counts = _apply(store, s, [_phone(quantity=40, name="Yeni Ad")])
    assert _outbox(store)[-1]["event_type"] == "product.saved"
    pid = store.one("SELECT product_id FROM {p}kervan_supplier_product")["product_id"]
    assert ProductReader(store).get(pid).name == "Yeni Ad"
    assert store.one("SELECT COUNT(*) AS n FROM {p}manufacturer WHERE name = %s", ("Şahin Elektronik",))["n"] == 1


def test_variants_become_one_product_with_option_values(store):
    s = _supplier(store)
    items = [
        FeedItem(record=i, code=f"TS-{size}", group="TSHIRT", name="Tişört", brand="Işık", price=Decimal(p),
                 quantity=q, options={"Renk": "Kırmızı", "Beden": size}, category_path=("Giyim",))
        for i, (size, p, q) in enumerate([("S", "100", 3), ("M", "100", 5), ("XL", "120", 0)], start=1)
    ]
    _, counts = _apply(store, s, items)
    assert counts.created == 3 and counts.events == 1
    links = store.query("SELECT * FROM {p}kervan_supplier_product ORDER BY item_key")
    assert len({lk["product_id"] for lk in links}) == 1
    assert all(lk["product_option_value_id"] for lk in links)
    pid = links[0]["product_id"]
    product = ProductReader(store).get(pid)
    assert product.quantity == 2 + 4 + 0  # buffer 1 per variant, never below zero
    assert {c.category_id for c in product.categories} == {20, 18}
    (option,) = product.options
    assert option.name == "Renk / Beden"
    values = {v.name: v for v in option.values}
    assert set(values) == {"Kırmızı / S", "Kırmızı / M", "Kırmızı / XL"}
    assert values["Kırmızı / S"].quantity == 2 and values["Kırmızı / S"].subtract
    assert values["Kırmızı / S"].price == 0
    # 120 net * 1.5 = 180 → gross 216 → 216.99 → 180.825 net; cheapest 150.825: delta 30
    assert values["Kırmızı / XL"].price == Decimal("30.0000") and values["Kırmızı / XL"].price_prefix == "+"
    povs = {lk["item_key"]: lk["product_option_value_id"] for lk in links}

    # One variant's stock moves: the same option value rows are updated in place.
    items[1] = FeedItem(**{**items[1].__dict__, "quantity": 9})
    _, counts = _apply(store, s, items)
    assert (counts.updated, counts.unchanged) == (1, 2)
    links = store.query("SELECT * FROM {p}kervan_supplier_product ORDER BY item_key")
    assert {lk["item_key"]: lk["product_option_value_id"] for lk in links} == povs
    product = ProductReader(store).get(pid)
    assert product.quantity == 2 + 8
    assert _outbox(store)[-1]["event_type"] == "stock.changed"


def test_new_product_policy_ignore_creates_nothing(store):
    s = _supplier(store, {**RULES, "new_products": "ignore"})
    before = store.one("SELECT COUNT(*) AS n FROM {p}product")["n"]
    _, counts = _apply(store, s, [_phone()])
    assert (counts.created, counts.skipped, counts.events) == (0, 1, 0)
    assert store.one("SELECT COUNT(*) AS n FROM {p}product")["n"] == before
    assert _outbox(store) == []


def test_create_disabled_and_list_price_as_special(store):
    s = _supplier(store, {**RULES, "new_products": "create_disabled"})
    _apply(store, s, [_phone(list_price=Decimal("400"))])
    pid = store.one("SELECT product_id FROM {p}kervan_supplier_product")["product_id"]
    product = ProductReader(store).get(pid)
    assert product.status is False
    # 400 list (VAT excluded by the rules) is the shown price, the shop's 150.825 the special.
    assert product.price == Decimal("400.0000")
    assert product.special == Decimal("150.8250")


def test_missing_items_zeroed_or_disabled(store):
    s = _supplier(store)
    applier, _ = _apply(store, s, [_phone(), _phone(record=2, code="TEL-2")])
    links = store.query("SELECT * FROM {p}kervan_supplier_product WHERE item_key = 'TEL-2'")
    counts = applier.mark_missing(links)
    assert counts.missing == 1 and counts.events == 1
    pid = links[0]["product_id"]
    assert store.one("SELECT quantity FROM {p}product WHERE product_id = %s", (pid,))["quantity"] == 0
    assert store.one("SELECT missing_since FROM {p}kervan_supplier_product WHERE item_key = 'TEL-2'")["missing_since"]

    # It comes back: written again in full, missing mark cleared.
    _, counts = _apply(store, s, [_phone(), _phone(record=2, code="TEL-2")])
    assert counts.updated == 1 and counts.unchanged == 1
    assert store.one("SELECT quantity FROM {p}product WHERE product_id = %s", (pid,))["quantity"] == 5
    assert store.one("SELECT missing_since FROM {p}kervan_supplier_product WHERE item_key = 'TEL-2'")[
        "missing_since"] is None

    s2 = suppliers.Supplier(code="acme", name="Acme", rules_raw={**RULES, "missing_products": "disable"},
                            supplier_id=s.supplier_id)
    applier = FeedApplier(store, s2.supplier_id, s2.code, Rules.from_dict(s2.rules_raw))
    applier.mark_missing(store.query("SELECT * FROM {p}kervan_supplier_product WHERE item_key = 'TEL-2'"))
    assert store.one("SELECT status FROM {p}product WHERE product_id = %s", (pid,))["status"] == 0
    applier.apply(group_items([prepare(_phone(record=2, code="TEL-2"), s2.rules, "acme")]))
    assert store.one("SELECT status FROM {p}product WHERE product_id = %s", (pid,))["status"] == 1


def test_merchant_deleted_product_is_created_again(store):
    s = _supplier(store)
    _apply(store, s, [_phone()])
    pid = store.one("SELECT product_id FROM {p}kervan_supplier_product")["product_id"]
    store.execute("DELETE FROM {p}product WHERE product_id = %s", (pid,))
    _, counts = _apply(store, s, [_phone(quantity=3)])
    assert counts.created == 1
    new = store.one("SELECT product_id FROM {p}kervan_supplier_product")["product_id"]
    assert new != pid and store.one("SELECT quantity FROM {p}product WHERE product_id = %s", (new,))["quantity"] == 2
