"""Seeded Trendyol reference data: category tree, category attributes, attribute values, brands.

The ids are fixed on purpose: the rest of Kervan maps OpenCart's demo catalogue onto exactly these
ids, so changing one breaks the mapping tests elsewhere in the tree. The data is immutable; lookups
are plain functions over module-level tables so every sandbox instance shares them safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    parent_id: int | None


@dataclass(frozen=True)
class AttributeDef:
    """One attribute as attached to every leaf category (Trendyol's ``categoryAttributes`` entry)."""

    id: int
    name: str
    required: bool
    allow_custom: bool
    slicer: bool
    varianter: bool
    allow_multiple: bool = False
    values: tuple[tuple[int, str], ...] = field(default_factory=tuple)

    def value_name(self, value_id: int) -> str | None:
        for vid, name in self.values:
            if vid == value_id:
                return name
        return None


# Order matters only for the tree output (children listed in insertion order).
CATEGORIES: tuple[Category, ...] = (
    Category(411, "Elektronik", None),
    Category(1000, "Bilgisayar", 411),
    Category(1001, "Dizüstü Bilgisayar", 1000),
    Category(1002, "Monitör", 1000),
    Category(1003, "Tablet", 1000),
    Category(2000, "Telefon", 411),
    Category(2001, "Cep Telefonu", 2000),
    Category(3000, "Foto & Kamera", 411),
    Category(3001, "Dijital Fotoğraf Makinesi", 3000),
    Category(4000, "Ses & Görüntü", 411),
    Category(4001, "MP3 Çalar", 4000),
    Category(5000, "Aksesuar", None),
    Category(5001, "Diğer Aksesuar", 5000),
)

# Every leaf category carries the same three attributes (the brief fixes them; real Trendyol
# categories differ per leaf, which is why the lookups below still go through the category id).
LEAF_ATTRIBUTES: tuple[AttributeDef, ...] = (
    AttributeDef(
        1192,
        "Menşei",
        required=True,
        allow_custom=False,
        slicer=False,
        varianter=False,
        values=((10617, "TR"), (10618, "CN"), (10619, "US"), (10620, "JP"), (10621, "TW")),
    ),
    AttributeDef(47, "Renk", required=False, allow_custom=True, slicer=True, varianter=False),
    AttributeDef(
        338,
        "Beden",
        required=False,
        allow_custom=False,
        slicer=False,
        varianter=True,
        values=((6821, "S"), (6822, "M"), (6823, "L"), (6824, "Tek Ebat")),
    ),
)

BRANDS: tuple[tuple[int, str], ...] = (
    (1791, "Apple"),
    (1792, "Canon"),
    (1793, "Hewlett-Packard"),
    (1794, "HTC"),
    (1795, "Palm"),
    (1796, "Sony"),
    (1797, "Kervan Generic"),
)

_BY_ID: dict[int, Category] = {c.id: c for c in CATEGORIES}
_CHILDREN: dict[int | None, list[Category]] = {}
for _c in CATEGORIES:
    _CHILDREN.setdefault(_c.parent_id, []).append(_c)
_BRANDS_BY_ID: dict[int, str] = dict(BRANDS)


def category(category_id: int) -> Category | None:
    return _BY_ID.get(category_id)


def is_leaf(category_id: int) -> bool:
    return category_id in _BY_ID and not _CHILDREN.get(category_id)


def category_attributes(category_id: int) -> tuple[AttributeDef, ...]:
    """Attributes of a category; only leaves have any (products may only be created on leaves)."""
    return LEAF_ATTRIBUTES if is_leaf(category_id) else ()


def attribute(category_id: int, attribute_id: int) -> AttributeDef | None:
    for a in category_attributes(category_id):
        if a.id == attribute_id:
            return a
    return None


def brand_name(brand_id: int) -> str | None:
    return _BRANDS_BY_ID.get(brand_id)


def _node(c: Category) -> dict:
    return {
        "id": c.id,
        "name": c.name,
        "parentId": c.parent_id,
        "subCategories": [_node(child) for child in _CHILDREN.get(c.id, [])],
    }


def category_tree(name: str | None = None) -> list[dict]:
    """The tree as Trendyol nests it; with ``name``, every category at any level whose name contains
    the term (Turkish-aware, case-insensitive), each with its own subtree."""
    if not name:
        return [_node(c) for c in _CHILDREN.get(None, [])]
    needle = turkish_lower(name)
    return [_node(c) for c in CATEGORIES if needle in turkish_lower(c.name)]


def turkish_lower(text: str) -> str:
    # Python's lower() maps "I" to "i" and "İ" to "i̇"; Turkish wants "ı" and "i".
    return text.replace("I", "ı").replace("İ", "i").lower()
