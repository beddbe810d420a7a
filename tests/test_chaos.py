"""The reduced chaos run of `make chaos` in `make test`: product edits through the real fleet (two
relays, two catalog workers) while workers and the relay are SIGKILLed, Trendyol answers 5xx, 429
and slowly, and RabbitMQ restarts. After settling: nothing lost, nothing duplicated, no drift,
nothing parked. The full `make chaos` adds Trendyol orders, storefront orders and feed runs (their
reduced form still fails now and then, see the issue note: it is not in `make test` until it holds)."""

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
    result = chaos.run(kconfig.load(environ={}), duration=40, services=("rabbitmq",), fault_every=3, settle=180,
                       log_dir=tmp_path, loads=("edits",))
    chaos.print_table(result)
    assert result["edits"] > 50 and result["faults"] >= 4
    assert {"rabbitmq", "kill_catalog", "sandbox_5xx"} <= set(result["fault_kinds"])
    assert {k: result[k] for k in chaos.INVARIANTS} == dict.fromkeys(chaos.INVARIANTS, 0)
