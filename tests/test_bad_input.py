"""The bad input corpus (tests/badinput/, README there) through Kervan's real entry points: the
envelope parser, a worker's poison path on a real RabbitMQ vhost, the marketplace HTTP layer
against a local server, the OpenCart order writer and the product reader on a real store. Each
input ends in a clear error or is stored safely; nothing crashes and nothing else is lost."""

from __future__ import annotations

import hashlib
import html
import json
import threading
from dataclasses import replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pika
import pytest

from bridge.envelope import Event, PoisonMessage
from bridge.heartbeat import wait_until
from bridge.opencart import ProductReader
from bridge.order_writer import FLAG_UNKNOWN_SKU, InvalidOrder, OrderWriter
from bridge.topology import Topology, declare_all
from tests.test_order_writer import account, order, qty
from tests.test_runtime import QUEUE, Recorder, event, queue_depth
from workers import parking
from workers.channels.errors import PermanentError, TransientError
from workers.http import JsonHttp
from workers.mappers import trendyol as ty_mapper
from workers.mappers.orders.common import Skip, amount, quantity
from workers.orders import model as m
from workers.runtime import ATTEMPT_HEADER, Worker, WorkerSettings

CORPUS = Path(__file__).parent / "badinput"
MB10 = 10 * 1024 * 1024
# Valid JSON whose fields have the wrong types: the parser raises TypeError/ValueError instead of
# PoisonMessage (bridge/envelope.py), so the runtime requeues them until RabbitMQ's delivery
# limit dead-letters them; they end parked all the same, with a less telling reason.
WRONG_TYPES = sorted(p.name for p in (CORPUS / "messages").glob("wrongtype_*"))
CLEAR = sorted(p.name for p in (CORPUS / "messages").iterdir() if p.name not in WRONG_TYPES)


def body(name: str) -> bytes:
    return (CORPUS / "messages" / name).read_bytes()


def deep_nesting() -> bytes:
    return b"[" * 100_000 + b"]" * 100_000


def huge_garbage(size: int = MB10) -> bytes:
    return b"<html>" + b"x" * size + b"</html>"


# A poison body of several parts (workers/parking.PARKED_PART_BYTES); a 20 MB one has its own test.
PARKABLE = 6 * 1024 * 1024


# --- the envelope ---------------------------------------------------------------------------------

EXPECTED_REASON = {
    "not_json.txt": "body is not JSON", "invalid_utf8.bin": "body is not JSON", "empty.bin": "body is not JSON",
    "truncated.json": "body is not JSON", "json_array.json": "not a JSON object", "json_null.json": "not a JSON object",
    "json_string.json": "not a JSON object", "missing_fields.json": "envelope lacks id, aggregate_type, aggregate_id",
    "unknown_event_type.json": "unknown event type 'product.exploded'", "newer_schema.json": "schema 99 is newer",
    "payload_not_object.json": "payload is not a JSON object",
}


@pytest.mark.parametrize("name", CLEAR)
def test_envelope_names_what_is_wrong(name):
    with pytest.raises(PoisonMessage) as err:
        Event.from_json(body(name))
    assert EXPECTED_REASON[name] in str(err.value)


def test_envelope_takes_huge_bodies_without_harm():
    with pytest.raises(PoisonMessage, match="body is not JSON"):
        Event.from_json(huge_garbage())
    big = Event("product.saved", "product", "42", {"product_id": 42, "note": "İ" * MB10}).to_json()
    assert len(Event.from_json(big).payload["note"]) == MB10


@pytest.mark.parametrize("name", [*WRONG_TYPES, "deep_nesting"])
def test_envelope_wrong_types_are_poison(name):
    with pytest.raises(PoisonMessage):
        Event.from_json(deep_nesting() if name == "deep_nesting" else body(name))


# --- the runtime's poison path on a real broker ---------------------------------------------------

def _publish(amqp_url: str, topology: Topology, messages: list[tuple[bytes, dict]]) -> None:
    declare_all(amqp_url, topology)
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    ch.confirm_delivery()
    for i, (payload, headers) in enumerate(messages):
        ch.basic_publish("kervan", "product.saved", payload, pika.BasicProperties(
            delivery_mode=2, message_id=f"bad-{i}", headers=headers or None), mandatory=True)
    conn.close()


def _worker(db, amqp_url: str, topology: Topology, handler: Recorder) -> tuple[Worker, threading.Thread]:
    settings = WorkerSettings(amqp_url=amqp_url, queue=QUEUE, heartbeat_interval=0.5)
    worker = Worker(db, settings, handler, topology, role="catalog", channel="trendyol")
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    return worker, t


def test_worker_parks_every_hostile_message_and_handles_the_rest(store41, amqp_url):
    topology = Topology(retry_tiers=(1,), delivery_limit=2)
    good = [event(i) for i in range(20)]
    huge_ok = Event("product.saved", "product", "99", {"product_id": 99, "blob": "ş" * (MB10 // 2)})
    bad: list[tuple[bytes, dict]] = [(body(n), {}) for n in CLEAR + WRONG_TYPES]
    bad += [(deep_nesting(), {}), (huge_garbage(PARKABLE), {}),
            (Event("product.exploded", "product", "1", {"x": "y" * (PARKABLE // 2)}).to_json(), {})]
    messages = [(e.to_json(), {}) for e in good] + [(huge_ok.to_json(), {})]
    for i, b in enumerate(bad):  # interleaved: the good ones behind a bad one must still flow
        messages.insert(2 * i + 1, b)
    _publish(amqp_url, topology, messages)

    handler = Recorder()
    worker, t = _worker(store41, amqp_url, topology, handler)
    try:
        def parked_count() -> int:
            return int(store41.one("SELECT COUNT(*) AS n FROM {p}kervan_parked")["n"])

        done = wait_until(lambda: len(set(handler.applied)) == len(good) + 1 and parked_count() >= len(bad), 50)
        assert done, f"applied {len(set(handler.applied))} of {len(good) + 1}, parked {parked_count()} of {len(bad)}"
    finally:
        worker.stop()
        t.join(60)
    assert not t.is_alive(), "the worker did not stop"
    assert set(handler.applied) == {e.id for e in good} | {huge_ok.id}

    rows = store41.query("SELECT parked_id, queue, reason, body FROM {p}kervan_parked ORDER BY parked_id")
    digest = {hashlib.sha256(parking.body_of(store41, r["parked_id"], r["body"])).hexdigest(): r for r in rows}
    assert len(rows) == len(bad) == len(digest), "each hostile message parked exactly once"
    for payload, _headers in bad:
        row = digest[hashlib.sha256(payload).hexdigest()]  # the body kept byte for byte
        assert row["queue"] == QUEUE
    for name in CLEAR:
        reason = digest[hashlib.sha256(body(name)).hexdigest()]["reason"]
        assert reason.startswith("poison: ") and EXPECTED_REASON[name] in reason
    for name in WRONG_TYPES:  # valid JSON of the wrong shape: parked at once, with the field named
        reason = digest[hashlib.sha256(body(name)).hexdigest()]["reason"]
        assert reason.startswith("poison: envelope field ")
    assert queue_depth(amqp_url) == 0 and queue_depth(amqp_url, "kervan.parked") == 0


def test_a_20_mb_hostile_message_is_parked_whole_and_replayed_byte_for_byte(store41, amqp_url):
    """Larger than one BLOB row can take (it used to make the worker retry the INSERT for ever):
    parked in parts, and a replay publishes exactly the bytes that came in."""
    topology = Topology(retry_tiers=(1,), delivery_limit=2)
    huge = b"<html>" + bytes(range(256)) * (20 * 1024 * 4) + b"</html>"  # 20 MB, every byte value
    after = event(1)
    _publish(amqp_url, topology, [(huge, {}), (after.to_json(), {})])
    handler = Recorder()
    worker, t = _worker(store41, amqp_url, topology, handler)
    try:
        assert wait_until(lambda: handler.applied == [after.id], 60)  # the next message flowed
        assert wait_until(lambda: store41.one("SELECT COUNT(*) AS n FROM {p}kervan_parked")["n"] == 1, 30)
    finally:
        worker.stop()
        t.join(60)
    row = store41.one("SELECT parked_id, reason, body FROM {p}kervan_parked")
    assert row["reason"].startswith("poison: ")
    assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_parked_part WHERE parked_id = %s",
                       (row["parked_id"],))["n"] == 10
    assert parking.body_of(store41, row["parked_id"], row["body"]) == huge

    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        assert parking.replay(store41, lambda *a: ch.basic_publish(*a, mandatory=True), row["parked_id"])
        # The queue has a single active consumer, which basic.get cannot be: consume one message.
        _method, _props, replayed = next(ch.consume(QUEUE, auto_ack=True, inactivity_timeout=30))
        ch.cancel()
    finally:
        conn.close()
    assert replayed == huge


def test_a_hostile_attempt_header_counts_as_a_first_attempt(store41, amqp_url):
    """A retry counter that is not a number (a broken publisher) must not make a good event
    unhandleable: it is read as a first attempt and the event is applied."""
    topology = Topology(retry_tiers=(1,), delivery_limit=2)
    hostile, good = event(500), event(501)
    _publish(amqp_url, topology, [(hostile.to_json(), {ATTEMPT_HEADER: "not a number"}), (good.to_json(), {})])
    handler = Recorder()
    worker, t = _worker(store41, amqp_url, topology, handler)
    try:
        assert wait_until(lambda: len(handler.applied) == 2, 12)
    finally:
        worker.stop()
        t.join(60)
    assert sorted(handler.applied) == sorted([hostile.id, good.id])
    assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_parked")["n"] == 0
    assert queue_depth(amqp_url) == 0


# --- marketplace responses through the HTTP layer -------------------------------------------------

SECRET = "s3cr3t-secret"


class Marketplace(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        route = self.path.lstrip("/")
        if route == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if route == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"items": [')
            self.wfile.flush()
            self.close_connection = True
            return
        status, ctype, payload = ROUTES[route]()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


def _resp(name: str) -> bytes:
    return (CORPUS / "responses" / name).read_bytes()


ROUTES = {
    "html200": lambda: (200, "text/html", _resp("html_instead_of_json.html")),
    "html500": lambda: (500, "text/html", _resp("html_instead_of_json.html")),
    "html400": lambda: (400, "text/html", _resp("html_instead_of_json.html")),
    "truncated": lambda: (200, "application/json", _resp("truncated.json")),
    "echo": lambda: (400, "application/json", _resp("error_echoing_credentials.json")),
    "shape": lambda: (200, "application/json", _resp("json_wrong_shape.json")),
    "big_html": lambda: (200, "text/html", b"<html>" + b"<p>ok</p>" * (MB10 // 9) + b"</html>"),
    "big_json": lambda: (200, "application/json", json.dumps({"items": ["İ" * 100] * (MB10 // 220)}).encode()),
    "bad_utf8": lambda: (200, "application/json", b'{"name": "Ali \xff\xfe Veli"}'),
    "surrogate": lambda: (200, "application/json", b'{"name": "Ali \\ud800 Veli"}'),
}


@pytest.fixture(scope="module")
def marketplace():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Marketplace)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = JsonHttp(f"http://127.0.0.1:{server.server_address[1]}", name="hostile", retry_budget=0.3,
                      backoff_multiplier=0.01, backoff_max=0.05, read_timeout=10, secrets=(SECRET,),
                      headers={"Authorization": "Basic a2VydmFuLWtleTpzM2NyM3Qtc2VjcmV0"})
    yield client
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("route, error, words", [
    ("html200", TransientError, "response is not JSON"),
    ("truncated", TransientError, "response is not JSON"),
    ("big_html", TransientError, "response is not JSON"),
    ("html500", TransientError, "Internal Server Error"),
    ("html400", PermanentError, "Bad Request"),
    ("cut", TransientError, "request failed"),
    ("drop", TransientError, "connection failed"),
])
def test_marketplace_answers_that_are_not_its_api_become_clear_errors(marketplace, route, error, words):
    with pytest.raises(error) as err:
        marketplace.get(route)
    text = str(err.value)
    assert words in text and "<html" not in text and "<h1>" not in text


def test_marketplace_error_echoing_credentials_is_scrubbed(marketplace):
    with pytest.raises(PermanentError) as err:
        marketplace.get("echo")
    assert "Invalid credentials" in err.value.message
    assert SECRET not in str(err.value) and "a2VydmFuLWtleTpzM2NyM3Qtc2VjcmV0" not in str(err.value)


def test_marketplace_bodies_that_parse_are_returned_as_parsed(marketplace):
    assert marketplace.get("shape") == ["not", "an", "object"]  # the caller's mapper judges the shape
    assert len(marketplace.get("big_json")["items"]) == MB10 // 220
    assert marketplace.get("bad_utf8")["name"] == "Ali \ufffd\ufffd Veli"  # invalid bytes become U+FFFD
    assert marketplace.get("surrogate")["name"] == "Ali \ud800 Veli"  # valid JSON: a lone surrogate


# --- order data into OpenCart ---------------------------------------------------------------------

HOSTILE = json.loads((CORPUS / "orders" / "hostile_strings.json").read_text(encoding="utf-8"))
STRINGS = HOSTILE["sql_payloads"] + HOSTILE["html_payloads"] + HOSTILE["turkish"]


def _hostile_order(i: int, s: str) -> m.MarketOrder:
    base = order(remote_id=f"H{i}-{s}"[:64])
    address = replace(base.shipping_address, firstname=s, lastname=s, address_1=s, city=s, company=s)
    lines = (m.OrderLine(f"L{i}", s, s, 1, Decimal("10.00"), Decimal(20), model=s, variant=s),
             m.OrderLine(f"K{i}", "product 11", "iPhone", 1, Decimal("120.00"), Decimal(20)))
    return replace(base, order_number=s, remote_status=s, customer_firstname=s, customer_lastname=s, email=s,
                   shipping_address=address, payment_address=address, lines=lines, carrier=s)


def test_sql_and_html_in_every_field_are_stored_verbatim(store41):
    cid = account(store41)
    writer = OrderWriter(store41, cid, "trendyol")
    products_before = store41.one("SELECT COUNT(*) AS n, SUM(quantity) AS q FROM {p}product")
    stock_40 = qty(store41, 40)
    for i, s in enumerate(STRINGS):
        res = writer.apply(_hostile_order(i, s))
        assert res.created and FLAG_UNKNOWN_SKU in res.flags  # the hostile SKU matches no product
        o = store41.one("SELECT * FROM {p}order WHERE order_id = %s", (res.order_id,))
        assert (o["firstname"], o["shipping_address_1"], o["shipping_city"], o["email"]) == (
            s[:32], s[:128], s[:128], s[:96])
        line = store41.one("SELECT name, model FROM {p}order_product WHERE order_id = %s AND product_id = 0",
                           (res.order_id,))
        assert line == {"name": s, "model": s[:64]}
        assert store41.one("SELECT value FROM {p}order_option WHERE order_id = %s", (res.order_id,))["value"] == s
        link = store41.one("SELECT remote_order_id FROM {p}kervan_order_link WHERE order_id = %s", (res.order_id,))
        assert link["remote_order_id"] == f"H{i}-{s}"[:64]
    # Nothing executed: the catalogue is whole, and only the real product line moved stock.
    products_after = store41.one("SELECT COUNT(*) AS n, SUM(quantity) AS q FROM {p}product")
    assert products_after["n"] == products_before["n"] == 19
    assert qty(store41, 40) == stock_40 - len(STRINGS)
    assert store41.one("SELECT COUNT(*) AS n FROM {p}order WHERE user_agent LIKE 'Kervan%%'")["n"] == len(STRINGS)
    # HTML is kept as text; OpenCart's admin templates escape it on output (autoescape), and the
    # stored value is exactly what the marketplace sent, not an escaped copy.
    assert store41.one("SELECT COUNT(*) AS n FROM {p}order WHERE firstname = %s",
                       (HOSTILE["html_payloads"][0][:32],))["n"] == 1
    assert html.escape(HOSTILE["html_payloads"][0]) != HOSTILE["html_payloads"][0]


def test_unstorable_order_data_fails_whole_and_the_next_order_goes_in(store41):
    cid = account(store41)
    writer = OrderWriter(store41, cid, "trendyol")
    stock_40 = qty(store41, 40)
    iphone = m.OrderLine("L1", "product 11", "iPhone", 1, Decimal("120.00"), Decimal(20))
    bad = {
        "nan price": (order("NAN", lines=(replace(iphone, unit_price=Decimal("NaN")),)), InvalidOrder),
        "vat -100": (order("VAT", lines=(replace(iphone, vat_rate=Decimal(-100)),)), InvalidOrder),
        "negative price": (order("NEGP", lines=(replace(iphone, unit_price=Decimal("-5")),)), InvalidOrder),
        "absurd quantity": (order("HUGE", lines=(replace(iphone, quantity=10**12),)), Exception),
    }
    for name, (o, error) in bad.items():
        with pytest.raises(error):
            writer.apply(o)
        # Rolled back whole: no claim on the marketplace order, no OpenCart order, no stock moved.
        assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_order_link WHERE remote_order_id = %s",
                           (o.remote_id,))["n"] == 0, name
        assert qty(store41, 40) == stock_40, name
    assert store41.one("SELECT COUNT(*) AS n FROM {p}order WHERE user_agent LIKE 'Kervan%%'")["n"] == 0
    # The order after them is imported normally (the importer records a refused one on its link and moves on).
    res = writer.apply(order("GOOD", lines=(iphone,)))
    assert res.created and qty(store41, 40) == stock_40 - 1

    # A 10 MB line name is cut to OpenCart's column, not refused.
    res = writer.apply(order("BIG", lines=(replace(iphone, name="İ" * MB10),)))
    assert store41.one("SELECT CHAR_LENGTH(name) AS n FROM {p}order_product WHERE order_id = %s",
                       (res.order_id,))["n"] == 255


def test_order_mappers_refuse_negative_quantities_and_odd_prices():
    """Upstream of the writer, every marketplace's order mapper reads quantities and amounts
    through these guards: the document is skipped with its id and the field named."""
    for value in (-3, 0, "2.5", "abc", True, None):
        with pytest.raises(Skip, match="quantity"):
            quantity(value, "line quantity")
    for value in ("NaN", "Infinity", "1e", None, {"currency": "TRY"}):
        with pytest.raises(Skip, match="price"):
            amount(value, "line price")


def test_order_writer_refuses_a_negative_quantity(store41):
    writer = OrderWriter(store41, account(store41), "trendyol")
    before = qty(store41, 40)
    with pytest.raises(InvalidOrder, match="quantity -3"):
        writer.apply(order("NEG", lines=(m.OrderLine("L1", "product 11", "iPhone", -3, Decimal("120"),
                                                     Decimal(20)),)))
    assert qty(store41, 40) == before


def test_a_lone_surrogate_is_stored_as_a_replacement_character(store41):
    """Valid JSON ("\ud800") that UTF-8 cannot hold: the order goes in, the character shown as U+FFFD."""
    writer = OrderWriter(store41, account(store41), "trendyol")
    iphone = m.OrderLine("L1", "product 11", "iPhone", 1, Decimal("120.00"), Decimal(20))
    res = writer.apply(replace(order("SUR"), customer_firstname="Ali \ud800", lines=(iphone,)))
    assert store41.one("SELECT firstname FROM {p}order WHERE order_id = %s", (res.order_id,))["firstname"].startswith(
        "Ali \ufffd")


# --- a product with a 10 MB description -----------------------------------------------------------

def test_product_with_a_10_mb_description_reads_whole_and_maps_bounded(store41):
    lang = store41.one("SELECT language_id FROM {p}language WHERE code = 'en-gb'")["language_id"]
    unit = "İSTANBUL İzmir ığüşöç ĞÜŞİÖÇ: kutulu ürün, 2 yıl garanti. "
    text = "<p>" + unit * (MB10 // len(unit.encode())) + "&amp; <b>\"son\"</b></p>"  # 10 MB of UTF-8
    # OpenCart stores descriptions HTML-escaped (its request filter); the reader gives the HTML back.
    store41.execute("UPDATE {p}product_description SET name = %s, description = %s WHERE product_id = 40"
                    " AND language_id = %s", ("İPHONE İ", html.escape(text), lang))
    products = ProductReader(store41).load([40, 41])
    p = products[40]
    d = p.descriptions["en-gb"]
    assert d.name == "İPHONE İ" and d.description == text and len(d.description) == len(text)
    assert products[41].descriptions["en-gb"].name  # the neighbour in the same read is intact

    mapping = ty_mapper.TrendyolMapping(categories={c.category_id: ty_mapper.CategoryMapping(1002)
                                                    for c in p.categories}, default_brand_id=1,
                                        language="en-gb", placeholder_image="placeholder.png",
                                        image_base_url="https://shop.example/image/")
    item = ty_mapper.to_item(p, mapping)
    assert item["description"] == text[:30000] and item["title"] == "İPHONE İ"
    assert len(json.dumps(item, ensure_ascii=False).encode()) < 100_000  # what goes to Trendyol stays bounded
