"""The operations report: how the contact center kept its promises, per queue, agent or
channel, by hour, day or week in the company's time zone.

Every figure belongs to the bucket in which its conversation was created (a cohort):
- contacts: conversations created; answered: those an agent accepted (first accept);
  abandoned: those the customer left while waiting.
- service level: answered within the target / (answered + abandoned), as routing.stats
  counts it; speed of answer: from arrival (or the team's opening, `waits_from`) to the
  first accept.
- first response: the first agent reply after the customer's first message;
  resolution: creation to close; handle time: first accept to close (closed ones).
- SLA breaches: conversations with any target breached (conversation_sla);
  CSAT: the ratings their customers gave (count and mean).

Counting happens in the database: a few GROUP BY queries return sums and counts per
(bucket, key), which are joined here; the rows are aggregates, so that stays small.
Buckets on PostgreSQL are exact in any zone, across daylight-saving changes
(date_trunc over the local time). SQLite has no time zones: it groups by UTC hour and
the hours are put into local buckets here, which is exact for zones whose offsets are
whole hours (not, say, India's +05:30, whose local hours straddle two UTC hours).
Buckets are named by their local start: the hour repeated when clocks go back in autumn
is one bucket of two hours, labelled with the first of them.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    case,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from hub.models import Agent, Conversation, ConversationSla, Message, Offer, Survey

__all__ = [
    "BUCKETS",
    "GROUPS",
    "OpsOptions",
    "OpsRow",
    "ops_csv",
    "ops_report",
    "totals",
    "zone_named",
]

ZONE_NAME = re.compile(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*")
GROUPS = ("queue", "agent", "channel")
BUCKETS = ("hour", "day", "week")
GENERAL = "general"  # the queue of conversations that need no particular skill
Group = Literal["queue", "agent", "channel"]
Bucket = Literal["hour", "day", "week"]


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone of that name; ValueError naming it otherwise."""
    try:
        if not ZONE_NAME.fullmatch(name):  # it is written into SQL: names only
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name like Europe/Berlin"
        ) from None


@dataclass(frozen=True)
class OpsOptions:
    since: datetime
    until: datetime
    by: Group = "queue"
    bucket: Bucket = "day"
    zone: str = "UTC"
    target_seconds: float = 20.0
    # A supervisor's team: only what they handled (and, per queue or channel, what no
    # agent took: waiting work belongs to no team). None: everything.
    agent_ids: frozenset[int] | None = None


@dataclass
class OpsRow:
    """Sums and counts for one (bucket, key); the averages are derived from them."""

    bucket: datetime  # the bucket's start, local time with its offset
    key: int | str | None
    label: str = ""
    contacts: int = 0
    answered: int = 0
    answered_in_target: int = 0
    abandoned: int = 0
    answer_seconds: float = 0.0
    first_responses: int = 0
    first_response_seconds: float = 0.0
    resolved: int = 0
    resolution_seconds: float = 0.0
    handled: int = 0
    handle_seconds: float = 0.0
    sla_breaches: int = 0
    ratings: int = 0
    rating_points: float = 0.0

    def add(self, other: OpsRow) -> None:
        for f in fields(self):
            if f.name not in ("bucket", "key", "label"):
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    @property
    def service_level(self) -> float | None:
        offered = self.answered + self.abandoned
        return _ratio(self.answered_in_target, offered)

    def as_json(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket.isoformat(),
            "key": self.key,
            "label": self.label,
            "contacts": self.contacts,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "service_level": self.service_level,
            "average_speed_of_answer": _ratio(self.answer_seconds, self.answered),
            "average_first_response": _ratio(self.first_response_seconds, self.first_responses),
            "average_resolution": _ratio(self.resolution_seconds, self.resolved),
            "average_handle": _ratio(self.handle_seconds, self.handled),
            "sla_breaches": self.sla_breaches,
            "csat_answers": self.ratings,
            "csat_average": _ratio(self.rating_points, self.ratings),
        }


COLUMNS = (
    "bucket",
    "key",
    "label",
    "contacts",
    "answered",
    "abandoned",
    "service_level",
    "average_speed_of_answer",
    "average_first_response",
    "average_resolution",
    "average_handle",
    "sla_breaches",
    "csat_answers",
    "csat_average",
)


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


async def ops_report(session: AsyncSession, options: OpsOptions) -> list[OpsRow]:
    """The report's rows, by bucket then label."""
    zone = zone_named(options.zone)
    dialect = session.bind.dialect.name
    report = _Assembly(options, zone, dialect)
    if dialect == "postgresql":
        # These few big scans cost PostgreSQL's planner enough to compile them (JIT),
        # which took longer than the scans themselves in the benchmark.
        # And their sorts and hashes are kept in memory rather than spilled to disk.
        await session.execute(text("SET LOCAL jit = off"))
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
    for query, columns in report.queries():
        for found in (await session.execute(query)).all():
            report.take(found, columns)
    rows = list(report.rows.values())
    if options.by == "agent":
        names = await _agent_names(session, {r.key for r in rows})
        for row in rows:
            row.label = names.get(row.key, "nobody") if row.key is not None else "nobody"
    else:
        for row in rows:
            row.label = str(row.key)
    rows.sort(key=lambda r: (r.bucket, r.label))
    return rows


def totals(rows: Iterable[OpsRow]) -> list[OpsRow]:
    """One row per key over the whole period (its bucket: the first one's)."""
    merged: dict[Any, OpsRow] = {}
    for row in rows:
        if row.key not in merged:
            merged[row.key] = OpsRow(row.bucket, row.key, row.label)
        merged[row.key].add(row)
    return sorted(merged.values(), key=lambda r: (-r.contacts, r.label))


def ops_csv(rows: Iterable[OpsRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows:
        data = row.as_json()
        writer.writerow(["" if data[c] is None else data[c] for c in COLUMNS])
    return out.getvalue()


@dataclass
class _Assembly:
    options: OpsOptions
    zone: ZoneInfo
    dialect: str
    rows: dict[tuple[datetime, Any], OpsRow] = field(default_factory=dict)

    def queries(self) -> list[tuple[Select[Any], tuple[str, ...]]]:
        c = Conversation
        bucket, key = self._bucket(), self._key()
        answers = (
            select(Offer.conversation_id, func.min(Offer.decided_at).label("at"))
            .where(Offer.status == "accepted")
            .group_by(Offer.conversation_id)
            .subquery()
        )
        speed = self._seconds(answers.c.at, func.coalesce(c.waits_from, c.created_at))
        closed = c.status == "closed"
        # One pass over the messages: each conversation's first customer message and
        # first agent reply. Where the agent wrote first (outreach), the first reply
        # after the customer's message is looked up for that conversation alone.
        firsts = (
            select(
                Message.conversation_id,
                func.min(Message.created_at).filter(Message.direction == "incoming").label("i"),
                func.min(Message.created_at).filter(Message.direction == "outgoing").label("o"),
            )
            # A conversation's messages come after its creation: the older ones are
            # skipped without a join (the margin is for clocks that disagree); which
            # conversations count, the outer query decides.
            .where(Message.created_at >= self.options.since - timedelta(days=1))
            .group_by(Message.conversation_id)
            .cte("firsts")
        )
        if self.dialect == "postgresql":
            # Counted once, in parallel workers; otherwise the planner had every worker
            # count all the messages again on the inner side of its parallel join.
            firsts = firsts.prefix_with("MATERIALIZED")
        later = aliased(Message)
        after_outreach = (
            select(func.min(later.created_at))
            .where(
                later.conversation_id == firsts.c.conversation_id,
                later.direction == "outgoing",
                later.created_at >= firsts.c.i,
            )
            .scalar_subquery()
        )
        reply = case((firsts.c.o >= firsts.c.i, firsts.c.o), else_=after_outreach)
        replied = (
            select(
                firsts.c.conversation_id,
                self._seconds(reply, firsts.c.i).label("wait"),
            )
            .where(firsts.c.i.is_not(None), firsts.c.o.is_not(None))
            .subquery()
        )
        sla = ConversationSla
        breached = or_(
            sla.first_response_breached_at.is_not(None),
            sla.next_response_breached_at.is_not(None),
            sla.resolution_breached_at.is_not(None),
        )

        def grouped(*measures: Any) -> Select[Any]:
            return select(bucket, key, *measures).where(*self._scope()).group_by(bucket, key)

        return [
            (
                grouped(
                    func.count(),
                    func.sum(case((c.status == "abandoned", 1), else_=0)),
                    func.sum(case((closed, 1), else_=0)),
                    func.sum(case((closed, self._seconds(c.closed_at, c.created_at)), else_=0)),
                ),
                ("contacts", "abandoned", "resolved", "resolution_seconds"),
            ),
            (
                grouped(
                    func.count(),
                    func.sum(speed),
                    func.sum(case((speed <= self.options.target_seconds, 1), else_=0)),
                    func.sum(case((closed, 1), else_=0)),
                    func.sum(case((closed, self._seconds(c.closed_at, answers.c.at)), else_=0)),
                ).join(answers, answers.c.conversation_id == c.id),
                ("answered", "answer_seconds", "answered_in_target", "handled", "handle_seconds"),
            ),
            (
                grouped(func.count(replied.c.wait), func.sum(replied.c.wait)).join(
                    replied, replied.c.conversation_id == c.id
                ),
                ("first_responses", "first_response_seconds"),
            ),
            (
                grouped(func.count()).join(sla, sla.conversation_id == c.id).where(breached),
                ("sla_breaches",),
            ),
            (
                grouped(func.count(), func.sum(Survey.rating))
                .join(Survey, Survey.conversation_id == c.id)
                .where(Survey.rating.is_not(None)),
                ("ratings", "rating_points"),
            ),
        ]

    def take(self, found: Any, columns: tuple[str, ...]) -> None:
        raw_bucket, key, *values = found
        start = self._local_start(raw_bucket)
        row = self.rows.get((start, key))
        if row is None:
            row = self.rows[(start, key)] = OpsRow(start, key)
        for name, value in zip(columns, values, strict=True):
            kind = type(getattr(row, name))
            setattr(row, name, getattr(row, name) + kind(value or 0))

    def _scope(self) -> list[ColumnElement[bool]]:
        c = Conversation
        where = [c.created_at >= self.options.since, c.created_at < self.options.until]
        team = self.options.agent_ids
        if team is not None:
            mine = c.agent_id.in_(sorted(team))
            where.append(mine if self.options.by == "agent" else or_(mine, c.agent_id.is_(None)))
        return where

    def _key(self) -> SQLColumnExpression[Any]:
        c = Conversation
        if self.options.by == "agent":
            return c.agent_id
        if self.options.by == "queue":
            return func.coalesce(c.required_skill, GENERAL)
        return c.channel

    def _bucket(self) -> ColumnElement[Any]:
        if self.dialect == "postgresql":
            # Times are stored as UTC without a zone: read them as UTC, then as local time.
            # The zone and unit are checked names, written into the SQL so that the
            # SELECT and GROUP BY expressions are the same text for PostgreSQL.
            zone: ColumnElement[Any] = literal_column(f"'{self.zone.key}'")
            local = func.timezone(
                zone, func.timezone(literal_column("'UTC'"), Conversation.created_at)
            )
            return func.date_trunc(literal_column(f"'{self.options.bucket}'"), local)
        return func.strftime(literal_column("'%Y-%m-%d %H:00:00'"), Conversation.created_at)

    def _seconds(self, later: Any, earlier: Any) -> ColumnElement[Any]:
        if self.dialect == "postgresql":
            return func.extract("epoch", later - earlier)
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0

    def _local_start(self, raw: Any) -> datetime:
        if self.dialect == "postgresql":
            return raw.replace(tzinfo=self.zone)  # type: ignore[no-any-return]
        local = datetime.fromisoformat(raw).replace(tzinfo=UTC).astimezone(self.zone)
        start = local.replace(minute=0, second=0, microsecond=0, tzinfo=None)
        if self.options.bucket != "hour":
            start = start.replace(hour=0)
        if self.options.bucket == "week":
            start -= timedelta(days=start.weekday())
        return start.replace(tzinfo=self.zone)


async def _agent_names(session: AsyncSession, agent_ids: set[Any]) -> dict[Any, str]:
    ids = [a for a in agent_ids if a is not None]
    if not ids:
        return {}
    found = await session.execute(
        select(Agent.id, Agent.display_name, Agent.username).where(Agent.id.in_(ids))
    )
    return {agent_id: name or username for agent_id, name, username in found}
