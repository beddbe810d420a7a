"""bridge/grouped.py: threads that ask while a read runs are read together next, each gets its
own value, nobody's read starts before its ask, and an error reaches every thread it concerns.
Also the product reader's use of it against the real OpenCart schema."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bridge.grouped import GroupedReads
from bridge.opencart import ProductReader


def _until(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


class _Source:
    """A load_many whose first call blocks until released, recording every group it was given."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.groups: list[list[int]] = []
        self.version = 0  # what "the database" holds now
        self.release = threading.Event()
        self.fail_on = fail_on

    def load_many(self, keys: list[int]) -> dict[int, tuple[int, int]]:
        self.groups.append(list(keys))
        seen = self.version
        if len(self.groups) == 1:
            self.release.wait(10)
        if self.fail_on is not None and self.fail_on in keys:
            raise RuntimeError(f"cannot read {self.fail_on}")
        return {k: (k, seen) for k in keys if k != 404}


def test_asks_made_during_a_read_are_read_together_next_and_each_gets_its_own():
    src = _Source()
    reads = GroupedReads(src.load_many)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(reads.get, 1)
        _until(lambda: len(src.groups) == 1)
        src.version = 1  # written after the first read began: later asks must see it
        rest = {k: pool.submit(reads.get, k) for k in (2, 3, 404, 3)}
        _until(lambda: len(reads._waiting) == 4)
        src.release.set()
        assert first.result(10) == (1, 0)
        assert {k: f.result(10) for k, f in rest.items()} == {2: (2, 1), 3: (3, 1), 404: None}
    # One read for the first ask, one for the four that waited (the key asked twice read once).
    assert src.groups == [[1], [2, 3, 404]]


def test_a_failed_read_raises_in_each_thread_of_its_group_and_the_next_group_still_reads():
    src = _Source(fail_on=2)
    reads = GroupedReads(src.load_many)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(reads.get, 1)
        _until(lambda: len(src.groups) == 1)
        failing = [pool.submit(reads.get, k) for k in (2, 5)]
        _until(lambda: len(reads._waiting) == 2)
        src.release.set()
        assert first.result(10) == (1, 0)
        for f in failing:
            with pytest.raises(RuntimeError, match="cannot read 2"):
                f.result(10)
    assert reads.get(7) == (7, 0)  # not stuck "busy" after the error


def test_groups_are_capped():
    src = _Source()
    reads = GroupedReads(src.load_many, max_group=2)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(reads.get, 1)
        _until(lambda: len(src.groups) == 1)
        rest = [pool.submit(reads.get, k) for k in (2, 3, 4, 5, 6)]
        _until(lambda: len(reads._waiting) == 5)
        src.release.set()
        assert [f.result(10)[0] for f in rest] == [2, 3, 4, 5, 6]
        first.result(10)
    assert [len(g) for g in src.groups] == [1, 2, 2, 1]


def test_the_product_reader_reads_products_of_many_threads_as_a_plain_read_would(store41):
    reader = ProductReader(store41)
    ids = [r["product_id"] for r in store41.query("SELECT product_id FROM {p}product ORDER BY product_id")] + [999999]
    asked = ids * 3
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(reader.get_grouped, asked))
    plain = ProductReader(store41)
    expected = {pid: plain.get(pid) for pid in ids}
    assert expected[999999] is None and sum(p is not None for p in expected.values()) == len(ids) - 1
    assert got == [expected[pid] for pid in asked]
