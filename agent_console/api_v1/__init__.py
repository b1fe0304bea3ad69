"""The public REST API, /api/v1: what an integration (a CRM, an order system, a data
warehouse) reads and writes with an API token, one module per resource, its OpenAPI
document generated from the shared models (hub.api_models) and a reference page.
Cookies are not read here: `bearer.scoped` on every handler."""

from __future__ import annotations

from aiohttp import web

from agent_console.api_v1 import (
    agents,
    articles,
    conversations,
    customers,
    queues,
    reference,
    reports,
    webhooks,
)

__all__ = ["setup"]


def setup(app: web.Application) -> None:
    customers.setup(app)
    conversations.setup(app)
    agents.setup(app)
    queues.setup(app)
    articles.setup(app)
    webhooks.setup(app)
    reports.setup(app)
    reference.setup(app)
