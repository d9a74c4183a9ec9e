"""`vorgang worker` fires due timers: two workers on one PostgreSQL schema, on the system
clock, make a decision final once (fails, not skips, under ``CI=true`` without PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from application.clock import FixedClock
from domain.case import Case
from domain.case_timers import OBJECTION_PERIOD_ENDED
from infrastructure.database import DatabaseTarget
from infrastructure.scheduler import DONE, firings
from infrastructure.settings import Settings
from infrastructure.wiring import build
from tests.conftest import drop_postgres_schema, fresh_postgres_target
from tests.projections.legal_track import notified_general_case

LIMIT_SECONDS = 120.0  # a bound for a failure, never what a test decides by


@pytest.fixture
def pg() -> Iterator[DatabaseTarget]:
    target = fresh_postgres_target()
    try:
        yield target
    finally:
        drop_postgres_schema(target)


def start_worker(url: str, log: Path) -> subprocess.Popen[bytes]:
    """``vorgang worker`` on this database, logging JSON to ``log``."""
    env = {**os.environ, "VORGANG_DATABASE_URL": url, "VORGANG_LOG_FORMAT": "json"}
    command = [str(Path(sys.executable).with_name("vorgang")), "worker"]
    with log.open("w") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603


def test_two_workers_make_a_decision_final_once(pg: DatabaseTarget, tmp_path: Path) -> None:
    settings = Settings(database_url=pg.display)
    clock = FixedClock(datetime.now(UTC) - timedelta(days=90))  # notified three months ago
    vorgang = build(settings, clock=clock)
    try:
        case_id: UUID = notified_general_case(vorgang, clock)
    finally:
        vorgang.close()
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [start_worker(pg.display, log) for log in logs]
    watcher = build(settings, clock=clock)
    try:
        limit = time.monotonic() + LIMIT_SECONDS
        while not any(f["outcome"] == DONE for f in firings(watcher.views)):
            for worker, log in zip(workers, logs, strict=True):
                if worker.poll() is not None:
                    pytest.fail(f"a worker exited: {log.read_text()[-2000:]}")
            if time.monotonic() > limit:
                pytest.fail(f"no timer fired: {logs[0].read_text()[-2000:]}")
            time.sleep(0.1)
        events = watcher.store.events.get(case_id)
        assert sum(isinstance(e, Case.BecameFinal) for e in events) == 1
        (firing,) = [f for f in firings(watcher.views) if f["kind"] == OBJECTION_PERIOD_ENDED.name]
        assert firing["case_id"] == str(case_id)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        watcher.close()
    fired_lines = sum(log.read_text().count('"event": "timers fired"') for log in logs)
    assert fired_lines >= 1
