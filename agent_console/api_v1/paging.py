"""Pages of lists ordered by id: the cursor names the last id a page held."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from agent_console.cursors import CursorError, read_cursor, write_cursor
from hub.inputs import DB_INT_MAX, BadInput

__all__ = ["after_id", "page_of"]


class HasId(Protocol):
    id: int


T = TypeVar("T", bound=HasId)


def after_id(cursor: str | None) -> int:
    """The id a page continues after (0: from the start)."""
    if not cursor:
        return 0
    try:
        last = read_cursor(cursor, "after")["after"]
    except CursorError:
        raise BadInput("cursor", "is not one this hub gave out.") from None
    if isinstance(last, bool) or not isinstance(last, int) or not 0 < last <= DB_INT_MAX:
        raise BadInput("cursor", "is not one this hub gave out.")
    return last


def page_of(rows: Sequence[T], limit: int) -> tuple[Sequence[T], str | None]:
    """The page (rows were read with limit + 1) and the cursor to the next one."""
    if len(rows) <= limit:
        return rows, None
    return rows[:limit], write_cursor(after=rows[limit - 1].id)
