"""Shared fixtures: a store on SQLite and, where reachable, on PostgreSQL.

PostgreSQL tests run in a schema of their own: empty, its tables created once per test
process and emptied after each test (tests/postgres_pool.py); tests that need a schema
nobody used call ``fresh_postgres_target``. On a laptop without PostgreSQL they skip with a
visible reason; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from application.cases import CaseService
from application.clock import FixedClock
from application.identities import CaseIdentities
from application.store import VorgangStore
from domain.actor import Actor, Role
from infrastructure.database import DatabaseTarget, parse_database_url
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from persistence.transcodings import PersonalDataInClear
from tests.postgres_pool import SchemaPool
from tests.serial import MODULES as SERIAL_MODULES

POSTGRES_URL = os.environ.get(
    "VORGANG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(tryfirst=True)  # before `-m "not serial"` deselects them
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A ``serial`` test outside tests/serial.py's modules would run in neither of `make
    pytest`'s runs (the first leaves serial tests out, the second collects only those
    modules): fail the collection instead."""
    strays = sorted(
        {
            item.nodeid.split("::")[0]
            for item in items
            if item.get_closest_marker("serial") is not None
            and item.nodeid.split("::")[0] not in SERIAL_MODULES
        }
    )
    if strays:
        raise pytest.UsageError(
            f"tests marked serial in {', '.join(strays)}: add the module to tests/serial.py"
        )


def admin_connection(target: DatabaseTarget) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection to the target's database (for schemas, checkpoints)."""
    return psycopg.connect(
        host=target.env["POSTGRES_HOST"],
        port=int(target.env["POSTGRES_PORT"]),
        user=target.env["POSTGRES_USER"],
        password=target.env["POSTGRES_PASSWORD"] or None,
        dbname=target.env["POSTGRES_DBNAME"],
        connect_timeout=3,
        autocommit=True,
    )


def postgres_reachable() -> str | None:
    """None if PostgreSQL answers, else the reason it does not."""
    target = parse_database_url(POSTGRES_URL)
    try:
        with admin_connection(target):
            return None
    except psycopg.Error as error:
        return f"PostgreSQL at {target.display} is not reachable: {str(error).strip()[:200]}"


def require_postgres() -> None:
    """Skip (laptop) or fail (CI) when PostgreSQL is not reachable."""
    reason = postgres_reachable()
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
    pytest.skip(reason)


def fresh_postgres_target() -> DatabaseTarget:
    """A PostgreSQL target in a schema of its own, created now."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    target = parse_database_url(f"{POSTGRES_URL}?schema={schema}")
    with admin_connection(target) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return target


def drop_postgres_schema(target: DatabaseTarget) -> None:
    """Remove a test schema and everything in it."""
    with admin_connection(target) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{target.env["POSTGRES_SCHEMA"]}" CASCADE')


def sqlite_target(tmp_path: Path) -> DatabaseTarget:
    """A SQLite file of its own."""
    return parse_database_url(f"sqlite:///{tmp_path / 'vorgang.db'}")


@pytest.fixture(scope="session")
def postgres_schemas(
    tmp_path_factory: pytest.TempPathFactory, seal_files: tuple[Path, Path]
) -> Iterator[SchemaPool]:
    """This test process's PostgreSQL schemas, each prepared by one start of the application."""

    def prepare(target: DatabaseTarget) -> None:
        places = document_places(tmp_path_factory.mktemp("schema"), seal_files)
        settings = Settings(database_url=target.display, **places)  # type: ignore[arg-type]
        build(settings, clock=FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))).close()

    pool = SchemaPool(
        create=fresh_postgres_target,
        drop=drop_postgres_schema,
        connect=admin_connection,
        prepare=prepare,
    )
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatabaseTarget]:
    """Each application test runs once on SQLite and once on PostgreSQL.

    On PostgreSQL in an empty schema with the application's tables, emptied again after the
    test; a test marked ``serial`` (it looks at what the database keeps on disk) gets a new
    schema, dropped after it.
    """
    if request.param == "sqlite":
        yield sqlite_target(tmp_path)
        return
    if request.node.get_closest_marker("serial") is not None:
        pg = fresh_postgres_target()
        try:
            yield pg
        finally:
            drop_postgres_schema(pg)
        return
    require_postgres()
    pool: SchemaPool = request.getfixturevalue("postgres_schemas")
    pg = pool.take()
    try:
        yield pg
    finally:
        pool.give_back(pg)


@pytest.fixture
def clock() -> FixedClock:
    """Monday 2 March 2026, 09:00 in Germany."""
    return FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
def store(target: DatabaseTarget) -> Iterator[VorgangStore]:
    """The event store on the parametrised database."""
    app = VorgangStore(env=target.env, personal_data=PersonalDataInClear())
    try:
        yield app
    finally:
        app.close()


@pytest.fixture
def cases(store: VorgangStore, clock: FixedClock) -> CaseService:
    """The lifecycle use cases over the store."""
    return CaseService(store, clock, CaseIdentities(b"test-secret-0123456789"))


CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
OTHER_CLERK = Actor("ben.weber", "Ben Weber", Role.CLERK, "usingen")
SUPERVISOR = Actor("carla.koch", "Carla Koch", Role.SUPERVISOR, "usingen")
APPLICANT = Actor("portal:4711", "Max Mustermann", Role.APPLICANT, "usingen")
FOREIGN_CLERK = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
DELEGATED_CLERK = Actor("emil.wolf", "Emil Wolf", Role.CLERK, "neu-anspach", on_behalf_of="usingen")


def document_places(directory: Path, seal: tuple[Path, Path]) -> dict[str, str]:
    """Settings that keep a test's letters, postbox and print batches in its own directory,
    sealed with the run's seal (never the checkout's var/)."""
    key, certificate = seal
    return {
        "documents_dir": str(directory / "documents"),
        "postbox_dir": str(directory / "postbox"),
        "print_dir": str(directory / "print"),
        "seal_key_file": str(key),
        "seal_certificate_file": str(certificate),
    }


@pytest.fixture
def vorgang(
    target: DatabaseTarget, clock: FixedClock, tmp_path: Path, seal_files: tuple[Path, Path]
) -> Iterator[Vorgang]:
    """The fully wired application (encrypting personal data) on the parametrised database."""
    settings = Settings(
        database_url=target.display,
        key_cache_seconds=30,
        **document_places(tmp_path, seal_files),  # type: ignore[arg-type]
    )
    built = build(settings, clock=clock)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="session")
def seal_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One seal (key, certificate) for the whole run: making a key pair per test is slow."""
    from infrastructure.documents.seal import make_seal

    return make_seal(tmp_path_factory.mktemp("seal"), "Vorgang Test")
