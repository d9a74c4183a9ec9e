"""The integration feed: public events as CloudEvents, a contract rather than a dump.

Domain events map to versioned public types (``de.vorgang.case.decided.v1``); internal ones
(claims, notes, drafts, hearings, erasures) are not published. A row keeps the event's
public data without personal data; the applicant's fields are kept once per case, sealed,
and opened only for a caller granted personal data (an erasure destroys the key, so they
are gone). Grounds, reasons and costs borne by a person are never published.

The legal track (notification, objection, finality) is published beside the main track:
``status`` is always where the work stands, so an objection lodged while the works run
says ``works_started``; the objection's own events say how it went and ended
(docs/feed.md). Rows once published are history: this view is not rebuilt for a change of
the domain, so a row written before the objection statuses were retired keeps the status
it was published with.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from functools import singledispatch
from typing import Any, ClassVar, Final

from eventsourcing.utils import get_topic

from domain.case import Case
from domain.case_documents import CaseDocuments
from domain.lifecycle import CaseStatus
from domain.services.catalogue import SERVICES
from domain.timer_notice import NoticeSort, TimerNotice
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
    "Notified": (
        "notified",
        "The decision was notified (Bekanntgabe, § 41 HVwVfG) on notified_on, by its delivery; "
        "the objection period runs until objection_deadline.",
    ),
    "RemedyNoticeFoundDefective": (
        "remedy_notice_defective",
        "The remedy notice was missing or wrong: an objection is admissible until "
        "objection_deadline, a year after the notification (§ 58 (2) VwGO).",
    ),
    "ObjectionLodged": (
        "objection_lodged",
        "An objection (Widerspruch) was received, in time or late (timely); the case's status "
        "stays where its work stands.",
    ),
    "ReinstatementGranted": (
        "objection_reinstated",
        "A late objection counts as lodged in time (Wiedereinsetzung, § 70 (2) with § 60 VwGO); "
        "a decision that was final is open again.",
    ),
    "ObjectionRemedied": (
        "objection_remedied",
        "The issuing authority remedied the objection (Abhilfe, § 72 VwGO), in full or in part "
        "(objection_outcome); with new_decision the case is reviewed again.",
    ),
    "ObjectionForwarded": ("objection_forwarded", "The objection went to the objection authority."),
    "ObjectionWithdrawn": ("objection_withdrawn", "The objection was withdrawn."),
    "ObjectionDecided": (
        "objection_decided",
        "The objection authority decided on the objection (Widerspruchsbescheid, § 73 VwGO): "
        "objection_outcome, served on served_on; an action lies until action_deadline; with "
        "new_decision the case is reviewed again.",
    ),
    "BecameFinal": (
        "final",
        "The decision became final (bestandskräftig) on final_on; a case whose service steps "
        "have begun keeps its status.",
    ),
    "DeemedApproved": (
        "deemed_approved",
        "The statutory period ended on period_ended_on without a decision: the approval is "
        "deemed granted from took_effect_on (Genehmigungsfiktion, § 42a HVwVfG; legal_basis).",
    ),
    "ApprovalExpired": (
        "expired",
        "The approval's last day of validity (after extensions or renewals) was valid_until: "
        "it ceased to be effective by lapse of time from expired_on (§ 43 (2) HVwVfG; "
        "legal_basis). The case's status does not move.",
    ),
    "DeemedApprovalCertified": (
        "deemed_approval_certified",
        "The certificate of the deemed approval (§ 42a (3) HVwVfG) was issued (number).",
    ),
    "Withdrawn": ("withdrawn", "The applicant withdrew the application."),
    "Closed": ("closed", "The file was closed."),
    "DocumentIssued": (
        "document_issued",
        "A letter was issued and sealed (number; kind: decision, objection_decision, "
        "deemed_approval_certificate, information_request, charge_assessment; sha256 of the "
        "PDF served at /api/v1/cases/{case_id}/documents/{number}).",
    ),
    "DocumentSent": (
        "document_sent",
        "The letter went out (number; channel: postbox, letter, portal, counter; sent_on).",
    ),
    "DeliveryReported": (
        "delivery_reported",
        "The channel reported what became of a sending (number; outcome: accepted, posted, "
        "retrieved, handed_over, failed; on). A completed delivery of a decision is followed "
        "by its notified event, the Bekanntgabe it sets.",
    ),
}


# Notices the scheduler sent (domain/timer_notice.py): aggregates of their own, never case
# events, published under the case they are for. Keyed by ``TimerNotice.<sort>``.
NOTICE_TYPES: Final = {
    f"TimerNotice.{NoticeSort.REMINDER}": (
        "reminder_sent",
        "The clerk holding the case (or the teams handling the service) was reminded of the "
        "timer due on due_on (timer: its kind). The case's version does not move.",
    ),
    f"TimerNotice.{NoticeSort.ESCALATION}": (
        "escalated",
        "The timer due on due_on (timer: its kind) was missed: the supervisors of the teams "
        "handling the service were told. The case's version does not move.",
    ),
}


def _published() -> dict[str, tuple[str, str]]:
    found = dict(SHARED_TYPES)
    for definition in SERVICES.values():
        found |= definition.case_class.PUBLIC_EVENTS
    return found | NOTICE_TYPES


PUBLIC_TYPES: Final = {event: public for event, (public, _) in _published().items()}
DESCRIPTIONS: Final = {public: meaning for public, meaning in _published().values() if meaning}
TYPE_PREFIX: Final = "de.vorgang.case."
TYPE_VERSION: Final = "v1"
ID_NAMESPACE: Final = uuid.uuid5(uuid.NAMESPACE_URL, "https://vorgang.example/feed")
ROW_COLUMNS = ("sequence", "id", "type", "tenant", "service", "case_id", "time", "data")
CASE_COLUMNS = ("case_id", "reference", "tenant", "service", "status", "applicant")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


@singledispatch
def public_data(event: Any) -> dict[str, Any]:
    """What a published event adds to the shared ``data``: facts of the procedure, never
    personal data (grounds, reasons, names)."""
    return {}


@public_data.register(Case.Decided)
@public_data.register(Case.Countersigned)
def _decision(event: Case.Decided | Case.Countersigned) -> dict[str, Any]:
    decision = event.decision
    return {
        "outcome": decision.outcome.value,
        "fee": str(decision.fee) if decision.fee is not None else None,
    }


@public_data.register(CaseDocuments.DocumentIssued)
def _document_issued(event: CaseDocuments.DocumentIssued) -> dict[str, Any]:
    document = event.document
    return {
        "number": document.number,
        "kind": document.kind.value,
        "sha256": document.sha256,
        "refers_to": document.refers_to,
    }


@public_data.register(CaseDocuments.DocumentSent)
def _document_sent(event: CaseDocuments.DocumentSent) -> dict[str, Any]:
    return {
        "number": event.number,
        "channel": event.dispatch.channel.value,
        "sent_on": _day(event.dispatch.sent_on),
    }


@public_data.register(CaseDocuments.DeliveryReported)
def _delivery_reported(event: CaseDocuments.DeliveryReported) -> dict[str, Any]:
    return {"number": event.number, "outcome": str(event.outcome), "on": _day(event.on)}


@public_data.register(Case.Notified)
def _notified(event: Case.Notified) -> dict[str, Any]:
    return {
        "delivery": event.delivery,
        "sent_on": _day(event.sent_on),
        "notified_on": _day(event.notified_on),
        "objection_deadline": _day(event.objection_deadline),
    }


@public_data.register(Case.RemedyNoticeFoundDefective)
def _remedy_notice_defective(event: Case.RemedyNoticeFoundDefective) -> dict[str, Any]:
    return {"objection_deadline": _day(event.objection_deadline)}


@public_data.register(Case.ObjectionLodged)
def _objection_lodged(event: Case.ObjectionLodged) -> dict[str, Any]:
    objection = event.objection
    return {"received_on": _day(objection.received_on), "timely": objection.timely}


@public_data.register(Case.ObjectionForwarded)
def _objection_forwarded(event: Case.ObjectionForwarded) -> dict[str, Any]:
    return {"authority": event.authority}  # an authority's name, never a person's


@public_data.register(Case.ObjectionRemedied)
def _objection_remedied(event: Case.ObjectionRemedied) -> dict[str, Any]:
    # Remedies recorded before version 3 carry no remedy record: they were all in full.
    remedy = event.remedy
    return {
        "objection_outcome": remedy.outcome if remedy is not None else "remedied",
        "new_decision": event.new_decision,
        "fee_refund": _amount(remedy.costs.fee_refund) if remedy is not None else None,
    }


@public_data.register(Case.ObjectionDecided)
def _objection_decided(event: Case.ObjectionDecided) -> dict[str, Any]:
    decision = event.decision
    return {
        "objection_outcome": decision.outcome,
        "authority": decision.decided_by,
        "served_on": _day(decision.served_on),
        "action_deadline": _day(decision.action_deadline),
        "new_decision": event.new_decision,
        "fee_refund": _amount(decision.costs.fee_refund),
    }


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@public_data.register(Case.BecameFinal)
def _became_final(event: Case.BecameFinal) -> dict[str, Any]:
    return {"final_on": _day(event.final_on)}


@public_data.register(Case.DeemedApproved)
def _deemed_approved(event: Case.DeemedApproved) -> dict[str, Any]:
    return {
        "period_ended_on": _day(event.period_ended_on),
        "took_effect_on": _day(event.took_effect_on),
        "legal_basis": event.legal_basis,
    }


@public_data.register(Case.ApprovalExpired)
def _approval_expired(event: Case.ApprovalExpired) -> dict[str, Any]:
    return {
        "valid_until": _day(event.valid_until),
        "expired_on": _day(event.expired_on),
        "legal_basis": event.legal_basis,
    }


@public_data.register(Case.DeemedApprovalCertified)
def _deemed_approval_certified(event: Case.DeemedApprovalCertified) -> dict[str, Any]:
    return {"number": event.number}


def _published_classes() -> dict[type[Any], str]:
    """The published event classes (the shared lifecycle's and each service's) → public name."""
    found: dict[type[Any], str] = {
        getattr(Case, name): public for name, (public, _) in SHARED_TYPES.items()
    }
    # Events declared in the documents mixin are stored under the mixin's classes.
    for name, (public, _) in SHARED_TYPES.items():
        if name in vars(CaseDocuments):
            found[getattr(CaseDocuments, name)] = public
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

    def topics(self) -> list[str]:
        """Every case event, and the notices the scheduler sent for cases."""
        return sorted([*super().topics(), get_topic(TimerNotice.Sent)])

    def _case_of(self, event: Any) -> str:
        """A notice belongs to the case it was sent for; any other event to its aggregate."""
        if isinstance(event, TimerNotice.Sent):
            return str(event.case_id)
        return str(event.originator_id)

    def _row(self, cases: dict[str, dict[str, Any]], applied: Applied) -> tuple[Any, ...] | None:
        event: Any = applied.event
        case_id = self._case_of(event)
        if isinstance(event, TimerNotice.Sent):
            return self._notice_row(cases.get(case_id), applied)
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
        data |= public_data(event)
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

    def _notice_row(self, case: dict[str, Any] | None, applied: Applied) -> tuple[Any, ...] | None:
        """A reminder or escalation, under its case; it leaves the case's state as it was."""
        event: Any = applied.event
        if case is None:
            return None  # a case the feed never saw submitted
        public, _ = NOTICE_TYPES[f"TimerNotice.{event.sort}"]
        case_id = case["case_id"]
        data: dict[str, Any] = {
            "case_id": case_id,
            "reference": case["reference"],
            "service": case["service"],
            "status": case["status"],
            "version": event.case_version,  # a notice does not move the case's version
            "links": {"case": f"/api/v1/cases/{case_id}"},
            "timer": event.kind,
            "due_on": _day(event.due_on),
            "fired_on": _day(event.fired_on),
            "addressees": list(event.addressees),  # staff and team ids, never names
        }
        return (
            applied.position,
            str(uuid.uuid5(ID_NAMESPACE, f"notice/{event.originator_id}")),
            f"{TYPE_PREFIX}{public}.{TYPE_VERSION}",
            case["tenant"],
            case["service"],
            case_id,
            utc_text(event.at),
            view_json(data),
        )
