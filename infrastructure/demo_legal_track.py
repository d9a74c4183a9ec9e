"""Demo cases of the legal track: every delivery, objections in every state, finality.

The legal track runs beside a service's own steps (domain/objection.py): a decision is
notified by the way it was delivered (§ 41 HVwVfG), an objection may follow within the
period (§ 70 VwGO) or late, and is remedied (§ 72 VwGO), withdrawn or decided by a
Widerspruchsbescheid (§ 73 VwGO) — after the hearing before the Anhörungsausschuss in
self-government matters (§§ 7 ff. HessAGVwGO), by the supervising authority in road traffic
matters. The decision becomes final once nothing can be lodged any more.

Each case lies in one town and starts ``days_ago`` days before the demo's now, so that the
periods it shows have run (a Widerspruchsbescheid's month for an action before finality)
and no step lies in the future. The idempotency numbers start at 800 (the service demos use
0 to 799).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.case_steps import (
    DECIDE,
    DECIDE_OBJECTION,
    FORWARD_OBJECTION,
    HEAR_OBJECTION,
    LODGE_OBJECTION,
    RECORD_REMEDY_NOTICE_DEFECT,
    REMEDY_OBJECTION,
    WITHDRAW,
    WITHDRAW_OBJECTION,
    Decide,
    DecideObjection,
    ForwardObjection,
    HearObjection,
    LodgeObjection,
    OptionalReason,
    Reason,
    RemedyObjection,
)
from domain.services.resident_parking import STEPS as PARKING_STEPS
from domain.services.resident_parking import ParkingDecision
from infrastructure import (
    demo_headstone_permit,
    demo_resident_parking,
    demo_road_opening,
    demo_sewer_connection,
    demo_traffic_sign_order,
)
from infrastructure.demo_steps import (
    COUNTER,
    ELECTRONIC,
    FORMAL_SERVICE,
    LETTER,
    PORTAL,
    DeliveryName,
    Office,
    Step,
    mark_final,
    notify,
    review,
    today,
)

OBJECTION_FEE = Decimal("60.00")  # Widerspruchsgebühr under the town's administrative costs


class Place(Protocol):
    """A town as the demo's application data need it."""

    @property
    def tenant(self) -> str:
        """The town's tenant id."""
        ...

    @property
    def streets(self) -> tuple[str, ...]:
        """Streets of the town."""
        ...

    @property
    def postal_code(self) -> str:
        """The town's postal code."""
        ...

    @property
    def city(self) -> str:
        """The town's name in addresses."""
        ...


# The application data of a demo case, made for its town on the day it is submitted.
Data = Callable[[Place, date], dict[str, Any]]


@dataclass(frozen=True)
class LegalCase:
    """One demo case of the legal track: where, which service, since when, what happens."""

    tenant: str
    index: int  # the number in the case's idempotency key (unique in the town)
    service: str
    days_ago: int  # submitted this many days before the demo's now
    data: Data
    step: Step
    shows: str  # what the case is there to show (German, as the office would say it)


# ------------------------------------------------------------------------- application data


def _road_opening(index: int, street: int) -> Data:
    return lambda place, on: demo_road_opening.permit_data(index, place.streets[street], on)


def _sewer(index: int, street: int) -> Data:
    def data(place: Place, on: date) -> dict[str, Any]:
        where = place.streets[street]
        return demo_sewer_connection.connection_data(
            index, place.tenant, where, place.postal_code, place.city
        )

    return data


def _traffic_sign_order(index: int, street: int) -> Data:
    return lambda place, on: demo_traffic_sign_order.order_data(index, place.streets[street], on)


def _headstone(index: int) -> Data:
    return lambda place, on: demo_headstone_permit.headstone_data(index, place.tenant)


def _parking(index: int, *, outside_zones: bool = False) -> Data:
    """A resident parking application with a plate no other demo case uses."""

    def data(place: Place, on: date) -> dict[str, Any]:
        application = demo_resident_parking.permit_data(index, place.tenant, on)
        if outside_zones:
            street = demo_resident_parking.OUTSIDE_EVERY_ZONE
            application["residence"] = {**application["residence"], "street": street}
        return application

    return data


def _general(subject: str, description: str) -> Data:
    return lambda place, on: {"subject": subject, "description": description}


# -------------------------------------------------------------------------------- steps


def _lodge(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock, wait: int, grounds: str
) -> None:
    """After ``wait`` days a written objection arrives; the clerk records it that day."""
    clock.advance(timedelta(days=wait))
    h.handle(case_id, LODGE_OBJECTION(LodgeObjection(grounds=grounds)), town.clerk, None)


def _decided_on_objection(
    h: CommandHandler,
    case_id: UUID,
    town: Office,
    clock: FixedClock,
    wait: int,
    outcome: Literal["dismissed", "inadmissible"],
    reasons: str,
) -> None:
    """After ``wait`` days the Widerspruchsbescheid is served, at the objector's cost with the
    objection fee; the clerk records it on the day of service."""
    clock.advance(timedelta(days=wait))
    decision = DecideObjection(
        outcome=outcome,
        reasons=reasons,
        costs_borne_by="objector",
        served_on=today(clock),
        fee=OBJECTION_FEE,
    )
    h.handle(case_id, DECIDE_OBJECTION(decision), town.clerk, None)


def _general_decision(
    outcome: Literal["approved_with_conditions", "rejected"],
    justification: str,
    conditions: tuple[str, ...] = (),
) -> Step:
    """A general request reviewed, visited, decided (the applicant heard on any condition)."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        review(h, case_id, town, clock)
        clock.advance(timedelta(days=2))
        heard_on = today(clock)  # heard at the site visit on what the decision will require
        clock.advance(timedelta(days=1))
        decision = Decide(
            outcome=outcome,
            justification=justification,
            legal_basis="§ 16 Hessisches Straßengesetz i. V. m. der Sondernutzungssatzung",
            conditions=list(conditions),
            hearing_held_on=heard_on if conditions else None,
        )
        h.handle(case_id, DECIDE(decision), town.clerk, None)

    return step


def _notified_by(decided: Step, delivery: DeliveryName) -> Step:
    """Decided, and sent the next day as ``delivery``."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        decided(h, case_id, town, clock)
        clock.advance(timedelta(days=1))
        notify(h, case_id, town, clock, delivery)

    return step


def _parking_decided(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    review(h, case_id, town, clock)
    clock.advance(timedelta(hours=2))
    decide = PARKING_STEPS.named("decide_by_rules")(ParkingDecision())
    h.handle(case_id, decide, town.clerk, None)


def _headstone_refused(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    review(h, case_id, town, clock)
    refusal = Decide(
        outcome="rejected",
        justification=demo_headstone_permit.TOO_HIGH,
        legal_basis=demo_headstone_permit.LEGAL_BASIS,
    )
    h.handle(case_id, DECIDE(refusal), town.clerk, None)


def _sewer_refused(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    review(h, case_id, town, clock)
    clock.advance(timedelta(days=3))
    refusal = Decide(
        outcome="rejected",
        justification=demo_sewer_connection.RAINWATER_REFUSAL,
        legal_basis=demo_sewer_connection.LEGAL_BASIS,
    )
    h.handle(case_id, DECIDE(refusal), town.clerk, None)


def _order_refused(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    review(h, case_id, town, clock)
    refusal = Decide(
        outcome="rejected",
        justification="Die Anlieferung ist über die Ladezone in der Kreuzgasse möglich; ein "
        "zusätzliches Haltverbot vor dem Geschäft ist nicht erforderlich.",
        legal_basis=demo_traffic_sign_order.LEGAL_BASIS,
        discretion="Im Rahmen des Ermessens nach § 45 Abs. 1 StVO überwiegt der Bedarf der "
        "Anwohner an den sechs Stellplätzen vor dem Geschäft: Die Ladezone in 40 m Entfernung "
        "ist werktags von 7 bis 11 Uhr frei und für Lieferungen dieser Größe ausgewiesen.",
    )
    h.handle(case_id, DECIDE(refusal), town.clerk, None)


def _works_run_objection(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """While the works run, the contractor objects to the fee: the works go on."""
    demo_road_opening.works_started(h, case_id, town, clock)
    _lodge(
        h,
        case_id,
        town,
        clock,
        2,
        "Die Sondernutzungsgebühr ist nach der vollen Fahrbahnbreite bemessen; aufgebrochen "
        "werden nur der Gehweg und ein Streifen von 0,60 m. Wir bitten um Neuberechnung.",
    )


def _remedied_with_new_permit(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """Refused; the objection shows an urgent repair: remedied, permitted anew, sent again.

    A fee to refund there is not: the refusal charged none (and no service records a fee
    paid before the decision is sent).
    """
    demo_road_opening.refused(h, case_id, town, clock)
    notify(h, case_id, town, clock, LETTER)
    _lodge(
        h,
        case_id,
        town,
        clock,
        6,
        "Es geht nicht um eine neue Leitung, sondern um die Reparatur des schadhaften "
        "Wasserhausanschlusses (Rohrbruch, Bestätigung des Wasserversorgers anbei). Die "
        "Sondernutzungssatzung lässt hierfür Ausnahmen von der Aufbruchsperre zu.",
    )
    clock.advance(timedelta(days=1))
    remedy = RemedyObjection(
        reason="Der Widerspruch ist begründet: Für die Beseitigung eines Rohrbruchs gilt die "
        "Ausnahme von der Aufbruchsperre. Dem Widerspruch wird in vollem Umfang abgeholfen; "
        "die Erlaubnis wird neu erteilt.",
        extent="full",
        costs_borne_by="authority",
        new_decision=True,
    )
    h.handle(case_id, REMEDY_OBJECTION(remedy), town.clerk, None)
    demo_road_opening.permit(h, case_id, town, clock)
    clock.advance(timedelta(days=1))
    notify(h, case_id, town, clock, LETTER)


def _partly_remedied(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """The owner objects to two points; the town drops one and leaves the other open."""
    demo_sewer_connection.notified_by(LETTER)(h, case_id, town, clock)
    _lodge(
        h,
        case_id,
        town,
        clock,
        9,
        "Im Bereich der Leitungstrasse stehen keine Straßenbäume, die Auflage zum Baumschutz "
        "geht daher ins Leere. Zudem ist der Anschlusspunkt am Schacht S 12-034 ungünstig; "
        "der Schacht vor dem Nachbargrundstück liegt 1,20 m tiefer.",
    )
    clock.advance(timedelta(days=8))
    remedy = RemedyObjection(
        reason="Dem Widerspruch wird insoweit abgeholfen, als die Auflage zum Baumschutz nach "
        "DIN 18920 entfällt: Die Ortsbesichtigung hat ergeben, dass im Trassenbereich keine "
        "Bäume stehen. Im Übrigen (Anschlusspunkt) wird nicht abgeholfen; der Widerspruch "
        "wird insoweit dem Anhörungsausschuss vorgelegt.",
        extent="partial",
        costs_borne_by="shared",
        new_decision=False,
        operative_part="Die Auflage zum Baumschutz nach DIN 18920 wird aufgehoben. Im Übrigen "
        "bleibt die Genehmigung unverändert.",
    )
    h.handle(case_id, REMEDY_OBJECTION(remedy), town.clerk, None)


def _objection_withdrawn_then_final(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """A refused headstone; the family objects, is advised, withdraws; the refusal is final."""
    _headstone_refused(h, case_id, town, clock)
    notify(h, case_id, town, clock, LETTER)
    _lodge(
        h,
        case_id,
        town,
        clock,
        8,
        "Das Grabmal soll dem unseres Vaters im Nachbarfeld entsprechen, das ebenfalls 1,20 m "
        "hoch ist.",
    )
    clock.advance(timedelta(days=10))
    withdrawal = OptionalReason(
        reason="Nach Beratung durch die Friedhofsverwaltung beantragt die Familie ein Grabmal "
        "von 0,95 m Höhe; der Widerspruch wird zurückgenommen."
    )
    h.handle(case_id, WITHDRAW_OBJECTION(withdrawal), town.clerk, None)
    mark_final(h, case_id, town, clock)


def _heard_and_dismissed_then_final(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """Self-government: the Anhörungsausschuss hears the objection, the town dismisses it."""
    _sewer_refused(h, case_id, town, clock)
    clock.advance(timedelta(days=1))
    notify(h, case_id, town, clock, LETTER)
    _lodge(
        h,
        case_id,
        town,
        clock,
        12,
        "Der Boden ist nach dem Baugrundgutachten nicht versickerungsfähig; das "
        "Niederschlagswasser muss in den Kanal eingeleitet werden dürfen.",
    )
    clock.advance(timedelta(days=26))
    h.handle(case_id, HEAR_OBJECTION(HearObjection(held_on=today(clock))), town.clerk, None)
    _decided_on_objection(
        h,
        case_id,
        town,
        clock,
        9,
        "dismissed",
        "Das Baugrundgutachten betrifft nur die Baugrube des Kellers. Nach seiner "
        "Anlage 3 ist eine Versickerung über eine Rigole im Gartenbereich möglich; der "
        "Anschluss- und Benutzungszwang erfasst das Niederschlagswasser daher nicht "
        "(§ 5 Abs. 3 Entwässerungssatzung).",
    )
    mark_final(h, case_id, town, clock)


def _forwarded_and_dismissed_then_final(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """Road traffic: not remedied, forwarded to the Landrat, who dismisses the objection."""
    _order_refused(h, case_id, town, clock)
    notify(h, case_id, town, clock, LETTER)
    _lodge(
        h,
        case_id,
        town,
        clock,
        7,
        "Die Ladezone ist morgens regelmäßig zugeparkt; der Lkw mit Hebebühne kann dort nicht "
        "halten. Ohne Haltverbot vor dem Geschäft ist die Anlieferung nicht möglich.",
    )
    clock.advance(timedelta(days=4))
    forward = ForwardObjection(
        reason="Nach erneuter Prüfung wird dem Widerspruch nicht abgeholfen: Die Ladezone "
        "wird werktags überwacht; Falschparker werden abgeschleppt. Vorlage an die "
        "Widerspruchsbehörde mit dem Verwaltungsvorgang."
    )
    h.handle(case_id, FORWARD_OBJECTION(forward), town.clerk, None)
    _decided_on_objection(
        h,
        case_id,
        town,
        clock,
        30,
        "dismissed",
        "Die Straßenverkehrsbehörde hat ihr Ermessen fehlerfrei ausgeübt. Die "
        "Ladezone ist für Lieferungen dieser Art ausgewiesen und wird überwacht; ein "
        "Anspruch auf ein Haltverbot vor dem eigenen Geschäft besteht nicht.",
    )
    mark_final(h, case_id, town, clock)


def _late_objection_inadmissible(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """A refusal final after the period; an objection weeks later is decided inadmissible."""
    _parking_decided(h, case_id, town, clock)
    notify(h, case_id, town, clock, COUNTER)
    mark_final(h, case_id, town, clock)
    _lodge(
        h,
        case_id,
        town,
        clock,
        12,
        "Ich wohne seit 20 Jahren hier und habe immer einen Bewohnerparkausweis erhalten.",
    )
    clock.advance(timedelta(days=2))
    forward = ForwardObjection(
        reason="Der Widerspruch ging nach Ablauf der Widerspruchsfrist ein; Gründe für eine "
        "Wiedereinsetzung sind nicht vorgetragen. Vorlage an die Widerspruchsbehörde."
    )
    h.handle(case_id, FORWARD_OBJECTION(forward), town.clerk, None)
    _decided_on_objection(
        h,
        case_id,
        town,
        clock,
        20,
        "inadmissible",
        "Der Widerspruch ist unzulässig, weil verfristet (§ 70 Abs. 1 VwGO): Der "
        "Bescheid wurde am Schalter ausgehändigt, die Monatsfrist war bei Eingang des "
        "Widerspruchs abgelaufen. Wiedereinsetzungsgründe (§ 60 VwGO) sind nicht ersichtlich.",
    )


def _remedy_notice_defective(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """The notice was missing from the letter: a year to object; an objection after a month."""
    demo_road_opening.notified_by(LETTER)(h, case_id, town, clock)
    clock.advance(timedelta(days=12))
    defect = Reason(
        reason="Dem versandten Bescheid lag die zweite Seite mit der Rechtsbehelfsbelehrung "
        "nicht bei (Vermerk der Poststelle); die Widerspruchsfrist beträgt ein Jahr "
        "(§ 58 Abs. 2 VwGO)."
    )
    h.handle(case_id, RECORD_REMEDY_NOTICE_DEFECT(defect), town.clerk, None)
    _lodge(
        h,
        case_id,
        town,
        clock,
        30,
        "Die Auflage, die Oberfläche nach ZTV A-StB auf ganzer Breite wiederherzustellen, "
        "geht über den aufgebrochenen Streifen hinaus.",
    )


def _withdrawn_after_notification(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock
) -> None:
    """An order sent; the move is called off; the applicant withdraws before it is final."""
    demo_traffic_sign_order.ordered(h, case_id, town, clock)
    notify(h, case_id, town, clock, ELECTRONIC)
    clock.advance(timedelta(days=5))
    withdrawal = OptionalReason(
        reason="Der Umzug ist abgesagt; die Anordnung wird nicht mehr benötigt."
    )
    h.handle(case_id, WITHDRAW(withdrawal), town.clerk, None)


def _final(decided: Step, delivery: DeliveryName) -> Step:
    """Decided, sent; no objection: marked final the day after the period ended."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        _notified_by(decided, delivery)(h, case_id, town, clock)
        mark_final(h, case_id, town, clock)

    return step


LEGAL_TRACK: tuple[LegalCase, ...] = (
    # One notified case per delivery (objection periods still running).
    LegalCase(
        "neu-anspach",
        800,
        "resident-parking",
        9,
        _parking(60),
        _notified_by(_parking_decided, COUNTER),
        "Bekanntgabe durch Aushändigung am Schalter",
    ),
    LegalCase(
        "schmitten",
        800,
        "headstone-permit",
        10,
        _headstone(1),
        demo_headstone_permit.permitted,
        "Bekanntgabe durch einfachen Brief (vierter Tag nach Aufgabe zur Post)",
    ),
    LegalCase(
        "glashuetten",
        800,
        "sewer-connection",
        12,
        _sewer(2, 1),
        demo_sewer_connection.notified_by(
            ELECTRONIC, representative="Ingenieurbüro Feldmann, Am Hang 7, 61479 Glashütten"
        ),
        "Bekanntgabe elektronisch an den Bevollmächtigten",
    ),
    LegalCase(
        "usingen",
        800,
        "road-opening",
        14,
        _road_opening(1, 2),
        demo_road_opening.notified_by(PORTAL),
        "Bekanntgabe durch Bereitstellung im Portal (Tag nach dem Abruf)",
    ),
    LegalCase(
        "glashuetten",
        801,
        "general",
        10,
        _general(
            "Sondernutzung für einen Werbepylon",
            "Aufstellung eines beleuchteten Werbepylons (3,50 m) auf dem Gehweg vor der "
            "Tankstelle.",
        ),
        _notified_by(
            _general_decision(
                "rejected",
                "Der Pylon verengt den Gehweg auf unter 1,50 m; die Sicherheit des "
                "Fußgängerverkehrs geht vor.",
            ),
            FORMAL_SERVICE,
        ),
        "Bekanntgabe durch Zustellung mit Postzustellungsurkunde",
    ),
    # Objections: beside the works, remedied, in part, withdrawn, decided, late.
    LegalCase(
        "neu-anspach",
        801,
        "road-opening",
        30,
        _road_opening(2, 1),
        _works_run_objection,
        "Widerspruch während der laufenden Arbeiten",
    ),
    LegalCase(
        "schmitten",
        801,
        "road-opening",
        25,
        _road_opening(0, 3),
        _remedied_with_new_permit,
        "Abhilfe in vollem Umfang, neue Erlaubnis",
    ),
    LegalCase(
        "neu-anspach",
        802,
        "sewer-connection",
        45,
        _sewer(1, 2),
        _partly_remedied,
        "Teilabhilfe; im Übrigen offen für den Anhörungsausschuss",
    ),
    LegalCase(
        "glashuetten",
        802,
        "headstone-permit",
        75,
        _headstone(2),
        _objection_withdrawn_then_final,
        "Widerspruch zurückgenommen, Bescheid bestandskräftig",
    ),
    LegalCase(
        "schmitten",
        802,
        "sewer-connection",
        120,
        _sewer(3, 0),
        _heard_and_dismissed_then_final,
        "Anhörungsausschuss, Widerspruchsbescheid (Selbstverwaltung), bestandskräftig",
    ),
    LegalCase(
        "usingen",
        801,
        "traffic-sign-order",
        120,
        _traffic_sign_order(1, 0),
        _forwarded_and_dismissed_then_final,
        "Vorlage an die Aufsichtsbehörde, Widerspruchsbescheid, bestandskräftig",
    ),
    LegalCase(
        "schmitten",
        803,
        "resident-parking",
        95,
        _parking(61, outside_zones=True),
        _late_objection_inadmissible,
        "Verspäteter Widerspruch, als unzulässig zurückgewiesen",
    ),
    LegalCase(
        "glashuetten",
        803,
        "road-opening",
        70,
        _road_opening(3, 2),
        _remedy_notice_defective,
        "Rechtsbehelfsbelehrung fehlerhaft: Jahresfrist, Widerspruch nach einem Monat",
    ),
    # Finality and withdrawal.
    LegalCase(
        "usingen",
        802,
        "general",
        60,
        _general(
            "Sondernutzung für einen Weihnachtsbaumverkauf",
            "Verkaufsstand mit Zelt (6 x 4 m) auf dem Parkplatz am Bürgerhaus, "
            "1. bis 23. Dezember.",
        ),
        _final(
            _general_decision(
                "approved_with_conditions",
                "Der Platz wird in dieser Zeit nicht anderweitig benötigt.",
                ("Die Zufahrt zum Bürgerhaus ist jederzeit freizuhalten.",),
            ),
            LETTER,
        ),
        "Bestandskräftig nach Ablauf der Widerspruchsfrist",
    ),
    LegalCase(
        "neu-anspach",
        803,
        "traffic-sign-order",
        15,
        _traffic_sign_order(0, 3),
        _withdrawn_after_notification,
        "Antrag nach Bekanntgabe zurückgenommen",
    ),
)
