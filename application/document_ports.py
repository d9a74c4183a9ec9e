"""What issuing and delivering documents needs from outside: the ports the deployment fills.

The application owns these Protocols (docs/architecture.md, decision 18); infrastructure/
documents implements them: WeasyPrint renders, pyHanko seals, a local directory (or an
S3-compatible bucket) keeps the encrypted files, the postbox and the print service deliver.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from uuid import UUID

from application.letters import Letter
from domain.documents import Outcome


class DocumentErased(LookupError):
    """The document's key was destroyed (crypto-shredding): it can never be read again."""


class DocumentMissing(LookupError):
    """No stored file answers to the document the case recorded (or its hash differs)."""


class ChannelRefused(ValueError):
    """A channel would not take the document (no postbox for the account, no address)."""


class ChannelUnavailable(RuntimeError):
    """A channel cannot be reached now: try again later (answered 503)."""


class LetterRenderer(Protocol):
    """Renders a letter as PDF/A with the town's templates."""

    @property
    def template_version(self) -> str:
        """The template set and its version, recorded with each document (``vorgang-2026-12``)."""

    def render(self, letter: Letter) -> bytes:
        """The letter as PDF/A bytes, fonts embedded."""


class Seal(Protocol):
    """Seals a PDF (PAdES): an advanced electronic seal of the deployment, or a qualified one."""

    @property
    def description(self) -> str:
        """What the seal is, as recorded with each document (subject, kind, fingerprint)."""

    def seal(self, pdf: bytes, *, reason: str, location: str) -> bytes:
        """The PDF with the seal applied (an incremental update: the content is unchanged)."""


class DocumentVault(Protocol):
    """Keeps documents encrypted under the keys of the data subjects whose data they carry."""

    def put(
        self, case_id: UUID, number: int, sha256: str, pdf: bytes, subjects: Collection[str]
    ) -> None:
        """Encrypt and store; the same (case, number, sha256) again overwrites nothing else."""

    def get(self, case_id: UUID, number: int, sha256: str) -> bytes:
        """The plain PDF; ``DocumentErased`` once a subject's key is gone, else
        ``DocumentMissing`` when no file (with that hash) is stored."""


@dataclass(frozen=True, slots=True)
class PostalAddress:
    """Where a letter goes: the addressee's name and address lines."""

    name: str
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """What a channel reported of one sending: its reference, the outcome and the day."""

    reference: str
    outcome: Outcome
    on: date
    failure: str | None = None  # why it failed, in the channel's words


class Postbox(Protocol):
    """The electronic postbox of BundID / Mein Unternehmenskonto."""

    def send(self, *, key: str, account: str, subject: str, pdf: bytes, on: date) -> str:
        """Deliver into the account's postbox; the message id. The same ``key`` again returns
        the same id without a second message. ``ChannelRefused`` if the account has none."""

    def status(self, references: Iterable[str]) -> list[Report]:
        """What became of these messages since they were sent (accepted, retrieved, failed);
        a message with nothing new to report is left out."""


class PrintService(Protocol):
    """The town's print service: letters go out in batches, posting days come back."""

    def enqueue(
        self, *, key: str, tenant: str, address: PostalAddress, pdf: bytes, on: date
    ) -> str:
        """Add the letter to the open batch; its reference (batch and item). The same ``key``
        again returns the same reference without a second letter."""

    def reports(self) -> list[Report]:
        """Posting days (``posted``) and returns (``failed``) reported and not yet acknowledged."""

    def acknowledge(self, reports: Iterable[Report]) -> None:
        """These reports were recorded in their cases: ``reports`` no longer returns them."""
