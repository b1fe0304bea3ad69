"""What tests need to act as customers and agents against a running hub."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
import websockets
from aiohttp import web

from hub.auth import hash_password
from hub.db import Sessions
from hub.keys import SESSIONS
from hub.models import Agent, AgentSkill

T = TypeVar("T")
PASSWORD = "correct horse battery"


@dataclass
class Hub:
    app: web.Application
    url: str

    @property
    def sessions(self) -> Sessions:
        return self.app[SESSIONS]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    async def add_agent(
        self,
        username: str,
        *,
        skills: dict[str, int] | None = None,
        status: str = "offline",
        role: str = "agent",
        capacities: dict[str, int] | None = None,
        password: str = PASSWORD,
        team: str = "",
    ) -> int:
        async with self.sessions() as session, session.begin():
            agent = Agent(
                username=username,
                display_name=username.title(),
                password_hash=hash_password(password),
                role=role,
                status=status,
                capacities=capacities or {},
                languages=["en"],
                team=team,
            )
            session.add(agent)
            await session.flush()
            for skill, level in (skills or {}).items():
                session.add(AgentSkill(agent_id=agent.id, skill=skill, level=level))
            return agent.id

    async def login(self, username: str, password: str = PASSWORD) -> AgentClient:
        client = aiohttp.ClientSession(
            base_url=self.url + "/", cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        async with client.post(
            "console/login",
            data={"username": username, "password": password},
            allow_redirects=False,
        ) as response:
            assert response.status in (302, 303), await response.text()
        return AgentClient(client)


@dataclass
class AgentClient:
    """An agent's HTTP session (logged in) against the console API."""

    http: aiohttp.ClientSession

    async def get(self, path: str) -> Any:
        async with self.http.get(path.lstrip("/")) as response:
            assert response.status == 200, f"{path}: {response.status} {await response.text()}"
            return await response.json()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        async with self.http.post(path.lstrip("/"), json=body or {}) as response:
            data = await response.json() if response.content_type == "application/json" else None
            return response.status, data

    async def close(self) -> None:
        await self.http.close()


@dataclass
class ChatCustomer:
    """A customer on the web chat, speaking the widget's protocol over a real websocket."""

    ws: Any
    token: str = ""
    transcript: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def connect(cls, hub: Hub, token: str | None = None, name: str = "") -> ChatCustomer:
        ws = await websockets.connect(hub.ws_url + "/chat/ws")
        hello: dict[str, Any] = {"type": "hello", "name": name}
        if token:
            hello["token"] = token
        await ws.send(json.dumps(hello))
        welcome = json.loads(await ws.recv())
        assert welcome["type"] == "welcome", welcome
        return cls(ws, welcome["token"], welcome["messages"])

    async def say(self, text: str, client_id: str | None = None) -> dict[str, Any]:
        client_id = client_id or uuid.uuid4().hex
        await self.ws.send(json.dumps({"type": "message", "id": client_id, "text": text}))
        return await self.expect("ack")

    async def expect(self, kind: str, timeout: float = 10.0) -> dict[str, Any]:
        """The next frame of this type, skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {kind!r} frame")
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            if frame["type"] == kind or frame["type"] == "error":
                return dict(frame)

    async def close(self) -> None:
        await self.ws.close()


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 10.0) -> T:
    """Poll until check returns something truthy; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)
