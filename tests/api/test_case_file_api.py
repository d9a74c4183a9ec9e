"""The case file (Akte) over HTTP: JSON, German HTML and PDF, for auditors and supervisors."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from application.access_log import AccessLogFilter, AccessLogUnavailable
from infrastructure.integrity.checks import verify_case_file
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang
from tests.api.conftest import NEW_CASE, Auth
from tests.polling import until

SECTIONS = (
    "Antrag und Daten",
    "Verlauf",
    "Entscheidungen mit Nachprüfung",
    "Gebühren und Zahlungen",
    "Schriftverkehr",
    "Integritätsnachweis",
)
DECISION = {
    "outcome": "approved",
    "justification": "Voraussetzungen erfüllt",
    "legal_basis": "§ 1 Satzung",
    "fee": "25.00",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A checkpoint after every batch of the chain, so a file's proof soon has one."""
    return settings.model_copy(update={"integrity_checkpoint_every_events": 1})


def notified_case(client: TestClient, auth: Auth) -> str:
    """A general case decided with a fee, handed over, objected to: its URL."""
    clerk = auth("clerk")
    url: str = client.post("/api/v1/cases", json=NEW_CASE, headers=clerk).headers["Location"]
    for step in ("claim", "confirm-complete"):
        assert client.post(f"{url}/{step}", headers=clerk).status_code == 200
    assert client.post(f"{url}/decide", json=DECISION, headers=clerk).status_code == 200
    notified = client.post(f"{url}/notify", json={"delivery": "counter"}, headers=clerk)
    assert notified.status_code == 200, notified.text
    objection = {"grounds": "Die Gebühr ist zu hoch."}
    lodged = client.post(f"{url}/objections", json=objection, headers=clerk)
    assert lodged.status_code == 200, lodged.text
    return url


def vorgang_of(client: TestClient) -> Vorgang:
    found: Vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]
    return found


def test_auditors_read_the_file_as_json_with_every_part(client: TestClient, auth: Auth) -> None:
    url = notified_case(client, auth)
    answer = client.get(f"{url}/file", headers=auth("auditor"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    file = answer.json()
    assert set(file) >= {"case", "timeline", "decisions", "fees", "messages", "proof"}
    assert file["case"]["reference"].startswith("USI-")
    assert file["case"]["applicant"]["name"] == "Max Mustermann"
    history = client.get(f"{url}/history", headers=auth("auditor")).json()
    assert [e["version"] for e in file["timeline"]] == [e["version"] for e in history]
    labels = {e["event"]: e["label"] for e in file["timeline"]}
    assert labels["Submitted"] == "Antrag eingegangen"
    assert labels["ObjectionLodged"] == "Widerspruch eingegangen"
    lodged = next(e for e in file["timeline"] if e["event"] == "ObjectionLodged")
    assert lodged["reason"] == "Die Gebühr ist zu hoch."
    assert lodged["actor"]["role"] == "clerk"
    assert all(e["position"] for e in file["timeline"])
    [decision] = file["decisions"]
    assert (decision["verdict"], decision["in_force"]) == ("consistent", True)
    [fee] = file["fees"]
    assert (fee["amount"], fee["receivable_status"]) == ("25.00", "open")
    assert file["proof"]["available"] is True


def test_only_auditors_and_supervisors_of_the_town_read_the_file(
    client: TestClient, auth: Auth
) -> None:
    url = notified_case(client, auth)
    assert client.get(f"{url}/file", headers=auth("supervisor")).status_code == 200
    for role in ("clerk", "applicant", "admin", "cash_office"):
        assert client.get(f"{url}/file", headers=auth(role)).status_code == 403, role
    elsewhere = client.get(f"{url}/file", headers=auth("auditor", tenant="schmitten"))
    assert elsewhere.status_code == 404
    assert elsewhere.headers["content-type"] == "application/problem+json"


def test_every_read_of_the_file_is_in_the_access_log(client: TestClient, auth: Auth) -> None:
    url = notified_case(client, auth)
    case_id = url.rsplit("/", 1)[1]
    client.get(f"{url}/file", headers=auth("auditor", sub="rpa.1"))
    client.get(f"{url}/file?format=html", headers=auth("supervisor", sub="sv.1"))
    lines = vorgang_of(client).access_lines.lines(
        AccessLogFilter(tenant="usingen", what="file"), after=None, limit=10
    )
    assert [(line.actor_id, line.case_id, line.route) for line in lines] == [
        ("sv.1", case_id, "/api/v1/cases/{case_id}/file"),
        ("rpa.1", case_id, "/api/v1/cases/{case_id}/file"),
    ]


def test_the_file_prints_as_german_html(client: TestClient, auth: Auth) -> None:
    url = notified_case(client, auth)
    reference = client.get(url, headers=auth("auditor")).json()["reference"]
    for asked in ({"params": {"format": "html"}}, {"headers": {"Accept": "text/html"}}):
        headers = {**auth("auditor"), **asked.get("headers", {})}
        answer = client.get(f"{url}/file", params=asked.get("params"), headers=headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        html = answer.text
        assert '<html lang="de">' in html
        for part in (
            "<h1>Akte</h1>",
            reference,
            "Stadt Usingen",
            "Allgemeines Anliegen",
            *SECTIONS,
        ):
            assert part in html, part
        assert "counter(pages)" in html  # printed with page numbers


def test_a_file_nobody_accepts_is_406_and_format_still_wins(client: TestClient, auth: Auth) -> None:
    url = notified_case(client, auth)
    refused = {**auth("auditor"), "Accept": "image/png, application/pdf;q=0"}
    answer = client.get(f"{url}/file", headers=refused)
    assert answer.status_code == 406, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 406
    lines = vorgang_of(client).access_lines.lines(
        AccessLogFilter(tenant="usingen", what="file"), after=None, limit=10
    )
    assert lines == []  # nothing left, so nothing read
    given = client.get(f"{url}/file", params={"format": "pdf"}, headers=refused)
    assert given.status_code == 200
    assert given.headers["content-type"] == "application/pdf"
    preferred = {**auth("auditor"), "Accept": "text/html;q=0.2, application/json;q=0.9"}
    assert (
        client.get(f"{url}/file", headers=preferred)
        .headers["content-type"]
        .startswith("application/json")
    )


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    pages = PdfReader(io.BytesIO(content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def test_the_file_renders_as_pdf_and_erased_data_reads_geloescht(
    client: TestClient, auth: Auth
) -> None:
    url = notified_case(client, auth)
    reference = client.get(url, headers=auth("auditor")).json()["reference"]
    answer = client.get(f"{url}/file", headers={**auth("auditor"), "Accept": "application/pdf"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert f"Akte-{reference}.pdf" in answer.headers["content-disposition"]
    text = pdf_text(answer.content)
    for part in ("Akte", reference, "Stadt Usingen", *SECTIONS, "Max Mustermann"):
        assert part in text, part
    case_id = url.rsplit("/", 1)[1]
    erased = client.post(
        f"/api/v1/admin/cases/{case_id}/erasure",
        json={"reason": "Löschersuchen", "legal_basis": "Art. 17 DSGVO", "subjects": "all"},
        headers=auth("admin"),
    )
    assert erased.status_code in (200, 201, 202), erased.text
    file = client.get(f"{url}/file", headers=auth("auditor")).json()
    assert file["case"]["applicant"]["name"] == "[gelöscht]"
    text = pdf_text(client.get(f"{url}/file?format=pdf", headers=auth("auditor")).content)
    assert "Max Mustermann" not in text
    assert "[gelöscht]" in text
    assert "Personenbezogene Daten gelöscht" in text


def chained_file(client: TestClient, auth: Auth, url: str) -> dict[str, Any]:
    """The file once the chain holds every event of the case and a checkpoint covers them."""

    def complete() -> dict[str, Any] | None:
        file: dict[str, Any] = client.get(f"{url}/file", headers=auth("auditor")).json()
        proof = file["proof"]
        covered = len(proof["records"]) == len(file["timeline"]) and proof["checkpoint"]
        return file if covered else None

    found: dict[str, Any] = until("the case chained and checkpointed", complete, 120)
    return found


def test_the_file_carries_a_proof_that_verifies_and_fails_once_tampered(
    client: TestClient, auth: Auth, tmp_path: Path
) -> None:
    url = notified_case(client, auth)
    file = chained_file(client, auth, url)
    proof = file["proof"]
    positions = [r["position"] for r in proof["records"]]
    assert positions == [e["position"] for e in file["timeline"]]
    assert proof["checkpoint"]["position"] >= positions[-1]
    saved = tmp_path / "akte.json"
    saved.write_text(json.dumps(file), encoding="utf-8")
    vorgang = vorgang_of(client)
    assert verify_case_file(vorgang, saved).ok
    tampered = json.loads(saved.read_text(encoding="utf-8"))
    record = tampered["proof"]["records"][0]
    record["state"] = record["state"][:-4] + ("AAAA" if record["state"][-4:] != "AAAA" else "BBBB")
    saved.write_text(json.dumps(tampered), encoding="utf-8")
    report = verify_case_file(vorgang, saved)
    assert not report.ok
    assert report.disagreement is not None
    assert report.disagreement.position == positions[0]


def test_no_file_leaves_when_its_read_cannot_be_recorded(
    client: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = notified_case(client, auth)

    def unwritable(*_args: Any, **_kwargs: Any) -> None:
        raise AccessLogUnavailable("the access log's database is gone")

    monkeypatch.setattr(vorgang_of(client).access_log, "record_read", unwritable)
    for asked in ("json", "html", "pdf"):
        answer = client.get(f"{url}/file", params={"format": asked}, headers=auth("auditor"))
        assert answer.status_code == 503, asked
        assert answer.headers["content-type"] == "application/problem+json"
        assert "Max Mustermann" not in answer.text
