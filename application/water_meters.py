"""Water meters and reading campaigns as the town's staff keep them (#26).

A clerk installs a meter at a property, exchanges it (the old one's removal and the new one's
installation in one save), removes or recalibrates it, corrects a reading (the original stays
in the history), reads a meter with its whole history and replays a recorded check or
estimate. Campaigns are opened per town and year; after the deadline every active meter of
the town without a reading for the year is estimated on the deadline day, one save per
meter, so a run cut short is simply run again (a meter estimated or read already is left
as it is), and the run is recorded on the campaign (``EstimatesMade``). The scheduler runs
the estimates by itself the day after the deadline (``WaterCampaignWatch``).

Every command checks that the actor acts for the town and serves ``water-meter-reading``
(another town's meter does not exist for its staff: 404, as a case); a lost race on a save
is retried on the reloaded aggregate. Which meters a town has comes from a ``MeterDirectory``:
the read model in a deployment (``infrastructure/water_meter_directory.py``), the event log
itself where none is wired (``MetersInTheLog``: linear in the town's meters, for tests and
demos). Meter numbers and property ids are public facts, no personal data.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final, Protocol
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from application.clock import Clock
from application.errors import CaseNotFound, ConcurrentUpdate
from application.staff_records import check_keeps_records, stored_or, town_of
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.rules.water_meters import ReadingKind, replay_check, replay_estimate
from domain.teams import check_serves
from domain.tenants import TENANTS
from domain.water.campaign import ReadingCampaign, campaign_id
from domain.water.meter import MeterReading, WaterMeter, meter_id, normalised_meter_number
from domain.working_days import berlin_date

__all__ = [
    "CampaignExists",
    "EstimateRun",
    "MeterDirectory",
    "MeterNumberTaken",
    "MetersInTheLog",
    "WaterCampaignWatch",
    "WaterMeterService",
    "WaterRecordNotFound",
    "campaign_view",
    "meter_view",
    "water_campaigns_actor",
]

SERVICE_ID: Final = "water-meter-reading"  # the reading case's service: whose teams keep meters
ATTEMPTS: Final = 30
LOG_BATCH: Final = 500
WATCH_ID: Final = "system:water-campaigns"
WATCH_NAME: Final = "Ablesekampagne"

log = structlog.get_logger(__name__)


def water_campaigns_actor(tenant: str) -> Actor:
    """The system as it makes a campaign's estimates the day after its deadline."""
    return Actor(WATCH_ID, WATCH_NAME, Role.SYSTEM, tenant)


# ------------------------------------------------------------------ errors


class MeterNumberTaken(ConcurrentUpdate):
    """The town has a meter of this number already (409, naming ``meter_number``)."""

    def __init__(self, tenant: str, number: str, field: str = "meter_number") -> None:
        self.case_id = meter_id(tenant, number)
        self.field = field
        Exception.__init__(self, f"{tenant} has a meter {number} already")


class CampaignExists(ConcurrentUpdate):
    """The town's campaign of this year was opened already (409, naming ``year``)."""

    def __init__(self, tenant: str, year: int) -> None:
        self.case_id = campaign_id(tenant, year)
        self.field = "year"
        Exception.__init__(self, f"{tenant} opened its campaign of {year} already")


class WaterRecordNotFound(CaseNotFound):
    """A meter, campaign or reading the actor asked for that does not exist for them (404)."""

    def __init__(self, aggregate_id: UUID, what: str) -> None:
        self.case_id = aggregate_id
        self.version = None
        Exception.__init__(self, f"no {what}")


# ------------------------------------------------------------------ which meters a town has


class MeterDirectory(Protocol):
    """Which meters a town has: the estimator's list and a property's meters."""

    def active_meters(self, tenant: str, on: date) -> Sequence[UUID]:
        """The town's meters installed on or before ``on`` and not removed before it."""

    def meters_at(self, tenant: str, property_id: str) -> Sequence[UUID]:
        """The town's meters of a property (its main meter and garden sub-meters)."""


class MetersInTheLog:
    """The town's meters from the event log itself, where no read model is wired.

    It reads every ``WaterMeter.Installed`` (filtered by topic) and each meter's removal from
    its aggregate: linear in the meters of all towns, so a deployment wires the read model
    (``infrastructure/water_meter_directory.py``) instead.
    """

    def __init__(self, store: VorgangStore) -> None:
        self.store = store

    def _installed(self, tenant: str) -> list[WaterMeter.Installed]:
        found: list[WaterMeter.Installed] = []
        start = 1
        topics = [get_topic(WaterMeter.Installed)]
        while True:
            batch = self.store.recorder.select_notifications(start, LOG_BATCH, topics=topics)
            for notification in batch:
                installed = self.store.mapper.to_domain_event(notification)
                if isinstance(installed, WaterMeter.Installed) and installed.tenant == tenant:
                    found.append(installed)
            if len(batch) < LOG_BATCH:
                return found
            start = batch[-1].id + 1

    def active_meters(self, tenant: str, on: date) -> list[UUID]:
        """The town's meters installed on or before ``on`` and not removed before it."""
        active = []
        for installed in self._installed(tenant):
            if installed.installed_on > on:
                continue
            meter: WaterMeter = self.store.repository.get(installed.originator_id)
            if meter.removed_on is None or meter.removed_on >= on:
                active.append(meter.id)
        return active

    def meters_at(self, tenant: str, property_id: str) -> list[UUID]:
        """The town's meters of a property."""
        return [i.originator_id for i in self._installed(tenant) if i.property_id == property_id]


# ------------------------------------------------------------------ views


def _reading_view(reading: MeterReading) -> dict[str, Any]:
    return {
        "number": reading.number,
        "read_on": reading.read_on,
        "value": reading.value,
        "kind": reading.kind.value,
        "flags": [flag.value for flag in reading.flags],
        "consumption": reading.consumption,
        "campaign_year": reading.campaign_year,
        "case_id": reading.case_id,
        "corrects": reading.corrects,
        "reason": reading.reason,
        "rules_version": reading.rules.version if reading.rules else None,
    }


def meter_view(
    meter: WaterMeter, today: date, *, main_meter: str | None, sub_meters: list[dict[str, Any]]
) -> dict[str, Any]:
    """A meter as staff read it: facts, calibration today, sub-meters and every reading."""
    calibration = meter.calibration(today)
    last = meter.last_reading
    return {
        "id": meter.id,
        "tenant": meter.tenant,
        "meter_number": meter.meter_number,
        "property_id": meter.property_id,
        "main_meter_id": meter.main_meter,
        "main_meter": main_meter,
        "installed_on": meter.facts.installed_on,
        "digits": meter.facts.digits,
        "start_value": meter.facts.start_value,
        "calibration": {
            "valid_until": calibration.valid_until,
            "expired": calibration.expired,
            "days_left": calibration.days_left,
        },
        "sub_meters": sub_meters,
        "last_reading": {"read_on": last.read_on, "value": last.value, "kind": last.kind.value},
        "readings": [_reading_view(reading) for reading in meter.readings],
        "removed_on": meter.removed_on,
        "version": meter.version,
    }


def campaign_view(campaign: ReadingCampaign) -> dict[str, Any]:
    """A campaign as staff read it: its days, its runs of the estimates, whether closed."""
    return {
        "id": campaign.id,
        "tenant": campaign.tenant,
        "year": campaign.year,
        "starts_on": campaign.starts_on,
        "deadline": campaign.deadline,
        "estimates_made_at": campaign.estimates_made_at,
        "estimate_runs": [
            {"at": run.at, "estimated": run.estimated, "not_estimable": run.not_estimable}
            for run in campaign.estimates
        ],
        "closed_at": campaign.closed_at,
        "version": campaign.version,
    }


@dataclass(frozen=True, slots=True)
class EstimateRun:
    """What one run of a campaign's estimates found, meter by meter (counts)."""

    tenant: str
    year: int
    estimated: int  # estimated by this run
    not_estimable: int  # nothing to estimate from: a clerk estimates by hand
    already_read: int  # a reading was reported for the year
    already_estimated: int  # an earlier run estimated it


@dataclass(frozen=True, slots=True)
class Replay:
    """A recorded check or estimate computed again from its record, beside the record."""

    number: int
    kind: str
    rules_id: str
    version: str
    recorded: dict[str, Any]
    replayed: dict[str, Any]

    @property
    def matches(self) -> bool:
        """Whether the replay gives what was recorded."""
        return self.recorded == self.replayed


# ------------------------------------------------------------------ the service


class WaterMeterService:
    """Meters and campaigns of the towns: install, exchange, correct, estimate, replay."""

    def __init__(
        self, store: VorgangStore, clock: Clock, directory: MeterDirectory | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.directory: MeterDirectory = directory or MetersInTheLog(store)

    def today(self) -> date:
        """The business day in Germany."""
        return berlin_date(self.clock.now())

    # -------------------------------------------------------------- loading

    @staticmethod
    def check_keeps_meters(actor: Actor, tenant: str) -> None:
        """The town's clerks and supervisors (and the system) keep meters: the actor acts for
        the town and serves its meter readings (403 otherwise)."""
        check_keeps_records(
            actor, tenant, SERVICE_ID, "the town's clerks and supervisors keep water meters"
        )

    def _get(self, aggregate_id: UUID, kind: type[Any], what: str) -> Any:
        return stored_or(
            self.store, aggregate_id, kind, lambda: WaterRecordNotFound(aggregate_id, what)
        )

    def _exists(self, aggregate_id: UUID) -> bool:
        try:
            self.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return False
        return True

    def meter(self, actor: Actor, meter: UUID) -> WaterMeter:
        """A meter of a town the actor keeps meters for; another town's: not found."""
        found: WaterMeter = self._get(meter, WaterMeter, f"water meter {meter}")
        if actor.role is not Role.SYSTEM and (
            actor.role not in (Role.CLERK, Role.SUPERVISOR)
            or found.tenant not in (actor.tenant, actor.on_behalf_of)
        ):
            raise WaterRecordNotFound(meter, f"water meter {meter}")
        check_serves(actor, found.tenant, SERVICE_ID)
        return found

    def campaign(self, actor: Actor, year: int) -> ReadingCampaign:
        """The campaign of a year of the actor's town."""
        tenant = town_of(actor)
        self.check_keeps_meters(actor, tenant)
        found: ReadingCampaign = self._get(
            campaign_id(tenant, year), ReadingCampaign, f"reading campaign {year} of {tenant}"
        )
        return found

    def view(self, actor: Actor, meter: UUID) -> dict[str, Any]:
        """A meter with its calibration today, its main meter, sub-meters and every reading."""
        return self.view_of(self.meter(actor, meter))

    def view_of(self, found: WaterMeter) -> dict[str, Any]:
        """A meter the actor was allowed (just loaded or saved), as ``view`` shows it."""
        main = None
        if found.main_meter is not None:
            main = self._get(found.main_meter, WaterMeter, "main meter").meter_number
        subs = []
        for other_id in self.directory.meters_at(found.tenant, found.property_id):
            other = self._get(other_id, WaterMeter, f"water meter {other_id}")
            if other.main_meter == found.id:
                subs.append({"id": other.id, "meter_number": other.meter_number})
        return meter_view(found, self.today(), main_meter=main, sub_meters=subs)

    # -------------------------------------------------------------- meters

    def install(
        self,
        actor: Actor,
        *,
        meter_number: str,
        property_id: str,
        installed_on: date,
        calibration_valid_until: date,
        digits: int,
        start_value: Decimal,
        main_meter: str | None = None,
    ) -> WaterMeter:
        """Install a meter at a property of the actor's town (409 if the number is taken)."""
        tenant = town_of(actor)
        self.check_keeps_meters(actor, tenant)
        number = normalised_meter_number(meter_number)
        main_id = self._main_meter(tenant, main_meter)
        try:
            meter = WaterMeter.install(
                tenant=tenant,
                meter_number=number,
                property_id=property_id,
                installed_on=installed_on,
                calibration_valid_until=calibration_valid_until,
                digits=digits,
                start_value=start_value,
                main_meter=main_id,
                actor=actor,
                at=self.clock.now(),
            )
        except InvalidCommand as error:  # the rules name the meter's facts ``meter.*``
            raise error.about(error.field.removeprefix("meter.")) from None
        self._save_new(meter, tenant, number)
        return meter

    def _main_meter(self, tenant: str, number: str | None) -> UUID | None:
        if number is None:
            return None
        try:
            main_id = meter_id(tenant, number)
        except InvalidCommand as error:
            raise error.about("main_meter") from None
        try:
            main: Any = self.store.repository.get(main_id)
        except AggregateNotFoundError:
            main = None
        if not isinstance(main, WaterMeter) or main.removed_on is not None:
            raise InvalidCommand("main_meter", f"{tenant} has no meter {number} in use")
        if main.main_meter is not None:
            raise InvalidCommand("main_meter", "a sub-meter is no main meter")
        return main_id

    def _save_new(self, meter: WaterMeter, tenant: str, number: str, *also: Aggregate) -> None:
        """Save a new meter (with what changes beside it); a taken number is 409."""
        if self._exists(meter.id):
            raise MeterNumberTaken(tenant, number)
        try:
            self.store.save(*also, meter)
        except IntegrityError:
            if self._exists(meter.id):
                raise MeterNumberTaken(tenant, number) from None
            raise

    def _change(
        self, actor: Actor, meter: UUID, change: Callable[[WaterMeter], object]
    ) -> WaterMeter:
        """Apply a change to the meter and save it; a lost race reloads and tries again."""
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # noqa: S311
            found = self.meter(actor, meter)
            change(found)
            try:
                self.store.save(found)
            except IntegrityError:
                continue
            return found
        raise ConcurrentUpdate(meter)

    def correct(
        self, actor: Actor, meter: UUID, *, read_on: date, value: Decimal, reason: str
    ) -> WaterMeter:
        """A clerk's correction of the reading of a day; the original stays in the history."""
        return self._change(
            actor,
            meter,
            lambda m: m.correct(
                read_on=read_on, value=value, reason=reason, actor=actor, at=self.clock.now()
            ),
        )

    def remove(
        self,
        actor: Actor,
        meter: UUID,
        *,
        removed_on: date,
        final_value: Decimal,
        rollover_declared: bool = False,
    ) -> WaterMeter:
        """Remove a meter with its final reading (the supply ended)."""
        return self._change(
            actor,
            meter,
            lambda m: m.remove(
                removed_on=removed_on,
                final_value=final_value,
                rollover_declared=rollover_declared,
                actor=actor,
                at=self.clock.now(),
            ),
        )

    def recalibrate(
        self, actor: Actor, meter: UUID, *, calibration_valid_until: date
    ) -> WaterMeter:
        """Record a new end of the meter's calibration."""
        return self._change(
            actor,
            meter,
            lambda m: _named_as_sent(
                lambda: m.recalibrate(
                    calibration_valid_until=calibration_valid_until,
                    actor=actor,
                    at=self.clock.now(),
                )
            ),
        )

    def exchange(
        self,
        actor: Actor,
        meter: UUID,
        *,
        removed_on: date,
        final_value: Decimal,
        meter_number: str,
        calibration_valid_until: date,
        digits: int,
        start_value: Decimal,
        rollover_declared: bool = False,
    ) -> tuple[WaterMeter, WaterMeter]:
        """Exchange a meter: its removal and the new meter at the property, in one save.

        The new meter is installed on the removal day, under the old one's main meter; a new
        number the town has already is 409 (naming ``new.meter_number``), nothing saved.
        """
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # noqa: S311
            old = self.meter(actor, meter)
            at = self.clock.now()
            try:
                number = normalised_meter_number(meter_number)
            except InvalidCommand as error:
                raise error.about("new.meter_number") from None
            old.remove(
                removed_on=removed_on,
                final_value=final_value,
                rollover_declared=rollover_declared,
                actor=actor,
                at=at,
            )
            if self._exists(meter_id(old.tenant, number)):
                raise MeterNumberTaken(old.tenant, number, field="new.meter_number")
            try:
                new = WaterMeter.install(
                    tenant=old.tenant,
                    meter_number=number,
                    property_id=old.property_id,
                    installed_on=removed_on,
                    calibration_valid_until=calibration_valid_until,
                    digits=digits,
                    start_value=start_value,
                    main_meter=old.main_meter,
                    actor=actor,
                    at=at,
                )
            except InvalidCommand as error:  # the new meter's fields are under ``new.``
                raise error.about("new." + error.field.removeprefix("meter.")) from None
            try:
                self.store.save(old, new)
            except IntegrityError:
                continue
            return old, new
        raise ConcurrentUpdate(meter)

    def replay(self, actor: Actor, meter: UUID, number: int) -> Replay:
        """A recorded check (reported, removal) or estimate computed again from its record."""
        found = self.meter(actor, meter)
        if not 1 <= number <= len(found.readings):
            raise WaterRecordNotFound(meter, f"reading {number} of water meter {meter}")
        reading = found.readings[number - 1]
        rules = reading.rules
        if rules is None:
            raise InvalidCommand(
                "number", f"a reading {reading.kind.value} records no check or estimate"
            )
        recorded: dict[str, Any]
        replayed: dict[str, Any]
        if reading.kind == ReadingKind.ESTIMATED:
            estimate = replay_estimate(rules)
            recorded = {"value": reading.value, "consumption": reading.consumption}
            replayed = {
                "value": estimate.value,
                "consumption": estimate.consumption,
            }
        else:
            check = replay_check(rules)
            recorded = {
                "consumption": reading.consumption,
                "flags": sorted(flag.value for flag in reading.flags),
                "rejected": False,
            }
            replayed = {
                "consumption": check.consumption,
                "flags": sorted(flag.value for flag in check.flags),
                "rejected": check.rejected,
            }
        return Replay(number, reading.kind.value, rules.rules_id, rules.version, recorded, replayed)

    # -------------------------------------------------------------- campaigns

    def open_campaign(
        self, actor: Actor, *, year: int, starts_on: date, deadline: date
    ) -> ReadingCampaign:
        """Open the town's campaign of a year (409 if it was opened already)."""
        tenant = town_of(actor)
        self.check_keeps_meters(actor, tenant)
        campaign = ReadingCampaign.open(
            tenant=tenant,
            year=year,
            starts_on=starts_on,
            deadline=deadline,
            actor=actor,
            at=self.clock.now(),
        )
        if self._exists(campaign.id):
            raise CampaignExists(tenant, year)
        try:
            self.store.save(campaign)
        except IntegrityError:
            raise CampaignExists(tenant, year) from None
        return campaign

    def close_campaign(self, actor: Actor, year: int) -> ReadingCampaign:
        """Close the town's campaign after its deadline."""
        for _ in range(ATTEMPTS):
            campaign = self.campaign(actor, year)
            campaign.close(actor=actor, at=self.clock.now())
            try:
                self.store.save(campaign)
            except IntegrityError:
                continue
            return campaign
        raise ConcurrentUpdate(campaign_id(town_of(actor), year))

    def make_estimates(self, actor: Actor, year: int) -> EstimateRun:
        """Estimate, on the deadline day, every active meter of the town without a reading
        for the year; one save per meter, then the run on the campaign.

        Refused before the deadline (the day after it at the earliest) and once closed. Run
        again, it estimates only what is still missing (a meter installed late, a run cut
        short): a meter read or estimated for the year is counted, not touched.
        """
        campaign = self.campaign(actor, year)
        at = self.clock.now()
        if campaign.closed:
            raise InvalidCommand("campaign", f"the campaign of {year} is closed")
        if berlin_date(at) <= campaign.deadline:
            raise InvalidCommand(
                "deadline", f"meters are estimated after the deadline, {campaign.deadline}"
            )
        counts = {"estimated": 0, "not_estimable": 0, "already_read": 0, "already_estimated": 0}
        for meter in self.directory.active_meters(campaign.tenant, campaign.deadline):
            counts[self._estimate_one(actor, meter, year, campaign.deadline)] += 1
        for _ in range(ATTEMPTS):
            campaign.record_estimates(
                estimated=counts["estimated"],
                not_estimable=counts["not_estimable"],
                actor=actor,
                at=self.clock.now(),
            )
            try:
                self.store.save(campaign)
            except IntegrityError:
                campaign = self.campaign(actor, year)
                continue
            return EstimateRun(campaign.tenant, year, **counts)
        raise ConcurrentUpdate(campaign.id)

    def _estimate_one(self, actor: Actor, meter: UUID, year: int, on: date) -> str:
        """Estimate one meter for the year if nothing was read or estimated for it."""
        for attempt in range(ATTEMPTS):
            if attempt:
                time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # noqa: S311
            found = self.meter(actor, meter)
            outcome = _read_for(found, year)
            if outcome is not None:
                return outcome
            try:
                found.record_estimate(on=on, campaign_year=year, actor=actor, at=self.clock.now())
            except InvalidCommand:
                return "not_estimable"
            try:
                self.store.save(found)
            except IntegrityError:
                continue
            return "estimated"
        raise ConcurrentUpdate(meter)


def _named_as_sent(change: Callable[[], object]) -> object:
    """A refusal by the rules names the meter's fact (``meter.digits``) as the body does."""
    try:
        return change()
    except InvalidCommand as error:
        raise error.about(error.field.removeprefix("meter.")) from None


def _read_for(meter: WaterMeter, year: int) -> str | None:
    """Whether the meter was estimated or read for the campaign year already (as the meter
    refuses an estimate for it)."""
    for reading in meter.readings:
        if reading.kind == ReadingKind.ESTIMATED and reading.campaign_year == year:
            return "already_estimated"
    for reading in meter.readings:
        if reading.kind == ReadingKind.REPORTED and year in (
            reading.campaign_year,
            reading.read_on.year,
        ):
            return "already_read"
    return None


# ------------------------------------------------------------------ the scheduler's round


class WaterCampaignWatch:
    """Beside the timers: the day after a campaign's deadline, its estimates are made.

    Each tick looks at the campaigns of this year and the last of every town (two reads per
    town); one whose deadline passed, not closed and with no run of the estimates yet is
    estimated by the system. A town's failure is logged by the round and never stops the
    others; the next tick tries again.
    """

    def __init__(self, meters: WaterMeterService, towns: Iterable[str] = TENANTS) -> None:
        self.meters = meters
        self.towns = tuple(towns)

    def due(self, today: date) -> list[tuple[str, int]]:
        """The campaigns (town, year) whose estimates are due and not made yet."""
        found = []
        for tenant in self.towns:
            for year in (today.year - 1, today.year):
                try:
                    campaign: Any = self.meters.store.repository.get(campaign_id(tenant, year))
                except AggregateNotFoundError:
                    continue
                if (
                    isinstance(campaign, ReadingCampaign)
                    and not campaign.closed
                    and campaign.estimates_made_at is None
                    and today > campaign.deadline
                ):
                    found.append((tenant, year))
        return found

    def tick(self, today: date) -> list[EstimateRun]:
        """One round: the estimates of every campaign due; returns each run's counts."""
        runs = []
        for tenant, year in self.due(today):
            try:
                runs.append(self.meters.make_estimates(water_campaigns_actor(tenant), year))
            except Exception as error:  # one town's failure never stops the others
                log.warning(
                    "water campaign estimates failed",
                    tenant=tenant,
                    year=year,
                    error=type(error).__name__,
                )
        return runs
