"""Who sends from an address the hub has not seen: the seam between intake and routing.

Intake finds customers by exact address itself. For an address it does not know, it
asks a `CustomerResolver` (routing's identity index, handed over by `hub.app`): a
confident match gets the new address and the contact; a doubtful one means a new
customer, linked to the likely ones as "possibly the same as" for an agent to merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm
from hub.contacts import InboundContact
from hub.models import Customer, CustomerAddress, CustomerLink


@dataclass(frozen=True)
class Identity:
    """`customer_id`: the contact is this customer. Else `possibly`: customers it may be,
    as (customer id, probability), most likely first. Neither: nobody like it is known."""

    customer_id: int | None = None
    possibly: tuple[tuple[int, float], ...] = ()
    reason: str = ""


class CustomerResolver(Protocol):
    def resolve(self, channel: str, address: str, name: str) -> Identity:
        """Who writes from this address (unknown to intake) under this name; no I/O."""
        ...


async def link_known(
    session: AsyncSession, contact: InboundContact, identity: Identity
) -> Customer | None:
    """The stored customer a confident match names, with the contact's address added."""
    if identity.customer_id is None:
        return None
    customer = await session.get(Customer, identity.customer_id)
    if customer is None or customer.merged_into_id is not None or customer.erased_at is not None:
        return None  # the index was behind: merged, erased or gone meanwhile
    await add_address(
        session,
        customer,
        contact,
        "customer.recognised",
        f"Recognised on {contact.channel} from {contact.sender} ({identity.reason})",
        address=contact.sender,
    )
    return customer


async def add_address(
    session: AsyncSession,
    customer: Customer,
    contact: InboundContact,
    kind: str,
    summary: str,
    **data: Any,
) -> None:
    """Give the customer the address the contact came from, and say so on the timeline."""
    session.add(
        CustomerAddress(customer_id=customer.id, channel=contact.channel, address=contact.sender)
    )
    crm.record(
        session,
        customer_id=customer.id,
        kind=kind,
        summary=summary,
        channel=contact.channel,
        **data,
    )
    await session.flush()


def note_possible(session: AsyncSession, customer: Customer, identity: Identity) -> None:
    """Link a new customer to the stored ones it is possibly the same as."""
    for other_id, probability in identity.possibly:
        if other_id != customer.id:
            session.add(
                CustomerLink(
                    customer_id=customer.id, other_id=other_id, probability=round(probability, 4)
                )
            )
    if identity.possibly:
        others = ", ".join(f"#{other_id}" for other_id, _p in identity.possibly)
        crm.record(
            session,
            customer_id=customer.id,
            kind="customer.possible_match",
            summary=f"Possibly the same as {others}",
            others=[other_id for other_id, _p in identity.possibly],
        )
