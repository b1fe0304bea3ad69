"""What callers get while the database or Redis is down: 503 and when to try again.

A provider's webhook (Twilio) or any HTTP caller must never read success unless the
contact was stored; while a dependency is down the answer is 503 with Retry-After, so
the provider retries later and the agent's console shows a clear error. Chat sockets use
`is_outage` to send their error frame before they close.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

log = logging.getLogger(__name__)
RETRY_AFTER = 5  # seconds a caller is asked to wait before trying again
_OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused or reset connections (the OSErrors that mean a peer is gone)
    TimeoutError,
    RedisConnectionError,
    RedisTimeoutError,
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
)


def is_outage(exc: BaseException) -> bool:
    """Whether the error means a dependency is down or not answering (try again later),
    rather than a fault in the request or in our code."""
    if isinstance(exc, _OUTAGES):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def unavailable(what: str = "The service") -> web.Response:
    return web.json_response(
        {"error": f"{what} is unavailable for a moment; please try again shortly."},
        status=503,
        headers={"Retry-After": str(RETRY_AFTER)},
    )


@web.middleware
async def answer_outages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn a dependency's outage, anywhere in a request, into 503 with Retry-After."""
    try:
        return await handler(request)
    except Exception as exc:
        if not is_outage(exc) or request.headers.get("Upgrade", "").lower() == "websocket":
            raise
        log.warning("%s %s: dependency down (%s)", request.method, request.path, exc)
        return unavailable()
