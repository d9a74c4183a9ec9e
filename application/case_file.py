"""The case file (Akte): everything recorded about one case, for auditors and supervisors.

``CaseFiles.assemble`` reads a case once and answers a ``CaseFile``: the case's data
(personal values opened, erased ones as "[gelöscht]"), a timeline of every event of the case
(log position, version, business time, who in which role for which town and on whose behalf,
a German label of the event, the reason where the event records one, the status after it),
the decision records with their replay verdicts, the fees and what became of them (charges,
receivables, payments, refunds), the messages (information requests and replies, letters and
their delivery) and the integrity proof of the case's stored records (docs/architecture.md,
decision 37). The same timeline and decision records serve the clerks' console.

Two ports belong to this module: ``IntegrityProofs`` (the chain links of the case's records
and the nearest signed checkpoint; infrastructure/integrity implements it) and
``CaseFilePrinter`` (the file as printable German HTML and as PDF, from one template).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Final, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, CanMutateAggregate

from application.cases import load_visible, withheld_from
from application.clock import Clock
from application.decision_audit import DecisionAudit
from application.store import VorgangStore
from application.views import CaseState, decision_view, plain
from domain.actor import Actor, ActorRecord
from domain.case import Case
from domain.lifecycle import ChangesStatus
from domain.payments.receivable import Receivable, receivable_id
from domain.personal_data import ERASED_TEXT
from domain.services.catalogue import SERVICES, ServiceDefinition
from domain.tenants import TENANTS
from domain.working_days import berlin_date
from persistence.chain import CaseProof

FORMAT_VERSION: Final = "vorgang.case-file.v1"
# Where an event records why, by the names events use (first found wins), and the records
# inside an event that carry the reason (a decision's justification, an objection's grounds).
REASON_FIELDS: Final = ("reason", "reasons", "reason_text", "justification", "grounds")
REASON_HOLDERS: Final = ("decision", "objection", "remedy", "request", "revocation")


# ---------------------------------------------------------------- ports


class IntegrityProofs(Protocol):
    """The chain links of a case's stored records and the nearest signed checkpoint."""

    def proof_of(self, case_id: UUID) -> CaseProof:
        """Every stored record of the case with its previous link and link, and the first
        log checkpoint at or after its last position (None while none covers it)."""


class EventLabels(Protocol):
    """German labels of events, by the case's service and the event's class name."""

    def __call__(self, service: str, event_type: str) -> str | None:
        """The German label, or None when the event has none."""


class CaseFilePrinter(Protocol):
    """The case file as a printable German document."""

    def html(self, file: CaseFile) -> str:
        """The file as HTML (print CSS, page numbers)."""

    def pdf(self, file: CaseFile) -> bytes:
        """The same HTML rendered as PDF."""


# ---------------------------------------------------------------- the file's parts


@dataclass(frozen=True, slots=True)
class ActorOnFile:
    """Who acted, as recorded: the name opened (or "[gelöscht]"), role, town, on whose behalf."""

    id: str
    name: str
    role: str
    tenant: str
    on_behalf_of: str | None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One stored event of the case, as the file shows it."""

    position: int | None  # the event's place in the one log (None: not found)
    version: int
    at: datetime | None  # business time the event records
    recorded_at: datetime  # when it was stored
    event: str  # the event class's name
    label: str  # what happened, in German
    actor: ActorOnFile | None
    reason: str | None  # the reason or justification the event records, if any
    status: str | None  # the case's status after the event


@dataclass(frozen=True, slots=True)
class CaseData:
    """The application and where the case stands: personal values opened."""

    id: UUID
    reference: str
    tenant: str
    town: str
    service: str
    service_name: str
    status: str
    version: int
    channel: str
    submitted_at: datetime
    applicant: dict[str, str]
    data: dict[str, Any]
    decided_on: date | None
    notified_on: date | None
    objection_deadline: date | None
    final_on: date | None


@dataclass(frozen=True, slots=True)
class DecisionOnFile:
    """A decision record of the case with the verdict of its replay."""

    number: int
    version: int
    in_force: bool
    outcome: str
    decided_at: datetime
    decided_by: ActorOnFile
    countersigned_by: ActorOnFile | None
    legal_basis: str
    justification: str
    verdict: str  # consistent, inconsistent, not_replayable
    verdict_reason: str | None
    differences: list[dict[str, Any]]
    record: dict[str, Any]  # the whole record as plain data (decision_view)


@dataclass(frozen=True, slots=True)
class PaymentOnFile:
    """Money received for a receivable."""

    payment: str
    amount: Decimal
    applied: Decimal
    overpaid: Decimal
    received_on: date
    channel: str
    recorded_by: ActorOnFile
    at: datetime
    request_id: UUID | None


@dataclass(frozen=True, slots=True)
class RefundOnFile:
    """Credit paid back to the debtor."""

    refund: str
    amount: Decimal
    at: datetime
    recorded_by: ActorOnFile


@dataclass(frozen=True, slots=True)
class FeeOnFile:
    """A charge of the case under its Kassenzeichen and its receivable's state."""

    kassenzeichen: str
    amount: Decimal
    currency: str
    ledger: str
    legal_basis: str
    refers_to: str
    prepaid: bool
    due_on: date | None
    settled: bool  # the case recorded it paid
    withdrawn: bool  # replaced by a later assessment
    receivable_status: str | None  # open, partly_paid, settled, cancelled (None: none opened)
    paid: Decimal
    outstanding: Decimal
    refunded: Decimal
    credit: Decimal
    payments: list[PaymentOnFile]
    refunds: list[RefundOnFile]


@dataclass(frozen=True, slots=True)
class InformationRequestOnFile:
    """Questions to the applicant and the reply, if one came."""

    version: int
    requested_at: datetime
    requested_by: ActorOnFile
    questions: list[str]
    reply_by: date
    missing_documents: bool
    answered_at: datetime | None
    answered_by: ActorOnFile | None
    answer: str | None


@dataclass(frozen=True, slots=True)
class DispatchOnFile:
    """One sending of a letter and what came of it."""

    channel: str
    sent_on: date
    reference: str
    outcome: str | None
    outcome_on: date | None
    failure: str | None


@dataclass(frozen=True, slots=True)
class LetterOnFile:
    """A letter the case issued, its hash and its delivery."""

    number: int
    kind: str
    title: str
    issued_at: datetime
    issued_by: ActorOnFile
    automatic: bool
    addressee: str
    sha256: str
    cash_reference: str | None
    dispatches: list[DispatchOnFile]


@dataclass(frozen=True, slots=True)
class Messages:
    """What went between the town and the applicant."""

    information_requests: list[InformationRequestOnFile]
    letters: list[LetterOnFile]


@dataclass(frozen=True, slots=True)
class ProofRecord:
    """One stored record of the case in the log's chain: everything to recompute its link.

    ``state`` is base64 of the bytes as stored (personal data encrypted), so the link
    recomputes after an erasure too; links are lowercase hex.
    """

    position: int
    topic: str
    originator_id: UUID
    originator_version: int
    state: str  # base64
    previous_link: str  # hex
    link: str  # hex


@dataclass(frozen=True, slots=True)
class ProofCheckpoint:
    """The signed checkpoint at or after the case's last record."""

    chain: str
    position: int
    link: str  # hex
    signed_at: str
    key_id: str
    signature: str  # base64


@dataclass(frozen=True, slots=True)
class IntegrityProof:
    """The case's records in the chain and the nearest signed checkpoint.

    ``available`` is False where this deployment builds no proofs; ``checkpoint`` is None
    while no checkpoint covers the case's last record yet (verify again later).
    """

    available: bool
    records: list[ProofRecord]
    checkpoint: ProofCheckpoint | None
    verify_with: str = "vorgang audit verify --case-file FILE.json"


@dataclass(frozen=True, slots=True)
class CaseFile:
    """The case file (Akte): one case, everything recorded about it."""

    format: str
    printed_at: datetime  # when the file was assembled (the date of printing)
    printed_by: ActorOnFile
    case: CaseData
    timeline: list[TimelineEntry]
    decisions: list[DecisionOnFile]
    fees: list[FeeOnFile]
    messages: Messages
    proof: IntegrityProof
    erased_subjects: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- labels


def case_event_classes(
    services: Mapping[str, ServiceDefinition] = SERVICES,
) -> list[type[Any]]:
    """Every event class a case type of the catalogue can record (the abstract bases aside).

    Mixins of ``Case`` record events under their own classes, so every aggregate class in a
    case type's ancestry is read.
    """
    return list(_event_classes(tuple(d.case_class for d in services.values())))


@cache
def _event_classes(case_classes: tuple[type[Any], ...]) -> tuple[type[Any], ...]:
    found: dict[int, type[Any]] = {}
    for case_class in case_classes:
        for klass in case_class.__mro__:
            if not (isinstance(klass, type) and issubclass(klass, Aggregate)):
                continue
            if klass is Aggregate:
                continue
            for value in vars(klass).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, CanMutateAggregate)
                    and value.__name__ not in ("Event", "Created")
                ):
                    found[id(value)] = value
    return tuple(found.values())


def label_of(event_class: type[Any], service: str, labels: EventLabels) -> str | None:
    """The German label of an event class: its own name's, or that of a class it derives
    from (a service's ``Assigned`` is the lifecycle's); None when none has one."""
    for klass in event_class.__mro__:
        if not (isinstance(klass, type) and issubclass(klass, CanMutateAggregate)):
            continue
        found = labels(service, klass.__name__)
        if found:
            return found
    return None


# ---------------------------------------------------------------- the timeline


def actor_on_file(actor: Any, withheld: frozenset[str] = frozenset()) -> ActorOnFile | None:
    """An actor record as the file shows it (None for an event without one)."""
    if not isinstance(actor, ActorRecord):
        return None
    shown = plain(actor.display_name, withheld)
    return ActorOnFile(
        id=actor.id,
        name=shown if isinstance(shown, str) else ERASED_TEXT,
        role=actor.role.value,
        tenant=actor.tenant,
        on_behalf_of=actor.on_behalf_of,
    )


def _text(value: Any, withheld: frozenset[str]) -> str | None:
    if value is None:
        return None
    shown = plain(value, withheld)
    if isinstance(shown, str):
        return shown
    if isinstance(shown, list | tuple):
        return "; ".join(str(s) for s in shown)
    return str(shown)


def reason_of(event: Any, withheld: frozenset[str] = frozenset()) -> str | None:
    """The reason an event records: its own field, or that of the record it carries (a
    decision's justification, an objection's grounds); None where it records none."""
    attributes = vars(event)
    for name in REASON_FIELDS:
        if attributes.get(name) is not None:
            return _text(attributes[name], withheld)
    for holder in REASON_HOLDERS:
        nested = attributes.get(holder)
        if nested is None:
            continue
        for name in REASON_FIELDS:
            value = getattr(nested, name, None)
            if value is not None:
                return _text(value, withheld)
    return None


def status_after(event: Any, current: str | None) -> str | None:
    """The case's status after the event: the one it records, else the one the case had."""
    if isinstance(event, ChangesStatus):
        return event.status if event.status is not None else current
    if isinstance(event, Case.Submitted):
        return "submitted"
    return current


def timeline_of(
    events: Iterable[Any],
    *,
    service: str,
    labels: EventLabels,
    positions: Callable[[int], int | None] = lambda _version: None,
    withheld: frozenset[str] = frozenset(),
) -> list[TimelineEntry]:
    """Every event of a case as a timeline entry, in order (``positions``: a version's log
    position)."""
    entries: list[TimelineEntry] = []
    status: str | None = None
    for event in events:
        status = status_after(event, status)
        attributes = vars(event)
        version: int = event.originator_version
        entries.append(
            TimelineEntry(
                position=positions(version),
                version=version,
                at=attributes.get("at"),
                recorded_at=event.timestamp,
                event=type(event).__name__,
                label=label_of(type(event), service, labels) or type(event).__name__,
                actor=actor_on_file(attributes.get("actor"), withheld),
                reason=reason_of(event, withheld),
                status=status,
            )
        )
    return entries


# ---------------------------------------------------------------- assembly


class PositionsOf(Protocol):
    """The log position of a case's version."""

    def of(self, aggregate_id: UUID, version: int) -> int | None:
        """The notification id of that version's event, when known."""


class CaseFiles:
    """Assembles a case's file from the store, the decision audit and the chain's proofs."""

    def __init__(
        self,
        store: VorgangStore,
        clock: Clock,
        decision_audit: DecisionAudit,
        labels: EventLabels,
        *,
        positions: PositionsOf | None = None,
        proofs: IntegrityProofs | None = None,
        printer: CaseFilePrinter | None = None,
        withheld: Callable[[Actor, Case], frozenset[str]] | None = None,
        services: Mapping[str, ServiceDefinition] = SERVICES,
    ) -> None:
        self.store = store
        self.clock = clock
        self.decision_audit = decision_audit
        self.labels = labels
        self.positions = positions
        self.proofs = proofs
        self.printer = printer
        self.withheld = withheld or (lambda reader, case: withheld_from(reader, case))
        self.services = services

    # ------------------------------------------------------------------ parts on their own

    def timeline(self, case_id: UUID, *, actor: Actor) -> list[TimelineEntry]:
        """Every event of the case, labelled, with who, why and the status after."""
        case = load_visible(self.store, case_id, actor)
        return self._timeline(case, list(self.store.events.get(case_id)), actor)

    def decision_records(self, case_id: UUID, *, actor: Actor) -> list[DecisionOnFile]:
        """Every decision of the case with its replay verdict."""
        case = load_visible(self.store, case_id, actor)
        return self._decisions(case, actor)

    # ------------------------------------------------------------------ the whole file

    def assemble(self, case_id: UUID, actor: Actor) -> CaseFile:
        """The case file as the actor may read it (another town's case: ``CaseNotFound``)."""
        case = load_visible(self.store, case_id, actor)
        events = list(self.store.events.get(case_id))
        withheld = self.withheld(actor, case)
        now = self.clock.now()
        return CaseFile(
            format=FORMAT_VERSION,
            printed_at=now,
            printed_by=ActorOnFile(
                actor.id,
                actor.display_name,
                actor.role.value,
                actor.tenant,
                actor.on_behalf_of,
            ),
            case=self._case_data(case, withheld, berlin_date(now)),
            timeline=self._timeline(case, events, actor),
            decisions=self._decisions(case, actor),
            fees=self._fees(case, withheld),
            messages=self._messages(case, events, withheld),
            proof=self._proof(case_id),
            erased_subjects=list(case.erased_subjects),
        )

    def html(self, file: CaseFile) -> str:
        """The file as printable German HTML (``NoPrinter`` where none is wired)."""
        return self._printer().html(file)

    def pdf(self, file: CaseFile) -> bytes:
        """The file as PDF rendered from the same HTML."""
        return self._printer().pdf(file)

    def _printer(self) -> CaseFilePrinter:
        if self.printer is None:
            raise NoPrinter()
        return self.printer

    # ------------------------------------------------------------------ helpers

    def _case_data(self, case: Case, withheld: frozenset[str], today: date) -> CaseData:
        state = CaseState.of(case, today=today, withheld=withheld)
        definition = self.services.get(case.service)
        town = TENANTS[case.tenant].display_name if case.tenant in TENANTS else case.tenant
        return CaseData(
            id=case.id,
            reference=case.reference,
            tenant=case.tenant,
            town=town,
            service=case.service,
            service_name=definition.label_de if definition is not None else case.service,
            status=state.status,
            version=state.version,
            channel=state.channel,
            submitted_at=state.submitted_at,
            applicant={k: plain(v, withheld) for k, v in case.applicant.items()},
            data=state.data,
            decided_on=state.decided_on,
            notified_on=state.notified_on,
            objection_deadline=state.objection_deadline,
            final_on=state.final_on,
        )

    def _timeline(self, case: Case, events: Sequence[Any], actor: Actor) -> list[TimelineEntry]:
        positions = self.positions

        def position(version: int) -> int | None:
            return positions.of(case.id, version) if positions is not None else None

        return timeline_of(
            events,
            service=case.service,
            labels=self.labels,
            positions=position,
            withheld=self.withheld(actor, case),
        )

    def _decisions(self, case: Case, actor: Actor) -> list[DecisionOnFile]:
        withheld = self.withheld(actor, case)
        found: list[DecisionOnFile] = []
        for record in self.decision_audit.records(case.id, actor=actor):
            report = self.decision_audit.replay(case.id, record.number, actor=actor)
            decision = record.decision
            found.append(
                DecisionOnFile(
                    number=record.number,
                    version=record.version,
                    in_force=record.in_force,
                    outcome=str(plain(decision.outcome)),
                    decided_at=decision.decided_at,
                    decided_by=_someone(decision.decided_by, withheld),
                    countersigned_by=actor_on_file(decision.countersigned_by, withheld),
                    legal_basis=decision.legal_basis,
                    justification=_text(decision.justification, withheld) or "",
                    verdict=report.verdict,
                    verdict_reason=report.reason,
                    differences=report.differences,
                    record=decision_view(decision) or {},
                )
            )
        return found

    def _fees(self, case: Case, withheld: frozenset[str]) -> list[FeeOnFile]:
        fees: list[FeeOnFile] = []
        for charge in case.charges:
            receivable = self._receivable(case.tenant, charge.kassenzeichen)
            zero = Decimal("0.00")
            fees.append(
                FeeOnFile(
                    kassenzeichen=charge.kassenzeichen,
                    amount=charge.amount,
                    currency="EUR",
                    ledger=charge.ledger,
                    legal_basis=charge.legal_basis,
                    refers_to=charge.refers_to,
                    prepaid=charge.prepaid,
                    due_on=receivable.due_on if receivable is not None else charge.due_on,
                    settled=charge.kassenzeichen in case.settled_charges,
                    withdrawn=charge.kassenzeichen in case.withdrawn_charges,
                    receivable_status=receivable.status if receivable is not None else None,
                    paid=receivable.paid if receivable is not None else zero,
                    outstanding=receivable.outstanding if receivable is not None else charge.amount,
                    refunded=receivable.refunded if receivable is not None else zero,
                    credit=receivable.credit if receivable is not None else zero,
                    payments=[
                        PaymentOnFile(
                            payment=p.payment,
                            amount=p.amount,
                            applied=p.applied,
                            overpaid=p.overpaid,
                            received_on=p.received_on,
                            channel=p.channel,
                            recorded_by=_someone(p.recorded_by, withheld),
                            at=p.at,
                            request_id=p.request_id,
                        )
                        for p in (receivable.payments.values() if receivable else ())
                    ],
                    refunds=[
                        RefundOnFile(
                            refund=r.refund,
                            amount=r.amount,
                            at=r.at,
                            recorded_by=_someone(r.recorded_by, withheld),
                        )
                        for r in (receivable.refunds.values() if receivable else ())
                    ],
                )
            )
        return fees

    def _receivable(self, tenant: str, kassenzeichen: str) -> Receivable | None:
        try:
            found: Aggregate = self.store.repository.get(receivable_id(tenant, kassenzeichen))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Receivable) else None

    def _messages(self, case: Case, events: Sequence[Any], withheld: frozenset[str]) -> Messages:
        requests: list[InformationRequestOnFile] = []
        for event in events:
            if isinstance(event, Case.InformationRequested):
                request = event.request
                requests.append(
                    InformationRequestOnFile(
                        version=event.originator_version,
                        requested_at=request.requested_at,
                        requested_by=_someone(request.requested_by, withheld),
                        questions=[_text(q, withheld) or "" for q in request.questions],
                        reply_by=request.reply_by,
                        missing_documents=request.missing_documents,
                        answered_at=None,
                        answered_by=None,
                        answer=None,
                    )
                )
            elif isinstance(event, Case.InformationProvided) and requests:
                last = requests[-1]
                if last.answered_at is None:
                    requests[-1] = InformationRequestOnFile(
                        version=last.version,
                        requested_at=last.requested_at,
                        requested_by=last.requested_by,
                        questions=last.questions,
                        reply_by=last.reply_by,
                        missing_documents=last.missing_documents,
                        answered_at=event.at,
                        answered_by=actor_on_file(event.actor, withheld),
                        answer=_text(event.answer, withheld),
                    )
        letters = [
            LetterOnFile(
                number=d.number,
                kind=str(plain(d.kind)),
                title=d.title,
                issued_at=d.issued_at,
                issued_by=_someone(d.issued_by, withheld),
                automatic=d.automatic,
                addressee=d.addressee,
                sha256=d.sha256,
                cash_reference=d.cash_reference,
                dispatches=[
                    DispatchOnFile(
                        channel=str(plain(s.channel)),
                        sent_on=s.sent_on,
                        reference=s.reference,
                        outcome=None if s.outcome is None else str(plain(s.outcome)),
                        outcome_on=s.outcome_on,
                        failure=_text(s.failure, withheld),
                    )
                    for s in d.dispatches
                ],
            )
            for d in case.issued_documents
        ]
        return Messages(information_requests=requests, letters=letters)

    def _proof(self, case_id: UUID) -> IntegrityProof:
        if self.proofs is None:
            return IntegrityProof(available=False, records=[], checkpoint=None)
        return proof_on_file(self.proofs.proof_of(case_id))


def proof_on_file(proof: CaseProof) -> IntegrityProof:
    """A case's proof as the file carries it: bytes as base64, links as hex."""
    checkpoint = proof.checkpoint
    return IntegrityProof(
        available=True,
        records=[
            ProofRecord(
                position=r.record.position,
                topic=r.record.topic,
                originator_id=r.record.originator_id,
                originator_version=r.record.originator_version,
                state=base64.b64encode(r.record.state).decode("ascii"),
                previous_link=r.previous_link.hex(),
                link=r.link.hex(),
            )
            for r in proof.records
        ],
        checkpoint=None
        if checkpoint is None
        else ProofCheckpoint(
            chain=checkpoint.chain,
            position=checkpoint.position,
            link=checkpoint.link.hex(),
            signed_at=checkpoint.signed_at,
            key_id=checkpoint.key_id,
            signature=base64.b64encode(checkpoint.signature).decode("ascii"),
        ),
    )


def _someone(actor: ActorRecord, withheld: frozenset[str]) -> ActorOnFile:
    found = actor_on_file(actor, withheld)
    if found is None:  # every record names its actor; an unexpected shape still shows
        return ActorOnFile("?", ERASED_TEXT, "?", "?", None)
    return found


class NoPrinter(RuntimeError):
    """This process was built without a printer of case files."""

    def __init__(self) -> None:
        super().__init__("no case file printer is wired")
