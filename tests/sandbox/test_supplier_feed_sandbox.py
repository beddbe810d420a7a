"""The supplier feed sandbox over real HTTP: formats and content types, auth styles, determinism,
streaming size, encodings, compression, faults (query and admin), ETag/304, and a request log
that does not keep the token."""

from __future__ import annotations

import base64
import gzip
import io
import zipfile
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from sandbox.supplier import SupplierFeedSandbox
from sandbox.supplier.feed_catalog import products
from sandbox.supplier.feed_render import FORMATS


@pytest.fixture(scope="module")
def sb() -> Iterator[SupplierFeedSandbox]:
    with SupplierFeedSandbox(seed=5) as s:
        yield s


def get(url: str, **kw) -> requests.Response:
    kw.setdefault("timeout", 10)
    return requests.get(url, **kw)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_is_served_with_its_content_type(sb, fmt: str) -> None:
    r = get(sb.feed_url(fmt, items=4))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith(FORMATS[fmt][0])
    assert r.headers["ETag"] and r.headers["Last-Modified"]
    body = r.content.decode("utf-8")
    first = next(products(5, 4))
    assert first.name in body or first.name.replace("&", "&amp;") in body


def test_same_seed_same_bytes_other_seed_other_bytes(sb) -> None:
    a = get(sb.feed_url("ticimax", items=10)).content
    assert a == get(sb.feed_url("ticimax", items=10)).content
    assert a != get(sb.feed_url("ticimax", items=10, seed=6)).content


def test_auth_styles(sb) -> None:
    basic = "Basic " + base64.b64encode(f"{sb.username}:{sb.password}".encode()).decode()
    assert get(sb.feed_url("urun", "basic")).status_code == 401
    assert get(sb.feed_url("urun", "basic"), headers={"Authorization": basic}).status_code == 200
    assert get(sb.feed_url("urun", "path")).status_code == 200
    assert get(sb.feed_url("urun", "path").replace(sb.token, "0" * 32)).status_code == 401
    assert get(sb.feed_url("urun", "query")).status_code == 200
    assert get(sb.feed_url("urun", "query", with_key=False)).status_code == 401
    assert get(sb.feed_url("urun", "bearer")).status_code == 401
    assert get(sb.feed_url("urun", "bearer"), headers={"Authorization": f"Bearer {sb.token}"}).status_code == 200
    assert get(sb.feed_url("urun", "bearer"), headers={"X-Api-Key": sb.token}).status_code == 200
    log = sb.requests()
    assert all(sb.token not in str(e) for e in log)


def test_large_feed_is_streamed_and_complete(sb) -> None:
    n = 20_000
    r = get(sb.feed_url("urun", items=n, variants=1), stream=True)
    count = 0
    tail = b""
    for chunk in r.iter_content(1 << 16):
        count += (tail[-7:] + chunk).count(b"</urun>")
        tail = chunk
    assert count == n
    assert "Content-Length" not in r.headers


def test_encodings_bom_and_declarations(sb) -> None:
    cp = get(sb.feed_url("urun", items=3, encoding="windows-1254")).content
    assert cp.startswith(b'<?xml version="1.0" encoding="windows-1254"?>')
    with pytest.raises(UnicodeDecodeError):
        cp.decode("utf-8")
    assert next(products(5, 3)).name in cp.decode("cp1254")
    lie = get(sb.feed_url("urun", items=3, fault="lying_decl")).content
    assert lie.startswith(b'<?xml version="1.0" encoding="ISO-8859-9"?>')
    lie.decode("utf-8")
    bom = get(sb.feed_url("supplier-csv", items=3, bom=1)).content
    assert bom.startswith(b"\xef\xbb\xbfStok Kodu;")
    none = get(sb.feed_url("urun", items=3, decl="none")).content
    assert none.startswith(b"<urunler>")


def test_compression(sb) -> None:
    gz = get(sb.feed_url("ticimax", items=3, gzip=1)).content
    assert gz[:2] == b"\x1f\x8b" and gzip.decompress(gz).startswith(b"<?xml")
    zp = get(sb.feed_url("ticimax", items=3, zip=1)).content
    assert zp[:4] == b"PK\x03\x04"
    with zipfile.ZipFile(io.BytesIO(zp)) as zf:
        assert zf.namelist() == ["feed.xml"] and zf.read("feed.xml").startswith(b"<?xml")
    r = get(sb.feed_url("ticimax", items=3, content_encoding="gzip"))
    assert r.headers["Content-Encoding"] == "gzip" and r.content.startswith(b"<?xml")  # requests inflates it
    bomb = get(sb.feed_url("urun", fault="bomb", bomb_mb=16)).content
    assert len(bomb) < 200_000 and len(gzip.decompress(bomb)) > 16 << 20


def test_faults(sb) -> None:
    cut = get(sb.feed_url("ticimax", items=10, fault="truncate")).content
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(cut)
    assert cut.count(b"</Urun>") == 6  # 0.6 of the records, then half of the next one
    html = get(sb.feed_url("ticimax", fault="html"))
    assert html.status_code == 200 and html.content.lstrip().lower().startswith(b"<!doctype html")
    assert get(sb.feed_url("ticimax", status=503)).status_code == 503
    laughs = get(sb.feed_url("urun", fault="laughs")).content
    assert b"<!ENTITY lol9" in laughs
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(sb.feed_url("urun", slow=2), timeout=0.3)


def test_admin_queue_reset_and_etag(sb) -> None:
    r = requests.post(f"{sb.admin_url}/faults", json={"params": {"fault": "html"}, "times": 2}, timeout=5)
    assert r.status_code == 200
    assert get(sb.feed_url("urun")).headers["Content-Type"].startswith("text/html")
    assert get(sb.feed_url("urun")).headers["Content-Type"].startswith("text/html")
    ok = get(sb.feed_url("urun"))
    assert ok.headers["Content-Type"].startswith("application/xml")
    assert get(sb.feed_url("urun"), headers={"If-None-Match": ok.headers["ETag"]}).status_code == 304
    assert requests.post(f"{sb.admin_url}/faults", data=b"[1]", timeout=5).status_code == 400
    state = requests.get(sb.admin_url, timeout=5).json()
    assert state["seed"] == 5 and "ticimax" in state["formats"]
    assert requests.post(f"{sb.admin_url}/reset", timeout=5).json() == {"reset": True}
    assert requests.get(f"{sb.admin_url}/requests", timeout=5).json() == []


def test_unknown_format_is_404(sb) -> None:
    assert get(f"{sb.base_url}/feeds/excel.xls").status_code == 404
    with pytest.raises(KeyError):
        sb.feed_url("excel")
