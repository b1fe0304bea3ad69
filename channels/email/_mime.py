"""Reading one inbound email: who wrote it, what they wrote, what they attached, and whether
a machine sent it.

Everything here is lenient: a broken message yields what could be read, never an exception,
except `UnreadableMail` when there is no address to answer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr
from html.parser import HTMLParser

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
# The widths of the columns these land in (messages, customers).
MAX_ID_LENGTH = 200
MAX_SUBJECT = 300
MAX_NAME = 200
MAX_ADDRESS = 320
MAX_THREAD_HINTS = 30
BULK_PRECEDENCE = ("bulk", "junk", "list")
BLOCK_TAGS = frozenset(
    "p div br li tr h1 h2 h3 h4 h5 h6 blockquote pre table ul ol hr section article".split()
)


class UnreadableMail(Exception):
    """A message the hub cannot store: the reason goes back to the sending server."""


@dataclass(frozen=True)
class Part:
    """An attachment as found in the message, with its decoded content."""

    name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Mail:
    """What the hub keeps of one inbound email."""

    message_id: str
    sender: str
    sender_name: str
    subject: str
    text: str
    thread_hints: tuple[str, ...]
    attachments: tuple[Part, ...]
    automated: str  # why a machine sent it ("" for a person)
    defects: tuple[str, ...]


# Far more containers than any mail program writes (a long thread forwarded as parts).
MAX_MULTIPARTS = 200
_MULTIPART = re.compile(rb"(?im)^content-type:[ \t]*multipart/")


def read_mail(raw: bytes, envelope_sender: str) -> Mail:
    """Parse a message as received; raises UnreadableMail when it names nobody to answer,
    or when its parts nest deeper than the parser can follow (a retry would not help)."""
    if len(_MULTIPART.findall(raw)) > MAX_MULTIPARTS:
        # The parser's time grows with the square of the nesting: refuse before it starts.
        raise UnreadableMail(f"the message has more than {MAX_MULTIPARTS} multipart parts")
    try:
        return _read(raw, envelope_sender)
    except RecursionError:
        raise UnreadableMail("the message's parts are nested too deep to read") from None


def _read(raw: bytes, envelope_sender: str) -> Mail:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    sender_name, sender = _from_address(message)
    if not sender and envelope_sender not in ("", "<>"):
        sender = envelope_sender.strip("<>").lower()
    sender = _printable(sender)
    if not sender:
        raise UnreadableMail("the message has no From address and no envelope sender")
    if len(sender) > MAX_ADDRESS:
        raise UnreadableMail(f"the sender's address is longer than {MAX_ADDRESS} characters")
    body = _body(message)
    return Mail(
        message_id=_message_id(message, raw),
        sender=sender,
        sender_name=_printable(sender_name)[:MAX_NAME],
        subject=_printable(" ".join(header(message, "Subject").split()))[:MAX_SUBJECT],
        text=_printable(body[1] if body else ""),
        thread_hints=_thread_hints(message),
        attachments=tuple(_attachments(message, body[0] if body else None)),
        automated=automated_reason(message, envelope_sender, sender),
        defects=tuple(sorted({type(d).__name__ for p in message.walk() for d in p.defects})),
    )


def header(message: Message, name: str) -> str:
    """A header as text; a header the email package cannot parse is decoded by hand."""
    try:
        return str(message.get(name, "") or "")
    except Exception:  # noqa: BLE001 - malformed headers must not lose the message
        for key, value in message.raw_items():
            if key.lower() == name.lower():
                return _decode_raw_header(str(value))
        return ""


def automated_reason(message: Message, envelope_sender: str, sender: str) -> str:
    """Why this looks machine-sent (RFC 3834 auto-replies, RFC 3464 bounces, lists); "" if not."""
    auto_submitted = header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = header(message, "Precedence").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("List-Id", "X-Autoreply"):
        if header(message, name):
            return f"{name} present"
    report = message.get_content_type() == "multipart/report"
    if report and str(message.get_param("report-type", "")).lower() == "delivery-status":
        return "delivery status report"
    if envelope_sender in ("", "<>"):
        return "null envelope sender"
    if "mailer-daemon" in (sender.partition("@")[0], envelope_sender.partition("@")[0].lower()):
        return "sent by MAILER-DAEMON"
    return ""


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: tags dropped, blocks on their own lines."""
    reader = _HtmlText()
    reader.feed(html)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.chunks).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._hidden += 1
        elif tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in BLOCK_TAGS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(data)


def _from_address(message: EmailMessage) -> tuple[str, str]:
    try:
        addresses = message["From"].addresses if message["From"] is not None else ()
        if addresses and addresses[0].addr_spec and "@" in addresses[0].addr_spec:
            return str(addresses[0].display_name), str(addresses[0].addr_spec).lower()
    except Exception:  # noqa: BLE001, S110 - fall back to the lenient reading below
        pass
    name, address = parseaddr(header(message, "From"))
    return name, address.lower() if "@" in address else ""


def _message_id(message: Message, raw: bytes) -> str:
    found = MESSAGE_ID.search(header(message, "Message-ID"))
    if found and len(found.group()) <= MAX_ID_LENGTH:
        return found.group()
    # No usable Message-ID: the content itself identifies a resend of the same message.
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _thread_hints(message: Message) -> tuple[str, ...]:
    """References (root first), then In-Reply-To: the ids this message answers."""
    ids = MESSAGE_ID.findall(header(message, "References"))
    ids += MESSAGE_ID.findall(header(message, "In-Reply-To"))[:1]
    unique = list(dict.fromkeys(ids))
    if len(unique) > MAX_THREAD_HINTS:
        unique = unique[:1] + unique[-(MAX_THREAD_HINTS - 1) :]
    return tuple(unique)


def _body(message: EmailMessage) -> tuple[Message, str] | None:
    """The part a person wrote, as text: text/plain preferred, else HTML made readable."""
    for kind in ("plain", "html"):
        try:
            part = message.get_body(preferencelist=(kind,))
        except Exception:  # noqa: BLE001 - a broken structure: try the next kind
            part = None
        if part is not None:
            text = _text_of(part).replace("\r\n", "\n")
            return part, html_to_text(text) if kind == "html" else text.strip()
    return None


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except Exception:  # noqa: BLE001, S110 - unknown charset or bad encoding: decode by hand
        pass
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def _attachments(message: Message, body: Message | None) -> Iterator[Part]:
    for number, part in enumerate(_leaves(message), start=1):
        if part is body:
            continue
        maintype = part.get_content_maintype()
        name = _filename(part)
        if not (name or part.get_content_disposition() == "attachment" or maintype != "text"):
            continue  # an alternative rendering of the body, not an attachment
        name = _printable(name) or f"part-{number}"
        yield Part(name, part.get_content_type(), _content_of(part))


def _leaves(part: Message) -> Iterator[Message]:
    """Every part that is not a container; an attached message counts as one part."""
    if part.get_content_maintype() == "message" or not part.is_multipart():
        yield part
        return
    payload = part.get_payload()
    for sub in payload if isinstance(payload, list) else ():
        if isinstance(sub, Message):
            yield from _leaves(sub)


def _filename(part: Message) -> str:
    try:
        return str(part.get_filename() or "")
    except Exception:  # noqa: BLE001 - an unreadable name is replaced by a generated one
        return ""


def _content_of(part: Message) -> bytes:
    try:
        if part.is_multipart():  # message/rfc822, message/delivery-status
            payload = part.get_payload()
            return b"".join(p.as_bytes() for p in payload if isinstance(p, Message))
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else b""
    except Exception:  # noqa: BLE001 - undecodable content is kept as nothing, named
        return b""


def _printable(text: str) -> str:
    """Text the database will store: raw UTF-8 bytes in headers decoded, NUL characters dropped."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text.replace("\x00", "")


def _decode_raw_header(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except Exception:  # noqa: BLE001
        return value
