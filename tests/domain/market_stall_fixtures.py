"""Builders for the market stall tests: a published market, an application submitted and
recorded on it as the submission's save does, the shared aggregates the steps load."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.actor import Actor, Role
from domain.commands import Acting
from domain.markets.market import CriteriaSet, Criterion, Market, Pitch
from domain.personal_data import PersonalData, Subjects
from domain.personal_fields import personal_data_of
from domain.services.catalogue import SERVICES
from domain.services.market_stall import SERVICE_ID, MarketStallApplication
from domain.services.market_stall_steps import apply_at_submission
from domain.working_days import berlin_date

A = TypeVar("A", bound=Aggregate)
TOWN = "usingen"
MARKT = Actor("mara.markt", "Mara Markt", Role.CLERK, TOWN)  # the market office
CHEF = Actor("olaf.ordnung", "Olaf Ordnung", Role.SUPERVISOR, TOWN)
PUBLISHED = datetime(2026, 8, 20, 8, tzinfo=UTC)
OPENS = datetime(2026, 9, 1, 8, tzinfo=UTC)
DURING = datetime(2026, 9, 10, 9, tzinfo=UTC)
DEADLINE = datetime(2026, 10, 15, 22, tzinfo=UTC)  # midnight in Berlin
AFTER = datetime(2026, 10, 20, 9, tzinfo=UTC)
SELECTED = datetime(2026, 10, 25, 9, tzinfo=UTC)
DECISIONS_BY = date(2026, 11, 1)
LATE = datetime(2026, 11, 10, 9, tzinfo=UTC)  # after decisions_by, before the market
DAYS = [date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 6)]
SEED = "0123456789abcdef" * 4
SECRET = b"market secret"

CRITERIA = CriteriaSet(
    "2026-1",
    (
        Criterion("attractiveness", "Attraktivität des Standes", Decimal(3), "scored", 10),
        Criterion("attendance", "Bekannt und bewährt (Jahre)", Decimal(1), "attendance", 5),
        Criterion("need", "Bedarf der Warengruppe", Decimal(1), "category_need", 2),
    ),
)
PITCHES = (
    Pitch("A1", Decimal("3.00"), True, True, ("food", "drinks")),
    Pitch("A2", Decimal("4.00"), True, False, ("crafts", "christmas_goods")),
    Pitch("A3", Decimal("2.50"), False, False, ("crafts", "christmas_goods")),
    Pitch("B1", Decimal("8.00"), True, False, ("ride",)),
)


class Shared:
    """The shared aggregates by id (as the application's store), and keyed ids by an HMAC."""

    def __init__(self, *aggregates: Aggregate) -> None:
        self.stored: dict[UUID, Aggregate] = {a.id: a for a in aggregates}

    def keyed(
        self, aggregate_type: type[A], tenant: str, key: str, start: Callable[[UUID], A]
    ) -> A:
        raise NotImplementedError

    def identified(
        self, aggregate_type: type[A], aggregate_id: UUID, start: Callable[[UUID], A]
    ) -> A:
        found = self.stored.get(aggregate_id)
        if found is None:
            return start(aggregate_id)
        assert isinstance(found, aggregate_type)
        return found

    def referenced(self, aggregate_type: type[A], reference: str) -> A:
        raise NotImplementedError

    def key_of(self, tenant: str, kind: str, key: str) -> UUID:
        digest = hmac.new(SECRET, f"{tenant}|{kind}|{key}".encode(), hashlib.sha256).digest()
        return UUID(bytes=digest[:16])


def market(
    tenant: str = TOWN,
    *,
    pitches: Sequence[Pitch] = PITCHES,
    regime: str = "festgesetzt",
    kind: str = "christmas_market",
    categories: Sequence[str] = ("food", "drinks", "crafts", "christmas_goods", "ride"),
    newcomer_share: Decimal = Decimal("0.25"),
    criteria: CriteriaSet = CRITERIA,
    offer_days: int = 7,
) -> Market:
    """Usingen's Christmas market 2026 (three days in December), published in August."""
    actor = MARKT if tenant == TOWN else replace(MARKT, tenant=tenant)
    published = Market.publish(
        tenant=tenant,
        year=2026,
        code="WM-2026",
        name="Usinger Weihnachtsmarkt",
        kind=kind,
        regime=regime,
        days=DAYS,
        site="Marktplatz",
        pitches=list(pitches),
        categories=list(categories),
        criteria=criteria,
        newcomer_share=newcomer_share,
        applications_from=OPENS,
        deadline=DEADLINE,
        decisions_by=DECISIONS_BY,
        offer_days=offer_days,
        staff=[MARKT.id],
        actor=actor,
        at=PUBLISHED,
    )
    published.collect_events()
    return published


DOCUMENTS = {
    "trade_licence": "Reisegewerbekarte 12/2024",
    "liability_insurance": "Police 4711",
    "food_hygiene": "Belehrung § 43 IfSG 2024-03-12",
    "ride_approval": "Ausführungsgenehmigung 2019-117",
}


def form(market_id: UUID, category: str = "crafts", **more: Any) -> dict[str, Any]:
    """An application of the Holzwerkstatt Weber for a pitch (documents of the category at a
    festgesetzter Markt)."""
    kinds = {
        "food": ["liability_insurance", "food_hygiene"],
        "drinks": ["liability_insurance", "food_hygiene"],
        "ride": ["liability_insurance", "ride_approval"],
    }.get(category, ["liability_insurance"])
    data: dict[str, Any] = {
        "market": str(market_id),
        "business": {
            "name": "Holzwerkstatt Weber",
            "legal_form": "sole_trader",
            "address": "Obergasse 12, 61250 Usingen",
        },
        "contact": {"name": "Erika Weber", "phone": "06081 4711", "email": "erika@example.org"},
        "product_range": "Holzspielzeug",
        "category": category,
        "frontage_m": "2.50",
        "depth_m": "2.00",
        "documents": [{"kind": k, "reference": DOCUMENTS[k]} for k in kinds],
    }
    data.update(more)
    return data


NUMBER = iter(range(1, 100_000))


def submitted(
    data: dict[str, Any], at: datetime = DURING, number: int | None = None
) -> MarketStallApplication:
    """A stall application as the application submits it (before the step at submission)."""
    count = number if number is not None else next(NUMBER)
    if data["business"]["name"] == "Holzwerkstatt Weber":  # one trader applies once a market
        data = {**data, "business": {**data["business"], "name": f"Holzwerkstatt Weber {count}"}}
    model = SERVICES[SERVICE_ID].validate(data, berlin_date(at))
    case_id = UUID(int=count)
    applicant = Actor(f"portal:{case_id}", "Erika Weber", Role.APPLICANT, TOWN)
    case = MarketStallApplication.submit(
        case_id=case_id,
        actor=applicant,
        at=at,
        tenant=TOWN,
        service=SERVICE_ID,
        reference=f"USI-2026-{count:06d}",
        applicant={"name": PersonalData(case_id, Subjects.APPLICANT, "Erika Weber")},
        data=personal_data_of(model, case_id=case_id, subject=Subjects.APPLICANT),
        request_fingerprint="f" * 64,
    )
    assert isinstance(case, MarketStallApplication)
    return case


def applicant_of(case: MarketStallApplication) -> Actor:
    return Actor(case.submitted_by, "Erika Weber", Role.APPLICANT, TOWN)


def applied(
    shared: Shared, data: dict[str, Any], at: datetime = DURING, number: int | None = None
) -> MarketStallApplication:
    """A stall application submitted and recorded on its market (the submission's save)."""
    case = submitted(data, at, number)
    changed = apply_at_submission(case, Acting(applicant_of(case), at, shared))
    assert [a.id for a in changed] == [UUID(data["market"])]
    shared.stored[case.id] = case
    return case
