"""The hub's own voice-of-customer rounds: hourly alerts on rising topics, a weekly email.

Several hub processes may run side by side; a claim (Redis SET NX when Redis is there)
makes sure only one of them sends each alert and each weekly report.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
from redis.asyncio import Redis

from hub.db import Sessions
from hub.loops import keep_running
from insights.alerts import AlertSink
from insights.contacts import history_start, load_contacts
from insights.page import render_html
from insights.report import VocOptions, VocReport, build_report
from insights.window import start_of_day

__all__ = ["Claims", "MemoryClaims", "Mailer", "RedisClaims", "VocRounds"]

log = logging.getLogger(__name__)
WINDOW = timedelta(days=30)
# An alert's claim outlives its episode by this long; a topic rising again later alerts anew.
EPISODE_QUIET = timedelta(days=3)


class Claims(Protocol):
    async def claim(self, key: str, ttl: timedelta) -> bool:
        """True for the first caller to claim `key` until it expires, False for the rest."""
        ...

    async def extend(self, key: str, ttl: timedelta) -> None:
        """Keep an existing claim for `ttl` from now."""
        ...

    async def release(self, key: str) -> None:
        """Give a claim up, so that the job can be tried again."""
        ...


class MemoryClaims:
    """Claims for a single hub process."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}

    async def claim(self, key: str, ttl: timedelta) -> bool:
        now = datetime.now(UTC)
        if key in self._until and self._until[key] > now:
            return False
        self._until[key] = now + ttl
        return True

    async def extend(self, key: str, ttl: timedelta) -> None:
        self._until[key] = datetime.now(UTC) + ttl

    async def release(self, key: str) -> None:
        self._until.pop(key, None)


class RedisClaims:
    """Claims shared by every hub process on one Redis."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "voc:"

    async def claim(self, key: str, ttl: timedelta) -> bool:
        return bool(await self._redis.set(self._prefix + key, 1, nx=True, px=_ms(ttl)))

    async def extend(self, key: str, ttl: timedelta) -> None:
        await self._redis.set(self._prefix + key, 1, px=_ms(ttl))

    async def release(self, key: str) -> None:
        await self._redis.delete(self._prefix + key)


@dataclass(frozen=True)
class Mailer:
    """Where the weekly report goes, through the hub's outbound SMTP relay."""

    hostname: str
    port: int
    sender: str
    recipient: str
    username: str | None = None
    password: str | None = None

    async def send(self, message: EmailMessage) -> None:
        message["From"], message["To"] = self.sender, self.recipient
        await aiosmtplib.send(
            message,
            hostname=self.hostname,
            port=self.port,
            username=self.username,
            password=self.password,
        )


class VocRounds:
    """Every `interval`: report on the last 30 days, alert once per rising episode; on
    Mondays, mail the week's report."""

    def __init__(
        self,
        sessions: Sessions,
        claims: Claims,
        sinks: list[AlertSink],
        mailer: Mailer | None,
        interval: float = 3600.0,
    ) -> None:
        self._sessions = sessions
        self._claims = claims
        self._sinks = sinks
        self._mailer = mailer
        self._interval = interval

    async def run(self) -> None:
        async def one_round() -> None:
            await self.tick(datetime.now(UTC))

        await keep_running("voice-of-customer round", one_round, self._interval)

    async def tick(self, now: datetime) -> VocReport:
        since = start_of_day(now - WINDOW)
        contacts = await load_contacts(self._sessions, since, now)
        history_from = await history_start(self._sessions, since, contacts)
        options = VocOptions(since, now, history_from=history_from)
        report = await asyncio.to_thread(build_report, contacts, options)
        for episode in report.episodes:
            if not episode.ongoing:
                continue
            key = f"alert:{episode.topic}"
            if await self._claims.claim(key, EPISODE_QUIET):
                await self._deliver(key, *(sink.send(episode) for sink in self._sinks))
            else:
                await self._claims.extend(key, EPISODE_QUIET)
        year, week, weekday = now.isocalendar()
        weekly = f"weekly:{year}-W{week:02}"
        if self._mailer and weekday == 1 and await self._claims.claim(weekly, timedelta(days=8)):
            await self._deliver(weekly, self._mailer.send(_weekly_email(report)))
        return report

    async def _deliver(self, key: str, *sends: Coroutine[Any, Any, None]) -> None:
        """Send; if anything fails, give the claim back so that the next round retries."""
        try:
            for send in sends:
                await send
        except Exception:
            await self._claims.release(key)
            for send in sends:
                send.close()  # the ones never awaited
            raise


def _weekly_email(report: VocReport) -> EmailMessage:
    message = EmailMessage()
    rising = ", ".join(t.name for t in report.rising) or "none"
    message["Subject"] = f"Voice of the customer, week to {report.until:%d %b %Y}"
    message.set_content(
        f"{report.contacts:,} contacts in the last 30 days; rising topics: {rising}.\n"
        "The full report is attached; open it in a browser.\n"
    )
    message.add_attachment(
        render_html(report).encode("utf-8"),
        maintype="text",
        subtype="html",
        filename=f"voc-report-{report.until:%Y-%m-%d}.html",
    )
    return message


def _ms(ttl: timedelta) -> int:
    return int(ttl.total_seconds() * 1000)
