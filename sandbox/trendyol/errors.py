"""Error bodies, in the one envelope Trendyol's integration gateway is observed to use.

Live bodies seen by integrators (marketplace-apis.md §1.3) carry ``timestamp`` (epoch ms),
``exception`` (a Java exception name) and ``errors[{key, message, errorCode}]``; the product OpenAPI's
``ErrorResponse`` is the ``errors`` part of the same thing. Every error here uses that envelope, so a
client that reads either ``exception`` or ``errors`` works against production too.
"""

from __future__ import annotations

import time
from typing import Any

DUPLICATE_PRICE_REQUEST = "15 dakika boyunca aynı isteği tekrarlı olarak atamazsınız!"


def envelope(exception: str, key: str, message: str, error_code: str | None = None) -> dict[str, Any]:
    return {
        "timestamp": int(time.time() * 1000),
        "exception": exception,
        "errors": [{"key": key, "message": message, "errorCode": error_code}],
    }


def unauthorized() -> dict[str, Any]:
    # doc-2-authorization: 'status: 401, "exception": "ClientApiAuthenticationException"'.
    return envelope(
        "ClientApiAuthenticationException",
        "authentication.error",
        "Yetkilendirme başarısız. supplierId, API Key veya API Secret bilgilerinizi kontrol ediniz.",
    )


def forbidden(reason: str) -> dict[str, Any]:
    # The docs give only the status (403) for a missing User-Agent, no body.
    return envelope("ClientApiForbiddenException", "forbidden", reason)


def too_many_requests() -> dict[str, Any]:
    # doc-2-authorization: 'the 51st request gets "429 status code and it say too.many.requests"'.
    return envelope("ClientApiTooManyRequestsException", "too.many.requests", "too.many.requests")


def bad_request(key: str, message: str) -> dict[str, Any]:
    return envelope("ClientApiBusinessException", key, message)


def not_found(
    key: str = "resource.not.found", message: str = "İstenilen kaynak bulunamadı."
) -> dict[str, Any]:
    return envelope("ClientApiNotFoundException", key, message)


def method_not_allowed() -> dict[str, Any]:
    return envelope(
        "ClientApiMethodNotAllowedException", "method.not.allowed", "Bu HTTP metodu desteklenmiyor."
    )


def system_error() -> dict[str, Any]:
    # Verbatim live 500 body (boolxy/trendyol#15, ismail0234/trendyol-php-api#9), typo included.
    return envelope("TrendyolSystemException", "generic.exception", "Exception Occured")
