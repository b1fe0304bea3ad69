"""The email channel: `adapter` (the SMTP server, IMAP polling and replies through a relay),
with its helpers `_imap` (mailbox polling), `_mime` (reading a message), `_quotes` (the new
part of a reply) and `_reply_token` (the signed per-conversation Reply-To)."""

from channels.email.adapter import IMAP_POLLER, SMTP_PORT, TRAITS, EmailAdapter, setup

__all__ = ["IMAP_POLLER", "SMTP_PORT", "TRAITS", "EmailAdapter", "setup"]
