"""Cemeteries as configured and their rules: graves by address, rest periods, rights, fees."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from domain.cemeteries import (
    BurialKind,
    GraveAddress,
    GraveField,
    GraveRow,
    GraveType,
    UnknownGrave,
    cemeteries,
    grave,
    graves,
)
from domain.errors import InvalidCommand
from domain.rules import cemetery as rules
from domain.rules.cemetery import (
    BurialPeriodRefusal,
    NoGraveRight,
    RestPeriodException,
    RestPeriods,
    age_in_years,
    burial_periods,
    extension_years,
    grave_right_terms,
    rest_periods,
    rest_periods_version,
    tariff,
    years_after,
)
from domain.rules.versions import STATUTES, UnknownRulesVersion
from domain.tenants import TENANTS

ON = date(2026, 3, 2)
DIED = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def test_every_town_has_a_cemetery_and_each_configured_grave_is_found_by_its_address() -> None:
    for tenant in TENANTS:
        assert cemeteries(tenant)
        for spec in graves(tenant):
            assert grave(tenant, spec.address) == spec


def test_the_configuration_offers_every_grave_type() -> None:
    offered = {spec.grave_type for tenant in TENANTS for spec in graves(tenant)}
    assert offered == set(GraveType)


@pytest.mark.parametrize(
    ("address", "missing"),
    [
        (GraveAddress("nowhere", "A", "1", 1), "cemetery"),
        (GraveAddress("usingen-friedhof", "Z", "1", 1), "field"),
        (GraveAddress("usingen-friedhof", "A", "9", 1), "row"),
        (GraveAddress("usingen-friedhof", "A", "1", 999), "number"),
        (GraveAddress("usingen-friedhof", "A", "1", 0), "number"),
    ],
)
def test_an_unknown_grave_is_refused_naming_the_grave_and_what_is_missing(
    address: GraveAddress, missing: str
) -> None:
    with pytest.raises(UnknownGrave) as refused:
        grave("usingen", address)
    assert refused.value.field == "grave"
    assert refused.value.missing == missing


def test_a_cemetery_of_another_town_is_unknown_here() -> None:
    with pytest.raises(UnknownGrave):
        grave("schmitten", GraveAddress("usingen-friedhof", "A", "1", 1))


def test_an_urn_field_cannot_be_configured_with_coffin_places() -> None:
    with pytest.raises(ValueError, match="takes no coffin"):
        GraveField("X", "Urnen", GraveType.URNENWAHLGRAB, 1, 4, (GraveRow("1", 1, 5),))


def test_only_wahlgraeber_carry_a_grave_right() -> None:
    assert {t for t in GraveType if t.has_grave_right} == {
        GraveType.WAHLGRAB,
        GraveType.URNENWAHLGRAB,
    }
    assert GraveType.RASENGRAB.label_de == "Rasengrab"
    assert GraveType.ANONYMES_URNENFELD.label_en == "anonymous urn field"


# ------------------------------------------------------------------ rest periods


@pytest.mark.parametrize(
    ("kind", "age", "years", "applied"),
    [
        (BurialKind.COFFIN, 80, 25, "kind"),
        (BurialKind.URN, 80, 20, "kind"),
        (BurialKind.COFFIN, 4, 15, "child"),
        (BurialKind.URN, 0, 15, "child"),
        (BurialKind.COFFIN, 5, 25, "kind"),
    ],
)
def test_a_coffin_rests_25_years_an_urn_20_and_a_child_under_five_15(
    kind: BurialKind, age: int, years: int, applied: str
) -> None:
    found, record = rest_periods("usingen", ON).rest_period(
        cemetery="usingen-friedhof", grave_type=GraveType.WAHLGRAB, kind=kind, age_at_death=age
    )
    assert found == years
    assert record.rules_id == rules.REST_PERIOD_RULES_ID
    assert record.version == "usingen-2025-01"
    assert record.inputs["applied"] == applied
    assert record.inputs["years"] == years


def test_a_cemetery_on_heavy_soil_keeps_coffins_longer_but_not_children() -> None:
    periods = rest_periods("neu-anspach", ON)
    adult, record = periods.rest_period(
        cemetery="waldfriedhof-neu-anspach",
        grave_type=GraveType.REIHENGRAB,
        kind=BurialKind.COFFIN,
        age_at_death=70,
    )
    child, _ = periods.rest_period(
        cemetery="waldfriedhof-neu-anspach",
        grave_type=GraveType.REIHENGRAB,
        kind=BurialKind.COFFIN,
        age_at_death=2,
    )
    elsewhere, _ = periods.rest_period(
        cemetery="westerfeld-friedhof",
        grave_type=GraveType.WAHLGRAB,
        kind=BurialKind.COFFIN,
        age_at_death=70,
    )
    assert (adult, child, elsewhere) == (30, 15, 25)
    assert record.inputs["applied"] == "exception"


def test_the_most_specific_exception_decides() -> None:
    periods = RestPeriods(
        "t",
        ON,
        25,
        20,
        15,
        5,
        (
            RestPeriodException(28, BurialKind.COFFIN, grave_type=GraveType.RASENGRAB),
            RestPeriodException(30, BurialKind.COFFIN, cemetery="c"),
            RestPeriodException(
                35, BurialKind.COFFIN, cemetery="c", grave_type=GraveType.RASENGRAB
            ),
        ),
    )

    def years(cemetery: str, grave_type: GraveType) -> int:
        found, _ = periods.rest_period(
            cemetery=cemetery, grave_type=grave_type, kind=BurialKind.COFFIN, age_at_death=50
        )
        return found

    assert years("c", GraveType.RASENGRAB) == 35
    assert years("c", GraveType.WAHLGRAB) == 30
    assert years("d", GraveType.RASENGRAB) == 28
    assert years("d", GraveType.WAHLGRAB) == 25


def test_an_amended_rest_period_applies_from_its_day_and_the_old_version_stays() -> None:
    old = rest_periods("usingen", ON)
    new = RestPeriods("usingen-2027-01", date(2027, 1, 1), 30, 20, 12, 6)
    book = STATUTES.amended(rules.REST_PERIODS["usingen"], (old, new))
    with book.applied():
        assert rest_periods("usingen", date(2026, 12, 31)) is old
        assert rest_periods("usingen", date(2027, 1, 1)) is new
        assert rest_periods_version("usingen", old.version) is old
    assert rest_periods("usingen", date(2027, 1, 1)) is old  # outside the book: the statute


def test_no_rules_are_in_force_before_the_first_version_or_for_an_unknown_town() -> None:
    with pytest.raises(UnknownRulesVersion):
        rest_periods("usingen", date(2024, 12, 31))
    with pytest.raises(UnknownRulesVersion):
        tariff("frankfurt", ON)


def test_every_town_has_every_cemetery_rule_in_force() -> None:
    for tenant in TENANTS:
        rest_periods(tenant, ON)
        grave_right_terms(tenant, ON)
        tariff(tenant, ON)
    burial_periods(ON)


@pytest.mark.parametrize(
    ("born", "died", "age"),
    [
        (date(2021, 3, 2), date(2026, 3, 1), 4),
        (date(2021, 3, 2), date(2026, 3, 2), 5),
        (date(1946, 12, 31), date(2026, 1, 1), 79),
    ],
)
def test_the_age_at_death_counts_completed_years(born: date, died: date, age: int) -> None:
    assert age_in_years(born, died) == age


def test_a_death_before_the_birth_is_refused_naming_the_date_of_death() -> None:
    with pytest.raises(InvalidCommand) as refused:
        age_in_years(date(2026, 1, 2), date(2026, 1, 1))
    assert refused.value.field == "died_on"


def test_a_rest_period_from_a_leap_day_ends_on_the_last_of_february() -> None:
    assert years_after(date(2028, 2, 29), 25) == date(2053, 2, 28)


# ------------------------------------------------------------------ grave rights


def test_a_wahlgrab_is_granted_for_30_years_and_an_urnenwahlgrab_for_25() -> None:
    terms = grave_right_terms("schmitten", ON)
    years, record = terms.term(GraveType.WAHLGRAB)
    assert years == 30
    assert record.rules_id == rules.GRAVE_RIGHT_RULES_ID
    assert terms.term(GraveType.URNENWAHLGRAB)[0] == 25


@pytest.mark.parametrize("grave_type", [t for t in GraveType if not t.has_grave_right])
def test_a_grave_given_out_in_turn_has_no_grave_right_term(grave_type: GraveType) -> None:
    with pytest.raises(NoGraveRight) as refused:
        grave_right_terms("usingen", ON).term(grave_type)
    assert refused.value.field == "grave_type"


@pytest.mark.parametrize(
    ("ends_on", "needed", "years"),
    [
        (date(2056, 3, 2), date(2051, 3, 2), 0),
        (date(2056, 3, 2), date(2056, 3, 2), 0),
        (date(2056, 3, 2), date(2056, 3, 3), 1),
        (date(2056, 3, 2), date(2057, 3, 2), 1),
        (date(2056, 3, 2), date(2057, 3, 3), 2),
        (date(2040, 12, 31), date(2051, 1, 1), 11),
    ],
)
def test_an_extension_is_the_fewest_whole_years_that_outlast_the_rest_period(
    ends_on: date, needed: date, years: int
) -> None:
    assert extension_years(ends_on, needed) == years
    assert years_after(ends_on, years) >= needed


# ------------------------------------------------------------------ burial periods


@pytest.mark.parametrize(
    ("kind", "hours", "cremated_on", "refusals"),
    [
        (BurialKind.COFFIN, 47, None, (BurialPeriodRefusal.TOO_EARLY,)),
        (BurialKind.COFFIN, 48, None, ()),
        (BurialKind.COFFIN, 96, None, ()),
        (BurialKind.COFFIN, 97, None, (BurialPeriodRefusal.TOO_LATE,)),
        (BurialKind.URN, 24 * 30, date(2026, 3, 5), ()),
        (BurialKind.URN, 24 * 66, date(2026, 3, 5), ()),
        (BurialKind.URN, 24 * 67, date(2026, 3, 5), (BurialPeriodRefusal.URN_TOO_LATE,)),
        (BurialKind.URN, 24 * 10, None, (BurialPeriodRefusal.CREMATION_MISSING,)),
        (BurialKind.URN, 24 * 10, date(2026, 3, 1), (BurialPeriodRefusal.CREMATED_BEFORE_DEATH,)),
    ],
)
def test_a_burial_lies_between_48_hours_after_death_and_the_latest_day_the_law_sets(
    kind: BurialKind, hours: int, cremated_on: date | None, refusals: tuple[str, ...]
) -> None:
    found, record = burial_periods(DIED.date()).check(
        kind=kind, died_at=DIED, burial_at=DIED + timedelta(hours=hours), cremated_on=cremated_on
    )
    assert found == refusals
    assert record.rules_id == rules.BURIAL_PERIOD_RULES_ID
    assert record.inputs["refusals"] == list(refusals)


def test_a_burial_period_is_checked_on_aware_times_only() -> None:
    with pytest.raises(InvalidCommand) as refused:
        burial_periods(ON).check(
            kind=BurialKind.COFFIN, died_at=DIED, burial_at=datetime(2026, 3, 5, 10)
        )
    assert refused.value.field == "burial_at"


# ------------------------------------------------------------------ fees


def test_a_grave_right_costs_its_yearly_fee_times_the_years_and_records_how() -> None:
    fees = tariff("usingen", ON)
    fee, record = fees.assess_grave_use(GraveType.WAHLGRAB, 30)
    assert fee == Decimal("1440.00")
    assert record.rules_id == rules.FEE_RULES_ID
    assert record.version == "usingen-2025-01"
    assert record.inputs == {
        "charge": "grave_use",
        "grave_type": "wahlgrab",
        "years": 30,
        "per_year": "48.00",
        "fee": "1440.00",
    }


def test_an_extension_is_charged_pro_rata_by_whole_years() -> None:
    fee, record = tariff("neu-anspach", ON).assess_extension(GraveType.URNENWAHLGRAB, 3)
    assert fee == Decimal("114.00")
    assert record.inputs["charge"] == "extension"


def test_an_extension_of_no_whole_year_is_refused_naming_the_years() -> None:
    with pytest.raises(InvalidCommand) as refused:
        tariff("usingen", ON).assess_extension(GraveType.WAHLGRAB, 0)
    assert refused.value.field == "years"


def test_burial_chapel_and_headstone_permit_have_fees_of_their_own() -> None:
    fees = tariff("glashuetten", ON)
    assert fees.assess_burial(BurialKind.COFFIN)[0] == Decimal("640.00")
    urn, record = fees.assess_burial(BurialKind.URN)
    assert urn == Decimal("250.00")
    assert record.inputs["kind"] == "urn"
    assert fees.assess_chapel()[1].inputs == {"charge": "chapel", "fee": "180.00"}
    assert fees.assess_headstone_permit()[0] == Decimal("60.00")
