"""Dog registration and dog tax: the case's steps with in-memory register, roll and household.

The application's dates and chip; the Hundesteuerbescheid decided with the entry in the
register (first and second dog, an exempt dog, tax paid elsewhere credited, a listed breed);
a dog found dangerous and its permit; a lost tag; deregistration ending the tax with the
month; a new year assessed; and every year's tax replaying from its recorded inputs.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from domain.actor import Actor, Role
from domain.errors import InvalidCommand, InvalidTransition
from domain.lifecycle import CaseStatus
from domain.personal_data import PersonalData, Subjects
from domain.personal_fields import personal_data_of
from domain.rules.dog_tax import replay_year
from domain.rules.notification import Delivery, rule_on
from domain.services.dog_application import DogRegistrationApplication, example
from domain.services.dog_register import DogHousehold, DogRegister, TaxTagRoll, tag_roll_id
from domain.services.dog_registration import (
    DOG_TAX_LEDGER,
    SERVICE_ID,
    TAG_FEE_LEDGER,
    Deregistration,
    DogRegistration,
    DogStatus,
    TagReturn,
)
from domain.working_days import add_months
from tests.domain.case_fixtures import CLERK, noon

TOWN = "usingen"
DAY = date(2026, 3, 2)  # a Monday; the dog was taken in on 16 February: taxed from March
KEEPER = "Erika Weber"
PERMIT_PROOFS: dict[str, Any] = {
    "reliability_proof": "Führungszeugnis vom 02.03.2026",
    "expertise_proof": "Sachkundenachweis Nr. 2026-117",
    "temperament_test_passed_on": date(2026, 2, 20),
    "liability_insurance": "Taunus Versicherung AG, Police 4711-0815",
}


class Town:
    """Usingen's registers of chips, its roll of tax tags and its keepers' households."""

    def __init__(self) -> None:
        self.registers: dict[str, DogRegister] = {}
        self.roll = TaxTagRoll.start(id=tag_roll_id(TOWN), tenant=TOWN)
        self.households: dict[str, DogHousehold] = {}

    def register_of(self, case: DogRegistration) -> DogRegister:
        """The register entry of the case's chip."""
        return self.registers.setdefault(case.chip(), DogRegister.start(id=uuid4(), tenant=TOWN))

    def household_of(self, case: DogRegistration) -> DogHousehold:
        """The household of the case's keeper."""
        return self.households.setdefault(
            case.keeper_key(), DogHousehold.start(id=uuid4(), tenant=TOWN)
        )

    def register(self, case: DogRegistration, day: date = DAY) -> None:
        """The clerk enters the dog in the register on ``day``."""
        case.register_dog(
            actor=CLERK,
            at=noon(day),
            register=self.register_of(case),
            roll=self.roll,
            household=self.household_of(case),
        )

    def deregister(self, case: DogRegistration, day: date, **details: Any) -> None:
        """The clerk deregisters the dog on ``day`` (the dog died that day by default)."""
        arguments: dict[str, Any] = {
            "reason": Deregistration.DEATH,
            "on": day,
            "tag": TagReturn.RETURNED,
            **details,
        }
        case.deregister_dog(
            actor=CLERK,
            at=noon(day),
            register=self.register_of(case),
            roll=self.roll,
            household=self.household_of(case),
            **arguments,
        )


def application(day: date = DAY, **changes: Any) -> dict[str, Any]:
    """The catalogue's example of the day, taken in on 16 February, with changes merged in."""
    data = example(day)
    data["taken_in_on"] = "2026-02-16"
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def submitted_dog(
    data: dict[str, Any] | None = None, *, keeper: str = KEEPER, day: date = DAY, number: int = 2
) -> DogRegistration:
    """A dog registration submitted at noon on ``day``, its personal data marked."""
    form = DogRegistrationApplication.model_validate(data or application(day))
    form.check(day)
    case_id = uuid4()
    case = DogRegistration.submit(
        case_id=case_id,
        actor=Actor(f"portal:{number}", keeper, Role.APPLICANT, TOWN),
        at=noon(day),
        tenant=TOWN,
        service=SERVICE_ID,
        reference=f"USI-2026-{number:06d}",
        applicant={"name": PersonalData(case_id, Subjects.APPLICANT, keeper)},
        data=personal_data_of(form, case_id=case_id, subject=Subjects.APPLICANT),
        request_fingerprint="f" * 64,
    )
    assert isinstance(case, DogRegistration)
    return case


def in_review(data: dict[str, Any] | None = None, **options: Any) -> DogRegistration:
    """Submitted, complete and claimed by the clerk."""
    case = submitted_dog(data, **options)
    day = options.get("day", DAY)
    case.claim(actor=CLERK, at=noon(day))
    case.confirm_complete(actor=CLERK, at=noon(day))
    return case


def registered(town: Town, data: dict[str, Any] | None = None, **options: Any) -> DogRegistration:
    """In the register since the day of submission, its Bescheid decided."""
    case = in_review(data, **options)
    town.register(case, options.get("day", DAY))
    return case


def notified(town: Town, data: dict[str, Any] | None = None, **options: Any) -> DogRegistration:
    """Registered, its Bescheid handed over the same day: the tax may change from now on."""
    case = registered(town, data, **options)
    case.notify(actor=CLERK, at=noon(options.get("day", DAY)))
    assert case.status == CaseStatus.NOTIFIED
    return case


def dog_tax_charges(case: DogRegistration) -> list[tuple[Decimal, str]]:
    """The dog tax charged and not withdrawn: (amount, what assessed it)."""
    return [
        (charge.amount, charge.refers_to)
        for charge in case.charges
        if charge.ledger == DOG_TAX_LEDGER and charge.kassenzeichen not in case.withdrawn_charges
    ]


def refused(case: DogRegistration, field: str, command: Any) -> None:
    """The command is refused on ``field`` and leaves no event behind."""
    case.collect_events()
    version = case.version
    with pytest.raises(InvalidCommand) as error:
        command()
    assert error.value.field == field, error.value
    assert not case.pending_events
    assert case.version == version


def year_assessments(case: DogRegistration) -> list[DogRegistration.TaxYearAssessed]:
    """The case's TaxYearAssessed events so far (collected: the case keeps none pending)."""
    return [e for e in case.collect_events() if isinstance(e, DogRegistration.TaxYearAssessed)]


# ------------------------------------------------------------------ the application


@pytest.mark.parametrize("chip", ["276098106123456", "276 098 106 123 456", "276-098-106.123456"])
def test_a_chip_of_fifteen_digits_is_accepted_in_any_usual_spelling(chip: str) -> None:
    form = DogRegistrationApplication.model_validate(application(dog={"chip": chip}))
    assert "".join(c for c in str(form.dog.chip) if c.isdigit()) == "276098106123456"


@pytest.mark.parametrize("chip", ["27609810612345", "2760981061234567", "276098106I23456", ""])
def test_a_chip_without_fifteen_digits_is_refused(chip: str) -> None:
    with pytest.raises(ValidationError) as error:
        DogRegistrationApplication.model_validate(application(dog={"chip": chip}))
    assert error.value.errors()[0]["loc"] == ("dog", "chip")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"keeper": {"born_on": "2026-03-03"}}, "data.keeper.born_on"),
        ({"dog": {"born_on": "2026-03-03"}, "taken_in_on": "2026-03-04"}, "data.dog.born_on"),
        ({"dog": {"born_on": "2026-01-10"}, "taken_in_on": "2026-01-09"}, "data.taken_in_on"),
        ({"taken_in_on": "2026-04-03"}, "data.taken_in_on"),  # more than a month ahead
        (
            {
                "paid_elsewhere": {
                    "municipality": "Neu-Anspach",
                    "year": 2027,
                    "months": [1],
                    "amount": "6.00",
                }
            },
            "data.paid_elsewhere.year",
        ),
    ],
)
def test_dates_that_cannot_be_are_refused_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    form = DogRegistrationApplication.model_validate(application(**changes))
    with pytest.raises(InvalidCommand) as error:
        form.check(DAY)
    assert error.value.field == field


def test_a_dog_taken_in_within_a_month_from_now_may_be_registered_ahead() -> None:
    form = DogRegistrationApplication.model_validate(application(taken_in_on="2026-04-01"))
    form.check(DAY)  # 30 days ahead


def test_tax_paid_elsewhere_names_each_month_once() -> None:
    paid = {"municipality": "Neu-Anspach", "year": 2026, "months": [3, 4, 3], "amount": "12.00"}
    with pytest.raises(ValidationError, match="months must not repeat"):
        DogRegistrationApplication.model_validate(application(paid_elsewhere=paid))
    paid["months"] = [3, 4]
    DogRegistrationApplication.model_validate(application(paid_elsewhere=paid))


def test_a_relief_must_not_end_before_it_starts() -> None:
    relief = {
        "reason": "shelter_dog",
        "proof": "TH-2026-17",
        "from_day": "2026-03-01",
        "until": "2026-02-28",
    }
    with pytest.raises(ValidationError, match="until must not lie before from_day"):
        DogRegistrationApplication.model_validate(application(relief=relief))


# ------------------------------------------------------------------ the Bescheid


def test_a_first_dog_is_registered_tagged_and_taxed_from_the_month_after_it_was_taken_in() -> None:
    town = Town()
    case = registered(town)
    assert case.status == CaseStatus.DECIDED
    assert case.registered
    assert case.tag == 1
    assert case.tags == [1]
    assert town.register_of(case).current_case == case.id
    assert town.roll.holders == {1: case.id}
    assert set(town.household_of(case).dogs) == {case.id}
    # March to December at Usingen's first dog rate of 84.00 a year: 10 x 7.00
    decision = case.decision
    assert decision is not None
    assert decision.outcome.is_approval
    assert decision.fee == Decimal("70.00")
    assert decision.particulars == {"tag": 1, "tax_years": {"2026": "70.00"}}
    tenor = decision.operative_part
    assert isinstance(tenor, PersonalData)
    assert "Steuermarke Nr. 1" in tenor.value
    assert "2026: 70,00 EUR" in tenor.value
    assert "gilt für die folgenden Jahre fort" in tenor.value
    assert dog_tax_charges(case) == [(Decimal("70.00"), "decision:1")]
    assert case.tax_years[2026].due == Decimal("70.00")
    assert case.tax_years[2026].kassenzeichen == case.charges[0].kassenzeichen
    assert case.changes_to_notify == []  # the Bescheid makes its own years known
    assert case.replay_terms(decision).fee == decision.fee


def test_a_dog_taken_in_last_year_is_assessed_and_charged_for_each_year() -> None:
    town = Town()
    case = registered(town, application(taken_in_on="2025-09-20"))
    # October to December 2025: 3 x 7.00; 2026 in full: 84.00
    assert {year: entry.due for year, entry in case.tax_years.items()} == {
        2025: Decimal("21.00"),
        2026: Decimal("84.00"),
    }
    assert sorted(dog_tax_charges(case)) == [
        (Decimal("21.00"), "decision:1"),
        (Decimal("84.00"), "decision:1"),
    ]
    assert len({entry.kassenzeichen for entry in case.tax_years.values()}) == 2
    decision = case.decision
    assert decision is not None
    assert decision.fee == Decimal("105.00")
    assert case.replay_terms(decision).fee == decision.fee


def test_a_second_dog_of_the_household_pays_the_second_dog_rate() -> None:
    town = Town()
    first = registered(town, application(taken_in_on="2026-01-10"), number=1)
    second = registered(town, application(dog={"chip": "276098100000002"}), number=2)
    assert town.household_of(first) is town.household_of(second)
    # the second dog from March: 132.00 a year, 10 x 11.00
    assert second.tax_years[2026].due == Decimal("110.00")
    assert dog_tax_charges(second) == [(Decimal("110.00"), "decision:1")]
    assert second.service_state()["registered_dogs_in_household"] == 2
    assert (second.tag, first.tag) == (2, 1)
    other = registered(
        town, application(dog={"chip": "276098100000003"}), keeper="Hans Albrecht", number=3
    )
    assert other.tax_years[2026].due == Decimal("70.00")  # another keeper: a first dog


def test_an_exempt_assistance_dog_does_not_count_towards_the_number_of_dogs() -> None:
    town = Town()
    relief = {
        "reason": "assistance_dog",
        "proof": "Bescheid Versorgungsamt 2025-33",
        "from_day": "2026-01-01",
    }
    assistance = in_review(application(taken_in_on="2026-01-10", relief=relief), number=1)
    assistance.decide_relief(
        actor=CLERK, at=noon(DAY), household=None, granted=True, reasons="Nachweis liegt vor."
    )
    town.register(assistance)
    assert assistance.tax_years[2026].due == Decimal("0.00")
    assert assistance.tax_years[2026].kassenzeichen is None
    assert dog_tax_charges(assistance) == []  # nothing charged for nothing due
    second = registered(town, application(dog={"chip": "276098100000002"}), number=2)
    assert second.tax_years[2026].due == Decimal("70.00")  # the first dog's rate


def test_tax_paid_to_another_town_for_the_same_months_is_credited() -> None:
    town = Town()
    paid = {"municipality": "Neu-Anspach", "year": 2026, "months": [3, 4], "amount": "14.00"}
    case = registered(town, application(paid_elsewhere=paid))
    assert case.tax_years[2026].due == Decimal("56.00")
    assert case.tax_years[2026].rules.inputs["credit"] == "14.00"
    assert dog_tax_charges(case) == [(Decimal("56.00"), "decision:1")]


def test_tax_paid_elsewhere_for_months_not_taxed_here_is_not_credited() -> None:
    town = Town()
    paid = {"municipality": "Neu-Anspach", "year": 2026, "months": [1, 2], "amount": "12.00"}
    case = registered(town, application(paid_elsewhere=paid))
    assert case.tax_years[2026].due == Decimal("70.00")


def test_a_dog_found_dangerous_pays_the_dangerous_rate_from_the_month_after() -> None:
    town = Town()
    case = notified(town)
    found_on = date(2026, 5, 20)
    first_charge = case.charges[0].kassenzeichen
    case.find_dog_dangerous(
        actor=CLERK,
        at=noon(found_on),
        household=town.household_of(case),
        found_on=found_on,
        reasons="Beißvorfall",
    )
    assert case.dangerous
    assert not case.breed_listed
    # March to May at 84.00 a year (3 x 7.00), June to December at 600.00 (7 x 50.00)
    assert case.tax_years[2026].due == Decimal("371.00")
    assert first_charge in case.withdrawn_charges
    assert dog_tax_charges(case) == [(Decimal("371.00"), "tax-year:2026")]
    # the raise awaits its amending notice: undated until that notice is made known
    assert case.charges[-1].due_on is None
    assert case.changes_to_notify == [2026]
    assert town.household_of(case).dogs[case.id].dangerous_from == found_on
    refused(
        case,
        "found_on",
        lambda: case.find_dog_dangerous(
            actor=CLERK, at=noon(found_on), household=None, found_on=found_on, reasons="noch einmal"
        ),
    )


def test_a_dog_found_dangerous_before_registration_is_taxed_so_from_the_month_after() -> None:
    town = Town()
    case = in_review(application(taken_in_on="2026-01-10"))
    case.find_dog_dangerous(
        actor=CLERK, at=noon(DAY), household=None, found_on=date(2026, 2, 25), reasons="Angriff"
    )
    town.register(case)
    # February at 7.00, March to December at 50.00
    assert case.tax_years[2026].due == Decimal("507.00")


def test_a_listed_breed_is_dangerous_from_the_start_and_gets_no_shelter_reduction() -> None:
    town = Town()
    relief = {"reason": "shelter_dog", "proof": "Tierheim Usingen TH-17", "from_day": "2026-02-16"}
    case = in_review(application(dog={"breed": "Rottweiler-Mischling"}, relief=relief))
    town.register(case)
    case.notify(actor=CLERK, at=noon(DAY))
    assert case.breed_listed
    assert case.dangerous
    # March to December at the dangerous dog's 600.00 a year: 10 x 50.00, nothing off
    assert case.tax_years[2026].due == Decimal("500.00")
    assert town.household_of(case).dogs[case.id].dangerous_from is None
    decision = case.decision
    assert decision is not None
    assert "HundeVO" in decision.justification.value  # type: ignore[union-attr]
    refused(
        case,
        "granted",
        lambda: case.decide_relief(
            actor=CLERK,
            at=noon(DAY),
            household=town.household_of(case),
            granted=True,
            reasons="Tierheimvertrag",
        ),
    )


def test_a_shelter_dog_not_dangerous_pays_half_for_the_satzungs_months() -> None:
    town = Town()
    relief = {"reason": "shelter_dog", "proof": "Tierheim Usingen TH-17", "from_day": "2026-02-16"}
    case = notified(town, application(relief=relief))
    assert case.tax_years[2026].due == Decimal("70.00")  # applied for, not yet granted
    case.decide_relief(
        actor=CLERK,
        at=noon(DAY),
        household=town.household_of(case),
        granted=True,
        reasons="Tierheimvertrag liegt vor.",
    )
    assert case.tax_years[2026].due == Decimal("35.00")
    assert dog_tax_charges(case) == [(Decimal("35.00"), "tax-year:2026")]
    assert case.changes_to_notify == [2026]


# ------------------------------------------------------------------ the permit


def test_the_permit_is_refused_for_a_dog_that_is_not_dangerous() -> None:
    case = registered(Town())
    refused(
        case,
        "granted",
        lambda: case.decide_dangerous_dog_permit(
            actor=CLERK, at=noon(DAY), granted=True, reasons="r", **PERMIT_PROOFS
        ),
    )


def test_the_permit_is_refused_for_a_keeper_under_eighteen() -> None:
    young = application(dog={"breed": "Rottweiler"}, keeper={"born_on": "2008-03-03"})
    case = registered(Town(), young)  # 17 on 2 March 2026, of age the next day
    refused(
        case,
        "granted",
        lambda: case.decide_dangerous_dog_permit(
            actor=CLERK, at=noon(DAY), granted=True, reasons="r", **PERMIT_PROOFS
        ),
    )
    case.decide_dangerous_dog_permit(
        actor=CLERK, at=noon(DAY + timedelta(days=1)), granted=True, reasons="r", **PERMIT_PROOFS
    )
    assert case.permit is not None
    assert case.permit["granted"]


@pytest.mark.parametrize("missing", sorted(PERMIT_PROOFS))
def test_the_permit_is_granted_only_with_every_proof(missing: str) -> None:
    case = registered(Town(), application(dog={"breed": "American Staffordshire Terrier"}))
    proofs = {**PERMIT_PROOFS, missing: None}
    refused(
        case,
        missing,
        lambda: case.decide_dangerous_dog_permit(
            actor=CLERK, at=noon(DAY), granted=True, reasons="r", **proofs
        ),
    )
    case.decide_dangerous_dog_permit(
        actor=CLERK, at=noon(DAY), granted=False, reasons="Nachweise fehlen", **proofs
    )
    assert case.permit is not None
    assert not case.permit["granted"]


def test_the_permit_waits_for_the_dog_to_be_registered_with_its_chip() -> None:
    case = in_review()
    case.find_dog_dangerous(
        actor=CLERK, at=noon(DAY), household=None, found_on=DAY, reasons="Beißvorfall"
    )
    case.collect_events()
    with pytest.raises(InvalidTransition):
        case.decide_dangerous_dog_permit(
            actor=CLERK, at=noon(DAY), granted=True, reasons="r", **PERMIT_PROOFS
        )
    assert not case.pending_events
    assert case.permit is None


# ------------------------------------------------------------------ the tag


def test_a_lost_tag_is_replaced_by_the_next_number_for_the_fee() -> None:
    town = Town()
    case = registered(town)
    later = date(2026, 4, 7)
    new = case.replace_lost_tag(actor=CLERK, at=noon(later), roll=town.roll)
    assert new == 2
    assert case.tag == 2
    assert case.tags == [1, 2]
    assert town.roll.withdrawn == {1: "lost"}
    assert town.roll.holders == {2: case.id}
    fee = case.charges[-1]
    assert (fee.ledger, fee.amount, fee.refers_to) == (TAG_FEE_LEDGER, Decimal("5.00"), "tag:2")
    assert fee.due_on == add_months(later, 1)
    assert dog_tax_charges(case) == [(Decimal("70.00"), "decision:1")]  # the tax untouched


def test_the_keeper_may_report_the_lost_tag_themself() -> None:
    town = Town()
    case = registered(town)
    keeper = Actor(case.submitted_by, KEEPER, Role.APPLICANT, TOWN)
    assert case.replace_lost_tag(actor=keeper, at=noon(DAY), roll=town.roll) == 2


# ------------------------------------------------------------------ deregistration


def test_deregistration_ends_the_tax_with_the_month_and_replaces_the_years_charge() -> None:
    town = Town()
    case = notified(town)
    earlier = case.tax_years[2026].kassenzeichen
    died_on = date(2026, 6, 15)
    town.deregister(case, died_on)
    assert case.status == DogStatus.DEREGISTERED
    assert not case.registered
    assert case.tag is None
    # March to June: 4 x 7.00
    assert case.tax_years[2026].due == Decimal("28.00")
    assert earlier is not None
    assert case.withdrawn_charges == {earlier}
    assert dog_tax_charges(case) == [(Decimal("28.00"), "tax-year:2026")]
    assert case.changes_to_notify == [2026]
    assert town.register_of(case).current_case is None
    assert town.roll.holders == {}
    assert town.roll.withdrawn == {1: "returned"}
    assert town.household_of(case).dogs[case.id].left_on == died_on


def test_a_handover_and_a_move_name_the_new_keeper_and_the_new_town() -> None:
    town = Town()
    handed = notified(town, number=1)
    town.deregister(
        handed, DAY, reason=Deregistration.HANDOVER, new_keeper="Jonas Weber, Hauptstraße 3"
    )
    assert handed.deregistration == "handover"
    moved = notified(town, application(dog={"chip": "276098100000002"}), number=2)
    town.deregister(
        moved, DAY, reason=Deregistration.MOVED_AWAY, moved_to="Neu-Anspach", tag=TagReturn.LOST
    )
    assert moved.deregistration == "moved_away"
    assert town.roll.withdrawn == {1: "returned", 2: "lost"}


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"on": DAY + timedelta(days=1)}, "on"),
        ({"on": date(2026, 2, 15)}, "on"),  # before the dog was taken in
        ({"reason": Deregistration.HANDOVER}, "new_keeper"),
        ({"reason": Deregistration.MOVED_AWAY}, "moved_to"),
    ],
)
def test_a_deregistration_that_cannot_be_is_refused_changing_nothing(
    details: dict[str, Any], field: str
) -> None:
    town = Town()
    case = notified(town)
    town.roll.collect_events()
    arguments: dict[str, Any] = {"reason": Deregistration.DEATH, "on": DAY, **details}
    refused(
        case,
        field,
        lambda: case.deregister_dog(
            actor=CLERK,
            at=noon(DAY),
            register=town.register_of(case),
            roll=town.roll,
            household=town.household_of(case),
            tag=TagReturn.RETURNED,
            **arguments,
        ),
    )
    assert case.registered
    assert town.register_of(case).current_case == case.id
    assert not town.roll.pending_events
    assert town.household_of(case).dogs[case.id].left_on is None


def test_a_registered_dog_is_deregistered_not_withdrawn() -> None:
    case = registered(Town())
    keeper = Actor(case.submitted_by, KEEPER, Role.APPLICANT, TOWN)
    refused(case, "status", lambda: case.withdraw(actor=keeper, at=noon(DAY)))
    before = in_review()
    before.withdraw(actor=Actor(before.submitted_by, KEEPER, Role.APPLICANT, TOWN), at=noon(DAY))
    assert before.status == CaseStatus.WITHDRAWN


def test_the_file_of_a_registered_dog_stays_open_until_it_is_deregistered() -> None:
    town = Town()
    case = registered(town)
    case.notify(actor=CLERK, at=noon(DAY))
    assert case.objection_deadline is not None
    later = case.objection_deadline + timedelta(days=1)
    case.mark_final(actor=CLERK, at=noon(later))
    assert case.status == CaseStatus.FINAL
    refused(case, "status", lambda: case.close(actor=CLERK, at=noon(later)))
    town.deregister(case, later)
    # the deregistration lowered the year's tax: closed only once that notice is made known
    refused(case, "changes_to_notify", lambda: case.close(actor=CLERK, at=noon(later)))
    case.notify_tax_change(actor=CLERK, at=noon(later), delivery=Delivery.COUNTER)
    case.close(actor=CLERK, at=noon(later))
    assert case.status == CaseStatus.CLOSED


# ------------------------------------------------------------------ the amending notice


def found_dangerous(town: Town, case: DogRegistration, found_on: date) -> None:
    """The dog is found dangerous on ``found_on``, recorded that day."""
    case.find_dog_dangerous(
        actor=CLERK,
        at=noon(found_on),
        household=town.household_of(case),
        found_on=found_on,
        reasons="Beißvorfall",
    )


def notify_change(
    case: DogRegistration, day: date, delivery: Delivery = Delivery.COUNTER, **more: Any
) -> DogRegistration.TaxChangeNotified:
    """The amending notice made known on ``day``: its event (the case keeps none pending)."""
    case.collect_events()
    case.notify_tax_change(actor=CLERK, at=noon(day), delivery=delivery, **more)
    (notice,) = case.collect_events()
    assert isinstance(notice, DogRegistration.TaxChangeNotified)
    return notice


def test_an_amending_notice_by_letter_dates_the_raise_a_month_after_its_bekanntgabe() -> None:
    town = Town()
    case = notified(town)
    found_dangerous(town, case, date(2026, 5, 20))
    (raised,) = [c for c in case.charges if c.kassenzeichen == case.tax_years[2026].kassenzeichen]
    assert (raised.amount, raised.due_on) == (Decimal("371.00"), None)
    posted = date(2026, 5, 21)  # a Thursday
    notice = notify_change(case, posted, Delivery.LETTER)
    # the fourth day after posting is Whit Monday (25 May 2026): the next working day counts
    notified_on = date(2026, 5, 26)
    assert notified_on == rule_on(posted).notified_on(Delivery.LETTER, posted, None)
    assert notice.notified_on == notified_on
    assert notice.due_on == date(2026, 6, 26) == add_months(notified_on, 1)
    assert notice.objection_deadline == date(2026, 6, 26)
    assert (notice.delivery, notice.sent_on, notice.received_on) == ("letter", posted, None)
    assert notice.rules.inputs["notified_on"] == "2026-05-26"
    assert notice.kassenzeichen == [raised.kassenzeichen]
    assert (notice.years, notice.amounts) == ([2026], ["371.00"])
    assert case.changes_to_notify == []
    made_known = {
        "years": {2026: "371.00"},
        "notified_on": notified_on,
        "objection_deadline": date(2026, 6, 26),
        "due_on": date(2026, 6, 26),
    }
    assert case.tax_changes == [made_known]
    state = case.service_state()
    assert (state["changes_to_notify"], state["tax_changes"]) == ([], [made_known])


def test_an_amending_notice_is_refused_while_no_change_awaits_it() -> None:
    town = Town()
    case = registered(town)
    with pytest.raises(InvalidTransition):  # not before the Bescheid itself is made known
        case.notify_tax_change(actor=CLERK, at=noon(DAY), delivery=Delivery.COUNTER)
    case.notify(actor=CLERK, at=noon(DAY))

    def nothing() -> None:
        case.notify_tax_change(actor=CLERK, at=noon(DAY), delivery=Delivery.COUNTER)

    refused(case, "years", nothing)
    found_dangerous(town, case, DAY)
    notify_change(case, DAY)
    refused(case, "years", nothing)  # made known once


def test_an_amending_notice_sent_in_the_future_is_refused() -> None:
    town = Town()
    case = notified(town)
    found_dangerous(town, case, DAY)
    refused(
        case,
        "sent_on",
        lambda: case.notify_tax_change(
            actor=CLERK,
            at=noon(DAY),
            delivery=Delivery.LETTER,
            sent_on=DAY + timedelta(days=1),
        ),
    )
    assert case.changes_to_notify == [2026]
    assert case.tax_changes == []


def test_a_second_change_after_a_notice_waits_for_a_second_notice() -> None:
    town = Town()
    case = notified(town)
    found_dangerous(town, case, date(2026, 5, 20))
    first = notify_change(case, date(2026, 5, 20))
    town.deregister(case, date(2026, 8, 14))
    # March to May at 7.00, June to August at 50.00
    assert case.tax_years[2026].due == Decimal("171.00")
    assert case.changes_to_notify == [2026]
    (lowered,) = [c for c in case.charges if c.kassenzeichen == case.tax_years[2026].kassenzeichen]
    assert lowered.due_on is None
    assert first.kassenzeichen[0] in case.withdrawn_charges
    second = notify_change(case, date(2026, 8, 14))
    assert second.kassenzeichen == [lowered.kassenzeichen]
    assert (second.years, second.amounts) == ([2026], ["171.00"])
    assert second.due_on == date(2026, 9, 14)
    assert [change["years"] for change in case.tax_changes] == [
        {2026: "371.00"},
        {2026: "171.00"},
    ]
    assert case.changes_to_notify == []


# ------------------------------------------------------------------ the years


def test_a_new_year_is_assessed_and_charged_due_on_first_july() -> None:
    town = Town()
    case = registered(town)
    case.notify(actor=CLERK, at=noon(DAY))
    new_year = date(2027, 1, 1)
    assert case.next_tax_year() == 2027
    assert case.assess_tax_year(actor=CLERK, at=noon(new_year), household=town.household_of(case))
    assert case.tax_years[2027].due == Decimal("84.00")
    charge = case.charges[-1]
    assert (charge.amount, charge.refers_to, charge.due_on) == (
        Decimal("84.00"),
        "tax-year:2027",
        date(2027, 7, 1),
    )
    assert case.changes_to_notify == []  # the Bescheid in force covers the new year
    case.collect_events()
    again = case.assess_tax_year(actor=CLERK, at=noon(new_year), household=town.household_of(case))
    assert again is False
    assert not case.pending_events
    refused(
        case,
        "year",
        lambda: case.assess_tax_year(
            actor=CLERK, at=noon(new_year), household=town.household_of(case), year=2028
        ),
    )


def test_a_year_assessed_after_the_first_of_july_falls_due_a_month_later() -> None:
    town = Town()
    case = registered(town)
    case.notify(actor=CLERK, at=noon(DAY))
    late = date(2027, 8, 10)
    case.assess_tax_year(actor=CLERK, at=noon(late), household=town.household_of(case))
    assert case.charges[-1].due_on == add_months(late, 1)


def test_the_tax_of_every_year_replays_from_its_recorded_inputs() -> None:
    town = Town()
    paid = {"municipality": "Neu-Anspach", "year": 2025, "months": [11], "amount": "3.00"}
    relief = {"reason": "low_income", "proof": "SGB II 2026-4", "from_day": "2026-05-01"}
    first = registered(
        town, application(taken_in_on="2025-06-03", paid_elsewhere=paid, relief=relief), number=1
    )
    second = registered(town, application(dog={"chip": "276098100000002"}), number=2)
    events = year_assessments(first) + year_assessments(second)
    first.notify(actor=CLERK, at=noon(DAY))
    household = town.household_of(first)
    first.decide_relief(
        actor=CLERK, at=noon(date(2026, 4, 1)), household=household, granted=True, reasons="ok"
    )
    first.find_dog_dangerous(
        actor=CLERK,
        at=noon(date(2026, 9, 3)),
        household=household,
        found_on=date(2026, 9, 1),
        reasons="Beißvorfall",
    )
    first.assess_tax_year(actor=CLERK, at=noon(date(2027, 1, 1)), household=household)
    town.deregister(first, date(2027, 3, 31))
    second.notify(actor=CLERK, at=noon(date(2027, 4, 1)))
    second.assess_tax_year(actor=CLERK, at=noon(date(2027, 4, 1)), household=household)
    events += year_assessments(first) + year_assessments(second)
    assert len(events) >= 8
    for recorded, case in [(e, first if e.originator_id == first.id else second) for e in events]:
        replayed = replay_year(recorded.rules)
        assert case.due_in(replayed) == recorded.due, (recorded.year, recorded.reason)
    # the second dog of two until the first left in March (3 x 11.00), then the first (9 x 7.00)
    assert second.tax_years[2027].due == Decimal("96.00")
    for case in (first, second):
        for decision in case.decisions:
            assert case.replay_terms(decision).fee == decision.fee


# ------------------------------------------------------------------ known defects


def test_a_registration_refused_for_a_year_without_a_tariff_changes_nothing() -> None:
    town = Town()
    case = in_review(application(taken_in_on="2024-06-03"))
    register, household = town.register_of(case), town.household_of(case)
    for aggregate in (case, register, household, town.roll):
        aggregate.collect_events()
    with pytest.raises(InvalidCommand) as error:
        town.register(case)
    assert error.value.field == "year"
    assert case.registered_on is None
    assert case.tag is None
    for aggregate in (case, register, household, town.roll):
        assert not aggregate.pending_events, type(aggregate).__name__


def test_a_late_registration_counts_the_dogs_of_each_earlier_year() -> None:
    town = Town()
    spring = date(2025, 2, 10)
    first = in_review(application(spring, taken_in_on="2025-02-03"), day=spring, number=1)
    town.register(first, spring)
    first.notify(actor=CLERK, at=noon(spring))
    town.deregister(first, date(2025, 10, 15))  # taxed February to October 2025
    late = registered(
        town, application(taken_in_on="2025-06-01", dog={"chip": "276098100000002"}), number=2
    )
    # July to October 2025 the second of two dogs (4 x 11.00), then the first (2 x 7.00)
    assert late.tax_years[2025].due == Decimal("58.00")
    late.notify(actor=CLERK, at=noon(DAY))
    household = town.household_of(late)
    assert not late.assess_tax_year(actor=CLERK, at=noon(DAY), household=household, year=2025)


def test_a_dog_taken_in_in_december_is_registered_and_taxed_from_january() -> None:
    town = Town()
    december = date(2026, 12, 2)
    case = in_review(application(december, taken_in_on="2026-12-01"), day=december)
    town.register(case, december)
    assert case.registered
    assert case.tag == 1
    case.notify(actor=CLERK, at=noon(december))
    january = date(2027, 1, 1)
    case.assess_tax_year(actor=CLERK, at=noon(january), household=town.household_of(case))
    assert case.tax_years[2027].due == Decimal("84.00")
