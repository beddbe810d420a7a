"""The catalogue (feed_catalog.py) written out in each feed shape of supplier-feeds.md, piece by
piece: ``render(fmt, products, declared)`` yields ("head" | "item" | "tail", text), one "item" per
record, so the server can stream a million records, cut one in half, or encode it as it likes.

Number styles differ per shape on purpose (they do in the wild): Ticimax and ``<urun>`` feeds write
``1.071,68``, IdeaSoft ``1071.6800``, T-Soft ``1071.68``, GMC ``1071.68 TRY``, the generic supplier
CSV ``1.071,68`` with ``;``; ``<urun>`` writes KDV as a fraction (``0.20``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

from .feed_catalog import Product

FORMATS = {
    # name: (content type, extension)
    "ticimax": ("application/xml", "xml"),
    "ideasoft": ("application/xml", "xml"),
    "tsoft": ("application/xml", "xml"),
    "urun": ("application/xml", "xml"),
    "gmc-rss": ("application/rss+xml", "xml"),
    "gmc-atom": ("application/atom+xml", "xml"),
    "shopify": ("text/csv", "csv"),
    "woocommerce": ("text/csv", "csv"),
    "supplier-csv": ("text/csv", "csv"),
    "json": ("application/json", "json"),
}

Piece = tuple[str, str]


def tr_money(d: Decimal) -> str:
    """1071.68 → ``1.071,68``."""
    whole, _, frac = f"{d:.2f}".partition(".")
    groups = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    return ".".join([whole, *groups]) + "," + frac


def _e(s: object) -> str:
    return escape(str(s))


def _cdata(s: str) -> str:
    return "<![CDATA[" + s.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _decl(declared: str | None) -> str:
    return f'<?xml version="1.0" encoding="{declared}"?>\n' if declared else ""


# --- XML shapes ---------------------------------------------------------------------------------


def _ticimax(products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    yield "head", _decl(declared) + "<Root><Urunler>\n"
    for p in products:
        out = [f"<Urun><UrunKartiID>{p.index + 1}</UrunKartiID><UrunAdi>{_e(p.name)}</UrunAdi>",
               f"<OnYazi>{_cdata('')}</OnYazi><Aciklama>{_cdata(p.description)}</Aciklama>",
               f"<Marka>{_e(p.brand)}</Marka><SatisBirimi>ADET</SatisBirimi>",
               f"<Kategori>{_e(p.category[-1])}</Kategori><KategoriTree>{_e('/'.join(p.category))}</KategoriTree>",
               "<Resimler>", *(f"<Resim>{_e(u)}</Resim>" for u in p.images), "</Resimler><UrunSecenek>"]
        for v in p.variants:
            # The stock code is the product's for every variant (a real Ticimax trap): identity is VaryasyonID.
            out.append(
                f"<Secenek><VaryasyonID>{_e(v.code)}</VaryasyonID><StokKodu>{_e(p.code)}</StokKodu>"
                f"<Barkod>{v.barcode}</Barkod><StokAdedi>{v.quantity}</StokAdedi>"
                f"<AlisFiyati>{tr_money(v.cost)}</AlisFiyati><SatisFiyati>{tr_money(v.price)}</SatisFiyati>"
                f"<IndirimliFiyat>0</IndirimliFiyat><KDVDahil>true</KDVDahil><KdvOrani>{p.vat}</KdvOrani>"
                f"<ParaBirimi>TL</ParaBirimi><ParaBirimiKodu>TRY</ParaBirimiKodu><Desi>1</Desi><EkSecenekOzellik>"
                + "".join(f"<Ozellik Tanim={quoteattr(k)} Deger={quoteattr(val)}>{_e(val)}</Ozellik>"
                          for k, val in v.options.items())
                + "</EkSecenekOzellik></Secenek>")
        out.append("</UrunSecenek></Urun>\n")
        yield "item", "".join(out)
    yield "tail", "</Urunler></Root>\n"


def _ideasoft(products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    yield "head", _decl(declared) + "<root>\n"
    for p in products:
        main, *rest = p.category
        out = [f"<item><stockCode>{_e(p.code)}</stockCode><label>{_e(p.name)}</label><status>1</status>",
               f"<brand>{_e(p.brand)}</brand><barcode>{p.variants[0].barcode}</barcode>",
               f"<mainCategory>{_e(main)}</mainCategory><category>{_e(rest[0] if rest else '')}</category>",
               f"<subCategory>{_e(rest[1] if len(rest) > 1 else '')}</subCategory>",
               f"<buyingPrice>{p.variants[0].cost:.4f}</buyingPrice><price1>{p.variants[0].price:.4f}</price1>",
               f"<tax>{p.vat}</tax><currencyAbbr>TL</currencyAbbr>",
               f"<stockAmount>{sum(v.quantity for v in p.variants)}</stockAmount><stockType>Adet</stockType>",
               *(f"<picture{k + 1}Path>{_cdata(u)}</picture{k + 1}Path>" for k, u in enumerate(p.images)),
               f"<details>{_cdata(p.description)}</details>"]
        if not p.simple:
            out.append("<variants>")
            for v in p.variants:
                out.append(
                    f"<variant><vStockCode>{_e(v.code)}</vStockCode><vBarcode>{v.barcode}</vBarcode>"
                    f"<vStockAmount>{v.quantity}</vStockAmount><vBuyingPrice>{v.cost:.4f}</vBuyingPrice>"
                    f"<vPrice1>{v.price:.4f}</vPrice1><options>"
                    + "".join(f"<option><variantName>{_e(k)}</variantName><variantValue>{_e(val)}</variantValue>"
                              "</option>" for k, val in v.options.items())
                    + "</options></variant>")
            out.append("</variants>")
        out.append("</item>\n")
        yield "item", "".join(out)
    yield "tail", "</root>\n"


def _tsoft(products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    yield "head", _decl(declared) + "<products>\n"
    for p in products:
        v0 = p.variants[0]
        out = [f"<Product><ProductCode>{_e(p.code)}</ProductCode><ProductName>{_e(p.name)}</ProductName>",
               f"<Brand>{_e(p.brand)}</Brand><Barcode>{v0.barcode}</Barcode>",
               f"<Category>{_e(' > '.join(p.category))}</Category><BuyingPrice>{v0.cost:.2f}</BuyingPrice>",
               f"<SellingPrice>{v0.price:.2f}</SellingPrice><Vat>{p.vat}</Vat><Currency>TRY</Currency>",
               f"<Stock>{sum(v.quantity for v in p.variants)}</Stock><Details>{_cdata(p.description)}</Details>",
               "<Images>", *(f"<Image>{_e(u)}</Image>" for u in p.images), "</Images>"]
        if not p.simple:
            out.append("<SubProducts>")
            for v in p.variants:
                out.append(f"<SubProduct><SubProductCode>{_e(v.code)}</SubProductCode><Barcode>{v.barcode}</Barcode>"
                           f"<Stock>{v.quantity}</Stock><BuyingPrice>{v.cost:.2f}</BuyingPrice>"
                           f"<SellingPrice>{v.price:.2f}</SellingPrice><Color>{_e(v.options['Renk'])}</Color>"
                           f"<Size>{_e(v.options['Beden'])}</Size></SubProduct>")
            out.append("</SubProducts>")
        out.append("</Product>\n")
        yield "item", "".join(out)
    yield "tail", "</products>\n"


def _urun(products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    """Ad-hoc ``<urun>`` rows; variants are sibling rows sharing ``model``. Bare ``&`` in names
    is the xmlbankasi defect the importer repairs; it appears in the brand ``Ev & Yaşam``."""
    yield "head", _decl(declared) + "<urunler>\n"
    for p in products:
        rows = []
        for v in p.variants:
            rows.append(
                f"<urun><urunkodu>{_e(v.code)}</urunkodu>"
                + (f"<model>{_e(p.code)}</model>" if not p.simple else "")
                + f"<urun_ad>{_e(p.name)}</urun_ad><marka>{_e(p.brand)}</marka><barkod>{v.barcode}</barkod>"
                f"<stok>{v.quantity}</stok><fiyat>{tr_money(v.cost)}</fiyat><kdv>{p.vat / 100:.2f}</kdv>"
                f"<kategori>{' > '.join(p.category)}</kategori>"  # unescaped: "Ev & Yaşam" is a bare &
                + "".join(f"<resim{k + 1}>{_e(u)}</resim{k + 1}>" for k, u in enumerate(p.images))
                + "".join(f"<{'renk' if k == 'Renk' else 'beden'}>{_e(val)}</{'renk' if k == 'Renk' else 'beden'}>"
                          for k, val in v.options.items())
                + f"<aciklama>{_e(p.description)}</aciklama></urun>\n")
        yield "item", "".join(rows)
    yield "tail", "</urunler>\n"


G = "http://base.google.com/ns/1.0"


def _gmc_fields(p: Product) -> Iterator[tuple[Product, str]]:
    for v in p.variants:
        avail = "in stock" if v.quantity else "out_of_stock"  # both spellings occur in real feeds
        parts = [f"<g:id>{_e(v.code)}</g:id>"]
        if not p.simple:
            parts.append(f"<g:item_group_id>{_e(p.code)}</g:item_group_id>")
        parts += [f"<g:image_link>{_e(p.images[0])}</g:image_link>",
                  *(f"<g:additional_image_link>{_e(u)}</g:additional_image_link>" for u in p.images[1:]),
                  f"<g:availability>{avail}</g:availability><g:price>{v.price:.2f} TRY</g:price>",
                  f"<g:cost_of_goods_sold>{v.cost:.2f} TRY</g:cost_of_goods_sold>",
                  f"<g:brand>{_e(p.brand)}</g:brand><g:gtin>{v.barcode}</g:gtin><g:condition>new</g:condition>",
                  f"<g:product_type>{_e(' > '.join(p.category))}</g:product_type>"]
        if v.options:
            parts.append(f"<g:color>{_e(v.options['Renk'])}</g:color><g:size>{_e(v.options['Beden'])}</g:size>")
        yield p, "".join(parts)


def _gmc_rss(products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    yield "head", (_decl(declared) + f'<rss version="2.0" xmlns:g="{G}"><channel><title>Tedarikçi</title>'
                   "<link>https://tedarikci.test</link><description>Ürünler</description>\n")
    for p in products:
        yield "item", "".join(
            f"<item><title>{_e(q.name)}</title><link>https://tedarikci.test/p/{_e(q.code)}</link>"
            f"<description>{_e(q.description)}</description>{fields}</item>\n" for q, fields in _gmc_fields(p))
    yield "tail", "</channel></rss>\n"


def _gmc_atom(products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    yield "head", (_decl(declared) + f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="{G}">'
                   "<title>Tedarikçi</title><updated>2026-01-01T00:00:00Z</updated>\n")
    for p in products:
        yield "item", "".join(
            f'<entry><title>{_e(q.name)}</title><link href="https://tedarikci.test/p/{_e(q.code)}"/>'
            f"<summary>{_e(q.description)}</summary><id>tag:tedarikci.test,2026:{_e(q.code)}</id>"
            f"<updated>2026-01-01T00:00:00Z</updated>{fields}</entry>\n" for q, fields in _gmc_fields(p))
    yield "tail", "</feed>\n"


# --- CSV shapes ---------------------------------------------------------------------------------


def _csv_line(row: list[str], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerow(row)
    return buf.getvalue()


SHOPIFY_HEADER = ["Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
                  "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Variant SKU", "Variant Grams",
                  "Variant Inventory Qty", "Variant Price", "Variant Compare At Price", "Variant Barcode",
                  "Image Src", "Image Position", "Cost per item", "Status"]


def _shopify(products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    yield "head", _csv_line(SHOPIFY_HEADER)
    for p in products:
        handle = p.code.lower()
        rows = []
        for k, v in enumerate(p.variants):
            first = k == 0
            o1n, o1v, o2n, o2v = (("Title", "Default Title", "", "") if p.simple else
                                  ("Renk", v.options["Renk"], "Beden", v.options["Beden"]))
            rows.append(_csv_line([
                handle, p.name if first else "",
                # a multi-line quoted HTML body with a comma and quotes
                (p.description + '\n<p>"Kargo", 2 gün</p>') if first else "",
                p.brand if first else "", " > ".join(p.category) if first else "", "", "", "TRUE" if first else "",
                o1n if first else "", o1v, o2n if first else "", o2v, v.code, "250", str(v.quantity),
                f"{v.price:.2f}", "", "'" + v.barcode,  # Excel's text guard on barcodes
                p.images[0] if first else "", "1" if first else "", f"{v.cost:.2f}", "active" if first else ""]))
        for pos, img in enumerate(p.images[1:], start=2):  # image-only rows
            rows.append(_csv_line([handle] + [""] * 17 + [img, str(pos), "", ""]))
        yield "item", "".join(rows)


WOO_HEADER = ["ID", "Type", "SKU", "Name", "Published", "Short description", "Description", "In stock?", "Stock",
              "Sale price", "Regular price", "Categories", "Images", "Parent", "Weight (kg)",
              "Attribute 1 name", "Attribute 1 value(s)", "Attribute 2 name", "Attribute 2 value(s)"]


def _woocommerce(products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    yield "head", _csv_line(WOO_HEADER)
    for p in products:
        pid = 1000 + p.index * 10
        images = ", ".join(p.images)
        cats = " > ".join(p.category)
        if p.simple:
            v = p.variants[0]
            yield "item", _csv_line([str(pid), "simple", v.code, p.name, "1", "", p.description,
                                     "1" if v.quantity else "0", str(v.quantity), "", f"{v.cost:.2f}", cats, images,
                                     "", "0.25", "", "", "", ""])
            continue
        parent = _csv_line([str(pid), "variable", p.code, p.name, "1", "", p.description, "1", "", "", "", cats,
                            images, "", "0.25", "Renk", ", ".join(v.options["Renk"] for v in p.variants),
                            "Beden", ", ".join(v.options["Beden"] for v in p.variants)])
        variations = "".join(
            _csv_line([str(pid + k + 1), "variation", v.code, f"{p.name} - {v.options['Renk']}", "1", "", "",
                       "1" if v.quantity else "0", str(v.quantity), "", f"{v.cost:.2f}", "", "",
                       # odd products reference the parent by id and list variations first (both occur)
                       f"id:{pid}" if p.index % 2 else p.code, "", "Renk", v.options["Renk"], "Beden",
                       v.options["Beden"]])
            for k, v in enumerate(p.variants))
        yield "item", (variations + parent) if p.index % 2 else (parent + variations)


SUPPLIER_CSV_HEADER = ["Stok Kodu", "Model Kodu", "Urun Adi", "Marka", "Kategori Yolu", "Stok Adedi", "Fiyat",
                       "Para Birimi", "KDV %", "Barkod", "Gorsel", "Renk", "Beden"]


def _supplier_csv(products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    """A DIA/Excel-TR style export: ``;``, CRLF, comma decimals, variants as rows sharing Model Kodu."""
    yield "head", _csv_line(SUPPLIER_CSV_HEADER, ";")
    for p in products:
        yield "item", "".join(
            _csv_line([v.code, "" if p.simple else p.code, p.name, p.brand, ">".join(p.category), str(v.quantity),
                       tr_money(v.cost), "TL", f"{p.vat},00", v.barcode, "|".join(p.images),
                       v.options.get("Renk", ""), v.options.get("Beden", "")], ";")
            for v in p.variants)


# --- JSON ---------------------------------------------------------------------------------------


def _json(products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    yield "head", '{"products": [\n'
    first = True
    for p in products:
        obj = {
            "code": p.code, "name": p.name, "brand": {"name": p.brand}, "category": " > ".join(p.category),
            "vat": int(p.vat), "currency": "TRY", "description": p.description,
            "images": [{"url": u} for u in p.images],
            "variants": [{"sku": v.code, "barcode": v.barcode, "stock": v.quantity, "cost": float(v.cost),
                          "price": str(v.price), "options": v.options} for v in p.variants],
        }
        yield "item", ("" if first else ",\n") + json.dumps(obj, ensure_ascii=False)
        first = False
    yield "tail", "\n]}\n"


RENDERERS = {
    "ticimax": _ticimax, "ideasoft": _ideasoft, "tsoft": _tsoft, "urun": _urun, "gmc-rss": _gmc_rss,
    "gmc-atom": _gmc_atom, "shopify": _shopify, "woocommerce": _woocommerce, "supplier-csv": _supplier_csv,
    "json": _json,
}


def render(fmt: str, products: Iterable[Product], declared: str | None) -> Iterator[Piece]:
    """The pieces of ``fmt``; ``declared`` is the XML declaration's encoding (None: no declaration)."""
    return RENDERERS[fmt](products, declared)


# The FeedSpec (as stored in kervan_supplier.feed) that reads each sandbox format.
SPECS: dict[str, dict] = {
    "ticimax": {"preset": "ticimax"},
    "ideasoft": {"preset": "ideasoft"},
    "tsoft": {"preset": "tsoft"},
    "urun": {"preset": "urun"},
    "gmc-rss": {"preset": "gmc"},
    "gmc-atom": {"preset": "gmc"},
    "shopify": {"preset": "shopify"},
    "woocommerce": {"preset": "woocommerce"},
    "supplier-csv": {"format": "csv", "delimiter": ";", "fields": {
        "code": "Stok Kodu", "group": "Model Kodu", "name": "Urun Adi", "brand": "Marka",
        "category_path": "Kategori Yolu", "quantity": "Stok Adedi", "price": "Fiyat", "currency": "Para Birimi",
        "vat_rate": "KDV %", "barcode": "Barkod", "images": "Gorsel", "options": {"Renk": "Renk", "Beden": "Beden"}}},
    "json": {"format": "json", "record": "products", "fields": {
        "code": "code", "name": "name", "brand": "brand.name", "category_path": "category", "vat_rate": "vat",
        "currency": "currency", "description": "description", "images": "images.url"},
        "variants": "variants", "variant_fields": {
        "code": "sku", "sku": "sku", "barcode": "barcode", "quantity": "stock", "price": "cost", "list_price": "price",
        "options": {"Renk": "options.Renk", "Beden": "options.Beden"}}},
}
