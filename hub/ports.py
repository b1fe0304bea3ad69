"""Checking, before the hub starts, that the ports it is to listen on are free."""

from __future__ import annotations

import errno
import socket

__all__ = ["require_free"]


def require_free(host: str, port: int, what: str, change: str) -> None:
    """Raise ValueError, saying what to `change`, if `what` cannot listen on host:port.

    Found before start-up rather than from it: a server that fails half way through
    starting leaves a page of tracebacks about the parts that did start.
    """
    if port == 0:
        return  # the system picks a free one
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ValueError(f"cannot listen on {host!r}: {exc.strerror}") from None
    for family, kind, protocol, _name, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            # As asyncio's servers do, so a port in TIME_WAIT counts as free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise ValueError(_refusal(exc, host, port, what, change)) from None


def _refusal(exc: OSError, host: str, port: int, what: str, change: str) -> str:
    where = f"cannot listen for {what} on {host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return f"{where}: the port is in use (a hub running already?); {change}"
    if exc.errno == errno.EACCES:
        return f"{where}: ports below 1024 need more rights; {change}"
    return f"{where}: {exc.strerror}; {change}"
