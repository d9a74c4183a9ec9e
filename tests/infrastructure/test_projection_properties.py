"""Incrementally maintained views equal a fresh rebuild of the same log, row for row."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.decision import DecisionOutcome
from domain.errors import DomainError
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from projections.audit_trail import AuditTrail
from projections.case_stats import CaseStats
from projections.inbox import Inbox
from tests.conftest import drop_postgres_schema, fresh_postgres_target
from tests.steps import take

CLERKS = [Actor(f"clerk-{i}", f"Clerk {i}", Role.CLERK, "usingen") for i in range(2)]
APPLICANT = Actor("portal:1", "Max", Role.APPLICANT, "usingen")
ADMIN = Actor("dsb", "DSB", Role.ADMIN, "usingen")


class FreshInbox(Inbox):
    version = 99


class FreshAuditTrail(AuditTrail):
    version = 99


class FreshCaseStats(CaseStats):
    version = 99


@contextmanager
def fresh_vorgang(backend: str) -> Iterator[Vorgang]:
    clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    if backend == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/views.db"
        v = build(Settings(database_url=url), clock=clock)
        try:
            yield v
        finally:
            v.close()
        return
    target = fresh_postgres_target()
    v = build(Settings(database_url=target.display), clock=clock)
    try:
        yield v
    finally:
        v.close()
        drop_postgres_schema(target)


def act(v: Vorgang, ids: list[Any], index: int, action: str, who: int) -> None:
    c = v.cases
    clock: FixedClock = c.clock  # type: ignore[assignment]
    clock.advance(timedelta(hours=7))
    if action == "submit" or not ids:
        ids.append(
            c.submit(
                actor=APPLICANT,
                tenant="usingen",
                service="general",
                applicant={"name": f"Person {len(ids)}"},
                data={"subject": "Anliegen"},
            ).case_id
        )
        return
    case_id = ids[index % len(ids)]
    clerk = CLERKS[who]
    try:
        match action:
            case "claim":
                take(c, case_id, "claim", actor=clerk)
            case "release":
                take(c, case_id, "release", actor=clerk)
            case "complete":
                take(c, case_id, "confirm_complete", actor=clerk)
            case "ask":
                take(
                    c,
                    case_id,
                    "request_information",
                    actor=clerk,
                    questions=["?"],
                    reply_by=date(2027, 1, 1),
                    missing_documents=who == 1,
                )
            case "answer":
                take(c, case_id, "provide_information", actor=APPLICANT, answer="anbei")
            case "decide":
                take(
                    c,
                    case_id,
                    "decide",
                    actor=clerk,
                    outcome=DecisionOutcome.REJECTED,
                    justification="nein",
                    legal_basis="§ 1",
                    legal_remedy_notice="Widerspruch",
                )
            case "notify":
                take(c, case_id, "notify", actor=clerk)
            case "withdraw":
                take(c, case_id, "withdraw", actor=APPLICANT, reason="erledigt")
            case "note":
                take(c, case_id, "add_note", actor=clerk, text="Vermerk")
            case "erase":
                v.privacy.erase(case_id, actor=ADMIN, reason="Frist", legal_basis="Art. 17 DSGVO")
    except DomainError:
        pass  # an invalid command stores nothing; the views must not notice either


def table(v: Vorgang, name: str, order: str) -> list[tuple[Any, ...]]:
    return v.views.query(f"SELECT * FROM {name} ORDER BY {order}")  # noqa: S608


steps = st.lists(
    st.tuples(
        st.integers(0, 20),
        st.sampled_from(
            [
                "submit",
                "claim",
                "release",
                "complete",
                "ask",
                "answer",
                "decide",
                "notify",
                "withdraw",
                "note",
                "erase",
            ]
        ),
        st.integers(0, 1),
        st.booleans(),  # catch up incrementally after this step
    ),
    min_size=1,
    max_size=40,
)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps, batch=st.integers(1, 9))
def test_incremental_views_equal_a_fresh_rebuild(backend: str, steps, batch: int) -> None:  # type: ignore[no-untyped-def]
    with fresh_vorgang(backend) as v:
        incremental = [
            ProjectionRunner(v.store, v.views, projection, batch_size=batch)
            for projection in (Inbox(), AuditTrail(), CaseStats())
        ]
        ids: list[Any] = []
        for index, action, who, catch_up in steps:
            act(v, ids, index, action, who)
            if catch_up:
                for runner in incremental:
                    runner.catch_up()
        for runner in incremental:
            runner.catch_up()
        for projection in (FreshInbox(), FreshAuditTrail(), FreshCaseStats()):
            ProjectionRunner(v.store, v.views, projection, batch_size=1000).catch_up()

        assert table(v, "inbox_v1", "case_id") == table(v, "inbox_v99", "case_id")
        assert table(v, "audit_trail_v1", "position") == table(v, "audit_trail_v99", "position")
        assert table(v, "audit_trail_v1_cases", "case_id") == table(
            v, "audit_trail_v99_cases", "case_id"
        )
        assert table(v, "case_stats_v1", "case_id") == table(v, "case_stats_v99", "case_id")
        # the views' copy of the lifecycle agrees with the aggregates themselves
        for case_id, status in v.views.query("SELECT case_id, status FROM inbox_v1"):
            assert v.store.repository.get(UUID(case_id)).status == status
        stored = sum(len(v.store.recorder.select_events(i)) for i in ids)
        audited = v.views.query("SELECT COUNT(*) FROM audit_trail_v1")[0][0]
        assert audited == stored
