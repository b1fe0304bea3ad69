"""The web chat channel: `adapter` (the customer's websocket and the widget it serves from
`static/`), with its helpers `_visitors` (who is chatting, their details and conversation)
and `_chat_presence` (telling open widgets when agents come and go)."""

from channels.webchat.adapter import (
    CHAT_SOCKETS,
    DEFAULT_INBOX,
    TRAITS,
    VisitorTokens,
    WebchatAdapter,
    setup,
)

__all__ = ["CHAT_SOCKETS", "DEFAULT_INBOX", "TRAITS", "VisitorTokens", "WebchatAdapter", "setup"]
