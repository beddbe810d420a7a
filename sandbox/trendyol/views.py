"""Read-side responses: product filters (approved content-centric, unapproved flat, inventory-and-price),
the single-barcode product base, and query-parameter parsing shared by them.

Shapes follow ref-filterapprovedproducts.md / ref-filterapprovedproductsinventoryandprice.md; the
approved filter also carries ``stock.quantity`` and ``price.priceSeenByCustomer`` because the TR guide
page's sample response shows them although the OpenAPI schema lists only ``stock.lastModifiedDate``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from . import reference

MAX_WINDOW = 10000  # page × size ≤ 10.000 on every product filter


class QueryError(ValueError):
    """A bad query parameter; the server answers 400 with ``key`` and the Turkish ``message``."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


def first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def int_param(query: dict[str, list[str]], name: str, default: int | None = None) -> int | None:
    raw = first(query, name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError("invalid.parameter", f"{name} parametresi sayı olmalıdır.") from None


def list_param(query: dict[str, list[str]], name: str) -> list[str]:
    # Both "barcodes=a&barcodes=b" (OpenAPI form/explode) and "barcodes=a,b" are accepted.
    out: list[str] = []
    for raw in query.get(name, []):
        out.extend(p for p in raw.split(",") if p)
    return out


def paginate(
    items: list[Any], query: dict[str, list[str]], *, default_size: int, max_size: int
) -> tuple[list[Any], dict]:
    page = int_param(query, "page", 0)
    size = int_param(query, "size", default_size)
    assert page is not None and size is not None
    if page < 0:
        raise QueryError("invalid.parameter", "page parametresi 0 veya daha büyük olmalıdır.")
    if size < 1 or size > max_size:
        raise QueryError("invalid.parameter", f"size parametresi 1 ile {max_size} arasında olmalıdır.")
    if page * size > MAX_WINDOW:
        raise QueryError(
            "invalid.parameter",
            "page x size en fazla 10000 olabilir; daha fazlası için nextPageToken kullanınız.",
        )
    total = len(items)
    meta = {
        "totalElements": total,
        "totalPages": math.ceil(total / size) if total else 0,
        "page": page,
        "size": size,
        "nextPageToken": None,
    }
    return items[page * size : (page + 1) * size], meta


# --- attribute display --------------------------------------------------------------------------


def _attr_rows(product: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per value: {attributeId, attributeName, attributeValueId, attributeValue, varianter}."""
    rows = []
    for a in product["attributes"]:
        d = reference.attribute(product["categoryId"], a["attributeId"])
        name = d.name if d else str(a["attributeId"])
        if a["valueIds"]:
            for vid in a["valueIds"]:
                rows.append(
                    {
                        "attributeId": a["attributeId"],
                        "attributeName": name,
                        "attributeValueId": vid,
                        "attributeValue": d.value_name(vid) if d else None,
                        "varianter": bool(d and d.varianter),
                    }
                )
        else:
            rows.append(
                {
                    "attributeId": a["attributeId"],
                    "attributeName": name,
                    "attributeValueId": None,
                    "attributeValue": a["customValue"],
                    "varianter": bool(d and d.varianter),
                }
            )
    return rows


def _brand(product: dict[str, Any]) -> dict[str, Any]:
    return {"id": product["brandId"], "name": reference.brand_name(product["brandId"])}


def _category(product: dict[str, Any]) -> dict[str, Any]:
    c = reference.category(product["categoryId"])
    return {"id": product["categoryId"], "name": c.name if c else None}


def on_sale(p: dict[str, Any]) -> bool:
    return (
        p["approved"] and not p["archived"] and not p["locked"] and not p["blacklisted"] and p["quantity"] > 0
    )


# --- approved ------------------------------------------------------------------------------------


def variant_view(p: dict[str, Any]) -> dict[str, Any]:
    delivery = p.get("deliveryOption") or {}
    return {
        "variantId": p["variantId"],
        "supplierId": _int_or_str(p["sellerId"]),
        "barcode": p["barcode"],
        "attributes": [
            {k: r[k] for k in ("attributeId", "attributeName", "attributeValueId", "attributeValue")}
            for r in _attr_rows(p)
            if r["varianter"]
        ],
        "productUrl": f"https://www.trendyol.com/sandbox/urun-p-{p['contentId']}?merchantId={p['sellerId']}",
        "onSale": on_sale(p),
        "deliveryOptions": {
            "deliveryDuration": delivery.get("deliveryDuration"),
            "isRushDelivery": False,
            "fastDeliveryOptions": [],
        },
        "stock": {"quantity": p["quantity"], "lastModifiedDate": p["stockModifiedAt"]},
        "price": {
            "salePrice": p["salePrice"],
            "listPrice": p["listPrice"],
            "priceSeenByCustomer": p["salePrice"],
        },
        "stockCode": p["stockCode"],
        "vatRate": p["vatRate"],
        "origin": p.get("origin"),
        "sellerCreatedDate": p["createdAt"],
        "sellerModifiedDate": p["modifiedAt"],
        "locked": p["locked"],
        "lockReason": None,
        "lockDate": None,
        "archived": p["archived"],
        "archivedDate": p["archivedDate"],
        "docNeeded": False,
        "hasViolation": False,
        "blacklisted": p["blacklisted"],
    }


def content_view(variants: list[dict[str, Any]]) -> dict[str, Any]:
    head = max(variants, key=lambda p: p["contentModifiedAt"])
    attributes: dict[int, dict[str, Any]] = {}
    for r in _attr_rows(head):
        if r["varianter"]:
            continue
        entry = attributes.setdefault(
            r["attributeId"],
            {"attributeId": r["attributeId"], "attributeName": r["attributeName"], "attributeValues": []},
        )
        entry["attributeValues"].append(
            {"attributeValueId": r["attributeValueId"], "attributeValue": r["attributeValue"]}
        )
    return {
        "contentId": head["contentId"],
        "productMainId": head["productMainId"],
        "brand": _brand(head),
        "category": _category(head),
        "creationDate": min(p["createdAt"] for p in variants),
        "lastModifiedDate": max(p["contentModifiedAt"] for p in variants),
        "lastModifiedBy": "API",
        "title": head["title"],
        "description": head["description"],
        "images": [dict(i) for i in head["images"]],
        "attributes": list(attributes.values()),
        "variants": [variant_view(p) for p in sorted(variants, key=lambda p: p["variantId"])],
    }


APPROVED_STATUS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "archived": lambda p: p["archived"],
    "blacklisted": lambda p: p["blacklisted"],
    "locked": lambda p: p["locked"],
    "onSale": on_sale,
    "notOnSale": lambda p: not on_sale(p),
}
DATE_FIELDS = {
    "VARIANT_CREATED_DATE": "createdAt",
    "VARIANT_MODIFIED_DATE": "modifiedAt",
    "CONTENT_MODIFIED_DATE": "contentModifiedAt",
    # unapproved filter's own enum
    "CREATED_DATE": "createdAt",
    "LAST_MODIFIED_DATE": "modifiedAt",
}


def _common_filters(
    products: list[dict[str, Any]], query: dict[str, list[str]], date_types: tuple[str, ...]
) -> list[dict[str, Any]]:
    barcodes = list_param(query, "barcodes")
    if len(barcodes) > 50:
        raise QueryError("invalid.parameter", "barcodes parametresi en fazla 50 barkod içerebilir.")
    single = first(query, "barcode")
    if single:
        barcodes.append(single)
    if barcodes:
        wanted = set(barcodes)
        products = [p for p in products if p["barcode"] in wanted]
    stock_code = first(query, "stockCode")
    if stock_code:
        products = [p for p in products if p["stockCode"] == stock_code]
    main_id = first(query, "productMainId")
    if main_id:
        products = [p for p in products if p["productMainId"] == main_id]
    content_id = int_param(query, "contentId")
    if content_id is not None:
        products = [p for p in products if p["contentId"] == content_id]
    brand_ids = list_param(query, "brandIds")
    if brand_ids:
        try:
            wanted_brands = {int(b) for b in brand_ids}
        except ValueError:
            raise QueryError("invalid.parameter", "brandIds parametresi sayı listesi olmalıdır.") from None
        products = [p for p in products if p["brandId"] in wanted_brands]
    start, end = int_param(query, "startDate"), int_param(query, "endDate")
    if start is not None or end is not None:
        kind = first(query, "dateQueryType") or date_types[0]
        if kind not in date_types:
            raise QueryError(
                "invalid.parameter", f"dateQueryType geçersiz. Geçerli değerler: {', '.join(date_types)}"
            )
        fname = DATE_FIELDS[kind]
        products = [
            p for p in products if (start is None or p[fname] >= start) and (end is None or p[fname] <= end)
        ]
    return products


def _order(query: dict[str, list[str]]) -> bool:
    direction = (first(query, "orderByDirection") or "asc").lower()
    if direction not in ("asc", "desc"):
        raise QueryError("invalid.parameter", "orderByDirection asc veya desc olmalıdır.")
    return direction == "desc"


def _group_contents(products: list[dict[str, Any]], descending: bool) -> list[list[dict[str, Any]]]:
    groups: dict[int, list[dict[str, Any]]] = {}
    for p in products:
        groups.setdefault(p["contentId"], []).append(p)
    ordered = sorted(groups.values(), key=lambda g: (min(p["createdAt"] for p in g), g[0]["contentId"]))
    return list(reversed(ordered)) if descending else ordered


def approved_page(products: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    """filterApprovedProducts: content-centric, variants nested; counts and pages count contents."""
    selected = _approved_selection(products, query)
    contents = _group_contents(selected, _order(query))
    page, meta = paginate(contents, query, default_size=10, max_size=100)
    return {**meta, "content": [content_view(g) for g in page]}


def inventory_page(products: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    """filterApprovedProductsInventoryAndPrice: only stock and price per variant."""
    selected = _approved_selection(products, query)
    contents = _group_contents(selected, _order(query))
    page, meta = paginate(contents, query, default_size=10, max_size=100)
    return {
        **meta,
        "content": [
            {
                "contentId": g[0]["contentId"],
                "productMainId": g[0]["productMainId"],
                "variants": [
                    {
                        "variantId": p["variantId"],
                        "barcode": p["barcode"],
                        "salePrice": p["salePrice"],
                        "listPrice": p["listPrice"],
                        "quantity": p["quantity"],
                        "stockCode": p["stockCode"],
                        "stockLastModifiedDate": p["stockModifiedAt"],
                    }
                    for p in sorted(g, key=lambda p: p["variantId"])
                ],
            }
            for g in page
        ],
    }


def _approved_selection(products: list[dict[str, Any]], query: dict[str, list[str]]) -> list[dict[str, Any]]:
    selected = [p for p in products if p["approved"]]
    selected = _common_filters(
        selected, query, ("VARIANT_CREATED_DATE", "VARIANT_MODIFIED_DATE", "CONTENT_MODIFIED_DATE")
    )
    status = first(query, "status")
    if status:
        if status not in APPROVED_STATUS:
            raise QueryError(
                "invalid.parameter", f"status geçersiz. Geçerli değerler: {', '.join(APPROVED_STATUS)}"
            )
        selected = [p for p in selected if APPROVED_STATUS[status](p)]
    return selected


# --- unapproved ----------------------------------------------------------------------------------


def unapproved_view(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "supplierId": _int_or_str(p["sellerId"]),
        "productMainId": p["productMainId"],
        "status": p["status"],
        "createDateTime": p["createdAt"],
        "lastUpdateDate": p["modifiedAt"],
        "lastPriceChangeDate": p["priceModifiedAt"],
        "lastStockChangeDate": p["stockModifiedAt"],
        "brand": _brand(p),
        "category": _category(p),
        "barcode": p["barcode"],
        "title": p["title"],
        "description": p["description"],
        "quantity": p["quantity"],
        "listPrice": p["listPrice"],
        "salePrice": p["salePrice"],
        "cargoProviders": list(p.get("cargoProviders") or []),
        "vatRate": p["vatRate"],
        "dimensionalWeight": p["dimensionalWeight"],
        "stockCode": p["stockCode"],
        "origin": p.get("origin"),
        "media": [dict(i) for i in p["images"]],
        "attributes": [
            {k: r[k] for k in ("attributeId", "attributeName", "attributeValueId", "attributeValue")}
            for r in _attr_rows(p)
        ],
        "rejectReasonDetails": [dict(r) for r in p["rejectReasonDetails"]],
        "locationBasedDelivery": p.get("locationBasedDelivery"),
        "lotNumber": p.get("lotNumber"),
    }


def unapproved_page(products: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    selected = [p for p in products if not p["approved"]]
    selected = _common_filters(selected, query, ("CREATED_DATE", "LAST_MODIFIED_DATE"))
    status = first(query, "status")
    if status:
        if status not in ("rejected", "pendingApproval"):
            raise QueryError(
                "invalid.parameter", "status geçersiz. Geçerli değerler: rejected, pendingApproval"
            )
        selected = [p for p in selected if p["status"] == status]
    selected.sort(key=lambda p: (p["createdAt"], p["variantId"]), reverse=_order(query))
    page, meta = paginate(selected, query, default_size=10, max_size=1000)
    return {**meta, "content": [unapproved_view(p) for p in page]}


def product_base_view(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "barcode": p["barcode"],
        "approved": p["approved"],
        "approvedDate": p["approvedDate"],
        "archived": p["archived"],
        "listingId": p["listingId"],
        "contentId": p["contentId"],
    }


def _int_or_str(seller_id: str) -> int | str:
    return int(seller_id) if seller_id.isdigit() else seller_id
