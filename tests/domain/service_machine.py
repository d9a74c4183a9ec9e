"""A hypothesis state machine for one case of a service, to extend per service.

It drives one case, created from application data the way the application creates it,
through random commands by random actors (a clerk of another tenant among them) at a
business time that moves forward by minutes, days or years. ``_run`` checks what every
command must do: a refused command changes nothing and records nothing, a command the
lifecycle does not allow is an ``InvalidTransition`` naming the status and the allowed
commands, an accepted one records exactly one event naming who and when. Where a rule
predicts the outcome (``expect``), the refusal must name that field. The shared lifecycle's
commands are rules here; a service adds its own commands, invariants and usual steps. At
the end (and every few steps) a fresh store replays the same case from the SQLite file, and
every decision the machine produced replays as consistent against the rules it recorded.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from uuid import uuid4

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from pydantic import BaseModel

from application.clock import FixedClock
from application.decision_audit import DecisionAudit
from application.store import VorgangStore
from application.views import CaseState
from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import Decision, DecisionOutcome
from domain.errors import (
    CaseHeldByAnotherClerk,
    DomainError,
    InvalidCommand,
    InvalidTransition,
    NotTheHolder,
    WrongTenant,
)
from domain.lifecycle import CaseStatus
from domain.personal_data import PersonalData, Subjects
from domain.personal_fields import personal_data_of
from domain.working_days import BERLIN, berlin_date
from persistence.transcodings import PersonalDataInClear
from tests.domain.case_fixtures import (
    APPLICANT,
    CLERK,
    DELEGATED_CLERK,
    FOREIGN_CLERK,
    OTHER_CLERK,
    START,
    SUPERVISOR,
)

ACTORS = (CLERK, OTHER_CLERK, SUPERVISOR, APPLICANT, FOREIGN_CLERK, DELEGATED_CLERK)
AUDITOR = Actor("rpa", "Rechnungsprüfung", Role.AUDITOR, "usingen")
HOLDER = "holder"  # the clerk holding the case (CLERK when nobody does)
NOT_PREDICTED = "not predicted"
NOW = "now"
UNDECIDED = frozenset(
    {CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW, CaseStatus.INFORMATION_REQUESTED}
)

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
usual_step = st.tuples(st.integers(min_value=0, max_value=7), st.sampled_from(DecisionOutcome))
usual_steps = st.lists(usual_step, min_size=1, max_size=10)
hours_between_steps = st.sampled_from([0, 1, 30, 24 * 5])
SETTINGS = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
Expect = Callable[[date], str | type[DomainError] | None]


def clean(text: str) -> bool:
    """What ``clean_text`` accepts (the strategies never produce unencodable text)."""
    return bool(text and text.strip())


class ServiceMachine(RuleBasedStateMachine):
    """One case of a service, any commands; the store on a SQLite file of its own."""

    PROGRESS: ClassVar[tuple[str, ...]] = (
        CaseStatus.SUBMITTED,
        CaseStatus.IN_REVIEW,
        CaseStatus.DECIDED,
        CaseStatus.NOTIFIED,
    )
    STANDARD_CONDITIONS: ClassVar[bool] = False  # every approval carries the service's own

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="vorgang-service-"))
        self.env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.directory / "vorgang.db"),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
        self.store = VorgangStore(env=self.env, personal_data=PersonalDataInClear())
        self.now = START
        self.events_saved = 0
        self.successes_since_replay = 0
        self.closed_from: str | None = None
        self.furthest = CaseStatus.SUBMITTED
        self.withdrawals = False
        self.case: Case

    # ------------------------------------------------------------ set-up, end

    def start(self, case_class: type[Case], service: str, form: BaseModel) -> None:
        """Submit as the application does: a validated form, its personal data marked."""
        case_id = uuid4()
        self.case = case_class.submit(
            case_id=case_id,
            actor=APPLICANT,
            at=self.now,
            tenant="usingen",
            service=service,
            reference="USI-2026-000042",
            applicant={"name": PersonalData(case_id, Subjects.APPLICANT, "Erika Weber")},
            data=personal_data_of(form, case_id=case_id, subject=Subjects.APPLICANT),
            request_fingerprint="f" * 64,
        )
        self._save()
        assert self.case.status == CaseStatus.SUBMITTED

    def teardown(self) -> None:
        try:
            if hasattr(self, "case"):
                event(f"furthest status: {self.furthest}")
                event(f"final status: {self.case.status} (from {self.closed_from})")
                if self.successes_since_replay:
                    self._check_replay_in_fresh_store()
                self._check_every_decision_replays()
        finally:
            self.store.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    def _check_every_decision_replays(self) -> None:
        audit = DecisionAudit(self.store, FixedClock(self.now))
        for record in audit.records(self.case.id, actor=AUDITOR):
            report = audit.replay(self.case.id, record.number, actor=AUDITOR)
            assert report.verdict == "consistent", report

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

    # ----------------------------------------------------------------- helpers

    def _save(self) -> None:
        recordings = self.store.save(self.case)
        for recording in recordings:
            self.events_saved += 1
            assert recording.domain_event.originator_version == self.events_saved
        self.successes_since_replay += 1
        status = self.case.status
        progress = self.PROGRESS
        if status in progress and progress.index(status) > progress.index(self.furthest):
            self.furthest = status

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

    def _move_to(self, day: date) -> None:
        """Business time jumps forward to 10:00 in Germany on that day (never backwards)."""
        self.now = max(self.now, datetime.combine(day, time(10), tzinfo=BERLIN))

    def _state(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v
            for k, v in vars(self.case).items()
            if k != "_pending_events"
        }

    def _passes_the_gate(self, command: str, actor: Actor, at_kind: str) -> bool:
        return (
            command in self.case.allowed_commands()
            and at_kind == NOW
            and actor is not FOREIGN_CLERK
            and (actor.role is not Role.APPLICANT or command in self.case.APPLICANT_COMMANDS)
        )

    def _run(
        self,
        command: str,
        actor: Actor,
        at_kind: str,
        act: Callable[[datetime], None],
        expect: Expect | None = None,
    ) -> DomainError | None:
        """Give the command; check what any command must do when refused or accepted.

        ``expect`` (given today, once the command passed the gate) names what it must do:
        ``None`` succeed, a string fail with ``InvalidCommand`` on that field, an error class
        fail with that error.
        """
        case = self.case
        self.now += timedelta(minutes=1)
        at = self._at(at_kind)
        before = self._state()
        status_before = case.status
        allowed_before = case.allowed_commands()
        gate = self._passes_the_gate(command, actor, at_kind)
        expected = expect(self.today) if expect is not None and gate else NOT_PREDICTED
        assert not case.pending_events
        refused: DomainError | None = None
        try:
            act(at)
        except DomainError as error:
            refused = error
        if expected is None:
            assert refused is None, f"{command} in {status_before} refused: {refused}"
        elif isinstance(expected, str) and expected != NOT_PREDICTED:
            assert isinstance(refused, InvalidCommand), f"{command} should fail on {expected}"
            assert refused.field == expected, f"{command}: {refused} (expected {expected})"
        elif isinstance(expected, type):
            assert isinstance(refused, expected), f"{command}: {refused!r}, expected {expected}"
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
        assert gate, f"{command} by {actor.id} at {at_kind} succeeded in {status_before}"
        [new_event] = case.pending_events
        assert new_event.actor.id == actor.id  # type: ignore[attr-defined]
        assert new_event.actor.on_behalf_of == actor.on_behalf_of  # type: ignore[attr-defined]
        assert new_event.at == at  # type: ignore[attr-defined]
        assert case.last_activity_at == at
        self._save()
        return None

    # ------------------------------------------------------------------- time

    @rule(
        delta=st.one_of(
            st.integers(min_value=0, max_value=600).map(lambda m: timedelta(minutes=m)),
            st.integers(min_value=1, max_value=45).map(lambda d: timedelta(days=d)),
            st.sampled_from([timedelta(days=365), timedelta(days=2 * 365 + 1)]),
        )
    )
    def advance_time(self, delta: timedelta) -> None:
        self.now += delta

    # ------------------------------------------------ shared lifecycle commands

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

    @rule(actor=actors_or_holder, at_kind=at_kinds, reason=optional_texts)
    def release(self, actor: Actor | str, at_kind: str, reason: str | None) -> None:
        who = self._actor(actor)
        holder = self.case.holder
        error = self._run(
            "release", who, at_kind, lambda at: self.case.release(actor=who, at=at, reason=reason)
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
            expect=lambda _today: None if clean(text) else "text",
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
        legal_basis=st.sampled_from(["§ 5 Satzung", "§ 5 Satzung", " "]),
        conditions=st.sampled_from([None, [], ["Auflage: Baustelle sichern"], ["  "]]),
        fee=st.sampled_from([None, None, None, Decimal("120.00")]),
    )
    def decide(
        self,
        actor: Actor | str,
        at_kind: str,
        outcome: DecisionOutcome,
        justification: str,
        legal_basis: str,
        conditions: list[str] | None,
        fee: Decimal | None,
    ) -> None:
        """The clerk's part is checked here; the service's part by ``decision_refusal``."""
        who = self._actor(actor)
        holder = self.case.holder

        def expect(today: date) -> str | type[DomainError] | None:
            if holder is None or holder.id != who.id:
                return NotTheHolder
            given = any(clean(c) for c in conditions or [])
            with_conditions = outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
            if with_conditions and not given and not self.STANDARD_CONDITIONS:
                return "conditions"
            if not with_conditions and given:
                return "conditions"
            if outcome is DecisionOutcome.APPROVED and self.STANDARD_CONDITIONS:
                return "outcome"
            if not legal_basis.strip():
                return "legal_basis"
            if fee is not None:
                return "fee"  # every service here takes its fee from a tariff
            refusal = self.decision_refusal(outcome, today)
            if refusal is not None:
                return refusal
            return None if clean(justification) else "justification"

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
                legal_remedy_notice="Gegen diesen Bescheid ... Widerspruch",
                conditions=conditions,
                fee=fee,
            ),
            expect,
        )
        if error is None:
            decision = self.case.decision
            assert decision is not None
            assert self.case.status == CaseStatus.DECIDED
            assert decision.outcome is outcome
            self.after_decision(decision)

    def decision_refusal(self, outcome: DecisionOutcome, today: date) -> str | None:
        """The field a service's own decision rules refuse, if any."""
        return None

    def after_decision(self, decision: Any) -> None:
        """What a service checks of a decision it just recorded."""

    @rule(actor=actors, at_kind=at_kinds, notified_in_days=days_from_today)
    def notify(self, actor: Actor, at_kind: str, notified_in_days: int | None) -> None:
        day = None if notified_in_days is None else self.today + timedelta(days=notified_in_days)
        error = self._run(
            "notify",
            actor,
            at_kind,
            lambda at: self.case.notify(actor=actor, at=at, notified_on=day),
        )
        if error is None:
            assert self.case.status == CaseStatus.NOTIFIED
            assert self.case.notified_on == (day or self.today)

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
        deadline = self.case.objection_deadline
        error = self._run(
            "mark_final",
            actor,
            at_kind,
            lambda at: self.case.mark_final(actor=actor, at=at),
            expect=lambda today: None if deadline and today > deadline else "at",
        )
        if error is None:
            assert self.case.status == CaseStatus.FINAL

    @precondition(lambda self: self.withdrawals)
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
        status = self.case.status

        def expect(today: date) -> str | None:
            refusal = self.close_refusal(status, today)
            if refusal is not None:
                return refusal
            return "reason" if reason and not reason.strip() else None  # "" gives no reason

        error = self._run(
            "close",
            actor,
            at_kind,
            lambda at: self.case.close(actor=actor, at=at, reason=reason),
            expect,
        )
        if error is None:
            self.closed_from = status
            assert self.case.status == CaseStatus.CLOSED
            assert self.case.allowed_commands() == frozenset()
            assert self.case.holder is None

    def close_refusal(self, status: str, today: date) -> str | None:
        """The field a service's own close rule refuses in this status, if any."""
        return None

    # ------------------------------------------------------------ usual steps

    def _take_the_shared_step(self, choice: int, outcome: DecisionOutcome) -> bool:
        """One well-formed step of the shared lifecycle; False if the status is the service's."""
        case = self.case
        status = case.status
        if status == CaseStatus.SUBMITTED:
            self.confirm_complete(CLERK, NOW)
        elif status == CaseStatus.IN_REVIEW and case.holder is None:
            self.claim(DELEGATED_CLERK if choice == 0 else CLERK, NOW)
        elif status == CaseStatus.IN_REVIEW and choice == 0:
            self.request_information(CLERK, NOW, ["Lageplan fehlt"], 14, outcome.is_approval)
        elif status == CaseStatus.IN_REVIEW:
            if outcome is DecisionOutcome.REJECTED and choice < 6:
                outcome = DecisionOutcome.APPROVED_WITH_CONDITIONS  # approvals go further
            if outcome is DecisionOutcome.APPROVED and self.STANDARD_CONDITIONS:
                outcome = DecisionOutcome.APPROVED_WITH_CONDITIONS
            given = ["Baustelle sichern"] if outcome.name.endswith("CONDITIONS") else None
            self.prepare_decision(choice)
            self.decide(HOLDER, NOW, outcome, "Die Voraussetzungen liegen vor.", "§ 5", given, None)
        elif status == CaseStatus.INFORMATION_REQUESTED:
            self.provide_information(APPLICANT, NOW, "Lageplan anbei")
        elif status == CaseStatus.DECIDED:
            self.notify(CLERK, NOW, None)
        elif status == CaseStatus.NOTIFIED and choice <= 1:
            self.lodge_objection(CLERK, NOW, "Die Auflage ist unverhältnismäßig", None)
        elif status == CaseStatus.NOTIFIED and choice == 2:
            assert case.objection_deadline is not None
            self._move_to(case.objection_deadline)
            self.mark_final(CLERK, NOW)  # on the last day: refused
            self._move_to(case.objection_deadline + timedelta(days=1))
            self.mark_final(CLERK, NOW)
        elif status == CaseStatus.OBJECTION_LODGED and choice <= 3:
            self.remedy_objection(SUPERVISOR, NOW, "Widerspruch begründet")
        elif status == CaseStatus.OBJECTION_LODGED:
            self.forward_objection(CLERK, NOW, "Kreisausschuss Hochtaunuskreis", "keine Abhilfe")
        elif status in (CaseStatus.WITHDRAWN, CaseStatus.OBJECTION_FORWARDED):
            self.close(CLERK, NOW, None)
        else:
            return False
        return True

    def prepare_decision(self, choice: int) -> None:
        """What a service's clerk does before deciding (e.g. determine a connection point)."""

    @rule(steps=usual_steps, hours_between=hours_between_steps)
    def take_the_usual_steps(
        self, steps: list[tuple[int, DecisionOutcome]], hours_between: int
    ) -> None:
        """Mostly well-formed commands the status allows, so random runs get to the close."""
        for choice, outcome in steps:
            self.now += timedelta(hours=hours_between)
            if not self._take_the_shared_step(choice, outcome):
                self.take_the_service_step(choice)

    def take_the_service_step(self, choice: int) -> None:
        """One well-formed step in a status of the service's own (or the decision's, after)."""

    # ------------------------------------------------ models of shared domain rules

    @staticmethod
    def step_under_refusal(
        decision: Decision | None, day: date, today: date, field: str
    ) -> str | None:
        """What a step under an approval refuses: a refusal, or a day outside its validity
        (or in the future)."""
        assert decision is not None
        if not decision.outcome.is_approval:
            return "decision"
        assert decision.expires_on is not None
        return None if decision.effective_from <= day <= min(decision.expires_on, today) else field

    @staticmethod
    def inspection_refusal(
        earliest: date,
        inspected_on: date,
        today: date,
        defects: list[str],
        remedy_by: date | None,
    ) -> str | None:
        """What an inspection of works refuses: a day before the works were ready (or the last
        inspection) or in the future, a blank defect, a deadline missing or where none goes."""
        if not earliest <= inspected_on <= today:
            return "inspected_on"
        for i, defect in enumerate(defects):
            if not clean(defect):
                return f"defects[{i}]"
        if defects and (remedy_by is None or remedy_by <= inspected_on):
            return "remedy_by"
        if not defects and remedy_by is not None:
            return "remedy_by"
        return None

    # -------------------------------------------------------------- invariants

    @invariant()
    def version_counts_the_events_saved(self) -> None:
        assert self.case.version == self.events_saved
        assert not self.case.pending_events

    @invariant()
    def status_is_one_of_the_lifecycle(self) -> None:
        case = self.case
        assert case.status in type(case).LIFECYCLE
        assert (case.open_request is not None) is (case.status == CaseStatus.INFORMATION_REQUESTED)
        if case.status in (CaseStatus.WITHDRAWN, CaseStatus.CLOSED):
            assert case.holder is None
        if case.status in UNDECIDED:
            assert case.decision is None

    @invariant()
    def a_fresh_store_replays_the_same_case(self) -> None:
        if self.successes_since_replay >= 5:
            self._check_replay_in_fresh_store()
