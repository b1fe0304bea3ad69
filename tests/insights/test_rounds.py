"""The hub's own VoC rounds: one alert per rising episode, one weekly report on Mondays."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from hub.keys import INTAKE
from hub.settings import Settings
from insights.alerts import EmailSink, WebhookSink
from insights.rounds import Mailer, MemoryClaims, VocRounds
from tests.conftest import start_hub
from tests.insights.corpus import contact, corpus, store
from tests.support import Hub, eventually


async def refunds_surging(hub: Hub) -> None:
    """Three quiet weeks, then a burst of refund contacts in the last hour."""
    await store(hub.app[INTAKE], [text for _, text in corpus(per_theme=20)], days=21)
    now = datetime.now(UTC)
    for n in range(15):
        text = f"Still waiting for the refund on order {n}, nobody answers."
        await hub.app[INTAKE].accept(contact(text, now - timedelta(minutes=10 + n)))


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        assert isinstance(envelope.content, bytes)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


async def test_rounds_alert_once_per_rising_episode(
    hub: Hub, mailbox: tuple[Mailbox, int], webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    box, port = mailbox
    url, received = webhook
    await refunds_surging(hub)
    now = datetime.now(UTC)
    async with aiohttp.ClientSession() as http:
        rounds = VocRounds(
            hub.sessions,
            MemoryClaims(),
            [WebhookSink(http, url), EmailSink("127.0.0.1", port, "voc@hub.test", "pm@x.test")],
            Mailer("127.0.0.1", port, "voc@hub.test", "pm@x.test"),
        )
        first = await rounds.tick(now)
        await rounds.tick(now + timedelta(minutes=5))

    assert [t.name for t in first.rising] == [received[0]["topic"]]
    assert len(received) == 1  # the second round found the same episode still going
    subjects = [m["Subject"] for m in box.messages]
    assert subjects.count(f"Rising topic: {received[0]['topic']}") == 1


async def test_the_weekly_report_goes_out_once_per_week(
    hub: Hub, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    await refunds_surging(hub)
    now = datetime.now(UTC)
    monday = now - timedelta(days=now.weekday())
    rounds = VocRounds(
        hub.sessions, MemoryClaims(), [], Mailer("127.0.0.1", port, "voc@hub.test", "pm@x.test")
    )

    await rounds.tick(monday)
    await rounds.tick(monday + timedelta(hours=1))
    await rounds.tick(monday + timedelta(days=1))

    assert len(box.messages) == 1
    mail = box.messages[0]
    assert mail["To"] == "pm@x.test"
    attachment = next(part for part in mail.walk() if part.get_filename())
    page = attachment.get_payload(decode=True).decode("utf-8")
    assert page.startswith("<!doctype html>") and "<svg" in page


async def test_a_configured_hub_runs_the_rounds_itself(
    settings_for: Settings, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    async with start_hub(settings_for, clean=True) as hub:
        await refunds_surging(hub)
    settings = dataclasses.replace(settings_for, voc_webhook=url, voc_interval=0.2)
    async with start_hub(settings):
        await eventually(lambda: _some(received), timeout=30)
        await asyncio.sleep(0.6)  # a few more rounds

    assert len(received) == 1
    assert "refund" in received[0]["topic"]


async def _some(items: list[Any]) -> bool:
    return bool(items)


async def test_a_new_hub_does_not_alert_before_topics_have_a_baseline(
    hub: Hub, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    """Every contact arrived today: the days before the hub's first contact are not quiet
    days, so no topic rises from them, and no alert goes out on day one."""
    url, received = webhook
    now = datetime.now(UTC)
    texts = [text for _, text in corpus(per_theme=20)]
    for n, text in enumerate(texts):
        await hub.app[INTAKE].accept(contact(text, now - timedelta(minutes=5 + n)))
    async with aiohttp.ClientSession() as http:
        rounds = VocRounds(hub.sessions, MemoryClaims(), [WebhookSink(http, url)], None)
        report = await rounds.tick(now)

    assert len(report.topics) > 1
    assert report.rising == [] and report.episodes == ()
    assert received == []


async def test_a_topic_rising_once_a_week_of_history_is_known_is_alerted(
    hub: Hub, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    """Eight days of history: seven to learn each topic's baseline, then a surge."""
    url, received = webhook
    await store(hub.app[INTAKE], [text for _, text in corpus(per_theme=20)], days=8)
    now = datetime.now(UTC)
    for n in range(15):
        text = f"Still waiting for the refund on order {n}, nobody answers."
        await hub.app[INTAKE].accept(contact(text, now - timedelta(minutes=10 + n)))
    async with aiohttp.ClientSession() as http:
        rounds = VocRounds(hub.sessions, MemoryClaims(), [WebhookSink(http, url)], None)
        report = await rounds.tick(now)

    assert [t.name for t in report.rising] == [received[0]["topic"]]
    assert "refund" in received[0]["topic"]
