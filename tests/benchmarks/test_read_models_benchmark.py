"""The read-model benchmark runs end to end at tiny sizes, so it cannot rot unnoticed.

Figures at these sizes mean nothing; what is checked is that every part still runs against
the current code and prints its rows. Its data sets get sizes of their own and are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from benchmarks import read_models
from benchmarks.read_models_log import log_target
from benchmarks.read_models_views import SCHEMA_PREFIX as VIEW_SCHEMAS
from benchmarks.support import POSTGRES_URL, drop_postgres_schema
from infrastructure.database import parse_database_url
from tests.conftest import require_postgres

pytestmark = pytest.mark.postgres

TINY = read_models.Sizes(
    log_events=(101, 203),
    templates=6,
    postgres_cases=307,
    sqlite_cases=211,
    query_runs=3,
    lag_seconds=0.4,
    writer_seconds=0.2,
    fresh_process=False,
)


@pytest.fixture
def tiny_data_sets() -> Iterator[None]:
    """PostgreSQL reachable; the tiny logs and views dropped afterwards."""
    require_postgres()
    yield
    for events in TINY.log_events:
        drop_postgres_schema(log_target(events))
    drop_postgres_schema(
        parse_database_url(f"{POSTGRES_URL}?schema={VIEW_SCHEMAS}{TINY.postgres_cases}")
    )


def test_every_part_of_the_read_model_benchmark_runs_and_reports(
    tiny_data_sets: None, capsys: pytest.CaptureFixture[str]
) -> None:
    read_models.rebuild_part(TINY)
    read_models.latency_part(TINY, postgres=True)
    read_models.lag_part(TINY)

    printed = capsys.readouterr().out
    for row in ("read + decode (ceiling)", "inbox rebuild", "audit_trail rebuild"):
        # at both log sizes on PostgreSQL, and the smaller log copied into SQLite
        assert printed.count(row) == len(TINY.log_events) + 1, row
    assert "203 case events" in printed
    for database in ("PostgreSQL", "SQLite"):
        assert re.search(rf"{database} +queue by due date, page 2 \(cursor\) +3 ", printed)
        assert re.search(rf"{database} +search: whole name +3 ", printed)
    assert "writer alone, unpaced" in printed
    assert "inbox" in printed.split("paced,")[1]
