"""The views take a case's status and holder from the events' types, not from a table."""

from __future__ import annotations

from datetime import datetime, timedelta

from eventsourcing.domain import event

from domain.actor import ActorRecord
from domain.case import Case, ChangesStatus
from projections.case_events import holder_after, status_after
from tests.domain.case_fixtures import CLERK, START, SUPERVISOR, in_review
from tests.infrastructure.test_old_events_load import four_eyes_cases


class StallRequest(Case):
    """A case type the views have never heard of, with a status of its own."""

    def allot(self, *, at: datetime) -> None:
        """Allot a market stall."""
        self._allotted(actor=CLERK.recorded_in(self.id), at=at, status="stall_allotted")

    class StallAllotted(ChangesStatus):
        """A stall was allotted."""

        actor: ActorRecord
        at: datetime

    @event(StallAllotted)
    def _allotted(self, *, actor: ActorRecord, at: datetime, status: str) -> None:
        self.status = status


def test_the_views_follow_the_status_every_event_records() -> None:
    for case in four_eyes_cases():
        status = None
        for recorded in case.collect_events():
            status = status_after(recorded, status)
        assert status == case.status


def test_a_new_service_status_reaches_the_views_without_a_projection_change() -> None:
    case = in_review(StallRequest)
    assert isinstance(case, StallRequest)
    case.allot(at=START + timedelta(days=1))
    assert status_after(case.collect_events()[-1], "in_review") == "stall_allotted"


def test_the_holder_follows_claims_assignments_and_releases() -> None:
    case = in_review()
    case.assign(
        actor=SUPERVISOR, at=START + timedelta(hours=3), assignee=SUPERVISOR, reason="Urlaub"
    )
    case.release(actor=SUPERVISOR, at=START + timedelta(hours=4))
    holder = None
    seen = []
    for recorded in case.collect_events():
        holder = holder_after(recorded, holder)
        seen.append(holder)
    assert seen == [None, None, CLERK.id, SUPERVISOR.id, None]
