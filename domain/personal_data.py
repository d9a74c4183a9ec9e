"""Personal data as a value of its own, so it can be encrypted per case and data subject.

docs/architecture.md, decision 14: every personal field of every event is a ``PersonalData``
value from the first line that touches it. A registered transcoding encrypts it; destroying
the key of (case, subject) erases it everywhere, and decoding then yields ``Erased``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, final
from uuid import UUID

ERASED_TEXT: Final = "[gelöscht]"
REDACTED_TEXT: Final = "[personenbezogen]"


@final
@dataclass(frozen=True, slots=True, repr=False)
class PersonalData:
    """A personal value belonging to one data subject in one case.

    ``str()`` and ``repr()`` never show the value, so it cannot leak into a log line by
    accident; call ``reveal()`` where the value is really needed.
    """

    case_id: UUID
    subject: str
    value: str
    special_category: bool = False  # Art. 9 DSGVO (health data, e.g. a child's allergies)

    def __post_init__(self) -> None:
        if not isinstance(self.value, str):
            raise TypeError("PersonalData.value must be a str")
        if not self.subject:
            raise ValueError("PersonalData needs a data subject")

    @property
    def is_erased(self) -> bool:
        """False: this value is still readable."""
        return False

    def reveal(self) -> str:
        """The plain value, for a response or a document: never for a log line."""
        return self.value

    def __repr__(self) -> str:
        return f"PersonalData(subject={self.subject!r}, value=<redacted>)"

    def __str__(self) -> str:
        return REDACTED_TEXT


@final
@dataclass(frozen=True, slots=True)
class Erased:
    """What a personal value decodes to once the key of its case and subject was destroyed."""

    case_id: UUID
    subject: str
    special_category: bool = False

    @property
    def is_erased(self) -> bool:
        """True: the value is gone for good."""
        return True

    def reveal(self) -> str:
        """The marker shown wherever the erased value used to be."""
        return ERASED_TEXT

    def __str__(self) -> str:
        return ERASED_TEXT


PersonalValue = PersonalData | Erased
"""A personal field as stored: readable, or erased. Every event method must accept both."""


def reveal(value: PersonalValue | None) -> str | None:
    """The shown text of an optional personal value (``[gelöscht]`` once erased)."""
    return None if value is None else value.reveal()


class Subjects:
    """Names of the data subjects in a case; each has a key of its own."""

    APPLICANT: Final = "applicant"
    CASE_TEXT: Final = "case-text"  # notes, justifications, messages: free text about the case

    @staticmethod
    def actor(actor_id: str) -> str:
        """The subject under which a member of staff's name is recorded in a case."""
        return f"actor:{actor_id}"
