"""/api/v1/openapi.json and /api/v1/docs: the document, and a page people read it on.

The page is HTML the hub renders from the document itself (every value escaped), with
one stylesheet of its own and no script at all, so it works offline and behind the
console's Content-Security-Policy.
"""

from __future__ import annotations

import html
import json
from typing import Any

from aiohttp import web

from agent_console.api_v1.openapi import openapi_document
from agent_console.responses import PAGE_HEADERS, STATIC_ROUTE

DOCUMENT = web.AppKey("api_v1_document", dict)
VERSION = "1.0.0"
# The page's own policy: no script from anywhere, styles from the hub only.
HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"] + "; script-src 'self'",
    "Cache-Control": "no-cache",
}


def setup(app: web.Application) -> None:
    app[DOCUMENT] = openapi_document(VERSION)
    app.router.add_get("/api/v1/openapi.json", document)
    app.router.add_get("/api/v1/docs", reference_page)


async def document(request: web.Request) -> web.Response:
    return web.json_response(request.app[DOCUMENT], headers={"Cache-Control": "no-cache"})


async def reference_page(request: web.Request) -> web.Response:
    spec = request.app[DOCUMENT]
    css = request.app.router[STATIC_ROUTE].url_for(filename="api-docs.css")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_e(spec['info']['title'])} reference</title>",
        "<link rel='icon' href='data:,'>",
        f"<link rel='stylesheet' href='{_e(str(css))}'></head><body>",
        f"<header><h1>{_e(spec['info']['title'])} <small>{_e(spec['info']['version'])}</small>",
        "</h1>",
        f"<p>{_e(spec['info']['description'])}</p>",
        "<p><a href='/api/v1/openapi.json'>OpenAPI 3.1 document</a></p></header><main>",
        "<nav aria-label='Operations'><ul>",
    ]
    operations = [
        (path, method, op)
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
    ]
    for path, method, op in operations:
        parts.append(
            f"<li><a href='#{_e(op['operationId'])}'><code>{_e(method.upper())} {_e(path)}"
            f"</code></a> {_e(op['summary'])}</li>"
        )
    parts.append("</ul></nav>")
    for path, method, op in operations:
        parts.append(_operation(path, method, op))
    parts.append("<h2 id='schemas'>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        parts.append(_schema(name, schema))
    parts.append("</main></body></html>")
    return web.Response(text="".join(parts), content_type="text/html", headers=HEADERS)


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    out = [
        f"<section class='operation' id='{_e(op['operationId'])}'>",
        f"<h2><span class='method'>{_e(method.upper())}</span> <code>{_e(path)}</code></h2>",
        f"<p>{_e(op['summary'])}. {_e(op['description'])}</p>",
    ]
    if op["parameters"]:
        out.append("<table><caption>Parameters</caption><thead><tr><th scope='col'>Name</th>")
        out.append("<th scope='col'>In</th><th scope='col'>Type</th></tr></thead><tbody>")
        for p in op["parameters"]:
            required = " (required)" if p.get("required") else ""
            out.append(
                f"<tr><td><code>{_e(p['name'])}</code>{required}</td><td>{_e(p['in'])}</td>"
                f"<td>{_type(p['schema'])}</td></tr>"
            )
        out.append("</tbody></table>")
    if "requestBody" in op:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        out.append(f"<p>Body: {_type(schema)}</p>")
    out.append("<dl class='responses'>")
    for status, response in op["responses"].items():
        content = response.get("content", {}).get("application/json", {})
        shape = f" {_type(content['schema'])}" if content else ""
        out.append(f"<dt>{_e(status)}</dt><dd>{_e(response['description'])}{shape}</dd>")
    out.append("</dl></section>")
    return "".join(out)


def _schema(name: str, schema: dict[str, Any]) -> str:
    out = [f"<section class='schema' id='schema-{_e(name)}'><h3>{_e(name)}</h3>"]
    if schema.get("description"):
        out.append(f"<p>{_e(schema['description'])}</p>")
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        out.append("<table><thead><tr><th scope='col'>Field</th><th scope='col'>Type</th>")
        out.append("</tr></thead><tbody>")
        for field, prop in properties.items():
            mark = " (required)" if field in required else ""
            out.append(f"<tr><td><code>{_e(field)}</code>{mark}</td><td>{_type(prop)}</td></tr>")
        out.append("</tbody></table>")
    elif "enum" in schema:
        out.append(f"<p>One of {_e(', '.join(map(str, schema['enum'])))}</p>")
    out.append("</section>")
    return "".join(out)


def _type(schema: dict[str, Any]) -> str:
    """A schema in a few words: a link for a named one, its type and limits otherwise."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"<a href='#schema-{_e(name)}'>{_e(name)}</a>"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " or ".join(_type(s) for s in schema[key])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        extra = schema["additionalProperties"]
        return f"map to {_type(extra) if isinstance(extra, dict) else 'any'}"
    words = [_e(str(kind))]
    if "enum" in schema:
        words.append(f"({_e(', '.join(map(str, schema['enum'])))})")
    if "const" in schema:
        words.append(f"= {_e(json.dumps(schema['const']))}")
    limits = ("format", "pattern", "minimum", "maximum", "minLength", "maxLength", "default")
    for limit in limits:
        if limit in schema:
            words.append(f"<span class='limit'>{limit} {_e(json.dumps(schema[limit]))}</span>")
    return " ".join(words)


def _e(text: str) -> str:
    return html.escape(text, quote=True)
