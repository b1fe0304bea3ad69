"""The `switchboard` command: serve, demo, migrate, agent add, kb import, report voc, queue.

Every command reads and writes one database, SWITCHBOARD_DATABASE_URL (`switchboard.db`
in the current folder by default), the demo's included. Each command imports what it
needs when it runs: `--help` and the quick commands do not pay for the web app,
SQLAlchemy or scikit-learn.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from insights.cli import add_report_command
from routing.cli import add_queue_command
from routing.identity.cli import add_customers_command

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from hub.demo import DemoLogin
    from hub.settings import Settings

ROLES = ("agent", "supervisor", "admin", "analyst")
DESCRIPTION = (
    "Switchboard, the contact-center hub. Every command works on one database:"
    " SWITCHBOARD_DATABASE_URL, by default switchboard.db in the current folder"
    " (the one `switchboard demo` fills)."
)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except ValueError as exc:  # an ordinary mistake, worded for the operator where raised
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.filename is None:
            raise
        print(f"switchboard: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, run, help_text in [
        ("serve", _serve, "run the hub (settings from SWITCHBOARD_* variables)"),
        ("demo", _demo, "run the hub, filling an empty database with demo data first"),
    ]:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--host", help="address to listen on (default 127.0.0.1)")
        command.add_argument("--port", type=int, help="HTTP port (default 8080)")
        command.add_argument("--smtp-port", type=int, help="SMTP port for inbound email (2525)")
        command.set_defaults(run=run)
    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(run=_migrate)
    agent = commands.add_parser("agent", help="manage agents").add_subparsers(
        dest="agent_command", required=True
    )
    add = agent.add_parser("add", help="add an agent who can log in to the console")
    add.add_argument("username")
    add.add_argument("--name", default="", help="display name")
    add.add_argument("--role", choices=ROLES, default="agent")
    add.add_argument("--skill", action="append", default=[], metavar="SKILL:LEVEL")
    add.add_argument("--capacity", action="append", default=[], metavar="CHANNEL=N")
    add.add_argument("--language", action="append", default=[], metavar="CODE")
    add.add_argument(
        "--password-env",
        metavar="VAR",
        help="read the password from this environment variable instead of prompting",
    )
    add.set_defaults(run=_agent_add)
    kb = commands.add_parser("kb", help="manage the knowledge base").add_subparsers(
        dest="kb_command", required=True
    )
    kb_import = kb.add_parser(
        "import", help="import a folder of Markdown articles with front matter (re-import updates)"
    )
    kb_import.add_argument("folder")
    kb_import.add_argument("--author", default="import", help="recorded on each saved version")
    kb_import.set_defaults(run=_kb_import)
    add_customers_command(commands)
    _add_ops_report(add_report_command(commands))
    add_queue_command(commands)
    return parser


def _add_ops_report(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ops = kinds.add_parser(
        "ops",
        help="operations: contacts, service level, response times, SLA breaches, CSAT",
        description="Write a self-contained HTML report of how each queue, agent or channel "
        "kept its promises, per hour, day or week in SWITCHBOARD_TIMEZONE (UTC).",
    )
    ops.add_argument("--since", default="7d", help="window start: 7d, 12w, 48h or a date")
    ops.add_argument("--by", choices=("queue", "agent", "channel"), default="queue")
    ops.add_argument("--bucket", choices=("hour", "day", "week"), default="day")
    ops.add_argument("--target", type=float, default=20.0, help="service level target, s")
    ops.add_argument("--out", default="ops-report.html", help="HTML file to write")
    ops.add_argument("--csv", metavar="PATH", help="also write the rows as CSV")
    ops.set_defaults(run=_report_ops)


def _report_ops(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from hub.cli_database import on_database
    from hub.db import session_factory
    from hub.ops_page import render_ops_html
    from hub.ops_report import OpsOptions, OpsRow, ops_csv, ops_report, zone_named
    from hub.settings import Settings
    from insights.window import parse_since

    out = Path(args.out)
    if out.is_dir() or not out.parent.is_dir():
        raise ValueError(f"--out {args.out}: name a file in a folder that exists")
    if args.target <= 0:
        raise ValueError("--target must be above 0 seconds")
    settings = Settings.from_env()
    zone_named(settings.timezone)
    now = datetime.now(UTC)
    options = OpsOptions(
        since=parse_since(args.since, now),
        until=now,
        by=args.by,
        bucket=args.bucket,
        zone=settings.timezone,
        target_seconds=args.target,
    )

    async def load(engine: AsyncEngine) -> list[OpsRow]:
        async with session_factory(engine)() as session:
            return await ops_report(session, options)

    rows = on_database(settings.database_url, load, create=False)
    out.write_text(render_ops_html(rows, options, now), encoding="utf-8")
    if args.csv:
        Path(args.csv).write_text(ops_csv(rows), encoding="utf-8")
    contacts = sum(r.contacts for r in rows)
    print(f"wrote {args.out}: {contacts:,} contacts in {len(rows)} rows")
    return 0


def _settings(args: argparse.Namespace) -> Settings:
    from hub.settings import Settings

    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        smtp_port=getattr(args, "smtp_port", None),
    )


def _database_url() -> str:
    from hub.settings import Settings

    return Settings.from_env().database_url


def _configure_logging() -> None:
    import logging

    level = os.environ.get("SWITCHBOARD_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _serve(args: argparse.Namespace) -> int:
    from hub.cli_database import on_database

    settings = _settings(args)
    _require_ports(settings)

    # A database that cannot be used is one line now, not a failed start-up later.
    on_database(settings.database_url, _nothing, create=settings.migrate_on_start)
    _run(settings, banner=[])
    return 0


async def _nothing(_engine: AsyncEngine) -> None:
    """For commands that only need the database opened (and migrated)."""


def _demo(args: argparse.Namespace) -> int:
    from hub.cli_database import describe, on_database
    from hub.db import session_factory
    from hub.demo import seed

    settings = _settings(args)
    _require_ports(settings)

    async def prepare(engine: AsyncEngine) -> list[DemoLogin]:
        return await seed(session_factory(engine))

    logins = on_database(settings.database_url, prepare, create=True)
    where = describe(settings.database_url)
    if logins:
        banner = [f"Demo logins (password for each: {logins[0].password}):"]
        banner += [f"  {login.username:<8} {login.role}" for login in logins]
    else:
        banner = [f"{where} has agents of its own: no demo data added, sign in as one of them"]
    banner.append(f"Try the customer side: {_base_url(settings)}/chat/demo")
    banner.append(f"Data: {where}; other switchboard commands run here use it too")
    _run(settings, banner)
    return 0


def _require_ports(settings: Settings) -> None:
    from hub.ports import require_free

    require_free(settings.host, settings.port, "HTTP", "choose another with --port")
    require_free(settings.host, settings.smtp_port, "SMTP", "choose another with --smtp-port")


def _base_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    return f"http://{host}:{settings.port}"


def _run(settings: Settings, banner: list[str]) -> None:
    from aiohttp import web

    from hub.app import create_app, freeze_at_start

    _configure_logging()
    lines = [f"Switchboard console: {_base_url(settings)}/console", *banner]
    app = create_app(settings)
    freeze_at_start(app)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=lambda _default: print("\n".join(lines), flush=True),
    )


def _migrate(args: argparse.Namespace) -> int:
    from hub.cli_database import on_database

    on_database(_database_url(), _nothing, create=True)
    print("database schema is up to date")
    return 0


def _agent_add(args: argparse.Namespace) -> int:
    from hub.auth import hash_password
    from hub.cli_database import on_database

    skills = dict(_pair(s, ":", "--skill") for s in args.skill)
    capacities = dict(_pair(c, "=", "--capacity") for c in args.capacity)
    for level in skills.values():
        if not 1 <= level <= 10:
            raise ValueError("skill levels go from 1 to 10")
    password_hash = hash_password(_password(args))

    async def add(engine: AsyncEngine) -> int:
        from sqlalchemy import select

        from hub.db import session_factory
        from hub.models import Agent, AgentSkill

        async with session_factory(engine)() as session, session.begin():
            if await session.scalar(select(Agent.id).where(Agent.username == args.username)):
                raise ValueError(f"an agent named {args.username!r} exists already")
            agent = Agent(
                username=args.username,
                display_name=args.name or args.username,
                password_hash=password_hash,
                role=args.role,
                languages=args.language or ["en"],
                capacities=capacities,
            )
            session.add(agent)
            await session.flush()
            session.add_all(
                AgentSkill(agent_id=agent.id, skill=s, level=v) for s, v in skills.items()
            )
            return agent.id

    agent_id = on_database(_database_url(), add, create=True)
    print(f"added {args.role} {args.username} (id {agent_id})")
    return 0


def _password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_env:
        password = os.environ.get(args.password_env)
        if password is None:
            raise ValueError(f"--password-env {args.password_env}: that variable is not set")
        return password
    if sys.stdin.isatty():
        return getpass.getpass(f"Password for {args.username}: ")
    raise ValueError("no terminal to ask for a password; use --password-env VAR")


def _kb_import(args: argparse.Namespace) -> int:
    from hub.cli_database import on_database
    from hub.db import session_factory
    from knowledge.articles import Articles
    from knowledge.importer import ImportReport, import_folder

    folder = Path(args.folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")

    async def load(engine: AsyncEngine) -> ImportReport:
        return await import_folder(Articles(session_factory(engine)), folder, args.author)

    report = on_database(_database_url(), load, create=True)
    print("\n".join(report.lines()))
    return 1 if report.failed else 0


def _pair(text: str, separator: str, flag: str) -> tuple[str, int]:
    name, found, number = text.partition(separator)
    if not found or not name or not number.isdigit():
        raise ValueError(f"{flag} takes NAME{separator}NUMBER, not {text!r}")
    return name.strip(), int(number)


if __name__ == "__main__":
    sys.exit(main())
