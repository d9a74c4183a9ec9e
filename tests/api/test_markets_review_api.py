"""Review of the markets over HTTP (#28): what the public sees, who may run a selection, whose
offer a trader answers, and the publishing body against what the domain takes.

A plain test guards what holds; a strict xfail names a defect found.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import FixedClock
from tests.api.conftest import Auth

PROBLEM = "application/problem+json"
MARKETS = "/api/v1/markets"
CLERK = "clerk.usingen"


def market_body(clock: FixedClock, **changes: Any) -> dict[str, Any]:
    """Usingen's Kerb 2026 with two crafts pitches; applications open since yesterday."""
    now = clock.now()
    return {
        "year": 2026,
        "code": "rev-26",
        "name": "Usinger Kerb",
        "kind": "kerb",
        "regime": "festgesetzt",
        "days": ["2026-08-28", "2026-08-29"],
        "site": "Marktplatz",
        "pitches": [
            {"number": "1", "frontage_m": "3.00", "categories": ["crafts"]},
            {"number": "2", "frontage_m": "3.00", "categories": ["crafts"]},
        ],
        "categories": ["crafts"],
        "criteria": {
            "version": "2026-1",
            "criteria": [
                {
                    "key": "quality",
                    "label": "Attraktivität",
                    "weight": "3",
                    "kind": "scored",
                    "max_points": 10,
                }
            ],
        },
        "newcomer_share": "0",
        "applications_from": (now - timedelta(days=1)).isoformat(),
        "deadline": (now + timedelta(days=10)).isoformat(),
        "decisions_by": "2026-06-30",
        "offer_days": 5,
        "staff": [CLERK],
        **changes,
    }


def stall(market: str, name: str) -> dict[str, Any]:
    return {
        "market": market,
        "business": {
            "name": f"{name} Holzwaren",
            "legal_form": "sole_trader",
            "address": "Obergasse 12, 61250 Usingen",
        },
        "contact": {"name": f"{name} Muster", "phone": "06081 1", "email": "m@example.org"},
        "product_range": "Holzspielzeug",
        "category": "crafts",
        "frontage_m": "3.00",
        "depth_m": "2.00",
        "years_of_attendance": 2,
        "documents": [{"kind": "liability_insurance", "reference": "Police 4711"}],
    }


def fields(response: Any, status: int = 422) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return [e["field"] for e in response.json()["errors"]]


def publish(client: TestClient, auth: Auth, clock: FixedClock, **changes: Any) -> str:
    answer = client.post(
        MARKETS, json=market_body(clock, **changes), headers=auth("clerk", sub=CLERK)
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def apply(client: TestClient, auth: Auth, market: str, name: str) -> str:
    answer = client.post(
        "/api/v1/cases",
        json={
            "tenant": "usingen",
            "service": "market-stall",
            "applicant": {"name": f"{name} Muster", "email": "m@example.org"},
            "data": stall(market, name),
        },
        headers=auth("applicant", sub=f"portal:{name}"),
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["case_id"] if "case_id" in answer.json() else answer.json()["id"])


def selected(
    client: TestClient, auth: Auth, clock: FixedClock, scores: dict[str, int]
) -> tuple[str, dict[str, str]]:
    market = publish(client, auth, clock)
    cases = {name: apply(client, auth, market, name) for name in scores}
    clock.advance(timedelta(days=11))
    for name, points in scores.items():
        answer = client.post(
            f"/api/v1/cases/{cases[name]}/score-sheet",
            json={"points": {"quality": points}, "note": "gesehen"},
            headers=auth("clerk", sub=CLERK),
        )
        assert answer.status_code in (200, 201), answer.text
    answer = client.post(f"{MARKETS}/{market}/selection", headers=auth("clerk", sub=CLERK))
    assert answer.status_code in (200, 201), answer.text
    return market, cases


# ------------------------------------------------------------------ the public


def test_the_public_market_names_no_trader_and_no_member_of_staff(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    market, cases = selected(client, auth, clock, {"Anna": 9, "Bert": 5, "Cem": 3})
    public = client.get(f"{MARKETS}/{market}")
    assert public.status_code == 200, public.text
    text = public.text
    for secret in (CLERK, "Anna", "Holzwaren", "Muster", *cases.values()):
        assert secret not in text
    listed = client.get(MARKETS, params={"town": "usingen", "year": 2026})
    assert listed.status_code == 200
    assert CLERK not in listed.text
    assert not any(case_id in listed.text for case_id in cases.values())


@pytest.mark.parametrize("path", ["selection", "selection/replay", "applications", "pitches"])
def test_the_selection_and_the_staffs_lists_are_closed_to_the_public_and_traders(
    client: TestClient, auth: Auth, clock: FixedClock, path: str
) -> None:
    market, _cases = selected(client, auth, clock, {"Anna": 9, "Bert": 5, "Cem": 3})
    assert client.get(f"{MARKETS}/{market}/{path}").status_code == 401
    trader = client.get(f"{MARKETS}/{market}/{path}", headers=auth("applicant", sub="portal:Anna"))
    assert trader.status_code == 403
    foreign = client.get(f"{MARKETS}/{market}/{path}", headers=auth("clerk", tenant="schmitten"))
    assert foreign.status_code == 404


def test_only_the_towns_staff_select_and_only_once(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    market = publish(client, auth, clock)
    apply(client, auth, market, "Anna")
    clock.advance(timedelta(days=11))
    trader = client.post(f"{MARKETS}/{market}/selection", headers=auth("applicant", sub="p:1"))
    assert trader.status_code == 403
    foreign = client.post(
        f"{MARKETS}/{market}/selection", headers=auth("clerk", tenant="schmitten")
    )
    assert foreign.status_code == 404
    auditor = client.post(f"{MARKETS}/{market}/selection", headers=auth("auditor"))
    assert auditor.status_code == 403
    assert client.get(f"{MARKETS}/{market}").json()["selected_at"] is None


def test_a_second_selection_is_a_409(client: TestClient, auth: Auth, clock: FixedClock) -> None:
    market, _cases = selected(client, auth, clock, {"Anna": 9})
    again = client.post(f"{MARKETS}/{market}/selection", headers=auth("clerk", sub=CLERK))
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith(PROBLEM)


# ------------------------------------------------------------------ traders


def test_a_trader_answers_only_the_offer_made_on_their_own_case(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    _market, cases = selected(client, auth, clock, {"Anna": 9, "Bert": 5, "Cem": 3, "Dora": 1})
    gave_up = client.post(
        f"/api/v1/cases/{cases['Anna']}/pitch-give-up",
        json={"reason": "Krank"},
        headers=auth("applicant", sub="portal:Anna"),
    )
    assert gave_up.status_code in (200, 201), gave_up.text
    for who in ("Dora", "Anna"):
        stolen = client.post(
            f"/api/v1/cases/{cases['Cem']}/pitch-offer-acceptance",
            headers=auth("applicant", sub=f"portal:{who}"),
        )
        assert stolen.status_code in (403, 404), stolen.text
    mine = client.post(
        f"/api/v1/cases/{cases['Cem']}/pitch-offer-acceptance",
        headers=auth("applicant", sub="portal:Cem"),
    )
    assert mine.status_code in (200, 201), mine.text
    pitches = client.get(f"{MARKETS}/{_market}/pitches", headers=auth("clerk", sub=CLERK)).json()
    holders = [p["case_id"] for p in pitches if p["case_id"] is not None]
    assert sorted(holders) == sorted([cases["Bert"], cases["Cem"]])


# ------------------------------------------------------------------ publishing


def test_a_market_published_without_naming_its_staff_is_refused_naming_staff(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    body = market_body(clock)
    del body["staff"]
    assert fields(client.post(MARKETS, json=body, headers=auth("clerk", sub=CLERK))) == ["staff"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {
                "pitches": [
                    {"number": "1", "frontage_m": "3.00", "categories": ["crafts"]},
                    {"number": "1", "frontage_m": "4.00", "categories": ["crafts"]},
                ]
            },
            "pitches[1].number",
        ),
        ({"pitches": [{"number": "1", "frontage_m": "-3", "categories": ["crafts"]}]}, None),
        ({"pitches": [{"number": "1", "frontage_m": "1e9", "categories": ["crafts"]}]}, None),
        ({"newcomer_share": "0.6"}, None),
        ({"decisions_by": "2026-08-20"}, "decisions_by"),
    ],
)
def test_a_market_that_cannot_be_held_is_refused_naming_the_field(
    client: TestClient, auth: Auth, clock: FixedClock, change: dict[str, Any], field: str | None
) -> None:
    answer = client.post(MARKETS, json=market_body(clock, **change), headers=auth("clerk"))
    named = fields(answer)
    if field is not None:
        assert any(field in f for f in named), named


# ------------------------------------------------------------------ the catalogue


def test_the_catalogue_example_of_a_town_with_an_open_market_is_accepted(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    publish(client, auth, clock)
    service = client.get("/api/v1/services/market-stall")
    assert service.status_code == 200, service.text
    by_town = service.json()["examples_by_town"]
    assert "usingen" in by_town, service.json()["example_note"]
    answer = client.post(
        "/api/v1/cases",
        json={
            "tenant": "usingen",
            "service": "market-stall",
            "applicant": {"name": "Eva Beispiel", "email": "eva@example.org"},
            "data": by_town["usingen"],
        },
        headers=auth("applicant", sub="portal:beispiel"),
    )
    assert answer.status_code == 201, answer.text


def test_a_case_id_asked_for_as_a_market_is_not_found_and_shows_nothing_of_it(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    market = publish(client, auth, clock)
    case_id = apply(client, auth, market, "Anna")
    for headers in ({}, auth("clerk", sub=CLERK)):
        answer = client.get(f"{MARKETS}/{case_id}", headers=headers)
        assert answer.status_code == 404, answer.text
        assert "Anna" not in answer.text
        assert answer.headers["content-type"].startswith(PROBLEM)
    selection = client.post(f"{MARKETS}/{case_id}/selection", headers=auth("clerk", sub=CLERK))
    assert selection.status_code == 404, selection.text
