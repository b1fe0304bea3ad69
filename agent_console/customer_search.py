"""The customer directory: find any customer the viewer may see, by what they type.

`GET /api/customers?q=` finds by phone number (written any way), email, external id
and name, exactly or alike (routing.identity.lookup), with filters: segment, label,
channel (an address or a conversation on it), has an open conversation, last contact
since, and a custom attribute's value (`attribute=plan&value=gold`, compared as the
attribute's kind reads it: `value=5.0` finds 5, text ignores case).
Without `q` it lists customers newest first. Pages follow `next_cursor`. Who sees
whom is `customer_scope` in teams.py, the same rule as the rest of the console.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, Text, cast, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import requires
from agent_console.cursors import CursorError, read_cursor, write_cursor
from agent_console.keys import DIRECTORY
from agent_console.responses import error
from agent_console.teams import customer_scope
from hub.api_models.customers import AddressOut, CustomerHit, CustomerResults, SearchParams
from hub.customer_attributes import AttributeValueError, check_filter
from hub.customer_label import customer_label
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import (
    OPEN_STATUSES,
    Agent,
    Conversation,
    Customer,
    CustomerAddress,
    CustomerAttribute,
    CustomerAttributeValue,
)
from routing.identity.index import CustomerIndex
from routing.identity.lookup import Match, match_customers

__all__ = ["CustomerResults", "SearchParams", "find_customers", "search_customers"]


MAX_MATCHES = 500


@requires()
async def search_customers(request: web.Request, viewer: Agent) -> web.Response:
    params = _params(request)
    directory = request.app[DIRECTORY]
    async with request.app[SESSIONS]() as session:
        body = await find_customers(
            session, directory.resolver.index, directory.resolver.region, viewer, params
        )
    return web.json_response(text=body.model_dump_json())


async def find_customers(
    session: AsyncSession,
    index: CustomerIndex,
    region: str,
    viewer: Agent,
    params: SearchParams,
) -> CustomerResults:
    """One page of the directory as `viewer` may see it."""
    conditions = _filters(params)
    if params.attribute is not None or params.value is not None:
        conditions.append(await _attribute_filter(session, params))
    scope = await customer_scope(session, viewer)
    if scope is not None:
        conditions.append(scope)
    if params.q:
        matches = await match_customers(session, index, params.q, region, MAX_MATCHES)
        page, more = await _ranked_page(session, matches, conditions, params)
    else:
        page, more = await _newest_page(session, conditions, params)
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = (
            write_cursor(offset=last[1]) if params.q else write_cursor(before=last[0].customer_id)
        )
    return CustomerResults(customers=await _hits(session, page), next_cursor=next_cursor)


def _params(request: web.Request) -> SearchParams:
    try:
        return SearchParams.model_validate(dict(request.query))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise error(400, f"{where}: {problem['msg']}") from None


def _filters(params: SearchParams) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Customer.merged_into_id.is_(None)]
    if params.segment:
        conditions.append(Customer.segment == params.segment)
    if params.label:
        conditions.append(_has_label(params.label))
    if params.channel:
        conditions.append(
            or_(
                exists(_conversations().where(Conversation.channel == params.channel)),
                exists(
                    select(CustomerAddress.id).where(
                        CustomerAddress.customer_id == Customer.id,
                        CustomerAddress.channel == params.channel,
                    )
                ),
            )
        )
    if params.open is not None:
        is_open = exists(_conversations().where(Conversation.status.in_(OPEN_STATUSES)))
        conditions.append(is_open if params.open else ~is_open)
    if params.since is not None:
        since = params.since if params.since.tzinfo else params.since.replace(tzinfo=UTC)
        conditions.append(exists(_conversations().where(Conversation.updated_at >= since)))
    return conditions


async def _attribute_filter(session: AsyncSession, params: SearchParams) -> ColumnElement[bool]:
    """Customers whose attribute holds the value, compared as the attribute's kind reads it."""
    if not params.attribute or params.value is None:
        raise BadInput("attribute", "give both attribute (its key) and value.")
    attribute = await session.scalar(
        select(CustomerAttribute).where(CustomerAttribute.key == params.attribute)
    )
    if attribute is None:
        raise BadInput("attribute", f"no such attribute {params.attribute!r}.")
    try:
        wanted = check_filter(attribute, params.value)
    except AttributeValueError as exc:
        raise BadInput("value", f"{attribute.key} {exc}") from None
    return exists(
        select(CustomerAttributeValue.customer_id).where(
            CustomerAttributeValue.customer_id == Customer.id,
            CustomerAttributeValue.attribute_id == attribute.id,
            CustomerAttributeValue.value_key == wanted,
        )
    )


def _has_label(label: str) -> ColumnElement[bool]:
    """Labels are a JSON list of plain words (see customer_edit): its text holds "label"."""
    wanted = json.dumps(" ".join(label.split()).lower())
    escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(Customer.labels, Text).like(f"%{escaped}%", escape="\\")


def _conversations() -> Select[tuple[int]]:
    return select(Conversation.id).where(Conversation.customer_id == Customer.id)


# A page row: the match (a bare id when listing), and the offset in the matches after it.
Row = tuple[Match, int]


async def _ranked_page(
    session: AsyncSession,
    matches: list[Match],
    conditions: list[ColumnElement[bool]],
    params: SearchParams,
) -> tuple[list[Row], bool]:
    """The next page of matches the filters and the viewer's scope let through."""
    start = 0
    if params.cursor:
        start = int(_cursor(params.cursor, "offset")["offset"])
    page: list[Row] = []
    position = start
    # Filtering a slice at a time keeps one query per page however long the match list.
    while position < len(matches) and len(page) <= params.limit:
        chunk = matches[position : position + 4 * params.limit]
        allowed = set(
            await session.scalars(
                select(Customer.id).where(
                    Customer.id.in_([m.customer_id for m in chunk]), *conditions
                )
            )
        )
        for match in chunk:
            position += 1
            if match.customer_id in allowed:
                page.append((match, position))
                if len(page) > params.limit:
                    break
    more = len(page) > params.limit
    return page[: params.limit], more


async def _newest_page(
    session: AsyncSession, conditions: list[ColumnElement[bool]], params: SearchParams
) -> tuple[list[Row], bool]:
    query = select(Customer.id).where(*conditions)
    if params.cursor:
        query = query.where(Customer.id < int(_cursor(params.cursor, "before")["before"]))
    ids = list(await session.scalars(query.order_by(Customer.id.desc()).limit(params.limit + 1)))
    rows: list[Row] = [(Match(i, 0.0, ""), 0) for i in ids[: params.limit]]
    return rows, len(ids) > params.limit


def _cursor(cursor: str, field: str) -> dict[str, Any]:
    try:
        position = read_cursor(cursor, field)
    except CursorError as exc:
        raise error(400, str(exc)) from None
    if isinstance(position[field], bool) or not isinstance(position[field], int):
        raise error(400, "cursor is not one this hub gave out")
    return position


async def _hits(session: AsyncSession, page: list[Row]) -> list[CustomerHit]:
    ids = [match.customer_id for match, _ in page]
    if not ids:
        return []
    stored = await session.scalars(select(Customer).where(Customer.id.in_(ids)))
    customers = {c.id: c for c in stored}
    addresses: dict[int, list[AddressOut]] = {i: [] for i in ids}
    for a in await session.scalars(
        select(CustomerAddress)
        .where(CustomerAddress.customer_id.in_(ids))
        .order_by(CustomerAddress.id)
    ):
        addresses[a.customer_id].append(
            AddressOut(channel=a.channel, address=a.address, opted_out=a.opted_out_at is not None)
        )
    contact = {
        customer_id: (last, opened)
        for customer_id, last, opened in await session.execute(
            select(
                Conversation.customer_id,
                func.max(Conversation.updated_at),
                func.count(Conversation.id).filter(Conversation.status.in_(OPEN_STATUSES)),
            )
            .where(Conversation.customer_id.in_(ids))
            .group_by(Conversation.customer_id)
        )
    }
    hits = []
    for match, _ in page:
        customer = customers[match.customer_id]
        last, opened = contact.get(customer.id, (None, 0))
        hits.append(
            CustomerHit(
                id=customer.id,
                name=customer.name,
                shown_as=customer_label(
                    customer.name,
                    [(a.channel, a.address) for a in addresses[customer.id]],
                    customer.details,
                ),
                segment=customer.segment,
                labels=customer.labels,
                external_id=customer.external_id,
                addresses=addresses[customer.id],
                last_contact_at=last,
                open_conversations=opened,
                match=match.reason or None,
                score=round(match.score, 3) if match.reason else None,
            )
        )
    return hits
