"""The integrator that sends reminders finds them in the feed and reads the contact, once.

Only a service account of the town granted ``appointments:contact`` reads it; only for a
booking whose reminder fell due and which still stands; never after its erasure; and the
contact never reaches a log line.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.appointments import AppointmentService
from application.clock import FixedClock
from domain.actor import Scope
from domain.timers import scheduler_actor
from tests.api.conftest import Auth

BASE = "/api/v1/appointments/usingen/buergerbuero"
DAY = "2026-03-04"  # a Wednesday; the clock stands at Monday 2 March 2026, 09:00
TYPE = "de.vorgang.case.appointment_{}.v1"
SENDER = (Scope.FEED_READ, Scope.APPOINTMENT_CONTACT)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def book(client: TestClient, slot: str, name: str) -> dict[str, Any]:
    held = ok(client.post(f"{BASE}/holds", json={"day": DAY, "slot": slot}), 201)
    contact = {"name": name, "email": f"{name.lower()}@example.org", "phone": "06081 4711"}
    body = {"day": DAY, "hold": held["hold"], "contact": contact}
    booked: dict[str, Any] = ok(client.post(f"{BASE}/bookings", json=body), 201)
    return booked


def test_the_reminder_sender_reads_the_contact_until_it_is_erased(
    client: TestClient, auth: Auth, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    slots = ok(client.get(f"{BASE}/slots", params={"service": "reisepass", "day": DAY}))
    anna = book(client, slots[0]["slot"], "Anna")
    book(client, slots[1]["slot"], "Ben")  # no reminder due for Ben
    vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]
    appointments = AppointmentService(
        vorgang.store, clock, vorgang.cases.identities, keys=vorgang.keys
    )
    worker = scheduler_actor("usingen")
    appointments.remind(
        "usingen", "buergerbuero", date.fromisoformat(DAY), anna["code"], actor=worker
    )

    types = {t["type"]: t["description"] for t in ok(client.get("/api/v1/feed/types"))}
    assert "appointments:contact" in types[TYPE.format("reminder_due")]
    sender = auth("integrator", scopes=SENDER)
    params: dict[str, Any] = {"type": TYPE.format("reminder_due"), "wait": 30}
    reminder = ok(client.get("/api/v1/feed", params=params, headers=sender))[0]
    params = {"type": TYPE.format("booked")}
    booked = ok(client.get("/api/v1/feed", params=params, headers=sender))
    assert len(booked) == 2
    reference = reminder["data"]["booking"]
    link = reminder["data"]["links"]["contact"]
    assert link == f"{BASE}/reminders/{reference}/contact"

    found = client.get(link, headers=sender)
    assert ok(found) == {
        "booking": reference,
        "office": "buergerbuero",
        "day": DAY,
        "starts": reminder["data"]["starts"],
        "service": "reisepass",
        "name": "Anna",
        "email": "anna@example.org",
        "phone": "06081 4711",
    }
    assert found.headers["Cache-Control"] == "private, no-store"
    logged = capsys.readouterr()
    assert "anna@example.org" not in logged.out + logged.err

    ben = next(e["data"]["booking"] for e in booked if e["data"]["booking"] != reference)
    assert client.get(f"{BASE}/reminders/{ben}/contact", headers=sender).status_code == 404
    reader = auth("integrator")  # feed:read only
    assert client.get(link, headers=reader).status_code == 403
    foreign = auth("integrator", tenant="schmitten", scopes=SENDER)
    assert client.get(link, headers=foreign).status_code == 403  # not its town
    elsewhere = f"/api/v1/appointments/schmitten/buergerbuero/reminders/{reference}/contact"
    assert client.get(elsewhere, headers=foreign).status_code == 404  # not its booking
    other_office = link.replace("/buergerbuero/", "/aussenstelle/")
    assert client.get(other_office, headers=sender).status_code == 404

    starts = datetime.fromisoformat(reminder["data"]["starts"])
    clock.set(starts + timedelta(days=14))  # Usingen keeps contacts 14 days after the day
    appointments.erase_contact(
        "usingen", "buergerbuero", date.fromisoformat(DAY), anna["code"], actor=worker
    )
    gone = client.get(link, headers=sender)  # the key is destroyed: at once, view or not
    assert gone.status_code == 404
    assert "Anna" not in gone.text
