"""Supplier XML with a per-supplier element mapping (Ticimax, IdeaSoft, T-Soft style, ad-hoc
``<urun>`` feeds…; the mapping language is described in spec.py).

Variants come either nested (``variants`` path: one FeedItem per variant element, the product's
values under the variant's) or as sibling records that share a model code (``group`` mapped).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

from ..model import FeedItem, ItemProblem
from ..spec import FeedSpec
from .common import ItemBuilder, as_list, overlay, text
from .xml_source import iter_elements


def _local(tag: Any) -> str | None:
    if not isinstance(tag, str):
        return None  # comments, processing instructions
    return tag.rpartition("}")[2] if tag[:1] == "{" else tag


def child_index(el: etree._Element) -> dict[str, list]:
    index: dict[str, list] = {}
    for c in el:
        tag = c.tag
        if tag.__class__ is not str:
            continue  # comments, processing instructions
        if tag[0] == "{":
            tag = tag.rpartition("}")[2]
        found = index.get(tag)
        if found is None:
            index[tag] = [c]
        else:
            found.append(c)
    return index


class Path_:
    """One compiled path: element steps plus an optional attribute."""

    __slots__ = ("steps", "attr")

    def __init__(self, spec: str) -> None:
        spec = spec.strip()
        elem, _, attr = spec.partition("@")
        self.steps = tuple(s for s in elem.strip("/").split("/") if s and s != ".")
        self.attr = attr or None

    def elements(self, el: etree._Element, index: dict[str, list] | None = None) -> list[etree._Element]:
        if not self.steps:
            return [el]
        # The first step reads the record's child index, built once per record (iterating the
        # children once beats one scan per field, supplier-feeds.md §5).
        found = (index if index is not None else child_index(el)).get(self.steps[0], [])
        for step in self.steps[1:]:
            found = [c for e in found for c in e if _local(c.tag) == step]
            if not found:
                break
        return found

    def values(self, el: etree._Element, index: dict[str, list] | None = None) -> list[str]:
        out = []
        for e in self.elements(el, index):
            if self.attr:
                v = e.get(self.attr)
            elif len(e):  # mixed content (unescaped HTML in a description): keep every text piece
                v = "".join(e.itertext())
            else:
                v = e.text
            if v is not None:
                out.append(v)
        return out


class Mapping:
    """A compiled ``fields`` mapping: how to pull every FeedItem field out of one element."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.plain: list[tuple[str, list[Path_]]] = []
        self.pairs: list[tuple[str, Any]] = []
        for name, paths in fields.items():
            if name in ("options", "attributes"):
                if isinstance(paths, dict):
                    self.pairs.append((name, {k: Path_(v) for k, v in paths.items()}))
                else:
                    where, key, value = paths.split("|")
                    self.pairs.append((name, (Path_(where), Path_(key), Path_(value))))
            else:
                self.plain.append((name, [Path_(p) for p in as_list(paths)]))

    def extract(self, el: etree._Element, idx: dict[str, list] | None = None) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        if idx is None:
            idx = child_index(el)
        for name, paths in self.plain:
            if name == "images":
                raw[name] = [v for p in paths for v in p.values(el, idx)]
            elif name == "category_path" and len(paths) > 1 and not any(len(p.steps) == 0 for p in paths):
                levels = [text(p.values(el, idx)) for p in paths]
                # A list of paths is one level each (mainCategory/category/subCategory), unless
                # only one of them is present: then that one is a whole path to split.
                present = [lv for lv in levels if lv]
                raw[name] = present[0] if len(present) == 1 else present
            else:
                raw[name] = next((v for p in paths for v in p.values(el, idx) if v.strip()), "")
        for name, how in self.pairs:
            pairs: dict[str, str] = {}
            if isinstance(how, dict):
                for label, p in how.items():
                    v = text(p.values(el, idx))
                    if v:
                        pairs[label] = v
            else:
                where, key, value = how
                for e in where.elements(el, idx):
                    k, v = text(key.values(e)), text(value.values(e))
                    if k and v:
                        pairs[k] = v
            raw[name] = pairs
        return raw


class RecordReader:
    """What one record element yields under a spec: the product, or one item per nested variant."""

    def __init__(self, spec: FeedSpec) -> None:
        self.builder = ItemBuilder(spec)
        self.product = Mapping(spec.fields)
        self.variant = Mapping(spec.variant_fields) if spec.variants else None
        self.variants_at = Path_(spec.variants) if spec.variants else None

    def items(self, record: int, el: etree._Element) -> Iterator[FeedItem | ItemProblem]:
        idx = child_index(el)
        raw = self.product.extract(el, idx)
        nested = self.variants_at.elements(el, idx) if self.variants_at is not None and self.variants_at.steps else []
        if self.variant is None or not nested:
            yield self.builder.build(record, raw)
            return
        group = text(raw.get("group")) or text(raw.get("code"))
        for v in nested:
            values = overlay(raw, self.variant.extract(v))
            values["group"] = group
            yield self.builder.build(record, values)


def iter_xml(path: Path, spec: FeedSpec) -> Iterator[FeedItem | ItemProblem]:
    reader = RecordReader(spec)
    for record, el in iter_elements(path, (spec.record,), fallback=spec.encoding, fix=spec.sanitize):
        yield from reader.items(record, el)
