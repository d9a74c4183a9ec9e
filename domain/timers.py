"""Timer kinds: what falls due when, and what happens then (docs/architecture.md, scheduler).

A timer kind names a date the events of a case record — the processing clock's due date,
an information request's reply deadline, the end of the objection period, a decision's
expiry — and the action taken once that date is reached. The due date is worked out from
events only (``rules``: event class → how the event moves the date), so the read model of
due timers (``projections/due_timers.py``) follows the log like any other view, and the
scheduler (``infrastructure/scheduler.py``) fires each timer, keyed by case, kind and due
date, exactly once.

An action is either a case command (``RunCommand``: a step run through the one command
pipeline as the system, for steps that change the case's legal state, e.g. finality) or a
notice (``Notice``: a reminder or an escalation, recorded outside the case aggregate, so it
never moves a case's version or ETag under a clerk's feet).

Services register their kinds here (``TIMER_KINDS.register``), as the base case does in
``domain/case_timers.py``. Everything here is pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Final

from domain.actor import Actor, Role
from domain.commands import Step
from domain.working_days import add_working_days

SCHEDULER_ID: Final = "vorgang-scheduler"
SCHEDULER_NAME: Final = "Fristenüberwachung"  # how the system is named where it acts


def scheduler_actor(tenant: str) -> Actor:
    """The system as it runs a timer's command on a case of ``tenant``.

    ``Role.SYSTEM`` acts for every tenant (``check_acts_for``) and is never accepted over
    HTTP (``api/auth.py``), so nobody can act as the scheduler from outside.
    """
    return Actor(SCHEDULER_ID, SCHEDULER_NAME, Role.SYSTEM, tenant)


@dataclass(frozen=True, slots=True)
class Due:
    """Where a timer of one case stands: its due date (None: nothing due) and a date kept.

    ``kept`` is a date the kind remembers for later events (the end of the objection
    period, while an objection holds finality back); it is never fired.
    """

    on: date | None = None
    kept: date | None = None


NOTHING_DUE: Final = Due()

# How an event moves a timer: the event and where the timer stood → where it stands now.
Rule = Callable[[Any, Due], Due]


class Fires(StrEnum):
    """When a timer fires, relative to its due date."""

    ON_THE_DAY = "on_the_day"  # on the due date (the first day finality holds)
    DAY_AFTER = "day_after"  # once the due date has passed (overdue, a deadline missed)
    BEFORE_BY_REMINDER_LEAD = "before_by_reminder_lead"  # N working days ahead (a setting)

    def latest_due(self, today: date, reminder_working_days: int) -> date:
        """The latest due date a timer of this sort fires for on ``today``."""
        if self is Fires.ON_THE_DAY:
            return today
        if self is Fires.DAY_AFTER:
            return today - timedelta(days=1)
        # No more than N working days lie between today and the due date.
        return add_working_days(today, reminder_working_days)


class Addressee(StrEnum):
    """Whom a notice is for."""

    ASSIGNEE = "assignee"  # the clerk holding the case (the service's teams if nobody does)
    SUPERVISORS = "supervisors"  # the supervisors of the teams handling the service


class Readiness(StrEnum):
    """What a case says about a timer's command when the scheduler is about to run it."""

    DUE = "due"  # run it now
    DONE = "done"  # nothing to do (already done, or the case moved on): record and finish
    NOT_YET = "not_yet"  # the case names a later day: try again on a later tick


@dataclass(frozen=True, slots=True)
class RunCommand:
    """A case command run by the scheduler as the system, through the command pipeline.

    ``ready`` asks the case, freshly loaded, whether the command is still to be run on
    ``today``: so a firing that is retried after a crash (claimed, maybe even saved, not yet
    recorded as finished) never runs the command twice.
    """

    step: Step
    ready: Callable[[Any, date], Readiness]


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice recorded outside the case aggregate: a reminder or an escalation."""

    addressee: Addressee


Action = RunCommand | Notice


@dataclass(frozen=True, kw_only=True)
class TimerKind:
    """One kind of timer: its name, when it fires, what it does, how events move its date."""

    name: str  # stable: the firings of the past are keyed by it
    summary: str
    fires: Fires
    action: Action
    rules: dict[type[Any], Rule] = field(default_factory=dict)

    def on(self, *event_classes: type[Any]) -> Callable[[Rule], Rule]:
        """Register ``rule`` for events of these classes (and their subclasses)."""

        def register(rule: Rule) -> Rule:
            for klass in event_classes:
                self.rules[klass] = rule
            return rule

        return register

    def ends_on(self, *event_classes: type[Any]) -> None:
        """Events of these classes leave nothing due (the case moved on)."""
        for klass in event_classes:
            self.rules[klass] = _nothing_due

    def rule_for(self, event_class: type[Any]) -> Rule | None:
        """The rule for an event class: its own, or its nearest base class's."""
        for klass in event_class.__mro__:
            rule = self.rules.get(klass)
            if rule is not None:
                return rule
        return None

    def due_after(self, event: Any, due: Due) -> Due:
        """Where the timer stands after ``event``."""
        rule = self.rule_for(type(event))
        return due if rule is None else rule(event, due)


def _nothing_due(event: Any, due: Due) -> Due:
    return Due(None, due.kept)


class TimerKinds:
    """The registry of timer kinds, by name."""

    def __init__(self) -> None:
        self._kinds: dict[str, TimerKind] = {}

    def register(self, kind: TimerKind) -> TimerKind:
        """Add a kind; a second kind of the same name is a programming error."""
        if kind.name in self._kinds and self._kinds[kind.name] is not kind:
            raise ValueError(f"a timer kind named {kind.name!r} is registered already")
        self._kinds[kind.name] = kind
        return kind

    def __iter__(self) -> Iterator[TimerKind]:
        return iter(self._kinds.values())

    def __len__(self) -> int:
        return len(self._kinds)

    def named(self, name: str) -> TimerKind:
        """The kind of this name (``KeyError`` if none)."""
        return self._kinds[name]

    def names(self) -> list[str]:
        """The registered names, in order of registration."""
        return list(self._kinds)


# Every deployment's kinds: the base case's (domain/case_timers.py) and the services'.
TIMER_KINDS: Final = TimerKinds()
