"""Attachment content: what the hub keeps itself, stored once by its SHA-256 and referred
to by that name; and what a provider keeps (a voicemail recording, an MMS picture), which
the channel that received it knows how to fetch."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

REF_PREFIX = "sha256:"


class AttachmentStore:
    """A content-addressed folder: the same bytes are written once, whoever sends them."""

    def __init__(self, root: Path) -> None:
        self._root = root

    async def put(self, content: bytes) -> str:
        """Keep the content; its reference, `sha256:<hex>`."""
        digest = hashlib.sha256(content).hexdigest()
        await asyncio.to_thread(self._write, self._path(digest), content)
        return REF_PREFIX + digest

    def path(self, ref: str) -> Path:
        """Where the content of a reference lives (it may be absent)."""
        if not ref.startswith(REF_PREFIX):
            raise ValueError(f"not an attachment reference: {ref!r}")
        return self._path(ref.removeprefix(REF_PREFIX))

    def _path(self, digest: str) -> Path:
        return self._root / digest[:2] / digest

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then renamed: a reader never sees half a file.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(content)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class Fetched:
    content: bytes
    content_type: str


class RemoteAttachments(Protocol):
    """A channel's way to fetch content its provider holds, by the reference it stored."""

    def knows(self, ref: str) -> bool:
        """Whether `ref` names content this provider holds (and may be fetched at all)."""

    async def fetch(self, ref: str) -> Fetched | None:
        """The content behind `ref`; None when the provider no longer has it."""
