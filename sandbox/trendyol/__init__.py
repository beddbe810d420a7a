"""Local simulator of Trendyol's product/catalog and order integration API (see app.py for the entry points)."""

from .app import DEFAULT_PORT, TrendyolSandbox, main, serve
from .state import Seller

__all__ = ["DEFAULT_PORT", "Seller", "TrendyolSandbox", "main", "serve"]
