"""Settings: read once from the environment at the edge, then passed down."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "SWITCHBOARD_"


@dataclass(frozen=True)
class Settings:
    """Everything the hub can be configured with; defaults give the embedded demo."""

    database_url: str = "sqlite+aiosqlite:///switchboard.db"
    redis_url: str | None = None
    redis_prefix: str = "sb:"
    # Seconds a Redis call (and connecting) may take before it fails: a frozen Redis must
    # not hang webhooks and /healthz.
    redis_timeout: float = 5.0
    # Seconds a PostgreSQL statement, connecting or waiting for a pooled connection may take.
    database_timeout: float = 15.0
    # Seconds between passes of the reconciler that makes the live state (Redis) agree
    # with the database; one hub process runs each pass.
    reconcile_interval: float = 5.0
    host: str = "127.0.0.1"
    port: int = 8080
    smtp_port: int = 2525
    smtp_max_size: int = 25 * 1024 * 1024
    smtp_relay_host: str | None = None
    # Where mail to an unknown address at an inbox's domain goes; unset: refused (550).
    email_catch_all: str = ""
    smtp_relay_port: int = 25
    smtp_relay_user: str | None = None
    smtp_relay_password: str | None = None
    imap_host: str | None = None  # poll this mailbox for inbound email too (unset: no polling)
    imap_port: int = 993
    imap_user: str = ""
    imap_password: str = ""
    imap_mailbox: str = "INBOX"
    imap_tls: bool = True  # IMAP over TLS (port 993); false only for a server on localhost
    imap_interval: float = 60.0  # seconds between polls
    attachments_dir: str = "attachments"
    public_url: str = "http://127.0.0.1:8080"
    secret_key: str = ""
    offer_timeout: float = 30.0
    routing_tick: float = 0.5
    # A woken routing pass waits this many times as long as the last one took (see
    # routing.engine); 0 runs passes back to back.
    routing_pass_spacing: float = 4.0
    chat_max_frame: int = 16 * 1024
    chat_max_text: int = 4000
    # Sites the chat widget is embedded on (comma-separated origins, or *): their pages
    # may open /chat/ws besides the hub's own.
    chat_origins: str = ""
    # Flood limits per minute (0: none): one visitor's messages; messages and new visitors
    # from one client address (an office behind one address counts once).
    chat_visitor_messages: int = 30
    chat_address_messages: int = 300
    chat_address_visitors: int = 20
    # A chat visitor gone this long (seconds) while still waiting has abandoned the chat.
    chat_abandon_grace: float = 60.0
    session_max_age: int = 12 * 3600
    # What an agent may say they are away for (comma-separated), shown on the wallboard.
    away_reasons: str = "Break,Lunch,Training,Meeting,After-call work"
    # The load balancers' addresses or networks (comma-separated): behind them, a client's
    # address is the one they forward (hub.proxies). Empty: clients connect directly.
    trusted_proxies: str = ""
    # Wrong passwords per username, and per client address, before the login answers 429
    # until `login_lockout` seconds from the first of them have passed.
    login_failures_per_account: int = 5
    login_failures_per_address: int = 30
    login_lockout: float = 900.0
    cookie_secure: bool | None = None  # unset: Secure whenever public_url is https
    # GET /metrics: with a token, only `Authorization: Bearer <token>`; without, loopback only.
    metrics_token: str = ""
    # Requests per minute each API token may make on /api/v1 (0: no limit); past it, 429.
    api_requests_per_minute: int = 600
    migrate_on_start: bool = True
    routing_strategy: str = "longest_idle"
    # Requirements from what customers write and who they are (docs/routing.md).
    routing_keywords: str = ""  # "refund|chargeback=billing:5; password=tech:3"
    routing_segments: str = "vip=5"  # priority boosts: "vip=5,gold=2"
    identity_region: str = "US"  # the country of phone numbers written without +code
    sticky_window: float = 24 * 3600.0
    max_missed_offers: int = 3
    # Seconds before a contact an agent declined (or missed) may come back to them when
    # nobody else can take it.
    decline_cooldown: float = 60.0
    presence_grace: float = 30.0
    presence_interval: float = 5.0
    chat_prechat: str = "off"  # what the chat widget asks before the first message: name,email
    knowledge_embeddings: bool = True  # use sentence embeddings when the extra is installed
    metrics_process: str = ""  # the `process` label on /metrics; empty: hostname:pid
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_url: str | None = None  # None: Twilio's own API
    # The console's softphone (Twilio's Voice JavaScript SDK): an API key and its secret
    # sign the agents' access tokens, whose outgoing calls run the TwiML app's voice URL
    # (/webhooks/twilio/voice/outbound). Empty: no softphone; calls ring <Client> as ever.
    twilio_api_key: str = ""
    twilio_api_secret: str = ""
    twilio_twiml_app_sid: str = ""
    voice_token_ttl: int = 3600  # seconds an agent's softphone token lasts
    voice_hold_music_url: str = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
    # The Twilio Client identity an agent's browser or softphone registers as: {id}, {username}.
    voice_client_identity: str = "agent_{id}"
    voice_callback_announcement: str = "Hello, we are returning your call. Connecting you now."
    # Channels whose customers are asked for a 1-5 rating once a conversation closes
    # (comma-separated: chat,email,sms,whatsapp; empty: none), and how long (seconds) a
    # texted "reply 1-5" question waits for its answer.
    survey_channels: str = ""
    # Channels whose agent messages end with the agent's and the inbox's signatures
    # (comma-separated; empty: none).
    signed_channels: str = "email"
    survey_reply_window: float = 24 * 3600.0
    voc_report_to: str | None = None  # insights: weekly report and rising-topic alerts by email
    voc_report_from: str = "switchboard@localhost"
    voc_webhook: str | None = None  # insights: rising-topic alerts by POST
    voc_interval: float = 3600.0  # insights: seconds between voice-of-customer rounds
    # SLA policies: seconds between breach checks, and where one alert per breach goes
    # (an email address through the SMTP relay, a URL that gets a JSON POST; None: nowhere).
    sla_interval: float = 15.0
    sla_alert_to: str | None = None
    sla_alert_from: str = "switchboard@localhost"
    sla_alert_webhook: str | None = None
    # Days each channel keeps closed conversations before they are anonymised
    # ("sms=30,email=365"; a channel not named keeps them), checked every interval seconds.
    retention: str = ""
    # Card numbers (Luhn-valid, 13-19 digits) in what customers write are masked to their
    # last four digits before the message is stored.
    mask_card_numbers: bool = False
    retention_interval: float = 3600.0
    # Days the webhook outbox keeps an event all of whose deliveries were made (0: for
    # good); pruned by the retention job every retention_interval.
    outbox_keep_days: int = 30
    # Outbound webhooks: seconds between looks for due deliveries, each POST's timeout,
    # how long a hub process holds a delivery it is making (another takes it over after
    # a crash), the first pause after a failed attempt (doubling up to an hour), and
    # how long failures are retried before the delivery is marked failed.
    webhook_interval: float = 1.0
    webhook_timeout: float = 10.0
    webhook_lease: float = 60.0
    webhook_first_retry: float = 5.0
    webhook_give_up: float = 24 * 3600.0
    # Single sign-on with an OpenID Connect provider (hub.oidc; README "Single sign-on"):
    # unset issuer, none. Agents are matched by the username claim to an existing agent's
    # username, and take the role their role claim maps to ("cc-admins=admin,cc-agents=agent")
    # at every sign-in. The redirect URI defaults to this hub's /console/login/sso/callback.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_name: str = "single sign-on"  # the login page's "Sign in with <name>"
    oidc_scopes: str = "openid email profile"
    oidc_role_claim: str = "roles"
    oidc_role_map: str = ""
    oidc_username_claim: str = "email"
    oidc_redirect_uri: str = ""
    # False: the login page offers single sign-on only, and passwords are refused.
    password_login: bool = True
    # The company's time zone (IANA name): reports count hours, days and weeks in it.
    timezone: str = "UTC"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from SWITCHBOARD_* variables; explicit overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(PREFIX + field.name.upper())
            if raw is None or raw == "":
                continue
            values[field.name] = _convert(field.type, raw, field.name)
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        if not settings.secret_key:
            # A random key keeps a bare `serve` safe; sessions then end on restart.
            settings = dataclasses.replace(settings, secret_key=secrets.token_urlsafe(32))
        return settings

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS when the hub is reached over HTTPS."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.lower().startswith("https://")

    @property
    def uses_redis(self) -> bool:
        return bool(self.redis_url)


def _convert(kind: object, raw: str, name: str) -> object:
    text = str(kind)
    try:
        if text in ("int", "<class 'int'>"):
            return int(raw)
        if text in ("float", "<class 'float'>"):
            return float(raw)
        if text in ("bool", "<class 'bool'>", "bool | None"):
            return raw.strip().lower() in ("1", "true", "yes", "on")
    except ValueError as exc:
        raise ValueError(f"{PREFIX}{name.upper()}: cannot read {raw!r} as {text}") from exc
    return raw
