"""Demo sewer house connections: one in every state of the connection's life, in each town."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.case_steps import DECIDE, Decide
from domain.inspections import InspectionReport
from domain.services.sewer_connection import STEPS, ConstructionReport, DetermineConnectionPoint
from infrastructure.demo_steps import (
    LETTER,
    DeliveryName,
    Office,
    Step,
    ask,
    close_when_final,
    notify,
    refused_and_closed,
    review,
    then,
    today,
    waiting,
    withdrawn,
)

CONNECTION_POINT = STEPS.named("determine_connection_point")
CONSTRUCTION = STEPS.named("report_construction")
INSPECT = STEPS.named("inspect_connection")
CHARGE = STEPS.named("assess_connection_charge")
LEGAL_BASIS = "§§ 3, 5 Entwässerungssatzung (Anschluss- und Benutzungszwang)"
RAINWATER_REFUSAL = (
    "Das Niederschlagswasser ist auf dem Grundstück zu versickern "
    "(Trennsystem; kein Regenwasserkanal in der Straße)."
)
TREE_PROTECTION = "Der Baumbestand im Straßenraum ist nach DIN 18920 zu schützen."

CONTRACTORS = (
    (
        "Kanaltechnik Weiltal GmbH",
        "Uwe Hartmann",
        "06083 91220",
        "hausanschluss@kt-weiltal.example",
    ),
    ("Tiefbau Usinger Land GmbH", "Nadine Berg", "06081 55310", "n.berg@tb-ul.example"),
    ("Rohrbau Feldberg GmbH", "Stefan Kühn", "06084 4410", "kuehn@rohrbau-feldberg.example"),
)
OWNERS = ("Sabine Roth", "Wolfgang Seidel", "Aylin Demir", "Jens Hoffmann", "Ursula Brandt")
DRAINAGE = ("combined", "foul_water", "rainwater")
GEMARKUNG = {
    "usingen": "Usingen",
    "neu-anspach": "Anspach",
    "schmitten": "Schmitten",
    "glashuetten": "Glashütten",
}


def connection_data(
    index: int, tenant: str, street: str, postal_code: str, city: str
) -> dict[str, Any]:
    """A believable Entwässerungsantrag for a plot in the town."""
    company, person, phone, email = CONTRACTORS[index % len(CONTRACTORS)]
    return {
        "plot": {
            "gemarkung": GEMARKUNG[tenant],
            "flur": str(3 + index),
            "flurstueck": f"{120 + 7 * index}/{1 + index % 4}",
        },
        "property_address": {
            "street": street,
            "house_number": str(5 + 2 * index),
            "postal_code": postal_code,
            "city": city,
        },
        "owner": {"name": OWNERS[index % len(OWNERS)]},
        "drainage": DRAINAGE[index % len(DRAINAGE)],
        "backflow_protection_planned": index % 4 != 1,
        "contractor": {
            "company": company,
            "contact_person": person,
            "phone": phone,
            "email": email,
        },
    }


def permitted(
    h: CommandHandler,
    case_id: UUID,
    town: Office,
    clock: FixedClock,
    representative: str | None = None,
) -> None:
    """Reviewed, the connection point set, the owner heard on the tree protection; permitted."""
    review(h, case_id, town, clock)
    clock.advance(timedelta(days=2))
    point = DetermineConnectionPoint(
        manhole="S 12-034",
        invert_depth_m=Decimal("2.40"),
        description="Abzweig DN 150 am Hauptkanal in Fahrbahnmitte vor dem Grundstück.",
    )
    h.handle(case_id, CONNECTION_POINT(point), town.clerk, None)
    heard_on = today(clock)  # the owner was heard on the tree protection at the site meeting
    clock.advance(timedelta(days=1))
    decision = Decide(
        outcome="approved_with_conditions",
        justification="Das Grundstück unterliegt dem Anschluss- und Benutzungszwang.",
        legal_basis=LEGAL_BASIS,
        conditions=[TREE_PROTECTION],
        hearing_held_on=heard_on,
        representative=representative,
    )
    h.handle(case_id, DECIDE(decision), town.clerk, None)


def notified_by(delivery: DeliveryName, representative: str | None = None) -> Step:
    """Permitted (to the owner, or to their representative), sent the next day as ``delivery``."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        permitted(h, case_id, town, clock, representative)
        clock.advance(timedelta(days=1))
        notify(h, case_id, town, clock, delivery)

    return step


_permitted = notified_by(LETTER)


_construction_reported = then(
    _permitted,
    timedelta(days=12),
    lambda today: CONSTRUCTION(
        ConstructionReport(completed_on=today, pipe_length_m=Decimal("12.80"))
    ),
)
_defective = then(
    _construction_reported,
    timedelta(days=1),
    lambda today: INSPECT(
        InspectionReport(
            inspected_on=today,
            defects=["Rückstauverschluss nicht eingebaut", "Gefälle der Leitung unter 1 %"],
            remedy_by=today + timedelta(days=10),
        )
    ),
)
_accepted = then(
    _defective,
    timedelta(days=9),
    lambda today: INSPECT(InspectionReport(inspected_on=today, defects=[])),
)
_charged = then(_accepted, timedelta(days=3), lambda _today: CHARGE())


def _closed(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Charged; once the permit is final (the file is never closed before), closed."""
    _charged(h, case_id, town, clock)
    close_when_final(h, case_id, town, clock, "Anschluss hergestellt, abgenommen und abgerechnet.")


CONNECTION_SCENARIOS: tuple[Step, ...] = (
    waiting,
    review,
    ask("Bitte reichen Sie den Entwässerungsplan (Lageplan 1:500 mit Leitungsführung) nach."),
    _permitted,
    _construction_reported,
    _defective,
    _accepted,
    _charged,
    _closed,
    refused_and_closed(
        RAINWATER_REFUSAL,
        legal_basis=LEGAL_BASIS,
    ),
    withdrawn("Bauvorhaben zurückgestellt."),
)
