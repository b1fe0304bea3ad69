"""Full-text search over messages and notes: a GIN index on PostgreSQL, FTS5 on SQLite.

Neither lives in the models: PostgreSQL's is an expression index (to_tsvector over the
subject and text), SQLite's an FTS5 table over `messages` kept in step by triggers.
Migrations create them with `create_statements`; `include_name` keeps them out of the
models-against-database comparison. A later SQLite migration that rebuilds `messages`
in batch mode drops the triggers: it must run `create_statements` again afterwards.

Customer text is searched as words (every word must appear, accents and case aside on
SQLite, case aside on PostgreSQL), never as query syntax.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, column, func, literal_column, table

from hub.models import Message

T = TypeVar("T", bound=tuple[Any, ...])

__all__ = [
    "FTS_TABLE",
    "MessageMatch",
    "INDEX_NAME",
    "create_statements",
    "drop_statements",
    "include_name",
    "search_words",
    "snippet",
]

INDEX_NAME = "ix_messages_text_search"
FTS_TABLE = "message_fts"
_WORD = re.compile(r"\w+")
# The query must spell the indexed expression the same way (a literal 'simple', not a
# parameter) for PostgreSQL to use the index.
_DOCUMENT = "to_tsvector('simple', subject || ' ' || text)"
_QUERIED = "to_tsvector('simple', messages.subject || ' ' || messages.text)"
_SIMPLE: ColumnElement[str] = literal_column("'simple'")

_POSTGRES = [f"CREATE INDEX IF NOT EXISTS {INDEX_NAME} ON messages USING gin ({_DOCUMENT})"]
_SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(subject, text,"
    " content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS message_fts_insert AFTER INSERT ON messages BEGIN"
    " INSERT INTO message_fts(rowid, subject, text) VALUES (new.id, new.subject, new.text);"
    " END",
    "CREATE TRIGGER IF NOT EXISTS message_fts_delete AFTER DELETE ON messages BEGIN"
    " INSERT INTO message_fts(message_fts, rowid, subject, text)"
    " VALUES ('delete', old.id, old.subject, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS message_fts_update AFTER UPDATE OF subject, text"
    " ON messages BEGIN INSERT INTO message_fts(message_fts, rowid, subject, text)"
    " VALUES ('delete', old.id, old.subject, old.text);"
    " INSERT INTO message_fts(rowid, subject, text) VALUES (new.id, new.subject, new.text);"
    " END",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
]


def create_statements(dialect: str) -> list[str]:
    """DDL that builds the search index for `dialect` and fills it from stored messages."""
    return _POSTGRES if dialect == "postgresql" else _SQLITE


def drop_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS {INDEX_NAME}"]
    return [
        *(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{kind}" for kind in ("insert", "delete", "update")),
        f"DROP TABLE IF EXISTS {FTS_TABLE}",
    ]


def include_name(name: str | None, type_: str, _parent: Mapping[Any, Any]) -> bool:
    """Alembic's filter: the search index is not in the models, so it is not compared."""
    if type_ == "table" and name is not None and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == INDEX_NAME)


def search_words(query: str) -> list[str]:
    """The words of what was typed; punctuation and query syntax count for nothing."""
    return _WORD.findall(query)[:20]


class MessageMatch:
    """How one dialect finds messages holding every word."""

    def __init__(self, dialect: str, words: list[str]) -> None:
        self.postgres = dialect == "postgresql"
        self.words = words

    def joined(self, query: Select[T]) -> Select[T]:
        """The query over `messages`, joined with the FTS5 table on SQLite."""
        if self.postgres:
            return query
        fts = table(FTS_TABLE, column("rowid"))
        return query.join(fts, fts.c.rowid == Message.id)

    def condition(self) -> ColumnElement[bool]:
        if self.postgres:
            words = func.plainto_tsquery(_SIMPLE, bindparam("fts_words", " ".join(self.words)))
            return literal_column(_QUERIED).op("@@")(words)
        phrase = " ".join('"' + w.replace('"', "") + '"' for w in self.words)
        return literal_column(FTS_TABLE).op("MATCH")(bindparam("fts_words", phrase))


def snippet(text: str, words: list[str], width: int = 30) -> list[tuple[str, bool]]:
    """About `width` words of `text` around the first hit, as (text, is a hit) pieces.

    Made here rather than by the database so both backends show the same thing, and
    the text stays exactly as written (PostgreSQL's ts_headline drops anything that
    looks like markup).
    """
    wanted = {_folded(w) for w in words}
    tokens = list(_WORD.finditer(text))
    first = next((i for i, t in enumerate(tokens) if _folded(t.group()) in wanted), 0)
    start = max(0, first - width // 3)
    shown = tokens[start : start + width]
    if not shown:
        return [(text, False)] if text else []
    begin = 0 if start == 0 else shown[0].start()
    end = len(text) if start + width >= len(tokens) else shown[-1].end()
    pieces: list[tuple[str, bool]] = [("…", False)] if begin else []
    at = begin
    for token in shown:
        if _folded(token.group()) in wanted:
            if token.start() > at:
                pieces.append((text[at : token.start()], False))
            pieces.append((token.group(), True))
            at = token.end()
    if end > at:
        pieces.append((text[at:end], False))
    if end < len(text):
        pieces.append(("…", False))
    return pieces


def _folded(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
