"""The customer panel's identity actions: "possibly the same as", merge, dismiss, undo.

Who may do what: whoever may open a customer's record sees its proposed pairs (an
agent whose conversation just closed still does; a supervisor with a team does not
even see the name of another team's customer). An agent may merge or dismiss a pair the
hub proposed when one of the two customers is in a conversation assigned or offered to
them (they are talking to the customer and can ask); supervisors and admins may for any
pair their team may see. Only proposed pairs merge here (others: `switchboard customers
merge`). A merge keeps both timelines and every address, and can be undone by whoever
made it, or by a supervisor or admin.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.audit import record
from agent_console.auth import SUPERVISORS, page_for, requires
from agent_console.customer_edit import edit_customer
from agent_console.customer_page import add_note, customer_events, customer_page
from agent_console.customer_search import search_customers
from agent_console.responses import PHONE_PAGE_HEADERS, error, page
from agent_console.teams import may_read_customer, may_see_customer
from agent_console.views import timeline_view
from hub import crm, outbox
from hub.customer_label import customer_label
from hub.events import CustomerMerged
from hub.keys import BUS, SESSIONS
from hub.models import (
    Agent,
    Conversation,
    Customer,
    CustomerAddress,
    CustomerLink,
    CustomerMerge,
    Offer,
    utcnow,
)
from routing.identity.merge import MergeError, merge_customers, unmerge


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/customers", customers_page)
    r.add_get("/api/customers", search_customers)
    r.add_get("/api/customers/{customer_id:\\d+}", customer_page)
    r.add_patch("/api/customers/{customer_id:\\d+}", edit_customer)
    r.add_get("/api/customers/{customer_id:\\d+}/events", customer_events)
    r.add_get("/api/customers/{customer_id:\\d+}/timeline", customer_timeline)
    r.add_post("/api/customers/{customer_id:\\d+}/notes", add_note)
    r.add_get("/api/customers/{customer_id:\\d+}/possible", possible_matches)
    r.add_post("/api/customer-links/{link_id:\\d+}/merge", merge_link)
    r.add_post("/api/customer-links/{link_id:\\d+}/dismiss", dismiss_link)
    r.add_post("/api/merges/{merge_id:\\d+}/undo", undo_merge)


@page_for(("agent", *SUPERVISORS), "Customers", "Sign in first.")
async def customers_page(request: web.Request, agent: Agent) -> web.Response:
    """Customer and conversation search with the customer's record, for every role."""
    return page(request, "customers.html", headers=PHONE_PAGE_HEADERS)


@requires()
async def customer_timeline(request: web.Request, agent: Agent) -> web.Response:
    customer_id = int(request.match_info["customer_id"])
    async with request.app[SESSIONS]() as session:
        if agent.role not in SUPERVISORS:
            mine = await session.scalar(
                select(Conversation.id)
                .outerjoin(Offer, Offer.conversation_id == Conversation.id)
                .where(
                    Conversation.customer_id == customer_id,
                    or_(
                        Conversation.agent_id == agent.id,
                        (Offer.agent_id == agent.id) & (Offer.status == "pending"),
                    ),
                )
                .limit(1)
            )
            if mine is None:
                raise error(404, "No such customer for you.")
        elif not await may_see_customer(session, agent, customer_id):
            raise error(404, "No such customer for you.")
        events = await crm.timeline(session, customer_id)
        return web.json_response(timeline_view(events))


@requires()
async def possible_matches(request: web.Request, agent: Agent) -> web.Response:
    """Open "possibly the same as" links of a customer, with the other customer's details."""
    customer_id = int(request.match_info["customer_id"])
    async with request.app[SESSIONS]() as session:
        # Reading is for whoever may open the customer's record (a conversation they
        # held, closed or not); deciding stays with those handling it now (_may_handle).
        if not await may_read_customer(session, agent, customer_id):
            raise error(404, "No such customer for you.")
        links = list(
            await session.scalars(
                select(CustomerLink)
                .where(
                    CustomerLink.resolved_at.is_(None),
                    or_(
                        CustomerLink.customer_id == customer_id,
                        CustomerLink.other_id == customer_id,
                    ),
                )
                .order_by(CustomerLink.probability.desc(), CustomerLink.id)
            )
        )
        found = []
        for link in links:
            other_id = link.other_id if link.customer_id == customer_id else link.customer_id
            other = await session.get(Customer, other_id)
            if other is None or other.merged_into_id is not None:
                continue
            if agent.role in SUPERVISORS and not await may_read_customer(session, agent, other_id):
                continue  # another team's customer: not even their name
            found.append(
                {
                    "link_id": link.id,
                    "probability": link.probability,
                    "customer": await _customer_json(session, other),
                }
            )
    return web.json_response(found)


@requires()
async def merge_link(request: web.Request, agent: Agent) -> web.Response:
    """Merge the newer customer of a proposed pair into the one known before."""
    async with request.app[SESSIONS]() as session, session.begin():
        link = await _open_link(session, agent, int(request.match_info["link_id"]))
        try:
            merge = await merge_customers(
                session, link.other_id, link.customer_id, agent_id=agent.id
            )
        except MergeError as exc:
            raise error(409, str(exc)) from None
        link.resolved_at = utcnow()
        link.merge_id = merge.id
        change = {"survivor_id": link.other_id, "merged_id": link.customer_id}
        record(session, request, agent, "customer.merged", f"merge {merge.id}", change)
        merged = CustomerMerged(
            customer_id=link.other_id, merged_id=link.customer_id, merge_id=merge.id
        )
        await outbox.add(session, merged, link.other_id)  # for webhooks, with the merge
        body = {"merge_id": merge.id, "survivor_id": link.other_id, "merged_id": link.customer_id}
    await request.app[BUS].publish(merged)
    return web.json_response(body)


@requires()
async def dismiss_link(request: web.Request, agent: Agent) -> web.Response:
    """Not the same person: the pair is no longer proposed."""
    async with request.app[SESSIONS]() as session, session.begin():
        link = await _open_link(session, agent, int(request.match_info["link_id"]))
        link.resolved_at = utcnow()
    return web.json_response({"link_id": link.id, "dismissed": True})


@requires()
async def undo_merge(request: web.Request, agent: Agent) -> web.Response:
    merge_id = int(request.match_info["merge_id"])
    async with request.app[SESSIONS]() as session, session.begin():
        merge = await session.get(CustomerMerge, merge_id)
        if merge is None or (agent.role not in SUPERVISORS and merge.agent_id != agent.id):
            raise error(404, "No such merge of yours.")
        try:
            await unmerge(session, merge_id, agent_id=agent.id)
        except MergeError as exc:
            raise error(409, str(exc)) from None
        link = await session.scalar(select(CustomerLink).where(CustomerLink.merge_id == merge_id))
        if link is not None:  # proposed again: the two are separate once more
            link.resolved_at = None
            link.merge_id = None
        change = {"survivor_id": merge.survivor_id, "merged_id": merge.merged_id}
        record(session, request, agent, "customer.merge_undone", f"merge {merge_id}", change)
        body = {"merge_id": merge_id, "customer_id": merge.merged_id}
    return web.json_response(body)


async def _open_link(session: AsyncSession, agent: Agent, link_id: int) -> CustomerLink:
    link = await session.get(CustomerLink, link_id)
    if link is None or not await _may_handle(session, agent, (link.customer_id, link.other_id)):
        raise error(404, "No such proposed match for you.")
    if link.resolved_at is not None:
        raise error(409, "This proposed match was already decided.")
    return link


async def _may_handle(session: AsyncSession, agent: Agent, customer_ids: tuple[int, ...]) -> bool:
    """Supervisors: customers their team may see (all of them, without a team). Agents:
    customers in a conversation assigned or offered to them."""
    if agent.role in SUPERVISORS:
        for customer_id in customer_ids:
            if not await may_read_customer(session, agent, customer_id):
                return False
        return True
    mine = await session.scalar(
        select(Conversation.id)
        .outerjoin(Offer, Offer.conversation_id == Conversation.id)
        .where(
            Conversation.customer_id.in_(customer_ids),
            or_(
                (Conversation.agent_id == agent.id) & (Conversation.status == "assigned"),
                (Offer.agent_id == agent.id) & (Offer.status == "pending"),
            ),
        )
        .limit(1)
    )
    return mine is not None


async def _customer_json(session: AsyncSession, customer: Customer) -> dict[str, Any]:
    addresses = list(
        await session.scalars(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == customer.id)
            .order_by(CustomerAddress.id)
        )
    )
    return {
        "id": customer.id,
        "name": customer_label(
            customer.name, [(a.channel, a.address) for a in addresses], customer.details
        ),
        "segment": customer.segment,
        "addresses": [{"channel": a.channel, "address": a.address} for a in addresses],
    }
