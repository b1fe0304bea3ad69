"""Search snippets: the text as written around the first hit, hits marked, both backends alike."""

from __future__ import annotations

from hub.fulltext import search_words, snippet


def test_a_snippet_is_the_text_around_the_first_hit_with_hits_marked() -> None:
    text = " ".join(f"w{n}" for n in range(100)) + " the Café closed, café!"
    pieces = snippet(text, ["cafe"], width=12)
    assert pieces[0] == ("…", False)
    assert [t for t, hit in pieces if hit] == ["Café", "café"]
    assert "".join(t for t, _ in pieces).endswith("the Café closed, café!")
    assert snippet("short <b>text</b>", ["nothing"]) == [("short <b>text</b>", False)]
    assert snippet("", ["x"]) == []


def test_only_words_count_in_a_query() -> None:
    assert search_words('"parcel" OR x* -(y)') == ["parcel", "OR", "x", "y"]
    assert search_words(" !! ") == []
