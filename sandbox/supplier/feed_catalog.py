"""The supplier sandbox's catalogue: product ``i`` of seed ``s`` is always the same, computed on
demand (nothing is stored), so a million-product feed costs no memory and tests know exactly
what a feed holds. Names are Turkish on purpose: İ, ı, ş, ğ, ç, ö, ü must survive every encoding."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

_M64 = (1 << 64) - 1

NOUNS = ("Çanta", "Kılıf", "Işık", "Şişe", "Ütü", "Gömlek", "Ayakkabı", "Kulaklık", "Öğrenci Masası", "İğne Seti",
         "Çaydanlık", "Güneş Gözlüğü", "Şarj Aleti", "Düğme Pil", "Yağmurluk")
ADJECTIVES = ("Şık", "Küçük", "Büyük", "Işıklı", "Doğal", "Güçlü", "Yeşil", "Kırmızı", "Ürün", "Çift", "Öğretici",
              "İnce", "Sağlam", "Hafif")
BRANDS = ("Kervan", "Ağaoğlu", "Işıkçı", "Şahin", "Güneş", "Öztürk", "İnci")
CATEGORIES = (("Elektronik", "Telefon", "Kılıf"), ("Elektronik", "Aydınlatma"), ("Giyim", "Gömlek"),
              ("Ev & Yaşam", "Mutfak", "Çaydanlık"), ("Kırtasiye", "Öğrenci"), ("Aksesuar", "Güneş Gözlüğü"))
COLOURS = ("Kırmızı", "Siyah", "Beyaz", "Yeşil", "Mavi", "Sarı")
SIZES = ("S", "M", "L", "XL", "XXL")
VAT = (Decimal("20"), Decimal("10"), Decimal("1"))


def _mix(seed: int, i: int, k: int) -> int:
    """splitmix64 of (seed, i, k): fast, stable, good enough to pick names and prices."""
    z = (seed * 0x9E3779B97F4A7C15 + i * 0xBF58476D1CE4E5B9 + k * 0x94D049BB133111EB) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


def ean13(body12: str) -> str:
    s = sum(int(d) * (3 if n % 2 else 1) for n, d in enumerate(body12))
    return body12 + str((10 - s % 10) % 10)


@dataclass(frozen=True)
class Variant:
    code: str  # the variant id (Ticimax VaryasyonID, Shopify Variant SKU…)
    barcode: str
    quantity: int
    cost: Decimal  # what the supplier charges, 2 decimals
    price: Decimal  # suggested retail price
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Product:
    index: int
    code: str  # the model / stock code shared by its variants
    name: str
    brand: str
    category: tuple[str, ...]
    vat: Decimal  # percent
    description: str
    images: tuple[str, ...]
    variants: tuple[Variant, ...]

    @property
    def simple(self) -> bool:
        return len(self.variants) == 1 and not self.variants[0].options


def product(seed: int, i: int, max_variants: int = 3, stock_round: int = 0) -> Product:
    """Product ``i`` (0-based) of the catalogue ``seed``. With ``max_variants`` 1 every product is
    simple; otherwise products have 1..max_variants variants with Renk/Beden options.
    ``stock_round`` > 0 draws other quantities and costs for the same products: the supplier's
    stock and prices moving between two downloads of one feed."""
    r = lambda k: _mix(seed, i, k)  # noqa: E731 - a local shorthand
    # Quantities and costs of a later round; names, codes, barcodes and variants stay.
    moving = (lambda k: _mix(seed + stock_round * 7919, i, k)) if stock_round else r
    code = f"KRV-{seed % 1000:03d}-{i:07d}"
    name = f"{ADJECTIVES[r(1) % len(ADJECTIVES)]} {NOUNS[r(2) % len(NOUNS)]} {i}"
    n_variants = 1 + (r(3) % max_variants) if max_variants > 1 else 1
    cost_cents = 500 + moving(4) % 250_000  # 5,00 … 2.504,99 TL: thousands separators appear
    variants = []
    for v in range(n_variants):
        vc = cost_cents + v * 150
        options = {} if n_variants == 1 else {
            "Renk": COLOURS[(r(5) + v) % len(COLOURS)], "Beden": SIZES[v % len(SIZES)]}
        variants.append(Variant(
            code=f"{code}-V{v + 1}" if n_variants > 1 else code,
            barcode=ean13(f"869{(seed % 100):02d}{i:06d}{v % 10}"[:12]),
            quantity=int(moving(10 + v) % 40) if moving(20 + v) % 7 else 0,
            cost=Decimal(vc) / 100,
            price=(Decimal(vc) * Decimal("1.45") / 100).quantize(Decimal("0.01")),
            options=options,
        ))
    return Product(
        index=i,
        code=code,
        name=name,
        brand=BRANDS[r(6) % len(BRANDS)],
        category=CATEGORIES[r(7) % len(CATEGORIES)],
        vat=VAT[r(8) % len(VAT)],
        description=f"<p>{name}: <b>dayanıklı</b> ve şık. Garanti 2 yıl & ücretsiz kargo.</p>",
        images=tuple(f"https://cdn.tedarikci.test/img/{code}-{k}.jpg" for k in range(1 + r(9) % 3)),
        variants=tuple(variants),
    )


def products(seed: int, count: int, max_variants: int = 3, duplicates: int = 0, stock_round: int = 0):
    """Products 0..count-1; with ``duplicates`` the last ``duplicates`` products repeat the codes of
    the first ones (a real-feed trap: the later record must win)."""
    for i in range(count):
        p = product(seed, i, max_variants, stock_round)
        if duplicates and i >= count - duplicates:
            twin = product(seed, i - (count - duplicates), max_variants, stock_round)
            p = _recode(p, twin)
        yield p


def _recode(p: Product, twin: Product) -> Product:
    variants = tuple(
        Variant(code=(twin.variants[k].code if k < len(twin.variants) else f"{twin.code}-V{k + 1}"),
                barcode=v.barcode, quantity=v.quantity, cost=v.cost, price=v.price, options=v.options)
        for k, v in enumerate(p.variants)
    )
    return Product(index=p.index, code=twin.code, name=p.name, brand=p.brand, category=p.category, vat=p.vat,
                   description=p.description, images=p.images, variants=variants)
