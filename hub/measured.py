"""Intake, offers and routing passes timed for /metrics, where the hub is composed.

Subclasses rather than timing code inside each: what they measure is the whole public
call, and the classes themselves stay free of the concern.
"""

from __future__ import annotations

import time
from typing import Any

from hub.contacts import InboundContact
from hub.intake import Accepted, Intake
from hub.metrics import Metrics
from hub.models import utcnow
from hub.queue import WaitingContact
from routing.engine import Router
from routing.offers import OfferBook, OfferView

__all__ = ["MeasuredIntake", "MeasuredOfferBook", "MeasuredRouter"]


class MeasuredIntake(Intake):
    """Observes switchboard_intake_seconds for every contact a channel hands in."""

    def __init__(self, metrics: Metrics, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._measured = metrics

    async def accept(self, contact: InboundContact) -> Accepted:
        with self._measured.timed("switchboard_intake_seconds", channel=contact.channel):
            return await super().accept(contact)


class MeasuredOfferBook(OfferBook):
    """Observes switchboard_arrival_to_offer_seconds for every offer made."""

    def __init__(self, metrics: Metrics, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._measured = metrics

    async def create(
        self, contact: WaitingContact, agent_id: int, explanation: dict[str, Any] | None = None
    ) -> OfferView | None:
        view = await super().create(contact, agent_id, explanation)
        if view is not None:
            waited = max(0.0, utcnow().timestamp() - contact.enqueued_at)
            self._measured.observe(
                "switchboard_arrival_to_offer_seconds", waited, channel=contact.channel
            )
        return view


class MeasuredRouter(Router):
    """Observes switchboard_routing_pass_seconds for every routing pass."""

    def __init__(self, metrics: Metrics, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._measured = metrics

    async def tick(self) -> int:
        started = time.perf_counter()
        try:
            return await super().tick()
        finally:
            self._measured.observe(
                "switchboard_routing_pass_seconds", time.perf_counter() - started
            )
