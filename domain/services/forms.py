"""Pieces of application data models that several services share.

Every service's form refuses unknown fields, labels its fields in German and English (the
JSON Schema ``title`` is the English label, ``x-label-de`` the German one), and uses the
same constrained types for names, phone numbers, e-mail addresses, dates and periods.
"""

from __future__ import annotations

import contextlib
import types
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any, Final, Self, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()/-]{5,30}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
HouseNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]

# No date an application names lies outside these: 9999-12-31 is a typo or a probe (and
# date arithmetic on it overflows), 0001-01-01 an unset field.
EARLIEST_DATE: Final = date(1900, 1, 1)
LATEST_DATE: Final = date(2199, 12, 31)


def plausible_date(value: date) -> date:
    """A date between ``EARLIEST_DATE`` and ``LATEST_DATE``, or a ValueError saying so."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise ValueError(f"must lie between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


PlausibleDate = Annotated[date, AfterValidator(plausible_date)]


def birth_date_problem(born: date, today: date) -> str | None:
    """Why a birth date is impossible on ``today`` (in the future, before 1900), or None."""
    if born > today:
        return "must not lie in the future"
    if born < EARLIEST_DATE:
        return f"must not lie before {EARLIEST_DATE}"
    return None


class Form(BaseModel):
    """Application data refuse unknown fields: a typo is an error, not lost data."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def stored(cls, data: Mapping[str, Any]) -> Self:
        """The form as a case's events hold it, built without validating it again.

        Submission validated it under the rules of its day; a replay must read it as it was
        stored, whatever the form says today. Nested forms are built the same way; dates,
        decimals and choices stored as text are read back as such; whatever the form cannot
        hold is kept as stored: personal data (``PersonalData``, ``Erased``, or plain text
        in events sealed before), and values of an older shape. A field the stored data
        lacks takes the form's default (``model_construct``).
        """
        return cls.model_construct(
            **{
                name: _stored_value(field.annotation, data[name])
                for name, field in cls.model_fields.items()
                if name in data
            }
        )


def _types_in(annotation: Any) -> list[Any]:
    """The plain types an annotation allows (``Annotated`` and unions taken apart)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _types_in(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in get_args(annotation) for t in _types_in(arg)]
    return [annotation]


def _stored_value(annotation: Any, value: Any) -> Any:
    """A stored value read back as the annotation's type where it fits, else as stored."""
    allowed = _types_in(annotation)
    for kind in allowed:
        if isinstance(kind, type) and issubclass(kind, Form) and isinstance(value, Mapping):
            return kind.stored(value)
        if get_origin(kind) is list and isinstance(value, list):
            (item,) = get_args(kind) or (Any,)
            return [_stored_value(item, element) for element in value]
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return value
    for kind in allowed:
        with contextlib.suppress(ValueError, TypeError, InvalidOperation):
            if kind is date and isinstance(value, str):
                return date.fromisoformat(value)
            if kind is Decimal:
                return Decimal(str(value))
            if isinstance(kind, type) and issubclass(kind, Enum):
                return kind(value)
    return value


def labelled(de: str, en: str, **field: Any) -> Any:
    """A field with its German and English label in the JSON Schema."""
    return Field(title=en, json_schema_extra={"x-label-de": de}, **field)


class Period(Form):
    """From the first to the last day (both included)."""

    start: PlausibleDate = labelled("Beginn", "Start")
    end: PlausibleDate = labelled("Ende", "End")

    @model_validator(mode="after")
    def start_not_after_end(self) -> Self:
        """The period must not end before it starts."""
        if self.start > self.end:
            raise ValueError("start must not lie after end")
        return self

    @property
    def days(self) -> int:
        """Calendar days, both ends included."""
        return (self.end - self.start).days + 1
