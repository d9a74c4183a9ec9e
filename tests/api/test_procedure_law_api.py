"""Procedure law over HTTP: notification by delivery, the objection track beside the case,
finality, withdrawal until final, and the remedy notice the town's configuration words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import FixedClock
from domain.services import road_opening, sewer_connection, traffic_sign_order
from domain.working_days import berlin_date, period_end
from tests.api.conftest import NEW_CASE, Auth

PROBLEM = "application/problem+json"
OWNER = "portal:owner"
REJECTION = {"outcome": "rejected", "justification": "Lage ungeeignet", "legal_basis": "§ 1"}
# § 16 (1) HStrG and § 45 (1) StVO give discretion: the decision states its considerations.
DISCRETION = "Die Arbeiten beeinträchtigen den Gemeingebrauch nur für wenige Tage."
PERMIT = {
    "outcome": "approved",
    "justification": "Die Aufgrabung ist zur Versorgung des Grundstücks erforderlich.",
    "legal_basis": "§§ 16, 18 HStrG",
    "discretion": DISCRETION,
}
COUNTER = {"delivery": "counter"}
USINGEN_COMMITTEE = "Anhörungsausschuss beim Kreisausschuss des Hochtaunuskreises"
SUPERVISION = "Der Landrat des Hochtaunuskreises als Behörde der Landesverwaltung"


def at_day(clock: FixedClock, day: date) -> None:
    """Business time jumps to 10:00 in Germany on that day."""
    clock.set(datetime(day.year, day.month, day.day, 9, 0, tzinfo=UTC))


def today(clock: FixedClock) -> date:
    return berlin_date(clock.now())


def submitted(
    client: TestClient,
    auth: Auth,
    service: str = "general",
    data: dict[str, Any] | None = None,
    tenant: str = "usingen",
) -> str:
    """A case the applicant submitted, claimed and found complete by a clerk: its URL."""
    body = {**NEW_CASE, "tenant": tenant, "service": service}
    if data is not None:
        body["data"] = data
    applicant = auth("applicant", sub=OWNER, tenant=tenant)
    created = client.post("/api/v1/cases", json=body, headers=applicant)
    assert created.status_code == 201, created.json()
    url: str = created.headers["Location"]
    clerk = auth("clerk", tenant=tenant)
    for step in ("/claim", "/confirm-complete"):
        response = client.post(url + step, headers=clerk)
        assert response.status_code == 200, (step, response.json())
    return url


def step(
    client: TestClient, auth: Auth, url: str, path: str, body: Any = None, **who: str
) -> dict[str, Any]:
    """A step that succeeds (as a clerk of Usingen unless told otherwise): the case after it."""
    role = who.pop("role", "clerk")
    response = client.post(url + path, json=body, headers=auth(role, **who))
    assert response.status_code == 200, (path, response.json())
    assert response.headers["ETag"] == f'"{response.json()["version"]}"', path
    answer: dict[str, Any] = response.json()
    return answer


def refused(
    client: TestClient, auth: Auth, url: str, path: str, body: Any, field: str, **who: str
) -> str:
    """A step refused with a 422 problem naming ``field``: its message."""
    role = who.pop("role", "clerk")
    response = client.post(url + path, json=body, headers=auth(role, **who))
    assert response.status_code == 422, (path, response.json())
    assert response.headers["content-type"].startswith(PROBLEM)
    error = response.json()["errors"][0]
    assert error["field"] == field, response.json()
    message: str = error["message"]
    return message


def decided_and_notified(
    client: TestClient, auth: Auth, clock: FixedClock, **notification: Any
) -> tuple[str, dict[str, Any]]:
    """A general case rejected and notified (handed over today unless told otherwise)."""
    url = submitted(client, auth)
    step(client, auth, url, "/decide", REJECTION)
    return url, step(client, auth, url, "/notify", notification or COUNTER)


# ------------------------------------------------------------------ notification


@pytest.mark.parametrize(
    ("delivery", "sent_on", "received_on", "notified_on"),
    [
        ("counter", "2026-12-03", None, "2026-12-03"),  # handed over: that day
        ("letter", "2026-12-03", None, "2026-12-07"),  # Thursday + 4 days: Monday
        ("electronic", "2026-12-03", None, "2026-12-07"),
        ("letter", "2026-12-22", None, "2026-12-28"),  # 26th 2. Weihnachtstag, 27th Sunday
        ("letter", "2026-12-03", "2026-12-09", "2026-12-09"),  # received later: that day
        ("letter", "2026-12-03", "2026-12-04", "2026-12-07"),  # earlier: the presumption holds
        ("portal", "2026-12-03", "2026-12-05", "2026-12-06"),  # the day after retrieval
        ("formal_service", "2026-12-03", "2026-12-04", "2026-12-04"),  # the certificate's day
    ],
)
def test_the_day_of_notification_follows_from_the_delivery(
    client: TestClient,
    auth: Auth,
    clock: FixedClock,
    delivery: str,
    sent_on: str,
    received_on: str | None,
    notified_on: str,
) -> None:
    at_day(clock, date(2026, 12, 1))
    url = submitted(client, auth)
    step(client, auth, url, "/decide", REJECTION)
    at_day(clock, date.fromisoformat(received_on or sent_on) + timedelta(days=1))
    body = {"delivery": delivery, "sent_on": sent_on, "received_on": received_on}
    notified = step(client, auth, url, "/notify", body)
    assert notified["status"] == "notified"
    assert notified["notified_on"] == notified_on
    assert notified["notification"] == body
    deadline = period_end(date.fromisoformat(notified_on), 1)  # § 70 (1) VwGO
    assert notified["objection_deadline"] == deadline.isoformat()
    assert notified["decision"]["notified_on"] == notified_on
    assert {"lodge_objection", "mark_final", "withdraw"} <= set(notified["allowed_commands"])
    recorded = client.get(url + "/history", headers=auth("clerk")).json()[-1]
    assert recorded["type"] == "Notified"
    assert recorded["data"]["rules"]["rules_id"] == "bekanntgabe"
    assert recorded["data"]["rules"]["version"] == "2025-4-tage"


@pytest.mark.parametrize("delivery", ["portal", "formal_service"])
def test_a_delivery_that_needs_the_day_of_receipt_is_refused_without_it(
    client: TestClient, auth: Auth, delivery: str
) -> None:
    url = submitted(client, auth)
    step(client, auth, url, "/decide", REJECTION)
    message = refused(client, auth, url, "/notify", {"delivery": delivery}, "received_on")
    assert ("retrieval" if delivery == "portal" else "certificate") in message
    assert client.get(url, headers=auth("clerk")).json()["status"] == "decided"  # unchanged


def test_a_notification_body_names_what_is_wrong(client: TestClient, auth: Auth) -> None:
    url = submitted(client, auth)
    step(client, auth, url, "/decide", REJECTION)
    refused(client, auth, url, "/notify", None, "body")  # how it was sent is required
    refused(client, auth, url, "/notify", {"notified_on": "2026-03-02"}, "delivery")
    refused(client, auth, url, "/notify", {"delivery": "pigeon"}, "delivery")
    before = {"delivery": "letter", "sent_on": "2026-03-02", "received_on": "2026-03-01"}
    refused(client, auth, url, "/notify", before, "received_on")
    refused(
        client, auth, url, "/notify", {"delivery": "letter", "sent_on": "2026-03-03"}, "sent_on"
    )


# ------------------------------------------------------------------ the decision


def test_the_decision_carries_the_towns_remedy_notice_and_the_record_a_bescheid_needs(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    data = road_opening.example(today(clock))
    url = submitted(client, auth, "road-opening", data)
    refused(client, auth, url, "/decide", {**PERMIT, "discretion": None}, "discretion")
    typed = {**PERMIT, "legal_remedy_notice": "Widerspruch binnen eines Monats."}
    refused(client, auth, url, "/decide", typed, "legal_remedy_notice")  # generated now
    own = {
        **PERMIT,
        "outcome": "approved_with_conditions",
        "conditions": ["Verkehrssicherung nach RSA 21"],
        "provisions": [{"kind": "time_limit", "text": "Bis zum Ende der Bauzeit."}],
    }
    message = refused(client, auth, url, "/decide", own, "hearing_held_on")
    assert "§ 28" in message
    decision = step(client, auth, url, "/decide", {**own, "hearing_held_on": "2026-03-02"})[
        "decision"
    ]
    notice = decision["remedy_notice"]
    assert notice["kind"] == "objection"
    assert notice["addressed_to"] == "Der Magistrat der Stadt Usingen"
    assert "dem Magistrat der Stadt Usingen, Wilhelmjstraße 1, 61250 Usingen" in notice["text"]
    assert "innerhalb eines Monats nach seiner Bekanntgabe Widerspruch" in notice["text"]
    assert (notice["version"], notice["complete"]) == ("2025-01", True)
    assert decision["legal_remedy_notice"] == notice["text"]  # as readers knew it
    assert decision["issuing_authority"] == "Der Magistrat der Stadt Usingen"
    assert decision["addressee"] == "Max Mustermann"
    assert decision["discretion"] == DISCRETION
    assert decision["hearing"] == {"held_on": "2026-03-02", "not_needed_because": None}
    assert decision["provisions"] == [
        {"kind": "requirement", "text": "Verkehrssicherung nach RSA 21"},
        {"kind": "time_limit", "text": "Bis zum Ende der Bauzeit."},
    ]
    assert decision["conditions"] == ["Verkehrssicherung nach RSA 21", "Bis zum Ende der Bauzeit."]
    assert decision["operative_part"] == (
        "Die beantragte Genehmigung wird mit den folgenden Nebenbestimmungen erteilt."
    )
    assert decision["costs"]["amount"] == "73.40"
    assert decision["costs"]["due_on"] is None  # due a month after the notification
    notified = step(client, auth, url, "/notify", COUNTER)
    assert notified["decision"]["costs"]["due_on"] == "2026-04-02"


def test_a_traffic_sign_order_names_the_supervising_authority_and_its_objection_goes_there(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    data = traffic_sign_order.example(today(clock))
    url = submitted(client, auth, "traffic-sign-order", data)
    order = {
        "outcome": "approved_with_conditions",
        "justification": "Für den Umzug ist eine Haltverbotszone erforderlich.",
        "legal_basis": "§ 45 Abs. 1, 6 StVO",
        "discretion": DISCRETION,
    }
    for heard in ("police", "road_authority"):  # before every order (VwV-StVO zu § 45)
        hearing = {"authority": heard, "heard_on": "2026-03-02", "response": "consented"}
        step(client, auth, url, "/authority-hearings", hearing)
    decision = step(client, auth, url, "/decide", order)["decision"]
    authority = "Der Bürgermeister der Stadt Usingen als örtliche Straßenverkehrsbehörde"
    assert decision["issuing_authority"] == authority
    notice = decision["remedy_notice"]
    assert notice["addressed_to"] == authority
    assert (
        "dem Bürgermeister der Stadt Usingen als örtlicher Straßenverkehrsbehörde"
        in (notice["text"])
    )
    assert (
        "Die Frist wird auch durch Einlegung bei der Widerspruchsbehörde gewahrt: "
        f"{SUPERVISION}, Ludwig-Erhard-Anlage 1-5, 61352 Bad Homburg v. d. Höhe."
    ) in notice["text"]
    step(client, auth, url, "/notify", COUNTER)
    lodged = step(client, auth, url, "/objections", {"grounds": "Die Zone ist zu lang."})
    # No Anhörungsausschuss in road traffic matters: the objection goes to the supervisor.
    assert "forward_objection" in lodged["allowed_commands"]
    assert "hear_objection" not in lodged["allowed_commands"]
    hearing = client.post(
        url + "/objections/hearing", json={"held_on": "2026-03-02"}, headers=auth("clerk")
    )
    assert hearing.status_code == 409, hearing.json()
    assert hearing.json()["current_status"] == "notified"
    bescheid = {
        "outcome": "dismissed",
        "reasons": "Die Zone ist für den Umzugswagen erforderlich.",
        "costs_borne_by": "objector",
        "served_on": "2026-03-02",
    }
    message = refused(client, auth, url, "/objections/decision", bescheid, "objection")
    assert "forward the objection to the supervising authority first" in message
    elsewhere = {"reason": "Keine Abhilfe.", "authority": "Regierungspräsidium Darmstadt"}
    message = refused(client, auth, url, "/objections/forward", elsewhere, "authority")
    assert SUPERVISION in message  # only the town's configured objection authority
    forwarded = step(client, auth, url, "/objections/forward", {"reason": "Keine Abhilfe."})
    assert forwarded["objections"][0]["state"] == "forwarded"
    assert forwarded["objections"][0]["forwarded_to"].startswith(SUPERVISION)
    assert forwarded["status"] == "notified"  # the main track goes on
    other = {**bescheid, "authority": "Kreisausschuss des Hochtaunuskreises"}
    refused(client, auth, url, "/objections/decision", other, "authority")
    decided = step(client, auth, url, "/objections/decision", bescheid)
    assert decided["objections"][0]["decision"]["decided_by"].startswith(SUPERVISION)


def test_a_gemeinde_names_its_gemeindevorstand(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url = submitted(client, auth, tenant="schmitten")
    decision = step(client, auth, url, "/decide", REJECTION, tenant="schmitten")["decision"]
    assert decision["issuing_authority"] == "Der Gemeindevorstand der Gemeinde Schmitten im Taunus"
    assert (
        "dem Gemeindevorstand der Gemeinde Schmitten im Taunus, Parkstraße 2, "
        "61389 Schmitten im Taunus" in decision["remedy_notice"]["text"]
    )


def test_discretion_is_refused_where_the_law_gives_none(client: TestClient, auth: Auth) -> None:
    url = submitted(client, auth)
    refused(client, auth, url, "/decide", {**REJECTION, "discretion": DISCRETION}, "discretion")


# ------------------------------------------------------------------ the objection track


def test_an_objection_lodged_while_the_works_run_is_heard_decided_and_then_final(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    data = road_opening.example(today(clock))
    url = submitted(client, auth, "road-opening", data)
    step(client, auth, url, "/decide", PERMIT)
    notified = step(client, auth, url, "/notify", COUNTER)
    start = date.fromisoformat(data["planned_period"]["start"])
    at_day(clock, start)
    assert (
        step(client, auth, url, "/works-started", {"started_on": start.isoformat()})["status"]
        == "works_started"
    )

    lodged = step(
        client,
        auth,
        url,
        "/objections",
        {"grounds": "Die Arbeiten versperren meine Einfahrt.", "received_on": start.isoformat()},
    )
    assert lodged["status"] == "works_started"  # the objection is beside the main track
    [objection] = lodged["objections"]
    assert objection["state"] == "pending"
    assert objection["timely"] is True
    assert objection["deadline"] == notified["objection_deadline"]
    assert objection["received_on"] == start.isoformat()
    assert objection["grounds"] == "Die Arbeiten versperren meine Einfahrt."
    assert objection["lodged_by"]["role"] == "clerk"  # staff see who recorded it
    assert {
        "complete_works",
        "hear_objection",
        "remedy_objection",
        "withdraw_objection",
        "decide_objection",
    } <= set(lodged["allowed_commands"])
    # A self-government matter: the town decides after the hearing, nothing is forwarded.
    assert "forward_objection" not in lodged["allowed_commands"]
    assert "lodge_objection" not in lodged["allowed_commands"]
    assert "mark_final" not in lodged["allowed_commands"]
    message = refused(
        client, auth, url, "/objections/remedy", {"reason": "Begründet."}, "new_decision"
    )
    assert "works_started" in message  # the works have begun: remedy without a new decision

    step(client, auth, url, "/works-completed", {"completed_on": start.isoformat()})  # goes on
    heard_on = start + timedelta(days=1)
    at_day(clock, heard_on)
    dismissal = {
        "outcome": "dismissed",
        "reasons": "Die Einfahrt bleibt über die Nebenfläche erreichbar.",
        "costs_borne_by": "objector",
        "served_on": heard_on.isoformat(),
        "fee": "50.00",
    }
    message = refused(client, auth, url, "/objections/decision", dismissal, "objection")
    assert "hearing before the Anhörungsausschuss first" in message  # §§ 7 ff. HessAGVwGO
    assert (
        client.post(url + "/objections/forward", json={"reason": "r"}, headers=auth("clerk"))
    ).status_code == 409  # nothing to forward to in self-government matters
    elsewhere = {"held_on": heard_on.isoformat(), "committee": "Anhörungsausschuss Frankfurt"}
    message = refused(client, auth, url, "/objections/hearing", elsewhere, "committee")
    assert USINGEN_COMMITTEE in message  # only the town's configured committee
    heard = step(client, auth, url, "/objections/hearing", {"held_on": heard_on.isoformat()})
    assert heard["objections"][0]["state"] == "heard"
    assert heard["objections"][0]["heard_on"] == heard_on.isoformat()
    assert heard["objections"][0]["hearing_committee"].startswith(USINGEN_COMMITTEE)
    before_hearing = {**dismissal, "decided_on": start.isoformat()}
    message = refused(client, auth, url, "/objections/decision", before_hearing, "decided_on")
    assert f"before the hearing ({heard_on})" in message
    decided = step(client, auth, url, "/objections/decision", dismissal)
    [objection] = decided["objections"]
    assert objection["state"] == "decided"
    bescheid = objection["decision"]
    assert bescheid["outcome"] == "dismissed"
    assert bescheid["decided_by"] == "Der Magistrat der Stadt Usingen"  # self-government
    assert bescheid["served_on"] == heard_on.isoformat()
    action_deadline = period_end(heard_on, 1)  # § 74 (1) VwGO
    assert bescheid["action_deadline"] == action_deadline.isoformat()
    assert bescheid["costs"] == {
        "borne_by": "objector",
        "legal_basis": "§ 73 Abs. 3 Satz 3 VwGO, § 80 HVwVfG",
        "fee": "50.00",
        "fee_refund": None,
    }
    assert decided["status"] == "works_completed"

    final_from = action_deadline + timedelta(days=1)
    at_day(clock, action_deadline)
    message = refused(client, auth, url, "/mark-final", None, "at")
    assert f"final on {final_from} at the earliest" in message
    at_day(clock, final_from)
    final = step(client, auth, url, "/mark-final")
    assert final["final_on"] == final_from.isoformat()
    assert final["status"] == "works_completed"  # finality is beside the service's steps
    assert "withdraw" not in final["allowed_commands"]  # final: too late to withdraw
    history = [h["type"] for h in client.get(url + "/history", headers=auth("clerk")).json()]
    assert history[-6:] == [
        "WorksStarted",
        "ObjectionLodged",
        "WorksCompleted",
        "ObjectionHeard",
        "ObjectionDecided",
        "BecameFinal",
    ]


def test_mark_final_is_refused_before_the_objection_period_ends_then_accepted(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, notified = decided_and_notified(client, auth, clock)
    assert notified["objection_deadline"] == "2026-04-02"
    at_day(clock, date(2026, 4, 2))  # the period's last day
    message = refused(client, auth, url, "/mark-final", None, "at")
    assert message == "at: the decision can become final on 2026-04-03 at the earliest"
    at_day(clock, date(2026, 4, 3))
    final = step(client, auth, url, "/mark-final")
    assert (final["status"], final["final_on"]) == ("final", "2026-04-03")
    assert "close" in final["allowed_commands"]


def test_a_decision_is_final_the_day_after_a_remedy_that_left_it_in_force(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)  # deadline 2026-04-02
    step(client, auth, url, "/objections", {"grounds": "Die Begründung ist unvollständig."})
    at_day(clock, date(2026, 4, 10))
    remedy = {
        "reason": "Begründet.",
        "new_decision": False,
        "operative_part": "Die Begründung wird um Nr. 2 ergänzt.",
    }
    remedied = step(client, auth, url, "/objections/remedy", remedy)
    assert remedied["objections"][0]["state"] == "remedied"
    assert "mark_final" in remedied["allowed_commands"]
    message = refused(client, auth, url, "/mark-final", None, "at")
    assert message == "at: the decision can become final on 2026-04-11 at the earliest"
    at_day(clock, date(2026, 4, 11))
    assert step(client, auth, url, "/mark-final")["final_on"] == "2026-04-11"


def test_a_late_objection_decided_inadmissible_does_not_hold_finality_back(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)  # deadline 2026-04-02
    at_day(clock, date(2026, 4, 10))
    step(client, auth, url, "/objections", {"grounds": "Zu spät."})
    inadmissible = {
        "outcome": "inadmissible",
        "reasons": "Die Widerspruchsfrist endete am 2. April 2026.",
        "costs_borne_by": "objector",
        "served_on": "2026-04-10",
    }
    decided = step(client, auth, url, "/objections/decision", inadmissible)
    assert decided["objections"][0]["decision"]["action_deadline"] == "2026-05-11"
    # The action deadline of a Bescheid on a late objection does not move finality.
    final = step(client, auth, url, "/mark-final")
    assert final["final_on"] == "2026-04-03"


def test_a_late_objection_is_recorded_and_after_reinstatement_decided_on_its_merits(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)
    at_day(clock, date(2026, 4, 10))
    late = step(
        client,
        auth,
        url,
        "/objections",
        {"grounds": "Ich war im Krankenhaus.", "received_on": "2026-04-09"},
    )
    [objection] = late["objections"]
    assert (objection["timely"], objection["reinstated"]) == (False, False)
    assert objection["deadline"] == "2026-04-02"
    assert "grant_reinstatement" in late["allowed_commands"]
    dismissal = {
        "outcome": "dismissed",
        "reasons": "Unbegründet.",
        "costs_borne_by": "objector",
        "served_on": "2026-04-10",
    }
    message = refused(client, auth, url, "/objections/decision", dismissal, "outcome")
    assert "inadmissible, unless reinstatement is granted first" in message
    reinstated = step(
        client, auth, url, "/objections/reinstatement", {"reason": "Krankenhausaufenthalt belegt."}
    )
    assert (reinstated["objections"][0]["timely"], reinstated["objections"][0]["reinstated"]) == (
        True,
        True,
    )
    assert "grant_reinstatement" not in reinstated["allowed_commands"]
    message = refused(client, auth, url, "/objections/decision", dismissal, "objection")
    assert "hearing" in message  # on its merits now: after the Anhörungsausschuss
    step(client, auth, url, "/objections/hearing", {"held_on": "2026-04-10"})
    decided = step(client, auth, url, "/objections/decision", dismissal)
    assert decided["objections"][0]["decision"]["outcome"] == "dismissed"


def test_reinstatement_more_than_a_year_after_the_period_needs_force_majeure(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    """§ 60 (3) VwGO: after a year from the missed deadline only for force majeure."""
    in_the_year, _ = decided_and_notified(client, auth, clock)
    after_the_year, _ = decided_and_notified(client, auth, clock)  # both: deadline 2026-04-02
    reason = {"reason": "Schwere Erkrankung, ärztlich belegt."}
    at_day(clock, date(2027, 4, 2))  # a year after the period ended: still within it
    step(client, auth, in_the_year, "/objections", {"grounds": "Ich war krank."})
    within = step(client, auth, in_the_year, "/objections/reinstatement", reason)
    assert within["objections"][0]["reinstated"] is True

    at_day(clock, date(2027, 4, 3))
    late = step(client, auth, after_the_year, "/objections", {"grounds": "Ich war krank."})
    assert late["objections"][0]["timely"] is False
    message = refused(
        client, auth, after_the_year, "/objections/reinstatement", reason, "force_majeure"
    )
    assert "§ 60 (3) VwGO" in message
    force = {"reason": "Hochwasser: Der Ort war abgeschnitten.", "force_majeure": True}
    granted = step(client, auth, after_the_year, "/objections/reinstatement", force)
    assert (granted["objections"][0]["timely"], granted["objections"][0]["reinstated"]) == (
        True,
        True,
    )


def test_a_late_objection_without_reinstatement_is_dismissed_as_inadmissible(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)
    at_day(clock, date(2026, 5, 4))
    step(client, auth, url, "/objections", {"grounds": "Zu spät, aber trotzdem."})
    decided = step(
        client,
        auth,
        url,
        "/objections/decision",
        {
            "outcome": "inadmissible",
            "reasons": "Die Widerspruchsfrist endete am 2. April 2026.",
            "costs_borne_by": "objector",
            "served_on": "2026-05-04",
        },
    )
    assert decided["objections"][0]["state"] == "decided"
    assert decided["objections"][0]["timely"] is False


def test_a_remedy_with_a_new_decision_returns_the_case_to_review_and_it_is_notified_again(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)
    step(client, auth, url, "/objections", {"grounds": "Die Lage ist geeignet."})
    remedied = step(
        client,
        auth,
        url,
        "/objections/remedy",
        {"reason": "Der Widerspruch ist begründet.", "costs_borne_by": "authority"},
    )
    assert remedied["status"] == "in_review"
    assert remedied["decision"] is None
    assert (remedied["notified_on"], remedied["notification"]) == (None, None)
    assert remedied["objection_deadline"] is None
    assert remedied["processing"]["decided_on"] is None  # a new decision is due
    [objection] = remedied["objections"]
    assert objection["state"] == "remedied"
    assert objection["remedy"]["outcome"] == "remedied"
    assert objection["remedy"]["costs"]["borne_by"] == "authority"
    assert objection["remedy"]["costs"]["legal_basis"] == "§ 72 VwGO, § 80 HVwVfG"
    assert objection["remedy"]["decided_by"] == "Der Magistrat der Stadt Usingen"
    approval = {"outcome": "approved", "justification": "Nach Abhilfe.", "legal_basis": "§ 1"}
    step(client, auth, url, "/decide", approval)
    again = step(client, auth, url, "/notify", {"delivery": "letter"})
    assert again["notified_on"] == "2026-03-06"  # Monday + 4 days
    assert again["objections"][0]["state"] == "remedied"  # the record stays


def test_a_partial_remedy_says_what_it_changes_and_the_rest_goes_to_the_hearing(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)
    step(client, auth, url, "/objections", {"grounds": "Teilweise unzutreffend."})
    partial = {"reason": "Teilweise begründet.", "extent": "partial", "new_decision": False}
    refused(client, auth, url, "/objections/remedy", partial, "operative_part")
    changed = {**partial, "operative_part": "Die Begründung wird um Nr. 2 ergänzt."}
    partly = step(client, auth, url, "/objections/remedy", changed)
    assert partly["status"] == "notified"  # the decision stays in force
    [objection] = partly["objections"]
    assert objection["state"] == "partly_remedied"
    assert objection["remedy"]["outcome"] == "partly_remedied"
    assert objection["remedy"]["operative_part"] == "Die Begründung wird um Nr. 2 ergänzt."
    assert {"hear_objection", "decide_objection"} <= set(partly["allowed_commands"])
    assert "forward_objection" not in partly["allowed_commands"]  # self-government
    heard = step(client, auth, url, "/objections/hearing", {"held_on": "2026-03-02"})
    assert heard["objections"][0]["state"] == "heard"


def test_a_remedy_refunds_the_permit_fee_up_to_the_fee_assessed(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url = submitted(client, auth, "road-opening", road_opening.example(today(clock)))
    assert step(client, auth, url, "/decide", PERMIT)["decision"]["fee"] == "73.40"
    step(client, auth, url, "/notify", COUNTER)
    step(client, auth, url, "/objections", {"grounds": "Die Gebühr ist zu hoch."})
    remedy = {"reason": "Der Widerspruch ist begründet.", "costs_borne_by": "authority"}
    message = refused(
        client, auth, url, "/objections/remedy", {**remedy, "fee_refund": "73.41"}, "fee_refund"
    )
    assert "(73.40)" in message
    remedied = step(client, auth, url, "/objections/remedy", {**remedy, "fee_refund": "73.40"})
    assert remedied["objections"][0]["remedy"]["costs"] == {
        "borne_by": "authority",
        "legal_basis": "§ 72 VwGO, § 80 HVwVfG",
        "fee": None,
        "fee_refund": "73.40",
    }
    assert (remedied["status"], remedied["decision"]) == ("in_review", None)


def test_refunds_are_bounded_by_the_fee_of_the_decision_in_force_and_every_remedy_is_kept(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url = submitted(client, auth, "road-opening", road_opening.example(today(clock)))
    step(client, auth, url, "/decide", PERMIT)  # fee 73.40
    step(client, auth, url, "/notify", COUNTER)
    step(client, auth, url, "/objections", {"grounds": "Die Gebühr ist zu hoch."})
    partial = {
        "reason": "Die Gebühr ist teilweise zu hoch.",
        "extent": "partial",
        "new_decision": False,
        "operative_part": "Die Gebühr wird auf 33,40 EUR ermäßigt.",
        "fee_refund": "40.00",
    }
    step(client, auth, url, "/objections/remedy", partial)
    full = {"reason": "Im Übrigen begründet.", "fee_refund": "33.41"}
    message = refused(client, auth, url, "/objections/remedy", full, "fee_refund")
    assert "(73.40)" in message  # the fee of the decision in force
    assert "(40.00)" in message  # less what was refunded of it
    remedied = step(client, auth, url, "/objections/remedy", {**full, "fee_refund": "33.40"})
    [objection] = remedied["objections"]
    assert [r["outcome"] for r in objection["remedies"]] == ["partly_remedied", "remedied"]
    assert [r["costs"]["fee_refund"] for r in objection["remedies"]] == ["40.00", "33.40"]
    assert objection["remedy"] == objection["remedies"][-1]

    # The new decision assesses its own fee: what was refunded of the old one is not counted.
    assert step(client, auth, url, "/decide", PERMIT)["decision"]["fee"] == "73.40"
    step(client, auth, url, "/notify", COUNTER)
    step(client, auth, url, "/objections", {"grounds": "Die neue Gebühr ist zu hoch."})
    again = step(
        client, auth, url, "/objections/remedy", {"reason": "Begründet.", "fee_refund": "73.40"}
    )
    assert again["objections"][1]["remedy"]["costs"]["fee_refund"] == "73.40"


def test_a_defective_remedy_notice_reopens_a_decision_marked_final_within_the_year(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)  # handed over on 2026-03-02
    after_the_year, _ = decided_and_notified(client, auth, clock)
    at_day(clock, date(2026, 4, 3))
    final = step(client, auth, url, "/mark-final")
    assert final["status"] == "final"
    assert "record_remedy_notice_defect" in final["allowed_commands"]
    defect = step(client, auth, url, "/remedy-notice-defect", {"reason": "Die Anschrift fehlte."})
    assert (defect["status"], defect["final_on"]) == ("notified", None)  # open again
    assert defect["objection_deadline"] == "2027-03-02"  # § 58 (2) VwGO
    lodged = step(client, auth, url, "/objections", {"grounds": "Die Lage ist geeignet."})
    assert lodged["objections"][0]["timely"] is True
    assert "mark_final" not in lodged["allowed_commands"]  # an objection in time is open

    step(client, auth, after_the_year, "/mark-final")
    at_day(clock, date(2027, 3, 3))  # the year of § 58 (2) VwGO ended on 2027-03-02
    message = refused(
        client, auth, after_the_year, "/remedy-notice-defect", {"reason": "Fehlte."}, "at"
    )
    assert "ended on 2027-03-02" in message
    unchanged = client.get(after_the_year, headers=auth("clerk")).json()
    assert (unchanged["status"], unchanged["final_on"]) == ("final", "2026-04-03")


def test_a_defective_remedy_notice_gives_a_year_for_the_objection(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)
    defect = step(
        client, auth, url, "/remedy-notice-defect", {"reason": "Die Anschrift fehlte im Bescheid."}
    )
    assert defect["objection_deadline"] == "2027-03-02"  # § 58 (2) VwGO
    assert defect["decision"]["remedy_notice"]["complete"] is False
    assert "record_remedy_notice_defect" not in defect["allowed_commands"]
    at_day(clock, date(2026, 6, 1))
    lodged = step(client, auth, url, "/objections", {"grounds": "Die Lage ist geeignet."})
    assert lodged["objections"][0]["timely"] is True


def test_the_objector_withdraws_the_objection_and_the_decision_becomes_final(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)
    step(client, auth, url, "/objections", {"grounds": "Die Lage ist geeignet."})
    withdrawn = step(client, auth, url, "/objections/withdraw", role="applicant", sub=OWNER)
    assert withdrawn["objections"][0]["state"] == "withdrawn"
    assert withdrawn["objections"][0]["withdrawn_on"] == "2026-03-02"
    assert "lodge_objection" not in withdrawn["allowed_commands"]  # the applicant's view
    at_day(clock, date(2026, 4, 3))
    assert step(client, auth, url, "/mark-final")["final_on"] == "2026-04-03"


def test_the_applicant_withdraws_after_notification_until_the_decision_is_final(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)
    withdrawn = step(client, auth, url, "/withdraw", role="applicant", sub=OWNER)  # no reason
    assert withdrawn["status"] == "withdrawn"
    assert step(client, auth, url, "/close")["status"] == "closed"  # the withdrawal settled it

    final_url, _ = decided_and_notified(client, auth, clock)
    last_day_url, _ = decided_and_notified(client, auth, clock)
    lapsed_url, _ = decided_and_notified(client, auth, clock)
    at_day(clock, date(2026, 4, 2))  # the objection period's last day
    last_day = step(client, auth, last_day_url, "/withdraw", role="applicant", sub=OWNER)
    assert last_day["status"] == "withdrawn"
    at_day(clock, date(2026, 4, 3))
    # Final by law (bestandskräftig) though no clerk marked it: too late to withdraw.
    message = refused(
        client, auth, lapsed_url, "/withdraw", None, "at", role="applicant", sub=OWNER
    )
    assert "final since 2026-04-03" in message
    assert client.get(lapsed_url, headers=auth("clerk")).json()["status"] == "notified"
    step(client, auth, final_url, "/mark-final")
    too_late = client.post(final_url + "/withdraw", json=None, headers=auth("applicant", sub=OWNER))
    assert too_late.status_code == 409
    assert too_late.headers["content-type"].startswith(PROBLEM)
    assert too_late.json()["current_status"] == "final"


def test_an_objection_in_time_reopens_a_closed_file_and_a_late_one_is_decided_there(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    in_time, _ = decided_and_notified(client, auth, clock)  # deadline 2026-04-02
    late, _ = decided_and_notified(client, auth, clock)
    at_day(clock, date(2026, 4, 3))
    for url in (in_time, late):
        step(client, auth, url, "/mark-final")
        closed = step(client, auth, url, "/close")
        assert closed["status"] == "closed"
        assert {"lodge_objection"} <= set(closed["allowed_commands"])
        assert not {"mark_final", "record_remedy_notice_defect", "withdraw"} & set(
            closed["allowed_commands"]
        )
    at_day(clock, date(2026, 4, 8))
    # Received on the last day of the period, registered after the file was closed.
    body = {"grounds": "Die Lage ist geeignet.", "received_on": "2026-04-02"}
    reopened = step(client, auth, in_time, "/objections", body)
    assert (reopened["status"], reopened["final_on"]) == ("notified", None)
    assert reopened["objections"][0]["timely"] is True
    assert {"hear_objection", "remedy_objection", "decide_objection"} <= set(
        reopened["allowed_commands"]
    )

    body = {"grounds": "Die Lage ist geeignet.", "received_on": "2026-04-07"}
    still_closed = step(client, auth, late, "/objections", body)
    assert (still_closed["status"], still_closed["final_on"]) == ("closed", "2026-04-03")
    assert still_closed["objections"][0]["timely"] is False
    assert {"decide_objection", "grant_reinstatement", "withdraw_objection"} <= set(
        still_closed["allowed_commands"]
    )
    assert not {"mark_final", "record_remedy_notice_defect", "withdraw", "lodge_objection"} & (
        set(still_closed["allowed_commands"])
    )
    inadmissible = {
        "outcome": "inadmissible",
        "reasons": "Die Widerspruchsfrist endete am 2. April 2026.",
        "costs_borne_by": "objector",
        "served_on": "2026-04-08",
    }
    decided = step(client, auth, late, "/objections/decision", inadmissible)
    assert decided["status"] == "closed"
    assert decided["objections"][0]["state"] == "decided"


def test_reinstatement_of_a_late_objection_on_a_closed_file_reopens_it(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)  # deadline 2026-04-02
    at_day(clock, date(2026, 4, 3))
    step(client, auth, url, "/mark-final")
    step(client, auth, url, "/close")
    at_day(clock, date(2026, 4, 8))
    step(client, auth, url, "/objections", {"grounds": "Ich war im Krankenhaus."})
    reinstated = step(
        client, auth, url, "/objections/reinstatement", {"reason": "Krankenhausaufenthalt belegt."}
    )
    assert reinstated["objections"][0]["timely"] is True
    assert reinstated["final_on"] is None  # the decision is open again ...
    assert reinstated["status"] == "notified"  # ... and so is the file, as for one in time


# ------------------------------------------------------------------ the processing clock


def test_completeness_counts_from_the_last_document_and_the_clock_shows_overdue(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    applicant = auth("applicant", sub=OWNER)
    created = client.post("/api/v1/cases", json=NEW_CASE, headers=applicant).json()
    url = f"/api/v1/cases/{created['id']}"
    step(client, auth, url, "/claim")
    at_day(clock, date(2026, 3, 9))
    refused(
        client,
        auth,
        url,
        "/confirm-complete",
        {"documents_complete_on": "2026-03-10"},
        "documents_complete_on",
    )
    started = step(client, auth, url, "/confirm-complete", {"documents_complete_on": "2026-03-03"})
    clock_out = started["processing"]
    assert clock_out["started_on"] == "2026-03-03"
    assert (clock_out["deemed_approval"], clock_out["overdue"]) == (False, False)
    due = date.fromisoformat(clock_out["due_on"])
    told = {"working_days": 5, "reason": "Gutachten", "communicated_on": "2026-03-10"}
    refused(client, auth, url, "/extend-period", told, "communicated_on")  # in the future
    early = {**told, "communicated_on": "2026-03-02"}  # before the period started
    message = refused(client, auth, url, "/extend-period", early, "communicated_on")
    assert "precede the start" in message
    at_day(clock, due + timedelta(days=1))
    overdue = client.get(url, headers=auth("clerk")).json()["processing"]
    assert overdue["overdue"] is True
    late = {**told, "communicated_on": (due + timedelta(days=1)).isoformat()}
    message = refused(client, auth, url, "/extend-period", late, "at")
    assert f"the period ended on {due}" in message
    decided = step(client, auth, url, "/decide", REJECTION)["processing"]
    assert decided["decided_on"] == (due + timedelta(days=1)).isoformat()
    assert decided["overdue"] is False  # the decision stopped the clock
    assert decided["due_on"] == due.isoformat()
    first = client.get(url, params={"version": 1}, headers=auth("clerk")).json()
    assert first["processing"]["overdue"] is None  # an earlier version: no "today"


def test_a_permit_handed_over_the_day_it_was_decided_keeps_its_last_day(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    """Headstone permit: a validity counted from notification, the same day as decided."""
    from domain.services import headstone_permit

    url = submitted(client, auth, "headstone-permit", headstone_permit.example(today(clock)))
    permit = {"outcome": "approved_with_conditions", "justification": "j", "legal_basis": "FO"}
    decided = step(client, auth, url, "/decide", permit)["decision"]
    notified = step(client, auth, url, "/notify", COUNTER)["decision"]
    assert notified["expires_on"] == decided["expires_on"] == "2027-03-02"


def test_a_sewer_permit_handed_over_the_day_it_was_decided_keeps_its_last_day(
    client: TestClient, auth: Auth
) -> None:
    url = submitted(client, auth, "sewer-connection", sewer_connection.example(date(2026, 3, 2)))
    point = {"manhole": "S 1", "invert_depth_m": "2.00", "description": "Fahrbahnmitte"}
    step(client, auth, url, "/connection-point", point)
    permit = {"outcome": "approved_with_conditions", "justification": "j", "legal_basis": "§ 5"}
    decided = step(client, auth, url, "/decide", permit)["decision"]
    notified = step(client, auth, url, "/notify", COUNTER)["decision"]
    assert notified["expires_on"] == decided["expires_on"]


# ------------------------------------------------------------------ who may


NEW_ROUTES: dict[str, dict[str, Any] | None] = {
    "/objections/hearing": {"held_on": "2026-03-02"},
    "/objections/reinstatement": {"reason": "r"},
    "/objections/remedy": {"reason": "r"},
    "/objections/forward": {"reason": "r"},
    "/objections/decision": {
        "outcome": "dismissed",
        "reasons": "r",
        "costs_borne_by": "objector",
        "served_on": "2026-03-02",
    },
    "/objections/withdraw": None,
    "/objections": {"grounds": "g"},
    "/remedy-notice-defect": {"reason": "r"},
    "/mark-final": None,
    "/notify": COUNTER,
    "/withdraw": None,
}


def test_the_legal_track_is_closed_to_other_towns_and_to_other_applicants(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url, _ = decided_and_notified(client, auth, clock)
    step(client, auth, url, "/objections", {"grounds": "Die Lage ist geeignet."})
    version = client.get(url, headers=auth("clerk")).json()["version"]
    for path, body in NEW_ROUTES.items():
        for role in ("clerk", "supervisor"):
            foreign = client.post(url + path, json=body, headers=auth(role, tenant="schmitten"))
            assert foreign.status_code == 404, (path, role, foreign.json())
            assert foreign.headers["content-type"].startswith(PROBLEM)
        stranger = client.post(url + path, json=body, headers=auth("applicant", sub="portal:x"))
        applicant_step = path in ("/objections/withdraw", "/withdraw")
        assert stranger.status_code == (404 if applicant_step else 403), (path, stranger.json())
        for role in ("auditor", "admin", "integrator"):
            assert client.post(url + path, json=body, headers=auth(role)).status_code == 403
        if not applicant_step:  # the owner may not give staff's steps either
            owner = client.post(url + path, json=body, headers=auth("applicant", sub=OWNER))
            assert owner.status_code == 403, (path, owner.json())
    assert client.get(url, headers=auth("clerk")).json()["version"] == version  # untouched
