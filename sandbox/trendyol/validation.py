"""Per-item validation rules of the Trendyol product, content, variant and stock/price services.

Pure functions: they take the item a client sent (plus, where a rule needs it, the stored product)
and return the cleaned values and the Turkish failure reasons the batch result will carry. Nothing
here touches shared state, so the batch processor can call them under its lock without care.

Where the published sources disagree, the stricter reading wins, so that a client passing here does
not meet a rule in production it never saw here (see the module-level notes at each rule).
"""

from __future__ import annotations

import math
from typing import Any

from . import reference

MAX_BARCODE = 40
MAX_TITLE = 100
MAX_PRODUCT_MAIN_ID = 40
MAX_STOCK_CODE = 100
MAX_DESCRIPTION = 30000
MAX_LOT_NUMBER = 100
MAX_IMAGES = 8
MAX_QUANTITY = 20000
MAX_COLOR = 50
VAT_RATES = (0, 1, 10, 20)
BARCODE_SPECIALS = ".-_"
LOCATION_BASED_DELIVERY = ("ENABLED", "DISABLED")

# Fields the createProducts OpenAPI lists as required (ref-createproducts.md, CreateProductItem).
CREATE_REQUIRED = (
    "barcode",
    "title",
    "productMainId",
    "brandId",
    "categoryId",
    "quantity",
    "stockCode",
    "dimensionalWeight",
    "description",
    "listPrice",
    "salePrice",
    "images",
    "vatRate",
    "attributes",
)
STOCK_AND_PRICE = ("quantity", "listPrice", "salePrice")

# Fields unapproved-bulk-update may change (ref-updateunapprovedproducts.md, UpdateUnapprovedItem,
# plus origin/cargoProviders from the guide page). barcode is the key and cannot change.
UNAPPROVED_UPDATABLE = (
    "title",
    "description",
    "productMainId",
    "brandId",
    "categoryId",
    "stockCode",
    "dimensionalWeight",
    "vatRate",
    "deliveryOption",
    "locationBasedDelivery",
    "lotNumber",
    "shipmentAddressId",
    "returningAddressId",
    "images",
    "attributes",
    "origin",
    "cargoProviders",
)
VARIANT_UPDATABLE = (
    "stockCode",
    "vatRate",
    "shipmentAddressId",
    "returningAddressId",
    "dimensionalWeight",
    "lotNumber",
    "locationBasedDelivery",
    "origin",
)
# The guide: "Onaylı ürünlerde barcode, productMainId, brandId, categoryId ... güncellenemez."
CONTENT_IMMUTABLE = ("barcode", "productMainId", "brandId", "categoryId")


# --- failure reason texts ---------------------------------------------------------------------
# Kept together so the report/tests can cite them and the wording stays consistent.


def r_required(field: str) -> str:
    return f"{field} alanı zorunludur ve boş bırakılamaz."


def r_invalid(field: str) -> str:
    return f"{field} alanı için geçersiz değer gönderildi."


def r_too_long(label: str, field: str, limit: int) -> str:
    return f"{label} ({field}) en fazla {limit} karakter olabilir."


R_BARCODE_CHARS = "Barkod yalnızca harf, rakam ve '.', '-', '_' karakterlerini içerebilir."
R_QUANTITY = "Stok adedi (quantity) 0 veya daha büyük bir tam sayı olmalıdır."
R_QUANTITY_MAX = f"Bir ürün için en fazla {MAX_QUANTITY} adet stok girilebilir."
R_LIST_LT_SALE = "Liste fiyatı (listPrice) satış fiyatından (salePrice) küçük olamaz."
R_VAT = "KDV oranı (vatRate) geçersiz. Geçerli değerler: 0, 1, 10, 20."
R_WEIGHT = "Desi (dimensionalWeight) 0 veya daha büyük bir sayı olmalıdır."
R_IMAGES_EMPTY = "En az 1 adet ürün görseli gönderilmelidir."
R_IMAGES_MAX = f"Bir ürün için en fazla {MAX_IMAGES} adet görsel gönderilebilir."
R_ORIGIN = "Menşei (origin) 2 karakterli ülke kodu olmalıdır."
R_LOCATION_DELIVERY = "locationBasedDelivery alanı ENABLED, DISABLED veya null olabilir."
R_NOTHING_TO_UPDATE = "Güncellenecek stok veya fiyat bilgisi gönderilmedi."
R_DUPLICATE_IN_REQUEST = "Aynı istek içerisinde aynı barkod birden fazla kez gönderilemez. Barkod: {barcode}"
R_DUPLICATE_CONTENT_IN_REQUEST = (
    "Aynı istek içerisinde aynı contentId birden fazla kez gönderilemez. contentId: {content_id}"
)
R_ALREADY_EXISTS = (
    "Bu barkod ile daha önce ürün oluşturulmuştur, aynı barkod ile tekrar ürün oluşturulamaz. "
    "Ürün bilgilerini güncellemek için güncelleme servislerini kullanınız. Barkod: {barcode}"
)
R_PRODUCT_NOT_FOUND = "Ürün bulunamadı. Barkod: {barcode}"
R_CONTENT_NOT_FOUND = "Onaylı ürün içeriği bulunamadı. contentId: {content_id}"
R_NOT_APPROVED_STOCK = "Onaylanmamış ürünlerin stok ve fiyat bilgisi güncellenemez. Barkod: {barcode}"
R_NOT_APPROVED_VARIANT = "Onaylanmamış ürünler bu servis ile güncellenemez. Barkod: {barcode}"
R_APPROVED_UNAPPROVED_UPDATE = (
    "Onaylı ürünler bu servis ile güncellenemez; content-bulk-update ve variant-bulk-update "
    "servislerini kullanınız. Barkod: {barcode}"
)
R_DELETE_NOT_ARCHIVED = (
    "Onaylı ürünün silinebilmesi için önce arşive alınması gerekmektedir. Barkod: {barcode}"
)
R_PRICE_RATE = "Aynı barkod için dakikada en fazla {limit} fiyat güncellemesi yapılabilir. Barkod: {barcode}"
R_IMMUTABLE = "Onaylı ürünlerde {field} alanı güncellenemez."
R_IMMUTABLE_ATTR = (
    "Onaylı ürünlerde slicer/varianter özellik değerleri güncellenemez: {name} (attributeId: {id})"
)
R_ATTR_ALL_REQUIRED = "Özellik güncellemesi yapılırken ürüne ait tüm özellikler gönderilmelidir. Eksik özellik: {name} (attributeId: {id})"
R_ARCHIVED_FLAG = "archived alanı true veya false olmalıdır."


def r_brand_not_found(brand_id: Any) -> str:
    return f"Marka bulunamadı. brandId: {brand_id}"


def r_category_not_found(category_id: Any) -> str:
    return f"Kategori bulunamadı. categoryId: {category_id}"


def r_category_not_leaf(category_id: Any) -> str:
    return (
        "Seçilen kategori en alt seviye kategori değildir; ürün yalnızca alt kategorisi olmayan "
        f"kategorilere aktarılabilir. categoryId: {category_id}"
    )


def r_image_https(url: Any) -> str:
    return f"Görsel adresi https ile başlayan geçerli bir URL olmalıdır: {url}"


def r_attr_required(a: reference.AttributeDef) -> str:
    return f"Zorunlu kategori özelliği eksik: {a.name} (attributeId: {a.id})"


def r_attr_unknown(attribute_id: Any, category_id: Any) -> str:
    return (
        f"Kategoriye ait olmayan özellik gönderildi. attributeId: {attribute_id}, categoryId: {category_id}"
    )


def r_attr_value_invalid(a: reference.AttributeDef, value_id: Any) -> str:
    return f"Kategori özellik değeri geçersiz: {a.name} (attributeId: {a.id}, attributeValueId: {value_id})"


def r_attr_no_custom(a: reference.AttributeDef) -> str:
    return (
        f"Bu özellik için serbest değer girilemez, özellik değerleri listesinden bir değer seçilmelidir: "
        f"{a.name} (attributeId: {a.id})"
    )


def r_attr_no_value(a: reference.AttributeDef) -> str:
    return f"Kategori özelliği için değer gönderilmelidir: {a.name} (attributeId: {a.id})"


def r_attr_multiple(a: reference.AttributeDef) -> str:
    return f"Bu özellik için birden fazla değer gönderilemez: {a.name} (attributeId: {a.id})"


def r_attr_duplicate(attribute_id: Any) -> str:
    return f"Aynı özellik birden fazla kez gönderilemez. attributeId: {attribute_id}"


R_ATTR_MALFORMED = "Özellik bilgisi geçersiz; her özellik attributeId ve bir değer içermelidir."
R_COLOR_TOO_LONG = f"Renk değeri en fazla {MAX_COLOR} karakter olabilir."


# --- type helpers -------------------------------------------------------------------------------


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, (list, dict)) and not v)


def normalize_barcode(barcode: str) -> str:
    """Trendyol joins a barcode's inner spaces ("ABC 123" is stored as "ABC123"); later stock/price
    updates must use the joined form, so lookups elsewhere deliberately do NOT normalise."""
    return "".join(barcode.split())


# --- attributes ---------------------------------------------------------------------------------


def parse_attributes(raw: Any, category_id: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Both published attribute forms are accepted: the OpenAPI's ``attributeValueIds`` (list) /
    ``attributeValue`` (free text) and the guide's ``attributeValueId`` / ``customAttributeValue``.

    Returns stored attributes ``[{attributeId, valueIds, customValue}]`` and failure reasons,
    checked against the category's definition (unknown, required, value ids, custom, multiple).
    """
    reasons: list[str] = []
    parsed: list[dict[str, Any]] = []
    if not isinstance(raw, list):
        return [], [r_invalid("attributes")]
    seen: set[int] = set()
    for entry in raw:
        if not isinstance(entry, dict) or not is_int(entry.get("attributeId")):
            reasons.append(R_ATTR_MALFORMED)
            continue
        attr_id = entry["attributeId"]
        if attr_id in seen:
            reasons.append(r_attr_duplicate(attr_id))
            continue
        seen.add(attr_id)
        definition = reference.attribute(category_id, attr_id)
        if definition is None:
            reasons.append(r_attr_unknown(attr_id, category_id))
            continue
        value_ids: list[Any] = []
        ids = entry.get("attributeValueIds")
        if ids is not None:
            if not isinstance(ids, list):
                reasons.append(r_attr_value_invalid(definition, ids))
                continue
            value_ids.extend(ids)
        if entry.get("attributeValueId") is not None:
            value_ids.append(entry["attributeValueId"])
        custom = entry.get("attributeValue")
        if custom is None:
            custom = entry.get("customAttributeValue")
        if isinstance(custom, str) and not custom.strip():
            custom = None
        if not value_ids and custom is None:
            reasons.append(r_attr_no_value(definition))
            continue
        bad = [v for v in value_ids if not is_int(v) or definition.value_name(v) is None]
        if bad:
            reasons.append(r_attr_value_invalid(definition, bad[0]))
            continue
        if len(set(value_ids)) > 1 and not definition.allow_multiple:
            reasons.append(r_attr_multiple(definition))
            continue
        if custom is not None:
            if not definition.allow_custom:
                reasons.append(r_attr_no_custom(definition))
                continue
            if not isinstance(custom, str):
                reasons.append(r_attr_value_invalid(definition, custom))
                continue
            if definition.id == 47 and len(custom) > MAX_COLOR:
                reasons.append(R_COLOR_TOO_LONG)
                continue
            if value_ids:
                # Both forms in one entry: the id wins, as a predefined value is authoritative.
                custom = None
        parsed.append(
            {"attributeId": attr_id, "valueIds": list(dict.fromkeys(value_ids)), "customValue": custom}
        )
    for definition in reference.category_attributes(category_id):
        if definition.required and definition.id not in seen:
            reasons.append(r_attr_required(definition))
    return parsed, reasons


def attributes_payload(stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stored attributes back in the OpenAPI request form, to re-validate a merged product."""
    out = []
    for a in stored:
        if a["valueIds"]:
            out.append({"attributeId": a["attributeId"], "attributeValueIds": list(a["valueIds"])})
        else:
            out.append({"attributeId": a["attributeId"], "attributeValue": a["customValue"]})
    return out


def attribute_signature(stored: list[dict[str, Any]], category_id: int, *, slicer: bool) -> tuple:
    """Values of the slicer (or varianter) attributes, comparable across products."""
    sig = []
    for a in stored:
        d = reference.attribute(category_id, a["attributeId"])
        if d is not None and (d.slicer if slicer else d.varianter):
            sig.append((a["attributeId"], tuple(a["valueIds"]), (a["customValue"] or "").strip().lower()))
    return tuple(sorted(sig))


# --- products -----------------------------------------------------------------------------------


def _check_text(item: dict, field: str, label: str, limit: int, reasons: list[str]) -> None:
    v = item.get(field)
    if v is None:
        return
    if not isinstance(v, str):
        reasons.append(r_invalid(field))
    elif len(v) > limit:
        reasons.append(r_too_long(label, field, limit))


def check_images(images: Any, reasons: list[str]) -> list[dict[str, str]]:
    if not isinstance(images, list):
        reasons.append(r_invalid("images"))
        return []
    if not images:
        reasons.append(R_IMAGES_EMPTY)
    if len(images) > MAX_IMAGES:
        reasons.append(R_IMAGES_MAX)
    cleaned = []
    for img in images:
        url = img.get("url") if isinstance(img, dict) else None
        if not isinstance(url, str) or not url.startswith("https://") or len(url) <= len("https://"):
            reasons.append(r_image_https(url))
        else:
            cleaned.append({"url": url})
    return cleaned


def check_barcode(raw: Any, reasons: list[str]) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        reasons.append(r_required("barcode"))
        return None
    barcode = normalize_barcode(raw)
    if len(barcode) > MAX_BARCODE:
        reasons.append(r_too_long("Barkod", "barcode", MAX_BARCODE))
    if any(not (ch.isalnum() or ch in BARCODE_SPECIALS) for ch in barcode):
        reasons.append(R_BARCODE_CHARS)
    return barcode


def check_product(item: dict[str, Any], *, stock_and_price: bool) -> tuple[dict[str, Any], list[str]]:
    """Validate a full product body (create, or an unapproved product merged with its update).

    ``stock_and_price`` is False for unapproved updates, whose schema has no quantity or prices.
    Returns the cleaned product fields and the failure reasons (empty when the item is valid).
    """
    reasons: list[str] = []
    required = [f for f in CREATE_REQUIRED if stock_and_price or f not in STOCK_AND_PRICE]
    for f in required:
        if f != "barcode" and f != "attributes" and is_blank(item.get(f)):
            reasons.append(r_required(f))
    if item.get("attributes") is None:
        reasons.append(r_required("attributes"))
    cleaned: dict[str, Any] = {}
    barcode = check_barcode(item.get("barcode"), reasons)
    cleaned["barcode"] = barcode

    _check_text(item, "title", "Ürün adı", MAX_TITLE, reasons)
    _check_text(item, "productMainId", "Model kodu", MAX_PRODUCT_MAIN_ID, reasons)
    _check_text(item, "stockCode", "Stok kodu", MAX_STOCK_CODE, reasons)
    _check_text(item, "description", "Ürün açıklaması", MAX_DESCRIPTION, reasons)
    _check_text(item, "lotNumber", "Lot numarası", MAX_LOT_NUMBER, reasons)
    for f in ("title", "productMainId", "stockCode", "description", "lotNumber"):
        if isinstance(item.get(f), str):
            cleaned[f] = item[f]

    brand_id = item.get("brandId")
    if brand_id is not None:
        if not is_int(brand_id) or reference.brand_name(brand_id) is None:
            reasons.append(r_brand_not_found(brand_id))
        else:
            cleaned["brandId"] = brand_id

    category_id = item.get("categoryId")
    category_ok = False
    if category_id is not None:
        if not is_int(category_id) or reference.category(category_id) is None:
            reasons.append(r_category_not_found(category_id))
        elif not reference.is_leaf(category_id):
            reasons.append(r_category_not_leaf(category_id))
        else:
            cleaned["categoryId"] = category_id
            category_ok = True

    if stock_and_price:
        q = item.get("quantity")
        if q is not None:
            if not is_int(q) or q < 0:
                reasons.append(R_QUANTITY)
            elif q > MAX_QUANTITY:
                reasons.append(R_QUANTITY_MAX)
            else:
                cleaned["quantity"] = q
        prices_ok = True
        for f, label in (("listPrice", "Liste fiyatı"), ("salePrice", "Satış fiyatı")):
            v = item.get(f)
            if v is None:
                prices_ok = False
            elif not is_number(v) or v <= 0:
                reasons.append(f"{label} ({f}) 0'dan büyük bir sayı olmalıdır.")
                prices_ok = False
            else:
                cleaned[f] = v
        if prices_ok and item["listPrice"] < item["salePrice"]:
            reasons.append(R_LIST_LT_SALE)

    w = item.get("dimensionalWeight")
    if w is not None:
        if not is_number(w) or w < 0:
            reasons.append(R_WEIGHT)
        else:
            cleaned["dimensionalWeight"] = w

    vat = item.get("vatRate")
    if vat is not None:
        if not is_int(vat) or vat not in VAT_RATES:
            reasons.append(R_VAT)
        else:
            cleaned["vatRate"] = vat

    images = item.get("images")
    if images is not None and images != []:  # an empty list was already reported as missing
        cleaned["images"] = check_images(images, reasons)

    if item.get("attributes") is not None and category_ok:
        attrs, attr_reasons = parse_attributes(item["attributes"], category_id)
        reasons.extend(attr_reasons)
        cleaned["attributes"] = attrs

    _check_optional(item, cleaned, reasons)
    return cleaned, reasons


def _check_optional(item: dict[str, Any], cleaned: dict[str, Any], reasons: list[str]) -> None:
    origin = item.get("origin")
    if origin is not None:
        if not isinstance(origin, str) or len(origin) != 2 or not origin.isalpha():
            reasons.append(R_ORIGIN)
        else:
            cleaned["origin"] = origin.upper()
    for f in ("shipmentAddressId", "returningAddressId"):
        v = item.get(f)
        if v is not None:
            if not is_int(v):
                reasons.append(r_invalid(f))
            else:
                cleaned[f] = v
    lbd = item.get("locationBasedDelivery")
    if "locationBasedDelivery" in item:
        if lbd is not None and lbd not in LOCATION_BASED_DELIVERY:
            reasons.append(R_LOCATION_DELIVERY)
        else:
            cleaned["locationBasedDelivery"] = lbd
    delivery = item.get("deliveryOption")
    if delivery is not None:
        duration = delivery.get("deliveryDuration") if isinstance(delivery, dict) else None
        if not isinstance(delivery, dict) or (
            duration is not None and (not is_int(duration) or duration < 0)
        ):
            reasons.append(r_invalid("deliveryOption"))
        else:
            cleaned["deliveryOption"] = {k: delivery.get(k) for k in ("deliveryDuration", "fastDeliveryType")}
    providers = item.get("cargoProviders")
    if providers is not None:
        if not isinstance(providers, list) or not all(isinstance(p, str) for p in providers):
            reasons.append(r_invalid("cargoProviders"))
        else:
            cleaned["cargoProviders"] = list(providers)


def check_variant_update(item: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """variant-bulk-update fields (barcode is the key and is never changed)."""
    reasons: list[str] = []
    cleaned: dict[str, Any] = {}
    _check_text(item, "stockCode", "Stok kodu", MAX_STOCK_CODE, reasons)
    _check_text(item, "lotNumber", "Lot numarası", MAX_LOT_NUMBER, reasons)
    for f in ("stockCode", "lotNumber"):
        if isinstance(item.get(f), str):
            cleaned[f] = item[f]
    if "stockCode" in item and is_blank(item.get("stockCode")):
        reasons.append(r_required("stockCode"))
    vat = item.get("vatRate")
    if vat is not None:
        if not is_int(vat) or vat not in VAT_RATES:
            reasons.append(R_VAT)
        else:
            cleaned["vatRate"] = vat
    w = item.get("dimensionalWeight")
    if w is not None:
        if not is_number(w) or w < 0:
            reasons.append(R_WEIGHT)
        else:
            cleaned["dimensionalWeight"] = w
    _check_optional({k: item[k] for k in VARIANT_UPDATABLE if k in item}, cleaned, reasons)
    return cleaned, reasons


def check_price_item(
    item: dict[str, Any], product: dict[str, Any] | None
) -> tuple[dict[str, Any], list[str]]:
    """One price-and-inventory item against the stored product (looked up by the exact barcode)."""
    barcode = item.get("barcode")
    if not isinstance(barcode, str) or not barcode.strip():
        return {}, [r_required("barcode")]
    if product is None:
        return {}, [R_PRODUCT_NOT_FOUND.format(barcode=barcode)]
    if not product["approved"]:
        return {}, [R_NOT_APPROVED_STOCK.format(barcode=barcode)]
    reasons: list[str] = []
    changes: dict[str, Any] = {}
    if not any(item.get(f) is not None for f in STOCK_AND_PRICE):
        return {}, [R_NOTHING_TO_UPDATE]
    q = item.get("quantity")
    if q is not None:
        if not is_int(q) or q < 0:
            reasons.append(R_QUANTITY)
        elif q > MAX_QUANTITY:
            reasons.append(R_QUANTITY_MAX)
        else:
            changes["quantity"] = q
    for f, label in (("listPrice", "Liste fiyatı"), ("salePrice", "Satış fiyatı")):
        v = item.get(f)
        if v is None:
            continue
        if not is_number(v) or v <= 0:
            reasons.append(f"{label} ({f}) 0'dan büyük bir sayı olmalıdır.")
        else:
            changes[f] = v
    list_price = changes.get("listPrice", product.get("listPrice"))
    sale_price = changes.get("salePrice", product.get("salePrice"))
    if not reasons and list_price is not None and sale_price is not None and list_price < sale_price:
        reasons.append(R_LIST_LT_SALE)
    return changes, reasons
