"""Asynchronous batch processing: every write call becomes a batch that a background worker applies
after ``batch_delay`` seconds, item by item, exactly as Trendyol's queue does (HTTP 200 means
"queued", the per-item outcome only shows in getBatchRequestResult).

The result shapes follow the official batch-result guide page (toplu-işlem-kontrolü-getbatchrequest
result-1, downloaded 2026-09-28): each batch type echoes its items differently, and stock/price
batches carry no top-level ``status`` at all ("Batch status alanı tarafınıza dönmeyecektir").
"""

from __future__ import annotations

import copy
import datetime as dt
import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from sandbox.common.ratescale import scaled

from . import reference
from . import validation as v
from .state import Settings, Store

BATCH_TYPES = {
    "create": "ProductV2OnBoarding",
    "update_unapproved": "ProductV2Update",
    "update_content": "ApprovedProductContentUpdate",
    "update_variant": "ApprovedProductVariantUpdate",
    "price_inventory": "ProductInventoryUpdate",
    "delete": "ProductDeletion",
    "archive": "ProductArchiveUpdate",
}

ItemResult = tuple[dict[str, Any], list[str]]  # (requestItem echo, failure reasons)


class BatchProcessor:
    """Owns the batch queue and the worker thread; ``submit`` is called by request handlers."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._handlers: dict[str, Callable[[str, str, list[Any]], list[ItemResult]]] = {
            "create": self._create,
            "update_unapproved": self._update_unapproved,
            "update_content": self._update_content,
            "update_variant": self._update_variant,
            "price_inventory": self._price_inventory,
            "delete": self._delete,
            "archive": self._archive,
        }

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="trendyol-sandbox-batches", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()

    def submit(self, seller_id: str, kind: str, items: list[Any]) -> str:
        """Store the batch as IN_PROGRESS and schedule it; returns the batchRequestId."""
        store = self.store
        batch_id = store.new_batch_id()
        now = store.clock.ms()
        with store.lock:
            store.batches[batch_id] = {
                "batchRequestId": batch_id,
                "sellerId": seller_id,
                "batchRequestType": BATCH_TYPES[kind],
                "status": "IN_PROGRESS",
                "creationDate": now,
                "lastModification": now,
                "sourceType": "API",
                "itemCount": len(items),
                "failedItemCount": 0,
                "items": [],
                "kind": kind,
                "request": copy.deepcopy(items),
            }
        with self._cond:
            heapq.heappush(
                self._heap,
                (time.monotonic() + max(0.0, self.settings.batch_delay), next(self._seq), batch_id),
            )
            self._cond.notify_all()
        return batch_id

    def flush(self) -> int:
        """Process every queued batch now, in the caller's thread; returns how many were processed."""
        with self._cond:
            due = [entry[2] for entry in sorted(self._heap)]
            self._heap.clear()
        for batch_id in due:
            self.process(batch_id)
        return len(due)

    def pending(self) -> int:
        with self._cond:
            return len(self._heap)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic())
                    self._cond.wait(timeout)
                if self._stopping:
                    return
                _, _, batch_id = heapq.heappop(self._heap)
            self.process(batch_id)

    # --- processing ---------------------------------------------------------------------------

    def process(self, batch_id: str) -> None:
        store = self.store
        with store.lock:
            batch = store.batches.get(batch_id)
            if batch is None or batch["status"] != "IN_PROGRESS":
                return
            results = self._handlers[batch["kind"]](batch["sellerId"], batch_id, batch["request"])
            items = []
            for echo, reasons in results:
                items.append(
                    {
                        "requestItem": echo,
                        "status": "FAILED" if reasons else "SUCCESS",
                        "failureReasons": reasons,
                    }
                )
            batch["items"] = items
            batch["failedItemCount"] = sum(1 for i in items if i["status"] == "FAILED")
            batch["status"] = "COMPLETED"
            batch["lastModification"] = store.clock.ms()

    def _create(self, seller_id: str, batch_id: str, items: list[Any]) -> list[ItemResult]:
        store = self.store
        results: list[ItemResult] = []
        seen: set[str] = set()
        for raw in items:
            if not isinstance(raw, dict):
                results.append(({"barcode": None, "product": raw}, [v.r_invalid("items")]))
                continue
            cleaned, reasons = v.check_product(raw, stock_and_price=True)
            barcode = cleaned.get("barcode")
            # Echo the product as Trendyol stores it: with the space-joined barcode.
            echo = {"barcode": barcode if barcode is not None else raw.get("barcode"), "product": dict(raw)}
            if barcode is not None:
                echo["product"]["barcode"] = barcode
                if barcode in seen:
                    reasons.append(v.R_DUPLICATE_IN_REQUEST.format(barcode=barcode))
                elif store.product(seller_id, barcode) is not None:
                    reasons.append(v.R_ALREADY_EXISTS.format(barcode=barcode))
                seen.add(barcode)
            if not reasons:
                self._store_new_product(seller_id, batch_id, cleaned)
            results.append((echo, reasons))
        return results

    def _store_new_product(self, seller_id: str, batch_id: str, cleaned: dict[str, Any]) -> None:
        store = self.store
        now = store.clock.ms()
        approved = self.settings.auto_approve
        product: dict[str, Any] = {
            "sellerId": seller_id,
            "barcode": cleaned["barcode"],
            "title": cleaned["title"],
            "productMainId": cleaned["productMainId"],
            "brandId": cleaned["brandId"],
            "categoryId": cleaned["categoryId"],
            "quantity": cleaned["quantity"],
            "stockCode": cleaned["stockCode"],
            "dimensionalWeight": cleaned["dimensionalWeight"],
            "description": cleaned["description"],
            "listPrice": cleaned["listPrice"],
            "salePrice": cleaned["salePrice"],
            "vatRate": cleaned["vatRate"],
            "images": cleaned["images"],
            "attributes": cleaned["attributes"],
            "origin": cleaned.get("origin"),
            "deliveryOption": cleaned.get("deliveryOption"),
            "lotNumber": cleaned.get("lotNumber"),
            "shipmentAddressId": cleaned.get("shipmentAddressId"),
            "returningAddressId": cleaned.get("returningAddressId"),
            "cargoProviders": cleaned.get("cargoProviders", []),
            "locationBasedDelivery": cleaned.get("locationBasedDelivery"),
            "approved": approved,
            "status": "approved" if approved else "pendingApproval",
            "approvedDate": now if approved else None,
            "rejectReasonDetails": [],
            "contentId": None,
            "variantId": store.new_variant_id(),
            "listingId": store.new_listing_id(),
            "archived": False,
            "archivedDate": None,
            "locked": False,
            "blacklisted": False,
            "createdAt": now,
            "modifiedAt": now,
            "contentModifiedAt": now,
            "stockModifiedAt": None,
            "priceModifiedAt": None,
            "createBatchRequestId": batch_id,
        }
        self._assign_content(product)
        store.products[(seller_id, product["barcode"])] = product
        store.record_effect("create", seller_id, product["barcode"], batch_id, contentId=product["contentId"])

    def _assign_content(self, product: dict[str, Any]) -> None:
        # Slicer attributes (e.g. colour) split one productMainId into separate content pages on
        # Trendyol, so the content key includes their values; with no slicer value every barcode of
        # a productMainId shares one contentId.
        signature = (
            v.attribute_signature(product["attributes"], product["categoryId"], slicer=True)
            if self.settings.content_by_slicer
            else ()
        )
        product["contentId"] = self.store.content_id_for(
            product["sellerId"], product["productMainId"], signature
        )

    def _lookup(
        self, seller_id: str, barcode: Any, seen: set[str] | None = None
    ) -> tuple[dict[str, Any] | None, list[str]]:
        """The stored product an update item addresses by barcode, or the reasons it addresses
        none: missing barcode, the same barcode twice in one request, unknown barcode."""
        if not isinstance(barcode, str) or not barcode.strip():
            return None, [v.r_required("barcode")]
        if seen is not None:
            if barcode in seen:
                return None, [v.R_DUPLICATE_IN_REQUEST.format(barcode=barcode)]
            seen.add(barcode)
        product = self.store.product(seller_id, barcode)
        if product is None:
            return None, [v.R_PRODUCT_NOT_FOUND.format(barcode=barcode)]
        return product, []

    def _update_unapproved(self, seller_id: str, batch_id: str, items: list[Any]) -> list[ItemResult]:
        store = self.store
        results: list[ItemResult] = []
        seen: set[str] = set()
        for raw in items:
            if not isinstance(raw, dict):
                results.append(({"barcode": None, "product": raw}, [v.r_invalid("items")]))
                continue
            barcode = raw.get("barcode")
            echo = {"barcode": barcode, "product": dict(raw)}
            product, reasons = self._lookup(seller_id, barcode, seen)
            if product is None:
                results.append((echo, reasons))
                continue
            if product["approved"]:
                results.append((echo, [v.R_APPROVED_UNAPPROVED_UPDATE.format(barcode=barcode)]))
                continue
            merged = {
                f: product[f] for f in (*v.UNAPPROVED_UPDATABLE, "barcode") if product.get(f) is not None
            }
            merged["attributes"] = v.attributes_payload(product["attributes"])
            merged.update({f: raw[f] for f in v.UNAPPROVED_UPDATABLE if f in raw})
            cleaned, reasons = v.check_product(merged, stock_and_price=False)
            if not reasons:
                echo["product"]["contentId"] = product["contentId"]
                changed = {f: cleaned[f] for f in v.UNAPPROVED_UPDATABLE if f in raw and f in cleaned}
                product.update(changed)
                if "locationBasedDelivery" in raw:
                    product["locationBasedDelivery"] = raw["locationBasedDelivery"]
                now = store.clock.ms()
                product["modifiedAt"] = now
                product["contentModifiedAt"] = now
                if product.get("status") == "rejected":
                    # A corrected rejected product goes back into the approval queue.
                    product["status"] = "pendingApproval"
                    product["rejectReasonDetails"] = []
                self._assign_content(product)
                store.record_effect("update", seller_id, barcode, batch_id, fields=sorted(changed))
            results.append((echo, reasons))
        return results

    def _update_content(self, seller_id: str, batch_id: str, items: list[Any]) -> list[ItemResult]:
        store = self.store
        results: list[ItemResult] = []
        seen: set[int] = set()
        # One pass over the seller's products instead of one per item (1000 items × many products).
        by_content: dict[int, list[dict[str, Any]]] = {}
        for p in store.seller_products(seller_id):
            if p["approved"]:
                by_content.setdefault(p["contentId"], []).append(p)
        for raw in items:
            if not isinstance(raw, dict):
                results.append(
                    ({"supplierId": _num(seller_id), "updateRequest": raw}, [v.r_invalid("items")])
                )
                continue
            echo = {"supplierId": _num(seller_id), "updateRequest": dict(raw)}
            content_id = raw.get("contentId")
            if not v.is_int(content_id):
                results.append((echo, [v.r_required("contentId")]))
                continue
            if content_id in seen:
                results.append((echo, [v.R_DUPLICATE_CONTENT_IN_REQUEST.format(content_id=content_id)]))
                continue
            seen.add(content_id)
            variants = by_content.get(content_id, [])
            if not variants:
                results.append((echo, [v.R_CONTENT_NOT_FOUND.format(content_id=content_id)]))
                continue
            first = variants[0]
            echo["updateRequest"].setdefault("categoryId", first["categoryId"])
            echo["updateRequest"].setdefault("brandId", first["brandId"])
            reasons: list[str] = []
            for field in v.CONTENT_IMMUTABLE:
                if field in raw and raw[field] != first.get(field):
                    reasons.append(v.R_IMMUTABLE.format(field=field))
            changes: dict[str, Any] = {}
            if "title" in raw:
                if v.is_blank(raw["title"]) or not isinstance(raw["title"], str):
                    reasons.append(v.r_required("title"))
                elif len(raw["title"]) > v.MAX_TITLE:
                    reasons.append(v.r_too_long("Ürün adı", "title", v.MAX_TITLE))
                else:
                    changes["title"] = raw["title"]
            if "description" in raw:
                if v.is_blank(raw["description"]) or not isinstance(raw["description"], str):
                    reasons.append(v.r_required("description"))
                elif len(raw["description"]) > v.MAX_DESCRIPTION:
                    reasons.append(v.r_too_long("Ürün açıklaması", "description", v.MAX_DESCRIPTION))
                else:
                    changes["description"] = raw["description"]
            if "images" in raw:
                image_reasons: list[str] = []
                images = v.check_images(raw["images"], image_reasons)
                if isinstance(raw["images"], list) and not raw["images"]:
                    image_reasons.append(v.R_IMAGES_EMPTY)
                reasons.extend(image_reasons)
                if not image_reasons:
                    changes["images"] = images
            new_attrs = None
            if "attributes" in raw:
                new_attrs, attr_reasons = v.parse_attributes(raw["attributes"], first["categoryId"])
                reasons.extend(attr_reasons)
                if not attr_reasons:
                    reasons.extend(_content_attribute_rules(new_attrs, variants))
            if not reasons:
                now = store.clock.ms()
                for p in variants:
                    p.update(copy.deepcopy(changes))
                    if new_attrs is not None:
                        p["attributes"] = _merge_content_attributes(new_attrs, p)
                    p["modifiedAt"] = now
                    p["contentModifiedAt"] = now
                    store.record_effect("content", seller_id, p["barcode"], batch_id, contentId=content_id)
            results.append((echo, reasons))
        return results

    def _update_variant(self, seller_id: str, batch_id: str, items: list[Any]) -> list[ItemResult]:
        store = self.store
        results: list[ItemResult] = []
        seen: set[str] = set()
        for raw in items:
            if not isinstance(raw, dict):
                results.append(
                    ({"supplierId": _num(seller_id), "updateRequest": raw}, [v.r_invalid("items")])
                )
                continue
            echo = {"supplierId": _num(seller_id), "updateRequest": dict(raw)}
            barcode = raw.get("barcode")
            product, reasons = self._lookup(seller_id, barcode, seen)
            if product is None:
                results.append((echo, reasons))
                continue
            if not product["approved"]:
                results.append((echo, [v.R_NOT_APPROVED_VARIANT.format(barcode=barcode)]))
                continue
            cleaned, reasons = v.check_variant_update(raw)
            if not reasons:
                product.update(cleaned)
                product["modifiedAt"] = store.clock.ms()
                store.record_effect("variant", seller_id, barcode, batch_id, fields=sorted(cleaned))
            results.append((echo, reasons))
        return results

    def _price_inventory(self, seller_id: str, batch_id: str, items: list[Any]) -> list[ItemResult]:
        store = self.store
        results: list[ItemResult] = []
        seen: set[str] = set()
        stamp = dt.datetime.fromtimestamp(store.clock.now(), dt.UTC).isoformat(timespec="milliseconds")
        for raw in items:
            if not isinstance(raw, dict):
                results.append(({"updateRequestDate": stamp, "item": raw}, [v.r_invalid("items")]))
                continue
            echo = {"updateRequestDate": stamp}
            echo.update({k: raw[k] for k in ("quantity", "salePrice", "barcode", "listPrice") if k in raw})
            barcode = raw.get("barcode")
            if isinstance(barcode, str) and barcode in seen:
                results.append((echo, [v.R_DUPLICATE_IN_REQUEST.format(barcode=barcode)]))
                continue
            if isinstance(barcode, str):
                seen.add(barcode)
            product = store.product(seller_id, barcode) if isinstance(barcode, str) else None
            changes, reasons = v.check_price_item(raw, product)
            if not reasons and ("salePrice" in changes or "listPrice" in changes):
                reasons.extend(self._price_rate(seller_id, barcode))
            if not reasons and product is not None:
                now = store.clock.ms()
                product.update(changes)
                product["modifiedAt"] = now
                if "quantity" in changes:
                    product["stockModifiedAt"] = now
                if "salePrice" in changes or "listPrice" in changes:
                    product["priceModifiedAt"] = now
                store.record_effect("stock_price", seller_id, barcode, batch_id, **changes)
            results.append((echo, reasons))
        return results

    def _price_rate(self, seller_id: str, barcode: str) -> list[str]:
        limit = self.settings.price_updates_per_minute
        if not limit:
            return []
        now = self.store.clock.now()
        hits = self.store.price_hits.setdefault((seller_id, barcode), deque())
        while hits and hits[0] <= now - 60.0:
            hits.popleft()
        if len(hits) >= scaled(limit, self.settings.rate_scale):
            return [v.R_PRICE_RATE.format(limit=limit, barcode=barcode)]
        hits.append(now)
        return []

    def _delete(self, seller_id: str, batch_id: str, items: list[Any]) -> list[ItemResult]:
        store = self.store
        results: list[ItemResult] = []
        for raw in items:
            barcode = raw.get("barcode") if isinstance(raw, dict) else None
            echo = {"barcode": barcode}
            product, reasons = self._lookup(seller_id, barcode)
            if product is None:
                results.append((echo, reasons))
                continue
            # Guide: pending products, and approved products that are archived, can be deleted.
            if product["approved"] and not product["archived"]:
                results.append((echo, [v.R_DELETE_NOT_ARCHIVED.format(barcode=barcode)]))
                continue
            del store.products[(seller_id, barcode)]
            store.record_effect("delete", seller_id, barcode, batch_id)
            results.append((echo, []))
        return results

    def _archive(self, seller_id: str, batch_id: str, items: list[Any]) -> list[ItemResult]:
        store = self.store
        results: list[ItemResult] = []
        for raw in items:
            barcode = raw.get("barcode") if isinstance(raw, dict) else None
            archived = raw.get("archived") if isinstance(raw, dict) else None
            echo = {"archived": archived, "supplierId": _num(seller_id), "barcode": barcode}
            product, reasons = self._lookup(seller_id, barcode)
            if product is None:
                results.append((echo, reasons))
                continue
            if not isinstance(archived, bool):
                results.append((echo, [v.R_ARCHIVED_FLAG]))
                continue
            now = store.clock.ms()
            product["archived"] = archived
            product["archivedDate"] = now if archived else None
            product["modifiedAt"] = now
            store.record_effect("archive", seller_id, barcode, batch_id, archived=archived)
            results.append((echo, []))
        return results


def _num(seller_id: str) -> int | str:
    return int(seller_id) if seller_id.isdigit() else seller_id


def _content_attribute_rules(new_attrs: list[dict[str, Any]], variants: list[dict[str, Any]]) -> list[str]:
    """content-bulk-update: every current content attribute must be re-sent, and slicer/varianter
    values of an approved product can never change."""
    category_id = variants[0]["categoryId"]
    reasons: list[str] = []
    sent = {a["attributeId"] for a in new_attrs}
    current = variants[0]["attributes"]
    for a in current:
        d = reference.attribute(category_id, a["attributeId"])
        if d is not None and not d.varianter and a["attributeId"] not in sent:
            reasons.append(v.R_ATTR_ALL_REQUIRED.format(name=d.name, id=d.id))
    if v.attribute_signature(new_attrs, category_id, slicer=True) != v.attribute_signature(
        current, category_id, slicer=True
    ):
        for d in reference.category_attributes(category_id):
            if d.slicer:
                reasons.append(v.R_IMMUTABLE_ATTR.format(name=d.name, id=d.id))
    sent_varianter = v.attribute_signature(new_attrs, category_id, slicer=False)
    if sent_varianter and any(
        v.attribute_signature(p["attributes"], category_id, slicer=False) != sent_varianter for p in variants
    ):
        for d in reference.category_attributes(category_id):
            if d.varianter:
                reasons.append(v.R_IMMUTABLE_ATTR.format(name=d.name, id=d.id))
    return reasons


def _merge_content_attributes(
    new_attrs: list[dict[str, Any]], product: dict[str, Any]
) -> list[dict[str, Any]]:
    """New content-level attributes plus the variant's own varianter values (kept as they were)."""
    category_id = product["categoryId"]

    def is_varianter(a: dict[str, Any]) -> bool:
        d = reference.attribute(category_id, a["attributeId"])
        return d is not None and d.varianter

    merged = [copy.deepcopy(a) for a in new_attrs if not is_varianter(a)]
    merged += [copy.deepcopy(a) for a in product["attributes"] if is_varianter(a)]
    return merged


def render_batch(batch: dict[str, Any]) -> dict[str, Any]:
    """The public getBatchRequestResult body of a stored batch."""
    out = {
        "batchRequestId": batch["batchRequestId"],
        "items": copy.deepcopy(batch["items"]),
        "status": batch["status"],
        "creationDate": batch["creationDate"],
        "lastModification": batch["lastModification"],
        "sourceType": batch["sourceType"],
        "itemCount": batch["itemCount"],
        "failedItemCount": batch["failedItemCount"],
        "batchRequestType": batch["batchRequestType"],
    }
    if batch["kind"] == "price_inventory":
        # "Stok Fiyat güncelleme işlemleri sonrasında ... item bazlı status alanlarını kontrol etmeniz
        # gerekmektedir. Batch status alanı tarafınıza dönmeyecektir." — so no top-level status.
        del out["status"]
    return out
