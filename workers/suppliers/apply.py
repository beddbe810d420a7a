"""Supplier items into OpenCart's own product tables, the way OpenCart's admin stores them.

One call of ``FeedApplier.apply`` is one transaction over a batch of products: it locks their
``kervan_supplier_product`` links, writes only the products whose hash changed, and writes the
outbox events (``product.saved`` for new texts or prices, ``stock.changed`` for stock) in the same
transaction, so an event exists exactly when its change was committed and an unchanged feed costs
one SELECT per batch and no event.

What is written, per OpenCart version (``bridge.opencart.detect_version``):

* ``product`` (4.0.2.3 declares nearly every column NOT NULL without a default, so every such
  column gets OpenCart's own empty value), ``product_description`` for every language, texts
  HTML-escaped as OpenCart's request cleaning leaves them (``htmlspecialchars`` ENT_COMPAT, then
  trimmed: ``&`` ``<`` ``>`` ``"`` become entities, ``'`` stays), ``product_to_store``,
  ``product_to_category`` (mapped ids, added to what the merchant set), ``product_image``;
* the brand as ``manufacturer`` (found by name, created with ``manufacturer_to_store`` if missing);
* the SKU and a barcode that passed the GTIN check: ``product_code`` rows (``SKU``, ``EAN``/``UPC``)
  on 4.1, the ``sku``/``ean``/``upc`` columns on 4.0. An invalid barcode stays only in the link
  table (``kervan_supplier_product.barcode``), for order forwarding;
* the supplier's higher suggested retail price as the product price with the shop's price as a
  special: a ``product_discount`` row with ``special=1, type='F'`` on 4.1, ``product_special`` on 4.0.

The supplier owns the texts, images, brand and codes of its products: when they change in the feed
they are written again (every language gets the supplier's text); a change of price or stock alone
touches only ``product`` (and the option values), so a merchant's translation survives stock
updates. The status is the merchant's after creation, except that the "disable" missing-products
policy switches a product back on when it returns to the feed. Categories are only added.

Variants (items sharing ``FeedItem.group``) become ONE product with one ``select`` option and an
``option_value``/``product_option_value`` per variant (quantity, ``subtract=1``, price as a ``+``
delta over the cheapest variant). Why not 4.x master/variant products: 4.0.2.3's and 4.1's variant
products copy every master field on each admin save (``editVariants``), the storefront lists each
variant as a product of its own, and Kervan's order import already subtracts stock from
``product_option_value`` rows exactly as OpenCart's checkout does. What options cannot hold — a
per-variant SKU, barcode and absolute cost — stays in ``kervan_supplier_product`` (one row per
variant with its ``product_option_value_id``), which is what order forwarding needs. Several
variant attributes (Renk, Beden) form one option ``Renk / Beden`` with values ``Kırmızı / M``,
because OpenCart's options are independent of each other and could not hold a stock per
combination.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from bridge import outbox
from bridge.db import Database
from bridge.envelope import Event
from bridge.opencart import VERSION_41, detect_version
from workers.suppliers.desired import Desired
from workers.suppliers.rules import Rules

NAME_MAX = 255
OPTION_NAME_MAX = 128
MANUFACTURER_MAX = 64
_NUMERIC = {"int", "tinyint", "smallint", "mediumint", "bigint", "decimal", "float", "double"}


def oc_escape(text: str) -> str:
    """PHP ``trim(htmlspecialchars($text, ENT_COMPAT, 'UTF-8'))``, what OpenCart's ``Request``
    does to every posted value before the admin model stores it."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return text.strip(" \t\n\r\0\x0b")


def oc_fit(text: str, limit: int) -> str:
    """Escaped, and cut to ``limit`` characters without splitting an entity."""
    escaped = oc_escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[:limit]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut.rstrip()


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # new items the policy says not to create
    missing: int = 0
    events: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        for name in ("created", "updated", "unchanged", "skipped", "missing", "events"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)


@dataclass(frozen=True)
class _Shop:
    version: str
    languages: tuple[int, ...]
    stock_status_id: int
    weight_class_id: int
    length_class_id: int
    customer_group_id: int
    currency: str


class _Schema:
    """Column facts of OpenCart's tables, read once: 4.0.2.3 and 4.1 differ in a few columns and
    in which need a value on insert."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._columns: dict[str, set[str]] = {}
        self._required: dict[str, dict[str, str]] = {}

    def columns(self, table: str) -> set[str]:
        if table not in self._columns:
            rows = self.db.query(
                "SELECT column_name AS name, data_type AS type, is_nullable AS nullable, column_default AS dflt,"
                " extra FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = %s",
                (self.db.prefix + table,))
            if not rows:
                raise RuntimeError(f"OpenCart table {self.db.prefix}{table} does not exist")
            self._columns[table] = {r["name"] for r in rows}
            self._required[table] = {r["name"]: r["type"] for r in rows if r["nullable"] == "NO"
                                     and r["dflt"] is None and "auto_increment" not in (r["extra"] or "")}
        return self._columns[table]

    def insert(self, cur: Any, table: str, row: dict[str, Any], *, ignore: bool = False) -> int:
        existing = self.columns(table)
        full = {k: v for k, v in row.items() if k in existing}
        for name, kind in self._required[table].items():
            if name not in full:  # what OpenCart's loose sql_mode would have stored
                full[name] = 0 if kind in _NUMERIC else "2000-01-01" if kind in ("date", "datetime") else ""
        names = ", ".join(f"`{k}`" for k in full)
        marks = ", ".join(["%s"] * len(full))
        verb = "INSERT IGNORE" if ignore else "INSERT"
        cur.execute(f"{verb} INTO {{p}}{table} ({names}) VALUES ({marks})", tuple(full.values()))  # noqa: S608
        return int(cur.lastrowid or 0)


class FeedApplier:
    """Applies one supplier's prepared items (``Desired``) to OpenCart, batch by batch."""

    def __init__(self, db: Database, supplier_id: int, supplier_code: str, rules: Rules) -> None:
        self.db = db
        self.supplier_id = supplier_id
        self.code = supplier_code
        self.rules = rules
        self.schema = _Schema(db)
        self.source = f"kervan:feeds:{supplier_code}"[:64]
        self._shop: _Shop | None = None

    # -- shop facts ---------------------------------------------------------------------------
    def shop(self) -> _Shop:
        if self._shop is None:
            rows = self.db.query(
                "SELECT `key`, value FROM {p}setting WHERE store_id = 0 AND `key` IN ('config_stock_status_id',"
                " 'config_weight_class_id', 'config_length_class_id', 'config_customer_group_id', 'config_currency')")
            conf = {r["key"]: r["value"] for r in rows}
            langs = tuple(int(r["language_id"]) for r in self.db.query(
                "SELECT language_id FROM {p}language ORDER BY language_id"))
            self._shop = _Shop(
                version=detect_version(self.db), languages=langs or (1,),
                stock_status_id=int(conf.get("config_stock_status_id") or 5),
                weight_class_id=int(conf.get("config_weight_class_id") or 1),
                length_class_id=int(conf.get("config_length_class_id") or 1),
                customer_group_id=int(conf.get("config_customer_group_id") or 1),
                currency=str(conf.get("config_currency") or "TRY"),
            )
        return self._shop

    def store_rates(self) -> dict[str, Decimal]:
        """OpenCart's own exchange rates as store units per one foreign unit (``oc_currency.value``
        is foreign units per one unit of the default currency)."""
        rows = self.db.query("SELECT code, value FROM {p}currency WHERE value > 0")
        return {r["code"].upper(): (Decimal(1) / Decimal(str(r["value"]))) for r in rows}

    def store_rules(self) -> Rules:
        """The supplier's rules with the store's currency and rates filled in."""
        return replace(self.rules, price=self.rules.price.for_store(self.shop().currency, self.store_rates()))

    # -- public -------------------------------------------------------------------------------
    def apply(self, groups: list[list[Desired]]) -> Counts:
        """One transaction for a batch of products (each a list of its variants, or one item)."""
        self.shop()
        for table in ("product", "product_description", "product_option_value", "manufacturer"):
            self.schema.columns(table)
        return self.db.run_in_transaction(lambda cur: self._apply(cur, groups))

    def mark_missing(self, links: list[dict[str, Any]]) -> Counts:
        """Items the last clean feed no longer lists: the missing-products policy, in one
        transaction. ``links`` are ``kervan_supplier_product`` rows."""
        return self.db.run_in_transaction(lambda cur: self._missing(cur, links))

    # -- apply ----------------------------------------------------------------------------------
    def _apply(self, cur: Any, groups: list[list[Desired]]) -> Counts:
        counts = Counts()
        keys = [d.key for g in groups for d in g]
        if not keys:
            return counts
        links = self._links(cur, keys)
        product_ids = {int(lk["product_id"]) for lk in links.values()}
        alive = self._alive(cur, product_ids)
        saved: set[int] = set()
        stocked: set[int] = set()
        for group in groups:
            group = sorted(group, key=lambda d: d.record)
            own = [links.get(d.key) for d in group]
            changed = [d for d, lk in zip(group, own, strict=True) if lk is None or lk["hash"] != d.hash]
            if not changed:
                counts.unchanged += len(group)
                continue
            pid = next((int(lk["product_id"]) for lk in own if lk and int(lk["product_id"]) in alive), 0)
            if not pid:
                if self.rules.new_products == "ignore":
                    counts.skipped += len(group)
                    continue
                pid, povs = self._create(cur, group)
                counts.created += len(group)
                saved.add(pid)
            else:
                content = any(lk is None or lk["hash"][:32] != d.content_hash for d, lk in zip(group, own, strict=True))
                offer = any(lk is None or lk["hash"][32:] != d.offer_hash for d, lk in zip(group, own, strict=True))
                returned = any(lk is not None and lk["missing_since"] is not None for lk in own)
                price_moved, qty_moved, povs = self._update(cur, pid, group, content, offer, returned, alive[pid])
                counts.updated += len(changed)
                counts.unchanged += len(group) - len(changed)
                if content or price_moved or returned:
                    saved.add(pid)
                elif qty_moved:
                    stocked.add(pid)
            self._link(cur, pid, group, own, povs)
        for pid in sorted(saved):
            outbox.write(cur, outbox.product_saved(pid, source=self.source, reason="feed", supplier=self.code))
        for pid in sorted(stocked - saved):
            outbox.write(cur, self._stock_event(pid))
        counts.events = len(saved) + len(stocked - saved)
        return counts

    def _stock_event(self, pid: int) -> Event:
        return Event("stock.changed", "product", str(pid), {"product_id": pid, "reason": "feed", "supplier": self.code},
                     source=self.source)

    def _links(self, cur: Any, keys: list[str]) -> dict[str, dict[str, Any]]:
        marks = ",".join(["%s"] * len(keys))
        cur.execute(
            f"SELECT item_key, product_id, product_option_value_id, hash, missing_since"  # noqa: S608
            f" FROM {{p}}kervan_supplier_product WHERE supplier_id = %s AND item_key IN ({marks}) FOR UPDATE",
            (self.supplier_id, *keys))
        return {r["item_key"]: r for r in cur.fetchall()}

    def _alive(self, cur: Any, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The linked products OpenCart still has (the merchant may have deleted one)."""
        ids = sorted(ids)
        if not ids:
            return {}
        marks = ",".join(["%s"] * len(ids))
        cur.execute(f"SELECT product_id, status, price, quantity FROM {{p}}product"  # noqa: S608
                    f" WHERE product_id IN ({marks}) FOR UPDATE", ids)
        return {int(r["product_id"]): r for r in cur.fetchall()}

    def _link(self, cur: Any, pid: int, group: list[Desired], own: list[dict[str, Any] | None],
              povs: dict[str, int]) -> None:
        kept = {d.key: int(lk["product_option_value_id"] or 0) for d, lk in zip(group, own, strict=True) if lk}
        cur.executemany(
            "INSERT INTO {p}kervan_supplier_product (supplier_id, item_key, product_id, product_option_value_id,"
            " supplier_code, barcode, cost, currency, hash, missing_since) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL)"
            " ON DUPLICATE KEY UPDATE product_id = VALUES(product_id),"
            " product_option_value_id = VALUES(product_option_value_id), supplier_code = VALUES(supplier_code),"
            " barcode = VALUES(barcode), cost = VALUES(cost), currency = VALUES(currency), hash = VALUES(hash),"
            " missing_since = NULL",
            [(self.supplier_id, d.key, pid, povs.get(d.key, kept.get(d.key, 0)), d.code[:128], d.raw_barcode[:64],
              Decimal(d.cost) if d.cost else None, d.currency[:3] or "TRY", d.hash) for d in group])

    # -- product rows ---------------------------------------------------------------------------
    @staticmethod
    def _head(group: list[Desired]) -> tuple[Desired, Decimal, int]:
        """The item whose texts the product shows, the product's price (the cheapest variant) and
        its quantity (all variants together)."""
        head = group[0]
        if len(group) == 1 and not head.group:
            return head, Decimal(head.price), head.quantity
        return head, min(Decimal(d.price) for d in group), sum(d.quantity for d in group)

    def _is_variant_group(self, group: list[Desired]) -> bool:
        return bool(group[0].group)

    def _create(self, cur: Any, group: list[Desired]) -> tuple[int, dict[str, int]]:
        shop = self.shop()
        head, price, qty = self._head(group)
        variants = self._is_variant_group(group)
        list_price = Decimal(head.list_price) if head.list_price and not variants else None
        row: dict[str, Any] = {
            "master_id": 0, "model": head.model, "location": "", "variant": "", "override": "",
            "quantity": qty, "stock_status_id": shop.stock_status_id,
            "image": head.images[0][0] if head.images else "",
            "manufacturer_id": self._manufacturer(cur, head.brand), "shipping": 1,
            "price": list_price or price, "points": 0, "tax_class_id": self.rules.price.tax_class_id,
            "weight": Decimal(head.weight or 0), "weight_class_id": shop.weight_class_id,
            "length": 0, "width": 0, "height": 0, "length_class_id": shop.length_class_id,
            "subtract": 1, "minimum": 1, "rating": 0, "sort_order": 0,
            "status": 1 if self.rules.new_products == "create_enabled" else 0,
        }
        if shop.version != VERSION_41:
            row.update(self._code_columns(head, variants))
        cur.execute("SELECT NOW() AS now, CURDATE() - INTERVAL 1 DAY AS day")
        now = cur.fetchone()
        # A day back: OpenCart compares date_available with the PHP clock's zone, not UTC.
        row.update({"date_available": now["day"], "date_added": now["now"], "date_modified": now["now"]})
        pid = self.schema.insert(cur, "product", row)
        self._descriptions(cur, pid, head, create=True)
        for store_id in self.rules.store_ids:
            cur.execute("INSERT IGNORE INTO {p}product_to_store (product_id, store_id) VALUES (%s, %s)", (pid, store_id))
        self._categories(cur, pid, head)
        self._images(cur, pid, head)
        if shop.version == VERSION_41:
            self._codes(cur, pid, head, variants)
        self._special(cur, pid, price if list_price else None)
        return pid, self._variants(cur, pid, group, price) if variants else {}

    def _update(self, cur: Any, pid: int, group: list[Desired], content: bool, offer: bool, returned: bool,
                current: dict[str, Any]) -> tuple[bool, bool, dict[str, int]]:
        """Rewrite what changed; returns (price moved, quantity moved, variant → option value id)."""
        shop = self.shop()
        head, price, qty = self._head(group)
        variants = self._is_variant_group(group)
        sets: dict[str, Any] = {}
        if content:
            sets.update({"model": head.model, "image": head.images[0][0] if head.images else "",
                         "manufacturer_id": self._manufacturer(cur, head.brand), "weight": Decimal(head.weight or 0)})
            if shop.version != VERSION_41:
                sets.update(self._code_columns(head, variants))
        list_price = Decimal(head.list_price) if head.list_price and not variants else None
        shown = list_price or price
        price_moved = Decimal(current["price"]) != shown
        qty_moved = int(current["quantity"] or 0) != qty
        if offer:
            sets.update({"price": shown, "quantity": qty, "tax_class_id": self.rules.price.tax_class_id})
        if returned and self.rules.missing_products == "disable" and not int(current["status"] or 0):
            sets["status"] = 1  # it was disabled because it had left the feed; it is back
        if sets:
            assignments = ", ".join(f"`{k}` = %s" for k in sets)
            cur.execute(f"UPDATE {{p}}product SET {assignments}, date_modified = NOW()"  # noqa: S608
                        " WHERE product_id = %s", (*sets.values(), pid))
        if content:
            self._descriptions(cur, pid, head, create=False)
            self._categories(cur, pid, head)
            cur.execute("DELETE FROM {p}product_image WHERE product_id = %s", (pid,))
            self._images(cur, pid, head)
            if shop.version == VERSION_41:
                self._codes(cur, pid, head, variants)
        povs: dict[str, int] = {}
        if offer:
            self._special(cur, pid, price if list_price else None)
        if variants and (offer or content):
            povs = self._variants(cur, pid, group, price)
        return price_moved, qty_moved, povs

    def _code_columns(self, head: Desired, variants: bool) -> dict[str, str]:
        """4.0: the codes are columns of ``product`` (varchar 64/12/14)."""
        cols = {"sku": "" if variants else head.sku[:64], "upc": "", "ean": "", "jan": "", "isbn": "", "mpn": ""}
        if head.barcode and not variants:
            cols["upc" if head.barcode_kind == "UPC" else "ean"] = head.barcode
        return cols

    def _codes(self, cur: Any, pid: int, head: Desired, variants: bool) -> None:
        """4.1: ``product_code`` rows, as ``addCode`` stores them (code from ``oc_identifier``)."""
        cur.execute("DELETE FROM {p}product_code WHERE product_id = %s AND code IN ('SKU', 'EAN', 'UPC')", (pid,))
        rows = [] if variants else [(pid, "SKU", head.sku)]
        if head.barcode and not variants:
            rows.append((pid, head.barcode_kind, head.barcode))
        if rows:
            cur.executemany("INSERT INTO {p}product_code (product_id, code, value) VALUES (%s, %s, %s)", rows)

    def _descriptions(self, cur: Any, pid: int, head: Desired, *, create: bool) -> None:
        name = oc_fit(head.name, NAME_MAX)
        description = oc_escape(head.description)
        for lang in self.shop().languages:
            if not create:
                n = cur.execute("UPDATE {p}product_description SET name = %s, description = %s, meta_title = %s"
                                " WHERE product_id = %s AND language_id = %s", (name, description, name, pid, lang))
                if n or self._has_description(cur, pid, lang):
                    continue
            self.schema.insert(cur, "product_description", {
                "product_id": pid, "language_id": lang, "name": name, "description": description, "tag": "",
                "meta_title": name, "meta_description": "", "meta_keyword": ""})

    @staticmethod
    def _has_description(cur: Any, pid: int, lang: int) -> bool:
        cur.execute("SELECT 1 AS x FROM {p}product_description WHERE product_id = %s AND language_id = %s", (pid, lang))
        return cur.fetchone() is not None

    def _categories(self, cur: Any, pid: int, head: Desired) -> None:
        if head.categories:
            cur.executemany("INSERT IGNORE INTO {p}product_to_category (product_id, category_id) VALUES (%s, %s)",
                            [(pid, c) for c in head.categories])

    def _images(self, cur: Any, pid: int, head: Desired) -> None:
        extra = [(pid, path, i) for i, (path, _url) in enumerate(head.images[1:])]
        if extra:
            cur.executemany("INSERT INTO {p}product_image (product_id, image, sort_order) VALUES (%s, %s, %s)", extra)

    def _special(self, cur: Any, pid: int, special: Decimal | None) -> None:
        """The shop's price below the supplier's suggested retail price, as OpenCart's special:
        4.1 ``product_discount`` (special=1, type F), 4.0 ``product_special``. Only rows at
        priority 0 are Kervan's; the merchant's own specials are left alone. Dates are OpenCart's
        "no date" (``0000-00-00``): its storefront query ``date_start = '0000-00-00' OR date_start <
        NOW()`` would never match NULL."""
        group = self.shop().customer_group_id
        if self.shop().version == VERSION_41:
            cur.execute("DELETE FROM {p}product_discount WHERE product_id = %s AND special = 1 AND priority = 0", (pid,))
            if special is not None:
                self.schema.insert(cur, "product_discount", {
                    "product_id": pid, "customer_group_id": group, "quantity": 1, "priority": 0, "price": special,
                    "type": "F", "special": 1, "date_start": "0000-00-00", "date_end": "0000-00-00"})
        else:
            cur.execute("DELETE FROM {p}product_special WHERE product_id = %s AND priority = 0", (pid,))
            if special is not None:
                self.schema.insert(cur, "product_special", {
                    "product_id": pid, "customer_group_id": group, "priority": 0, "price": special,
                    "date_start": "0000-00-00", "date_end": "0000-00-00"})

    # -- brands and options -------------------------------------------------------------------
    def _manufacturer(self, cur: Any, brand: str) -> int:
        name = oc_fit(brand, MANUFACTURER_MAX)
        if not name:
            return 0
        cur.execute("SELECT manufacturer_id FROM {p}manufacturer WHERE name = %s ORDER BY manufacturer_id LIMIT 1",
                    (name,))
        row = cur.fetchone()
        if row:
            return int(row["manufacturer_id"])
        mid = self.schema.insert(cur, "manufacturer", {"name": name, "image": "", "sort_order": 0})
        for store_id in self.rules.store_ids:
            cur.execute("INSERT IGNORE INTO {p}manufacturer_to_store (manufacturer_id, store_id) VALUES (%s, %s)",
                        (mid, store_id))
        return mid

    def _option(self, cur: Any, label: str) -> int:
        """A ``select`` option named ``label`` in the default language, created if missing."""
        name = oc_fit(label, OPTION_NAME_MAX)
        cur.execute("SELECT o.option_id FROM {p}option o JOIN {p}option_description od ON od.option_id = o.option_id"
                    " WHERE od.name = %s AND o.type = 'select' ORDER BY o.option_id LIMIT 1", (name,))
        row = cur.fetchone()
        if row:
            return int(row["option_id"])
        oid = self.schema.insert(cur, "option", {"type": "select", "validation": "", "sort_order": 0})
        for lang in self.shop().languages:
            self.schema.insert(cur, "option_description", {"option_id": oid, "language_id": lang, "name": name})
        return oid

    def _option_value(self, cur: Any, option_id: int, label: str) -> int:
        name = oc_fit(label, OPTION_NAME_MAX)
        cur.execute("SELECT option_value_id FROM {p}option_value_description WHERE option_id = %s AND name = %s"
                    " ORDER BY option_value_id LIMIT 1", (option_id, name))
        row = cur.fetchone()
        if row:
            return int(row["option_value_id"])
        cur.execute("SELECT COALESCE(MAX(sort_order), 0) + 1 AS n FROM {p}option_value WHERE option_id = %s",
                    (option_id,))
        vid = self.schema.insert(cur, "option_value", {"option_id": option_id, "image": "",
                                                       "sort_order": int(cur.fetchone()["n"])})
        for lang in self.shop().languages:
            self.schema.insert(cur, "option_value_description", {
                "option_value_id": vid, "language_id": lang, "option_id": option_id, "name": name})
        return vid

    def _variants(self, cur: Any, pid: int, group: list[Desired], base: Decimal) -> dict[str, int]:
        """One option for the group, one product_option_value per variant (updated in place, so
        its id — which orders and the link table hold — stays)."""
        dims = list(group[0].options) or ["Seçenek"]
        option_id = self._option(cur, " / ".join(dims))
        cur.execute("SELECT product_option_id FROM {p}product_option WHERE product_id = %s AND option_id = %s",
                    (pid, option_id))
        row = cur.fetchone()
        po_id = int(row["product_option_id"]) if row else self.schema.insert(
            cur, "product_option", {"product_id": pid, "option_id": option_id, "value": "", "required": 1})
        cur.execute("SELECT pov.product_option_value_id, pov.option_value_id, sp.item_key"
                    " FROM {p}product_option_value pov LEFT JOIN {p}kervan_supplier_product sp"
                    " ON sp.product_option_value_id = pov.product_option_value_id AND sp.supplier_id = %s"
                    " WHERE pov.product_option_id = %s", (self.supplier_id, po_id))
        existing = {r["item_key"]: int(r["product_option_value_id"]) for r in cur.fetchall() if r["item_key"]}
        used: set[str] = set()
        povs: dict[str, int] = {}
        for d in group:
            label = " / ".join(d.options.get(k, "") for k in dims) if d.options else d.code
            if label in used:
                label = f"{label} ({d.code})"  # two variants with the same option values in the feed
            used.add(label)
            value_id = self._option_value(cur, option_id, label)
            delta = Decimal(d.price) - base
            values = {"option_value_id": value_id, "quantity": d.quantity, "subtract": 1, "price": delta,
                      "price_prefix": "+"}
            pov = existing.get(d.key)
            if pov:
                assignments = ", ".join(f"`{k}` = %s" for k in values)
                cur.execute(f"UPDATE {{p}}product_option_value SET {assignments}"  # noqa: S608
                            " WHERE product_option_value_id = %s", (*values.values(), pov))
            else:
                pov = self.schema.insert(cur, "product_option_value", {
                    "product_option_id": po_id, "product_id": pid, "option_id": option_id, **values,
                    "points": 0, "points_prefix": "+", "weight": 0, "weight_prefix": "+"})
            povs[d.key] = pov
        return povs

    # -- missing items ----------------------------------------------------------------------------
    def _missing(self, cur: Any, links: list[dict[str, Any]]) -> Counts:
        counts = Counts(missing=len(links))
        policy = self.rules.missing_products
        if policy == "ignore" or not links:
            return counts
        touched: set[int] = set()
        whole: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for lk in links:
            pov = int(lk["product_option_value_id"] or 0)
            if pov:
                # A variant gone from the feed cannot be sold: its option value goes to zero.
                if cur.execute("UPDATE {p}product_option_value SET quantity = 0 WHERE product_option_value_id = %s"
                               " AND quantity <> 0", (pov,)):
                    touched.add(int(lk["product_id"]))
            else:
                whole[int(lk["product_id"])].append(lk)
        for pid in sorted(touched):
            # The product's own stock follows its variants (as when the feed lists them).
            cur.execute("UPDATE {p}product SET quantity = (SELECT COALESCE(SUM(quantity), 0) FROM"
                        " {p}product_option_value WHERE product_id = %s), date_modified = NOW() WHERE product_id = %s",
                        (pid, pid))
            cur.execute("SELECT COUNT(*) AS n FROM {p}product_option_value WHERE product_id = %s AND quantity > 0",
                        (pid,))
            if policy == "disable" and not int(cur.fetchone()["n"]):
                cur.execute("UPDATE {p}product SET status = 0 WHERE product_id = %s", (pid,))
        saved: set[int] = set()
        for pid in sorted(whole):
            if policy == "disable":
                n = cur.execute("UPDATE {p}product SET status = 0, date_modified = NOW() WHERE product_id = %s"
                                " AND status <> 0", (pid,))
                if n:
                    saved.add(pid)
            elif cur.execute("UPDATE {p}product SET quantity = 0, date_modified = NOW() WHERE product_id = %s"
                             " AND quantity <> 0", (pid,)):
                touched.add(pid)
        keys = [lk["item_key"] for lk in links]
        marks = ",".join(["%s"] * len(keys))
        # The hash is forgotten, so the item is written again in full when it comes back.
        cur.execute(f"UPDATE {{p}}kervan_supplier_product SET missing_since = CURRENT_TIMESTAMP(6), hash = ''"  # noqa: S608
                    f" WHERE supplier_id = %s AND item_key IN ({marks})", (self.supplier_id, *keys))
        for pid in sorted(saved):
            outbox.write(cur, outbox.product_saved(pid, source=self.source, reason="feed_missing", supplier=self.code))
        for pid in sorted(touched - saved):
            outbox.write(cur, self._stock_event(pid))
        counts.events = len(saved | touched)
        return counts


def group_items(items: Iterable[Desired]) -> list[list[Desired]]:
    """Items into products: variants by group, a simple item alone (for small in-memory lists;
    a feed run groups in its staging table)."""
    groups: dict[str, list[Desired]] = {}
    for d in items:
        groups.setdefault(d.group or "\x00" + d.key, []).append(d)
    return list(groups.values())


__all__ = ["Counts", "FeedApplier", "group_items", "oc_escape", "oc_fit"]
