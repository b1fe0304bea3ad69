"""Polling a mailbox kept elsewhere (IMAP) for companies whose mail does not reach our SMTP.

The hub remembers, in the database, the UID of the last message it handled in each
mailbox (`MailboxCursor`), so each round fetches what arrived since, whether or not
someone has read it in their mail client meanwhile. The first round in a mailbox (or
after its UIDVALIDITY changed) takes only the UNSEEN messages: mail read before the hub
looked is not its business. Messages are fetched without marking them (BODY.PEEK),
handed to the same path SMTP mail takes, and flagged \\Seen once that has committed; the
cursor moves only past messages handled. A hub that dies in between fetches the message
again next time, and intake's Message-ID deduplication stores it once. Rounds never
overlap.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

import aioimaplib
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from channels.email._mime import UnreadableMail, header
from hub.db import Sessions
from hub.loops import Backoff, stop_if_cancelled
from hub.models import MailboxCursor, utcnow
from hub.settings import Settings

# Hands one message to the inbound path: raw bytes, envelope sender, recipients.
Receive = Callable[[bytes, str, list[str]], Awaitable[object]]
# Headers where delivering servers record the envelope recipient, then the visible ones.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")
MAX_PER_ROUND = 200
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
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

    @property
    def key(self) -> str:
        """The mailbox's name in the hub's records."""
        return f"{self.user}@{self.host}:{self.port}/{self.mailbox}"

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
class Folder:
    """What SELECT said of the folder: its UIDVALIDITY and the UID the next message gets."""

    uid_validity: int
    uid_next: int | None


@dataclass(frozen=True)
class Round:
    """What one poll did: messages stored (or found already stored), and left unseen."""

    stored: int = 0
    left: int = 0


class MailboxPoller:
    """Fetches a mailbox's new messages into the hub, one round every `interval`."""

    def __init__(self, account: ImapAccount, receive: Receive, sessions: Sessions) -> None:
        self._account = account
        self._receive = receive
        self._sessions = sessions
        self._lock = asyncio.Lock()
        self.last_error = ""  # why the last round failed; "" after a good one

    async def run(self) -> None:
        """Poll until cancelled; a failed round is logged and tried again next time."""
        backoff = Backoff(f"storing mail polled from {self._account.host}", longest=60.0)
        while True:
            stop_if_cancelled()
            try:
                await self.poll()
                self.last_error = ""
                backoff.succeeded()
            except (aioimaplib.AioImapException, MailboxUnavailable, OSError, TimeoutError) as exc:
                self.last_error = str(exc) or type(exc).__name__
                log.warning("could not poll IMAP %s: %s", self._account.host, self.last_error)
            except Exception:
                # The hub's side failed (database or Redis down): the mail stays on the
                # server, unflagged, for the next round.
                await backoff.failed()
                continue
            await asyncio.sleep(self._account.interval)

    async def poll(self) -> Round:
        """One round: every new message stored, then flagged \\Seen."""
        async with self._lock:
            client, folder = await self._connect()
            try:
                return await self._fetch_new(client, folder)
            finally:
                await _logout(client)

    async def _connect(self) -> tuple[aioimaplib.IMAP4, Folder]:
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
            selected = _expect_ok(await client.select(account.mailbox), f"select {account.mailbox}")
        except BaseException:
            await _logout(client)
            raise
        return client, _folder(selected)

    async def _fetch_new(self, client: aioimaplib.IMAP4, folder: Folder) -> Round:
        last = await self._last_uid(folder.uid_validity)
        query = "UNSEEN" if last is None else f"UID {last + 1}:*"
        found = _expect_ok(await client.uid_search(query), "search")
        # "n:*" always names the newest message, even one below n: keep only what is new.
        uids = sorted(int(u) for line in found[:1] for u in line.decode().split() if u.isdigit())
        uids = [uid for uid in uids if last is None or uid > last]
        batch, first_left, stored, failed = uids[:MAX_PER_ROUND], None, 0, 0
        for uid in batch:
            fetched = await client.uid("fetch", str(uid), "(BODY.PEEK[])")
            raw = _message_bytes(_expect_ok(fetched, str(uid)))
            if raw is None:
                continue  # moved or deleted since the search: nothing left to store
            if not await self._store(str(uid), raw):
                first_left, failed = first_left or uid, failed + 1
                continue
            _expect_ok(await client.uid("store", str(uid), "+FLAGS.SILENT (\\Seen)"), f"flag {uid}")
            stored += 1
        left = failed + len(uids) - len(batch)
        if last is None:
            # First look: once every unseen message is in, the mailbox counts as read up
            # to where it stood when selected; until then, the next round looks again.
            if left == 0:
                await self._save(folder.uid_validity, (folder.uid_next or 1) - 1, uids)
        else:
            done = first_left - 1 if first_left is not None else (batch[-1] if batch else last)
            if done > last:
                await self._save(folder.uid_validity, done, [])
        return Round(stored, left)

    async def _last_uid(self, uid_validity: int) -> int | None:
        """The last UID handled in this mailbox, if known for its current UIDVALIDITY."""
        async with self._sessions() as session:
            cursor = await session.scalar(
                select(MailboxCursor).where(MailboxCursor.mailbox == self._account.key)
            )
        if cursor is None or cursor.uid_validity != uid_validity:
            return None
        return cursor.last_uid

    async def _save(self, uid_validity: int, last_uid: int, seen: list[int]) -> None:
        """Move the cursor forward (hub processes polling side by side never move it back)."""
        last_uid = max([last_uid, *seen])
        try:
            async with self._sessions() as session, session.begin():
                cursor = await session.scalar(
                    select(MailboxCursor)
                    .where(MailboxCursor.mailbox == self._account.key)
                    .with_for_update()
                )
                if cursor is None:
                    session.add(
                        MailboxCursor(
                            mailbox=self._account.key, uid_validity=uid_validity, last_uid=last_uid
                        )
                    )
                elif cursor.uid_validity != uid_validity or cursor.last_uid < last_uid:
                    cursor.uid_validity, cursor.last_uid = uid_validity, last_uid
                    cursor.updated_at = utcnow()
        except IntegrityError:
            pass  # another hub process wrote it first; the next round reads theirs

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


def _folder(selected: list[bytes | bytearray]) -> Folder:
    text = b" ".join(bytes(line) for line in selected)
    validity, following = _UIDVALIDITY.search(text), _UIDNEXT.search(text)
    if validity is None:
        raise MailboxUnavailable("select: the server gave no UIDVALIDITY")
    return Folder(int(validity.group(1)), int(following.group(1)) if following else None)


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
