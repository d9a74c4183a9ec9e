"""Services read their application data typed, as the events stored it, never validated again."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import uuid4

from domain.personal_data import PersonalData, Subjects
from domain.services.resident_parking import ResidentParkingApplication
from domain.services.road_opening import Purpose, RoadOpeningApplication
from domain.services.road_opening import example as road_opening_example
from domain.services.sewer_connection import SewerConnectionApplication
from domain.services.traffic_sign_order import TrafficSignOrder
from domain.services.traffic_sign_order import example as traffic_sign_order_example
from tests.domain.case_fixtures import APPLICANT, START

CASE_ID = uuid4()


def case_of(case_class: type[Any], data: dict[str, Any]) -> Any:
    """A submitted case holding this application data as its event stored it."""
    return case_class.submit(
        case_id=CASE_ID,
        actor=APPLICANT,
        at=START,
        tenant="usingen",
        service="test",
        reference="USI-2026-000001",
        applicant={"name": PersonalData(CASE_ID, Subjects.APPLICANT, "Max Mustermann")},
        data=data,
        request_fingerprint="f" * 64,
    )


def test_dates_decimals_and_choices_stored_as_text_are_read_back_as_such() -> None:
    application = RoadOpeningApplication.stored(road_opening_example(date(2026, 3, 2)))
    assert isinstance(application.planned_period.start, date)
    assert application.dimensions.length_m == Decimal("6.50")
    assert application.purpose is Purpose.OTHER


def test_a_traffic_sign_order_reads_its_period_and_zone_as_stored() -> None:
    stored = traffic_sign_order_example(date(2026, 3, 2))
    stored["period"] = {"start": "2026-05-20", "end": "2026-05-01"}  # today's form refuses it
    stored["location"]["zone_length_m"] = "9999.999"
    order = case_of(TrafficSignOrder, stored)
    assert (order.period_start, order.period_end) == (date(2026, 5, 20), date(2026, 5, 1))
    assert order.application.location.zone_length_m == Decimal("9999.999")


def test_an_older_shape_keeps_what_it_has_and_takes_defaults_for_what_it_lacks() -> None:
    street = PersonalData(CASE_ID, Subjects.APPLICANT, "Obergasse")
    application = ResidentParkingApplication.stored(
        {
            "residence": {"street": street, "house_number": "12", "main_residence": False},
            "vehicle": {"number_plate": "HG-AB 123"},  # before the holder was asked
        }
    )
    assert application.months == 12
    assert application.vehicle.holder == "applicant"
    assert application.residence.street is street
    assert application.residence.house_number == "12"  # in clear, as events before sealing


def test_a_choice_no_longer_offered_is_kept_as_stored() -> None:
    application = SewerConnectionApplication.stored({"drainage": "rainwater_cistern"})
    assert application.drainage == "rainwater_cistern"
