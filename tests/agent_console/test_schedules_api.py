"""Business hours on the admin API: an admin writes a schedule, imports its holidays from
a calendar file and attaches it to an inbox or a queue; the hub reads which applies."""

from __future__ import annotations

from typing import Any

from hub.models import Inbox
from hub.schedules import hours_of
from tests.support import AgentClient, Hub

OFFICE = {
    "name": "Berlin office",
    "timezone": "Europe/Berlin",
    "weekly": {day: [{"opens": "09:00", "closes": "17:00"}] for day in ("mon", "tue", "wed")},
    "holidays": [{"day": "2026-10-03", "name": "Unity Day"}],
}
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//EN\r\n"
    "BEGIN:VEVENT\r\nUID:x@example.test\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


async def put(client: AgentClient, path: str, body: Any) -> tuple[int, Any]:
    async with client.http.put(path.lstrip("/"), json=body) as response:
        return response.status, await response.json()


async def upload(client: AgentClient, path: str, data: str, content_type: str) -> tuple[int, Any]:
    headers = {"Content-Type": content_type}
    async with client.http.post(path.lstrip("/"), data=data.encode(), headers=headers) as response:
        return response.status, await response.json()


async def an_inbox(hub: Hub) -> int:
    async with hub.sessions() as session, session.begin():
        inbox = Inbox(channel="sms", address="+14155550100", name="Texts")
        session.add(inbox)
    return inbox.id


async def test_an_admin_keeps_a_schedule_with_holidays_from_a_calendar_file(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")

    status, office = await ada.post("/api/admin/schedules", OFFICE)
    assert status == 201, office
    assert office["weekly"]["mon"] == [{"opens": "09:00:00", "closes": "17:00:00"}]
    assert isinstance(office["open_now"], bool) and office["next_opening"]

    status, body = await upload(
        ada, f"/api/admin/schedules/{office['id']}/holidays", ICS, "text/calendar"
    )
    assert status == 200, body
    assert body["imported"] == 2
    assert body["holidays"] == [
        {"day": "2026-10-03", "name": "Unity Day"},
        {"day": "2026-12-25", "name": "Christmas"},
        {"day": "2026-12-26", "name": "Christmas"},
    ]

    changed = {**OFFICE, "weekly": {"sat": [{"opens": "10:00", "closes": "14:00"}]}}
    status, body = await put(ada, f"/api/admin/schedules/{office['id']}", changed)
    assert status == 200 and list(body["weekly"]) == ["sat"]
    (listed,) = await ada.get("/api/admin/schedules")
    assert listed["holidays"] == [{"day": "2026-10-03", "name": "Unity Day"}]  # replaced
    await ada.close()


async def test_a_schedule_that_makes_no_sense_or_a_bad_file_is_refused(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    ada = await hub.login("ada")
    backwards = {**OFFICE, "weekly": {"mon": [{"opens": "18:00", "closes": "09:00"}]}}
    status, body = await ada.post("/api/admin/schedules", backwards)
    assert status == 400 and "closes after it opens" in body["error"]
    status, body = await ada.post("/api/admin/schedules", {**OFFICE, "timezone": "Berlin"})
    assert status == 400 and body["field"] == "timezone"

    status, office = await ada.post("/api/admin/schedules", OFFICE)
    status, body = await ada.post("/api/admin/schedules", OFFICE)
    assert status == 409 and "Berlin office" in body["error"]
    path = f"/api/admin/schedules/{office['id']}/holidays"
    status, body = await upload(ada, path, "Christmas,2026-12-25", "text/calendar")
    assert status == 400 and "could not be read" in body["error"]
    status, body = await upload(ada, path, ICS, "text/plain")  # a cross-site form could
    assert status == 415
    assert (await ada.get("/api/admin/schedules"))[0]["holidays"] == OFFICE["holidays"]
    await ada.close()


async def test_a_queue_schedule_comes_before_its_inbox_schedule(hub: Hub) -> None:
    await hub.add_agent("ada", role="admin")
    await hub.add_agent("sam", role="supervisor")
    ada, sam = await hub.login("ada"), await hub.login("sam")
    inbox_id = await an_inbox(hub)
    _, office = await ada.post("/api/admin/schedules", OFFICE)
    _, weekend = await ada.post(
        "/api/admin/schedules", {**OFFICE, "name": "Weekend desk", "weekly": {}}
    )

    status, _ = await put(
        sam, "/api/admin/schedule-attachments", {"schedule_id": office["id"], "inbox_id": inbox_id}
    )
    assert status == 403
    for attachment in (
        {"schedule_id": office["id"], "inbox_id": inbox_id},
        {"schedule_id": weekend["id"], "queue": "loans"},
    ):
        status, body = await put(ada, "/api/admin/schedule-attachments", attachment)
        assert status == 200, body
    status, body = await put(ada, "/api/admin/schedule-attachments", {"schedule_id": office["id"]})
    assert status == 400 and "inbox_id or queue" in body["error"]

    listed = {s["name"]: s for s in await sam.get("/api/admin/schedules")}
    assert (listed["Berlin office"]["inboxes"], listed["Weekend desk"]["queues"]) == (
        [inbox_id],
        ["loans"],
    )
    async with hub.sessions() as session:
        by_inbox = await hours_of(session, channel="sms", inbox="+14155550100", queue="cards")
        by_queue = await hours_of(session, channel="sms", inbox="+14155550100", queue="loans")
    assert (by_inbox and by_inbox.name, by_queue and by_queue.name) == (
        "Berlin office",
        "Weekend desk",
    )

    status, _ = await put(
        ada, "/api/admin/schedule-attachments", {"schedule_id": None, "inbox_id": inbox_id}
    )
    assert status == 200
    async with hub.sessions() as session:
        assert await hours_of(session, channel="sms", inbox="+14155550100") is None
    await ada.close()
    await sam.close()
