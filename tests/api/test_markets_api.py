"""A market by HTTP alone: publish the criteria, apply, deadline, score, select (admit and
refuse with reasons), pitch and fee, give up and move up; the selection replays, no pitch is
given twice, another town's staff are kept out, bad input names its field.

The lot's seed is secret and random, so the flow makes the outcome certain by the published
criteria: no two applications have the same total. Usingen's Kerb has one pitch for food and
two for crafts; a fifth of the pitches (one) goes first to newcomers in rank order.

    business  category  quality (x3/10)  years (x1/5)  total   outcome
    Ben       crafts    10               5             4.0000  admitted (pitch 2)
    Anna      food       9               5             3.7000  admitted (pitch 1)
    Cleo      crafts     8               3             3.0000  refused: newcomer_share
    Dora      crafts     2               0 (newcomer)  0.6000  admitted (pitch 3: the share)
    Emil      food       1               0 (newcomer)  0.3000  refused: category_full
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.rules.market_selection import ALGORITHM
from tests.api.conftest import Auth

PROBLEM = "application/problem+json"
MARKETS = "/api/v1/markets"
CLERK = "clerk.usingen"
PEOPLE = ("anna", "ben", "cleo", "dora", "emil")


def market_body(clock: FixedClock, **changes: Any) -> dict[str, Any]:
    """Usingen's Kerb 2026: applications open since yesterday, the deadline in two weeks."""
    now = clock.now()
    return {
        "year": 2026,
        "code": "kerb-26",
        "name": "Usinger Kerb",
        "kind": "kerb",
        "regime": "festgesetzt",
        "days": ["2026-08-28", "2026-08-29", "2026-08-30"],
        "site": "Marktplatz",
        "pitches": [
            {
                "number": "1",
                "frontage_m": "4.00",
                "electricity": True,
                "water": True,
                "categories": ["food", "drinks"],
            },
            {"number": "2", "frontage_m": "3.00", "categories": ["crafts"]},
            {"number": "3", "frontage_m": "3.00", "categories": ["crafts"]},
        ],
        "categories": ["food", "drinks", "crafts"],
        "criteria": {
            "version": "2026-1",
            "criteria": [
                {
                    "key": "quality",
                    "label": "Attraktivität des Geschäfts",
                    "weight": "3",
                    "kind": "scored",
                    "max_points": 10,
                },
                {
                    "key": "years",
                    "label": "Bekannt und bewährt",
                    "weight": "1",
                    "kind": "attendance",
                    "max_points": 5,
                },
            ],
        },
        "newcomer_share": "0.2",
        "applications_from": (now - timedelta(days=1)).isoformat(),
        "deadline": (now + timedelta(days=14)).isoformat(),
        "decisions_by": "2026-06-30",
        "offer_days": 7,
        "staff": [CLERK],
        **changes,
    }


def stall(market: str, name: str, category: str, years: int) -> dict[str, Any]:
    """A trader's application form (the documents a festgesetzter Markt asks of the category)."""
    documents = [{"kind": "liability_insurance", "reference": "Police 4711"}]
    food = category in ("food", "drinks")
    if food:
        documents.append({"kind": "food_hygiene", "reference": "Belehrung § 43 IfSG 2024"})
    return {
        "market": market,
        "business": {
            "name": f"{name.title()} GmbH",
            "legal_form": "gmbh",
            "address": "Obergasse 12, 61250 Usingen",
        },
        "contact": {"name": f"{name.title()} Muster", "phone": "06081 1", "email": "m@example.org"},
        "product_range": "Bratwurst" if food else "Holzspielzeug",
        "category": category,
        "frontage_m": "3.00" if food else "2.50",
        "depth_m": "2.00",
        "years_of_attendance": years,
        "documents": documents,
    }


def apply(
    client: TestClient, auth: Auth, who: str, data: dict[str, Any], tenant: str = "usingen"
) -> Any:
    """A trader files the application as any other: POST /api/v1/cases."""
    return client.post(
        "/api/v1/cases",
        json={
            "tenant": tenant,
            "service": "market-stall",
            "applicant": {"name": f"{who.title()} Muster", "email": "m@example.org"},
            "data": data,
        },
        headers=auth("applicant", sub=f"portal:{who}", tenant=tenant),
    )


def fields(response: Any, status: int = 422) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return [e["field"] for e in response.json()["errors"]]


def publish(client: TestClient, auth: Auth, clock: FixedClock, **changes: Any) -> dict[str, Any]:
    answer = client.post(
        MARKETS, json=market_body(clock, **changes), headers=auth("clerk", sub=CLERK)
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def step(client: TestClient, headers: dict[str, str], case: str, path: str, body: Any) -> Any:
    answer = client.post(f"/api/v1/cases/{case}/{path}", json=body, headers=headers)
    assert answer.status_code == 200, f"{path}: {answer.text}"
    return answer.json()


def by_case(rows: list[dict[str, Any]], cases: dict[str, str]) -> dict[str, dict[str, Any]]:
    names = {case: name for name, case in cases.items()}
    return {names[row["case_id"]]: row for row in rows}


def fees(case: dict[str, Any]) -> dict[str, str]:
    """The charges of a case still owed, by ledger, each under a Kassenzeichen of its own."""
    charges = [c for c in (case["payment"] or {}).get("charges", []) if not c["withdrawn"]]
    assert len({c["kassenzeichen"] for c in charges}) == len(charges)
    assert all(c["kassenzeichen"] for c in charges)
    return {c["ledger"]: c["amount"] for c in charges}


def holders(client: TestClient, auth: Auth, market: str) -> dict[str, str | None]:
    answer = client.get(f"{MARKETS}/{market}/pitches", headers=auth("clerk", sub=CLERK))
    assert answer.status_code == 200, answer.text
    return {row["number"]: row["case_id"] for row in answer.json()}


def test_a_market_goes_through_every_step_by_http_alone(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk", sub=CLERK)
    market = publish(client, auth, clock)
    mid = market["id"]
    assert (market["code"], market["window"], market["selected_at"]) == ("KERB-26", "open", None)
    public = client.get(f"{MARKETS}/{mid}")  # public: the criteria and weights are published
    assert public.status_code == 200, public.text
    assert [(c["key"], Decimal(c["weight"])) for c in public.json()["criteria"]["criteria"]] == [
        ("quality", Decimal(3)),
        ("years", Decimal(1)),
    ]
    assert "staff" not in public.json()  # nobody named
    listed = client.get(MARKETS, params={"town": "usingen", "year": 2026, "open": True})
    assert [m["id"] for m in listed.json()] == [mid]
    assert fields(client.post(MARKETS, json=market_body(clock), headers=clerk), 409) == ["code"]

    cases = {}
    for name, category, years in (
        ("anna", "food", 5),
        ("ben", "crafts", 5),
        ("cleo", "crafts", 3),
        ("dora", "crafts", 0),
        ("emil", "food", 0),
    ):
        answer = apply(client, auth, name, stall(mid, name, category, years))
        assert answer.status_code == 201, answer.text
        cases[name] = answer.json()["id"]
    # The market wants no games; a ride has no pitch: refused naming the field.
    games = apply(client, auth, "gustav", stall(mid, "gustav", "games", 0))
    assert fields(games) == ["data.category"]

    # Before the deadline: no score sheet, no selection.
    early = client.post(
        f"/api/v1/cases/{cases['ben']}/score-sheet",
        json={"points": {"quality": 10}, "note": "früh"},
        headers=clerk,
    )
    assert early.status_code == 422, early.text
    assert fields(client.post(f"{MARKETS}/{mid}/selection", headers=clerk)) == ["window"]

    # The deadline passes: a late application is refused naming the market.
    clock.advance(timedelta(days=15))
    late = apply(client, auth, "late", stall(mid, "late", "crafts", 0))
    assert fields(late) == ["data.market"]

    # Staff score each application; the overview says what is missing.
    sheets = client.get(f"{MARKETS}/{mid}/score-sheets", headers=clerk).json()
    assert {tuple(row["missing"]) for row in sheets} == {("quality",)}
    for name, points in zip(PEOPLE, (9, 10, 8, 2, 1), strict=True):
        note = {"points": {"quality": points}, "note": f"Stand von {name} gesichtet"}
        step(client, clerk, cases[name], "score-sheet", note)
    sheets = by_case(client.get(f"{MARKETS}/{mid}/score-sheets", headers=clerk).json(), cases)
    assert sheets["ben"]["points"] == {"quality": 10}
    assert (sheets["ben"]["missing"], sheets["ben"]["scored_by"]) == ([], CLERK)

    # The selection: once.
    selected = client.post(f"{MARKETS}/{mid}/selection", headers=auth("supervisor"))
    assert selected.status_code == 200, selected.text
    assert selected.json()["assigned"] == 3
    again = client.post(f"{MARKETS}/{mid}/selection", headers=clerk)
    assert again.status_code == 409, again.text
    assert again.headers["content-type"].startswith(PROBLEM)

    rows = by_case(client.get(f"{MARKETS}/{mid}/applications", headers=clerk).json(), cases)
    assert [(n, rows[n]["rank"], rows[n]["outcome"], rows[n]["pitch"]) for n in PEOPLE] == [
        ("anna", 2, "admitted", "1"),
        ("ben", 1, "admitted", "2"),  # in rank order, the lower number of two alike
        ("cleo", 3, "refused", None),
        ("dora", 4, "admitted", "3"),  # the newcomers' share
        ("emil", 5, "refused", None),
    ]
    assert Decimal(rows["ben"]["total"]) == Decimal("4")
    assert holders(client, auth, mid) == {"1": cases["anna"], "2": cases["ben"], "3": cases["dora"]}

    # The record an auditor replays: seed, criteria version and weights, every input.
    record = client.get(f"{MARKETS}/{mid}/selection", headers=auth("auditor"))
    assert record.status_code == 200, record.text
    assert (record.json()["algorithm"], len(record.json()["seed"])) == (ALGORITHM, 64)
    assert (record.json()["criteria_version"], record.json()["weights"]) == (
        "2026-1",
        {"quality": "3", "years": "1"},
    )
    replay = client.get(f"{MARKETS}/{mid}/selection/replay", headers=auth("auditor"))
    assert replay.json()["verdict"] == "same", replay.json()

    # Each case decided: admitted with its pitch and fee, or refused with reasons.
    ben = auth("applicant", sub="portal:ben")
    admitted = client.get(f"/api/v1/cases/{cases['ben']}", headers=ben).json()
    assert admitted["service_state"]["pitch"] == "2"
    assert fees(admitted) == {"market_pitch_fee": "45.00", "market_deposit": "100.00"}  # 2.5 m
    cleo_headers = auth("applicant", sub="portal:cleo")
    refused = client.get(f"/api/v1/cases/{cases['cleo']}", headers=cleo_headers).json()
    assert refused["service_state"]["standing"] == "refused"
    assert fees(refused) == {}
    refusal = refused["decision"]
    given = refusal["particulars"]
    assert (refusal["outcome"], given["reasons"]) == ("rejected", ["newcomer_share"])
    assert (given["criteria_version"], given["total"]) == ("2026-1", "3.0000")
    assert "Rang 3 von 5" in refusal["justification"]  # the share went to Dora, a newcomer
    assert refusal["legal_remedy_notice"]  # by decisions_by, in time for interim relief

    # Ben gives his pitch up: Cleo, next in rank that fits, is offered it and accepts.
    step(client, ben, cases["ben"], "pitch-give-up", {"reason": "Krank"})
    rows = by_case(client.get(f"{MARKETS}/{mid}/applications", headers=clerk).json(), cases)
    assert rows["cleo"]["offered"]["pitch"] == "2"
    assert holders(client, auth, mid)["2"] is None
    step(client, cleo_headers, cases["cleo"], "pitch-offer-acceptance", None)
    assert holders(client, auth, mid)["2"] == cases["cleo"]
    moved_up = client.get(f"/api/v1/cases/{cases['cleo']}", headers=cleo_headers).json()
    assert moved_up["service_state"]["pitch"] == "2"
    assert fees(moved_up) == {"market_pitch_fee": "45.00", "market_deposit": "100.00"}
    gave_up = client.get(f"/api/v1/cases/{cases['ben']}", headers=ben).json()
    assert fees(gave_up) == {}  # given up before decisions_by: every charge withdrawn

    # Anna gives hers up: Emil is offered it, declines; nobody else fits: the pitch stays free.
    anna = auth("applicant", sub="portal:anna")
    step(client, anna, cases["anna"], "pitch-give-up", {"reason": "Andere Veranstaltung"})
    emil = auth("applicant", sub="portal:emil")
    step(client, emil, cases["emil"], "pitch-offer-refusal", {"reason": "Zu spät"})
    assert holders(client, auth, mid) == {"1": None, "2": cases["cleo"], "3": cases["dora"]}

    # No pitch given twice, ever; the selection still replays to what was recorded.
    held = [case for case in holders(client, auth, mid).values() if case]
    assert len(held) == len(set(held))
    again_replayed = client.get(f"{MARKETS}/{mid}/selection/replay", headers=clerk)
    assert again_replayed.json()["verdict"] == "same"


def test_another_towns_staff_do_not_see_the_market_and_its_traders_cannot_apply_there(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    mid = publish(client, auth, clock)["id"]
    for role in ("clerk", "supervisor"):
        stranger = auth(role, sub=f"{role}.schmitten", tenant="schmitten")
        for method, path in (
            ("POST", "/selection"),
            ("GET", "/selection"),
            ("GET", "/selection/replay"),
            ("GET", "/applications"),
            ("GET", "/score-sheets"),
            ("GET", "/pitches"),
        ):
            answer = client.request(method, f"{MARKETS}/{mid}{path}", headers=stranger)
            assert answer.status_code == 404, f"{method} {path}: {answer.text}"
            assert answer.headers["content-type"].startswith(PROBLEM)
    auditor = auth("auditor", sub="auditor.schmitten", tenant="schmitten")
    assert client.get(f"{MARKETS}/{mid}/selection", headers=auditor).status_code == 404
    # An applicant and an auditor of the town itself are no staff: 403.
    assert client.get(f"{MARKETS}/{mid}/applications", headers=auth("applicant")).status_code == (
        403
    )
    assert client.post(f"{MARKETS}/{mid}/selection", headers=auth("auditor")).status_code == 403
    elsewhere = apply(client, auth, "s", stall(mid, "s", "crafts", 0), tenant="schmitten")
    assert fields(elsewhere) == ["data.market"]
    assert client.get(f"{MARKETS}/{mid}").json()["applications"] == 0
    own = client.post(
        MARKETS,
        json=market_body(clock),
        headers=auth("clerk", sub="clerk.schmitten", tenant="schmitten"),
    )
    assert own.status_code == 201, own.text
    assert own.json()["id"] != mid
    listed = client.get(MARKETS, params={"town": "schmitten", "year": 2026}).json()
    assert [m["id"] for m in listed] == [own.json()["id"]]


def test_bad_input_is_refused_naming_the_field(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk", sub=CLERK)
    for changes, field in (
        ({"kind": "kirmes"}, "kind"),
        ({"newcomer_share": "0.6"}, "newcomer_share"),
        ({"offer_days": 0}, "offer_days"),
        ({"pitches": []}, "pitches"),
        ({"staff": []}, "staff"),
        ({"decisions_by": "2026-08-20"}, "decisions_by"),  # too late for interim relief
        ({"deadline": clock.now().isoformat()}, "deadline"),  # the deadline passed
    ):
        answer = client.post(MARKETS, json=market_body(clock, **changes), headers=clerk)
        assert field in fields(answer), (changes, answer.json())
    crit = market_body(clock)
    crit["criteria"]["criteria"][0]["kind"] = "popularity"
    assert fields(client.post(MARKETS, json=crit, headers=clerk)) == ["criteria.criteria.0.kind"]
    assert client.get(MARKETS, params={"town": "atlantis"}).status_code == 404
    unknown = client.get(f"{MARKETS}/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith(PROBLEM)

    mid = publish(client, auth, clock)["id"]
    no_docs = stall(mid, "ida", "food", 0)
    no_docs["documents"] = no_docs["documents"][:1]
    assert fields(apply(client, auth, "ida", no_docs)) == ["data.documents"]
    too_wide = stall(mid, "jan", "crafts", 0) | {"frontage_m": "5.00"}
    assert fields(apply(client, auth, "jan", too_wide)) == ["data.frontage_m"]
    record = client.get(f"{MARKETS}/{mid}/selection", headers=clerk)
    assert fields(record) == ["market"]  # not selected yet
