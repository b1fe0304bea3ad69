"""`switchboard report voc`, run as a real process against a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.keys import INTAKE
from hub.settings import Settings
from tests.conftest import start_hub
from tests.insights.corpus import contact, corpus, store


async def switchboard(*args: str, database: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        *args,
        env={**os.environ, "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{database}"},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 50)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def database(tmp_path: Path) -> Path:
    """A hub's SQLite file with three weeks of contacts and a burst about refunds today."""
    path = tmp_path / "hub.db"
    settings = Settings.from_env(
        {},
        database_url=f"sqlite+aiosqlite:///{path}",
        secret_key="cli-test",
        knowledge_embeddings=False,
        smtp_port=0,  # a free port: a fixed one collides with any other hub or test run
    )
    async with start_hub(settings) as hub:
        await store(hub.app[INTAKE], [text for _, text in corpus(per_theme=20)], days=21)
        now = datetime.now(UTC)
        for n in range(15):
            text = f"Still waiting for the refund on order {n}, call me on +44 20 7946 09{n:02}"
            await hub.app[INTAKE].accept(contact(text, now - timedelta(minutes=10 + n)))
    return path


async def test_the_report_command_writes_html_json_csv_and_alerts_once(
    database: Path, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    out, data, tables = tmp_path / "report.html", tmp_path / "voc.json", tmp_path / "csv"
    args = ["report", "voc", "--since", "30d", "--out", str(out), "--topics", "3",
            "--json", str(data), "--csv", str(tables), "--webhook", url,
            "--alert-state", str(tmp_path / "alerts.json")]  # fmt: skip

    code, stdout, stderr = await switchboard(*args, database=database)

    assert code == 0, stderr
    assert "voc: discovering topics" in stderr  # progress on stderr
    assert f"wrote {out}: 75 contacts" in stdout
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<svg" in page
    assert "7946" not in page  # phone numbers redacted from the quotes
    report = json.loads(data.read_text(encoding="utf-8"))
    rising = [t["name"] for t in report["topics"] if t["rising"]]
    assert any("refund" in name for name in rising), report["episodes"]
    assert sorted(p.name for p in tables.iterdir()) == [
        "voc-quotes.csv", "voc-rising.csv", "voc-topics.csv", "voc-volume.csv"
    ]  # fmt: skip
    assert [alert["topic"] for alert in received] == rising

    # The next run finds the same episode still going: no second alert.
    code, _, stderr = await switchboard(*args, "--quiet", database=database)
    assert code == 0 and stderr == ""
    assert len(received) == len(rising)


async def test_alerts_that_cannot_be_sent_are_one_line_after_the_report(
    database: Path, tmp_path: Path
) -> None:
    closed = _closed_port()
    out = tmp_path / "report.html"
    args = ["report", "voc", "--out", str(out), "--topics", "3", "--quiet",
            "--webhook", f"http://127.0.0.1:{closed}/hook", "--alert-email", "pm@example.com",
            "--smtp-host", "127.0.0.1", "--smtp-port", str(closed),
            "--alert-state", str(tmp_path / "alerts.json")]  # fmt: skip

    code, stdout, stderr = await switchboard(*args, database=database)

    assert code == 2 and stdout == ""
    assert len(stderr.splitlines()) == 1, stderr
    assert stderr.startswith(f"switchboard: wrote {out}, but could not send alerts by email")
    assert f" nor to http://127.0.0.1:{closed}/hook (" in stderr
    assert stderr.rstrip().endswith("; the next run tries again")
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


def _closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_database_without_tables_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    code, _, stderr = await switchboard(
        "report", "voc", "--out", str(tmp_path / "r.html"), database=tmp_path / "empty.db"
    )

    assert code == 2
    assert "has no Switchboard tables: run `switchboard demo`" in stderr
    assert not (tmp_path / "r.html").exists()
