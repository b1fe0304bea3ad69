"""Twilio's side: sign a form over the hub's public URL and post it; and local Messages and
Calls APIs."""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.request_validator import RequestValidator

from hub.settings import Settings
from tests.support import Hub

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-auth-token-for-tests"
# Twilio signs the URL it was given, which is the hub's public one (behind a proxy).
PUBLIC_URL = "https://hub.example.test"


def with_twilio(settings: Settings, api_url: str) -> Settings:
    """Settings for a hub that talks to the local Twilio API at `api_url`."""
    return dataclasses.replace(
        settings,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_url=api_url,
        public_url=PUBLIC_URL,
        # Tests reach the hub itself over plain HTTP, not through the HTTPS proxy.
        cookie_secure=False,
    )


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


@dataclass
class MessagesApi:
    """Twilio's Messages resource as documented: form in, 201 JSON out; remembers each request.

    SMS and WhatsApp are the same resource: a WhatsApp message has `whatsapp:` before the
    To and From numbers, and so does the answer. A template goes as `ContentSid` (an
    approved Content resource, `HX...`) with `ContentVariables`, a JSON object of strings,
    instead of `Body`; `contents` holds the account's templates (ContentSid -> body with
    {{n}}), and Twilio answers with the body filled in. `refuse_with` forces an error
    every time.
    """

    requests: list[dict[str, Any]] = field(default_factory=list)
    contents: dict[str, str] = field(default_factory=dict)
    # A received message's media (MediaSid -> bytes, type), at MediaUrl{N} as Twilio
    # serves it: .../Messages/{MessageSid}/Media/{MediaSid}, behind the account's Basic auth.
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    refuse_with: tuple[int, int, str] | None = None  # (HTTP status, Twilio code, message)
    hub_url: str = ""
    status_before_answering: str | None = None  # a callback that beats the API's answer

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Run the API on a free local port; its base URL."""
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self.create_message)
        app.router.add_get(
            "/2010-04-01/Accounts/{account}/Messages/{message}/Media/{sid}", self.media_content
        )
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield str(server.make_url("")).rstrip("/")
        finally:
            await server.close()

    async def call_back(self, status_callback: str, sid: str, status: str) -> None:
        """Post a signed status callback, as Twilio does, to the hub behind its public URL."""
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(status_callback, form)
        url = status_callback.replace(PUBLIC_URL, self.hub_url, 1)
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=form, headers={"X-Twilio-Signature": signature}) as response,
        ):
            assert response.status == 204, await response.text()

    async def create_message(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.requests.append(
            {
                "account": request.match_info["account"],
                "authorization": request.headers.get("Authorization", ""),
                "form": {name: form.getall(name) for name in form},
            }
        )
        if self.refuse_with is not None:
            status, code, message = self.refuse_with
            body = {"code": code, "message": message, "status": status}
            return web.json_response(body, status=status)
        if str(form["To"]).startswith("whatsapp:") != str(form["From"]).startswith("whatsapp:"):
            message = "Invalid From and To pair. From and To should be of the same channel"
            return web.json_response({"code": 21910, "message": message, "status": 400}, status=400)
        body = str(form.get("Body", ""))
        if "ContentSid" in form:
            filled = self._content(str(form["ContentSid"]), str(form.get("ContentVariables", "{}")))
            if isinstance(filled, web.Response):
                return filled
            body = filled
        elif not body and "MediaUrl" not in form:
            message = "A text message body or media urls must be specified."
            return web.json_response({"code": 21619, "message": message, "status": 400}, status=400)
        sid = "SM" + uuid.uuid4().hex
        if self.status_before_answering:
            await self.call_back(str(form["StatusCallback"]), sid, self.status_before_answering)
        return web.json_response(
            {
                "sid": sid,
                "account_sid": request.match_info["account"],
                "to": form["To"],
                "from": form["From"],
                "body": body,
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
                "api_version": "2010-04-01",
                "uri": f"/2010-04-01/Accounts/{request.match_info['account']}/Messages/{sid}.json",
            },
            status=201,
        )

    async def media_content(self, request: web.Request) -> web.Response:
        account, sid = request.match_info["account"], request.match_info["sid"]
        self.requests.append({"action": "media", "account": account, "sid": sid})
        expected = aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)
        if account != ACCOUNT_SID or request.headers.get("Authorization") != expected:
            body = {"code": 20003, "message": "Authenticate", "status": 401}
            return web.json_response(body, status=401)
        if sid not in self.media:
            body = {"code": 20404, "message": f"Media {sid} was not found", "status": 404}
            return web.json_response(body, status=404)
        content, content_type = self.media[sid]
        return web.Response(body=content, content_type=content_type)

    def _content(self, content_sid: str, variables: str) -> str | web.Response:
        """A template's body with its variables, or Twilio's refusal."""
        if content_sid not in self.contents:
            message = f"The requested resource /v1/Content/{content_sid} was not found"
            return web.json_response({"code": 20404, "message": message, "status": 404}, 404)
        try:
            given = json.loads(variables)
        except ValueError:
            given = None
        if not isinstance(given, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in given.items()
        ):
            message = "The ContentVariables Parameter is invalid"
            return web.json_response({"code": 21656, "message": message, "status": 400}, 400)
        return re.sub(
            r"\{\{\s*(\w+)\s*\}\}",
            lambda m: given.get(m.group(1), m.group(0)),
            self.contents[content_sid],
        )


@dataclass
class CallsApi:
    """Twilio's Calls resource as documented: form in, JSON out; remembers each request.

    `live` holds the SIDs of calls in progress: updating any other answers as Twilio does
    for a call that is over (404, code 20404); `refuse_with` forces an error every time,
    `refuse_next` once per request, first to last.
    """

    live: set[str] = field(default_factory=set)
    requests: list[dict[str, Any]] = field(default_factory=list)
    recordings: dict[str, bytes] = field(default_factory=dict)  # RecordingSid -> WAV
    refuse_with: tuple[int, int, str] | None = None  # (HTTP status, Twilio code, message)
    refuse_next: list[tuple[int, int, str]] = field(default_factory=list)  # one per request

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        """Run the API on a free local port; its base URL."""
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Calls.json", self.create)
        app.router.add_post("/2010-04-01/Accounts/{account}/Calls/{sid}.json", self.update)
        app.router.add_get("/2010-04-01/Accounts/{account}/Recordings/{sid}", self.recording)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield str(server.make_url("")).rstrip("/")
        finally:
            await server.close()

    async def create(self, request: web.Request) -> web.Response:
        form = await self._remember(request, "create")
        if self.refuse_with is not None:
            return self._refusal()
        sid = "CA" + uuid.uuid4().hex
        self.live.add(sid)
        return web.json_response(
            self._call(request, sid, "queued", to=str(form["To"]), from_=str(form["From"])),
            status=201,
        )

    async def update(self, request: web.Request) -> web.Response:
        await self._remember(request, "update")
        sid = request.match_info["sid"]
        if self.refuse_with is not None or self.refuse_next:
            return self._refusal()
        if sid not in self.live:
            body = {
                "code": 20404,
                "message": f"The requested resource /2010-04-01/Accounts/"
                f"{request.match_info['account']}/Calls/{sid}.json was not found",
                "more_info": "https://www.twilio.com/docs/errors/20404",
                "status": 404,
            }
            return web.json_response(body, status=404)
        return web.json_response(self._call(request, sid, "in-progress"))

    async def recording(self, request: web.Request) -> web.Response:
        """A recording's media: WAV when the URL has no extension; HTTP basic auth with the
        account SID and auth token, as for the rest of the API."""
        account, sid = request.match_info["account"], request.match_info["sid"]
        self.requests.append({"action": "recording", "account": account, "sid": sid})
        expected = aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)
        if account != ACCOUNT_SID or request.headers.get("Authorization") != expected:
            body = {"code": 20003, "message": "Authenticate", "status": 401}
            return web.json_response(body, status=401)
        if self.refuse_with is not None:
            status, code, message = self.refuse_with
            return web.json_response({"code": code, "message": message}, status=status)
        if sid not in self.recordings:
            body = {"code": 20404, "message": f"Recording {sid} was not found", "status": 404}
            return web.json_response(body, status=404)
        return web.Response(body=self.recordings[sid], content_type="audio/x-wav")

    def updates(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["action"] == "update"]

    def creates(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["action"] == "create"]

    async def _remember(self, request: web.Request, action: str) -> Any:
        form = await request.post()
        self.requests.append(
            {
                "action": action,
                "account": request.match_info["account"],
                "sid": request.match_info.get("sid"),
                "authorization": request.headers.get("Authorization", ""),
                "form": {name: [str(v) for v in form.getall(name)] for name in form},
            }
        )
        return form

    def _refusal(self) -> web.Response:
        refusal = self.refuse_next.pop(0) if self.refuse_next else self.refuse_with
        assert refusal is not None
        status, code, message = refusal
        return web.json_response(
            {"code": code, "message": message, "status": status}, status=status
        )

    @staticmethod
    def _call(
        request: web.Request, sid: str, status: str, to: str = "", from_: str = ""
    ) -> dict[str, Any]:
        account = request.match_info["account"]
        return {
            "sid": sid,
            "account_sid": account,
            "to": to,
            "from": from_,
            "status": status,
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{account}/Calls/{sid}.json",
        }
