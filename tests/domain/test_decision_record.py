"""The decision record a Bescheid needs, and its remedy notice from the town's configuration.

Besides outcome, reasons and legal basis (§ 39 HVwVfG): the operative part (Tenor), typed
ancillary provisions (§ 36 (2) HVwVfG), the issuing authority, the addressee and a
representative, the hearing (§ 28 HVwVfG) or why none was needed, the considerations where
the law gives discretion (§ 39 (1) sentence 3 HVwVfG), and the costs decision, whose due date
follows the Bekanntgabe. The tariff applies as in force on the day the fee debt arises. The
remedy notice (Rechtsbehelfsbelehrung, § 58 VwGO) is generated, never typed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest

from domain.authorities import (
    ADMINISTRATIVE_COURT,
    NOTICE_VERSION,
    Matter,
    RemedyKind,
    authorities_of,
    legacy_notice,
    remedy_notice,
)
from domain.case import NO_HEARING_NEEDED, Case
from domain.decision import DecisionOutcome, Hearing, Provision, ProvisionKind
from domain.decision_replay import replay
from domain.errors import InvalidCommand, NotTheHolder
from domain.personal_data import PersonalData, Subjects
from domain.rules import road_opening as road_opening_rules
from domain.rules import sewer_connection as sewer_rules
from domain.rules.notification import Delivery
from domain.rules.versions import STATUTES
from domain.services.resident_parking import ResidentParkingPermit
from domain.services.road_opening import RoadOpeningPermit
from domain.services.sewer_connection import SewerConnection
from domain.services.traffic_sign_order import TrafficSignOrder
from domain.working_days import add_months
from tests.domain.case_fixtures import (
    CLERK,
    START,
    in_review,
    noon,
    road_opening_decided,
    sewer_permit_decided,
    submitted,
)

LATER = START + timedelta(days=1)  # Tuesday 3 March 2026
USINGEN = authorities_of("usingen")


class RoadTrafficCase(Case):
    """A road traffic matter decided by the mayor as road traffic authority."""

    MATTER = Matter.ROAD_TRAFFIC


class WithoutObjection(Case):
    """A matter the HessAGVwGO takes out of the objection procedure: an action at once."""

    OBJECTION_EXCLUDED_BY = "§ 16a Abs. 1 HessAGVwGO i. V. m. der Anlage"


def reveal(text: object) -> str:
    """A text as recorded: in clear, or personal data (a clerk's text may name people)."""
    if isinstance(text, PersonalData):
        return text.reveal()
    assert isinstance(text, str)
    return text


def decide(case: Case, **changes: object) -> None:
    """The holder decides; ``changes`` replace the usual approval's arguments."""
    arguments: dict[str, object] = {
        "outcome": DecisionOutcome.APPROVED,
        "justification": "Die Voraussetzungen liegen vor.",
        "legal_basis": "§ 5 Satzung",
        **changes,
    }
    case.decide(actor=CLERK, at=LATER, **arguments)  # type: ignore[arg-type]


def refused_field(case: Case, **changes: object) -> str:
    """The field a decision with these changes is refused on; nothing is recorded."""
    before = len(case.pending_events)
    with pytest.raises(InvalidCommand) as refused:
        decide(case, **changes)
    assert len(case.pending_events) == before
    assert case.decision is None
    return refused.value.field


# --------------------------------------------------------------------- what it records


def test_an_approval_records_tenor_authority_addressee_notice_hearing_and_clock() -> None:
    case = in_review()
    decide(case)
    decision = case.decision
    assert decision is not None
    assert decision.operative_part is not None
    assert decision.operative_part.reveal() == "Die beantragte Genehmigung wird erteilt."
    assert decision.issuing_authority == "Der Magistrat der Stadt Usingen"
    assert decision.addressee == case.applicant["name"]
    assert decision.representative is None
    assert decision.remedy_notice == remedy_notice("usingen", Matter.SELF_GOVERNMENT)
    assert decision.legal_remedy_notice == decision.remedy_notice.text
    # Granting what was applied for interferes with no right: no hearing (BVerwG 3 C 46.81).
    assert decision.hearing == Hearing(not_needed_because=NO_HEARING_NEEDED)
    assert decision.discretion is None
    assert decision.costs is None  # no fee, no costs decision
    assert decision.provisions == ()
    assert decision.notified_on is None
    assert case.clock.decided_on == date(2026, 3, 3)  # the decision stops the clock


@pytest.mark.parametrize(
    ("outcome", "tenor"),
    [
        (DecisionOutcome.REJECTED, "Der Antrag wird abgelehnt."),
        (
            DecisionOutcome.APPROVED_WITH_CONDITIONS,
            "Die beantragte Genehmigung wird mit den folgenden Nebenbestimmungen erteilt.",
        ),
    ],
)
def test_the_operative_part_follows_the_outcome_unless_given(
    outcome: DecisionOutcome, tenor: str
) -> None:
    case = in_review()
    with_conditions = outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
    decide(
        case,
        outcome=outcome,
        conditions=["Baustelle sichern"] if with_conditions else None,
        hearing_held_on=date(2026, 3, 2) if with_conditions else None,
    )
    assert case.decision is not None
    assert case.decision.operative_part is not None
    assert case.decision.operative_part.reveal() == tenor
    given = in_review()
    decide(given, operative_part="Die Sondernutzung vom 9. bis 20. März wird erlaubt.")
    assert given.decision is not None
    assert given.decision.operative_part is not None
    assert given.decision.operative_part.reveal().startswith("Die Sondernutzung")
    assert given.decision.operative_part.subject == Subjects.CASE_TEXT


def test_provisions_are_typed_and_conditions_are_requirements() -> None:
    case = in_review()
    decide(
        case,
        outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
        conditions=["Baustelle nach RSA 21 sichern"],
        provisions=[
            (ProvisionKind.TIME_LIMIT, "Befristet bis 31.12.2026"),
            (ProvisionKind.REVOCATION_RESERVED, "Widerruf bei Gefahr"),
        ],
        hearing_held_on=date(2026, 3, 2),
    )
    decision = case.decision
    assert decision is not None
    assert [p.kind for p in decision.provisions] == [
        ProvisionKind.REQUIREMENT,
        ProvisionKind.TIME_LIMIT,
        ProvisionKind.REVOCATION_RESERVED,
    ]
    assert [t.reveal() for t in decision.conditions] == [
        "Baustelle nach RSA 21 sichern",
        "Befristet bis 31.12.2026",
        "Widerruf bei Gefahr",
    ]
    assert all(isinstance(p, Provision) for p in decision.provisions)
    assert decision.hearing == Hearing(held_on=date(2026, 3, 2))


def test_a_refusal_carries_no_provisions_and_a_blank_provision_is_refused() -> None:
    assert (
        refused_field(
            in_review(),
            outcome=DecisionOutcome.REJECTED,
            provisions=[(ProvisionKind.CONDITION, "Bedingung")],
            hearing_held_on=date(2026, 3, 2),
        )
        == "provisions"
    )
    assert (
        refused_field(
            in_review(),
            outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
            provisions=[(ProvisionKind.CONDITION, "  ")],
            hearing_held_on=date(2026, 3, 2),
        )
        == "provisions[0].text"
    )


def test_a_representative_is_named_in_the_decision() -> None:
    case = in_review()
    decide(case, representative="Rechtsanwältin Dr. Petra Lang, Bad Homburg")
    decision = case.decision
    assert decision is not None
    assert isinstance(decision.representative, PersonalData)
    assert decision.representative.subject == Subjects.APPLICANT
    assert decision.representative.reveal() == "Rechtsanwältin Dr. Petra Lang, Bad Homburg"


# ------------------------------------------------------------------ § 28 HVwVfG hearing


def test_provisions_the_clerk_attaches_need_a_hearing_or_a_reason_why_none() -> None:
    conditions = {"outcome": DecisionOutcome.APPROVED_WITH_CONDITIONS, "conditions": ["Auflage"]}
    assert refused_field(in_review(), **conditions) == "hearing_held_on"
    typed = {
        "outcome": DecisionOutcome.APPROVED_WITH_CONDITIONS,
        "provisions": [(ProvisionKind.FURTHER_REQUIREMENTS_RESERVED, "Vorbehalt")],
    }
    assert refused_field(in_review(), **typed) == "hearing_held_on"
    held = in_review()
    decide(held, **typed, hearing_held_on=date(2026, 3, 2))  # typed provisions alone suffice
    assert held.decision is not None
    assert [p.kind for p in held.decision.provisions] == [
        ProvisionKind.FURTHER_REQUIREMENTS_RESERVED
    ]
    case = in_review()
    decide(case, **conditions, hearing_not_needed_because="§ 28 Abs. 2 Nr. 1: Gefahr im Verzug")
    assert case.decision is not None
    hearing = case.decision.hearing
    assert hearing is not None
    assert hearing.held_on is None
    # The clerk's own reason may name people: personal data, sealed when stored.
    assert isinstance(hearing.not_needed_because, PersonalData)
    assert hearing.not_needed_because.subject == Subjects.CASE_TEXT
    assert reveal(hearing.not_needed_because) == "§ 28 Abs. 2 Nr. 1: Gefahr im Verzug"


@pytest.mark.parametrize(
    ("hearing", "field"),
    [
        ({"hearing_held_on": date(2026, 3, 4)}, "hearing_held_on"),  # tomorrow
        ({"hearing_held_on": date(2026, 3, 1)}, "hearing_held_on"),  # before the submission
        (
            {"hearing_held_on": date(2026, 3, 2), "hearing_not_needed_because": "x"},
            "hearing_not_needed_because",
        ),
        ({"hearing_not_needed_because": "   "}, "hearing_not_needed_because"),
    ],
)
def test_a_hearing_lies_between_submission_and_decision_and_is_held_or_not(
    hearing: dict[str, object], field: str
) -> None:
    assert refused_field(in_review(), **hearing) == field


def test_the_services_standard_conditions_alone_need_no_hearing() -> None:
    permit = sewer_permit_decided(date(2026, 3, 4))
    decision = permit.decision
    assert decision is not None
    assert decision.outcome is DecisionOutcome.APPROVED_WITH_CONDITIONS
    assert decision.provisions  # the standard conditions (Regelauflagen)
    assert all(p.kind is ProvisionKind.REQUIREMENT for p in decision.provisions)
    assert decision.hearing == Hearing(not_needed_because=NO_HEARING_NEEDED)


# ----------------------------------------------------------------- § 39 (1) 3 discretion


def test_where_the_law_gives_discretion_the_considerations_are_required() -> None:
    assert RoadOpeningPermit.DISCRETION_UNDER == "§ 16 Abs. 1 HStrG"
    assert TrafficSignOrder.DISCRETION_UNDER == "§ 45 Abs. 1 StVO"
    with pytest.raises(InvalidCommand, match=r"§ 16 Abs\. 1 HStrG gives discretion") as refused:
        road_opening_decided(date(2026, 3, 4), discretion=None)
    assert refused.value.field == "discretion"
    with pytest.raises(InvalidCommand) as blank:
        road_opening_decided(date(2026, 3, 4), discretion="  ")
    assert blank.value.field == "discretion"
    permit = road_opening_decided(date(2026, 3, 4))
    assert permit.decision is not None
    assert permit.decision.discretion is not None
    assert permit.decision.discretion.reveal() == (
        "Der Gemeingebrauch wird nur kurz beeinträchtigt."
    )


def test_where_the_law_binds_the_decision_no_considerations_are_recorded() -> None:
    assert SewerConnection.DISCRETION_UNDER is None
    assert refused_field(in_review(), discretion="Abwägung") == "discretion"


# ------------------------------------------------------------------- the costs decision


def test_a_fee_comes_with_a_costs_decision_due_a_month_after_the_bekanntgabe() -> None:
    case = in_review()
    decide(case, fee=Decimal("75.00"))
    decision = case.decision
    assert decision is not None
    assert decision.costs is not None
    assert decision.costs.amount == Decimal("75.00")
    assert decision.costs.debtor == case.applicant["name"]
    assert decision.costs.legal_basis == Case.FEE_LEGAL_BASIS
    assert decision.costs.due_on is None  # not before it is notified
    assert decision.costs.cash_reference is None
    case.notify(actor=CLERK, at=LATER + timedelta(hours=1))
    notified = case.decision
    assert notified is not None
    assert notified.costs is not None
    assert notified.costs.due_on == add_months(date(2026, 3, 3), 1)
    assert notified.costs.amount == Decimal("75.00")


def test_each_service_names_the_statute_its_fee_arises_under() -> None:
    permit = road_opening_decided(date(2026, 3, 4))
    decision = permit.decision
    assert decision is not None
    assert decision.costs is not None
    assert decision.costs.legal_basis == RoadOpeningPermit.FEE_LEGAL_BASIS
    # The administrative fee (Verwaltungskostensatzung); the Sondernutzungsgebühr of § 18 HStrG
    # is assessed beside it (Procedure law 2).
    assert "§ 18 HStrG" in decision.particulars["special_use_fee_legal_basis"]
    assert decision.costs.amount == decision.fee


def test_a_fee_arising_with_the_decision_takes_the_tariff_in_force_that_day() -> None:
    """Road opening: the fee debt arises with the permit (FEE_DEBT_ARISES_ON decision)."""
    assert RoadOpeningPermit.FEE_DEBT_ARISES_ON == "decision"
    current = road_opening_rules.FEE_TARIFFS[-1]
    dearer = replace(
        current,
        version="2026-03-test",
        valid_from=date(2026, 3, 4),
        per_square_metre=current.per_square_metre * 2,
    )
    book = STATUTES.amended(
        road_opening_rules.FEE_TARIFFS, (*road_opening_rules.FEE_TARIFFS, dearer)
    )
    with book.applied():
        permit = road_opening_decided(date(2026, 3, 4))  # submitted the 3rd, decided the 4th
    decision = permit.decision
    assert decision is not None
    [applied] = [r for r in decision.rules if r.rules_id == road_opening_rules.FEE_RULES_ID]
    assert applied.version == "2026-03-test"


def test_a_fee_arising_with_the_application_takes_the_tariff_in_force_on_submission() -> None:
    """Sewer connection: the fee debt arises with the application (§ 11 KAG)."""
    assert SewerConnection.FEE_DEBT_ARISES_ON == "submission"
    current = sewer_rules.TARIFFS[-1]
    dearer = replace(
        current, version="2026-03-test", valid_from=date(2026, 3, 4), permit_fee=Decimal("110")
    )
    book = STATUTES.amended(sewer_rules.TARIFFS, (*sewer_rules.TARIFFS, dearer))
    with book.applied():
        permit = sewer_permit_decided(date(2026, 3, 4))  # submitted the 3rd, decided the 4th
    decision = permit.decision
    assert decision is not None
    assert decision.fee == current.permit_fee
    [applied] = [r for r in decision.rules if r.rules_id == sewer_rules.PERMIT_FEE_RULES_ID]
    assert applied.version == current.version


def test_resident_parking_fees_arise_with_the_decision_as_a_road_traffic_matter() -> None:
    assert ResidentParkingPermit.FEE_DEBT_ARISES_ON == "decision"
    assert ResidentParkingPermit.MATTER is Matter.ROAD_TRAFFIC
    assert TrafficSignOrder.MATTER is Matter.ROAD_TRAFFIC


# -------------------------------------------------- the remedy notice from configuration


def test_the_notice_names_the_town_executive_in_self_government_matters() -> None:
    notice = remedy_notice("usingen", Matter.SELF_GOVERNMENT)
    assert notice.kind is RemedyKind.OBJECTION
    assert notice.addressed_to == USINGEN.executive
    assert notice.version == NOTICE_VERSION
    assert notice.complete
    assert notice.period_months == 1
    assert "innerhalb eines Monats nach seiner Bekanntgabe Widerspruch" in notice.text
    assert "bei dem Magistrat der Stadt Usingen, Wilhelmjstraße 1, 61250 Usingen" in notice.text
    assert "§ 70 Abs. 1 VwGO" in notice.text
    gemeinde = remedy_notice("schmitten", Matter.SELF_GOVERNMENT)
    assert "bei dem Gemeindevorstand der Gemeinde Schmitten im Taunus" in gemeinde.text


def test_the_notice_in_road_traffic_matters_names_the_supervising_authority_too() -> None:
    notice = remedy_notice("neu-anspach", Matter.ROAD_TRAFFIC)
    town = authorities_of("neu-anspach")
    assert notice.kind is RemedyKind.OBJECTION
    assert notice.addressed_to == town.road_traffic_authority
    assert "bei dem Bürgermeister der Stadt Neu-Anspach" in notice.text
    assert town.supervising_authority in notice.text
    case = in_review(RoadTrafficCase)
    decide(case)
    assert case.decision is not None
    assert case.decision.remedy_notice == remedy_notice("usingen", Matter.ROAD_TRAFFIC)
    assert case.decision.issuing_authority == USINGEN.road_traffic_authority


def test_where_the_objection_procedure_is_excluded_the_notice_names_the_court() -> None:
    case = in_review(WithoutObjection)
    decide(case)
    notice = case.decision.remedy_notice if case.decision else None
    assert notice is not None
    assert notice.kind is RemedyKind.ACTION
    assert notice.addressed_to == ADMINISTRATIVE_COURT
    assert "Klage beim Verwaltungsgericht Frankfurt am Main" in notice.text
    assert "§ 16a Abs. 1 HessAGVwGO" in notice.text
    assert "Widerspruch" not in notice.text


def test_a_town_without_configured_authorities_cannot_decide() -> None:
    with pytest.raises(LookupError, match="no authorities are configured for 'friedrichsdorf'"):
        remedy_notice("friedrichsdorf", Matter.SELF_GOVERNMENT)


def test_a_hand_typed_notice_of_old_is_complete_only_if_it_said_something() -> None:
    assert legacy_notice("Widerspruch binnen eines Monats").complete
    empty = legacy_notice("  ")
    assert not empty.complete
    assert empty.period_months == 12
    assert empty.version == "typed"


def test_a_decision_found_with_a_defective_notice_keeps_its_text() -> None:
    notice = remedy_notice("glashuetten", Matter.SELF_GOVERNMENT)
    defective = notice.found_defective()
    assert defective.text == notice.text
    assert defective.addressed_to == notice.addressed_to
    assert not defective.complete
    assert defective.period_months == 12


def test_every_town_has_its_authorities() -> None:
    for town in ("usingen", "neu-anspach", "schmitten", "glashuetten"):
        authorities = authorities_of(town)
        assert authorities.issuing_authority(Matter.SELF_GOVERNMENT) == authorities.executive
        assert authorities.objection_authority(Matter.SELF_GOVERNMENT) == authorities.executive
        assert (
            authorities.objection_authority(Matter.ROAD_TRAFFIC)
            == authorities.supervising_authority
        )
        assert "Hochtaunuskreis" in authorities.hearing_committee


def test_a_case_is_decided_only_by_the_clerk_who_holds_it() -> None:
    case = submitted()
    case.confirm_complete(actor=CLERK, at=START)
    with pytest.raises(NotTheHolder):
        decide(case)


# ----------------------------------------------------------------------------- replay


def test_an_unused_sewer_permit_lapses_on_the_same_date_two_years_after_its_bekanntgabe() -> None:
    permit = sewer_permit_decided(date(2026, 3, 4))
    decision = permit.decision
    assert decision is not None
    assert decision.expires_on == date(2028, 3, 4)  # § 188 (2) BGB: the same date
    assert decision.valid_for_months == 24
    [lapse] = [r for r in decision.rules if r.rules_id == sewer_rules.LAPSE_RULES_ID]
    assert lapse == sewer_rules.LAPSES[0].record(date(2026, 3, 4))
    permit.notify(actor=CLERK, at=noon(date(2026, 3, 5)), delivery=Delivery.LETTER)
    assert permit.notified_on == date(2026, 3, 9)  # posted Thursday: four days, a Monday
    notified = permit.decision
    assert notified is not None
    assert notified.expires_on == add_months(date(2026, 3, 9), 24) == date(2028, 3, 9)


def test_a_sewer_permit_recorded_before_the_lapse_rule_keeps_the_day_before() -> None:
    legacy = sewer_rules.LEGACY_LAPSE
    assert legacy.last_day(date(2026, 3, 4)) == date(2028, 3, 3)
    assert sewer_rules.LAPSES[0].last_day(date(2026, 3, 4)) == date(2028, 3, 4)
    assert sewer_rules.LAPSES[0].last_day(date(2024, 2, 29)) == date(2026, 2, 28)


def test_a_clerks_last_day_for_a_sewer_permit_stays_when_it_is_notified() -> None:
    """Regression: where the clerk set the last day and it happened to be the date the lapse
    rule would give, the decision took it for the rule's date (as on replay): it recorded
    the lapse rule and moved the day at notification to two years after the Bekanntgabe
    (2028-03-09), while a clerk's date one day later stayed as set."""
    permit = sewer_permit_decided(date(2026, 3, 4), expires_on=date(2028, 3, 4))
    decision = permit.decision
    assert decision is not None
    assert not [r for r in decision.rules if r.rules_id == sewer_rules.LAPSE_RULES_ID]
    events = permit.collect_events()
    rebuilt: SewerConnection | None = None
    for recorded in events[:-1]:
        rebuilt = recorded.mutate(rebuilt)
    assert isinstance(rebuilt, SewerConnection)
    assert replay(rebuilt, decision, today=date(2026, 3, 4)).verdict == "consistent"
    permit = sewer_permit_decided(date(2026, 3, 4), expires_on=date(2028, 3, 4))
    permit.notify(actor=CLERK, at=noon(date(2026, 3, 5)), delivery=Delivery.LETTER)
    notified = permit.decision
    assert notified is not None
    assert notified.expires_on == date(2028, 3, 4)


def test_a_sewer_permit_replays_against_the_lapse_rule_it_recorded() -> None:
    """Regression: the decision's own last day was taken for a clerk's date on replay, so the
    replay recorded no lapse rule and every such permit read as inconsistent."""
    permit = sewer_permit_decided(date(2026, 3, 4))
    decision = permit.decision
    assert decision is not None
    lapse = [r for r in decision.rules if r.rules_id == sewer_rules.LAPSE_RULES_ID]
    assert len(lapse) == 1
    # The case as it stood just before the decision: rebuilt from the events before it.
    events = permit.collect_events()
    rebuilt: SewerConnection | None = None
    for recorded in events[:-1]:
        rebuilt = recorded.mutate(rebuilt)
    assert isinstance(rebuilt, SewerConnection)
    report = replay(rebuilt, decision, today=date(2026, 3, 4))
    assert report.differences == ()
    assert report.verdict == "consistent"
