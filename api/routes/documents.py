"""Documents of a case: issue a letter, send it, record what its channel reported, read it."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.access import STAFF, allow
from api.dependencies import ActorDep, ExpectedVersionDep, FacadeDep, RecordReadDep
from api.routes.service_steps import PROBLEMS, CaseId
from application.access_log import DOCUMENT, DOCUMENTS
from application.documents import DocumentResult
from domain.actor import Role
from domain.commands import ShortText
from domain.documents import Channel, DocumentKind, Outcome

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/cases", tags=["documents"], responses=PROBLEMS)  # type: ignore[arg-type]

READERS = allow(Role.APPLICANT, Role.CLERK, Role.SUPERVISOR, Role.AUDITOR)
Number = Annotated[int, Path(ge=1, le=10_000, description="1 for the case's first document.")]
KindName = Literal[
    "decision",
    "objection_decision",
    "deemed_approval_certificate",
    "information_request",
    "charge_assessment",
]
ChannelName = Literal["postbox", "letter", "portal", "counter"]


class IssueDocument(BaseModel):
    """Which record to issue as a letter, and how to send it (or not yet)."""

    kind: KindName = Field(
        description="decision (Bescheid), objection_decision (Widerspruchsbescheid), "
        "deemed_approval_certificate (§ 42a (3) HVwVfG), information_request, "
        "charge_assessment (Kostenersatzbescheid of a sewer connection)."
    )
    channel: ChannelName | None = Field(
        default=None,
        description="postbox: the applicant's BundID / Mein Unternehmenskonto postbox; letter: "
        "the town's print service; portal: for download by the applicant; counter: handed "
        "over now. Omitted: issued only, sent later.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "decision", "channel": "postbox"}]},
    )


class SendDocument(BaseModel):
    """How to send an issued document (again, or another way)."""

    channel: ChannelName

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"channel": "letter"}]}
    )


class ReportOutcome(BaseModel):
    """What the channel reported outside Vorgang: a posting day, a return, a hand-over."""

    outcome: Literal["accepted", "posted", "retrieved", "handed_over", "failed"]
    on: date = Field(description="The day the channel reports it happened.")
    failure: ShortText | None = Field(default=None, description="Why it failed (required then).")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"outcome": "posted", "on": "2026-12-07"}]},
    )


class DispatchOut(BaseModel):
    """One sending and what came of it."""

    channel: str
    sent_on: date
    reference: str
    outcome: str | None
    outcome_on: date | None
    failure: str | None


class DocumentOut(BaseModel):
    """A document of a case: what, when, its hash, how it was made and sent."""

    number: int
    kind: str
    title: str
    media_type: str
    sha256: str = Field(description="SHA-256 (hex) of the sealed PDF, as the issuing event says.")
    size: int
    issued_at: datetime
    issued_automatically: bool
    refers_to: int | None
    cash_reference: str | None = Field(description="The Kassenzeichen of the costs it assesses.")
    template: str
    seal: str
    addressee: str
    dispatches: list[DispatchOut]
    href: str


def _out(case_id: Any, document: dict[str, Any]) -> DocumentOut:
    return DocumentOut(**document, href=f"/api/v1/cases/{case_id}/documents/{document['number']}")


def _answer(result: DocumentResult, response: Response) -> DocumentOut:
    response.headers["ETag"] = f'"{result.version}"'
    return _out(result.case_id, result.document)


@router.get("/{case_id}/documents", summary="The documents of a case", **READERS)
def documents(
    case_id: CaseId, actor: ActorDep, vorgang: FacadeDep, record: RecordReadDep
) -> list[DocumentOut]:
    """Every letter issued, with its hash and deliveries; an applicant sees those sent to them."""
    found = [_out(case_id, d) for d in vorgang.documents.documents(case_id, actor=actor)]
    record(DOCUMENTS, case_id=case_id)
    return found


@router.get(
    "/{case_id}/documents/{number}",
    summary="Download a document (the sealed PDF/A)",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The sealed PDF/A; its SHA-256 in Repr-Digest and the ETag.",
        }
    },
    **READERS,
)
def document_file(
    case_id: CaseId, number: Number, actor: ActorDep, vorgang: FacadeDep, record: RecordReadDep
) -> Response:
    """The PDF as issued; its SHA-256 equals the issuing event's. An applicant downloading a
    document provided in the portal retrieves it: the day after counts as its Bekanntgabe."""
    found = vorgang.documents.file(case_id, number, actor=actor)
    record(DOCUMENT, case_id=case_id)
    digest = base64.b64encode(bytes.fromhex(found.sha256)).decode()
    return Response(
        content=found.content,
        media_type=found.media_type,
        headers={
            "ETag": f'"{found.sha256}"',
            "Repr-Digest": f"sha-256=:{digest}:",
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.post(
    "/{case_id}/documents",
    status_code=status.HTTP_201_CREATED,
    summary="Issue a document (render, seal, store) and send it",
    **allow(*STAFF),
)
def issue(
    case_id: CaseId,
    body: IssueDocument,
    actor: ActorDep,
    vorgang: FacadeDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> DocumentOut:
    """Renders the record as the town's letter (PDF/A), seals it, stores it encrypted and
    records its SHA-256; with a channel, sends it. A completed delivery of a decision sets its
    Bekanntgabe (the day after retrieval from the postbox or portal, the presumed day after
    the print service's posting day, the day of hand-over at the counter)."""
    result = vorgang.documents.issue(
        case_id,
        actor=actor,
        kind=DocumentKind(body.kind),
        channel=Channel(body.channel) if body.channel else None,
        expected_version=expected,
    )
    response.headers["Location"] = f"/api/v1/cases/{case_id}/documents/{result.document['number']}"
    log.info("document issued", case_id=str(case_id), number=result.document["number"])
    return _answer(result, response)


@router.post(
    "/{case_id}/documents/{number}/sendings",
    summary="Send an issued document",
    **allow(*STAFF),
)
def send(
    case_id: CaseId,
    number: Number,
    body: SendDocument,
    actor: ActorDep,
    vorgang: FacadeDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> DocumentOut:
    """Again, or another way (a letter after the postbox reported failure)."""
    result = vorgang.documents.send(
        case_id, number, actor=actor, channel=Channel(body.channel), expected_version=expected
    )
    return _answer(result, response)


@router.post(
    "/{case_id}/documents/{number}/outcomes",
    summary="Record what the channel reported",
    **allow(*STAFF),
)
def report(
    case_id: CaseId,
    number: Number,
    body: ReportOutcome,
    actor: ActorDep,
    vorgang: FacadeDep,
    expected: ExpectedVersionDep,
    response: Response,
) -> DocumentOut:
    """A posting day or a return the print service reported on paper, a hand-over: the
    outcome that completes delivery of a decision sets its Bekanntgabe."""
    result = vorgang.documents.report(
        case_id,
        number,
        actor=actor,
        outcome=Outcome(body.outcome),
        on=body.on,
        failure=body.failure,
        expected_version=expected,
    )
    return _answer(result, response)
