"""Polling a mailbox kept elsewhere (IMAP) for companies whose mail does not reach our SMTP.

Each round fetches the UNSEEN messages without marking them (BODY.PEEK), hands each to
the same path SMTP mail takes, and flags it \\Seen only once that has committed. A hub
that dies in between fetches the message again next time, and intake's Message-ID
deduplication stores it once. Rounds never overlap.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

import aioimaplib

from channels._mime import UnreadableMail, header
from hub.settings import Settings

# Hands one message to the inbound path: raw bytes, envelope sender, recipients.
Receive = Callable[[bytes, str, list[str]], Awaitable[object]]
# Headers where delivering servers record the envelope recipient, then the visible ones.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")
MAX_PER_ROUND = 200
log = logging.getLogger(__name__)


class MailboxUnavailable(Exception):
    """The IMAP server refused a step (login, select, search); the reason is its answer."""


@dataclass(frozen=True)
class ImapAccount:
    """Where to poll: server, login, folder and how often."""

    host: str
    port: int
    user: str
    password: str
    mailbox: str = "INBOX"
    tls: bool = True
    interval: float = 60.0
    timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ImapAccount | None:
        if not settings.imap_host:
            return None
        return cls(
            settings.imap_host,
            settings.imap_port,
            settings.imap_user,
            settings.imap_password,
            settings.imap_mailbox,
            settings.imap_tls,
            settings.imap_interval,
        )


@dataclass(frozen=True)
class Round:
    """What one poll did: messages stored (or found already stored), and left unseen."""

    stored: int = 0
    left: int = 0


class MailboxPoller:
    """Fetches a mailbox's unseen messages into the hub, one round every `interval`."""

    def __init__(self, account: ImapAccount, receive: Receive) -> None:
        self._account = account
        self._receive = receive
        self._lock = asyncio.Lock()
        self.last_error = ""  # why the last round failed; "" after a good one

    async def run(self) -> None:
        """Poll until cancelled; a failed round is logged and tried again next time."""
        while True:
            try:
                await self.poll()
                self.last_error = ""
            except (aioimaplib.AioImapException, MailboxUnavailable, OSError, TimeoutError) as exc:
                self.last_error = str(exc) or type(exc).__name__
                log.warning("could not poll IMAP %s: %s", self._account.host, self.last_error)
            await asyncio.sleep(self._account.interval)

    async def poll(self) -> Round:
        """One round: every unseen message stored, then flagged \\Seen."""
        async with self._lock:
            client = await self._connect()
            try:
                return await self._fetch_unseen(client)
            finally:
                await _logout(client)

    async def _connect(self) -> aioimaplib.IMAP4:
        account = self._account
        client: aioimaplib.IMAP4
        if account.tls:
            context = ssl.create_default_context()
            client = aioimaplib.IMAP4_SSL(
                account.host, account.port, timeout=account.timeout, ssl_context=context
            )
        else:
            client = aioimaplib.IMAP4(account.host, account.port, timeout=account.timeout)
        try:
            await client.wait_hello_from_server()
            _expect_ok(await client.login(account.user, account.password), "login")
            _expect_ok(await client.select(account.mailbox), f"select {account.mailbox}")
        except BaseException:
            await _logout(client)
            raise
        return client

    async def _fetch_unseen(self, client: aioimaplib.IMAP4) -> Round:
        found = _expect_ok(await client.uid_search("UNSEEN"), "search")
        uids = [uid for line in found[:1] for uid in line.decode().split() if uid.isdigit()]
        stored = left = 0
        for uid in uids[:MAX_PER_ROUND]:
            raw = _message_bytes(_expect_ok(await client.uid("fetch", uid, "(BODY.PEEK[])"), uid))
            if raw is None or not await self._store(uid, raw):
                left += 1
                continue
            _expect_ok(await client.uid("store", uid, "+FLAGS.SILENT (\\Seen)"), f"flag {uid}")
            stored += 1
        return Round(stored, left + max(0, len(uids) - MAX_PER_ROUND))

    async def _store(self, uid: str, raw: bytes) -> bool:
        """True once the message is committed, or can never be (it stays in the mailbox)."""
        sender, recipients = envelope_of(raw)
        try:
            await self._receive(raw, sender, recipients)
        except UnreadableMail as exc:
            log.warning("IMAP message %s cannot be stored (%s); flagged seen, left there", uid, exc)
        except Exception:
            log.exception(
                "could not store IMAP message %s; it stays unseen for the next round", uid
            )
            return False
        return True


def envelope_of(raw: bytes) -> tuple[str, list[str]]:
    """The envelope sender and recipients, as the delivering server recorded them."""
    headers = BytesParser(policy=policy.compat32).parsebytes(raw, headersonly=True)
    return _return_path(headers), _recipients(headers)


def _return_path(headers: Message) -> str:
    value = header(headers, "Return-Path").strip()
    if value:
        return value.strip("<>").strip()  # "<>" is a bounce: the null sender
    addresses = getaddresses([header(headers, "From")])
    return addresses[0][1] if addresses else ""


def _recipients(headers: Message) -> list[str]:
    found: list[str] = []
    for name in RECIPIENT_HEADERS:
        values = [str(v) for v in headers.get_all(name, [])]
        found += [address.lower() for _, address in getaddresses(values) if "@" in address]
    return list(dict.fromkeys(found))


def _message_bytes(response: list[bytes | bytearray]) -> bytes | None:
    for line in response:
        if isinstance(line, bytearray):
            return bytes(line)
    return None


def _expect_ok(response: aioimaplib.Response, step: str) -> list[bytes | bytearray]:
    if response.result != "OK":
        reason = b" ".join(bytes(line) for line in response.lines).decode("utf-8", "replace")
        raise MailboxUnavailable(f"{step}: {response.result} {reason}")
    return list(response.lines)


async def _logout(client: aioimaplib.IMAP4) -> None:
    try:
        await client.logout()
    except Exception as exc:  # noqa: BLE001 - a connection that never opened cannot log out
        log.debug("IMAP logout: %s", exc)
    finally:
        transport = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()
