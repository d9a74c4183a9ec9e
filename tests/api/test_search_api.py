"""Case search over HTTP (GET /api/v1/cases), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import FixedClock
from tests.api.conftest import NEW_CASE, Auth

ITEM_FIELDS = {
    "case_id",
    "reference",
    "service",
    "status",
    "submitted_at",
    "applicant_name",
    "relevance",
}


def submit(
    client: TestClient, headers: dict[str, str], name: str, tenant: str = "usingen", **extra: str
) -> dict[str, Any]:
    body = {**NEW_CASE, "tenant": tenant, "applicant": {"name": name, **extra}}
    response = client.post("/api/v1/cases", json=body, headers=headers)
    assert response.status_code == 201, response.json()
    return response.json()


def search(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/cases", params=params, headers=headers)
    assert response.status_code == 200, response.json()
    return response.json()


def references(page: dict[str, Any]) -> list[str]:
    return [item["reference"] for item in page["items"]]


def test_staff_find_their_tenants_cases_by_name_address_and_reference(
    client: TestClient, auth: Auth
) -> None:
    clerk = auth("clerk")
    mueller = submit(client, clerk, "Jürgen Müller", street="Große Straße", house_number="3")
    submit(client, clerk, "Erika Weber")
    foreign = submit(client, auth("clerk", tenant="schmitten"), "Sven Müller", tenant="schmitten")
    page = search(client, clerk, q="Mueller", min_position=foreign["position"])
    assert references(page) == [mueller["reference"]]
    item = page["items"][0]
    assert set(item) == ITEM_FIELDS
    assert item["applicant_name"] == "Jürgen Müller"
    assert item["case_id"] == mueller["id"]
    assert item["status"] == "submitted"
    assert item["service"] == "general"
    assert references(search(client, clerk, q="Strasse 3")) == [mueller["reference"]]
    assert references(search(client, clerk, q=mueller["reference"])) == [mueller["reference"]]
    assert len(search(client, clerk)["items"]) == 2
    schmitten = search(client, auth("auditor", tenant="schmitten"), q="Müll")
    assert references(schmitten) == [foreign["reference"]]
    delegated = auth("clerk", tenant="neu-anspach", on_behalf_of="usingen")
    assert references(search(client, delegated, q="Müller", tenant="usingen")) == [
        mueller["reference"]
    ]
    refused = client.get("/api/v1/cases", params={"tenant": "schmitten"}, headers=clerk)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_an_applicant_finds_only_their_own_cases_even_by_another_applicants_name(
    client: TestClient, auth: Auth
) -> None:
    anna = auth("applicant", sub="portal:anna")
    own = submit(client, anna, "Anna Müller")
    other = submit(client, auth("applicant", sub="portal:otto"), "Otto Müller")
    head = client.get(f"/api/v1/cases/{other['id']}", headers=auth("clerk")).json()["position"]
    page = search(client, anna, q="Müller", min_position=head)  # staff read the log position
    assert references(page) == [own["reference"]]
    assert set(page["items"][0]) == ITEM_FIELDS  # nothing an applicant's case view hides
    assert search(client, anna, q="Otto")["items"] == []
    assert search(client, anna, reference=other["reference"])["items"] == []
    assert references(search(client, anna)) == [own["reference"]]
    assert (
        client.get("/api/v1/cases", params={"tenant": "schmitten"}, headers=anna).status_code == 403
    )
    integrator = client.get("/api/v1/cases", headers=auth("integrator"))
    assert integrator.status_code == 403


def test_erased_names_are_no_longer_found_and_show_geloescht(
    client: TestClient, auth: Auth
) -> None:
    clerk = auth("clerk")
    case = submit(client, clerk, "Fatma Yilmaz")
    assert references(search(client, clerk, q="Yilmaz", min_position=case["position"])) == [
        case["reference"]
    ]
    erased = client.post(
        f"/api/v1/admin/cases/{case['id']}/erasure",
        json={"reason": "Löschersuchen", "legal_basis": "Art. 17 DSGVO", "subjects": ["applicant"]},
        headers=auth("admin"),
    )
    assert erased.status_code == 200, erased.json()
    head = client.post(f"/api/v1/cases/{case['id']}/claim", headers=clerk).json()[
        "position"
    ]  # a later event: its position is past the erasure
    assert search(client, clerk, q="Yilmaz", min_position=head)["items"] == []
    item = search(client, clerk, reference=case["reference"])["items"][0]
    assert item["applicant_name"] == "[gelöscht]"


def test_pages_are_cursor_linked_newest_first(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    last = {}
    for i in range(5):
        last = submit(client, clerk, f"Person {i}")
        clock.advance(timedelta(minutes=1))
    first = search(client, clerk, limit=2, min_position=last["position"])
    seen = references(first)
    cursor = first["next_cursor"]
    while cursor:
        page = search(client, clerk, limit=2, cursor=cursor)
        seen += references(page)
        cursor = page["next_cursor"]
    assert seen == [f"USI-2026-00000{i}" for i in range(5, 0, -1)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-10", "to": "2026-03-01"}, "from"),
        ({"from": "gestern"}, "from"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"status": "vergessen"}, "status"),
        ({"service": "mondlandung"}, "service"),
        ({"reference": "USI 2026"}, "reference"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"q": "x" * 201}, "q"),
        ({"q": " ".join(["wort"] * 13)}, "q"),
    ],
)
def test_bad_parameters_are_problems_naming_the_field(
    client: TestClient, auth: Auth, params: dict[str, Any], field: str
) -> None:
    response = client.get("/api/v1/cases", params=params, headers=auth("clerk"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert [(e["in"], e["field"]) for e in errors] == [("query", field)]


def test_reading_one_case_still_answers_beside_the_search(client: TestClient, auth: Auth) -> None:
    clerk = auth("clerk")
    case = submit(client, clerk, "Max Mustermann")
    one = client.get(f"/api/v1/cases/{case['id']}", headers=clerk)
    assert one.status_code == 200
    assert one.json()["reference"] == case["reference"]
