"""The catalog role's Hepsiburada part: products go in through a catalog import keyed by merchant
SKU; once HB opened the listing, price and stock travel as separate listing uploads. HB has no
listing delete: taking a listing down sets its stock to 0."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bridge.opencart import Product
from workers.binder import Listing
from workers.catalog.base import CREATE, Catalog
from workers.mappers import hepsiburada as mapper
from workers.stock import StockRules


class HepsiburadaCatalog(Catalog):
    label = "Hepsiburada"
    mapping_error = mapper.MappingError
    PARTS = {"price": ("price",), "stock": ("availableStock",)}
    STOCK_FIELDS = ("availableStock",)
    COALESCED_PARTS = ("price", "stock", CREATE)  # one import file carries many new products
    PRICE_FIELDS = ("price",)
    REMOTE_ID = ("merchantSku", "hepsiburadaSku")  # uploads may name the listing by it

    def load_mapping(self) -> mapper.HepsiburadaMapping:
        categories: dict[int, int | mapper.HepsiburadaCategory] = {}
        brands: dict[int, str] = {}
        for r in self.mapping_rows():
            if r["kind"] == "category":
                categories[int(r["local_id"])] = mapper.HepsiburadaCategory(
                    int(r["remote_id"]), dict(r["extra"].get("attributes") or {}))
            elif r["kind"] == "brand":
                brands[int(r["local_id"])] = str(r["remote_id"])
        s = self.account.settings
        return mapper.HepsiburadaMapping(
            merchant_id=self.account.seller_id,
            categories=categories,
            brands=brands,
            default_brand=s.get("default_brand", ""),
            image_base_url=s.get("image_base_url", ""),
            placeholder_image=s.get("placeholder_image", ""),
            language=s.get("language", "tr-tr"),
            warranty_months=int(s.get("warranty_months", 24)),
            stock=StockRules.from_settings(s),
        )

    def desired(self, product: Product, master: Product | None) -> dict[str, Any]:
        mapping = self.mapping()
        item = mapper.to_import_item(product, mapping, master=master)
        # The import's price/stock only seed a new listing; afterwards the listing uploads own them,
        # so they are kept apart from the content for diffing.
        attributes = {k: v for k, v in item["attributes"].items() if k not in ("price", "stock")}
        return {
            "merchantSku": attributes["merchantSku"],
            "categoryId": item["categoryId"],
            "merchant": item["merchant"],
            "attributes": attributes,
            "price": float(mapper.gross_price(product)),
            "availableStock": mapper.quantity_of(product, mapping),
        }

    def key_of(self, desired: dict[str, Any]) -> str:
        return desired["merchantSku"]

    @staticmethod
    def import_item(desired: dict[str, Any]) -> dict[str, Any]:
        attributes = {**desired["attributes"], "price": mapper.import_price(Decimal(str(desired["price"]))),
                      "stock": str(desired["availableStock"])}
        return {"categoryId": desired["categoryId"], "merchant": desired["merchant"], "attributes": attributes}

    # A new product goes in through the catalog import, seeded with its price and stock; later
    # changes of those travel as listing uploads (``send_part``).
    def create_row(self, desired: dict[str, Any]) -> dict[str, Any]:
        return self.import_item(desired)

    def send_creates(self, rows: list[dict[str, Any]]) -> str:
        return self.client.import_products(rows)

    def _ident(self, listing: Listing) -> dict[str, Any]:
        row: dict[str, Any] = {"merchantSku": listing.remote_sku}
        if listing.remote_id:
            row["hepsiburadaSku"] = listing.remote_id
        return row

    def send_part(self, part: str, listing: Listing, desired: dict[str, Any], fields: dict[str, Any]) -> str:
        if part == "price":
            return self.client.upload_prices([{**self._ident(listing), "price": desired["price"]}])
        if part == "stock":
            return self.client.upload_stocks([{**self._ident(listing), "availableStock": desired["availableStock"]}])
        # Content: HB updates a merchant SKU it already holds when it is imported again.
        return self.client.import_products([self.import_item(desired)])

    def batch_row(self, part: str, listing: Listing, desired: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        field = "price" if part == "price" else "availableStock"
        return {**self._ident(listing), field: desired[field]}

    def send_rows(self, part: str, rows: list[dict[str, Any]]) -> str:
        return self.client.upload_prices(rows) if part == "price" else self.client.upload_stocks(rows)

    def remote_body(self, key: str) -> tuple[str | None, dict[str, Any]] | None:
        found = self.client.find_listings([key])
        if not found:
            return None
        return found[0].get("hepsiburadaSku"), _listing_body(found[0])

    def remote_states(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {row["merchantSku"]: _listing_body(row) for row in self.client.find_listings(keys)}

    def take_down(self, listing: Listing) -> tuple[str, str | None]:
        return "delete", self.client.upload_stocks([{**self._ident(listing), "availableStock": 0}])


def _listing_body(row: dict[str, Any]) -> dict[str, Any]:
    # The listing tells price and stock, not the catalog content: that is imported again.
    body = {"merchantSku": row.get("merchantSku"), "price": row.get("price"), "availableStock": row.get("availableStock")}
    return {k: v for k, v in body.items() if v is not None}
