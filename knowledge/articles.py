"""Articles as admins write them: validated fields, a stable slug and a version per save."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from hub.db import Sessions
from hub.models import ArticleVersion, KnowledgeArticle, utcnow

STATES = ("draft", "published", "archived")
LISTS = ("tags", "questions", "products")
MAX_BODY = 200_000
MAX_ITEMS = 200
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,199}$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class ArticleError(ValueError):
    """What is wrong with the fields given for an article, in a sentence."""


def slugify(text: str) -> str:
    return _NOT_SLUG.sub("-", text.lower()).strip("-")[:200] or "article"


def clean_fields(fields: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
    """The article fields an admin may set, checked; raises ArticleError on the first bad one."""
    cleaned: dict[str, Any] = {}
    if not partial and not str(fields.get("title") or "").strip():
        raise ArticleError("An article needs a title.")
    for name, value in fields.items():
        if name == "title":
            cleaned[name] = _text(name, value, 300, required=True)
        elif name == "body":
            cleaned[name] = _text(name, value, MAX_BODY)
        elif name == "author":
            cleaned[name] = _text(name, value, 200)
        elif name in LISTS:
            cleaned[name] = _strings(name, value)
        elif name == "state":
            if value not in STATES:
                raise ArticleError(f"state must be one of {', '.join(STATES)}.")
            cleaned[name] = value
        elif name == "slug":
            if not isinstance(value, str) or not _SLUG.match(value):
                raise ArticleError("slug takes lower-case letters, digits and dashes.")
            cleaned[name] = value
        else:
            raise ArticleError(f"Unknown field {name!r}.")
    return cleaned


def _text(name: str, value: Any, limit: int, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ArticleError(f"{name} must be text.")
    if required and not value.strip():
        raise ArticleError(f"{name} must not be empty.")
    if len(value) > limit:
        raise ArticleError(f"{name} is longer than {limit} characters.")
    return value.strip() if name != "body" else value


def _strings(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ArticleError(f"{name} must be a list of text.")
    items = [str(v).strip()[:500] for v in value if str(v).strip()]
    if len(items) > MAX_ITEMS:
        raise ArticleError(f"{name} takes at most {MAX_ITEMS} entries.")
    return list(dict.fromkeys(items))


def article_json(article: KnowledgeArticle) -> dict[str, Any]:
    return {
        "id": article.id,
        "slug": article.slug,
        "title": article.title,
        "body": article.body,
        "tags": article.tags,
        "questions": article.questions,
        "products": article.products,
        "state": article.state,
        "author": article.author,
        "version": article.version,
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
    }


class Articles:
    """Create, change and archive articles; every save is kept as a numbered version."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def find(self, state: str | None = None) -> list[KnowledgeArticle]:
        query = select(KnowledgeArticle).order_by(KnowledgeArticle.id)
        if state:
            query = query.where(KnowledgeArticle.state == state)
        async with self._sessions() as session:
            return list(await session.scalars(query))

    async def get(self, article_id: int) -> KnowledgeArticle | None:
        async with self._sessions() as session:
            return await session.get(KnowledgeArticle, article_id)

    async def versions(self, article_id: int) -> list[ArticleVersion]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(ArticleVersion)
                .where(ArticleVersion.article_id == article_id)
                .order_by(ArticleVersion.version)
            )
            return list(rows)

    async def create(self, fields: Mapping[str, Any], author: str) -> KnowledgeArticle:
        cleaned = clean_fields(fields)
        async with self._sessions() as session, session.begin():
            slug = cleaned.pop("slug", None) or await _free_slug(session, slugify(cleaned["title"]))
            if await session.scalar(
                select(KnowledgeArticle.id).where(KnowledgeArticle.slug == slug)
            ):
                raise ArticleError(f"An article with slug {slug!r} exists already.")
            cleaned.setdefault("author", author)
            article = KnowledgeArticle(slug=slug, version=1, **cleaned)
            session.add(article)
            await session.flush()
            session.add(_snapshot(article, editor=author))
            return article

    async def update(
        self, article_id: int, fields: Mapping[str, Any], author: str
    ) -> KnowledgeArticle | None:
        """Apply changes and store the result as the next version; None if no such article."""
        cleaned = clean_fields(fields, partial=True)
        async with self._sessions() as session, session.begin():
            article = await session.get(KnowledgeArticle, article_id, with_for_update=True)
            if article is None:
                return None
            slug = cleaned.get("slug")
            if slug and slug != article.slug:
                taken = await session.scalar(
                    select(KnowledgeArticle.id).where(KnowledgeArticle.slug == slug)
                )
                if taken:
                    raise ArticleError(f"An article with slug {slug!r} exists already.")
            if all(getattr(article, name) == value for name, value in cleaned.items()):
                return article  # nothing changed: no new version
            for name, value in cleaned.items():
                setattr(article, name, value)
            article.version += 1
            article.updated_at = utcnow()
            session.add(_snapshot(article, editor=author))
            return article

    async def archive(self, article_id: int, author: str) -> KnowledgeArticle | None:
        return await self.update(article_id, {"state": "archived"}, author)

    async def save_by_slug(
        self, slug: str, fields: Mapping[str, Any], author: str
    ) -> tuple[KnowledgeArticle, str]:
        """Create or update the article with this slug: (article, created|updated|unchanged)."""
        async with self._sessions() as session:
            existing = await session.get(
                KnowledgeArticle,
                await session.scalar(
                    select(KnowledgeArticle.id).where(KnowledgeArticle.slug == slug)
                )
                or 0,
            )
        if existing is None:
            return await self.create({**fields, "slug": slug}, author), "created"
        updated = await self.update(existing.id, fields, author)
        assert updated is not None
        return updated, "unchanged" if updated.version == existing.version else "updated"


def _snapshot(article: KnowledgeArticle, editor: str) -> ArticleVersion:
    """The article as saved now; `author` on a version is who saved it."""
    return ArticleVersion(
        article_id=article.id,
        version=article.version,
        title=article.title,
        body=article.body,
        tags=list(article.tags),
        questions=list(article.questions),
        products=list(article.products),
        state=article.state,
        author=editor,
    )


async def _free_slug(session: Any, base: str) -> str:
    taken = set(
        await session.scalars(
            select(KnowledgeArticle.slug).where(KnowledgeArticle.slug.startswith(base))
        )
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}"[:200] in taken:
        number += 1
    return f"{base}-{number}"[:200]
