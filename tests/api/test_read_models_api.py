"""Inbox, audit trail and projection status over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.services import road_opening
from domain.working_days import berlin_date
from projections.appointment_due import AppointmentDue
from projections.appointment_stats import AppointmentStats
from projections.audit_trail import AuditTrail
from projections.call_board import CallBoard
from projections.case_stats import CaseStats
from projections.due_timers import DueTimers
from projections.feed import Feed
from projections.holiday_offerings import HolidayOfferings
from projections.inbox import Inbox
from projections.integrity_chain import IntegrityChain
from projections.markets import Markets
from projections.open_dispatches import OpenDispatches
from projections.receivables import Receivables
from projections.search import CaseSearch
from projections.water_meters import WaterMeters
from tests.api.conftest import NEW_CASE, Auth


def submit(
    client: TestClient, auth: Auth, tenant: str = "usingen", name: str = "Max"
) -> dict[str, Any]:
    body = {**NEW_CASE, "tenant": tenant, "applicant": {"name": name}}
    response = client.post("/api/v1/cases", json=body, headers=auth("clerk", tenant=tenant))
    assert response.status_code == 201, response.json()
    case: dict[str, Any] = response.json()
    return case


def inbox(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/inbox", params=params, headers=headers)
    assert response.status_code == 200, response.json()
    page: dict[str, Any] = response.json()
    return page


def post(client: TestClient, auth: Auth, url: str, path: str, body: Any = None) -> dict[str, Any]:
    """A step a clerk of Usingen takes that succeeds: the case after it."""
    response = client.post(url + path, json=body, headers=auth("clerk"))
    assert response.status_code == 200, (path, response.json())
    answer: dict[str, Any] = response.json()
    return answer


def objection_while_the_works_run(
    client: TestClient, auth: Auth, clock: FixedClock
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A road opening permitted and notified, its works started, then an objection lodged
    (the objection is beside the main track): the case's URL, after notifying, after lodging."""
    data = road_opening.example(berlin_date(clock.now()))
    created = client.post(
        "/api/v1/cases",
        json={**NEW_CASE, "service": "road-opening", "data": data},
        headers=auth("applicant", sub="portal:works"),
    )
    assert created.status_code == 201, created.json()
    url: str = created.headers["Location"]
    post(client, auth, url, "/claim")
    post(client, auth, url, "/confirm-complete")
    permit = {
        "outcome": "approved",
        "justification": "Die Aufgrabung ist zur Versorgung des Grundstücks erforderlich.",
        "legal_basis": "§§ 16, 18 HStrG",
        "discretion": "Die Arbeiten beeinträchtigen den Gemeingebrauch nur für wenige Tage.",
    }
    post(client, auth, url, "/decide", permit)
    notified = post(client, auth, url, "/notify", {"delivery": "counter"})
    start = date.fromisoformat(data["planned_period"]["start"])
    clock.set(datetime(start.year, start.month, start.day, 9, 0, tzinfo=UTC))
    post(client, auth, url, "/works-started", {"started_on": start.isoformat()})
    grounds = {"grounds": "Die Arbeiten versperren meine Einfahrt.", "received_on": str(start)}
    lodged = post(client, auth, url, "/objections", grounds)
    assert lodged["status"] == "works_started"
    return url, notified, lodged


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


def test_an_objection_lodged_while_the_works_run_is_listed_with_the_open_objections(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    other = submit(client, auth)
    url, notified, lodged = objection_while_the_works_run(client, auth, clock)
    page = inbox(client, clerk, objection_open=True, min_position=lodged["position"])
    [item] = page["items"]  # whatever its status: the works run, the objection is open
    assert item["case_id"] == lodged["id"]
    assert item["status"] == "works_started"
    assert item["objection_open"] is True
    assert item["objection_state"] == "pending"
    assert item["objection_deadline"] == notified["objection_deadline"]
    assert item["decided_on"] == notified["processing"]["decided_on"]
    every = {i["case_id"]: i for i in inbox(client, clerk)["items"]}
    assert (every[other["id"]]["objection_open"], every[other["id"]]["objection_state"]) == (
        False,
        None,
    )
    assert every[other["id"]]["objection_deadline"] is None  # not notified
    withdrawn = post(client, auth, url, "/objections/withdraw", {"reason": "Einfahrt frei."})
    page = inbox(client, clerk, objection_open=True, min_position=withdrawn["position"])
    assert page["items"] == []
    after = {i["case_id"]: i for i in inbox(client, clerk)["items"]}[lodged["id"]]
    assert (after["objection_open"], after["objection_state"]) == (False, "withdrawn")


def test_a_decided_case_past_its_due_date_is_not_overdue(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    late, waiting = submit(client, auth), submit(client, auth)
    for case in (late, waiting):
        post(client, auth, f"/api/v1/cases/{case['id']}", "/claim")
        post(client, auth, f"/api/v1/cases/{case['id']}", "/confirm-complete")
    clock.advance(timedelta(days=60))  # both past their due date
    rejection = {"outcome": "rejected", "justification": "nein", "legal_basis": "§ 1"}
    decided = post(client, auth, f"/api/v1/cases/{late['id']}", "/decide", rejection)
    items = {
        i["case_id"]: i for i in inbox(client, clerk, min_position=decided["position"])["items"]
    }
    today = berlin_date(clock.now())
    stopped = items[late["id"]]
    assert stopped["decided_on"] == today.isoformat() == decided["processing"]["decided_on"]
    assert date.fromisoformat(stopped["due_on"]) < today  # kept for display
    assert (stopped["overdue"], stopped["working_days_left"]) == (False, None)
    assert stopped["overdue"] is decided["processing"]["overdue"]  # as the case says
    running = items[waiting["id"]]
    assert (running["overdue"], running["decided_on"]) == (True, None)
    assert running["working_days_left"] < 0
    overdue = inbox(client, clerk, overdue=True)["items"]
    assert [i["case_id"] for i in overdue] == [waiting["id"]]


def test_a_period_paused_for_the_applicant_is_not_overdue_in_the_inbox_or_the_case(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    paused, running = submit(client, auth), submit(client, auth)
    for case in (paused, running):
        post(client, auth, f"/api/v1/cases/{case['id']}", "/claim")
        post(client, auth, f"/api/v1/cases/{case['id']}", "/confirm-complete")
    url = f"/api/v1/cases/{paused['id']}"
    questions = {"questions": ["Bitte den Lageplan nachreichen."], "reply_by": "2026-06-30"}
    asked = post(client, auth, url, "/request-information", questions)
    due = asked["processing"]["due_on"]
    clock.advance(timedelta(days=60))  # both past the due date recorded so far
    today = berlin_date(clock.now()).isoformat()
    assert due < today

    case = client.get(url, headers=clerk).json()
    assert case["processing"]["stopped_since"] is not None
    assert case["processing"]["overdue"] is False  # its due date moves on by the days waited
    items = {i["case_id"]: i for i in inbox(client, clerk, min_position=asked["position"])["items"]}
    waiting = items[paused["id"]]
    assert (waiting["waiting_for_applicant"], waiting["overdue"]) == (True, False)
    assert waiting["due_on"] == due  # kept for display
    assert items[running["id"]]["overdue"] is True
    assert [i["case_id"] for i in inbox(client, clerk, overdue=True)["items"]] == [running["id"]]
    # Paused, the period has not ended: the extension is still possible.
    extended = post(client, auth, url, "/extend-period", {"working_days": 5, "reason": "Gutachten"})
    assert extended["processing"]["extended"] is True


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


def test_every_audit_row_carries_its_label_in_german_and_english(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    _, _, lodged = objection_while_the_works_run(client, auth, clock)
    response = client.get(
        "/api/v1/audit",
        params={"case_id": lodged["id"], "min_position": lodged["position"]},
        headers=auth("auditor"),
    )
    assert response.status_code == 200, response.json()
    labels = {r["event_type"]: r["label"] for r in response.json()["items"]}
    assert labels["Submitted"] == {"de": "Antrag eingegangen", "en": "Application submitted"}
    assert labels["Notified"] == {"de": "Bescheid bekannt gegeben", "en": "Decision notified"}
    assert labels["WorksStarted"] == {"de": "Arbeiten begonnen", "en": "Works started"}  # own
    assert labels["ObjectionLodged"] == {"de": "Widerspruch eingegangen", "en": "Objection lodged"}
    assert all(labels.values())


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
        f"{view.name}_v{view.version}"
        for view in (
            Inbox,
            AuditTrail,
            CaseStats,
            Feed,
            CaseSearch,
            DueTimers,
            OpenDispatches,
            AppointmentStats,
            AppointmentDue,
            CallBoard,
            Receivables,
            WaterMeters,
            HolidayOfferings,
            Markets,
            IntegrityChain,  # the hash chain over the log (decision 35)
        )
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
