"""Several schedulers on one database, and schedulers killed mid-firing: every timer's
effect happens exactly once.

The races run on SQLite and on PostgreSQL (``vorgang`` fixture: PostgreSQL fails, not
skips, under ``CI=true``). Interleavings are forced by the schedulers' progress points
(a barrier, an event), kills by the point a subprocess reports — never by sleeping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from application.clock import FixedClock
from domain.case import Case
from domain.case_timers import OBJECTION_PERIOD_ENDED, PROCESSING_OVERDUE
from infrastructure.scheduler import DONE, NOTHING_TO_DO, FiringKey, Scheduler, firings
from infrastructure.wiring import Vorgang, build
from tests.infrastructure.test_scheduler import morning_of, reviewed_case
from tests.projections.legal_track import aggregate, notified_general_case

ROOT = Path(__file__).resolve().parents[2]
CASES = 4


def final_events(v: Vorgang, case_id: UUID) -> int:
    """How many times the case became final."""
    return sum(isinstance(e, Case.BecameFinal) for e in v.store.events.get(case_id))


def cases_past_their_periods(v: Vorgang, clock: FixedClock) -> list[UUID]:
    """Notified cases (and one overdue case) whose timers are all due a month later."""
    ids = [notified_general_case(v, clock) for _ in range(CASES)]
    overdue, due = reviewed_case(v, clock)
    deadline = max(aggregate(v, i).objection_deadline or due for i in ids)
    morning_of(clock, max(deadline, due) + timedelta(days=5))
    v.projections.catch_up()
    return [*ids, overdue]


def test_two_schedulers_racing_fire_each_timer_once(vorgang: Vorgang, clock: FixedClock) -> None:
    ids = cases_past_their_periods(vorgang, clock)
    other = build(vorgang.settings, clock=clock)  # a second worker: its own connections
    schedulers = [vorgang.scheduler, other.scheduler]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def race(scheduler: Scheduler) -> None:
        try:
            start.wait()
            for _ in range(3):
                scheduler.tick()
        except BaseException as error:  # reported to the test below
            errors.append(error)

    threads = [threading.Thread(target=race, args=(s,)) for s in schedulers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.close()
    assert errors == []
    for case_id in ids[:CASES]:
        assert final_events(vorgang, case_id) == 1
    keys = Counter((f["case_id"], f["kind"], f["due_on"]) for f in firings(vorgang.views))
    # one firing per timer (each was raised once here, so its date alone tells them apart)
    assert set(keys.values()) == {1}
    assert (str(ids[-1]), PROCESSING_OVERDUE.name) in {(c, k) for c, k, _ in keys}
    assert all(f["finished_at"] for f in firings(vorgang.views))


def test_a_claimed_firing_taken_up_by_another_worker_is_done_once(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    morning_of(clock, deadline + timedelta(days=1))
    vorgang.projections.catch_up()
    other = build(vorgang.settings, clock=clock)
    claimed = threading.Event()
    taken_up = threading.Event()

    def pause_after_claim(point: str, key: FiringKey) -> None:
        if point == "claimed" and key.kind == OBJECTION_PERIOD_ENDED.name:
            claimed.set()
            assert taken_up.wait(timeout=60)  # released by the test once B has acted

    vorgang.scheduler.progress = pause_after_claim
    first = threading.Thread(target=vorgang.scheduler.tick)
    try:
        first.start()
        assert claimed.wait(timeout=60)
        report = other.scheduler.tick()  # sees the unfinished claim and takes it up
        assert report.retried == 1
        taken_up.set()
        first.join()
    finally:
        taken_up.set()
        other.close()
    assert final_events(vorgang, case_id) == 1
    (firing,) = [f for f in firings(vorgang.views) if f["kind"] == OBJECTION_PERIOD_ENDED.name]
    assert firing["outcome"] == DONE


def run_until(url: str, now: str, stop_at: str) -> list[str]:
    """Start a scheduler process; kill it (SIGKILL) once it reports ``stop_at``."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "tests.infrastructure.scheduler_worker", url, now, stop_at],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line.strip())
            if line.strip() in ("waiting", "done"):
                break
        if lines and lines[-1] == "waiting":
            os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
        if process.stdin is not None:
            process.stdin.close()
        process.stdout.close()
    return lines


@pytest.mark.parametrize("killed_at", ["claimed", "acted"])
def test_a_scheduler_killed_mid_firing_neither_loses_nor_duplicates(
    vorgang: Vorgang, clock: FixedClock, killed_at: str
) -> None:
    case_id = notified_general_case(vorgang, clock)
    deadline = aggregate(vorgang, case_id).objection_deadline
    assert deadline is not None
    morning_of(clock, deadline + timedelta(days=1))
    vorgang.projections.catch_up()
    lines = run_until(vorgang.settings.database_url, clock.now().isoformat(), killed_at)
    assert lines[-1] == "waiting", lines
    assert f"{killed_at} {case_id} {OBJECTION_PERIOD_ENDED.name}" in lines
    (claim,) = [f for f in firings(vorgang.views) if f["kind"] == OBJECTION_PERIOD_ENDED.name]
    assert claim["finished_at"] is None  # killed before the outcome was recorded
    assert final_events(vorgang, case_id) == (1 if killed_at == "acted" else 0)

    restarted = build(vorgang.settings, clock=clock)
    try:
        restarted.projections.catch_up()
        report = restarted.scheduler.tick()
        assert report.retried == 1
        assert restarted.scheduler.tick().fired == []
    finally:
        restarted.close()
    assert final_events(vorgang, case_id) == 1
    (firing,) = [f for f in firings(vorgang.views) if f["kind"] == OBJECTION_PERIOD_ENDED.name]
    assert firing["outcome"] == (DONE if killed_at == "claimed" else NOTHING_TO_DO)
