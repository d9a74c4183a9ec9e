"""Rebuild rate of the inbox and audit trail, against reading and decoding the same log.

The ceiling is what every rebuild must do anyway: select the projection's notifications
from the recorder in batches (topic filter, ``stop`` at the head, as the runner does) and
decode them with personal data left sealed. A rebuild is ``vorgang projections rebuild``'s
code path (``infrastructure.projection_rebuild.rebuild`` on the real wiring): fill shadow
tables from the start of the log and switch. Printed as events/s and as a ratio to the
ceiling. Each measurement runs in a fresh process, so its peak resident memory above what
the process held before (``ru_maxrss``) belongs to that measurement alone; done at two log
sizes it shows whether memory stays flat as the log grows.
"""

from __future__ import annotations

import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

from eventsourcing.persistence import Mapper

from benchmarks.support import quiet_logging, table
from infrastructure.database import DatabaseTarget
from infrastructure.projection_rebuild import rebuild
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from projections.case_events import case_event_topics
from projections.sealed import SealingTranscoder

BATCH = 2_000  # the rebuild's default batch size; the ceiling reads in the same batches
MEASURED = ("read + decode (ceiling)", "inbox rebuild", "audit_trail rebuild")
CEILING, INBOX, AUDIT = MEASURED


@dataclass(frozen=True)
class Pass:
    """One pass over the log: what, how many events, how long, peak memory above the start."""

    what: str
    log_events: int
    events: int
    seconds: float
    peak_mib: float  # the process's peak resident memory
    growth_mib: float  # of which above what the process held before the pass

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.events / self.seconds if self.seconds else 0.0


def read_and_decode(vorgang: Vorgang) -> int:
    """Every case notification, selected in batches and decoded as a runner does; count."""
    recorder = vorgang.store.recorder
    mapper: Mapper[Any] = Mapper(transcoder=SealingTranscoder())
    topics = case_event_topics()
    head = recorder.max_notification_id() or 0
    position = count = 0
    while position < head:
        notifications = recorder.select_notifications(
            start=position + 1, limit=BATCH, stop=head, topics=topics
        )
        for notification in notifications:
            mapper.to_domain_event(notification)
        count += len(notifications)
        position = notifications[-1].id if len(notifications) == BATCH else head
    return count


def rebuild_view(vorgang: Vorgang, name: str) -> int:
    """Rebuild one view as ``vorgang projections rebuild`` does; return the events applied."""
    projection = vorgang.projections.runners[name].projection
    return rebuild(vorgang.store, vorgang.views, projection, batch_size=BATCH).events


def measure_here(url: str, what: str) -> tuple[int, float, float, float]:
    """In this process: events, seconds, peak RSS and its growth in MiB (wiring untimed)."""
    quiet_logging()
    vorgang = build(Settings(database_url=url))
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        if what == CEILING:
            events = read_and_decode(vorgang)
        else:
            events = rebuild_view(vorgang, "inbox" if what == INBOX else "audit_trail")
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        vorgang.close()
    return events, seconds, after / 1024, (after - before) / 1024  # ru_maxrss: KiB on Linux


def measure(target: DatabaseTarget, what: str, log_events: int, *, fresh_process: bool) -> Pass:
    """One pass, in a fresh process so that its memory peak is its own (or in this one)."""
    if not fresh_process:
        return Pass(what, log_events, *measure_here(target.display, what))
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        events, seconds, peak, growth = pool.submit(measure_here, target.display, what).result()
    return Pass(what, log_events, events, seconds, peak, growth)


def report(passes: list[Pass]) -> str:
    """Rates, ratio to the ceiling on the same log, peak memory."""
    ceilings = {p.log_events: p.rate for p in passes if p.what == CEILING}
    rows = [
        [
            p.what,
            f"{p.log_events:,}",
            f"{p.events:,}",
            f"{p.seconds:.1f}",
            f"{p.rate:,.0f}",
            f"{p.rate / ceilings[p.log_events]:.2f}" if p.log_events in ceilings else "-",
            f"{p.peak_mib:.0f}",
            f"{p.growth_mib:.1f}",
        ]
        for p in passes
    ]
    header = ["pass", "log events", "events", "s", "events/s", "÷ ceiling", "peak MiB", "+MiB"]
    return table(header, rows)
