"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.access import public
from api.dependencies import ProviderDep, SettingsDep
from api.problems import ServiceUnavailable, unavailable

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness: the process answers", **public())
def health() -> dict[str, str]:
    """Always 200 while the process runs, whatever the database does."""
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: the database answers and every read model is built",
    response_model=None,
    **public(),
)
def ready(provider: ProviderDep, settings: SettingsDep) -> dict[str, str] | JSONResponse:
    """200 when the database answers and no view is still being built; else 503.

    A new view version (a schema change) rebuilds itself from the log when a process
    starts; until it has caught up, this process is not ready and the previous version,
    served by the processes still running, takes the traffic.
    """
    try:
        read_side = provider.get().projections
    except ServiceUnavailable as error:
        return unavailable(str(error), error.retry_after)
    if not provider.watch.check_now():
        return unavailable("the database is not reachable", settings.retry_after_seconds)
    building = read_side.being_built()
    if building:
        progress = ", ".join(
            f"{name} ({position:,} of {head:,} events)"
            for name, (position, head) in sorted(building.items())
        )
        return unavailable(f"read models are being built: {progress}", settings.retry_after_seconds)
    return {"status": "ready", "database": read_side.views.dialect}
