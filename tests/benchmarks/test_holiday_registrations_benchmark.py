"""The holiday registrations benchmark runs end to end at a tiny size, so it cannot rot unnoticed.

Figures at this size mean nothing; what is checked is that both services are served, loaded
by wrk to the exact number of requests once the offering's window opened, every registration
answered 201, and the draw afterwards read back through the API: no more children allocated
than places, every registration among the draw's inputs exactly once, the replay consistent.
SQLite only (the fast path); ``make bench`` runs PostgreSQL as well.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from uuid import UUID

import pytest

from benchmarks import holiday_registrations
from tests.conftest import IN_CI

TINY = holiday_registrations.Sizes(
    registrations=24, connections=4, warm_up=4, places=10, postgres=False
)
SERVICE = holiday_registrations.SERVICE


@pytest.fixture
def wrk_installed() -> None:
    """wrk on the path: skipped on a laptop without it, failed in CI."""
    if shutil.which("wrk") is not None:
        return
    reason = "Debian's wrk is not installed (apt-get install wrk)"
    if IN_CI:
        pytest.fail(f"CI needs the holiday registrations benchmark: {reason}")
    pytest.skip(reason)


def test_the_families_sent_are_each_of_another_child_and_within_the_age_range() -> None:
    today = datetime.now(UTC).date()
    kinds = holiday_registrations.registrations("offering", today)
    starts_on, _ = holiday_registrations.offering_days(today)

    assert {body["service"] for body in kinds} == {SERVICE}
    assert sum(body["data"]["municipality"] == "other" for body in kinds) == 1
    for body in kinds:
        for child in body["data"]["children"]:
            age = starts_on.year - int(child["born_on"][:4])  # born on 1 January
            assert holiday_registrations.MIN_AGE <= age <= holiday_registrations.MAX_AGE
            assert child["family_name"] == "@F@"  # the Lua script names each family anew
    # 24 registrations cycle through one, one, two and one children from the first: 30
    assert holiday_registrations.children_sent(TINY) == 30


def test_the_holiday_registrations_benchmark_draws_exactly_what_it_registered(
    wrk_installed: None, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes = holiday_registrations.run(TINY)

    assert set(outcomes) == {("sqlite", "general"), ("sqlite", SERVICE)}
    for (_, service), outcome in outcomes.items():
        assert outcome.problems == [], service
        assert outcome.load.requests == TINY.registrations, service
        assert outcome.load.statuses == {201: TINY.registrations}, service
    registered = outcomes["sqlite", SERVICE]
    assert len({UUID(case) for case in registered.created}) == TINY.registrations
    draw = registered.draw
    assert draw is not None
    assert draw.places == TINY.places
    assert draw.allocated <= TINY.places
    assert draw.allocated + draw.waiting == 30
    assert draw.lots == TINY.registrations
    assert draw.replay == "consistent"
    printed = capsys.readouterr().out
    for service in ("general", SERVICE):
        assert re.search(rf"sqlite +{service} +24 ", printed), service
    assert "24 registrations answered 201, 24 lots in the draw (each once: yes)" in printed
    assert "28 general cases stored (as sent)" in printed
    assert "sqlite: 24 of 24 registrations accepted" in printed
