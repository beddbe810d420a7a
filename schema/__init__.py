"""Kervan's SQL migrations: the one source for ``kervan migrate`` and the extension installer."""

from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
