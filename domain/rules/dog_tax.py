"""Rules of the dog tax (Hundesteuer): each town's versioned tariff and the tax of a year.

The tax is the towns' own (§ 7 KAG Hessen with each town's Hundesteuersatzung): a yearly
rate for the first dog of a household, the second, each further dog and a dangerous dog
(a listed breed or one found dangerous, Hessian Gefahrenabwehrverordnung über das Halten
und Führen von Hunden); reductions and exemptions are reasons with their own rules.

Liability runs from the first of the month after the dog was taken in, not before the
first of the month after it is three months old, to the end of the month of its
deregistration; each month is a twelfth of the yearly rate. The tariff of a month is the
version in force on its first day, so a new version applies from its ``valid_from`` month.
A year's assessment records the town, the year, every dog and credit and the version of
each month, so ``replay_year`` computes the same tax from the record alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from domain.decision import RulesApplied
from domain.errors import InvalidCommand
from domain.rules.tariffs import cents
from domain.rules.versions import UnknownRulesVersion, by_version, in_force
from domain.working_days import add_months

__all__ = [
    "DOG_TAX_RULES_ID",
    "TARIFFS",
    "Credit",
    "DogInHousehold",
    "DogTaxTariff",
    "DogYear",
    "MonthCharge",
    "Rate",
    "Relief",
    "ReliefClaim",
    "ReliefRule",
    "YearAssessment",
    "assess_year",
    "dog_from_record",
    "dog_record",
    "liability_months",
    "replay_year",
    "tariff_in_force",
]

DOG_TAX_RULES_ID: Final = "dog-tax"
MONTHS: Final = range(1, 13)


class Relief(StrEnum):
    """Why a dog's tax is reduced or waived (the Satzung's Steuerermäßigung, -befreiung)."""

    ASSISTANCE_DOG = "assistance_dog"  # Assistenz-/Blindenführhund: exempt
    SHELTER_DOG = "shelter_dog"  # from an animal shelter (Tierheim): reduced for a time
    LOW_INCOME = "low_income"  # keeper on social benefits: reduced while proven


class Rate(StrEnum):
    """Which of the tariff's yearly rates a dog pays in a month."""

    FIRST = "first"
    SECOND = "second"
    FURTHER = "further"
    DANGEROUS = "dangerous"
    EXEMPT = "exempt"


@dataclass(frozen=True, slots=True)
class ReliefRule:
    """What a relief does: the share of the rate it takes off, for how long, for whom."""

    reason: Relief
    share: Decimal  # 1: exempt (the dog does not count towards the number); 0.5: half
    months: int | None  # at most so many months from the relief's first month; None: no limit
    for_dangerous_dogs: bool  # the Satzungen deny reductions to dangerous dogs

    @property
    def exempts(self) -> bool:
        """An exemption: no tax, and the dog does not count towards the number of dogs."""
        return self.share == 1


@dataclass(frozen=True, slots=True)
class DogTaxTariff:
    """One version of a town's Hundesteuersatzung: yearly rates and reliefs."""

    version: str
    valid_from: date
    first: Decimal
    second: Decimal
    further: Decimal
    dangerous: Decimal
    reliefs: tuple[ReliefRule, ...]
    legal_basis: str
    tag_replacement_fee: Decimal = Decimal("5.00")  # a new tax tag for one lost
    payable_on: tuple[int, int] = (7, 1)  # month, day: the year's tax falls due (1 July)

    def yearly(self, rate: Rate) -> Decimal:
        """The yearly amount of a rate (an exempt dog: nothing)."""
        return {
            Rate.FIRST: self.first,
            Rate.SECOND: self.second,
            Rate.FURTHER: self.further,
            Rate.DANGEROUS: self.dangerous,
            Rate.EXEMPT: Decimal(0),
        }[rate]

    def relief(self, reason: Relief) -> ReliefRule | None:
        """The rule of a relief, or None where this Satzung grants none for the reason."""
        return next((rule for rule in self.reliefs if rule.reason == reason), None)


def _reliefs(shelter_months: int) -> tuple[ReliefRule, ...]:
    return (
        ReliefRule(Relief.ASSISTANCE_DOG, Decimal(1), None, for_dangerous_dogs=True),
        ReliefRule(Relief.SHELTER_DOG, Decimal("0.5"), shelter_months, for_dangerous_dogs=False),
        ReliefRule(Relief.LOW_INCOME, Decimal("0.5"), None, for_dangerous_dogs=False),
    )


# EXAMPLE CONFIGURATION, each town's to confirm: rates in the range Hessian towns of the
# Hochtaunuskreis charge; the real ones are those of each town's Hundesteuersatzung as
# amended, with the date each amendment took effect.
TARIFFS: Final[Mapping[str, tuple[DogTaxTariff, ...]]] = MappingProxyType(
    {
        "usingen": (
            DogTaxTariff(
                version="usingen-2025-01",
                valid_from=date(2025, 1, 1),
                first=Decimal("84.00"),
                second=Decimal("132.00"),
                further=Decimal("168.00"),
                dangerous=Decimal("600.00"),
                reliefs=_reliefs(shelter_months=12),
                legal_basis="§ 7 KAG Hessen mit der Hundesteuersatzung der Stadt Usingen",
            ),
        ),
        "neu-anspach": (
            DogTaxTariff(
                version="neu-anspach-2025-01",
                valid_from=date(2025, 1, 1),
                first=Decimal("72.00"),
                second=Decimal("120.00"),
                further=Decimal("150.00"),
                dangerous=Decimal("720.00"),
                reliefs=_reliefs(shelter_months=12),
                legal_basis="§ 7 KAG Hessen mit der Hundesteuersatzung der Stadt Neu-Anspach",
            ),
        ),
        "schmitten": (
            DogTaxTariff(
                version="schmitten-2025-01",
                valid_from=date(2025, 1, 1),
                first=Decimal("66.00"),
                second=Decimal("96.00"),
                further=Decimal("120.00"),
                dangerous=Decimal("540.00"),
                reliefs=_reliefs(shelter_months=6),
                legal_basis="§ 7 KAG Hessen mit der Hundesteuersatzung der Gemeinde Schmitten",
            ),
        ),
        "glashuetten": (
            DogTaxTariff(
                version="glashuetten-2025-01",
                valid_from=date(2025, 1, 1),
                first=Decimal("90.00"),
                second=Decimal("135.00"),
                further=Decimal("180.00"),
                dangerous=Decimal("800.00"),
                reliefs=_reliefs(shelter_months=12),
                legal_basis="§ 7 KAG Hessen mit der Hundesteuersatzung der Gemeinde Glashütten",
            ),
        ),
    }
)


def _versions(town: str) -> tuple[DogTaxTariff, ...]:
    try:
        return TARIFFS[town]
    except KeyError:
        raise InvalidCommand("town", f"no dog tax tariff for town {town!r}") from None


def tariff_in_force(town: str, day: date) -> DogTaxTariff:
    """The town's tariff in force on a day."""
    try:
        return in_force(_versions(town), day)
    except UnknownRulesVersion:
        raise InvalidCommand("year", f"no dog tax tariff of {town} in force on {day}") from None


# ------------------------------------------------------------------ liability


def _first_of_next_month(day: date) -> date:
    return add_months(day.replace(day=1), 1)


def _liable_from(taken_in: date, born_on: date | None) -> date:
    """The first day a dog is taxed: the month after it was taken in and three months old."""
    start = _first_of_next_month(taken_in)
    if born_on is not None:
        three_months_old = add_months(born_on, 3) - timedelta(days=1)
        start = max(start, _first_of_next_month(three_months_old))
    return start


def liability_months(
    taken_in: date, born_on: date | None, deregistered_on: date | None, year: int
) -> tuple[int, ...]:
    """The months of ``year`` a dog is taxed in (1 to 12).

    From the first of the month after it was taken in, not before the first of the month
    after it is three months old, to the end of the month of its deregistration. A dog
    born on 10 January is three months old at the end of 9 April (§§ 187 (2), 188 (2) BGB)
    and taxed from 1 May.
    """
    start = _liable_from(taken_in, born_on)
    return tuple(
        month
        for month in MONTHS
        if date(year, month, 1) >= start
        and (deregistered_on is None or date(year, month, 1) <= deregistered_on)
    )


# ---------------------------------------------------------------- the inputs


@dataclass(frozen=True, slots=True)
class ReliefClaim:
    """A relief granted for a dog: its reason, the proof's reference and its dates.

    It applies from the first month whose first day is on or after ``from_day`` through
    the month of ``until`` (None: open), and at most as many months as its rule allows.
    """

    reason: Relief
    from_day: date
    until: date | None = None
    proof: str = ""  # the reference of the proof (a notice, a shelter's contract)


@dataclass(frozen=True, slots=True)
class DogInHousehold:
    """A dog of the household as the year's tax reads it."""

    dog_id: str
    taken_in: date
    born_on: date | None = None
    deregistered_on: date | None = None
    dangerous: bool = False  # a listed breed or found dangerous in the individual case
    relief: ReliefClaim | None = None
    # Found dangerous on this day: the dangerous dog's rate from the next month on (None:
    # dangerous from the start, a listed breed).
    dangerous_from: date | None = None
    # The order it entered the household (registration): ranks dogs taken in on one day.
    entered: int | None = None

    def dangerous_in(self, first_day: date) -> bool:
        """True if the dog pays the dangerous dog's rate in the month of ``first_day``."""
        if not self.dangerous:
            return False
        return self.dangerous_from is None or first_day >= _first_of_next_month(self.dangerous_from)


@dataclass(frozen=True, slots=True)
class Credit:
    """Tax paid to another municipality for a dog for some months of the year."""

    dog_id: str
    months: tuple[int, ...]
    amount: Decimal


# ----------------------------------------------------------------- the result


@dataclass(frozen=True, slots=True)
class MonthCharge:
    """One dog's tax for one month: its rate, rank, relief, tax, credit and what is due."""

    month: int
    version: str
    rank: int | None  # among the household's dogs that count; None: exempt
    rate: Rate
    yearly_rate: Decimal
    relief: Relief | None
    tax: Decimal
    credit: Decimal
    due: Decimal


@dataclass(frozen=True, slots=True)
class DogYear:
    """One dog's tax in the year, month by month."""

    dog_id: str
    months: tuple[MonthCharge, ...]
    tax: Decimal
    credit: Decimal
    due: Decimal


@dataclass(frozen=True, slots=True)
class YearAssessment:
    """The household's dog tax of a year, and the record it replays from."""

    town: str
    year: int
    dogs: tuple[DogYear, ...]
    tax: Decimal
    credit: Decimal
    total: Decimal
    rules: RulesApplied


# ------------------------------------------------------------------ assessing


def assess_year(
    town: str, year: int, dogs: Sequence[DogInHousehold], credited: Sequence[Credit] = ()
) -> YearAssessment:
    """The household's dog tax of a year under the tariffs in force in each month."""
    tariffs = {month: tariff_in_force(town, date(year, month, 1)) for month in MONTHS}
    return _assess(town, year, tuple(dogs), tuple(credited), tariffs)


def replay_year(rules: RulesApplied) -> YearAssessment:
    """The year's tax again, from its record alone, under the versions it recorded."""
    if rules.rules_id != DOG_TAX_RULES_ID:
        raise InvalidCommand("rules_id", f"not a dog tax record: {rules.rules_id!r}")
    inputs = rules.inputs
    town = str(inputs["town"])
    versions = _versions(town)
    tariffs = {
        int(month): by_version(versions, str(version))
        for month, version in dict(inputs["versions"]).items()
    }
    dogs = tuple(dog_from_record(record) for record in inputs["dogs"])
    credited = tuple(_credit_from_record(record) for record in inputs["credited"])
    return _assess(town, int(inputs["year"]), dogs, credited, tariffs)


def _assess(
    town: str,
    year: int,
    dogs: tuple[DogInHousehold, ...],
    credited: tuple[Credit, ...],
    tariffs: Mapping[int, DogTaxTariff],
) -> YearAssessment:
    _check(dogs, credited)
    liable = {
        dog.dog_id: liability_months(dog.taken_in, dog.born_on, dog.deregistered_on, year)
        for dog in dogs
    }
    # Ranking: by the day taken in (the dog id breaks a tie), month by month among the dogs
    # liable and not exempt in that month; when the first dog leaves, the second moves up.
    ordered = sorted(dogs, key=lambda dog: (dog.taken_in, dog.entered or 0, dog.dog_id))
    plans: dict[str, list[tuple[int, int | None, Rate, Decimal, Relief | None, str]]] = {
        dog.dog_id: [] for dog in dogs
    }
    for month in MONTHS:
        tariff = tariffs[month]
        rank = 0
        for dog in ordered:
            if month not in liable[dog.dog_id]:
                continue
            rule = _relief_in(dog, tariff, date(year, month, 1))
            if rule is not None and rule.exempts:
                plans[dog.dog_id].append(
                    (month, None, Rate.EXEMPT, Decimal(0), rule.reason, tariff.version)
                )
                continue
            rank += 1
            rate = _rate(rank, dog.dangerous_in(date(year, month, 1)))
            share = rule.share if rule is not None else Decimal(0)
            effective = tariff.yearly(rate) * (1 - share)
            reason = rule.reason if rule is not None else None
            plans[dog.dog_id].append((month, rank, rate, effective, reason, tariff.version))
    taxes: dict[tuple[str, int], Decimal] = {}
    for dog in dogs:
        plan = plans[dog.dog_id]
        amounts = _monthly_taxes([effective for _, _, _, effective, _, _ in plan])
        taxes.update({(dog.dog_id, step[0]): tax for step, tax in zip(plan, amounts, strict=True)})
    credits = _credits(credited, taxes)
    dog_years = []
    for dog in dogs:
        charges = []
        for month, place, rate, _, reason, version in plans[dog.dog_id]:
            tax = taxes[(dog.dog_id, month)]
            credit = credits.get((dog.dog_id, month), Decimal("0.00"))
            charges.append(
                MonthCharge(
                    month=month,
                    version=version,
                    rank=place,
                    rate=rate,
                    yearly_rate=tariffs[month].yearly(rate),
                    relief=reason,
                    tax=tax,
                    credit=credit,
                    due=tax - credit,
                )
            )
        dog_years.append(
            DogYear(
                dog_id=dog.dog_id,
                months=tuple(charges),
                tax=sum((c.tax for c in charges), Decimal("0.00")),
                credit=sum((c.credit for c in charges), Decimal("0.00")),
                due=sum((c.due for c in charges), Decimal("0.00")),
            )
        )
    tax = sum((d.tax for d in dog_years), Decimal("0.00"))
    credit = sum((d.credit for d in dog_years), Decimal("0.00"))
    total = sum((d.due for d in dog_years), Decimal("0.00"))
    record = RulesApplied(
        rules_id=DOG_TAX_RULES_ID,
        version=tariffs[1].version,  # the tax debt of the year arises on 1 January
        inputs={
            "town": town,
            "year": year,
            "versions": {str(month): tariffs[month].version for month in MONTHS},
            "dogs": [dog_record(dog) for dog in dogs],
            "credited": [_credit_record(credit) for credit in credited],
            "legal_basis": tariffs[1].legal_basis,
            "tax": str(tax),
            "credit": str(credit),
            "total": str(total),
        },
    )
    return YearAssessment(town, year, tuple(dog_years), tax, credit, total, record)


def _rate(rank: int, dangerous: bool) -> Rate:
    if dangerous:
        return Rate.DANGEROUS
    return {1: Rate.FIRST, 2: Rate.SECOND}.get(rank, Rate.FURTHER)


def _relief_in(dog: DogInHousehold, tariff: DogTaxTariff, first_day: date) -> ReliefRule | None:
    """The relief that applies to a dog in a month, if any."""
    claim = dog.relief
    if claim is None:
        return None
    rule = tariff.relief(claim.reason)
    if rule is None or (dog.dangerous_in(first_day) and not rule.for_dangerous_dogs):
        return None
    if first_day < claim.from_day or (claim.until is not None and first_day > claim.until):
        return None
    if rule.months is not None and first_day >= add_months(_relief_start(dog, claim), rule.months):
        return None
    return rule


def _relief_start(dog: DogInHousehold, claim: ReliefClaim) -> date:
    """The first month a time-limited relief runs in: its own, or the dog's first taxed."""
    start = _first_of_next_month(claim.from_day - timedelta(days=1))
    return max(start, _liable_from(dog.taken_in, dog.born_on))


def _monthly_taxes(effective: list[Decimal]) -> list[Decimal]:
    """Each month's tax: a run of months at the same yearly amount is rounded once.

    A run of n months at yearly amount A costs A * n / 12, rounded half up to the cent (as
    the cash office writes one line per period); month k of the run takes the difference of
    the rounded amounts of k and k - 1 twelfths, so the months add up to the run exactly.
    """
    taxes: list[Decimal] = []
    run = 0
    for index, amount in enumerate(effective):
        run = run + 1 if index > 0 and effective[index - 1] == amount else 1
        taxes.append(cents(amount * run / 12) - cents(amount * (run - 1) / 12))
    return taxes


def _credits(
    credited: tuple[Credit, ...], taxes: Mapping[tuple[str, int], Decimal]
) -> dict[tuple[str, int], Decimal]:
    """What each credit takes off each month: never more than that month's tax.

    A credit is spread over its months in order; what the same months' tax here cannot
    absorb is not credited (another municipality's tax only offsets ours, § 7 KAG).
    """
    applied: dict[tuple[str, int], Decimal] = {}
    for credit in credited:
        left = credit.amount
        for month in sorted(set(credit.months)):
            key = (credit.dog_id, month)
            room = taxes.get(key, Decimal(0)) - applied.get(key, Decimal(0))
            take = min(left, room)
            if take > 0:
                applied[key] = applied.get(key, Decimal(0)) + take
                left -= take
    return applied


def _check(dogs: tuple[DogInHousehold, ...], credited: tuple[Credit, ...]) -> None:
    """Refuse inputs whose dates are out of order or whose credit is negative."""
    seen: set[str] = set()
    for index, dog in enumerate(dogs):
        field = f"dogs[{index}]"
        if dog.dog_id in seen:
            raise InvalidCommand(f"{field}.dog_id", f"dog {dog.dog_id!r} is listed twice")
        seen.add(dog.dog_id)
        if dog.born_on is not None and dog.born_on > dog.taken_in:
            raise InvalidCommand(f"{field}.born_on", "a dog is born before it is taken in")
        if dog.deregistered_on is not None and dog.deregistered_on < dog.taken_in:
            raise InvalidCommand(
                f"{field}.deregistered_on", "a dog is deregistered after it was taken in"
            )
        claim = dog.relief
        if claim is not None and claim.until is not None and claim.until < claim.from_day:
            raise InvalidCommand(f"{field}.relief.until", "a relief ends after it begins")
    for index, credit in enumerate(credited):
        field = f"credited[{index}]"
        if credit.amount < 0:
            raise InvalidCommand(f"{field}.amount", "a credit is not negative")
        if credit.dog_id not in seen:
            raise InvalidCommand(f"{field}.dog_id", f"no dog {credit.dog_id!r} in the household")
        if not credit.months or any(month not in MONTHS for month in credit.months):
            raise InvalidCommand(f"{field}.months", "months of the year, 1 to 12")


# ------------------------------------------------------------------ the record


def dog_record(dog: DogInHousehold) -> dict[str, Any]:
    """A dog as an assessment records it (plain values; read back by ``dog_from_record``)."""
    claim = dog.relief
    record: dict[str, Any] = {
        "dog_id": dog.dog_id,
        "taken_in": dog.taken_in.isoformat(),
        "born_on": dog.born_on.isoformat() if dog.born_on else None,
        "deregistered_on": dog.deregistered_on.isoformat() if dog.deregistered_on else None,
        "dangerous": dog.dangerous,
        "relief": None
        if claim is None
        else {
            "reason": claim.reason.value,
            "from_day": claim.from_day.isoformat(),
            "until": claim.until.isoformat() if claim.until else None,
            "proof": claim.proof,
        },
    }
    if dog.dangerous_from is not None:  # recorded only where found (older records lack it)
        record["dangerous_from"] = dog.dangerous_from.isoformat()
    if dog.entered is not None:
        record["entered"] = dog.entered
    return record


def _day(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(str(value))


def dog_from_record(record: Mapping[str, Any]) -> DogInHousehold:
    """A dog as ``dog_record`` recorded it."""
    relief = record["relief"]
    return DogInHousehold(
        dog_id=str(record["dog_id"]),
        taken_in=date.fromisoformat(str(record["taken_in"])),
        born_on=_day(record["born_on"]),
        deregistered_on=_day(record["deregistered_on"]),
        dangerous=bool(record["dangerous"]),
        dangerous_from=_day(record.get("dangerous_from")),
        entered=None if record.get("entered") is None else int(record["entered"]),
        relief=None
        if relief is None
        else ReliefClaim(
            reason=Relief(relief["reason"]),
            from_day=date.fromisoformat(str(relief["from_day"])),
            until=_day(relief["until"]),
            proof=str(relief["proof"]),
        ),
    )


def _credit_record(credit: Credit) -> dict[str, Any]:
    return {"dog_id": credit.dog_id, "months": list(credit.months), "amount": str(credit.amount)}


def _credit_from_record(record: Mapping[str, Any]) -> Credit:
    try:
        amount = Decimal(str(record["amount"]))
    except InvalidOperation:
        raise InvalidCommand("credited.amount", "not an amount") from None
    return Credit(str(record["dog_id"]), tuple(int(m) for m in record["months"]), amount)
