"""Who read what: the access log of staff reads, as the routes and the console need it.

Every read of a case, its history, its decisions, its documents, its file, or a search hit
list by staff is recorded before the answer leaves (docs/architecture.md, decision 36): who,
when, in which role and town, which route, which case or which query and which cases it
found; never the data read. The log lies outside the cases' events (reading never changes a
case's version) and is chained like the log (decision 35), so a line removed or altered is
detected. The port is owned here; infrastructure/access_log.py implements it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from domain.actor import Actor, Role

# Whose reads are not recorded: applicants read their own cases (and only what is meant for
# them), the system reads nothing for people. Every other role is recorded, integrators too
# (a service account reading a case over the API is a reader like staff).
NOT_RECORDED: frozenset[Role] = frozenset({Role.APPLICANT, Role.SYSTEM})

# What was read (the `what` of a line).
CASE = "case"
HISTORY = "history"
DECISIONS = "decisions"
REPLAY = "replay"
DOCUMENTS = "documents"
DOCUMENT = "document"
FILE = "file"
SEARCH = "search"
ACCESS_LOG = "access-log"
CONSOLE_CASE = "console-case"
CONSOLE_SEARCH = "console-search"
# Reads of citizens' personal data outside a case's own routes (decision 36's list).
HEALTH_NOTES = "health-notes"  # Art. 9 DSGVO: the children's health notes of an offering
REGISTRATIONS = "registrations"  # the children registered for a holiday offering
DESK_BOOKINGS = "desk-bookings"  # a day's bookings at an office with the citizens' contacts
REMINDER_CONTACT = "reminder-contact"  # a booking's contact, read by an integrator
GRAVE = "grave"  # the deceased of a grave and its grave-right holders
BUSINESS_CUSTOMER = "business-customer"  # an account and its members
AUDIT_TRAIL = "audit-trail"  # the town's trail of case events (who did what, why)
INBOX = "inbox"  # the work queue's hit list
MARKET_APPLICATIONS = "market-applications"  # a market's applications (traders' names)
SCORE_SHEETS = "score-sheets"  # the points each application was given
WHAT: frozenset[str] = frozenset(
    {
        CASE,
        HISTORY,
        DECISIONS,
        REPLAY,
        DOCUMENTS,
        DOCUMENT,
        FILE,
        SEARCH,
        ACCESS_LOG,
        CONSOLE_CASE,
        CONSOLE_SEARCH,
        HEALTH_NOTES,
        REGISTRATIONS,
        DESK_BOOKINGS,
        REMINDER_CONTACT,
        GRAVE,
        BUSINESS_CUSTOMER,
        AUDIT_TRAIL,
        INBOX,
        MARKET_APPLICATIONS,
        SCORE_SHEETS,
    }
)


def utc_text(at: datetime) -> str:
    """A moment as the log stores it: ISO 8601 in UTC with microseconds (sorts as text)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AccessLogUnavailable(RuntimeError):
    """A line could not be written: the read must not be answered (503)."""


def is_recorded(actor: Actor) -> bool:
    """Whether this person's reads are recorded (by the role they act in)."""
    return actor.role not in NOT_RECORDED


class AccessLog(Protocol):
    """Records one read; raises ``AccessLogUnavailable`` when the line cannot be written."""

    def record_read(
        self,
        actor: Actor,
        *,
        route: str,
        what: str,
        case_id: UUID | None = None,
        query: dict[str, Any] | None = None,
        hits: Sequence[UUID] = (),
    ) -> None:
        """Write the line (chained) before the answer is given; nothing for applicants.

        ``route`` is the route's template (``/api/v1/cases/{case_id}/history``), ``query``
        the search's filters (its free text ``q`` is sealed as personal data: it may name a
        person), ``hits`` the cases a hit list showed.
        """


@dataclass(frozen=True, slots=True)
class AccessLine:
    """One recorded read, as auditors and the data-protection officer see it."""

    position: int
    at: str
    actor_id: str
    role: str
    tenant: str
    on_behalf_of: str | None
    route: str
    what: str
    case_id: str | None
    query: dict[str, Any] | None  # the free text opened ("[gelöscht]" once shredded)
    hits: int | None
    hit_case_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AccessLogFilter:
    """Which lines: a town's, narrowed by case, person, time range and what was read."""

    tenant: str
    case_id: UUID | None = None
    actor_id: str | None = None
    start: str | None = None  # ISO 8601 UTC, inclusive
    end: str | None = None  # ISO 8601 UTC, exclusive
    what: str | None = None


class AccessLogReader(Protocol):
    """The lines of a town, for auditors and the data-protection officer."""

    def lines(self, which: AccessLogFilter, *, after: int | None, limit: int) -> list[AccessLine]:
        """Newest first: lines with a position below ``after`` (None: from the newest)."""
