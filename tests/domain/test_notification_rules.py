"""Bekanntgabe by delivery type (§ 41 HVwVfG), over sent days across years.

Properties over sent days from 2020 to 2030, weighted to the days where the rule has edges:
month ends, leap days, the change from three to four days on 1 January 2025, and the days
from which the presumed day lands on a weekend or a Hessian public holiday. Both sides of
the weekend rule are tested through the ``RuleBook`` amendment a town following the older
Hessian line would use. On the case: the objection period, a validity and the fee's due date
run from the Bekanntgabe (§ 43 (1) HVwVfG), not from the day of the decision.
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.case import Case
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand
from domain.rules import notification
from domain.rules.notification import RULES, Delivery, NotificationRule, rule_on
from domain.rules.versions import STATUTES, RuleBook
from domain.services.sewer_connection import (
    PERMIT_VALIDITY_MONTHS,
)
from domain.working_days import add_months, period_end
from tests.domain.case_fixtures import (
    CLERK,
    headstone_permit_decided,
    noon,
    sewer_permit_decided,
    submitted,
)

FIRST_YEAR, LAST_YEAR = 2020, 2030
FOUR_DAYS_FROM = date(2025, 1, 1)
HESSIAN_HOLIDAYS = frozenset(
    holidays.country_holidays("DE", subdiv="HE", years=range(FIRST_YEAR, LAST_YEAR + 2))
)
PRESUMED = (Delivery.LETTER, Delivery.ELECTRONIC)


def working(day: date) -> bool:
    """Monday to Friday and no public holiday in Hessen (the oracle, apart from the domain's)."""
    return day.weekday() < 5 and day not in HESSIAN_HOLIDAYS


def days_after_posting(sent_on: date) -> int:
    """Three days until 2024, four from 1 January 2025 (Postrechtsmodernisierungsgesetz)."""
    return 3 if sent_on < FOUR_DAYS_FROM else 4


def edge_days() -> list[date]:
    """Sent days where the rule has an edge: month ends and their next day, leap days, the
    change of the rule, and every day from which the presumed day is not a working day."""
    days: set[date] = {date(2024, 12, 31), date(2025, 1, 1), date(2024, 12, 28)}
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        for month in range(1, 13):
            last = date(year, month, calendar.monthrange(year, month)[1])
            days |= {last, last - timedelta(days=1), last + timedelta(days=1)}
        if calendar.isleap(year):
            days |= {date(year, 2, 29) - timedelta(days=n) for n in range(5)}
    for holiday in HESSIAN_HOLIDAYS:
        days |= {holiday - timedelta(days=3), holiday - timedelta(days=4)}
    start = date(FIRST_YEAR, 1, 1)
    for offset in range((date(LAST_YEAR, 12, 31) - start).days):
        day = start + timedelta(days=offset)
        if not working(day + timedelta(days=days_after_posting(day))):
            days.add(day)
    return sorted(d for d in days if FIRST_YEAR <= d.year <= LAST_YEAR)


EDGES = edge_days()
sent_days = st.one_of(
    st.dates(min_value=date(FIRST_YEAR, 1, 1), max_value=date(LAST_YEAR, 12, 31)),
    st.sampled_from(EDGES),
)
receipt_offsets = st.integers(min_value=0, max_value=12)
PROPERTIES = settings(max_examples=150, deadline=None)

# A town following the older Hessian line (HessVGH, OS IV 97/65): the presumed day holds on a
# Saturday, Sunday or holiday too. Its table amends the statute's; the version says so.
STAYS = tuple(
    replace(
        rule,
        version=f"{rule.version}-ohne-verschiebung",
        moves_off_non_working_days=False,
        authority="HessVGH, OS IV 97/65",
    )
    for rule in RULES
)
OLDER_HESSIAN_LINE = STATUTES.amended(RULES, STAYS)


# ------------------------------------------------------------------- the rule by delivery


@PROPERTIES
@given(sent_on=sent_days, delivery=st.sampled_from(PRESUMED))
def test_a_letter_counts_as_notified_on_the_presumed_day_moved_to_a_working_day(
    sent_on: date, delivery: Delivery
) -> None:
    rule = rule_on(sent_on)
    days = days_after_posting(sent_on)
    assert rule.days_after_posting == days
    notified_on = rule.notified_on(delivery, sent_on, None)
    presumed = sent_on + timedelta(days=days)
    assert notified_on >= presumed > sent_on
    assert working(notified_on)
    skipped = [presumed + timedelta(days=n) for n in range((notified_on - presumed).days)]
    assert not any(working(day) for day in skipped)  # only weekends and holidays skipped
    assert (notified_on == presumed) is working(presumed)


@PROPERTIES
@given(sent_on=sent_days, delivery=st.sampled_from(PRESUMED), later=receipt_offsets)
def test_a_later_receipt_wins_and_an_earlier_one_does_not_bring_the_day_forward(
    sent_on: date, delivery: Delivery, later: int
) -> None:
    rule = rule_on(sent_on)
    presumed = rule.notified_on(delivery, sent_on, None)
    received_on = sent_on + timedelta(days=later)
    notified_on = rule.notified_on(delivery, sent_on, received_on)
    assert notified_on == max(presumed, received_on)
    assert notified_on >= sent_on


@PROPERTIES
@given(sent_on=sent_days)
def test_handed_over_at_the_counter_counts_on_that_very_day(sent_on: date) -> None:
    rule = rule_on(sent_on)
    assert rule.notified_on(Delivery.COUNTER, sent_on, None) == sent_on
    assert rule.notified_on(Delivery.COUNTER, sent_on, sent_on) == sent_on
    with pytest.raises(InvalidCommand) as refused:
        rule.notified_on(Delivery.COUNTER, sent_on, sent_on + timedelta(days=1))
    assert refused.value.field == "received_on"


@PROPERTIES
@given(sent_on=sent_days, retrieved_after=receipt_offsets)
def test_made_available_in_the_portal_counts_the_day_after_retrieval(
    sent_on: date, retrieved_after: int
) -> None:
    rule = rule_on(sent_on)
    retrieved_on = sent_on + timedelta(days=retrieved_after)
    # § 41 (2a): the day after retrieval, whatever day of the week that is.
    notified_on = rule.notified_on(Delivery.PORTAL, sent_on, retrieved_on)
    assert notified_on == retrieved_on + timedelta(days=1)
    with pytest.raises(InvalidCommand) as refused:
        rule.notified_on(Delivery.PORTAL, sent_on, None)
    assert refused.value.field == "received_on"


@PROPERTIES
@given(sent_on=sent_days, served_after=receipt_offsets)
def test_formal_service_counts_on_the_day_on_the_certificate(
    sent_on: date, served_after: int
) -> None:
    rule = rule_on(sent_on)
    served_on = sent_on + timedelta(days=served_after)
    assert rule.notified_on(Delivery.FORMAL_SERVICE, sent_on, served_on) == served_on
    with pytest.raises(InvalidCommand) as refused:
        rule.notified_on(Delivery.FORMAL_SERVICE, sent_on, None)
    assert refused.value.field == "received_on"


@PROPERTIES
@given(sent_on=sent_days, delivery=st.sampled_from(Delivery), earlier=st.integers(1, 30))
def test_nothing_is_received_before_it_was_sent(
    sent_on: date, delivery: Delivery, earlier: int
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        rule_on(sent_on).notified_on(delivery, sent_on, sent_on - timedelta(days=earlier))
    assert refused.value.field == "received_on"


@PROPERTIES
@given(
    sent_on=sent_days,
    delivery=st.sampled_from(Delivery),
    received_after=st.one_of(st.none(), receipt_offsets),
)
def test_no_delivery_counts_as_notified_before_it_was_sent(
    sent_on: date, delivery: Delivery, received_after: int | None
) -> None:
    received_on = None if received_after is None else sent_on + timedelta(days=received_after)
    if (
        delivery in (Delivery.PORTAL, Delivery.POSTBOX, Delivery.FORMAL_SERVICE)
        and received_on is None
    ):
        received_on = sent_on
    if delivery is Delivery.COUNTER:
        received_on = None
    notified_on = rule_on(sent_on).notified_on(delivery, sent_on, received_on)
    assert notified_on >= sent_on
    assert notified_on >= (received_on or sent_on)


# -------------------------------------------------------------------- the rule's versions


@pytest.mark.parametrize(
    ("sent_on", "version", "notified_on"),
    [
        (date(2024, 12, 27), "he-3-tage", date(2024, 12, 30)),  # Friday + 3: Monday
        (date(2024, 12, 30), "he-3-tage", date(2025, 1, 2)),  # over New Year, still 3 days
        (date(2024, 12, 31), "he-3-tage", date(2025, 1, 3)),
        (date(2025, 1, 1), "2025-4-tage", date(2025, 1, 6)),  # Sunday the 5th: Monday
        (date(2024, 12, 22), "he-3-tage", date(2024, 12, 27)),  # Christmas Day and Boxing Day
        (date(2024, 2, 26), "he-3-tage", date(2024, 2, 29)),  # the leap day, a Thursday
        (date(2028, 2, 25), "2025-4-tage", date(2028, 2, 29)),  # the leap day, a Tuesday
        (date(2025, 1, 28), "2025-4-tage", date(2025, 2, 3)),  # 1 February a Saturday
        (date(2026, 3, 30), "2025-4-tage", date(2026, 4, 7)),  # Good Friday to Easter Monday
        (date(2026, 5, 31), "2025-4-tage", date(2026, 6, 5)),  # Corpus Christi, a Thursday
        (date(2026, 9, 29), "2025-4-tage", date(2026, 10, 5)),  # German Unity Day, a Saturday
        (date(2027, 1, 2), "2025-4-tage", date(2027, 1, 6)),  # Epiphany: no holiday in Hessen
    ],
)
def test_the_presumed_day_of_a_letter_by_the_rule_in_force_when_it_was_posted(
    sent_on: date, version: str, notified_on: date
) -> None:
    rule = rule_on(sent_on)
    assert rule.version == version
    assert rule.notified_on(Delivery.LETTER, sent_on, None) == notified_on


def test_the_notification_records_the_rule_version_and_its_inputs() -> None:
    rule = rule_on(date(2026, 3, 4))
    day = rule.notified_on(Delivery.LETTER, date(2026, 3, 4), None)
    recorded = rule.record(Delivery.LETTER, date(2026, 3, 4), None, day)
    assert recorded.rules_id == notification.RULES_ID
    assert recorded.version == "2025-4-tage"
    assert recorded.inputs == {
        "delivery": "letter",
        "sent_on": "2026-03-04",
        "received_on": None,
        "days_after_posting": 4,
        "moves_off_non_working_days": True,
        "notified_on": "2026-03-09",  # Sunday the 8th moves to Monday
    }


# ------------------------------------------------------ both sides of the weekend rule


@PROPERTIES
@given(sent_on=sent_days, delivery=st.sampled_from(PRESUMED))
def test_a_town_on_the_older_line_keeps_the_presumed_day_even_on_a_weekend(
    sent_on: date, delivery: Delivery
) -> None:
    moved = rule_on(sent_on).notified_on(delivery, sent_on, None)
    with OLDER_HESSIAN_LINE.applied():
        rule = rule_on(sent_on)
        stays = rule.notified_on(delivery, sent_on, None)
    assert not rule.moves_off_non_working_days
    assert rule.version.endswith("-ohne-verschiebung")
    assert stays == sent_on + timedelta(days=days_after_posting(sent_on))
    assert (stays == moved) is working(stays)  # the two lines differ exactly off work days
    assert stays <= moved


def test_the_amended_table_applies_only_within_its_block() -> None:
    sunday_by_post = date(2026, 3, 4)  # + 4 days: Sunday 8 March
    with OLDER_HESSIAN_LINE.applied():
        assert rule_on(sunday_by_post).notified_on(Delivery.LETTER, sunday_by_post, None) == (
            date(2026, 3, 8)
        )
    assert rule_on(sunday_by_post).notified_on(Delivery.LETTER, sunday_by_post, None) == (
        date(2026, 3, 9)
    )
    assert RuleBook().table(RULES) == RULES


def test_a_case_notified_under_the_older_line_records_that_version() -> None:
    case = decided_on(date(2026, 3, 4))
    with OLDER_HESSIAN_LINE.applied():
        case.notify(
            actor=CLERK,
            at=noon(date(2026, 3, 4)),
            delivery=Delivery.LETTER,
        )
    assert case.notified_on == date(2026, 3, 8)  # a Sunday: the presumption holds
    notified = case.pending_events[-1]
    assert isinstance(notified, Case.Notified)
    assert notified.rules is not None
    assert notified.rules.version == "2025-4-tage-ohne-verschiebung"
    assert notified.rules.inputs["moves_off_non_working_days"] is False
    # The objection period counts from the Sunday; its end moves off non-working days.
    assert case.objection_deadline == period_end(date(2026, 3, 8), 1) == date(2026, 4, 8)


def test_a_rule_that_took_effect_later_does_not_apply_to_a_letter_posted_before() -> None:
    later = NotificationRule(
        version="2027-5-tage",
        valid_from=date(2027, 1, 1),
        days_after_posting=5,
        moves_off_non_working_days=True,
        legal_basis="test",
        authority="test",
    )
    with STATUTES.amended(RULES, (*RULES, later)).applied():
        assert rule_on(date(2026, 12, 31)).version == "2025-4-tage"
        assert rule_on(date(2027, 1, 1)).version == "2027-5-tage"


# ------------------------------------------------------------------------- on the case


def decided_on(day: date, case_class: type[Case] = Case, *, fee: str | None = None) -> Case:
    """A case submitted the day before and approved on ``day``."""
    case = submitted(case_class, at=noon(day - timedelta(days=1)))
    case.confirm_complete(actor=CLERK, at=noon(day - timedelta(days=1)))
    case.claim(actor=CLERK, at=noon(day - timedelta(days=1)))
    case.decide(
        actor=CLERK,
        at=noon(day),
        outcome=DecisionOutcome.APPROVED,
        justification="Die Voraussetzungen liegen vor.",
        legal_basis="§ 5 Satzung",
        fee=Decimal(fee) if fee else None,
    )
    return case


@settings(max_examples=60, deadline=None)
@given(
    sent_on=sent_days,
    delivery=st.sampled_from(Delivery),
    received_after=st.one_of(st.none(), receipt_offsets),
)
def test_the_case_counts_its_periods_from_the_bekanntgabe(
    sent_on: date, delivery: Delivery, received_after: int | None
) -> None:
    case = decided_on(sent_on, fee="50.00")
    received_on = None if received_after is None else sent_on + timedelta(days=received_after)
    if delivery is Delivery.COUNTER:
        received_on = None
    elif (
        delivery in (Delivery.PORTAL, Delivery.POSTBOX, Delivery.FORMAL_SERVICE)
        and received_on is None
    ):
        received_on = sent_on
    case.notify(
        actor=CLERK,
        at=noon(sent_on + timedelta(days=20)),
        delivery=delivery,
        sent_on=sent_on,
        received_on=received_on,
    )
    day = rule_on(sent_on).notified_on(delivery, sent_on, received_on)
    assert case.notified_on == day
    assert case.notification == {
        "delivery": delivery.value,
        "sent_on": sent_on,
        "received_on": received_on,
    }
    # § 70 (1) VwGO with § 57 VwGO, §§ 187 (1), 188 (2), (3) BGB, § 222 (2) ZPO.
    deadline = case.objection_deadline
    assert deadline == period_end(day, 1)
    assert working(deadline)
    assert add_months(day, 1) <= deadline
    assert all(not working(d) for d in daterange(add_months(day, 1), deadline))
    decision = case.decision
    assert decision is not None
    assert decision.notified_on == day
    assert decision.effective_from == day  # decided on the day it was sent: effect from then
    assert decision.costs is not None
    assert decision.costs.due_on == add_months(day, 1)


def daterange(first: date, end: date) -> list[date]:
    """The days from ``first`` up to, not including, ``end``."""
    return [first + timedelta(days=n) for n in range((end - first).days)]


@pytest.mark.parametrize(
    ("sent_in_days", "received_in_days", "delivery", "field"),
    [
        (-1, None, Delivery.LETTER, "sent_on"),  # before the decision was made
        (1, None, Delivery.LETTER, "sent_on"),  # tomorrow
        (0, 1, Delivery.LETTER, "received_on"),  # received tomorrow
        (0, -1, Delivery.LETTER, "received_on"),  # received before it was sent
        (0, None, Delivery.PORTAL, "received_on"),  # no day of retrieval
        (0, None, Delivery.FORMAL_SERVICE, "received_on"),  # no day on the certificate
    ],
)
def test_the_case_refuses_a_notification_that_cannot_be(
    sent_in_days: int, received_in_days: int | None, delivery: Delivery, field: str
) -> None:
    today = date(2026, 3, 4)
    case = decided_on(today)
    received_on = None if received_in_days is None else today + timedelta(received_in_days)
    with pytest.raises(InvalidCommand) as refused:
        case.notify(
            actor=CLERK,
            at=noon(today),
            delivery=delivery,
            sent_on=today + timedelta(days=sent_in_days),
            received_on=received_on,
        )
    assert refused.value.field == field
    assert case.notified_on is None
    assert len(case.pending_events) == 4  # submitted, complete, claimed, decided: no more


def test_a_decision_handed_over_at_the_counter_is_received_that_day() -> None:
    case = decided_on(date(2026, 3, 4))
    with pytest.raises(InvalidCommand, match="received that day") as refused:
        case.notify(
            actor=CLERK,
            at=noon(date(2026, 3, 6)),
            delivery=Delivery.COUNTER,
            sent_on=date(2026, 3, 5),
            received_on=date(2026, 3, 6),
        )
    assert refused.value.field == "received_on"


def test_the_notification_by_letter_lies_in_the_future_of_the_day_it_was_posted() -> None:
    case = decided_on(date(2026, 3, 4))
    case.notify(actor=CLERK, at=noon(date(2026, 3, 4)), delivery=Delivery.LETTER)
    assert case.notification is not None
    assert case.notification["sent_on"] == date(2026, 3, 4)
    assert case.notified_on == date(2026, 3, 9)
    assert case.objection_deadline == date(2026, 4, 9)


# ---------------------------------------------- validity and lapse run from the Bekanntgabe


def test_a_headstone_permit_runs_a_year_from_its_bekanntgabe_not_from_its_decision() -> None:
    permit = headstone_permit_decided(date(2026, 3, 4))
    decision = permit.decision
    assert decision is not None
    assert decision.valid_for_months == 12
    assert decision.expires_on == date(2027, 3, 4)  # provisional, until notified
    permit.notify(actor=CLERK, at=noon(date(2026, 3, 4)), delivery=Delivery.LETTER)
    notified = permit.decision
    assert notified is not None
    assert permit.notified_on == date(2026, 3, 9)
    assert notified.expires_on == date(2027, 3, 9)
    assert notified.effective_from == date(2026, 3, 9)
    assert notified.costs is not None
    assert notified.costs.due_on == date(2026, 4, 9)
    assert permit.decisions[-1] is notified


def test_a_headstone_permit_handed_over_on_its_day_keeps_its_term() -> None:
    permit = headstone_permit_decided(date(2026, 3, 4))
    permit.notify(actor=CLERK, at=noon(date(2026, 3, 4)))
    assert permit.decision is not None
    assert permit.decision.expires_on == date(2027, 3, 4)


def test_a_sewer_permit_lapses_a_term_after_its_bekanntgabe() -> None:
    at_once = sewer_permit_decided(date(2026, 3, 4))
    assert at_once.decision is not None
    assert at_once.decision.valid_for_months == PERMIT_VALIDITY_MONTHS
    at_once.notify(actor=CLERK, at=noon(date(2026, 3, 4)), delivery=Delivery.COUNTER)
    served = sewer_permit_decided(date(2026, 3, 4))
    served.notify(
        actor=CLERK,
        at=noon(date(2026, 3, 20)),
        delivery=Delivery.FORMAL_SERVICE,
        sent_on=date(2026, 3, 4),
        received_on=date(2026, 3, 16),
    )
    assert served.notified_on == date(2026, 3, 16)
    assert at_once.decision is not None
    assert served.decision is not None
    assert at_once.decision.expires_on is not None
    assert served.decision.expires_on is not None
    # Served twelve days after the decision: it lapses twelve days later too.
    assert served.decision.expires_on - at_once.decision.expires_on == timedelta(days=12)


def test_a_sewer_permit_handed_over_on_the_day_it_was_decided_keeps_the_day_it_lapses() -> None:
    """The same term counted the same way before and after notification (a day more was a
    defect: the term before notification ended the day before the same date, after it on it)."""
    permit = sewer_permit_decided(date(2026, 3, 4))
    decision = permit.decision
    assert decision is not None
    assert decision.expires_on is not None
    permit.notify(actor=CLERK, at=noon(date(2026, 3, 4)), delivery=Delivery.COUNTER)
    assert permit.notified_on == date(2026, 3, 4)
    assert permit.decision is not None
    assert permit.decision.expires_on == decision.expires_on


def test_a_lapse_day_the_clerk_set_stays_as_set() -> None:
    permit = sewer_permit_decided(date(2026, 3, 4), expires_on=date(2026, 12, 31))
    assert permit.decision is not None
    assert permit.decision.valid_for_months is None
    permit.notify(actor=CLERK, at=noon(date(2026, 3, 4)), delivery=Delivery.LETTER)
    assert permit.decision.expires_on == date(2026, 12, 31)
    assert permit.decision.effective_from == date(2026, 3, 9)
