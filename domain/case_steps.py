"""The steps of every case, whatever its service: the shared lifecycle's commands, declared once.

Each ``Step`` names the ``Case`` method it runs, its body, who may give it and its route;
the application's pipeline runs it and the API posts it under ``/api/v1/cases``. A
service adds its own steps in its own module, the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final, Literal, Protocol

from pydantic import ConfigDict, Field

from domain.actor import Actor, Role
from domain.case import Case
from domain.commands import Acting, CommandBody, ShortText, Step, Steps, Text, fields_of
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand

STAFF = (Role.CLERK, Role.SUPERVISOR)
APPLICANT_AND_STAFF = (Role.APPLICANT, *STAFF)


class Reason(CommandBody):
    """A command that needs a reason."""

    reason: Text


class StaffMember(CommandBody):
    """A member of staff as the identity provider names them."""

    id: ShortText = Field(description="The account id (the token's `sub`), e.g. anna.schmidt")
    name: ShortText = Field(description="The display name, as staff see it")


class Assignment(CommandBody):
    """Who takes the case over, and why."""

    assignee: StaffMember
    reason: Text


class OptionalReason(CommandBody):
    """A command that may give a reason."""

    reason: Text | None = None


class RequestInformation(CommandBody):
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


class ProvideInformation(CommandBody):
    """The applicant's answer."""

    answer: Text


class Note(CommandBody):
    """An internal note."""

    text: Text


class ExtendPeriod(CommandBody):
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


class Decide(CommandBody):
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


class Notify(CommandBody):
    """The notification (Bekanntgabe)."""

    notified_on: date | None = None


class LodgeObjection(CommandBody):
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


class ForwardObjection(CommandBody):
    """Forward an objection to the objection authority."""

    authority: ShortText
    reason: Text


class RecordPayment(CommandBody):
    """The fee was paid."""

    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    payment_reference: ShortText


class StaffDirectory(Protocol):
    """The staff a town knows: who has acted for it, and in which role."""

    def role_of(self, tenant: str, staff_id: str) -> Role | None:
        """The role in which ``staff_id`` last acted on a case of ``tenant`` as staff."""


class StaffContext(Protocol):
    """What the assignment step needs from the application: the town's staff."""

    staff: StaffDirectory | None


def known_assignee(
    case: Case, supervisor: Actor, assignee_id: str, name: str, staff: StaffDirectory
) -> Actor:
    """The assignee as an actor: the supervisor themself, or staff the town knows.

    Staff are people of the identity provider, which the system does not copy; the town
    knows a member of staff once they have acted on one of its cases as clerk or
    supervisor. An id it does not know is a typo far more often than a new colleague, who
    is known after their first claim.
    """
    if assignee_id == supervisor.id:
        return supervisor
    role = staff.role_of(case.tenant, assignee_id)
    if role not in (Role.CLERK, Role.SUPERVISOR):
        raise InvalidCommand(
            "assignee.id",
            f"{assignee_id!r} has not acted on a case of {case.tenant} as clerk or supervisor; "
            "check the id (new staff are known after their first claim)",
        )
    return Actor(
        id=assignee_id,
        display_name=name,
        role=role,
        tenant=supervisor.tenant,
        on_behalf_of=supervisor.on_behalf_of,
    )


def assign(case: Case, body: Assignment, acting: Acting) -> Sequence[Any]:
    """A supervisor assigns the case to known staff of its town, or to themself."""
    context: StaffContext = acting.context
    if context.staff is None:
        raise InvalidCommand("assignee.id", "no staff directory to check the assignee against")
    assignee = known_assignee(
        case, acting.actor, body.assignee.id, body.assignee.name, context.staff
    )
    case.assign(actor=acting.actor, at=acting.at, assignee=assignee, reason=body.reason)
    return ()


def decision_arguments(body: Decide) -> Mapping[str, Any]:
    """The decision's fields, its outcome as the domain's."""
    return {**fields_of(body), "outcome": DecisionOutcome(body.outcome)}


def case_step(name: str, path: str, summary: str, description: str, **more: Any) -> Step:
    """A step of the shared lifecycle, posted at ``/api/v1/cases/{case_id}/<path>``."""
    return Step(
        name=name,
        path="/{case_id}/" + path,
        summary=summary,
        description=description,
        **{"roles": STAFF, **more},
    )


CONFIRM_COMPLETE: Final = case_step(
    "confirm_complete",
    "confirm-complete",
    "Confirm the application is complete",
    "The processing period starts (or restarts after missing documents).",
)

CLAIM: Final = case_step(
    "claim",
    "claim",
    "Take the case into one's own work",
    "Fails with 409 while someone else holds the case.",
)

RELEASE: Final = case_step(
    "release",
    "release",
    "Give the case back to the queue",
    "The holder, or a supervisor reassigning work.",
    body=OptionalReason,
    body_optional=True,
)

ASSIGN: Final = case_step(
    "assign",
    "assign",
    "Assign the case to a member of staff (supervisors)",
    "To the supervisor themself, or to staff who have acted for the town (else 422).",
    roles=(Role.SUPERVISOR,),
    body=Assignment,
    run=assign,
)

REQUEST_INFORMATION: Final = case_step(
    "request_information",
    "request-information",
    "Ask the applicant (Nachforderung)",
    "Questions with a reply deadline; missing documents stop the processing period.",
    body=RequestInformation,
)

PROVIDE_INFORMATION: Final = case_step(
    "provide_information",
    "provide-information",
    "Answer an information request",
    "The applicant answers; the processing period goes on.",
    roles=APPLICANT_AND_STAFF,
    body=ProvideInformation,
)

ADD_NOTE: Final = case_step(
    "add_note",
    "notes",
    "Add an internal note",
    "Internal to the administration; never shown to the applicant.",
    body=Note,
)

EXTEND_PERIOD: Final = case_step(
    "extend_period",
    "extend-period",
    "Extend the processing period once",
    "§ 42a (2) sentence 3 VwVfG: once, with reasons.",
    body=ExtendPeriod,
)

DECIDE: Final = case_step(
    "decide",
    "decide",
    "Decide: approve, approve with conditions, reject",
    "Only the clerk holding the case decides; justification and remedy notice are required.",
    body=Decide,
    arguments=decision_arguments,
)

COUNTERSIGN: Final = case_step(
    "countersign",
    "countersign",
    "Countersign a decision (four eyes)",
    "A supervisor other than the decider.",
    roles=(Role.SUPERVISOR,),
)

REFUSE_COUNTERSIGN: Final = case_step(
    "refuse_countersign",
    "refuse-countersign",
    "Send a draft decision back to review",
    "With reasons.",
    roles=(Role.SUPERVISOR,),
    body=Reason,
)

RECORD_PAYMENT: Final = case_step(
    "record_payment",
    "payments",
    "Record that the fee was paid",
    "The amount must equal the fee of the decision.",
    body=RecordPayment,
)

NOTIFY: Final = case_step(
    "notify",
    "notify",
    "Record the notification (Bekanntgabe)",
    "The objection period runs from the day of notification.",
    body=Notify,
    body_optional=True,
)

LODGE_OBJECTION: Final = case_step(
    "lodge_objection",
    "objections",
    "Record an objection (Widerspruch)",
    "Refused after the objection period.",
    body=LodgeObjection,
)

REMEDY_OBJECTION: Final = case_step(
    "remedy_objection",
    "objections/remedy",
    "Remedy the objection (Abhilfe)",
    "§ 72 VwGO: the case returns to review for a new decision.",
    body=Reason,
)

FORWARD_OBJECTION: Final = case_step(
    "forward_objection",
    "objections/forward",
    "Forward the objection",
    "§ 73 VwGO: to the objection authority.",
    body=ForwardObjection,
)

MARK_FINAL: Final = case_step(
    "mark_final",
    "mark-final",
    "Mark the decision final",
    "After the objection period, without objection.",
)

WITHDRAW: Final = case_step(
    "withdraw",
    "withdraw",
    "Withdraw the application",
    "By the applicant (or recorded by staff), before a decision.",
    roles=APPLICANT_AND_STAFF,
    body=Reason,
)

CLOSE: Final = case_step(
    "close",
    "close",
    "Close the file",
    "After the decision is final, the objection forwarded, or the application withdrawn.",
    body=OptionalReason,
    body_optional=True,
)


CASE_STEPS: Final = Steps(
    "cases",
    (
        CONFIRM_COMPLETE,
        CLAIM,
        RELEASE,
        ASSIGN,
        REQUEST_INFORMATION,
        PROVIDE_INFORMATION,
        ADD_NOTE,
        EXTEND_PERIOD,
        DECIDE,
        COUNTERSIGN,
        REFUSE_COUNTERSIGN,
        RECORD_PAYMENT,
        NOTIFY,
        LODGE_OBJECTION,
        REMEDY_OBJECTION,
        FORWARD_OBJECTION,
        MARK_FINAL,
        WITHDRAW,
        CLOSE,
    ),
)
