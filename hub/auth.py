"""Agent passwords (argon2) and signed session cookies."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

COOKIE_NAME = "switchboard_session"
LOGIN_PATH = "/console/login"  # where a stranger is sent to sign in
REPORTS_PATH = "/console/reports"  # the voice-of-customer report, where analysts land
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def check_password(password_hash: str | None, password: str) -> bool:
    """`verify_password` off the event loop, so logins never stall webhooks and sockets;
    for an unknown user (None) the same work against a throwaway hash, so the answer's
    time does not tell which usernames exist."""
    verified = await asyncio.to_thread(verify_password, password_hash or _throwaway(), password)
    return verified and password_hash is not None


@functools.cache
def _throwaway() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SessionSigner:
    """Signs `agent_id:issued_at:secret` with the hub's secret. The signature makes a
    forged or altered cookie fail without a database read; whether the session still
    holds is `hub.sessions`' to say."""

    secret: str
    max_age: int

    def issue(self, agent_id: int, session_secret: str, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        payload = f"{agent_id}:{issued}:{session_secret}"
        return f"{payload}:{self._sign(payload)}"

    def read(self, token: str | None, now: float | None = None) -> tuple[int, str] | None:
        """The agent id and session secret a valid, unexpired token holds, else None."""
        if not token or token.count(":") != 3:
            return None
        agent_part, issued_part, session_secret, signature = token.split(":")
        payload = f"{agent_part}:{issued_part}:{session_secret}"
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            agent_id, issued = int(agent_part), int(issued_part)
        except ValueError:
            return None
        if (now if now is not None else time.time()) - issued > self.max_age:
            return None
        return agent_id, session_secret

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.secret.encode(), payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
