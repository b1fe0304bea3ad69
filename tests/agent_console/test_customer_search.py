"""The customer directory: anyone's record found by what an agent types, within their scope."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from hub.models import utcnow
from tests.agent_console.crm_records import Talk, add_customer
from tests.support import AgentClient, Hub


async def _search(client: AgentClient, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = await client.get("/api/customers?" + urlencode(params))
    return result


async def _names(client: AgentClient, **params: Any) -> list[str]:
    return [c["name"] for c in (await _search(client, **params))["customers"]]


async def test_a_customer_is_found_by_phone_email_external_id_and_name(hub: Hub) -> None:
    john = await add_customer(
        hub, "John Smith", email="john.smith@example.com", phone="+14155550100", external_id="CRM-7"
    )
    await add_customer(hub, "Anna Smithson", email="anna@example.org")
    await add_customer(hub, "Zoë Jonas", phone="+442071838750")
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    try:
        for typed in ("(415) 555-0100", "415.555.0100", "+1 415 555 0100", "tel:4155550100"):
            found = (await _search(ada, q=typed))["customers"]
            assert [(c["id"], c["match"], c["score"]) for c in found] == [(john, "phone", 1.0)]
        found = (await _search(ada, q="  John.Smith@EXAMPLE.com "))["customers"]
        assert [(c["name"], c["match"]) for c in found] == [("John Smith", "email")]
        found = (await _search(ada, q="CRM-7"))["customers"]
        assert [(c["name"], c["match"]) for c in found] == [("John Smith", "external id")]
        assert found[0]["addresses"] == [
            {"channel": "email", "address": "john.smith@example.com", "opted_out": False},
            {"channel": "sms", "address": "+14155550100", "opted_out": False},
            {"channel": "voice", "address": "+14155550100", "opted_out": False},
        ]

        # The start of a given name or a surname, accents and case aside.
        assert await _names(ada, q="smi") == ["John Smith", "Anna Smithson"]
        assert await _names(ada, q="zoe") == ["Zoë Jonas"]
        assert await _names(ada, q="JONAS z") == ["Zoë Jonas"]
        assert await _names(ada, q="john smith") == ["John Smith"]
        # Alike in sound and spelling: found, ranked below names that start as typed.
        found = (await _search(ada, q="Jon Smyth"))["customers"]
        assert [(c["name"], c["match"]) for c in found][:1] == [("John Smith", "similar name")]
        assert found[0]["score"] < 0.9
        assert await _names(ada, q="Nobody Like-This") == []
        assert await _names(ada, q="555-0199") == []
    finally:
        await ada.close()


async def test_filters_narrow_the_directory(hub: Hub) -> None:
    old = utcnow() - timedelta(days=40)
    await add_customer(hub, "Vera Vip", segment="vip", talks=(Talk("email", "closed", at=old),))
    await add_customer(hub, "Stan Standard", phone="+14155550111", talks=(Talk("chat", "queued"),))
    await add_customer(hub, "Quiet Customer", email="quiet@example.com")
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    try:
        assert await _names(ada) == ["Quiet Customer", "Stan Standard", "Vera Vip"]
        assert await _names(ada, segment="vip") == ["Vera Vip"]
        assert await _names(ada, channel="email") == ["Quiet Customer", "Vera Vip"]
        assert await _names(ada, channel="sms") == ["Stan Standard"]
        assert await _names(ada, open="true") == ["Stan Standard"]
        assert await _names(ada, open="false") == ["Quiet Customer", "Vera Vip"]
        since = (utcnow() - timedelta(days=7)).isoformat()
        assert await _names(ada, since=since) == ["Stan Standard"]
        assert await _names(ada, since=since[:10]) == ["Stan Standard"]  # a date alone
        assert await _names(ada, q="s", open="true") == ["Stan Standard"]
        listed = (await _search(ada, q="stan"))["customers"][0]
        assert listed["open_conversations"] == 1 and listed["last_contact_at"]
        async with ada.http.get("api/customers?open=perhaps") as response:
            assert response.status == 400
            assert "open" in (await response.json())["error"]
        async with ada.http.get("api/customers?limit=1000") as response:
            assert response.status == 400
    finally:
        await ada.close()


async def test_pages_follow_the_cursor_without_gaps_or_repeats(hub: Hub) -> None:
    made = {await add_customer(hub, f"Pat Page{n:02}") for n in range(23)}
    await add_customer(hub, "Other Person")
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    try:
        for query in ({"q": "pat"}, {}):
            seen: list[int] = []
            cursor: str | None = None
            pages = 0
            while True:
                params = {**query, "limit": 10, **({"cursor": cursor} if cursor else {})}
                page = await _search(ada, **params)
                seen += [c["id"] for c in page["customers"]]
                pages += 1
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert len(seen) == len(set(seen))
            expected = made if query else made | {max(seen)}
            assert set(seen) == expected
            assert pages == 3
        async with ada.http.get("api/customers?q=pat&cursor=bm90IG91cnM") as response:
            assert response.status == 400
    finally:
        await ada.close()


async def test_agents_and_team_supervisors_find_only_the_customers_they_may_see(
    hub: Hub,
) -> None:
    nora = await hub.add_agent("nora", team="north")
    nils = await hub.add_agent("nils", team="north")
    sven = await hub.add_agent("sven", team="south")
    await add_customer(hub, "Held Bynora", talks=(Talk("chat", "assigned", nora),))
    await add_customer(hub, "Once Bynora", talks=(Talk("email", "closed", nora),))
    await add_customer(hub, "Held Bynils", talks=(Talk("chat", "closed", nils),))
    await add_customer(hub, "Held Bysven", talks=(Talk("sms", "assigned", sven),))
    await add_customer(hub, "Still Waiting", talks=(Talk("chat", "queued"),))
    await add_customer(hub, "Never Talked")
    await hub.add_agent("nick", role="supervisor", team="north")
    await hub.add_agent("sally", role="supervisor")
    await hub.add_agent("ada", role="admin", team="south")
    clients = {name: await hub.login(name) for name in ("nora", "nick", "sally", "ada")}
    try:
        seen = {name: set(await _names(client)) for name, client in clients.items()}
        searched = {name: set(await _names(client, q="by")) for name, client in clients.items()}
    finally:
        for client in clients.values():
            await client.close()
    assert seen["nora"] == {"Held Bynora", "Once Bynora"}
    assert seen["nick"] == {"Held Bynora", "Once Bynora", "Held Bynils", "Still Waiting"}
    everyone = {"Held Bynora", "Once Bynora", "Held Bynils", "Held Bysven", "Still Waiting"}
    assert seen["sally"] == seen["ada"] == everyone | {"Never Talked"}
    assert searched["nora"] == {"Held Bynora", "Once Bynora"}
    assert searched["nick"] == {"Held Bynora", "Once Bynora", "Held Bynils"}
    assert searched["ada"] == {"Held Bynora", "Once Bynora", "Held Bynils", "Held Bysven"}


async def test_the_directory_needs_a_login(hub: Hub) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(hub.url + "/api/customers?q=a") as response:
            assert response.status == 401


async def test_a_customer_without_a_name_is_shown_by_what_is_known(hub: Hub) -> None:
    nameless = await add_customer(hub, "", email="who@example.com")
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    try:
        found = (await _search(ada, q="who@example.com"))["customers"]
        page = await ada.get(f"/api/customers/{nameless}")
    finally:
        await ada.close()
    assert [(c["name"], c["shown_as"]) for c in found] == [("", "who@example.com")]
    assert (page["name"], page["shown_as"]) == ("", "who@example.com")
