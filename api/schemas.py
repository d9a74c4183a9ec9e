"""Typed request and response bodies: they are the OpenAPI document integrators read."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from api.text_input import without_nul
from application.views import CaseState, HistoryEntry


def storable(text: str) -> str:
    """Refuse text that cannot be stored as UTF-8 (lone surrogates from JSON escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains characters that are not valid text") from None
    return text


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=5000),
    AfterValidator(storable),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(storable),
]


class Body(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """No string anywhere in a body holds NUL (PostgreSQL cannot store it): 422."""
        return without_nul(value)


class Applicant(Body):
    """The applicant as the form portal sends them; every field is personal data."""

    name: ShortText
    email: (
        Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
        | None
    ) = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()/-]{5,30}$")] | None = None
    street: ShortText | None = None
    house_number: Annotated[str, StringConstraints(max_length=20, min_length=1)] | None = None
    postal_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")] | None = None
    city: ShortText | None = None
    birth_date: date | None = None

    def as_fields(self) -> dict[str, str]:
        """The given fields as text, ready to become personal data."""
        return {
            name: value.isoformat() if isinstance(value, date) else str(value)
            for name, value in self.model_dump(exclude_none=True).items()
        }


class SubmitCase(Body):
    """A new application."""

    tenant: Literal["usingen", "neu-anspach", "schmitten", "glashuetten"]
    service: ShortText
    applicant: Applicant
    data: dict[str, Any] = Field(
        default_factory=dict, description="The service's application data."
    )
    channel: Literal["online", "counter", "post", "email"] = "online"

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "tenant": "usingen",
                    "service": "general",
                    "applicant": {
                        "name": "Max Mustermann",
                        "email": "max.mustermann@example.org",
                        "street": "Obergasse",
                        "house_number": "12",
                        "postal_code": "61250",
                        "city": "Usingen",
                    },
                    "data": {"subject": "Anfrage"},
                }
            ]
        },
    )


class Reason(Body):
    """A command that needs a reason."""

    reason: Text


class StaffMember(Body):
    """A member of staff as the identity provider names them."""

    id: ShortText = Field(description="The account id (the token's `sub`), e.g. anna.schmidt")
    name: ShortText = Field(description="The display name, as staff see it")


class Assignment(Body):
    """Who takes the case over, and why."""

    assignee: StaffMember
    reason: Text


class OptionalReason(Body):
    """A command that may give a reason."""

    reason: Text | None = None


class RequestInformation(Body):
    """Questions to the applicant (Nachforderung)."""

    questions: list[Text] = Field(min_length=1, max_length=50)
    reply_by: date
    missing_documents: bool = Field(
        default=False, description="Missing documents stop the processing period."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "questions": ["Bitte reichen Sie einen Lageplan (1:500) nach."],
                    "reply_by": "2026-12-15",
                    "missing_documents": True,
                }
            ]
        },
    )


class ProvideInformation(Body):
    """The applicant's answer."""

    answer: Text


class Note(Body):
    """An internal note."""

    text: Text


class ExtendPeriod(Body):
    """Extend the processing period once."""

    working_days: int = Field(ge=1, le=250)
    reason: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "working_days": 10,
                    "reason": "Stellungnahme der Straßenverkehrsbehörde steht aus.",
                }
            ]
        },
    )


class Decide(Body):
    """The decision (Bescheid)."""

    outcome: Literal["approved", "approved_with_conditions", "rejected"]
    justification: Text
    legal_basis: ShortText
    legal_remedy_notice: Text
    conditions: list[Text] = Field(default_factory=list, max_length=100)
    effective_from: date | None = None
    expires_on: date | None = None
    fee: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "outcome": "approved_with_conditions",
                    "justification": "Die Voraussetzungen des § 16 HStrG liegen vor.",
                    "legal_basis": "§§ 16, 18 HStrG",
                    "legal_remedy_notice": "Widerspruch binnen eines Monats nach Bekanntgabe.",
                    "conditions": ["Verkehrssicherung nach RSA 21"],
                }
            ]
        },
    )


class Notify(Body):
    """The notification (Bekanntgabe)."""

    notified_on: date | None = None


class LodgeObjection(Body):
    """A Widerspruch as received."""

    grounds: Text
    received_on: date | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "grounds": "Die Auflage zur Arbeitszeit ist unverhältnismäßig.",
                    "received_on": "2026-12-01",
                }
            ]
        },
    )


class ForwardObjection(Body):
    """Forward an objection to the objection authority."""

    authority: ShortText
    reason: Text


class RecordPayment(Body):
    """The fee was paid."""

    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    payment_reference: ShortText


class WorksStarted(Body):
    """The contractor reported the start of works."""

    started_on: date


class WorksCompleted(Body):
    """The contractor reported the works and restoration complete."""

    completed_on: date


class InspectionReport(Body):
    """An inspection on site: no defects = accepted; defects need a deadline to remedy them."""

    inspected_on: date
    defects: list[Text] = Field(default_factory=list, max_length=50)
    remedy_by: date | None = Field(default=None, description="Deadline to remedy the defects.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "inspected_on": "2026-12-01",
                    "defects": ["Asphaltnaht nicht vergossen"],
                    "remedy_by": "2026-12-15",
                }
            ]
        },
    )


class RestorationInspection(InspectionReport):
    """An inspection of the restored surface: no defects = accepted."""


class ServiceOut(BaseModel):
    """A service of the catalogue."""

    id: str
    label_de: str
    label_en: str
    legal_basis: str
    processing_period_working_days: int
    lead_time_working_days: int | None
    fee_tariff: dict[str, Any] | None
    deemed_approval: bool
    retention_years: int
    application_schema: dict[str, Any]
    example: dict[str, Any]
    event_labels: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="The service's own events, labelled: event type → {de, en}.",
    )


ALL_SUBJECTS = "all"


class Erase(Body):
    """Erase personal data of a case (crypto-shredding)."""

    reason: ShortText
    legal_basis: ShortText
    subjects: Annotated[list[ShortText], Field(min_length=1)] | Literal["all"] = Field(
        description=(
            'Required: the data subjects to erase (e.g. ["applicant"]), or "all" for every '
            "data subject of the case. Erasure cannot be undone, so an empty list is refused "
            "rather than read as everyone."
        )
    )

    @field_validator("subjects", mode="before")
    @classmethod
    def named_or_all(cls, value: object) -> object:
        """A non-empty list or the word "all"; anything else is one clear error."""
        if value == ALL_SUBJECTS or (isinstance(value, list) and value):
            return value
        raise ValueError(
            'name the data subjects to erase, or "all" for every data subject of the case'
        )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "Aufbewahrungsfrist abgelaufen",
                    "legal_basis": "Art. 17 Abs. 1 lit. a DSGVO",
                    "subjects": ["applicant"],
                }
            ]
        },
    )


class ProcessingClockOut(BaseModel):
    """The processing period."""

    started_on: date | None
    stopped_since: date | None
    due_on: date | None
    extended: bool


class CaseOut(BaseModel):
    """A case as a clerk sees it."""

    id: UUID
    reference: str
    tenant: str
    service: str
    status: str
    version: int
    submitted_at: datetime
    submitted_by: str
    last_activity_at: datetime
    channel: str
    applicant: dict[str, str]
    data: dict[str, Any]
    holder: str | None
    processing: ProcessingClockOut
    decision: dict[str, Any] | None
    pending_decision: dict[str, Any] | None
    notified_on: date | None
    objection_deadline: date | None
    allowed_commands: list[str]
    service_state: dict[str, Any] = Field(
        default_factory=dict, description="What the service adds: works, inspections, ..."
    )
    position: int | None = Field(
        default=None, description="Log position of the case's last event, when known."
    )

    @classmethod
    def of(cls, state: CaseState, position: int | None = None) -> CaseOut:
        """From the application's plain state."""
        return cls(
            id=state.id,
            reference=state.reference,
            tenant=state.tenant,
            service=state.service,
            status=state.status,
            version=state.version,
            submitted_at=state.submitted_at,
            submitted_by=state.submitted_by,
            last_activity_at=state.last_activity_at,
            channel=state.channel,
            applicant=state.applicant,
            data=state.data,
            holder=state.holder_id,
            processing=ProcessingClockOut(
                started_on=state.clock_started_on,
                stopped_since=state.clock_stopped_since,
                due_on=state.due_on,
                extended=state.period_extended,
            ),
            decision=state.decision,
            pending_decision=state.pending_decision,
            notified_on=state.notified_on,
            objection_deadline=state.objection_deadline,
            allowed_commands=list(state.allowed_commands),
            service_state=state.service_state,
            position=position,
        )


class HistoryEntryOut(BaseModel):
    """One event of a case's history."""

    version: int
    type: str
    at: datetime | None = Field(description="Business time of the event.")
    recorded_at: datetime = Field(description="When it was stored (UTC).")
    actor: dict[str, Any] | None
    reason: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEntryOut:
        """From the application's history entry."""
        return cls(
            version=entry.version,
            type=entry.type,
            at=entry.at,
            recorded_at=entry.recorded_at,
            actor=entry.actor,
            reason=entry.reason,
            data=entry.data,
        )


class ErasureOut(BaseModel):
    """What an erasure did."""

    case_id: UUID
    subjects: list[str]
    destroyed_keys: int
    version: int
