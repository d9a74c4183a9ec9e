"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.dependencies import ProviderDep
from api.problems import DATABASE_DOWN, ServiceUnavailable, problem

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    """Always 200 while the process runs, whatever the database does."""
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: the database answers", response_model=None)
def ready(provider: ProviderDep) -> dict[str, str | int] | JSONResponse:
    """200 with the log position when the database answers, else 503 with Retry-After."""
    try:
        vorgang = provider.get()
        position = vorgang.store.recorder.max_notification_id() or 0
    except ServiceUnavailable as error:
        return problem(
            503,
            "Service unavailable",
            str(error),
            slug="database-unavailable",
            headers={"Retry-After": str(error.retry_after)},
        )
    except DATABASE_DOWN as error:
        return problem(
            503,
            "Service unavailable",
            f"database: {type(error).__name__}",
            slug="database-unavailable",
            headers={"Retry-After": str(vorgang.settings.retry_after_seconds)},
        )
    return {"status": "ready", "database": vorgang.target.dialect, "position": position}
