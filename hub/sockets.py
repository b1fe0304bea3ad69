"""Websocket fan-out: one bounded outbox and one writer per socket, grouped by key.

A slow peer fills its own outbox and is dropped; it never delays the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import Hashable
from typing import Any

from aiohttp import WSCloseCode, web

OUTBOX_SIZE = 256


class Peer:
    def __init__(self, ws: web.WebSocketResponse, tag: str | None = None) -> None:
        self.ws = ws
        self.tag = tag  # what opened it, e.g. the console session, to close it by
        self._outbox: asyncio.Queue[str] = asyncio.Queue(OUTBOX_SIZE)
        self._writer = asyncio.create_task(self._write())

    def send(self, payload: dict[str, Any] | str) -> bool:
        """Queue a frame; False (and the peer is closed) if it cannot keep up."""
        text = payload if isinstance(payload, str) else json.dumps(payload)
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            asyncio.ensure_future(self.ws.close(code=WSCloseCode.TRY_AGAIN_LATER))
            return False
        return True

    async def _write(self) -> None:
        while True:
            text = await self._outbox.get()
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def close(self) -> None:
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer


class SocketGroups:
    """Open sockets of this hub process, by key (an agent id, a chat visitor)."""

    def __init__(self) -> None:
        self._groups: dict[Hashable, set[Peer]] = defaultdict(set)

    def add(self, key: Hashable, ws: web.WebSocketResponse, tag: str | None = None) -> Peer:
        peer = Peer(ws, tag)
        self._groups[key].add(peer)
        return peer

    async def discard(self, key: Hashable, peer: Peer) -> None:
        group = self._groups.get(key)
        if group is not None:
            group.discard(peer)
            if not group:
                del self._groups[key]
        await peer.close()

    def send(self, key: Hashable, payload: dict[str, Any] | str) -> int:
        """Send to every socket under key (a dict, or JSON text already); how many took it."""
        peers = self._groups.get(key)
        if not peers:
            return 0
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return sum(peer.send(text) for peer in list(peers))

    def __contains__(self, key: Hashable) -> bool:
        return key in self._groups

    def keys(self) -> list[Hashable]:
        return list(self._groups)

    def count(self) -> int:
        return sum(len(peers) for peers in self._groups.values())

    async def close(self, key: Hashable, code: int, reason: bytes) -> None:
        """Close every socket under key, telling each why."""
        for peer in list(self._groups.get(key, ())):
            await peer.ws.close(code=code, message=reason)
            await self.discard(key, peer)

    def tags(self, key: Hashable) -> list[str]:
        """The tags of the sockets under key."""
        return [peer.tag for peer in self._groups.get(key, ()) if peer.tag is not None]

    async def close_tagged(self, key: Hashable, tags: set[str], code: int, reason: bytes) -> None:
        """Close the sockets under key whose tag is one of `tags`, telling each why."""
        for peer in list(self._groups.get(key, ())):
            if peer.tag in tags:
                await peer.ws.close(code=code, message=reason)
                await self.discard(key, peer)

    async def close_all(self) -> None:
        for key, peers in list(self._groups.items()):
            for peer in list(peers):
                await peer.ws.close(code=WSCloseCode.GOING_AWAY, message=b"hub shutting down")
                await self.discard(key, peer)
