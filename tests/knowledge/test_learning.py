"""Agents' verdicts move articles for similar questions; unanswered questions become gaps."""

from __future__ import annotations

from agent_console.keys import KNOWLEDGE
from hub.models import KnowledgeArticle
from knowledge.search import RECHECK
from tests.support import Hub, eventually

QUESTION = "my card stopped working at the shop"


async def add(hub: Hub, title: str, body: str) -> int:
    async with hub.sessions() as session, session.begin():
        article = KnowledgeArticle(title=title, body=body, tags=["cards"])
        session.add(article)
        await session.flush()
        return article.id


async def test_helpful_and_inserted_articles_rise_for_similar_questions(hub: Hub) -> None:
    declined = await add(hub, "My card was declined", "A card stops working at the daily limit.")
    frozen = await add(hub, "Frozen cards", "We freeze a card we think was stolen.")
    await hub.add_agent("alice")
    agent = await hub.login("alice")
    before = await agent.get("/api/knowledge/search?q=" + QUESTION.replace(" ", "+"))
    assert before[0]["article_id"] == declined

    status, _ = await agent.post(
        f"/api/knowledge/articles/{frozen}/feedback", {"question": QUESTION, "verdict": "inserted"}
    )
    assert status == 201
    await agent.post(
        f"/api/knowledge/articles/{declined}/feedback",
        {"question": QUESTION, "verdict": "unhelpful"},
    )
    after = await agent.get("/api/knowledge/search?q=my+card+stopped+working+in+the+shop")
    assert after[0]["article_id"] == frozen
    assert after[0]["passage"] == QUESTION  # the question it was confirmed for matched

    status, body = await agent.post(
        f"/api/knowledge/articles/{frozen}/feedback", {"question": QUESTION, "verdict": "meh"}
    )
    assert status == 400 and "verdict" in body["error"]
    status, _ = await agent.post(
        "/api/knowledge/articles/999/feedback", {"question": QUESTION, "verdict": "helpful"}
    )
    assert status == 404
    await agent.close()


async def test_unanswered_and_unhelped_questions_are_listed_as_gaps(hub: Hub) -> None:
    declined = await add(hub, "My card was declined", "A card stops working at the daily limit.")
    await hub.add_agent("alice")
    await hub.add_agent("sam", role="supervisor")
    agent, supervisor = await hub.login("alice"), await hub.login("sam")
    knowledge = hub.app[KNOWLEDGE]

    assert await knowledge.suggest("How do I change my postal address?") == []
    assert await knowledge.suggest("how do I change my postal ADDRESS") == []
    assert await knowledge.suggest("") == []  # nothing asked, no gap
    assert await knowledge.suggest("ok thanks") == []  # small talk, no gap
    assert await knowledge.suggest(QUESTION)
    await agent.post(
        f"/api/knowledge/articles/{declined}/feedback",
        {"question": QUESTION, "verdict": "unhelpful"},
    )
    await agent.post(
        f"/api/knowledge/articles/{declined}/feedback",
        {"question": "card declined twice", "verdict": "helpful"},
    )

    async with agent.http.get("api/knowledge/gaps") as response:
        assert response.status == 403
    gaps = await supervisor.get("/api/knowledge/gaps")
    assert [(g["question"], g["reason"], g["count"]) for g in gaps] == [
        ("How do I change my postal address?", "no_match", 2),
        (QUESTION, "unhelpful", 1),
    ]

    # Once an article answers it, the question leaves the list (within RECHECK seconds).
    await add(hub, "Change of address", "Change your postal address under Profile.")

    async def only_unhelpful_left() -> bool:
        gaps = await supervisor.get("/api/knowledge/gaps")
        return [g["reason"] for g in gaps] == ["unhelpful"]

    assert await eventually(only_unhelpful_left, timeout=RECHECK * 4)
    await agent.close()
    await supervisor.close()
