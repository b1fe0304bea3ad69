"""Background loops that outlive their dependencies' outages.

A loop that dies on one Redis or database error stays dead until the hub restarts
(presence empty, followers deaf). Every background loop therefore reports a failure
here, waits a growing pause (so an outage is neither hammered nor logged every tick),
and carries on; the first success after failures is logged as a recovery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def stop_if_cancelled() -> None:
    """Raise CancelledError if this task is being cancelled.

    A cancel that lands while a client's own timeout fires can come out of the client as
    that timeout, or as nothing at all (Redis' reads retry on a timeout); a loop that
    carried on would never stop, and shutdown would wait for it forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Backoff:
    """The pause after each failure of one loop: doubling from `first`, at most `longest`."""

    def __init__(self, name: str, first: float = 0.1, longest: float = 10.0) -> None:
        self.name = name
        self._first = first
        self._longest = longest
        self.failures = 0

    def delay(self) -> float:
        return min(self._longest, self._first * 2.0 ** min(self.failures - 1, 30))

    async def failed(self) -> None:
        """Log the failure being handled (in full the first time), then pause."""
        stop_if_cancelled()
        self.failures += 1
        delay = self.delay()
        if self.failures == 1:
            log.exception("%s failed; retrying in %.1f s", self.name, delay)
        else:
            log.warning(
                "%s failed again (%d in a row); retrying in %.1f s",
                self.name,
                self.failures,
                delay,
            )
        await asyncio.sleep(delay)

    def succeeded(self) -> bool:
        """Note a success; True when it ends a run of failures (a dependency came back)."""
        recovered = self.failures > 0
        if recovered:
            log.warning("%s works again after %d failures", self.name, self.failures)
        self.failures = 0
        return recovered


async def keep_running(
    name: str,
    step: Callable[[], Awaitable[object]],
    interval: float,
    *,
    longest: float = 10.0,
) -> None:
    """Run `step` every `interval` seconds until cancelled; a failure never ends the loop."""
    backoff = Backoff(name, first=min(interval, 0.5), longest=max(longest, interval))
    while True:
        stop_if_cancelled()
        try:
            await step()
        except Exception:
            await backoff.failed()
            continue
        backoff.succeeded()
        await asyncio.sleep(interval)


class Background:
    """One-off jobs started beside the caller (a listener must not wait on a slow mail
    relay): each job's failure is logged, never raised into the caller, and `close`
    cancels what still runs when the hub stops."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, job: Awaitable[None], failure: str) -> None:
        """Run `job`; if it fails, log `failure` with the error."""
        task = asyncio.create_task(self._logged(job, failure))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @staticmethod
    async def _logged(job: Awaitable[None], failure: str) -> None:
        try:
            await job
        except Exception:  # one failed job must not end the listener that started it
            log.exception(failure)
