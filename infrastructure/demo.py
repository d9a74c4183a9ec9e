"""Realistic demo cases in all four towns, in every state of the lifecycle; idempotent.

Each demo case has a fixed Idempotency-Key, so running the demo again finds the cases it
made instead of making more. Business time is a demo clock that starts 70 days ago, so
objection periods have run out for the cases that are meant to be final; the cases of the
legal track (infrastructure/demo_legal_track.py: every delivery, objections in every state)
start as many days ago as their periods need, up to four months for a Widerspruchsbescheid
whose month for an action must end before the decision is final.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from domain.actor import Actor, Role
from domain.case import Case
from domain.case_steps import (
    ADD_NOTE,
    CLOSE,
    DECIDE,
    LODGE_OBJECTION,
    Decide,
    LodgeObjection,
    Note,
)
from domain.decision import DecisionOutcome
from domain.working_days import BERLIN, berlin_date
from infrastructure.demo_appointments import seed_appointments
from infrastructure.demo_burial import BURIAL_SCENARIOS, burial_data
from infrastructure.demo_documents import CHANNELS_BY_TOWN, delivered_by
from infrastructure.demo_dogs import applicant as dog_keeper
from infrastructure.demo_dogs import application as dog_application
from infrastructure.demo_dogs import dog_files
from infrastructure.demo_grave_right import GRAVE_RIGHT_SCENARIOS, grave_right_data
from infrastructure.demo_headstone_permit import HEADSTONE_SCENARIOS, headstone_data
from infrastructure.demo_holiday import seed_holiday
from infrastructure.demo_legal_track import LEGAL_TRACK
from infrastructure.demo_markets import seed_markets
from infrastructure.demo_payments import payment_scenarios
from infrastructure.demo_resident_parking import PARKING_SCENARIOS
from infrastructure.demo_resident_parking import permit_data as parking_data
from infrastructure.demo_road_opening import PERMIT_SCENARIOS, permit_data
from infrastructure.demo_sewer_connection import CONNECTION_SCENARIOS, connection_data
from infrastructure.demo_steps import (
    LETTER,
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
from infrastructure.demo_traffic_sign_order import ORDER_SCENARIOS, order_data
from infrastructure.demo_water import seed_water
from infrastructure.wiring import Vorgang

REMEDY = (
    "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch "
    "erhoben werden. Der Widerspruch ist schriftlich oder zur Niederschrift beim "
    "Gemeindevorstand einzulegen."
)


@dataclass(frozen=True)
class Town:
    """Demo staff and addresses of one municipality."""

    tenant: str
    clerk: Actor
    supervisor: Actor
    postal_code: str
    city: str
    streets: tuple[str, ...]


TOWNS = (
    Town(
        "usingen",
        Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen"),
        Actor("carla.koch", "Carla Koch", Role.SUPERVISOR, "usingen"),
        "61250",
        "Usingen",
        ("Obergasse", "Weilburger Straße", "Kreuzgasse", "Neuer Weg"),
    ),
    Town(
        "neu-anspach",
        Actor("jonas.becker", "Jonas Becker", Role.CLERK, "neu-anspach"),
        Actor("petra.lang", "Petra Lang", Role.SUPERVISOR, "neu-anspach"),
        "61267",
        "Neu-Anspach",
        ("Bahnhofstraße", "Schulstraße", "Feldbergstraße", "Am Brunnen"),
    ),
    Town(
        "schmitten",
        Actor("leonie.hoffmann", "Leonie Hoffmann", Role.CLERK, "schmitten"),
        Actor("uwe.richter", "Uwe Richter", Role.SUPERVISOR, "schmitten"),
        "61389",
        "Schmitten",
        ("Parkstraße", "Dorfweilerstraße", "Arnoldshainer Weg", "Lindenweg"),
    ),
    Town(
        "glashuetten",
        Actor("tobias.wagner", "Tobias Wagner", Role.CLERK, "glashuetten"),
        Actor("sabine.meyer", "Sabine Meyer", Role.SUPERVISOR, "glashuetten"),
        "61479",
        "Glashütten",
        ("Schloßborner Weg", "Limesstraße", "Am Hang", "Talstraße"),
    ),
)

APPLICANTS = (
    ("Max Mustermann", "max.mustermann@example.org"),
    ("Erika Weber", "erika.weber@example.org"),
    ("Hans Albrecht", "h.albrecht@example.net"),
    ("Fatma Yılmaz", "fatma.yilmaz@example.org"),  # noqa: RUF001 - a Turkish name
    ("Lukas Schäfer", "lukas.schaefer@example.com"),
    ("Marie Krüger", "marie.krueger@example.org"),
    ("Dimitri Petrov", "d.petrov@example.net"),
)


def _decide(outcome: DecisionOutcome) -> Step:
    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        review(h, case_id, town, clock)
        clock.advance(timedelta(days=3))
        note = Note(text="Ortsbesichtigung durchgeführt, keine Bedenken.")
        h.handle(case_id, ADD_NOTE(note), town.clerk, None)
        with_conditions = outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
        heard_on = today(clock)  # the applicant was heard on the condition at the site visit
        clock.advance(timedelta(days=1))
        decision = Decide(
            outcome=outcome.value,
            justification=(
                "Die Voraussetzungen sind erfüllt."
                if outcome.is_approval
                else "Die beantragte Nutzung ist an diesem Ort nicht zulässig."
            ),
            legal_basis="§ 16 Hessisches Straßengesetz",
            conditions=(
                ["Die Arbeiten sind werktags zwischen 7 und 18 Uhr auszuführen."]
                if with_conditions
                else []
            ),
            hearing_held_on=heard_on if with_conditions else None,
        )
        h.handle(case_id, DECIDE(decision), town.clerk, None)
        clock.advance(timedelta(days=1))
        notify(h, case_id, town, clock, LETTER)

    return step


def _objection(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decide(DecisionOutcome.REJECTED)(h, case_id, town, clock)
    clock.advance(timedelta(days=10))
    objection = LodgeObjection(grounds="Die Ablehnung ist nicht nachvollziehbar.")
    h.handle(case_id, LODGE_OBJECTION(objection), town.clerk, None)


def _closed(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decide(DecisionOutcome.APPROVED)(h, case_id, town, clock)
    mark_final(h, case_id, town, clock)
    h.handle(case_id, CLOSE(), town.clerk, None)


SCENARIOS: tuple[tuple[str, Step], ...] = (
    ("Anfrage zur Sondernutzung", waiting),
    ("Sondernutzung Gehweg", review),
    ("Container auf öffentlicher Fläche", ask("Bitte reichen Sie einen Lageplan (1:500) nach.")),
    ("Gerüst vor Hausnummer", _decide(DecisionOutcome.APPROVED_WITH_CONDITIONS)),
    ("Werbeanlage", _objection),
    ("Umzugshalteverbot", _closed),
    ("Verkaufsstand", withdrawn("Schriftliche Rücknahme: Vorhaben erledigt.")),
)


def seed_demo(
    vorgang: Vorgang, *, now: datetime | None = None, towns: Collection[str] | None = None
) -> list[UUID]:
    """Create the demo cases that do not exist yet (of these towns: all by default)."""
    now_ = now or datetime.now(UTC)
    start = now_ - timedelta(days=70)
    ids = []
    for t_index, town in enumerate(TOWNS):
        if towns is not None and town.tenant not in towns:
            continue
        for s_index, (subject, step) in enumerate(SCENARIOS):
            clock = FixedClock(start + timedelta(days=t_index, hours=s_index))
            ids.append(_seed(vorgang, clock, town, s_index, "general", {"subject": subject}, step))
        for p_index, permit_step in enumerate(PERMIT_SCENARIOS):
            clock = FixedClock(start + timedelta(days=t_index, hours=8 + p_index))
            street = town.streets[p_index % len(town.streets)]
            data = permit_data(p_index, street, berlin_date(clock.now()))
            ids.append(
                _seed(vorgang, clock, town, 100 + p_index, "road-opening", data, permit_step)
            )
        for d_index, channel in enumerate(CHANNELS_BY_TOWN.get(town.tenant, ())):
            clock = FixedClock(start + timedelta(days=t_index, hours=8 + d_index, minutes=30))
            street = town.streets[d_index % len(town.streets)]
            data = permit_data(d_index, street, berlin_date(clock.now()))
            step = delivered_by(vorgang, channel)
            ids.append(_seed(vorgang, clock, town, 150 + d_index, "road-opening", data, step))
        for e_index, (index, paying_step) in enumerate(payment_scenarios(vorgang)):
            clock = FixedClock(start + timedelta(days=t_index, hours=12 + e_index))
            street = town.streets[e_index % len(town.streets)]
            data = permit_data(e_index, street, berlin_date(clock.now()))
            ids.append(_seed(vorgang, clock, town, index, "road-opening", data, paying_step))
        for c_index, connection_step in enumerate(CONNECTION_SCENARIOS):
            clock = FixedClock(start + timedelta(days=t_index, hours=20 + c_index))
            street = town.streets[c_index % len(town.streets)]
            data = connection_data(c_index, town.tenant, street, town.postal_code, town.city)
            ids.append(
                _seed(
                    vorgang, clock, town, 200 + c_index, "sewer-connection", data, connection_step
                )
            )
        for r_index, parking_step in enumerate(PARKING_SCENARIOS):
            clock = FixedClock(start + timedelta(days=t_index, hours=32 + r_index))
            data = parking_data(r_index, town.tenant, berlin_date(clock.now()))
            ids.append(
                _seed(vorgang, clock, town, 300 + r_index, "resident-parking", data, parking_step)
            )
        for o_index, order_step in enumerate(ORDER_SCENARIOS):
            clock = FixedClock(start + timedelta(days=t_index, hours=44 + o_index))
            street = town.streets[o_index % len(town.streets)]
            data = order_data(o_index, street, berlin_date(clock.now()))
            ids.append(
                _seed(vorgang, clock, town, 400 + o_index, "traffic-sign-order", data, order_step)
            )
        for b_index, burial_step in enumerate(BURIAL_SCENARIOS):
            clock = FixedClock(start + timedelta(days=t_index, hours=56 + b_index))
            data = burial_data(b_index, town.tenant, berlin_date(clock.now()))
            ids.append(_seed(vorgang, clock, town, 500 + b_index, "burial", data, burial_step))
        for g_index, grave_step in enumerate(GRAVE_RIGHT_SCENARIOS):
            clock = FixedClock(start + timedelta(days=t_index, hours=68 + g_index))
            data = grave_right_data(g_index, town.tenant)
            ids.append(_seed(vorgang, clock, town, 600 + g_index, "grave-right", data, grave_step))
        for h_index, headstone_step in enumerate(HEADSTONE_SCENARIOS):
            clock = FixedClock(start + timedelta(days=t_index, hours=80 + h_index))
            data = headstone_data(h_index, town.tenant)
            ids.append(
                _seed(vorgang, clock, town, 700 + h_index, "headstone-permit", data, headstone_step)
            )
        for dog in dog_files(town.tenant):
            # Each file starts on a day at an hour (Berlin time): the new keeper of a dog handed
            # over takes it in on the day the first keeper gave it away.
            day = berlin_date(start) + timedelta(days=t_index + dog.days_later)
            clock = FixedClock(datetime.combine(day, time(dog.hour), tzinfo=BERLIN))
            data = dog_application(dog, town, day)
            ids.append(
                _seed(
                    vorgang,
                    clock,
                    town,
                    dog.index,
                    "dog-registration",
                    data,
                    dog.step,
                    account=dog.keeper.account,
                    applicant=dog_keeper(dog, town),
                )
            )
        for legal in LEGAL_TRACK:
            if legal.tenant != town.tenant:
                continue
            # Each starts early enough for its periods to run out before now (8 o'clock).
            day = berlin_date(now_) - timedelta(days=legal.days_ago)
            clock = FixedClock(datetime.combine(day, time(8), tzinfo=BERLIN))
            data = legal.data(town, day)
            ids.append(_seed(vorgang, clock, town, legal.index, legal.service, data, legal.step))
        ids += seed_water(vorgang, town, now_)  # meters, campaigns and reading cases
        ids += seed_holiday(vorgang, town, now_)  # Ferienspiele: ended, drawn and open offerings
        ids += seed_markets(vorgang, town, now_)  # a Kerb selected, a Christmas market open
    if towns is None:  # today's queue in every citizens' office (office days, not cases)
        seed_appointments(vorgang, now_)
    return ids


def _seed(
    vorgang: Vorgang,
    clock: FixedClock,
    town: Town,
    index: int,
    service: str,
    data: dict[str, Any],
    step: Step,
    *,
    account: int | None = None,
    applicant: dict[str, str] | None = None,
) -> UUID:
    """One demo case: submitted by its applicant, then carried to its state (once).

    ``account``: the applicant's portal account number (the case's own number by default);
    ``applicant``: who applies (one of the demo's applicants by default).
    """
    cases = CaseService(vorgang.store, clock, vorgang.cases.identities)
    name, email = APPLICANTS[(index + TOWNS.index(town)) % len(APPLICANTS)]
    person = applicant or {
        "name": name,
        "email": email,
        "street": town.streets[index % len(town.streets)],
        "house_number": str(3 + 4 * (index % 10)),
        "postal_code": town.postal_code,
        "city": town.city,
    }
    signed_in = Actor(
        f"portal:demo-{town.tenant}-{index if account is None else account}",
        person["name"],
        Role.APPLICANT,
        town.tenant,
    )
    result = cases.submit(
        actor=signed_in,
        tenant=town.tenant,
        service=service,
        applicant=person,
        data=data,
        idempotency_key=f"demo-{town.tenant}-{index}",
    )
    if result.created:
        step(CommandHandler(cases), result.case_id, town, clock)
    return result.case_id


def demo_case_for(vorgang: Vorgang, tenant: str, index: int = 1) -> UUID:
    """The id of one demo case (for the curl example), computed like the demo computes it."""
    return vorgang.cases.identities.case_id(
        aggregate_type=Case.__name__,
        tenant=tenant,
        subject=f"portal:demo-{tenant}-{index}",
        idempotency_key=f"demo-{tenant}-{index}",
    )
