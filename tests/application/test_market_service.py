"""The markets' use cases on SQLite and PostgreSQL: one code per calendar even when published
twice at once, the public lists, who keeps market records, the selection deciding every case
in its save (a withdrawn application left out), and the staff's lists of applications, score
sheets and pitches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from application.clock import FixedClock
from application.markets import MarketRecordNotFound, market_view
from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from domain.markets.calendar import MarketCalendar, MarketCodeTaken, calendar_id
from domain.markets.market import CriteriaSet, Criterion, Market, Pitch
from domain.services.market_stall import SERVICE_ID, MarketStallApplication
from domain.teams import NotYourTeam
from infrastructure.wiring import Vorgang
from tests.application.test_holiday_races import held_saves, in_threads
from tests.conftest import CLERK, FOREIGN_CLERK, SUPERVISOR
from tests.steps import take

__all__ = ["held_saves"]  # the fixture, shared with the barrier tests

CRITERIA = CriteriaSet(
    "2026-1",
    (
        Criterion("quality", "Attraktivität des Geschäfts", Decimal(3), "scored", 10),
        Criterion("years", "Bekannt und bewährt", Decimal(1), "attendance", 5),
    ),
)
DOCUMENTS = [{"kind": "liability_insurance", "reference": "Police 4711"}]


def publish(
    vorgang: Vorgang, clock: FixedClock, code: str = "KERB-26", *, pitches: int = 2, **more: Any
) -> Market:
    """Usingen's Kerb at the end of August: crafts pitches of 3 m, applications open since
    yesterday, the deadline in ten days."""
    now = clock.now()
    facts: dict[str, Any] = {
        "year": 2026,
        "code": code,
        "name": "Usinger Kerb",
        "kind": "kerb",
        "regime": "festgesetzt",
        "days": [date(2026, 8, 28), date(2026, 8, 29)],
        "site": "Marktplatz",
        "pitches": [
            Pitch(str(n), Decimal("3.00"), False, False, ("crafts",)) for n in range(1, pitches + 1)
        ],
        "categories": ["crafts"],
        "criteria": CRITERIA,
        "newcomer_share": Decimal(0),
        "applications_from": now - timedelta(days=1),
        "deadline": now + timedelta(days=10),
        "decisions_by": date(2026, 6, 30),
        "offer_days": 5,
        "staff": [CLERK.id],
    }
    facts.update(more)
    return vorgang.markets.publish(CLERK, **facts)


def trader(name: str) -> Actor:
    return Actor(f"portal:{name}", f"{name} Händler", Role.APPLICANT, "usingen")


def stall_form(market: UUID, name: str, years: int = 1) -> dict[str, Any]:
    return {
        "market": str(market),
        "business": {
            "name": f"{name} Holzwaren",
            "legal_form": "sole_trader",
            "address": "Obergasse 12, 61250 Usingen",
        },
        "contact": {"name": f"{name} Händler", "phone": "06081 4711", "email": "h@example.org"},
        "product_range": "Holzspielzeug",
        "category": "crafts",
        "frontage_m": "2.50",
        "depth_m": "2.00",
        "years_of_attendance": years,
        "documents": DOCUMENTS,
    }


def apply(vorgang: Vorgang, market: UUID, name: str, years: int = 1) -> UUID:
    """A trader's stall application, filed as every application is."""
    return vorgang.cases.submit(
        actor=trader(name),
        tenant="usingen",
        service=SERVICE_ID,
        applicant={"name": f"{name} Händler"},
        data=stall_form(market, name, years),
    ).case_id


def score(vorgang: Vorgang, case_id: UUID, points: int) -> None:
    take(
        vorgang.commands, case_id, "score_application", CLERK, points={"quality": points}, note="n"
    )


def stall(vorgang: Vorgang, case_id: UUID) -> MarketStallApplication:
    found: MarketStallApplication = vorgang.store.repository.get(case_id)
    return found


def test_one_code_published_twice_at_once_is_one_market_and_one_409(
    vorgang: Vorgang, clock: FixedClock, held_saves: Callable[[int], list[int]]
) -> None:
    lost = held_saves(2)
    results = in_threads([lambda: publish(vorgang, clock, "kerb-26")] * 2)
    assert sorted(type(r).__name__ for r in results) == ["Market", "MarketCodeTaken"]
    assert len(lost) == 1  # both had started the calendar: one save lost, decided again
    taken = next(r for r in results if isinstance(r, MarketCodeTaken))
    assert taken.field == "code"
    held_saves(0)
    publish(vorgang, clock, "wm-26", days=[date(2026, 12, 4)], kind="christmas_market")
    calendar: MarketCalendar = vorgang.store.repository.get(calendar_id("usingen", 2026))
    assert len(calendar.markets) == 2
    listed = vorgang.markets.listed("usingen", 2026)
    assert [m["code"] for m in listed] == ["KERB-26", "WM-26"]  # in the order published
    assert vorgang.markets.listed("schmitten", 2026) == []


def test_the_public_lists_say_what_is_open_and_name_nobody(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    now = clock.now()
    publish(vorgang, clock, "kerb-26")
    later = publish(
        vorgang, clock, "wm-26", applications_from=now + timedelta(days=2), kind="christmas_market"
    )
    assert [m.code for m in vorgang.markets.markets_open_in("usingen", now)] == ["KERB-26"]
    assert vorgang.markets.markets_open_in("schmitten", now) == []
    view = market_view(later, now)
    assert (view["window"], view["applications"], view["assigned"]) == ("not_yet_open", 0, 0)
    assert "staff" not in view
    assert CLERK.id not in str(view)
    clock.advance(timedelta(days=3))
    opened = vorgang.markets.markets_open_in("usingen", clock.now())
    assert [m.code for m in opened] == ["KERB-26", "WM-26"]


def test_only_the_towns_staff_serving_market_stalls_keep_its_markets(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    market = publish(vorgang, clock).id
    bauamt = replace(CLERK, teams=frozenset({"bauamt"}), serves=frozenset({"road-opening"}))
    with pytest.raises(NotYourTeam):
        vorgang.markets.applications(bauamt, market)
    with pytest.raises(NotYourTeam):
        vorgang.markets.publish(bauamt, **_facts(clock))
    ordnungsamt = replace(CLERK, teams=frozenset({"ordnungsamt"}), serves=frozenset({SERVICE_ID}))
    assert vorgang.markets.applications(ordnungsamt, market) == []
    with pytest.raises(InvalidCommand) as refused:
        vorgang.markets.applications(trader("anna"), market)
    assert refused.value.field == "actor"
    for read in ("applications", "score_sheets", "pitches", "selection_record", "select"):
        with pytest.raises(MarketRecordNotFound):
            getattr(vorgang.markets, read)(FOREIGN_CLERK, market)
    assert vorgang.markets.published(market).version == 1  # nothing happened to it


def _facts(clock: FixedClock) -> dict[str, Any]:
    now = clock.now()
    return {
        "year": 2026,
        "code": "BAU-1",
        "name": "Bauernmarkt",
        "kind": "other",
        "regime": "town_rules",
        "days": [date(2026, 9, 5)],
        "site": "Schlossplatz",
        "pitches": [Pitch("1", Decimal("3.00"), False, False, ("crafts",))],
        "categories": ["crafts"],
        "criteria": CRITERIA,
        "newcomer_share": Decimal(0),
        "applications_from": now,
        "deadline": now + timedelta(days=10),
        "decisions_by": date(2026, 7, 31),
        "offer_days": 5,
        "staff": [CLERK.id],
    }


def test_the_selection_decides_every_case_in_its_save_and_leaves_a_withdrawn_one_alone(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    market = publish(vorgang, clock).id
    cases = {name: apply(vorgang, market, name) for name in ("anna", "ben", "cleo", "dora")}
    take(vorgang.commands, cases["dora"], "withdraw_application", trader("dora"), reason="krank")
    clock.advance(timedelta(days=11))
    sheets = {row["case_id"]: row for row in vorgang.markets.score_sheets(CLERK, market)}
    assert set(sheets) == {cases["anna"], cases["ben"], cases["cleo"]}  # dora withdrew
    assert all(row["missing"] == ["quality"] for row in sheets.values())
    for name, points in (("anna", 9), ("ben", 7)):
        score(vorgang, cases[name], points)
    with pytest.raises(InvalidCommand) as missing:  # cleo has no sheet yet
        vorgang.markets.select(SUPERVISOR, market)
    assert str(cases["cleo"]) in str(missing.value)
    score(vorgang, cases["cleo"], 3)
    sheets = {row["case_id"]: row for row in vorgang.markets.score_sheets(CLERK, market)}
    assert sheets[cases["cleo"]]["points"] == {"quality": 3}
    assert (sheets[cases["cleo"]]["missing"], sheets[cases["cleo"]]["scored_by"]) == ([], CLERK.id)

    dora_before = stall(vorgang, cases["dora"]).version
    selected = vorgang.markets.select(SUPERVISOR, market)
    assert selected.selected_at == clock.now()
    assert sorted(selected.assigned) == ["1", "2"]
    rows = {row["case_id"]: row for row in vorgang.markets.applications(CLERK, market)}
    outcomes = {name: (rows[case]["rank"], rows[case]["outcome"]) for name, case in cases.items()}
    assert outcomes == {
        "anna": (1, "admitted"),
        "ben": (2, "admitted"),
        "cleo": (3, "refused"),
        "dora": (None, None),
    }
    assert rows[cases["dora"]]["withdrawn"]
    assert rows[cases["anna"]]["business"] == "anna Holzwaren"
    for name in ("anna", "ben", "cleo"):  # each case decided in the selection's save
        case = stall(vorgang, cases[name])
        assert case.decision is not None, name
        assert case.selection is not None
        assert case.selection["criteria_version"] == "2026-1"
    assert stall(vorgang, cases["dora"]).version == dora_before  # nothing noted on it
    pitches = {row["number"]: row for row in vorgang.markets.pitches(CLERK, market)}
    assert {n: row["case_id"] for n, row in pitches.items()} == {
        selected.pitch_of(cases["anna"]): cases["anna"],
        selected.pitch_of(cases["ben"]): cases["ben"],
    }
    assert all(row["offered_to"] is None for row in pitches.values())
    replayed = vorgang.markets.replay(CLERK, market)
    assert (replayed["verdict"], replayed["differences"]) == ("same", [])


def test_a_pitch_given_up_is_shown_on_offer_to_the_next_in_rank(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    market = publish(vorgang, clock, pitches=1).id
    cases = {name: apply(vorgang, market, name) for name in ("anna", "ben")}
    clock.advance(timedelta(days=11))
    score(vorgang, cases["anna"], 9)
    score(vorgang, cases["ben"], 2)
    vorgang.markets.select(CLERK, market)
    take(vorgang.commands, cases["anna"], "give_up_pitch", trader("anna"), reason="krank")
    (pitch,) = vorgang.markets.pitches(CLERK, market)
    assert pitch["case_id"] is None
    assert pitch["offered_to"]["case_id"] == cases["ben"]
    rows = {row["case_id"]: row for row in vorgang.markets.applications(CLERK, market)}
    assert rows[cases["ben"]]["offered"]["pitch"] == "1"
    assert rows[cases["anna"]]["pitch"] is None
    take(vorgang.commands, cases["ben"], "accept_pitch_offer", trader("ben"))
    (pitch,) = vorgang.markets.pitches(CLERK, market)
    assert (pitch["case_id"], pitch["offered_to"]) == (cases["ben"], None)
