"""Signed reply addresses: `support+<conversation>.<signature>@domain`, one per conversation.

The customer's mail program answers the Reply-To, so the envelope recipient of their
answer names the conversation even when their client rewrote every threading header. The
signature (an HMAC under the hub's secret key) means nobody can guess or alter one to
write into someone else's conversation; an address that does not verify is just the inbox.
Lowercase throughout, because some mail servers lowercase the local part.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

TOKEN = re.compile(r"^([^+@]+)\+([0-9]{1,18})\.([a-z2-7]{16})@(.+)$")
PURPOSE = b"switchboard email reply-to\x00"


class ReplyAddresses:
    """Makes and checks the signed per-conversation reply addresses of email inboxes."""

    def __init__(self, secret_key: str) -> None:
        self._key = hashlib.sha256(PURPOSE + secret_key.encode()).digest()

    def address(self, inbox: str, conversation_id: int) -> str:
        """The inbox address with the conversation's signed token after a `+`."""
        local, _, domain = inbox.lower().rpartition("@")
        local = local.partition("+")[0]
        return f"{local}+{conversation_id}.{self._signature(local, conversation_id)}@{domain}"

    def conversation(self, address: str) -> int | None:
        """The conversation a reply address names, if its signature verifies; else None."""
        found = TOKEN.fullmatch(address.strip().lower())
        if found is None:
            return None
        local, reference, signature = found.group(1), int(found.group(2)), found.group(3)
        if not hmac.compare_digest(signature, self._signature(local, reference)):
            return None
        return reference

    def _signature(self, local: str, conversation_id: int) -> str:
        mac = hmac.new(self._key, f"{local}:{conversation_id}".encode(), hashlib.sha256)
        return base64.b32encode(mac.digest()[:10]).decode().lower()


def inbox_of(address: str) -> str:
    """The address without its `+token`: `support+7.abc@acme.test` is `support@acme.test`."""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}" if local else address.lower()
