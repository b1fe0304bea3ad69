"""Single sign-on with an OpenID Connect provider: the authorization code flow with PKCE,
state and nonce, the ID token checked against the provider's keys, and the agent's role
read from one of its claims.

The protocol is authlib's: it builds the authorization URL and the token request,
makes the PKCE challenge and checks the ID token's claims (issuer, audience, expiry,
nonce); joserfc (authlib's JOSE library, which `authlib.jose` now defers to) checks the
signature against the provider's JWKS. Only the HTTP calls are ours, on the hub's aiohttp
client, so the hub needs no second HTTP library.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from authlib.common.security import generate_token
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet, OctKey
from joserfc.jws import JWSRegistry

from hub.settings import Settings

__all__ = ["Identity", "OidcClient", "OidcConfig", "Pending", "SignInRefused"]

CALLBACK_PATH = "/console/login/sso/callback"
# How long a started sign-in may take at the provider before its state is worthless.
PENDING_SECONDS = 600
# Clock difference allowed between the provider and the hub when checking exp and iat.
LEEWAY = 60


class SignInRefused(Exception):
    """A sign-in that must not go through: `why` goes to the audit log, `message` to the
    person signing in."""

    def __init__(
        self, why: str, message: str = "Single sign-on failed; try again.", username: str = ""
    ) -> None:
        super().__init__(why)
        self.why = why
        self.message = message
        self.username = username


@dataclass(frozen=True)
class OidcConfig:
    """The provider and how its claims map onto agents, from SWITCHBOARD_OIDC_*."""

    issuer: str
    client_id: str
    client_secret: str
    name: str
    scopes: str
    role_claim: str
    role_map: Mapping[str, str]
    username_claim: str
    redirect_uri: str

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """None when single sign-on is not configured (no issuer)."""
        if not settings.oidc_issuer:
            return None
        if not settings.oidc_client_id:
            raise ValueError("SWITCHBOARD_OIDC_CLIENT_ID is needed with SWITCHBOARD_OIDC_ISSUER")
        return cls(
            issuer=settings.oidc_issuer.rstrip("/"),
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            name=settings.oidc_name,
            scopes=settings.oidc_scopes,
            role_claim=settings.oidc_role_claim,
            role_map=parse_role_map(settings.oidc_role_map),
            username_claim=settings.oidc_username_claim,
            redirect_uri=settings.oidc_redirect_uri,
        )


ROLES = ("admin", "supervisor", "agent", "analyst")


def parse_role_map(text: str) -> dict[str, str]:
    """ "cc-admins=admin,cc-agents=agent" -> {"cc-admins": "admin", "cc-agents": "agent"}."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        value, sep, role = part.partition("=")
        if not sep or not value.strip() or role.strip() not in ROLES:
            raise ValueError(
                f"SWITCHBOARD_OIDC_ROLE_MAP: {part.strip()!r} is not claim-value=role"
                f" with a role among {', '.join(ROLES)}"
            )
        mapping[value.strip()] = role.strip()
    return mapping


@dataclass(frozen=True)
class Pending:
    """What the hub remembers between sending someone to the provider and their return."""

    state: str
    nonce: str
    verifier: str
    redirect_uri: str


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, and the role their claim maps to."""

    subject: str
    username: str
    role: str
    claimed: list[str] = field(default_factory=list)


class OidcClient:
    """One configured provider; its discovery document and keys are fetched once."""

    def __init__(self, config: OidcConfig, http: aiohttp.ClientSession, secret_key: str) -> None:
        self.config = config
        self._http = http
        self._pending_key = OctKey.import_key(("oidc-pending:" + secret_key).encode())
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.config.issuer + "/.well-known/openid-configuration"
            found = await self._get_json(url)
            if str(found.get("issuer", "")).rstrip("/") != self.config.issuer:
                raise SignInRefused("discovery names another issuer")
            self._metadata = found
        return self._metadata

    async def start(self, redirect_uri: str) -> tuple[str, str]:
        """The provider's authorization URL to send the browser to, and the sealed
        `Pending` (for a short-lived cookie) its return is checked against."""
        metadata = await self.metadata()
        pending = Pending(generate_token(32), generate_token(32), generate_token(64), redirect_uri)
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            self.config.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=self.config.scopes,
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.verifier),
            code_challenge_method="S256",
        )
        return str(url), self._seal(pending)

    async def finish(self, query: Mapping[str, str], sealed: str | None) -> Identity:
        """Check the provider's answer against the pending sign-in, redeem the code and
        read the ID token; `SignInRefused` for anything amiss."""
        pending = self._unseal(sealed)
        if query.get("state") != pending.state:
            raise SignInRefused("state does not match")
        if "error" in query:
            raise SignInRefused(f"provider answered {query['error'][:100]}")
        code = query.get("code")
        if not code:
            raise SignInRefused("no code")
        tokens = await self._redeem(code, pending)
        claims = await self._checked_id_token(tokens, pending.nonce)
        return self._identity(claims)

    async def _redeem(self, code: str, pending: Pending) -> dict[str, Any]:
        metadata = await self.metadata()
        endpoint = metadata["token_endpoint"]
        body = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=pending.redirect_uri,
            code_verifier=pending.verifier,
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        auth = ClientAuth(self.config.client_id, self.config.client_secret, "client_secret_basic")
        endpoint, headers, body = auth.prepare("POST", endpoint, headers, body)
        async with self._http.post(
            endpoint, data=body, headers={**headers, "Accept": "application/json"}
        ) as response:
            answer = await response.json(content_type=None)
            if response.status != 200 or not isinstance(answer, dict):
                error = answer.get("error") if isinstance(answer, dict) else ""
                raise SignInRefused(f"token endpoint answered {response.status} {error}".strip())
        if "id_token" not in answer:
            raise SignInRefused("no ID token")
        return answer

    async def _checked_id_token(self, tokens: dict[str, Any], nonce: str) -> CodeIDToken:
        metadata = await self.metadata()
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=algorithms)
        try:
            try:
                token = jwt.decode(tokens["id_token"], await self._key_set(), registry=registry)
            except InvalidKeyIdError:
                # A key id we have not seen: the provider rotated its keys; read them again.
                keys = await self._key_set(fresh=True)
                token = jwt.decode(tokens["id_token"], keys, registry=registry)
            claims = CodeIDToken(
                token.claims,
                token.header,
                {
                    "iss": {"essential": True, "value": metadata["issuer"]},
                    "aud": {"essential": True, "value": self.config.client_id},
                },
                {
                    "nonce": nonce,
                    "client_id": self.config.client_id,
                    "access_token": tokens.get("access_token"),
                },
            )
            claims.validate(leeway=LEEWAY)
        except (JoseError, ValueError) as exc:
            raise SignInRefused(f"ID token refused: {type(exc).__name__} {exc}"[:200]) from exc
        return claims

    async def _key_set(self, fresh: bool = False) -> KeySet:
        if self._keys is None or fresh:
            jwks = await self._get_json((await self.metadata())["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise SignInRefused("the provider's JWKS is unreadable") from exc
        return self._keys

    def _identity(self, claims: Mapping[str, Any]) -> Identity:
        username = claims.get(self.config.username_claim)
        if not isinstance(username, str) or not username:
            raise SignInRefused(f"no {self.config.username_claim} claim")
        if self.config.username_claim == "email" and claims.get("email_verified") is False:
            raise SignInRefused(
                "email not verified", "Your email address is not verified.", username
            )
        raw = claims.get(self.config.role_claim, [])
        claimed = [raw] if isinstance(raw, str) else [str(v) for v in raw if isinstance(v, str)]
        roles = [self.config.role_map[value] for value in claimed if value in self.config.role_map]
        if not roles:
            raise SignInRefused(
                "no mapped role",
                "Your account is not in a group that may use Switchboard; ask an admin.",
                username,
            )
        # Several mapped groups: the strongest role wins.
        role = min(roles, key=ROLES.index)
        return Identity(str(claims.get("sub", "")), username, role, claimed)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self._http.get(url) as response:
                response.raise_for_status()
                found = await response.json(content_type=None)
        except (aiohttp.ClientError, ValueError) as exc:
            raise SignInRefused(f"provider unreachable: {type(exc).__name__}") from exc
        if not isinstance(found, dict):
            raise SignInRefused(f"{url} is not a JSON object")
        return found

    def _seal(self, pending: Pending) -> str:
        claims = {
            "state": pending.state,
            "nonce": pending.nonce,
            "verifier": pending.verifier,
            "redirect_uri": pending.redirect_uri,
            "exp": int(time.time()) + PENDING_SECONDS,
        }
        return jwt.encode({"alg": "HS256"}, claims, self._pending_key)

    def _unseal(self, sealed: str | None) -> Pending:
        if not sealed:
            raise SignInRefused("no sign-in under way (cookie missing)")
        try:
            token = jwt.decode(sealed, self._pending_key, algorithms=["HS256"])
            jwt.JWTClaimsRegistry(exp={"essential": True}).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise SignInRefused("sign-in under way is forged or too old") from exc
        c = token.claims
        return Pending(str(c["state"]), str(c["nonce"]), str(c["verifier"]), str(c["redirect_uri"]))
