"""/api/v1/webhooks: an integration holding an `admin` token subscribes its own endpoint,
receives signed events, reads the delivery log, has a delivery sent again, changes and
finally deletes its subscription; every step is on the audit log in the token's name."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.models import AuditEntry, WebhookDelivery
from hub.settings import Settings
from tests.agent_console.api_client import ApiClient, issue_token
from tests.conftest import start_hub
from tests.hub.test_webhooks import QUICK, until
from tests.hub.webhook_receiver import Receiver
from tests.support import Hub, eventually


@pytest.fixture
async def hub(settings_for: Settings) -> AsyncIterator[Hub]:
    async with start_hub(dataclasses.replace(settings_for, **QUICK), clean=True) as running:
        yield running


async def admin_api(hub: Hub, scopes: list[str] | None = None) -> ApiClient:
    token = await issue_token(hub, scopes or ["admin", "customers:write"], name="Order system")
    return ApiClient(hub, token["token"])


async def test_an_integration_manages_its_own_webhook(hub: Hub) -> None:
    api = await admin_api(hub)
    try:
        async with Receiver() as receiver:
            status, created = await api.call(
                "POST",
                "/api/v1/webhooks",
                {"url": receiver.url, "event_types": ["customer.created"], "description": "orders"},
            )
            assert status == 201, created
            assert created["secret"].startswith("whsec_") and created["active"] is True
            receiver.secret = created["secret"]
            hook = f"/api/v1/webhooks/{created['id']}"

            status, ann = await api.call("POST", "/api/v1/customers", {"name": "Ann"})
            assert status == 201
            await until(lambda: len(receiver.delivered()) == 1)
            assert receiver.received[0].data["customer_id"] == ann["id"]
            assert receiver.forged == 0

            shown = await api.get(hook)
            assert "secret" not in shown and shown["url"] == receiver.url

            async def delivered() -> dict[str, Any] | None:
                page = await api.get(hook + "/deliveries")
                (delivery,) = page["deliveries"]
                return dict(delivery) if delivery["status"] == "delivered" else None

            # The hub marks it delivered once it has read the answer.
            delivery = await eventually(delivered)
            assert delivery["event_type"] == "customer.created"
            assert delivery["log"][0]["status_code"] == 200

            status, again = await api.call("POST", f"{hook}/deliveries/{delivery['id']}/redeliver")
            assert status == 200 and again["status"] == "pending"
            await until(lambda: len(receiver.delivered()) == 2)
            # The same webhook-id: the subscriber can tell it is the same event.
            assert receiver.received[1].webhook_id == receiver.received[0].webhook_id

            status, changed = await api.call("PATCH", hook, {"active": False})
            assert status == 200 and changed["active"] is False
            status, rotated = await api.call("POST", hook + "/secret")
            assert status == 200 and rotated["secret"] != created["secret"]

            status, gone = await api.call("DELETE", hook)
            assert status == 200 and gone["id"] == created["id"]
            assert (await api.call("GET", hook))[0] == 404
            assert (await api.call("GET", hook + "/deliveries"))[0] == 404
            async with hub.sessions() as session:
                left = await session.scalar(select(func.count()).select_from(WebhookDelivery))
            assert left == 0
    finally:
        await api.close()
    async with hub.sessions() as session:
        lines = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor)
                .where(AuditEntry.action.like("webhook.%"))
                .order_by(AuditEntry.id)
            )
        ).all()
    assert [action for action, _ in lines] == [
        "webhook.created",
        "webhook.redelivered",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.deleted",
    ]
    assert {actor for _, actor in lines} == {"API token Order system"}


async def test_subscriptions_come_a_page_at_a_time(hub: Hub) -> None:
    api = await admin_api(hub)
    try:
        made = []
        for n in range(5):
            status, created = await api.call(
                "POST",
                "/api/v1/webhooks",
                {"url": f"http://127.0.0.1:9/hook/{n}", "event_types": ["message.received"]},
            )
            assert status == 201
            made.append(created["id"])
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = await api.get("/api/v1/webhooks", **params)
            seen += [w["id"] for w in page["webhooks"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == made and pages == 3
    finally:
        await api.close()


@pytest.mark.parametrize("backend", ["memory"])
async def test_bad_requests_and_tokens_without_the_admin_scope_are_refused(hub: Hub) -> None:
    api = await admin_api(hub)
    reader = await admin_api(hub, ["customers:read"])
    try:
        status, body = await api.call(
            "POST", "/api/v1/webhooks", {"url": "ftp://x", "event_types": ["customer.created"]}
        )
        assert status == 400 and body["field"] == "url"
        status, body = await api.call(
            "POST", "/api/v1/webhooks", {"url": "http://x.example", "event_types": ["nope"]}
        )
        assert status == 400 and body["field"].startswith("event_types")
        status, body = await api.call("GET", "/api/v1/webhooks", cursor="forged")
        assert status == 400 and body["field"] == "cursor"
        status, body = await api.call("GET", "/api/v1/webhooks/1/deliveries", cursor="forged")
        assert status == 404  # no such webhook comes first
        status, created = await api.call(
            "POST",
            "/api/v1/webhooks",
            {"url": "http://127.0.0.1:9/hook", "event_types": ["customer.created"]},
        )
        hook = f"/api/v1/webhooks/{created['id']}"
        status, body = await api.call("GET", hook + "/deliveries", cursor="forged")
        assert status == 400 and body["field"] == "cursor"
        assert (await api.call("POST", hook + "/deliveries/999/redeliver"))[0] == 404
        status, body = await reader.call("GET", "/api/v1/webhooks")
        assert status == 403 and "admin" in body["error"]
        assert (await reader.call("DELETE", hook))[0] == 403
        assert (await api.call("GET", hook))[0] == 200  # still there
    finally:
        await api.close()
        await reader.close()
