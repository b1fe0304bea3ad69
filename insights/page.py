"""The report as one self-contained HTML page: inline CSS and SVG, no scripts at all."""

from __future__ import annotations

from datetime import date
from html import escape

from insights.charts import bar_chart, diverging_chart, line_chart, sparkline
from insights.report import TopicSummary, VocReport
from insights.topics import OTHER

__all__ = ["render_html"]

TOP_TOPICS = 15

# No script may run, whatever a customer wrote: the page allows inline styles only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; color: #111827; margin: 2rem auto;
       max-width: 820px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; font-size: 1.2rem; }
.meta { color: #6b7280; } table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e5e7eb; }
th { font-weight: 600; } .num { text-align: right; font-variant-numeric: tabular-nums; }
blockquote { margin: .4rem 0; padding: .3rem .8rem; border-left: 3px solid #93c5fd;
             background: #f8fafc; } .tag { color: #6b7280; font-size: .85em; }
.rising { color: #c2410c; font-weight: 600; }
"""


def render_html(report: VocReport) -> str:
    """The whole report; every piece of customer or topic text is escaped."""
    top = [t for t in report.topics if t.name != OTHER][:TOP_TOPICS]
    sections = [
        _header(report),
        "<h2>Volume over time by channel</h2>",
        line_chart(dict(report.volume_by_channel), report.days),
        "<h2>Top topics</h2>",
        bar_chart([(t.name, t.contacts) for t in top]) if top else "<p>No topics yet.</p>",
        "<h2>Rising topics</h2>",
        _rising(report),
        "<h2>Sentiment by topic</h2>",
        _sentiment(top),
        "<h2>Satisfaction by topic</h2>",
        _satisfaction(top),
        "<h2>What customers say</h2>",
        *(_quotes(t) for t in top),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Voice of the customer · {report.since:%d %b} to {report.until:%d %b %Y}</title>"
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(sections) + "\n</body></html>\n"
    )


def _header(report: VocReport) -> str:
    return (
        "<h1>Voice of the customer</h1>"
        f'<p class="meta">{report.since:%d %b %Y} to {report.until:%d %b %Y} · '
        f"{report.contacts:,} contacts · topics: {escape(report.topic_model)} · "
        f"sentiment: {escape(report.sentiment_model)} · "
        f"generated {report.generated_at:%Y-%m-%d %H:%M} UTC</p>"
    )


def _rising(report: VocReport) -> str:
    if not report.episodes:
        return "<p>No topic rose above its baseline in this window.</p>"
    by_name = {t.name: t for t in report.topics}
    rows = []
    for e in report.episodes:
        topic = by_name.get(e.topic)
        state = '<span class="rising">rising now</span>' if e.ongoing else "ended"
        rows.append(
            f"<tr><td>{escape(e.topic)}</td><td>{_span(e.start, e.end)}</td>"
            f'<td class="num">{e.peak:,}</td><td class="num">{e.baseline:.1f}</td>'
            f"<td>{state}</td><td>{sparkline(topic.daily) if topic else ''}</td></tr>"
        )
    return (
        '<table><tr><th>Topic</th><th>Days</th><th class="num">Peak/day</th>'
        '<th class="num">Baseline</th><th>State</th><th>Daily contacts</th></tr>'
        + "".join(rows)
        + "</table>"
    )


def _span(start: date, end: date) -> str:
    return f"{start:%d %b}" if start == end else f"{start:%d %b}–{end:%d %b}"


def _sentiment(topics: list[TopicSummary]) -> str:
    if not topics:
        return "<p>No topics yet.</p>"
    rows = "".join(
        f'<tr><td>{escape(t.name)}</td><td class="num">{t.sentiment:+.2f}</td>'
        f'<td class="num">{t.negative_share:.0%}</td>'
        f'<td class="num">{t.sentiment_trend:+.3f}</td></tr>'
        for t in topics
    )
    return (
        diverging_chart([(t.name, t.sentiment) for t in topics])
        + '<table><tr><th>Topic</th><th class="num">Mean</th><th class="num">Negative</th>'
        + '<th class="num">Trend per week</th></tr>'
        + rows
        + "</table>"
    )


def _satisfaction(topics: list[TopicSummary]) -> str:
    """CSAT per topic: the share of 4 and 5 among the ratings customers gave, and the mean."""
    rated = [t for t in topics if t.csat.answers]
    if not rated:
        return "<p>No customer rated a conversation in this window.</p>"
    rows = "".join(
        f'<tr><td>{escape(t.name)}</td><td class="num">{t.csat.satisfied_share:.0%}</td>'
        f'<td class="num">{t.csat.average:.2f}</td><td class="num">{t.csat.answers:,}</td></tr>'
        for t in rated
    )
    return (
        '<table><tr><th>Topic</th><th class="num">CSAT (4-5)</th><th class="num">Mean of 5</th>'
        '<th class="num">Ratings</th></tr>' + rows + "</table>"
    )


def _quotes(topic: TopicSummary) -> str:
    phrases = ", ".join(topic.key_phrases)
    codes = ", ".join(f"{code} ({n:,})" for code, n in topic.dispositions.items())
    outcomes = f" · outcomes: {escape(codes)}" if codes else ""
    quotes = "".join(f"<blockquote>{escape(q)}</blockquote>" for q in topic.quotes)
    return (
        f'<h3>{escape(topic.name)} <span class="tag">{topic.contacts:,} contacts · '
        f"{escape(topic.source)} · {escape(phrases)}{outcomes}</span></h3>{quotes}"
    )
