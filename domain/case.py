"""The case: the lifecycle every service shares, as an event-sourced aggregate.

Public methods are commands: they check (``check_*`` and the lifecycle table), decide, and
call one private ``@event`` method that records the outcome and only assigns state
(docs/architecture.md, decision 15). Every event names who (``actor``), when (``at``, business
time from the application's clock) and, where the law expects one, why (``reason``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor, ActorRecord, Role
from domain.conditions import StandardConditions, check_conditions
from domain.decision import Decision, DecisionOutcome, RulesApplied
from domain.errors import (
    CaseHeldByAnotherClerk,
    InvalidCommand,
    InvalidTransition,
    NotTheHolder,
    WrongTenant,
)
from domain.inspections import Inspection, Inspections
from domain.lifecycle import LIFECYCLE, CaseStatus
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.processing_clock import ClockError, ProcessingClock
from domain.rules.versions import AsRecorded, InForce, RulesChoice, in_force
from domain.teams import check_serves
from domain.working_days import berlin_date, period_end

OBJECTION_PERIOD_MONTHS = 1  # § 70 (1) VwGO
APPLICANT_COMMANDS = frozenset({"provide_information", "withdraw"})
OBJECTION_PERIOD_MONTHS_WITHOUT_REMEDY_NOTICE = 12  # § 58 (2) VwGO


@dataclass(frozen=True, slots=True)
class InformationRequest:
    """Questions to the applicant with a reply deadline; missing documents stop the clock."""

    questions: tuple[PersonalValue, ...]
    reply_by: date
    missing_documents: bool
    requested_by: ActorRecord
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class Objection:
    """A Widerspruch against the decision, as received."""

    received_on: date
    grounds: PersonalValue
    lodged_by: ActorRecord


@dataclass(frozen=True, slots=True)
class DecisionTerms:
    """Validity, fee and the rules applied: given by the clerk or assessed by the service."""

    expires_on: date | None = None
    fee: Decimal | None = None
    rules: tuple[RulesApplied, ...] = ()
    particulars: Mapping[str, Any] = field(default_factory=dict)  # e.g. the connection point


class ChangesStatus(Aggregate.Event):
    """An event that leads a case into a status; it records which, so views need no rules.

    Events that carried no status before (``class_version`` 1) are upcast with the status
    they always led to; where the status depends on the case, the event always recorded it.
    """

    status: str


def leads_to(status: str) -> Any:
    """The ``upcast_v1_v2`` of an event that always led to ``status``."""

    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["status"] = status

    return staticmethod(upcast_v1_v2)


class Case(Aggregate):
    """An application (Antrag) and everything that happens to it until the file is closed."""

    LIFECYCLE: ClassVar[Mapping[str, frozenset[str]]] = LIFECYCLE
    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 20
    COUNTERSIGN_REQUIRED: ClassVar[bool] = False
    PAYMENT_BEFORE_ISSUE: ClassVar[bool] = False
    APPLICANT_COMMANDS: ClassVar[frozenset[str]] = APPLICANT_COMMANDS  # services may add steps
    # A service's own events published to integrators: event class → (public name, meaning).
    # The shared lifecycle's public events are the feed's own; anything not named is internal.
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {}
    # A service whose fee comes from its tariff names itself here ("a road opening permit"):
    # a fee given by the clerk is then refused rather than silently replaced.
    FEE_BY_TARIFF_OF: ClassVar[str | None] = None
    # A service that approves only by its rules says here how ("a burial is scheduled only
    # by ..."): a clerk's ``decide`` may then only refuse. An approval by the rules records
    # the rules it was made by; a clerk's decision records none.
    APPROVED_ONLY_BY_RULES: ClassVar[str | None] = None
    # The versions of the standard conditions (Regelauflagen) every approval of the service
    # carries, if it has any: a decision attaches the version in force on its day.
    STANDARD_CONDITIONS_VERSIONS: ClassVar[tuple[StandardConditions, ...]] = ()

    class Submitted(Aggregate.Created):
        """A new case. Version 2 added ``channel``; version 1 events were all online."""

        class_version = 2
        actor: ActorRecord
        at: datetime
        tenant: str
        service: str
        reference: str
        applicant: dict[str, PersonalValue]
        data: dict[str, Any]
        request_fingerprint: str
        channel: str
        clock: ProcessingClock

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["channel"] = "online"

        def apply(self, aggregate: Aggregate) -> None:
            """Initial state; runs for every service subclass too (it has no ``__init__``)."""
            if not isinstance(aggregate, Case):
                raise TypeError(f"{type(aggregate).__name__} is not a Case")
            aggregate._submitted(self)

    def _submitted(self, submitted: Submitted) -> None:
        self.tenant = submitted.tenant
        self.service = submitted.service
        self.reference = submitted.reference
        self.applicant = submitted.applicant
        self.data = submitted.data
        self.request_fingerprint = submitted.request_fingerprint
        self.channel = submitted.channel
        self.clock = submitted.clock
        self.status: str = CaseStatus.SUBMITTED
        self.submitted_at = submitted.at
        self.submitted_by = submitted.actor.id
        self.last_activity_at = submitted.at
        self.holder: ActorRecord | None = None
        self.open_request: InformationRequest | None = None
        self.decision: Decision | None = None
        self.pending_decision: Decision | None = None
        self.decisions: list[Decision] = []
        self.notified_on: date | None = None
        self.objection_deadline: date | None = None
        self.objection: Objection | None = None
        self.notes: list[PersonalValue] = []
        self.fee_paid: Decimal | None = None
        self.withdrawal_reason: PersonalValue | None = None
        self.erased_subjects: list[str] = []

    # ----------------------------------------------------------------- creation

    @classmethod
    def submit(
        cls,
        *,
        case_id: UUID,
        actor: Actor,
        at: datetime,
        tenant: str,
        service: str,
        reference: str,
        applicant: Mapping[str, PersonalValue],
        data: Mapping[str, Any],
        request_fingerprint: str,
        channel: str = "online",
    ) -> Case:
        """Submit an application: the case starts, its processing clock not yet."""
        check_aware(at)
        check_acts_for(actor, tenant)
        for field_name, value in applicant.items():
            check_personal(f"applicant.{field_name}", value, case_id)
        return cls._create(
            cls.Submitted,
            id=case_id,
            actor=actor.recorded_in(case_id),
            at=at,
            tenant=tenant,
            service=service,
            reference=reference,
            applicant=dict(applicant),
            data=dict(data),
            request_fingerprint=request_fingerprint,
            channel=channel,
            clock=ProcessingClock(period_working_days=cls.PROCESSING_PERIOD_WORKING_DAYS),
        )

    # ------------------------------------------------------------ queries/guards

    def allowed_commands(self) -> frozenset[str]:
        """The commands the current status (and the processing clock) allow."""
        commands = self.LIFECYCLE.get(self.status, frozenset())
        if not self.clock.awaits_completeness:
            commands -= {"confirm_complete"}
        if self.clock.is_extended or self.clock.started_on is None:
            commands -= {"extend_period"}
        return commands

    def check_allowed(self, command: str) -> None:
        """Raise ``InvalidTransition`` naming the status and the allowed commands."""
        if command not in self.allowed_commands():
            raise InvalidTransition(command, self.status, self.allowed_commands())

    def check_actor(self, actor: Actor, at: datetime) -> None:
        """The actor acts for this case's tenant, at a valid business time."""
        check_aware(at)
        if at < self.submitted_at:
            raise InvalidCommand("at", "business time before the case was submitted")
        check_acts_for(actor, self.tenant)
        check_serves(actor, self.tenant, self.service)

    def _begin(self, command: str, actor: Actor, at: datetime) -> ActorRecord:
        self.check_allowed(command)
        self.check_actor(actor, at)
        if actor.role is Role.APPLICANT and command not in self.APPLICANT_COMMANDS:
            raise InvalidCommand("actor", f"an applicant cannot {command}; staff must")
        return actor.recorded_in(self.id)

    def _personal(self, subject: str, text: str, field_name: str) -> PersonalData:
        return PersonalData(case_id=self.id, subject=subject, value=clean_text(text, field_name))

    def _case_text(self, text: str, field_name: str) -> PersonalData:
        return self._personal(Subjects.CASE_TEXT, text, field_name)

    # ------------------------------------------------------------------ commands

    def confirm_complete(self, *, actor: Actor, at: datetime) -> None:
        """Confirm the documents are complete: the processing period (re)starts today."""
        record = self._begin("confirm_complete", actor, at)
        try:
            clock = self.clock.start(berlin_date(at))
        except ClockError as error:
            raise InvalidCommand("clock", str(error)) from None
        self._completeness_confirmed(status=CaseStatus.IN_REVIEW, actor=record, at=at, clock=clock)

    class CompletenessConfirmed(ChangesStatus):
        """The documents are complete: the processing period (re)starts; in review."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.IN_REVIEW)
        actor: ActorRecord
        at: datetime
        clock: ProcessingClock

    @event(CompletenessConfirmed)
    def _completeness_confirmed(
        self, *, actor: ActorRecord, at: datetime, clock: ProcessingClock, status: str
    ) -> None:
        self.clock = clock
        self.status = status
        self.last_activity_at = at

    def claim(self, *, actor: Actor, at: datetime) -> None:
        """Take the case into one's own work; fails while someone else holds it."""
        record = self._begin("claim", actor, at)
        if self.holder is not None:
            if self.holder.id == actor.id:
                raise InvalidCommand("holder", "you already hold this case")
            raise CaseHeldByAnotherClerk(self.holder.id)
        self._claimed(actor=record, at=at)

    class Claimed(Aggregate.Event):
        """A member of staff took the case into their own work."""

        actor: ActorRecord
        at: datetime

    @event(Claimed)
    def _claimed(self, *, actor: ActorRecord, at: datetime) -> None:
        self.holder = actor
        self.last_activity_at = at

    def release(self, *, actor: Actor, at: datetime, reason: str | None = None) -> None:
        """Give the case back to the team queue (the holder, or a supervisor reassigning)."""
        record = self._begin("release", actor, at)
        if self.holder is None:
            raise InvalidCommand("holder", "the case is not claimed")
        if self.holder.id != actor.id and not actor.acts_as(Role.SUPERVISOR):
            raise NotTheHolder("release", self.holder.id)
        text = self._case_text(reason, "reason") if reason else None
        self._released(actor=record, at=at, reason=text)

    class Released(Aggregate.Event):
        """The case went back to the team queue."""

        actor: ActorRecord
        at: datetime
        reason: PersonalValue | None

    @event(Released)
    def _released(self, *, actor: ActorRecord, at: datetime, reason: PersonalValue | None) -> None:
        self.holder = None
        self.last_activity_at = at

    def assign(self, *, actor: Actor, at: datetime, assignee: Actor, reason: str) -> None:
        """A supervisor gives the case to a member of staff, from the queue or from another.

        The assignee serves the case's town (its own staff, or staff acting for it under a
        delegation); the reason is recorded, and the previous holder is named in the event.
        """
        record = self._begin("assign", actor, at)
        if not actor.acts_as(Role.SUPERVISOR):
            raise InvalidCommand("actor", "only a supervisor assigns cases")
        if not assignee.acts_as(Role.CLERK, Role.SUPERVISOR):
            raise InvalidCommand("assignee", "cases are assigned to clerks or supervisors")
        if self.tenant not in (assignee.tenant, assignee.on_behalf_of):
            raise InvalidCommand("assignee", f"{assignee.id} does not serve {self.tenant}")
        if self.holder is not None and self.holder.id == assignee.id:
            raise InvalidCommand("assignee", f"{assignee.id} already holds this case")
        self._assigned(
            actor=record,
            at=at,
            assigned_to=assignee.recorded_in(self.id),
            previous_holder=self.holder.id if self.holder else None,
            reason=self._case_text(reason, "reason"),
        )

    class Assigned(Aggregate.Event):
        """A supervisor gave the case to a member of staff, naming the previous holder."""

        actor: ActorRecord
        at: datetime
        assigned_to: ActorRecord
        previous_holder: str | None
        reason: PersonalValue

    @event(Assigned)
    def _assigned(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        assigned_to: ActorRecord,
        previous_holder: str | None,
        reason: PersonalValue,
    ) -> None:
        self.holder = assigned_to
        self.last_activity_at = at

    def request_information(
        self,
        *,
        actor: Actor,
        at: datetime,
        questions: list[str],
        reply_by: date,
        missing_documents: bool,
    ) -> None:
        """Ask the applicant (Nachforderung); missing documents stop the processing period."""
        record = self._begin("request_information", actor, at)
        if not questions:
            raise InvalidCommand("questions", "at least one question is required")
        asked = tuple(self._case_text(q, f"questions[{i}]") for i, q in enumerate(questions))
        today = berlin_date(at)
        if reply_by <= today:
            raise InvalidCommand("reply_by", "the reply deadline must lie in the future")
        clock = self.clock
        if clock.started_on is not None or missing_documents:
            try:
                clock = clock.stop(today, missing_documents=missing_documents)
            except ClockError as error:
                raise InvalidCommand("clock", str(error)) from None
        request = InformationRequest(
            questions=asked,
            reply_by=reply_by,
            missing_documents=missing_documents,
            requested_by=record,
            requested_at=at,
        )
        self._information_requested(
            status=CaseStatus.INFORMATION_REQUESTED,
            actor=record,
            at=at,
            request=request,
            clock=clock,
        )

    class InformationRequested(ChangesStatus):
        """The applicant was asked (Nachforderung); missing documents stop the clock."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.INFORMATION_REQUESTED)
        actor: ActorRecord
        at: datetime
        request: InformationRequest
        clock: ProcessingClock

    @event(InformationRequested)
    def _information_requested(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        request: InformationRequest,
        clock: ProcessingClock,
        status: str,
    ) -> None:
        self.open_request = request
        self.clock = clock
        self.status = status
        self.last_activity_at = at

    def provide_information(self, *, actor: Actor, at: datetime, answer: str) -> None:
        """The applicant answers; a paused period goes on, shifted by the days waited."""
        record = self._begin("provide_information", actor, at)
        text = self._personal(Subjects.APPLICANT, answer, "answer")
        clock = self.clock
        if clock.stopped_since is not None:
            clock = clock.resume(max(berlin_date(at), clock.stopped_since))
        status = CaseStatus.IN_REVIEW if self.clock.started_on else CaseStatus.SUBMITTED
        self._information_provided(actor=record, at=at, answer=text, clock=clock, status=status)

    class InformationProvided(ChangesStatus):
        """The applicant answered; back in review, or submitted if the period never ran."""

        actor: ActorRecord
        at: datetime
        answer: PersonalValue
        clock: ProcessingClock

    @event(InformationProvided)
    def _information_provided(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        answer: PersonalValue,
        clock: ProcessingClock,
        status: str,
    ) -> None:
        self.open_request = None
        self.clock = clock
        self.status = status
        self.last_activity_at = at

    def add_note(self, *, actor: Actor, at: datetime, text: str) -> None:
        """An internal note for the file (not shown to the applicant)."""
        record = self._begin("add_note", actor, at)
        self._note_added(actor=record, at=at, text=self._case_text(text, "text"))

    class NoteAdded(Aggregate.Event):
        """An internal note for the file."""

        actor: ActorRecord
        at: datetime
        text: PersonalValue

    @event(NoteAdded)
    def _note_added(self, *, actor: ActorRecord, at: datetime, text: PersonalValue) -> None:
        self.notes.append(text)
        self.last_activity_at = at

    def extend_period(self, *, actor: Actor, at: datetime, working_days: int, reason: str) -> None:
        """Extend the processing period once, with reasons (§ 42a (2) sentence 3 VwVfG)."""
        record = self._begin("extend_period", actor, at)
        text = self._case_text(reason, "reason")
        try:
            clock = self.clock.extend(working_days)
        except ClockError as error:
            raise InvalidCommand("working_days", str(error)) from None
        self._period_extended(actor=record, at=at, reason=text, clock=clock)

    class PeriodExtended(Aggregate.Event):
        """The processing period was extended once, with reasons."""

        actor: ActorRecord
        at: datetime
        reason: PersonalValue
        clock: ProcessingClock

    @event(PeriodExtended)
    def _period_extended(
        self, *, actor: ActorRecord, at: datetime, reason: PersonalValue, clock: ProcessingClock
    ) -> None:
        self.clock = clock
        self.last_activity_at = at

    def decide(
        self,
        *,
        actor: Actor,
        at: datetime,
        outcome: DecisionOutcome,
        justification: str,
        legal_basis: str,
        legal_remedy_notice: str,
        conditions: list[str] | None = None,
        effective_from: date | None = None,
        expires_on: date | None = None,
        fee: Decimal | None = None,
        rules: tuple[RulesApplied, ...] = (),
    ) -> None:
        """Decide: approve, approve with conditions, or reject, with reasons and remedy notice."""
        record = self._begin("decide", actor, at)
        if outcome.is_approval and not rules and self.APPROVED_ONLY_BY_RULES is not None:
            raise InvalidCommand("outcome", self.APPROVED_ONLY_BY_RULES)
        self.check_holder("decide", actor)
        standard = self.standard_conditions(berlin_date(at))
        standard_texts = standard.texts if standard is not None else ()
        conditions = check_conditions(outcome, conditions or [], standard_texts)
        if outcome.is_approval:
            conditions = [*standard_texts, *conditions]
        if not legal_basis.strip():
            raise InvalidCommand("legal_basis", "must not be empty")
        if not legal_remedy_notice.strip():
            raise InvalidCommand("legal_remedy_notice", "must not be empty")
        effective = effective_from or berlin_date(at)
        if expires_on is not None and expires_on < effective:
            raise InvalidCommand("expires_on", "must not lie before effective_from")
        if fee is not None and fee < 0:
            raise InvalidCommand("fee", "must not be negative")
        terms = self.decision_terms(
            DecisionTerms(expires_on=expires_on, fee=fee, rules=rules),
            outcome=outcome,
            decided_on=berlin_date(at),
        )
        if terms.expires_on is not None and terms.expires_on < effective:
            raise InvalidCommand("expires_on", "must not lie before effective_from")
        decision = Decision(
            outcome=outcome,
            justification=self._case_text(justification, "justification"),
            legal_basis=legal_basis.strip(),
            legal_remedy_notice=legal_remedy_notice.strip(),
            decided_by=record,
            decided_at=at,
            effective_from=effective,
            conditions=tuple(
                self._case_text(c, f"conditions[{i}]") for i, c in enumerate(conditions)
            ),
            expires_on=terms.expires_on,
            fee=terms.fee,
            rules=terms.rules,
            particulars=dict(terms.particulars),
        )
        if self.COUNTERSIGN_REQUIRED:
            status = CaseStatus.PENDING_COUNTERSIGN
        else:
            status = self._status_after_decision(decision)
        self._decided(actor=record, at=at, decision=decision, status=status)

    def decision_terms(
        self, given: DecisionTerms, *, outcome: DecisionOutcome, decided_on: date
    ) -> DecisionTerms:
        """Extension point: a service assesses its fee and validity by its versioned rules.

        Returns the terms the decision records: those ``terms_by_rules`` gives with the rules
        in force, or, for a service without versioned rules, the clerk's as given.
        """
        if self.FEE_BY_TARIFF_OF is not None and given.fee is not None:
            raise InvalidCommand("fee", f"the fee of {self.FEE_BY_TARIFF_OF} is set by its tariff")
        rules = InForce(decided_on, berlin_date(self.submitted_at))
        terms = self.terms_by_rules(outcome, given.expires_on, decided_on, rules)
        return given if terms is None else terms

    def standard_conditions(self, decided_on: date) -> StandardConditions | None:
        """The conditions every approval of the service carries, in force that day, if any.

        A service that has them records their version in its decision terms too.
        """
        versions = self.STANDARD_CONDITIONS_VERSIONS
        return in_force(versions, decided_on) if versions else None

    def replay_terms(self, decision: Decision) -> DecisionTerms:
        """Extension point: the terms the decision's recorded rule versions give (replay).

        The case must stand as it did just before the decision. Without versioned rules
        there is nothing to recompute: the clerk's terms are the terms.
        """
        decided_on = berlin_date(decision.decided_at)
        rules = AsRecorded(decision.rules)
        terms = self.terms_by_rules(decision.outcome, decision.expires_on, decided_on, rules)
        if terms is not None:
            return terms
        return DecisionTerms(
            expires_on=decision.expires_on,
            fee=decision.fee,
            rules=decision.rules,
            particulars=decision.particulars,
        )

    def data_read_by_rules(self) -> Any:
        """Extension point: the application data a replay of a decision reads (all of it).

        A replay is impossible once any of it was erased; a service whose decisions record
        what they found (a zone rather than a street) names less.
        """
        return self.data

    def terms_today(self, decision: Decision, today: date) -> DecisionTerms:
        """Extension point: the terms today's rules would give the same decision."""
        decided_on = berlin_date(decision.decided_at)
        rules = InForce(today, berlin_date(self.submitted_at))
        terms = self.terms_by_rules(decision.outcome, decision.expires_on, decided_on, rules)
        return self.replay_terms(decision) if terms is None else terms

    def terms_by_rules(
        self,
        outcome: DecisionOutcome,
        expires_on: date | None,
        decided_on: date,
        rules: RulesChoice,
    ) -> DecisionTerms | None:
        """Extension point: the terms a service's versioned rules give, with ``rules`` choosing
        the versions (in force when deciding or today, or as the decision recorded them).

        ``expires_on`` is the clerk's, None if they set none. None: the service has no such
        rules, and the clerk's terms are the terms.
        """
        return None

    def _status_after_decision(self, decision: Decision) -> str:
        payment_due = decision.outcome.is_approval and bool(decision.fee)
        if self.PAYMENT_BEFORE_ISSUE and payment_due:
            return CaseStatus.AWAITING_PAYMENT
        return CaseStatus.DECIDED

    class Decided(ChangesStatus):
        """A decision: in force, awaiting payment, or a draft awaiting a countersignature."""

        actor: ActorRecord
        at: datetime
        decision: Decision

    @event(Decided)
    def _decided(
        self, *, actor: ActorRecord, at: datetime, decision: Decision, status: str
    ) -> None:
        if status == CaseStatus.PENDING_COUNTERSIGN:
            self.pending_decision = decision
        else:
            self.decision = decision
            self.decisions.append(decision)
        self.status = status
        self.last_activity_at = at

    def countersign(self, *, actor: Actor, at: datetime) -> None:
        """Second signature (Vier-Augen-Prinzip) by a supervisor other than the decider."""
        record = self._begin("countersign", actor, at)
        pending = self.pending_decision
        if pending is None:
            raise InvalidCommand("decision", "there is no decision awaiting a countersignature")
        if not actor.acts_as(Role.SUPERVISOR):
            raise InvalidCommand("actor", "only a supervisor may countersign")
        if actor.id == pending.decided_by.id:
            raise InvalidCommand("actor", "the decider cannot countersign their own decision")
        decision = pending.countersigned(record, at)
        status = self._status_after_decision(decision)
        self._countersigned(actor=record, at=at, decision=decision, status=status)

    class Countersigned(ChangesStatus):
        """A supervisor countersigned the draft: it takes effect (or awaits payment)."""

        actor: ActorRecord
        at: datetime
        decision: Decision

    @event(Countersigned)
    def _countersigned(
        self, *, actor: ActorRecord, at: datetime, decision: Decision, status: str
    ) -> None:
        self.pending_decision = None
        self.decision = decision
        self.decisions.append(decision)
        self.status = status
        self.last_activity_at = at

    def refuse_countersign(self, *, actor: Actor, at: datetime, reason: str) -> None:
        """The supervisor sends the draft decision back to review, with reasons."""
        record = self._begin("refuse_countersign", actor, at)
        if not actor.acts_as(Role.SUPERVISOR):
            raise InvalidCommand("actor", "only a supervisor may refuse to countersign")
        self._countersign_refused(
            status=CaseStatus.IN_REVIEW,
            actor=record,
            at=at,
            reason=self._case_text(reason, "reason"),
        )

    class CountersignRefused(ChangesStatus):
        """The supervisor sent the draft back to review, with reasons."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.IN_REVIEW)
        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(CountersignRefused)
    def _countersign_refused(
        self, *, actor: ActorRecord, at: datetime, reason: PersonalValue, status: str
    ) -> None:
        self.pending_decision = None
        self.status = status
        self.last_activity_at = at

    def record_payment(
        self, *, actor: Actor, at: datetime, amount: Decimal, payment_reference: str
    ) -> None:
        """The fee was paid: the decision may now be issued."""
        record = self._begin("record_payment", actor, at)
        fee = self.current_decision().fee
        if amount != fee:
            raise InvalidCommand("amount", f"the fee due is {fee}, not {amount}")
        if not payment_reference.strip():
            raise InvalidCommand("payment_reference", "must not be empty")
        self._payment_recorded(
            status=CaseStatus.DECIDED,
            actor=record,
            at=at,
            amount=amount,
            payment_reference=payment_reference.strip(),
        )

    class PaymentRecorded(ChangesStatus):
        """The fee was paid: the decision may be issued."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.DECIDED)
        actor: ActorRecord
        at: datetime
        amount: Decimal
        payment_reference: str

    @event(PaymentRecorded)
    def _payment_recorded(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        amount: Decimal,
        payment_reference: str,
        status: str,
    ) -> None:
        self.fee_paid = amount
        self.status = status
        self.last_activity_at = at

    def notify(self, *, actor: Actor, at: datetime, notified_on: date | None = None) -> None:
        """Record the Bekanntgabe of the decision; the objection period runs from that day."""
        record = self._begin("notify", actor, at)
        decision = self.current_decision()
        day = notified_on or berlin_date(at)
        if day < berlin_date(decision.decided_at):
            raise InvalidCommand("notified_on", "notification cannot precede the decision")
        months = (
            OBJECTION_PERIOD_MONTHS
            if decision.legal_remedy_notice
            else OBJECTION_PERIOD_MONTHS_WITHOUT_REMEDY_NOTICE
        )
        self._notified(
            status=CaseStatus.NOTIFIED,
            actor=record,
            at=at,
            notified_on=day,
            objection_deadline=period_end(day, months),
        )

    class Notified(ChangesStatus):
        """The decision was notified (Bekanntgabe); the objection period runs."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.NOTIFIED)
        actor: ActorRecord
        at: datetime
        notified_on: date
        objection_deadline: date

    @event(Notified)
    def _notified(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        notified_on: date,
        objection_deadline: date,
        status: str,
    ) -> None:
        self.notified_on = notified_on
        self.objection_deadline = objection_deadline
        self.status = status
        self.last_activity_at = at

    def lodge_objection(
        self, *, actor: Actor, at: datetime, grounds: str, received_on: date | None = None
    ) -> None:
        """Record a Widerspruch received within the objection period."""
        record = self._begin("lodge_objection", actor, at)
        deadline = self.current_objection_deadline()
        day = received_on or berlin_date(at)
        if day > deadline:
            raise InvalidCommand("received_on", f"the objection period ended on {deadline}")
        if self.notified_on is not None and day < self.notified_on:
            raise InvalidCommand("received_on", "an objection cannot precede the notification")
        objection = Objection(
            received_on=day,
            grounds=self._personal(Subjects.APPLICANT, grounds, "grounds"),
            lodged_by=record,
        )
        self._objection_lodged(
            status=CaseStatus.OBJECTION_LODGED, actor=record, at=at, objection=objection
        )

    class ObjectionLodged(ChangesStatus):
        """A Widerspruch was received within the objection period."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.OBJECTION_LODGED)
        actor: ActorRecord
        at: datetime
        objection: Objection

    @event(ObjectionLodged)
    def _objection_lodged(
        self, *, actor: ActorRecord, at: datetime, objection: Objection, status: str
    ) -> None:
        self.objection = objection
        self.status = status
        self.last_activity_at = at

    def remedy_objection(self, *, actor: Actor, at: datetime, reason: str) -> None:
        """Abhilfe (§ 72 VwGO): the objection is well-founded; the case returns to review."""
        record = self._begin("remedy_objection", actor, at)
        self._objection_remedied(
            status=CaseStatus.IN_REVIEW,
            actor=record,
            at=at,
            reason=self._case_text(reason, "reason"),
        )

    class ObjectionRemedied(ChangesStatus):
        """Abhilfe: the objection is well-founded; the case is reviewed again."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.IN_REVIEW)
        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(ObjectionRemedied)
    def _objection_remedied(
        self, *, actor: ActorRecord, at: datetime, reason: PersonalValue, status: str
    ) -> None:
        self.decision = None
        self.notified_on = None
        self.objection_deadline = None
        self.fee_paid = None
        self.status = status
        self.last_activity_at = at

    def forward_objection(self, *, actor: Actor, at: datetime, authority: str, reason: str) -> None:
        """No remedy: forward the objection to the objection authority (§ 73 VwGO)."""
        record = self._begin("forward_objection", actor, at)
        if not authority.strip():
            raise InvalidCommand("authority", "must not be empty")
        self._objection_forwarded(
            status=CaseStatus.OBJECTION_FORWARDED,
            actor=record,
            at=at,
            authority=authority.strip(),
            reason=self._case_text(reason, "reason"),
        )

    class ObjectionForwarded(ChangesStatus):
        """No remedy: the objection went to the objection authority."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.OBJECTION_FORWARDED)
        actor: ActorRecord
        at: datetime
        authority: str
        reason: PersonalValue

    @event(ObjectionForwarded)
    def _objection_forwarded(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        authority: str,
        reason: PersonalValue,
        status: str,
    ) -> None:
        self.status = status
        self.last_activity_at = at

    def mark_final(self, *, actor: Actor, at: datetime) -> None:
        """The objection period is over without objection: the decision is final."""
        record = self._begin("mark_final", actor, at)
        deadline = self.current_objection_deadline()
        if berlin_date(at) <= deadline:
            raise InvalidCommand("at", f"the objection period runs until {deadline}")
        self._became_final(status=CaseStatus.FINAL, actor=record, at=at)

    class BecameFinal(ChangesStatus):
        """The objection period ended without objection."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.FINAL)
        actor: ActorRecord
        at: datetime

    @event(BecameFinal)
    def _became_final(self, *, actor: ActorRecord, at: datetime, status: str) -> None:
        self.status = status
        self.last_activity_at = at

    def withdraw(self, *, actor: Actor, at: datetime, reason: str) -> None:
        """The applicant withdraws the application before a decision."""
        record = self._begin("withdraw", actor, at)
        text = self._personal(Subjects.APPLICANT, reason, "reason")
        self._withdrawn(status=CaseStatus.WITHDRAWN, actor=record, at=at, reason=text)

    class Withdrawn(ChangesStatus):
        """The applicant withdrew the application before a decision."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.WITHDRAWN)
        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(Withdrawn)
    def _withdrawn(
        self, *, actor: ActorRecord, at: datetime, reason: PersonalValue, status: str
    ) -> None:
        self.withdrawal_reason = reason
        self.pending_decision = None
        self.open_request = None
        self.holder = None
        self.status = status
        self.last_activity_at = at

    def close(self, *, actor: Actor, at: datetime, reason: str | None = None) -> None:
        """Close the file; services may require their own steps first (``check_closable``)."""
        record = self._begin("close", actor, at)
        self.check_closable(at)
        text = self._case_text(reason, "reason") if reason else None
        self._closed(status=CaseStatus.CLOSED, actor=record, at=at, reason=text)

    def check_closable(self, at: datetime) -> None:
        """Extension point: services refuse ``close`` while their own steps are open."""

    def check_no_approval_in_force(self, at: datetime, refusal: str) -> None:
        """Refuse ``close`` while a final approval is in force and its steps are unreported.

        After a refusal, or once an unused approval expired, the file may be closed.
        """
        decision = self.decision
        if (
            self.status == CaseStatus.FINAL
            and decision is not None
            and decision.in_force_on(berlin_date(at))
        ):
            raise InvalidCommand("status", refusal)

    def _inspection(
        self,
        done: Inspections,
        *,
        at: datetime,
        inspected_on: date,
        ready_on: date,
        defects: list[str],
        remedy_by: date | None,
    ) -> Inspection:
        """The next inspection of a service's works, as the rules of every inspection allow."""
        done.check_day(inspected_on, ready_on=ready_on, today=berlin_date(at))
        listed = tuple(self._case_text(d, f"defects[{i}]") for i, d in enumerate(defects))
        inspection = Inspection(inspected_on, listed, remedy_by)
        inspection.check_deadline()
        return inspection

    class Closed(ChangesStatus):
        """The file was closed."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.CLOSED)
        actor: ActorRecord
        at: datetime
        reason: PersonalValue | None

    @event(Closed)
    def _closed(
        self, *, actor: ActorRecord, at: datetime, reason: PersonalValue | None, status: str
    ) -> None:
        self.holder = None
        self.status = status
        self.last_activity_at = at

    def check_erasure(
        self, *, actor: Actor, at: datetime, subjects: list[str], reason: str, legal_basis: str
    ) -> None:
        """An erasure needs an administrator of the tenant, subjects, a reason and a basis."""
        self.check_actor(actor, at)
        if not actor.acts_as(Role.ADMIN, Role.SYSTEM):
            raise InvalidCommand("actor", "only an administrator may erase personal data")
        if not subjects:
            raise InvalidCommand("subjects", "name at least one data subject")
        if not reason.strip():
            raise InvalidCommand("reason", "must not be empty")
        if not legal_basis.strip():
            raise InvalidCommand("legal_basis", "must not be empty")

    def record_erasure(
        self, *, actor: Actor, at: datetime, subjects: list[str], reason: str, legal_basis: str
    ) -> None:
        """Record that the keys of these data subjects were destroyed (crypto-shredding).

        Allowed in every status, closed included: erasure is not a step of the lifecycle.
        The event says what was erased, by whom and why, and holds none of the data.
        """
        self.check_erasure(
            actor=actor, at=at, subjects=subjects, reason=reason, legal_basis=legal_basis
        )
        self._personal_data_erased(
            actor=actor.recorded_in(self.id),
            at=at,
            subjects=sorted(set(subjects)),
            reason=reason.strip(),
            legal_basis=legal_basis.strip(),
        )

    class PersonalDataErased(Aggregate.Event):
        """The keys of these data subjects were destroyed; the event holds none of the data."""

        actor: ActorRecord
        at: datetime
        subjects: list[str]
        reason: str
        legal_basis: str

    @event(PersonalDataErased)
    def _personal_data_erased(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        subjects: list[str],
        reason: str,
        legal_basis: str,
    ) -> None:
        self.erased_subjects = sorted({*self.erased_subjects, *subjects})
        self.last_activity_at = at

    def current_decision(self) -> Decision:
        """The decision in force; the lifecycle table allows decision commands only then."""
        if self.decision is None:
            raise InvalidCommand("decision", "the case has no decision")
        return self.decision

    def current_objection_deadline(self) -> date:
        """The last day for an objection; set when the decision was notified."""
        if self.objection_deadline is None:
            raise InvalidCommand("objection_deadline", "the decision has not been notified")
        return self.objection_deadline

    def service_state(self) -> dict[str, Any]:
        """Extension point: what a service adds to the case's state (steps, dates)."""
        return {}

    def check_holder(self, command: str, actor: Actor) -> None:
        """Only the clerk holding the case may give this command."""
        if self.holder is None or self.holder.id != actor.id:
            raise NotTheHolder(command, self.holder.id if self.holder else None)

    @property
    def due_on(self) -> date | None:
        """The last day of the processing period, or None while it is not running."""
        return self.clock.due_on


def clean_text(text: str, field_name: str) -> str:
    """Text without surrounding blanks; empty or not storable as UTF-8 is refused."""
    if not text or not text.strip():
        raise InvalidCommand(field_name, "must not be empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidCommand(field_name, "contains characters that are not valid text") from None
    return text.strip()


def check_aware(at: datetime) -> None:
    """Business time must be timezone-aware."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidCommand("at", "business time must be timezone-aware")


def check_acts_for(actor: Actor, tenant: str) -> None:
    """Staff act only for their own tenant or one that delegated the service to them.

    Applicants act in the town whose portal they came through; which cases they may touch
    (their own only) is decided by the use cases. The system acts everywhere.
    """
    if actor.role is Role.SYSTEM:
        return
    if actor.role is Role.APPLICANT:
        if actor.tenant != tenant:  # the portal a citizen came through names the town
            raise WrongTenant(actor.tenant, tenant)
        return
    if tenant not in (actor.tenant, actor.on_behalf_of):
        raise WrongTenant(actor.tenant, tenant)


def check_personal(field_name: str, value: PersonalValue, case_id: UUID) -> None:
    """A personal field belongs to this case."""
    if not isinstance(value, PersonalData):
        raise InvalidCommand(field_name, "must be a PersonalData value")
    if value.case_id != case_id:
        raise InvalidCommand(field_name, "belongs to another case")
    clean_text(value.value, field_name)
