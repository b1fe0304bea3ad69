"""The `switchboard` command, run as a real process against a real database file."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

SWITCHBOARD = [sys.executable, "-m", "hub.cli"]


# What an operator's shell has: no SWITCHBOARD_* settings, so every default applies.
DEMO_ENVIRONMENT = {
    **{k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")},
    "SWITCHBOARD_SMTP_PORT": "0",
    "SWITCHBOARD_KNOWLEDGE_EMBEDDINGS": "false",
}


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        **env,
    }
    return run_in(args, tmp_path, environment)


def run_in(
    args: list[str], folder: Path, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The command run in `folder`, with the operator's environment by default."""
    return subprocess.run(
        SWITCHBOARD + args,
        cwd=folder,
        env=DEMO_ENVIRONMENT if environment is None else environment,
        capture_output=True,
        text=True,
        timeout=50,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exactly one line on stderr; that line, without the prefix."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("switchboard: ")
    return lines[0].removeprefix("switchboard: ")


def test_migrate_then_add_an_agent_who_can_log_in(tmp_path: Path) -> None:
    assert run(["migrate"], tmp_path).returncode == 0
    added = run(
        [
            "agent",
            "add",
            "carol",
            "--name",
            "Carol",
            "--skill",
            "billing:7",
            "--capacity",
            "chat=2",
            "--password-env",
            "CAROL_PW",
        ],
        tmp_path,
        CAROL_PW="a long enough password",
    )
    assert added.returncode == 0, added.stderr
    assert "added agent carol" in added.stdout

    again = run(
        ["agent", "add", "carol", "--password-env", "CAROL_PW"],
        tmp_path,
        CAROL_PW="a long enough password",
    )
    assert again.returncode == 2 and "exists already" in again.stderr


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--skill", "billing"], "--skill takes NAME:NUMBER"),
        (["--skill", "billing:11"], "levels go from 1 to 10"),
        (["--capacity", "chat=x"], "--capacity takes NAME=NUMBER"),
        ([], "use --password-env"),
    ],
)
def test_agent_add_explains_bad_input(tmp_path: Path, args: list[str], complaint: str) -> None:
    result = run(["agent", "add", "dave", *args], tmp_path)
    assert result.returncode == 2
    assert complaint in result.stderr


def test_short_password_is_refused(tmp_path: Path) -> None:
    result = run(["agent", "add", "erin", "--password-env", "PW"], tmp_path, PW="short")
    assert result.returncode == 2 and "at least 8 characters" in result.stderr


def test_a_password_variable_that_is_not_set_is_named(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "NOT_SET_PW"}
    result = run_in(["agent", "add", "erin", "--password-env", "NOT_SET_PW"], tmp_path, environment)
    assert one_line_error(result) == "--password-env NOT_SET_PW: that variable is not set"
    assert not (tmp_path / "switchboard.db").exists()


def test_help_loads_none_of_the_heavy_packages(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from hub.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    assert "usage: switchboard" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]"


HEAVY = {"aiohttp", "sqlalchemy", "alembic", "sklearn", "numpy", "scipy", "twilio", "redis"}


def test_demo_prints_console_url_and_logins_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    with subprocess.Popen(
        [*SWITCHBOARD, "demo", "--port", str(port)],
        cwd=tmp_path,
        env=DEMO_ENVIRONMENT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            _check_demo_output(process, port, tmp_path)
        finally:
            process.terminate()
            process.wait(timeout=15)


def _check_demo_output(process: subprocess.Popen[str], port: int, tmp_path: Path) -> None:
    assert process.stdout is not None
    first = process.stdout.readline()
    assert first.strip() == f"Switchboard console: http://127.0.0.1:{port}/console"
    banner = [process.stdout.readline() for _ in range(7)]
    assert "switchboard-demo" in banner[0]
    assert [line.split()[0] for line in banner[1:5]] == ["alice", "bob", "sam", "ada"]
    assert banner[6].startswith("Data: switchboard.db")
    health = _get(f"http://127.0.0.1:{port}/healthz")
    assert '"status": "ok"' in health
    # The demo's data is where every other command looks by default.
    assert (tmp_path / "switchboard.db").exists()
    with sqlite3.connect(tmp_path / "switchboard.db") as db:
        promised = db.execute("SELECT channel, first_response FROM sla_policies").fetchall()
    assert sorted(promised) == [("chat", 60), ("email", 4 * 3600), ("sms", 15 * 60)]
    report = run_in(
        ["report", "voc", "--since", "30d", "--out", "report.html", "--quiet"], tmp_path
    )
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("wrote report.html: 3 contacts")
    dedupe = run_in(["customers", "dedupe"], tmp_path)
    assert dedupe.stdout.splitlines()[0] == (
        "0 likely duplicate pairs: no pair was scored, as matching learns its weights from"
        " the customers themselves and needs at least 50 customers, and there are 3."
    )
    assert "Nothing was merged" in dedupe.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, attempts: int = 300) -> str:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return str(response.read().decode())
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_the_readme_usage_lines_name_every_option_of_serve_and_demo() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for command in ("serve", "demo"):
        usage = next(
            line for line in readme.splitlines() if line.startswith(f"switchboard {command} ")
        )
        for option in ("--host", "--port", "--smtp-port"):
            assert f"[{option} " in usage, (command, option)
