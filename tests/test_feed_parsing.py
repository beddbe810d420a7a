"""Feed reading: numbers, encodings, specs and every feed shape of supplier-feeds.md with its
traps, from small generated files (the sandbox's catalogue, rendered to disk) and hand-written
hostile ones. Nothing here touches the network; tests/test_feed_fetch.py does."""

from __future__ import annotations

import gzip
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.supplier.feed_catalog import Product, Variant, product, products
from sandbox.supplier.feed_render import FORMATS, SPECS, render
from workers.suppliers.encoding import decide, normalise_label
from workers.suppliers.model import FeedError, FeedItem, ItemProblem
from workers.suppliers.numbers import (
    NumberError,
    currency_code,
    parse_decimal,
    parse_money,
    parse_quantity,
    parse_vat,
    quantize4,
)
from workers.suppliers.parsers import iter_items
from workers.suppliers.parsers.dedupe import SeenKeys
from workers.suppliers.spec import FeedSpec, SpecError

SEED = 7

# --- helpers ----------------------------------------------------------------------------------


def write_feed(tmp: Path, fmt: str, count: int = 8, *, encoding: str = "utf-8", declared: str | None = "UTF-8",
               max_variants: int = 3, duplicates: int = 0, bom: bool = False, name: str = "") -> Path:
    is_xml = FORMATS[fmt][1] == "xml"
    pieces = render(fmt, products(SEED, count, max_variants, duplicates), declared if is_xml else None)
    data = b"".join(text.encode(encoding) for _kind, text in pieces)
    path = tmp / (name or f"{fmt}.{FORMATS[fmt][1]}")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def parse(path: Path, spec: dict | FeedSpec) -> tuple[list[FeedItem], list[ItemProblem]]:
    s = spec if isinstance(spec, FeedSpec) else FeedSpec.from_dict(spec)
    out = list(iter_items(path, s))
    return [x for x in out if isinstance(x, FeedItem)], [x for x in out if isinstance(x, ItemProblem)]


def expected(count: int, max_variants: int = 3) -> dict[str, tuple[Product, Variant]]:
    return {v.code: (p, v) for p in products(SEED, count, max_variants) for v in p.variants}


# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("600,00", "600.00"), ("1.071,68", "1071.68"), ("11.100,51", "11100.51"), ("45,0000", "45.0000"),
    ("11000.00", "11000.00"), ("109.44000000", "109.44000000"), ("0.20", "0.20"), ("18,00", "18.00"),
    ("-10,0000", "-10.0000"), ("1275", "1275"), ("1,071.68", "1071.68"), ("1.500", "1.500"),
    ("1.500.000", "1500000"), ("1,500,000", "1500000"), (" 1 071,68 ", "1071.68"), ("'45", "45"),
])
def test_parse_decimal_follows_the_docs_rule(text: str, value: str) -> None:
    got = parse_decimal(text)
    assert isinstance(got, Decimal)
    assert got == Decimal(value) and str(got) == value


def test_thousands_dot_is_a_per_supplier_setting() -> None:
    assert parse_decimal("1.500", thousands_dot=True) == Decimal(1500)
    assert parse_decimal("1.500") == Decimal("1.5")
    assert parse_decimal("1.50", thousands_dot=True) == Decimal("1.50")  # not 1.500-shaped: decimal


@pytest.mark.parametrize("bad", ["", "abc", "1,2,3", "1.2.3", "1.071,6,8", "12a", "--1", "1.0711,68"])
def test_parse_decimal_refuses_garbage(bad: str) -> None:
    with pytest.raises(NumberError):
        parse_decimal(bad)


def test_quantize_rounds_half_up_once_at_the_end() -> None:
    assert quantize4(parse_decimal("0,00005")) == Decimal("0.0001")
    assert quantize4(parse_decimal("2,00004")) == Decimal("2.0000")


@pytest.mark.parametrize(("text", "fraction"), [
    ("20", "0.2"), ("%20", "0.2"), ("20 %", "0.2"), ("18,00", "0.18"), ("0.20", "0.2"), ("0,18", "0.18"),
    ("1", "0.01"), ("10", "0.1"), ("0", "0"),
])
def test_vat_as_percent_or_fraction(text: str, fraction: str) -> None:
    assert parse_vat(text) == Decimal(fraction)


def test_vat_out_of_range_is_refused() -> None:
    with pytest.raises(NumberError):
        parse_vat("120")


@pytest.mark.parametrize(("token", "code"), [
    ("TL", "TRY"), ("₺", "TRY"), ("YTL", "TRY"), ("TRY", "TRY"), ("tr-TR", "TRY"), ("TL(TRY)", "TRY"),
    ("USD", "USD"), ("$", "USD"), ("EUR", "EUR"), ("EURO", "EUR"), ("€", "EUR"),
])
def test_currency_tokens(token: str, code: str) -> None:
    assert currency_code(token) == code


def test_unknown_currency_is_refused_unless_mapped() -> None:
    with pytest.raises(NumberError):
        currency_code("Altın")
    assert currency_code("Altın", {"altın": "XAU"}) == "XAU"


def test_money_with_currency_tokens() -> None:
    assert parse_money("1800.13 TRY") == (Decimal("1800.13"), "TRY")
    assert parse_money("₺1.071,68") == (Decimal("1071.68"), "TRY")
    assert parse_money("15.00 USD") == (Decimal("15.00"), "USD")
    assert parse_money("45,00") == (Decimal("45.00"), None)
    with pytest.raises(NumberError):
        parse_money("TL 5 USD")


def test_stock_words() -> None:
    assert parse_quantity("12") == (12, True)
    assert parse_quantity("12,00") == (12, True)
    assert parse_quantity("0") == (0, False)
    assert parse_quantity("-1") == (0, False)
    assert parse_quantity("var") == (None, True)
    assert parse_quantity("YOK") == (None, False)
    assert parse_quantity("In Stock") == (None, True)
    assert parse_quantity("STOKTA YOK") == (None, False)  # Turkish-aware case folding
    with pytest.raises(NumberError):
        parse_quantity("belki")


# --- encoding and spec ------------------------------------------------------------------------


def test_encoding_is_decided_by_the_bytes(tmp_path: Path) -> None:
    text = "Şık Işık İğne ğüşıöç €"
    (tmp_path / "u").write_bytes(text.encode("utf-8"))
    (tmp_path / "c").write_bytes(text.encode("cp1254"))
    (tmp_path / "b").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "w").write_bytes(text.encode("utf-16"))
    assert decide(tmp_path / "u").encoding == "utf-8"
    assert decide(tmp_path / "c").encoding == "windows-1254"
    assert decide(tmp_path / "c", "iso-8859-9").encoding == "windows-1254"  # read as its superset
    assert (decide(tmp_path / "b").encoding, decide(tmp_path / "b").bom) == ("utf-8", 3)
    assert decide(tmp_path / "w").encoding.startswith("utf-16")
    assert normalise_label("ISO-8859-9") == normalise_label("latin5") == "windows-1254"
    with pytest.raises(ValueError, match="unknown text encoding"):
        normalise_label("klingon-8")


def test_spec_from_preset_merges_and_round_trips() -> None:
    spec = FeedSpec.from_dict({"preset": "ticimax", "url": "https://shop.test/TicimaxXml/ABC/",
                               "fields": {"brand": "MarkaAdi"}, "thousands_dot": True})
    assert spec.format == "xml" and spec.record == "Urun" and spec.variants == "UrunSecenek/Secenek"
    assert spec.fields["brand"] == "MarkaAdi" and spec.fields["name"] == "UrunAdi"  # per-field override
    again = FeedSpec.from_dict(spec.to_dict())
    assert again.to_dict() == spec.to_dict()
    assert FeedSpec.from_dict('{"preset": "gmc"}').format == "gmc"


@pytest.mark.parametrize(("data", "words"), [
    ({"format": "xls"}, "format must be one of"),
    ({"preset": "nope"}, "unknown preset"),
    ({"preset": "gmc", "colour": 1}, "unknown feed setting(s): colour"),
    ({"format": "xml", "fields": {"code": "kod"}}, "record"),
    ({"format": "csv", "fields": {"name": "Ad"}}, "needs a code"),
    ({"format": "csv", "fields": {"code": "Kod", "prize": "Fiyat"}}, "'prize' is not an item field"),
    ({"preset": "gmc", "url": "ftp://x/feed"}, "http:// or https://"),
    ({"preset": "gmc", "auth": {"kind": "basic"}}, "needs a username"),
    ({"preset": "gmc", "auth": {"kind": "query", "token": ""}}, "query auth needs"),
    ({"preset": "gmc", "max_bytes": -5}, "max_bytes"),
    ({"preset": "gmc", "encoding": "klingon"}, "unknown text encoding"),
    ({"preset": "gmc", "currency": "Altın"}, "unknown currency"),
    ({"format": "csv", "delimiter": "x", "fields": {"code": "a"}}, "delimiter"),
    ({"format": "xml", "record": "u", "fields": {"code": "k", "options": "a|b"}}, "options"),
    ("{not json", "not valid JSON"),
    ({"preset": "urun", "record": 5}, "record must be text"),
    ({"preset": "gmc", "currencies": {"Dolar": 1}}, "currencies must be an object"),
    ({"preset": "gmc", "timeout": "30"}, "timeout must be a positive number"),
])
def test_spec_errors_are_plain_words(data: dict | str, words: str) -> None:
    with pytest.raises(SpecError) as err:
        FeedSpec.from_dict(data)
    assert words in str(err.value)


# --- every format against the catalogue -------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_reads_back_the_catalogue(tmp_path: Path, fmt: str) -> None:
    path = write_feed(tmp_path, fmt, 8)
    items, problems = parse(path, SPECS[fmt])
    want = expected(8)
    assert problems == []
    assert sorted(i.code for i in items) == sorted(want)
    for item in items:
        p, v = want[item.code]
        assert item.name.startswith(p.name), item  # WooCommerce variations: "<name> - <colour>"
        assert item.price == v.cost, item
        assert item.currency == "TRY"
        assert item.category_path == p.category
        assert item.images and item.images[0] == p.images[0]
        if fmt != "woocommerce":  # the Woo layout has no barcode column
            assert item.barcode == v.barcode
        if fmt not in ("gmc-rss", "gmc-atom"):  # GMC gives availability, not a count
            assert item.quantity == v.quantity
        assert item.in_stock is (v.quantity > 0)
        if not p.simple:
            assert item.group, item
            values = set(item.options.values())
            assert {v.options["Renk"], v.options["Beden"]} <= values
        if fmt in ("ticimax", "ideasoft", "tsoft", "urun", "supplier-csv", "json"):
            assert item.vat_rate == p.vat / 100


def test_ticimax_nested_variants_share_a_stock_code(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "ticimax", 6)
    items, _ = parse(path, {"preset": "ticimax"})
    multi = next(p for p in products(SEED, 6) if not p.simple)
    mine = [i for i in items if i.group == str(multi.index + 1)]
    assert [i.code for i in mine] == [v.code for v in multi.variants]  # identity: VaryasyonID
    assert {i.sku for i in mine} == {multi.code}  # StokKodu repeats across variants
    assert [i.options for i in mine] == [v.options for v in multi.variants]
    assert all(i.list_price == v.price and i.vat_included is True for i, v in zip(mine, multi.variants, strict=True))
    assert mine[0].description == multi.description  # CDATA HTML, & and <b> kept as they are
    assert len({i.key for i in items}) == len(items)


def test_gmc_item_group_id_variants_rss_and_atom(tmp_path: Path) -> None:
    for fmt in ("gmc-rss", "gmc-atom"):
        items, _ = parse(write_feed(tmp_path, fmt, 6), {"preset": "gmc"})
        multi = next(p for p in products(SEED, 6) if not p.simple)
        mine = [i for i in items if i.group == multi.code]
        assert [i.code for i in mine] == [v.code for v in multi.variants]
        assert mine[0].options == {"color": multi.variants[0].options["Renk"], "size": multi.variants[0].options["Beden"]}
        assert mine[0].list_price == multi.variants[0].price and mine[0].price == multi.variants[0].cost
        assert mine[0].url == f"https://tedarikci.test/p/{multi.code}"
        assert mine[0].images == multi.images
        simple = [i for i in items if not i.group]
        assert all(expected(6)[i.code][0].simple for i in simple)


def test_gmc_shopier_style_redeclared_namespace_and_space_availability(tmp_path: Path) -> None:
    path = tmp_path / "shopier.xml"
    path.write_text(
        '<?xml version="1.0"?><rss version="2.0" g="http://base.google.com/ns/1.0"><channel>'
        '<item><g:id xmlns:g="http://base.google.com/ns/1.0">S1</g:id><title>Kırmızı Şal</title>'
        '<g:price xmlns:g="http://base.google.com/ns/1.0">249,90 TL</g:price>'
        '<g:availability xmlns:g="http://base.google.com/ns/1.0">out of stock</g:availability></item>'
        "</channel></rss>", encoding="utf-8")
    items, _ = parse(path, {"preset": "gmc"})
    assert [(i.code, i.name, i.price, i.in_stock) for i in items] == [("S1", "Kırmızı Şal", Decimal("249.90"), False)]


def test_shopify_handle_rows_images_and_barcodes(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "shopify", 6)
    text = path.read_text(encoding="utf-8")
    assert "'869" in text and '""Kargo""' in text  # the file really has the traps (Excel guard, quoted quotes)
    items, _ = parse(path, {"preset": "shopify"})
    multi = next(p for p in products(SEED, 6) if not p.simple and len(p.images) > 1)
    mine = [i for i in items if i.group == multi.code.lower()]
    assert [i.code for i in mine] == [v.code for v in multi.variants]
    assert all(i.images == multi.images for i in mine)  # image-only rows reach every variant
    assert all(i.name == multi.name and i.brand == multi.brand for i in mine)  # continuation rows inherit
    assert mine[0].barcode == multi.variants[0].barcode  # Excel's ' guard gone
    assert '"Kargo", 2 gün' in mine[0].description and "\n" in mine[0].description  # multi-line quoted body
    simple = next(i for i in items if expected(6)[i.code][0].simple)
    assert simple.options == {}  # "Title: Default Title" is no option


def test_woocommerce_parent_rows_in_either_order(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "woocommerce", 8)
    items, problems = parse(path, {"preset": "woocommerce"})
    assert problems == []
    for p in products(SEED, 8):
        mine = [i for i in items if i.code in {v.code for v in p.variants}]
        assert len(mine) == len(p.variants)
        for i in mine:
            assert i.category_path == p.category  # from the parent row, even when it came later
            assert i.group == ("" if p.simple else p.code)  # "id:NNN" references resolve to the parent SKU
            assert i.description == p.description


def test_woocommerce_grouped_and_external_are_reported_not_imported(tmp_path: Path) -> None:
    path = tmp_path / "woo.csv"
    path.write_text("ID,Type,SKU,Name,Regular price\n1,external,EXT-1,Dış,10\n2,grouped,GRP-1,Grup,\n"
                    "3,\"simple, downloadable\",S-1,Basit,5.50\n", encoding="utf-8")
    items, problems = parse(path, {"preset": "woocommerce"})
    assert [(i.code, i.price) for i in items] == [("S-1", Decimal("5.50"))]
    assert [p.code for p in problems] == ["EXT-1", "GRP-1"]


def test_windows_1254_csv_with_turkish_characters_and_comma_decimals(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "supplier-csv", 8, encoding="cp1254")
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really windows-1254 bytes
    assert b";" in raw.splitlines()[0]
    items, problems = parse(path, SPECS["supplier-csv"])
    assert problems == []
    want = expected(8)
    for i in items:
        p, v = want[i.code]
        assert i.name == p.name and i.brand == p.brand  # İ ı ş ğ exactly
        assert i.price == v.cost and isinstance(i.price, Decimal)
        assert i.group == ("" if p.simple else p.code)
    assert any("ı" in i.name or "İ" in i.name or "ş" in i.name for i in items)
    assert any(i.price >= 1000 for i in items)  # "1.071,68"-shaped prices were in the file


def test_csv_bom_meta_comment_lines_and_sniffed_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "meta.tsv"
    path.write_bytes(b"\xef\xbb\xbf# ref_application_id 123\n# ref_asset_id 456\n"
                     + "kod\tad\tfiyat\tstok\r\nA-1\t\"Çok\tŞık\"\t1.071,68\tvar\r\n".encode())
    items, _ = parse(path, {"format": "csv", "fields": {"code": "kod", "name": "ad", "price": "fiyat",
                                                        "quantity": "stok"}})
    assert [(i.code, i.name, i.price, i.in_stock) for i in items] == [("A-1", "Çok Şık", Decimal("1071.68"), True)]


def test_csv_without_the_code_column_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("sku,name\n1,a\n", encoding="utf-8")
    with pytest.raises(FeedError, match="no code column"):
        parse(path, {"format": "csv", "fields": {"code": "Stok Kodu"}})


def test_bad_values_become_item_problems_and_the_run_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("kod;fiyat;stok;para\nA;12,50;3;TL\nB;on iki;3;TL\n;5;1;TL\nC;5;belki;TL\nD;5;1;Altın\nE;;1;TL\n"
                    "F;-3;1;TL\n", encoding="utf-8")
    items, problems = parse(path, {"format": "csv", "fields": {"code": "kod", "price": "fiyat", "quantity": "stok",
                                                               "currency": "para"}})
    assert [i.code for i in items] == ["A"]
    reasons = {p.record: p.reason for p in problems}
    assert set(reasons) == {3, 4, 5, 6, 7, 8}
    assert "not a price" in reasons[3] and "no code" in reasons[4] and "stock" in reasons[5]
    assert "unknown currency" in reasons[6] and reasons[7] == "no price" and "negative" in reasons[8]


def test_duplicate_codes_last_wins_and_are_reported(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "urun", 10, max_variants=1, duplicates=2)
    items, problems = parse(path, {"preset": "urun"})
    first_two = list(products(SEED, 2, 1))
    dup_codes = [p.code for p in first_two]
    assert sorted(p.code for p in problems) == sorted(dup_codes)
    assert all("last one wins" in p.reason for p in problems)
    by_code: dict[str, FeedItem] = {}
    for i in items:
        by_code[i.code] = i  # applying in feed order
    last = list(products(SEED, 10, 1, 2))[-2:]
    assert [by_code[c].price for c in dup_codes] == [p.variants[0].cost for p in last]
    again = parse(path, {"preset": "urun"})
    assert again[1] == problems  # deterministic


def test_seen_keys_grows_and_remembers_the_last_record() -> None:
    seen = SeenKeys(capacity=8)
    for n in range(5000):
        assert seen.add(f"k{n}", n + 1) is None
    assert seen.add("k42", 9000) == 43
    assert seen.add("k42", 9001) == 9000
    assert seen.count == 5000


def test_json_feed_nested_variants_and_size_cap(tmp_path: Path) -> None:
    path = write_feed(tmp_path, "json", 5)
    items, _ = parse(path, SPECS["json"])
    assert len(items) == sum(len(p.variants) for p in products(SEED, 5))
    assert all(isinstance(i.price, Decimal) for i in items)
    with pytest.raises(FeedError, match="max_json_bytes"):
        parse(path, {**SPECS["json"], "max_json_bytes": 100})
    cut = tmp_path / "cut.json"
    cut.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(FeedError, match="not valid JSON"):
        parse(cut, SPECS["json"])


# --- encodings and repairs in XML -------------------------------------------------------------


def test_lying_encoding_declarations_are_overridden_by_the_bytes(tmp_path: Path) -> None:
    want = expected(4)
    utf8_as_latin5 = write_feed(tmp_path, "urun", 4, declared="ISO-8859-9", name="a.xml")
    cp1254_as_utf8 = write_feed(tmp_path, "urun", 4, encoding="cp1254", declared="UTF-8", name="b.xml")
    cp1254_undeclared = write_feed(tmp_path, "urun", 4, encoding="cp1254", declared=None, name="c.xml")
    bom_vs_decl = write_feed(tmp_path, "urun", 4, declared="windows-1254", bom=True, name="d.xml")
    for path in (utf8_as_latin5, cp1254_as_utf8, cp1254_undeclared, bom_vs_decl):
        items, _ = parse(path, {"preset": "urun"})
        assert [i.name for i in items] == [want[i.code][0].name for i in items], path.name
        assert not any("Ã" in i.name or "Ä" in i.name for i in items)  # no mojibake


def test_known_defects_repaired_outside_cdata_only(tmp_path: Path) -> None:
    path = tmp_path / "defects.xml"
    path.write_bytes(
        b"\r\n  <?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<urunler><urun><urunkodu>K1</urunkodu>"
        + "<urun_ad>Kaş & Kirpik&nbsp;Seti\x0b</urun_ad><fiyat>1.489,01</fiyat><kdv>0.20</kdv>".encode()
        + b"<aciklama><![CDATA[<p>A &amp; B & C&nbsp;D</p>]]></aciklama></urun></urunler>")
    items, _ = parse(path, {"preset": "urun"})
    assert items[0].name == "Kaş & Kirpik\u00a0Seti".replace("\u00a0", " ")  # NBSP is whitespace in one-line text
    assert items[0].description == "<p>A &amp; B & C&nbsp;D</p>"  # CDATA untouched
    assert (items[0].price, items[0].vat_rate) == (Decimal("1489.01"), Decimal("0.2"))
    with pytest.raises(FeedError, match="not well-formed|undefined entity"):
        parse(path, {"preset": "urun", "sanitize": False})


def test_truncated_xml_fails_the_run_after_the_records_it_had(tmp_path: Path) -> None:
    full = write_feed(tmp_path, "ticimax", 20)
    data = full.read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    seen: list[FeedItem] = []
    with pytest.raises(FeedError) as err:
        for x in iter_items(cut, FeedSpec.from_dict({"preset": "ticimax"})):
            seen.append(x)
    assert "cut short" in err.value.reason
    assert 0 < len(seen) < len(parse(full, {"preset": "ticimax"})[0])
    assert err.value.record is not None


HOSTILE = {
    "billion_laughs": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;'
                      b'&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
                      b"<urunler><urun><urunkodu>&c;</urunkodu><fiyat>1</fiyat></urun></urunler>",
    "quadratic": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "' + b"x" * 50000 + b'">]><urunler><urun>'
                 b"<urunkodu>" + b"&a;" * 2000 + b"</urunkodu><fiyat>1</fiyat></urun></urunler>",
    "xxe_file": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b"<urunler><urun><urunkodu>&x;</urunkodu><fiyat>1</fiyat></urun></urunler>",
    "entity_after_comment": b'<?xml version="1.0"?><!-- <urunler> --><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
                            b'<!ENTITY b "&a;&a;&a;&a;&a;">]><urunler><urun><urunkodu>&b;</urunkodu>'
                            b"<fiyat>1</fiyat></urun></urunler>",
    "parameter_entity": b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
                        b"<urunler><urun><urunkodu>k</urunkodu><fiyat>1</fiyat></urun></urunler>",
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_hostile_xml_is_refused(tmp_path: Path, attack: str) -> None:
    path = tmp_path / f"{attack}.xml"
    path.write_bytes(HOSTILE[attack])
    with pytest.raises(FeedError, match="refused"):
        parse(path, {"preset": "urun"})


def test_doctype_without_entities_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "yml.xml"
    path.write_bytes(b'<?xml version="1.0"?>\n<!DOCTYPE urunler SYSTEM "shops.dtd">\n'
                     b"<urunler><urun><urunkodu>Y1</urunkodu><fiyat>5</fiyat></urun></urunler>")
    assert [i.code for i in parse(path, {"preset": "urun"})[0]] == ["Y1"]


def test_html_page_and_empty_or_wrong_record_fail_clearly(tmp_path: Path) -> None:
    html = tmp_path / "page.xml"
    html.write_bytes(b"<html><head><title>503</title></head><body>bakim</body></html>")
    with pytest.raises(FeedError, match="HTML page"):
        parse(html, {"preset": "urun"})
    other = write_feed(tmp_path, "ideasoft", 3)
    with pytest.raises(FeedError, match="no <urun> element"):
        parse(other, {"preset": "urun"})
    empty = tmp_path / "empty.xml"
    empty.write_bytes(b"")
    with pytest.raises(FeedError, match="empty"):
        parse(empty, {"preset": "urun"})


def test_compressed_files_are_unpacked_and_bombs_refused(tmp_path: Path) -> None:
    plain = write_feed(tmp_path, "tsoft", 5)
    gz = tmp_path / "feed.bin"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    zp = tmp_path / "feed.download"
    with zipfile.ZipFile(zp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("export/urunler.xml", plain.read_bytes())
    want = sorted(i.code for i in parse(plain, {"preset": "tsoft"})[0])
    assert sorted(i.code for i in parse(gz, {"preset": "tsoft"})[0]) == want
    assert sorted(i.code for i in parse(zp, {"preset": "tsoft"})[0]) == want
    bomb = tmp_path / "bomb.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        f.write(b"<urunler><urun><urunkodu>")
        for _ in range(16):
            f.write(b" " * (1 << 20))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(FeedError, match="decompression bomb"):
        parse(bomb, {"preset": "urun", "max_inflated": 4 << 20})
    assert sorted(p.name for p in tmp_path.iterdir() if "unpacked" in p.name or p.suffix == ".part") == []


def test_ideasoft_and_catalogue_determinism(tmp_path: Path) -> None:
    assert product(SEED, 3) == product(SEED, 3)
    assert product(SEED, 3) != product(SEED + 1, 3)
    items, _ = parse(write_feed(tmp_path, "ideasoft", 5), {"preset": "ideasoft"})
    simple = [i for i in items if expected(5)[i.code][0].simple]
    assert all(i.group == "" for i in simple)  # no variants element: a simple product


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 11])
def test_stream_repairs_are_the_same_whatever_the_chunk_boundaries(monkeypatch, step: int) -> None:
    import io

    from workers.suppliers.parsers import xml_source

    doc = ("<?xml version=\"1.0\"?><r><a>Kaş & Kirpik&nbsp;&ouml;&#x131;&amp;</a>"
           "<b><![CDATA[x & y &nbsp; ]] > ]]></b><c t=\"A&B\">z&lt;</c></r>").encode()
    want = ("<?xml version=\"1.0\"?><r><a>Kaş &amp; Kirpik&#160;&#246;&#x131;&amp;</a>"
            "<b><![CDATA[x & y &nbsp; ]] > ]]></b><c t=\"A&amp;B\">z&lt;</c></r>").encode()
    monkeypatch.setattr(xml_source, "_CHUNK", 1)
    reader = xml_source.FeedReader(io.BytesIO(doc), skip=0, fix=True)
    out = b""
    while chunk := reader.read(step):
        out += chunk
    assert out == want


def test_a_syntax_error_in_a_complete_one_line_feed_is_not_called_truncation(tmp_path: Path) -> None:
    path = tmp_path / "oneline.xml"
    path.write_bytes(b"<urunler><urun><urunkodu>A</urunkodu><fiyat>1</fiyat></urun>"
                     b"<urun><urunkodu>B</urunkod><fiyat>1</fiyat></urun></urunler>")
    with pytest.raises(FeedError) as err:
        parse(path, {"preset": "urun"})
    assert "not well-formed" in err.value.reason and "cut short" not in err.value.reason
    assert err.value.record == 2


def test_translated_woocommerce_headers_through_aliases(tmp_path: Path) -> None:
    path = tmp_path / "woo-tr.csv"
    path.write_text("Kimlik,Tür,Stok kodu (SKU),İsim,Normal fiyat,Stok,Ağırlık (kg)\n"
                    "7,simple,TR-1,Işıklı Ayna,\"1,071.68\",4,\"0,5\"\n", encoding="utf-8")
    spec = {"preset": "woocommerce", "headers": {"Kimlik": "ID", "Tür": "Type", "Stok kodu (SKU)": "SKU",
                                                  "İsim": "Name", "Normal fiyat": "Regular price", "Stok": "Stock",
                                                  "Ağırlık (kg)": "Weight (kg)"}}
    items, _ = parse(path, spec)
    assert [(i.code, i.name, i.price, i.quantity, i.weight) for i in items] == [
        ("TR-1", "Işıklı Ayna", Decimal("1071.68"), 4, Decimal("0.5"))]
