"""Gateway checks made before any service runs: the mandatory User-Agent and HTTP Basic credentials.

doc-2-authorization: Basic auth with the seller's API key and secret (401
``ClientApiAuthenticationException`` when wrong); a User-Agent "{sellerId} - {IntegratorName}" or
"{sellerId} - SelfIntegration", the integrator name alphanumeric and at most 30 characters; requests
without it are blocked with 403.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import Iterable

from .state import Seller

# ASCII letters and digits only: "alfanumerik" read strictly, so a name production might reject
# (spaces, dots, Turkish letters) is rejected here too.
USER_AGENT = re.compile(r"^(\d+) - ([A-Za-z0-9]{1,30})$")


def user_agent_seller(user_agent: str | None) -> str | None:
    """The sellerId a well-formed User-Agent names, or None when it is missing or malformed."""
    if not user_agent:
        return None
    m = USER_AGENT.match(user_agent.strip())
    return m.group(1) if m else None


def authenticate(authorization: str | None, sellers: Iterable[Seller]) -> Seller | None:
    """The seller whose apiKey:apiSecret the Basic header carries, or None."""
    if not authorization or not authorization.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[len("Basic ") :].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    key, sep, secret = decoded.partition(":")
    if not sep:
        return None
    for seller in sellers:
        # Constant-time compare: cheap, and the habit belongs in anything that checks a secret.
        if hmac.compare_digest(seller.api_key.encode(), key.encode()) and hmac.compare_digest(
            seller.api_secret.encode(), secret.encode()
        ):
            return seller
    return None
