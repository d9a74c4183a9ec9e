"""Road opening and resident parking read their application as stored: refused shapes, erasure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from domain.personal_data import Erased, Subjects
from domain.services.resident_parking import ResidentParkingPermit
from domain.services.road_opening import RoadOpeningPermit
from domain.services.road_opening import example as road_opening_example
from tests.domain.test_application_as_stored import CASE_ID, case_of


def test_stored_data_today_s_form_would_refuse_is_read_as_stored() -> None:
    stored = road_opening_example(date(2026, 3, 2))
    stored["planned_period"] = {"start": "2026-05-20", "end": "2026-05-01"}  # end before start
    stored["dimensions"]["length_m"] = "9999.999"  # beyond today's bound and precision
    permit = case_of(RoadOpeningPermit, stored)
    assert permit.planned_period_start == date(2026, 5, 20)
    assert permit.planned_period_end == date(2026, 5, 1)
    assert permit.application.dimensions.length_m == Decimal("9999.999")


def test_erased_personal_values_stay_erased_and_the_street_reads_as_unknown() -> None:
    erased = Erased(CASE_ID, Subjects.APPLICANT)
    permit = case_of(
        ResidentParkingPermit,
        {
            "residence": {"street": erased, "house_number": erased, "main_residence": True},
            "vehicle": {"number_plate": erased, "holder": "applicant"},
            "months": 6,
        },
    )
    assert permit.application.residence.house_number is erased
    assert permit.residence_street is None
    assert permit.main_residence is True
    assert permit.requested_months == 6
