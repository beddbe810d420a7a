"""Category trees and attributes of all four marketplaces through ``CategoryCatalog``: real sandboxes
over HTTP (their request logs under ``/__sandbox/`` count what reached the marketplace), a fresh
OpenCart database with Kervan's migrations, and real Redis. Clients are built the way the fleet
builds them, from a ``kervan_channel`` row with ``workers.clients.build_client``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from bridge import channels
from bridge.channels import ChannelAccount
from bridge.db import Database
from sandbox.amazon import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
    TR,
)
from sandbox.amazon import reference as amazon_ref
from sandbox.hepsiburada import reference as hb_ref
from sandbox.n11 import DEFAULT_APP_KEY, DEFAULT_APP_SECRET
from sandbox.n11 import reference as n11_ref
from sandbox.trendyol import reference as ty_ref
from tests.conftest import REDIS_URL
from workers.categories import CategoryCatalog
from workers.channels.base import Channel
from workers.clients import build_client

ROOT = Path(__file__).resolve().parents[1]
CODES = ["trendyol", "hepsiburada", "n11", "amazon"]
DEAD_REDIS = "redis://127.0.0.1:1/0"


# --- what each sandbox holds --------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    categories: int  # every category the normalised tree has
    leaves: int
    leaf: str  # a leaf category id
    path: str  # its full path
    other_leaf: str  # a second leaf, the one a test removes
    required: set[str]  # names of the leaf's required attributes
    attribute: str  # an attribute of the leaf with a value list
    values: list[str]  # that attribute's value names (first ones)
    root: str  # where a test adds a Turkish-named leaf
    root_path: str  # that parent's path, as the new leaf's path starts


EXPECT = {
    "trendyol": Expect(13, 7, "1001", "Elektronik > Bilgisayar > Dizüstü Bilgisayar", "1003", {"Menşei"},
                       "Menşei", ["TR", "CN", "US"], "411", "Elektronik > "),
    # Hepsiburada lists only ACTIVE, available leaves (the archived one is not there).
    "hepsiburada": Expect(8, 8, str(hb_ref.LAPTOPS), "Elektronik > Bilgisayar > Dizüstü Bilgisayar",
                          str(hb_ref.TABLETS), set(), "İşlemci Tipi", ["Intel", "AMD", "Apple"],
                          str(hb_ref.ROOT_ELECTRONICS), "Elektronik > "),
    "n11": Expect(12, 7, "1000272", "Elektronik > Bilgisayar > Dizüstü Bilgisayar", "1000275", {"Marka"},
                  "Marka", ["Apple", "Canon", "HP"], "1000476", "Elektronik > "),
    "amazon": Expect(7, 7, "NOTEBOOK_COMPUTER", "Notebook Computer", "TABLET_COMPUTER",
                     {"item_name", "brand", "bullet_point", "product_description", "condition_type",
                      "main_product_image_locator", "batteries_required", "purchasable_offer",
                      "fulfillment_availability"}, "", [], "", ""),
}
TREE_ENDPOINT = {"trendyol": "categories", "hepsiburada": "categories", "n11": "categories",
                 "amazon": "searchDefinitionsProductTypes"}
TURKISH = "İpek Şal & Eşarp Ğ"


def start_sandbox(code: str) -> Any:
    if code == "trendyol":
        from sandbox.trendyol import TrendyolSandbox

        return TrendyolSandbox(batch_delay=0.05, seed=7).start()
    if code == "hepsiburada":
        from sandbox.hepsiburada import HepsiburadaSandbox

        return HepsiburadaSandbox(processing_delay=0.05, seed=7).start()
    if code == "n11":
        from sandbox.n11 import N11Sandbox

        return N11Sandbox(task_delay=0.05, seed=7).start()
    from sandbox.amazon import AmazonSandbox

    return AmazonSandbox(feed_delay=0.05, seed=7).start()


def add_account(db: Database, code: str, sb: Any) -> ChannelAccount:
    """The sandbox's default account as a kervan_channel row, in the shape build_client reads."""
    if code == "trendyol":
        return channels.upsert(db, code, name="Trendyol", base_url=sb.base_url, seller_id="1001",
                               credentials={"api_key": "sandbox-key", "api_secret": "sandbox-secret"})
    if code == "hepsiburada":
        m = sb.merchant
        return channels.upsert(db, code, name="Hepsiburada", base_url=sb.base_url, seller_id=m.merchant_id,
                               credentials={"username": m.username, "password": m.password,
                                            "user_agent": m.user_agent})
    if code == "n11":
        return channels.upsert(db, code, name="N11", base_url=sb.base_url, seller_id="",
                               credentials={"app_key": DEFAULT_APP_KEY, "app_secret": DEFAULT_APP_SECRET})
    return channels.upsert(db, code, name="Amazon", base_url=sb.base_url, seller_id=DEFAULT_SELLER_ID,
                           credentials={"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
                                        "refresh_token": DEFAULT_REFRESH_TOKEN},
                           settings={"lwa_url": sb.lwa_url, "marketplace_ids": [TR]})


def requests_seen(sb: Any) -> int:
    """Every request the marketplace (and Amazon's LWA) answered, from ``/__sandbox/requests``, once
    the log settled (a sandbox logs a request just after answering it)."""
    deadline = time.monotonic() + 3.0
    last = None
    while True:
        log = requests.get(f"{sb.admin_url}/requests", timeout=5).json()
        total = log.get("tokenRequests", 0)
        for per in log["counts"].values():
            total += per["total"] if "total" in per else sum(per.values())
        if total == last or time.monotonic() > deadline:
            return total
        last = total
        time.sleep(0.1)


def endpoint_count(sb: Any, endpoint: str) -> int:
    requests_seen(sb)  # let the log settle
    per = requests.get(f"{sb.admin_url}/requests", timeout=5).json()["counts"].get(endpoint, {})
    return per["total"] if "total" in per else sum(per.values())


def slow_tree(sb: Any, code: str, seconds: float) -> None:
    r = requests.post(f"{sb.admin_url}/faults", json={"endpoint": TREE_ENDPOINT[code], "latency": seconds},
                      timeout=5)
    assert r.status_code == 200, r.text


def change_remote_tree(monkeypatch: pytest.MonkeyPatch, code: str, *, remove: str | None = None,
                       add: tuple[str, str] | None = None) -> None:
    """Make the sandbox's seeded tree lose a category or gain a leaf ``(parent id, name)`` — the
    sandboxes run in this process and read their reference tables on every request."""
    if code == "trendyol":
        children = {k: list(v) for k, v in ty_ref._CHILDREN.items()}
        by_id = dict(ty_ref._BY_ID)
        if remove:
            gone = by_id.pop(int(remove))
            children[gone.parent_id] = [c for c in children[gone.parent_id] if c.id != gone.id]
        if add:
            new = ty_ref.Category(9901, add[1], int(add[0]))
            by_id[new.id] = new
            children.setdefault(new.parent_id, []).append(new)
        monkeypatch.setattr(ty_ref, "_CHILDREN", children)
        monkeypatch.setattr(ty_ref, "_BY_ID", by_id)
    elif code == "n11":
        cats = [c for c in n11_ref.CATEGORIES if str(c.id) != remove]
        if add:
            cats.append(n11_ref.Category(1009901, add[1], int(add[0])))
        monkeypatch.setattr(n11_ref, "CATEGORIES", tuple(cats))
        monkeypatch.setattr(n11_ref, "_BY_ID", {c.id: c for c in cats})
    elif code == "hepsiburada":
        cats = [c for c in hb_ref.CATEGORIES if str(c.categoryId) != remove]
        if add:
            cats.append(hb_ref.Category(18029901, add[1], int(add[0]), True))
        monkeypatch.setattr(hb_ref, "CATEGORIES", tuple(cats))
    else:
        types = {k: v for k, v in amazon_ref.PRODUCT_TYPES.items() if k != remove}
        if add:
            types["KERVAN_TEST_TYPE"] = {"displayName": add[1], "required": ()}
        monkeypatch.setattr(amazon_ref, "PRODUCT_TYPES", types)


def added_id(code: str) -> str:
    return {"trendyol": "9901", "n11": "1009901", "hepsiburada": "18029901", "amazon": "KERVAN_TEST_TYPE"}[code]


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def rclient() -> Iterator[redis.Redis]:
    r = redis.Redis.from_url(REDIS_URL)
    yield r
    r.close()


@dataclass
class Setup:
    code: str
    sb: Any
    db: Database
    account: ChannelAccount
    make_client: Callable[..., Channel]
    make: Callable[..., CategoryCatalog]


@pytest.fixture(params=CODES)
def env(request, store41, cfg_factory, redis_prefix, rclient) -> Iterator[Setup]:
    code = request.param
    sb = start_sandbox(code)
    clients: list[Channel] = []
    account = add_account(store41, code, sb)

    def make_client(redis_url: str = REDIS_URL) -> Channel:
        c = build_client(cfg_factory(store41, redis={"url": redis_url}), account)
        clients.append(c)
        return c

    def make(ttl: float = 60, *, client: Channel | None = None, redis_client: Any = rclient,
             **kw: Any) -> CategoryCatalog:
        return CategoryCatalog.for_account(store41, redis_client, redis_prefix, account, client or make_client(),
                                           ttl, **kw)

    try:
        yield Setup(code, sb, store41, account, make_client, make)
    finally:
        for c in clients:
            c.close()
        sb.stop()


def db_categories(db: Database, channel_id: int) -> dict[str, dict[str, Any]]:
    rows = db.query("SELECT * FROM {p}kervan_category WHERE channel_id = %s", (channel_id,))
    return {r["remote_id"]: r for r in rows}


def db_attributes(db: Database, channel_id: int, category: str) -> list[dict[str, Any]]:
    return db.query("SELECT * FROM {p}kervan_category_attribute WHERE channel_id = %s AND category_remote_id = %s"
                    " ORDER BY sort_order", (channel_id, category))


# --- tests ---------------------------------------------------------------------------------------


def test_first_call_downloads_and_persists_then_redis_answers(env: Setup, rclient, redis_prefix):
    x = EXPECT[env.code]
    catalog = env.make()
    before = requests_seen(env.sb)

    tree = catalog.tree()
    assert catalog.last_source == "marketplace"
    assert len(tree) == x.categories and sum(c["leaf"] for c in tree) == x.leaves
    by_id = {c["id"]: c for c in tree}
    assert by_id[x.leaf]["path"] == x.path and by_id[x.leaf]["leaf"] is True
    assert all(c["path"].endswith(c["name"]) for c in tree)
    downloaded = requests_seen(env.sb)
    assert downloaded > before

    stored = db_categories(env.db, env.account.channel_id)
    assert set(stored) == set(by_id)
    assert stored[x.leaf]["path"] == x.path and stored[x.leaf]["leaf"] == 1
    assert len({r["fetched_at"] for r in stored.values()}) == 1, "one download, one fetched_at"
    ttl = rclient.ttl(f"{redis_prefix}categories:{env.code}:{env.account.channel_id}:tree")
    assert 0 < ttl <= 60, "written with SET … EX ttl"

    attrs = catalog.attributes(x.leaf)
    assert catalog.last_source == "marketplace"
    assert {a["name"] for a in attrs if a["required"]} == x.required
    if x.attribute:
        with_values = next(a for a in attrs if a["name"] == x.attribute)
        assert [v["name"] for v in with_values["values"]][: len(x.values)] == x.values
        assert with_values["allow_custom"] is False or env.code == "n11"
    rows = db_attributes(env.db, env.account.channel_id, x.leaf)
    assert [r["attribute_id"] for r in rows] == [a["id"] for a in attrs]
    assert {r["name"] for r in rows if r["required"]} == x.required
    after_downloads = requests_seen(env.sb)

    # Within the TTL: nothing reaches the marketplace, from this catalog or a new one (another process).
    again = env.make()
    assert again.tree() == tree and again.last_source == "redis"
    assert catalog.tree() == tree
    assert again.attributes(x.leaf) == attrs and again.last_source == "redis"
    assert requests_seen(env.sb) == after_downloads


def test_after_the_ttl_it_downloads_again(env: Setup):
    x = EXPECT[env.code]
    catalog = env.make(ttl=2)
    catalog.attributes(x.leaf)
    catalog.tree()
    first = db_categories(env.db, env.account.channel_id)[x.leaf]["fetched_at"]
    tree_calls = endpoint_count(env.sb, TREE_ENDPOINT[env.code])
    assert catalog.tree() and catalog.last_source == "redis"

    time.sleep(2.5)
    assert len(catalog.tree()) == x.categories and catalog.last_source == "marketplace"
    assert endpoint_count(env.sb, TREE_ENDPOINT[env.code]) == tree_calls + 1
    assert db_categories(env.db, env.account.channel_id)[x.leaf]["fetched_at"] > first
    seen = requests_seen(env.sb)
    catalog.attributes(x.leaf)
    assert catalog.last_source == "marketplace" and requests_seen(env.sb) > seen


def test_refresh_downloads_within_the_ttl(env: Setup):
    catalog = env.make()
    catalog.tree()
    calls = endpoint_count(env.sb, TREE_ENDPOINT[env.code])
    catalog.tree(refresh=True)
    assert catalog.last_source == "marketplace"
    assert endpoint_count(env.sb, TREE_ENDPOINT[env.code]) == calls + 1


def test_a_category_removed_remotely_disappears_from_the_tables(env: Setup, monkeypatch):
    x = EXPECT[env.code]
    catalog = env.make()
    catalog.tree()
    catalog.attributes(x.other_leaf)
    assert x.other_leaf in db_categories(env.db, env.account.channel_id)
    kept = len(db_attributes(env.db, env.account.channel_id, x.leaf))

    change_remote_tree(monkeypatch, env.code, remove=x.other_leaf)
    tree = catalog.tree(refresh=True)
    assert x.other_leaf not in {c["id"] for c in tree} and len(tree) == x.categories - 1
    stored = db_categories(env.db, env.account.channel_id)
    assert x.other_leaf not in stored and len(stored) == x.categories - 1
    assert db_attributes(env.db, env.account.channel_id, x.other_leaf) == [], "its attributes went with it"
    assert len(db_attributes(env.db, env.account.channel_id, x.leaf)) == kept
    # A second catalog (another process) sees the new tree in Redis, without a download.
    seen = requests_seen(env.sb)
    assert env.make().tree() == tree and requests_seen(env.sb) == seen


def test_two_refreshing_at_once_download_once(env: Setup):
    slow_tree(env.sb, env.code, 0.6)
    # Each thread is a separate catalog with its own client, Redis and database connections.
    catalogs = [env.make() for _ in range(3)]
    barrier = threading.Barrier(len(catalogs))
    results: list[Any] = [None] * len(catalogs)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = (catalogs[i].tree(), catalogs[i].last_source)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(catalogs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(isinstance(r, tuple) for r in results), results
    assert endpoint_count(env.sb, TREE_ENDPOINT[env.code]) == 1
    assert sorted(src for _, src in results) == ["marketplace", "redis", "redis"]
    assert results[0][0] == results[1][0] == results[2][0]


@pytest.mark.parametrize("env", ["trendyol"], indirect=True)
def test_two_cli_processes_download_once(env: Setup, cfg_factory, tmp_path):
    # One marketplace is enough for the process-level check; the threads above cover all four.
    slow_tree(env.sb, env.code, 0.8)
    cfg_env = {**os.environ, **cfg_factory(env.db).env(), "KERVAN_CONFIG": str(tmp_path / "none.ini")}
    cmd = [sys.executable, "-m", "kervan.cli", "categories", "--channel", env.code]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=cfg_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all("trendyol/default: 13 categories (7 leaves) synced" in out for out, _ in outs), outs
    assert sorted("marketplace" in out for out, _ in outs) == [False, True], outs
    assert endpoint_count(env.sb, "categories") == 1

    attrs = subprocess.run([*cmd, "--attributes", "1001"], cwd=ROOT, env=cfg_env, capture_output=True, text=True,
                           timeout=60)
    assert attrs.returncode == 0, attrs.stderr
    assert "3 attributes (1 required) of category 1001 synced (from marketplace)" in attrs.stdout


def test_redis_down_still_answers_from_the_marketplace_then_the_tables(env: Setup):
    x = EXPECT[env.code]
    # Redis is gone for everything: the cache, the lock, the rate limiters, Amazon's token store.
    dead = redis.Redis.from_url(DEAD_REDIS)
    catalog = env.make(client=env.make_client(DEAD_REDIS), redis_client=dead)

    tree = catalog.tree()
    assert len(tree) == x.categories and catalog.last_source == "marketplace"
    assert len(db_categories(env.db, env.account.channel_id)) == x.categories
    attrs = catalog.attributes(x.leaf)
    assert {a["name"] for a in attrs if a["required"]} == x.required
    seen = requests_seen(env.sb)

    # Still fresh in the tables: no download.
    assert catalog.tree() == tree and catalog.last_source == "database"
    assert catalog.attributes(x.leaf) == attrs and catalog.last_source == "database"
    assert requests_seen(env.sb) == seen

    # Without any Redis client at all, too.
    assert env.make(redis_client=None).tree() == tree
    # And when Redis is back, a process that finds the key missing refills it from the tables.
    back = env.make()
    assert back.tree() == tree and back.last_source == "database"
    assert back.tree() == tree and back.last_source == "redis"
    assert requests_seen(env.sb) == seen


def test_turkish_names_round_trip(env: Setup, monkeypatch, rclient):
    x = EXPECT[env.code]
    parent_path = x.root_path
    change_remote_tree(monkeypatch, env.code, add=(x.root, TURKISH))
    catalog = env.make()
    tree = catalog.tree(refresh=True)
    new = next(c for c in tree if c["id"] == added_id(env.code))
    assert new["name"] == TURKISH and new["path"] == parent_path + TURKISH and new["leaf"] is True

    row = db_categories(env.db, env.account.channel_id)[added_id(env.code)]
    assert row["name"] == TURKISH and row["path"] == parent_path + TURKISH
    # The collation finds it case-insensitively, as the admin's search does.
    found = env.db.query("SELECT remote_id FROM {p}kervan_category WHERE channel_id = %s AND name LIKE %s",
                         (env.account.channel_id, "%şal%"))
    assert [r["remote_id"] for r in found] == [added_id(env.code)]
    cached = env.make().tree()
    assert next(c for c in cached if c["id"] == added_id(env.code))["name"] == TURKISH

    if env.code in ("trendyol", "n11", "hepsiburada"):
        attrs = env.make().attributes(x.leaf)
        names = {a["name"] for a in attrs} | {v["name"] for a in attrs for v in a["values"]}
        assert {"trendyol": "Menşei", "n11": "Garanti Süresi", "hepsiburada": "İşlemci Tipi"}[env.code] in names
        stored = {r["name"] for r in db_attributes(env.db, env.account.channel_id, x.leaf)}
        assert {a["name"] for a in attrs} == stored


def test_an_empty_answer_keeps_the_stored_tree(env: Setup, monkeypatch):
    catalog = env.make()
    catalog.tree()
    monkeypatch.setattr(catalog.client, "category_tree", lambda: [])
    with pytest.raises(ValueError, match="no categories"):
        catalog.tree(refresh=True)
    assert len(db_categories(env.db, env.account.channel_id)) == EXPECT[env.code].categories
