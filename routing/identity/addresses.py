"""Exact identity keys: one canonical string per phone number, email, chat token or CRM id.

Two addresses that normalize to the same key belong to the same customer. The stored
address keeps what the customer would recognise (an email keeps its +tag outside
Gmail); the match key drops what never distinguishes people.
"""

from __future__ import annotations

from email.utils import parseaddr

import phonenumbers

__all__ = [
    "GMAIL_DOMAINS",
    "PHONE_CHANNELS",
    "address_key",
    "chat_key",
    "email_key",
    "external_key",
    "normalize_email",
    "normalize_phone",
]

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
PHONE_CHANNELS = frozenset({"sms", "voice", "whatsapp", "phone"})


def normalize_phone(raw: str, region: str = "US") -> str | None:
    """The number in E.164 (+14155550123), or None when it cannot be a phone number.

    `region` is where a number written without a country code is assumed to be.
    """
    text = raw.strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str) -> str | None:
    """The address as stored: lowercased, and for Gmail without dots and +tags.

    Gmail ignores both, so "J.Smith+promo@GoogleMail.com" and "jsmith@gmail.com"
    are one mailbox; other providers may give dots and tags a meaning, so they stay.
    """
    _name, address = parseaddr(raw.strip())
    local, at, domain = address.strip().lower().rpartition("@")
    if not at or not local or "." not in domain or " " in address:
        return None
    domain = domain.rstrip(".")
    if domain in GMAIL_DOMAINS:
        local = local.partition("+")[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}" if local else None


def email_key(raw: str) -> str | None:
    """The match key: the stored form with any +tag removed, whatever the provider."""
    address = normalize_email(raw)
    if address is None:
        return None
    local, _, domain = address.rpartition("@")
    local = local.partition("+")[0]
    return f"{local}@{domain}" if local else None


def chat_key(token: str) -> str | None:
    """A web chat identity token (opaque, case-sensitive) as a key."""
    token = token.strip()
    return f"chat:{token}" if token else None


def external_key(external_id: str) -> str | None:
    """A CRM external id as a key; ids are opaque, only surrounding blanks are dropped."""
    external_id = external_id.strip()
    return f"ext:{external_id}" if external_id else None


def address_key(channel: str, address: str, region: str = "US") -> str | None:
    """The exact key for a customer's address on a channel, or None if it is unusable."""
    if channel == "email":
        key = email_key(address)
        return None if key is None else f"email:{key}"
    if channel in PHONE_CHANNELS:
        phone = normalize_phone(address, region)
        return None if phone is None else f"phone:{phone}"
    if channel in ("chat", "webchat"):
        return chat_key(address)
    address = address.strip()
    return f"{channel}:{address}" if address else None
