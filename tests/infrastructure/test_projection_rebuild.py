"""A rebuild fills new tables side by side and switches atomically, while reads go on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from application.clock import FixedClock
from domain.actor import Actor, Role
from infrastructure.projection_rebuild import rebuild
from infrastructure.projection_runner import TRACKING, ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from projections.audit_trail import AuditTrail
from projections.inbox import Inbox
from tests.conftest import CLERK, admin_connection, drop_postgres_schema, fresh_postgres_target
from tests.steps import submitted, take

APPLICANT = Actor("portal:9", "Erika", Role.APPLICANT, "usingen")


class FreshInbox(Inbox):
    version = 99


class FreshAuditTrail(AuditTrail):
    version = 99


INBOX, AUDIT_TRAIL = Inbox().key, AuditTrail().key  # the live views


def rows(v: Vorgang, table: str, order: str) -> list[tuple[Any, ...]]:
    return v.views.query(f"SELECT * FROM {table} ORDER BY {order}")  # noqa: S608


def submit(v: Vorgang, n: int) -> None:
    for i in range(n):
        submitted(v.cases, data={"subject": "s"}, applicant={"name": f"P{i}"}, actor=APPLICANT)


def test_a_rebuild_switches_without_downtime_while_writes_and_reads_continue(
    vorgang: Vorgang,
) -> None:
    submit(vorgang, 30)
    vorgang.projections.start()  # live runners keep applying during the rebuild
    stop = threading.Event()
    failures: list[BaseException] = []
    empty_reads = 0

    def read() -> None:
        nonlocal empty_reads
        while not stop.is_set():
            try:
                if not vorgang.views.query(f"SELECT COUNT(*) FROM {INBOX}")[0][0]:  # noqa: S608
                    empty_reads += 1
            except BaseException as error:
                failures.append(error)

    def write() -> None:
        while not stop.is_set():
            submit(vorgang, 1)

    vorgang.projections.wait_for("inbox", vorgang.store.recorder.max_notification_id(), 10)
    threads = [threading.Thread(target=read), threading.Thread(target=write)]
    for t in threads:
        t.start()
    try:
        for name in ("inbox", "audit_trail"):
            done = rebuild(
                vorgang.store,
                vorgang.views,
                vorgang.projections.runners[name].projection,
                batch_size=7,
            )
            assert done.position > 0
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert failures == []
    assert empty_reads == 0
    head = vorgang.store.recorder.max_notification_id()
    assert vorgang.projections.wait_for("inbox", head, 60)  # a hang guard only
    assert vorgang.projections.wait_for("audit_trail", head, 60)
    vorgang.projections.stop()
    for projection in (FreshInbox(), FreshAuditTrail()):
        ProjectionRunner(vorgang.store, vorgang.views, projection).catch_up()
    assert rows(vorgang, INBOX, "case_id") == rows(vorgang, "inbox_v99", "case_id")
    assert rows(vorgang, AUDIT_TRAIL, "position") == rows(vorgang, "audit_trail_v99", "position")
    names = [r[0] for r in vorgang.views.query(f"SELECT name FROM {TRACKING}")]  # noqa: S608
    assert not [n for n in names if "_rb" in n]
    # a second rebuild works too (no leftover names in the way)
    rebuild(vorgang.store, vorgang.views, vorgang.projections.runners["inbox"].projection)
    assert rows(vorgang, INBOX, "case_id") == rows(vorgang, "inbox_v99", "case_id")


class PausingAuditTrail(AuditTrail):
    """Pauses a batch once it has read its cases' state, before it writes any row."""

    version = 98

    def __init__(self) -> None:
        super().__init__()
        self.pause = False
        self.paused = threading.Event()
        self.go = threading.Event()

    def _case_loaded(self, row: dict[str, Any]) -> dict[str, Any]:
        if self.pause:
            self.pause = False
            self.paused.set()
            assert self.go.wait(120), "the test never let the batch go on"
        return super()._case_loaded(row)


@pytest.mark.postgres
def test_a_switch_waits_for_a_batch_that_read_before_it_wrote_instead_of_deadlocking(
    clock: FixedClock,
) -> None:
    pg = fresh_postgres_target()
    vorgang = build(Settings(database_url=pg.display, key_cache_seconds=30), clock=clock)
    try:
        case_ids = [submitted(vorgang.cases, data={"subject": "s"}) for _ in range(3)]
        live = PausingAuditTrail()
        runner = ProjectionRunner(vorgang.store, vorgang.views, live)
        runner.catch_up()
        for case_id in case_ids:  # the next batch reads these cases' rows before writing
            take(vorgang.commands, case_id, "claim", CLERK)
        live.pause = True
        errors: list[BaseException] = []

        def run(work: Callable[[], object]) -> threading.Thread:
            def guarded() -> None:
                try:
                    work()
                except BaseException as error:
                    errors.append(error)

            thread = threading.Thread(target=guarded)
            thread.start()
            return thread

        applying = run(runner.catch_up)
        assert live.paused.wait(60), "the batch did not start"
        switching = run(lambda: rebuild(vorgang.store, vorgang.views, live, batch_size=7))
        with admin_connection(pg) as conn:  # the switch is queued behind the batch's locks
            deadline = time.monotonic() + 60  # a hang guard: the verdict is the lock state
            while not conn.execute(
                "SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE NOT l.granted AND l.mode = 'AccessExclusiveLock' AND n.nspname = %s",
                (pg.env["POSTGRES_SCHEMA"],),  # this test's tables: tests may run side by side
            ).fetchall():
                assert time.monotonic() < deadline, "the switch never waited for a lock"
                time.sleep(0.02)
        live.go.set()
        for thread in (applying, switching):
            thread.join(timeout=120)
        assert errors == []
        assert runner.position() == vorgang.store.recorder.max_notification_id()
    finally:
        vorgang.close()
        drop_postgres_schema(pg)
