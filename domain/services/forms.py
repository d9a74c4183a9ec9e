"""Pieces of application data models that several services share.

Every service's form refuses unknown fields, labels its fields in German and English (the
JSON Schema ``title`` is the English label, ``x-label-de`` the German one), and uses the
same constrained types for names, phone numbers, e-mail addresses and periods.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()/-]{5,30}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
HouseNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]


class Form(BaseModel):
    """Application data refuse unknown fields: a typo is an error, not lost data."""

    model_config = ConfigDict(extra="forbid")


def labelled(de: str, en: str, **field: Any) -> Any:
    """A field with its German and English label in the JSON Schema."""
    return Field(title=en, json_schema_extra={"x-label-de": de}, **field)


class Period(Form):
    """From the first to the last day (both included)."""

    start: date = labelled("Beginn", "Start")
    end: date = labelled("Ende", "End")

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
