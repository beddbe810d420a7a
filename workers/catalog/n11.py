"""The catalog role's N11 part: a product-create task per new SKU; afterwards the product-update
task for the fields N11 lets change and the price-stock task for prices and quantity. Title,
category, images and barcode cannot be changed through N11's API."""

from __future__ import annotations

from typing import Any

from bridge.opencart import Product
from workers.binder import Listing
from workers.catalog.base import CREATE, Catalog
from workers.mappers import n11 as mapper
from workers.stock import StockRules

PRICE_STOCK_FIELDS = ("listPrice", "salePrice", "quantity", "currencyType")
PRODUCT_FIELDS = ("vatRate", "preparingDay", "shipmentTemplate", "productMainId", "description", "attributes")
_REMOTE_FIELDS = ("title", "description", "categoryId", "currencyType", "productMainId", "preparingDay",
                  "shipmentTemplate", "stockCode", "quantity", "images", "attributes", "salePrice", "listPrice",
                  "vatRate", "barcode")


class N11Catalog(Catalog):
    label = "N11"
    mapping_error = mapper.MappingError
    PARTS = {"price_stock": PRICE_STOCK_FIELDS, "product": PRODUCT_FIELDS}
    FIXED_FIELDS = ("title", "categoryId", "images", "barcode")
    COALESCED_PARTS = ("price_stock", CREATE)  # product-create tasks take up to 1,000 SKUs

    def load_mapping(self) -> mapper.N11Mapping:
        categories: dict[int, int] = {}
        category_attributes: dict[int, tuple[dict[str, Any], ...]] = {}
        brands: dict[int, int] = {}
        for r in self.mapping_rows():
            if r["kind"] == "category":
                remote = int(r["remote_id"])
                categories[int(r["local_id"])] = remote
                if r["extra"].get("attributes"):
                    category_attributes[remote] = tuple(r["extra"]["attributes"])
            elif r["kind"] == "brand":
                brands[int(r["local_id"])] = int(r["remote_id"])
        s = self.account.settings
        return mapper.N11Mapping(
            categories=categories,
            category_attributes=category_attributes,
            brands=brands,
            default_brand=s.get("default_brand", ""),
            image_base_url=s.get("image_base_url", ""),
            placeholder_image=s.get("placeholder_image", ""),
            shipment_template=s.get("shipment_template", "Standart"),
            preparing_day=int(s.get("preparing_day", 3)),
            currency=s.get("currency", "TL"),
            language=s.get("language", "tr-tr"),
            stock=StockRules.from_settings(s),
        )

    def desired(self, product: Product, master: Product | None) -> dict[str, Any]:
        return mapper.to_sku(product, self.mapping(), master=master)

    def key_of(self, desired: dict[str, Any]) -> str:
        return desired["stockCode"]

    def send_part(self, part: str, listing: Listing, desired: dict[str, Any], fields: dict[str, Any]) -> str:
        code = desired["stockCode"]
        if part == "price_stock":
            return self.client.update_price_stock([{"stockCode": code, **fields}])
        # N11 requires vatRate on every product update.
        return self.client.update_products([{"stockCode": code, "vatRate": desired["vatRate"], **fields}])

    def batch_row(self, part: str, listing: Listing, desired: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        return {"stockCode": desired["stockCode"], **fields}

    def send_rows(self, part: str, rows: list[dict[str, Any]]) -> str:
        return self.client.update_price_stock(rows)

    def remote_body(self, key: str) -> tuple[str | None, dict[str, Any]] | None:
        found = self.client.find_products([key])
        if not found:
            return None
        row = found[0]
        remote_id = row.get("n11ProductId") or row.get("productId") or row.get("id")
        return (str(remote_id) if remote_id else None), {k: row[k] for k in _REMOTE_FIELDS if row.get(k) is not None}

    def take_down(self, listing: Listing) -> tuple[str, str | None]:
        return "delete", self.client.delete_products([listing.remote_sku])
