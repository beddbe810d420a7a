"""The benchmark runner runs (tiny sizes). Figures are not asserted: this machine is noisy, and
speed is proved by `make bench`, which compares against a baseline measured in the same run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.run import BENCHMARKS, median_of
from kervan.procs import ROOT


def test_median_of_runs_is_taken_figure_by_figure():
    runs = [{"n": 1, "rates": [{"p50": 3.0}, {"p50": 1.0}], "name": "a"},
            {"n": 5, "rates": [{"p50": 1.0}, {"p50": 2.0}], "name": "b"},
            {"n": 2, "rates": [{"p50": 2.0}, {"p50": 9.0}], "name": "c"}]
    assert median_of(runs) == {"n": 2, "rates": [{"p50": 2.0}, {"p50": 2.0}], "name": "a"}
    assert median_of([{"p50": None}, {"p50": 1.0}]) == {"p50": None}  # a run that never got there stays visible


def test_bench_runner_runs_and_records_every_benchmark(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bench.run", "--tiny", "--out", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    [result_file] = tmp_path.glob("*-tiny.json")
    data = json.loads(result_file.read_text())
    results = data["results"]
    assert set(results) | {"hook_overhead"} == set(BENCHMARKS)  # hook_overhead needs php
    assert data["machine"]["cpus"] >= 1

    relay = results["outbox_relay"]
    assert relay["events"] == 300 and relay["kervan_per_s"] > 0 and relay["baseline_per_s"] > 0
    assert relay["ratio"] == pytest.approx(relay["kervan_per_s"] / relay["baseline_per_s"])

    orders = results["order_import"]
    assert orders["orders"] == 30 and orders["rows_per_order"] >= 5
    assert orders["ratio"] == pytest.approx(orders["kervan_per_s"] / orders["baseline_per_s"])

    (rate,) = results["stock_propagation"]["rates"]
    assert rate["changes"] > 0 and rate["missed"] == 0 and rate["p99_s"] >= rate["p50_s"] > 0
    assert results["stock_propagation"]["coalesce_window_s"] > 0
    assert rate["requests"] >= rate["minimum_requests"] >= 1
    # Amazon is in it, its minimum one patch per product changed, under a stated rate-limit factor.
    assert results["stock_propagation"]["channels"] == ["trendyol", "hepsiburada", "n11", "amazon"]
    assert results["stock_propagation"]["rate_scale"] >= 1
    assert rate["minimum_by_channel"]["amazon"] == min(rate["changes"], results["stock_propagation"]["products"])
    assert all(rate["requests_by_channel"][c] >= rate["minimum_by_channel"][c] >= 1
               for c in results["stock_propagation"]["channels"])
    assert all(v["missed"] == 0 for v in rate["by_channel"].values())

    bulk = results["bulk_listing"]
    assert bulk["synced"] == bulk["listings"] == 4 * bulk["products"]
    assert bulk["create_requests"] >= bulk["minimum_requests"] >= 4
    assert bulk["finished"] and set(bulk["finished_s_by_channel"]) == {"trendyol", "hepsiburada", "n11", "amazon"}
    assert all(bulk["create_requests_by_channel"][c] >= bulk["minimum_requests_by_channel"][c] >= 1
               for c in bulk["minimum_requests_by_channel"])
    assert bulk["rate_scale"] > 0 and bulk["per_item_floor_s"] >= bulk["batch_floor_s"] >= 0

    steps = results["scaling"]["steps"]
    assert [s["processes"] for s in steps] == [1, 2] and all(s["per_s"] > 0 for s in steps)
    # Partitioned catalog queues: two processes, each owning half of the partitions, both work.
    assert steps[1]["processes_that_worked"] == 2 and results["scaling"]["partitions"] > 1

    assert results["feed_import"]["items"] == 2000
    assert results["webhook_latency"]["missed"] == 0

    for line in ("| outbox relay", "| order import", "| stock change →", "| bulk listing", "| scaling:",
                 "| supplier feed import", "| order webhook"):
        assert line in out.stdout
    if "hook_overhead" in results:
        assert results["hook_overhead"]["added_median_ms"] > 0
