"""Slot release under a burst: 200 citizens booking 50 slots of one office day at once.

Every thread waits at a barrier, then holds its slot (four threads want each slot) and
confirms it with a contact, through the use cases over a real store (SQLite, and PostgreSQL
where it answers). Checked, not only timed: every slot booked exactly once, every other
thread refused with ``SlotTaken``, nothing else failing. Printed: wall time and the p50/p99
latency of one citizen's booking (hold and confirm, retries included), and as a baseline in
the same run the same booking made by one citizen alone (the ratio is what contention costs).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

from application.appointments import AppointmentService, online_booking
from application.clock import FixedClock
from application.identities import CaseIdentities
from application.store import VorgangStore
from benchmarks.support import (
    drop_postgres_schema,
    fresh_postgres_target,
    postgres_unreachable,
    quiet_logging,
    table,
)
from domain.appointments.office_day import SlotTaken
from infrastructure.database import DatabaseTarget, parse_database_url
from persistence.transcodings import PersonalDataInClear

DAY = date(2026, 3, 4)  # a Wednesday; the clock stands on the Monday before
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def burst(target: DatabaseTarget, citizens: int, slots: int) -> tuple[float, list[float]]:
    """Wall time and each citizen's latency; raises if a slot went twice or a booking failed."""
    store = VorgangStore(env=target.env, personal_data=PersonalDataInClear())
    try:
        use = AppointmentService(store, FixedClock(MONDAY), CaseIdentities(b"bench" * 8))
        day = use.day("usingen", "buergerbuero", DAY)
        wanted = sorted(day.slots.values(), key=lambda s: (s.starts, s.id))[:slots]
        citizen = online_booking("usingen")
        barrier = threading.Barrier(citizens)

        def book(i: int) -> tuple[str, float]:
            barrier.wait(timeout=120)
            started = time.perf_counter()
            try:
                held = use.hold(
                    "usingen",
                    "buergerbuero",
                    DAY,
                    wanted[i % slots].id,
                    actor=citizen,
                    online=False,
                )
                contact = {"name": f"Person {i}", "email": f"person{i}@example.org"}
                use.confirm("usingen", "buergerbuero", DAY, held.hold, contact, actor=citizen)
                outcome = held.slot
            except SlotTaken:
                outcome = ""
            return outcome, time.perf_counter() - started

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=citizens) as pool:
            results = list(pool.map(book, range(citizens)))
        wall = time.perf_counter() - began
        booked = [slot for slot, _ in results if slot]
        stored = use.day("usingen", "buergerbuero", DAY).booked
        if sorted(booked) != sorted(s.id for s in wanted) or len(stored) != slots:
            raise AssertionError(f"{len(booked)} bookings for {slots} slots: a slot went twice")
        return wall, sorted(latency for _, latency in results)
    finally:
        store.close()


def percentile(values: list[float], share: float) -> float:
    return values[min(int(share * len(values)), len(values) - 1)]


def measure(name: str, make: Callable[[], DatabaseTarget], citizens: int, slots: int) -> list[str]:
    _, alone = burst(make(), 1, 1)
    wall, latencies = burst(make(), citizens, slots)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    return [
        name,
        f"{citizens}/{slots}",
        f"{wall:.2f} s",
        f"{p50 * 1000:.0f} ms",
        f"{p99 * 1000:.0f} ms",
        f"{alone[0] * 1000:.1f} ms",
        f"{p99 / alone[0]:.0f}x",
    ]


def main(argv: list[str] | None = None) -> int:
    """Measure the burst on SQLite and on PostgreSQL (where it answers); print one table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.appointment_burst")
    parser.add_argument("--quick", action="store_true", help="40 citizens for 10 slots")
    args = parser.parse_args(argv)
    quiet_logging()
    citizens, slots = (40, 10) if args.quick else (200, 50)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        counter = iter(range(1000))

        def sqlite() -> DatabaseTarget:
            return parse_database_url(f"sqlite:///{Path(directory) / f'{next(counter)}.db'}")

        rows.append(measure("sqlite", sqlite, citizens, slots))
    reason = postgres_unreachable()
    if reason is None:
        made: list[DatabaseTarget] = []

        def postgres() -> DatabaseTarget:
            made.append(fresh_postgres_target())
            return made[-1]

        try:
            rows.append(measure("postgresql", postgres, citizens, slots))
        finally:
            for target in made:
                drop_postgres_schema(target)
    print("Appointments: a burst of bookings on one office day (every slot once, checked)")
    header = ["database", "citizens/slots", "wall", "p50", "p99", "one alone", "p99/alone"]
    print(table(header, rows))
    if reason is not None:
        print(f"  postgresql skipped: {reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
