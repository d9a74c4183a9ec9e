"""Demo resident parking permits: one in every state of a permit's life, in each town.

Residences lie in the towns' example zones (domain/rules/resident_parking.py); one
application lies outside every zone, and one asks for a car that already holds a permit,
so both refusals appear. All plates are invented (HG is the Hochtaunuskreis).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application.cases import CaseService
from application.clock import FixedClock
from application.resident_parking import ResidentParkingCommands
from domain.rules.resident_parking import zone_plan
from infrastructure.demo_steps import Office, Step, ask, review, waiting, withdrawn

REMEDY = (
    "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben "
    "werden. Der Widerspruch ist schriftlich oder zur Niederschrift beim Magistrat bzw. "
    "Gemeindevorstand einzulegen."
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


def _decided(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
    review(c, case_id, town, clock)
    clock.advance(timedelta(hours=2))
    ResidentParkingCommands(c).decide_by_rules(
        case_id, actor=town.clerk, legal_remedy_notice=REMEDY
    )
    clock.advance(timedelta(hours=1))
    c.notify(case_id, actor=town.clerk)


def _final_with_new_plate(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decided(c, case_id, town, clock)
    clock.advance(timedelta(days=40))
    c.mark_final(case_id, actor=town.clerk)
    tenant = c.get(case_id, actor=town.clerk).tenant
    ResidentParkingCommands(c).change_number_plate(
        case_id, actor=town.clerk, vehicle={"number_plate": plate(tenant, 40)}
    )


def _renewed(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decided(c, case_id, town, clock)
    clock.advance(timedelta(days=20))
    ResidentParkingCommands(c).renew(case_id, actor=town.clerk, months=12)


def _returned(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decided(c, case_id, town, clock)
    clock.advance(timedelta(days=12))
    ResidentParkingCommands(c).return_permit(
        case_id, actor=town.clerk, reason="Umzug in eine andere Gemeinde"
    )


def _revoked(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decided(c, case_id, town, clock)
    clock.advance(timedelta(days=15))
    ResidentParkingCommands(c).revoke(
        case_id,
        actor=town.clerk,
        reason="Die Hauptwohnung liegt nach Ummeldung nicht mehr im Bewohnerparkbereich.",
        legal_basis="§ 49 Abs. 2 Satz 1 Nr. 3 HVwVfG",
    )


def _expired_and_closed(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decided(c, case_id, town, clock)
    clock.advance(timedelta(days=40))
    c.mark_final(case_id, actor=town.clerk)
    c.close(case_id, actor=town.clerk, reason="Bewohnerparkausweis abgelaufen")


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
