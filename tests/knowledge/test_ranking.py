"""Ranking through `Knowledge.suggest` on a real database: which article, which passage, how."""

from __future__ import annotations

import threading

import pytest

from agent_console.keys import KNOWLEDGE
from hub.models import KnowledgeArticle
from knowledge.embeddings import Encoder, load_encoder
from knowledge.index import ArticleIndex, Document
from knowledge.search import RECHECK, Knowledge
from tests.support import Hub, eventually

ARTICLES = [
    KnowledgeArticle(
        title="Card delivery",
        body="New cards arrive within 5 working days. Track the delivery in the app.",
        tags=["cards"],
        questions=["When will my new card arrive?", "Is my card still coming?"],
    ),
    KnowledgeArticle(
        title="Exchange rates",
        body="We use the interbank rate. A fee of 0.5% applies on weekends.",
        tags=["fx"],
        questions=["What rate do you use to convert currency?"],
    ),
    KnowledgeArticle(
        title="Top up by bank transfer",
        body="Send money from your bank to the IBAN shown in the app. It arrives in a day.",
        tags=["top-up"],
        questions=["How do I add money with a transfer?"],
    ),
]


async def seed(hub: Hub) -> dict[str, int]:
    async with hub.sessions() as session, session.begin():
        copies = [
            KnowledgeArticle(title=a.title, body=a.body, tags=a.tags, questions=a.questions)
            for a in ARTICLES
        ]
        session.add_all(copies)
        await session.flush()
        return {a.title: a.id for a in copies}


async def test_example_questions_typos_and_short_queries_find_the_article(hub: Hub) -> None:
    ids = await seed(hub)
    suggest = hub.app[KNOWLEDGE].suggest

    found = await suggest("still waiting for my card, is it coming?")
    assert found[0].article_id == ids["Card delivery"]
    assert found[0].passage == "Is my card still coming?"
    assert "lexical" in found[0].method and 0 < found[0].score <= 1

    assert (await suggest("exchnage rate on weekend"))[0].title == "Exchange rates"
    assert (await suggest("delivry"))[0].title == "Card delivery"
    assert (await suggest("iban"))[0].title == "Top up by bank transfer"
    fee = await suggest("is there a fee at the weekend?")
    assert fee[0].snippet == "A fee of 0.5% applies on weekends."


async def test_a_short_follow_up_is_searched_with_the_conversation_so_far(hub: Hub) -> None:
    await seed(hub)
    suggest = hub.app[KNOWLEDGE].suggest
    history = ["Hi, I sent money from my bank to top up", "Thanks for waiting"]
    found = await suggest("how long does it take?", history=history)
    assert found[0].title == "Top up by bank transfer"


async def test_other_scripts_and_unknown_words_find_nothing(hub: Hub) -> None:
    await seed(hub)
    suggest = hub.app[KNOWLEDGE].suggest
    assert await suggest("Где моя карта?") == []
    assert await suggest("カードはいつ届きますか") == []
    assert await suggest("zzzz qqqq") == []
    assert await suggest("   \n\t ") == []


async def test_the_index_is_kept_until_an_article_changes(hub: Hub) -> None:
    ids = await seed(hub)
    knowledge = hub.app[KNOWLEDGE]
    first = await knowledge.index()
    assert await knowledge.index() is first
    # Written straight to the database, as another hub process would: seen within RECHECK.
    async with hub.sessions() as session, session.begin():
        session.add(KnowledgeArticle(title="Lost card", body="Freeze it in the app at once."))

    async def lost_card_first() -> bool:
        return (await knowledge.suggest("I lost my card"))[0].title == "Lost card"

    assert await eventually(lost_card_first, timeout=RECHECK * 4)
    rebuilt = await knowledge.index()
    assert rebuilt is not first and rebuilt.size == 4

    async with hub.sessions() as session, session.begin():
        article = await session.get(KnowledgeArticle, ids["Exchange rates"])
        assert article is not None
        await session.delete(article)
    knowledge.invalidate()
    assert (await knowledge.index()).size == 3


def test_fusion_merges_rankers_and_says_which_found_it() -> None:
    index = ArticleIndex(
        [
            Document(1, "Password reset", "Use Forgot password.", questions=("I can't log in",)),
            Document(2, "Refunds", "Refunds take 5 to 10 days.", tags=("billing",)),
        ]
    )
    assert index.methods == ("lexical", "fuzzy")
    hit = index.search("pasword reset")[0]
    assert (hit.article_id, hit.methods) == (1, ("lexical", "fuzzy"))
    assert [h.article_id for h in index.search("refnd", methods=["fuzzy"])] == [2]
    assert index.search("refnd", methods=["lexical"]) == []
    assert index.search("") == [] and ArticleIndex([]).search("refund") == []


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    loaded = load_encoder()
    assert loaded is not None
    return loaded


def test_embeddings_find_an_article_by_meaning(encoder: Encoder) -> None:
    index = ArticleIndex(
        [
            Document(1, "Card delivery", "New cards arrive within 5 working days."),
            Document(2, "Exchange rates", "We use the interbank rate for currencies."),
        ],
        encoder,
    )
    assert index.methods == ("lexical", "fuzzy", "embeddings")
    hit = index.search("the parcel with my plastic has not shown up", methods=["embeddings"])[0]
    assert hit.article_id == 1 and hit.methods == ("embeddings",)


async def test_suggestions_say_when_embeddings_answered(hub: Hub, encoder: Encoder) -> None:
    ids = await seed(hub)
    knowledge = Knowledge(hub.sessions, encoder)
    found = await knowledge.suggest("my plastic has not turned up in the post yet")
    assert found[0].article_id == ids["Card delivery"]
    assert "embeddings" in found[0].method.split("+")


async def test_the_model_loads_on_first_need_while_suggestions_stay_lexical(
    hub: Hub, encoder: Encoder
) -> None:
    ids = await seed(hub)
    ready = threading.Event()
    asked: list[bool] = []

    def load() -> Encoder:
        asked.append(True)
        ready.wait(30)
        return encoder

    knowledge = Knowledge(hub.sessions, load=load)
    assert asked == [] and knowledge.methods == ("lexical", "fuzzy")
    question = "When will my new card arrive?"
    first = await knowledge.suggest(question)
    assert first[0].article_id == ids["Card delivery"]
    assert "embeddings" not in first[0].method.split("+")
    ready.set()

    async def by_meaning() -> bool:
        found = await knowledge.suggest(question)
        return "embeddings" in found[0].method.split("+")

    await eventually(by_meaning)
    assert asked == [True] and knowledge.methods == ("lexical", "fuzzy", "embeddings")
    await knowledge.close()
