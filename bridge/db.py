"""MySQL/MariaDB access for Kervan: one connection per thread, parameterised SQL, transactions
that retry as a whole when the server goes away or picks them as a deadlock victim.

Table names are written ``{p}product`` and expanded with OpenCart's prefix; values are always
``%s`` parameters. The prefix comes from configuration and is checked to be a plain identifier,
so the expansion can never inject SQL.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

import pymysql
import pymysql.cursors
from loguru import logger

T = TypeVar("T")

# Connection lost / server gone / can't connect: the whole unit of work is safe to run again
# because nothing of it was committed.
LOST_CONNECTION = {2003, 2006, 2013, 2055, 1927, 4031}
# The server rolled the transaction back itself: run it again.
RETRYABLE_TXN = {1205, 1213}

_IDENT = re.compile(r"^[A-Za-z0-9_]*$")


@dataclass(frozen=True)
class DSN:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def parse(cls, url: str) -> DSN:
        u = urlparse(url)
        if u.scheme not in {"mysql", "mariadb"}:
            raise ValueError(f"database url must start with mysql:// (got {u.scheme!r})")
        return cls(
            host=u.hostname or "127.0.0.1",
            port=u.port or 3306,
            user=unquote(u.username or "root"),
            password=unquote(u.password or ""),
            database=(u.path or "/").lstrip("/"),
        )

    def safe(self) -> str:
        """The URL without the password, for messages and logs."""
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


def is_lost_connection(exc: BaseException) -> bool:
    if isinstance(exc, pymysql.err.InterfaceError):
        return True
    if isinstance(exc, pymysql.err.OperationalError | pymysql.err.InternalError):
        return bool(exc.args) and exc.args[0] in LOST_CONNECTION
    return isinstance(exc, ConnectionError | BrokenPipeError)


def is_retryable(exc: BaseException) -> bool:
    if is_lost_connection(exc):
        return True
    return isinstance(exc, pymysql.err.OperationalError) and bool(exc.args) and exc.args[0] in RETRYABLE_TXN


class Database:
    """Thread-local pymysql connections to one database with OpenCart's table prefix."""

    def __init__(self, url: str, prefix: str = "oc_", *, connect_timeout: float = 5.0) -> None:
        if not _IDENT.match(prefix):
            raise ValueError(f"table prefix {prefix!r} must be letters, digits and underscores")
        self.url = url
        self.dsn = DSN.parse(url)
        self.prefix = prefix
        self.connect_timeout = connect_timeout
        self._local = threading.local()

    # -- SQL text -----------------------------------------------------------------------------
    def sql(self, text: str) -> str:
        """Expand ``{p}`` to the table prefix. Only the prefix is spliced, never a value."""
        return text.replace("{p}", self.prefix)

    def table(self, name: str) -> str:
        if not _IDENT.match(name):
            raise ValueError(f"bad table name {name!r}")
        return f"`{self.prefix}{name}`"

    # -- connections --------------------------------------------------------------------------
    def connect(self, *, database: bool = True) -> pymysql.connections.Connection:
        return pymysql.connect(
            host=self.dsn.host,
            port=self.dsn.port,
            user=self.dsn.user,
            password=self.dsn.password,
            database=self.dsn.database if database else None,
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=self.connect_timeout,
            read_timeout=120,
            write_timeout=120,
            cursorclass=pymysql.cursors.DictCursor,
            # Kervan stores UTC everywhere; OpenCart's own NOW() columns use the server zone.
            init_command="SET time_zone = '+00:00'",
        )

    @property
    def conn(self) -> pymysql.connections.Connection:
        c = getattr(self._local, "conn", None)
        if c is None or not c.open:
            c = self.connect()
            self._local.conn = c
        return c

    def reset(self) -> None:
        """Drop this thread's connection (after an error that may have left it unusable)."""
        c = getattr(self._local, "conn", None)
        self._local.conn = None
        if c is not None:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing a broken socket may fail any way it likes
                pass

    def close(self) -> None:
        self.reset()

    # -- statements ---------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """A read, retried once on a lost connection (reads are idempotent)."""
        return list(self._read(sql, params, pymysql.cursors.DictCursor))

    def tuples(self, sql: str, params: Sequence[Any] | None = None) -> tuple[tuple, ...]:
        """A read like ``query`` whose rows are plain tuples: for hot paths that read many rows
        and know the column order (no dict built per row)."""
        return self._read(sql, params, pymysql.cursors.Cursor)

    def _read(self, sql: str, params: Any, cursor_class: type) -> Any:
        def run() -> Any:
            with self.conn.cursor(cursor_class) as cur:
                cur.execute(self.sql(sql), params)
                return cur.fetchall()

        return self._with_reconnect(run)

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> int:
        """One autocommitted statement. Not retried: the caller knows whether it is idempotent."""
        try:
            with self.conn.cursor() as cur:
                return cur.execute(self.sql(sql), params)
        except Exception as exc:
            if is_lost_connection(exc):
                self.reset()
            raise

    def _with_reconnect(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            if not is_lost_connection(exc):
                raise
            self.reset()
            return fn()

    @contextmanager
    def transaction(self) -> Iterator[pymysql.cursors.DictCursor]:
        """BEGIN … COMMIT on this thread's connection; ROLLBACK on any exception."""
        conn = self.conn
        cur = conn.cursor()
        try:
            conn.begin()
            yield _PrefixCursor(cur, self)
            conn.commit()
        except BaseException as exc:
            try:
                conn.rollback()
            except Exception:  # noqa: BLE001 - the connection may already be gone
                self.reset()
            if is_lost_connection(exc):
                self.reset()
            raise
        finally:
            try:
                cur.close()
            except Exception:  # noqa: BLE001
                pass

    def run_in_transaction(
        self,
        fn: Callable[[pymysql.cursors.DictCursor], T],
        *,
        attempts: int = 30,
        max_wait: float = 60.0,
    ) -> T:
        """Run ``fn(cursor)`` in a transaction, again from the start if the server went away or
        rolled it back (deadlock, lock wait). Gives up after ``max_wait`` seconds of trying."""
        started = time.monotonic()
        delay = 0.05
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as cur:
                    return fn(cur)
            except Exception as exc:
                if not is_retryable(exc) or attempt == attempts or time.monotonic() - started > max_wait:
                    raise
                logger.warning("database unavailable ({}), retrying transaction in {:.2f}s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")


class _PrefixCursor:
    """A cursor that expands ``{p}`` in every statement, so transaction code reads like the rest."""

    def __init__(self, cur: pymysql.cursors.DictCursor, db: Database) -> None:
        self._cur = cur
        self._db = db

    def execute(self, sql: str, params: Any = None) -> int:
        return self._cur.execute(self._db.sql(sql), params)

    def executemany(self, sql: str, seq: Any) -> int:
        return self._cur.executemany(self._db.sql(sql), seq)

    def fetchone(self) -> dict[str, Any] | None:
        return self._cur.fetchone()

    def fetchall(self) -> list[dict[str, Any]]:
        return list(self._cur.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def lastrowid(self) -> int:
        return self._cur.lastrowid


def from_config(cfg: Any) -> Database:
    return Database(cfg.get("database", "url"), cfg.get("database", "prefix"))
