"""What every Twilio channel needs, whichever it is (SMS, voice): the REST client, opened
once at start-up and shared; a verified webhook form; and the media Twilio keeps for us
(voicemail recordings, MMS pictures), fetched on demand."""

from __future__ import annotations

import base64
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from aiohttp import web
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hub.attachments import Fetched
from hub.keys import SETTINGS
from hub.settings import Settings

SIGNATURE_HEADER = "X-Twilio-Signature"
TWILIO_API = "https://api.twilio.com"
MAX_MEDIA_BYTES = 20 * 1024 * 1024  # a two-minute WAV is about 2 MB; MMS media at most 5 MB
TWILIO_TIMEOUT = 15.0
# A non-empty mapping keeps Client from reading TWILIO_* from os.environ: settings
# come from Settings only, and TWILIO_EDGE/REGION would rewrite the API host.
NO_ENVIRONMENT = {"TWILIO_EDGE": "", "TWILIO_REGION": ""}
# The one REST client the Twilio channels share; None when no account is configured.
TWILIO: web.AppKey[Client | None] = web.AppKey("twilio")
log = logging.getLogger(__name__)


class TwilioHttp(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's aiohttp client with a bounded wait, sending Basic auth as a plain header
    (the library passes aiohttp.BasicAuth, which aiohttp 3.14 deprecates)."""

    def __init__(self, timeout: float = TWILIO_TIMEOUT) -> None:
        super().__init__(pool_connections=False)
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout, connect=timeout / 3)
        )

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Any:
        headers = dict(headers or {})
        if auth is not None:
            credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {credentials}"
        return await super().request(
            method, url, params, data, headers, None, timeout, allow_redirects
        )


@contextlib.asynccontextmanager
async def twilio_client(settings: Settings) -> AsyncIterator[Client | None]:
    """Twilio's REST client with its own HTTP session, closed on exit; None if unconfigured."""
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        yield None
        return
    http = TwilioHttp()
    try:
        client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=http,
            environment=NO_ENVIRONMENT,
        )
        if settings.twilio_api_url:
            client.api.base_url = settings.twilio_api_url.rstrip("/")
        yield client
    finally:
        await http.close()


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
    except (ValueError, AssertionError, LookupError):
        # aiohttp's multipart reader asserts on a body that breaks its own framing.
        raise bad_request("The form could not be read.") from None
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


__all__ = [
    "TWILIO",
    "TwilioHttp",
    "TwilioMedia",
    "bad_request",
    "signed_form",
    "storable",
    "twilio_client",
]
