"""Demo road opening permits: one in every state of the permit's life, in each town."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.case_steps import DECIDE, NOTIFY, Decide
from domain.rules.road_opening import LEAD_TIMES, in_force
from domain.services.road_opening import (
    STEPS,
    RestorationInspection,
    WorksCompleted,
    WorksStarted,
)
from domain.working_days import berlin_date
from infrastructure.demo_steps import (
    Office,
    Step,
    ask,
    refused_and_closed,
    review,
    then,
    waiting,
    withdrawn,
)

STARTED = STEPS.named("works_started")
COMPLETED = STEPS.named("works_completed")
INSPECT = STEPS.named("inspect_restoration")
REMEDY = (
    "Gegen diese Erlaubnis kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben "
    "werden. Der Widerspruch ist schriftlich oder zur Niederschrift beim Magistrat bzw. "
    "Gemeindevorstand einzulegen."
)

CONTRACTORS = (
    ("Taunus Tiefbau GmbH", "Jörg Brenner", "06081 98765", "bauleitung@taunus-tiefbau.example"),
    ("Netzbau Usinger Land GmbH", "Sandra Vogt", "06081 44120", "s.vogt@netzbau-ul.example"),
    ("Glasfaser Hochtaunus GmbH & Co. KG", "Mehmet Kaya", "06084 7731", "trasse@gf-htk.example"),
    ("Rohrleitungsbau Weiltal GmbH", "Klaus Engel", "06083 2290", "engel@rlb-weiltal.example"),
)
PURPOSES = ("water", "telecom", "gas", "power", "sewer", "district_heating")


def permit_data(index: int, street: str, submitted_on: date) -> dict[str, Any]:
    """A believable application, planned to start just after the lead time."""
    company, person, phone, email = CONTRACTORS[index % len(CONTRACTORS)]
    start = in_force(LEAD_TIMES, submitted_on).earliest_start(submitted_on) + timedelta(days=2)
    return {
        "site": {
            "street": street,
            "house_number": str(2 + 3 * index),
            "location_description": "Gehweg und halbe Fahrbahn vor dem Grundstück",
        },
        "dimensions": {
            "length_m": f"{4 + index * 1.5:.2f}",
            "width_m": "0.60" if index % 2 else "1.20",
            "depth_m": "1.00",
        },
        "planned_period": {
            "start": start.isoformat(),
            "end": (start + timedelta(days=12)).isoformat(),
        },
        "purpose": PURPOSES[index % len(PURPOSES)],
        "contractor": {
            "company": company,
            "contact_person": person,
            "phone": phone,
            "email": email,
        },
        "traffic_management_needed": index % 3 != 0,
    }


def _notified(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    review(h, case_id, town, clock)
    clock.advance(timedelta(days=1))
    decision = Decide(
        outcome="approved_with_conditions",
        justification="Die Leitungsarbeiten sind zur Versorgung der Anlieger erforderlich.",
        legal_basis="§§ 16, 18 Hessisches Straßengesetz",
        legal_remedy_notice=REMEDY,
        conditions=[
            "Die Verkehrssicherung erfolgt nach dem genehmigten Verkehrszeichenplan.",
            "Die Oberfläche ist nach ZTV A-StB wiederherzustellen.",
        ],
    )
    h.handle(case_id, DECIDE(decision), town.clerk, None)
    clock.advance(timedelta(days=1))
    h.handle(case_id, NOTIFY(), town.clerk, None)


def _works_started(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _notified(h, case_id, town, clock)
    start = date.fromisoformat(
        h.cases.get(case_id, actor=town.clerk).data["planned_period"]["start"]
    )
    clock.advance(timedelta(days=(start - berlin_date(clock.now())).days + 1))
    h.handle(case_id, STARTED(WorksStarted(started_on=start)), town.clerk, None)


_works_completed = then(
    _works_started,
    timedelta(days=6),
    lambda today: COMPLETED(WorksCompleted(completed_on=today)),
)
_defective = then(
    _works_completed,
    timedelta(days=2),
    lambda today: INSPECT(
        RestorationInspection(
            inspected_on=today,
            defects=["Asphaltnaht nicht vergossen", "Bordstein abgesackt"],
            remedy_by=today + timedelta(days=14),
        )
    ),
)
_warranty = then(
    _defective,
    timedelta(days=15),
    lambda today: INSPECT(RestorationInspection(inspected_on=today, defects=[])),
)


PERMIT_SCENARIOS: tuple[Step, ...] = (
    waiting,
    review,
    ask("Bitte reichen Sie den Verkehrszeichenplan nach RSA 21 nach."),
    _notified,
    _works_started,
    _works_completed,
    _defective,
    _warranty,
    refused_and_closed(
        "Die Fahrbahn wurde im Vorjahr grundhaft erneuert (Aufbruchsperre).",
        legal_basis="§ 16 Hessisches Straßengesetz",
        remedy=REMEDY,
    ),
    withdrawn("Maßnahme vom Versorger zurückgestellt."),
)
