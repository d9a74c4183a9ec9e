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
from uuid import UUID

from pydantic import ConfigDict, Field

from domain.actor import Actor, Role
from domain.case import Case
from domain.commands import Acting, CommandBody, ShortText, Step, Steps, Text, fields_of
from domain.decision import DecisionOutcome, ProvisionKind
from domain.errors import InvalidCommand
from domain.objection import CostsBorneBy
from domain.payments.business_customer import BusinessCustomer
from domain.rules.notification import Delivery

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


class ConfirmComplete(CommandBody):
    """The documents are complete."""

    documents_complete_on: date | None = Field(
        default=None,
        description="The day the last required document was received (§ 42a (2) HVwVfG); "
        "by default the submission, or the applicant's answer that brought missing documents.",
    )


class ExtendPeriod(CommandBody):
    """Extend the processing period once, before it ends, with reasons sent in time."""

    working_days: int = Field(ge=1, le=250)
    reason: Text
    communicated_on: date | None = Field(
        default=None,
        description="The day the reasons were sent to the applicant (today if omitted); "
        "by the end of the period at the latest (§ 42a (2) sentence 4 HVwVfG).",
    )

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


class ProvisionBody(CommandBody):
    """One ancillary provision (§ 36 (2) HVwVfG) and its kind."""

    kind: Literal[
        "condition",
        "requirement",
        "time_limit",
        "revocation_reserved",
        "further_requirements_reserved",
    ]
    text: Text


class Decide(CommandBody):
    """The decision (Bescheid); the remedy notice is generated from the town's configuration."""

    outcome: Literal["approved", "approved_with_conditions", "rejected"]
    justification: Text
    legal_basis: ShortText
    operative_part: Text | None = Field(
        default=None, description="The Tenor; the standard wording for the outcome if omitted."
    )
    conditions: list[Text] = Field(
        default_factory=list, max_length=100, description="Requirements (Auflagen)."
    )
    provisions: list[ProvisionBody] = Field(
        default_factory=list,
        max_length=100,
        description="Ancillary provisions of other kinds (§ 36 (2) HVwVfG).",
    )
    representative: Text | None = Field(
        default=None, description="Who acts for the applicant, if anyone."
    )
    hearing_held_on: date | None = Field(default=None, description="§ 28 HVwVfG")
    hearing_not_needed_because: Text | None = Field(
        default=None, description="Why no hearing was needed (§ 28 (2), (3) HVwVfG)."
    )
    discretion: Text | None = Field(
        default=None,
        description="The considerations, where the legal basis gives discretion (§ 39 (1) 3).",
    )
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
                    "conditions": ["Verkehrssicherung nach RSA 21"],
                    "hearing_held_on": "2026-11-30",
                    "discretion": "Die Sondernutzung beeinträchtigt den Gemeingebrauch nur "
                    "kurzzeitig; Belange Dritter stehen nicht entgegen.",
                }
            ]
        },
    )


class Notify(CommandBody):
    """How the decision was sent; the day of notification follows by law (§ 41 HVwVfG)."""

    delivery: Literal["counter", "letter", "electronic", "portal", "postbox", "formal_service"] = (
        Field(
            description="counter: handed over; letter: post; electronic: sent electronically; "
            "portal: made available for retrieval; postbox: provided in the BundID / Mein "
            "Unternehmenskonto postbox for retrieval; formal_service: Zustellung (HVwZG)."
        )
    )
    sent_on: date | None = Field(
        default=None, description="Handed over, posted, sent or provided; today if omitted."
    )
    received_on: date | None = Field(
        default=None,
        description="Actual receipt where shown: the day of retrieval (portal), the day on "
        "the certificate (formal service), or a receipt later than presumed (letter, "
        "electronic).",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"delivery": "letter", "sent_on": "2026-12-03"}]},
    )


class LodgeObjection(CommandBody):
    """A Widerspruch as received; a late one is recorded too (and decided)."""

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

    reason: Text
    authority: ShortText | None = Field(
        default=None, description="The configured objection authority of the town if omitted."
    )


class RemedyObjection(CommandBody):
    """Abhilfe (§ 72 VwGO), in full or in part, with its costs decision."""

    reason: Text
    extent: Literal["full", "partial"] = "full"
    costs_borne_by: Literal["objector", "authority", "shared"] = CostsBorneBy.AUTHORITY
    fee_refund: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    new_decision: bool = Field(
        default=True, description="The case returns to review for the replacing decision."
    )
    operative_part: Text | None = Field(
        default=None,
        description="Without a new decision: what the remedy changes in the decision in force.",
    )


class Reinstatement(CommandBody):
    """Why the objector could not keep the period (§ 60 VwGO)."""

    reason: Text
    force_majeure: bool = Field(
        default=False,
        description="More than a year after the period ended only for force majeure "
        "(§ 60 (3) VwGO).",
    )


class HearObjection(CommandBody):
    """The hearing before the Anhörungsausschuss (§§ 7 ff. HessAGVwGO)."""

    held_on: date
    committee: ShortText | None = Field(
        default=None, description="The town's configured committee if omitted."
    )


class DecideObjection(CommandBody):
    """The Widerspruchsbescheid (§ 73 (3) VwGO)."""

    outcome: Literal["granted", "partly_granted", "dismissed", "inadmissible"]
    reasons: Text
    costs_borne_by: Literal["objector", "authority", "shared"]
    served_on: date
    fee: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    fee_refund: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    authority: ShortText | None = Field(
        default=None, description="The town's configured objection authority if omitted."
    )
    operative_part: Text | None = Field(default=None, description="The Tenor.")
    decided_on: date | None = Field(
        default=None, description="The day it was signed; today if omitted."
    )
    new_decision: bool = Field(
        default=False,
        description="Granted, with a new decision of the town to follow: back to review.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "outcome": "dismissed",
                    "reasons": "Die Auflage ist zur Sicherheit des Verkehrs erforderlich.",
                    "costs_borne_by": "objector",
                    "served_on": "2027-02-10",
                }
            ]
        },
    )


class BillTo(CommandBody):
    """The business customer account the case's fees are billed to."""

    business_customer: UUID = Field(
        description="The account's id (``GET /api/v1/business-customers``)."
    )


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
    """The decision's fields, its outcome and provision kinds as the domain's."""
    return {
        **fields_of(body),
        "outcome": DecisionOutcome(body.outcome),
        "provisions": [(ProvisionKind(p.kind), p.text) for p in body.provisions],
    }


def notification_arguments(body: Notify) -> Mapping[str, Any]:
    """The notification's fields, the delivery as the domain's."""
    return {**fields_of(body), "delivery": Delivery(body.delivery)}


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
    "The processing period starts (or restarts after missing documents) on the day the last "
    "required document was received.",
    body=ConfirmComplete,
    body_optional=True,
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
    "§ 42a (2) sentences 3, 4 HVwVfG: once, before the period ends, reasons sent in time.",
    body=ExtendPeriod,
)

DECIDE: Final = case_step(
    "decide",
    "decide",
    "Decide: approve, approve with conditions, reject",
    "Only the clerk holding the case decides; the remedy notice and the issuing authority "
    "come from the town's configuration.",
    body=Decide,
    arguments=decision_arguments,
    holder_only=True,  # Case.check_holder
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


def _bill_to(case: Case, body: BillTo, acting: Acting) -> Sequence[Any]:
    """Bill the case to an account of its town that the applicant may pay for."""
    account = acting.context.identified(BusinessCustomer, body.business_customer, _no_such_account)
    actor = acting.actor
    if account.tenant != case.tenant:
        _no_such_account(body.business_customer)
    if actor.role is Role.APPLICANT and not account.may_pay(actor.id):
        raise InvalidCommand(
            "business_customer", "you are not a member of this account who may pay for it"
        )
    case.bill_to(actor=actor, at=acting.at, business_customer=account.id)
    return ()


def _no_such_account(account_id: UUID) -> Any:
    raise InvalidCommand(
        "business_customer", "the town has no business customer account of this id"
    )


BILL_TO: Final = case_step(
    "bill_to",
    "billing",
    "Bill the case's fees to a business customer account",
    "By the applicant who submitted the case, a member of the account who may pay (or by "
    "staff), before the decision. A service that takes payment from business customers "
    "before issue (road opening) then waits for the payment after an approval with a fee.",
    roles=APPLICANT_AND_STAFF,
    body=BillTo,
    run=_bill_to,
)

NOTIFY: Final = case_step(
    "notify",
    "notify",
    "Record the notification (Bekanntgabe)",
    "notified_on follows from the delivery (§ 41 HVwVfG); the objection period and a validity "
    "that runs from notification count from it.",
    body=Notify,
    arguments=notification_arguments,
)

RECORD_REMEDY_NOTICE_DEFECT: Final = case_step(
    "record_remedy_notice_defect",
    "remedy-notice-defect",
    "Record that the remedy notice was missing or wrong",
    "§ 58 (2) VwGO: the objection period becomes one year from notification.",
    body=Reason,
)

LODGE_OBJECTION: Final = case_step(
    "lodge_objection",
    "objections",
    "Record an objection (Widerspruch)",
    "Whatever step the service has reached; a late objection is recorded and decided.",
    body=LodgeObjection,
)

GRANT_REINSTATEMENT: Final = case_step(
    "grant_reinstatement",
    "objections/reinstatement",
    "Grant reinstatement for a late objection",
    "§ 70 (2) with § 60 VwGO: the late objection counts as in time.",
    body=Reinstatement,
)

HEAR_OBJECTION: Final = case_step(
    "hear_objection",
    "objections/hearing",
    "Record the hearing before the Anhörungsausschuss",
    "Self-government matters (§§ 7 ff. HessAGVwGO).",
    body=HearObjection,
)

WITHDRAW_OBJECTION: Final = case_step(
    "withdraw_objection",
    "objections/withdraw",
    "Withdraw the objection",
    "By the objector (or recorded by staff); no reason needed.",
    roles=APPLICANT_AND_STAFF,
    body=OptionalReason,
    body_optional=True,
)

DECIDE_OBJECTION: Final = case_step(
    "decide_objection",
    "objections/decision",
    "Record the Widerspruchsbescheid",
    "§ 73 (3) VwGO: outcome, reasons, costs and the day it was served.",
    body=DecideObjection,
)

REMEDY_OBJECTION: Final = case_step(
    "remedy_objection",
    "objections/remedy",
    "Remedy the objection (Abhilfe)",
    "§ 72 VwGO: in full or in part, with costs; with a new decision the case returns to review.",
    body=RemedyObjection,
)

FORWARD_OBJECTION: Final = case_step(
    "forward_objection",
    "objections/forward",
    "Forward the objection",
    "§ 73 (1) VwGO: to the town's configured objection authority.",
    body=ForwardObjection,
)

MARK_FINAL: Final = case_step(
    "mark_final",
    "mark-final",
    "Mark the decision final (bestandskräftig)",
    "After the objection period without objection, or once the objection is disposed of.",
)

RECORD_DEEMED_APPROVAL: Final = case_step(
    "record_deemed_approval",
    "deemed-approval",
    "Record the deemed approval (§ 42a HVwVfG)",
    "Only where the service's rule orders deemed approval: the statutory period ended without "
    "a decision, so the approval is deemed granted from the next day (§ 42a (1) sentence 1 "
    "HVwVfG). The scheduler records it on that day; staff may record it too.",
)

RECORD_EXPIRY: Final = case_step(
    "record_expiry",
    "expiry",
    "Record that the approval expired (§ 43 (2) HVwVfG)",
    "The approval's last day of validity (after extensions or renewals) has passed: it ceased "
    "to be effective by lapse of time from the next day. The scheduler records it on that day; "
    "staff may record it too. Never before, never twice, not once the approval ended otherwise.",
)

CERTIFY_DEEMED_APPROVAL: Final = case_step(
    "certify_deemed_approval",
    "deemed-approval-certificate",
    "Issue the certificate of the deemed approval (§ 42a (3) HVwVfG)",
    "On request of the applicant (or by staff on their request): the certificate is issued "
    "into the case file, naming the town, the authority, the reference, what was deemed "
    "approved, the day it took effect and the legal basis. A further request issues a copy.",
    roles=APPLICANT_AND_STAFF,
)

WITHDRAW: Final = case_step(
    "withdraw",
    "withdraw",
    "Withdraw the application",
    "By the applicant (or recorded by staff), until the decision is final; no reason needed.",
    roles=APPLICANT_AND_STAFF,
    body=OptionalReason,
    body_optional=True,
)

CLOSE: Final = case_step(
    "close",
    "close",
    "Close the file",
    "After the decision is final or the application withdrawn; never with an objection open.",
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
        BILL_TO,
        NOTIFY,
        RECORD_REMEDY_NOTICE_DEFECT,
        LODGE_OBJECTION,
        GRANT_REINSTATEMENT,
        HEAR_OBJECTION,
        REMEDY_OBJECTION,
        FORWARD_OBJECTION,
        WITHDRAW_OBJECTION,
        DECIDE_OBJECTION,
        MARK_FINAL,
        RECORD_DEEMED_APPROVAL,
        CERTIFY_DEEMED_APPROVAL,
        RECORD_EXPIRY,
        WITHDRAW,
        CLOSE,
    ),
)
