"""Demo: water meters and their readings in every town (#26), up to this year's campaign.

Each town has five meters at four properties, installed a little over three years ago: a
main meter with a garden water sub-meter (Gartenwasserzähler) at the first property, a meter
whose calibration (Eichung) runs out at the end of this year, and two more. Their history:

- the readings of the year before last, which the supply's meter reader took and a clerk
  entered (on the day the town's reading rules took effect, for a day before it);
- last year's campaign: opened a month before the reading days, read by the customers in
  the portal, except the garden meter, which was estimated the day after the deadline; then
  the campaign was closed;
- this year's campaign, opened a month ago with its deadline a month ahead: the main meter,
  the garden meter and the one whose calibration runs out reported and accepted (their files
  closed at once); one reading far above the meter's history waiting for a clerk; one the
  clerk corrected (a digit misread on the photo; the reported one stays in the history); and
  one of a meter number the town does not know, waiting for the clerk to name the meter.

The meters' consumption runs evenly, so nothing but the two wrong readings is flagged. Each
reading is a case submitted as the portal submits it (``water-meter-reading``), checked and
recorded on its meter in the same save; meters and campaigns go through the staff's
application service. Running the demo again, on any day, leaves a town whose meters exist as
it is: its cases are found by their idempotency keys (a meter, a campaign year back and the
customer's account), nothing new is made.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, Protocol
from uuid import UUID

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from application.water_meters import MetersInTheLog, WaterMeterService
from domain.actor import Actor, Role
from domain.rules.water_meters import LITRE, READING_RULES
from domain.services.water_reading import SERVICE_ID, STEPS, ReadingCorrection, WaterMeterReading
from domain.tenants import tenant as tenant_named
from domain.water.meter import meter_id
from domain.working_days import BERLIN, add_months, berlin_date
from infrastructure.wiring import Vorgang

CAMPAIGN_STARTED: Final = timedelta(days=30)  # this year's campaign opened a month ago
CAMPAIGN_RUNS: Final = timedelta(days=60)  # and ends a month from today
INSTALLED_MONTHS_AGO: Final = 38
DIGITS: Final = 5

CUSTOMERS = (
    ("Gerda Brunnmeier", "gerda.brunnmeier@example.org"),
    ("Kemal Aydın", "kemal.aydin@example.org"),  # noqa: RUF001 - a Turkish name
    ("Ingrid Sommer", "ingrid.sommer@example.net"),
    ("Paul Wasserberg", "paul.wasserberg@example.com"),
)

# This year's reading of a meter: accepted, far above its history (waits for the clerk),
# or misread and corrected by the clerk.
ACCEPTED: Final = "accepted"
FLAGGED: Final = "flagged"
CORRECTED: Final = "corrected"
MISREAD: Final = Decimal(900)  # the hundreds digit read as 9: 900 m³ too many
REASON: Final = "Ziffer auf dem Foto verlesen (Hunderterstelle 9 statt 0)."


@dataclass(frozen=True)
class DemoMeter:
    """One demo meter: its number's kind, property, yearly use and this year's reading."""

    kind: str  # WZ: a main meter; GW: a garden water sub-meter
    number: int  # of the meter and its property within the town
    per_year: Decimal  # m³ a year, evenly
    this_year: str
    garden: bool = False  # a sub-meter of the main meter of its property
    calibration_ends_this_year: bool = False
    estimated_last_year: bool = False  # not read for last year's campaign

    def meter_number(self, prefix: str) -> str:
        """e.g. WZ-USI-0001 (GW- for a garden meter)."""
        return f"{self.kind}-{prefix}-{self.number:04d}"


METERS: Final = (
    DemoMeter("WZ", 1, Decimal(110), ACCEPTED),
    DemoMeter("GW", 1, Decimal(24), ACCEPTED, garden=True, estimated_last_year=True),
    DemoMeter("WZ", 2, Decimal(80), ACCEPTED, calibration_ends_this_year=True),
    DemoMeter("WZ", 3, Decimal(95), FLAGGED),
    DemoMeter("WZ", 4, Decimal(60), CORRECTED),
)
UNKNOWN_NUMBER: Final = 99  # WZ-<prefix>-0099: no such meter in the town


class WaterTown(Protocol):
    """A town as the water demo needs it: its id, its clerk and its addresses."""

    @property
    def tenant(self) -> str:
        """The town's tenant id."""
        ...

    @property
    def clerk(self) -> Actor:
        """The clerk who keeps the meters and works the readings."""
        ...

    @property
    def postal_code(self) -> str:
        """The town's postal code."""
        ...

    @property
    def city(self) -> str:
        """The town's name in addresses."""
        ...

    @property
    def streets(self) -> tuple[str, ...]:
        """Streets of the town."""
        ...


@dataclass(frozen=True)
class Calendar:
    """The demo's days, from today: the campaigns of this year and last, the installation."""

    today: date
    rules_from: date  # the town's reading rules took effect: no reading checked before

    @property
    def starts_on(self) -> date:
        """This year's campaign started a month ago."""
        return self.today - CAMPAIGN_STARTED

    @property
    def year(self) -> int:
        """This year's campaign's year (last calendar year's in early January)."""
        return self.starts_on.year

    def started(self, years_ago: int) -> date:
        """The campaign's start ``years_ago`` years back."""
        return add_months(self.starts_on, -12 * years_ago)

    def deadline(self, years_ago: int) -> date:
        """Its deadline: two months after its start."""
        return self.started(years_ago) + CAMPAIGN_RUNS

    @property
    def installed_on(self) -> date:
        """Every demo meter was installed a little over three years ago."""
        return add_months(self.today, -INSTALLED_MONTHS_AGO)

    def read_on(self, meter: DemoMeter, years_ago: int) -> date:
        """The day a meter was read in a year: days into the campaign, a day apart each."""
        return self.started(years_ago) + timedelta(days=5 + METERS.index(meter))

    def value(self, meter: DemoMeter, day: date) -> Decimal:
        """The meter's counter on a day: its yearly use, evenly since the installation."""
        days = (day - self.installed_on).days
        return (meter.per_year * days / 365).quantize(LITRE)


def at(day: date, hour: int) -> datetime:
    """An hour of a day in Berlin."""
    return datetime.combine(day, time(hour), tzinfo=BERLIN)


def seed_water(vorgang: Vorgang, town: WaterTown, now: datetime) -> list[UUID]:
    """The town's meters, campaigns and reading cases, made once (the town's first meter
    says it was); the reading cases' ids, made now or before."""
    rules_from = min(rules.valid_from for rules in READING_RULES[town.tenant])
    days = Calendar(berlin_date(now), rules_from)
    prefix = tenant_named(town.tenant).reference_prefix
    # Seeded before (maybe on another day, whose dates differ): only the cases are found.
    again = _exists(vorgang, meter_id(town.tenant, METERS[0].meter_number(prefix)))
    seeding = Seeding(vorgang, town, days, prefix, again)
    if not again:
        _install(seeding)
    ids = []
    for meter in METERS:  # the year before last: the meter reader's, entered by the clerk
        ids.append(_reading(seeding, meter, 2, entered_by_clerk=True))
    if not again:
        _campaign(seeding, 1)
    ids += [_reading(seeding, m, 1) for m in METERS if not m.estimated_last_year]
    if not again:
        _estimated_and_closed(seeding)
        _campaign(seeding, 0)
    ids += [_reading(seeding, meter, 0) for meter in METERS]
    unknown = DemoMeter("WZ", UNKNOWN_NUMBER, Decimal(0), ACCEPTED)
    read_on = days.read_on(METERS[-1], 0) + timedelta(days=1)
    data = _data(unknown.meter_number(prefix), Decimal("512.340"), read_on)
    ids.append(_submit(seeding, read_on, len(METERS), data, f"{unknown.meter_number(prefix)}-0"))
    return [case_id for case_id in ids if case_id is not None]


@dataclass(frozen=True)
class Seeding:
    """One town's seeding: where, its days, its meter numbers' prefix, and whether the town
    was seeded before (then nothing is made, the cases made before are found)."""

    vorgang: Vorgang
    town: WaterTown
    days: Calendar
    prefix: str
    again: bool


def _service(vorgang: Vorgang, clock: FixedClock) -> WaterMeterService:
    return WaterMeterService(vorgang.store, clock, MetersInTheLog(vorgang.store))


def _exists(vorgang: Vorgang, aggregate_id: UUID) -> bool:
    return vorgang.store.recorder.select_events(aggregate_id, limit=1) != []


def _install(seeding: Seeding) -> None:
    """The town's meters, main meters before their garden meters."""
    town, days, prefix = seeding.town, seeding.days, seeding.prefix
    use = _service(seeding.vorgang, FixedClock(at(days.installed_on, 9)))
    installed = days.installed_on
    for meter in METERS:
        number = meter.meter_number(prefix)
        until = date(
            days.today.year if meter.calibration_ends_this_year else installed.year + 6, 12, 31
        )
        use.install(
            town.clerk,
            meter_number=number,
            property_id=f"{prefix}-VS-{meter.number:05d}",
            installed_on=installed,
            calibration_valid_until=until,
            digits=DIGITS,
            start_value=Decimal("0.000"),
            main_meter=f"WZ-{prefix}-{meter.number:04d}" if meter.garden else None,
        )


def _campaign(seeding: Seeding, years_ago: int) -> None:
    """The campaign of a year, opened on its first day."""
    town, days = seeding.town, seeding.days
    starts_on = days.started(years_ago)
    use = _service(seeding.vorgang, FixedClock(at(starts_on, 8)))
    use.open_campaign(
        town.clerk, year=starts_on.year, starts_on=starts_on, deadline=days.deadline(years_ago)
    )


def _estimated_and_closed(seeding: Seeding) -> None:
    """Last year's campaign: the meters without a reading estimated the day after the
    deadline, then closed."""
    town, days = seeding.town, seeding.days
    year = days.started(1).year
    clock = FixedClock(at(days.deadline(1) + timedelta(days=1), 7))
    use = _service(seeding.vorgang, clock)
    use.make_estimates(town.clerk, year)
    clock.advance(timedelta(hours=1))
    use.close_campaign(town.clerk, year)


def _data(number: str, value: Decimal, read_on: date, read_by: str = "customer") -> dict[str, Any]:
    """A reading as the portal sends it."""
    data: dict[str, Any] = {
        "meter_number": number,
        "reading": str(value),
        "read_on": read_on.isoformat(),
        "read_by": read_by,
    }
    if read_by == "customer":
        data["photo"] = f"att:{read_on.year}/zaehler-{number.lower()}.jpg"
    return data


def _reading(
    seeding: Seeding, meter: DemoMeter, years_ago: int, *, entered_by_clerk: bool = False
) -> UUID | None:
    """A meter's reading of a campaign's year, reported (or entered) and checked once; this
    year's wrong readings as the demo wants them."""
    days = seeding.days
    read_on = days.read_on(meter, years_ago)
    number = meter.meter_number(seeding.prefix)
    value = days.value(meter, read_on)
    this_year = read_on >= days.starts_on
    after: Callable[[CommandHandler, UUID, WaterTown], None] | None = None
    if this_year and meter.this_year == FLAGGED:
        value += 3 * meter.per_year  # four times the meter's use: far above its history
    elif this_year and meter.this_year == CORRECTED:
        true_value = value
        value += MISREAD

        def after(h: CommandHandler, case_id: UUID, place: WaterTown) -> None:
            correction = ReadingCorrection(value=true_value, reason=REASON)
            h.handle(case_id, STEPS.named("correct_reading")(correction), place.clerk, None)

    read_by = "meter_reader" if entered_by_clerk else "customer"
    data = _data(number, value, read_on, read_by)
    key = f"{number}-{years_ago}"
    submitted_on = max(read_on, days.rules_from)
    staff = seeding.town.clerk if entered_by_clerk else None
    return _submit(seeding, submitted_on, meter.number, data, key, after, staff)


def _submit(
    seeding: Seeding,
    day: date,
    customer: int,
    data: dict[str, Any],
    key: str,
    after: Callable[[CommandHandler, UUID, WaterTown], None] | None = None,
    staff: Actor | None = None,
) -> UUID | None:
    """One reading case: submitted by the property's customer (or entered by the clerk);
    found if it exists (None: not made when the town was seeded before)."""
    vorgang, town = seeding.vorgang, seeding.town
    clock = FixedClock(at(day, 10))
    cases = CaseService(vorgang.store, clock, vorgang.cases.identities)
    name, email = CUSTOMERS[customer % len(CUSTOMERS)]
    person = {
        "name": name,
        "email": email,
        "street": town.streets[customer % len(town.streets)],
        "house_number": str(2 + 3 * customer),
        "postal_code": town.postal_code,
        "city": town.city,
    }
    actor = staff or Actor(
        f"portal:demo-water-{town.tenant}-{customer}", name, Role.APPLICANT, town.tenant
    )
    case_id = vorgang.cases.identities.case_id(
        aggregate_type=WaterMeterReading.__name__,
        tenant=town.tenant,
        subject=actor.id,
        idempotency_key=f"demo-water-{town.tenant}-{key}",
    )
    if _exists(vorgang, case_id):
        return case_id
    if seeding.again:
        return None
    result = cases.submit(
        actor=actor,
        tenant=town.tenant,
        service=SERVICE_ID,
        applicant=person,
        data=data,
        idempotency_key=f"demo-water-{town.tenant}-{key}",
        channel="counter" if staff is not None else "online",
    )
    if result.created and after is not None:
        clock.advance(timedelta(days=2))
        after(CommandHandler(cases), result.case_id, town)
    return result.case_id
