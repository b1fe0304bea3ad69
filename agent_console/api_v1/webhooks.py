"""/api/v1/webhooks: an integration manages its own webhook subscriptions with a token
holding the `admin` scope: list, create (the answer shows the signing secret once),
read, change, delete, a new secret, the delivery log and sending a delivery again.

The work is the settings page's (agent_console.webhooks); each change is on the audit
log in the token's name, as an admin's is in theirs.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.api_v1.bearer import scoped
from agent_console.api_v1.paging import after_id, page_of
from agent_console.audit import client_address
from agent_console.responses import error, json_body
from agent_console.webhooks import (
    add_subscription,
    change_subscription,
    created_out,
    delivery_counts,
    delivery_page,
    send_again,
    subscription_out,
    target_of,
)
from hub import audit
from hub.api_models.webhooks import (
    DeliveryQuery,
    SubscriptionChange,
    SubscriptionIn,
    WebhookList,
    WebhookQuery,
)
from hub.api_tokens import TokenHolder
from hub.keys import SESSIONS
from hub.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from hub.outbox import new_secret

__all__ = ["setup"]

WEBHOOK = "/api/v1/webhooks/{webhook_id:\\d+}"
DELIVERY = WEBHOOK + "/deliveries/{delivery_id:\\d+}"


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/webhooks", list_webhooks)
    r.add_post("/api/v1/webhooks", create_webhook)
    r.add_get(WEBHOOK, get_webhook)
    r.add_patch(WEBHOOK, update_webhook)
    r.add_delete(WEBHOOK, delete_webhook)
    r.add_post(WEBHOOK + "/secret", rotate_secret)
    r.add_get(WEBHOOK + "/deliveries", list_deliveries)
    r.add_post(DELIVERY + "/redeliver", redeliver)


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


@scoped("admin")
async def list_webhooks(request: web.Request, token: TokenHolder) -> web.Response:
    query = WebhookQuery.model_validate(dict(request.query))
    statement = (
        select(WebhookSubscription)
        .where(WebhookSubscription.id > after_id(query.cursor))
        .order_by(WebhookSubscription.id)
        .limit(query.limit + 1)
    )
    async with request.app[SESSIONS]() as session:
        rows = list(await session.scalars(statement))
        counts = await delivery_counts(session)
    page, next_cursor = page_of(rows, query.limit)
    listed = [subscription_out(s, counts) for s in page]
    return _json(WebhookList(webhooks=listed, next_cursor=next_cursor))


@scoped("admin")
async def create_webhook(request: web.Request, token: TokenHolder) -> web.Response:
    given = SubscriptionIn.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        subscription = await add_subscription(session, given)
        change = given.model_dump(mode="json")
        _record(session, request, token, "webhook.created", subscription, change)
    return _json(created_out(subscription), status=201)


@scoped("admin")
async def get_webhook(request: web.Request, token: TokenHolder) -> web.Response:
    async with request.app[SESSIONS]() as session:
        subscription = await _subscription(session, request)
        counts = await delivery_counts(session)
    return _json(subscription_out(subscription, counts))


@scoped("admin")
async def update_webhook(request: web.Request, token: TokenHolder) -> web.Response:
    given = SubscriptionChange.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        subscription = await _subscription(session, request)
        change = change_subscription(subscription, given)
        _record(session, request, token, "webhook.updated", subscription, change)
        counts = await delivery_counts(session)
    return _json(subscription_out(subscription, counts))


@scoped("admin")
async def delete_webhook(request: web.Request, token: TokenHolder) -> web.Response:
    """The subscription and its delivery log are gone; nothing more is sent to it. The
    answer is the subscription as it was."""
    async with request.app[SESSIONS]() as session, session.begin():
        subscription = await _subscription(session, request, lock=True)
        counts = await delivery_counts(session)
        gone = subscription_out(subscription, counts)
        deliveries = select(WebhookDelivery.id).where(
            WebhookDelivery.subscription_id == subscription.id
        )
        await session.execute(
            delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries))
        )
        await session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
        )
        await session.delete(subscription)
        change = {"url": subscription.url, "event_types": list(subscription.event_types)}
        _record(session, request, token, "webhook.deleted", subscription, change)
    return _json(gone)


@scoped("admin")
async def rotate_secret(request: web.Request, token: TokenHolder) -> web.Response:
    """A new signing secret, in force from the next attempt; shown this once."""
    async with request.app[SESSIONS]() as session, session.begin():
        subscription = await _subscription(session, request)
        subscription.secret = new_secret()
        _record(session, request, token, "webhook.secret_rotated", subscription, {})
        counts = await delivery_counts(session)
    return _json(created_out(subscription, counts))


@scoped("admin")
async def list_deliveries(request: web.Request, token: TokenHolder) -> web.Response:
    """Newest first, each with its last attempts (time, answer, duration)."""
    query = DeliveryQuery.model_validate(dict(request.query))
    async with request.app[SESSIONS]() as session:
        subscription = await _subscription(session, request)
        page = await delivery_page(session, subscription.id, query)
    return _json(page)


@scoped("admin")
async def redeliver(request: web.Request, token: TokenHolder) -> web.Response:
    """Send a delivery again now (delivered, failed or waiting), with a fresh day of retries."""
    async with request.app[SESSIONS]() as session, session.begin():
        subscription = await _subscription(session, request)
        delivery = await session.get(
            WebhookDelivery, int(request.match_info["delivery_id"]), with_for_update=True
        )
        if delivery is None or delivery.subscription_id != subscription.id:
            raise error(404, "No such delivery of this webhook.")
        change = {
            "delivery": delivery.id,
            "status_before": delivery.status,
            "event_id": delivery.event_id,
        }
        out = await send_again(session, delivery)
        _record(session, request, token, "webhook.redelivered", subscription, change)
    return _json(out)


async def _subscription(
    session: AsyncSession, request: web.Request, lock: bool = False
) -> WebhookSubscription:
    subscription = await session.get(
        WebhookSubscription, int(request.match_info["webhook_id"]), with_for_update=lock
    )
    if subscription is None:
        raise error(404, "No such webhook.")
    return subscription


def _record(
    session: AsyncSession,
    request: web.Request,
    token: TokenHolder,
    action: str,
    subscription: WebhookSubscription,
    change: dict[str, Any],
) -> None:
    audit.append(
        session,
        action,
        actor=None,
        actor_name=f"API token {token.name}",
        address=client_address(request),
        target=target_of(subscription),
        change=change,
    )
