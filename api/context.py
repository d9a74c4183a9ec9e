"""Request context: X-Request-ID in and out, bound to every log line, one access line each.

The middleware is also where an unexpected error becomes its 500: inside the request's
log context, so the 500 carries X-Request-ID, its log line the request id, and the
connection stays open (nothing escapes to the server).
"""

from __future__ import annotations

import re
import time
import traceback
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import internal_error

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
log = structlog.get_logger("vorgang.access")
errors = structlog.get_logger("vorgang.errors")


class ResponseAborted(Exception):
    """An error after the response started: the server must cut the connection."""


def where_it_failed(error: BaseException) -> list[str]:
    """The frames of an error and of its causes, without any message or value.

    Exception messages can quote input (a tampered cursor, a name); the log gets the
    types and the code locations only.
    """
    chain: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = traceback.extract_tb(current.__traceback__)
        chain.append(
            type(current).__name__
            + " at "
            + " < ".join(
                f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in frames[::-1]
            )
        )
        current = current.__cause__ or current.__context__
    return chain


class RequestContext:
    """ASGI middleware: a request id for every request, echoed back and logged.

    Responses that set no ``Cache-Control`` get ``no-store``: most carry personal data,
    and a route that may be cached says so itself.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = (
            dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        )
        request_id = sent if _VALID_REQUEST_ID.match(sent) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:  # every unexpected error ends here, logged
            errors.error(
                "unexpected error",
                method=scope["method"],
                path=scope["path"],
                error=type(error).__name__,
                where=where_it_failed(error),
                response_started=response_started,
            )
            if response_started:
                # Too late for a 500: cutting the connection tells the client the body is
                # incomplete. Raised bare, so the server's own log repeats no message.
                raise ResponseAborted("the response failed after it started") from None
            await internal_error(request_id)(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            structlog.contextvars.clear_contextvars()
