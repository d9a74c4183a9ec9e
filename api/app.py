"""The FastAPI application: built from settings, starting even while the database is down."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
from fastapi import Depends, FastAPI

from api.auth import DevelopmentTokens, TokenVerifier
from api.body_limit import BodyLimit
from api.console import console_app
from api.context import RequestContext
from api.oidc import OidcTokens
from api.openapi import install_openapi, operation_id
from api.problems import ServiceUnavailable, install_problem_handlers
from api.provider import VorgangProvider
from api.routes import access_log as access_log_routes
from api.routes import (
    appointment_contacts,
    business_customers,
    cases,
    decisions,
    documents,
    feed,
    health,
    monitor,
    payment_requests,
    privacy,
    read_models,
    receivables,
    search,
    services,
)
from api.routes import appointments as appointment_routes
from api.routes import case_file as case_file_routes
from api.routes import graves as grave_routes
from api.routes import holiday as holiday_routes
from api.routes import integrity as integrity_routes
from api.routes import markets as market_routes
from api.routes import subscriptions as subscription_routes
from api.routes import teams as teams_routes
from api.routes import water_meters as water_meter_routes
from api.routes.service_steps import step_routes
from api.text_input import no_nul_in_parameters
from application.clock import Clock, SystemClock
from domain.services.catalogue import SERVICES
from infrastructure.database import parse_database_url
from infrastructure.database_watch import DatabaseWatch
from infrastructure.settings import Environment, Settings, UnsafeSettings
from infrastructure.wiring import Vorgang, build

DESCRIPTION = """
Event-sourced case management for Usingen, Neu-Anspach, Schmitten and Glashütten.

Every change to a case is an event naming who, when and why. Errors are RFC 9457
`application/problem+json`. Responses carry `ETag: "<version>"`; commands accept
`If-Match`. Submissions accept `Idempotency-Key`.
"""


def verifier_for(settings: Settings) -> TokenVerifier:
    """OIDC against the issuer's JWKS when configured; else the development issuer.

    Without a JWKS URL the issuer's discovery document names it, fetched on first need:
    the API starts while the issuer is down.
    """
    if settings.oidc_issuer:
        return OidcTokens(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url,
            roles_claim=settings.oidc_roles_claim,
            tenant_claim=settings.oidc_tenant_claim,
            scope_claim=settings.oidc_scope_claim,
            teams_claim=settings.oidc_teams_claim,
            leeway_seconds=settings.oidc_leeway_seconds,
            refresh_seconds=settings.oidc_jwks_refresh_seconds,
            unknown_kid_cooldown=settings.oidc_unknown_kid_cooldown_seconds,
            fetch_timeout=settings.oidc_fetch_timeout_seconds,
        )
    if settings.environment is not Environment.DEVELOPMENT:
        raise UnsafeSettings("the development token issuer is off outside development")
    return DevelopmentTokens(
        settings.token_secret.get_secret_value(),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    verifier: TokenVerifier | None = None,
    builder: Callable[[], Vorgang] | None = None,
    run_projections: bool = True,
) -> FastAPI:
    """The API for these settings; the database is opened on first need, not at start."""
    # A malformed URL fails at start, in one line; an unreachable database does not.
    target = parse_database_url(settings.database_url)
    provider = VorgangProvider(
        builder or (lambda: build(settings, clock=clock)),
        retry_after=settings.retry_after_seconds,
        watch=DatabaseWatch(target),
        run_projections=run_projections,
    )

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        # Open the database now if it answers; otherwise the first request tries again.
        with contextlib.suppress(ServiceUnavailable):
            await anyio.to_thread.run_sync(provider.get)
        yield
        for name in ("feed_broadcaster", "monitor_broadcaster", "console_inbox_watch"):
            broadcaster = getattr(application.state, name, None)
            if broadcaster is not None:
                await broadcaster.stop()
        provider.close()

    app = FastAPI(
        title="Vorgang",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(no_nul_in_parameters)],  # before any parameter meets a database
        generate_unique_id_function=operation_id,
    )
    install_openapi(app)
    app.state.provider = provider
    app.state.settings = settings
    app.state.clock = clock or SystemClock()  # the catalogue dates its examples by it
    app.state.verifier = verifier or verifier_for(settings)
    install_problem_handlers(app, settings.retry_after_seconds, provider.watch)
    # Added first, so it runs inside RequestContext: a 413 carries X-Request-ID too.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(RequestContext)
    app.include_router(health.router)
    app.include_router(cases.router)
    app.include_router(cases.steps)
    app.include_router(search.router)  # GET /api/v1/cases: no clash with /{case_id}
    app.include_router(decisions.router)
    app.include_router(case_file_routes.router)  # the case file (Akte): JSON, HTML, PDF (#30)
    app.include_router(documents.router)
    for definition in SERVICES.values():  # each service's own steps, from its declaration
        if definition.steps is not None:
            app.include_router(step_routes(definition.steps))
    app.include_router(services.catalogue)
    app.include_router(read_models.router)
    app.include_router(feed.router)
    app.include_router(privacy.router)
    app.include_router(teams_routes.router)
    app.include_router(grave_routes.router)
    app.include_router(appointment_routes.router)
    app.include_router(appointment_contacts.router)
    app.include_router(read_models.operations)
    app.include_router(monitor.router)
    # Payments: accounts, receivables, then requests (the document lists them in this order).
    app.include_router(business_customers.router)
    app.include_router(receivables.router)
    app.include_router(payment_requests.router)
    app.include_router(water_meter_routes.router)  # water meters and reading campaigns (#26)
    app.include_router(holiday_routes.router)  # holiday programmes: offerings and draws (#27)
    app.include_router(market_routes.router)  # markets: publication, selection, pitches (#28)
    app.include_router(subscription_routes.router)  # webhook subscriptions (#29)
    app.include_router(access_log_routes.router)  # who read what (#30)
    app.include_router(integrity_routes.router)  # the log's hash chain, checkpoints, key (#30)
    # The clerk console (#31): HTML pages on the same state, outside the OpenAPI document.
    app.mount("/console", console_app(app, settings.retry_after_seconds, provider.watch))
    return app
