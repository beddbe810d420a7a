"""Feed URLs carry secrets (``/TicimaxXml/<token>/``, ``?key=…``, ``user:password@``): the one
form of a URL that may reach a log line, an error message or a ``repr``."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

_SECRET_SEGMENT = re.compile(
    r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-=.~+]{16,}$"  # long mixed letters+digits: a token, not a word
    r"|^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"  # a GUID
)

def redact_url(url: str, secrets: tuple[str, ...] | list[str] = ()) -> str:
    """The URL with its password, every query value and token-like path segments replaced by
    ``***``, plus any of ``secrets`` wherever they appear. Safe to log."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username or parts.password:
        host = f"{quote(parts.username or '', safe='')}:***@{host}" if parts.password else f"***@{host}"
    segments = ["***" if _SECRET_SEGMENT.match(seg) else seg for seg in parts.path.split("/")]
    query = "&".join(f"{k}=***" for k, _v in parse_qsl(parts.query, keep_blank_values=True))
    out = urlunsplit((parts.scheme, host, "/".join(segments), query, ""))
    for s in secrets:
        if s and len(s) >= 4:
            out = out.replace(s, "***").replace(quote(s, safe=""), "***")
    return out
