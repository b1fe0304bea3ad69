"""API tokens: how an integration (a CRM, an order system, a warehouse) reaches /api/v1.

An admin creates a token with a name and scopes; the hub shows it once and keeps only
its SHA-256. A token is `sb_` + 8 characters (its prefix, shown on the admin page to
tell tokens apart) + 40 more, all random. Revoking keeps the row (the admin page still
lists it, revoked) but the token opens nothing from then on.

Why SHA-256 and not a password hash (argon2, as for agents' passwords): a password is
guessable, so its hash must be slow; a token is 48 random URL-safe characters
(~285 bits), which no amount of guessing finds, so a fast hash is as safe and lets each
API request look its token up by hash in one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import get_args

from sqlalchemy import select, update

from hub.api_models.tokens import Scope
from hub.db import Sessions
from hub.models import ApiToken, utcnow

__all__ = ["SCOPES", "ApiTokens", "IssuedToken", "TokenHolder", "token_hash"]

SCOPES: tuple[str, ...] = get_args(Scope)
# Every token starts so: secret scanners (and people) can tell a leaked one for what it is.
START = "sb_"
PREFIX_LENGTH = len(START) + 8
# Last-used time is written at most this often per token: an integration calling many
# times a second would otherwise write the row on every call, for a figure shown to a minute.
LAST_USED_EVERY = timedelta(seconds=30)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `token` is shown once and never stored."""

    row: ApiToken
    token: str


@dataclass(frozen=True)
class TokenHolder:
    """Who a good token lets in: the token's id, name and scopes."""

    token_id: int
    name: str
    scopes: frozenset[str]


class ApiTokens:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def issue(self, name: str, scopes: list[str], created_by_id: int) -> IssuedToken:
        token = START + secrets.token_urlsafe(36)[:48]
        row = ApiToken(
            name=name,
            prefix=token[:PREFIX_LENGTH],
            token_hash=token_hash(token),
            scopes=[s for s in SCOPES if s in scopes],
            created_by_id=created_by_id,
        )
        async with self._sessions() as session, session.begin():
            session.add(row)
        return IssuedToken(row, token)

    async def holder(self, token: str) -> TokenHolder | None:
        """Whom `token` lets in, if it is one the hub issued and nobody revoked; notes
        when it was used."""
        if not token.startswith(START) or len(token) > 200:
            return None
        async with self._sessions() as session, session.begin():
            row = await session.scalar(
                select(ApiToken).where(ApiToken.token_hash == token_hash(token))
            )
            if row is None or row.revoked_at is not None:
                return None
            now = utcnow()
            if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
                row.last_used_at = now
            return TokenHolder(row.id, row.name, frozenset(row.scopes))

    async def revoke(self, token_id: int) -> ApiToken | None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            return await session.get(ApiToken, token_id)

    async def listed(self) -> list[ApiToken]:
        async with self._sessions() as session:
            return list(await session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))
