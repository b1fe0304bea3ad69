"""An integration's side of /api/v1: a token an admin created, and an HTTP client using it."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import select

from hub.models import Agent
from tests.support import Hub

ALL_SCOPES = [
    "customers:read",
    "customers:write",
    "conversations:read",
    "messages:send",
    "reports:read",
    "admin",
]


async def issue_token(hub: Hub, scopes: list[str], name: str = "CRM sync") -> dict[str, Any]:
    """A token created by an admin on the settings page (the admin is made if needed)."""
    async with hub.sessions() as session:
        admin = await session.scalar(select(Agent).where(Agent.username == "tokenadmin"))
    if admin is None:
        await hub.add_agent("tokenadmin", role="admin")
    ada = await hub.login("tokenadmin")
    try:
        status, created = await ada.post("/api/admin/tokens", {"name": name, "scopes": scopes})
    finally:
        await ada.close()
    assert status == 201, created
    return dict(created)


class ApiClient:
    """Calls /api/v1 with `Authorization: Bearer <token>`; answers (status, JSON body)."""

    def __init__(self, hub: Hub, token: str) -> None:
        self.http = aiohttp.ClientSession(
            base_url=hub.url + "/", headers={"Authorization": f"Bearer {token}"}
        )

    async def call(
        self, method: str, path: str, body: Any = None, **params: Any
    ) -> tuple[int, Any]:
        query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        async with self.http.request(method, path.lstrip("/"), json=body, params=query) as response:
            self.last_headers = response.headers
            data = await response.json() if response.content_type == "application/json" else None
            return response.status, data

    async def get(self, path: str, **params: Any) -> Any:
        status, body = await self.call("GET", path, **params)
        assert status == 200, (path, status, body)
        return body

    async def close(self) -> None:
        await self.http.close()
