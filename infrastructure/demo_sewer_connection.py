"""Demo sewer house connections: one in every state of the connection's life, in each town.

Every town shows the charge assessment (Kostenersatzbescheid) notified by letter, one to the
buyer of the plot; a connection the owner's contractor built, closed without a charge; leak
tests (a failed one before the defects, a passed one before the acceptance); and an
application by an architect for the owner, whose authorisation and missing longitudinal
section arrive during the review.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.case_steps import DECIDE, Decide, Notify
from domain.commands import Command
from domain.inspections import InspectionReport
from domain.services.sewer_connection import (
    STEPS,
    ChargeAssessmentBody,
    ConstructionReport,
    DetermineConnectionPoint,
    DrainagePlansReceived,
    LeakTestReport,
    OwnerAuthorisationReceived,
    PlanBody,
    SewerConnection,
)
from infrastructure.demo_steps import (
    COUNTER,
    LETTER,
    DeliveryName,
    Office,
    Step,
    ask,
    case_of,
    close_when_final,
    move_to,
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
CHARGE_NOTIFIED = STEPS.named("notify_connection_charge")
LEAK_TEST = STEPS.named("record_leak_test")
PLANS = STEPS.named("record_drainage_plans")
AUTHORISATION = STEPS.named("record_owner_authorisation")
BY_AN_ARCHITECT = 12  # the index of the application an architect makes for the owner
PLANS_DATED = date(2026, 1, 15)
BUYER = ("Jonas und Miriam Keller", "Lindenstraße 4, 61250 Usingen")
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
        "applicant_is_owner": index != BY_AN_ARCHITECT,
        # The architect's application lacks the longitudinal section (sent in later).
        "drainage_plans": [
            {"kind": "site_plan", "dated_on": PLANS_DATED.isoformat()},
            *(
                [{"kind": "longitudinal_section", "dated_on": PLANS_DATED.isoformat()}]
                if index != BY_AN_ARCHITECT
                else []
            ),
        ],
    }


def permitted(
    h: CommandHandler,
    case_id: UUID,
    town: Office,
    clock: FixedClock,
    representative: str | None = None,
) -> None:
    """Reviewed (documents that were missing arrive), the connection point set, the owner
    heard on the tree protection; permitted."""
    review(h, case_id, town, clock)
    connection = case_of(h, case_id)
    if isinstance(connection, SewerConnection) and not connection.application.applicant_is_owner:
        documents_arrive(h, case_id, town, clock)
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


def leak_test(result: str, method: str = "air") -> Callable[[date], Command]:
    """The contractor's leak test protocol (DIN EN 1610) of that day, as the clerk records it."""
    return lambda today: LEAK_TEST(
        LeakTestReport(
            tested_on=today,
            method=method,  # type: ignore[arg-type]
            result=result,  # type: ignore[arg-type]
            tester="Dichtheitsprüfung durch den Fachbetrieb (Prüfprotokoll liegt vor)",
        )
    )


_leak_failed = then(_construction_reported, timedelta(days=1), leak_test("failed"))
_defective = then(
    _leak_failed,
    timedelta(0),
    lambda today: INSPECT(
        InspectionReport(
            inspected_on=today,
            defects=["Rückstauverschluss nicht eingebaut", "Gefälle der Leitung unter 1 %"],
            remedy_by=today + timedelta(days=10),
        )
    ),
)
_leak_passed = then(_defective, timedelta(days=9), leak_test("passed", "water"))
_accepted = then(
    _leak_passed,
    timedelta(0),
    lambda today: INSPECT(InspectionReport(inspected_on=today, defects=[])),
)


def charged(debtor: tuple[str, str] | None = None, delivery: DeliveryName = LETTER) -> Step:
    """Accepted; three days on the charge is assessed (to the owner, or a buyer) and sent."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        _accepted(h, case_id, town, clock)
        clock.advance(timedelta(days=3))
        body = (
            ChargeAssessmentBody(debtor_name=debtor[0], debtor_address=debtor[1])
            if debtor
            else None
        )
        h.handle(case_id, CHARGE(body), town.clerk, None)
        notice = Notify(delivery=delivery, sent_on=today(clock))
        h.handle(case_id, CHARGE_NOTIFIED(notice), town.clerk, None)

    return step


_charged = charged()


def _closed(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Charged to the buyer of the plot, the notice handed over at the counter; once permit
    and charge are unappealable, closed."""
    charged(BUYER, COUNTER)(h, case_id, town, clock)
    charge = case_of(h, case_id).service_state()["charge_assessment"]
    move_to(clock, charge["objection_deadline"] + timedelta(days=1))
    close_when_final(h, case_id, town, clock, "Anschluss hergestellt, abgenommen und abgerechnet.")


def _built_by_the_owners_contractor(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """Built by the owner's specialist contractor under the statute: accepted, no charge."""
    _permitted(h, case_id, town, clock)
    clock.advance(timedelta(days=10))
    report = ConstructionReport(
        completed_on=today(clock), pipe_length_m=Decimal("7.40"), built_by="owner_contractor"
    )
    h.handle(case_id, CONSTRUCTION(report), town.clerk, None)
    clock.advance(timedelta(days=1))
    h.handle(case_id, leak_test("passed")(today(clock)), town.clerk, None)
    h.handle(case_id, INSPECT(InspectionReport(inspected_on=today(clock))), town.clerk, None)
    close_when_final(
        h, case_id, town, clock, "Anschluss durch Fachbetrieb des Eigentümers; kein Kostenersatz."
    )


def documents_arrive(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """For an application by someone else: the owner's authorisation and the missing
    longitudinal section arrive during the review and are recorded."""
    clock.advance(timedelta(days=2))
    authorisation = OwnerAuthorisationReceived(
        kind="power_of_attorney", signed_on=today(clock) - timedelta(days=5)
    )
    h.handle(case_id, AUTHORISATION(authorisation), town.clerk, None)
    plans = DrainagePlansReceived(
        received_on=today(clock),
        plans=[PlanBody(kind="longitudinal_section", dated_on=today(clock) - timedelta(days=3))],
    )
    h.handle(case_id, PLANS(plans), town.clerk, None)


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
    _built_by_the_owners_contractor,
    _permitted,  # BY_AN_ARCHITECT: documents arrive during the review
)
