"""Typed keys for what the hub shares with its handlers; set in hub.app only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from hub.after_hours import AfterHours
from hub.api_tokens import ApiTokens
from hub.attachments import AttachmentStore, RemoteAttachments
from hub.auth import SessionSigner
from hub.bus import EventBus
from hub.channel_traits import ChannelRegistry
from hub.contacts import ChannelAdapter
from hub.conversations import Conversations
from hub.db import Sessions
from hub.erasure import Eraser
from hub.intake import Intake
from hub.metrics import Metrics
from hub.presence import PresenceBoard
from hub.queue import ContactQueue
from hub.rate_limits import RateLimits
from hub.retention import Retention
from hub.sessions import AgentSessions
from hub.settings import Settings
from hub.sla import SlaClock
from hub.surveys import Surveys

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
SESSIONS = web.AppKey("sessions", Sessions)
QUEUE = web.AppKey("queue", ContactQueue)
BUS = web.AppKey("bus", EventBus)
PRESENCE = web.AppKey("presence", PresenceBoard)
INTAKE = web.AppKey("intake", Intake)
CONVERSATIONS = web.AppKey("conversations", Conversations)
# Erases customers on request (hub.erasure).
ERASER = web.AppKey("eraser", Eraser)
# Anonymises conversations older than each channel keeps them (hub.retention).
RETENTION = web.AppKey("retention", Retention)
# Satisfaction surveys: asked after a conversation closes, answered on its channel.
SURVEYS = web.AppKey("surveys", Surveys)
AFTER_HOURS = web.AppKey("after_hours", AfterHours)
SLA_CLOCK = web.AppKey("sla_clock", SlaClock)
SIGNER = web.AppKey("signer", SessionSigner)
AGENT_SESSIONS = web.AppKey("agent_sessions", AgentSessions)
# What each channel this hub runs is like (threading, capacity, replies, opt-out).
CHANNELS = web.AppKey("channels", ChannelRegistry)
# What sends on each channel, by its name (email, sms, ...).
SENDERS = web.AppKey("senders", Mapping[str, ChannelAdapter])
# Whether an agent here now could take a contact that reached (channel, inbox): routing's
# answer, which web chat gives its visitors as "online".
COULD_TAKE: web.AppKey[Callable[[str, str], Awaitable[bool]]] = web.AppKey("could_take")
# Put a conversation's call on hold (True) or take it back (False), as its agent
# (conversation id, agent id): what happened, in a sentence; the voice channel's answer.
HOLD_CALL: web.AppKey[Callable[[int, int, bool], Awaitable[str]]] = web.AppKey("hold_call")
# Where attachments live: the hub's own store, and the channels that fetch from providers.
ATTACHMENTS = web.AppKey("attachments", AttachmentStore)
REMOTE_ATTACHMENTS = web.AppKey("remote_attachments", list[RemoteAttachments])
# Per-client counters (chat floods, login attempts), shared by hub processes on Redis.
RATE_LIMITS = web.AppKey("rate_limits", RateLimits)
# The tokens integrations use on /api/v1.
API_TOKENS = web.AppKey("api_tokens", ApiTokens)
