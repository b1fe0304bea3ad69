"""`switchboard queue`: set and list queue limits from the command line."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_queue_command"]

CHANNELS = ("chat", "email", "sms", "voice")


def add_queue_command(commands: Any) -> None:
    """Register `queue set` and `queue list` on the `switchboard` command's subparsers."""
    queue = commands.add_parser("queue", help="queue limits: length, time to wait, overflow")
    actions = queue.add_subparsers(dest="queue_command", required=True)
    put = actions.add_parser("set", help="set a queue's limits (options left out: no limit)")
    put.add_argument("name", help='the queue: a skill, or "general"')
    put.add_argument(
        "--channel", choices=CHANNELS, help="only for this channel (default: every channel)"
    )
    put.add_argument("--max-waiting", type=int, metavar="N", help="at most N waiting")
    put.add_argument("--max-wait", type=int, metavar="SECONDS", help="at most this long")
    put.add_argument("--overflow", metavar="QUEUE", help="where contacts past a limit go")
    listing = actions.add_parser("list", help="every queue's limits")
    for action in (put, listing):
        action.set_defaults(run=run_queue)


def run_queue(args: argparse.Namespace) -> int:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from hub.cli_database import on_database
    from hub.db import session_factory
    from hub.settings import Settings
    from routing.limits import Limit, load_limits, set_limit

    for flag in ("max_waiting", "max_wait"):
        if (getattr(args, flag, None) or 0) < 0:
            raise ValueError(f"--{flag.replace('_', '-')} cannot be negative")
    if args.queue_command == "set" and args.overflow == args.name:
        raise ValueError(f"--overflow {args.overflow}: a queue cannot overflow into itself")

    async def run(engine: AsyncEngine) -> list[str]:
        async with session_factory(engine)() as session, session.begin():
            if args.queue_command == "set":
                limit = Limit(
                    args.name, args.channel, args.max_waiting, args.max_wait, args.overflow
                )
                await set_limit(session, limit)
            limits = await load_limits(session)
        return [_line(limits[key]) for key in sorted(limits, key=lambda k: (k[0], k[1] or ""))]

    # Setting a limit may start the database; listing never creates one.
    creates = args.queue_command == "set"
    lines = on_database(Settings.from_env().database_url, run, create=creates)
    print("\n".join(lines) or "no queue limits")
    return 0


def _line(limit: Any) -> str:
    where = f"{limit.name} ({limit.channel})" if limit.channel else limit.name
    parts = [
        f"max waiting {limit.max_waiting}" if limit.max_waiting is not None else "",
        f"max wait {limit.max_wait_seconds} s" if limit.max_wait_seconds is not None else "",
        f"overflow to {limit.overflow_queue}" if limit.overflow_queue else "no overflow",
    ]
    return f"{where}: " + ", ".join(p for p in parts if p)
