"""Early warnings for rising topics, by webhook or email, one per topic per episode."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiohttp
import aiosmtplib

from insights.trends import Episode

__all__ = ["AlertLedger", "AlertSink", "EmailSink", "WebhookSink", "send_alerts"]


class AlertSink(Protocol):
    async def send(self, episode: Episode) -> None:
        """Deliver one alert about a rising topic; raise if it could not be delivered."""
        ...


class WebhookSink:
    """POSTs each alert as JSON to a URL."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http = http
        self._url = url

    async def send(self, episode: Episode) -> None:
        body = {"type": "voc.topic_rising", **episode.as_json()}
        async with self._http.post(self._url, json=body) as response:
            response.raise_for_status()


class EmailSink:
    """Emails each alert to one address through an SMTP server."""

    def __init__(
        self,
        hostname: str,
        port: int,
        sender: str,
        recipient: str,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._hostname = hostname
        self._port = port
        self._sender = sender
        self._recipient = recipient
        self._username = username
        self._password = password

    async def send(self, episode: Episode) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = self._recipient
        message["Subject"] = f"Rising topic: {episode.topic}"
        message.set_content(
            f"Contacts about “{episode.topic}” are rising since {episode.start}:\n"
            f"{episode.peak} on the busiest day against a baseline of {episode.baseline:.1f}"
            f" (p = {episode.p_value:.2g}).\n"
        )
        await aiosmtplib.send(
            message,
            hostname=self._hostname,
            port=self._port,
            username=self._username,
            password=self._password,
        )


@dataclass
class AlertLedger:
    """Which episode each topic was last alerted about, kept in a JSON file of our own.

    An episode that continues from one run to the next is the same episode: it is
    alerted once, and only an episode starting after the last one ended alerts again.
    Each target (webhook, email) has its own section, so one failing does not
    silence the other.
    """

    path: Path | None = None
    target: str = "alerts"
    gap: int = 2
    last_day: dict[str, date] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path | None, target: str = "alerts", gap: int = 2) -> AlertLedger:
        ledger = cls(path, target, gap)
        saved = _read(path).get(target, {})
        ledger.last_day = {topic: date.fromisoformat(day) for topic, day in saved.items()}
        return ledger

    def is_new(self, episode: Episode) -> bool:
        last = self.last_day.get(episode.topic)
        return last is None or episode.start > last + timedelta(days=self.gap + 1)

    def remember(self, episode: Episode) -> None:
        last = self.last_day.get(episode.topic)
        self.last_day[episode.topic] = max(episode.end, last) if last else episode.end

    def save(self) -> None:
        if self.path is None:
            return
        saved = _read(self.path)
        saved[self.target] = {t: day.isoformat() for t, day in sorted(self.last_day.items())}
        self.path.write_text(json.dumps(saved, indent=2), encoding="utf-8")


def _read(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None or not path.exists():
        return {}
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ValueError(f"{path}: cannot read the alert state ({exc})") from None
    return saved if isinstance(saved, dict) else {}


async def send_alerts(
    episodes: list[Episode], sink: AlertSink, ledger: AlertLedger
) -> list[Episode]:
    """Alert on each ongoing episode not alerted before; the episodes alerted on."""
    sent = []
    try:
        for episode in sorted(episodes, key=lambda e: e.start):
            if not episode.ongoing:
                continue
            if ledger.is_new(episode):
                await sink.send(episode)
                sent.append(episode)
            ledger.remember(episode)
    finally:
        # What was delivered stays delivered, even if a later alert failed.
        ledger.save()
    return sent
