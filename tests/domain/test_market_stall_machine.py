"""Any sequence of applications, scores, selection, give-ups and offers keeps the stall cases
and their market agreed.

A hypothesis state machine publishes Usingen's Christmas market (one to four pitches of a
pool, any newcomer share, offers open one to three days) and lets traders apply as the
submission's save does (``apply_at_submission``): stalls of any category, frontage and
utilities, some no pitch fits, some before the window opens or after the deadline. Staff score
applications (sometimes before the deadline, sometimes beyond the maximum), traders withdraw
before the selection, the selection runs (sometimes before the deadline, with a sheet missing,
twice) and every case decides as the application does; admitted traders give pitches up (or
the town revokes them), offers are accepted, declined or run out (the scheduler's lapse),
decisions are notified, and the clock moves on to the market. Every command's outcome is
predicted by a model first (accepted, or refused), and after every step:

- no pitch is given twice: every case's pitch is the market's, pitches of cases are distinct,
  and an admitted case holds the pitch its decision in force names;
- a case's offer is the market's offer to it;
- each admission or refusal stores the score (points and total), the criteria version and the
  weights, and the selection's record;
- charges are never negative, belong to an admission, and each is withdrawn at most once; a
  pitch given up has its deposit withdrawn, and its other charges exactly when given up before
  ``decisions_by``;
- a refused command changed no version and left no pending event;
- every event names who and when (the clock's time);
- every case rebuilt from its recorded events equals it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.actor import Actor, ActorRecord, Role
from domain.commands import Acting
from domain.decision import DecisionOutcome
from domain.errors import DomainError
from domain.markets.market import Market, Pitch, StallApplication
from domain.rules import market_fees
from domain.services.market_stall import (
    GIVEN_UP,
    REVOKED,
    MarketStallApplication,
    StallStatus,
    Standing,
)
from domain.services.market_stall_steps import (
    STEPS,
    PitchRevocation,
    ScoreSheet,
    StallReason,
    apply_at_submission,
)
from domain.services.parking_decisions import RevocationGround
from domain.timers import scheduler_actor
from domain.working_days import berlin_date
from tests.domain.market_stall_fixtures import (
    DEADLINE,
    DECISIONS_BY,
    MARKT,
    OPENS,
    Shared,
    form,
    market,
    submitted,
)

POOL = (
    Pitch("1", Decimal("3.00"), True, True, ("food", "drinks")),
    Pitch("2", Decimal("2.50"), False, False, ("crafts", "christmas_goods")),
    Pitch("3", Decimal("4.00"), True, False, ("crafts", "christmas_goods", "food")),
    Pitch("4", Decimal("3.00"), False, False, ("crafts",)),
)
START = datetime(2026, 8, 28, 9, tzinfo=UTC)  # the window opens on 1 September
SELECTION_DAY = datetime(2026, 10, 20, 9, tzinfo=UTC)
IN_THE_WINDOW = datetime(2026, 9, 10, 9, tzinfo=UTC)
END = datetime(2026, 12, 5, 9, tzinfo=UTC)  # the second market day
FIRST_DAY_BEGINS = datetime(2026, 12, 3, 23, tzinfo=UTC)  # midnight in Berlin
MOMENTS = (
    datetime(2026, 9, 1, 8, tzinfo=UTC),  # the window opens
    DEADLINE - timedelta(minutes=1),  # the last minute
    DEADLINE,  # the deadline: closed
    datetime(2026, 10, 25, 9, tzinfo=UTC),
    datetime(2026, 10, 31, 22, 30, tzinfo=UTC),  # 23:30 on the day before decisions_by
    datetime(2026, 10, 31, 23, 30, tzinfo=UTC),  # 00:30 on decisions_by in Berlin
    datetime(2026, 11, 28, 9, tzinfo=UTC),
    FIRST_DAY_BEGINS - timedelta(minutes=30),  # 23:30 the day before the market
    FIRST_DAY_BEGINS,  # the market begins
)
INDEX = st.integers(-30, 30)  # negative: among the cases the command is for
SEEDS = st.text("0123456789abcdef", min_size=32, max_size=64)
STALLS = st.tuples(
    st.sampled_from(["crafts", "crafts", "food", "drinks", "christmas_goods"]),
    st.sampled_from(["2.00", "2.50", "2.50", "3.00", "3.50", "4.50"]),
    st.sampled_from([False, False, False, True]),  # electricity
    st.sampled_from([False, False, False, True]),  # water
    st.integers(0, 6),  # years of attendance
)
CASE_EVENTS_WITHOUT_ACTOR = frozenset({"Submitted"})


def rebuilt(events: list[Any]) -> Any:
    """The aggregate the events make, from nothing."""
    aggregate = None
    for stored in events:
        aggregate = stored.mutate(aggregate)
    return aggregate


class StallMachine(RuleBasedStateMachine):
    """Stall applications and their market under any sequence of commands."""

    def __init__(self) -> None:
        super().__init__()
        self.market: Market
        self.shared = Shared()
        self.cases: list[MarketStallApplication] = []
        self.events: dict[UUID, list[Any]] = {}
        self.clock = START
        self.number = 0
        self.given_up_on: dict[UUID, datetime] = {}
        self.revoked: set[UUID] = set()

    # ------------------------------------------------------------- set-up

    @initialize(
        pitches=st.sets(st.sampled_from(range(len(POOL))), min_size=2, max_size=4),
        share=st.sampled_from([Decimal(0), Decimal("0.25"), Decimal("0.5")]),
        offer_days=st.integers(1, 3),
        early=st.sampled_from([False, False, False, True]),
        stalls=st.lists(STALLS, min_size=3, max_size=7),
    )
    def publish(
        self,
        pitches: set[int],
        share: Decimal,
        offer_days: int,
        early: bool,
        stalls: list[tuple[str, str, bool, bool, int]],
    ) -> None:
        self.clock = START if early else IN_THE_WINDOW
        chosen = [POOL[i] for i in sorted(pitches)]
        wanted = sorted({c for pitch in chosen for c in pitch.categories})
        self.market = market(
            pitches=chosen, categories=wanted, newcomer_share=share, offer_days=offer_days
        )
        self.shared.stored[self.market.id] = self.market
        self.events[self.market.id] = []
        for stall in stalls:  # the first traders (refused ones too, before the window opens)
            self.apply(stall)

    # ------------------------------------------------------------- helpers

    def _record(self, *aggregates: Aggregate) -> None:
        """Check the pending events name who and when, and keep them as recorded."""
        for aggregate in aggregates:
            for pending in aggregate.collect_events():
                name = type(pending).__name__
                if isinstance(aggregate, MarketStallApplication):
                    if name not in CASE_EVENTS_WITHOUT_ACTOR:
                        assert isinstance(pending.actor, ActorRecord), name
                    assert pending.at == self.clock, name
                self.events.setdefault(aggregate.id, []).append(pending)

    def _refused(self, run: Any) -> None:
        """Run a command predicted to be refused: nothing changes anywhere."""
        versions = {a.id: a.version for a in (self.market, *self.cases)}
        try:
            run()
        except DomainError:
            pass
        else:
            raise AssertionError("the command was predicted to be refused")
        for aggregate in (self.market, *self.cases):
            assert aggregate.version == versions[aggregate.id]
            assert not aggregate.pending_events

    def _applicant(self, case: MarketStallApplication) -> Actor:
        return Actor(case.submitted_by, "Erika Weber", Role.APPLICANT, "usingen")

    def _acting(self, actor: Actor) -> Acting:
        return Acting(actor, self.clock, self.shared)

    def _case(self, index: int, relevant: Any = None) -> MarketStallApplication | None:
        """A case by index; a negative index picks among those ``relevant`` says the command
        is for (so the commands run, not only their refusals)."""
        chosen = self.cases
        if index < 0 and relevant is not None:
            chosen = [c for c in self.cases if relevant(c)] or self.cases
        return chosen[index % len(chosen)] if chosen else None

    @property
    def _selected(self) -> bool:
        return self.market.selected_at is not None

    # ------------------------------------------------------------- time

    @rule(days=st.integers(0, 9), hours=st.integers(0, 23))
    def time_passes(self, days: int, hours: int) -> None:
        self.clock = min(self.clock + timedelta(days=days, hours=hours), END)

    @rule(moment=st.sampled_from(MOMENTS))
    def time_jumps(self, moment: datetime) -> None:
        self.clock = max(self.clock, moment)

    # ------------------------------------------------------------- applications

    @rule(stall=STALLS)
    def apply(self, stall: tuple[str, str, bool, bool, int]) -> None:
        category, frontage, electricity, water, years = stall
        extra: dict[str, Any] = {"electricity": electricity, "water": water}
        if electricity:
            extra["connected_load_kw"] = "2.0"
        data = form(
            self.market.id, category, frontage_m=frontage, years_of_attendance=years, **extra
        )
        self.number += 1
        at = self.clock
        case = submitted(data, at=max(at, START), number=self.number)
        application = StallApplication(
            case.id, category, Decimal(frontage), electricity, water, years
        )
        open_now = OPENS <= at < DEADLINE and not self._selected
        fits = any(pitch.fits(application) for pitch in self.market.pitches)
        acting = Acting(self._applicant(case), at, self.shared)
        if not (open_now and fits):
            version = self.market.version
            try:
                apply_at_submission(case, acting)
            except DomainError:
                pass
            else:
                raise AssertionError("an application was predicted to be refused")
            assert self.market.version == version
            assert not self.market.pending_events
            assert not self.market.recorded(case.id)
            return
        changed = apply_at_submission(case, acting)
        assert [a.id for a in changed] == [self.market.id]
        assert case.status == StallStatus.APPLIED
        self.cases.append(case)
        self.shared.stored[case.id] = case
        self._record(case, self.market)

    @rule(index=st.integers(0, 30), points=st.integers(0, 11), supervisor=st.booleans())
    def score(self, index: int, points: int, supervisor: bool) -> None:
        case = self._case(index)
        if case is None:
            return
        actor = Actor("olaf.ordnung", "Olaf Ordnung", Role.SUPERVISOR, "usingen")
        staff = actor if supervisor else MARKT
        body = ScoreSheet(points={"attractiveness": points}, note="Stand angesehen")
        allowed = (
            case.status == StallStatus.APPLIED
            and self.clock >= DEADLINE
            and not self._selected
            and points <= 10
        )
        step = STEPS.named("score_application")
        if not allowed:
            self._refused(lambda: step.execute(case, body, self._acting(staff)))
            return
        step.execute(case, body, self._acting(staff))
        assert case.score_sheet is not None
        assert case.score_sheet["points"] == {"attractiveness": points}
        assert case.score_sheet["scored_by"] == staff.id
        self._record(case)

    @rule(points=st.lists(st.integers(0, 10), min_size=1, max_size=8))
    def score_all(self, points: list[int]) -> None:
        """Staff score every application still to be selected (as before a selection)."""
        if self.clock < DEADLINE or self._selected:
            return
        step = STEPS.named("score_application")
        for number, case in enumerate(c for c in self.cases if c.status == StallStatus.APPLIED):
            given = points[number % len(points)]
            body = ScoreSheet(points={"attractiveness": given}, note="Bewertet")
            step.execute(case, body, self._acting(MARKT))
            self._record(case)
        event("scored every application")

    @rule(index=INDEX)
    def withdraw(self, index: int) -> None:
        case = self._case(index, lambda c: c.standing in (Standing.APPLIED, Standing.REFUSED))
        if case is None:
            return
        step = STEPS.named("withdraw_application")
        acting = self._acting(self._applicant(case))
        before = case.status == StallStatus.APPLIED
        refused = case.standing == Standing.REFUSED and case.offer is None
        allowed = not case.withdrawn and case.status != "closed" and (before or refused)
        if not allowed:
            self._refused(lambda: step.execute(case, None, acting))
            return
        step.execute(case, None, acting)
        if refused:
            event("refused application withdrawn")
        assert case.withdrawn
        assert case.id in self.market.withdrawn
        self._record(case, self.market)

    # ------------------------------------------------------------- the selection

    @rule(
        seed=SEEDS,
        score_first=st.sampled_from([True, True, True, False]),
        wait=st.sampled_from([True, True, False]),
    )
    def select(self, seed: str, score_first: bool, wait: bool) -> None:
        if wait:  # staff select once the deadline has passed
            self.clock = max(self.clock, SELECTION_DAY)
        if score_first and self.clock >= DEADLINE and not self._selected:
            self.score_all([7, 3, 5])  # staff score what is left first (as before a selection)
        sheets = {
            c.id: dict(c.score_sheet["points"]) for c in self.cases if c.score_sheet is not None
        }
        active = [c for c in self.cases if not c.withdrawn]
        missing = any(c.id not in sheets for c in active)
        allowed = (
            not self._selected
            and self.clock >= DEADLINE
            and berlin_date(self.clock) <= DECISIONS_BY  # refusals in time for interim relief
            and not missing
        )

        def run() -> None:
            self.market.select(seed=seed, sheets=sheets, actor=MARKT, at=self.clock)
            for case in self.cases:
                case.note_selection(self.market, actor=MARKT, at=self.clock)

        if not allowed:
            self._refused(run)
            return
        run()
        event(f"selected {min(len(active), 3)}{'+' if len(active) >= 3 else ''} applications")
        for case in active:
            assert case.decision is not None
            admitted = self.market.pitch_of(case.id) is not None
            assert case.standing == (Standing.ADMITTED if admitted else Standing.REFUSED)
            assert case.decision.decided_by.id == MARKT.id
        self._record(self.market, *self.cases)

    # ------------------------------------------------------------- give-up and offers

    def _passed_on(self, case: MarketStallApplication, changed: Any) -> None:
        """The market and the case offered the pitch next, saved with the command."""
        offered = [a for a in changed if a.id not in (self.market.id, case.id)]
        for other in offered:
            assert isinstance(other, MarketStallApplication)
            assert other.offer is not None
        self._record(case, self.market, *offered)

    @rule(index=INDEX, by_the_town=st.booleans())
    def give_up(self, index: int, by_the_town: bool) -> None:
        case = self._case(index, lambda c: c.pitch is not None)
        if case is None:
            return
        actor = MARKT if by_the_town else self._applicant(case)
        step = STEPS.named("revoke_pitch" if by_the_town else "give_up_pitch")
        body: StallReason | PitchRevocation = StallReason(reason="Krankheit")
        if by_the_town:  # the town takes a pitch back only by revoking the admission
            body = PitchRevocation(
                ground=RevocationGround.FACTS_CHANGED,
                reason="Stand abgebrannt",
                facts_known_since=berlin_date(self.clock),
                discretion="Kein milderes Mittel",
                immediate_enforcement="Der Markt naht",
                hearing_not_needed_because="Gefahr im Verzug (§ 28 Abs. 2 Nr. 1 HVwVfG)",
            )
        allowed = (
            case.standing == Standing.ADMITTED
            and case.pitch is not None
            and case.status not in ("withdrawn", "closed")
            and self.clock < FIRST_DAY_BEGINS
        )
        if not allowed:
            self._refused(lambda: step.execute(case, body, self._acting(actor)))
            return
        changed = step.execute(case, body, self._acting(actor))
        event("pitch given up")
        assert case.pitch is None
        if by_the_town:
            assert case.decision is not None
            assert case.decision.outcome is DecisionOutcome.REJECTED
            assert case.charges_in_force(len(case.decisions) - 1) == ()
            self.revoked.add(case.id)
        else:
            assert case.status == StallStatus.PITCH_GIVEN_UP
            self.given_up_on[case.id] = self.clock
        self._passed_on(case, changed)

    @rule(index=INDEX)
    def accept(self, index: int) -> None:
        case = self._case(index, lambda c: c.offer is not None)
        if case is None:
            return
        step = STEPS.named("accept_pitch_offer")
        acting = self._acting(self._applicant(case))
        offer = case.offer
        if offer is None or self.clock > offer["until"]:
            self._refused(lambda: step.execute(case, None, acting))
            return
        decisions = len(case.decisions)
        step.execute(case, None, acting)
        event("offer accepted")
        assert case.pitch == offer["pitch"]
        assert len(case.decisions) == decisions + 1
        assert case.decision is not None
        assert case.decision.outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
        self._record(case, self.market)

    @rule(index=INDEX)
    def decline(self, index: int) -> None:
        case = self._case(index, lambda c: c.offer is not None)
        if case is None:
            return
        step = STEPS.named("decline_pitch_offer")
        body = StallReason(reason="Anderer Markt")
        acting = self._acting(self._applicant(case))
        if case.offer is None:
            self._refused(lambda: step.execute(case, body, acting))
            return
        changed = step.execute(case, body, acting)
        event("offer declined")
        assert case.offer is None
        self._passed_on(case, changed)

    @rule(index=INDEX, wait=st.booleans())
    def lapse(self, index: int, wait: bool) -> None:
        case = self._case(index, lambda c: c.offer is not None)
        if case is None:
            return
        if wait and case.offer is not None:  # the scheduler's tick the day after the last day
            self.clock = min(max(self.clock, case.offer["until"] + timedelta(hours=1)), END)
        step = STEPS.named("expire_pitch_offer")
        acting = self._acting(scheduler_actor(case.tenant))
        if case.offer is None or self.clock <= case.offer["until"]:
            self._refused(lambda: step.execute(case, None, acting))
            return
        changed = step.execute(case, None, acting)
        event("offer lapsed")
        assert case.offer is None
        self._passed_on(case, changed)

    @rule(index=INDEX)
    def notify(self, index: int) -> None:
        case = self._case(index, lambda c: "notify" in c.allowed_commands())
        if case is None:
            return
        if "notify" not in case.allowed_commands():
            self._refused(lambda: case.notify(actor=MARKT, at=self.clock))
            return
        case.notify(actor=MARKT, at=self.clock)
        self._record(case)

    # ------------------------------------------------------------- invariants

    @invariant()
    def no_pitch_is_given_twice(self) -> None:
        if not hasattr(self, "market"):
            return
        held = [c.pitch for c in self.cases if c.pitch is not None]
        assert len(held) == len(set(held))
        assert len(set(self.market.assigned.values())) == len(self.market.assigned)
        for case in self.cases:
            assert case.pitch == self.market.pitch_of(case.id)
            offer = self.market.offer_of(case.id)
            assert (case.offer is None) == (offer is None)
            if offer is not None and case.offer is not None:
                assert case.offer["pitch"] == offer.pitch
                assert case.offer["until"] == offer.until
                assert offer.pitch not in self.market.assigned
            decision = case.decision
            if case.pitch is not None:
                assert case.standing == Standing.ADMITTED
                assert decision is not None
                assert decision.outcome.is_approval
                assert decision.particulars["pitch"] == case.pitch

    @invariant()
    def every_decision_stores_score_criteria_version_and_weights(self) -> None:
        for case in self.cases:
            for decision in case.decisions:
                particulars = decision.particulars
                assert set(particulars["points"]) == {"attractiveness", "attendance", "need"}
                assert Decimal(particulars["total"]) >= 0
                assert particulars["criteria_version"] == "2026-1"
                assert particulars["weights"] == {
                    "attractiveness": "3",
                    "attendance": "1",
                    "need": "1",
                }
                rules = {r.rules_id for r in decision.rules}
                assert "market_selection" in rules
                if decision.outcome is DecisionOutcome.REJECTED:
                    assert particulars["reasons"]
                    assert decision.fee is None
                else:
                    assert market_fees.MARKET_FEE_RULES_ID in rules
                assert berlin_date(decision.decided_at) <= max(
                    DECISIONS_BY, berlin_date(decision.decided_at)
                )

    @invariant()
    def charges_are_positive_belong_to_admissions_and_are_withdrawn_once(self) -> None:
        for case in self.cases:
            outcomes = {f"decision:{n}": d.outcome for n, d in enumerate(case.decisions, 1)}
            for charge in case.charges:
                assert charge.amount > 0
                assert outcomes[charge.refers_to].is_approval
            withdrawn = Counter(
                e.kassenzeichen
                for e in self.events.get(case.id, [])
                if type(e).__name__ == "ChargeWithdrawn"
            )
            assert all(count == 1 for count in withdrawn.values())
            assert set(withdrawn) == set(case.withdrawn_charges)
            assert {
                e.reason
                for e in self.events.get(case.id, [])
                if type(e).__name__ == "ChargeWithdrawn"
            } <= {GIVEN_UP, REVOKED}
            given_up = self.given_up_on.get(case.id)
            if given_up is None or case.pitch is not None:
                continue
            last = case.charges_of_decision(len(case.decisions))
            early = berlin_date(given_up) < DECISIONS_BY
            for charge in last:
                expected = early or charge.ledger == market_fees.DEPOSIT
                assert (charge.kassenzeichen in case.withdrawn_charges) == expected

    @invariant()
    def every_case_rebuilt_from_its_events_equals_it(self) -> None:
        for case in self.cases:
            copy = rebuilt(self.events[case.id])
            assert copy.version == case.version
            assert copy.status == case.status
            assert copy.standing == case.standing
            assert copy.pitch == case.pitch
            assert copy.offer == case.offer
            assert copy.decisions == case.decisions
            assert copy.charges == case.charges
            assert copy.withdrawn_charges == case.withdrawn_charges
            assert copy.score_sheet == case.score_sheet


StallMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_market_stall_machine = StallMachine.TestCase
