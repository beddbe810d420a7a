"""Downloading feeds from the supplier sandbox over real HTTP on 127.0.0.1: auth styles,
compression recognised from the bytes, bombs, HTML error pages, HTTP errors, timeouts, size
caps, conditional GET — and no secret in any error message or log line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from loguru import logger

from sandbox.supplier import SupplierFeedSandbox
from sandbox.supplier.feed_catalog import products
from workers.suppliers.fetch import NotModified, fetch_feed, read_validators, redact_url
from workers.suppliers.model import FeedError, FeedItem
from workers.suppliers.parsers import iter_items
from workers.suppliers.spec import FeedSpec

SEED = 11


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SupplierFeedSandbox]:
    with SupplierFeedSandbox(seed=SEED) as sb:
        yield sb


@pytest.fixture
def logs() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG")
    yield lines
    logger.remove(sink)


def spec_of(sb: SupplierFeedSandbox, fmt: str, auth: str = "none", **params) -> FeedSpec:
    return FeedSpec.from_dict(sb.feed_spec(fmt, auth, **params))


def items_of(path: Path, spec: FeedSpec) -> list[FeedItem]:
    return [x for x in iter_items(path, spec) if isinstance(x, FeedItem)]


def codes(count: int, variants: int = 3) -> list[str]:
    return [v.code for p in products(SEED, count, variants) for v in p.variants]


def no_secret(sb: SupplierFeedSandbox, *texts: str) -> None:
    for t in texts:
        assert sb.token not in t and sb.password not in t, t


@pytest.mark.parametrize("auth", ["none", "basic", "path", "query", "bearer"])
def test_each_auth_style_downloads_and_parses(sandbox, tmp_path: Path, auth: str, logs) -> None:
    spec = spec_of(sandbox, "ticimax", auth, items=5)
    path = fetch_feed(spec, tmp_path)
    assert sorted(i.code for i in items_of(path, spec)) == sorted(codes(5))
    no_secret(sandbox, *logs)
    assert any("feed downloaded" in line for line in logs)


@pytest.mark.parametrize("auth", ["basic", "query", "bearer"])
def test_wrong_credentials_are_a_plain_error_without_the_secret(sandbox, tmp_path: Path, auth: str, logs) -> None:
    d = sandbox.feed_spec("urun", auth)
    wrong = "yanlis-" + sandbox.token
    if auth == "basic":
        d["auth"]["password"] = wrong
    else:
        d["auth"]["token"] = wrong if auth == "query" else f"Bearer {wrong}"
    with pytest.raises(FeedError) as err:
        fetch_feed(FeedSpec.from_dict(d), tmp_path)
    assert "refused the credentials (HTTP 401)" in err.value.reason
    assert wrong not in err.value.reason and wrong not in "".join(logs)
    no_secret(sandbox, err.value.reason, *logs)
    assert list(tmp_path.iterdir()) == []  # no half-written file left behind


def test_path_token_is_redacted_in_errors(sandbox, tmp_path: Path) -> None:
    d = sandbox.feed_spec("ticimax", "path")
    d["url"] = d["url"].replace("/feeds/ticimax", "/feeds/unknown-format")
    with pytest.raises(FeedError) as err:
        fetch_feed(FeedSpec.from_dict(d), tmp_path)
    assert "HTTP 404" in err.value.reason and "/t/***/feeds/" in err.value.reason
    no_secret(sandbox, err.value.reason)


def test_redact_url() -> None:
    assert redact_url("https://u:s3cr3t@shop.test/TicimaxXml/2AF3C9D1E4B5A6F708192A3B4C5D6E7F/?key=abc&x=1") == (
        "https://u:***@shop.test/TicimaxXml/***/?key=***&x=***")
    assert redact_url("https://shop.test/XMLExport/3f2504e0-4f89-11d3-9a0c-0305e82c3301") == (
        "https://shop.test/XMLExport/***")
    assert redact_url("https://shop.test/feeds/urunler.xml") == "https://shop.test/feeds/urunler.xml"
    assert "tok-en-1" not in redact_url("https://shop.test/a/tok-en-1/b", ["tok-en-1"])


def test_spec_repr_hides_secrets(sandbox) -> None:
    for auth in ("basic", "path", "query", "bearer"):
        text = repr(FeedSpec.from_dict(sandbox.feed_spec("urun", auth))) + repr(FeedSpec.from_dict(
            sandbox.feed_spec("urun", auth)).auth)
        no_secret(sandbox, text)
        assert "/feeds/urun.xml" in text


@pytest.mark.parametrize("how", [{"gzip": 1}, {"zip": 1}, {"content_encoding": "gzip"}])
def test_compressed_answers_are_recognised_from_the_bytes(sandbox, tmp_path: Path, how: dict) -> None:
    spec = spec_of(sandbox, "gmc-rss", items=6, **how)
    path = fetch_feed(spec, tmp_path)
    assert path.read_bytes().lstrip().startswith(b"<?xml")
    assert sorted(i.code for i in items_of(path, spec)) == sorted(codes(6))


def test_gzip_bomb_is_refused(sandbox, tmp_path: Path) -> None:
    d = sandbox.feed_spec("urun", fault="bomb", bomb_mb=48)
    d["max_inflated"] = 8 << 20
    with pytest.raises(FeedError, match="decompression bomb"):
        fetch_feed(FeedSpec.from_dict(d), tmp_path)
    assert [p for p in tmp_path.iterdir()] == []


def test_html_page_served_with_200_is_an_error(sandbox, tmp_path: Path) -> None:
    for fmt in ("ticimax", "shopify", "json"):
        with pytest.raises(FeedError, match="web page instead of the feed") as err:
            fetch_feed(spec_of(sandbox, fmt, fault="html"), tmp_path)
        assert "Hizmet geçici olarak kullanılamıyor" in err.value.reason


def test_http_errors_in_plain_words(sandbox, tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"server failed \(HTTP 503\)"):
        fetch_feed(spec_of(sandbox, "urun", status=503), tmp_path)
    with pytest.raises(FeedError, match="HTTP 429"):
        fetch_feed(spec_of(sandbox, "urun", status=429), tmp_path)


def test_slow_server_times_out(sandbox, tmp_path: Path) -> None:
    d = sandbox.feed_spec("urun", slow=3)
    d["timeout"] = 0.3
    with pytest.raises(FeedError, match="stopped sending|did not answer"):
        fetch_feed(FeedSpec.from_dict(d), tmp_path)


def test_stall_mid_body_times_out(sandbox, tmp_path: Path) -> None:
    d = sandbox.feed_spec("urun", items=400, stall=3)
    d["timeout"] = 0.3
    with pytest.raises(FeedError, match="stopped sending|broke off"):
        fetch_feed(FeedSpec.from_dict(d), tmp_path)


def test_size_cap(sandbox, tmp_path: Path) -> None:
    d = sandbox.feed_spec("ticimax", items=400)
    d["max_bytes"] = 50_000
    with pytest.raises(FeedError, match="larger than the limit"):
        fetch_feed(FeedSpec.from_dict(d), tmp_path)


def test_connection_refused(tmp_path: Path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    spec = FeedSpec.from_dict({"preset": "gmc", "url": f"http://127.0.0.1:{port}/x/ABCDEF0123456789abcdef/"})
    with pytest.raises(FeedError, match="could not connect") as err:
        fetch_feed(spec, tmp_path)
    assert "ABCDEF0123456789abcdef" not in err.value.reason


def test_conditional_get(sandbox, tmp_path: Path) -> None:
    spec = spec_of(sandbox, "urun", items=3)
    first = fetch_feed(spec, tmp_path)
    validators = read_validators(first)
    assert validators["etag"] and validators["last_modified"]
    with pytest.raises(NotModified):
        fetch_feed(spec, tmp_path, validators=validators)
    spec.conditional = False
    assert fetch_feed(spec, tmp_path, validators=validators).exists()


def test_truncated_download_completes_but_fails_to_parse(sandbox, tmp_path: Path) -> None:
    spec = spec_of(sandbox, "ticimax", items=50, fault="truncate")
    path = fetch_feed(spec, tmp_path)  # the transport cannot tell: the connection closed cleanly
    got: list[FeedItem] = []
    with pytest.raises(FeedError, match="cut short"):
        for x in iter_items(path, spec):
            got.append(x)
    assert 0 < len(got) < len(codes(50))


def test_windows_1254_and_lying_declarations_over_http(sandbox, tmp_path: Path) -> None:
    want = {p.code: p.name for p in products(SEED, 6, 1)}
    for params in ({"encoding": "windows-1254"}, {"encoding": "windows-1254", "decl": "UTF-8"},
                   {"fault": "lying_decl"}, {"bom": 1, "decl": "windows-1254"}):
        spec = spec_of(sandbox, "urun", items=6, variants=1, **params)
        path = fetch_feed(spec, tmp_path)
        assert {i.code: i.name for i in items_of(path, spec)} == want, params
    csv_spec = spec_of(sandbox, "supplier-csv", items=6, variants=1, encoding="windows-1254")
    assert {i.code: i.name for i in items_of(fetch_feed(csv_spec, tmp_path), csv_spec)} == want


def test_hostile_feed_over_http_is_refused(sandbox, tmp_path: Path) -> None:
    for fault in ("laughs", "xxe"):
        spec = spec_of(sandbox, "urun", fault=fault)
        path = fetch_feed(spec, tmp_path)
        with pytest.raises(FeedError, match="refused"):
            list(iter_items(path, spec))


def test_queued_fault_through_the_admin_surface(sandbox, tmp_path: Path) -> None:
    r = requests.post(f"{sandbox.admin_url}/faults", json={"params": {"status": "502"}, "times": 1}, timeout=5)
    assert r.status_code == 200
    with pytest.raises(FeedError, match="HTTP 502"):
        fetch_feed(spec_of(sandbox, "urun"), tmp_path)
    assert fetch_feed(spec_of(sandbox, "urun"), tmp_path).exists()  # only once
