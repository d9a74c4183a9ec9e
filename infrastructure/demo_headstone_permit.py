"""Demo headstone permits: one in every state of a permit's life, in each town."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.case_steps import DECIDE, Decide
from domain.cemeteries import GraveType, graves
from domain.inspections import InspectionReport
from domain.services.headstone_permit import STEPS, HeadstoneSetReport
from domain.working_days import berlin_date
from infrastructure.demo_steps import (
    LETTER,
    Office,
    Step,
    ask,
    close_when_final,
    notify,
    refused_and_closed,
    review,
    waiting,
    withdrawn,
)

LEGAL_BASIS = "Friedhofsordnung (Grabmale); TA Grabmal"
TOO_HIGH = "Das Grabmal überschreitet die in diesem Grabfeld zulässige Höhe von 1,00 m."
MATERIALS = ("Granit, poliert", "Muschelkalk, gestockt", "Basalt-Lava", "Sandstein, scharriert")


def headstone_data(index: int, tenant: str) -> dict[str, Any]:
    """A headstone on one of the town's Wahlgräber (a permit takes no grave place)."""
    wahl = [g for g in graves(tenant) if g.grave_type is GraveType.WAHLGRAB]
    address = wahl[index % len(wahl)].address
    return {
        "grave": {
            "cemetery": address.cemetery,
            "field": address.field,
            "row": address.row,
            "number": address.number,
        },
        "drawing": f"att:demo/grabmal-{index}.pdf",
        "material": MATERIALS[index % len(MATERIALS)],
        "dimensions": {"height_cm": 80 + 5 * (index % 5), "width_cm": 55, "depth_cm": 14},
        "foundation": "strip" if index % 2 else "prefabricated",
        "inscription": "In Liebe und Dankbarkeit",
        "stonemason": {
            "business": "Steinmetz Taunus GmbH",
            "contact_person": "Jan Steinbach",
            "phone": "06081 12345",
        },
    }


def permitted(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Reviewed, permitted with the standard conditions, sent by letter."""
    review(h, case_id, town, clock)
    decision = Decide(
        outcome="approved_with_conditions",
        justification="Das Grabmal entspricht den Gestaltungsvorschriften der Friedhofsordnung.",
        legal_basis=LEGAL_BASIS,
    )
    h.handle(case_id, DECIDE(decision), town.clerk, None)
    notify(h, case_id, town, clock, LETTER)


def _set(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    permitted(h, case_id, town, clock)
    clock.advance(timedelta(days=10))
    report = HeadstoneSetReport(set_on=berlin_date(clock.now()))
    h.handle(case_id, STEPS.named("report_headstone_set")(report), town.clerk, None)


def _inspection(clock: FixedClock, defects: list[str]) -> InspectionReport:
    today = berlin_date(clock.now())
    remedy_by = today + timedelta(days=21) if defects else None
    return InspectionReport(inspected_on=today, defects=defects, remedy_by=remedy_by)


def _inspected(defects: list[str]) -> Step:
    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        _set(h, case_id, town, clock)
        clock.advance(timedelta(days=3))
        report = _inspection(clock, defects)
        h.handle(case_id, STEPS.named("inspect_headstone")(report), town.clerk, None)

    return step


def _yearly(defects: list[str]) -> Step:
    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        _inspected([])(h, case_id, town, clock)
        clock.advance(timedelta(days=20))
        report = _inspection(clock, defects)
        h.handle(case_id, STEPS.named("check_stability")(report), town.clerk, None)

    return step


def _closed(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _yearly([])(h, case_id, town, clock)
    close_when_final(h, case_id, town, clock, "Grabmal abgenommen und standsicher.")


HEADSTONE_SCENARIOS: tuple[Step, ...] = (
    waiting,
    review,
    ask("Bitte reichen Sie die Zeichnung im Maßstab 1:10 mit Fundamentangaben nach."),
    permitted,
    _set,
    _inspected(["Grabmal gibt bei der Druckprobe nach (TA Grabmal)"]),
    _inspected([]),
    _yearly(["Verdübelung gelockert, Grabmal neigt sich"]),
    _closed,
    refused_and_closed(
        TOO_HIGH,
        legal_basis=LEGAL_BASIS,
    ),
    withdrawn("Die Familie wählt ein anderes Grabmal."),
)
