"""Fresh OpenCart databases from the shipped demo dumps, for the demo, the tests and benchmarks.

A dump is loaded once into a template database (keyed by the dump's checksum), and every fresh
database is a table-by-table copy of that template: a copy takes a fraction of a second where
replaying 10,000 single-row INSERTs takes seconds.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pymysql

from bridge.db import Database

HERE = Path(__file__).resolve().parent
DUMPS = {
    "4.1.0.4": HERE / "opencart4104_demo.sql",
    "4.0.2.3": HERE / "opencart4023_demo.sql",
}
_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def _server(url: str) -> Database:
    # The database part of the URL is irrelevant here: we create and drop databases.
    return Database(url, "oc_")


def _statements(dump: str) -> list[str]:
    # mysqldump escapes newlines inside string literals, so ";\n" only ever ends a statement.
    return [s.strip() for s in dump.split(";\n") if s.strip()]


def _check(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"bad database name {name!r}")
    return name


def _load(conn: pymysql.connections.Connection, database: str, dump_path: Path) -> None:
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{_check(database)}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.execute(f"USE `{database}`")
        cur.execute("SET autocommit = 0")
        for stmt in _statements(dump_path.read_text(encoding="utf-8")):
            # Lines starting with "--" inside a chunk are comments before the statement.
            body = "\n".join(ln for ln in stmt.splitlines() if not ln.startswith("--")).strip()
            if body:
                cur.execute(body)
        cur.execute("COMMIT")
        cur.execute("SET autocommit = 1")


def template(url: str, version: str) -> str:
    """Name of a template database holding the pristine dump of ``version`` (created on first use)."""
    dump = DUMPS[version]
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()[:12]
    name = f"kervan_tpl_{version.replace('.', '')}_{digest}"
    db = _server(url)
    conn = db.connect(database=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 300) AS got", (name,))
            try:
                cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
                if cur.fetchone() is None:
                    building = name + "_tmp"
                    cur.execute(f"DROP DATABASE IF EXISTS `{building}`")
                    _load(conn, building, dump)
                    # Publish the finished template under its real name by moving every table.
                    cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
                    cur.execute("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = %s", (building,))
                    tables = [r["t"] for r in cur.fetchall()]
                    cur.execute(
                        "RENAME TABLE " + ", ".join(f"`{building}`.`{t}` TO `{name}`.`{t}`" for t in tables)
                    )
                    cur.execute(f"DROP DATABASE `{building}`")
            finally:
                cur.execute("SELECT RELEASE_LOCK(%s)", (name,))
    finally:
        conn.close()
    return name


def create(url: str, database: str, version: str = "4.1.0.4") -> None:
    """Create ``database`` as a fresh copy of the OpenCart ``version`` demo store."""
    source = template(url, version)
    conn = _server(url).connect(database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{_check(database)}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cur.execute("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = %s", (source,))
            for row in cur.fetchall():
                t = row["t"]
                cur.execute(f"CREATE TABLE `{database}`.`{t}` LIKE `{source}`.`{t}`")
                # Identifiers only: a checked database name and table names from information_schema.
                cur.execute(f"INSERT INTO `{database}`.`{t}` SELECT * FROM `{source}`.`{t}`")  # noqa: S608
    finally:
        conn.close()


def drop(url: str, database: str) -> None:
    conn = _server(url).connect(database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{_check(database)}`")
    finally:
        conn.close()


def server_url(url: str, database: str) -> str:
    """``url`` pointing at ``database`` instead."""
    head, _, _ = url.rpartition("/")
    return f"{head}/{_check(database)}"
