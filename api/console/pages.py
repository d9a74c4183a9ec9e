"""The console's shell pages: the Posteingang (inbox) with filters, search and live updates.

The inbox reads the inbox view (``projections.inbox_query``) for the signed-in person's town
only; filters travel in the query string (status, service, due, whose) — never a name or a
search text. A search is a POST: its words stay out of URLs and access logs, and its hit list
is recorded in the access log of staff reads (decision 36) before it is shown.

Live updates: the page opens ``/console/events`` (Server-Sent Events, through htmx's SSE
extension). One reader per process watches the inbox view (``InboxWatch``) and tells each
open page when its town's inbox changed; htmx then fetches the rows again with the page's own
filters (``/console/inbox/rows``). The event carries no data, so nothing personal travels
through the stream, and a page only ever receives rows through the same checked read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from api.console.csrf import read_form
from api.console.holder_names import holder_name, names_in_the_trail
from api.console.session import ConsoleActor, ConsoleForbidden
from api.console.stats_charts import stats_charts
from api.console.templating import render
from api.console.watch import inbox_watch
from api.dependencies import FacadeDep, ReadSideDep, SettingsDep
from api.routes.read_models import opener
from api.routes.search import MAX_QUERY_WORDS, case_search, known_statuses
from application.access_log import CONSOLE_SEARCH
from application.facade import Facade
from domain.actor import Actor, Role
from domain.services.catalogue import SERVICES
from domain.working_days import berlin_date
from projections.inbox_query import InboxFilter, InboxQuery
from projections.search_query import SearchFilter, SearchQuery
from projections.search_terms import normalised_words
from projections.stats_query import StatsQuery

router = APIRouter()
INBOX_ROWS = 100
SEARCH_HITS = 50
SOON_WORKING_DAYS = 3  # "bald fällig": this many working days left or fewer
SOON_CALENDAR_DAYS = 7  # the "bald fällig" filter: due within a week
INBOX_READERS = frozenset({Role.CLERK, Role.SUPERVISOR, Role.AUDITOR})

STATUS_LABELS = {
    "submitted": "Eingegangen",
    "in_review": "In Bearbeitung",
    "information_requested": "Nachforderung",
    "pending_countersign": "Zur Mitzeichnung",
    "awaiting_payment": "Wartet auf Zahlung",
    "decided": "Entschieden",
    "notified": "Bekanntgegeben",
    "final": "Bestandskräftig",
    "closed": "Abgeschlossen",
    "withdrawn": "Zurückgenommen",
    "deemed_approved": "Als genehmigt geltend",
    "awaiting_finality": "Wartet auf Bestandskraft",
    "awaiting_notification": "Wartet auf Bekanntgabe",
    "waiting_list": "Warteliste",
    "suspended": "Ausgesetzt",
    "refused": "Abgelehnt",
    "granted": "Bewilligt",
}


def status_label(status: str | None) -> str:
    """A status as clerks read it (the technical name where no label exists yet)."""
    if not status:
        return ""
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def service_label(service: str) -> str:
    """A service's German name from the catalogue."""
    definition = SERVICES.get(service)
    return definition.label_de if definition else service


@dataclass(frozen=True)
class Due:
    """How a case's due date reads: a class for the colour and the words that say it."""

    key: Literal["overdue", "soon", "ok", "paused", "decided", "none"]
    text: str


def due_state(item: dict[str, Any]) -> Due:
    """Overdue, due soon or in time — always in words, the colour only repeats it."""
    left = item.get("working_days_left")
    if item.get("decided_on"):
        return Due("decided", "entschieden")
    if item.get("waiting_for_applicant") and item.get("due_on"):
        return Due("paused", "Frist ruht")
    if left is None:
        return Due("none", "keine Frist")
    if item.get("overdue") or left < 0:
        days = abs(int(left))
        return Due("overdue", f"überfällig seit {days} Arbeitstag{'en' if days != 1 else ''}")
    if left <= SOON_WORKING_DAYS:
        return Due("soon", f"bald fällig: noch {left} Arbeitstag{'e' if left != 1 else ''}")
    return Due("ok", f"im Plan: noch {left} Arbeitstage")


def readable_tenant(actor: Actor) -> str:
    """The town whose cases the person works on: the one they act for, else their own."""
    return actor.on_behalf_of or actor.tenant


def require(actor: Actor, roles: frozenset[Role]) -> Actor:
    """The person acting in one of ``roles``, or a 403 page."""
    if actor.roles.isdisjoint(roles):
        raise ConsoleForbidden("Diese Seite ist für Ihre Rolle nicht freigegeben.")
    return actor.acting_in(roles)


@dataclass(frozen=True)
class InboxFilters:
    """The inbox's filters as the page's query string gives them (nothing personal)."""

    status: str = ""
    service: str = ""
    due: Literal["", "overdue", "soon"] = ""
    whose: Literal["", "me", "unassigned"] = ""

    def query(self, actor: Actor, today: date) -> InboxFilter:
        """The inbox query for this person's town."""
        return InboxFilter(
            tenant=readable_tenant(actor),
            assignee=actor.id if self.whose == "me" else None,
            unassigned=self.whose == "unassigned",
            service=self.service or None,
            status=self.status or None,
            overdue=self.due == "overdue",
            due_before=today + timedelta(days=SOON_CALENDAR_DAYS) if self.due == "soon" else None,
        )

    def as_query_string(self) -> str:
        """The filters for the rows' refresh URL (values are fixed names, not free text)."""
        pairs = [(k, v) for k, v in vars(self).items() if v]
        return "&".join(f"{k}={v}" for k, v in pairs)


def inbox_filters(
    status: Annotated[str, Query(max_length=60)] = "",
    service: Annotated[str, Query(max_length=60)] = "",
    due: Literal["", "overdue", "soon"] = "",
    whose: Literal["", "me", "unassigned"] = "",
) -> InboxFilters:
    """Filters from the query string; an unknown status or service filters nothing out."""
    return InboxFilters(
        status=status if status in known_statuses() else "",
        service=service if service in SERVICES else "",
        due=due,
        whose=whose,
    )


def inbox_rows(
    read_side: Any, vorgang: Any, actor: Actor, filters: InboxFilters
) -> list[dict[str, Any]]:
    """The inbox rows the filters select, each with its due state (blocking)."""
    today = berlin_date(vorgang.cases.clock.now())
    items, _ = InboxQuery(read_side.views, opener(read_side)).page(
        filters.query(actor, today), today=today, limit=INBOX_ROWS, cursor=None
    )
    others = {str(i["assignee"]) for i in items if i.get("assignee") and i["assignee"] != actor.id}
    names = names_in_the_trail(read_side.views, opener(read_side), readable_tenant(actor), others)
    return [
        item
        | {
            "due": due_state(item),
            "holder": holder_name(item.get("assignee"), actor, (), names.get),
        }
        for item in items
    ]


def page_context(actor: Actor, filters: InboxFilters) -> dict[str, Any]:
    """What the inbox template needs besides the rows."""
    services = sorted(SERVICES.values(), key=lambda s: s.label_de)
    return {
        "actor": actor,
        "filters": filters,
        "services": services,
        "statuses": sorted(STATUS_LABELS.items(), key=lambda kv: kv[1]),
        # staff take an unassigned case from the list (the case page's claim command)
        "can_claim": not actor.roles.isdisjoint({Role.CLERK, Role.SUPERVISOR}),
        "status_label": status_label,
        "service_label": service_label,
        "rows_url": "/console/inbox/rows"
        + (f"?{filters.as_query_string()}" if filters.as_query_string() else ""),
    }


@router.get("/", response_class=HTMLResponse, name="console_inbox")
async def inbox_page(
    request: Request,
    actor: ConsoleActor,
    vorgang: FacadeDep,
    read_side: ReadSideDep,
    status: Annotated[str, Query(max_length=60)] = "",
    service: Annotated[str, Query(max_length=60)] = "",
    due: Literal["", "overdue", "soon"] = "",
    whose: Literal["", "me", "unassigned"] = "",
) -> Response:
    """The Posteingang: open cases of the person's town by due date, with filters.

    An admin (who reads no cases) lands on the statistics instead.
    """
    if actor.roles.isdisjoint(INBOX_READERS):
        return RedirectResponse("/console/statistics", status_code=303)
    actor = require(actor, INBOX_READERS)
    filters = inbox_filters(status, service, due, whose)
    rows = await anyio.to_thread.run_sync(inbox_rows, read_side, vorgang, actor, filters)
    return render(
        request,
        "console/inbox.html",
        rows=rows,
        search=None,
        **page_context(actor, filters),
    )


@router.get("/inbox/rows", response_class=HTMLResponse)
async def inbox_rows_fragment(
    request: Request,
    actor: ConsoleActor,
    vorgang: FacadeDep,
    read_side: ReadSideDep,
    status: Annotated[str, Query(max_length=60)] = "",
    service: Annotated[str, Query(max_length=60)] = "",
    due: Literal["", "overdue", "soon"] = "",
    whose: Literal["", "me", "unassigned"] = "",
) -> HTMLResponse:
    """The inbox's table rows alone: what a live update swaps in."""
    actor = require(actor, INBOX_READERS)
    filters = inbox_filters(status, service, due, whose)
    rows = await anyio.to_thread.run_sync(inbox_rows, read_side, vorgang, actor, filters)
    return render(request, "console/inbox_rows.html", rows=rows, **page_context(actor, filters))


def record_search_hits(
    vorgang: Facade, actor: Actor, text: str, hits: list[dict[str, Any]]
) -> None:
    """The access log of staff reads (decision 36) records the hit list before it is shown.

    The words go to the access log sealed as personal data (they may name a person); never
    into a URL or a log line. ``AccessLogUnavailable``: the list is not shown (503 page).
    """
    vorgang.access_log.record_read(
        actor,
        route="/console/search",
        what=CONSOLE_SEARCH,
        query={"q": text},
        hits=[UUID(str(hit["case_id"])) for hit in hits],
    )


@router.post("/search", response_class=HTMLResponse)
async def search(
    request: Request,
    actor: ConsoleActor,
    vorgang: FacadeDep,
    read_side: ReadSideDep,
) -> HTMLResponse:
    """Search the town's cases; the words come in the POST body, never in a URL or a log."""
    actor = require(actor, INBOX_READERS)
    form = await read_form(request)
    text = str(form.get("q", ""))[:200].strip()
    error = None
    hits: list[dict[str, Any]] = []
    if not normalised_words(text):
        error = "Bitte geben Sie mindestens ein Suchwort ein."
    elif len(normalised_words(text)) > MAX_QUERY_WORDS:
        error = f"Bitte höchstens {MAX_QUERY_WORDS} Suchwörter eingeben."
    else:
        query = SearchFilter(tenant=readable_tenant(actor), text=text)
        reader = SearchQuery(read_side.views, case_search(read_side).terms, opener(read_side))

        def read() -> list[dict[str, Any]]:
            found, _ = reader.page(query, limit=SEARCH_HITS, cursor=None)
            record_search_hits(vorgang, actor, text, found)
            return found

        hits = await anyio.to_thread.run_sync(read)
    filters = InboxFilters()
    search = {"text": text, "hits": hits, "error": error}
    context = page_context(actor, filters) | {"search": search}
    if request.headers.get("HX-Request") == "true":
        return render(request, "console/search_results.html", **context)
    rows = await anyio.to_thread.run_sync(inbox_rows, read_side, vorgang, actor, filters)
    return render(request, "console/inbox.html", rows=rows, **context)


@router.get("/events")
async def events(request: Request, actor: ConsoleActor, settings: SettingsDep) -> StreamingResponse:
    """``event: inbox`` whenever the person's town's inbox changed; heartbeats between."""
    actor = require(actor, INBOX_READERS)
    watch = inbox_watch(request)
    frames = inbox_frames(
        watch,
        readable_tenant(actor),
        heartbeat=settings.feed_heartbeat_seconds,
        lasting=settings.feed_stream_seconds,
    )
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def inbox_frames(
    watch: Any, tenant: str, *, heartbeat: float, lasting: float
) -> AsyncIterator[str]:
    """Signals that the town's inbox changed; the stream ends after ``lasting`` seconds."""
    deadline = time.monotonic() + lasting
    listener = await watch.subscribe(tenant)
    try:
        yield "retry: 2000\n\n"
        yield "event: ready\ndata: 1\n\n"
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                position = await asyncio.wait_for(listener.get(), min(heartbeat, remaining))
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            yield f"event: inbox\ndata: {position}\n\n"
    finally:
        watch.unsubscribe(tenant, listener)


@router.get("/statistics", response_class=HTMLResponse)
async def statistics(
    request: Request, actor: ConsoleActor, vorgang: FacadeDep, read_side: ReadSideDep
) -> HTMLResponse:
    """Cases received and decided per week, processing times per service — as SVG."""
    actor = require(actor, frozenset({Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN}))
    today = berlin_date(vorgang.cases.clock.now())
    summaries = await anyio.to_thread.run_sync(
        lambda: StatsQuery(read_side.views).for_tenant(readable_tenant(actor), today=today)
    )
    return render(
        request,
        "console/statistics.html",
        charts=stats_charts(summaries, today, service_label),
        summaries=summaries,
        service_label=service_label,
    )
