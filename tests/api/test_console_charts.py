"""The statistics page's SVG charts, drawn from StatsQuery summaries."""

from __future__ import annotations

import re
from datetime import date

from api.console.stats_charts import last_weeks, stats_charts

TODAY = date(2026, 3, 4)  # ISO week 2026-W10
SUMMARIES = [
    {
        "service": "general",
        "cases": 5,
        "received_per_week": {"2026-W09": 3, "2026-W10": 2, "2025-W30": 9},
        "decided_per_week": {"2026-W10": 4},
        "processing_working_days_median": 6,
        "processing_working_days_p90": 12.5,
    },
    {
        "service": "dog_registration",
        "cases": 1,
        "received_per_week": {"2026-W10": 1},
        "decided_per_week": {},
        "processing_working_days_median": None,
        "processing_working_days_p90": None,
    },
]


def test_the_weekly_chart_counts_the_last_twelve_weeks_of_every_service() -> None:
    charts = stats_charts(SUMMARIES, TODAY, lambda s: {"general": "Allgemein <&>"}.get(s, s))
    assert [w.label for w in charts.weeks] == last_weeks(TODAY)
    assert charts.weeks[-1].label == "2026-W10"
    assert (charts.weeks[-1].received, charts.weeks[-1].decided) == (3, 4)
    assert (charts.weeks[-2].received, charts.weeks[-2].decided) == (3, 0)
    assert all(w.label != "2025-W30" for w in charts.weeks)  # older than twelve weeks
    svg = str(charts.weekly_svg)
    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    assert "<title>2026-W10: 3 eingegangen</title>" in svg
    assert "<title>2026-W10: 4 entschieden</title>" in svg
    ticks = re.findall(r'text-anchor="end" fill="#1b1b1b">([^<]+)<', svg)
    assert ticks == ["0", "1", "2", "3", "4"]  # whole numbers of cases


def test_the_times_chart_shows_median_and_p90_and_escapes_labels() -> None:
    charts = stats_charts(SUMMARIES, TODAY, lambda s: {"general": "Allgemein <&>"}.get(s, s))
    svg = str(charts.times_svg)
    assert "Allgemein &lt;&amp;&gt;: Median 6 Arbeitstage" in svg
    assert "Allgemein &lt;&amp;&gt;: 90. Perzentil 12.5 Arbeitstage" in svg
    assert "<&>" not in svg
    assert "dog_registration" in svg  # a service without decisions: named, no bars
    assert svg.count("Median 6") == 1
