"""Article Markdown to HTML that is safe to put in the console: raw HTML is shown as text."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

# Only these link targets survive; javascript:, data:, file: and the rest are left as text.
_SAFE_LINK = re.compile(r"^(https?:|mailto:|tel:|/|#|[\w.-]+(/|$))", re.IGNORECASE)
_MARKUP = re.compile(r"\]\([^)]*\)|<[^>]*>|!\[|[*_`#>\[\]|~]+")
_SPACES = re.compile(r"[ \t]+")


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False})
    md.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]
    return md


_RENDERER = _markdown()


def render_markdown(text: str) -> str:
    """Sanitized HTML for an article body: any HTML in the source is escaped, never run."""
    return str(_RENDERER.render(text))


def plain_text(text: str) -> str:
    """The words of a Markdown body without its markup, for indexing and passages."""
    return _SPACES.sub(" ", _MARKUP.sub(" ", text)).strip()
