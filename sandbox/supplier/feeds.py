"""A supplier's feed server: every feed shape of supplier-feeds.md, generated on the fly from a
seed (feed_catalog.py), streamed (a million records cost no memory), behind the auth styles real
suppliers use, with the faults real downloads meet.

Paths (``<fmt>`` is one of feed_render.FORMATS: ticimax, ideasoft, tsoft, urun, gmc-rss, gmc-atom,
shopify, woocommerce, supplier-csv, json; any extension after it is ignored):

- ``/feeds/<fmt>``                   no auth
- ``/basic/feeds/<fmt>``             HTTP Basic (``username``/``password``)
- ``/t/<token>/feeds/<fmt>``         the token in the path (Ticimax ``/TicimaxXml/<token>/``)
- ``/key/feeds/<fmt>?key=<token>``   the token in the query
- ``/bearer/feeds/<fmt>``            ``Authorization: Bearer <token>`` or ``X-Api-Key: <token>``

Query parameters: ``items`` (products, default 20), ``seed``, ``variants`` (most per product, 1 =
all simple), ``round`` (other stock and prices for the same products: the supplier's next update), ``duplicates`` (last N products reuse earlier codes), ``encoding`` (``utf-8`` or
``windows-1254``), ``decl`` (the XML declaration's encoding, ``none`` for none: a lie when it differs),
``bom=1``, ``gzip=1`` / ``zip=1`` (compressed body, no header says so), ``content_encoding=gzip``,
and faults: ``fault=truncate`` (cut inside the record at ``truncate_at``, default 0.6 of the
records), ``fault=html`` (200 with an HTML error page), ``fault=lying_decl`` (UTF-8 bytes declared
ISO-8859-9), ``fault=bomb`` (a gzip that inflates to ``bomb_mb`` MB, default 64), ``fault=laughs`` /
``fault=xxe`` (hostile XML), ``status=<code>``, ``slow=<s>`` (before the answer), ``stall=<s>``
(halfway through the body). ``/__sandbox/faults`` (POST ``{"params": {...}, "times": n}``) queues
the same parameters for the next ``n`` feed requests; ``/__sandbox/requests``, ``/__sandbox/reset``.
Every answer has an ETag; ``If-None-Match`` with it gets 304.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import re
import sys
import threading
import zipfile
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.common.http import DispatchHandler, SandboxServer
from sandbox.common.lifecycle import ServedSandbox, wait_for_signal

from .feed_catalog import products
from .feed_render import FORMATS, SPECS, render

DEFAULT_PORT = 8712  # 8711 is the supplier order API (api.py)
USERNAME = "tedarikci"
PASSWORD = "gizli-parola-1"
TOKEN = "7f3a9c2e4b1d8f6a0c5e9b2d4f7a1c3e"  # 32 hex, as Ticimax feed URLs carry
LAST_MODIFIED = "Thu, 01 Jan 2026 00:00:00 GMT"
_FLUSH = 1 << 16

HTML_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Hizmet geçici olarak kullanılamıyor</title></head>"
    "<body><h1>503</h1><p>Sunucu bakımda. Lütfen daha sonra tekrar deneyin.</p></body></html>\n"
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>\n<urunler><urun><urunkodu>&lol9;</urunkodu><fiyat>1</fiyat></urun></urunler>\n"
)
XXE = ('<?xml version="1.0"?>\n<!DOCTYPE urunler [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
       "<urunler><urun><urunkodu>&xxe;</urunkodu><fiyat>1</fiyat></urun></urunler>\n")

_FEED_PATH = re.compile(
    r"^/(?:(?P<basic>basic)/|t/(?P<token>[^/]+)/|(?P<key>key)/|(?P<bearer>bearer)/)?feeds/(?P<fmt>[a-z-]+)(?:\.\w+)?/?$"
)


class _Stop(Exception):
    """The sandbox is stopping: abandon the response."""


class SupplierFeedSandbox(ServedSandbox):
    """The feed server on a background thread. ``port=0`` picks a free port."""

    thread_name = "supplier-feed-sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 1, username: str = USERNAME,
                 password: str = PASSWORD, token: str = TOKEN) -> None:
        self.host, self.port, self.seed = host, port, seed
        self.username, self.password, self.token = username, password, token
        self.lock = threading.Lock()
        self.queued: list[tuple[dict[str, str], int]] = []  # (params, times left)
        self.log: list[dict[str, Any]] = []
        self.stop_event = threading.Event()
        self._bombs: dict[int, bytes] = {}

    # --- lifecycle ----------------------------------------------------------------------------

    # --- helpers for tests and the demo -------------------------------------------------------

    def feed_url(self, fmt: str, auth: str = "none", *, with_key: bool = True, **params: Any) -> str:
        """The URL of feed ``fmt`` behind ``auth`` (none, basic, path, query, bearer) with ``params``
        (for ``query``, the token too unless ``with_key`` is false: a FeedSpec adds it itself)."""
        if fmt not in FORMATS:
            raise KeyError(f"no sandbox feed format {fmt!r}")
        ext = FORMATS[fmt][1]
        prefix = {"none": "", "basic": "/basic", "path": f"/t/{self.token}", "query": "/key",
                  "bearer": "/bearer"}[auth]
        query = dict(params)
        if auth == "query" and with_key:
            query["key"] = self.token
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return f"{self.base_url}{prefix}/feeds/{fmt}.{ext}" + (f"?{qs}" if qs else "")

    def feed_spec(self, fmt: str, auth: str = "none", **params: Any) -> dict[str, Any]:
        """A FeedSpec dict (as stored in kervan_supplier.feed) that downloads and reads ``fmt``."""
        spec = json.loads(json.dumps(SPECS[fmt]))
        spec["url"] = self.feed_url(fmt, auth, with_key=False, **params)
        if auth == "basic":
            spec["auth"] = {"kind": "basic", "username": self.username, "password": self.password}
        elif auth == "bearer":
            spec["auth"] = {"kind": "header", "header": "Authorization", "token": f"Bearer {self.token}"}
        elif auth == "query":
            spec["auth"] = {"kind": "query", "param": "key", "token": self.token}
        return spec

    def queue_fault(self, params: dict[str, Any], times: int = 1) -> None:
        with self.lock:
            self.queued.append(({k: str(v) for k, v in params.items()}, times))

    def requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.log)

    def reset(self) -> None:
        with self.lock:
            self.queued.clear()
            self.log.clear()

    def _take_queued(self) -> dict[str, str]:
        with self.lock:
            if not self.queued:
                return {}
            params, times = self.queued[0]
            if times <= 1:
                self.queued.pop(0)
            else:
                self.queued[0] = (params, times - 1)
            return params

    def bomb(self, megabytes: int) -> bytes:
        """A gzip whose XML inflates to ``megabytes`` MB of whitespace inside a text node (cached)."""
        with self.lock:
            if megabytes not in self._bombs:
                z = zlib.compressobj(9, zlib.DEFLATED, 31)
                parts = [z.compress(b'<?xml version="1.0"?><urunler><urun><urunkodu>')]
                block = b" " * (1 << 20)
                parts += [z.compress(block) for _ in range(megabytes)]
                parts.append(z.compress(b"</urunkodu></urun></urunler>") + z.flush())
                self._bombs[megabytes] = b"".join(parts)
            return self._bombs[megabytes]


class _Server(SandboxServer):
    def __init__(self, address: tuple[str, int], sandbox: SupplierFeedSandbox) -> None:
        super().__init__(address, sandbox, _Handler)


class _Handler(DispatchHandler):
    server: _Server

    # --- plumbing -----------------------------------------------------------------------------

    def _reply(self, status: int, body: bytes, ctype: str = "application/json", extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._reply(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"))

    def _dispatch(self) -> None:
        sb = self.server.sandbox
        url = urlsplit(self.path)
        if url.path.startswith("/__sandbox"):
            self._admin(sb, url.path)
            return
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        params.update(sb._take_queued())
        entry: dict[str, Any] = {"path": re.sub(r"/t/[^/]+/", "/t/***/", url.path), "status": None,
                                 "params": {k: ("***" if k == "key" else v) for k, v in params.items()}}
        try:
            status = self._feed(sb, url.path, params)
        except _Stop:
            status = "stopped"
        except (BrokenPipeError, ConnectionResetError):
            status = "client went away"
        entry["status"] = status
        with sb.lock:
            sb.log.append(entry)

    def _admin(self, sb: SupplierFeedSandbox, path: str) -> None:
        if path == "/__sandbox/faults" and self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                sb.queue_fault(dict(body.get("params") or {}), int(body.get("times", 1)))
            except (ValueError, TypeError, AttributeError):
                self._json(400, {"error": 'expected {"params": {...}, "times": n}'})
                return
            self._json(200, {"queued": len(sb.queued)})
        elif path == "/__sandbox/requests":
            self._json(200, sb.requests())
        elif path == "/__sandbox/reset" and self.command == "POST":
            sb.reset()
            self._json(200, {"reset": True})
        elif path in ("/__sandbox", "/__sandbox/", "/__sandbox/state"):
            self._json(200, {"baseUrl": sb.base_url, "seed": sb.seed, "formats": sorted(FORMATS),
                             "queued": [p for p, _ in sb.queued], "requests": len(sb.log)})
        else:
            self._json(404, {"error": "unknown sandbox admin path"})

    def _authorised(self, sb: SupplierFeedSandbox, m: re.Match[str], params: dict[str, str]) -> bool:
        if m.group("basic"):
            expected = "Basic " + base64.b64encode(f"{sb.username}:{sb.password}".encode()).decode()
            return self.headers.get("Authorization") == expected
        if m.group("token") is not None:
            return m.group("token") == sb.token
        if m.group("key"):
            return params.get("key") == sb.token
        if m.group("bearer"):
            return (self.headers.get("Authorization") == f"Bearer {sb.token}"
                    or self.headers.get("X-Api-Key") == sb.token)
        return True

    def _feed(self, sb: SupplierFeedSandbox, path: str, params: dict[str, str]) -> int:
        if self.command != "GET":
            self._json(405, {"error": "feeds are read with GET"})
            return 405
        m = _FEED_PATH.match(path)
        if not m or m.group("fmt") not in FORMATS:
            self._reply(404, b"<html><body>404 Not Found</body></html>", "text/html")
            return 404
        if not self._authorised(sb, m, params):
            self._reply(401, b"Unauthorized", "text/plain", {"WWW-Authenticate": 'Basic realm="feeds"'}
                        if m.group("basic") else None)
            return 401
        slow = float(params.get("slow", 0) or 0)
        if slow and sb.stop_event.wait(slow):
            raise _Stop
        if params.get("status"):
            status = int(params["status"])
            self._reply(status, f"<html><body>{status}</body></html>".encode(), "text/html")
            return status
        fault = params.get("fault", "")
        if fault == "html":
            self._reply(200, HTML_ERROR_PAGE.encode("utf-8"), "text/html; charset=utf-8")
            return 200
        if fault in ("laughs", "xxe"):
            self._reply(200, (BILLION_LAUGHS if fault == "laughs" else XXE).encode(), "application/xml")
            return 200
        if fault == "bomb":
            self._reply(200, sb.bomb(int(params.get("bomb_mb", 64))), "application/octet-stream")
            return 200
        fmt = m.group("fmt")
        etag = '"' + hashlib.sha1(f"{sb.seed}|{fmt}|{sorted(params.items())}".encode()).hexdigest()[:20] + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return 304
        self._stream(sb, fmt, params, etag)
        return 200

    def _stream(self, sb: SupplierFeedSandbox, fmt: str, params: dict[str, str], etag: str) -> None:
        count = int(params.get("items", 20))
        seed = int(params.get("seed", sb.seed))
        encoding = params.get("encoding", "utf-8").lower()
        declared: str | None = "UTF-8" if encoding == "utf-8" else encoding
        if params.get("fault") == "lying_decl":
            encoding, declared = "utf-8", "ISO-8859-9"
        if "decl" in params:
            declared = None if params["decl"].lower() == "none" else params["decl"]
        catalogue = products(seed, count, int(params.get("variants", 3)), int(params.get("duplicates", 0)),
                             int(params.get("round", 0)))
        pieces = render(fmt, catalogue, declared)
        cut_at = int(count * float(params.get("truncate_at", 0.6))) if params.get("fault") == "truncate" else -1
        stall = float(params.get("stall", 0) or 0)
        body = _encoded(pieces, encoding, params.get("bom") == "1", cut_at, stall, count, sb)

        compress = "gzip" if params.get("gzip") == "1" else "zip" if params.get("zip") == "1" else ""
        content_encoding = params.get("content_encoding", "")
        ctype = FORMATS[fmt][0] + ("" if FORMATS[fmt][1] == "json" else f"; charset={encoding}")
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream" if compress else ctype)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        if content_encoding == "gzip":
            self.send_header("Content-Encoding", "gzip")
        # No Content-Length: the body is generated as it goes and ends when the connection closes
        # (so a truncated feed looks like a complete download, as it does in the wild).
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if compress == "zip":
            with zipfile.ZipFile(_Sink(self.wfile), "w", zipfile.ZIP_DEFLATED) as zf, \
                    zf.open(f"feed.{FORMATS[fmt][1]}", "w", force_zip64=True) as member:
                for chunk in body:
                    member.write(chunk)
            return
        if compress == "gzip" or content_encoding == "gzip":
            with gzip.GzipFile(fileobj=_Sink(self.wfile), mode="wb", compresslevel=1) as gz:
                for chunk in body:
                    gz.write(chunk)
            return
        for chunk in body:
            self.wfile.write(chunk)


class _Sink:
    """A write-only, non-seekable stream over the socket (what zipfile and gzip need)."""

    def __init__(self, wfile: Any) -> None:
        self.wfile = wfile
        self.pos = 0

    def write(self, b: bytes) -> int:
        self.wfile.write(b)
        self.pos += len(b)
        return len(b)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        self.wfile.flush()

    def seekable(self) -> bool:
        return False


def _encoded(pieces: Iterator[tuple[str, str]], encoding: str, bom: bool, cut_at: int, stall: float,
             count: int, sb: SupplierFeedSandbox) -> Iterator[bytes]:
    buf: list[bytes] = []
    size = 0
    if bom and encoding == "utf-8":
        buf.append(b"\xef\xbb\xbf")
    record = 0
    stalled = False
    for kind, text in pieces:
        data = text.encode(encoding)
        if kind == "item":
            if record == cut_at:
                buf.append(data[: len(data) // 2])
                break
            record += 1
            if stall and not stalled and record >= count // 2:
                stalled = True
                yield b"".join(buf)
                buf, size = [], 0
                if sb.stop_event.wait(stall):
                    raise _Stop
        buf.append(data)
        size += len(data)
        if size >= _FLUSH:
            yield b"".join(buf)
            buf, size = [], 0
        if sb.stop_event.is_set():
            raise _Stop
    if buf:
        yield b"".join(buf)


# --- foreground ---------------------------------------------------------------------------------


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, seed: int = 1) -> None:
    with SupplierFeedSandbox(host, port, seed=seed) as sb:
        print(f"supplier feed sandbox listening on {sb.base_url} (e.g. {sb.feed_url('ticimax')})", flush=True)
        wait_for_signal()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sandbox.supplier.feeds", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    serve(args.host, args.port, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())


SupplierFeedSandbox.server_class = _Server  # defined after the sandbox it serves
