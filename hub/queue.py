"""The live contact queue: who is waiting, and how much work each agent holds.

One interface, two backends: in memory (one hub process) and Redis (many).
The database stays the source of truth; `reset` rebuilds this state from it.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

# One priority step is worth an hour of waiting, so higher priority goes first
# while a long wait still ages a low-priority contact ahead of fresh ones.
PRIORITY_STEP = 3600.0
# The queue of contacts that need no particular skill.
GENERAL_QUEUE = "general"


@dataclass(frozen=True)
class WaitingContact:
    conversation_id: int
    channel: str
    required_skill: str | None
    priority: int
    enqueued_at: float
    declined_by: frozenset[int] = field(default_factory=frozenset)
    customer_id: int | None = None
    language: str = "en"
    min_level: int = 1
    # When it joined the queue it waits in now, if it overflowed there from another.
    entered_at: float | None = None
    # Why it needs this skill, level and priority (routing rules that matched).
    reasons: tuple[str, ...] = ()
    # When one of `declined_by` last declined or missed it (epoch seconds).
    declined_at: float | None = None

    @property
    def score(self) -> float:
        return self.enqueued_at - self.priority * PRIORITY_STEP

    @property
    def queue(self) -> str:
        """The queue it waits in: its skill, or "general"."""
        return self.required_skill or GENERAL_QUEUE

    @property
    def queued_since(self) -> float:
        return self.entered_at if self.entered_at is not None else self.enqueued_at

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "required_skill": self.required_skill,
            "priority": self.priority,
            "enqueued_at": self.enqueued_at,
            "declined_by": sorted(self.declined_by),
            "customer_id": self.customer_id,
            "language": self.language,
            "min_level": self.min_level,
            "entered_at": self.entered_at,
            "reasons": list(self.reasons),
            "declined_at": self.declined_at,
        }
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str | bytes) -> WaitingContact:
        data = json.loads(text)
        data["declined_by"] = frozenset(data["declined_by"])
        data["reasons"] = tuple(data.get("reasons", ()))
        return cls(**data)


# (conversation_id, agent_id, channel, capacity)
Reservation = tuple[int, int, str, int]


class ContactQueue(ABC):
    """Waiting contacts and agent load, with an atomic reserve step."""

    @abstractmethod
    async def push(self, contact: WaitingContact) -> None:
        """Put a contact in line, replacing any entry for the same conversation."""

    @abstractmethod
    async def waiting(self, limit: int = 1000) -> list[WaitingContact]:
        """Waiting contacts, highest effective priority first, FIFO among equals."""

    @abstractmethod
    async def reserve(
        self, conversation_id: int, agent_id: int, channel: str, capacity: int
    ) -> bool:
        """Atomically take a waiting contact for an agent with free capacity; False if not."""

    async def reserve_many(self, reservations: list[Reservation]) -> list[bool]:
        """Reserve several at once, each one atomic on its own; the outcome of each."""
        return [await self.reserve(*r) for r in reservations]

    @abstractmethod
    async def take(self, agent_id: int, channel: str, capacity: int) -> bool:
        """Atomically count one more contact against an agent with free capacity on a
        channel, for work that never waited in line (a conversation the agent starts);
        False, and nothing changes, when they are full."""

    @abstractmethod
    async def release(self, agent_id: int, channel: str) -> None:
        """Give back one unit of an agent's capacity on a channel (never below zero)."""

    @abstractmethod
    async def load(self, agent_id: int) -> dict[str, int]:
        """An agent's current load per channel."""

    async def loads(self, agent_ids: list[int]) -> dict[int, dict[str, int]]:
        """Current load per channel of several agents at once."""
        return {agent_id: await self.load(agent_id) for agent_id in agent_ids}

    @abstractmethod
    async def contains(self, conversation_id: int) -> bool:
        """Whether a contact is still waiting."""

    @abstractmethod
    async def remove(self, conversation_id: int) -> bool:
        """Take a contact out of line; True if it was waiting."""

    @abstractmethod
    async def reset(self, waiting: list[WaitingContact], loads: dict[int, dict[str, int]]) -> None:
        """Replace all live state with what the database says."""

    @abstractmethod
    async def size(self) -> int:
        """How many contacts are waiting."""

    @abstractmethod
    async def intact(self) -> bool:
        """False once the live state was lost (e.g. Redis restarted) and needs a reset."""

    async def claim_rebuild(self) -> bool:
        """Whether this process should rebuild lost state now: one process at a time."""
        return True

    @abstractmethod
    async def waiting_ids(self) -> set[int]:
        """The conversation ids of every waiting contact (for checking against the database)."""

    @abstractmethod
    async def correct_load(self, agent_id: int, channel: str, seen: int, value: int) -> bool:
        """Set an agent's load on a channel to `value` if it is still `seen`; False if it
        changed meanwhile (a reserve or release came first), and nothing is written."""

    async def claim_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Hold the named lease for `seconds` unless another holder has it: one process at
        a time does the work it guards, and another takes over once the holder is gone."""
        return True


class MemoryQueue(ContactQueue):
    """The queue for one hub process; a lock makes reserve atomic."""

    def __init__(self) -> None:
        self._waiting: dict[int, WaitingContact] = {}
        self._loads: dict[int, dict[str, int]] = {}
        self._lock = asyncio.Lock()
        self._built = False

    async def push(self, contact: WaitingContact) -> None:
        async with self._lock:
            self._waiting[contact.conversation_id] = contact

    async def waiting(self, limit: int = 1000) -> list[WaitingContact]:
        ordered = sorted(self._waiting.values(), key=lambda c: (c.score, c.conversation_id))
        return ordered[:limit]

    async def reserve(
        self, conversation_id: int, agent_id: int, channel: str, capacity: int
    ) -> bool:
        async with self._lock:
            return self._take(conversation_id, agent_id, channel, capacity)

    async def reserve_many(self, reservations: list[Reservation]) -> list[bool]:
        async with self._lock:
            return [self._take(*r) for r in reservations]

    async def take(self, agent_id: int, channel: str, capacity: int) -> bool:
        async with self._lock:
            load = self._loads.setdefault(agent_id, {})
            if load.get(channel, 0) >= capacity:
                return False
            load[channel] = load.get(channel, 0) + 1
            return True

    def _take(self, conversation_id: int, agent_id: int, channel: str, capacity: int) -> bool:
        load = self._loads.setdefault(agent_id, {})
        if load.get(channel, 0) >= capacity or conversation_id not in self._waiting:
            return False
        del self._waiting[conversation_id]
        load[channel] = load.get(channel, 0) + 1
        return True

    async def release(self, agent_id: int, channel: str) -> None:
        async with self._lock:
            load = self._loads.setdefault(agent_id, {})
            load[channel] = max(0, load.get(channel, 0) - 1)

    async def load(self, agent_id: int) -> dict[str, int]:
        return {k: v for k, v in self._loads.get(agent_id, {}).items() if v}

    async def contains(self, conversation_id: int) -> bool:
        return conversation_id in self._waiting

    async def remove(self, conversation_id: int) -> bool:
        async with self._lock:
            return self._waiting.pop(conversation_id, None) is not None

    async def reset(self, waiting: list[WaitingContact], loads: dict[int, dict[str, int]]) -> None:
        async with self._lock:
            self._waiting = {c.conversation_id: c for c in waiting}
            self._loads = {agent: dict(load) for agent, load in loads.items()}
            self._built = True

    async def size(self) -> int:
        return len(self._waiting)

    async def intact(self) -> bool:
        return self._built

    async def waiting_ids(self) -> set[int]:
        return set(self._waiting)

    async def correct_load(self, agent_id: int, channel: str, seen: int, value: int) -> bool:
        async with self._lock:
            load = self._loads.setdefault(agent_id, {})
            if load.get(channel, 0) != seen:
                return False
            load[channel] = value
            return True


_RESERVE = """
local used = tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0')
if used >= tonumber(ARGV[3]) then return 0 end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
return 1
"""

_TAKE = """
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
"""

_CORRECT_LOAD = """
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_RELEASE = """
local used = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if used > 0 then redis.call('HINCRBY', KEYS[1], ARGV[1], -1) end
return used
"""


class RedisQueue(ContactQueue):
    """The queue shared by every hub process on one Redis; Lua makes reserve atomic."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._waiting_key = f"{prefix}queue:waiting"
        self._entries_key = f"{prefix}queue:entries"
        self._load_prefix = f"{prefix}load:"
        self._built_key = f"{prefix}queue:built"
        self._rebuilding_key = f"{prefix}queue:rebuilding"
        self._reserve = redis.register_script(_RESERVE)
        self._release = redis.register_script(_RELEASE)
        self._take_free = redis.register_script(_TAKE)
        self._correct_load = redis.register_script(_CORRECT_LOAD)
        self._lease = redis.register_script(_LEASE)
        self._prefix = prefix

    async def push(self, contact: WaitingContact) -> None:
        member = _member(contact.conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._entries_key, member, contact.to_json())
            pipe.zadd(self._waiting_key, {member: contact.score})
            await pipe.execute()

    async def waiting(self, limit: int = 1000) -> list[WaitingContact]:
        members = await self._redis.zrange(self._waiting_key, 0, limit - 1)
        if not members:
            return []
        entries: list[bytes | None] = await self._redis.hmget(  # type: ignore[misc]
            self._entries_key, members
        )
        return [WaitingContact.from_json(e) for e in entries if e is not None]

    async def reserve(
        self, conversation_id: int, agent_id: int, channel: str, capacity: int
    ) -> bool:
        keys = [self._waiting_key, self._entries_key, self._load_key(agent_id)]
        taken = await self._reserve(keys=keys, args=[_member(conversation_id), channel, capacity])
        return bool(taken)

    async def reserve_many(self, reservations: list[Reservation]) -> list[bool]:
        # One round trip; the script still runs atomically once per reservation.
        async with self._redis.pipeline(transaction=False) as pipe:
            for conversation_id, agent_id, channel, capacity in reservations:
                keys = [self._waiting_key, self._entries_key, self._load_key(agent_id)]
                args: list[str | int] = [_member(conversation_id), channel, capacity]
                await self._reserve(keys=keys, args=args, client=pipe)
            results = await pipe.execute()
        return [bool(r) for r in results]

    async def take(self, agent_id: int, channel: str, capacity: int) -> bool:
        keys = [self._load_key(agent_id)]
        return bool(await self._take_free(keys=keys, args=[channel, capacity]))

    async def release(self, agent_id: int, channel: str) -> None:
        await self._release(keys=[self._load_key(agent_id)], args=[channel])

    async def load(self, agent_id: int) -> dict[str, int]:
        raw: dict[bytes, bytes] = await self._redis.hgetall(  # type: ignore[misc]
            self._load_key(agent_id)
        )
        return {_text(k): int(v) for k, v in raw.items() if int(v)}

    async def contains(self, conversation_id: int) -> bool:
        return await self._redis.zscore(self._waiting_key, _member(conversation_id)) is not None

    async def remove(self, conversation_id: int) -> bool:
        member = _member(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._waiting_key, member)
            pipe.hdel(self._entries_key, member)
            removed, _ = await pipe.execute()
        return bool(removed)

    async def reset(self, waiting: list[WaitingContact], loads: dict[int, dict[str, int]]) -> None:
        old_loads = [key async for key in self._redis.scan_iter(match=self._load_prefix + "*")]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._waiting_key, self._entries_key, *old_loads)
            pipe.set(self._built_key, "1")
            for contact in waiting:
                member = _member(contact.conversation_id)
                pipe.hset(self._entries_key, member, contact.to_json())
                pipe.zadd(self._waiting_key, {member: contact.score})
            for agent_id, load in loads.items():
                if load:
                    pipe.hset(self._load_key(agent_id), mapping=load)
            await pipe.execute()

    async def size(self) -> int:
        return int(await self._redis.zcard(self._waiting_key))

    async def intact(self) -> bool:
        return bool(await self._redis.exists(self._built_key))

    async def claim_rebuild(self) -> bool:
        # Two processes resetting one after the other would wipe what the first had
        # routed meanwhile (reserved load, contacts pushed since its read).
        return bool(await self._redis.set(self._rebuilding_key, "1", nx=True, ex=30))

    async def waiting_ids(self) -> set[int]:
        return {int(m) for m in await self._redis.zrange(self._waiting_key, 0, -1)}

    async def loads(self, agent_ids: list[int]) -> dict[int, dict[str, int]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for agent_id in agent_ids:
                pipe.hgetall(self._load_key(agent_id))
            rows: list[dict[bytes, bytes]] = await pipe.execute()
        return {
            agent_id: {_text(k): int(v) for k, v in row.items() if int(v)}
            for agent_id, row in zip(agent_ids, rows, strict=True)
        }

    async def correct_load(self, agent_id: int, channel: str, seen: int, value: int) -> bool:
        keys = [self._load_key(agent_id)]
        return bool(await self._correct_load(keys=keys, args=[channel, seen, value]))

    async def claim_lease(self, name: str, holder: str, seconds: float) -> bool:
        keys = [f"{self._prefix}lease:{name}"]
        return bool(await self._lease(keys=keys, args=[holder, max(1, int(seconds * 1000))]))

    def _load_key(self, agent_id: int) -> str:
        return f"{self._load_prefix}{agent_id}"


def _member(conversation_id: int) -> str:
    # Zero-padded so Redis breaks score ties in id order (9 before 10), like MemoryQueue.
    return f"{conversation_id:020d}"


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
