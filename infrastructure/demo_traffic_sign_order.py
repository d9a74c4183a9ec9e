"""Demo traffic sign orders: one in every state of the order's life, in each town.

Before each order the police and the road authority are heard (one case waits for the road
authority's answer); the signs go up three full days before the start, and the set-up
report notes the vehicles already parked in the zone.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.case_steps import DECIDE, Decide
from domain.rules.traffic_sign_order import LEAD_TIMES, SIGN_SETUPS
from domain.rules.versions import in_force
from domain.services.traffic_sign_order import (
    STEPS,
    AuthorityHearingRecord,
    HeardAuthority,
    HearingResponse,
    SignsRemoved,
    SignsUp,
)
from domain.working_days import berlin_date
from infrastructure.demo_steps import (
    ELECTRONIC,
    Office,
    Step,
    ask,
    close_when_final,
    move_to,
    notify,
    refused_and_closed,
    review,
    waiting,
    withdrawn,
)

LEGAL_BASIS = "§ 45 Abs. 1, 6 StVO"
# § 45 (1) StVO gives discretion: the order states what was weighed (§ 39 (1) 3 HVwVfG).
DISCRETION = (
    "Die Anordnung steht im Ermessen der Straßenverkehrsbehörde (§ 45 Abs. 1 StVO). Ohne "
    "Haltverbot müsste in zweiter Reihe be- und entladen werden; das gefährdet den "
    "Fußgänger- und Radverkehr stärker als der befristete Wegfall weniger Stellplätze. Das "
    "Haltverbot ist auf die beantragte Zeit und Länge beschränkt; Anwohner können in die "
    "Nebenstraßen ausweichen."
)
REFUSAL_DISCRETION = (
    "Im Rahmen des Ermessens nach § 45 Abs. 1 StVO ist eine weitere Anordnung nicht "
    "erforderlich: Das bestehende Haltverbot (Zeichen 283) sichert die Ladezone bereits; eine "
    "doppelte Beschilderung beeinträchtigte die Klarheit der Verkehrsregelung."
)
REASONS = ("move", "building_works", "delivery", "event")
CONTACTS = (
    ("Lena Vogel", "0170 1234567"),
    ("Murat Aksoy", "0151 2233445"),
    ("Heike Sommer", "06081 77812"),
)


def order_data(index: int, street: str, submitted_on: date) -> dict[str, Any]:
    """A believable no-parking zone for a move or works, starting just after the lead time."""
    start = in_force(LEAD_TIMES, submitted_on).earliest_start(submitted_on) + timedelta(days=2)
    name, phone = CONTACTS[index % len(CONTACTS)]
    company = index % 2 == 1
    data: dict[str, Any] = {
        "location": {
            "street": street,
            "house_number": str(4 + 3 * index),
            "location_description": "Parkstreifen vor dem Haus",
            "zone_length_m": str(12 + 6 * (index % 4)),
        },
        "period": {
            "start": start.isoformat(),
            "end": (start + timedelta(days=index % 3)).isoformat(),
        },
        "reason": REASONS[index % len(REASONS)],
        "signs": [{"sign": "283", "count": 2, "supplement": "7-18 h"}],
        "sign_plan": f"att:demo/vzp-{index}.pdf",
        "contact_person": {"name": name, "phone": phone},
        "applicant_kind": "company" if company else "person",
    }
    if company:
        data["company"] = "Umzüge Hochtaunus GmbH"
    return data


def _period(h: CommandHandler, case_id: UUID, town: Office) -> tuple[date, date]:
    period = h.cases.get(case_id, actor=town.clerk).data["period"]
    return date.fromisoformat(period["start"]), date.fromisoformat(period["end"])


POLICE_REMARKS = "Zufahrt für Rettungsfahrzeuge ist während der Maßnahme freizuhalten."
PARKED_PLATES = ("HG-LV 214", "HG-MS 87", "F-KA 3310", "HG-T 5")


def _hear(
    h: CommandHandler,
    case_id: UUID,
    town: Office,
    clock: FixedClock,
    authority: HeardAuthority,
) -> None:
    """The authority answers the next morning: the police with a condition, the road
    authority without."""
    clock.advance(timedelta(hours=20))
    police = authority is HeardAuthority.POLICE
    hearing = AuthorityHearingRecord(
        authority=authority,
        heard_on=berlin_date(clock.now()),
        response=(
            HearingResponse.CONSENTED_WITH_CONDITIONS if police else HearingResponse.CONSENTED
        ),
        remarks=POLICE_REMARKS if police else None,
    )
    h.handle(case_id, STEPS.named("record_authority_hearing")(hearing), town.clerk, None)


def _police_heard(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Reviewed; the police answered, the road authority not yet: no order can be made."""
    review(h, case_id, town, clock)
    _hear(h, case_id, town, clock, HeardAuthority.POLICE)


def ordered(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Reviewed, police and road authority heard (VwV-StVO zu § 45); the no-parking zone
    ordered with the standard conditions, at discretion."""
    _police_heard(h, case_id, town, clock)
    _hear(h, case_id, town, clock, HeardAuthority.ROAD_AUTHORITY)
    clock.advance(timedelta(days=1))
    decision = Decide(
        outcome="approved_with_conditions",
        justification="Für die Maßnahme ist ein vorübergehendes Haltverbot erforderlich.",
        legal_basis=LEGAL_BASIS,
        discretion=DISCRETION,
    )
    h.handle(case_id, DECIDE(decision), town.clerk, None)


def _issued(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    ordered(h, case_id, town, clock)
    notify(h, case_id, town, clock, ELECTRONIC)  # e-mailed: a move does not wait for the post


def _signs_up(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Put up on the last day the order names (three full days ahead); two cars were
    parked in the zone then, one plate noted: towing at their cost from the fourth day."""
    _issued(h, case_id, town, clock)
    start, _end = _period(h, case_id, town)
    move_to(clock, in_force(SIGN_SETUPS, start).signs_up_by(start), hour=16)
    plate = PARKED_PLATES[case_id.int % len(PARKED_PLATES)]
    report = SignsUp(
        signs_up_on=berlin_date(clock.now()),
        signs_up_at=time(7, 30),
        parked_vehicles=2,
        parked_plates=[plate],
    )
    h.handle(case_id, STEPS.named("report_signs_up")(report), town.clerk, None)


def _completed(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _signs_up(h, case_id, town, clock)
    _start, end = _period(h, case_id, town)
    move_to(clock, end + timedelta(days=1))
    removed = STEPS.named("report_signs_removed")(SignsRemoved(removed_on=berlin_date(clock.now())))
    h.handle(case_id, removed, town.clerk, None)


def _closed(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _completed(h, case_id, town, clock)
    close_when_final(h, case_id, town, clock, "Maßnahme beendet, Beschilderung entfernt.")


ORDER_SCENARIOS: tuple[Step, ...] = (
    waiting,
    _police_heard,
    ask("Bitte reichen Sie einen Verkehrszeichenplan mit Maßangaben nach."),
    _issued,
    _signs_up,
    _completed,
    _closed,
    refused_and_closed(
        "In der Straße gilt bereits ein Haltverbot; eine Anordnung ist entbehrlich.",
        legal_basis=LEGAL_BASIS,
        discretion=REFUSAL_DISCRETION,
    ),
    withdrawn("Umzugstermin verschoben."),
)
