"""Any sequence of commands keeps a headstone permit's invariants, over its whole life.

The shared lifecycle comes from ``ServiceMachine``; here are the permit's own steps (the
headstone set under the permit, its acceptance and the yearly stability checks, each
passed or with defects and a deadline) with what each must accept or refuse, and the
invariants that tie the permit to its tariff, conditions and term.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from domain.actor import Actor
from domain.decision import DecisionOutcome
from domain.lifecycle import CaseStatus
from domain.rules.headstone_permit import STANDARD_CONDITIONS
from domain.services.headstone_permit import (
    SERVICE_ID,
    HeadstonePermit,
    HeadstonePermitApplication,
    HeadstoneStatus,
    example,
)
from domain.working_days import add_months, berlin_date
from tests.domain.case_fixtures import APPLICANT, CLERK, START
from tests.domain.service_machine import (
    NOW,
    SETTINGS,
    ServiceMachine,
    actors,
    at_kinds,
    usual_step,
)

offsets = st.sampled_from([-400, -1, 0, 0, 0, 1, 3, 400])
defect_lists = st.sampled_from([[], [], ["Grabmal wackelt"], ["  "]])
deadlines = st.sampled_from([None, 0, 14, 14])


class HeadstonePermitMachine(ServiceMachine):
    """One headstone permit, any commands."""

    PROGRESS = (
        CaseStatus.SUBMITTED,
        CaseStatus.IN_REVIEW,
        CaseStatus.DECIDED,
        CaseStatus.NOTIFIED,
        CaseStatus.FINAL,
        HeadstoneStatus.SET,
        HeadstoneStatus.ACCEPTED,
    )
    STANDARD_CONDITIONS = True

    @property
    def permit(self) -> HeadstonePermit:
        assert isinstance(self.case, HeadstonePermit)
        return self.case

    @initialize(head_start=st.lists(usual_step, max_size=16))
    def submit(self, head_start: list[tuple[int, DecisionOutcome]]) -> None:
        form = HeadstonePermitApplication.model_validate(example(berlin_date(START)))
        self.start(HeadstonePermit, SERVICE_ID, form)
        assert self.permit.data["inscription"].subject == "applicant"
        assert self.permit.data["stonemason"]["business"] == "Steinmetz Taunus GmbH"
        self.take_the_usual_steps(head_start, 24)

    # -------------------------------------------------------- the permit's own

    @rule(actor=actors, at_kind=at_kinds, offset=offsets)
    def report_headstone_set(self, actor: Actor, at_kind: str, offset: int) -> None:
        set_on = self.today + timedelta(days=offset)
        decision = self.permit.decision

        def expect(today: date) -> str | None:
            return self.step_under_refusal(decision, set_on, today, "set_on")

        error = self._run(
            "report_headstone_set",
            actor,
            at_kind,
            lambda at: self.permit.report_headstone_set(actor=actor, at=at, set_on=set_on),
            expect,
        )
        if error is None:
            assert self.permit.status == HeadstoneStatus.SET
            assert self.permit.set_on == set_on

    def _inspect(
        self,
        command: str,
        actor: Actor,
        at_kind: str,
        offset: int,
        defects: list[str],
        deadline: int | None,
        earliest: date | None,
    ) -> str | None:
        inspected_on = self.today + timedelta(days=min(offset, 0))
        remedy_by = None if deadline is None else inspected_on + timedelta(days=deadline)

        def expect(today: date) -> str | None:
            assert earliest is not None
            return self.inspection_refusal(earliest, inspected_on, today, defects, remedy_by)

        error = self._run(
            command,
            actor,
            at_kind,
            lambda at: getattr(self.permit, command)(
                actor=actor, at=at, inspected_on=inspected_on, defects=defects, remedy_by=remedy_by
            ),
            expect,
        )
        return None if error is None else str(error)

    @rule(actor=actors, at_kind=at_kinds, offset=offsets, defects=defect_lists, deadline=deadlines)
    def inspect_headstone(
        self, actor: Actor, at_kind: str, offset: int, defects: list[str], deadline: int | None
    ) -> None:
        permit = self.permit
        earliest = max([d for d in [permit.set_on, *permit.acceptance.dates] if d], default=None)
        if self._inspect("inspect_headstone", actor, at_kind, offset, defects, deadline, earliest):
            return
        expected = HeadstoneStatus.DEFECTIVE if defects else HeadstoneStatus.ACCEPTED
        assert permit.status == expected

    @rule(actor=actors, at_kind=at_kinds, offset=offsets, defects=defect_lists, deadline=deadlines)
    def check_stability(
        self, actor: Actor, at_kind: str, offset: int, defects: list[str], deadline: int | None
    ) -> None:
        permit = self.permit
        accepted = permit.acceptance.last.inspected_on if permit.acceptance.last else None
        earliest = max([d for d in [accepted, *permit.stability.dates] if d], default=None)
        if self._inspect("check_stability", actor, at_kind, offset, defects, deadline, earliest):
            return
        expected = HeadstoneStatus.UNSTABLE if defects else HeadstoneStatus.ACCEPTED
        assert permit.status == expected

    def close_refusal(self, status: str, today: date) -> str | None:
        """A final permit in force is closed only once the headstone was reported set (or
        after the permit lapsed)."""
        decision = self.permit.decision
        if status == CaseStatus.FINAL and decision is not None and decision.outcome.is_approval:
            assert decision.expires_on is not None
            return "status" if today <= decision.expires_on else None
        return None

    # ------------------------------------------------------------ usual steps

    def take_the_service_step(self, choice: int) -> None:
        permit = self.permit
        status, decision = permit.status, permit.decision
        if status in (CaseStatus.NOTIFIED, CaseStatus.FINAL) and decision is not None:
            if not decision.outcome.is_approval:
                if status == CaseStatus.NOTIFIED:
                    assert permit.objection_deadline is not None
                    self._move_to(permit.objection_deadline + timedelta(days=1))
                    self.mark_final(CLERK, NOW)
                self.close(CLERK, NOW, None)
            else:
                self.report_headstone_set(APPLICANT, NOW, 0)
        elif status in (HeadstoneStatus.SET, HeadstoneStatus.DEFECTIVE):
            self.now += timedelta(days=choice)
            found = ["Sockel lose"] if choice < 2 else []
            self.inspect_headstone(CLERK, NOW, 0, found, 14 if found else None)
        elif status in (HeadstoneStatus.ACCEPTED, HeadstoneStatus.UNSTABLE) and choice < 5:
            self.now += timedelta(days=365)
            found = ["Neigung"] if choice < 1 else []
            self.check_stability(CLERK, NOW, 0, found, 30 if found else None)
        elif status == HeadstoneStatus.ACCEPTED:
            self.settle_and_close("abgenommen")

    # -------------------------------------------------------------- invariants

    @invariant()
    def approvals_carry_the_fee_the_conditions_and_the_term(self) -> None:
        for decision in self.permit.decisions:
            if not decision.outcome.is_approval:
                assert decision.fee is None
                continue
            assert decision.fee == Decimal("60.00")
            assert [c.reveal() for c in decision.conditions][:3] == list(
                STANDARD_CONDITIONS[0].texts
            )
            # A year from the Bekanntgabe (§ 43 HVwVfG); until then from the decision's day.
            start = decision.notified_on or berlin_date(decision.decided_at)
            assert decision.expires_on == add_months(start, 12)
            assert decision.valid_for_months == 12

    @invariant()
    def the_headstone_is_inspected_only_after_it_was_set(self) -> None:
        permit = self.permit
        if permit.acceptance.done:
            assert permit.set_on is not None
            assert permit.set_on <= permit.acceptance.dates[0]
        if permit.stability.done:
            assert permit.acceptance.passed or permit.acceptance.last is not None


HeadstonePermitMachine.TestCase.settings = SETTINGS
TestHeadstonePermitLifecycle = HeadstonePermitMachine.TestCase
