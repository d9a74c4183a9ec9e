"""Review of dog registration and dog tax (#25): defects found, each a strict xfail.

Each test states the behaviour the file should have; its marker says what happens today.
The lead removes the marker with the fix.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.personal_data import PersonalData
from domain.services.dog_registration import Deregistration, DogRegistration, TagReturn
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


@pytest.mark.xfail(
    strict=True,
    reason="deregister_dog (dog_registration.py:842-868, _reassess :905) lets the keeper, in "
    "the portal, date a deregistration back to any day after the dog was taken in, and then "
    "re-assesses every year in tax_years: years long final and paid, outside the assessment "
    "period (ASSESSED_YEARS_BACK, § 4 KAG with § 169 AO), are withdrawn and their payments "
    "turned into refunds due. Years before the assessment period must stay as assessed (or "
    "such a date be refused / left to staff).",
)
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


@pytest.mark.xfail(
    strict=True,
    reason="_assess_year_charged (dog_registration.py:446-481), run by decide_relief after "
    "registration (:611), withdraws the Bescheid's charge and charges the new amount, but the "
    "decision is not replaced: notify then makes known a Bescheid whose operative part and "
    "particulars state 70,00 EUR while 35.00 is charged. The Bescheid made known must state "
    "the tax charged (a new decision, or the reassessment before notification re-deciding).",
)
def test_the_bescheid_made_known_states_the_tax_charged_after_a_relief_before_notice() -> None:
    town = Town()
    case = registered(town, application(relief=SHELTER))
    case.decide_relief(
        actor=CLERK,
        at=noon(DAY),
        household=town.household_of(case),
        granted=True,
        reasons="Tierheimvertrag liegt vor.",
    )
    assert dog_tax_charges(case) == [(Decimal("35.00"), "tax-year:2026")]
    case.notify(actor=CLERK, at=noon(DAY))
    decision = case.decision
    assert decision is not None
    assert decision.particulars["tax_years"] == {"2026": "35.00"}


@pytest.mark.xfail(
    strict=True,
    reason="A change after the Bescheid was made known (find_dog_dangerous, "
    "dog_registration.py:677 -> _reassess -> _assess_year_charged) raises the year's tax from "
    "70.00 to 371.00 by a new charge with a fixed due date, without any Bescheid: no new "
    "decision, no remedy notice, nothing to notify. A tax is set, and raised, only by a "
    "Bescheid made known (§ 4 KAG Hessen with §§ 122, 124, 155 AO); the raise needs an "
    "Änderungsbescheid stating the new amount, due after its Bekanntgabe.",
)
def test_a_tax_raised_after_the_bescheid_is_made_known_is_set_by_a_new_bescheid() -> None:
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
    decision = case.decision
    assert decision is not None
    assert decision.particulars["tax_years"] == {"2026": "371.00"}


@pytest.mark.xfail(
    strict=True,
    reason="DangerousDogPermitDecided (dog_registration.py:740-761) stores reliability_proof "
    "(Führungszeugnis), expertise_proof (Sachkundenachweis) and liability_insurance (insurer "
    "and policy number) as plain strings in the event store: personal data of the keeper "
    "that an erasure (crypto-shredding) cannot remove. They must be sealed as PersonalData, "
    "like the relief's proof and the new keeper.",
)
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


@pytest.mark.xfail(
    strict=True,
    reason="decide_relief (dog_registration.py:583) asks self.dangerous, but breed_listed is "
    "set only by register_dog: before registration a Rottweiler's low-income reduction is "
    "granted (ReliefDecided granted, relief on the file and in the household) though the "
    "Satzung denies it to dangerous dogs and the tax then ignores it. The listed breed must "
    "be recognised when the relief is decided, and the reduction refused (field 'granted').",
)
def test_a_listed_breed_is_refused_a_reduction_also_before_registration() -> None:
    relief = {"reason": "low_income", "proof": "Bürgergeld 2026-4", "from_day": "2026-02-16"}
    case = in_review(application(dog={"breed": "Rottweiler"}, relief=relief))
    with pytest.raises(InvalidCommand) as error:
        case.decide_relief(
            actor=CLERK, at=noon(DAY), household=None, granted=True, reasons="Nachweis liegt vor."
        )
    assert error.value.field == "granted"


@pytest.mark.xfail(
    strict=True,
    reason="DogRegistration does not override check_decision_reopenable: an objection "
    "remedied with new_decision=True sends a registered dog's file back to in_review with no "
    "decision, where register_dog is refused (this file holds the chip: "
    "ChipAlreadyRegistered), an approval by hand is refused (APPROVED_ONLY_BY_RULES), "
    "deregister_dog is not allowed and close is refused (registered): the file is stuck, "
    "no Bescheid, no new year assessed (next_tax_year None). Either refuse the reopening "
    "(field new_decision, like resident parking) or let the file decide the replacing "
    "Bescheid.",
)
def test_a_remedied_objection_does_not_leave_the_registered_dog_without_a_bescheid() -> None:
    town = Town()
    case = registered(town)
    case.notify(actor=CLERK, at=noon(DAY))
    case.lodge_objection(actor=CLERK, at=noon(DAY), grounds="Der Hund ist erst im März da.")
    refusal: InvalidCommand | None = None
    try:
        case.remedy_objection(
            actor=CLERK, at=noon(DAY), reason="Abhilfe.", extent="full", new_decision=True
        )
    except InvalidCommand as error:
        refusal = error
    if refusal is not None:  # the reopening refused: the Bescheid in force stays
        assert refusal.field == "new_decision"
        assert case.decision is not None
        return
    town.register(case)  # the replacing Bescheid, decided by the file's own step
    assert case.decision is not None
