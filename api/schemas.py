"""Typed request and response bodies: they are the OpenAPI document integrators read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from application.views import CaseState, HistoryEntry
from domain.case_steps import (
    Assignment,
    BillTo,
    Decide,
    ExtendPeriod,
    ForwardObjection,
    LodgeObjection,
    Note,
    Notify,
    OptionalReason,
    ProvideInformation,
    Reason,
    RequestInformation,
    StaffMember,
)
from domain.commands import CommandBody, ShortText, Text, storable

__all__ = [  # the case steps' bodies are declared with their steps; clients find them here
    "Assignment",
    "BillTo",
    "CommandBody",
    "Decide",
    "ExtendPeriod",
    "ForwardObjection",
    "LodgeObjection",
    "Note",
    "Notify",
    "OptionalReason",
    "ProvideInformation",
    "Reason",
    "RequestInformation",
    "ShortText",
    "StaffMember",
    "Text",
    "storable",
]


class Applicant(CommandBody):
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


class SubmitCase(CommandBody):
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
    retention_legal_basis: str = Field(
        description="Why the files are kept that long: the service's own need, or the legal "
        "minimum for fee assessments (accounting vouchers) under Hessian municipal budget law."
    )
    application_schema: dict[str, Any]
    example: dict[str, Any]
    examples_by_town: dict[str, dict[str, Any]] | None = Field(
        default=None,
        description="For a service whose applications name something a town publishes (a "
        "holiday offering open for registration): per town, an example the API accepts there "
        "now. A town with nothing open is absent (``example_note`` says why); ``example`` is "
        "the first town's. None for every other service: its ``example`` is accepted in every "
        "town.",
    )
    example_note: str | None = Field(
        default=None,
        description="Why towns are missing from ``examples_by_town`` (nothing open there now).",
    )
    event_labels: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="The service's own events, labelled: event type → {de, en}.",
    )


ALL_SUBJECTS = "all"


class Erase(CommandBody):
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
    deemed_approval: bool = Field(
        description="A § 42a HVwVfG period: the approval is deemed granted when it ends "
        "without a decision (else the service's own target period)."
    )
    decided_on: date | None = Field(description="The decision stopped the clock on this day.")
    overdue: bool | None = Field(
        description="Past its due date today without a decision; null for an earlier "
        "version of the case (as of a moment: on that moment's day)."
    )


class NotificationOut(BaseModel):
    """How the decision was notified (Bekanntgabe, § 41 HVwVfG)."""

    delivery: Literal["counter", "letter", "electronic", "portal", "postbox", "formal_service"]
    sent_on: date = Field(description="Handed over, posted, sent or provided.")
    received_on: date | None = Field(
        description="The receipt shown: retrieval (portal, postbox), service (formal service), "
        "or a "
        "receipt later than presumed."
    )


class DeemedApprovalCertificateOut(BaseModel):
    """The certificate of a deemed approval (§ 42a (3) HVwVfG), a document in the file."""

    number: int = Field(description="1 for the first; a further request issues a copy.")
    issued_on: date
    town: str
    authority: str
    reference: str
    subject: str = Field(description="What was deemed approved.")
    took_effect_on: date
    legal_basis: str
    text: str = Field(description="The certificate's wording as issued.")


class DeemedApprovalOut(BaseModel):
    """The approval deemed granted (Genehmigungsfiktion, § 42a HVwVfG)."""

    period_ended_on: date = Field(description="The last day of the statutory period.")
    took_effect_on: date = Field(description="The day after it: the approval is in effect.")
    legal_basis: str = Field(description="§ 42a (1) sentence 1 HVwVfG with the service's rule.")
    recorded_by: dict[str, Any] = Field(description="Who recorded it (the scheduler, staff).")
    certificates: list[DeemedApprovalCertificateOut]


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
    notification: NotificationOut | None = Field(
        description="How the decision was sent; null until it is notified."
    )
    notified_on: date | None = Field(
        description="The day of notification the law sets for the delivery (§ 41 HVwVfG); "
        "the objection period and a validity from notification run from it."
    )
    objection_deadline: date | None = Field(
        description="The last day for an objection (a year after notification when the remedy "
        "notice was missing or wrong, § 58 (2) VwGO)."
    )
    final_on: date | None = Field(
        description="The first day the decision is final (bestandskräftig)."
    )
    expired_on: date | None = Field(
        default=None,
        description="The first day the approval is no longer effective: its validity ended "
        "(§ 43 (2) HVwVfG, recorded by the scheduler the day after its last day).",
    )
    objections: list[dict[str, Any]] = Field(
        description="Every objection (Widerspruch), oldest first: received_on, grounds, "
        "lodged_by, deadline, timely, state (pending, heard, forwarded, partly_remedied, "
        "remedied, withdrawn, decided), reinstated, heard_on, hearing_committee, "
        "forwarded_to, remedy and decision (outcome, operative_part, reasons, costs, "
        "decided_by, decided_on, served_on, action_deadline), withdrawn_on.",
    )
    deemed_approval: DeemedApprovalOut | None = Field(
        default=None,
        description="Where the service's rule orders it: the approval deemed granted when "
        "the § 42a HVwVfG period ended without a decision, and its certificates; else null.",
    )
    allowed_commands: list[str]
    service_state: dict[str, Any] = Field(
        default_factory=dict, description="What the service adds: works, inspections, ..."
    )
    payment: dict[str, Any] | None = Field(
        default=None,
        description="The business customer account the fees are billed to "
        "(business_customer), whether they are paid before the decision is issued "
        "(payment_before_issue), and each fee charged: kassenzeichen, amount, currency, "
        "ledger, legal_basis, refers_to (decision:N, tax-year:YYYY, tag:N), prepaid, due_on, "
        "settled, withdrawn (replaced by a later assessment). Null: none.",
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
                deemed_approval=state.deemed_approval,
                decided_on=state.decided_on,
                overdue=state.overdue,
            ),
            decision=state.decision,
            pending_decision=state.pending_decision,
            notification=(
                NotificationOut.model_validate(state.notification) if state.notification else None
            ),
            notified_on=state.notified_on,
            objection_deadline=state.objection_deadline,
            final_on=state.final_on,
            expired_on=state.expired_on,
            objections=state.objections,
            deemed_approval=(
                DeemedApprovalOut.model_validate(state.deemed_approved)
                if state.deemed_approved
                else None
            ),
            allowed_commands=list(state.allowed_commands),
            service_state=state.service_state,
            payment=state.payment,
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
