"""A leader lock on the OpenCart database (MariaDB ``GET_LOCK``) so that exactly one relay, or
one scheduler, is active while others stand by.

The lock belongs to a dedicated connection: when the holder dies (even by SIGKILL) the server
closes its connection and releases the lock, and a standby takes over within its poll interval.
"""

from __future__ import annotations

from loguru import logger

from bridge.db import Database, is_lost_connection


class LeaderLock:
    def __init__(self, db: Database, name: str) -> None:
        # Lock names are server-wide, so the database name keeps two stores on one server apart.
        self.name = f"{db.dsn.database}.{name}"[:64]
        self.db = db
        self._conn = None

    @property
    def held(self) -> bool:
        return self._conn is not None

    def try_acquire(self, wait: float = 0) -> bool:
        """Take the lock if it is free (waiting up to ``wait`` seconds)."""
        if self._conn is not None:
            return self.check()
        try:
            conn = self.db.connect()
            with conn.cursor() as cur:
                cur.execute("SELECT GET_LOCK(%s, %s) AS got", (self.name, wait))
                got = cur.fetchone()["got"] == 1
        except Exception as exc:
            if not is_lost_connection(exc):
                raise
            logger.warning("leader lock {}: database unreachable ({})", self.name, exc)
            return False
        if got:
            self._conn = conn
            logger.info("leader lock {} acquired", self.name)
        else:
            conn.close()
        return got

    def check(self) -> bool:
        """Still the holder? False (and the lock dropped) when the connection was lost."""
        if self._conn is None:
            return False
        try:
            with self._conn.cursor() as cur:
                cur.execute("SELECT IS_USED_LOCK(%s) = CONNECTION_ID() AS mine", (self.name,))
                if cur.fetchone()["mine"] == 1:
                    return True
        except Exception as exc:
            if not is_lost_connection(exc):
                raise
        logger.warning("leader lock {} lost", self.name)
        self.release()
        return False

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT RELEASE_LOCK(%s)", (self.name,))
        except Exception:  # noqa: BLE001 - closing the connection releases it anyway
            pass
        finally:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
