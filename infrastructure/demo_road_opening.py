"""Demo road opening permits: one in every state of the permit's life, in each town.

Each regime appears (special use, consent for a telecommunications line, permission under
civil law for a supply line); works that affect traffic start under a traffic sign order the
demo applies for and issues first and links by its reference (§ 45 (6) StVO); large openings
give a security deposit before the works, one is released after the acceptance; one permit
is extended while the works run, and a burst main is reported as emergency works.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.actor import Actor, Role
from domain.case_steps import DECIDE, Decide
from domain.rules.road_opening import LEAD_TIMES, Regime, in_force
from domain.services.road_opening import (
    STEPS,
    DepositForm,
    DepositRelease,
    ExtendPermit,
    RestorationInspection,
    RoadOpeningPermit,
    SecurityDeposit,
    SignOrderReference,
    WorksCompleted,
    WorksStarted,
)
from infrastructure import demo_traffic_sign_order
from infrastructure.demo_steps import (
    ELECTRONIC,
    LETTER,
    DeliveryName,
    Office,
    Step,
    ask,
    case_of,
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
EXTEND = STEPS.named("extend_permit")
TAKE_DEPOSIT = STEPS.named("take_security_deposit")
RELEASE_DEPOSIT = STEPS.named("release_security_deposit")
LINK_ORDER = STEPS.named("link_traffic_sign_order")
LEGAL_BASIS = "§§ 16, 18 Hessisches Straßengesetz"
TELECOM_BASIS = "§ 127 Abs. 1 TKG"
CIVIL_LAW_BASIS = "§ 20 Abs. 1 HStrG i. V. m. dem Konzessionsvertrag"
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
# By scenario: special use (other works), a telecommunications line, supply lines (civil law).
# The legal track's permits (0 to 3) take objections, so none of them is under civil law.
PURPOSES = (
    "other",
    "telecom",
    "other",
    "telecom",
    "water",
    "gas",
    "power",
    "district_heating",
    "other",
    "telecom",
    "water",
    "telecom",
    "other",
)
PURPOSE_DETAILS = {
    0: "Reparatur der privaten Grundstücksanschlussleitung",
    2: "Fundamentgrube für die Kranaufstellfläche eines Neubaus",
    8: "Baugrube für einen privaten Regenwasserschacht",
    12: "Baugrube für die Unterfangung einer Grundstücksmauer",
}
EMERGENCY = 10  # the scenario of emergency works (a burst main)


def permit_data(index: int, street: str, submitted_on: date) -> dict[str, Any]:
    """A believable application, planned to start just after the lead time."""
    company, person, phone, email = CONTRACTORS[index % len(CONTRACTORS)]
    start = in_force(LEAD_TIMES, submitted_on).earliest_start(submitted_on) + timedelta(days=2)
    if index == EMERGENCY:  # the main burst this morning: the works began at once
        start = submitted_on
    data: dict[str, Any] = {
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
    if index in PURPOSE_DETAILS:
        data["purpose_details"] = PURPOSE_DETAILS[index]
    if index == EMERGENCY:
        data["emergency_works"] = True
        data["emergency_reason"] = "Wasserrohrbruch, Fahrbahn unterspült (Gefahr im Verzug)"
        data["planned_period"]["end"] = (start + timedelta(days=14)).isoformat()
    return data


def permitted(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Reviewed; the contractor heard on the conditions; permitted with them, at discretion."""
    review(h, case_id, town, clock)
    permit(h, case_id, town, clock)


def permit(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """The next day the contractor is heard on the conditions; the day after, permitted."""
    clock.advance(timedelta(days=1))
    heard_on = today(clock)  # the site manager's statement on the conditions (§ 28 HVwVfG)
    clock.advance(timedelta(days=1))
    regime = _permit(h, case_id).regime_applied_for()
    if regime is Regime.TELECOM_CONSENT:  # bound: the consent is given when its terms are met
        decision = Decide(
            outcome="approved_with_conditions",
            justification="Die Voraussetzungen der Zustimmung zur Verlegung der "
            "Telekommunikationslinie liegen vor; die Nebenbestimmungen wahren die Belange "
            "der Straße und des Verkehrs (§ 127 TKG).",
            legal_basis=TELECOM_BASIS,
            conditions=list(CONDITIONS),
            hearing_held_on=heard_on,
        )
    elif regime is Regime.CIVIL_LAW_PERMISSION:  # the town as owner of the road
        decision = Decide(
            outcome="approved_with_conditions",
            justification="Die Leitung dient der öffentlichen Versorgung; die vorübergehende "
            "Beeinträchtigung des Gemeingebrauchs bleibt außer Betracht (§ 20 Abs. 1 HStrG).",
            legal_basis=CIVIL_LAW_BASIS,
            operative_part="Die Gemeinde gestattet als Eigentümerin der Straße die Aufgrabung "
            "zu den folgenden Bedingungen.",
            conditions=list(CONDITIONS),
            hearing_held_on=heard_on,
        )
    else:
        decision = Decide(
            outcome="approved_with_conditions",
            justification="Die Leitungsarbeiten sind zur Versorgung der Anlieger erforderlich.",
            legal_basis=LEGAL_BASIS,
            conditions=list(CONDITIONS),
            hearing_held_on=heard_on,
            discretion=DISCRETION,
        )
    h.handle(case_id, DECIDE(decision), town.clerk, None)


def _permit(h: CommandHandler, case_id: UUID) -> RoadOpeningPermit:
    case = case_of(h, case_id)
    if not isinstance(case, RoadOpeningPermit):
        raise TypeError(f"{case_id} is not a road opening permit")
    return case


def _sign_order_for(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> str:
    """The contractor applies for the traffic sign order for the works' period at once; the
    road traffic authority orders it (police and road authority heard) and e-mails it."""
    case = _permit(h, case_id)
    application = case.application
    data = demo_traffic_sign_order.order_data(1, application.site.street, today(clock))
    data["reason"] = "building_works"
    data["company"] = application.contractor.company
    data["period"] = {
        "start": application.planned_period.start.isoformat(),
        "end": application.planned_period.end.isoformat(),
    }
    contractor = Actor(
        f"portal:demo-{case.tenant}-contractor",
        application.contractor.company,
        Role.APPLICANT,
        case.tenant,
    )
    order = h.cases.submit(
        actor=contractor,
        tenant=case.tenant,
        service="traffic-sign-order",
        applicant={"name": application.contractor.company},
        data=data,
        idempotency_key=f"demo-order-for-{case.reference}",
    )
    demo_traffic_sign_order.ordered(h, order.case_id, town, clock)
    notify(h, order.case_id, town, clock, ELECTRONIC)
    return case_of(h, order.case_id).reference


def _deposit(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """The contractor's bank guarantee (Bürgschaft) for the amount the permit requires."""
    required = _permit(h, case_id).deposit_required
    if required:
        body = SecurityDeposit(
            amount=required, form=DepositForm.BANK_GUARANTEE, received_on=today(clock)
        )
        h.handle(case_id, TAKE_DEPOSIT(body), town.clerk, None)


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
    """Permitted and notified by letter; the works start on the planned day (reported next day).

    Works that affect traffic start under the traffic sign order, linked by its reference;
    a large opening's deposit is given before the works. Emergency works began before the
    report: recorded from that day, the deposit follows.
    """
    emergency = _permit(h, case_id).application.emergency_works
    order = None
    if _permit(h, case_id).application.traffic_management_needed and not emergency:
        order = _sign_order_for(h, case_id, town, clock)
    _notified(h, case_id, town, clock)
    if order is not None:
        link = LINK_ORDER(SignOrderReference(reference=order))
        h.handle(case_id, link, town.clerk, None)
    start = _permit(h, case_id).planned_period_start
    if not emergency:
        move_to(clock, start - timedelta(days=1))
        _deposit(h, case_id, town, clock)
    move_to(clock, start + timedelta(days=1))
    h.handle(case_id, STARTED(WorksStarted(started_on=start)), town.clerk, None)
    if emergency:
        _deposit(h, case_id, town, clock)


def _extended(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """The works started; rock in the trench: the permit is extended by a week."""
    works_started(h, case_id, town, clock)
    clock.advance(timedelta(days=3))
    valid_until = _permit(h, case_id).valid_until
    if valid_until is None:
        raise ValueError(f"case {case_id}: the permit has no last day")
    body = ExtendPermit(
        extended_to=valid_until + timedelta(days=7),
        reason="Felsiger Untergrund im Leitungsgraben; der Aushub dauert eine Woche länger.",
    )
    h.handle(case_id, EXTEND(body), town.clerk, None)


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


_accepted_with_deposit = then(
    then(
        works_started,
        timedelta(days=6),
        lambda today: COMPLETED(WorksCompleted(completed_on=today)),
    ),
    timedelta(days=2),
    lambda today: INSPECT(RestorationInspection(inspected_on=today, defects=[])),
)
_deposit_released = then(
    _accepted_with_deposit,
    timedelta(days=1),
    lambda today: RELEASE_DEPOSIT(DepositRelease(released_on=today)),
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
    works_started,  # emergency works: a burst main reported afterwards (EMERGENCY)
    _extended,
    _deposit_released,
)
