"""The towns' markets (Kerb, Weihnachtsmarkt) as their staff run them (#28): Standplatzvergabe.

Staff of a town publish a market into the town's calendar of a year (market and calendar in
one save; a code the calendar has already is 409): its days, site, pitches, the product
categories wanted and the selection criteria with their weights, the application window and
the final deadline, and the day by which every trader learns the outcome (``decisions_by``,
early enough for interim relief under § 123 VwGO). Traders apply as for every service
(``POST /api/v1/cases``, service ``market-stall``); the case records itself on the market in
the submission's save. After the deadline staff score each application (a case step), then
select once: the seed of the lot among equal totals is drawn here, once, from a
cryptographically secure source, and recorded with the inputs, the criteria version and the
weights (§ 70 (3) GewO: published, objective criteria), so an auditor replays the selection.
Every application's case decides (admitted with a pitch and its fee, or refused with reasons)
in the selection's save. A pitch given up is offered to the next in rank (a case step).

Another town's market does not exist for staff (404, as a case); the published facts of a
market (no personal data: no trader and no member of staff named) are public, so portals can
list the markets open for applications. The public lists come from a ``MarketDirectory``: a
read model in a deployment, the markets themselves where none is wired (``MarketsInTheLog``:
every market replayed, for tests and the demo).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Protocol
from uuid import UUID

from application.clock import Clock
from application.errors import CaseNotFound
from application.retries import decided_and_saved
from application.staff_records import check_keeps_records, sees_town, stored, stored_or, town_of
from application.store import VorgangStore
from application.views import plain
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.holiday.offering import normalised_code
from domain.markets.calendar import MarketCalendar, MarketCodeTaken, calendar_id
from domain.markets.market import CriteriaSet, Market, Pitch, market_id
from domain.rules.market_selection import replay as replay_selection
from domain.services.market_stall import SERVICE_ID, MarketStallApplication
from domain.services.market_stall_steps import MarketSummary
from domain.working_days import berlin_date

__all__ = [
    "MarketDirectory",
    "MarketRecordNotFound",
    "MarketService",
    "MarketsInTheLog",
    "criteria_view",
    "market_actor",
    "market_view",
    "pitch_view",
]

WATCH_ID: Final = "system:market-stalls"
WATCH_NAME: Final = "Marktwesen"


def market_actor(tenant: str) -> Actor:
    """The system as it acts on a town's markets (an offer that ran out, for instance)."""
    return Actor(WATCH_ID, WATCH_NAME, Role.SYSTEM, tenant)


class MarketRecordNotFound(CaseNotFound):
    """A market that does not exist for the actor (404)."""

    def __init__(self, aggregate_id: UUID, what: str) -> None:
        self.case_id = aggregate_id
        self.version = None
        Exception.__init__(self, f"no {what}")


# ------------------------------------------------------------------ views


def pitch_view(pitch: Pitch) -> dict[str, Any]:
    """A pitch as published: number, frontage, utilities, the categories it holds."""
    return {
        "number": pitch.number,
        "frontage_m": pitch.frontage_m,
        "electricity": pitch.electricity,
        "water": pitch.water,
        "categories": list(pitch.categories),
    }


def criteria_view(criteria: CriteriaSet) -> dict[str, Any]:
    """The published criteria: their version, and each criterion with its weight."""
    return {
        "version": criteria.version,
        "criteria": [
            {
                "key": c.key,
                "label": c.label,
                "weight": c.weight,
                "kind": c.kind,
                "max_points": c.max_points,
            }
            for c in criteria.criteria
        ],
    }


def market_view(market: Market, now: datetime) -> dict[str, Any]:
    """A market as everybody may read it: its published facts, its window now, its pitches.

    No personal data: neither the traders nor the staff are named.
    """
    return {
        "id": market.id,
        "tenant": market.tenant,
        "year": market.year,
        "code": market.code,
        "name": market.name,
        "kind": market.kind,
        "regime": market.regime,
        "days": list(market.days),
        "site": market.site,
        "pitches": [pitch_view(p) for p in market.pitches],
        "categories": list(market.categories),
        "criteria": criteria_view(market.criteria),
        "newcomer_share": market.newcomer_share,
        "applications_from": market.applications_from,
        "deadline": market.deadline,
        "decisions_by": market.decisions_by,
        "offer_days": market.offer_days,
        "window": market.window_state(now),
        "applications": len(market.applications),
        "assigned": len(market.assigned),
        "selected_at": market.selected_at,
        "version": market.version,
    }


def _years(at: datetime) -> tuple[int, int]:
    """The calendars a market open at ``at`` is in: this year's and the next's."""
    year = berlin_date(at).year
    return year, year + 1


# ------------------------------------------------------------------ the public lists


class MarketDirectory(Protocol):
    """A town's markets as the public reads them, without the staff's aggregates."""

    def listed(self, tenant: str, year: int, now: datetime) -> list[dict[str, Any]]:
        """The town's markets of a year in the order published, each as ``market_view``
        shows it at ``now``."""
        ...

    def open_in(self, tenant: str, at: datetime) -> Sequence[MarketSummary]:
        """The town's markets open for applications at ``at`` (this year's and the next's)."""
        ...


class MarketsInTheLog:
    """The town's markets from the markets themselves, where no read model is wired.

    It replays the calendar and every market of it (each holds an event per application):
    fine for tests and the demo; a deployment wires a read model instead.
    """

    def __init__(self, store: VorgangStore) -> None:
        self.store = store

    def markets(self, tenant: str, year: int) -> list[Market]:
        """The town's markets of a year, in the order they were listed."""
        calendar = stored(self.store, calendar_id(tenant, year), MarketCalendar)
        listed = calendar.markets if calendar is not None else ()
        return [m for m in (stored(self.store, i, Market) for i in listed) if m]

    def listed(self, tenant: str, year: int, now: datetime) -> list[dict[str, Any]]:
        """The town's markets of a year as everybody reads them at ``now``."""
        return [market_view(m, now) for m in self.markets(tenant, year)]

    def open_in(self, tenant: str, at: datetime) -> list[Market]:
        """The town's markets open for applications at ``at``."""
        return [
            m
            for year in _years(at)
            for m in self.markets(tenant, year)
            if m.window_state(at) == "open"
        ]


# ------------------------------------------------------------------ the service


class MarketService:
    """The towns' markets: publish, list, select, the record and its replay, applications,
    score sheets and pitches."""

    def __init__(
        self, store: VorgangStore, clock: Clock, directory: MarketDirectory | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.directory: MarketDirectory = directory or MarketsInTheLog(store)

    def today(self) -> date:
        """The business day in Germany."""
        return berlin_date(self.clock.now())

    # -------------------------------------------------------------- who may

    @staticmethod
    def check_keeps_market_records(actor: Actor, tenant: str) -> None:
        """The town's clerks and supervisors serving market stalls (and the system) run its
        markets (403 otherwise)."""
        check_keeps_records(
            actor, tenant, SERVICE_ID, "the town's clerks and supervisors run its markets"
        )

    # -------------------------------------------------------------- loading

    def published(self, market: UUID) -> Market:
        """A market as anybody may read it (its published facts)."""
        return stored_or(
            self.store, market, Market, lambda: MarketRecordNotFound(market, f"market {market}")
        )

    def market(self, actor: Actor, market: UUID) -> Market:
        """A market of a town the actor acts for; another town's: not found."""
        found = self.published(market)
        if not sees_town(actor, found.tenant):
            raise MarketRecordNotFound(market, f"market {market}")
        return found

    def staff_market(self, actor: Actor, market: UUID) -> Market:
        """A market of the actor's town, for the staff who run its markets."""
        found = self.market(actor, market)
        self.check_keeps_market_records(actor, found.tenant)
        return found

    def reader_market(self, actor: Actor, market: UUID) -> Market:
        """A market whose selection the actor may read: the town's staff and its auditors."""
        if actor.role is Role.AUDITOR:
            return self.market(actor, market)
        return self.staff_market(actor, market)

    def calendar(self, tenant: str, year: int) -> MarketCalendar | None:
        """The town's calendar of markets of a year, if it published any that year."""
        return stored(self.store, calendar_id(tenant, year), MarketCalendar)

    def listed(self, tenant: str, year: int) -> list[dict[str, Any]]:
        """The town's markets of a year as everybody reads them now, in publication order."""
        return self.directory.listed(tenant, year, self.clock.now())

    def markets_open_in(self, tenant: str, at: datetime) -> Sequence[MarketSummary]:
        """The town's markets open for applications at that moment (this year's and the
        next's calendar): what the catalogue's example of a stall application names."""
        return self.directory.open_in(tenant, at)

    def view(self, market: Market) -> dict[str, Any]:
        """A market as everybody reads it, with its window as of now."""
        return market_view(market, self.clock.now())

    # -------------------------------------------------------------- publish

    def publish(
        self,
        actor: Actor,
        *,
        year: int,
        code: str,
        name: str,
        kind: str,
        regime: str,
        days: Sequence[date],
        site: str,
        pitches: Sequence[Pitch],
        categories: Sequence[str],
        criteria: CriteriaSet,
        newcomer_share: Decimal,
        applications_from: datetime,
        deadline: datetime,
        decisions_by: date,
        offer_days: int,
        staff: Sequence[str],
    ) -> Market:
        """Publish a market in the town's calendar of the year (409 if the code is taken).

        The calendar is started with its first market; both are saved together, so a market
        is never outside its calendar, and of two markets published at once under one code
        one save fails on the calendar's version and its retry is refused.
        """
        tenant = town_of(actor)
        self.check_keeps_market_records(actor, tenant)
        new_id = market_id(tenant, year, code)

        def decide() -> tuple[Market, tuple[MarketCalendar, Market]]:
            at = self.clock.now()
            if stored(self.store, new_id, Market) is not None:
                raise MarketCodeTaken(normalised_code(code), year)
            calendar = self.calendar(tenant, year)
            if calendar is None:
                calendar = MarketCalendar.start(tenant=tenant, year=year, actor=actor, at=at)
            market = Market.publish(
                tenant=tenant,
                year=year,
                code=code,
                name=name,
                kind=kind,
                regime=regime,
                days=days,
                site=site,
                pitches=pitches,
                categories=categories,
                criteria=criteria,
                newcomer_share=newcomer_share,
                applications_from=applications_from,
                deadline=deadline,
                decisions_by=decisions_by,
                offer_days=offer_days,
                staff=staff,
                actor=actor,
                at=at,
            )
            calendar.list_market(market_id=market.id, code=market.code, actor=actor, at=at)
            return market, (calendar, market)

        return decided_and_saved(self.store, new_id, decide)

    # -------------------------------------------------------------- the selection

    def _case(self, case_id: UUID) -> MarketStallApplication:
        return stored_or(
            self.store,
            case_id,
            MarketStallApplication,
            lambda: MarketRecordNotFound(case_id, f"application {case_id}"),
        )

    def _cases(self, market: Market) -> list[MarketStallApplication]:
        """Every application's case recorded on the market, in the order recorded."""
        return [self._case(case_id) for case_id in market.applications]

    def select(self, actor: Actor, market: UUID) -> Market:
        """Select the traders once the deadline passed, by the published criteria; once (a
        second selection: 409; before the deadline: 422 naming the market).

        The seed of the lot among equal totals is drawn here, from the operating system's
        secure source, and recorded with every input, the criteria version and the weights.
        Every application's case decides (admitted with its pitch and fee, or refused with
        its reasons) in the selection's save: a score sheet or a withdrawal saved meanwhile
        makes the save fail, and the selection is made again from a fresh load.
        """

        def decide() -> tuple[Market, list[Any]]:
            found = self.staff_market(actor, market)
            at = self.clock.now()
            cases = self._cases(found)
            sheets = {
                case.id: case.score_sheet["points"]
                for case in cases
                if case.score_sheet is not None and case.id not in found.withdrawn
            }
            found.select(seed=secrets.token_hex(32), sheets=sheets, actor=actor, at=at)
            for case in cases:
                case.note_selection(found, actor=actor, at=at)
            return found, [found, *cases]

        return decided_and_saved(self.store, market, decide)

    def selection_record(self, actor: Actor, market: UUID) -> dict[str, Any]:
        """The recorded selection: algorithm, seed, criteria and weights, inputs, outcomes."""
        found = self.reader_market(actor, market)
        if found.selection_record is None:
            raise InvalidCommand("market", "the traders of this market were not selected yet")
        return {"selected_at": found.selected_at, **dict(found.selection_record)}

    def replay(self, actor: Actor, market: UUID) -> dict[str, Any]:
        """The recorded selection run again from its recorded inputs, beside the record."""
        record = self.selection_record(actor, market)
        result = replay_selection({k: v for k, v in record.items() if k != "selected_at"})
        return {
            "market": market,
            "algorithm": record.get("algorithm"),
            "verdict": result.verdict,
            "differences": list(result.differences),
        }

    # -------------------------------------------------------------- the staff's lists

    def applications(self, actor: Actor, market: UUID) -> list[dict[str, Any]]:
        """Every application with its case, its inputs, and where it stands: rank, total,
        outcome, pitch, and an open offer of a pitch given up."""
        found = self.staff_market(actor, market)
        rows = []
        for case in self._cases(found):
            recorded = found.applications[case.id]
            outcome = found.result_of(case.id)
            offered = found.offer_of(case.id)
            rows.append(
                {
                    "case_id": case.id,
                    "reference": case.reference,
                    "business": plain(case.data.get("business", {}).get("name")),
                    "category": recorded.category,
                    "frontage_m": recorded.frontage_m,
                    "electricity": recorded.electricity,
                    "water": recorded.water,
                    "years_of_attendance": recorded.years,
                    "withdrawn": case.id in found.withdrawn,
                    "scored": case.score_sheet is not None,
                    "rank": found.rank_of(case.id),
                    "total": None if outcome is None else outcome.get("total"),
                    "outcome": None if outcome is None else outcome.get("outcome"),
                    "pitch": found.pitch_of(case.id),
                    "offered": (
                        None
                        if offered is None
                        else {"pitch": offered.pitch, "until": offered.until}
                    ),
                }
            )
        return rows

    def score_sheets(self, actor: Actor, market: UUID) -> list[dict[str, Any]]:
        """Each application's latest score sheet (points per scored criterion, the criteria's
        version, who scored and when; the note is in the case's history), and the scored
        criteria it still lacks; withdrawn applications are left out."""
        found = self.staff_market(actor, market)
        rows = []
        for case in self._cases(found):
            if case.id in found.withdrawn:
                continue
            sheet = case.score_sheet or {}
            points = dict(sheet.get("points") or {})
            rows.append(
                {
                    "case_id": case.id,
                    "reference": case.reference,
                    "points": points,
                    "criteria_version": sheet.get("criteria_version"),
                    "scored_by": sheet.get("scored_by"),
                    "scored_at": sheet.get("scored_at"),
                    "missing": [key for key in found.criteria.scored if key not in points],
                }
            )
        return rows

    def pitches(self, actor: Actor, market: UUID) -> list[dict[str, Any]]:
        """Every pitch: its facts, the case it is assigned to, and an open offer of it."""
        found = self.staff_market(actor, market)
        assigned: Mapping[str, UUID] = found.assigned
        offers = found.open_offers
        return [
            {
                **pitch_view(pitch),
                "case_id": assigned.get(pitch.number),
                "offered_to": (
                    {"case_id": offers[pitch.number].case_id, "until": offers[pitch.number].until}
                    if pitch.number in offers
                    else None
                ),
            }
            for pitch in found.pitches
        ]
