"""Custom attributes: an admin defines typed fields, agents fill them in on the customer's
record, the directory filters by them, and merges keep them (the survivor's value wins)
with an undo that gives both customers back exactly what they had."""

from __future__ import annotations

from typing import Any

from hub.models import CustomerLink
from tests.agent_console.crm_records import Talk, add_customer
from tests.support import AgentClient, Hub

ATTRIBUTES = "/api/admin/customer-attributes"


async def _send(client: AgentClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with client.http.request(method, path.lstrip("/"), json=body) as response:
        return response.status, await response.json()


async def _define(client: AgentClient, **definition: Any) -> dict[str, Any]:
    status, body = await _send(client, "POST", ATTRIBUTES, definition)
    assert status == 201, body
    return dict(body)


def _values(page: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in page["attributes"]}


async def test_an_admin_defines_attributes_and_an_agent_fills_them_in(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    nora = await hub.add_agent("nora")
    customer = await add_customer(hub, "Ines Costa", talks=(Talk("chat", "assigned", nora),))
    other = await add_customer(hub, "Otto Other", talks=(Talk("chat", "closed", nora),))
    ada, agent = await hub.login("ada"), await hub.login("nora")
    try:
        plan = await _define(ada, key="plan", label="Plan", kind="list", options=["free", "gold"])
        await _define(ada, key="seats", label="Seats", kind="number")
        await _define(ada, key="renewal", label="Renewal date", kind="date")
        await _define(ada, key="churned", label="Churned", kind="boolean")
        await _define(ada, key="account_manager", label="Account manager", kind="text")
        for wrong in (
            {"key": "Plan!", "label": "x", "kind": "text"},
            {"key": "tier", "label": "Tier", "kind": "colour"},
            {"key": "tier", "label": "Tier", "kind": "list", "options": []},
            {"key": "tier", "label": "Tier", "kind": "text", "options": ["a"]},
        ):
            status, body = await _send(ada, "POST", ATTRIBUTES, wrong)
            assert status == 400 and body["error"], wrong
        status, _ = await _send(
            ada, "POST", ATTRIBUTES, {"key": "plan", "label": "P", "kind": "text"}
        )
        assert status == 409
        status, _ = await _send(
            agent, "POST", ATTRIBUTES, {"key": "x", "label": "X", "kind": "text"}
        )
        assert status == 403

        path = f"/api/customers/{customer}"
        status, body = await _send(
            agent,
            "PATCH",
            path,
            {
                "attributes": {
                    "plan": "gold",
                    "seats": 12.0,
                    "renewal": "2027-03-31",
                    "churned": False,
                    "account_manager": "  Maria  ",
                }
            },
        )
        assert status == 200, body
        assert body["attributes"] == {
            "plan": "gold",
            "seats": 12,
            "renewal": "2027-03-31",
            "churned": False,
            "account_manager": "Maria",
        }
        for key, wrong in (
            ("plan", "platinum"),
            ("seats", "twelve"),
            ("seats", True),
            ("renewal", "2027-02-31"),
            ("renewal", "31/03/2027"),
            ("churned", "yes"),
            ("account_manager", ""),
            ("nickname", "Nessa"),
        ):
            status, body = await _send(agent, "PATCH", path, {"attributes": {key: wrong}})
            assert status == 400 and body["error"].startswith(f"attributes.{key}:"), (key, body)
        # A bad value refuses the whole change: the good one beside it is not stored either.
        status, _ = await _send(
            agent, "PATCH", path, {"attributes": {"seats": 13, "plan": "platinum"}}
        )
        assert status == 400

        status, body = await _send(
            agent, "PATCH", path, {"attributes": {"seats": 14, "churned": None}}
        )
        assert status == 200, body
        status, _ = await _send(ada, "PATCH", f"{ATTRIBUTES}/{plan['id']}", {"label": "Tier"})
        assert status == 200
        page = await agent.get(path)
        assert _values(page) == {
            "plan": "gold",
            "seats": 14,
            "renewal": "2027-03-31",
            "churned": None,
            "account_manager": "Maria",
        }
        assert [a["label"] for a in page["attributes"]][0] == "Tier"
        changes = [
            (e["data"]["field"], e["data"]["before"], e["data"]["after"], e["agent_name"])
            for e in page["timeline"]["events"]
            if e["kind"] == "customer.attribute"
        ]
        assert sorted(changes, key=str) == sorted(
            [
                ("plan", None, "gold", "Nora"),
                ("seats", None, 12, "Nora"),
                ("renewal", None, "2027-03-31", "Nora"),
                ("churned", None, False, "Nora"),
                ("account_manager", None, "Maria", "Nora"),
                ("seats", 12, 14, "Nora"),
                ("churned", False, None, "Nora"),
            ],
            key=str,
        )
        assert "Seats: 12 → 14" in [e["summary"] for e in page["timeline"]["events"]]

        # The directory finds customers by value, as the kind reads it.
        await _send(ada, "PATCH", f"/api/customers/{other}", {"attributes": {"seats": 3}})
        for query, found in (
            ("attribute=plan&value=gold", [customer]),
            ("attribute=seats&value=14.0", [customer]),
            ("attribute=seats&value=3", [other]),
            ("attribute=account_manager&value=MARIA", [customer]),
            ("attribute=renewal&value=2027-03-31", [customer]),
            ("attribute=plan&value=free", []),
        ):
            hits = await ada.get(f"/api/customers?{query}")
            assert [c["id"] for c in hits["customers"]] == found, query
        for query in ("attribute=seats&value=many", "attribute=nope&value=1", "attribute=plan"):
            async with ada.http.get(f"api/customers?{query}") as response:
                assert response.status == 400, query
                assert (await response.json())["error"]

        # An option in use cannot be taken away; removing the attribute removes its values.
        status, body = await _send(
            ada, "PATCH", f"{ATTRIBUTES}/{plan['id']}", {"options": ["free"]}
        )
        assert status == 409, body
        status, _ = await _send(ada, "DELETE", f"{ATTRIBUTES}/{plan['id']}")
        assert status == 200
        page = await agent.get(path)
        assert "plan" not in _values(page)
        audit = await ada.get("/api/admin/audit?action=attribute")
        assert sorted(line["action"] for line in audit["entries"]) == sorted(
            ["attribute.created"] * 5 + ["attribute.updated", "attribute.deleted"]
        )
        definitions = await agent.get("/api/customer-attributes")
        assert [d["key"] for d in definitions] == ["seats", "renewal", "churned", "account_manager"]
    finally:
        await ada.close()
        await agent.close()


async def test_a_merge_keeps_the_survivors_values_and_undo_restores_both(hub: Hub) -> None:
    keep = await add_customer(hub, "Kim Lee", email="kim@example.com")
    gone = await add_customer(hub, "Kim Lee", email="kim.lee@example.com")
    await hub.add_agent("sam", role="admin")
    sam = await hub.login("sam")
    try:
        await _define(sam, key="plan", label="Plan", kind="list", options=["free", "gold"])
        await _define(sam, key="seats", label="Seats", kind="number")
        await _define(sam, key="vat_id", label="VAT id", kind="text")
        await _send(sam, "PATCH", f"/api/customers/{keep}", {"attributes": {"plan": "gold"}})
        await _send(
            sam,
            "PATCH",
            f"/api/customers/{gone}",
            {"attributes": {"plan": "free", "seats": 4, "vat_id": "PT123"}},
        )
        before = {c: _values(await sam.get(f"/api/customers/{c}")) for c in (keep, gone)}
        async with hub.sessions() as session, session.begin():
            link = CustomerLink(customer_id=gone, other_id=keep, probability=0.9)
            session.add(link)
            await session.flush()
            link_id = link.id
        status, merged = await sam.post(f"/api/customer-links/{link_id}/merge")
        assert status == 200, merged

        survivor = await sam.get(f"/api/customers/{keep}")
        assert _values(survivor) == {"plan": "gold", "seats": 4, "vat_id": "PT123"}
        entry = next(e for e in survivor["timeline"]["events"] if e["kind"] == "customer.merged")
        assert entry["data"]["attributes_kept_aside"] == [
            {"key": "plan", "label": "Plan", "value": "free"}
        ]
        assert "Plan: free" in entry["summary"]
        hits = await sam.get("/api/customers?attribute=vat_id&value=pt123")
        assert [c["id"] for c in hits["customers"]] == [keep]

        status, _ = await sam.post(f"/api/merges/{merged['merge_id']}/undo")
        assert status == 200
        after = {c: _values(await sam.get(f"/api/customers/{c}")) for c in (keep, gone)}
    finally:
        await sam.close()
    assert after == before
    assert after[keep] == {"plan": "gold", "seats": None, "vat_id": None}
