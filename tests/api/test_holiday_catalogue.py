"""The catalogue's holiday registration example: per town what is open there now, accepted
each time it is fetched; towns with nothing open named in a note; the catalogue answers
while the database cannot be reached."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from application.clock import FixedClock
from application.facade import DatabaseUnavailable
from application.holiday import OfferingsInTheLog
from domain.services.holiday_registration import SERVICE_ID
from infrastructure.holiday_offering_directory import OfferingsInTheView
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang
from tests.api.conftest import NEW_CASE, SECRET, Auth

SERVICE = "/api/v1/services/holiday-registration"


def offering(clock: FixedClock, code: str, opens_in: timedelta) -> dict[str, Any]:
    now = clock.now()
    return {
        "year": 2026,
        "code": code,
        "activity": "Bastelnachmittag",
        "description": "Basteln mit Naturmaterial.",
        "location": "Jugendhaus",
        "starts_on": "2026-07-20",
        "ends_on": "2026-07-20",
        "min_age": 6,
        "max_age": 12,
        "places": 20,
        "fee": "0.00",
        "registration_opens_at": (now + opens_in).isoformat(),
        "registration_closes_at": (now + timedelta(days=30)).isoformat(),
    }


def apply(client: TestClient, auth: Auth, town: str, data: dict[str, Any]) -> Any:
    return client.post(
        "/api/v1/cases",
        json={**NEW_CASE, "tenant": town, "service": "holiday-registration", "data": data},
        headers=auth("applicant", sub=f"portal:{town}", tenant=town),
    )


def test_only_towns_with_an_open_offering_have_an_example_accepted_each_time_it_is_fetched(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    opened = client.post(
        "/api/v1/holiday-offerings",
        json=offering(clock, "BASTELN", -timedelta(hours=1)),
        headers=auth("clerk", sub="clerk.usingen"),
    )
    assert opened.status_code == 201, opened.json()
    later = client.post(
        "/api/v1/holiday-offerings",
        json=offering(clock, "BASTELN", timedelta(days=1)),  # opens tomorrow
        headers=auth("clerk", sub="clerk.schmitten", tenant="schmitten"),
    )
    assert later.status_code == 201, later.json()

    first = client.get(SERVICE).json()
    assert list(first["examples_by_town"]) == ["usingen"]
    assert first["examples_by_town"]["usingen"]["offering"] == opened.json()["id"]
    assert "schmitten" in first["example_note"]
    assert "neu-anspach" in first["example_note"]
    assert apply(client, auth, "usingen", first["example"]).status_code == 201
    # Fetched again after that registration: another child, accepted again.
    second = client.get(SERVICE).json()["examples_by_town"]["usingen"]
    assert second["children"] != first["example"]["children"]
    assert apply(client, auth, "usingen", second).status_code == 201
    # The form's shape is no registration anywhere else: refused naming the offering.
    refused = apply(client, auth, "schmitten", first["example"])
    assert refused.status_code == 422, refused.json()
    assert [e["field"] for e in refused.json()["errors"]] == ["data.offering"]

    clock.advance(timedelta(days=1, hours=1))  # Schmitten's window opened
    assert set(client.get(SERVICE).json()["examples_by_town"]) == {"usingen", "schmitten"}


def test_the_catalogue_answers_while_the_database_cannot_be_reached(tmp_path: Path) -> None:
    def unreachable() -> Vorgang:
        raise DatabaseUnavailable("cannot open postgresql://db/vorgang: connection refused")

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'v.db'}", token_secret=SECRET)
    with TestClient(create_app(settings, builder=unreachable)) as client:
        services = client.get("/api/v1/services")
        assert services.status_code == 200, services.json()
        listed = {s["id"]: s for s in services.json()}
        holiday = listed.pop("holiday-registration")
        assert holiday["examples_by_town"] == {}
        assert "cannot be read just now" in holiday["example_note"]
        assert set(holiday["example"]) >= {"offering", "children", "guardians"}  # the shape
        stall = listed.pop("market-stall")  # the other service whose examples are per town
        assert stall["examples_by_town"] == {}
        assert stall["example_note"] == holiday["example_note"]
        assert set(stall["example"]) >= {"market", "category", "frontage_m"}
        assert {s["examples_by_town"] for s in listed.values()} == {None}
        assert client.get(SERVICE).json()["example_note"] == holiday["example_note"]


def test_the_catalogue_and_the_towns_list_read_the_view_and_replay_no_offering(
    client: TestClient, auth: Auth, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    published = [
        client.post(
            "/api/v1/holiday-offerings",
            json=offering(clock, code, opens_in),
            headers=auth("clerk", sub="clerk.usingen"),
        ).json()
        for code, opens_in in (("ZIRKUS", -timedelta(hours=1)), ("BASTELN", timedelta(days=1)))
    ]
    ids = {UUID(o["id"]) for o in published}
    assert apply(client, auth, "usingen", client.get(SERVICE).json()["example"]).status_code == 201
    one_by_one = [client.get(f"/api/v1/holiday-offerings/{o['id']}").json() for o in published]
    vorgang: Vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]
    loaded: list[UUID] = []
    get = vorgang.store.repository.get

    def counted(aggregate_id: UUID, *args: Any, **kwargs: Any) -> Any:
        loaded.append(aggregate_id)
        return get(aggregate_id, *args, **kwargs)

    monkeypatch.setattr(vorgang.store.repository, "get", counted)

    def fetched() -> tuple[Any, ...]:
        services = {s["id"]: s for s in client.get("/api/v1/services").json()}
        listed = client.get("/api/v1/holiday-offerings", params={"town": "usingen", "year": 2026})
        return services[SERVICE_ID]["examples_by_town"], client.get(SERVICE).json(), listed.json()

    in_the_view = fetched()
    assert isinstance(vorgang.holiday.directory, OfferingsInTheView)
    assert not ids & set(loaded)  # no offering replayed: the read model answered
    assert in_the_view[2] == one_by_one  # as each offering answers itself, in the order published
    # The same answers from the offerings themselves (where no view is wired), replaying them.
    monkeypatch.setattr(vorgang.holiday, "directory", OfferingsInTheLog(vorgang.store))
    assert fetched() == in_the_view
    assert ids <= set(loaded)
    # The example after the registration is accepted too (the view caught up with it).
    assert apply(client, auth, "usingen", in_the_view[1]["example"]).status_code == 201
