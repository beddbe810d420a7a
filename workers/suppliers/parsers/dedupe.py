"""Which item keys a feed run has already yielded, in bounded memory.

Real feeds repeat codes (supplier-feeds.md fact 7). The rule is deterministic — the last record
wins, because the apply step upserts in feed order — and every repeat is reported. A Python set of
a million key strings would cost ~100 MB, more than the whole streaming parse; this open-addressing
table keeps a 64-bit hash and the record number per key: 12 bytes a slot, ~24 MB at a million."""

from __future__ import annotations

import hashlib
from array import array

_EMPTY = 0


def _hash64(key: str) -> int:
    # blake2b rather than hash(): stable across processes, so a report is reproducible.
    h = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")
    return h or 1


class SeenKeys:
    def __init__(self, capacity: int = 1 << 12) -> None:
        self._alloc(capacity)
        self.count = 0

    def _alloc(self, capacity: int) -> None:
        self.mask = capacity - 1
        self.hashes = array("Q", bytes(8 * capacity))
        self.records = array("I", bytes(4 * capacity))

    def add(self, key: str, record: int) -> int | None:
        """Remember ``key`` at ``record``; return the record it was last seen at, or None."""
        h = _hash64(key)
        i = h & self.mask
        hashes = self.hashes
        while True:
            slot = hashes[i]
            if slot == _EMPTY:
                break
            if slot == h:
                previous = self.records[i]
                self.records[i] = record
                return previous
            i = (i + 1) & self.mask
        hashes[i] = h
        self.records[i] = record
        self.count += 1
        if self.count * 2 > self.mask:
            self._grow()
        return None

    def _grow(self) -> None:
        old_h, old_r = self.hashes, self.records
        self._alloc((self.mask + 1) * 2)
        for h, r in zip(old_h, old_r, strict=True):
            if h != _EMPTY:
                i = h & self.mask
                while self.hashes[i] != _EMPTY:
                    i = (i + 1) & self.mask
                self.hashes[i] = h
                self.records[i] = r
