"""The report's tables as CSV, for spreadsheets: topics, volume, rising and quotes."""

from __future__ import annotations

import csv
import io
import math

from insights.report import VocReport

__all__ = ["TABLES", "report_csv"]

TABLES = ("topics", "volume", "rising", "quotes")


def report_csv(report: VocReport, table: str = "topics") -> str:
    """One table of the report as CSV: topics, volume, rising or quotes."""
    out = io.StringIO()
    writer = csv.writer(out)
    if table == "topics":
        writer.writerow(
            [
                "topic",
                "source",
                "key_phrases",
                "contacts",
                "share",
                "sentiment",
                "negative_share",
                "sentiment_trend_per_week",
                "growth_7d",
                "rising",
                "csat_answers",
                "csat_satisfied_share",
                "csat_average",
            ]
        )
        for t in report.topics:
            writer.writerow(
                [
                    _cell(t.name),
                    t.source,
                    _cell("; ".join(t.key_phrases)),
                    t.contacts,
                    f"{t.share:.4f}",
                    f"{t.sentiment:.4f}",
                    f"{t.negative_share:.4f}",
                    f"{t.sentiment_trend:.4f}",
                    _number(t.growth),
                    t.rising,
                    t.csat.answers,
                    _share(t.csat.satisfied_share),
                    _share(t.csat.average),
                ]
            )
    elif table == "volume":
        writer.writerow(["day", "channel", "contacts"])
        for channel, counts in report.volume_by_channel.items():
            for day, count in zip(report.days, counts, strict=True):
                writer.writerow([day.isoformat(), channel, count])
    elif table == "rising":
        writer.writerow(["topic", "start", "end", "peak", "baseline", "p_value", "ongoing"])
        for e in report.episodes:
            writer.writerow(
                [
                    _cell(e.topic),
                    e.start.isoformat(),
                    e.end.isoformat(),
                    e.peak,
                    f"{e.baseline:.2f}",
                    f"{e.p_value:.3g}",
                    e.ongoing,
                ]
            )
    elif table == "quotes":
        writer.writerow(["topic", "quote"])
        for t in report.topics:
            for quote in t.quotes:
                writer.writerow([_cell(t.name), _cell(quote)])
    else:
        raise ValueError(f"no table {table!r}; choose one of {', '.join(TABLES)}")
    return out.getvalue()


def _number(value: float) -> str:
    return "" if math.isinf(value) else f"{value:.3f}"


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _cell(text: str) -> str:
    """Customer text in a spreadsheet cell must not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
