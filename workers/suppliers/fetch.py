"""Downloading a supplier's feed: streamed to a file in ``dest_dir`` (never held in memory),
within the spec's timeouts and size cap, unpacked when the bytes are gzip or zip, and refused
when the supplier's server answers 200 with an HTML error page (supplier-feeds.md fact 10).

Feed URLs carry secrets (``/TicimaxXml/<token>/``, ``?key=``, passwords): only ``redact_url``'s
form of a URL ever reaches a log line or an error message.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from loguru import logger

from .archive import compression_of, unpack
from .model import FeedError
from .redact import redact_url
from .spec import FeedSpec

USER_AGENT = "Kervan-feeds/0.1 (+https://github.com/kervan)"
_CHUNK = 1 << 16
_EXTENSIONS = {"gmc": "xml", "xml": "xml", "csv": "csv", "json": "json"}


__all__ = ["NotModified", "fetch_feed", "html_page_reason", "read_validators", "redact_url"]


class NotModified(Exception):
    """The supplier answered 304 to a conditional GET: the last downloaded feed still holds."""


# --- HTML error pages -------------------------------------------------------------------------

_HTML_START = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])",
    re.IGNORECASE | re.DOTALL,
)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def html_page_reason(head: bytes, fmt: str) -> str | None:
    """Why ``head`` (the first KB after any BOM) is not the feed, or None when it may be."""
    head = head.lstrip(b"\xef\xbb\xbf")
    if _HTML_START.match(head):
        m = _TITLE.search(head)
        title = re.sub(r"\s+", " ", m.group(1).decode("utf-8", "replace")).strip()[:80] if m else ""
        return "the supplier's server answered with a web page instead of the feed" + (f" ({title!r})" if title else "")
    stripped = head.lstrip()
    if fmt == "json" and stripped[:1] not in (b"[", b"{"):
        return "the supplier's server answered with something that is not JSON"
    if fmt in ("xml", "gmc") and stripped[:1] != b"<" and not stripped.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "the supplier's server answered with something that is not XML"
    if fmt == "csv" and stripped[:1] == b"<":
        return "the supplier's server answered with markup instead of CSV"
    return None


# --- download ---------------------------------------------------------------------------------


def _request_args(spec: FeedSpec, validators: dict[str, str] | None) -> tuple[str, dict, tuple | None]:
    url = spec.url
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "gzip"}
    auth = None
    a = spec.auth
    if a.kind == "basic":
        auth = (a.username, a.password)
    elif a.kind == "header":
        headers[a.header] = a.token
    elif a.kind == "query":
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True) + [(a.param, a.token)]
        url = urlunsplit(parts._replace(query=urlencode(query)))
    if spec.conditional and validators:
        if validators.get("etag"):
            headers["If-None-Match"] = validators["etag"]
        if validators.get("last_modified"):
            headers["If-Modified-Since"] = validators["last_modified"]
    return url, headers, auth


def _http_error(status: int, where: str) -> FeedError:
    if status in (401, 403):
        return FeedError(f"the supplier's server refused the credentials (HTTP {status}) at {where}")
    if status == 404:
        return FeedError(f"there is no feed at {where} (HTTP 404)")
    if status == 429:
        return FeedError(f"the supplier's server asks to slow down (HTTP 429) at {where}")
    if status >= 500:
        return FeedError(f"the supplier's server failed (HTTP {status}) at {where}")
    return FeedError(f"the supplier's server answered HTTP {status} at {where}")


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB" if n >= 1 << 20 else f"{n:,} bytes"


def _download(resp: requests.Response, out, spec: FeedSpec, where: str, started: float) -> int:
    total = 0
    deflate = zlib.decompressobj() if resp.headers.get("Content-Encoding", "").lower() == "deflate" else None
    # decode_content=False: a gzip Content-Encoding is kept as gzip bytes and unpacked below through
    # the capped reader; urllib3's own decoder would inflate a bomb into memory unchecked.
    for chunk in resp.raw.stream(_CHUNK, decode_content=False):
        if deflate is not None:
            chunk = deflate.decompress(chunk, _CHUNK * 64)
            if deflate.unconsumed_tail:
                raise FeedError("the deflate-compressed answer inflates too much at once; refused")
        total += len(chunk)
        if total > spec.max_bytes:
            raise FeedError(f"the feed at {where} is larger than the limit of {_mb(spec.max_bytes)} (max_bytes)")
        if time.monotonic() - started > spec.max_seconds:
            raise FeedError(f"downloading the feed at {where} took longer than {spec.max_seconds:.0f} s; gave up")
        out.write(chunk)
    return total


def fetch_feed(
    spec: FeedSpec,
    dest_dir: Path | str,
    *,
    validators: dict[str, str] | None = None,
    session: requests.Session | None = None,
) -> Path:
    """Download the feed into ``dest_dir`` and return the path of the plain (unpacked) file.

    ``validators`` (``{"etag": …, "last_modified": …}`` from ``read_validators`` of the last good
    download) make it a conditional GET: a 304 raises NotModified. Every failure is a FeedError
    whose reason is plain words with the URL redacted."""
    if not spec.url:
        raise FeedError("the supplier has no feed URL")
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    where = redact_url(spec.url, spec.secrets())
    url, headers, auth = _request_args(spec, validators)
    http = session or requests.Session()
    started = time.monotonic()
    fd, tmp_name = tempfile.mkstemp(prefix=".feed-", suffix=".download", dir=dest)
    tmp = Path(tmp_name)
    final: Path | None = None
    try:
        try:
            with os.fdopen(fd, "wb") as out, http.get(
                url, headers=headers, auth=auth, stream=True, timeout=(spec.timeout, spec.timeout),
                allow_redirects=True,
            ) as resp:
                if resp.status_code == 304:
                    raise NotModified(where)
                if resp.status_code >= 400 or resp.status_code < 200:
                    raise _http_error(resp.status_code, where)
                size = _download(resp, out, spec, where, started)
                meta = {"etag": resp.headers.get("ETag", ""), "last_modified": resp.headers.get("Last-Modified", ""),
                        "content_type": resp.headers.get("Content-Type", ""), "downloaded": size}
        except requests.exceptions.SSLError as exc:
            raise FeedError(f"the supplier's TLS certificate at {where} could not be verified") from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise FeedError(f"the supplier's server at {where} did not answer within {spec.timeout:.0f} s") from exc
        except (requests.exceptions.ReadTimeout, TimeoutError) as exc:
            raise FeedError(f"the supplier's server at {where} stopped sending for {spec.timeout:.0f} s") from exc
        except requests.exceptions.ConnectionError as exc:
            raise FeedError(f"could not connect to the supplier's server at {where}, or it broke off") from exc
        except requests.exceptions.TooManyRedirects as exc:
            raise FeedError(f"the feed at {where} redirects in a loop") from exc
        except requests.exceptions.RequestException as exc:
            raise FeedError(f"downloading the feed at {where} failed ({type(exc).__name__})") from exc
        except Exception as exc:  # urllib3 protocol errors surface raw from resp.raw.stream
            if isinstance(exc, FeedError | NotModified):
                raise
            raise FeedError(f"downloading the feed at {where} broke off ({type(exc).__name__})") from exc
        if meta["downloaded"] == 0:
            raise FeedError(f"the supplier's server sent an empty answer at {where}")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = dest / f"feed-{stamp}.{_EXTENSIONS[spec.format]}"
        with open(tmp, "rb") as f:
            head = f.read(8)
        if compression_of(head):
            meta["compression"] = compression_of(head)
            unpack(tmp, final, spec.max_inflated)
        else:
            os.replace(tmp, final)
        with open(final, "rb") as f:
            reason = html_page_reason(f.read(2048), spec.format)
        if reason:
            raise FeedError(f"{reason} at {where}")
        final.with_name(final.name + ".http.json").write_text(json.dumps(meta))
        logger.info("feed downloaded from {where}: {size} bytes", where=where, size=meta["downloaded"])
        return final
    except BaseException:
        if final is not None:
            final.unlink(missing_ok=True)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def read_validators(path: Path | str) -> dict[str, str]:
    """The ETag/Last-Modified a download was served with, for the next conditional GET."""
    meta = Path(str(path) + ".http.json")
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return {}
    return {k: data[k] for k in ("etag", "last_modified") if data.get(k)}
