"""Rebuild rate of every view, against reading and decoding the same log.

The ceiling is what every rebuild must do anyway: select the views' notifications from the
recorder in batches (topic filter, ``stop`` at the head) and decode them with personal data
left sealed, the way a rebuild does it (``infrastructure.log_batches.log_ahead``: the next
batch read while this one is used, automatic garbage collection paused). A rebuild is
``vorgang projections rebuild``'s code path (``infrastructure.projection_rebuild.rebuild``
on the real wiring): fill shadow tables from the start of the log and switch. "All views
together" is ``rebuild_together`` of every view of the wiring: the log read and decoded
once for all of them. Printed as events/s and as a ratio to the ceiling. Each measurement
runs in a fresh process, so its peak resident memory above what the process held before
(``ru_maxrss``) belongs to that measurement alone; done at two log sizes it shows whether
memory stays flat as the log grows.
"""

from __future__ import annotations

import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

from benchmarks.support import quiet_logging, table
from infrastructure.database import DatabaseTarget
from infrastructure.log_batches import log_ahead
from infrastructure.projection_rebuild import BATCH_SIZE, rebuild, rebuild_together, rebuildable
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from projections.case_events import case_event_topics

BATCH = BATCH_SIZE  # the rebuild's batch size; the ceiling reads in the same batches
CEILING = "read + decode (ceiling)"
VIEWS = ("inbox", "audit_trail", "case_stats", "feed", "case_search")
TOGETHER = "all views together"
MEASURED = (CEILING, *(f"{name} rebuild" for name in VIEWS), TOGETHER)


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
    """Every case notification, read ahead in batches and decoded as a rebuild does; count."""
    recorder = vorgang.store.recorder
    mapper = next(iter(vorgang.projections.runners.values())).mapper  # personal data sealed
    head = recorder.max_notification_id() or 0
    count = 0
    with log_ahead(vorgang.store, mapper, case_event_topics(), 0, head, BATCH) as batches:
        for batch in batches:
            count += len(batch.events)
    return count


def rebuild_view(vorgang: Vorgang, name: str) -> int:
    """Rebuild one view as ``vorgang projections rebuild`` does; return the events applied."""
    projection = vorgang.projections.runners[name].projection
    return rebuild(vorgang.store, vorgang.views, projection, batch_size=BATCH).events


def rebuild_all(vorgang: Vorgang) -> int:
    """Rebuild every view from one read of the log; return the events read (each view's)."""
    projections = [
        runner.projection
        for runner in vorgang.projections.runners.values()
        if rebuildable(runner.projection)  # the hash chain is never rebuilt
    ]
    done = rebuild_together(vorgang.store, vorgang.views, projections, batch_size=BATCH)
    return max(d.events for d in done)


def measure_here(url: str, what: str) -> tuple[int, float, float, float]:
    """In this process: events, seconds, peak RSS and its growth in MiB (wiring untimed)."""
    quiet_logging()
    vorgang = build(Settings(database_url=url))
    try:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        if what == CEILING:
            events = read_and_decode(vorgang)
        elif what == TOGETHER:
            events = rebuild_all(vorgang)
        else:
            events = rebuild_view(vorgang, what.removesuffix(" rebuild"))
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


def measure_all(target: DatabaseTarget, log_events: int, *, fresh_process: bool) -> list[Pass]:
    """The ceiling measured again before every rebuild (a busy machine slows both alike), and
    the fastest ceiling kept: each ratio is against the best the log was read at."""
    ceilings: list[Pass] = []
    rebuilds: list[Pass] = []
    for what in MEASURED[1:]:
        ceilings.append(measure(target, CEILING, log_events, fresh_process=fresh_process))
        rebuilds.append(measure(target, what, log_events, fresh_process=fresh_process))
    return [max(ceilings, key=lambda p: p.rate), *rebuilds]


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
