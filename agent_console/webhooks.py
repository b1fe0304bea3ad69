"""Outbound webhooks for admins: subscriptions, their delivery log, and redelivery.

`GET/POST /api/admin/webhooks`, `PATCH /api/admin/webhooks/{id}`,
`POST /api/admin/webhooks/{id}/secret` (a new secret, shown once),
`GET /api/admin/webhooks/{id}/deliveries` (status, cursor, limit),
`POST /api/admin/webhook-deliveries/{id}/redeliver` and `GET /api/admin/webhook-events`
(the event types one may subscribe to, from the event catalogue). Shapes are in
`hub.api_models.webhooks`; every change goes on the audit log. `hub.outbox` writes the
events, `hub.webhooks` delivers them.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.audit import record
from agent_console.auth import ADMINS, requires
from agent_console.cursors import CursorError, read_cursor, write_cursor
from agent_console.responses import error, json_body
from hub.api_models.webhooks import (
    AttemptOut,
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    EventTypes,
    SubscriptionChange,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
)
from hub.events import WEBHOOK_EVENTS
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import (
    Agent,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from hub.outbox import new_secret

__all__ = [
    "add_subscription",
    "change_subscription",
    "created_out",
    "delivery_counts",
    "delivery_page",
    "send_again",
    "setup",
    "subscription_out",
    "target_of",
]

SUBSCRIPTION = "/api/admin/webhooks/{subscription_id:\\d+}"
REFUSAL = "Webhooks are for admins."
LOG_LENGTH = 20  # attempts shown per delivery


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/admin/webhook-events", event_types)
    r.add_get("/api/admin/webhooks", list_subscriptions)
    r.add_post("/api/admin/webhooks", create_subscription)
    r.add_patch(SUBSCRIPTION, update_subscription)
    r.add_post(SUBSCRIPTION + "/secret", rotate_secret)
    r.add_get(SUBSCRIPTION + "/deliveries", list_deliveries)
    r.add_post("/api/admin/webhook-deliveries/{delivery_id:\\d+}/redeliver", redeliver)


def _json(model: SubscriptionOut | DeliveryPage | EventTypes, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)


@requires(ADMINS, refusal=REFUSAL)
async def event_types(request: web.Request, admin: Agent) -> web.Response:
    return _json(EventTypes(event_types=list(WEBHOOK_EVENTS)))


@requires(ADMINS, refusal=REFUSAL)
async def list_subscriptions(request: web.Request, admin: Agent) -> web.Response:
    async with request.app[SESSIONS]() as session:
        subscriptions = list(
            await session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))
        )
        counts = await delivery_counts(session)
    body = [subscription_out(s, counts).model_dump(mode="json") for s in subscriptions]
    return web.json_response(body)


@requires(ADMINS, refusal=REFUSAL)
async def create_subscription(request: web.Request, admin: Agent) -> web.Response:
    given = SubscriptionIn.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        subscription = await add_subscription(session, given)
        change = given.model_dump(mode="json")
        record(session, request, admin, "webhook.created", target_of(subscription), change)
    return _json(created_out(subscription), status=201)


@requires(ADMINS, refusal=REFUSAL)
async def update_subscription(request: web.Request, admin: Agent) -> web.Response:
    given = SubscriptionChange.model_validate(await json_body(request))
    async with request.app[SESSIONS]() as session, session.begin():
        subscription = await _subscription(session, request)
        change = change_subscription(subscription, given)
        record(session, request, admin, "webhook.updated", target_of(subscription), change)
        counts = await delivery_counts(session)
    return _json(subscription_out(subscription, counts))


@requires(ADMINS, refusal=REFUSAL)
async def rotate_secret(request: web.Request, admin: Agent) -> web.Response:
    """A new signing secret, in force from the next attempt; shown this once."""
    await json_body(request)  # the same cross-site guard as every other write
    async with request.app[SESSIONS]() as session, session.begin():
        subscription = await _subscription(session, request)
        subscription.secret = new_secret()
        record(session, request, admin, "webhook.secret_rotated", target_of(subscription))
        counts = await delivery_counts(session)
    return _json(created_out(subscription, counts))


@requires(ADMINS, refusal=REFUSAL)
async def list_deliveries(request: web.Request, admin: Agent) -> web.Response:
    """Newest first, each with its last attempts (time, answer, duration)."""
    query = DeliveryQuery.model_validate(dict(request.query))
    async with request.app[SESSIONS]() as session:
        await _subscription(session, request)
        page = await delivery_page(session, int(request.match_info["subscription_id"]), query)
    return _json(page)


@requires(ADMINS, refusal=REFUSAL)
async def redeliver(request: web.Request, admin: Agent) -> web.Response:
    """Send a delivery again now (delivered, failed or waiting), with a fresh day of retries."""
    await json_body(request)
    async with request.app[SESSIONS]() as session, session.begin():
        delivery = await session.get(
            WebhookDelivery, int(request.match_info["delivery_id"]), with_for_update=True
        )
        if delivery is None:
            raise error(404, "No such delivery.")
        change = {"status_before": delivery.status, "event_id": delivery.event_id}
        out = await send_again(session, delivery)
        record(session, request, admin, "webhook.redelivered", f"delivery {delivery.id}", change)
    return web.json_response(text=out.model_dump_json())


async def add_subscription(session: AsyncSession, given: SubscriptionIn) -> WebhookSubscription:
    """A new active subscription with a new secret (flushed: it has its id)."""
    subscription = WebhookSubscription(
        url=given.url,
        description=given.description,
        event_types=given.event_types,
        secret=new_secret(),
        active=True,
        created_at=utcnow(),
    )
    session.add(subscription)
    await session.flush()
    return subscription


def change_subscription(
    subscription: WebhookSubscription, given: SubscriptionChange
) -> dict[str, object]:
    """Apply the fields given; what changed, before and after, for the audit log."""
    change: dict[str, object] = {}
    for field in sorted(given.model_fields_set):
        before, after = getattr(subscription, field), getattr(given, field)
        if after is not None and after != before:
            setattr(subscription, field, after)
            change[field] = {"before": before, "after": after}
    return change


async def delivery_page(
    session: AsyncSession, subscription_id: int, query: DeliveryQuery
) -> DeliveryPage:
    """A subscription's deliveries, newest first, each with its last attempts."""
    statement = (
        select(WebhookDelivery, OutboxEvent.event_type)
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(query.limit + 1)
    )
    if query.status:
        statement = statement.where(WebhookDelivery.status == query.status)
    if query.cursor:
        try:
            before = read_cursor(query.cursor, "before")["before"]
        except CursorError:
            raise BadInput("cursor", "is not one this hub gave out.") from None
        if isinstance(before, bool) or not isinstance(before, int):
            raise BadInput("cursor", "is not one this hub gave out.")
        statement = statement.where(WebhookDelivery.id < before)
    rows = (await session.execute(statement)).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    logs = await _logs(session, [d.id for d, _ in rows])
    deliveries = [_delivery(d, kind, logs.get(d.id, [])) for d, kind in rows]
    next_cursor = write_cursor(before=rows[-1][0].id) if more and rows else None
    return DeliveryPage(deliveries=deliveries, next_cursor=next_cursor)


async def send_again(session: AsyncSession, delivery: WebhookDelivery) -> DeliveryOut:
    """Make a delivery (delivered, failed or waiting) due now, with a fresh day of retries."""
    now = utcnow()
    delivery.status = "pending"
    delivery.next_attempt_at = now
    delivery.retry_since = now
    delivery.lease_until = None
    delivery.delivered_at = None
    kind = await session.scalar(
        select(OutboxEvent.event_type).where(OutboxEvent.id == delivery.event_id)
    )
    logs = await _logs(session, [delivery.id])
    return _delivery(delivery, kind or "", logs.get(delivery.id, []))


async def _subscription(session: AsyncSession, request: web.Request) -> WebhookSubscription:
    subscription = await session.get(
        WebhookSubscription, int(request.match_info["subscription_id"])
    )
    if subscription is None:
        raise error(404, "No such webhook.")
    return subscription


async def delivery_counts(session: AsyncSession) -> dict[tuple[int, str], int]:
    rows = await session.execute(
        select(WebhookDelivery.subscription_id, WebhookDelivery.status, func.count())
        .where(WebhookDelivery.status.in_(("pending", "failed")))
        .group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)
    )
    return {(sid, status): int(n) for sid, status, n in rows.all()}


async def _logs(session: AsyncSession, delivery_ids: list[int]) -> dict[int, list[AttemptOut]]:
    logs: dict[int, list[AttemptOut]] = {}
    if not delivery_ids:
        return logs
    attempts = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.id.desc())
    )
    for a in attempts:
        shown = logs.setdefault(a.delivery_id, [])
        if len(shown) < LOG_LENGTH:
            shown.append(
                AttemptOut(
                    at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms
                )
            )
    return logs


def target_of(subscription: WebhookSubscription) -> str:
    return f"webhook {subscription.id} ({subscription.url[:120]})"


def subscription_out(
    subscription: WebhookSubscription, counts: dict[tuple[int, str], int]
) -> SubscriptionOut:
    """A subscription with how many of its deliveries wait and how many failed."""
    return SubscriptionOut(
        id=subscription.id,
        url=subscription.url,
        description=subscription.description,
        event_types=list(subscription.event_types),
        active=subscription.active,
        created_at=subscription.created_at,
        pending=counts.get((subscription.id, "pending"), 0),
        failed=counts.get((subscription.id, "failed"), 0),
    )


def created_out(
    subscription: WebhookSubscription, counts: dict[tuple[int, str], int] | None = None
) -> SubscriptionCreated:
    """A subscription with its secret: the one answer that shows it."""
    out = subscription_out(subscription, counts or {})
    return SubscriptionCreated(**out.model_dump(), secret=subscription.secret)


def _delivery(delivery: WebhookDelivery, kind: str, log: list[AttemptOut]) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=kind,
        customer_id=delivery.customer_id,
        status=delivery.status,  # type: ignore[arg-type]
        attempts=delivery.attempts,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
        log=log,
    )
