"""Projection lag while commands arrive at a steady rate, as under ``vorgang serve``.

Writer threads issue commands through ``CaseService`` on the real wiring (PostgreSQL,
encrypted personal data) on a fixed schedule: command k is due at ``k / rate`` seconds, and
a thread that falls behind issues it at once (open loop, so a slow system shows as a lower
achieved rate, not a politely slower schedule). Each case goes through submit, claim,
confirm complete and a note, so a quarter of the commands are submissions. The projection
host runs every projection in the same process, woken on save as under ``serve``. For each
command, lag is the time from its commit until a projection's tracked position reaches the
command's notification id (watched every millisecond). The same writer alone, unpaced,
shows what the machine can write at all.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from benchmarks.support import drop_postgres_schema, fresh_postgres_target, table
from domain.actor import Actor, Role
from domain.case_steps import ADD_NOTE, CLAIM, CONFIRM_COMPLETE, Note
from infrastructure.demo import TOWNS
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build

WRITERS = 4
WATCH_SECONDS = 0.001
DRAIN_SECONDS = 60.0


@dataclass
class Written:
    """One command: when it was due, when it ran, its log position."""

    due: float
    started: float
    finished: float
    position: int | None


@dataclass
class LagRun:
    """What one run saw."""

    label: str
    rate_asked: float | None
    seconds: float
    commands: list[Written]
    cpu_seconds: float = 0.0  # this process's CPU time while the writers ran
    lags: dict[str, list[float]] = field(default_factory=dict)
    drained: bool = True

    @property
    def achieved(self) -> float:
        """Commands per second actually committed."""
        return len(self.commands) / self.seconds if self.seconds else 0.0

    @property
    def cores(self) -> float:
        """CPU cores this process kept busy (1.0 with one GIL is the ceiling of Python)."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (nan for none)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


class CaseWork:
    """One writer's cases: each goes submit → claim → confirm complete → note."""

    STEPS = 4

    def __init__(self, vorgang: Vorgang, writer: int) -> None:
        self.cases = vorgang.cases
        self.commands = vorgang.commands
        self.writer = writer
        self.turn = 0
        self.case_id: UUID | None = None
        self.town = TOWNS[writer % len(TOWNS)]

    def next_command(self) -> int | None:
        """Run the next step; return its notification id."""
        step = self.turn % self.STEPS
        self.turn += 1
        if step == 0:
            # Writers take the towns in turn, so submissions rarely race for one counter.
            self.town = TOWNS[(self.turn // self.STEPS + self.writer) % len(TOWNS)]
            tenant = self.town.tenant
            applicant = Actor(f"portal:lag-{self.writer}", "Erika Weber", Role.APPLICANT, tenant)
            submitted = self.cases.submit(
                actor=applicant,
                tenant=tenant,
                service="general",
                applicant={"name": "Erika Weber", "email": "erika.weber@example.org"},
                data={"subject": "Sondernutzung Gehweg"},
            )
            self.case_id = submitted.case_id
            return submitted.position
        if self.case_id is None:
            raise RuntimeError("a case step before its submission")
        clerk = self.town.clerk
        if step == 1:
            return self.commands.handle(self.case_id, CLAIM(), clerk, None).position
        if step == 2:
            return self.commands.handle(self.case_id, CONFIRM_COMPLETE(), clerk, None).position
        note = Note(text="Unterlagen vollständig, Prüfung läuft.")
        return self.commands.handle(self.case_id, ADD_NOTE(note), clerk, None).position


def write(
    vorgang: Vorgang,
    *,
    rate: float | None,
    seconds: float,
    on_written: Callable[[Written], None] = lambda _w: None,
) -> tuple[list[Written], float, float]:
    """Run the writers for ``seconds`` at ``rate`` commands/s (None: as fast as they can)."""
    tickets = itertools.count()
    written: list[Written] = []
    cpu = time.process_time()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    end = start + seconds

    def writer(index: int) -> None:
        work = CaseWork(vorgang, index)
        try:
            while True:
                k = next(tickets)
                due = start + k / rate if rate else time.perf_counter()
                if due >= end:
                    return
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                began = time.perf_counter()
                if began >= end:
                    return
                position = work.next_command()
                done = Written(due, began, time.perf_counter(), position)
                with lock:
                    written.append(done)
                on_written(done)
        except Exception as error:  # reported by the caller
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    elapsed = max(end, max((w.finished for w in written), default=end)) - start
    return written, elapsed, time.process_time() - cpu


def writer_alone(seconds: float) -> LagRun:
    """The writers unpaced, no projection running: what the machine can write."""
    target = fresh_postgres_target()
    vorgang = build(Settings(database_url=target.display, key_cache_seconds=30))
    try:
        written, elapsed, cpu = write(vorgang, rate=None, seconds=seconds)
    finally:
        vorgang.close()
        drop_postgres_schema(target)
    return LagRun("writer alone, unpaced", None, elapsed, written, cpu)


def with_projections(rate: float, seconds: float) -> LagRun:
    """The writers paced at ``rate`` while every projection runs in this process."""
    target = fresh_postgres_target()
    vorgang = build(Settings(database_url=target.display, key_cache_seconds=30))
    runners = vorgang.projections.runners
    arrived: queue.SimpleQueue[tuple[int, float]] = queue.SimpleQueue()
    lags: dict[str, list[float]] = {name: [] for name in runners}
    waiting: dict[str, list[tuple[int, float]]] = {name: [] for name in runners}
    writing = threading.Event()
    writing.set()

    def watch() -> None:
        deadline: float | None = None
        while True:
            while not arrived.empty():
                item = arrived.get()
                for heap in waiting.values():
                    heapq.heappush(heap, item)
            now = time.perf_counter()
            for name, runner in runners.items():
                heap, reached = waiting[name], runner.known_position
                while heap and heap[0][0] <= reached:
                    _position, finished = heapq.heappop(heap)
                    lags[name].append(now - finished)
            if not writing.is_set():
                deadline = deadline or now + DRAIN_SECONDS
                drained = all(not h for h in waiting.values()) and arrived.empty()
                if drained or now > deadline:
                    return
            time.sleep(WATCH_SECONDS)

    def on_written(done: Written) -> None:
        if done.position is not None:
            arrived.put((done.position, done.finished))

    watcher = threading.Thread(target=watch, daemon=True)
    try:
        vorgang.projections.start()
        watcher.start()
        written, elapsed, cpu = write(vorgang, rate=rate, seconds=seconds, on_written=on_written)
        writing.clear()
        watcher.join()
    finally:
        vorgang.close()
        drop_postgres_schema(target)
    label = f"paced, {len(runners)} projections running"
    run = LagRun(label, rate, elapsed, written, cpu, lags)
    run.drained = all(not heap for heap in waiting.values())
    return run


def report(runs: list[LagRun]) -> str:
    """Achieved rate, command latency, lag per projection."""
    rows = []
    for run in runs:
        latency = [w.finished - w.started for w in run.commands]
        late = [max(0.0, w.started - w.due) for w in run.commands] if run.rate_asked else []
        first = [
            run.label,
            f"{run.rate_asked:.0f}" if run.rate_asked else "max",
            f"{run.achieved:.0f}",
            f"{run.cores:.2f}",
            f"{percentile(latency, 50) * 1e3:.1f}",
            f"{percentile(latency, 99) * 1e3:.1f}",
            f"{percentile(late, 99) * 1e3:.0f}" if late else "-",
        ]
        if not run.lags:
            rows.append([*first, "-", "-", "-"])
        for name, lags in run.lags.items():
            rows.append(
                [
                    *first,
                    name,
                    f"{percentile(lags, 50) * 1e3:.0f}",
                    f"{percentile(lags, 99) * 1e3:.0f}",
                ]
            )
            first = ["", "", "", "", "", "", ""]
    header = [
        "run",
        "asked/s",
        "achieved/s",
        "cpu cores",
        "cmd p50 ms",
        "cmd p99 ms",
        "behind p99 ms",
        "projection",
        "lag p50 ms",
        "lag p99 ms",
    ]
    lines = [table(header, rows, left=1)]
    lines += [
        f"  {r.label}: lag not drained within {DRAIN_SECONDS:.0f} s" for r in runs if not r.drained
    ]
    return "\n".join(lines)
