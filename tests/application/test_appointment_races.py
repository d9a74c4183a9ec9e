"""No slot is ever given twice: N citizens booking M < N slots at once, on SQLite and PostgreSQL.

Every thread loads the office day and decides before any of them saves (a barrier on each
thread's first save), so all but one lose the race on the day's version; each loser decides
again from a fresh load and either finds its slot taken or books another one it was after.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest

from application.appointments import AppointmentService, online_booking
from application.cases import CaseService
from application.store import VorgangStore
from domain.appointments.office_day import SlotTaken

DAY = date(2026, 3, 4)  # the clock stands at Monday 2 March 2026
THREADS = 8
SLOTS = 3


@pytest.fixture
def appointments(cases: CaseService) -> AppointmentService:
    # Threads of one process queue on an office day; here they play separate processes, so
    # only the day's version keeps them apart.
    return AppointmentService(cases.store, cases.clock, cases.identities, queue_in_process=False)


@pytest.fixture
def collide(store: VorgangStore, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Make the first save of each thread wait until every thread got there."""
    original = store.save
    state: dict[str, Any] = {"barrier": threading.Barrier(THREADS), "saves": 0}
    local = threading.local()
    lock = threading.Lock()

    def save(*aggregates: Any, **kwargs: Any) -> Any:
        with lock:
            state["saves"] += 1
        if not getattr(local, "waited", False):
            local.waited = True
            state["barrier"].wait(timeout=60)  # everyone decided before anyone saves
        return original(*aggregates, **kwargs)

    monkeypatch.setattr(store, "save", save)
    return state


def in_threads(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.exception() or f.result() for f in futures]


def test_n_citizens_booking_m_slots_at_once_get_every_slot_once(
    appointments: AppointmentService, collide: dict[str, Any]
) -> None:
    day = appointments.day("usingen", "buergerbuero", DAY)
    slots = [s.id for s in day.free_slots("reisepass", appointments.clock.now())][:SLOTS]
    citizen = online_booking("usingen")

    def book(i: int) -> Any:
        held = appointments.hold(
            "usingen", "buergerbuero", DAY, slots[i % SLOTS], actor=citizen, online=True
        )
        return appointments.confirm(
            "usingen",
            "buergerbuero",
            DAY,
            held.hold,
            {"name": f"Person {i}", "email": f"person{i}@example.org"},
            actor=citizen,
        )

    outcomes = in_threads(*(lambda i=i: book(i) for i in range(THREADS)))

    booked = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert sorted(b.slot for b in booked) == sorted(slots)  # every slot once
    assert len(refused) == THREADS - SLOTS
    assert all(isinstance(r, SlotTaken) for r in refused), refused
    assert collide["saves"] > THREADS  # the races were real: losers saved again
    stored = appointments.day("usingen", "buergerbuero", DAY)
    assert sorted(stored.booked) == sorted(slots)
    assert {stored.booked[b.slot] for b in booked} == {b.code for b in booked}
