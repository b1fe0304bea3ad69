"""Keeping the record right: edits land on the timeline with who made them, merges keep
labels and language, and an undo gives back exactly what the merge gave."""

from __future__ import annotations

from typing import Any

from hub.models import CustomerLink
from tests.agent_console.crm_records import Talk, add_customer
from tests.support import AgentClient, Hub


async def _patch(client: AgentClient, path: str, body: Any) -> tuple[int, Any]:
    async with client.http.patch(path.lstrip("/"), json=body) as response:
        return response.status, await response.json()


async def test_an_agent_corrects_a_customer_and_the_timeline_says_who(hub: Hub) -> None:
    nora = await hub.add_agent("nora")
    await hub.add_agent("sven")
    customer = await add_customer(hub, "Jhon Smiht", talks=(Talk("chat", "assigned", nora),))
    clients = {name: await hub.login(name) for name in ("nora", "sven")}
    client = clients["nora"]
    try:
        status, body = await _patch(
            client,
            f"/api/customers/{customer}",
            {
                "name": " John Smith ",
                "segment": "vip",
                "language": "pt-BR",
                "labels": ["Churn risk", " churn  RISK", "Wholesale"],
            },
        )
        assert status == 200, body
        assert (body["name"], body["segment"], body["language"], body["labels"]) == (
            "John Smith",
            "vip",
            "pt-BR",
            ["churn risk", "wholesale"],
        )
        status, body = await _patch(client, f"/api/customers/{customer}", {"segment": "vip"})
        assert (status, body["changed"]) == (200, {})  # nothing changed, nothing recorded

        page = await client.get(f"/api/customers/{customer}")
        assert (page["language"], page["labels"]) == ("pt-BR", ["churn risk", "wholesale"])
        changes = [
            (e["data"]["field"], e["data"]["before"], e["data"]["after"], e["agent_name"])
            for e in page["timeline"]["events"]
            if e["kind"] == "customer.updated"
        ]
        assert sorted(changes) == [
            ("labels", [], ["churn risk", "wholesale"], "Nora"),
            ("language", None, "pt-BR", "Nora"),
            ("name", "Jhon Smiht", "John Smith", "Nora"),
            ("segment", "standard", "vip", "Nora"),
        ]
        # The directory finds the corrected name, and by label.
        found = await client.get("/api/customers?q=john%20smith")
        assert [c["id"] for c in found["customers"]] == [customer]
        assert (await client.get("/api/customers?q=jhon"))["customers"] == []
        found = await client.get("/api/customers?label=Churn%20Risk")
        assert [c["labels"] for c in found["customers"]] == [["churn risk", "wholesale"]]
        assert (await client.get("/api/customers?label=churn"))["customers"] == []

        for wrong in (
            {"name": ""},
            {"name": None},
            {"segment": "VIP!"},
            {"language": "english"},
            {"labels": ['a"b']},
            {"labels": [f"l{n}" for n in range(31)]},
            {"nickname": "Johnny"},
        ):
            status, body = await _patch(client, f"/api/customers/{customer}", wrong)
            assert status == 400 and body["error"], wrong
        status, _ = await _patch(clients["sven"], f"/api/customers/{customer}", {"name": "X"})
        assert status == 404
    finally:
        for each in clients.values():
            await each.close()


async def test_conversation_labels_are_kept_and_logged(hub: Hub) -> None:
    nora = await hub.add_agent("nora")
    await hub.add_agent("sven")
    customer = await add_customer(
        hub, "Label Person", talks=(Talk("email", "closed", nora, subject="Invoice"),)
    )
    nora_client, sven_client = await hub.login("nora"), await hub.login("sven")
    try:
        page = await nora_client.get(f"/api/customers/{customer}")
        conversation = page["conversations"][0]["id"]
        status, body = await _patch(
            nora_client, f"/api/conversations/{conversation}", {"labels": ["Billing", "refund"]}
        )
        assert (status, body["labels"]) == (200, ["billing", "refund"])
        status, _ = await _patch(
            sven_client, f"/api/conversations/{conversation}", {"labels": ["x"]}
        )
        assert status == 404
        status, _ = await _patch(nora_client, f"/api/conversations/{conversation}", {})
        assert status == 400
        page = await nora_client.get(f"/api/customers/{customer}")
    finally:
        await nora_client.close()
        await sven_client.close()
    assert page["conversations"][0]["labels"] == ["billing", "refund"]
    logged = [e for e in page["timeline"]["events"] if e["kind"] == "conversation.labelled"]
    assert [(e["conversation_id"], e["data"]["after"], e["agent_name"]) for e in logged] == [
        (conversation, ["billing", "refund"], "Nora")
    ]


async def test_a_merge_keeps_labels_and_language_and_undo_gives_them_back(hub: Hub) -> None:
    keep = await add_customer(hub, "Kept Customer", email="kept@example.com")
    gone = await add_customer(hub, "Kept Customer", email="other@example.com")
    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    try:
        await _patch(sam, f"/api/customers/{keep}", {"labels": ["vip", "newsletter"]})
        await _patch(sam, f"/api/customers/{gone}", {"labels": ["newsletter", "wholesale"]})
        await _patch(sam, f"/api/customers/{gone}", {"language": "fr"})
        async with hub.sessions() as session, session.begin():
            link = CustomerLink(customer_id=gone, other_id=keep, probability=0.9)
            session.add(link)
            await session.flush()
            link_id = link.id
        status, merged = await sam.post(f"/api/customer-links/{link_id}/merge")
        assert status == 200, merged
        survivor = await sam.get(f"/api/customers/{keep}")
        assert survivor["labels"] == ["vip", "newsletter", "wholesale"]
        assert survivor["language"] == "fr"
        status, body = await _patch(sam, f"/api/customers/{gone}", {"name": "X"})
        assert status == 409 and str(keep) in body["error"]

        status, _ = await sam.post(f"/api/merges/{merged['merge_id']}/undo")
        assert status == 200
        survivor = await sam.get(f"/api/customers/{keep}")
        back = await sam.get(f"/api/customers/{gone}")
    finally:
        await sam.close()
    assert (survivor["labels"], survivor["language"]) == (["vip", "newsletter"], None)
    assert (back["labels"], back["language"]) == (["newsletter", "wholesale"], "fr")
