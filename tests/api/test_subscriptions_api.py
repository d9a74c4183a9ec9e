"""/api/v1/subscriptions: the secret shown once and sealed, who sees what, problems naming
fields, the delivery's status and dead letters."""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from fastapi import FastAPI
from fastapi.testclient import TestClient

from domain.actor import Scope
from domain.webhooks import Subscription
from tests.api.conftest import Auth
from tests.api.test_feed_api import feed_caught_up, submit

MANAGE = (Scope.WEBHOOKS_MANAGE,)
URL = "https://archiv.example/hooks"


def integrator(auth: Auth, sub: str = "archiv", **options: Any) -> dict[str, str]:
    scopes = options.pop("scopes", MANAGE)
    return auth("integrator", sub=sub, scopes=scopes, **options)


def subscribe(
    client: TestClient, headers: dict[str, str], **body: Any
) -> tuple[int, dict[str, Any]]:
    response = client.post("/api/v1/subscriptions", json={"url": URL, **body}, headers=headers)
    return response.status_code, response.json()


def fields(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem.get("errors", [])]


def test_a_subscription_shows_its_secret_once_and_keeps_it_sealed(
    client: TestClient, auth: Auth
) -> None:
    response = client.post(
        "/api/v1/subscriptions",
        json={"url": URL, "types": ["de.vorgang.case.decided.v1"]},
        headers=integrator(auth),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert response.headers["location"] == f"/api/v1/subscriptions/{created['id']}"
    assert created["tenants"] == ["usingen"]
    assert (created["owner"], created["status"]) == ("archiv", "active")

    read = client.get(f"/api/v1/subscriptions/{created['id']}", headers=integrator(auth))
    listed = client.get("/api/v1/subscriptions", headers=integrator(auth))
    assert read.status_code == 200
    assert secret not in read.text
    assert secret not in listed.text
    assert [s["id"] for s in listed.json()] == [created["id"]]

    store = cast(FastAPI, client.app).state.provider.get().store
    stored = store.recorder.select_notifications(start=1, limit=10_000)
    assert all(secret.encode() not in n.state for n in stored)  # encrypted in the event


def test_deleting_destroys_the_secret_and_the_subscription_is_gone(
    client: TestClient, auth: Auth
) -> None:
    _, created = subscribe(client, integrator(auth))
    where = f"/api/v1/subscriptions/{created['id']}"

    refused = client.delete(where, headers=integrator(auth))  # without a reason
    deleted = client.delete(where, params={"reason": "abgelöst"}, headers=integrator(auth))

    assert refused.status_code == 422
    assert deleted.status_code == 200
    assert deleted.json()["status"] == "deleted"
    assert client.get(where, headers=integrator(auth)).status_code == 404
    assert client.get("/api/v1/subscriptions", headers=integrator(auth)).json() == []
    store = cast(FastAPI, client.app).state.provider.get().store
    subscription = store.repository.get(UUID(created["id"]))
    assert isinstance(subscription, Subscription)
    assert subscription.secret.is_erased


def test_the_towns_admins_see_every_subscription_of_the_town_other_accounts_none(
    client: TestClient, auth: Auth
) -> None:
    _, mine = subscribe(client, integrator(auth))
    _, theirs = subscribe(client, integrator(auth, sub="statistik"))

    admin = client.get("/api/v1/subscriptions", headers=auth("admin"))
    other = client.get(f"/api/v1/subscriptions/{mine['id']}", headers=integrator(auth, "statistik"))
    foreign = client.get(
        f"/api/v1/subscriptions/{mine['id']}", headers=auth("admin", tenant="schmitten")
    )

    assert {s["id"] for s in admin.json()} == {mine["id"], theirs["id"]}
    assert other.status_code == 404
    assert foreign.status_code == 404
    assert (
        client.get("/api/v1/subscriptions", headers=auth("admin", tenant="schmitten")).json() == []
    )


def test_refusals_are_problems_naming_the_field(client: TestClient, auth: Auth) -> None:
    bad_url = subscribe(client, integrator(auth), url="ftp://archiv.example/")
    bad_type = subscribe(client, integrator(auth), types=["de.vorgang.case.unknown.v1"])
    bad_secret = subscribe(client, integrator(auth), secret="whsec_c2hvcnQ=")
    personal = subscribe(client, integrator(auth), personal_data=True)
    foreign = subscribe(client, integrator(auth), tenants=["schmitten"])
    no_scope = subscribe(client, integrator(auth, scopes=(Scope.FEED_READ,)))
    clerk = subscribe(client, auth("clerk"))
    beyond = subscribe(client, integrator(auth), after="99999999999999999999")

    assert (bad_url[0], fields(bad_url[1])) == (422, ["url"])
    assert (bad_type[0], fields(bad_type[1])) == (422, ["types.0"])
    assert (bad_secret[0], fields(bad_secret[1])) == (422, ["secret"])
    assert (personal[0], fields(personal[1])) == (422, ["personal_data"])
    assert (beyond[0], fields(beyond[1])) == (422, ["after"])
    assert foreign[0] == 403
    assert no_scope[0] == 403
    assert clerk[0] == 403
    granted = integrator(auth, scopes=(Scope.WEBHOOKS_MANAGE, Scope.PERSONAL_DATA))
    assert subscribe(client, granted, personal_data=True)[0] == 201


def test_the_status_shows_cursor_and_lag_before_any_delivery(
    client: TestClient, auth: Auth
) -> None:
    submit(client, auth)
    submit(client, auth, tenant="schmitten")
    feed_caught_up(client)
    _, created = subscribe(client, integrator(auth), after="0")

    status = client.get(f"/api/v1/subscriptions/{created['id']}", headers=integrator(auth)).json()

    delivery = status["delivery"]
    assert delivery["cursor"] == "0" * 20
    assert delivery["lag"] >= 1  # Usingen's events only: the town subscribed
    assert int(delivery["head"]) > 0
    assert delivery["next_attempt_at"] is None
    assert delivery["last_error"] is None


def test_dead_letters_list_and_redelivery_of_a_sequence_that_is_none(
    client: TestClient, auth: Auth
) -> None:
    _, created = subscribe(client, integrator(auth))
    where = f"/api/v1/subscriptions/{created['id']}"

    letters = client.get(f"{where}/dead-letters", headers=auth("admin"))
    again = client.post(
        f"{where}/dead-letters/42/redelivery", json={"reason": "repariert"}, headers=auth("admin")
    )
    enable = client.post(f"{where}/enable", json={"reason": "x"}, headers=integrator(auth))

    assert (letters.status_code, letters.json()) == (200, [])
    assert (again.status_code, fields(again.json())) == (422, ["sequence"])
    assert enable.status_code == 409  # it is active
