"""What every console handler answers with: JSON errors, JSON bodies read, pages from static/."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from hub.inputs import read_json_object

__all__ = [
    "PAGE_HEADERS",
    "PHONE_PAGE_HEADERS",
    "STATIC",
    "STATIC_ROUTE",
    "error",
    "forbidden_page",
    "json_body",
    "page",
]

STATIC = Path(__file__).parent / "static"
STATIC_ROUTE = "console_static"
# The pages load only our own files: injected markup could not run a script or call out.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
        " form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# Pages with the softphone (Twilio's Voice SDK, served from static/vendor/) also reach
# Twilio's signalling and event servers and play its ring tones; scripts stay our own.
PHONE_PAGE_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"]
    + "; connect-src 'self' wss://*.twilio.com https://*.twilio.com"
    + "; media-src 'self' https://sdk.twilio.com",
}
_STATIC_REF = re.compile(r"\{\{static:([\w.-]+(?:/[\w.-]+)*)\}\}")
_ERRORS: dict[int, type[web.HTTPError]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    415: web.HTTPUnsupportedMediaType,
    429: web.HTTPTooManyRequests,
    502: web.HTTPBadGateway,
    503: web.HTTPServiceUnavailable,
}


def error(status: int, message: str) -> web.HTTPError:
    """An HTTP error whose JSON body says, in a sentence, what went wrong."""
    error_class = _ERRORS.get(status, web.HTTPBadRequest)
    return error_class(text=json.dumps({"error": message}), content_type="application/json")


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, read and checked in one place (hub.inputs): 415 for
    anything but JSON, 400 naming the field for a bad one."""
    return await read_json_object(request)


def page(
    request: web.Request,
    name: str,
    status: int = 200,
    headers: Mapping[str, str] = PAGE_HEADERS,
    **values: str,
) -> web.Response:
    """A page from static/ with versioned asset URLs and HTML-escaped values filled in."""
    assets = request.app.router[STATIC_ROUTE]
    text = (STATIC / name).read_text(encoding="utf-8")
    text = _STATIC_REF.sub(lambda m: str(assets.url_for(filename=m.group(1))), text)
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value))
    return web.Response(text=text, content_type="text/html", status=status, headers=headers)


def forbidden_page(request: web.Request, title: str, reason: str) -> web.Response:
    """403 for a browser: a page in the console's style saying why, with the way back."""
    return page(request, "forbidden.html", status=403, title=title, reason=reason)
