"""Any sequence of commands keeps a traffic sign order's invariants, over its whole life.

The shared lifecycle comes from ``ServiceMachine``; here are the order's own steps (police
and road authority heard before an order; signs reported up, in time or late, with the
vehicles parked then; the measure over and the signs removed; the close) with what each must
accept or refuse, and the invariants that tie the order to its hearings, its tariff, its
set-up day (three full days ahead, BVerwG 3 C 25.16), its standard conditions and its period.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from domain.actor import Actor
from domain.decision import Decision, DecisionOutcome
from domain.lifecycle import CaseStatus
from domain.rules.traffic_sign_order import (
    CONDITIONS_RULES_ID,
    FEE_RULES_ID,
    LEAD_TIME_RULES_ID,
    LEAD_TIMES,
    SIGN_SETUP_RULES_ID,
    SIGN_SETUPS,
    STANDARD_CONDITIONS,
    TARIFFS,
)
from domain.services.resident_parking import canonical_plate
from domain.services.traffic_sign_order import (
    PARKED_VEHICLES,
    SERVICE_ID,
    HeardAuthority,
    TrafficSignOrder,
    TrafficSignOrderApplication,
    TrafficSignOrderStatus,
    example,
    signs_up_by,
)
from domain.working_days import berlin_date
from tests.domain.case_fixtures import APPLICANT, CLERK, START, SUPERVISOR
from tests.domain.service_machine import (
    NOW,
    SETTINGS,
    ServiceMachine,
    actors,
    at_kinds,
    clean,
    optional_texts,
    usual_step,
)

REPORTED = frozenset({TrafficSignOrderStatus.SIGNS_UP, TrafficSignOrderStatus.COMPLETED})
relative_days = st.tuples(
    st.sampled_from(["today", "effective_from", "expires_on", "signs_up_by", "signs_up"]),
    st.sampled_from([-400, -1, -1, 0, 0, 0, 1, 1, 3]),
)
heard_authorities = st.sampled_from(["police", "road_authority", "police", "fire_brigade"])
responses = st.sampled_from(["consented", "consented_with_conditions", "objected", "maybe"])
heard_days = st.sampled_from([-400, -1, 0, 0, 0, 1])  # from today
parked_counts = st.sampled_from([None, None, 0, 1, 2, 200, 201, -1])
PLATES = ["HG-AB 123", "hg ab123", "F-X 1", "Opel", "HG-ABC 12345"]
parked_plates = st.lists(st.sampled_from(PLATES), max_size=3)
set_up_times = st.sampled_from([None, time(7, 30), time(0, 0), time(23, 59)])
zone_lengths = st.one_of(
    st.sampled_from([Decimal("5"), Decimal("15"), Decimal("15.1"), Decimal("30"), Decimal("500")]),
    st.decimals(min_value=Decimal("0.1"), max_value=Decimal("500"), places=1),
)


class TrafficSignOrderMachine(ServiceMachine):
    """One traffic sign order, any commands."""

    PROGRESS = (
        CaseStatus.SUBMITTED,
        CaseStatus.IN_REVIEW,
        CaseStatus.DECIDED,
        CaseStatus.NOTIFIED,
        CaseStatus.FINAL,
        TrafficSignOrderStatus.SIGNS_UP,
        TrafficSignOrderStatus.COMPLETED,
    )
    STANDARD_CONDITIONS = True

    @property
    def order(self) -> TrafficSignOrder:
        assert isinstance(self.case, TrafficSignOrder)
        return self.case

    @initialize(
        start_later_by_days=st.integers(min_value=0, max_value=40),
        duration_days=st.sampled_from([1, 1, 2, 3, 14, 92]),
        zone_length=zone_lengths,
        withdrawals=st.sampled_from([True, False, False, False]),
        head_start=st.lists(usual_step, max_size=16),
    )
    def submit(
        self,
        start_later_by_days: int,
        duration_days: int,
        zone_length: Decimal,
        withdrawals: bool,
        head_start: list[tuple[int, DecisionOutcome]],
    ) -> None:
        submitted_on = berlin_date(START)
        form = example(submitted_on)
        start = in_force_lead_time(submitted_on) + timedelta(days=start_later_by_days)
        end = start + timedelta(days=duration_days - 1)
        form["period"] = {"start": start.isoformat(), "end": end.isoformat()}
        form["location"]["zone_length_m"] = str(zone_length)
        model = TrafficSignOrderApplication.model_validate(form)
        model.check_lead_time(submitted_on)  # what the catalogue checks on submission
        self.start(TrafficSignOrder, SERVICE_ID, model)
        self.withdrawals = withdrawals
        order = self.order
        assert (order.period_start, order.period_end, order.period_days) == (
            start,
            end,
            duration_days,
        )
        assert order.data["contact_person"]["name"].subject == "contact"
        self.take_the_usual_steps(head_start, 24)

    # ------------------------------------------------------------- day helper

    def _day(self, anchor: str, offset: int) -> date:
        order = self.order
        decision = order.decision
        approved = decision is not None and decision.outcome.is_approval
        base = {
            "today": self.today,
            "effective_from": decision.effective_from if decision else self.today,
            "expires_on": (decision.expires_on if decision else None) or order.period_end,
            "signs_up_by": signs_up_by(decision) if approved and decision else order.period_start,
            "signs_up": order.signs_up_on or self.today,
        }[anchor]
        return base + timedelta(days=offset)

    # ------------------------------------------------- the shared rules' hooks

    def decision_refusal(self, outcome: DecisionOutcome, today: date) -> str | None:
        heard = {h.authority for h in self.order.authority_hearings}
        if outcome.is_approval and heard != {"police", "road_authority"}:
            return "authority_hearings"  # VwV-StVO zu § 45 Abs. 1 bis 1e, Nr. I
        if outcome.is_approval and self.order.period_end < today:
            return "expires_on"  # the order would end before it takes effect
        return None

    def prepare_decision(self, choice: int) -> None:
        """Both heard; now and then the road authority has not answered: no order yet."""
        self.record_authority_hearing(CLERK, NOW, "police", 0, "consented", None)
        if choice != 7:
            remarks = "Nur werktags." if choice % 2 else None
            response = "consented_with_conditions" if remarks else "consented"
            self.record_authority_hearing(CLERK, NOW, "road_authority", 0, response, remarks)

    def after_decision(self, decision: Any) -> None:
        assert isinstance(decision, Decision)
        if decision.outcome.is_approval:
            assert [c.reveal() for c in decision.conditions][:3] == list(
                STANDARD_CONDITIONS[0].texts
            )

    def close_refusal(self, status: str, today: date) -> str | None:
        decision = self.order.decision
        if status == CaseStatus.FINAL and decision is not None and decision.outcome.is_approval:
            assert decision.expires_on is not None
            return "status" if today <= decision.expires_on else None
        return None

    # -------------------------------------------------------- the order's own

    @rule(
        actor=actors,
        at_kind=at_kinds,
        authority=heard_authorities,
        heard_in_days=heard_days,
        response=responses,
        remarks=optional_texts,
    )
    def record_authority_hearing(
        self,
        actor: Actor,
        at_kind: str,
        authority: str,
        heard_in_days: int,
        response: str,
        remarks: str | None,
    ) -> None:
        """During review, staff only: a known authority, a known answer, heard between the
        submission and today; remarks, if any, not blank."""
        heard_on = self.today + timedelta(days=heard_in_days)
        before = len(self.order.authority_hearings)

        def expect(today: date) -> str | None:
            if authority not in {a.value for a in HeardAuthority}:
                return "authority"
            if response == "maybe":
                return "response"
            if not berlin_date(self.order.submitted_at) <= heard_on <= today:
                return "heard_on"
            return "remarks" if remarks is not None and not clean(remarks) else None

        error = self._run(
            "record_authority_hearing",
            actor,
            at_kind,
            lambda at: self.order.record_authority_hearing(
                actor=actor,
                at=at,
                authority=authority,  # type: ignore[arg-type]
                heard_on=heard_on,
                response=response,  # type: ignore[arg-type]
                remarks=remarks,
            ),
            expect,
        )
        if error is None:
            hearings = self.order.authority_hearings
            assert len(hearings) == before + 1
            last = hearings[-1]
            assert (last.authority, last.heard_on, last.response) == (authority, heard_on, response)
            if remarks is None:
                assert last.remarks is None
            else:
                assert last.remarks is not None
                assert last.remarks.reveal() == remarks.strip()
            in_effect = {h.authority: h for h in self.order.hearings_in_effect()}
            # heard again, the later answer counts: the latest day, of those the last recorded
            same = [h for h in hearings if h.authority == authority]
            latest_day = max(h.heard_on for h in same)
            assert in_effect[authority] == [h for h in same if h.heard_on == latest_day][-1]

    @rule(
        actor=actors,
        at_kind=at_kinds,
        up=relative_days,
        up_at=set_up_times,
        parked=parked_counts,
        plates=parked_plates,
    )
    def report_signs_up(
        self,
        actor: Actor,
        at_kind: str,
        up: tuple[str, int],
        up_at: time | None = None,
        parked: int | None = None,
        plates: list[str] | None = None,
    ) -> None:
        """Under an order in force, from its first day to its last, not in the future; the
        plates German ones, the count between 0 and 200 and at least the plates given."""
        signs_up_on = self._day(*up)
        decision = self.order.decision
        plates = plates or []

        def expect(today: date) -> str | None:
            refusal = self.step_under_refusal(decision, signs_up_on, today, "signs_up_on")
            if refusal is not None:
                return refusal
            for i, plate in enumerate(plates):
                if plate in ("Opel", "HG-ABC 12345"):
                    return f"parked_plates[{i}]"
            count = len(plates) if parked is None and plates else parked
            if count is not None and not 0 <= count <= 200:
                return "parked_vehicles"
            return "parked_plates" if count is not None and len(plates) > count else None

        error = self._run(
            "report_signs_up",
            actor,
            at_kind,
            lambda at: self.order.report_signs_up(
                actor=actor,
                at=at,
                signs_up_on=signs_up_on,
                signs_up_at=up_at,
                parked_vehicles=parked,
                parked_plates=plates,
            ),
            expect,
        )
        if error is None:
            assert decision is not None
            order = self.order
            assert order.status == TrafficSignOrderStatus.SIGNS_UP
            assert order.signs_up_on == signs_up_on
            assert order.signs_up_in_time is (signs_up_on <= signs_up_by(decision))
            assert order.signs_up_at == (None if up_at is None else up_at.strftime("%H:%M"))
            assert order.parked_vehicles == (len(plates) if parked is None and plates else parked)
            assert [p.reveal() for p in order.parked_plates] == [canonical_plate(p) for p in plates]
            assert all(p.subject == PARKED_VEHICLES for p in order.parked_plates)

    @rule(actor=actors, at_kind=at_kinds, removed=relative_days)
    def report_signs_removed(self, actor: Actor, at_kind: str, removed: tuple[str, int]) -> None:
        removed_on = self._day(*removed)
        up = self.order.signs_up_on

        def expect(today: date) -> str | None:
            assert up is not None
            return None if up <= removed_on <= today else "removed_on"

        error = self._run(
            "report_signs_removed",
            actor,
            at_kind,
            lambda at: self.order.report_signs_removed(actor=actor, at=at, removed_on=removed_on),
            expect,
        )
        if error is None:
            assert self.order.status == TrafficSignOrderStatus.COMPLETED
            assert self.order.signs_removed_on == removed_on

    # ------------------------------------------------------------ usual steps

    def take_the_service_step(self, choice: int) -> None:
        order = self.order
        status = order.status
        decision = order.decision
        if status in (CaseStatus.NOTIFIED, CaseStatus.FINAL) and decision is not None:
            if not decision.outcome.is_approval:
                self.report_signs_up(APPLICANT, NOW, ("today", 0))  # refused
                if status == CaseStatus.NOTIFIED:
                    self._move_to(self._day("today", 40))
                    self.mark_final(CLERK, NOW)
                self.close(CLERK, NOW, None)
            elif choice >= 6:  # never used: the order ends
                assert decision.expires_on is not None
                self._move_to(decision.expires_on)
                if status == CaseStatus.FINAL:
                    self.close(SUPERVISOR, NOW, "Anordnung nicht genutzt")  # refused: in force
                self._move_to(decision.expires_on + timedelta(days=1))
                self.report_signs_up(APPLICANT, NOW, ("today", 0))  # refused: ended
                if self.order.status == CaseStatus.NOTIFIED:
                    assert order.objection_deadline is not None
                    self._move_to(order.objection_deadline + timedelta(days=1))
                    self.mark_final(CLERK, NOW)
                self.close(SUPERVISOR, NOW, "Anordnung nicht genutzt")
            else:
                self.report_signs_up(APPLICANT, NOW, ("today", 1))  # refused: the future
                # by the day the order names, the first day late, or on the first day of the measure
                offset = (-1, 0, 1, 4)[choice % 4]
                day = signs_up_by(decision) + timedelta(days=offset)
                self._move_to(max(day, decision.effective_from))
                self.report_signs_up(APPLICANT, NOW, ("today", 0), None, 2, ["Opel"])  # refused
                plates = ["HG-AB 123"] if choice % 2 else []
                self.report_signs_up(APPLICANT, NOW, ("today", 0), time(7, 30), None, plates)
        elif status == TrafficSignOrderStatus.SIGNS_UP:
            self.report_signs_removed(APPLICANT, NOW, ("signs_up", -1))  # refused
            self._move_to(order.period_end + timedelta(days=choice % 3))
            self.report_signs_removed(APPLICANT if choice % 2 else CLERK, NOW, ("today", 0))
        elif status == TrafficSignOrderStatus.COMPLETED:
            self.settle_and_close("Maßnahme abgeschlossen")

    # -------------------------------------------------------------- invariants

    @invariant()
    def orders_follow_the_tariff_the_set_up_rule_and_the_period(self) -> None:
        order = self.order
        for decision in order.decisions:
            by_id = {r.rules_id: r for r in decision.rules}
            submitted_on = berlin_date(order.submitted_at)
            lead_time = LEAD_TIMES[0].record(submitted_on, order.period_start)
            assert by_id[LEAD_TIME_RULES_ID] == lead_time
            if decision.outcome.is_approval:
                zone = Decimal(order.data["location"]["zone_length_m"])
                fee, assessed = TARIFFS[0].assess(order.period_days, zone)
                assert decision.fee == fee
                assert by_id[FEE_RULES_ID] == assessed
                assert TARIFFS[0].minimum <= fee <= TARIFFS[0].maximum
                assert by_id[SIGN_SETUP_RULES_ID] == SIGN_SETUPS[0].record(order.period_start)
                assert by_id[CONDITIONS_RULES_ID] == STANDARD_CONDITIONS[0].record()
                # three full days between the set-up and the start (BVerwG 3 C 25.16)
                assert signs_up_by(decision) == order.period_start - timedelta(days=4)
                # both were heard before it (VwV-StVO zu § 45), as the order records
                hearings = decision.particulars["authority_hearings"]
                assert [h["authority"] for h in hearings] == ["police", "road_authority"]
                assert all(h["heard_on"] <= str(berlin_date(decision.decided_at)) for h in hearings)
                assert decision.expires_on == order.period_end
                if decision.notified_on is None or decision.notified_on <= decision.expires_on:
                    assert decision.effective_from <= decision.expires_on
                else:  # notified after its last day: it never took effect (§ 43 HVwVfG)
                    assert decision.effective_from == decision.notified_on
            else:
                assert decision.fee is None
                assert list(by_id) == [LEAD_TIME_RULES_ID]
                assert decision.particulars == {}

    @invariant()
    def signs_stand_within_the_order(self) -> None:
        order = self.order
        reported = order.status in REPORTED or self.closed_from in REPORTED
        assert (order.signs_up_on is not None) is reported
        if order.signs_up_on is not None:
            decision = order.decision
            assert decision is not None
            assert decision.outcome.is_approval
            assert decision.expires_on is not None
            assert decision.effective_from <= order.signs_up_on <= decision.expires_on
            assert order.signs_up_in_time is (order.signs_up_on <= signs_up_by(decision))
            # cars parked before the set-up: towing at their cost from the fourth day after it
            assert order.towing_costs_from == order.signs_up_on + timedelta(days=4)
            assert order.signs_up_in_time is (order.towing_costs_from <= order.period_start)
        else:
            assert order.towing_costs_from is None
            assert order.parked_plates == ()
        completed = (
            order.status == TrafficSignOrderStatus.COMPLETED
            or self.closed_from == TrafficSignOrderStatus.COMPLETED
        )
        assert (order.signs_removed_on is not None) is completed
        if order.signs_removed_on is not None:
            assert order.signs_up_on is not None
            assert order.signs_removed_on >= order.signs_up_on


def in_force_lead_time(submitted_on: date) -> date:
    """The earliest start for an application submitted on that day."""
    return LEAD_TIMES[0].earliest_start(submitted_on)


TrafficSignOrderMachine.TestCase.settings = SETTINGS
TestTrafficSignOrderLifecycle = TrafficSignOrderMachine.TestCase
