"""The water readings benchmark runs end to end at a tiny size, so it cannot rot unnoticed.

Figures at this size mean nothing; what is checked is that both services are served, loaded
by wrk to the exact number of requests, and read back from the store: every reading recorded
once on its own meter, unflagged, and every general case stored. SQLite only (the fast path);
``make bench`` runs PostgreSQL as well.
"""

from __future__ import annotations

import re
import shutil

import pytest

from benchmarks import water_readings
from tests.conftest import IN_CI

TINY = water_readings.Sizes(readings=24, connections=4, warm_up=4, postgres=False)


@pytest.fixture
def wrk_installed() -> None:
    """wrk on the path: skipped on a laptop without it, failed in CI."""
    if shutil.which("wrk") is not None:
        return
    reason = "Debian's wrk is not installed (apt-get install wrk)"
    if IN_CI:
        pytest.fail(f"CI needs the water readings benchmark: {reason}")
    pytest.skip(reason)


def test_the_water_readings_benchmark_submits_exactly_what_it_reports(
    wrk_installed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes = water_readings.run(TINY)

    assert set(outcomes) == {("sqlite", "general"), ("sqlite", "water-meter-reading")}
    for (_, service), outcome in outcomes.items():
        assert outcome.problems == [], service
        assert outcome.load.requests == TINY.readings, service
        assert outcome.load.statuses == {201: TINY.readings}, service
    printed = capsys.readouterr().out
    for service in ("general", "water-meter-reading"):
        assert re.search(rf"sqlite +{service} +24 ", printed), service
    assert "28 readings recorded on 28 meters, 0 flagged (as sent)" in printed
    assert "28 general cases stored (as sent)" in printed
