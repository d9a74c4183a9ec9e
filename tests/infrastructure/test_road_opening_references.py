"""The reference a road opening permit names its traffic sign order by is found in the case
search's index; an unknown one is none, never a case of another town."""

from __future__ import annotations

from application.clock import FixedClock
from domain.services import traffic_sign_order
from domain.services.traffic_sign_order import TrafficSignOrder
from domain.working_days import berlin_date
from infrastructure.case_references import ReferencesInTheSearchView
from infrastructure.wiring import Vorgang
from tests.conftest import APPLICANT


def test_a_reference_names_its_case_through_the_search_index(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    data = traffic_sign_order.example(berlin_date(clock.now()))
    submitted = vorgang.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="traffic-sign-order",
        applicant={"name": "A"},
        data=data,
    )
    reference = vorgang.cases.get(submitted.case_id, actor=APPLICANT).reference
    index = ReferencesInTheSearchView(vorgang.store, vorgang.views, vorgang.projections)
    assert index.case_id(reference, TrafficSignOrder) == submitted.case_id
    number = int(reference.rsplit("-", 1)[1])
    unknown = f"{reference.rsplit('-', 1)[0]}-{number + 1000:06d}"
    assert index.case_id(unknown, TrafficSignOrder) is None
    assert index.case_id("XYZ-2026-000001", TrafficSignOrder) is None
    elsewhere = reference.replace("USI-", "SCH-", 1)
    assert index.case_id(elsewhere, TrafficSignOrder) is None
