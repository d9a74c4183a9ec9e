"""The dog tax year through the wired scheduler: on 1 January a registered dog's new year is
assessed as the system once, charged due on 1 July under its own Kassenzeichen with its
receivable; never for a dog deregistered before; not before the Bescheid is made known;
with the household's other dog counted (the later one pays the second dog's rate)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from domain.lifecycle import CaseStatus
from domain.payments.receivable import OPEN, Receivable, receivable_id
from domain.rules.dog_tax import Rate, replay_year
from domain.services import dog_application, dog_registration
from domain.services.dog_registration import DogRegistration
from domain.services.dog_steps import TAX_YEAR_BEGINS
from domain.timers import SCHEDULER_ID
from infrastructure.scheduler import DONE, TickReport, firings
from infrastructure.wiring import Vorgang
from tests.conftest import CLERK
from tests.infrastructure.test_scheduler_deemed_approval import morning_of
from tests.projections.legal_track import APPLICANT, in_review, notify, today
from tests.steps import take

NEW_YEAR = date(2027, 1, 1)
TOWN = "usingen"
FIRST_DOG = Decimal("84.00")  # Usingen's yearly rate for a household's first dog
SECOND_DOG = Decimal("132.00")  # and for its second


def tick(v: Vorgang) -> TickReport:
    """One tick of the wired scheduler on a view that has applied every event stored."""
    v.projections.catch_up()
    report = v.scheduler.tick()
    assert not report.view_behind  # else "nothing fired" would prove nothing
    return report


def fired_for(report: TickReport, case_id: UUID) -> list[tuple[str, str]]:
    """The new-year timer's firings of one case in a tick: (due date, outcome)."""
    return [
        (key.due_on, outcome)
        for key, outcome in report.fired
        if key.kind == TAX_YEAR_BEGINS.name and key.case_id == str(case_id)
    ]


def recorded_firings(v: Vorgang, case_id: UUID) -> list[dict[str, Any]]:
    """The new-year timer's firings of one case as the firings table holds them."""
    return [
        row
        for row in firings(v.views)
        if row["kind"] == TAX_YEAR_BEGINS.name and row["case_id"] == str(case_id)
    ]


def dog_file(v: Vorgang, case_id: UUID) -> DogRegistration:
    """The dog's file as its events make it now."""
    case: object = v.store.repository.get(case_id)
    assert isinstance(case, DogRegistration)
    return case


def assessments(v: Vorgang, case_id: UUID, year: int) -> list[DogRegistration.TaxYearAssessed]:
    """Every assessment of a year the file recorded."""
    return [
        e
        for e in v.store.events.get(case_id)
        if isinstance(e, DogRegistration.TaxYearAssessed) and e.year == year
    ]


def registered_dog(
    v: Vorgang,
    clock: FixedClock,
    *,
    keeper: str = "Erika Mustermann",
    chip: str = "276 098 106 000 001",
    notified: bool = True,
) -> UUID:
    """A dog taken in two weeks ago, entered in the register today (the Bescheid decided
    with it) and, unless told otherwise, the Bescheid handed over; an hour apart each step."""
    data = dog_application.example(today(clock))
    data["dog"]["chip"] = chip
    case_id = v.cases.submit(
        actor=APPLICANT,
        tenant=TOWN,
        service=dog_registration.SERVICE_ID,
        applicant={"name": keeper},
        data=data,
    ).case_id
    clock.advance(timedelta(hours=1))
    in_review(v, case_id)
    clock.advance(timedelta(hours=1))
    take(v.cases, case_id, "register_dog", actor=CLERK)
    if notified:
        clock.advance(timedelta(hours=1))
        notify(v, case_id)
    assert dog_file(v, case_id).registered
    return case_id


def check_year_charged(v: Vorgang, case_id: UUID, year: int, due: Decimal) -> None:
    """The year assessed once by the scheduler, charged due on 1 July, its receivable open."""
    (assessed,) = assessments(v, case_id, year)
    assert assessed.actor.id == SCHEDULER_ID
    assert assessed.due == due
    assert assessed.kassenzeichen is not None
    assert assessed.reason == "year"  # the Bescheid in force covers it: no amending notice
    case = dog_file(v, case_id)
    assert case.tax_years[year].due == due
    assert year not in case.changes_to_notify
    charge = case.charge_under(assessed.kassenzeichen)
    assert charge is not None
    assert charge.amount == due
    assert charge.ledger == dog_registration.DOG_TAX_LEDGER
    assert charge.refers_to == f"tax-year:{year}"
    assert charge.due_on == date(year, 7, 1)
    (taxed,) = [d for d in replay_year(assessed.rules).dogs if d.dog_id == str(case_id)]
    assert [m.month for m in taxed.months] == list(range(1, 13))  # the whole year
    receivable: object = v.store.repository.get(receivable_id(TOWN, assessed.kassenzeichen))
    assert isinstance(receivable, Receivable)
    assert receivable.case_id == case_id
    assert receivable.kassenzeichen == assessed.kassenzeichen
    assert receivable.amount == due
    assert receivable.due_on == date(year, 7, 1)
    assert receivable.status == OPEN


def test_the_new_year_of_a_registered_dog_is_assessed_and_charged_once(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = registered_dog(vorgang, clock)
    assert assessments(vorgang, case_id, 2026)  # the Bescheid assessed the first year
    morning_of(clock, NEW_YEAR - timedelta(days=1))
    assert fired_for(tick(vorgang), case_id) == []
    assert not assessments(vorgang, case_id, 2027)
    morning_of(clock, NEW_YEAR)
    assert fired_for(tick(vorgang), case_id) == [(NEW_YEAR.isoformat(), DONE)]
    check_year_charged(vorgang, case_id, 2027, FIRST_DOG)
    version = dog_file(vorgang, case_id).version
    clock.advance(timedelta(hours=4))
    assert fired_for(tick(vorgang), case_id) == []
    assert len(assessments(vorgang, case_id, 2027)) == 1
    assert dog_file(vorgang, case_id).version == version
    (row,) = recorded_firings(vorgang, case_id)
    assert (row["due_on"], row["outcome"]) == (NEW_YEAR.isoformat(), DONE)


def deregistered_and_kept(v: Vorgang, clock: FixedClock) -> tuple[UUID, UUID]:
    """Two keepers' dogs registered in March 2026; the first died on 30 June (its tax ends
    with June, so its year is assessed anew), the other is still kept."""
    gone = registered_dog(v, clock, keeper="Erika Mustermann")
    kept = registered_dog(v, clock, keeper="Jonas Weber", chip="276 098 106 000 002")
    morning_of(clock, date(2026, 6, 30))
    take(
        v.cases,
        gone,
        "deregister_dog",
        actor=CLERK,
        reason=dog_registration.Deregistration.DEATH,
        on=today(clock),
    )
    assert not dog_file(v, gone).registered
    assert dog_file(v, gone).changes_to_notify == [2026]  # the tax ends with June
    return gone, kept


def test_a_dog_deregistered_the_year_before_is_not_assessed_in_the_new_year(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    gone, kept = deregistered_and_kept(vorgang, clock)
    before = dog_file(vorgang, gone)
    morning_of(clock, NEW_YEAR)
    report = tick(vorgang)
    assert fired_for(report, kept) == [(NEW_YEAR.isoformat(), DONE)]  # the tick did fire
    assert all(outcome != DONE for _, outcome in fired_for(report, gone))
    morning_of(clock, NEW_YEAR + timedelta(days=1))
    assert all(outcome != DONE for _, outcome in fired_for(tick(vorgang), gone))
    assert not assessments(vorgang, gone, 2027)
    after = dog_file(vorgang, gone)  # (its Bescheid became final meanwhile: another timer)
    assert after.tax_years == before.tax_years
    assert 2027 not in after.tax_years
    assert after.charges == before.charges


def test_deregistration_leaves_no_new_year_due_for_the_dog(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    gone, _ = deregistered_and_kept(vorgang, clock)
    vorgang.projections.catch_up()
    due = vorgang.views.query(
        f"SELECT due_on FROM {vorgang.scheduler.view.table} "  # noqa: S608
        "WHERE case_id = ? AND kind = ?",
        (str(gone), TAX_YEAR_BEGINS.name),
    )
    assert all(row[0] is None for row in due)
    morning_of(clock, NEW_YEAR)
    assert fired_for(tick(vorgang), gone) == []
    assert recorded_firings(vorgang, gone) == []


def test_a_bescheid_not_yet_made_known_waits_and_its_year_is_assessed_once_notified(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    morning_of(clock, date(2026, 12, 1))
    case_id = registered_dog(vorgang, clock, notified=False)
    assert dog_file(vorgang, case_id).status == CaseStatus.DECIDED
    morning_of(clock, NEW_YEAR)
    report = tick(vorgang)
    assert fired_for(report, case_id) == []
    assert report.not_yet >= 1  # the case's own word: the Bescheid is made known first
    assert recorded_firings(vorgang, case_id) == []  # the claim released for a later tick
    morning_of(clock, date(2027, 1, 4))
    report = tick(vorgang)
    assert fired_for(report, case_id) == []
    assert report.not_yet >= 1
    assert not assessments(vorgang, case_id, 2027)
    clock.advance(timedelta(hours=1))
    notify(vorgang, case_id)
    clock.advance(timedelta(hours=1))
    assert fired_for(tick(vorgang), case_id) == [(NEW_YEAR.isoformat(), DONE)]
    check_year_charged(vorgang, case_id, 2027, FIRST_DOG)
    clock.advance(timedelta(hours=1))
    assert fired_for(tick(vorgang), case_id) == []
    assert len(assessments(vorgang, case_id, 2027)) == 1


def test_two_dogs_of_a_household_are_each_assessed_with_the_other(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    first = registered_dog(vorgang, clock)
    morning_of(clock, date(2026, 6, 1))
    second = registered_dog(vorgang, clock, chip="276 098 106 000 002")  # the same keeper
    assert dog_file(vorgang, first).household_id == dog_file(vorgang, second).household_id
    morning_of(clock, NEW_YEAR)
    report = tick(vorgang)
    assert fired_for(report, first) == [(NEW_YEAR.isoformat(), DONE)]
    assert fired_for(report, second) == [(NEW_YEAR.isoformat(), DONE)]
    check_year_charged(vorgang, first, 2027, FIRST_DOG)
    check_year_charged(vorgang, second, 2027, SECOND_DOG)
    both = {str(first), str(second)}
    for case_id in (first, second):
        (assessed,) = assessments(vorgang, case_id, 2027)
        assert {dog["dog_id"] for dog in assessed.rules.inputs["dogs"]} == both
        replayed = {dog.dog_id: dog for dog in replay_year(assessed.rules).dogs}
        assert {m.rate for m in replayed[str(first)].months} == {Rate.FIRST}
        assert {m.rate for m in replayed[str(second)].months} == {Rate.SECOND}
