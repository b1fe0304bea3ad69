"""`switchboard kb import FOLDER`: Markdown with front matter in, re-imports update in place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from agent_console.keys import KNOWLEDGE
from hub.models import ArticleVersion, KnowledgeArticle
from knowledge.articles import Articles
from knowledge.importer import import_folder
from tests.support import Hub

DECLINED = """---
title: My card was declined
tags: [cards, payments]
questions:
  - Why was my card declined?
  - "The shop said: payment refused"
products: [debit-card]
---
A card is declined when the **daily limit** is reached.
"""


README = Path(__file__).parents[2] / "README.md"


def readme_example() -> str:
    """The article README.md shows under "The knowledge base", as a reader would copy it."""
    section = README.read_text(encoding="utf-8").split("## The knowledge base", 1)[1]
    return section.split("```markdown\n", 1)[1].split("```", 1)[0]


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


async def test_a_folder_is_imported_and_broken_files_are_reported_one_by_one(
    hub: Hub, tmp_path: Path
) -> None:
    folder = write(
        tmp_path / "kb",
        {
            "cards/declined.md": DECLINED,
            "refunds.md": "---\ntitle: Refunds\n---\nRefunds take 5 to 10 days.\n",
            "no-fence.md": "title: Forgot the fences\n\nBody.\n",
            "unclosed.md": "---\ntitle: Never closed\nBody.\n",
            "bad-line.md": "---\ntitle: x\nthis is not a field\n---\nBody\n",
            "no-title.md": "---\ntags: [x]\n---\nBody\n",
            "unknown.md": "---\ntitle: x\ncolour: red\n---\nBody\n",
            "notes.txt": "not markdown, ignored",
        },
    )
    report = await import_folder(Articles(hub.sessions), folder)
    assert sorted(report.created) == ["cards/declined.md", "refunds.md"]
    assert sorted(report.failed) == [
        "bad-line.md",
        "no-fence.md",
        "no-title.md",
        "unclosed.md",
        "unknown.md",
    ]
    assert "closing '---'" in report.failed["unclosed.md"]
    assert "line 3" in report.failed["bad-line.md"]
    assert "title" in report.failed["no-title.md"]

    found = await hub.app[KNOWLEDGE].suggest("the shop said payment refused")
    assert found[0].title == "My card was declined"
    assert found[0].passage == "The shop said: payment refused"
    async with hub.sessions() as session:
        article = await session.scalar(
            select(KnowledgeArticle).where(KnowledgeArticle.slug == "declined")
        )
    assert article is not None
    assert article.tags == ["cards", "payments"] and article.products == ["debit-card"]
    assert article.questions == ["Why was my card declined?", "The shop said: payment refused"]


async def test_the_readme_example_imports_as_published(hub: Hub, tmp_path: Path) -> None:
    example = readme_example()
    assert "# draft | published | archived" in example  # a YAML comment, as readers write them
    report = await import_folder(Articles(hub.sessions), write(tmp_path / "kb", {"a.md": example}))
    assert (report.created, report.failed) == (["a.md"], {})
    async with hub.sessions() as session:
        article = await session.scalar(select(KnowledgeArticle).where(KnowledgeArticle.slug == "a"))
    assert article is not None
    assert (article.title, article.state) == ("My card was declined", "published")
    assert article.tags == ["cards", "payments"] and article.products == ["debit-card"]
    assert article.questions == [
        "Why was my card declined?",
        "The shop said my payment was refused",
    ]


async def test_front_matter_is_yaml_and_its_mistakes_are_named_by_file(
    hub: Hub, tmp_path: Path
) -> None:
    folder = write(
        tmp_path / "kb",
        {
            "numbers.md": "---\ntitle: 404\ntags: [2024, cards]  # a year and a word\n---\nB\n",
            "quoted.md": "---\ntitle: 'Fees: what they cost'\nstate: draft\n---\nBody\n",
            "list.md": "---\n- title\n- tags\n---\nBody\n",
            "bracket.md": "---\ntitle: x\ntags: [cards\n---\nBody\n",
        },
    )
    report = await import_folder(Articles(hub.sessions), folder)
    assert sorted(report.created) == ["numbers.md", "quoted.md"]
    assert report.failed["list.md"] == "the front matter is not a list of 'key: value' lines"
    assert report.failed["bracket.md"].startswith("line 3: the front matter is not valid YAML")
    async with hub.sessions() as session:
        titles = await session.execute(select(KnowledgeArticle.title, KnowledgeArticle.tags))
    assert sorted(map(tuple, titles)) == [
        ("404", ["2024", "cards"]),
        ("Fees: what they cost", []),
    ]


async def test_importing_again_updates_the_same_articles(hub: Hub, tmp_path: Path) -> None:
    folder = write(tmp_path / "kb", {"declined.md": DECLINED})
    articles = Articles(hub.sessions)
    assert (await import_folder(articles, folder)).created == ["declined.md"]
    assert (await import_folder(articles, folder)).unchanged == ["declined.md"]
    write(folder, {"declined.md": DECLINED.replace("daily limit", "monthly limit")})
    assert (await import_folder(articles, folder)).updated == ["declined.md"]

    async with hub.sessions() as session:
        assert await session.scalar(select(func.count(KnowledgeArticle.id))) == 1
        assert await session.scalar(select(func.count(ArticleVersion.id))) == 2
    found = await hub.app[KNOWLEDGE].suggest("why was my card declined")
    assert "monthly limit" in found[0].snippet


def test_the_command_imports_a_folder_and_says_what_failed(tmp_path: Path) -> None:
    folder = write(tmp_path / "kb", {"declined.md": DECLINED, "broken.md": "no front matter"})
    env = {**os.environ, "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kb.db'}"}
    command = [sys.executable, "-m", "hub.cli", "kb", "import", str(folder)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1, done.stderr
    assert "created 1, updated 0, unchanged 0, failed 1" in done.stdout
    assert "broken.md: the file does not start with a '---' front matter line" in done.stdout
    again = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert "created 0, updated 0, unchanged 1, failed 1" in again.stdout
