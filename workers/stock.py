"""A channel's stock rules: how much of OpenCart's stock a marketplace may sell.

Sellable = OpenCart quantity − ``stock_buffer``, never below 0, at most ``stock_maximum`` (the
merchant's cap; 0 or absent: none) and at most the marketplace's own cap (Trendyol 20,000). A
disabled product sells nothing. The keys are the ones the admin's Rules page writes into
``kervan_channel.settings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StockRules:
    buffer: int = 0
    maximum: int | None = None

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> StockRules:
        s = settings or {}
        buffer = int(s.get("stock_buffer") or 0)
        maximum = int(s.get("stock_maximum") or 0)
        if buffer < 0 or maximum < 0:
            raise ValueError("stock buffer and maximum must be 0 or more")
        return cls(buffer=buffer, maximum=maximum or None)

    def sellable(self, quantity: int, *, enabled: bool = True, cap: int | None = None) -> int:
        if not enabled:
            return 0
        q = quantity - self.buffer
        for limit in (self.maximum, cap):
            if limit is not None:
                q = min(q, limit)
        return max(0, q)


__all__ = ["StockRules"]
