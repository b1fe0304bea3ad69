"""Starting a conversation from a customer's page: a new email or text.

`GET /api/customers/{id}/outreach`: the channels an agent may start on, each with the
customer's addresses there (opted-out ones marked) and the inboxes it may leave from.
`POST /api/customers/{id}/conversations` starts one (`routing.outreach`): the agent who
sends it holds it, within their capacity. Whoever may open the customer's record may
write to them.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import requires
from agent_console.responses import error, json_body
from agent_console.teams import may_read_customer
from hub.api_models.conversations import ConversationStart, ConversationStarted
from hub.conversations import ConversationError
from hub.keys import CHANNELS, SESSIONS
from hub.models import Agent, Customer, CustomerAddress, Inbox
from routing.outreach import NewConversation, Outreach

OUTREACH = web.AppKey("outreach", Outreach)
CUSTOMER = "/api/customers/{customer_id:\\d+}"


def setup(app: web.Application) -> None:
    app.router.add_get(CUSTOMER + "/outreach", outreach_options)
    app.router.add_post(CUSTOMER + "/conversations", start_conversation)


@requires()
async def outreach_options(request: web.Request, agent: Agent) -> web.Response:
    channels = request.app[CHANNELS]
    async with request.app[SESSIONS]() as session:
        customer = await _readable(session, agent, request)
        addresses = list(
            await session.scalars(
                select(CustomerAddress)
                .where(CustomerAddress.customer_id == customer.id)
                .order_by(CustomerAddress.id)
            )
        )
        inboxes = list(await session.scalars(select(Inbox).order_by(Inbox.id)))
    options: list[dict[str, Any]] = []
    for name in channels.started_by_agents():
        traits = channels[name]
        # A number that called us takes a text: every address the channel answers counts.
        reach = dict.fromkeys(
            a.address
            for a in addresses
            if a.channel in channels and channels[a.channel].replies_on == name
        )
        opted_out = {a.address for a in addresses if a.channel == name and a.opted_out_at}
        options.append(
            {
                "channel": name,
                "label": traits.label,
                "needs_subject": traits.threaded,
                "copies": traits.copies,
                "addresses": [
                    {"address": address, "opted_out": address in opted_out} for address in reach
                ],
                "inboxes": [
                    {"id": i.id, "address": i.address, "name": i.name}
                    for i in inboxes
                    if i.channel == name
                ],
            }
        )
    return web.json_response({"customer_id": customer.id, "channels": options})


@requires()
async def start_conversation(request: web.Request, agent: Agent) -> web.Response:
    start = ConversationStart.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session:
        customer = await _readable(session, agent, request)
    new = NewConversation(
        customer_id=customer.id,
        channel=start.channel,
        address=start.address.strip(),
        inbox_id=start.inbox_id,
        subject=start.subject,
        text=start.text,
        cc=tuple(start.cc),
        bcc=tuple(start.bcc),
    )
    try:
        started = await request.app[OUTREACH].start(agent.id, new)
    except ConversationError as exc:
        raise error(exc.status, str(exc)) from None
    answer = ConversationStarted(
        conversation_id=started.conversation_id,
        message_id=started.sent.message_id,
        delivery_status=started.sent.delivery_status,
    )
    return web.json_response(answer.model_dump(), status=201)


async def _readable(session: AsyncSession, agent: Agent, request: web.Request) -> Customer:
    customer = await session.get(Customer, int(request.match_info["customer_id"]))
    if customer is None or not await may_read_customer(session, agent, customer.id):
        raise error(404, "No such customer for you.")
    if customer.merged_into_id is not None:
        raise error(409, f"This customer was merged into {customer.merged_into_id}.")
    return customer
