"""The rules of the resident parking permit: plates, streets, zones, tariffs and their versions."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.rules import resident_parking as rules
from domain.rules.resident_parking import (
    GEBOST_BASIS,
    FeeOrdinance,
    ParkingTariff,
    ParkingZone,
    Refusal,
    TariffWithoutBasis,
    ZonePlan,
    refusal_text,
    street_key,
    tariff,
    zone_plan,
)
from domain.rules.versions import STATUTES, UnknownRulesVersion
from domain.services.resident_parking import canonical_plate, last_day
from domain.tenants import TENANTS

districts = st.text(alphabet="ABCDEFGHKLMNOPRSTUVWZÄÖÜ", min_size=1, max_size=3)
letters = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=2)
numbers = st.integers(min_value=1, max_value=9999)
ORDINANCE = FeeOrdinance(
    "Gebührenordnung für Bewohnerparkausweise der Stadt Usingen", date(2026, 11, 26)
)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("HG-AB 123", "HG-AB 123"),
        ("HG AB123", "HG-AB 123"),
        ("hg-ab123", "HG-AB 123"),
        (" HG - AB - 123 ", "HG-AB 123"),
        ("F-X 1E", "F-X 1E"),
        ("MÜ-AB 12H", "MÜ-AB 12H"),
    ],
)
def test_a_plate_is_the_same_however_it_is_written(written: str, canonical: str) -> None:
    assert canonical_plate(written) == canonical


@pytest.mark.parametrize("written", ["HGAB123", "HG-AB 0", "HG-ABC 1", "HG-AB 12345", "?"])
def test_a_plate_without_district_separator_or_in_the_wrong_shape_is_refused(
    written: str,
) -> None:
    with pytest.raises(ValueError, match="number plate"):
        canonical_plate(written)


def test_district_and_letters_are_told_apart() -> None:
    assert canonical_plate("H-GA 12") != canonical_plate("HG-A 12")


@given(district=districts, letters=letters, number=numbers, hyphen=st.booleans())
def test_every_spelling_of_a_valid_plate_gives_one_canonical_form(
    district: str, letters: str, number: int, hyphen: bool
) -> None:
    if len(district + letters + str(number)) > 8:
        return
    canonical = f"{district}-{letters} {number}"
    spelled = f"{district.lower()}{'-' if hyphen else ' '}{letters}{number}"
    assert canonical_plate(spelled) == canonical_plate(canonical) == canonical


@pytest.mark.parametrize(
    "written",
    ["Wilhelmjstraße", "Wilhelmj-Straße", "wilhelmjstrasse", "Wilhelmjstr.", "WILHELMJ STR"],
)
def test_a_street_is_found_however_it_is_written(written: str) -> None:
    assert street_key(written) == street_key("Wilhelmjstraße")
    zone = zone_plan("usingen", date(2026, 3, 2)).zone_for(written)
    assert zone is not None
    assert zone.id == "U1"


def test_every_town_has_zones_and_a_tariff_and_no_street_lies_in_two_zones() -> None:
    for tenant in TENANTS:
        plan = zone_plan(tenant, date(2026, 3, 2))
        assert plan.zones
        keys = [street_key(s) for zone in plan.zones for s in zone.streets]
        assert len(keys) == len(set(keys)), tenant
        assert tariff(tenant, date(2026, 3, 2)).annual_fee > 0


def test_the_check_names_every_reason_to_refuse() -> None:
    plan = zone_plan("usingen", date(2026, 3, 2))
    zone, checked = plan.check("Am Feldrain", main_residence=False)
    assert zone is None
    assert checked.inputs["refusals"] == [Refusal.OUTSIDE_ZONES, Refusal.SECONDARY_RESIDENCE]
    lenient = zone_plan("neu-anspach", date(2026, 3, 2))
    zone, checked = lenient.check("Schulstraße", main_residence=False)
    assert zone is not None
    assert checked.inputs["refusals"] == []


@pytest.mark.parametrize(
    ("months", "fee"), [(12, "60.00"), (6, "30.00"), (1, "5.00"), (7, "35.00"), (24, "120.00")]
)
def test_the_fee_is_the_annual_amount_per_started_month(months: int, fee: str) -> None:
    amount, record = tariff("usingen", date(2026, 3, 2)).assess(months)
    assert amount == Decimal(fee)
    assert record.inputs["fee"] == fee
    assert record.inputs["months"] == months


def test_a_validity_of_whole_months_ends_the_day_before() -> None:
    assert last_day(date(2026, 3, 2), 12) == date(2027, 3, 1)
    assert last_day(date(2026, 1, 31), 1) == date(2026, 2, 28)  # § 188 (3) BGB
    assert last_day(date(2026, 1, 28), 1) == date(2026, 2, 27)
    assert last_day(date(2028, 2, 29), 12) == date(2029, 2, 28)


def test_a_new_version_takes_effect_on_its_day_and_old_ones_stay_findable() -> None:
    old = rules.TARIFFS["usingen"][-1]
    new = ParkingTariff(
        "usingen-2027-01", date(2027, 1, 1), Decimal("120.00"), Decimal("20.00"), ORDINANCE
    )
    with STATUTES.amended(rules.TARIFFS["usingen"], (old, new)).applied():
        assert tariff("usingen", date(2026, 12, 31)) == old
        assert tariff("usingen", date(2027, 1, 1)) == new
        assert rules.tariff_version("usingen", old.version) == old
        assert rules.tariff_version("usingen", new.version) == new
        with pytest.raises(UnknownRulesVersion):
            rules.tariff_version("usingen", "1999-01")
        with pytest.raises(UnknownRulesVersion):
            tariff("usingen", date(2024, 12, 31))
        with pytest.raises(UnknownRulesVersion):
            zone_plan("atlantis", date(2026, 3, 2))
    assert tariff("usingen", date(2027, 1, 1)) == old  # outside the block: the statutes


def test_an_amended_table_applies_only_in_the_thread_that_applied_it() -> None:
    old = rules.TARIFFS["usingen"][-1]
    new = ParkingTariff(
        "usingen-2027-01", date(2027, 1, 1), Decimal("120.00"), Decimal("20.00"), ORDINANCE
    )
    elsewhere: list[ParkingTariff] = []
    with STATUTES.amended(rules.TARIFFS["usingen"], (old, new)).applied():
        other = threading.Thread(
            target=lambda: elsewhere.append(tariff("usingen", date(2027, 1, 1)))
        )
        other.start()
        other.join()
        assert tariff("usingen", date(2027, 1, 1)) == new
    assert elsewhere == [old]


def test_a_plan_caps_the_validity() -> None:
    plan = ZonePlan("x", date(2025, 1, 1), (ParkingZone("Z", "Z", ("A-Weg",)),))
    assert plan.max_validity_months == 12
    assert zone_plan("schmitten", date(2026, 3, 2)).max_validity_months == 24


# ------------------------------------------------------------ residence rule (issue #20)


@pytest.mark.parametrize("tenant", sorted(TENANTS))
def test_the_zone_check_from_2026_cites_the_residence_rule_of_law_and_of_the_town(
    tenant: str,
) -> None:
    plan = zone_plan(tenant, date(2026, 3, 2))
    assert plan.residence_rule is not None
    _, record = plan.check("Nirgendwo-Weg", main_residence=True)
    assert record.version == f"{tenant}-2026-01"
    assert record.inputs["residence_basis"].startswith("§ 45 Abs. 1b Satz 1 Nr. 2a StVO")
    assert "VwV-StVO" in record.inputs["residence_basis"]
    assert record.inputs["residence_rule"] == rules.TOWN_RESIDENCE_RULES[tenant]
    assert "Melderegister" in record.inputs["residence_proof"]
    text = refusal_text("outside_zones", record)
    assert "Meldebehörde" in text
    assert rules.TOWN_RESIDENCE_RULES[tenant] in text
    assert "§ 45 Abs. 1b Satz 1 Nr. 2a StVO" in text


def test_the_2025_plans_stay_as_recorded_for_replay() -> None:
    old = rules.zone_plan_version("usingen", "usingen-2025-01")
    assert old.residence_rule is None
    _, record = old.check("Obergasse", main_residence=True)
    assert "residence_rule" not in record.inputs
    assert refusal_text("outside_zones", record) == Refusal.TEXT["outside_zones"]


def test_a_secondary_residence_refusal_names_the_towns_rule() -> None:
    _, record = zone_plan("usingen", date(2026, 3, 2)).check("Obergasse", main_residence=False)
    assert record.inputs["refusals"] == ["secondary_residence"]
    text = refusal_text("secondary_residence", record)
    assert "Nebenwohnung" in text
    assert "Bewohnerparkregelung der Stadt Usingen" in text


# ------------------------------------------------------------------ fees (issue #20)


@given(fee=st.decimals(min_value=Decimal("30.71"), max_value=Decimal("1000"), places=2))
def test_a_tariff_above_the_federal_cap_without_an_ordinance_is_refused_when_defined(
    fee: Decimal,
) -> None:
    with pytest.raises(TariffWithoutBasis, match="GebOSt"):
        ParkingTariff("x-2027-01", date(2027, 1, 1), fee, Decimal("10.00"))
    with_ordinance = ParkingTariff("x-2027-01", date(2027, 1, 1), fee, Decimal("10.00"), ORDINANCE)
    assert "§ 6a Abs. 5a StVG" in with_ordinance.legal_basis
    assert "Gebührenordnung für Bewohnerparkausweise der Stadt Usingen vom 26.11.2026" in (
        with_ordinance.legal_basis
    )


@given(fee=st.decimals(min_value=Decimal("10.20"), max_value=Decimal("30.70"), places=2))
def test_a_tariff_within_the_federal_frame_stands_on_the_gebost(fee: Decimal) -> None:
    within = ParkingTariff("x-2027-01", date(2027, 1, 1), fee, Decimal("10.00"))
    assert within.legal_basis == GEBOST_BASIS
    _, record = within.assess(12)
    assert record.inputs["legal_basis"] == GEBOST_BASIS


def test_a_plate_change_fee_above_the_cap_needs_an_ordinance_too() -> None:
    with pytest.raises(TariffWithoutBasis, match="plate change"):
        ParkingTariff("x-2027-01", date(2027, 1, 1), Decimal("30.00"), Decimal("40.00"))


@pytest.mark.parametrize("tenant", sorted(TENANTS))
def test_every_towns_tariff_names_its_basis_and_records_it_from_2026(tenant: str) -> None:
    for version in rules.TARIFFS[tenant]:
        assert version.legal_basis  # defined: within the GebOSt, or with an ordinance
    today = tariff(tenant, date(2026, 3, 2))
    _, record = today.assess(12)
    assert record.inputs["legal_basis"] == today.legal_basis
    old = rules.TARIFFS[tenant][0]
    _, old_record = old.assess(12)
    assert "legal_basis" not in old_record.inputs  # as the 2025 decisions recorded it
    if today.annual_fee > Decimal("30.70"):
        assert today.ordinance is not None
