"""Where a customer can be answered: their addresses on the channels the hub sends on.

An agent may answer on another channel than the one the customer came in on: a missed
call by SMS, a chat by email. A phone number that called us can take a text; a number
that replied STOP is listed, marked opted out, and is never texted.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import CustomerAddress

# The channel a reply to each kind of address goes out on.
SENT_ON = {"chat": "chat", "email": "email", "sms": "sms", "voice": "sms"}


@dataclass(frozen=True)
class ReplyChannel:
    channel: str
    address: str
    opted_out: bool


async def reply_channels(session: AsyncSession, customer_id: int) -> list[ReplyChannel]:
    """One address per channel we can send on (the newest; a texted number before a caller's)."""
    addresses = list(
        await session.scalars(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == customer_id)
            .order_by(CustomerAddress.id.desc())
        )
    )
    opted_out = {a.address for a in addresses if a.channel == "sms" and a.opted_out_at}
    chosen: dict[str, ReplyChannel] = {}
    for own_channel_first in (True, False):
        for address in addresses:
            channel = SENT_ON.get(address.channel)
            if channel is None or channel in chosen:
                continue
            if own_channel_first != (address.channel == channel):
                continue
            chosen[channel] = ReplyChannel(channel, address.address, address.address in opted_out)
    return [chosen[c] for c in ("chat", "email", "sms") if c in chosen]
