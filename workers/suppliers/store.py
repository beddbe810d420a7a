"""Suppliers as rows of ``kervan_supplier``: load and save, with the JSON columns parsed.

``feed`` (the feed spec: URL, auth, format, mapping), ``rules`` (``rules.Rules``) and ``forward``
(order forwarding) are JSON objects in the row. The feed spec and the forward settings may hold
passwords and tokens, and the feed URL itself often carries a token in its path, so a
``Supplier`` never prints them: its ``repr`` names the supplier only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bridge.db import Database
from workers.suppliers.rules import Rules, RulesError


class SupplierError(ValueError):
    """A supplier row that cannot be used as stored (plain words for the merchant)."""


def _object(text: Any, what: str) -> dict[str, Any]:
    if text in (None, ""):
        return {}
    try:
        value = json.loads(text) if isinstance(text, str | bytes) else text
    except ValueError as exc:
        raise SupplierError(f"the supplier's {what} are not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(value, dict):
        raise SupplierError(f"the supplier's {what} must be a JSON object")
    return value


@dataclass(repr=False)
class Supplier:
    code: str
    name: str
    feed: dict[str, Any] = field(default_factory=dict)
    rules_raw: dict[str, Any] = field(default_factory=dict)
    forward: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    import_interval: int = 3600
    last_good_count: int | None = None
    supplier_id: int = 0

    def __repr__(self) -> str:  # feed and forward hold secrets
        return f"Supplier({self.code!r}, id={self.supplier_id})"

    __str__ = __repr__

    @property
    def rules(self) -> Rules:
        try:
            return Rules.from_dict(self.rules_raw)
        except RulesError as exc:
            raise SupplierError(f"the rules of supplier {self.code} are wrong: {exc}") from None

    def spec(self) -> Any:
        """The feed spec (``workers.suppliers.spec.FeedSpec``); raises its ``SpecError``."""
        from workers.suppliers.spec import FeedSpec

        return FeedSpec.from_dict(self.feed)


_COLUMNS = ("supplier_id, code, name, enabled, feed, rules, forward, import_interval, last_good_count")


def _from_row(row: dict[str, Any]) -> Supplier:
    return Supplier(
        supplier_id=int(row["supplier_id"]), code=row["code"], name=row["name"], enabled=bool(row["enabled"]),
        feed=_object(row["feed"], "feed settings"), rules_raw=_object(row["rules"], "rules"),
        forward=_object(row["forward"], "forwarding settings"), import_interval=int(row["import_interval"]),
        last_good_count=int(row["last_good_count"]) if row["last_good_count"] is not None else None,
    )


def load(db: Database, code: str) -> Supplier | None:
    row = db.one(f"SELECT {_COLUMNS} FROM {{p}}kervan_supplier WHERE code = %s", (code,))  # noqa: S608
    return _from_row(row) if row else None


def load_all(db: Database, *, enabled_only: bool = False) -> list[Supplier]:
    where = " WHERE enabled = 1" if enabled_only else ""
    return [_from_row(r) for r in db.query(f"SELECT {_COLUMNS} FROM {{p}}kervan_supplier{where} ORDER BY code")]  # noqa: S608


def save(db: Database, supplier: Supplier) -> int:
    """Insert or update by code; returns the supplier_id. The rules are checked first, so a bad
    rule set is refused here rather than failing every run."""
    Rules.from_dict(supplier.rules_raw)
    params = (supplier.code, supplier.name, int(supplier.enabled),
              json.dumps(supplier.feed, ensure_ascii=False), json.dumps(supplier.rules_raw, ensure_ascii=False),
              json.dumps(supplier.forward, ensure_ascii=False), int(supplier.import_interval))

    def run(cur: Any) -> int:
        cur.execute(
            "INSERT INTO {p}kervan_supplier (code, name, enabled, feed, rules, forward, import_interval)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE name = VALUES(name),"
            " enabled = VALUES(enabled), feed = VALUES(feed), rules = VALUES(rules), forward = VALUES(forward),"
            " import_interval = VALUES(import_interval)", params)
        cur.execute("SELECT supplier_id FROM {p}kervan_supplier WHERE code = %s", (supplier.code,))
        return int(cur.fetchone()["supplier_id"])

    supplier.supplier_id = db.run_in_transaction(run)
    return supplier.supplier_id


__all__ = ["Supplier", "SupplierError", "load", "load_all", "save"]
