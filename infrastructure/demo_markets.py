"""Demo: the towns' markets and their pitches (Standplatzvergabe, §§ 69, 70 GewO, #28).

Each town's market office published two markets, and traders applied as the portal files
every application (``market-stall`` cases, each recorded on its market in the same save):

- the **Kerb** starts in four weeks, under the town's Marktsatzung (so a trader names a
  Reisegewerbekarte): seven traders applied for four pitches, the deadline passed three
  weeks ago, the market office scored every application and selected the next day (the
  newcomers' share, the ranks, the admissions with their pitch and fee, the refusals with
  their reasons, all notified by letter long before ``decisions_by``); then an admitted
  trader gave a pitch up, it was offered to the next in rank that fits, and that trader
  accepted (the new admission notified too);
- the **Weihnachtsmarkt** is a festgesetzter Markt (§ 69 GewO) two months ahead: its
  window opened ten days ago and is open now (by the app clock), three traders applied so far.

Every step goes through the application's services (``MarketService``, the case pipeline
with the stall steps), never by writing events. The days follow today: a market's year is
the year it starts in. Running the demo again, on any day, leaves a town whose first
application exists as it is: its cases are found by their idempotency keys, nothing new is
made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, Protocol
from uuid import UUID

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from application.markets import MarketService
from domain.actor import Actor, Role
from domain.markets.market import CriteriaSet, Criterion, Market, Pitch, market_id
from domain.services.market_stall import SERVICE_ID, MarketStallApplication
from domain.services.market_stall_steps import STEPS, ScoreSheet, StallReason
from domain.working_days import BERLIN, berlin_date
from infrastructure.demo_steps import notify
from infrastructure.wiring import Vorgang

GAVE_UP_BECAUSE: Final = "Unser Verkaufswagen ist in der Werkstatt, wir können nicht kommen."


@dataclass(frozen=True)
class Trader:
    """A business applying for a pitch: its stall and the points the market office gave it."""

    business: str
    legal_form: str
    contact: str
    product_range: str
    category: str
    frontage_m: str
    years: int
    points: int  # on the scored criterion, after the deadline
    electricity: bool = False
    water: bool = False


@dataclass(frozen=True)
class DemoMarket:
    """One market, its days counted from today (the deadline at midnight in Berlin), and the
    traders applying."""

    code: str
    name: str
    kind: str
    regime: str
    site: str
    starts_in: int
    runs_days: int
    opens_in: int
    deadline_in: int
    decisions_in: int
    pitches: tuple[Pitch, ...]
    categories: tuple[str, ...]
    newcomer_share: Decimal
    traders: tuple[Trader, ...]

    def days(self, today: date) -> list[date]:
        """Its days."""
        first = today + timedelta(days=self.starts_in)
        return [first + timedelta(days=n) for n in range(self.runs_days)]

    def year(self, today: date) -> int:
        """The year it starts in: its calendar's."""
        return self.days(today)[0].year

    def opens_at(self, today: date) -> datetime:
        """When applications are taken from: eight in the morning."""
        return at(today + timedelta(days=self.opens_in), 8)

    def deadline(self, today: date) -> datetime:
        """The final deadline: the end of its day."""
        return at(today + timedelta(days=self.deadline_in + 1), 0)

    def decisions_by(self, today: date) -> date:
        """Every admission and refusal is decided by this day."""
        return today + timedelta(days=self.decisions_in)


CRITERIA: Final = CriteriaSet(
    "demo-1",
    (
        Criterion("attraktivitaet", "Attraktivität des Geschäfts", Decimal(3), "scored", 10),
        Criterion("bewaehrt", "Bekannt und bewährt (Jahre)", Decimal(1), "attendance", 5),
        Criterion("bedarf", "Bedarf der Warengruppe", Decimal(1), "category_need", 2),
    ),
)
KERB: Final = DemoMarket(
    code="KERB",
    name="Kerb",
    kind="kerb",
    regime="town_rules",
    site="Festplatz an der Stadthalle",
    starts_in=28,
    runs_days=4,
    opens_in=-75,
    deadline_in=-22,
    decisions_in=4,
    pitches=(
        Pitch("1", Decimal("4.00"), True, True, ("food", "drinks")),
        Pitch("2", Decimal("3.00"), False, False, ("crafts", "games")),
        Pitch("3", Decimal("3.00"), True, False, ("crafts", "games")),
        Pitch("4", Decimal("9.00"), True, False, ("ride",)),
    ),
    categories=("food", "drinks", "crafts", "games", "ride"),
    newcomer_share=Decimal("0.25"),
    traders=(
        Trader(
            "Metzgerei Hofmann",
            "sole_trader",
            "Karl Hofmann",
            "Bratwurst und Steaks vom Grill",
            "food",
            "3.50",
            years=9,
            points=8,
            electricity=True,
            water=True,
        ),
        Trader(
            "Getränke Schneider GmbH",
            "gmbh",
            "Petra Schneider",
            "Apfelwein, Bier und Limonaden",
            "drinks",
            "4.00",
            years=3,
            points=7,
            electricity=True,
            water=True,
        ),
        Trader(
            "Holzspielzeug Weber",
            "sole_trader",
            "Erika Weber",
            "Handgefertigtes Holzspielzeug",
            "crafts",
            "2.50",
            years=6,
            points=9,
        ),
        Trader(
            "Losbude Klein",
            "sole_trader",
            "Tim Klein",
            "Lose mit Sofortgewinnen",
            "games",
            "3.00",
            years=0,
            points=6,
            electricity=True,
        ),
        Trader(
            "Kerzenzieherei Braun",
            "gbr",
            "Sven Braun",
            "Kerzen, vor Ort gezogen",
            "crafts",
            "2.50",
            years=2,
            points=7,
        ),
        Trader(
            "Schmuck Yılmaz",  # noqa: RUF001 - a Turkish name
            "sole_trader",
            "Elif Yılmaz",  # noqa: RUF001 - a Turkish name
            "Silberschmuck aus eigener Werkstatt",
            "crafts",
            "2.50",
            years=0,
            points=5,
        ),
        Trader(
            "Schausteller Schmitt",
            "kg",
            "Jörg Schmitt",
            "Kinderkarussell",
            "ride",
            "8.00",
            years=12,
            points=9,
            electricity=True,
        ),
    ),
)
CHRISTMAS: Final = DemoMarket(
    code="WEIHNACHTSMARKT",
    name="Weihnachtsmarkt",
    kind="christmas_market",
    regime="festgesetzt",
    site="Marktplatz",
    starts_in=60,
    runs_days=3,
    opens_in=-10,
    deadline_in=20,
    decisions_in=30,
    pitches=(
        Pitch("A1", Decimal("3.00"), True, True, ("food", "drinks")),
        Pitch("A2", Decimal("3.00"), True, True, ("food", "drinks")),
        Pitch("B1", Decimal("3.00"), True, False, ("crafts", "christmas_goods")),
        Pitch("B2", Decimal("3.00"), False, False, ("crafts", "christmas_goods")),
        Pitch("B3", Decimal("2.50"), False, False, ("crafts", "christmas_goods")),
    ),
    categories=("food", "drinks", "crafts", "christmas_goods"),
    newcomer_share=Decimal("0.2"),
    traders=(
        Trader(
            "Glühweinstand Wagner",
            "sole_trader",
            "Heike Wagner",
            "Glühwein und Kinderpunsch",
            "drinks",
            "3.00",
            years=4,
            points=0,
            electricity=True,
            water=True,
        ),
        Trader(
            "Krippenwerkstatt Lorenz",
            "sole_trader",
            "Anton Lorenz",
            "Krippenfiguren aus Holz",
            "christmas_goods",
            "2.50",
            years=1,
            points=0,
        ),
        Trader(
            "Imkerei Berger",
            "sole_trader",
            "Lisa Berger",
            "Honig und Bienenwachskerzen",
            "crafts",
            "2.50",
            years=0,
            points=0,
        ),
    ),
)
MARKETS: Final = (KERB, CHRISTMAS)


class MarketTown(Protocol):
    """A town as the market demo needs it: its id and its staff."""

    @property
    def tenant(self) -> str:
        """The town's tenant id."""
        ...

    @property
    def clerk(self) -> Actor:
        """The clerk of the market office (Ordnungsamt)."""
        ...

    @property
    def supervisor(self) -> Actor:
        """The head of the office, who makes the selection."""
        ...


def at(day: date, hour: int) -> datetime:
    """An hour of a day in Berlin."""
    return datetime.combine(day, time(hour), tzinfo=BERLIN)


@dataclass(frozen=True)
class Seeding:
    """One town's seeding: where, today, and whether the town was seeded before (then
    nothing is made, the cases made before are found)."""

    vorgang: Vorgang
    town: MarketTown
    today: date
    again: bool


def seed_markets(vorgang: Vorgang, town: MarketTown, now: datetime) -> list[UUID]:
    """The town's markets and applications, made once (the first application says it was);
    the stall cases' ids, made now or before."""
    today = berlin_date(now)
    again = _exists(vorgang, _case_id(vorgang, town, KERB, 0))
    seeding = Seeding(vorgang, town, today, again)
    ids = []
    for market in MARKETS:
        ids += _market(seeding, market)
    return ids


def _exists(vorgang: Vorgang, aggregate_id: UUID) -> bool:
    return vorgang.store.recorder.select_events(aggregate_id, limit=1) != []


def _market(seeding: Seeding, market: DemoMarket) -> list[UUID]:
    """A market published a week before applications open, its traders applying an hour
    apart from the opening, then carried to where the demo wants it."""
    town, today = seeding.town, seeding.today
    if not seeding.again:
        clock = FixedClock(market.opens_at(today) - timedelta(days=7))
        MarketService(seeding.vorgang.store, clock).publish(
            town.clerk,
            year=market.year(today),
            code=market.code,
            name=market.name,
            kind=market.kind,
            regime=market.regime,
            days=market.days(today),
            site=market.site,
            pitches=market.pitches,
            categories=market.categories,
            criteria=CRITERIA,
            newcomer_share=market.newcomer_share,
            applications_from=market.opens_at(today),
            deadline=market.deadline(today),
            decisions_by=market.decisions_by(today),
            offer_days=5,
            staff=[town.clerk.id, town.supervisor.id],
        )
    ids = []
    for number in range(len(market.traders)):
        case_id = _apply(seeding, market, number)
        if case_id is not None:
            ids.append(case_id)
    if not seeding.again and market is KERB:
        _selected_then_moved_up(seeding, market, ids)
    return ids


def _selected_then_moved_up(seeding: Seeding, market: DemoMarket, cases: list[UUID]) -> None:
    """The day after the deadline the clerk scores every application; the next morning the
    head of the office selects, and every Bescheid goes out by letter. Three days later the
    best-ranked trader of crafts and games holding a pitch gives it up: the pitch is offered
    to the next in rank that fits, who accepts the day after; that admission goes out too."""
    vorgang, town, today = seeding.vorgang, seeding.town, seeding.today
    clock = FixedClock(market.deadline(today) + timedelta(hours=9))
    handler = CommandHandler(CaseService(vorgang.store, clock, vorgang.cases.identities))
    score = STEPS.named("score_application")
    for number, case_id in enumerate(cases):
        trader = market.traders[number]
        sheet = ScoreSheet(
            points={"attraktivitaet": trader.points},
            note=f"Stand gesichtet: {trader.product_range}.",
        )
        handler.handle(case_id, score(sheet), town.clerk, None)
        clock.advance(timedelta(minutes=10))
    clock.set(market.deadline(today) + timedelta(days=1, hours=9))
    the_id = market_id(town.tenant, market.year(today), market.code)
    selected: Market = MarketService(vorgang.store, clock).select(town.supervisor, the_id)
    clock.advance(timedelta(hours=2))
    for case_id in cases:  # every admission and refusal goes out by letter that day
        notify(handler, case_id, town, clock)
    giving_up = min(
        (case for case in cases if selected.pitch_of(case) in ("2", "3")),
        key=lambda case: selected.rank_of(case) or 0,
    )
    clock.advance(timedelta(days=3))
    give_up = STEPS.named("give_up_pitch")
    reason = StallReason(reason=GAVE_UP_BECAUSE)
    handler.handle(giving_up, give_up(reason), _trader(town, market, cases.index(giving_up)), None)
    offered = _stored_market(vorgang, the_id).offer_of
    following = next(case for case in cases if offered(case) is not None)
    clock.advance(timedelta(days=1))
    accept = STEPS.named("accept_pitch_offer")
    handler.handle(following, accept(), _trader(town, market, cases.index(following)), None)
    clock.advance(timedelta(hours=3))
    notify(handler, following, town, clock)  # the admission on move-up


def _stored_market(vorgang: Vorgang, the_id: UUID) -> Market:
    found: Any = vorgang.store.repository.get(the_id)
    if not isinstance(found, Market):
        raise TypeError(f"{the_id} is no market")
    return found


def _trader(town: MarketTown, market: DemoMarket, number: int) -> Actor:
    """The trader signed in to the portal."""
    trader = market.traders[number]
    account = f"portal:demo-market-{town.tenant}-{market.code.lower()}-{number}"
    return Actor(account, trader.contact, Role.APPLICANT, town.tenant)


def _key(town: MarketTown, market: DemoMarket, number: int) -> str:
    return f"demo-market-{town.tenant}-{market.code.lower()}-{number}"


def _case_id(vorgang: Vorgang, town: MarketTown, market: DemoMarket, number: int) -> UUID:
    return vorgang.cases.identities.case_id(
        aggregate_type=MarketStallApplication.__name__,
        tenant=town.tenant,
        subject=_trader(town, market, number).id,
        idempotency_key=_key(town, market, number),
    )


def _apply(seeding: Seeding, market: DemoMarket, number: int) -> UUID | None:
    """One trader's application, filed in the portal a few hours after applications opened;
    found if it exists (None: not made when the town was seeded before)."""
    vorgang, town, today = seeding.vorgang, seeding.town, seeding.today
    case_id = _case_id(vorgang, town, market, number)
    if _exists(vorgang, case_id):
        return case_id
    if seeding.again:
        return None
    trader = market.traders[number]
    clock = FixedClock(market.opens_at(today) + timedelta(hours=1 + 5 * number))
    cases = CaseService(vorgang.store, clock, vorgang.cases.identities)
    email = f"{trader.contact.lower().replace(' ', '.')}@example.org"
    result = cases.submit(
        actor=_trader(town, market, number),
        tenant=town.tenant,
        service=SERVICE_ID,
        applicant={"name": trader.contact, "email": email},
        data=_form(town, market, trader, today, email),
        idempotency_key=_key(town, market, number),
    )
    return result.case_id


def _form(
    town: MarketTown, market: DemoMarket, trader: Trader, today: date, email: str
) -> dict[str, Any]:
    """The application as the portal sends it, with the documents the market requires."""
    documents = [{"kind": "liability_insurance", "reference": "Betriebshaftpflicht 2025/118"}]
    if market.regime != "festgesetzt":
        documents.append({"kind": "trade_licence", "reference": "Reisegewerbekarte 07/2019"})
    if trader.category in ("food", "drinks"):
        documents.append({"kind": "food_hygiene", "reference": "Belehrung § 43 IfSG 2023-04-03"})
    if trader.category == "ride":
        documents.append({"kind": "ride_approval", "reference": "Ausführungsgenehmigung 2018-44"})
    return {
        "market": str(market_id(town.tenant, market.year(today), market.code)),
        "business": {
            "name": trader.business,
            "legal_form": trader.legal_form,
            "address": f"Hauptstraße {3 + len(trader.business)}, 61250 Usingen",
        },
        "contact": {"name": trader.contact, "phone": "06081 98765", "email": email},
        "product_range": trader.product_range,
        "category": trader.category,
        "frontage_m": trader.frontage_m,
        "depth_m": "2.50",
        "electricity": trader.electricity,
        "connected_load_kw": "3.5" if trader.electricity else None,
        "water": trader.water,
        "years_of_attendance": trader.years,
        "documents": documents,
    }


def market_ids(town: MarketTown, now: datetime) -> dict[str, UUID]:
    """The demo's markets of a town as seeded on ``now``'s day: code → id."""
    today = berlin_date(now)
    return {m.code: market_id(town.tenant, m.year(today), m.code) for m in MARKETS}


def market_of(vorgang: Vorgang, town: MarketTown, code: str, now: datetime) -> Market:
    """A demo market as stored."""
    return _stored_market(vorgang, market_ids(town, now)[code])
