"""The console's case page (#31) over HTTP: what it shows, which commands, and their forms.

A clerk signs in through the development form, opens a case and works it with the generated
forms: the commands offered are exactly those the case allows and the person's roles may
give; a field error comes back at its field (aria-invalid, aria-describedby, focus), a
problem (409, 412) as the form's message; another town's case is 404; erased data reads
"[gelöscht]"; every read is in the access log.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.auth import DevelopmentTokens
from application.access_log import CONSOLE_CASE, AccessLogFilter
from domain.actor import Role
from domain.case_steps import CASE_STEPS
from tests.api.conftest import NEW_CASE, Auth

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STEP = re.compile(r'data-step="([a-z_]+)"')
HTMX = {"HX-Request": "true"}


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(
    client: TestClient,
    tokens: DevelopmentTokens,
    role: Role = Role.CLERK,
    tenant: str = "usingen",
    sub: str = "anna.schmidt",
) -> str:
    """Sign in through the development form; the session's CSRF token."""
    token = tokens.issue(subject=sub, name="Anna Schmidt", role=role, tenant=tenant)
    page = client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in",
        data={"token": token, "next": "/console/", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/console/").text)


def submit(client: TestClient, auth: Auth, tenant: str = "usingen") -> dict[str, Any]:
    body = {**NEW_CASE, "tenant": tenant, "applicant": {"name": "Erika Beispiel"}}
    response = client.post("/api/v1/cases", json=body, headers=auth("clerk", tenant=tenant))
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


def offered(html: str) -> set[str]:
    return set(STEP.findall(html))


def expected_for(allowed: list[str], role: Role, holder: str | None = None) -> set[str]:
    """Independently: the shared steps the case allows whose roles include this one, as
    far as who holds the case lets them (claim unheld, release and decide by the holder)."""
    names = {s.name for s in CASE_STEPS if s.command_name in allowed and role in s.roles}
    names.discard("claim" if holder is not None else "release")
    if holder != "anna.schmidt":
        names -= {"decide"} | ({"release"} if role is Role.CLERK else set())
    return names


def post_step(
    client: TestClient,
    case_id: str,
    step: str,
    csrf: str,
    data: dict[str, str] | None = None,
    *,
    version: int | None = None,
    htmx: bool = False,
) -> Any:
    fields = {"csrf_token": csrf, **(data or {})}
    if version is not None:
        fields["_version"] = str(version)
    return client.post(
        f"/console/cases/{case_id}/commands/{step}",
        data=fields,
        headers=HTMX if htmx else {},
        follow_redirects=False,
    )


def test_the_case_page_shows_the_case_its_timeline_and_exactly_the_commands_allowed(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    sign_in(client, tokens)
    page = client.get(f"/console/cases/{case['id']}")
    assert page.status_code == 200, page.text
    html = page.text
    assert case["reference"] in html
    assert "Erika Beispiel" in html
    assert "Sondernutzung" in html
    assert '<h2 id="timeline-heading">Verlauf</h2>' in html
    assert 'data-event="Submitted"' in html
    shown = offered(html)
    assert shown == expected_for(case["allowed_commands"], Role.CLERK)
    assert "claim" in shown
    assert "assign" not in shown  # supervisors only
    assert "provide_information" not in shown  # not while nothing was asked
    assert page.headers["Cache-Control"] == "no-store"


def test_a_supervisor_is_offered_the_supervisors_steps_and_an_auditor_none(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    sign_in(client, tokens, role=Role.SUPERVISOR, sub="sabine.leiter")
    shown = offered(client.get(f"/console/cases/{case['id']}").text)
    assert shown == expected_for(case["allowed_commands"], Role.SUPERVISOR)
    assert "assign" in shown
    client.cookies.clear()
    sign_in(client, tokens, role=Role.AUDITOR, sub="paul.pruefer")
    page = client.get(f"/console/cases/{case['id']}")
    assert page.status_code == 200
    assert offered(page.text) == set()
    assert "keine Schritte möglich" in page.text


def test_another_towns_case_is_not_found(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth, tenant="schmitten")
    csrf = sign_in(client, tokens, tenant="usingen")
    page = client.get(f"/console/cases/{case['id']}")
    assert page.status_code == 404
    assert "Erika Beispiel" not in page.text
    assert post_step(client, case["id"], "claim", csrf).status_code == 404
    assert client.get(f"/console/cases/{case['id']}/live?seen=0").status_code == 404


def test_erased_personal_data_reads_geloescht(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    erased = client.post(
        f"/api/v1/admin/cases/{case['id']}/erasure",
        json={"reason": "Löschfrist", "legal_basis": "Art. 17 DSGVO", "subjects": ["applicant"]},
        headers=auth("admin"),
    )
    assert erased.status_code == 200, erased.text
    sign_in(client, tokens)
    html = client.get(f"/console/cases/{case['id']}").text
    assert "Erika Beispiel" not in html
    assert "[gelöscht]" in html


def test_a_claim_runs_through_the_pipeline_and_the_page_shows_it(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    csrf = sign_in(client, tokens)
    answer = post_step(client, case["id"], "claim", csrf, version=case["version"])
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/cases/{case['id']}?done=claim"
    page = client.get(answer.headers["location"]).text
    assert "Erledigt: Vorgang übernehmen." in page
    assert 'data-event="Claimed"' in page
    api = client.get(f"/api/v1/cases/{case['id']}", headers=auth("clerk")).json()
    assert api["holder"] == "anna.schmidt"
    assert offered(page) == expected_for(api["allowed_commands"], Role.CLERK, "anna.schmidt")
    assert "claim" not in offered(page)
    assert {"release", "request_information", "add_note"} <= offered(page)


def test_with_htmx_success_swaps_in_the_case_anew(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    csrf = sign_in(client, tokens)
    answer = post_step(client, case["id"], "claim", csrf, version=case["version"], htmx=True)
    assert answer.status_code == 200, answer.text
    assert answer.headers["HX-Retarget"] == "#case"
    assert answer.headers["HX-Reswap"] == "outerHTML"
    assert answer.text.lstrip().startswith('<div id="case"')
    assert 'id="case-notice"' in answer.text


def test_a_field_error_is_shown_at_its_field_described_and_focused(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    csrf = sign_in(client, tokens)
    post_step(client, case["id"], "claim", csrf, version=case["version"])
    data = {"questions": "", "reply_by": "2026-12-15", "missing_documents": "on"}
    page = post_step(client, case["id"], "request_information", csrf, data, version=2)
    assert page.status_code == 422
    html = page.text
    field = re.search(r"<textarea[^>]*name=\"questions\"[^>]*>", html)
    assert field, html
    tag = field.group(0)
    assert 'aria-invalid="true"' in tag
    assert 'aria-describedby="f-questions-help f-questions-error"' in tag
    assert "autofocus" in tag
    assert 'id="f-questions-error">Bitte mindestens einen Eintrag angeben.' in html
    assert re.search(r'name="reply_by"[^>]*value="2026-12-15"', html)  # typed values stay
    assert re.search(r'name="missing_documents"[^>]*checked', html)
    htmx = post_step(client, case["id"], "request_information", csrf, data, version=2, htmx=True)
    assert htmx.status_code == 200  # htmx swaps only a 2xx; the problem is on the form
    assert htmx.text.lstrip().startswith('<form id="step-request_information"')
    assert 'data-status="422"' in htmx.text
    assert 'aria-invalid="true"' in htmx.text


def test_a_problem_of_the_pipeline_is_the_forms_message(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    csrf = sign_in(client, tokens)
    decide = {
        "outcome": "approved",
        "justification": "Die Voraussetzungen liegen vor.",
        "legal_basis": "§ 16 HStrG",
    }
    # the case allows no decision before it is claimed and in review: 409, on the form
    refused = post_step(client, case["id"], "decide", csrf, decide, version=1, htmx=True)
    assert refused.status_code == 200
    assert 'data-status="409"' in refused.text
    assert 'role="alert"' in refused.text
    assert "nicht möglich" in refused.text or "übernehmen" in refused.text
    # a stale version: 412, the message says so and the form now carries the current one
    post_step(client, case["id"], "claim", csrf, version=1)
    stale = post_step(
        client, case["id"], "add_note", csrf, {"text": "Rückruf"}, version=1, htmx=True
    )
    assert 'data-status="412"' in stale.text
    assert "inzwischen geändert" in stale.text
    assert 'name="_version" value="2"' in stale.text
    assert ">Rückruf</textarea>" in stale.text  # what was typed stays


def test_a_step_the_role_may_not_take_is_refused_without_running(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    csrf = sign_in(client, tokens)
    answer = post_step(client, case["id"], "countersign", csrf, version=1, htmx=True)
    assert 'data-status="403"' in answer.text
    history = client.get(f"/api/v1/cases/{case['id']}/history", headers=auth("clerk"))
    assert len(history.json()) == 1


@pytest.mark.parametrize("version", [None, "", "zwei", "-1", "0", "1.0", "99999999999", "²"])
def test_a_command_without_a_readable_version_is_refused_without_running(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth, version: str | None
) -> None:
    case = submit(client, auth)
    csrf = sign_in(client, tokens)
    fields = {"csrf_token": csrf} | ({} if version is None else {"_version": version})
    path = f"/console/cases/{case['id']}/commands/claim"
    for headers in (HTMX, {}):
        answer = client.post(path, data=fields, headers=headers, follow_redirects=False)
        assert 'role="alert"' in answer.text, answer.text[:300]
        assert "Bitte laden Sie die Seite neu" in answer.text
        assert 'data-status="428"' in answer.text
    assert answer.status_code == 428
    history = client.get(f"/api/v1/cases/{case['id']}/history", headers=auth("clerk"))
    assert len(history.json()) == 1, "the command ran without the concurrency check"


def test_a_list_of_models_gets_one_more_row_on_request(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    csrf = sign_in(client, tokens)
    post_step(client, case["id"], "claim", csrf, version=1)
    grown = post_step(
        client,
        case["id"],
        "decide",
        csrf,
        {"_rows.provisions": "1", "_add_row": "provisions", "justification": "Entwurf"},
        version=2,
        htmx=True,
    )
    new_row = re.search(r'<select[^>]*name="provisions\.1\.kind"[^>]*>', grown.text)
    assert new_row, grown.text
    assert "autofocus" in new_row.group(0)  # the cursor goes to the new row
    assert ">Entwurf</textarea>" in grown.text
    history = client.get(f"/api/v1/cases/{case['id']}/history", headers=auth("clerk"))
    assert len(history.json()) == 2  # nothing decided


def test_the_live_part_answers_only_when_the_case_moved(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    csrf = sign_in(client, tokens)
    page = client.get(f"/console/cases/{case['id']}").text
    names = re.search(r"offered=([a-z_.]*)", page)
    assert names
    unchanged = client.get(f"/console/cases/{case['id']}/live?seen=1&offered={names.group(1)}")
    assert unchanged.status_code == 204
    client.post(
        f"/api/v1/cases/{case['id']}/notes",
        json={"text": "Telefonat"},
        headers=auth("clerk", sub="ben.weber"),
    )
    moved = client.get(f"/console/cases/{case['id']}/live?seen=1&offered={names.group(1)}")
    assert moved.status_code == 200
    assert 'data-event="NoteAdded"' in moved.text or "Notiz" in moved.text
    assert 'hx-swap-oob="true"' not in moved.text  # the same commands: forms left alone
    post_step(client, case["id"], "claim", csrf, version=2)
    claimed = client.get(f"/console/cases/{case['id']}/live?seen=2&offered={names.group(1)}")
    assert 'hx-swap-oob="true"' in claimed.text  # release now, claim no longer


def test_every_read_of_the_case_page_is_in_the_access_log(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth)
    sign_in(client, tokens)
    assert client.get(f"/console/cases/{case['id']}").status_code == 200
    vorgang: Any = client.app.state.provider.get()  # type: ignore[attr-defined]
    reader = getattr(vorgang, "access_lines", None)
    if reader is None:
        pytest.skip("the access log's reader is not wired yet")
    lines = reader.lines(
        AccessLogFilter(tenant="usingen", case_id=UUID(case["id"]), what=CONSOLE_CASE),
        after=None,
        limit=10,
    )
    assert [(line.actor_id, line.route) for line in lines] == [
        ("anna.schmidt", "/console/cases/{case_id}")
    ]


def test_a_step_only_the_holder_may_take_is_offered_to_the_holder_alone(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    """Every service's ``holder_only`` steps (the domain checks the holder), with every
    command allowed: offered to the clerk holding the case, never to another clerk."""
    import dataclasses

    from api.console.case_page import offered_steps
    from api.console.forms import steps_for
    from domain.actor import Actor
    from domain.services.catalogue import SERVICES

    case = submit(client, auth)
    sign_in(client, tokens)
    vorgang: Any = client.app.state.provider.get()  # type: ignore[attr-defined]
    anna = Actor(id="anna.schmidt", display_name="Anna", role=Role.CLERK, tenant="usingen")
    state = vorgang.cases.view(UUID(case["id"]), actor=anna)
    guarded: set[str] = set()
    for service in SERVICES:
        steps = steps_for(service)
        every = tuple({step.command_name for step in steps})
        only = {step.name for step in steps if step.holder_only and Role.CLERK in step.roles}
        guarded |= only
        mine = dataclasses.replace(
            state, service=service, allowed_commands=every, holder_id=anna.id
        )
        theirs = dataclasses.replace(mine, holder_id="bernd.becker")
        assert only <= {step.name for step in offered_steps(mine, anna)}, service
        assert not only & {step.name for step in offered_steps(theirs, anna)}, service
    assert {
        "decide",
        "schedule",
        "decide_grave_right",
        "register_dog",
        "decide_by_rules",
    } <= guarded
    # and over HTTP: the decision is not offered to a clerk who does not hold the case
    post_step(client, case["id"], "claim", sign_in(client, tokens, sub="bernd.becker"), version=1)
    sign_in(client, tokens)
    assert "decide" not in offered(client.get(f"/console/cases/{case['id']}").text)


def test_a_case_of_every_service_renders_with_its_own_steps_and_german_labels(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    from api.console.forms import steps_for

    sign_in(client, tokens, role=Role.SUPERVISOR, sub="sabine.leiter")
    rendered = 0
    for service in client.get("/api/v1/services").json():
        if service["examples_by_town"] is not None:  # needs what a town has open
            continue
        submitted = client.post(
            "/api/v1/cases",
            json={**NEW_CASE, "service": service["id"], "data": service["example"]},
            headers=auth("applicant", sub="portal:1"),
        )
        assert submitted.status_code == 201, submitted.text
        case = submitted.json()
        page = client.get(f"/console/cases/{case['id']}")
        assert page.status_code == 200, (service["id"], page.text[-2000:])
        declared = {step.name for step in steps_for(service["id"])}
        assert offered(page.text) <= declared
        assert offered(page.text), service["id"]
        assert "Traceback" not in page.text
        rendered += 1
    assert rendered >= 8
