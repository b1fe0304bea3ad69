"""Delivering the outbox: each pending webhook delivery POSTed, signed, until it lands.

Every hub process runs one `Deliverer`. A round claims due deliveries in one short
transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two processes never claim the same
row; SQLite runs one process) by setting a lease, sends them, and records each attempt.
A process killed mid-delivery leaves its lease to run out, and the delivery is made again:
at least once, never lost. A delivery waits while an earlier one of the same customer's
events to the same subscription is pending, so each subscriber sees a customer's events
in order. A failure is retried after a pause doubling from `first_retry` (at most an
hour) until `give_up` seconds have passed, then the delivery is marked failed and the
customer's next events go on.

Signatures follow the Standard Webhooks specification (webhook-id, webhook-timestamp,
webhook-signature), made with the `standardwebhooks` package.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import and_, exists, insert, or_, select, update
from sqlalchemy.orm import aliased
from standardwebhooks import Webhook

from hub.db import Sessions
from hub.loops import keep_running
from hub.metrics import Metrics
from hub.models import (
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)

__all__ = ["Deliverer", "DeliveryPolicy", "signed_headers"]

log = logging.getLogger(__name__)
LONGEST_PAUSE = 3600.0
MAX_ERROR = 500
USER_AGENT = "Switchboard-Webhooks/1"


@dataclass(frozen=True)
class DeliveryPolicy:
    interval: float = 1.0  # seconds between looks for due deliveries
    timeout: float = 10.0  # for one POST
    lease: float = 60.0  # a claimed delivery is this process's for so long
    first_retry: float = 5.0
    give_up: float = 24 * 3600.0
    batch: int = 50

    def pause(self, attempts: int) -> float:
        """Seconds before the next attempt after `attempts` failed ones."""
        return min(LONGEST_PAUSE, self.first_retry * 2.0 ** min(attempts - 1, 30))


@dataclass(frozen=True)
class _Claimed:
    id: int
    event_id: int
    url: str
    secret: str
    payload: dict[str, Any]


def signed_headers(secret: str, event_id: int, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for `body`: the id stays the same on every retry."""
    message_id = f"msg_{event_id}"
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


class Deliverer:
    """Sends due deliveries every `policy.interval` seconds until cancelled."""

    def __init__(self, sessions: Sessions, policy: DeliveryPolicy, metrics: Metrics) -> None:
        self._sessions = sessions
        self._policy = policy
        self._metrics = metrics

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._policy.timeout)
        async with aiohttp.ClientSession(
            timeout=timeout, headers={"User-Agent": USER_AGENT}
        ) as http:
            await keep_running(
                "webhook delivery", lambda: self.deliver_due(http), self._policy.interval
            )

    async def deliver_due(self, http: aiohttp.ClientSession) -> int:
        """Claim and send what is due, round after round while rounds come back full."""
        sent = 0
        while True:
            claimed = await self._claim()
            await asyncio.gather(*(self._attempt(http, c) for c in claimed))
            sent += len(claimed)
            if len(claimed) < self._policy.batch:
                return sent

    async def _claim(self) -> list[_Claimed]:
        now = utcnow()
        lease_until = now + timedelta(seconds=self._policy.lease)
        earlier = aliased(WebhookDelivery)
        due = (
            select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
                ~exists().where(
                    and_(
                        earlier.subscription_id == WebhookDelivery.subscription_id,
                        earlier.customer_id == WebhookDelivery.customer_id,
                        earlier.status == "pending",
                        earlier.event_id < WebhookDelivery.event_id,
                    )
                ),
            )
            .order_by(WebhookDelivery.id)
            .limit(self._policy.batch)
            .with_for_update(skip_locked=True, of=WebhookDelivery)
        )
        async with self._sessions() as session, session.begin():
            ids = list(await session.scalars(due))
            if not ids:
                return []
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids))
                .values(lease_until=lease_until)
            )
            rows = await session.execute(
                select(
                    WebhookDelivery.id,
                    WebhookDelivery.event_id,
                    WebhookSubscription.url,
                    WebhookSubscription.secret,
                    OutboxEvent.payload,
                )
                .join(
                    WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id
                )
                .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.id.in_(ids))
                .order_by(WebhookDelivery.id)
            )
            return [_Claimed(*row) for row in rows.all()]

    async def _attempt(self, http: aiohttp.ClientSession, claimed: _Claimed) -> None:
        body = json.dumps(claimed.payload, separators=(",", ":"), ensure_ascii=False)
        at = utcnow()
        headers = {
            **signed_headers(claimed.secret, claimed.event_id, body, at),
            "Content-Type": "application/json",
        }
        started = time.perf_counter()
        code: int | None = None
        problem = ""
        try:
            async with http.post(
                claimed.url, data=body.encode(), headers=headers, allow_redirects=False
            ) as response:
                code = response.status
                await response.content.read(4096)  # the answer is not kept; drain a little
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}"[:MAX_ERROR] or type(exc).__name__
        elapsed = int((time.perf_counter() - started) * 1000)
        delivered = code is not None and 200 <= code < 300
        if not delivered and not problem:
            problem = f"answered {code}"
        self._metrics.inc(
            "switchboard_webhook_attempts_total", outcome="delivered" if delivered else "failed"
        )
        await self._record(claimed, code, problem, elapsed, delivered)

    async def _record(
        self, claimed: _Claimed, code: int | None, problem: str, elapsed: int, delivered: bool
    ) -> None:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            await session.execute(
                insert(WebhookAttempt).values(
                    delivery_id=claimed.id,
                    at=now,
                    status_code=code,
                    error=problem,
                    duration_ms=elapsed,
                )
            )
            delivery = await session.get(WebhookDelivery, claimed.id, with_for_update=True)
            if delivery is None or delivery.status != "pending":
                return  # redelivered or settled meanwhile by another process
            delivery.attempts += 1
            delivery.last_status_code = code
            delivery.last_error = problem
            delivery.lease_until = None
            if delivered:
                delivery.status = "delivered"
                delivery.delivered_at = now
            elif (now - delivery.retry_since).total_seconds() >= self._policy.give_up:
                delivery.status = "failed"
                log.warning("webhook delivery %d given up: %s", claimed.id, problem)
            else:
                pause = self._policy.pause(delivery.attempts)
                delivery.next_attempt_at = now + timedelta(seconds=pause)
