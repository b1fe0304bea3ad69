"""The `switchboard` command, run as a real process against a real database file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

SWITCHBOARD = [sys.executable, "-m", "hub.cli"]


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        **env,
    }
    return subprocess.run(
        SWITCHBOARD + args,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=False,
    )


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


def test_demo_prints_console_url_and_logins_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    with subprocess.Popen(
        [*SWITCHBOARD, "demo", "--port", str(port)],
        cwd=tmp_path,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")},
            "SWITCHBOARD_SMTP_PORT": "0",
            "SWITCHBOARD_KNOWLEDGE_EMBEDDINGS": "false",
        },
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
    banner = [process.stdout.readline() for _ in range(5)]
    assert "switchboard-demo" in banner[0]
    assert [line.split()[0] for line in banner[1:]] == ["alice", "bob", "sam", "ada"]
    health = _get(f"http://127.0.0.1:{port}/healthz")
    assert '"status": "ok"' in health
    assert (tmp_path / "switchboard-demo.db").exists()


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
