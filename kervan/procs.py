"""Start and stop fleet processes (``python -m kervan.cli …``) with a given configuration; used
by ``kervan demo``, the tests and the benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERVAN = [sys.executable, "-m", "kervan.cli"]


class Proc:
    """A fleet process started with ``cfg`` passed as KERVAN_* variables; output to a log file."""

    def __init__(self, cfg, *args: str, log_dir: Path) -> None:
        self.args = args
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{'_'.join(a.strip('-') for a in args)}_{time.time_ns()}.log"
        env = {**os.environ, **cfg.env(), "PYTHONUNBUFFERED": "1"}
        env.pop("KERVAN_CONFIG", None)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in wait()
        self.p = subprocess.Popen([*KERVAN, *args], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.p.pid

    def alive(self) -> bool:
        return self.p.poll() is None

    def kill9(self) -> None:
        self.p.send_signal(signal.SIGKILL)
        self.wait()

    def term(self, timeout: float = 60) -> int:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.wait()

    def wait(self, timeout: float | None = 60) -> int:
        try:
            return self.p.wait(timeout)
        finally:
            if self.p.poll() is not None:
                self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
