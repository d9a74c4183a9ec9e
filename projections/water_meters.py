"""Water meters and reading campaigns (#26) as lists and statistics ask, without replaying meters.

Five tables, all from events and nothing personal (meter and property numbers are not
personal data; the applicant of a reading case stays in its events):

- the town's **meters**: their facts, the reading that stands on the latest day read (a
  correction before the original, as ``WaterMeter.last_reading``) and how many readings the
  history holds;
- every **reading** of a meter's history, in order (the view's own record of which campaign
  a corrected reading answered);
- per campaign year and meter, the meter's **state**: ``reported`` or ``estimated`` (a
  reading reported late, after its estimate, makes it ``reported``), whether the latest
  reading reported for the year was flagged, whether a clerk corrected a reading of the
  year, and the case of that latest reading;
- the **campaigns**: start, deadline, when closed and when the estimates were last made;
- the **reading cases** with their status, so the cases still waiting for a clerk
  (``reading_flagged``, ``meter_unknown``) are counted per town and year.

A reported reading counts for the year of the campaign it answers and for the year it was
read in, as ``WaterMeter.record_estimate`` decides whether a meter was read for a year; an
estimate counts for its campaign's year. A correction marks the years of the reading it
corrects. The statistics are counted from these tables (``projections/water_query.py``).
Counter values are decimal text to the litre, days ISO text, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Final

from eventsourcing.utils import get_topic

from domain.case import Case
from domain.lifecycle import ChangesStatus
from domain.rules.water_meters import ReadingKind
from domain.services.water_reading import SERVICE_ID, WaterMeterReading
from domain.water.campaign import ReadingCampaign
from domain.water.meter import WaterMeter
from projections.bulk import load_rows, upsert_rows
from projections.case_events import status_after
from projections.inbox import utc_text
from projections.projection import Applied, Projection
from projections.view_store import ViewTransaction

METER_EVENTS: Final[tuple[type[Any], ...]] = (
    WaterMeter.Installed,
    WaterMeter.ReadingRecorded,
    WaterMeter.ReadingEstimated,
    WaterMeter.ReadingCorrected,
    WaterMeter.Removed,
    WaterMeter.Recalibrated,
)
CAMPAIGN_EVENTS: Final[tuple[type[Any], ...]] = (
    ReadingCampaign.Opened,
    ReadingCampaign.EstimatesMade,
    ReadingCampaign.Closed,
)
METER_COLUMNS: Final = (
    "meter_id",
    "tenant",
    "meter_number",
    "property_id",
    "main_meter",
    "installed_on",
    "calibration_valid_until",
    "removed_on",
    "last_read_on",
    "last_value",
    "last_kind",
    "readings",
    "position",
)
READING_COLUMNS: Final = (
    "reading_key",
    "meter_id",
    "number",
    "read_on",
    "value",
    "kind",
    "flags",
    "consumption",
    "case_id",
    "corrects",
    "campaign_year",
)
STATE_COLUMNS: Final = (
    "state_key",
    "tenant",
    "year",
    "meter_id",
    "state",
    "flagged",
    "corrected",
    "case_id",
)
CAMPAIGN_COLUMNS: Final = (
    "campaign_id",
    "tenant",
    "year",
    "starts_on",
    "deadline",
    "closed_at",
    "estimates_made_at",
)
CASE_COLUMNS: Final = (
    "case_id",
    "tenant",
    "status",
    "outcome",
    "meter_id",
    "meter_number",
    "year",
    "read_on",
)
REPORTED: Final = "reported"
ESTIMATED: Final = "estimated"


def case_events() -> tuple[type[Any], ...]:
    """The reading case's events that tell where it stands: its submission and every event
    that sets a status, as the case class records them (the library declares every event
    of ``Case`` again on the class, under the class's own topic)."""
    return tuple(
        value
        for value in vars(WaterMeterReading).values()
        if isinstance(value, type) and issubclass(value, ChangesStatus | Case.Submitted)
    )


def reading_key(meter_id: str, number: int) -> str:
    """The key of a meter's reading: the meter and the reading's place in its history."""
    return f"{meter_id}/{number}"


def state_key(year: int, meter_id: str) -> str:
    """The key of a meter's state in a campaign year."""
    return f"{year}/{meter_id}"


@dataclass(slots=True)
class Effect:
    """What a meter event does to its states per year: applied once the states are loaded."""

    tenant: str
    meter_id: str
    kind: str  # reported, estimated, corrected
    years: tuple[int, ...]
    flagged: bool = False
    case_id: str | None = None


@dataclass(slots=True)
class Folded:
    """The rows a batch touches, loaded once and written back once."""

    meters: dict[str, dict[str, Any]]
    readings: dict[str, dict[str, Any]]
    effects: list[Effect] = field(default_factory=list)


class WaterMeters(Projection):
    """A town's meters, their readings, their state per campaign year, campaigns and cases."""

    name: ClassVar[str] = "water_meters"
    version: ClassVar[int] = 1

    @property
    def readings_table(self) -> str:
        """One row per reading of a meter's history."""
        return f"{self.key}_readings"

    @property
    def states_table(self) -> str:
        """One row per campaign year and meter reported or estimated for it."""
        return f"{self.key}_states"

    @property
    def campaigns_table(self) -> str:
        """One row per town's campaign of a year."""
        return f"{self.key}_campaigns"

    @property
    def cases_table(self) -> str:
        """One row per reading case."""
        return f"{self.key}_cases"

    def tables(self) -> list[str]:
        """Meters, readings, states, campaigns, reading cases."""
        return [
            self.table,
            self.readings_table,
            self.states_table,
            self.campaigns_table,
            self.cases_table,
        ]

    def create_tables(self, tx: ViewTransaction) -> None:
        """Meters found by town and number or property; the rest by town and year."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (meter_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, meter_number TEXT NOT NULL, property_id TEXT NOT NULL, "
            "main_meter TEXT, installed_on TEXT NOT NULL, calibration_valid_until TEXT NOT NULL, "
            "removed_on TEXT, last_read_on TEXT NOT NULL, last_value TEXT NOT NULL, "
            "last_kind TEXT NOT NULL, readings INTEGER NOT NULL, position BIGINT NOT NULL)"
        )
        for name, columns in (
            ("number", "tenant, meter_number"),
            ("property", "tenant, property_id, meter_number"),
        ):
            tx.execute(
                f"CREATE INDEX IF NOT EXISTS {self.table}_{name} ON {self.table} ({columns})"
            )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.readings_table} (reading_key TEXT PRIMARY KEY, "
            "meter_id TEXT NOT NULL, number INTEGER NOT NULL, read_on TEXT NOT NULL, "
            "value TEXT NOT NULL, kind TEXT NOT NULL, flags TEXT NOT NULL, consumption TEXT, "
            "case_id TEXT, corrects INTEGER, campaign_year INTEGER)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.readings_table}_meter "
            f"ON {self.readings_table} (meter_id, number)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.states_table} (state_key TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, year INTEGER NOT NULL, meter_id TEXT NOT NULL, "
            "state TEXT NOT NULL, flagged INTEGER NOT NULL, corrected INTEGER NOT NULL, "
            "case_id TEXT)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.states_table}_year "
            f"ON {self.states_table} (tenant, year, state)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.campaigns_table} (campaign_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, year INTEGER NOT NULL, starts_on TEXT NOT NULL, "
            "deadline TEXT NOT NULL, closed_at TEXT, estimates_made_at TEXT)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.campaigns_table}_year "
            f"ON {self.campaigns_table} (tenant, year)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.cases_table} (case_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, status TEXT NOT NULL, outcome TEXT, meter_id TEXT, "
            "meter_number TEXT, year INTEGER, read_on TEXT)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.cases_table}_open "
            f"ON {self.cases_table} (tenant, status, year)"
        )

    def topics(self) -> list[str]:
        """The meters', the campaigns' and the reading cases' events, from their classes."""
        return sorted({get_topic(c) for c in (*METER_EVENTS, *CAMPAIGN_EVENTS, *case_events())})

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Fold the batch into the touched rows in log order, then upsert them in bulk."""
        meter_ids = sorted(
            {str(a.event.originator_id) for a in batch if isinstance(a.event, WaterMeter.Event)}
        )
        corrected = sorted(
            {
                reading_key(str(a.event.originator_id), a.event.corrects)
                for a in batch
                if isinstance(a.event, WaterMeter.ReadingCorrected)
            }
        )
        folded = Folded(
            meters=load_rows(tx, self.table, METER_COLUMNS, meter_ids),
            readings=load_rows(tx, self.readings_table, READING_COLUMNS, corrected),
        )
        campaign_ids = sorted(
            {
                str(a.event.originator_id)
                for a in batch
                if isinstance(a.event, ReadingCampaign.Event)
            }
        )
        campaigns = load_rows(tx, self.campaigns_table, CAMPAIGN_COLUMNS, campaign_ids)
        case_ids = sorted(
            {
                str(a.event.originator_id)
                for a in batch
                if not isinstance(a.event, WaterMeter.Event | ReadingCampaign.Event)
            }
        )
        cases = load_rows(tx, self.cases_table, CASE_COLUMNS, case_ids)
        added: list[dict[str, Any]] = []
        for applied in batch:
            event: Any = applied.event
            if isinstance(event, WaterMeter.Event):
                added += _fold_meter(folded, applied)
            elif isinstance(event, ReadingCampaign.Event):
                _fold_campaign(campaigns, event)
            else:
                _fold_case(cases, event)
        states = load_rows(
            tx,
            self.states_table,
            STATE_COLUMNS,
            sorted({state_key(y, e.meter_id) for e in folded.effects for y in e.years}),
        )
        for effect in folded.effects:
            _fold_state(states, effect)
        upsert_rows(tx, self.table, METER_COLUMNS, list(folded.meters.values()))
        upsert_rows(tx, self.readings_table, READING_COLUMNS, added)
        upsert_rows(tx, self.states_table, STATE_COLUMNS, list(states.values()))
        upsert_rows(tx, self.campaigns_table, CAMPAIGN_COLUMNS, list(campaigns.values()))
        upsert_rows(tx, self.cases_table, CASE_COLUMNS, list(cases.values()))


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _fold_meter(folded: Folded, applied: Applied) -> list[dict[str, Any]]:
    """Fold one meter event into its row; return the reading it added to the history."""
    event: Any = applied.event
    key = str(event.originator_id)
    if isinstance(event, WaterMeter.Installed):
        folded.meters[key] = {
            "meter_id": key,
            "tenant": event.tenant,
            "meter_number": event.meter_number,
            "property_id": event.property_id,
            "main_meter": _text(event.main_meter),
            "installed_on": _day(event.installed_on),
            "calibration_valid_until": _day(event.calibration_valid_until),
            "removed_on": None,
            "last_read_on": _day(event.installed_on),
            "last_value": str(event.start_value),
            "last_kind": ReadingKind.INSTALLED.value,
            "readings": 0,
            "position": applied.position,
        }
    row = folded.meters.get(key)
    if row is None:
        return []  # a meter this view never saw installed
    row["position"] = applied.position
    if isinstance(event, WaterMeter.Recalibrated):
        row["calibration_valid_until"] = _day(event.calibration_valid_until)
        return []
    reading = _reading(folded, row, event)
    row["readings"] = reading["number"]
    folded.readings[reading["reading_key"]] = reading
    _stands(row, reading)
    effect = _effect(folded, row, reading)
    if effect is not None:
        folded.effects.append(effect)
    return [reading]


def _reading(folded: Folded, meter: dict[str, Any], event: Any) -> dict[str, Any]:
    """The history's next reading, as the meter's apply methods record it."""
    number = int(meter["readings"]) + 1
    reading: dict[str, Any] = dict.fromkeys(READING_COLUMNS) | {
        "reading_key": reading_key(meter["meter_id"], number),
        "meter_id": meter["meter_id"],
        "number": number,
        "flags": "[]",
    }
    if isinstance(event, WaterMeter.Installed):
        reading |= {
            "read_on": _day(event.installed_on),
            "value": str(event.start_value),
            "kind": ReadingKind.INSTALLED.value,
        }
    elif isinstance(event, WaterMeter.ReadingRecorded):
        reading |= {
            "read_on": _day(event.read_on),
            "value": str(event.value),
            "kind": ReadingKind.REPORTED.value,
            "flags": json.dumps(list(event.flags)),
            "consumption": _text(event.consumption),
            "case_id": str(event.case_id),
            "campaign_year": event.campaign_year,
        }
    elif isinstance(event, WaterMeter.ReadingEstimated):
        reading |= {
            "read_on": _day(event.read_on),
            "value": str(event.value),
            "kind": ReadingKind.ESTIMATED.value,
            "consumption": _text(event.consumption),
            "campaign_year": event.campaign_year,
        }
    elif isinstance(event, WaterMeter.ReadingCorrected):
        original = folded.readings.get(reading_key(meter["meter_id"], event.corrects), {})
        reading |= {
            "read_on": _day(event.read_on),
            "value": str(event.value),
            "kind": ReadingKind.CORRECTED.value,
            "case_id": original.get("case_id"),
            "corrects": event.corrects,
            "campaign_year": original.get("campaign_year"),
        }
    else:  # WaterMeter.Removed
        meter["removed_on"] = _day(event.removed_on)
        reading |= {
            "read_on": _day(event.removed_on),
            "value": str(event.value),
            "kind": ReadingKind.REMOVED.value,
            "flags": json.dumps(list(event.flags)),
            "consumption": _text(event.consumption),
        }
    return reading


def _stands(meter: dict[str, Any], reading: dict[str, Any]) -> None:
    """The reading standing on the latest day read: a correction before any other kind,
    else the last recorded (``WaterMeter.last_reading``)."""
    later = reading["read_on"] > meter["last_read_on"]
    same_day = reading["read_on"] == meter["last_read_on"]
    corrects = (
        reading["kind"] == ReadingKind.CORRECTED or meter["last_kind"] != ReadingKind.CORRECTED
    )
    if later or (same_day and corrects):
        meter["last_read_on"] = reading["read_on"]
        meter["last_value"] = reading["value"]
        meter["last_kind"] = reading["kind"]


def _years(reading: dict[str, Any]) -> tuple[int, ...]:
    """The campaign years a reading counts for: an estimate its campaign's; any other the
    campaign's it answered and the year it was read in."""
    years = {reading["campaign_year"]}
    if reading["kind"] != ReadingKind.ESTIMATED:
        years.add(int(reading["read_on"][:4]))
    return tuple(sorted(y for y in years if y is not None))


def _effect(folded: Folded, meter: dict[str, Any], reading: dict[str, Any]) -> Effect | None:
    kind = reading["kind"]
    tenant, meter_id = meter["tenant"], meter["meter_id"]
    if kind == ReadingKind.REPORTED:
        flagged = bool(json.loads(reading["flags"]))
        return Effect(tenant, meter_id, REPORTED, _years(reading), flagged, reading["case_id"])
    if kind == ReadingKind.ESTIMATED:
        return Effect(tenant, meter_id, ESTIMATED, _years(reading))
    if kind == ReadingKind.CORRECTED:
        original = folded.readings.get(reading_key(meter_id, int(reading["corrects"])))
        return Effect(tenant, meter_id, "corrected", _years(original) if original else ())
    return None


def _fold_state(states: dict[str, dict[str, Any]], effect: Effect) -> None:
    for year in effect.years:
        key = state_key(year, effect.meter_id)
        row = states.get(key)
        if effect.kind == "corrected":
            if row is not None:  # a year the meter was reported or estimated for
                row["corrected"] = 1
            continue
        if row is None:
            row = states[key] = {
                "state_key": key,
                "tenant": effect.tenant,
                "year": year,
                "meter_id": effect.meter_id,
                "state": effect.kind,
                "flagged": 0,
                "corrected": 0,
                "case_id": None,
            }
        if effect.kind == REPORTED:  # late after an estimate, too: the meter was read
            row |= {"state": REPORTED, "flagged": int(effect.flagged), "case_id": effect.case_id}
        elif row["state"] != REPORTED:
            row["state"] = ESTIMATED


def _fold_campaign(rows: dict[str, dict[str, Any]], event: Any) -> None:
    key = str(event.originator_id)
    if isinstance(event, ReadingCampaign.Opened):
        rows[key] = {
            "campaign_id": key,
            "tenant": event.tenant,
            "year": event.year,
            "starts_on": _day(event.starts_on),
            "deadline": _day(event.deadline),
            "closed_at": None,
            "estimates_made_at": None,
        }
    row = rows.get(key)
    if row is None:
        return  # a campaign this view never saw opened
    if isinstance(event, ReadingCampaign.EstimatesMade):
        row["estimates_made_at"] = utc_text(event.at)
    elif isinstance(event, ReadingCampaign.Closed):
        row["closed_at"] = utc_text(event.at)


def _fold_case(rows: dict[str, dict[str, Any]], event: Any) -> None:
    key = str(event.originator_id)
    if isinstance(event, Case.Submitted):
        if event.service == SERVICE_ID:
            rows[key] = dict.fromkeys(CASE_COLUMNS) | {"case_id": key, "tenant": event.tenant}
        else:
            return  # another service's case
    row = rows.get(key)
    if row is None:
        return  # another service's case, or one this view never saw submitted
    row["status"] = status_after(event, row["status"])
    if isinstance(event, WaterMeterReading.ReadingChecked):
        row["outcome"] = event.outcome
        row["meter_id"] = _text(event.meter_id)
        row["meter_number"] = event.meter_number
        row["read_on"] = _day(event.read_on)
        # the campaign it answered; an unknown meter's reading: the year it was read in
        year = event.campaign_year
        row["year"] = year if year is not None else event.read_on.year
