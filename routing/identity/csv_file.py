"""Reading a customers CSV as people save it: comma, semicolon or tab separated.

A row the csv module cannot read cleanly (a quote opened and never closed, a stray
quote, more or fewer fields than the header names) is refused with its row number,
never read as a customer; reading goes on from the next line, so one broken row does
not swallow the rest of the file.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CsvFile", "DELIMITER_NAMES", "read_csv"]

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


@dataclass
class CsvFile:
    """The readable rows, each with its row number (the header is row 1), and the refused."""

    delimiter: str = ","
    header: list[str] = field(default_factory=list)
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def read_csv(path: Path) -> CsvFile:
    """Read a CSV file saved as UTF-8; raises UnicodeDecodeError or csv.Error (no header)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        lines = handle.read().splitlines(keepends=True)
    if not lines:
        return CsvFile()
    delimiter = _delimiter(lines[0])
    header = [name.strip().lower() for name in next(csv.reader(lines[:1], delimiter=delimiter))]
    found = CsvFile(delimiter=delimiter, header=header)
    found.rows, found.refused = _records(lines, header, delimiter)
    return found


def _delimiter(header: str) -> str:
    """The header line's separator among comma, semicolon, tab and bar; comma if unclear."""
    try:
        return csv.Sniffer().sniff(header, delimiters="".join(DELIMITER_NAMES)).delimiter
    except csv.Error:
        return ","


def _records(
    lines: list[str], header: list[str], delimiter: str
) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str]]]:
    rows: list[tuple[int, dict[str, str]]] = []
    refused: list[tuple[int, str]] = []
    number = 1  # the header
    start = 1  # index in `lines` where the next record begins
    while start < len(lines):
        reader = csv.reader(lines[start:], delimiter=delimiter, strict=True)
        consumed = 0  # lines of `lines[start:]` read by the records before this one
        try:
            for fields in reader:
                first_line = start + consumed
                consumed = reader.line_num
                if not fields:
                    continue  # a blank line
                number += 1
                if len(fields) != len(header):
                    refused.append((number, _count_problem(fields, header, first_line)))
                    continue
                row = {k: v.strip() for k, v in zip(header, fields, strict=True) if k}
                rows.append((number, row))
            return rows, refused
        except csv.Error as exc:
            # Refuse the record that starts here and read again from its next line: the
            # lines a stray quote swallowed are rows of their own.
            number += 1
            first_line = start + consumed
            refused.append(
                (number, f"line {first_line + 1}: a quote not closed, or a stray quote ({exc})")
            )
            start = first_line + 1
    return rows, refused


def _count_problem(fields: list[str], header: list[str], line: int) -> str:
    problem = f"has {len(fields)} fields where the header names {len(header)}"
    if any("\n" in f or "\r" in f for f in fields):
        problem += ", a quote opened and not closed where it should be"
    return f"line {line + 1} {problem}"
