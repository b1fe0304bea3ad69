"""Inline SVG charts: no scripts, no external assets, every label HTML-escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

__all__ = ["bar_chart", "diverging_chart", "line_chart", "sparkline"]

PALETTE = ("#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#db2777", "#65a30d")
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


def line_chart(
    series: dict[str, Sequence[int]], days: Sequence[date], width: int = 760, height: int = 240
) -> str:
    """Daily counts, one line per series, with a legend and date ticks."""
    left, right, top, bottom = 40, 30, 24, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((max(values, default=0) for values in series.values()), default=0) or 1
    step = plot_w / max(len(days) - 1, 1)
    parts = [_axes(left, top, plot_w, plot_h, peak)]
    for n, (name, values) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        points = " ".join(
            f"{left + i * step:.1f},{top + plot_h - v / peak * plot_h:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(
            f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2"'
            f' points="{points}"><title>{escape(name)}</title></polyline>'
        )
        parts.append(
            f'<rect x="{left + n * 110}" y="4" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + n * 110 + 14}" y="13" {FONT}>{escape(name)}</text>'
        )
    for i in range(0, len(days), max(len(days) // 6, 1)):
        parts.append(
            f'<text x="{left + i * step:.1f}" y="{height - 8}" {FONT} text-anchor="middle">'
            f"{days[i].strftime('%d %b')}</text>"
        )
    return _svg(width, height, "Contacts per day by channel", parts)


def bar_chart(items: Sequence[tuple[str, float]], width: int = 760, unit: str = "") -> str:
    """Horizontal bars, largest first as given."""
    label_w, row, top = 260, 24, 6
    height = top + row * len(items) + 6
    peak = max((value for _, value in items), default=0) or 1
    parts = []
    for n, (label, value) in enumerate(items):
        y = top + n * row
        bar = (width - label_w - 70) * value / peak
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" {FONT} text-anchor="end">'
            f"{escape(_short(label))}</text>"
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row - 8}"'
            f' fill="{PALETTE[0]}"><title>{escape(label)}</title></rect>'
            f'<text x="{label_w + bar + 6:.1f}" y="{y + 15}" {FONT}>{value:,.0f}{unit}</text>'
        )
    return _svg(width, height, "Contacts per topic", parts)


def diverging_chart(items: Sequence[tuple[str, float]], width: int = 760) -> str:
    """Bars left (negative) or right (positive) of zero, for scores from -1 to 1."""
    label_w, row, top = 260, 24, 6
    height = top + row * len(items) + 6
    half = (width - label_w - 60) / 2
    zero = label_w + half
    parts = [f'<line x1="{zero}" y1="0" x2="{zero}" y2="{height}" stroke="#9ca3af"/>']
    for n, (label, value) in enumerate(items):
        y = top + n * row
        length = half * min(abs(value), 1.0)
        x = zero if value >= 0 else zero - length
        colour = "#16a34a" if value >= 0 else "#dc2626"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" {FONT} text-anchor="end">'
            f"{escape(_short(label))}</text>"
            f'<rect class="bar" x="{x:.1f}" y="{y + 3}" width="{length:.1f}" height="{row - 8}"'
            f' fill="{colour}"><title>{escape(label)}</title></rect>'
            f'<text x="{width - 50}" y="{y + 15}" {FONT}>{value:+.2f}</text>'
        )
    return _svg(width, height, "Mean sentiment per topic", parts)


def sparkline(values: Sequence[int], width: int = 160, height: int = 28) -> str:
    peak = max(values, default=0) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{height - 2 - v / peak * (height - 4):.1f}" for i, v in enumerate(values)
    )
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="daily contacts"><polyline fill="none" stroke="{PALETTE[2]}"'
        f' stroke-width="1.5" points="{points}"/></svg>'
    )


def _axes(left: int, top: int, width: int, height: int, peak: int) -> str:
    return (
        f'<line x1="{left}" y1="{top + height}" x2="{left + width}" y2="{top + height}"'
        f' stroke="#9ca3af"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + height}" stroke="#9ca3af"/>'
        f'<text x="{left - 4}" y="{top + 4}" {FONT} text-anchor="end">{peak:,}</text>'
        f'<text x="{left - 4}" y="{top + height}" {FONT} text-anchor="end">0</text>'
    )


def _svg(width: int, height: int, title: str, parts: list[str]) -> str:
    return (
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
