"""RFC 9457 problem details: every error of the API as ``application/problem+json``."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import OperationalError as PsycopgOperationalError
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import IssuerUnavailable, Unauthenticated
from application.errors import (
    CaseNotFound,
    ConcurrentUpdate,
    IdempotencyConflict,
    InvalidApplicationData,
    UnknownService,
    VersionMismatch,
)
from domain.errors import (
    CaseHeldByAnotherClerk,
    DomainError,
    InvalidCommand,
    InvalidTransition,
    NotTheHolder,
    WrongTenant,
)
from domain.teams import NotYourTeam
from domain.tenants import UnknownTenant
from infrastructure.database_watch import DatabaseWatch
from infrastructure.wiring import DatabaseUnavailable

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://vorgang.example/problems/"


class Forbidden(Exception):
    """Authenticated, but this role may not do this: 403."""


class NotFound(Exception):
    """A resource of the API that does not exist: 404."""


class ServiceUnavailable(Exception):
    """The database cannot be reached right now: 503 with Retry-After."""

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ViewCatchingUp(Exception):
    """A read model still behind the position asked for: 503 with Retry-After and its position."""

    def __init__(self, view: str, position: int, wanted: int, retry_after: int) -> None:
        super().__init__(f"the {view} view is at position {position}, not yet at {wanted}")
        self.view = view
        self.position = position
        self.wanted = wanted
        self.retry_after = retry_after


class BadHeader(Exception):
    """A malformed header or query parameter (If-Match, cursor): 422 naming it."""

    def __init__(self, header: str, message: str, where: str = "header") -> None:
        super().__init__(message)
        self.header = header
        self.where = where


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": PROBLEM_BASE + slug if slug else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        **extensions,
    }
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers) if headers else None,
    )


def unavailable(detail: str, retry_after: int) -> JSONResponse:
    """503 with Retry-After: the database is not reachable right now."""
    return problem(
        503,
        "Service unavailable",
        detail,
        slug="database-unavailable",
        headers={"Retry-After": str(retry_after)},
    )


def field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    """Each validation error with where it is (body, query, header, path) and its field path."""
    found: list[dict[str, Any]] = []
    for item in error.errors():
        if item.get("type") == "json_invalid":
            found.append(json_syntax_error(item, error.body))
            continue
        location = [str(part) for part in item["loc"]]
        where = location[0] if location else "body"
        found.append(
            {"in": where, "field": ".".join(location[1:]) or where, "message": item["msg"]}
        )
    return found


def json_syntax_error(item: Mapping[str, Any], document: object) -> dict[str, Any]:
    """A JSON syntax error as the body's error, placed by line and column (not byte offset)."""
    offset = item["loc"][-1] if item.get("loc") else 0
    reason = str((item.get("ctx") or {}).get("error", "invalid JSON"))
    if not isinstance(offset, int) or not isinstance(document, str):
        return {"in": "body", "field": "body", "message": f"the body is not valid JSON: {reason}"}
    line = document.count("\n", 0, offset) + 1
    column = offset - (document.rfind("\n", 0, offset) + 1) + 1
    return {
        "in": "body",
        "field": "body",
        "message": f"the body is not valid JSON: {reason} at line {line}, column {column}",
        "line": line,
        "column": column,
    }


def unreadable_body(cause: BaseException | None) -> str:
    """Why a body could not be parsed at all, in words a client can act on."""
    if isinstance(cause, UnicodeDecodeError):
        return "the body is not valid UTF-8"
    if isinstance(cause, RecursionError):
        return "the body nests arrays or objects too deeply"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "a number in the body has too many digits"
    return "the body could not be read as JSON"


def internal_error(request_id: str) -> JSONResponse:
    """500 for an error nobody expected: no detail of it, the request id to quote."""
    return problem(
        500,
        "Internal error",
        "Something went wrong; it has been logged under this request id.",
        slug="internal",
        request_id=request_id,
    )


DATABASE_DOWN = (
    DatabaseUnavailable,
    OperationalError,
    InterfaceError,
    PsycopgOperationalError,
    PoolTimeout,
    sqlite3.OperationalError,
)


def install_problem_handlers(app: FastAPI, retry_after: int, watch: DatabaseWatch) -> None:
    """Map every error the API can meet to its problem response."""

    @app.exception_handler(RequestValidationError)
    def invalid_request(_r: Request, error: RequestValidationError) -> JSONResponse:
        return problem(
            422,
            "Invalid request",
            "Some fields are invalid; see errors.",
            slug="validation",
            errors=field_errors(error),
        )

    @app.exception_handler(BadHeader)
    def bad_header(_r: Request, error: BadHeader) -> JSONResponse:
        return problem(
            422,
            "Invalid header",
            str(error),
            slug="validation",
            errors=[{"in": error.where, "field": error.header, "message": str(error)}],
        )

    @app.exception_handler(InvalidCommand)
    def invalid_command(_r: Request, error: InvalidCommand) -> JSONResponse:
        return problem(
            422,
            "Invalid command",
            str(error),
            slug="validation",
            errors=[{"in": "body", "field": error.field, "message": str(error)}],
        )

    @app.exception_handler(InvalidApplicationData)
    def invalid_data(_r: Request, error: InvalidApplicationData) -> JSONResponse:
        return problem(
            422,
            "Invalid application data",
            "The application data does not fit the service; see errors.",
            slug="validation",
            errors=[{"in": "body", "field": f, "message": m} for f, m in error.errors],
        )

    @app.exception_handler(UnknownTenant)
    def unknown_tenant(_r: Request, error: UnknownTenant) -> JSONResponse:
        return problem(
            422,
            "Unknown tenant",
            str(error),
            slug="validation",
            errors=[{"in": "body", "field": "tenant", "message": str(error)}],
        )

    @app.exception_handler(UnknownService)
    def unknown_service(_r: Request, error: UnknownService) -> JSONResponse:
        return problem(
            422,
            "Unknown service",
            str(error),
            slug="validation",
            errors=[{"in": "body", "field": "service", "message": str(error)}],
        )

    @app.exception_handler(IdempotencyConflict)
    def idempotency_conflict(_r: Request, error: IdempotencyConflict) -> JSONResponse:
        return problem(
            422,
            "Idempotency-Key reused",
            str(error),
            slug="idempotency-key-reused",
            errors=[{"in": "header", "field": "Idempotency-Key", "message": str(error)}],
        )

    @app.exception_handler(InvalidTransition)
    def invalid_transition(_r: Request, error: InvalidTransition) -> JSONResponse:
        return problem(
            409,
            "Not allowed in the current state",
            str(error),
            slug="invalid-transition",
            current_status=error.status,
            allowed_commands=list(error.allowed),
        )

    @app.exception_handler(CaseHeldByAnotherClerk)
    def held(_r: Request, error: CaseHeldByAnotherClerk) -> JSONResponse:
        return problem(
            409, "Case held by someone else", str(error), slug="case-held", holder=error.holder_id
        )

    @app.exception_handler(NotTheHolder)
    def not_holder(_r: Request, error: NotTheHolder) -> JSONResponse:
        return problem(
            409, "Claim the case first", str(error), slug="not-the-holder", holder=error.holder_id
        )

    @app.exception_handler(ConcurrentUpdate)
    def lost_race(_r: Request, error: ConcurrentUpdate) -> JSONResponse:
        return problem(409, "Changed concurrently", str(error), slug="concurrent-update")

    @app.exception_handler(VersionMismatch)
    def stale(_r: Request, error: VersionMismatch) -> JSONResponse:
        return problem(
            412,
            "Precondition failed",
            str(error),
            slug="stale-version",
            headers={"ETag": f'"{error.actual}"'},
            current_version=error.actual,
        )

    @app.exception_handler(CaseNotFound)
    def not_found(_r: Request, error: CaseNotFound) -> JSONResponse:
        return problem(404, "Not found", str(error), slug="not-found")

    @app.exception_handler(NotFound)
    def api_not_found(_r: Request, error: NotFound) -> JSONResponse:
        return problem(404, "Not found", str(error), slug="not-found")

    @app.exception_handler(WrongTenant)
    def wrong_tenant(_r: Request, error: WrongTenant) -> JSONResponse:
        return problem(403, "Forbidden", str(error), slug="forbidden")

    @app.exception_handler(NotYourTeam)
    def not_your_team(request: Request, error: NotYourTeam) -> JSONResponse:
        detail = str(error)
        with contextlib.suppress(Exception):  # naming the right team is a courtesy
            roster = request.app.state.provider.get().teams.teams_of(error.tenant)
            handling = sorted(t.id for t in roster if t.handles(error.service))
            detail = (
                f"{error.service} cases are handled by {', '.join(handling) or 'no team'}; "
                f"your teams: {', '.join(error.teams)}"
            )
        return problem(403, "Forbidden", detail, slug="forbidden")

    @app.exception_handler(Forbidden)
    def forbidden(_r: Request, error: Forbidden) -> JSONResponse:
        return problem(403, "Forbidden", str(error), slug="forbidden")

    @app.exception_handler(DomainError)
    def refused(_r: Request, error: DomainError) -> JSONResponse:
        return problem(422, "Refused", str(error), slug="refused")

    @app.exception_handler(Unauthenticated)
    def unauthenticated(_r: Request, error: Unauthenticated) -> JSONResponse:
        return problem(
            401,
            "Unauthorized",
            str(error),
            slug="unauthorized",
            headers={"WWW-Authenticate": error.www_authenticate()},
        )

    @app.exception_handler(IssuerUnavailable)
    def issuer_unavailable(_r: Request, error: IssuerUnavailable) -> JSONResponse:
        return problem(
            503,
            "Identity provider unavailable",
            str(error),
            slug="issuer-unavailable",
            headers={"Retry-After": str(error.retry_after)},
        )

    @app.exception_handler(ServiceUnavailable)
    def service_unavailable(_r: Request, error: ServiceUnavailable) -> JSONResponse:
        return unavailable(str(error), error.retry_after)

    @app.exception_handler(ViewCatchingUp)
    def view_catching_up(_r: Request, error: ViewCatchingUp) -> JSONResponse:
        return problem(
            503,
            "Read model catching up",
            str(error),
            slug="view-catching-up",
            headers={"Retry-After": str(error.retry_after)},
            view=error.view,
            position=error.position,
            min_position=error.wanted,
        )

    @app.exception_handler(IntegrityError)
    def integrity(_r: Request, error: IntegrityError) -> JSONResponse:
        return problem(409, "Changed concurrently", "Reload and retry.", slug="concurrent-update")

    for database_error in DATABASE_DOWN:

        @app.exception_handler(database_error)
        def database_down(_r: Request, error: Exception) -> JSONResponse:
            log.warning("database unavailable", error=type(error).__name__)
            watch.report_failure()
            return unavailable("The database is not reachable; try again shortly.", retry_after)

    @app.exception_handler(StarletteHTTPException)
    def http_error(_r: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400 and error.__cause__ is not None:
            # FastAPI's "error parsing the body": invalid UTF-8, too deep, too many digits.
            message = unreadable_body(error.__cause__)
            return problem(
                400,
                "Unreadable body",
                message,
                slug="validation",
                errors=[{"in": "body", "field": "body", "message": message}],
            )
        return problem(
            error.status_code, str(error.detail), str(error.detail), headers=error.headers
        )
