"""What makes one channel different from another, declared once by each channel.

Every channel module declares a `ChannelTraits`; `hub/app.py` registers them in one
`ChannelRegistry` and hands it to intake, conversations, routing and the console, which
read a channel's threading, capacity, reply options and consent rule from there and
nowhere else. Asking the registry for a channel nobody registered is an error, never a
silent default.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ChannelTraits:
    """One channel's traits. `name` is how contacts, inboxes and addresses name it."""

    name: str
    # How people read it on the admin page: "SMS", not "Sms".
    label: str
    # Contacts of it one agent holds at once when the admin set nothing else.
    default_capacity: int
    # The channel a reply to one of its addresses goes out on (a caller's number takes a
    # text); None when it cannot be answered at all.
    replies_on: str | None
    # What the reply box calls answering in its own conversation ("Call"); the label if "".
    reply_label: str = ""
    # Conversations follow message-id threads (a new subject is a new conversation)
    # rather than "the customer's open conversation on this inbox".
    threaded: bool = False
    # One customer may write from several addresses at once (chat visitors who gave the
    # same email): a conversation goes on only with the address it came from.
    per_address: bool = False
    # An agent with one of these holds nothing else, and takes none while busy (a call).
    exclusive: bool = False
    # Customers can opt out of it (SMS STOP): why a reply to an opted-out address is
    # refused, with {address}; "" when the channel has no opt-out.
    opted_out_refusal: str = ""
    # A reply may be sent only this many hours after the customer's last message on it
    # (WhatsApp's 24-hour customer service window); 0 for any time. A later reply is
    # refused before it is sent, saying why.
    reply_window_hours: int = 0
    # It sends templates the provider approved (WhatsApp's, by Twilio Content SID): the
    # only messages it takes outside the reply window.
    templates: bool = False
    # Agents may start a conversation on it from a customer's page (a new email, a text);
    # a chat or a call needs the customer there first.
    agents_start: bool = False
    # Its messages may go to more people than the customer (email's CC and BCC).
    copies: bool = False
    # A customer who writes while the team is closed gets one automatic reply saying when
    # to expect an answer (email, SMS); a chat or a call hears it on the spot instead.
    acknowledges_closed: bool = False

    def __post_init__(self) -> None:
        if self.default_capacity < 1:
            raise ValueError(f"{self.name}: default_capacity must be at least 1")

    @property
    def opts_out(self) -> bool:
        return bool(self.opted_out_refusal)


class UnknownChannel(KeyError):
    """A channel name no registered channel declares."""


class ChannelRegistry:
    """The channels this hub runs, by name, in the order they were registered."""

    def __init__(self, channels: Iterable[ChannelTraits]) -> None:
        self._traits: dict[str, ChannelTraits] = {}
        for traits in channels:
            if traits.name in self._traits:
                raise ValueError(f"channel {traits.name!r} is registered twice")
            self._traits[traits.name] = traits
        self._exclusive = frozenset(t.name for t in self._traits.values() if t.exclusive)
        for traits in self._traits.values():
            if traits.replies_on is not None and traits.replies_on not in self._traits:
                raise ValueError(
                    f"channel {traits.name!r} replies on {traits.replies_on!r}, "
                    "which is not registered"
                )

    def __getitem__(self, name: str) -> ChannelTraits:
        try:
            return self._traits[name]
        except KeyError:
            known = ", ".join(self._traits)
            raise UnknownChannel(f"no channel {name!r} is registered (only {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._traits

    def __iter__(self) -> Iterator[ChannelTraits]:
        return iter(self._traits.values())

    def names(self) -> tuple[str, ...]:
        return tuple(self._traits)

    def reply_channels(self) -> tuple[str, ...]:
        """The channels replies go out on, in registration order."""
        used = {t.replies_on for t in self._traits.values()}
        return tuple(name for name in self._traits if name in used)

    def started_by_agents(self) -> tuple[str, ...]:
        """The channels an agent may open a conversation on, in registration order."""
        return tuple(t.name for t in self._traits.values() if t.agents_start)

    def exclusive(self) -> frozenset[str]:
        """Channels an agent holds nothing else beside (routing asks on every match)."""
        return self._exclusive

    def capacities(self, configured: Mapping[str, int] | None) -> dict[str, int]:
        """An agent's capacity on every channel: what the admin set, else the default."""
        given = {k: int(v) for k, v in (configured or {}).items()}
        return {t.name: given.get(t.name, t.default_capacity) for t in self._traits.values()}

    def public(self) -> list[dict[str, Any]]:
        """The traits as the console reads them."""
        return [
            {**asdict(t), "reply_label": t.reply_label or t.label} for t in self._traits.values()
        ]


__all__ = ["ChannelRegistry", "ChannelTraits", "UnknownChannel"]
