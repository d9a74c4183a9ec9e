"""The statistics page's charts, drawn on the server as SVG (no chart library, no CDN).

Two charts: cases received and decided per ISO week (the town's services together, the last
``WEEKS`` weeks up to today), and processing times per service (median and 90th percentile in
working days). Each SVG has ``role="img"`` with a title and a description; the page shows the
same figures as a table beside it, so nothing is only in the picture. Bars are told apart by
pattern and label, not by colour alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup, escape

WEEKS = 12
RECEIVED = "#0b4f8a"  # 8.3:1 on white
DECIDED = "#1d5e2c"  # 7.3:1 on white
MEDIAN = "#0b4f8a"
P90 = "#6b4500"  # 7.4:1 on white
INK = "#1b1b1b"
GRID = "#767676"


@dataclass(frozen=True)
class Week:
    """One ISO week's counts."""

    label: str  # 2026-W10
    received: int
    decided: int


@dataclass(frozen=True)
class ServiceTime:
    """One service's processing times in working days."""

    label: str
    median: float | None
    p90: float | None
    cases: int


@dataclass(frozen=True)
class Charts:
    """What the statistics page shows: two SVGs and their figures."""

    weeks: list[Week]
    times: list[ServiceTime]
    weekly_svg: Markup
    times_svg: Markup


def iso_week(day: date) -> str:
    """``2026-W10``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def last_weeks(today: date, count: int = WEEKS) -> list[str]:
    """The ``count`` ISO weeks up to and including today's, oldest first."""
    return [iso_week(today - timedelta(weeks=n)) for n in range(count - 1, -1, -1)]


def weekly(summaries: Sequence[dict[str, Any]], today: date) -> list[Week]:
    """Received and decided per week over all services of the town."""
    received: Counter[str] = Counter()
    decided: Counter[str] = Counter()
    for summary in summaries:
        received.update(summary.get("received_per_week", {}))
        decided.update(summary.get("decided_per_week", {}))
    return [Week(w, received[w], decided[w]) for w in last_weeks(today)]


def _scale(value: float) -> tuple[int, int]:
    """A round axis maximum at or above ``value`` and its number of whole-number ticks."""
    top = max(1, int(-(-value // 1)))
    if top <= 5:
        return top, top
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if s * 5 >= top)
    if step * 5 < top:
        step = -(-top // 5)
    return step * 5, 5


def weekly_svg(weeks: list[Week]) -> Markup:
    """Grouped bars per week: received (solid) and decided (striped)."""
    width, height = 760, 300
    left, right, top, bottom = 48, 16, 36, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    peak, ticks = _scale(max([w.received for w in weeks] + [w.decided for w in weeks] + [1]))
    slot = plot_w / max(1, len(weeks))
    bar = slot * 0.36
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="weekly-title weekly-desc">',
        '<title id="weekly-title">Eingegangene und entschiedene Vorgänge je Kalenderwoche</title>',
        f'<desc id="weekly-desc">Balkendiagramm der letzten {len(weeks)} Kalenderwochen; '
        "die Zahlen stehen auch in der Tabelle unter dem Diagramm.</desc>",
        '<defs><pattern id="stripes" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<rect width="3" height="6" fill="{DECIDED}"/></pattern></defs>',
    ]
    for i in range(ticks + 1):
        value = peak * i // ticks
        y = top + plot_h - plot_h * i / ticks
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="{1 if i == 0 else 0.4}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="{INK}">{value:g}</text>'
        )
    for index, week in enumerate(weeks):
        x = left + slot * index + slot * 0.12
        bars = (
            (week.received, RECEIVED, "eingegangen"),
            (week.decided, "url(#stripes)", "entschieden"),
        )
        for offset, (value, fill, what) in enumerate(bars):
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x + offset * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{fill}" stroke="{DECIDED if offset else RECEIVED}">'
                f"<title>{escape(week.label)}: {value} {what}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar:.1f}" y="{top + plot_h + 16}" font-size="11" '
            f'text-anchor="middle" fill="{INK}">{escape(week.label[-3:])}</text>'
        )
    legend_y = height - 14
    parts.append(
        f'<rect x="{left}" y="{legend_y - 10}" width="12" height="12" fill="{RECEIVED}"/>'
        f'<text x="{left + 18}" y="{legend_y}" font-size="12" fill="{INK}">eingegangen</text>'
        f'<rect x="{left + 120}" y="{legend_y - 10}" width="12" height="12" '
        f'fill="url(#stripes)" stroke="{DECIDED}"/>'
        f'<text x="{left + 138}" y="{legend_y}" font-size="12" fill="{INK}">entschieden</text>'
        f'<text x="{left}" y="18" font-size="12" fill="{INK}">Vorgänge je Woche</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it went through escape)


def times_svg(times: list[ServiceTime]) -> Markup:
    """Horizontal bars per service: median (solid) and 90th percentile (outlined)."""
    row = 34
    width = 760
    left, right, top = 250, 60, 36
    height = top + row * max(1, len(times)) + 40
    plot_w = width - left - right
    peak, _ = _scale(max([t.p90 or 0 for t in times] + [t.median or 0 for t in times] + [1]))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="times-title times-desc">',
        '<title id="times-title">Bearbeitungsdauer je Leistung in Arbeitstagen</title>',
        '<desc id="times-desc">Median und 90. Perzentil je Leistung; die Zahlen stehen auch in '
        "der Tabelle unter dem Diagramm.</desc>",
        f'<text x="{left}" y="18" font-size="12" fill="{INK}">Arbeitstage (0 bis {peak})</text>',
    ]
    if not times:
        parts.append(
            f'<text x="{left}" y="{top + 20}" font-size="13" fill="{INK}">'
            "Noch keine entschiedenen Vorgänge.</text>"
        )
    for index, service in enumerate(times):
        y = top + row * index
        parts.append(
            f'<text x="{left - 8}" y="{y + 20}" font-size="12" text-anchor="end" '
            f'fill="{INK}">{escape(service.label[:38])}</text>'
        )
        if service.p90 is not None:
            w = plot_w * service.p90 / peak
            parts.append(
                f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="22" fill="#ffffff" '
                f'stroke="{P90}" stroke-width="2"><title>{escape(service.label)}: 90. Perzentil '
                f"{service.p90:g} Arbeitstage</title></rect>"
            )
        if service.median is not None:
            w = plot_w * service.median / peak
            parts.append(
                f'<rect x="{left}" y="{y + 9}" width="{w:.1f}" height="12" fill="{MEDIAN}">'
                f"<title>{escape(service.label)}: Median {service.median:g} Arbeitstage</title>"
                "</rect>"
            )
        shown = "\u2013" if service.median is None else f"{service.median:g} / {service.p90 or 0:g}"
        parts.append(
            f'<text x="{width - right + 6}" y="{y + 20}" font-size="12" fill="{INK}">{shown}</text>'
        )
    legend_y = height - 12
    parts.append(
        f'<rect x="{left}" y="{legend_y - 10}" width="12" height="12" fill="{MEDIAN}"/>'
        f'<text x="{left + 18}" y="{legend_y}" font-size="12" fill="{INK}">Median</text>'
        f'<rect x="{left + 90}" y="{legend_y - 10}" width="12" height="12" fill="#ffffff" '
        f'stroke="{P90}" stroke-width="2"/>'
        f'<text x="{left + 108}" y="{legend_y}" font-size="12" fill="{INK}">90. Perzentil</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text in it went through escape)


def stats_charts(
    summaries: Sequence[dict[str, Any]], today: date, label: Callable[[str], str]
) -> Charts:
    """Both charts for a town's statistics (``StatsQuery.for_tenant``)."""
    weeks = weekly(summaries, today)
    times = [
        ServiceTime(
            label=label(s["service"]),
            median=s.get("processing_working_days_median"),
            p90=s.get("processing_working_days_p90"),
            cases=int(s.get("cases", 0)),
        )
        for s in summaries
    ]
    return Charts(
        weeks=weeks, times=times, weekly_svg=weekly_svg(weeks), times_svg=times_svg(times)
    )
