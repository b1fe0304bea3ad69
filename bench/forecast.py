"""Service-level forecast benchmark: lead time and false alarms on simulated queues.

Each run is a seeded simulation of one queue (routing/simulation.py): ten agents, three
minutes' handle time, 80 % of contacts to be answered within 20 s. Burst runs hold a
steady load for two hours, then arrivals climb to almost twice that over fifteen
minutes and stay there half an hour; steady runs keep an under-loaded queue (75 %
occupancy) for eight hours. The forecast looks 15 minutes ahead, every minute.

- breach: the minute the service level a supervisor reads (last 15 minutes) falls
  below the target;
- lead time: from the first warning of the burst to that breach;
- false alarm: a warning not followed by a breach within the horizon.

- a breach met by a warning already up counts as warned, lead time from that warning's
  start (at most two horizons).

The forecast is shown as the hub runs it (warnings held until calm for a horizon) and
without the hold, as each minute's forecast alone would warn. The baseline, measured
in the same runs, warns whenever more than N contacts wait.

    python -m bench.forecast [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable
from dataclasses import dataclass

from routing.forecast import ForecastSettings, QueueLoad, WarningHold, forecast
from routing.simulation import Minute, simulate

AGENTS = 10
HANDLE = 180.0
STEADY = 2.0  # arrivals a minute: 6 Erlangs on 10 agents, 94 % within 20 s
BURST = 3.6
BURST_AT = 120
RAMP = 15
HOLD = 30
SETTINGS = ForecastSettings()

Warner = Callable[[Minute], bool]
Warners = Callable[[], Warner]  # a fresh warner (and its state) for each run


def burst_rate(t: float) -> float:
    minute = t / 60
    if minute < BURST_AT or minute >= BURST_AT + RAMP + HOLD:
        return STEADY
    return STEADY + (BURST - STEADY) * min(1.0, (minute - BURST_AT) / RAMP)


def steady_rate(t: float) -> float:
    return STEADY


def load_of(minute: Minute) -> QueueLoad:
    return QueueLoad(
        "billing",
        5,
        minute.arrivals,
        minute.handle_seconds,
        AGENTS,
        minute.waiting,
        minute.answered,
        minute.answered_in_time,
    )


def forecast_warns(settings: ForecastSettings, held: bool) -> Warners:
    def warner() -> Warner:
        hold = WarningHold()

        def warns(minute: Minute) -> bool:
            result = forecast(load_of(minute), minute.at, settings)
            if held:
                result = hold.apply(result, minute.at, settings)
            return result.warning is not None

        return warns

    return warner


def queue_length_warns(threshold: int) -> Warners:
    return lambda: lambda minute: minute.waiting > threshold


@dataclass
class Score:
    lead_times: list[float]
    missed: int  # breaches with no warning before them
    false_alarms: int
    hours: float


def score(minutes: list[Minute], warns: Warner, after: int = 0) -> Score:
    """Warnings against breaches, from minute `after` on (the first minutes have no history)."""
    breaches = [
        i
        for i, m in enumerate(minutes)
        if i > after
        and m.service_level is not None
        and m.service_level < SETTINGS.target_service_level
        and (
            minutes[i - 1].service_level is None
            or minutes[i - 1].service_level >= SETTINGS.target_service_level  # type: ignore[operator]
        )
    ]
    flags = [i >= after and warns(m) for i, m in enumerate(minutes)]
    onsets = [i for i, on in enumerate(flags) if on and (i == 0 or not flags[i - 1])]
    horizon = SETTINGS.horizon_minutes
    false_alarms = sum(1 for o in onsets if not any(o <= b <= o + horizon for b in breaches))
    leads, missed = [], 0
    for b in breaches:
        warned = [o for o in onsets if b - horizon * 2 <= o <= b]
        up = [o for o in onsets if o <= b and all(flags[o : b + 1])]
        if warned or up:
            leads.append(float(min(b - (warned or up)[0], horizon * 2)))
        else:
            missed += 1
    return Score(leads, missed, false_alarms, len(minutes) / 60)


def run(runs: int) -> None:
    warners: dict[str, Warners] = {
        "forecast, held": forecast_warns(SETTINGS, held=True),
        "forecast, each minute alone": forecast_warns(SETTINGS, held=False),
    }
    for n in (5, 10):
        warners[f"queue length > {n}"] = queue_length_warns(n)
    print(f"{runs} burst runs and {runs} steady runs per method; horizon 15 min")
    header = (
        f"{'method':<30} {'burst lead min (median, min)':>29} {'missed':>7} "
        f"{'false alarms/8h burst':>22} {'false alarms/8h steady':>23}"
    )
    print(header)
    base_lead = None
    for name, warns in warners.items():
        leads: list[float] = []
        missed = burst_false = steady_false = 0
        hours_b = hours_s = 0.0
        for seed in range(runs):
            burst = list(simulate(burst_rate, AGENTS, HANDLE, BURST_AT + 90, seed))
            steady = list(simulate(steady_rate, AGENTS, HANDLE, 8 * 60, 10_000 + seed))
            b = score(burst, warns(), after=SETTINGS.lookback_minutes)
            s = score(steady, warns(), after=SETTINGS.lookback_minutes)
            leads += b.lead_times
            missed += b.missed
            burst_false += b.false_alarms
            steady_false += s.false_alarms
            hours_b += b.hours
            hours_s += s.hours
        median = statistics.median(leads) if leads else float("nan")
        least = min(leads) if leads else float("nan")
        base_lead = median if base_lead is None else base_lead
        print(
            f"{name:<30} {median:>20.1f} {least:>8.1f} {missed:>7} "
            f"{burst_false * 8 / hours_b:>22.2f} {steady_false * 8 / hours_s:>23.2f}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20)
    run(parser.parse_args(argv).runs)


if __name__ == "__main__":
    main()
