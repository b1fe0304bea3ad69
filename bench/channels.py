"""Channels benchmark: inbound messages per second through each channel's front door.

For every channel the same client code drives the real hub (the app from `create_app`,
on loopback, SQLite and the in-process queue and bus by default) and a bare server
speaking the same protocol that stores nothing, in the same run:

- SMS: Twilio-signed form posts to `/webhooks/twilio/sms` (signature checked, message
  stored and threaded) beside a bare aiohttp handler that reads the form and answers
  an empty `<Response/>`.
- Voice: signed incoming-call posts to `/webhooks/twilio/voice` (the IVR's TwiML)
  beside a bare handler answering a fixed TwiML.
- Email: mail sent with aiosmtplib over kept-open SMTP sessions to the hub's SMTP
  port (parsed, stored, 250 only after commit) beside a bare aiosmtpd handler that
  parses the same mail and answers 250.
- Web chat: `websockets` clients sending chat lines on /chat/ws and waiting for each
  ack beside a bare aiohttp websocket that parses and acks.

Clients run in a process of their own, so they do not share the server's core.

    python -m bench.channels [--seconds 3] [--clients 16] [--backend sqlite|redis]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import aiohttp
import aiosmtplib
import websockets
from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session
from twilio.request_validator import RequestValidator

from bench.console import POSTGRES, REDIS, hub_settings
from channels.email import SMTP_PORT
from hub.app import create_app

WARMUP = 0.5
AUTH_TOKEN = "bench-twilio-auth-token"
ACCOUNT_SID = "AC" + "0" * 32
PUBLIC_URL = "https://hub.bench.test"  # what Twilio signs; the hub is told it is reached there
SENDERS = 200  # distinct customers per channel, so most messages join a conversation
SMS_PATH = "/webhooks/twilio/sms"
VOICE_PATH = "/webhooks/twilio/voice"
TEXT = "Hello, my parcel has not arrived yet; the tracking page says it left the depot."
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
TWIML_MENU = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Gather input="dtmf speech" numDigits="1">'
    "<Say>Thanks for calling. Press 1 for billing, 2 for support.</Say></Gather></Response>"
)


@dataclass(frozen=True)
class Result:
    channel: str
    server: str
    sent: int
    failed: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Target:
    """Where the client process sends: a base URL for HTTP and websockets, an SMTP port."""

    http: str
    smtp_port: int


# --- the clients, in a process of their own -------------------------------------------


def drive(channel: str, target: Target, clients: int, seconds: float) -> tuple[int, int, float]:
    """Send `channel` traffic from `clients` concurrent clients: (ok, failed, seconds)."""
    senders: dict[str, Callable[[Target, int, float, bool, list[int]], Awaitable[None]]] = {
        "sms": _sms_client,
        "voice": _voice_client,
        "email": _email_client,
        "chat": _chat_client,
    }
    client = senders[channel]

    async def run() -> tuple[int, int, float]:
        counts = [0, 0]
        warm = time.monotonic() + WARMUP
        await asyncio.gather(*(client(target, n, warm, False, counts) for n in range(clients)))
        started = time.monotonic()
        until = started + seconds
        await asyncio.gather(*(client(target, n, until, True, counts) for n in range(clients)))
        return counts[0], counts[1], time.monotonic() - started

    return asyncio.run(run())


def _count(counts: list[int], ok: bool, timing: bool) -> None:
    if timing or not ok:  # a failure counts even while warming up
        counts[not ok] += 1


def _number(n: int) -> str:
    return f"+1415555{n % SENDERS:04d}"


async def _twilio_client(
    target: Target,
    path: str,
    form_for: Callable[[str], dict[str, str]],
    until: float,
    timing: bool,
    counts: list[int],
) -> None:
    validator = RequestValidator(AUTH_TOKEN)
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < until:
            form = form_for(uuid.uuid4().hex)
            signature = validator.compute_signature(PUBLIC_URL + path, form)
            headers = {"X-Twilio-Signature": str(signature)}
            async with http.post(target.http + path, data=form, headers=headers) as response:
                body = await response.text()
                _count(counts, response.status == 200 and "<Response" in body, timing)


async def _sms_client(
    target: Target, n: int, until: float, timing: bool, counts: list[int]
) -> None:
    def form(sid: str) -> dict[str, str]:
        sender = _number(n * 7 + int(sid[:4], 16))
        return {
            "MessageSid": "SM" + sid,
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": "+14155550100",
            "Body": TEXT,
            "NumMedia": "0",
            "NumSegments": "1",
            "ApiVersion": "2010-04-01",
        }

    await _twilio_client(target, SMS_PATH, form, until, timing, counts)


async def _voice_client(
    target: Target, n: int, until: float, timing: bool, counts: list[int]
) -> None:
    def form(sid: str) -> dict[str, str]:
        return {
            "CallSid": "CA" + sid,
            "AccountSid": ACCOUNT_SID,
            "From": _number(n * 7 + int(sid[:4], 16)),
            "To": "+14155550100",
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }

    await _twilio_client(target, VOICE_PATH, form, until, timing, counts)


async def _email_client(
    target: Target, n: int, until: float, timing: bool, counts: list[int]
) -> None:
    smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=target.smtp_port, timeout=30)
    await smtp.connect()
    try:
        sent = 0
        while time.monotonic() < until:
            sent += 1
            mail = EmailMessage()
            mail["From"] = f"Customer {n} <customer{(n * 31 + sent) % SENDERS}@example.org>"
            mail["To"] = "support@bench.test"
            mail["Subject"] = f"Parcel {n}-{sent} has not arrived"
            mail["Message-ID"] = f"<{uuid.uuid4().hex}@example.org>"
            mail.set_content(TEXT + "\n\nRegards,\nA customer\n")
            try:
                await smtp.send_message(mail)
                _count(counts, True, timing)
            except aiosmtplib.SMTPException:
                _count(counts, False, timing)
    finally:
        await smtp.quit()


async def _chat_client(
    target: Target, n: int, until: float, timing: bool, counts: list[int]
) -> None:
    url = target.http.replace("http://", "ws://", 1) + "/chat/ws"
    async with websockets.connect(url, max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "hello", "name": f"Visitor {n}"}))
        welcome = json.loads(await ws.recv())
        while welcome.get("type") == "presence":  # may come first: agents online or not
            welcome = json.loads(await ws.recv())
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"chat refused the hello: {welcome}")
        while time.monotonic() < until:
            frame_id = uuid.uuid4().hex
            await ws.send(json.dumps({"type": "message", "id": frame_id, "text": TEXT}))
            while True:
                answer = json.loads(await ws.recv())
                if answer.get("id") == frame_id and answer.get("type") in ("ack", "error"):
                    break
            _count(counts, answer["type"] == "ack", timing)


# --- the bare servers: the same protocols, nothing stored --------------------------------


def bare_app() -> web.Application:
    async def sms(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text=TWIML_EMPTY, content_type="application/xml")

    async def voice(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text=TWIML_MENU, content_type="application/xml")

    async def chat(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for frame in ws:
            data = json.loads(frame.data)
            if data["type"] == "hello":
                await ws.send_json({"type": "welcome", "token": "", "messages": []})
            else:
                await ws.send_json({"type": "ack", "id": data["id"], "message_id": 1})
        return ws

    app = web.Application()
    app.router.add_post(SMS_PATH, sms)
    app.router.add_post(VOICE_PATH, voice)
    app.router.add_get("/chat/ws", chat)
    return app


class BareMailHandler:
    """Parses each mail as the hub does, keeps nothing, says 250."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        BytesParser(policy=policy.default).parsebytes(content)
        return "250 OK"


@asynccontextmanager
async def bare_smtp() -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(BareMailHandler(), hostname="bench.test"), "127.0.0.1", 0
    )
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def listening(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def bare_target() -> AsyncIterator[Target]:
    async with listening(bare_app()) as base, bare_smtp() as port:
        yield Target(base, port)


@asynccontextmanager
async def hub_target(backend: str, postgres: str, redis_url: str) -> AsyncIterator[Target]:
    async with hub_settings(backend, postgres, redis_url) as settings:
        settings = replace(
            settings,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            public_url=PUBLIC_URL,
            cookie_secure=False,
        )
        app = create_app(settings)
        async with listening(app) as base:
            yield Target(base, app[SMTP_PORT])


# --- the run ------------------------------------------------------------------------


async def measure(
    pool: ProcessPoolExecutor,
    channel: str,
    server: str,
    target: Target,
    clients: int,
    seconds: float,
) -> Result:
    loop = asyncio.get_running_loop()
    ok, failed, elapsed = await loop.run_in_executor(pool, drive, channel, target, clients, seconds)
    return Result(channel, server, ok, failed, elapsed)


async def run(args: argparse.Namespace) -> list[Result]:
    spawn = multiprocessing.get_context("spawn")
    results: list[Result] = []
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        for channel in args.channels:
            async with bare_target() as target:
                bare = await measure(pool, channel, "bare", target, args.clients, args.seconds)
            async with hub_target(args.backend, args.postgres, args.redis) as target:
                hub = await measure(pool, channel, "hub", target, args.clients, args.seconds)
            results += [bare, hub]
    return results


def report(results: list[Result], args: argparse.Namespace) -> None:
    print(
        f"inbound per channel: {args.clients} concurrent clients, loopback, "
        f"{os.cpu_count()} CPUs, hub on {args.backend}"
    )
    print(f"{'channel':<8}{'bare /s':>10}{'hub /s':>10}{'hub vs bare':>13}{'failed':>8}")
    by_channel: dict[str, dict[str, Result]] = {}
    for r in results:
        by_channel.setdefault(r.channel, {})[r.server] = r
    for channel, pair in by_channel.items():
        bare, hub = pair["bare"], pair["hub"]
        ratio = hub.rate / bare.rate if bare.rate else float("nan")
        failed = bare.failed + hub.failed
        print(f"{channel:<8}{bare.rate:>10,.0f}{hub.rate:>10,.0f}{ratio:>12.2f}x{failed:>8}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--backend", choices=("sqlite", "redis"), default="sqlite")
    parser.add_argument("--postgres", default=POSTGRES, help="with --backend redis")
    parser.add_argument("--redis", default=REDIS, help="with --backend redis")
    parser.add_argument(
        "--channels",
        nargs="+",
        default=["sms", "voice", "email", "chat"],
        choices=["sms", "voice", "email", "chat"],
    )
    args = parser.parse_args(argv)
    results = asyncio.run(run(args))
    report(results, args)


if __name__ == "__main__":
    main()
