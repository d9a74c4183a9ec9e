"""Lists that read projections (never aggregates): the inbox, the audit trail, their status."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from pydantic import BaseModel, Field

from api.access import allow, metrics_access
from api.dependencies import ActorDep, FacadeDep, ReadSideDep, RecordReadDep, SettingsDep
from api.ports import ApiSettings, BeyondTheHead, ReadSide, StillCatchingUp
from api.problems import BadHeader, Forbidden, ViewCatchingUp
from api.routes.cases import PROBLEMS
from application.access_log import AUDIT_TRAIL, INBOX
from application.views import plain
from domain.actor import Actor, Role
from domain.working_days import berlin_date
from projections.audit_query import CURSOR as AUDIT_CURSOR
from projections.audit_query import AuditFilter, AuditQuery
from projections.cursors import BIGINT_MAX, InvalidCursor, decode_cursor
from projections.inbox_query import CURSOR as INBOX_CURSOR
from projections.inbox_query import InboxFilter, InboxQuery
from projections.stats_query import StatsQuery

router = APIRouter(prefix="/api/v1", tags=["read models"], responses=PROBLEMS)  # type: ignore[arg-type]
operations = APIRouter(tags=["operations"])
CATCHING_UP_RETRY_SECONDS = 1

Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page.")]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]
MinPosition = Annotated[
    int | None,
    Query(
        ge=0,
        le=BIGINT_MAX,
        description="Wait (bounded) until the view includes this log position (the `position` "
        "a command returned); beyond the log's head: 422; still behind after the wait: 503 "
        "`view-catching-up` with Retry-After and the view's position.",
    ),
]


class InboxItem(BaseModel):
    """An open case in the work queue: the main track (status) and the legal track beside it."""

    case_id: str
    reference: str
    service: str
    applicant_name: str | None
    status: str = Field(description="Where the work stands (the main track only).")
    assignee: str | None
    submitted_at: datetime
    due_on: date | None = Field(
        description="The recorded end of the processing period; kept for display once decided."
    )
    working_days_left: int | None = Field(
        description="Until the due date, negative once past it; null without a running period "
        "(not complete yet, or decided)."
    )
    overdue: bool = Field(
        description="Past its due date without a decision: the decision stops the clock, so a "
        "decided case is never overdue, whatever step its service reached since."
    )
    waiting_for_applicant: bool
    last_activity_at: datetime
    decided_on: date | None = Field(description="The decision stopped the clock on this day.")
    objection_open: bool = Field(
        description="An objection (Widerspruch) is not yet disposed of: work for the clerk "
        "whatever the status."
    )
    objection_state: str | None = Field(
        description="Where the latest objection stands: pending, heard, forwarded, "
        "partly_remedied (open); remedied, withdrawn, decided; null if none was lodged."
    )
    objection_deadline: date | None = Field(
        description="The last day for an objection (§ 70 (1) VwGO; a year after notification "
        "when the remedy notice was missing or wrong, § 58 (2) VwGO); null until notified."
    )
    notice: InboxNotice | None = Field(
        default=None,
        description="The latest reminder or escalation still open (its timer still stands: "
        "the case has not moved on since); null if none.",
    )


class InboxNotice(BaseModel):
    """The latest open reminder or escalation of a case (recorded by the scheduler)."""

    kind: str = Field(description="The timer kind, e.g. processing_reminder, processing_overdue.")
    sort: Literal["reminder", "escalation"] = Field(
        description="A reminder to the clerk holding the case, or an escalation to the supervisors."
    )
    fired_on: date = Field(description="The business day the scheduler sent it.")


class InboxPage(BaseModel):
    """A page of the inbox."""

    items: list[InboxItem]
    next_cursor: str | None
    position: int


class AuditRow(BaseModel):
    """One event in the audit trail."""

    position: int
    case_id: str
    reference: str
    tenant: str
    service: str
    event_type: str
    version: int
    actor_id: str | None
    actor_name: str | None
    actor_role: str | None
    on_behalf_of: str | None
    at: datetime | None
    recorded_at: datetime
    reason: str | None
    changes: dict[str, Any]
    label: dict[str, str] | None = Field(
        default=None,
        description="The event labelled for people: {de, en} (a service's own events by its "
        "catalogue entry); null for an event without a label.",
    )


class AuditPage(BaseModel):
    """A page of the audit trail."""

    items: list[AuditRow]
    next_cursor: str | None
    position: int


class ProjectionStatusOut(BaseModel):
    """Where a projection stands."""

    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float
    applied_at: datetime | None
    heartbeat_at: datetime | None
    last_error: str | None
    state: str


def opener(read_side: ReadSide) -> Callable[[str | None], Any]:
    """Opens sealed view JSON with the application's transcoding ("[gelöscht]" once erased)."""

    def open_sealed(text: str | None) -> Any:
        return None if text is None else plain(read_side.open_sealed(text))

    return open_sealed


async def caught_up(
    read_side: ReadSide, settings: ApiSettings, name: str, min_position: int | None
) -> int:
    """Wait for read-your-writes without holding a thread; return the view's position.

    A position beyond the log's head was never returned by a command: 422 at once. A view
    still behind after the bounded wait: 503 ``view-catching-up`` with where it stands.
    """
    if min_position is None:
        return await anyio.to_thread.run_sync(read_side.runners[name].position)
    try:
        return await read_side.reach(name, min_position, settings.read_your_writes_seconds)
    except BeyondTheHead as error:
        raise BadHeader("min_position", str(error), where="query") from None
    except StillCatchingUp as error:
        raise ViewCatchingUp(
            name, error.position, error.wanted, CATCHING_UP_RETRY_SECONDS
        ) from None


def checked_cursor(cursor: str | None, *shape: type[int] | type[str]) -> None:
    """A tampered cursor is a 422 naming it, before any wait or query."""
    if not cursor:  # an empty cursor is the first page, as it always was
        return
    try:
        decode_cursor(cursor, *shape)
    except InvalidCursor as error:
        raise BadHeader("cursor", str(error), where="query") from None


def tenant_for(actor: Actor, tenant: str | None) -> str:
    """The tenant whose cases the actor asks for: their own or one they act for."""
    chosen = tenant or actor.on_behalf_of or actor.tenant
    if chosen not in (actor.tenant, actor.on_behalf_of):
        raise Forbidden(f"you do not act for {chosen}")
    return chosen


@router.get(
    "/inbox",
    summary="The work queue: open cases of a tenant by due date",
    **allow(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR),
)
async def inbox(
    actor: ActorDep,
    vorgang: FacadeDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    record: RecordReadDep,
    assignee: Annotated[
        Literal["me", "unassigned", "anyone"], Query(description="Whose cases.")
    ] = "anyone",
    service: str | None = None,
    status: str | None = None,
    overdue: Annotated[
        bool, Query(description="Only cases past their due date without a decision.")
    ] = False,
    due_before: date | None = None,
    objection_open: Annotated[
        bool,
        Query(
            description="Only cases with an open objection (Widerspruch), whatever their "
            "status: an objection lodged while the works run is work for the clerk too."
        ),
    ] = False,
    reminded: Annotated[
        bool,
        Query(description="Only cases with an open reminder (a due date near or passed)."),
    ] = False,
    escalated: Annotated[
        bool,
        Query(description="Only cases escalated to the supervisors (overdue) and not moved on."),
    ] = False,
    tenant: Annotated[str | None, Query(description="A tenant you act for.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> InboxPage:
    """Open cases with status, assignee, due date, working days left and the legal track.

    Beside the status (where the work stands): whether an objection is open and where it
    stands, and the objection deadline. `objection_open=true` lists only the cases with an
    open objection, whatever step their service reached. The decision stops the clock: a
    decided case is never overdue. Each case shows its latest open reminder or escalation
    (`notice`); `reminded=true` and `escalated=true` list only those cases. Cursor pages.
    """
    checked_cursor(cursor, *INBOX_CURSOR)
    query = InboxFilter(
        tenant=tenant_for(actor, tenant),
        assignee=actor.id if assignee == "me" else None,
        unassigned=assignee == "unassigned",
        service=service,
        status=status,
        overdue=overdue,
        due_before=due_before,
        objection_open=objection_open,
        reminded=reminded,
        escalated=escalated,
    )
    position = await caught_up(read_side, settings, "inbox", min_position)

    def read() -> tuple[list[dict[str, Any]], str | None]:
        return InboxQuery(read_side.views, opener(read_side)).page(
            query, today=berlin_date(vorgang.cases.clock.now()), limit=limit, cursor=cursor
        )

    items, next_cursor = await anyio.to_thread.run_sync(read)
    filters = {
        "tenant": query.tenant,
        "assignee": assignee,
        "service": service,
        "status": status,
        "overdue": overdue or None,
        "due_before": due_before and due_before.isoformat(),
        "objection_open": objection_open or None,
        "reminded": reminded or None,
        "escalated": escalated or None,
        "cursor": cursor,
    }
    hits = [UUID(item["case_id"]) for item in items]
    await anyio.to_thread.run_sync(lambda: record(INBOX, query=filters, hits=hits))
    return InboxPage(
        items=[InboxItem(**item) for item in items], next_cursor=next_cursor, position=position
    )


def _uuid_or_none(text: str | None) -> UUID | None:
    """A case id given as a filter, when it is one (the filter takes any text)."""
    try:
        return None if text is None else UUID(text)
    except ValueError:
        return None


@router.get(
    "/audit",
    summary="The audit trail: every case event with who, when, why and what changed",
    response_model=None,
    **allow(Role.AUDITOR, Role.SUPERVISOR),
)
async def audit(
    actor: ActorDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    record: RecordReadDep,
    case_id: str | None = None,
    actor_id: str | None = None,
    tenant: str | None = None,
    event_type: str | None = None,
    recorded_from: datetime | None = None,
    recorded_to: datetime | None = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv streams all rows.")] = "json",
    limit: Limit = 100,
    cursor: Cursor = None,
    min_position: MinPosition = None,
) -> AuditPage | StreamingResponse:
    """Auditors read their tenants' trail; supervisors their own tenant's."""
    checked_cursor(cursor, *AUDIT_CURSOR)
    query = AuditFilter(
        tenants=(tenant_for(actor, tenant),),
        case_id=case_id,
        actor_id=actor_id,
        event_type=event_type,
        recorded_from=recorded_from,
        recorded_to=recorded_to,
    )
    position = await caught_up(read_side, settings, "audit_trail", min_position)
    reader = AuditQuery(read_side.views, opener(read_side))
    filters = {
        "tenant": query.tenants[0],
        "case_id": case_id,
        "actor_id": actor_id,
        "event_type": event_type,
        "from": recorded_from and recorded_from.isoformat(),
        "to": recorded_to and recorded_to.isoformat(),
        "format": format,
        "cursor": cursor,
    }
    one_case = _uuid_or_none(case_id)
    if format == "csv":
        # The export streams: its cases are not known before it leaves. Its filters and the
        # moment are recorded (the trail is append-only: they name the rows it held).
        await anyio.to_thread.run_sync(lambda: record(AUDIT_TRAIL, case_id=one_case, query=filters))
        # The first batch is read before the response starts: whatever a parameter does to
        # the query shows as a problem, not as a 200 whose CSV breaks off.
        chunks = reader.csv(query)
        first = await anyio.to_thread.run_sync(next, chunks)
        return StreamingResponse(
            itertools.chain([first], chunks),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-trail.csv"'},
        )
    items, next_cursor = await anyio.to_thread.run_sync(
        lambda: reader.page(query, limit=limit, cursor=cursor)
    )
    hits = sorted({UUID(item["case_id"]) for item in items})
    await anyio.to_thread.run_sync(
        lambda: record(AUDIT_TRAIL, case_id=one_case, query=filters, hits=hits)
    )
    return AuditPage(
        items=[AuditRow(**item) for item in items], next_cursor=next_cursor, position=position
    )


@router.get(
    "/stats",
    summary="Statistics per service of a tenant",
    **allow(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN),
)
async def stats(
    actor: ActorDep,
    vorgang: FacadeDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    tenant: Annotated[str | None, Query(description="A tenant you act for.")] = None,
    service: str | None = None,
    min_position: MinPosition = None,
) -> list[dict[str, Any]]:
    """Counts by status, received and decided per week, median and 90th-percentile processing
    time in working days, overdue cases, share decided within the period, deemed approvals
    (§ 42a HVwVfG), reminders and escalations sent."""
    chosen = tenant_for(actor, tenant)
    await caught_up(read_side, settings, "case_stats", min_position)
    return await anyio.to_thread.run_sync(
        lambda: StatsQuery(read_side.views).for_tenant(
            chosen, today=berlin_date(vorgang.cases.clock.now()), service=service
        )
    )


@router.get(
    "/projections",
    summary="Where each read model stands",
    **allow(Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR),
)
def projections(actor: ActorDep, read_side: ReadSideDep) -> list[ProjectionStatusOut]:
    """Position, head of the log, lag in events and seconds, last error, heartbeat, state."""
    return [
        ProjectionStatusOut.model_validate(status, from_attributes=True)
        for status in read_side.statuses()
    ]


@operations.get(
    "/metrics", summary="Prometheus metrics", response_class=PlainTextResponse, **metrics_access()
)
def metrics(read_side: ReadSideDep) -> PlainTextResponse:
    """Projection positions, head, lag and heartbeat age, in the Prometheus text format."""
    registry = CollectorRegistry()
    described = {
        "position": ("vorgang_projection_position", "Last log position applied"),
        "head": ("vorgang_log_head", "Head of the notification log"),
        "lag_events": ("vorgang_projection_lag_events", "Log positions behind"),
        "lag_seconds": ("vorgang_projection_lag_seconds", "Age of the oldest unapplied event"),
    }
    gauges = {
        field: Gauge(metric, text, ["projection"], registry=registry)
        for field, (metric, text) in described.items()
    }
    for status in read_side.statuses():
        for field, gauge in gauges.items():
            gauge.labels(status.name).set(getattr(status, field))
    return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
