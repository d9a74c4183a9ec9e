"""One market of a town (Kerb, Christmas market): its pitches, applications and selection.

A market is published by the town's staff with its days, site, pitches, the product
categories it wants and the criteria of the selection with their weights, before the
application deadline — which is final: no command moves or extends it. While applications
are open, traders apply (``record_application``: one case per application, recorded here in
the same atomic save as the case's submission, so of two applications at once one save fails
on the market's version and is decided again from a fresh load). After the deadline, staff
score each application on the score sheet (in its case) and the selection runs once
(``select``, by domain/rules/market_selection.py, with the seed and every input recorded so
it replays), by ``decisions_by`` at the latest (later it is refused): that day lies at least
``MIN_RELIEF_DAYS`` before the first market day, so a refused trader can still seek interim
relief (§ 123 VwGO).

When a trader gives a pitch up (or the town revokes it), the pitch is offered to the next in
rank it fits (``give_up_pitch``); the offer runs ``offer_days`` (never past the day before
the market), and is accepted, declined or runs out — then the next in rank is offered it.

Legal frame: a festgesetzter Markt (§ 69 GewO: Volksfest/Kerb, Spezialmarkt/Weihnachtsmarkt)
is open to all under § 70 GewO, and a refusal needs objective reasons (§ 70 (3) GewO); a
market under the town's own rules (Marktsatzung) is selected the same way.

The market keeps no names: an application is its case id with category, frontage, utilities
and years of attendance; who acted is named by id and role (the name is in the case). A
reason a trader or staff give (withdrawal, give-up, declined offer) is the case's personal
data. Its id is a UUIDv5 of the town, the year and the normalised code (``market_id``).

Invariants, held by the commands (an ``@event`` method only assigns):

- a pitch is assigned to at most one case at any time, and a case holds at most one pitch;
- a pitch holds the stall assigned to it: category, frontage and utilities fit;
- a freed pitch is offered to the best-ranked application it fits that holds no pitch and
  was never given up, declined or let run out (move-up follows rank and fit);
- applications are recorded only while the window is open, and the selection runs once;
- newcomers keep a real chance: a share of the pitches, or criteria that outweigh attendance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final, Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor
from domain.errors import DomainError, InvalidCommand, InvalidTransition
from domain.holiday.offering import _berlin, _check_aware, _reason, normalised_code
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.rules.market_fees import MARKET_KINDS, tariff_in_force
from domain.rules.market_selection import (
    CENTIMETRE,
    MARKET_CATEGORIES,
    MAX_FRONTAGE,
    CriteriaSet,
    Criterion,
    Pitch,
    StallApplication,
    best_pitch,
    natural_key,
    reserved_pitches,
    selection_record,
)
from domain.rules.market_selection import select as select_traders
from domain.tenants import TENANTS
from domain.working_days import BERLIN, berlin_date

__all__ = [
    "DOCUMENT_KINDS",
    "MARKET_CATEGORIES",
    "MARKET_KINDS",
    "MIN_RELIEF_DAYS",
    "REGIMES",
    "AlreadySelected",
    "CriteriaSet",
    "Criterion",
    "Market",
    "Offer",
    "Pitch",
    "StallApplication",
    "WindowState",
    "market_id",
    "required_documents",
]

MIN_RELIEF_DAYS: Final = 21  # decisions_by at least so many days before the first market day
REGIMES: Final = ("festgesetzt", "town_rules")  # § 69 GewO, or the town's Marktsatzung
DOCUMENT_KINDS: Final = ("trade_licence", "liability_insurance", "food_hygiene", "ride_approval")
MAX_PITCHES: Final = 500
MAX_DAYS: Final = 62
MAX_OFFER_DAYS: Final = 14
MAX_NEWCOMER_SHARE: Final = Decimal("0.5")
MAX_YEARS: Final = 50
_TEXT_LIMITS: Final = {"name": 200, "site": 300}

WindowState = Literal["not_yet_open", "open", "closed"]


class AlreadySelected(InvalidTransition):
    """A market's pitches are allocated by one selection: a second is refused (the API: 409)."""

    def __init__(self, selected_at: datetime) -> None:
        super().__init__(
            "select", "selected", ("accept_offer", "decline_offer", "expire_offer", "give_up_pitch")
        )
        self.selected_at = selected_at


@dataclass(frozen=True, slots=True)
class Offer:
    """A freed pitch offered to the next in rank, open until ``until``."""

    case_id: UUID
    pitch: str
    until: datetime


def market_id(tenant: str, year: int, code: str) -> UUID:
    """The id of a town's market of a year by its code (public: no personal data)."""
    return uuid5(NAMESPACE_URL, f"vorgang:market:{tenant}:{year}:{normalised_code(code)}")


def required_documents(category: str, regime: str) -> tuple[str, ...]:
    """The documents an application of this category must name at a market of this regime.

    Liability insurance always; a trade licence (Reisegewerbekarte) unless the market is
    festgesetzt (the market privilege, § 55 (1) and §§ 68 ff. GewO, spares it there); the food
    hygiene instruction (§ 43 IfSG) for food and drinks; for a ride its Ausführungsgenehmigung
    and Gebrauchsabnahme.
    """
    if category not in MARKET_CATEGORIES:
        raise InvalidCommand("category", f"one of {', '.join(MARKET_CATEGORIES)}")
    if regime not in REGIMES:
        raise InvalidCommand("regime", f"one of {', '.join(REGIMES)}")
    documents = ["liability_insurance"]
    if regime != "festgesetzt":
        documents.insert(0, "trade_licence")
    if category in ("food", "drinks"):
        documents.append("food_hygiene")
    if category == "ride":
        documents.append("ride_approval")
    return tuple(documents)


# ------------------------------------------------------------------ checks


def _text(field: str, value: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise InvalidCommand(field, "must not be empty")
    if len(text) > _TEXT_LIMITS[field]:
        raise InvalidCommand(field, f"at most {_TEXT_LIMITS[field]} characters")
    return text


def _staff(staff: Sequence[str]) -> list[str]:
    ids = sorted({str(member).strip() for member in staff})
    if not ids or any(not member or len(member) > 200 for member in ids):
        raise InvalidCommand("staff", "user ids of the staff who keep the market")
    return ids


def _days(year: int, days: Sequence[date]) -> list[date]:
    listed = sorted(set(days))
    if not listed:
        raise InvalidCommand("days", "at least one market day")
    if len(listed) > MAX_DAYS:
        raise InvalidCommand("days", f"at most {MAX_DAYS} market days")
    if any(not isinstance(day, date) or isinstance(day, datetime) for day in listed):
        raise InvalidCommand("days", "dates")
    if any(day.year != year for day in listed):
        raise InvalidCommand("days", f"a market of {year} is held in {year}")
    return listed


def _pitches(pitches: Sequence[Pitch]) -> list[Pitch]:
    if not 1 <= len(pitches) <= MAX_PITCHES:
        raise InvalidCommand("pitches", f"1 to {MAX_PITCHES} pitches")
    checked: list[Pitch] = []
    seen: set[tuple[tuple[int, int, str], ...]] = set()
    for index, pitch in enumerate(pitches):
        good = pitch.checked(f"pitches[{index}]")
        read_as = natural_key(good.number.casefold())  # "A1" is "a1", "01" is "1"
        if read_as in seen:
            raise InvalidCommand(f"pitches[{index}].number", f"pitch {good.number} is listed twice")
        seen.add(read_as)
        checked.append(good)
    return sorted(checked, key=lambda pitch: natural_key(pitch.number))


def _categories(categories: Sequence[str], pitches: Sequence[Pitch]) -> list[str]:
    wanted = list(dict.fromkeys(categories))
    if not wanted:
        raise InvalidCommand("categories", "at least one category wanted")
    for category in wanted:
        if category not in MARKET_CATEGORIES:
            raise InvalidCommand("categories", f"one of {', '.join(MARKET_CATEGORIES)}")
        if not any(category in pitch.categories for pitch in pitches):
            raise InvalidCommand("categories", f"no pitch may hold {category}")
    return wanted


def _share(share: Decimal) -> Decimal:
    try:
        exact = share.quantize(Decimal("0.0001")) == share
    except (AttributeError, InvalidOperation):
        raise InvalidCommand("newcomer_share", "a decimal from 0 to 0.5") from None
    if not share.is_finite() or not exact or not 0 <= share <= MAX_NEWCOMER_SHARE:
        raise InvalidCommand("newcomer_share", "0 to 0.5, at most four decimal places")
    return share


def _check_newcomers_chance(criteria: CriteriaSet, share: Decimal, pitches: int) -> None:
    """Newcomers keep a real chance (VGH Kassel, BVerwG on § 70 (3) GewO): a share that
    reserves at least one pitch (as the selection rounds it: ``reserved_pitches``), or
    criteria besides attendance (scored, newcomer) that outweigh it, so that a newcomer with
    every other point ranks above a trader who has attendance alone."""
    if reserved_pitches(share, pitches) > 0:
        return
    known = sum((c.weight for c in criteria.criteria if c.kind == "attendance"), Decimal(0))
    other = sum(
        (c.weight for c in criteria.criteria if c.kind in ("scored", "newcomer")), Decimal(0)
    )
    if known and other <= known:
        raise InvalidCommand(
            "newcomer_share",
            "newcomers need a real chance: a share that reserves at least one of the "
            f"{pitches} pitches, or scored and newcomer criteria that weigh more than "
            "attendance together",
        )


def _frontage(frontage_m: Decimal) -> Decimal:
    try:
        metres = Decimal(frontage_m)
        exact = metres.quantize(Decimal("0.01")) == metres
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidCommand("data.frontage_m", "metres") from None
    if not metres.is_finite() or not exact or not 0 < metres <= MAX_FRONTAGE:
        raise InvalidCommand(
            "data.frontage_m", f"metres above 0, at most {MAX_FRONTAGE}, to the centimetre"
        )
    return metres.quantize(CENTIMETRE)  # "1E+1" is 10.00 m, written so in every record


# ------------------------------------------------------------------ the market


class Market(Aggregate):
    """One market of a town and year: its pitches, applications, selection and move-up."""

    @classmethod
    def publish(
        cls,
        *,
        tenant: str,
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
        actor: Actor,
        at: datetime,
        id: UUID | None = None,
    ) -> Market:
        """Publish a market with its days, pitches, categories, criteria and deadline.

        Each refusal names its field: the market's days in its year; pitches numbered once,
        each with a frontage above 0 and the categories it may hold; every category wanted
        held by a pitch; at least one criterion; a newcomer share of 0 to 0.5 (0 only where
        scored and newcomer criteria outweigh attendance: newcomers keep a chance); applications
        open before the deadline, which has not passed; decisions by a day after the deadline
        and at least ``MIN_RELIEF_DAYS`` before the first market day; offers open 1 to 14 days.
        The fee tariff is the town's in force on the first market day.
        """
        _check_aware("at", at)
        if tenant not in TENANTS:
            raise InvalidCommand("tenant", f"unknown town {tenant!r}")
        if not 2000 <= year <= 2199:
            raise InvalidCommand("year", "a year from 2000 to 2199")
        number = normalised_code(code)
        if kind not in MARKET_KINDS:
            raise InvalidCommand("kind", f"one of {', '.join(MARKET_KINDS)}")
        if regime not in REGIMES:
            raise InvalidCommand("regime", f"one of {', '.join(REGIMES)}")
        market_days = _days(year, days)
        stands = _pitches(pitches)
        wanted = _categories(categories, stands)
        rules = criteria.checked()
        share = _share(newcomer_share)
        _check_newcomers_chance(rules, share, len(stands))
        _check_aware("applications_from", applications_from)
        _check_aware("deadline", deadline)
        if applications_from >= deadline:
            raise InvalidCommand("deadline", "after applications_from")
        if deadline <= at:
            raise InvalidCommand("deadline", "a deadline that has not passed yet")
        if not isinstance(decisions_by, date) or isinstance(decisions_by, datetime):
            raise InvalidCommand("decisions_by", "a date")
        if decisions_by <= berlin_date(deadline):
            raise InvalidCommand("decisions_by", f"after the deadline, {_berlin(deadline)}")
        latest = market_days[0] - timedelta(days=MIN_RELIEF_DAYS)
        if decisions_by > latest:
            raise InvalidCommand(
                "decisions_by",
                f"by {latest}: {MIN_RELIEF_DAYS} days before the market, for interim relief",
            )
        if isinstance(offer_days, bool) or not isinstance(offer_days, int):
            raise InvalidCommand("offer_days", f"1 to {MAX_OFFER_DAYS} days")
        if not 1 <= offer_days <= MAX_OFFER_DAYS:
            raise InvalidCommand("offer_days", f"1 to {MAX_OFFER_DAYS} days")
        tariff = tariff_in_force(tenant, market_days[0])
        new_id = market_id(tenant, year, number)
        if id is not None and id != new_id:
            raise InvalidCommand("id", "the id of the town, year and code")
        return cls(
            id=new_id,
            tenant=tenant,
            year=year,
            code=number,
            name=_text("name", name),
            kind=kind,
            regime=regime,
            days=market_days,
            site=_text("site", site),
            pitches=[pitch.as_dict() for pitch in stands],
            categories=wanted,
            criteria=rules.as_dict(),
            newcomer_share=share,
            applications_from=applications_from,
            deadline=deadline,
            decisions_by=decisions_by,
            offer_days=offer_days,
            tariff_version=tariff.version,
            staff=_staff(staff),
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )

    class Published(Aggregate.Created):
        """A market was published with its days, pitches, categories, criteria and deadline."""

        tenant: str
        year: int
        code: str
        name: str
        kind: str
        regime: str
        days: list[date]
        site: str
        pitches: list[dict[str, Any]]
        categories: list[str]
        criteria: dict[str, Any]
        newcomer_share: Decimal
        applications_from: datetime
        deadline: datetime
        decisions_by: date
        offer_days: int
        tariff_version: str
        staff: list[str]
        actor_id: str
        actor_role: str
        at: datetime

    @event(Published)
    def __init__(
        self,
        *,
        id: UUID,
        tenant: str,
        year: int,
        code: str,
        name: str,
        kind: str,
        regime: str,
        days: list[date],
        site: str,
        pitches: list[dict[str, Any]],
        categories: list[str],
        criteria: dict[str, Any],
        newcomer_share: Decimal,
        applications_from: datetime,
        deadline: datetime,
        decisions_by: date,
        offer_days: int,
        tariff_version: str,
        staff: list[str],
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        self.tenant = tenant
        self.year = year
        self.code = code
        self.name = name
        self.kind = kind
        self.regime = regime
        self.days: tuple[date, ...] = tuple(days)
        self.site = site
        self.pitches: tuple[Pitch, ...] = tuple(Pitch.of(pitch) for pitch in pitches)
        self.categories: tuple[str, ...] = tuple(categories)
        self.criteria = CriteriaSet.of(criteria)
        self.newcomer_share = newcomer_share
        self.applications_from = applications_from
        self.deadline = deadline
        self.decisions_by = decisions_by
        self.offer_days = offer_days
        self.tariff_version = tariff_version
        self.staff: frozenset[str] = frozenset(staff)
        self.published_at = at
        self.selected_at: datetime | None = None
        self.selection_record: dict[str, Any] | None = None
        self._applications: dict[UUID, StallApplication] = {}
        self._withdrawn: set[UUID] = set()
        self._traders: dict[str, UUID] = {}  # keyed trader id -> the case it applied with
        self._order: tuple[UUID, ...] = ()  # the selection's rank order
        self._assigned: dict[str, UUID] = {}  # pitch number -> case
        self._pitch_of: dict[UUID, str] = {}
        self._offers: dict[str, Offer] = {}  # pitch number -> open offer, in order made
        self._passed: set[UUID] = set()  # gave up, declined or let an offer run out

    # -------------------------------------------------------------- queries

    @property
    def first_day(self) -> date:
        """The first market day."""
        return self.days[0]

    @property
    def last_day(self) -> date:
        """The last market day."""
        return self.days[-1]

    @property
    def market_begins_at(self) -> datetime:
        """Midnight (Berlin) starting the first market day: offers end by then at the latest."""
        return datetime.combine(self.first_day, time(0), tzinfo=BERLIN)

    def pitch(self, number: str) -> Pitch:
        """A pitch by its number."""
        for pitch in self.pitches:
            if pitch.number == number:
                return pitch
        raise InvalidCommand("pitch", f"no pitch {number} at {self.code}")

    def window_state(self, at: datetime) -> WindowState:
        """Whether applications are not yet open, open, or closed at ``at``."""
        if self.selected_at is not None or at >= self.deadline:
            return "closed"
        if at < self.applications_from:
            return "not_yet_open"
        return "open"

    @property
    def applications(self) -> Mapping[UUID, StallApplication]:
        """Every application recorded, in order of recording (withdrawn ones too)."""
        return MappingProxyType(self._applications)

    @property
    def withdrawn(self) -> frozenset[UUID]:
        """The applications withdrawn."""
        return frozenset(self._withdrawn)

    def recorded(self, case_id: UUID) -> bool:
        """Whether the case applied for this market."""
        return case_id in self._applications

    @property
    def assigned(self) -> Mapping[str, UUID]:
        """Each pitch assigned, with the case holding it."""
        return MappingProxyType(dict(self._assigned))

    def pitch_of(self, case_id: UUID) -> str | None:
        """The pitch a case holds (None: none)."""
        return self._pitch_of.get(case_id)

    @property
    def free_pitches(self) -> tuple[str, ...]:
        """The pitches neither assigned nor on offer, by number."""
        return tuple(
            pitch.number
            for pitch in self.pitches
            if pitch.number not in self._assigned and pitch.number not in self._offers
        )

    @property
    def open_offers(self) -> Mapping[str, Offer]:
        """Each pitch on offer, with its offer, in the order the offers were made."""
        return MappingProxyType(dict(self._offers))

    @property
    def open_offer(self) -> Offer | None:
        """The earliest offer still open (None: none)."""
        return next(iter(self._offers.values()), None)

    def offer_of(self, case_id: UUID) -> Offer | None:
        """The open offer made to a case (None: none)."""
        return next((o for o in self._offers.values() if o.case_id == case_id), None)

    def rank_of(self, case_id: UUID) -> int | None:
        """A case's rank in the selection, from 1 (None: not selected, or no selection yet)."""
        try:
            return self._order.index(case_id) + 1
        except ValueError:
            return None

    def result_of(self, case_id: UUID) -> Mapping[str, Any] | None:
        """A case's entry in the selection record: points, total, lot, rank, outcome."""
        if self.selection_record is None:
            return None
        wanted = str(case_id)
        return next((r for r in self.selection_record["results"] if r["case_id"] == wanted), None)

    # -------------------------------------------------------------- applications

    def record_application(
        self,
        *,
        case_id: UUID,
        category: str,
        frontage_m: Decimal,
        electricity: bool,
        water: bool,
        years: int,
        actor: Actor,
        at: datetime,
        traders: Sequence[str] = (),
    ) -> None:
        """Record a trader's application while applications are open.

        ``traders``: keyed ids of who applies (hex of an HMAC under the town's key of the
        portal account and of the business, never a name): one trader applies once per
        market, so a second application naming a key recorded for an application not
        withdrawn is refused (``data.business``) — else one business would draw several lots
        and could hold several pitches.

        Refused naming the form's fields: outside the window (``data.market``); a category
        the market does not want (``data.category``); a frontage no pitch of the category is
        long enough for (``data.frontage_m``); electricity or water no such pitch has
        (``data.electricity``, ``data.water``); years of attendance outside 0 to 50
        (``data.years_of_attendance``); a case recorded already (``case_id``); a trader who
        applied already (``data.business``).
        """
        _check_aware("at", at)
        state = self.window_state(at)
        if state == "not_yet_open":
            raise InvalidCommand(
                "data.market",
                f"applications for {self.code} open at {_berlin(self.applications_from)}",
            )
        if state == "closed":
            raise InvalidCommand(
                "data.market",
                f"the deadline for {self.code} passed at {_berlin(self.deadline)}",
            )
        if case_id in self._applications:
            raise InvalidCommand("case_id", "the application is recorded already")
        keys = sorted({str(key) for key in traders})
        if any(not key or len(key) > 128 for key in keys):
            raise InvalidCommand("traders", "keyed ids of the trader")
        for key in keys:
            earlier = self._traders.get(key)
            if earlier is not None and earlier not in self._withdrawn:
                raise InvalidCommand(
                    "data.business", f"an application of this trader is recorded for {self.code}"
                )
        if category not in self.categories:
            raise InvalidCommand("data.category", f"{self.code} wants {', '.join(self.categories)}")
        metres = _frontage(frontage_m)
        if isinstance(years, bool) or not isinstance(years, int) or not 0 <= years <= MAX_YEARS:
            raise InvalidCommand("data.years_of_attendance", f"0 to {MAX_YEARS} years")
        application = StallApplication(
            case_id, category, metres, bool(electricity), bool(water), years
        )
        held = [pitch for pitch in self.pitches if category in pitch.categories]
        long_enough = [pitch for pitch in held if metres <= pitch.frontage_m]
        if not long_enough:
            longest = max(pitch.frontage_m for pitch in held)
            raise InvalidCommand(
                "data.frontage_m", f"the longest pitch for {category} has {longest} m frontage"
            )
        powered = [pitch for pitch in long_enough if pitch.electricity or not electricity]
        if not powered:
            raise InvalidCommand(
                "data.electricity", f"no pitch for {category} of {metres} m has electricity"
            )
        if not any(pitch.fits(application) for pitch in powered):
            raise InvalidCommand("data.water", f"no pitch for {category} of {metres} m has water")
        self._application_recorded(
            case_id=case_id,
            application=application.as_dict(),
            traders=keys,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )

    class ApplicationRecorded(Aggregate.Event):
        """A trader's application (category, frontage, utilities, years) was recorded.

        Version 2 records the keyed ids of the trader (``traders``); version 1 had none.
        """

        class_version = 2
        case_id: UUID
        application: dict[str, Any]
        traders: list[str]  # keyed ids (HMAC), never a name
        actor_id: str  # the person's name is in the application case, not here
        actor_role: str
        at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["traders"] = []

    @event(ApplicationRecorded)
    def _application_recorded(
        self,
        *,
        case_id: UUID,
        application: dict[str, Any],
        traders: list[str],
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        self._applications[case_id] = StallApplication.of(application)
        for key in traders:
            self._traders[key] = case_id

    def withdraw_application(
        self, *, case_id: UUID, actor: Actor, at: datetime, reason: str
    ) -> None:
        """Withdraw an application: before the selection it is no input; after, a refused
        one is never offered a pitch. A case holding a pitch gives it up instead
        (``give_up_pitch``), one with an offer declines it (``decline_offer``)."""
        _check_aware("at", at)
        if case_id not in self._applications:
            raise InvalidCommand("case_id", f"no application for {self.code}")
        if case_id in self._withdrawn:
            raise InvalidCommand("case_id", "the application is withdrawn already")
        if case_id in self._pitch_of:
            raise InvalidCommand("case_id", "the case holds a pitch: it gives the pitch up")
        if self.offer_of(case_id) is not None:
            raise InvalidCommand("case_id", "a pitch is offered to the case: it declines it")
        text = PersonalData(case_id=case_id, subject=Subjects.CASE_TEXT, value=_reason(reason))
        self._application_withdrawn(
            case_id=case_id, actor_id=actor.id, actor_role=actor.role.value, at=at, reason=text
        )

    class ApplicationWithdrawn(Aggregate.Event):
        """An application was withdrawn, with the reason."""

        case_id: UUID
        actor_id: str
        actor_role: str
        at: datetime
        reason: PersonalValue  # the application case's text (erased with it)

    @event(ApplicationWithdrawn)
    def _application_withdrawn(
        self,
        *,
        case_id: UUID,
        actor_id: str,
        actor_role: str,
        at: datetime,
        reason: PersonalValue,
    ) -> None:
        self._withdrawn.add(case_id)
        if self.selected_at is not None:
            self._passed.add(case_id)

    # -------------------------------------------------------------- the selection

    def select(
        self,
        *,
        seed: str,
        sheets: Mapping[UUID, Mapping[str, int]],
        actor: Actor,
        at: datetime,
    ) -> dict[str, Any]:
        """Select the traders and give the pitches once the deadline has passed; returns the
        selection's record.

        ``sheets``: each application's points per scored criterion (every scored criterion of
        every application not withdrawn; a missing one is refused naming the case and the
        criterion). A second selection is refused (``AlreadySelected``), so is one before the
        deadline (``window``) and one after the published ``decisions_by`` day (``at``):
        refusals made later would leave a trader no time for interim relief.
        """
        _check_aware("at", at)
        if self.selected_at is not None:
            raise AlreadySelected(self.selected_at)
        if at < self.deadline:
            raise InvalidCommand(
                "window", f"the selection runs after the deadline, {_berlin(self.deadline)}"
            )
        if berlin_date(at) > self.decisions_by:
            raise InvalidCommand(
                "at",
                f"decisions were due by {self.decisions_by}, published so that a trader "
                "refused can seek interim relief before the market",
            )
        unknown = [case_id for case_id in sheets if case_id not in self._applications]
        if unknown:
            raise InvalidCommand("sheets", f"case {unknown[0]} has no application here")
        applications = [
            application
            for case_id, application in self._applications.items()
            if case_id not in self._withdrawn
        ]
        inputs = {a.case_id: dict(sheets[a.case_id]) for a in applications if a.case_id in sheets}
        result = select_traders(
            self.criteria,
            self.pitches,
            applications,
            inputs,
            self.newcomer_share,
            seed,
            wanted=self.categories,
        )
        given = [ranked.pitch for ranked in result.ranked if ranked.pitch is not None]
        if len(given) != len(set(given)):
            raise DomainError("the selection gave a pitch twice")
        for ranked in result.ranked:
            if ranked.pitch is not None:
                self._check_fits(ranked.application.case_id, ranked.pitch)
        record = selection_record(
            seed=seed,
            criteria=self.criteria,
            pitches=self.pitches,
            applications=applications,
            sheets=inputs,
            newcomer_share=self.newcomer_share,
            wanted=self.categories,
            result=result,
        )
        self._selection_made(record=record, actor_id=actor.id, actor_role=actor.role.value, at=at)
        return record

    class SelectionMade(Aggregate.Event):
        """The traders were selected: algorithm, seed, inputs and outcome, to replay it."""

        record: dict[str, Any]
        actor_id: str
        actor_role: str
        at: datetime

    @event(SelectionMade)
    def _selection_made(
        self, *, record: dict[str, Any], actor_id: str, actor_role: str, at: datetime
    ) -> None:
        self.selected_at = at
        self.selection_record = record
        self._order = tuple(UUID(str(result["case_id"])) for result in record["results"])
        for result in record["results"]:
            if result["pitch"] is not None:
                case_id = UUID(str(result["case_id"]))
                self._assigned[str(result["pitch"])] = case_id
                self._pitch_of[case_id] = str(result["pitch"])

    def _check_fits(self, case_id: UUID, number: str) -> None:
        """Refuse to assign a pitch taken, to a case holding one, or one the stall does not
        fit (never reached: the selection and the move-up choose free fitting pitches only;
        kept so no command can give a pitch twice)."""
        if not self.pitch(number).fits(self._applications[case_id]):
            raise DomainError(f"pitch {number} does not fit the stall of case {case_id}")
        if number in self._assigned or case_id in self._pitch_of:
            raise DomainError(f"pitch {number} or case {case_id} is assigned already")

    # -------------------------------------------------------------- give-up and move-up

    def give_up_pitch(
        self, *, case_id: UUID, actor: Actor, at: datetime, reason: str
    ) -> UUID | None:
        """A trader gives up the pitch (or the town revokes it) before the market; the pitch
        is offered to the next in rank it fits, in the same command. Returns the case now
        offered it (None: nobody fits, or the market is about to begin)."""
        _check_aware("at", at)
        number = self._pitch_of.get(case_id)
        if number is None:
            raise InvalidCommand("case_id", f"the case holds no pitch at {self.code}")
        if at >= self.market_begins_at:
            raise InvalidCommand("at", f"the market began on {self.first_day}")
        text = PersonalData(case_id=case_id, subject=Subjects.CASE_TEXT, value=_reason(reason))
        self._pitch_given_up(
            case_id=case_id,
            pitch=number,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
            reason=text,
        )
        return self._offer_next(number, because_of=case_id, actor=actor, at=at)

    class PitchGivenUp(Aggregate.Event):
        """A trader gave up the pitch (or the town revoked it), with the reason."""

        case_id: UUID
        pitch: str
        actor_id: str
        actor_role: str
        at: datetime
        reason: PersonalValue  # the case's text (erased with it)

    @event(PitchGivenUp)
    def _pitch_given_up(
        self,
        *,
        case_id: UUID,
        pitch: str,
        actor_id: str,
        actor_role: str,
        at: datetime,
        reason: PersonalValue,
    ) -> None:
        del self._assigned[pitch]
        del self._pitch_of[case_id]
        self._passed.add(case_id)

    def next_in_rank(self, number: str) -> UUID | None:
        """The best-ranked case a freed pitch would be offered to: it fits the stall, and the
        case holds no pitch, has no offer open and never gave up, declined or let one run
        out (or withdrew)."""
        pitch = self.pitch(number)
        offered = {offer.case_id for offer in self._offers.values()}
        for case_id in self._order:
            if case_id in self._pitch_of or case_id in offered or case_id in self._passed:
                continue
            if case_id in self._withdrawn:
                continue
            if pitch.fits(self._applications[case_id]):
                return case_id
        return None

    def _offer_next(
        self, number: str, *, because_of: UUID, actor: Actor, at: datetime
    ) -> UUID | None:
        """Offer a freed pitch to the next in rank, open ``offer_days`` but not past the day
        before the market."""
        if at >= self.market_begins_at:
            return None
        case_id = self.next_in_rank(number)
        if case_id is None:
            return None
        until = min(at + timedelta(days=self.offer_days), self.market_begins_at)
        self._pitch_offered(
            case_id=case_id,
            pitch=number,
            until=until,
            because_of=because_of,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )
        return case_id

    class PitchOffered(Aggregate.Event):
        """A freed pitch was offered to the next in rank, open until ``until``."""

        case_id: UUID
        pitch: str
        until: datetime
        because_of: UUID  # the case that gave it up, declined it or let it run out
        actor_id: str  # the person whose command freed it
        actor_role: str
        at: datetime

    @event(PitchOffered)
    def _pitch_offered(
        self,
        *,
        case_id: UUID,
        pitch: str,
        until: datetime,
        because_of: UUID,
        actor_id: str,
        actor_role: str,
        at: datetime,
    ) -> None:
        self._offers[pitch] = Offer(case_id, pitch, until)

    def _open_offer(self, case_id: UUID) -> Offer:
        offer = self.offer_of(case_id)
        if offer is None:
            raise InvalidCommand("case_id", f"no pitch of {self.code} is offered to the case")
        return offer

    def accept_offer(self, *, case_id: UUID, actor: Actor, at: datetime) -> str:
        """Accept the pitch offered, while the offer is open; returns the pitch."""
        _check_aware("at", at)
        offer = self._open_offer(case_id)
        if at > offer.until:
            raise InvalidCommand("at", f"the offer ran out at {_berlin(offer.until)}")
        self._check_fits(case_id, offer.pitch)
        self._pitch_assigned(
            case_id=case_id,
            pitch=offer.pitch,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )
        return offer.pitch

    class PitchAssigned(Aggregate.Event):
        """A trader accepted a pitch offered on move-up: it is theirs."""

        case_id: UUID
        pitch: str
        actor_id: str
        actor_role: str
        at: datetime

    @event(PitchAssigned)
    def _pitch_assigned(
        self, *, case_id: UUID, pitch: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        del self._offers[pitch]
        self._assigned[pitch] = case_id
        self._pitch_of[case_id] = pitch

    def assign_on_remedy(
        self, *, case_id: UUID, actor: Actor, at: datetime, pitch: str | None = None
    ) -> str:
        """Give a refused application a free pitch because its objection was granted
        (Abhilfe, § 72 VwGO, or a Widerspruchsbescheid): the pitch named, or else the free
        pitch that fits best (as the selection prefers); returns it. Only a pitch neither
        assigned nor on offer is given, so a remedy never takes a pitch from another trader;
        with none free that fits, it is refused (``pitch``) and the town decides otherwise.
        Recorded as the pitch offered to the case and accepted in the same command
        (``PitchOffered`` because of the case itself, then ``PitchAssigned``): the reason is
        the remedy in the case.
        """
        _check_aware("at", at)
        if self.selected_at is None:
            raise InvalidCommand("market", "the selection is not made yet")
        if case_id not in self._applications or case_id in self._withdrawn:
            raise InvalidCommand("case_id", f"no application for {self.code} in the selection")
        if case_id in self._pitch_of:
            raise InvalidCommand("case_id", "the case holds a pitch already")
        if self.offer_of(case_id) is not None:
            raise InvalidCommand("case_id", "a pitch is offered to the case: it accepts it")
        if at >= self.market_begins_at:
            raise InvalidCommand("at", f"the market began on {self.first_day}")
        application = self._applications[case_id]
        free = [self.pitch(number) for number in self.free_pitches]
        if pitch is not None:
            chosen = next((p for p in free if p.number == pitch), None)
            if chosen is None or not chosen.fits(application):
                raise InvalidCommand("pitch", f"pitch {pitch} is not free or does not fit")
        else:
            chosen = best_pitch(application, free)
            if chosen is None:
                raise InvalidCommand("pitch", f"no free pitch of {self.code} fits the stall")
        self._check_fits(case_id, chosen.number)
        role = actor.role.value
        self._pitch_offered(
            case_id=case_id,
            pitch=chosen.number,
            until=at,
            because_of=case_id,
            actor_id=actor.id,
            actor_role=role,
            at=at,
        )
        self._pitch_assigned(
            case_id=case_id, pitch=chosen.number, actor_id=actor.id, actor_role=role, at=at
        )
        return chosen.number

    def decline_offer(
        self, *, case_id: UUID, actor: Actor, at: datetime, reason: str
    ) -> UUID | None:
        """Decline the pitch offered; it is offered to the next in rank it fits. Returns the
        case now offered it (None: nobody)."""
        _check_aware("at", at)
        offer = self._open_offer(case_id)
        text = PersonalData(case_id=case_id, subject=Subjects.CASE_TEXT, value=_reason(reason))
        self._offer_declined(
            case_id=case_id,
            pitch=offer.pitch,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
            reason=text,
        )
        return self._offer_next(offer.pitch, because_of=case_id, actor=actor, at=at)

    class OfferDeclined(Aggregate.Event):
        """A trader declined a pitch offered, with the reason."""

        case_id: UUID
        pitch: str
        actor_id: str
        actor_role: str
        at: datetime
        reason: PersonalValue

    @event(OfferDeclined)
    def _offer_declined(
        self,
        *,
        case_id: UUID,
        pitch: str,
        actor_id: str,
        actor_role: str,
        at: datetime,
        reason: PersonalValue,
    ) -> None:
        del self._offers[pitch]
        self._passed.add(case_id)

    def expire_offer(self, *, case_id: UUID, actor: Actor, at: datetime) -> UUID | None:
        """Let an offer run out once its time has passed; the pitch is offered to the next
        in rank it fits. Returns the case now offered it (None: nobody)."""
        _check_aware("at", at)
        offer = self._open_offer(case_id)
        if at <= offer.until:
            raise InvalidCommand("at", f"the offer is open until {_berlin(offer.until)}")
        self._offer_expired(
            case_id=case_id,
            pitch=offer.pitch,
            actor_id=actor.id,
            actor_role=actor.role.value,
            at=at,
        )
        return self._offer_next(offer.pitch, because_of=case_id, actor=actor, at=at)

    class OfferExpired(Aggregate.Event):
        """A pitch offered was not accepted in time."""

        case_id: UUID
        pitch: str
        actor_id: str
        actor_role: str
        at: datetime

    @event(OfferExpired)
    def _offer_expired(
        self, *, case_id: UUID, pitch: str, actor_id: str, actor_role: str, at: datetime
    ) -> None:
        del self._offers[pitch]
        self._passed.add(case_id)
