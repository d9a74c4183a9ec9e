"""The services' timer kinds through the wired scheduler: the road opening's warranty ending
is a notice for the clerk on its last day, not before, once; the case does not move."""

from __future__ import annotations

from datetime import timedelta

from application.clock import FixedClock
from domain.services.road_opening import WARRANTY_ENDS, RoadOpeningPermit
from infrastructure.scheduler import NOTICED, firings
from infrastructure.wiring import Vorgang
from tests.infrastructure.test_scheduler_deemed_approval import morning_of, tick
from tests.projections.legal_track import aggregate, permit_in_warranty


def test_the_warranty_ending_is_a_notice_on_its_last_day_once(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = permit_in_warranty(vorgang, clock)
    permit = aggregate(vorgang, case_id)
    assert isinstance(permit, RoadOpeningPermit)
    assert permit.warranty_until is not None
    morning_of(clock, permit.warranty_until - timedelta(days=1))
    assert (WARRANTY_ENDS.name, NOTICED) not in tick(vorgang)  # (the permit became final)
    version = aggregate(vorgang, case_id).version
    morning_of(clock, permit.warranty_until)
    assert (WARRANTY_ENDS.name, NOTICED) in tick(vorgang)
    morning_of(clock, permit.warranty_until + timedelta(days=3))
    assert (WARRANTY_ENDS.name, NOTICED) not in tick(vorgang)
    rows = [f for f in firings(vorgang.views) if f["kind"] == WARRANTY_ENDS.name]
    assert len(rows) == 1
    assert rows[0]["due_on"] == permit.warranty_until.isoformat()
    assert aggregate(vorgang, case_id).version == version  # a notice never moves the case
