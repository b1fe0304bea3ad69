"""Knowledge articles over HTTP: admins write them, agents read them and say what helped."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from agent_console.audit import record_done
from agent_console.auth import ADMINS, requires
from agent_console.keys import ARTICLES, KNOWLEDGE
from agent_console.responses import error, json_body
from hub.models import Agent, KnowledgeArticle
from knowledge.articles import ArticleError, article_json
from knowledge.learning import VERDICTS
from knowledge.render import render_markdown

WRITERS = ADMINS
GAP_READERS = ("admin", "supervisor")  # in this order in the 403 message
ARTICLE = "/api/knowledge/articles/{article_id:\\d+}"


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/knowledge/articles", list_articles)
    r.add_post("/api/knowledge/articles", create_article)
    r.add_get(ARTICLE, get_article)
    r.add_patch(ARTICLE, update_article)
    r.add_post(ARTICLE + "/archive", archive_article)
    r.add_get(ARTICLE + "/versions", list_versions)
    r.add_post(ARTICLE + "/feedback", give_feedback)
    r.add_get("/api/knowledge/gaps", list_gaps)
    r.add_get("/api/knowledge/search", knowledge_search)


def _article_id(request: web.Request) -> int:
    return int(request.match_info["article_id"])


def _with_html(article: KnowledgeArticle) -> dict[str, Any]:
    return {**article_json(article), "html": render_markdown(article.body)}


@requires(WRITERS)
async def list_articles(request: web.Request, agent: Agent) -> web.Response:
    state = request.query.get("state") or None
    return web.json_response([article_json(a) for a in await request.app[ARTICLES].find(state)])


@requires(WRITERS)
async def create_article(request: web.Request, agent: Agent) -> web.Response:
    try:
        article = await request.app[ARTICLES].create(await json_body(request), agent.username)
    except ArticleError as exc:
        raise error(400, str(exc)) from None
    request.app[KNOWLEDGE].invalidate()
    await record_done(request, agent, "article.created", f"article {article.id}")
    return web.json_response(_with_html(article), status=201)


@requires()
async def get_article(request: web.Request, agent: Agent) -> web.Response:
    """Agents read published articles; admins read any."""
    article = await request.app[ARTICLES].get(_article_id(request))
    if article is None or (article.state != "published" and agent.role not in WRITERS):
        raise error(404, "No such article.")
    return web.json_response(_with_html(article))


@requires(WRITERS)
async def update_article(request: web.Request, agent: Agent) -> web.Response:
    try:
        article = await request.app[ARTICLES].update(
            _article_id(request), await json_body(request), agent.username
        )
    except ArticleError as exc:
        raise error(400, str(exc)) from None
    if article is None:
        raise error(404, "No such article.")
    request.app[KNOWLEDGE].invalidate()
    await record_done(request, agent, "article.updated", f"article {article.id}")
    return web.json_response(_with_html(article))


@requires(WRITERS)
async def archive_article(request: web.Request, agent: Agent) -> web.Response:
    article = await request.app[ARTICLES].archive(_article_id(request), agent.username)
    if article is None:
        raise error(404, "No such article.")
    request.app[KNOWLEDGE].invalidate()
    await record_done(request, agent, "article.archived", f"article {article.id}")
    return web.json_response(article_json(article))


@requires(WRITERS)
async def list_versions(request: web.Request, agent: Agent) -> web.Response:
    versions = await request.app[ARTICLES].versions(_article_id(request))
    return web.json_response(
        [
            {
                "version": v.version,
                "title": v.title,
                "body": v.body,
                "tags": v.tags,
                "questions": v.questions,
                "products": v.products,
                "state": v.state,
                "author": v.author,
                "created_at": v.created_at.isoformat(),
            }
            for v in versions
        ]
    )


@requires()
async def give_feedback(request: web.Request, agent: Agent) -> web.Response:
    """An agent's verdict on a suggestion: helpful, unhelpful, or inserted into a reply."""
    body = await json_body(request)
    question, verdict = body.get("question"), body.get("verdict")
    conversation_id = body.get("conversation_id")
    if not isinstance(question, str) or not question.strip():
        raise error(400, "question must be the customer's message the article was suggested for.")
    if verdict not in VERDICTS:
        raise error(400, f"verdict must be one of {', '.join(VERDICTS)}.")
    if conversation_id is not None and not isinstance(conversation_id, int):
        raise error(400, "conversation_id must be a number.")
    article = await request.app[ARTICLES].get(_article_id(request))
    if article is None:
        raise error(404, "No such article.")
    try:
        await request.app[KNOWLEDGE].feedback(
            article.id, question, str(verdict), agent.id, conversation_id
        )
    except IntegrityError:
        raise error(400, "No such conversation.") from None
    return web.json_response({"recorded": verdict}, status=201)


@requires(GAP_READERS)
async def list_gaps(request: web.Request, agent: Agent) -> web.Response:
    """Questions no article answered: for whoever writes articles next."""
    gaps = await request.app[KNOWLEDGE].gaps()
    return web.json_response(
        [
            {
                "question": g.question,
                "reason": g.reason,
                "count": g.count,
                "last_seen": g.last_seen.isoformat(),
            }
            for g in gaps
        ]
    )


@requires()
async def knowledge_search(request: web.Request, agent: Agent) -> web.Response:
    query = request.query.get("q", "")
    suggestions = await request.app[KNOWLEDGE].suggest(query)
    return web.json_response([s.__dict__ for s in suggestions])
