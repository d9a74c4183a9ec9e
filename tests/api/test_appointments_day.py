"""A citizens' office's whole day through HTTP alone, and statistics that match it.

Monday: citizens book Wednesday online (no account), one cancels, one rebooks. Wednesday:
two check in at the kiosk, two walk in, clerks call them to two counters, one walk-in does
not come after two calls (a no-show), the rest are served. The statistics count exactly
that, with the waits from drawing to the first call.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from application.clock import FixedClock
from tests.api.conftest import Auth

BASE = "/api/v1/appointments/usingen/buergerbuero"
DAY = "2026-03-04"  # a Wednesday; the clock stands at Monday 09:00
WEDNESDAY_0805 = datetime(2026, 3, 4, 7, 5, tzinfo=UTC)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def field_of(response: Any) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["errors"][0]["field"])


def book(client: TestClient, slot: str, name: str) -> dict[str, Any]:
    held = ok(client.post(f"{BASE}/holds", json={"day": DAY, "slot": slot}), 201)
    contact = {"name": name, "email": f"{name.lower()}@example.org"}
    return ok(
        client.post(
            f"{BASE}/bookings", json={"day": DAY, "hold": held["hold"], "contact": contact}
        ),
        201,
    )


def test_a_whole_day_through_http_and_its_statistics(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    offices = ok(client.get("/api/v1/appointments/usingen/offices"))
    assert [o["office"] for o in offices] == ["buergerbuero"]  # type: ignore[index]

    # Monday: booking online, without an account
    passes = ok(client.get(f"{BASE}/slots", params={"service": "reisepass", "day": DAY}))
    slots = [s["slot"] for s in passes]  # type: ignore[index]
    anna = book(client, slots[0], "Anna")  # 08:00
    ben = book(client, slots[1], "Ben")  # 08:20
    cleo = book(client, slots[2], "Cleo")  # 08:40
    assert anna["documents"]
    assert anna["code"] != ben["code"]
    taken = client.post(f"{BASE}/holds", json={"day": DAY, "slot": slots[0]})
    assert field_of(taken) == "slot"
    assert field_of(client.get(f"{BASE}/slots", params={"service": "hunde", "day": DAY})) == (
        "service"
    )
    assert client.get("/api/v1/appointments/usingen/rathaus/queue").status_code == 404

    wrong = client.post(f"{BASE}/bookings/{DAY}/{cleo['code']}/cancel", json={"token": "x" * 20})
    assert field_of(wrong) == "token"
    ok(
        client.post(
            f"{BASE}/bookings/{DAY}/{cleo['code']}/cancel",
            json={"token": cleo["cancellation_token"]},
        )
    )
    free = ok(client.get(f"{BASE}/slots", params={"service": "reisepass", "day": DAY}))
    assert slots[2] in [s["slot"] for s in free]  # type: ignore[index]

    later = ok(client.post(f"{BASE}/holds", json={"day": DAY, "slot": slots[3]}), 201)  # 09:00
    ben = ok(
        client.post(
            f"{BASE}/bookings/{DAY}/{ben['code']}/rebook",
            json={"token": ben["cancellation_token"], "day": DAY, "hold": later["hold"]},
        ),
        201,
    )
    assert ben["slot"] == slots[3]

    # Wednesday 08:05: arrivals
    clock.set(WEDNESDAY_0805)
    assert ok(client.post(f"{BASE}/check-in", json={"code": anna["code"]}), 201)["ticket"] == "T001"
    assert ok(client.post(f"{BASE}/check-in", json={"code": ben["code"]}), 201)["ticket"] == "T002"
    again = client.post(f"{BASE}/check-in", json={"code": anna["code"]})
    assert field_of(again) == "code"
    walk = [
        ok(client.post(f"{BASE}/walk-ins", json={"service": s}), 201)["ticket"]
        for s in ("meldebescheinigung", "anmeldung")
    ]
    assert walk == ["W001", "W002"]
    board = ok(client.get(f"{BASE}/queue"))
    assert {q["queue"]: q["waiting"] for q in board["queues"]} == {
        "appointment": 2,
        "walk_in": 2,
    }

    clerk = auth("clerk")
    one, two = f"{BASE}/counters/Schalter 1", f"{BASE}/counters/Schalter 2"
    assert client.post(f"{one}/call-next").status_code == 401
    assert (
        client.post(f"{one}/call-next", headers=auth("clerk", tenant="schmitten")).status_code
        == 403
    )
    assert ok(client.post(f"{one}/call-next", headers=clerk))["ticket"] == "T001"  # due, waited 0
    clock.advance(timedelta(minutes=1))
    assert ok(client.post(f"{two}/call-next", headers=clerk))["ticket"] == "W001"  # waited 1
    # Schalter 2 cannot close Schalter 1's ticket; Schalter 1 can.
    wrong_counter = client.post(
        f"{BASE}/tickets/T001/served", params={"counter": "Schalter 2"}, headers=clerk
    )
    assert field_of(wrong_counter) == "counter"
    ok(client.post(f"{BASE}/tickets/T001/served", params={"counter": "Schalter 1"}, headers=clerk))
    assert field_of(client.post(f"{BASE}/tickets/W001/missed", headers=clerk)) == "ticket"
    assert ok(client.post(f"{BASE}/tickets/W001/call-again", headers=clerk))["call"] == 2
    ok(client.post(f"{BASE}/tickets/W001/missed", headers=clerk))  # a no-show
    clock.set(WEDNESDAY_0805 + timedelta(minutes=15))
    assert ok(client.post(f"{two}/call-next", headers=clerk))["ticket"] == "W002"  # waited 15
    ok(client.post(f"{BASE}/tickets/W002/served", headers=clerk))
    clock.set(WEDNESDAY_0805 + timedelta(minutes=55))  # Ben's 09:00
    assert ok(client.post(f"{one}/call-next", headers=clerk))["ticket"] == "T002"  # waited 55
    last = ok(client.post(f"{BASE}/tickets/T002/served", headers=clerk))
    assert field_of(client.post(f"{one}/call-next", headers=clerk)) == "counter"  # none waits

    rows = ok(
        client.get(
            "/api/v1/appointments/stats",
            params={
                "office": "buergerbuero",
                "since": DAY,
                "until": DAY,
                "min_position": last["position"],
            },
            headers=auth("supervisor"),
        )
    )
    by_service = {r["service"]: r for r in rows}  # type: ignore[index]
    assert by_service["reisepass"] | {} == {
        "office": "buergerbuero",
        "day": DAY,
        "service": "reisepass",
        "booked": 4,  # Anna, Ben, Cleo, Ben again
        "cancelled": 2,  # Cleo, and Ben's first slot
        "tickets": 2,
        "served": 2,
        "no_shows": 0,
        "average_wait_minutes": 27.5,
        "p90_wait_minutes": 55.0,
    }
    assert (
        by_service["meldebescheinigung"]["no_shows"],
        by_service["meldebescheinigung"]["served"],
    ) == (1, 0)
    assert by_service["meldebescheinigung"]["average_wait_minutes"] == 1.0
    assert (by_service["anmeldung"]["served"], by_service["anmeldung"]["p90_wait_minutes"]) == (
        1,
        15.0,
    )
    assert client.get("/api/v1/appointments/stats", headers=auth("applicant")).status_code == 403
