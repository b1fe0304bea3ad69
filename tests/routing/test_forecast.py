"""A supervisor is warned before a queue misses its service level, and told what would hold it.

The forecast is first fed a seeded simulation of one queue minute by minute, as the hub
would see it; then a hub with real conversations answers /api/supervisor/forecast.
"""

from __future__ import annotations

from datetime import timedelta

from hub.models import Conversation, Customer, Inbox, utcnow
from routing.forecast import ForecastSettings, QueueLoad, WarningHold, forecast
from routing.simulation import Minute, simulate
from tests.support import Hub

SETTINGS = ForecastSettings()
AGENTS, HANDLE = 10, 180.0


def load_of(minute: Minute, agents: int = AGENTS) -> QueueLoad:
    return QueueLoad(
        "billing",
        5,
        minute.arrivals,
        minute.handle_seconds,
        agents,
        minute.waiting,
        minute.answered,
        minute.answered_in_time,
    )


def burst(t: float) -> float:
    """Two arrivals a minute (10 agents keep 94 % within 20 s), climbing to 3.6 from
    minute 120 over 15 minutes: more than 10 agents can answer."""
    return 2.0 + 1.6 * min(1.0, max(0.0, (t / 60 - 120) / 15))


def test_the_warning_comes_before_the_service_level_breaks() -> None:
    for seed in (1, 2, 3):
        minutes = list(simulate(burst, AGENTS, HANDLE, 200, seed))
        breach = next(
            i
            for i, m in enumerate(minutes)
            if i >= 120 and m.service_level is not None and m.service_level < 0.8
        )
        warned = next(
            i
            for i, m in enumerate(minutes)
            if i >= 120 and forecast(load_of(m), m.at, SETTINGS).warning
        )
        assert warned < breach, f"seed {seed}: warned at {warned}, broke at {breach}"


def test_a_quiet_queue_raises_no_warning() -> None:
    minutes = list(simulate(lambda t: 1.0, AGENTS, HANDLE, 8 * 60, seed=7))
    warnings = [
        m.at for m in minutes[15:] if forecast(load_of(m), m.at, SETTINGS).warning is not None
    ]
    assert warnings == []


def test_the_warning_says_when_and_how_many_agents_with_which_skill_would_hold_it() -> None:
    minutes = list(simulate(burst, AGENTS, HANDLE, 160, seed=1))
    now, result = next(
        (m, f) for m in minutes[120:] if (f := forecast(load_of(m), m.at, SETTINGS)).warning
    )
    assert result.warning is not None and result.minutes_to_breach is not None
    assert result.warning.startswith("billing will miss 80/20 ")
    assert f"{result.agents_to_add} more agent" in result.warning
    assert "with billing 5 or better would hold it" in result.warning
    held = forecast(load_of(now, AGENTS + result.agents_to_add), now.at, SETTINGS)
    assert held.warning is None
    short = forecast(load_of(now, AGENTS + result.agents_to_add - 1), now.at, SETTINGS)
    assert short.warning is not None


def test_a_warning_stays_up_until_the_forecast_has_been_calm_for_a_horizon() -> None:
    minutes = list(simulate(burst, AGENTS, HANDLE, 160, seed=2))
    start, warned = next(
        (m, f)
        for m in minutes[120:]
        if (f := forecast(load_of(m), m.at, SETTINGS)).warning and (f.minutes_to_breach or 0) >= 3
    )
    assert warned.minutes_to_breach is not None
    # The same queue at rest: nobody waiting, no recent arrivals, all answered in time.
    calm_load = QueueLoad("billing", 5, [], HANDLE, AGENTS, 0, 30, 30)
    hold = WarningHold()
    assert hold.apply(warned, start.at, SETTINGS) == warned
    shown = []
    for minute in range(1, SETTINGS.horizon_minutes + 2):
        at = start.at + minute * 60
        calm = forecast(calm_load, at, SETTINGS)
        assert calm.warning is None
        shown.append(hold.apply(calm, at, SETTINGS))
    held = shown[: SETTINGS.horizon_minutes - 1]
    assert [s.warning for s in held] == [warned.warning] * len(held)
    assert shown[2].minutes_to_breach == warned.minutes_to_breach - 3
    assert shown[2].agents_to_add == warned.agents_to_add
    assert [s.warning for s in shown[SETTINGS.horizon_minutes - 1 :]] == [None, None]
    # Other queues, and the same queue asked with other settings, are held apart.
    hold.apply(warned, start.at, SETTINGS)
    later = start.at + 60
    other = QueueLoad("sales", 5, [], HANDLE, AGENTS, 0, 30, 30)
    assert hold.apply(forecast(other, later, SETTINGS), later, SETTINGS).warning is None
    stricter = ForecastSettings(target_seconds=30)
    calm = forecast(calm_load, later, stricter)
    assert hold.apply(calm, later, stricter).warning is None
    assert hold.apply(forecast(calm_load, later, SETTINGS), later, SETTINGS).warning is not None


async def add_arrivals(
    hub: Hub, skill: str, level: int, per_minute: int, minutes: int, status: str
) -> None:
    """Conversations that arrived over the last minutes and ended as `status` at once."""
    now = utcnow()
    async with hub.sessions() as session, session.begin():
        inbox = Inbox(channel="sms", address="+15550100", name="Billing", skill=skill)
        customer = Customer(name="Pat")
        session.add_all([inbox, customer])
        await session.flush()
        for minute in range(minutes):
            for k in range(per_minute):
                at = now - timedelta(minutes=minute, seconds=5 + k)
                session.add(
                    Conversation(
                        customer_id=customer.id,
                        inbox_id=inbox.id,
                        channel="sms",
                        status=status,
                        required_skill=skill,
                        min_level=level,
                        created_at=at,
                        closed_at=at,
                    )
                )


async def test_supervisors_read_warnings_for_a_queue_without_enough_agents(hub: Hub) -> None:
    await hub.add_agent("alice", skills={"billing": 6}, status="available")
    await hub.add_agent("bob", skills={"billing": 2}, status="available")  # below the level
    await hub.add_agent("sam", role="supervisor")
    await hub.add_agent("ann")
    await add_arrivals(hub, "billing", 5, per_minute=3, minutes=20, status="abandoned")
    sam = await hub.login("sam")
    ann = await hub.login("ann")

    outlook = await sam.get("/api/supervisor/forecast?horizon=30&target=30&level=0.9")
    assert outlook["horizon_minutes"] == 30
    (billing,) = outlook["queues"]
    assert billing["queue"] == "billing" and billing["level"] == 5
    assert billing["agents"] == 1  # bob's billing 2 does not count
    assert billing["minutes_to_breach"] is not None and billing["agents_to_add"] >= 2
    (warning,) = outlook["warnings"]
    assert warning["queue"] == "billing"
    assert warning["text"].startswith("billing will miss 90/30 ")
    assert "with billing 5 or better would hold it" in warning["text"]

    for bad in ("horizon=0", "level=1.5", "target=soon", "window=3"):
        response = await sam.http.get(f"api/supervisor/forecast?{bad}")
        assert response.status == 400, bad
        assert bad.split("=")[0] in await response.text()
    response = await ann.http.get("api/supervisor/forecast")
    assert response.status == 403
    await sam.close()
    await ann.close()


async def test_no_warning_when_the_queue_is_quiet(hub: Hub) -> None:
    for name in ("alice", "bob", "carol"):
        await hub.add_agent(name, skills={"billing": 6}, status="available")
    await hub.add_agent("sam", role="supervisor")
    await add_arrivals(hub, "billing", 5, per_minute=1, minutes=5, status="closed")
    sam = await hub.login("sam")
    outlook = await sam.get("/api/supervisor/forecast")
    assert [q["queue"] for q in outlook["queues"]] == ["billing"]
    assert outlook["warnings"] == [] and outlook["queues"][0]["agents"] == 3
    await sam.close()
