"""Inbox, audit trail and projection status over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import threading
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from application.clock import FixedClock
from projections.audit_trail import AuditTrail
from projections.case_stats import CaseStats
from projections.feed import Feed
from projections.inbox import Inbox
from projections.search import CaseSearch
from tests.api.conftest import NEW_CASE, Auth


def submit(
    client: TestClient, auth: Auth, tenant: str = "usingen", name: str = "Max"
) -> dict[str, Any]:
    body = {**NEW_CASE, "tenant": tenant, "applicant": {"name": name}}
    response = client.post("/api/v1/cases", json=body, headers=auth("clerk", tenant=tenant))
    assert response.status_code == 201, response.json()
    return response.json()


def inbox(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/inbox", params=params, headers=headers)
    assert response.status_code == 200, response.json()
    return response.json()


def test_the_inbox_shows_open_cases_of_the_own_tenant_by_due_date(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk", sub="anna")
    first = submit(client, auth, name="Erika Weber")
    second = submit(client, auth, name="Hans Albrecht")
    submit(client, auth, tenant="schmitten")
    client.post(f"/api/v1/cases/{second['id']}/confirm-complete", headers=clerk)
    claimed = client.post(f"/api/v1/cases/{second['id']}/claim", headers=clerk).json()
    page = inbox(client, clerk, min_position=claimed["position"])
    assert [i["reference"] for i in page["items"]] == [second["reference"], first["reference"]]
    top = page["items"][0]
    assert top["applicant_name"] == "Hans Albrecht"
    assert top["assignee"] == "anna"
    assert top["status"] == "in_review"
    assert top["working_days_left"] == 20
    assert not top["overdue"]
    assert page["items"][1]["due_on"] is None  # not complete yet: no period running
    assert [i["reference"] for i in inbox(client, clerk, assignee="me")["items"]] == [
        second["reference"]
    ]
    assert [i["reference"] for i in inbox(client, clerk, assignee="unassigned")["items"]] == [
        first["reference"]
    ]
    assert inbox(client, clerk, status="submitted")["items"][0]["reference"] == first["reference"]
    clock.advance(timedelta(days=60))
    overdue = inbox(client, clerk, overdue=True)["items"]
    assert [i["reference"] for i in overdue] == [second["reference"]]
    assert overdue[0]["working_days_left"] < 0
    schmitten = inbox(client, auth("clerk", tenant="schmitten"))["items"]
    assert [i["reference"] for i in schmitten] == ["SMI-2026-000001"]


def test_closed_and_withdrawn_cases_leave_the_inbox_and_erased_names_show_geloescht(
    client: TestClient, auth: Auth
) -> None:
    clerk = auth("clerk")
    gone = submit(client, auth)
    kept = submit(client, auth, name="Fatma Yilmaz")
    done = client.post(
        f"/api/v1/cases/{gone['id']}/withdraw", json={"reason": "erledigt"}, headers=clerk
    )
    erased = client.post(
        f"/api/v1/admin/cases/{kept['id']}/erasure",
        json={"reason": "Löschersuchen", "legal_basis": "Art. 17 DSGVO", "subjects": ["applicant"]},
        headers=auth("admin"),
    )
    assert erased.status_code == 200
    items = inbox(client, clerk, min_position=done.json()["position"])["items"]
    assert [i["case_id"] for i in items] == [kept["id"]]
    assert items[0]["applicant_name"] == "[gelöscht]"


def test_inbox_pages_return_every_case_exactly_once_while_cases_keep_arriving(
    client: TestClient, auth: Auth
) -> None:
    clerk = auth("clerk")
    for _ in range(12):
        submit(client, auth)
    last = submit(client, auth)
    stop = threading.Event()

    def keep_submitting() -> None:
        while not stop.is_set():
            submit(client, auth)

    writer = threading.Thread(target=keep_submitting)
    page = inbox(client, clerk, limit=4, min_position=last["position"])
    writer.start()
    seen = [i["case_id"] for i in page["items"]]
    try:
        while page["next_cursor"]:
            page = inbox(client, clerk, limit=4, cursor=page["next_cursor"])
            seen += [i["case_id"] for i in page["items"]]
    finally:
        stop.set()
        writer.join(timeout=30)
    assert len(seen) == len(set(seen))
    assert len(seen) >= 13


def test_inbox_access_and_bad_cursors(client: TestClient, auth: Auth) -> None:
    assert client.get("/api/v1/inbox", headers=auth("applicant")).status_code == 403
    assert (
        client.get(
            "/api/v1/inbox", params={"tenant": "schmitten"}, headers=auth("clerk")
        ).status_code
        == 403
    )
    delegated = auth("clerk", tenant="neu-anspach", on_behalf_of="usingen")
    assert (
        client.get("/api/v1/inbox", params={"tenant": "usingen"}, headers=delegated).status_code
        == 200
    )
    bad = client.get("/api/v1/inbox", params={"cursor": "nonsense"}, headers=auth("clerk"))
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"


def test_the_audit_trail_names_who_when_why_and_what_changed(
    client: TestClient, auth: Auth
) -> None:
    case = submit(client, auth)
    clerk = auth("clerk", sub="anna")
    client.post(f"/api/v1/cases/{case['id']}/claim", headers=clerk)
    released = client.post(
        f"/api/v1/cases/{case['id']}/release", json={"reason": "Urlaub"}, headers=clerk
    ).json()
    auditor = auth("auditor")
    response = client.get(
        "/api/v1/audit",
        params={"case_id": case["id"], "min_position": released["position"]},
        headers=auditor,
    )
    assert response.status_code == 200
    rows = response.json()["items"]
    assert [r["event_type"] for r in rows] == ["Submitted", "Claimed", "Released"]
    claimed, released_row = rows[1], rows[2]
    assert claimed["actor_id"] == "anna"
    assert claimed["actor_name"] == "Clerk Person"
    assert claimed["changes"]["assignee"] == {"old": None, "new": "anna"}
    assert released_row["reason"] == "Urlaub"
    assert released_row["changes"]["assignee"] == {"old": "anna", "new": None}
    assert rows[0]["changes"]["applicant"]["new"]["name"] == "Max"
    by_actor = client.get("/api/v1/audit", params={"actor_id": "anna"}, headers=auditor).json()
    assert {r["event_type"] for r in by_actor["items"]} == {"Claimed", "Released"}
    paged = client.get("/api/v1/audit", params={"limit": 1}, headers=auditor).json()
    assert len(paged["items"]) == 1
    assert paged["next_cursor"]
    exported = client.get(
        "/api/v1/audit", params={"format": "csv", "case_id": case["id"]}, headers=auditor
    )
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0][:3] == ["position", "case_id", "reference"]
    assert [row[5] for row in table[1:]] == ["Submitted", "Claimed", "Released"]


def test_the_audit_trail_is_for_auditors_and_supervisors_of_the_tenant(
    client: TestClient, auth: Auth
) -> None:
    submit(client, auth)
    assert client.get("/api/v1/audit", headers=auth("clerk")).status_code == 403
    assert client.get("/api/v1/audit", headers=auth("supervisor")).status_code == 200
    foreign = client.get(
        "/api/v1/audit", params={"min_position": 1}, headers=auth("auditor", tenant="schmitten")
    )
    assert foreign.json()["items"] == []
    assert (
        client.get(
            "/api/v1/audit",
            params={"tenant": "usingen"},
            headers=auth("auditor", tenant="schmitten"),
        ).status_code
        == 403
    )


def test_projection_status_and_metrics(client: TestClient, auth: Auth) -> None:
    case = submit(client, auth)
    inbox(client, auth("clerk"), min_position=case["position"])
    statuses = client.get("/api/v1/projections", headers=auth("admin")).json()
    names = {s["name"]: s for s in statuses}
    # each view under its name and the version it declares (a new version is a new view)
    inbox_view = f"{Inbox.name}_v{Inbox.version}"
    assert set(names) == {
        f"{view.name}_v{view.version}" for view in (Inbox, AuditTrail, CaseStats, Feed, CaseSearch)
    }
    assert names[inbox_view]["position"] >= case["position"]
    assert names[inbox_view]["state"] in {"idle", "catching_up"}
    assert client.get("/api/v1/projections", headers=auth("clerk")).status_code == 403
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert f'vorgang_projection_position{{projection="{inbox_view}"}}' in metrics.text


def test_statistics_per_service_of_the_own_tenant(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    decided = submit(client, auth)
    submit(client, auth)
    submit(client, auth, tenant="schmitten")
    url = f"/api/v1/cases/{decided['id']}"
    client.post(url + "/claim", headers=clerk)
    client.post(url + "/confirm-complete", headers=clerk)
    clock.advance(timedelta(days=7))  # a week later: five working days
    last = client.post(
        url + "/decide",
        json={
            "outcome": "rejected",
            "justification": "nein",
            "legal_basis": "§ 1",
        },
        headers=clerk,
    ).json()
    response = client.get(
        "/api/v1/stats", params={"min_position": last["position"]}, headers=auth("supervisor")
    )
    assert response.status_code == 200
    (general,) = response.json()
    assert general["service"] == "general"
    assert general["cases"] == 2
    assert general["by_status"] == {"decided": 1, "submitted": 1}
    assert general["processing_working_days_median"] == 5
    assert general["decided_within_period_share"] == 1.0
    assert sum(general["received_per_week"].values()) == 2
    assert sum(general["decided_per_week"].values()) == 1
    assert client.get("/api/v1/stats", headers=auth("applicant")).status_code == 403
