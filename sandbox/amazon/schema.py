"""A small JSON-Schema (draft-07) subset validator for the published Amazon schemas.

Enough for ``listings-feed-schema-v2.json`` and the processing-report schema as published in
``specs/`` (copied from the published models) (type, const, enum, properties with ``false`` sub-schemas, required,
additionalProperties, minProperties, items, minItems, maxItems, minLength, minimum, oneOf, local
``$ref``). ``jsonschema`` is not a project dependency; unknown keywords are ignored, never guessed.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

SPEC_DIRS = (
    # The project's own copy (see specs/README.md): a fresh checkout has no ../shared.
    Path(__file__).resolve().parent / "specs",
)

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


@cache
def load(name: str) -> dict[str, Any]:
    """A schema file of the published Amazon models by file name."""
    for base in SPEC_DIRS:
        path = base / name
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"Amazon schema {name} not found in {', '.join(map(str, SPEC_DIRS))}")


def _type_ok(value: Any, expected: str | list[str]) -> bool:
    names = expected if isinstance(expected, list) else [expected]
    for name in names:
        kinds = _TYPES.get(name)
        if kinds is None:
            return True
        if isinstance(value, bool) and name in ("integer", "number"):
            continue
        if isinstance(value, kinds):
            return True
    return False


def errors(value: Any, schema: Any, root: dict[str, Any] | None = None, path: str = "$") -> list[str]:
    """Every violation as "<json path>: <what is wrong>" (empty list = valid)."""
    root = root if root is not None else schema
    if schema is True or schema is None:
        return []
    if schema is False:
        return [f"{path}: is not allowed"]
    if "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            return []
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        return errors(value, target, root, path)
    out: list[str] = []
    if "type" in schema and not _type_ok(value, schema["type"]):
        return [f"{path}: expected {schema['type']}, got {type(value).__name__}"]
    if "const" in schema and value != schema["const"]:
        out.append(f"{path}: must be {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str) and "minLength" in schema and len(value) < schema["minLength"]:
        out.append(f"{path}: shorter than {schema['minLength']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "minimum" in schema:
        if value < schema["minimum"]:
            out.append(f"{path}: less than {schema['minimum']}")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            out.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            out.append(f"{path}: more than {schema['maxItems']} items")
        if isinstance(schema.get("items"), (dict, bool)):
            for i, item in enumerate(value):
                out.extend(errors(item, schema["items"], root, f"{path}[{i}]"))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                out.append(f"{path}: '{name}' is required")
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            out.append(f"{path}: fewer than {schema['minProperties']} properties")
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                out.extend(errors(item, props[name], root, f"{path}.{name}"))
            elif extra is False:
                out.append(f"{path}: property '{name}' is not allowed")
            elif isinstance(extra, dict):
                out.extend(errors(item, extra, root, f"{path}.{name}"))
    if "oneOf" in schema:
        matches = [branch for branch in schema["oneOf"] if not errors(value, branch, root, path)]
        if len(matches) != 1:
            out.append(f"{path}: matches {len(matches)} of the allowed shapes, expected exactly one")
    if "allOf" in schema:
        for branch in schema["allOf"]:
            out.extend(errors(value, branch, root, path))
    return out


def feed_errors(document: Any) -> list[str]:
    """Violations of the JSON_LISTINGS_FEED v2 schema (header and message envelope)."""
    return errors(document, load("listings-feed-schema-v2.json"))


def message_errors(message: Any) -> list[str]:
    return errors(message, load("listings-feed-message-schema-v2.json"))


def report_errors(report: Any) -> list[str]:
    return errors(report, load("listings-feed-processing-report-schema-v2.json"))


def envelope_errors(document: Any, max_messages: int = 25_000) -> list[str]:
    """Violations of the feed's header and message list, leaving each message to ``message_errors``
    (a bad message makes only that message invalid in the processing report, not the feed FATAL)."""
    full = load("listings-feed-schema-v2.json")
    envelope = dict(full)
    envelope["properties"] = {
        "header": full["properties"]["header"],
        "messages": {"type": "array", "minItems": 1, "maxItems": max_messages},
    }
    return errors(document, envelope)
