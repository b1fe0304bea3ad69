"""The customer's rights over their data, from the customer page.

`DELETE /api/customers/{id}` (admins): erase the customer (hub.erasure); the answer says
how many conversations and messages were anonymised and files deleted. Erasing twice
answers the same. Each erasure is on the audit log, with counts and never a name.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.audit import record
from agent_console.auth import ADMINS, requires
from agent_console.keys import DIRECTORY
from agent_console.responses import error
from hub.erasure import Erasure, ErasureError
from hub.keys import ERASER
from hub.models import Agent

__all__ = ["erase_customer", "setup"]


def setup(app: web.Application) -> None:
    app.router.add_delete("/api/customers/{customer_id:\\d+}", erase_customer)


@requires(ADMINS, "Only an admin may erase a customer.")
async def erase_customer(request: web.Request, admin: Agent) -> web.Response:
    customer_id = int(request.match_info["customer_id"])

    def witness(session: AsyncSession, done: Erasure) -> None:
        change = {
            "customer_ids": list(done.customer_ids),
            "conversations": done.conversations,
            "messages": done.messages,
        }
        record(session, request, admin, "customer.erased", f"customer {customer_id}", change)

    try:
        done = await request.app[ERASER].erase(customer_id, witness)
    except ErasureError as exc:
        status = 404 if str(exc).startswith("no customer") else 409
        raise error(status, str(exc)) from None
    index = request.app[DIRECTORY].resolver.index
    for erased in done.customer_ids:
        index.remove(erased)  # at once here; other hub processes hear customer.erased
    return web.json_response(
        {
            "customer_id": customer_id,
            "erased": True,
            "customer_ids": list(done.customer_ids),
            "conversations": done.conversations,
            "messages": done.messages,
            "attachments_deleted": done.attachments_deleted,
        }
    )
