"""The case file's wiring: the German event labels the audit trail keeps, and the builder.

The labels of events are kept once, with the audit trail (the shared lifecycle's) and with
each service (its own events); the case file reads them through its ``EventLabels`` port.
"""

from __future__ import annotations

from application.case_file import CaseFilePrinter, CaseFiles, IntegrityProofs, PositionsOf
from application.cases import CaseService
from application.decision_audit import DecisionAudit
from application.store import VorgangStore
from projections.audit_trail import event_label


def german_event_label(service: str, event_type: str) -> str | None:
    """The German label of an event of a service's case (its own, or the lifecycle's)."""
    found = event_label(service, event_type)
    return found["de"] if found is not None else None


def build_case_files(
    store: VorgangStore,
    cases: CaseService,
    decision_audit: DecisionAudit,
    positions: PositionsOf | None,
    *,
    proofs: IntegrityProofs | None = None,
    printer: CaseFilePrinter | None = None,
) -> CaseFiles:
    """The case files over the store, with the chain's proofs and the printer where wired."""
    return CaseFiles(
        store,
        cases.clock,
        decision_audit,
        german_event_label,
        positions=positions,
        proofs=proofs,
        printer=printer,
        withheld=cases.withheld_from,
    )
