"""The case file (Akte) of a case: JSON, printable German HTML, or PDF (decision 37)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import structlog
from fastapi import APIRouter, Header, Query, Response

from api.access import allow
from api.dependencies import ActorDep, FacadeDep, RecordReadDep
from api.problems import problem
from api.routes.service_steps import PROBLEMS, CaseId
from application.case_file import CaseFile
from domain.actor import Role

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/api/v1/cases", tags=["audit"], responses=PROBLEMS)  # type: ignore[arg-type]

HTML: Final = "text/html"
PDF: Final = "application/pdf"
JSON: Final = "application/json"
FORMATS: Final = {"json": JSON, "html": HTML, "pdf": PDF}
READERS = allow(Role.AUDITOR, Role.SUPERVISOR)  # supervisors: their town's cases only

EXAMPLE: Final = {
    "format": "vorgang.case-file.v1",
    "printed_at": "2026-12-07T09:00:00Z",
    "printed_by": {
        "id": "rpa.usingen",
        "name": "Rechnungsprüfung",
        "role": "auditor",
        "tenant": "usingen",
        "on_behalf_of": None,
    },
    "case": {
        "id": "0b7e4a8e-6a39-5d2e-9c61-7a4c3f6e1d20",
        "reference": "USI-2026-000042",
        "tenant": "usingen",
        "town": "Stadt Usingen",
        "service": "general",
        "service_name": "Allgemeines Anliegen",
        "status": "notified",
        "version": 6,
        "channel": "online",
        "submitted_at": "2026-11-02T08:00:00Z",
        "applicant": {"name": "[gelöscht]"},
        "data": {"subject": "Anliegen"},
        "decided_on": "2026-11-20",
        "notified_on": "2026-11-24",
        "objection_deadline": "2026-12-24",
        "final_on": None,
    },
    "timeline": [
        {
            "position": 1812,
            "version": 1,
            "at": "2026-11-02T08:00:00Z",
            "recorded_at": "2026-11-02T08:00:00.120000Z",
            "event": "Submitted",
            "label": "Antrag eingegangen",
            "actor": {
                "id": "portal:4711",
                "name": "[gelöscht]",
                "role": "applicant",
                "tenant": "usingen",
                "on_behalf_of": None,
            },
            "reason": None,
            "status": "submitted",
        }
    ],
    "decisions": [],
    "fees": [],
    "messages": {"information_requests": [], "letters": []},
    "proof": {
        "available": True,
        "records": [
            {
                "position": 1812,
                "topic": "domain.case:Case.Submitted",
                "originator_id": "0b7e4a8e-6a39-5d2e-9c61-7a4c3f6e1d20",
                "originator_version": 1,
                "state": "eyJ0ZW5hbnQiOiJ1c2luZ2VuIn0=",
                "previous_link": "5f" * 32,
                "link": "a3" * 32,
            }
        ],
        "checkpoint": {
            "chain": "log",
            "position": 2000,
            "link": "c4" * 32,
            "signed_at": "2026-11-02T09:00:00Z",
            "key_id": "1f2e3d4c5b6a7988",
            "signature": "bG9uZyBlbm91Z2g=",
        },
        "verify_with": "vorgang audit verify --case-file FILE.json",
    },
    "erased_subjects": ["applicant"],
}


def wanted(format_: str | None, accept: str | None) -> str | None:
    """The media type asked for: ``?format=`` first, else the Accept header's most preferred
    type this route gives (highest q-value; the listed order among equals; ``q=0`` refused;
    ``*/*``, ``text/*``, ``application/*`` match). JSON when neither names anything; None when
    the header accepts nothing this route gives (406)."""
    if format_ is not None:
        return FORMATS[format_]
    if accept is None or not accept.strip():
        return JSON
    offered = (JSON, HTML, PDF)
    quality: dict[str, tuple[int, float, int]] = {}  # media type: (specificity, q, listed at)
    for index, part in enumerate(accept.split(",")):
        name, *parameters = (item.strip() for item in part.split(";"))
        name = name.lower()
        if not name:
            continue
        q = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        for media_type in offered:
            specificity = _matches(name, media_type)
            if specificity and specificity > quality.get(media_type, (0, 0.0, 0))[0]:
                quality[media_type] = (specificity, q, index)
    acceptable = [media_type for media_type in offered if quality.get(media_type, (0, 0, 0))[1] > 0]
    return min(
        acceptable,
        key=lambda media_type: (-quality[media_type][1], quality[media_type][2]),
        default=None,
    )


def _matches(pattern: str, media_type: str) -> int:
    """How specifically an Accept entry names a media type: 3 exactly, 2 by its type's
    wildcard, 1 by ``*/*``, 0 not at all (the most specific entry's q-value counts)."""
    if pattern == media_type:
        return 3
    if pattern.endswith("/*") and media_type.startswith(pattern[:-1]):
        return 2
    return 1 if pattern == "*/*" else 0


@router.get(
    "/{case_id}/file",
    summary="The case file (Akte)",
    response_model=CaseFile,
    responses={
        200: {
            "description": "The case file: as JSON, as printable German HTML, or as PDF.",
            "content": {
                JSON: {"example": EXAMPLE},
                HTML: {"schema": {"type": "string"}},
                PDF: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
    **READERS,
)
def get_case_file(
    case_id: CaseId,
    actor: ActorDep,
    vorgang: FacadeDep,
    record: RecordReadDep,
    format_: Annotated[
        Literal["json", "html", "pdf"] | None,
        Query(
            alias="format",
            description="json (default), html (printable) or pdf; else the Accept header.",
        ),
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Any:
    """Case data, every event with who, when and why, the decisions and their replay, fees
    and payments, messages and letters, and the integrity proof of the case's records
    (check it with `vorgang audit verify --case-file FILE.json`)."""
    media_type = wanted(format_, accept)
    if media_type is None:
        return problem(
            406,
            "Not acceptable",
            f"The case file is given as {JSON}, {HTML} or {PDF} (Accept or ?format=).",
            slug="not-acceptable",
        )
    file = vorgang.case_files.assemble(case_id, actor)
    # Recorded before anything of the file leaves; unwritable: 503 (decision 36).
    record("file", case_id=case_id)
    log.info("case file read", case_id=str(case_id), media_type=media_type)
    if media_type == HTML:
        return Response(vorgang.case_files.html(file), media_type="text/html; charset=utf-8")
    if media_type == PDF:
        name = f"Akte-{file.case.reference}.pdf"
        return Response(
            vorgang.case_files.pdf(file),
            media_type=PDF,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return file
