"""The demo, seeded once per database and test process for the tests that only read it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from application.clock import FixedClock
from infrastructure.demo import seed_demo
from infrastructure.settings import Settings
from infrastructure.wiring import build
from tests.conftest import (
    document_places,
    drop_postgres_schema,
    fresh_postgres_target,
    sqlite_target,
)

DEMO_CLOCK_START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # the `clock` fixture's moment


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def demo_cases(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    seal_files: tuple[Path, Path],
) -> Iterator[list[Any]]:
    """Every case the demo seeds, loaded; seeding the whole demo costs seconds, so read-only
    tests of what it shows share one seeding per database (a test that seeds again, to prove
    the demo idempotent, keeps its own store)."""
    if request.param == "sqlite":
        target = sqlite_target(tmp_path_factory.mktemp("demo"))
    else:
        target = fresh_postgres_target()
    places = document_places(tmp_path_factory.mktemp("demo-documents"), seal_files)
    built = build(
        Settings(database_url=target.display, key_cache_seconds=30, **places),  # type: ignore[arg-type]
        clock=FixedClock(DEMO_CLOCK_START),
    )
    try:
        yield [built.store.repository.get(case_id) for case_id in seed_demo(built)]
    finally:
        built.close()
        if request.param != "sqlite":
            drop_postgres_schema(target)
