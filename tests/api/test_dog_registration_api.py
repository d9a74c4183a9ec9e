"""A dog registration carried through every step by HTTP alone, on SQLite and PostgreSQL.

Amounts are worked out by hand from Usingen's Hundesteuersatzung (``domain.rules.dog_tax``):
84 EUR a year for the first dog (7 a month), 132 for the second (11 a month), 600 for a
dangerous dog (50 a month); liable from the month after the dog was taken in. The clock
starts on Monday 2 March 2026; the example dog was taken in on 16 February, so it is taxed
from March: ten months.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.services.dog_application import example
from domain.working_days import add_months, berlin_date
from tests.api.conftest import NEW_CASE, Auth

SERVICE = "dog-registration"
APPLICANT = {"name": "Max Mustermann", "email": "max@example.org", "postal_code": "61250"}
COUNTER = {"delivery": "counter"}  # handed over: notified that day
NOTICES = "/dog-tax-change-notices"  # the amending notice (Änderungsbescheid) made known
DOG_FIELDS = {"chip": "chip", "breed": "breed", "dog_born_on": "born_on"}
REFUSED_RELIEF = {"granted": False, "reasons": "Der Nachweis des Tierheims fehlt."}
PERMIT = {
    "granted": True,
    "reasons": "Alle Voraussetzungen nach der HundeVO sind nachgewiesen.",
    "reliability_proof": "Führungszeugnis vom 02.05.2026",
    "expertise_proof": "Sachkundenachweis Nr. 2026-117",
    "temperament_test_passed_on": "2026-05-15",
    "liability_insurance": "Taunus Versicherung AG, Police 4711-0815",
}


def chip(number: int) -> str:
    """A 15-digit microchip number of its own for each dog of a test."""
    return f"276 098 100 {number:06d}"


def at_day(clock: FixedClock, day: date) -> None:
    """Move the clock to the morning of a day (08:00 UTC, in Berlin the same day)."""
    clock.set(clock.now().replace(year=day.year, month=day.month, day=day.day, hour=8))


def dog_request(
    clock: FixedClock,
    *,
    tenant: str = "usingen",
    keeper: str = "Max Mustermann",
    street: str = "Obergasse",
    **changes: Any,
) -> dict[str, Any]:
    """The catalogue's example of the clock's day for this keeper, with changes.

    ``chip``, ``breed`` and ``dog_born_on`` change the dog, ``keeper_born_on`` the keeper;
    any other name is a field of the application (``taken_in_on``, ``relief``, ...).
    """
    data = example(berlin_date(clock.now()))
    data["keeper"]["street"] = street
    for name, value in changes.items():
        if name in DOG_FIELDS:
            data["dog"][DOG_FIELDS[name]] = value
        elif name == "keeper_born_on":
            data["keeper"]["born_on"] = value
        else:
            data[name] = value
    applicant = {**APPLICANT, "name": keeper}
    return {**NEW_CASE, "tenant": tenant, "service": SERVICE, "applicant": applicant, "data": data}


def posted(client: TestClient, url: str, path: str, payload: Any, headers: Any) -> Any:
    """A step that must succeed: 200, the ETag the case's version."""
    response = client.post(url + path, json=payload, headers=headers)
    assert response.status_code == 200, (path, response.json())
    assert response.headers["ETag"] == f'"{response.json()["version"]}"', path
    return response.json()


def refused(
    client: TestClient, url: str, path: str, payload: Any, field: str, headers: Any
) -> dict[str, Any]:
    """A step refused as invalid: 422 problem+json naming the field first."""
    response = client.post(url + path, json=payload, headers=headers)
    assert response.status_code == 422, (path, response.json())
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == field, response.json()
    problem: dict[str, Any] = response.json()
    return problem


def submitted(client: TestClient, auth: Auth, body: dict[str, Any], sub: str) -> str:
    """The keeper's application submitted, claimed and confirmed complete; its URL."""
    tenant = body["tenant"]
    created = client.post(
        "/api/v1/cases", json=body, headers=auth("applicant", sub=sub, tenant=tenant)
    )
    assert created.status_code == 201, created.json()
    url: str = created.headers["Location"]
    clerk = auth("clerk", tenant=tenant)
    posted(client, url, "/claim", None, clerk)
    posted(client, url, "/confirm-complete", None, clerk)
    return url


def registered(
    client: TestClient, auth: Auth, body: dict[str, Any], sub: str
) -> tuple[str, dict[str, Any]]:
    """A dog entered in its town's register; the file's URL and the case as registered."""
    url = submitted(client, auth, body, sub)
    case = posted(client, url, "/dog-register", None, auth("clerk", tenant=body["tenant"]))
    return url, case


def tax_of(case: dict[str, Any], year: int = 2026) -> Decimal:
    """The tax of a year as the file last assessed it."""
    return Decimal(case["service_state"]["tax_years"][str(year)]["due"])


def dog_tax_charges(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The file's dog tax charges in the order they were made."""
    payment = case["payment"] or {"charges": []}  # a file that never charged shows none
    return [c for c in payment["charges"] if c["ledger"] == "dog_tax"]


def test_a_dog_registration_through_every_step(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    keeper = auth("applicant", sub="portal:hundehalter")
    shelter = {"reason": "shelter_dog", "proof": "Tierheim-Vertrag 17", "from_day": "2026-02-16"}
    body = dog_request(clock, relief=shelter)  # the catalogue's example of the day, 2 March
    data = body["data"]
    created = client.post("/api/v1/cases", json=body, headers=keeper)
    assert created.status_code == 201, created.json()
    url = created.headers["Location"]

    def post(path: str, payload: Any = None, as_: Any = clerk) -> Any:
        return posted(client, url, path, payload, as_)

    def refuse(path: str, payload: Any, field: str, as_: Any = clerk) -> None:
        refused(client, url, path, payload, field, as_)

    post("/claim")
    post("/confirm-complete")
    relief = post("/dog-relief", REFUSED_RELIEF)["service_state"]
    assert relief["relief_refused"] is True
    assert relief["relief"] is None

    case = post("/dog-register")
    state = case["service_state"]
    assert case["status"] == "decided"
    assert state["registered_on"] == "2026-03-02"
    assert (state["tag"], state["tags"]) == (1, [1])
    assert state["dangerous"] is False
    decision = case["decision"]
    assert decision["outcome"] == "approved"
    # taken in on 16 February: March to December, 10 months at 7 EUR (84 a year)
    assert Decimal(decision["fee"]) == Decimal("70.00")
    assert decision["particulars"] == {"tag": 1, "tax_years": {"2026": "70.00"}}
    assert "2026: 70,00 EUR" in decision["operative_part"]
    assert "Steuermarke Nr. 1" in decision["operative_part"]
    assert tax_of(case) == Decimal("70.00")
    [charge] = dog_tax_charges(case)
    assert (charge["amount"], charge["withdrawn"]) == ("70.00", False)
    assert charge["kassenzeichen"] == state["tax_years"]["2026"]["kassenzeichen"]
    first_kassenzeichen = charge["kassenzeichen"]

    assert post("/notify", COUNTER)["status"] == "notified"
    refuse(NOTICES, COUNTER, "years")  # nothing re-assessed: no amending notice to make known

    replaced = post("/tag-replacements", None, keeper)  # the keeper reports the tag lost
    assert (replaced["service_state"]["tag"], replaced["service_state"]["tags"]) == (2, [1, 2])
    state = client.get(url, headers=clerk).json()
    [fee] = [c for c in state["payment"]["charges"] if c["refers_to"] == "tag:2"]
    assert (fee["amount"], fee["ledger"], fee["withdrawn"]) == ("5.00", "administrative_fee", False)
    assert tax_of(state) == Decimal("70.00")  # the tax is untouched

    at_day(clock, date(2026, 5, 20))
    refuse("/dangerous-dog-permit", PERMIT, "granted")  # not dangerous (yet)
    refuse("/dog-danger-findings", {"found_on": "2026-05-21", "reasons": "Biss"}, "found_on")
    found = post(
        "/dog-danger-findings", {"found_on": "2026-05-20", "reasons": "Beißvorfall am 18.05."}
    )
    assert found["service_state"]["dangerous"] is True
    assert found["service_state"]["permit_required"] is True
    # March to May 3 x 7 EUR; from June, the month after the finding, 7 x 50 EUR (600 a year)
    assert tax_of(found) == Decimal("371.00")
    charges = dog_tax_charges(found)
    assert [(c["amount"], c["withdrawn"]) for c in charges] == [
        ("70.00", True),
        ("371.00", False),
    ]
    assert charges[0]["kassenzeichen"] == first_kassenzeichen
    assert charges[1]["refers_to"] == "tax-year:2026"
    assert (
        found["service_state"]["tax_years"]["2026"]["kassenzeichen"]
        == (charges[1]["kassenzeichen"])
    )
    assert found["decision"]["fee"] == "70.00"  # the Bescheid as issued stays on record
    # the new amount awaits its amending notice: undated until it is made known
    assert charges[1]["due_on"] is None
    assert found["service_state"]["changes_to_notify"] == [2026]
    assert found["service_state"]["tax_changes"] == []

    # posted on Wednesday 20 May: presumed received four days on, Sunday 24 May, moved past
    # Whit Monday to Tuesday 26 May; due a month later, the objection period ends that day
    amended = post(NOTICES, {"delivery": "letter"})
    assert amended["service_state"]["changes_to_notify"] == []
    assert amended["service_state"]["tax_changes"] == [
        {
            "years": {"2026": "371.00"},
            "notified_on": "2026-05-26",
            "objection_deadline": "2026-06-26",
            "due_on": "2026-06-26",
        }
    ]
    cash = auth("cash_office")
    receivable = client.get(f"/api/v1/receivables/{charges[1]['kassenzeichen']}", headers=cash)
    assert receivable.status_code == 200, receivable.json()
    assert (receivable.json()["due_on"], receivable.json()["status"]) == ("2026-06-26", "open")
    refuse(NOTICES, COUNTER, "years")  # made known: nothing awaits another notice

    for missing in (
        "reliability_proof",
        "expertise_proof",
        "temperament_test_passed_on",
        "liability_insurance",
    ):
        refuse("/dangerous-dog-permit", {**PERMIT, missing: None}, missing)
    refuse(
        "/dangerous-dog-permit",
        {**PERMIT, "temperament_test_passed_on": "2026-05-21"},
        "temperament_test_passed_on",
    )
    permit = post("/dangerous-dog-permit", PERMIT)["service_state"]["permit"]
    assert permit["granted"] is True
    assert permit["decided_on"] == "2026-05-20"
    assert permit["temperament_test_passed_on"] == "2026-05-15"

    at_day(clock, date(2026, 8, 10))
    handover = {
        "reason": "handover",
        "on": "2026-08-10",
        "tag": "returned",
        "new_keeper": "Jonas Weber, Hauptstraße 3, 61250 Usingen",
    }
    refuse("/dog-deregistration", {**handover, "new_keeper": None}, "new_keeper", keeper)
    refuse("/dog-deregistration", {**handover, "on": "2026-08-11"}, "on", keeper)
    gone = post("/dog-deregistration", handover, keeper)
    assert gone["status"] == "deregistered"
    state = gone["service_state"]
    assert (state["deregistered_on"], state["deregistration"]) == ("2026-08-10", "handover")
    assert (state["tag"], state["tags"]) == (None, [1, 2])
    # the tax ends with August: March to May 21 EUR, June to August 3 x 50 EUR
    assert tax_of(gone) == Decimal("171.00")
    assert [(c["amount"], c["withdrawn"]) for c in dog_tax_charges(gone)] == [
        ("70.00", True),
        ("371.00", True),
        ("171.00", False),
    ]
    assert state["changes_to_notify"] == [2026]
    # the keeper handed the amending notice at the counter the same day: due on 10 September
    ended = post(NOTICES, COUNTER)["service_state"]
    assert ended["changes_to_notify"] == []
    assert [notice["years"] for notice in ended["tax_changes"]] == [
        {"2026": "371.00"},
        {"2026": "171.00"},
    ]
    assert ended["tax_changes"][1]["notified_on"] == "2026-08-10"
    assert ended["tax_changes"][1]["due_on"] == "2026-09-10"
    assert ended["tax_changes"][1]["objection_deadline"] == "2026-09-10"
    last = dog_tax_charges(gone)[2]["kassenzeichen"]
    dated = client.get(f"/api/v1/receivables/{last}", headers=cash).json()
    assert (dated["due_on"], dated["amount"]) == ("2026-09-10", "171.00")
    withdrawn = client.get(f"/api/v1/receivables/{charges[1]['kassenzeichen']}", headers=cash)
    assert withdrawn.json()["status"] == "cancelled"

    # a step the status no longer allows: the conflict of the state machine
    lost = client.post(url + "/tag-replacements", headers=keeper)
    assert lost.status_code == 409, lost.json()
    assert lost.headers["content-type"].startswith("application/problem+json")
    assert client.get(url, headers=clerk).json()["service_state"]["tags"] == [1, 2]

    # the chip is free: the new keeper registers the same dog in a file of their own
    new_body = {
        **body,
        "applicant": {**APPLICANT, "name": "Jonas Weber"},
        "data": {
            **data,
            "keeper": {**data["keeper"], "street": "Hauptstraße", "house_number": "3"},
            "taken_in_on": "2026-08-10",
            "relief": None,
        },
    }
    new_url, new_case = registered(client, auth, new_body, "portal:neuer-halter")
    assert new_case["service_state"]["tag"] == 3  # tags 1 and 2 are never issued again
    assert tax_of(new_case) == Decimal("28.00")  # September to December, 4 x 7 EUR
    assert new_url != url

    history = [h["type"] for h in client.get(url + "/history", headers=clerk).json()]
    for step in (
        "ReliefDecided",
        "DogRegistered",
        "TaxYearAssessed",
        "Decided",
        "Notified",
        "TagReplaced",
        "DogFoundDangerous",
        "DangerousDogPermitDecided",
        "DogDeregistered",
        "TaxChangeNotified",
    ):
        assert step in history, (step, history)
    assert history.count("TaxYearAssessed") == 3
    assert history.count("TaxChangeNotified") == 2


def test_the_served_catalogue_example_is_registered(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    entry = client.get(f"/api/v1/services/{SERVICE}").json()
    usingen = entry["fee_tariff"]["towns"]["usingen"]
    assert (usingen["first_dog"], usingen["tag_replacement_fee"]) == ("84.00", "5.00")
    data = entry["example"]
    jsonschema.validate(data, entry["application_schema"])
    # The catalogue dates its example by the application's clock: taken in two weeks ago.
    taken_in = date.fromisoformat(data["taken_in_on"])
    assert taken_in.toordinal() + 14 == berlin_date(clock.now()).toordinal()
    body = {**NEW_CASE, "service": SERVICE, "data": data}
    _, case = registered(client, auth, body, "portal:katalog")
    today = berlin_date(clock.now())
    liable_from = add_months(taken_in.replace(day=1), 1)  # the month after it was taken in
    months = 13 - liable_from.month if liable_from.year == today.year else 0
    assert case["service_state"]["tag"] == 1
    assert Decimal(case["decision"]["fee"]) == Decimal(7 * months)


def test_the_served_catalogue_example_is_accepted_on_the_applications_day(
    client: TestClient, auth: Auth
) -> None:
    data = client.get(f"/api/v1/services/{SERVICE}").json()["example"]
    body = {**NEW_CASE, "service": SERVICE, "data": data}
    created = client.post("/api/v1/cases", json=body, headers=auth("applicant", sub="portal:1"))
    assert created.status_code == 201, created.json()


def test_a_keeper_under_age_gets_no_permit_for_a_listed_breed(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    body = dog_request(clock, chip=chip(1), breed="Rottweiler", keeper_born_on="2010-06-01")
    url, case = registered(client, auth, body, "portal:jung")
    state = case["service_state"]
    assert (state["breed_listed"], state["dangerous"], state["permit_required"]) == (
        True,
        True,
        True,
    )
    assert tax_of(case) == Decimal("500.00")  # a listed breed: 10 x 50 EUR from the start
    problem = refused(client, url, "/dangerous-dog-permit", PERMIT, "granted", clerk)
    assert "18" in problem["errors"][0]["message"] or "18" in problem["detail"]
    assert client.get(url, headers=clerk).json()["service_state"]["permit"] is None
    refusal = {"granted": False, "reasons": "Die Halterin ist nicht volljährig."}
    permit = posted(client, url, "/dangerous-dog-permit", refusal, clerk)["service_state"]
    assert permit["permit"]["granted"] is False


def test_a_chip_is_registered_once_per_town(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    _, first = registered(client, auth, dog_request(clock, chip=chip(7)), "portal:a")
    assert first["service_state"]["tag"] == 1
    # the same chip written differently, in another keeper's file of the same town
    other = dog_request(
        clock, keeper="Erika Musterfrau", street="Neutorstraße", chip="276098100000007"
    )
    url = submitted(client, auth, other, "portal:b")
    problem = refused(client, url, "/dog-register", None, "data.dog.chip", auth("clerk"))
    assert "276" not in problem["detail"]  # the chip number is not echoed
    again = client.get(url, headers=auth("clerk")).json()
    assert again["status"] == "in_review"
    assert again["service_state"]["registered_on"] is None
    # the tag the refused step drew is not spent: the roll was not saved
    _, third = registered(client, auth, dog_request(clock, chip=chip(8)), "portal:c")
    assert third["service_state"]["tag"] == 2

    # another town's register is its own
    elsewhere = dog_request(clock, tenant="neu-anspach", chip=chip(7))
    url, case = registered(client, auth, elsewhere, "portal:d")
    assert case["service_state"]["tag"] == 1  # Neu-Anspach's own roll
    assert tax_of(case) == Decimal("60.00")  # Neu-Anspach: 72 EUR a year, 10 x 6 EUR


def test_tag_numbers_are_per_town_consecutive_and_never_issued_again(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    keeper_a, keeper_b = auth("applicant", sub="portal:a"), auth("applicant", sub="portal:b")
    a_url, a = registered(client, auth, dog_request(clock, chip=chip(1)), "portal:a")
    b_body = dog_request(clock, keeper="Erika Musterfrau", street="Neutorstraße", chip=chip(2))
    b_url, b = registered(client, auth, b_body, "portal:b")
    assert (a["service_state"]["tag"], b["service_state"]["tag"]) == (1, 2)
    posted(client, a_url, "/notify", COUNTER, clerk)  # the Bescheid is made known first
    death = {"reason": "death", "on": "2026-03-02", "tag": "returned"}
    assert posted(client, a_url, "/dog-deregistration", death, keeper_a)["status"] == (
        "deregistered"
    )
    lost = posted(client, b_url, "/tag-replacements", None, keeper_b)["service_state"]
    assert (lost["tag"], lost["tags"]) == (3, [2, 3])
    c_body = dog_request(clock, keeper="Hans Huber", street="Kreuzgasse", chip=chip(3))
    _, c = registered(client, auth, c_body, "portal:c")
    assert c["service_state"]["tag"] == 4  # neither the returned 1 nor the lost 2
    elsewhere = dog_request(clock, tenant="schmitten", chip=chip(4))
    assert registered(client, auth, elsewhere, "portal:d")[1]["service_state"]["tag"] == 1
    d_body = dog_request(clock, keeper="Jana Roth", street="Weiherstraße", chip=chip(5))
    assert registered(client, auth, d_body, "portal:e")[1]["service_state"]["tag"] == 5
    assert client.get(a_url, headers=clerk).json()["service_state"]["tags"] == [1]


def test_the_second_dog_pays_the_second_rate_and_an_assistance_dog_does_not_count(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    _, first = registered(client, auth, dog_request(clock, chip=chip(1)), "portal:a")
    assert tax_of(first) == Decimal("70.00")
    second_body = dog_request(clock, chip=chip(2), taken_in_on="2026-02-20", dogs_in_household=2)
    _, second = registered(client, auth, second_body, "portal:a")
    assert second["service_state"]["registered_dogs_in_household"] == 2
    assert tax_of(second) == Decimal("110.00")  # the second dog: 10 x 11 EUR (132 a year)
    rules = second["decision"]["rules"][0]["inputs"]
    assert len(rules["dogs"]) == 2

    # another keeper: an assistance dog taken in first, exempt, then a dog of their own
    keeper = {"keeper": "Erika Musterfrau", "street": "Neutorstraße"}
    assistance = {
        "reason": "assistance_dog",
        "proof": "Bescheid Versorgungsamt",
        "from_day": "2026-01-10",
    }
    helper_body = dog_request(
        clock, **keeper, chip=chip(3), taken_in_on="2026-01-10", relief=assistance
    )
    helper_url = submitted(client, auth, helper_body, "portal:b")
    granted = {"granted": True, "reasons": "Assistenzhund nachgewiesen."}
    relief = posted(client, helper_url, "/dog-relief", granted, clerk)["service_state"]["relief"]
    assert relief == {"reason": "assistance_dog", "from_day": "2026-01-10", "until": None}
    helper = posted(client, helper_url, "/dog-register", None, clerk)
    assert tax_of(helper) == Decimal("0.00")  # exempt
    assert Decimal(helper["decision"]["fee"]) == Decimal("0.00")
    assert helper["service_state"]["tax_years"]["2026"]["kassenzeichen"] is None
    assert dog_tax_charges(helper) == []  # nothing to collect: no receivable
    pet_body = dog_request(clock, **keeper, chip=chip(4), dogs_in_household=2)
    _, pet = registered(client, auth, pet_body, "portal:b")
    assert pet["service_state"]["registered_dogs_in_household"] == 2
    assert tax_of(pet) == Decimal("70.00")  # the first dog that counts: 7 EUR a month


def test_a_clerk_of_another_town_cannot_see_or_change_the_dog(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url = submitted(client, auth, dog_request(clock, chip=chip(1)), "portal:a")
    stranger = auth("clerk", tenant="neu-anspach")
    assert client.get(url, headers=stranger).status_code == 404
    for path, payload in (
        ("/dog-register", None),
        ("/dog-danger-findings", {"found_on": "2026-03-02", "reasons": "Biss"}),
    ):
        response = client.post(url + path, json=payload, headers=stranger)
        assert response.status_code in (403, 404), (path, response.json())
    own = auth("clerk")
    case = posted(client, url, "/dog-register", None, own)
    assert case["service_state"]["found_dangerous_on"] is None
    for path, payload in (
        ("/tag-replacements", None),
        ("/dog-deregistration", {"reason": "death", "on": "2026-03-02"}),
    ):
        response = client.post(url + path, json=payload, headers=stranger)
        assert response.status_code in (403, 404), (path, response.json())
    after = client.get(url, headers=own).json()
    assert after["version"] == case["version"]
    assert (after["status"], after["service_state"]["tags"]) == ("decided", [1])


def test_invalid_dog_data_names_the_field(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    applicant = auth("applicant", sub="portal:a")
    for changes, field in (
        ({"chip": "276 098 100 00001"}, "data.dog.chip"),  # 14 digits
        ({"chip": "276 098 100 0000012"}, "data.dog.chip"),  # 16 digits
        ({"dog_born_on": "2026-02-01", "taken_in_on": "2026-01-20"}, "data.taken_in_on"),
    ):
        response = client.post(
            "/api/v1/cases", json=dog_request(clock, **changes), headers=applicant
        )
        assert response.status_code == 422, (changes, response.json())
        assert response.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in response.json()["errors"]}, response.json()

    url, _ = registered(client, auth, dog_request(clock, chip=chip(1)), "portal:a")
    # the Bescheid not yet made known: nothing changes the tax, a deregistration conflicts
    death = {"reason": "death", "on": "2026-03-02"}
    early = client.post(url + "/dog-deregistration", json=death, headers=applicant)
    assert early.status_code == 409, early.json()
    posted(client, url, "/notify", COUNTER, auth("clerk"))
    handover = {"reason": "handover", "on": "2026-03-02"}
    refused(client, url, "/dog-deregistration", handover, "new_keeper", applicant)
    refused(client, url, "/dog-deregistration", {**death, "on": "2026-03-03"}, "on", applicant)
    after = client.get(url, headers=auth("clerk")).json()
    assert (after["status"], after["service_state"]["deregistered_on"]) == ("notified", None)


def test_the_decision_audit_replays_the_bescheids_tax(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, case = registered(client, auth, dog_request(clock, chip=chip(1)), "portal:a")
    auditor = auth("auditor")
    [decision] = client.get(url + "/decisions", headers=auditor).json()
    [rules] = [r for r in decision["rules"] if r["rules_id"] == "dog-tax"]
    assert rules["version"] == "usingen-2025-01"
    assert Decimal(rules["inputs"]["total"]) == Decimal(case["decision"]["fee"]) == Decimal("70")
    replay = client.get(url + "/decisions/1/replay", headers=auditor)
    assert replay.status_code == 200, replay.json()
    assert replay.json()["verdict"] == "consistent", replay.json()
    assert replay.json()["differences"] == []


def test_the_cash_office_sees_the_dog_tax_and_its_cancellation(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk, cash = auth("clerk"), auth("cash_office")
    url, case = registered(client, auth, dog_request(clock, chip=chip(1)), "portal:a")
    notified = posted(client, url, "/notify", COUNTER, clerk)
    kassenzeichen = case["service_state"]["tax_years"]["2026"]["kassenzeichen"]

    def open_list(position: int) -> dict[str, dict[str, Any]]:
        response = client.get(
            "/api/v1/receivables", params={"min_position": position}, headers=cash
        )
        assert response.status_code == 200, response.json()
        return {row["kassenzeichen"]: row for row in response.json()}

    row = open_list(notified["position"])[kassenzeichen]
    assert (row["case_id"], row["ledger"], row["status"]) == (case["id"], "dog_tax", "open")
    assert Decimal(row["amount"]) == Decimal(row["outstanding"]) == Decimal("70.00")

    at_day(clock, date(2026, 5, 20))
    finding = {"found_on": "2026-05-20", "reasons": "Beißvorfall"}
    found = posted(client, url, "/dog-danger-findings", finding, clerk)
    new = found["service_state"]["tax_years"]["2026"]["kassenzeichen"]
    assert new != kassenzeichen
    rows = open_list(found["position"])
    assert kassenzeichen not in rows
    assert Decimal(rows[new]["amount"]) == Decimal("371.00")
    earlier = client.get(f"/api/v1/receivables/{kassenzeichen}", headers=cash)
    assert earlier.status_code == 200, earlier.json()
    assert earlier.json()["status"] == "cancelled"
