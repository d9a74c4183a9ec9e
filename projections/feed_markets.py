"""The feed's market events: a town's markets (Kerb, Weihnachtsmarkt, #28) for trade and
booking systems, published under the stall application service.

Published: the market as the town published it (``market_published``), the selection's
counts (``market_selection_made``), and each pitch given up, offered to the next in rank
and assigned (``market_pitch_given_up``, ``market_pitch_offered``,
``market_pitch_assigned``). Ids, pitch numbers, days and counts only: never a trader, a
business, a contact, a score sheet, the selection's seed or lots, a free-text reason or the
staff who did it. An application, its withdrawal and the answers to an offer are the stall
cases' own events (``market_stall_*``, published under the case).

``projections/feed.py`` owns the rows; this module says what each market event publishes
and keeps, per market, what its later events draw from (town, year, code, kind, days,
pitches).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, Final

from domain.markets.market import Market
from domain.services.market_stall import SERVICE_ID as MARKET_STALL
from domain.services.market_stall import MarketStallApplication as Stall
from projections.bulk import load_rows, upsert_rows
from projections.inbox import utc_text
from projections.markets import ADMITTED, published_row, selection_outcomes
from projections.projection import Applied
from projections.view_store import ViewTransaction

# Keyed by ``Market.<event>``.
MARKET_TYPES: Final = {
    "Market.Published": (
        "market_published",
        "A town published a market (Kerb, Weihnachtsmarkt; Standplatzvergabe under §§ 69, 70 "
        "GewO or the town's Marktsatzung): name, kind, regime, site, days, the pitch_plan, "
        "the categories wanted, the selection criteria and their weights (criteria_version), "
        "newcomer_share, applications_from, the final deadline, decisions_by and offer_days.",
    ),
    "Market.SelectionMade": (
        "market_selection_made",
        "After the deadline the pitches were allocated once by the published criteria, with "
        "a lot among equal scores whose seed the system drew (algorithm; seed and lots stay "
        "with the record, for the auditors' replay): selected_at, criteria_version, "
        "applications taking part, admitted, refused, pitches_free.",
    ),
    "Market.PitchGivenUp": (
        "market_pitch_given_up",
        "An admitted trader gave up a pitch, or the town revoked it (case_id, pitch; the "
        "reason stays with the case): the pitch goes to the next in rank that fits, as "
        "market_pitch_offered.",
    ),
    "Market.PitchOffered": (
        "market_pitch_offered",
        "A freed pitch was offered to the best-ranked refused application it fits (case_id, "
        "pitch, until: the offer stands until then; because_of: the case that gave it up, "
        "declined it or let the offer run out).",
    ),
    "Market.PitchAssigned": (
        "market_pitch_assigned",
        "A trader accepted a pitch offered on move-up: the pitch is theirs (case_id, pitch).",
    ),
}
MARKET_EVENTS: Final[tuple[type[Any], ...]] = (
    Market.Published,
    Market.SelectionMade,
    Market.PitchGivenUp,
    Market.PitchOffered,
    Market.PitchAssigned,
)
MARKET_SERVICE: Final = MARKET_STALL  # the markets' rows are the stall applications'
MARKET_STATE: Final = (
    "market_id",
    "tenant",
    "year",
    "code",
    "kind",
    "first_day",
    "last_day",
    "pitches",
)


def create_market_table(tx: ViewTransaction, table: str) -> None:
    """What a market's later events draw from: its town, year, code, kind, days, pitches."""
    tx.execute(
        f"CREATE TABLE IF NOT EXISTS {table} (market_id TEXT PRIMARY KEY, "
        "tenant TEXT NOT NULL, year INTEGER NOT NULL, code TEXT NOT NULL, kind TEXT NOT NULL, "
        "first_day TEXT NOT NULL, last_day TEXT NOT NULL, pitches INTEGER NOT NULL)"
    )


class FeedMarkets:
    """The markets a batch touches: read once, stored at its end.

    Only the market's publication names its town, year and code; its later events draw
    them from here.
    """

    def __init__(self, tx: ViewTransaction, table: str, batch: Sequence[Applied]) -> None:
        self.tx = tx
        self.table = table
        ids = sorted(
            {str(a.event.originator_id) for a in batch if isinstance(a.event, Market.Event)}
        )
        self.markets = load_rows(tx, table, MARKET_STATE, ids)

    def public(self, applied: Applied) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
        """The event's public name, what it is about (town, service) and its data, the
        market kept (None: never seen published, or an event that is not published)."""
        event: Any = applied.event
        key = str(event.originator_id)
        extra: dict[str, Any] = {}
        if isinstance(event, Market.Published):
            row = published_row(event, applied.position)
            self.markets[key] = {name: row[name] for name in MARKET_STATE}
            extra = _published(row)
        market = self.markets.get(key)
        key_name = f"Market.{type(event).__name__}"
        if market is None or key_name not in MARKET_TYPES:
            return None
        if isinstance(event, Market.SelectionMade):
            extra = _selection(event, int(market["pitches"]))
        elif isinstance(event, Market.PitchGivenUp | Market.PitchOffered | Market.PitchAssigned):
            # A give-up's reason is the case's personal data: it stays out.
            extra = {"case_id": str(event.case_id), "pitch": str(event.pitch)}
            if isinstance(event, Market.PitchOffered):
                extra["until"] = utc_text(event.until)
                extra["because_of"] = str(event.because_of)
        public, _ = MARKET_TYPES[key_name]
        data = _market_data(market, event.originator_version) | extra
        if "case_id" in extra:
            data["links"]["case"] = f"/api/v1/cases/{extra['case_id']}"
        return public, {"tenant": market["tenant"], "service": MARKET_SERVICE}, data

    def store(self) -> None:
        """Write the markets back (each batch touches few)."""
        upsert_rows(self.tx, self.table, MARKET_STATE, list(self.markets.values()))


def _published(row: dict[str, Any]) -> dict[str, Any]:
    """What the publication adds: the market's facts as the view keeps them."""
    criteria = json.loads(row["criteria"])
    return {
        "name": row["name"],
        "regime": row["regime"],
        "site": row["site"],
        "days": json.loads(row["days"]),
        "pitch_plan": json.loads(row["pitch_plan"]),
        "categories": json.loads(row["categories"]),
        "criteria_version": criteria["version"],
        "criteria": criteria["criteria"],
        "newcomer_share": row["newcomer_share"],
        "applications_from": row["applications_from"],
        "deadline": row["deadline"],
        "decisions_by": row["decisions_by"],
        "offer_days": row["offer_days"],
    }


def _selection(event: Any, pitches: int) -> dict[str, Any]:
    """What a selection adds: its counts, never a score, the seed or a lot."""
    outcomes = [entry["outcome"] for entry in selection_outcomes(event.record)]
    admitted = sum(1 for outcome in outcomes if outcome == ADMITTED)
    return {
        "selected_at": utc_text(event.at),
        "algorithm": event.record["algorithm"],
        "criteria_version": str(event.record["criteria_version"]),
        "applications": len(outcomes),
        "admitted": admitted,
        "refused": len(outcomes) - admitted,
        "pitches_free": pitches - admitted,
    }


def _market_data(market: dict[str, Any], version: int) -> dict[str, Any]:
    """What every market event says: which town's market of which year, when, how many
    pitches."""
    return {
        "tenant": market["tenant"],
        "market_id": market["market_id"],
        "year": int(market["year"]),
        "code": market["code"],
        "kind": market["kind"],
        "first_day": market["first_day"],
        "last_day": market["last_day"],
        "pitches": int(market["pitches"]),
        "service": MARKET_SERVICE,
        "version": version,
        "links": {"market": f"/api/v1/markets/{market['market_id']}"},
    }


# What a stall case's own events (``market_stall_*``, published under the case) add to the
# shared case fields: its market, category, pitch, rank and offer. Never the business, the
# contact, the years of attendance, the score sheet, the total, the lot or a reason.
def _stall_applied(event: Stall.ApplicationRecorded) -> dict[str, Any]:
    return {
        "market_id": str(event.market_id),
        "category": event.category,
        "frontage_m": str(event.frontage_m),
    }


def _stall_selected(event: Stall.SelectionNoted) -> dict[str, Any]:
    return {
        "selection_outcome": event.outcome,
        "pitch": event.pitch,
        "rank": event.rank,
        "ranked": event.applications,
        "algorithm": event.algorithm,
    }


def _stall_offered(event: Stall.PitchOfferNoted | Stall.PitchOfferExpired) -> dict[str, Any]:
    return {"pitch": event.pitch, "until": utc_text(event.until)}


def _stall_pitch(event: Stall.PitchOfferAccepted | Stall.PitchOfferDeclined) -> dict[str, Any]:
    return {"pitch": event.pitch}


def _stall_given_up(event: Stall.PitchGivenUp) -> dict[str, Any]:
    return {"pitch": event.pitch, "by_the_town": event.by_the_town}


STALL_DATA: Final[dict[type[Any], Callable[[Any], dict[str, Any]]]] = {
    Stall.ApplicationRecorded: _stall_applied,
    Stall.SelectionNoted: _stall_selected,
    Stall.PitchOfferNoted: _stall_offered,
    Stall.PitchOfferExpired: _stall_offered,
    Stall.PitchOfferAccepted: _stall_pitch,
    Stall.PitchOfferDeclined: _stall_pitch,
    Stall.PitchGivenUp: _stall_given_up,
}
