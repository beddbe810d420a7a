"""Apply ``schema/migrations/NNNN_name.sql`` in order, once each, under a database lock.

Several hosts may run ``kervan migrate`` at the same moment (every unit's ExecStartPre): a
MariaDB ``GET_LOCK`` serialises them, and the applied versions live in ``kervan_migration``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from bridge.db import Database
from schema import MIGRATIONS_DIR

LOCK_NAME = "kervan_migrate"
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def statements(self, prefix: str) -> list[str]:
        return split_statements(self.text.replace("{prefix}", prefix))


def split_statements(sql: str) -> list[str]:
    """Split on semicolons that end a line; migration files keep one statement per block and
    no semicolons inside string literals at line ends."""
    lines = [ln for ln in sql.splitlines() if not ln.lstrip().startswith("--")]
    out, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(current).strip().rstrip(";").strip()
            if stmt:
                out.append(stmt)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        out.append(rest)
    return out


def available(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = _FILE.match(path.name)
        if not m:
            raise ValueError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(m.group(1), m.group(2), path))
    return found


def applied(db: Database) -> dict[str, str]:
    exists = db.one(
        "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = %s",
        (f"{db.prefix}kervan_migration",),
    )
    if not exists or not exists["n"]:
        return {}
    return {r["version"]: r["checksum"] for r in db.query("SELECT version, checksum FROM {p}kervan_migration")}


def migrate(db: Database, *, lock_timeout: int = 120) -> list[str]:
    """Apply what is missing; returns the versions applied by this call."""
    conn = db.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, %s) AS got", (f"{db.dsn.database}.{LOCK_NAME}", lock_timeout))
            if not cur.fetchone()["got"]:
                raise TimeoutError(f"another kervan migrate held the lock for {lock_timeout}s")
        try:
            done = applied(db)
            newly = []
            for mig in available():
                if mig.version in done:
                    if done[mig.version] != mig.checksum:
                        logger.warning("migration {} changed after it was applied", mig.version)
                    continue
                with conn.cursor() as cur:
                    for stmt in mig.statements(db.prefix):
                        cur.execute(stmt)
                    cur.execute(
                        db.sql("INSERT INTO {p}kervan_migration (version, name, checksum) VALUES (%s, %s, %s)"),
                        (mig.version, mig.name, mig.checksum),
                    )
                logger.info("applied migration {} {}", mig.version, mig.name)
                newly.append(mig.version)
            return newly
        finally:
            with conn.cursor() as cur:
                cur.execute("SELECT RELEASE_LOCK(%s)", (f"{db.dsn.database}.{LOCK_NAME}",))
    finally:
        conn.close()
