"""Who is this customer: exact keys, then fuzzy matching with weights learned from the data."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, replace

import pytest

from routing.identity.addresses import (
    address_key,
    chat_key,
    email_key,
    external_key,
    normalize_email,
    normalize_phone,
)
from routing.identity.blocking import BlockIndex, block_keys
from routing.identity.index import CustomerIndex, clusters
from routing.identity.phonetic import soundex
from routing.identity.profile import Profile, split_name

# -- exact keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("(415) 555-0123", "US", "+14155550123"),
        ("+1 415.555.0123", "GB", "+14155550123"),
        ("tel:+14155550123", "US", "+14155550123"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("+49 30 901820", "US", "+4930901820"),
    ],
)
def test_phone_numbers_become_e164(raw: str, region: str, e164: str) -> None:
    assert normalize_phone(raw, region) == e164


@pytest.mark.parametrize("raw", ["", "hello", "12", "+1 415 555 0123 4567 8901"])
def test_what_cannot_be_a_phone_number_is_refused(raw: str) -> None:
    assert normalize_phone(raw) is None


def test_the_default_region_decides_numbers_without_a_country_code() -> None:
    assert normalize_phone("030 901820", "DE") == "+4930901820"
    assert normalize_phone("030 901820", "US") != "+4930901820"


@pytest.mark.parametrize(
    ("raw", "stored", "key"),
    [
        ("Jane.Doe@Example.COM", "jane.doe@example.com", "jane.doe@example.com"),
        ("J.Smith+promo@GoogleMail.com", "jsmith@gmail.com", "jsmith@gmail.com"),
        ("j.s.m.i.t.h@gmail.com", "jsmith@gmail.com", "jsmith@gmail.com"),
        # Other providers may route on the tag: stored as given, only the key drops it.
        ("jane+billing@example.org", "jane+billing@example.org", "jane@example.org"),
        ("Jane Doe <Jane@Example.org>", "jane@example.org", "jane@example.org"),
    ],
)
def test_emails_are_normalized_per_provider(raw: str, stored: str, key: str) -> None:
    assert normalize_email(raw) == stored
    assert email_key(raw) == key


@pytest.mark.parametrize("raw", ["", "jane", "jane@", "@example.com", "jane@localhost"])
def test_what_is_not_an_email_address_is_refused(raw: str) -> None:
    assert normalize_email(raw) is None
    assert email_key(raw) is None


def test_every_channel_address_has_one_exact_key() -> None:
    assert address_key("sms", "(415) 555-0123") == address_key("voice", "+14155550123")
    assert address_key("sms", "+14155550123") == "phone:+14155550123"
    assert address_key("email", "J.Smith+x@gmail.com") == "email:jsmith@gmail.com"
    assert address_key("chat", " tok-AbC ") == "chat:tok-AbC" == chat_key("tok-AbC")
    assert chat_key("tok-abc") != chat_key("tok-ABC")  # tokens are opaque
    assert external_key(" CRM-42 ") == "ext:CRM-42"
    assert address_key("sms", "not a number") is None
    assert address_key("chat", "  ") is None


def test_soundex_follows_the_standard() -> None:
    assert soundex("Robert") == soundex("Rupert") == "R163"
    assert soundex("Ashcraft") == "A261"  # h does not separate s and c
    assert soundex("Tymczak") == "T522"
    assert soundex("Pfister") == "P236"
    assert soundex("Honeyman") == "H555"
    assert soundex("Lee") == "L000"
    assert soundex("Müller") == soundex("Muller")
    assert soundex("") == ""


@pytest.mark.parametrize(
    ("full", "given", "surname"),
    [
        ("Jane Smith", "Jane", "Smith"),
        ("Smith, Jane", "Jane", "Smith"),
        ("Dr. Jane Q. Smith", "Jane", "Smith"),
        ("this is Jane Smith", "Jane", "Smith"),
        ("Jane", "Jane", ""),
        ("", "", ""),
    ],
)
def test_full_names_are_split(full: str, given: str, surname: str) -> None:
    assert split_name(full) == (given, surname)


def test_a_profile_normalizes_what_it_is_given() -> None:
    profile = Profile.of(
        name="José  O'Neil",
        birth_date="1980-04-09",
        phone="(415) 555-0123",
        email="Jose.ONeil+x@Example.com",
        postcode=" 94 110 ",
        city="San  Francisco",
    )
    assert profile.given_name == "jose"
    assert profile.surname == "oneil"
    assert profile.birth_date == "19800409"
    assert profile.phone == "+14155550123"
    assert profile.email == "jose.oneil@example.com"
    assert profile.postcode == "94110"
    assert profile.city == "san francisco"
    assert Profile().is_empty() and not profile.is_empty()


# -- fuzzy matching -----------------------------------------------------------------------

GIVEN = (
    "james mary robert patricia john jennifer michael linda david elizabeth william barbara"
    " richard susan joseph jessica thomas sarah charles karen christopher lisa daniel nancy"
    " matthew betty anthony margaret mark sandra donald ashley steven kimberly paul emily"
    " andrew donna joshua michelle kenneth carol kevin amanda brian dorothy george melissa"
).split()
SURNAMES = (
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez"
    " lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson"
    " white harris sanchez clark ramirez lewis robinson walker young allen king wright scott"
    " torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter"
    " roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart"
    " morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed"
    " kelly howard ramos kim cox ward richardson watson brooks chavez wood james bennett"
).split()
# Real customer bases have far more surnames than a top-100 list.
SURNAMES = [
    base + ending for base in SURNAMES for ending in ("", "son", "ley", "er", "ford", "ham")
]
STREETS = "oak pine maple cedar elm view washington lake hill park main church".split()
CITIES = "springfield riverside franklin greenville bristol clinton salem fairview".split()


def _typo(word: str, rng: random.Random) -> str:
    at = rng.randrange(1, len(word))
    if rng.random() < 0.5:
        return word[:at] + word[at + 1 :]
    return word[:at] + rng.choice(string.ascii_lowercase) + word[at:]


def _person(rng: random.Random) -> Profile:
    city = rng.randrange(len(CITIES))
    given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
    return Profile(
        given_name=given,
        surname=surname,
        birth_date=f"{rng.randint(1940, 2004)}{rng.randint(1, 12):02}{rng.randint(1, 28):02}",
        street=f"{rng.randint(1, 400)} {rng.choice(STREETS)} street",
        city=CITIES[city],
        postcode=f"{10000 + city * 10 + rng.randint(0, 9)}",
        phone=f"+1415{rng.randint(2_000_000, 9_999_999)}" if rng.random() < 0.5 else "",
        email=f"{given}.{surname}{rng.randint(1, 99)}@example.com" if rng.random() < 0.5 else "",
    )


def _copy_with_typos(p: Profile, rng: random.Random) -> Profile:
    """The same person, as a second record: a typo or two, some fields missing."""
    return replace(
        p,
        surname=_typo(p.surname, rng) if rng.random() < 0.5 else p.surname,
        given_name=_typo(p.given_name, rng) if rng.random() < 0.2 else p.given_name,
        street=p.street if rng.random() < 0.7 else "",
        phone=p.phone if rng.random() < 0.5 else "",
        email="",
    )


POPULATION = 3000
COPIES = 300


@dataclass
class Population:
    """3,000 customers, 300 second records of some of them (copy id -> original id),
    and 200 new contacts from other customers, typos and all (contact -> customer id)."""

    index: CustomerIndex
    copies: dict[int, int]
    contacts: list[tuple[Profile, int]]


def _population(seed: int) -> Population:
    rng = random.Random(seed)
    index = CustomerIndex()
    people = [_person(rng) for _ in range(POPULATION)]
    index.add_many(enumerate(people))
    chosen = rng.sample(range(POPULATION), COPIES + 200)
    copies = {POPULATION + n: i for n, i in enumerate(chosen[:COPIES])}
    index.add_many((c, _copy_with_typos(people[i], rng)) for c, i in copies.items())
    contacts = [(_copy_with_typos(people[i], rng), i) for i in chosen[COPIES:]]
    index.estimate(seed=seed)
    return Population(index, copies, contacts)


@pytest.fixture(scope="module")
def population() -> Population:
    return _population(seed=1)


def test_weights_are_learned_from_the_data_not_fixed(
    population: Population,
) -> None:
    model = population.index.model
    assert model is not None
    for field_weights in model.weights:
        assert field_weights[-1] > 0 > field_weights[0] or field_weights[-1] == field_weights[0]
    names = dict(zip(("given_name", "surname", "birth_date"), model.weights, strict=False))
    # A birth date is shared by fewer strangers than a first name from a short list.
    assert names["birth_date"][-1] > names["given_name"][-1]
    other = _population(seed=2).index.model
    assert other is not None and other.weights != model.weights
    assert 0 < model.prior < 1


def test_blocking_finds_a_typo_in_the_name() -> None:
    blocks = BlockIndex()
    stored = Profile.of(name="Catherine Johnson", birth_date="1980-04-09", postcode="10020")
    blocks.add(7, block_keys(stored))
    blocks.add(8, block_keys(Profile.of(name="Peter Brown", postcode="20000")))
    for typo in (
        "Katherine Johnson",
        "Catherine Jonhson",
        "Catherine Johnsen",
        "Johnson Catherine",
    ):
        query = Profile.of(name=typo, birth_date="1980-04-09", postcode="10020")
        assert 7 in blocks.candidates(block_keys(query)), typo
        assert 8 not in blocks.candidates(block_keys(query))


def test_a_contact_with_typos_links_to_the_customer(population: Population) -> None:
    linked = 0
    for profile, customer_id in population.contacts:
        found = population.index.find(profile)
        assert customer_id in {c.customer_id for c in found.candidates}
        linked += (found.status, found.customer_id) == ("linked", customer_id)
    assert linked >= 0.95 * len(population.contacts)


def test_two_stored_customers_equally_likely_are_not_guessed_between(
    population: Population,
) -> None:
    copy, original = next(iter(population.copies.items()))
    profile = population.index.profile(copy)
    assert profile is not None
    found = population.index.find(profile)
    assert found.status == "possible"
    assert {copy, original} <= {c.customer_id for c in found.candidates}


def test_a_stranger_is_new_even_when_sharing_a_name(
    population: Population,
) -> None:
    index = population.index
    someone = index.profile(0)
    assert someone is not None
    stranger = replace(
        someone,
        birth_date="19010101",
        street="1 nowhere lane",
        city="atlantis",
        postcode="99999",
        phone="",
        email="",
    )
    assert index.find(stranger).status == "new"
    assert index.find(Profile.of(name="Zebedee Quixote", postcode="55555")).status == "new"


def test_a_doubtful_match_is_reported_not_linked(population: Population) -> None:
    index = population.index
    profile, customer_id = population.contacts[0]
    # The name alone, spelled right: likely the customer, but a name is not identity.
    by_name = Profile(given_name=profile.given_name, surname=profile.surname)
    stored = index.profile(customer_id)
    assert stored is not None
    by_name = replace(by_name, given_name=stored.given_name, surname=stored.surname)
    found = index.find(by_name)
    assert found.status == "possible" and found.customer_id is None
    assert customer_id in {c.customer_id for c in found.candidates}
    assert all(c.probability >= index.possible_threshold for c in found.candidates)
    # With the birth date as well it is confident.
    with_birth_date = replace(by_name, birth_date=stored.birth_date)
    assert index.find(with_birth_date).customer_id == customer_id


def test_exact_keys_win_before_any_fuzzy_matching(
    population: Population,
) -> None:
    index = population.index
    key = address_key("email", "Only.Me+news@example.net")
    assert key is not None
    index.add_keys(5, [key])
    found = index.find(
        Profile.of(name="Someone Else"), [address_key("email", "only.me@example.net") or ""]
    )
    assert (found.status, found.customer_id) == ("linked", 5)
    assert found.candidates[0].reason == key


def test_dedupe_ranks_the_second_records_first(
    population: Population,
) -> None:
    index = population.index
    truth = {(original, copy) for copy, original in population.copies.items()}
    ranked = index.duplicates()
    probabilities = [p for _a, _b, p in ranked]
    assert probabilities == sorted(probabilities, reverse=True)
    confident = {(a, b) for a, b, p in ranked if p >= index.link_threshold}
    found = len(confident & truth)
    assert found >= 0.95 * len(truth)
    assert found >= 0.95 * len(confident)


def test_the_index_forgets_and_updates_customers() -> None:
    index = _population(seed=3).index
    jane = Profile.of(name="Jane Quartermaine", birth_date="1970-01-02", postcode="10030")
    index.add(9000, jane, ["phone:+14155550100"])
    assert index.find(jane).customer_id == 9000
    index.remove(9000)
    assert index.find(jane).status == "new"
    assert index.find(Profile(), ["phone:+14155550100"]).status == "new"
    index.add(9001, jane)
    assert index.find(jane).customer_id == 9001


def test_big_common_blocks_are_skipped_and_recent_additions_fold_in() -> None:
    blocks = BlockIndex(max_block=3, fold_every=4)
    for i in range(5):
        blocks.add(i, ["common", f"own{i}"])
    assert blocks.block("common") == []  # five share it: no signal
    assert blocks.block("own2") == [2]
    blocks.remove(2)
    assert blocks.block("own2") == []
    blocks.fold()
    assert len(blocks) == 8
    assert sorted(blocks.candidates(["own1", "own3", "own1"])) == [1, 3]
    assert blocks.candidates(["own1", "own3", "own1"], limit=1) == [1]


def test_links_gather_into_clusters() -> None:
    assert clusters([(1, 2), (3, 4), (2, 5), (6, 6)]) == [[1, 2, 5], [3, 4]]


def test_without_learned_weights_only_exact_keys_match() -> None:
    index = CustomerIndex()
    jane = Profile.of(name="Jane Smith", birth_date="1980-04-09")
    index.add(1, jane, ["email:jane@example.com"])
    assert index.find(jane).status == "new"
    assert index.find(Profile(), ["email:jane@example.com"]).customer_id == 1
    with pytest.raises(ValueError, match="at least two"):
        index.estimate()
    index.add(2, Profile.of(name="Omar Haddad", birth_date="1975-01-02"))
    with pytest.raises(ValueError, match="too few"):
        index.estimate()  # nobody shares anything to learn from
