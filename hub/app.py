"""`create_app(settings)`: the one place where the packages are composed into a hub."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy import text

import agent_console.admin
import agent_console.api_v1
import agent_console.articles
import agent_console.attachments
import agent_console.attributes
import agent_console.audit
import agent_console.auth
import agent_console.canned
import agent_console.channels
import agent_console.conversations
import agent_console.customers
import agent_console.duplicates
import agent_console.live
import agent_console.macros
import agent_console.me
import agent_console.offers
import agent_console.ops_report
import agent_console.outreach
import agent_console.pages
import agent_console.past
import agent_console.phone_menu
import agent_console.privacy
import agent_console.schedules
import agent_console.sla_policies
import agent_console.sso
import agent_console.supervisor
import agent_console.surveys
import agent_console.tokens
import agent_console.transfers
import agent_console.voice
import agent_console.wallboard
import agent_console.webhooks
import agent_console.whatsapp_templates
import agent_console.wrap_up
import channels.email
import channels.sms
import channels.twilio
import channels.voice
import channels.webchat
import channels.whatsapp
import hub.survey_page
import insights.api
import insights.web
from agent_console.keys import ARTICLES, DIRECTORY, KNOWLEDGE, OFFERS, ROUTER
from hub.after_hours import AfterHours
from hub.api_tokens import ApiTokens
from hub.attachments import AttachmentStore, RemoteAttachments
from hub.auth import SessionSigner
from hub.bus import EventBus, MemoryBus, RedisBus
from hub.channel_traits import ChannelRegistry
from hub.contacts import ChannelAdapter
from hub.conversations import Conversations
from hub.db import Sessions, open_engine, session_factory
from hub.erasure import Eraser
from hub.events import (
    CATALOGUE,
    BusMessage,
    ContactQueued,
    ConversationAssigned,
    ConversationClosed,
    CustomerErased,
    MessageReceived,
    MessageSent,
    QueueUpdated,
)
from hub.http_errors import error_middleware
from hub.keys import (
    AFTER_HOURS,
    AGENT_SESSIONS,
    API_TOKENS,
    ATTACHMENTS,
    BUS,
    CHANNELS,
    CONVERSATIONS,
    COULD_TAKE,
    ERASER,
    INTAKE,
    METRICS,
    PRESENCE,
    QUEUE,
    RATE_LIMITS,
    REMOTE_ATTACHMENTS,
    RETENTION,
    SENDERS,
    SESSIONS,
    SETTINGS,
    SIGNER,
    SLA_CLOCK,
    SURVEYS,
)
from hub.listeners import Listeners, following
from hub.loops import keep_running
from hub.measured import MeasuredIntake, MeasuredOfferBook, MeasuredRouter
from hub.metrics import CONTENT_TYPE, Metrics, may_read_metrics
from hub.migrate import upgrade
from hub.origin import origin_middleware
from hub.outages import answer_outages
from hub.presence import MemoryPresence, RedisPresence
from hub.proxies import forwarded_for
from hub.queue import ContactQueue, MemoryQueue, RedisQueue
from hub.rate_limits import MemoryRateLimits, RedisRateLimits
from hub.recovery import Reconciler
from hub.retention import Retention, parse_retention
from hub.sessions import AgentSessions
from hub.settings import Settings
from hub.sla import SlaChecker, SlaClock
from hub.sla_alerts import alert_for
from hub.surveys import Surveys
from hub.webhooks import Deliverer, DeliveryPolicy
from knowledge.articles import Articles
from knowledge.embeddings import load_encoder
from knowledge.search import Knowledge
from routing.availability import Availability
from routing.handback import Handback
from routing.identity.directory import CustomerDirectory
from routing.limits import QueueLimits
from routing.matching import RoutingPolicy
from routing.outreach import Outreach
from routing.reopening import PastConversations
from routing.rules import RoutingRules

log = logging.getLogger(__name__)
REDIS = web.AppKey("redis", Redis)
SMS = web.AppKey("sms", channels.sms.SmsAdapter)
# What the hub process itself does on hearing an event, from whichever process published it.
CHANGES = Listeners[web.Application]()
# Seconds each /healthz check may take: a dependency that froze is reported, not waited for.
HEALTH_TIMEOUT = 0.8


def channel_registry() -> ChannelRegistry:
    """The channels this hub runs, each as its own module declares it. A new channel is
    registered here and given an adapter in `_services`; the console lists them in this
    order."""
    return ChannelRegistry(
        [
            channels.webchat.TRAITS,
            channels.email.TRAITS,
            channels.sms.TRAITS,
            channels.whatsapp.TRAITS,
            channels.voice.TRAITS,
        ]
    )


def create_app(settings: Settings) -> web.Application:
    # The client's address is settled first: every later check reads it.
    balanced = forwarded_for(settings.trusted_proxies)
    app = web.Application(
        client_max_size=1024 * 1024,
        middlewares=[
            *([balanced] if balanced else []),
            origin_middleware,
            error_middleware,
            answer_outages,
        ],
    )
    app[SETTINGS] = settings
    app[CHANNELS] = channel_registry()
    app[METRICS] = Metrics(settings.metrics_process)
    app[SIGNER] = SessionSigner(settings.secret_key, settings.session_max_age)
    app[ATTACHMENTS] = AttachmentStore(Path(settings.attachments_dir))
    remote: list[RemoteAttachments] = [channels.twilio.TwilioMedia(settings)]  # recordings, MMS
    app[REMOTE_ATTACHMENTS] = remote
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_live_state)
    app.cleanup_ctx.append(_twilio)
    app.cleanup_ctx.append(_services)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    channels.webchat.setup(app)
    channels.sms.setup(app)
    channels.whatsapp.setup(app)
    channels.voice.setup(app)
    channels.email.setup(app)
    agent_console.pages.setup(app)
    agent_console.auth.setup(app)
    agent_console.sso.setup(app)
    agent_console.live.setup(app)
    agent_console.me.setup(app)
    agent_console.offers.setup(app)
    agent_console.conversations.setup(app)
    agent_console.articles.setup(app)
    agent_console.canned.setup(app)
    agent_console.channels.setup(app)
    agent_console.supervisor.setup(app)
    agent_console.surveys.setup(app)
    agent_console.ops_report.setup(app)
    agent_console.admin.setup(app)
    agent_console.attributes.setup(app)
    agent_console.schedules.setup(app)
    agent_console.audit.setup(app)
    agent_console.phone_menu.setup(app)
    agent_console.webhooks.setup(app)
    agent_console.tokens.setup(app)
    agent_console.api_v1.setup(app)
    agent_console.transfers.setup(app)
    agent_console.customers.setup(app)
    agent_console.duplicates.setup(app)
    agent_console.privacy.setup(app)
    agent_console.outreach.setup(app)
    agent_console.past.setup(app)
    agent_console.wrap_up.setup(app)
    agent_console.whatsapp_templates.setup(app)
    agent_console.macros.setup(app)
    agent_console.sla_policies.setup(app)
    agent_console.wallboard.setup(app)
    agent_console.attachments.setup(app)
    agent_console.voice.setup(app)
    insights.web.setup(app, REDIS)
    insights.api.setup(app)
    hub.survey_page.setup(app)
    app.on_shutdown.append(_close_sockets)
    return app


def freeze_at_start(app: web.Application) -> None:
    """For a hub process that runs for hours: once started, put everything alive then
    (imported libraries, the knowledge and identity indexes) out of the garbage
    collector's sight. Full collections then walk only what came since, and pause the
    event loop for less than half as long (measured with bench/console.py).
    Not for tests, which start many hubs in one process."""

    async def freeze(_app: web.Application) -> None:
        gc.collect()
        gc.freeze()

    async def frozen() -> float:
        return float(gc.get_freeze_count())

    app.on_startup.append(freeze)  # after the cleanup contexts' start-up
    app[METRICS].gauge("switchboard_gc_frozen_objects", frozen)


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    engine = open_engine(settings.database_url, settings.database_timeout)
    if settings.migrate_on_start:
        await upgrade(engine)
    app[SESSIONS] = session_factory(engine)
    app[AGENT_SESSIONS] = AgentSessions(app[SESSIONS], app[SIGNER])
    app[API_TOKENS] = ApiTokens(app[SESSIONS])
    yield
    await engine.dispose()


async def _live_state(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    queue: ContactQueue
    bus: EventBus
    if settings.redis_url:
        redis = Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.redis_timeout,
            socket_connect_timeout=settings.redis_timeout,
        )
        app[REDIS] = redis
        queue = RedisQueue(redis, settings.redis_prefix)
        bus = RedisBus(redis, settings.redis_prefix)
        app[PRESENCE] = RedisPresence(redis, settings.redis_prefix)
        app[RATE_LIMITS] = RedisRateLimits(redis, settings.redis_prefix)
    else:
        queue, bus = MemoryQueue(), MemoryBus()
        app[PRESENCE] = MemoryPresence()
        app[RATE_LIMITS] = MemoryRateLimits()
    app[QUEUE] = queue
    app[BUS] = bus
    app[METRICS].gauge("switchboard_queue_waiting", lambda: _as_float(queue.size()))
    yield
    if REDIS in app:
        await app[REDIS].aclose()


async def _twilio(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with channels.twilio.twilio_client(settings) as twilio:
        app[channels.twilio.TWILIO] = twilio  # one Twilio client for SMS and voice
        app[SMS] = channels.sms.SmsAdapter(app[SESSIONS], twilio, settings.public_url)
        yield


async def _services(app: web.Application) -> AsyncIterator[None]:
    settings, sessions, queue, bus, metrics = (
        app[SETTINGS],
        app[SESSIONS],
        app[QUEUE],
        app[BUS],
        app[METRICS],
    )
    senders: list[ChannelAdapter] = [
        channels.webchat.WebchatAdapter(bus),
        channels.email.EmailAdapter.from_settings(settings),
        app[SMS],
        channels.whatsapp.WhatsAppAdapter(
            sessions, app[channels.twilio.TWILIO], settings.public_url
        ),
        channels.voice.VoiceAdapter(),
    ]
    app[SENDERS] = adapters = {adapter.name: adapter for adapter in senders}
    rules = RoutingRules.parse(settings.routing_keywords, settings.routing_segments)
    app[DIRECTORY] = directory = CustomerDirectory(sessions, settings.identity_region)
    await directory.load()
    app[INTAKE] = MeasuredIntake(
        metrics,
        sessions,
        queue,
        bus,
        metrics,
        app[CHANNELS],
        rules,
        directory.resolver,
        mask_cards=settings.mask_card_numbers,
    )
    signed = frozenset(c.strip() for c in settings.signed_channels.split(",") if c.strip())
    app[CONVERSATIONS] = Conversations(
        sessions, queue, bus, adapters, metrics, app[CHANNELS], signed
    )
    app[ERASER] = Eraser(sessions, app[CONVERSATIONS], app[ATTACHMENTS], bus)
    app[SURVEYS] = surveys = Surveys(sessions, bus, adapters, settings)
    app[AFTER_HOURS] = after_hours = AfterHours(sessions, app[CONVERSATIONS], app[CHANNELS])
    app[SLA_CLOCK] = sla_clock = SlaClock(sessions)
    channels.voice.open_calls(app, app[channels.twilio.TWILIO])
    offers = MeasuredOfferBook(metrics, sessions, queue, bus, metrics, settings.offer_timeout)
    policy = RoutingPolicy(
        strategy=settings.routing_strategy,
        sticky_window=settings.sticky_window,
        max_missed_offers=settings.max_missed_offers,
        presence_grace=settings.presence_grace,
        decline_cooldown=settings.decline_cooldown,
    )
    handback = Handback(sessions, queue, bus, offers, app[CHANNELS])
    app[agent_console.transfers.HANDBACK] = handback
    app[agent_console.outreach.OUTREACH] = Outreach(
        sessions, queue, bus, app[CHANNELS], app[CONVERSATIONS]
    )
    app[agent_console.past.PAST] = PastConversations(sessions, queue, bus, app[CHANNELS])
    limits = QueueLimits(sessions, queue, bus, app[CONVERSATIONS])
    router = MeasuredRouter(
        metrics,
        sessions,
        queue,
        offers,
        app[CHANNELS],
        settings.routing_tick,
        policy,
        app[PRESENCE],
        handback,
        limits,
        settings.routing_pass_spacing,
    )
    app[OFFERS] = offers
    app[ROUTER] = router
    reconciler = Reconciler(sessions, queue, settings.reconcile_interval, metrics)
    app[RETENTION] = retention = Retention(
        sessions,
        queue,
        app[ATTACHMENTS],
        parse_retention(settings.retention),
        settings.retention_interval,
        outbox_days=settings.outbox_keep_days,
    )
    # "Online" for web chat: an agent seen within a few rounds of presence updates (sooner
    # than the grace period after which their work moves) whom routing could offer it to.
    within = min(settings.presence_grace, 3 * settings.presence_interval)
    availability = Availability(sessions, queue, app[PRESENCE], app[CHANNELS], within)
    app[COULD_TAKE] = availability.could_take
    # Loaded on the first suggestion, not here: the hub answers at once and stays small
    # until knowledge is asked for.
    app[KNOWLEDGE] = Knowledge(
        sessions, load=load_encoder if settings.knowledge_embeddings else None
    )
    app[ARTICLES] = Articles(sessions)
    async with following(bus, CHANGES.bind(app)):
        tasks = [
            asyncio.create_task(router.run()),
            asyncio.create_task(reconciler.run()),
            asyncio.create_task(directory.run()),
            asyncio.create_task(_console_presence(app)),
            asyncio.create_task(_webhook_deliverer(app).run()),
            asyncio.create_task(_sla_checker(app)),
        ]
        if retention.days:
            tasks.append(
                asyncio.create_task(
                    keep_running("retention", retention.run_once, settings.retention_interval)
                )
            )
        if retention.outbox_days:
            tasks.append(
                asyncio.create_task(
                    keep_running(
                        "outbox pruning", retention.prune_outbox, settings.retention_interval
                    )
                )
            )
        yield
        await app[KNOWLEDGE].close()
        await surveys.close()
        await after_hours.close()
        await sla_clock.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


@CHANGES.on(QueueUpdated)
def _forget_inboxes(app: web.Application, _: QueueUpdated) -> None:
    """An admin changed an inbox: read inboxes afresh."""
    app[INTAKE].forget_inboxes()


@CHANGES.on(CustomerErased)
def _forget_customer(app: web.Application, event: CustomerErased) -> None:
    """A customer was erased (by any hub process): no contact may be matched to them."""
    index = app[DIRECTORY].resolver.index
    for customer_id in event.customer_ids:
        index.remove(customer_id)


@CHANGES.on(ConversationClosed)
def _ask_for_rating(app: web.Application, event: ConversationClosed) -> None:
    """An agent closed a conversation: its customer is asked how it went (one process asks)."""
    if event.why is None:
        app[SURVEYS].ask_soon(event.conversation_id)


@CHANGES.on(ContactQueued)
def _acknowledge_closed(app: web.Application, event: ContactQueued) -> None:
    """A contact waits: out of its team's hours, the customer is told when to expect us."""
    app[AFTER_HOURS].acknowledge_soon(event.conversation_id, event.channel)


# The conversation moved: its SLA due times are recomputed (by each hub process that
# hears it; the result is the same whoever writes it).
SLA_MOVERS = (ContactQueued, ConversationAssigned, ConversationClosed, MessageReceived, MessageSent)


def _sla_moved(app: web.Application, event: BusMessage) -> None:
    if isinstance(event, SLA_MOVERS):
        app[SLA_CLOCK].refresh_soon(event.conversation_id)


for _mover in SLA_MOVERS:
    CHANGES.on(_mover)(_sla_moved)


async def _sla_checker(app: web.Application) -> None:
    """Mark SLA breaches as they happen, and alert once per breach."""
    settings = app[SETTINGS]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        checker = SlaChecker(app[SESSIONS], app[BUS], alert_for(settings, http))
        await keep_running("SLA checker", checker.run_once, settings.sla_interval)


def _wake_router(app: web.Application, _: BusMessage) -> None:
    """Route as soon as something changed that may let a waiting contact through."""
    app[ROUTER].wake()


for _waker in CATALOGUE.values():
    if _waker.wakes_router:
        CHANGES.on(_waker)(_wake_router)


def _webhook_deliverer(app: web.Application) -> Deliverer:
    settings = app[SETTINGS]
    policy = DeliveryPolicy(
        interval=settings.webhook_interval,
        timeout=settings.webhook_timeout,
        lease=settings.webhook_lease,
        first_retry=settings.webhook_first_retry,
        give_up=settings.webhook_give_up,
    )
    return Deliverer(app[SESSIONS], policy, app[METRICS])


async def _console_presence(app: web.Application) -> None:
    """Tell every hub process which agents hold a console socket here."""

    async def tell() -> None:
        agent_ids = [k for k in app[agent_console.live.AGENT_SOCKETS].keys() if isinstance(k, int)]
        await app[PRESENCE].seen(agent_ids)

    await keep_running("console presence", tell, app[SETTINGS].presence_interval)


async def _close_sockets(app: web.Application) -> None:
    """Close open websockets first, so shutdown does not wait for them to end by themselves."""
    await app[channels.webchat.CHAT_SOCKETS].close_all()
    await app[agent_console.live.AGENT_SOCKETS].close_all()


async def healthz(request: web.Request) -> web.Response:
    """Ready when the database answers and the live queue is reachable; each is asked at
    once and given under a second, so the answer names what is down without hanging."""
    database, queue = await asyncio.gather(
        _check(_select_one(request.app[SESSIONS])), _check(request.app[QUEUE].size())
    )
    checks = {"database": database, "queue": queue}
    healthy = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503
    )


async def _select_one(sessions: Sessions) -> None:
    async with sessions() as session:
        await session.execute(text("SELECT 1"))


async def _check(call: Awaitable[object]) -> str:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            await call
    except TimeoutError:
        return "error: no answer"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"error: {type(exc).__name__}"
    return "ok"


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text; with SWITCHBOARD_METRICS_TOKEN for its bearer only, else loopback only."""
    if not may_read_metrics(request, request.app[SETTINGS].metrics_token):
        raise web.HTTPForbidden(text="Metrics are for the monitoring system.")
    body = await request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def _as_float(value: object) -> float:
    return float(await value)  # type: ignore[misc]
