"""Any sequence of commands keeps a grave right application's invariants, with its grave.

The shared lifecycle comes from ``ServiceMachine``; the decision by the grave is the
service's own: it records what it found on the grave and decides in one step, so it is
taken here with the grave it changes. A grave of a random type and history (a right held by
another case or none, a burial whose rest period runs or ended) meets a random request.
Whatever happens: a refusal changes neither case nor grave; an approval changed the grave
as the request asked, with the fee of the tariff; the grave right never ends before the
last rest period in the grave; every decision replays.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from domain.actor import Actor
from domain.cemeteries import BurialKind, GraveAddress
from domain.decision import DecisionOutcome
from domain.errors import DomainError
from domain.lifecycle import CaseStatus
from domain.personal_data import PersonalData, Subjects
from domain.rules.cemetery import tariff
from domain.services.grave import Grave
from domain.services.grave_right import (
    SERVICE_ID,
    GraveRightApplication,
    GraveRightCase,
    Request,
)
from domain.working_days import berlin_date
from tests.domain.case_fixtures import CLERK, START
from tests.domain.service_machine import (
    HOLDER,
    NOW,
    SETTINGS,
    ServiceMachine,
    actors,
    at_kinds,
    usual_step,
)

GRAVES = {
    "wahlgrab": GraveAddress("usingen-friedhof", "A", "1", 4),
    "urnenwahlgrab": GraveAddress("usingen-friedhof", "D", "2", 9),
    "reihengrab": GraveAddress("usingen-friedhof", "B", "1", 1),
}
SUCCESSOR = {
    "name": "Paula Weber",
    "address": "Lindenweg 4",
    "relationship": "child",
    "declaration_on": "2026-02-01",
}


class GraveRightMachine(ServiceMachine):
    """One grave right application and the grave it names, any commands."""

    PROGRESS = (
        CaseStatus.SUBMITTED,
        CaseStatus.IN_REVIEW,
        CaseStatus.DECIDED,
        CaseStatus.NOTIFIED,
        CaseStatus.FINAL,
    )

    @property
    def application(self) -> GraveRightCase:
        assert isinstance(self.case, GraveRightCase)
        return self.case

    @initialize(
        request=st.sampled_from(list(Request)),
        grave_kind=st.sampled_from(list(GRAVES)),
        held_by_another=st.booleans(),
        burial_years_ago=st.sampled_from([None, 1, 10, 26, 40]),
        years=st.integers(min_value=1, max_value=30),
        head_start=st.lists(usual_step, max_size=12),
    )
    def submit(
        self,
        request: Request,
        grave_kind: str,
        held_by_another: bool,
        burial_years_ago: int | None,
        years: int,
        head_start: list[tuple[int, DecisionOutcome]],
    ) -> None:
        address = GRAVES[grave_kind]
        self.grave = Grave.open(tenant="usingen", address=address)
        if held_by_another and self.grave.grave_type.has_grave_right:
            other = uuid4()
            holder = PersonalData(other, Subjects.APPLICANT, "Hans Albrecht")
            self.grave.grant_right(case_id=other, holder=holder, actor=CLERK, at=START)
        if burial_years_ago is not None and not (
            self.grave.grave_type.has_grave_right and self.grave.right is None
        ):
            buried = START - timedelta(days=365 * burial_years_ago)
            with contextlib.suppress(DomainError):  # a burial the grave refuses: left out
                self.grave.record_burial(
                    case_id=uuid4(),
                    kind=BurialKind.COFFIN,
                    buried_on=berlin_date(buried),
                    age_at_death=80,
                    actor=CLERK,
                    at=START,
                )
        self.grave.collect_events()
        form: dict[str, Any] = {"request": request.value, "grave": vars_of(address)}
        if request is Request.EXTEND:
            form["years"] = years
        if request is Request.TRANSFER:
            form["successor"] = SUCCESSOR
        self.start(GraveRightCase, SERVICE_ID, GraveRightApplication.model_validate(form))
        self.take_the_usual_steps(head_start, 24)

    # ------------------------------------------------- the shared rules' hooks

    def decision_refusal(self, outcome: DecisionOutcome, today: date) -> str | None:
        if outcome.is_approval:
            return "outcome"  # only the decision by the grave approves
        return None

    def _take_the_shared_step(self, choice: int, outcome: DecisionOutcome) -> bool:
        case = self.case
        if case.status == CaseStatus.IN_REVIEW and case.holder is not None and choice >= 1:
            self.decide_by_the_grave(HOLDER, NOW)
            return True
        return super()._take_the_shared_step(choice, outcome)

    # ------------------------------------------------------ the service's steps

    @rule(actor=actors, at_kind=at_kinds)
    def decide_by_the_grave(self, actor: Actor | str, at_kind: str) -> None:
        who = self._actor(actor)
        case = self.application
        self.now += timedelta(minutes=1)
        at = self._at(at_kind)
        before, grave_before = self._state(), grave_state(self.grave)
        right_before = self.grave.right
        refused: DomainError | None = None
        try:
            case.decide_by_grave(
                actor=who,
                at=at,
                grave=self.grave,
                not_found=None,
            )
        except DomainError as error:
            refused = error
        if refused is not None:
            assert self._state() == before, refused
            assert not case.pending_events
            assert not self.grave.pending_events
            assert grave_state(self.grave) == grave_before, refused
            gate = self._passes_the_gate("decide", who, at_kind)
            holder = case.holder
            assert not gate or holder is None or holder.id != who.id, refused
            return
        names = [type(e).__name__ for e in case.pending_events]
        assert names[:2] == ["GraveChecked", "Decided"]
        assert set(names[2:]) <= {"FeeCharged"}  # an approval with a fee charges it
        decision = case.decision
        assert decision is not None
        check = case.grave_check
        assert check is not None
        self.check_the_grave_followed(decision.outcome, check, right_before, at)
        self.grave.collect_events()  # the grave is saved with the case in the pipeline
        self._save()

    def check_the_grave_followed(
        self, outcome: DecisionOutcome, check: dict[str, Any], right_before: Any, at: datetime
    ) -> None:
        grave, today = self.grave, berlin_date(at)
        request = self.application.request
        if outcome is DecisionOutcome.REJECTED:
            assert check["refusal"]
            assert not grave.pending_events
            if not grave.grave_type.has_grave_right:
                assert "has no grave right" in check["refusal"]
            return
        assert check["refusal"] is None
        fees = tariff("usingen", today)
        decision = self.application.decision
        assert decision is not None
        right = grave.right
        assert right is not None
        if request is Request.ACQUIRE:
            assert right.case_id == self.case.id
            assert decision.fee is not None
            assert decision.fee > Decimal(0)
            assert decision.expires_on == right.ends_on
        elif request is Request.EXTEND:
            assert right_before is not None
            years = int(self.application.application.years or 0)
            fee, _ = fees.assess_extension(grave.grave_type, years)
            assert decision.fee == fee
            assert (
                right.ends_on > right_before.ends_on == date.fromisoformat(check["right_ended_on"])
            )
        elif request is Request.TRANSFER:
            assert decision.fee is None
            assert isinstance(right.holder, PersonalData)
            assert right.holder.value == "Paula Weber"
        else:
            assert right.returned
            assert right.ends_on == today
            assert grave.last_rest_ends_on is None or grave.last_rest_ends_on < today

    def may_withdraw(self) -> bool:
        """The grave was changed by an approval: the right is returned, not withdrawn."""
        return not self.approval_holds_something()

    def reopen_refusal(self) -> str | None:
        decision = self.case.decision
        if decision is not None and decision.outcome.is_approval:
            return "new_decision"  # the grave was changed: a remedy is a new application
        return None

    def take_the_service_step(self, choice: int) -> None:
        if self.case.status == CaseStatus.FINAL:
            self.settle_and_close(None)

    # -------------------------------------------------------------- invariants

    @invariant()
    def the_right_never_ends_before_the_last_rest_period(self) -> None:
        right, last = self.grave.right, self.grave.last_rest_ends_on
        if right is not None and not right.returned and last is not None:
            assert right.ends_on >= last
        if not self.grave.grave_type.has_grave_right:
            assert right is None


def vars_of(address: GraveAddress) -> dict[str, Any]:
    return {
        "cemetery": address.cemetery,
        "field": address.field,
        "row": address.row,
        "number": address.number,
    }


def grave_state(grave: Grave) -> tuple[Any, ...]:
    return (grave.version, grave.right, grave.right_history, grave.occupations)


GraveRightMachine.TestCase.settings = SETTINGS
TestGraveRightLifecycle = GraveRightMachine.TestCase
