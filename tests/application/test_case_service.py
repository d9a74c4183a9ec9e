"""The lifecycle through the application layer, on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.cases import CaseService
from application.clock import FixedClock
from application.errors import (
    CaseNotFound,
    IdempotencyConflict,
    UnknownService,
    VersionMismatch,
)
from application.identities import CaseIdentities
from application.store import VorgangStore
from application.views import CaseState
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand, InvalidTransition
from domain.services import traffic_sign_order
from domain.services.catalogue import SERVICES
from infrastructure.database import DatabaseTarget
from persistence.transcodings import PersonalDataInClear
from tests.conftest import (
    APPLICANT,
    CLERK,
    DELEGATED_CLERK,
    FOREIGN_CLERK,
    SUPERVISOR,
)
from tests.steps import decided, pay_at_the_cash_office, submitted, take


def submit(cases: CaseService, key: str | None = None, tenant: str = "usingen") -> CaseState:
    result = cases.submit(
        actor=replace(APPLICANT, tenant=tenant),  # the portal of the applicant's town
        tenant=tenant,
        service="general",
        applicant={"name": "Max Mustermann", "email": "max@example.org"},
        data={"subject": "Umzug"},
        idempotency_key=key,
    )
    return cases.get(result.case_id, actor=CLERK if tenant == "usingen" else FOREIGN_CLERK)


def approve(cases: CaseService, case_id, outcome=DecisionOutcome.APPROVED) -> None:  # type: ignore[no-untyped-def]
    decided(
        cases,
        case_id,
        outcome=outcome,
        justification="Die Voraussetzungen liegen vor.",
        conditions=["Baustelle absichern"]
        if outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
        else None,
        # the clerk's own condition burdens the applicant: heard first (§ 28 (1) HVwVfG)
        hearing_held_on=date(2026, 3, 2)
        if outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
        else None,
    )


def test_approval_path_from_submission_to_closed_file(
    cases: CaseService, clock: FixedClock
) -> None:
    case = submit(cases)
    assert case.reference == "USI-2026-000001"
    approve(cases, case.id, DecisionOutcome.APPROVED_WITH_CONDITIONS)
    take(cases, case.id, "notify", actor=CLERK, delivery="counter")
    notified = cases.get(case.id, actor=CLERK)
    assert notified.notification == {
        "delivery": "counter",
        "sent_on": date(2026, 3, 2),
        "received_on": None,
    }
    assert notified.notified_on == date(2026, 3, 2)
    assert notified.objection_deadline == date(2026, 4, 2)
    assert notified.final_on is None
    clock.advance(timedelta(days=40))
    take(cases, case.id, "mark_final", actor=CLERK)
    result = take(cases, case.id, "close", actor=CLERK)
    state = cases.get(case.id, actor=CLERK)
    assert state.status == "closed"
    assert state.final_on == date(2026, 4, 3)  # the day after the objection period
    assert state.version == result.version == 7
    assert result.position is not None
    assert state.decision is not None
    assert state.decision["conditions"] == ["Baustelle absichern"]
    assert state.decision["provisions"] == [{"kind": "requirement", "text": "Baustelle absichern"}]
    assert state.decision["legal_remedy_notice"] == state.decision["remedy_notice"]["text"]
    assert "Magistrat der Stadt Usingen" in state.decision["legal_remedy_notice"]
    assert state.decision["hearing"] == {"held_on": date(2026, 3, 2), "not_needed_because": None}
    history = cases.history(case.id, actor=CLERK)
    assert [h.type for h in history] == [
        "Submitted",
        "Claimed",
        "CompletenessConfirmed",
        "Decided",
        "Notified",
        "BecameFinal",
        "Closed",
    ]
    for entry in history:
        assert entry.actor is not None
        assert entry.actor["name"]
        assert entry.at is not None
        assert entry.recorded_at is not None


def test_rejection_path(cases: CaseService) -> None:
    case = submit(cases)
    approve(cases, case.id, DecisionOutcome.REJECTED)
    assert cases.get(case.id, actor=CLERK).decision["outcome"] == "rejected"  # type: ignore[index]


def test_withdrawal_path(cases: CaseService) -> None:
    case = submit(cases)
    take(cases, case.id, "withdraw", actor=APPLICANT, reason="Vorhaben aufgegeben")
    take(cases, case.id, "close", actor=CLERK)
    history = cases.history(case.id, actor=CLERK)
    assert history[1].type == "Withdrawn"
    assert history[1].reason == "Vorhaben aufgegeben"


def test_information_request_path(cases: CaseService, clock: FixedClock) -> None:
    case = submit(cases)
    take(cases, case.id, "confirm_complete", actor=CLERK)
    due = cases.get(case.id, actor=CLERK).due_on
    take(
        cases,
        case.id,
        "request_information",
        actor=CLERK,
        questions=["Bitte Lageplan"],
        reply_by=date(2026, 3, 20),
        missing_documents=False,
    )
    clock.advance(timedelta(days=7))
    take(cases, case.id, "provide_information", actor=APPLICANT, answer="Lageplan anbei")
    state = cases.get(case.id, actor=CLERK)
    assert state.status == "in_review"
    assert state.due_on is not None
    assert due is not None
    assert state.due_on > due
    take(
        cases,
        case.id,
        "extend_period",
        actor=CLERK,
        working_days=10,
        reason="Stellungnahme Polizei",
    )
    assert cases.get(case.id, actor=CLERK).period_extended


def test_objection_remedied_heard_and_forwarded_paths(cases: CaseService) -> None:
    remedied, heard = submit(cases, "a"), submit(cases, "b")
    for case in (remedied, heard):
        approve(cases, case.id)
        take(cases, case.id, "notify", actor=CLERK, delivery="counter")
        take(cases, case.id, "lodge_objection", actor=CLERK, grounds="Auflage unverhältnismäßig")
        lodged = cases.get(case.id, actor=CLERK)
        assert lodged.status == "notified"  # the objection is beside the main track
        assert [(o["state"], o["timely"]) for o in lodged.objections] == [("pending", True)]
        assert lodged.objections[0]["grounds"] == "Auflage unverhältnismäßig"
    take(cases, remedied.id, "remedy_objection", actor=CLERK, reason="begründet")
    again = cases.get(remedied.id, actor=CLERK)
    assert again.status == "in_review"  # the replacing decision is due
    assert again.decision is None
    assert again.objections[0]["state"] == "remedied"
    assert again.objections[0]["remedy"]["costs"]["borne_by"] == "authority"

    # Self-government: the town decides after the Anhörungsausschuss heard the objection;
    # there is no authority to forward it to.
    dismissal: dict[str, Any] = {
        "outcome": "dismissed",
        "reasons": "Die Auflage ist erforderlich.",
        "costs_borne_by": "objector",
        "served_on": date(2026, 3, 2),
    }
    assert "forward_objection" not in cases.get(heard.id, actor=CLERK).allowed_commands
    with pytest.raises(InvalidTransition):
        take(cases, heard.id, "forward_objection", actor=CLERK, reason="keine Abhilfe")
    with pytest.raises(InvalidCommand, match="hearing before the Anhörungsausschuss") as error:
        take(cases, heard.id, "decide_objection", actor=CLERK, **dismissal)
    assert error.value.field == "objection"
    with pytest.raises(InvalidCommand) as error:
        take(
            cases,
            heard.id,
            "hear_objection",
            actor=CLERK,
            held_on=date(2026, 3, 2),
            committee="Kreisausschuss",
        )
    assert error.value.field == "committee"  # only the town's configured committee
    take(cases, heard.id, "hear_objection", actor=CLERK, held_on=date(2026, 3, 2))
    take(cases, heard.id, "decide_objection", actor=CLERK, **dismissal)
    decided = cases.get(heard.id, actor=CLERK)
    assert decided.objections[0]["state"] == "decided"
    assert decided.objections[0]["hearing_committee"].startswith("Anhörungsausschuss")

    # Road traffic: the supervising authority decides, so the file goes there first.
    forwarded = submitted(cases, "traffic-sign-order", traffic_sign_order.example(date(2026, 3, 2)))
    decided_order(cases, forwarded)
    take(cases, forwarded, "notify", actor=CLERK, delivery="counter")
    take(cases, forwarded, "lodge_objection", actor=CLERK, grounds="Zone zu lang")
    assert "hear_objection" not in cases.get(forwarded, actor=CLERK).allowed_commands
    with pytest.raises(InvalidCommand, match="forward the objection") as error:
        take(cases, forwarded, "decide_objection", actor=CLERK, **dismissal)
    assert error.value.field == "objection"
    with pytest.raises(InvalidCommand) as error:
        take(
            cases,
            forwarded,
            "forward_objection",
            actor=CLERK,
            authority="Kreisausschuss",
            reason="keine Abhilfe",
        )
    assert error.value.field == "authority"  # only the town's configured authority
    take(cases, forwarded, "forward_objection", actor=CLERK, reason="keine Abhilfe")
    sent_on = cases.get(forwarded, actor=CLERK)
    assert sent_on.status == "notified"
    assert sent_on.objections[0]["state"] == "forwarded"
    assert sent_on.objections[0]["forwarded_to"].startswith("Der Landrat des Hochtaunuskreises")
    assert "decide_objection" in sent_on.allowed_commands
    assert "mark_final" not in sent_on.allowed_commands  # a timely objection is open


def decided_order(cases: CaseService, case_id: UUID) -> None:
    """A traffic sign order refused at the road traffic authority's discretion."""
    decided(
        cases,
        case_id,
        outcome=DecisionOutcome.REJECTED,
        justification="Die Ladezone genügt.",
        legal_basis="§ 45 Abs. 1 StVO",
        discretion="Der Parkraum der Anwohner überwiegt.",
    )


def test_notes_and_release(cases: CaseService) -> None:
    case = submit(cases)
    take(cases, case.id, "claim", actor=CLERK)
    take(cases, case.id, "add_note", actor=CLERK, text="Rückruf vereinbart")
    take(cases, case.id, "release", actor=CLERK, reason="Zuständigkeit geklärt")
    assert cases.get(case.id, actor=CLERK).holder_id is None


def test_a_retry_with_the_same_key_and_request_returns_the_same_case(cases: CaseService) -> None:
    first = cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant={"name": "A"},
        data={"subject": "eins"},
        idempotency_key="key-1",
    )
    again = cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant={"name": "A"},
        data={"subject": "eins"},
        idempotency_key="key-1",
    )
    assert first.created
    assert not again.created
    assert again.case_id == first.case_id
    assert again.reference == first.reference
    with pytest.raises(IdempotencyConflict):
        cases.submit(
            actor=APPLICANT,
            tenant="usingen",
            service="general",
            applicant={"name": "A"},
            data={"subject": "zwei"},
            idempotency_key="key-1",
        )


def test_without_a_key_every_submission_is_a_new_case(cases: CaseService) -> None:
    assert submit(cases).id != submit(cases).id


def test_references_count_per_tenant_and_year(cases: CaseService) -> None:
    refs = [submit(cases).reference for _ in range(3)]
    assert refs == ["USI-2026-000001", "USI-2026-000002", "USI-2026-000003"]
    assert submit(cases, tenant="schmitten").reference == "SMI-2026-000001"


def test_a_stale_expected_version_is_refused_and_changes_nothing(cases: CaseService) -> None:
    case = submit(cases)
    take(cases, case.id, "claim", actor=CLERK, expected_version=1)
    with pytest.raises(VersionMismatch) as raised:
        take(cases, case.id, "add_note", actor=CLERK, text="x", expected_version=1)
    assert raised.value.actual == 2
    assert cases.get(case.id, actor=CLERK).version == 2


def test_state_as_of_a_version_and_past_the_head(cases: CaseService) -> None:
    case = submit(cases)
    take(cases, case.id, "claim", actor=CLERK)
    assert cases.get(case.id, actor=CLERK, version=1).holder_id is None
    assert cases.get(case.id, actor=CLERK, version=2).holder_id == CLERK.id
    with pytest.raises(CaseNotFound):
        cases.get(case.id, actor=CLERK, version=3)


def test_an_invalid_transition_is_refused_and_stores_nothing(cases: CaseService) -> None:
    case = submit(cases)
    with pytest.raises(InvalidTransition):
        take(cases, case.id, "notify", actor=CLERK, delivery="counter")
    assert len(cases.history(case.id, actor=CLERK)) == 1


def test_a_clerk_of_another_town_cannot_see_or_touch_the_case(cases: CaseService) -> None:
    case = submit(cases)
    with pytest.raises(CaseNotFound):
        cases.get(case.id, actor=FOREIGN_CLERK)
    with pytest.raises(CaseNotFound):
        take(cases, case.id, "claim", actor=FOREIGN_CLERK)
    with pytest.raises(CaseNotFound):
        cases.history(case.id, actor=FOREIGN_CLERK)
    take(cases, case.id, "claim", actor=DELEGATED_CLERK)  # Neu-Anspach processes it for Usingen


def test_unknown_cases_and_services_are_named(cases: CaseService) -> None:
    with pytest.raises(CaseNotFound):
        cases.get(uuid4(), actor=CLERK)
    with pytest.raises(UnknownService, match=r"offered: (.+, )?general, "):
        cases.submit(
            actor=APPLICANT, tenant="usingen", service="moon-landing", applicant={}, data={}
        )


def test_a_fresh_store_instance_replays_the_same_state(
    cases: CaseService, target: DatabaseTarget, clock: FixedClock
) -> None:
    case = submit(cases)
    approve(cases, case.id)
    take(cases, case.id, "notify", actor=CLERK, delivery="letter")
    take(cases, case.id, "lodge_objection", actor=CLERK, grounds="Auflage unverhältnismäßig")
    before = cases.get(case.id, actor=SUPERVISOR)
    fresh = VorgangStore(env=target.env, personal_data=PersonalDataInClear())
    try:
        again = CaseService(fresh, clock, cases.identities).get(case.id, actor=SUPERVISOR)
    finally:
        fresh.close()
    assert again == before


def test_an_applicant_submits_only_in_the_town_of_their_portal(cases: CaseService) -> None:
    from domain.errors import WrongTenant

    with pytest.raises(WrongTenant):
        cases.submit(
            actor=APPLICANT,
            tenant="schmitten",
            service="general",
            applicant={"name": "A"},
            data={"subject": "s"},
        )


def test_the_processing_clock_shows_whether_it_is_overdue_today_and_stops_with_the_decision(
    cases: CaseService, clock: FixedClock
) -> None:
    case = submit(cases)
    take(cases, case.id, "claim", actor=CLERK)
    take(cases, case.id, "confirm_complete", actor=CLERK)
    running = cases.get(case.id, actor=CLERK)
    assert running.due_on is not None
    assert (running.overdue, running.deemed_approval, running.decided_on) == (False, False, None)
    clock.set(clock.now() + timedelta(days=(running.due_on - date(2026, 3, 2)).days + 1))
    assert cases.get(case.id, actor=CLERK).overdue is True  # the day after the due date
    take(
        cases,
        case.id,
        "decide",
        actor=CLERK,
        outcome=DecisionOutcome.REJECTED,
        justification="verspätet",
        legal_basis="§ 1",
    )
    decided_late = cases.get(case.id, actor=CLERK)
    assert decided_late.overdue is False  # the decision stopped the clock
    assert decided_late.decided_on == running.due_on + timedelta(days=1)
    assert decided_late.due_on == running.due_on  # as recorded
    assert cases.get(case.id, actor=CLERK, version=3).overdue is None  # no "today" for a past


def test_a_period_paused_for_the_applicant_is_not_overdue_and_may_still_be_extended(
    cases: CaseService, clock: FixedClock
) -> None:
    paused, missing = submit(cases, "a"), submit(cases, "b")
    for case in (paused, missing):
        take(cases, case.id, "claim", actor=CLERK)
        take(cases, case.id, "confirm_complete", actor=CLERK)
    due = cases.get(paused.id, actor=CLERK).due_on
    assert due is not None
    take(
        cases,
        paused.id,
        "request_information",
        actor=CLERK,
        questions=["Bitte Lageplan"],
        reply_by=due + timedelta(days=30),
    )
    take(
        cases,
        missing.id,
        "request_information",
        actor=CLERK,
        questions=["Der Lageplan fehlt."],
        reply_by=due + timedelta(days=30),
        missing_documents=True,
    )
    clock.set(clock.now() + timedelta(days=(due - date(2026, 3, 2)).days + 5))
    waiting = cases.get(paused.id, actor=CLERK)
    assert waiting.due_on == due  # as recorded: it moves on by the days waited
    assert waiting.overdue is False  # waiting for the applicant, not late
    # The due date moves on when the applicant answers: not over yet, so extended still.
    assert "extend_period" in waiting.allowed_commands
    take(cases, paused.id, "extend_period", actor=CLERK, working_days=5, reason="Gutachten")
    assert cases.get(paused.id, actor=CLERK).period_extended
    # Missing documents restart the period once complete: nothing to extend meanwhile.
    stopped = cases.get(missing.id, actor=CLERK)
    assert (stopped.due_on, stopped.overdue) == (None, False)
    assert "extend_period" not in stopped.allowed_commands


class PaidBeforeIssue(Case):
    """A case type whose fee is paid before the decision is issued (the payment gate)."""

    PAYMENT_BEFORE_ISSUE = True


def test_a_remedy_refunds_the_fee_paid_and_the_state_shows_the_costs_decision(
    store: VorgangStore, clock: FixedClock
) -> None:
    definition = replace(SERVICES["general"], id="paid", case_class=PaidBeforeIssue)
    cases = CaseService(
        store, clock, CaseIdentities(b"test-secret-0123456789"), {"paid": definition}
    )
    case_id = cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="paid",
        applicant={"name": "A"},
        data={"subject": "s"},
    ).case_id
    decided(cases, case_id, fee=Decimal("25.00"))
    pay_at_the_cash_office(cases, case_id)
    take(cases, case_id, "notify", actor=CLERK, delivery="counter")
    take(cases, case_id, "lodge_objection", actor=CLERK, grounds="Gebühr zu hoch")
    with pytest.raises(InvalidCommand, match=r"fee_refund: must not exceed the fee the decision"):
        take(cases, case_id, "remedy_objection", actor=CLERK, reason="r", fee_refund=Decimal("30"))
    take(
        cases,
        case_id,
        "remedy_objection",
        actor=CLERK,
        reason="Die Gebühr war nicht geschuldet.",
        fee_refund=Decimal("25.00"),
        new_decision=False,
        operative_part="Die Gebührenfestsetzung wird aufgehoben.",
    )
    state = cases.get(case_id, actor=CLERK)
    assert state.status == "notified"  # no new decision: the main track stays
    [objection] = state.objections
    assert objection["state"] == "remedied"
    assert objection["remedy"]["costs"] == {
        "borne_by": "authority",
        "legal_basis": "§ 72 VwGO, § 80 HVwVfG",
        "fee": None,
        "fee_refund": "25.00",
    }
    assert objection["remedy"]["reasons"] == "Die Gebühr war nicht geschuldet."
    assert objection["remedy"]["operative_part"] == "Die Gebührenfestsetzung wird aufgehoben."
