"""The catalog role's Amazon part: one listing per event through the Listings Items API — a full
``putListingsItem`` for a new listing or changed content, a ``patchListingsItem`` of the offer and
availability for price and stock, ``deleteListingsItem`` to take it down. Amazon answers these
at once (ACCEPTED or INVALID with its issues); JSON_LISTINGS_FEED is for bulk work, whose
submissions Amazon limits to five per five minutes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bridge.opencart import Product
from workers.binder import Listing
from workers.catalog.base import CONTENT, Catalog
from workers.mappers import amazon as mapper
from workers.stock import StockRules

# Price and quantity live in these attributes; they are diffed as price/quantity instead, so a
# price change is a small PATCH and not a full UPDATE.
OFFER_ATTRIBUTES = ("purchasable_offer", "fulfillment_availability")


class AmazonCatalog(Catalog):
    label = "Amazon"
    mapping_error = mapper.MappingError
    PARTS = {"price_stock": ("price", "quantity", "currency", "offer")}
    WHOLE_PARTS = (CONTENT,)  # a full UPDATE carries the offer too
    STOCK_FIELDS = ("quantity", "offer")
    PRICE_FIELDS = ("price",)

    def priced(self, desired: dict[str, Any]) -> dict[str, Any]:
        out = super().priced(desired)
        if out is not desired and "purchasable_offer" in out["offer"]:
            # The offer attribute carries the same price; keep the two equal.
            offer = json.loads(json.dumps(out["offer"]))
            offer["purchasable_offer"][0]["our_price"][0]["schedule"][0]["value_with_tax"] = out["price"]
            out["offer"] = offer
        return out

    def load_mapping(self) -> mapper.AmazonMapping:
        product_types: dict[int, str] = {}
        type_attributes: dict[str, dict[str, Any]] = {}
        brands: dict[int, str] = {}
        for r in self.mapping_rows():
            if r["kind"] == "category":
                product_types[int(r["local_id"])] = str(r["remote_id"])
                if r["extra"].get("attributes"):
                    type_attributes[str(r["remote_id"])] = dict(r["extra"]["attributes"])
            elif r["kind"] == "brand":
                brands[int(r["local_id"])] = str(r["remote_id"])
        s = self.account.settings
        return mapper.AmazonMapping(
            marketplace_id=s.get("marketplace_id", self.client.marketplace_ids[0]),
            product_types=product_types,
            type_attributes=type_attributes,
            brands=brands,
            default_brand=s.get("default_brand", ""),
            image_base_url=s.get("image_base_url", ""),
            placeholder_image=s.get("placeholder_image", ""),
            language=s.get("language", "en-gb"),
            stock=StockRules.from_settings(s),
        )

    def desired(self, product: Product, master: Product | None) -> dict[str, Any]:
        mapping = self.mapping()
        item = mapper.to_item(product, mapping)
        offer = mapper.to_price_stock(product, mapping)
        attributes = item["attributes"]
        return {
            "sku": item["sku"],
            "productType": item["productType"],
            "requirements": item["requirements"],
            "attributes": {k: v for k, v in attributes.items() if k not in OFFER_ATTRIBUTES},
            "offer": {k: attributes[k] for k in OFFER_ATTRIBUTES if k in attributes},
            "price": offer["price"],
            "quantity": offer["quantity"],
            "currency": offer["currency"],
        }

    def key_of(self, desired: dict[str, Any]) -> str:
        return desired["sku"]

    @staticmethod
    def full_item(desired: dict[str, Any]) -> dict[str, Any]:
        return {"sku": desired["sku"], "productType": desired["productType"],
                "requirements": desired["requirements"], "attributes": {**desired["attributes"], **desired["offer"]}}

    # Creates are not coalesced here (no CREATE in COALESCED_PARTS), unlike the other
    # marketplaces: Amazon has no small batch create. Its bulk path, JSON_LISTINGS_FEED, allows
    # five submissions per five minutes per region (shared with every other feed of the seller),
    # and a feed's outcome comes minutes later through a processing report (getFeedDocument:
    # one call per ~45 s). putListingsItem takes 5 requests/s (burst 10), i.e. 1,500 SKUs per five
    # minutes — the volume below which Amazon's guidance says to use the Listings Items API — and
    # answers ACCEPTED or INVALID with the issues at once. A window of a fraction of a second
    # would spend a scarce feed submission on a handful of SKUs; only a bulk first listing of
    # thousands would gain from a feed.
    def create(self, desired: dict[str, Any]) -> str | None:
        # One listing per event: putListingsItem (5/s) answers at once, where a feed would spend
        # one of the five JSON_LISTINGS_FEED submissions Amazon allows per five minutes.
        self.client.put_listings_item(desired["sku"], desired["productType"], self.full_item(desired)["attributes"],
                                      requirements=desired["requirements"])
        return None

    def send_part(self, part: str, listing: Listing, desired: dict[str, Any], fields: dict[str, Any]) -> str | None:
        if part == "price_stock":
            self.client.set_price_stock(desired["sku"], desired["productType"], price=desired["price"],
                                        quantity=desired["quantity"], currency=desired["currency"])
        else:
            self.client.put_listings_item(desired["sku"], desired["productType"],
                                          self.full_item(desired)["attributes"], requirements=desired["requirements"])
        return None

    def remote_body(self, key: str) -> tuple[str | None, dict[str, Any]] | None:
        found = self.client.find_listings([key])
        if not found:
            return None
        summaries = found[0].get("summaries") or [{}]
        # What Amazon reports is not our body's shape; keeping only the SKU makes the next pass a
        # full UPDATE, which Amazon treats as a replace — safe to repeat.
        return summaries[0].get("asin"), {"sku": key}

    def remote_states(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        # Reconciliation compares the offer: getListingsItem's offers and fulfillmentAvailability.
        out = {}
        for key in keys:
            found = self.client.find_listings([key])
            if not found:
                continue
            state: dict[str, Any] = {"sku": key}
            for fa in found[0].get("fulfillmentAvailability") or []:
                if fa.get("fulfillmentChannelCode") == "DEFAULT" and fa.get("quantity") is not None:
                    state["quantity"] = int(fa["quantity"])
            for offer in found[0].get("offers") or []:
                amount = (offer.get("price") or {}).get("amount")
                if amount is not None:
                    state["price"] = float(amount)
            out[key] = state
        return out

    def take_down(self, listing: Listing) -> tuple[str, str | None]:
        self.client.delete_listings_item(str(listing.remote_sku))
        return "delete", None
