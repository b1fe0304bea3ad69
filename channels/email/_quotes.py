"""Quoted replies: what a customer added on top of the thread their mail program quoted.

Agents read only the new part; the whole body is kept beside it, so a wrong cut loses
nothing. Quote headers are recognised in English and German ("On ... wrote:",
"Am ... schrieb ...:", Outlook's "-----Original Message-----" and "From:/Sent:" blocks)
by mail-parser-reply; a trailing block of `>` lines is cut here. A message that is all
quote keeps its whole text, so there is always something to read.
"""

from __future__ import annotations

from mailparser_reply import EmailReplyParser

LANGUAGES = ["en", "de"]
# The new part is at the top; looking further only costs time on long threads.
PARSED_HEAD = 100_000


def new_part(body: str) -> str:
    """The text above the first quote header and without a trailing `>` block, else all."""
    body = body.strip()
    replies = EmailReplyParser(languages=LANGUAGES).read(body[:PARSED_HEAD]).replies
    if not replies or replies[0].headers:
        text = ""  # it opens with a quote header: nothing new above it
    elif len(replies) > 1:
        text = replies[0].content
    else:
        text = body
    return _without_trailing_quote(text) or body


def _without_trailing_quote(text: str) -> str:
    """Drops a final run of `>` lines; quotes between answered lines (inline replies) stay."""
    lines = text.splitlines()
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    if not any(line.lstrip().startswith(">") for line in lines[end:]):
        return text
    return "\n".join(lines[:end]).strip()
