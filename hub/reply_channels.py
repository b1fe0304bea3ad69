"""Where a customer can be answered: their addresses on the channels the hub sends on.

An agent may answer on another channel than the one the customer came in on: a missed
call by SMS, a chat by email. Each channel's traits say which channel a reply to one of
its addresses goes out on (a phone number that called us can take a text) and whether
customers opt out of it; an address that opted out is listed, marked, and never sent to.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.channel_traits import ChannelRegistry
from hub.models import CustomerAddress


@dataclass(frozen=True)
class ReplyChannel:
    channel: str
    address: str
    opted_out: bool


async def reply_channels(
    session: AsyncSession, customer_id: int, channels: ChannelRegistry
) -> list[ReplyChannel]:
    """One address per channel we can send on (the newest; a texted number before a caller's)."""
    # An address on a channel this hub does not run cannot be answered: left out.
    addresses = [
        a
        for a in await session.scalars(
            select(CustomerAddress)
            .where(CustomerAddress.customer_id == customer_id)
            .order_by(CustomerAddress.id.desc())
        )
        if a.channel in channels
    ]
    opted_out = {
        (a.channel, a.address) for a in addresses if a.opted_out_at and channels[a.channel].opts_out
    }
    chosen: dict[str, ReplyChannel] = {}
    for own_channel_first in (True, False):
        for address in addresses:
            channel = channels[address.channel].replies_on
            if channel is None or channel in chosen:
                continue
            if own_channel_first != (address.channel == channel):
                continue
            refused = (channel, address.address) in opted_out
            chosen[channel] = ReplyChannel(channel, address.address, refused)
    return [chosen[c] for c in channels.reply_channels() if c in chosen]
