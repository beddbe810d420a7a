"""Orders forwarded to suppliers, on real OpenCart order tables (4.1.0.4 and 4.0.2.3), over real
HTTP to the supplier API sandbox and real SMTP to a local sink: once per supplier per order, even
when the worker process is killed between the reservation and the record."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from bridge.heartbeat import wait_until
from sandbox.supplier.api import SupplierApiSandbox
from tests.dropship import (
    CANON,
    IPHONE,
    add_supplier,
    history,
    link,
    market_order,
    rest_forward,
    supplier_orders,
)
from tests.fleet import Proc
from workers.channels.errors import TransientError
from workers.suppliers.forward import Forwarder, build_document, reference
from workers.suppliers.forward_rest import map_order
from workers.suppliers.forward_settings import ForwardSettingsError, parse


@pytest.fixture
def two() -> Iterator[tuple[SupplierApiSandbox, SupplierApiSandbox]]:
    with SupplierApiSandbox(name="a") as a, SupplierApiSandbox(name="b") as b:
        yield a, b


def posts(sb: SupplierApiSandbox) -> list[dict]:
    return [r for r in sb.requests() if r["method"] == "POST"]


def test_an_order_with_lines_of_two_suppliers_goes_to_each_once(store, two):
    a, b = two
    sa = add_supplier(store, "alfa", rest_forward(a))
    sb_ = add_supplier(store, "beta", rest_forward(b))
    link(store, sa, IPHONE, "ALFA-IPH", cost="99.90")
    store.execute("UPDATE {p}kervan_supplier_product SET barcode = '8690000000019' WHERE supplier_id = %s", (sa,))
    link(store, sb_, CANON, "BETA-CAN")
    order_id = market_order(store, [("product 11", 2), ("Product 3", 1), ("Product 2", 1)])  # Product 2: ours

    outcomes = Forwarder(store).forward_order(order_id)
    assert sorted((o.supplier_id, o.state, o.sent_now) for o in outcomes) == [(sa, "sent", True), (sb_, "sent", True)]
    (ao,), (bo,) = a.orders(), b.orders()
    assert [(i["code"], i["barcode"], i["quantity"], i["unitCost"]) for i in ao["body"]["items"]] == [
        ("ALFA-IPH", "8690000000019", 2, "99.9")]
    assert [(i["code"], i["quantity"]) for i in bo["body"]["items"]] == [("BETA-CAN", 1)]
    ship = ao["body"]["shipTo"]
    assert (ship["name"], ship["phone"], ship["district"], ship["city"], ship["country"]) == (
        "Şükrü Öztürk", "05321234567", "Kadıköy", "İstanbul", "TR")
    assert ship["address"] == "İnönü Cd. No:5 D:3" and ship["postcode"] == "34710"
    assert ao["body"]["reference"] == reference(order_id, sa) == f"{order_id}-{sa}"
    rows = supplier_orders(store)
    assert (rows[sa]["state"], rows[sa]["remote_id"]) == ("sent", ao["orderId"])
    assert (rows[sb_]["state"], rows[sb_]["remote_id"]) == ("sent", bo["orderId"])
    assert ao["idempotencyKey"] == rows[sa]["idempotency_key"]

    # Again (a redelivered event, the sweep, a second worker): nothing more reaches the suppliers.
    again = Forwarder(store).forward_order(order_id)
    assert [o.sent_now for o in again] == [False, False]
    assert len(posts(a)) == 1 and len(posts(b)) == 1


def test_an_order_not_in_a_forwarding_status_waits(store41, two):
    a, _ = two
    sid = add_supplier(store41, "alfa", rest_forward(a, trigger_status_ids=[15]))
    link(store41, sid, IPHONE, "ALFA-IPH")
    order_id = market_order(store41, [("product 11", 1)])  # Processing (2)
    assert Forwarder(store41).forward_order(order_id) == []
    assert a.orders() == [] and supplier_orders(store41) == {}
    store41.execute("UPDATE {p}order SET order_status_id = 15 WHERE order_id = %s", (order_id,))
    assert [o.state for o in Forwarder(store41).forward_order(order_id)] == ["sent"]
    assert len(a.orders()) == 1


def test_a_variant_goes_to_the_supplier_of_that_option_value(store41, two):
    a, b = two
    sa = add_supplier(store41, "alfa", rest_forward(a))
    sb_ = add_supplier(store41, "beta", rest_forward(b))
    link(store41, sb_, CANON, "BETA-CANON")  # the whole product
    link(store41, sa, CANON, "ALFA-CANON-RED", pov=15)  # the red one only
    order_id = market_order(store41, [("Product 3", 1)])
    line = store41.one("SELECT order_product_id FROM {p}order_product WHERE order_id = %s", (order_id,))
    store41.execute("INSERT INTO {p}order_option (order_id, order_product_id, product_option_id,"
                    " product_option_value_id, name, value, type) VALUES (%s, %s, 226, 15, 'Select', 'Red', 'select')",
                    (order_id, line["order_product_id"]))
    Forwarder(store41).forward_order(order_id)
    (ao,) = a.orders()
    assert b.orders() == []
    item = ao["body"]["items"][0]
    assert item["code"] == "ALFA-CANON-RED" and item["options"] == "Select: Red"


def test_out_of_stock_puts_the_line_on_hold_and_tells_the_merchant(store, two):
    a, _ = two
    a.configure(out_of_stock=["ALFA-CAN"])
    sid = add_supplier(store, "alfa", rest_forward(a))
    link(store, sid, IPHONE, "ALFA-IPH")
    link(store, sid, CANON, "ALFA-CAN")
    order_id = market_order(store, [("product 11", 1), ("Product 3", 2)])
    before = history(store, order_id)

    (outcome,) = Forwarder(store).forward_order(order_id)
    assert outcome.state == "on_hold" and a.orders() == []
    row = supplier_orders(store)[sid]
    assert row["state"] == "on_hold" and "Stokta yok: ALFA-CAN" in row["last_error"]
    lines = {line["supplier_code"]: line for line in json.loads(row["lines"])}
    assert lines["ALFA-CAN"]["state"] == "on_hold" and "state" not in lines["ALFA-IPH"]
    after = history(store, order_id)
    assert len(after) == len(before) + 1
    alert = after[-1]
    assert alert["notify"] == 0 and alert["order_status_id"] == 2  # the merchant is told, the customer not
    assert "out of stock" in alert["comment"] and "ALFA-CAN" in alert["comment"] and "on hold" in alert["comment"]
    assert store.one("SELECT order_status_id FROM {p}order WHERE order_id = %s", (order_id,))["order_status_id"] == 2

    # Held means held: the event again sends nothing.
    Forwarder(store).forward_order(order_id)
    assert a.orders() == [] and len(posts(a)) == 1
    # The supplier restocks and the merchant sends it again: a new key, one order.
    a.configure(out_of_stock=[])
    (again,) = Forwarder(store).retry(order_id, sid)
    assert again.state == "sent" and len(a.orders()) == 1
    new = supplier_orders(store)[sid]
    assert new["idempotency_key"] != row["idempotency_key"] and new["last_error"] is None


def test_rejections_are_permanent_and_visible(store41, two):
    a, b = two
    # Our own check: a supplier cannot ship without a phone (the customer's, else the store's). No call is made.
    store41.execute("UPDATE {p}setting SET value = '' WHERE `key` = 'config_telephone'")
    sa = add_supplier(store41, "alfa", rest_forward(a))
    link(store41, sa, IPHONE, "ALFA-IPH")
    no_phone = market_order(store41, [("product 11", 1)], remote_id="PKG-NOPHONE", telephone="")
    (o,) = Forwarder(store41).forward_order(no_phone)
    assert o.state == "failed" and "phone" in o.error and a.requests() == []
    assert "phone" in history(store41, no_phone)[-1]["comment"]

    # A marketplace that withholds the customer's phone: the store's own phone is the contact.
    store41.execute("UPDATE {p}setting SET value = '0212 555 00 00' WHERE `key` = 'config_telephone'")
    masked = market_order(store41, [("product 11", 1)], remote_id="PKG-MASKED", telephone="")
    (o,) = Forwarder(store41).forward_order(masked)
    assert o.state == "sent" and a.orders()[-1]["body"]["shipTo"]["phone"] == "0212 555 00 00"

    # The supplier's own validation (a mapping that leaves the phone out): its message is kept.
    mapping = {"body": {"reference": "reference", "shipTo.name": "ship_to.name", "shipTo.address": "ship_to.address",
                        "shipTo.city": "ship_to.zone"}}
    sb_ = add_supplier(store41, "beta", rest_forward(b, rest={"mapping": mapping}))
    link(store41, sb_, CANON, "BETA-CAN")
    order_id = market_order(store41, [("Product 3", 1)], remote_id="PKG-2")
    (o,) = Forwarder(store41).forward_order(order_id)
    row = supplier_orders(store41)[sb_]
    assert row["state"] == "failed" and "shipTo.phone" in row["last_error"] and "HTTP 422" in row["last_error"]
    assert b.orders() == []

    # Settings the merchant got wrong: said on the order, nothing sent anywhere.
    add_supplier(store41, "gamma", '{"mode": "fax"}')
    gid = int(store41.one("SELECT supplier_id FROM {p}kervan_supplier WHERE code = 'gamma'")["supplier_id"])
    link(store41, gid, 28, "G-1")
    order_id = market_order(store41, [("Product 1", 1)], remote_id="PKG-3")
    (o,) = Forwarder(store41).forward_order(order_id)
    assert o.state == "failed" and "forward mode must be one of rest, email" in o.error


def test_wrong_token_is_permanent(store41, two):
    a, _ = two
    forward = rest_forward(a)
    forward["rest"]["auth"]["token"] = "not-the-token-1234"
    sid = add_supplier(store41, "alfa", forward)
    link(store41, sid, IPHONE, "ALFA-IPH")
    (o,) = Forwarder(store41).forward_order(market_order(store41, [("product 11", 1)]))
    assert o.state == "failed" and "HTTP 401" in o.error and "not-the-token-1234" not in o.error


def test_5xx_and_lost_answers_are_retried_with_the_same_key(store41, two):
    a, _ = two
    sid = add_supplier(store41, "alfa", rest_forward(a, rest={"timeout": 1}))
    link(store41, sid, IPHONE, "ALFA-IPH")
    order_id = market_order(store41, [("product 11", 1)])
    a.faults.set("create_order", error_rate=1.0, error_status=503)
    with pytest.raises(TransientError):
        Forwarder(store41).forward_order(order_id)
    row = supplier_orders(store41)[sid]
    assert row["state"] == "reserved" and row["last_error"].startswith("will retry") and row["attempts"] == 1
    assert a.orders() == []
    # The supplier takes the order but the answer is lost: the next attempt asks again with the
    # same key and gets the same order back.
    a.faults.clear()
    a.faults.set("create_order", lost_response_rate=1.0)
    with pytest.raises(TransientError):
        Forwarder(store41).forward_order(order_id)
    a.faults.clear()
    (o,) = Forwarder(store41).forward_order(order_id)
    (held,) = a.orders()
    # (JsonHttp retried the lost answers within its budget too: every repeat was a replay.)
    assert o.state == "sent" and o.remote_id == held["orderId"] and held["replays"] >= 1
    keys = {r["idempotencyKey"] for r in posts(a)}
    assert keys == {row["idempotency_key"]}


def test_the_json_mapping_puts_fields_where_the_supplier_wants_them(store41):
    settings = parse({"mode": "rest", "rest": {"base_url": "http://x", "mapping": {
        "body": {"po": "reference", "customer.contact.gsm": "ship_to.telephone", "channel": {"const": "kervan"},
                 "customer.fullName": "ship_to.name", "missing": "ship_to.nothing"},
        "lines_at": "order.rows",
        "line": {"sku": "supplier_code", "adet": "quantity"}}}})
    document = {"reference": "7-1", "ship_to": {"telephone": "0555", "name": "Ali Veli"},
                "lines": [{"supplier_code": "S-1", "quantity": 3}, {"supplier_code": "S-2", "quantity": 1}]}
    assert map_order(document, settings.rest) == {
        "po": "7-1", "customer": {"contact": {"gsm": "0555"}, "fullName": "Ali Veli"}, "channel": "kervan",
        "order": {"rows": [{"sku": "S-1", "adet": 3}, {"sku": "S-2", "adet": 1}]}}
    with pytest.raises(ForwardSettingsError, match="rest.auth"):
        parse({"mode": "rest", "rest": {"base_url": "http://x", "auth": {"type": "bearer"}}})
    with pytest.raises(ForwardSettingsError, match="email.to"):
        parse({"mode": "email", "email": {"from": "a@b.c"}})


# -- e-mail ---------------------------------------------------------------------------------------
class _Sink:
    """aiosmtpd handler keeping every message it accepted."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Controller, _Sink]]:
    sink = _Sink()
    with socket.socket() as probe:  # aiosmtpd's ready check cannot connect to port 0: pick one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, sink
    finally:
        controller.stop()


def email_forward(controller: Controller) -> dict:
    return {"mode": "email", "trigger_status_ids": [2],
            "email": {"to": "siparis@tedarikci.example", "from": "orders@magaza.example",
                      "smtp": {"host": "127.0.0.1", "port": controller.port, "timeout": 5}}}


def test_an_email_supplier_gets_one_mail_with_a_csv_of_the_lines(store, smtp):
    controller, sink = smtp
    sid = add_supplier(store, "posta", email_forward(controller))
    link(store, sid, IPHONE, "P-İPH-1")
    link(store, sid, CANON, "P-CAN-2")
    order_id = market_order(store, [("product 11", 2), ("Product 3", 1)])
    (o,) = Forwarder(store).forward_order(order_id)
    assert o.state == "sent"
    (msg,) = sink.messages
    row = supplier_orders(store)[sid]
    assert msg["Message-ID"] == f"<kervan-{row['idempotency_key']}@magaza.example>" == row["remote_id"]
    assert msg["To"] == "siparis@tedarikci.example" and f"{order_id}-{sid}" in msg["Subject"]
    text = msg.get_body(("plain",)).get_content()
    assert "Şükrü Öztürk" in text and "05321234567" in text and "2 x P-İPH-1" in text
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename() == f"{order_id}-{sid}.csv"
    assert attachment.get_content_type() == "text/csv" and attachment.get_content_charset() == "utf-8"
    raw = attachment.get_payload(decode=True)
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel shows the Turkish letters right
    rows = raw.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("reference;line_ref;supplier_code")
    cells = [dict(zip(rows[0].split(";"), r.split(";"), strict=True)) for r in rows[1:]]
    assert [(c["supplier_code"], c["quantity"], c["ship_phone"]) for c in cells] == [
        ("P-İPH-1", "2", "05321234567"), ("P-CAN-2", "1", "05321234567")]
    # Sent once: the event again sends no second mail.
    Forwarder(store).forward_order(order_id)
    assert len(sink.messages) == 1


def test_a_mail_resent_after_a_crash_carries_the_same_message_id(store41, smtp):
    """SMTP has no idempotency key: a crash after the server's 250 and before the row's update
    resends, and the resend is recognisable as the same order mail by its Message-ID."""
    controller, sink = smtp
    sid = add_supplier(store41, "posta", email_forward(controller))
    link(store41, sid, IPHONE, "P-1")
    order_id = market_order(store41, [("product 11", 1)])
    Forwarder(store41).forward_order(order_id)
    # What such a crash leaves behind: the row still reserved under its key.
    store41.execute("UPDATE {p}kervan_supplier_order SET state = 'reserved', remote_id = NULL")
    Forwarder(store41).forward_order(order_id)
    first, second = sink.messages
    assert first["Message-ID"] == second["Message-ID"] == supplier_orders(store41)[sid]["remote_id"]


def test_an_unreachable_smtp_server_is_transient(store41, smtp):
    controller, _sink = smtp
    forward = email_forward(controller)
    forward["email"]["smtp"]["port"] = 1  # nothing listens there
    sid = add_supplier(store41, "posta", forward)
    link(store41, sid, IPHONE, "P-1")
    order_id = market_order(store41, [("product 11", 1)])
    with pytest.raises(TransientError, match="unreachable"):
        Forwarder(store41).forward_order(order_id)
    assert supplier_orders(store41)[sid]["state"] == "reserved"


def test_the_forward_document_has_the_minimum_fields(store41):
    sid = add_supplier(store41, "alfa", {"mode": "rest", "rest": {"base_url": "http://127.0.0.1:9"}})
    link(store41, sid, IPHONE, "ALFA-IPH", cost="12.3400")
    order_id = market_order(store41, [("product 11", 3)])
    order = store41.one("SELECT * FROM {p}order WHERE order_id = %s", (order_id,))
    from workers.suppliers.forward import supplier_lines

    doc = build_document(store41, order, supplier_lines(store41, order_id)[sid], sid)
    assert doc["reference"] == f"{order_id}-{sid}" and doc["order_id"] == order_id and doc["order_date"]
    assert doc["ship_to"]["telephone"] == "05321234567" and doc["ship_to"]["country_code"] == "TR"
    (line,) = doc["lines"]
    assert (line["supplier_code"], line["quantity"], line["unit_cost"]) == ("ALFA-IPH", 3, "12.34")


# -- a real worker process killed mid-forward ------------------------------------------------------
def test_killed_between_reserve_and_record_the_supplier_still_has_one_order(store, two, amqp_url, cfg_factory,
                                                                           tmp_path):
    a, b = two
    sa = add_supplier(store, "alfa", rest_forward(a))
    sb_ = add_supplier(store, "beta", rest_forward(b, rest={"timeout": 60}))
    link(store, sa, IPHONE, "ALFA-IPH")
    link(store, sb_, CANON, "BETA-CAN")
    # Beta stores the order and then keeps its answer back: the worker is inside the call, after
    # the reservation committed and before the record, when it is killed.
    b.configure(hold_after_create=120)
    cfg = cfg_factory(store, amqp_url, suppliers={"roles": "dropship"},
                      worker={"retry_tiers": "1,2,3"}, dropship={"sweep_interval": "3600"})
    relay = Proc(cfg, "relay", log_dir=tmp_path)
    worker = Proc(cfg, "worker", "dropship", log_dir=tmp_path)
    try:
        order_id = market_order(store, [("product 11", 1), ("Product 3", 1)])
        from bridge import outbox
        from bridge.envelope import Event

        outbox.write_many(store, [Event("order.status_changed", "order", str(order_id),
                                        {"order_id": order_id, "old_status_id": 0, "new_status_id": 2})])
        assert wait_until(lambda: len(b.orders()) == 1, 60), worker.log()[-3000:]
        rows = supplier_orders(store)
        assert rows[sa]["state"] == "sent" and rows[sb_]["state"] == "reserved"
        worker.kill9()

        b.configure(hold_after_create=0)
        worker = Proc(cfg, "worker", "dropship", log_dir=tmp_path)
        assert wait_until(lambda: supplier_orders(store)[sb_]["state"] == "sent", 60), worker.log()[-3000:]
    finally:
        worker.term()
        relay.term()
    rows = supplier_orders(store)
    (ao,), (bo,) = a.orders(), b.orders()
    assert rows[sa]["remote_id"] == ao["orderId"] and rows[sb_]["remote_id"] == bo["orderId"]
    # Beta saw the order twice, under one key, and made one order of it; alfa was not asked again.
    assert [r["idempotencyKey"] for r in posts(b)] == [rows[sb_]["idempotency_key"]] * 2 and bo["replays"] == 1
    assert len(posts(a)) == 1
