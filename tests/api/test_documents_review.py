"""The documents of a case under review (issue #22): erasure, a new decision after a remedy,
every kind by HTTP, bad input, a failed postbox, who may read, withdrawal, double sending,
history and feed. One app for the module (SQLite), few PDFs rendered."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError
from fastapi.testclient import TestClient

from api.app import create_app
from application.clock import FixedClock
from application.document_ports import Report
from domain.actor import Actor, Role
from domain.documents import Outcome
from domain.services.sewer_connection import example as sewer_example
from domain.working_days import berlin_date
from infrastructure.settings import Settings
from tests.api.conftest import NEW_CASE, SECRET, Auth
from tests.conftest import sqlite_target
from tests.infrastructure.deemed_approval_steps import statutory_period

PROBLEM = "application/problem+json"
SEWER_PERMIT = {
    "outcome": "approved_with_conditions",
    "justification": "Das Grundstück unterliegt dem Anschluss- und Benutzungszwang.",
    "legal_basis": "§ 5 Entwässerungssatzung",
}
REJECTION = {"outcome": "rejected", "justification": "Lage ungeeignet", "legal_basis": "§ 1"}


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    """Monday 2 March 2026, 09:00 in Germany; tests only move it forward."""
    return FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture(scope="module")
def client(
    tmp_path_factory: pytest.TempPathFactory, seal_files: tuple[Path, Path], clock: FixedClock
) -> Iterator[TestClient]:
    """One app for every test here: each test works on cases of its own."""
    root = tmp_path_factory.mktemp("documents-review")
    key, certificate = seal_files
    settings = Settings(
        database_url=sqlite_target(root).display,
        token_secret=SECRET,
        retry_after_seconds=2,
        read_your_writes_seconds=120,
        documents_dir=str(root / "documents"),
        postbox_dir=str(root / "postbox"),
        print_dir=str(root / "print"),
        seal_key_file=str(key),
        seal_certificate_file=str(certificate),
    )
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client


def vorgang_of(client: TestClient) -> Any:
    return client.app.state.provider.get()  # type: ignore[attr-defined]


def problem(response: Any, status: int, field: str | None = None) -> str:
    """The response is a problem of this status, naming ``field``: its first message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    if field is None:
        return str(body.get("detail"))
    assert [e["field"] for e in body["errors"]][:1] == [field], body
    return str(body["errors"][0]["message"])


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    if response.headers["content-type"] == "application/pdf":
        return response.content
    return response.json()


def general_case(client: TestClient, auth: Auth, sub: str, **applicant: str) -> str:
    """A general case submitted by ``sub`` through the portal, claimed and complete: its URL."""
    body = {**NEW_CASE, "applicant": {**NEW_CASE["applicant"], **applicant}}
    created = client.post("/api/v1/cases", json=body, headers=auth("applicant", sub=sub))
    url: str = ok(created, 201) and created.headers["Location"]
    for path in ("/claim", "/confirm-complete"):
        ok(client.post(url + path, headers=auth("clerk")))
    return url


def rejected(client: TestClient, auth: Auth, sub: str) -> str:
    """A general case rejected (not yet notified): its URL."""
    url = general_case(client, auth, sub, street="Am Markt", house_number="1", city="Usingen")
    ok(client.post(url + "/decide", json=REJECTION, headers=auth("clerk")))
    return url


def issue(client: TestClient, auth: Auth, url: str, kind: str = "decision", **more: Any) -> Any:
    return client.post(url + "/documents", json={"kind": kind, **more}, headers=auth("clerk"))


def erase(client: TestClient, auth: Auth, url: str, subjects: Any) -> None:
    case_id = url.rsplit("/", 1)[-1]
    ok(
        client.post(
            f"/api/v1/admin/cases/{case_id}/erasure",
            json={"reason": "Löschersuchen", "legal_basis": "Art. 17 DSGVO", "subjects": subjects},
            headers=auth("admin"),
        )
    )


def today(clock: FixedClock) -> date:
    return berlin_date(clock.now())


# ------------------------------------------------------------------ (1) erasure


def test_after_erasing_the_applicant_the_document_is_gone_and_nothing_new_goes_to_them(
    client: TestClient, auth: Auth
) -> None:
    url = rejected(client, auth, "portal:r1")
    ok(issue(client, auth, url), 201)
    ok(client.get(url + "/documents/1", headers=auth("clerk")))
    erase(client, auth, url, ["applicant"])

    gone = client.get(url + "/documents/1", headers=auth("clerk"))
    problem(gone, 410)
    listed = ok(client.get(url + "/documents", headers=auth("clerk")))
    assert [d["number"] for d in listed] == [1]

    # Sending the letter to the erased address: refused, naming the channel.
    for channel in ("letter", "portal", "counter"):
        sending = client.post(
            url + "/documents/1/sendings", json={"channel": channel}, headers=auth()
        )
        problem(sending, 422, "channel")
    # A new letter to an addressee whose name and address are erased: refused, not a 500.
    for channel in (None, "letter"):
        problem(issue(client, auth, url, channel=channel), 422, "addressee")
    assert [d["number"] for d in ok(client.get(url + "/documents", headers=auth()))] == [1]
    # Every subject erased (staff names too): still listed, still gone.
    erase(client, auth, url, "all")
    (listed_after,) = ok(client.get(url + "/documents", headers=auth("auditor")))
    assert listed_after["sha256"] == listed[0]["sha256"]
    problem(client.get(url + "/documents/1", headers=auth("auditor")), 410)


def notified_by_counter(client: TestClient, auth: Auth, url: str) -> Any:
    """The decision in force issued and handed over at the counter: the document."""
    return ok(issue(client, auth, url, channel="counter"), 201)


# ------------------------------------------------------------------ (2) a new decision


def test_the_old_bescheid_does_not_notify_the_decision_that_replaced_it(
    client: TestClient, auth: Auth
) -> None:
    clerk = auth("clerk")
    url = rejected(client, auth, "portal:r2")
    first = notified_by_counter(client, auth, url)
    assert first["refers_to"] == 1
    assert ok(client.get(url, headers=clerk))["status"] == "notified"
    ok(client.post(url + "/objections", json={"grounds": "Unrichtig."}, headers=clerk))
    remedied = ok(
        client.post(url + "/objections/remedy", json={"reason": "Begründet."}, headers=clerk)
    )
    assert remedied["status"] == "in_review"
    # No decision in force: no Bescheid. A copy of the old one may still go out.
    problem(issue(client, auth, url), 422, "kind")
    copy = client.post(url + "/documents/1/sendings", json={"channel": "portal"}, headers=clerk)
    ok(copy)
    permit = {"outcome": "approved", "justification": "Nun doch.", "legal_basis": "§ 2"}
    ok(client.post(url + "/decide", json=permit, headers=clerk))
    # The applicant opens the old copy: recorded, but the new decision is not notified by it.
    ok(client.get(url + "/documents/1", headers=auth("applicant", sub="portal:r2")))
    case = ok(client.get(url, headers=clerk))
    assert (case["status"], case["notified_on"]) == ("decided", None)
    (old,) = [d for d in ok(client.get(url + "/documents", headers=clerk)) if d["number"] == 1]
    assert old["dispatches"][-1]["outcome"] == "retrieved"
    # The new Bescheid refers to the second decision, and its hand-over notifies it.
    second = notified_by_counter(client, auth, url)
    assert (second["number"], second["refers_to"]) == (2, 2)
    case = ok(client.get(url, headers=clerk))
    assert case["status"] == "notified"
    assert case["notified_on"] is not None


# ------------------------------------------------------------------ (3) every kind by HTTP


def test_a_widerspruchsbescheid_is_issued_with_its_kassenzeichen_and_sets_nothing(
    client: TestClient, auth: Auth
) -> None:
    clerk = auth("clerk")
    url = rejected(client, auth, "portal:r3")
    notified_by_counter(client, auth, url)
    ok(client.post(url + "/objections", json={"grounds": "Unrichtig."}, headers=clerk))
    problem(issue(client, auth, url, "objection_decision"), 422, "kind")
    day = ok(client.get(url, headers=clerk))["notified_on"]
    ok(client.post(url + "/objections/hearing", json={"held_on": day}, headers=clerk))
    dismissal = {
        "outcome": "dismissed",
        "reasons": "Unbegründet.",
        "costs_borne_by": "objector",
        "served_on": day,
    }
    decided = ok(client.post(url + "/objections/decision", json=dismissal, headers=clerk))
    version = decided["version"]
    document = ok(issue(client, auth, url, "objection_decision", channel="counter"), 201)
    assert (document["kind"], document["refers_to"], document["number"]) == (
        "objection_decision",
        1,
        2,
    )
    fee = decided["objections"][0]["decision"]["costs"]["fee"]
    assert (document["cash_reference"] is not None) is bool(fee and float(fee) > 0)
    assert document["dispatches"][0]["outcome"] == "handed_over"
    after = ok(client.get(url, headers=clerk))
    assert after["version"] == version + 3  # issued, sent, handed over: nothing else


def test_an_information_request_goes_to_the_portal_and_its_download_is_recorded(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk, applicant = auth("clerk"), auth("applicant", sub="portal:r4")
    url = general_case(client, auth, "portal:r4")
    problem(issue(client, auth, url, "information_request"), 422, "kind")
    reply_by = (today(clock) + timedelta(days=14)).isoformat()
    asked = {"questions": ["Lageplan?"], "reply_by": reply_by}
    ok(client.post(url + "/request-information", json=asked, headers=clerk))
    document = ok(issue(client, auth, url, "information_request", channel="portal"), 201)
    assert document["refers_to"] is None
    (mine,) = ok(client.get(url + "/documents", headers=applicant))
    assert mine["title"] == "Anforderung fehlender Angaben und Unterlagen"
    ok(client.get(url + "/documents/1", headers=applicant))
    (seen,) = ok(client.get(url + "/documents", headers=clerk))
    assert seen["dispatches"][0]["outcome"] == "retrieved"
    case = ok(client.get(url, headers=clerk))
    assert (case["status"], case["notified_on"]) == ("information_requested", None)


def test_a_charge_assessment_goes_to_its_debtor_by_letter_whose_posting_notifies_it(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk, owner = auth("clerk"), auth("applicant", sub="portal:r5")
    body = {**NEW_CASE, "service": "sewer-connection", "data": sewer_example(date(2026, 3, 2))}
    created = client.post("/api/v1/cases", json=body, headers=owner)
    url = ok(created, 201) and created.headers["Location"]

    def post(path: str, payload: Any = None, as_: Any = clerk) -> Any:
        return ok(client.post(url + path, json=payload, headers=as_))

    post("/claim")
    post("/confirm-complete")
    post("/connection-point", {"manhole": "S 1", "invert_depth_m": "2.00", "description": "d"})
    post("/decide", SEWER_PERMIT)
    notified_by_counter(client, auth, url)
    day = today(clock).isoformat()
    post("/construction-reported", {"completed_on": day, "pipe_length_m": "12.00"}, owner)
    leak = {"tested_on": day, "method": "water", "result": "passed", "tester": "K. W."}
    post("/leak-tests", leak)
    post("/connection-inspections", {"inspected_on": day})
    problem(issue(client, auth, url, "charge_assessment"), 422, "kind")  # not yet assessed
    post(
        "/connection-charge",
        {"debtor_name": "Jonas Keller", "debtor_address": "Weg 7, 61250 Usingen"},
    )

    # The debtor has no account: not the portal, not the postbox.
    problem(issue(client, auth, url, "charge_assessment", channel="portal"), 422, "channel")
    document = ok(issue(client, auth, url, "charge_assessment", channel="letter"), 201)
    assert (document["addressee"], document["refers_to"]) == ("debtor", 1)
    assert document["cash_reference"]
    # The applicant (the seller) does not read the buyer's assessment.
    applicant_sees = ok(client.get(url + "/documents", headers=owner))
    assert [d["kind"] for d in applicant_sees] == ["decision"]
    problem(client.get(url + f"/documents/{document['number']}", headers=owner), 422, "number")
    posted = {"outcome": "posted", "on": day}
    done = client.post(
        url + f"/documents/{document['number']}/outcomes", json=posted, headers=clerk
    )
    assert ok(done)["dispatches"][0]["outcome"] == "posted"
    charge = ok(client.get(url, headers=clerk))["service_state"]["charge_assessment"]
    assert charge["notified_on"] is not None
    history = [h["type"] for h in ok(client.get(url + "/history", headers=clerk))]
    assert history[-3:] == ["DocumentSent", "DeliveryReported", "ConnectionChargeNotified"]
    # A copy posted later is recorded; the Bekanntgabe of the first stands.
    number = document["number"]
    ok(
        client.post(
            url + f"/documents/{number}/sendings", json={"channel": "letter"}, headers=clerk
        )
    )
    copy = client.post(url + f"/documents/{number}/outcomes", json=posted, headers=clerk)
    assert [d["outcome"] for d in ok(copy)["dispatches"]] == ["posted", "posted"]
    again = ok(client.get(url, headers=clerk))["service_state"]["charge_assessment"]
    assert again["notified_on"] == charge["notified_on"]


# ------------------------------------------------------------------ (4) bad input


def test_bad_input_is_a_problem_naming_the_field(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = rejected(client, auth, "portal:r6")
    problem(issue(client, auth, url, "bescheid"), 422, "kind")
    problem(issue(client, auth, url, channel="pigeon"), 422, "channel")
    problem(client.post(url + "/documents", json={}, headers=clerk), 422, "kind")
    problem(issue(client, auth, url, extra=1), 422, "extra")
    stale = client.post(
        url + "/documents", json={"kind": "decision"}, headers={**clerk, "If-Match": '"1"'}
    )
    assert stale.status_code == 412, stale.text
    assert stale.headers["content-type"].startswith(PROBLEM)
    assert client.get(url + "/documents", headers=clerk).json() == []  # nothing issued

    version = ok(client.get(url, headers=clerk))["version"]
    issued = client.post(
        url + "/documents",
        json={"kind": "decision", "channel": "letter"},
        headers={**clerk, "If-Match": f'"{version}"'},
    )
    ok(issued, 201)
    assert issued.headers["ETag"] == f'"{version + 2}"'
    for number in ("0", "2", "-1", "x"):
        problem(client.get(url + f"/documents/{number}", headers=clerk), 422, "number")
        sending = client.post(
            url + f"/documents/{number}/sendings", json={"channel": "letter"}, headers=clerk
        )
        problem(sending, 422, "number")
    sent_on = date.fromisoformat(issued.json()["dispatches"][0]["sent_on"])

    def report(**body: Any) -> Any:
        return client.post(url + "/documents/1/outcomes", json=body, headers=clerk)

    problem(report(outcome="failed", on=sent_on.isoformat()), 422, "failure")
    problem(report(outcome="failed", on=sent_on.isoformat(), failure="  "), 422, "failure")
    problem(report(outcome="posted", on=(sent_on - timedelta(days=1)).isoformat()), 422, "on")
    tomorrow = (today(clock) + timedelta(days=1)).isoformat()
    problem(report(outcome="posted", on=tomorrow), 422, "on")
    problem(report(outcome="retrieved", on=sent_on.isoformat()), 422, "outcome")
    problem(report(outcome="lost", on=sent_on.isoformat()), 422, "outcome")
    problem(report(outcome="posted", on="2026-02-30"), 422, "on")
    problem(report(outcome="posted"), 422, "on")
    stale_report = client.post(
        url + "/documents/1/outcomes",
        json={"outcome": "posted", "on": sent_on.isoformat()},
        headers={**clerk, "If-Match": f'"{version}"'},
    )
    assert stale_report.status_code == 412
    # Nothing of it was recorded: the letter still awaits its posting day.
    (document,) = ok(client.get(url + "/documents", headers=clerk))
    assert document["dispatches"][0]["outcome"] is None
    assert ok(client.get(url, headers=clerk))["version"] == version + 2


# ------------------------------------------------------------------ (5) a failed postbox


def caught_up(vorgang: Any, *views: str) -> None:
    """These views applied everything written so far (a bound, not a wait)."""
    projections = vorgang.projections
    head = projections.head()
    for view in views:
        assert projections.wait_for(view, head, timeout=120)


def test_a_failed_postbox_is_followed_by_a_letter_whose_posting_notifies_and_the_feed_says_so(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = rejected(client, auth, "portal:r7")
    document = ok(issue(client, auth, url, channel="postbox"), 201)
    vorgang = vorgang_of(client)
    day = today(clock)
    reason = "Postfach von Max Mustermann geschlossen"
    vorgang.documents.ports.postbox.bounce(document["dispatches"][0]["reference"], day, reason)
    caught_up(vorgang, "open_dispatches")
    assert vorgang.delivery_watch.tick(day).recorded >= 1
    (after,) = ok(client.get(url + "/documents", headers=clerk))
    failed, letter = after["dispatches"]
    assert (failed["outcome"], failed["failure"]) == ("failed", reason)
    assert (letter["channel"], letter["outcome"]) == ("letter", None)
    assert ok(client.get(url, headers=clerk))["notified_on"] is None

    from infrastructure.documents.print_service import PrintServiceSimulator

    caught_up(vorgang, "open_dispatches")
    assert PrintServiceSimulator(vorgang.settings.print_dir).post(day, day) >= 1
    assert vorgang.delivery_watch.tick(day).recorded >= 1
    case = ok(client.get(url, headers=clerk))
    assert case["status"] == "notified"
    assert case["notification"]["delivery"] == "letter"
    assert case["notification"]["sent_on"] == day.isoformat()

    # (9) History: who and when for each; the system recorded the channel's reports.
    history = ok(client.get(url + "/history", headers=clerk))
    kinds = [h["type"] for h in history]
    assert kinds[-6:] == [
        "DocumentIssued",
        "DocumentSent",
        "DeliveryReported",
        "DocumentSent",
        "DeliveryReported",
        "Notified",
    ]
    for entry in history[-6:]:
        assert entry["actor"]["id"], entry
        assert entry["at"], entry
    assert history[-6]["actor"]["role"] == "clerk"
    assert {h["actor"]["role"] for h in history[-4:]} == {"system"}


def test_a_failed_postbox_without_a_postal_address_is_recorded_and_waits_for_staff(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    body = {**NEW_CASE, "applicant": {"name": "Max Mustermann", "email": "max@example.org"}}
    created = client.post("/api/v1/cases", json=body, headers=auth("applicant", sub="portal:r13"))
    url = ok(created, 201) and created.headers["Location"]
    for path, payload in (("/claim", None), ("/confirm-complete", None), ("/decide", REJECTION)):
        ok(client.post(url + path, json=payload, headers=clerk))
    document = ok(issue(client, auth, url, channel="postbox"), 201)
    reference = document["dispatches"][0]["reference"]
    failed = Report(reference, Outcome.FAILED, today(clock), "Postfach voll")
    vorgang_of(client).documents.record_report(UUID(url.rsplit("/", 1)[-1]), 1, failed)
    (after,) = ok(client.get(url + "/documents", headers=clerk))
    assert [(d["channel"], d["outcome"]) for d in after["dispatches"]] == [("postbox", "failed")]
    # Staff hand it over at the counter, or record an address and send a letter.
    problem(
        client.post(url + "/documents/1/sendings", json={"channel": "letter"}, headers=clerk),
        422,
        "channel",
    )


def test_two_downloads_racing_both_get_the_document_and_record_one_retrieval(
    client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    applicant = auth("applicant", sub="portal:r15")
    url = rejected(client, auth, "portal:r15")
    ok(issue(client, auth, url, channel="portal"), 201)
    vorgang = vorgang_of(client)
    case_id = UUID(url.rsplit("/", 1)[-1])
    person = Actor("portal:r15", "Applicant Person", Role.APPLICANT, "usingen")
    save = vorgang.store.save
    raced: list[bytes] = []

    def save_after_another_download(*objs: Any, **kwargs: Any) -> Any:
        if not raced:  # the other download saves its retrieval first
            raced.append(b"")
            raced[0] = vorgang.documents.file(case_id, 1, actor=person).content
        return save(*objs, **kwargs)

    monkeypatch.setattr(vorgang.store, "save", save_after_another_download)
    first = client.get(url + "/documents/1", headers=applicant)
    monkeypatch.undo()
    assert ok(first) == raced[0]
    (document,) = ok(client.get(url + "/documents", headers=auth("clerk")))
    assert [d["outcome"] for d in document["dispatches"]] == ["retrieved"]
    assert ok(client.get(url, headers=auth("clerk")))["status"] == "notified"


def test_an_issue_saved_again_after_a_lost_race_records_the_letter_the_postbox_holds(
    client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = rejected(client, auth, "portal:r16")
    vorgang = vorgang_of(client)
    save = vorgang.store.save
    lost: list[bool] = []

    def lose_the_first_save(*objs: Any, **kwargs: Any) -> Any:
        if not lost:  # another command was saved first: the issue is done again
            lost.append(True)
            raise IntegrityError("another command was first")
        return save(*objs, **kwargs)

    monkeypatch.setattr(vorgang.store, "save", lose_the_first_save)
    document = ok(issue(client, auth, url, channel="postbox"), 201)
    monkeypatch.undo()
    (message,) = vorgang.documents.ports.postbox.messages("portal:r16")
    assert hashlib.sha256(message.pdf).hexdigest() == document["sha256"]
    pdf = ok(client.get(url + "/documents/1", headers=auth("clerk")))
    assert pdf == message.pdf


def test_the_feed_publishes_the_document_events_without_the_failure_reason(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = rejected(client, auth, "portal:r8")
    case_id = url.rsplit("/", 1)[-1]
    sent_on = ok(issue(client, auth, url, channel="letter"), 201)["dispatches"][0]["sent_on"]
    returned = {"outcome": "failed", "on": sent_on, "failure": "Empfänger Mustermann verzogen"}
    ok(client.post(url + "/documents/1/outcomes", json=returned, headers=clerk))
    ok(client.post(url + "/documents/1/sendings", json={"channel": "counter"}, headers=clerk))
    caught_up(vorgang_of(client), "feed")
    published, after = [], "0"
    while page := ok(
        feed := client.get(
            "/api/v1/feed",
            params={"after": after, "limit": 500, "wait": 0},
            headers=auth("integrator"),
        )
    ):
        published += [e for e in page if e["subject"] == case_id]
        after = feed.headers["Vorgang-Next-After"]
    types = [e["type"].split(".")[-2] for e in published]
    assert types[-6:] == [
        "document_issued",
        "document_sent",
        "delivery_reported",
        "document_sent",
        "delivery_reported",
        "notified",
    ]
    assert published[-4]["data"]["outcome"] == "failed"
    assert "Mustermann" not in str(published)
    assert "verzogen" not in str(published)


# ------------------------------------------------------------------ (6) who may read


def test_other_towns_other_applicants_and_delegated_clerks_see_what_they_may(
    client: TestClient, auth: Auth
) -> None:
    url = rejected(client, auth, "portal:r9")
    delegated = auth("clerk", sub="clerk.na", tenant="neu-anspach", on_behalf_of="usingen")
    issuing = {"kind": "decision", "channel": "portal"}
    issued = ok(client.post(url + "/documents", json=issuing, headers=delegated), 201)
    assert issued["issued_automatically"] is False
    strangers = [
        auth("clerk", tenant="schmitten"),
        auth("supervisor", tenant="schmitten"),
        auth("auditor", tenant="schmitten"),
        auth("clerk", sub="clerk.sm", tenant="schmitten", on_behalf_of="neu-anspach"),
        auth("applicant", sub="portal:r9-other"),
        auth("applicant", sub="portal:r9", tenant="schmitten"),
    ]
    for headers in strangers:
        problem(client.get(url + "/documents", headers=headers), 404)
        problem(client.get(url + "/documents/1", headers=headers), 404)
    for headers in strangers[:2] + strangers[3:4]:
        problem(client.post(url + "/documents", json={"kind": "decision"}, headers=headers), 404)
        send = client.post(
            url + "/documents/1/sendings", json={"channel": "letter"}, headers=headers
        )
        problem(send, 404)
        report = {"outcome": "retrieved", "on": issued["dispatches"][0]["sent_on"]}
        problem(client.post(url + "/documents/1/outcomes", json=report, headers=headers), 404)
    for role in ("auditor", "admin", "integrator", "applicant"):
        who = auth(role, sub="portal:r9") if role == "applicant" else auth(role)
        problem(client.post(url + "/documents", json={"kind": "decision"}, headers=who), 403)
    problem(client.get(url + "/documents", headers=auth("admin")), 403)
    # The delegated clerk reads what they issued; the auditor reads it; the applicant too.
    for headers in (delegated, auth("auditor"), auth("supervisor")):
        ok(client.get(url + "/documents/1", headers=headers))
    assert ok(client.get(url, headers=auth("clerk")))["notified_on"] is None  # staff read only
    ok(client.get(url + "/documents/1", headers=auth("applicant", sub="portal:r9")))
    assert ok(client.get(url, headers=auth("clerk")))["notified_on"] is not None


# ------------------------------------------------------------------ (7) withdrawal


def letters_in_print(client: TestClient) -> int:
    """How many letters the print service's batches hold, of every test."""
    return len(list((Path(vorgang_of(client).settings.print_dir) / "outbox").rglob("*.pdf")))


def test_after_a_withdrawal_documents_are_read_not_sent_and_their_outcomes_still_recorded(
    client: TestClient, auth: Auth
) -> None:
    clerk, applicant = auth("clerk"), auth("applicant", sub="portal:r10")
    url = rejected(client, auth, "portal:r10")
    letter = ok(issue(client, auth, url, channel="letter"), 201)["dispatches"][0]
    ok(issue(client, auth, url, channel="portal"), 201)
    withdrawn = client.post(url + "/withdraw", json={"reason": "Erledigt."}, headers=applicant)
    assert ok(withdrawn)["status"] == "withdrawn"
    problem(issue(client, auth, url), 422, "status")
    assert [d["number"] for d in ok(client.get(url + "/documents", headers=clerk))] == [1, 2]
    ok(client.get(url + "/documents/1", headers=clerk))
    # The print service posted the letter before it learnt of the withdrawal, the applicant
    # downloads the copy in the portal: facts, recorded, that notify nothing.
    vorgang = vorgang_of(client)
    case_id = UUID(url.rsplit("/", 1)[-1])
    posted = Report(letter["reference"], Outcome.POSTED, date.fromisoformat(letter["sent_on"]))
    vorgang.documents.record_report(case_id, 1, posted)
    ok(client.get(url + "/documents/2", headers=applicant))
    listed = ok(client.get(url + "/documents", headers=clerk))
    assert [d["dispatches"][0]["outcome"] for d in listed] == ["posted", "retrieved"]
    case = ok(client.get(url, headers=clerk))
    assert (case["status"], case["notified_on"]) == ("withdrawn", None)
    # Nothing goes out any more: refused before the print service is given the letter.
    printed = letters_in_print(client)
    for channel in ("letter", "counter"):
        again = {"channel": channel}
        problem(
            client.post(url + "/documents/1/sendings", json=again, headers=clerk), 422, "status"
        )
    assert letters_in_print(client) == printed


# ------------------------------------------------------------------ (8) sending twice


def test_no_second_sending_while_one_is_open_and_a_late_counter_copy_changes_nothing(
    client: TestClient, auth: Auth
) -> None:
    clerk = auth("clerk")
    url = rejected(client, auth, "portal:r11")
    ok(issue(client, auth, url, channel="postbox"), 201)
    for channel in ("postbox", "letter", "counter", "portal"):
        again = client.post(url + "/documents/1/sendings", json={"channel": channel}, headers=clerk)
        assert "awaits its outcome" in problem(again, 422, "channel")
    url2 = rejected(client, auth, "portal:r12")
    notified_by_counter(client, auth, url2)
    before = ok(client.get(url2, headers=clerk))
    copy = client.post(url2 + "/documents/1/sendings", json={"channel": "counter"}, headers=clerk)
    assert [d["outcome"] for d in ok(copy)["dispatches"]] == ["handed_over", "handed_over"]
    after = ok(client.get(url2, headers=clerk))
    assert after["version"] == before["version"] + 2
    assert (after["status"], after["notification"]) == (before["status"], before["notification"])


# ------------------------------------------------------------------ (3) the § 42a certificate
# Last in the module: it moves the shared clock past a three-month period.


def test_the_certificate_of_a_deemed_approval_is_issued_and_delivered_into_the_postbox(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk, applicant = auth("clerk"), auth("applicant", sub="portal:r14")
    with statutory_period():
        url = general_case(client, auth, "portal:r14")
    due_on = date.fromisoformat(ok(client.get(url, headers=clerk))["processing"]["due_on"])
    problem(issue(client, auth, url, "deemed_approval_certificate"), 422, "kind")
    clock.set(datetime(due_on.year, due_on.month, due_on.day, 9, 0, tzinfo=UTC) + timedelta(1))
    ok(client.post(url + "/deemed-approval", headers=clerk))
    problem(issue(client, auth, url, "deemed_approval_certificate"), 422, "kind")  # not yet
    problem(issue(client, auth, url), 422, "kind")  # no decision: nothing to issue
    ok(client.post(url + "/deemed-approval-certificate", headers=applicant))
    document = ok(issue(client, auth, url, "deemed_approval_certificate", channel="postbox"), 201)
    assert (document["refers_to"], document["cash_reference"]) == (1, None)
    assert document["title"] == "Bescheinigung über den Eintritt der Genehmigungsfiktion"
    pdf = ok(client.get(url + "/documents/1", headers=clerk))
    assert pdf.startswith(b"%PDF")
    downloaded = client.get(url + "/documents/1", headers=applicant)
    assert downloaded.headers["content-disposition"].endswith('"Bescheinigung-1.pdf"')
    assert ok(client.get(url, headers=clerk))["status"] == "deemed_approved"  # nothing notified
