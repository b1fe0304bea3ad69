"""The mail servers around the hub: a customer's server delivering to it by SMTP, and the
company's relay (a local aiosmtpd server) capturing what the hub sends out."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import make_msgid

import aiosmtplib
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from channels.email import SMTP_PORT
from hub.models import Conversation, Inbox, Message, QueueEntry
from hub.settings import Settings
from tests.conftest import start_hub
from tests.support import AgentClient, Hub, eventually

SUPPORT = "support@acme.test"
JANE = "jane@customer.test"
MAX_SIZE = 64 * 1024


class CapturingRelay:
    """An SMTP relay that keeps every message handed to it (refusing the `refused` addresses)."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[Envelope, EmailMessage]] = asyncio.Queue()
        self.port = 0
        self.refused: set[str] = set()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content or b"")
        assert isinstance(parsed, EmailMessage)
        self.received.put_nowait((envelope, parsed))
        return "250 OK"

    async def next(self) -> tuple[Envelope, EmailMessage]:
        return await asyncio.wait_for(self.received.get(), 10)


@asynccontextmanager
async def capturing_relay() -> AsyncIterator[CapturingRelay]:
    relay = CapturingRelay()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(relay, hostname="relay.test", loop=loop), "127.0.0.1", 0
    )
    relay.port = server.sockets[0].getsockname()[1]
    try:
        yield relay
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def email_hub(settings: Settings, relay: CapturingRelay) -> AsyncIterator[Hub]:
    """A hub with the support@acme.test inbox, sending through the capturing relay."""
    settings = dataclasses.replace(
        settings,
        smtp_relay_host="127.0.0.1",
        smtp_relay_port=relay.port,
        smtp_max_size=MAX_SIZE,
    )
    async with start_hub(settings, clean=True) as running:
        async with running.sessions() as session, session.begin():
            session.add(Inbox(channel="email", address=SUPPORT, name="Support"))
        yield running


@asynccontextmanager
async def logged_in_agent(hub: Hub, username: str) -> AsyncIterator[AgentClient]:
    await hub.add_agent(username, skills={"support": 5}, status="available")
    agent = await hub.login(username)
    try:
        yield agent
    finally:
        await agent.close()


def mail(
    subject: str, text: str, sender: str = f"Jane Doe <{JANE}>", **headers: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="customer.test")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


async def send(hub: Hub, message: EmailMessage, sender: str | None = None) -> str:
    """Deliver as a customer's mail server would; the hub's answer to DATA."""
    _refused, answer = await aiosmtplib.send(
        message, sender=sender, hostname="127.0.0.1", port=hub.app[SMTP_PORT], timeout=10
    )
    return answer


def send_raw(hub: Hub, raw: bytes, sender: str = JANE) -> dict[str, tuple[int, bytes]]:
    """Deliver exact bytes with the standard library's client (run it in a thread)."""
    with smtplib.SMTP("127.0.0.1", hub.app[SMTP_PORT], timeout=10) as client:
        return client.sendmail(sender, [SUPPORT], raw)


async def stored(hub: Hub) -> list[Message]:
    async with hub.sessions() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


async def conversation_of(hub: Hub, message: Message) -> Conversation:
    async with hub.sessions() as session:
        conversation = await session.get(Conversation, message.conversation_id)
        assert conversation is not None
        return conversation


async def is_queued(hub: Hub, conversation_id: int) -> bool:
    async with hub.sessions() as session:
        return await session.get(QueueEntry, conversation_id) is not None


async def accept_next_offer(agent: AgentClient) -> int:
    offers = await eventually(lambda: agent.get("/api/offers"))
    status, body = await agent.post(f"/api/offers/{offers[0]['offer_id']}/accept")
    assert status == 200, body
    return int(body["conversation_id"])
