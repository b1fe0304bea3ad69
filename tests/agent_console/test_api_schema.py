"""/api/v1/openapi.json holds what the hub does: Schemathesis generates requests from the
document for every operation, sends them to a running hub with a token holding every
scope, and checks that none gets a server error or an answer the document does not
describe. Then the reference page people read is rendered from the same document."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

import aiohttp
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from hub.settings import Settings
from tests.agent_console.api_client import ALL_SCOPES, ApiClient, issue_token
from tests.conftest import start_hub
from tests.support import Hub

# Requests per operation, fitting ones and ones that break the document's rules (those
# must be refused with a 4xx it describes): enough to reach past each model's simple
# cases while the whole run stays well under a minute.
EXAMPLES = 12


@contextmanager
def hub_in_a_thread(settings: Settings) -> Iterator[tuple[str, str]]:
    """A hub on its own event loop in a thread (Schemathesis calls it synchronously),
    with some data to find and a token holding every scope: (url, token)."""
    ready: Future[tuple[str, str]] = Future()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def serve() -> None:
        try:
            async with start_hub(settings, clean=True) as hub:
                token = (await issue_token(hub, ALL_SCOPES))["token"]
                await _something_to_find(hub, token)
                ready.set_result((hub.url, token))
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    try:
        yield ready.result(timeout=60)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()


async def _something_to_find(hub: Hub, token: str) -> None:
    api = ApiClient(hub, token)
    try:
        status, _ = await api.call(
            "PUT",
            "/api/v1/customers/by-external-id/crm-1",
            {"name": "Ann Lee", "addresses": [{"channel": "email", "address": "ann@example.com"}]},
        )
        assert status == 201
    finally:
        await api.close()


def test_no_request_the_document_allows_gets_a_server_error_or_an_undescribed_answer(
    settings_for: Settings,
) -> None:
    settings = dataclasses.replace(settings_for, api_requests_per_minute=0)
    with hub_in_a_thread(settings) as (url, token):
        schema = schemathesis.openapi.from_url(url + "/api/v1/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 23
        headers = {"Authorization": f"Bearer {token}"}
        checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
        calls = 0
        for operation in operations:

            @given(
                case=operation.as_strategy()
                | operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
            )
            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            def holds(case: schemathesis.Case) -> None:
                nonlocal calls
                response = case.call(base_url=url, headers=headers)
                calls += 1
                case.validate_response(response, checks=checks)

            holds()
        assert calls >= len(operations) * 3


async def test_the_reference_page_is_rendered_by_the_hub_from_the_document(hub: Hub) -> None:
    async with aiohttp.ClientSession() as reader:
        async with reader.get(hub.url + "/api/v1/openapi.json") as response:
            assert response.status == 200
            document = await response.json()
        async with reader.get(hub.url + "/api/v1/docs") as response:
            assert response.status == 200
            policy = response.headers["Content-Security-Policy"]
            page = await response.text()
    assert document["openapi"].startswith("3.1")
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "<script" not in page and "http://" not in page.replace(hub.url, "")
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert f"{method.upper()}</span> <code>{path}</code>" in page, path
            assert html.escape(operation["summary"]) in page
    for name in document["components"]["schemas"]:
        assert f"id='schema-{name}'" in page
    # Field by field, from the models: the upsert's body and its limits.
    assert "<code>external_id</code>" in page and "maxLength 128" in page
