"""The outbox: events for webhook subscribers, written with the change that made them true.

`add(session, event, customer_id)` is called inside the transaction that makes the change
(intake storing a contact, an offer accepted, a conversation closed...), so the event is
stored if and only if the change is: a crash after the commit loses no event, and a
rolled-back change sends none. It writes one `OutboxEvent` and one pending
`WebhookDelivery` per active subscription to the event's type, or nothing when no one
subscribed. `hub.webhooks.Deliverer` sends them.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.events import DomainEvent
from hub.models import OutboxEvent, WebhookDelivery, WebhookSubscription, utcnow

__all__ = ["add", "new_secret", "payload"]

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, no secret


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: whsec_ and 32 random bytes, base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def payload(event: DomainEvent, customer_id: int | None) -> dict[str, Any]:
    """The body subscribers get, as Standard Webhooks suggests: type, timestamp, data."""
    data = {k: v for k, v in event.wire().items() if k not in ("type", "ts")}
    if customer_id is not None:
        data.setdefault("customer_id", customer_id)
    return {"type": event.name, "timestamp": event.ts, "data": data}


async def add(session: AsyncSession, event: DomainEvent, customer_id: int | None) -> int:
    """Queue `event` for every active subscription to its type, in the caller's
    transaction; how many deliveries that made (0: nobody subscribed, nothing written)."""
    if not event.webhook:
        raise ValueError(f"{event.name} is not an event webhooks may subscribe to")
    subscriptions = await session.execute(
        select(WebhookSubscription.id, WebhookSubscription.event_types).where(
            WebhookSubscription.active.is_(True)
        )
    )
    wanted = [sid for sid, types in subscriptions.all() if event.name in (types or ())]
    if not wanted:
        return 0
    now = utcnow()
    connection = await session.connection()
    event_id = await connection.scalar(
        insert(OutboxEvent)
        .values(
            event_type=event.name,
            customer_id=customer_id,
            payload=payload(event, customer_id),
            created_at=now,
        )
        .returning(OutboxEvent.id)
    )
    await connection.execute(
        insert(WebhookDelivery),
        [
            {
                "subscription_id": sid,
                "event_id": event_id,
                "customer_id": customer_id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "retry_since": now,
                "last_error": "",
                "created_at": now,
            }
            for sid in wanted
        ],
    )
    return len(wanted)
