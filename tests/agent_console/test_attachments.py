"""Agents open what customers attached: mail attachments from the hub's store, voicemail
recordings from Twilio (a local server speaking its Recordings API). Only agents who may
see the conversation get them, and nothing a customer sent is ever served as a page."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import aiohttp
import pytest

from hub.keys import ATTACHMENTS
from hub.settings import Settings
from tests.channels.email_side import accept_next_offer, mail, send
from tests.channels.twilio_side import ACCOUNT_SID, CallsApi, TwilioSide, with_twilio
from tests.channels.voice.test_voice import calls_api
from tests.conftest import start_hub
from tests.support import AgentClient, Hub

__all__ = ["calls_api"]  # a fixture used here

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PAGE = b"<html><script>alert(document.cookie)</script></html>"


@pytest.fixture
async def hub(settings_for: Settings, calls_api: tuple[CallsApi, str]) -> AsyncIterator[Hub]:
    async with start_hub(with_twilio(settings_for, calls_api[1]), clean=True) as running:
        yield running


@dataclasses.dataclass(frozen=True)
class Got:
    status: int
    content_type: str
    headers: dict[str, str]
    body: bytes


async def fetch(agent: AgentClient | aiohttp.ClientSession, path: str) -> Got:
    http = agent.http if isinstance(agent, AgentClient) else agent
    async with http.get(path.lstrip("/")) as response:
        body = await response.read()
        return Got(response.status, response.content_type, dict(response.headers), body)


async def leave_voicemail(hub: Hub, url: str, caller: str = "+14155550123") -> None:
    """Twilio tells the hub a caller left a voicemail, recorded at `url`."""
    form = {
        "CallSid": "CA" + uuid.uuid4().hex,
        "AccountSid": ACCOUNT_SID,
        "From": caller,
        "To": "+14155550100",
        "CallStatus": "completed",
        "RecordingUrl": url,
        "RecordingSid": url.rsplit("/", 1)[1],
        "RecordingDuration": "9",
    }
    status, _, body = await TwilioSide(hub).post("/webhooks/twilio/voice/recorded", form)
    assert status == 200, body


def link(conversation: dict[str, Any], message: int = 0, index: int = 0) -> str:
    message_id = conversation["messages"][message]["id"]
    return f"/api/conversations/{conversation['id']}/messages/{message_id}/attachments/{index}"


async def mail_with_attachments(hub: Hub, agent: AgentClient) -> dict[str, Any]:
    message: EmailMessage = mail("Broken screen", "Photo and the shop's page attached.")
    message.add_attachment(PNG, maintype="image", subtype="png", filename="screen 1.png")
    message.add_attachment(PAGE, maintype="text", subtype="html", filename="shop.html")
    await send(hub, message)
    conversation_id = await accept_next_offer(agent)
    return dict(await agent.get(f"/api/conversations/{conversation_id}"))


async def test_an_agent_downloads_a_mail_attachment_and_nothing_runs_as_a_page(
    hub: Hub,
) -> None:
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    conversation = await mail_with_attachments(hub, alice)
    attachments = conversation["messages"][0]["attachments"]
    assert [(a["name"], a["content_type"]) for a in attachments] == [
        ("screen 1.png", "image/png"),
        ("shop.html", "text/html"),
    ]

    picture = await fetch(alice, link(conversation, index=0))
    assert picture.status == 200
    assert picture.body == PNG
    assert picture.content_type == "image/png"  # the console shows pictures in place
    assert picture.headers["Content-Disposition"] == "attachment; filename*=UTF-8''screen%201.png"

    page = await fetch(alice, link(conversation, index=1))
    assert page.status == 200
    assert page.body == PAGE
    assert page.content_type == "application/octet-stream"  # never rendered as HTML
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Content-Security-Policy"].startswith("sandbox")
    assert page.headers["Content-Disposition"].startswith("attachment;")

    assert (await fetch(alice, link(conversation, index=2))).status == 404
    await alice.close()


async def test_only_agents_who_may_see_the_conversation_get_its_attachments(hub: Hub) -> None:
    await hub.add_agent("alice", status="available")
    await hub.add_agent("bob")
    alice, bob = await hub.login("alice"), await hub.login("bob")
    conversation = await mail_with_attachments(hub, alice)
    path = link(conversation)

    assert (await fetch(bob, path)).status == 404  # not his conversation
    async with aiohttp.ClientSession(base_url=hub.url + "/") as anonymous:
        assert (await fetch(anonymous, path)).status == 401
    # The message id of one conversation under the id of another is no way in either.
    elsewhere = path.replace(f"/conversations/{conversation['id']}/", "/conversations/999999/")
    assert (await fetch(alice, elsewhere)).status == 404

    # Deleted from the store (say by a retention job): a clear 404, not a server error.
    ref = conversation["messages"][0]["attachments"][0]["ref"]
    hub.app[ATTACHMENTS].path(ref).unlink()
    gone = await fetch(alice, path)
    assert gone.status == 404
    await alice.close()
    await bob.close()


async def test_a_voicemail_recording_is_fetched_from_twilio_with_the_account_key(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    api, api_url = calls_api
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    recording = "RE" + uuid.uuid4().hex
    api.recordings[recording] = b"RIFF....WAVEfmt " + bytes(range(256))
    await leave_voicemail(
        hub, f"{api_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording}"
    )
    conversation_id = await accept_next_offer(alice)
    conversation = await alice.get(f"/api/conversations/{conversation_id}")

    played = await fetch(alice, link(conversation))
    assert played.status == 200
    assert played.body == api.recordings[recording]
    assert played.content_type == "audio/x-wav"

    api.refuse_with = (500, 20500, "Internal Server Error")  # Twilio fails for a while
    failed = await fetch(alice, link(conversation))
    assert failed.status == 502
    assert "did not give it" in failed.body.decode()
    api.refuse_with = None

    del api.recordings[recording]  # deleted at Twilio
    assert (await fetch(alice, link(conversation))).status == 404
    await alice.close()


async def test_a_stored_url_outside_the_twilio_account_is_never_fetched(
    hub: Hub, calls_api: tuple[CallsApi, str]
) -> None:
    """A reference that points elsewhere (another account, another host) must not make
    the hub send Twilio credentials there, or fetch anything at all."""
    api, api_url = calls_api
    await hub.add_agent("alice", status="available")
    alice = await hub.login("alice")
    other = "AC" + "f" * 32
    for caller, url in (
        ("+14155550123", f"{api_url}/2010-04-01/Accounts/{other}/Recordings/RE1"),
        ("+14155550124", f"http://127.0.0.1:9/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE2"),
    ):
        await leave_voicemail(hub, url, caller)
        conversation_id = await accept_next_offer(alice)
        conversation = await alice.get(f"/api/conversations/{conversation_id}")
        refused = await fetch(alice, link(conversation))
        assert refused.status == 404
        assert "cannot be fetched" in refused.body.decode()
        status, _ = await alice.post(f"/api/conversations/{conversation_id}/close")
        assert status == 200  # free for the next call
    assert api.requests == []  # the local Twilio heard nothing
    await alice.close()
