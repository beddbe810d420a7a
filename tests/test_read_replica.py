"""Product reads from a MariaDB replica (``[database] read_url``, bridge/replica.py) on a real
primary and replica: two throw-away mariadbd servers on spare ports, the primary writing a binary
log, the replica following it by GTID, the OpenCart 4.1.0.4 demo store loaded into the primary.
While the replica lags (its SQL thread stopped) a read goes to the primary and sees the new stock;
once it has caught up, reads go to the replica; a catalog worker syncing a stock change while the
replica lags sends Trendyol the new stock, never the replica's old one."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from bridge import channels
from bridge import config as kconfig
from bridge.db import Database
from bridge.envelope import Event
from bridge.heartbeat import wait_until
from bridge.migrate import migrate
from bridge.replica import FreshReads
from kervan import demo_store
from sandbox import opencart
from sandbox.trendyol import TrendyolSandbox
from tests.test_catalog import listing, saved, settle
from workers.catalog import TrendyolCatalog
from workers.channels.trendyol import TrendyolClient

pytestmark = pytest.mark.skipif(shutil.which("mariadb-install-db") is None, reason="no mariadb-install-db")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(datadir: Path, port: int, server_id: int, *, binlog: bool) -> subprocess.Popen:
    # Its own tmpdir: a second server sharing /tmp with the machine's MariaDB may touch the other's
    # temporary table files (the machine's server crashed once in ha_maria::drop_table while a
    # throw-away server started beside it, both on /tmp).
    tmpdir = datadir.parent / f"{datadir.name}-tmp"
    tmpdir.mkdir()
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--user=root",
                    "--auth-root-authentication-method=normal", "--skip-test-db", f"--tmpdir={tmpdir}"],
                   check=True, capture_output=True, timeout=120)
    args = ["mariadbd", "--no-defaults", f"--datadir={datadir}", f"--port={port}", "--bind-address=127.0.0.1",
            f"--socket={datadir}/sock", f"--pid-file={datadir}/pid", f"--server-id={server_id}", "--user=root",
            f"--tmpdir={tmpdir}",
            "--innodb-buffer-pool-size=64M", "--skip-log-error", "--log-error=" + str(datadir / "error.log")]
    if binlog:
        args += [f"--log-bin={datadir}/bin", "--binlog-format=ROW"]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _connect(port: int) -> pymysql.Connection | None:
    try:
        return pymysql.connect(host="127.0.0.1", port=port, user="root", password="", autocommit=True)
    except pymysql.MySQLError:
        return None


@pytest.fixture(scope="module")
def replication(tmp_path_factory) -> Iterator[tuple[str, str, pymysql.Connection]]:
    """(primary url, replica url, an admin connection to the replica)."""
    root = tmp_path_factory.mktemp("replication")
    p_port, r_port = free_port(), free_port()
    procs = [_server(root / "primary", p_port, 1, binlog=True), _server(root / "replica", r_port, 2, binlog=False)]
    try:
        assert wait_until(lambda: _connect(p_port) is not None and _connect(r_port) is not None, 60)
        admin = _connect(r_port)
        with admin.cursor() as cur:
            cur.execute(f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={p_port}, MASTER_USER='root',"
                        " MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos")
            cur.execute("START SLAVE")
        yield f"mysql://root:@127.0.0.1:{p_port}/mysql", f"mysql://root:@127.0.0.1:{r_port}/mysql", admin
        admin.close()
    finally:
        for p in procs:
            p.terminate()
            p.wait(60)


@pytest.fixture
def stores(replication) -> Iterator[tuple[Database, Database, pymysql.Connection]]:
    primary_url, replica_url, admin = replication
    name = "kervan_replica_test"
    opencart.create(primary_url, name, "4.1.0.4")
    primary = Database(opencart.server_url(primary_url, name), "oc_")
    migrate(primary)
    replica = Database(opencart.server_url(replica_url, name), "oc_")
    assert wait_until(lambda: _replicated(primary, replica), 60)
    try:
        yield primary, replica, admin
    finally:
        with admin.cursor() as cur:
            cur.execute("START SLAVE SQL_THREAD")
        primary.close()
        replica.close()
        opencart.drop(primary_url, name)


def _replicated(primary: Database, replica: Database) -> bool:
    pos = primary.one("SELECT @@gtid_binlog_pos AS p")["p"]
    try:
        return replica.one("SELECT MASTER_GTID_WAIT(%s, 0.5) AS w", (pos,))["w"] == 0
    except pymysql.MySQLError:
        replica.reset()
        return False


def _lag(admin: pymysql.Connection) -> None:
    with admin.cursor() as cur:
        cur.execute("STOP SLAVE SQL_THREAD")


def _catch_up(admin: pymysql.Connection) -> None:
    with admin.cursor() as cur:
        cur.execute("START SLAVE SQL_THREAD")


def _qty(db: Database, pid: int) -> int:
    return int(db.one("SELECT quantity FROM {p}product WHERE product_id = %s", (pid,))["quantity"])


def test_a_lagging_replica_is_passed_over_and_a_caught_up_one_serves(stores):
    primary, replica, admin = stores
    reads = FreshReads(primary, replica, wait_seconds=0.3)
    assert reads.db() is replica  # in step

    _lag(admin)
    primary.execute("UPDATE {p}product SET quantity = 4321 WHERE product_id = 40")
    assert _qty(replica, 40) != 4321  # the replica really is behind
    assert reads.db() is primary and _qty(reads.db(), 40) == 4321

    _catch_up(admin)
    assert reads.db() is replica and _qty(replica, 40) == 4321
    assert reads.served == {"replica": 2, "primary": 2}


def test_from_config_only_with_a_read_url_of_its_own(stores):
    primary, replica, _admin = stores
    cfg = kconfig.load(environ={})
    assert FreshReads.from_config(cfg.with_overrides({"database": {"read_url": ""}}), primary) is None
    same = cfg.with_overrides({"database": {"url": primary.url, "read_url": primary.url}})
    assert FreshReads.from_config(same, primary) is None
    reads = FreshReads.from_config(cfg.with_overrides({"database": {"read_url": replica.url, "read_wait": "0.2"}}),
                                   primary)
    assert reads is not None and reads.wait_seconds == 0.2
    reads.close()


def test_a_stock_change_synced_while_the_replica_lags_sends_the_new_stock(stores):
    primary, replica, admin = stores
    sb = TrendyolSandbox(batch_delay=0.05).start()
    try:
        demo_store.install(primary, sb.base_url)
        account = channels.get(primary, "trendyol")
        client = TrendyolClient(sb.base_url, account.seller_id, demo_store.API_KEY, demo_store.API_SECRET,
                                retry_budget=5)
        cat = TrendyolCatalog(primary, account, client, mapping_ttl=0,
                              replica=FreshReads(primary, replica, wait_seconds=0.3))
        cat.handle(saved(40))
        settle(primary, cat)
        sku = listing(primary, 40)["remote_sku"]

        _lag(admin)
        primary.execute("UPDATE {p}product SET quantity = 17 WHERE product_id = 40")
        cat.handle(Event("stock.changed", "product", "40", {"product_id": 40}))
        settle(primary, cat)
        assert sb.product(sku)["quantity"] == 17
        assert cat.replica.served["primary"] >= 1

        _catch_up(admin)
        primary.execute("UPDATE {p}product SET quantity = 18 WHERE product_id = 40")
        before = cat.replica.served["replica"]
        cat.handle(Event("stock.changed", "product", "40", {"product_id": 40}))
        settle(primary, cat)
        assert sb.product(sku)["quantity"] == 18
        assert cat.replica.served["replica"] == before + 1  # read from the replica, and fresh
    finally:
        sb.stop()


def test_a_replica_that_does_not_answer_is_skipped_for_a_while(stores):
    primary, _replica, _admin = stores
    gone = Database(f"mysql://root:@127.0.0.1:{free_port()}/kervan_replica_test", "oc_", connect_timeout=1)
    reads = FreshReads(primary, gone, wait_seconds=0.3)
    assert reads.db() is primary  # refused: the primary answers
    assert reads._skip_until > 0
    tried = reads._skip_until
    assert reads.db() is primary and reads._skip_until == tried  # not tried again at once
    assert reads.served == {"primary": 2}
