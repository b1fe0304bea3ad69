"""The duplicate review page for supervisors: every open "possibly the same as" pair the
hub proposed, most likely first, with the evidence on both sides.

`/console/duplicates` shows them; `GET /api/customer-links?cursor=&limit=` lists them a
page at a time (pairs with a customer since merged away are left out). A supervisor with
a team sees only pairs whose two customers the team may see (teams.py), as the customer
page has it. Deciding uses the identity routes (agent_console.customers): merge
(`POST /api/customer-links/{id}/merge`, undone by `POST /api/merges/{id}/undo`, which
proposes the pair again) and not the same (`POST /api/customer-links/{id}/dismiss`).

Find duplicates (`POST /api/customer-links/scan {min_probability}`, default 0.9 as
`switchboard customers dedupe`) scores every pair of customers as that command does and
stores those at or above the probability as open pairs, never one already stored (open or
decided) nor one people said are two (not the same, or a merge undone). A scan covers all
customers, whoever starts it: matching learns its weights from the whole population, and
a stored pair reveals nothing by itself; the listing stays team-limited as above. Scoring
runs in a thread; one scan at a time per hub process (another gets 409), as does a hub
with too few customers to learn from (409 saying why). Every scan is in the audit log.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from agent_console.audit import record
from agent_console.auth import SUPERVISORS, page_for, requires
from agent_console.cursors import CursorError, read_cursor, write_cursor
from agent_console.responses import error, json_body, page
from agent_console.teams import may_read_customer, sees_everyone
from hub.api_models.duplicates import (
    DuplicatePair,
    DuplicatePairs,
    DuplicateScan,
    DuplicateScanIn,
    PairSide,
    PairsQuery,
)
from hub.customer_label import customer_label
from hub.inputs import BadInput
from hub.keys import SESSIONS, SETTINGS
from hub.models import Agent, Conversation, Customer, CustomerAddress, CustomerLink
from routing.identity.customers import TooFewToLearn, find_duplicates
from routing.identity.merge import decided_apart

__all__ = ["duplicates_page", "list_pairs", "propose_duplicates", "scan_pairs", "setup"]

REFUSAL = "The duplicate review is for supervisors and admins."
# Held while a scan runs, so a second one is refused rather than queued behind it.
SCANNING = web.AppKey("duplicate_scan", asyncio.Lock)


def setup(app: web.Application) -> None:
    app[SCANNING] = asyncio.Lock()
    app.router.add_get("/console/duplicates", duplicates_page)
    app.router.add_get("/api/customer-links", list_pairs)
    app.router.add_post("/api/customer-links/scan", scan_pairs)


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


@requires(SUPERVISORS, refusal=REFUSAL)
async def scan_pairs(request: web.Request, viewer: Agent) -> web.Response:
    """Score every pair of customers now and store the likely ones for review."""
    given = DuplicateScanIn.model_validate(await json_body(request) if request.body_exists else {})
    scanning = request.app[SCANNING]
    if scanning.locked():
        raise error(409, "A search for duplicates is running already; wait for it to finish.")
    region = request.app[SETTINGS].identity_region
    async with scanning, request.app[SESSIONS]() as session, session.begin():
        try:
            done = await propose_duplicates(session, given.min_probability, region)
        except TooFewToLearn as exc:
            raise error(409, f"No pair was scored, as {exc}.") from None
        record(session, request, viewer, "customer.duplicates_scanned", "", done.model_dump())
    return web.json_response(text=done.model_dump_json())


async def propose_duplicates(
    session: AsyncSession, at_least: float, region: str = "US"
) -> DuplicateScan:
    """Store every pair at or above `at_least` as "possibly the same" (the newer customer
    proposed as the known one), except pairs stored before or that people set apart."""
    found = await find_duplicates(session, region)
    likely = [d for d in found if d.probability >= at_least]
    added = already = apart = 0
    for d in likely:
        known, newer = sorted((d.first_id, d.second_id))
        stored = await session.scalar(
            select(CustomerLink.id)
            .where(
                or_(
                    and_(CustomerLink.customer_id == newer, CustomerLink.other_id == known),
                    and_(CustomerLink.customer_id == known, CustomerLink.other_id == newer),
                )
            )
            .limit(1)
        )
        if await decided_apart(session, known, newer):
            apart += 1
        elif stored is not None:
            already += 1
        else:
            session.add(CustomerLink(customer_id=newer, other_id=known, probability=d.probability))
            added += 1
    return DuplicateScan(
        min_probability=at_least,
        scored=len(found),
        found=len(likely),
        added=added,
        skipped=already + apart,
        already_proposed=already,
        decided_apart=apart,
    )


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
