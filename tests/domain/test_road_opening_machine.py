"""Any sequence of commands keeps a road opening permit's invariants, over its whole life.

The shared lifecycle, the checks every command must pass and the replay in a fresh store
come from ``ServiceMachine``. Here are the permit's own: the decision (its fee from the
tariff, its validity until the planned end unless the clerk sets one), the works (which may
start once the permit is notified), the inspection of the restored surface (defects,
re-inspection), the warranty and the close, each checked against a model of what it must
accept or refuse, and the invariants that tie the permit to its tariff and its dates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from uuid import uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from domain.actor import Actor
from domain.decision import Decision, DecisionOutcome, RulesApplied
from domain.errors import DomainError, NotTheHolder
from domain.lifecycle import CaseStatus
from domain.personal_data import PersonalData, Subjects
from domain.personal_fields import personal_data_of
from domain.rules.road_opening import (
    DEPOSIT_RULES_ID,
    DEPOSITS,
    EMERGENCY_REPORTING,
    EMERGENCY_RULES_ID,
    EXTENSION_FEES,
    FEE_RULES_ID,
    FEE_TARIFFS,
    LEAD_TIME_RULES_ID,
    LEAD_TIMES,
    SPECIAL_USE_FEES,
    in_force,
    lead_time_not_applied,
)
from domain.services import traffic_sign_order
from domain.services.road_opening import (
    SERVICE_ID,
    DepositForm,
    RoadOpeningApplication,
    RoadOpeningPermit,
    RoadOpeningStatus,
    example,
    order_period,
)
from domain.services.traffic_sign_order import TrafficSignOrder, TrafficSignOrderApplication
from domain.working_days import berlin_date
from tests.domain.case_fixtures import (
    APPLICANT,
    CLERK,
    DELEGATED_CLERK,
    FOREIGN_CLERK,
    START,
    SUPERVISOR,
)
from tests.domain.service_machine import (
    DISCRETION,
    HOLDER,
    NOW,
    SETTINGS,
    UNDECIDED,
    ServiceMachine,
    actors,
    actors_or_holder,
    at_kinds,
    clean,
    days_from_today,
    discretions,
    expected_final_from,
    hearing_arguments,
    hearing_refusal,
    hearings,
    hours_between_steps,
    optional_texts,
    texts,
    usual_step,
    usual_steps,
)

WORKS_STATUSES = frozenset(
    {
        RoadOpeningStatus.WORKS_STARTED,
        RoadOpeningStatus.WORKS_COMPLETED,
        RoadOpeningStatus.RESTORATION_DEFECTIVE,
        RoadOpeningStatus.WARRANTY_RUNNING,
    }
)
DECIDED_STATUSES = frozenset({CaseStatus.DECIDED, CaseStatus.NOTIFIED, CaseStatus.FINAL}) | (
    WORKS_STATUSES
)
INSPECTED_STATUSES = frozenset(
    {RoadOpeningStatus.RESTORATION_DEFECTIVE, RoadOpeningStatus.WARRANTY_RUNNING}
)

# A day relative to a date of the permit: (anchor, offset in days); anchors are resolved when
# the rule runs, so a rule can aim at the edges of the valid range and just past them.
relative_days = st.tuples(
    st.sampled_from(["today", "effective_from", "expires_on", "started", "completed", "inspected"]),
    st.sampled_from([-400, -1, -1, 0, 0, 0, 1, 1, 3, 400]),
)
lengths = st.one_of(
    st.sampled_from([Decimal("0.50"), Decimal("6.50"), Decimal("5000")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2),
)
widths = st.one_of(
    st.sampled_from([Decimal("0.30"), Decimal("0.80"), Decimal("50")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=2),
)
ORDER_KINDS = ("covering", "covering", "late", "refused", "foreign", "move")


def issued_order(kind: str, start: date, end: date) -> TrafficSignOrder:
    """A traffic sign order for the works: covering their days, starting a day late, refused,
    another town's, or one for a move (§ 45 (1) StVO, not for works); each ordered (or
    refused) and notified."""
    first = start + timedelta(days=1) if kind == "late" else start
    form = traffic_sign_order.example(START.date())
    form["reason"] = "move" if kind == "move" else "building_works"
    form["period"] = {"start": first.isoformat(), "end": (end + timedelta(days=30)).isoformat()}
    model = TrafficSignOrderApplication.model_validate(form)
    tenant, clerk = ("schmitten", FOREIGN_CLERK) if kind == "foreign" else ("usingen", CLERK)
    applicant = APPLICANT if tenant == "usingen" else FOREIGN_CLERK
    order_id = uuid4()
    order = TrafficSignOrder.submit(
        case_id=order_id,
        actor=applicant,
        at=START,
        tenant=tenant,
        service="traffic-sign-order",
        reference=f"{'SCH' if kind == 'foreign' else 'USI'}-2026-0001{ORDER_KINDS.index(kind)}",
        applicant={"name": PersonalData(order_id, Subjects.APPLICANT, "Tiefbau GmbH")},
        data=personal_data_of(model, case_id=order_id, subject=Subjects.APPLICANT),
        request_fingerprint="f" * 64,
    )
    assert isinstance(order, TrafficSignOrder)
    at = START + timedelta(hours=1)
    order.confirm_complete(actor=clerk, at=at)
    order.claim(actor=clerk, at=at)
    for authority in traffic_sign_order.HeardAuthority:
        order.record_authority_hearing(
            actor=clerk,
            at=at,
            authority=authority,
            heard_on=at.date(),
            response=traffic_sign_order.HearingResponse.CONSENTED,
        )
    refused = kind == "refused"
    order.decide(
        actor=clerk,
        at=at,
        outcome=DecisionOutcome.REJECTED if refused else DecisionOutcome.APPROVED_WITH_CONDITIONS,
        justification="Baustelle",
        legal_basis="§ 45 Abs. 1, 6 StVO",
        discretion="Kurze Sperrung.",
    )
    order.notify(actor=clerk, at=at)
    return order


PERMIT_SETTINGS = settings(SETTINGS, max_examples=60, stateful_step_count=50)


def years_later(day: date, years: int) -> date:
    """The last day of a period of whole years from an event on ``day`` (§§ 187 (1), 188 (2),
    (3) BGB): the same date, or 28 February for an event on 29 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 2, 28)


class RoadOpeningMachine(ServiceMachine):
    """One road opening permit, any commands."""

    PROGRESS = (
        *(
            CaseStatus.SUBMITTED,
            CaseStatus.IN_REVIEW,
            CaseStatus.DECIDED,
            CaseStatus.NOTIFIED,
            CaseStatus.FINAL,
        ),
        *(
            RoadOpeningStatus.WORKS_STARTED,
            RoadOpeningStatus.WORKS_COMPLETED,
            RoadOpeningStatus.RESTORATION_DEFECTIVE,
            RoadOpeningStatus.WARRANTY_RUNNING,
        ),
    )
    case: RoadOpeningPermit

    def __init__(self) -> None:
        super().__init__()
        self.length = Decimal(0)
        self.width = Decimal(0)
        self.planned_end = date.min
        self.emergency = False
        self.orders: dict[str, TrafficSignOrder] = {}
        self.linked: TrafficSignOrder | None = None

    # ------------------------------------------------------------------ set-up

    @initialize(
        submitted_hours_later=st.integers(min_value=0, max_value=7 * 24),
        length=lengths,
        width=widths,
        start_later_by_days=st.one_of(st.just(0), st.integers(min_value=0, max_value=30)),
        duration_days=st.one_of(  # short works: the permit often expires before it is final
            st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=60)
        ),
        withdrawals=st.sampled_from([True, False, False, False]),
        head_start=st.lists(usual_step, max_size=16),
        emergency_days_ago=st.sampled_from([None, None, None, 0, 1]),
        traffic_management=st.booleans(),
    )
    def submit(
        self,
        submitted_hours_later: int,
        length: Decimal,
        width: Decimal,
        start_later_by_days: int,
        duration_days: int,
        withdrawals: bool,
        head_start: list[tuple[int, DecisionOutcome]],
        emergency_days_ago: int | None,
        traffic_management: bool,
    ) -> None:
        """Submit as the application does: validate the form, then mark its personal data.

        Emergency works (Gefahr im Verzug) are reported after they started, without the lead
        time, within the reporting period."""
        self.now = START + timedelta(hours=submitted_hours_later)
        submitted_on = berlin_date(self.now)
        form = example(submitted_on)
        start = date.fromisoformat(form["planned_period"]["start"]) + timedelta(
            days=start_later_by_days
        )
        if emergency_days_ago is not None:
            start = submitted_on - timedelta(days=emergency_days_ago)
            form["emergency_works"] = True
            form["emergency_reason"] = "Wasserrohrbruch, Fahrbahn unterspült"
        self.emergency = emergency_days_ago is not None
        end = start + timedelta(days=duration_days)
        form["dimensions"] = {"length_m": str(length), "width_m": str(width), "depth_m": "1.20"}
        form["planned_period"] = {"start": start.isoformat(), "end": end.isoformat()}
        form["traffic_management_needed"] = traffic_management
        model = RoadOpeningApplication.model_validate(form)
        model.check_lead_time(submitted_on)  # what the catalogue checks on submission
        self.start(RoadOpeningPermit, SERVICE_ID, model)
        self.length, self.width, self.planned_end = length, width, end
        self.withdrawals = withdrawals  # else most runs end early, withdrawn by the applicant
        assert self.case.PROCESSING_PERIOD_WORKING_DAYS == 10
        assert self.case.planned_period_start == start
        assert self.case.planned_period_end == end
        assert Decimal(self.case.data["dimensions"]["length_m"]) == length
        assert isinstance(self.case.data["contractor"]["phone"], PersonalData)
        assert self.case.data["contractor"]["phone"].subject == "contractor"
        assert self.case.works_started_on == self.case.works_completed_on == date.min
        assert self.case.service_state()["works_started_on"] is None
        # Hypothesis switches rules off at random in each run (swarm testing), the usual steps
        # too: a head start, which always runs, takes most runs some way into the lifecycle.
        self.take_the_usual_steps(head_start, 24)

    # ----------------------------------------------------------------- helpers

    def _day(self, anchor: str, offset: int) -> date:
        case = self.case
        decision = case.decision
        base = {
            "today": self.today,
            "effective_from": decision.effective_from if decision else self.today,
            "expires_on": case.valid_until or self.planned_end,
            "started": case.works_started_on if case.works_started_on != date.min else self.today,
            "completed": (
                case.works_completed_on if case.works_completed_on != date.min else self.today
            ),
            "inspected": case.inspections[-1] if case.inspections else self.today,
        }[anchor]
        return base + timedelta(days=offset)

    # ------------------------------------------------------------------- time

    # The warranty runs five years: time also jumps past it.
    @rule(
        delta=st.one_of(
            st.integers(min_value=0, max_value=600).map(lambda m: timedelta(minutes=m)),
            st.integers(min_value=1, max_value=45).map(lambda d: timedelta(days=d)),
            st.sampled_from([timedelta(days=365), timedelta(days=5 * 365 + 2)]),
        )
    )
    def advance_time(self, delta: timedelta) -> None:
        self.now += delta

    # ------------------------------------------------- the shared rules' hooks

    @rule(
        actor=actors_or_holder,
        at_kind=at_kinds,
        outcome=st.sampled_from(DecisionOutcome),
        justification=texts,
        legal_basis=st.sampled_from(["§§ 16, 18 HStrG", "§§ 16, 18 HStrG", " "]),
        conditions=st.sampled_from([None, [], ["Auflage: Baustelle sichern"], ["  "]]),
        effective_in_days=days_from_today,
        expires_in_days=st.one_of(st.none(), st.integers(min_value=-10, max_value=400)),
        fee=st.sampled_from([None, None, None, Decimal("0"), Decimal("120.00"), Decimal("-5")]),
        rules=st.sampled_from([(), (RulesApplied("tariff", "2026-1", {"zone": "A"}),)]),
        hearing=hearings,
        discretion=discretions,
    )
    def decide(
        self,
        actor: Actor | str,
        at_kind: str,
        outcome: DecisionOutcome,
        justification: str,
        legal_basis: str,
        conditions: list[str] | None,
        effective_in_days: int | None,
        expires_in_days: int | None,
        fee: Decimal | None,
        rules: tuple[RulesApplied, ...],
        hearing: str = "none",
        discretion: str | None = DISCRETION,
    ) -> None:
        """The fee and the validity come from the tariff and the plan, not from the clerk; the
        permit is granted at discretion (§ 16 (1) HStrG), so its considerations are stated."""
        who = self._actor(actor)
        holder = self.case.holder

        def day(days: int | None) -> date | None:
            return None if days is None else self.today + timedelta(days=days)

        def expect(today: date) -> str | type[DomainError] | None:
            if holder is None or holder.id != who.id:
                return NotTheHolder
            with_conditions = outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
            given = any(clean(c) for c in conditions or [])
            if with_conditions is not given:
                return "conditions"
            if not legal_basis.strip():
                return "legal_basis"
            refusal = hearing_refusal(hearing, given) or self.discretion_refusal(discretion)
            if refusal is not None:
                return refusal
            effective = day(effective_in_days) or self.effective_by_default(outcome, today)
            expires = day(expires_in_days)
            if expires is not None and expires < effective:
                return "expires_on"
            if fee is not None:
                return "fee"  # negative ("must not be negative") or not: set by the tariff
            if outcome.is_approval and (expires or self.planned_end) < effective:
                return "expires_on"
            if not clean(justification):
                return "justification"
            return None

        error = self._run(
            "decide",
            who,
            at_kind,
            lambda at: self.case.decide(
                actor=who,
                at=at,
                outcome=outcome,
                justification=justification,
                legal_basis=legal_basis,
                conditions=conditions,
                effective_from=day(effective_in_days),
                expires_on=day(expires_in_days),
                fee=fee,
                rules=rules,
                discretion=discretion,
                **hearing_arguments(hearing, self.today),
            ),
            expect,
        )
        if error is not None:
            return
        case = self.case
        decision = case.decision
        assert decision is not None
        assert case.status == CaseStatus.DECIDED
        assert decision.outcome is outcome
        assert decision.decided_by.id == who.id
        assert decision.effective_from == (
            day(effective_in_days) or self.effective_by_default(outcome, self.today)
        )
        if outcome.is_approval:
            assert decision.expires_on == (day(expires_in_days) or self.planned_end)
        else:
            assert decision.expires_on is None
        assert all(r not in decision.rules for r in rules), "the service sets the rules applied"
        self.check_the_decision_record(decision, hearing, discretion)

    def effective_by_default(self, outcome: DecisionOutcome, today: date) -> date:
        """Emergency works are permitted afterwards, from the day they began; else today."""
        if outcome.is_approval and self.emergency:
            return min(self.case.planned_period_start, today)
        return today

    def close_refusal(self, status: str, today: date) -> str | None:
        """After the warranty, after a rejection or withdrawal, or once an unused permit
        expired."""
        case = self.case
        decision = case.decision
        if case.deposit is not None:
            return "security_deposit"
        if status == RoadOpeningStatus.WARRANTY_RUNNING:
            assert case.warranty_until is not None
            return "warranty_until" if today <= case.warranty_until else None
        if status == CaseStatus.FINAL:
            assert decision is not None
            if decision.outcome.is_approval:
                assert case.valid_until is not None
                return "status" if today <= case.valid_until else None
        return None

    # -------------------------------------------------------- the permit's own

    @rule(actor=actors, at_kind=at_kinds, started=relative_days)
    def start_works(self, actor: Actor, at_kind: str, started: tuple[str, int]) -> None:
        """Only under an approval in force: from its first day, until it expires, not later
        than today."""
        started_on = self._day(*started)
        case = self.case

        def expect(today: date) -> str | None:
            decision = case.decision
            assert decision is not None
            if not decision.outcome.is_approval:
                return "decision"
            first = case.planned_period_start if self.emergency else decision.effective_from
            assert case.valid_until is not None
            if not first <= started_on <= min(case.valid_until, today):
                return "started_on"
            if self.emergency:
                return None
            if case.deposit_required and case.deposit is None:
                return "security_deposit"
            if case.application.traffic_management_needed:
                order = self.linked
                if order is None:
                    return "traffic_sign_order"
                first, last = order_period(order)
                if not first <= started_on <= last:
                    return "traffic_sign_order"
            return None

        error = self._run(
            "start_works",
            actor,
            at_kind,
            lambda at: self.case.start_works(
                actor=actor, at=at, started_on=started_on, sign_order=self.linked
            ),
            expect,
        )
        if error is None:
            assert self.case.status == RoadOpeningStatus.WORKS_STARTED
            assert self.case.works_started_on == started_on
            assert self.case.service_state()["works_started_on"] == started_on

    @rule(actor=actors, at_kind=at_kinds, completed=relative_days)
    def complete_works(self, actor: Actor, at_kind: str, completed: tuple[str, int]) -> None:
        completed_on = self._day(*completed)
        started_on = self.case.works_started_on

        def expect(today: date) -> str | None:
            return "completed_on" if not started_on <= completed_on <= today else None

        error = self._run(
            "complete_works",
            actor,
            at_kind,
            lambda at: self.case.complete_works(actor=actor, at=at, completed_on=completed_on),
            expect,
        )
        if error is None:
            assert self.case.status == RoadOpeningStatus.WORKS_COMPLETED
            assert self.case.works_completed_on == completed_on

    @rule(
        actor=actors,
        at_kind=at_kinds,
        inspected=relative_days,
        defects=st.one_of(
            st.just([]),
            st.lists(
                st.sampled_from(["Setzung im Gehweg", "Fugen nicht vergossen", " "]),
                min_size=1,
                max_size=2,
            ),
        ),
        remedy_in_days=st.one_of(st.none(), st.sampled_from([-1, 0, 1, 14, 60])),
    )
    def inspect_restoration(
        self,
        actor: Actor,
        at_kind: str,
        inspected: tuple[str, int],
        defects: list[str],
        remedy_in_days: int | None,
    ) -> None:
        """Defects need a deadline after the inspection; an acceptance starts the warranty."""
        inspected_on = self._day(*inspected)
        remedy_by = None if remedy_in_days is None else inspected_on + timedelta(remedy_in_days)
        earliest = max([self.case.works_completed_on, *self.case.inspections])
        inspections = len(self.case.inspections)

        def expect(today: date) -> str | None:  # a re-inspection follows the last one
            return self.inspection_refusal(earliest, inspected_on, today, defects, remedy_by)

        error = self._run(
            "inspect_restoration",
            actor,
            at_kind,
            lambda at: self.case.inspect_restoration(
                actor=actor,
                at=at,
                inspected_on=inspected_on,
                defects=defects,
                remedy_by=remedy_by,
            ),
            expect,
        )
        if error is not None:
            return
        case = self.case
        assert len(case.inspections) == inspections + 1
        assert case.inspections[-1] == inspected_on
        assert [d.reveal() for d in case.open_defects] == [d.strip() for d in defects]
        assert all(d.subject == Subjects.CASE_TEXT for d in case.open_defects)
        if defects:
            assert case.status == RoadOpeningStatus.RESTORATION_DEFECTIVE
            assert case.remedy_by == remedy_by
            assert case.warranty_until is None
        else:
            assert case.status == RoadOpeningStatus.WARRANTY_RUNNING
            assert case.remedy_by is None
            assert case.warranty_until == years_later(inspected_on, 5)

    def _order(self, kind: str) -> TrafficSignOrder:
        if kind not in self.orders:
            case = self.case
            self.orders[kind] = issued_order(kind, case.planned_period_start, self.planned_end)
        return self.orders[kind]

    @rule(actor=actors, at_kind=at_kinds, kind=st.sampled_from(ORDER_KINDS))
    def link_traffic_sign_order(self, actor: Actor, at_kind: str, kind: str) -> None:
        """The town's order, ordered and notified, for works that need traffic management."""
        order = self._order(kind)
        case = self.case

        def expect(today: date) -> str | None:
            needed = case.application.traffic_management_needed
            if not needed or kind in ("refused", "foreign", "move"):
                return "reference"
            return None

        error = self._run(
            "link_traffic_sign_order",
            actor,
            at_kind,
            lambda at: case.link_traffic_sign_order(actor=actor, at=at, order=order),
            expect,
        )
        if error is None:
            self.linked = order
            assert case.sign_order is not None
            assert case.sign_order.case_id == order.id
            assert (case.sign_order.valid_from, case.sign_order.valid_until) == order_period(order)

    @rule(
        actor=actors,
        at_kind=at_kinds,
        extended=st.tuples(st.just("expires_on"), st.sampled_from([-1, 0, 1, 1, 14])),
        reason=texts,
    )
    def extend_permit(
        self, actor: Actor, at_kind: str, extended: tuple[str, int], reason: str
    ) -> None:
        """While the permit is in force, to a later last day, with a reason; the fee by tariff."""
        extended_to = self._day(*extended)
        case = self.case
        extensions = len(case.extensions)
        previous_last_day = case.valid_until

        def expect(today: date) -> str | None:
            decision = case.decision
            assert decision is not None
            if not decision.outcome.is_approval:
                return "decision"
            assert case.valid_until is not None
            if today > case.valid_until or extended_to <= case.valid_until:
                return "extended_to"
            return None if clean(reason) else "reason"

        error = self._run(
            "extend_permit",
            actor,
            at_kind,
            lambda at: case.extend_permit(
                actor=actor, at=at, extended_to=extended_to, reason=reason
            ),
            expect,
        )
        if error is None:
            assert case.valid_until == extended_to
            assert len(case.extensions) == extensions + 1
            fee, _rules = in_force(EXTENSION_FEES, self.today).assess(extended_to, extended_to)
            assert case.extensions[-1].fee == fee
            assert case.service_state()["valid_until"] == extended_to
            # § 18 HStrG: the added days' Sondernutzungsgebühr, by the tariff of today.
            assert previous_last_day is not None
            use_fee, _ = in_force(SPECIAL_USE_FEES, self.today).assess(
                self.length, self.width, previous_last_day + timedelta(days=1), extended_to
            )
            assert case.extensions[-1].special_use_fee == use_fee
            assert case.service_state()["extensions"][-1]["special_use_fee"] == use_fee

    @rule(
        actor=actors,
        at_kind=at_kinds,
        amount_kind=st.sampled_from(["required", "required", "less", "more"]),
        form=st.sampled_from(DepositForm),
        received=st.tuples(st.just("today"), st.sampled_from([-400, -1, 0, 0, 1])),
    )
    def take_security_deposit(
        self,
        actor: Actor,
        at_kind: str,
        amount_kind: str,
        form: DepositForm,
        received: tuple[str, int],
    ) -> None:
        """At least the amount the permit requires, once, received since the decision."""
        case = self.case
        required = case.deposit_required
        amount = {
            "required": required,
            "less": required - Decimal("0.01"),
            "more": required + Decimal("100"),
        }[amount_kind]
        received_on = self._day(*received)
        held = case.deposit

        def expect(today: date) -> str | None:
            decision = case.decision
            assert decision is not None
            if not required or held is not None or amount < required:
                return "amount"
            if not berlin_date(decision.decided_at) <= received_on <= today:
                return "received_on"
            return None

        error = self._run(
            "take_security_deposit",
            actor,
            at_kind,
            lambda at: case.take_security_deposit(
                actor=actor, at=at, amount=amount, form=form, received_on=received_on
            ),
            expect,
        )
        if error is None:
            assert case.deposit is not None
            assert case.deposit.amount == amount
            assert case.service_state()["security_deposit"]["held"]["form"] == form.value

    @rule(
        actor=actors,
        at_kind=at_kinds,
        released=relative_days,
        retained_kind=st.sampled_from(["none", "none", "part", "all", "too_much"]),
        reason=optional_texts,
    )
    def release_security_deposit(
        self,
        actor: Actor,
        at_kind: str,
        released: tuple[str, int],
        retained_kind: str,
        reason: str | None,
    ) -> None:
        """After the acceptance (or an unused permit's expiry, or a withdrawal); what is
        retained for open defects lies within the deposit and says why."""
        case = self.case
        held = case.deposit
        released_on = self._day(*released)
        amount = held.amount if held else Decimal(0)
        retained = {
            "none": Decimal(0),
            "part": (amount / 2).quantize(Decimal("0.01")),
            "all": amount,
            "too_much": amount + 1,
        }[retained_kind]
        status = case.status

        def expect(today: date) -> str | None:
            if held is None:
                return "security_deposit"
            if status == RoadOpeningStatus.WARRANTY_RUNNING:
                ready = case.inspections[-1]
            elif status == CaseStatus.WITHDRAWN:
                ready = held.received_on
            else:
                valid_until = case.valid_until
                if valid_until is not None and today <= valid_until:
                    return "status"
                ready = valid_until + timedelta(days=1) if valid_until else held.received_on
            if not max(ready, held.received_on) <= released_on <= today:
                return "released_on"
            if not Decimal(0) <= retained <= amount:
                return "retained"
            if retained and not (reason and clean(reason)):
                return "reason"
            return None

        error = self._run(
            "release_security_deposit",
            actor,
            at_kind,
            lambda at: case.release_security_deposit(
                actor=actor, at=at, released_on=released_on, retained=retained, reason=reason
            ),
            expect,
        )
        if error is None:
            assert case.deposit is None
            assert case.deposits_released[-1]["retained"] == retained
            assert case.deposits_released[-1]["released"] == amount - retained

    # ------------------------------------------------------------ guided step

    @rule(steps=usual_steps, hours_between=hours_between_steps)
    def take_the_usual_steps(
        self, steps: list[tuple[int, DecisionOutcome]], hours_between: int
    ) -> None:
        """Mostly well-formed commands the status allows, so random runs get to the close."""
        for choice, outcome in steps:
            self.now += timedelta(hours=hours_between)
            self._take_the_next_usual_step(choice, outcome)
            self._check_invariants()

    @rule(steps=usual_steps, hours_between=hours_between_steps)
    def keep_taking_the_usual_steps(
        self, steps: list[tuple[int, DecisionOutcome]], hours_between: int
    ) -> None:
        """The same rule again: hypothesis switches rules off at random in each run (swarm
        testing), and a run without any usual steps rarely gets past the decision."""
        self.take_the_usual_steps(steps, hours_between)

    def _take_the_next_usual_step(self, choice: int, outcome: DecisionOutcome) -> None:
        case = self.case
        status = case.status
        decision = case.decision
        if status == CaseStatus.SUBMITTED:
            self.confirm_complete(CLERK, NOW)
        elif status == CaseStatus.IN_REVIEW and case.holder is None:
            self.claim(DELEGATED_CLERK if choice == 0 else CLERK, NOW)
        elif status == CaseStatus.IN_REVIEW and choice == 0:
            self.request_information(CLERK, NOW, ["Lageplan fehlt"], 14, outcome.is_approval)
        elif status == CaseStatus.IN_REVIEW:
            if outcome is DecisionOutcome.REJECTED and choice < 6:
                outcome = DecisionOutcome.APPROVED  # reject less often: approvals go further
            conditions = ["Baustelle sichern"] if outcome.name.endswith("CONDITIONS") else None
            fee = Decimal("120.00") if choice in (1, 5) else None  # refused: the tariff sets it
            expires = None if choice % 2 else 90
            hearing = ("held", "not_needed")[choice % 2] if conditions else "none"
            self.decide(
                HOLDER,
                NOW,
                outcome,
                "Die Voraussetzungen liegen vor.",
                "§§ 16, 18 HStrG",
                conditions,
                None,
                expires,
                fee,
                (),
                hearing,
                None if choice == 6 else DISCRETION,  # without considerations: refused
            )
        elif status == CaseStatus.INFORMATION_REQUESTED:
            self.provide_information(APPLICANT, NOW, "Lageplan anbei")
        elif status == CaseStatus.DECIDED:
            self.notify_as_usual(choice)
        elif case.open_objection is not None and choice % 2:
            self.take_the_legal_step(choice // 2)  # beside the works, whatever their step
        elif status == CaseStatus.NOTIFIED and choice <= 2:
            self.take_the_legal_step(choice)  # an objection in time or late, a defective notice
        elif choice == 7 and case.open_objection is None and self.take_the_legal_step(4):
            pass  # an objection while the works go on
        elif status == CaseStatus.NOTIFIED and choice == 3:  # works may start once notified
            self.start_works(DELEGATED_CLERK, NOW, ("effective_from", 0))
        elif status == CaseStatus.NOTIFIED and case.open_objection is None:
            assert case.objection_deadline is not None
            first = expected_final_from(case)
            assert first is not None
            self._on_the_last_day_and_after(
                first - timedelta(days=1), choice > 2, lambda: self.mark_final(CLERK, NOW)
            )
        elif status == CaseStatus.NOTIFIED:
            self.take_the_legal_step(choice)
        elif status == CaseStatus.FINAL and decision is not None and decision.outcome.is_approval:
            self._use_the_permit(choice, decision)
        elif status == CaseStatus.FINAL and choice == 0:  # rejected: no works may start
            self.start_works(CLERK, NOW, ("today", 0))
        elif status in WORKS_STATUSES:
            self._after_the_works_started(status, choice)
        elif status != CaseStatus.CLOSED:  # rejected and final, or withdrawn
            self.settle_and_close(None)

    def _on_the_last_day_and_after(
        self, last_day: date, and_after: bool, command: Callable[[], None]
    ) -> None:
        """The command on the last day of a period (refused), and on the day after (allowed)."""
        self._move_to(last_day)
        command()
        if and_after:
            self._move_to(last_day + timedelta(days=1))
            command()

    def _use_the_permit(self, choice: int, decision: Decision) -> None:
        """Start the works just outside the permit (refused), then within it; or first try to
        close the file on the permit's last day (refused while in force) and after it. A
        required deposit is taken first (tried once too little); the permit is sometimes
        extended."""
        assert decision.expires_on is not None
        if self.case.deposit_required and self.case.deposit is None:
            if choice == 5:  # the works cannot start without it
                self.start_works(CLERK, NOW, ("today", 0))
            self.take_security_deposit(
                CLERK,
                NOW,
                "less" if choice == 2 else "required",
                DepositForm.BANK_GUARANTEE,
                ("today", 0),
            )
            self.take_security_deposit(CLERK, NOW, "required", DepositForm.CASH, ("today", 0))
        if choice == 6:
            self.extend_permit(CLERK, NOW, ("expires_on", 7), "Witterungsbedingte Verzögerung")
        if self.case.application.traffic_management_needed and self.case.sign_order is None:
            if choice in (1, 3):  # first an order that does not cover the first day
                self.link_traffic_sign_order(CLERK, NOW, "late")
                self.start_works(CLERK, NOW, ("effective_from", 0))
            self.link_traffic_sign_order(CLERK, NOW, "refused" if choice == 4 else "covering")
            self.link_traffic_sign_order(CLERK, NOW, "covering")
        self.start_works(CLERK, NOW, ("expires_on", 1))
        self.start_works(CLERK, NOW, ("effective_from", -1) if choice % 2 else ("today", 1))
        if choice >= 4:
            self._move_to(decision.expires_on)
            self.close(SUPERVISOR, NOW, "Genehmigung ungenutzt abgelaufen")
        if choice == 7:  # the day after the permit expired: no more works, the file closes
            self._move_to(decision.expires_on + timedelta(days=1))
            self.start_works(CLERK, NOW, ("expires_on", 1))
            self.extend_permit(CLERK, NOW, ("expires_on", 7), "zu spät")
            if self.case.deposit is not None:
                self.release_security_deposit(CLERK, NOW, ("today", 0), "none", None)
            self.close(SUPERVISOR, NOW, "Genehmigung ungenutzt abgelaufen")
        if self.case.status == CaseStatus.FINAL:
            valid_until = self.case.valid_until
            assert valid_until is not None
            last_possible = min(valid_until, self.today)
            day = last_possible if choice >= 3 else decision.effective_from
            self.start_works(DELEGATED_CLERK, NOW, ("today", (day - self.today).days))

    def _after_the_works_started(self, status: str, choice: int) -> None:
        """Each step first tries a command just outside what is allowed, then the usual one."""
        case = self.case
        if status == RoadOpeningStatus.WORKS_STARTED:
            if choice == 6:
                self.extend_permit(CLERK, NOW, ("expires_on", 3), "Zusätzliche Leitungsarbeiten")
            if case.deposit_required and case.deposit is None:  # emergency works: afterwards
                self.take_security_deposit(CLERK, NOW, "required", DepositForm.CASH, ("today", 0))
            self.complete_works(CLERK, NOW, ("started", -1) if choice % 2 else ("today", 1))
            self.complete_works(CLERK, NOW, ("started", 0) if choice < 5 else ("today", 0))
        elif status == RoadOpeningStatus.WORKS_COMPLETED:
            if choice % 3 == 0:  # before the works were completed
                self.inspect_restoration(CLERK, NOW, ("completed", -1), [], None)
            elif choice % 3 == 1:  # tomorrow
                self.inspect_restoration(CLERK, NOW, ("today", 1), [], None)
            else:  # defects without a deadline
                self.inspect_restoration(CLERK, NOW, ("today", 0), ["Setzung"], None)
            if choice <= 3:
                self.inspect_restoration(SUPERVISOR, NOW, ("today", 0), ["Setzung"], 14)
            else:
                self.inspect_restoration(CLERK, NOW, ("today", 0), [], None)
        elif status == RoadOpeningStatus.RESTORATION_DEFECTIVE:
            # A deadline on the day of the re-inspection; the day before the last inspection.
            self.inspect_restoration(CLERK, NOW, ("today", 0), ["Fugen offen"], 0)
            self.inspect_restoration(CLERK, NOW, ("inspected", -1), [], None)
            if choice == 0:
                self.inspect_restoration(SUPERVISOR, NOW, ("today", 0), ["Fugen offen"], 30)
            elif choice == 1:
                self.inspect_restoration(CLERK, NOW, ("inspected", 0), [], None)
            else:
                self.inspect_restoration(CLERK, NOW, ("today", 0), [], None)
        elif status == RoadOpeningStatus.WARRANTY_RUNNING:
            assert case.warranty_until is not None
            if case.deposit is not None:
                self.close(CLERK, NOW, "Gewährleistung abgelaufen")  # refused: deposit held
                retained = ("none", "part", "all")[choice % 3]
                reason = "Fugen nicht vergossen" if choice % 3 else None
                self.release_security_deposit(CLERK, NOW, ("inspected", -1), retained, reason)
                self.release_security_deposit(CLERK, NOW, ("today", 0), retained, reason)
            if choice <= 1:
                self.close(CLERK, NOW, "Gewährleistung abgelaufen")
            elif choice == 2:  # an objection lodged while the works went on, settled first
                self.settle_and_close("Gewährleistung abgelaufen")
            else:
                self._on_the_last_day_and_after(
                    case.warranty_until,
                    choice > 3,
                    lambda: self.close(CLERK, NOW, "Gewährleistung abgelaufen"),
                )

    # -------------------------------------------------------------- invariants

    def _check_invariants(self) -> None:
        self.version_counts_the_events_saved()
        self.status_is_one_of_the_lifecycle()
        self.the_legal_track_stands_beside_the_case()
        self.decisions_follow_the_tariff_and_record_their_rules()
        self.the_status_matches_the_decision()
        self.works_dates_lie_within_the_permit()
        self.inspections_and_defects_match_the_status()
        self.the_warranty_runs_exactly_after_an_accepted_restoration()
        self.a_fresh_store_replays_the_same_case()

    @invariant()
    def decisions_follow_the_tariff_and_record_their_rules(self) -> None:
        case = self.case
        assert case.pending_decision is None  # the permit needs no countersignature
        assert case.decision is None or case.decision is case.decisions[-1]
        for decision in case.decisions:
            rules_ids = [r.rules_id for r in decision.rules]
            assert LEAD_TIME_RULES_ID in rules_ids
            [lead_time] = [r for r in decision.rules if r.rules_id == LEAD_TIME_RULES_ID]
            submitted_on = berlin_date(case.submitted_at)
            in_force_then = in_force(LEAD_TIMES, submitted_on)
            start = case.planned_period_start
            if self.emergency:  # no lead time; the reporting period instead
                assert lead_time == lead_time_not_applied(in_force_then, submitted_on, start)
                assert (
                    in_force(EMERGENCY_REPORTING, submitted_on).record(submitted_on, start)
                    in decision.rules
                )
            else:
                assert lead_time == in_force_then.record(submitted_on, start)
                assert EMERGENCY_RULES_ID not in rules_ids
            if decision.outcome.is_approval:
                decided_on = berlin_date(decision.decided_at)
                fee, tariff = in_force(FEE_TARIFFS, decided_on).assess(self.length, self.width)
                assert decision.fee == fee
                assert FEE_RULES_ID in rules_ids
                assert tariff in decision.rules
                deposit, record = in_force(DEPOSITS, decided_on).assess(self.length, self.width)
                assert record in decision.rules
                assert decision.particulars["security_deposit"] == str(deposit)
                assert decision.expires_on is not None
                if decision.notified_on is None or decision.notified_on <= decision.expires_on:
                    assert decision.effective_from <= decision.expires_on
                else:  # notified after its last day: it never took effect (§ 43 HVwVfG)
                    assert decision.effective_from == decision.notified_on
            else:
                assert decision.fee is None
                assert decision.expires_on is None
                assert DEPOSIT_RULES_ID not in rules_ids
                assert FEE_RULES_ID not in rules_ids

    @invariant()
    def the_status_matches_the_decision(self) -> None:
        case = self.case
        if case.status in DECIDED_STATUSES:
            assert case.decision is not None
        if case.status in UNDECIDED:
            assert case.decision is None
            assert case.notified_on is None
        if case.status in WORKS_STATUSES:
            assert case.decision is not None
            assert case.decision.outcome.is_approval

    @invariant()
    def works_dates_lie_within_the_permit(self) -> None:
        case = self.case
        started, completed = case.works_started_on, case.works_completed_on
        works_reported = case.status in WORKS_STATUSES or self.closed_from in WORKS_STATUSES
        assert (started != date.min) is works_reported
        if started != date.min:
            decision = case.decision
            assert decision is not None
            assert case.valid_until is not None
            first = case.planned_period_start if self.emergency else decision.effective_from
            assert first <= started <= case.valid_until
            if not self.emergency and case.deposit_required:
                assert case.deposit is not None or case.deposits_released
        assert (completed != date.min) is (
            works_reported and case.status != RoadOpeningStatus.WORKS_STARTED
        )
        if completed != date.min:
            assert completed >= started

    @invariant()
    def inspections_and_defects_match_the_status(self) -> None:
        case = self.case
        inspected = case.status in INSPECTED_STATUSES or self.closed_from in INSPECTED_STATUSES
        assert bool(case.inspections) is inspected
        assert case.inspections == sorted(case.inspections)
        assert all(day >= case.works_completed_on for day in case.inspections)
        defective = case.status == RoadOpeningStatus.RESTORATION_DEFECTIVE
        assert bool(case.open_defects) is defective
        assert (case.remedy_by is not None) is defective
        if defective:
            assert case.remedy_by is not None
            assert case.remedy_by > case.inspections[-1]

    @invariant()
    def the_warranty_runs_exactly_after_an_accepted_restoration(self) -> None:
        case = self.case
        after_the_warranty = (
            case.status == CaseStatus.CLOSED
            and self.closed_from == RoadOpeningStatus.WARRANTY_RUNNING
        )
        running = case.status == RoadOpeningStatus.WARRANTY_RUNNING
        assert (case.warranty_until is not None) is (running or after_the_warranty)
        if case.warranty_until is not None:
            assert case.warranty_until == years_later(case.inspections[-1], 5)
            assert case.service_state()["warranty_until"] == case.warranty_until
        if after_the_warranty:
            assert case.warranty_until is not None
            assert berlin_date(case.last_activity_at) > case.warranty_until


RoadOpeningMachine.TestCase.settings = PERMIT_SETTINGS
TestRoadOpeningLifecycle = RoadOpeningMachine.TestCase
