"""A town's markets (Kerb, Weihnachtsmarkt, #28) as their lists ask, without replaying markets.

Two tables, from the markets' own events and nothing personal (a trader appears only as the
id of its stall application case, never by name, business or contact):

- the **markets**: what was published (town, year, code, name, kind, regime, days, site, the
  pitch plan, the categories wanted, the criteria and their weights, the newcomer share,
  the application window, the day decisions are made by, the days an offer stands), when
  the selection was made, and the counts at every step: applications (recorded, not
  withdrawn), withdrawn, admitted (holding a pitch now), refused (refused by the selection
  and holding none), given up, pitches on offer and pitches free; the market's version and
  the order of publication;
- the **applications**: per market and stall case, its category, frontage and utilities,
  where it stands (``applied``, ``withdrawn``, then ``admitted`` or ``refused``, ``offered``
  a pitch freed, ``declined`` or ``expired`` such an offer, ``given_up`` its pitch), its
  pitch, rank and total, and until when an offer stands.

Where a market stands (published, open, closed, selected, ended) depends on the hour it is
asked: the window opens and closes by the clock. So the view keeps the days and hours and
``projections/market_query.py`` says the state at the time asked. Days are ISO text,
moments UTC ISO text, decimals decimal text, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Final

from eventsourcing.utils import get_topic

from domain.markets.market import Market
from projections.bulk import load_rows, upsert_rows
from projections.inbox import utc_text
from projections.projection import Applied, Projection
from projections.view_store import ViewTransaction

MARKET_EVENTS: Final[tuple[type[Any], ...]] = (
    Market.Published,
    Market.ApplicationRecorded,
    Market.ApplicationWithdrawn,
    Market.SelectionMade,
    Market.PitchGivenUp,
    Market.PitchOffered,
    Market.PitchAssigned,
    Market.OfferDeclined,
    Market.OfferExpired,
)
MARKET_COLUMNS: Final = (
    "market_id",
    "tenant",
    "year",
    "code",
    "name",
    "kind",
    "regime",
    "first_day",
    "last_day",
    "days",
    "site",
    "pitch_plan",
    "pitches",
    "categories",
    "criteria",
    "criteria_version",
    "newcomer_share",
    "applications_from",
    "deadline",
    "decisions_by",
    "offer_days",
    "published_at",
    "selected_at",
    "applications",
    "withdrawn",
    "admitted",
    "refused",
    "given_up",
    "offered",
    "pitches_free",
    "version",
    "published_position",
    "position",
)
APPLICATION_COLUMNS: Final = (
    "application_key",
    "market_id",
    "case_id",
    "category",
    "frontage_m",
    "electricity",
    "water",
    "status",
    "pitch",
    "rank",
    "total",
    "offered_until",
)
APPLIED: Final = "applied"
WITHDRAWN: Final = "withdrawn"
ADMITTED: Final = "admitted"
REFUSED: Final = "refused"
OFFERED: Final = "offered"
DECLINED: Final = "declined"
EXPIRED: Final = "expired"
GIVEN_UP: Final = "given_up"
# Which count of the market an application's standing is counted under (an application
# recorded counts under ``applications`` until withdrawn, whatever came of it).
COUNTED: Final[dict[str, str | None]] = {
    APPLIED: None,
    WITHDRAWN: "withdrawn",
    ADMITTED: "admitted",
    REFUSED: "refused",
    OFFERED: "offered",
    DECLINED: "refused",
    EXPIRED: "refused",
    GIVEN_UP: "given_up",
}
STANDING: Final = (ADMITTED, REFUSED, OFFERED, DECLINED, EXPIRED, GIVEN_UP)  # after selection


def application_key(market_id: str, case_id: str) -> str:
    """The key of a stall case's application to a market."""
    return f"{market_id}/{case_id}"


@dataclass(slots=True)
class Folded:
    """The rows a batch touches, loaded once and written back once."""

    markets: dict[str, dict[str, Any]]
    applications: dict[str, dict[str, Any]]
    touched: set[str] = field(default_factory=set)  # applications to write back


class Markets(Projection):
    """A town's markets with their window, selection, pitches and counts of applications."""

    name: ClassVar[str] = "markets"
    version: ClassVar[int] = 1

    @property
    def applications_table(self) -> str:
        """One row per market and stall case: where its application stands."""
        return f"{self.key}_applications"

    def tables(self) -> list[str]:
        """Markets, applications."""
        return [self.table, self.applications_table]

    def create_tables(self, tx: ViewTransaction) -> None:
        """Markets found by town and year (and code); applications by market."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (market_id TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, year INTEGER NOT NULL, code TEXT NOT NULL, "
            "name TEXT NOT NULL, kind TEXT NOT NULL, regime TEXT NOT NULL, "
            "first_day TEXT NOT NULL, last_day TEXT NOT NULL, days TEXT NOT NULL, "
            "site TEXT NOT NULL, pitch_plan TEXT NOT NULL, pitches INTEGER NOT NULL, "
            "categories TEXT NOT NULL, criteria TEXT NOT NULL, criteria_version TEXT NOT NULL, "
            "newcomer_share TEXT NOT NULL, applications_from TEXT NOT NULL, "
            "deadline TEXT NOT NULL, decisions_by TEXT NOT NULL, offer_days INTEGER NOT NULL, "
            "published_at TEXT NOT NULL, selected_at TEXT, "
            "applications INTEGER NOT NULL, withdrawn INTEGER NOT NULL, "
            "admitted INTEGER NOT NULL, refused INTEGER NOT NULL, given_up INTEGER NOT NULL, "
            "offered INTEGER NOT NULL, pitches_free INTEGER NOT NULL, "
            "version INTEGER NOT NULL, published_position BIGINT NOT NULL, "
            "position BIGINT NOT NULL)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_year ON {self.table} (tenant, year, code)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.applications_table} "
            "(application_key TEXT PRIMARY KEY, market_id TEXT NOT NULL, "
            "case_id TEXT NOT NULL, category TEXT NOT NULL, frontage_m TEXT NOT NULL, "
            "electricity INTEGER NOT NULL, water INTEGER NOT NULL, status TEXT NOT NULL, "
            "pitch TEXT, rank INTEGER, total TEXT, offered_until TEXT)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.applications_table}_market "
            f"ON {self.applications_table} (market_id)"
        )

    def topics(self) -> list[str]:
        """The markets' events, from their class."""
        return sorted({get_topic(c) for c in MARKET_EVENTS})

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Fold the batch into the touched rows in log order, then upsert them in bulk."""
        events = [a for a in batch if isinstance(a.event, Market.Event)]
        market_ids = sorted({str(a.event.originator_id) for a in events})
        keys = sorted(
            {
                application_key(str(a.event.originator_id), case_id)
                for a in events
                for case_id in _cases_named(a.event)
            }
        )
        folded = Folded(
            markets=load_rows(tx, self.table, MARKET_COLUMNS, market_ids),
            applications=load_rows(tx, self.applications_table, APPLICATION_COLUMNS, keys),
        )
        for applied in events:
            _fold(folded, applied)
        upsert_rows(tx, self.table, MARKET_COLUMNS, list(folded.markets.values()))
        upsert_rows(
            tx,
            self.applications_table,
            APPLICATION_COLUMNS,
            [folded.applications[key] for key in sorted(folded.touched)],
        )


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _day(value: date) -> str:
    return value.isoformat()


def selection_outcomes(record: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    """Each application's outcome in a selection's record: case, outcome, pitch, rank, total."""
    results: Iterable[Mapping[str, Any]] = record["results"]
    return results


def _cases_named(event: Any) -> Iterable[str]:
    """The stall cases a market event changes the application of."""
    if isinstance(event, Market.SelectionMade):
        return {str(entry["case_id"]) for entry in selection_outcomes(event.record)}
    case_id = getattr(event, "case_id", None)
    return () if case_id is None else (str(case_id),)


def published_row(event: Any, position: int) -> dict[str, Any]:
    """A market's row as published: its facts, nothing counted yet."""
    days = sorted(event.days)
    plan = [_pitch(p) for p in event.pitches]
    return {
        "market_id": str(event.originator_id),
        "tenant": event.tenant,
        "year": event.year,
        "code": event.code,
        "name": event.name,
        "kind": event.kind,
        "regime": event.regime,
        "first_day": _day(days[0]),
        "last_day": _day(days[-1]),
        "days": _json([_day(d) for d in days]),
        "site": event.site,
        "pitch_plan": _json(plan),
        "pitches": len(plan),
        "categories": _json(list(event.categories)),
        "criteria": _json(_criteria(event.criteria)),
        "criteria_version": str(event.criteria["version"]),
        "newcomer_share": str(event.newcomer_share),
        "applications_from": utc_text(event.applications_from),
        "deadline": utc_text(event.deadline),
        "decisions_by": _day(event.decisions_by),
        "offer_days": event.offer_days,
        "published_at": utc_text(event.at),
        "selected_at": None,
        "applications": 0,
        "withdrawn": 0,
        "admitted": 0,
        "refused": 0,
        "given_up": 0,
        "offered": 0,
        "pitches_free": len(plan),
        "version": event.originator_version,
        "published_position": position,
        "position": position,
    }


def _pitch(pitch: Mapping[str, Any]) -> dict[str, Any]:
    """A pitch of the plan as published: number, frontage (decimal text), utilities, categories."""
    return {
        "number": str(pitch["number"]),
        "frontage_m": str(Decimal(str(pitch["frontage_m"]))),
        "electricity": bool(pitch["electricity"]),
        "water": bool(pitch["water"]),
        "categories": list(pitch["categories"]),
    }


def _criteria(criteria: Mapping[str, Any]) -> dict[str, Any]:
    """The published criteria: version and each criterion with its weight (decimal text)."""
    return {
        "version": str(criteria["version"]),
        "criteria": [
            {
                "key": c["key"],
                "label": c["label"],
                "weight": str(c["weight"]),
                "kind": c["kind"],
                "max_points": int(c["max_points"]),
            }
            for c in criteria["criteria"]
        ],
    }


def _fold(folded: Folded, applied: Applied) -> None:
    """Fold one market event into its row and its applications' rows."""
    event: Any = applied.event
    key = str(event.originator_id)
    if isinstance(event, Market.Published):
        folded.markets[key] = published_row(event, applied.position)
    market = folded.markets.get(key)
    if market is None:
        return  # a market this view never saw published
    market["position"] = applied.position
    market["version"] = event.originator_version
    if isinstance(event, Market.ApplicationRecorded):
        recorded = event.application  # as the selection reads it; the years stay there
        application = _application(folded, key, str(event.case_id))
        application |= {
            "category": str(recorded["category"]),
            "frontage_m": str(recorded["frontage_m"]),
            "electricity": int(bool(recorded["electricity"])),
            "water": int(bool(recorded["water"])),
        }
        _move(market, application, APPLIED)
    elif isinstance(event, Market.ApplicationWithdrawn):
        _move(market, _application(folded, key, str(event.case_id)), WITHDRAWN)
    elif isinstance(event, Market.SelectionMade):
        market["selected_at"] = utc_text(event.at)
        for outcome in selection_outcomes(event.record):
            application = _application(folded, key, str(outcome["case_id"]))
            application["rank"] = outcome.get("rank")
            application["total"] = _text(outcome.get("total"))
            admitted = outcome["outcome"] == ADMITTED
            application["pitch"] = outcome.get("pitch") if admitted else None
            _move(market, application, ADMITTED if admitted else REFUSED)
    elif isinstance(event, Market.PitchGivenUp):
        _move(market, _application(folded, key, str(event.case_id)), GIVEN_UP)
    elif isinstance(event, Market.PitchOffered):
        application = _application(folded, key, str(event.case_id))
        application["pitch"] = str(event.pitch)
        application["offered_until"] = utc_text(event.until)
        _move(market, application, OFFERED)
    elif isinstance(event, Market.PitchAssigned):
        application = _application(folded, key, str(event.case_id))
        application["pitch"] = str(event.pitch)
        application["offered_until"] = None
        _move(market, application, ADMITTED)
    elif isinstance(event, Market.OfferDeclined | Market.OfferExpired):
        application = _application(folded, key, str(event.case_id))
        application["pitch"] = None
        application["offered_until"] = None
        _move(market, application, DECLINED if isinstance(event, Market.OfferDeclined) else EXPIRED)
    market["pitches_free"] = market["pitches"] - market["admitted"] - market["offered"]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _application(folded: Folded, market_id: str, case_id: str) -> dict[str, Any]:
    """The case's application to the market (made on its recording), to write back."""
    key = application_key(market_id, case_id)
    folded.touched.add(key)
    return folded.applications.setdefault(
        key,
        {
            "application_key": key,
            "market_id": market_id,
            "case_id": case_id,
            "category": "",
            "frontage_m": "0",
            "electricity": 0,
            "water": 0,
            "status": None,
            "pitch": None,
            "rank": None,
            "total": None,
            "offered_until": None,
        },
    )


def _move(market: dict[str, Any], application: dict[str, Any], status: str) -> None:
    """An application's new standing, and the market's counts after it."""
    before = application["status"]
    if before == WITHDRAWN:
        return  # a withdrawn application stays withdrawn
    application["status"] = status
    for name, change in ((COUNTED.get(before or ""), -1), (COUNTED[status], 1)):
        if name is not None:
            market[name] += change
    if before is None:
        market["applications"] += 1
    elif status == WITHDRAWN:
        market["applications"] -= 1
