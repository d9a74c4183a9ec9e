"""Retention: files with fee assessments are kept at least the legal minimum for vouchers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from domain.retention import (
    VOUCHER_RETENTION,
    InvalidRetentionSetting,
    RetentionBelowMinimum,
    RetentionNeed,
    catalogue_retention,
    check_tenant_settings,
    tenant_retention,
    voucher_minimum,
)
from domain.rules.versions import STATUTES, UnknownRulesVersion
from domain.services.catalogue import SERVICES, check_retention_settings, retention_for
from domain.tenants import TENANTS, Tenant, UnknownTenant

TODAY = date(2026, 3, 2)
DAYS = (*(v.valid_from for v in VOUCHER_RETENTION), TODAY)
NEEDS = {service_id: d.retention for service_id, d in SERVICES.items()}


def town(*settings: tuple[str, int]) -> Tenant:
    return Tenant("teststadt", "Stadt Teststadt", "TST", "06400000", retention_years=settings)


def test_every_service_that_charges_fees_declares_its_files_hold_fee_assessments() -> None:
    charging = {s for s, d in SERVICES.items() if d.tariff is not None}
    holding = {s for s, need in NEEDS.items() if need.holds_fee_assessments}
    assert charging == holding
    assert "general" not in holding


@pytest.mark.parametrize("on", DAYS)
def test_no_service_with_fee_assessments_is_kept_shorter_than_the_voucher_minimum(
    on: date,
) -> None:
    minimum = voucher_minimum(on).vouchers_years
    for service_id, definition in SERVICES.items():
        if definition.retention.holds_fee_assessments:
            assert definition.retention_on(on).years >= minimum, service_id


def test_a_short_need_is_raised_to_the_minimum_and_says_so() -> None:
    parking = SERVICES["resident-parking"].retention_on(TODAY)
    assert parking.years == 7
    assert parking.legal_basis.startswith("GemHVO (Hessen)")
    assert parking.voucher_rules_version == "2012-01"
    assert SERVICES["traffic-sign-order"].retention_on(TODAY).years == 7
    # issue 28: a stall's file holds the pitch fee and the deposit: six years of its own
    # (later selections, lawsuits) are raised to the vouchers' seven
    stall = SERVICES["market-stall"]
    assert stall.retention.holds_fee_assessments
    assert (stall.retention.own_years, stall.retention_on(TODAY).years) == (6, 7)


def test_a_longer_need_is_kept_and_names_the_minimum_too() -> None:
    sewer = SERVICES["sewer-connection"].retention_on(TODAY)
    assert sewer.years == 30
    assert "Kanalkataster" in sewer.legal_basis
    assert "Mindestfrist für Belege: GemHVO (Hessen)" in sewer.legal_basis
    assert SERVICES["road-opening"].retention_on(TODAY).years == 10


def test_a_service_without_fees_keeps_its_own_retention() -> None:
    general = SERVICES["general"].retention_on(TODAY)
    assert general.years == 6
    assert general.voucher_rules_version is None
    short = RetentionNeed(own_years=2, reason="kurz", holds_fee_assessments=False)
    assert catalogue_retention(short, TODAY).years == 2


def test_the_minimum_is_looked_up_by_day() -> None:
    assert voucher_minimum(date(2011, 12, 31)).version == "1977-03"
    assert voucher_minimum(date(2012, 1, 1)).version == "2012-01"
    assert voucher_minimum(TODAY).version == "2012-01"
    with pytest.raises(UnknownRulesVersion):
        voucher_minimum(date(1977, 3, 7))


def test_a_longer_minimum_applies_from_the_day_it_takes_effect() -> None:
    longer = replace(VOUCHER_RETENTION[-1], version="2030-01", valid_from=date(2030, 1, 1))
    longer = replace(longer, vouchers_years=10, legal_basis="GemHVO (Hessen), neue Fassung")
    book = STATUTES.amended(VOUCHER_RETENTION, (*VOUCHER_RETENTION, longer))
    with book.applied():
        parking = SERVICES["resident-parking"]
        assert parking.retention_on(date(2029, 12, 31)).years == 7
        assert parking.retention_on(date(2030, 1, 1)).years == 10
        assert parking.retention_on(date(2030, 1, 1)).voucher_rules_version == "2030-01"
        assert SERVICES["general"].retention_on(date(2030, 1, 1)).years == 6
        # a town's setting that was long enough becomes too short
        setting = town(("traffic-sign-order", 8))
        need = NEEDS["traffic-sign-order"]
        assert tenant_retention(setting, "traffic-sign-order", need, date(2029, 12, 31)).years == 8
        with pytest.raises(RetentionBelowMinimum):
            tenant_retention(setting, "traffic-sign-order", need, date(2030, 1, 1))


def test_a_town_may_keep_a_service_s_files_longer() -> None:
    setting = town(("resident-parking", 10))
    kept = tenant_retention(setting, "resident-parking", NEEDS["resident-parking"], TODAY)
    assert kept.years == 10
    assert "Stadt Teststadt" in kept.legal_basis
    assert "Katalog: 7 Jahre" in kept.legal_basis
    # the other services keep the catalogue's
    assert tenant_retention(setting, "burial", NEEDS["burial"], TODAY).years == 30
    # exactly the minimum is allowed
    assert (
        tenant_retention(
            town(("resident-parking", 7)), "resident-parking", NEEDS["resident-parking"], TODAY
        ).years
        == 7
    )


def test_a_town_s_setting_below_the_legal_minimum_is_refused_naming_the_service() -> None:
    with pytest.raises(RetentionBelowMinimum, match="'traffic-sign-order'") as refused:
        tenant_retention(
            town(("traffic-sign-order", 5)),
            "traffic-sign-order",
            NEEDS["traffic-sign-order"],
            TODAY,
        )
    assert refused.value.minimum == 7
    assert refused.value.configured == 5
    assert "GemHVO" in str(refused.value)


def test_a_town_may_not_shorten_a_service_s_own_need_either() -> None:
    with pytest.raises(RetentionBelowMinimum, match=r"'sewer-connection'.*30 years"):
        tenant_retention(
            town(("sewer-connection", 20)), "sewer-connection", NEEDS["sewer-connection"], TODAY
        )


def test_a_setting_for_no_service_or_for_one_twice_is_refused() -> None:
    with pytest.raises(InvalidRetentionSetting, match="'moon-landing', which is no service"):
        check_tenant_settings(town(("moon-landing", 10)), NEEDS, TODAY)
    with pytest.raises(InvalidRetentionSetting, match="'burial' twice"):
        check_tenant_settings(town(("burial", 30), ("burial", 40)), NEEDS, TODAY)
    with pytest.raises(RetentionBelowMinimum, match="'general'"):
        check_tenant_settings(town(("burial", 40), ("general", 1)), NEEDS, TODAY)
    check_tenant_settings(town(("burial", 40), ("general", 8)), NEEDS, TODAY)


@pytest.mark.parametrize("on", DAYS[1:])
def test_the_towns_settings_are_valid(on: date) -> None:
    for tenant_id in TENANTS:
        check_retention_settings(tenant_id, on)
        for service_id, definition in SERVICES.items():
            assert (
                retention_for(tenant_id, service_id, on).years >= definition.retention_on(on).years
            )


def test_a_retention_for_an_unknown_town_or_service_is_refused() -> None:
    with pytest.raises(UnknownTenant):
        retention_for("atlantis", "burial", TODAY)
    with pytest.raises(KeyError):
        retention_for("usingen", "moon-landing", TODAY)


def test_a_retention_of_less_than_a_year_is_no_need() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RetentionNeed(own_years=0, reason="", holds_fee_assessments=False)
