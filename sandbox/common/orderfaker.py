"""Realistic, reproducible orders for the marketplace sandboxes.

``OrderFaker`` makes Turkish customers (names with Turkish letters, real il/ilçe pairs with their
postcodes, mobile numbers, e-mails) and picks 1–3 lines from the products a sandbox holds. It is a
hand-made table on a seeded ``random.Random``: no faker library, and the same seed and the same
products give the same orders on every machine.

``OrderGenerator`` drives one sandbox: N orders on demand, a background stream at a configurable
rate, and follow-ups for a share of the orders — the customer cancels, or the order moves on
(shipped, delivered) — each after a delay. It knows nothing about a marketplace: the sandbox hands
it five callables (see ``OrderGenerator.__init__``) built on its own order functions, so every
step obeys that marketplace's status rules.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# --- reference tables ----------------------------------------------------------------------------

FIRST_NAMES: tuple[str, ...] = (
    "Ayşe", "Fatma", "Emine", "Hatice", "Zeynep", "Elif", "Büşra", "Şule", "Gülşen", "Özlem",
    "Çiğdem", "Gökçe", "İrem", "Ebru", "Dilek", "Şeyma", "Tuğba", "Ümran", "Mehmet", "Mustafa",
    "Ahmet", "Hüseyin", "İbrahim", "Ömer", "Oğuz", "Çağrı", "Barış", "Gürkan", "Uğur", "Şükrü",
    "İsmail", "Onur", "Yiğit", "Doğan", "Ilgaz",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın", "Özdemir",
    "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt", "Özkan", "Şimşek",
    "Polat", "Erdoğan", "Güneş", "Akgün", "Türkmen", "Güler", "Uçar", "Bozkurt", "Ünal", "Çakır",
    "Ağaoğlu", "Işık", "İnce",
)  # fmt: skip


@dataclass(frozen=True)
class Place:
    province: str  # il
    plate: int  # the il's plate code, which is also the first two digits of its postcodes
    district: str  # ilçe
    postcode: str
    neighbourhoods: tuple[str, ...]  # mahalle


PLACES: tuple[Place, ...] = (
    Place("İstanbul", 34, "Kadıköy", "34710", ("Caferağa Mah.", "Moda Mah.", "Fenerbahçe Mah.")),
    Place("İstanbul", 34, "Üsküdar", "34664", ("Mimar Sinan Mah.", "Altunizade Mah.")),
    Place("İstanbul", 34, "Beşiktaş", "34353", ("Sinanpaşa Mah.", "Levent Mah.")),
    Place("İstanbul", 34, "Şişli", "34394", ("Esentepe Mah.", "Teşvikiye Mah.")),
    Place("Ankara", 6, "Çankaya", "06420", ("Kızılay Mah.", "Bahçelievler Mah.")),
    Place("Ankara", 6, "Keçiören", "06280", ("Etlik Mah.", "Kalaba Mah.")),
    Place("İzmir", 35, "Karşıyaka", "35540", ("Bostanlı Mah.", "Mavişehir Mah.")),
    Place("İzmir", 35, "Bornova", "35040", ("Kazımdirik Mah.", "Erzene Mah.")),
    Place("Bursa", 16, "Nilüfer", "16110", ("Görükle Mah.", "Beşevler Mah.")),
    Place("Antalya", 7, "Muratpaşa", "07100", ("Şirinyalı Mah.", "Güzeloba Mah.")),
    Place("Eskişehir", 26, "Tepebaşı", "26130", ("Hoşnudiye Mah.", "Şirintepe Mah.")),
    Place("Trabzon", 61, "Ortahisar", "61030", ("Kemerkaya Mah.", "Gazipaşa Mah.")),
    Place("Konya", 42, "Selçuklu", "42050", ("Bosna Hersek Mah.", "Yazır Mah.")),
    Place("Muğla", 48, "Bodrum", "48400", ("Çarşı Mah.", "Gümbet Mah.")),
    Place("Çanakkale", 17, "Merkez", "17100", ("İsmetpaşa Mah.", "Barbaros Mah.")),
    Place("Ağrı", 4, "Doğubayazıt", "04400", ("Ahmedi Hani Mah.", "Yenimahalle Mah.")),
    Place("Düzce", 81, "Akçakoca", "81650", ("Osmaniye Mah.", "Yalı Mah.")),
    Place("Şanlıurfa", 63, "Haliliye", "63050", ("Bahçelievler Mah.", "Yenişehir Mah.")),
)
STREETS: tuple[str, ...] = (
    "Atatürk Cd.", "Cumhuriyet Cd.", "İnönü Cd.", "Gül Sk.", "Çınar Sk.", "Menekşe Sk.",
    "Bağdat Cd.", "Şehit Öğretmen Sk.", "Kıbrıs Şehitleri Cd.", "Ihlamur Sk.", "Söğüt Sk.",
    "Üçler Sk.", "Değirmen Sk.",
)  # fmt: skip
# Building names are written in capitals on Turkish addresses, which is where Ğ, Ş, İ and I show up.
BUILDINGS: tuple[str, ...] = (
    "DOĞAN APT.", "YAĞMUR APT.", "ÇAĞLAYAN APT.", "IŞIK APT.", "ÖZGÜR SİTESİ", "GÜNEŞ APT.",
    "ŞEN APT.", "",
)  # fmt: skip
MOBILE_PREFIXES: tuple[str, ...] = (
    "530", "532", "533", "535", "536", "541", "542", "544", "505", "506", "507", "555"
)  # fmt: skip
MAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "hotmail.com", "outlook.com", "yandex.com.tr", "icloud.com")

_ASCII = str.maketrans({"ç": "c", "Ç": "c", "ğ": "g", "Ğ": "g", "ı": "i", "I": "i", "İ": "i",
                        "ö": "o", "Ö": "o", "ş": "s", "Ş": "s", "ü": "u", "Ü": "u"})  # fmt: skip


def ascii_fold(text: str) -> str:
    """Lower-case ASCII of a Turkish word, as people spell it in an e-mail address."""
    return text.translate(_ASCII).lower().replace(" ", "")


# --- what a fake order is made of -----------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    line1: str  # street, number, building, flat
    neighbourhood: str  # mahalle
    district: str  # ilçe
    province: str  # il
    province_code: int  # plate code
    postcode: str
    country_code: str = "TR"

    @property
    def full(self) -> str:
        return f"{self.line1} {self.neighbourhood} {self.district}/{self.province}"


@dataclass(frozen=True)
class Customer:
    customer_id: int
    first_name: str
    last_name: str
    email: str
    phone: str  # national format, 05XXXXXXXXX
    address: Address

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def phone_e164(self) -> str:
        return "+90" + self.phone[1:]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Offer:
    """A product the sandbox holds for the seller and sells now, as the generator sees it."""

    key: str  # what the marketplace's order lines name it by (barcode, merchant SKU, stock code, SKU)
    title: str
    price: float  # unit price the customer pays, VAT included
    stock: int
    variant: tuple[tuple[str, str], ...] = ()  # (attribute name, value), e.g. (("Renk", "Siyah"),)


@dataclass(frozen=True)
class Line:
    offer: Offer
    quantity: int


@dataclass(frozen=True)
class FakeOrder:
    customer: Customer
    lines: tuple[Line, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer": self.customer.as_dict(),
            "lines": [
                {"key": ln.offer.key, "quantity": ln.quantity, "variant": dict(ln.offer.variant)}
                for ln in self.lines
            ],
        }


class OrderFaker:
    """Customers and order lines from one seeded RNG: the same seed and the same offers give the
    same sequence of orders."""

    MAX_LINES = 3

    def __init__(self, seed: Hashable | None = None) -> None:
        self.rng = random.Random(seed)
        self._customer_ids = itertools.count(700_001)

    def customer(self) -> Customer:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        place = rng.choice(PLACES)
        building = rng.choice(BUILDINGS)
        line1 = f"{rng.choice(STREETS)} No:{rng.randint(1, 180)}" + (f" {building}" if building else "")
        line1 += f" D:{rng.randint(1, 24)}"
        address = Address(
            line1=line1,
            neighbourhood=rng.choice(place.neighbourhoods),
            district=place.district,
            province=place.province,
            province_code=place.plate,
            postcode=place.postcode,
        )
        phone = "0" + rng.choice(MOBILE_PREFIXES) + f"{rng.randint(0, 9_999_999):07d}"
        email = f"{ascii_fold(first)}.{ascii_fold(last)}{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}"
        return Customer(next(self._customer_ids), first, last, email, phone, address)

    def lines(self, offers: Iterable[Offer]) -> tuple[Line, ...]:
        """1–3 different offers with stock, each in a quantity (mostly 1) the stock covers; empty
        when nothing can be sold."""
        sellable = sorted((o for o in offers if o.stock > 0 and o.price > 0), key=lambda o: o.key)
        if not sellable:
            return ()
        rng = self.rng
        wanted = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
        chosen = rng.sample(sellable, min(wanted, len(sellable), self.MAX_LINES))
        return tuple(Line(o, min(o.stock, rng.choices((1, 2, 3), weights=(16, 3, 1))[0])) for o in chosen)

    def order(self, offers: Iterable[Offer]) -> FakeOrder | None:
        lines = self.lines(offers)
        if not lines:
            return None
        return FakeOrder(self.customer(), lines)


# --- the generator ---------------------------------------------------------------------------------


def _delay_range(value: Any, name: str) -> tuple[float, float]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"{name} must be seconds or [min, max]")
        low, high = float(value[0]), float(value[1])
    else:
        low = high = float(value)
    if low < 0 or low > high:
        raise ValueError(f"{name} must be seconds ≥ 0, or [min, max] with min ≤ max")
    return (low, high)


@dataclass
class GeneratorSettings:
    rate_per_minute: float = 0.0  # background orders per minute (Poisson arrivals); 0 = off
    cancel_share: float = 0.1  # share of orders the customer cancels later
    advance_share: float = 0.3  # share of orders that move on (shipped, delivered) later
    cancel_after: tuple[float, float] = (10.0, 120.0)  # seconds after the order, drawn uniformly
    advance_after: tuple[float, float] = (30.0, 300.0)  # seconds before each step forward

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    def update(self, **changes: Any) -> None:
        """Apply all of ``changes`` or none of them (values may be JSON or CLI strings)."""
        unknown = set(changes) - self.names()
        if unknown:
            raise ValueError(f"unknown order generator setting(s): {', '.join(sorted(unknown))}")
        merged = {**asdict(self), **changes}
        rate = float(merged["rate_per_minute"])
        cancel, advance = float(merged["cancel_share"]), float(merged["advance_share"])
        if rate < 0:
            raise ValueError("rate_per_minute must be ≥ 0")
        for name, share in (("cancel_share", cancel), ("advance_share", advance)):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if cancel + advance > 1.0 + 1e-9:
            raise ValueError("cancel_share + advance_share must not exceed 1")
        self.rate_per_minute, self.cancel_share, self.advance_share = rate, cancel, advance
        self.cancel_after = _delay_range(merged["cancel_after"], "cancel_after")
        self.advance_after = _delay_range(merged["advance_after"], "advance_after")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["cancel_after"] = list(self.cancel_after)
        out["advance_after"] = list(self.advance_after)
        return out


_FAILED = object()


@dataclass(order=True)
class _FollowUp:
    at: float
    seq: int
    kind: str = field(compare=False)  # "cancel" | "advance"
    order_id: Any = field(compare=False)


class OrderGenerator:
    """Orders for one sandbox seller, on demand and in the background.

    The sandbox supplies:

    - ``offers()``: its sellable products as ``Offer``s (on sale, stock > 0);
    - ``place(order)``: creates ``order`` through the sandbox's own order function (which lowers
      stock as that marketplace does) and returns its id (package id, order number…);
    - ``cancel(id)``: the customer cancels; False when the order's status no longer allows it;
    - ``advance(id)``: one step forward (e.g. Created → Shipped); True when a further step
      remains, False when this step was the last, None when the order cannot move (cancelled,
      returned…);
    - ``lock``: the sandbox's state lock, held from ``offers()`` to ``place()`` so that two orders
      can never sell the same last unit;
    - ``now``: the sandbox's clock (seconds), so ``advance_clock`` also brings follow-ups due.

    Follow-ups and the background rate run on one daemon thread between ``start`` and ``stop``;
    ``generate`` works without it. Failures in the background are counted, never raised.
    """

    HISTORY = 1000  # generated orders remembered for ``history()``
    TICK = 0.25  # the thread re-reads the sandbox clock at least this often (advance_clock)

    def __init__(
        self,
        *,
        offers: Callable[[], Sequence[Offer]],
        place: Callable[[FakeOrder], Any],
        cancel: Callable[[Any], bool],
        advance: Callable[[Any], bool | None],
        lock: Any,
        now: Callable[[], float] = time.time,
        seed: Hashable | None = None,
        name: str = "sandbox",
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self._offers, self._place, self._cancel, self._advance = offers, place, cancel, advance
        self._market_lock = lock
        self._now = now
        self._seed = seed
        self.name = name
        self.settings = GeneratorSettings()
        if settings:
            self.settings.update(**settings)
        # Lock order: the market lock (if needed) first, then this one; never call the sandbox
        # while holding this one.
        self._cond = threading.Condition(threading.Lock())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._in_flight = 0  # follow-ups taken off the queue and not finished yet (survives reset)
        self._reset_state()

    def _reset_state(self) -> None:
        seed = None if self._seed is None else f"orders:{self._seed}"
        self.faker = OrderFaker(seed)
        # Arrival gaps draw from their own RNG so that on-demand orders stay reproducible whatever
        # the background thread did in between.
        self._arrivals = random.Random(None if seed is None else f"{seed}:arrivals")
        self._delays = random.Random(None if seed is None else f"{seed}:delays")
        self._queue: list[_FollowUp] = []
        self._seq = itertools.count()
        self._next_order_at: float | None = None
        self._history: deque[dict[str, Any]] = deque(maxlen=self.HISTORY)
        self._counts = dict.fromkeys(("created", "cancelled", "advanced", "finished", "refused", "errors"), 0)
        self._last_error: str | None = None

    # --- control --------------------------------------------------------------------------------

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change ``GeneratorSettings`` (rate_per_minute, cancel_share, advance_share,
        cancel_after, advance_after); returns ``status()``."""
        with self._cond:
            old_rate = self.settings.rate_per_minute
            self.settings.update(**settings)
            rate = self.settings.rate_per_minute
            if rate <= 0:
                self._next_order_at = None
            elif old_rate <= 0 or self._next_order_at is None or rate != old_rate:
                self._next_order_at = self._now() + self._gap(rate)
            self._cond.notify_all()
        return self.status()

    def reset(self) -> None:
        """Forget follow-ups, history and counters and restart the seeded sequence (the settings,
        including a running rate, stay)."""
        with self._cond:
            self._reset_state()
            if self.settings.rate_per_minute > 0:
                self._next_order_at = self._now() + self._gap(self.settings.rate_per_minute)
            self._cond.notify_all()

    def status(self) -> dict[str, Any]:
        with self._cond:
            return {
                **self.settings.as_dict(),
                **self._counts,
                "pending": len(self._queue) + self._in_flight,
                "running": self._thread is not None,
                "lastError": self._last_error,
            }

    def history(self) -> list[dict[str, Any]]:
        """The last generated orders: ``{id, customer, lines: [{key, quantity, variant}], fate}``
        with fate ``cancel``, ``advance`` or None."""
        with self._cond:
            return [dict(h) for h in self._history]

    def idle(self) -> bool:
        """No follow-up is waiting or running (with rate 0, nothing more will happen by itself)."""
        with self._cond:
            return not self._queue and not self._in_flight

    # --- orders ---------------------------------------------------------------------------------

    def generate(self, count: int) -> list[Any]:
        """Create up to ``count`` orders now; fewer when the sandbox runs out of sellable stock.
        Returns their ids in creation order."""
        if isinstance(count, bool) or int(count) != count or count < 0:
            raise ValueError("count must be a whole number ≥ 0")
        made = []
        for _ in range(int(count)):
            order_id = self._one()
            if order_id is None:
                break
            made.append(order_id)
        return made

    def _one(self) -> Any:
        with self._market_lock:
            offers = list(self._offers())
            with self._cond:
                fake = self.faker.order(offers)
                if fake is None:
                    return None
                fate, delay = self._fate()
            order_id = self._place(fake)
        with self._cond:
            self._counts["created"] += 1
            self._history.append({"id": order_id, **fake.as_dict(), "fate": fate})
            if fate is not None:
                self._schedule(fate, order_id, delay)
            self._cond.notify_all()
        return order_id

    def _fate(self) -> tuple[str | None, float]:
        # Both draws happen for every order, so the sequence does not depend on the shares.
        s, rng = self.settings, self.faker.rng
        roll = rng.random()
        spread = rng.random()
        if roll < s.cancel_share:
            low, high = s.cancel_after
            return "cancel", low + (high - low) * spread
        if roll < s.cancel_share + s.advance_share:
            low, high = s.advance_after
            return "advance", low + (high - low) * spread
        return None, 0.0

    def _schedule(self, kind: str, order_id: Any, delay: float) -> None:
        heapq.heappush(self._queue, _FollowUp(self._now() + delay, next(self._seq), kind, order_id))

    def _gap(self, rate: float) -> float:
        return self._arrivals.expovariate(rate / 60.0)

    # --- background -----------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"{self.name}-orders", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = self._now()
            with self._cond:
                due = []
                while self._queue and self._queue[0].at <= now:
                    due.append(heapq.heappop(self._queue))
                self._in_flight += len(due)
                order_due = self._next_order_at is not None and self._next_order_at <= now
            for task in due:
                try:
                    self._follow_up(task)
                finally:
                    with self._cond:
                        self._in_flight -= 1
            if order_due:
                self._guarded(self._one)
                with self._cond:
                    if self.settings.rate_per_minute > 0:
                        self._next_order_at = self._now() + self._gap(self.settings.rate_per_minute)
            with self._cond:
                if self._stop.is_set():
                    return
                head = self._queue[0].at if self._queue else None
                times = [t for t in (self._next_order_at, head) if t is not None]
                if not times:
                    self._cond.wait()  # woken by configure, generate, reset or stop
                elif not due and not order_due:
                    self._cond.wait(max(0.0, min(self.TICK, min(times) - self._now())))

    def _follow_up(self, task: _FollowUp) -> None:
        if task.kind == "cancel":
            done = self._guarded(self._cancel, task.order_id)
            if done is not _FAILED:
                with self._cond:
                    self._counts["cancelled" if done else "refused"] += 1
            return
        more = self._guarded(self._advance, task.order_id)
        if more is _FAILED:
            return
        with self._cond:
            if more is None:
                self._counts["refused"] += 1
                return
            self._counts["advanced"] += 1
            if more:
                low, high = self.settings.advance_after
                self._schedule("advance", task.order_id, self._delays.uniform(low, high))
            else:
                self._counts["finished"] += 1

    def _guarded(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, or ``_FAILED`` after counting its exception: a sandbox reset or a
        seller's concurrent change must not end the thread."""
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 - background work reports through status()
            with self._cond:
                self._counts["errors"] += 1
                self._last_error = f"{type(exc).__name__}: {exc}"
            return _FAILED


# --- shared by the sandboxes' control surfaces and command lines --------------------------------


def handle_generate(
    payload: dict[str, Any],
    generate: Callable[[int], list[Any]],
    configure: Callable[..., dict[str, Any]],
    status: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """``POST /__sandbox/orders/generate``: settings in the body (rate_per_minute, cancel_share,
    …) configure the generator, ``count`` creates that many orders now. Answers
    ``{"created": [ids], "generator": status}``; ValueError (→ 400) on anything else."""
    body = dict(payload)
    count = body.pop("count", 0)
    unknown = set(body) - GeneratorSettings.names()
    if unknown:
        raise ValueError(f"unknown order generator field(s): {', '.join(sorted(unknown))}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError("count must be a whole number ≥ 0")
    if body:
        configure(**body)
    created = generate(count) if count else []
    return {"created": created, "generator": status()}


def generator_options(parser: argparse.ArgumentParser) -> None:
    """The order generator's flags on a sandbox's ``main()`` (foreground runs)."""
    group = parser.add_argument_group("generated orders")
    group.add_argument(
        "--order-rate",
        type=float,
        default=0.0,
        help="realistic orders per minute in the background (0 = off)",
    )
    group.add_argument(
        "--order-cancel-share",
        type=float,
        default=GeneratorSettings.cancel_share,
        help="share of generated orders the customer cancels later",
    )
    group.add_argument(
        "--order-advance-share",
        type=float,
        default=GeneratorSettings.advance_share,
        help="share of generated orders that move on (shipped, delivered) later",
    )


def generator_args(args: argparse.Namespace) -> dict[str, Any]:
    """``GeneratorSettings`` from the flags of ``generator_options``."""
    return {
        "rate_per_minute": args.order_rate,
        "cancel_share": args.order_cancel_share,
        "advance_share": args.order_advance_share,
    }


__all__ = [
    "Address",
    "Customer",
    "FakeOrder",
    "GeneratorSettings",
    "Line",
    "Offer",
    "OrderFaker",
    "OrderGenerator",
    "ascii_fold",
    "generator_args",
    "generator_options",
    "handle_generate",
]
