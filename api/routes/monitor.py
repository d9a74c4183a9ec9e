"""The Bürgermonitor: the waiting room's call display, a public page fed by Server-Sent Events.

The TV in the waiting room has no login, so these routes are public; they show ticket
numbers, counters and counts only — nothing about a person, ever. The page is rendered on
the server (Jinja2) and kept current by a few lines of plain JavaScript: an ``EventSource``
on ``/events`` that receives the whole board as ``event: board`` with the board's log
position as ``id``. The browser reconnects by itself after a network or server interruption
and sends ``Last-Event-ID``; the stream then sends the board at once if it changed since.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from jinja2 import Environment, FileSystemLoader

from api.access import public
from api.dependencies import FacadeDep, ReadSideDep, SettingsDep
from api.monitor_broadcaster import BoardKey, BoardSource, MonitorBroadcaster
from api.ports import ReadSide
from api.problems import NotFound
from api.provider import VorgangProvider
from domain.appointments.offices import Office, offices_of
from domain.tenants import TENANTS
from domain.working_days import BERLIN, berlin_date
from projections.call_board_query import Board, CallBoardQuery

router = APIRouter(prefix="/monitor", tags=["monitor"])
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=True,
)


def counter_label(counter: str) -> str:
    """``Schalter 3`` for a bare number; a counter's own name (``Schalter 1``) as it is."""
    return f"Schalter {counter}" if counter.isascii() and counter.isdigit() else counter


def call_time(at: str) -> str:
    """The time of a call as the waiting room reads it: ``09:42`` in Europe/Berlin."""
    return datetime.fromisoformat(at).astimezone(BERLIN).strftime("%H:%M")


TEMPLATES.globals |= {"counter_label": counter_label, "call_time": call_time}
RECONNECT_MILLISECONDS = 2000
POSITION = re.compile(r"[0-9]{1,20}")
QUEUE_LABELS = {"appointment": "Mit Termin", "walk_in": "Ohne Termin"}
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
PAGE_HEADERS = {"Cache-Control": "no-store"}


def town_offices(tenant: str) -> tuple[Office, ...]:
    """The town's citizens' offices; an unknown town is 404."""
    if tenant not in TENANTS:
        raise NotFound(f"no town {tenant!r}")
    return offices_of(tenant)


def office_of(tenant: str, office: str) -> Office:
    """The town's office with this id; an unknown town or office is 404."""
    for candidate in town_offices(tenant):
        if candidate.id == office:
            return candidate
    raise NotFound(f"{tenant} has no citizens' office {office!r}")


def broadcaster_for(request: Request) -> MonitorBroadcaster:
    """The process's one monitor broadcaster, made on first use in the server's loop."""
    state = request.app.state
    if getattr(state, "monitor_broadcaster", None) is None:
        provider: VorgangProvider = state.provider
        state.monitor_broadcaster = MonitorBroadcaster(
            lambda: board_source(provider.get().projections)
        )
    broadcaster: MonitorBroadcaster = state.monitor_broadcaster
    return broadcaster


def board_source(read_side: ReadSide) -> BoardSource:
    """What the broadcaster reads in this process: the view, and the runner's position."""
    query = CallBoardQuery(read_side.views)
    runner = read_side.runners["call_board"]

    def moved() -> int | None:
        return runner.known_position if read_side.running else None

    return BoardSource(
        changed_after=query.changed_after,
        board=lambda tenant, office, day: query.board(tenant, office, day),
        head=query.head,
        moved=moved,
    )


@router.get(
    "/{tenant}",
    summary="The town's call displays: one link per citizens' office",
    response_class=HTMLResponse,
    **public(),
)
def town_monitors(tenant: str) -> HTMLResponse:
    """An HTML list of the town's offices, each linking to its waiting-room display."""
    offices = town_offices(tenant)
    html = TEMPLATES.get_template("monitor/offices.html.j2").render(
        town=TENANTS[tenant].display_name, tenant=tenant, offices=offices
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get(
    "/{tenant}/{office}",
    summary="The call display of a citizens' office (full-screen HTML, live)",
    response_class=HTMLResponse,
    **public(),
)
def office_monitor(
    tenant: str,
    office: str,
    vorgang: FacadeDep,
    read_side: ReadSideDep,
    kiosk: Annotated[
        bool,
        Query(
            description="A kiosk browser started with --autoplay-policy=no-user-gesture-required:"
            " announce with sound from the start, without the “Ton einschalten” button."
        ),
    ] = False,
) -> HTMLResponse:
    """Today's calls (newest highlighted and announced), waiting counts and the time."""
    place = office_of(tenant, office)
    now = vorgang.cases.clock.now()
    today = berlin_date(now)
    board = CallBoardQuery(read_side.views).board(tenant, office, today.isoformat())
    html = TEMPLATES.get_template("monitor/board.html.j2").render(
        town=TENANTS[tenant].display_name,
        office=place,
        board=board,
        board_json=json.dumps(board.as_json(), ensure_ascii=False),
        queue_labels=QUEUE_LABELS,
        weekday=WEEKDAYS[today.weekday()],
        today=today,
        kiosk=kiosk,
        events_url=f"/monitor/{tenant}/{office}/events",
        reconnect=RECONNECT_MILLISECONDS,
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get(
    "/{tenant}/{office}/events",
    summary="The office's call board as Server-Sent Events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`event: board`, `id` = the board's position, `data` = the board.",
        }
    },
    **public(),
)
async def office_events(
    request: Request,
    tenant: str,
    office: str,
    vorgang: FacadeDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None,
        Header(alias="Last-Event-ID", description="The board position the screen shows."),
    ] = None,
    after: Annotated[
        str | None,
        Query(description="As Last-Event-ID, for a screen that opened a new EventSource."),
    ] = None,
) -> StreamingResponse:
    """The board now (unless the screen has it already), then each change; heartbeats."""
    office_of(tenant, office)
    day = berlin_date(vorgang.cases.clock.now()).isoformat()
    shown = screen_position(last_event_id if last_event_id is not None else after)
    frames = board_frames(
        broadcaster_for(request),
        (tenant, office, day),
        shown,
        heartbeat=settings.feed_heartbeat_seconds,
        lasting=settings.feed_stream_seconds,
    )
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def screen_position(value: str | None) -> int | None:
    """The position a reconnecting screen shows; anything unreadable counts as nothing shown.

    A screen is never refused (an error would stop its EventSource for good): the board is a
    whole snapshot, so a screen with an odd id simply receives the current board.
    """
    if value is None or not POSITION.fullmatch(value.strip()):
        return None
    return int(value.strip())


def board_frame(board: Board) -> str:
    """One SSE event: ``event: board``, ``id`` the position, the board as JSON on one line."""
    data = json.dumps(board.as_json(), ensure_ascii=False)
    return f"event: board\nid: {board.sequence}\ndata: {data}\n\n"


async def board_frames(
    broadcaster: MonitorBroadcaster,
    key: BoardKey,
    shown: int | None,
    *,
    heartbeat: float,
    lasting: float,
) -> AsyncIterator[str]:
    """The board if it differs from what the screen shows, then every change, in order.

    The stream ends after ``lasting`` seconds; the browser reconnects and resumes (a new
    day's board then comes with the new connection).
    """
    deadline = time.monotonic() + lasting
    screen = await broadcaster.subscribe(key)  # before reading: no change falls between
    try:
        yield f"retry: {RECONNECT_MILLISECONDS}\n\n"
        source = broadcaster.source()
        board = await broadcaster.read(source.board, *key)
        sent = board.sequence
        if board.sequence != shown:  # a board is a snapshot: any other position is stale
            yield board_frame(board)
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                board = await asyncio.wait_for(screen.queue.get(), min(heartbeat, remaining))
            except TimeoutError:
                if time.monotonic() < deadline:
                    yield ": heartbeat\n\n"
                continue
            if board.sequence > sent:
                yield board_frame(board)
                sent = board.sequence
    finally:
        broadcaster.unsubscribe(screen)
