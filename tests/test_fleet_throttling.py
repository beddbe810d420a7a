"""Two worker processes sharing one marketplace account stay, together, within the marketplace's
published limit: each builds its client the way the fleet does (``workers.clients``, limiters in
Redis), both call as fast as they can, and the sandbox — which counts every request against the
real limit — never has to answer 429/403."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from bridge import channels
from kervan import demo_store
from kervan.procs import ROOT
from sandbox.hepsiburada import HepsiburadaSandbox
from sandbox.trendyol import TrendyolSandbox
from tests.conftest import REDIS_URL

SCRIPT = textwrap.dedent("""
    import sys, time
    from bridge import channels, config
    from bridge.db import from_config
    from workers.clients import build_client

    code, calls, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    cfg = config.load(path=None)
    client = build_client(cfg, channels.get(from_config(cfg), code))
    time.sleep(max(0.0, start_at - time.time()))
    for _ in range(calls):
        if code == "trendyol":
            client.category_attributes(1001)  # one endpoint, 50 requests / 10 s per seller
        else:
            client.categories()  # the catalog host, 100 requests / 1 s per merchant
    client.close()
""")


def run_pair(cfg_env: dict[str, str], code: str, calls: int) -> None:
    start_at = time.time() + 4.0  # both processes are up before either starts
    env = {**os.environ, **cfg_env, "KERVAN_LOG_LEVEL": "WARNING"}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, code, str(calls), str(start_at)], cwd=ROOT, env=env,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]


@pytest.mark.parametrize("code", ["trendyol", "hepsiburada"])
def test_two_processes_on_one_account_never_exceed_the_limit(code, store41, redis_prefix):
    if code == "trendyol":
        sb = TrendyolSandbox().start()  # Trendyol's limit: 50 requests per 10 s per endpoint
        demo_store.install(store41, sb.base_url)
        calls = 35  # 70 together: well over what one 10 s window admits
    else:
        sb = HepsiburadaSandbox().start()  # 100 requests per second on the catalog host
        demo_store.install_hepsiburada(store41, sb.base_url)
        calls = 150
    try:
        assert channels.get(store41, code) is not None
        run_pair({"KERVAN_DATABASE_URL": store41.url, "KERVAN_DATABASE_PREFIX": store41.prefix,
                  "KERVAN_REDIS_URL": REDIS_URL, "KERVAN_REDIS_PREFIX": redis_prefix}, code, calls)
        log = sb.request_log()
        served = [r for r in log["requests"] if r["method"] == "GET" and "__sandbox" not in r["path"]]
        assert len(served) >= 2 * calls
        refused = [r for r in served if r["status"] in (403, 429)]
        assert refused == [], f"{len(refused)} of {len(served)} requests were throttled by the sandbox"
    finally:
        sb.stop()
