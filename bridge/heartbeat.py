"""Every fleet process writes a row to ``kervan_heartbeat`` every few seconds: role, channel,
host, pid, state and counters. ``kervan status`` and the admin read them to tell who is alive."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable

from loguru import logger

from bridge.db import Database


class Heartbeat:
    def __init__(self, db: Database, role: str, channel: str = "", interval: float = 5.0) -> None:
        self.db = db
        self.role = role
        self.channel = channel
        self.interval = interval
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.process_id = f"{self.host}:{self.pid}:{role}:{channel}"[:128]
        self.counters: Counter[str] = Counter()
        self.state = "starting"
        self.state_fn: Callable[[], str] | None = None
        # Values read at each beat (e.g. breaker_open), stored beside the counters.
        self.gauges: dict[str, Callable[[], int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] += n

    def beat(self) -> None:
        state = self.state_fn() if self.state_fn else self.state
        values = dict(self.counters)
        for name, fn in self.gauges.items():
            try:
                values[name] = int(fn())
            except Exception:  # noqa: BLE001 - a gauge that cannot be read is left out
                pass
        self.db.execute(
            "INSERT INTO {p}kervan_heartbeat (process_id, role, channel, host, pid, state, counters)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE state = VALUES(state),"
            " counters = VALUES(counters), last_seen = CURRENT_TIMESTAMP(6)",
            (self.process_id, self.role, self.channel, self.host, self.pid, state,
             json.dumps(values, sort_keys=True)),
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - a missed beat must never stop the process
                logger.warning("heartbeat not written: {}", exc)
            self._stop.wait(self.interval)

    def start(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.role}", daemon=True)
        self._thread.start()
        return self

    def stop(self, final_state: str = "stopped") -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.state_fn = None
        self.state = final_state
        try:
            self.beat()
        except Exception as exc:  # noqa: BLE001
            logger.warning("final heartbeat not written: {}", exc)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds passed (for processes and tests)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
