"""Many writers at once, in threads and over two connection pools (as two processes have):
one gapless access-log chain that verifies."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import pytest

from infrastructure.access_log import TABLE, ChainedAccessLog, verify_access_log
from infrastructure.view_database import open_views
from infrastructure.wiring import Vorgang
from tests.conftest import CLERK, SUPERVISOR

WRITERS = 8
EACH = 25


def second_log(vorgang: Vorgang) -> ChainedAccessLog:
    """The access log over a pool of its own, as another process would open it."""
    return ChainedAccessLog(
        open_views(vorgang.target),
        keys=vorgang.keys,
        seal=lambda value: vorgang.store.mapper.transcoder.encode(value).decode(),
        open_sealed=vorgang.projections.open_sealed,
        schema=vorgang.target.env.get("POSTGRES_SCHEMA") or "public",
    )


def test_concurrent_writers_over_two_pools_write_one_gapless_valid_chain(
    vorgang: Vorgang,
) -> None:
    other = second_log(vorgang)
    logs = [vorgang.access_log, other]

    def write(writer: int) -> None:
        log = logs[writer % 2]
        actor = CLERK if writer % 2 else SUPERVISOR
        for n in range(EACH):
            if n % 5 == 0:  # some hit lists too, with their cases
                log.record_read(
                    actor, route="/api/v1/cases", what="search", query={}, hits=[uuid4(), uuid4()]
                )
            else:
                log.record_read(
                    actor, route="/api/v1/cases/{case_id}", what="case", case_id=uuid4()
                )

    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(write, range(WRITERS)))
    finally:
        other.views.close()
    ordered = f"SELECT position FROM {TABLE} ORDER BY position"  # noqa: S608
    positions = [int(r[0]) for r in vorgang.views.query(ordered)]
    assert positions == list(range(1, WRITERS * EACH + 1))
    report = verify_access_log(vorgang.views, {})
    assert report.ok, report.disagreement
    assert report.records == WRITERS * EACH


WRITER = """
import sys
from uuid import uuid4
from domain.actor import Actor, Role
from infrastructure.settings import Settings
from infrastructure.wiring import build

vorgang = build(Settings(database_url=sys.argv[1], scheduler=False))
clerk = Actor("other.process", "Andere", Role.CLERK, "usingen")
print("ready", flush=True)
for _ in range(int(sys.argv[2])):
    vorgang.access_log.record_read(clerk, route="/api/v1/cases/{case_id}", what="case",
                                   case_id=uuid4())
vorgang.close()
print("done", flush=True)
"""


@pytest.mark.postgres
def test_two_processes_write_one_gapless_valid_chain(vorgang: Vorgang) -> None:
    if not vorgang.target.is_postgres:
        pytest.skip("SQLite serves one process here; PostgreSQL is shared by processes")
    lines = 60
    other = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", WRITER, vorgang.settings.database_url, str(lines)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert other.stdout is not None
        for said in other.stdout:  # its log lines first (on stdout), then ready
            if said.strip() == "ready":
                break
        for _ in range(lines):
            vorgang.access_log.record_read(
                CLERK, route="/api/v1/cases/{case_id}", what="case", case_id=uuid4()
            )
        other.stdout.read()  # the rest, so it never blocks on a full pipe
        assert other.wait(timeout=300) == 0
    finally:
        if other.poll() is None:
            other.kill()
    ordered = f"SELECT position, actor_id FROM {TABLE} ORDER BY position"  # noqa: S608
    found = vorgang.views.query(ordered)
    assert [int(r[0]) for r in found] == list(range(1, 2 * lines + 1))
    assert {r[1] for r in found} == {"anna.schmidt", "other.process"}
    assert verify_access_log(vorgang.views, {}).ok
