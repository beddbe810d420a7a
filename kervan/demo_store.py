"""The demo marketplace account: a Trendyol channel pointing at the local sandbox, with the
OpenCart demo catalogue's categories and manufacturers mapped to the sandbox's reference data.
Used by ``kervan demo``, the tests and the benchmarks."""

from __future__ import annotations

import json

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


def install(db: Database, base_url: str, *, image_base_url: str = "https://demo.kervan.test/image/") -> int:
    """Create (or refresh) the demo Trendyol account and its mappings; returns its channel id."""
    account = channels.upsert(
        db, "trendyol", name="Trendyol (sandbox)", base_url=base_url, seller_id=SELLER_ID,
        credentials={"api_key": API_KEY, "api_secret": API_SECRET, "integrator": "Kervan"},
        settings={"image_base_url": image_base_url, "default_brand_id": DEFAULT_BRAND, "language": "tr-tr",
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
