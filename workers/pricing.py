"""A channel's price rules: what the merchant charges on a marketplace, from OpenCart's price.

Settings (``kervan_channel.settings``, written by the admin's Rules page), applied in this order:
``price_markup_percent`` (e.g. 12.5), ``price_fixed_amount`` (added after the markup, e.g. a
commission cover), ``price_rounding`` ("0.99" or "0.90": the nearest such ending at or above),
``price_minimum`` (never below; 0 or absent: none).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ENDINGS = {"0.99": Decimal("0.99"), "0.90": Decimal("0.90"), ".99": Decimal("0.99"), ".90": Decimal("0.90")}


@dataclass(frozen=True)
class PriceRules:
    markup_percent: Decimal = Decimal(0)
    fixed: Decimal = Decimal(0)
    rounding: Decimal | None = None
    minimum: Decimal | None = None

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> PriceRules:
        raw = settings or {}
        rounding = raw.get("price_rounding")
        if rounding not in (None, "", *ENDINGS):
            raise ValueError(f"price rounding must be 0.99 or 0.90, not {rounding!r}")
        minimum = Decimal(str(raw.get("price_minimum") or 0))
        return cls(
            markup_percent=Decimal(str(raw.get("price_markup_percent") or 0)),
            fixed=Decimal(str(raw.get("price_fixed_amount") or 0)),
            rounding=ENDINGS.get(rounding) if rounding else None,
            minimum=minimum if minimum > 0 else None,
        )

    @property
    def active(self) -> bool:
        return bool(self.markup_percent or self.fixed or self.rounding is not None or self.minimum is not None)

    def apply(self, price: Decimal | float) -> Decimal:
        p = Decimal(str(price)) * (1 + self.markup_percent / 100) + self.fixed
        p = p.quantize(CENT, rounding=ROUND_HALF_UP)
        if self.rounding is not None:
            ending = self.rounding
            whole = p.to_integral_value(rounding=ROUND_FLOOR)
            candidate = whole + ending
            if candidate < p:
                candidate = (p - ending).to_integral_value(rounding=ROUND_CEILING) + ending
            p = candidate
        if self.minimum is not None and p < self.minimum:
            p = self.minimum
        return p


__all__ = ["PriceRules"]
