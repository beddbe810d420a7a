"""JSON feeds: an array of product objects, at the top level or under a dot path
(``products`` for Shopify's ``/products.json`` shape).

The standard library has no streaming JSON parser and ``ijson`` is not among Kervan's
dependencies, so a JSON feed is read whole — but only up to ``max_json_bytes`` (64 MB by default):
a larger one is refused with a clear error instead of exhausting memory. Suppliers with bigger
catalogues serve XML or CSV, which stream. Numbers are read as ``Decimal`` (never float).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..encoding import decide
from ..model import FeedError, FeedItem, ItemProblem
from ..spec import FeedSpec
from .common import ItemBuilder, as_list, overlay, text


def _walk(node: Any, keys: list[str]) -> list[Any]:
    """Every value at ``keys`` under ``node``; lists met on the way are walked element by element."""
    found = [node]
    for key in keys:
        nxt: list[Any] = []
        for n in found:
            if isinstance(n, list):
                n_items = n
            else:
                n_items = [n]
            for x in n_items:
                if isinstance(x, dict) and key in x:
                    nxt.append(x[key])
        found = nxt
    flat: list[Any] = []
    for v in found:
        flat.extend(v if isinstance(v, list) else [v])
    return flat


def _scalar(v: Any) -> str:
    if v is None or isinstance(v, dict | list):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format(v, "f")
    return str(v)


def _values(node: Any, path: str) -> list[str]:
    keys = [k for k in path.split(".") if k]
    return [s for s in (_scalar(v) for v in (_walk(node, keys) if keys else [node])) if s.strip()]


def _extract(node: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name, paths in fields.items():
        if name in ("options", "attributes"):
            pairs: dict[str, str] = {}
            if isinstance(paths, dict):
                for label, p in paths.items():
                    v = text(_values(node, p))
                    if v:
                        pairs[label] = v
            else:
                where, key, value = paths.split("|")
                for e in _walk(node, [k for k in where.split(".") if k]):
                    if isinstance(e, dict):
                        k, v = text(_values(e, key)), text(_values(e, value))
                        if k and v:
                            pairs[k] = v
            raw[name] = pairs
        elif name == "images":
            raw[name] = [v for p in as_list(paths) for v in _values(node, p)]
        elif name == "category_path" and not isinstance(paths, str):
            levels = [text(_values(node, p)) for p in paths]
            present = [lv for lv in levels if lv]
            raw[name] = present[0] if len(present) == 1 else present
        else:
            raw[name] = next((v for p in as_list(paths) for v in _values(node, p)), "")
    return raw


def iter_json(path: Path, spec: FeedSpec) -> Iterator[FeedItem | ItemProblem]:
    size = path.stat().st_size
    if size > spec.max_json_bytes:
        raise FeedError(
            f"the JSON feed is {size / (1 << 20):,.1f} MB; JSON feeds are read whole and the limit is "
            f"{spec.max_json_bytes / (1 << 20):,.0f} MB (max_json_bytes) — ask the supplier for XML or CSV, "
            "which stream, or raise the limit"
        )
    decision = decide(path, spec.encoding)
    try:
        with open(path, encoding=decision.encoding, errors="strict") as f:
            if decision.bom:
                f.read(1)  # the BOM decodes to one U+FEFF
            doc = json.load(f, parse_float=Decimal)
    except UnicodeDecodeError as exc:
        raise FeedError(f"the JSON feed is not readable as {decision.encoding}") from exc
    except json.JSONDecodeError as exc:
        raise FeedError(
            f"the JSON feed is not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg}) — cut short?"
        ) from exc
    records: Any = doc
    for key in [k for k in spec.record.split(".") if k]:
        if not isinstance(records, dict) or key not in records:
            raise FeedError(f"the JSON feed has no {spec.record!r} (stopped at {key!r})")
        records = records[key]
    if not isinstance(records, list):
        raise FeedError(f"the JSON feed's {spec.record or 'top level'} is not an array of products")
    if not records:
        raise FeedError("the JSON feed holds no products")
    builder = ItemBuilder(spec)
    for record, node in enumerate(records, start=1):
        if not isinstance(node, dict):
            yield ItemProblem(record, "not a JSON object")
            continue
        raw = _extract(node, spec.fields)
        nested = _walk(node, [k for k in spec.variants.split(".") if k]) if spec.variants else []
        nested = [v for v in nested if isinstance(v, dict)]
        if not nested:
            yield builder.build(record, raw)
            continue
        group = text(raw.get("group")) or text(raw.get("code"))
        for v in nested:
            values = overlay(raw, _extract(v, spec.variant_fields))
            values["group"] = group
            yield builder.build(record, values)
