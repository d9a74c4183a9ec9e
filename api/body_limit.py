"""A request body larger than the limit is refused with 413 before anything reads it."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem


def too_large(limit: int) -> JSONResponse:
    """413 problem+json naming the body and the limit."""
    message = f"the body is larger than {limit} bytes"
    return problem(
        413,
        "Body too large",
        message,
        slug="body-too-large",
        errors=[{"in": "body", "field": "body", "message": message}],
        limit=limit,
    )


class BodyLimit:
    """ASGI middleware: refuses bodies over ``limit`` bytes with 413, before authentication.

    A declared Content-Length over the limit is refused at once. A body without one
    (chunked) is read here, counting, and handed on only if it ends within the limit (the
    route then reads it from memory); at most ``limit`` bytes and one chunk are held.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"").strip()
        if declared.isdigit():
            if int(declared) > self.limit:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)  # the server ends the body at its length
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await too_large(self.limit)(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out these messages first, then listens to the client again."""
    pending = list(messages)

    async def replaying() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replaying
