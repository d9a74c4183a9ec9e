"""A resident parking permit expires the day after its last day (§ 43 (2) HVwVfG); a renewal
moves that day, a permit renewed after it lapsed can expire again; a returned permit does
not expire."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from application.store import VorgangStore
from domain.case_timers import expiry_ready
from domain.errors import DomainError
from domain.timers import Readiness
from tests.application.test_resident_parking_decisions_after_issue import issued, permit
from tests.conftest import CLERK
from tests.steps import take

LAST_DAY = date(2027, 3, 1)  # issued on Monday 2 March 2026 for a year


def test_a_renewal_moves_the_expiry(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    assert permit(store, case_id).expiry_from() == LAST_DAY + timedelta(days=1)
    clock.advance(timedelta(days=330))
    take(parking, case_id, "renew", actor=CLERK, months=12)
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="letter")
    case = permit(store, case_id)
    assert case.expiry_from() == date(2028, 3, 2)
    assert expiry_ready(case, LAST_DAY + timedelta(days=1)) is Readiness.NOT_YET


def test_a_permit_renewed_after_it_lapsed_expires_again(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    clock.advance(timedelta(days=400))
    take(cases, case_id, "record_expiry", actor=CLERK)
    assert permit(store, case_id).expired_on == LAST_DAY + timedelta(days=1)
    assert "record_expiry" not in permit(store, case_id).allowed_commands()
    take(parking, case_id, "renew", actor=CLERK, months=12)
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="letter")
    case = permit(store, case_id)
    assert case.period is not None
    assert not case.has_expired()
    assert case.expiry_from() == case.period[1] + timedelta(days=1)


def test_a_returned_permit_does_not_expire(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    clock.advance(timedelta(days=10))
    take(parking, case_id, "return_permit", actor=CLERK)
    assert permit(store, case_id).expiry_from() is None
    clock.advance(timedelta(days=400))
    with pytest.raises(DomainError):
        take(cases, case_id, "record_expiry", actor=CLERK)
