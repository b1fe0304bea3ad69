"""The identity index of every stored customer, loaded at start and kept up to date.

Each hub process holds its own index: it loads every customer once, then every few
seconds adds the customers and addresses created since (by any hub process) and drops
customers merged away or erased (the `customer.erased` event drops those at once; the
look catches one a process missed, say while Redis was away). Now and then it reloads
everything and learns the match weights again, so the model follows the data.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import Sessions
from hub.loops import Backoff, stop_if_cancelled
from hub.models import Customer, CustomerAddress, CustomerMerge, TimelineEvent
from routing.identity.addresses import address_key
from routing.identity.customers import (
    MIN_CUSTOMERS_TO_LEARN,
    customer_keys,
    customer_profile,
    load_index,
)
from routing.identity.index import CustomerIndex, IndexResolver

__all__ = ["CustomerDirectory"]

# Erasures are found by their timeline event, looking this many events back before the
# newest seen last time: one committed late, after newer events, is still found.
ERASED_OVERLAP = 1000

log = logging.getLogger(__name__)


class CustomerDirectory:
    """Owns the resolver intake asks, and keeps its index in step with the database."""

    def __init__(
        self,
        sessions: Sessions,
        region: str = "US",
        refresh_interval: float = 5.0,
        reload_interval: float = 3600.0,
    ) -> None:
        self._sessions = sessions
        self._region = region
        self._refresh_interval = refresh_interval
        self._reload_interval = reload_interval
        self.resolver = IndexResolver(CustomerIndex(), region)
        self._seen = (0, 0, 0)  # the newest customer, address and merge id in the index
        self._events_seen = 0  # the newest timeline event when the index last looked
        # How many customers the index held when learning last found too little to learn
        # from: learning is worth another try (it costs a CPU-heavy pass) only once the
        # index has grown by a tenth since.
        self._unlearnable_at = 0

    async def load(self) -> int:
        """Build the index from every stored customer; how many it holds."""
        async with self._sessions() as session:
            seen = await _newest(session)
            events_seen = await session.scalar(select(func.max(TimelineEvent.id))) or 0
            index = await load_index(session, self._region)
        self._unlearnable_at = 0 if await _learn(index) else len(index)
        self.resolver.index, self._seen = index, seen
        self._events_seen = events_seen
        return len(index)

    async def refresh(self) -> int:
        """Fold in what changed since the last look; how many customers changed."""
        index = self.resolver.index
        last_customer, last_address, last_merge = self._seen
        async with self._sessions() as session:
            seen = await _newest(session)
            customers = list(
                await session.scalars(
                    select(Customer).where(
                        Customer.id > last_customer, Customer.merged_into_id.is_(None)
                    )
                )
            )
            addresses = list(
                await session.scalars(
                    select(CustomerAddress).where(CustomerAddress.id > last_address)
                )
            )
            merged = list(
                await session.scalars(
                    select(CustomerMerge.merged_id).where(
                        CustomerMerge.id > last_merge, CustomerMerge.undone_at.is_(None)
                    )
                )
            )
            events_seen = await session.scalar(select(func.max(TimelineEvent.id))) or 0
            erased = list(
                await session.scalars(
                    select(TimelineEvent.customer_id).where(
                        TimelineEvent.id > self._events_seen - ERASED_OVERLAP,
                        TimelineEvent.kind == "customer.erased",
                    )
                )
            )
        own: dict[int, list[CustomerAddress]] = defaultdict(list)
        for address in addresses:
            own[address.customer_id].append(address)
        for customer in customers:
            if customer.erased_at is not None:
                continue
            mine = own.pop(customer.id, [])
            index.add(
                customer.id,
                customer_profile(customer, mine, self._region),
                customer_keys(customer, mine, self._region),
            )
        for customer_id, extra in own.items():
            if index.profile(customer_id) is not None:
                keys = [address_key(a.channel, a.address, self._region) for a in extra]
                index.add_keys(customer_id, [k for k in keys if k])
        for customer_id in [*merged, *erased]:
            index.remove(customer_id)
        if index.model is None and len(index) >= max(
            MIN_CUSTOMERS_TO_LEARN, self._unlearnable_at * 11 // 10 + 1
        ):
            self._unlearnable_at = 0 if await _learn(index) else len(index)
        self._seen, self._events_seen = seen, events_seen
        return len(customers) + len(merged)

    async def run(self) -> None:
        """Refresh every few seconds and reload now and then, until cancelled."""
        since_reload = 0.0
        backoff = Backoff("customer index refresh", first=self._refresh_interval)
        while True:
            stop_if_cancelled()
            await asyncio.sleep(self._refresh_interval)
            since_reload += self._refresh_interval
            try:
                if since_reload >= self._reload_interval:
                    since_reload = 0.0
                    await self.load()
                else:
                    await self.refresh()
            except Exception:
                await backoff.failed()
                continue
            backoff.succeeded()


async def _newest(session: AsyncSession) -> tuple[int, int, int]:
    row = (
        await session.execute(
            select(
                select(func.max(Customer.id)).scalar_subquery(),
                select(func.max(CustomerAddress.id)).scalar_subquery(),
                select(func.max(CustomerMerge.id)).scalar_subquery(),
            )
        )
    ).one()
    return (row[0] or 0, row[1] or 0, row[2] or 0)


async def _learn(index: CustomerIndex) -> bool:
    """Learn the match weights when there are enough customers to learn from; whether
    the index has a model now."""
    if len(index) < MIN_CUSTOMERS_TO_LEARN:
        return False
    try:
        await asyncio.to_thread(index.estimate)
    except ValueError:
        return False  # too little shared data to learn from yet: exact keys only
    return True
