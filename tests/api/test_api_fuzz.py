"""Property-based tests of the whole API from its own OpenAPI document (schemathesis).

Every operation is called with generated input, as a clerk, an applicant and a supervisor
of Usingen, against the in-process app on SQLite with Usingen's demo cases; the stateful
test follows the OpenAPI links from a submitted case to its routes. Whatever the input,
the API answers without a server error, and every 4xx is RFC 9457 problem+json with
`type`, `title` and `status`.

In the suite the run is derandomised (a fixed seed) and bounded, so it decides the same
way on every machine. A longer random run is a command, not part of CI::

    VORGANG_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/api/test_api_fuzz.py

(``VORGANG_FUZZ_SEED=N`` repeats a random run; ``VORGANG_FUZZ_DATABASE=postgresql`` runs
it on the test PostgreSQL, where some inputs fail differently.)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck
from schemathesis.config._phases import InferenceConfig
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.python import asgi
from schemathesis.specs.openapi.schemas import OpenApiSchema

from api.app import create_app
from api.auth import DevelopmentTokens
from api.problems import PROBLEM_JSON
from application.clock import FixedClock
from domain.actor import Role
from infrastructure.database import DatabaseTarget
from infrastructure.demo import TOWNS, seed_demo
from infrastructure.settings import Settings
from infrastructure.wiring import build
from tests.conftest import drop_postgres_schema, fresh_postgres_target, sqlite_target

SECRET = "api-fuzz-secret-0123456789abcdef-xyz"
LONG_RUN_EXAMPLES = int(os.environ.get("VORGANG_FUZZ_EXAMPLES", "0"))
LONG_RUN_SEED = (
    int(os.environ["VORGANG_FUZZ_SEED"]) if os.environ.get("VORGANG_FUZZ_SEED") else None
)
SUITE_SEED = 20260302
# In the suite: enough to reach every parameter's edges, few enough for the time budget.
SUITE_EXAMPLES = 5
SUITE_STATEFUL_EXAMPLES = 10
ROLES = ("clerk", "applicant", "supervisor")
STATEFUL_ROLES = ("clerk", "applicant")  # a supervisor's commands are a clerk's, and assign
CLOCK = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
USINGEN = next(town for town in TOWNS if town.tenant == "usingen")


def fuzz_settings(suite_examples: int) -> hypothesis.settings:
    """Bounded and derandomised in the suite; as many random examples as asked otherwise."""
    common: dict[str, Any] = {
        "deadline": None,  # a request's duration is no verdict
        "database": None,  # no example database: the suite decides alike on every machine
        "suppress_health_check": list(HealthCheck),
        "print_blob": False,
    }
    if LONG_RUN_EXAMPLES:
        return hypothesis.settings(max_examples=LONG_RUN_EXAMPLES, **common)
    return hypothesis.settings(max_examples=suite_examples, derandomize=True, **common)


def reproduction(case: Case) -> str:
    """The request as curl (the token left out: it is the role's)."""
    try:
        return case.as_curl_command(base_url="http://testserver")
    except Exception as error:  # a request that cannot be rendered is still worth the report
        return f"{case.operation.method.upper()} {case.formatted_path} ({error!r})"


def call(case: Case, app: SharedApp, headers: dict[str, str]) -> Response:
    """Call the operation; an error that escapes the app fails with the request that caused it."""
    if case.query and "wait" in case.query:  # a long poll waits by design (test_feed_api.py)
        case.query["wait"] = 0
    try:
        return case.call(app=app, base_url="http://testserver", headers=headers)
    except Exception as error:  # the in-process app lets an unhandled error escape as itself
        raise AssertionError(f"unhandled {error!r}\n{reproduction(case)}") from error


def judge(case: Case, response: Response) -> None:
    """Never a 5xx; every 4xx is problem+json with its type, title and status."""
    status = response.status_code
    where = f"{case.operation.method.upper()} {case.operation.path} answered {status}"
    body = response.content.decode(errors="replace")[:500]
    assert status < 500, f"{where}: {body}\n{reproduction(case)}"
    if status >= 400:
        assert problem_shape(response), (
            f"{where} without problem details: {body}\n{reproduction(case)}"
        )


def problem_shape(response: Response) -> bool:
    """Whether a response is problem+json naming its type, title and (its own) status."""
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith(PROBLEM_JSON):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and isinstance(body.get("type"), str)
        and isinstance(body.get("title"), str)
        and body.get("status") == response.status_code
    )


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseTarget]:
    """SQLite in the suite; the test PostgreSQL when a long run asks for it."""
    if os.environ.get("VORGANG_FUZZ_DATABASE", "sqlite") == "postgresql":
        target = fresh_postgres_target()
        try:
            yield target
        finally:
            drop_postgres_schema(target)
        return
    yield sqlite_target(tmp_path_factory.mktemp("fuzz"))


def app_settings(database_url: str) -> Settings:
    """The app's settings for these tests: short event streams, the test token issuer."""
    return Settings(
        database_url=database_url,
        token_secret=SECRET,
        retry_after_seconds=2,
        feed_stream_seconds=0.3,  # an event stream ends, so a request ends
        feed_heartbeat_seconds=0.1,
    )


class SharedApp:
    """The app for many tests: opened by its first request, closed once by its owner.

    Schemathesis's pytest plugin ends an app's lifespan after every test; this app declines
    those lifespans, so its store and projection threads open once rather than per test,
    and `close` runs the app's own shutdown on the event loop that served its requests.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.closing = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" and not self.closing:
            # Declined before reading a message: the transport treats it as no lifespan.
            raise RuntimeError("the owner of this app starts and ends it")
        await self.app(scope, receive, send)

    def close(self) -> None:
        """The app's shutdown (stores, projections, feed), on the transport's event loop."""
        asgi.shutdown_lifespans()  # forgets the lifespans declined so far
        self.closing = True
        with asgi.get_client(self):  # starts the app's own lifespan, so that ending it
            pass  # closes the store, stops the projection threads and the feed broadcaster
        asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def demo_database(fuzz_target: DatabaseTarget) -> str:
    """The database with Usingen's demo cases, seeded once for the module's tests."""
    vorgang = build(app_settings(fuzz_target.display), clock=CLOCK)
    try:
        seed_demo(vorgang, now=CLOCK.now(), towns=[USINGEN.tenant])
        head = vorgang.projections.head()
        for name in vorgang.projections.runners:  # views built, so the app starts ready
            assert vorgang.projections.wait_for(name, head, timeout=120), name
    finally:
        vorgang.close()
    return fuzz_target.display


@pytest.fixture(scope="module")
def api(demo_database: str) -> Iterator[SharedApp]:
    """The in-process app over the demo database, shared by the module's stateless tests."""
    app = SharedApp(create_app(app_settings(demo_database), clock=CLOCK))
    yield app
    app.close()


@pytest.fixture
def fresh_api(demo_database: str, tmp_path: Path) -> Iterator[Callable[[], SharedApp]]:
    """A new app for each scenario, so that a replayed scenario meets the same data.

    On SQLite a copy of the demo database; on PostgreSQL an empty schema of its own (the
    scenarios start from a submission and need no demo cases).
    """
    copies = count()
    schemas: list[DatabaseTarget] = []

    def fresh() -> SharedApp:
        if not demo_database.startswith("sqlite:///"):
            schemas.append(fresh_postgres_target())
            return SharedApp(create_app(app_settings(schemas[-1].display), clock=CLOCK))
        copy = tmp_path / f"scenario-{next(copies)}.db"
        shutil.copyfile(demo_database.removeprefix("sqlite:///"), copy)
        return SharedApp(create_app(app_settings(f"sqlite:///{copy}"), clock=CLOCK))

    yield fresh
    for schema_target in schemas:
        drop_postgres_schema(schema_target)


@pytest.fixture(params=ROLES)
def role(request: pytest.FixtureRequest) -> str:
    """Each test runs as each of these people of Usingen."""
    return str(request.param)


@pytest.fixture
def headers(role: str) -> dict[str, str]:
    """A bearer token for the role: the demo clerk and supervisor, or an applicant."""
    tokens = DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang")
    person = {"clerk": USINGEN.clerk, "supervisor": USINGEN.supervisor}.get(role)
    token = tokens.issue(
        subject=person.id if person else "portal:fuzz",
        name=person.display_name if person else "Fuzz Applicant",
        role=Role(role),
        tenant=USINGEN.tenant,
    )
    return {"Authorization": f"Bearer {token}"}


def openapi_schema() -> OpenApiSchema:
    """The app's own OpenAPI document (building the app opens no database)."""
    document = create_app(app_settings("sqlite:///never-opened.db")).openapi()
    loaded = schemathesis.openapi.from_dict(document)
    # Sequences follow the links the document declares; links inferred from lists (inbox,
    # feed) would lead to whatever the views hold at that moment, and a replay must not.
    loaded.config.phases.stateful.inference = InferenceConfig(algorithms=[])
    if LONG_RUN_SEED is not None:
        loaded.config.seed = LONG_RUN_SEED
    elif not LONG_RUN_EXAMPLES:
        loaded.config.seed = SUITE_SEED
    return loaded


schema = openapi_schema()


@schema.parametrize()
@fuzz_settings(SUITE_EXAMPLES)
def test_no_input_to_any_operation_gets_a_server_error_or_an_error_without_problem_details(
    case: Case, api: SharedApp, headers: dict[str, str]
) -> None:
    """Each operation with generated input: never 5xx, every 4xx problem+json."""
    judge(case, call(case, api, headers))


@pytest.mark.parametrize("role", STATEFUL_ROLES)
def test_sequences_from_a_submitted_case_get_no_server_error_or_error_without_problem_details(
    fresh_api: Callable[[], SharedApp], headers: dict[str, str]
) -> None:
    """Submit, then follow the links to the new case's routes with its id and ETag."""

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.app = fresh_api()

        def teardown(self) -> None:
            self.app.close()

        def call(self, case: Case, **kwargs: Any) -> Response:
            return call(case, self.app, headers)

        def validate_response(self, response: Response, case: Case, **kwargs: Any) -> None:
            judge(case, response)

    Machine.run(settings=fuzz_settings(SUITE_STATEFUL_EXAMPLES))
