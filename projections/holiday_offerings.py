"""A town's holiday programme (Ferienspiele, #27) as its lists ask, without replaying offerings.

Two tables, from the offerings' own events and nothing personal (a child appears only as
its place in a registration case, never by name, age or health):

- the **offerings**: what was published (town, year, code, activity, description, place,
  days, ages, places, fee, registration window, allocation rules), when the window was
  closed early, when the places were drawn, when the health notes were erased, how many
  children are registered (not cancelled), allocated a place and waiting, and the
  offering's version (its events so far: the public list's ``version``, and what the
  catalogue's example child is named by, so it changes with every registration);
- the **registrations**: per offering and registration case, where each of its children
  stands by its number in the case (``registered`` before the draw, then ``allocated`` or
  ``waiting``, or ``cancelled``), so a cancellation or a move-up changes the counts of the
  offering it belongs to.

Where an offering stands (published, open, closed, drawn, ended) depends on the hour it is
asked: the window opens and closes by the clock. So the view keeps the days and hours and
``projections/holiday_query.py`` says the state at the time asked. Days are ISO text,
moments UTC ISO text, the fee decimal text, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Final

from eventsourcing.utils import get_topic

from domain.holiday.offering import HolidayOffering
from projections.bulk import load_rows, upsert_rows
from projections.inbox import utc_text
from projections.projection import Applied, Projection
from projections.view_store import ViewTransaction

OFFERING_EVENTS: Final[tuple[type[Any], ...]] = (
    HolidayOffering.Published,
    HolidayOffering.RegistrationRecorded,
    HolidayOffering.WindowClosed,
    HolidayOffering.PlacesDrawn,
    HolidayOffering.RegistrationCancelled,
    HolidayOffering.PlaceMovedUp,
    HolidayOffering.HealthNotesErased,
    HolidayOffering.StaffChanged,  # only the version: the staff are nobody's business here
)
OFFERING_COLUMNS: Final = (
    "offering_id",
    "tenant",
    "year",
    "code",
    "activity",
    "description",
    "location",
    "starts_on",
    "ends_on",
    "min_age",
    "max_age",
    "places",
    "fee",
    "registration_opens_at",
    "registration_closes_at",
    "rules",
    "published_at",
    "window_closed_at",
    "drawn_at",
    "health_erased_at",
    "registered",
    "allocated",
    "waiting",
    "version",
    "published_position",
    "position",
)
REGISTRATION_COLUMNS: Final = ("registration_key", "offering_id", "case_id", "children")
REGISTERED: Final = "registered"
ALLOCATED: Final = "allocated"
WAITING: Final = "waiting"
CANCELLED: Final = "cancelled"
PLACED: Final = (ALLOCATED, WAITING)  # the draw's outcomes, counted under their own names


def registration_key(offering_id: str, case_id: str) -> str:
    """The key of a registration case's children in an offering."""
    return f"{offering_id}/{case_id}"


@dataclass(slots=True)
class Folded:
    """The rows a batch touches, loaded once and written back once."""

    offerings: dict[str, dict[str, Any]]
    registrations: dict[str, dict[str, Any]]
    touched: set[str] = field(default_factory=set)  # registrations to write back


class HolidayOfferings(Projection):
    """A town's holiday offerings with their window, draw and counts of children."""

    name: ClassVar[str] = "holiday_offerings"
    version: ClassVar[int] = 2  # 2: description, rules, version and order of publication

    @property
    def registrations_table(self) -> str:
        """One row per offering and registration case: its children's standing."""
        return f"{self.key}_registrations"

    def tables(self) -> list[str]:
        """Offerings, registrations."""
        return [self.table, self.registrations_table]

    def create_tables(self, tx: ViewTransaction) -> None:
        """Offerings found by town and year (and code); registrations by offering."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (offering_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, year INTEGER NOT NULL, code TEXT NOT NULL, "
            "activity TEXT NOT NULL, description TEXT NOT NULL, location TEXT NOT NULL, "
            "starts_on TEXT NOT NULL, ends_on TEXT NOT NULL, "
            "min_age INTEGER NOT NULL, max_age INTEGER NOT NULL, "
            "places INTEGER NOT NULL, fee TEXT NOT NULL, registration_opens_at TEXT NOT NULL, "
            "registration_closes_at TEXT NOT NULL, rules TEXT NOT NULL, "
            "published_at TEXT NOT NULL, "
            "window_closed_at TEXT, drawn_at TEXT, health_erased_at TEXT, "
            "registered INTEGER NOT NULL, allocated INTEGER NOT NULL, waiting INTEGER NOT NULL, "
            "version INTEGER NOT NULL, published_position BIGINT NOT NULL, "
            "position BIGINT NOT NULL)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_year ON {self.table} (tenant, year, code)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.registrations_table} "
            "(registration_key TEXT PRIMARY KEY, offering_id TEXT NOT NULL, "
            "case_id TEXT NOT NULL, children TEXT NOT NULL)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.registrations_table}_offering "
            f"ON {self.registrations_table} (offering_id)"
        )

    def topics(self) -> list[str]:
        """The offerings' events, from their class."""
        return sorted({get_topic(c) for c in OFFERING_EVENTS})

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Fold the batch into the touched rows in log order, then upsert them in bulk."""
        events = [a for a in batch if isinstance(a.event, HolidayOffering.Event)]
        offering_ids = sorted({str(a.event.originator_id) for a in events})
        keys = sorted(
            {
                registration_key(str(a.event.originator_id), case_id)
                for a in events
                for case_id in _cases_named(a.event)
            }
        )
        folded = Folded(
            offerings=load_rows(tx, self.table, OFFERING_COLUMNS, offering_ids),
            registrations={
                key: row | {"children": json.loads(row["children"])}
                for key, row in load_rows(
                    tx, self.registrations_table, REGISTRATION_COLUMNS, keys
                ).items()
            },
        )
        for applied in events:
            _fold(folded, applied)
        upsert_rows(tx, self.table, OFFERING_COLUMNS, list(folded.offerings.values()))
        upsert_rows(
            tx,
            self.registrations_table,
            REGISTRATION_COLUMNS,
            [
                folded.registrations[key] | {"children": _json(folded.registrations[key])}
                for key in sorted(folded.touched)
            ],
        )


def _json(registration: dict[str, Any]) -> str:
    return json.dumps(registration["children"], separators=(",", ":"))


def _day(value: date) -> str:
    return value.isoformat()


def _cases_named(event: Any) -> Iterable[str]:
    """The registration cases an offering event changes the children of."""
    if isinstance(
        event, HolidayOffering.RegistrationRecorded | HolidayOffering.RegistrationCancelled
    ):
        return (str(event.case_id),)
    if isinstance(event, HolidayOffering.PlaceMovedUp):
        return (str(event.case_id),)
    if isinstance(event, HolidayOffering.PlacesDrawn):
        record = event.record
        return {str(case) for case, _ in (*record["allocated"], *record["waiting"])}
    return ()


def _fold(folded: Folded, applied: Applied) -> None:
    """Fold one offering event into its row and its registrations' rows."""
    event: Any = applied.event
    key = str(event.originator_id)
    if isinstance(event, HolidayOffering.Published):
        folded.offerings[key] = {
            "offering_id": key,
            "tenant": event.tenant,
            "year": event.year,
            "code": event.code,
            "activity": event.activity,
            "description": event.description,
            "location": event.location,
            "starts_on": _day(event.starts_on),
            "ends_on": _day(event.ends_on),
            "min_age": event.min_age,
            "max_age": event.max_age,
            "places": event.places,
            "fee": str(event.fee),
            "registration_opens_at": utc_text(event.registration_opens_at),
            "registration_closes_at": utc_text(event.registration_closes_at),
            "rules": json.dumps(event.rules, sort_keys=True, separators=(",", ":")),
            "published_at": utc_text(event.at),
            "window_closed_at": None,
            "drawn_at": None,
            "health_erased_at": None,
            "registered": 0,
            "allocated": 0,
            "waiting": 0,
            "version": event.originator_version,
            "published_position": applied.position,
            "position": applied.position,
        }
    offering = folded.offerings.get(key)
    if offering is None:
        return  # an offering this view never saw published
    offering["position"] = applied.position
    offering["version"] = event.originator_version
    if isinstance(event, HolidayOffering.WindowClosed):
        offering["window_closed_at"] = utc_text(event.at)
    elif isinstance(event, HolidayOffering.HealthNotesErased):
        offering["health_erased_at"] = utc_text(event.at)
    elif isinstance(event, HolidayOffering.RegistrationRecorded):
        registration = _registration(folded, key, str(event.case_id))
        registration["children"] += [REGISTERED for _ in event.children]
        offering["registered"] += len(event.children)
    elif isinstance(event, HolidayOffering.PlacesDrawn):
        offering["drawn_at"] = utc_text(event.at)
        record = event.record
        for status, entries in ((ALLOCATED, record["allocated"]), (WAITING, record["waiting"])):
            for case_id, child in entries:
                registration = _registration(folded, key, str(case_id))
                _move(offering, registration, int(child), status)
    elif isinstance(event, HolidayOffering.RegistrationCancelled):
        registration = _registration(folded, key, str(event.case_id))
        children = registration["children"]
        indexes = range(len(children)) if event.children is None else event.children
        for child in indexes:
            _move(offering, registration, int(child), CANCELLED)
    elif isinstance(event, HolidayOffering.PlaceMovedUp):
        registration = _registration(folded, key, str(event.case_id))
        _move(offering, registration, int(event.child), ALLOCATED)


def _registration(folded: Folded, offering_id: str, case_id: str) -> dict[str, Any]:
    """The case's registration for the offering (made on its first child), to write back."""
    key = registration_key(offering_id, case_id)
    folded.touched.add(key)
    return folded.registrations.setdefault(
        key,
        {"registration_key": key, "offering_id": offering_id, "case_id": case_id, "children": []},
    )


def _move(
    offering: dict[str, Any],
    registration: dict[str, Any],
    child: int,
    status: str,
) -> None:
    """A child's new standing, and the offering's counts after it: ``registered`` counts
    every child not cancelled, ``allocated`` and ``waiting`` those the draw placed so."""
    children: list[str] = registration["children"]
    if not 0 <= child < len(children):
        return  # a child this view never saw registered
    before = children[child]
    if before == CANCELLED:
        return  # a cancelled child stays cancelled
    children[child] = status
    if before in PLACED:
        offering[before] -= 1
    if status in PLACED:
        offering[status] += 1
    if status == CANCELLED:
        offering["registered"] -= 1
