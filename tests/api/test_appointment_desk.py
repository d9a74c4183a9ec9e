"""The citizens' office desk: staff book any slot, cancel without the token, list the day.

The clock stands at Monday 09:00; the desk books Wednesday's 11:40 passport slot, which is
not released online. Every answer carries the office day's version as its ETag; a stale
If-Match is 412 and changes nothing. Contacts are shown to staff of the town only.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.appointments.office_day import OfficeDay, office_day_id
from tests.api.conftest import Auth

BASE = "/api/v1/appointments/usingen/buergerbuero"
DESK = f"{BASE}/desk/bookings"
DAY = "2026-03-04"  # a Wednesday
DESK_ONLY = "reisepass@11:40"  # the 12th passport slot: only 6 are released online
WEDNESDAY_0805 = datetime(2026, 3, 4, 7, 5, tzinfo=UTC)
CONTACT = {"name": "Max Mustermann", "phone": "06081 1234"}


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def field_of(response: Any) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["errors"][0]["field"])


def recorded_reasons(client: TestClient, day_id: UUID) -> list[str]:
    store = client.app.state.provider.get().cases.store  # type: ignore[attr-defined]
    return [
        e.reason
        for e in store.repository.event_store.get(day_id)
        if isinstance(e, OfficeDay.BookingCancelled)
    ]


def test_the_desk_books_a_slot_not_released_online_and_cancels_it_for_a_reason(
    client: TestClient, auth: Auth
) -> None:
    clerk = auth("clerk")
    online = client.get(f"{BASE}/slots", params={"service": "reisepass", "day": DAY}).json()
    assert DESK_ONLY not in [s["slot"] for s in online]
    assert field_of(client.post(f"{BASE}/holds", json={"day": DAY, "slot": DESK_ONLY})) == "slot"

    untouched = client.get(DESK, params={"day": DAY}, headers=clerk)
    assert ok(untouched)["bookings"] == []
    assert untouched.headers["ETag"] == '"1"'  # opened as configured, nothing stored yet
    assert DESK_ONLY in [s["slot"] for s in untouched.json()["free_slots"]]

    body = {"day": DAY, "slot": DESK_ONLY, "contact": CONTACT}
    booked = client.post(DESK, json=body, headers=clerk | {"If-Match": '"1"'})
    code = ok(booked, 201)["code"]
    assert (
        booked.headers["ETag"] == f'"{booked.json()["version"]}"' == '"3"'
    )  # opened, held, booked
    assert booked.json()["cancellation_token"]  # for the citizen

    stale = client.post(
        DESK, json=body | {"slot": "reisepass@11:20"}, headers=clerk | {"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"].startswith("application/problem+json")
    assert (stale.headers["ETag"], stale.json()["current_version"]) == ('"3"', 3)
    assert field_of(client.post(DESK, json=body, headers=clerk)) == "slot"  # taken

    day = client.get(DESK, params={"day": DAY}, headers=auth("supervisor"))
    assert day.headers["ETag"] == '"3"'  # the stale attempt changed nothing
    assert day.headers["Cache-Control"] == "private, no-store"
    [booking] = ok(day)["bookings"]
    assert (booking["code"], booking["status"], booking["online"]) == (code, "booked", False)
    assert booking["contact"] == CONTACT
    assert DESK_ONLY not in [s["slot"] for s in day.json()["free_slots"]]

    cancel = f"{DESK}/{DAY}/{code}/cancel"
    assert field_of(client.post(cancel, json={}, headers=clerk)) == "reason"
    assert field_of(client.post(cancel, json={"reason": "Herr M. ist krank"}, headers=clerk)) == (
        "reason"
    )
    assert (
        client.post(
            cancel, json={"reason": "citizen_request"}, headers=clerk | {"If-Match": '"2"'}
        ).status_code
        == 412
    )
    done = client.post(
        cancel, json={"reason": "citizen_request"}, headers=clerk | {"If-Match": '"3"'}
    )
    assert (ok(done)["version"], done.headers["ETag"]) == (4, '"4"')
    assert recorded_reasons(
        client, office_day_id("usingen", "buergerbuero", date.fromisoformat(DAY))
    ) == ["citizen_request"]
    assert field_of(client.post(cancel, json={"reason": "duplicate"}, headers=clerk)) == "code"

    after = ok(client.get(DESK, params={"day": DAY}, headers=clerk))
    assert [b["status"] for b in after["bookings"]] == ["cancelled"]
    assert DESK_ONLY in [s["slot"] for s in after["free_slots"]]  # bookable again
    unknown = client.post(
        f"{DESK}/{DAY}/ABCDEFGH/cancel", json={"reason": "duplicate"}, headers=clerk
    )
    assert field_of(unknown) == "code"


def test_the_desk_is_for_staff_of_the_town_and_names_each_wrong_field(
    client: TestClient, auth: Auth
) -> None:
    body = {"day": DAY, "slot": DESK_ONLY, "contact": CONTACT}
    other_town = auth("clerk", tenant="schmitten")
    assert client.get(DESK, params={"day": DAY}, headers=other_town).status_code == 403
    assert client.post(DESK, json=body, headers=other_town).status_code == 403
    assert client.get(DESK, params={"day": DAY}, headers=auth("applicant")).status_code == 403
    assert client.get(DESK, params={"day": DAY}, headers=auth("auditor")).status_code == 403
    assert client.get(DESK, params={"day": DAY}).status_code == 401
    assert (
        client.get(
            "/api/v1/appointments/usingen/rathaus/desk/bookings", headers=auth("clerk")
        ).status_code
        == 404
    )

    clerk = auth("clerk")
    assert field_of(client.post(DESK, json=body | {"slot": "reisepass@12:40"}, headers=clerk)) == (
        "slot"
    )
    no_way = body | {"contact": {"name": "Max Mustermann"}}
    assert field_of(client.post(DESK, json=no_way, headers=clerk)) == "contact.email"
    extra = body | {"contact": CONTACT | {"address": "Hauptstraße 1"}}
    assert field_of(client.post(DESK, json=extra, headers=clerk)) == "contact.address"
    weak = client.post(DESK, json=body, headers=clerk | {"If-Match": 'W/"1"'})
    assert field_of(weak) == "If-Match"
    assert client.get(DESK, params={"day": DAY}, headers=clerk).json()["bookings"] == []


def test_calls_at_the_counter_answer_with_the_etag_and_refuse_a_stale_if_match(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clock.set(WEDNESDAY_0805)
    drawn = client.post(f"{BASE}/walk-ins", json={"service": "anmeldung"})
    assert (ok(drawn, 201)["ticket"], drawn.headers["ETag"]) == ("W001", '"2"')
    clerk = auth("clerk")
    call = f"{BASE}/counters/Schalter 1/call-next"
    stale = client.post(call, headers=clerk | {"If-Match": '"1"'})
    assert (stale.status_code, stale.headers["ETag"]) == (412, '"2"')
    assert ok(client.get(f"{BASE}/queue"))["called"] == []  # nothing was called
    called = client.post(call, headers=clerk | {"If-Match": '"2"'})
    assert (ok(called)["ticket"], called.headers["ETag"]) == ("W001", '"3"')
    served = f"{BASE}/tickets/W001/served"
    assert client.post(served, headers=clerk | {"If-Match": '"2"'}).status_code == 412
    done = client.post(served, headers=clerk | {"If-Match": '"3"'})
    assert (ok(done)["version"], done.headers["ETag"]) == (4, '"4"')
