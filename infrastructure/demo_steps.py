"""Steps that demo cases of every service share: review, ask, refuse and close, withdraw, wait."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Protocol
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.actor import Actor
from domain.case_steps import (
    CLAIM,
    CLOSE,
    CONFIRM_COMPLETE,
    DECIDE,
    MARK_FINAL,
    NOTIFY,
    REQUEST_INFORMATION,
    WITHDRAW,
    Decide,
    Reason,
    RequestInformation,
)
from domain.commands import Command
from domain.working_days import berlin_date


class Office(Protocol):
    """A town's office as the demo needs it: who works the cases."""

    @property
    def clerk(self) -> Actor:
        """The clerk who works the demo cases."""
        ...


# A demo scenario: carries a submitted case to its state, each step through the pipeline.
Step = Callable[[CommandHandler, UUID, Office, FixedClock], None]


def review(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """The next day a clerk claims the case and confirms it complete."""
    clock.advance(timedelta(days=1))
    h.handle(case_id, CLAIM(), town.clerk, None)
    h.handle(case_id, CONFIRM_COMPLETE(), town.clerk, None)


def ask(question: str) -> Step:
    """Review, then ask the applicant for missing documents."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        review(h, case_id, town, clock)
        questions = RequestInformation(
            questions=[question],
            reply_by=berlin_date(clock.now()) + timedelta(days=14),
            missing_documents=True,
        )
        h.handle(case_id, REQUEST_INFORMATION(questions), town.clerk, None)

    return step


def refused_and_closed(justification: str, *, legal_basis: str, remedy: str) -> Step:
    """Review, refuse, notify; the refusal becomes final unopposed and the file is closed."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        review(h, case_id, town, clock)
        refusal = Decide(
            outcome="rejected",
            justification=justification,
            legal_basis=legal_basis,
            legal_remedy_notice=remedy,
        )
        h.handle(case_id, DECIDE(refusal), town.clerk, None)
        h.handle(case_id, NOTIFY(), town.clerk, None)
        clock.advance(timedelta(days=40))
        h.handle(case_id, MARK_FINAL(), town.clerk, None)
        h.handle(case_id, CLOSE(), town.clerk, None)

    return step


def then(before: Step, wait: timedelta, command: Callable[[date], Command]) -> Step:
    """As far as ``before``; after ``wait`` the clerk takes one more step (made for that day)."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        before(h, case_id, town, clock)
        clock.advance(wait)
        h.handle(case_id, command(berlin_date(clock.now())), town.clerk, None)

    return step


def withdrawn(reason: str) -> Step:
    """A written withdrawal, recorded by the clerk."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        clock.advance(timedelta(days=1))
        h.handle(case_id, WITHDRAW(Reason(reason=reason)), town.clerk, None)

    return step


def waiting(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Submitted and waiting in the queue."""
