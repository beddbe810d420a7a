"""`kervan demo` end to end as a user runs it (a short form), and no secret in anything it logged."""

from __future__ import annotations

import base64
import subprocess
import sys

from kervan import demo_store
from kervan.procs import ROOT
from sandbox.amazon.reference import DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
from sandbox.hepsiburada import DEFAULT_MERCHANT
from sandbox.n11 import DEFAULT_APP_SECRET
from sandbox.supplier import api as supplier_api
from sandbox.supplier import feeds as supplier_feeds


def _basic(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


SECRETS = (
    demo_store.API_SECRET, demo_store.API_KEY, _basic(demo_store.API_KEY, demo_store.API_SECRET),
    DEFAULT_MERCHANT.password, _basic(DEFAULT_MERCHANT.username, DEFAULT_MERCHANT.password),
    DEFAULT_APP_SECRET, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN,
    supplier_feeds.PASSWORD, _basic(supplier_feeds.USERNAME, supplier_feeds.PASSWORD), supplier_feeds.TOKEN,
    supplier_api.DEFAULT_TOKEN,
)


def test_demo_runs_end_to_end_and_logs_no_secret(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "kervan.cli", "demo", "--products", "4", "--log-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "KERVAN_LOG_LEVEL": "DEBUG"},
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "16/16 listings held by the sandboxes and written back" in out.stdout
    for name in ("Trendyol", "Hepsiburada", "N11", "Amazon"):
        assert f"price of product 28 on {name}" in out.stdout
        assert any(line.split()[:4] == [name, "4", "4", "0"] for line in out.stdout.splitlines()), name
    assert "12 orders in OpenCart" in out.stdout  # three per marketplace
    assert "is the same in OpenCart and on all 4 marketplaces" in out.stdout
    assert "reported to Trendyol" in out.stdout
    assert "feed run  6 items → 6 created" in out.stdout
    assert "truncated quarantined: " in out.stdout
    assert "1 order at the supplier" in out.stdout and "Trendyol holds the tracking number" in out.stdout
    assert "DEMO OK" in out.stdout
    logs = [p.read_text(errors="replace") for p in tmp_path.glob("*.log")]
    # four sandboxes, the relay, four catalog, four orders, a feeds and a dropship worker — at DEBUG
    assert len(logs) == 15 and all(logs)
    for text in [*logs, out.stdout, out.stderr]:
        for secret in SECRETS:
            assert secret not in text
