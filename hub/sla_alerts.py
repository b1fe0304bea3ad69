"""One alert per SLA breach, by email and/or webhook, as the voice-of-customer alerts go."""

from __future__ import annotations

from email.message import EmailMessage

import aiohttp
import aiosmtplib

from hub.settings import Settings
from hub.sla import LABELS, Alert, Breach

__all__ = ["alert_for"]


def alert_for(settings: Settings, http: aiohttp.ClientSession | None) -> Alert | None:
    """What sends an alert with these settings; None when no address nor URL is set."""
    to, url = settings.sla_alert_to, settings.sla_alert_webhook
    if not to and not url:
        return None

    async def send(breach: Breach) -> None:
        if to and settings.smtp_relay_host:
            await aiosmtplib.send(
                _email(breach, settings.sla_alert_from, to),
                hostname=settings.smtp_relay_host,
                port=settings.smtp_relay_port,
                username=settings.smtp_relay_user,
                password=settings.smtp_relay_password,
            )
        if url and http is not None:
            body = {"type": "sla.breached", **breach.event.wire()}
            async with http.post(url, json=body) as response:
                response.raise_for_status()

    return send


def _email(breach: Breach, sender: str, recipient: str) -> EmailMessage:
    event = breach.event
    what = LABELS.get(event.kind, event.kind)
    message = EmailMessage()
    message["From"], message["To"] = sender, recipient
    message["Subject"] = f"SLA breached: {what} on conversation {event.conversation_id}"
    message.set_content(
        f"{what} target missed on conversation {event.conversation_id}"
        f" ({breach.customer_name or 'customer ' + str(event.customer_id)}, queue {event.queue}),"
        f" due {event.due}.\n"
    )
    return message
