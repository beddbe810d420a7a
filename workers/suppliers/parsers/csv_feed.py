"""CSV feeds, row by row: a generic header mapping, and the Shopify and WooCommerce product
export layouts (supplier-feeds.md §1.4, §1.5, §3.9).

Encoding from the bytes (BOM / UTF-8 / the supplier's fallback, windows-1254 for Excel-TR files),
``newline=''`` so quoted multi-line HTML survives, Meta's ``#`` metadata lines before the header
skipped, the delimiter sniffed among ``, ; TAB |`` from the header line when not configured.
``record`` is the row as a spreadsheet numbers it (the header is row 1).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from itertools import chain
from pathlib import Path
from typing import Any

from ..encoding import decide
from ..model import FeedError, FeedItem, ItemProblem
from ..numbers import NumberError, parse_decimal
from ..spec import FeedSpec
from .common import ItemBuilder, as_list, overlay, text

_DELIMITERS = (",", ";", "\t", "|")
csv.field_size_limit(16 << 20)  # long HTML bodies; libxml2's text limit is 10 MB too


def _sniff_delimiter(header: str, quotechar: str) -> str:
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for ch in header:
        if ch == quotechar:
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class Table:
    """The header of a CSV feed and rows read against it."""

    def __init__(self, header: list[str], aliases: dict[str, str]) -> None:
        names = [h.strip().lstrip("\ufeff").strip() for h in header]
        alias = {k.strip().casefold(): v for k, v in aliases.items()}
        self.names = [alias.get(n.casefold(), n) for n in names]
        self.index: dict[str, int] = {}
        for i, n in enumerate(self.names):
            self.index.setdefault(n, i)
            self.index.setdefault(n.casefold(), i)

    def col(self, name: str) -> int | None:
        i = self.index.get(name)
        return i if i is not None else self.index.get(name.strip().casefold())

    def prefixed(self, prefix: str) -> int | None:
        """The first column whose header starts with ``prefix`` (``Weight (`` for ``Weight (kg)``)."""
        p = prefix.casefold()
        return next((i for i, n in enumerate(self.names) if n.casefold().startswith(p)), None)

    def get(self, row: list[str], name: str) -> str:
        i = self.col(name)
        return row[i].strip() if i is not None and i < len(row) else ""


def _rows(path: Path, spec: FeedSpec) -> tuple[Table, Iterator[tuple[int, list[str]]]]:
    decision = decide(path, spec.encoding)
    encoding = "utf-8-sig" if decision.encoding == "utf-8" else decision.encoding
    f = open(path, encoding=encoding, newline="", errors="strict")  # noqa: SIM115 - closed by the generator
    try:
        lines = iter(f)
        header_line = ""
        for line in lines:
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):  # Meta's "# ref_application_id …" lines
                header_line = line
                break
        if not header_line:
            raise FeedError("the CSV feed has no header row")
        delimiter = spec.delimiter or _sniff_delimiter(header_line, spec.quotechar)
        reader = csv.reader(chain([header_line], lines), delimiter=delimiter, quotechar=spec.quotechar, strict=True)
        table = Table(next(reader), spec.headers)
    except UnicodeDecodeError as exc:
        f.close()
        raise FeedError(f"the CSV feed is not readable as {decision.encoding} (byte {exc.start})") from exc
    except BaseException:
        f.close()
        raise

    def rows() -> Iterator[tuple[int, list[str]]]:
        n = 1
        try:
            with f:
                for row in reader:
                    n += 1
                    if row and any(c.strip() for c in row):
                        yield n, row
        except UnicodeDecodeError as exc:
            raise FeedError(f"the CSV feed is not readable as {decision.encoding} near row {n + 1}") from exc
        except csv.Error as exc:
            raise FeedError(f"the CSV feed is malformed at row {n + 1} (cut short or a stray quote?): {exc}") from exc
        if n == 1:
            raise FeedError("the CSV feed has a header but no rows")

    return table, rows()


# --- generic mapping --------------------------------------------------------------------------


def iter_generic(path: Path, spec: FeedSpec) -> Iterator[FeedItem | ItemProblem]:
    table, rows = _rows(path, spec)
    plain: list[tuple[str, list[int], str]] = []
    pairs: list[tuple[str, dict[str, int]]] = []
    for name, paths in spec.fields.items():
        if name in ("options", "attributes"):
            if not isinstance(paths, dict):
                raise FeedError(f'{name} in a CSV feed must be {{"Name": "column"}}')
            cols = {label: table.col(c) for label, c in paths.items()}
            pairs.append((name, {k: i for k, i in cols.items() if i is not None}))
            continue
        cols = [i for i in (table.col(p) for p in as_list(paths)) if i is not None]
        if name == "code" and not cols:
            raise FeedError(
                f"the CSV header has no code column {as_list(paths)}; its columns are: {', '.join(table.names[:30])}"
            )
        plain.append((name, cols, "levels" if name == "category_path" and len(cols) > 1 else "first"))
    builder = ItemBuilder(spec)
    for record, row in rows:
        raw: dict[str, Any] = {}
        for name, cols, mode in plain:
            vals = [row[i] for i in cols if i < len(row)]
            if name == "images":
                raw[name] = vals
            elif mode == "levels":
                present = [v for v in vals if v.strip()]
                raw[name] = present[0] if len(present) == 1 else present
            else:
                raw[name] = text(vals)
        for name, cols in pairs:
            raw[name] = {label: row[i] for label, i in cols.items() if i < len(row) and row[i].strip()}
        yield builder.build(record, raw)


# --- Shopify ------------------------------------------------------------------------------------


def _grams(value: str) -> str:
    try:
        return str(parse_decimal(value) / Decimal(1000)) if value else ""
    except NumberError:
        return value


def iter_shopify(path: Path, spec: FeedSpec) -> Iterator[FeedItem | ItemProblem]:
    """Rows grouped by ``Handle``: the first carries the product and its first variant, later ones
    add variants (option values) or images only. A handle's rows are buffered until the next
    handle starts, so every variant gets all of the product's images."""
    table, rows = _rows(path, spec)
    if table.col("Handle") is None:
        raise FeedError("not a Shopify product CSV: no Handle column")
    builder = ItemBuilder(spec)
    handle = ""
    product: dict[str, Any] = {}
    option_names: list[str] = ["", "", ""]
    variants: list[tuple[int, dict[str, Any], str]] = []
    images: list[str] = []

    def flush() -> Iterator[FeedItem | ItemProblem]:
        for record, values, variant_image in variants:
            raw = overlay(product, values)
            raw["images"] = ([variant_image] if variant_image else []) + images
            yield builder.build(record, raw)

    for record, row in rows:
        g = table.get
        h = g(row, "Handle")
        if not h:
            yield ItemProblem(record, "row without a Handle")
            continue
        if h != handle:
            yield from flush()
            handle, variants, images = h, [], []
            option_names = [g(row, f"Option{i} Name") for i in (1, 2, 3)]
            product = {
                "group": h,
                "name": g(row, "Title"),
                "description": g(row, "Body (HTML)"),
                "brand": g(row, "Vendor"),
                "category_path": g(row, "Product Category") or g(row, "Type"),
                "attributes": {"status": g(row, "Status")} if g(row, "Status") else {},
            }
        image = g(row, "Image Src")
        if image and image not in images:
            images.append(image)
        values = [g(row, f"Option{i} Value") for i in (1, 2, 3)]
        if not (any(values) or g(row, "Variant SKU") or g(row, "Variant Price")):
            continue  # an image-only row
        options = {
            n: v for n, v in zip(option_names, values, strict=True)
            if n and v and not (n == "Title" and v == "Default Title")
        }
        sku = g(row, "Variant SKU")
        code = sku or (h + ("/" + "/".join(options.values()) if options else ""))
        price = g(row, "Variant Price")
        variants.append((record, {
            "code": code,
            "sku": sku,
            "barcode": g(row, "Variant Barcode"),
            "price": g(row, "Cost per item") or price,
            "list_price": price,
            "quantity": g(row, "Variant Inventory Qty"),
            "weight": _grams(g(row, "Variant Grams")),
            "options": options,
        }, g(row, "Variant Image")))
    yield from flush()


# --- WooCommerce --------------------------------------------------------------------------------


def iter_woocommerce(path: Path, spec: FeedSpec) -> Iterator[FeedItem | ItemProblem]:
    """Simple products as they are; ``variable`` parent rows are remembered (not sellable
    themselves) and ``variation`` rows find them through ``Parent`` (a SKU or ``id:123``).
    Variations may come before their parent: those wait until it appears (or the file ends)."""
    table, rows = _rows(path, spec)
    if table.col("Type") is None or table.col("SKU") is None:
        raise FeedError("not a WooCommerce product CSV: no Type or SKU column")
    builder = ItemBuilder(spec)
    weight_col = table.prefixed("Weight (")
    attr_pairs = []
    for n in range(1, 11):
        name_col, value_col = table.col(f"Attribute {n} name"), table.col(f"Attribute {n} value(s)")
        if name_col is not None and value_col is not None:
            attr_pairs.append((name_col, value_col))
    parents: dict[str, dict[str, Any]] = {}
    waiting: dict[str, list[tuple[int, dict[str, Any]]]] = {}

    def cell(row: list[str], i: int | None) -> str:
        return row[i].strip() if i is not None and i < len(row) else ""

    def values_of(row: list[str]) -> dict[str, Any]:
        g = table.get
        sale, regular = g(row, "Sale price"), g(row, "Regular price")
        return {
            "code": g(row, "SKU") or (f"id:{g(row, 'ID')}" if g(row, "ID") else ""),
            "sku": g(row, "SKU"),
            "name": g(row, "Name"),
            "description": g(row, "Description") or g(row, "Short description"),
            "category_path": g(row, "Categories").split(",")[0].strip(),  # several paths: the first
            "images": g(row, "Images"),
            "price": sale or regular,
            "list_price": regular,
            "quantity": g(row, "Stock"),
            "in_stock": g(row, "In stock?"),
            "weight": cell(row, weight_col),
            "options": {cell(row, a): cell(row, b) for a, b in attr_pairs if cell(row, a) and cell(row, b)},
        }

    def variation(record: int, values: dict[str, Any], parent: dict[str, Any] | None, ref: str) -> Any:
        base = parent or {}
        raw = overlay({k: base.get(k, "") for k in ("name", "description", "category_path", "images")}, values)
        raw["group"] = base.get("group") or ref
        return builder.build(record, raw)

    for record, row in rows:
        kinds = {k.strip().lower() for k in table.get(row, "Type").split(",")}
        values = values_of(row)
        if "variable" in kinds:
            group = values["sku"] or values["code"]
            parent = {**values, "group": group}
            keys = [k for k in (values["sku"], f"id:{table.get(row, 'ID')}" if table.get(row, "ID") else "") if k]
            for k in keys:
                parents[k] = parent
            for k in keys:
                for r, v in waiting.pop(k, []):
                    yield variation(r, v, parent, k)
        elif "variation" in kinds:
            ref = table.get(row, "Parent")
            parent = parents.get(ref)
            if parent is None and ref:
                waiting.setdefault(ref, []).append((record, values))
            else:
                yield variation(record, values, parent, ref)
        elif kinds & {"grouped", "external"}:
            yield ItemProblem(record, f"a WooCommerce {'/'.join(sorted(kinds))} product is not sellable stock; skipped",
                              values["code"])
        else:
            yield builder.build(record, values)
    for ref, pending in waiting.items():  # parents never seen: the variations still stand alone
        for r, v in pending:
            yield variation(r, v, None, ref)


def iter_csv(path: Path, spec: FeedSpec) -> Iterator[FeedItem | ItemProblem]:
    if spec.preset == "shopify":
        return iter_shopify(path, spec)
    if spec.preset == "woocommerce":
        return iter_woocommerce(path, spec)
    return iter_generic(path, spec)

