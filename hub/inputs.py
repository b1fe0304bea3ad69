"""What clients send, read safely: JSON bodies, forms and ids.

Everything a client sends is checked here once, before any handler or the database
sees it: JSON nested deeper than a person would write, numbers beyond the database's
integer range (or NaN and infinities), text with NUL characters or lone surrogates
(neither can be stored in PostgreSQL text). A refusal is a `BadInput` naming the field;
`hub.http_errors` answers it with a 400.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

__all__ = [
    "DB_INT_MAX",
    "MAX_DEPTH",
    "BadInput",
    "check_text",
    "parse_json",
    "read_form",
    "read_json",
    "read_json_object",
]

# Ids and counts are stored as 32-bit integers; anything larger names nothing stored.
DB_INT_MAX = 2**31 - 1
# Far more nesting than any of our bodies has; Python's parser gives up near 1,000.
MAX_DEPTH = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class BadInput(ValueError):
    """A client sent something the hub will not take; `field` says where."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        self.status = status


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, checked; 415 unless it says it is JSON."""
    # Requiring JSON keeps cross-site forms out: a browser cannot send it without CORS.
    if request.content_type != "application/json":
        raise BadInput("", "Send JSON.", status=415)
    return parse_json(await request.read())


async def read_json_object(request: web.Request) -> dict[str, Any]:
    body = await read_json(request)
    if not isinstance(body, dict):
        raise BadInput("", "The body must be a JSON object.")
    return body


def parse_json(raw: bytes | str) -> Any:
    """JSON text to values, refusing what the hub could not store or answer."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    _check_depth(data)
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise BadInput("", "The body is not valid JSON.") from None
    _check_value(value, "")
    return value


async def read_form(request: web.Request) -> Mapping[str, str]:
    """A posted form's text fields, checked; files and broken bodies are refused."""
    try:
        posted = await request.post()
    except UnicodeDecodeError:
        raise BadInput("", "The form is not UTF-8.") from None
    except (ValueError, AssertionError, LookupError):
        # aiohttp's multipart reader asserts on a body that breaks its own framing.
        raise BadInput("", "The form could not be read.") from None
    fields: dict[str, str] = {}
    for name, value in posted.items():
        if not isinstance(value, str):
            raise BadInput(name, "send text, not a file.")
        fields[check_text(name, "form")] = check_text(value, name)
    return fields


def check_text(value: str, field: str) -> str:
    """`value` if the database can store it as text."""
    if "\x00" in value:
        raise BadInput(field, "must not contain NUL characters.")
    if _LONE_SURROGATE.search(value):
        raise BadInput(field, "is not valid Unicode text.")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _check_depth(data: bytes) -> None:
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", data))
    depth = 0
    for byte in brackets:
        depth += 1 if byte in b"[{" else -1
        if depth > MAX_DEPTH:
            raise BadInput("", f"The body is nested deeper than {MAX_DEPTH} levels.")


def _check_value(value: Any, field: str) -> None:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not -DB_INT_MAX <= value <= DB_INT_MAX:
            raise BadInput(field or "body", "is beyond the range of numbers the hub stores.")
    elif isinstance(value, float):
        if not math.isfinite(value) or abs(value) > 1e15:
            raise BadInput(field or "body", "is not a number the hub can use.")
    elif isinstance(value, str):
        check_text(value, field or "body")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_value(item, f"{field}.{index}" if field else str(index))
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, field or "body")
            _check_value(item, f"{field}.{key}" if field else key)
