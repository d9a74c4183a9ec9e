"""Market pitch fees: frontage times the rate of the market's kind, utilities, the deposit."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidCommand
from domain.rules.market_fees import (
    DEPOSIT,
    ELECTRICITY,
    MARKET_FEE_RULES_ID,
    MARKET_KINDS,
    PITCH_FEE,
    TARIFFS,
    WATER,
    pitch_fee,
    replay_fee,
    tariff_by_version,
    tariff_in_force,
)
from domain.rules.versions import STATUTES
from domain.tenants import TENANTS

CHRISTMAS = date(2026, 11, 27)


def test_every_town_has_a_tariff_for_every_kind_of_market() -> None:
    for town in TENANTS:
        tariff = tariff_in_force(town, CHRISTMAS)
        assert tariff.version.startswith(town)
        assert "Marktgebührensatzung" in tariff.legal_basis
        for kind in MARKET_KINDS:
            assert tariff.rate(kind) > 0


def test_a_pitch_costs_frontage_times_the_rate_plus_utilities_and_a_deposit() -> None:
    tariff = tariff_in_force("usingen", CHRISTMAS)
    fee = pitch_fee(tariff, Decimal("4.5"), True, True, kind="christmas_market")
    assert [(line.ledger, line.amount) for line in fee.lines] == [
        (PITCH_FEE, Decimal("108.00")),  # 4.5 m * 24.00
        (ELECTRICITY, Decimal("35.00")),
        (WATER, Decimal("15.00")),
        (DEPOSIT, Decimal("100.00")),
    ]
    assert fee.total == Decimal("258.00")
    assert fee.deposit == Decimal("100.00")
    assert fee.on(PITCH_FEE) == Decimal("108.00")
    assert all("Marktgebührensatzung der Stadt Usingen" in line.legal_basis for line in fee.lines)


def test_the_rate_differs_by_the_kind_of_market() -> None:
    tariff = tariff_in_force("usingen", CHRISTMAS)
    kerb = pitch_fee(tariff, Decimal(3), False, False, kind="kerb")
    christmas = pitch_fee(tariff, Decimal(3), False, False, kind="christmas_market")
    assert kerb.on(PITCH_FEE) == Decimal("54.00")
    assert christmas.on(PITCH_FEE) == Decimal("72.00")


def test_utilities_not_used_are_no_lines() -> None:
    fee = pitch_fee(tariff_in_force("schmitten", CHRISTMAS), Decimal(2), False, False, kind="kerb")
    assert [line.ledger for line in fee.lines] == [PITCH_FEE, DEPOSIT]
    assert fee.on(ELECTRICITY) == Decimal("0.00")


def test_cents_are_rounded_half_up() -> None:
    tariff = replace(tariff_in_force("usingen", CHRISTMAS), per_metre=(("kerb", Decimal("12.35")),))
    fee = pitch_fee(tariff, Decimal("1.5"), False, False, kind="kerb")
    assert fee.on(PITCH_FEE) == Decimal("18.53")  # 18.525


def test_the_assessment_records_its_version_and_inputs_and_replays() -> None:
    tariff = tariff_in_force("neu-anspach", CHRISTMAS)
    fee = pitch_fee(tariff, Decimal("6"), True, False, kind="kerb")
    assert fee.rules.rules_id == MARKET_FEE_RULES_ID
    assert fee.rules.version == tariff.version
    assert fee.rules.inputs["frontage_m"] == "6"
    assert fee.rules.inputs["rate_per_metre"] == "16.00"
    assert fee.rules.inputs["lines"] == {
        PITCH_FEE: "96.00",
        ELECTRICITY: "30.00",
        DEPOSIT: "100.00",
    }
    assert replay_fee("neu-anspach", fee.rules) == fee


def test_a_later_version_applies_from_its_day_and_the_old_one_still_replays() -> None:
    old = tariff_in_force("usingen", CHRISTMAS)
    fee = pitch_fee(old, Decimal(3), False, False, kind="kerb")
    newer = replace(old, version="usingen-2027-01", valid_from=date(2027, 1, 1))
    book = STATUTES.amended(TARIFFS["usingen"], (old, replace(newer, deposit=Decimal(150))))
    with book.applied():
        assert tariff_in_force("usingen", date(2027, 6, 1)).version == "usingen-2027-01"
        assert tariff_in_force("usingen", CHRISTMAS).version == old.version
        assert tariff_by_version("usingen", old.version) == old
        assert replay_fee("usingen", fee.rules) == fee


@pytest.mark.parametrize(
    ("town", "day", "field"),
    [("berlin", CHRISTMAS, "town"), ("usingen", date(2020, 1, 1), "days")],
)
def test_no_tariff_is_refused_naming_the_field(town: str, day: date, field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        tariff_in_force(town, day)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("frontage", "kind", "field"),
    [
        (Decimal(0), "kerb", "frontage_m"),
        (Decimal(-2), "kerb", "frontage_m"),
        (Decimal(3), "fair", "kind"),
    ],
)
def test_an_impossible_pitch_is_refused(frontage: Decimal, kind: str, field: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        pitch_fee(tariff_in_force("usingen", CHRISTMAS), frontage, False, False, kind=kind)
    assert refused.value.field == field


@settings(max_examples=200, deadline=None)
@given(
    town=st.sampled_from(sorted(TENANTS)),
    frontage=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100), places=2),
    power=st.booleans(),
    tap=st.booleans(),
    kind=st.sampled_from(MARKET_KINDS),
)
def test_no_amount_is_ever_negative_and_the_lines_add_up(
    town: str, frontage: Decimal, power: bool, tap: bool, kind: str
) -> None:
    fee = pitch_fee(tariff_in_force(town, CHRISTMAS), frontage, power, tap, kind=kind)
    assert all(line.amount > 0 for line in fee.lines)
    assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in fee.lines)
    assert fee.total == sum((line.amount for line in fee.lines), Decimal(0))
    assert len({line.ledger for line in fee.lines}) == len(fee.lines)
    assert replay_fee(town, fee.rules) == fee
