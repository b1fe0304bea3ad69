"""Admins write the knowledge base through the console API; agents read it."""

from __future__ import annotations

from agent_console.keys import KNOWLEDGE
from tests.support import Hub

ARTICLE = {
    "title": "Card declined at a shop",
    "body": "A card is **declined** when the daily limit is reached.\n\n<script>alert(1)</script>"
    " [Limits](javascript:alert(2)) and [help](https://example.com/help)",
    "tags": ["cards"],
    "questions": ["Why did the shop refuse my card?"],
    "products": ["debit-card"],
}


async def test_an_admin_writes_updates_and_archives_an_article_keeping_each_version(
    hub: Hub,
) -> None:
    await hub.add_agent("ada", role="admin")
    admin = await hub.login("ada")
    status, created = await admin.post("/api/knowledge/articles", ARTICLE)
    assert status == 201, created
    assert created["slug"] == "card-declined-at-a-shop"
    assert created["author"] == "ada" and created["version"] == 1
    # The rendered body shows the HTML as text and drops the script link.
    assert "<script>" not in created["html"] and "&lt;script&gt;" in created["html"]
    assert "javascript:" not in created["html"].replace("[Limits](javascript:alert(2))", "")
    assert '<a href="https://example.com/help">help</a>' in created["html"]
    assert "<strong>declined</strong>" in created["html"]

    async with admin.http.patch(
        f"api/knowledge/articles/{created['id']}",
        json={"body": "The daily limit is 500 euros.", "questions": ["Shop refused my card"]},
    ) as response:
        assert response.status == 200
        updated = await response.json()
    assert updated["version"] == 2 and updated["title"] == ARTICLE["title"]

    found = await hub.app[KNOWLEDGE].suggest("the shop refused my card")
    assert found[0].article_id == created["id"]
    assert "500 euros" in found[0].snippet

    status, archived = await admin.post(f"/api/knowledge/articles/{created['id']}/archive")
    assert status == 200 and archived["state"] == "archived"
    assert await hub.app[KNOWLEDGE].suggest("the shop refused my card") == []

    versions = await admin.get(f"/api/knowledge/articles/{created['id']}/versions")
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert versions[0]["body"] == ARTICLE["body"]
    assert [v["state"] for v in versions] == ["published", "published", "archived"]
    listed = await admin.get("/api/knowledge/articles?state=archived")
    assert [a["id"] for a in listed] == [created["id"]]
    await admin.close()


async def test_only_admins_change_articles_and_agents_read_published_ones(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("alice")
    admin, agent = await hub.login("ada"), await hub.login("alice")
    _, article = await admin.post("/api/knowledge/articles", ARTICLE)
    _, draft = await admin.post("/api/knowledge/articles", {"title": "Draft", "state": "draft"})

    assert (await agent.post("/api/knowledge/articles", ARTICLE))[0] == 403
    assert (await agent.post(f"/api/knowledge/articles/{article['id']}/archive"))[0] == 403
    async with agent.http.patch(
        f"api/knowledge/articles/{article['id']}", json={"title": "Mine now"}
    ) as response:
        assert response.status == 403
    async with agent.http.get("api/knowledge/articles") as response:
        assert response.status == 403
    async with agent.http.get(f"api/knowledge/articles/{draft['id']}") as response:
        assert response.status == 404
    read = await agent.get(f"/api/knowledge/articles/{article['id']}")
    assert read["title"] == ARTICLE["title"] and "html" in read
    await admin.close()
    await agent.close()


async def test_bad_article_fields_are_refused_with_a_reason(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    admin = await hub.login("ada")
    status, body = await admin.post("/api/knowledge/articles", {"body": "no title"})
    assert status == 400 and "title" in body["error"]
    status, body = await admin.post("/api/knowledge/articles", {"title": "x", "state": "gone"})
    assert status == 400 and "state" in body["error"]
    status, body = await admin.post("/api/knowledge/articles", {"title": "x", "colour": "red"})
    assert status == 400 and "colour" in body["error"]
    _, first = await admin.post("/api/knowledge/articles", {"title": "Same"})
    _, second = await admin.post("/api/knowledge/articles", {"title": "Same"})
    assert (first["slug"], second["slug"]) == ("same", "same-2")
    await admin.close()
