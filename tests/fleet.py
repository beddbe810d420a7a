"""Helpers for tests that run fleet processes for real (``kervan relay``, ``kervan worker``) and
read what reached the broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pika

ROOT = Path(__file__).resolve().parent.parent
KERVAN = [sys.executable, "-m", "kervan.cli"]


class Proc:
    """A fleet process started with the test's configuration; output goes to a log file."""

    def __init__(self, cfg, *args: str, log_dir: Path) -> None:
        self.args = args
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{'_'.join(args)}_{time.time_ns()}.log"
        env = {**os.environ, **cfg.env(), "PYTHONUNBUFFERED": "1"}
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in wait()
        self.p = subprocess.Popen([*KERVAN, *args], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.p.pid

    def kill9(self) -> None:
        self.p.send_signal(signal.SIGKILL)
        self.wait()

    def term(self, timeout: float = 60) -> int:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.p.wait(timeout)
        finally:
            self._log.close()

    def alive(self) -> bool:
        return self.p.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def drain(amqp_url: str, queue: str, idle: float = 1.0) -> list[dict]:
    """Consume everything in ``queue`` (acking) until it stays empty for ``idle`` seconds."""
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    out, last = [], time.monotonic()
    while time.monotonic() - last < idle:
        method, _props, body = ch.basic_get(queue)
        if method is None:
            time.sleep(0.05)
            continue
        out.append(json.loads(body))
        ch.basic_ack(method.delivery_tag)
        last = time.monotonic()
    conn.close()
    return out
