"""A rebuild fills new tables side by side and switches atomically, while reads go on."""

from __future__ import annotations

import threading
from typing import Any

from domain.actor import Actor, Role
from infrastructure.projection_rebuild import rebuild
from infrastructure.projection_runner import TRACKING, ProjectionRunner
from infrastructure.wiring import Vorgang
from projections.audit_trail import AuditTrail
from projections.inbox import Inbox
from tests.steps import submitted

APPLICANT = Actor("portal:9", "Erika", Role.APPLICANT, "usingen")


class FreshInbox(Inbox):
    version = 99


class FreshAuditTrail(AuditTrail):
    version = 99


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
                if not vorgang.views.query("SELECT COUNT(*) FROM inbox_v1")[0][0]:
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
    assert rows(vorgang, "inbox_v1", "case_id") == rows(vorgang, "inbox_v99", "case_id")
    assert rows(vorgang, "audit_trail_v1", "position") == rows(
        vorgang, "audit_trail_v99", "position"
    )
    names = [r[0] for r in vorgang.views.query(f"SELECT name FROM {TRACKING}")]  # noqa: S608
    assert not [n for n in names if "_rb" in n]
    # a second rebuild works too (no leftover names in the way)
    rebuild(vorgang.store, vorgang.views, vorgang.projections.runners["inbox"].projection)
    assert rows(vorgang, "inbox_v1", "case_id") == rows(vorgang, "inbox_v99", "case_id")
