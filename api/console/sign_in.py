"""The console's sign-in and sign-out pages (the session itself: ``api.console.session``)."""

from __future__ import annotations

from typing import Annotated

import anyio
import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import IssuerUnavailable, Unauthenticated
from api.console.csrf import read_form
from api.console.session import (
    IssuerError,
    admitted,
    begin_code_flow,
    code_flow,
    end_session,
    flow_of,
    safe_next,
    same,
    save_flow,
    session_of,
    start_session,
    token_expiry,
    verify_token,
)
from api.console.templating import render

router = APIRouter()
log = structlog.get_logger(__name__)
NOT_STAFF = (
    "Die Konsole ist für Beschäftigte der Gemeinden; Ihre Rolle ist dafür nicht freigegeben."
)


def development(request: Request) -> bool:
    """The development sign-in form (a token from ``vorgang token``) is offered."""
    return str(request.app.state.settings.environment) == "development"


def sign_in_page(
    request: Request, next_to: str, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    """The sign-in page, with an error where the last attempt failed."""
    return render(
        request,
        "console/sign_in.html",
        status_code=status_code,
        next_to=safe_next(next_to),
        error=error,
        oidc=code_flow(request) is not None,
        development=development(request),
        signed_out=request.query_params.get("signed_out") == "1",
    )


@router.get("/sign-in", response_class=HTMLResponse, name="console_sign_in")
def sign_in(
    request: Request, next: Annotated[str, Query(max_length=300)] = "/console/"
) -> Response:
    """Sign in: through the town's identity provider, or (development) with a token."""
    if session_of(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return sign_in_page(request, next)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in_with_token(request: Request) -> Response:
    """Development: sign in with a token from ``vorgang token`` (field ``token``)."""
    form = await read_form(request)
    next_to = safe_next(str(form.get("next", "/console/")))
    if not development(request):
        return sign_in_page(
            request,
            next_to,
            error="Die Anmeldung mit Token gibt es nur in der Entwicklung.",
            status_code=404,
        )
    token = str(form.get("token", "")).strip()
    if not token:
        return sign_in_page(request, next_to, error="Bitte ein Token eingeben.", status_code=400)
    try:
        actor = await anyio.to_thread.run_sync(verify_token, request, token)
    except Unauthenticated:
        return sign_in_page(
            request, next_to, error="Das Token ist ungültig oder abgelaufen.", status_code=401
        )
    if not admitted(actor):
        return sign_in_page(request, next_to, error=NOT_STAFF, status_code=403)
    response = RedirectResponse(next_to, status_code=303)
    start_session(response, request, actor, token_expiry(token))
    log.info("console sign-in", method="development-token", actor_id=actor.id)
    return response


@router.get("/sign-in/oidc", name="console_sign_in_oidc")
async def sign_in_with_issuer(
    request: Request, next: Annotated[str, Query(max_length=300)] = "/console/"
) -> Response:
    """Off to the issuer: authorization code with PKCE (S256) and a fresh ``state``."""
    flow = code_flow(request)
    if flow is None:
        return sign_in_page(
            request, next, error="Es ist kein Identitätsanbieter eingerichtet.", status_code=404
        )
    try:
        url, pending = await begin_code_flow(request, flow, next)
    except IssuerError as error:
        log.warning("console sign-in: issuer unavailable", error=str(error))
        return sign_in_page(
            request, next, error="Der Identitätsanbieter antwortet nicht.", status_code=502
        )
    response = RedirectResponse(url, status_code=303)
    save_flow(response, request, {**flow_of(request), **pending})
    return response


@router.get("/callback", name="console_callback")
async def callback(
    request: Request,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Back from the issuer: check ``state``, exchange the code with the verifier, sign in."""
    pending = flow_of(request)
    next_to = safe_next(pending.get("next"))
    if error:
        return sign_in_page(
            request, next_to, error="Die Anmeldung wurde abgebrochen.", status_code=400
        )
    if not pending.get("verifier") or not same(state, pending.get("state")):
        return sign_in_page(
            request,
            next_to,
            error="Die Anmeldung ist abgelaufen oder gehört nicht zu diesem Browser. "
            "Bitte erneut anmelden.",
            status_code=400,
        )
    flow = code_flow(request)
    if flow is None or not code:
        return sign_in_page(
            request, next_to, error="Die Anmeldung ist unvollständig.", status_code=400
        )
    redirect_uri = str(request.url_for("console_callback"))
    try:
        token = await anyio.to_thread.run_sync(
            flow.exchange, code, str(pending["verifier"]), redirect_uri
        )
        actor = await anyio.to_thread.run_sync(verify_token, request, token)
    except IssuerError as failure:
        log.warning("console sign-in: code exchange failed", error=str(failure))
        return sign_in_page(
            request,
            next_to,
            error="Der Identitätsanbieter hat die Anmeldung nicht bestätigt.",
            status_code=502,
        )
    except IssuerUnavailable:
        return sign_in_page(
            request, next_to, error="Der Identitätsanbieter antwortet nicht.", status_code=503
        )
    except Unauthenticated:
        return sign_in_page(
            request, next_to, error="Das Zugangstoken wurde nicht anerkannt.", status_code=401
        )
    if not admitted(actor):
        return sign_in_page(request, next_to, error=NOT_STAFF, status_code=403)
    response = RedirectResponse(next_to, status_code=303)
    start_session(response, request, actor, token_expiry(token))
    log.info("console sign-in", method="oidc", actor_id=actor.id)
    return response


@router.post("/sign-out")
def sign_out(request: Request) -> Response:
    """Sign out: the session cookie is removed."""
    response = RedirectResponse("/console/sign-in?signed_out=1", status_code=303)
    end_session(response, request)
    return response
