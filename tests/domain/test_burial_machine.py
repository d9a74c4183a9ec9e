"""Any sequence of commands keeps a burial registration's invariants, over its whole life.

The shared lifecycle comes from ``ServiceMachine``; here are the registration's own steps
(scheduled by the rules against its grave, then the burial carried out) with what each must
accept or refuse. The graves live in the machine's store, loaded fresh for each step as the
pipeline loads them: a scheduled registration holds exactly its place, a refused one none,
a place never holds two burials whose rest periods overlap, and every burial recorded keeps
the rest period the case recorded.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from domain.actor import Actor, Role
from domain.cemeteries import BurialKind, GraveAddress
from domain.commands import Acting
from domain.decision import Decision, DecisionOutcome
from domain.errors import InvalidTransition, NotTheHolder
from domain.lifecycle import CaseStatus
from domain.services.burial import (
    GRAVE_CHECK_RULES_ID,
    SERVICE_ID,
    BurialApplication,
    BurialCarriedOut,
    BurialRegistration,
    BurialStatus,
    CancelBurial,
    ScheduleBurial,
    example,
)
from domain.services.burial import (
    cancel_burial as cancel_step,
)
from domain.services.burial import (
    record_burial_carried_out as record_step,
)
from domain.services.burial import (
    schedule as schedule_step,
)
from domain.services.grave import Grave, grave_id
from domain.working_days import berlin_date
from tests.domain.case_fixtures import CLERK, START
from tests.domain.service_machine import (
    NOW,
    SETTINGS,
    ServiceMachine,
    actors,
    actors_or_holder,
    at_kinds,
    texts,
    usual_step,
)

REIHENGRAB = {"cemetery": "usingen-friedhof", "field": "B", "row": "1", "number": 1}
WAHLGRAB = {"cemetery": "usingen-friedhof", "field": "A", "row": "1", "number": 1}
GRAVES = {
    "new": {"new_grave_type": "reihengrab"},
    "reihengrab": REIHENGRAB,
    "wahlgrab_without_right": WAHLGRAB,
    "unknown": {**REIHENGRAB, "number": 999},
    "new_urn": {"new_grave_type": "urnenreihengrab"},
    "urnenreihengrab": {"cemetery": "usingen-friedhof", "field": "C", "row": "1", "number": 1},
}
URN_DAYS = 30  # an urn within weeks of the cremation: time enough for random steps


class BurialMachine(ServiceMachine):
    """One burial registration, any commands, its graves in the same store."""

    PROGRESS = (
        CaseStatus.SUBMITTED,
        CaseStatus.IN_REVIEW,
        CaseStatus.DECIDED,
        CaseStatus.NOTIFIED,
        CaseStatus.FINAL,
        BurialStatus.CARRIED_OUT,
    )

    @property
    def burial(self) -> BurialRegistration:
        assert isinstance(self.case, BurialRegistration)
        return self.case

    @initialize(
        grave=st.sampled_from(sorted(GRAVES)),
        occupied_before=st.booleans(),
        chapel=st.booleans(),
        public_order=st.booleans(),
        withdrawals=st.sampled_from([True, False, False, False]),
        head_start=st.lists(usual_step, max_size=12),
    )
    def submit(
        self,
        grave: str,
        occupied_before: bool,
        chapel: bool,
        public_order: bool,
        withdrawals: bool,
        head_start: list[tuple[int, DecisionOutcome]],
    ) -> None:
        submitted_on = berlin_date(START)
        form = example(submitted_on)
        form["grave"] = GRAVES[grave]
        self.burial_day = submitted_on + timedelta(days=2)
        if "urn" in grave:
            self.burial_day = submitted_on + timedelta(days=URN_DAYS)
            form["kind"] = "urn"
            form["second_examination"] = "ZL-2026-17"
            form["cremated_on"] = submitted_on.isoformat()
            form["requested_at"] = f"{self.burial_day.isoformat()}T11:00:00+01:00"
        form["chapel"] = chapel
        if public_order:
            form["public_order_burial"] = True
            del form["person_obliged"]
        model = BurialApplication.model_validate(form)
        model.check(submitted_on)  # what the catalogue checks on submission
        self.grave_choice = grave
        if occupied_before and grave == "reihengrab":
            other = Grave.open(tenant="usingen", address=self._address(REIHENGRAB))
            other.reserve_place(
                case_id=uuid4(),
                kind=BurialKind.COFFIN,
                planned_on=submitted_on,
                age_at_death=80,
                actor=CLERK,
                at=START,
            )
            self.store.save(other)
        self.occupied_before = occupied_before and grave == "reihengrab"
        self.start(BurialRegistration, SERVICE_ID, model)
        self.withdrawals = withdrawals
        self.take_the_usual_steps(head_start, 24)

    # ---------------------------------------------------------------- graves

    @staticmethod
    def _address(fields: dict[str, Any]) -> GraveAddress:
        return GraveAddress(fields["cemetery"], fields["field"], fields["row"], fields["number"])

    def _grave_at(self, address: GraveAddress) -> Grave:
        try:
            found: Grave = self.store.repository.get(grave_id("usingen", address))
        except AggregateNotFoundError:
            return Grave.open(tenant="usingen", address=address)
        return found

    def _graves(self) -> list[Grave]:
        return [
            self._grave_at(GraveAddress("usingen-friedhof", field, "1", n))
            for field in ("B", "C")
            for n in range(1, 4)
        ] + [self._grave_at(self._address(WAHLGRAB))]

    # ------------------------------------------------- the shared rules' hooks

    def decision_refusal(self, outcome: DecisionOutcome, today: date) -> str | None:
        return "outcome" if outcome.is_approval else None  # scheduled only by the rules

    def close_refusal(self, status: str, today: date) -> str | None:
        burial = self.burial
        decision = burial.decision
        scheduled = decision is not None and decision.outcome.is_approval
        objection = burial.open_objection
        forwarded = objection is not None and objection.forwarded_to is not None
        if scheduled and burial.buried_on is None and not burial.cancelled and not forwarded:
            return "status"  # a scheduled burial is recorded carried out (or cancelled) first
        return None

    def may_withdraw(self) -> bool:
        """A scheduled burial holds its place: it is cancelled, not withdrawn."""
        return not self.approval_holds_something()

    def reopen_refusal(self) -> str | None:
        decision = self.case.decision
        if decision is not None and decision.outcome.is_approval:
            return "new_decision"  # a scheduled burial holds its place
        return None

    def prepare_decision(self, choice: int) -> None:
        if choice % 2 == 0:
            self.schedule(CLERK, NOW)

    def take_the_service_step(self, choice: int) -> None:
        status = self.case.status
        if (
            status in (CaseStatus.NOTIFIED, CaseStatus.FINAL, CaseStatus.DECIDED)
            and choice % 3 == 1
        ):
            self.cancel_burial(CLERK, NOW, "Überführung")  # some scheduled burials are cancelled
        elif status in (CaseStatus.NOTIFIED, CaseStatus.FINAL, CaseStatus.DECIDED):
            self._move_to(max(self.today, self.burial_day))
            self.record_burial_carried_out(CLERK, NOW, 0)
        elif status == BurialStatus.CARRIED_OUT:
            self.settle_and_close("Bestattung durchgeführt")
        elif status == BurialStatus.CANCELLED:
            self.settle_and_close("Bestattung abgesagt")

    # ------------------------------------------------------------ the steps

    @rule(actor=actors_or_holder, at_kind=at_kinds, justification=texts)
    def decide(
        self,
        actor: Actor | str,
        at_kind: str,
        outcome: DecisionOutcome = DecisionOutcome.REJECTED,
        justification: str = "Die Voraussetzungen liegen nicht vor.",
        legal_basis: str = "§ 5 Friedhofsordnung",
        conditions: list[str] | None = None,
        fee: Any = None,
        hearing: str = "none",
        discretion: str | None = None,
    ) -> None:
        """A clerk refuses by hand; an approval goes by the rules (``schedule``)."""
        if outcome.is_approval:
            self.schedule(self._actor(actor), at_kind)
        else:
            super().decide(
                actor, at_kind, outcome, justification, legal_basis, None, fee, hearing, discretion
            )

    @rule(actor=actors_or_holder, at_kind=at_kinds)
    def approve_by_hand(self, actor: Actor | str, at_kind: str) -> None:
        """An approval by hand is refused, naming the outcome: the rules schedule."""
        who = self._actor(actor)
        self._run(
            "decide",
            who,
            at_kind,
            lambda at: self.case.decide(
                actor=who,
                at=at,
                outcome=DecisionOutcome.APPROVED,
                justification="j",
                legal_basis="l",
            ),
            lambda today: "outcome",
        )

    def _expected_outcome(self, today: date) -> DecisionOutcome:
        if self.grave_choice in ("wahlgrab_without_right", "unknown") or self.occupied_before:
            return DecisionOutcome.REJECTED
        if today > self.burial_day:
            return DecisionOutcome.REJECTED  # a place is not reserved for a day gone by
        return DecisionOutcome.APPROVED

    @rule(actor=actors, at_kind=at_kinds)
    def schedule(self, actor: Actor, at_kind: str) -> None:
        holder = self.case.holder
        changed: list[Grave] = []

        def act(at: datetime) -> None:
            body = ScheduleBurial()
            changed.extend(schedule_step(self.burial, body, Acting(actor, at, StoredGraves(self))))

        def expect(today: date) -> Any:
            if holder is None or holder.id != actor.id:
                return NotTheHolder
            return None

        error = self._run("decide", actor, at_kind, act, expect)
        if error is None:
            decision = self.case.decision
            assert decision is not None
            assert decision.outcome is self._expected_outcome(self.today), decision
            event(f"scheduled: {decision.outcome.value}")
            if decision.outcome.is_approval:
                assert len(changed) == 1
                self.store.save(*changed)
            else:
                assert changed == []
        else:
            assert changed == [] or isinstance(error, InvalidTransition)

    @rule(actor=actors, at_kind=at_kinds, offset=st.sampled_from([-1, 0, 0, 1]))
    def record_burial_carried_out(self, actor: Actor, at_kind: str, offset: int) -> None:
        decision = self.case.decision
        day = self.today + timedelta(days=offset)

        def expect(today: date) -> Any:
            if decision is None or not decision.outcome.is_approval:
                return "decision"
            if day < decision.effective_from:
                return "buried_on"
            if day > today:
                return "buried_on"
            return None

        grave_holder: list[Grave] = []

        def act(at: datetime) -> None:
            body = BurialCarriedOut(buried_on=day)
            acting = Acting(actor, at, StoredGraves(self))
            grave_holder.extend(record_step(self.burial, body, acting))

        error = self._run("record_burial_carried_out", actor, at_kind, act, expect)
        if error is None:
            self.store.save(*grave_holder)
            assert self.case.status == BurialStatus.CARRIED_OUT

    @rule(actor=actors, at_kind=at_kinds, reason=st.sampled_from([None, "Überführung"]))
    def cancel_burial(self, actor: Actor, at_kind: str, reason: str | None) -> None:
        decision = self.case.decision

        def expect(today: date) -> Any:
            if decision is None or not decision.outcome.is_approval:
                return "decision"
            if actor.role is not Role.APPLICANT and not (reason and reason.strip()):
                return "reason"
            return None

        grave_holder: list[Grave] = []

        def act(at: datetime) -> None:
            acting = Acting(actor, at, StoredGraves(self))
            grave_holder.extend(cancel_step(self.burial, CancelBurial(reason=reason), acting))

        error = self._run("cancel_burial", actor, at_kind, act, expect)
        if error is None:
            self.store.save(*grave_holder)
            assert self.case.status == BurialStatus.CANCELLED

    # ------------------------------------------------------------ invariants

    @invariant()
    def a_scheduled_registration_holds_exactly_its_place_and_a_refused_one_none(self) -> None:
        decision: Decision | None = self.case.decision
        held = [o for g in self._graves() for o in g.occupations if o.case_id == self.case.id]
        if decision is None or not decision.outcome.is_approval or self.burial.cancelled:
            assert held == []  # a cancelled burial's place was released with it
            return
        [occupation] = held
        assert occupation.place == decision.particulars["place"]
        assert occupation.reserved is (self.burial.buried_on is None)
        if self.burial.buried_on is not None:
            assert occupation.rest_ends_on == self.burial.rest_ends_on
        check = next(r for r in decision.rules if r.rules_id == GRAVE_CHECK_RULES_ID)
        assert check.inputs["refusals"] == []

    @invariant()
    def no_place_holds_two_burials_whose_rest_periods_overlap(self) -> None:
        for grave in self._graves():
            taken = grave.occupations
            for i, a in enumerate(taken):
                for b in taken[i + 1 :]:
                    if a.kind is b.kind and a.place == b.place:
                        assert not a.overlaps(b.starts_on, b.rest_ends_on), (a, b)


class StoredGraves:
    """The pipeline's shared aggregates, over the machine's store."""

    def __init__(self, machine: BurialMachine) -> None:
        self.machine = machine

    def identified(self, aggregate_type: type[Any], aggregate_id: UUID, start: Any) -> Any:
        try:
            return self.machine.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return start(aggregate_id)


BurialMachine.TestCase.settings = settings(SETTINGS, max_examples=40, stateful_step_count=30)
TestBurialLifecycle = BurialMachine.TestCase
