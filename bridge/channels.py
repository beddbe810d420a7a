"""Marketplace accounts (``kervan_channel`` rows): base URL, seller id, credentials, settings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bridge.db import Database


@dataclass(frozen=True)
class ChannelAccount:
    channel_id: int
    code: str
    account: str
    name: str
    base_url: str
    seller_id: str
    credentials: dict[str, str] = field(repr=False)
    settings: dict[str, Any]
    status: bool
    paused: bool

    def __repr__(self) -> str:  # never show credentials, even in a debugger or a traceback
        return f"ChannelAccount({self.code}/{self.account} #{self.channel_id})"


def _decode_credentials(value: str | None) -> dict[str, str]:
    if not value:
        return {}
    if value.startswith("enc:"):
        # Encrypted credentials come with the admin's credentials form (the key lives in the
        # store's config); until then only plain JSON written by the operator is accepted.
        raise NotImplementedError("encrypted channel credentials are not supported yet")
    return json.loads(value)


def _from_row(row: dict[str, Any]) -> ChannelAccount:
    return ChannelAccount(
        channel_id=int(row["channel_id"]),
        code=row["code"],
        account=row["account"],
        name=row["name"],
        base_url=row["base_url"],
        seller_id=row["seller_id"],
        credentials=_decode_credentials(row["credentials"]),
        settings=json.loads(row["settings"] or "{}"),
        status=bool(row["status"]),
        paused=bool(row["paused"]),
    )


def get(db: Database, code: str, account: str = "default") -> ChannelAccount | None:
    row = db.one("SELECT * FROM {p}kervan_channel WHERE code = %s AND account = %s", (code, account))
    return _from_row(row) if row else None


def get_by_id(db: Database, channel_id: int) -> ChannelAccount | None:
    row = db.one("SELECT * FROM {p}kervan_channel WHERE channel_id = %s", (channel_id,))
    return _from_row(row) if row else None


def upsert(
    db: Database,
    code: str,
    *,
    name: str,
    base_url: str,
    seller_id: str,
    credentials: dict[str, str],
    settings: dict[str, Any] | None = None,
    account: str = "default",
) -> ChannelAccount:
    db.execute(
        "INSERT INTO {p}kervan_channel (code, account, name, base_url, seller_id, credentials, settings)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE name = VALUES(name),"
        " base_url = VALUES(base_url), seller_id = VALUES(seller_id), credentials = VALUES(credentials),"
        " settings = VALUES(settings)",
        (code, account, name, base_url, seller_id, json.dumps(credentials), json.dumps(settings or {})),
    )
    found = get(db, code, account)
    assert found is not None
    return found
