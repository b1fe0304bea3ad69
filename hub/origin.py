"""Cross-site requests stop at the door: a browser's state-changing request, or its
websocket, from a page of another origin is refused before any handler runs.

Browsers name the page's origin (`Origin`, else `Referer`) on every POST, PATCH, PUT,
DELETE and websocket handshake they send, so a page elsewhere, even on another port of
the same host, cannot act with an agent's cookie. Allowed: the hub's public URL and the
origin the browser reached the hub at (its Host); the chat socket also takes the sites
the widget is embedded on (SWITCHBOARD_CHAT_ORIGINS). A request naming no origin at all
is not a browser's cross-site request (API clients, Twilio) and goes on. Twilio's
webhooks are signed and checked on their own, and /api/v1 takes no cookies at all (only
`Authorization: Bearer`, which a page elsewhere cannot make a browser send), so
neither is checked here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from hub.http_errors import json_error
from hub.keys import SETTINGS

__all__ = ["origin_middleware", "origin_of"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SOCKETS = ("/console/ws", "/chat/ws")
SIGNED = "/webhooks/"
BEARER_ONLY = "/api/v1/"
CHAT_SOCKET = "/chat/ws"


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, lowercased, default ports dropped; "" if none."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme.lower())
    port = "" if parts.port in (None, default) else f":{parts.port}"
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}{port}"


@web.middleware
async def origin_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _guarded(request):
        claimed = _claimed_origin(request)
        if claimed is not None and claimed not in _allowed(request):
            return json_error(403, "Requests from another site are refused.", "Origin")
    return await handler(request)


def _guarded(request: web.Request) -> bool:
    if request.path.startswith((SIGNED, BEARER_ONLY)):
        return False
    return request.method in UNSAFE or request.path in SOCKETS


def _claimed_origin(request: web.Request) -> str | None:
    """The page's origin the browser names; None when the request names none."""
    origin = request.headers.get("Origin")
    if origin is not None:
        # "null" (sandboxed frames, file: pages) is an origin that matches nothing.
        return origin_of(origin) or "null"
    referer = request.headers.get("Referer")
    if referer:
        return origin_of(referer) or "null"
    return None


def _allowed(request: web.Request) -> set[str]:
    settings = request.app[SETTINGS]
    allowed = {origin_of(settings.public_url), origin_of(f"{request.scheme}://{request.host}")}
    if request.path == CHAT_SOCKET:
        allowed |= {origin_of(site) for site in settings.chat_origins.split(",") if site.strip()}
        if settings.chat_origins.strip() == "*":
            allowed.add(_claimed_origin(request) or "")
    return allowed
