"""An applicant's view has a version of its own: internal work does not move their ETag."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import NEW_CASE, Auth

APPLICANT = {"sub": "portal:9"}


def internal_work(client: TestClient, auth: Auth, url: str) -> None:
    """A note, an assignment and a claim: none of the applicant's business."""
    clerk = auth("clerk", sub="anna.schmidt")
    supervisor = auth("supervisor", sub="chefin")
    assert client.post(url + "/notes", json={"text": "intern"}, headers=clerk).status_code == 200
    assigned = client.post(
        url + "/assign",
        json={"assignee": {"id": "chefin", "name": "Chefin"}, "reason": "Vertretung"},
        headers=supervisor,
    )
    assert assigned.status_code == 200, assigned.json()
    released = client.post(url + "/release", headers=supervisor)
    assert released.status_code == 200, released.json()
    assert client.post(url + "/claim", headers=clerk).status_code == 200


def read(client: TestClient, auth: Auth, url: str) -> Any:
    return client.get(url, headers=auth("applicant", **APPLICANT))


def test_internal_notes_and_assignments_do_not_change_the_applicants_etag(
    client: TestClient, auth: Auth
) -> None:
    submitted = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("applicant", **APPLICANT))
    assert submitted.json()["position"] is None  # the log position is not the applicant's
    url = f"/api/v1/cases/{submitted.json()['id']}"
    before = read(client, auth, url)
    internal_work(client, auth, url)
    after = read(client, auth, url)
    assert after.headers["ETag"] == before.headers["ETag"] == '"1"'
    seen = after.json()
    assert seen["version"] == 1
    assert seen["last_activity_at"] == seen["submitted_at"] == before.json()["last_activity_at"]
    assert seen["position"] is None
    staff = client.get(url, headers=auth("clerk"))
    assert staff.headers["ETag"] == '"5"'  # staff see the case's own version
    assert staff.json()["position"] is not None


def test_an_applicant_command_is_checked_against_their_view_version(
    client: TestClient, auth: Auth
) -> None:
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("applicant", **APPLICANT))
    url = f"/api/v1/cases/{case.json()['id']}"
    clerk = auth("clerk", sub="anna.schmidt")
    client.post(url + "/claim", headers=clerk)
    client.post(url + "/confirm-complete", headers=clerk)
    asked = client.post(
        url + "/request-information",
        json={"questions": ["Lageplan?"], "reply_by": "2026-03-20"},
        headers=clerk,
    )
    assert asked.status_code == 200
    seen = read(client, auth, url)
    assert seen.headers["ETag"] == '"3"'  # submitted, complete, asked
    assert client.post(url + "/notes", json={"text": "intern"}, headers=clerk).status_code == 200
    answer = {"answer": "anbei"}
    applicant = auth("applicant", **APPLICANT)
    stale = client.post(
        url + "/provide-information", json=answer, headers={**applicant, "If-Match": '"2"'}
    )
    assert stale.status_code == 412
    assert stale.headers["ETag"] == '"3"'
    assert stale.json()["current_version"] == 3
    current = client.post(
        url + "/provide-information", json=answer, headers={**applicant, "If-Match": '"3"'}
    )
    assert current.status_code == 200, current.json()  # although the case itself is at 5
    assert current.headers["ETag"] == '"4"'
    assert current.json()["position"] is None
    history = client.get(url + "/history", headers=applicant).json()
    assert [h["version"] for h in history] == [1, 2, 3, 4]


def test_an_applicant_reads_their_view_as_of_its_versions(client: TestClient, auth: Auth) -> None:
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("applicant", **APPLICANT))
    url = f"/api/v1/cases/{case.json()['id']}"
    clerk = auth("clerk", sub="anna.schmidt")
    client.post(url + "/claim", headers=clerk)
    client.post(url + "/notes", json={"text": "intern"}, headers=clerk)
    client.post(url + "/confirm-complete", headers=clerk)
    applicant = auth("applicant", **APPLICANT)
    first = client.get(url, params={"version": 1}, headers=applicant)
    assert (first.status_code, first.json()["status"]) == (200, "submitted")
    second = client.get(url, params={"version": 2}, headers=applicant)
    assert second.status_code == 200
    assert second.headers["ETag"] == '"2"'
    assert second.json()["status"] == "in_review"
    assert client.get(url, params={"version": 3}, headers=applicant).status_code == 404
