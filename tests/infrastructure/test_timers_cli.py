"""`vorgang timers tick --on DAY` fires the timers as of that business day on a fixed clock,
so an operator or a demo sees them act: a permit's expiry is recorded the day after its last
day, not on it, and once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from application.clock import FixedClock
from domain.case_timers import PERMIT_EXPIRED
from domain.services.road_opening import RoadOpeningPermit
from infrastructure.cli import app
from infrastructure.wiring import Vorgang
from tests.projections.legal_track import aggregate, permit_with_works_started


def test_a_tick_on_a_given_day_records_the_expiry_the_day_after_the_last_day(
    vorgang: Vorgang, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = permit_with_works_started(vorgang, clock)
    vorgang.projections.catch_up()
    permit = aggregate(vorgang, case_id)
    assert isinstance(permit, RoadOpeningPermit)
    last = permit.valid_until
    assert last is not None
    monkeypatch.setenv("VORGANG_DATABASE_URL", vorgang.settings.database_url)
    runner = CliRunner()

    on_the_last_day = runner.invoke(app, ["timers", "tick", "--on", last.isoformat()])
    assert on_the_last_day.exit_code == 0, on_the_last_day.output
    assert f"{last.isoformat()}: " in on_the_last_day.stdout  # the tick's business day
    assert PERMIT_EXPIRED.name not in on_the_last_day.stdout
    assert aggregate(vorgang, case_id).expired_on is None

    day_after = (last + timedelta(days=1)).isoformat()
    fired = runner.invoke(app, ["timers", "tick", "--on", day_after])
    assert fired.exit_code == 0, fired.output
    line = next(x for x in fired.stdout.splitlines() if PERMIT_EXPIRED.name in x)
    assert str(case_id) in line
    assert line.endswith("done")
    assert aggregate(vorgang, case_id).expired_on == last + timedelta(days=1)

    again = runner.invoke(app, ["timers", "tick", "--on", day_after])
    assert again.exit_code == 0, again.output
    assert PERMIT_EXPIRED.name not in again.stdout
