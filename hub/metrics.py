"""Counters, gauges and histograms of one hub process, for GET /metrics.

Each `Metrics` keeps its own prometheus-client registry rather than the library's global
one: a test process starts many hubs, and each must count only its own traffic. Every
sample carries a `process` label (hostname:pid unless set), so the series of several hub
processes behind one balancer stay apart once scraped.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["CONTENT_TYPE", "HISTOGRAMS", "Metrics", "default_process", "may_read_metrics"]
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds a contact may wait for an offer: from at once to half an hour in a busy queue.
WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
HISTOGRAMS: dict[str, tuple[str, tuple[float, ...]]] = {
    "switchboard_intake_seconds": (
        "Time to store, thread and queue one inbound contact",
        Histogram.DEFAULT_BUCKETS,
    ),
    "switchboard_arrival_to_offer_seconds": (
        "Time from a contact joining the queue to its offer to an agent",
        WAIT_BUCKETS,
    ),
    "switchboard_routing_pass_seconds": (
        "Duration of one routing pass",
        Histogram.DEFAULT_BUCKETS,
    ),
}


def default_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Metrics:
    def __init__(self, process: str = "") -> None:
        self.registry = CollectorRegistry()
        self.process = process or default_process()
        self._counters: dict[str, Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self._gauges: dict[str, tuple[Gauge, Callable[[], Awaitable[float]]]] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        if name not in self._counters:
            self._counters[name] = Counter(
                name, name.replace("_", " "), ["process", *labels], registry=self.registry
            )
        self._counters[name].labels(process=self.process, **labels).inc(amount)

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """One observation of a histogram named in HISTOGRAMS."""
        if name not in self._histograms:
            description, buckets = HISTOGRAMS[name]
            self._histograms[name] = Histogram(
                name, description, ["process", *labels], registry=self.registry, buckets=buckets
            )
        self._histograms[name].labels(process=self.process, **labels).observe(seconds)

    @contextmanager
    def timed(self, name: str, **labels: str) -> Iterator[None]:
        """Observe how long the block took, whether it returned or raised."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.observe(name, time.perf_counter() - started, **labels)

    def gauge(self, name: str, read: Callable[[], Awaitable[float]]) -> None:
        """Register a gauge whose value is read when /metrics is scraped."""
        if name not in self._gauges:
            gauge = Gauge(name, name.replace("_", " "), ["process"], registry=self.registry)
            self._gauges[name] = (gauge, read)
        else:
            self._gauges[name] = (self._gauges[name][0], read)

    def value(self, name: str, **labels: str) -> float:
        found = self.registry.get_sample_value(name, {"process": self.process, **labels})
        return found or 0.0

    async def render(self) -> bytes:
        """The exposition text, gauges read afresh (prometheus-client's collectors are
        synchronous, the readers of queue sizes are not)."""
        for gauge, read in self._gauges.values():
            gauge.labels(process=self.process).set(await read())
        return generate_latest(self.registry)


def may_read_metrics(request: web.Request, token: str) -> bool:
    """With a token: the request carries it as a bearer. Without: it comes from this host."""
    if token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(offered.encode(), token.encode())
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False
