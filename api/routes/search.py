"""Case search: `GET /api/v1/cases?q=...` over the case_search projection, never aggregates."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import anyio
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.access import EVERYONE, allow
from api.dependencies import ActorDep, ReadSideDep, RecordReadDep, SettingsDep
from api.ports import ReadSide
from api.problems import BadHeader, Forbidden
from api.routes.cases import PROBLEMS
from api.routes.read_models import MinPosition, caught_up, checked_cursor, opener, tenant_for
from application.access_log import SEARCH
from domain.actor import Actor, Role
from domain.services.catalogue import SERVICES
from projections.search import CaseSearch
from projections.search_query import CURSOR, SearchFilter, SearchQuery
from projections.search_terms import normalised_words

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=PROBLEMS)  # type: ignore[arg-type]
MAX_QUERY_WORDS = 12


class SearchItem(BaseModel):
    """A case found: what a result list shows."""

    case_id: str
    reference: str
    service: str
    status: str
    submitted_at: datetime
    applicant_name: str | None = Field(description='"[gelöscht]" once erased.')
    relevance: int = Field(description="Query words the case matches as a whole word.")


class SearchPage(BaseModel):
    """A page of search results."""

    items: list[SearchItem]
    next_cursor: str | None
    position: int


def known_statuses() -> frozenset[str]:
    """Every status a case of the catalogue's services can be in."""
    return frozenset(s for d in SERVICES.values() for s in d.case_class.LIFECYCLE)


def scope_for(actor: Actor, tenant: str | None) -> tuple[str, str | None]:
    """Whose cases the caller searches: an applicant their own, staff their tenant's."""
    if actor.role is Role.APPLICANT:
        if tenant not in (None, actor.tenant):
            raise Forbidden(f"you do not act for {tenant}")
        return actor.tenant, actor.id
    return tenant_for(actor, tenant), None


def checked(
    q: str | None, status: str | None, service: str | None, start: date | None, end: date | None
) -> None:
    """Parameters the query types cannot judge alone: 422 naming the field."""
    if q is not None and len(normalised_words(q)) > MAX_QUERY_WORDS:
        raise BadHeader("q", f"at most {MAX_QUERY_WORDS} words", where="query")
    if status is not None and status not in known_statuses():
        statuses = ", ".join(sorted(known_statuses()))
        raise BadHeader("status", f"unknown status {status!r} (known: {statuses})", where="query")
    if service is not None and service not in SERVICES:
        services = ", ".join(sorted(SERVICES))
        raise BadHeader(
            "service", f"unknown service {service!r} (known: {services})", where="query"
        )
    if start is not None and end is not None and start > end:
        raise BadHeader("from", f"from ({start}) lies after to ({end})", where="query")


def case_search(read_side: ReadSide) -> CaseSearch:
    """The running case search projection (its terms hold the search key)."""
    projection = read_side.runners[CaseSearch.name].projection
    if not isinstance(projection, CaseSearch):
        raise TypeError("the case_search runner does not run the case search")
    return projection


@router.get(
    "",
    summary="Search cases by reference, applicant, address, text, status, service and date",
    **allow(*EVERYONE),  # whoever may read a case may look for it; scope_for narrows
)
async def search_cases(
    actor: ActorDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    record: RecordReadDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Words that must all match: reference, applicant's name or address, "
            "or the application's text; inflections and 'ss'/'ß' alike, word beginnings too.",
        ),
    ] = None,
    reference: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9-]{1,40}$", description="A reference or its beginning."),
    ] = None,
    status: Annotated[str | None, Query(description="Only cases in this status.")] = None,
    service: Annotated[str | None, Query(description="Only cases of this service.")] = None,
    submitted_from: Annotated[
        date | None, Query(alias="from", description="Submitted on or after this day (Berlin).")
    ] = None,
    submitted_to: Annotated[
        date | None, Query(alias="to", description="Submitted on or before this day (Berlin).")
    ] = None,
    tenant: Annotated[str | None, Query(description="A tenant you act for.")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Results per page.")] = 20,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    min_position: MinPosition = None,
) -> SearchPage:
    """Most relevant first, then newest; applicants find only their own cases, staff their
    tenant's. Personal data is searched through a blind index, never stored in clear."""
    checked(q, status, service, submitted_from, submitted_to)
    checked_cursor(cursor, *CURSOR)
    searched_tenant, submitted_by = scope_for(actor, tenant)
    position = await caught_up(read_side, settings, CaseSearch.name, min_position)
    query = SearchFilter(
        tenant=searched_tenant,
        text=q or "",
        submitted_by=submitted_by,
        status=status,
        service=service,
        reference=reference,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
    )
    reader = SearchQuery(read_side.views, case_search(read_side).terms, opener(read_side))

    def read() -> tuple[list[dict[str, Any]], str | None]:
        return reader.page(query, limit=limit, cursor=cursor)

    items, next_cursor = await anyio.to_thread.run_sync(read)
    filters = {  # what was asked (the words sealed: they may name a person) and what was shown
        "q": q,
        "reference": reference,
        "status": status,
        "service": service,
        "from": submitted_from and submitted_from.isoformat(),
        "to": submitted_to and submitted_to.isoformat(),
        "tenant": searched_tenant,
        "cursor": cursor,
    }
    hits = [UUID(item["case_id"]) for item in items]
    await anyio.to_thread.run_sync(lambda: record(SEARCH, query=filters, hits=hits))
    return SearchPage(
        items=[SearchItem(**item) for item in items], next_cursor=next_cursor, position=position
    )
