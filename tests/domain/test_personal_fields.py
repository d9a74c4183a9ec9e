from datetime import date
from uuid import uuid4

from domain.personal_data import PersonalData
from domain.personal_fields import personal_data_of
from domain.services.road_opening import RoadOpeningApplication, example


def test_every_marked_field_becomes_personal_data_of_its_subject() -> None:
    case_id = uuid4()
    model = RoadOpeningApplication.model_validate(example(date(2026, 3, 2)))
    data = personal_data_of(model, case_id=case_id, subject="applicant")
    assert data["site"]["street"] == "Weilburger Straße"  # a public street: not personal
    assert data["site"]["house_number"] == PersonalData(case_id, "applicant", "14")
    assert isinstance(data["site"]["location_description"], PersonalData)
    for field in ("contact_person", "phone", "email"):
        value = data["contractor"][field]
        assert isinstance(value, PersonalData)
        assert value.subject == "contractor"
    assert data["contractor"]["company"] == "Tiefbau Hochtaunus GmbH"
    assert data["dimensions"]["length_m"] == "6.50"
    assert data["purpose"] == "other"
    assert data["purpose_details"] is None
