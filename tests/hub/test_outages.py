"""A hub whose Redis goes away, freezes or comes back: it keeps working and says what is down.

Each test runs its own redis-server (tests/servers.py), which it stops and freezes;
the database is the run's private PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import websockets
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from hub.keys import PRESENCE, QUEUE
from hub.models import Message
from hub.settings import Settings
from tests.conftest import start_hub
from tests.servers import PrivateRedis
from tests.support import ChatCustomer, Hub, eventually

PUBLIC_URL = "https://hub.example.test"
AUTH_TOKEN = "outage-test-twilio-token"


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def settings(postgres_url: str, private_redis: PrivateRedis, tmp_path: Path) -> Settings:
    return Settings.from_env(
        {},
        database_url=postgres_url,
        redis_url=private_redis.url,
        secret_key="outage-test-secret",
        public_url=PUBLIC_URL,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token=AUTH_TOKEN,
        routing_tick=0.05,
        presence_interval=0.1,
        redis_timeout=0.5,
        knowledge_embeddings=False,
        smtp_port=0,
        attachments_dir=str(tmp_path / "attachments"),
    )


async def test_console_presence_comes_back_after_redis_does(
    settings: Settings, private_redis: PrivateRedis
) -> None:
    # Plain http here: behind an https public URL the session cookie is Secure.
    plain = dataclasses.replace(settings, public_url="http://127.0.0.1")
    async with start_hub(plain, clean=True) as hub:
        alice_id = await hub.add_agent("alice", status="available")
        alice = await hub.login("alice")
        console = await alice.http.ws_connect("console/ws")
        presence = hub.app[PRESENCE]
        await eventually(lambda: presence.present(time.time() - 1))

        private_redis.shutdown()
        await asyncio.sleep(1.0)  # several presence rounds fail meanwhile
        private_redis.start()
        back = time.time()

        assert await eventually(lambda: presence.present(back)) == {alice_id}
        await console.close()
        await alice.close()


async def test_healthz_names_a_frozen_redis_at_once(
    settings: Settings, private_redis: PrivateRedis
) -> None:
    async with start_hub(settings, clean=True) as hub:
        private_redis.freeze()
        try:
            timeout = aiohttp.ClientTimeout(total=5)
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.get(hub.url + "/healthz") as response,
            ):
                assert response.status == 503
                body = await response.json()
        finally:
            private_redis.thaw()
        assert body["database"] == "ok"
        assert body["queue"].startswith("error")

        async def healthy() -> bool:
            async with aiohttp.ClientSession() as http, http.get(hub.url + "/healthz") as response:
                return response.status == 200

        await eventually(healthy)


async def test_an_sms_stored_while_redis_is_frozen_gets_503_and_its_retry_is_queued(
    settings: Settings, private_redis: PrivateRedis
) -> None:
    async with start_hub(settings, clean=True) as hub:
        await eventually(hub.app[QUEUE].intact)
        form = {
            "MessageSid": "SM" + "1" * 32,
            "AccountSid": "AC" + "0" * 32,
            "From": "+14155550100",
            "To": "+14155550199",
            "Body": "Where is my parcel?",
            "NumMedia": "0",
        }
        private_redis.freeze()
        try:
            status, retry_after = await post_sms(hub, form)
        finally:
            private_redis.thaw()
        assert (status, retry_after) == (503, "5")

        status, _ = await post_sms(hub, form)  # Twilio, or the sender, tries again
        assert status == 200
        async with hub.sessions() as session:
            stored = await session.scalars(select(Message.conversation_id))
            conversation_ids = list(stored)
            count = await session.scalar(select(func.count()).select_from(Message))
        assert count == 1
        assert await hub.app[QUEUE].contains(conversation_ids[0])


async def post_sms(hub: Hub, form: dict[str, str]) -> tuple[int, str | None]:
    path = "/webhooks/twilio/sms"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, form)
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.post(hub.url + path, data=form, headers={"X-Twilio-Signature": signature}) as answer,
    ):
        return answer.status, answer.headers.get("Retry-After")


async def test_a_chat_socket_gets_an_error_frame_before_it_closes(
    settings: Settings, private_redis: PrivateRedis
) -> None:
    async with start_hub(settings, clean=True) as hub:
        customer = await ChatCustomer.connect(hub, name="Kim")
        private_redis.freeze()
        try:
            await customer.ws.send(json.dumps({"type": "message", "id": "m-1", "text": "hello?"}))
            frame = await customer.expect("error")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(customer.ws.recv(), 5)
        finally:
            private_redis.thaw()
        assert (frame["code"], frame["id"], frame["retry_after"]) == ("unavailable", "m-1", 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
