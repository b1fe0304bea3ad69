"""Twilio's side of a webhook: sign a form over the hub's public URL and post it."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from twilio.request_validator import RequestValidator

from tests.support import Hub

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-for-tests"
# Twilio signs the URL it was given, which is the hub's public one (behind a proxy).
PUBLIC_URL = "https://hub.example.test"


@dataclass
class TwilioSide:
    hub: Hub
    token: str = AUTH_TOKEN

    def sign(self, path: str, form: dict[str, str]) -> str:
        return str(RequestValidator(self.token).compute_signature(PUBLIC_URL + path, form))

    async def post(
        self,
        path: str,
        form: dict[str, str],
        *,
        signature: str | None = None,
        body: bytes | None = None,
    ) -> tuple[int, str, str]:
        """Status, content type and text of the hub's answer."""
        headers = {"X-Twilio-Signature": self.sign(path, form) if signature is None else signature}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                self.hub.url + path, data=form if body is None else body, headers=headers
            ) as response,
        ):
            return response.status, response.content_type, await response.text()
