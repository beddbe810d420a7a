"""Seeded Hepsiburada catalog reference data: categories (flat, with ``paths``, as
``get-all-categories`` returns them), category attributes and enum attribute values.

The ids are invented but fixed: Kervan maps OpenCart's demo catalogue onto exactly these ids
(``DEMO_CATEGORIES``), so changing one breaks the mapping tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Category:
    categoryId: int  # noqa: N815 - HB's field names
    name: str
    parentCategoryId: int | None  # noqa: N815
    leaf: bool
    status: str = "ACTIVE"
    available: bool = True


@dataclass(frozen=True)
class Attribute:
    id: str
    name: str
    mandatory: bool
    type: str = "string"  # string | enum | integer
    multiValue: bool = False  # noqa: N815
    values: tuple[str, ...] = field(default_factory=tuple)

    def public(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "mandatory": self.mandatory,
            "type": self.type,
            "multiValue": self.multiValue,
        }


ROOT_ELECTRONICS = 18021000
COMPUTERS = 18021100
LAPTOPS = 18021982
DESKTOPS = 18021983
MONITORS = 18021984
TABLETS = 18021985
PHONES = 18022100
CAMERAS = 18022200
MP3_PLAYERS = 18022300
OTHER = 18029999
ARCHIVED_LEAF = 18029998  # a leaf that is not ACTIVE: products cannot be created on it

CATEGORIES: tuple[Category, ...] = (
    Category(ROOT_ELECTRONICS, "Elektronik", None, False),
    Category(COMPUTERS, "Bilgisayar", ROOT_ELECTRONICS, False),
    Category(LAPTOPS, "Dizüstü Bilgisayar", COMPUTERS, True),
    Category(DESKTOPS, "Masaüstü Bilgisayar", COMPUTERS, True),
    Category(MONITORS, "Monitör", COMPUTERS, True),
    Category(TABLETS, "Tablet", COMPUTERS, True),
    Category(PHONES, "Cep Telefonu", ROOT_ELECTRONICS, True),
    Category(CAMERAS, "Dijital Fotoğraf Makinesi", ROOT_ELECTRONICS, True),
    Category(MP3_PLAYERS, "MP3 Çalar", ROOT_ELECTRONICS, True),
    Category(OTHER, "Diğer Elektronik Ürünler", ROOT_ELECTRONICS, True),
    Category(ARCHIVED_LEAF, "Eski Kategori", ROOT_ELECTRONICS, True, status="ARCHIVED", available=False),
)

# OpenCart demo category id → HB category id (18/45/46 laptops, 20/26/27 desktops, 24 phones,
# 28 monitors, 33 cameras, 34 MP3 players, 57 tablets).
DEMO_CATEGORIES: dict[int, int] = {
    18: LAPTOPS,
    45: LAPTOPS,
    46: LAPTOPS,
    20: DESKTOPS,
    26: DESKTOPS,
    27: DESKTOPS,
    24: PHONES,
    28: MONITORS,
    33: CAMERAS,
    34: MP3_PLAYERS,
    57: TABLETS,
}
DEFAULT_CATEGORY = OTHER  # where a merchant puts what the demo mapping does not cover

# The attributes every import item carries (HB's "baseAttributes").
BASE_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("merchantSku", "Satıcı Stok Kodu", True),
    Attribute("VaryantGroupID", "Varyant Grup Id", False),
    Attribute("Barcode", "Barkod", True),
    Attribute("UrunAdi", "Ürün Adı", True),
    Attribute("UrunAciklamasi", "Ürün Açıklaması", True),
    Attribute("Marka", "Marka", True),
    Attribute("GarantiSuresi", "Garanti Süresi (Ay)", True, "integer"),
    Attribute("kg", "Desi", True),
    Attribute("tax_vat_rate", "KDV", True, "enum", values=("0", "1", "10", "20")),
    Attribute("price", "Fiyat", False),
    Attribute("stock", "Stok", False),
    *(Attribute(f"Image{i}", f"Görsel {i}", i == 1) for i in range(1, 11)),
    Attribute("Video1", "Video", False),
)
COLOURS = ("Siyah", "Beyaz", "Gri", "Gümüş", "Mavi", "Kırmızı")
VARIANT_ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute("renk_variant_property", "Renk", False, "enum", values=COLOURS),
)
_CATEGORY_ATTRIBUTES: dict[int, tuple[Attribute, ...]] = {
    LAPTOPS: (
        Attribute("islemci_tipi", "İşlemci Tipi", False, "enum", values=("Intel", "AMD", "Apple")),
        Attribute("ekran_boyutu", "Ekran Boyutu", False),
    ),
    MONITORS: (Attribute("ekran_boyutu", "Ekran Boyutu", False),),
    PHONES: (Attribute("dahili_hafiza", "Dahili Hafıza", False, "enum", values=("64 GB", "128 GB", "256 GB")),),
}


def category(category_id: int) -> Category | None:
    for c in CATEGORIES:
        if c.categoryId == category_id:
            return c
    return None


def paths(c: Category) -> list[str]:
    out = [c.name]
    parent = c.parentCategoryId
    while parent is not None:
        p = category(parent)
        if p is None:
            break
        out.insert(0, p.name)
        parent = p.parentCategoryId
    return [" > ".join(out)]


def category_dto(c: Category) -> dict:
    return {
        "categoryId": c.categoryId,
        "name": c.name,
        "displayName": c.name,
        "parentCategoryId": c.parentCategoryId,
        "paths": paths(c),
        "leaf": c.leaf,
        "status": c.status,
        "type": "HB",
        "sortId": str(c.categoryId),
        "merge": False,
        "available": c.available,
    }


def attributes(category_id: int) -> dict[str, tuple[Attribute, ...]]:
    return {
        "baseAttributes": BASE_ATTRIBUTES,
        "attributes": _CATEGORY_ATTRIBUTES.get(category_id, ()),
        "variantAttributes": VARIANT_ATTRIBUTES,
    }


def attribute(category_id: int, attribute_id: str) -> Attribute | None:
    for group in attributes(category_id).values():
        for a in group:
            if a.id == attribute_id:
                return a
    return None
