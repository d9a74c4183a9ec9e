"""No pitch is ever given twice, and no application slips past the selection, under concurrency.

On PostgreSQL (under ``CI=true`` these fail rather than skip when it is not reachable), with
the fully wired application. A barrier holds every thread's first save until all of them have
loaded the market and decided; then the saves race on the market's version (or, where a test
says which save goes first, the others wait until it was tried), and every loser is decided
again from a fresh load. Nothing waits for a time window: the threads are joined and the
market and the cases judged as they stand, and every stored version of the market is folded
again to check that no pitch was ever held by two traders, nor a trader ever held two.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

import application.cases
from application.clock import FixedClock
from application.views import SubmissionResult
from domain.errors import InvalidCommand
from domain.markets.market import Market
from domain.services.market_stall import SERVICE_ID
from infrastructure.wiring import Vorgang
from tests.application.test_holiday_races import in_threads
from tests.application.test_market_service import publish, score, stall, stall_form, trader
from tests.conftest import CLERK, SUPERVISOR
from tests.steps import take

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("target", ["postgresql"], indirect=True),
]

LATE = 4  # traders whose applications, decided before the deadline, are saved with the selection


@pytest.fixture(autouse=True)
def as_separate_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The threads race as separate processes would: a process may decide submissions that
    meet at one market in turn, but no such lock holds across a deployment's processes."""
    monkeypatch.setattr(application.cases, "_in_turn", lambda *_args: nullcontext())


class Saves:
    """Every thread's first save held until all parties decided; optionally one goes first."""

    def __init__(self) -> None:
        self.barrier: threading.Barrier | None = None
        self.first_tried = threading.Event()
        self.lost: list[str] = []
        self.local = threading.local()
        self.lock = threading.Lock()

    def arm(self, parties: int, *, ordered: bool = False) -> None:
        self.barrier = threading.Barrier(parties)
        if not ordered:
            self.first_tried.set()

    def goes_first(self) -> None:
        """The calling thread's first save is tried before any other thread's."""
        self.local.first = True


@pytest.fixture
def saves(vorgang: Vorgang, monkeypatch: pytest.MonkeyPatch) -> Saves:
    held = Saves()
    original = vorgang.store.save

    def save(*aggregates: Any, **kwargs: Any) -> Any:
        first = getattr(held.local, "first", False)
        if held.barrier is not None and not getattr(held.local, "waited", False):
            held.local.waited = True
            held.barrier.wait(timeout=120)  # everyone loaded and decided before anyone saves
            if not first:
                held.first_tried.wait(timeout=120)
        try:
            return original(*aggregates, **kwargs)
        except IntegrityError:
            with held.lock:
                held.lost.append(getattr(held.local, "name", "?"))
            raise
        finally:
            if first:
                held.first_tried.set()

    monkeypatch.setattr(vorgang.store, "save", save)
    return held


@pytest.fixture
def moment_of_thread(
    clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Callable[[datetime], None]:
    """Let a thread's clock read a moment of its own (a submission decided a second before
    the deadline, saved while the selection after it runs); other threads read the clock."""
    local = threading.local()
    original = clock.now
    monkeypatch.setattr(clock, "now", lambda: getattr(local, "at", None) or original())

    def at(moment: datetime) -> None:
        local.at = moment

    return at


def market_now(vorgang: Vorgang, market: UUID) -> Market:
    found: Market = vorgang.store.repository.get(market)
    return found


def every_version(vorgang: Vorgang, market: UUID) -> Iterator[Market]:
    """The market at each of its stored versions."""
    for version in range(1, market_now(vorgang, market).version + 1):
        yield vorgang.store.repository.get(market, version=version)


def check_never_twice(vorgang: Vorgang, market: UUID) -> None:
    """At every stored version: each pitch held by one trader at most, each trader holding
    one pitch at most, nobody offered a pitch while holding one, no pitch both held and
    offered."""
    for found in every_version(vorgang, market):
        holders = list(found.assigned.values())
        assert len(holders) == len(set(holders)), found.version
        offers = found.open_offers
        assert not set(offers) & set(found.assigned), found.version
        offered = [offer.case_id for offer in offers.values()]
        assert len(offered) == len(set(offered)), found.version
        assert not set(offered) & set(holders), found.version


def selected_market(
    vorgang: Vorgang, clock: FixedClock, pitches: int, points: list[int]
) -> tuple[UUID, list[UUID]]:
    """A Kerb of crafts pitches, one application per score (in that order), selected."""
    market = publish(vorgang, clock, pitches=pitches).id
    cases = [
        vorgang.cases.submit(
            actor=trader(f"t{n}"),
            tenant="usingen",
            service=SERVICE_ID,
            applicant={"name": f"t{n} Händler"},
            data=stall_form(market, f"t{n}"),
        ).case_id
        for n in range(len(points))
    ]
    clock.advance(timedelta(days=11))
    for case, points_given in zip(cases, points, strict=True):
        score(vorgang, case, points_given)
    vorgang.markets.select(CLERK, market)
    return market, cases


def test_give_ups_and_acceptances_at_once_never_give_a_pitch_twice(
    vorgang: Vorgang, clock: FixedClock, saves: Saves
) -> None:
    market, cases = selected_market(vorgang, clock, 3, [10, 9, 8, 7, 6, 5, 4, 3])
    holders, waiting = cases[:3], cases[3:]  # distinct totals: the rank is the order
    assert sorted(market_now(vorgang, market).assigned.values()) == sorted(holders)

    # Every holder gives up at once: each pitch freed goes to the next in rank not yet
    # offered one, though every give-up decided on the same market.
    saves.arm(3)
    give_up = "give_up_pitch"
    results = in_threads(
        partial(take, vorgang.commands, case, give_up, trader(f"t{cases.index(case)}"), reason="r")
        for case in holders
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(saves.lost) >= 2  # they collided on the market, and were decided again
    offers = market_now(vorgang, market).open_offers
    assert sorted(offer.case_id for offer in offers.values()) == sorted(waiting[:3])
    assert market_now(vorgang, market).assigned == {}

    # The three offered answer at once: two accept, one declines (its pitch passes on).
    saves.lost.clear()
    saves.arm(3)
    accepting, declining = waiting[:2], waiting[2]

    def answer(case: UUID) -> Any:
        who = trader(f"t{cases.index(case)}")
        if case == declining:
            return take(vorgang.commands, case, "decline_pitch_offer", who, reason="zu spät")
        return take(vorgang.commands, case, "accept_pitch_offer", who)

    results = in_threads(partial(answer, case) for case in waiting[:3])
    assert [r for r in results if isinstance(r, Exception)] == []
    final = market_now(vorgang, market)
    assert sorted(final.assigned.values()) == sorted(accepting)
    assert [offer.case_id for offer in final.open_offers.values()] == [waiting[3]]
    for case in accepting:  # the market and the cases agree
        assert stall(vorgang, case).pitch == final.pitch_of(case)
    for case in holders:
        assert stall(vorgang, case).pitch is None
    check_never_twice(vorgang, market)


def test_an_acceptance_racing_a_revocation_of_the_same_pitch_gives_it_once(
    vorgang: Vorgang, clock: FixedClock, saves: Saves
) -> None:
    market, cases = selected_market(vorgang, clock, 2, [10, 9, 8, 7])
    take(vorgang.commands, cases[0], "give_up_pitch", trader("t0"), reason="krank")
    offered = market_now(vorgang, market).offer_of(cases[2])
    assert offered is not None

    # The offered trader accepts while the town revokes the other holder's pitch: both
    # decided on one market; the second save decides again and offers the next in rank.
    saves.arm(2)
    results = in_threads(
        [
            lambda: take(vorgang.commands, cases[2], "accept_pitch_offer", trader("t2")),
            lambda: take(
                vorgang.commands,
                cases[1],
                "revoke_pitch",
                SUPERVISOR,
                ground="requirement_not_met",
                reason="Auflage nicht erfüllt",
                facts_known_since=clock.now().date().isoformat(),
                discretion="Kein milderes Mittel",
                immediate_enforcement="Der Markt naht",
                hearing_not_needed_because="Gefahr im Verzug",
            ),
        ]
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    final = market_now(vorgang, market)
    assert list(final.assigned.values()) == [cases[2]]
    assert [offer.case_id for offer in final.open_offers.values()] == [cases[3]]
    check_never_twice(vorgang, market)


def late_submissions(
    vorgang: Vorgang, market: UUID, at: Callable[[datetime], None], moment: datetime
) -> list[Callable[[], Any]]:
    """Traders' applications decided a second before the deadline (to run in threads)."""

    def submit(number: int) -> Any:
        at(moment)
        return vorgang.cases.submit(
            actor=trader(f"late{number}"),
            tenant="usingen",
            service=SERVICE_ID,
            applicant={"name": f"late{number} Händler"},
            data=stall_form(market, f"late{number}"),
        )

    return [partial(submit, number) for number in range(LATE)]


def scored_market(vorgang: Vorgang, clock: FixedClock) -> tuple[Market, list[UUID]]:
    """A Kerb with three applications, the deadline passed an hour ago, each scored."""
    market = publish(vorgang, clock, pitches=2)
    early = [
        vorgang.cases.submit(
            actor=trader(f"t{n}"),
            tenant="usingen",
            service=SERVICE_ID,
            applicant={"name": f"t{n} Händler"},
            data=stall_form(market.id, f"t{n}"),
        ).case_id
        for n in range(3)
    ]
    clock.set(market.deadline + timedelta(hours=1))
    for case, points in zip(early, (9, 6, 3), strict=True):
        score(vorgang, case, points)
    return market, early


def test_the_selection_saved_first_refuses_every_late_application_naming_the_market(
    vorgang: Vorgang,
    clock: FixedClock,
    saves: Saves,
    moment_of_thread: Callable[[datetime], None],
) -> None:
    market, early = scored_market(vorgang, clock)
    before_deadline = market.deadline - timedelta(seconds=1)

    def select() -> Market:
        saves.goes_first()
        return vorgang.markets.select(SUPERVISOR, market.id)

    saves.arm(LATE + 1, ordered=True)
    *submitted, selected = in_threads(
        [*late_submissions(vorgang, market.id, moment_of_thread, before_deadline), select]
    )
    assert isinstance(selected, Market), selected
    assert all(isinstance(r, InvalidCommand) for r in submitted), submitted
    assert {r.field for r in submitted} == {"data.market"}
    assert len(saves.lost) >= LATE  # each late one decided on the open market, lost, refused
    final = market_now(vorgang, market.id)
    assert set(final.applications) == set(early)  # nothing recorded after the selection
    record = final.selection_record
    assert record is not None
    assert {UUID(a["case_id"]) for a in record["applications"]} == set(early)
    check_never_twice(vorgang, market.id)


def test_a_late_application_saved_first_is_in_the_selection_or_stops_it(
    vorgang: Vorgang,
    clock: FixedClock,
    saves: Saves,
    moment_of_thread: Callable[[datetime], None],
) -> None:
    market, early = scored_market(vorgang, clock)
    before_deadline = market.deadline - timedelta(seconds=1)
    late = late_submissions(vorgang, market.id, moment_of_thread, before_deadline)

    def first_late() -> Any:
        saves.goes_first()
        return late[0]()

    saves.arm(LATE + 1, ordered=True)
    *submitted, selection = in_threads(
        [first_late, *late[1:], lambda: vorgang.markets.select(SUPERVISOR, market.id)]
    )
    # The selection had decided on a market without the late application: its save failed,
    # and decided again it finds an application without a score sheet and stops there,
    # rather than select without it (or with what it had read before).
    assert isinstance(selection, InvalidCommand), selection
    accepted = [r.case_id for r in submitted if isinstance(r, SubmissionResult)]
    assert accepted[:1] == [submitted[0].case_id]  # the one saved first is recorded
    assert any(str(case) in str(selection) for case in accepted)  # named: it lacks a sheet
    refused = [r for r in submitted if isinstance(r, InvalidCommand)]
    assert len(accepted) + len(refused) == LATE, submitted  # nothing else
    final = market_now(vorgang, market.id)
    assert final.selected_at is None
    assert set(final.applications) == {*early, *accepted}  # none lost

    # Scored, the late applications are selected with the rest.
    saves.barrier = None
    for case in accepted:
        score(vorgang, case, 1)
    record = vorgang.markets.select(SUPERVISOR, market.id).selection_record
    assert record is not None
    assert {UUID(a["case_id"]) for a in record["applications"]} == {*early, *accepted}
    check_never_twice(vorgang, market.id)
