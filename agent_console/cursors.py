"""Opaque page cursors: the console hands back what it was given, never builds one."""

from __future__ import annotations

import base64
import json
from typing import Any

__all__ = ["CursorError", "read_cursor", "write_cursor"]


class CursorError(ValueError):
    """The cursor was not one this hub gave out."""


def write_cursor(**position: Any) -> str:
    text = json.dumps(position, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def read_cursor(cursor: str, *fields: str) -> dict[str, Any]:
    """The position in `cursor`, which must hold exactly `fields`."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        position = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise CursorError("cursor is not one this hub gave out") from None
    if not isinstance(position, dict) or sorted(position) != sorted(fields):
        raise CursorError("cursor is not one this hub gave out")
    return position
