"""The OpenAPI 3.1 document of /api/v1, generated from the pydantic models the handlers
validate and answer with (hub.api_models), so it cannot drift from what they do.

Only the path table below is written by hand: which method and path runs which model in
and which model out, and the scope it needs. The route table and the models do not say
that together anywhere else (a handler's body is code, not data), and a table of a dozen
lines read at a glance is easier to keep true than introspection of the handlers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from hub.api_models.agents import AgentList, AgentQuery
from hub.api_models.articles import ArticleList, ArticleOut, ArticleQuery
from hub.api_models.common import Problem
from hub.api_models.conversations import ConversationDetail, ConversationList, ConversationQuery
from hub.api_models.customers import (
    CustomerChange,
    CustomerIn,
    CustomerRecord,
    CustomerResults,
    CustomerUpsert,
    SearchParams,
)
from hub.api_models.messages import ReplyIn, ReplySent
from hub.api_models.queues import QueueList, QueueQuery, StatsQuery
from hub.api_models.reports import CsatQuery, CsatReport, QueueStatsOut, VocQuery, VocReportOut
from hub.api_models.webhooks import (
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    SubscriptionChange,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    WebhookList,
    WebhookQuery,
)
from hub.inputs import DB_INT_MAX

__all__ = ["OPERATIONS", "Operation", "openapi_document"]

REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    scope: str  # "" when any good token may call it
    answer: type[BaseModel]
    status: int = 200
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    tag: str = ""
    also: tuple[int, ...] = field(default=())  # statuses the operation may answer besides


CUSTOMER = "/api/v1/customers/{customer_id}"
CONVERSATION = "/api/v1/conversations/{conversation_id}"
WEBHOOK = "/api/v1/webhooks/{webhook_id}"
OPERATIONS = (
    Operation(
        "get",
        "/api/v1/customers",
        "Find or list customers",
        "customers:read",
        CustomerResults,
        query=SearchParams,
        tag="customers",
    ),  # fmt: skip
    Operation(
        "post",
        "/api/v1/customers",
        "Create a customer",
        "customers:write",
        CustomerRecord,
        201,
        body=CustomerIn,
        tag="customers",
        also=(409,),
    ),  # fmt: skip
    Operation(
        "get",
        CUSTOMER,
        "A customer's whole record",
        "customers:read",
        CustomerRecord,
        tag="customers",
    ),  # fmt: skip
    Operation(
        "patch",
        CUSTOMER,
        "Change a customer",
        "customers:write",
        CustomerRecord,
        body=CustomerChange,
        tag="customers",
        also=(409,),
    ),  # fmt: skip
    Operation(
        "put",
        "/api/v1/customers/by-external-id/{external_id}",
        "Create or update the customer your system knows by this id",
        "customers:write",
        CustomerRecord,
        body=CustomerUpsert,
        tag="customers",
        also=(201, 409),
    ),  # fmt: skip
    Operation(
        "get",
        "/api/v1/conversations",
        "List conversations",
        "conversations:read",
        ConversationList,
        query=ConversationQuery,
        tag="conversations",
    ),  # fmt: skip
    Operation(
        "get",
        CONVERSATION,
        "A conversation with its messages",
        "conversations:read",
        ConversationDetail,
        tag="conversations",
    ),  # fmt: skip
    Operation(
        "post",
        CONVERSATION + "/messages",
        "Reply to the customer",
        "messages:send",
        ReplySent,
        201,
        body=ReplyIn,
        tag="messages",
        also=(409, 502),
    ),  # fmt: skip
    Operation(
        "get",
        "/api/v1/agents",
        "List agents",
        "conversations:read",
        AgentList,
        query=AgentQuery,
        tag="agents",
    ),  # fmt: skip
    Operation(
        "get",
        "/api/v1/queues",
        "List queues with live figures",
        "conversations:read",
        QueueList,
        query=QueueQuery,
        tag="queues",
    ),  # fmt: skip
    Operation(
        "get",
        "/api/v1/reports/queues",
        "Queue statistics: waits, service level, abandon rate, staffing",
        "reports:read",
        QueueStatsOut,
        query=StatsQuery,
        tag="reports",
    ),  # fmt: skip
    Operation(
        "get",
        "/api/v1/reports/csat",
        "Customer satisfaction by agent, queue or channel",
        "reports:read",
        CsatReport,
        query=CsatQuery,
        tag="reports",
    ),  # fmt: skip
    Operation(
        "get",
        "/api/v1/reports/voice-of-customer",
        "Voice of customer: topics, their sentiment, rising topics and CSAT by topic",
        "reports:read",
        VocReportOut,
        query=VocQuery,
        tag="reports",
    ),  # fmt: skip
    Operation(
        "get",
        "/api/v1/webhooks",
        "List webhook subscriptions",
        "admin",
        WebhookList,
        query=WebhookQuery,
        tag="webhooks",
    ),  # fmt: skip
    Operation(
        "post",
        "/api/v1/webhooks",
        "Subscribe a URL to event types (the answer shows the signing secret once)",
        "admin",
        SubscriptionCreated,
        201,
        body=SubscriptionIn,
        tag="webhooks",
    ),  # fmt: skip
    Operation(
        "get",
        WEBHOOK,
        "A webhook subscription",
        "admin",
        SubscriptionOut,
        tag="webhooks",
    ),  # fmt: skip
    Operation(
        "patch",
        WEBHOOK,
        "Change a webhook subscription",
        "admin",
        SubscriptionOut,
        body=SubscriptionChange,
        tag="webhooks",
    ),  # fmt: skip
    Operation(
        "delete",
        WEBHOOK,
        "Delete a webhook subscription and its delivery log",
        "admin",
        SubscriptionOut,
        tag="webhooks",
    ),  # fmt: skip
    Operation(
        "post",
        WEBHOOK + "/secret",
        "A new signing secret, shown once",
        "admin",
        SubscriptionCreated,
        tag="webhooks",
    ),  # fmt: skip
    Operation(
        "get",
        WEBHOOK + "/deliveries",
        "A webhook's deliveries, newest first",
        "admin",
        DeliveryPage,
        query=DeliveryQuery,
        tag="webhooks",
    ),  # fmt: skip
    Operation(
        "post",
        WEBHOOK + "/deliveries/{delivery_id}/redeliver",
        "Send a delivery again now",
        "admin",
        DeliveryOut,
        tag="webhooks",
    ),  # fmt: skip
    Operation(
        "get",
        "/api/v1/articles",
        "List knowledge articles",
        "",
        ArticleList,
        query=ArticleQuery,
        tag="knowledge",
    ),  # fmt: skip
    Operation(
        "get",
        "/api/v1/articles/{article_id}",
        "A knowledge article",
        "",
        ArticleOut,
        tag="knowledge",
    ),  # fmt: skip
)
REFUSALS = {
    400: "The request does not fit: `field` names where.",
    401: "No valid API token (missing, unknown or revoked).",
    403: "The token lacks the scope this needs.",
    404: "Nothing stored under that id.",
    415: "The body is not JSON.",
    429: "Too many requests with this token: wait Retry-After seconds.",
}
EXTRA = {
    201: "Created.",
    409: "It conflicts with what is stored (see `error`).",
    502: "The channel did not take the message.",
}


def openapi_document(version: str) -> dict[str, Any]:
    """The whole document; built once per hub (it depends on nothing that changes)."""
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "serialization")]
    for op in OPERATIONS:
        wanted.append((op.answer, "serialization"))
        if op.body is not None:
            wanted.append((op.body, "validation"))
    refs, schemas = models_json_schema(list(dict.fromkeys(wanted)), ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Switchboard API",
            "version": version,
            "description": (
                "Customers, conversations, messages, agents, queues, knowledge articles,"
                " reports and webhook subscriptions of a Switchboard hub. Send an API token an"
                " admin created on the settings page as `Authorization: Bearer <token>`."
                " Lists are newest or lowest id first a page at a time: pass a page's"
                " `next_cursor` as `cursor` for the next one."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
    }


def _operation(op: Operation, refs: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    problem = {"application/json": {"schema": refs[(Problem, "serialization")]}}
    responses: dict[str, Any] = {
        str(op.status): {
            "description": "OK" if op.status == 200 else "Created.",
            "content": {"application/json": {"schema": refs[(op.answer, "serialization")]}},
        }
    }
    for status in op.also:
        if status == 201:
            responses["201"] = {**responses[str(op.status)], "description": EXTRA[201]}
        else:
            responses[str(status)] = {"description": EXTRA[status], "content": problem}
    for status, why in REFUSALS.items():
        if status == 415 and op.body is None:
            continue
        responses[str(status)] = {"description": why, "content": problem}
    responses["429"]["headers"] = {
        "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
    }
    operation: dict[str, Any] = {
        "operationId": f"{op.method}_{op.path}".replace("/api/v1/", "").replace("/", "_"),
        "summary": op.summary,
        "description": f"Needs the scope `{op.scope}`." if op.scope else "Any valid token.",
        "tags": [op.tag],
        "parameters": _path_parameters(op.path) + _query_parameters(op.query),
        "responses": responses,
    }
    if op.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    return operation


def _path_parameters(path: str) -> list[dict[str, Any]]:
    parameters = []
    for part in path.split("/"):
        if not part.startswith("{"):
            continue
        name = part.strip("{}")
        schema: dict[str, Any] = (
            {"type": "string", "minLength": 1, "maxLength": 128}
            if name == "external_id"
            else {"type": "integer", "minimum": 1, "maximum": DB_INT_MAX}
        )
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": prop.pop("description", ""),
            "schema": {k: v for k, v in prop.items() if k != "title"},
        }
        for name, prop in schema["properties"].items()
    ]
