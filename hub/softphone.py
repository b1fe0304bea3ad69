"""The console's softphone: who an agent's browser is to Twilio, its access tokens, and
which customer numbers an agent may call (consent, the number to call from).

An outgoing call leaves the browser with parameters the agent's page chose, so the
console hands it a ticket (a short-lived JWT signed with the hub's secret) naming the
agent, the customer and the number; the TwiML app's voice URL dials only what a valid
ticket of the calling agent names, and checks consent once more.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

import jwt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from hub.conversations import ConversationError
from hub.models import Agent, Customer, CustomerAddress, Inbox
from hub.settings import Settings

__all__ = [
    "PHONE_CHANNELS",
    "OutboundCall",
    "access_token",
    "agent_of_identity",
    "callable_number",
    "client_identity",
    "configured",
    "read_ticket",
    "ticket",
]

# Channels whose addresses are phone numbers a call reaches.
PHONE_CHANNELS = ("voice", "sms")
TICKET_SECONDS = 300  # an agent clicks Call and the browser dials at once
TICKET_AUDIENCE = "switchboard:voice-outbound"


def configured(settings: Settings) -> bool:
    """Whether the hub can issue softphone tokens."""
    return all(
        (
            settings.twilio_account_sid,
            settings.twilio_api_key,
            settings.twilio_api_secret,
            settings.twilio_twiml_app_sid,
        )
    )


def client_identity(settings: Settings, agent: Agent) -> str:
    """The Twilio Client identity the agent's softphone registers as (and `<Client>` rings)."""
    return settings.voice_client_identity.format(id=agent.id, username=agent.username)


def agent_of_identity(settings: Settings, identity: str) -> int | None:
    """The agent id in a Client identity made by `client_identity`, if it has one."""
    pattern = re.escape(settings.voice_client_identity)
    pattern = pattern.replace(r"\{id\}", r"(?P<id>[0-9]{1,12})").replace(r"\{username\}", ".+")
    found = re.fullmatch(pattern, identity.removeprefix("client:"))
    return int(found["id"]) if found and "id" in found.groupdict() else None


def access_token(settings: Settings, agent: Agent) -> str:
    """A JWT that lets the agent's browser take calls to their identity and place calls
    through the TwiML app, for `voice_token_ttl` seconds."""
    token = AccessToken(
        settings.twilio_account_sid,
        settings.twilio_api_key,
        settings.twilio_api_secret,
        identity=client_identity(settings, agent),
        ttl=settings.voice_token_ttl,
    )
    token.add_grant(
        VoiceGrant(outgoing_application_sid=settings.twilio_twiml_app_sid, incoming_allow=True)
    )
    return str(token.to_jwt())


@dataclass(frozen=True)
class OutboundCall:
    """A call an agent may place: to the customer's number, from the inbox's."""

    agent_id: int
    customer_id: int
    to: str
    caller_id: str


async def callable_number(
    session: AsyncSession, agent_id: int, customer_id: int, address: str
) -> OutboundCall:
    """The call to `address` of the customer, or ConversationError saying why not: not
    their number, the number asked not to be contacted, or no number to call from."""
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.merged_into_id is not None:
        raise ConversationError("No such customer.", 404)
    addresses = list(
        await session.scalars(
            select(CustomerAddress).where(
                CustomerAddress.address == address, CustomerAddress.channel.in_(PHONE_CHANNELS)
            )
        )
    )
    if not any(a.customer_id == customer_id for a in addresses):
        raise ConversationError(f"{address} is not one of this customer's phone numbers.", 400)
    if any(a.opted_out_at is not None for a in addresses):
        # A number that asked not to be contacted (STOP) is not called either.
        raise ConversationError(f"{address} opted out of contact: it is not called.")
    inbox = await session.scalar(select(Inbox).where(Inbox.channel == "voice").order_by(Inbox.id))
    if inbox is None:
        raise ConversationError("The hub has no voice number to call from.")
    return OutboundCall(agent_id, customer_id, address, inbox.address)


def ticket(settings: Settings, call: OutboundCall) -> str:
    """What the browser passes along with the call, so the voice URL knows it was allowed."""
    claims = {
        "aud": TICKET_AUDIENCE,
        "exp": int(time.time()) + TICKET_SECONDS,
        "agent": call.agent_id,
        "customer": call.customer_id,
        "to": call.to,
    }
    return jwt.encode(claims, _ticket_key(settings), algorithm="HS256")


def read_ticket(settings: Settings, text: str) -> tuple[int, int, str] | None:
    """(agent id, customer id, number) of a valid ticket; None for anything else."""
    try:
        claims = jwt.decode(
            text, _ticket_key(settings), algorithms=["HS256"], audience=TICKET_AUDIENCE
        )
        return int(claims["agent"]), int(claims["customer"]), str(claims["to"])
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        return None


def _ticket_key(settings: Settings) -> bytes:
    """A key of its own for tickets, the full 32 bytes HS256 wants, from the hub's secret."""
    return hashlib.sha256(b"switchboard voice ticket\0" + settings.secret_key.encode()).digest()
