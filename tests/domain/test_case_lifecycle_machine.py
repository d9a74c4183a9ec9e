"""Any sequence of case commands, valid or not, keeps the case's invariants.

The general case (and two variants: a fee paid before issue, with and without the four-eyes
countersignature) on the shared ``ServiceMachine``: its lifecycle rules, the legal track beside
it (notification, objections, finality, withdrawal until final), the checks every command
must pass and the replay in a fresh store come from there. Here are the commands only these
variants exercise (assignment, a decision with any terms the clerk gives, the
countersignature, the payment, a fee refunded with a remedy) and the invariants of the
processing clock and the decision.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import DecisionOutcome, RulesApplied
from domain.errors import InvalidCommand, WrongTenant
from domain.lifecycle import CaseStatus
from domain.payments.kassenzeichen import is_valid_kassenzeichen
from tests.domain.case_fixtures import (
    APPLICANT,
    CLERK,
    DELEGATED_CLERK,
    START,
    SUPERVISOR,
    submitted,
)
from tests.domain.service_machine import (
    HOLDER,
    NOW,
    SETTINGS,
    ServiceMachine,
    actors,
    actors_or_holder,
    at_kinds,
    days_from_today,
    hearing_arguments,
    hearing_refusal,
    hearings,
    texts,
)

CASH_OFFICE = Actor("kasse.usingen", "Gemeindekasse Usingen", Role.CASH_OFFICE, "usingen")
PAYMENTS = Actor("system:payments", "Zahlungsverkehr", Role.SYSTEM, "usingen")


class FourEyesPaidCase(Case):
    """A service whose decisions need a countersignature and whose fee is paid before issue."""

    COUNTERSIGN_REQUIRED = True
    PAYMENT_BEFORE_ISSUE = True


class PaidCase(Case):
    """A service whose fee is paid before issue, without a countersignature."""

    PAYMENT_BEFORE_ISSUE = True


DECIDED_STATUSES = frozenset(
    {CaseStatus.AWAITING_PAYMENT, CaseStatus.DECIDED, CaseStatus.NOTIFIED, CaseStatus.FINAL}
)
UNDECIDED_STATUSES = frozenset(
    {
        CaseStatus.SUBMITTED,
        CaseStatus.IN_REVIEW,
        CaseStatus.INFORMATION_REQUESTED,
        CaseStatus.PENDING_COUNTERSIGN,
    }
)
NOTIFIED_STATUSES = frozenset({CaseStatus.NOTIFIED, CaseStatus.FINAL})

CASE_SETTINGS = settings(SETTINGS, max_examples=80)
usual_steps_with_pauses = st.tuples(
    st.integers(min_value=0, max_value=7),
    st.sampled_from(DecisionOutcome),
    st.sampled_from([0, 0, 1, 30, 24 * 5]),
)


class CaseLifecycleMachine(ServiceMachine):
    """One case, any commands."""

    PROGRESS = (
        CaseStatus.SUBMITTED,
        CaseStatus.IN_REVIEW,
        CaseStatus.DECIDED,
        CaseStatus.NOTIFIED,
        CaseStatus.FINAL,
    )

    def __init__(self) -> None:
        super().__init__()
        self.latest_due_on: date | None = None
        self.withdrawals = True

    # ------------------------------------------------------------------ set-up

    @initialize(
        case_class=st.sampled_from([Case, PaidCase, FourEyesPaidCase]),
        head_start=st.lists(usual_steps_with_pauses, max_size=12),
    )
    def submit(
        self, case_class: type[Case], head_start: list[tuple[int, DecisionOutcome, int]]
    ) -> None:
        self.case = submitted(case_class, at=START)
        self._save()
        assert self.case.status == CaseStatus.SUBMITTED
        assert self.case.due_on is None
        # Hypothesis switches rules off at random (swarm testing): a head start, which always
        # runs, takes most runs some way into the lifecycle and its legal track.
        if head_start:
            self.take_the_usual_steps(head_start)

    # ------------------------------------------------- the general case's own

    @rule(actor=actors, at_kind=at_kinds, assignee=actors, reason=texts)
    def assign(self, actor: Actor, at_kind: str, assignee: Actor, reason: str) -> None:
        holder = self.case.holder
        error = self._run(
            "assign",
            actor,
            at_kind,
            lambda at: self.case.assign(actor=actor, at=at, assignee=assignee, reason=reason),
        )
        if error is None:
            assert actor is SUPERVISOR
            assert assignee.role in (Role.CLERK, Role.SUPERVISOR)
            assert "usingen" in (assignee.tenant, assignee.on_behalf_of)
            assert holder is None or holder.id != assignee.id
            assert self.case.holder is not None
            assert self.case.holder.id == assignee.id
            [event] = self.store.events.get(self.case.id, gt=self.case.version - 1)
            assert event.previous_holder == (holder.id if holder else None)  # type: ignore[attr-defined]
        elif actor is not SUPERVISOR and "assign" in self.case.allowed_commands():
            assert isinstance(error, InvalidCommand | WrongTenant)

    @rule(
        actor=actors_or_holder,
        at_kind=at_kinds,
        outcome=st.sampled_from(DecisionOutcome),
        justification=texts,
        legal_basis=st.sampled_from(["§ 16 HStrG", "§ 45 StVO", " "]),
        conditions=st.sampled_from([None, [], ["Auflage: Baustelle sichern"], ["  "]]),
        effective_in_days=days_from_today,
        expires_in_days=st.one_of(st.none(), st.integers(min_value=-10, max_value=400)),
        fee=st.sampled_from([None, Decimal("0"), Decimal("120.00"), Decimal("-5")]),
        rules=st.sampled_from([(), (RulesApplied("tariff", "2026-1", {"zone": "A", "m": 12}),)]),
        hearing=hearings,
        discretion=st.sampled_from([None, None, "Abwägung"]),
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
        discretion: str | None = None,
    ) -> None:
        who = self._actor(actor)
        holder = self.case.holder
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
                effective_from=(
                    None
                    if effective_in_days is None
                    else self.today + timedelta(days=effective_in_days)
                ),
                expires_on=(
                    None
                    if expires_in_days is None
                    else self.today + timedelta(days=expires_in_days)
                ),
                fee=fee,
                rules=rules,
                discretion=discretion,
                **hearing_arguments(hearing, self.today),
            ),
        )
        given = any(c.strip() for c in conditions or [])
        refusal = hearing_refusal(hearing, given) or self.discretion_refusal(discretion)
        if error is not None or refusal is not None:
            assert error is not None, f"decided despite {refusal}"
            return
        assert holder is not None
        assert holder.id == who.id
        case = self.case
        if case.COUNTERSIGN_REQUIRED:
            assert case.status == CaseStatus.PENDING_COUNTERSIGN
            decision = case.pending_decision
        else:
            decision = case.decision
            payment_due = case.PAYMENT_BEFORE_ISSUE and outcome.is_approval and bool(fee)
            expected = CaseStatus.AWAITING_PAYMENT if payment_due else CaseStatus.DECIDED
            assert case.status == expected
        assert decision is not None
        assert decision.outcome is outcome
        assert decision.decided_by.id == who.id
        assert bool(decision.conditions) is (outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS)
        assert decision.fee is None or decision.fee >= 0
        self.check_the_decision_record(decision, hearing, discretion)

    @rule(actor=actors, at_kind=at_kinds)
    def countersign(self, actor: Actor, at_kind: str) -> None:
        pending = self.case.pending_decision
        error = self._run(
            "countersign", actor, at_kind, lambda at: self.case.countersign(actor=actor, at=at)
        )
        if error is None:
            assert pending is not None
            assert actor is SUPERVISOR
            assert pending.decided_by.id != actor.id
            decision = self.case.decision
            assert decision is not None
            assert decision.countersigned_by is not None
            assert decision.countersigned_by.id == actor.id
            assert self.case.pending_decision is None
            assert self.case.status in (CaseStatus.DECIDED, CaseStatus.AWAITING_PAYMENT)

    @rule(actor=actors, at_kind=at_kinds, reason=texts)
    def refuse_countersign(self, actor: Actor, at_kind: str, reason: str) -> None:
        error = self._run(
            "refuse_countersign",
            actor,
            at_kind,
            lambda at: self.case.refuse_countersign(actor=actor, at=at, reason=reason),
        )
        if error is None:
            assert actor is SUPERVISOR
            assert self.case.status == CaseStatus.IN_REVIEW
            assert self.case.pending_decision is None

    @rule(
        actor=st.sampled_from([CASH_OFFICE, PAYMENTS, CLERK]),
        at_kind=at_kinds,
        pay_the_fee=st.booleans(),
        known=st.booleans(),
    )
    def settle_charge(self, actor: Actor, at_kind: str, pay_the_fee: bool, known: bool) -> None:
        case = self.case
        open_charges = [c for c in case.charges if c.kassenzeichen not in case.settled_charges]
        charge = open_charges[0] if open_charges else None
        kassenzeichen = charge.kassenzeichen if charge and known else "434-26-000001-99-3"
        amount = charge.amount if charge and pay_the_fee else Decimal("1.00")
        status_before = case.status
        error = self._run(
            "settle_charge",
            actor,
            at_kind,
            lambda at: case.settle_charge(
                actor=actor, at=at, kassenzeichen=kassenzeichen, amount=amount, payment="P-17"
            ),
        )
        if error is None:
            assert actor.role in (Role.CASH_OFFICE, Role.SYSTEM)
            assert charge is not None
            assert known
            assert amount == charge.amount
            assert kassenzeichen in case.settled_charges
            if status_before == CaseStatus.AWAITING_PAYMENT:
                waiting = case.open_prepaid_charges()
                expected = CaseStatus.AWAITING_PAYMENT if waiting else CaseStatus.DECIDED
                assert case.status == expected
            else:
                assert case.status == status_before

    # ------------------------------------------------------------ guided step

    @rule(steps=st.lists(usual_steps_with_pauses, min_size=1, max_size=6))
    def take_the_usual_steps(self, steps: list[tuple[int, DecisionOutcome, int]]) -> None:
        """Well-formed commands the status allows, so random runs get deep into the lifecycle."""
        for choice, outcome, hours_later in steps:
            self.now += timedelta(hours=hours_later)
            self._take_the_next_usual_step(choice, outcome)
            self._check_invariants()

    def _take_the_next_usual_step(self, choice: int, outcome: DecisionOutcome) -> None:
        case = self.case
        status = case.status
        if status == CaseStatus.SUBMITTED:
            self.confirm_complete(CLERK, NOW)
        elif status == CaseStatus.IN_REVIEW and case.holder is None:
            self.claim(DELEGATED_CLERK if choice == 0 else CLERK, NOW)
        elif status == CaseStatus.IN_REVIEW and choice <= 1:
            self.request_information(CLERK, NOW, ["Lageplan fehlt"], 14, choice == 1)
        elif status == CaseStatus.IN_REVIEW and choice == 2 and not case.clock.is_extended:
            self.extend_period(SUPERVISOR, NOW, 10, "Gutachten des Bauamts steht aus")
        elif status == CaseStatus.IN_REVIEW:
            conditions = ["Baustelle sichern"] if outcome.name.endswith("CONDITIONS") else None
            fee = Decimal("120.00") if choice % 2 else None
            hearing = ("held", "not_needed")[choice % 2] if conditions else "none"
            self.decide(
                HOLDER,
                NOW,
                outcome,
                "Begründung",
                "§ 16 HStrG",
                conditions,
                None,
                None,
                fee,
                (),
                hearing,
            )
        elif status == CaseStatus.INFORMATION_REQUESTED:
            self.provide_information(APPLICANT, NOW, "anbei")
        elif status == CaseStatus.PENDING_COUNTERSIGN:
            if choice == 0:
                self.refuse_countersign(SUPERVISOR, NOW, "Begründung unvollständig")
            else:
                self.countersign(SUPERVISOR, NOW)
        elif status == CaseStatus.AWAITING_PAYMENT:
            self.settle_charge(CASH_OFFICE, NOW, True, True)
        elif status == CaseStatus.DECIDED:
            self.notify_as_usual(choice)
        elif status in (CaseStatus.NOTIFIED, CaseStatus.FINAL) and self.take_the_legal_step(choice):
            pass  # an objection and its ways, a defective notice, finality, reinstatement
        elif status == CaseStatus.NOTIFIED and choice == 6 and self.withdrawals:
            self.withdraw(APPLICANT, NOW, None)  # until final, without a reason
        elif status == CaseStatus.NOTIFIED:
            self.now += timedelta(days=40)
            self.mark_final(CLERK, NOW)
        elif status != CaseStatus.CLOSED:
            self.settle_and_close(None)

    # -------------------------------------------------------------- invariants

    def _check_invariants(self) -> None:
        self.version_counts_the_events_saved()
        self.status_is_one_of_the_lifecycle()
        self.the_legal_track_stands_beside_the_case()
        self.the_due_date_never_lies_before_the_start_nor_moves_earlier()
        self.the_clock_waits_only_for_the_applicant()
        self.a_decided_case_has_a_decision()
        self.an_undecided_case_has_no_decision_in_force()
        self.a_fresh_store_replays_the_same_case()

    @invariant()
    def every_fee_in_force_is_charged_once(self) -> None:
        """A decision that took effect with a fee charged exactly that fee, under a valid
        Kassenzeichen of its own; the case awaits payment only while a prepaid one is open."""
        case = self.case
        for number, decision in enumerate(case.decisions, start=1):
            charged = case.charges_of_decision(number)
            fee = decision.fee if decision.outcome.is_approval and decision.fee else None
            assert sum((c.amount for c in charged), Decimal(0)) == (fee or Decimal(0))
        numbers = [c.kassenzeichen for c in case.charges]
        assert len(set(numbers)) == len(numbers)
        assert all(is_valid_kassenzeichen(n) for n in numbers)
        if case.status == CaseStatus.AWAITING_PAYMENT:
            assert case.open_prepaid_charges()

    @invariant()
    def the_due_date_never_lies_before_the_start_nor_moves_earlier(self) -> None:
        clock = self.case.clock
        due_on = self.case.due_on
        assert due_on == clock.due_on
        if clock.started_on is None:
            assert due_on is None
        if due_on is not None:
            assert clock.started_on is not None
            assert due_on >= clock.started_on
            if self.latest_due_on is not None:
                assert due_on >= self.latest_due_on
            self.latest_due_on = due_on
        assert clock.waited_working_days >= 0
        assert clock.extension_working_days >= 0

    @invariant()
    def the_clock_waits_only_for_the_applicant(self) -> None:
        if self.case.clock.stopped_since is not None:
            assert self.case.status in (
                CaseStatus.INFORMATION_REQUESTED,
                CaseStatus.WITHDRAWN,
                CaseStatus.CLOSED,
            )

    @invariant()
    def a_decided_case_has_a_decision(self) -> None:
        case = self.case
        if case.status in DECIDED_STATUSES:
            assert case.decision is not None
        if case.status in NOTIFIED_STATUSES:
            assert case.notified_on is not None
            assert case.objection_deadline is not None
            assert case.objection_deadline >= case.notified_on
        if case.status == CaseStatus.AWAITING_PAYMENT:
            assert case.decision is not None
            assert case.decision.outcome.is_approval
            assert case.decision.fee
        waiting_for_countersign = case.status == CaseStatus.PENDING_COUNTERSIGN
        assert (case.pending_decision is not None) is waiting_for_countersign
        assert case.decision is None or case.decision is case.decisions[-1]

    @invariant()
    def an_undecided_case_has_no_decision_in_force(self) -> None:
        if self.case.status in UNDECIDED_STATUSES:
            assert self.case.decision is None
            assert self.case.notified_on is None
            assert self.case.objection_deadline is None


CaseLifecycleMachine.TestCase.settings = CASE_SETTINGS
TestCaseLifecycle = CaseLifecycleMachine.TestCase
