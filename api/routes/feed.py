"""The integration feed: CloudEvents pages after a cursor, with long-poll (DESIGN.md 11, 12)."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.access import allow, public
from api.dependencies import ActorDep, VorgangDep
from api.problems import BadHeader
from api.routes.cases import PROBLEMS
from api.routes.read_models import tenant_for
from domain.actor import Role
from projections.feed import PUBLIC_TYPES, TYPE_PREFIX, TYPE_VERSION
from projections.feed_query import FeedFilter, FeedQuery, sequence_text

router = APIRouter(prefix="/api/v1", tags=["feed"], responses=PROBLEMS)  # type: ignore[arg-type]
BATCH = "application/cloudevents-batch+json"
POLL_SECONDS = 0.1  # in-process position check: no database query while nothing is new
DATABASE_POLL_SECONDS = 1.0  # when a separate worker applies the feed


class CaseLinks(BaseModel):
    """Where to read more."""

    case: str = Field(description="The case resource (needs a token that may read it).")


class CaseEventData(BaseModel):
    """The `data` of every public case event (no personal data)."""

    case_id: str
    reference: str = Field(description="e.g. USI-2026-000042")
    service: str = Field(description="A service id of the catalogue, e.g. road-opening")
    status: str = Field(description="The case status after the event")
    version: int = Field(description="The case version the event recorded")
    links: CaseLinks
    outcome: str | None = Field(
        default=None, description="On decided events: approved, approved_with_conditions, rejected"
    )
    fee: str | None = Field(default=None, description="On decided events: the fee in EUR")


class FeedType(BaseModel):
    """One public event type and the schema of its data."""

    type: str
    description: str
    dataschema: dict[str, Any]


DESCRIPTIONS = {
    "submitted": "An application arrived.",
    "completeness_confirmed": "The application is complete; the processing period runs.",
    "information_requested": "The applicant was asked for information or documents.",
    "information_provided": "The applicant answered.",
    "decided": "A decision took effect (after a countersignature where one is required).",
    "fee_paid": "The fee was paid.",
    "notified": "The decision was notified (Bekanntgabe); the objection period runs.",
    "objection_lodged": "An objection (Widerspruch) was received.",
    "objection_remedied": "The objection was remedied; the case is reviewed again.",
    "objection_forwarded": "The objection went to the objection authority.",
    "final": "The objection period ended; the decision is final.",
    "withdrawn": "The applicant withdrew the application.",
    "closed": "The file was closed.",
    "works_started": "Road opening: the works started.",
    "works_completed": "Road opening: the works were completed.",
    "restoration_inspected": "Road opening: the restored surface was inspected.",
}


@router.get("/feed/types", summary="The public event types and their data schemas", **public())
def feed_types() -> list[FeedType]:
    """Every type the feed publishes, with the JSON Schema of its `data`."""
    schema = CaseEventData.model_json_schema()
    return [
        FeedType(
            type=f"{TYPE_PREFIX}{name}.{TYPE_VERSION}",
            description=DESCRIPTIONS[name],
            dataschema=schema,
        )
        for name in sorted(set(PUBLIC_TYPES.values()))
    ]


@router.get(
    "/feed",
    summary="Public case events as CloudEvents, after a cursor",
    response_class=Response,
    responses={200: {"content": {BATCH: {}}, "description": "A batch of CloudEvents 1.0."}},
    **allow(Role.INTEGRATOR, Role.AUDITOR, Role.ADMIN, Role.SUPERVISOR),
)
async def feed(
    actor: ActorDep,
    vorgang: VorgangDep,
    after: Annotated[str, Query(description="The `sequence` of the last event you have.")] = "0",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    type: Annotated[str | None, Query(description="e.g. de.vorgang.case.decided.v1")] = None,
    tenant: Annotated[str | None, Query(description="A tenant you read for.")] = None,
    service: str | None = None,
    wait: Annotated[float, Query(ge=0, le=30, description="Long-poll up to this long.")] = 0,
) -> Response:
    """Events after `after` in log order; an empty page waits up to `wait` seconds."""
    if not after.isdigit():
        raise BadHeader("after", "after is a sequence: digits only", where="query")
    known_types = {f"{TYPE_PREFIX}{t}.{TYPE_VERSION}" for t in PUBLIC_TYPES.values()}
    if type is not None and type not in known_types:
        raise BadHeader("type", f"unknown type; known: {', '.join(sorted(known_types))}", "query")
    query = FeedFilter(tenants=(tenant_for(actor, tenant),), type=type, service=service)
    reader = FeedQuery(vorgang.views)
    runner = vorgang.projections.runners["feed"]
    start = int(after)
    deadline = time.monotonic() + wait
    events = await run_in_threadpool(reader.page, query, after=start, limit=limit)
    last_checked = runner.known_position
    while not events and time.monotonic() < deadline:
        in_process = vorgang.projections.running
        await anyio.sleep(POLL_SECONDS if in_process else DATABASE_POLL_SECONDS)
        if in_process and runner.known_position == last_checked:
            continue
        last_checked = runner.known_position
        events = await run_in_threadpool(reader.page, query, after=start, limit=limit)
    next_after = events[-1]["sequence"] if events else sequence_text(start)
    link = f'</api/v1/feed?after={next_after}&limit={limit}>; rel="next"'
    headers = {"Link": link, "Vorgang-Next-After": next_after}
    if len(events) == limit:  # a full page never changes again
        digest = hashlib.sha256(json.dumps([e["id"] for e in events]).encode()).hexdigest()
        headers |= {
            "ETag": f'"{digest[:32]}"',
            "Cache-Control": "private, max-age=86400, immutable",
        }
    else:
        headers["Cache-Control"] = "no-store"
    return Response(json.dumps(events, ensure_ascii=False), media_type=BATCH, headers=headers)
