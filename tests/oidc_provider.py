"""A real OpenID Connect provider for tests, on a free local port: discovery, /authorize
(consent given at once for the preset user), /token (code redeemed once, PKCE and the
client's secret checked) issuing an RS256 ID token, and /jwks.

What the ID token says can be bent per test (`Tampering`), to show the hub refuses a
token signed by another key, meant for another client, expired or carrying another
nonce. Tokens are signed with joserfc, the JOSE library authlib itself now uses; the
PKCE check is authlib's.
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from yarl import URL

CLIENT_ID = "switchboard-test"
CLIENT_SECRET = "provider-secret-for-tests"


@dataclass
class Tampering:
    """How the next ID tokens differ from honest ones."""

    nonce: str | None = None
    audience: str | None = None
    expires_in: int = 300
    foreign_key: bool = False


@dataclass
class OidcProvider:
    user: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "u-1001",
            "email": "alice@example.com",
            "email_verified": True,
            "name": "Alice Example",
            "roles": ["cc-agents"],
        }
    )
    tamper: Tampering = field(default_factory=Tampering)
    redirect_uris: list[str] = field(default_factory=list)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "good"}))
    other_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "good"}))
    issuer: str = ""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    server: TestServer | None = None

    async def __aenter__(self) -> OidcProvider:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/token", self.token)
        app.router.add_get("/jwks", self.jwks)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        self.issuer = str(self.server.make_url("")).rstrip("/")
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        await self.server.close()

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.issuer + "/authorize",
                "token_endpoint": self.issuer + "/token",
                "jwks_uri": self.issuer + "/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != CLIENT_ID or q.get("redirect_uri") not in self.redirect_uris:
            return web.Response(status=400, text="unknown client or redirect_uri")
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="code flow with S256 PKCE only")
        if "openid" not in q.get("scope", "").split():
            return web.Response(status=400, text="openid scope missing")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "challenge": q["code_challenge"],
            "nonce": q.get("nonce", ""),
            "redirect_uri": q["redirect_uri"],
        }
        target = URL(q["redirect_uri"]).update_query(code=code, state=q.get("state", ""))
        raise web.HTTPFound(target)

    async def token(self, request: web.Request) -> web.Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return web.json_response({"error": "invalid_client"}, status=401)
        form = await request.post()
        grant = self.codes.pop(str(form.get("code", "")), None)
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant["redirect_uri"]
            or not compare_s256_code_challenge(
                str(form.get("code_verifier", "")), grant["challenge"]
            )
        ):
            return web.json_response({"error": "invalid_grant"}, status=400)
        now = int(time.time())
        claims = {
            **self.user,
            "iss": self.issuer,
            "aud": self.tamper.audience or CLIENT_ID,
            "iat": now - (600 if self.tamper.expires_in < 0 else 0),
            "exp": now + self.tamper.expires_in,
            "nonce": self.tamper.nonce or grant["nonce"],
        }
        key = self.other_key if self.tamper.foreign_key else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        access_token = secrets.token_urlsafe(16)
        return web.json_response(
            {"access_token": access_token, "token_type": "Bearer", "id_token": id_token}
        )

    async def jwks(self, request: web.Request) -> web.Response:
        return web.json_response(KeySet([self.key]).as_dict(private=False))
