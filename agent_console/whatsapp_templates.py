"""WhatsApp templates: the approved messages WhatsApp takes outside a customer's 24-hour
window, each sent by its Twilio Content SID.

`GET /api/whatsapp-templates` lists them for every signed-in agent (the console offers
them when the window is closed). Admins keep the list on the admin page: `POST
/api/admin/whatsapp-templates` {name, content_sid, language, body}, `PATCH` and `DELETE
/api/admin/whatsapp-templates/{id}`; each change goes to the audit log. Sent messages
keep the text they had, so deleting a template changes no conversation.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent_console.audit import record
from agent_console.auth import ADMINS, requires
from agent_console.responses import error, json_body
from hub.api_models.whatsapp_templates import (
    WhatsAppTemplateChange,
    WhatsAppTemplateIn,
    WhatsAppTemplateOut,
    variables_in,
)
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import Agent, WhatsAppTemplate, utcnow

__all__ = ["setup", "template_out"]

ITEM = "/api/admin/whatsapp-templates/{template_id:\\d+}"
REFUSAL = "Only admins keep the WhatsApp templates."


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/whatsapp-templates", list_templates)
    r.add_post("/api/admin/whatsapp-templates", create_template)
    r.add_patch(ITEM, update_template)
    r.add_delete(ITEM, delete_template)


def template_out(template: WhatsAppTemplate) -> WhatsAppTemplateOut:
    return WhatsAppTemplateOut(
        id=template.id,
        name=template.name,
        content_sid=template.content_sid,
        language=template.language,
        body=template.body,
        variables=variables_in(template.body),
    )


def _taken(name: str) -> BadInput:
    return BadInput("name", f"there is a WhatsApp template {name} already.", 409)


@requires()
async def list_templates(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        found = await session.scalars(select(WhatsAppTemplate).order_by(WhatsAppTemplate.name))
        body = [template_out(t).model_dump() for t in found]
    return web.json_response(body)


@requires(ADMINS, refusal=REFUSAL)
async def create_template(request: web.Request, agent: Agent) -> web.Response:
    given = WhatsAppTemplateIn.model_validate(await json_body(request))
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            template = WhatsAppTemplate(**given.model_dump())
            session.add(template)
            await session.flush()
            body = template_out(template)
            target = f"WhatsApp template {template.id}"
            record(session, request, agent, "whatsapp_template.created", target, given.model_dump())
    except IntegrityError:
        raise _taken(given.name) from None
    return web.json_response(body.model_dump(), status=201)


@requires(ADMINS, refusal=REFUSAL)
async def update_template(request: web.Request, agent: Agent) -> web.Response:
    change = WhatsAppTemplateChange.model_validate(await json_body(request))
    fields = {"name", "content_sid", "language", "body"}
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            template = await session.get(WhatsAppTemplate, int(request.match_info["template_id"]))
            if template is None:
                raise error(404, "No such WhatsApp template.")
            before = template_out(template).model_dump(include=fields)
            for name, value in change.model_dump(exclude_none=True).items():
                setattr(template, name, value)
            body = template_out(template)
            after = body.model_dump(include=fields)
            if after != before:
                template.updated_at = utcnow()
                await session.flush()
                target = f"WhatsApp template {template.id} ({template.name})"
                seen = {"before": before, "after": after}
                record(session, request, agent, "whatsapp_template.updated", target, seen)
    except IntegrityError:
        raise _taken(change.name or "") from None
    return web.json_response(body.model_dump())


@requires(ADMINS, refusal=REFUSAL)
async def delete_template(request: web.Request, agent: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session, session.begin():
        template = await session.get(WhatsAppTemplate, int(request.match_info["template_id"]))
        if template is None:
            raise error(404, "No such WhatsApp template.")
        gone = template_out(template).model_dump(exclude={"id", "variables"})
        await session.delete(template)
        target = f"WhatsApp template {template.id} ({template.name})"
        record(session, request, agent, "whatsapp_template.deleted", target, gone)
    return web.Response(status=204)
