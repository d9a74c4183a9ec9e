"""Retention of a service's files (Aufbewahrungsfrist): the service's own need, the legal
minimum for accounting vouchers, and a town's longer setting.

A file whose case assessed a fee holds an accounting voucher (Beleg: the Gebührenbescheid is
the reason and the amount of a payment the town books). Hessian municipal budget law sets how
long books and vouchers are kept; such a file is kept at least that long, however short the
service's own need. The minimum is a versioned rule (``domain.rules.versions``).

What was verified of the law, and what not:

* Verified: the Verordnung über die Kassenführung der Gemeinden (Gemeindekassenverordnung,
  GemKVO) of 8 March 1977 (GVBl. I S. 125), § 36 Abs. 2: the Jahresrechnung is kept for
  ever, the books ten years, the vouchers seven years (as long as the books where the
  reason for a payment, or who pays or receives it, is not clear from the books); the
  periods begin on 1 January of the budget year after the resolution on the Jahresrechnung.
  That regulation ceased to apply on 1 January 2012 by § 49 of the
  Gemeindehaushaltsverordnung (GemHVO) of 2 April 2006 (GVBl. I S. 134).
* Not verified: the wording, the paragraph number and the years of the GemHVO's own rule on
  keeping books and vouchers in force since 2012 (nor of the Gemeindekassenverordnung of
  27 December 2011, GVBl. I S. 830). The comparable rules of other Länder keep books ten
  years and vouchers six (§ 39 Abs. 2 GemHVO Baden-Württemberg, § 30 Abs. 2 GemHVO
  Rheinland-Pfalz, § 69 Abs. 2 KommHV-Doppik Bayern). Until the Hessian text is checked,
  the version from 2012 keeps the last verified Hessian voucher period, seven years, which
  is not shorter than those; a checked text that sets another period is a new version.

The catalogue counts the years as a whole; the law counts them from 1 January after the
council's resolution on the year's accounts, which a deletion must also wait for (the
``period_starts`` of the rule says so; this module does not compute that day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from domain.rules.versions import in_force
from domain.tenants import Tenant

VOUCHER_RULES_ID: Final = "hessen-voucher-retention"


@dataclass(frozen=True, slots=True)
class VoucherRetention:
    """One version of the minimum retention of books and vouchers (Bücher und Belege)."""

    rules_id: str
    version: str
    valid_from: date
    books_years: int
    vouchers_years: int
    legal_basis: str  # the provision, as a clerk reads it
    period_starts: str  # the day the legal period starts, as the provision words it


VOUCHER_RETENTION: Final = (
    VoucherRetention(
        rules_id=VOUCHER_RULES_ID,
        version="1977-03",
        # the day of the regulation; the day it took effect was not checked
        valid_from=date(1977, 3, 8),
        books_years=10,
        vouchers_years=7,
        legal_basis="§ 36 Abs. 2 GemKVO (Hessen) vom 8. März 1977: Bücher 10 Jahre, Belege 7 Jahre",
        period_starts="1. Januar des der Beschlussfassung über die Jahresrechnung folgenden "
        "Haushaltsjahres",
    ),
    VoucherRetention(
        rules_id=VOUCHER_RULES_ID,
        version="2012-01",
        valid_from=date(2012, 1, 1),  # the GemKVO of 1977 ceased to apply (§ 49 GemHVO)
        # Not verified (module docstring): the GemHVO's own years; ten and seven are the
        # last verified Hessian values, kept until the text is checked.
        books_years=10,
        vouchers_years=7,
        legal_basis="GemHVO (Hessen) vom 2. April 2006, Aufbewahrung von Büchern und Belegen: "
        "Belege 7 Jahre (wie § 36 Abs. 2 GemKVO 1977; Paragraph und Frist der GemHVO noch zu "
        "bestätigen)",
        period_starts="1. Januar nach der Beschlussfassung über den Jahresabschluss "
        "(wie zuletzt § 36 Abs. 2 GemKVO 1977; noch zu bestätigen)",
    ),
)


def voucher_minimum(on: date) -> VoucherRetention:
    """The minimum retention of books and vouchers in force on a day."""
    return in_force(VOUCHER_RETENTION, on)


@dataclass(frozen=True, slots=True)
class RetentionNeed:
    """What a service declares: its own retention, why, and whether its files hold vouchers."""

    own_years: int
    reason: str  # why the service keeps its files this long (German, shown to clerks)
    # Whether its files hold fee assessments (Gebührenbescheide), i.e. accounting vouchers.
    holds_fee_assessments: bool

    def __post_init__(self) -> None:
        if self.own_years < 1:
            raise ValueError(f"a retention of {self.own_years} years; at least 1")


@dataclass(frozen=True, slots=True)
class Retention:
    """How long a service's files are kept (Aufbewahrungsfrist), and on what basis."""

    years: int
    legal_basis: str
    voucher_rules_version: str | None = None  # the minimum's version, where it applied


class RetentionBelowMinimum(ValueError):
    """A town's retention for a service shorter than the catalogue's, which the law bounds."""

    def __init__(self, tenant_id: str, service_id: str, configured: int, floor: Retention):
        super().__init__(
            f"tenant {tenant_id!r} sets {configured} years for service {service_id!r}, shorter "
            f"than its minimum of {floor.years} years ({floor.legal_basis}); a town may only "
            "keep files longer"
        )
        self.tenant_id = tenant_id
        self.service_id = service_id
        self.configured = configured
        self.minimum = floor.years


class InvalidRetentionSetting(ValueError):
    """A town's retention setting that names no service of the catalogue, or one twice."""


def catalogue_retention(need: RetentionNeed, on: date) -> Retention:
    """The catalogue's retention for a service on a day: its own, at least the voucher minimum."""
    if not need.holds_fee_assessments:
        return Retention(need.own_years, need.reason)
    minimum = voucher_minimum(on)
    if minimum.vouchers_years > need.own_years:
        return Retention(minimum.vouchers_years, minimum.legal_basis, minimum.version)
    return Retention(
        need.own_years,
        f"{need.reason}; Mindestfrist für Belege: {minimum.legal_basis}",
        minimum.version,
    )


def tenant_retention(tenant: Tenant, service_id: str, need: RetentionNeed, on: date) -> Retention:
    """A town's retention for a service: its own setting if it has one, else the catalogue's.

    A setting shorter than the catalogue's retention is refused (``RetentionBelowMinimum``):
    the catalogue's is the service's need, and for fee assessments the legal minimum.
    """
    floor = catalogue_retention(need, on)
    configured = dict(tenant.retention_years).get(service_id)
    if configured is None:
        return floor
    if configured < floor.years:
        raise RetentionBelowMinimum(tenant.id, service_id, configured, floor)
    return Retention(
        configured,
        f"Festlegung {tenant.display_name} (Katalog: {floor.years} Jahre, {floor.legal_basis})",
        floor.voucher_rules_version,
    )


def check_tenant_settings(tenant: Tenant, needs: Mapping[str, RetentionNeed], on: date) -> None:
    """Refuse a town's settings naming no service, one service twice, or too few years."""
    seen: set[str] = set()
    for service_id, _years in tenant.retention_years:
        if service_id not in needs:
            raise InvalidRetentionSetting(
                f"tenant {tenant.id!r} sets a retention for {service_id!r}, which is no "
                f"service; known: {', '.join(sorted(needs))}"
            )
        if service_id in seen:
            raise InvalidRetentionSetting(
                f"tenant {tenant.id!r} sets the retention for {service_id!r} twice"
            )
        seen.add(service_id)
        tenant_retention(tenant, service_id, needs[service_id], on)
