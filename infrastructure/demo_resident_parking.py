"""Demo resident parking permits: one in every state of a permit's life, in each town.

Residences lie in the towns' example zones (domain/rules/resident_parking.py); one
application lies outside every zone, and one asks for a car that already holds a permit,
so both refusals appear. All plates are invented (HG is the Hochtaunuskreis).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.case_steps import CLOSE, OptionalReason
from domain.rules.resident_parking import zone_plan
from domain.services.resident_parking import (
    STEPS,
    NumberPlateChange,
    ParkingDecision,
    PermitReturn,
    Renewal,
    Revocation,
    Vehicle,
)
from infrastructure.demo_steps import (
    COUNTER,
    Office,
    Step,
    ask,
    mark_final,
    notify,
    review,
    then,
    waiting,
    withdrawn,
)

PLATE_LETTERS = {"usingen": "US", "neu-anspach": "NA", "schmitten": "SM", "glashuetten": "GL"}
OUTSIDE_EVERY_ZONE = "Am Feldrain"
ISSUED = 3  # the scenario whose plate the "vehicle already holds a permit" scenario reuses
REFUSED_PLATE = 9
OUTSIDE = 8
SHORT = (5, 10)  # scenarios applying for one month: renewed, or expired and closed


def plate(tenant: str, index: int) -> str:
    """An invented plate of the Hochtaunuskreis for a demo scenario."""
    return f"HG-{PLATE_LETTERS[tenant]} {10 + (ISSUED if index == REFUSED_PLATE else index)}"


def permit_data(index: int, tenant: str, on: date) -> dict[str, Any]:
    """A believable application: a residence in the town's first zone, one car."""
    streets = zone_plan(tenant, on).zones[0].streets
    street = OUTSIDE_EVERY_ZONE if index == OUTSIDE else streets[index % len(streets)]
    vehicle: dict[str, Any] = {"number_plate": plate(tenant, index), "holder": "applicant"}
    if index % 4 == 2:
        vehicle = {
            "number_plate": plate(tenant, index),
            "holder": "company_car",
            "holder_consent": {
                "holder_name": "Taunus Logistik GmbH",
                "given_on": (on - timedelta(days=10)).isoformat(),
                "document": "Überlassungserklärung des Arbeitgebers",
            },
        }
    return {
        "residence": {"street": street, "house_number": str(2 + index), "main_residence": True},
        "vehicle": vehicle,
        "months": 1 if index in SHORT else 12,
    }


def _decided(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    review(h, case_id, town, clock)
    clock.advance(timedelta(hours=2))
    decision = ParkingDecision()
    h.handle(case_id, STEPS.named("decide_by_rules")(decision), town.clerk, None)
    clock.advance(timedelta(hours=1))
    # The permit is handed over with the Bescheid at the citizens' office.
    notify(h, case_id, town, clock, COUNTER)


def _final_with_new_plate(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    _decided(h, case_id, town, clock)
    mark_final(h, case_id, town, clock)
    tenant = h.cases.get(case_id, actor=town.clerk).tenant
    change = NumberPlateChange(vehicle=Vehicle(number_plate=plate(tenant, 40)))
    h.handle(case_id, STEPS.named("change_number_plate")(change), town.clerk, None)


_renewed = then(
    _decided, timedelta(days=20), lambda _today: STEPS.named("renew")(Renewal(months=12))
)


def _returned(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decided(h, case_id, town, clock)
    clock.advance(timedelta(days=12))
    returned = PermitReturn(reason="Umzug in eine andere Gemeinde")
    h.handle(case_id, STEPS.named("return_permit")(returned), town.clerk, None)


_revoked = then(
    _decided,
    timedelta(days=15),
    lambda _today: STEPS.named("revoke")(
        Revocation(
            reason="Die Hauptwohnung liegt nach Ummeldung nicht mehr im Bewohnerparkbereich.",
            legal_basis="§ 49 Abs. 2 Satz 1 Nr. 3 HVwVfG",
        )
    ),
)


def _expired_and_closed(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decided(h, case_id, town, clock)
    mark_final(h, case_id, town, clock)
    expired = OptionalReason(reason="Bewohnerparkausweis abgelaufen")
    h.handle(case_id, CLOSE(expired), town.clerk, None)


PARKING_SCENARIOS: tuple[Step, ...] = (
    waiting,
    review,
    ask("Bitte reichen Sie die Zulassungsbescheinigung Teil I nach."),
    _decided,  # ISSUED: notified, in force
    _final_with_new_plate,
    _renewed,  # SHORT: a one-month permit renewed for a year
    _returned,
    _revoked,
    _decided,  # OUTSIDE: refused, the residence lies in no zone
    _decided,  # REFUSED_PLATE: refused, the car already holds a permit
    _expired_and_closed,  # SHORT
    withdrawn("Fahrzeug wurde abgemeldet."),
)
