"""`GET /api/supervisor/reports/ops`: the operations report (hub.ops_report) as JSON or
CSV, for supervisors (their team's work), admins and analysts (who read reports)."""

from __future__ import annotations

from aiohttp import web

from agent_console.audit import record
from agent_console.auth import requires
from agent_console.teams import team_of
from hub.api_models.reports import OpsQuery
from hub.keys import SESSIONS, SETTINGS
from hub.models import Agent
from hub.ops_report import OpsOptions, ops_csv, ops_report, zone_named

__all__ = ["setup"]

READERS = ("supervisor", "admin", "analyst")


def setup(app: web.Application) -> None:
    zone_named(app[SETTINGS].timezone)  # a mistyped SWITCHBOARD_TIMEZONE stops the start
    app.router.add_get("/api/supervisor/reports/ops", operations)


@requires(READERS, "Reports are for supervisors, admins and analysts.")
async def operations(request: web.Request, reader: Agent) -> web.Response:
    query = OpsQuery.model_validate(dict(request.query))
    assert query.since is not None and query.until is not None
    async with request.app[SESSIONS]() as session:
        team = await team_of(session, reader) if reader.role != "admin" else None
        options = OpsOptions(
            since=query.since,
            until=query.until,
            by=query.by,
            bucket=query.bucket,
            zone=request.app[SETTINGS].timezone,
            target_seconds=query.target,
            agent_ids=None if team is None else frozenset(team),
        )
        rows = await ops_report(session, options)
    if query.format == "csv":
        async with request.app[SESSIONS]() as session, session.begin():
            change = {"since": query.since.isoformat(), "until": query.until.isoformat()}
            record(session, request, reader, "report.exported", f"operations by {query.by}", change)
        return web.Response(
            text=ops_csv(rows),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="ops-{query.by}.csv"'},
        )
    return web.json_response(
        {
            "by": query.by,
            "bucket": query.bucket,
            "time_zone": options.zone,
            "target_seconds": query.target,
            "since": query.since.isoformat(),
            "until": query.until.isoformat(),
            "rows": [r.as_json() for r in rows],
        },
        headers={"Cache-Control": "no-store"},
    )
