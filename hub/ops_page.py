"""The operations report as one self-contained HTML file (`switchboard report ops`):
a table per queue, agent or channel, and a bar chart of contacts per bucket, in inline
SVG. Every text from the data is escaped (queue names and agents' names are typed by
people); the file loads nothing and runs no script."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from html import escape

from hub.ops_report import COLUMNS, OpsOptions, OpsRow, totals

__all__ = ["render_ops_html"]

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24}
table{border-collapse:collapse;margin:0 0 2rem}
th,td{border:1px solid #ccd;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
caption{text-align:left;font-weight:600;padding:.5rem 0}
svg text{font-size:10px;fill:#1b1f24}
"""
CHART_HEIGHT = 160
BAR_WIDTH = 18


def render_ops_html(
    rows: list[OpsRow], options: OpsOptions, generated: datetime, form: str = ""
) -> str:
    """The page; `form` is markup of ours (the console's filters), put above the chart."""
    title = f"Operations by {options.by}, per {options.bucket}"
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        "<p>"
        + escape(
            f"From {options.since.isoformat()} to {options.until.isoformat()}, "
            f"buckets in {options.zone}; service level: answered within "
            f"{options.target_seconds:g} s of answered and abandoned. "
            f"Written {generated.isoformat(timespec='seconds')}."
        )
        + "</p>",
        form,
        _chart(rows),
        _table("Whole period", totals(rows), first="label"),
    ]
    by_key: dict[object, list[OpsRow]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
    for group in totals(rows):
        parts.append(_table(f"{options.by}: {group.label}", by_key[group.key], first="bucket"))
    parts.append("</body></html>\n")
    return "".join(parts)


def _chart(rows: list[OpsRow]) -> str:
    per_bucket: dict[datetime, int] = defaultdict(int)
    for row in rows:
        per_bucket[row.bucket] += row.contacts
    if not per_bucket:
        return "<p>No contacts in this period.</p>"
    highest = max(per_bucket.values()) or 1
    width = BAR_WIDTH * len(per_bucket) + 40
    bars = []
    for i, (bucket, contacts) in enumerate(sorted(per_bucket.items())):
        height = round(contacts / highest * (CHART_HEIGHT - 20))
        x, y = 30 + i * BAR_WIDTH, CHART_HEIGHT - height
        tip = escape(f"{bucket.isoformat()}: {contacts} contacts")
        bars.append(
            f'<rect x="{x}" y="{y}" width="{BAR_WIDTH - 4}" height="{height}" fill="#3b6fd8">'
            f"<title>{tip}</title></rect>"
        )
    return (
        f'<svg role="img" aria-label="Contacts per bucket" width="{width}" '
        f'height="{CHART_HEIGHT + 14}" xmlns="http://www.w3.org/2000/svg">'
        f'<text x="0" y="12">{highest}</text><text x="0" y="{CHART_HEIGHT}">0</text>'
        + "".join(bars)
        + "</svg>"
    )


def _table(caption: str, rows: list[OpsRow], first: str) -> str:
    columns = [first] + [c for c in COLUMNS if c not in ("bucket", "key", "label")]
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in columns)
    body = []
    for row in rows:
        data = row.as_json()
        cells = "".join(f"<td>{escape(_shown(data[c]))}</td>" for c in columns)
        body.append(f"<tr>{cells}</tr>")
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _shown(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
