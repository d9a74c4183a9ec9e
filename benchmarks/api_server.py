"""The server side of the API benchmark: one uvicorn process on 127.0.0.1, an ephemeral port.

``python -m benchmarks.api_server vorgang <database url> <token secret>`` serves the real
application (``api.app.create_app``) with production-style logging (JSON lines at INFO on
stderr, which the benchmark sends to a file); ``... bare`` serves a FastAPI app of the same
request shape that stores nothing. The process binds the socket itself, prints
``PORT <n>`` on stdout once bound, and serves until it is terminated.
"""

from __future__ import annotations

import socket
import sys
import uuid
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, Header, HTTPException
from pydantic import SecretStr

from api.app import create_app
from api.schemas import SubmitCase
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings

LOOPBACK = "127.0.0.1"


def bare_app() -> FastAPI:
    """``POST /api/v1/cases``: read the bearer header, validate the body, persist nothing."""
    app = FastAPI()

    @app.post("/api/v1/cases", status_code=201)
    def submit(
        body: SubmitCase, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, Any]:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(status_code=401, detail="a bearer token is required")
        return {
            "id": str(uuid.uuid4()),
            "tenant": body.tenant,
            "service": body.service,
            "status": "submitted",
            "version": 1,
        }

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def vorgang_app(database_url: str, token_secret: str) -> FastAPI:
    """The real application, logging as ``vorgang serve`` does when not on a terminal."""
    configure_logging("json", "INFO")
    return create_app(Settings(database_url=database_url, token_secret=SecretStr(token_secret)))


def main(argv: list[str]) -> None:
    """Bind 127.0.0.1:0, announce the port, serve until terminated."""
    kind = argv[0]
    app = vorgang_app(argv[1], argv[2]) if kind == "vorgang" else bare_app()
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted sockets only when
    # proto is TCP, and a proto-0 socket leaves Nagle on (a 40 ms stall per response).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((LOOPBACK, 0))
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(sys.argv[1:])
