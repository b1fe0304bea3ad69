"""`switchboard report voc`: the voice-of-customer report from the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["add_report_command"]

ENV = "SWITCHBOARD_VOC_"


def add_report_command(commands: Any) -> Any:
    """Register `report voc` on the `switchboard` command's subparsers; the `report`
    command's own subparsers are returned, for the hub's other reports."""
    report = commands.add_parser("report", help="write reports from the hub's data")
    kinds = report.add_subparsers(dest="report_kind", required=True)
    voc = kinds.add_parser(
        "voc",
        help="voice of the customer: topics, sentiment, rising topics",
        description="Write a self-contained HTML report of what customers raised, how "
        "they felt and which topics are rising; optionally alert on rising topics.",
    )
    voc.add_argument("--since", default="30d", help="window start: 30d, 12w, 48h or a date")
    voc.add_argument("--out", default="voc-report.html", help="HTML file to write")
    voc.add_argument("--json", metavar="PATH", help="also write the report data as JSON")
    voc.add_argument("--csv", metavar="DIR", help="also write voc-<table>.csv files here")
    voc.add_argument("--topics", type=int, default=12, help="topics to discover (12)")
    voc.add_argument("--taxonomy", metavar="FILE", help="YAML or JSON topics that take precedence")
    voc.add_argument(
        "--embeddings",
        action="store_true",
        help="cluster sentence embeddings (the `embeddings` extra; slower) instead of TF-IDF",
    )
    env = os.environ
    voc.add_argument("--webhook", default=env.get(ENV + "WEBHOOK"), help="alert by POST here")
    voc.add_argument("--alert-email", default=env.get(ENV + "ALERT_EMAIL"), help="alert by mail")
    voc.add_argument("--alert-from", default=env.get(ENV + "ALERT_FROM", "switchboard@localhost"))
    voc.add_argument("--smtp-host", default=env.get(ENV + "SMTP_HOST", "localhost"))
    voc.add_argument("--smtp-port", type=int, default=int(env.get(ENV + "SMTP_PORT", "25")))
    voc.add_argument(
        "--alert-state",
        default=env.get(ENV + "ALERT_STATE", "voc-alerts.json"),
        help="file remembering which episodes were alerted (one alert per episode)",
    )
    voc.add_argument("--quiet", action="store_true", help="no progress on stderr")
    voc.set_defaults(run=run_voc)
    return kinds


def run_voc(args: argparse.Namespace) -> int:
    # Imported here so that other commands do not pay for scikit-learn.
    import asyncio
    import dataclasses

    from hub.settings import Settings
    from insights.embeddings import MiniLmEncoder
    from insights.export import TABLES, report_csv
    from insights.page import render_html
    from insights.progress import Progress
    from insights.report import VocOptions, build_report
    from insights.taxonomy import Taxonomy
    from insights.window import parse_since, start_of_day

    _require_folders(args)
    now = datetime.now(UTC)
    options = VocOptions(
        since=start_of_day(parse_since(args.since, now)),
        until=now,
        n_topics=args.topics,
        taxonomy=Taxonomy.load(Path(args.taxonomy)) if args.taxonomy else None,
        encoder=MiniLmEncoder() if args.embeddings else None,
    )
    progress = Progress(sys.stderr, enabled=not args.quiet)
    contacts, history_from = _load(Settings.from_env().database_url, options.since, progress)
    options = dataclasses.replace(options, history_from=history_from)
    report = build_report(contacts, options, progress)
    Path(args.out).write_text(render_html(report), encoding="utf-8")
    if args.json:
        Path(args.json).write_text(json.dumps(report.as_json(), indent=2), encoding="utf-8")
    if args.csv:
        folder = Path(args.csv)
        folder.mkdir(parents=True, exist_ok=True)
        for table in TABLES:
            (folder / f"voc-{table}.csv").write_text(report_csv(report, table), encoding="utf-8")
    alerted = asyncio.run(_alert(args, list(report.episodes)))
    progress.step("done")
    print(
        f"wrote {args.out}: {report.contacts:,} contacts, {len(report.topics)} topics, "
        f"{len(report.rising)} rising" + (f", {alerted} alerts sent" if alerted else "")
    )
    return 0


def _require_folders(args: argparse.Namespace) -> None:
    """Files go into folders that exist: found out before the report's work, not after."""
    if args.topics < 1:
        raise ValueError("--topics must be at least 1")
    for flag, value in (("--out", args.out), ("--json", args.json)):
        if value is None:
            continue
        path = Path(value)
        if path.is_dir():
            raise ValueError(f"{flag} {value}: that is a folder; name a file in it")
        if not path.parent.is_dir():
            raise ValueError(f"{flag} {value}: the folder {path.parent} does not exist")
    if args.csv and Path(args.csv).exists() and not Path(args.csv).is_dir():
        raise ValueError(f"--csv {args.csv}: that is a file; name a folder")


def _load(url: str, since: datetime, progress: Any) -> tuple[list[Any], datetime | None]:
    """The window's contacts, and where the hub's history begins inside it."""
    from sqlalchemy.ext.asyncio import AsyncEngine

    from hub.cli_database import on_database
    from hub.db import session_factory
    from insights.contacts import history_start, load_contacts

    async def load(engine: AsyncEngine) -> tuple[list[Any], datetime | None]:
        sessions = session_factory(engine)
        contacts = await load_contacts(sessions, since, progress=progress)
        return contacts, await history_start(sessions, since, contacts)

    return on_database(url, load, create=False)


async def _alert(args: argparse.Namespace, episodes: list[Any]) -> int:
    if not (args.webhook or args.alert_email) or not episodes:
        return 0
    import aiohttp
    import aiosmtplib

    from insights.alerts import AlertLedger, EmailSink, WebhookSink, send_alerts

    state = Path(args.alert_state)
    sent, failed = 0, []
    # Each target on its own: one that cannot be reached does not keep the other's alerts.
    if args.alert_email:
        email = EmailSink(args.smtp_host, args.smtp_port, args.alert_from, args.alert_email)
        try:
            sent += len(await send_alerts(episodes, email, AlertLedger.open(state, "email")))
        except (OSError, aiosmtplib.SMTPException) as exc:
            failed.append(f"by email through {args.smtp_host}:{args.smtp_port} ({exc})")
    if args.webhook:
        async with aiohttp.ClientSession() as http:
            hook = WebhookSink(http, args.webhook)
            try:
                sent += len(await send_alerts(episodes, hook, AlertLedger.open(state, "webhook")))
            except (OSError, aiohttp.ClientError) as exc:
                failed.append(f"to {args.webhook} ({exc})")
    if failed:
        raise ValueError(
            f"wrote {args.out}, but could not send alerts "
            + " nor ".join(failed)
            + "; the next run tries again"
        )
    return sent
