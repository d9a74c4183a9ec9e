"""Erasure over HTTP names its subjects: an empty list never means everyone."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.actor import Actor, Role
from domain.errors import InvalidCommand
from infrastructure.wiring import Vorgang
from tests.api.conftest import NEW_CASE, Auth
from tests.conftest import CLERK
from tests.steps import submitted

ADMIN = Actor("root", "Admin Person", Role.ADMIN, "usingen")


def case_with_a_note(client: TestClient, auth: Auth) -> dict[str, Any]:
    """A case with two data subjects: the applicant and the case's free text."""
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("clerk")).json()
    noted = client.post(
        f"/api/v1/cases/{case['id']}/notes", json={"text": "Rückruf"}, headers=auth("clerk")
    )
    assert noted.status_code == 200, noted.text
    return case


def erase(client: TestClient, auth: Auth, case_id: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/admin/cases/{case_id}/erasure",
        json={"reason": "Löschersuchen", "legal_basis": "Art. 17 DSGVO", **body},
        headers=auth("admin"),
    )


@pytest.mark.parametrize("subjects", [[], None], ids=["empty-list", "null"])
def test_an_erasure_naming_no_subject_is_a_422_and_erases_nothing(
    client: TestClient, auth: Auth, subjects: Any
) -> None:
    case = case_with_a_note(client, auth)
    refused = erase(client, auth, case["id"], subjects=subjects)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["subjects"]
    kept = client.get(f"/api/v1/cases/{case['id']}", headers=auth("clerk")).json()
    assert kept["applicant"]["name"] == "Max Mustermann"


def test_an_erasure_without_subjects_is_a_422_asking_for_an_explicit_choice(
    client: TestClient, auth: Auth
) -> None:
    case = case_with_a_note(client, auth)
    refused = erase(client, auth, case["id"])
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["subjects"]


def test_all_subjects_are_erased_only_when_asked_for_by_name(
    client: TestClient, auth: Auth
) -> None:
    case = case_with_a_note(client, auth)
    done = erase(client, auth, case["id"], subjects="all")
    assert done.status_code == 200, done.text
    assert set(done.json()["subjects"]) >= {"applicant", "case-text"}
    after = client.get(f"/api/v1/cases/{case['id']}", headers=auth("clerk")).json()
    assert after["applicant"]["name"] == "[gelöscht]"


def test_the_openapi_document_says_subjects_are_required(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["Erase"]
    assert "subjects" in schema["required"]


def test_the_use_case_refuses_an_empty_list_of_subjects(vorgang: Vorgang) -> None:
    case_id = submitted(
        vorgang.cases,
        data={"subject": "Sondernutzung"},
        applicant={"name": "Max Mustermann"},
        actor=CLERK,
    )
    with pytest.raises(InvalidCommand) as refused:
        vorgang.privacy.erase(
            case_id, actor=ADMIN, reason="Frist", legal_basis="Art. 17", subjects=[]
        )
    assert refused.value.field == "subjects"
    assert vorgang.cases.get(case_id, actor=CLERK).applicant["name"] == "Max Mustermann"
