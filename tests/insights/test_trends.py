"""Rising topics: a spike is flagged and alerted once per episode; a flat series is not."""

from __future__ import annotations

import asyncio
import random
import socket
from datetime import date, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import aiohttp
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from insights.alerts import AlertLedger, EmailSink, WebhookSink, send_alerts
from insights.trends import SpikeDetector

DAYS = [date(2026, 3, 1) + timedelta(days=n) for n in range(30)]


def poisson_series(mean: float, seed: int, days: int = 30) -> list[int]:
    rng = random.Random(seed)
    # Knuth's method: enough for small means and dependable across Python versions.
    series = []
    for _ in range(days):
        limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                break
            k += 1
        series.append(k)
    return series


def test_a_flat_series_is_never_flagged() -> None:
    detector = SpikeDetector()
    for seed in range(20):
        assert detector.flags(poisson_series(12, seed)) == []


def test_a_spike_is_flagged_on_its_first_day_as_one_episode() -> None:
    counts = poisson_series(12, seed=3)
    for day in (22, 23, 24):
        counts[day] += 40

    episodes = SpikeDetector().episodes("Card declined", DAYS, counts)

    assert len(episodes) == 1
    assert episodes[0].start == DAYS[22]
    assert episodes[0].peak >= 40
    assert not episodes[0].ongoing  # it ended days before the series does


async def test_one_webhook_alert_per_episode_across_runs(
    webhook: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, received = webhook
    state = tmp_path / "alerts.json"
    counts = poisson_series(12, seed=5)
    detector = SpikeDetector()

    async with aiohttp.ClientSession() as http:
        sink = WebhookSink(http, url)
        # The spike starts on day 27 and is still going on days 28 and 29: three daily runs.
        for last_day in (27, 28, 29):
            counts[last_day] += 45
            episodes = detector.episodes("Outage", DAYS[: last_day + 1], counts[: last_day + 1])
            await send_alerts(episodes, sink, AlertLedger.open(state))

    assert len(received) == 1
    assert received[0]["type"] == "voc.topic_rising"
    assert received[0]["topic"] == "Outage"
    assert received[0]["start"] == DAYS[27].isoformat()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        assert isinstance(envelope.content, bytes)
        self.messages.append(envelope.content)
        return "250 OK"


async def test_an_email_alert_reaches_the_configured_address(tmp_path: Path) -> None:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    await asyncio.to_thread(controller.start)
    try:
        counts = poisson_series(12, seed=8)
        counts[29] += 50
        episodes = SpikeDetector().episodes("Refund <delays>", DAYS, counts)
        sink = EmailSink("127.0.0.1", controller.port, "voc@switchboard.test", "pm@example.com")
        ledger = AlertLedger.open(tmp_path / "alerts.json")

        first = await send_alerts(episodes, sink, ledger)
        again = await send_alerts(episodes, sink, ledger)
    finally:
        await asyncio.to_thread(controller.stop)

    assert len(first) == 1 and again == []
    assert len(inbox.messages) == 1
    mail = message_from_bytes(inbox.messages[0])
    assert mail["To"] == "pm@example.com"
    assert mail["Subject"] == "Rising topic: Refund <delays>"
