"""Steps that demo cases of every service share: review, ask, notify, refuse, finality, withdraw.

Business time is the demo's ``FixedClock``: a step moves it forward (``advance``, or to a day
the case's own dates set, ``move_to``), never back, so every event lies after the previous one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Final, Literal, Protocol
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.actor import Actor
from domain.case import Case
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
    Notify,
    OptionalReason,
    RequestInformation,
)
from domain.commands import Command
from domain.working_days import BERLIN, berlin_date

# How a decision reaches its addressee, as the API names it (domain/rules/notification.py).
DeliveryName = Literal["counter", "letter", "electronic", "portal", "formal_service"]
COUNTER: Final = "counter"
LETTER: Final = "letter"
ELECTRONIC: Final = "electronic"
PORTAL: Final = "portal"
FORMAL_SERVICE: Final = "formal_service"
PORTAL_RETRIEVED_AFTER = timedelta(days=2)  # the applicant opens the portal two days later
# Zustellung by the post with a certificate (Postzustellungsurkunde, § 3 HVwZG): served the
# day after posting; the certificate comes back to the office two days after that.
SERVED_AFTER = timedelta(days=1)
CERTIFICATE_BACK_AFTER = timedelta(days=3)


class Office(Protocol):
    """A town's office as the demo needs it: who works the cases."""

    @property
    def clerk(self) -> Actor:
        """The clerk who works the demo cases."""
        ...


# A demo scenario: carries a submitted case to its state, each step through the pipeline.
Step = Callable[[CommandHandler, UUID, Office, FixedClock], None]


def today(clock: FixedClock) -> date:
    """The demo's business day in Germany."""
    return berlin_date(clock.now())


def move_to(clock: FixedClock, day: date, hour: int = 9) -> None:
    """Business time moves on to ``day`` (at ``hour``), unless it is already later."""
    clock.set(max(clock.now(), datetime.combine(day, time(hour), tzinfo=BERLIN)))


def case_of(h: CommandHandler, case_id: UUID) -> Case:
    """The case as stored, with its legal track (objections, finality)."""
    case: object = h.cases.store.repository.get(case_id)
    if not isinstance(case, Case):
        raise TypeError(f"{case_id} is not a case")
    return case


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
            reply_by=today(clock) + timedelta(days=14),
            missing_documents=True,
        )
        h.handle(case_id, REQUEST_INFORMATION(questions), town.clerk, None)

    return step


def notify(
    h: CommandHandler,
    case_id: UUID,
    town: Office,
    clock: FixedClock,
    delivery: DeliveryName = LETTER,
) -> None:
    """The decision goes out as ``delivery`` and its Bekanntgabe is recorded (§ 41 HVwVfG).

    Handed over, posted or sent: recorded the same day (the day of notification follows by
    law). Made available in the portal: recorded when the applicant retrieves it. Served
    formally: recorded when the certificate of service comes back, with its day of service.
    """
    sent_on = today(clock)
    if delivery == PORTAL:
        clock.advance(PORTAL_RETRIEVED_AFTER)
        body = Notify(delivery=delivery, sent_on=sent_on, received_on=today(clock))
    elif delivery == FORMAL_SERVICE:
        clock.advance(CERTIFICATE_BACK_AFTER)
        body = Notify(delivery=delivery, sent_on=sent_on, received_on=sent_on + SERVED_AFTER)
    else:
        body = Notify(delivery=delivery, sent_on=sent_on)
    h.handle(case_id, NOTIFY(body), town.clerk, None)


def mark_final(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """On the first day the decision is unappealable the clerk marks it final (not before)."""
    first = case_of(h, case_id).final_from()
    if first is None:
        raise ValueError(f"case {case_id}: an objection is open, the decision cannot be final")
    move_to(clock, first)
    h.handle(case_id, MARK_FINAL(), town.clerk, None)


def close_when_final(
    h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock, reason: str
) -> None:
    """The file is closed once the decision is final (marked so first if it is not yet)."""
    if case_of(h, case_id).final_on is None:
        mark_final(h, case_id, town, clock)
    h.handle(case_id, CLOSE(OptionalReason(reason=reason)), town.clerk, None)


def refused_and_closed(
    justification: str, *, legal_basis: str, discretion: str | None = None
) -> Step:
    """Review, refuse, send by letter; the refusal becomes final unopposed, the file is closed.

    ``discretion``: the considerations, where the service's legal basis gives discretion.
    """

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        review(h, case_id, town, clock)
        refusal = Decide(
            outcome="rejected",
            justification=justification,
            legal_basis=legal_basis,
            discretion=discretion,
        )
        h.handle(case_id, DECIDE(refusal), town.clerk, None)
        notify(h, case_id, town, clock, LETTER)
        close_when_final(h, case_id, town, clock, "Ablehnung bestandskräftig.")

    return step


def then(before: Step, wait: timedelta, command: Callable[[date], Command]) -> Step:
    """As far as ``before``; after ``wait`` the clerk takes one more step (made for that day)."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        before(h, case_id, town, clock)
        clock.advance(wait)
        h.handle(case_id, command(today(clock)), town.clerk, None)

    return step


def withdrawn(reason: str) -> Step:
    """A written withdrawal, recorded by the clerk."""

    def step(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
        clock.advance(timedelta(days=1))
        h.handle(case_id, WITHDRAW(OptionalReason(reason=reason)), town.clerk, None)

    return step


def waiting(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    """Submitted and waiting in the queue."""
