"""The client's own address behind a load balancer.

With SWITCHBOARD_TRUSTED_PROXIES set (the balancer's addresses or networks), a request
from one of them is taken to come from the address the balancer put in X-Forwarded-For,
so login limits, chat flood limits and the /metrics loopback rule see the real client
instead of the balancer. aiohttp-remotes' strict parser does it: a request from any
other address, or with a forwarded chain longer than the balancers in front, is refused
with 400, so no client can name its own address. /healthz answers anyone (the
balancer's own checks), and /metrics too (a Prometheus scrapes each hub directly).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import NoReturn

from aiohttp import web
from aiohttp.typedefs import Middleware
from aiohttp_remotes import XForwardedStrict

__all__ = ["forwarded_for", "trusted_networks"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DIRECT_PATHS = ("/healthz", "/metrics")


def trusted_networks(text: str) -> list[IPv4Network | IPv6Network]:
    """The comma-separated addresses or networks of SWITCHBOARD_TRUSTED_PROXIES."""
    networks = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"SWITCHBOARD_TRUSTED_PROXIES: {item!r} is not an IP address or network"
            ) from None
    return networks


class _BalancedOnly(XForwardedStrict):
    async def raise_error(self, request: web.Request) -> NoReturn:
        raise web.HTTPBadRequest(
            text="This hub answers through its load balancer only "
            "(the request did not come from a trusted proxy with one X-Forwarded-For).\n"
        )


def forwarded_for(trusted: str) -> Middleware | None:
    """A middleware taking the client's address from the trusted balancer, or None
    when no balancer is configured (the peer is then the client)."""
    networks = trusted_networks(trusted)
    if not networks:
        return None
    return _BalancedOnly([networks], white_paths=DIRECT_PATHS).middleware
