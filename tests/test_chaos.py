"""The reduced chaos run of `make chaos` in `make test`: the mixed load — product edits, Trendyol
orders (some cancelled by the customer), storefront orders and supplier feed runs — through the
real fleet (two relays, two catalog workers, two order pollers, the scheduler, the feeds worker)
while every role is SIGKILLed in turn, Trendyol answers 5xx, 429 and slowly, and RabbitMQ
restarts. After settling: nothing lost, nothing duplicated, no order missing, stock lowered once
per live line, the last feed's stock held, no drift, nothing parked."""

from __future__ import annotations

import os

import pytest

from bridge import config as kconfig
from kervan import chaos


# Causes of drift this run found are fixed and tested on their own (test_binder.py,
# test_catalog.py, test_coalescing.py, test_order_writer.py). KERVAN_SKIP_CHAOS=1 leaves it out.
@pytest.mark.chaos
@pytest.mark.skipif(os.environ.get("KERVAN_SKIP_CHAOS") == "1", reason="KERVAN_SKIP_CHAOS=1")
def test_reduced_chaos_keeps_every_invariant(tmp_path, capsys):
    result = chaos.run(kconfig.load(environ={}), duration=45, services=("rabbitmq",), fault_every=3, settle=180,
                       log_dir=tmp_path)
    chaos.print_table(result)
    assert result["edits"] > 50 and result["faults"] >= 8
    assert result["marketplace_orders"] > 20 and result["marketplace_cancels"] > 0
    assert result["storefront_orders"] > 10 and result["feed_runs_applied"] >= 2
    assert {"rabbitmq", "kill_catalog", "kill_orders", "kill_relay", "sandbox_5xx"} <= set(result["fault_kinds"])
    assert {k: result[k] for k in chaos.INVARIANTS} == dict.fromkeys(chaos.INVARIANTS, 0)
