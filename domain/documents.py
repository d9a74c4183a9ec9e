"""Documents a case issues (the Bescheid as a letter) and how each was delivered.

A decision, a Widerspruchsbescheid, a § 42a certificate, an information request or a charge
assessment is a record in the case; the addressee and a court see a letter. The letter is
rendered, sealed and stored outside the event log; the event that issued it records its
SHA-256, so anyone holding the file can check it is the one the case issued.

Delivery and its outcome are events too, and the Bekanntgabe of a decision follows from them
by the rules of ``domain/rules/notification.py``: a letter from the day the print service
posted it, a message in the electronic postbox (BundID, Mein Unternehmenskonto) and a
document in the portal from the day after it was retrieved (§ 41 (2a) VwVfG), a letter
handed over at the counter that day.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from domain.actor import ActorRecord
from domain.errors import InvalidCommand
from domain.personal_data import PersonalValue
from domain.rules.notification import Delivery

MEDIA_TYPE: Final = "application/pdf"


class DocumentKind(StrEnum):
    """The kinds of letter a case issues."""

    DECISION = "decision"  # Bescheid
    OBJECTION_DECISION = "objection_decision"  # Widerspruchsbescheid (§ 73 (3) VwGO)
    DEEMED_APPROVAL_CERTIFICATE = "deemed_approval_certificate"  # § 42a (3) HVwVfG
    INFORMATION_REQUEST = "information_request"  # Nachforderung (§ 24, § 26 HVwVfG)
    CHARGE_ASSESSMENT = "charge_assessment"  # Kostenersatzbescheid (sewer connection)

    @property
    def heading(self) -> str:
        """The letter's heading."""
        return _TITLES[self]


_TITLES: Final = {
    DocumentKind.DECISION: "Bescheid",
    DocumentKind.OBJECTION_DECISION: "Widerspruchsbescheid",
    DocumentKind.DEEMED_APPROVAL_CERTIFICATE: "Bescheinigung über den Eintritt der "
    "Genehmigungsfiktion",
    DocumentKind.INFORMATION_REQUEST: "Anforderung fehlender Angaben und Unterlagen",
    DocumentKind.CHARGE_ASSESSMENT: "Kostenersatzbescheid",
}


class Channel(StrEnum):
    """How a document is sent to its addressee."""

    POSTBOX = "postbox"  # the electronic postbox of BundID / Mein Unternehmenskonto
    LETTER = "letter"  # printed and posted by the town's print service
    PORTAL = "portal"  # provided for download in the portal
    COUNTER = "counter"  # handed over in person


class Outcome(StrEnum):
    """What a channel reports of a document sent through it."""

    ACCEPTED = "accepted"  # the postbox took the message; not yet retrieved
    POSTED = "posted"  # the print service handed the letter to the post (that day)
    RETRIEVED = "retrieved"  # opened in the postbox, downloaded in the portal
    HANDED_OVER = "handed_over"  # at the counter
    FAILED = "failed"  # not deliverable this way (no postbox, not retrieved in time, returned)


# Which outcome completes a delivery by each channel, and the Bekanntgabe it stands for.
COMPLETES: Final = {
    Channel.POSTBOX: (Outcome.RETRIEVED, Delivery.POSTBOX),
    Channel.LETTER: (Outcome.POSTED, Delivery.LETTER),
    Channel.PORTAL: (Outcome.RETRIEVED, Delivery.PORTAL),
    Channel.COUNTER: (Outcome.HANDED_OVER, Delivery.COUNTER),
}
_POSSIBLE: Final = {
    Channel.POSTBOX: {Outcome.ACCEPTED, Outcome.RETRIEVED, Outcome.FAILED},
    Channel.LETTER: {Outcome.POSTED, Outcome.FAILED},
    Channel.PORTAL: {Outcome.RETRIEVED},
    Channel.COUNTER: {Outcome.HANDED_OVER},
}


@dataclass(frozen=True, slots=True)
class Dispatch:
    """One sending of a document: channel, day, the channel's reference, and what came of it."""

    channel: Channel
    sent_on: date
    reference: str  # the postbox's message id, the print batch and item, the portal's link
    outcome: Outcome | None = None
    outcome_on: date | None = None
    failure: PersonalValue | None = None  # why it failed, as the channel reported it

    @property
    def completed(self) -> bool:
        """The channel reported the outcome that completes delivery."""
        return self.outcome == COMPLETES[self.channel][0]

    @property
    def open(self) -> bool:
        """Neither completed nor failed: an outcome is still to come."""
        return self.outcome not in (COMPLETES[self.channel][0], Outcome.FAILED)

    def check_outcome(self, outcome: Outcome, on: date) -> None:
        """The channel can report this outcome, on this day, now."""
        if outcome not in _POSSIBLE[self.channel]:
            raise InvalidCommand(
                "outcome",
                f"a {self.channel.value} delivery reports "
                + ", ".join(sorted(o.value for o in _POSSIBLE[self.channel])),
            )
        if not self.open:
            raise InvalidCommand(
                "outcome", f"this {self.channel.value} delivery was already {self.outcome}"
            )
        if on < self.sent_on:
            raise InvalidCommand("on", f"must not lie before it was sent ({self.sent_on})")
        if self.outcome_on is not None and on < self.outcome_on:
            raise InvalidCommand("on", f"must not lie before the last report ({self.outcome_on})")

    def reported(self, outcome: Outcome, on: date, failure: PersonalValue | None) -> Dispatch:
        """The dispatch with this outcome."""
        return replace(self, outcome=outcome, outcome_on=on, failure=failure)


@dataclass(frozen=True, slots=True)
class IssuedDocument:
    """A letter the case issued: what it is, its hash, how it was made, and its deliveries."""

    number: int  # 1 for the first document of the case
    kind: DocumentKind
    title: str
    sha256: str  # hex digest of the sealed PDF as stored and served
    size: int  # bytes
    template: str  # the template set and version that rendered it
    seal: str  # the seal it carries (the certificate's subject and fingerprint)
    automatic: bool  # issued without a clerk's signature (§ 37 (5) HVwVfG)
    subjects: tuple[str, ...]  # the data subjects whose personal data the letter shows
    addressee: str  # the data subject it is addressed to (applicant, debtor)
    issued_by: ActorRecord
    issued_at: datetime
    refers_to: int | None = None  # the decision's, objection's or certificate's number
    cash_reference: str | None = None  # Kassenzeichen of the costs it assesses
    media_type: str = MEDIA_TYPE
    dispatches: tuple[Dispatch, ...] = ()

    @property
    def latest(self) -> Dispatch | None:
        """The latest sending, if any."""
        return self.dispatches[-1] if self.dispatches else None

    @property
    def delivered(self) -> bool:
        """Some sending completed."""
        return any(d.completed for d in self.dispatches)

    def sent(self, dispatch: Dispatch) -> IssuedDocument:
        """The document with one more sending."""
        return replace(self, dispatches=(*self.dispatches, dispatch))

    def reported(self, outcome: Outcome, on: date, failure: PersonalValue | None) -> IssuedDocument:
        """The document with its latest sending's outcome."""
        latest = self.dispatches[-1].reported(outcome, on, failure)
        return replace(self, dispatches=(*self.dispatches[:-1], latest))


def cash_reference(official_key: str, year: int, case_number: int, document: int) -> str:
    """The Kassenzeichen of costs assessed by a document: digits the town's cash office reads.

    The municipality's key (last three digits of the AGS), the year, the case's number and the
    document's, and a check digit (Luhn), e.g. ``011-26-000012-03-7``: typed by a payer in a
    transfer, a mistyped digit is caught at the cash office.
    """
    digits = f"{official_key[-3:]}{year % 100:02d}{case_number:06d}{document:02d}"
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:11]}-{digits[11:]}-{luhn_digit(digits)}"


def luhn_digit(digits: str) -> int:
    """The Luhn check digit of a string of digits."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10
