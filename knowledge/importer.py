"""`switchboard kb import FOLDER`: Markdown files with front matter become articles.

A file looks like this; the slug is the file name unless the front matter names one, so
importing the folder again updates the same articles instead of adding copies.

    ---
    title: My card was declined
    tags: [cards, payments]
    questions:
      - Why was my card declined?
      - My payment did not go through
    products: [debit-card]
    state: published
    ---
    A card is declined when ...
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.articles import ArticleError, Articles, clean_fields, slugify

FENCE = "---"
MAX_FILE = 1_000_000
FIELDS = ("title", "slug", "tags", "questions", "products", "state", "author")


class FrontMatterError(ValueError):
    """The front matter of one file cannot be read."""


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # file name -> what is wrong

    def lines(self) -> list[str]:
        out = [
            f"created {len(self.created)}, updated {len(self.updated)},"
            f" unchanged {len(self.unchanged)}, failed {len(self.failed)}"
        ]
        out += [f"  {name}: {reason}" for name, reason in sorted(self.failed.items())]
        return out


def parse_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(fields, body) of a Markdown file: a small YAML subset of `key: value`, `[a, b]`, `- a`."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != FENCE:
        raise FrontMatterError("the file does not start with a '---' front matter line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FENCE)
    except StopIteration:
        raise FrontMatterError("the front matter has no closing '---' line") from None
    fields: dict[str, Any] = {}
    current: str | None = None
    for number, line in enumerate(lines[1:end], start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith((" ", "\t", "-")) and line.strip().startswith("- "):
            if current is None or not isinstance(fields.get(current), list):
                raise FrontMatterError(f"line {number}: a list item outside a list")
            fields[current].append(_scalar(line.strip()[2:]))
            continue
        key, colon, value = line.partition(":")
        key = key.strip()
        if not colon or not key.isidentifier() or line.startswith((" ", "\t")):
            raise FrontMatterError(f"line {number}: expected 'key: value', got {line.strip()!r}")
        value = value.strip()
        if not value:
            fields[key], current = [], key
        elif value.startswith("["):
            if not value.endswith("]"):
                raise FrontMatterError(f"line {number}: a list that is not closed with ']'")
            fields[key] = [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
            current = None
        else:
            fields[key], current = _scalar(value), None
    return fields, "\n".join(lines[end + 1 :]).strip() + "\n"


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def article_fields(path: Path) -> tuple[str, dict[str, Any]]:
    """(slug, checked fields) from one file; raises ValueError saying what is wrong."""
    if path.stat().st_size > MAX_FILE:
        raise FrontMatterError(f"the file is larger than {MAX_FILE} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise FrontMatterError("the file is not UTF-8 text") from None
    raw, body = parse_front_matter(text)
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise FrontMatterError(f"unknown front matter field(s): {', '.join(unknown)}")
    slug = str(raw.pop("slug", "") or slugify(path.stem))
    return slug, clean_fields({**raw, "body": body})


def read_folder(folder: Path) -> tuple[list[tuple[str, str, dict[str, Any]]], dict[str, str]]:
    """Every *.md under the folder as (file name, slug, fields), and the files that failed."""
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    read: list[tuple[str, str, dict[str, Any]]] = []
    failed: dict[str, str] = {}
    for path in sorted(folder.rglob("*.md")):
        name = str(path.relative_to(folder))
        try:
            read.append((name, *article_fields(path)))
        except (FrontMatterError, ArticleError) as exc:
            failed[name] = str(exc)
    return read, failed


async def import_folder(articles: Articles, folder: Path, author: str = "import") -> ImportReport:
    """Import every *.md under the folder; a broken file is reported and the rest go in."""
    read, failed = await asyncio.to_thread(read_folder, folder)
    report = ImportReport(failed=failed)
    for name, slug, fields in read:
        try:
            _, outcome = await articles.save_by_slug(slug, fields, author)
        except ArticleError as exc:
            report.failed[name] = str(exc)
            continue
        getattr(report, outcome).append(name)
    return report
