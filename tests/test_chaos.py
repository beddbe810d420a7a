"""The reduced chaos run of `make chaos`: product edits, Trendyol orders (some cancelled),
storefront orders and supplier feed runs through the real fleet (two relays, two catalog workers,
two order pollers, the scheduler and the feeds worker) while every role is SIGKILLed, Trendyol
answers 5xx, 429 and slowly, and RabbitMQ restarts. After settling: nothing lost, no order or
listing duplicated or missing, stock lowered exactly once per order line, the feed's stock in
OpenCart, no drift on Trendyol, nothing parked."""

from __future__ import annotations

import os

import pytest

from bridge import config as kconfig
from kervan import chaos


# Two causes of drift found by this run are fixed and tested on their own: a late-recorded older
# batch blocking the release of a newer claim (test_binder.py), and A → B → A diffed against the
# confirmed A while B was in flight (test_catalog.py). KERVAN_SKIP_CHAOS=1 leaves it out.
@pytest.mark.chaos
@pytest.mark.skipif(os.environ.get("KERVAN_SKIP_CHAOS") == "1", reason="KERVAN_SKIP_CHAOS=1")
def test_reduced_chaos_keeps_every_invariant(tmp_path, capsys):
    result = chaos.run(kconfig.load(environ={}), duration=45, services=("rabbitmq",), fault_every=3, settle=180,
                       log_dir=tmp_path)
    chaos.print_table(result)
    assert result["edits"] > 50 and result["faults"] >= 5
    assert result["marketplace_orders"] > 20 and result["storefront_orders"] > 10
    assert result["orders"] > 0 and result["feed_runs_applied"] >= 2
    assert {"rabbitmq", "kill_catalog", "kill_orders"} <= set(result["fault_kinds"])
    assert {k: result[k] for k in chaos.INVARIANTS} == dict.fromkeys(chaos.INVARIANTS, 0)
