"""The pull feed: every published event exactly once and in order, CloudEvents, no personal data."""

from __future__ import annotations

import threading
import time
from typing import Any

from cloudevents.v1.conversion import to_structured
from cloudevents.v1.http import from_dict
from fastapi.testclient import TestClient

from tests.api.conftest import NEW_CASE, Auth

NAME = "Zelda Quandt-Feedtest"


def submit(client: TestClient, auth: Auth, tenant: str = "usingen") -> dict[str, Any]:
    body = {**NEW_CASE, "tenant": tenant, "applicant": {"name": NAME}}
    response = client.post("/api/v1/cases", json=body, headers=auth("clerk", tenant=tenant))
    assert response.status_code == 201
    return response.json()


def feed_caught_up(client: TestClient) -> None:
    """Wait until the feed projection has applied everything the log holds now."""
    projections = client.app.state.provider.get().projections
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
