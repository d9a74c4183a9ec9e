"""The case API over HTTP: every status code, idempotency, concurrency, tenant isolation."""

from __future__ import annotations

import threading
from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import NEW_CASE, Auth

PROBLEM = "application/problem+json"
DECISION = {
    "outcome": "approved_with_conditions",
    "justification": "Die Voraussetzungen liegen vor.",
    "legal_basis": "§ 16 HStrG",
    "conditions": ["Absperrung nach RSA 21"],
    "hearing_held_on": "2026-03-02",  # the clerk's own condition burdens: heard first
}


def submit(client: TestClient, auth: Auth, key: str | None = None, **changes: Any) -> Any:
    headers = auth("applicant", sub="portal:4711")
    if key:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/cases", json={**NEW_CASE, **changes}, headers=headers)


def test_submission_answers_201_with_location_etag_and_the_case(
    client: TestClient, auth: Auth
) -> None:
    response = submit(client, auth)
    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"/api/v1/cases/{body['id']}"
    assert response.headers["ETag"] == '"1"'
    assert body["reference"] == "USI-2026-000001"
    assert body["status"] == "submitted"
    assert body["version"] == 1
    assert body["position"] is None  # an applicant's view is not numbered by the log
    assert body["processing"]["due_on"] is None
    assert body["applicant"]["name"] == "Max Mustermann"


def test_a_retry_with_the_same_key_returns_the_existing_case(
    client: TestClient, auth: Auth
) -> None:
    first = submit(client, auth, key="form-42")
    again = submit(client, auth, key="form-42")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = submit(client, auth, key="form-42", data={"subject": "anders"})
    assert other.status_code == 422
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"


def test_invalid_bodies_name_the_field(client: TestClient, auth: Auth) -> None:
    response = client.post(
        "/api/v1/cases",
        json={**NEW_CASE, "applicant": {"name": "", "postal_code": "6125"}, "tenant": "mars"},
        headers=auth("applicant"),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = {(e["in"], e["field"]) for e in response.json()["errors"]}
    assert ("body", "tenant") in fields
    assert ("body", "applicant.name") in fields
    assert ("body", "applicant.postal_code") in fields
    unknown = client.post(
        "/api/v1/cases", json={**NEW_CASE, "service": "moon"}, headers=auth("applicant")
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "service"
    extra = client.post(
        "/api/v1/cases", json={**NEW_CASE, "surprise": 1}, headers=auth("applicant")
    )
    assert extra.status_code == 422


def test_without_a_valid_token_every_route_is_401(client: TestClient, auth: Auth) -> None:
    assert client.post("/api/v1/cases", json=NEW_CASE).status_code == 401
    bad = client.get(
        "/api/v1/cases/00000000-0000-4000-8000-000000000000",
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert bad.status_code == 401
    assert bad.headers["content-type"] == PROBLEM
    assert bad.headers["WWW-Authenticate"].startswith("Bearer")
    foreign = client.get("/health")
    assert foreign.status_code == 200


def test_an_applicant_may_not_decide_and_sees_only_their_own_cases(
    client: TestClient, auth: Auth
) -> None:
    case = submit(client, auth).json()
    decide = client.post(
        f"/api/v1/cases/{case['id']}/decide",
        json=DECISION,
        headers=auth("applicant", sub="portal:4711"),
    )
    assert decide.status_code == 403
    assert (
        client.get(
            f"/api/v1/cases/{case['id']}", headers=auth("applicant", sub="portal:4711")
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"/api/v1/cases/{case['id']}", headers=auth("applicant", sub="portal:9999")
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/api/v1/cases/{case['id']}/history", headers=auth("applicant", sub="portal:4711")
        ).status_code
        == 200  # their own history, filtered (see test_applicant_view)
    )


def test_a_clerk_of_another_town_gets_404_and_a_delegated_clerk_may_act(
    client: TestClient, auth: Auth
) -> None:
    case = submit(client, auth).json()
    url = f"/api/v1/cases/{case['id']}"
    assert client.get(url, headers=auth("clerk", tenant="schmitten")).status_code == 404
    assert client.post(url + "/claim", headers=auth("clerk", tenant="schmitten")).status_code == 404
    delegated = auth("clerk", tenant="neu-anspach", on_behalf_of="usingen")
    assert client.post(url + "/claim", headers=delegated).status_code == 200
    staff_submission = client.post(
        "/api/v1/cases", json=NEW_CASE, headers=auth("clerk", tenant="schmitten")
    )
    assert staff_submission.status_code == 403


def test_the_whole_lifecycle_by_http_with_history(client: TestClient, auth: Auth, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    case = submit(client, auth).json()
    url = f"/api/v1/cases/{case['id']}"
    clerk = auth("clerk")
    for path, body in [
        ("/claim", None),
        ("/confirm-complete", None),
        ("/request-information", {"questions": ["Lageplan?"], "reply_by": "2026-03-20"}),
    ]:
        response = client.post(url + path, json=body, headers=clerk)
        assert response.status_code == 200, response.json()
    answer = client.post(
        url + "/provide-information",
        json={"answer": "anbei"},
        headers=auth("applicant", sub="portal:4711"),
    )
    assert answer.status_code == 200
    assert (
        client.post(url + "/notes", json={"text": "Rückruf erledigt"}, headers=clerk).status_code
        == 200
    )
    assert (
        client.post(
            url + "/extend-period", json={"working_days": 5, "reason": "Anhörung"}, headers=clerk
        ).status_code
        == 200
    )
    decided = client.post(url + "/decide", json=DECISION, headers=clerk)
    assert decided.status_code == 200
    assert decided.json()["decision"]["conditions"] == ["Absperrung nach RSA 21"]
    notified = client.post(url + "/notify", json={"delivery": "counter"}, headers=clerk)
    assert notified.status_code == 200, notified.json()
    clock.advance(timedelta(days=40))
    assert client.post(url + "/mark-final", headers=clerk).status_code == 200
    closed = client.post(url + "/close", json={"reason": "erledigt"}, headers=clerk)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.headers["ETag"] == f'"{closed.json()["version"]}"'
    history = client.get(url + "/history", headers=clerk).json()
    assert [h["type"] for h in history][-3:] == ["Notified", "BecameFinal", "Closed"]
    assert all(h["actor"]["id"] and h["at"] and h["recorded_at"] for h in history)
    assert history[-1]["reason"] == "erledigt"


def test_an_invalid_transition_is_409_naming_state_and_allowed_commands(
    client: TestClient, auth: Auth
) -> None:
    case = submit(client, auth).json()
    response = client.post(
        f"/api/v1/cases/{case['id']}/notify", json={"delivery": "counter"}, headers=auth("clerk")
    )
    assert response.status_code == 409
    body = response.json()
    assert body["current_status"] == "submitted"
    assert "confirm_complete" in body["allowed_commands"]


def test_a_stale_if_match_is_412_and_a_malformed_one_422(client: TestClient, auth: Auth) -> None:
    case = submit(client, auth).json()
    url = f"/api/v1/cases/{case['id']}"
    ok = client.post(url + "/claim", headers=auth("clerk", **{"If-Match": '"1"'}))
    assert ok.status_code == 200
    stale = client.post(
        url + "/notes", json={"text": "x"}, headers=auth("clerk", **{"If-Match": '"1"'})
    )
    assert stale.status_code == 412
    assert stale.headers["ETag"] == '"2"'
    assert stale.json()["current_version"] == 2
    weird = client.post(
        url + "/notes", json={"text": "x"}, headers=auth("clerk", **{"If-Match": "yesterday"})
    )
    assert weird.status_code == 422
    assert weird.json()["errors"][0]["field"] == "If-Match"


def test_state_as_of_a_version_and_past_the_head(client: TestClient, auth: Auth) -> None:
    case = submit(client, auth).json()
    url = f"/api/v1/cases/{case['id']}"
    client.post(url + "/claim", headers=auth("clerk"))
    assert client.get(url + "?version=1", headers=auth("clerk")).json()["holder"] is None
    assert client.get(url + "?version=2", headers=auth("clerk")).json()["holder"] == "clerk.usingen"
    past = client.get(url + "?version=3", headers=auth("clerk"))
    assert past.status_code == 404
    assert past.headers["content-type"] == PROBLEM


def test_unknown_cases_and_routes_are_problem_404(client: TestClient, auth: Auth) -> None:
    missing = client.get(
        "/api/v1/cases/00000000-0000-4000-8000-000000000000", headers=auth("clerk")
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    assert client.get("/api/v1/nothing-here").headers["content-type"] == PROBLEM
    not_a_uuid = client.get("/api/v1/cases/42", headers=auth("clerk"))
    assert not_a_uuid.status_code == 422
    assert not_a_uuid.json()["errors"][0] == {
        "in": "path",
        "field": "case_id",
        "message": not_a_uuid.json()["errors"][0]["message"],
    }


def test_two_concurrent_conflicting_commands_exactly_one_wins(
    client: TestClient, auth: Auth
) -> None:
    case = submit(client, auth).json()
    url = f"/api/v1/cases/{case['id']}/claim"
    start = threading.Barrier(2)
    statuses: list[int] = []

    def claim(who: str) -> None:
        headers = auth("clerk", sub=who, **{"If-Match": '"1"'})
        start.wait(timeout=10)
        statuses.append(client.post(url, headers=headers).status_code)

    threads = [threading.Thread(target=claim, args=(who,)) for who in ("anna", "ben")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses)[0] == 200
    assert statuses.count(200) == 1
    assert sorted(statuses)[1] in (409, 412)


def test_request_ids_are_echoed_or_made(client: TestClient) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    assert len(client.get("/health").headers["X-Request-ID"]) == 32


def test_an_administrator_erases_personal_data_over_http(client: TestClient, auth: Auth) -> None:
    case = submit(client, auth).json()
    erase = {"reason": "Löschersuchen", "legal_basis": "Art. 17 DSGVO", "subjects": ["applicant"]}
    url = f"/api/v1/admin/cases/{case['id']}/erasure"
    assert client.post(url, json=erase, headers=auth("clerk")).status_code == 403
    assert (
        client.post(url, json=erase, headers=auth("admin", tenant="schmitten")).status_code == 404
    )
    done = client.post(url, json=erase, headers=auth("admin"))
    assert done.status_code == 200
    assert done.json()["destroyed_keys"] == 1
    after = client.get(f"/api/v1/cases/{case['id']}", headers=auth("clerk")).json()
    assert after["applicant"]["name"] == "[gelöscht]"


def test_the_openapi_document_describes_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
    assert "/api/v1/cases/{case_id}/decide" in spec["paths"]


def test_reads_carry_the_log_position_of_the_last_event(client: TestClient, auth: Auth) -> None:
    staff = {**auth("clerk"), "Idempotency-Key": "pos-1"}
    created = client.post("/api/v1/cases", json=NEW_CASE, headers=staff).json()
    url = f"/api/v1/cases/{created['id']}"
    assert client.get(url, headers=auth("clerk")).json()["position"] == created["position"]
    claimed = client.post(url + "/claim", headers=auth("clerk")).json()
    assert claimed["position"] > created["position"]
    assert client.get(url, headers=auth("clerk")).json()["position"] == claimed["position"]
    assert (
        client.get(url + "?version=1", headers=auth("clerk")).json()["position"]
        == created["position"]
    )
    retried = client.post("/api/v1/cases", json=NEW_CASE, headers=staff).json()
    assert retried["position"] == claimed["position"]
