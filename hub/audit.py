"""The audit log: who did what to which target, when, and from where.

Each line is added to the session that makes the change it records, so the change and
its line commit together or not at all. Lines are only ever appended: nothing in the hub
updates or deletes them, and the console reads them (`agent_console.audit`) but offers
no way to change them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Agent, AuditEntry

__all__ = ["append"]

MAX_ADDRESS = 64
MAX_TARGET = 200


def append(
    session: AsyncSession,
    action: str,
    *,
    actor: Agent | None,
    address: str,
    target: str = "",
    change: dict[str, Any] | None = None,
    actor_name: str | None = None,
) -> AuditEntry:
    """Add one line to `session`; it is stored when the session commits."""
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor=(actor_name if actor_name is not None else actor.username if actor else "")[:200],
        action=action,
        target=target[:MAX_TARGET],
        change=change or {},
        address=address[:MAX_ADDRESS],
    )
    session.add(entry)
    return entry
