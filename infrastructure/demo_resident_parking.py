"""Demo resident parking permits: one in every state of a permit's life, in each town.

Residences lie in the towns' example zones (domain/rules/resident_parking.py); one
application lies outside every zone, and one asks for a car that already holds a permit,
so both refusals appear. All plates are invented (HG is the Hochtaunuskreis).

After issue, in every town: a plate change sent by letter and a renewal handed over, each
notified; a revocation with immediate enforcement that ended the permit on notification;
and a revocation without it, suspended by the holder's objection (§ 80 (1) VwGO) so the
permit stays in force.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.case_steps import CLOSE, OptionalReason
from domain.rules.resident_parking import zone_plan
from domain.services.parking_decisions import RevocationGround
from domain.services.resident_parking import (
    STEPS,
    NumberPlateChange,
    ParkingDecision,
    PermitDecisionNotification,
    PermitReturn,
    Renewal,
    Revocation,
    RevocationObjection,
    Vehicle,
)
from infrastructure.demo_steps import (
    COUNTER,
    LETTER,
    DeliveryName,
    Office,
    Step,
    ask,
    mark_final,
    notify,
    review,
    today,
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
    # The plate change is a decision of its own: sent by letter, in effect when notified.
    _notify_permit_decision(h, case_id, town, LETTER)


def _notify_permit_decision(
    h: CommandHandler, case_id: UUID, town: Office, delivery: DeliveryName = COUNTER
) -> None:
    """The renewal, plate change or revocation just decided goes out (§ 41 HVwVfG)."""
    sent = PermitDecisionNotification(delivery=delivery)
    h.handle(case_id, STEPS.named("notify_permit_decision")(sent), town.clerk, None)


def _renewed(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decided(h, case_id, town, clock)
    clock.advance(timedelta(days=20))
    h.handle(case_id, STEPS.named("renew")(Renewal(months=12)), town.clerk, None)
    _notify_permit_decision(h, case_id, town)  # handed over at the citizens' office


def _returned(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decided(h, case_id, town, clock)
    clock.advance(timedelta(days=12))
    returned = PermitReturn(reason="Umzug in eine andere Gemeinde")
    h.handle(case_id, STEPS.named("return_permit")(returned), town.clerk, None)


def _revocation(today: date, *, immediate: bool) -> Revocation:
    """A revocation after the holder moved out of the zone (§ 49 (2) no. 3 HVwVfG)."""
    return Revocation(
        ground=RevocationGround.FACTS_CHANGED,
        reason="Die Hauptwohnung liegt laut Melderegister nach Ummeldung nicht mehr im "
        "Bewohnerparkbereich.",
        facts_known_since=today - timedelta(days=10),
        discretion="Der Parkraum im Bereich ist knapp; Bewohnerinnen und Bewohner des Bereichs "
        "warten auf Ausweise. Vertrauensschutz besteht nach dem Wegzug nicht.",
        hearing_held_on=today - timedelta(days=2),
        immediate_enforcement=(
            "Der Ausweis wird weiter genutzt, obwohl die Wohnung aufgegeben ist; der knappe "
            "Parkraum wird für Bewohnerinnen und Bewohner sofort benötigt."
            if immediate
            else None
        ),
    )


def _revoked(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Revoked with immediate enforcement: the permit ends the day it is handed over."""
    _decided(h, case_id, town, clock)
    clock.advance(timedelta(days=15))
    revocation = _revocation(today(clock), immediate=True)
    h.handle(case_id, STEPS.named("revoke")(revocation), town.clerk, None)
    _notify_permit_decision(h, case_id, town)


def _revocation_suspended(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """Revoked without immediate enforcement, by letter; the holder objects in time, which
    suspends the revocation (§ 80 (1) VwGO): the permit stays in force."""
    _decided(h, case_id, town, clock)
    clock.advance(timedelta(days=18))
    revocation = _revocation(today(clock), immediate=False)
    h.handle(case_id, STEPS.named("revoke")(revocation), town.clerk, None)
    _notify_permit_decision(h, case_id, town, LETTER)
    clock.advance(timedelta(days=9))
    objection = RevocationObjection(
        grounds="Ich wohne weiterhin in der Wohnung; die Ummeldung betraf eine Nebenwohnung."
    )
    h.handle(case_id, STEPS.named("lodge_revocation_objection")(objection), town.clerk, None)


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
    _revocation_suspended,
)
