"""What we know about a person for matching: names, birth date, postal address, phone, email."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from routing.identity.addresses import email_key, normalize_phone
from routing.identity.phonetic import fold

__all__ = ["Profile", "split_name"]

_BLANKS = re.compile(r"\s+")
_GREETING = re.compile(r"^(this is|it's|it is|i am|i'm|my name is)\s+", re.IGNORECASE)
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam"})


@dataclass(frozen=True, slots=True)
class Profile:
    """One person's details in matching form; "" means unknown. Build it with `Profile.of`."""

    given_name: str = ""
    surname: str = ""
    birth_date: str = ""  # YYYYMMDD
    street: str = ""
    street2: str = ""
    city: str = ""
    postcode: str = ""
    state: str = ""
    phone: str = ""  # E.164
    email: str = ""  # match key (routing.identity.addresses.email_key)
    id_number: str = ""  # a document or account number the customer quotes

    @classmethod
    def of(
        cls,
        *,
        name: str = "",
        given_name: str = "",
        surname: str = "",
        birth_date: str = "",
        street: str = "",
        street2: str = "",
        city: str = "",
        postcode: str = "",
        state: str = "",
        phone: str = "",
        email: str = "",
        id_number: str = "",
        region: str = "US",
    ) -> Profile:
        """Normalize raw values; `name` is a full name split when given/surname are absent."""
        if name and not (given_name or surname):
            given_name, surname = split_name(name)
        return cls(
            given_name=fold(given_name),
            surname=fold(surname),
            birth_date="".join(c for c in birth_date if c.isdigit()),
            street=_text(street),
            street2=_text(street2),
            city=_text(city),
            postcode=_text(postcode).replace(" ", ""),
            state=_text(state),
            phone=(normalize_phone(phone, region) or "") if phone else "",
            email=(email_key(email) or "") if email else "",
            id_number="".join(c for c in id_number if c.isalnum()).lower(),
        )

    def is_empty(self) -> bool:
        return not any(getattr(self, f.name) for f in fields(self))


def split_name(full: str) -> tuple[str, str]:
    """(given, surname) from "Jane Smith", "Smith, Jane", "Dr. Jane Q. Smith", "this is Jane"."""
    text = _GREETING.sub("", _BLANKS.sub(" ", full.strip()))
    if "," in text:
        surname, _, given = text.partition(",")
        given_words = given.split()
        return (given_words[0] if given_words else ""), surname.strip()
    words = [w for w in text.split(" ") if w and fold(w) not in _TITLES]
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], ""
    return words[0], words[-1]


def _text(value: str) -> str:
    return _BLANKS.sub(" ", value.strip().lower())
