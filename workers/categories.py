"""Marketplace category trees and category attributes: cached in Redis, persisted for the admin.

A marketplace's category tree is large (Trendyol's is ~5 MB) and changes rarely, and every
attribute lookup costs a rate-limited request. ``CategoryCatalog`` therefore serves both from three
tiers, freshest first:

1. Redis (``<prefix>categories:<code>:<channel_id>:tree`` / ``…:attributes:<category id>``), written
   with ``SET … EX ttl`` so it expires by itself;
2. the ``kervan_category`` / ``kervan_category_attribute`` tables, if their ``fetched_at`` is within
   the TTL (a Redis restart or eviction does not cost a download);
3. the marketplace, through the channel client; the result is normalised, written to the tables in
   one transaction (rows the marketplace no longer lists are deleted) and then to Redis.

Downloads are single-flight across processes: the refresher holds ``<key>:lock`` (``SET NX PX``);
the others wait for the lock to go and read what it left in Redis. Without Redis the catalog still
answers, from the tables or straight from the marketplace (then without single-flight).

The only marketplace-specific code is the pair of normalisers per code at the bottom of this file.
A normalised category is ``{id, parent_id, name, path, leaf}`` (ids as strings, ``path`` like
"Giyim > Kadın > Elbise"); a normalised attribute is ``{id, name, required, allow_custom,
values: [{id, name}]}``.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
from loguru import logger

from bridge.channels import ChannelAccount
from bridge.db import Database
from workers.channels.base import Channel

DEFAULT_TTL = 24 * 3600
PATH_SEP = " > "
_ROWS_PER_INSERT = 1000

# Delete the lock only if it is still ours: after a lock_ttl overrun another process may own it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

Category = dict[str, Any]
Attribute = dict[str, Any]


class _RedisUnavailable(Exception):
    """Redis did not answer; the caller falls back to the tables or the marketplace."""


@dataclass(frozen=True)
class _Snapshot:
    items: list[dict[str, Any]]
    stamp: str  # fetched_at of the download these items came from (server time, ISO)
    age: float = 0.0  # seconds since then (only known for the database copy)


class CategoryCatalog:
    """Categories and category attributes of one marketplace account.

    ``prefix`` is the deployment's Redis key prefix; ``ttl`` (seconds) how long a download stays
    fresh; ``lock_ttl`` how long a refresher may hold the download lock before others may take
    over; ``wait`` how long a process waits for another one's download before it answers from the
    (stale) tables or gives up. ``last_source`` tells where the last answer came from: "redis",
    "database" or "marketplace".
    """

    def __init__(
        self,
        db: Database,
        redis_client: redis.Redis | None,
        prefix: str,
        channel_id: int,
        code: str,
        client: Channel,
        ttl: float = DEFAULT_TTL,
        *,
        lock_ttl: float = 120.0,
        wait: float | None = None,
    ) -> None:
        if code not in NORMALISERS:
            raise ValueError(f"no category normaliser for marketplace {code!r}")
        if ttl <= 0 or lock_ttl <= 0:
            raise ValueError("ttl and lock_ttl must be positive")
        self.db = db
        self.redis = redis_client
        self.prefix = prefix
        self.channel_id = int(channel_id)
        self.code = code
        self.client = client
        self.ttl = float(ttl)
        self.lock_ttl = float(lock_ttl)
        self.wait = float(wait) if wait is not None else self.lock_ttl + 5.0
        self.normaliser = NORMALISERS[code]
        self.last_source: str | None = None
        self._release = redis_client.register_script(_RELEASE) if redis_client is not None else None

    @classmethod
    def for_account(
        cls, db: Database, redis_client: redis.Redis | None, prefix: str, account: ChannelAccount, client: Channel,
        ttl: float = DEFAULT_TTL, **kw: Any,
    ) -> CategoryCatalog:
        return cls(db, redis_client, prefix, account.channel_id, account.code, client, ttl, **kw)

    def __repr__(self) -> str:
        return f"CategoryCatalog({self.code} #{self.channel_id}, ttl={self.ttl:g}s)"

    # -- public ------------------------------------------------------------------------------

    def key(self, what: str = "tree") -> str:
        return f"{self.prefix}categories:{self.code}:{self.channel_id}:{what}"

    def tree(self, *, refresh: bool = False) -> list[Category]:
        """Every category of the marketplace, flattened and normalised (sorted by path)."""
        return self._serve(self.key("tree"), refresh, self._load_tree, self._fetch_tree)

    def attributes(self, category_id: str | int, *, refresh: bool = False) -> list[Attribute]:
        """The attributes of one category, in the marketplace's order."""
        category = str(category_id).strip()
        if not category:
            raise ValueError("category_id is required")
        return self._serve(
            self.key(f"attributes:{category}"), refresh,
            lambda: self._load_attributes(category), lambda: self._fetch_attributes(category),
        )

    # -- the three tiers -----------------------------------------------------------------------

    def _serve(
        self,
        key: str,
        refresh: bool,
        load: Callable[[], _Snapshot | None],
        fetch: Callable[[], _Snapshot],
    ) -> list[dict[str, Any]]:
        try:
            if not refresh:
                hit = self._cache_get(key)
                if hit is not None:
                    self.last_source = "redis"
                    return hit.items
                stored = self._fresh(load())
                if stored is not None:
                    self._cache_set(key, stored, self.ttl - stored.age)
                    self.last_source = "database"
                    return stored.items
            return self._single_flight(key, refresh, load, fetch)
        except _RedisUnavailable:
            if not refresh:
                stored = self._fresh(load())
                if stored is not None:
                    self.last_source = "database"
                    return stored.items
            return self._download(key, fetch)

    def _fresh(self, snapshot: _Snapshot | None) -> _Snapshot | None:
        return snapshot if snapshot is not None and snapshot.age < self.ttl else None

    def _single_flight(
        self,
        key: str,
        refresh: bool,
        load: Callable[[], _Snapshot | None],
        fetch: Callable[[], _Snapshot],
    ) -> list[dict[str, Any]]:
        lock = f"{key}:lock"
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait
        # With --refresh the key may hold the old download while someone else refreshes: only a
        # different stamp proves that their refresh finished.
        before = self._cache_get(key) if refresh else None
        while True:
            if self._lock(lock, token):
                try:
                    if not refresh:
                        # Someone may have finished a download between our miss and our lock.
                        hit = self._cache_get(key)
                        if hit is not None:
                            self.last_source = "redis"
                            return hit.items
                    return self._download(key, fetch)
                finally:
                    self._unlock(lock, token)
            delay = 0.02
            while self._held(lock):
                if time.monotonic() > deadline:
                    return self._give_up(key, load)
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
            hit = self._cache_get(key)
            if hit is not None and (before is None or hit.stamp != before.stamp):
                self.last_source = "redis"
                return hit.items
            if time.monotonic() > deadline:
                return self._give_up(key, load)
            # The holder failed or died without leaving a result: take over.

    def _download(self, key: str, fetch: Callable[[], _Snapshot]) -> list[dict[str, Any]]:
        snapshot = fetch()
        self._cache_set(key, snapshot, self.ttl)
        self.last_source = "marketplace"
        return snapshot.items

    def _give_up(self, key: str, load: Callable[[], _Snapshot | None]) -> list[dict[str, Any]]:
        stored = load()
        if stored is None:
            raise TimeoutError(f"{self!r}: another process held {key}:lock for over {self.wait:g}s")
        logger.warning("{!r}: gave up waiting for another download; answering from the tables ({:.0f}s old)",
                       self, stored.age)
        self.last_source = "database"
        return stored.items

    # -- Redis ----------------------------------------------------------------------------------

    def _redis(self, command: str, *args: Any, **kw: Any) -> Any:
        if self.redis is None:
            raise _RedisUnavailable
        try:
            return getattr(self.redis, command)(*args, **kw)
        except redis.RedisError as exc:
            logger.warning("{!r}: Redis unavailable ({}); using the tables and the marketplace directly",
                           self, type(exc).__name__)
            raise _RedisUnavailable from None

    def _cache_get(self, key: str) -> _Snapshot | None:
        raw = self._redis("get", key)
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
            return _Snapshot(list(doc["items"]), str(doc["stamp"]))
        except (ValueError, KeyError, TypeError):
            logger.warning("{!r}: unreadable cache entry {}; ignoring it", self, key)
            return None

    def _cache_set(self, key: str, snapshot: _Snapshot, ttl: float) -> None:
        if self.redis is None:
            return
        payload = json.dumps({"stamp": snapshot.stamp, "items": snapshot.items}, ensure_ascii=False,
                             separators=(",", ":"))
        try:
            self.redis.set(key, payload.encode("utf-8"), ex=max(1, math.ceil(ttl)))
        except redis.RedisError as exc:
            # The tables hold the download already; the next reader refills Redis from them.
            logger.warning("{!r}: could not cache {} ({})", self, key, type(exc).__name__)

    def _lock(self, lock: str, token: str) -> bool:
        return bool(self._redis("set", lock, token, nx=True, px=int(self.lock_ttl * 1000)))

    def _held(self, lock: str) -> bool:
        return bool(self._redis("exists", lock))

    def _unlock(self, lock: str, token: str) -> None:
        try:
            self._release(keys=[lock], args=[token])
        except redis.RedisError:
            pass  # it expires after lock_ttl by itself

    # -- database: categories -------------------------------------------------------------------

    def _load_tree(self) -> _Snapshot | None:
        rows = self.db.query(
            "SELECT remote_id, parent_remote_id, name, path, leaf, fetched_at,"
            " TIMESTAMPDIFF(MICROSECOND, fetched_at, CURRENT_TIMESTAMP(6)) AS age_us"
            " FROM {p}kervan_category WHERE channel_id = %s",
            (self.channel_id,),
        )
        if not rows:
            return None
        items = [
            {"id": r["remote_id"], "parent_id": r["parent_remote_id"], "name": r["name"], "path": r["path"],
             "leaf": bool(r["leaf"])}
            for r in rows
        ]
        oldest = max(rows, key=lambda r: r["age_us"])
        return _Snapshot(_by_path(items), oldest["fetched_at"].isoformat(), oldest["age_us"] / 1e6)

    def _fetch_tree(self) -> _Snapshot:
        items = _by_path(self.normaliser.tree(self.client.category_tree()))
        if not items:
            # An empty answer is far likelier a marketplace glitch than a marketplace without
            # categories; keep the stored copy rather than wiping every category.
            raise ValueError(f"{self!r}: the marketplace returned no categories; keeping the stored copy")
        stamp = self.db.run_in_transaction(lambda cur: self._store_tree(cur, items))
        logger.info("{!r}: downloaded {} categories", self, len(items))
        return _Snapshot(items, stamp)

    def _store_tree(self, cur: Any, items: list[Category]) -> str:
        now = _server_now(cur)
        rows = [(self.channel_id, c["id"], c["parent_id"], c["name"][:255], c["path"], int(c["leaf"]), now)
                for c in items]
        for chunk in _chunks(rows, _ROWS_PER_INSERT):
            cur.executemany(
                "INSERT INTO {p}kervan_category (channel_id, remote_id, parent_remote_id, name, path, leaf,"
                " fetched_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE"
                " parent_remote_id = VALUES(parent_remote_id), name = VALUES(name), path = VALUES(path),"
                " leaf = VALUES(leaf), fetched_at = VALUES(fetched_at)",
                chunk,
            )
        # Every row this download did not write is a category the marketplace no longer has.
        cur.execute("DELETE FROM {p}kervan_category WHERE channel_id = %s AND fetched_at <> %s",
                    (self.channel_id, now))
        cur.execute(
            "DELETE a FROM {p}kervan_category_attribute a LEFT JOIN {p}kervan_category c"
            " ON (c.channel_id = a.channel_id AND c.remote_id = a.category_remote_id)"
            " WHERE a.channel_id = %s AND c.category_id IS NULL",
            (self.channel_id,),
        )
        return now.isoformat()

    # -- database: attributes -------------------------------------------------------------------

    def _load_attributes(self, category: str) -> _Snapshot | None:
        rows = self.db.query(
            "SELECT attribute_id, name, required, allow_custom, values_json, fetched_at,"
            " TIMESTAMPDIFF(MICROSECOND, fetched_at, CURRENT_TIMESTAMP(6)) AS age_us"
            " FROM {p}kervan_category_attribute WHERE channel_id = %s AND category_remote_id = %s"
            " ORDER BY sort_order, attribute_id",
            (self.channel_id, category),
        )
        if not rows:
            return None
        items = [
            {"id": r["attribute_id"], "name": r["name"], "required": bool(r["required"]),
             "allow_custom": bool(r["allow_custom"]), "values": json.loads(r["values_json"] or "[]")}
            for r in rows
        ]
        oldest = max(rows, key=lambda r: r["age_us"])
        return _Snapshot(items, oldest["fetched_at"].isoformat(), oldest["age_us"] / 1e6)

    def _fetch_attributes(self, category: str) -> _Snapshot:
        raw = self.client.category_attributes(category)
        items = self.normaliser.attributes(self.client, category, raw)
        stamp = self.db.run_in_transaction(lambda cur: self._store_attributes(cur, category, items))
        logger.info("{!r}: downloaded {} attributes of category {}", self, len(items), category)
        return _Snapshot(items, stamp)

    def _store_attributes(self, cur: Any, category: str, items: list[Attribute]) -> str:
        now = _server_now(cur)
        rows = [
            (self.channel_id, category, a["id"], a["name"][:255], int(a["required"]), int(a["allow_custom"]),
             json.dumps(a["values"], ensure_ascii=False), n, now)
            for n, a in enumerate(items)
        ]
        for chunk in _chunks(rows, _ROWS_PER_INSERT):
            cur.executemany(
                "INSERT INTO {p}kervan_category_attribute (channel_id, category_remote_id, attribute_id, name,"
                " required, allow_custom, values_json, sort_order, fetched_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE name = VALUES(name),"
                " required = VALUES(required), allow_custom = VALUES(allow_custom),"
                " values_json = VALUES(values_json), sort_order = VALUES(sort_order), fetched_at = VALUES(fetched_at)",
                chunk,
            )
        cur.execute(
            "DELETE FROM {p}kervan_category_attribute WHERE channel_id = %s AND category_remote_id = %s"
            " AND fetched_at <> %s",
            (self.channel_id, category, now),
        )
        return now.isoformat()


def _server_now(cur: Any) -> Any:
    # The database's clock, not this host's: freshness is later judged with CURRENT_TIMESTAMP too.
    cur.execute("SELECT CURRENT_TIMESTAMP(6) AS now")
    return cur.fetchone()["now"]


def _chunks(rows: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def _by_path(items: Iterable[Category]) -> list[Category]:
    """One entry per id (the first), ordered by path, so every tier answers in the same order."""
    seen: dict[str, Category] = {}
    for c in items:
        seen.setdefault(c["id"], c)
    return sorted(seen.values(), key=lambda c: (c["path"], c["id"]))


# -- normalisers: the only marketplace-specific part ----------------------------------------------


def _text(value: Any) -> str:
    return " ".join(str(value if value is not None else "").split())


def _walk(roots: Any, child_keys: tuple[str, ...] = ("subCategories", "children")) -> list[Category]:
    """Flatten a nested tree (``subCategories`` or ``children``; empty or null on leaves).
    Iterative, because real trees are deep enough to make recursion a needless risk."""
    out: list[Category] = []
    stack: list[tuple[Any, str | None, tuple[str, ...]]] = [(n, None, ()) for n in reversed(list(roots or []))]
    while stack:
        node, parent, trail = stack.pop()
        if not isinstance(node, dict) or node.get("id") is None:
            continue
        cid = str(node["id"])
        name = _text(node.get("name") or node.get("displayName") or cid)
        names = (*trail, name)
        kids = next((node[k] for k in child_keys if node.get(k)), None) or []
        out.append({"id": cid, "parent_id": parent, "name": name, "path": PATH_SEP.join(names), "leaf": not kids})
        stack.extend((kid, cid, names) for kid in reversed(list(kids)))
    return out


def _attribute(aid: Any, name: Any, required: Any, allow_custom: Any, values: Iterable[tuple[Any, Any]]) -> Attribute:
    return {
        "id": str(aid),
        "name": _text(name) or str(aid),
        "required": bool(required),
        "allow_custom": bool(allow_custom),
        "values": [{"id": None if vid is None else str(vid), "name": _text(vname)} for vid, vname in values],
    }


def _trendyol_tree(raw: Any) -> list[Category]:
    return _walk(raw)


def _trendyol_attributes(client: Any, category: str, doc: Any) -> list[Attribute]:
    """``categoryAttributes: [{attribute{id,name}, required, allowCustom, attributeValues?}]``; the
    values come inline on older answers, else from the paged values endpoint."""
    out = []
    for a in (doc or {}).get("categoryAttributes") or []:
        attr = a.get("attribute") or {}
        if attr.get("id") is None:
            continue
        values = a.get("attributeValues")
        if values is None:
            values = client.attribute_values(int(category), int(attr["id"]))
        pairs = [(v.get("attributeValueId", v.get("id")), v.get("attributeValueName", v.get("name")))
                 for v in values or []]
        out.append(_attribute(attr["id"], attr.get("name"), a.get("required"), a.get("allowCustom"), pairs))
    return out


def _hepsiburada_tree(raw: Any) -> list[Category]:
    """A flat list of leaves with ``parentCategoryId`` and ``paths`` (HB has no tree endpoint)."""
    out = []
    for c in raw or []:
        if not isinstance(c, dict) or c.get("categoryId") is None:
            continue
        if c.get("status") not in (None, "ACTIVE") or c.get("available") is False:
            continue  # HB refuses products on these
        name = _text(c.get("displayName") or c.get("name") or c["categoryId"])
        paths = c.get("paths") or []
        path = PATH_SEP.join(_text(p) for p in str(paths[0]).split(">")) if paths else name
        parent = c.get("parentCategoryId")
        out.append({"id": str(c["categoryId"]), "parent_id": None if parent is None else str(parent),
                    "name": name, "path": path, "leaf": bool(c.get("leaf", True))})
    return out


def _hepsiburada_attributes(client: Any, category: str, doc: Any) -> list[Attribute]:
    """``{baseAttributes, attributes, variantAttributes}``. The base ones (merchantSku, UrunAdi,
    Marka, prices, images …) are the same for every category and filled from the product by the
    mapper, so only the category's own and variant attributes are the merchant's to map. Enum
    values come from their own paged endpoint."""
    out = []
    for group in ("attributes", "variantAttributes"):
        for a in (doc or {}).get(group) or []:
            if a.get("id") is None:
                continue
            enum = str(a.get("type") or "").lower() == "enum"
            values = client.attribute_values(int(category), str(a["id"])) if enum else []
            pairs = [(v.get("id"), v.get("value", v.get("name"))) for v in values]
            out.append(_attribute(a["id"], a.get("name"), a.get("mandatory"), not enum, pairs))
    return out


def _n11_tree(raw: Any) -> list[Category]:
    return _walk(raw)


def _n11_attributes(client: Any, category: str, doc: Any) -> list[Attribute]:
    """``categoryAttributes: [{attributeId, attributeName, isMandatory, isCustomValue,
    attributeValues: [{id, value}]}]`` (values inline)."""
    return [
        _attribute(a["attributeId"], a.get("attributeName"), a.get("isMandatory"), a.get("isCustomValue"),
                   [(v.get("id"), v.get("value")) for v in a.get("attributeValues") or []])
        for a in (doc or {}).get("categoryAttributes") or []
        if a.get("attributeId") is not None
    ]


def _amazon_tree(raw: Any) -> list[Category]:
    # Product types stand in for categories: one flat leaf each.
    return _walk(raw)


def _amazon_attributes(client: Any, category: str, doc: Any) -> list[Attribute]:
    """The product type's JSON Schema (``schemaDocument``): its properties, ``required`` list and,
    where Amazon restricts a value, the ``enum``/``enumNames`` of the property's ``value``."""
    schema = (doc or {}).get("schemaDocument") or {}
    required = set(schema.get("required") or [])
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        prop = prop if isinstance(prop, dict) else {}
        value = ((prop.get("items") or {}).get("properties") or {}).get("value") or {}
        enum = value.get("enum") or prop.get("enum") or []
        labels = value.get("enumNames") or prop.get("enumNames") or enum
        pairs = list(zip(enum, list(labels) + list(enum[len(labels):]), strict=False))
        out.append(_attribute(name, prop.get("title") or name, name in required, not enum, pairs))
    return out


@dataclass(frozen=True)
class Normaliser:
    tree: Callable[[Any], list[Category]]
    attributes: Callable[[Any, str, Any], list[Attribute]]


NORMALISERS: dict[str, Normaliser] = {
    "trendyol": Normaliser(_trendyol_tree, _trendyol_attributes),
    "hepsiburada": Normaliser(_hepsiburada_tree, _hepsiburada_attributes),
    "n11": Normaliser(_n11_tree, _n11_attributes),
    "amazon": Normaliser(_amazon_tree, _amazon_attributes),
}


__all__ = ["DEFAULT_TTL", "NORMALISERS", "CategoryCatalog", "Normaliser"]
