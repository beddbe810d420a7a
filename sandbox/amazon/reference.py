"""Reference data of the Amazon sandbox: marketplaces, default credentials, the documented
per-operation rate limits (marketplace-apis.md §4.2) and seeded product types.

Product types and their required attributes are a small, plausible subset of what the Product Type
Definitions API serves for electronics; the real schemas are far larger (see docs/channels/amazon.md).
"""

from __future__ import annotations

from typing import Any

TR = "A33AVAJ2PDY3EV"
DE = "A1PA6795UKMFR9"

MARKETPLACES: dict[str, dict[str, str]] = {
    TR: {"countryCode": "TR", "currency": "TRY", "languageTag": "tr_TR", "name": "Amazon.com.tr"},
    DE: {"countryCode": "DE", "currency": "EUR", "languageTag": "de_DE", "name": "Amazon.de"},
}

DEFAULT_SELLER_ID = "A2KERVANSANDBOX"
DEFAULT_CLIENT_ID = "amzn1.application-oa2-client.kervansandbox"
DEFAULT_CLIENT_SECRET = "sandbox-client-secret"
DEFAULT_REFRESH_TOKEN = "Atzr|sandbox-refresh-token"
TOKEN_TTL = 3600  # seconds an LWA access token is valid

# operation -> (rate in requests/second, burst), as the published models state (§4.2).
RATE_LIMITS: dict[str, tuple[float, int]] = {
    "getOrders": (0.0167, 20),
    "searchOrders": (0.0056, 20),
    "getOrder": (0.5, 30),
    "getOrderItems": (0.5, 30),
    "confirmShipment": (2.0, 10),
    "putListingsItem": (5.0, 10),
    "patchListingsItem": (5.0, 5),
    "getListingsItem": (5.0, 10),
    "deleteListingsItem": (5.0, 5),
    "createFeed": (0.0083, 15),
    "getFeed": (2.0, 15),
    "cancelFeed": (2.0, 15),
    "createFeedDocument": (0.5, 15),
    "getFeedDocument": (0.0222, 10),
    "searchDefinitionsProductTypes": (5.0, 10),
    "getDefinitionsProductType": (5.0, 10),
}
# JSON_LISTINGS_FEED: at most this many submissions per window (seconds) per seller and region.
LISTINGS_FEED_LIMIT = (5, 300.0)
MAX_FEED_MESSAGES = 25_000

# Attributes every seeded product type requires for requirements=LISTING.
COMMON_REQUIRED = (
    "item_name",
    "brand",
    "bullet_point",
    "product_description",
    "condition_type",
    "main_product_image_locator",
)
OFFER_REQUIRED = ("purchasable_offer", "fulfillment_availability")

PRODUCT_TYPES: dict[str, dict[str, Any]] = {
    "NOTEBOOK_COMPUTER": {"displayName": "Notebook Computer", "required": ("batteries_required",)},
    "PERSONAL_COMPUTER": {"displayName": "Personal Computer", "required": ()},
    "CELLULAR_PHONE": {"displayName": "Cellular Phone", "required": ("batteries_required",)},
    "MONITOR": {"displayName": "Monitor", "required": ()},
    "CAMERA_DIGITAL": {"displayName": "Digital Camera", "required": ("batteries_required",)},
    "PORTABLE_ELECTRONIC_DEVICE": {"displayName": "Portable Electronic Device", "required": ()},
    "TABLET_COMPUTER": {"displayName": "Tablet Computer", "required": ("batteries_required",)},
}

# OpenCart demo category id -> Amazon product type.
DEMO_PRODUCT_TYPES: dict[int, str] = {
    18: "NOTEBOOK_COMPUTER",  # Laptops & Notebooks
    45: "NOTEBOOK_COMPUTER",  # Windows
    46: "NOTEBOOK_COMPUTER",  # Macs
    20: "PERSONAL_COMPUTER",  # Desktops
    26: "PERSONAL_COMPUTER",  # PC
    27: "PERSONAL_COMPUTER",  # Mac
    24: "CELLULAR_PHONE",  # Phones & PDAs
    28: "MONITOR",  # Monitors
    33: "CAMERA_DIGITAL",  # Cameras
    34: "PORTABLE_ELECTRONIC_DEVICE",  # MP3 Players
    57: "TABLET_COMPUTER",  # Tablets
}


def required_attributes(product_type: str, requirements: str = "LISTING") -> tuple[str, ...]:
    """The attributes a submission of ``product_type`` must carry for ``requirements``."""
    own = tuple(PRODUCT_TYPES[product_type]["required"])
    if requirements == "LISTING_OFFER_ONLY":
        return ("condition_type", *OFFER_REQUIRED)
    if requirements == "LISTING_PRODUCT_ONLY":
        return (*COMMON_REQUIRED, *own)
    return (*COMMON_REQUIRED, *own, *OFFER_REQUIRED)


def product_type_schema(product_type: str) -> dict[str, Any]:
    """A JSON Schema (meta-schema-less, abridged) for a seeded product type's attributes."""
    required = list(required_attributes(product_type))
    value_list = {"type": "array", "minItems": 1, "items": {"type": "object"}}
    props = {name: dict(value_list) for name in (*required, "list_price", "other_product_image_locator_1")}
    return {
        "$schema": "https://schemas.amazon.com/selling-partners/definitions/product-types/meta-schema/v1",
        "title": PRODUCT_TYPES[product_type]["displayName"],
        "type": "object",
        "required": required,
        "properties": props,
    }
