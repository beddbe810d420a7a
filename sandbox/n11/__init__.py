"""Local simulator of N11's REST API (marketplace-apis.md §3); see app.py for the entry points."""

from .app import DEFAULT_APP_KEY, DEFAULT_APP_SECRET, DEFAULT_PORT, N11Sandbox, main, serve
from .reference import DEMO_CATEGORIES
from .state import Account

__all__ = [
    "DEFAULT_APP_KEY",
    "DEFAULT_APP_SECRET",
    "DEFAULT_PORT",
    "DEMO_CATEGORIES",
    "Account",
    "N11Sandbox",
    "main",
    "serve",
]
