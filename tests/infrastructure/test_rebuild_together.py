"""A rebuild reads the log once for every view it rebuilds, writes in bulk, and builds the
copy's secondary indexes once: the views it switches to equal the incrementally kept ones."""

from __future__ import annotations

import gc
import threading
from collections.abc import Sequence
from typing import Any
from unittest import mock

import pytest
from eventsourcing.persistence import Mapper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.actor import Actor, Role
from infrastructure.log_batches import collection_paused
from infrastructure.projection_rebuild import rebuild, rebuild_together, table_indexes
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.wiring import Vorgang
from projections.audit_trail import AuditTrail
from projections.case_events import case_event_topics
from projections.case_stats import CaseStats
from projections.feed import Feed
from projections.inbox import Inbox
from projections.projection import Applied, Projection
from projections.view_store import ViewTransaction
from tests.infrastructure.test_projection_properties import act, fresh_vorgang, steps, table
from tests.steps import submitted, take

APPLICANT = Actor("portal:9", "Erika", Role.APPLICANT, "usingen")
CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
ORDER = {"inbox": "case_id", "audit_trail": "position", "case_stats": "case_id", "feed": "sequence"}


def contents(v: Vorgang, projections: Sequence[Projection]) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for p in projections:
        found[p.table] = table(v, p.table, ORDER[p.name])
        if p.name in ("audit_trail", "feed"):
            found[f"{p.table}_cases"] = table(v, f"{p.table}_cases", "case_id")
    return found


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps, batch=st.integers(1, 9), held=st.integers(1, 4), few=st.integers(0, 3))
def test_views_rebuilt_together_equal_the_views_kept_incrementally(  # type: ignore[no-untyped-def]
    backend: str, steps, batch: int, held: int, few: int
) -> None:
    # Few rows per statement and few cases held in memory: every bulk path and eviction runs.
    with (
        fresh_vorgang(backend) as v,
        mock.patch("projections.bulk.FEW", few),
        mock.patch("projections.case_event_log.HELD_CASES", held),
    ):
        live = [Inbox(), AuditTrail(), CaseStats(), Feed()]
        runners = [ProjectionRunner(v.store, v.views, p, batch_size=batch) for p in live]
        ids: list[Any] = []
        for index, action, who, catch_up in steps:
            act(v, ids, index, action, who)
            if catch_up:
                for runner in runners:
                    runner.catch_up()
        for runner in runners:
            runner.catch_up()
        kept = contents(v, live)

        done = rebuild_together(v.store, v.views, live, batch_size=batch)

        assert [d.name for d in done] == [p.key for p in live]
        assert contents(v, live) == kept
        # every view at the head of the log (0 when the steps stored nothing: a registration
        # for an offering not published, say)
        assert {d.position for d in done} == {v.store.recorder.max_notification_id() or 0}


class Watching(Inbox):
    """Notes, while a rebuild fills its copy, the copy's indexes and whether GC runs."""

    version = 97
    seen: list[tuple[set[str], bool]]

    def __init__(self) -> None:
        self.seen = []

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        if self.shadow:
            names = {i.name for i in table_indexes(tx, tx.dialect, self.table) if not i.enforces}
            self.seen.append((names, gc.isenabled()))
        super().apply(tx, batch)


def test_the_copy_gets_its_secondary_indexes_once_filled_and_the_live_names_at_the_switch(
    vorgang: Vorgang,
) -> None:
    for _ in range(7):
        take(vorgang.cases, submitted(vorgang.cases, actor=APPLICANT), "claim", CLERK)
    watching = Watching()
    ProjectionRunner(vorgang.store, vorgang.views, watching).catch_up()

    rebuild(vorgang.store, vorgang.views, watching, batch_size=4)

    filling = watching.seen  # the log is quiet: the switch has no last stretch to apply
    assert len(filling) > 1
    assert all(names == set() for names, _ in filling)  # no index kept up row by row
    assert not any(collecting for _, collecting in filling)  # nor a full GC every few batches
    assert gc.isenabled()
    with vorgang.views.transaction() as tx:
        indexes = {i.name for i in table_indexes(tx, vorgang.views.dialect, "inbox_v97")}
    expected = {f"inbox_v97_{n}" for n in ("due", "assignee", "status", "service", "objection")}
    if vorgang.views.dialect == "postgresql":
        expected.add("inbox_v97_pkey")  # renamed from the copy's
    assert indexes == expected


class Stalling(Inbox):
    """The first batch of a fill waits until the log is read beyond it (or a guard expires)."""

    version = 96

    def __init__(self, read_beyond: threading.Event) -> None:
        self.read_beyond = read_beyond
        self.waited: list[bool] = []  # shared with the rebuild's copy

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        if self.shadow and not self.waited:
            self.waited.append(self.read_beyond.wait(30))  # a hang guard; the verdict: the event
        super().apply(tx, batch)


def test_the_next_batch_is_read_while_the_last_one_is_written(vorgang: Vorgang) -> None:
    for _ in range(6):
        submitted(vorgang.cases, actor=APPLICANT)
    read_beyond = threading.Event()
    select = vorgang.store.recorder.select_notifications

    def spied(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("start", 1) > 3:  # the second batch of three
            read_beyond.set()
        return select(*args, **kwargs)

    stalling = Stalling(read_beyond)
    ProjectionRunner(vorgang.store, vorgang.views, stalling)  # the live view's tables
    with mock.patch.object(vorgang.store.recorder, "select_notifications", spied):
        rebuild(vorgang.store, vorgang.views, stalling, batch_size=3)
    assert stalling.waited == [True]


def test_each_event_is_decoded_once_for_all_views_rebuilt_together(vorgang: Vorgang) -> None:
    for _ in range(5):
        take(vorgang.cases, submitted(vorgang.cases, actor=APPLICANT), "claim", CLERK)
    recorder = vorgang.store.recorder
    head = recorder.max_notification_id() or 0
    logged = len(recorder.select_notifications(1, head, topics=case_event_topics()))
    views = [Inbox(), AuditTrail(), CaseStats(), Feed()]
    decode = Mapper.to_domain_event
    decoded = 0

    def counting(self: Mapper[Any], stored: Any) -> Any:
        nonlocal decoded
        decoded += 1
        return decode(self, stored)

    with mock.patch.object(Mapper, "to_domain_event", counting):
        done = rebuild_together(vorgang.store, vorgang.views, views, batch_size=4)
    assert [d.events for d in done] == [logged] * len(views)
    assert decoded == logged


class Counting(AuditTrail):
    """Notes, while a rebuild fills its copy, how many cases its state table holds."""

    version = 95
    stored: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.stored = []

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        if self.shadow and self._held is not None:
            self.stored.append(tx.query(f"SELECT COUNT(*) FROM {self.cases_table}")[0][0])  # noqa: S608
        super().apply(tx, batch)


def test_a_fill_keeps_the_cases_state_in_memory_and_writes_it_once_at_the_end(
    vorgang: Vorgang,
) -> None:
    for _ in range(4):
        take(vorgang.cases, submitted(vorgang.cases, actor=APPLICANT), "claim", CLERK)
    counting = Counting()
    ProjectionRunner(vorgang.store, vorgang.views, counting)  # the live view's tables
    rebuild(vorgang.store, vorgang.views, counting, batch_size=2)
    assert len(counting.stored) > 2
    assert set(counting.stored) == {0}
    assert vorgang.views.query("SELECT COUNT(*) FROM audit_trail_v95_cases")[0][0] == 4


def test_collection_stays_paused_until_the_last_pause_ends_in_any_thread() -> None:
    was = gc.isenabled()
    try:
        gc.enable()
        entered, leave = threading.Event(), threading.Event()

        def other() -> None:
            with collection_paused():
                entered.set()
                leave.wait(30)

        thread = threading.Thread(target=other)
        with collection_paused():
            thread.start()
            assert entered.wait(30)
        assert not gc.isenabled()  # the other thread still holds its pause
        leave.set()
        thread.join(30)
        assert gc.isenabled()
        gc.disable()
        with collection_paused():
            pass
        assert not gc.isenabled()  # a process that disabled collection keeps it disabled
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()
