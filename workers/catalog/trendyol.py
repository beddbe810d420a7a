"""The catalog role's Trendyol part: a v2 create for a new listing; for an existing one the
content, variant and price/stock updates whose fields changed, with Trendyol's 15-minute rule
for identical price/stock bodies handled. The shared flow is ``workers.catalog.base``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from loguru import logger

from bridge.channels import ChannelAccount
from bridge.db import Database
from bridge.opencart import Product
from workers import batches
from workers.batches import Entry
from workers.binder import Listing, digest
from workers.catalog.base import CREATE, Catalog
from workers.channels.errors import DuplicateRequestError, PermanentError, TransientError
from workers.channels.trendyol import normalize_barcode
from workers.mappers import trendyol as mapper
from workers.stock import StockRules


class CreateInFlight(TransientError):
    """The listing's create is still being processed by Trendyol; try again after it finished."""


class SameRequestTooSoon(TransientError):
    """Trendyol's 15-minute rule blocks a price/stock body it holds other values than; retry later."""


def load_mapping(db: Database, account: ChannelAccount) -> mapper.TrendyolMapping:
    rows = db.query("SELECT kind, local_id, remote_id, extra FROM {p}kervan_mapping WHERE channel_id = %s",
                    (account.channel_id,))
    categories, brands = {}, {}
    for r in rows:
        extra = json.loads(r["extra"] or "{}")
        if r["kind"] == "category":
            categories[int(r["local_id"])] = mapper.CategoryMapping(int(r["remote_id"]),
                                                                    tuple(extra.get("attributes", ())))
        elif r["kind"] == "brand":
            brands[int(r["local_id"])] = int(r["remote_id"])
    s = account.settings
    return mapper.TrendyolMapping(
        categories=categories,
        brands=brands,
        image_base_url=s.get("image_base_url", ""),
        language=s.get("language", "tr-tr"),
        default_brand_id=s.get("default_brand_id"),
        placeholder_image=s.get("placeholder_image", ""),
        stock=StockRules.from_settings(s),
    )


class TrendyolCatalog(Catalog):
    """Trendyol's listing rules: a v2 create; before approval the whole body again, keyed by
    barcode; after approval separate content, variant and price/stock updates, and the fields of
    ``mapper.FIXED_FIELDS`` frozen. Taking down archives first, then deletes."""

    label = "Trendyol"
    mapping_error = mapper.MappingError
    FIXED_FIELDS = mapper.FIXED_FIELDS
    COALESCED_PARTS = ("price_stock", CREATE)
    REMOTE_ID = ("barcode", "contentId")  # content updates address approved products by contentId

    def load_mapping(self) -> mapper.TrendyolMapping:
        return load_mapping(self.db, self.account)

    def desired(self, product: Product, master: Product | None) -> dict[str, Any]:
        return mapper.to_item(product, self.mapping(), master=master)

    def key_of(self, desired: dict[str, Any]) -> str:
        return desired["barcode"]

    def before_claim(self, listing: Listing) -> None:
        if self._create_in_flight(listing):
            raise CreateInFlight(f"Trendyol is still processing the create of {listing.remote_sku}")

    def remote_body(self, key: str) -> tuple[str | None, dict[str, Any]] | None:
        found = self.client.find_products([key])
        if not found:
            return None
        remote = found[0]
        # Only an approved product has a contentId that content updates may use.
        content_id = remote.get("contentId") if remote.get("approved") else None
        return (str(content_id) if content_id else None), remote_as_body(remote, key)

    def remote_states(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        # One call per 50 barcodes; Trendyol reports barcodes normalised (inner spaces removed).
        by_normal = {normalize_barcode(k): k for k in keys}
        return {by_normal[nb]: remote_as_body(r, by_normal[nb]) for r in self.client.find_products(list(keys))
                if (nb := normalize_barcode(str(r.get("barcode") or ""))) in by_normal}

    def archives_first(self, listing: Listing) -> bool:
        # Trendyol deletes only archived products, and archives only approved ones.
        return bool(listing.remote_id) and listing.status != "archived"

    def take_down(self, listing: Listing) -> tuple[str, str | None]:
        if self.archives_first(listing):
            return "archive", self.client.archive_products([listing.remote_sku])
        return "delete", self.client.delete_products([listing.remote_sku])

    def _create_in_flight(self, listing: Listing) -> bool:
        if listing.known_remotely or not listing.batch_id:
            return False
        row = self.db.one(
            "SELECT b.status FROM {p}kervan_batch b JOIN {p}kervan_batch_item i ON i.batch_id = b.batch_id"
            " WHERE b.channel_id = %s AND b.remote_batch_id = %s AND i.product_id = %s AND i.part = 'create'",
            (self.account.channel_id, listing.batch_id, listing.product_id),
        )
        return bool(row) and row["status"] in ("submitted", "in_progress")

    def send(self, product_id: int, listing: Listing, desired: dict[str, Any], h: str) -> Future | None:
        barcode = desired["barcode"]
        unsure = listing.status != "new" or listing.pending_hash is not None
        if (not listing.known_remotely and unsure) or (listing.known_remotely and not listing.remote_id):
            # Either we may have created it before and crashed before recording that, or we do
            # not know its contentId yet (needed to tell approved from not): ask Trendyol.
            self.adopt_remote(product_id, barcode)
            listing = self.binder.get(product_id) or listing
        if not listing.known_remotely:
            # v2 create, up to 1,000 items a request: gathered with others when a window is set.
            return self.send_create(product_id, barcode, desired, h)
        confirmed = listing.confirmed
        fixed = [f for f in mapper.FIXED_FIELDS if desired.get(f) != confirmed.get(f)]
        if not listing.remote_id:
            # Not approved yet: Trendyol takes the whole body again, keyed by barcode.
            batch_id = self.client.update_unapproved([desired])
            batches.record(self.db, self.account.channel_id, batch_id, "update",
                           [Entry(product_id, barcode, "unapproved", desired, h)])
            return
        if fixed:
            self.binder.set_status(
                product_id, "failed",
                "Trendyol does not allow changing " + ", ".join(fixed) + " of an approved product; "
                "archive it on Trendyol and list it again to change them.")
            desired = {**desired, **{f: confirmed.get(f) for f in fixed}}
            h = digest(desired)
            if not self.binder.claim(product_id, h, f"{listing.listing_id}-fixed-{h[:8]}"):
                return
        # Diffed against what Trendyol will hold once the requests on their way are applied (see
        # Catalog.projected): A → B → A must send A again while B is still in flight.
        parts = mapper.changed_parts(desired, self.projected(listing))
        if not parts:
            # What is on its way already makes Trendyol hold this: its results confirm it.
            self.binder.release(product_id, h)
            return None
        if "content" in parts:
            content_id = str(listing.remote_id)
            batch_id = self.client.update_content([{"contentId": int(content_id), **parts["content"]}])
            batches.record(self.db, self.account.channel_id, batch_id, "update",
                           [Entry(product_id, content_id, "content", parts["content"], h)])
        if "variant" in parts:
            batch_id = self.client.update_variants([{"barcode": barcode, **parts["variant"]}])
            batches.record(self.db, self.account.channel_id, batch_id, "update",
                           [Entry(product_id, barcode, "variant", parts["variant"], h)])
        if "price_stock" in parts and self.coalesces("price_stock"):
            entry = Entry(product_id, barcode, "price_stock", parts["price_stock"], h)
            logger.info("product {} → Trendyol update ({})", product_id, ", ".join(parts))
            return self.defer("price_stock", product_id, h, barcode, {"barcode": barcode, **parts["price_stock"]},
                              entry)
        if "price_stock" in parts:
            entry = Entry(product_id, barcode, "price_stock", parts["price_stock"], h)
            try:
                batch_id = self.client.update_price_inventory([{"barcode": barcode, **parts["price_stock"]}])
            except DuplicateRequestError:
                # Trendyol refuses a body it saw in the last 15 minutes. Either it holds these very
                # values (confirm them), or the value went A → B → A and Trendyol holds B: then
                # nothing can change it before the 15 minutes are over, so try again later.
                if not self._holds(barcode, parts["price_stock"]):
                    raise SameRequestTooSoon(
                        f"Trendyol refuses the same price/stock for {barcode} within 15 minutes; "
                        "it will be sent again when that time has passed") from None
                batches.confirm_now(self.db, self.account.channel_id, [entry])
            else:
                batches.record(self.db, self.account.channel_id, batch_id, "price_stock", [entry])
        logger.info("product {} → Trendyol update ({})", product_id, ", ".join(parts) or "nothing")

    def send_rows(self, part: str, rows: list[dict[str, Any]]) -> str:
        return self.client.update_price_inventory(rows)

    def send_creates(self, rows: list[dict[str, Any]]) -> str:
        return self.client.create_products(rows)

    def refused(self, part: str, items: list[tuple[str, Any]], exc: PermanentError) -> dict[str, BaseException]:
        if not isinstance(exc, DuplicateRequestError):
            return super().refused(part, items, exc)
        # Trendyol refused the body as one it saw in the last 15 minutes (a resend after a sale
        # there, say): per listing, either it holds these values (confirm them) or the 15 minutes
        # must pass first. It is not the merchant's error to show.
        failures: dict[str, BaseException] = {}
        for key, d in items:
            fields = {k: v for k, v in d.row.items() if k != "barcode"}
            if self._holds(key, fields):
                batches.confirm_now(self.db, self.account.channel_id, [d.entry])
            else:
                failures[key] = SameRequestTooSoon(
                    f"Trendyol refuses the same price/stock for {key} within 15 minutes; "
                    "it will be sent again when that time has passed")
        return failures

    def _holds(self, barcode: str, values: dict[str, Any]) -> bool:
        found = self.client.find_products([barcode])
        held = remote_as_body(found[0], barcode) if found else {}
        return all(held.get(k) == v for k, v in values.items())


def remote_as_body(remote: dict[str, Any], barcode: str) -> dict[str, Any]:
    """What Trendyol holds for one barcode (a ``find_products`` entry: an approved variant with its
    content, or an unapproved product) in the shape of our create item, for diffing. Fields it
    does not report are left out, so the next pass sends them."""
    content = remote.get("content") or {}
    merged = {**content, **remote}
    body: dict[str, Any] = {"barcode": remote.get("barcode") or barcode}
    for key in ("title", "productMainId", "stockCode", "dimensionalWeight", "description", "vatRate",
                "images", "attributes", "brandId", "categoryId", "quantity", "salePrice", "listPrice"):
        if merged.get(key) is not None:
            body[key] = merged[key]
    if isinstance(merged.get("brand"), dict) and "brandId" not in body:
        body["brandId"] = merged["brand"].get("id")
    if isinstance(merged.get("category"), dict) and "categoryId" not in body:
        body["categoryId"] = merged["category"].get("id")
    if isinstance(merged.get("stock"), dict) and "quantity" not in body:
        body["quantity"] = merged["stock"].get("quantity")
    price = merged.get("price")
    if isinstance(price, dict):
        body.setdefault("salePrice", price.get("salePrice"))
        body.setdefault("listPrice", price.get("listPrice"))
    return {k: v for k, v in body.items() if v is not None}
