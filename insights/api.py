"""`GET /api/v1/reports/voice-of-customer`: the voice-of-customer report for an
integration (a data warehouse, a BI tool) with a token holding `reports:read`: each
topic's contacts, share, sentiment, whether it is rising, and its customers' ratings.

Floor-wide, as an admin reads it at /console/reports; the token check is the one every
/api/v1 route makes (hub.api_bearer), the answer's shape hub.api_models.reports.VocReportOut,
which the OpenAPI document lists.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math

from aiohttp import web

from hub.api_bearer import scoped
from hub.api_models.reports import LONGEST_PERIOD, VocCsat, VocQuery, VocReportOut, VocTopicOut
from hub.api_tokens import TokenHolder
from hub.inputs import BadInput
from hub.keys import SESSIONS
from hub.models import utcnow

__all__ = ["PATH", "setup"]

PATH = "/api/v1/reports/voice-of-customer"


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, voice_of_customer)


@scoped("reports:read")
async def voice_of_customer(request: web.Request, token: TokenHolder) -> web.Response:
    # Imported on first use: the hub starts without loading scikit-learn.
    from insights.contacts import history_start, load_contacts
    from insights.report import VocOptions, build_report
    from insights.window import parse_since

    query = VocQuery.model_validate(dict(request.query))
    now = utcnow()
    until = query.until or now
    if until > now:
        raise BadInput("until", "is in the future.")
    try:
        since = parse_since(query.since, until)
    except ValueError as exc:
        raise BadInput("since", str(exc).removeprefix("--since ")) from None
    if until - since > LONGEST_PERIOD:
        raise BadInput("since", "the period is a year at most.")
    sessions = request.app[SESSIONS]
    contacts = await load_contacts(sessions, since, until)
    options = VocOptions(since=since, until=until, n_topics=query.topics)
    options = dataclasses.replace(
        options, history_from=await history_start(sessions, since, contacts)
    )
    # The analysis is CPU-bound: keep the event loop answering other requests meanwhile.
    report = await asyncio.to_thread(build_report, contacts, options)
    body = VocReportOut(
        since=report.since,
        until=report.until,
        contacts=report.contacts,
        topics=[
            VocTopicOut(
                name=topic.name,
                source=topic.source,  # type: ignore[arg-type]  # validated by pydantic
                key_phrases=list(topic.key_phrases),
                count=topic.contacts,
                share=round(topic.share, 4),
                sentiment=round(topic.sentiment, 4),
                negative_share=round(topic.negative_share, 4),
                rising=topic.rising,
                growth_7d=None if math.isinf(topic.growth) else round(topic.growth, 3),
                csat=VocCsat(
                    answers=topic.csat.answers,
                    csat=_rounded(topic.csat.satisfied_share),
                    average=_rounded(topic.csat.average),
                ),
            )
            for topic in report.topics
        ],
        rising=[topic.name for topic in report.rising],
    )
    return web.json_response(text=body.model_dump_json(), headers={"Cache-Control": "no-store"})


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
