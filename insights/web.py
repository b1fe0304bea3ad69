"""`GET /api/reports/voc`: the report's data as JSON or CSV, and `/console/reports`, the
report as a page, for supervisors, admins and analysts (who read reports and nothing else).

When an alert email or webhook is configured, the hub also runs the VoC rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import select

from hub import audit
from hub.auth import COOKIE_NAME, LOGIN_PATH, REPORTS_PATH
from hub.keys import AGENT_SESSIONS, SESSIONS, SETTINGS
from hub.models import Agent

__all__ = ["REPORT_ROLES", "setup"]

REPORT_ROLES = frozenset({"supervisor", "admin", "analyst"})


def setup(app: web.Application, redis: web.AppKey[Redis] | None = None) -> None:
    """The report API; and, when an email or webhook is configured, the hub's VoC rounds."""
    app.router.add_get("/api/reports/voc", voc_report)
    app.router.add_get(REPORTS_PATH, report_page)
    settings = app[SETTINGS]
    if settings.voc_webhook or (settings.voc_report_to and settings.smtp_relay_host):
        app.cleanup_ctx.append(_rounds(redis))


def _rounds(
    redis: web.AppKey[Redis] | None,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def rounds(app: web.Application) -> AsyncIterator[None]:
        from insights.alerts import AlertSink, EmailSink, WebhookSink
        from insights.rounds import Claims, Mailer, MemoryClaims, RedisClaims, VocRounds

        settings = app[SETTINGS]
        claims: Claims = MemoryClaims()
        if redis is not None and redis in app:
            claims = RedisClaims(app[redis], settings.redis_prefix)
        async with aiohttp.ClientSession() as http:
            sinks: list[AlertSink] = []
            mailer = None
            if settings.voc_webhook:
                sinks.append(WebhookSink(http, settings.voc_webhook))
            if settings.voc_report_to and settings.smtp_relay_host:
                relay = (settings.smtp_relay_host, settings.smtp_relay_port)
                login = (settings.smtp_relay_user, settings.smtp_relay_password)
                sender, to = settings.voc_report_from, settings.voc_report_to
                sinks.append(EmailSink(*relay, sender, to, *login))
                mailer = Mailer(*relay, sender, to, *login)
            voc = VocRounds(app[SESSIONS], claims, sinks, mailer, settings.voc_interval)
            task = asyncio.create_task(voc.run())
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return rounds


async def report_page(request: web.Request) -> web.Response:
    """The report as a page (query: since, topics): strangers sign in first; a role that
    reads no reports is told so."""
    signed_in = await request.app[AGENT_SESSIONS].signed_in(request.cookies.get(COOKIE_NAME))
    if signed_in is None:
        raise web.HTTPSeeOther(LOGIN_PATH)
    if signed_in.agent.role not in REPORT_ROLES:
        raise _error(403, "Reports are for supervisors, admins and analysts.")
    return await _answer(request, signed_in.agent, "html")


async def voc_report(request: web.Request) -> web.Response:
    """Query: since (30d), format (json | csv | html), table (for csv), topics (12)."""
    reporter = await _require_reporter(request)
    return await _answer(request, reporter, request.query.get("format", "json"))


async def _answer(request: web.Request, reporter: Agent, output: str) -> web.Response:
    # Imported on first use: the hub starts without loading scikit-learn.
    from insights.contacts import history_start, load_contacts
    from insights.export import TABLES, report_csv
    from insights.page import CSP, render_html
    from insights.report import VocOptions, build_report
    from insights.window import parse_since, start_of_day

    query = request.query
    table = query.get("table", "topics")
    if output not in ("json", "csv", "html") or table not in TABLES:
        raise _error(400, f"format is json, csv or html; table is one of {', '.join(TABLES)}.")
    now = datetime.now(UTC)
    try:
        topics = int(query.get("topics", "12"))
        if not 1 <= topics <= 100:
            raise ValueError("topics goes from 1 to 100")
        options = VocOptions(
            since=start_of_day(parse_since(query.get("since", "30d"), now)),
            until=now,
            n_topics=topics,
        )
    except ValueError as exc:
        raise _error(400, str(exc)) from None
    team = await _team_of(request, reporter)
    contacts = await load_contacts(request.app[SESSIONS], options.since, now, agent_ids=team)
    history_from = await history_start(request.app[SESSIONS], options.since, contacts)
    options = dataclasses.replace(options, history_from=history_from)
    # The analysis is CPU-bound: keep the event loop answering other requests meanwhile.
    report = await asyncio.to_thread(build_report, contacts, options)
    if output == "csv":
        async with request.app[SESSIONS]() as session, session.begin():
            audit.append(
                session,
                "report.exported",
                actor=reporter,
                address=request.remote or "",
                target=f"voice-of-customer {table}",
                change={"since": options.since.isoformat(), "topics": topics},
            )
        return web.Response(
            text=report_csv(report, table),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="voc-{table}.csv"'},
        )
    if output == "html":
        return web.Response(
            text=render_html(report),
            content_type="text/html",
            charset="utf-8",
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": f"{CSP}; frame-ancestors 'none'",
                "X-Content-Type-Options": "nosniff",
            },
        )
    return web.json_response(report.as_json(), headers={"Cache-Control": "no-store"})


async def _require_reporter(request: web.Request) -> Agent:
    """The logged-in agent, if their role may read reports: 401 otherwise, or 403."""
    signed_in = await request.app[AGENT_SESSIONS].signed_in(request.cookies.get(COOKIE_NAME))
    if signed_in is None:
        raise _error(401, "Log in first.")
    agent = signed_in.agent
    if agent.role not in REPORT_ROLES:
        raise _error(403, "Reports are for supervisors, admins and analysts.")
    return agent


async def _team_of(request: web.Request, reporter: Agent) -> set[int] | None:
    """The console's team rule: a supervisor or analyst with a team reads only what their
    team handled (and what still waits); admins, and the others without a team, read all."""
    if reporter.role == "admin" or not reporter.team:
        return None
    async with request.app[SESSIONS]() as session:
        return set(await session.scalars(select(Agent.id).where(Agent.team == reporter.team)))


def _error(status: int, message: str) -> web.HTTPError:
    error_class = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized}.get(
        status, web.HTTPForbidden
    )
    return error_class(text=json.dumps({"error": message}), content_type="application/json")
