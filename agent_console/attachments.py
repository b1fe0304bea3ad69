"""What customers attached, for the agents who may see the conversation.

Files the hub stored (email attachments) come from its attachment store; what a provider
holds (voicemail recordings, MMS pictures) is fetched by the channel that received it.
Customers choose these bytes and their declared type, so nothing is served as a page:
every answer is a download, sandboxed, with its type sniffing turned off, and only
pictures and sound keep their own type (for the console's previews and players).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web

from agent_console.access import visible_conversation
from agent_console.auth import requires
from agent_console.responses import error
from hub.attachments import REF_PREFIX
from hub.keys import ATTACHMENTS, REMOTE_ATTACHMENTS, SESSIONS
from hub.models import Agent, Message

ROUTE = (
    "/api/conversations/{conversation_id:\\d+}/messages/{message_id:\\d+}/attachments/{index:\\d+}"
)
# Types the console shows in place (an <img>, an <audio>); SVG can carry script, so it
# is not among them. Anything else is served as bytes to save.
SHOWN_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "audio/wav",
        "audio/x-wav",
        "audio/mpeg",
        "audio/ogg",
    }
)
log = logging.getLogger(__name__)


def setup(app: web.Application) -> None:
    app.router.add_get(ROUTE, download)


def attachment_url(conversation_id: int, message_id: int, index: int) -> str:
    return f"/api/conversations/{conversation_id}/messages/{message_id}/attachments/{index}"


@requires()
async def download(request: web.Request, agent: Agent) -> web.StreamResponse:
    conversation = await visible_conversation(request, agent)
    message_id, index = int(request.match_info["message_id"]), int(request.match_info["index"])
    async with request.app[SESSIONS]() as session:
        message = await session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        raise error(404, "No such message in this conversation.")
    if index >= len(message.attachments):
        raise error(404, "No such attachment.")
    attachment: dict[str, Any] = message.attachments[index]
    ref, name = str(attachment.get("ref", "")), str(attachment.get("name") or "attachment")
    declared = str(attachment.get("content_type", "")).lower()
    if ref.startswith(REF_PREFIX):
        path = request.app[ATTACHMENTS].path(ref)
        if not path.is_file():
            raise error(404, "This attachment is no longer stored.")
        return web.FileResponse(path, headers=_headers(name, declared))
    for remote in request.app[REMOTE_ATTACHMENTS]:
        if remote.knows(ref):
            try:
                fetched = await remote.fetch(ref)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("could not fetch attachment %s: %s", ref, exc)
                raise error(502, "The provider holding this attachment did not give it.") from None
            if fetched is None:
                raise error(404, "The provider no longer holds this attachment.")
            return web.Response(
                body=fetched.content, headers=_headers(name, fetched.content_type or declared)
            )
    raise error(404, "This attachment cannot be fetched from here.")


def _headers(name: str, content_type: str) -> dict[str, str]:
    return {
        "Content-Type": content_type if content_type in SHOWN_TYPES else "application/octet-stream",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
    }
