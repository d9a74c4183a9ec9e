"""The letters a case issues: recorded with their hash, sent, and what their delivery sets.

A completed delivery of the decision in force sets its Bekanntgabe by the notification rules:
a letter from the day the print service posted it, the postbox and the portal from the day
after retrieval, the counter that day; a failed sending sets nothing.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.documents import Channel, DocumentKind, Outcome, cash_reference, luhn_digit
from domain.errors import InvalidCommand, WrongTenant
from domain.lifecycle import CaseStatus
from domain.rules import notification
from domain.services.sewer_connection import DEBTOR
from domain.timers import SCHEDULER_ID
from tests.domain.case_fixtures import APPLICANT, CLERK, START, decided, in_review, noon
from tests.domain.test_sewer_connection_charge_procedure import accepted, built

SHA = "ab" * 32
DECIDED_ON = (START + timedelta(days=1)).date()  # Tuesday 3 March 2026


def issued(case: Case, kind: DocumentKind = DocumentKind.DECISION, on: date = DECIDED_ON) -> int:
    return case.issue_document(
        actor=CLERK,
        at=noon(on),
        kind=kind,
        sha256=SHA,
        size=1234,
        template="vorgang-letters-test",
        seal="test seal",
        subjects=("applicant", "case-text"),
        cash_reference=case.cash_reference_for(kind, case.next_document_number()),
    )


def sent(case: Case, channel: Channel, on: date = DECIDED_ON, number: int = 1) -> None:
    case.send_document(
        actor=CLERK, at=noon(on), number=number, channel=channel, reference=f"{channel}-ref"
    )


def refused_on(field: str, act: Any) -> InvalidCommand:
    with pytest.raises(InvalidCommand) as refused:
        act()
    assert refused.value.field == field, refused.value
    return refused.value


# ------------------------------------------------------------------ issuing


def test_an_issued_decision_is_recorded_with_its_hash_template_seal_and_decision() -> None:
    case = decided()
    number = issued(case)
    document = case.document(number)
    assert number == 1
    assert (document.kind, document.title) == (DocumentKind.DECISION, "Bescheid")
    assert (document.sha256, document.size, document.seal) == (SHA, 1234, "test seal")
    assert document.refers_to == 1
    assert document.addressee == "applicant"
    assert not document.automatic  # a clerk issued it: it names them
    assert document.issued_by.id == CLERK.id
    assert document.dispatches == ()
    assert type(case.collect_events()[-1]).__name__ == "DocumentIssued"


def test_no_decision_no_bescheid_and_no_information_request_without_one_open() -> None:
    case = in_review()
    refused_on("kind", lambda: issued(case))
    refused_on("kind", lambda: issued(case, DocumentKind.INFORMATION_REQUEST))
    refused_on("kind", lambda: issued(case, DocumentKind.OBJECTION_DECISION))
    refused_on("kind", lambda: issued(case, DocumentKind.CHARGE_ASSESSMENT))
    assert case.issued_documents == ()


def test_an_open_information_request_is_issued_as_a_letter() -> None:
    case = in_review()
    case.request_information(
        actor=CLERK,
        at=noon(DECIDED_ON),
        questions=["Bitte reichen Sie den Lageplan ein."],
        reply_by=DECIDED_ON + timedelta(days=14),
        missing_documents=True,
    )
    assert issued(case, DocumentKind.INFORMATION_REQUEST) == 1
    assert case.document(1).refers_to is None


def test_the_applicant_cannot_issue_and_the_hash_must_be_a_sha256() -> None:
    case = decided()
    with pytest.raises(InvalidCommand):
        case.issue_document(
            actor=APPLICANT,
            at=noon(DECIDED_ON),
            kind=DocumentKind.DECISION,
            sha256=SHA,
            size=1,
            template="t",
            seal="s",
            subjects=(),
        )
    for wrong in ("ab" * 31, "AB" * 32, "zz" * 32):
        refused_on(
            "sha256",
            lambda wrong=wrong: case.issue_document(
                actor=CLERK,
                at=noon(DECIDED_ON),
                kind=DocumentKind.DECISION,
                sha256=wrong,
                size=1,
                template="t",
                seal="s",
                subjects=(),
            ),
        )


def test_a_fee_gets_a_kassenzeichen_with_a_check_digit_and_no_fee_none() -> None:
    with_fee = decided(fee="120.00")
    issued(with_fee)
    reference = with_fee.document(1).cash_reference
    assert reference == "011-26-000001-01-" + str(luhn_digit("01126000001" + "01"))
    without = decided()
    issued(without)
    assert without.document(1).cash_reference is None
    refused_on(
        "cash_reference",
        lambda: with_fee.issue_document(
            actor=CLERK,
            at=noon(DECIDED_ON),
            kind=DocumentKind.DECISION,
            sha256=SHA,
            size=1,
            template="t",
            seal="s",
            subjects=(),
            cash_reference=None,
        ),
    )


@given(st.integers(0, 10**13 - 1), st.integers(0, 12), st.integers(0, 9))
def test_the_kassenzeichen_check_digit_catches_any_single_mistyped_digit(
    value: int, position: int, replacement: int
) -> None:
    digits = f"{value:013d}"
    typed = digits[:position] + str(replacement) + digits[position + 1 :]
    if typed != digits:
        assert luhn_digit(typed) != luhn_digit(digits)


def test_the_kassenzeichen_names_town_year_case_and_document() -> None:
    assert cash_reference("06434011", 2026, 12, 3).startswith("011-26-000012-03-")


# ------------------------------------------------------------------ delivery and Bekanntgabe


def test_a_postbox_message_retrieved_notifies_the_decision_the_day_after() -> None:
    case = decided()
    issued(case)
    sent(case, Channel.POSTBOX)
    case.report_delivery(
        actor=CLERK, at=noon(DECIDED_ON), number=1, outcome=Outcome.ACCEPTED, on=DECIDED_ON
    )
    assert case.notified_on is None  # accepted is not retrieved
    retrieved = date(2026, 3, 9)
    case.report_delivery(
        actor=CLERK, at=noon(retrieved), number=1, outcome=Outcome.RETRIEVED, on=retrieved
    )
    assert case.notified_on == date(2026, 3, 10)
    assert case.status == CaseStatus.NOTIFIED
    notified = case.collect_events()[-1]
    assert type(notified).__name__ == "Notified"
    assert notified.delivery == notification.Delivery.POSTBOX.value  # type: ignore[attr-defined]
    assert notified.sent_on == DECIDED_ON  # type: ignore[attr-defined]
    assert notified.actor.id == SCHEDULER_ID  # type: ignore[attr-defined]


def test_a_letter_counts_from_the_posting_day_the_print_service_reported() -> None:
    case = decided()
    issued(case)
    sent(case, Channel.LETTER)
    posted = date(2026, 3, 4)  # Wednesday: the fourth day after is Sunday, so Monday
    case.report_delivery(actor=CLERK, at=noon(posted), number=1, outcome=Outcome.POSTED, on=posted)
    assert case.notified_on == date(2026, 3, 9)
    assert case.notification == {"delivery": "letter", "sent_on": posted, "received_on": None}


def test_handed_over_at_the_counter_the_decision_is_notified_that_day() -> None:
    case = decided()
    issued(case)
    sent(case, Channel.COUNTER)
    assert case.notified_on == DECIDED_ON
    assert case.document(1).delivered


def test_the_applicant_retrieving_from_the_portal_notifies_the_next_day_and_nothing_else() -> None:
    case = decided()
    issued(case)
    sent(case, Channel.PORTAL)
    refused_on(
        "outcome",
        lambda: case.report_delivery(
            actor=APPLICANT, at=noon(DECIDED_ON), number=1, outcome=Outcome.FAILED, on=DECIDED_ON
        ),
    )
    day = date(2026, 3, 5)
    case.report_delivery(actor=APPLICANT, at=noon(day), number=1, outcome=Outcome.RETRIEVED, on=day)
    assert case.notified_on == date(2026, 3, 6)
    reported = [e for e in case.collect_events() if type(e).__name__ == "DeliveryReported"]
    assert reported[-1].actor.id == APPLICANT.id  # type: ignore[attr-defined]


def test_a_failed_postbox_sets_nothing_and_the_letter_that_follows_does() -> None:
    case = decided()
    issued(case)
    sent(case, Channel.POSTBOX)
    refused_on("channel", lambda: sent(case, Channel.LETTER))  # the postbox has not answered
    failed_on = date(2026, 3, 13)
    refused_on(
        "failure",
        lambda: case.report_delivery(
            actor=CLERK, at=noon(failed_on), number=1, outcome=Outcome.FAILED, on=failed_on
        ),
    )
    case.report_delivery(
        actor=CLERK,
        at=noon(failed_on),
        number=1,
        outcome=Outcome.FAILED,
        on=failed_on,
        failure="nicht innerhalb von 10 Tagen abgerufen",
    )
    assert case.notified_on is None
    sent(case, Channel.LETTER, failed_on)
    case.report_delivery(
        actor=CLERK, at=noon(failed_on), number=1, outcome=Outcome.POSTED, on=failed_on
    )
    assert case.notified_on == date(2026, 3, 17)  # Friday + 4 = Tuesday
    assert [d.channel for d in case.document(1).dispatches] == [Channel.POSTBOX, Channel.LETTER]


def test_outcomes_a_channel_cannot_report_or_report_twice_are_refused() -> None:
    case = decided()
    issued(case)
    refused_on(
        "number",
        lambda: case.report_delivery(
            actor=CLERK, at=noon(DECIDED_ON), number=1, outcome=Outcome.POSTED, on=DECIDED_ON
        ),
    )
    sent(case, Channel.LETTER)
    refused_on(
        "outcome",
        lambda: case.report_delivery(
            actor=CLERK, at=noon(DECIDED_ON), number=1, outcome=Outcome.RETRIEVED, on=DECIDED_ON
        ),
    )
    refused_on(
        "on",
        lambda: case.report_delivery(
            actor=CLERK,
            at=noon(DECIDED_ON),
            number=1,
            outcome=Outcome.POSTED,
            on=DECIDED_ON - timedelta(days=1),
        ),
    )
    refused_on(
        "on",
        lambda: case.report_delivery(
            actor=CLERK,
            at=noon(DECIDED_ON),
            number=1,
            outcome=Outcome.POSTED,
            on=DECIDED_ON + timedelta(days=1),
        ),
    )
    case.report_delivery(
        actor=CLERK, at=noon(DECIDED_ON), number=1, outcome=Outcome.POSTED, on=DECIDED_ON
    )
    refused_on(
        "outcome",
        lambda: case.report_delivery(
            actor=CLERK, at=noon(DECIDED_ON), number=1, outcome=Outcome.POSTED, on=DECIDED_ON
        ),
    )
    refused_on("number", lambda: case.document(2))


def test_a_paper_application_has_no_postbox() -> None:
    case = decided()
    case.channel = "counter"  # as a paper application is submitted
    issued(case)
    refused_on("channel", lambda: sent(case, Channel.POSTBOX))
    paper = decided()
    paper.submitted_by = "clerk:anna.schmidt"
    issued(paper)
    refused_on("channel", lambda: sent(paper, Channel.POSTBOX))


def test_a_letter_of_a_replaced_decision_sets_no_bekanntgabe_for_the_new_one() -> None:
    case = decided()
    issued(case)
    sent(case, Channel.LETTER)
    case.notify(actor=CLERK, at=noon(DECIDED_ON))  # handed over at the counter meanwhile
    posted = date(2026, 3, 5)
    case.report_delivery(actor=CLERK, at=noon(posted), number=1, outcome=Outcome.POSTED, on=posted)
    assert case.notified_on == DECIDED_ON  # the first Bekanntgabe stands
    assert case.document(1).delivered


def test_documents_are_issued_and_sent_by_staff_of_the_town_only() -> None:
    case = decided()
    foreign = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
    with pytest.raises(WrongTenant):
        case.issue_document(
            actor=foreign,
            at=noon(DECIDED_ON),
            kind=DocumentKind.DECISION,
            sha256=SHA,
            size=1,
            template="t",
            seal="s",
            subjects=(),
        )


# ------------------------------------------------------------------ the charge assessment


def test_the_charge_assessment_goes_to_its_debtor_by_letter_and_its_posting_notifies_it() -> None:
    permit = accepted(built(date(2026, 3, 20)), date(2026, 3, 23))
    permit.assess_connection_charge(
        actor=CLERK,
        at=noon(date(2026, 3, 24)),
        debtor_name="Grundstücksgesellschaft Weiltal mbH",
        debtor_address="Am Hang 3, 61250 Usingen",
    )
    number = issued(permit, DocumentKind.CHARGE_ASSESSMENT, date(2026, 3, 24))
    document = permit.document(number)
    assert document.addressee == DEBTOR
    assert document.cash_reference is not None
    refused_on("channel", lambda: sent(permit, Channel.POSTBOX, date(2026, 3, 24), number))
    refused_on("channel", lambda: sent(permit, Channel.PORTAL, date(2026, 3, 24), number))
    sent(permit, Channel.LETTER, date(2026, 3, 24), number)
    permit.report_delivery(
        actor=CLERK,
        at=noon(date(2026, 3, 25)),
        number=number,
        outcome=Outcome.POSTED,
        on=date(2026, 3, 25),
    )
    assert permit.charge is not None
    assert permit.charge.notified_on == date(2026, 3, 30)  # Wednesday + 4 = Sunday → Monday


def test_an_approval_with_a_fee_and_conditions_names_them_all_in_its_record() -> None:
    case = in_review()
    case.decide(
        actor=CLERK,
        at=noon(DECIDED_ON),
        outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
        justification="Die Voraussetzungen liegen vor.",
        legal_basis="§ 16 HStrG",
        conditions=["Die Baustelle ist abzusichern."],
        fee=Decimal("80.00"),
        hearing_held_on=DECIDED_ON,
    )
    issued(case)
    assert case.cash_reference_for(DocumentKind.DECISION, 1) == case.document(1).cash_reference


# ------------------------------------------------------------------ review (issue #22)


def erased(case: Case, *subjects: str) -> None:
    """The keys of these subjects were destroyed and the erasure recorded."""
    admin = Actor("root", "Admin Person", Role.ADMIN, "usingen")
    case.record_erasure(
        actor=admin,
        at=noon(DECIDED_ON),
        subjects=list(subjects),
        reason="Löschersuchen",
        legal_basis="Art. 17 DSGVO",
    )


def test_no_letter_is_issued_or_sent_to_an_addressee_whose_data_was_erased() -> None:
    case = decided()
    issued(case)
    erased(case, "applicant")
    refused_on("addressee", lambda: case.check_issue(DocumentKind.DECISION))
    refused_on("addressee", lambda: issued(case))
    for channel in Channel:
        refused_on("channel", lambda channel=channel: sent(case, channel))
    assert case.issued_documents[0].dispatches == ()


def test_erasing_the_case_text_alone_leaves_the_applicant_addressable() -> None:
    case = decided()
    erased(case, "case-text")
    assert case.check_issue(DocumentKind.DECISION) == 1
    issued(case)
    sent(case, Channel.LETTER)


def test_after_a_withdrawal_nothing_is_sent_but_what_the_channels_report_is_recorded() -> None:
    case = decided()
    issued(case)
    issued(case)
    sent(case, Channel.LETTER)
    sent(case, Channel.POSTBOX, number=2)
    case.withdraw(actor=APPLICANT, at=noon(DECIDED_ON))
    refused_on("status", lambda: issued(case))
    refused_on(
        "status",
        lambda: case.check_send(
            actor=CLERK, at=noon(DECIDED_ON), number=1, channel=Channel.COUNTER
        ),
    )
    posted = date(2026, 3, 4)
    case.report_delivery(actor=CLERK, at=noon(posted), number=1, outcome=Outcome.POSTED, on=posted)
    system = Actor(SCHEDULER_ID, "Vorgang", Role.SYSTEM, "usingen")
    case.report_delivery(
        actor=system, at=noon(posted), number=2, outcome=Outcome.RETRIEVED, on=posted
    )
    assert [d.latest.outcome for d in case.issued_documents if d.latest] == [
        Outcome.POSTED,
        Outcome.RETRIEVED,
    ]
    assert (case.status, case.notified_on) == (CaseStatus.WITHDRAWN, None)


def test_a_charge_assessment_notified_by_hand_still_records_its_letters_posting() -> None:
    permit = accepted(built(date(2026, 3, 20)), date(2026, 3, 23))
    permit.assess_connection_charge(
        actor=CLERK,
        at=noon(date(2026, 3, 24)),
        debtor_name="Grundstücksgesellschaft Weiltal mbH",
        debtor_address="Am Hang 3, 61250 Usingen",
    )
    number = issued(permit, DocumentKind.CHARGE_ASSESSMENT, date(2026, 3, 24))
    sent(permit, Channel.LETTER, date(2026, 3, 24), number)
    permit.notify_connection_charge(actor=CLERK, at=noon(date(2026, 3, 24)))  # recorded by hand
    assert permit.charge is not None
    by_hand = permit.charge.notified_on
    posted = date(2026, 3, 25)
    permit.report_delivery(
        actor=CLERK, at=noon(posted), number=number, outcome=Outcome.POSTED, on=posted
    )
    assert permit.document(number).delivered
    assert permit.charge.notified_on == by_hand
