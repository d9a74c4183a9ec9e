"""Demo road opening permits: one in every state of the permit's life, in each town."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.case_steps import DECIDE, Decide
from domain.rules.road_opening import LEAD_TIMES, in_force
from domain.services.road_opening import (
    STEPS,
    RestorationInspection,
    WorksCompleted,
    WorksStarted,
)
from infrastructure.demo_steps import (
    LETTER,
    DeliveryName,
    Office,
    Step,
    ask,
    move_to,
    notify,
    refused_and_closed,
    review,
    then,
    today,
    waiting,
    withdrawn,
)

STARTED = STEPS.named("works_started")
COMPLETED = STEPS.named("works_completed")
INSPECT = STEPS.named("inspect_restoration")
LEGAL_BASIS = "§§ 16, 18 Hessisches Straßengesetz"
CONDITIONS = (
    "Die Verkehrssicherung erfolgt nach dem genehmigten Verkehrszeichenplan.",
    "Die Oberfläche ist nach ZTV A-StB wiederherzustellen.",
)
# § 16 (1) HStrG gives discretion: the decision states what was weighed (§ 39 (1) 3 HVwVfG).
DISCRETION = (
    "Die Erteilung der Sondernutzungserlaubnis steht im pflichtgemäßen Ermessen der Gemeinde "
    "(§ 16 Abs. 1 HStrG). Das Interesse an der Versorgung der Anlieger überwiegt die "
    "vorübergehende Beeinträchtigung des Gemeingebrauchs: Die Arbeiten sind auf den "
    "beantragten Zeitraum begrenzt, Fußgänger werden über einen gesicherten Notweg geführt, "
    "die Zufahrten der Anlieger bleiben erreichbar. Mildere Mittel, etwa eine grabenlose "
    "Verlegung, sind für den kurzen Hausanschluss nicht verhältnismäßig."
)
REFUSAL = "Die Fahrbahn wurde im Vorjahr grundhaft erneuert (Aufbruchsperre)."
REFUSAL_DISCRETION = (
    "Im Rahmen des Ermessens nach § 16 Abs. 1 HStrG überwiegt das öffentliche Interesse am "
    "Erhalt der im Vorjahr grundhaft erneuerten Fahrbahn (Aufbruchsperre von fünf Jahren nach "
    "der Sondernutzungssatzung). Der Anschluss kann über den Gehweg der Nebenstraße "
    "hergestellt werden; ein Notfall, der eine Ausnahme rechtfertigte, ist nicht dargelegt."
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


def permitted(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Reviewed; the contractor heard on the conditions; permitted with them, at discretion."""
    review(h, case_id, town, clock)
    permit(h, case_id, town, clock)


def permit(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """The next day the contractor is heard on the conditions; the day after, permitted."""
    clock.advance(timedelta(days=1))
    heard_on = today(clock)  # the site manager's statement on the conditions (§ 28 HVwVfG)
    clock.advance(timedelta(days=1))
    decision = Decide(
        outcome="approved_with_conditions",
        justification="Die Leitungsarbeiten sind zur Versorgung der Anlieger erforderlich.",
        legal_basis=LEGAL_BASIS,
        conditions=list(CONDITIONS),
        hearing_held_on=heard_on,
        discretion=DISCRETION,
    )
    h.handle(case_id, DECIDE(decision), town.clerk, None)


def notified_by(delivery: DeliveryName) -> Step:
    """Permitted, and the permit sent the next day as ``delivery``."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        permitted(h, case_id, town, clock)
        clock.advance(timedelta(days=1))
        notify(h, case_id, town, clock, delivery)

    return step


_notified = notified_by(LETTER)


def refused(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Reviewed and refused: the road is under the ban on openings after its renewal."""
    review(h, case_id, town, clock)
    refusal = Decide(
        outcome="rejected",
        justification=REFUSAL,
        legal_basis="§ 16 Hessisches Straßengesetz",
        discretion=REFUSAL_DISCRETION,
    )
    h.handle(case_id, DECIDE(refusal), town.clerk, None)


def works_started(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Permitted and notified by letter; the works start on the planned day (reported next day)."""
    _notified(h, case_id, town, clock)
    start = date.fromisoformat(
        h.cases.get(case_id, actor=town.clerk).data["planned_period"]["start"]
    )
    move_to(clock, start + timedelta(days=1))
    h.handle(case_id, STARTED(WorksStarted(started_on=start)), town.clerk, None)


_works_completed = then(
    works_started,
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
    works_started,
    _works_completed,
    _defective,
    _warranty,
    refused_and_closed(
        REFUSAL,
        legal_basis="§ 16 Hessisches Straßengesetz",
        discretion=REFUSAL_DISCRETION,
    ),
    withdrawn("Maßnahme vom Versorger zurückgestellt."),
)
