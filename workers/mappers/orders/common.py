"""What the four order mappers share: reading marketplace numbers as ``Decimal``, names, dates,
the "latest copy wins" dedupe, the per-document guard that turns an odd document into a logged
skip, and how line states add up to an order state where a marketplace reports per line.

No HTTP, no database. Nothing here logs personal data: skip reasons name fields, never values
of names, addresses, phone numbers or e-mails.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

from loguru import logger

from workers.orders import model as m

# Where a marketplace does not say the VAT rate of a line: Turkey's general KDV rate, which
# nearly every product Kervan lists carries. The mapper's docstring says where it is used.
DEFAULT_VAT = Decimal(20)
CENT = Decimal("0.01")
OPENCART_PRECISION = Decimal("0.0001")  # decimal(15,4): finer unit prices would be cut anyway

# How far an order has come. Where a marketplace reports per line or per package, an order is
# as far as its least advanced live part (a parcel still being packed holds the order back);
# cancelled parts do not count unless everything is cancelled.
PROGRESS = {
    m.AWAITING: 0,
    m.CREATED: 1,
    m.PICKING: 2,
    m.INVOICED: 3,
    m.SHIPPED: 4,
    m.UNDELIVERED: 5,
    m.DELIVERED: 6,
    m.RETURNED: 7,
    m.CANCELLED: 8,  # highest: when one line is seen twice, a cancellation is the later news
}

T = TypeVar("T")


class Skip(ValueError):
    """A document (or the order it belongs to) that cannot be mapped. The message names fields
    only, never personal data, because it goes to the log."""


# -- values --------------------------------------------------------------------------------------


def text(value: Any) -> str:
    """A marketplace string, trimmed; None and non-scalars become ""."""
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return ""
    return str(value).strip()


def first_text(*values: Any) -> str:
    for value in values:
        found = text(value)
        if found:
            return found
    return ""


def amount(value: Any, what: str) -> Decimal:
    """A money value as ``Decimal`` without float drift: numbers go through their shortest text
    form (``120.1`` stays ``120.1``); ``{"amount"|"Amount": …}`` objects are unwrapped."""
    if isinstance(value, dict):
        inner = value.get("amount", value.get("Amount"))
        if inner is None:
            raise Skip(f"{what} has no amount")
        value = inner
    if value is None or isinstance(value, bool):
        raise Skip(f"{what} is missing")
    try:
        number = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise Skip(f"{what} is not a number") from None
    if not number.is_finite():
        raise Skip(f"{what} is not a number")
    return number


def amount_or(value: Any, what: str, default: Decimal | None = Decimal(0)) -> Decimal | None:
    """``amount`` where absence is normal (a discount nobody gave); a present but unreadable value
    still skips the document."""
    if value is None or (isinstance(value, dict) and value.get("amount", value.get("Amount")) is None):
        return default
    if isinstance(value, str) and not value.strip():
        return default
    return amount(value, what)


def quantity(value: Any, what: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool):
        raise Skip(f"{what} is not a whole number")
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise Skip(f"{what} is not a whole number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise Skip(f"{what} is not a whole number")
    qty = int(number)
    if qty < (0 if allow_zero else 1):
        raise Skip(f"{what} is {qty}")
    return qty


def per_unit(total: Decimal, qty: int) -> Decimal:
    """A line total spread over its units: to the cent when it divides evenly, else to OpenCart's
    four decimals (the line total then stays within a cent of the marketplace's)."""
    if qty <= 0:
        return Decimal(0) if not total else total
    unit = total / qty
    cents = unit.quantize(CENT, rounding=ROUND_HALF_UP)
    if cents * qty == total:
        return cents
    return unit.quantize(OPENCART_PRECISION, rounding=ROUND_HALF_UP)


def vat_rate(value: Any, what: str) -> Decimal:
    """A VAT rate in percent; absent → ``DEFAULT_VAT``. A fraction (0.2) is read as 20 %: some
    marketplaces document the rate without saying which form they send."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_VAT
    rate = amount(value, what)
    if rate < 0 or rate > 100:
        raise Skip(f"{what} is {rate}")
    if 0 < rate < 1:
        rate = rate * 100
    return Decimal(int(rate)) if rate == rate.to_integral_value() else rate


def split_name(full: Any) -> tuple[str, str]:
    """"Ayşe Nur Yılmaz" → ("Ayşe Nur", "Yılmaz"): Turkish marketplaces send one name field where
    OpenCart keeps two; the surname is the last word. Letters are kept as they are (İ, ı, ş, ğ)."""
    words = text(full).split()
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], ""
    return " ".join(words[:-1]), words[-1]


def join_unique(values: Iterable[Any], sep: str = ", ") -> str:
    out: list[str] = []
    for value in values:
        found = text(value)
        if found and found not in out:
            out.append(found)
    return sep.join(out)


def address_2(extra: Any, address_1: str) -> str:
    """The neighbourhood (mahalle) as the second address line unless the street line already
    names it."""
    found = text(extra)
    if not found or found.casefold() in address_1.casefold():
        return ""
    return found


def variant(pairs: Iterable[tuple[Any, Any]]) -> str:
    """"Renk: Kırmızı / Beden: M" out of (label, value) pairs, empty values left out."""
    parts = []
    for label, value in pairs:
        shown = text(value)
        if shown:
            name = text(label)
            parts.append(f"{name}: {shown}" if name else shown)
    return " / ".join(parts)


# -- dates ---------------------------------------------------------------------------------------


def from_epoch_ms(value: Any) -> datetime | None:
    """Epoch milliseconds (Trendyol, N11) as a UTC datetime; None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(int(Decimal(str(value))) / 1000, UTC)
    except (InvalidOperation, ValueError, OverflowError, OSError):
        return None


def from_iso(value: Any) -> datetime | None:
    """ISO 8601 (Amazon) as an aware datetime (naive = UTC); None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


# -- documents -----------------------------------------------------------------------------------


def skipped(code: str, remote_id: Any, reason: str) -> None:
    logger.bind(marketplace=code).warning("{} order {} skipped: {}", code, remote_id or "?", reason)


def reason_of(exc: BaseException) -> str:
    # Our own Skip texts name fields only; anything else is reported by type, since its message
    # could quote a customer's name or address out of the document.
    return str(exc) if isinstance(exc, Skip) else f"unexpected {type(exc).__name__}"


def latest(
    code: str,
    docs: Iterable[Any],
    key: Callable[[dict[str, Any]], Hashable | None],
    modified: Callable[[dict[str, Any]], Any],
) -> list[dict[str, Any]]:
    """One document per key, the one with the latest modification (a later copy wins a tie),
    in the order keys were first seen. Documents that are not objects or have no key are
    skipped with a warning."""
    chosen: dict[Hashable, tuple[Any, dict[str, Any]]] = {}
    for doc in docs:
        if not isinstance(doc, dict):
            skipped(code, None, "not a JSON object")
            continue
        try:
            k = key(doc)
        except Exception as exc:  # noqa: BLE001 - one odd document must not stop the others
            skipped(code, None, reason_of(exc))
            continue
        if k is None:
            skipped(code, None, "no order id")
            continue
        when = _sortable(modified(doc))
        held = chosen.get(k)
        if held is None or _newer_or_same(when, held[0]):
            chosen[k] = (when, doc)
    return [doc for _when, doc in chosen.values()]


def _sortable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return float(value)
    return None


def _newer_or_same(when: Any, held: Any) -> bool:
    if held is None:
        return True
    if when is None:
        return False
    return when >= held


def each(code: str, docs: Iterable[dict[str, Any]], remote_id: Callable[[dict[str, Any]], Any],
         convert: Callable[[dict[str, Any]], m.MarketOrder]) -> list[m.MarketOrder]:
    """``convert`` every document, skipping (with a warning naming the remote id) those it
    cannot map."""
    out = []
    for doc in docs:
        try:
            out.append(convert(doc))
        except Exception as exc:  # noqa: BLE001 - one odd document must not stop the others
            try:
                rid = remote_id(doc)
            except Exception:  # noqa: BLE001
                rid = None
            skipped(code, rid, reason_of(exc))
    return out


# -- states --------------------------------------------------------------------------------------


def order_state(states: Iterable[str]) -> str | None:
    """The state of an order made of parts in ``states``: its least advanced live part, or
    cancelled when every part is; None for no parts."""
    seen = list(states)
    if not seen:
        return None
    live = [s for s in seen if s != m.CANCELLED]
    if not live:
        return m.CANCELLED
    return min(live, key=lambda s: PROGRESS[s])


__all__ = [
    "DEFAULT_VAT",
    "PROGRESS",
    "Skip",
    "address_2",
    "amount",
    "amount_or",
    "each",
    "first_text",
    "from_epoch_ms",
    "from_iso",
    "join_unique",
    "latest",
    "order_state",
    "per_unit",
    "quantity",
    "reason_of",
    "skipped",
    "split_name",
    "text",
    "variant",
    "vat_rate",
]
