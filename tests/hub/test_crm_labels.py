"""Timeline kinds are shown in words: the labels the customer page and the console read."""

from __future__ import annotations

from hub import crm


def test_known_kinds_have_their_own_words() -> None:
    assert crm.label("conversation.assigned") == "Assigned"
    assert crm.label("sms.opted_out") == "Stopped texts"


def test_a_kind_without_a_label_is_spelt_out_rather_than_shown_raw() -> None:
    assert crm.label("conversation.snoozed_until") == "Conversation snoozed until"
    assert crm.label("") == "Event"


def test_every_label_is_words_not_a_kind_name() -> None:
    for kind, words in crm.LABELS.items():
        assert words and "." not in words and "_" not in words, kind
