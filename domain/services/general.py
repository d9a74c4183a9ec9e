"""The general request (allgemeines Anliegen): an application that no specific service covers.

It runs the shared lifecycle as it is; its data is a subject line and an optional
description (free text, so personal data).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from domain.personal_fields import Personal

SERVICE_ID = "general"


class GeneralRequest(BaseModel):
    """What the applicant asks for, in their words."""

    model_config = ConfigDict(extra="forbid")

    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: (
        Personal[
            Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
        ]
        | None
    ) = None


EXAMPLE: dict[str, Any] = {
    "subject": "Sondernutzung des Gehwegs für einen Umzug",
    "description": "Umzugswagen am 12. Juni vor dem Haus, etwa 6 Stunden.",
}
