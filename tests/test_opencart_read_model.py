"""The OpenCart product read model against the real demo stores (every test runs on 4.1.0.4 and
4.0.2.3 through the ``store`` fixture)."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from bridge.opencart import (
    Category,
    Manufacturer,
    Product,
    ProductReader,
    TaxRate,
    decode_html,
    detect_version,
    special_price,
)

ALL_DEMO_IDS = [28, 29, 30, 31, 32, 33, 34, 35, 36, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49]


def is41(db) -> bool:
    return db.opencart_version.startswith("4.1")


def opencart_mode(db) -> None:
    """OpenCart's own session sql_mode, so that short INSERTs work on 4.0.2.3 (NOT NULL columns)."""
    db.execute("SET SESSION sql_mode = 'NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION'")


def add_special(db, product_id, price, *, kind="F", priority=1, start="0000-00-00", end="0000-00-00",
                customer_group_id=1, quantity=1) -> None:
    """A special the way the running version stores it."""
    if is41(db):
        db.execute(
            "INSERT INTO {p}product_discount (product_id, customer_group_id, quantity, priority, price,"
            " type, special, date_start, date_end) VALUES (%s, %s, %s, %s, %s, %s, 1, %s, %s)",
            (product_id, customer_group_id, quantity, priority, price, kind, start, end),
        )
    else:
        assert kind == "F", "4.0 specials are absolute prices"
        db.execute(
            "INSERT INTO {p}product_special (product_id, customer_group_id, priority, price, date_start, date_end)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (product_id, customer_group_id, priority, price, start, end),
        )


def clear_specials(db, product_id) -> None:
    if is41(db):
        db.execute("DELETE FROM {p}product_discount WHERE product_id = %s AND special = 1", (product_id,))
    else:
        db.execute("DELETE FROM {p}product_special WHERE product_id = %s", (product_id,))


def count_queries(db, monkeypatch) -> list[str]:
    calls: list[str] = []
    original = db.query

    def counting(sql, params=None):
        calls.append(sql)
        return original(sql, params)

    monkeypatch.setattr(db, "query", counting)
    return calls


# -- version and settings --------------------------------------------------------------------


def test_detect_version_and_cache(store, monkeypatch):
    expected = "4.1" if is41(store) else "4.0"
    assert detect_version(store) == expected
    calls = count_queries(store, monkeypatch)
    assert detect_version(store) == expected
    assert calls == [], "the version is cached per Database"
    reader = ProductReader(store)
    assert reader.version == expected
    assert reader.settings.language_code == "en-gb"
    assert reader.settings.language_id == 1
    assert reader.settings.customer_group_id == 1


def test_detect_version_3_0_without_master_id(store):
    # A schema without master_id (and without product_code) is OpenCart 3.0.
    if is41(store):
        store.execute("DROP TABLE {p}product_code")
    store.execute("ALTER TABLE {p}product DROP COLUMN master_id")
    assert detect_version(store, refresh=True) == "3.0"


# -- product 42 ------------------------------------------------------------------------------


def test_apple_cinema_core_fields(store):
    p = ProductReader(store).get(42)
    assert isinstance(p, Product)
    assert p.product_id == 42 and p.master_id == 0
    assert p.model == "Product 15"
    assert p.quantity == 990
    assert p.price == Decimal("100")
    assert p.status is True and p.subtract is True
    assert p.minimum == 2
    assert (p.weight, p.weight_class) == (Decimal("12.5"), "kg")
    assert (p.length, p.width, p.height, p.length_class) == (Decimal(1), Decimal(2), Decimal(3), "cm")
    assert p.manufacturer == Manufacturer(8, "Apple")
    assert p.tax_class_id == 9
    assert p.tax_rates == (
        TaxRate("VAT (20%)", Decimal("20"), "P"),  # rule priority 1
        TaxRate("Eco Tax (-2.00)", Decimal("2"), "F"),  # rule priority 2
    )
    assert p.date_modified == datetime(2011, 9, 30, 0, 46, 19)
    assert p.date_available == date(2009, 2, 4)
    assert p.store_ids == (0,)
    assert p.codes == {}
    assert p.variants == ()
    # Stored escaped ("Apple Cinema 30&quot;", "&lt;p&gt;…"), returned decoded.
    assert list(p.descriptions) == ["en-gb"]
    d = p.descriptions["en-gb"]
    assert d.name == 'Apple Cinema 30"' == p.name
    assert d.description.startswith("<p>\r\n\t<font face=\"helvetica,geneva,arial\" size=\"2\">")
    assert "&lt;" not in d.description and "&quot;" not in d.description
    assert "170° horizontal" in d.description
    assert d.meta_title == "Apple Cinema 30"
    assert p.description is d
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.price = Decimal(1)  # type: ignore[misc]


def test_apple_cinema_images(store):
    reader = ProductReader(store)
    p = reader.get(42)
    assert p.image == "catalog/demo/apple_cinema_30.jpg"
    # All five demo images have sort_order 0: the insertion order (image id) decides.
    assert p.images == (
        "catalog/demo/canon_eos_5d_2.jpg",
        "catalog/demo/canon_eos_5d_1.jpg",
        "catalog/demo/compaq_presario.jpg",
        "catalog/demo/hp_1.jpg",
        "catalog/demo/canon_logo.jpg",
    )
    store.execute("UPDATE {p}product_image SET sort_order = 10 WHERE product_id = 42 AND image LIKE %s",
                  ("%canon_eos_5d_2%",))
    store.execute("UPDATE {p}product_image SET sort_order = -1 WHERE product_id = 42 AND image LIKE %s",
                  ("%canon_logo%",))
    images = reader.get(42).images
    assert images[0] == "catalog/demo/canon_logo.jpg"
    assert images[-1] == "catalog/demo/canon_eos_5d_2.jpg"
    store.execute("UPDATE {p}product SET image = '' WHERE product_id = 42")
    assert reader.get(42).image is None


def test_apple_cinema_options(store):
    p = ProductReader(store).get(42)
    # Ordered by the option's sort_order, as the storefront shows them.
    assert [(o.name, o.type) for o in p.options] == [
        ("Radio", "radio"),
        ("Checkbox", "checkbox"),
        ("Text", "text"),
        ("Select", "select"),
        ("Textarea", "textarea"),
        ("File", "file"),
        ("Date", "date"),
        ("Time", "time"),
        ("Date & Time", "datetime"),  # stored as "Date &amp; Time"
    ]
    assert all(o.required for o in p.options)
    assert sum(len(o.values) for o in p.options) == 11
    by_name = {o.name: o for o in p.options}
    select = by_name["Select"]
    assert (select.product_option_id, select.option_id) == (217, 5)
    assert [(v.name, v.product_option_value_id, v.option_value_id) for v in select.values] == [
        ("Red", 4, 39),
        ("Blue", 3, 40),
        ("Green", 1, 41),
        ("Yellow", 2, 42),
    ]
    green = select.values[2]
    assert (green.quantity, green.subtract, green.price, green.price_prefix) == (100, False, Decimal("1"), "+")
    radio = by_name["Radio"]
    assert [(v.name, v.quantity, v.price) for v in radio.values] == [
        ("Small", 96, Decimal("10")),
        ("Medium", 146, Decimal("20")),
        ("Large", 300, Decimal("30")),
    ]
    assert by_name["Text"].value == "test" and by_name["Text"].values == ()
    # A price_prefix of '-' comes through.
    store.execute("UPDATE {p}product_option_value SET price_prefix = '-', price = 2.5 "
                  "WHERE product_option_value_id = 5")
    small = ProductReader(store).get(42).options[0].values[0]
    assert (small.name, small.price, small.price_prefix) == ("Small", Decimal("2.5"), "-")


def test_categories_with_paths(store):
    reader = ProductReader(store)
    cats = reader.get(42).categories
    assert cats == (
        Category(20, "Desktops", ("Desktops",), (20,)),
        Category(28, "Monitors", ("Components", "Monitors"), (25, 28)),
    )
    # Mac (27) sits under Desktops.
    store.execute("INSERT INTO {p}product_to_category (product_id, category_id) VALUES (42, 27)")
    cats = {c.category_id: c for c in reader.get(42).categories}
    assert cats[27].path == ("Desktops", "Mac") and cats[27].name == "Mac"
    # Category names are decoded too ("Laptops &amp; Notebooks").
    store.execute("INSERT INTO {p}product_to_category (product_id, category_id) VALUES (42, 18)")
    cats = {c.category_id: c for c in reader.get(42).categories}
    assert cats[18].path == ("Laptops & Notebooks",)


# -- prices ----------------------------------------------------------------------------------


def test_demo_specials(store):
    reader = ProductReader(store)
    products = reader.load([42, 30, 40])
    if is41(store):
        # The 4.1 demo has only quantity discounts (special=0, type P, quantity 10/20/30): no special.
        assert products[42].special is None
        assert products[30].special is None
    else:
        # oc_product_special: 42 at 90; 30 at 80 (priority 1) and 90 (priority 2).
        assert products[42].special == Decimal("90")
        assert products[30].special == Decimal("80")
        # The priority decides, not the price.
        store.execute("UPDATE {p}product_special SET priority = 3 WHERE product_id = 30 AND price = 80")
        assert reader.get(30).special == Decimal("90")
    assert products[40].special is None
    assert products[40].effective_price == products[40].price


def test_special_types_on_41(store):
    if not is41(store):
        pytest.skip("typed specials exist only in 4.1")
    reader = ProductReader(store)
    assert reader.get(42).special is None
    add_special(store, 42, "80.0000", kind="F", priority=2)
    assert reader.get(42).special == Decimal("80")
    # Priority 1 beats priority 2: 15 percent off 100.
    add_special(store, 42, "15.0000", kind="P", priority=1)
    p = reader.get(42)
    assert p.special == Decimal("85")
    assert p.effective_price == Decimal("85")
    clear_specials(store, 42)
    add_special(store, 42, "12.5000", kind="S")
    assert reader.get(42).special == Decimal("87.5")
    # Percent of the current base price.
    store.execute("UPDATE {p}product SET price = 250 WHERE product_id = 42")
    clear_specials(store, 42)
    add_special(store, 42, "10", kind="P")
    assert reader.get(42).special == Decimal("225")
    # Only quantity 1 rows are specials on the storefront.
    clear_specials(store, 42)
    add_special(store, 42, "50", kind="F", quantity=5)
    assert reader.get(42).special is None
    # The demo's quantity discounts (special=0) never count as a special.
    store.execute("UPDATE {p}product_discount SET quantity = 1 WHERE product_id = 42 AND special = 0")
    assert reader.get(42).special is None


def test_special_dates_group_and_nulls(store):
    today = date(2030, 6, 15)
    reader = ProductReader(store, clock=lambda: datetime(2030, 6, 15, 12, 0))
    past, future = today - timedelta(days=10), today + timedelta(days=10)

    add_special(store, 40, "70", start=str(future))  # not started yet
    add_special(store, 40, "71", end=str(past))  # over
    add_special(store, 40, "72", end=str(today))  # ends today: OpenCart compares date_end > NOW()
    add_special(store, 40, "60", customer_group_id=2)  # another customer group
    assert reader.get(40).special is None
    add_special(store, 40, "75", start=str(past), end=str(future))
    assert reader.get(40).special == Decimal("75")
    # The same priority: the lower price wins.
    add_special(store, 40, "74", start=str(past))
    assert reader.get(40).special == Decimal("74")
    if is41(store):
        # 4.1 allows NULL dates; OpenCart's storefront SQL never matches them (NULL is neither
        # '0000-00-00' nor < NOW()), so such a row is not in effect.
        clear_specials(store, 40)
        for start, end in ((None, None), ("0000-00-00", None), (None, "0000-00-00")):
            store.execute(
                "INSERT INTO {p}product_discount (product_id, customer_group_id, quantity, priority, price, type,"
                " special, date_start, date_end) VALUES (40, 1, 1, 1, 50, 'F', 1, %s, %s)",
                (start, end),
            )
            assert reader.get(40).special is None, (start, end)
            clear_specials(store, 40)
        add_special(store, 40, "50")
        assert reader.get(40).special == Decimal("50")


def test_special_date_boundaries_follow_opencart():
    # OpenCart: date_start < NOW() AND date_end > NOW(), dates compared as midnight.
    row = {"priority": 1, "price": Decimal("80"), "date_start": date(2030, 6, 10), "date_end": date(2030, 6, 20)}

    def at(*args):
        return special_price(Decimal("100"), [row], datetime(*args), typed=False)

    assert at(2030, 6, 10, 0, 0, 0) is None  # not strictly after the start yet
    assert at(2030, 6, 10, 0, 0, 1) == Decimal("80")
    assert at(2030, 6, 19, 23, 59, 59) == Decimal("80")
    assert at(2030, 6, 20, 0, 0, 0) is None  # the end day itself is already over


def test_special_price_function_orders_by_raw_price():
    now = datetime(2030, 1, 1)
    rows = [
        {"product_discount_id": 1, "priority": 1, "price": Decimal("10"), "type": "P", "quantity": 1,
         "date_start": "0000-00-00", "date_end": "0000-00-00"},
        {"product_discount_id": 2, "priority": 1, "price": Decimal("50"), "type": "F", "quantity": 1,
         "date_start": "0000-00-00", "date_end": "0000-00-00"},
    ]
    # OpenCart picks by the raw price column (10 < 50), i.e. 10 % off, although 50 fixed is cheaper.
    assert special_price(Decimal("100"), rows, now, typed=True) == Decimal("90")
    rows[0]["priority"] = None  # NULL priority sorts first in MySQL
    rows[1]["price"] = Decimal("5")
    assert special_price(Decimal("100"), rows, now, typed=True) == Decimal("90")
    assert special_price(Decimal("100"), [], now, typed=True) is None


# -- codes -----------------------------------------------------------------------------------


def test_codes_written_version_appropriately(store):
    ean = "8690000000017"
    if is41(store):
        store.execute("INSERT INTO {p}product_code (product_id, code, value) VALUES (42, 'EAN', %s)", (ean,))
        store.execute("INSERT INTO {p}product_code (product_id, code, value) VALUES (42, 'SKU', %s)", ("AC-30",))
        store.execute("INSERT INTO {p}product_code (product_id, code, value) VALUES (42, 'MPN', '')")
        store.execute("INSERT INTO {p}product_code (product_id, code, value) VALUES (42, 'UPC', NULL)")
    else:
        store.execute("UPDATE {p}product SET ean = %s, sku = %s WHERE product_id = 42", (ean, "AC-30"))
    products = ProductReader(store).load([42, 30])
    assert products[42].codes == {"EAN": ean, "SKU": "AC-30"}
    assert products[30].codes == {}


# -- texts -----------------------------------------------------------------------------------


def test_turkish_name_round_trips(store):
    name = "İpek Şal Ğ"
    # As OpenCart's admin stores it: htmlspecialchars() on every posted field.
    store.execute(
        "UPDATE {p}product_description SET name = %s, description = %s, tag = %s, meta_title = %s"
        " WHERE product_id = 42 AND language_id = 1",
        (name, "&lt;p&gt;Çok güzel &quot;ipek&quot; şal &amp; ılık ÖÜ&lt;/p&gt;", "ipek,şal", "İpek Şal | Ğ"),
    )
    store.execute("UPDATE {p}product SET model = %s WHERE product_id = 42", ("ŞAL-İ&amp;1",))
    p = ProductReader(store).get(42)
    d = p.descriptions["en-gb"]
    assert d.name == name
    assert d.name.encode() == name.encode()
    assert d.description == '<p>Çok güzel "ipek" şal & ılık ÖÜ</p>'
    assert d.tag == "ipek,şal"
    assert d.meta_title == "İpek Şal | Ğ"
    assert p.model == "ŞAL-İ&1"
    # What OpenCart stores for a user who typed "&lt;" literally is "&amp;lt;": decoded once only.
    assert decode_html("&amp;lt;b&amp;gt;") == "&lt;b&gt;"
    assert decode_html("AT&T & co") == "AT&T & co"


def test_second_language_and_default_language_setting(store):
    store.execute(
        "INSERT INTO {p}language (language_id, name, code, locale, extension, sort_order, status)"
        " VALUES (2, 'Türkçe', 'tr-tr', 'tr-tr,tr', '', 2, 1)"
    )
    opencart_mode(store)
    store.execute(
        "INSERT INTO {p}product_description (product_id, language_id, name, description, tag, meta_title,"
        " meta_description, meta_keyword) VALUES (42, 2, %s, '', '', %s, '', '')",
        ("Elma Sinema 30&quot;", "Elma"),
    )
    store.execute("INSERT INTO {p}category_description (category_id, language_id, name, description, meta_title,"
                  " meta_description, meta_keyword) VALUES (28, 2, 'Monitörler', '', '', '', '')")
    p = ProductReader(store).get(42)
    assert set(p.descriptions) == {"en-gb", "tr-tr"}
    assert p.descriptions["tr-tr"].name == 'Elma Sinema 30"'
    assert p.name == 'Apple Cinema 30"'
    # Switch the shop's default language: 4.1 keeps it in config_language_catalog, 4.0 in config_language.
    key = "config_language_catalog" if is41(store) else "config_language"
    assert store.execute("UPDATE {p}setting SET value = 'tr-tr' WHERE `key` = %s AND store_id = 0", (key,)) == 1
    reader = ProductReader(store)
    assert reader.settings.language_id == 2
    p = reader.get(42)
    assert p.language == "tr-tr"
    assert p.name == 'Elma Sinema 30"'
    cats = {c.category_id: c for c in p.categories}
    assert cats[28].name == "Monitörler"
    assert cats[28].path == ("", "Monitörler")  # "Components" has no Turkish name


# -- loading many ----------------------------------------------------------------------------


def test_many_products_bounded_queries(store, monkeypatch):
    reader = ProductReader(store)
    reader.get(42)  # settings and version are read once and cached
    calls = count_queries(store, monkeypatch)
    one = reader.load([42])
    single = len(calls)
    calls.clear()
    many = reader.load([*ALL_DEMO_IDS, 999999])
    assert len(calls) == single, calls
    assert single <= 12
    assert list(many) == ALL_DEMO_IDS
    assert many[42] == one[42]
    assert many[30].name == "Canon EOS 5D"
    assert many[28].weight_class == "g"
    # Every statement is a bounded set: no statement repeats per product.
    assert len(set(calls)) == len(calls)


def test_missing_ids(store, monkeypatch):
    reader = ProductReader(store)
    assert reader.get(999999) is None
    assert reader.load([999999, 0, -1]) == {}
    got = reader.load([999999, "42", 42, 30])
    assert list(got) == [42, 30]
    calls = count_queries(store, monkeypatch)
    assert reader.load([]) == {}
    assert calls == []
    store.execute("DELETE FROM {p}product WHERE product_id = 30")
    assert 30 not in reader.load([30, 42])


# -- variants --------------------------------------------------------------------------------


def test_variant_listed_under_master(store):
    opencart_mode(store)
    store.execute(
        "INSERT INTO {p}product (master_id, model, variant, override, quantity, price, status, subtract,"
        " minimum, date_available, date_added, date_modified)"
        " VALUES (42, 'Product 15-red', %s, %s, 5, 100, 1, 1, 1, '2024-01-01', NOW(), NOW())",
        ('{"217":"4","218":"5"}', '{"variant":{"217":"1"}}'),
    )
    variant_id = store.one("SELECT MAX(product_id) AS id FROM {p}product")["id"]
    reader = ProductReader(store)
    got = reader.load([42, variant_id])
    master, variant = got[42], got[variant_id]
    assert [v.product_id for v in master.variants] == [variant_id]
    assert master.variants[0].variant == {"217": "4", "218": "5"}
    assert variant.master_id == 42
    assert variant.variant == {"217": "4", "218": "5"}
    assert variant.override == {"variant": {"217": "1"}}
    assert variant.variants == ()
    assert variant.descriptions == {}  # no description rows of its own yet
    # Detached (OpenCart's deleteProduct sets master_id = 0): no longer listed.
    store.execute("UPDATE {p}product SET master_id = 0 WHERE product_id = %s", (variant_id,))
    assert reader.get(42).variants == ()


# -- NULLs (4.1 allows them where 4.0.2.3 has '' / 0) ----------------------------------------


def test_nulls_are_accepted(store):
    if not is41(store):
        pytest.skip("4.0.2.3 columns are NOT NULL")
    store.execute(
        "UPDATE {p}product SET model = NULL, location = NULL, variant = NULL, override = NULL, quantity = NULL,"
        " image = NULL, manufacturer_id = NULL, price = NULL, tax_class_id = NULL, weight = NULL,"
        " weight_class_id = NULL, length_class_id = NULL, subtract = NULL, minimum = NULL, status = NULL,"
        " date_modified = NULL WHERE product_id = 42"
    )
    store.execute("UPDATE {p}product_description SET description = NULL, tag = NULL WHERE product_id = 42")
    store.execute("UPDATE {p}product_option_value SET price = NULL, price_prefix = NULL, quantity = NULL"
                  " WHERE product_option_value_id = 1")
    store.execute("INSERT INTO {p}product_code (product_id, code, value) VALUES (42, NULL, '123')")
    p = ProductReader(store).get(42)
    assert (p.model, p.quantity, p.price, p.image, p.manufacturer) == ("", 0, Decimal(0), None, None)
    assert (p.tax_class_id, p.tax_rates, p.weight, p.weight_class, p.length_class) == (0, (), Decimal(0), None, None)
    assert (p.status, p.minimum, p.date_modified, p.variant, p.codes) == (False, 1, None, {}, {})
    assert p.descriptions["en-gb"].description == "" and p.descriptions["en-gb"].tag == ""
    green = next(v for o in p.options for v in o.values if v.product_option_value_id == 1)
    assert (green.price, green.price_prefix, green.quantity) == (Decimal(0), "+", 0)


def test_variants_are_read_through_an_index_on_master_id(store):
    """OpenCart has no index on product.master_id; migration 0007 adds one, so reading a product's
    variants does not scan the whole product table (at 100,000 products: 50–600 ms per read)."""
    plan = store.query("EXPLAIN SELECT product_id, master_id, variant FROM {p}product WHERE master_id IN (40, 42)")
    assert plan[0]["key"] == "kervan_master_id", plan
    reader = ProductReader(store)
    assert [v.product_id for v in reader.get(40).variants] == [
        int(r["product_id"]) for r in store.query("SELECT product_id FROM {p}product WHERE master_id = 40")]
