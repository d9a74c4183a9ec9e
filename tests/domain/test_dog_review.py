"""Review of dog registration and dog tax (#25): the defects found, now fixed (c5d4318).

Each test states the behaviour the file should have: nothing changes the tax between the
Bescheid and its Bekanntgabe; a change after it awaits an amending notice; years before the
assessment period stay as assessed; the permit's proofs are sealed; a listed breed gets no
reduction; a registered dog's Bescheid is not reopened by a remedy.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from domain.actor import Actor, Role
from domain.errors import InvalidCommand, InvalidTransition
from domain.personal_data import PersonalData
from domain.rules.notification import Delivery
from domain.services.dog_registration import Deregistration, DogRegistration, DogStatus, TagReturn
from tests.domain.case_fixtures import CLERK, noon
from tests.domain.test_dog_registration import (
    DAY,
    KEEPER,
    PERMIT_PROOFS,
    TOWN,
    Town,
    application,
    dog_tax_charges,
    in_review,
    registered,
)

SHELTER = {"reason": "shelter_dog", "proof": "Tierheim Usingen TH-17", "from_day": "2026-02-16"}


def test_a_backdated_deregistration_does_not_reopen_years_outside_the_assessment_period() -> None:
    town = Town()
    case = registered(town)  # March to December 2026: 70.00
    case.notify(actor=CLERK, at=noon(DAY))
    household = town.household_of(case)
    for year in range(2027, 2032):
        case.assess_tax_year(actor=CLERK, at=noon(date(year, 1, 4)), household=household)
    assert case.tax_years[2027].due == Decimal("84.00")
    charged_2026 = case.tax_years[2026].kassenzeichen
    charged_2027 = case.tax_years[2027].kassenzeichen
    keeper = Actor(case.submitted_by, KEEPER, Role.APPLICANT, TOWN)
    case.deregister_dog(
        actor=keeper,
        at=noon(date(2031, 6, 2)),
        register=town.register_of(case),
        roll=town.roll,
        household=household,
        reason=Deregistration.DEATH,
        on=date(2026, 6, 15),
        tag=TagReturn.LOST,
    )
    # 2031 - 3 = 2028 is the earliest year still open to assessment
    assert case.tax_years[2026].due == Decimal("70.00")
    assert case.tax_years[2027].due == Decimal("84.00")
    assert charged_2026 not in case.withdrawn_charges
    assert charged_2027 not in case.withdrawn_charges


def test_nothing_changes_the_tax_between_the_bescheid_and_its_bekanntgabe() -> None:
    town = Town()
    case = registered(town, application(relief=SHELTER))
    household = town.household_of(case)
    changes: dict[str, Callable[[], object]] = {
        "decide_relief": lambda: case.decide_relief(
            actor=CLERK, at=noon(DAY), household=household, granted=True, reasons="Vertrag."
        ),
        "find_dog_dangerous": lambda: case.find_dog_dangerous(
            actor=CLERK, at=noon(DAY), household=household, found_on=DAY, reasons="Beißvorfall"
        ),
        "deregister_dog": lambda: case.deregister_dog(
            actor=CLERK,
            at=noon(DAY),
            register=town.register_of(case),
            roll=town.roll,
            household=household,
            reason=Deregistration.DEATH,
            on=DAY,
            tag=TagReturn.RETURNED,
        ),
        "assess_tax_year": lambda: case.assess_tax_year(
            actor=CLERK, at=noon(DAY), household=household
        ),
    }
    case.collect_events()
    for command, change in changes.items():
        with pytest.raises(InvalidTransition) as error:
            change()
        assert error.value.command == command
        assert not case.pending_events, command
    # the Bescheid made known states the tax charged
    case.notify(actor=CLERK, at=noon(DAY))
    decision = case.decision
    assert decision is not None
    assert decision.particulars["tax_years"] == {"2026": "70.00"}
    assert dog_tax_charges(case) == [(Decimal("70.00"), "decision:1")]
    assert case.changes_to_notify == []


def test_a_tax_raised_after_the_bescheid_is_made_known_awaits_an_amending_notice() -> None:
    town = Town()
    case = registered(town)
    case.notify(actor=CLERK, at=noon(DAY))
    found_on = date(2026, 5, 20)
    case.find_dog_dangerous(
        actor=CLERK,
        at=noon(found_on),
        household=town.household_of(case),
        found_on=found_on,
        reasons="Beißvorfall",
    )
    assert dog_tax_charges(case) == [(Decimal("371.00"), "tax-year:2026")]
    (raised,) = [c for c in case.charges if c.kassenzeichen == case.tax_years[2026].kassenzeichen]
    assert raised.due_on is None  # not due before a notice states it
    assert case.changes_to_notify == [2026]
    assert case.tax_changes == []
    told_on = date(2026, 5, 27)
    case.collect_events()
    case.notify_tax_change(actor=CLERK, at=noon(told_on), delivery=Delivery.COUNTER)
    (notice,) = case.collect_events()
    assert isinstance(notice, DogRegistration.TaxChangeNotified)
    assert notice.kassenzeichen == [raised.kassenzeichen]
    assert notice.notified_on == told_on
    assert notice.due_on == date(2026, 6, 27)
    assert case.changes_to_notify == []
    assert case.tax_changes == [
        {
            "years": {2026: "371.00"},
            "notified_on": told_on,
            "objection_deadline": notice.objection_deadline,
            "due_on": date(2026, 6, 27),
        }
    ]
    assert notice.objection_deadline == date(2026, 6, 29)  # 27 June is a Saturday


def test_the_permit_proofs_are_sealed_as_personal_data() -> None:
    town = Town()
    case = registered(town, application(dog={"breed": "Rottweiler"}))
    case.collect_events()
    case.decide_dangerous_dog_permit(
        actor=CLERK, at=noon(DAY), granted=True, reasons="Alles nachgewiesen.", **PERMIT_PROOFS
    )
    (decided,) = [
        e for e in case.collect_events() if isinstance(e, DogRegistration.DangerousDogPermitDecided)
    ]
    for field in ("reliability_proof", "expertise_proof", "liability_insurance"):
        value = getattr(decided, field)
        assert isinstance(value, PersonalData), (field, type(value).__name__)
        assert value.value == PERMIT_PROOFS[field]


def test_a_listed_breed_is_refused_a_reduction_also_before_registration() -> None:
    relief = {"reason": "low_income", "proof": "Bürgergeld 2026-4", "from_day": "2026-02-16"}
    case = in_review(application(dog={"breed": "Rottweiler"}, relief=relief))
    case.collect_events()
    with pytest.raises(InvalidCommand) as error:
        case.decide_relief(
            actor=CLERK, at=noon(DAY), household=None, granted=True, reasons="Nachweis liegt vor."
        )
    assert error.value.field == "granted"
    assert not case.pending_events
    assert case.relief is None


def test_a_remedied_objection_does_not_leave_the_registered_dog_without_a_bescheid() -> None:
    town = Town()
    case = registered(town)
    case.notify(actor=CLERK, at=noon(DAY))
    case.lodge_objection(actor=CLERK, at=noon(DAY), grounds="Der Hund ist erst im März da.")
    bescheid, status = case.decision, case.status
    case.collect_events()
    with pytest.raises(InvalidCommand) as error:  # the reopening refused
        case.remedy_objection(
            actor=CLERK, at=noon(DAY), reason="Abhilfe.", extent="full", new_decision=True
        )
    assert error.value.field == "new_decision"
    assert not case.pending_events
    # the Bescheid in force stays, and the tax is re-assessed by the file's own steps
    assert (case.decision, case.status) == (bescheid, status)
    assert case.registered


# ------------------------------------------------------------------ found after c5d4318


def test_an_amending_notice_is_not_sent_before_the_change_it_makes_known() -> None:
    town = Town()
    case = registered(town)
    case.notify(actor=CLERK, at=noon(DAY))
    changed_on = date(2026, 5, 20)
    case.find_dog_dangerous(
        actor=CLERK,
        at=noon(changed_on),
        household=town.household_of(case),
        found_on=changed_on,
        reasons="Beißvorfall",
    )
    case.collect_events()
    with pytest.raises(InvalidCommand) as error:
        case.notify_tax_change(
            actor=CLERK, at=noon(changed_on), delivery=Delivery.COUNTER, sent_on=DAY
        )
    assert error.value.field == "sent_on"
    assert not case.pending_events
    assert case.changes_to_notify == [2026]


def test_a_deregistered_file_is_not_closed_with_a_change_never_made_known() -> None:
    town = Town()
    case = registered(town)
    case.notify(actor=CLERK, at=noon(DAY))
    died_on = date(2026, 6, 15)
    town.deregister(case, died_on)
    assert case.changes_to_notify == [2026]
    try:
        case.close(actor=CLERK, at=noon(died_on))
    except InvalidCommand:  # refused while the change awaits its notice
        assert case.status == DogStatus.DEREGISTERED
    case.notify_tax_change(actor=CLERK, at=noon(died_on), delivery=Delivery.COUNTER)
    assert case.changes_to_notify == []
    assert [change["years"] for change in case.tax_changes] == [{2026: "28.00"}]
