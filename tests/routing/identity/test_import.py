"""A data steward imports CSV files as people save them, and every row's fate is said:
created, updated (by which key) or refused (why); nothing is merged on a guess."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from hub.models import Customer, CustomerAddress, CustomerLink
from routing.identity.cli import dedupe
from routing.identity.csv_file import read_csv
from routing.identity.importing import import_customers
from tests.routing.identity.test_identity import GIVEN, SURNAMES
from tests.support import Hub


def person(i: int) -> dict[str, str]:
    return {
        "name": f"{GIVEN[i % len(GIVEN)]} {SURNAMES[i * 7 % len(SURNAMES)]}",
        "birth_date": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
        "postcode": f"{10000 + i % 50}",
        "city": f"town {i % 50}",
        "street": f"{i} main street",
    }


def mistyped(row: dict[str, str]) -> dict[str, str]:
    """The surname's second letter dropped: "smith" -> "sith"."""
    name = row["name"]
    cut = name.index(" ") + 2
    return dict(row, name=name[:cut] + name[cut + 1 :])


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)
    return path


def switchboard(tmp_path: Path, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "customers", *args],
        env={**os.environ, "SWITCHBOARD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == code, done.stderr
    return done


def test_a_semicolon_file_is_read_and_the_report_says_so(tmp_path: Path) -> None:
    path = write(
        tmp_path / "people.csv",
        "external_id;name;email;phone\n"
        "E1;Ann Lee;ann@example.com;+14155550101\n"
        'E2;"Ray; Bob";bob@example.com;+14155550102\n',
    )
    out = switchboard(tmp_path, "import", str(path), "--format", "json")
    assert out.stderr.splitlines()[:2] == [
        "read as semicolon-separated (from the header)",
        "2 rows: created 2, updated 0, refused 0; 0 flagged as possibly the same",
    ]
    rows = json.loads(out.stdout)
    assert [(r["row"], r["outcome"], r["customer_id"]) for r in rows] == [
        (2, "created", 1),
        (3, "created", 2),
    ]


def test_a_tab_separated_file_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "people.tsv", "name\temail\nAnn Lee\tann@example.com\n")
    found = read_csv(path)
    assert (found.delimiter, found.rows) == (
        "\t",
        [(2, {"name": "Ann Lee", "email": "ann@example.com"})],
    )


async def test_a_broken_row_is_refused_and_the_rows_after_it_are_read(
    hub: Hub, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "people.csv",
        "name,email,phone,birth_date\n"
        '"Unclosed quote,b@c.d,+14155550000,1990-01-01\n'
        "Carl Diaz,carl@example.com,+14155550103,1980-05-06\n"
        "Too,many,+14155550104,1980-05-06,extra\n"
        '"Dee, D",dee@example.com,,\n',
    )
    async with hub.sessions() as session, session.begin():
        report = await import_customers(session, read_csv(path))
    assert [(o.row, o.outcome) for o in report.outcomes] == [
        (2, "refused"),
        (3, "created"),
        (4, "refused"),
        (5, "created"),
    ]
    assert report.outcomes[0].message.startswith("line 2: a quote not closed, or a stray quote")
    assert report.outcomes[2].message == "line 4 has 5 fields where the header names 4"
    async with hub.sessions() as session:
        names = list(await session.scalars(select(Customer.name).order_by(Customer.id)))
    assert names == ["Carl Diaz", "Dee, D"]


async def test_bad_dates_emails_and_phones_are_left_out_with_a_warning(
    hub: Hub, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "people.csv",
        "external_id,name,email,phone,birth_date,city\n"
        "E1,Ann Lee,x@,+14155550101,31/02/1990,Oakland\n"
        "E2,Bob Ray,bob@example.com,12,1990-02-31,Boston\n"
        ",,x@,12,,\n",
    )
    async with hub.sessions() as session, session.begin():
        report = await import_customers(session, read_csv(path))
    assert [(o.row, o.outcome, o.message) for o in report.outcomes] == [
        (
            2,
            "created",
            'birth_date "31/02/1990" is not a date written YYYY-MM-DD (like 1990-02-28);'
            ' imported without it; email "x@" is not an email address; imported without it',
        ),
        (
            3,
            "created",
            'birth_date "1990-02-31" is not a date written YYYY-MM-DD (like 1990-02-28);'
            ' imported without it; phone "12" is not a phone number (without +country code'
            " it is read as US); imported without it",
        ),
        (
            4,
            "refused",
            'email "x@" is not an email address; imported without it; phone "12" is not a'
            " phone number (without +country code it is read as US); imported without it;"
            " no name, usable address or external id",
        ),
    ]
    async with hub.sessions() as session:
        ann = await session.scalar(select(Customer).where(Customer.external_id == "E1"))
        addresses = set(await session.scalars(select(CustomerAddress.address)))
    assert ann is not None and ann.details == {"city": "Oakland"}
    assert addresses == {"+14155550101", "bob@example.com"}


async def test_a_new_external_id_on_a_known_phone_is_flagged_never_merged(
    hub: Hub, tmp_path: Path
) -> None:
    first = write(tmp_path / "a.csv", "external_id,name,phone\nE1,Ann Lee,+14155550101\n")
    second = write(
        tmp_path / "b.csv",
        "external_id,name,phone,email\nE2,Ann Lee,(415) 555-0101,ann@example.com\n",
    )
    async with hub.sessions() as session, session.begin():
        await import_customers(session, read_csv(first))
    async with hub.sessions() as session, session.begin():
        report = await import_customers(session, read_csv(second))
    (row,) = report.outcomes
    assert (row.outcome, row.customer_id, row.matched_by) == ("created", 2, "")
    assert row.message == (
        "external id E2 is new but phone +14155550101 belongs to customer 1 (external id E1);"
        " left with them; created customer 2, flagged as possibly the same as customer 1"
        " (probability 0.50)"
    )
    async with hub.sessions() as session:
        owners = dict(
            list(
                await session.execute(select(CustomerAddress.address, CustomerAddress.customer_id))
            )
        )
        new = await session.get(Customer, 2)
    assert owners == {"+14155550101": 1, "ann@example.com": 2}
    assert new is not None and new.external_id == "E2"

    # The pair is on the duplicate review page, and a re-import does not propose it twice.
    async with hub.sessions() as session, session.begin():
        await import_customers(session, read_csv(second))
    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    try:
        pairs = (await sam.get("/api/customer-links"))["pairs"]
        assert [(p["newer"]["id"], p["known"]["id"]) for p in pairs] == [(2, 1)]
        status, _ = await sam.post(f"/api/customer-links/{pairs[0]['link_id']}/dismiss")
        assert status == 200
    finally:
        await sam.close()
    # Dismissed as not the same: a later import of the same row leaves it decided.
    async with hub.sessions() as session, session.begin():
        report = await import_customers(session, read_csv(second))
        links = list(await session.scalars(select(CustomerLink)))
    assert report.possible == []
    assert len(links) == 1 and links[0].resolved_at is not None


async def test_rows_match_each_other_and_known_people_by_exact_keys(
    hub: Hub, tmp_path: Path
) -> None:
    first = write(
        tmp_path / "a.csv",
        "name,email,phone\n"
        "Ann Lee,ann@example.com,\n"
        "Bob Ray,,+14155550102\n"
        "Ann Lee,ANN@example.com,+14155550101\n",
    )
    async with hub.sessions() as session, session.begin():
        report = await import_customers(session, read_csv(first))
    # The same email twice in one file is one customer.
    assert [(o.row, o.outcome, o.customer_id, o.matched_by) for o in report.outcomes] == [
        (2, "created", 1, ""),
        (3, "created", 2, ""),
        (4, "updated", 1, "email"),
    ]
    # A second file of known people says which row went to whom, and keeps the CRM ids.
    second = write(
        tmp_path / "b.csv",
        "external_id,name,email,phone\n"
        "C-2,Bob Ray,,4155550102\n"
        "C-1,Ann Lee,,+14155550101\n"
        "C-2,Robert Ray,,\n"
        "C-3,Carl Diaz,carl@example.com,\n",
    )
    async with hub.sessions() as session, session.begin():
        report = await import_customers(session, read_csv(second))
    assert [(o.row, o.outcome, o.customer_id, o.matched_by) for o in report.outcomes] == [
        (2, "updated", 2, "phone"),
        (3, "updated", 1, "phone"),
        (4, "updated", 2, "external id"),
        (5, "created", 3, ""),
    ]
    async with hub.sessions() as session:
        found = list(
            await session.execute(select(Customer.id, Customer.external_id, Customer.name))
        )
    assert sorted(found) == [
        (1, "C-1", "Ann Lee"),
        (2, "C-2", "Robert Ray"),
        (3, "C-3", "Carl Diaz"),
    ]


def test_the_report_file_has_every_row_and_dedupe_lists_pairs_plainly(tmp_path: Path) -> None:
    rows = [person(i) for i in range(150)]
    people = write_rows(tmp_path / "people.csv", [*rows, *map(mistyped, rows[:20])])
    report = tmp_path / "report.csv"
    out = switchboard(tmp_path, "import", str(people), "--report", str(report)).stdout
    assert out.splitlines()[0] == (
        "170 rows: created 170, updated 0, refused 0; 20 flagged as possibly the same"
    )
    assert out.splitlines()[-1] == f"every row's outcome is in {report}"
    with report.open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == 170 and list(lines[0]) == [
        "row",
        "outcome",
        "customer_id",
        "matched_by",
        "probability",
        "message",
    ]
    twin = lines[150]
    assert (twin["row"], twin["outcome"], twin["customer_id"]) == ("152", "created", "151")
    assert twin["message"].startswith(
        "created customer 151, flagged as possibly the same as customer 1"
    )

    text = switchboard(tmp_path, "dedupe", "--min-probability", "0.95").stdout.splitlines()
    assert text[0] == "20 pairs at or above probability 0.95"
    _probability, first_id, first_name = text[1].split("  ~  ")[0].split(None, 2)
    assert first_name == rows[int(first_id) - 1]["name"]  # plainly, without quotes
    assert "'" not in "\n".join(text)
    pairs = json.loads(
        switchboard(tmp_path, "dedupe", "--min-probability", "0.95", "--format", "json").stdout
    )
    assert sorted((p["first_id"], p["second_id"]) for p in pairs) == [
        (i + 1, 151 + i) for i in range(20)
    ]
    assert set(pairs[0]) == {
        "first_id",
        "first_external_id",
        "first_name",
        "second_id",
        "second_external_id",
        "second_name",
        "probability",
        "action",
    }
    assert all(p["probability"] >= 0.95 for p in pairs)
    assert {p["first_name"] for p in pairs} == {r["name"] for r in rows[:20]}
    listed = switchboard(tmp_path, "dedupe", "--format", "csv").stdout.splitlines()
    assert listed[0] == (
        "first_id,first_external_id,first_name,second_id,second_external_id,second_name,"
        "probability,action"
    )


async def test_merge_above_leaves_pairs_people_separated(hub: Hub, tmp_path: Path) -> None:
    rows = [person(i) for i in range(150)]
    people = write_rows(tmp_path / "people.csv", [*rows, *map(mistyped, rows[:3])])
    async with hub.sessions() as session, session.begin():
        await import_customers(session, read_csv(people))
        links = {
            link.customer_id: link.id
            for link in await session.scalars(select(CustomerLink).order_by(CustomerLink.id))
        }
    await hub.add_agent("sam", role="supervisor")
    sam = await hub.login("sam")
    try:
        status, merged = await sam.post(f"/api/customer-links/{links[151]}/merge")
        assert status == 200
        status, _ = await sam.post(f"/api/merges/{merged['merge_id']}/undo")
        assert status == 200
        status, _ = await sam.post(f"/api/customer-links/{links[152]}/dismiss")
        assert status == 200
    finally:
        await sam.close()
    async with hub.sessions() as session, session.begin():
        lines, pairs = await dedupe(session, "US", 0.95, 0.95)
    actions = {(p["first_id"], p["second_id"]): p["action"] for p in pairs}
    assert actions == {
        (1, 151): f"skipped: merge {merged['merge_id']} of these two was undone",
        (2, 152): "skipped: marked not the same",
        (3, 153): "merged (merge 2)",
    }
    async with hub.sessions() as session:
        separate = list(
            await session.scalars(select(Customer.id).where(Customer.merged_into_id.is_not(None)))
        )
    assert separate == [153]
