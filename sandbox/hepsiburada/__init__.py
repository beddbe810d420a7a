"""Local simulator of Hepsiburada's catalog (MPOP), listing and order (OMS) integration APIs."""

from .app import DEFAULT_PORT, HepsiburadaSandbox, main, serve
from .reference import DEMO_CATEGORIES
from .state import DEFAULT_MERCHANT, Merchant

__all__ = ["DEFAULT_MERCHANT", "DEFAULT_PORT", "DEMO_CATEGORIES", "HepsiburadaSandbox", "Merchant", "main", "serve"]
