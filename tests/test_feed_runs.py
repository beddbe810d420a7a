"""Feed runs on a real OpenCart database: staging, quarantine (truncated feed, count drop), the
missing-products policy only after a clean run, idempotent re-runs, Turkish text, one run at a time.

The fetch and parse steps are given here as plain functions over FeedItem lists (the feed reader
has tests of its own); ``test_end_to_end_*`` goes through the real reader when it is present."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from bridge.leader import LeaderLock
from bridge.opencart import ProductReader
from workers.suppliers import store as suppliers
from workers.suppliers.model import FeedError, FeedItem, ItemProblem
from workers.suppliers.runs import APPLIED, BUSY, QUARANTINED, FeedRun, FeedSettings

# The demo stores' default currency is USD; these suppliers' shop sells in lira.
RULES = {"price": {"markups": [{"percent": "20"}], "vat_included": False, "currency": "TRY"},
         "new_products": "create_enabled", "missing_products": "zero_stock"}


def _items(n: int = 4, qty: int = 5) -> list[FeedItem]:
    return [FeedItem(record=i, code=f"SKU-{i}", name=f"Çocuk Işıklı Ayakkabı İnce {i}", price=Decimal("10.50"),
                     quantity=qty, brand="Ağaç") for i in range(1, n + 1)]


class Feed:
    """What the fetch and parse steps would give: a file on disk and a stream of items that may
    break off with a FeedError after ``fail_after`` items (a truncated download)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.items: list[FeedItem | ItemProblem] = []
        self.fail_after: int | None = None

    def fetch(self, spec, dest: Path) -> Path:
        path = dest / "feed.xml"
        path.write_text("<urunler/>", encoding="utf-8")
        return path

    def parse(self, path: Path, spec):
        assert path.exists()
        for i, item in enumerate(self.items):
            if self.fail_after is not None and i == self.fail_after:
                raise FeedError("the file ends in the middle of a product (truncated download)", record=i + 1)
            yield item


@pytest.fixture
def feed(tmp_path):
    return Feed(tmp_path)


def _supplier(db, rules=None) -> suppliers.Supplier:
    s = suppliers.Supplier(code="tedarik", name="Tedarik A.Ş.", feed={"url": "https://feeds.example.com/x.xml",
                                                                      "preset": "urun"},
                           rules_raw=rules or RULES)
    suppliers.save(db, s)
    return s


def _run(db, feed, tmp_path, supplier=None, **kw):
    settings = FeedSettings(workdir=tmp_path / "work", **kw)
    supplier = supplier or suppliers.load(db, "tedarik")
    return FeedRun(db, supplier, settings, fetch=feed.fetch, parse=feed.parse).run()


def _quantities(db) -> dict[str, int]:
    return {r["item_key"]: int(r["quantity"]) for r in db.query(
        "SELECT sp.item_key, p.quantity FROM {p}kervan_supplier_product sp JOIN {p}product p"
        " ON p.product_id = sp.product_id")}


def _events(db) -> int:
    return int(db.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox")["n"])


def test_clean_run_then_identical_run_writes_nothing(store, feed, tmp_path):
    _supplier(store)
    feed.items = _items()
    result = _run(store, feed, tmp_path)
    assert result.outcome == APPLIED
    assert (result.items, result.created, result.updated, result.events) == (4, 4, 0, 4)
    row = store.one("SELECT * FROM {p}kervan_feed_run WHERE run_id = %s", (result.run_id,))
    assert row["outcome"] == "applied" and row["created"] == 4 and row["finished_at"] is not None
    assert suppliers.load(store, "tedarik").last_good_count == 4
    assert (tmp_path / "work" / "tedarik" / "last_good.xml").read_text(encoding="utf-8") == "<urunler/>"
    assert store.one("SELECT COUNT(*) AS n FROM {p}kervan_feed_item")["n"] == 0  # staging dropped
    pid = store.one("SELECT product_id FROM {p}kervan_supplier_product WHERE item_key = 'SKU-1'")["product_id"]
    assert ProductReader(store).get(pid).name == "Çocuk Işıklı Ayakkabı İnce 1"

    snapshot = store.query("SELECT p.* FROM {p}product p JOIN {p}kervan_supplier_product sp"
                           " ON sp.product_id = p.product_id ORDER BY p.product_id")
    events = _events(store)
    again = _run(store, feed, tmp_path)
    assert again.outcome == APPLIED
    assert (again.created, again.updated, again.unchanged, again.missing, again.events) == (0, 0, 4, 0, 0)
    assert _events(store) == events
    assert store.query("SELECT p.* FROM {p}product p JOIN {p}kervan_supplier_product sp"
                       " ON sp.product_id = p.product_id ORDER BY p.product_id") == snapshot


def test_truncated_feed_is_quarantined_and_nothing_is_zeroed(store, feed, tmp_path):
    _supplier(store)
    feed.items = _items()
    _run(store, feed, tmp_path)
    before, events = _quantities(store), _events(store)

    feed.items = _items(qty=50)  # new stock figures, but the download breaks off after two items
    feed.fail_after = 2
    result = _run(store, feed, tmp_path)
    assert result.outcome == QUARANTINED
    assert "could not be read (at record 3)" in result.reason and "nothing was zeroed" in result.reason
    assert _quantities(store) == before and _events(store) == events
    row = store.one("SELECT outcome, reason FROM {p}kervan_feed_run WHERE run_id = %s", (result.run_id,))
    assert row["outcome"] == "quarantined" and "truncated" in row["reason"]
    assert suppliers.load(store, "tedarik").last_good_count == 4
    assert store.one("SELECT COUNT(*) AS n FROM {p}kervan_feed_item")["n"] == 0
    assert (tmp_path / "work" / "tedarik" / "quarantined.xml").exists()
    assert (tmp_path / "work" / "tedarik" / "last_good.xml").exists()


def test_item_count_drop_is_quarantined(store, feed, tmp_path):
    _supplier(store)
    feed.items = _items(10)
    _run(store, feed, tmp_path)
    before, events = _quantities(store), _events(store)
    feed.items = _items(4)
    result = _run(store, feed, tmp_path, min_ratio=0.5)
    assert result.outcome == QUARANTINED
    assert "4 products, far fewer than the 10" in result.reason
    assert _quantities(store) == before and _events(store) == events
    assert store.one("SELECT COUNT(*) AS n FROM {p}kervan_supplier_product WHERE missing_since IS NOT NULL")["n"] == 0

    feed.items = []
    assert _run(store, feed, tmp_path).outcome == QUARANTINED  # an empty feed never zeroes a shop


def test_missing_policy_only_after_a_clean_run(store, feed, tmp_path):
    _supplier(store)
    feed.items = _items(4)
    _run(store, feed, tmp_path)
    feed.items = _items(4)[:3] + [ItemProblem(record=4, reason="no price", code="SKU-9")]
    result = _run(store, feed, tmp_path)
    assert result.outcome == APPLIED and result.missing == 1 and result.rejected == 1
    q = _quantities(store)
    assert q["SKU-4"] == 0 and q["SKU-1"] == 5
    assert _run(store, feed, tmp_path).missing == 0  # already handled: not again

    # A rejected record still names a product the feed lists: it is not "missing".
    feed.items = _items(4)[:3] + [ItemProblem(record=4, reason="price is not a number", code="SKU-4")]
    feed.items[0] = FeedItem(**{**feed.items[0].__dict__, "price": None})  # rejected by the rules: no price
    result = _run(store, feed, tmp_path)
    assert result.outcome == APPLIED and result.missing == 0 and result.rejected == 2
    assert _quantities(store)["SKU-1"] == 5
    problems = store.one("SELECT problems FROM {p}kervan_feed_run WHERE run_id = %s", (result.run_id,))["problems"]
    assert "no price" in problems and "price is not a number" in problems


def test_missing_policy_disable(store, feed, tmp_path):
    _supplier(store, {**RULES, "missing_products": "disable"})
    feed.items = _items(3)
    _run(store, feed, tmp_path)
    feed.items = _items(3)[:2]
    assert _run(store, feed, tmp_path).missing == 1
    pid = store.one("SELECT product_id FROM {p}kervan_supplier_product WHERE item_key = 'SKU-3'")["product_id"]
    assert store.one("SELECT status FROM {p}product WHERE product_id = %s", (pid,))["status"] == 0
    feed.items = _items(3)
    result = _run(store, feed, tmp_path)
    assert result.updated == 1
    assert store.one("SELECT status FROM {p}product WHERE product_id = %s", (pid,))["status"] == 1


def test_duplicate_codes_last_wins_and_are_reported(store, feed, tmp_path):
    _supplier(store)
    items = _items(2)
    items.append(FeedItem(record=3, code="SKU-1", name="Son Kayıt", price=Decimal("11"), quantity=9))
    feed.items = items
    result = _run(store, feed, tmp_path)
    assert (result.items, result.duplicates, result.created) == (2, 1, 2)
    assert _quantities(store)["SKU-1"] == 9
    assert any("repeated a product code" in p["reason"] for p in result.problems)


def test_one_run_per_supplier_at_a_time(store, feed, tmp_path):
    _supplier(store)
    feed.items = _items(1)
    other = LeaderLock(store, "kervan_feed:tedarik")
    assert other.try_acquire(0)
    try:
        result = _run(store, feed, tmp_path)
        assert result.outcome == BUSY
        assert store.one("SELECT COUNT(*) AS n FROM {p}kervan_feed_run")["n"] == 0
    finally:
        other.release()
    assert _run(store, feed, tmp_path).outcome == APPLIED


def test_bad_rules_fail_the_run_in_plain_words(store, feed, tmp_path):
    s = _supplier(store)
    store.execute("UPDATE {p}kervan_supplier SET rules = %s WHERE supplier_id = %s",
                  ('{"new_products": "sil"}', s.supplier_id))
    result = _run(store, feed, tmp_path)
    assert result.outcome == "failed" and "new products" in result.reason


def test_scheduler_job_asks_once_per_interval_for_enabled_suppliers(store, feed, tmp_path):
    from bridge.scheduler import Jobs, SchedulerSettings
    from workers.suppliers.feeds_worker import enqueue_due

    _supplier(store)
    suppliers.save(store, suppliers.Supplier(code="kapali", name="Kapalı", enabled=False))
    suppliers.save(store, suppliers.Supplier(code="taze", name="Taze", import_interval=3600))
    feed.items = _items(1)
    _run(store, feed, tmp_path, supplier=suppliers.load(store, "taze"))  # ran just now: not due

    assert Jobs(store, SchedulerSettings(channels=())).import_feeds() == {"commands": 1}
    rows = store.query("SELECT * FROM {p}kervan_outbox WHERE event_type = 'cmd.import_feed'")
    assert [r["aggregate_id"] for r in rows] == ["tedarik"]
    from bridge.outbox import to_event

    assert to_event(rows[0]).routing_key == "cmd.import_feed.tedarik"
    assert enqueue_due(store) == {"commands": 0}  # asked already within the interval
    store.execute("UPDATE {p}kervan_supplier SET import_requested_at = CURRENT_TIMESTAMP(6) - INTERVAL 2 HOUR"
                  " WHERE code = 'tedarik'")
    assert enqueue_due(store) == {"commands": 1}


def test_feeds_handler_runs_the_named_supplier(store, feed, tmp_path):
    from workers.channels.errors import PermanentError
    from workers.suppliers.feeds_worker import FeedsHandler, import_command

    _supplier(store)
    feed.items = _items(2)
    settings = FeedSettings(workdir=tmp_path / "work")
    handler = FeedsHandler(store, settings, run=lambda db, s, st: FeedRun(db, s, st, fetch=feed.fetch,
                                                                           parse=feed.parse).run())
    result = handler.handle(import_command("tedarik"))
    assert result.outcome == APPLIED and result.created == 2
    with pytest.raises(PermanentError):
        handler.handle(import_command("yok-boyle-biri"))
    store.execute("UPDATE {p}kervan_supplier SET enabled = 0 WHERE code = 'tedarik'")
    assert handler.handle(import_command("tedarik")) is None  # switched off: the schedule skips it
    assert handler.handle(import_command("tedarik", manual=True)).outcome == APPLIED  # the admin's button runs it


# -- end to end: the sandbox supplier's feed server over HTTP, the real fetch and parsers ----------


@pytest.fixture
def supplier_sandbox():
    from sandbox.supplier.feeds import SupplierFeedSandbox

    with SupplierFeedSandbox() as sb:
        yield sb


def _sandbox_run(db, sb, tmp_path, fmt, **params):
    s = suppliers.load(db, "tedarik") or suppliers.Supplier(code="tedarik", name="Tedarik", rules_raw=RULES)
    s.feed = sb.feed_spec(fmt, "basic", **params)
    suppliers.save(db, s)
    return FeedRun(db, suppliers.load(db, "tedarik"), FeedSettings(workdir=tmp_path / "work")).run()


def test_end_to_end_variant_feed_then_identical_run(store, supplier_sandbox, tmp_path):
    result = _sandbox_run(store, supplier_sandbox, tmp_path, "urun", items=6, variants=3)
    assert result.outcome == APPLIED, result.reason
    links = store.query("SELECT * FROM {p}kervan_supplier_product")
    assert len(links) == result.items == result.created > 6
    products = {lk["product_id"] for lk in links}
    assert len(products) == 6  # variants of one model code are one product with an option
    product = ProductReader(store).get(links[0]["product_id"])
    assert product.name.startswith("Öğretici Öğrenci Masası") and product.manufacturer.name == "Işıkçı"
    assert "<b>dayanıklı</b>" in product.description.description and "&amp; ücretsiz" not in product.description.description
    assert product.options and product.options[0].name == "Renk / Beden"
    assert product.quantity == sum(v.quantity for v in product.options[0].values)
    events = _events(store)

    again = _sandbox_run(store, supplier_sandbox, tmp_path, "urun", items=6, variants=3)
    assert (again.outcome, again.created, again.updated, again.events) == (APPLIED, 0, 0, 0)
    assert again.unchanged == result.items and _events(store) == events


def test_end_to_end_truncated_feed_and_html_page_zero_nothing(store, supplier_sandbox, tmp_path):
    assert _sandbox_run(store, supplier_sandbox, tmp_path, "urun", items=8).outcome == APPLIED
    before, events = _quantities(store), _events(store)
    for fault in ("truncate", "html"):
        result = _sandbox_run(store, supplier_sandbox, tmp_path, "urun", items=8, fault=fault)
        assert result.outcome == QUARANTINED, fault
        assert "Nothing was changed in the shop" in result.reason
        assert supplier_sandbox.password not in result.reason
        assert _quantities(store) == before and _events(store) == events
    assert store.one("SELECT COUNT(*) AS n FROM {p}kervan_supplier_product WHERE missing_since IS NOT NULL")["n"] == 0


def test_end_to_end_windows_1254_csv_with_turkish_text(store, supplier_sandbox, tmp_path):
    result = _sandbox_run(store, supplier_sandbox, tmp_path, "supplier-csv", items=4, encoding="windows-1254")
    assert result.outcome == APPLIED, result.reason
    names = {r["name"] for r in store.query(
        "SELECT pd.name FROM {p}product_description pd JOIN {p}kervan_supplier_product sp"
        " ON sp.product_id = pd.product_id")}
    assert any(n.startswith("Öğretici Öğrenci Masası") for n in names)
    assert not any("Ã" in n or "\ufffd" in n for n in names)  # no mojibake


def test_feeds_worker_imports_on_the_command_from_the_broker(store41, amqp_url, cfg_factory, supplier_sandbox,
                                                             tmp_path):
    """``kervan worker feeds`` as the runtime assembles it: the command published with its routing
    key ``cmd.import_feed.<code>`` reaches the feeds queue and runs the import once."""
    import threading

    import pika

    from bridge.heartbeat import wait_until
    from bridge.topology import Topology, declare_all
    from workers.roles import build_worker
    from workers.suppliers.feeds_worker import import_command

    suppliers.save(store41, suppliers.Supplier(code="tedarik", name="Tedarik", rules_raw=RULES,
                                               feed=supplier_sandbox.feed_spec("urun", "basic", items=5)))
    cfg = cfg_factory(store41, amqp_url, suppliers={"roles": "feeds"}, feeds={"workdir": str(tmp_path / "work")},
                      channels={"enabled": ""})
    declare_all(amqp_url, Topology.from_config(cfg))
    worker = build_worker(cfg, "feeds", "")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        command = import_command("tedarik", source="admin")
        assert command.routing_key == "cmd.import_feed.tedarik"
        conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
        ch = conn.channel()
        ch.confirm_delivery()
        ch.basic_publish("kervan", command.routing_key, command.to_json(),
                         pika.BasicProperties(delivery_mode=2, message_id=command.id), mandatory=True)
        conn.close()
        assert wait_until(lambda: store41.one("SELECT COUNT(*) AS n FROM {p}kervan_feed_run WHERE outcome = 'applied'")
                          ["n"] == 1, 60)
        assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_parked")["n"] == 0
        assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_supplier_product")["n"] >= 5
    finally:
        worker.stop()
        thread.join(60)


@pytest.fixture
def image_server():
    """A supplier's image host on 127.0.0.1: a PNG, an HTML page saved as .jpg, and 404s."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            body, status = ((png, 200) if self.path.startswith("/ok/") else
                            (b"<html>bakimda</html>", 200) if self.path.startswith("/html/") else (b"", 404))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_images_are_downloaded_once_and_bad_ones_reported(store, feed, tmp_path, image_server):
    base, seen = image_server
    _supplier(store)
    feed.items = [FeedItem(record=1, code="IMG-1", name="Resimli Ürün", price=Decimal("5"), quantity=1,
                           images=(f"{base}/ok/a.png?v=1", f"{base}/html/b.jpg", f"{base}/missing/c.jpg"))]
    image_dir = tmp_path / "image"
    result = _run(store, feed, tmp_path, image_dir=image_dir)
    assert result.outcome == APPLIED
    pid = store.one("SELECT product_id FROM {p}kervan_supplier_product")["product_id"]
    main = store.one("SELECT image FROM {p}product WHERE product_id = %s", (pid,))["image"]
    assert (image_dir / main).read_bytes().startswith(b"\x89PNG")  # OpenCart's path now has the file
    reasons = [p["reason"] for p in result.problems]
    assert any("b.jpg is not a JPEG, PNG, GIF or WebP image" in r for r in reasons)
    assert any("c.jpg answered HTTP 404" in r for r in reasons)
    assert not list(image_dir.rglob("*b.jpg")) and not list(image_dir.rglob(".img-*"))

    images = (f"{base}/ok/a.png?v=2", f"{base}/html/b.jpg", f"{base}/missing/c.jpg")
    feed.items = [FeedItem(**{**feed.items[0].__dict__, "images": images, "quantity": 3})]
    again = _run(store, feed, tmp_path, image_dir=image_dir)
    assert "/ok/a.png?v=2" not in seen  # same path, new cache-busting query: not fetched again
    assert again.updated == 1 and again.events == 1  # only the stock moved: one stock.changed
    assert store.one("SELECT COUNT(*) AS n FROM {p}kervan_outbox WHERE event_type = 'stock.changed'")["n"] == 1


def test_feed_secrets_stay_out_of_logs_and_run_rows(store, supplier_sandbox, tmp_path):
    from loguru import logger

    lines: list[str] = []
    sink = logger.add(lines.append, level="DEBUG")
    try:
        s = suppliers.Supplier(code="tedarik", name="Tedarik", rules_raw=RULES,
                               feed=supplier_sandbox.feed_spec("urun", "path", items=3))
        suppliers.save(store, s)
        assert supplier_sandbox.token not in repr(s) and supplier_sandbox.token not in str(s)
        settings = FeedSettings(workdir=tmp_path / "work")
        assert FeedRun(store, suppliers.load(store, "tedarik"), settings).run().outcome == APPLIED
        s.feed = supplier_sandbox.feed_spec("urun", "path", items=3, fault="html")
        suppliers.save(store, s)
        failed = FeedRun(store, suppliers.load(store, "tedarik"), settings).run()
        assert failed.outcome == QUARANTINED
    finally:
        logger.remove(sink)
    assert lines and not [line for line in lines if supplier_sandbox.token in line]
    runs = store.query("SELECT reason, problems FROM {p}kervan_feed_run")
    assert len(runs) == 2 and not [r for r in runs if supplier_sandbox.token in f"{r['reason']}{r['problems']}"]


def test_prices_are_converted_into_the_store_currency(store, feed, tmp_path):
    """No currency in the rules: the store's default (USD in the demo stores), at the rules' rate
    or else at OpenCart's own currency table (EUR 0.7846 per USD)."""
    _supplier(store, {"price": {"vat_included": False, "rates": {"TRY": "0.025"}}, "new_products": "create_enabled"})
    feed.items = [FeedItem(record=1, code="TL", name="Lira", price=Decimal("400")),
                  FeedItem(record=2, code="EU", name="Avro", price=Decimal("78.46"), currency="EUR"),
                  FeedItem(record=3, code="GBX", name="Bilinmez", price=Decimal("1"), currency="CHF")]
    result = _run(store, feed, tmp_path)
    assert result.created == 2 and result.rejected == 1
    prices = {r["item_key"]: Decimal(r["price"]) for r in store.query(
        "SELECT sp.item_key, p.price FROM {p}kervan_supplier_product sp JOIN {p}product p"
        " ON p.product_id = sp.product_id")}
    assert prices == {"TL": Decimal("10.0000"), "EU": Decimal("100.0000")}
    assert any("no exchange rate from CHF to USD" in p["reason"] for p in result.problems)
    cost = store.one("SELECT cost, currency FROM {p}kervan_supplier_product WHERE item_key = 'TL'")
    assert (cost["cost"], cost["currency"]) == (Decimal("400.0000"), "TRY")  # what the supplier charges
