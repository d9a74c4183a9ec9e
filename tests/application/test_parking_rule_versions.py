"""New versions of a town's zone plan and tariff: new decisions follow them, old ones replay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from application.cases import CaseService
from application.commands import CommandHandler
from application.decision_audit import DecisionAudit
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.rules import resident_parking as rules
from domain.rules.resident_parking import ParkingTariff, ParkingZone, ZonePlan
from domain.rules.versions import STATUTES, RuleBook
from domain.services.resident_parking import example
from domain.working_days import berlin_date
from tests.conftest import CLERK
from tests.steps import in_review, take

AUDITOR = Actor("ida.roth", "Ida Roth", Role.AUDITOR, "usingen")
FROM_2027 = date(2027, 1, 1)


@pytest.fixture
def new_versions_from_2027() -> Iterator[RuleBook]:
    """From 2027 Usingen's old town loses the Obergasse and the annual fee doubles."""
    plan = rules.ZONE_PLANS["usingen"][0]
    old_town = tuple(s for s in plan.zones[0].streets if s != "Obergasse")
    smaller = ZonePlan(
        version="usingen-2027-01",
        valid_from=FROM_2027,
        zones=(
            ParkingZone("U1", "Altstadt", old_town),
            *plan.zones[1:],
        ),
    )
    fees = ParkingTariff(  # above the GebOSt: under the town's fee ordinance
        "usingen-2027-01",
        FROM_2027,
        Decimal("120.00"),
        Decimal("20.00"),
        rules.TARIFFS["usingen"][-1].ordinance,
    )
    usingen_tariffs = rules.TARIFFS["usingen"]
    book = STATUTES.amended(rules.ZONE_PLANS["usingen"], (plan, smaller)).amended(
        usingen_tariffs, (*usingen_tariffs, fees)
    )
    with book.applied():
        yield book


def issued(cases: CaseService, parking: CommandHandler, street: str, plate: str) -> UUID:
    data = example(berlin_date(cases.clock.now()))
    data["residence"]["street"] = street
    data["vehicle"]["number_plate"] = plate
    applicant = Actor(f"portal:{plate}", "Max Mustermann", Role.APPLICANT, "usingen")
    case_id = cases.submit(
        actor=applicant,
        tenant="usingen",
        service="resident-parking",
        applicant={"name": "Max Mustermann"},
        data=data,
    ).case_id
    in_review(cases, case_id)
    take(parking, case_id, "decide_by_rules", actor=CLERK)
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    return case_id


@pytest.mark.usefixtures("new_versions_from_2027")
def test_renewals_follow_the_versions_in_force_and_old_decisions_replay(
    cases: CaseService,
) -> None:
    parking = CommandHandler(cases)
    clock = cases.clock
    in_old_town = issued(cases, parking, "Obergasse", "HG-AB 1")
    at_the_station = issued(cases, parking, "Bahnhofstraße", "HG-AB 2")
    assert cases.get(at_the_station, actor=CLERK).decision["fee"] == "60.00"  # type: ignore[index]

    clock.advance(timedelta(days=340))  # February 2027: both may be renewed
    assert berlin_date(clock.now()) >= FROM_2027
    with pytest.raises(InvalidCommand) as refused:
        take(parking, in_old_town, "renew", actor=CLERK)
    assert refused.value.field == "data.residence"
    take(parking, at_the_station, "renew", actor=CLERK)
    fees = cases.get(at_the_station, actor=CLERK).service_state["fees"]
    assert [f["fee"] for f in fees] == ["60.00", "120.00"]  # the 2027 tariff

    audit = DecisionAudit(cases.store, clock)
    replay = audit.replay(in_old_town, 1, actor=AUDITOR)
    assert replay.verdict == "consistent"
    today = {d["field"]: (d["recorded"], d["replayed"]) for d in replay.today}
    assert today["fee"] == ("60.00", None)  # today's plan puts the Obergasse in no zone
    assert today["rules[resident-parking-zones].version"] == ("usingen-2025-01", "usingen-2027-01")
