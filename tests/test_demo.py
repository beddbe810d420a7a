"""`kervan demo` end to end as a user runs it (a short form), and no secret in anything it logged."""

from __future__ import annotations

import base64
import subprocess
import sys

from kervan import demo_store
from kervan.procs import ROOT


def test_demo_runs_end_to_end_and_logs_no_secret(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "kervan.cli", "demo", "--products", "4", "--log-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "KERVAN_LOG_LEVEL": "DEBUG"},
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "4/4 listed on the sandbox Trendyol and written back" in out.stdout
    assert "DEMO OK" in out.stdout
    logs = [p.read_text(errors="replace") for p in tmp_path.glob("*.log")]
    assert len(logs) == 3 and all(logs)  # sandbox, relay, worker — at DEBUG, every request logged
    token = base64.b64encode(f"{demo_store.API_KEY}:{demo_store.API_SECRET}".encode()).decode()
    for text in [*logs, out.stdout, out.stderr]:
        for secret in (demo_store.API_SECRET, demo_store.API_KEY, token):
            assert secret not in text
