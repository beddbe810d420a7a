"""The demo marketplace accounts: one per marketplace, pointing at its local sandbox, with the
OpenCart demo catalogue's categories and manufacturers mapped to that sandbox's reference data.
Used by ``kervan demo``, the tests and the benchmarks."""

from __future__ import annotations

import json
from typing import Any

from bridge import channels
from bridge.db import Database

SELLER_ID = "1001"
API_KEY = "sandbox-key"
API_SECRET = "sandbox-secret"
ORIGIN_CN = [{"attributeId": 1192, "attributeValueIds": [10618]}]  # Menşei: CN

# OpenCart demo category id → sandbox Trendyol leaf category id.
CATEGORIES = {
    18: 1001, 45: 1001, 46: 1001,  # Laptops & Notebooks → Dizüstü Bilgisayar
    20: 5001, 26: 5001, 27: 5001,  # Desktops → Diğer Aksesuar (the sandbox has no desktop leaf)
    24: 2001,                      # Phones & PDAs → Cep Telefonu
    28: 1002,                      # Monitors → Monitör
    33: 3001,                      # Cameras → Dijital Fotoğraf Makinesi
    34: 4001,                      # MP3 Players → MP3 Çalar
    57: 1003,                      # Tablets → Tablet
}
# OpenCart demo manufacturer id → sandbox Trendyol brand id.
BRANDS = {5: 1794, 6: 1795, 7: 1793, 8: 1791, 9: 1792, 10: 1796}
DEFAULT_BRAND = 1797


IMAGE_BASE_URL = "https://demo.kervan.test/image/"


def _mappings(db: Database, channel_id: int, categories: dict[int, Any], brands: dict[int, Any],
              extra: dict[Any, Any] | None = None) -> None:
    """``extra``: remote category id → the mapping's JSON extra (fixed attributes)."""
    rows = [(channel_id, "category", str(k), str(v), json.dumps((extra or {}).get(v)) if (extra or {}).get(v) else None)
            for k, v in categories.items()]
    rows += [(channel_id, "brand", str(k), str(v), None) for k, v in brands.items()]
    db.run_in_transaction(lambda cur: cur.executemany(
        "INSERT INTO {p}kervan_mapping (channel_id, kind, local_id, remote_id, extra) VALUES (%s, %s, %s, %s, %s)"
        " ON DUPLICATE KEY UPDATE remote_id = VALUES(remote_id), extra = VALUES(extra)", rows))


def install_hepsiburada(db: Database, base_url: str) -> int:
    """The sandbox's default merchant; HB takes brands as names, so OpenCart's names are used."""
    from sandbox.hepsiburada import DEFAULT_MERCHANT, DEMO_CATEGORIES

    m = DEFAULT_MERCHANT
    account = channels.upsert(
        db, "hepsiburada", name="Hepsiburada (sandbox)", base_url=base_url, seller_id=m.merchant_id,
        credentials={"username": m.username, "password": m.password, "user_agent": m.user_agent},
        settings={"image_base_url": IMAGE_BASE_URL, "default_brand": "Kervan", "placeholder_image": "placeholder.png",
                  "language": "tr-tr"},
    )
    _mappings(db, account.channel_id, DEMO_CATEGORIES, {})
    return account.channel_id


def install_n11(db: Database, base_url: str) -> int:
    from sandbox.n11 import DEFAULT_APP_KEY, DEFAULT_APP_SECRET
    from sandbox.n11.reference import DEMO_CATEGORIES

    account = channels.upsert(
        db, "n11", name="N11 (sandbox)", base_url=base_url, seller_id="kervan-demo",
        credentials={"app_key": DEFAULT_APP_KEY, "app_secret": DEFAULT_APP_SECRET, "integrator": "Kervan"},
        settings={"image_base_url": IMAGE_BASE_URL, "default_brand": "Kervan", "placeholder_image": "placeholder.png",
                  "language": "tr-tr"},
    )
    # OpenCart demo manufacturer id → value id of N11's brand attribute in the sandbox.
    _mappings(db, account.channel_id, DEMO_CATEGORIES, {5: 106, 6: 107, 7: 108, 8: 101, 9: 102, 10: 105})
    return account.channel_id


def install_amazon(db: Database, base_url: str) -> int:
    from sandbox.amazon.reference import (
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        DEFAULT_REFRESH_TOKEN,
        DEFAULT_SELLER_ID,
        DEMO_PRODUCT_TYPES,
        PRODUCT_TYPES,
        TR,
    )

    account = channels.upsert(
        db, "amazon", name="Amazon TR (sandbox)", base_url=base_url, seller_id=DEFAULT_SELLER_ID,
        credentials={"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET,
                     "refresh_token": DEFAULT_REFRESH_TOKEN},
        settings={"image_base_url": IMAGE_BASE_URL, "default_brand": "Kervan", "marketplace_ids": [TR],
                  "placeholder_image": "placeholder.png",
                  "lwa_url": base_url.rstrip("/") + "/auth/o2/token", "language": "en-gb"},
    )
    # Product types that require it get "batteries_required" fixed per type.
    extra = {t: {"attributes": {"batteries_required": False}} for t, d in PRODUCT_TYPES.items()
             if "batteries_required" in d["required"]}
    _mappings(db, account.channel_id, DEMO_PRODUCT_TYPES, {}, extra)
    return account.channel_id


def add_lira(db: Database) -> None:
    """Marketplace orders come in Turkish lira; a Turkish shop has it as a currency (the demo's
    rate to the store's default is 1, for readable numbers)."""
    db.execute(
        "INSERT INTO {p}currency (title, code, symbol_left, symbol_right, decimal_place, value, status, date_modified)"
        " SELECT 'Türk Lirası', 'TRY', '', '₺', '2', 1.0, 1, NOW() FROM DUAL"
        " WHERE NOT EXISTS (SELECT 1 FROM {p}currency WHERE code = 'TRY')")


def install_all(db: Database, base_urls: dict[str, str]) -> dict[str, int]:
    """Every marketplace in ``base_urls`` (code → sandbox URL); returns code → channel id."""
    add_lira(db)
    installers = {"trendyol": install, "hepsiburada": install_hepsiburada, "n11": install_n11,
                  "amazon": install_amazon}
    return {code: installers[code](db, url) for code, url in base_urls.items()}


def install(db: Database, base_url: str, *, image_base_url: str = IMAGE_BASE_URL) -> int:
    """Create (or refresh) the demo Trendyol account and its mappings; returns its channel id."""
    account = channels.upsert(
        db, "trendyol", name="Trendyol (sandbox)", base_url=base_url, seller_id=SELLER_ID,
        credentials={"api_key": API_KEY, "api_secret": API_SECRET, "integrator": "Kervan"},
        settings={"image_base_url": image_base_url, "default_brand_id": DEFAULT_BRAND, "language": "tr-tr",
                  # The sandbox does not need Trendyol's 5 s between order-stream calls.
                  "stream_interval": 0.5,
                  # OpenCart's own placeholder, for the demo product that has no image.
                  "placeholder_image": "placeholder.png"},
    )
    rows = [(account.channel_id, "category", str(k), str(v), json.dumps({"attributes": ORIGIN_CN}))
            for k, v in CATEGORIES.items()]
    rows += [(account.channel_id, "brand", str(k), str(v), None) for k, v in BRANDS.items()]
    db.run_in_transaction(lambda cur: cur.executemany(
        "INSERT INTO {p}kervan_mapping (channel_id, kind, local_id, remote_id, extra) VALUES (%s, %s, %s, %s, %s)"
        " ON DUPLICATE KEY UPDATE remote_id = VALUES(remote_id), extra = VALUES(extra)", rows))
    return account.channel_id
