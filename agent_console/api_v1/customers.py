"""/api/v1/customers: the directory, one customer's record, creating and changing them,
and the upsert an integration syncs its CRM with (PUT by its own id for the customer).

Listing is the console's directory search (`find_customers`) and a record is the
console's customer page (`customer_record`), seen as an admin of no team sees them.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.api_v1.bearer import integration_viewer, scoped
from agent_console.customer_edit import change_customer
from agent_console.customer_page import customer_record
from agent_console.customer_search import find_customers
from agent_console.keys import DIRECTORY
from agent_console.responses import error, json_body
from hub import crm, outbox
from hub.api_models.customers import (
    AddressIn,
    CustomerChange,
    CustomerIn,
    CustomerUpsert,
    SearchParams,
)
from hub.api_tokens import TokenHolder
from hub.events import CustomerCreated
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import Customer, CustomerAddress
from routing.identity.addresses import normalize_email, normalize_phone

# What an upsert sets whether given or not (a field left out goes back to its default).
_REPLACED = {"name", "segment", "language", "labels"}
CUSTOMER = "/api/v1/customers/{customer_id:\\d+}"
BY_EXTERNAL_ID = "/api/v1/customers/by-external-id/{external_id}"


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/customers", list_customers)
    r.add_post("/api/v1/customers", create_customer)
    r.add_get(CUSTOMER, get_customer)
    r.add_patch(CUSTOMER, patch_customer)
    r.add_put(BY_EXTERNAL_ID, upsert_customer)


@scoped("customers:read")
async def list_customers(request: web.Request, token: TokenHolder) -> web.Response:
    params = SearchParams.model_validate(dict(request.query))
    directory = request.app[DIRECTORY]
    async with request.app[SESSIONS]() as session:
        found = await find_customers(
            session,
            directory.resolver.index,
            directory.resolver.region,
            integration_viewer(),
            params,
        )
    return web.json_response(text=found.model_dump_json())


@scoped("customers:read")
async def get_customer(request: web.Request, token: TokenHolder) -> web.Response:
    async with request.app[SESSIONS]() as session:
        customer = await _stored(session, request)
        return await _record(session, customer)


@scoped("customers:write")
async def create_customer(request: web.Request, token: TokenHolder) -> web.Response:
    given = CustomerIn.model_validate(await json_body(request))
    region = request.app[DIRECTORY].resolver.region
    taken = BadInput("external_id", "another customer has it already.", status=409)
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            if given.external_id is not None and await _by_external_id(session, given.external_id):
                raise taken
            customer = await _create(session, given, given.external_id, token, region)
            return await _record(session, customer, status=201)
    except IntegrityError:  # given to another customer at the same moment
        raise taken from None


@scoped("customers:write")
async def patch_customer(request: web.Request, token: TokenHolder) -> web.Response:
    change = CustomerChange.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        customer = await _stored(session, request)
        await change_customer(session, customer, change, None)
        await session.flush()
        return await _record(session, customer)


@scoped("customers:write")
async def upsert_customer(request: web.Request, token: TokenHolder) -> web.Response:
    """The customer the integration's system knows by `external_id`, made to match what
    it sends: created (201) if the hub has no customer with that id, else changed where
    it differs (200). Sending the same body again changes nothing."""
    external_id = request.match_info["external_id"].strip()
    if not external_id or len(external_id) > 128:
        raise BadInput("external_id", "must be 1 to 128 characters.")
    given = CustomerUpsert.model_validate(await json_body(request))
    try:
        return await _upsert(request, external_id, given, token)
    except IntegrityError:
        # Two upserts of one new id at once: the other one created it; this one is told.
        raise BadInput("external_id", "was created meanwhile; send it again.", 409) from None


async def _upsert(
    request: web.Request, external_id: str, given: CustomerUpsert, token: TokenHolder
) -> web.Response:
    region = request.app[DIRECTORY].resolver.region
    async with request.app[SESSIONS]() as session, session.begin():
        customer = await _by_external_id(session, external_id)
        if customer is None:
            customer = await _create(session, given, external_id, token, region)
            return await _record(session, customer, status=201)
        if customer.merged_into_id is not None:
            raise error(409, f"This customer was merged into {customer.merged_into_id}.")
        change = CustomerChange.model_validate(
            given.model_dump(include=_REPLACED | ({"attributes"} if given.attributes else set()))
        )
        await change_customer(session, customer, change, None)
        if given.details != customer.details:
            crm.record(
                session,
                customer_id=customer.id,
                kind="customer.updated",
                summary=f"Details from {token.name}",
                field="details",
                before=customer.details,
                after=given.details,
            )
            customer.details = given.details
        await _add_addresses(session, customer, given.addresses, region)
        await session.flush()
        return await _record(session, customer)


async def _stored(session: AsyncSession, request: web.Request) -> Customer:
    customer = await session.get(Customer, int(request.match_info["customer_id"]))
    if customer is None:
        raise error(404, "No such customer.")
    return customer


async def _by_external_id(session: AsyncSession, external_id: str) -> Customer | None:
    found: Customer | None = await session.scalar(
        select(Customer).where(Customer.external_id == external_id)
    )
    return found


async def _create(
    session: AsyncSession,
    given: CustomerUpsert,
    external_id: str | None,
    token: TokenHolder,
    region: str,
) -> Customer:
    customer = Customer(
        name=given.name,
        segment=given.segment,
        language=given.language,
        labels=given.labels,
        details=given.details,
        external_id=external_id,
    )
    session.add(customer)
    await session.flush()
    crm.record(
        session,
        customer_id=customer.id,
        kind="customer.created",
        summary=f"Created by {token.name}",
    )
    # Webhook subscribers hear of it as of a customer a first contact made.
    await outbox.add(session, CustomerCreated(customer_id=customer.id, channel="api"), customer.id)
    await _add_addresses(session, customer, given.addresses, region)
    if given.attributes:
        wanted = CustomerChange.model_validate({"attributes": given.attributes})
        await change_customer(session, customer, wanted, None)
    await session.flush()
    return customer


async def _add_addresses(
    session: AsyncSession, customer: Customer, addresses: list[AddressIn], region: str
) -> None:
    """Give the customer each address they lack; one another customer has is refused."""
    for number, given in enumerate(addresses):
        field = f"addresses.{number}.address"
        if given.channel == "email":
            address = normalize_email(given.address)
        else:
            address = normalize_phone(given.address, region)
        if address is None:
            raise BadInput(field, f"is not an address one can reach on {given.channel}.")
        owner = await session.scalar(
            select(CustomerAddress.customer_id).where(
                CustomerAddress.channel == given.channel, CustomerAddress.address == address
            )
        )
        if owner == customer.id:
            continue
        if owner is not None:
            raise BadInput(field, f"belongs to customer {owner}.", status=409)
        session.add(
            CustomerAddress(customer_id=customer.id, channel=given.channel, address=address)
        )
        await session.flush()


async def _record(session: AsyncSession, customer: Customer, status: int = 200) -> web.Response:
    record = await customer_record(session, customer, integration_viewer())
    return web.json_response(text=record.model_dump_json(), status=status)
