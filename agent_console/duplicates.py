"""The duplicate review page for supervisors: every open "possibly the same as" pair the
hub proposed, most likely first, with the evidence on both sides.

`/console/duplicates` shows them; `GET /api/customer-links?cursor=&limit=` lists them a
page at a time (pairs with a customer since merged away are left out). A supervisor with
a team sees only pairs whose two customers the team may see (teams.py), as the customer
page has it. Deciding uses the identity routes (agent_console.customers): merge
(`POST /api/customer-links/{id}/merge`, undone by `POST /api/merges/{id}/undo`, which
proposes the pair again) and not the same (`POST /api/customer-links/{id}/dismiss`).
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from agent_console.auth import SUPERVISORS, page_for, requires
from agent_console.cursors import CursorError, read_cursor, write_cursor
from agent_console.responses import page
from agent_console.teams import may_read_customer, sees_everyone
from hub.api_models.duplicates import DuplicatePair, DuplicatePairs, PairSide, PairsQuery
from hub.customer_label import customer_label
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import Agent, Conversation, Customer, CustomerAddress, CustomerLink

__all__ = ["duplicates_page", "list_pairs", "setup"]

REFUSAL = "The duplicate review is for supervisors and admins."


def setup(app: web.Application) -> None:
    app.router.add_get("/console/duplicates", duplicates_page)
    app.router.add_get("/api/customer-links", list_pairs)


@page_for(SUPERVISORS, "Supervisors only", "The duplicate review is for supervisors.")
async def duplicates_page(request: web.Request, agent: Agent) -> web.Response:
    return page(request, "duplicates.html")


@requires(SUPERVISORS, refusal=REFUSAL)
async def list_pairs(request: web.Request, viewer: Agent) -> web.Response:
    query = PairsQuery.model_validate(dict(request.query))
    start = 0
    if query.cursor:
        try:
            start = int(read_cursor(query.cursor, "offset")["offset"])
        except (CursorError, TypeError, ValueError):
            raise BadInput("cursor", "is not one this hub gave out") from None
    async with request.app[SESSIONS]() as session:
        links, position, more = await _page(session, viewer, start, query.limit)
        pairs = [await _pair(session, link) for link in links]
    body = DuplicatePairs(pairs=pairs, next_cursor=write_cursor(offset=position) if more else None)
    return web.json_response(text=body.model_dump_json())


async def _page(
    session: AsyncSession, viewer: Agent, start: int, limit: int
) -> tuple[list[CustomerLink], int, bool]:
    """Open pairs from `start` in rank order that the viewer may see; the position after
    the last one taken, and whether more follow."""
    newer, known = aliased(Customer), aliased(Customer)
    ranked = (
        select(CustomerLink)
        .join(newer, newer.id == CustomerLink.customer_id)
        .join(known, known.id == CustomerLink.other_id)
        .where(
            CustomerLink.resolved_at.is_(None),
            newer.merged_into_id.is_(None),
            known.merged_into_id.is_(None),
        )
        .order_by(CustomerLink.probability.desc(), CustomerLink.id)
    )
    everyone = sees_everyone(viewer)
    found: list[CustomerLink] = []
    position = start
    while len(found) <= limit:
        chunk = list(await session.scalars(ranked.offset(position).limit(4 * limit)))
        if not chunk:
            break
        for link in chunk:
            if everyone or (
                await may_read_customer(session, viewer, link.customer_id)
                and await may_read_customer(session, viewer, link.other_id)
            ):
                found.append(link)
                if len(found) > limit:
                    break
            position += 1
    return found[:limit], position, len(found) > limit


async def _pair(session: AsyncSession, link: CustomerLink) -> DuplicatePair:
    return DuplicatePair(
        link_id=link.id,
        probability=round(link.probability, 4),
        proposed_at=link.created_at,
        newer=await _side(session, link.customer_id),
        known=await _side(session, link.other_id),
    )


async def _side(session: AsyncSession, customer_id: int) -> PairSide:
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    addresses = [
        (a.channel, a.address)
        for a in await session.scalars(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == customer_id)
            .order_by(CustomerAddress.id)
        )
    ]
    conversations = await session.scalar(
        select(func.count(Conversation.id)).where(Conversation.customer_id == customer_id)
    )
    return PairSide(
        id=customer.id,
        name=customer.name,
        shown_as=customer_label(customer.name, addresses, customer.details),
        segment=customer.segment,
        external_id=customer.external_id,
        addresses=addresses,
        details=customer.details,
        conversations=conversations or 0,
        created_at=customer.created_at,
    )
