"""The integration feed: CloudEvents pages after a cursor with long-poll, and a live stream.

Both ways of reading are ``async`` and wait on the process's one
``FeedBroadcaster``: a waiting long-poll or an open stream holds no thread and no database
connection. Personal data (the applicant) appears only for a caller granted it — an
auditor, or a service account with the ``personal-data:read`` scope — and never once erased.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from api.access import allow, public
from api.dependencies import ActorDep, ReadSideDep, SettingsDep
from api.feed_broadcaster import FeedBroadcaster, FeedSource
from api.feed_market_data import MarketEventData
from api.ports import ReadSide
from api.problems import BadHeader
from api.provider import VorgangProvider
from api.routes.cases import PROBLEMS
from api.routes.read_models import tenant_for
from domain.actor import Actor, Role, Scope
from projections.feed import (
    DESCRIPTIONS,
    HOLIDAY_OFFERING_TYPES,
    PUBLIC_TYPES,
    TYPE_PREFIX,
    TYPE_VERSION,
    WATER_CAMPAIGN_TYPES,
    WATER_METER_TYPES,
)
from projections.feed_markets import MARKET_TYPES
from projections.feed_query import (
    FeedFilter,
    FeedQuery,
    FeedRow,
    OpenSealed,
    cloud_event,
    sequence_text,
)

router = APIRouter(prefix="/api/v1", tags=["feed"], responses=PROBLEMS)  # type: ignore[arg-type]
BATCH = "application/cloudevents-batch+json"
STREAM_PAGE = 500  # rows per read while a stream catches up from its Last-Event-ID
RECONNECT_MILLISECONDS = 3000
SEQUENCE = re.compile(r"[0-9]{1,20}")
MAX_SEQUENCE = 2**63 - 1  # the log position is a BIGINT
READERS = (Role.INTEGRATOR, Role.AUDITOR, Role.ADMIN, Role.SUPERVISOR)


class CaseLinks(BaseModel):
    """Where to read more."""

    case: str = Field(description="The case resource (needs a token that may read it).")


class ApplicantData(BaseModel):
    """The applicant as the application named them; fields erased since are left out."""

    model_config = {"extra": "allow"}
    name: str | None = None


class PersonalPart(BaseModel):
    """Only for a caller granted personal data, and only while it is not erased."""

    applicant: ApplicantData


class CaseEventData(BaseModel):
    """The `data` of every public case event; personal data only with a grant.

    Beside the shared fields each type adds its own (absent on the others and on events
    published before they were added): the legal track's dates and outcomes, never grounds,
    reasons or names of persons.
    """

    case_id: str
    reference: str = Field(description="e.g. USI-2026-000042")
    service: str = Field(description="A service id of the catalogue, e.g. road-opening")
    status: str = Field(
        description="The case status after the event: where the work stands (the main track); "
        "an objection does not change it"
    )
    version: int = Field(description="The case version the event recorded")
    links: CaseLinks
    outcome: str | None = Field(
        default=None, description="On decided events: approved, approved_with_conditions, rejected"
    )
    fee: str | None = Field(default=None, description="On decided events: the fee in EUR")
    delivery: Literal["counter", "letter", "electronic", "portal", "formal_service"] | None = Field(
        default=None, description="On notified: how the decision was delivered"
    )
    sent_on: date | None = Field(
        default=None, description="On notified: the day the decision was handed over or sent"
    )
    notified_on: date | None = Field(
        default=None,
        description="On notified: the day of notification the law sets for the delivery "
        "(Bekanntgabe, § 41 HVwVfG)",
    )
    objection_deadline: date | None = Field(
        default=None,
        description="On notified: the last day for an objection (§ 70 (1) VwGO); on "
        "remedy_notice_defective: a year after the notification (§ 58 (2) VwGO)",
    )
    received_on: date | None = Field(
        default=None, description="On objection_lodged: the day the objection was received"
    )
    timely: bool | None = Field(
        default=None,
        description="On objection_lodged: received within the objection period (a late "
        "objection is recorded too)",
    )
    authority: str | None = Field(
        default=None,
        description="On objection_forwarded: the objection authority it went to; on "
        "objection_decided: the authority that decided (an authority, never a person)",
    )
    objection_outcome: (
        Literal[
            "remedied", "partly_remedied", "granted", "partly_granted", "dismissed", "inadmissible"
        ]
        | None
    ) = Field(
        default=None,
        description="On objection_remedied (Abhilfe, § 72 VwGO): remedied or partly_remedied; "
        "on objection_decided (Widerspruchsbescheid, § 73 VwGO): granted, partly_granted, "
        "dismissed or inadmissible",
    )
    new_decision: bool | None = Field(
        default=None,
        description="On objection_remedied and objection_decided: the case is reviewed again "
        "for a new decision",
    )
    fee_refund: str | None = Field(
        default=None,
        description="On objection_remedied and objection_decided: the part of the decision's "
        "fee to be refunded, in EUR",
    )
    served_on: date | None = Field(
        default=None,
        description="On objection_decided: the day the Widerspruchsbescheid was served",
    )
    action_deadline: date | None = Field(
        default=None,
        description="On objection_decided: the last day for an action in court (§ 74 (1) VwGO)",
    )
    final_on: date | None = Field(
        default=None,
        description="On final: the first day the decision is final (bestandskräftig)",
    )
    timer: str | None = Field(
        default=None,
        description="On reminder_sent and escalated: the timer's kind (e.g. processing_reminder)",
    )
    due_on: date | None = Field(
        default=None, description="On reminder_sent and escalated: the day the timer was due"
    )
    fired_on: date | None = Field(
        default=None, description="On reminder_sent and escalated: the day the notice was sent"
    )
    addressees: list[str] | None = Field(
        default=None,
        description="On reminder_sent and escalated: whom it went to, as staff ids, "
        "team:<team id> or supervisors:<team id> (never names)",
    )
    market_id: str | None = Field(
        default=None, description="On market_stall_applied: the market applied to"
    )
    category: str | None = Field(
        default=None, description="On market_stall_applied: the stall's product category"
    )
    frontage_m: str | None = Field(
        default=None, description="On market_stall_applied: the stall's frontage in metres"
    )
    selection_outcome: Literal["admitted", "refused"] | None = Field(
        default=None,
        description="On market_stall_selected: the selection's outcome (the decision follows "
        "as decided)",
    )
    pitch: str | None = Field(
        default=None,
        description="On market_stall_selected (admitted), market_stall_pitch_offered, "
        "market_stall_offer_accepted, market_stall_offer_declined, market_stall_offer_expired "
        "and market_stall_pitch_given_up: the pitch's number",
    )
    rank: int | None = Field(
        default=None, description="On market_stall_selected: the application's rank"
    )
    ranked: int | None = Field(
        default=None, description="On market_stall_selected: applications ranked"
    )
    algorithm: str | None = Field(
        default=None, description="On market_stall_selected: e.g. standplatzvergabe-2"
    )
    until: datetime | None = Field(
        default=None,
        description="On market_stall_pitch_offered and market_stall_offer_expired: the offer "
        "stood until",
    )
    by_the_town: bool | None = Field(
        default=None,
        description="On market_stall_pitch_given_up: the town revoked the pitch (else the "
        "trader gave it up)",
    )
    personal: PersonalPart | None = Field(
        default=None,
        description=(
            "Present only with the personal-data grant (auditors; service accounts with the "
            "scope personal-data:read); absent once the data was erased."
        ),
    )


class MeterLinks(BaseModel):
    """Where to read more."""

    meter: str = Field(description="The water meter resource (staff of its town).")
    case: str | None = Field(default=None, description="The reading case, for a reported reading")


class WaterMeterEventData(BaseModel):
    """The `data` of every water meter event (`subject` is the meter id): for the water and
    wastewater fees, without personal data.

    Each reading event carries the reading it adds to the meter's history; a correction
    names the reading it corrects, which stays in the history.
    """

    tenant: str = Field(description="The town, e.g. usingen")
    meter_id: str
    meter_number: str = Field(description="As the town compares it: upper case, no blanks")
    property_id: str = Field(description="The property supplied (Verbrauchsstelle)")
    main_meter: str | None = Field(
        description="For a garden water sub-meter: the id of its main meter"
    )
    service: str = Field(description="Always water-meter-reading")
    version: int = Field(description="The meter's version the event recorded")
    links: MeterLinks
    number: int | None = Field(
        default=None,
        description="On reading events: the reading's number in the meter's history (the "
        "installation is 1)",
    )
    kind: Literal["installed", "reported", "estimated", "corrected", "removed"] | None = None
    read_on: date | None = Field(default=None, description="The day the counter showed value")
    value: str | None = Field(default=None, description="The counter in m³, to the litre")
    consumption: str | None = Field(
        default=None,
        description="m³ since the reading standing before (a rollover added back); null for "
        "the installation",
    )
    flags: list[str] | None = Field(
        default=None,
        description="What the check found, e.g. far_above_history, calibration_expired, rollover",
    )
    campaign_year: int | None = Field(
        default=None, description="The reading campaign the reading answers, if any"
    )
    case_id: str | None = Field(
        default=None,
        description="The reading case of a reported reading (and of the reading a correction "
        "corrects)",
    )
    installed_on: date | None = Field(default=None, description="On water_meter_installed")
    digits: int | None = Field(
        default=None, description="On water_meter_installed: the counter rolls over at 10^digits"
    )
    calibration_valid_until: date | None = Field(
        default=None,
        description="On water_meter_installed and water_meter_recalibrated: the last day of "
        "the calibration (Eichung)",
    )
    corrects: int | None = Field(
        default=None, description="On water_meter_correction_recorded: the number corrected"
    )
    corrected_value: str | None = Field(
        default=None, description="On water_meter_correction_recorded: the value corrected"
    )
    reason: str | None = Field(
        default=None,
        description="On water_meter_correction_recorded: only a keyword (free text stays out)",
    )
    removed_on: date | None = Field(default=None, description="On water_meter_removed")


class CampaignLinks(BaseModel):
    """Where to read more."""

    campaign: str = Field(description="The reading campaign resource (staff of its town).")


class WaterCampaignEventData(BaseModel):
    """The `data` of every reading campaign event (`subject` is the campaign id): for the
    water and wastewater fees, so a fee system learns when a year's readings are complete.
    Town, year, days and counts only; the staff who did it are never named.
    """

    tenant: str = Field(description="The town, e.g. usingen")
    campaign_id: str = Field(description="The campaign's id: a UUIDv5 of town and year")
    year: int = Field(description="The campaign's year (campaign_year on the meters' readings)")
    starts_on: date = Field(description="Readings from this day answer the campaign")
    deadline: date = Field(description="After it the meters still missing are estimated")
    service: str = Field(description="Always water-meter-reading")
    version: int = Field(description="The campaign's version the event recorded")
    links: CampaignLinks
    estimated: int | None = Field(
        default=None, description="On water_campaign_estimates_made: meters estimated in the run"
    )
    not_estimable: int | None = Field(
        default=None,
        description="On water_campaign_estimates_made: meters without a reading that could not "
        "be estimated (nothing to estimate from)",
    )
    estimated_at: datetime | None = Field(
        default=None, description="On water_campaign_estimates_made: when the run was made"
    )
    closed_at: datetime | None = Field(
        default=None, description="On water_campaign_closed: when the campaign was closed"
    )


class OfferingLinks(BaseModel):
    """Where to read more."""

    offering: str = Field(description="The holiday offering resource (public).")
    case: str | None = Field(
        default=None, description="On holiday_offering_place_moved_up: the registration case"
    )


class HolidayOfferingEventData(BaseModel):
    """The `data` of every holiday offering event (`subject` is the offering id): a town's
    holiday programme (Ferienspiele) for youth welfare and booking systems. Ids, days and
    counts only: never a child, a guardian, an age, a health note, the draw's seed or its
    lots, never the staff who did it.
    """

    tenant: str = Field(description="The town, e.g. usingen")
    offering_id: str = Field(description="The offering's id: a UUIDv5 of town, year and code")
    year: int = Field(description="The programme's year")
    code: str = Field(description="The offering's code in the town's programme, e.g. KLETTERN-1")
    starts_on: date = Field(description="The offering's first day")
    ends_on: date = Field(description="The offering's last day")
    places: int = Field(description="Places offered")
    service: str = Field(description="Always holiday-registration")
    version: int = Field(description="The offering's version the event recorded")
    links: OfferingLinks
    activity: str | None = Field(default=None, description="On holiday_offering_published")
    location: str | None = Field(default=None, description="On holiday_offering_published")
    min_age: int | None = Field(
        default=None, description="On holiday_offering_published: youngest age on starts_on"
    )
    max_age: int | None = Field(
        default=None, description="On holiday_offering_published: oldest age on starts_on"
    )
    fee: str | None = Field(
        default=None, description="On holiday_offering_published: per child allocated a place"
    )
    currency: str | None = Field(default=None, description="On holiday_offering_published: EUR")
    registration_opens_at: datetime | None = Field(
        default=None, description="On holiday_offering_published"
    )
    registration_closes_at: datetime | None = Field(
        default=None, description="On holiday_offering_published"
    )
    rules: dict[str, Any] | None = Field(
        default=None,
        description="On holiday_offering_published: the published allocation rules "
        "(residents_first, places_per_child, siblings_together, friends_together)",
    )
    closed_at: datetime | None = Field(
        default=None, description="On holiday_offering_window_closed: closed early at"
    )
    reason: str | None = Field(
        default=None,
        description="On holiday_offering_window_closed: only a keyword (free text stays out)",
    )
    drawn_at: datetime | None = Field(default=None, description="On holiday_offering_places_drawn")
    algorithm: str | None = Field(
        default=None,
        description="On holiday_offering_places_drawn: the draw's algorithm and version, "
        "e.g. ferienspiele-los-2",
    )
    children: int | None = Field(
        default=None, description="On holiday_offering_places_drawn: children taking part"
    )
    allocated: int | None = Field(
        default=None, description="On holiday_offering_places_drawn: children given a place"
    )
    waiting: int | None = Field(
        default=None, description="On holiday_offering_places_drawn: children on the waiting list"
    )
    case_id: str | None = Field(
        default=None,
        description="On holiday_offering_place_moved_up: the registration case moved up",
    )
    child: int | None = Field(
        default=None,
        description="On holiday_offering_place_moved_up: the child's number in its case",
    )
    from_position: int | None = Field(
        default=None,
        description="On holiday_offering_place_moved_up: its position on the waiting list",
    )
    because_of: str | None = Field(
        default=None,
        description="On holiday_offering_place_moved_up: the case whose cancellation freed "
        "the place",
    )
    erased_at: datetime | None = Field(
        default=None, description="On holiday_offering_health_notes_erased"
    )
    registrations: int | None = Field(
        default=None,
        description="On holiday_offering_health_notes_erased: registration cases whose health "
        "notes were erased",
    )


class CloudEventsBatch(Response):
    """A response in the CloudEvents JSON batch format."""

    media_type = BATCH


class CaseCloudEvent(BaseModel):
    """One published event: CloudEvents 1.0, structured JSON."""

    specversion: str = Field(description="Always 1.0")
    id: str = Field(description="Stable per event: a redelivery has the same id")
    source: str = Field(description="The tenant, e.g. /tenants/usingen")
    type: str = Field(description="e.g. de.vorgang.case.decided.v1 (see /api/v1/feed/types)")
    subject: str = Field(description="The case id")
    time: str = Field(description="When it happened: the business time of the step (RFC 3339)")
    datacontenttype: str = Field(description="application/json")
    sequence: str = Field(
        description="Extension: the log position, zero-padded to 20 digits; gaps are normal"
    )
    data: CaseEventData


class FeedType(BaseModel):
    """One public event type and the schema of its data."""

    type: str
    description: str
    dataschema: dict[str, Any]


@router.get("/feed/types", summary="The public event types and their data schemas", **public())
def feed_types() -> list[FeedType]:
    """Every type the feed publishes, with the JSON Schema of its `data`."""
    schema = CaseEventData.model_json_schema()
    meters = {public for public, _ in WATER_METER_TYPES.values()}
    meter_schema = WaterMeterEventData.model_json_schema()
    campaigns = {public for public, _ in WATER_CAMPAIGN_TYPES.values()}
    campaign_schema = WaterCampaignEventData.model_json_schema()
    offerings = {public for public, _ in HOLIDAY_OFFERING_TYPES.values()}
    offering_schema = HolidayOfferingEventData.model_json_schema()
    markets = {public for public, _ in MARKET_TYPES.values()}
    market_schema = MarketEventData.model_json_schema()

    def schema_of(name: str) -> dict[str, Any]:
        if name in meters:
            return meter_schema
        if name in offerings:
            return offering_schema
        if name in markets:
            return market_schema
        return campaign_schema if name in campaigns else schema

    return [
        FeedType(
            type=f"{TYPE_PREFIX}{name}.{TYPE_VERSION}",
            description=DESCRIPTIONS[name],
            dataschema=schema_of(name),
        )
        for name in sorted(set(PUBLIC_TYPES.values()))
    ]


def broadcaster_for(request: Request) -> FeedBroadcaster:
    """The process's one broadcaster, made on first use in the server's event loop."""
    state = request.app.state
    if getattr(state, "feed_broadcaster", None) is None:
        provider: VorgangProvider = state.provider
        state.feed_broadcaster = FeedBroadcaster(lambda: feed_source(provider.get().projections))
    broadcaster: FeedBroadcaster = state.feed_broadcaster
    return broadcaster


def feed_source(read_side: ReadSide) -> FeedSource:
    """What the broadcaster reads in this process: the view, and the runner's position."""
    reader = FeedQuery(read_side.views)
    runner = read_side.runners["feed"]

    def moved() -> int | None:
        return runner.known_position if read_side.running else None

    return FeedSource(
        rows_after=lambda after, limit: reader.rows(None, after=after, limit=limit),
        head=reader.head,
        moved=moved,
    )


def personal_opener(read_side: ReadSide, actor: Actor) -> OpenSealed | None:
    """Opens the view's sealed personal data for a caller granted it (else None).

    Auditors read everything of their tenants; a service account needs the grant.
    """
    if not (actor.acts_as(Role.AUDITOR) or actor.holds(Scope.PERSONAL_DATA)):
        return None
    return read_side.open_sealed


def feed_filter(
    actor: Actor, tenant: str | None, type: str | None, service: str | None
) -> FeedFilter:
    """The caller's filter; an unknown type is a problem naming the parameter."""
    known_types = {f"{TYPE_PREFIX}{t}.{TYPE_VERSION}" for t in PUBLIC_TYPES.values()}
    if type is not None and type not in known_types:
        raise BadHeader("type", f"unknown type; known: {', '.join(sorted(known_types))}", "query")
    return FeedFilter(tenants=(tenant_for(actor, tenant),), type=type, service=service)


def sequence_parameter(name: str, value: str, where: str) -> int:
    """A cursor: the zero-padded ``sequence`` of an event, ASCII digits within BIGINT.

    ``str.isdigit`` would accept "²" and other digits ``int`` refuses; a number beyond
    BIGINT cannot be a log position and no database could compare with it.
    """
    if not SEQUENCE.fullmatch(value):
        raise BadHeader(name, f"{name} is a sequence: 1 to 20 ASCII digits", where=where)
    number = int(value)
    if number > MAX_SEQUENCE:
        raise BadHeader(name, f"{name} lies beyond every possible sequence", where=where)
    return number


async def published(
    broadcaster: FeedBroadcaster, reader: FeedQuery, name: str, start: int, where: str
) -> None:
    """A cursor beyond the last published sequence was never handed out: 422, before any byte.

    A stream that answered 200 and then failed would make the client reconnect with the
    same id for ever; a restored database or a mistyped id needs a person, not retries.
    """
    if start <= broadcaster.last:  # the common case: no read at all
        return
    head = await broadcaster.read(reader.head)
    if start > head:
        raise BadHeader(
            name,
            f"{name} {start} lies beyond the head of the feed (last sequence: {head})",
            where=where,
        )


TypeParameter = Annotated[str | None, Query(description="e.g. de.vorgang.case.decided.v1")]
TenantParameter = Annotated[str | None, Query(description="A tenant you read for.")]


@router.get(
    "/feed",
    summary="Public case events as CloudEvents, after a cursor",
    response_class=CloudEventsBatch,
    responses={200: {"model": list[CaseCloudEvent], "description": "A batch of CloudEvents 1.0."}},
    **allow(*READERS, integrator_scope=Scope.FEED_READ),
)
async def feed(
    request: Request,
    actor: ActorDep,
    read_side: ReadSideDep,
    after: Annotated[str, Query(description="The `sequence` of the last event you have.")] = "0",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    type: TypeParameter = None,
    tenant: TenantParameter = None,
    service: str | None = None,
    wait: Annotated[float, Query(ge=0, le=30, description="Long-poll up to this long.")] = 0,
) -> Response:
    """Events after `after` in log order; an empty page waits up to `wait` seconds."""
    start = sequence_parameter("after", after, "query")
    query = feed_filter(actor, tenant, type, service)
    reader = FeedQuery(read_side.views)
    open_sealed = personal_opener(read_side, actor)
    broadcaster = broadcaster_for(request)
    await published(broadcaster, reader, "after", start, "query")
    deadline = time.monotonic() + wait
    mark = broadcaster.last  # taken before reading, so nothing published meanwhile is missed
    events = await broadcaster.read(
        reader.page, query, after=start, limit=limit, open_sealed=open_sealed
    )
    while not events and (remaining := deadline - time.monotonic()) > 0:
        if not await broadcaster.wait_beyond(max(start, mark), remaining):
            break
        mark = broadcaster.last
        events = await broadcaster.read(
            reader.page, query, after=start, limit=limit, open_sealed=open_sealed
        )
    next_after = events[-1]["sequence"] if events else sequence_text(start)
    link = f'</api/v1/feed?after={next_after}&limit={limit}>; rel="next"'
    headers = {"Link": link, "Vorgang-Next-After": next_after}
    body = json.dumps(events, ensure_ascii=False)
    if open_sealed is not None:
        headers["Cache-Control"] = "private, no-store"  # personal data: never kept in caches
    elif len(events) == limit:  # a full page never changes again
        digest = hashlib.sha256(json.dumps([e["id"] for e in events]).encode()).hexdigest()
        headers |= {
            "ETag": f'"{digest[:32]}"',
            "Cache-Control": "private, max-age=86400, immutable",
        }
    else:
        headers["Cache-Control"] = "no-store"
    return Response(body, media_type=BATCH, headers=headers)


@router.get(
    "/feed/stream",
    summary="Public case events as a Server-Sent Events stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "One CloudEvent per SSE event, `id` = sequence.",
        }
    },
    **allow(*READERS, integrator_scope=Scope.FEED_READ),
)
async def stream(
    request: Request,
    actor: ActorDep,
    read_side: ReadSideDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="Resume after this sequence (reconnects)."),
    ] = None,
    after: Annotated[
        str | None,
        Query(description="Start after this sequence (0: from the beginning); default: now."),
    ] = None,
    type: TypeParameter = None,
    tenant: TenantParameter = None,
    service: str | None = None,
) -> StreamingResponse:
    """Every published event after the cursor, then live; heartbeats keep proxies open."""
    query = feed_filter(actor, tenant, type, service)
    broadcaster = broadcaster_for(request)
    reader = FeedQuery(read_side.views)
    open_sealed = personal_opener(read_side, actor)
    # Every parameter is judged here, before the response starts: once the stream has
    # answered 200 a failure can only cut it, and the client would reconnect for ever.
    if last_event_id is not None:
        start = sequence_parameter("Last-Event-ID", last_event_id.strip(), "header")
        await published(broadcaster, reader, "Last-Event-ID", start, "header")
    elif after is not None:
        start = sequence_parameter("after", after, "query")
        await published(broadcaster, reader, "after", start, "query")
    else:
        start = await broadcaster.read(reader.head)
    frames = sse_frames(
        broadcaster,
        reader,
        query,
        start,
        open_sealed,
        heartbeat=settings.feed_heartbeat_seconds,
        lasting=settings.feed_stream_seconds,
    )
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},  # may be personal
    )


async def sse_frames(
    broadcaster: FeedBroadcaster,
    reader: FeedQuery,
    query: FeedFilter,
    start: int,
    open_sealed: OpenSealed | None,
    *,
    heartbeat: float,
    lasting: float,
) -> AsyncIterator[str]:
    """Catch up from the view, then follow the broadcaster; each event once, in order.

    The stream ends after ``lasting`` seconds, or early when it fell too far behind; either
    way the client reconnects with ``Last-Event-ID`` and resumes exactly after it.
    """
    deadline = time.monotonic() + lasting
    subscription = await broadcaster.subscribe()  # before catching up: nothing falls between
    try:
        yield f"retry: {RECONNECT_MILLISECONDS}\n\n"
        sent = start
        while True:
            rows = await broadcaster.read(reader.rows, query, after=sent, limit=STREAM_PAGE)
            if rows:
                yield await frames_of(broadcaster, rows, open_sealed)
                sent = rows[-1].sequence
            if len(rows) < STREAM_PAGE:
                break
        while not subscription.cut_off or not subscription.queue.empty():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch = await asyncio.wait_for(subscription.queue.get(), min(heartbeat, remaining))
            except TimeoutError:
                if time.monotonic() < deadline:
                    yield ": heartbeat\n\n"
                continue
            rows = [r for r in batch if r.sequence > sent and query.matches(r)]
            if rows:
                yield await frames_of(broadcaster, rows, open_sealed)
                sent = rows[-1].sequence
    finally:
        broadcaster.unsubscribe(subscription)


async def frames_of(
    broadcaster: FeedBroadcaster, rows: list[FeedRow], open_sealed: OpenSealed | None
) -> str:
    """SSE events for rows: ``id`` is the sequence, ``data`` the CloudEvent on one line."""

    def render() -> str:
        return "".join(
            f"id: {sequence_text(row.sequence)}\n"
            f"data: {json.dumps(cloud_event(row, open_sealed), ensure_ascii=False)}\n\n"
            for row in rows
        )

    # opening personal data may read keys from the database: not on the event loop
    return await broadcaster.read(render) if open_sealed is not None else render()
