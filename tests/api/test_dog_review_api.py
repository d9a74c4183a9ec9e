"""Review of dog registration and dog tax (#25) by HTTP, as the design now has it: nothing
changes the tax between the Bescheid and its Bekanntgabe; a change after it is charged
undated and made known by an amending notice, whose Bekanntgabe dates the charge. A defect
still open is a strict xfail.

The clock starts on Monday 2 March 2026; the dog was taken in on 16 February, so it is taxed
from March: ten months at 7 EUR, 70 EUR; a shelter dog pays half, 35 EUR.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from application.clock import FixedClock
from tests.api.conftest import Auth
from tests.api.test_dog_registration_api import (
    COUNTER,
    NOTICES,
    at_day,
    chip,
    dog_request,
    dog_tax_charges,
    posted,
    refused,
    registered,
    tax_of,
)
from tests.api.test_feed_api import read_all

SHELTER = {"reason": "shelter_dog", "proof": "Tierheim-Vertrag 17", "from_day": "2026-02-16"}
GRANTED = {"granted": True, "reasons": "Der Vertrag des Tierheims liegt vor."}


def test_a_relief_waits_for_the_bescheid_and_its_amending_notice_dates_the_new_charge(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk, cash = auth("clerk"), auth("cash_office")
    url, case = registered(
        client, auth, dog_request(clock, chip=chip(1), relief=SHELTER), "portal:a"
    )
    assert case["status"] == "decided"
    first = case["service_state"]["tax_years"]["2026"]["kassenzeichen"]

    def open_receivables(position: int) -> dict[str, dict[str, Any]]:
        response = client.get(
            "/api/v1/receivables", params={"min_position": position}, headers=cash
        )
        assert response.status_code == 200, response.json()
        return {row["kassenzeichen"]: row for row in response.json()}

    # decided, not yet made known: a relief would change the Bescheid's tax — a conflict
    early = client.post(url + "/dog-relief", json=GRANTED, headers=clerk)
    assert early.status_code == 409, early.json()
    assert early.headers["content-type"].startswith("application/problem+json")
    unchanged = client.get(url, headers=clerk).json()
    assert unchanged["version"] == case["version"]
    assert (unchanged["service_state"]["relief"], tax_of(unchanged)) == (None, Decimal("70"))

    notified = posted(client, url, "/notify", COUNTER, clerk)  # handed over on 2 March
    assert notified["status"] == "notified"
    assert open_receivables(notified["position"])[first]["due_on"] == "2026-04-02"
    refused(client, url, NOTICES, COUNTER, "years", clerk)  # nothing awaits a notice yet

    at_day(clock, date(2026, 3, 9))
    relieved = posted(client, url, "/dog-relief", GRANTED, clerk)
    assert tax_of(relieved) == Decimal("35.00")  # half of 70 EUR
    assert relieved["service_state"]["changes_to_notify"] == [2026]
    new = relieved["service_state"]["tax_years"]["2026"]["kassenzeichen"]
    assert new != first
    assert [(c["amount"], c["withdrawn"], c["due_on"]) for c in dog_tax_charges(relieved)] == [
        ("70.00", True, None),
        ("35.00", False, None),  # undated until its amending notice is made known
    ]
    rows = open_receivables(relieved["position"])
    assert first not in rows  # cancelled
    assert (rows[new]["amount"], rows[new]["due_on"]) == ("35.00", None)

    at_day(clock, date(2026, 3, 10))
    amended = posted(client, url, NOTICES, COUNTER, clerk)  # handed over on 10 March
    state = amended["service_state"]
    assert state["changes_to_notify"] == []
    assert state["tax_changes"] == [
        {
            "years": {"2026": "35.00"},
            "notified_on": "2026-03-10",
            "objection_deadline": "2026-04-10",
            "due_on": "2026-04-10",
        }
    ]
    assert amended["status"] == "notified"
    assert amended["notified_on"] == "2026-03-02"  # the Bescheid's Bekanntgabe stays
    rows = open_receivables(amended["position"])
    assert (rows[new]["amount"], rows[new]["due_on"]) == ("35.00", "2026-04-10")
    assert first not in rows
    cancelled = client.get(f"/api/v1/receivables/{first}", headers=cash).json()
    assert cancelled["status"] == "cancelled"
    refused(client, url, NOTICES, COUNTER, "years", clerk)  # made known once
    history = [h["type"] for h in client.get(url + "/history", headers=clerk).json()]
    assert history.count("TaxChangeNotified") == 1
    assert history.index("TaxChangeNotified") > history.index("ReliefDecided")
    # the keeper receives the amending notice: their own view of the file shows it
    keeper = auth("applicant", sub="portal:a")
    seen = [h["type"] for h in client.get(url + "/history", headers=keeper).json()]
    assert "TaxChangeNotified" in seen

    # integrators read the Bekanntgabe and what it dates, documented like ``notified``
    published = "de.vorgang.case.dog_tax_change_notified.v1"
    types = {t["type"]: t["dataschema"] for t in client.get("/api/v1/feed/types").json()}
    [notice] = [
        e
        for e in read_all(client, auth("integrator"))
        if e["type"] == published and e["subject"] == case["id"]
    ]
    jsonschema.validate(notice["data"], types[published])
    assert {k: notice["data"][k] for k in ("delivery", "sent_on", "notified_on")} == {
        "delivery": "counter",
        "sent_on": "2026-03-10",
        "notified_on": "2026-03-10",
    }
    assert (notice["data"]["objection_deadline"], notice["data"]["due_on"]) == (
        "2026-04-10",
        "2026-04-10",
    )
    assert (notice["data"]["years"], notice["data"]["kassenzeichen"]) == ([2026], [new])
    assert "personal" not in notice["data"]


def test_a_sibling_leaving_before_the_bescheid_is_known_is_reassessed_after_it(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk, keeper = auth("clerk"), auth("applicant", sub="portal:a")
    first_url, _ = registered(client, auth, dog_request(clock, chip=chip(1)), "portal:a")
    posted(client, first_url, "/notify", COUNTER, clerk)
    second_body = dog_request(clock, chip=chip(2), taken_in_on="2026-02-20", dogs_in_household=2)
    second_url, second = registered(client, auth, second_body, "portal:a")
    assert tax_of(second) == Decimal("110.00")  # the second dog: 10 x 11 EUR
    death = {"reason": "death", "on": "2026-03-02", "tag": "returned"}
    # The second dog's Bescheid is not yet known: a change moving its tax waits for it.
    refused = client.post(first_url + "/dog-deregistration", json=death, headers=keeper)
    assert refused.status_code == 422, refused.json()
    assert refused.json()["errors"][0]["field"] == "household"
    posted(client, second_url, "/notify", COUNTER, clerk)
    posted(client, first_url, "/dog-deregistration", death, keeper)  # taxed to March
    known = client.get(second_url, headers=clerk).json()
    # March at the second dog's 11 EUR, April to December the first dog's 7 EUR: 74 EUR,
    # made known by an amending notice
    assert tax_of(known) == Decimal("74.00")
    assert known["service_state"]["changes_to_notify"] == [2026]
