"""RFC 9457 problem details: every error of the API as ``application/problem+json``."""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import OperationalError as PsycopgOperationalError
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import IssuerUnavailable, Unauthenticated
from api.ports import DatabaseWatch
from application.access_log import AccessLogUnavailable
from application.document_ports import ChannelUnavailable, DocumentErased, DocumentMissing
from application.errors import (
    CaseNotFound,
    ConcurrentUpdate,
    IdempotencyConflict,
    InvalidApplicationData,
    UnknownService,
    VersionMismatch,
)
from application.facade import DatabaseUnavailable
from application.payment_ports import (
    BadSignature,
    ProviderRefused,
    ProviderUnavailable,
    StaleCallback,
)
from application.payments import NoProvider
from domain.errors import (
    CaseHeldByAnotherClerk,
    DomainError,
    InvalidCommand,
    InvalidTransition,
    NotTheHolder,
    WrongTenant,
)
from domain.payments.payment_request import WrongRequestState
from domain.payments.receivable import WrongReceivableState
from domain.teams import NotYourTeam
from domain.tenants import UnknownTenant

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://vorgang.example/problems/"


class FieldProblem(BaseModel):
    """One thing wrong with the request: where (body, query, header, path), which field, why."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    in_: str = Field(alias="in", description="body, query, header or path", examples=["body"])
    field: str = Field(description="The field's dotted path", examples=["applicant.name"])
    message: str = Field(examples=["Field required"])


class Problem(BaseModel):
    """An RFC 9457 problem: every error of the API; extensions such as ``holder`` may follow."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": PROBLEM_BASE + "validation",
                    "title": "Invalid request",
                    "status": 422,
                    "detail": "Some fields are invalid; see errors.",
                    "errors": [{"in": "body", "field": "reason", "message": "Field required"}],
                }
            ]
        },
    )

    type: str = Field(
        default="about:blank", description="A URI naming the kind of problem, stable to match on"
    )
    title: str = Field(description="The kind of problem in words")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="This occurrence in words")
    errors: list[FieldProblem] = Field(
        default_factory=list, description="For a 422 or 400: each field that is wrong"
    )


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


def already_recorded(error: InvalidCommand) -> JSONResponse:
    """409 naming the body's field whose value is taken (a code a town used that year)."""
    return problem(
        409,
        "Already recorded",
        error.message,
        slug="already-recorded",
        errors=[{"in": "body", "field": error.field, "message": error.message}],
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


@dataclass(frozen=True)
class ProblemKind:
    """How errors of one class become a problem: status, title, type, and what else it names.

    Each callable gets the error and the request; ``notice`` runs first, for what the API
    must learn from the error (a database that stopped answering).
    """

    status: int
    title: str
    slug: str | None
    detail: Callable[[Any, Request], str] = lambda error, _request: str(error)
    errors: Callable[[Any, Request], list[dict[str, Any]]] | None = None
    extensions: Callable[[Any, Request], dict[str, Any]] | None = None
    headers: Callable[[Any, Request], dict[str, str]] | None = None
    notice: Callable[[Any], None] | None = None

    def respond(self, error: Exception, request: Request) -> JSONResponse:
        """The problem response for this error."""
        if self.notice is not None:
            self.notice(error)
        extensions = dict(self.extensions(error, request)) if self.extensions else {}
        if self.errors is not None:
            extensions["errors"] = self.errors(error, request)
        return problem(
            self.status,
            self.title,
            self.detail(error, request),
            slug=self.slug,
            headers=self.headers(error, request) if self.headers else None,
            **extensions,
        )


def body_error(field: str) -> Callable[[Any, Request], list[dict[str, Any]]]:
    """The error names one field of the body, with the error's own words."""
    return lambda error, _request: [{"in": "body", "field": field, "message": str(error)}]


def retry_after_of(error: Any, _request: Request) -> dict[str, str]:
    """Retry-After as the error says (the database, the issuer, a view catching up)."""
    return {"Retry-After": str(error.retry_after)}


def team_detail(error: NotYourTeam, request: Request) -> str:
    """Which teams handle the service, and which are the caller's: a courtesy, if known."""
    detail = str(error)
    with contextlib.suppress(Exception):  # naming the right team is a courtesy
        roster = request.app.state.provider.get().teams.teams_of(error.tenant)
        handling = sorted(t.id for t in roster if t.handles(error.service))
        detail = (
            f"{error.service} cases are handled by {', '.join(handling) or 'no team'}; "
            f"your teams: {', '.join(error.teams)}"
        )
    return detail


def callback_refused(error: BadSignature) -> None:
    """A provider's callback that did not verify: logged by kind, never with its body."""
    log.warning(
        "payment callback refused",
        reason="stale" if isinstance(error, StaleCallback) else "bad_signature",
    )


def state_errors(error: InvalidCommand, _request: Request) -> list[dict[str, Any]]:
    """A state conflict names the field it is about (``status``), as validation does."""
    return [{"in": "body", "field": error.field, "message": str(error)}]


def problem_kinds(retry_after: int, watch: DatabaseWatch) -> dict[type[Exception], ProblemKind]:
    """Every error the API can meet, by class; a subclass not listed takes its base's kind."""

    def database_down(error: Exception) -> None:
        log.warning("database unavailable", error=type(error).__name__)
        watch.report_failure()

    provider_down = ProblemKind(
        503,
        "Payment provider unavailable",
        "payment-provider-unavailable",
        headers=lambda _error, _request: {"Retry-After": str(retry_after)},
    )
    payment_state = ProblemKind(
        409, "Not allowed in the current state", "invalid-transition", errors=state_errors
    )

    forbidden = ProblemKind(403, "Forbidden", "forbidden")
    not_found = ProblemKind(404, "Not found", "not-found")
    concurrent = ProblemKind(409, "Changed concurrently", "concurrent-update")
    kinds: dict[type[Exception], ProblemKind] = {
        RequestValidationError: ProblemKind(
            422,
            "Invalid request",
            "validation",
            detail=lambda _error, _request: "Some fields are invalid; see errors.",
            errors=lambda error, _request: field_errors(error),
        ),
        BadHeader: ProblemKind(
            422,
            "Invalid header",
            "validation",
            errors=lambda error, _request: [
                {"in": error.where, "field": error.header, "message": str(error)}
            ],
        ),
        InvalidCommand: ProblemKind(
            422,
            "Invalid command",
            "validation",
            errors=lambda error, _request: [
                {"in": "body", "field": error.field, "message": str(error)}
            ],
        ),
        InvalidApplicationData: ProblemKind(
            422,
            "Invalid application data",
            "validation",
            detail=lambda _error, _request: (
                "The application data does not fit the service; see errors."
            ),
            errors=lambda error, _request: [
                {"in": "body", "field": f, "message": m} for f, m in error.errors
            ],
        ),
        UnknownTenant: ProblemKind(
            422, "Unknown tenant", "validation", errors=body_error("tenant")
        ),
        UnknownService: ProblemKind(
            422, "Unknown service", "validation", errors=body_error("service")
        ),
        IdempotencyConflict: ProblemKind(
            422,
            "Idempotency-Key reused",
            "idempotency-key-reused",
            errors=lambda error, _request: [
                {"in": "header", "field": "Idempotency-Key", "message": str(error)}
            ],
        ),
        InvalidTransition: ProblemKind(
            409,
            "Not allowed in the current state",
            "invalid-transition",
            extensions=lambda error, _request: {
                "current_status": error.status,
                "allowed_commands": list(error.allowed),
            },
        ),
        CaseHeldByAnotherClerk: ProblemKind(
            409,
            "Case held by someone else",
            "case-held",
            extensions=lambda error, _request: {"holder": error.holder_id},
        ),
        NotTheHolder: ProblemKind(
            409,
            "Claim the case first",
            "not-the-holder",
            extensions=lambda error, _request: {"holder": error.holder_id},
        ),
        ConcurrentUpdate: concurrent,
        VersionMismatch: ProblemKind(
            412,
            "Precondition failed",
            "stale-version",
            headers=lambda error, _request: {"ETag": f'"{error.actual}"'},
            extensions=lambda error, _request: {"current_version": error.actual},
        ),
        CaseNotFound: not_found,
        NotFound: not_found,
        WrongTenant: forbidden,
        NotYourTeam: ProblemKind(403, "Forbidden", "forbidden", detail=team_detail),
        Forbidden: forbidden,
        DomainError: ProblemKind(422, "Refused", "refused"),
        Unauthenticated: ProblemKind(
            401,
            "Unauthorized",
            "unauthorized",
            headers=lambda error, _request: {"WWW-Authenticate": error.www_authenticate()},
        ),
        IssuerUnavailable: ProblemKind(
            503, "Identity provider unavailable", "issuer-unavailable", headers=retry_after_of
        ),
        ServiceUnavailable: ProblemKind(
            503, "Service unavailable", "database-unavailable", headers=retry_after_of
        ),
        ViewCatchingUp: ProblemKind(
            503,
            "Read model catching up",
            "view-catching-up",
            headers=retry_after_of,
            extensions=lambda error, _request: {
                "view": error.view,
                "position": error.position,
                "min_position": error.wanted,
            },
        ),
        DocumentErased: ProblemKind(
            410,
            "Document erased",
            "document-erased",
            detail=lambda _error, _request: (
                "The personal data this document carries was erased: it can no longer be read."
            ),
        ),
        DocumentMissing: ProblemKind(
            500,
            "Document missing",
            "document-missing",
            detail=lambda _error, _request: (
                "The stored document does not match the one the case issued; this has been "
                "logged for the operators."
            ),
            notice=lambda error: log.error("document missing", error=str(error)),
        ),
        ChannelUnavailable: ProblemKind(
            503,
            "Delivery channel unavailable",
            "channel-unavailable",
            headers=lambda _error, _request: {"Retry-After": str(retry_after)},
        ),
        # A read whose access-log line cannot be written is not answered (decision 36).
        AccessLogUnavailable: ProblemKind(
            503,
            "Service unavailable",
            "database-unavailable",
            detail=lambda _error, _request: (
                "The access log cannot be written now, so nothing is read out; try again shortly."
            ),
            headers=lambda _error, _request: {"Retry-After": str(retry_after)},
        ),
        # Payments (#24). A callback that does not verify: 401, its body neither echoed nor
        # logged (it is the provider's, and may carry what Vorgang must not keep).
        BadSignature: ProblemKind(
            401,
            "Callback signature refused",
            "bad-signature",
            detail=lambda _error, _request: (
                "The callback's signature does not verify with the provider's secrets."
            ),
            notice=callback_refused,
        ),
        StaleCallback: ProblemKind(
            401,
            "Callback signature refused",
            "stale-callback",
            detail=lambda _error, _request: (
                "The callback was signed outside the replay window (five minutes)."
            ),
            notice=callback_refused,
        ),
        ProviderUnavailable: provider_down,
        NoProvider: dataclasses.replace(
            provider_down,
            detail=lambda _error, _request: "No payment provider is configured for online payment.",
        ),
        ProviderRefused: ProblemKind(502, "Payment provider refused", "payment-provider-refused"),
        WrongReceivableState: payment_state,
        WrongRequestState: payment_state,
        IntegrityError: dataclasses.replace(
            concurrent, detail=lambda _error, _request: "Reload and retry."
        ),
    }
    for database_error in DATABASE_DOWN:
        kinds[database_error] = ProblemKind(
            503,
            "Service unavailable",
            "database-unavailable",
            detail=lambda _error, _request: "The database is not reachable; try again shortly.",
            headers=lambda _error, _request: {"Retry-After": str(retry_after)},
            notice=database_down,
        )
    return kinds


def kind_of(error: Exception, kinds: Mapping[type[Exception], ProblemKind]) -> ProblemKind:
    """The kind of the error's nearest listed class, as Starlette chose the handler."""
    return next(kinds[cls] for cls in type(error).__mro__ if cls in kinds)


def http_error(_request: Request, error: Exception) -> JSONResponse:
    """The framework's own HTTP errors (404 route, 405, unreadable body) as problems."""
    assert isinstance(error, StarletteHTTPException)
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
    return problem(error.status_code, str(error.detail), str(error.detail), headers=error.headers)


def install_problem_handlers(app: FastAPI, retry_after: int, watch: DatabaseWatch) -> None:
    """Map every error the API can meet to its problem response: one handler, one table."""
    kinds = problem_kinds(retry_after, watch)

    def respond(request: Request, error: Exception) -> JSONResponse:
        return kind_of(error, kinds).respond(error, request)

    for error_class in kinds:
        app.add_exception_handler(error_class, respond)
    app.add_exception_handler(StarletteHTTPException, http_error)
