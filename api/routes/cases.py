"""Cases: submit, read, history, and one POST per lifecycle command."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import APIRouter, Body, Query, Response, status

from api.access import EVERYONE, STAFF, allow
from api.dependencies import (
    ActorDep,
    CaseServiceDep,
    ExpectedVersionDep,
    IdempotencyKeyDep,
    VorgangDep,
)
from api.problems import PROBLEM_JSON, BadHeader, Forbidden, ServiceUnavailable
from api.schemas import (
    Assignment,
    CaseOut,
    Decide,
    ExtendPeriod,
    ForwardObjection,
    HistoryEntryOut,
    LodgeObjection,
    Note,
    Notify,
    OptionalReason,
    ProvideInformation,
    Reason,
    RecordPayment,
    RequestInformation,
    SubmitCase,
)
from application.applicant_view import history_as_seen_by, sees_applicant_view
from application.cases import CaseService
from application.views import CommandResult
from domain.actor import Actor, Role
from domain.decision import DecisionOutcome
from infrastructure.wiring import Vorgang
from projections.known_staff import KnownStaff

log = structlog.get_logger(__name__)

PROBLEMS = {
    code: {"content": {PROBLEM_JSON: {}}, "description": text}
    for code, text in {
        401: "No valid bearer token.",
        403: "The role may not do this.",
        404: "No such case, or not one you may see.",
        409: "Not allowed in the current state, held by someone else, or a lost race.",
        412: "If-Match names another version than the current one.",
        422: "Invalid body or header; `errors` names each field.",
        503: "The database is not reachable; see Retry-After.",
    }.items()
}

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=PROBLEMS)  # type: ignore[arg-type]
CaseId = Annotated[UUID, "the case id"]
ASSIGNEE_LOOKUP_SECONDS = 5.0  # only when the audit trail lags the log and knows no such staff


def answer(cases: CaseService, result: CommandResult, actor: Actor, response: Response) -> CaseOut:
    """The case after a command, with its new ETag (shaped for an applicant)."""
    state = cases.view(result.case_id, actor=actor)
    response.headers["ETag"] = f'"{state.version}"'
    log.info("command done", case_id=str(result.case_id), version=state.version)
    return CaseOut.of(state, log_position(actor, result.position))


def log_position(actor: Actor, position: int | None) -> int | None:
    """The log position for staff; an applicant's view is not numbered by the log."""
    return None if sees_applicant_view(actor) else position


def case_link(method: str, suffix: str = "", *, with_version: bool = False) -> dict[str, Any]:
    """An OpenAPI link from a submitted case to one of its routes (its id, and its ETag)."""
    path = "/api/v1/cases/{case_id}" + suffix
    parameters = {"path.case_id": "$response.body#/id"}
    if with_version:  # a command expects the version the submission answered with
        parameters["header.If-Match"] = "$response.header.ETag"
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}


# Links tell clients, and schemathesis's stateful tests, where a new case's id leads.
SUBMITTED_CASE_LINKS = {
    "GetCase": case_link("get"),
    "GetHistory": case_link("get", "/history"),
    "GetDecisions": case_link("get", "/decisions"),
    **{
        "".join(word.title() for word in command.split("-")): case_link(
            "post", f"/{command}", with_version=True
        )
        for command in (
            "claim",
            "release",
            "assign",
            "confirm-complete",
            "request-information",
            "provide-information",
            "notes",
            "extend-period",
            "decide",
            "withdraw",
        )
    },
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Submit an application",
    responses={201: {"description": "The new case.", "links": SUBMITTED_CASE_LINKS}},
    **allow(Role.APPLICANT, *STAFF),
)
def submit(
    body: SubmitCase,
    actor: ActorDep,
    vorgang: VorgangDep,
    key: IdempotencyKeyDep,
    response: Response,
) -> CaseOut:
    """Submit a new application; with an Idempotency-Key a retry returns the same case (200)."""
    cases = vorgang.cases
    result = cases.submit(
        actor=actor,
        tenant=body.tenant,
        service=body.service,
        applicant=body.applicant.as_fields(),
        data=body.data,
        idempotency_key=key,
        channel=body.channel,
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    state = cases.view(result.case_id, actor=actor)
    response.headers["Location"] = f"/api/v1/cases/{result.case_id}"
    response.headers["ETag"] = f'"{state.version}"'
    log.info("case submitted", case_id=str(result.case_id), created=result.created)
    if sees_applicant_view(actor):
        return CaseOut.of(state)
    position = result.position or vorgang.positions.of(result.case_id, state.version)
    return CaseOut.of(state, position)


@router.get("/{case_id}", summary="Read a case, now or as of a version", **allow(*EVERYONE))
def get_case(
    case_id: CaseId,
    actor: ActorDep,
    vorgang: VorgangDep,
    response: Response,
    version: Annotated[
        int | None,  # bounded: beyond a BIGINT no database compares, and no case gets there
        Query(ge=1, le=2**31 - 1, description="State as of this version."),
    ] = None,
    as_of: Annotated[
        datetime | None,
        Query(description="State as recorded at this moment (auditors and supervisors)."),
    ] = None,
) -> CaseOut:
    """The case with its ETag; `?version=N` or `?as_of=<timestamp>` give earlier states."""
    if as_of is not None:
        if not actor.acts_as(Role.AUDITOR, Role.SUPERVISOR):  # the history as of a moment
            raise Forbidden("only auditors and supervisors read a case as of a moment")
        if as_of.tzinfo is None:
            raise BadHeader(
                "as_of", "needs a time zone, e.g. 2026-03-02T09:00:00+01:00", where="query"
            )
        state = vorgang.decision_audit.as_of(case_id, as_of, actor=actor)
    else:
        state = vorgang.cases.view(case_id, actor=actor, version=version)
    response.headers["ETag"] = f'"{state.version}"'
    if sees_applicant_view(actor):
        return CaseOut.of(state)
    return CaseOut.of(state, vorgang.positions.of(case_id, state.version))


@router.get(
    "/{case_id}/history",
    summary="Every event of a case",
    **allow(*EVERYONE),
)
def history(case_id: CaseId, actor: ActorDep, cases: CaseServiceDep) -> list[HistoryEntryOut]:
    """Every stored event with who, when, why; an applicant sees only what is meant for them."""
    entries = history_as_seen_by(actor, cases.history(case_id, actor=actor))
    return [HistoryEntryOut.of(e) for e in entries]


@router.post(
    "/{case_id}/confirm-complete", summary="Confirm the application is complete", **allow(*STAFF)
)
def confirm_complete(
    case_id: CaseId,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """The processing period starts (or restarts after missing documents)."""
    result = cases.confirm_complete(case_id, actor=actor, expected_version=expected)
    return answer(cases, result, actor, response)


@router.post("/{case_id}/claim", summary="Take the case into one's own work", **allow(*STAFF))
def claim(
    case_id: CaseId,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """Fails with 409 while someone else holds the case."""
    return answer(
        cases, cases.claim(case_id, actor=actor, expected_version=expected), actor, response
    )


@router.post("/{case_id}/release", summary="Give the case back to the queue", **allow(*STAFF))
def release(
    case_id: CaseId,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
    body: Annotated[OptionalReason | None, Body()] = None,
) -> CaseOut:
    """The holder, or a supervisor reassigning work."""
    reason = body.reason if body else None
    result = cases.release(case_id, actor=actor, reason=reason, expected_version=expected)
    return answer(cases, result, actor, response)


@router.post(
    "/{case_id}/assign",
    summary="Assign the case to a member of staff (supervisors)",
    **allow(Role.SUPERVISOR),
)
def assign(
    case_id: CaseId,
    body: Assignment,
    actor: ActorDep,
    vorgang: VorgangDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """To the supervisor themself, or to staff who have acted for the town (else 422)."""
    cases = vorgang.cases
    result = cases.assign(
        case_id,
        actor=actor,
        assignee_id=body.assignee.id,
        assignee_name=body.assignee.name,
        reason=body.reason,
        staff=StaffSeenInTheAuditTrail(vorgang),
        expected_version=expected,
    )
    return answer(cases, result, actor, response)


class StaffSeenInTheAuditTrail:
    """Staff known to a town by the audit trail, waiting for it only when it lags the log."""

    def __init__(self, vorgang: Vorgang) -> None:
        self.vorgang = vorgang
        self.known = KnownStaff(vorgang.views)

    def role_of(self, tenant: str, staff_id: str) -> Role | None:
        """The role staff last acted in for the town; an unknown id once the trail is current."""
        found = self.known.role_of(tenant, staff_id)
        if found is not None:
            return found
        head = self.vorgang.store.recorder.max_notification_id() or 0
        if self.vorgang.projections.wait_for(self.known.name, head, ASSIGNEE_LOOKUP_SECONDS):
            return self.known.role_of(tenant, staff_id)
        raise ServiceUnavailable(
            "the audit trail, which knows the town's staff, is catching up", retry_after=1
        )


@router.post(
    "/{case_id}/request-information", summary="Ask the applicant (Nachforderung)", **allow(*STAFF)
)
def request_information(
    case_id: CaseId,
    body: RequestInformation,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """Questions with a reply deadline; missing documents stop the processing period."""
    result = cases.request_information(
        case_id,
        actor=actor,
        questions=body.questions,
        reply_by=body.reply_by,
        missing_documents=body.missing_documents,
        expected_version=expected,
    )
    return answer(cases, result, actor, response)


@router.post(
    "/{case_id}/provide-information",
    summary="Answer an information request",
    **allow(Role.APPLICANT, *STAFF),
)
def provide_information(
    case_id: CaseId,
    body: ProvideInformation,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """The applicant answers; the processing period goes on."""
    result = cases.provide_information(
        case_id, actor=actor, answer=body.answer, expected_version=expected
    )
    return answer(cases, result, actor, response)


@router.post("/{case_id}/notes", summary="Add an internal note", **allow(*STAFF))
def add_note(
    case_id: CaseId,
    body: Note,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """Internal to the administration; never shown to the applicant."""
    result = cases.add_note(case_id, actor=actor, text=body.text, expected_version=expected)
    return answer(cases, result, actor, response)


@router.post(
    "/{case_id}/extend-period", summary="Extend the processing period once", **allow(*STAFF)
)
def extend_period(
    case_id: CaseId,
    body: ExtendPeriod,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """§ 42a (2) sentence 3 VwVfG: once, with reasons."""
    result = cases.extend_period(
        case_id,
        actor=actor,
        working_days=body.working_days,
        reason=body.reason,
        expected_version=expected,
    )
    return answer(cases, result, actor, response)


@router.post(
    "/{case_id}/decide", summary="Decide: approve, approve with conditions, reject", **allow(*STAFF)
)
def decide(
    case_id: CaseId,
    body: Decide,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """Only the clerk holding the case decides; justification and remedy notice are required."""
    result = cases.decide(
        case_id,
        actor=actor,
        outcome=DecisionOutcome(body.outcome),
        justification=body.justification,
        legal_basis=body.legal_basis,
        legal_remedy_notice=body.legal_remedy_notice,
        conditions=body.conditions,
        effective_from=body.effective_from,
        expires_on=body.expires_on,
        fee=body.fee,
        expected_version=expected,
    )
    return answer(cases, result, actor, response)


@router.post(
    "/{case_id}/countersign", summary="Countersign a decision (four eyes)", **allow(Role.SUPERVISOR)
)
def countersign(
    case_id: CaseId,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """A supervisor other than the decider."""
    result = cases.countersign(case_id, actor=actor, expected_version=expected)
    return answer(cases, result, actor, response)


@router.post(
    "/{case_id}/refuse-countersign",
    summary="Send a draft decision back to review",
    **allow(Role.SUPERVISOR),
)
def refuse_countersign(
    case_id: CaseId,
    body: Reason,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """With reasons."""
    result = cases.refuse_countersign(
        case_id, actor=actor, reason=body.reason, expected_version=expected
    )
    return answer(cases, result, actor, response)


@router.post("/{case_id}/payments", summary="Record that the fee was paid", **allow(*STAFF))
def record_payment(
    case_id: CaseId,
    body: RecordPayment,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """The amount must equal the fee of the decision."""
    result = cases.record_payment(
        case_id,
        actor=actor,
        amount=body.amount,
        payment_reference=body.payment_reference,
        expected_version=expected,
    )
    return answer(cases, result, actor, response)


@router.post("/{case_id}/notify", summary="Record the notification (Bekanntgabe)", **allow(*STAFF))
def notify(
    case_id: CaseId,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
    body: Annotated[Notify | None, Body()] = None,
) -> CaseOut:
    """The objection period runs from the day of notification."""
    result = cases.notify(
        case_id,
        actor=actor,
        notified_on=body.notified_on if body else None,
        expected_version=expected,
    )
    return answer(cases, result, actor, response)


@router.post("/{case_id}/objections", summary="Record an objection (Widerspruch)", **allow(*STAFF))
def lodge_objection(
    case_id: CaseId,
    body: LodgeObjection,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """Refused after the objection period."""
    result = cases.lodge_objection(
        case_id,
        actor=actor,
        grounds=body.grounds,
        received_on=body.received_on,
        expected_version=expected,
    )
    return answer(cases, result, actor, response)


@router.post(
    "/{case_id}/objections/remedy", summary="Remedy the objection (Abhilfe)", **allow(*STAFF)
)
def remedy_objection(
    case_id: CaseId,
    body: Reason,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """§ 72 VwGO: the case returns to review for a new decision."""
    result = cases.remedy_objection(
        case_id, actor=actor, reason=body.reason, expected_version=expected
    )
    return answer(cases, result, actor, response)


@router.post("/{case_id}/objections/forward", summary="Forward the objection", **allow(*STAFF))
def forward_objection(
    case_id: CaseId,
    body: ForwardObjection,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """§ 73 VwGO: to the objection authority."""
    result = cases.forward_objection(
        case_id,
        actor=actor,
        authority=body.authority,
        reason=body.reason,
        expected_version=expected,
    )
    return answer(cases, result, actor, response)


@router.post("/{case_id}/mark-final", summary="Mark the decision final", **allow(*STAFF))
def mark_final(
    case_id: CaseId,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """After the objection period, without objection."""
    result = cases.mark_final(case_id, actor=actor, expected_version=expected)
    return answer(cases, result, actor, response)


@router.post(
    "/{case_id}/withdraw", summary="Withdraw the application", **allow(Role.APPLICANT, *STAFF)
)
def withdraw(
    case_id: CaseId,
    body: Reason,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> CaseOut:
    """By the applicant (or recorded by staff), before a decision."""
    result = cases.withdraw(case_id, actor=actor, reason=body.reason, expected_version=expected)
    return answer(cases, result, actor, response)


@router.post("/{case_id}/close", summary="Close the file", **allow(*STAFF))
def close(
    case_id: CaseId,
    actor: ActorDep,
    cases: CaseServiceDep,
    expected: ExpectedVersionDep,
    response: Response,
    body: Annotated[OptionalReason | None, Body()] = None,
) -> CaseOut:
    """After the decision is final, the objection forwarded, or the application withdrawn."""
    reason = body.reason if body else None
    result = cases.close(case_id, actor=actor, reason=reason, expected_version=expected)
    return answer(cases, result, actor, response)
