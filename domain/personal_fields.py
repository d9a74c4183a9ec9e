"""Marking personal fields in application data models, and turning them into PersonalData.

A service's application data is a pydantic model; a field annotated ``Personal[str]`` holds
personal data. ``personal_data_of`` walks a validated model and returns the JSON-compatible
dict that events store, with every marked field already a ``PersonalData`` value of the
case and subject — the first line after validation that touches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from domain.personal_data import PersonalData

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PersonalMarker:
    """Metadata on a model field: its value is personal data (Art. 9 if special).

    ``subject`` names another data subject than the model's (a contractor's contact person
    in an applicant's form), so each can be erased on their own.
    """

    special_category: bool = False
    subject: str | None = None


PERSONAL = PersonalMarker()
SPECIAL_CATEGORY = PersonalMarker(special_category=True)

Personal = Annotated[T, PERSONAL]
"""A field whose value is personal data: ``house_number: Personal[str]``."""

ContractorPersonal = Annotated[T, PersonalMarker(subject="contractor")]
"""Personal data of the contractor's staff, a data subject of its own."""

HEALTH = PersonalMarker(special_category=True, subject="health")

Health = Annotated[T, HEALTH]
"""Health data (Art. 9 DSGVO: a child's health notes, allergies), a data subject of its own
(``health``) so it can be withheld from staff and erased on its own."""


def personal_data_of(model: BaseModel, *, case_id: UUID, subject: str) -> dict[str, Any]:
    """The model as event data: plain JSON values, marked fields as ``PersonalData``."""
    result: dict[str, Any] = {}
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        marker = _marker(field.metadata, field.annotation)
        if value is not None and marker is not None:
            text = value.isoformat() if isinstance(value, date) else str(value)
            owner = marker.subject or subject
            result[name] = PersonalData(case_id, owner, text, marker.special_category)
        else:
            result[name] = _event_value(value, case_id, subject)
    return result


def _marker(metadata: list[Any], annotation: Any) -> PersonalMarker | None:
    """The field's personal marker, also inside ``Personal[X] | None``."""
    found = next((m for m in metadata if isinstance(m, PersonalMarker)), None)
    if found is not None:
        return found
    for arg in get_args(annotation):
        if get_origin(arg) is Annotated:
            found = next((m for m in arg.__metadata__ if isinstance(m, PersonalMarker)), None)
            if found is not None:
                return found
    return None


def _event_value(value: Any, case_id: UUID, subject: str) -> Any:
    if isinstance(value, BaseModel):
        return personal_data_of(value, case_id=case_id, subject=subject)
    if isinstance(value, list | tuple):
        return [_event_value(v, case_id, subject) for v in value]
    return to_jsonable_python(value)
