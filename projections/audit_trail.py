"""The audit trail: one row per case event, with who, when, why and what changed.

Changed fields are shown old → new: the case's tracked values (status, assignee, due date,
where the latest objection stands) and every field the event carries, compared with the
value the case had before. Personal values stay sealed in the rows and open (or show
"[gelöscht]") only when read. Every event has a label for people, German and English: the
shared lifecycle's here, a service's own in its catalogue entry; labels are read with the
rows, so a better wording needs no rebuild.

Version 2 (from 1): the status is the main track only (an objection no longer changes it);
``objection_state`` is tracked; the Widerspruchsbescheid is tracked as
``objection_decision`` and the notification's rule as ``notification_rules``, apart from
the decision and a service's fee rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import singledispatch
from typing import Any, ClassVar, Final

from domain.case import Case
from domain.processing_clock import ProcessingClock
from domain.services.catalogue import SERVICES
from projections.case_event_log import CaseEventLog
from projections.case_events import holder_after, objection_after, status_after
from projections.due_dates import due_on_text
from projections.inbox import utc_text
from projections.projection import Applied
from projections.sealed import sealed_json, view_json
from projections.view_store import ViewTransaction

ROW_COLUMNS = (
    "position",
    "case_id",
    "reference",
    "tenant",
    "service",
    "event_type",
    "version",
    "actor_id",
    "actor_name",
    "actor_role",
    "on_behalf_of",
    "at",
    "recorded_at",
    "reason",
    "changes",
)
CASE_COLUMNS = ("case_id", "reference", "tenant", "service", "state")
HIDDEN = {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "at"}

EVENT_LABELS: Final[dict[str, tuple[str, str]]] = {
    "Submitted": ("Antrag eingegangen", "Application submitted"),
    "CompletenessConfirmed": ("Vollständigkeit bestätigt", "Application complete"),
    "Claimed": ("Vorgang übernommen", "Case claimed"),
    "Released": ("Vorgang freigegeben", "Case released"),
    "Assigned": ("Vorgang zugewiesen", "Case assigned"),
    "InformationRequested": ("Nachforderung gestellt", "Information requested"),
    "InformationProvided": ("Nachforderung beantwortet", "Information provided"),
    "NoteAdded": ("Vermerk angelegt", "Note added"),
    "PeriodExtended": ("Bearbeitungsfrist verlängert", "Processing period extended"),
    "Decided": ("Entscheidung getroffen", "Decision made"),
    "Countersigned": ("Entscheidung gegengezeichnet", "Decision countersigned"),
    "CountersignRefused": ("Gegenzeichnung verweigert", "Countersignature refused"),
    "PaymentRecorded": ("Gebühr bezahlt", "Fee paid"),
    "Notified": ("Bescheid bekannt gegeben", "Decision notified"),
    "RemedyNoticeFoundDefective": (
        "Rechtsbehelfsbelehrung fehlerhaft (Widerspruchsfrist ein Jahr)",
        "Remedy notice defective (objection period one year)",
    ),
    "ObjectionLodged": ("Widerspruch eingegangen", "Objection lodged"),
    "ReinstatementGranted": (
        "Wiedereinsetzung in den vorigen Stand gewährt",
        "Reinstatement granted",
    ),
    "ObjectionHeard": ("Widerspruch im Anhörungsausschuss verhandelt", "Objection heard"),
    "ObjectionRemedied": ("Widerspruch abgeholfen", "Objection remedied"),
    "ObjectionForwarded": (
        "Widerspruch der Widerspruchsbehörde vorgelegt",
        "Objection forwarded to the objection authority",
    ),
    "ObjectionWithdrawn": ("Widerspruch zurückgenommen", "Objection withdrawn"),
    "ObjectionDecided": ("Widerspruchsbescheid erlassen", "Objection decided"),
    "BecameFinal": ("Bescheid bestandskräftig", "Decision final"),
    "DeemedApproved": ("Genehmigung gilt als erteilt (§ 42a HVwVfG)", "Approval deemed granted"),
    "ApprovalExpired": (
        "Genehmigung durch Zeitablauf erledigt (§ 43 Abs. 2 HVwVfG)",
        "Approval expired",
    ),
    "DeemedApprovalCertified": (
        "Bescheinigung über die Genehmigungsfiktion erteilt",
        "Certificate of deemed approval issued",
    ),
    "Withdrawn": ("Antrag zurückgenommen", "Application withdrawn"),
    "Closed": ("Vorgang abgeschlossen", "File closed"),
    "PersonalDataErased": ("Personenbezogene Daten gelöscht", "Personal data erased"),
    "DocumentIssued": ("Schriftstück erstellt und gesiegelt", "Document issued and sealed"),
    "DocumentSent": ("Schriftstück versandt", "Document sent"),
    "DeliveryReported": ("Zustellergebnis gemeldet", "Delivery outcome reported"),
    "BilledTo": ("Gebühren dem Gewerbekundenkonto zugeordnet", "Fees billed to a business account"),
    "FeeCharged": ("Gebühr zum Soll gestellt (Kassenzeichen)", "Fee charged (cash reference)"),
    "ChargeSettled": ("Zahlung eingegangen", "Payment received"),
    "ChargeWithdrawn": (
        "Forderung durch neue Festsetzung ersetzt",
        "Charge replaced by a later assessment",
    ),
}
"""The shared lifecycle's events labelled for people: event name → (German, English)."""


def event_label(service: str, event_type: str) -> dict[str, str] | None:
    """The label of an event of a service's case: its own, or the shared lifecycle's."""
    definition = SERVICES.get(service)
    own = definition.event_labels.get(event_type) if definition is not None else None
    found = own or EVENT_LABELS.get(event_type)
    return {"de": found[0], "en": found[1]} if found is not None else None


@singledispatch
def tracked_fields(event: Any) -> Iterator[tuple[str, Any]]:
    """The fields of an event the trail tracks, under the name the case's state keeps them."""
    return iter(vars(event).items())


@tracked_fields.register(Case.ObjectionDecided)
def _objection_decision(event: Case.ObjectionDecided) -> Iterator[tuple[str, Any]]:
    # The Widerspruchsbescheid is not the decision it is about: both stay visible.
    for field, value in vars(event).items():
        yield ("objection_decision" if field == "decision" else field), value


@tracked_fields.register(Case.Notified)
def _notification_rules(event: Case.Notified) -> Iterator[tuple[str, Any]]:
    # The rule of the Bekanntgabe is not the rules a service assessed its fee by.
    for field, value in vars(event).items():
        yield ("notification_rules" if field == "rules" else field), value


class AuditTrail(CaseEventLog):
    """Every case event as an auditor reads it; per case, the last value of every field."""

    name: ClassVar[str] = "audit_trail"
    version: ClassVar[int] = 2  # 2: the legal track beside the status (objection_state)
    row_columns = ROW_COLUMNS
    case_columns = CASE_COLUMNS

    def create_tables(self, tx: ViewTransaction) -> None:
        """Rows keyed by log position, indexed for each filter; and the per-case state."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (position BIGINT PRIMARY KEY, "
            "case_id TEXT NOT NULL, reference TEXT NOT NULL, tenant TEXT NOT NULL, "
            "service TEXT NOT NULL, event_type TEXT NOT NULL, version INTEGER NOT NULL, "
            "actor_id TEXT, actor_name TEXT, actor_role TEXT, on_behalf_of TEXT, at TEXT, "
            "recorded_at TEXT NOT NULL, reason TEXT, changes TEXT NOT NULL)"
        )
        for name, columns in (
            ("tenant", "tenant, position"),
            ("case", "case_id, position"),
            ("actor", "actor_id, position"),
            ("type", "event_type, position"),
            ("recorded", "tenant, recorded_at, position"),
        ):
            tx.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_{name} ON {self.table} ({columns})"
            )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.cases_table} (case_id TEXT PRIMARY KEY, "
            "reference TEXT NOT NULL, tenant TEXT NOT NULL, service TEXT NOT NULL, "
            "state TEXT NOT NULL)"
        )

    def _case_loaded(self, row: dict[str, Any]) -> dict[str, Any]:
        """The tracked fields read from their JSON."""
        return {**row, "state": json.loads(row["state"])}

    def _case_stored(self, case_id: str, case: dict[str, Any]) -> dict[str, Any]:
        """The tracked fields as JSON."""
        return {**case, "case_id": case_id, "state": view_json(case["state"])}

    def _value(self, value: Any) -> Any:
        """A value as JSON values, personal data still sealed."""
        return self._json.to_plain(value)

    def _row(self, cases: dict[str, dict[str, Any]], applied: Applied) -> tuple[Any, ...] | None:
        event: Any = applied.event
        case_id = str(event.originator_id)
        name = type(event).__name__  # the event's name as auditors read it, not dispatched on
        if isinstance(event, Case.Submitted):
            cases[case_id] = {
                "reference": event.reference,
                "tenant": event.tenant,
                "service": event.service,
                "state": {},
            }
        case = cases.get(case_id)
        if case is None:
            return None  # events of a case submitted before the log this view was built from
        old: dict[str, Any] = case["state"]
        new = dict(old)
        new["status"] = status_after(event, old.get("status"))
        new["assignee"] = holder_after(event, new.get("assignee"))
        new["objection_state"] = objection_after(event, old.get("objection_state"))
        for field, value in tracked_fields(event):
            if field in HIDDEN or field == "reason":
                continue
            if isinstance(value, ProcessingClock):
                new["due_on"] = due_on_text(value)
            new[field] = self._value(value)
        changes = {
            field: {"old": old.get(field), "new": value}
            for field, value in new.items()
            if old.get(field) != value
        }
        case["state"] = new
        actor = getattr(event, "actor", None)
        reason = getattr(event, "reason", None)
        at = getattr(event, "at", None)
        return (
            applied.position,
            case_id,
            case["reference"],
            case["tenant"],
            case["service"],
            name,
            event.originator_version,
            actor.id if actor is not None else None,
            sealed_json(actor.display_name) if actor is not None else None,
            actor.role.value if actor is not None else None,
            actor.on_behalf_of if actor is not None else None,
            utc_text(at) if isinstance(at, datetime) else None,
            utc_text(event.timestamp),
            self._json.to_text(reason) if reason is not None else None,
            view_json(changes),
        )
