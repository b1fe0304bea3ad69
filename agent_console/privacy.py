"""The customer's rights over their data, from the customer page.

`GET /api/customers/{id}/export` (supervisors and admins who may open the record): a zip
of everything held on the customer (hub.customer_export), on the audit log.
`DELETE /api/customers/{id}` (admins): erase the customer (hub.erasure); the answer says
how many conversations and messages were anonymised and files deleted. Erasing twice
answers the same. Each erasure is on the audit log, with counts and never a name.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from agent_console.audit import record
from agent_console.auth import ADMINS, SUPERVISORS, requires
from agent_console.keys import DIRECTORY
from agent_console.responses import error
from agent_console.teams import may_read_customer
from hub.customer_export import customer_archive
from hub.erasure import Erasure, ErasureError
from hub.keys import ATTACHMENTS, ERASER, SESSIONS
from hub.models import Agent

__all__ = ["erase_customer", "export_customer", "setup"]


def setup(app: web.Application) -> None:
    app.router.add_delete("/api/customers/{customer_id:\\d+}", erase_customer)
    app.router.add_get("/api/customers/{customer_id:\\d+}/export", export_customer)


@requires(SUPERVISORS, "Only a supervisor or admin may export a customer's data.")
async def export_customer(request: web.Request, viewer: Agent) -> web.Response:
    customer_id = int(request.match_info["customer_id"])
    async with request.app[SESSIONS]() as session, session.begin():
        if not await may_read_customer(session, viewer, customer_id):
            raise error(404, "No such customer for you.")
        archive = await customer_archive(session, request.app[ATTACHMENTS], customer_id)
        record(session, request, viewer, "customer.exported", f"customer {customer_id}")
    return web.Response(
        body=archive,
        content_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="customer-{customer_id}.zip"',
            "Cache-Control": "no-store",
        },
    )


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
