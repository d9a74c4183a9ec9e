"""The demo, seeded once per run (SQLite) or test process (PostgreSQL) for the tests that
only read it or start from a copy of it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from application.clock import FixedClock
from infrastructure.database import DatabaseTarget
from infrastructure.demo import seed_demo
from infrastructure.settings import Settings
from infrastructure.wiring import build
from tests.conftest import (
    document_places,
    drop_postgres_schema,
    fresh_postgres_target,
)
from tests.run_shared import made_once, run_directory

DEMO_CLOCK_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # the `clock` fixture's moment
DEMO_DATABASE = "vorgang.db"
DEMO_CASES = "case_ids.txt"


def demo_settings(database_url: str, directory: Path, seal: tuple[Path, Path]) -> Settings:
    """The settings the demo is seeded and read with (those of the `vorgang` fixture)."""
    places = document_places(directory, seal)
    return Settings(database_url=database_url, key_cache_seconds=30, **places)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sqlite_demo(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seal_files: tuple[Path, Path],
) -> Path:
    """A directory with the demo seeded on SQLite (its database, letters and case ids),
    made once for the whole run: seeding costs about 20 s of CPU, copying it a fraction of
    a second. Never opened in place: tests take a copy (`copy_sqlite_demo`)."""

    def seed(directory: Path) -> None:
        url = f"sqlite:///{directory / DEMO_DATABASE}"
        built = build(demo_settings(url, directory, seal_files), clock=FixedClock(DEMO_CLOCK_START))
        try:
            ids = seed_demo(built)
        finally:
            built.close()
        (directory / DEMO_CASES).write_text("\n".join(str(i) for i in ids))

    return made_once(run_directory(request.config, tmp_path_factory) / "sqlite-demo", seed)


def copy_sqlite_demo(demo: Path, destination: Path) -> tuple[str, list[UUID]]:
    """A copy of the run's SQLite demo of one's own (its letters too, so `destination` is
    the copy's documents directory as well): its database URL and the seeded cases, in the
    order `seed_demo` returned them."""
    shutil.copytree(demo, destination, ignore=shutil.ignore_patterns(".done"))
    ids = [UUID(line) for line in (destination / DEMO_CASES).read_text().splitlines()]
    return f"sqlite:///{destination / DEMO_DATABASE}", ids


@pytest.fixture(scope="session")
def postgres_demo(
    tmp_path_factory: pytest.TempPathFactory, seal_files: tuple[Path, Path]
) -> Iterator[tuple[DatabaseTarget, Path, list[UUID]]]:
    """A schema with the demo seeded, once per test process, the directory of its letters
    and the seeded cases."""
    target = fresh_postgres_target()
    try:
        directory = tmp_path_factory.mktemp("postgres-demo")
        built = build(
            demo_settings(target.display, directory, seal_files),
            clock=FixedClock(DEMO_CLOCK_START),
        )
        try:
            ids = seed_demo(built)
        finally:
            built.close()
        yield target, directory, ids
    finally:
        drop_postgres_schema(target)


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo_cases(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seal_files: tuple[Path, Path],
) -> list[Any]:
    """Every case the demo seeds, loaded once per database and test process, for the tests
    that only read what the demo shows."""
    if request.param == "sqlite":
        directory = tmp_path_factory.mktemp("demo-cases") / "demo"
        url, ids = copy_sqlite_demo(request.getfixturevalue("sqlite_demo"), directory)
    else:
        target, directory, ids = request.getfixturevalue("postgres_demo")
        url = target.display
    built = build(demo_settings(url, directory, seal_files), clock=FixedClock(DEMO_CLOCK_START))
    try:
        return [built.store.repository.get(case_id) for case_id in ids]
    finally:
        built.close()
