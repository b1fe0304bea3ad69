"""What every Twilio webhook needs, whichever channel it is for: a verified form; and
the media Twilio keeps for us (voicemail recordings, MMS pictures), fetched on demand."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from hub.attachments import Fetched
from hub.keys import SETTINGS
from hub.settings import Settings

SIGNATURE_HEADER = "X-Twilio-Signature"
TWILIO_API = "https://api.twilio.com"
MAX_MEDIA_BYTES = 20 * 1024 * 1024  # a two-minute WAV is about 2 MB; MMS media at most 5 MB
log = logging.getLogger(__name__)


class TwilioMedia:
    """Recordings and MMS media Twilio holds, fetched with the account's credentials.

    Only URLs under the account's own API path are fetched, so a stored reference can
    neither send the credentials elsewhere nor make the hub fetch anything else.
    """

    def __init__(self, settings: Settings) -> None:
        base = (settings.twilio_api_url or TWILIO_API).rstrip("/")
        self._prefix = f"{base}/2010-04-01/Accounts/{settings.twilio_account_sid}/"
        self._auth = (
            aiohttp.encode_basic_auth(settings.twilio_account_sid, settings.twilio_auth_token)
            if settings.twilio_account_sid and settings.twilio_auth_token
            else None
        )

    def knows(self, ref: str) -> bool:
        return (
            self._auth is not None
            and ref.startswith(self._prefix)
            and "/../" not in ref
            and not any(c in ref for c in "?#@\\")
        )

    async def fetch(self, ref: str) -> Fetched | None:
        if not self.knows(ref):
            return None
        timeout = aiohttp.ClientTimeout(total=30)
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            # Dropped by aiohttp if Twilio redirects to another origin (its media CDN).
            http.get(ref, headers={"Authorization": self._auth or ""}) as response,
        ):
            if response.status == 404:
                return None  # deleted at Twilio
            response.raise_for_status()
            chunks, size = [], 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > MAX_MEDIA_BYTES:
                    raise ValueError(f"Twilio media over {MAX_MEDIA_BYTES} bytes: {ref}")
                chunks.append(chunk)
            return Fetched(b"".join(chunks), response.content_type)


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
