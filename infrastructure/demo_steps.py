"""Steps that demo cases of every service share: review, ask, refuse and close, withdraw, wait."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Protocol
from uuid import UUID

from application.cases import CaseService
from application.clock import FixedClock
from domain.actor import Actor
from domain.decision import DecisionOutcome
from domain.working_days import berlin_date


class Office(Protocol):
    """A town's office as the demo needs it: who works the cases."""

    @property
    def clerk(self) -> Actor:
        """The clerk who works the demo cases."""
        ...


Step = Callable[[CaseService, UUID, Office, FixedClock], None]


def review(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """The next day a clerk claims the case and confirms it complete."""
    clock.advance(timedelta(days=1))
    c.claim(case_id, actor=town.clerk)
    c.confirm_complete(case_id, actor=town.clerk)


def ask(question: str) -> Step:
    """Review, then ask the applicant for missing documents."""

    def step(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
        review(c, case_id, town, clock)
        c.request_information(
            case_id,
            actor=town.clerk,
            questions=[question],
            reply_by=berlin_date(clock.now()) + timedelta(days=14),
            missing_documents=True,
        )

    return step


def refused_and_closed(justification: str, *, legal_basis: str, remedy: str) -> Step:
    """Review, refuse, notify; the refusal becomes final unopposed and the file is closed."""

    def step(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
        review(c, case_id, town, clock)
        c.decide(
            case_id,
            actor=town.clerk,
            outcome=DecisionOutcome.REJECTED,
            justification=justification,
            legal_basis=legal_basis,
            legal_remedy_notice=remedy,
        )
        c.notify(case_id, actor=town.clerk)
        clock.advance(timedelta(days=40))
        c.mark_final(case_id, actor=town.clerk)
        c.close(case_id, actor=town.clerk)

    return step


def withdrawn(reason: str) -> Step:
    """A written withdrawal, recorded by the clerk."""

    def step(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
        clock.advance(timedelta(days=1))
        c.withdraw(case_id, actor=town.clerk, reason=reason)

    return step


def waiting(c: CaseService, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Submitted and waiting in the queue."""
