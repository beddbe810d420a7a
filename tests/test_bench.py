"""The benchmark runner runs (tiny sizes). Figures are not asserted: this machine is noisy, and
speed is proved by `make bench`, which compares against a baseline measured in the same run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kervan.procs import ROOT


def test_bench_runner_runs_and_records_every_benchmark(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench.run", "--tiny", "--out", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    [result_file] = tmp_path.glob("*-tiny.json")
    data = json.loads(result_file.read_text())
    relay = data["results"]["outbox_relay"]
    assert relay["events"] == 300 and relay["kervan_per_s"] > 0 and relay["baseline_per_s"] > 0
    assert relay["ratio"] == pytest.approx(relay["kervan_per_s"] / relay["baseline_per_s"])
    assert "| outbox relay" in out.stdout
    if "hook_overhead" in data["results"]:
        assert data["results"]["hook_overhead"]["added_median_ms"] > 0
