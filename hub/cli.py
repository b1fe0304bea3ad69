"""The `switchboard` command: serve, demo, migrate, agent add."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import logging
import os
import sys
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import select

from hub.app import create_app
from hub.auth import hash_password
from hub.db import open_engine, session_factory
from hub.demo import DemoLogin, seed
from hub.migrate import upgrade
from hub.models import Agent, AgentSkill
from hub.settings import Settings

DEMO_DATABASE = "sqlite+aiosqlite:///switchboard-demo.db"
ROLES = ("agent", "supervisor", "admin")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except ValueError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="switchboard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, run, help_text in [
        ("serve", _serve, "run the hub (settings from SWITCHBOARD_* variables)"),
        ("demo", _demo, "run the hub on a demo SQLite database with seeded data"),
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
    return parser


def _settings(args: argparse.Namespace, **defaults: object) -> Settings:
    overrides = {
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "smtp_port": getattr(args, "smtp_port", None),
    }
    settings = Settings.from_env(**overrides)
    for name, value in defaults.items():
        if os.environ.get("SWITCHBOARD_" + name.upper()) is None:
            settings = _replace(settings, **{name: value})
    return settings


def _replace(settings: Settings, **changes: object) -> Settings:
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def _configure_logging() -> None:
    level = os.environ.get("SWITCHBOARD_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _run(settings, banner=[])
    return 0


def _demo(args: argparse.Namespace) -> int:
    settings = _settings(args, database_url=DEMO_DATABASE)
    logins = asyncio.run(_prepare_demo(settings))
    banner = [f"Demo logins (password for each: {logins[0].password}):"]
    banner += [f"  {login.username:<8} {login.role}" for login in logins]
    banner.append(f"Try the customer side: {_base_url(settings)}/chat/demo")
    _run(settings, banner)
    return 0


async def _prepare_demo(settings: Settings) -> list[DemoLogin]:
    engine = open_engine(settings.database_url)
    try:
        await upgrade(engine)
        return await seed(session_factory(engine))
    finally:
        await engine.dispose()


def _base_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    return f"http://{host}:{settings.port}"


def _run(settings: Settings, banner: list[str]) -> None:
    _configure_logging()
    lines = [f"Switchboard console: {_base_url(settings)}/console", *banner]
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=lambda _default: print("\n".join(lines), flush=True),
    )


def _migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()

    async def run() -> None:
        engine = open_engine(settings.database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("database schema is up to date")
    return 0


def _agent_add(args: argparse.Namespace) -> int:
    skills = dict(_pair(s, ":", "--skill") for s in args.skill)
    capacities = dict(_pair(c, "=", "--capacity") for c in args.capacity)
    for level in skills.values():
        if not 1 <= level <= 10:
            raise ValueError("skill levels go from 1 to 10")
    if args.password_env:
        password = os.environ.get(args.password_env, "")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.username}: ")
    else:
        raise ValueError("no terminal to ask for a password; use --password-env VAR")
    password_hash = hash_password(password)
    settings = Settings.from_env()

    async def run() -> int:
        engine = open_engine(settings.database_url)
        try:
            await upgrade(engine)
            sessions = session_factory(engine)
            async with sessions() as session, session.begin():
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
        finally:
            await engine.dispose()

    agent_id = asyncio.run(run())
    print(f"added {args.role} {args.username} (id {agent_id})")
    return 0


def _pair(text: str, separator: str, flag: str) -> tuple[str, int]:
    name, found, number = text.partition(separator)
    if not found or not name or not number.isdigit():
        raise ValueError(f"{flag} takes NAME{separator}NUMBER, not {text!r}")
    return name.strip(), int(number)


if __name__ == "__main__":
    sys.exit(main())
