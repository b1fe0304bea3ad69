"""One middleware turns refused input into a clear 4xx, wherever a handler met it.

`BadInput` (hub.inputs) and pydantic's `ValidationError` become a JSON error naming the
field; an id in the path beyond what the database can hold names nothing, so it is a
404 before any handler queries for it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from hub.inputs import DB_INT_MAX, BadInput, check_text

__all__ = ["error_middleware", "json_error"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_error(status: int, message: str, field: str = "") -> web.Response:
    """An error whose JSON body says, in a sentence, what went wrong (and where)."""
    body: dict[str, str] = {"error": message}
    if field:
        body["field"] = field
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        _check_path_and_query(request)
        return await handler(request)
    except BadInput as exc:
        return json_error(exc.status, exc.message if not exc.field else str(exc), exc.field)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        # A validator's own sentence reads better without pydantic's "Value error, ".
        message = first["msg"].removeprefix("Value error, ")
        return json_error(400, f"{field}: {message}" if field else message, field)


def _check_path_and_query(request: web.Request) -> None:
    for name, value in request.match_info.items():
        if value.isdecimal() and int(value) > DB_INT_MAX:
            raise BadInput(name, "names nothing stored here.", status=404)
        check_text(value, name)
    for name, value in request.query.items():
        check_text(value, name)
        if name.endswith("id") and value.isdecimal() and int(value) > DB_INT_MAX:
            raise BadInput(name, "is beyond the range of ids the hub stores.")
