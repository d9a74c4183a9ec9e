"""Any sequence of commands on a market keeps its pitches given once, by rank and fit.

A hypothesis state machine publishes a market (one to five pitches of any frontage,
utilities and categories, any newcomer share), records applications (some too long for any
pitch, some late, some twice), withdraws some, selects (before and after the deadline,
twice, with score sheets missing a score), gives pitches up, and accepts, declines and lets
offers run out, while time moves on to the market and past it. After every step: no pitch is
given twice and none is assigned and on offer at once; a case holds at most one pitch and has
at most one offer; every stall fits its pitch; each offer went to the best-ranked case the
pitch fits that a model of the market says may still be offered one; the selection replays
to the same result from its record; no fee of a pitch held is negative; a refused command
changed nothing and left no pending event; and the market rebuilt from its events equals it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.actor import Actor, Role
from domain.errors import DomainError
from domain.markets.market import CriteriaSet, Criterion, Market, Pitch
from domain.rules.market_fees import pitch_fee, tariff_by_version
from domain.rules.market_selection import replay

TOWN = "usingen"
CLERK = Actor("mara.markt", "Mara Marktmeisterin", Role.CLERK, TOWN)
TRADER = Actor("haendler-1", "Hans Händler", Role.APPLICANT, TOWN)
SYSTEM = Actor("system", "Vorgang", Role.SYSTEM, TOWN)
OPENS = datetime(2026, 8, 10, 8, tzinfo=UTC)
DEADLINE = datetime(2026, 9, 30, 22, tzinfo=UTC)
FIRST_DAY = date(2026, 11, 27)
SEEDS = st.text("0123456789abcdef", min_size=32, max_size=64)
CRITERIA = CriteriaSet(
    "2026-1",
    (
        Criterion("look", "Attraktivität", Decimal(40), "scored", 10),
        Criterion("known", "Bekannt und bewährt", Decimal(40), "attendance", 5),
        Criterion("newcomer", "Neubewerber", Decimal(20), "newcomer", 1),
    ),
)
PITCHES = st.lists(
    st.tuples(
        st.sampled_from(["2", "3", "4", "6"]),
        st.booleans(),
        st.booleans(),
        st.sampled_from([("crafts",), ("food",), ("crafts", "food")]),
    ),
    min_size=1,
    max_size=5,
)
STALLS = st.tuples(
    st.sampled_from(["crafts", "food"]),
    st.sampled_from(["2", "3", "4", "6", "9"]),
    st.booleans(),
    st.booleans(),
    st.integers(0, 3),
)


def rebuilt(events: list[Any]) -> Any:
    aggregate = None
    for stored in events:
        aggregate = stored.mutate(aggregate)
    return aggregate


class MarketMachine(RuleBasedStateMachine):
    """Usingen's Christmas market of 2026 and any commands on it."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []
        self.cases: list[UUID] = []
        self.now = OPENS
        self.number = 0
        self.passed: set[UUID] = set()  # the model: gave up, declined, ran out, withdrew late
        self.withdrawn_early: set[UUID] = set()  # withdrawn before the selection: no inputs

    @initialize(
        layout=PITCHES,
        share=st.sampled_from(["0", "0.2", "0.5"]),
        stalls=st.lists(STALLS, max_size=10),
    )
    def publish(
        self,
        layout: list[tuple[str, bool, bool, tuple[str, ...]]],
        share: str,
        stalls: list[tuple[str, str, bool, bool, int]],
    ) -> None:
        pitches = [
            Pitch(str(n), Decimal(frontage), power, tap, categories)
            for n, (frontage, power, tap, categories) in enumerate(layout, start=1)
        ]
        held = {c for p in pitches for c in p.categories}
        self.market = Market.publish(
            tenant=TOWN,
            year=2026,
            code="WM-26",
            name="Usinger Weihnachtsmarkt",
            kind="christmas_market",
            regime="festgesetzt",
            days=[FIRST_DAY, FIRST_DAY + timedelta(days=1)],
            site="Marktplatz",
            pitches=pitches,
            categories=sorted(held),
            criteria=CRITERIA,
            newcomer_share=Decimal(share),
            applications_from=OPENS,
            deadline=DEADLINE,
            decisions_by=date(2026, 10, 23),
            offer_days=5,
            staff=["mara.markt"],
            actor=CLERK,
            at=OPENS - timedelta(days=7),
        )
        self._collect()
        for stall in stalls:
            self.apply(*stall, again=False)

    def _collect(self) -> None:
        self.events.extend(self.market.collect_events())

    def _state(self) -> Any:
        m = self.market
        return (
            m.version,
            dict(m.assigned),
            dict(m.open_offers),
            dict(m.applications),
            m.withdrawn,
            m.selection_record,
        )

    def _refused_changes_nothing(self, command: Any) -> tuple[bool, Any]:
        before = self._state()
        try:
            result = command()
        except DomainError:
            assert not self.market.pending_events
            assert self._state() == before
            return False, None
        self._collect()
        return True, result

    def _pick(self, pick: int, among: Any = None) -> UUID | None:
        """A case: one of ``among`` (those the command is for) when there are, else any."""
        chosen = sorted(among or (), key=str) or self.cases
        return chosen[pick % len(chosen)] if chosen else None

    def _offered(self) -> list[UUID]:
        return [offer.case_id for offer in self.market.open_offers.values()]

    def _expected_next(self, number: str) -> UUID | None:
        """The model's next in rank for a pitch freed and offered now (computed apart from the
        market's: the offers of other pitches, the model's cases passed over, rank, fit)."""
        m = self.market
        if m.selection_record is None or self.now >= m.market_begins_at:
            return None
        pitch = m.pitch(number)
        offered = {o.case_id for o in m.open_offers.values() if o.pitch != number}
        for result in m.selection_record["results"]:
            case_id = UUID(result["case_id"])
            if case_id in self.passed or case_id in offered or m.pitch_of(case_id) is not None:
                continue
            if pitch.fits(m.applications[case_id]):
                return case_id
        return None

    def _check_offer(self, number: str, offered: UUID | None, expected: UUID | None) -> None:
        event("a freed pitch was offered" if offered else "a freed pitch stayed free")
        assert offered == expected
        if offered is not None:
            offer = self.market.offer_of(offered)
            assert offer is not None
            assert offer.pitch == number
            assert offer.until <= self.market.market_begins_at

    # -------------------------------------------------------------- rules

    @rule(stall=STALLS, again=st.booleans())
    def apply_now(self, stall: tuple[str, str, bool, bool, int], again: bool) -> None:
        self.apply(*stall, again=again)

    def apply(
        self, category: str, frontage: str, power: bool, tap: bool, years: int, again: bool
    ) -> None:
        self.number += 1
        case_id = UUID(int=self.number)  # ids as a run replays them: the lots depend on them
        if again and self.cases:
            case_id = self.cases[-1]
        done, _ = self._refused_changes_nothing(
            lambda: self.market.record_application(
                case_id=case_id,
                category=category,
                frontage_m=Decimal(frontage),
                electricity=power,
                water=tap,
                years=years,
                actor=TRADER,
                at=self.now,
            )
        )
        if done:
            self.cases.append(case_id)

    @rule(pick=st.integers(0, 50))
    def withdraw(self, pick: int) -> None:
        case_id = self._pick(pick)
        if case_id is None:
            return
        done, _ = self._refused_changes_nothing(
            lambda: self.market.withdraw_application(
                case_id=case_id, actor=TRADER, at=self.now, reason="anderer Markt"
            )
        )
        if done:
            self.passed.add(case_id)
            if self.market.selected_at is None:
                self.withdrawn_early.add(case_id)

    @rule(seed=SEEDS, looks=st.lists(st.integers(0, 10), max_size=20), complete=st.booleans())
    def select(self, seed: str, looks: list[int], complete: bool) -> None:
        sheets = {
            case_id: {"look": looks[n % len(looks)] if looks else 5}
            for n, case_id in enumerate(self.market.applications)
            if complete or n % 3
        }
        done, record = self._refused_changes_nothing(
            lambda: self.market.select(seed=seed, sheets=sheets, actor=CLERK, at=self.now)
        )
        if done:
            assert record == self.market.selection_record

    @rule(pick=st.integers(0, 50), anyone=st.booleans())
    def give_up(self, pick: int, anyone: bool) -> None:
        case_id = self._pick(pick, None if anyone else self.market.assigned.values())
        if case_id is None:
            return
        number = self.market.pitch_of(case_id)
        done, offered = self._refused_changes_nothing(
            lambda: self.market.give_up_pitch(
                case_id=case_id, actor=TRADER, at=self.now, reason="krank"
            )
        )
        if done:
            assert number is not None
            self.passed.add(case_id)
            self._check_offer(number, offered, self._expected_next(number))

    @rule(pick=st.integers(0, 50), anyone=st.booleans())
    def accept(self, pick: int, anyone: bool) -> None:
        case_id = self._pick(pick, None if anyone else self._offered())
        if case_id is None:
            return
        offer = self.market.offer_of(case_id)
        done, number = self._refused_changes_nothing(
            lambda: self.market.accept_offer(case_id=case_id, actor=TRADER, at=self.now)
        )
        if done:
            assert offer is not None
            assert self.now <= offer.until
            assert number == offer.pitch == self.market.pitch_of(case_id)
            event("an offer was accepted")

    @rule(pick=st.integers(0, 50), anyone=st.booleans())
    def decline(self, pick: int, anyone: bool) -> None:
        case_id = self._pick(pick, None if anyone else self._offered())
        if case_id is None:
            return
        offer = self.market.offer_of(case_id)
        done, offered = self._refused_changes_nothing(
            lambda: self.market.decline_offer(
                case_id=case_id, actor=TRADER, at=self.now, reason="zu teuer"
            )
        )
        if done:
            assert offer is not None
            self.passed.add(case_id)
            self._check_offer(offer.pitch, offered, self._expected_next(offer.pitch))

    @rule(pick=st.integers(0, 50), anyone=st.booleans())
    def expire(self, pick: int, anyone: bool) -> None:
        case_id = self._pick(pick, None if anyone else self._offered())
        if case_id is None:
            return
        offer = self.market.offer_of(case_id)
        done, offered = self._refused_changes_nothing(
            lambda: self.market.expire_offer(case_id=case_id, actor=SYSTEM, at=self.now)
        )
        if done:
            assert offer is not None
            assert self.now > offer.until
            event("an offer ran out")
            self.passed.add(case_id)
            self._check_offer(offer.pitch, offered, self._expected_next(offer.pitch))

    @rule(pick=st.integers(0, 50))
    def assign_on_remedy(self, pick: int) -> None:
        """An objection granted: the case gets the free pitch that fits best, never one
        assigned or on offer (refused: nothing changes)."""
        case_id = self._pick(pick)
        if case_id is None:
            return
        free_before = set(self.market.free_pitches)
        holds = self.market.pitch_of(case_id) is not None or self.market.offer_of(case_id)
        done, number = self._refused_changes_nothing(
            lambda: self.market.assign_on_remedy(case_id=case_id, actor=CLERK, at=self.now)
        )
        if done:
            assert not holds
            assert self.market.selected_at is not None
            assert number in free_before
            assert self.market.pitch_of(case_id) == number
            assert self.market.pitch(number).fits(self.market.applications[case_id])
            event("a pitch given on a remedy")
        elif self.market.selected_at is not None and not holds:
            stall = self.market.applications.get(case_id)
            if stall is None:  # never recorded: nothing to give
                return
            fitting = [n for n in free_before if self.market.pitch(n).fits(stall)]
            withdrawn = case_id in self.market.withdrawn
            late = self.now >= self.market.market_begins_at
            assert withdrawn or late or not fitting

    @rule(days=st.integers(1, 30))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule(seed=SEEDS, looks=st.lists(st.integers(0, 10), max_size=20))
    def select_after_the_deadline(self, seed: str, looks: list[int]) -> None:
        self.now = max(self.now, DEADLINE + timedelta(days=1))
        self.select(seed, looks, complete=True)

    # -------------------------------------------------------------- invariants

    @invariant()
    def no_pitch_is_given_twice(self) -> None:
        m = self.market
        holders = list(m.assigned.values())
        assert len(holders) == len(set(holders))
        numbers = {p.number for p in m.pitches}
        assert set(m.assigned) <= numbers
        assert not set(m.assigned) & set(m.open_offers)
        assert set(m.free_pitches) == numbers - set(m.assigned) - set(m.open_offers)

    @invariant()
    def a_case_holds_one_pitch_or_one_offer_at_most(self) -> None:
        m = self.market
        for number, case_id in m.assigned.items():
            assert m.pitch_of(case_id) == number
            assert m.offer_of(case_id) is None
        offered = [o.case_id for o in m.open_offers.values()]
        assert len(offered) == len(set(offered))
        for case_id in self.cases:
            held = m.pitch_of(case_id)
            assert held is None or m.assigned[held] == case_id

    @invariant()
    def every_stall_fits_its_pitch(self) -> None:
        m = self.market
        for number, case_id in m.assigned.items():
            assert m.pitch(number).fits(m.applications[case_id])
        for number, offer in m.open_offers.items():
            assert m.pitch(number).fits(m.applications[offer.case_id])

    @invariant()
    def the_selection_replays(self) -> None:
        record = self.market.selection_record
        if record is not None:
            assert replay(record).verdict == "same"
            inputs = {UUID(a["case_id"]) for a in record["applications"]}
            assert inputs == set(self.market.applications) - self.withdrawn_early

    @invariant()
    def no_amount_is_negative(self) -> None:
        m = self.market
        tariff = tariff_by_version(m.tenant, m.tariff_version)
        for case_id in m.assigned.values():
            stall = m.applications[case_id]
            fee = pitch_fee(tariff, stall.frontage_m, stall.electricity, stall.water, kind=m.kind)
            assert all(line.amount > 0 for line in fee.lines)

    @invariant()
    def rebuilt_from_its_events_it_is_the_same(self) -> None:
        again = rebuilt(self.events)
        assert again.version == self.market.version
        assert again.assigned == self.market.assigned
        assert again.open_offers == self.market.open_offers
        assert again.applications == self.market.applications
        assert again.withdrawn == self.market.withdrawn
        assert again.selection_record == self.market.selection_record
        for case_id in self.cases:
            assert again.rank_of(case_id) == self.market.rank_of(case_id)


MarketMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_market_machine = MarketMachine.TestCase
