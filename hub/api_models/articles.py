"""Knowledge articles as integrations read them (GET /api/v1/articles)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.api_models.common import Cursor

__all__ = ["ArticleList", "ArticleOut", "ArticleQuery"]


class ArticleQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    state: Literal["draft", "published", "archived"] | None = None
    tag: str | None = Field(None, max_length=64)
    cursor: Cursor | None = None
    limit: int = Field(25, ge=1, le=100)


class ArticleOut(BaseModel):
    id: int
    slug: str | None
    title: str
    body: str  # Markdown
    tags: list[str]
    questions: list[str]
    products: list[str]
    state: str
    author: str
    version: int
    created_at: datetime
    updated_at: datetime


class ArticleList(BaseModel):
    articles: list[ArticleOut]
    next_cursor: str | None
