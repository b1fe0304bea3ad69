"""Every page the hub serves from static files closes what it opens: a section left open
swallows the next one, and the browser quietly draws a different page."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [*ROOT.glob("agent_console/static/*.html"), *ROOT.glob("channels/webchat/static/*.html")]
)
CONTAINERS = {"main", "header", "nav", "section", "article", "aside", "form", "table", "div"}


class Nesting(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, int]] = []
        self.wrong: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in CONTAINERS:
            self.open.append((tag, self.getpos()[0]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in CONTAINERS:
            return
        if not self.open or self.open[-1][0] != tag:
            opened = f"<{self.open[-1][0]}> of line {self.open[-1][1]}" if self.open else "none"
            self.wrong.append(f"</{tag}> on line {self.getpos()[0]} closes {opened}")
            return
        self.open.pop()


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_the_page_closes_every_container_it_opens(page: Path) -> None:
    nesting = Nesting()
    nesting.feed(page.read_text(encoding="utf-8"))
    nesting.close()
    assert nesting.wrong == []
    assert nesting.open == []


def test_the_pages_are_found() -> None:
    assert {"console.html", "admin.html", "wallboard.html"} <= {page.name for page in PAGES}
