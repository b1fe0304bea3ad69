"""`switchboard customers`: import a CSV file, list and merge duplicates, undo a merge."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

    from routing.identity.csv_file import CsvFile

__all__ = ["add_customers_command"]

FORMATS = ("text", "csv", "json")
ROW_FIELDS = ("row", "outcome", "customer_id", "matched_by", "probability", "message")
PAIR_FIELDS = (
    "first_id",
    "first_external_id",
    "first_name",
    "second_id",
    "second_external_id",
    "second_name",
    "probability",
    "action",
)


def add_customers_command(commands: Any) -> None:
    """Register `customers import|dedupe|merge|unmerge` on the `switchboard` subparsers."""
    customers = commands.add_parser("customers", help="import, deduplicate and merge customers")
    actions = customers.add_subparsers(dest="customers_command", required=True)
    load = actions.add_parser("import", help="upsert customers from a CSV file")
    load.add_argument(
        "file", type=Path, help="columns: external_id, name, email, phone, birth_date, ..."
    )
    load.add_argument(
        "--report", type=Path, metavar="FILE.csv", help="write every row's outcome to FILE.csv"
    )
    load.add_argument(
        "--link-above",
        type=_probability,
        metavar="P",
        help="update a customer matched by name and details with probability P or more"
        " (default: only external id, phone and email update; other matches are flagged)",
    )
    dedupe = actions.add_parser("dedupe", help="list likely duplicate customers, ranked")
    dedupe.add_argument(
        "--min-probability",
        type=_probability,
        default=0.9,
        metavar="P",
        help="list pairs at or above probability P (default 0.9)",
    )
    dedupe.add_argument(
        "--merge-above",
        type=_probability,
        metavar="P",
        help="merge pairs at or above probability P (never one unmerged or marked not the same)",
    )
    for action in (load, dedupe):
        action.add_argument("--region", default="US", help="country of numbers without +code")
        action.add_argument(
            "--format",
            choices=FORMATS,
            default="text",
            help="text: counts and problems; csv or json: one record per row or pair",
        )
    merge = actions.add_parser("merge", help="merge OTHER into SURVIVOR (undoable)")
    merge.add_argument("survivor", type=int)
    merge.add_argument("other", type=int)
    undo = actions.add_parser("unmerge", help="undo a merge by its id")
    undo.add_argument("merge_id", type=int)
    for action in (load, dedupe, merge, undo):
        action.set_defaults(run=run_customers)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 0 to 1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a probability from 0 to 1")
    return value


def run_customers(args: argparse.Namespace) -> int:
    from hub.cli_database import on_database
    from hub.db import session_factory
    from hub.settings import Settings
    from routing.identity import importing, merge

    rows = read_file(args.file) if args.customers_command == "import" else None

    async def run(engine: AsyncEngine) -> tuple[list[str], list[dict[str, Any]], int]:
        async with session_factory(engine)() as session, session.begin():
            if rows is not None:
                report = await importing.import_customers(
                    session, rows, args.region, link_above=args.link_above
                )
                found = [o.as_dict() for o in report.outcomes]
                return report.lines(), found, 1 if report.refused else 0
            if args.customers_command == "merge":
                done = await merge.merge_customers(session, args.survivor, args.other)
                return [f"merged {args.other} into {args.survivor} (merge {done.id})"], [], 0
            if args.customers_command == "unmerge":
                undone = await merge.unmerge(session, args.merge_id)
                return [f"customer {undone.merged_id} is separate again"], [], 0
            lines, pairs = await dedupe(
                session, args.region, args.min_probability, args.merge_above
            )
            return lines, pairs, 0

    creates = args.customers_command == "import"
    lines, records, code = on_database(Settings.from_env().database_url, run, create=creates)
    fields = ROW_FIELDS if rows is not None else PAIR_FIELDS
    if getattr(args, "report", None) is not None:
        with args.report.open("w", newline="", encoding="utf-8") as handle:
            _write_csv(handle, fields, records)
        lines.append(f"every row's outcome is in {args.report}")
    if getattr(args, "format", "text") == "text":
        print("\n".join(lines))
    else:
        print("\n".join(lines), file=sys.stderr)
        if args.format == "json":
            print(json.dumps(records, indent=2, ensure_ascii=False))
        else:
            _write_csv(sys.stdout, fields, records)
    return code


def _write_csv(handle: Any, fields: Sequence[str], records: list[dict[str, Any]]) -> None:
    writer = csv.DictWriter(handle, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


def read_file(path: Path) -> CsvFile:
    """The file's rows, or a ValueError saying in one line why it cannot be imported."""
    from routing.identity.csv_file import read_csv
    from routing.identity.customers import DETAIL_FIELDS

    known = ("external_id", "name", "email", "phone", "segment", *DETAIL_FIELDS)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        found = read_csv(path)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text; save the CSV as UTF-8") from None
    except csv.Error as exc:
        raise ValueError(f"{path}: not a readable CSV file ({exc})") from None
    if found.header and not set(found.header) & set(known):
        raise ValueError(
            f"{path}: no column this command reads (found {', '.join(found.header)});"
            f" the first line names them: {', '.join(known[:4])}, ..."
        )
    return found


async def dedupe(
    session: AsyncSession, region: str, at_least: float, merge_above: float | None
) -> tuple[list[str], list[dict[str, Any]]]:
    """The pairs at or above `at_least`, most likely first, merging those above
    `merge_above` unless people already decided they are two (an undone merge, or
    "not the same"); as text lines and as records."""
    from routing.identity.customers import TooFewToLearn, find_duplicates
    from routing.identity.merge import MergeError, decided_apart, merge_customers

    try:
        found = await find_duplicates(session, region)
    except TooFewToLearn as exc:
        return [
            f"0 likely duplicate pairs: no pair was scored, as {exc}.",
            "Nothing was merged; `switchboard customers merge SURVIVOR OTHER` merges two"
            " customers you know are one person.",
        ], []
    shown = [d for d in found if d.probability >= at_least]
    lines = [f"{len(shown)} pairs at or above probability {at_least:g}"]
    records = []
    for d in shown:
        action = ""
        if merge_above is not None and d.probability >= merge_above:
            apart = await decided_apart(session, d.first_id, d.second_id)
            if apart:
                action = f"skipped: {apart}"
            else:
                try:
                    done = await merge_customers(session, d.first_id, d.second_id)
                    action = f"merged (merge {done.id})"
                except MergeError as exc:
                    action = f"not merged: {exc}"
        first = _who(d.first_id, d.first_name, d.first_external_id)
        second = _who(d.second_id, d.second_name, d.second_external_id)
        lines.append(f"  {d.probability:.3f}  {first}  ~  {second}  {action}".rstrip())
        records.append(
            {
                "first_id": d.first_id,
                "first_external_id": d.first_external_id or "",
                "first_name": d.first_name,
                "second_id": d.second_id,
                "second_external_id": d.second_external_id or "",
                "second_name": d.second_name,
                "probability": round(d.probability, 4),
                "action": action,
            }
        )
    return lines, records


def _who(customer_id: int, name: str, external_id: str | None) -> str:
    shown = f"{customer_id} {name or '(no name)'}"
    return f"{shown} [{external_id}]" if external_id else shown
