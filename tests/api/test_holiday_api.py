"""The holiday programme by HTTP alone: publish, register, refuse, close, draw, wait, cancel,
move up, replay; health notes for the offering's staff only; another town's staff kept out.

The draw's seed is secret and random, so the flow makes its outcome certain by the published
rules instead: three places, three families of the town (residents first) with one child
each, and two families from elsewhere who wait. A cancellation of a resident's place frees
one place: the single waiting child fits and moves up, the sibling pair (one lot) does not.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from application.clock import FixedClock
from application.holiday import HolidayWatch
from application.views import WITHHELD
from domain.personal_data import ERASED_TEXT
from domain.rules.holiday_draw import ALGORITHM
from infrastructure.wiring import Vorgang
from tests.api.conftest import Auth

PROBLEM = "application/problem+json"
OFFERINGS = "/api/v1/holiday-offerings"
CARER = "carer.usingen"  # a clerk of Usingen on the offering's staff
PUBLISHER = "clerk.usingen"  # a clerk of Usingen who is not


def vorgang_of(client: TestClient) -> Vorgang:
    found: Vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]
    return found


def offering_body(clock: FixedClock, **changes: Any) -> dict[str, Any]:
    """A summer offering of Usingen whose window opened a day ago and closes in three weeks."""
    now = clock.now()
    return {
        "year": 2026,
        "code": "kanu-1",
        "activity": "Kanutour auf der Usa",
        "description": "Drei Tage auf dem Wasser.",
        "location": "Bootshaus Usingen",
        "starts_on": "2026-07-13",
        "ends_on": "2026-07-15",
        "min_age": 6,
        "max_age": 10,
        "places": 3,
        "fee": "20.00",
        "registration_opens_at": (now - timedelta(days=1)).isoformat(),
        "registration_closes_at": (now + timedelta(days=21)).isoformat(),
        "rules": {"residents_first": True, "siblings_together": True},
        "staff": [CARER],
        **changes,
    }


def child(given: str, born_on: str = "2017-05-01", **extra: Any) -> dict[str, Any]:
    return {"given_name": given, "family_name": "Muster", "born_on": born_on, **extra}


def registration(
    offering: str,
    *children: dict[str, Any],
    municipality: str = "usingen",
    consent: bool = False,
) -> dict[str, Any]:
    """A guardian's registration form of children for an offering."""
    data: dict[str, Any] = {
        "offering": offering,
        "children": list(children),
        "guardians": [{"name": "Eva Muster", "phone": "06081 1234", "email": "eva@example.org"}],
        "pickup_persons": [{"name": "Oma Muster", "relation": "Großmutter"}],
        "address": "Hauptstraße 1, 61250 Usingen",
        "municipality": municipality,
    }
    if consent:
        data["health_consent"] = {"given": True, "wording_version": "2026-01"}
    return data


def register(
    client: TestClient, auth: Auth, who: str, data: dict[str, Any], tenant: str = "usingen"
) -> Any:
    """A guardian files the registration as any application: POST /api/v1/cases."""
    return client.post(
        "/api/v1/cases",
        json={
            "tenant": tenant,
            "service": "holiday-registration",
            "applicant": {"name": "Eva Muster", "email": "eva@example.org"},
            "data": data,
        },
        headers=auth("applicant", sub=who, tenant=tenant),
    )


def fields(response: Any, status: int = 422) -> list[str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return [e["field"] for e in response.json()["errors"]]


def publish(client: TestClient, auth: Auth, clock: FixedClock, **changes: Any) -> dict[str, Any]:
    answer = client.post(
        OFFERINGS, json=offering_body(clock, **changes), headers=auth("clerk", sub=PUBLISHER)
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def registered(client: TestClient, auth: Auth, offering: str) -> list[dict[str, Any]]:
    answer = client.get(
        f"{OFFERINGS}/{offering}/registrations", headers=auth("clerk", sub=PUBLISHER)
    )
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


def test_an_offering_goes_through_every_step_by_http_alone(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    offering = publish(client, auth, clock)
    assert (offering["code"], offering["window"], offering["places"]) == ("KANU-1", "open", 3)
    oid = offering["id"]
    assert client.get(f"{OFFERINGS}/{oid}").json()["code"] == "KANU-1"  # public
    again = client.post(OFFERINGS, json=offering_body(clock), headers=auth("clerk"))
    assert fields(again, 409) == ["code"]
    listed = client.get(OFFERINGS, params={"town": "usingen", "year": 2026})
    assert [o["id"] for o in listed.json()] == [oid]
    assert "staff" not in listed.json()[0]  # no personal data in public

    # Three families of the town, one child each; two from elsewhere, one with two children.
    cases = {}
    for name, data in (
        ("anna", registration(oid, child("Anna"))),
        ("ben", registration(oid, child("Ben"))),
        (
            "cleo",
            registration(
                oid, child("Cleo", health_notes="Asthma", allergies="Nüsse"), consent=True
            ),
        ),
        ("geschwister", registration(oid, child("Dana"), child("Emil"), municipality="other")),
        ("finn", registration(oid, child("Finn"), municipality="other")),
    ):
        answer = register(client, auth, f"portal:{name}", data)
        assert answer.status_code == 201, answer.text
        cases[name] = answer.json()["id"]

    # Refusals name the field: an age outside the range, a child registered already.
    too_old = register(client, auth, "portal:old", registration(oid, child("Gil", "2010-01-01")))
    assert fields(too_old) == ["data.children[0].born_on"]
    assert "aged 16 on 2026-07-13" in too_old.json()["errors"][0]["message"]

    # Staff close the window early; a registration after that is refused naming the offering.
    early = client.post(f"{OFFERINGS}/{oid}/draw", headers=auth("clerk"))
    assert fields(early) == ["window"]  # not while the window is open
    closed = client.post(
        f"{OFFERINGS}/{oid}/window-closure", json={"reason": "Alle Plätze vergeben"}, headers=auth()
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["window"] == "closed"
    late = register(client, auth, "portal:late", registration(oid, child("Hugo")))
    assert fields(late) == ["data.offering"]
    assert "closed" in late.json()["errors"][0]["message"]

    # The draw: once. Residents first: Anna, Ben and Cleo get the three places.
    drawn = client.post(f"{OFFERINGS}/{oid}/draw", headers=auth("supervisor"))
    assert drawn.status_code == 200, drawn.text
    assert (drawn.json()["allocated"], drawn.json()["waiting"]) == (3, 3)
    second = client.post(f"{OFFERINGS}/{oid}/draw", headers=auth("clerk"))
    assert second.status_code == 409, second.text
    assert second.headers["content-type"].startswith(PROBLEM)
    rows = registered(client, auth, oid)
    status = {(r["given_name"], r["status"]) for r in rows}
    assert {("Anna", "allocated"), ("Ben", "allocated"), ("Cleo", "allocated")} <= status
    waiting = {r["given_name"]: r["waiting_position"] for r in rows if r["status"] == "waiting"}
    assert set(waiting) == {"Dana", "Emil", "Finn"}
    assert waiting["Dana"] == waiting["Emil"]  # siblings are one lot: one position
    assert {waiting["Dana"], waiting["Finn"]} == {1, 2}

    record = client.get(f"{OFFERINGS}/{oid}/draw", headers=auth("auditor"))
    assert record.status_code == 200, record.text
    assert record.json()["algorithm"] == ALGORITHM
    assert len(record.json()["seed"]) == 64
    assert len(record.json()["lots"]) == 5
    replay = client.get(f"{OFFERINGS}/{oid}/draw/replay", headers=auth("auditor"))
    assert replay.json()["verdict"] == "consistent", replay.json()

    # Ben's guardian cancels: one place is free; Finn moves up, the siblings still wait.
    ben = auth("applicant", sub="portal:ben")
    cancelled = client.post(
        f"/api/v1/cases/{cases['ben']}/registration-cancellation",
        json={"reason": "Wir sind verreist"},
        headers=ben,
    )
    assert cancelled.status_code == 200, cancelled.text
    rows = {r["given_name"]: r for r in registered(client, auth, oid)}
    assert rows["Ben"]["status"] == "cancelled"
    assert (rows["Finn"]["status"], rows["Finn"]["moved_up"]) == ("allocated", True)
    assert [(rows[n]["status"], rows[n]["waiting_position"]) for n in ("Dana", "Emil")] == [
        ("waiting", 1),
        ("waiting", 1),
    ]
    assert not rows["Anna"]["moved_up"]
    finn = client.get(
        f"/api/v1/cases/{cases['finn']}", headers=auth("applicant", sub="portal:finn")
    )
    assert finn.status_code == 200, finn.text
    assert finn.json()["status"] == "place_allocated"
    (place,) = finn.json()["service_state"]["children"]
    assert (place["outcome"], place["waiting_position_at_draw"]) == ("allocated", None)
    (fee,) = finn.json()["payment"]["charges"]  # the place's fee, charged on moving up
    assert (fee["amount"], fee["refers_to"], fee["withdrawn"]) == (
        "20.00",
        "holiday-place:0",
        False,
    )
    gone = client.get(f"/api/v1/cases/{cases['ben']}", headers=ben).json()
    assert gone["status"] == "closed"
    assert [c["withdrawn"] for c in gone["payment"]["charges"]] == [True]  # before the start
    siblings = client.get(f"/api/v1/cases/{cases['geschwister']}", headers=auth()).json()
    outcomes = [(c["outcome"], c["kassenzeichen"]) for c in siblings["service_state"]["children"]]
    assert outcomes == [("waiting", None), ("waiting", None)]
    assert siblings["payment"] is None or siblings["payment"]["charges"] == []
    history = client.get(
        f"/api/v1/cases/{cases['finn']}/history", headers=auth("applicant", sub="portal:finn")
    )
    assert "MovedUp" in [entry["type"] for entry in history.json()]
    after = client.get(f"{OFFERINGS}/{oid}", headers=auth())
    assert (after.json()["allocated"], after.json()["waiting"]) == (3, 2)

    # The recorded draw still replays to what was recorded (the move-up is no new draw).
    again_replayed = client.get(f"{OFFERINGS}/{oid}/draw/replay", headers=auth("clerk"))
    assert again_replayed.json()["verdict"] == "consistent"


def test_health_notes_are_for_the_offerings_staff_and_erased_after_it_ended(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    oid = publish(client, auth, clock)["id"]
    data = registration(oid, child("Cleo", health_notes="Asthma", allergies="Nüsse"), consent=True)
    answer = register(client, auth, "portal:cleo", data)
    assert answer.status_code == 201, answer.text
    case = answer.json()["id"]
    carer = auth("clerk", sub=CARER)
    publisher = auth("clerk", sub=PUBLISHER)

    notes = client.get(f"{OFFERINGS}/{oid}/health-notes", headers=carer)
    assert notes.status_code == 200, notes.text
    assert [(n["given_name"], n["health_notes"], n["allergies"]) for n in notes.json()] == [
        ("Cleo", "Asthma", "Nüsse")
    ]
    refused = client.get(f"{OFFERINGS}/{oid}/health-notes", headers=publisher)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith(PROBLEM)

    seen = client.get(f"/api/v1/cases/{case}", headers=carer).json()["data"]["children"][0]
    assert (seen["health_notes"], seen["allergies"], seen["given_name"]) == (
        "Asthma",
        "Nüsse",
        "Cleo",
    )
    other = client.get(f"/api/v1/cases/{case}", headers=publisher).json()["data"]["children"][0]
    assert (other["health_notes"], other["allergies"]) == (WITHHELD, WITHHELD)
    assert other["given_name"] == "Cleo"  # the rest of the case is the town's to read
    history = client.get(f"/api/v1/cases/{case}/history", headers=publisher).json()
    assert "Asthma" not in str(history)
    assert "Nüsse" not in str(history)
    assert "Asthma" in str(client.get(f"/api/v1/cases/{case}/history", headers=carer).json())

    # Staff named anew: the publisher joins, the carer leaves.
    changed = client.put(
        f"{OFFERINGS}/{oid}/staff",
        json={"staff": [PUBLISHER], "reason": "Betreuerwechsel"},
        headers=publisher,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["staff"] == [PUBLISHER]
    assert client.get(f"{OFFERINGS}/{oid}/health-notes", headers=carer).status_code == 403
    assert client.get(f"{OFFERINGS}/{oid}/health-notes", headers=publisher).status_code == 200

    # The scheduler's round draws once the window closed (23 March), nobody having drawn.
    watch = HolidayWatch(vorgang_of(client).holiday)
    assert watch.tick(date(2026, 3, 2)) == []  # the window is open: nothing to do
    clock.set(datetime(2026, 3, 24, 7, 0, tzinfo=UTC))
    assert watch.tick(date(2026, 3, 24)) == [("draw", UUID(oid))]
    assert client.get(f"{OFFERINGS}/{oid}").json()["allocated"] == 1
    assert client.get(f"{OFFERINGS}/{oid}/health-notes", headers=publisher).status_code == 200

    # After the last day (15 July) it erases them: the keys are destroyed.
    clock.set(datetime(2026, 7, 15, 20, 0, tzinfo=UTC))
    assert watch.tick(date(2026, 7, 15)) == []  # the last day: still theirs to read
    clock.set(datetime(2026, 7, 16, 7, 0, tzinfo=UTC))
    assert watch.tick(date(2026, 7, 16)) == [("erase", UUID(oid))]
    assert watch.tick(date(2026, 7, 16)) == []  # done once
    erased = client.get(f"{OFFERINGS}/{oid}/health-notes", headers=publisher).json()
    assert [(n["given_name"], n["health_notes"], n["allergies"]) for n in erased] == [
        ("Cleo", ERASED_TEXT, ERASED_TEXT)
    ]
    child_now = client.get(f"/api/v1/cases/{case}", headers=publisher).json()["data"]["children"]
    assert (child_now[0]["health_notes"], child_now[0]["given_name"]) == (ERASED_TEXT, "Cleo")
    assert client.get(f"{OFFERINGS}/{oid}").json()["health_erased_at"] is not None


def test_another_towns_staff_do_not_see_the_offering_and_cannot_register_to_it(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    oid = publish(client, auth, clock)["id"]
    for role in ("clerk", "supervisor"):
        stranger = auth(role, sub=f"{role}.schmitten", tenant="schmitten")
        for method, path, body in (
            ("GET", "/registrations", None),
            ("GET", "/health-notes", None),
            ("GET", "/draw", None),
            ("GET", "/draw/replay", None),
            ("POST", "/window-closure", {"reason": "r"}),
            ("POST", "/draw", None),
            ("PUT", "/staff", {"staff": [f"{role}.schmitten"], "reason": "r"}),
        ):
            answer = client.request(method, f"{OFFERINGS}/{oid}{path}", json=body, headers=stranger)
            assert answer.status_code == 404, f"{method} {path}: {answer.text}"
    auditor = auth("auditor", sub="auditor.schmitten", tenant="schmitten")
    assert client.get(f"{OFFERINGS}/{oid}/draw", headers=auditor).status_code == 404
    # A family of Schmitten registers through Schmitten's portal: Usingen's offering is none
    # of Schmitten's; through Usingen's, it is a registration of Usingen (residence: other).
    elsewhere = register(
        client, auth, "portal:s", registration(oid, child("Ida")), tenant="schmitten"
    )
    assert fields(elsewhere) == ["data.offering"]
    assert client.get(f"{OFFERINGS}/{oid}").json()["version"] == 1  # nothing recorded on it
    # Another town publishes its own offering under the same code.
    own = client.post(
        OFFERINGS,
        json=offering_body(clock),
        headers=auth("clerk", sub="clerk.schmitten", tenant="schmitten"),
    )
    assert own.status_code == 201, own.text
    assert own.json()["id"] != oid


def test_a_case_read_as_of_a_moment_withholds_the_health_notes_too(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    oid = publish(client, auth, clock)["id"]
    data = registration(oid, child("Cleo", health_notes="Asthma"), consent=True)
    case = register(client, auth, "portal:cleo", data).json()["id"]
    moment = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()  # recording time, not ours
    for role in ("supervisor", "auditor"):
        answer = client.get(f"/api/v1/cases/{case}", params={"as_of": moment}, headers=auth(role))
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["children"][0]["health_notes"] == WITHHELD, role
