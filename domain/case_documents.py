"""The letters a case issues and their delivery: commands and events of every case.

``Case`` inherits these. Issuing records a document already rendered, sealed and stored (its
hash, template and seal); sending and each outcome a channel reports are events of their
own. Where the outcome completes the delivery of a decision (or of a service's own
assessment), the Bekanntgabe follows in the same save, by the notification rules, recorded
by the system: the day is the law's, not a clerk's choice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor, ActorRecord, Role
from domain.documents import (
    COMPLETES,
    Channel,
    Dispatch,
    DocumentKind,
    IssuedDocument,
    Outcome,
    cash_reference,
)
from domain.errors import InvalidCommand
from domain.lifecycle import CaseStatus
from domain.objection import ObjectionState
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.tenants import tenant as tenant_named
from domain.timers import scheduler_actor
from domain.working_days import berlin_date

if TYPE_CHECKING:
    from domain.decision import Decision
    from domain.deemed_approval import DeemedApprovalCertificate
    from domain.objection import Objection

DOCUMENT_SEQUENCE_BASE = 50  # Kassenzeichen of costs set out by a document, not a charge
ISSUERS: frozenset[Role] = frozenset({Role.CLERK, Role.SUPERVISOR, Role.SYSTEM})
# A postbox address (BundID, Mein Unternehmenskonto) is the account the application came from.
POSTBOX_ACCOUNT_PREFIX = "portal:"


class CaseDocuments(Aggregate):
    """Documents issued by a case and their deliveries (mixed into ``Case``)."""

    # Which command of the case records the Bekanntgabe a completed delivery stands for.
    NOTIFIED_BY: ClassVar[dict[DocumentKind, str]] = {DocumentKind.DECISION: "notify"}

    if TYPE_CHECKING:  # state and commands of ``Case`` these methods use
        id: Any
        tenant: str
        reference: str
        status: str
        channel: str
        submitted_by: str
        applicant: dict[str, PersonalValue]
        decision: Decision | None
        decisions: list[Decision]
        erased_subjects: list[str]
        objections: list[Objection]
        certificates: list[DeemedApprovalCertificate]
        open_request: Any
        last_activity_at: datetime

        def check_actor(self, actor: Actor, at: datetime) -> None: ...
        def charges_in_force(self, number: int) -> tuple[Any, ...]: ...
        def allowed_commands(self) -> frozenset[str]: ...

    # ------------------------------------------------------------------ queries

    @property
    def issued_documents(self) -> tuple[IssuedDocument, ...]:
        """The documents issued, in order (state kept by the events below)."""
        documents: tuple[IssuedDocument, ...] = self.__dict__.get("_documents", ())
        return documents

    def document(self, number: int) -> IssuedDocument:
        """The document with this number, or ``InvalidCommand`` naming ``number``."""
        if 1 <= number <= len(self.issued_documents):
            return self.issued_documents[number - 1]
        raise InvalidCommand("number", f"the case has {len(self.issued_documents)} document(s)")

    def next_document_number(self) -> int:
        """The number the next document issued gets."""
        return len(self.issued_documents) + 1

    def document_refers_to(self, kind: DocumentKind) -> int | None:
        """The record the document sets out (its number), or ``InvalidCommand`` if none exists.

        A decision: the one in force (not while payment is awaited before issue); a
        Widerspruchsbescheid: the latest objection decided; a certificate: the latest issued;
        an information request: the one open; a charge assessment: the service's own.
        """
        if kind is DocumentKind.DECISION:
            if self.decision is None:
                raise InvalidCommand("kind", "the case has no decision in force to issue")
            if self.status == CaseStatus.AWAITING_PAYMENT:
                raise InvalidCommand("kind", "the decision is issued once the fee is paid")
            return len(self.decisions)
        if kind is DocumentKind.OBJECTION_DECISION:
            decided = [o for o in self.objections if o.state is ObjectionState.DECIDED]
            if not decided:
                raise InvalidCommand("kind", "no objection of the case has been decided")
            return self.objections.index(decided[-1]) + 1
        if kind is DocumentKind.DEEMED_APPROVAL_CERTIFICATE:
            if not self.certificates:
                raise InvalidCommand("kind", "no certificate of a deemed approval was issued")
            return self.certificates[-1].number
        if kind is DocumentKind.INFORMATION_REQUEST:
            if self.open_request is None:
                raise InvalidCommand("kind", "no information request is open")
            return None
        return self.charge_assessment_number()

    def check_issue(self, kind: DocumentKind) -> int | None:
        """A document of this kind can be issued now: the record it refers to (its number).

        Refused naming ``kind`` without a record, and naming ``addressee`` once the addressee's
        personal data was erased: a letter to ``[gelöscht]`` reaches nobody.
        """
        refers_to = self.document_refers_to(kind)
        self.check_addressee_kept(self.addressee_of(kind), "addressee")
        return refers_to

    def check_addressee_kept(self, addressee: str, field: str) -> None:
        """The addressee's personal data (name, address) is still there, else refused."""
        if addressee in self.erased_subjects:
            raise InvalidCommand(
                field, f"the personal data of the addressee ({addressee}) was erased"
            )

    def charge_assessment_number(self) -> int:
        """Extension point: a service that assesses charges says which (else refused)."""
        raise InvalidCommand("kind", "this service assesses no charges")

    def addressee_of(self, kind: DocumentKind) -> str:
        """Extension point: the data subject a document of this kind is addressed to."""
        return Subjects.APPLICANT

    def costs_assessed_by(self, kind: DocumentKind) -> bool:
        """Whether a document of this kind assesses costs (and so carries a Kassenzeichen)."""
        if kind is DocumentKind.DECISION:
            costs = self.decision.costs if self.decision is not None else None
            return costs is not None and costs.amount > 0
        if kind is DocumentKind.OBJECTION_DECISION:
            decided = [o.decision for o in self.objections if o.decision is not None]
            fee = decided[-1].costs.fee if decided else None
            return fee is not None and fee > 0
        return kind is DocumentKind.CHARGE_ASSESSMENT

    def cash_reference_for(self, kind: DocumentKind, number: int) -> str | None:
        """The Kassenzeichen the document assigns, where it assesses costs.

        A decision's is the Kassenzeichen its fee was charged under (the receivable's); a
        decision recorded before charges existed, and the other kinds, take 50 plus the
        document's number in its place (documents issued before kept the number itself).
        """
        if not self.costs_assessed_by(kind):
            return None
        if kind is DocumentKind.DECISION:
            charged = self.charges_in_force(len(self.decisions))
            if charged:
                kassenzeichen: str = charged[0].kassenzeichen
                return kassenzeichen
        _prefix, year, case_number = self.reference.split("-")
        official_key = tenant_named(self.tenant).official_key
        # Charges are numbered 01-49 (``CaseCharges``); costs a document assesses without a
        # charge of their own take 50 + the document's number, so the two never meet.
        sequence = DOCUMENT_SEQUENCE_BASE + (number - 1) % 49 + 1
        return cash_reference(official_key, int(year), int(case_number), sequence)

    def postbox_account(self) -> str | None:
        """The postbox of the applicant's account (an online application), else None."""
        if self.channel != "online" or not self.submitted_by.startswith(POSTBOX_ACCOUNT_PREFIX):
            return None
        return self.submitted_by

    def check_channel(self, document: IssuedDocument, channel: Channel) -> None:
        """The document can go this way: the postbox and the portal reach the applicant only."""
        self.check_addressee_kept(document.addressee, "channel")
        to_applicant = document.addressee == Subjects.APPLICANT
        if channel in (Channel.POSTBOX, Channel.PORTAL) and not to_applicant:
            raise InvalidCommand(
                "channel", f"the addressee ({document.addressee}) has no account: send a letter"
            )
        if channel is Channel.POSTBOX and self.postbox_account() is None:
            raise InvalidCommand(
                "channel", "the application did not come from an account with a postbox"
            )
        latest = document.latest
        if latest is not None and latest.open:
            raise InvalidCommand(
                "channel",
                f"the {latest.channel.value} delivery of {latest.sent_on} awaits its outcome",
            )

    def check_send(
        self, *, actor: Actor, at: datetime, number: int, channel: Channel
    ) -> ActorRecord:
        """The actor may send this document this way now: checked before a channel is given it
        (a letter handed to the print service cannot be called back when the save refuses)."""
        record = self._document_actor(actor, at)
        self.check_channel(self.document(number), channel)
        return record

    # ------------------------------------------------------------------ commands

    def issue_document(
        self,
        *,
        actor: Actor,
        at: datetime,
        kind: DocumentKind,
        sha256: str,
        size: int,
        template: str,
        seal: str,
        subjects: tuple[str, ...],
        cash_reference: str | None = None,
    ) -> int:
        """Record a document rendered, sealed and stored; returns its number.

        Issued by the system, it is valid without a signature (§ 37 (5) HVwVfG); issued by
        a clerk, it names them.
        """
        record = self._document_actor(actor, at)
        refers_to = self.check_issue(kind)
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidCommand("sha256", "must be the 64 hex digits of a SHA-256")
        if size <= 0:
            raise InvalidCommand("size", "must be positive")
        number = self.next_document_number()
        if cash_reference != self.cash_reference_for(kind, number):
            raise InvalidCommand("cash_reference", "must be the one the case assigns")
        document = IssuedDocument(
            number=number,
            kind=kind,
            title=kind.heading,
            sha256=sha256,
            size=size,
            template=template,
            seal=seal,
            automatic=actor.role is Role.SYSTEM,
            subjects=tuple(sorted(set(subjects))),
            addressee=self.addressee_of(kind),
            issued_by=record,
            issued_at=at,
            refers_to=refers_to,
            cash_reference=cash_reference,
        )
        self._document_issued(actor=record, at=at, document=document)
        return number

    class DocumentIssued(Aggregate.Event):
        """A letter was issued: its kind, hash, template, seal and what it refers to."""

        actor: ActorRecord
        at: datetime
        document: IssuedDocument

    @event(DocumentIssued)
    def _document_issued(
        self, *, actor: ActorRecord, at: datetime, document: IssuedDocument
    ) -> None:
        self._documents = (*self.issued_documents, document)
        self.last_activity_at = at

    def send_document(
        self, *, actor: Actor, at: datetime, number: int, channel: Channel, reference: str
    ) -> None:
        """Record that the document went out by this channel (the channel's reference)."""
        record = self.check_send(actor=actor, at=at, number=number, channel=channel)
        if not reference.strip():
            raise InvalidCommand("reference", "must name the channel's reference")
        dispatch = Dispatch(channel=channel, sent_on=berlin_date(at), reference=reference.strip())
        self._document_sent(actor=record, at=at, number=number, dispatch=dispatch)
        if channel is Channel.COUNTER:
            self.report_delivery(
                actor=actor, at=at, number=number, outcome=Outcome.HANDED_OVER, on=berlin_date(at)
            )

    class DocumentSent(Aggregate.Event):
        """The document went out: channel, day, and the channel's reference."""

        actor: ActorRecord
        at: datetime
        number: int
        dispatch: Dispatch

    @event(DocumentSent)
    def _document_sent(
        self, *, actor: ActorRecord, at: datetime, number: int, dispatch: Dispatch
    ) -> None:
        documents = list(self.issued_documents)
        documents[number - 1] = documents[number - 1].sent(dispatch)
        self._documents = tuple(documents)
        self.last_activity_at = at

    def report_delivery(
        self,
        *,
        actor: Actor,
        at: datetime,
        number: int,
        outcome: Outcome,
        on: date,
        failure: str | None = None,
    ) -> None:
        """Record what the channel reported; a completed delivery sets the Bekanntgabe.

        The applicant retrieving the document in the portal reports it themselves; the
        postbox and the print service report through the system; staff may record what a
        channel reported outside Vorgang.
        """
        if actor.role is Role.APPLICANT:
            self.check_actor(actor, at)
            record = actor.recorded_in(self.id)
        else:
            # What became of a sending is a fact, recorded after a withdrawal too: a letter
            # posted before the print service learnt of it was posted (and notifies nothing).
            record = self._staff_record(actor, at)
        document = self.document(number)
        latest = document.latest
        if latest is None:
            raise InvalidCommand("number", "the document has not been sent")
        latest.check_outcome(outcome, on)
        if on > berlin_date(at):
            raise InvalidCommand("on", "must not lie in the future")
        if actor.role is Role.APPLICANT and (
            latest.channel is not Channel.PORTAL or outcome is not Outcome.RETRIEVED
        ):
            raise InvalidCommand("outcome", "an applicant only retrieves from the portal")
        reason: PersonalValue | None = None
        if outcome is Outcome.FAILED:
            if not failure or not failure.strip():
                raise InvalidCommand("failure", "say why the delivery failed")
            reason = PersonalData(self.id, Subjects.CASE_TEXT, failure.strip()[:500])
        self._delivery_reported(
            actor=record, at=at, number=number, outcome=outcome, on=on, failure=reason
        )
        completes, delivery = COMPLETES[latest.channel]
        command = self.NOTIFIED_BY.get(document.kind)
        if outcome != completes or command is None or not self._in_force(document):
            return
        if command not in self.allowed_commands():
            return  # notified otherwise already (recorded by hand, an earlier copy)
        received = on if latest.channel in (Channel.POSTBOX, Channel.PORTAL) else None
        sent = on if latest.channel in (Channel.LETTER, Channel.COUNTER) else latest.sent_on
        try:
            getattr(self, command)(
                actor=scheduler_actor(self.tenant),
                at=at,
                delivery=delivery,
                sent_on=sent,
                received_on=received,
            )
        except InvalidCommand:
            # A command the status still allows may refuse by its own record (a charge
            # assessment notified by hand, or by an earlier copy). It refuses before recording
            # anything: the outcome stands, and so does the first Bekanntgabe.
            return

    class DeliveryReported(Aggregate.Event):
        """A channel reported the outcome of a sending (posted, retrieved, failed ...)."""

        actor: ActorRecord
        at: datetime
        number: int
        outcome: Outcome
        on: date
        failure: PersonalValue | None

    @event(DeliveryReported)
    def _delivery_reported(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        number: int,
        outcome: Outcome,
        on: date,
        failure: PersonalValue | None,
    ) -> None:
        documents = list(self.issued_documents)
        documents[number - 1] = documents[number - 1].reported(Outcome(outcome), on, failure)
        self._documents = tuple(documents)
        self.last_activity_at = at

    # ------------------------------------------------------------------ helpers

    def _in_force(self, document: IssuedDocument) -> bool:
        """The document sets out the record now in force (not one since replaced)."""
        if document.kind is DocumentKind.DECISION:
            return document.refers_to == len(self.decisions)
        return True

    def _document_actor(self, actor: Actor, at: datetime) -> ActorRecord:
        """Staff of the town (or the system) issue and send documents, at any step."""
        record = self._staff_record(actor, at)
        if self.status == CaseStatus.WITHDRAWN:
            raise InvalidCommand("status", "the application was withdrawn")
        return record

    def _staff_record(self, actor: Actor, at: datetime) -> ActorRecord:
        """Staff of the town (or the system), as recorded in the case."""
        self.check_actor(actor, at)
        if actor.role not in ISSUERS:
            raise InvalidCommand("actor", "documents are issued and sent by staff")
        return actor.recorded_in(self.id)
