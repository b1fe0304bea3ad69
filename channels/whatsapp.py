"""WhatsApp through Twilio: the Twilio Messaging channel (`channels.messaging`) with
`whatsapp:` addresses.

Twilio posts each WhatsApp message to `/webhooks/twilio/whatsapp` and each delivery or
read update to `/webhooks/twilio/whatsapp/status`. The customer's number is stored in
E.164, as for SMS and calls, so the person who texts and calls is the one who writes on
WhatsApp; the name on their WhatsApp profile is their display name. WhatsApp delivers a
free-form reply only within 24 hours of the customer's last message (Twilio's error
63016 otherwise): the hub refuses a later one before sending it.
"""

from __future__ import annotations

from aiohttp import web
from twilio.rest import Client

from channels import messaging
from channels.messaging import MessagingAdapter, MessagingKind
from hub.channel_traits import ChannelTraits
from hub.db import Sessions

CHANNEL = "whatsapp"
TRAITS = ChannelTraits(
    CHANNEL,
    "WhatsApp",
    default_capacity=5,
    replies_on=CHANNEL,
    opted_out_refusal="{address} sent STOP on WhatsApp: it gets no WhatsApp messages "
    "until it sends START.",
    # WhatsApp's customer service window: free-form messages only within 24 hours of the
    # customer's last one (outside it, only templates WhatsApp approved).
    reply_window_hours=24,
    templates=True,
)
OUTSIDE_WINDOW = 63016  # Twilio: a free-form message outside the customer service window
KIND = MessagingKind(
    channel=CHANNEL,
    label="WhatsApp",
    prefix="whatsapp:",
    inbound_path="/webhooks/twilio/whatsapp",
    refusals={
        OUTSIDE_WINDOW: "WhatsApp takes a free-form reply only within 24 hours of the "
        "customer's last message; they must write again first.",
    },
)


class WhatsAppAdapter(MessagingAdapter):
    """Sends agent replies as WhatsApp messages through Twilio's Messages API."""

    def __init__(self, sessions: Sessions, twilio: Client | None, public_url: str) -> None:
        super().__init__(KIND, sessions, twilio, public_url)


def setup(app: web.Application) -> None:
    messaging.setup(app, KIND)


__all__ = ["KIND", "TRAITS", "WhatsAppAdapter", "setup"]
