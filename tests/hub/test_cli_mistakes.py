"""Ordinary mistakes at the `switchboard` command: one clear line on stderr, exit code 2,
and nothing created on the way. Real processes, real files, real ports."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.db import open_engine
from hub.migrate import head_revision, upgrade
from tests.hub.test_cli import DEMO_ENVIRONMENT, one_line_error, run_in

NO_DATABASE = (
    "no database at switchboard.db: run `switchboard demo` for demo data"
    " or `switchboard migrate` for an empty hub"
)


@pytest.mark.parametrize(
    "args",
    [
        ["report", "voc", "--since", "30d", "--out", "report.html"],
        ["queue", "list"],
        ["customers", "dedupe"],
        ["customers", "merge", "1", "2"],
    ],
)
def test_reading_a_database_that_is_not_there_creates_none(tmp_path: Path, args: list[str]) -> None:
    assert one_line_error(run_in(args, tmp_path)) == NO_DATABASE
    assert list(tmp_path.iterdir()) == []


def test_a_file_without_tables_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    result = run_in(["queue", "list"], tmp_path, database("empty.db"))
    assert one_line_error(result) == (
        "the database empty.db has no Switchboard tables: run `switchboard demo` for demo"
        " data or `switchboard migrate` for an empty hub"
    )


def test_an_older_schema_is_named_with_what_to_run(tmp_path: Path) -> None:
    async def migrate_to(revision: str) -> None:
        engine = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(migrate_to("0010"))  # before queue limits had a table
    result = run_in(["queue", "list"], tmp_path, database("old.db"))
    assert one_line_error(result) == (
        f"the database old.db is at schema 0010, not {head_revision()}:"
        " run `switchboard migrate` first"
    )
    assert run_in(["migrate"], tmp_path, database("old.db")).returncode == 0
    assert run_in(["queue", "list"], tmp_path, database("old.db")).stdout == "no queue limits\n"


def test_a_database_server_that_refuses_is_one_line(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres:secret@127.0.0.1:5432/switchboard_no_such_database"
    line = one_line_error(run_in(["queue", "list"], tmp_path, database(database_url=url)))
    assert line.startswith(
        "cannot use the database postgresql+asyncpg://postgres:***@127.0.0.1:5432/"
        "switchboard_no_such_database: "
    )
    assert "secret" not in line


def test_serve_names_a_database_it_cannot_use_before_starting(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/switchboard_no_such_database"
    line = one_line_error(run_in(["serve", "--port", "0"], tmp_path, database(database_url=url)))
    assert line == (
        f'cannot use the database {url}: database "switchboard_no_such_database" does not exist'
    )


def test_a_balancer_address_that_is_not_one(tmp_path: Path) -> None:
    environment = {**database("switchboard.db"), "SWITCHBOARD_TRUSTED_PROXIES": "10.0.0.1, lb"}
    line = one_line_error(run_in(["serve", "--port", "0"], tmp_path, environment))
    assert line == "SWITCHBOARD_TRUSTED_PROXIES: 'lb' is not an IP address or network"


def test_a_database_url_that_is_not_one(tmp_path: Path) -> None:
    line = one_line_error(run_in(["migrate"], tmp_path, database(database_url="switchboard.db")))
    assert line.startswith("SWITCHBOARD_DATABASE_URL 'switchboard.db' cannot be used:")


def test_a_missing_csv_file(tmp_path: Path) -> None:
    result = run_in(["customers", "import", "people.csv"], tmp_path)
    assert one_line_error(result) == "people.csv: no such file"
    assert list(tmp_path.iterdir()) == []


def test_a_csv_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_bytes("name\nJos\xe9 Garc\xeda\n".encode("latin-1"))
    result = run_in(["customers", "import", "people.csv"], tmp_path)
    assert one_line_error(result) == "people.csv: not UTF-8 text; save the CSV as UTF-8"


def test_a_csv_file_without_any_column_it_reads(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("Full Name;Mail\nJane;jane@example.com\n")
    result = run_in(["customers", "import", "people.csv"], tmp_path)
    assert one_line_error(result) == (
        "people.csv: no column this command reads (found full name, mail);"
        " the first line names them: external_id, name, email, phone, ..."
    )
    assert list(tmp_path.iterdir()) == [tmp_path / "people.csv"]


def test_a_database_in_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    result = run_in(["migrate"], tmp_path, database("data/switchboard.db"))
    assert (
        one_line_error(result) == "cannot create the database data/switchboard.db: no folder data"
    )


def test_a_knowledge_folder_that_is_not_there(tmp_path: Path) -> None:
    assert one_line_error(run_in(["kb", "import", "articles"], tmp_path)) == (
        "articles is not a folder"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("flag", "value", "complaint"),
    [
        ("--out", "reports/voc.html", "--out reports/voc.html: the folder reports does not exist"),
        ("--json", "data/voc.json", "--json data/voc.json: the folder data does not exist"),
        ("--out", ".", "--out .: that is a folder; name a file in it"),
        (
            "--since",
            "last week",
            "cannot read 'last week' as a window: try 30d, 12w, 48h or 2026-01-31",
        ),
    ],
)
def test_report_outputs_and_window_are_checked_first(
    demo_database: Path, flag: str, value: str, complaint: str
) -> None:
    result = run_in(["report", "voc", flag, value], demo_database)
    assert one_line_error(result) == complaint


@pytest.mark.parametrize(
    ("name", "text", "complaint"),
    [
        ("topics.yaml", None, "--taxonomy topics.yaml: no such file"),
        (
            "topics.yaml",
            "topics:\n  - name: Refunds\n    keywords: [refund\n",
            "topics.yaml: not valid YAML: line 4: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "topics.json",
            '{"topics": [',
            "topics.json: not valid JSON: Expecting value: line 1 column 13 (char 12)",
        ),
        ("topics.yaml", "- Refunds\n", "topics.yaml: expected a mapping with a list of topics"),
        (
            "topics.yaml",
            "topics:\n  - name: Refunds\n    keywords: refund, money back\n",
            "topics.yaml: keywords of 'Refunds' is a list, e.g. [a, b]",
        ),
    ],
)
def test_a_taxonomy_file_that_cannot_be_used(
    demo_database: Path, name: str, text: str | None, complaint: str
) -> None:
    if text is not None:
        (demo_database / name).write_text(text, encoding="utf-8")
    result = run_in(["report", "voc", "--taxonomy", name], demo_database)
    assert one_line_error(result) == complaint


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_port_in_use_is_named_before_anything_starts(
    tmp_path: Path, taken_port: int, command: str
) -> None:
    smtp = run_in([command, "--port", "0", "--smtp-port", str(taken_port)], tmp_path)
    assert one_line_error(smtp) == (
        f"cannot listen for SMTP on 127.0.0.1:{taken_port}: the port is in use"
        " (a hub running already?); choose another with --smtp-port"
    )
    http = run_in([command, "--port", str(taken_port)], tmp_path)
    assert one_line_error(http) == (
        f"cannot listen for HTTP on 127.0.0.1:{taken_port}: the port is in use"
        " (a hub running already?); choose another with --port"
    )
    assert list(tmp_path.iterdir()) == []


def test_queue_limits_that_cannot_be_meant(tmp_path: Path) -> None:
    itself = run_in(["queue", "set", "billing", "--overflow", "billing"], tmp_path)
    assert one_line_error(itself) == "--overflow billing: a queue cannot overflow into itself"
    fax = run_in(["queue", "set", "billing", "--channel", "fax"], tmp_path)
    assert fax.returncode == 2
    assert "argument --channel: invalid choice: 'fax'" in fax.stderr.splitlines()[-1]
    assert list(tmp_path.iterdir()) == []


def test_merging_a_customer_that_is_not_there(demo_database: Path) -> None:
    result = run_in(["customers", "merge", "1", "99"], demo_database)
    assert one_line_error(result) == "no customer 99"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


@pytest.fixture
def demo_database(tmp_path: Path) -> Path:
    """A folder whose switchboard.db holds the demo's data, as `make demo` leaves it."""

    async def seed_demo() -> None:
        from hub.db import session_factory
        from hub.demo import seed

        engine = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'switchboard.db'}")
        try:
            await upgrade(engine)
            await seed(session_factory(engine))
        finally:
            await engine.dispose()

    asyncio.run(seed_demo())
    return tmp_path


def database(name: str = "", database_url: str = "") -> dict[str, str]:
    return {
        **DEMO_ENVIRONMENT,
        "SWITCHBOARD_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{name}",
    }
