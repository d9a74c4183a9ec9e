"""The clerk inbox beside the legal track: overdue stops at the decision; open objections show."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from api.routes.read_models import opener
from application.clock import FixedClock
from infrastructure.wiring import Vorgang
from projections.inbox_query import InboxFilter, InboxQuery
from tests.conftest import CLERK
from tests.projections import legal_track
from tests.projections.legal_track import aggregate, iso, today
from tests.steps import take


def inbox(v: Vorgang, clock: FixedClock, **wanted: Any) -> dict[str, dict[str, Any]]:
    """The tenant's inbox after catching up, by case id (every page)."""
    v.projections.catch_up()
    query = InboxQuery(v.views, opener(v.projections))
    items, cursor = query.page(
        InboxFilter(tenant="usingen", **wanted), today=today(clock), limit=100, cursor=None
    )
    assert cursor is None
    return {item["case_id"]: item for item in items}


def undecided_case(v: Vorgang, clock: FixedClock) -> UUID:
    """A general case whose processing period runs, without a decision."""
    case_id = legal_track.general_case(v, name="Hans Maier")
    legal_track.in_review(v, case_id)
    return case_id


def test_the_overdue_flag_stops_at_the_decision_even_while_the_warranty_runs(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    waiting = str(undecided_case(vorgang, clock))
    permit = str(legal_track.permit_in_warranty(vorgang, clock))
    clock.advance(timedelta(days=60))

    rows = inbox(vorgang, clock)
    assert rows[permit]["status"] == "warranty_running"
    assert rows[permit]["due_on"] is not None
    assert rows[permit]["due_on"] < today(clock).isoformat()  # long past, as the waiting case's
    assert rows[permit]["decided_on"] is not None
    assert rows[permit]["overdue"] is False
    assert rows[permit]["working_days_left"] is None  # the clock stopped: nothing to count
    assert rows[waiting]["overdue"] is True
    assert rows[waiting]["working_days_left"] < 0
    assert list(inbox(vorgang, clock, overdue=True)) == [waiting]
    assert list(inbox(vorgang, clock, due_before=today(clock))) == [waiting]
    assert list(inbox(vorgang, clock)) == [waiting, permit]  # no running period last


def test_a_remedy_with_a_new_decision_runs_the_clock_again(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = legal_track.notified_general_case(vorgang, clock)
    legal_track.lodge_objection(vorgang, case_id)
    clock.advance(timedelta(days=60))
    assert inbox(vorgang, clock)[str(case_id)]["overdue"] is False

    take(vorgang.cases, case_id, "remedy_objection", actor=CLERK, reason="Abhilfe")
    row = inbox(vorgang, clock)[str(case_id)]
    assert row["status"] == "in_review"
    assert row["decided_on"] is None
    assert row["overdue"] is True  # back in review, its recorded period long over
    assert row["objection_open"] is False
    assert row["objection_state"] == "remedied"
    assert row["objection_deadline"] is None  # a new decision sets a new one


def test_an_objection_lodged_while_the_works_run_keeps_the_status_and_shows_open(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    permit = legal_track.permit_with_works_started(vorgang, clock)
    other = undecided_case(vorgang, clock)
    before = inbox(vorgang, clock)[str(permit)]
    assert before["objection_open"] is False
    assert before["objection_state"] is None

    legal_track.lodge_objection(vorgang, permit)
    case = aggregate(vorgang, permit)
    assert case.status == "works_started"
    assert case.open_objection is not None
    rows = inbox(vorgang, clock)
    assert rows[str(permit)]["status"] == "works_started"
    assert rows[str(permit)]["objection_open"] is True
    assert rows[str(permit)]["objection_state"] == "pending"
    assert rows[str(permit)]["objection_deadline"] == iso(case.objection_deadline)
    assert rows[str(other)]["objection_open"] is False
    assert list(inbox(vorgang, clock, objection_open=True)) == [str(permit)]
    assert list(inbox(vorgang, clock, status="works_started")) == [str(permit)]
    assert list(inbox(vorgang, clock, status="objection_lodged")) == []  # no such status now

    legal_track.hear_objection(vorgang, permit, clock)  # self-government: heard, not forwarded
    assert inbox(vorgang, clock, objection_open=True)[str(permit)]["objection_state"] == "heard"
    take(
        vorgang.cases,
        permit,
        "decide_objection",
        actor=CLERK,
        outcome="dismissed",
        reasons="Die Arbeitszeiten schützen die Anwohner.",
        costs_borne_by="objector",
        served_on=today(clock),
    )
    row = inbox(vorgang, clock)[str(permit)]
    assert row["status"] == "works_started"
    assert row["objection_open"] is False
    assert row["objection_state"] == "decided"
    assert inbox(vorgang, clock, objection_open=True) == {}
