"""Many writers at once, in threads and over two connection pools (as two processes have):
one gapless access-log chain that verifies."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

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
