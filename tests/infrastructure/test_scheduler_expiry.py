"""A permit's validity ending through the wired scheduler (SQLite and PostgreSQL): the day
after its last day the scheduler records the expiry as a case event (§ 43 (2) HVwVfG), once;
an extension moves the day; the status stays where the works stand."""

from __future__ import annotations

from datetime import timedelta

from application.clock import FixedClock
from domain.case_timers import PERMIT_EXPIRED
from domain.services.road_opening import RoadOpeningPermit
from infrastructure.scheduler import DONE, firings
from infrastructure.wiring import Vorgang
from tests.conftest import CLERK
from tests.infrastructure.test_scheduler_deemed_approval import morning_of, tick
from tests.projections.legal_track import aggregate, permit_with_works_started, today
from tests.steps import take


def road_permit(vorgang: Vorgang, case_id: object) -> RoadOpeningPermit:
    permit = aggregate(vorgang, case_id)  # type: ignore[arg-type]
    assert isinstance(permit, RoadOpeningPermit)
    return permit


def test_the_scheduler_records_the_expiry_the_day_after_the_last_day_once(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = permit_with_works_started(vorgang, clock)
    last = road_permit(vorgang, case_id).valid_until
    assert last is not None
    morning_of(clock, last)
    assert (PERMIT_EXPIRED.name, DONE) not in tick(vorgang)
    assert road_permit(vorgang, case_id).expired_on is None
    status = road_permit(vorgang, case_id).status
    morning_of(clock, last + timedelta(days=1))
    assert (PERMIT_EXPIRED.name, DONE) in tick(vorgang)
    permit = road_permit(vorgang, case_id)
    assert permit.expired_on == last + timedelta(days=1)
    assert permit.status == status  # the works' track does not move
    version = permit.version
    morning_of(clock, last + timedelta(days=5))
    assert (PERMIT_EXPIRED.name, DONE) not in tick(vorgang)
    assert road_permit(vorgang, case_id).version == version
    rows = [f for f in firings(vorgang.views) if f["kind"] == PERMIT_EXPIRED.name]
    assert [r["outcome"] for r in rows] == [DONE]


def test_an_extension_moves_the_expiry(vorgang: Vorgang, clock: FixedClock) -> None:
    case_id = permit_with_works_started(vorgang, clock)
    last = road_permit(vorgang, case_id).valid_until
    assert last is not None
    take(
        vorgang.cases,
        case_id,
        "extend_permit",
        actor=CLERK,
        extended_to=last + timedelta(days=10),
        reason="Lieferverzug beim Material",
    )
    assert today(clock) <= last
    morning_of(clock, last + timedelta(days=1))
    assert (PERMIT_EXPIRED.name, DONE) not in tick(vorgang)
    assert road_permit(vorgang, case_id).expired_on is None
    morning_of(clock, last + timedelta(days=11))
    assert (PERMIT_EXPIRED.name, DONE) in tick(vorgang)
    assert road_permit(vorgang, case_id).expired_on == last + timedelta(days=11)
