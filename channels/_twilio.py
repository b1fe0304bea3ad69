"""What every Twilio webhook needs, whichever channel it is for: a verified form."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from twilio.request_validator import RequestValidator

from hub.keys import SETTINGS

SIGNATURE_HEADER = "X-Twilio-Signature"
log = logging.getLogger(__name__)


def storable(text: str) -> str:
    """NUL cannot be stored in PostgreSQL text; the rest of Unicode is kept as sent."""
    return text.replace("\x00", "\ufffd")


def bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=reason)


async def signed_form(request: web.Request) -> Mapping[str, str]:
    """The posted form if Twilio signed it with our auth token; 403 otherwise.

    The URL Twilio signed is the hub's public one, so it still matches behind a proxy.
    """
    settings = request.app[SETTINGS]
    if not settings.twilio_auth_token:
        log.warning(
            "Refused a Twilio webhook: SWITCHBOARD_TWILIO_AUTH_TOKEN is not set, "
            "so its signature cannot be checked."
        )
        raise web.HTTPForbidden(text="Twilio webhooks are not configured on this hub.")
    try:
        posted = await request.post()
    except UnicodeDecodeError:
        raise bad_request("The form is not UTF-8.") from None
    if not all(isinstance(value, str) for value in posted.values()):
        raise bad_request("Twilio posts form fields, not files.")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    url = settings.public_url.rstrip("/") + request.rel_url.path_qs
    if not signature or not RequestValidator(settings.twilio_auth_token).validate(
        url, posted, signature
    ):
        log.warning("Refused a Twilio webhook to %s: bad or missing signature", url)
        raise web.HTTPForbidden(text="The X-Twilio-Signature does not match.")
    return {name: str(posted[name]) for name in posted}
