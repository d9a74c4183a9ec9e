"""Any sequence of commands keeps a road opening permit's invariants, over its whole life.

A hypothesis state machine drives one permit, created from application data produced the
way the application produces it, through random commands by random actors (a clerk of
another tenant among them) at a business time that moves forward by minutes, days or years:
the shared lifecycle up to a decision, notification, finality, the works (which may start
once the permit is notified), the inspection of the restored surface (defects,
re-inspection), the warranty and the close. The commands of the permit, ``decide`` and
``close`` are checked against a model of what they must accept or refuse. After every step
the invariants hold; a refused command changes nothing; and the events saved so far,
replayed by a fresh store on the same SQLite file, give the same permit.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from application.store import VorgangStore
from application.transcodings import PersonalDataInClear
from application.views import CaseState
from domain.actor import Actor, Role
from domain.case import APPLICANT_COMMANDS
from domain.decision import Decision, DecisionOutcome, RulesApplied
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
from domain.rules.road_opening import (
    FEE_RULES_ID,
    FEE_TARIFFS,
    LEAD_TIME_RULES_ID,
    LEAD_TIMES,
    in_force,
)
from domain.services.road_opening import (
    SERVICE_ID,
    RoadOpeningApplication,
    RoadOpeningPermit,
    RoadOpeningStatus,
    example,
)
from domain.working_days import BERLIN, berlin_date
from tests.domain.case_fixtures import (
    APPLICANT,
    CLERK,
    DELEGATED_CLERK,
    FOREIGN_CLERK,
    OTHER_CLERK,
    START,
    SUPERVISOR,
)

S = CaseStatus
R = RoadOpeningStatus
ACTORS = (CLERK, OTHER_CLERK, SUPERVISOR, APPLICANT, FOREIGN_CLERK, DELEGATED_CLERK)
HOLDER = "holder"  # the clerk holding the case (CLERK when nobody does)
NOT_PREDICTED = "not predicted"  # a rule that does not model the outcome of its command

WORKS_STATUSES = frozenset(
    {R.WORKS_STARTED, R.WORKS_COMPLETED, R.RESTORATION_DEFECTIVE, R.WARRANTY_RUNNING}
)
DECIDED_STATUSES = frozenset(
    {S.DECIDED, S.NOTIFIED, S.OBJECTION_LODGED, S.OBJECTION_FORWARDED, S.FINAL} | WORKS_STATUSES
)
UNDECIDED_STATUSES = frozenset({S.SUBMITTED, S.IN_REVIEW, S.INFORMATION_REQUESTED})
INSPECTED_STATUSES = frozenset({R.RESTORATION_DEFECTIVE, R.WARRANTY_RUNNING})
PROGRESS: tuple[str, ...] = (S.SUBMITTED, S.IN_REVIEW, S.DECIDED, S.NOTIFIED, S.FINAL)
PROGRESS += (R.WORKS_STARTED, R.WORKS_COMPLETED, R.RESTORATION_DEFECTIVE, R.WARRANTY_RUNNING)

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
usual_step = st.tuples(st.integers(min_value=0, max_value=7), st.sampled_from(DecisionOutcome))
usual_steps = st.lists(usual_step, min_size=1, max_size=10)
hours_between_steps = st.sampled_from([0, 1, 30, 24 * 5])
SETTINGS = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def clean(text: str) -> bool:
    """What ``clean_text`` accepts (the strategies never produce unencodable text)."""
    return bool(text and text.strip())


def years_later_minus_a_day(day: date, years: int) -> date:
    """The last day of a period of whole years from ``day`` (29 February ends on the 28th)."""
    try:
        same_day = day.replace(year=day.year + years)
    except ValueError:
        same_day = date(day.year + years, 2, 28)
    return same_day - timedelta(days=1)


class RoadOpeningMachine(RuleBasedStateMachine):
    """One road opening permit, any commands; the store on a SQLite file of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="vorgang-road-opening-"))
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
        self.furthest = S.SUBMITTED
        self.case: RoadOpeningPermit
        self.length = Decimal(0)
        self.width = Decimal(0)
        self.planned_end = date.min
        self.withdrawals = False

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
    ) -> None:
        """Submit as the application does: validate the form, then mark its personal data."""
        self.now = START + timedelta(hours=submitted_hours_later)
        submitted_on = berlin_date(self.now)
        form = example(submitted_on)
        start = date.fromisoformat(form["planned_period"]["start"]) + timedelta(
            days=start_later_by_days
        )
        end = start + timedelta(days=duration_days)
        form["dimensions"] = {"length_m": str(length), "width_m": str(width), "depth_m": "1.20"}
        form["planned_period"] = {"start": start.isoformat(), "end": end.isoformat()}
        model = RoadOpeningApplication.model_validate(form)
        model.check_lead_time(submitted_on)  # what the catalogue checks on submission
        case_id = uuid4()
        permit = RoadOpeningPermit.submit(
            case_id=case_id,
            actor=APPLICANT,
            at=self.now,
            tenant="usingen",
            service=SERVICE_ID,
            reference="USI-2026-000042",
            applicant={
                "name": PersonalData(case_id, Subjects.APPLICANT, "Netzdienste Taunus GmbH"),
                "email": PersonalData(case_id, Subjects.APPLICANT, "netz@taunus.example"),
            },
            data=personal_data_of(model, case_id=case_id, subject="applicant"),
            request_fingerprint="f" * 64,
        )
        assert isinstance(permit, RoadOpeningPermit)
        self.case = permit
        self.length, self.width, self.planned_end = length, width, end
        self.withdrawals = withdrawals  # else most runs end early, withdrawn by the applicant
        self._save()
        assert self.case.status == S.SUBMITTED
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

    def teardown(self) -> None:
        try:
            if hasattr(self, "case"):
                event(f"furthest status: {self.furthest}")
                event(f"final status: {self.case.status} (from {self.closed_from})")
                if self.successes_since_replay:
                    self._check_replay_in_fresh_store()
        finally:
            self.store.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    # ----------------------------------------------------------------- helpers

    def _save(self) -> None:
        recordings = self.store.save(self.case)
        for recording in recordings:
            self.events_saved += 1
            assert recording.domain_event.originator_version == self.events_saved
        self.successes_since_replay += 1
        status = self.case.status
        if status in PROGRESS and PROGRESS.index(status) > PROGRESS.index(self.furthest):
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

    def _day(self, anchor: str, offset: int) -> date:
        case = self.case
        decision = case.decision
        base = {
            "today": self.today,
            "effective_from": decision.effective_from if decision else self.today,
            "expires_on": (decision.expires_on if decision else None) or self.planned_end,
            "started": case.works_started_on if case.works_started_on != date.min else self.today,
            "completed": (
                case.works_completed_on if case.works_completed_on != date.min else self.today
            ),
            "inspected": case.inspections[-1] if case.inspections else self.today,
        }[anchor]
        return base + timedelta(days=offset)

    def _state(self) -> dict[str, Any]:
        # Values are immutable except the lists and dicts, which a refused command could append
        # to: copying those is enough (and much faster than a deep copy on every step).
        return {
            k: list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v
            for k, v in vars(self.case).items()
            if k != "_pending_events"
        }

    def _passes_the_gate(self, command: str, actor: Actor, at_kind: str) -> bool:
        """The lifecycle, the business time, the tenant and the role allow the command."""
        return (
            command in self.case.allowed_commands()
            and at_kind == NOW
            and actor is not FOREIGN_CLERK
            and (actor.role is not Role.APPLICANT or command in APPLICANT_COMMANDS)
        )

    def _run(
        self,
        command: str,
        actor: Actor,
        at_kind: str,
        act: Callable[[datetime], None],
        expect: Callable[[date], str | type[DomainError] | None] | None = None,
    ) -> DomainError | None:
        """Give the command; check what any command must do when refused or accepted.

        ``expect`` (given today's date, once the command passed the gate) names what the
        command must do: ``None`` succeed, a string fail with ``InvalidCommand`` on that
        field, an error class fail with that error.
        """
        case = self.case
        self.now += timedelta(minutes=1)  # so a refused command that records its time shows
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

    def _check_replay_in_fresh_store(self) -> None:
        fresh = VorgangStore(env=self.env, personal_data=PersonalDataInClear())
        try:
            replayed: RoadOpeningPermit = fresh.repository.get(self.case.id)
            stored_events = list(fresh.events.get(self.case.id))
        finally:
            fresh.close()
        assert type(replayed) is RoadOpeningPermit
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
            st.sampled_from([timedelta(days=365), timedelta(days=5 * 365 + 2)]),
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
            assert self.case.status == S.IN_REVIEW
            assert self.case.clock.started_on == self.today
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
            assert self.case.status == S.INFORMATION_REQUESTED
            assert self.case.open_request is not None
            assert self.case.open_request.missing_documents is missing_documents
            assert reply_in_days > 0
            if missing_documents:
                assert self.case.due_on is None

    @rule(actor=actors, at_kind=at_kinds, answer=texts)
    def provide_information(self, actor: Actor, at_kind: str, answer: str) -> None:
        error = self._run(
            "provide_information",
            actor,
            at_kind,
            lambda at: self.case.provide_information(actor=actor, at=at, answer=answer),
        )
        if error is None:
            assert self.case.status in (S.IN_REVIEW, S.SUBMITTED)
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

    @rule(
        actor=actors_or_holder,
        at_kind=at_kinds,
        outcome=st.sampled_from(DecisionOutcome),
        justification=texts,
        legal_basis=st.sampled_from(["§§ 16, 18 HStrG", "§§ 16, 18 HStrG", " "]),
        legal_remedy_notice=st.sampled_from(["Gegen diesen Bescheid ... Widerspruch", ""]),
        conditions=st.sampled_from([None, [], ["Auflage: Baustelle sichern"], ["  "]]),
        effective_in_days=days_from_today,
        expires_in_days=st.one_of(st.none(), st.integers(min_value=-10, max_value=400)),
        fee=st.sampled_from([None, None, None, Decimal("0"), Decimal("120.00"), Decimal("-5")]),
        rules=st.sampled_from([(), (RulesApplied("tariff", "2026-1", {"zone": "A"}),)]),
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
        """The fee and the validity come from the tariff and the plan, not from the clerk."""
        who = self._actor(actor)
        holder = self.case.holder

        def day(days: int | None) -> date | None:
            return None if days is None else self.today + timedelta(days=days)

        def expect(today: date) -> str | type[DomainError] | None:
            if holder is None or holder.id != who.id:
                return NotTheHolder
            with_conditions = outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
            if with_conditions is not any(clean(c) for c in conditions or []):
                return "conditions"
            if not legal_basis.strip():
                return "legal_basis"
            if not legal_remedy_notice.strip():
                return "legal_remedy_notice"
            effective = day(effective_in_days) or today
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
                legal_remedy_notice=legal_remedy_notice,
                conditions=conditions,
                effective_from=day(effective_in_days),
                expires_on=day(expires_in_days),
                fee=fee,
                rules=rules,
            ),
            expect,
        )
        if error is not None:
            return
        case = self.case
        decision = case.decision
        assert decision is not None
        assert case.status == S.DECIDED
        assert decision.outcome is outcome
        assert decision.decided_by.id == who.id
        assert decision.effective_from == (day(effective_in_days) or self.today)
        if outcome.is_approval:
            assert decision.expires_on == (day(expires_in_days) or self.planned_end)
        else:
            assert decision.expires_on is None
        assert all(r not in decision.rules for r in rules), "the service sets the rules applied"

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
            assert self.case.status == S.NOTIFIED
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
            assert self.case.status == S.OBJECTION_LODGED
            assert self.case.objection is not None

    @rule(actor=actors, at_kind=at_kinds, reason=texts)
    def remedy_objection(self, actor: Actor, at_kind: str, reason: str) -> None:
        error = self._run(
            "remedy_objection",
            actor,
            at_kind,
            lambda at: self.case.remedy_objection(actor=actor, at=at, reason=reason),
        )
        if error is None:
            assert self.case.status == S.IN_REVIEW
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
            assert self.case.status == S.OBJECTION_FORWARDED

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
            assert self.case.status == S.FINAL

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
            assert self.case.status == S.WITHDRAWN

    @rule(actor=actors, at_kind=at_kinds, reason=optional_texts)
    def close(self, actor: Actor, at_kind: str, reason: str | None) -> None:
        """After the warranty, after a rejection or withdrawal, or once an unused permit expired."""
        case = self.case
        status = case.status
        decision = case.decision
        warranty_until = case.warranty_until

        def expect(today: date) -> str | None:
            if status == R.WARRANTY_RUNNING:
                assert warranty_until is not None
                if today <= warranty_until:
                    return "warranty_until"
            elif status == S.FINAL:
                assert decision is not None
                if decision.outcome.is_approval:
                    assert decision.expires_on is not None
                    if today <= decision.expires_on:
                        return "status"
            return "reason" if reason and not reason.strip() else None

        error = self._run(
            "close",
            actor,
            at_kind,
            lambda at: self.case.close(actor=actor, at=at, reason=reason),
            expect,
        )
        if error is None:
            self.closed_from = status
            assert case.status == S.CLOSED
            assert case.allowed_commands() == frozenset()
            assert case.holder is None

    # -------------------------------------------------------- the permit's own

    @rule(actor=actors, at_kind=at_kinds, started=relative_days)
    def start_works(self, actor: Actor, at_kind: str, started: tuple[str, int]) -> None:
        """Only under an approval in force: from its first day, until it expires, not later
        than today."""
        started_on = self._day(*started)
        decision = self.case.decision

        def expect(today: date) -> str | None:
            assert decision is not None
            if not decision.outcome.is_approval:
                return "decision"
            assert decision.expires_on is not None
            if not decision.effective_from <= started_on <= decision.expires_on:
                return "started_on"
            return "started_on" if started_on > today else None

        error = self._run(
            "start_works",
            actor,
            at_kind,
            lambda at: self.case.start_works(actor=actor, at=at, started_on=started_on),
            expect,
        )
        if error is None:
            assert self.case.status == R.WORKS_STARTED
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
            assert self.case.status == R.WORKS_COMPLETED
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

        def expect(today: date) -> str | None:
            if not earliest <= inspected_on <= today:  # a re-inspection follows the last one
                return "inspected_on"
            for i, defect in enumerate(defects):
                if not clean(defect):
                    return f"defects[{i}]"
            if defects and (remedy_by is None or remedy_by <= inspected_on):
                return "remedy_by"
            if not defects and remedy_by is not None:
                return "remedy_by"
            return None

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
            assert case.status == R.RESTORATION_DEFECTIVE
            assert case.remedy_by == remedy_by
            assert case.warranty_until is None
        else:
            assert case.status == R.WARRANTY_RUNNING
            assert case.remedy_by is None
            assert case.warranty_until == years_later_minus_a_day(inspected_on, 5)

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
        if status == S.SUBMITTED:
            self.confirm_complete(CLERK, NOW)
        elif status == S.IN_REVIEW and case.holder is None:
            self.claim(DELEGATED_CLERK if choice == 0 else CLERK, NOW)
        elif status == S.IN_REVIEW and choice == 0:
            self.request_information(CLERK, NOW, ["Lageplan fehlt"], 14, outcome.is_approval)
        elif status == S.IN_REVIEW:
            if outcome is DecisionOutcome.REJECTED and choice < 6:
                outcome = DecisionOutcome.APPROVED  # reject less often: approvals go further
            conditions = ["Baustelle sichern"] if outcome.name.endswith("CONDITIONS") else None
            fee = Decimal("120.00") if choice in (1, 5) else None  # refused: the tariff sets it
            expires = None if choice % 2 else 90
            self.decide(
                HOLDER,
                NOW,
                outcome,
                "Die Voraussetzungen liegen vor.",
                "§§ 16, 18 HStrG",
                "Gegen diesen Bescheid ... Widerspruch",
                conditions,
                None,
                expires,
                fee,
                (),
            )
        elif status == S.INFORMATION_REQUESTED:
            self.provide_information(APPLICANT, NOW, "Lageplan anbei")
        elif status == S.DECIDED:
            self.notify(CLERK, NOW, None)
        elif status == S.NOTIFIED and choice <= 1:
            self.lodge_objection(CLERK, NOW, "Die Auflage ist unverhältnismäßig", None)
        elif status == S.NOTIFIED and choice == 3:  # works may start once notified
            self.start_works(DELEGATED_CLERK, NOW, ("effective_from", 0))
        elif status == S.NOTIFIED:
            assert case.objection_deadline is not None
            self._on_the_last_day_and_after(
                case.objection_deadline, choice > 2, lambda: self.mark_final(CLERK, NOW)
            )
        elif status == S.OBJECTION_LODGED and choice <= 3:
            self.remedy_objection(SUPERVISOR, NOW, "Widerspruch begründet")
        elif status == S.OBJECTION_LODGED:
            self.forward_objection(CLERK, NOW, "Kreisausschuss Hochtaunuskreis", "keine Abhilfe")
        elif status == S.FINAL and decision is not None and decision.outcome.is_approval:
            self._use_the_permit(choice, decision)
        elif status == S.FINAL and choice == 0:  # rejected: no works may start
            self.start_works(CLERK, NOW, ("today", 0))
        elif status in WORKS_STATUSES:
            self._after_the_works_started(status, choice)
        elif status != S.CLOSED:  # rejected and final, withdrawn, objection forwarded
            self.close(CLERK, NOW, None)

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
        close the file on the permit's last day (refused while in force) and after it."""
        assert decision.expires_on is not None
        self.start_works(CLERK, NOW, ("expires_on", 1))
        self.start_works(CLERK, NOW, ("effective_from", -1) if choice % 2 else ("today", 1))
        if choice >= 4:
            self._move_to(decision.expires_on)
            self.close(SUPERVISOR, NOW, "Genehmigung ungenutzt abgelaufen")
        if choice == 7:  # the day after the permit expired: no more works, the file closes
            self._move_to(decision.expires_on + timedelta(days=1))
            self.start_works(CLERK, NOW, ("expires_on", 1))
            self.close(SUPERVISOR, NOW, "Genehmigung ungenutzt abgelaufen")
        if self.case.status == S.FINAL:
            last_possible = min(decision.expires_on, self.today)
            day = last_possible if choice >= 3 else decision.effective_from
            self.start_works(DELEGATED_CLERK, NOW, ("today", (day - self.today).days))

    def _after_the_works_started(self, status: str, choice: int) -> None:
        """Each step first tries a command just outside what is allowed, then the usual one."""
        case = self.case
        if status == R.WORKS_STARTED:
            self.complete_works(CLERK, NOW, ("started", -1) if choice % 2 else ("today", 1))
            self.complete_works(CLERK, NOW, ("started", 0) if choice < 5 else ("today", 0))
        elif status == R.WORKS_COMPLETED:
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
        elif status == R.RESTORATION_DEFECTIVE:
            # A deadline on the day of the re-inspection; the day before the last inspection.
            self.inspect_restoration(CLERK, NOW, ("today", 0), ["Fugen offen"], 0)
            self.inspect_restoration(CLERK, NOW, ("inspected", -1), [], None)
            if choice == 0:
                self.inspect_restoration(SUPERVISOR, NOW, ("today", 0), ["Fugen offen"], 30)
            elif choice == 1:
                self.inspect_restoration(CLERK, NOW, ("inspected", 0), [], None)
            else:
                self.inspect_restoration(CLERK, NOW, ("today", 0), [], None)
        elif status == R.WARRANTY_RUNNING:
            assert case.warranty_until is not None
            if choice <= 1:
                self.close(CLERK, NOW, "Gewährleistung abgelaufen")
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
        self.decisions_follow_the_tariff_and_record_their_rules()
        self.the_status_matches_the_decision()
        self.works_dates_lie_within_the_permit()
        self.inspections_and_defects_match_the_status()
        self.the_warranty_runs_exactly_after_an_accepted_restoration()
        self.a_fresh_store_replays_the_same_permit()

    @invariant()
    def version_counts_the_events_saved(self) -> None:
        assert self.case.version == self.events_saved
        assert not self.case.pending_events

    @invariant()
    def status_is_one_of_the_lifecycle(self) -> None:
        assert self.case.status in RoadOpeningPermit.LIFECYCLE
        assert (self.case.open_request is not None) is (self.case.status == S.INFORMATION_REQUESTED)
        if self.case.status in (S.WITHDRAWN, S.CLOSED):
            assert self.case.holder is None

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
            assert lead_time == in_force(LEAD_TIMES, submitted_on).record(
                submitted_on, case.planned_period_start
            )
            if decision.outcome.is_approval:
                decided_on = berlin_date(decision.decided_at)
                fee, tariff = in_force(FEE_TARIFFS, decided_on).assess(self.length, self.width)
                assert decision.fee == fee
                assert FEE_RULES_ID in rules_ids
                assert tariff in decision.rules
                assert decision.expires_on is not None
                assert decision.effective_from <= decision.expires_on
            else:
                assert decision.fee is None
                assert decision.expires_on is None
                assert rules_ids == [LEAD_TIME_RULES_ID]

    @invariant()
    def the_status_matches_the_decision(self) -> None:
        case = self.case
        if case.status in DECIDED_STATUSES:
            assert case.decision is not None
        if case.status in UNDECIDED_STATUSES:
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
            assert decision.expires_on is not None
            assert decision.effective_from <= started <= decision.expires_on
        assert (completed != date.min) is (works_reported and case.status != R.WORKS_STARTED)
        if completed != date.min:
            assert completed >= started

    @invariant()
    def inspections_and_defects_match_the_status(self) -> None:
        case = self.case
        inspected = case.status in INSPECTED_STATUSES or self.closed_from in INSPECTED_STATUSES
        assert bool(case.inspections) is inspected
        assert case.inspections == sorted(case.inspections)
        assert all(day >= case.works_completed_on for day in case.inspections)
        defective = case.status == R.RESTORATION_DEFECTIVE
        assert bool(case.open_defects) is defective
        assert (case.remedy_by is not None) is defective
        if defective:
            assert case.remedy_by is not None
            assert case.remedy_by > case.inspections[-1]

    @invariant()
    def the_warranty_runs_exactly_after_an_accepted_restoration(self) -> None:
        case = self.case
        after_the_warranty = case.status == S.CLOSED and self.closed_from == R.WARRANTY_RUNNING
        running = case.status == R.WARRANTY_RUNNING
        assert (case.warranty_until is not None) is (running or after_the_warranty)
        if case.warranty_until is not None:
            assert case.warranty_until == years_later_minus_a_day(case.inspections[-1], 5)
            assert case.service_state()["warranty_until"] == case.warranty_until
        if after_the_warranty:
            assert case.warranty_until is not None
            assert berlin_date(case.last_activity_at) > case.warranty_until

    @invariant()
    def a_fresh_store_replays_the_same_permit(self) -> None:
        if self.successes_since_replay >= 5:
            self._check_replay_in_fresh_store()


RoadOpeningMachine.TestCase.settings = SETTINGS
TestRoadOpeningLifecycle = RoadOpeningMachine.TestCase
