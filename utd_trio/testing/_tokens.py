"""User tokens: issue, look up, expire (loop time) and revoke."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import anyio

__all__ = ["TokenRecord", "TokenStore"]


@dataclass
class TokenRecord:
    """What a user token stands for. Never logged: the token itself is the dict key."""

    app_id: str
    user_id: str
    expires_at: float
    revoked: bool = False

    def valid(self) -> bool:
        """``True`` if not revoked and not expired (loop time)."""
        return not self.revoked and anyio.current_time() < self.expires_at


class TokenStore:
    """All tokens the engine minted."""

    def __init__(self) -> None:
        self._tokens: dict[str, TokenRecord] = {}

    def issue(self, app_id: str, user_id: str, ttl: float) -> str:
        """Mint a new opaque token valid for ``ttl`` loop-clock seconds."""
        token = "utk_" + secrets.token_urlsafe(32)
        self._tokens[token] = TokenRecord(app_id, user_id, anyio.current_time() + ttl)
        return token

    def lookup(self, token: str | None) -> TokenRecord | None:
        """Return the record of a valid token, else ``None`` (unknown, expired, revoked)."""
        if not token:
            return None
        record = self._tokens.get(token)
        if record is None or not record.valid():
            return None
        return record

    def revoke(self, app_id: str, user_id: str) -> int:
        """Revoke every live token of a user; return how many were revoked."""
        count = 0
        for record in self._tokens.values():
            if record.app_id == app_id and record.user_id == user_id and record.valid():
                record.revoked = True
                count += 1
        return count
