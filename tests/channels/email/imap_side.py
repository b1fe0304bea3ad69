"""A private Dovecot IMAP server for tests: its own config, users, maildir and port.

Dovecot refuses to run its login processes as root, so under root the mail belongs to
the `dovecot` account Debian's package creates; under any other user, to that user.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aioimaplib

USER = "support"
PASSWORD = "imap-password-for-tests"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


@dataclass(frozen=True)
class Dovecot:
    port: int
    folder: Path

    async def client(self) -> aioimaplib.IMAP4:
        client = aioimaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        await client.wait_hello_from_server()
        assert (await client.login(USER, PASSWORD)).result == "OK"
        return client

    async def create(self, mailbox: str) -> None:
        client = await self.client()
        assert (await client.create(mailbox)).result == "OK"
        await client.logout()

    async def recreate(self, mailbox: str) -> None:
        """Delete the folder and make it anew: its UIDs start again, under a new UIDVALIDITY."""
        client = await self.client()
        assert (await client.delete(mailbox)).result == "OK"
        assert (await client.create(mailbox)).result == "OK"
        await client.logout()

    async def append(self, mailbox: str, raw: bytes, flags: str | None = None) -> None:
        """File a message, e.g. with flags="(\\Seen)" as if someone had read it already."""
        client = await self.client()
        assert (await client.append(raw, mailbox=mailbox, flags=flags)).result == "OK"
        await client.logout()

    async def unseen(self, mailbox: str) -> int:
        """How many messages in the mailbox are not flagged \\Seen."""
        client = await self.client()
        response = await client.status(mailbox, "(UNSEEN)")
        await client.logout()
        assert response.result == "OK", response
        status = response.lines[0].decode()
        return int(status.rsplit("UNSEEN", 1)[1].strip(" )"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    """Start Dovecot in the foreground as a child process; stop it at the end."""
    folder = Path(tempfile.mkdtemp(prefix="sb-dovecot-"))
    folder.chmod(0o755)  # the login processes run as another user and look in here
    port = free_port()
    mail_user = "dovecot" if os.getuid() == 0 else pwd.getpwuid(os.getuid()).pw_name
    login_user = "dovenull" if os.getuid() == 0 else mail_user
    mail_group = grp.getgrgid(pwd.getpwnam(mail_user).pw_gid).gr_name
    (folder / "mail").mkdir()
    shutil.chown(folder / "mail", mail_user, mail_group)
    (folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    config = folder / "dovecot.conf"
    config.write_text(
        f"""
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/log
instance_name = switchboard-test-{port}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = 1
default_internal_user = {mail_user}
default_internal_group = {mail_group}
default_login_user = {login_user}
mail_location = maildir:{folder}/mail/%u
passdb {{
  driver = passwd-file
  args = {folder}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={folder}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    process = subprocess.Popen(  # noqa: S603 - our own config, a fixed binary
        [DOVECOT, "-F", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_greeting(port, process, folder)
        yield Dovecot(port, folder)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_greeting(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    for _attempt in range(200):
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            log = (folder / "log").read_text() if (folder / "log").exists() else ""
            raise RuntimeError(f"dovecot exited with {process.returncode}: {stderr}{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                if conn.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not answer on port {port}")
