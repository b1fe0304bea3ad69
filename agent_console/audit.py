"""The audit log for admins: read it a page at a time, filtered, or download it as CSV.

`GET /api/admin/audit` (query: actor, action, since, until as UTC days, cursor, limit)
answers `AuditPage`; `GET /api/admin/audit.csv` the same lines, oldest first. No route
changes or deletes a line. Handlers elsewhere in the console record what they do with
`record`, inside the transaction that makes the change.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.auth import ADMINS, requires
from agent_console.cursors import CursorError, read_cursor, write_cursor
from agent_console.responses import error
from hub import audit
from hub.api_models.audit import AuditLine, AuditPage, AuditQuery
from hub.keys import SESSIONS
from hub.models import Agent, AuditEntry

__all__ = [
    "AuditLine",
    "AuditPage",
    "AuditQuery",
    "client_address",
    "record",
    "record_done",
    "setup",
]

CSV_BATCH = 1000
CSV_COLUMNS = ("id", "at", "actor_id", "actor", "action", "target", "change", "address")
# A spreadsheet runs a cell starting with these as a formula; a failed login's username
# is anyone's text, so such cells are written with a leading quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def setup(app: web.Application) -> None:
    app.router.add_get("/api/admin/audit", list_audit)
    app.router.add_get("/api/admin/audit.csv", export_audit)


def client_address(request: web.Request) -> str:
    """Where the request came from: the connection's remote address, or behind a load
    balancer named in SWITCHBOARD_TRUSTED_PROXIES the client's own (hub.proxies)."""
    return request.remote or ""


def record(
    session: AsyncSession,
    request: web.Request,
    actor: Agent,
    action: str,
    target: str = "",
    change: dict[str, Any] | None = None,
) -> None:
    """Append what `actor` did to `session`, committed with the change itself."""
    audit.append(
        session,
        action,
        actor=actor,
        address=client_address(request),
        target=target,
        change=change,
    )


async def record_done(
    request: web.Request,
    actor: Agent,
    action: str,
    target: str = "",
    change: dict[str, Any] | None = None,
) -> None:
    """Append what `actor` did, in a transaction of its own: for changes a service
    committed itself (a transfer, an article), recorded once they succeeded."""
    async with request.app[SESSIONS]() as session, session.begin():
        record(session, request, actor, action, target, change)


@requires(ADMINS, refusal="The audit log is for admins.")
async def list_audit(request: web.Request, admin: Agent) -> web.Response:
    query = _query(request)
    statement = _filtered(query).order_by(AuditEntry.id.desc()).limit(query.limit + 1)
    if query.cursor:
        try:
            before = read_cursor(query.cursor, "before")["before"]
        except CursorError as exc:
            raise error(400, f"cursor: {exc}") from None
        statement = statement.where(AuditEntry.id < int(before))
    async with request.app[SESSIONS]() as session:
        rows = list(await session.scalars(statement))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    page = AuditPage(
        entries=[_line(e) for e in rows],
        next_cursor=write_cursor(before=rows[-1].id) if more and rows else None,
    )
    return web.json_response(text=page.model_dump_json())


@requires(ADMINS, refusal="The audit log is for admins.")
async def export_audit(request: web.Request, admin: Agent) -> web.StreamResponse:
    query = _query(request)
    async with request.app[SESSIONS]() as session, session.begin():
        record(session, request, admin, "audit.exported", "audit log", _filters_of(query))
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="audit-log.csv"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    await response.write(_csv_row(CSV_COLUMNS))
    after = 0
    while True:
        statement = _filtered(query).where(AuditEntry.id > after).order_by(AuditEntry.id)
        async with request.app[SESSIONS]() as session:
            batch = list(await session.scalars(statement.limit(CSV_BATCH)))
        for entry in batch:
            await response.write(_csv_row(_csv_values(entry)))
        if len(batch) < CSV_BATCH:
            break
        after = batch[-1].id
    await response.write_eof()
    return response


def _query(request: web.Request) -> AuditQuery:
    try:
        return AuditQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise error(400, f"{where}: {problem['msg']}") from None


def _filtered(query: AuditQuery) -> Select[tuple[AuditEntry]]:
    conditions: list[ColumnElement[bool]] = []
    if query.actor:
        conditions.append(AuditEntry.actor == query.actor)
    if query.action:
        conditions.append(
            or_(AuditEntry.action == query.action, AuditEntry.action.startswith(query.action + "."))
        )
    if query.since:
        conditions.append(AuditEntry.at >= datetime.combine(query.since, time(), UTC))
    if query.until:
        end = datetime.combine(query.until + timedelta(days=1), time(), UTC)
        conditions.append(AuditEntry.at < end)
    return select(AuditEntry).where(*conditions)


def _filters_of(query: AuditQuery) -> dict[str, Any]:
    return query.model_dump(mode="json", exclude={"cursor", "limit"}, exclude_none=True)


def _line(entry: AuditEntry) -> AuditLine:
    return AuditLine(
        id=entry.id,
        at=entry.at,
        actor_id=entry.actor_id,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        change=entry.change,
        address=entry.address,
    )


def _csv_values(entry: AuditEntry) -> tuple[object, ...]:
    change = json.dumps(entry.change, sort_keys=True, ensure_ascii=False)
    return (
        entry.id,
        entry.at.isoformat(),
        entry.actor_id if entry.actor_id is not None else "",
        entry.actor,
        entry.action,
        entry.target,
        change,
        entry.address,
    )


def _csv_row(values: tuple[object, ...]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(
        "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v for v in values
    )
    return out.getvalue().encode()
