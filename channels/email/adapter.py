"""Email: an SMTP server inside the hub for inbound mail, and replies sent through a relay.

Inbound, the SMTP conversation answers 250 only after intake has committed the message,
so a sending server that sees 250 can forget it. Auto-replies and bounces are stored on
the customer's record but never queued for an agent. Outbound replies carry
In-Reply-To/References so the customer's mail program threads them, their Message-ID
is stored, and they carry a signed per-conversation Reply-To and a `[#id]` subject tag, so
the customer's answer threads back into the conversation even when their mail program
drops the headers. A forward starts a new conversation whatever it carries along.
Agents read what is new in a message; the quoted thread under it is kept beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from urllib.parse import urlparse

import aiosmtplib
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from channels.email._imap import ImapAccount, MailboxPoller
from channels.email._mime import MESSAGE_ID, Mail, UnreadableMail, read_mail
from channels.email._quotes import new_part
from channels.email._reply_token import ReplyAddresses, inbox_of
from hub.attachments import AttachmentStore
from hub.channel_traits import ChannelTraits
from hub.contacts import Attachment, Delivery, InboundContact, OutboundMessage
from hub.db import Sessions
from hub.intake import Accepted, Intake
from hub.keys import INTAKE, SESSIONS, SETTINGS
from hub.models import Inbox, Message, utcnow
from hub.settings import Settings

CHANNEL = "email"
# Mail threads by Message-ID: a new subject is a new conversation.
TRAITS = ChannelTraits(
    CHANNEL,
    "Email",
    default_capacity=5,
    replies_on=CHANNEL,
    threaded=True,
    agents_start=True,
    copies=True,
    acknowledges_closed=True,
)
# The port actually bound: SWITCHBOARD_SMTP_PORT=0 picks a free one.
SMTP_PORT = web.AppKey("smtp_port", int)
IMAP_POLLER = web.AppKey("imap_poller", MailboxPoller)
TRY_AGAIN = "451 4.3.0 The message could not be stored now; please try again later"
REPLY_PREFIX = re.compile(r"^\s*(re|aw|antw)\s*:", re.IGNORECASE)
# Fwd, Fw, and German, French, Spanish forward prefixes.
FORWARD_PREFIX = re.compile(r"^\s*(fwd?|wg|tr|rv)\s*:", re.IGNORECASE)
SUBJECT_TAG = re.compile(r"\s*\[#([0-9]{1,18})\]")
log = logging.getLogger(__name__)


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_smtp_server)
    app.cleanup_ctx.append(_imap_poller)


def _inbound_mail(app: web.Application) -> InboundMail:
    settings = app[SETTINGS]
    store = AttachmentStore(Path(settings.attachments_dir))
    return InboundMail(
        app[INTAKE],
        app[SESSIONS],
        store,
        ReplyAddresses(settings.secret_key),
        settings.email_catch_all,
    )


async def _smtp_server(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    handler = _inbound_mail(app)
    hostname = urlparse(settings.public_url).hostname or "localhost"
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname=hostname,
            data_size_limit=settings.smtp_max_size,
            enable_SMTPUTF8=True,
            loop=loop,
        ),
        settings.host,
        settings.smtp_port,
    )
    app[SMTP_PORT] = int(server.sockets[0].getsockname()[1])
    log.info("receiving email by SMTP on %s:%d", settings.host, app[SMTP_PORT])
    yield
    server.close()
    await server.wait_closed()


async def _imap_poller(app: web.Application) -> AsyncIterator[None]:
    """Poll the configured IMAP mailbox in the background, if there is one."""
    account = ImapAccount.from_settings(app[SETTINGS])
    if account is None:
        yield
        return
    poller = MailboxPoller(account, _inbound_mail(app).receive, app[SESSIONS])
    app[IMAP_POLLER] = poller
    task = asyncio.create_task(poller.run())
    log.info("polling IMAP %s:%d %s", account.host, account.port, account.mailbox)
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class InboundMail:
    """The aiosmtpd handler: refuses strangers' addresses, stores each message, then says 250.

    `receive` is the way in for every inbound email, by SMTP or from a polled mailbox.
    """

    def __init__(
        self,
        intake: Intake,
        sessions: Sessions,
        store: AttachmentStore,
        reply_addresses: ReplyAddresses,
        catch_all: str = "",
    ) -> None:
        self._intake = intake
        self._sessions = sessions
        self._store = store
        self._reply_addresses = reply_addresses
        self._catch_all = catch_all.lower()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Accept a configured inbox's address (a signed reply address counts), or any
        address at their domains with a catch-all; anything while no inbox is configured."""
        address = address.lower()
        try:
            inboxes = await self._inboxes()
        except Exception:
            log.exception("could not read the email inboxes")
            return TRY_AGAIN
        if inboxes and inbox_of(address) not in inboxes and not self._caught(address, inboxes):
            # A made-up address must not become a queue that agents' replies go out from.
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def _caught(self, address: str, inboxes: set[str]) -> bool:
        domains = {inbox.rpartition("@")[2] for inbox in inboxes | {self._catch_all}}
        return bool(self._catch_all) and address.rpartition("@")[2] in domains

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Store the message with intake; 250 only once it is committed, else why not."""
        raw = envelope.original_content or b""
        try:
            mail, accepted = await self.receive(raw, envelope.mail_from or "", envelope.rcpt_tos)
        except UnreadableMail as exc:
            log.warning("refused inbound email from <%s>: %s", envelope.mail_from, exc)
            return f"550 5.6.0 {exc}"
        except Exception:
            # Our fault, not the sender's: a 4xx keeps the message in their queue for a retry.
            log.exception("could not store inbound email from <%s>", envelope.mail_from)
            return TRY_AGAIN
        if mail.defects:
            log.warning("email %s stored despite defects: %s", mail.message_id, mail.defects)
            return f"250 2.0.0 Stored what could be read (defects: {', '.join(mail.defects)})"
        return f"250 2.0.0 Stored as message {accepted.message_id}"

    async def receive(
        self, raw: bytes, envelope_sender: str, recipients: list[str]
    ) -> tuple[Mail, Accepted]:
        """Read and store one message; committed on return. Raises UnreadableMail."""
        mail = read_mail(raw, envelope_sender)
        contact = await self._contact(mail, raw, recipients)
        accepted = await self._intake.accept(contact)
        if accepted.duplicate and not await self._same_mail(accepted.message_id, contact):
            # Another message reusing a Message-ID (anyone can write any header): it is
            # stored under that id plus its own fingerprint, so a 250 always means stored.
            contact = replace(contact, external_id=_fingerprinted(contact))
            accepted = await self._intake.accept(contact)
        if mail.automated:
            log.info("email %s recorded, not queued: %s", mail.message_id, mail.automated)
        return mail, accepted

    async def _contact(self, mail: Mail, raw: bytes, recipients: list[str]) -> InboundContact:
        attachments = []
        for part in mail.attachments:
            ref = await self._store.put(part.content)
            attachments.append(Attachment(part.name, part.content_type, len(part.content), ref))
        forwarded = bool(FORWARD_PREFIX.match(mail.subject))
        text = mail.text if forwarded else new_part(mail.text)  # what is forwarded matters
        return InboundContact(
            channel=CHANNEL,
            inbox=_inbox_address(recipients, await self._inboxes(), self._catch_all),
            external_id=mail.message_id,
            sender=mail.sender,
            sender_name=mail.sender_name,
            subject=mail.subject,
            text=text,
            full_text=mail.text if text != mail.text else None,
            # A forward brings another thread's headers and tag along; it is a new matter.
            thread_hints=() if forwarded else mail.thread_hints,
            answers_conversation=self._answered(recipients),
            names_conversation=None if forwarded else subject_tag(mail.subject),
            attachments=tuple(attachments),
            raw=raw.decode("utf-8", "replace").replace("\x00", ""),
            needs_agent=not mail.automated,
        )

    def _answered(self, recipients: list[str]) -> int | None:
        """The conversation a signed reply address among the recipients names."""
        for recipient in recipients:
            conversation_id = self._reply_addresses.conversation(recipient)
            if conversation_id is not None:
                return conversation_id
        return None

    async def _same_mail(self, message_id: int, contact: InboundContact) -> bool:
        """Whether the stored message is this one again: same sender, same words."""
        async with self._sessions() as session:
            stored = await session.get(Message, message_id)
        return stored is not None and (stored.sender, stored.text) == (
            contact.sender,
            contact.text,
        )

    async def _inboxes(self) -> set[str]:
        async with self._sessions() as session:
            addresses = await session.scalars(select(Inbox.address).where(Inbox.channel == CHANNEL))
            return {address.lower() for address in addresses}


def _inbox_address(recipients: list[str], inboxes: set[str], catch_all: str) -> str:
    """The configured inbox the mail was sent to (a reply address counts); else the
    catch-all, or one configured inbox (polled mail is ours, whoever it names); else, on a
    hub with no email inbox yet, the first recipient."""
    for recipient in recipients:
        if inbox_of(recipient) in inboxes:
            return inbox_of(recipient)
    if catch_all:
        return catch_all
    if inboxes:
        return min(inboxes)
    return inbox_of(recipients[0]) if recipients else "unknown"


def _fingerprinted(contact: InboundContact) -> str:
    digest = hashlib.sha256(f"{contact.sender}\n{contact.text}".encode()).hexdigest()[:16]
    return f"{contact.external_id}#{digest}"


@dataclass(frozen=True)
class Relay:
    """The SMTP server (smarthost) outbound mail is handed to."""

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Relay | None:
        if not settings.smtp_relay_host:
            return None
        return cls(
            settings.smtp_relay_host,
            settings.smtp_relay_port,
            settings.smtp_relay_user,
            settings.smtp_relay_password,
        )


class EmailAdapter:
    """Sends agent replies as email, threaded under the customer's last message."""

    name = CHANNEL

    def __init__(self, relay: Relay | None, reply_addresses: ReplyAddresses) -> None:
        self._relay = relay
        self._reply_addresses = reply_addresses

    @classmethod
    def from_settings(cls, settings: Settings) -> EmailAdapter:
        return cls(Relay.from_settings(settings), ReplyAddresses(settings.secret_key))

    async def send(self, message: OutboundMessage) -> Delivery:
        """Hand the reply to the relay; its Message-ID is the provider id."""
        if self._relay is None:
            return Delivery(status="failed", detail="no SMTP relay configured")
        mail = compose_reply(message, self._reply_addresses)
        try:
            _refused, answer = await aiosmtplib.send(
                mail,
                # The envelope names every recipient; BCC ones appear in no header.
                recipients=[message.recipient, *message.cc, *message.bcc],
                hostname=self._relay.host,
                port=self._relay.port,
                username=self._relay.username,
                password=self._relay.password,
                start_tls=None,
                timeout=self._relay.timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:  # the hub logs the failed reply
            return Delivery(status="failed", detail=f"relay {self._relay.host}: {_reason(exc)}")
        return Delivery(
            status="sent",
            provider_id=str(mail["Message-ID"]),
            detail=f"relay {self._relay.host} answered: {answer}",
        )


def _reason(exc: Exception) -> str:
    """Why the relay did not take a message, in its own words where it gave some."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.recipient} refused: {r.code} {r.message}" for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"
    return str(exc) or type(exc).__name__


def compose_reply(message: OutboundMessage, reply_addresses: ReplyAddresses) -> EmailMessage:
    """The reply as an email answering the last message in `thread_hints`."""
    domain = message.inbox.rpartition("@")[2] or "localhost"
    mail = EmailMessage()
    mail["From"] = formataddr((message.agent_name, message.inbox))
    mail["To"] = message.recipient
    if message.cc:
        mail["Cc"] = ", ".join(message.cc)
    mail["Reply-To"] = reply_addresses.address(message.inbox, message.conversation_id)
    references = [hint for hint in message.thread_hints if MESSAGE_ID.fullmatch(hint)]
    # The first message of a conversation an agent started answers nothing: no "Re:".
    mail["Subject"] = (
        reply_subject(message.subject, message.conversation_id)
        if message.thread_hints
        else tagged_subject(message.subject, message.conversation_id)
    )
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = make_msgid(domain=domain)
    if references:
        mail["In-Reply-To"] = references[-1]
        mail["References"] = " ".join(references[:1] + references[1:][-20:])
    # Asks Exchange and Outlook not to answer with out-of-office notices.
    mail["X-Auto-Response-Suppress"] = "All"
    for name, value in message.headers:
        mail[name] = value
    mail.set_content(message.text)
    return mail


def reply_subject(subject: str, conversation_id: int) -> str:
    """`Re: <subject> [#<conversation>]`, with any older conversation's tag taken out."""
    subject = " ".join(SUBJECT_TAG.sub("", subject).split())
    subject = subject if REPLY_PREFIX.match(subject) else f"Re: {subject}"
    return f"{subject} [#{conversation_id}]"


def tagged_subject(subject: str, conversation_id: int) -> str:
    """`<subject> [#<conversation>]`: the first message of a conversation an agent started."""
    return f"{' '.join(SUBJECT_TAG.sub('', subject).split())} [#{conversation_id}]"


def subject_tag(subject: str) -> int | None:
    """The conversation a `[#123]` in the subject names (the last one, if several)."""
    tags = SUBJECT_TAG.findall(subject)
    return int(tags[-1]) if tags else None
