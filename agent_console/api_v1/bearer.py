"""Who is calling /api/v1 (hub.api_bearer: `scoped`), and whom the console's own queries
take an integration for."""

from __future__ import annotations

from hub.api_bearer import ANY_TOKEN, TokenHandler, scoped
from hub.models import Agent

__all__ = ["ANY_TOKEN", "TokenHandler", "integration_viewer", "scoped"]


def integration_viewer() -> Agent:
    """Whom the console's own queries take an integration for: an admin of no team, who
    sees every customer and conversation. Never stored."""
    return Agent(username="api", display_name="API", role="admin", team="")
