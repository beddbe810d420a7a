"""Numbers, money, VAT and stock words as Turkish supplier feeds write them.

``float(x.replace(',', '.'))`` is wrong for half the feeds in the wild (``1.071,68``, ``45,0000``,
``0.20`` KDV beside comma prices), so the rule is explicit (supplier-feeds.md fact 6): when both
``.`` and ``,`` occur the last one is the decimal separator; a lone ``,`` is decimal; a lone ``.``
is decimal unless the text is ``1.500``-shaped, which only the supplier's ``thousands_dot``
setting can decide. Results are ``Decimal``; rounding happens once, at the end, in ``quantize4``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

_SPACES = re.compile(r"[\s\u00a0\u202f']+")  # NBSP/narrow NBSP and Excel's ' guard are noise
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)*[.,]?\d*")
_DOT_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")
_COMMA_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")


class NumberError(ValueError):
    """The text is not a number in any of the accepted shapes; the message quotes it."""


def parse_decimal(text: str | int | Decimal, *, thousands_dot: bool = False) -> Decimal:
    """``'1.071,68'`` → 1071.68, ``'45,0000'`` → 45.0000, ``'-10,0000'`` → -10.0000,
    ``'1.500'`` → 1.500 (or 1500 with ``thousands_dot``), ``'1.500.000'`` → 1500000."""
    if isinstance(text, Decimal):
        return text
    if isinstance(text, int):
        return Decimal(text)
    raw = text
    s = _SPACES.sub("", text)
    sign = ""
    if s[:1] in ("+", "-"):
        sign, s = ("-" if s[0] == "-" else ""), s[1:]
    if not s or not _NUMBER.fullmatch(s) or s[0] in ".,":
        raise NumberError(f"{raw!r} is not a number")
    dot, comma = s.rfind("."), s.rfind(",")
    if dot >= 0 and comma >= 0:
        decimal_sep = "." if dot > comma else ","
        thousands = "," if decimal_sep == "." else "."
        head, _, tail = s.rpartition(decimal_sep)
        if decimal_sep in head or not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})*", head):
            raise NumberError(f"{raw!r} is not a number (mixed separators)")
        s = head.replace(thousands, "") + "." + tail
    elif comma >= 0:
        if s.count(",") > 1:
            if not _COMMA_THOUSANDS.fullmatch(s):
                raise NumberError(f"{raw!r} is not a number")
            s = s.replace(",", "")
        else:
            s = s.replace(",", ".")
    elif dot >= 0:
        if s.count(".") > 1:
            if not _DOT_THOUSANDS.fullmatch(s):
                raise NumberError(f"{raw!r} is not a number")
            s = s.replace(".", "")
        elif thousands_dot and _DOT_THOUSANDS.fullmatch(s):
            s = s.replace(".", "")
    if s.endswith("."):
        s = s[:-1]
    try:
        return Decimal(sign + s)
    except InvalidOperation as exc:  # pragma: no cover - the regexes above exclude it
        raise NumberError(f"{raw!r} is not a number") from exc


def quantize4(value: Decimal) -> Decimal:
    """Round half-up to OpenCart's ``decimal(15,4)`` — once, after every rule has been applied."""
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


# --- VAT ---------------------------------------------------------------------------------------

_HUNDRED = Decimal(100)


def parse_vat(text: str, *, thousands_dot: bool = False) -> Decimal:
    """KDV as a fraction: ``'20'``, ``'%20'``, ``'20 %'``, ``'18,00'`` → 0.20 / 0.18; ``'0.20'`` → 0.20.
    Below 1 the feed already wrote a fraction (no real rate is under 1 %); ``'1'`` is 1 %."""
    s = text.strip().replace("%", "").strip()
    value = parse_decimal(s, thousands_dot=thousands_dot)
    if value < 0 or value > _HUNDRED:
        raise NumberError(f"VAT rate {text!r} is outside 0–100 %")
    if value < 1:
        return value.normalize() if value else Decimal(0)
    return (value / _HUNDRED).normalize()


# --- currency ----------------------------------------------------------------------------------

CURRENCY_TOKENS: dict[str, str] = {
    "TL": "TRY", "TRY": "TRY", "YTL": "TRY", "₺": "TRY", "TR-TR": "TRY", "TL(TRY)": "TRY", "TRL": "TRY",
    "USD": "USD", "$": "USD", "US$": "USD", "DOLAR": "USD",
    "EUR": "EUR", "EURO": "EUR", "€": "EUR", "AVRO": "EUR",
    "GBP": "GBP", "£": "GBP", "STERLIN": "GBP",
}


def currency_code(token: str, extra: Mapping[str, str] | None = None) -> str:
    """Map a feed's currency token (``TL``, ``₺``, ``tr-TR``, ``EURO``, ``$``…) to ISO 4217; an
    unknown token is refused rather than guessed (a price in the wrong currency is worse than none)."""
    t = token.strip()
    if extra:
        for k, v in extra.items():
            if k.strip().upper() == t.upper():
                return v.upper()
    up = t.upper().replace(" ", "")
    if up in CURRENCY_TOKENS:
        return CURRENCY_TOKENS[up]
    raise NumberError(f"unknown currency {token!r}")


_MONEY = re.compile(r"^\s*(?P<pre>[^\d\s+-]*)\s*(?P<num>[+-]?[\d.,\s\u00a0']*\d[.,]?)\s*(?P<post>\S*)\s*$")


def parse_money(
    text: str, *, thousands_dot: bool = False, currencies: Mapping[str, str] | None = None
) -> tuple[Decimal, str | None]:
    """``'1800.13 TRY'`` → (1800.13, 'TRY'), ``'₺1.071,68'`` → (1071.68, 'TRY'), ``'45,00'`` → (45.00, None)."""
    m = _MONEY.match(text)
    if not m:
        raise NumberError(f"{text!r} is not a price")
    token = m.group("pre") or m.group("post")
    if m.group("pre") and m.group("post"):
        raise NumberError(f"{text!r} is not a price")
    value = parse_decimal(m.group("num"), thousands_dot=thousands_dot)
    return value, (currency_code(token, currencies) if token else None)


# --- stock words -------------------------------------------------------------------------------

_YES = {"var", "evet", "yes", "true", "1", "in stock", "in_stock", "instock", "stokta", "stokta var", "mevcut",
        "available", "preorder", "backorder", "ön sipariş", "aktif"}
_NO = {"yok", "hayır", "hayir", "no", "false", "0", "out of stock", "out_of_stock", "outofstock", "stokta yok",
       "tükendi", "tukendi", "mevcut değil", "pasif", "sold out", "discontinued"}


def tr_lower(text: str) -> str:
    """Turkish-aware lower case: ``I`` → ``ı`` and ``İ`` → ``i`` (``str.lower`` gets both wrong)."""
    return text.replace("I", "ı").replace("İ", "i").lower()


def parse_flag(text: str) -> bool:
    """``var``/``yok``, ``in stock``/``out_of_stock``, ``true``/``false``, ``evet``/``hayır`` → bool."""
    # Turkish folding for "STOKTA YOK", plain folding for "In Stock" (tr_lower makes it "ın stock").
    forms = {" ".join(tr_lower(text).split()), " ".join(text.lower().split())}
    if forms & _YES:
        return True
    if forms & _NO:
        return False
    raise NumberError(f"{text!r} is neither yes nor no")


def parse_quantity(text: str, *, thousands_dot: bool = False) -> tuple[int | None, bool | None]:
    """Stock as (quantity, in_stock): ``'12'``/``'12,00'`` → (12, True); ``'var'`` → (None, True);
    ``'yok'`` → (None, False); a negative figure counts as 0 (suppliers write -1 for "none")."""
    try:
        value = parse_decimal(text, thousands_dot=thousands_dot)
    except NumberError:
        return None, parse_flag(text)
    if value != value.to_integral_value():
        raise NumberError(f"stock {text!r} is not a whole number")
    qty = max(int(value), 0)
    return qty, qty > 0
