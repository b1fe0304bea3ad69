"""The public page an emailed survey links to: rate a conversation 1-5, with a comment.

No sign-in: the address carries a signed per-conversation token. The page is a plain
form POSTed back to the same address, so it works without JavaScript, and it allows no
script at all (CSP). The email's List-Unsubscribe address is the page's plus
`/unsubscribe` (RFC 8058 one-click POST, or a confirming form in a browser).
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from hub.keys import SURVEYS
from hub.surveys import MAX_COMMENT, SurveyError

__all__ = ["setup"]

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
STYLE = "body{font:16px/1.5 system-ui,sans-serif;max-width:32em;margin:2em auto;padding:0 1em}"


def setup(app: web.Application) -> None:
    app.router.add_get("/survey/{token}", survey_form)
    app.router.add_post("/survey/{token}", survey_answer)
    app.router.add_get("/survey/{token}/unsubscribe", unsubscribe_form)
    app.router.add_post("/survey/{token}/unsubscribe", unsubscribe)


def _conversation(request: web.Request) -> int | None:
    return request.app[SURVEYS].tokens.read(request.match_info["token"])


def _not_found() -> web.Response:
    return _page(404, "Not found", "<p>This survey link is not valid.</p>")


async def survey_form(request: web.Request) -> web.Response:
    conversation_id = _conversation(request)
    survey = None if conversation_id is None else await request.app[SURVEYS].state(conversation_id)
    if survey is None:
        return _not_found()
    if survey.rating is not None:
        return _page(200, "Thank you", "<p>Your rating is recorded. Thank you!</p>")
    choices = "".join(
        f'<label><input type="radio" name="rating" value="{n}" required> {n}</label> '
        for n in range(1, 6)
    )
    body = (
        "<p>How did we do? 1 is poor, 5 is great.</p>"
        f'<form method="post" action="{escape(request.path)}">'
        f"<fieldset><legend>Your rating</legend>{choices}</fieldset>"
        f'<p><label>Comment (optional)<br><textarea name="comment" rows="4" cols="40" '
        f'maxlength="{MAX_COMMENT}"></textarea></label></p>'
        '<p><button type="submit">Send</button></p></form>'
    )
    return _page(200, "How did we do?", body)


async def survey_answer(request: web.Request) -> web.Response:
    conversation_id = _conversation(request)
    if conversation_id is None:
        return _not_found()
    form = await request.post()
    raw, comment = form.get("rating"), form.get("comment", "")
    if not isinstance(raw, str) or not raw.isascii() or not raw.strip().isdigit():
        return _page(400, "Choose a rating", "<p>Choose a rating from 1 to 5.</p>")
    try:
        await request.app[SURVEYS].answer(
            conversation_id, int(raw), comment if isinstance(comment, str) else ""
        )
    except SurveyError as exc:
        title = {400: "Choose a rating", 404: "Not found", 409: "Thank you"}[exc.status]
        return _page(exc.status, title, f"<p>{escape(str(exc))}</p>")
    return _page(200, "Thank you", "<p>Your rating is recorded. Thank you!</p>")


async def unsubscribe_form(request: web.Request) -> web.Response:
    if _conversation(request) is None:
        return _not_found()
    body = (
        "<p>Receive no more of these questions at this address?</p>"
        f'<form method="post" action="{escape(request.path)}">'
        '<button type="submit">Unsubscribe</button></form>'
    )
    return _page(200, "Unsubscribe", body)


async def unsubscribe(request: web.Request) -> web.Response:
    conversation_id = _conversation(request)
    if conversation_id is None or not await request.app[SURVEYS].unsubscribe(conversation_id):
        return _not_found()
    return _page(200, "Unsubscribed", "<p>You will receive no more of these questions.</p>")


def _page(status: int, title: str, body: str) -> web.Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(
        status=status,
        text=html,
        content_type="text/html",
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )
