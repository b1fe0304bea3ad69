"""A real HTTP server that receives webhooks and checks them as a subscriber would:
the Standard Webhooks signature, verified with the `standardwebhooks` package."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from standardwebhooks import Webhook


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    answered: int

    @property
    def type(self) -> str:
        return str(self.body["type"])

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.body["data"])


@dataclass
class Receiver:
    """Answers each POST with `answer(body)` (200 unless told otherwise), after `delay`."""

    secret: str = ""
    answer: Callable[[dict[str, Any]], int] = lambda body: 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    forged: int = 0
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/hooks"))

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hooks", self._receive)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        await self.server.close()

    async def _receive(self, request: web.Request) -> web.Response:
        text = await request.text()
        try:
            body = Webhook(self.secret).verify(text, dict(request.headers))
        except Exception:  # noqa: BLE001 - any refusal of the signature counts as forged
            self.forged += 1
            return web.Response(status=400)
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.answer(body)
        self.received.append(Received(request.headers["webhook-id"], body, status))
        return web.Response(status=status, text=json.dumps({"ok": status < 300}))

    def delivered(self) -> list[Received]:
        return [r for r in self.received if r.answered < 300]
