"""The rating card: a closed chat's visitor rates it 1-5, with an optional comment.

The hub sends `survey` (conversation_id, question) to the visitor's open sockets once
the agent closes the chat; the widget answers `rating` (conversation_id, rating 1-5,
comment) and gets `rated`, or an `error` (`invalid_rating`, `no_survey`, `rated_already`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.keys import SURVEYS
from hub.surveys import MAX_COMMENT, SurveyError

__all__ = ["RatingRefused", "rate"]

CODES = {400: "invalid_rating", 404: "no_survey", 409: "rated_already"}


class RatingRefused(Exception):
    """A rating frame the hub will not record: `code` and `detail` for the widget."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


async def rate(
    request: web.Request, ws: web.WebSocketResponse, visitor: str, data: dict[str, Any]
) -> None:
    """Record the visitor's rating of one of their own closed chats, then say `rated`."""
    conversation_id, rating = data.get("conversation_id"), data.get("rating")
    comment = data.get("comment", "")
    if type(conversation_id) is not int or type(rating) is not int:
        raise RatingRefused("invalid_rating", "A rating names its conversation and 1 to 5.")
    if not isinstance(comment, str):
        raise RatingRefused("invalid_rating", "A comment is text.")
    try:
        await request.app[SURVEYS].answer(
            conversation_id, rating, comment[:MAX_COMMENT], channel="chat", address=visitor
        )
    except SurveyError as exc:
        raise RatingRefused(CODES[exc.status], str(exc)) from None
    await ws.send_json({"type": "rated", "conversation_id": conversation_id, "rating": rating})
