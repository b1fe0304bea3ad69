"""Progress lines on stderr for long runs, so a report over months does not look stuck."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Writes `voc: <step> (<seconds>s)` lines; silent when disabled."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._started = time.perf_counter()

    def step(self, message: str) -> None:
        """Say what the run is doing now."""
        if self._enabled:
            elapsed = time.perf_counter() - self._started
            print(f"voc: {message} ({elapsed:.1f}s)", file=self._stream, flush=True)

    def count(self, message: str, done: int, total: int, every: int = 20_000) -> None:
        """Say how far a long loop has got, every `every` items and at the end."""
        if done == total or (done and done % every == 0):
            self.step(f"{message} {done:,}/{total:,}")


QUIET = Progress(enabled=False)
