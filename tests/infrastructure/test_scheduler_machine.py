"""A hypothesis state machine over the scheduler: clock advances, information requests and
answers, period extensions, decisions, objections, ticks, restarts and schedulers killed
mid-firing; cases of a service with deemed approval (§ 42a HVwVfG) beside the others.

Invariants after every step: no case was made final while it was final (only an
objection in time reopens a final decision); every timer fired on or after
the day its kind fires for its due date, never before. After every tick that ran to its
end: nothing is left undone — every case whose decision may become final today is final,
and every timer of the view due today has fired, every § 42a period that ended without a
decision is a deemed approval. Deemed approval: never after a decision, never twice, never
before the period ended, and the clock never runs again afterwards.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from application.clock import FixedClock
from application.errors import ApplicationError
from domain.case import Case
from domain.case_timers import PROCESSING_REMINDER
from domain.errors import DomainError
from domain.timers import TIMER_KINDS, Fires
from domain.working_days import berlin_date, working_days_between
from infrastructure.scheduler import FiringKey, Scheduler, firings
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from tests.conftest import CLERK
from tests.infrastructure.deemed_approval_steps import statutory_case
from tests.projections.legal_track import decide, general_case, in_review, lodge_objection, notify
from tests.steps import take


class Killed(BaseException):
    """The scheduler's process died here (raised from a progress point)."""


class SchedulerMachine(RuleBasedStateMachine):
    """One database, one clock; schedulers come and go."""

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="scheduler-machine-"))
        self.clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
        url = f"sqlite:///{self.directory / 'vorgang.db'}"
        self.vorgang: Vorgang = build(Settings(database_url=url), clock=self.clock)
        self.scheduler = self.vorgang.scheduler
        self.restarts = 0

    def teardown(self) -> None:
        """Close the application and remove its database."""
        self.vorgang.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # ------------------------------------------------------------- helpers

    def today(self) -> date:
        return berlin_date(self.clock.now())

    def case(self, case_id: UUID) -> Case:
        found: Case = self.vorgang.store.repository.get(case_id)
        return found

    def attempt(self, case_id: UUID, name: str, **fields: object) -> None:
        """A step the case may refuse in its current state (the machine does not model it)."""
        try:
            take(self.vorgang.cases, case_id, name, actor=CLERK, **fields)
        except (DomainError, ApplicationError):
            return
        event(f"step {name}")

    def fresh_scheduler(self) -> Scheduler:
        self.restarts += 1
        return Scheduler(
            views=self.vorgang.views,
            commands=self.vorgang.commands,
            teams=self.vorgang.teams,
            clock=self.clock,
            name=f"worker-{self.restarts}",
        )

    # --------------------------------------------------------------- rules

    @initialize(target=cases)
    def first_case(self) -> UUID:
        return self.submit()

    @rule(target=cases)
    def submit(self) -> UUID:
        case_id = general_case(self.vorgang)
        in_review(self.vorgang, case_id)
        return case_id

    @rule(target=cases)
    def submit_with_deemed_approval(self) -> UUID:
        case_id = statutory_case(self.vorgang)
        assert self.case(case_id).clock.deemed_approval
        return case_id

    @rule(case_id=cases)
    def certify_deemed_approval(self, case_id: UUID) -> None:
        self.attempt(case_id, "certify_deemed_approval")

    @rule(case_id=cases, days=st.integers(1, 30), missing=st.booleans())
    def request_information(self, case_id: UUID, days: int, missing: bool) -> None:
        self.attempt(
            case_id,
            "request_information",
            questions=["Bitte Unterlagen nachreichen."],
            reply_by=self.today() + timedelta(days=days),
            missing_documents=missing,
        )

    @rule(case_id=cases)
    def provide_information(self, case_id: UUID) -> None:
        self.attempt(case_id, "provide_information", answer="Liegt bei.")

    @rule(case_id=cases, working_days=st.integers(1, 20))
    def extend_period(self, case_id: UUID, working_days: int) -> None:
        self.attempt(
            case_id, "extend_period", working_days=working_days, reason="Gutachten steht aus."
        )

    @rule(case_id=cases)
    def decide_and_notify(self, case_id: UUID) -> None:
        try:
            decide(self.vorgang, case_id)
            notify(self.vorgang, case_id)
        except (DomainError, ApplicationError):
            return
        event("step decide and notify")

    @rule(case_id=cases, days_ago=st.integers(0, 3))
    def lodge_objection(self, case_id: UUID, days_ago: int) -> None:
        received = self.today() - timedelta(days=days_ago)
        try:
            lodge_objection(self.vorgang, case_id, received_on=received)
        except (DomainError, ApplicationError):
            return
        event("step lodge_objection")

    @rule(case_id=cases)
    def withdraw_objection(self, case_id: UUID) -> None:
        self.attempt(case_id, "withdraw_objection")

    @rule(days=st.integers(0, 40), hours=st.integers(0, 23), then_tick=st.booleans())
    def advance(self, days: int, hours: int, then_tick: bool) -> None:
        self.clock.advance(timedelta(days=days, hours=hours))
        if then_tick:  # a worker's next tick after the day changed
            self.tick()

    @rule()
    def tick(self) -> None:
        self.vorgang.projections.catch_up()
        report = self.scheduler.tick()
        for key, outcome in report.fired:
            event(f"fired {key.kind}: {outcome}")  # shown by --hypothesis-show-statistics
        self.nothing_left_undone()

    @rule()
    def restart(self) -> None:
        self.scheduler = self.fresh_scheduler()

    @rule(point=st.sampled_from(["claimed", "acted"]), nth=st.integers(1, 3))
    def killed_mid_tick(self, point: str, nth: int) -> None:
        scheduler = self.fresh_scheduler()
        seen: list[FiringKey] = []

        def die(at: str, key: FiringKey) -> None:
            if at == point:
                seen.append(key)
                if len(seen) == nth:
                    raise Killed(at)

        scheduler.progress = die
        self.vorgang.projections.catch_up()
        with contextlib.suppress(Killed):
            scheduler.tick()
        self.scheduler = self.fresh_scheduler()  # the restart

    # ---------------------------------------------------------- invariants

    def nothing_left_undone(self) -> None:
        today = self.today()
        for row in firings(self.vorgang.views):
            assert row["finished_at"] is not None or row["outcome"] is None
        for case_id in self.case_ids():
            case = self.case(case_id)
            first = case.final_from()
            may_be_final = "mark_final" in case.allowed_commands() and first is not None
            assert not (may_be_final and first is not None and first <= today), (
                f"{case_id} may be final since {first}, today is {today}"
            )
        fired = {(f["case_id"], f["kind"], f["due_on"]) for f in firings(self.vorgang.views)}
        view = self.scheduler.view.table
        for kind in TIMER_KINDS:
            latest = kind.fires.latest_due(today, self.scheduler.reminder_working_days)
            rows = self.vorgang.views.query(
                f"SELECT case_id, due_on FROM {view} WHERE kind = ? AND due_on <= ?",  # noqa: S608
                (kind.name, latest.isoformat()),
            )
            for case_id, due_on in rows:
                assert (case_id, kind.name, due_on) in fired, (kind.name, due_on, today)
        for case_id in self.case_ids():
            first = self.case(case_id).deemed_approval_from()
            assert first is None or first > today, f"{case_id} deemed approved since {first}"

    def case_ids(self) -> list[UUID]:
        table = self.scheduler.view.cases_table
        rows = self.vorgang.views.query(f"SELECT DISTINCT case_id FROM {table}")  # noqa: S608
        return [UUID(r[0]) for r in rows]

    @invariant()
    def never_made_final_while_final(self) -> None:
        for case_id in self.case_ids():
            for recorded in self.vorgang.store.events.get(case_id):
                if isinstance(recorded, Case.BecameFinal):
                    before = self.vorgang.store.repository.get(
                        case_id, version=recorded.originator_version - 1
                    )
                    assert before.final_on is None, (case_id, recorded.originator_version)

    @invariant()
    def never_before_its_day(self) -> None:
        lead = self.scheduler.reminder_working_days
        for row in firings(self.vorgang.views):
            fired_on = date.fromisoformat(str(row["fired_on"]))
            due_on = date.fromisoformat(str(row["due_on"]))
            if row["kind"] == PROCESSING_REMINDER.name:  # at most ``lead`` working days ahead
                assert working_days_between(fired_on, due_on) <= lead, (fired_on, due_on)
            elif TIMER_KINDS.named(str(row["kind"])).fires is Fires.DAY_AFTER:
                assert fired_on > due_on  # overdue, deemed approval: the due date has passed
            else:
                assert fired_on >= due_on  # finality: on its first day

    @invariant()
    def deemed_approval_only_as_the_law_says(self) -> None:
        for case_id in self.case_ids():
            history = list(self.vorgang.store.events.get(case_id))
            deemed = [e for e in history if isinstance(e, Case.DeemedApproved)]
            assert len(deemed) <= 1, f"{case_id} deemed approved twice"
            if not deemed:
                continue
            (approval,) = deemed
            event("deemed approval recorded")
            before = self.vorgang.store.repository.get(
                case_id, version=approval.originator_version - 1
            )
            assert before.clock.deemed_approval
            assert before.decision is None
            assert before.pending_decision is None
            assert not any(isinstance(e, Case.Decided) for e in history), case_id
            assert approval.period_ended_on == before.clock.due_on
            assert berlin_date(approval.at) > approval.period_ended_on  # never before its end
            assert approval.took_effect_on == approval.period_ended_on + timedelta(days=1)
            now = self.case(case_id)
            assert now.clock == approval.clock, "the clock ran again after the deemed approval"
            assert not now.clock.is_running

    @invariant()
    def finality_only_on_or_after_its_first_day(self) -> None:
        for case_id in self.case_ids():
            for recorded in self.vorgang.store.events.get(case_id):
                if isinstance(recorded, Case.BecameFinal):
                    assert berlin_date(recorded.at) >= recorded.final_on


SchedulerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSchedulerMachine = SchedulerMachine.TestCase
