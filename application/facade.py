"""What the API needs of the application, as a port the composition root fills.

Routes depend on this, not on how the process is wired: the case use cases, the one command
pipeline, the decision audit, the documents, erasure, the teams, the water meters, the holiday
programmes, the markets, the webhook subscriptions and the log positions of case versions.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from application.access_log import AccessLog, AccessLogReader
from application.case_file import CaseFiles
from application.cases import CaseService
from application.commands import CommandHandler
from application.console_sessions import SignedOutSessions
from application.decision_audit import DecisionAudit
from application.documents import DocumentService
from application.holiday import HolidayService
from application.markets import MarketService
from application.payments import PaymentService
from application.privacy import PrivacyService
from application.teams import TeamDirectory
from application.water_meters import WaterMeterService
from application.webhooks import SubscriptionService


class DatabaseUnavailable(RuntimeError):
    """The application cannot be built: its database cannot be reached or used.

    The message is one line for an operator; the API answers 503 until a retry succeeds.
    """


class LogPositionsOf(Protocol):
    """The log position of a case's version, for read-your-writes."""

    def of(self, aggregate_id: UUID, version: int) -> int | None:
        """The notification id of that version's event, when known."""


class Facade(Protocol):
    """The application as the routes use it."""

    @property
    def access_log(self) -> AccessLog:
        """Records staff reads (decision 36) before their answer is given."""

    @property
    def access_lines(self) -> AccessLogReader:
        """The access log's lines, for auditors and the data-protection officer."""

    @property
    def cases(self) -> CaseService:
        """Submit, read, history."""

    @property
    def case_files(self) -> CaseFiles:
        """A case's file (Akte): assembled, and printed as HTML or PDF."""

    @property
    def commands(self) -> CommandHandler:
        """Every step of every aggregate type."""

    @property
    def signed_out(self) -> SignedOutSessions:
        """Console sessions signed out before their expiry, shared by every process."""

    @property
    def decision_audit(self) -> DecisionAudit:
        """Decision records, their replay, a case as of a moment."""

    @property
    def documents(self) -> DocumentService:
        """Letters: issue, send, record their delivery, read."""

    @property
    def positions(self) -> LogPositionsOf:
        """Log positions of case versions."""

    @property
    def payments(self) -> PaymentService:
        """Business customers, payment requests, receipts, refunds, reconciliation runs."""

    @property
    def privacy(self) -> PrivacyService:
        """Erasure of personal data."""

    @property
    def holiday(self) -> HolidayService:
        """The towns' holiday programmes: offerings, the draw, registrations, health notes."""

    @property
    def markets(self) -> MarketService:
        """The towns' markets: publication, the selection and its replay, the staff's lists."""

    @property
    def teams(self) -> TeamDirectory:
        """The towns' rosters: who handles which service."""

    @property
    def water_meters(self) -> WaterMeterService:
        """Water meters and reading campaigns: install, exchange, correct, estimate, replay."""

    @property
    def webhooks(self) -> SubscriptionService:
        """Webhook subscriptions: subscribe, status, dead letters and their redelivery."""
