"""Keeping the record right: edit a customer's name, segment, language and labels, and a
conversation's labels. Every change goes on the customer's timeline with who made it.

`PATCH /api/customers/{id}` takes any of `name`, `segment`, `language`, `labels`;
`PATCH /api/conversations/{id}` takes `labels`. Whoever may open the customer (or the
conversation) may edit it; a customer merged into another is edited there instead.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from agent_console.access import visible_conversation
from agent_console.auth import requires
from agent_console.customer_page import _readable
from agent_console.responses import error, json_body
from hub import crm
from hub.keys import SESSIONS
from hub.models import Agent, Conversation

__all__ = ["edit_conversation", "edit_customer", "normalize_labels"]

M = TypeVar("M", bound=BaseModel)
MAX_LABELS = 30
_LABEL = re.compile(r"^[\w][\w .:/-]{0,39}$")
_LANGUAGE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"


def normalize_labels(labels: list[str]) -> list[str]:
    """Trimmed, lowercase, each once, in the order given; refuses what is not a label."""
    found: list[str] = []
    for raw in labels:
        label = " ".join(raw.split()).lower()
        if not _LABEL.match(label):
            raise ValueError(
                f"{raw!r} is not a label: up to 40 letters, digits, spaces and . : / - _"
            )
        if label not in found:
            found.append(label)
    if len(found) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels")
    return found


Labels = Annotated[list[str], AfterValidator(normalize_labels)]


class CustomerChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=200)
    segment: str | None = Field(None, pattern=r"^[a-z0-9_-]{1,32}$")
    language: str | None = Field(None, pattern=_LANGUAGE)
    labels: Labels | None = None


class ConversationChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    labels: Labels


@requires()
async def edit_customer(request: web.Request, viewer: Agent) -> web.Response:
    change = _parse(CustomerChange, await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        customer = await _readable(session, viewer, request)
        if customer.merged_into_id is not None:
            raise error(409, f"This customer was merged into {customer.merged_into_id}.")
        changed: dict[str, dict[str, Any]] = {}
        for field in sorted(change.model_fields_set):
            before, after = getattr(customer, field), getattr(change, field)
            if field == "name" and after is None:
                raise error(400, "name: a customer's name cannot be removed, only changed.")
            if field == "segment" and after is None:
                after = "standard"
            if after != before:
                setattr(customer, field, after)
                changed[field] = {"before": before, "after": after}
                crm.record(
                    session,
                    customer_id=customer.id,
                    agent_id=viewer.id,
                    kind="customer.updated",
                    summary=f"{field.title()}: {_shown(before)} → {_shown(after)}",
                    field=field,
                    before=before,
                    after=after,
                )
        body = {
            "id": customer.id,
            "name": customer.name,
            "segment": customer.segment,
            "language": customer.language,
            "labels": customer.labels,
            "changed": changed,
        }
    return web.json_response(body)


@requires()
async def edit_conversation(request: web.Request, viewer: Agent) -> web.Response:
    change = _parse(ConversationChange, await json_body(request))
    seen = await visible_conversation(request, viewer)
    async with request.app[SESSIONS]() as session, session.begin():
        conversation = await session.get(Conversation, seen.id)
        assert conversation is not None
        before = list(conversation.labels)
        if change.labels != before:
            conversation.labels = change.labels
            crm.record(
                session,
                customer_id=conversation.customer_id,
                conversation_id=conversation.id,
                agent_id=viewer.id,
                kind="conversation.labelled",
                summary=f"Labels: {_shown(before)} → {_shown(change.labels)}",
                before=before,
                after=change.labels,
            )
        body = {"id": conversation.id, "labels": conversation.labels}
    return web.json_response(body)


def _parse(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "body"
        raise error(400, f"{where}: {problem['msg']}") from None


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
