"""The clerk console at ``/console``: server-rendered pages (Jinja2 + htmx), no build step.

A FastAPI application of its own, mounted under the API's (``api.app``): it shares the API's
state (settings, the application provider, the token verifier) and middleware (request id,
body limit), but answers errors as German HTML pages instead of problem+json, and stays out
of the OpenAPI document (it is a user interface, not an API).

- ``api.console.session``: the sealed session cookie, ``console_actor`` / ``ConsoleActor``
  (the signed-in person, or a redirect to the sign-in page), the OIDC code flow with PKCE.
- ``api.console.csrf``: ``csrf_field(request)``, ``read_form(request)``; every POST is
  checked by ``csrf_protect`` before its route runs.
- ``api.console.templating``: ``TEMPLATES`` and ``render(request, template, **context)``.
- ``api.console.pages``: the Posteingang, search, live updates, statistics.
- ``api.console.case_page``: the case page (its own router, included here).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console import pages, sign_in
from api.console.csrf import CsrfRefused, csrf_protect
from api.console.problem_texts import page_detail
from api.console.session import ConsoleForbidden, SignInRequired
from api.console.templating import render
from api.context import where_it_failed
from api.problems import kind_of, problem_kinds
from api.text_input import no_nul_in_parameters
from application.access_log import AccessLogUnavailable

STATIC = Path(__file__).resolve().parent / "static"
log = structlog.get_logger(__name__)

TITLES = {
    400: "Die Anfrage ist unvollständig",
    401: "Bitte melden Sie sich an",
    403: "Kein Zugriff",
    404: "Nicht gefunden",
    409: "Der Vorgang hat sich inzwischen geändert",
    413: "Die Eingabe ist zu groß",
    422: "Die Eingabe ist nicht gültig",
    500: "Ein Fehler ist aufgetreten",
    502: "Ein beteiligter Dienst antwortet nicht",
    503: "Vorübergehend nicht verfügbar",
}


def case_page_module() -> ModuleType | None:
    """The case page (built beside the shell); None until its module exists."""
    try:
        return importlib.import_module("api.console.case_page")
    except ModuleNotFoundError as error:
        if error.name != "api.console.case_page":
            raise
        return None


def error_page(request: Request, status: int, detail: str | None = None) -> HTMLResponse:
    """A German error page with the status's title and what went wrong."""
    return render(
        request,
        "console/error.html",
        status_code=status,
        status=status,
        title=TITLES.get(status, TITLES[500] if status >= 500 else TITLES[400]),
        detail=detail,
    )


def install_error_pages(console: FastAPI, retry_after: int, watch: object) -> None:
    """Errors as pages: sign-in redirects, 403/404/503 pages; problems keep their status."""

    async def sign_in_required(request: Request, error: Exception) -> Response:
        assert isinstance(error, SignInRequired)
        target = f"/console/sign-in?next={quote(error.next_path, safe='/')}"
        if request.headers.get("HX-Request") == "true":  # htmx: the whole page goes there
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def forbidden(request: Request, error: Exception) -> Response:
        return error_page(request, 403, str(error))

    async def csrf_refused(request: Request, error: Exception) -> Response:
        log.warning("console: a form without its CSRF token was refused", path=request.url.path)
        return error_page(
            request,
            403,
            "Das Formular konnte nicht bestätigt werden (Sicherheitsprüfung). Bitte laden Sie "
            "die Seite neu und senden Sie es erneut.",
        )

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        return error_page(request, error.status_code)  # the German title; never English

    async def invalid(request: Request, error: Exception) -> Response:
        return error_page(request, 400, "Ein Wert in der Adresse oder im Formular ist ungültig.")

    kinds = problem_kinds(retry_after, watch)  # type: ignore[arg-type]

    async def problem(request: Request, error: Exception) -> Response:
        answer = kind_of(error, kinds).respond(error, request)
        try:
            body = json.loads(bytes(answer.body))
        except ValueError:
            body = {}
        page = error_page(request, answer.status_code, page_detail(body))  # never English
        if "retry-after" in answer.headers:
            page.headers["Retry-After"] = answer.headers["retry-after"]
        return page

    async def access_log_down(request: Request, error: Exception) -> Response:
        page = error_page(
            request,
            503,
            "Das Zugriffsprotokoll kann gerade nicht geschrieben werden; deshalb werden keine "
            "Daten angezeigt. Bitte versuchen Sie es gleich noch einmal.",
        )
        page.headers["Retry-After"] = str(retry_after)
        return page

    async def crashed(request: Request, error: Exception) -> Response:
        # types and code locations only: an error's text may quote personal data
        log.error(
            "console page failed",
            error=type(error).__name__,
            where=where_it_failed(error),
            path=request.url.path,
        )
        return error_page(request, 500)

    for error_class in kinds:
        console.add_exception_handler(error_class, problem)
    console.add_exception_handler(SignInRequired, sign_in_required)
    console.add_exception_handler(ConsoleForbidden, forbidden)
    console.add_exception_handler(CsrfRefused, csrf_refused)
    console.add_exception_handler(StarletteHTTPException, http_error)
    console.add_exception_handler(RequestValidationError, invalid)
    console.add_exception_handler(AccessLogUnavailable, access_log_down)
    console.add_exception_handler(Exception, crashed)


def console_app(parent: FastAPI, retry_after: int, watch: object) -> FastAPI:
    """The console, sharing ``parent``'s state; mount it at ``/console``."""
    console = FastAPI(
        title="Vorgang console",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(no_nul_in_parameters), Depends(csrf_protect)],
    )
    console.state = parent.state
    console.include_router(sign_in.router)
    console.include_router(pages.router)
    case_page = case_page_module()
    if case_page is not None:
        console.include_router(case_page.router)
    console.mount("/static", StaticFiles(directory=STATIC), name="console_static")
    install_error_pages(console, retry_after, watch)
    return console
