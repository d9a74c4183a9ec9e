"""Who read what: the access log of staff reads, for auditors and the data-protection officer.

Decision 36: every read of a case, its history, decisions, documents, file or a search hit
list by staff is a line of a chained log outside the cases' events. A town's auditors and
its data-protection officer read the town's lines here, per case (a search that showed the
case counts), per person, by time and by what was read. Reading the log is itself recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.access import allow
from api.dependencies import ActorDep, FacadeDep, RecordReadDep
from api.problems import BadHeader
from api.routes.cases import PROBLEMS
from api.routes.read_models import checked_cursor
from application.access_log import (
    ACCESS_LOG,
    WHAT,
    AccessLine,
    AccessLogFilter,
    utc_text,
)
from domain.actor import Role
from projections.cursors import decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1/access-log", tags=["audit"], responses=PROBLEMS)  # type: ignore[arg-type]

READERS = allow(Role.AUDITOR, Role.DATA_PROTECTION_OFFICER)

LINE_EXAMPLE: dict[str, Any] = {
    "position": 4711,
    "at": "2026-03-02T08:15:03.120000Z",
    "actor_id": "anna.schmidt",
    "role": "clerk",
    "tenant": "usingen",
    "on_behalf_of": None,
    "route": "/api/v1/cases",
    "what": "search",
    "case_id": None,
    "query": {"q": "Mustermann", "status": "submitted", "tenant": "usingen"},
    "hits": 2,
    "hit_case_ids": [
        "0c6d2f1e-5a3b-4c2d-9e8f-7a6b5c4d3e2f",
        "7f3e2d1c-0b9a-4876-8543-210fedcba987",
    ],
}


class AccessLineOut(BaseModel):
    """One recorded read: who, when, in which role and town, which route, which case or query."""

    position: int = Field(description="The line's place in the access log's chain.")
    at: str = Field(description="When it was read (UTC).")
    actor_id: str
    role: str
    tenant: str
    on_behalf_of: str | None
    route: str = Field(description="The route's template.")
    what: str = Field(description=", ".join(sorted(WHAT)))
    case_id: str | None
    query: dict[str, Any] | None = Field(
        description='A search\'s filters; its words as typed ("[gelöscht]" once pruned).'
    )
    hits: int | None = Field(description="How many cases a hit list showed.")
    hit_case_ids: list[str]

    model_config = ConfigDict(json_schema_extra={"examples": [LINE_EXAMPLE]})

    @classmethod
    def of(cls, line: AccessLine) -> AccessLineOut:
        """The line as the API shows it."""
        fields = {name: getattr(line, name) for name in line.__dataclass_fields__}
        return cls(**{**fields, "hit_case_ids": list(line.hit_case_ids)})


class AccessLogPage(BaseModel):
    """A page of the access log, newest first."""

    items: list[AccessLineOut]
    next_cursor: str | None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [LINE_EXAMPLE], "next_cursor": None}]}
    )


def _utc(name: str, moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise BadHeader(name, "needs a time zone, e.g. 2026-03-02T09:00:00+01:00", where="query")
    return utc_text(moment)


@router.get("", summary="Who read what: the access log of staff reads", **READERS)
def list_access_log(
    actor: ActorDep,
    vorgang: FacadeDep,
    record: RecordReadDep,
    case_id: Annotated[
        UUID | None, Query(description="Reads of this case, and hit lists that showed it.")
    ] = None,
    actor_id: Annotated[
        str | None, Query(max_length=200, description="Reads by this person.")
    ] = None,
    start: Annotated[
        datetime | None, Query(alias="from", description="Read at or after this moment.")
    ] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Read before this moment.")] = (
        None
    ),
    what: Annotated[str | None, Query(description="Only reads of this kind.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Lines per page.")] = 100,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> AccessLogPage:
    """The lines of your town (its people's reads, and reads for it under a delegation), newest
    first. Name a case, a person or a time range (``from`` and ``to``); reading is recorded."""
    if what is not None and what not in WHAT:
        raise BadHeader("what", f"unknown (known: {', '.join(sorted(WHAT))})", where="query")
    if case_id is None and actor_id is None and (start is None or end is None):
        raise BadHeader(
            "case_id",
            "name a case, a person (actor_id) or a time range (from and to)",
            where="query",
        )
    begins, ends = _utc("from", start), _utc("to", end)
    if begins is not None and ends is not None and begins > ends:
        raise BadHeader("from", "lies after to", where="query")
    checked_cursor(cursor, int)
    after = int(decode_cursor(cursor, int)[0]) if cursor else None
    which = AccessLogFilter(
        tenant=actor.tenant,
        case_id=case_id,
        actor_id=actor_id,
        start=begins,
        end=ends,
        what=what,
    )
    lines = vorgang.access_lines.lines(which, after=after, limit=limit + 1)
    shown = lines[:limit]
    query = {
        "case_id": case_id and str(case_id),
        "actor_id": actor_id,
        "from": begins,
        "to": ends,
        "what": what,
    }
    record(ACCESS_LOG, case_id=case_id, query=query)  # reading the log is recorded too
    return AccessLogPage(
        items=[AccessLineOut.of(line) for line in shown],
        next_cursor=encode_cursor([shown[-1].position]) if len(lines) > limit else None,
    )
