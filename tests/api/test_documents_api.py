"""The Bescheid as a document, by HTTP: decided, issued as the town's sealed PDF/A, delivered
into the applicant's postbox, retrieved there (which sets the Bekanntgabe), downloaded by the
applicant; the hash in the issuing event matches the file. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from api.app import create_app
from application.clock import FixedClock
from infrastructure.database import DatabaseTarget
from infrastructure.documents.postbox import PostboxSimulator
from infrastructure.documents.print_service import PrintServiceSimulator
from infrastructure.documents.seal import verify
from infrastructure.settings import Settings
from tests.api.conftest import SECRET, Auth
from tests.api.test_road_opening_api import DECISION, permit_request


@pytest.fixture
def settings(target: DatabaseTarget, tmp_path: Path, seal_files: tuple[Path, Path]) -> Settings:
    key, certificate = seal_files
    return Settings(
        database_url=target.display,
        token_secret=SECRET,
        retry_after_seconds=2,
        read_your_writes_seconds=120,
        documents_dir=str(tmp_path / "documents"),
        postbox_dir=str(tmp_path / "postbox"),
        print_dir=str(tmp_path / "print"),
        seal_key_file=str(key),
        seal_certificate_file=str(certificate),
    )


@pytest.fixture
def client(settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client


def application(client: TestClient) -> Any:
    return client.app.state.provider.get()  # type: ignore[attr-defined]


def sendings_seen(vorgang: Any) -> None:
    """The open sendings view has applied everything written so far (a bound, not a wait)."""
    projections = vorgang.projections
    assert projections.wait_for("open_dispatches", projections.head(), timeout=120)


def decided_permit(client: TestClient, auth: Auth, clock: FixedClock, sub: str) -> str:
    clerk = auth("clerk")
    created = client.post(
        "/api/v1/cases", json=permit_request(clock), headers=auth("applicant", sub=sub)
    )
    assert created.status_code == 201, created.json()
    url: str = created.headers["Location"]
    for path, body in (("/claim", None), ("/confirm-complete", None), ("/decide", DECISION)):
        response = client.post(url + path, json=body, headers=clerk)
        assert response.status_code == 200, (path, response.json())
    return url


def test_a_decided_permit_is_sealed_delivered_retrieved_notified_and_downloaded(
    client: TestClient, auth: Auth, clock: FixedClock, seal_files: tuple[Path, Path]
) -> None:
    clerk, applicant = auth("clerk"), auth("applicant", sub="portal:2201")
    url = decided_permit(client, auth, clock, "portal:2201")
    version = client.get(url, headers=clerk).headers["ETag"]

    issued = client.post(
        url + "/documents",
        json={"kind": "decision", "channel": "postbox"},
        headers={**clerk, "If-Match": version},
    )
    assert issued.status_code == 201, issued.json()
    document = issued.json()
    assert issued.headers["Location"] == url + "/documents/1"
    assert document["kind"] == "decision"
    assert document["cash_reference"]  # the fee's Kassenzeichen
    assert document["seal"].startswith("fortgeschrittenes elektronisches Siegel")
    (sending,) = document["dispatches"]
    assert sending["channel"] == "postbox"
    assert client.get(url, headers=clerk).json()["notified_on"] is None  # not retrieved yet

    # The applicant opens the message in the postbox two days later; the watch sees it.
    vorgang = application(client)
    simulator = vorgang.documents.ports.postbox
    assert isinstance(simulator, PostboxSimulator)
    (message,) = simulator.messages("portal:2201")
    sent_on = sending["sent_on"]
    retrieved_on = date.fromisoformat(sent_on) + timedelta(days=2)
    clock.advance(timedelta(days=2))
    simulator.retrieve(sending["reference"], retrieved_on)
    sendings_seen(vorgang)  # the watch asks about the sendings its view knows
    assert vorgang.delivery_watch.tick(retrieved_on).recorded == 1

    case = client.get(url, headers=clerk).json()
    assert case["notified_on"] == (retrieved_on + timedelta(days=1)).isoformat()
    assert case["status"] == "notified"

    listed = client.get(url + "/documents", headers=applicant)
    assert listed.status_code == 200
    (mine,) = listed.json()
    assert mine["dispatches"][0]["outcome"] == "retrieved"
    downloaded = client.get(url + "/documents/1", headers=applicant)
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "application/pdf"
    pdf = downloaded.content
    assert pdf == message.pdf  # what the postbox delivered is what the case serves

    history = client.get(url + "/history", headers=clerk).json()
    (issuing,) = [h for h in history if h["type"] == "DocumentIssued"]
    assert issuing["data"]["document"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    types = [h["type"] for h in history]
    assert types[-4:] == ["DocumentIssued", "DocumentSent", "DeliveryReported", "Notified"]

    # A sealed PDF/A in Usingen's layout, the seal intact over the whole file.
    check = verify(pdf, seal_files[1].read_bytes())
    assert (check.intact, check.valid, check.trusted, check.covers_whole_file) == (True,) * 4
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Der Magistrat der Stadt Usingen" in text
    assert "Rechtsbehelfsbelehrung" in text
    assert document["cash_reference"] in text
    metadata = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert re.search(rb"pdfaid:part[^0-9]*[23]", metadata)


def test_others_cannot_read_the_document_and_clerks_of_another_town_cannot_see_it(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url = decided_permit(client, auth, clock, "portal:2202")
    issued = client.post(url + "/documents", json={"kind": "decision"}, headers=auth("clerk"))
    assert issued.status_code == 201, issued.json()
    # Not sent yet: the applicant has nothing to read.
    assert client.get(url + "/documents", headers=auth("applicant", sub="portal:2202")).json() == []
    mine = client.get(url + "/documents/1", headers=auth("applicant", sub="portal:2202"))
    assert mine.status_code == 422
    other = client.get(url + "/documents/1", headers=auth("applicant", sub="portal:9999"))
    assert other.status_code == 404
    foreign = client.get(url + "/documents/1", headers=auth("clerk", tenant="schmitten"))
    assert foreign.status_code == 404
    auditor = client.get(url + "/documents/1", headers=auth("auditor"))
    assert auditor.status_code == 200
    refused = client.post(
        url + "/documents", json={"kind": "decision"}, headers=auth("applicant", sub="portal:2202")
    )
    assert refused.status_code == 403


def test_portal_download_is_the_retrieval_and_a_letter_counts_from_its_posting_day(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    clerk = auth("clerk")
    url = decided_permit(client, auth, clock, "portal:2203")
    portal = client.post(
        url + "/documents", json={"kind": "decision", "channel": "portal"}, headers=clerk
    )
    assert portal.status_code == 201, portal.json()
    first = client.get(url + "/documents/1", headers=auth("applicant", sub="portal:2203"))
    assert first.status_code == 200
    today = date.fromisoformat(portal.json()["dispatches"][0]["sent_on"])
    case = client.get(url, headers=clerk).json()
    assert case["notified_on"] == (today + timedelta(days=1)).isoformat()
    again = client.get(url + "/documents/1", headers=auth("applicant", sub="portal:2203"))
    assert again.status_code == 200  # a second download changes nothing
    assert client.get(url, headers=clerk).json()["version"] == case["version"]

    # The objection decision has no record yet: refused, naming the kind.
    none = client.post(url + "/documents", json={"kind": "objection_decision"}, headers=clerk)
    assert none.status_code == 422
    assert none.json()["errors"][0]["field"] == "kind"

    # A second permit by letter: the print service reports the posting day.
    url2 = decided_permit(client, auth, clock, "portal:2204")
    letter = client.post(
        url2 + "/documents", json={"kind": "decision", "channel": "letter"}, headers=clerk
    )
    assert letter.status_code == 201, letter.json()
    vorgang = application(client)
    printing = PrintServiceSimulator(vorgang.settings.print_dir)
    posted_on = date.fromisoformat(letter.json()["dispatches"][0]["sent_on"])
    assert printing.post(posted_on, posted_on) == 1
    sendings_seen(vorgang)
    assert vorgang.delivery_watch.tick(posted_on).recorded == 1
    notified = client.get(url2, headers=clerk).json()
    assert notified["notification"]["delivery"] == "letter"
    assert notified["notification"]["sent_on"] == posted_on.isoformat()
