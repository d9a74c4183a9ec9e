"""A scheduler process to kill mid-firing.

Run as ``python -m tests.infrastructure.scheduler_worker <database_url> <now> <stop_at>``:
it builds the application on that database with a clock fixed at ``now`` (ISO, aware),
catches the views up and ticks the scheduler once. At each progress point of a firing
(``claimed``: the key is inserted, the command not run; ``acted``: the command is saved,
its outcome not recorded; ``recorded``) it prints ``<point> <case id> <kind>``. At the
first point named ``stop_at`` it prints ``waiting`` and blocks on stdin, so the test kills
it exactly there — decided by the progress it reported, never by a clock. Without being
stopped it prints ``done`` and exits 0.
"""

from __future__ import annotations

import sys
from datetime import datetime

from application.clock import FixedClock
from infrastructure.scheduler import FiringKey
from infrastructure.settings import Settings
from infrastructure.wiring import build


def main(url: str, now: str, stop_at: str) -> None:
    """Tick once, reporting progress; block at ``stop_at``."""
    vorgang = build(Settings(database_url=url), clock=FixedClock(datetime.fromisoformat(now)))
    try:
        vorgang.projections.catch_up()

        def report(point: str, key: FiringKey) -> None:
            print(point, key.case_id, key.kind, flush=True)
            if point == stop_at:
                print("waiting", flush=True)
                sys.stdin.read()  # until killed

        vorgang.scheduler.progress = report
        vorgang.scheduler.tick()
        print("done", flush=True)
    finally:
        vorgang.close()


if __name__ == "__main__":
    main(*sys.argv[1:4])
