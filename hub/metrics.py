"""Counters and gauges, rendered in the Prometheus text format for GET /metrics."""

from __future__ import annotations

import hmac
import ipaddress
from collections import defaultdict
from collections.abc import Awaitable, Callable

from aiohttp import web

Labels = tuple[tuple[str, str], ...]


class Metrics:
    def __init__(self) -> None:
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._gauges: dict[str, Callable[[], Awaitable[float]]] = {}

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self._counters[name][tuple(sorted(labels.items()))] += amount

    def gauge(self, name: str, read: Callable[[], Awaitable[float]]) -> None:
        """Register a gauge whose value is read when /metrics is scraped."""
        self._gauges[name] = read

    def value(self, name: str, **labels: str) -> float:
        return self._counters[name][tuple(sorted(labels.items()))]

    async def render(self) -> str:
        lines: list[str] = []
        for name in sorted(self._counters):
            lines.append(f"# TYPE {name} counter")
            for labels, value in sorted(self._counters[name].items()):
                lines.append(f"{name}{_labels(labels)} {value:g}")
        for name in sorted(self._gauges):
            lines.append(f"# TYPE {name} gauge")
            lines.append(f"{name} {await self._gauges[name]():g}")
        return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def may_read_metrics(request: web.Request, token: str) -> bool:
    """With a token: the request carries it as a bearer. Without: it comes from this host."""
    if token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(offered.encode(), token.encode())
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False
