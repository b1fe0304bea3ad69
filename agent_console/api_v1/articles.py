"""/api/v1/articles: the knowledge base agents answer from, for a help center or a bot.
Any good token may read it: nothing in it is about a customer."""

from __future__ import annotations

import json

from aiohttp import web
from sqlalchemy import Text, cast, select

from agent_console.api_v1.bearer import ANY_TOKEN, scoped
from agent_console.api_v1.paging import after_id, page_of
from agent_console.responses import error
from hub.api_models.articles import ArticleList, ArticleOut, ArticleQuery
from hub.api_tokens import TokenHolder
from hub.keys import SESSIONS
from hub.models import KnowledgeArticle

ARTICLE = "/api/v1/articles/{article_id:\\d+}"


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/articles", list_articles)
    app.router.add_get(ARTICLE, get_article)


@scoped(ANY_TOKEN)
async def list_articles(request: web.Request, token: TokenHolder) -> web.Response:
    query = ArticleQuery.model_validate(dict(request.query))
    statement = select(KnowledgeArticle).where(KnowledgeArticle.id > after_id(query.cursor))
    if query.state:
        statement = statement.where(KnowledgeArticle.state == query.state)
    if query.tag:
        # Tags are a JSON list of words: its text holds the tag in quotes.
        wanted = json.dumps(query.tag)
        escaped = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(
            cast(KnowledgeArticle.tags, Text).like(f"%{escaped}%", escape="\\")
        )
    async with request.app[SESSIONS]() as session:
        rows = list(
            await session.scalars(statement.order_by(KnowledgeArticle.id).limit(query.limit + 1))
        )
    page, next_cursor = page_of(rows, query.limit)
    body = ArticleList(articles=[_out(a) for a in page], next_cursor=next_cursor)
    return web.json_response(text=body.model_dump_json())


@scoped(ANY_TOKEN)
async def get_article(request: web.Request, token: TokenHolder) -> web.Response:
    async with request.app[SESSIONS]() as session:
        article = await session.get(KnowledgeArticle, int(request.match_info["article_id"]))
    if article is None:
        raise error(404, "No such article.")
    return web.json_response(text=_out(article).model_dump_json())


def _out(article: KnowledgeArticle) -> ArticleOut:
    return ArticleOut(
        id=article.id,
        slug=article.slug,
        title=article.title,
        body=article.body,
        tags=article.tags,
        questions=article.questions,
        products=article.products,
        state=article.state,
        author=article.author,
        version=article.version,
        created_at=article.created_at,
        updated_at=article.updated_at,
    )
