"""Any sequence of commands keeps a sewer house connection's invariants, over its whole life.

The shared lifecycle comes from ``ServiceMachine``; here are the connection's own steps
(drainage plans and the owner's authorisation before the permit, connection point,
construction by the town or the owner's contractor, leak tests, acceptance inspection with
defects and re-inspection, the connection charge assessed and notified, the close) with
what each must accept or refuse, and the invariants that tie the case to its tariff (of the
day the connection was finally built), its standard conditions and its permit.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from domain.actor import Actor
from domain.decision import Decision, DecisionOutcome
from domain.lifecycle import CaseStatus
from domain.personal_data import PersonalData
from domain.rules import notification
from domain.rules.sewer_connection import (
    CHARGE_DUE_RULES_ID,
    CONDITIONS_RULES_ID,
    LAPSE_RULES_ID,
    LAPSES,
    PERMIT_FEE_RULES_ID,
    STANDARD_CONDITIONS,
    TARIFFS,
    Drainage,
    PlanKind,
)
from domain.rules.versions import in_force
from domain.services.sewer_connection import (
    DEBTOR,
    PERMIT_VALIDITY_MONTHS,
    SERVICE_ID,
    ConnectionBuilder,
    SewerConnection,
    SewerConnectionApplication,
    SewerConnectionStatus,
    example,
)
from domain.working_days import add_months, berlin_date, period_end
from tests.domain.case_fixtures import APPLICANT, CLERK, DELEGATED_CLERK, START, SUPERVISOR
from tests.domain.service_machine import (
    NOW,
    SETTINGS,
    ServiceMachine,
    actors,
    at_kinds,
    clean,
    texts,
    usual_step,
)

BUILT = frozenset(
    {
        SewerConnectionStatus.CONSTRUCTION_REPORTED,
        SewerConnectionStatus.CONNECTION_DEFECTIVE,
        SewerConnectionStatus.CONNECTION_ACCEPTED,
        SewerConnectionStatus.CHARGE_ASSESSED,
    }
)
INSPECTED = frozenset(
    {
        SewerConnectionStatus.CONNECTION_DEFECTIVE,
        SewerConnectionStatus.CONNECTION_ACCEPTED,
        SewerConnectionStatus.CHARGE_ASSESSED,
    }
)
relative_days = st.tuples(
    st.sampled_from(["today", "effective_from", "expires_on", "completed", "inspected"]),
    st.sampled_from([-800, -1, -1, 0, 0, 0, 1, 1, 3]),
)
pipe_lengths = st.one_of(
    st.sampled_from(
        [Decimal("0"), Decimal("0.01"), Decimal("10.00"), Decimal("200"), Decimal("200.01")]
    ),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("200"), places=2),
    st.just(Decimal("3.125")),  # millimetres: refused
)
# What the application carried: everything; no longitudinal section; an application by
# someone other than the owner, with or without the owner's authorisation in the form.
DOCUMENTS = ("complete", "no_section", "not_owner", "not_owner_authorised")


class SewerConnectionMachine(ServiceMachine):
    """One sewer house connection, any commands."""

    PROGRESS: ClassVar[tuple[str, ...]] = (
        CaseStatus.SUBMITTED,
        CaseStatus.IN_REVIEW,
        CaseStatus.DECIDED,
        CaseStatus.NOTIFIED,
        CaseStatus.FINAL,
    )
    PROGRESS += (
        SewerConnectionStatus.CONSTRUCTION_REPORTED,
        SewerConnectionStatus.CONNECTION_DEFECTIVE,
        SewerConnectionStatus.CONNECTION_ACCEPTED,
    )
    PROGRESS += (SewerConnectionStatus.CHARGE_ASSESSED,)
    STANDARD_CONDITIONS = True

    @property
    def connection(self) -> SewerConnection:
        assert isinstance(self.case, SewerConnection)
        return self.case

    @initialize(
        drainage=st.sampled_from(Drainage),
        backflow=st.booleans(),
        withdrawals=st.sampled_from([True, False, False, False]),
        documents=st.sampled_from(DOCUMENTS),
        head_start=st.lists(usual_step, max_size=16),
    )
    def submit(
        self,
        drainage: Drainage,
        backflow: bool,
        withdrawals: bool,
        documents: str,
        head_start: list[tuple[int, DecisionOutcome]],
    ) -> None:
        form = example(START.date())
        form["drainage"] = drainage.value
        form["backflow_protection_planned"] = backflow
        if documents == "no_section":
            form["drainage_plans"] = form["drainage_plans"][:1]
        if documents.startswith("not_owner"):
            form["applicant_is_owner"] = False
        if documents == "not_owner_authorised":
            form["owner_authorisation"] = {"kind": "consent", "signed_on": "2026-02-20"}
        self.start(SewerConnection, SERVICE_ID, SewerConnectionApplication.model_validate(form))
        self.withdrawals = withdrawals
        self.leak_tests_before_remedy = 0  # leak tests recorded when defects were last found
        self.defects_found_on: date | None = None  # the day of that inspection
        case = self.connection
        assert case.drainage is drainage
        assert case.data["owner"]["name"].subject == "owner"
        assert case.data["contractor"]["contact_person"].subject == "contractor"
        assert case.data["plot"]["flurstueck"].subject == "applicant"
        self.take_the_usual_steps(head_start, 24)

    # ------------------------------------------------------------- day helper

    def _day(self, anchor: str, offset: int) -> date:
        case = self.connection
        decision = case.decision
        base = {
            "today": self.today,
            "effective_from": decision.effective_from if decision else self.today,
            "expires_on": (decision.expires_on if decision else None) or self.today,
            "completed": case.construction_completed_on or self.today,
            "inspected": case.acceptance.dates[-1] if case.acceptance.dates else self.today,
        }[anchor]
        return base + timedelta(days=offset)

    # ------------------------------------------------- the shared rules' hooks

    def decision_refusal(self, outcome: DecisionOutcome, today: date) -> str | None:
        case = self.connection
        if outcome.is_approval and case.connection_point is None:
            return "connection_point"
        if outcome.is_approval and self.plans_missing():
            return "drainage_plans"
        if outcome.is_approval and self.authorisation_missing():
            return "owner_authorisation"
        return None

    def plans_missing(self) -> bool:
        kinds = {plan["kind"] for plan in self.connection.drainage_plans}
        return not {"site_plan", "longitudinal_section"} <= kinds

    def authorisation_missing(self) -> bool:
        case = self.connection
        return not case.application.applicant_is_owner and case.owner_authorisation is None

    def after_decision(self, decision: Any) -> None:
        assert isinstance(decision, Decision)
        if decision.outcome.is_approval:
            texts_in_force = STANDARD_CONDITIONS[0].texts
            shown = [c.reveal() for c in decision.conditions]
            assert shown[: len(texts_in_force)] == list(texts_in_force)

    def close_refusal(self, status: str, today: date) -> str | None:
        case = self.connection
        decision = case.decision
        if status == CaseStatus.FINAL and decision is not None and decision.outcome.is_approval:
            assert decision.expires_on is not None
            return "status" if today <= decision.expires_on else None
        if status == SewerConnectionStatus.CONNECTION_ACCEPTED:
            return (
                None
                if case.built_by == ConnectionBuilder.OWNER_CONTRACTOR
                else ("connection_charge")
            )
        if status == SewerConnectionStatus.CHARGE_ASSESSED:
            assert case.charge is not None
            if case.charge.objection_deadline is None:
                return "charge_notification"
            return "at" if today <= case.charge.objection_deadline else None
        return None

    def prepare_decision(self, choice: int) -> None:
        if choice != 7:  # now and then the clerk forgets: an approval is refused
            self.determine_connection_point(
                CLERK, NOW, "S 12-034", Decimal("2.40"), "Fahrbahnmitte"
            )
        if choice != 5:  # the documents that were missing arrive (or, now and then, not)
            if self.plans_missing():
                self.record_drainage_plans(CLERK, NOW, 0, 0)
            if self.authorisation_missing():
                self.record_owner_authorisation(CLERK, NOW, 1, "power_of_attorney")

    # --------------------------------------------------- the connection's own

    @rule(
        actor=actors,
        at_kind=at_kinds,
        manhole=st.sampled_from(["S 12-034", "S 12-034", " ", "X" * 41]),
        depth=st.sampled_from(
            [Decimal("0.4"), Decimal("0.5"), Decimal("2.40"), Decimal("12"), Decimal("12.5")]
        ),
        description=texts,
    )
    def determine_connection_point(
        self, actor: Actor, at_kind: str, manhole: str, depth: Decimal, description: str
    ) -> None:
        def expect(_today: date) -> str | None:
            if not clean(manhole) or len(manhole.strip()) > 40:
                return "manhole"
            if not Decimal("0.5") <= depth <= 12:
                return "invert_depth_m"
            return None if clean(description) else "description"

        error = self._run(
            "determine_connection_point",
            actor,
            at_kind,
            lambda at: self.connection.determine_connection_point(
                actor=actor, at=at, manhole=manhole, invert_depth_m=depth, description=description
            ),
            expect,
        )
        if error is None:
            point = self.connection.connection_point
            assert point is not None
            assert (point.manhole, point.invert_depth_m) == (manhole.strip(), depth)
            assert point.description.reveal() == description.strip()

    @rule(
        actor=actors,
        at_kind=at_kinds,
        received_in_days=st.sampled_from([-1, 0, 0, 1]),
        dated_late=st.sampled_from([0, 0, 0, 1]),
    )
    def record_drainage_plans(
        self, actor: Actor, at_kind: str, received_in_days: int, dated_late: int
    ) -> None:
        """Plans received between the submission and today, none dated after receipt."""
        case = self.connection
        before = len(case.drainage_plans)

        def expect(today: date) -> str | None:
            received_on = today + timedelta(days=received_in_days)
            if not berlin_date(case.submitted_at) <= received_on <= today:
                return "received_on"
            return "plans[0].dated_on" if dated_late else None

        def act(at: Any) -> None:
            received_on = self.today + timedelta(days=received_in_days)
            case.record_drainage_plans(
                actor=actor,
                at=at,
                received_on=received_on,
                plans=[
                    (PlanKind.LONGITUDINAL_SECTION, received_on + timedelta(days=dated_late)),
                    (PlanKind.SITE_PLAN, received_on),
                ],
            )

        error = self._run("record_drainage_plans", actor, at_kind, act, expect)
        if error is None:
            assert len(case.drainage_plans) == before + 2
            assert not self.plans_missing()

    @rule(
        actor=actors,
        at_kind=at_kinds,
        signed_days_ago=st.sampled_from([-1, 0, 1, 30]),
        kind=st.sampled_from(["power_of_attorney", "consent"]),
    )
    def record_owner_authorisation(
        self, actor: Actor, at_kind: str, signed_days_ago: int, kind: str
    ) -> None:
        """Only where someone else applied; signed no later than today."""
        case = self.connection

        def expect(today: date) -> str | None:
            if case.application.applicant_is_owner:
                return "data.applicant_is_owner"
            return "signed_on" if signed_days_ago < 0 else None

        error = self._run(
            "record_owner_authorisation",
            actor,
            at_kind,
            lambda at: case.record_owner_authorisation(
                actor=actor,
                at=at,
                kind=kind,
                signed_on=self.today - timedelta(days=signed_days_ago),
            ),
            expect,
        )
        if error is None:
            assert case.owner_authorisation is not None
            assert case.owner_authorisation["kind"] == kind
            assert not self.authorisation_missing()

    @rule(
        actor=actors,
        at_kind=at_kinds,
        tested=relative_days,
        method=st.sampled_from(["water", "air", "air", "smoke"]),
        passed=st.booleans(),
    )
    def record_leak_test(
        self, actor: Actor, at_kind: str, tested: tuple[str, int], method: str, passed: bool
    ) -> None:
        """Between the completion (or the last leak test) and today; water or air."""
        case = self.connection
        tested_on = self._day(*tested)
        done = len(case.leak_tests)
        earliest = max(
            [case.construction_completed_on or date.min, *(t.tested_on for t in case.leak_tests)]
        )

        def expect(today: date) -> str | None:
            if not earliest <= tested_on <= today:
                return "tested_on"
            return "method" if method == "smoke" else None

        error = self._run(
            "record_leak_test",
            actor,
            at_kind,
            lambda at: case.record_leak_test(
                actor=actor,
                at=at,
                tested_on=tested_on,
                method=method,
                passed=passed,
                tester="Uwe Hartmann",
            ),
            expect,
        )
        if error is None:
            assert len(case.leak_tests) == done + 1
            last = case.leak_tests[-1]
            assert (last.tested_on, last.method, last.passed) == (tested_on, method, passed)
            assert isinstance(last.tester, PersonalData)
            assert last.tester.subject == "contractor"

    @rule(
        actor=actors,
        at_kind=at_kinds,
        completed=relative_days,
        length=pipe_lengths,
        built_by=st.sampled_from(["town", "town", "owner_contractor", "neighbour"]),
    )
    def report_construction(
        self,
        actor: Actor,
        at_kind: str,
        completed: tuple[str, int],
        length: Decimal,
        built_by: str = "town",
    ) -> None:
        """Only under a permit in force: from its first day, until it lapses, not in future."""
        completed_on = self._day(*completed)
        decision = self.connection.decision

        def expect(today: date) -> str | None:
            refusal = self.step_under_refusal(decision, completed_on, today, "completed_on")
            if refusal is not None:
                return refusal
            valid = 0 < length <= 200 and length == length.quantize(Decimal("0.01"))
            if not valid:
                return "pipe_length_m"
            return "built_by" if built_by == "neighbour" else None

        error = self._run(
            "report_construction",
            actor,
            at_kind,
            lambda at: self.connection.report_construction(
                actor=actor,
                at=at,
                completed_on=completed_on,
                pipe_length_m=length,
                built_by=built_by,
            ),
            expect,
        )
        if error is None:
            assert self.connection.status == SewerConnectionStatus.CONSTRUCTION_REPORTED
            assert self.connection.construction_completed_on == completed_on
            assert self.connection.pipe_length_m == length
            assert self.connection.built_by == built_by

    @rule(
        actor=actors,
        at_kind=at_kinds,
        inspected=relative_days,
        defects=st.one_of(
            st.just([]),
            st.lists(
                st.sampled_from(["Rückstauverschluss fehlt", "Gefälle zu gering", " "]),
                min_size=1,
                max_size=2,
            ),
        ),
        remedy_in_days=st.sampled_from([None, -1, 0, 1, 14]),
    )
    def inspect_connection(
        self,
        actor: Actor,
        at_kind: str,
        inspected: tuple[str, int],
        defects: list[str],
        remedy_in_days: int | None,
    ) -> None:
        """Defects need a deadline after the inspection; a re-inspection follows the last."""
        case = self.connection
        inspected_on = self._day(*inspected)
        remedy_by = None if remedy_in_days is None else inspected_on + timedelta(remedy_in_days)
        earliest = max([case.construction_completed_on or date.min, *case.acceptance.dates])
        done = len(case.acceptance.dates)

        def expect(today: date) -> str | None:
            refusal = self.inspection_refusal(earliest, inspected_on, today, defects, remedy_by)
            if refusal is None and not defects:
                # DIN EN 1610: accepted only leak-tested, after defects by a test since
                since = case.leak_tests[self.leak_tests_before_remedy :]
                tested = [
                    t
                    for t in since
                    if t.tested_on <= inspected_on
                    and (self.defects_found_on is None or t.tested_on >= self.defects_found_on)
                ]
                if not tested or not tested[-1].passed:
                    return "leak_test"
            return refusal

        error = self._run(
            "inspect_connection",
            actor,
            at_kind,
            lambda at: case.inspect_connection(
                actor=actor, at=at, inspected_on=inspected_on, defects=defects, remedy_by=remedy_by
            ),
            expect,
        )
        if error is None:
            if defects:
                self.leak_tests_before_remedy = len(case.leak_tests)
                self.defects_found_on = inspected_on
            assert len(case.acceptance.dates) == done + 1
            assert [d.reveal() for d in case.acceptance.open_defects] == [
                d.strip() for d in defects
            ]
            assert case.status == (
                SewerConnectionStatus.CONNECTION_DEFECTIVE
                if defects
                else SewerConnectionStatus.CONNECTION_ACCEPTED
            )

    @rule(
        actor=actors,
        at_kind=at_kinds,
        debtor=st.sampled_from([None, None, "Jonas Keller", " "]),
    )
    def assess_connection_charge(
        self, actor: Actor, at_kind: str, debtor: str | None = None
    ) -> None:
        """Only for the town's works; to the owner in the application or the debtor named."""
        case = self.connection

        def expect(_today: date) -> str | None:
            if case.built_by == ConnectionBuilder.OWNER_CONTRACTOR:
                return "built_by"
            return "debtor_name" if debtor is not None and not clean(debtor) else None

        error = self._run(
            "assess_connection_charge",
            actor,
            at_kind,
            lambda at: case.assess_connection_charge(actor=actor, at=at, debtor_name=debtor),
            expect,
        )
        if error is None:
            assert case.status == SewerConnectionStatus.CHARGE_ASSESSED
            assert case.charge is not None
            assert isinstance(case.charge.debtor, PersonalData)
            if debtor is None:
                assert case.charge.debtor is case.data["owner"]["name"]
            else:
                assert case.charge.debtor.subject == DEBTOR
                assert case.charge.debtor.reveal() == debtor.strip()

    @rule(
        actor=actors,
        at_kind=at_kinds,
        delivery=st.sampled_from([notification.Delivery.LETTER, notification.Delivery.COUNTER]),
        sent_days_ago=st.sampled_from([None, 0, 1, -1]),
    )
    def notify_connection_charge(
        self,
        actor: Actor,
        at_kind: str,
        delivery: notification.Delivery,
        sent_days_ago: int | None,
    ) -> None:
        """Sent once, on or after the assessment's day and not in the future."""
        case = self.connection
        charge = case.charge

        def expect(today: date) -> str | None:
            assert charge is not None
            if charge.notified_on is not None:
                return "charge_notification"
            sent = today - timedelta(days=sent_days_ago or 0)
            if sent < charge.assessed_on or sent > today:
                return "sent_on"
            return None

        error = self._run(
            "notify_connection_charge",
            actor,
            at_kind,
            lambda at: case.notify_connection_charge(
                actor=actor,
                at=at,
                delivery=delivery,
                sent_on=(
                    None if sent_days_ago is None else self.today - timedelta(days=sent_days_ago)
                ),
            ),
            expect,
        )
        if error is None:
            assert case.charge is not None
            assert case.charge.notified_on is not None
            assert case.charge.due_on == period_end(case.charge.notified_on, 1)

    # ------------------------------------------------------------ usual steps

    def take_the_service_step(self, choice: int) -> None:
        case = self.connection
        status = case.status
        decision = case.decision
        if status in (CaseStatus.NOTIFIED, CaseStatus.FINAL) and decision is not None:
            if not decision.outcome.is_approval:
                self.report_construction(CLERK, NOW, ("today", 0), Decimal("5"))  # refused
                if status == CaseStatus.NOTIFIED:
                    self._move_to(self._day("today", 40))
                    self.mark_final(CLERK, NOW)
                self.close(CLERK, NOW, None)
            elif choice >= 6 and status == CaseStatus.FINAL:  # never built: the permit lapses
                assert decision.expires_on is not None
                self._move_to(decision.expires_on)
                self.close(SUPERVISOR, NOW, "Genehmigung erloschen")  # refused on the last day
                self._move_to(decision.expires_on + timedelta(days=1))
                self.report_construction(APPLICANT, NOW, ("today", 0), Decimal("5"))  # lapsed
                self.close(SUPERVISOR, NOW, "Genehmigung erloschen")
            else:
                too_early_or_late = ("effective_from", -1) if choice % 2 else ("today", 1)
                self.report_construction(APPLICANT, NOW, too_early_or_late, Decimal("8.50"))
                length = Decimal("8.50") if choice % 2 else Decimal("14.25")
                builder = "owner_contractor" if choice == 5 else "town"
                self.report_construction(APPLICANT, NOW, ("today", 0), length, builder)
        elif status == SewerConnectionStatus.CONSTRUCTION_REPORTED:
            self.inspect_connection(CLERK, NOW, ("completed", -1), [], None)  # refused
            self.inspect_connection(CLERK, NOW, ("today", 0), [], None)  # refused: no leak test
            self.record_leak_test(APPLICANT, NOW, ("today", 0), "air", choice != 2)
            if choice <= 3:
                self.inspect_connection(
                    DELEGATED_CLERK, NOW, ("today", 0), ["Gefälle zu gering"], 10
                )
            else:
                self.inspect_connection(CLERK, NOW, ("today", 0), [], None)
        elif status == SewerConnectionStatus.CONNECTION_DEFECTIVE:
            self.inspect_connection(CLERK, NOW, ("inspected", -1), [], None)  # refused
            self.record_leak_test(CLERK, NOW, ("today", 0), "water", True)
            self.inspect_connection(
                SUPERVISOR,
                NOW,
                ("today", 0),
                [] if choice else ["Fugen"],
                7 if not choice else None,
            )
        elif status == SewerConnectionStatus.CONNECTION_ACCEPTED:
            self.assess_connection_charge(APPLICANT, NOW)  # refused: staff assess
            if case.built_by == ConnectionBuilder.OWNER_CONTRACTOR:
                self.assess_connection_charge(CLERK, NOW)  # refused: not the town's works
                self.settle_and_close("Anschluss durch Fachbetrieb des Eigentümers")
            else:
                self.close(CLERK, NOW, None)  # refused: the charge first
                self.assess_connection_charge(CLERK, NOW, "Jonas Keller" if choice % 2 else None)
        elif status == SewerConnectionStatus.CHARGE_ASSESSED:
            charge = case.charge
            assert charge is not None
            if charge.notified_on is None:
                self.close(CLERK, NOW, None)  # refused: the notice first
                delivery = (
                    notification.Delivery.LETTER if choice % 2 else (notification.Delivery.COUNTER)
                )
                self.notify_connection_charge(CLERK, NOW, delivery, None)
            elif charge.objection_deadline is not None:
                self._move_to(charge.objection_deadline)
                self.close(CLERK, NOW, None)  # refused: the period runs (or the permit's)
                self._move_to(charge.objection_deadline + timedelta(days=1))
                self.settle_and_close("Anschluss hergestellt und abgerechnet")

    # -------------------------------------------------------------- invariants

    @invariant()
    def decisions_follow_the_tariff_and_carry_the_standard_conditions(self) -> None:
        case = self.connection
        for decision in case.decisions:
            by_id = {r.rules_id: r for r in decision.rules}
            if decision.outcome.is_approval:
                decided_on = berlin_date(decision.decided_at)
                assert decision.fee == TARIFFS[0].permit_fee == Decimal("95.00")
                assert by_id[PERMIT_FEE_RULES_ID] == TARIFFS[0].permit()[1]
                assert by_id[CONDITIONS_RULES_ID] == STANDARD_CONDITIONS[0].record()
                # A term from the decision's day, until notified; from then, from its
                # Bekanntgabe (§ 43 HVwVfG). The term ends on the same date (§ 188 (2) BGB),
                # by the lapse rule every decision records now (those recorded before it
                # kept the day before: test_decision_record).
                assert by_id[LAPSE_RULES_ID] == LAPSES[0].record(decided_on)
                assert decision.valid_for_months == PERMIT_VALIDITY_MONTHS == LAPSES[0].months
                start = decision.notified_on or decided_on
                assert decision.expires_on == add_months(start, PERMIT_VALIDITY_MONTHS)
                assert decision.particulars["connection_point"] is not None
                assert decision.outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
            else:
                assert decision.fee is None
                assert decision.rules == ()
                assert decision.particulars == {}

    @invariant()
    def construction_lies_within_the_permit(self) -> None:
        case = self.connection
        built = case.status in BUILT or self.closed_from in BUILT
        assert (case.construction_completed_on is not None) is built
        assert (case.pipe_length_m is not None) is built
        if built:
            decision = case.decision
            assert decision is not None
            assert decision.outcome.is_approval
            assert decision.expires_on is not None
            completed_on = case.construction_completed_on
            assert completed_on is not None
            assert decision.effective_from <= completed_on <= decision.expires_on

    @invariant()
    def inspections_follow_the_construction_and_defects_have_deadlines(self) -> None:
        case = self.connection
        dates = case.acceptance.dates
        inspected = case.status in INSPECTED or self.closed_from in INSPECTED
        assert bool(dates) is inspected
        assert dates == sorted(dates)
        if dates:
            assert case.construction_completed_on is not None
            assert dates[0] >= case.construction_completed_on
        defective = case.status == SewerConnectionStatus.CONNECTION_DEFECTIVE
        assert bool(case.acceptance.open_defects) is defective
        assert (case.acceptance.remedy_by is not None) is defective
        if defective:
            assert case.acceptance.remedy_by is not None
            assert case.acceptance.remedy_by > dates[-1]
        if case.status in (
            SewerConnectionStatus.CONNECTION_ACCEPTED,
            SewerConnectionStatus.CHARGE_ASSESSED,
        ):
            assert case.acceptance.passed
            # accepted only on a passed leak test, on or before the day of the acceptance
            leak_test_on = case.accepted_on_leak_test_of
            assert leak_test_on is not None
            assert dates
            assert leak_test_on <= dates[-1]
            assert any(t.passed and t.tested_on == leak_test_on for t in case.leak_tests)

    @invariant()
    def a_permit_had_its_documents(self) -> None:
        case = self.connection
        for decision in case.decisions:
            if decision.outcome.is_approval:
                assert not self.plans_missing()
                assert not self.authorisation_missing()

    @invariant()
    def the_charge_follows_the_tariff_for_the_pipe_laid(self) -> None:
        case = self.connection
        assessed = (
            case.status == SewerConnectionStatus.CHARGE_ASSESSED
            or self.closed_from == SewerConnectionStatus.CHARGE_ASSESSED
        )
        assert (case.connection_charge is not None) is assessed
        if assessed:
            assert case.pipe_length_m is not None
            assert case.built_by == ConnectionBuilder.TOWN  # only the town's works are charged
            built_on = case.finally_built_on
            assert built_on is not None
            tariff = in_force(TARIFFS, built_on)  # § 12 Abs. 2 KAG: the day of completion
            amount, applied = tariff.connection_charge(case.drainage, case.pipe_length_m)
            assert case.connection_charge == amount
            assert case.charge_rules == applied
            assert case.service_state()["connection_charge"] == amount
            charge = case.charge
            assert charge is not None
            assert charge.tariff_day == built_on
            assert charge.remedy_notice is not None
            assert charge.payment_note is not None
            if charge.notified_on is not None:
                assert charge.due_on == period_end(charge.notified_on, 1)
                assert charge.objection_deadline == period_end(charge.notified_on, 1)
                assert charge.notification is not None
                ids = [r.rules_id for r in charge.notification["rules"]]
                assert ids == [notification.RULES_ID, CHARGE_DUE_RULES_ID]


SewerConnectionMachine.TestCase.settings = SETTINGS
TestSewerConnectionLifecycle = SewerConnectionMachine.TestCase
