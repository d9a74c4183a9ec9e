"""The pull feed: every published event exactly once and in order, CloudEvents, no personal data."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from typing import Any, cast

from cloudevents.v1.conversion import to_structured
from cloudevents.v1.http import from_dict
from fastapi import FastAPI
from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.services import traffic_sign_order
from tests.api.conftest import NEW_CASE, Auth

NAME = "Zelda Quandt-Feedtest"


def submit(client: TestClient, auth: Auth, tenant: str = "usingen") -> dict[str, Any]:
    body = {**NEW_CASE, "tenant": tenant, "applicant": {"name": NAME}}
    response = client.post("/api/v1/cases", json=body, headers=auth("clerk", tenant=tenant))
    assert response.status_code == 201
    case: dict[str, Any] = response.json()
    return case


def feed_caught_up(client: TestClient) -> None:
    """Wait until the feed projection has applied everything the log holds now."""
    app = cast(FastAPI, client.app)
    projections = app.state.provider.get().projections
    deadline = time.monotonic() + 60  # a hang guard only: the verdict is the observed state
    while True:
        feed = next(s for s in projections.statuses() if s.name.startswith("feed"))
        if feed.position >= feed.head:
            return
        assert time.monotonic() < deadline, f"the feed did not reach the head: {feed}"
        time.sleep(0.05)


def read_all(
    client: TestClient, headers: dict[str, str], after: str = "0", **params: Any
) -> list[dict[str, Any]]:
    # Every event written so far is in the feed before paging, so an empty page is the end.
    feed_caught_up(client)
    events: list[dict[str, Any]] = []
    while True:
        response = client.get(
            "/api/v1/feed",
            params={"after": after, "limit": 4, "wait": 0, **params},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/cloudevents-batch+json"
        page = response.json()
        if not page:
            return events
        events += page
        after = response.headers["Vorgang-Next-After"]


def test_every_published_event_once_in_order_while_writers_run(
    client: TestClient, auth: Auth
) -> None:
    integrator = auth("integrator", sub="svc-portal")
    clerk = auth("clerk")
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        while not stop.is_set():
            case = submit(client, auth)
            client.post(
                f"/api/v1/cases/{case['id']}/claim", headers=clerk
            )  # internal: not published
            client.post(f"/api/v1/cases/{case['id']}/confirm-complete", headers=clerk)
            written.append(case["id"])

    writer = threading.Thread(target=write)
    writer.start()
    seen: list[dict[str, Any]] = []
    after = "0"
    try:
        while len(written) < 8:  # page while the writer keeps adding events
            response = client.get(
                "/api/v1/feed", params={"after": after, "limit": 3, "wait": 0.2}, headers=integrator
            )
            seen += response.json()
            after = response.headers["Vorgang-Next-After"]
    finally:
        stop.set()
        writer.join(timeout=30)
    seen += read_all(client, integrator, after=after)
    sequences = [e["sequence"] for e in seen]
    assert sequences == sorted(sequences)
    assert len({e["id"] for e in seen}) == len(seen)
    kinds: dict[str, list[str]] = {}
    for event in seen:
        kinds.setdefault(event["subject"], []).append(event["type"])
    for case_id in written:
        assert kinds[case_id] == [
            "de.vorgang.case.submitted.v1",
            "de.vorgang.case.completeness_confirmed.v1",
        ]


def test_events_are_valid_cloudevents_without_personal_data(client: TestClient, auth: Auth) -> None:
    submit(client, auth)
    events = read_all(client, auth("integrator"))
    assert events
    for event in events:
        parsed = from_dict(event)
        _headers, body = to_structured(parsed)
        assert body
        assert parsed["specversion"] == "1.0"
        assert parsed["source"] == "/tenants/usingen"
        assert len(event["sequence"]) == 20
        assert event["time"] == "2026-03-02T08:00:00+00:00"  # business time, from the clock
        assert event["data"]["links"]["case"] == f"/api/v1/cases/{event['subject']}"
        assert NAME not in str(event)


def test_tenants_types_and_bad_cursors(client: TestClient, auth: Auth) -> None:
    usingen = submit(client, auth)
    submit(client, auth, tenant="schmitten")
    schmitten_events = read_all(client, auth("integrator", tenant="schmitten"))
    assert {e["source"] for e in schmitten_events} == {"/tenants/schmitten"}
    assert usingen["id"] not in {e["subject"] for e in schmitten_events}
    typed = read_all(client, auth("integrator"), type="de.vorgang.case.submitted.v1")
    assert {e["type"] for e in typed} == {"de.vorgang.case.submitted.v1"}
    bad = client.get("/api/v1/feed", params={"after": "x1"}, headers=auth("integrator"))
    assert bad.status_code == 422
    assert (
        client.get("/api/v1/feed", params={"type": "nope"}, headers=auth("integrator")).status_code
        == 422
    )
    assert client.get("/api/v1/feed", headers=auth("clerk")).status_code == 403
    forbidden = client.get(
        "/api/v1/feed", params={"tenant": "usingen"}, headers=auth("integrator", tenant="schmitten")
    )
    assert forbidden.status_code == 403


def test_a_full_page_is_immutable_and_cacheable(client: TestClient, auth: Auth) -> None:
    for _ in range(3):
        submit(client, auth)
    integrator = auth("integrator")
    read_all(client, integrator)  # wait until the feed caught up
    first = client.get("/api/v1/feed", params={"limit": 2}, headers=integrator)
    assert first.headers["Cache-Control"].endswith("immutable")
    again = client.get("/api/v1/feed", params={"limit": 2}, headers=integrator)
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.json() == first.json()
    assert 'rel="next"' in first.headers["Link"]


def test_long_poll_returns_as_soon_as_something_new_arrives(client: TestClient, auth: Auth) -> None:
    integrator = auth("integrator")
    submit(client, auth)
    head = read_all(client, integrator)[-1]["sequence"]
    result: dict[str, Any] = {}

    def poll() -> None:
        response = client.get(
            "/api/v1/feed", params={"after": head, "wait": 30}, headers=integrator
        )
        result["events"] = response.json()

    poller = threading.Thread(target=poll)
    poller.start()
    broadcaster = client.app.state.feed_broadcaster  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30  # a hang guard only
    while broadcaster.listening == 0:  # the poll is waiting before anything new arrives
        assert time.monotonic() < deadline, "the long poll never started waiting"
        time.sleep(0.01)
    case = submit(client, auth)
    poller.join(timeout=60)
    assert not poller.is_alive(), "the long poll did not return"
    # A poll whose wait ran out answers an empty page: the event means it woke on it.
    assert [e["subject"] for e in result["events"]] == [case["id"]]


def test_every_published_event_validates_against_its_documented_schema(
    client: TestClient, auth: Auth
) -> None:
    import jsonschema

    types = {t["type"]: t for t in client.get("/api/v1/feed/types").json()}
    assert "de.vorgang.case.decided.v1" in types
    case = submit(client, auth)
    clerk = auth("clerk")
    url = f"/api/v1/cases/{case['id']}"
    client.post(url + "/claim", headers=clerk)
    client.post(url + "/confirm-complete", headers=clerk)
    decided = client.post(
        url + "/decide",
        json={
            "outcome": "rejected",
            "justification": "j",
            "legal_basis": "l",
        },
        headers=clerk,
    )
    assert decided.status_code == 200
    events = read_all(client, auth("integrator"))
    assert "de.vorgang.case.decided.v1" in {e["type"] for e in events}
    for event in events:
        jsonschema.validate(event["data"], types[event["type"]]["dataschema"])


def test_the_openapi_document_describes_the_batch_and_its_events(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    batch = spec["paths"]["/api/v1/feed"]["get"]["responses"]["200"]["content"]
    items = batch["application/cloudevents-batch+json"]["schema"]["items"]
    assert items["$ref"] == "#/components/schemas/CaseCloudEvent"
    event = spec["components"]["schemas"]["CaseCloudEvent"]
    assert {"id", "source", "type", "subject", "sequence", "data"} <= set(event["required"])
    assert (
        "text/event-stream"
        in spec["paths"]["/api/v1/feed/stream"]["get"]["responses"]["200"]["content"]
    )


LEGAL_TRACK = {
    "notified": {"delivery", "notified_on", "objection_deadline"},
    "remedy_notice_defective": {"objection_deadline"},
    "objection_lodged": {"received_on", "timely"},
    "objection_remedied": {"objection_outcome", "new_decision"},
    "objection_forwarded": {"authority"},
    "objection_decided": {
        "objection_outcome",
        "authority",
        "served_on",
        "action_deadline",
        "new_decision",
    },
    "final": {"final_on"},
}


def test_the_legal_tracks_events_carry_only_fields_their_type_documents(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    import jsonschema

    types = {t["type"]: t["dataschema"] for t in client.get("/api/v1/feed/types").json()}
    for name, fields in LEGAL_TRACK.items():
        documented = types[f"de.vorgang.case.{name}.v1"]["properties"]
        assert fields <= set(documented), name
        assert all(documented[field]["description"] for field in fields), name

    def post(url: str, path: str, body: Any = None) -> None:
        response = client.post(url + path, json=body, headers=auth("clerk"))
        assert response.status_code == 200, (path, response.json())

    def rejected_and_notified(delivery: str) -> str:
        url = f"/api/v1/cases/{submit(client, auth)['id']}"
        post(url, "/claim")
        post(url, "/confirm-complete")
        post(url, "/decide", {"outcome": "rejected", "justification": "j", "legal_basis": "§ 1"})
        post(url, "/notify", {"delivery": delivery})
        return url

    defective = rejected_and_notified("letter")
    post(defective, "/remedy-notice-defect", {"reason": "Die Anschrift fehlte."})
    objected = rejected_and_notified("counter")  # on Monday 2 March 2026
    post(objected, "/objections", {"grounds": "Die Lage ist geeignet."})
    partly = {"reason": "Teilweise.", "extent": "partial", "new_decision": False}
    post(objected, "/objections/remedy", {**partly, "operative_part": "Nr. 2 entfällt."})
    post(objected, "/objections/hearing", {"held_on": "2026-03-02"})  # self-government
    bescheid = {
        "outcome": "dismissed",
        "reasons": "Unbegründet.",
        "costs_borne_by": "objector",
        "served_on": "2026-03-02",
    }
    post(objected, "/objections/decision", bescheid)
    # Only a road traffic matter goes to the supervising authority (the Landrat).
    order = client.post(
        "/api/v1/cases",
        json={
            **NEW_CASE,
            "service": "traffic-sign-order",
            "applicant": {"name": NAME},
            "data": traffic_sign_order.example(date(2026, 3, 2)),
        },
        headers=auth("clerk"),
    )
    assert order.status_code == 201, order.json()
    forwarded = f"/api/v1/cases/{order.json()['id']}"
    post(forwarded, "/claim")
    post(forwarded, "/confirm-complete")
    refusal = {"outcome": "rejected", "justification": "j", "legal_basis": "§ 45 StVO"}
    post(forwarded, "/decide", {**refusal, "discretion": "Die Ladezone genügt."})
    post(forwarded, "/notify", {"delivery": "counter"})
    post(forwarded, "/objections", {"grounds": "Die Ladezone ist zugeparkt."})
    post(forwarded, "/objections/forward", {"reason": "Keine Abhilfe."})
    clock.set(datetime(2026, 4, 3, 8, 0, tzinfo=UTC))  # the action deadline has passed
    post(objected, "/mark-final")

    events = read_all(client, auth("integrator"))
    data = {e["type"].split(".")[-2]: e["data"] for e in events}  # the last of each type
    assert set(LEGAL_TRACK) <= set(data)
    for event in events:  # every field published is one its type documents, as documented
        schema = {**types[event["type"]], "additionalProperties": False}
        jsonschema.validate(event["data"], schema, format_checker=jsonschema.FormatChecker())
    decided = data["objection_decided"]
    assert (decided["objection_outcome"], decided["new_decision"]) == ("dismissed", False)
    assert (decided["served_on"], decided["action_deadline"]) == ("2026-03-02", "2026-04-02")
    assert data["objection_remedied"]["objection_outcome"] == "partly_remedied"
    lodged = data["objection_lodged"]
    assert (lodged["received_on"], lodged["timely"]) == ("2026-03-02", True)
    assert data["final"]["final_on"] == "2026-04-03"
    assert data["objection_forwarded"]["authority"].startswith("Der Landrat des Hochtaunuskreises")
    letter = next(e["data"] for e in events if e["data"].get("delivery") == "letter")
    assert letter["notified_on"] == "2026-03-06"  # posted on Monday: four days later
    # a year after it (§ 58 (2) VwGO) is a Saturday: the deadline ends on Monday
    assert data["remedy_notice_defective"]["objection_deadline"] == "2027-03-08"
