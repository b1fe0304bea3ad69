"""/api/v1/reports: what supervisors read in the console, for a data warehouse or a wall
display, with a token holding `reports:read`: the queue statistics (live waits, service
level, abandon rate, staffing) and CSAT by agent, queue or channel. The figures are the
console's own (routing.stats, agent_console.surveys), floor-wide as an admin sees them."""

from __future__ import annotations

from aiohttp import web

from agent_console.api_v1.bearer import scoped
from agent_console.supervisor import stats_asked
from agent_console.surveys import csat_report
from hub.api_models.reports import CsatQuery, CsatReport, QueueStatsOut
from hub.api_tokens import TokenHolder
from hub.keys import SESSIONS

__all__ = ["setup"]


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/reports/queues", queue_report)
    app.router.add_get("/api/v1/reports/csat", csat)


@scoped("reports:read")
async def queue_report(request: web.Request, token: TokenHolder) -> web.Response:
    body = QueueStatsOut.model_validate((await stats_asked(request)).to_json())
    return web.json_response(text=body.model_dump_json())


@scoped("reports:read")
async def csat(request: web.Request, token: TokenHolder) -> web.Response:
    query = CsatQuery.model_validate(dict(request.query))
    async with request.app[SESSIONS]() as session:
        report = CsatReport.model_validate(await csat_report(session, query))
    return web.json_response(text=report.model_dump_json())
