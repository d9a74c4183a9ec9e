"""The integration feed: public events as CloudEvents, a contract rather than a dump.

Domain events map to versioned public types (``de.vorgang.case.decided.v1``); internal ones
(claims, notes, drafts, erasures) are not published. A row keeps the event's public data
without personal data; the applicant's fields are kept once per case, sealed, and opened
only for a caller granted personal data (an erasure destroys the key, so they are gone).
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Final

from domain.case import Case
from domain.lifecycle import CaseStatus
from domain.services.catalogue import SERVICES
from projections.case_event_log import CaseEventLog
from projections.case_events import status_after
from projections.inbox import utc_text
from projections.projection import Applied
from projections.sealed import view_json
from projections.view_store import ViewTransaction

SHARED_TYPES: Final = {
    "Submitted": ("submitted", "An application arrived."),
    "CompletenessConfirmed": (
        "completeness_confirmed",
        "The application is complete; the processing period runs.",
    ),
    "InformationRequested": (
        "information_requested",
        "The applicant was asked for information or documents.",
    ),
    "InformationProvided": ("information_provided", "The applicant answered."),
    "Decided": (
        "decided",
        "A decision took effect (after a countersignature where one is required).",
    ),
    "Countersigned": ("decided", ""),  # the countersignature is when a draft takes effect
    "PaymentRecorded": ("fee_paid", "The fee was paid."),
    "Notified": ("notified", "The decision was notified (Bekanntgabe); the objection period runs."),
    "ObjectionLodged": ("objection_lodged", "An objection (Widerspruch) was received."),
    "ObjectionRemedied": (
        "objection_remedied",
        "The objection was remedied; the case is reviewed again.",
    ),
    "ObjectionForwarded": ("objection_forwarded", "The objection went to the objection authority."),
    "BecameFinal": ("final", "The objection period ended; the decision is final."),
    "Withdrawn": ("withdrawn", "The applicant withdrew the application."),
    "Closed": ("closed", "The file was closed."),
}


def _published() -> dict[str, tuple[str, str]]:
    found = dict(SHARED_TYPES)
    for definition in SERVICES.values():
        found |= definition.case_class.PUBLIC_EVENTS
    return found


PUBLIC_TYPES: Final = {event: public for event, (public, _) in _published().items()}
DESCRIPTIONS: Final = {public: meaning for public, meaning in _published().values() if meaning}
TYPE_PREFIX: Final = "de.vorgang.case."
TYPE_VERSION: Final = "v1"
ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://vorgang.example/feed")
ROW_COLUMNS = ("sequence", "id", "type", "tenant", "service", "case_id", "time", "data")
CASE_COLUMNS = ("case_id", "reference", "tenant", "service", "status", "applicant")


def _published_classes() -> dict[type[Any], str]:
    """The published event classes (the shared lifecycle's and each service's) → public name."""
    found: dict[type[Any], str] = {
        getattr(Case, name): public for name, (public, _) in SHARED_TYPES.items()
    }
    for definition in SERVICES.values():
        for name, (public, _) in definition.case_class.PUBLIC_EVENTS.items():
            found[getattr(definition.case_class, name)] = public
    return found


PUBLISHED_CLASSES: Final = _published_classes()


def published_as(event: object) -> str | None:
    """The public name of the event's class (or of a class it derives from), if published."""
    for klass in type(event).__mro__:
        if klass in PUBLISHED_CLASSES:
            return PUBLISHED_CLASSES[klass]
    return None


class Feed(CaseEventLog):
    """Published case events in log order (internal ones are read to keep the status)."""

    name: ClassVar[str] = "feed"
    version: ClassVar[int] = 2  # 2: the applicant's sealed fields per case
    row_columns = ROW_COLUMNS
    case_columns = CASE_COLUMNS

    def create_tables(self, tx: ViewTransaction) -> None:
        """Events by sequence, indexed for the filters; the per-case state."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (sequence BIGINT PRIMARY KEY, "
            "id TEXT NOT NULL, type TEXT NOT NULL, tenant TEXT NOT NULL, service TEXT NOT NULL, "
            "case_id TEXT NOT NULL, time TEXT NOT NULL, data TEXT NOT NULL)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_tenant ON {self.table} (tenant, sequence)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.cases_table} (case_id TEXT PRIMARY KEY, "
            "reference TEXT NOT NULL, tenant TEXT NOT NULL, service TEXT NOT NULL, "
            "status TEXT NOT NULL, applicant TEXT)"
        )

    def _row(self, cases: dict[str, dict[str, Any]], applied: Applied) -> tuple[Any, ...] | None:
        event: Any = applied.event
        case_id = str(event.originator_id)
        if isinstance(event, Case.Submitted):
            cases[case_id] = {
                "case_id": case_id,
                "reference": event.reference,
                "tenant": event.tenant,
                "service": event.service,
                "status": CaseStatus.SUBMITTED,
                "applicant": self._json.to_text(event.applicant),
            }
        case = cases.get(case_id)
        if case is None:
            return None
        case["status"] = status_after(event, case["status"])
        public = published_as(event)
        if public is None:
            return None
        if isinstance(event, Case.Decided) and event.status == CaseStatus.PENDING_COUNTERSIGN:
            return None  # a draft is not public; its countersignature is
        data: dict[str, Any] = {
            "case_id": case_id,
            "reference": case["reference"],
            "service": case["service"],
            "status": case["status"],
            "version": event.originator_version,
            "links": {"case": f"/api/v1/cases/{case_id}"},
        }
        decision = getattr(event, "decision", None)
        if decision is not None:
            data["outcome"] = decision.outcome.value
            data["fee"] = str(decision.fee) if decision.fee is not None else None
        return (
            applied.position,
            str(uuid.uuid5(ID_NAMESPACE, f"{case_id}/{event.originator_version}")),
            f"{TYPE_PREFIX}{public}.{TYPE_VERSION}",
            case["tenant"],
            case["service"],
            case_id,
            utc_text(getattr(event, "at", None) or event.timestamp),  # when it happened
            view_json(data),
        )
