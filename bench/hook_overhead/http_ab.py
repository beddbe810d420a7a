#!/usr/bin/env python3
"""End-to-end A/B of an admin product save on a real OpenCart 4 install with the Kervan extension
installed: the same ``catalog/product.save`` POST, alternating Kervan's events on (A) and off (B)
by flipping ``oc_event.status`` (OpenCart re-reads events on every request).

    python3 bench/hook_overhead/http_ab.py http://127.0.0.1:8094 kv_oc41 [n=200] [product_id=42]

Needs the ``mysql`` client (root, no password, 127.0.0.1) to toggle the events. Standard library only.
"""

from __future__ import annotations

import http.cookiejar
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from html.parser import HTMLParser


class FormFields(HTMLParser):
    """The fields the browser's FormData would send for ``<form id="form-product">``."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.select: list | None = None
        self.textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and a.get("id") == "form-product":
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("button", "submit", "file"):
                self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea" and a.get("name"):
            self.textarea = [a["name"], ""]
        elif tag == "select" and a.get("name"):
            self.select = [a["name"], None, None]
        elif tag == "option" and self.select is not None:
            value = a.get("value") or ""
            if self.select[2] is None:
                self.select[2] = value
            if "selected" in a:
                self.select[1] = value

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea[0], self.textarea[1]))
            self.textarea = None
        elif tag == "select" and self.select is not None:
            chosen = self.select[1] if self.select[1] is not None else (self.select[2] or "")
            self.fields.append((self.select[0], chosen))
            self.select = None


def main() -> int:
    base, database = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    product_id = int(sys.argv[4]) if len(sys.argv) > 4 else 42
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    admin = base.rstrip("/") + "/admin/index.php"

    def call(url: str, body: bytes | None = None) -> str:
        req = urllib.request.Request(url, data=body, headers={"X-Requested-With": "XMLHttpRequest"})
        with opener.open(req) as resp:
            return resp.read().decode()

    login_token = re.search(r"login_token=([a-f0-9]+)", call(admin + "?route=common/login")).group(1)
    answer = call(f"{admin}?route=common/login.login&login_token={login_token}",
                  urllib.parse.urlencode({"username": "admin", "password": "admin123", "redirect": ""}).encode())
    token = re.search(r"user_token=([a-f0-9]+)", answer).group(1)
    form = FormFields()
    form.feed(call(f"{admin}?route=catalog/product.form&product_id={product_id}&user_token={token}"))
    body = urllib.parse.urlencode(form.fields).encode()
    save = f"{admin}?route=catalog/product.save&user_token={token}"

    enable = "UPDATE oc_event SET status = 1 WHERE code LIKE 'kervan\\_%'"
    disable = "UPDATE oc_event SET status = 0 WHERE code LIKE 'kervan\\_%'"

    def events(on: bool) -> None:
        sql = enable if on else disable
        subprocess.run(["mysql", "-h127.0.0.1", "-uroot", database, "-e", sql], check=True)

    timings: dict[bool, list[float]] = {True: [], False: []}
    try:
        for i in range(n * 2 + 6):
            on = i % 2 == 0
            events(on)
            start = time.perf_counter()
            reply = call(save, body)
            elapsed = (time.perf_counter() - start) * 1000
            if '"success"' not in reply:
                print("save failed:", reply[:200], file=sys.stderr)
                return 1
            if i >= 6:
                timings[on].append(elapsed)
    finally:
        events(True)
    a, b = statistics.median(timings[True]), statistics.median(timings[False])
    print(f"{base} product {product_id}, {len(form.fields)} fields, n={n} per arm (alternating, 6 warm-up)")
    print(f"with Kervan events:    median {a:.2f} ms")
    print(f"without Kervan events: median {b:.2f} ms")
    print(f"difference of medians: {a - b:+.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
