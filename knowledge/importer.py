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
    state: published   # draft | published | archived
    ---
    A card is declined when ...
"""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
    """(fields, body) of a Markdown file whose front matter is YAML between '---' lines."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != FENCE:
        raise FrontMatterError("the file does not start with a '---' front matter line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FENCE)
    except StopIteration:
        raise FrontMatterError("the front matter has no closing '---' line") from None
    try:
        fields = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        raise FrontMatterError(_yaml_problem(exc)) from None
    if not isinstance(fields, dict):
        raise FrontMatterError("the front matter is not a list of 'key: value' lines")
    body = "\n".join(lines[end + 1 :]).strip() + "\n"
    return {str(k): _plain(v) for k, v in fields.items()}, body


def _plain(value: Any) -> Any:
    """YAML reads `title: 2024` as a number and `- 1.5` as a float: text fields want text."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, int | float | datetime.date) and not isinstance(value, bool):
        return str(value)
    return value


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's complaint in one line, numbered as lines of the file (the '---' is line 1)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "cannot be read"
    where = f"line {mark.line + 2}: " if mark is not None else ""
    return f"{where}the front matter is not valid YAML ({problem})"


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
