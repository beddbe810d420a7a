"""Local simulator of Amazon's Selling Partner API (EU) and Login with Amazon (see app.py)."""

from .app import DEFAULT_PORT, AmazonSandbox, main, serve
from .reference import (
    DE,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REFRESH_TOKEN,
    DEFAULT_SELLER_ID,
    DEMO_PRODUCT_TYPES,
    TR,
)
from .service import Seller

__all__ = [
    "DE",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_PORT",
    "DEFAULT_REFRESH_TOKEN",
    "DEFAULT_SELLER_ID",
    "DEMO_PRODUCT_TYPES",
    "TR",
    "AmazonSandbox",
    "Seller",
    "main",
    "serve",
]
