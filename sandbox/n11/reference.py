"""Seeded N11 reference data: category tree, category attributes, shipment templates.

The ids are fixed on purpose: ``DEMO_CATEGORIES`` maps OpenCart's demo categories onto them and the
rest of Kervan (mapping tests, the demo) relies on exactly these ids. The real N11 tree is far
larger; its ids are 7-digit numbers like these, but these particular ids are made up (ASSUMED).

Shapes follow marketplace-apis.md §3.2: ``GET /cdn/categories`` is the whole tree with
``subCategories: null`` on leaves; ``GET /cdn/category/{id}/attribute`` is
``{id, name, categoryAttributes: [{attributeId, attributeName, isMandatory, isVariant, isSlicer,
isCustomValue, attributeValues: [{id, value}]}]}``. Brand is attribute id 1 on every category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    parent_id: int | None


@dataclass(frozen=True)
class AttributeDef:
    id: int
    name: str
    mandatory: bool
    variant: bool
    slicer: bool
    custom: bool
    values: tuple[tuple[int, str], ...] = field(default_factory=tuple)

    def has_value(self, value_id: int) -> bool:
        return any(vid == value_id for vid, _ in self.values)

    def as_json(self) -> dict[str, Any]:
        return {
            "attributeId": self.id,
            "attributeName": self.name,
            "isMandatory": self.mandatory,
            "isVariant": self.variant,
            "isSlicer": self.slicer,
            "isCustomValue": self.custom,
            "attributeValues": [{"id": vid, "value": v} for vid, v in self.values],
        }


BRAND_ATTRIBUTE_ID = 1

CATEGORIES: tuple[Category, ...] = (
    Category(1000476, "Elektronik", None),
    Category(1000271, "Bilgisayar", 1000476),
    Category(1000272, "Dizüstü Bilgisayar", 1000271),
    Category(1000273, "Masaüstü Bilgisayar", 1000271),
    Category(1000274, "Monitör", 1000271),
    Category(1000275, "Tablet", 1000271),
    Category(1000280, "Telefon ve Aksesuarları", 1000476),
    Category(1000281, "Cep Telefonu", 1000280),
    Category(1000290, "Fotoğraf ve Kamera", 1000476),
    Category(1000291, "Dijital Fotoğraf Makinesi", 1000290),
    Category(1000300, "Ses ve Görüntü", 1000476),
    Category(1000301, "MP3 Çalar", 1000300),
)

# OpenCart demo category id → N11 leaf category id.
DEMO_CATEGORIES: dict[int, int] = {
    18: 1000272,  # Laptops & Notebooks
    45: 1000272,  # Laptops > Windows
    46: 1000272,  # Laptops > Macs
    20: 1000273,  # Desktops
    26: 1000273,  # Desktops > PC
    27: 1000273,  # Desktops > Mac
    24: 1000281,  # Phones & PDAs
    28: 1000274,  # Components > Monitors
    33: 1000291,  # Cameras
    34: 1000301,  # MP3 Players
    57: 1000275,  # Tablets
}

LEAF_ATTRIBUTES: tuple[AttributeDef, ...] = (
    AttributeDef(
        BRAND_ATTRIBUTE_ID,
        "Marka",
        mandatory=True,
        variant=False,
        slicer=False,
        custom=True,
        values=(
            (101, "Apple"),
            (102, "Canon"),
            (103, "HP"),
            (104, "Samsung"),
            (105, "Sony"),
            (106, "HTC"),
            (107, "Palm"),
            (108, "Hewlett-Packard"),
        ),
    ),
    AttributeDef(
        2,
        "Renk",
        mandatory=False,
        variant=True,
        slicer=True,
        custom=False,
        values=((201, "Siyah"), (202, "Beyaz"), (203, "Gri")),
    ),
    AttributeDef(
        3,
        "Garanti Süresi",
        mandatory=False,
        variant=False,
        slicer=False,
        custom=True,
        values=((301, "12 Ay"), (302, "24 Ay")),
    ),
)

# Shipment templates are referred to by NAME in product bodies (§3.2); each account has its own.
DEFAULT_SHIPMENT_TEMPLATES: tuple[str, ...] = ("Standart", "Hızlı Kargo")

_BY_ID = {c.id: c for c in CATEGORIES}


def category(category_id: int) -> Category | None:
    return _BY_ID.get(category_id)


def is_leaf(category_id: int) -> bool:
    return category_id in _BY_ID and not any(c.parent_id == category_id for c in CATEGORIES)


def category_attributes(category_id: int) -> tuple[AttributeDef, ...]:
    return LEAF_ATTRIBUTES if is_leaf(category_id) else ()


def attribute(category_id: int, attribute_id: int) -> AttributeDef | None:
    for a in category_attributes(category_id):
        if a.id == attribute_id:
            return a
    return None


def _node(c: Category) -> dict[str, Any]:
    children = [_node(x) for x in CATEGORIES if x.parent_id == c.id]
    return {"id": c.id, "name": c.name, "subCategories": children or None}


def category_tree() -> list[dict[str, Any]]:
    return [_node(c) for c in CATEGORIES if c.parent_id is None]


def attributes_document(category_id: int) -> dict[str, Any] | None:
    c = category(category_id)
    if c is None:
        return None
    return {
        "id": c.id,
        "name": c.name,
        "categoryAttributes": [a.as_json() for a in category_attributes(category_id)],
    }
