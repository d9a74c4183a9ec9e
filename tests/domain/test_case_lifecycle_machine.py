"""Any sequence of case commands, valid or not, keeps the case's invariants.

A hypothesis state machine drives one case through random commands by random actors at a
business time that moves forward by random amounts. After every step the invariants of the
case model hold; a refused command changes nothing; and the events saved so far, replayed
by a fresh store on the same SQLite file, give the same case.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from application.clock import FixedClock
from application.decision_audit import DecisionAudit
from application.store import VorgangStore
from application.transcodings import PersonalDataInClear
from application.views import CaseState
from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import DecisionOutcome, RulesApplied
from domain.errors import (
    CaseHeldByAnotherClerk,
    DomainError,
    InvalidCommand,
    InvalidTransition,
    WrongTenant,
)
from domain.lifecycle import CaseStatus
from domain.working_days import berlin_date
from tests.domain.case_fixtures import (
    APPLICANT,
    CLERK,
    DELEGATED_CLERK,
    FOREIGN_CLERK,
    OTHER_CLERK,
    START,
    SUPERVISOR,
    submitted,
)


class FourEyesPaidCase(Case):
    """A service whose decisions need a countersignature and whose fee is paid before issue."""

    COUNTERSIGN_REQUIRED = True
    PAYMENT_BEFORE_ISSUE = True


class PaidCase(Case):
    """A service whose fee is paid before issue, without a countersignature."""

    PAYMENT_BEFORE_ISSUE = True


ACTORS = (CLERK, OTHER_CLERK, SUPERVISOR, APPLICANT, FOREIGN_CLERK, DELEGATED_CLERK)
HOLDER = "holder"  # the clerk holding the case (CLERK when nobody does)

DECIDED_STATUSES = frozenset(
    {
        CaseStatus.AWAITING_PAYMENT,
        CaseStatus.DECIDED,
        CaseStatus.NOTIFIED,
        CaseStatus.OBJECTION_LODGED,
        CaseStatus.OBJECTION_FORWARDED,
        CaseStatus.FINAL,
    }
)
UNDECIDED_STATUSES = frozenset(
    {
        CaseStatus.SUBMITTED,
        CaseStatus.IN_REVIEW,
        CaseStatus.INFORMATION_REQUESTED,
        CaseStatus.PENDING_COUNTERSIGN,
    }
)
NOTIFIED_STATUSES = frozenset(
    {
        CaseStatus.NOTIFIED,
        CaseStatus.OBJECTION_LODGED,
        CaseStatus.OBJECTION_FORWARDED,
        CaseStatus.FINAL,
    }
)

# Business time: usually now; sometimes naive, or before the case was submitted (both refused).
NOW = "now"
at_kinds = st.sampled_from([NOW, NOW, NOW, NOW, NOW, NOW, "naive", "before_submission"])
actors = st.sampled_from(ACTORS)
actors_or_holder = st.sampled_from((*ACTORS, HOLDER, HOLDER, HOLDER))
texts = st.one_of(
    st.sampled_from(["Lageplan fehlt", "Die Voraussetzungen liegen vor.", "  Urlaub  "]),
    st.sampled_from(["", "   "]),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12),
)
optional_texts = st.one_of(st.none(), texts)
days_from_today = st.one_of(st.none(), st.integers(min_value=-40, max_value=40))
SETTINGS = settings(
    max_examples=80,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class CaseLifecycleMachine(RuleBasedStateMachine):
    """One case, any commands; the store on a SQLite file of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="vorgang-machine-"))
        self.env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.directory / "vorgang.db"),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
        self.store = VorgangStore(env=self.env, personal_data=PersonalDataInClear())
        self.now = START
        self.events_saved = 0
        self.successes_since_replay = 0
        self.latest_due_on: date | None = None
        self.case: Case

    # ------------------------------------------------------------------ set-up

    @initialize(case_class=st.sampled_from([Case, PaidCase, FourEyesPaidCase]))
    def submit(self, case_class: type[Case]) -> None:
        self.case = submitted(case_class, at=START)
        self._save()
        assert self.case.status == CaseStatus.SUBMITTED
        assert self.case.due_on is None

    def teardown(self) -> None:
        try:
            if hasattr(self, "case") and self.successes_since_replay:
                self._check_replay_in_fresh_store()
            if hasattr(self, "case"):
                self._check_every_decision_replays()
        finally:
            self.store.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    def _check_every_decision_replays(self) -> None:
        """Every decision the machine produced follows from the rules it recorded."""
        auditor = Actor("rpa", "Rechnungsprüfung", Role.AUDITOR, "usingen")
        audit = DecisionAudit(self.store, FixedClock(self.now))
        for record in audit.records(self.case.id, actor=auditor):
            report = audit.replay(self.case.id, record.number, actor=auditor)
            assert report.verdict == "consistent", report

    # ----------------------------------------------------------------- helpers

    def _save(self) -> None:
        recordings = self.store.save(self.case)
        for recording in recordings:
            self.events_saved += 1
            assert recording.domain_event.originator_version == self.events_saved
        self.successes_since_replay += 1

    def _at(self, kind: str) -> datetime:
        if kind == "naive":
            return self.now.replace(tzinfo=None)
        if kind == "before_submission":
            return self.case.submitted_at - timedelta(minutes=1)
        return self.now

    def _actor(self, choice: Actor | str) -> Actor:
        if isinstance(choice, Actor):
            return choice
        holder = self.case.holder
        return next((a for a in ACTORS if holder and a.id == holder.id), CLERK)

    @property
    def today(self) -> date:
        return berlin_date(self.now)

    def _state(self) -> dict[str, Any]:
        # Values are immutable except the lists and dicts, which a refused command could append
        # to: copying those is enough (and much faster than a deep copy on every step).
        return {
            k: list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v
            for k, v in vars(self.case).items()
            if k != "_pending_events"
        }

    def _run(
        self,
        command: str,
        actor: Actor,
        at_kind: str,
        act: Callable[[datetime], None],
    ) -> DomainError | None:
        """Give the command; check what any command must do when refused or accepted."""
        case = self.case
        self.now += timedelta(minutes=1)  # so a refused command that records its time shows
        at = self._at(at_kind)
        before = self._state()
        status_before = case.status
        allowed_before = case.allowed_commands()
        assert not case.pending_events
        refused: DomainError | None = None
        try:
            act(at)
        except DomainError as error:
            refused = error
        if refused is not None:
            assert self._state() == before, f"refused {command} ({refused}) changed the case"
            assert not case.pending_events, f"refused {command} ({refused}) left an event"
            if command not in allowed_before:
                assert isinstance(refused, InvalidTransition), refused
                assert refused.status == status_before
                assert refused.allowed == tuple(sorted(allowed_before))
            elif at_kind != NOW:
                assert isinstance(refused, InvalidCommand), refused
                assert refused.field == "at"
            elif actor is FOREIGN_CLERK:
                assert isinstance(refused, WrongTenant), refused
            else:
                assert not isinstance(refused, InvalidTransition | WrongTenant), refused
            return refused
        assert command in allowed_before, f"{command} succeeded in {status_before}"
        assert at_kind == NOW
        assert actor is not FOREIGN_CLERK
        [new_event] = case.pending_events
        assert new_event.actor.id == actor.id  # type: ignore[attr-defined]
        assert new_event.actor.on_behalf_of == actor.on_behalf_of  # type: ignore[attr-defined]
        assert new_event.at == at  # type: ignore[attr-defined]
        assert case.last_activity_at == at
        self._save()
        return None

    def _check_replay_in_fresh_store(self) -> None:
        fresh = VorgangStore(env=self.env, personal_data=PersonalDataInClear())
        try:
            replayed: Case = fresh.repository.get(self.case.id)
            stored_events = list(fresh.events.get(self.case.id))
        finally:
            fresh.close()
        assert type(replayed) is type(self.case)
        assert len(stored_events) == self.events_saved == self.case.version
        expected = {k: v for k, v in vars(self.case).items() if k != "_pending_events"}
        actual = {k: v for k, v in vars(replayed).items() if k != "_pending_events"}
        assert actual == expected
        assert CaseState.of(replayed) == CaseState.of(self.case)
        self.successes_since_replay = 0

    # ------------------------------------------------------------------- time

    @rule(
        delta=st.one_of(
            st.integers(min_value=0, max_value=600).map(lambda m: timedelta(minutes=m)),
            st.integers(min_value=1, max_value=45).map(lambda d: timedelta(days=d)),
        )
    )
    def advance_time(self, delta: timedelta) -> None:
        self.now += delta

    # --------------------------------------------------------------- commands

    @rule(actor=actors, at_kind=at_kinds)
    def confirm_complete(self, actor: Actor, at_kind: str) -> None:
        awaited = self.case.clock.awaits_completeness
        error = self._run(
            "confirm_complete",
            actor,
            at_kind,
            lambda at: self.case.confirm_complete(actor=actor, at=at),
        )
        if error is None:
            assert awaited
            assert self.case.status == CaseStatus.IN_REVIEW
            assert self.case.clock.started_on == self.today
            assert self.case.clock.is_running
            assert self.case.due_on is not None

    @rule(actor=actors, at_kind=at_kinds)
    def claim(self, actor: Actor, at_kind: str) -> None:
        holder = self.case.holder
        status = self.case.status
        error = self._run("claim", actor, at_kind, lambda at: self.case.claim(actor=actor, at=at))
        if error is None:
            assert holder is None
            assert self.case.holder is not None
            assert self.case.holder.id == actor.id
            assert self.case.status == status
        elif isinstance(error, CaseHeldByAnotherClerk):
            assert holder is not None
            assert holder.id != actor.id

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

    @rule(actor=actors_or_holder, at_kind=at_kinds, reason=optional_texts)
    def release(self, actor: Actor | str, at_kind: str, reason: str | None) -> None:
        who = self._actor(actor)
        holder = self.case.holder
        error = self._run(
            "release",
            who,
            at_kind,
            lambda at: self.case.release(actor=who, at=at, reason=reason),
        )
        if error is None:
            assert holder is not None
            assert holder.id == who.id or who is SUPERVISOR
            assert self.case.holder is None

    @rule(
        actor=actors,
        at_kind=at_kinds,
        questions=st.lists(texts, max_size=2),
        reply_in_days=st.integers(min_value=-2, max_value=30),
        missing_documents=st.booleans(),
    )
    def request_information(
        self,
        actor: Actor,
        at_kind: str,
        questions: list[str],
        reply_in_days: int,
        missing_documents: bool,
    ) -> None:
        error = self._run(
            "request_information",
            actor,
            at_kind,
            lambda at: self.case.request_information(
                actor=actor,
                at=at,
                questions=questions,
                reply_by=self.today + timedelta(days=reply_in_days),
                missing_documents=missing_documents,
            ),
        )
        if error is None:
            assert self.case.status == CaseStatus.INFORMATION_REQUESTED
            assert self.case.open_request is not None
            assert self.case.open_request.missing_documents is missing_documents
            assert reply_in_days > 0
            if missing_documents:
                assert self.case.due_on is None
                assert self.case.clock.awaits_completeness

    @rule(actor=actors, at_kind=at_kinds, answer=texts)
    def provide_information(self, actor: Actor, at_kind: str, answer: str) -> None:
        error = self._run(
            "provide_information",
            actor,
            at_kind,
            lambda at: self.case.provide_information(actor=actor, at=at, answer=answer),
        )
        if error is None:
            assert self.case.status in (CaseStatus.IN_REVIEW, CaseStatus.SUBMITTED)
            assert self.case.open_request is None
            assert self.case.clock.stopped_since is None

    @rule(actor=actors, at_kind=at_kinds, text=texts)
    def add_note(self, actor: Actor, at_kind: str, text: str) -> None:
        notes = len(self.case.notes)
        status = self.case.status
        error = self._run(
            "add_note",
            actor,
            at_kind,
            lambda at: self.case.add_note(actor=actor, at=at, text=text),
        )
        if error is None:
            assert actor is not APPLICANT
            assert len(self.case.notes) == notes + 1
            assert self.case.status == status

    @rule(
        actor=actors,
        at_kind=at_kinds,
        working_days=st.integers(min_value=-1, max_value=15),
        reason=texts,
    )
    def extend_period(self, actor: Actor, at_kind: str, working_days: int, reason: str) -> None:
        clock = self.case.clock
        error = self._run(
            "extend_period",
            actor,
            at_kind,
            lambda at: self.case.extend_period(
                actor=actor, at=at, working_days=working_days, reason=reason
            ),
        )
        if error is None:
            assert not clock.is_extended
            assert self.case.clock.extension_working_days == working_days > 0
            if clock.due_on is not None:
                assert self.case.due_on is not None
                assert self.case.due_on > clock.due_on

    @rule(
        actor=actors_or_holder,
        at_kind=at_kinds,
        outcome=st.sampled_from(DecisionOutcome),
        justification=texts,
        legal_basis=st.sampled_from(["§ 16 HStrG", "§ 45 StVO", " "]),
        legal_remedy_notice=st.sampled_from(["Gegen diesen Bescheid ... Widerspruch", ""]),
        conditions=st.sampled_from([None, [], ["Auflage: Baustelle sichern"], ["  "]]),
        effective_in_days=days_from_today,
        expires_in_days=st.one_of(st.none(), st.integers(min_value=-10, max_value=400)),
        fee=st.sampled_from([None, Decimal("0"), Decimal("120.00"), Decimal("-5")]),
        rules=st.sampled_from([(), (RulesApplied("tariff", "2026-1", {"zone": "A", "m": 12}),)]),
    )
    def decide(
        self,
        actor: Actor | str,
        at_kind: str,
        outcome: DecisionOutcome,
        justification: str,
        legal_basis: str,
        legal_remedy_notice: str,
        conditions: list[str] | None,
        effective_in_days: int | None,
        expires_in_days: int | None,
        fee: Decimal | None,
        rules: tuple[RulesApplied, ...],
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
                legal_remedy_notice=legal_remedy_notice,
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
            ),
        )
        if error is not None:
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
        actor=actors,
        at_kind=at_kinds,
        pay_the_fee=st.booleans(),
        payment_reference=st.sampled_from(["KASSE-2026-17", " "]),
    )
    def record_payment(
        self, actor: Actor, at_kind: str, pay_the_fee: bool, payment_reference: str
    ) -> None:
        decision = self.case.decision
        fee = decision.fee if decision is not None else None
        amount = fee if pay_the_fee and fee is not None else Decimal("1.00")
        error = self._run(
            "record_payment",
            actor,
            at_kind,
            lambda at: self.case.record_payment(
                actor=actor, at=at, amount=amount, payment_reference=payment_reference
            ),
        )
        if error is None:
            assert fee is not None
            assert amount == fee
            assert self.case.fee_paid == fee
            assert self.case.status == CaseStatus.DECIDED

    @rule(actor=actors, at_kind=at_kinds, notified_in_days=days_from_today)
    def notify(self, actor: Actor, at_kind: str, notified_in_days: int | None) -> None:
        notified_on = (
            None if notified_in_days is None else self.today + timedelta(days=notified_in_days)
        )
        error = self._run(
            "notify",
            actor,
            at_kind,
            lambda at: self.case.notify(actor=actor, at=at, notified_on=notified_on),
        )
        if error is None:
            assert self.case.status == CaseStatus.NOTIFIED
            assert self.case.notified_on == (notified_on or self.today)

    @rule(actor=actors, at_kind=at_kinds, grounds=texts, received_in_days=days_from_today)
    def lodge_objection(
        self, actor: Actor, at_kind: str, grounds: str, received_in_days: int | None
    ) -> None:
        received_on = (
            None if received_in_days is None else self.today + timedelta(days=received_in_days)
        )
        error = self._run(
            "lodge_objection",
            actor,
            at_kind,
            lambda at: self.case.lodge_objection(
                actor=actor, at=at, grounds=grounds, received_on=received_on
            ),
        )
        if error is None:
            objection = self.case.objection
            assert objection is not None
            assert self.case.status == CaseStatus.OBJECTION_LODGED
            assert self.case.objection_deadline is not None
            assert self.case.notified_on is not None
            assert self.case.notified_on <= objection.received_on <= self.case.objection_deadline

    @rule(actor=actors, at_kind=at_kinds, reason=texts)
    def remedy_objection(self, actor: Actor, at_kind: str, reason: str) -> None:
        error = self._run(
            "remedy_objection",
            actor,
            at_kind,
            lambda at: self.case.remedy_objection(actor=actor, at=at, reason=reason),
        )
        if error is None:
            assert self.case.status == CaseStatus.IN_REVIEW
            assert self.case.decision is None
            assert self.case.decisions

    @rule(
        actor=actors,
        at_kind=at_kinds,
        authority=st.sampled_from(["Kreisausschuss Hochtaunuskreis", " "]),
        reason=texts,
    )
    def forward_objection(self, actor: Actor, at_kind: str, authority: str, reason: str) -> None:
        error = self._run(
            "forward_objection",
            actor,
            at_kind,
            lambda at: self.case.forward_objection(
                actor=actor, at=at, authority=authority, reason=reason
            ),
        )
        if error is None:
            assert self.case.status == CaseStatus.OBJECTION_FORWARDED

    @rule(actor=actors, at_kind=at_kinds)
    def mark_final(self, actor: Actor, at_kind: str) -> None:
        error = self._run(
            "mark_final", actor, at_kind, lambda at: self.case.mark_final(actor=actor, at=at)
        )
        if error is None:
            assert self.case.status == CaseStatus.FINAL
            assert self.case.objection_deadline is not None
            assert self.today > self.case.objection_deadline

    @rule(actor=actors, at_kind=at_kinds, reason=texts)
    def withdraw(self, actor: Actor, at_kind: str, reason: str) -> None:
        error = self._run(
            "withdraw",
            actor,
            at_kind,
            lambda at: self.case.withdraw(actor=actor, at=at, reason=reason),
        )
        if error is None:
            assert self.case.status == CaseStatus.WITHDRAWN
            assert self.case.withdrawal_reason is not None

    @rule(actor=actors, at_kind=at_kinds, reason=optional_texts)
    def close(self, actor: Actor, at_kind: str, reason: str | None) -> None:
        error = self._run(
            "close",
            actor,
            at_kind,
            lambda at: self.case.close(actor=actor, at=at, reason=reason),
        )
        if error is None:
            assert self.case.status == CaseStatus.CLOSED
            assert self.case.allowed_commands() == frozenset()

    # ------------------------------------------------------------ guided step

    @rule(
        steps=st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=7),
                st.sampled_from(DecisionOutcome),
                st.sampled_from([0, 0, 1, 30, 24 * 5]),
            ),
            min_size=1,
            max_size=6,
        )
    )
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
            self.decide(
                HOLDER,
                NOW,
                outcome,
                "Begründung",
                "§ 16 HStrG",
                "Widerspruch ...",
                conditions,
                None,
                None,
                fee,
                (),
            )
        elif status == CaseStatus.INFORMATION_REQUESTED:
            self.provide_information(APPLICANT, NOW, "anbei")
        elif status == CaseStatus.PENDING_COUNTERSIGN:
            if choice == 0:
                self.refuse_countersign(SUPERVISOR, NOW, "Begründung unvollständig")
            else:
                self.countersign(SUPERVISOR, NOW)
        elif status == CaseStatus.AWAITING_PAYMENT:
            self.record_payment(CLERK, NOW, True, "KASSE-2026-17")
        elif status == CaseStatus.DECIDED:
            self.notify(CLERK, NOW, None)
        elif status == CaseStatus.NOTIFIED and choice <= 1:
            self.lodge_objection(APPLICANT, NOW, "Die Auflage ist unverhältnismäßig", None)
        elif status == CaseStatus.NOTIFIED:
            self.now += timedelta(days=40)
            self.mark_final(CLERK, NOW)
        elif status == CaseStatus.OBJECTION_LODGED and choice <= 2:
            self.remedy_objection(SUPERVISOR, NOW, "Widerspruch begründet")
        elif status == CaseStatus.OBJECTION_LODGED:
            self.forward_objection(CLERK, NOW, "Kreisausschuss Hochtaunuskreis", "keine Abhilfe")
        elif status != CaseStatus.CLOSED:
            self.close(CLERK, NOW, None)

    # -------------------------------------------------------------- invariants

    def _check_invariants(self) -> None:
        self.version_counts_the_events_saved()
        self.status_is_one_of_the_lifecycle()
        self.the_due_date_never_lies_before_the_start_nor_moves_earlier()
        self.the_clock_waits_only_for_the_applicant()
        self.an_open_request_means_waiting_for_information()
        self.a_decided_case_has_a_decision()
        self.an_undecided_case_has_no_decision_in_force()
        self.nobody_holds_a_withdrawn_or_closed_case()
        self.a_fresh_store_replays_the_same_case()

    @invariant()
    def version_counts_the_events_saved(self) -> None:
        assert self.case.version == self.events_saved
        assert not self.case.pending_events

    @invariant()
    def status_is_one_of_the_lifecycle(self) -> None:
        assert self.case.status in type(self.case).LIFECYCLE

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
    def an_open_request_means_waiting_for_information(self) -> None:
        waiting = self.case.status == CaseStatus.INFORMATION_REQUESTED
        assert (self.case.open_request is not None) is waiting

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

    @invariant()
    def nobody_holds_a_withdrawn_or_closed_case(self) -> None:
        if self.case.status in (CaseStatus.WITHDRAWN, CaseStatus.CLOSED):
            assert self.case.holder is None

    @invariant()
    def a_fresh_store_replays_the_same_case(self) -> None:
        if self.successes_since_replay >= 5:
            self._check_replay_in_fresh_store()


CaseLifecycleMachine.TestCase.settings = SETTINGS
TestCaseLifecycle = CaseLifecycleMachine.TestCase
