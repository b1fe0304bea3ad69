"""Agents' console sessions, kept in the database so that they can be ended.

The cookie is `agent_id:issued_at:secret:signature` (signed by `SessionSigner`); the
database keeps a hash of the secret per session. A session holds while its row exists,
the agent is active and the cookie is younger than the hub's session lifetime. Signing
out deletes the row; a password reset or a deactivation deletes all of the agent's.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth import SessionSigner
from hub.db import Sessions
from hub.models import Agent, AgentSession, utcnow

__all__ = ["AgentSessions", "SignedIn", "end_all"]


class SignedIn:
    """Who a good cookie signs in, and which of their sessions it is."""

    __slots__ = ("agent", "session_id")

    def __init__(self, agent: Agent, session_id: str) -> None:
        self.agent = agent
        self.session_id = session_id


class AgentSessions:
    def __init__(self, sessions: Sessions, signer: SessionSigner) -> None:
        self._sessions = sessions
        self._signer = signer

    async def start(self, agent_id: int) -> str:
        """A new session for the agent; the cookie value that names it."""
        secret = secrets.token_urlsafe(24)
        expired = utcnow() - timedelta(seconds=self._signer.max_age)
        async with self._sessions() as session, session.begin():
            # Housekeeping where it costs nothing: the agent's sessions past their lifetime.
            await session.execute(
                delete(AgentSession).where(
                    AgentSession.agent_id == agent_id, AgentSession.created_at < expired
                )
            )
            session.add(AgentSession(id=_session_id(secret), agent_id=agent_id))
        return self._signer.issue(agent_id, secret)

    async def signed_in(self, cookie: str | None) -> SignedIn | None:
        """The active agent a cookie signs in, if its session still holds."""
        signed = self._signer.read(cookie)
        if signed is None:
            return None
        agent_id, secret = signed
        session_id = _session_id(secret)
        async with self._sessions() as session:
            agent = await session.scalar(
                select(Agent)
                .join(AgentSession, AgentSession.agent_id == Agent.id)
                .where(AgentSession.id == session_id, Agent.id == agent_id)
            )
        if agent is None or not agent.active:
            return None
        return SignedIn(agent, session_id)

    async def end(self, cookie: str | None) -> int | None:
        """Sign the cookie's session out; the agent it belonged to, if it held."""
        signed = self._signer.read(cookie)
        if signed is None:
            return None
        agent_id, secret = signed
        async with self._sessions() as session, session.begin():
            await session.execute(
                delete(AgentSession).where(
                    AgentSession.id == _session_id(secret), AgentSession.agent_id == agent_id
                )
            )
        return agent_id

    async def live(self, session_ids: list[str]) -> set[str]:
        """Which of these sessions still hold (their agent active)."""
        if not session_ids:
            return set()
        async with self._sessions() as session:
            rows = await session.scalars(
                select(AgentSession.id)
                .join(Agent, Agent.id == AgentSession.agent_id)
                .where(AgentSession.id.in_(session_ids), Agent.active.is_(True))
            )
            return set(rows)


async def end_all(session: AsyncSession, agent_id: int) -> None:
    """End every session of the agent, in the caller's transaction (a password reset,
    a deactivation): their cookies stop working once it commits."""
    await session.execute(delete(AgentSession).where(AgentSession.agent_id == agent_id))


def _session_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
