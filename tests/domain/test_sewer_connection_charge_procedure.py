"""The sewer connection's procedure law: documents before the permit, the leak test before
the acceptance, and the connection charge as a notice of its own (§ 12 KAG Hessen)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand
from domain.personal_data import PersonalData
from domain.rules import notification
from domain.rules import sewer_connection as rules
from domain.rules.versions import STATUTES
from domain.services.sewer_connection import (
    DEBTOR,
    ConnectionBuilder,
    SewerConnection,
    SewerConnectionApplication,
    SewerConnectionStatus,
    example,
)
from domain.working_days import is_working_day, period_end
from tests.domain.case_fixtures import CLERK, SUPERVISOR, noon, service_case, sewer_permit_decided

DECIDED_ON = date(2026, 3, 4)
TARIFF_2027 = replace(
    rules.TARIFFS[-1],
    version="2027-01",
    valid_from=date(2027, 1, 1),
    combined=Decimal("2000.00"),
    included_length_m=Decimal("8.00"),
    per_metre_beyond=Decimal("180.00"),
)
WITH_2027 = STATUTES.amended(rules.TARIFFS, (*rules.TARIFFS, TARIFF_2027))
PERMIT = {
    "outcome": DecisionOutcome.APPROVED_WITH_CONDITIONS,
    "justification": "Der Anschluss entspricht der Entwässerungssatzung.",
    "legal_basis": "§ 12 Entwässerungssatzung",
}


def built(
    completed_on: date,
    built_by: ConnectionBuilder = ConnectionBuilder.TOWN,
    pipe_length_m: str = "10.00",
) -> SewerConnection:
    """A permit of 4 March 2026, handed over that day, and the connection built that day."""
    permit = sewer_permit_decided(DECIDED_ON)
    permit.notify(actor=CLERK, at=noon(DECIDED_ON))
    permit.report_construction(
        actor=CLERK,
        at=noon(completed_on),
        completed_on=completed_on,
        pipe_length_m=Decimal(pipe_length_m),
        built_by=built_by,
    )
    return permit


def leak_tested(permit: SewerConnection, on: date, *, passed: bool = True) -> None:
    permit.record_leak_test(
        actor=CLERK,
        at=noon(on),
        tested_on=on,
        method="water",
        passed=passed,
        tester="Uwe Hartmann, Kanaltechnik Weiltal",
    )


def accepted(permit: SewerConnection, on: date) -> SewerConnection:
    leak_tested(permit, on)
    permit.inspect_connection(actor=CLERK, at=noon(on), inspected_on=on, defects=[])
    return permit


def refused_on(field: str, act: Any) -> InvalidCommand:
    with pytest.raises(InvalidCommand) as refused:
        act()
    assert refused.value.field == field, refused.value
    return refused.value


# ------------------------------------------------------------- the tariff day


def test_the_charge_takes_the_tariff_of_the_day_the_connection_was_built_not_assessed() -> None:
    """§ 12 Abs. 2 KAG: the claim arose with the final completion, under the old tariff."""
    with WITH_2027.applied():
        permit = accepted(built(date(2026, 12, 30)), date(2027, 1, 5))
        permit.assess_connection_charge(actor=CLERK, at=noon(date(2027, 1, 12)))
    assert permit.charge_rules is not None
    assert permit.charge_rules.version == "2025-01"
    # combined 1850.00, 10 m included: nothing beyond
    assert permit.connection_charge == Decimal("1850.00")
    assert permit.charge is not None
    assert permit.charge.tariff_day == date(2026, 12, 30)


def test_built_after_the_new_tariff_took_effect_the_new_tariff_applies() -> None:
    with WITH_2027.applied():
        permit = accepted(built(date(2027, 1, 1)), date(2027, 1, 4))
        permit.assess_connection_charge(actor=CLERK, at=noon(date(2027, 1, 12)))
    assert permit.charge_rules is not None
    assert permit.charge_rules.version == "2027-01"
    # 2027-01: combined 2000.00 + (10.00 m - 8.00 m) x 180.00 = 2360.00
    assert permit.connection_charge == Decimal("2360.00")


def test_after_defects_the_connection_is_built_for_good_on_the_day_it_was_accepted() -> None:
    """Defective, it was not yet usable: the accepting re-inspection marks the completion."""
    with WITH_2027.applied():
        permit = built(date(2026, 12, 28))
        permit.inspect_connection(
            actor=CLERK,
            at=noon(date(2026, 12, 29)),
            inspected_on=date(2026, 12, 29),
            defects=["Gefälle zu gering"],
            remedy_by=date(2027, 1, 15),
        )
        assert permit.finally_built_on is None
        accepted(permit, date(2027, 1, 8))
        assert permit.finally_built_on == date(2027, 1, 8)
        permit.assess_connection_charge(actor=CLERK, at=noon(date(2027, 1, 12)))
    assert permit.charge_rules is not None
    assert permit.charge_rules.version == "2027-01"


@given(
    completed=st.integers(min_value=-20, max_value=20),
    accepted_after=st.integers(min_value=0, max_value=20),
    assessed_after=st.integers(min_value=0, max_value=40),
)
def test_the_tariff_is_always_the_one_in_force_on_the_day_of_completion(
    completed: int, accepted_after: int, assessed_after: int
) -> None:
    completed_on = TARIFF_2027.valid_from + timedelta(days=completed)
    accepted_on = completed_on + timedelta(days=accepted_after)
    with WITH_2027.applied():
        permit = accepted(built(completed_on), accepted_on)
        permit.assess_connection_charge(
            actor=CLERK, at=noon(accepted_on + timedelta(days=assessed_after))
        )
    assert permit.charge_rules is not None
    expected = "2027-01" if completed_on >= TARIFF_2027.valid_from else "2025-01"
    assert permit.charge_rules.version == expected
    assert permit.charge_rules.inputs["pipe_length_m"] == "10.00"


# ----------------------------------------------------------- the assessment


def test_the_assessment_names_the_owner_as_debtor_its_basis_and_its_remedy_notice() -> None:
    permit = accepted(built(date(2026, 4, 1)), date(2026, 4, 2))
    permit.assess_connection_charge(actor=CLERK, at=noon(date(2026, 4, 3)))
    charge = permit.charge
    assert charge is not None
    assert isinstance(charge.debtor, PersonalData)
    assert charge.debtor.subject == "owner"  # the owner in the application
    assert charge.debtor.reveal() == "Sabine Roth"
    assert charge.debtor_address is None
    assert charge.legal_basis is not None
    assert "§ 12 KAG" in charge.legal_basis
    assert "§ 11 Abs. 7 KAG" in charge.legal_basis
    assert charge.remedy_notice is not None
    assert "Widerspruch" in charge.remedy_notice.text
    assert charge.payment_note is not None
    assert "§ 80 Abs. 2 Satz 1 Nr. 1" in charge.payment_note
    assert charge.issuing_authority == "Der Magistrat der Stadt Usingen"
    assert charge.due_on is None
    assert charge.notified_on is None
    state = permit.service_state()["charge_assessment"]
    assert state["debtor"] is charge.debtor
    assert state["amount"] == Decimal("1850.00")


def test_a_plot_sold_since_the_application_is_charged_to_its_owner_at_the_bekanntgabe() -> None:
    permit = accepted(built(date(2026, 4, 1)), date(2026, 4, 2))
    permit.assess_connection_charge(
        actor=CLERK,
        at=noon(date(2026, 4, 3)),
        debtor_name="Jonas Keller",
        debtor_address="Lindenstraße 4, 61250 Usingen",
    )
    charge = permit.charge
    assert charge is not None
    assert isinstance(charge.debtor, PersonalData)
    assert charge.debtor.subject == DEBTOR
    assert charge.debtor.reveal() == "Jonas Keller"
    assert isinstance(charge.debtor_address, PersonalData)
    assert charge.debtor_address.subject == DEBTOR


def test_a_debtor_name_of_blanks_is_refused() -> None:
    permit = accepted(built(date(2026, 4, 1)), date(2026, 4, 2))
    refused_on(
        "debtor_name",
        lambda: permit.assess_connection_charge(
            actor=CLERK, at=noon(date(2026, 4, 3)), debtor_name="  "
        ),
    )


@given(
    sent_after=st.integers(min_value=0, max_value=400),
    delivery=st.sampled_from([notification.Delivery.LETTER, notification.Delivery.COUNTER]),
)
def test_the_charge_falls_due_a_month_after_its_bekanntgabe_on_a_working_day(
    sent_after: int, delivery: notification.Delivery
) -> None:
    permit = accepted(built(date(2026, 4, 1)), date(2026, 4, 2))
    permit.assess_connection_charge(actor=CLERK, at=noon(date(2026, 4, 3)))
    sent_on = date(2026, 4, 3) + timedelta(days=sent_after)
    permit.notify_connection_charge(
        actor=CLERK, at=noon(sent_on + timedelta(days=10)), delivery=delivery, sent_on=sent_on
    )
    charge = permit.charge
    assert charge is not None
    assert charge.notified_on is not None
    assert charge.due_on is not None
    assert charge.notified_on == notification.rule_on(sent_on).notified_on(delivery, sent_on, None)
    assert charge.due_on == period_end(charge.notified_on, 1)
    assert is_working_day(charge.due_on)  # § 193 BGB
    assert charge.notified_on + timedelta(days=28) <= charge.due_on
    assert charge.objection_deadline == period_end(charge.notified_on, 1)  # § 70 VwGO
    assert charge.notification is not None
    assert [r.rules_id for r in charge.notification["rules"]] == [
        notification.RULES_ID,
        rules.CHARGE_DUE_RULES_ID,
    ]


def test_a_letter_posted_on_a_thursday_counts_as_notified_the_next_monday() -> None:
    permit = accepted(built(date(2026, 4, 1)), date(2026, 4, 2))
    permit.assess_connection_charge(actor=CLERK, at=noon(date(2026, 4, 3)))
    # Posted Thursday 16 April 2026: the fourth day is Monday 20 April; due 20 May.
    permit.notify_connection_charge(
        actor=CLERK,
        at=noon(date(2026, 4, 16)),
        delivery=notification.Delivery.LETTER,
        sent_on=date(2026, 4, 16),
    )
    assert permit.charge is not None
    assert permit.charge.notified_on == date(2026, 4, 20)
    assert permit.charge.due_on == date(2026, 5, 20)


def test_a_charge_notice_is_sent_once_and_not_before_it_was_assessed() -> None:
    permit = accepted(built(date(2026, 4, 1)), date(2026, 4, 2))
    permit.assess_connection_charge(actor=CLERK, at=noon(date(2026, 4, 3)))
    refused_on(
        "sent_on",
        lambda: permit.notify_connection_charge(
            actor=CLERK, at=noon(date(2026, 4, 3)), sent_on=date(2026, 4, 2)
        ),
    )
    refused_on(
        "sent_on",
        lambda: permit.notify_connection_charge(
            actor=CLERK, at=noon(date(2026, 4, 3)), sent_on=date(2026, 4, 4)
        ),
    )
    permit.notify_connection_charge(actor=CLERK, at=noon(date(2026, 4, 3)))
    refused_on(
        "charge_notification",
        lambda: permit.notify_connection_charge(actor=CLERK, at=noon(date(2026, 4, 4))),
    )


def test_the_file_closes_only_once_the_charge_notice_is_unchallengeable_by_time() -> None:
    permit = accepted(built(date(2026, 5, 4)), date(2026, 5, 5))
    permit.assess_connection_charge(actor=CLERK, at=noon(date(2026, 5, 6)))
    refused_on("charge_notification", lambda: permit.close(actor=CLERK, at=noon(date(2026, 5, 6))))
    permit.notify_connection_charge(
        actor=CLERK, at=noon(date(2026, 5, 6)), delivery=notification.Delivery.COUNTER
    )
    assert permit.charge is not None
    deadline = permit.charge.objection_deadline
    assert deadline == date(2026, 6, 8)  # 6 June is a Saturday: Monday 8 June
    refused_on("at", lambda: permit.close(actor=CLERK, at=noon(deadline)))
    permit.close(actor=SUPERVISOR, at=noon(deadline + timedelta(days=1)))
    assert permit.status == "closed"


# ------------------------------------------------- works the town carried out


def test_no_charge_for_a_connection_the_owners_contractor_built_and_the_file_closes() -> None:
    permit = accepted(built(date(2026, 5, 4), ConnectionBuilder.OWNER_CONTRACTOR), date(2026, 5, 5))
    assert permit.service_state()["built_by"] == "owner_contractor"
    refused_on(
        "built_by",
        lambda: permit.assess_connection_charge(actor=CLERK, at=noon(date(2026, 5, 6))),
    )
    permit.close(actor=CLERK, at=noon(date(2026, 5, 6)))
    assert permit.status == "closed"
    assert permit.connection_charge is None


def test_a_connection_the_town_built_is_not_closed_without_its_charge() -> None:
    permit = accepted(built(date(2026, 5, 4)), date(2026, 5, 5))
    assert permit.status == SewerConnectionStatus.CONNECTION_ACCEPTED
    refused_on("connection_charge", lambda: permit.close(actor=CLERK, at=noon(date(2026, 5, 6))))


def test_an_unknown_builder_is_refused() -> None:
    permit = sewer_permit_decided(DECIDED_ON)
    permit.notify(actor=CLERK, at=noon(DECIDED_ON))
    refused_on(
        "built_by",
        lambda: permit.report_construction(
            actor=CLERK,
            at=noon(DECIDED_ON),
            completed_on=DECIDED_ON,
            pipe_length_m=Decimal("5.00"),
            built_by="neighbour",
        ),
    )


# ------------------------------------------------------------- the leak test


def test_an_acceptance_needs_a_passed_leak_test_on_or_before_its_day() -> None:
    permit = built(date(2026, 5, 4))

    def accept(on: date) -> None:
        permit.inspect_connection(actor=CLERK, at=noon(on), inspected_on=on, defects=[])

    refused_on("leak_test", lambda: accept(date(2026, 5, 5)))
    leak_tested(permit, date(2026, 5, 5), passed=False)
    refused_on("leak_test", lambda: accept(date(2026, 5, 5)))  # it failed
    leak_tested(permit, date(2026, 5, 7))
    refused_on("leak_test", lambda: accept(date(2026, 5, 6)))  # the passed one came later
    accept(date(2026, 5, 7))
    assert permit.status == SewerConnectionStatus.CONNECTION_ACCEPTED
    assert permit.accepted_on_leak_test_of == date(2026, 5, 7)
    tests = permit.service_state()["leak_tests"]
    assert [(t["tested_on"], t["result"]) for t in tests] == [
        (date(2026, 5, 5), "failed"),
        (date(2026, 5, 7), "passed"),
    ]
    assert tests[0]["tester"].subject == "contractor"


def test_defects_are_recorded_without_a_leak_test() -> None:
    permit = built(date(2026, 5, 4))
    permit.inspect_connection(
        actor=CLERK,
        at=noon(date(2026, 5, 5)),
        inspected_on=date(2026, 5, 5),
        defects=["Dichtheitsprüfung fehlt"],
        remedy_by=date(2026, 5, 12),
    )
    assert permit.status == SewerConnectionStatus.CONNECTION_DEFECTIVE


def test_a_leak_test_lies_between_the_completion_or_the_last_test_and_today() -> None:
    permit = built(date(2026, 5, 4))
    for day, at in ((date(2026, 5, 3), date(2026, 5, 5)), (date(2026, 5, 6), date(2026, 5, 5))):
        refused_on(
            "tested_on",
            lambda day=day, at=at: permit.record_leak_test(
                actor=CLERK, at=noon(at), tested_on=day, method="air", passed=True, tester="T"
            ),
        )
    leak_tested(permit, date(2026, 5, 5))
    refused_on("tested_on", lambda: leak_tested(permit, date(2026, 5, 4)))
    refused_on(
        "method",
        lambda: permit.record_leak_test(
            actor=CLERK,
            at=noon(date(2026, 5, 6)),
            tested_on=date(2026, 5, 6),
            method="smoke",
            passed=True,
            tester="T",
        ),
    )


# ----------------------------------------- documents before the permit


def in_review(**form_changes: Any) -> SewerConnection:
    data = {**example(DECIDED_ON), **form_changes}
    form = SewerConnectionApplication.model_validate(data)
    permit = service_case(SewerConnection, "sewer-connection", form, at=noon(DECIDED_ON))
    permit.confirm_complete(actor=CLERK, at=noon(DECIDED_ON))
    permit.claim(actor=CLERK, at=noon(DECIDED_ON))
    permit.determine_connection_point(
        actor=CLERK,
        at=noon(DECIDED_ON),
        manhole="S 1",
        invert_depth_m=Decimal("2.00"),
        description="Mitte",
    )
    return permit


def decide(permit: SewerConnection) -> None:
    permit.decide(actor=CLERK, at=noon(DECIDED_ON + timedelta(days=1)), **PERMIT)  # type: ignore[arg-type]


def test_a_permit_needs_the_site_plan_and_the_longitudinal_section() -> None:
    permit = in_review(drainage_plans=[{"kind": "site_plan", "dated_on": "2026-02-01"}])
    error = refused_on("drainage_plans", lambda: decide(permit))
    assert "longitudinal_section" in str(error)
    refused_on(
        "plans[0].dated_on",
        lambda: permit.record_drainage_plans(
            actor=CLERK,
            at=noon(DECIDED_ON),
            received_on=DECIDED_ON,
            plans=[(rules.PlanKind.LONGITUDINAL_SECTION, DECIDED_ON + timedelta(days=1))],
        ),
    )
    permit.record_drainage_plans(
        actor=CLERK,
        at=noon(DECIDED_ON),
        received_on=DECIDED_ON,
        plans=[(rules.PlanKind.LONGITUDINAL_SECTION, date(2026, 3, 1))],
    )
    assert [p["kind"] for p in permit.drainage_plans] == ["site_plan", "longitudinal_section"]
    assert permit.drainage_plans[1]["received_on"] == DECIDED_ON
    decide(permit)
    assert permit.decision is not None
    assert permit.decision.outcome.is_approval


def test_a_refusal_needs_no_plans() -> None:
    permit = in_review(drainage_plans=[])
    permit.decide(
        actor=CLERK,
        at=noon(DECIDED_ON + timedelta(days=1)),
        outcome=DecisionOutcome.REJECTED,
        justification="Kein Kanal in der Straße.",
        legal_basis="§ 3 Entwässerungssatzung",
    )
    assert permit.decision is not None


def test_someone_other_than_the_owner_needs_the_owners_written_authorisation() -> None:
    permit = in_review(applicant_is_owner=False)
    refused_on("owner_authorisation", lambda: decide(permit))
    refused_on(
        "signed_on",
        lambda: permit.record_owner_authorisation(
            actor=CLERK, at=noon(DECIDED_ON), kind="consent", signed_on=date(2026, 3, 5)
        ),
    )
    permit.record_owner_authorisation(
        actor=CLERK, at=noon(DECIDED_ON), kind="power_of_attorney", signed_on=date(2026, 2, 27)
    )
    assert permit.service_state()["owner_authorisation"] == {
        "kind": "power_of_attorney",
        "signed_on": date(2026, 2, 27),
    }
    decide(permit)


def test_an_authorisation_in_the_form_suffices_and_the_owner_needs_none() -> None:
    with_form = in_review(
        applicant_is_owner=False,
        owner_authorisation={"kind": "consent", "signed_on": "2026-02-20"},
    )
    decide(with_form)
    owner = in_review()
    refused_on(
        "data.applicant_is_owner",
        lambda: owner.record_owner_authorisation(
            actor=CLERK, at=noon(DECIDED_ON), kind="consent", signed_on=DECIDED_ON
        ),
    )


def test_after_defects_the_acceptance_needs_a_leak_test_recorded_since() -> None:
    """A test passed before the inspection that found the defects shows nothing about the
    connection as remedied (DIN EN 1610): the acceptance needs a new one."""
    permit = built(date(2026, 3, 9))
    leak_tested(permit, date(2026, 3, 9))
    permit.inspect_connection(
        actor=CLERK,
        at=noon(date(2026, 3, 10)),
        inspected_on=date(2026, 3, 10),
        defects=["Muffe undicht, Leitung neu verlegen"],
        remedy_by=date(2026, 3, 24),
    )
    refused = refused_on(
        "leak_test",
        lambda: permit.inspect_connection(
            actor=CLERK, at=noon(date(2026, 3, 20)), inspected_on=date(2026, 3, 20), defects=[]
        ),
    )
    assert "after the defects" in str(refused)
    leak_tested(permit, date(2026, 3, 9))  # the test before the inspection, reported late
    refused_on(
        "leak_test",
        lambda: permit.inspect_connection(
            actor=CLERK, at=noon(date(2026, 3, 20)), inspected_on=date(2026, 3, 20), defects=[]
        ),
    )
    leak_tested(permit, date(2026, 3, 19))
    permit.inspect_connection(
        actor=CLERK, at=noon(date(2026, 3, 20)), inspected_on=date(2026, 3, 20), defects=[]
    )
    assert permit.status == SewerConnectionStatus.CONNECTION_ACCEPTED
    assert permit.accepted_on_leak_test_of == date(2026, 3, 19)
