"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.access import public
from api.dependencies import ProviderDep
from api.problems import ServiceUnavailable, unavailable

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process answers", **public())
def health() -> dict[str, str]:
    """Always 200 while the process runs, whatever the database does."""
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: the database answers", response_model=None, **public())
def ready(provider: ProviderDep) -> dict[str, str] | JSONResponse:
    """200 when the database answers a probe now, else 503 with Retry-After."""
    try:
        vorgang = provider.get()
    except ServiceUnavailable as error:
        return unavailable(str(error), error.retry_after)
    if not provider.watch.check_now():
        return unavailable("the database is not reachable", vorgang.settings.retry_after_seconds)
    return {"status": "ready", "database": vorgang.target.dialect}
