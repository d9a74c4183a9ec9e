"""A hypothesis state machine for one case of a service, to extend per service.

It drives one case, created from application data the way the application creates it,
through random commands by random actors (a clerk of another tenant among them) at a
business time that moves forward by minutes, days or years. ``_run`` checks what every
command must do: a refused command changes nothing and records nothing, a command the
lifecycle does not allow is an ``InvalidTransition`` naming the status and the allowed
commands, an accepted one records exactly one event naming who and when. Where a rule
predicts the outcome (``expect``), the refusal must name that field. The shared lifecycle's
commands are rules here, the legal track's too (notification by delivery; objections with
their remedy, the hearing in self-government matters or the forwarding in road traffic
matters, withdrawal, the Widerspruchsbescheid of the configured authority, which may call
for a new decision, and reinstatement; the remedy notice found defective; finality, which a
late objection does not hold back; withdrawal of the application until the decision is
final by law): they are offered beside whatever step of the service the case has reached,
and an objection in time (or reinstated) reopens a case marked final or a closed file. The
model keeps what the rules read besides the case: the day documents were last asked for,
and what was refunded of the decision in force. A service adds its own commands,
invariants, usual steps and what its decision leaves behind (``may_withdraw``). At the end
(and every few steps) a fresh store replays the same case from the SQLite file, and every
decision the machine produced replays as consistent against the rules it recorded.
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
from domain.authorities import (
    OBJECTION_PERIOD_MONTHS,
    PERIOD_WITHOUT_NOTICE_MONTHS,
    Matter,
    authorities_of,
    remedy_notice,
)
from domain.case import ACTION_PERIOD_MONTHS, FEE_DUE_MONTHS, NO_HEARING_NEEDED, Case
from domain.case_charges import ADMINISTRATIVE_FEE, CaseCharges
from domain.decision import Decision, DecisionOutcome, ProvisionKind
from domain.errors import (
    CaseHeldByAnotherClerk,
    DomainError,
    InvalidCommand,
    InvalidTransition,
    NotTheHolder,
    WrongTenant,
)
from domain.lifecycle import WITHDRAWABLE, CaseStatus
from domain.objection import CostsBorneBy, Objection, ObjectionOutcome, ObjectionState
from domain.personal_data import PersonalData, Subjects
from domain.personal_fields import personal_data_of
from domain.rules.notification import Delivery, rule_on
from domain.working_days import BERLIN, add_months, berlin_date, is_working_day, period_end
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
deliveries = st.sampled_from(list(Delivery))
# The hearing (§ 28 HVwVfG) a clerk gives with a decision: none, held today, not needed for a
# reason, held tomorrow (refused), both (refused), a blank reason (refused).
HEARINGS = ("none", "none", "held", "not_needed", "future", "both", "blank")
hearings = st.sampled_from(HEARINGS)
DISCRETION = "Die Sondernutzung beeinträchtigt den Gemeingebrauch nur kurz; Belange Dritter fehlen."
discretions = st.sampled_from([None, DISCRETION, " "])
# Typed ancillary provisions (§ 36 (2) HVwVfG) a clerk gives: none, one, one left blank.
PROVISIONS: dict[str, list[tuple[ProvisionKind, str]]] = {
    "none": [],
    "typed": [(ProvisionKind.TIME_LIMIT, "Befristet bis zum Ende der Bauarbeiten")],
    "blank": [(ProvisionKind.REQUIREMENT, "  ")],
}
provision_choices = st.sampled_from(["none", "none", "typed", "blank"])
objection_outcomes = st.sampled_from([*ObjectionOutcome.ALL, "upheld"])
costs_borne = st.sampled_from([*CostsBorneBy.ALL, CostsBorneBy.AUTHORITY, "nobody"])
refunds = st.sampled_from([None, None, Decimal("10.00"), Decimal("120.00"), Decimal("500.00")])
objection_fees = st.sampled_from([None, None, Decimal("30.00"), Decimal("-1")])
# The town's configured authority (or committee) by its name, none (the configured one), a
# blank (the configured one), or another name typed on the case (refused).
CONFIGURED = "the configured one"
authorities = st.sampled_from([None, " ", CONFIGURED, "Regierungspräsidium Darmstadt"])
committees = st.sampled_from([None, " ", CONFIGURED, "Anhörungsausschuss der Stadt Usingen"])
PART = "Die Auflage Nr. 2 (Arbeitszeit) entfällt; im Übrigen bleibt der Bescheid bestehen."
operative_parts = st.sampled_from([None, PART, " "])
# Where an objection may still be heard or forwarded: lodged, or remedied only in part.
HEARD_OR_FORWARDED_FROM = frozenset({ObjectionState.PENDING, ObjectionState.PARTLY_REMEDIED})
SETTINGS = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
Expect = Callable[[date], str | type[DomainError] | None]
NO_OBJECTION_STATUSES = frozenset({"objection_lodged", "objection_forwarded"})  # gone for good
LEGAL_TRACK_AFTER_NOTIFICATION = frozenset(
    {
        "lodge_objection",
        "grant_reinstatement",
        "hear_objection",
        "forward_objection",
        "remedy_objection",
        "withdraw_objection",
        "decide_objection",
        "mark_final",
        "record_remedy_notice_defect",
    }
)


def clean(text: str) -> bool:
    """What ``clean_text`` accepts (the strategies never produce unencodable text)."""
    return bool(text and text.strip())


def hearing_arguments(hearing: str, today: date) -> dict[str, Any]:
    """The decide arguments for one of ``HEARINGS``."""
    choices: dict[str, dict[str, Any]] = {
        "none": {},
        "held": {"hearing_held_on": today},
        "not_needed": {"hearing_not_needed_because": "§ 28 Abs. 2 Nr. 1 HVwVfG: Gefahr im Verzug"},
        "future": {"hearing_held_on": today + timedelta(days=1)},
        "both": {"hearing_held_on": today, "hearing_not_needed_because": "x"},
        "blank": {"hearing_not_needed_because": "  "},
    }
    return choices[hearing]


def hearing_refusal(hearing: str, clerk_provisions: bool) -> str | None:
    """What § 28 HVwVfG refuses: a hearing both held and not needed, one held tomorrow, a blank
    reason, or none at all for provisions the clerk attaches (the standard ones need none)."""
    if hearing in ("both", "blank"):
        return "hearing_not_needed_because"
    if hearing == "future":
        return "hearing_held_on"
    if hearing == "none" and clerk_provisions:
        return "hearing_held_on"
    return None


def refund_refusal(
    decision: Decision | None, fee_refund: Decimal | None, refunded: Decimal
) -> bool:
    """Refunds are bounded together by the fee the decision in force assessed, less what
    remedies and Widerspruchsbescheide refunded of it already (payments are the cash office's)."""
    if fee_refund is None:
        return False
    assessed = (decision.fee if decision is not None else None) or Decimal(0)
    return fee_refund > assessed - refunded


def by_name(given: str | None, configured: str) -> str | None:
    """The name a command is given: the configured one where the strategy says so."""
    return configured if given == CONFIGURED else given


def another_than(given: str | None, configured: str) -> bool:
    """A name typed on the case other than the configured one (none or a blank is that)."""
    return bool(given and given.strip()) and (given or "").strip() != configured


def procedure_missing(case: Case, objection: Objection, outcome: str) -> bool:
    """The Widerspruchsbescheid follows the procedure of the matter: in self-government the
    hearing before the committee (an inadmissible objection needs none; one forwarded before
    forwarding was kept to road traffic matters is decided where it went), in road traffic
    the file forwarded to the supervising authority."""
    if case.MATTER is Matter.SELF_GOVERNMENT:
        heard_or_sent = objection.heard_on is not None or objection.forwarded_to is not None
        return not heard_or_sent and outcome != ObjectionOutcome.INADMISSIBLE
    return objection.forwarded_to is None


def expected_final_from(case: Case) -> date | None:
    """The first day the decision is final: after the objection period, the withdrawal of an
    objection, the day of a remedy, or the month for an action against a
    Widerspruchsbescheid; None while a timely objection is open. A late objection (not
    reinstated) never held finality back, however it was disposed of."""
    deadline = case.objection_deadline
    if deadline is None:
        return None
    if any(o.is_open and o.timely for o in case.objections):
        return None
    first = deadline + timedelta(days=1)
    for objection in case.objections:
        if not objection.timely:
            continue
        if objection.state == ObjectionState.WITHDRAWN:
            assert objection.withdrawn_on is not None
            first = max(first, objection.withdrawn_on)
        for remedy in objection.remedies:
            first = max(first, remedy.decided_on + timedelta(days=1))
        if objection.decision is not None:
            assert objection.decision.served_on is not None
            action_ends = period_end(objection.decision.served_on, ACTION_PERIOD_MONTHS)
            first = max(first, action_ends + timedelta(days=1))
    return first


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
        # The model's own record of what the rules read: the day documents were last asked
        # for, and what remedies and Widerspruchsbescheide refunded of the decision in force.
        self.documents_requested_on: date | None = None
        self.refunded = Decimal(0)
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
                notification = self.case.notification
                if notification is not None:
                    event(f"delivery: {notification['delivery']}")
                for objection in self.case.objections:
                    late = "" if objection.timely else " (late)"
                    event(f"objection: {objection.state}{late}")
                if self.case.final_on is not None:
                    event(f"final, status {self.case.status}")
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
            if recording.domain_event.originator_id != self.case.id:
                continue  # a receivable the case's charge opened in the same save
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
        # One event per command; a decision taking effect also charges its fees, a remedy or
        # Widerspruchsbescheid withdraws the fees it refunds or sets aside (charging a rest).
        new_event, *charged = case.pending_events
        assert all(
            isinstance(e, CaseCharges.FeeCharged | CaseCharges.ChargeWithdrawn) for e in charged
        ), charged
        for recorded in (new_event, *charged):
            assert recorded.actor.id == actor.id  # type: ignore[attr-defined]
            assert recorded.actor.on_behalf_of == actor.on_behalf_of  # type: ignore[attr-defined]
            assert recorded.at == at  # type: ignore[attr-defined]
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

    @rule(
        actor=actors,
        at_kind=at_kinds,
        complete_in_days=st.one_of(st.none(), st.none(), st.integers(min_value=-3, max_value=1)),
    )
    def confirm_complete(
        self, actor: Actor, at_kind: str, complete_in_days: int | None = None
    ) -> None:
        """The period runs from the day the last document was received (§ 42a (2) HVwVfG),
        never from a day before the documents were last asked for, or before submission."""
        awaited = self.case.clock.awaits_completeness
        received = self.case.documents_received_on
        given = None if complete_in_days is None else self.today + timedelta(complete_in_days)
        submitted_on = berlin_date(self.case.submitted_at)
        requested_on = self.documents_requested_on

        def expect(today: date) -> str | None:
            if given is None:
                return None
            if given > today or given < submitted_on:
                return "documents_complete_on"
            if requested_on is not None and given < requested_on:
                return "documents_complete_on"  # they were still missing then
            return None

        error = self._run(
            "confirm_complete",
            actor,
            at_kind,
            lambda at: self.case.confirm_complete(actor=actor, at=at, documents_complete_on=given),
            expect,
        )
        if error is None:
            assert awaited
            assert self.case.status == CaseStatus.IN_REVIEW
            assert self.case.clock.started_on == (given or received)
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
                self.documents_requested_on = self.today
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
        told_in_days=st.one_of(st.none(), st.integers(min_value=-3, max_value=1)),
    )
    def extend_period(
        self,
        actor: Actor,
        at_kind: str,
        working_days: int,
        reason: str,
        told_in_days: int | None = None,
    ) -> None:
        """Once, before the period ends (a paused target period's end moves on by the days
        waited, so it may still be extended), the reasons sent to the applicant by then and
        not before the period started."""
        clock = self.case.clock
        told = None if told_in_days is None else self.today + timedelta(days=told_in_days)

        def expect(today: date) -> str | None:
            if not clean(reason):
                return "reason"
            due, started = clock.due_on, clock.started_on
            assert due is not None  # offered only while the period runs
            assert started is not None
            if working_days <= 0:
                return "working_days"
            paused = clock.stopped_since is not None
            if today > due and not paused:
                return "at"
            communicated = told or today
            if communicated > due and not paused:
                return "communicated_on"  # it must reach the applicant by the end
            if not started <= communicated <= today:
                return "communicated_on"
            return None

        error = self._run(
            "extend_period",
            actor,
            at_kind,
            lambda at: self.case.extend_period(
                actor=actor, at=at, working_days=working_days, reason=reason, communicated_on=told
            ),
            expect,
        )
        if error is None:
            assert not clock.is_extended
            assert self.case.clock.extension_working_days == working_days > 0
            assert self.case.clock.extension_communicated_on == (told or self.today)
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
        hearing=hearings,
        discretion=discretions,
        provisions=provision_choices,
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
        hearing: str = "none",
        discretion: str | None = None,
        provisions: str = "none",
    ) -> None:
        """The clerk's part is checked here; the service's part by ``decision_refusal``.

        Typed provisions (§ 36 HVwVfG) go only with an approval with conditions, and are its
        conditions on their own; like the clerk's requirements they need a hearing."""
        who = self._actor(actor)
        holder = self.case.holder
        given = any(clean(c) for c in conditions or [])
        typed = PROVISIONS[provisions]

        def expect(today: date) -> str | type[DomainError] | None:
            if holder is None or holder.id != who.id:
                return NotTheHolder
            if provisions == "blank":
                return "provisions[0].text"
            with_conditions = outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
            if typed and not with_conditions:
                return "provisions"
            if with_conditions and not (given or typed or self.STANDARD_CONDITIONS):
                return "conditions"
            if not with_conditions and given:
                return "conditions"
            if outcome is DecisionOutcome.APPROVED and self.STANDARD_CONDITIONS:
                return "outcome"
            if not legal_basis.strip():
                return "legal_basis"
            burdens = given or bool(typed)
            refusal = hearing_refusal(hearing, burdens) or self.discretion_refusal(discretion)
            if refusal is not None:
                return refusal
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
                conditions=conditions,
                fee=fee,
                discretion=discretion,
                provisions=typed or None,
                **hearing_arguments(hearing, self.today),
            ),
            expect,
        )
        if error is None:
            decision = self.case.decision
            assert decision is not None
            assert self.case.status == CaseStatus.DECIDED
            assert decision.outcome is outcome
            kinds = [p.kind for p in decision.provisions if p.kind is not ProvisionKind.REQUIREMENT]
            assert kinds == [kind for kind, _ in typed]
            self.check_the_decision_record(decision, hearing, discretion)
            self.after_decision(decision)

    def discretion_refusal(self, discretion: str | None) -> str | None:
        """Where the law gives discretion its considerations are stated; elsewhere none are."""
        if self.case.DISCRETION_UNDER is None:
            return "discretion" if discretion else None
        return None if discretion and clean(discretion) else "discretion"

    def check_the_decision_record(
        self, decision: Decision, hearing: str, discretion: str | None
    ) -> None:
        """What every Bescheid records besides its terms: authority, notice, addressee, the
        hearing or why none was needed, the considerations, the costs, the clock stopped."""
        case = self.case
        assert decision.issuing_authority == authorities_of(case.tenant).issuing_authority(
            case.MATTER
        )
        assert decision.remedy_notice == remedy_notice(
            case.tenant, case.MATTER, objection_excluded_by=case.OBJECTION_EXCLUDED_BY
        )
        assert decision.remedy_notice.complete
        assert decision.legal_remedy_notice == decision.remedy_notice.text
        assert decision.addressee == case.applicant["name"]
        assert decision.operative_part is not None
        assert decision.hearing is not None
        if hearing == "held":
            assert decision.hearing.held_on == berlin_date(decision.decided_at)
        elif hearing == "not_needed":
            reason = decision.hearing.not_needed_because
            # The clerk's own reason may name people: personal data, sealed when stored.
            assert isinstance(reason, PersonalData)
            assert (
                reason.value == hearing_arguments(hearing, self.today)["hearing_not_needed_because"]
            )
        else:
            assert decision.hearing.not_needed_because == NO_HEARING_NEEDED
        assert decision.conditions == tuple(p.text for p in decision.provisions)
        if case.DISCRETION_UNDER is None:
            assert decision.discretion is None
        else:
            assert decision.discretion is not None
            assert decision.discretion.reveal() == (discretion or "").strip()
        if decision.fee is None:
            assert decision.costs is None
        else:
            assert decision.costs is not None
            assert decision.costs.amount == decision.fee
            assert decision.costs.legal_basis == case.FEE_LEGAL_BASIS
            assert decision.costs.due_on is None  # set when the decision is notified
        assert decision.notified_on is None
        assert case.clock.decided_on == berlin_date(decision.decided_at)

    def decision_refusal(self, outcome: DecisionOutcome, today: date) -> str | None:
        """The field a service's own decision rules refuse, if any."""
        return None

    def after_decision(self, decision: Any) -> None:
        """What a service checks of a decision it just recorded."""

    def decide_as_usual(self, outcome: DecisionOutcome, choice: int) -> None:
        """A well-formed decision by the holder: clerk conditions come with a hearing."""
        given = ["Baustelle sichern"] if outcome.name.endswith("CONDITIONS") else None
        hearing = ("held", "not_needed")[choice % 2] if given else "none"
        discretion = DISCRETION if self.case.DISCRETION_UNDER else None
        justification = "Die Voraussetzungen liegen vor."
        self.decide(HOLDER, NOW, outcome, justification, "§ 5", given, None, hearing, discretion)

    # --------------------------------------------------- the legal track: notification

    @rule(
        actor=actors,
        at_kind=at_kinds,
        delivery=deliveries,
        sent_in_days=st.one_of(st.none(), st.integers(min_value=-6, max_value=1)),
        received_after_days=st.one_of(st.none(), st.integers(min_value=-1, max_value=8)),
    )
    def notify(
        self,
        actor: Actor,
        at_kind: str,
        delivery: Delivery = Delivery.COUNTER,
        sent_in_days: int | None = None,
        received_after_days: int | None = None,
    ) -> None:
        """The day of notification follows from the delivery by the rule in force when sent;
        the objection period, a validity that runs from it and the fee's due date follow."""
        decision = self.case.decision
        today = self.today
        sent = today if sent_in_days is None else today + timedelta(days=sent_in_days)
        received = None if received_after_days is None else sent + timedelta(received_after_days)

        def expect(today: date) -> str | None:
            if decision is None:
                return "decision"
            if sent < berlin_date(decision.decided_at) or sent > today:
                return "sent_on"
            if received is not None and received > today:
                return "received_on"
            try:
                rule_on(sent).notified_on(delivery, sent, received)
            except InvalidCommand as refused:
                return refused.field
            return None

        error = self._run(
            "notify",
            actor,
            at_kind,
            lambda at: self.case.notify(
                actor=actor,
                at=at,
                delivery=delivery,
                sent_on=None if sent_in_days is None else sent,
                received_on=received,
            ),
            expect,
        )
        if error is not None:
            return
        case = self.case
        assert decision is not None
        day = rule_on(sent).notified_on(delivery, sent, received)
        assert case.status == CaseStatus.NOTIFIED
        assert case.notified_on == day >= sent
        assert case.notification == {
            "delivery": delivery.value,
            "sent_on": sent,
            "received_on": received,
        }
        months = decision.remedy_notice.period_months
        assert case.objection_deadline == period_end(day, months)
        notified = case.decision
        assert notified is not None
        assert notified is case.decisions[-1]
        assert notified.notified_on == day
        assert notified.effective_from == max(decision.effective_from, day)
        if decision.valid_for_months is not None:
            assert notified.expires_on == add_months(day, decision.valid_for_months)
        else:
            assert notified.expires_on == decision.expires_on
        if decision.costs is not None:
            assert notified.costs is not None
            assert notified.costs.due_on == add_months(day, FEE_DUE_MONTHS)
        [recorded] = self.store.events.get(case.id, gt=case.version - 1)
        assert isinstance(recorded, Case.Notified)
        assert recorded.rules is not None
        assert recorded.rules.version == rule_on(sent).version
        assert recorded.rules.inputs["notified_on"] == day.isoformat()

    def notify_as_usual(self, choice: int) -> None:
        """Notified by one of the ways a town delivers, sent today."""
        delivery = (
            Delivery.COUNTER,
            Delivery.LETTER,
            Delivery.ELECTRONIC,
            Delivery.PORTAL,
            Delivery.FORMAL_SERVICE,
        )[choice % 5]
        received = 0 if delivery in (Delivery.PORTAL, Delivery.FORMAL_SERVICE) else None
        self.notify(CLERK, NOW, delivery, None, received)

    @rule(actor=actors, at_kind=at_kinds, reason=texts)
    def record_remedy_notice_defect(self, actor: Actor, at_kind: str, reason: str) -> None:
        """A missing or wrong notice: the objection period is a year (§ 58 (2) VwGO), for
        objections still open too; within the year a case marked final is open again."""
        case = self.case
        status, open_before = case.status, case.open_objection
        notified_on = case.notified_on

        def expect(today: date) -> str | None:
            assert notified_on is not None  # offered only after notification
            if today > period_end(notified_on, PERIOD_WITHOUT_NOTICE_MONTHS):
                return "at"
            return None if clean(reason) else "reason"

        error = self._run(
            "record_remedy_notice_defect",
            actor,
            at_kind,
            lambda at: case.record_remedy_notice_defect(actor=actor, at=at, reason=reason),
            expect,
        )
        if error is None:
            assert case.decision is not None
            assert notified_on is not None
            assert not case.decision.remedy_notice.complete
            year = period_end(notified_on, PERIOD_WITHOUT_NOTICE_MONTHS)
            assert case.objection_deadline == year
            assert "record_remedy_notice_defect" not in case.allowed_commands()
            assert case.final_on is None
            assert case.status == (CaseStatus.NOTIFIED if status == CaseStatus.FINAL else status)
            event(f"remedy notice found defective ({status})")
            if open_before is not None:
                still_open = case.open_objection
                assert still_open is not None
                assert still_open.deadline == year
                in_the_year = open_before.received_on <= year
                assert still_open.timely is (open_before.reinstated or in_the_year)

    # ------------------------------------------------------ the legal track: objections

    @precondition(lambda self: self.reopened_where_it_stood())
    @rule(actor=actors, at_kind=at_kinds, grounds=texts, received_in_days=days_from_today)
    def lodge_objection(
        self, actor: Actor, at_kind: str, grounds: str, received_in_days: int | None
    ) -> None:
        """Recorded in time or late, never refused for lateness; the main track stays, but
        one in time recorded after the case was marked final (or its file closed) shows the
        decision was never final: the case is at notification again."""
        case = self.case
        received_on = (
            None if received_in_days is None else self.today + timedelta(days=received_in_days)
        )
        status, lodged, deadline = case.status, len(case.objections), case.objection_deadline
        final_on = case.final_on
        sent_on = case.notification["sent_on"] if case.notification else None

        def expect(today: date) -> str | None:
            day = received_on or today
            if sent_on is not None and day < sent_on:
                return "received_on"  # before the decision was even sent
            if day > today:
                return "received_on"
            return None if clean(grounds) else "grounds"

        error = self._run(
            "lodge_objection",
            actor,
            at_kind,
            lambda at: case.lodge_objection(
                actor=actor, at=at, grounds=grounds, received_on=received_on
            ),
            expect,
        )
        if error is None:
            assert deadline is not None
            assert len(case.objections) == lodged + 1
            objection = case.objections[-1]
            assert case.open_objection is objection
            assert objection.received_on == (received_on or self.today)
            assert objection.deadline == deadline
            assert objection.timely is (objection.received_on <= deadline)
            assert objection.state == ObjectionState.PENDING
            reopens = objection.timely and status in (CaseStatus.FINAL, CaseStatus.CLOSED)
            if reopens:
                event(f"an objection in time reopened the case ({status})")
            assert case.status == (CaseStatus.NOTIFIED if reopens else status)
            assert case.final_on == (None if objection.timely else final_on)

    def closed_after_withdrawal(self) -> bool:
        """The file of a withdrawn application was closed: the withdrawal settled the
        application and its decision (§ 43 (2) HVwVfG), so no objection reopens it."""
        return self.case.status == CaseStatus.CLOSED and self.closed_from == CaseStatus.WITHDRAWN

    def reopened_where_it_stood(self) -> bool:
        """An objection that reopens a closed file puts it at notification, which is where it
        stood only if it was closed from notification or finality (or not at all, after a
        withdrawal): one closed after the service's own steps is left out here, the case
        would be offered those steps again (pinned in test_objection_track)."""
        closed = self.case.status == CaseStatus.CLOSED
        where = (CaseStatus.NOTIFIED, CaseStatus.FINAL, CaseStatus.WITHDRAWN)
        return not closed or self.closed_from in where

    def _open_objection(self) -> Objection:
        objection = self.case.open_objection
        assert objection is not None  # the legal track offers the command only then
        return objection

    @rule(actor=actors, at_kind=at_kinds, reason=texts, force_majeure=st.booleans())
    def grant_reinstatement(
        self, actor: Actor, at_kind: str, reason: str, force_majeure: bool = False
    ) -> None:
        """A late objection counts as in time; a final decision is open again. A year after
        the period ended only for force majeure (§ 60 (3) VwGO)."""
        status = self.case.status
        objection = self.case.open_objection

        def expect(today: date) -> str | None:
            assert objection is not None  # offered only for a late objection open
            missed = objection.deadline or objection.received_on
            if today > add_months(missed, 12) and not force_majeure:
                return "force_majeure"
            return None if clean(reason) else "reason"

        error = self._run(
            "grant_reinstatement",
            actor,
            at_kind,
            lambda at: self.case.grant_reinstatement(
                actor=actor, at=at, reason=reason, force_majeure=force_majeure
            ),
            expect,
        )
        if error is None:
            objection = self._open_objection()
            assert objection.reinstated
            assert objection.timely
            assert self.case.final_on is None
            # Counted as in time, it reopens a case marked final or a closed file.
            reopens = status in (CaseStatus.FINAL, CaseStatus.CLOSED)
            assert self.case.status == (CaseStatus.NOTIFIED if reopens else status)

    @rule(
        actor=actors,
        at_kind=at_kinds,
        held_in_days=st.integers(min_value=-40, max_value=1),
        committee=committees,
    )
    def hear_objection(
        self, actor: Actor, at_kind: str, held_in_days: int, committee: str | None
    ) -> None:
        """In self-government matters the configured committee hears it (road traffic
        objections are forwarded instead: not offered there)."""
        held_on = self.today + timedelta(days=held_in_days)
        objection = self.case.open_objection
        configured = authorities_of(self.case.tenant).hearing_committee
        given = by_name(committee, configured)

        def expect(today: date) -> str | None:
            assert objection is not None
            assert self.case.MATTER is Matter.SELF_GOVERNMENT
            if not objection.received_on <= held_on <= today:
                return "held_on"
            return "committee" if another_than(given, configured) else None

        error = self._run(
            "hear_objection",
            actor,
            at_kind,
            lambda at: self.case.hear_objection(
                actor=actor, at=at, held_on=held_on, committee=given
            ),
            expect,
        )
        if error is None:
            heard = self._open_objection()
            assert heard.state == ObjectionState.HEARD
            assert heard.heard_on == held_on
            assert heard.hearing_committee == configured

    @rule(actor=actors, at_kind=at_kinds, authority=authorities, reason=texts)
    def forward_objection(
        self, actor: Actor, at_kind: str, authority: str | None, reason: str
    ) -> None:
        """No remedy: in road traffic matters to the configured supervising authority (a name
        typed on the case is refused); self-government matters are heard instead."""
        configured = authorities_of(self.case.tenant).objection_authority(self.case.MATTER)
        given = by_name(authority, configured)

        def expect(_today: date) -> str | None:
            assert self.case.MATTER is not Matter.SELF_GOVERNMENT
            if another_than(given, configured):
                return "authority"
            return None if clean(reason) else "reason"

        error = self._run(
            "forward_objection",
            actor,
            at_kind,
            lambda at: self.case.forward_objection(
                actor=actor, at=at, authority=given, reason=reason
            ),
            expect,
        )
        if error is None:
            forwarded = self._open_objection()
            assert forwarded.state == ObjectionState.FORWARDED
            assert forwarded.forwarded_to == configured

    @rule(
        actor=actors,
        at_kind=at_kinds,
        reason=texts,
        extent=st.sampled_from(["full", "full", "partial", "half"]),
        costs_borne_by=costs_borne,
        fee_refund=refunds,
        new_decision=st.booleans(),
        operative_part=operative_parts,
    )
    def remedy_objection(
        self,
        actor: Actor,
        at_kind: str,
        reason: str,
        extent: str = "full",
        costs_borne_by: str = CostsBorneBy.AUTHORITY,
        fee_refund: Decimal | None = None,
        new_decision: bool = True,
        operative_part: str | None = None,
    ) -> None:
        """Abhilfe in full or in part, with costs and a refund of the fee the decision assessed;
        with a new decision the case returns to review (only before the service's steps
        began), without one the remedy says what it changes in the decision in force."""
        case = self.case
        status, fee_paid, decision = case.status, case.fee_paid, case.decision
        index = case.objections.index(case.open_objection) if case.open_objection else -1

        def expect(today: date) -> str | None:
            if extent not in ("full", "partial"):
                return "extent"
            if refund_refusal(decision, fee_refund, self.refunded):
                return "fee_refund"
            if new_decision:
                refusal = self.new_decision_refusal(status)
                if refusal is not None:
                    return refusal
            elif not operative_part:
                return "operative_part"
            if costs_borne_by not in CostsBorneBy.ALL:
                return "costs_borne_by"
            if not clean(reason):
                return "reason"
            return "operative_part" if operative_part and not clean(operative_part) else None

        error = self._run(
            "remedy_objection",
            actor,
            at_kind,
            lambda at: case.remedy_objection(
                actor=actor,
                at=at,
                reason=reason,
                extent=extent,
                costs_borne_by=costs_borne_by,
                fee_refund=fee_refund,
                new_decision=new_decision,
                operative_part=operative_part,
            ),
            expect,
        )
        if error is not None:
            return
        remedied = case.objections[index]
        full = extent == "full"
        assert remedied.state == (
            ObjectionState.REMEDIED if full else ObjectionState.PARTLY_REMEDIED
        )
        assert remedied.is_open is not full  # the rest of a partial remedy goes on
        assert remedied.remedy is not None
        assert remedied.remedy.costs.borne_by == costs_borne_by
        assert remedied.remedy.costs.fee_refund == fee_refund
        assert remedied.remedy.decided_by == authorities_of(case.tenant).issuing_authority(
            case.MATTER
        )
        assert (remedied.remedy.operative_part is None) is (not operative_part)
        assert remedied.remedies[-1] is remedied.remedy  # every remedy kept, the latest last
        refunded = fee_refund if fee_refund and fee_paid is not None else 0
        assert case.fee_paid == (None if fee_paid is None else fee_paid - refunded)
        self.refunded += fee_refund or 0
        if new_decision:
            self.check_reopened_for_a_new_decision()
        else:
            assert case.status == status
            assert case.decision == decision

    def new_decision_refusal(self, status: str) -> str | None:
        """A new decision replaces the one in force only before the service's steps began,
        and where the service lets its decision be reopened."""
        if status not in (CaseStatus.NOTIFIED, CaseStatus.FINAL):
            return "new_decision"
        return self.reopen_refusal()

    def check_reopened_for_a_new_decision(self) -> None:
        """Back to review: no decision in force, no notification, nothing refunded of the
        next decision yet."""
        case = self.case
        assert case.status == CaseStatus.IN_REVIEW
        assert case.decision is None
        assert case.decisions
        assert case.notified_on is case.objection_deadline is case.final_on is None
        assert case.clock.decided_on is None
        assert case.clock.reopened_after_decision  # no deemed approval for the next one
        self.refunded = Decimal(0)

    def reopen_refusal(self) -> str | None:
        """The field a service refuses a remedy that reopens its decision on, if any."""
        return None

    @rule(actor=actors, at_kind=at_kinds, reason=optional_texts)
    def withdraw_objection(self, actor: Actor, at_kind: str, reason: str | None) -> None:
        """The objector withdraws; no reason is needed."""
        index = (
            self.case.objections.index(self._open_objection()) if self.case.open_objection else -1
        )
        error = self._run(
            "withdraw_objection",
            actor,
            at_kind,
            lambda at: self.case.withdraw_objection(actor=actor, at=at, reason=reason),
            lambda _today: "reason" if reason and not reason.strip() else None,
        )
        if error is None:
            withdrawn = self.case.objections[index]
            assert withdrawn.state == ObjectionState.WITHDRAWN
            assert withdrawn.withdrawn_on == self.today
            assert self.case.open_objection is None

    @rule(
        actor=actors,
        at_kind=at_kinds,
        outcome=objection_outcomes,
        reasons=texts,
        costs_borne_by=costs_borne,
        served_in_days=st.integers(min_value=-40, max_value=1),
        decided_in_days=st.one_of(st.none(), st.integers(min_value=-40, max_value=1)),
        fee=objection_fees,
        fee_refund=refunds,
        authority=authorities,
        operative_part=operative_parts,
        new_decision=st.sampled_from([False, False, True]),
    )
    def decide_objection(
        self,
        actor: Actor,
        at_kind: str,
        outcome: str,
        reasons: str,
        costs_borne_by: str,
        served_in_days: int,
        decided_in_days: int | None = None,
        fee: Decimal | None = None,
        fee_refund: Decimal | None = None,
        authority: str | None = None,
        operative_part: str | None = None,
        new_decision: bool = False,
    ) -> None:
        """The Widerspruchsbescheid of the configured authority, after the procedure of the
        matter (the hearing, or the file forwarded): a late objection without reinstatement
        only as inadmissible; signed between receipt (and the hearing) and today, served
        between signing and today; the month for an action from service. Granted, it may
        call for a new decision: back to review, as after a remedy with one."""
        case = self.case
        served_on = self.today + timedelta(days=served_in_days)
        signed = None if decided_in_days is None else self.today + timedelta(decided_in_days)
        objection = case.open_objection
        status, fee_paid, decision = case.status, case.fee_paid, case.decision
        index = case.objections.index(objection) if objection else -1
        configured = authorities_of(case.tenant).objection_authority(case.MATTER)
        given = by_name(authority, configured)

        def expect(today: date) -> str | None:
            assert objection is not None
            if outcome not in ObjectionOutcome.ALL:
                return "outcome"
            if not objection.timely and outcome != ObjectionOutcome.INADMISSIBLE:
                return "outcome"
            if procedure_missing(case, objection, outcome):
                return "objection"
            day = signed or today
            if not objection.received_on <= day <= today:
                return "decided_on"
            if objection.heard_on is not None and day < objection.heard_on:
                return "decided_on"
            if not day <= served_on <= today:
                return "served_on"
            if refund_refusal(decision, fee_refund, self.refunded):
                return "fee_refund"
            if not clean(reasons):
                return "reasons"
            if costs_borne_by not in CostsBorneBy.ALL:
                return "costs_borne_by"
            if fee is not None and fee < 0:
                return "fee"
            if another_than(given, configured):
                return "authority"
            if operative_part and not clean(operative_part):
                return "operative_part"
            if not new_decision:
                return None
            if outcome not in (ObjectionOutcome.GRANTED, ObjectionOutcome.PARTLY_GRANTED):
                return "new_decision"
            return self.new_decision_refusal(status)

        error = self._run(
            "decide_objection",
            actor,
            at_kind,
            lambda at: case.decide_objection(
                actor=actor,
                at=at,
                outcome=outcome,
                reasons=reasons,
                costs_borne_by=costs_borne_by,
                served_on=served_on,
                fee=fee,
                fee_refund=fee_refund,
                authority=given,
                operative_part=operative_part,
                decided_on=signed,
                new_decision=new_decision,
            ),
            expect,
        )
        if error is not None:
            return
        decided = case.objections[index]
        assert decided.state == ObjectionState.DECIDED
        assert not decided.is_open
        bescheid = decided.decision
        assert bescheid is not None
        assert bescheid.outcome == outcome
        assert bescheid.served_on == served_on
        assert bescheid.action_deadline == period_end(served_on, ACTION_PERIOD_MONTHS)
        assert bescheid.decided_on == (signed or self.today)
        assert (bescheid.operative_part is None) is (not operative_part)
        assert bescheid.decided_by == configured
        assert bescheid.costs.borne_by == costs_borne_by
        assert bescheid.costs.fee == fee
        refunded = fee_refund if fee_refund and fee_paid is not None else 0
        assert case.fee_paid == (None if fee_paid is None else fee_paid - refunded)
        self.refunded += fee_refund or 0
        event(f"Widerspruchsbescheid: {outcome}{', a new decision' if new_decision else ''}")
        if new_decision:
            self.check_reopened_for_a_new_decision()
        else:
            assert case.status == status
            assert case.decision == decision

    @rule(actor=actors, at_kind=at_kinds)
    def mark_final(self, actor: Actor, at_kind: str) -> None:
        """From the day after the period, or after the objection was finally disposed of; a
        late objection open (not reinstated) does not hold it back."""
        status = self.case.status
        first = expected_final_from(self.case)

        def expect(today: date) -> str | None:
            assert first is not None  # offered only with no objection in time open
            return None if today >= first else "at"

        error = self._run(
            "mark_final",
            actor,
            at_kind,
            lambda at: self.case.mark_final(actor=actor, at=at),
            expect,
        )
        if error is None:
            if self.case.open_objection is not None:
                event("marked final with a late objection open")
            assert self.case.final_on == first
            expected = CaseStatus.FINAL if status == CaseStatus.NOTIFIED else status
            assert self.case.status == expected
            assert "withdraw" not in self.case.allowed_commands()

    @precondition(lambda self: self.withdrawals)
    @rule(actor=actors, at_kind=at_kinds, jump=st.sampled_from(["none", "last_day", "after"]))
    def record_expiry(self, actor: Actor, at_kind: str, jump: str) -> None:
        """The approval's validity ended (§ 43 (2) HVwVfG): from the day after its last day,
        once; never for a refusal, a withdrawn application, a closed file, an approval ended
        otherwise. The status stays."""
        case = self.case
        last = case.validity_ends_on()
        first = case.expiry_from()
        if first is not None:
            assert last is not None
            assert first == last + timedelta(days=1)
            if jump == "last_day":
                self._move_to(first - timedelta(days=1))
            elif jump == "after":
                self._move_to(first)
        else:
            assert "record_expiry" not in case.allowed_commands()
        status = case.status

        def expect(today: date) -> str | None:
            assert first is not None  # offered only while it could expire
            return None if today >= first else "at"

        error = self._run(
            "record_expiry",
            actor,
            at_kind,
            lambda at: case.record_expiry(actor=actor, at=at),
            expect,
        )
        if error is None:
            event("approval expired")
            assert case.expired_on == first
            assert case.status == status
            assert "record_expiry" not in case.allowed_commands()

    @rule(actor=actors, at_kind=at_kinds, reason=optional_texts)
    def withdraw(self, actor: Actor, at_kind: str, reason: str | None) -> None:
        """The application is withdrawn until the decision is final by law (marked or not),
        with or without reason."""
        case = self.case
        offered = self.withdrawal_offered()
        first = expected_final_from(case)

        def expect(today: date) -> str | None:
            if first is not None and today >= first:
                return "at"  # final by law, though nobody marked it yet
            return "reason" if reason and not reason.strip() else None

        error = self._run(
            "withdraw",
            actor,
            at_kind,
            lambda at: case.withdraw(actor=actor, at=at, reason=reason),
            expect,
        )
        if error is None:
            assert offered
            assert case.status == CaseStatus.WITHDRAWN
            assert (case.withdrawal_reason is None) is (not reason)
            assert case.holder is None

    def withdrawal_offered(self) -> bool:
        """Until the decision is marked final, while the file is open, in the statuses before
        the decision was used."""
        case = self.case
        return case.final_on is None and case.status in WITHDRAWABLE and self.may_withdraw()

    def may_withdraw(self) -> bool:
        """What a service adds: its decision left nothing it must undo its own way."""
        return True

    def approval_holds_something(self) -> bool:
        """An approval was decided (in force, or awaiting countersignature or payment)."""
        decision = self.case.decision or self.case.pending_decision
        return decision is not None and decision.outcome.is_approval

    @rule(actor=actors, at_kind=at_kinds, reason=optional_texts)
    def close(self, actor: Actor, at_kind: str, reason: str | None) -> None:
        status = self.case.status

        def expect(today: date) -> str | None:
            refusal = self.legal_track_refusal(status, today) or self.close_refusal(status, today)
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
            # A closed file still takes an objection (in time but registered late), unless
            # a withdrawal settled the application and its decision.
            notified = self.case.notified_on is not None
            takes = notified and not self.closed_after_withdrawal()
            assert self.case.allowed_commands() == ({"lodge_objection"} if takes else set())
            assert self.case.holder is None

    def legal_track_refusal(self, status: str, today: date) -> str | None:
        """No file closes with an objection open, or while the period runs and the decision
        is not final; a withdrawal settled both."""
        case = self.case
        if status == CaseStatus.WITHDRAWN:
            return None
        if case.open_objection is not None:
            return "objection"
        deadline = case.objection_deadline
        if deadline is not None and case.final_on is None and today <= deadline:
            return "at"
        return None

    def close_refusal(self, status: str, today: date) -> str | None:
        """The field a service's own close rule refuses in this status, if any."""
        return None

    def settle_and_close(self, reason: str | None) -> None:
        """Close as a clerk does: any objection decided, the decision final, then the file."""
        case = self.case
        objection = case.open_objection
        if objection is not None:
            outcome = ObjectionOutcome.DISMISSED if objection.timely else "inadmissible"
            if procedure_missing(case, objection, outcome):
                self.take_the_objection_procedure()
            self.decide_objection(CLERK, NOW, outcome, "unbegründet", CostsBorneBy.OBJECTOR, 0)
        first = expected_final_from(case)
        if case.final_on is None and first is not None and case.status != CaseStatus.WITHDRAWN:
            self._move_to(first)
            self.mark_final(CLERK, NOW)
        self.close(CLERK, NOW, reason)

    # ------------------------------------------------------------ usual steps

    def take_the_legal_step(self, choice: int) -> bool:
        """A step of the legal track beside the case, whatever its status: an objection
        lodged (in time, late, before the presumed day), heard or forwarded as the matter
        prescribes, remedied, withdrawn or decided (a new decision called for); reinstatement;
        finality with a late objection open; the notice found defective; finality."""
        case = self.case
        if case.notified_on is None or case.status in (CaseStatus.CLOSED, CaseStatus.WITHDRAWN):
            return False
        objection = case.open_objection
        assert case.objection_deadline is not None
        if objection is None:
            complete_notice = case.decision is not None and case.decision.remedy_notice.complete
            if choice in (0, 4):
                received = None  # today: in time, or late once the period ended
                if choice == 4 and case.final_on is not None:
                    # Received on the last day, registered after it was marked final.
                    received = (case.objection_deadline - self.today).days
                self.lodge_objection(CLERK, NOW, "Die Auflage ist unverhältnismäßig", received)
            elif choice == 1:
                if case.final_on is None:
                    self._move_to(case.objection_deadline + timedelta(days=1))
                self.lodge_objection(CLERK, NOW, "Verspätet, aber begründet", None)  # late
            elif choice == 2 and complete_notice:
                self.record_remedy_notice_defect(SUPERVISOR, NOW, "Belehrung nannte falsche Stelle")
            elif choice in (3, 5) and case.final_on is None:
                self._mark_final_on_the_first_day()
            else:
                return False
            return True
        if not objection.timely and choice <= 2:
            self.grant_reinstatement(SUPERVISOR, NOW, "Krankenhausaufenthalt belegt", choice == 2)
        elif not objection.timely and choice == 7 and case.final_on is None:
            self._mark_final_on_the_first_day()  # a late objection does not hold it back
        elif not objection.timely:
            self.decide_objection(SUPERVISOR, NOW, "dismissed", "verspätet", "objector", 0)
            if procedure_missing(case, objection, ObjectionOutcome.INADMISSIBLE):
                self.take_the_objection_procedure()
            self.decide_objection(SUPERVISOR, NOW, "inadmissible", "verspätet", "objector", 0)
        elif choice == 0:
            new_decision = case.status in (CaseStatus.NOTIFIED, CaseStatus.FINAL)
            fee = case.decision.fee if case.decision is not None else None
            refund = fee - self.refunded if fee and fee > self.refunded else None
            part = None if new_decision else PART
            self.remedy_objection(
                SUPERVISOR, NOW, "begründet", "full", "authority", refund, new_decision, part
            )
        elif choice == 1:
            self.remedy_objection(
                SUPERVISOR, NOW, "zum Teil begründet", "partial", "shared", None, False, PART
            )
        elif choice == 2 and objection.state in HEARD_OR_FORWARDED_FROM:
            self.take_the_objection_procedure()
        elif choice == 3:
            self.withdraw_objection(APPLICANT, NOW, None)
        else:
            outcome = ObjectionOutcome.ALL[choice % 4]
            days = -1 if choice > 5 else 0  # signed and served yesterday, or today
            if procedure_missing(case, objection, outcome):
                self.take_the_objection_procedure()
                days = 0  # signed after the hearing
            # Granted: the town decides anew where its decision may still be replaced.
            granted = outcome in (ObjectionOutcome.GRANTED, ObjectionOutcome.PARTLY_GRANTED)
            new_decision = granted and self.new_decision_refusal(case.status) is None
            self.decide_objection(
                SUPERVISOR,
                NOW,
                outcome,
                "Gründe",
                "objector",
                days,
                days,
                new_decision=new_decision,
            )
        return True

    def take_the_objection_procedure(self) -> None:
        """The step the matter prescribes before the Widerspruchsbescheid: the hearing before
        the committee (self-government), or the file forwarded (road traffic)."""
        if self.case.MATTER is Matter.SELF_GOVERNMENT:
            self.hear_objection(CLERK, NOW, 0, None)
        else:
            self.forward_objection(CLERK, NOW, None, "keine Abhilfe")

    def _mark_final_on_the_first_day(self) -> None:
        """Refused the day before the decision is final, marked on the day itself."""
        first = expected_final_from(self.case)
        assert first is not None
        self._move_to(first - timedelta(days=1))
        self.mark_final(CLERK, NOW)  # the day before: refused
        self._move_to(first)
        self.mark_final(CLERK, NOW)

    def _take_the_shared_step(self, choice: int, outcome: DecisionOutcome) -> bool:
        """One well-formed step of the shared lifecycle; False if the status is the service's."""
        case = self.case
        status = case.status
        legal_first = case.open_objection is not None and choice % 2 == 1
        if legal_first and self.take_the_legal_step(choice // 2):
            return True
        if status == CaseStatus.SUBMITTED:
            self.confirm_complete(CLERK, NOW, None)
        elif status == CaseStatus.IN_REVIEW and case.holder is None:
            self.claim(DELEGATED_CLERK if choice == 0 else CLERK, NOW)
        elif status == CaseStatus.IN_REVIEW and choice == 0:
            self.request_information(CLERK, NOW, ["Lageplan fehlt"], 14, outcome.is_approval)
        elif status == CaseStatus.IN_REVIEW:
            if outcome is DecisionOutcome.REJECTED and choice < 6:
                outcome = DecisionOutcome.APPROVED_WITH_CONDITIONS  # approvals go further
            if outcome is DecisionOutcome.APPROVED and self.STANDARD_CONDITIONS:
                outcome = DecisionOutcome.APPROVED_WITH_CONDITIONS
            self.prepare_decision(choice)
            self.decide_as_usual(outcome, choice)
        elif status == CaseStatus.INFORMATION_REQUESTED:
            self.provide_information(APPLICANT, NOW, "Lageplan anbei")
        elif status == CaseStatus.DECIDED:
            self.notify_as_usual(choice)
        elif status == CaseStatus.NOTIFIED and choice <= 3:
            return self.take_the_legal_step(choice)
        elif status == CaseStatus.WITHDRAWN:
            self.close(CLERK, NOW, None)
        else:
            return self.take_the_legal_step(choice) if choice == 7 else False
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
        assert case.status not in NO_OBJECTION_STATUSES
        assert (case.open_request is not None) is (case.status == CaseStatus.INFORMATION_REQUESTED)
        if case.status in (CaseStatus.WITHDRAWN, CaseStatus.CLOSED):
            assert case.holder is None
        if case.status in UNDECIDED:
            assert case.decision is None

    @invariant()
    def the_legal_track_stands_beside_the_case(self) -> None:
        """Notification, objections and finality, whatever step the service has reached."""
        case = self.case
        notified = case.notified_on is not None
        assert notified is (case.objection_deadline is not None) is (case.notification is not None)
        allowed = case.allowed_commands()
        assert ("withdraw" in allowed) is self.withdrawal_offered()
        assert sum(o.is_open for o in case.objections) <= 1
        open_objection = case.open_objection
        if notified:
            assert case.notified_on is not None
            assert case.objection_deadline is not None
            assert case.decision is not None
            assert case.decision.notified_on == case.notified_on
            assert is_working_day(case.objection_deadline)
            months = case.decision.remedy_notice.period_months
            assert months in (OBJECTION_PERIOD_MONTHS, PERIOD_WITHOUT_NOTICE_MONTHS)
            assert case.objection_deadline == period_end(case.notified_on, months)
            if open_objection is not None and open_objection.deadline != case.objection_deadline:
                # Only one lodged against an earlier notification and remedied in part with a
                # new decision: its timeliness was judged by the period it was lodged in, which
                # it keeps; the rest of it stays open against the decision now in force.
                assert open_objection.remedies  # remedied in part (heard since, perhaps)
                assert open_objection.received_on <= case.notified_on
        else:
            assert case.final_on is None
        if case.final_on is not None:
            assert case.objection_deadline is not None
            assert case.final_on > case.objection_deadline
            assert open_objection is None or not open_objection.timely
            assert "withdraw" not in allowed
        if case.status == CaseStatus.WITHDRAWN or self.closed_after_withdrawal() or not notified:
            assert not allowed & LEGAL_TRACK_AFTER_NOTIFICATION
            return
        # After notification, in any status, a closed file too: the objection track.
        closed = case.status == CaseStatus.CLOSED
        assert ("lodge_objection" in allowed) is (open_objection is None)
        for command in ("remedy_objection", "withdraw_objection", "decide_objection"):
            assert (command in allowed) is (open_objection is not None)
        if open_objection is not None:
            assert ("grant_reinstatement" in allowed) is (not open_objection.timely)
            goes_on = open_objection.state in HEARD_OR_FORWARDED_FROM
            self_governed = case.MATTER is Matter.SELF_GOVERNMENT
            assert ("hear_objection" in allowed) is (goes_on and self_governed)
            assert ("forward_objection" in allowed) is (goes_on and not self_governed)
        # A late objection (not reinstated) does not hold finality back; one in time does.
        open_in_time = open_objection is not None and open_objection.timely
        offered = case.final_on is None and not closed and not open_in_time
        assert ("mark_final" in allowed) is offered
        assert case.decision is not None
        complete = case.decision.remedy_notice.complete
        assert ("record_remedy_notice_defect" in allowed) is (complete and not closed)

    @invariant()
    def a_fee_is_owed_once_less_what_was_refunded(self) -> None:
        """The fee charges standing for the decision in force add up to its fee less what
        remedies and Widerspruchsbescheide refunded; a decision set aside leaves none."""
        case = self.case
        number = len(case.decisions)
        if case.decision is None:
            assert not case.charges_in_force(number)
            return
        fees = [c for c in case.charges_of_decision(number) if c.ledger == ADMINISTRATIVE_FEE]
        if fees:
            standing = [c for c in fees if c.kassenzeichen not in case.withdrawn_charges]
            assert len(standing) <= 1
            owed = sum((c.amount for c in standing), Decimal(0))
            assert owed == (case.decision.fee or 0) - case.fee_refunded

    @invariant()
    def a_fresh_store_replays_the_same_case(self) -> None:
        if self.successes_since_replay >= 5:
            self._check_replay_in_fresh_store()
