"""The clerk console's shell (#31): sign-in, the session cookie, CSRF, the Posteingang, search,
statistics — over HTTP against a real store (SQLite and PostgreSQL).

The case page has its own tests; the browser end-to-end test is tests/e2e/test_console_browser.py.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import DevelopmentTokens
from api.console.session import FLOW_COOKIE, SESSION_COOKIE, Sealer
from application.access_log import AccessLogFilter, AccessLogUnavailable
from application.clock import FixedClock
from domain.actor import Role
from infrastructure.settings import Settings
from tests.api.conftest import NEW_CASE, Auth
from tests.polling import until

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def token_for(
    tokens: DevelopmentTokens, role: Role = Role.CLERK, tenant: str = "usingen", sub: str = ""
) -> str:
    return tokens.issue(
        subject=sub or f"{role.value}.{tenant}",
        name=f"{tenant.title()} {role.value.title()}",
        role=role,
        tenant=tenant,
    )


def sign_in(client: TestClient, token: str) -> Any:
    """The development form: open the page (its CSRF token), post the token."""
    page = client.get("/console/sign-in")
    assert page.status_code == 200
    return client.post(
        "/console/sign-in",
        data={"token": token, "next": "/console/", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def signed_in(client: TestClient, tokens: DevelopmentTokens, **who: Any) -> str:
    """Sign in and return the session's CSRF token (from the inbox page)."""
    answer = sign_in(client, token_for(tokens, **who))
    assert answer.status_code == 303, answer.text
    page = client.get("/console/")
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


def submit(client: TestClient, auth: Auth, tenant: str, name: str) -> dict[str, Any]:
    body = {**NEW_CASE, "tenant": tenant, "applicant": {"name": name}}
    response = client.post("/api/v1/cases", json=body, headers=auth("clerk", tenant=tenant))
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


def views_caught_up(client: TestClient) -> None:
    """Wait until every read model has applied what the log holds now (observed, not timed)."""
    projections = client.app.state.provider.get().projections  # type: ignore[attr-defined]
    until(
        "every view at the log's head",
        lambda: all(s.position >= s.head for s in projections.statuses()),
        hang_guard=60,
    )


def test_a_page_without_a_session_redirects_to_the_sign_in(client: TestClient) -> None:
    answer = client.get("/console/statistics", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in?next=/console/statistics"
    htmx = client.get("/console/inbox/rows", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"].startswith("/console/sign-in")


def test_the_development_form_signs_a_clerk_in_with_a_sealed_httponly_lax_cookie(
    client: TestClient, tokens: DevelopmentTokens
) -> None:
    answer = sign_in(client, token_for(tokens))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "path=/console" in flags
    assert "secure" not in flags  # plain http here; over https it is Secure (next test)
    value = cookie.split(";")[0].split("=", 1)[1]
    assert "usingen" not in value
    assert "Clerk" not in value
    page = client.get("/console/")
    assert page.status_code == 200
    assert "Posteingang" in page.text
    assert "Angemeldet: Usingen Clerk" in page.text


def test_over_https_the_session_cookie_is_secure(
    client: TestClient, tokens: DevelopmentTokens
) -> None:
    client.base_url = client.base_url.copy_with(scheme="https")
    answer = sign_in(client, token_for(tokens))
    assert answer.status_code == 303
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")[1:]}


def test_in_production_the_session_cookie_is_secure_even_over_plain_http() -> None:
    """Behind a proxy that forwards plain http without X-Forwarded-Proto: still Secure."""
    from types import SimpleNamespace

    from fastapi import Request
    from fastapi.responses import Response

    from api.console.session import clear_cookie, set_cookie
    from infrastructure.settings import Environment

    for environment, secure in ((Environment.PRODUCTION, True), (Environment.DEVELOPMENT, False)):
        app = SimpleNamespace(
            state=SimpleNamespace(settings=SimpleNamespace(environment=environment))
        )
        request = Request(
            {
                "type": "http",
                "scheme": "http",
                "app": app,
                "headers": [],
                "path": "/console/",
                "query_string": b"",
                "server": ("vorgang.example", 80),
            }
        )
        assert request.url.scheme == "http"
        response = Response()
        set_cookie(response, request, SESSION_COOKIE, "sealed", 60)
        clear_cookie(response, request, FLOW_COOKIE)
        for cookie in response.headers.getlist("set-cookie"):
            flags = {part.strip().lower() for part in cookie.split(";")[1:]}
            assert ("secure" in flags) is secure, (environment, cookie)


def test_a_bad_token_an_applicant_and_a_forged_cookie_are_not_signed_in(
    client: TestClient, tokens: DevelopmentTokens
) -> None:
    refused = sign_in(client, "not-a-token")
    assert refused.status_code == 401
    assert "ungültig" in refused.text
    applicant = sign_in(client, token_for(tokens, role=Role.APPLICANT))
    assert applicant.status_code == 403
    assert SESSION_COOKIE not in client.cookies
    other_key = Sealer("another-secret-entirely-0123456789", b"session").seal(
        {"actor": {}, "sid": "x", "csrf": "y", "exp": 4_000_000_000}
    )
    client.cookies.set(SESSION_COOKIE, other_key, path="/console")
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_a_post_without_the_sessions_csrf_token_is_refused(
    client: TestClient, tokens: DevelopmentTokens
) -> None:
    csrf = signed_in(client, tokens)
    assert client.post("/console/search", data={"q": "Meier"}).status_code == 403
    wrong = client.post("/console/search", data={"q": "Meier", "csrf_token": "forged"})
    assert wrong.status_code == 403
    htmx = client.post("/console/search", data={"q": "Meier"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 403
    assert (
        client.post(
            "/console/search",
            data={"q": "Meier"},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        ).status_code
        == 200
    )
    assert (
        client.post("/console/search", data={"q": "Meier", "csrf_token": csrf}).status_code == 200
    )
    # signing out needs it too, and then the session is gone
    assert client.post("/console/sign-out", follow_redirects=False).status_code == 403
    out = client.post("/console/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_the_sign_in_form_itself_needs_its_csrf_token(
    client: TestClient, tokens: DevelopmentTokens
) -> None:
    client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in", data={"token": token_for(tokens)}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_the_inbox_shows_the_clerks_town_only_with_due_states_in_words(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    mine = submit(client, auth, "schmitten", "Schmitten Antragstellerin")
    theirs = submit(client, auth, "usingen", "Usingen Antragsteller")
    views_caught_up(client)
    signed_in(client, tokens, tenant="schmitten")
    page = client.get("/console/", params={"min": "1"})
    rows = client.get("/console/inbox/rows")
    for html in (page.text, rows.text):
        assert mine["reference"] in html
        assert theirs["reference"] not in html
        assert "Usingen Antragsteller" not in html
    assert "Schmitten Antragstellerin" in page.text
    assert re.search(r'class="due due-(ok|soon|overdue|none)">[^<]+<', page.text)
    filtered = client.get("/console/", params={"due": "overdue"})
    assert mine["reference"] not in filtered.text  # submitted today: not overdue


def test_search_takes_its_words_from_the_body_and_finds_only_the_towns_cases(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    mine = submit(client, auth, "schmitten", "Quirin Zwiebelmann")
    theirs = submit(client, auth, "usingen", "Quirin Zwiebelmann")
    views_caught_up(client)
    csrf = signed_in(client, tokens, tenant="schmitten")
    found = client.post(
        "/console/search",
        data={"q": "Zwiebelmann", "csrf_token": csrf},
        headers={"HX-Request": "true"},
    )
    assert found.status_code == 200
    assert mine["reference"] in found.text
    assert theirs["reference"] not in found.text
    assert "1 Vorgang gefunden" in found.text
    vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]
    (line,) = vorgang.access_lines.lines(
        AccessLogFilter(tenant="schmitten", what="console-search"), after=None, limit=10
    )
    assert (line.actor_id, line.route, line.hits) == ("clerk.schmitten", "/console/search", 1)
    assert line.hit_case_ids == (mine["id"],)
    assert line.query == {"q": "Zwiebelmann"}


def test_the_statistics_page_draws_its_charts_as_svg(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    submit(client, auth, "usingen", "Statistik Person")
    views_caught_up(client)
    signed_in(client, tokens)
    page = client.get("/console/statistics")
    assert page.status_code == 200
    svgs = re.findall(r"<svg[^>]*role=\"img\"[^>]*>.*?</svg>", page.text, re.S)
    assert len(svgs) == 2
    assert "je Kalenderwoche" in svgs[0]
    assert "<rect" in svgs[0]
    assert "eingegangen" in svgs[0]
    assert "Bearbeitungsdauer" in svgs[1]
    assert "<script" not in page.text.split("</head>")[1]  # no inline script, no chart CDN


def test_the_console_is_outside_the_api_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]
    assert client.get("/console/static/htmx.min.js").status_code == 200


def test_next_never_leads_off_the_console(client: TestClient, tokens: DevelopmentTokens) -> None:
    page = client.get("/console/sign-in", params={"next": "//evil.example/"})
    answer = client.post(
        "/console/sign-in",
        data={
            "token": token_for(tokens),
            "next": "https://evil.example/",
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/console/"


def flow_cookie_of(answer: Any) -> str:
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(f"{FLOW_COOKIE}=")
    )
    return str(cookie.split(";")[0].split("=", 1)[1])


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


_ = pytest  # the module's fixtures come from tests/api/conftest.py


def test_a_session_opens_in_another_process_and_not_after_its_expiry(
    client: TestClient, tokens: DevelopmentTokens, settings: Settings, clock: FixedClock
) -> None:
    assert sign_in(client, token_for(tokens)).status_code == 303
    cookie = client.cookies[SESSION_COOKIE]
    # another API process with the same settings: no memory of the sign-in, the cookie suffices
    with TestClient(create_app(settings, clock=clock)) as other:
        other.cookies.set(SESSION_COOKIE, cookie, path="/console")
        assert other.get("/console/", follow_redirects=False).status_code == 200
    sealer = Sealer(settings.id_secret.get_secret_value(), b"session")
    opened = sealer.open(cookie)
    assert opened is not None
    expired = sealer.seal({**opened, "exp": int(time.time()) - 1})
    client.cookies.set(SESSION_COOKIE, expired, path="/console")
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_a_sign_out_ends_the_session_for_every_copy_of_its_cookie_in_every_process(
    client: TestClient, tokens: DevelopmentTokens, settings: Settings, clock: FixedClock
) -> None:
    csrf = signed_in(client, tokens)
    copied = client.cookies[SESSION_COOKIE]
    vorgang: Any = client.app.state.provider.get()  # type: ignore[attr-defined]
    opened = Sealer(settings.id_secret.get_secret_value(), b"session").open(copied)
    assert opened is not None
    sid = opened["sid"]
    assert not vorgang.signed_out.signed_out(sid)
    # another API process with the same settings and database: the copy opens its pages ...
    with TestClient(create_app(settings, clock=clock)) as other:
        other.cookies.set(SESSION_COOKIE, copied, path="/console")
        assert other.get("/console/", follow_redirects=False).status_code == 200
        out = client.post("/console/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
        assert out.status_code == 303
        assert vorgang.signed_out.signed_out(sid)
        # ... until the sign-out in the first process: then neither opens it
        assert other.get("/console/", follow_redirects=False).status_code == 303
        other.cookies.set(SESSION_COOKIE, copied, path="/console")
        answer = other.post("/console/search", data={"csrf_token": csrf}, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/console/sign-in")
    client.cookies.set(SESSION_COOKIE, copied, path="/console")
    assert client.get("/console/", follow_redirects=False).status_code == 303
    # a new sign-in is a new session, not signed out
    assert signed_in(client, tokens)


def test_the_record_of_signed_out_sessions_keeps_them_until_their_expiry_only(
    client: TestClient,
) -> None:
    from infrastructure.console_sessions import TABLE, SignedOutInTheViews

    vorgang: Any = client.app.state.provider.get()  # type: ignore[attr-defined]
    now = [1_000_000.0]
    record = SignedOutInTheViews(vorgang.views, now=lambda: now[0])
    record.sign_out("a", 1_000_100)
    record.sign_out("b", 1_000_200)
    record.sign_out("gone", 999_999)  # expired already: nothing to keep
    assert [record.signed_out(sid) for sid in ("a", "b", "gone")] == [True, True, False]
    now[0] = 1_000_150.0
    record.sign_out("c", 1_000_300)  # each sign-out prunes the sessions expired since
    rows = vorgang.views.query(f"SELECT sid FROM {TABLE} ORDER BY sid")  # noqa: S608
    assert [row[0] for row in rows] == ["b", "c"]


def test_another_clerk_reads_who_handles_a_case_by_name_not_by_account_id(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth, settings: Settings, clock: FixedClock
) -> None:
    case = submit(client, auth, "usingen", "Erika Beispiel")
    subject = "5b7e1c9a-3f0d-4f6e-9a51-2c8d7e4b6a10"
    olga = tokens.issue(subject=subject, name="Olga Idc", role=Role.CLERK, tenant="usingen")
    with TestClient(create_app(settings, clock=clock)) as other:
        assert sign_in(other, olga).status_code == 303
        csrf = csrf_of(other.get("/console/").text)
        claimed = other.post(
            f"/console/cases/{case['id']}/commands/claim",
            data={"csrf_token": csrf, "_version": str(case["version"])},
            follow_redirects=False,
        )
        assert claimed.status_code == 303, claimed.text
    signed_in(client, tokens, sub="bernd.clerk")  # not the holder: names from the records
    views_caught_up(client)
    row = re.search(rf'<tr data-case="{case["id"]}">.*?</tr>', client.get("/console/").text, re.S)
    assert row
    assert "Olga Idc" in row.group(0)
    assert subject not in row.group(0)
    page = client.get(f"/console/cases/{case['id']}").text
    assert "<dt>Bearbeitung</dt><dd>Olga Idc</dd>" in page


def test_errors_are_german_pages(client: TestClient, tokens: DevelopmentTokens) -> None:
    signed_in(client, tokens)
    missing = client.get("/console/no-such-page")
    assert missing.status_code == 404
    assert "Nicht gefunden" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    problem = client.get("/console/cases/not-a-uuid")
    assert problem.status_code in (400, 404, 422)
    assert problem.headers["content-type"].startswith("text/html")


def test_a_live_refresh_keeps_the_pages_filters_and_only_known_values(
    client: TestClient, tokens: DevelopmentTokens
) -> None:
    signed_in(client, tokens)
    page = client.get(
        "/console/", params={"status": "submitted", "due": "overdue", "service": "<script>"}
    )
    assert 'hx-get="/console/inbox/rows?status=submitted&amp;due=overdue"' in page.text
    assert 'sse-connect="/console/events"' in page.text
    assert "<script>" not in page.text.split("</head>")[1]


def test_a_hit_list_the_access_log_cannot_record_is_not_shown(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = submit(client, auth, "usingen", "Rosa Protokollfall")
    views_caught_up(client)
    csrf = signed_in(client, tokens)
    vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]

    def unavailable(*_: Any, **__: Any) -> None:
        raise AccessLogUnavailable("the access log cannot be written now")

    monkeypatch.setattr(vorgang.access_log, "record_read", unavailable)
    answer = client.post("/console/search", data={"q": "Protokollfall", "csrf_token": csrf})
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert "Zugriffsprotokoll" in answer.text
    assert case["reference"] not in answer.text
    assert "Rosa" not in answer.text


def test_a_clerk_claims_an_unassigned_case_from_the_list(
    client: TestClient, tokens: DevelopmentTokens, auth: Auth
) -> None:
    case = submit(client, auth, "usingen", "Ida Übernahme")
    views_caught_up(client)
    signed_in(client, tokens, sub="anna.schmidt")
    page = client.get("/console/")
    claim = re.search(
        rf'<form method="post" action="(/console/cases/{case["id"]}/commands/claim)"'
        r'[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)">',
        page.text,
    )
    assert claim, "an unassigned case offers Übernehmen"
    assert re.search(
        rf'{claim.group(0)}\s*<input type="hidden" name="_version" value="unheld">', page.text
    )
    answer = client.post(
        claim.group(1),
        data={"csrf_token": claim.group(2), "_version": "unheld"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    held = client.get(f"/api/v1/cases/{case['id']}", headers=auth("clerk"))
    assert held.json()["holder"] == "anna.schmidt"
    views_caught_up(client)
    again = client.get("/console/")
    row = again.text.split(f'data-case="{case["id"]}"')[1].split("</tr>")[0]
    assert "Usingen Clerk" in row  # by name, never by account id
    assert "anna.schmidt" not in row
    assert "Übernehmen" not in row
    # the list's claim of a case someone holds by now is refused, and nothing runs
    other = submit(client, auth, "usingen", "Udo Zweit")
    client.post(
        f"/console/cases/{other['id']}/commands/claim",
        data={"csrf_token": claim.group(2), "_version": str(other["version"])},
        follow_redirects=False,
    )
    late = client.post(
        f"/console/cases/{other['id']}/commands/claim",
        data={"csrf_token": claim.group(2), "_version": "unheld"},
        headers={"HX-Request": "true"},
    )
    assert 'data-status="409"' in late.text
    history = client.get(f"/api/v1/cases/{other['id']}/history", headers=auth("clerk"))
    assert len(history.json()) == 2  # submitted, claimed once
