"""The customer page: the whole record of one customer, and notes on it.

`GET /api/customers/{id}`: profile, every address with its consent state, every
conversation on any channel, possible duplicates and the newest page of the timeline.
`GET /api/customers/{id}/events?cursor=` pages further back. `POST
/api/customers/{id}/notes` adds a note to the customer (not to a conversation), signed
by its author. Who may open whom is `may_read_customer` (teams.py).
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import requires
from agent_console.cursors import CursorError, read_cursor, write_cursor
from agent_console.responses import error, json_body
from agent_console.teams import may_read_customer
from hub import crm
from hub.api_models.customers import (
    AddressState,
    AttributeField,
    ConversationLine,
    CustomerRecord,
    Event,
    NoteIn,
    PossibleDuplicate,
    Timeline,
)
from hub.customer_label import customer_label
from hub.keys import SESSIONS
from hub.models import (
    Agent,
    Conversation,
    Customer,
    CustomerAddress,
    CustomerAttribute,
    CustomerAttributeValue,
    CustomerLink,
    TimelineEvent,
)

__all__ = ["CustomerRecord", "add_note", "customer_events", "customer_page", "customer_record"]

TIMELINE_PAGE = 50


@requires()
async def customer_page(request: web.Request, viewer: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        customer = await _readable(session, viewer, request)
        record = await customer_record(session, customer, viewer)
    return web.json_response(text=record.model_dump_json())


async def customer_record(
    session: AsyncSession, customer: Customer, viewer: Agent
) -> CustomerRecord:
    """The whole page of one customer, with the newest page of the timeline."""
    addresses = await _addresses(session, customer.id)
    return CustomerRecord(
        id=customer.id,
        name=customer.name,
        shown_as=customer_label(
            customer.name, [(a.channel, a.address) for a in addresses], customer.details
        ),
        segment=customer.segment,
        language=customer.language,
        labels=customer.labels,
        attributes=await _attributes(session, customer.id),
        external_id=customer.external_id,
        details=customer.details,
        created_at=customer.created_at,
        merged_into_id=customer.merged_into_id,
        erased_at=customer.erased_at,
        addresses=addresses,
        conversations=await _conversations(session, customer.id),
        possible_duplicates=await _possible(session, customer.id, viewer),
        timeline=await _timeline(session, customer.id, None, TIMELINE_PAGE),
    )


@requires()
async def customer_events(request: web.Request, viewer: Agent) -> web.Response:
    cursor = request.query.get("cursor") or None
    try:
        limit = min(max(int(request.query.get("limit", TIMELINE_PAGE)), 1), 200)
    except ValueError:
        raise error(400, "limit must be a number from 1 to 200.") from None
    async with request.app[SESSIONS]() as session:
        customer = await _readable(session, viewer, request)
        timeline = await _timeline(session, customer.id, cursor, limit)
    return web.json_response(text=timeline.model_dump_json())


@requires()
async def add_note(request: web.Request, viewer: Agent) -> web.Response:
    try:
        note = NoteIn.model_validate(await json_body(request))
    except ValidationError as exc:
        raise error(400, f"text: {exc.errors()[0]['msg']}") from None
    async with request.app[SESSIONS]() as session, session.begin():
        customer = await _readable(session, viewer, request)
        event = crm.record(
            session,
            customer_id=customer.id,
            agent_id=viewer.id,
            kind="customer.note",
            summary=note.text,
            text=note.text,
        )
        await session.flush()
        body = _event(event, {viewer.id: viewer.display_name or viewer.username})
    return web.json_response(text=body.model_dump_json(), status=201)


async def _readable(session: AsyncSession, viewer: Agent, request: web.Request) -> Customer:
    customer_id = int(request.match_info["customer_id"])
    customer = await session.get(Customer, customer_id)
    if customer is None or not await may_read_customer(session, viewer, customer_id):
        raise error(404, "No such customer for you.")
    return customer


async def _attributes(session: AsyncSession, customer_id: int) -> list[AttributeField]:
    """Every attribute admins defined, with this customer's value or None."""
    rows = await session.execute(
        select(CustomerAttribute, CustomerAttributeValue.value)
        .outerjoin(
            CustomerAttributeValue,
            and_(
                CustomerAttributeValue.attribute_id == CustomerAttribute.id,
                CustomerAttributeValue.customer_id == customer_id,
            ),
        )
        .order_by(CustomerAttribute.id)
    )
    return [
        AttributeField(key=a.key, label=a.label, kind=a.kind, options=a.options, value=value)
        for a, value in rows
    ]


async def _addresses(session: AsyncSession, customer_id: int) -> list[AddressState]:
    rows = await session.scalars(
        select(CustomerAddress)
        .where(CustomerAddress.customer_id == customer_id)
        .order_by(CustomerAddress.id)
    )
    return [
        AddressState(
            channel=a.channel,
            address=a.address,
            opted_out=a.opted_out_at is not None,
            opted_out_at=a.opted_out_at,
            since=a.created_at,
        )
        for a in rows
    ]


async def _conversations(session: AsyncSession, customer_id: int) -> list[ConversationLine]:
    rows = await session.execute(
        select(Conversation, Agent.display_name, Agent.username)
        .outerjoin(Agent, Agent.id == Conversation.agent_id)
        .where(Conversation.customer_id == customer_id)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )
    return [
        ConversationLine(
            id=c.id,
            channel=c.channel,
            status=c.status,
            subject=c.subject,
            labels=c.labels,
            agent_id=c.agent_id,
            agent_name=(shown or username) if c.agent_id else None,
            disposition=c.disposition,
            created_at=c.created_at,
            updated_at=c.updated_at,
            closed_at=c.closed_at,
        )
        for c, shown, username in rows
    ]


async def _possible(
    session: AsyncSession, customer_id: int, viewer: Agent
) -> list[PossibleDuplicate]:
    """Open "possibly the same as" pairs with a customer not merged away (and, for a
    supervisor with a team, one their team may see: another team's is not even named)."""
    links = await session.scalars(
        select(CustomerLink)
        .where(
            CustomerLink.resolved_at.is_(None),
            or_(CustomerLink.customer_id == customer_id, CustomerLink.other_id == customer_id),
        )
        .order_by(CustomerLink.probability.desc(), CustomerLink.id)
    )
    found = []
    for link in links:
        other = await session.get(
            Customer, link.other_id if link.customer_id == customer_id else link.customer_id
        )
        if other is None or other.merged_into_id is not None:
            continue
        if viewer.role != "agent" and not await may_read_customer(session, viewer, other.id):
            continue
        found.append(
            PossibleDuplicate(
                link_id=link.id,
                probability=link.probability,
                customer_id=other.id,
                name=other.name,
                segment=other.segment,
            )
        )
    return found


async def _timeline(
    session: AsyncSession, customer_id: int, cursor: str | None, limit: int
) -> Timeline:
    """Newest first; the cursor is the (time, id) of the last event shown."""
    query = select(TimelineEvent).where(TimelineEvent.customer_id == customer_id)
    if cursor:
        try:
            position = read_cursor(cursor, "at", "id")
            at, last = datetime.fromisoformat(position["at"]), int(position["id"])
        except (CursorError, TypeError, ValueError):
            raise error(400, "cursor is not one this hub gave out") from None
        query = query.where(
            or_(
                TimelineEvent.created_at < at,
                and_(TimelineEvent.created_at == at, TimelineEvent.id < last),
            )
        )
    events = list(
        await session.scalars(
            query.order_by(TimelineEvent.created_at.desc(), TimelineEvent.id.desc()).limit(
                limit + 1
            )
        )
    )
    more, events = len(events) > limit, events[:limit]
    authors = await _agent_names(session, {e.agent_id for e in events if e.agent_id})
    next_cursor = None
    if more:
        next_cursor = write_cursor(at=events[-1].created_at.isoformat(), id=events[-1].id)
    return Timeline(events=[_event(e, authors) for e in events], next_cursor=next_cursor)


async def _agent_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Agent.id, Agent.display_name, Agent.username).where(Agent.id.in_(ids))
    )
    return {i: shown or username for i, shown, username in rows}


def _event(event: TimelineEvent, authors: dict[int, str]) -> Event:
    return Event(
        id=event.id,
        kind=event.kind,
        label=crm.label(event.kind),
        summary=event.summary,
        conversation_id=event.conversation_id,
        agent_id=event.agent_id,
        agent_name=authors.get(event.agent_id) if event.agent_id else None,
        data=event.data,
        at=event.created_at,
    )
