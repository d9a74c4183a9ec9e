"""A reminder or escalation the scheduler sent, as an aggregate of its own in the one log.

Notices are never case events (they must not move a case's version or ETag under a
clerk's feet), yet integrators read them on the feed, which follows the one log. So each
notice is a small aggregate of its own: created once, by the scheduler, and never changed.

Its id is derived from the firing's key (case, kind, due date, log position of the event
that set the date; ``notice_id``), so a scheduler that crashed after saving a notice and
retries the firing finds it stored already: the save conflicts and nothing is duplicated.

It carries no personal data: the case id, the tenant, the service, the timer's kind and
dates, and whom it was addressed to as staff ids or team ids (``team:<id>``,
``supervisors:<id>``) — never a name.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor

NOTICE_NAMESPACE: Final = uuid5(NAMESPACE_URL, "https://vorgang.example/timer-notices")


class NoticeSort(StrEnum):
    """Whom a notice went to: the clerk holding the case, or the supervisors."""

    REMINDER = "reminder"
    ESCALATION = "escalation"


def notice_id(case_id: UUID | str, kind: str, due_on: date | str, raised_at: int) -> UUID:
    """The notice's id: the same for every attempt to fire the same timer."""
    due = due_on.isoformat() if isinstance(due_on, date) else due_on
    return uuid5(NOTICE_NAMESPACE, f"{case_id}/{kind}/{due}/{raised_at}")


class TimerNotice(Aggregate):
    """One reminder or escalation sent for a case's timer (never changed afterwards)."""

    @classmethod
    def send(
        cls,
        *,
        case_id: UUID,
        case_version: int,
        tenant: str,
        service: str,
        kind: str,
        sort: NoticeSort,
        due_on: date,
        raised_at: int,
        fired_on: date,
        addressees: list[str],
        actor: Actor,
        at: datetime,
    ) -> TimerNotice:
        """The notice for this firing (its id derived from the firing's key)."""
        return cls(
            id=notice_id(case_id, kind, due_on, raised_at),
            case_id=case_id,
            case_version=case_version,
            tenant=tenant,
            service=service,
            kind=kind,
            sort=sort.value,
            due_on=due_on,
            raised_at=raised_at,
            fired_on=fired_on,
            addressees=list(addressees),
            actor_id=actor.id,  # the system: no display name is stored
            at=at,
        )

    class Sent(Aggregate.Created):
        """A reminder or escalation was sent for a case's timer."""

        case_id: UUID
        case_version: int  # the case's version when it was sent: a notice never moves it
        tenant: str
        service: str
        kind: str
        sort: str
        due_on: date
        raised_at: int
        fired_on: date
        addressees: list[str]
        actor_id: str
        at: datetime

    @event(Sent)
    def __init__(
        self,
        *,
        id: UUID,
        case_id: UUID,
        case_version: int,
        tenant: str,
        service: str,
        kind: str,
        sort: str,
        due_on: date,
        raised_at: int,
        fired_on: date,
        addressees: list[str],
        actor_id: str,
        at: datetime,
    ) -> None:
        self.case_id = case_id
        self.case_version = case_version
        self.tenant = tenant
        self.service = service
        self.kind = kind
        self.sort = NoticeSort(sort)  # stored as plain text
        self.due_on = due_on
        self.raised_at = raised_at
        self.fired_on = fired_on
        self.addressees = list(addressees)
        self.actor_id = actor_id
        self.at = at
