"""A town's dog register, its roll of tax tags and a keeper's household of dogs.

A chip is registered once per town at a time; a tax tag number is never issued twice in a
town; the household gives the dog tax its dogs of a year. A hypothesis state machine drives
a roll and two registers with any commands and checks after every step that the numbers
issued are unique and consecutive, that a register has at most one current case, that a
refused command changed nothing, and that every aggregate rebuilt from its events equals it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.errors import DomainError, InvalidCommand
from domain.rules.dog_tax import DogInHousehold, Rate, Relief, ReliefClaim, assess_year
from domain.services.dog_register import (
    ChipAlreadyRegistered,
    DogHousehold,
    DogRegister,
    HouseholdDog,
    RegisterEntry,
    TagNotHeld,
    TaxTagRoll,
    keeper_key,
    normalised_chip,
    tag_roll_id,
)
from persistence.transcodings import PersonalDataInClear

TOWN = "usingen"
CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, TOWN)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CASE_A = UUID("00000000-0000-4000-8000-00000000000a")
CASE_B = UUID("00000000-0000-4000-8000-00000000000b")
CASE_C = UUID("00000000-0000-4000-8000-00000000000c")
CHIP = "276098100123456"
SHELTER = ReliefClaim(Relief.SHELTER_DOG, date(2026, 2, 1), None, "TH-2026-17")


def fresh_register() -> DogRegister:
    """A register of one chip in Usingen that nobody registered the chip in yet."""
    return DogRegister.start(id=uuid4(), tenant=TOWN)


def fresh_roll() -> TaxTagRoll:
    """Usingen's roll of tax tags, before its first tag."""
    return TaxTagRoll.start(id=tag_roll_id(TOWN), tenant=TOWN)


def fresh_household() -> DogHousehold:
    """A keeper's household in Usingen without dogs."""
    return DogHousehold.start(id=uuid4(), tenant=TOWN)


def enter(
    household: DogHousehold,
    case_id: UUID,
    taken_in: date,
    *,
    born_on: date | None = None,
    dangerous: bool = False,
    relief: ReliefClaim | None = None,
) -> None:
    """Take a dog into the household as the clerk, now."""
    household.enter(
        case_id=case_id,
        taken_in=taken_in,
        born_on=born_on,
        dangerous=dangerous,
        relief=relief,
        actor=CLERK,
        at=AT,
    )


def rebuilt(events: list[Any]) -> Any:
    """The aggregate the events make, from nothing."""
    aggregate = None
    for stored in events:
        aggregate = stored.mutate(aggregate)
    return aggregate


# ------------------------------------------------------------------ keys and ids


@pytest.mark.parametrize(
    "text",
    [CHIP, "276 098 100 123 456", "276-09-81.00123456", " 276098100123456\t", "2760981001-23456"],
)
def test_a_chip_number_is_normalised_to_its_fifteen_digits(text: str) -> None:
    assert normalised_chip(text) == CHIP


@pytest.mark.parametrize(
    "text",
    [
        "",
        "27609810012345",  # 14 digits
        "2760981001234567",  # 16 digits
        "27609810012345A",
        "276098100123456/",
        "27609810012345²",  # a digit to str.isdigit, not to the register
        "".join(chr(0xFF10 + int(digit)) for digit in CHIP),  # full-width digits
    ],
)
def test_a_chip_number_without_fifteen_digits_is_refused_without_repeating_it(text: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        normalised_chip(text)
    assert refused.value.field == "data.dog.chip"
    assert "2760981" not in str(refused.value)


def test_a_keeper_is_the_same_whatever_the_case_and_blanks_of_name_and_address() -> None:
    one = keeper_key("Erika  Weber", "Wilhelmj-Straße", "12 a", "61250")
    assert one == keeper_key("erika weber", "wilhelmjstr.", "12A", " 61250 ")
    assert one != keeper_key("Erika Weber", "Wilhelmj-Straße", "12a", "61267")
    assert one != keeper_key("Erika Weber", "Wilhelmj-Straße", "14", "61250")
    assert "Weber" not in one  # casefolded (the application turns it into an HMAC id)


def test_a_towns_tag_roll_has_one_id_of_its_own() -> None:
    assert tag_roll_id(TOWN) == uuid5(NAMESPACE_URL, "vorgang:tax-tag-roll:usingen")
    assert tag_roll_id(TOWN) == tag_roll_id(TOWN)
    assert tag_roll_id(TOWN) != tag_roll_id("schmitten")


# ------------------------------------------------------------------ the register of chips


def test_a_fresh_register_holds_no_case() -> None:
    register = fresh_register()
    assert (register.tenant, register.current_case, register.entries) == (TOWN, None, [])
    assert isinstance(register.collect_events()[0], DogRegister.Started)


def test_registering_a_chip_records_the_case_the_day_and_who() -> None:
    register = fresh_register()
    register.register(case_id=CASE_A, registered_on=date(2026, 3, 1), actor=CLERK, at=AT)
    assert register.current_case == CASE_A
    assert register.entries == [RegisterEntry(CASE_A, date(2026, 3, 1), None, None)]
    registered = register.collect_events()[-1]
    assert isinstance(registered, DogRegister.Registered)
    assert (registered.case_id, registered.registered_on) == (CASE_A, date(2026, 3, 1))
    assert (registered.actor_id, registered.at) == (CLERK.id, AT)


@pytest.mark.parametrize("second", [CASE_A, CASE_B], ids=["same case", "another case"])
def test_a_chip_registered_once_is_refused_a_second_time(second: UUID) -> None:
    register = fresh_register()
    register.register(case_id=CASE_A, registered_on=date(2026, 3, 1), actor=CLERK, at=AT)
    with pytest.raises(ChipAlreadyRegistered) as refused:
        register.register(case_id=second, registered_on=date(2026, 4, 1), actor=CLERK, at=AT)
    assert isinstance(refused.value, InvalidCommand)
    assert refused.value.field == "data.dog.chip"
    assert refused.value.since == date(2026, 3, 1)
    assert "registered in this town since 2026-03-01" in str(refused.value)
    assert CHIP not in str(refused.value)
    assert str(CASE_A) not in str(refused.value)
    assert register.current_case == CASE_A
    assert len(register.entries) == 1


def test_deregistering_ends_the_cases_entry_and_frees_the_chip() -> None:
    register = fresh_register()
    register.register(case_id=CASE_A, registered_on=date(2026, 3, 1), actor=CLERK, at=AT)
    register.deregister(case_id=CASE_A, ended_on=date(2026, 9, 30), how="died", actor=CLERK, at=AT)
    assert register.current_case is None
    assert register.entries == [RegisterEntry(CASE_A, date(2026, 3, 1), date(2026, 9, 30), "died")]
    ended = register.collect_events()[-1]
    assert isinstance(ended, DogRegister.Deregistered)
    assert (ended.case_id, ended.ended_on, ended.how) == (CASE_A, date(2026, 9, 30), "died")
    assert (ended.actor_id, ended.at) == (CLERK.id, AT)


def test_another_case_cannot_deregister_the_chip() -> None:
    register = fresh_register()
    register.register(case_id=CASE_A, registered_on=date(2026, 3, 1), actor=CLERK, at=AT)
    with pytest.raises(InvalidCommand) as refused:
        register.deregister(
            case_id=CASE_B, ended_on=date(2026, 9, 30), how="died", actor=CLERK, at=AT
        )
    assert refused.value.field == "case"
    assert register.current_case == CASE_A


def test_a_chip_nobody_holds_cannot_be_deregistered() -> None:
    register = fresh_register()
    with pytest.raises(InvalidCommand) as refused:
        register.deregister(
            case_id=CASE_A, ended_on=date(2026, 9, 30), how="died", actor=CLERK, at=AT
        )
    assert refused.value.field == "case"
    register.register(case_id=CASE_A, registered_on=date(2026, 3, 1), actor=CLERK, at=AT)
    register.deregister(case_id=CASE_A, ended_on=date(2026, 9, 30), how="died", actor=CLERK, at=AT)
    with pytest.raises(InvalidCommand):  # twice
        register.deregister(
            case_id=CASE_A, ended_on=date(2026, 9, 30), how="died", actor=CLERK, at=AT
        )


def test_a_deregistration_says_how_the_registration_ended() -> None:
    register = fresh_register()
    register.register(case_id=CASE_A, registered_on=date(2026, 3, 1), actor=CLERK, at=AT)
    with pytest.raises(InvalidCommand) as refused:
        register.deregister(
            case_id=CASE_A, ended_on=date(2026, 9, 30), how="  ", actor=CLERK, at=AT
        )
    assert refused.value.field == "how"
    assert register.current_case == CASE_A


def test_a_dog_may_be_deregistered_from_a_day_before_its_late_registration() -> None:
    register = fresh_register()
    register.register(case_id=CASE_A, registered_on=date(2026, 3, 1), actor=CLERK, at=AT)
    register.deregister(case_id=CASE_A, ended_on=date(2026, 2, 14), how="death", actor=CLERK, at=AT)
    assert register.entries == [RegisterEntry(CASE_A, date(2026, 3, 1), date(2026, 2, 14), "death")]


def test_a_chip_deregistered_may_be_registered_again_by_a_new_keepers_case() -> None:
    register = fresh_register()
    register.register(case_id=CASE_A, registered_on=date(2026, 3, 1), actor=CLERK, at=AT)
    register.deregister(
        case_id=CASE_A, ended_on=date(2026, 6, 15), how="given_away", actor=CLERK, at=AT
    )
    register.register(case_id=CASE_B, registered_on=date(2026, 6, 15), actor=CLERK, at=AT)
    assert register.current_case == CASE_B
    assert register.entries == [
        RegisterEntry(CASE_A, date(2026, 3, 1), date(2026, 6, 15), "given_away"),
        RegisterEntry(CASE_B, date(2026, 6, 15)),
    ]
    with pytest.raises(InvalidCommand):  # the old keeper's case no longer holds it
        register.deregister(
            case_id=CASE_A, ended_on=date(2026, 7, 1), how="died", actor=CLERK, at=AT
        )


# ------------------------------------------------------------------ the roll of tax tags


def test_tags_are_numbered_from_one_up() -> None:
    roll = fresh_roll()
    assert (roll.last_issued, roll.holders, roll.withdrawn) == (0, {}, {})
    assert roll.issue(case_id=CASE_A, actor=CLERK, at=AT, reason="registration") == 1
    assert roll.issue(case_id=CASE_B, actor=CLERK, at=AT, reason="registration") == 2
    assert roll.last_issued == 2
    assert roll.holders == {1: CASE_A, 2: CASE_B}
    issued = roll.collect_events()[-1]
    assert isinstance(issued, TaxTagRoll.TagIssued)
    assert (issued.number, issued.case_id, issued.reason) == (2, CASE_B, "registration")
    assert (issued.actor_id, issued.at) == (CLERK.id, AT)


@pytest.mark.parametrize("how", ["returned", "lost", "not_returned"])
def test_a_withdrawn_tags_number_is_never_issued_again(how: str) -> None:
    roll = fresh_roll()
    first = roll.issue(case_id=CASE_A, actor=CLERK, at=AT, reason="registration")
    roll.withdraw(number=first, case_id=CASE_A, how=how, actor=CLERK, at=AT)
    assert roll.holders == {}
    assert roll.withdrawn == {first: how}
    assert roll.held_by(CASE_A) is None
    withdrawn = roll.collect_events()[-1]
    assert isinstance(withdrawn, TaxTagRoll.TagWithdrawn)
    assert (withdrawn.number, withdrawn.case_id, withdrawn.how) == (first, CASE_A, how)
    assert (withdrawn.actor_id, withdrawn.at) == (CLERK.id, AT)
    replacement = roll.issue(case_id=CASE_A, actor=CLERK, at=AT, reason="replacement")
    assert replacement == first + 1
    assert roll.held_by(CASE_A) == replacement


def test_a_tag_is_issued_only_for_a_registration_or_a_replacement() -> None:
    roll = fresh_roll()
    with pytest.raises(InvalidCommand) as refused:
        roll.issue(case_id=CASE_A, actor=CLERK, at=AT, reason="gift")
    assert refused.value.field == "reason"
    assert roll.last_issued == 0


def test_only_the_holder_may_withdraw_a_tag() -> None:
    roll = fresh_roll()
    number = roll.issue(case_id=CASE_A, actor=CLERK, at=AT, reason="registration")
    for case_id, tag in [(CASE_B, number), (CASE_A, number + 1), (CASE_A, 0)]:
        with pytest.raises(TagNotHeld) as refused:
            roll.withdraw(number=tag, case_id=case_id, how="returned", actor=CLERK, at=AT)
        assert refused.value.field == "tag"
        assert refused.value.number == tag
    roll.withdraw(number=number, case_id=CASE_A, how="lost", actor=CLERK, at=AT)
    with pytest.raises(TagNotHeld):  # once withdrawn, nobody holds it
        roll.withdraw(number=number, case_id=CASE_A, how="returned", actor=CLERK, at=AT)
    assert roll.withdrawn == {number: "lost"}


def test_a_tag_is_withdrawn_as_returned_lost_or_not_returned() -> None:
    roll = fresh_roll()
    number = roll.issue(case_id=CASE_A, actor=CLERK, at=AT, reason="registration")
    with pytest.raises(InvalidCommand) as refused:
        roll.withdraw(number=number, case_id=CASE_A, how="eaten", actor=CLERK, at=AT)
    assert refused.value.field == "how"
    assert roll.holders == {number: CASE_A}


def test_held_by_names_the_tag_a_case_holds_now() -> None:
    roll = fresh_roll()
    roll.issue(case_id=CASE_A, actor=CLERK, at=AT, reason="registration")
    roll.issue(case_id=CASE_B, actor=CLERK, at=AT, reason="registration")
    assert (roll.held_by(CASE_A), roll.held_by(CASE_B), roll.held_by(CASE_C)) == (1, 2, None)
    # a replacement issued before the lost tag is written off: the new one is the case's tag
    roll.issue(case_id=CASE_A, actor=CLERK, at=AT, reason="replacement")
    assert roll.held_by(CASE_A) == 3
    roll.withdraw(number=1, case_id=CASE_A, how="lost", actor=CLERK, at=AT)
    assert roll.held_by(CASE_A) == 3


# ------------------------------------------------------------------ the household


def test_a_dog_entering_the_household_keeps_its_dates_flag_and_relief() -> None:
    household = fresh_household()
    enter(household, CASE_A, date(2026, 1, 10), born_on=date(2025, 6, 1), relief=SHELTER)
    assert household.dogs == {
        CASE_A: HouseholdDog(
            CASE_A, date(2026, 1, 10), date(2025, 6, 1), None, False, SHELTER, entered=1
        )
    }
    entered = household.collect_events()[-1]
    assert isinstance(entered, DogHousehold.DogEntered)
    assert (entered.relief_reason, entered.relief_from) == ("shelter_dog", date(2026, 2, 1))
    assert (entered.relief_until, entered.relief_proof) == (None, "TH-2026-17")
    assert (entered.actor_id, entered.at) == (CLERK.id, AT)


def test_a_dog_in_the_household_cannot_enter_it_again_until_it_left() -> None:
    household = fresh_household()
    enter(household, CASE_A, date(2026, 1, 10))
    with pytest.raises(InvalidCommand) as refused:
        enter(household, CASE_A, date(2026, 2, 10))
    assert refused.value.field == "case"
    household.leave(case_id=CASE_A, left_on=date(2026, 3, 31), actor=CLERK, at=AT)
    enter(household, CASE_A, date(2026, 7, 1), dangerous=True)
    assert household.dogs[CASE_A] == HouseholdDog(
        CASE_A, date(2026, 7, 1), None, None, True, None, entered=2
    )


@pytest.mark.parametrize(
    ("born_on", "relief", "field"),
    [
        (date(2026, 2, 1), None, "born_on"),
        (None, ReliefClaim(Relief.LOW_INCOME, date(2026, 5, 1), date(2026, 4, 30)), "relief.until"),
    ],
)
def test_a_dog_enters_with_dates_in_order(
    born_on: date | None, relief: ReliefClaim | None, field: str
) -> None:
    household = fresh_household()
    with pytest.raises(InvalidCommand) as refused:
        enter(household, CASE_A, date(2026, 1, 10), born_on=born_on, relief=relief)
    assert refused.value.field == field
    assert household.dogs == {}


def test_a_change_records_the_dogs_new_danger_flag_and_relief() -> None:
    household = fresh_household()
    enter(household, CASE_A, date(2026, 1, 10), relief=SHELTER)
    household.change(case_id=CASE_A, dangerous=True, relief=None, actor=CLERK, at=AT)
    assert household.dogs[CASE_A].dangerous is True
    assert household.dogs[CASE_A].relief is None
    assistance = ReliefClaim(Relief.ASSISTANCE_DOG, date(2026, 4, 1), date(2027, 3, 31), "GdB-1")
    household.change(case_id=CASE_A, dangerous=False, relief=assistance, actor=CLERK, at=AT)
    assert household.dogs[CASE_A] == HouseholdDog(
        CASE_A, date(2026, 1, 10), None, None, False, assistance, entered=1
    )
    changed = household.collect_events()[-1]
    assert isinstance(changed, DogHousehold.DogDetailsChanged)
    assert (changed.case_id, changed.dangerous, changed.relief_until) == (
        CASE_A,
        False,
        date(2027, 3, 31),
    )
    assert (changed.actor_id, changed.at) == (CLERK.id, AT)


def test_a_dog_never_in_the_household_cannot_be_changed() -> None:
    household = fresh_household()
    with pytest.raises(InvalidCommand) as refused:
        household.change(case_id=CASE_A, dangerous=True, relief=None, actor=CLERK, at=AT)
    assert refused.value.field == "case"
    enter(household, CASE_A, date(2026, 1, 10))
    bad = ReliefClaim(Relief.LOW_INCOME, date(2026, 5, 1), date(2026, 4, 1))
    with pytest.raises(InvalidCommand) as refused:
        household.change(case_id=CASE_A, dangerous=False, relief=bad, actor=CLERK, at=AT)
    assert refused.value.field == "relief.until"


def test_a_dog_that_left_may_still_be_corrected() -> None:
    household = fresh_household()
    enter(household, CASE_A, date(2026, 1, 10))
    household.leave(case_id=CASE_A, left_on=date(2026, 5, 31), actor=CLERK, at=AT)
    household.change(case_id=CASE_A, dangerous=True, relief=None, actor=CLERK, at=AT)
    assert household.dogs[CASE_A].dangerous is True
    assert household.dogs[CASE_A].left_on == date(2026, 5, 31)


def test_a_dog_leaves_once_and_not_before_it_was_taken_in() -> None:
    household = fresh_household()
    with pytest.raises(InvalidCommand) as refused:
        household.leave(case_id=CASE_A, left_on=date(2026, 5, 31), actor=CLERK, at=AT)
    assert refused.value.field == "case"
    enter(household, CASE_A, date(2026, 1, 10))
    with pytest.raises(InvalidCommand) as refused:
        household.leave(case_id=CASE_A, left_on=date(2026, 1, 9), actor=CLERK, at=AT)
    assert refused.value.field == "left_on"
    household.leave(case_id=CASE_A, left_on=date(2026, 5, 31), actor=CLERK, at=AT)
    left = household.collect_events()[-1]
    assert isinstance(left, DogHousehold.DogLeft)
    assert (left.case_id, left.left_on, left.actor_id, left.at) == (
        CASE_A,
        date(2026, 5, 31),
        CLERK.id,
        AT,
    )
    with pytest.raises(InvalidCommand) as refused:
        household.leave(case_id=CASE_A, left_on=date(2026, 6, 30), actor=CLERK, at=AT)
    assert refused.value.field == "case"
    assert household.dogs[CASE_A].left_on == date(2026, 5, 31)


def test_a_household_dog_reads_as_the_dog_tax_reads_it() -> None:
    dog = HouseholdDog(
        CASE_A, date(2026, 1, 10), date(2025, 6, 1), date(2026, 8, 2), True, SHELTER, entered=3
    )
    assert dog.for_tax() == DogInHousehold(
        dog_id=str(CASE_A),
        taken_in=date(2026, 1, 10),
        born_on=date(2025, 6, 1),
        deregistered_on=date(2026, 8, 2),
        dangerous=True,
        relief=SHELTER,
        entered=3,
    )


def test_the_dogs_of_a_tax_year_are_those_liable_in_it_by_the_day_taken_in_then_entry() -> None:
    household = fresh_household()
    enter(household, CASE_C, date(2025, 3, 1))  # first by the day taken in
    enter(household, CASE_B, date(2025, 6, 1))  # same day as A: B entered first
    enter(household, CASE_A, date(2025, 6, 1))
    gone = uuid4()
    enter(household, gone, date(2024, 2, 1))
    household.leave(case_id=gone, left_on=date(2025, 12, 31), actor=CLERK, at=AT)
    late = uuid4()
    enter(household, late, date(2026, 12, 5))  # taxed from January 2027
    puppy = uuid4()
    enter(household, puppy, date(2026, 11, 20), born_on=date(2026, 9, 15))  # from January 2027

    assert [dog.dog_id for dog in household.dogs_for_tax(2026)] == [
        str(CASE_C),
        str(CASE_B),
        str(CASE_A),
    ]
    assert [dog.dog_id for dog in household.dogs_for_tax(2025)] == [
        str(gone),
        str(CASE_C),
        str(CASE_B),
        str(CASE_A),
    ]
    assert {dog.dog_id for dog in household.dogs_for_tax(2027)} == {
        str(CASE_A),
        str(CASE_B),
        str(CASE_C),
        str(late),
        str(puppy),
    }
    assert household.dogs_for_tax(2023) == ()


def test_a_dog_that_left_in_january_is_taxed_that_january() -> None:
    household = fresh_household()
    enter(household, CASE_A, date(2025, 3, 1))
    household.leave(case_id=CASE_A, left_on=date(2026, 1, 15), actor=CLERK, at=AT)
    assert [dog.deregistered_on for dog in household.dogs_for_tax(2026)] == [date(2026, 1, 15)]
    assert household.dogs_for_tax(2027) == ()


def test_the_dogs_for_tax_are_what_the_years_assessment_ranks() -> None:
    household = fresh_household()
    enter(household, CASE_B, date(2025, 3, 1))
    enter(household, CASE_A, date(2025, 6, 1), relief=SHELTER)
    assessment = assess_year(TOWN, 2026, household.dogs_for_tax(2026))
    first, second = assessment.dogs
    assert first.dog_id == str(CASE_B)
    assert {charge.rate for charge in first.months} == {Rate.FIRST}
    assert {charge.rate for charge in second.months} == {Rate.SECOND}
    assert second.tax < Decimal("132.00")  # the shelter dog's relief took part of it off


def test_the_dogs_kept_on_a_day_are_those_taken_in_and_not_left() -> None:
    household = fresh_household()
    assert household.dogs_kept(date(2026, 1, 1)) == 0
    enter(household, CASE_A, date(2026, 1, 10))
    enter(household, CASE_B, date(2026, 2, 1))
    household.leave(case_id=CASE_A, left_on=date(2026, 3, 15), actor=CLERK, at=AT)
    assert household.dogs_kept(date(2026, 1, 9)) == 0
    assert household.dogs_kept(date(2026, 1, 10)) == 1
    assert household.dogs_kept(date(2026, 2, 1)) == 2
    assert household.dogs_kept(date(2026, 3, 14)) == 2
    assert household.dogs_kept(date(2026, 3, 15)) == 1  # gone on the day it left
    assert household.dogs_kept(date(2030, 1, 1)) == 1


# ------------------------------------------------------------------ stored and read back


def test_the_aggregates_read_back_from_the_store_as_they_were_saved() -> None:
    register, roll, household = fresh_register(), fresh_roll(), fresh_household()
    register.register(case_id=CASE_A, registered_on=date(2026, 3, 1), actor=CLERK, at=AT)
    register.deregister(case_id=CASE_A, ended_on=date(2026, 6, 1), how="died", actor=CLERK, at=AT)
    number = roll.issue(case_id=CASE_A, actor=CLERK, at=AT, reason="registration")
    roll.withdraw(number=number, case_id=CASE_A, how="returned", actor=CLERK, at=AT)
    roll.issue(case_id=CASE_B, actor=CLERK, at=AT, reason="registration")
    enter(household, CASE_A, date(2026, 1, 10), born_on=date(2025, 6, 1), relief=SHELTER)
    enter(household, CASE_B, date(2026, 2, 10), dangerous=True)
    household.change(
        case_id=CASE_A,
        dangerous=False,
        relief=ReliefClaim(Relief.LOW_INCOME, date(2026, 3, 1), date(2026, 12, 31), "SGB-II"),
        actor=CLERK,
        at=AT,
    )
    household.leave(case_id=CASE_B, left_on=date(2026, 6, 1), actor=CLERK, at=AT)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": f"file:dog-register-{uuid4()}?mode=memory&cache=shared",
    }
    store = VorgangStore(env=env, personal_data=PersonalDataInClear())
    try:
        store.save(register, roll, household)
        read: list[Aggregate] = [store.repository.get(a.id) for a in (register, roll, household)]
    finally:
        store.close()
    assert isinstance(read[0], DogRegister)
    assert (read[0].current_case, read[0].entries) == (register.current_case, register.entries)
    assert isinstance(read[1], TaxTagRoll)
    assert (read[1].last_issued, read[1].holders, read[1].withdrawn) == (
        roll.last_issued,
        roll.holders,
        roll.withdrawn,
    )
    assert isinstance(read[2], DogHousehold)
    assert read[2].dogs == household.dogs
    assert read[2].dogs_for_tax(2026) == household.dogs_for_tax(2026)


# ------------------------------------------------------------------ any sequence of commands

cases = st.sampled_from([CASE_A, CASE_B, CASE_C])
chips = st.integers(min_value=0, max_value=1)
issue_reasons = st.sampled_from(["registration", "registration", "replacement", "", "lost"])
withdrawals = st.sampled_from(["returned", "lost", "not_returned", "stolen"])
endings = st.sampled_from(["died", "given_away", "moved_away", " "])


class DogRegisterMachine(RuleBasedStateMachine):
    """Usingen's roll of tax tags and the registers of two chips, any commands, time moving."""

    def __init__(self) -> None:
        super().__init__()
        self.today = date(2026, 1, 5)
        self.roll = fresh_roll()
        self.registers = [fresh_register(), fresh_register()]
        self.history: dict[UUID, list[Any]] = {
            aggregate.id: list(aggregate.collect_events())
            for aggregate in (self.roll, *self.registers)
        }
        # the model: who holds each chip and each tag, and every number issued
        self.chip_holder: list[UUID | None] = [None, None]
        self.registrations = [0, 0]
        self.tag_holder: dict[int, UUID] = {}
        self.issued: list[int] = []

    def _attempt(self, aggregate: Aggregate, state: Callable[[], object], command: Any) -> bool:
        """Run a command: an accepted one records one event, a refused one changes nothing."""
        before = (aggregate.version, state())
        try:
            command()
        except DomainError as error:
            event(f"refused: {type(error).__name__}")
            assert (aggregate.version, state()) == before
            assert not aggregate.pending_events
            return False
        recorded: list[Any] = list(aggregate.collect_events())
        assert len(recorded) == 1
        assert aggregate.version == before[0] + 1
        assert recorded[0].actor_id == CLERK.id
        assert recorded[0].at == self.at
        self.history[aggregate.id].extend(recorded)
        event(f"accepted: {type(recorded[0]).__name__}")
        return True

    @property
    def at(self) -> datetime:
        """Business time: nine o'clock today."""
        return datetime(self.today.year, self.today.month, self.today.day, 9, tzinfo=UTC)

    def _roll_state(self) -> object:
        return (self.roll.last_issued, dict(self.roll.holders), dict(self.roll.withdrawn))

    @rule(days=st.sampled_from([0, 1, 30, 365]))
    def time_passes(self, days: int) -> None:
        self.today += timedelta(days=days)

    # ------------------------------------------------------------------ tags

    @rule(case_id=cases, reason=issue_reasons)
    def issue(self, case_id: UUID, reason: str) -> None:
        expected = self.roll.last_issued + 1
        numbers: list[int] = []
        accepted = self._attempt(
            self.roll,
            self._roll_state,
            lambda: numbers.append(
                self.roll.issue(case_id=case_id, actor=CLERK, at=self.at, reason=reason)
            ),
        )
        assert accepted == (reason in {"registration", "replacement"})
        if accepted:
            assert numbers == [expected]
            self.issued.append(expected)
            self.tag_holder[expected] = case_id
            assert self.roll.held_by(case_id) == expected

    @rule(case_id=cases, back=st.integers(min_value=-1, max_value=3), how=withdrawals)
    def withdraw(self, case_id: UUID, back: int, how: str) -> None:
        number = self.roll.last_issued - back  # now and then one never issued
        accepted = self._attempt(
            self.roll,
            self._roll_state,
            lambda: self.roll.withdraw(
                number=number, case_id=case_id, how=how, actor=CLERK, at=self.at
            ),
        )
        holds = self.tag_holder.get(number) == case_id
        assert accepted == (holds and how != "stolen")
        if accepted:
            del self.tag_holder[number]
            assert self.roll.withdrawn[number] == how

    @rule(case_id=cases, reason=st.sampled_from(["registration", "replacement"]))
    def issue_after_a_loss(self, case_id: UUID, reason: str) -> None:
        """The usual replacement: the case's tag written off as lost, then a new one issued."""
        held = self.roll.held_by(case_id)
        if held is not None:
            self.withdraw(case_id, self.roll.last_issued - held, "lost")
        self.issue(case_id, reason)

    # ------------------------------------------------------------------ chips

    @rule(chip=chips, case_id=cases, back=st.integers(min_value=0, max_value=40))
    def register(self, chip: int, case_id: UUID, back: int) -> None:
        register = self.registers[chip]
        accepted = self._attempt(
            register,
            lambda: (register.current_case, list(register.entries)),
            lambda: register.register(
                case_id=case_id,
                registered_on=self.today - timedelta(days=back),
                actor=CLERK,
                at=self.at,
            ),
        )
        assert accepted == (self.chip_holder[chip] is None)
        if accepted:
            self.chip_holder[chip] = case_id
            self.registrations[chip] += 1

    @rule(chip=chips, case_id=cases, how=endings, back=st.integers(min_value=0, max_value=40))
    def deregister(self, chip: int, case_id: UUID, how: str, back: int) -> None:
        register = self.registers[chip]
        ended_on = self.today - timedelta(days=back)
        accepted = self._attempt(
            register,
            lambda: (register.current_case, list(register.entries)),
            lambda: register.deregister(
                case_id=case_id, ended_on=ended_on, how=how, actor=CLERK, at=self.at
            ),
        )
        holds = self.chip_holder[chip] == case_id
        assert accepted == (holds and bool(how.strip()))
        if accepted:
            self.chip_holder[chip] = None

    @rule(chip=chips, how=endings)
    def usual_deregistration(self, chip: int, how: str) -> None:
        """The keeper's case ends the registration today (a blank how now and then)."""
        holder = self.chip_holder[chip]
        self.deregister(chip, holder if holder is not None else CASE_A, how, 0)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def issued_numbers_are_unique_and_consecutive(self) -> None:
        issued = [
            e.number for e in self.history[self.roll.id] if isinstance(e, TaxTagRoll.TagIssued)
        ]
        assert issued == self.issued == list(range(1, self.roll.last_issued + 1))
        assert not set(self.roll.holders) & set(self.roll.withdrawn)
        assert set(self.roll.holders) | set(self.roll.withdrawn) == set(issued)
        assert self.roll.holders == self.tag_holder

    @invariant()
    def a_register_has_at_most_one_current_case(self) -> None:
        for register, holder, registrations in zip(
            self.registers, self.chip_holder, self.registrations, strict=True
        ):
            assert len(register.entries) == registrations  # every registration stays on record
            running = [entry for entry in register.entries if entry.ended_on is None]
            assert len(running) <= 1
            assert register.current_case == holder
            if holder is None:
                assert running == []
            else:
                assert running == [register.entries[-1]]
                assert running[0].case_id == holder
            for entry in register.entries:
                assert (entry.ended_on is None) == (entry.ended_how is None)

    @invariant()
    def every_state_rebuilds_from_the_recorded_events(self) -> None:
        roll = rebuilt(self.history[self.roll.id])
        assert isinstance(roll, TaxTagRoll)
        assert roll.version == self.roll.version
        assert (roll.last_issued, roll.holders, roll.withdrawn) == self._roll_state()
        for register in self.registers:
            again = rebuilt(self.history[register.id])
            assert isinstance(again, DogRegister)
            assert again.version == register.version
            assert (again.current_case, again.entries) == (register.current_case, register.entries)


DogRegisterMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDogRegisterMachine = DogRegisterMachine.TestCase
