"""SMS through Twilio: the Twilio Messaging channel (`channels.messaging`) with plain
E.164 addresses.

Twilio posts each text to `/webhooks/twilio/sms` and each delivery update to
`/webhooks/twilio/sms/status`. A number that sent STOP is not texted again until it
sends START; Twilio refuses it too (error 21610), which is recorded the same way.
"""

from __future__ import annotations

from aiohttp import web
from twilio.rest import Client

from channels import messaging
from channels.messaging import MessagingAdapter, MessagingKind, e164
from hub.channel_traits import ChannelTraits
from hub.db import Sessions

CHANNEL = "sms"
# A number that replied STOP is not texted again until it sends START.
TRAITS = ChannelTraits(
    CHANNEL,
    "SMS",
    default_capacity=5,
    replies_on=CHANNEL,
    opted_out_refusal="{address} replied STOP: it gets no texts until it sends START.",
    agents_start=True,
    acknowledges_closed=True,
)
KIND = MessagingKind(
    channel=CHANNEL,
    label="SMS",
    prefix="",
    inbound_path="/webhooks/twilio/sms",
    refusals={},
)


class SmsAdapter(MessagingAdapter):
    """Sends agent replies as SMS through Twilio's Messages API."""

    def __init__(self, sessions: Sessions, twilio: Client | None, public_url: str) -> None:
        super().__init__(KIND, sessions, twilio, public_url)


def setup(app: web.Application) -> None:
    messaging.setup(app, KIND)


__all__ = ["KIND", "TRAITS", "SmsAdapter", "e164", "setup"]
