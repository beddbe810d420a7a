"""Catalogue reads from a MariaDB replica (``[database] read_url``), never staler than the primary.

A catalog worker reads a product's truth right after the event that changed it. A replica that
lags would hand it the old stock, the worker would send that, and nothing would correct it later.
So before each product read the primary's committed position (``@@gtid_binlog_pos``) is taken and
the replica waits for it (``MASTER_GTID_WAIT``): what the replica then shows is at least what the
primary held when asked, the same guarantee a read from the primary gives. A replica that does not
catch up within ``[database] read_wait`` seconds, or does not answer, is passed over for that read
and the primary answers it. Writes, locks and anything that must see its own writes stay on the
primary; only ``ProductReader`` reads come here."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from loguru import logger

from bridge.db import Database

# After the replica failed to answer, reads skip it for this long: a replica that is down (or
# whose host drops packets, costing a connect timeout each time) must not slow every read.
REPLICA_BACKOFF_SECONDS = 30.0


class FreshReads:
    def __init__(self, primary: Database, replica: Database, *, wait_seconds: float = 1.0) -> None:
        self.primary = primary
        self.replica = replica
        self.wait_seconds = wait_seconds
        self.served: Counter[str] = Counter()  # "replica" / "primary": where reads went
        self._skip_until = 0.0

    @classmethod
    def from_config(cls, cfg: Any, primary: Database) -> FreshReads | None:
        """None when no ``read_url`` is set (or it is the primary's own url)."""
        url = cfg.get("database", "read_url").strip()
        if not url or url == cfg.get("database", "url"):
            return None
        return cls(primary, Database(url, cfg.get("database", "prefix")),
                   wait_seconds=cfg.getfloat("database", "read_wait"))

    def db(self) -> Database:
        """Where to read OpenCart's catalogue now: the replica once it has applied everything the
        primary had committed at this moment, else the primary."""
        if time.monotonic() < self._skip_until:
            self.served["primary"] += 1
            return self.primary
        pos = (self.primary.one("SELECT @@gtid_binlog_pos AS pos") or {}).get("pos") or ""
        if not pos:
            # The primary writes no binary log, so no replica follows it that we could wait for.
            self.served["primary"] += 1
            return self.primary
        try:
            row = self.replica.one("SELECT MASTER_GTID_WAIT(%s, %s) AS caught_up", (pos, self.wait_seconds))
        except Exception as exc:  # noqa: BLE001 - a replica down is a slower read, not an error
            logger.warning("read replica unavailable, reading from the primary for {:.0f} s: {}",
                           REPLICA_BACKOFF_SECONDS, exc)
            self.replica.reset()
            self._skip_until = time.monotonic() + REPLICA_BACKOFF_SECONDS
            row = None
        if row is not None and row["caught_up"] == 0:
            self.served["replica"] += 1
            return self.replica
        self.served["primary"] += 1
        return self.primary

    def close(self) -> None:
        self.replica.close()
