"""The dog tax: liability by month, rates by rank, reliefs, credits, and the year's replay."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidCommand
from domain.rules.dog_tax import (
    DOG_TAX_RULES_ID,
    TARIFFS,
    Credit,
    DogInHousehold,
    Rate,
    Relief,
    ReliefClaim,
    YearAssessment,
    assess_year,
    liability_months,
    replay_year,
    tariff_in_force,
)
from domain.rules.versions import STATUTES

# Usingen's example tariff: 84 EUR (7.00 a month), 132 (11.00), 168 (14.00), dangerous 600
# (50.00); a shelter dog pays half for 12 months.
TOWN = "usingen"


def dog(dog_id: str = "d1", taken_in: date = date(2024, 6, 1), **fields: object) -> DogInHousehold:
    return DogInHousehold(dog_id, taken_in, **fields)  # type: ignore[arg-type]


def monthly(assessment: YearAssessment, dog_id: str) -> dict[int, Decimal]:
    (year,) = [d for d in assessment.dogs if d.dog_id == dog_id]
    return {charge.month: charge.tax for charge in year.months}


# ---------------------------------------------------------------- liability


def test_a_dog_taken_in_on_15_march_is_taxed_from_april() -> None:
    assert liability_months(date(2025, 3, 15), None, None, 2025) == tuple(range(4, 13))
    assessment = assess_year(TOWN, 2025, [dog(taken_in=date(2025, 3, 15))])
    assert assessment.total == Decimal("63.00")  # 9 months of 7.00


def test_a_dog_taken_in_on_the_first_of_a_month_is_taxed_from_the_next() -> None:
    assert liability_months(date(2025, 3, 1), None, None, 2025) == tuple(range(4, 13))


def test_a_puppy_is_taxed_from_the_month_after_it_is_three_months_old() -> None:
    # born 10 January: three months old at the end of 9 April, taxed from 1 May
    assert liability_months(date(2025, 1, 20), date(2025, 1, 10), None, 2025) == tuple(range(5, 13))
    # born 1 January: three months old at the end of 31 March, taxed from 1 April
    assert liability_months(date(2025, 1, 20), date(2025, 1, 1), None, 2025) == tuple(range(4, 13))


def test_a_dog_deregistered_on_10_october_is_taxed_through_october() -> None:
    assert liability_months(date(2024, 6, 1), None, date(2025, 10, 10), 2025) == tuple(range(1, 11))
    assessment = assess_year(TOWN, 2025, [dog(deregistered_on=date(2025, 10, 10))])
    assert assessment.total == Decimal("70.00")


def test_a_dog_taken_in_and_given_up_in_the_same_month_is_not_taxed() -> None:
    assert liability_months(date(2025, 5, 3), None, date(2025, 5, 20), 2025) == ()


# -------------------------------------------------------------------- rates


def test_the_second_dog_pays_the_second_rate() -> None:
    assessment = assess_year(TOWN, 2025, [dog("a"), dog("b", taken_in=date(2024, 7, 1))])
    (first, second) = assessment.dogs
    assert {c.rate for c in first.months} == {Rate.FIRST}
    assert {c.rank for c in second.months} == {2}
    assert second.tax == Decimal("132.00")
    assert assessment.total == Decimal("216.00")


def test_the_third_dog_pays_the_further_rate() -> None:
    dogs = [dog("a"), dog("b", date(2024, 7, 1)), dog("c", date(2024, 8, 1))]
    assert assess_year(TOWN, 2025, dogs).total == Decimal("384.00")  # 84 + 132 + 168


def test_the_second_dog_moves_up_when_the_first_leaves() -> None:
    dogs = [dog("a", deregistered_on=date(2025, 6, 30)), dog("b", taken_in=date(2024, 7, 1))]
    second = monthly(assess_year(TOWN, 2025, dogs), "b")
    assert second[6] == Decimal("11.00")
    assert second[7] == Decimal("7.00")


def test_an_exempt_dog_does_not_count_towards_the_number() -> None:
    assistance = dog(
        "guide",
        taken_in=date(2024, 1, 1),
        relief=ReliefClaim(Relief.ASSISTANCE_DOG, date(2024, 1, 1), proof="GdB-Ausweis"),
    )
    assessment = assess_year(TOWN, 2025, [assistance, dog("pet")])
    guide, pet = assessment.dogs
    assert guide.tax == Decimal("0.00")
    assert {c.rank for c in guide.months} == {None}
    assert {c.rate for c in pet.months} == {Rate.FIRST}
    assert assessment.total == Decimal("84.00")


def test_a_dangerous_dog_pays_the_dangerous_rate() -> None:
    assessment = assess_year(TOWN, 2025, [dog(dangerous=True)])
    assert assessment.total == Decimal("600.00")


def test_a_dangerous_dog_gets_no_shelter_reduction() -> None:
    claim = ReliefClaim(Relief.SHELTER_DOG, date(2024, 12, 1))
    assessment = assess_year(TOWN, 2025, [dog(dangerous=True, relief=claim)])
    assert assessment.total == Decimal("600.00")


def test_a_shelter_dog_pays_half_for_its_months_only() -> None:
    # taken in 15 June 2025, reduced from July 2025 for 12 months: through June 2026
    claim = ReliefClaim(Relief.SHELTER_DOG, date(2025, 6, 15), proof="Tierheim Usingen 17/25")
    shelter_dog = dog(taken_in=date(2025, 6, 15), relief=claim)
    taxes = monthly(assess_year(TOWN, 2026, [shelter_dog]), "d1")
    assert [taxes[m] for m in range(1, 7)] == [Decimal("3.50")] * 6
    assert [taxes[m] for m in range(7, 13)] == [Decimal("7.00")] * 6
    assert assess_year(TOWN, 2025, [shelter_dog]).total == Decimal("21.00")  # July-Dec half


def test_a_low_income_reduction_ends_with_the_month_of_its_end() -> None:
    claim = ReliefClaim(Relief.LOW_INCOME, date(2025, 1, 1), until=date(2025, 3, 10))
    taxes = monthly(assess_year(TOWN, 2025, [dog(relief=claim)]), "d1")
    assert taxes[3] == Decimal("3.50")
    assert taxes[4] == Decimal("7.00")


def test_a_run_of_months_is_rounded_once_half_up() -> None:
    new = replace(TARIFFS[TOWN][0], version="usingen-test", first=Decimal("100.00"))
    with STATUTES.amended(TARIFFS[TOWN], (new,)).applied():
        whole = assess_year(TOWN, 2025, [dog()])
        part = assess_year(TOWN, 2025, [dog(taken_in=date(2025, 7, 10))])
    assert whole.total == Decimal("100.00")
    assert part.total == Decimal("41.67")  # 100 * 5 / 12 = 41.666...
    assert sum(monthly(part, "d1").values()) == part.total


# ------------------------------------------------------------------- credit


def test_a_credit_never_exceeds_the_tax_of_the_same_months() -> None:
    credit = Credit("d1", (4, 5, 6), Decimal("100.00"))
    assessment = assess_year(TOWN, 2025, [dog(taken_in=date(2025, 3, 15))], [credit])
    assert assessment.tax == Decimal("63.00")
    assert assessment.credit == Decimal("21.00")
    assert assessment.total == Decimal("42.00")


def test_a_credit_for_months_not_taxed_here_takes_nothing_off() -> None:
    credit = Credit("d1", (1, 2, 3), Decimal("21.00"))
    assessment = assess_year(TOWN, 2025, [dog(taken_in=date(2025, 3, 15))], [credit])
    assert assessment.credit == Decimal("0.00")
    assert assessment.total == Decimal("63.00")


# ------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("dogs", "credited", "field"),
    [
        ([dog(born_on=date(2024, 7, 1))], [], "dogs[0].born_on"),
        ([dog(deregistered_on=date(2024, 5, 31))], [], "dogs[0].deregistered_on"),
        ([dog(), dog()], [], "dogs[1].dog_id"),
        (
            [dog(relief=ReliefClaim(Relief.LOW_INCOME, date(2025, 5, 1), date(2025, 4, 1)))],
            [],
            "dogs[0].relief.until",
        ),
        ([dog()], [Credit("d1", (1,), Decimal("-0.01"))], "credited[0].amount"),
        ([dog()], [Credit("other", (1,), Decimal("1"))], "credited[0].dog_id"),
        ([dog()], [Credit("d1", (13,), Decimal("1"))], "credited[0].months"),
    ],
)
def test_inputs_out_of_order_are_refused_naming_the_field(
    dogs: list[DogInHousehold], credited: list[Credit], field: str
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        assess_year(TOWN, 2025, dogs, credited)
    assert refused.value.field == field


def test_a_year_before_any_tariff_is_refused() -> None:
    with pytest.raises(InvalidCommand) as refused:
        assess_year(TOWN, 2024, [dog()])
    assert refused.value.field == "year"


def test_a_town_without_a_tariff_is_refused() -> None:
    with pytest.raises(InvalidCommand) as refused:
        tariff_in_force("atlantis", date(2025, 1, 1))
    assert refused.value.field == "town"


# -------------------------------------------------------------- properties

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
claims = st.builds(
    ReliefClaim,
    reason=st.sampled_from(Relief),
    from_day=days,
    until=st.none(),
    proof=st.just("Nachweis"),
)


@st.composite
def households(draw: st.DrawFn) -> list[DogInHousehold]:
    dogs = []
    for index in range(draw(st.integers(min_value=0, max_value=4))):
        taken_in = draw(days)
        born_on = draw(st.none() | st.dates(min_value=date(2023, 1, 1), max_value=taken_in))
        deregistered_on = draw(st.none() | st.dates(min_value=taken_in, max_value=date(2028, 1, 1)))
        dogs.append(
            DogInHousehold(
                f"dog-{index}",
                taken_in,
                born_on,
                deregistered_on,
                dangerous=draw(st.booleans()),
                relief=draw(st.none() | claims),
            )
        )
    return dogs


@st.composite
def credits_for(draw: st.DrawFn, dogs: list[DogInHousehold]) -> list[Credit]:
    if not dogs:
        return []
    return draw(
        st.lists(
            st.builds(
                Credit,
                dog_id=st.sampled_from([d.dog_id for d in dogs]),
                months=st.lists(st.integers(1, 12), min_size=1, max_size=12).map(tuple),
                amount=st.decimals(min_value=0, max_value=1000, places=2),
            ),
            max_size=3,
        )
    )


towns = st.sampled_from(sorted(TARIFFS))
years = st.integers(min_value=2025, max_value=2027)


@given(town=towns, year=years, data=st.data())
def test_the_year_adds_up_and_replays_from_its_record(
    town: str, year: int, data: st.DataObject
) -> None:
    dogs = data.draw(households())
    credited = data.draw(credits_for(dogs))
    assessment = assess_year(town, year, dogs, credited)
    charges = [charge for d in assessment.dogs for charge in d.months]
    assert assessment.total >= 0
    assert all(charge.due >= 0 and charge.credit <= charge.tax for charge in charges)
    assert sum((c.due for c in charges), Decimal(0)) == assessment.total
    assert sum((c.tax for c in charges), Decimal(0)) == assessment.tax
    assert assessment.tax - assessment.credit == assessment.total
    assert assessment.credit <= sum((c.amount for c in credited), Decimal(0))
    assert assessment.rules.rules_id == DOG_TAX_RULES_ID
    assert replay_year(assessment.rules) == assessment


@given(
    town=towns,
    year=st.integers(min_value=2026, max_value=2027),  # after every version defined here
    from_month=st.integers(min_value=1, max_value=12),
    data=st.data(),
)
def test_a_later_tariff_version_applies_only_from_its_valid_from_month(
    town: str, year: int, from_month: int, data: st.DataObject
) -> None:
    dogs = data.draw(households())
    before = assess_year(town, year, dogs)
    old = TARIFFS[town][-1]
    new = replace(
        old,
        version=f"{town}-later",
        valid_from=date(year, from_month, 1),
        first=old.first + 12,
        second=old.second + 12,
        further=old.further + 12,
        dangerous=old.dangerous + 12,
    )
    with STATUTES.amended(TARIFFS[town], (*TARIFFS[town], new)).applied():
        after = assess_year(town, year, dogs)
        assert replay_year(after.rules) == after
    for old_year, new_year in zip(before.dogs, after.dogs, strict=True):
        for was, now in zip(old_year.months, new_year.months, strict=True):
            assert now.version == (new.version if now.month >= from_month else old.version)
            assert now.yearly_rate == (
                was.yearly_rate + 12
                if now.month >= from_month and now.rate is not Rate.EXEMPT
                else was.yearly_rate
            )
            if now.month < from_month:
                assert now.tax == was.tax
