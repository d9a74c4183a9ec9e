"""The scheduler: fires due timers exactly once, across restarts and across workers.

Each tick reads the business date (Europe/Berlin) from the injectable clock, selects from
the due timers view (``projections/due_timers.py``) the timers each kind fires for on that
day, and fires each one:

1. **Claim** by inserting its key into the firings table (``create_firings``), which has
   that key as its primary key, in the database of the views. Only the insert that added
   the row fires; any other worker's insert of the same key changes nothing. The key is
   the case, the kind, the due date and the log position of the event that set that date:
   a date set again after the case reopened (an objection in time against a decision
   already marked final) is a new timer, even where the date is the same.
2. **Act.** A notice (reminder, escalation) has its addressees in the claimed row and is
   saved as an aggregate of its own (``domain/timer_notice.py``), whose id is derived
   from the key, so the feed publishes it once — never an event of the case, so it never
   moves a case's version or ETag. A case command (finality) runs through the
   one command pipeline as the system, at the case version the timer's ``ready`` check
   read, so a concurrent clerk's change makes it try again rather than act on old state.
3. **Record** the outcome on the claimed row.

A process killed between claim and record leaves a claimed row without an outcome; every
tick first takes such rows up again (whoever claimed them). The case says whether its
command is still to run (a case already final is not made final again), and the event
store's optimistic concurrency lets only one of two workers retrying at once save. So a
kill at any point neither loses nor duplicates the effect.

Timers are only selected once the view has applied the log up to the head seen at the
start of the tick, so a timer cleared by a recent event (an objection lodged, a reply
given) is not fired from a stale row.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from application.clock import Clock
from application.commands import CommandHandler
from application.errors import ConcurrentUpdate, VersionMismatch
from application.teams import TeamDirectory
from domain.case import Case
from domain.errors import DomainError
from domain.timer_notice import NoticeSort, TimerNotice
from domain.timers import (
    TIMER_KINDS,
    Addressee,
    Notice,
    Readiness,
    TimerKind,
    TimerKinds,
    scheduler_actor,
)
from domain.working_days import berlin_date
from infrastructure.projection_runner import TRACKING, now_text
from infrastructure.view_database import ViewDatabase, ViewTransaction
from projections.due_timers import DueTimers
from projections.timer_notices import FIRINGS  # the inbox and statistics read it too

log = structlog.get_logger(__name__)

PAGE: Final = 200  # timers selected per kind and query
MAX_BACKOFF_SECONDS: Final = 300.0
VIEW_BEHIND_SECONDS: Final = 1.0

# Outcomes recorded on a firing (NULL: claimed, not finished).
NOTICED: Final = "noticed"  # a reminder or escalation, saved as a notice of its own
DONE: Final = "done"  # the case command ran and was saved
NOTHING_TO_DO: Final = "nothing_to_do"  # the case had moved on (already final, objection open)
REFUSED: Final = "refused"  # the domain refused the command: the reason is in ``detail``
CASE_GONE: Final = "case_gone"
FAILED: Final = "failed"  # unexpected errors, MAX_ATTEMPTS times: for an operator to look at
MAX_ATTEMPTS: Final = 10


@dataclass(frozen=True, slots=True)
class FiringKey:
    """What a timer is fired once for: the case, the kind and the due date."""

    case_id: str
    kind: str
    due_on: str
    raised_at: int  # the log position of the event that set this due date


@dataclass(frozen=True, slots=True)
class DueTimer:
    """A timer selected from the view, with what its action needs."""

    key: FiringKey
    tenant: str
    service: str
    assignee: str | None


@dataclass
class TickReport:
    """What one tick did (for logs and tests)."""

    today: date
    view_behind: bool = False
    fired: list[tuple[FiringKey, str]] = field(default_factory=list)  # key, outcome
    retried: int = 0
    not_yet: int = 0
    beside: object = None  # what the work beside the timers reported (``Scheduler.beside``)


# Progress points a test may observe (and stop a process at): claimed, acted, recorded.
Progress = Callable[[str, FiringKey], None]


def create_firings(views: ViewDatabase) -> None:
    """The table of firings: one row per timer fired, its key unique."""
    with views.transaction() as tx:
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {FIRINGS} ("
            "case_id TEXT NOT NULL, kind TEXT NOT NULL, due_on TEXT NOT NULL, "
            "raised_at BIGINT NOT NULL, "
            "tenant TEXT NOT NULL, service TEXT NOT NULL, action TEXT NOT NULL, "
            "addressees TEXT, fired_on TEXT NOT NULL, claimed_at TEXT NOT NULL, "
            "claimed_by TEXT NOT NULL, "
            "attempts INTEGER NOT NULL, finished_at TEXT, outcome TEXT, detail TEXT, "
            "PRIMARY KEY (case_id, kind, due_on, raised_at))"
        )
        tx.execute(f"CREATE INDEX IF NOT EXISTS {FIRINGS}_unfinished ON {FIRINGS} (finished_at)")


def worker_name() -> str:
    """This process, as a firing names its claimant."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Scheduler:
    """Fires the due timers of every registered kind, once each."""

    def __init__(
        self,
        *,
        views: ViewDatabase,
        commands: CommandHandler,
        teams: TeamDirectory | None = None,
        clock: Clock | None = None,
        kinds: TimerKinds = TIMER_KINDS,
        view: DueTimers | None = None,
        reminder_working_days: int = 3,
        tick_seconds: float = 60.0,
        progress: Progress | None = None,
        name: str | None = None,
        beside: Callable[[date], object] | None = None,
    ) -> None:
        self.views = views
        self.commands = commands
        self.store = commands.cases.store
        self.teams = teams
        self.clock = clock or commands.cases.clock
        self.kinds = kinds
        self.view = view or DueTimers(kinds)
        self.reminder_working_days = reminder_working_days
        self.tick_seconds = tick_seconds
        self.progress = progress
        self.name = name or worker_name()
        self.beside = beside  # more work each tick, on the same day (the delivery watch)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- one tick

    def tick(self) -> TickReport:
        """Retry unfinished firings, then fire every timer due today; report what happened."""
        today = berlin_date(self.clock.now())
        report = TickReport(today)
        self._run_beside(today, report)
        head = self.store.recorder.max_notification_id() or 0
        for timer in self._unfinished():
            report.retried += 1
            self._act(timer, today, report)
        if self._view_position() < head:
            report.view_behind = True  # the next tick looks again
            return report
        for kind in self.kinds:
            latest = kind.fires.latest_due(today, self.reminder_working_days)
            self._fire_kind(kind, latest.isoformat(), today, report)
        return report

    def _run_beside(self, today: date, report: TickReport) -> None:
        """The work beside the timers; its failure is logged and never holds them up."""
        if self.beside is None:
            return
        try:
            report.beside = self.beside(today)
        except Exception as error:
            log.warning("work beside the timers failed", error=type(error).__name__)

    def _view_position(self) -> int:
        tracked = f"SELECT position FROM {TRACKING} WHERE name = ?"  # noqa: S608
        rows = self.views.query(tracked, (self.view.key,))
        return int(rows[0][0]) if rows else 0

    def _fire_kind(self, kind: TimerKind, latest: str, today: date, report: TickReport) -> None:
        passed: set[FiringKey] = set()  # not yet due by the case's own word: next tick
        while True:
            page = [t for t in self._select(kind, latest, len(passed)) if t.key not in passed]
            for timer in page:
                if self._claim(kind, timer, today) and not self._act(timer, today, report):
                    passed.add(timer.key)
                    report.not_yet += 1
            if not page:
                return

    def _select(self, kind: TimerKind, latest: str, skip: int) -> list[DueTimer]:
        table = self.view.table
        rows = self.views.query(
            f"SELECT t.case_id, t.due_on, t.position, t.tenant, t.service, t.assignee "  # noqa: S608
            f"FROM {table} t "
            "WHERE t.kind = ? AND t.due_on IS NOT NULL AND t.due_on <= ? AND NOT EXISTS ("
            f"SELECT 1 FROM {FIRINGS} f WHERE f.case_id = t.case_id AND f.kind = t.kind "
            "AND f.due_on = t.due_on AND f.raised_at = t.position) "
            "ORDER BY t.due_on, t.case_id LIMIT ?",
            (kind.name, latest, PAGE + skip),
        )
        return [
            DueTimer(FiringKey(r[0], kind.name, r[1], int(r[2])), r[3], r[4], r[5]) for r in rows
        ]

    def _unfinished(self) -> list[DueTimer]:
        rows = self.views.query(
            f"SELECT case_id, kind, due_on, raised_at, tenant, service FROM {FIRINGS} "  # noqa: S608
            "WHERE finished_at IS NULL ORDER BY claimed_at, case_id"
        )
        return [DueTimer(FiringKey(r[0], r[1], r[2], int(r[3])), r[4], r[5], None) for r in rows]

    # ------------------------------------------------------------------ claim

    def _claim(self, kind: TimerKind, timer: DueTimer, today: date) -> bool:
        """Insert the firing's key; True if this insert added it (this worker fires)."""
        notice = kind.action if isinstance(kind.action, Notice) else None
        addressees = self._addressees(notice.addressee, timer) if notice else None
        now = now_text()
        key = timer.key
        with self.views.transaction() as tx:
            added = tx.execute(
                f"INSERT INTO {FIRINGS} (case_id, kind, due_on, raised_at, tenant, service, "  # noqa: S608
                "action, "
                "addressees, fired_on, claimed_at, claimed_by, attempts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) "
                "ON CONFLICT (case_id, kind, due_on, raised_at) DO NOTHING",
                (
                    key.case_id,
                    key.kind,
                    key.due_on,
                    key.raised_at,
                    timer.tenant,
                    timer.service,
                    "notice" if notice else "command",
                    json.dumps(addressees) if addressees is not None else None,
                    today.isoformat(),
                    now,
                    self.name,
                ),
            )
        if added != 1:
            return False
        self._report("claimed", key)
        return True

    def _addressees(self, addressee: Addressee, timer: DueTimer) -> list[str]:
        """Whom a notice is for: staff ids, or ``team:`` / ``supervisors:`` of a team."""
        teams = [
            t.id
            for t in (self.teams.teams_of(timer.tenant) if self.teams else ())
            if t.handles(timer.service)
        ]
        if addressee is Addressee.ASSIGNEE:
            return [timer.assignee] if timer.assignee else [f"team:{t}" for t in teams]
        return [f"supervisors:{t}" for t in teams] or [f"supervisors:{timer.tenant}"]

    # -------------------------------------------------------------------- act

    def _act(self, timer: DueTimer, today: date, report: TickReport) -> bool:
        """Act on a claimed firing; one that fails does not hold up the others.

        An unexpected error is recorded as an attempt and taken up again by later ticks;
        after ``MAX_ATTEMPTS`` the firing is finished as ``failed`` (its error in ``detail``)
        for an operator to look at (``vorgang timers firings``). An error recording the
        attempt (the database is gone) ends the tick.
        """
        try:
            return self._run(timer, today, report)
        except Exception as error:
            detail = f"{type(error).__name__}: {str(error)[:400]}"
            log.warning("timer firing failed", kind=timer.key.kind, error=type(error).__name__)
            if self._attempted(timer.key, detail) >= MAX_ATTEMPTS:
                self._finish(timer.key, FAILED, detail)
                report.fired.append((timer.key, FAILED))
            return True

    def _run(self, timer: DueTimer, today: date, report: TickReport) -> bool:
        """Run a claimed firing's command and record its outcome; False: not yet (released)."""
        key = timer.key
        try:
            kind = self.kinds.named(key.kind)
        except KeyError:
            self._finish(key, REFUSED, f"no timer kind named {key.kind!r} is registered")
            return True
        action = kind.action
        try:
            case: object = self.store.repository.get(UUID(key.case_id))
        except AggregateNotFoundError:
            self._finish(key, CASE_GONE, None)
            return True
        if not isinstance(case, Case):
            self._finish(key, CASE_GONE, f"not a case: {type(case).__name__}")
            return True
        if isinstance(action, Notice):
            self._publish(key, action, case)
            self._report("acted", key)
            self._finish(key, NOTICED, None)
            report.fired.append((key, NOTICED))
            return True
        readiness = action.ready(case, today)
        if readiness is Readiness.NOT_YET:
            self._release(key)
            return False
        if readiness is Readiness.DONE:
            self._finish(key, NOTHING_TO_DO, f"case at version {case.version}: {case.status}")
            report.fired.append((key, NOTHING_TO_DO))
            return True
        try:
            result = self.commands.handle(
                case.id, action.step(), scheduler_actor(case.tenant), case.version
            )
        except (VersionMismatch, ConcurrentUpdate) as error:
            # Someone saved the case meanwhile: ask it again on the next tick.
            self._attempted(key, f"{type(error).__name__}: {error}")
            return True
        except DomainError as error:
            self._finish(key, REFUSED, f"{type(error).__name__}: {error}"[:500])
            report.fired.append((key, REFUSED))
            return True
        self._report("acted", key)
        self._finish(key, DONE, f"case at version {result.version}")
        report.fired.append((key, DONE))
        return True

    def _publish(self, key: FiringKey, notice: Notice, case: Case) -> None:
        """Save the notice as an aggregate of its own, once: the feed publishes it.

        Its id is derived from the firing's key, so a retry after a crash that came after
        the save finds it stored (the save conflicts) and saves nothing more. The case is
        only read (its version is named in the notice), never saved.
        """
        rows = self.views.query(
            f"SELECT tenant, service, addressees, fired_on FROM {FIRINGS} "  # noqa: S608
            "WHERE case_id = ? AND kind = ? AND due_on = ? AND raised_at = ?",
            (key.case_id, key.kind, key.due_on, key.raised_at),
        )
        tenant, service, addressees, fired_on = rows[0]
        sent = TimerNotice.send(
            case_id=case.id,
            case_version=case.version,
            tenant=tenant,
            service=service,
            kind=key.kind,
            sort=(
                NoticeSort.ESCALATION
                if notice.addressee is Addressee.SUPERVISORS
                else NoticeSort.REMINDER
            ),
            due_on=date.fromisoformat(key.due_on),
            raised_at=key.raised_at,
            fired_on=date.fromisoformat(fired_on),
            addressees=json.loads(addressees) if addressees else [],
            actor=scheduler_actor(tenant),
            at=self.clock.now(),
        )
        try:
            self.store.save(sent)
        except IntegrityError:
            log.info("timer notice stored already", kind=key.kind)  # saved before a crash

    def _finish(self, key: FiringKey, outcome: str, detail: str | None) -> None:
        with self.views.transaction() as tx:
            self._update(
                tx, key, "finished_at = ?, outcome = ?, detail = ?", (now_text(), outcome, detail)
            )
        self._report("recorded", key)

    def _attempted(self, key: FiringKey, detail: str) -> int:
        """Count one more attempt; the attempts so far."""
        with self.views.transaction() as tx:
            self._update(tx, key, "attempts = attempts + 1, detail = ?", (detail,))
            rows = tx.query(
                f"SELECT attempts FROM {FIRINGS} WHERE case_id = ? AND kind = ? "  # noqa: S608
                "AND due_on = ? AND raised_at = ?",
                (key.case_id, key.kind, key.due_on, key.raised_at),
            )
        return int(rows[0][0]) if rows else 0

    def _release(self, key: FiringKey) -> None:
        """The case names a later day than the view: the claim goes, a later tick claims."""
        with self.views.transaction() as tx:
            tx.execute(
                f"DELETE FROM {FIRINGS} WHERE case_id = ? AND kind = ? AND due_on = ? "  # noqa: S608
                "AND raised_at = ? AND finished_at IS NULL",
                (key.case_id, key.kind, key.due_on, key.raised_at),
            )

    @staticmethod
    def _update(
        tx: ViewTransaction, key: FiringKey, assignments: str, values: Sequence[Any]
    ) -> None:
        tx.execute(
            f"UPDATE {FIRINGS} SET {assignments} "  # noqa: S608
            "WHERE case_id = ? AND kind = ? AND due_on = ? AND raised_at = ? "
            "AND finished_at IS NULL",
            (*values, key.case_id, key.kind, key.due_on, key.raised_at),
        )

    def _report(self, point: str, key: FiringKey) -> None:
        if self.progress is not None:
            self.progress(point, key)

    # ------------------------------------------------------------ background

    def start(self) -> None:
        """Tick in a daemon thread until ``stop``."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="scheduler", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to stop, without waiting."""
        self._stop.set()
        self._wake.set()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def wake(self) -> None:
        """Tick now rather than at the next interval (the clock was moved, in a demo)."""
        self._wake.set()

    def run(self) -> None:
        """Tick, wait, repeat; never give up (errors are logged and retried with backoff)."""
        backoff = 1.0
        while not self._stop.is_set():
            try:
                report = self.tick()
                if report.fired:
                    log.info(
                        "timers fired",
                        day=report.today.isoformat(),
                        fired=len(report.fired),
                        retried=report.retried,
                    )
                backoff = 1.0
                # A view behind the log is looked at again soon, not at the next interval.
                pause = min(self.tick_seconds, VIEW_BEHIND_SECONDS) if report.view_behind else None
                self._wake.wait(pause or self.tick_seconds)
                self._wake.clear()
            except Exception as error:  # the scheduler must survive anything and retry
                log.warning(
                    "scheduler tick failed; retrying",
                    error=type(error).__name__,
                    detail=str(error).splitlines()[0][:200] if str(error) else "",
                    retry_in=backoff,
                )
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


def firings(views: ViewDatabase) -> list[dict[str, Any]]:
    """Every firing recorded, in key order (operators, tests)."""
    columns = (
        "case_id",
        "kind",
        "due_on",
        "raised_at",
        "tenant",
        "service",
        "action",
        "addressees",
        "fired_on",
        "claimed_by",
        "attempts",
        "finished_at",
        "outcome",
        "detail",
    )
    rows = views.query(
        f"SELECT {', '.join(columns)} FROM {FIRINGS} ORDER BY case_id, kind, due_on, raised_at"  # noqa: S608
    )
    found = [dict(zip(columns, row, strict=True)) for row in rows]
    for row in found:
        row["addressees"] = json.loads(row["addressees"]) if row["addressees"] else None
    return found
