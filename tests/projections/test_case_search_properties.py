"""The case search maintained batch by batch equals a fresh build of the same log.

Any sequence of commands and erasures, applied in batches of any size, leaves the same rows
and the same full-text documents as one build from the whole log afterwards, and each row's
status is the aggregate's (the main track, whatever the objection track does: an example
takes cases through it).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from infrastructure.projection_runner import ProjectionRunner
from infrastructure.wiring import Vorgang
from projections.search import CaseSearch
from tests.infrastructure.test_projection_properties import (
    LEGAL_TRACK,
    act,
    fresh_vorgang,
    steps,
)

COLUMNS = "case_id, tenant, reference, service, status, submitted_at, submitted_by, "
COLUMNS += "applicant_name, clear_terms, subject_terms, position"


def documents(v: Vorgang, search: CaseSearch) -> list[tuple[Any, ...]]:
    """Every row with its full-text document, by case id."""
    if v.views.dialect == "sqlite":
        sql = (
            f"SELECT {COLUMNS}, t.terms FROM {search.table} "  # noqa: S608
            f"JOIN {search.text_table} t ON t.rowid = doc ORDER BY case_id"
        )
    else:
        sql = f"SELECT {COLUMNS}, document::text FROM {search.table} ORDER BY case_id"  # noqa: S608
    return v.views.query(sql)


class FreshCaseSearch(CaseSearch):
    version = 99


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
@example(steps=LEGAL_TRACK, batch=2)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps, batch=st.integers(1, 9))
def test_incremental_search_equals_a_fresh_build(backend: str, steps, batch: int) -> None:  # type: ignore[no-untyped-def]
    with fresh_vorgang(backend) as v:
        live = v.projections.runners["case_search"].projection
        assert isinstance(live, CaseSearch)
        incremental = ProjectionRunner(v.store, v.views, live, batch_size=batch)
        ids: list[Any] = []
        for index, action, who, catch_up in steps:
            act(v, ids, index, action, who)
            if catch_up:
                incremental.catch_up()
        incremental.catch_up()
        fresh = FreshCaseSearch(live.dialect, live.terms, live.open_personal)
        ProjectionRunner(v.store, v.views, fresh, batch_size=1000).catch_up()
        assert documents(v, live) == documents(v, fresh)
        assert len(documents(v, live)) == len(ids)
        # the view's copy of the lifecycle agrees with the aggregates themselves
        for case_id, status in v.views.query(f"SELECT case_id, status FROM {live.table}"):  # noqa: S608
            assert v.store.repository.get(UUID(case_id)).status == status
