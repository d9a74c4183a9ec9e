"""A burial into a Wahlgrab: its grave right must cover the new rest period, or be extended."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from application.cases import CaseService
from application.decision_audit import DecisionAudit
from domain.actor import Actor, Role
from domain.cemeteries import GraveAddress
from domain.personal_data import PersonalData, Subjects
from domain.rules.cemetery import years_after
from domain.services.burial import example
from domain.services.grave import Grave, grave_id
from domain.working_days import berlin_date
from tests.conftest import CLERK
from tests.steps import in_review, take

WAHLGRAB = GraveAddress("usingen-friedhof", "A", "2", 4)  # two coffin places
AUDITOR = Actor("rpa", "Rechnungsprüfung", Role.AUDITOR, "usingen")


def grave_with_a_right(cases: CaseService, granted_years_ago: int) -> Grave:
    """The Wahlgrab, its 30-year right granted so many years ago (the clock moves on)."""
    grave = Grave.open(tenant="usingen", address=WAHLGRAB)
    right_case = uuid4()
    holder = PersonalData(right_case, Subjects.APPLICANT, "Sabine Becker")
    grave.grant_right(case_id=right_case, holder=holder, actor=CLERK, at=cases.clock.now())
    cases.store.save(grave)
    cases.clock.advance(timedelta(days=365 * granted_years_ago + 5))  # type: ignore[attr-defined]
    return grave


def register(cases: CaseService) -> UUID:
    data = example(berlin_date(cases.clock.now()))
    data["grave"] = {"cemetery": WAHLGRAB.cemetery, "field": "A", "row": "2", "number": 4}
    undertaker = Actor("portal:bestatter", "Bestatter", Role.APPLICANT, "usingen")
    case_id = cases.submit(
        actor=undertaker,
        tenant="usingen",
        service="burial",
        applicant={"name": "Bestattungen Taunus GmbH"},
        data=data,
    ).case_id
    in_review(cases, case_id)
    return case_id


def test_a_wahlgrab_whose_right_would_end_too_early_is_extended_by_the_decision(
    cases: CaseService,
) -> None:
    before = grave_with_a_right(cases, granted_years_ago=10)  # ends 20 years less a few days on
    assert before.right is not None
    case_id = register(cases)
    take(cases, case_id, "schedule", CLERK)
    decision = cases.get(case_id, actor=CLERK).decision
    assert decision is not None
    assert decision["outcome"] == "approved", decision
    assert (
        decision["particulars"]["grave_right_extension_years"] == 6
    )  # 25 years of rest: 5 and some days
    charges = {
        r["inputs"]["charge"]: Decimal(r["inputs"]["fee"])
        for r in decision["rules"]
        if r["rules_id"] == "cemetery-fee"
    }
    # Usingen: coffin 650.00, chapel 180.00, the extension 6 years x 48.00 = 288.00
    assert charges == {
        "burial": Decimal("650.00"),
        "chapel": Decimal("180.00"),
        "extension": Decimal("288.00"),
    }
    assert Decimal(decision["fee"]) == Decimal("1118.00")
    grave: Grave = cases.store.repository.get(grave_id("usingen", WAHLGRAB))
    assert grave.right is not None
    assert grave.right.ends_on == years_after(before.right.ends_on, 6)
    assert grave.right.ends_on >= grave.last_rest_ends_on  # type: ignore[operator]
    assert [c.change for c in grave.right_history] == ["granted", "extended"]
    report = DecisionAudit(cases.store, cases.clock).replay(case_id, 1, actor=AUDITOR)
    assert report.verdict == "consistent", report


def test_a_wahlgrab_whose_right_covers_the_rest_period_takes_the_burial_as_it_is(
    cases: CaseService,
) -> None:
    grave_with_a_right(cases, granted_years_ago=0)  # 30 years: beyond the 25 of a coffin
    case_id = register(cases)
    take(cases, case_id, "schedule", CLERK)
    decision = cases.get(case_id, actor=CLERK).decision
    assert decision is not None
    assert decision["outcome"] == "approved", decision
    assert decision["particulars"]["grave_right_extension_years"] == 0
    assert Decimal(decision["fee"]) == Decimal("830.00")
    grave: Grave = cases.store.repository.get(grave_id("usingen", WAHLGRAB))
    assert [c.change for c in grave.right_history] == ["granted"]


def test_a_wahlgrab_without_a_right_refuses_the_burial_and_stays_untouched(
    cases: CaseService,
) -> None:
    case_id = register(cases)
    take(cases, case_id, "schedule", CLERK)
    decision = cases.get(case_id, actor=CLERK).decision
    assert decision is not None
    assert decision["outcome"] == "rejected"
    assert "no grave right is in force" in decision["justification"]
    assert decision["fee"] is None
