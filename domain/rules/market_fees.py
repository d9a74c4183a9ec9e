"""Fees of a market pitch (Standgeld): each town's versioned Marktgebührensatzung.

A trader admitted to a market pays for the pitch by its frontage: the stall's frontage in
metres times the rate per metre for the whole market, which differs by the kind of market
(a Kerb, a Christmas market, another market); a flat amount for electricity and one for
water where the stall uses them; and a deposit (Kaution) against damage and the waste left
behind, refunded after the market: it is booked on a ledger of its own, so the cash office
refunds it without touching the fee.

The amounts are configuration, not law: a council resolution changes them. A change is a new
version with the day it takes effect; old versions stay here, so a decision replays against
the version it recorded (``domain.rules.versions``). Each assessment records the town, the
version and every input in a ``RulesApplied``, so ``replay_fee`` computes the same lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

from domain.case_charges import ChargeLine
from domain.decision import RulesApplied
from domain.errors import InvalidCommand
from domain.rules.tariffs import cents
from domain.rules.versions import UnknownRulesVersion, by_version, in_force

__all__ = [
    "DEPOSIT",
    "ELECTRICITY",
    "MARKET_FEE_RULES_ID",
    "MARKET_KINDS",
    "PITCH_FEE",
    "TARIFFS",
    "WATER",
    "FeeLines",
    "MarketTariff",
    "pitch_fee",
    "replay_fee",
    "tariff_by_version",
    "tariff_in_force",
]

MARKET_FEE_RULES_ID: Final = "market-pitch-fee"
MARKET_KINDS: Final = ("kerb", "christmas_market", "other")

# Ledgers (each a line of its own on the case's charges)
PITCH_FEE: Final = "market_pitch_fee"  # Standgeld
ELECTRICITY: Final = "market_electricity"
WATER: Final = "market_water"
DEPOSIT: Final = "market_deposit"  # Kaution: refundable, its own ledger


@dataclass(frozen=True, slots=True)
class MarketTariff:
    """One version of a town's Marktgebührensatzung."""

    version: str
    valid_from: date
    per_metre: tuple[tuple[str, Decimal], ...]  # (market kind, euros per metre of frontage)
    electricity: Decimal  # flat, per market
    water: Decimal  # flat, per market
    deposit: Decimal  # per pitch, refunded after the market
    legal_basis: str  # "Marktgebührensatzung der Stadt ..."

    def rate(self, kind: str) -> Decimal:
        """The rate per metre of frontage for a market of this kind."""
        for named, rate in self.per_metre:
            if named == kind:
                return rate
        raise InvalidCommand("kind", f"one of {', '.join(k for k, _ in self.per_metre)}")


@dataclass(frozen=True, slots=True)
class FeeLines:
    """What a pitch costs, one charge line per ledger, and the record of how."""

    lines: tuple[ChargeLine, ...]
    rules: RulesApplied

    @property
    def total(self) -> Decimal:
        """Every line together (deposit included)."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def deposit(self) -> Decimal:
        """The refundable deposit among the lines."""
        return sum((line.amount for line in self.lines if line.ledger == DEPOSIT), Decimal("0.00"))

    def on(self, ledger: str) -> Decimal:
        """The amount on one ledger (0 when the pitch owes nothing there)."""
        return sum((line.amount for line in self.lines if line.ledger == ledger), Decimal("0.00"))


def _tariff(
    version: str,
    *,
    kerb: str,
    christmas: str,
    other: str,
    electricity: str,
    water: str,
    deposit: str,
    town: str,
) -> MarketTariff:
    return MarketTariff(
        version=version,
        valid_from=date(2025, 1, 1),
        per_metre=(
            ("kerb", Decimal(kerb)),
            ("christmas_market", Decimal(christmas)),
            ("other", Decimal(other)),
        ),
        electricity=Decimal(electricity),
        water=Decimal(water),
        deposit=Decimal(deposit),
        legal_basis=f"Marktgebührensatzung der {town}",
    )


# EXAMPLE CONFIGURATION, each town's to confirm: rates in the range Hessian towns charge per
# running metre for a market of a few days; the real ones are each town's Satzung's.
TARIFFS: Final[Mapping[str, tuple[MarketTariff, ...]]] = MappingProxyType(
    {
        "usingen": (
            _tariff(
                "usingen-2025-01",
                kerb="18.00",
                christmas="24.00",
                other="12.00",
                electricity="35.00",
                water="15.00",
                deposit="100.00",
                town="Stadt Usingen",
            ),
        ),
        "neu-anspach": (
            _tariff(
                "neu-anspach-2025-01",
                kerb="16.00",
                christmas="22.00",
                other="10.00",
                electricity="30.00",
                water="12.00",
                deposit="100.00",
                town="Stadt Neu-Anspach",
            ),
        ),
        "schmitten": (
            _tariff(
                "schmitten-2025-01",
                kerb="14.00",
                christmas="20.00",
                other="10.00",
                electricity="30.00",
                water="10.00",
                deposit="75.00",
                town="Gemeinde Schmitten im Taunus",
            ),
        ),
        "glashuetten": (
            _tariff(
                "glashuetten-2025-01",
                kerb="15.00",
                christmas="20.00",
                other="10.00",
                electricity="25.00",
                water="10.00",
                deposit="75.00",
                town="Gemeinde Glashütten",
            ),
        ),
    }
)


def _versions(town: str) -> tuple[MarketTariff, ...]:
    try:
        return TARIFFS[town]
    except KeyError:
        raise InvalidCommand("town", f"no market fee tariff for town {town!r}") from None


def tariff_in_force(town: str, day: date) -> MarketTariff:
    """The town's tariff in force on a day (a market's: its first day)."""
    try:
        return in_force(_versions(town), day)
    except UnknownRulesVersion:
        raise InvalidCommand("days", f"no market fee tariff of {town} in force on {day}") from None


def tariff_by_version(town: str, version: str) -> MarketTariff:
    """A town's tariff by the version a market or a decision recorded, however old."""
    return by_version(_versions(town), version)


def pitch_fee(
    tariff: MarketTariff, frontage_m: Decimal, electricity: bool, water: bool, *, kind: str
) -> FeeLines:
    """The lines a pitch of this frontage costs at a market of this kind, and how.

    Frontage times the rate per metre, in cents half up; the flat amounts for electricity
    and water when the stall uses them; the deposit. A frontage of 0 or less is refused.
    """
    try:
        metres = Decimal(frontage_m)
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidCommand("frontage_m", "metres") from None
    if not metres.is_finite() or metres <= 0:
        raise InvalidCommand("frontage_m", "above 0 metres")
    rate = tariff.rate(kind)
    fee = cents(metres * rate)
    power = tariff.electricity if electricity else Decimal("0.00")
    tap = tariff.water if water else Decimal("0.00")
    basis = tariff.legal_basis
    lines = tuple(
        line
        for line in (
            ChargeLine(PITCH_FEE, fee, f"{basis}: Standgeld je Meter Frontlänge"),
            ChargeLine(ELECTRICITY, cents(power), f"{basis}: Stromanschluss"),
            ChargeLine(WATER, cents(tap), f"{basis}: Wasseranschluss"),
            ChargeLine(DEPOSIT, cents(tariff.deposit), f"{basis}: Kaution (wird erstattet)"),
        )
        if line.amount > 0
    )
    record = RulesApplied(
        rules_id=MARKET_FEE_RULES_ID,
        version=tariff.version,
        inputs={
            "kind": kind,
            "frontage_m": str(metres),
            "electricity": bool(electricity),
            "water": bool(water),
            "rate_per_metre": str(rate),
            "electricity_flat": str(tariff.electricity),
            "water_flat": str(tariff.water),
            "deposit": str(tariff.deposit),
            "lines": {line.ledger: str(line.amount) for line in lines},
        },
    )
    return FeeLines(lines, record)


def replay_fee(town: str, rules: RulesApplied) -> FeeLines:
    """The lines computed again from a recorded assessment, by the version it recorded."""
    if rules.rules_id != MARKET_FEE_RULES_ID:
        raise InvalidCommand("rules", f"not a market pitch fee ({rules.rules_id})")
    inputs = rules.inputs
    return pitch_fee(
        tariff_by_version(town, rules.version),
        Decimal(str(inputs["frontage_m"])),
        bool(inputs["electricity"]),
        bool(inputs["water"]),
        kind=str(inputs["kind"]),
    )
