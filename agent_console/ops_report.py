"""`GET /api/supervisor/reports/ops`: the operations report (hub.ops_report) as JSON or
CSV, and `/console/reports/ops`, the report as a page with its filters, for supervisors
(their team's work), admins and analysts (who read reports)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from agent_console.audit import record
from agent_console.auth import page_for, requires
from agent_console.teams import team_of
from hub.api_models.reports import OpsQuery
from hub.keys import SESSIONS, SETTINGS
from hub.models import Agent, utcnow
from hub.ops_page import render_ops_html
from hub.ops_report import (
    BUCKETS,
    GROUPS,
    OpsOptions,
    OpsRow,
    ops_csv,
    ops_report,
    zone_named,
)

__all__ = ["setup"]

READERS = ("supervisor", "admin", "analyst")
PAGE_PATH = "/console/reports/ops"
# The page is drawn on the server (a form, tables, an SVG chart): it runs no script.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
    "frame-ancestors 'none'"
)


def setup(app: web.Application) -> None:
    zone_named(app[SETTINGS].timezone)  # a mistyped SWITCHBOARD_TIMEZONE stops the start
    app.router.add_get("/api/supervisor/reports/ops", operations)
    app.router.add_get(PAGE_PATH, operations_page)


@requires(READERS, "Reports are for supervisors, admins and analysts.")
async def operations(request: web.Request, reader: Agent) -> web.Response:
    query = OpsQuery.model_validate(dict(request.query))
    assert query.since is not None and query.until is not None
    options, rows = await _report(request, reader, query)
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


@page_for(READERS, "Reports", "Reports are for supervisors, admins and analysts.")
async def operations_page(request: web.Request, reader: Agent) -> web.Response:
    try:
        query = OpsQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "the period"
        raise web.HTTPBadRequest(text=f"{where}: {problem['msg']}") from None
    options, rows = await _report(request, reader, query)
    return web.Response(
        text=render_ops_html(rows, options, utcnow(), form=_form(query)),
        content_type="text/html",
        charset="utf-8",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _report(
    request: web.Request, reader: Agent, query: OpsQuery
) -> tuple[OpsOptions, list[OpsRow]]:
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
        return options, await ops_report(session, options)


def _form(query: OpsQuery) -> str:
    """The filters, as a GET form back to this page, and the same rows as CSV."""
    assert query.since is not None and query.until is not None

    def choice(name: str, chosen: str, values: tuple[str, ...]) -> str:
        options = "".join(
            f"<option{' selected' if v == chosen else ''}>{escape(v)}</option>" for v in values
        )
        return f'<label>{escape(name)} <select name="{name}">{options}</select></label> '

    def moment(name: str, value: datetime) -> str:
        shown = escape(value.strftime("%Y-%m-%dT%H:%M"))
        field = f'<input type="datetime-local" name="{name}" value="{shown}">'
        return f"<label>{name} (UTC) {field}</label> "

    csv_link = "/api/supervisor/reports/ops?" + urlencode(
        {
            "by": query.by,
            "bucket": query.bucket,
            "target": f"{query.target:g}",
            "since": query.since.isoformat(),
            "until": query.until.isoformat(),
            "format": "csv",
        }
    )
    target = f"{query.target:g}"
    return (
        f'<form method="get" action="{PAGE_PATH}">'
        + choice("by", query.by, GROUPS)
        + choice("bucket", query.bucket, BUCKETS)
        + moment("since", query.since)
        + moment("until", query.until)
        + f'<label>target (s) <input type="number" name="target" min="1" value="{target}">'
        + "</label> "
        + '<button type="submit">Show</button></form>'
        + f'<p><a href="{escape(csv_link)}">Download CSV</a> · '
        + '<a href="/console/reports">Voice of the customer</a></p>'
    )
