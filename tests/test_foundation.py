"""Configuration, migrations, the event envelope and the database layer."""

from __future__ import annotations

import threading

import pytest

from bridge import config as kconfig
from bridge.db import Database
from bridge.envelope import Event, PoisonMessage
from bridge.migrate import available, migrate, split_statements
from tests.conftest import MYSQL_URL, unique

KERVAN_TABLES = {
    "kervan_outbox", "kervan_channel", "kervan_mapping", "kervan_listing", "kervan_batch", "kervan_batch_item",
    "kervan_order_link", "kervan_parked", "kervan_parked_part", "kervan_heartbeat", "kervan_migration", "kervan_processed",
    "kervan_category", "kervan_category_attribute", "kervan_cursor", "kervan_job_run",
    "kervan_supplier", "kervan_supplier_product", "kervan_feed_run", "kervan_feed_item", "kervan_supplier_order",
    "kervan_reconcile_report",
}


def test_config_file_then_environment(tmp_path):
    ini = tmp_path / "k.ini"
    ini.write_text("[database]\nurl = mysql://u:p@db:3306/shop\nprefix = ps_\n[relay]\nbatch_size = 42\n")
    cfg = kconfig.load(str(ini), environ={"KERVAN_RELAY_BATCH_SIZE": "7", "KERVAN_AMQP_URL": "amqp://x/y"})
    assert cfg.get("database", "url") == "mysql://u:p@db:3306/shop" and cfg.prefix == "ps_"
    assert cfg.getint("relay", "batch_size") == 7  # the environment wins over the file
    assert cfg.get("amqp", "url") == "amqp://x/y"
    assert cfg.getfloat("relay", "poll_interval") == 0.05  # untouched keys keep their defaults
    assert cfg.env()["KERVAN_DATABASE_PREFIX"] == "ps_"
    with pytest.raises(FileNotFoundError):
        kconfig.load(str(tmp_path / "missing.ini"), environ={})


def test_prefix_must_be_an_identifier():
    with pytest.raises(ValueError, match="table prefix"):
        Database("mysql://root:@127.0.0.1:3306/x", "oc_; DROP TABLE x")


def test_migrate_creates_every_table_once_even_when_run_concurrently():
    name = unique("kervan_test_mig")
    server = Database(MYSQL_URL, "oc_")
    server.execute(f"CREATE DATABASE `{name}`")
    db = Database(MYSQL_URL.rsplit("/", 1)[0] + "/" + name, "shop_")
    try:
        results: list[list[str]] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                results.append(migrate(Database(db.url, "shop_")))
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        versions = [m.version for m in available()]
        assert sorted(results, key=len) == [[], [], [], versions]  # exactly one run applied them
        tables = {r["t"] for r in db.query(
            "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()")}
        assert tables == {"shop_" + t for t in KERVAN_TABLES}  # the configured prefix is used
        engines = {r["engine"] for r in db.query(
            "SELECT engine FROM information_schema.tables WHERE table_schema = DATABASE()")}
        assert engines == {"InnoDB"}
        assert migrate(db) == []
        applied = db.query("SELECT version FROM {p}kervan_migration")
        assert [r["version"] for r in applied] == versions
    finally:
        server.execute(f"DROP DATABASE `{name}`")


def test_split_statements_keeps_each_statement_whole():
    sql = "-- comment\nCREATE TABLE a (x INT);\n\nCREATE TABLE b (\n  y INT\n);\n"
    assert split_statements(sql) == ["CREATE TABLE a (x INT)", "CREATE TABLE b (\n  y INT\n)"]


def test_envelope_round_trip_keeps_turkish_text():
    e = Event("product.saved", "product", "42", {"product_id": 42, "name": "İpek Şal"}, seq=7)
    back = Event.from_json(e.to_json())
    assert back == Event(**{**e.__dict__, "correlation_id": e.id})
    assert "İpek Şal".encode() in e.to_json()
    assert back.routing_key == "product.saved"
    assert Event("cmd.resync", "channel", "trendyol", {"channel": "trendyol"}).routing_key == "cmd.resync.trendyol"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"id": "1", "type": "product.saved"}', "lacks aggregate_type, aggregate_id"),
        (b'{"id": "1", "type": "nope", "aggregate_type": "p", "aggregate_id": "1"}', "unknown event type"),
        (b'{"id": "1", "type": "product.saved", "aggregate_type": "p", "aggregate_id": "1", "schema": 9}',
         "newer than this worker"),
    ],
)
def test_envelope_refuses_what_it_cannot_read(body, reason):
    with pytest.raises(PoisonMessage, match=reason):
        Event.from_json(body)


def test_transactions_roll_back_and_retry_after_a_lost_connection(store41):
    with pytest.raises(RuntimeError), store41.transaction() as cur:
        cur.execute("INSERT INTO {p}kervan_heartbeat (process_id, role, host, pid) VALUES ('a', 'r', 'h', 1)")
        raise RuntimeError("handler failed after writing")
    assert store41.one("SELECT COUNT(*) AS n FROM {p}kervan_heartbeat")["n"] == 0

    calls = []

    def work(cur):
        calls.append(1)
        cur.execute("INSERT INTO {p}kervan_heartbeat (process_id, role, host, pid) VALUES (%s, 'r', 'h', 1)",
                    (f"b{len(calls)}",))
        if len(calls) == 1:
            # The server drops us mid-transaction, as a MariaDB restart would.
            cur.execute("SELECT CONNECTION_ID() AS id")
            victim = cur.fetchone()["id"]
            killer = store41.connect()
            with killer.cursor() as k:
                k.execute("KILL %s", (victim,))
            killer.close()
            cur.execute("SELECT 1")
        return "done"

    assert store41.run_in_transaction(work) == "done"
    assert len(calls) == 2
    # The first attempt's insert died with its connection; only the retry's is there.
    rows = store41.query("SELECT process_id FROM {p}kervan_heartbeat")
    assert [r["process_id"] for r in rows] == ["b2"]
