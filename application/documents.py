"""Use cases of the letters a case issues: issue, send, record what the channel reported, read.

Issuing renders the letter with the town's templates, seals it, stores it encrypted under the
keys of the data subjects it names, and records its SHA-256 in the case; sending hands it to a
channel (the postbox, the print service, the portal, the counter) and records the channel's
reference. The channel's side effect happens before the event that records it, keyed by
(case, document, sending), so a retry after a lost save sends nothing twice. Outcomes come back
from the channels (``record_report``, as the system) or from the applicant downloading the
document in the portal; a failed postbox delivery is followed by a letter.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Recording

from application.cases import load_visible
from application.clock import Clock
from application.document_ports import (
    ChannelRefused,
    DocumentVault,
    LetterRenderer,
    PostalAddress,
    Postbox,
    PrintService,
    Report,
    Seal,
)
from application.errors import ConcurrentUpdate, VersionMismatch
from application.letters import Letter, compose
from application.store import VorgangStore
from application.views import plain
from domain.actor import Actor, Role
from domain.case import Case
from domain.documents import Channel, DocumentKind, IssuedDocument, Outcome
from domain.errors import InvalidCommand
from domain.personal_data import ERASED_TEXT, PersonalValue, Subjects, reveal
from domain.timers import scheduler_actor
from domain.working_days import berlin_date

SAVE_ATTEMPTS: Final = 5
FALLBACK_REASON: Final = "Zustellung in das Postfach gescheitert: Versand als Brief"


@dataclass(frozen=True, slots=True)
class DocumentPorts:
    """What the deployment wires in: renderer, seal, vault and the delivery channels."""

    renderer: LetterRenderer
    seal: Seal
    vault: DocumentVault
    postbox: Postbox
    print_service: PrintService


@dataclass(frozen=True, slots=True)
class DocumentResult:
    """A document after a command: the case's new version, its log position, the document."""

    case_id: UUID
    version: int
    position: int | None
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DocumentFile:
    """A stored document as served: the PDF, its hash and a file name."""

    number: int
    title: str
    sha256: str
    media_type: str
    content: bytes

    @property
    def filename(self) -> str:
        """``Bescheid-USI-2026-000012-1.pdf``-like, ASCII only."""
        stem = self.title.split(" ")[0].replace("ü", "ue").replace("ä", "ae").replace("ö", "oe")
        return f"{stem}-{self.number}.pdf"


class DocumentService:
    """Issues, sends and serves the documents of cases over the wired ports."""

    def __init__(self, store: VorgangStore, clock: Clock, ports: DocumentPorts) -> None:
        self.store = store
        self.clock = clock
        self.ports = ports

    # ------------------------------------------------------------------ commands

    def issue(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        kind: DocumentKind,
        channel: Channel | None = None,
        expected_version: int | None = None,
    ) -> DocumentResult:
        """Render, seal, store and record a document; send it if a channel is given."""
        made: tuple[Letter, bytes] | None = None  # the letter sealed in an attempt whose save lost
        for _attempt in range(SAVE_ATTEMPTS):
            case = self._load(case_id, actor, expected_version)
            at = self.clock.now()
            case.check_actor(actor, at)
            case.check_issue(kind)  # refuse before rendering anything
            number = case.next_document_number()
            cash_reference = case.cash_reference_for(kind, number)
            letter = compose(
                case,
                kind,
                number=number,
                issued_on=berlin_date(at),
                issued_by=actor.recorded_in(case.id),
                automatic=actor.role is Role.SYSTEM,
                cash_reference=cash_reference,
            )
            if made is not None and made[0] == letter:
                # The same letter again: the same sealed file, which a channel may hold already.
                pdf = made[1]
            else:
                pdf = self.ports.seal.seal(
                    self.ports.renderer.render(letter), reason=letter.title, location=letter.town
                )
                made = (letter, pdf)
            sha256 = hashlib.sha256(pdf).hexdigest()
            self.ports.vault.put(case.id, number, sha256, pdf, letter.subjects)
            case.issue_document(
                actor=actor,
                at=at,
                kind=kind,
                sha256=sha256,
                size=len(pdf),
                template=self.ports.renderer.template_version,
                seal=self.ports.seal.description,
                subjects=tuple(sorted(letter.subjects)),
                cash_reference=cash_reference,
            )
            if channel is not None:
                case.check_channel(case.document(number), channel)
                reference = self._hand_over(case, number, channel, pdf)
                case.send_document(
                    actor=actor, at=at, number=number, channel=channel, reference=reference
                )
            try:
                recordings = self.store.save(case)
            except IntegrityError:
                continue
            return self._result(case, number, recordings)
        raise ConcurrentUpdate(case_id)

    def send(
        self,
        case_id: UUID,
        number: int,
        *,
        actor: Actor,
        channel: Channel,
        expected_version: int | None = None,
    ) -> DocumentResult:
        """Send an issued document (again, or another way: a letter after the postbox failed)."""
        return self._change(
            case_id,
            lambda: self._load(case_id, actor, expected_version),
            lambda case, at: self._send(case, number, channel, actor, at),
            number,
        )

    def report(
        self,
        case_id: UUID,
        number: int,
        *,
        actor: Actor,
        outcome: Outcome,
        on: date,
        failure: str | None = None,
        expected_version: int | None = None,
    ) -> DocumentResult:
        """Staff record what a channel reported outside Vorgang (a posting day, a return)."""
        return self._change(
            case_id,
            lambda: self._load(case_id, actor, expected_version),
            lambda case, at: case.report_delivery(
                actor=actor, at=at, number=number, outcome=outcome, on=on, failure=failure
            ),
            number,
        )

    def record_report(self, case_id: UUID, number: int, report: Report) -> None:
        """What a channel reported, recorded by the system; a failed postbox sends a letter
        where the case holds a postal address.

        Refused as ``InvalidCommand`` when the sending's outcome is recorded already (another
        process was first): the caller treats that as done.
        """

        def record(case: Case, at: Any) -> None:
            system = scheduler_actor(case.tenant)
            document = case.document(number)
            latest = document.latest
            if latest is None or latest.reference != report.reference:
                raise InvalidCommand("reference", "not the document's latest sending")
            case.report_delivery(
                actor=system,
                at=at,
                number=number,
                outcome=report.outcome,
                on=report.on,
                failure=report.failure,
            )
            if report.outcome is Outcome.FAILED and latest.channel is Channel.POSTBOX:
                # No letter can follow without a postal address (or once the addressee was
                # erased): the failure is recorded all the same, and the document waits for staff.
                with contextlib.suppress(InvalidCommand):
                    self._send(case, number, Channel.LETTER, system, at)

        self._change(case_id, lambda: self._stored(case_id), record, number)

    # ------------------------------------------------------------------ queries

    def documents(self, case_id: UUID, *, actor: Actor) -> list[dict[str, Any]]:
        """The case's documents the actor may read, newest last (no content)."""
        case = load_visible(self.store, case_id, actor)
        return [describe(d) for d in case.issued_documents if may_read(actor, d)]

    def file(self, case_id: UUID, number: int, *, actor: Actor) -> DocumentFile:
        """The sealed PDF. An applicant downloading one provided in the portal retrieves it:
        recorded, and the day after counts as its Bekanntgabe."""
        case = load_visible(self.store, case_id, actor)
        document = case.document(number)
        if not may_read(actor, document):
            raise InvalidCommand("number", "no such document for you in this case")
        content = self.ports.vault.get(case.id, number, document.sha256)
        latest = document.latest
        if (
            actor.role is Role.APPLICANT
            and latest is not None
            and latest.channel is Channel.PORTAL
            and latest.open
        ):
            self._change(
                case_id,
                lambda: load_visible(self.store, case_id, actor),
                lambda c, at: self._retrieved(c, number, actor, at),
                number,
            )
        return DocumentFile(number, document.title, document.sha256, document.media_type, content)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _retrieved(case: Case, number: int, actor: Actor, at: Any) -> None:
        """The applicant's download retrieves the document, unless another download was first
        (a second one, racing, still gets the file)."""
        latest = case.document(number).latest
        if latest is None or latest.channel is not Channel.PORTAL or not latest.open:
            return
        case.report_delivery(
            actor=actor, at=at, number=number, outcome=Outcome.RETRIEVED, on=berlin_date(at)
        )

    def _send(self, case: Case, number: int, channel: Channel, actor: Actor, at: Any) -> None:
        case.check_send(actor=actor, at=at, number=number, channel=channel)  # before handing over
        document = case.document(number)
        pdf = self.ports.vault.get(case.id, number, document.sha256)
        reference = self._hand_over(case, number, channel, pdf)
        case.send_document(actor=actor, at=at, number=number, channel=channel, reference=reference)

    def _hand_over(self, case: Case, number: int, channel: Channel, pdf: bytes) -> str:
        """Give the PDF to the channel; its reference. Keyed so a retry sends nothing twice."""
        try:
            return self._channel_reference(case, number, channel, pdf)
        except ChannelRefused as refused:
            raise InvalidCommand("channel", str(refused)) from None

    def _channel_reference(self, case: Case, number: int, channel: Channel, pdf: bytes) -> str:
        document = case.document(number)
        # The file's hash in the key: a channel never answers with a file other than this one.
        key = f"{case.id}/{number}/{len(document.dispatches) + 1}/{document.sha256[:16]}"
        today = berlin_date(self.clock.now())
        if channel is Channel.POSTBOX:
            account = case.postbox_account()
            if account is None:  # check_channel refused this already
                raise ChannelRefused("no postbox")
            return self.ports.postbox.send(
                key=key,
                account=account,
                subject=f"{case.document(number).title} {case.reference}",
                pdf=pdf,
                on=today,
            )
        if channel is Channel.LETTER:
            return self.ports.print_service.enqueue(
                key=key,
                tenant=case.tenant,
                address=window_address(case, case.document(number)),
                pdf=pdf,
                on=today,
            )
        # Portal and counter: the document stays with us; the reference names the sending.
        return f"{channel.value}:{key}"

    def _change(
        self,
        case_id: UUID,
        load: Callable[[], Case],
        change: Callable[[Case, Any], None],
        number: int,
    ) -> DocumentResult:
        """Load, change, save; a save lost to another command is done again from a fresh load."""
        for _attempt in range(SAVE_ATTEMPTS):
            case = load()
            change(case, self.clock.now())
            try:
                recordings = self.store.save(case)
            except IntegrityError:
                continue
            return self._result(case, number, recordings)
        raise ConcurrentUpdate(case_id)

    def _load(self, case_id: UUID, actor: Actor, expected_version: int | None) -> Case:
        case = load_visible(self.store, case_id, actor)
        if expected_version is not None and expected_version != case.version:
            raise VersionMismatch(case_id, expected_version, case.version)
        return case

    def _stored(self, case_id: UUID) -> Case:
        case: Case = self.store.repository.get(case_id)
        return case

    @staticmethod
    def _result(case: Case, number: int, recordings: list[Recording[UUID]]) -> DocumentResult:
        position = max((r.notification.id for r in recordings), default=None)
        return DocumentResult(case.id, case.version, position, describe(case.document(number)))


def may_read(actor: Actor, document: IssuedDocument) -> bool:
    """Staff read every document of a case they see; an applicant those sent to them."""
    if actor.role is not Role.APPLICANT:
        return True
    return document.addressee == Subjects.APPLICANT and bool(document.dispatches)


def describe(document: IssuedDocument) -> dict[str, Any]:
    """A document as the API lists it: what, when, hash, how it was sent and what came of it."""
    return {
        "number": document.number,
        "kind": document.kind.value,
        "title": document.title,
        "media_type": document.media_type,
        "sha256": document.sha256,
        "size": document.size,
        "issued_at": document.issued_at,
        "issued_automatically": document.automatic,
        "refers_to": document.refers_to,
        "cash_reference": document.cash_reference,
        "template": document.template,
        "seal": document.seal,
        "addressee": document.addressee,
        "dispatches": [
            {
                "channel": d.channel.value,
                "sent_on": d.sent_on,
                "reference": d.reference,
                "outcome": d.outcome.value if d.outcome is not None else None,
                "outcome_on": d.outcome_on,
                "failure": plain(d.failure) if d.failure is not None else None,
            }
            for d in document.dispatches
        ],
    }


def window_address(case: Case, document: IssuedDocument) -> PostalAddress:
    """The address the letter itself shows in its window (the print service's envelope must
    agree with it): composed again from the record; the case's address where the record is
    gone (an information request answered since)."""
    try:
        letter = compose(
            case,
            document.kind,
            number=document.number,
            issued_on=berlin_date(document.issued_at),
            issued_by=document.issued_by,
            automatic=document.automatic,
            cash_reference=document.cash_reference,
        )
    except InvalidCommand:
        return postal_address(case, document.addressee)
    if (
        not letter.address.name
        or not letter.address.lines
        or ERASED_TEXT
        in (
            letter.address.name,
            *letter.address.lines,
        )
    ):
        raise ChannelRefused(f"the case holds no postal address of the {document.addressee}")
    return PostalAddress(letter.address.name, tuple(letter.address.lines))


def postal_address(case: Case, addressee: str) -> PostalAddress:
    """Where a letter to this data subject goes; refused when the case holds no address."""
    if addressee == Subjects.APPLICANT:
        fields = case.applicant
        if any(value.is_erased for value in fields.values()):
            raise ChannelRefused("the applicant's address was erased")
        name = reveal(fields.get("name")) or ""
        street = " ".join(
            v for v in (reveal(fields.get("street")), reveal(fields.get("house_number"))) if v
        )
        city = " ".join(
            v for v in (reveal(fields.get("postal_code")), reveal(fields.get("city"))) if v
        )
        lines = tuple(line for line in (street, city) if line)
    else:
        name, lines = _other_addressee(case, addressee)
    if not name or not lines:
        raise ChannelRefused(f"the case holds no postal address of the {addressee}")
    return PostalAddress(name, lines)


def _joined(fields: Mapping[str, PersonalValue], *names: str) -> str:
    """Some of the applicant's fields on one line (street and number, code and city)."""
    return " ".join(text for name in names if (text := reveal(fields.get(name))))


def _other_addressee(case: Case, addressee: str) -> tuple[str, tuple[str, ...]]:
    """A charge debtor's name and address as the assessment recorded them."""
    charge = getattr(case, "charge", None)
    if charge is None or charge.debtor is None or charge.debtor_address is None:
        return "", ()
    address = charge.debtor_address.reveal()
    lines = tuple(part.strip() for part in address.replace("\n", ",").split(",") if part.strip())
    return charge.debtor.reveal(), lines
