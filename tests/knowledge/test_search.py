"""Knowledge suggestions for the customer's latest message, through the console API."""

from __future__ import annotations

from agent_console.keys import KNOWLEDGE
from hub.models import KnowledgeArticle
from tests.support import Hub

ARTICLES = [
    ("My card was declined", ["cards"], "A card is declined when the daily limit is reached."),
    ("Resetting your password", ["login"], "Use Forgot password. The link lasts 30 minutes."),
    ("Refunds", ["billing"], "Refunds reach the original payment method in 5 to 10 days."),
]


async def add_articles(hub: Hub, state: str = "published") -> None:
    async with hub.sessions() as session, session.begin():
        for title, tags, body in ARTICLES:
            session.add(KnowledgeArticle(title=title, tags=tags, body=body, state=state))


async def test_the_matching_article_comes_first_with_its_passage(hub: Hub) -> None:
    await add_articles(hub)
    await hub.add_agent("alice")
    agent = await hub.login("alice")
    found = await agent.get("/api/knowledge/search?q=why+was+my+card+declined+at+the+shop")
    assert found[0]["title"] == "My card was declined"
    assert "daily limit" in found[0]["snippet"]
    assert found[0]["method"] == "lexical+fuzzy"

    typo = await agent.get("/api/knowledge/search?q=pasword+reset")
    assert typo[0]["title"] == "Resetting your password"
    await agent.close()


async def test_empty_huge_and_foreign_queries_are_answered_calmly(hub: Hub) -> None:
    await add_articles(hub)
    await hub.add_agent("alice")
    agent = await hub.login("alice")
    assert await agent.get("/api/knowledge/search?q=") == []
    assert await agent.get("/api/knowledge/search?q=%E4%BD%A0%E5%A5%BD") == []
    long_query = "refund " * 1000
    found = await agent.get("/api/knowledge/search?q=" + long_query.replace(" ", "+"))
    assert found[0]["title"] == "Refunds"
    megabyte = "where is my refund " + "x" * 1_000_000
    suggestions = await hub.app[KNOWLEDGE].suggest(megabyte)
    assert suggestions[0].title == "Refunds"
    await agent.close()


async def test_drafts_are_never_suggested(hub: Hub) -> None:
    await add_articles(hub, state="draft")
    await hub.add_agent("alice")
    agent = await hub.login("alice")
    assert await agent.get("/api/knowledge/search?q=card+declined") == []
    await agent.close()


async def test_search_needs_a_login(hub: Hub) -> None:
    import aiohttp

    async with (
        aiohttp.ClientSession() as http,
        http.get(hub.url + "/api/knowledge/search?q=card") as r,
    ):
        assert r.status == 401


async def test_a_near_empty_article_alone_does_not_break_search(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    admin = await hub.login("ada")
    status, article = await admin.post("/api/knowledge/articles", {"title": "T", "body": "b"})
    assert status == 201 and article["state"] == "published", article
    for query in ("t", "b", "where is my refund", "T b"):
        async with admin.http.get("api/knowledge/search", params={"q": query}) as response:
            assert response.status == 200, await response.text()
            assert isinstance(await response.json(), list)
    await admin.close()


async def test_a_snippet_is_a_whole_sentence_even_across_wrapped_lines(hub: Hub) -> None:
    body = (
        "Open the app and go to Settings,\nthen Change PIN.\n\n"
        "Your new PIN works at once.\n- Cards abroad need no new PIN"
    )
    async with hub.sessions() as session, session.begin():
        session.add(KnowledgeArticle(title="PIN", tags=["cards"], body=body, state="published"))
    await hub.add_agent("alice")
    agent = await hub.login("alice")
    found = await agent.get("/api/knowledge/search?q=how+do+I+change+my+PIN+in+settings")
    assert found[0]["snippet"] == "Open the app and go to Settings, then Change PIN."
    await agent.close()
