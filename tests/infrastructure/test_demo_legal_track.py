"""The demo shows the procedure law: every delivery, objections in every state, final cases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from application.clock import FixedClock
from domain.authorities import authorities_of
from domain.case import Case
from domain.objection import ObjectionOutcome, ObjectionState
from domain.tenants import TENANTS
from domain.working_days import add_months, berlin_date, period_end
from infrastructure.demo import seed_demo
from infrastructure.settings import Settings
from infrastructure.wiring import build

# A Monday in Advent: the periods still running end around Christmas and New Year holidays.
NOW = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Case]]:
    """Every demo case, seeded once as of ``NOW`` on a SQLite file of the module's own."""
    database = tmp_path_factory.mktemp("demo_legal_track") / "vorgang.db"
    settings = Settings(database_url=f"sqlite:///{database}", key_cache_seconds=30)
    vorgang = build(settings, clock=FixedClock(NOW))
    try:
        loaded: list[object] = [
            vorgang.store.repository.get(i) for i in seed_demo(vorgang, now=NOW)
        ]
        demo_cases = [case for case in loaded if isinstance(case, Case)]
        assert len(demo_cases) == len(loaded)
        yield demo_cases
    finally:
        vorgang.close()


def test_a_decision_is_notified_by_each_kind_of_delivery_with_the_day_the_law_sets(
    cases: list[Case],
) -> None:
    # Notified, and an objection may still come: the period runs beyond the demo's today.
    in_period = {
        case.notification["delivery"]
        for case in cases
        if case.status == "notified"
        and case.notification is not None
        and case.objection_deadline is not None
        and case.objection_deadline >= berlin_date(NOW)
    }
    assert in_period >= {"counter", "letter", "electronic", "portal", "formal_service"}
    for case in cases:
        if case.notification is None:
            continue
        delivery = case.notification["delivery"]
        sent_on: date = case.notification["sent_on"]
        received_on: date | None = case.notification["received_on"]
        assert case.notified_on is not None
        if delivery == "counter":
            assert case.notified_on == sent_on
        elif delivery in ("letter", "electronic"):  # the fourth day, off weekends and holidays
            assert sent_on + timedelta(days=4) <= case.notified_on <= sent_on + timedelta(days=8)
        elif delivery in ("portal", "postbox"):  # the day after retrieval
            assert received_on is not None
            assert case.notified_on == received_on + timedelta(days=1)
        else:  # the day of service on the certificate
            assert received_on is not None
            assert case.notified_on == received_on
        if case.decision is not None and case.decision.remedy_notice.complete:
            assert case.objection_deadline == period_end(case.notified_on, 1)


def test_objections_are_shown_in_every_state_beside_the_main_track(cases: list[Case]) -> None:
    objections = [(case, o) for case in cases for o in case.objections]
    states = {o.state for _case, o in objections}
    assert {
        ObjectionState.PENDING,
        ObjectionState.PARTLY_REMEDIED,
        ObjectionState.REMEDIED,
        ObjectionState.WITHDRAWN,
        ObjectionState.DECIDED,
    } <= states
    assert {case.tenant for case, _o in objections} == set(TENANTS)

    # Lodged while the works run: the works go on, the objection is open.
    assert any(
        case.service == "road-opening"
        and case.status == "works_started"
        and o.state == ObjectionState.PENDING
        and o.timely
        for case, o in objections
    )
    # Abhilfe in full: the case was decided anew and notified again, after the objection.
    remedied = [(c, o) for c, o in objections if o.state == ObjectionState.REMEDIED]
    assert remedied
    for case, objection in remedied:
        assert objection.remedy is not None
        assert objection.remedy.outcome == "remedied"
        assert case.decision is not None
        assert case.decision.outcome.is_approval
        assert case.notified_on is not None
        assert case.notified_on > objection.received_on
    # Abhilfe in part: the rest stays open.
    assert any(
        o.state == ObjectionState.PARTLY_REMEDIED and o.is_open and case.open_objection == o
        for case, o in objections
    )


def test_widerspruchsbescheide_after_hearing_and_after_forwarding_and_a_late_objection(
    cases: list[Case],
) -> None:
    decided = [
        (case, o) for case in cases for o in case.objections if o.state == ObjectionState.DECIDED
    ]
    for _case, objection in decided:
        assert objection.decision is not None
        assert objection.decision.served_on is not None
        assert objection.decision.action_deadline == period_end(objection.decision.served_on, 1)

    heard = [(c, o) for c, o in decided if o.heard_on is not None]
    assert heard, "no Widerspruchsbescheid after a hearing before the Anhörungsausschuss"
    for case, objection in heard:
        town = authorities_of(case.tenant)
        assert objection.hearing_committee == town.hearing_committee
        assert objection.decision is not None
        assert objection.decision.decided_by == town.executive  # self-government matter

    forwarded = [(c, o) for c, o in decided if o.forwarded_to and o.timely]
    assert any(c.service == "traffic-sign-order" for c, _o in forwarded)
    for case, objection in forwarded:
        town = authorities_of(case.tenant)
        assert objection.forwarded_to == town.supervising_authority
        assert objection.decision is not None
        assert objection.decision.decided_by == town.supervising_authority

    late = [(c, o) for c, o in decided if not o.timely]
    assert late, "no late objection"
    for _case, objection in late:
        assert objection.decision is not None
        assert objection.decision.outcome == ObjectionOutcome.INADMISSIBLE

    # Final once the month for an action after the Widerspruchsbescheid ran out.
    for case, objection in heard + forwarded:
        assert objection.decision is not None
        assert objection.decision.action_deadline
        assert case.status == "final"
        assert case.final_on == objection.decision.action_deadline + timedelta(days=1)


def test_final_decisions_a_defective_remedy_notice_and_a_withdrawal_after_notification(
    cases: list[Case],
) -> None:
    final = [c for c in cases if c.status == "final"]
    unopposed = [c for c in final if not c.objections]
    assert unopposed
    for case in unopposed:
        assert case.objection_deadline is not None
        assert case.final_on == case.objection_deadline + timedelta(days=1)
    withdrawn_objection = [
        c for c in final if c.objection and c.objection.state == ObjectionState.WITHDRAWN
    ]
    assert withdrawn_objection

    defective = [c for c in cases if c.decision and not c.decision.remedy_notice.complete]
    assert defective, "no case whose remedy notice was found defective"
    for case in defective:
        assert case.notified_on is not None
        assert case.objection_deadline == period_end(case.notified_on, 12)
        # An objection after the month is in time: the period is a year.
        assert case.objection is not None
        assert case.objection.timely
        assert case.objection.received_on > add_months(case.notified_on, 1)

    assert any(
        c.status == "withdrawn" and c.notified_on is not None and c.final_on is None for c in cases
    ), "no application withdrawn after notification"


def test_no_demo_step_lies_after_now(cases: list[Case]) -> None:
    assert max(case.last_activity_at for case in cases) <= NOW
