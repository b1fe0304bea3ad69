"""Demo data for `switchboard demo`: agents who can log in, customers with history, articles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import crm
from hub.auth import hash_password
from hub.db import Sessions
from hub.models import (
    Agent,
    AgentSkill,
    CannedResponse,
    Conversation,
    Customer,
    CustomerAddress,
    Inbox,
    KnowledgeArticle,
    Message,
    PhoneMenu,
    SlaPolicy,
    utcnow,
)
from hub.phone_menu import MAIN_MENU

DEMO_PASSWORD = "switchboard-demo"  # noqa: S105 - published demo login, demo database only


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


AGENTS = [
    ("alice", "Alice Martin", "agent", {"support": 7, "billing": 6}, ["en", "fr"]),
    ("bob", "Bob Okafor", "agent", {"support": 5, "technical": 8}, ["en"]),
    ("sam", "Sam Rivera", "supervisor", {"support": 9, "billing": 9, "technical": 9}, ["en", "es"]),
    ("ada", "Ada Moreau", "admin", {"support": 5}, ["en"]),
]

ARTICLES = [
    (
        "My card was declined",
        ["cards", "payments"],
        "A card can be declined when the daily limit is reached, the card is frozen, or the"
        " merchant is blocked. Check the card's status in the app under Cards. If the card is"
        " frozen, unfreeze it there. Limits reset at midnight; you can raise them under Limits.",
    ),
    (
        "Resetting your password",
        ["account", "login"],
        "Use 'Forgot password' on the sign-in page. We email a reset link that stays valid for"
        " 30 minutes. If no email arrives, check the spam folder and that the address is the one"
        " on your account.",
    ),
    (
        "Refunds and returns",
        ["refund", "billing"],
        "Refunds go back to the original payment method within 5 to 10 business days. A refund"
        " for a card payment shows as a pending credit first.",
    ),
    (
        "Changing your address",
        ["account", "profile"],
        "Update your postal address under Profile, then Address. A new card sent after the change"
        " goes to the new address.",
    ),
    (
        "Lost or stolen card",
        ["cards", "security"],
        "Freeze the card at once in the app under Cards, then order a replacement. Report any"
        " payment you do not recognise so we can dispute it.",
    ),
    (
        "Transfer limits",
        ["payments", "limits"],
        "Standard transfers are limited to 10,000 per day. Verified customers can ask to raise the"
        " limit; the change takes effect the next business day.",
    ),
]

CANNED = [
    ("hello", "Greeting", "Hi {customer.first_name}, this is {agent.first_name}. How can I help?"),
    (
        "wait",
        "Checking",
        "Thanks, {customer.first_name}. Let me check that for you; it takes a minute or two.",
    ),
    (
        "refund",
        "Refund timing",
        "Refunds go back to the original payment method within 5 to 10 business days.",
    ),
    (
        "bye",
        "Closing",
        "Is there anything else I can do for you? Your reference is #{conversation.id}."
        " Have a good day! {agent.name}",
    ),
]

# What callers hear: a menu stored as data, which admins change on the settings page.
PHONE_MENU: dict[str, Any] = {
    "greeting": "Thank you for calling.",
    "start": "main",
    "steps": {
        "main": {
            "prompt": "Press 1 for cards, 2 for loans, 3 to leave a voicemail, "
            "or 4 to be called back when an agent is free.",
            "language": "en-US",
            "options": [
                {"key": "1", "words": ["card"], "to": "queue", "queue": "cards"},
                {"key": "2", "words": ["loan"], "to": "queue", "queue": "loans"},
                {"key": "3", "words": ["voicemail", "message"], "to": "voicemail"},
                {"key": "4", "words": ["back"], "to": "callback"},
            ],
        }
    },
    "closed": {
        "prompt": "We are closed right now and open again {opening}. Press 1 to leave "
        "a voicemail, or 2 to be called back when we open.",
        "language": "en-US",
        "options": [
            {"key": "1", "words": ["voicemail", "message"], "to": "voicemail"},
            {"key": "2", "words": ["back"], "to": "callback"},
        ],
    },
}

CUSTOMERS = [
    (
        "Jane Smith",
        "vip",
        [("email", "jane.smith@example.com"), ("sms", "+14155550101")],
        "email",
        "Card declined abroad",
        "Hi, my card was declined at a restaurant in Lisbon last night.",
        "Sorry about that, Jane. Your card hit its daily limit; I have raised it for your trip.",
        "resolved",
    ),
    (
        "Omar Haddad",
        "standard",
        [("email", "omar@example.org")],
        "email",
        "Refund for double charge",
        "I was charged twice for the same order, can I get one refunded?",
        "I have refunded the duplicate charge; it will show within 5 business days.",
        "refund-issued",
    ),
    (
        "Li Wei",
        "standard",
        [("sms", "+447700900123")],
        "sms",
        "",
        "How do I reset my password? The link expired.",
        "I have sent a fresh link; it stays valid for 30 minutes.",
        "resolved",
    ),
]


# The promises the demo keeps, so the console's timers and the wallboard's at-risk list
# have something to show: (name, channel, first response, next response, resolution) s.
SLA_POLICIES = [
    ("Chat: answer within a minute", "chat", 60, 120, 30 * 60),
    ("Texts: answer within 15 minutes", "sms", 15 * 60, 30 * 60, 24 * 3600),
    ("Email: reply within 4 hours", "email", 4 * 3600, 8 * 3600, 3 * 24 * 3600),
]


async def seed(sessions: Sessions) -> list[DemoLogin]:
    """Fill a database without agents with demo data, and return the demo logins.

    A database with agents is left alone: the demo's logins are returned if it was
    seeded before, none if its agents are someone else's.
    """
    logins = [DemoLogin(u, DEMO_PASSWORD, role) for u, _n, role, _s, _l in AGENTS]
    async with sessions() as session, session.begin():
        if await session.scalar(select(func.count()).select_from(Agent)):
            seeded = await session.scalar(select(Agent.id).where(Agent.username == AGENTS[0][0]))
            return logins if seeded else []
        password_hash = hash_password(DEMO_PASSWORD)
        agents = []
        for username, name, role, skills, languages in AGENTS:
            agent = Agent(
                username=username,
                display_name=name,
                password_hash=password_hash,
                role=role,
                status="offline",
                languages=languages,
                capacities={"chat": 3, "email": 5, "sms": 5, "voice": 1},
            )
            session.add(agent)
            await session.flush()
            session.add_all(
                AgentSkill(agent_id=agent.id, skill=s, level=v) for s, v in skills.items()
            )
            agents.append(agent)
        inboxes = {
            channel: Inbox(channel=channel, address=address, name=name)
            for channel, address, name in [
                ("chat", "web", "Website chat"),
                ("email", "support@acme.example", "Support email"),
                ("sms", "+14155550100", "Support SMS"),
            ]
        }
        session.add_all(inboxes.values())
        for title, tags, body in ARTICLES:
            session.add(KnowledgeArticle(title=title, body=body, tags=tags, state="published"))
        session.add_all(CannedResponse(shortcut=s, title=t, body=b) for s, t, b in CANNED)
        session.add(PhoneMenu(name=MAIN_MENU, menu=PHONE_MENU))
        session.add_all(
            SlaPolicy(
                name=name,
                channel=channel,
                first_response=first,
                next_response=then,
                resolution=resolved,
                business_hours=False,
            )
            for name, channel, first, then, resolved in SLA_POLICIES
        )
        await session.flush()
        for index, customer_data in enumerate(CUSTOMERS):
            await _customer_with_history(
                session, customer_data, inboxes, agents[index % 2], days_ago=3 + index * 4
            )
    return logins


async def _customer_with_history(
    session: AsyncSession,
    data: tuple[Any, ...],
    inboxes: dict[str, Inbox],
    agent: Agent,
    days_ago: int,
) -> None:
    name, segment, addresses, channel, subject, question, answer, outcome = data
    when = utcnow() - timedelta(days=days_ago)
    customer = Customer(name=name, segment=segment, created_at=when)
    session.add(customer)
    await session.flush()
    for address_channel, address in addresses:
        session.add(
            CustomerAddress(customer_id=customer.id, channel=address_channel, address=address)
        )
    sender = next(a for c, a in addresses if c == channel)
    conversation = Conversation(
        customer_id=customer.id,
        inbox_id=inboxes[channel].id,
        channel=channel,
        status="closed",
        agent_id=agent.id,
        subject=subject or question[:120],
        disposition=outcome,
        summary=answer,
        created_at=when,
        updated_at=when + timedelta(minutes=9),
        closed_at=when + timedelta(minutes=10),
    )
    session.add(conversation)
    await session.flush()
    session.add_all(
        [
            Message(
                conversation_id=conversation.id,
                channel=channel,
                direction="incoming",
                external_id=f"demo-{customer.id}-in",
                sender=sender,
                subject=subject,
                text=question,
                created_at=when,
            ),
            Message(
                conversation_id=conversation.id,
                channel=channel,
                direction="outgoing",
                agent_id=agent.id,
                sender=agent.display_name,
                subject=subject,
                text=answer,
                delivery_status="delivered",
                created_at=when + timedelta(minutes=8),
            ),
        ]
    )
    for kind, summary, at, by in [
        ("customer.created", f"First contact on {channel}", when, None),
        ("contact.received", subject or question, when, None),
        ("conversation.assigned", f"Taken by {agent.display_name}", when, agent.id),
        ("reply.sent", answer, when + timedelta(minutes=8), agent.id),
        ("conversation.closed", answer, when + timedelta(minutes=10), agent.id),
    ]:
        event = crm.record(
            session,
            customer_id=customer.id,
            conversation_id=conversation.id,
            agent_id=by,
            kind=kind,
            summary=summary,
        )
        event.created_at = at
