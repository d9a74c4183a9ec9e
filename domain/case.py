"""The case: the lifecycle every service shares, as an event-sourced aggregate.

Public methods are commands: they check (``check_*`` and the lifecycle table), decide, and
call one private ``@event`` method that records the outcome and only assigns state
(docs/architecture.md, decision 15). Every event names who (``actor``), when (``at``, business
time from the application's clock) and, where the law expects one, why (``reason``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor, ActorRecord, Role
from domain.authorities import (
    PERIOD_WITHOUT_NOTICE_MONTHS,
    Matter,
    RemedyNotice,
    authorities_of,
    remedy_notice,
)
from domain.case_charges import CaseCharges
from domain.case_documents import CaseDocuments
from domain.conditions import StandardConditions, check_conditions
from domain.decision import (
    CostsDecision,
    Decision,
    DecisionOutcome,
    Hearing,
    Provision,
    ProvisionKind,
    RulesApplied,
)
from domain.deemed_approval import (
    DeemedApproval,
    DeemedApprovalCertificate,
    certificate_text,
    legal_basis,
)
from domain.errors import (
    CaseHeldByAnotherClerk,
    InvalidCommand,
    InvalidTransition,
    NotTheHolder,
    WrongTenant,
)
from domain.inspections import Inspection, Inspections
from domain.lifecycle import BEFORE_DEEMED_APPROVAL, LIFECYCLE, WITHDRAWABLE, CaseStatus
from domain.lifecycle import ChangesStatus as ChangesStatus  # services import it from here
from domain.lifecycle import leads_to as leads_to
from domain.objection import (
    CostsBorneBy,
    Objection,
    ObjectionCosts,
    ObjectionDecision,
    ObjectionOutcome,
    ObjectionState,
)
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.processing_clock import ClockError, ProcessingClock
from domain.rules import notification
from domain.rules.versions import AsRecorded, InForce, RulesChoice, in_force
from domain.teams import check_serves
from domain.tenants import tenant as tenant_named
from domain.working_days import add_months, berlin_date, period_end

APPLICANT_COMMANDS = frozenset(
    {"provide_information", "withdraw", "withdraw_objection", "certify_deemed_approval", "bill_to"}
)
# The status an event stored before it recorded one is read with: the event never moved the
# case, which keeps the status it had (decision 6: a changed shape is a new class_version).
STATUS_KEPT: None = None
ACTION_PERIOD_MONTHS = 1  # § 74 (1) VwGO: an action within a month of the Widerspruchsbescheid
FEE_DUE_MONTHS = 1  # costs fall due a month after the Bekanntgabe, as the towns' statutes set
NO_HEARING_NEEDED = (
    "Entscheidung über einen Antrag ohne Eingriff in Rechte des Beteiligten; § 28 Abs. 1 HVwVfG "
    "gilt nicht (BVerwG, Urteil vom 14.10.1982 - 3 C 46.81)"
)
_OPERATIVE_PARTS = {
    DecisionOutcome.APPROVED: "Die beantragte Genehmigung wird erteilt.",
    DecisionOutcome.APPROVED_WITH_CONDITIONS: (
        "Die beantragte Genehmigung wird mit den folgenden Nebenbestimmungen erteilt."
    ),
    DecisionOutcome.REJECTED: "Der Antrag wird abgelehnt.",
}
# The legal track's commands: available by the state of notification and objection, whatever
# step of the service the case has reached.
LEGAL_TRACK_COMMANDS = frozenset(
    {
        "withdraw",
        "lodge_objection",
        "grant_reinstatement",
        "hear_objection",
        "remedy_objection",
        "forward_objection",
        "withdraw_objection",
        "decide_objection",
        "mark_final",
        "record_remedy_notice_defect",
    }
)


@dataclass(frozen=True, slots=True)
class InformationRequest:
    """Questions to the applicant with a reply deadline; missing documents stop the clock."""

    questions: tuple[PersonalValue, ...]
    reply_by: date
    missing_documents: bool
    requested_by: ActorRecord
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionTerms:
    """Validity, fee and the rules applied: given by the clerk or assessed by the service."""

    expires_on: date | None = None
    fee: Decimal | None = None
    rules: tuple[RulesApplied, ...] = ()
    particulars: Mapping[str, Any] = field(default_factory=dict)  # e.g. the connection point
    valid_for_months: int | None = None  # validity that runs from the Bekanntgabe (§ 43)


class Case(CaseCharges, CaseDocuments):
    """An application (Antrag) and everything that happens to it until the file is closed."""

    LIFECYCLE: ClassVar[Mapping[str, frozenset[str]]] = LIFECYCLE
    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 20
    COUNTERSIGN_REQUIRED: ClassVar[bool] = False
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
    # § 42a HVwVfG applies only where a legal rule orders deemed approval; the others run
    # their own target period (Bearbeitungsziel) in working days.
    DEEMED_APPROVAL: ClassVar[bool] = False
    # The service's rule that orders it (cited with § 42a (1) sentence 1 HVwVfG), and what
    # the certificate (§ 42a (3)) says was deemed approved.
    DEEMED_APPROVAL_RULE: ClassVar[str | None] = None
    DEEMED_APPROVAL_SUBJECT: ClassVar[str] = "die beantragte Genehmigung"
    # Who issues the decision and decides an objection (domain/authorities.py).
    MATTER: ClassVar[Matter] = Matter.SELF_GOVERNMENT
    # Where the HessAGVwGO excludes the objection procedure: its provision (else None).
    OBJECTION_EXCLUDED_BY: ClassVar[str | None] = None
    # Where the legal basis gives discretion, its provision: a decision then states its
    # considerations (§ 39 (1) sentence 3 HVwVfG).
    DISCRETION_UNDER: ClassVar[str | None] = None
    # The statute under which fees arise, and the day the fee debt arises under it: the
    # tariff in force that day applies (``submission`` or ``decision``).
    FEE_LEGAL_BASIS: ClassVar[str] = "Verwaltungskostensatzung der Gemeinde i. V. m. §§ 1 ff. KAG"
    FEE_DEBT_ARISES_ON: ClassVar[str] = "submission"

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
        self.notification: dict[str, Any] | None = None  # delivery, sent_on, received_on
        self.objection_deadline: date | None = None
        self.objections: list[Objection] = []
        self.final_on: date | None = None
        self.closed_from: str | None = None  # where the main track stood when the file closed
        self.expired_on: date | None = None
        self.fee_refunded = Decimal(0)  # of the decision in force, by remedies and decisions
        self.documents_received_on: date = berlin_date(submitted.at)
        self.documents_requested_on: date | None = None  # the last request for missing ones
        self.notes: list[PersonalValue] = []
        self.fee_paid: Decimal | None = None
        self.withdrawal_reason: PersonalValue | None = None
        self.withdrawn = False
        self.erased_subjects: list[str] = []
        self.deemed_approval: DeemedApproval | None = None
        self.certificates: list[DeemedApprovalCertificate] = []

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
            clock=cls.new_clock(),
        )

    @classmethod
    def new_clock(cls) -> ProcessingClock:
        """A § 42a period where deemed approval applies, else the service's target period."""
        if cls.DEEMED_APPROVAL:
            return ProcessingClock.statutory()
        return ProcessingClock.target(cls.PROCESSING_PERIOD_WORKING_DAYS)

    # ------------------------------------------------------------ queries/guards

    def allowed_commands(self) -> frozenset[str]:
        """The commands the current status, the processing clock and the legal track allow."""
        commands = self.LIFECYCLE.get(self.status, frozenset()) - LEGAL_TRACK_COMMANDS
        if not self.clock.awaits_completeness:
            commands -= {"confirm_complete"}
        clock = self.clock
        if clock.is_extended or clock.started_on is None or clock.restarts_on_completeness:
            commands -= {"extend_period"}
        statutory = clock.deemed_approval and not clock.reopened_after_decision
        if statutory and self.status in BEFORE_DEEMED_APPROVAL and clock.decided_on is None:
            commands |= {"record_deemed_approval"}
        if self.expiry_from() is not None:
            commands |= {"record_expiry"}
        return commands | self._legal_track_commands() | self.charge_commands()

    def _legal_track_commands(self) -> frozenset[str]:
        """Withdrawal until the decision is final; the objection track beside the case.

        A closed file still takes an objection (one received in time but registered late
        reopens it; a late one is recorded and decided), never the other commands.
        """
        if self.status == CaseStatus.WITHDRAWN or self.withdrawn:
            return frozenset()  # the withdrawal settled the application and its decision
        closed = self.status == CaseStatus.CLOSED
        commands: set[str] = set()
        if self.final_on is None and not closed and self.can_be_withdrawn():
            commands.add("withdraw")
        if self.notified_on is None:
            return frozenset(commands)
        if not self.objection_available():  # e.g. a permission under civil law
            if self.final_on is None and not closed:
                commands.add("mark_final")
            return frozenset(commands)
        objection = self.open_objection
        open_in_time = objection is not None and objection.timely
        if self.final_on is None and not closed and not open_in_time:
            commands.add("mark_final")  # a late objection does not hold finality back
        if objection is None:
            commands.add("lodge_objection")
        else:
            commands |= {"remedy_objection", "withdraw_objection", "decide_objection"}
            if not objection.timely:
                commands.add("grant_reinstatement")
            if objection.state in (ObjectionState.PENDING, ObjectionState.PARTLY_REMEDIED):
                self_governed = self.MATTER is Matter.SELF_GOVERNMENT
                commands.add("hear_objection" if self_governed else "forward_objection")
        decision = self.decision
        if not closed and decision is not None and decision.remedy_notice.complete:
            commands.add("record_remedy_notice_defect")
        return frozenset(commands)

    def can_be_withdrawn(self) -> bool:
        """Extension point: the application may be withdrawn (the decision is not final).

        A service whose decision already changed something of its own (a grave place
        reserved, a permit holding taken) offers its own way to end it instead, and allows
        withdrawal only before it decided, or after a refusal.
        """
        return self.status in WITHDRAWABLE

    def decision_left_nothing_behind(self) -> bool:
        """Before a decision in force, or after a refusal: a withdrawal undoes nothing."""
        decision = self.decision or self.pending_decision
        return decision is None or not decision.outcome.is_approval

    @property
    def open_objection(self) -> Objection | None:
        """The objection not yet disposed of, if any."""
        for objection in reversed(self.objections):
            if objection.is_open:
                return objection
        return None

    @property
    def objection(self) -> Objection | None:
        """The latest objection, open or disposed of."""
        return self.objections[-1] if self.objections else None

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

    def confirm_complete(
        self, *, actor: Actor, at: datetime, documents_complete_on: date | None = None
    ) -> None:
        """Confirm the documents are complete: the period runs from the last one's receipt.

        § 42a (2) sentence 2 HVwVfG: "mit Eingang der vollständigen Unterlagen" — the day the
        last required document was received (by default the day of submission, or of the
        applicant's answer that brought missing documents), not the day of this confirmation.
        """
        record = self._begin("confirm_complete", actor, at)
        received = documents_complete_on or self.documents_received_on
        if received > berlin_date(at):
            raise InvalidCommand("documents_complete_on", "must not lie in the future")
        if self.documents_requested_on is not None and received < self.documents_requested_on:
            raise InvalidCommand(
                "documents_complete_on",
                f"documents were still missing on {self.documents_requested_on}",
            )
        if received < berlin_date(self.submitted_at):
            raise InvalidCommand("documents_complete_on", "must not lie before the submission")
        try:
            clock = self.clock.start(received)
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
        if clock.approval_deemed_on(today):
            pass  # § 42a: once the approval is deemed granted, nothing restarts the clock
        elif clock.started_on is not None or missing_documents:
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
        if request.missing_documents:
            self.documents_requested_on = berlin_date(at)
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
        if self.open_request is not None and self.open_request.missing_documents:
            self.documents_received_on = berlin_date(at)  # the documents came with the answer
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

    def extend_period(
        self,
        *,
        actor: Actor,
        at: datetime,
        working_days: int,
        reason: str,
        communicated_on: date | None = None,
    ) -> None:
        """Extend the period once, before it ends, with reasons sent to the applicant in time.

        § 42a (2) sentences 3 and 4 HVwVfG; ``communicated_on`` is the day the reasons were
        sent to the applicant (today unless given).
        """
        record = self._begin("extend_period", actor, at)
        text = self._case_text(reason, "reason")
        today = berlin_date(at)
        told = communicated_on or today
        try:
            clock = self.clock.extend(working_days, today=today, communicated_on=told)
        except ClockError as error:
            raise InvalidCommand(_extension_field(str(error)), str(error)) from None
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
        conditions: list[str] | None = None,
        effective_from: date | None = None,
        expires_on: date | None = None,
        fee: Decimal | None = None,
        rules: tuple[RulesApplied, ...] = (),
        provisions: list[tuple[ProvisionKind, str]] | None = None,
        operative_part: str | None = None,
        representative: str | None = None,
        hearing_held_on: date | None = None,
        hearing_not_needed_because: str | None = None,
        discretion: str | None = None,
    ) -> None:
        """Decide: approve, approve with conditions, or reject — the record a Bescheid needs.

        Besides outcome, reasons and legal basis: the operative part (Tenor; the standard
        wording for the outcome unless given), typed ancillary provisions (§ 36 HVwVfG;
        ``conditions`` are requirements, Auflagen), the issuing authority and the remedy
        notice from the town's configuration, the addressee and a representative, the hearing
        (§ 28 HVwVfG) or why none was needed, the discretionary considerations where the law
        gives discretion (§ 39 (1) sentence 3 HVwVfG), and the costs decision.
        """
        record = self._begin("decide", actor, at)
        self.check_no_deemed_approval(berlin_date(at))
        if outcome.is_approval and not rules and self.APPROVED_ONLY_BY_RULES is not None:
            raise InvalidCommand("outcome", self.APPROVED_ONLY_BY_RULES)
        self.check_holder("decide", actor)
        standard = self.standard_conditions(berlin_date(at))
        standard_texts = standard.texts if standard is not None else ()
        typed = [
            (kind, self._case_text(text, f"provisions[{i}].text"))
            for i, (kind, text) in enumerate(provisions or [])
        ]
        if typed and outcome is not DecisionOutcome.APPROVED_WITH_CONDITIONS:
            raise InvalidCommand(
                "provisions", f"a decision {outcome.value} carries no ancillary provisions"
            )
        # Typed provisions count as the conditions of an approval with conditions (§ 36).
        counted = (*standard_texts, *(kind.value for kind, _ in typed))
        clerk_conditions = check_conditions(outcome, conditions or [], counted)
        conditions = [*standard_texts, *clerk_conditions] if outcome.is_approval else []
        if not legal_basis.strip():
            raise InvalidCommand("legal_basis", "must not be empty")
        hearing = self._hearing(
            outcome,
            clerk_conditions or typed,
            hearing_held_on,
            hearing_not_needed_because,
            berlin_date(at),
        )
        considered = self._discretion(discretion)
        effective = effective_from or self.effective_from_by_default(outcome, berlin_date(at))
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
        requirements = tuple(
            Provision(ProvisionKind.REQUIREMENT, self._case_text(c, f"conditions[{i}]"))
            for i, c in enumerate(conditions)
        )
        tenor = operative_part or _OPERATIVE_PARTS[outcome]
        notice = self.decision_remedy_notice()
        decision = Decision(
            outcome=outcome,
            justification=self._case_text(justification, "justification"),
            legal_basis=legal_basis.strip(),
            remedy_notice=notice,
            decided_by=record,
            decided_at=at,
            effective_from=effective,
            provisions=requirements + tuple(Provision(kind, text) for kind, text in typed),
            expires_on=terms.expires_on,
            fee=terms.fee,
            rules=terms.rules,
            particulars=dict(terms.particulars),
            operative_part=self._case_text(tenor, "operative_part"),
            issuing_authority=authorities_of(self.tenant).issuing_authority(self.MATTER),
            addressee=self.applicant.get("name"),
            representative=(
                self._personal(Subjects.APPLICANT, representative, "representative")
                if representative
                else None
            ),
            hearing=hearing,
            discretion=considered,
            costs=self._costs(terms.fee),
            valid_for_months=terms.valid_for_months,
        )
        if self.COUNTERSIGN_REQUIRED:
            status = CaseStatus.PENDING_COUNTERSIGN
        else:
            status = self._status_after_decision(decision)
        self._decided(actor=record, at=at, decision=decision, status=status)
        if status != CaseStatus.PENDING_COUNTERSIGN:
            self.charge_fees(record, at, decision)

    def _hearing(
        self,
        outcome: DecisionOutcome,
        provisions: Any,
        held_on: date | None,
        not_needed_because: str | None,
        today: date,
    ) -> Hearing:
        """§ 28 HVwVfG: a hearing held, or why none was needed (given, or by the outcome).

        A decision that grants or refuses what was applied for does not interfere with the
        applicant's rights (BVerwG 3 C 46.81); provisions the clerk attaches beyond the
        service's standard ones are burdens, and need a hearing or a reason under § 28 (2).
        """
        if held_on is not None and not_needed_because:
            raise InvalidCommand(
                "hearing_not_needed_because", "a hearing was held on " + str(held_on)
            )
        if held_on is not None:
            if held_on > today:
                raise InvalidCommand("hearing_held_on", "must not lie in the future")
            if held_on < berlin_date(self.submitted_at):
                raise InvalidCommand("hearing_held_on", "must not lie before the submission")
            return Hearing(held_on=held_on)
        if not_needed_because:
            reason = self._case_text(not_needed_because, "hearing_not_needed_because")
            return Hearing(not_needed_because=reason)
        if provisions:
            raise InvalidCommand(
                "hearing_held_on",
                "provisions that burden the applicant need a hearing (§ 28 (1) HVwVfG): "
                "give the day it was held, or hearing_not_needed_because (§ 28 (2))",
            )
        return Hearing(not_needed_because=NO_HEARING_NEEDED)

    def _discretion(self, discretion: str | None) -> PersonalValue | None:
        """The considerations where the legal basis gives discretion; refused where it does not."""
        discretion_under = self.discretion_under()
        if discretion_under is None:
            if discretion:
                raise InvalidCommand(
                    "discretion", "the legal basis of this service gives no discretion"
                )
            return None
        if not discretion or not discretion.strip():
            raise InvalidCommand(
                "discretion",
                f"{discretion_under} gives discretion: state the considerations "
                "(§ 39 (1) sentence 3 HVwVfG)",
            )
        return self._case_text(discretion, "discretion")

    def _costs(self, fee: Decimal | None) -> CostsDecision | None:
        """The costs decision for a fee: the statute, the applicant as debtor, the amount."""
        debtor = self.applicant.get("name")
        if fee is None or debtor is None:
            return None
        return CostsDecision(legal_basis=self.fee_legal_basis(), debtor=debtor, amount=fee)

    # Per-case hooks: a service whose legal regime depends on the application (a road opening
    # for a telecommunications line, a supply line, other works) overrides them.

    def discretion_under(self) -> str | None:
        """Extension point: the provision giving discretion for this case (the service's)."""
        return self.DISCRETION_UNDER

    def fee_legal_basis(self) -> str:
        """Extension point: the statute the decision's fee arises under (the service's)."""
        return self.FEE_LEGAL_BASIS

    def decision_remedy_notice(self) -> RemedyNotice:
        """Extension point: the remedy notice a decision carries (the town's, by matter)."""
        return remedy_notice(
            self.tenant, self.MATTER, objection_excluded_by=self.OBJECTION_EXCLUDED_BY
        )

    def objection_available(self) -> bool:
        """Extension point: the decision in force is open to objection (it is by default)."""
        return True

    def effective_from_by_default(self, outcome: DecisionOutcome, decided_on: date) -> date:
        """Extension point: the day a decision takes effect unless the clerk names one (the
        day it is made; a permission granted afterwards for what was done may say earlier)."""
        return decided_on

    def fee_debt_day(self, decided_on: date) -> date:
        """The day the fee debt arises under the fee statute: its tariff applies."""
        if self.FEE_DEBT_ARISES_ON == "decision":
            return decided_on
        return berlin_date(self.submitted_at)

    def decision_terms(
        self, given: DecisionTerms, *, outcome: DecisionOutcome, decided_on: date
    ) -> DecisionTerms:
        """Extension point: a service assesses its fee and validity by its versioned rules.

        Returns the terms the decision records: those ``terms_by_rules`` gives with the rules
        in force, or, for a service without versioned rules, the clerk's as given.
        """
        if self.FEE_BY_TARIFF_OF is not None and given.fee is not None:
            raise InvalidCommand("fee", f"the fee of {self.FEE_BY_TARIFF_OF} is set by its tariff")
        rules = InForce(decided_on, berlin_date(self.submitted_at), self.fee_debt_day(decided_on))
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
        rules = InForce(today, berlin_date(self.submitted_at), today)
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
        if self.payment_before_issue() and payment_due:
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
        self.clock = self.clock.decided(berlin_date(at))
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
        self.charge_fees(record, at, decision)

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
        self.clock = self.clock.reopened()
        self.status = status
        self.last_activity_at = at

    class PaymentRecorded(ChangesStatus):
        """The fee was paid: the decision may be issued (recorded by a clerk in earlier
        releases; payments are now settled charges, ``ChargeSettled``)."""

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

    def notify(
        self,
        *,
        actor: Actor,
        at: datetime,
        delivery: notification.Delivery = notification.Delivery.COUNTER,
        sent_on: date | None = None,
        received_on: date | None = None,
    ) -> None:
        """Record the Bekanntgabe: how the decision was sent, and the day the law sets for it.

        ``notified_on`` follows from the delivery by the rule in force on ``sent_on``
        (domain/rules/notification.py); the objection period, and a validity that runs from
        notification, count from it (§ 43 (1) HVwVfG). The event records the delivery, the
        rule version and every resulting date.
        """
        record = self._begin("notify", actor, at)
        decision = self.current_decision()
        today = berlin_date(at)
        sent = sent_on or today
        if sent < berlin_date(decision.decided_at):
            raise InvalidCommand("sent_on", "the decision cannot be sent before it was made")
        if sent > today:
            raise InvalidCommand("sent_on", "must not lie in the future")
        if received_on is not None and received_on > today:
            raise InvalidCommand("received_on", "must not lie in the future")
        rule = notification.rule_on(sent)
        day = rule.notified_on(delivery, sent, received_on)
        expires_on = decision.expires_on
        if decision.valid_for_months is not None:
            expires_on = add_months(day, decision.valid_for_months)
        self._notified(
            status=CaseStatus.NOTIFIED,
            actor=record,
            at=at,
            notified_on=day,
            objection_deadline=period_end(day, decision.remedy_notice.period_months),
            delivery=delivery.value,
            sent_on=sent,
            received_on=received_on,
            rules=rule.record(delivery, sent, received_on, day),
            effective_from=max(decision.effective_from, day),
            expires_on=expires_on,
            fee_due_on=add_months(day, FEE_DUE_MONTHS) if decision.costs else None,
        )

    class Notified(ChangesStatus):
        """The decision was notified (Bekanntgabe) on the day its delivery sets; periods run.

        Version 3 added the delivery, the rule applied and the dates that follow from the
        notification; earlier notifications were recorded on the day the clerk gave.
        """

        class_version = 3
        upcast_v1_v2 = leads_to(CaseStatus.NOTIFIED)
        actor: ActorRecord
        at: datetime
        notified_on: date
        objection_deadline: date
        delivery: str
        sent_on: date
        received_on: date | None
        rules: RulesApplied | None
        effective_from: date | None
        expires_on: date | None
        fee_due_on: date | None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state.update(
                delivery=notification.Delivery.COUNTER.value,
                sent_on=state["notified_on"],
                received_on=None,
                rules=None,
                effective_from=None,
                expires_on=None,
                fee_due_on=None,
            )

    @event(Notified)
    def _notified(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        notified_on: date,
        objection_deadline: date,
        delivery: str,
        sent_on: date,
        received_on: date | None,
        rules: RulesApplied | None,
        effective_from: date | None,
        expires_on: date | None,
        fee_due_on: date | None,
        status: str,
    ) -> None:
        self.notified_on = notified_on
        self.objection_deadline = objection_deadline
        self.notification = {"delivery": delivery, "sent_on": sent_on, "received_on": received_on}
        if self.decision is not None and effective_from is not None:
            notified = self.decision.as_notified(
                notified_on, effective_from, expires_on, fee_due_on
            )
            self.decision = notified
            self.decisions[-1] = notified
        self.status = status
        self.last_activity_at = at

    def record_remedy_notice_defect(self, *, actor: Actor, at: datetime, reason: str) -> None:
        """The remedy notice the decision carried was missing or wrong: the period is a year.

        § 58 (2) VwGO: an objection is then admissible within one year of the Bekanntgabe.
        """
        record = self._begin("record_remedy_notice_defect", actor, at)
        notified_on = self.notified_on
        if notified_on is None:  # the legal track offers this only after notification
            raise InvalidCommand("decision", "the decision has not been notified")
        year_ends = period_end(notified_on, PERIOD_WITHOUT_NOTICE_MONTHS)
        if berlin_date(at) > year_ends:
            raise InvalidCommand("at", f"the year of § 58 (2) VwGO ended on {year_ends}")
        deadline = period_end(
            notified_on, self.current_decision().remedy_notice.found_defective().period_months
        )
        # A case marked final after the month was not: within the year it is open again.
        status = self.status_reopened() if self.status == CaseStatus.FINAL else self.status
        self._remedy_notice_found_defective(
            actor=record,
            at=at,
            reason=self._case_text(reason, "reason"),
            objection_deadline=deadline,
            status=status,
        )

    class RemedyNoticeFoundDefective(ChangesStatus):
        """The remedy notice was missing or wrong: the objection period runs for a year, and a
        case marked final within it is open again.

        Version 2 records the case's status; version 1 never moved the case nor undid its
        finality: it is read with no status (``STATUS_KEPT``), the case's own kept.
        """

        class_version = 2
        actor: ActorRecord
        at: datetime
        reason: PersonalValue
        objection_deadline: date

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["status"] = STATUS_KEPT

    @event(RemedyNoticeFoundDefective)
    def _remedy_notice_found_defective(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        reason: PersonalValue,
        objection_deadline: date,
        status: str | None,
    ) -> None:
        if status is not STATUS_KEPT:
            self.final_on = None
            self.status = status
        if self.decision is not None:
            defective = replace(
                self.decision, remedy_notice=self.decision.remedy_notice.found_defective()
            )
            self.decision = defective
            self.decisions[-1] = defective
        self.objection_deadline = objection_deadline
        # Objections still open are measured against the year now (§ 58 (2) VwGO).
        self.objections = [
            replace(o, deadline=objection_deadline) if o.is_open else o for o in self.objections
        ]
        self.last_activity_at = at

    def lodge_objection(
        self, *, actor: Actor, at: datetime, grounds: str, received_on: date | None = None
    ) -> None:
        """Record a Widerspruch: in time or late, it is recorded and decided, never refused.

        It may be lodged whatever step the service has reached; one received before the
        presumed day of notification is valid (the decision exists once sent). Lodging does
        not move the case's main track.
        """
        record = self._begin("lodge_objection", actor, at)
        deadline = self.current_objection_deadline()
        day = received_on or berlin_date(at)
        sent_on = self.notification["sent_on"] if self.notification else self.notified_on
        if sent_on is not None and day < sent_on:
            raise InvalidCommand("received_on", f"the decision was sent on {sent_on}, later")
        if day > berlin_date(at):
            raise InvalidCommand("received_on", "must not lie in the future")
        objection = Objection(
            received_on=day,
            grounds=self._personal(Subjects.APPLICANT, grounds, "grounds"),
            lodged_by=record,
            deadline=deadline,
        )
        # An objection in time that was recorded after the case was marked final (the letter
        # arrived within the period) shows the decision was never final.
        status = self.status_reopened() if objection.timely else self.status
        self._objection_lodged(actor=record, at=at, objection=objection, status=status)

    class ObjectionLodged(ChangesStatus):
        """A Widerspruch was received (in time or late); the main track goes on.

        Version 4 records the case's own status (where an objection in time reopens a case
        marked final or a closed file); the old ``objection_lodged`` of version 2 is upcast to
        ``notified``, where every such objection was lodged. Version 3 was stored first
        without a status (the objection never moved the case: read with ``STATUS_KEPT``),
        later with one, which it keeps.
        """

        class_version = 4
        upcast_v1_v2 = leads_to(CaseStatus.NOTIFIED)
        actor: ActorRecord
        at: datetime
        objection: Objection

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["status"] = CaseStatus.NOTIFIED

        @staticmethod
        def upcast_v3_v4(state: dict[str, Any]) -> None:
            state.setdefault("status", STATUS_KEPT)

    @event(ObjectionLodged)
    def _objection_lodged(
        self, *, actor: ActorRecord, at: datetime, objection: Objection, status: str | None
    ) -> None:
        if objection.deadline is None and self.objection_deadline is not None:
            objection = replace(objection, deadline=self.objection_deadline)
        self.objections.append(objection)
        if objection.timely:
            self.final_on = None  # an objection in time keeps the decision open
        if status is not STATUS_KEPT:
            self.status = status
        self.last_activity_at = at

    def status_reopened(self) -> str:
        """Where the main track stands once the decision proves not final: a case marked
        final is at ``notified`` again; a closed file returns to the step it was closed at
        (a burial carried out stays carried out), or to ``notified`` if it was closed when
        final. Any other status is kept: the legal track never undoes the service's steps."""
        status = self.status
        if status == CaseStatus.CLOSED:
            status = self.closed_from or CaseStatus.NOTIFIED
        return CaseStatus.NOTIFIED if status == CaseStatus.FINAL else status

    def _check_procedure_before_decision(self, objection: Objection, outcome: str) -> None:
        """The Widerspruchsbescheid comes after the procedure the matter prescribes.

        Self-government: the town decides after the hearing before the Anhörungsausschuss
        (§§ 7 ff. HessAGVwGO), which an objection rejected as inadmissible does not need.
        Road traffic: the supervising authority decides, so the file must have gone there.
        """
        if self.MATTER is Matter.SELF_GOVERNMENT:
            # An objection forwarded before forwarding was kept to road traffic matters went
            # to the authority it names; it is decided there.
            heard_or_sent = objection.heard_on is not None or objection.forwarded_to is not None
            if not heard_or_sent and outcome != ObjectionOutcome.INADMISSIBLE:
                raise InvalidCommand(
                    "objection", "record the hearing before the Anhörungsausschuss first"
                )
        elif objection.forwarded_to is None:
            raise InvalidCommand(
                "objection", "forward the objection to the supervising authority first"
            )

    def _check_reopenable(self) -> None:
        """A new decision replaces the one in force only before the service's steps began."""
        if self.status not in (CaseStatus.NOTIFIED, CaseStatus.FINAL):
            raise InvalidCommand(
                "new_decision",
                f"the service's steps have begun ({self.status}): record what changes instead",
            )
        self.check_decision_reopenable()

    def _reopen_for_a_new_decision(self) -> None:
        """The decision in force gives way to a new one: review, decide, notify again."""
        self.decision = None
        self.notified_on = None
        self.notification = None
        self.objection_deadline = None
        self.final_on = None
        self.expired_on = None
        self.fee_refunded = Decimal(0)
        self.clock = self.clock.reopened()

    def _check_refund(self, fee_refund: Decimal | None) -> None:
        """A refund of the decision's fee, where it was paid: never more than was assessed.

        Payments are recorded by the cash office (payments come with their own service); the
        refund is the amount of the assessed fee that the remedy or Widerspruchsbescheid says
        is to be paid back.
        """
        if fee_refund is None:
            return
        assessed = (self.decision.fee if self.decision is not None else None) or Decimal(0)
        if fee_refund > assessed - self.fee_refunded:
            raise InvalidCommand(
                "fee_refund",
                f"must not exceed the fee the decision assessed ({assessed}) less what was "
                f"refunded of it already ({self.fee_refunded})",
            )
        self.check_fee_refund_charged(fee_refund)

    def _charges_after_objection(
        self, record: ActorRecord, at: datetime, fee_refund: Decimal | None, new_decision: bool
    ) -> None:
        """What a remedy or Widerspruchsbescheid does to the fees charged: a new decision sets
        the decision in force aside with its charges; a fee refund lowers the fee's charge."""
        if new_decision:
            self.set_aside_charges(record, at)
        elif fee_refund:
            self.refund_fee(record, at, fee_refund)

    def _open(self) -> Objection:
        objection = self.open_objection
        if objection is None:  # the legal track offers these only with an open objection
            raise InvalidCommand("objection", "there is no open objection")
        return objection

    def grant_reinstatement(
        self, *, actor: Actor, at: datetime, reason: str, force_majeure: bool = False
    ) -> None:
        """Reinstatement (Wiedereinsetzung, § 70 (2) with § 60 VwGO): a late objection counts.

        The objector was prevented from keeping the period without fault; the decision is
        no longer final while the objection is decided.
        """
        record = self._begin("grant_reinstatement", actor, at)
        objection = self._open()
        if objection.timely:
            raise InvalidCommand("objection", "the objection was lodged in time")
        missed = objection.deadline or objection.received_on
        cutoff = add_months(missed, 12)
        if berlin_date(at) > cutoff and not force_majeure:
            raise InvalidCommand(
                "force_majeure",
                f"a year after the period ended ({missed}) reinstatement is possible only for "
                "force majeure (§ 60 (3) VwGO)",
            )
        # Counted as in time, the objection reopens a case marked final or a closed file.
        status = self.status_reopened()
        self._reinstatement_granted(
            actor=record, at=at, reason=self._case_text(reason, "reason"), status=status
        )

    class ReinstatementGranted(ChangesStatus):
        """A late objection counts as lodged in time; a final decision is open again."""

        actor: ActorRecord
        at: datetime
        reason: PersonalValue

    @event(ReinstatementGranted)
    def _reinstatement_granted(
        self, *, actor: ActorRecord, at: datetime, reason: PersonalValue, status: str
    ) -> None:
        self._replace_open(lambda o: replace(o, reinstated=True))
        self.final_on = None
        self.status = status
        self.last_activity_at = at

    def _replace_open(self, change: Any) -> None:
        for index in range(len(self.objections) - 1, -1, -1):
            if self.objections[index].is_open:
                self.objections[index] = change(self.objections[index])
                return

    def hear_objection(
        self, *, actor: Actor, at: datetime, held_on: date, committee: str | None = None
    ) -> None:
        """The objection was heard before the Anhörungsausschuss (§§ 7 ff. HessAGVwGO).

        In self-government matters the town decides on the objection itself, after the
        hearing before the committee configured for it (domain/authorities.py).
        """
        record = self._begin("hear_objection", actor, at)
        objection = self._open()
        if held_on < objection.received_on or held_on > berlin_date(at):
            raise InvalidCommand("held_on", "must lie between the objection's receipt and today")
        configured = authorities_of(self.tenant).hearing_committee
        name = _as_configured(committee, configured, "committee")
        self._objection_heard(actor=record, at=at, held_on=held_on, committee=name)

    class ObjectionHeard(Aggregate.Event):
        """The objection was heard before the Anhörungsausschuss."""

        actor: ActorRecord
        at: datetime
        held_on: date
        committee: str

    @event(ObjectionHeard)
    def _objection_heard(
        self, *, actor: ActorRecord, at: datetime, held_on: date, committee: str
    ) -> None:
        self._replace_open(
            lambda o: o.with_state(
                ObjectionState.HEARD, heard_on=held_on, hearing_committee=committee
            )
        )
        self.last_activity_at = at

    def remedy_objection(
        self,
        *,
        actor: Actor,
        at: datetime,
        reason: str,
        extent: str = "full",
        costs_borne_by: str = CostsBorneBy.AUTHORITY,
        fee_refund: Decimal | None = None,
        new_decision: bool = True,
        operative_part: str | None = None,
    ) -> None:
        """Abhilfe (§ 72 VwGO): the issuing authority finds the objection well-founded.

        In full or in part, with a costs decision and the refund of a fee paid where due.
        With ``new_decision`` the case returns to review for the replacing decision (which is
        notified again); without, ``operative_part`` says what the remedy changes in the
        decision (a dropped requirement, say). A partial remedy leaves the rest of the
        objection open for the hearing and the objection authority.
        """
        record = self._begin("remedy_objection", actor, at)
        objection = self._open()
        if extent not in ("full", "partial"):
            raise InvalidCommand("extent", "must be full or partial")
        self._check_refund(fee_refund)
        if new_decision:
            self._check_reopenable()
        elif not operative_part:
            raise InvalidCommand(
                "operative_part", "say what the remedy changes in the decision it leaves in force"
            )
        del objection
        costs = ObjectionCosts(
            borne_by=costs_borne_by, legal_basis="§ 72 VwGO, § 80 HVwVfG", fee_refund=fee_refund
        )
        remedy = ObjectionDecision(
            outcome=ObjectionState.REMEDIED if extent == "full" else ObjectionState.PARTLY_REMEDIED,
            reasons=self._case_text(reason, "reason"),
            costs=costs,
            decided_by=authorities_of(self.tenant).issuing_authority(self.MATTER),
            decided_on=berlin_date(at),
            operative_part=(
                self._case_text(operative_part, "operative_part") if operative_part else None
            ),
        )
        status = CaseStatus.IN_REVIEW if new_decision else self.status
        self._objection_remedied(
            status=status,
            actor=record,
            at=at,
            reason=remedy.reasons,
            remedy=remedy,
            new_decision=new_decision,
        )
        self._charges_after_objection(record, at, fee_refund, new_decision)

    class ObjectionRemedied(ChangesStatus):
        """Abhilfe: in full or in part; with a new decision the case is reviewed again.

        Version 3 added the remedy record (extent, costs, refund) and whether a new decision
        follows; earlier remedies were full and always led back to review.
        """

        class_version = 3
        upcast_v1_v2 = leads_to(CaseStatus.IN_REVIEW)
        actor: ActorRecord
        at: datetime
        reason: PersonalValue
        remedy: ObjectionDecision | None
        new_decision: bool

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state.update(remedy=None, new_decision=True)

    @event(ObjectionRemedied)
    def _objection_remedied(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        reason: PersonalValue,
        remedy: ObjectionDecision | None,
        new_decision: bool,
        status: str,
    ) -> None:
        partial = remedy is not None and remedy.outcome == ObjectionState.PARTLY_REMEDIED
        state = ObjectionState.PARTLY_REMEDIED if partial else ObjectionState.REMEDIED
        self._replace_open(
            lambda o: o.with_state(
                state, remedy=remedy, remedies=(*o.remedies, remedy) if remedy else o.remedies
            )
        )
        if remedy is not None and remedy.costs.fee_refund:
            self.fee_refunded += remedy.costs.fee_refund
            if self.fee_paid is not None:
                self.fee_paid -= remedy.costs.fee_refund
        if new_decision:
            self._reopen_for_a_new_decision()
            if remedy is None:
                self.fee_paid = None
        self.status = status
        self.last_activity_at = at

    def forward_objection(
        self, *, actor: Actor, at: datetime, reason: str, authority: str | None = None
    ) -> None:
        """No remedy: the file goes to the objection authority (§ 73 (1) VwGO).

        In road traffic matters that is the supervising authority configured for the town;
        in self-government matters the town decides itself, after the hearing.
        """
        record = self._begin("forward_objection", actor, at)
        self._open()
        configured = authorities_of(self.tenant).objection_authority(self.MATTER)
        name = _as_configured(authority, configured, "authority")
        self._objection_forwarded(
            actor=record, at=at, authority=name, reason=self._case_text(reason, "reason")
        )

    class ObjectionForwarded(Aggregate.Event):
        """No remedy: the objection went to the objection authority; the main track goes on.

        Version 3 no longer moves the case into a status of its own.
        """

        class_version = 3
        upcast_v1_v2 = leads_to(CaseStatus.NOTIFIED)
        actor: ActorRecord
        at: datetime
        authority: str
        reason: PersonalValue

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state.pop("status", None)

    @event(ObjectionForwarded)
    def _objection_forwarded(
        self, *, actor: ActorRecord, at: datetime, authority: str, reason: PersonalValue
    ) -> None:
        self._replace_open(lambda o: o.with_state(ObjectionState.FORWARDED, forwarded_to=authority))
        self.last_activity_at = at

    def withdraw_objection(self, *, actor: Actor, at: datetime, reason: str | None = None) -> None:
        """The objector withdraws the objection; it needs no reason."""
        record = self._begin("withdraw_objection", actor, at)
        self._open()
        text = self._personal(Subjects.APPLICANT, reason, "reason") if reason else None
        self._objection_withdrawn(actor=record, at=at, reason=text)

    class ObjectionWithdrawn(Aggregate.Event):
        """The objection was withdrawn."""

        actor: ActorRecord
        at: datetime
        reason: PersonalValue | None

    @event(ObjectionWithdrawn)
    def _objection_withdrawn(
        self, *, actor: ActorRecord, at: datetime, reason: PersonalValue | None
    ) -> None:
        day = berlin_date(at)
        self._replace_open(lambda o: o.with_state(ObjectionState.WITHDRAWN, withdrawn_on=day))
        self.last_activity_at = at

    def decide_objection(
        self,
        *,
        actor: Actor,
        at: datetime,
        outcome: str,
        reasons: str,
        costs_borne_by: str,
        served_on: date,
        fee: Decimal | None = None,
        fee_refund: Decimal | None = None,
        authority: str | None = None,
        operative_part: str | None = None,
        decided_on: date | None = None,
        new_decision: bool = False,
    ) -> None:
        """Record the Widerspruchsbescheid (§ 73 (3) VwGO): outcome, reasons, costs, service.

        Where it grants the objection and the town is to decide anew (``new_decision``: a
        refusal set aside with the obligation to grant), the case returns to review, as after
        a remedy with a new decision.

        A late objection without reinstatement can only be dismissed as inadmissible. The
        month for an action (§ 74 (1) VwGO) runs from the day it was served; ``decided_on``
        is the day it was signed (today unless given), on or before that day.
        """
        record = self._begin("decide_objection", actor, at)
        objection = self._open()
        if outcome not in ObjectionOutcome.ALL:
            raise InvalidCommand("outcome", f"must be one of {', '.join(ObjectionOutcome.ALL)}")
        if not objection.timely and outcome != ObjectionOutcome.INADMISSIBLE:
            raise InvalidCommand(
                "outcome",
                f"the objection came after the period ended on {objection.deadline}: "
                "inadmissible, unless reinstatement is granted first",
            )
        self._check_procedure_before_decision(objection, outcome)
        signed = decided_on or berlin_date(at)
        if signed < objection.received_on or signed > berlin_date(at):
            raise InvalidCommand("decided_on", "must lie between the objection's receipt and today")
        if objection.heard_on is not None and signed < objection.heard_on:
            raise InvalidCommand(
                "decided_on", f"must not lie before the hearing ({objection.heard_on})"
            )
        if served_on < signed or served_on > berlin_date(at):
            raise InvalidCommand("served_on", "must lie between the day it was signed and today")
        self._check_refund(fee_refund)
        configured = authorities_of(self.tenant).objection_authority(self.MATTER)
        decision = ObjectionDecision(
            outcome=outcome,
            reasons=self._case_text(reasons, "reasons"),
            costs=ObjectionCosts(
                borne_by=costs_borne_by,
                legal_basis="§ 73 Abs. 3 Satz 3 VwGO, § 80 HVwVfG",
                fee=fee,
                fee_refund=fee_refund,
            ),
            decided_by=_as_configured(authority, configured, "authority"),
            decided_on=signed,
            served_on=served_on,
            action_deadline=period_end(served_on, ACTION_PERIOD_MONTHS),
            operative_part=(
                self._case_text(operative_part, "operative_part") if operative_part else None
            ),
        )
        if new_decision:
            if outcome not in (ObjectionOutcome.GRANTED, ObjectionOutcome.PARTLY_GRANTED):
                raise InvalidCommand("new_decision", "only an objection granted calls for one")
            self._check_reopenable()
        status = CaseStatus.IN_REVIEW if new_decision else self.status
        self._objection_decided(
            actor=record, at=at, decision=decision, new_decision=new_decision, status=status
        )
        self._charges_after_objection(record, at, fee_refund, new_decision)

    class ObjectionDecided(ChangesStatus):
        """The Widerspruchsbescheid: outcome, reasons, costs; served; the month for an action.

        With ``new_decision`` the case is reviewed again for the decision it calls for.
        Version 2 records that and the case's status; version 1 never moved the case: it is
        read with no new decision and no status (``STATUS_KEPT``), the case's own kept.
        """

        class_version = 2
        actor: ActorRecord
        at: datetime
        decision: ObjectionDecision
        new_decision: bool

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.update(status=STATUS_KEPT, new_decision=False)

    @event(ObjectionDecided)
    def _objection_decided(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        decision: ObjectionDecision,
        new_decision: bool,
        status: str | None,
    ) -> None:
        self._replace_open(lambda o: o.with_state(ObjectionState.DECIDED, decision=decision))
        if decision.costs.fee_refund:
            self.fee_refunded += decision.costs.fee_refund
            if self.fee_paid is not None:
                self.fee_paid -= decision.costs.fee_refund
        if new_decision:
            self._reopen_for_a_new_decision()
        if status is not STATUS_KEPT:
            self.status = status
        self.last_activity_at = at

    # ------------------------------------------------- deemed approval (§ 42a HVwVfG)

    def check_no_deemed_approval(self, today: date) -> None:
        """No decision once the § 42a period ended without one: the approval is deemed granted
        by law on the next day, whether recorded yet or not (§ 42a (1) sentence 1 HVwVfG)."""
        if self.clock.approval_deemed_on(today):
            raise InvalidCommand(
                "clock",
                f"the period ended on {self.clock.due_on} without a decision: the approval is "
                "deemed granted (§ 42a HVwVfG); record the deemed approval",
            )

    def deemed_approval_from(self) -> date | None:
        """The day the approval is deemed granted (the day after the period), if it will be:
        a § 42a period running, not decided; None otherwise."""
        clock = self.clock
        if self.deemed_approval is not None or "record_deemed_approval" not in (
            self.allowed_commands()
        ):
            return None
        if clock.due_on is None or clock.stopped_since is not None:
            return None
        return clock.due_on + timedelta(days=1)

    def record_deemed_approval(self, *, actor: Actor, at: datetime) -> None:
        """The § 42a period ended without a decision: the approval is deemed granted.

        Run by the scheduler as the system on the day after the period's last day (or by a
        clerk). Records the legal basis (§ 42a (1) sentence 1 HVwVfG with the service's rule)
        and the day it took effect; the clock stops for good and nothing decides afterwards.
        """
        record = self._begin("record_deemed_approval", actor, at)
        today = berlin_date(at)
        if not self.clock.approval_deemed_on(today):
            ended = self.clock.due_on
            raise InvalidCommand(
                "clock",
                f"the period runs until {ended}: no deemed approval before it ended"
                if ended is not None and today <= ended
                else "no § 42a period has ended without a decision",
            )
        assert self.clock.due_on is not None  # approval_deemed_on says so
        ended = self.clock.due_on
        took_effect = ended + timedelta(days=1)
        self._deemed_approved(
            status=CaseStatus.DEEMED_APPROVED,
            actor=record,
            at=at,
            period_ended_on=ended,
            took_effect_on=took_effect,
            legal_basis=legal_basis(self.DEEMED_APPROVAL_RULE),
            clock=self.clock.decided(took_effect),
        )

    class DeemedApproved(ChangesStatus):
        """The approval is deemed granted (§ 42a (1) sentence 1 HVwVfG): the period ended on
        ``period_ended_on`` without a decision; in effect from ``took_effect_on``."""

        actor: ActorRecord
        at: datetime
        period_ended_on: date
        took_effect_on: date
        legal_basis: str
        clock: ProcessingClock

    @event(DeemedApproved)
    def _deemed_approved(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        period_ended_on: date,
        took_effect_on: date,
        legal_basis: str,
        clock: ProcessingClock,
        status: str,
    ) -> None:
        self.deemed_approval = DeemedApproval(
            period_ended_on, took_effect_on, legal_basis, actor.id
        )
        self.pending_decision = None
        self.open_request = None  # nothing the applicant is asked matters any more
        self.clock = clock
        self.status = status
        self.last_activity_at = at

    def certify_deemed_approval(self, *, actor: Actor, at: datetime) -> None:
        """Issue the certificate of the deemed approval (§ 42a (3) HVwVfG) into the file.

        "Auf Verlangen" of the applicant (who asks for it in the portal) or by staff on their
        request; a further request issues a further copy, numbered.
        """
        record = self._begin("certify_deemed_approval", actor, at)
        deemed = self.deemed_approval
        if deemed is None:
            raise InvalidCommand("status", "no approval is deemed granted in this case")
        town = tenant_named(self.tenant).display_name
        authority = authorities_of(self.tenant).issuing_authority(self.MATTER)
        issued_on = berlin_date(at)
        text = certificate_text(
            town=town,
            authority=authority,
            reference=self.reference,
            subject=self.DEEMED_APPROVAL_SUBJECT,
            took_effect_on=deemed.took_effect_on,
            legal_basis=deemed.legal_basis,
            issued_on=issued_on,
        )
        self._deemed_approval_certified(
            actor=record,
            at=at,
            number=len(self.certificates) + 1,
            town=town,
            authority=authority,
            subject=self.DEEMED_APPROVAL_SUBJECT,
            text=text,
        )

    class DeemedApprovalCertified(Aggregate.Event):
        """The certificate of § 42a (3) HVwVfG was issued into the case file (its text)."""

        actor: ActorRecord
        at: datetime
        number: int
        town: str
        authority: str
        subject: str
        text: str

    @event(DeemedApprovalCertified)
    def _deemed_approval_certified(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        number: int,
        town: str,
        authority: str,
        subject: str,
        text: str,
    ) -> None:
        deemed = self.deemed_approval
        assert deemed is not None  # the command checked it
        certificate = DeemedApprovalCertificate(
            number=number,
            issued_on=berlin_date(at),
            town=town,
            authority=authority,
            reference=self.reference,
            subject=subject,
            took_effect_on=deemed.took_effect_on,
            legal_basis=deemed.legal_basis,
            text=text,
        )
        self.certificates = [*self.certificates, certificate]
        self.last_activity_at = at

    def final_from(self) -> date | None:
        """The first day the decision is unappealable, or None while something is open.

        The day after the objection period ended without a timely objection; after a
        withdrawn objection, the day after the period (or the withdrawal, if later); after a
        Widerspruchsbescheid, the day after the month for an action ended.
        """
        deadline = self.objection_deadline
        open_objection = self.open_objection
        if deadline is None or (open_objection is not None and open_objection.timely):
            return None
        first = deadline + timedelta(days=1)
        for objection in self.objections:
            if not objection.timely:
                continue  # a late objection never held finality back
            if objection.state == ObjectionState.WITHDRAWN and objection.withdrawn_on:
                first = max(first, objection.withdrawn_on)
            for remedy in objection.remedies:  # disposed of by Abhilfe on that day
                first = max(first, remedy.decided_on + timedelta(days=1))
            if objection.decision is not None and objection.decision.action_deadline:
                first = max(first, objection.decision.action_deadline + timedelta(days=1))
        return first

    def mark_final(self, *, actor: Actor, at: datetime) -> None:
        """The decision became final (bestandskräftig): the period ended, or the objection is
        finally disposed of, and no objection is open."""
        record = self._begin("mark_final", actor, at)
        first = self.final_from()
        if first is None:
            raise InvalidCommand("objection", "an objection is open: it must be disposed of first")
        if self.final_on is not None:
            raise InvalidCommand("final_on", f"the decision is final since {self.final_on}")
        if berlin_date(at) < first:
            raise InvalidCommand("at", f"the decision can become final on {first} at the earliest")
        status = CaseStatus.FINAL if self.status == CaseStatus.NOTIFIED else self.status
        self._became_final(status=status, actor=record, at=at, final_on=first)

    class BecameFinal(ChangesStatus):
        """The decision became final; a case still at notification moves to ``final``.

        Version 3 records the first day of finality; earlier events count from their day.
        """

        class_version = 3
        upcast_v1_v2 = leads_to(CaseStatus.FINAL)
        actor: ActorRecord
        at: datetime
        final_on: date

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["final_on"] = berlin_date(state["at"])

    @event(BecameFinal)
    def _became_final(
        self, *, actor: ActorRecord, at: datetime, final_on: date, status: str
    ) -> None:
        self.final_on = final_on
        self.status = status
        self.last_activity_at = at

    # ------------------------------------------------- expiry (§ 43 (2) HVwVfG)

    EXPIRY_BASIS: ClassVar[str] = "§ 43 Abs. 2 HVwVfG (Erledigung durch Zeitablauf)"

    def validity_ends_on(self) -> date | None:
        """Extension point: the notified approval's last day of validity as it stands now
        (a service's extension or renewal moves it); None for a refusal or no last day."""
        decision = self.decision
        if self.notified_on is None or decision is None or not decision.outcome.is_approval:
            return None
        return decision.expires_on

    def validity_ended_otherwise(self) -> bool:
        """Extension point: the approval is no longer in force for another reason than time
        (used up by completed works, returned, revoked)."""
        return False

    def expiry_from(self) -> date | None:
        """The day the approval ceases to be effective by lapse of time (the day after its
        last day, § 43 (2) HVwVfG), if it still will: notified, not recorded as expired for
        this last day, not withdrawn, closed, replaced or ended otherwise; None otherwise.

        A permit renewed after it lapsed (resident parking) runs to a new last day: it can
        expire again, after that one.
        """
        if self.withdrawn or self.status in (CaseStatus.WITHDRAWN, CaseStatus.CLOSED):
            return None
        if self.validity_ended_otherwise():
            return None
        last = self.validity_ends_on()
        if last is None:
            return None
        first = last + timedelta(days=1)
        if self.expired_on is not None and self.expired_on >= first:
            return None  # recorded already for this last day
        return first

    def has_expired(self) -> bool:
        """Recorded as expired, and not renewed since beyond that day."""
        last = self.validity_ends_on()
        return self.expired_on is not None and (last is None or self.expired_on > last)

    def record_expiry(self, *, actor: Actor, at: datetime) -> None:
        """The approval's validity ended: it ceased to be effective by lapse of time.

        § 43 (2) HVwVfG: an administrative act remains effective until it is withdrawn,
        revoked, otherwise cancelled or settled by lapse of time. Run by the scheduler as the
        system on the day after the last day (or by staff); recorded once, with the last day
        and the day it took effect. The status stays where the service's work stands.
        """
        record = self._begin("record_expiry", actor, at)  # offered only while it can expire
        first = self.expiry_from()
        if first is None:
            raise InvalidCommand("decision", "no approval in force that could expire")
        if berlin_date(at) < first:
            last = first - timedelta(days=1)
            raise InvalidCommand("at", f"the approval is valid until {last}: it expires on {first}")
        self._approval_expired(
            actor=record,
            at=at,
            valid_until=first - timedelta(days=1),
            expired_on=first,
            legal_basis=self.EXPIRY_BASIS,
        )

    class ApprovalExpired(Aggregate.Event):
        """The approval ceased to be effective by lapse of time (§ 43 (2) HVwVfG): its last
        day was ``valid_until``, in effect from ``expired_on``. The status does not move."""

        actor: ActorRecord
        at: datetime
        valid_until: date
        expired_on: date
        legal_basis: str

    @event(ApprovalExpired)
    def _approval_expired(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        valid_until: date,
        expired_on: date,
        legal_basis: str,
    ) -> None:
        self.expired_on = expired_on
        self.last_activity_at = at

    def withdraw(self, *, actor: Actor, at: datetime, reason: str | None = None) -> None:
        """The applicant withdraws the application: possible until the decision is final.

        A withdrawal needs no reason; one given is recorded. A decision not yet final loses
        its object with it (§ 43 (2) HVwVfG: it is settled otherwise).
        """
        record = self._begin("withdraw", actor, at)
        first = self.final_from()
        if first is not None and berlin_date(at) >= first:
            raise InvalidCommand("at", f"the decision is final since {first} (bestandskräftig)")
        text = self._personal(Subjects.APPLICANT, reason, "reason") if reason else None
        self._withdrawn(status=CaseStatus.WITHDRAWN, actor=record, at=at, reason=text)

    class Withdrawn(ChangesStatus):
        """The applicant withdrew the application (until the decision was final)."""

        class_version = 2
        upcast_v1_v2 = leads_to(CaseStatus.WITHDRAWN)
        actor: ActorRecord
        at: datetime
        reason: PersonalValue | None

    @event(Withdrawn)
    def _withdrawn(
        self, *, actor: ActorRecord, at: datetime, reason: PersonalValue | None, status: str
    ) -> None:
        self.withdrawal_reason = reason
        self.withdrawn = True
        self.pending_decision = None
        self.open_request = None
        self.holder = None
        self.status = status
        self.last_activity_at = at

    def close(self, *, actor: Actor, at: datetime, reason: str | None = None) -> None:
        """Close the file; services may require their own steps first (``check_closable``)."""
        record = self._begin("close", actor, at)
        self.check_legal_track_closed(at)
        self.check_closable(at)
        text = self._case_text(reason, "reason") if reason else None
        self._closed(status=CaseStatus.CLOSED, actor=record, at=at, reason=text)

    def check_closable(self, at: datetime) -> None:
        """Extension point: services refuse ``close`` while their own steps are open."""

    def check_decision_reopenable(self) -> None:
        """Extension point: a service refuses a remedy that reopens its decision for review."""

    def check_legal_track_closed(self, at: datetime) -> None:
        """No file is closed while an objection is open or the objection period runs."""
        if self.status == CaseStatus.WITHDRAWN:
            return  # the withdrawal settled the application and any objection against it
        objection = self.open_objection
        if objection is not None:
            raise InvalidCommand("objection", f"the objection of {objection.received_on} is open")
        if self.objection_deadline is None:
            return
        if self.final_on is None and berlin_date(at) <= self.objection_deadline:
            raise InvalidCommand("at", f"the objection period runs until {self.objection_deadline}")

    def check_no_approval_in_force(self, at: datetime, refusal: str) -> None:
        """Refuse ``close`` while a final approval is in force and its steps are unreported.

        After a refusal, or once an unused approval expired, the file may be closed.
        """
        decision = self.decision
        if self.has_expired():
            return  # recorded as expired (§ 43 (2) HVwVfG)
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
        self.closed_from = self.status
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


def _extension_field(refusal: str) -> str:
    """The field an extension's refusal is about."""
    for words, field_name in (
        ("communicat", "communicated_on"),
        ("reach the applicant", "communicated_on"),
        ("ended on", "at"),
        ("working day", "working_days"),
    ):
        if words in refusal:
            return field_name
    return "clock"  # not started, or extended once already


def _as_configured(given: str | None, configured: str, field_name: str) -> str:
    """The configured authority; another name typed on a case is refused (it would be free
    text in a public event, and a town's authorities are configuration)."""
    if given is None or not given.strip() or given.strip() == configured:
        return configured
    raise InvalidCommand(
        field_name, f"the town's configured authority is {configured!r} (domain/authorities.py)"
    )


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
