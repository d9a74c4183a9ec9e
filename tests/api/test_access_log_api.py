"""Who read what, over HTTP: every staff read of a case, its history, decisions, documents
and a search hit list is a line of the access log before the answer leaves; auditors and the
data-protection officer of the town read the lines; applicants' reads are not recorded; a
line that cannot be written is a 503 without the data. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.clock import FixedClock
from infrastructure.access_log import TABLE, verify_access_log
from tests.api.conftest import NEW_CASE, Auth
from tests.api.test_documents_api import decided_permit

LOG = "/api/v1/access-log"
WHOLE_DAY = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-31T00:00:00Z"}


def application(client: TestClient) -> Any:
    return client.app.state.provider.get()  # type: ignore[attr-defined]


def lines_of(client: TestClient, auth: Auth, tenant: str = "usingen", **query: str) -> list[Any]:
    answer = client.get(LOG, params=query, headers=auth("auditor", tenant=tenant))
    assert answer.status_code == 200, answer.json()
    items: list[Any] = answer.json()["items"]
    return items


def stored(client: TestClient) -> list[tuple[Any, ...]]:
    views = application(client).views
    return list(views.query(f"SELECT actor_id, what, case_id FROM {TABLE} ORDER BY position"))  # noqa: S608


def test_each_staff_read_is_a_line_with_who_what_and_which_case(
    client: TestClient, auth: Auth, clock: FixedClock
) -> None:
    url = decided_permit(client, auth, clock, sub="portal:7")
    case_id = url.rsplit("/", 1)[1]
    clerk, supervisor = auth("clerk"), auth("supervisor")
    issued = client.post(url + "/documents", json={"kind": "decision"}, headers=clerk)
    assert issued.status_code == 201, issued.json()
    before = len(stored(client))
    assert before == 0  # commands are not reads
    reads = [
        (clerk, url, "case", "/api/v1/cases/{case_id}"),
        (clerk, url + "/history", "history", "/api/v1/cases/{case_id}/history"),
        (clerk, url + "/documents", "documents", "/api/v1/cases/{case_id}/documents"),
        (clerk, url + "/documents/1", "document", "/api/v1/cases/{case_id}/documents/{number}"),
        (supervisor, url + "/decisions", "decisions", "/api/v1/cases/{case_id}/decisions"),
        (
            supervisor,
            url + "/decisions/1/replay",
            "replay",
            "/api/v1/cases/{case_id}/decisions/{number}/replay",
        ),
    ]
    for headers, path, _what, _route in reads:
        assert client.get(path, headers=headers).status_code == 200, path
    # the applicant reading their own case: no line
    applicant = auth("applicant", sub="portal:7")
    assert client.get(url, headers=applicant).status_code == 200
    assert client.get(url + "/history", headers=applicant).status_code == 200
    found = client.get("/api/v1/cases", params={"q": "Brenner"}, headers=clerk)
    assert found.status_code == 200
    assert [item["case_id"] for item in found.json()["items"]] == [case_id]

    lines = lines_of(client, auth, case_id=case_id)
    readers = ["clerk.usingen"] * 4 + ["supervisor.usingen"] * 2
    expected = [
        (who, what, route) for (_h, _p, what, route), who in zip(reads, readers, strict=True)
    ]
    assert [(line["actor_id"], line["what"], line["route"]) for line in reversed(lines)] == [
        *expected,
        ("clerk.usingen", "search", "/api/v1/cases"),
    ]
    assert {line["case_id"] for line in lines if line["what"] != "search"} == {case_id}
    search = lines[0]
    assert search["hit_case_ids"] == [case_id]
    assert search["hits"] == 1
    assert search["query"]["q"] == "Brenner"  # opened for the auditor
    assert search["query"]["tenant"] == "usingen"
    raw = application(client).views.query(f"SELECT query FROM {TABLE} WHERE what = 'search'")  # noqa: S608
    assert "Brenner" not in raw[0][0]  # stored sealed
    # reading the log is itself a line
    assert stored(client)[-1][:2] == ("auditor.usingen", "access-log")
    assert verify_access_log(application(client).views, {}).ok


def test_a_usingen_auditor_never_sees_schmittens_lines(client: TestClient, auth: Auth) -> None:
    theirs = client.post(
        "/api/v1/cases",
        json={**NEW_CASE, "tenant": "schmitten"},
        headers=auth("applicant", sub="portal:9", tenant="schmitten"),
    )
    assert theirs.status_code == 201, theirs.json()
    ours = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("applicant", sub="portal:8"))
    their_clerk = auth("clerk", tenant="schmitten")
    assert client.get(theirs.headers["Location"], headers=their_clerk).status_code == 200
    assert client.get(ours.headers["Location"], headers=auth("clerk")).status_code == 200
    usingen = lines_of(client, auth, **WHOLE_DAY)
    assert {line["tenant"] for line in usingen} == {"usingen"}
    assert "clerk.schmitten" not in {line["actor_id"] for line in usingen}
    assert lines_of(client, auth, actor_id="clerk.schmitten") == []
    their_case = theirs.headers["Location"].rsplit("/", 1)[1]
    assert lines_of(client, auth, case_id=their_case) == []
    schmitten = lines_of(client, auth, tenant="schmitten", case_id=their_case)
    assert [line["actor_id"] for line in schmitten] == ["clerk.schmitten"]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("auditor", 200),
        ("data_protection_officer", 200),
        ("clerk", 403),
        ("supervisor", 403),
        ("admin", 403),
        ("applicant", 403),
    ],
)
def test_auditors_and_the_data_protection_officer_read_the_log(
    client: TestClient, auth: Auth, role: str, status: int
) -> None:
    answer = client.get(LOG, params=WHOLE_DAY, headers=auth(role))
    assert answer.status_code == status, answer.json()


def test_a_query_names_a_case_a_person_or_a_time_range_and_pages_by_cursor(
    client: TestClient, auth: Auth
) -> None:
    dpo = auth("data_protection_officer")
    refused = client.get(LOG, headers=dpo)
    assert refused.status_code == 422
    created = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("applicant", sub="p:1"))
    url = created.headers["Location"]
    for _ in range(3):
        assert client.get(url, headers=auth("clerk")).status_code == 200
    first = client.get(LOG, params={"actor_id": "clerk.usingen", "limit": 2}, headers=dpo).json()
    assert [line["position"] for line in first["items"]] == [3, 2]
    rest = client.get(
        LOG,
        params={"actor_id": "clerk.usingen", "limit": 2, "cursor": first["next_cursor"]},
        headers=dpo,
    ).json()
    assert [line["position"] for line in rest["items"]] == [1]
    assert rest["next_cursor"] is None
    only = client.get(LOG, params={**WHOLE_DAY, "what": "access-log"}, headers=dpo).json()
    assert [line["role"] for line in only["items"]] == ["data_protection_officer"] * 2


def test_a_line_that_cannot_be_written_gives_503_and_no_data(
    client: TestClient, auth: Auth, capfd: pytest.CaptureFixture[str]
) -> None:
    created = client.post("/api/v1/cases", json=NEW_CASE, headers=auth("applicant", sub="p:2"))
    url = created.headers["Location"]
    with application(client).views.transaction() as tx:
        tx.execute(f"DROP TABLE {TABLE}")
    answer = client.get(url, headers=auth("clerk"))
    assert answer.status_code == 503
    assert "Mustermann" not in answer.text
    assert "data" not in answer.json()
    assert answer.headers["Retry-After"] == "2"
    searched = client.get("/api/v1/cases", params={"q": "Mustermann"}, headers=auth("clerk"))
    assert searched.status_code == 503
    assert "Mustermann" not in searched.text
    # the applicant's own reads are not recorded, so they are answered
    assert client.get(url, headers=auth("applicant", sub="p:2")).status_code == 200
    written = capfd.readouterr()
    assert "access log not written" in written.out + written.err
    assert "Mustermann" not in written.out + written.err  # nothing personal in the logs


def test_a_caller_of_the_log_that_lets_its_error_through_answers_503(client: TestClient) -> None:
    from application.access_log import AccessLogUnavailable

    app = client.app

    @app.get("/test-only/unrecorded-read")  # type: ignore[attr-defined,untyped-decorator]
    def unrecorded() -> None:  # as a route calling record_read itself (the case file, console)
        raise AccessLogUnavailable("the access log cannot be written now")

    answer = client.get("/test-only/unrecorded-read")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "2"
    assert answer.json()["type"].endswith("database-unavailable")


def test_the_inbox_and_the_audit_trail_are_lines_with_the_cases_they_showed(
    client: TestClient, auth: Auth
) -> None:
    clerk, supervisor = auth("clerk"), auth("supervisor")
    created = client.post("/api/v1/cases", json=NEW_CASE, headers=clerk)
    assert created.status_code == 201, created.json()
    case_id, position = created.json()["id"], created.json()["position"]
    assert stored(client) == []  # a command is not a read
    inbox = client.get("/api/v1/inbox", params={"min_position": position}, headers=clerk)
    assert [i["case_id"] for i in inbox.json()["items"]] == [case_id]
    trail = client.get(
        "/api/v1/audit", params={"case_id": case_id, "min_position": position}, headers=supervisor
    )
    assert trail.status_code == 200, trail.json()
    assert trail.json()["items"]
    export = client.get("/api/v1/audit", params={"format": "csv"}, headers=supervisor)
    assert export.status_code == 200

    lines = list(reversed(lines_of(client, auth, **WHOLE_DAY)))
    assert [(line["actor_id"], line["what"], line["route"]) for line in lines] == [
        ("clerk.usingen", "inbox", "/api/v1/inbox"),
        ("supervisor.usingen", "audit-trail", "/api/v1/audit"),
        ("supervisor.usingen", "audit-trail", "/api/v1/audit"),
    ]
    inbox_line, trail_line, export_line = lines
    assert inbox_line["hit_case_ids"] == [case_id]
    assert inbox_line["query"]["tenant"] == "usingen"
    assert (trail_line["case_id"], trail_line["hit_case_ids"]) == (case_id, [case_id])
    # the export streams: its filters are the line, its cases are not known before it leaves
    assert export_line["query"]["format"] == "csv"
    assert export_line["case_id"] is None
