"""Any sequence of steps keeps the dog files, the town's register, roll and households true.

A hypothesis state machine runs a few dog files of two keepers of one town side by side,
sharing in-memory aggregates as the application would load them: one register per chip
(the same chip written in two spellings now and then), the town's roll of tax tags and one
household per keeper. Files are submitted, taken into review, registered (and notified),
have their relief decided, are found dangerous, get or are refused a permit, lose a tag, are
deregistered and assessed for the year, have their tax changes made known by an amending
notice, while the clock moves on by months. Each step is checked against what it must
accept or refuse (nothing changes the tax between the Bescheid and its Bekanntgabe). After
every step: a chip's register holds a file exactly while that file's dog is registered; the
tags issued run 1 to n, each held by its registered file or withdrawn; per file and year the
dog tax charged and not withdrawn is the year's recorded due; a year changed since the last
notice has its charge undated, every change made known is dated a month after its notice,
and a year the Bescheid or the new year assessed needs no notice; every year assessed
replays from its record to its due; a refused step left no event anywhere; and every
aggregate rebuilt from its events equals it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from domain.actor import Actor, Role
from domain.errors import DomainError
from domain.lifecycle import CaseStatus
from domain.personal_data import PersonalData, Subjects
from domain.personal_fields import personal_data_of
from domain.rules.dog_tax import replay_year
from domain.rules.notification import Delivery, rule_on
from domain.services.dog_application import DogRegistrationApplication
from domain.services.dog_register import (
    DogHousehold,
    DogRegister,
    TaxTagRoll,
    keeper_key,
    normalised_chip,
    tag_roll_id,
)
from domain.services.dog_registration import (
    DOG_TAX_LEDGER,
    NOTICE_FREE,
    SERVICE_ID,
    Deregistration,
    DogRegistration,
    DogStatus,
    TagReturn,
)
from domain.working_days import add_months
from tests.domain.case_fixtures import CLERK, noon

TOWN = "usingen"
FIRST_DAY = date(2026, 3, 2)
ADDRESS = {"street": "Obergasse", "house_number": "12", "postcode": "61250", "place": "Usingen"}
# (name, date of birth): the second keeper comes of age on 15 January 2027.
KEEPERS = (("Erika Weber", "1985-04-12"), ("Jonas Weber", "2009-01-15"))
CHIPS = ("276098100000001", "276 098 100 000 001", "276098100000002", "276-098-100-000-003")
BREEDS = ("Labrador Retriever", "Rottweiler-Mischling", "Mischling (Schäferhund)")
LISTED = frozenset({"Rottweiler-Mischling"})  # § 2 (1) HundeVO: dangerous by its breed
RELIEFS = (None, "assistance_dog", "shelter_dog", "low_income")
BEFORE_REGISTRATION = frozenset({CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW})
KEPT = frozenset({CaseStatus.DECIDED, CaseStatus.NOTIFIED, CaseStatus.FINAL})
CHANGEABLE = frozenset({CaseStatus.NOTIFIED, CaseStatus.FINAL})  # the Bescheid made known
ASSESSABLE = frozenset({CaseStatus.NOTIFIED, CaseStatus.FINAL, DogStatus.DEREGISTERED})
PROOFS: dict[str, Any] = {
    "reliability_proof": "Führungszeugnis",
    "expertise_proof": "Sachkundenachweis",
    "liability_insurance": "Taunus Versicherung AG",
}


@dataclass
class DogFile:
    """The model's view of a file: whose dog, which chip, from when."""

    keeper: int
    chip: str  # normalised
    taken_in: date
    relief: str | None
    breed: str


def rebuilt(events: list[Any]) -> Any:
    """The aggregate the events make, from nothing."""
    aggregate = None
    for recorded in events:
        aggregate = recorded.mutate(aggregate)
    return aggregate


def state_of(aggregate: Aggregate) -> dict[str, Any]:
    """Everything an aggregate holds but its pending events."""
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


class DogRegistrationMachine(RuleBasedStateMachine):
    """Dog files of two keepers of Usingen, sharing the town's register, roll and households."""

    files = Bundle("files")

    def __init__(self) -> None:
        super().__init__()
        self.today = FIRST_DAY
        self.roll = TaxTagRoll.start(id=tag_roll_id(TOWN), tenant=TOWN)
        self.registers = {
            normalised_chip(chip): DogRegister.start(id=uuid4(), tenant=TOWN) for chip in CHIPS
        }
        # one household per keeper: the same address, different names
        self.households = [DogHousehold.start(id=uuid4(), tenant=TOWN) for _ in KEEPERS]
        self.cases: dict[UUID, DogRegistration] = {}
        self.model: dict[UUID, DogFile] = {}
        self.history: dict[UUID, list[Any]] = {}
        self.replayed_years = 0
        for aggregate in self._aggregates():
            self.history[aggregate.id] = list(aggregate.collect_events())

    # ---------------------------------------------------------------- helpers

    @property
    def at(self) -> datetime:
        """Business time: noon today in Germany."""
        return noon(self.today)

    def _aggregates(self) -> list[Aggregate]:
        return [self.roll, *self.registers.values(), *self.households, *self.cases.values()]

    def _household(self, case_id: UUID) -> DogHousehold:
        return self.households[self.model[case_id].keeper]

    def _keeper(self, case_id: UUID) -> Actor:
        return Actor(self.cases[case_id].submitted_by, "Halter", Role.APPLICANT, TOWN)

    def _attempt(self, what: str, command: Callable[[], object], expected: bool | None) -> bool:
        """Run a step: refused, it left no event on any aggregate; ``expected`` None: either."""
        versions = {a.id: a.version for a in self._aggregates()}
        refusal: DomainError | None = None
        try:
            command()
        except DomainError as error:
            refusal = error
        if refusal is not None:
            for aggregate in self._aggregates():
                assert not aggregate.pending_events, f"refused {what} left {aggregate!r} changed"
                assert aggregate.version == versions[aggregate.id]
            assert expected is not True, f"{what} refused: {refusal}"
            event(f"{what}: refused")
            return False
        assert expected is not False, f"{what} passed, but should be refused"
        self._collect()
        event(f"{what}: passed")
        return True

    def _collect(self) -> None:
        for aggregate in self._aggregates():
            self.history.setdefault(aggregate.id, []).extend(aggregate.collect_events())

    def _status(self, case_id: UUID) -> str:
        return self.cases[case_id].status

    # ------------------------------------------------------------------ rules

    @rule(
        target=files,
        keeper=st.integers(min_value=0, max_value=len(KEEPERS) - 1),
        chip=st.sampled_from(CHIPS),
        breed=st.sampled_from(BREEDS),
        relief=st.sampled_from(RELIEFS),
        taken_in_back=st.sampled_from([0, 12, 45, 200, 500]),
        puppy=st.booleans(),
        paid_elsewhere=st.booleans(),
        progress=st.sampled_from([0, 1, 2, 3, 3, 3]),
    )
    def submit(
        self,
        keeper: int,
        chip: str,
        breed: str,
        relief: str | None,
        taken_in_back: int,
        puppy: bool,
        paid_elsewhere: bool,
        progress: int,
    ) -> UUID:
        """A keeper applies for a dog taken in some days ago (not before 2025: the tariffs');
        mostly the clerk takes it into review (1), registers it (2) and notifies (3) at once."""
        taken_in = max(self.today - timedelta(days=taken_in_back), date(2025, 1, 1))
        born_on = taken_in - timedelta(days=40 if puppy else 700)
        name, keeper_born = KEEPERS[keeper]
        data: dict[str, Any] = {
            "keeper": {"born_on": keeper_born, **ADDRESS},
            "dog": {
                "name": "Bello",
                "breed": breed,
                "colour": "schwarz",
                "born_on": born_on.isoformat(),
                "chip": chip,
            },
            "taken_in_on": taken_in.isoformat(),
            "dogs_in_household": 1,
        }
        if relief is not None:
            data["relief"] = {"reason": relief, "proof": "Nachweis 1", "from_day": str(taken_in)}
        if paid_elsewhere:
            months = [taken_in.month, min(taken_in.month + 1, 12)]
            data["paid_elsewhere"] = {
                "municipality": "Neu-Anspach",
                "year": taken_in.year,
                "months": sorted(set(months)),
                "amount": "9.50",
            }
        form = DogRegistrationApplication.model_validate(data)
        form.check(self.today)
        case_id = uuid4()
        case = DogRegistration.submit(
            case_id=case_id,
            actor=Actor(f"portal:{len(self.cases) + 1}", name, Role.APPLICANT, TOWN),
            at=self.at,
            tenant=TOWN,
            service=SERVICE_ID,
            reference=f"USI-2026-{len(self.cases) + 1:06d}",
            applicant={"name": PersonalData(case_id, Subjects.APPLICANT, name)},
            data=personal_data_of(form, case_id=case_id, subject=Subjects.APPLICANT),
            request_fingerprint="f" * 64,
        )
        assert isinstance(case, DogRegistration)
        self.cases[case_id] = case
        self.model[case_id] = DogFile(keeper, normalised_chip(chip), taken_in, relief, breed)
        assert case.keeper_key() == keeper_key(
            name, ADDRESS["street"], ADDRESS["house_number"], ADDRESS["postcode"]
        )
        self._collect()
        if progress >= 1:
            self.claim_and_confirm(case_id)
        if progress >= 2:
            self.register(case_id, notify=progress == 3)
        return case_id

    @rule(case_id=files)
    def claim_and_confirm(self, case_id: UUID) -> None:
        """The clerk takes the file into review."""
        case = self.cases[case_id]

        def both() -> None:
            case.claim(actor=CLERK, at=self.at)
            case.confirm_complete(actor=CLERK, at=self.at)

        self._attempt("claim", both, case.status == CaseStatus.SUBMITTED)

    @rule(case_id=files, notify=st.booleans())
    def register(self, case_id: UUID, notify: bool) -> None:
        """Entered in the register unless another registered file holds the chip."""
        case, mine = self.cases[case_id], self.model[case_id]
        if not case.liable_years(self.today.year):
            event("register: no liable month this year, the first year ahead is assessed")
        chip_taken = any(
            other.registered and self.model[other_id].chip == mine.chip
            for other_id, other in self.cases.items()
        )
        next_tag = self.roll.last_issued + 1
        passed = self._attempt(
            "register",
            lambda: case.register_dog(
                actor=CLERK,
                at=self.at,
                register=self.registers[mine.chip],
                roll=self.roll,
                household=self._household(case_id),
            ),
            case.status == CaseStatus.IN_REVIEW and not chip_taken,
        )
        if not passed:
            return
        assert case.status == CaseStatus.DECIDED
        assert case.tag == next_tag
        assert case.breed_listed == (mine.breed in LISTED)
        assert case.changes_to_notify == []  # the Bescheid makes its own years known
        decision = case.decision
        assert decision is not None
        assert decision.outcome.is_approval
        assert decision.fee == sum((e.due for e in case.tax_years.values()), Decimal("0.00"))
        if notify:
            self.notify(case_id)

    @rule(case_id=files)
    def notify(self, case_id: UUID) -> None:
        """The Bescheid is handed over."""
        case = self.cases[case_id]
        self._attempt(
            "notify",
            lambda: case.notify(actor=CLERK, at=self.at),
            case.status == CaseStatus.DECIDED,
        )

    @rule(case_id=files)
    def mark_final(self, case_id: UUID) -> None:
        """Final once the objection period is over."""
        case = self.cases[case_id]
        self._attempt("mark_final", lambda: case.mark_final(actor=CLERK, at=self.at), None)

    @rule(case_id=files, granted=st.booleans())
    def decide_relief(self, case_id: UUID, granted: bool) -> None:
        """Granted unless the dog is dangerous and the relief a reduction."""
        case, mine = self.cases[case_id], self.model[case_id]
        dangerous = case.dangerous or mine.breed in LISTED  # listed also before registration
        expected = (
            case.status in BEFORE_REGISTRATION | CHANGEABLE
            and mine.relief is not None
            and not (granted and dangerous and mine.relief != "assistance_dog")
        )
        household = self._household(case_id) if case.registered else None
        self._attempt(
            "relief granted" if granted else "relief refused",
            lambda: case.decide_relief(
                actor=CLERK, at=self.at, household=household, granted=granted, reasons="r"
            ),
            expected,
        )

    @rule(case_id=files, back=st.sampled_from([-1, 0, 3, 40]))
    def find_dangerous(self, case_id: UUID, back: int) -> None:
        """Found dangerous once, on a day not in the future."""
        case = self.cases[case_id]
        expected = (
            case.status in BEFORE_REGISTRATION | CHANGEABLE
            and case.found_dangerous_on is None
            and back >= 0
        )
        household = self._household(case_id) if case.registered else None
        self._attempt(
            "found dangerous",
            lambda: case.find_dog_dangerous(
                actor=CLERK,
                at=self.at,
                household=household,
                found_on=self.today - timedelta(days=back),
                reasons="Beißvorfall",
            ),
            expected,
        )

    @rule(case_id=files, granted=st.booleans(), complete=st.booleans())
    def decide_permit(self, case_id: UUID, granted: bool, complete: bool) -> None:
        """Granted only for a dangerous dog of a keeper of age, with every proof."""
        case, mine = self.cases[case_id], self.model[case_id]
        of_age = add_months(date.fromisoformat(KEEPERS[mine.keeper][1]), 12 * 18) <= self.today
        expected = case.status in KEPT and case.dangerous and (not granted or (of_age and complete))
        proofs = PROOFS if complete else {**PROOFS, "expertise_proof": None}
        self._attempt(
            "permit granted" if granted else "permit refused",
            lambda: case.decide_dangerous_dog_permit(
                actor=CLERK,
                at=self.at,
                granted=granted,
                temperament_test_passed_on=self.today,
                reasons="r",
                **proofs,
            ),
            expected,
        )

    @rule(case_id=files, by_keeper=st.booleans())
    def replace_lost_tag(self, case_id: UUID, by_keeper: bool) -> None:
        """A registered dog's tag is replaced by the next number."""
        case = self.cases[case_id]
        lost, next_tag = case.tag, self.roll.last_issued + 1
        actor = self._keeper(case_id) if by_keeper else CLERK
        if self._attempt(
            "lost tag",
            lambda: case.replace_lost_tag(actor=actor, at=self.at, roll=self.roll),
            case.status in KEPT,
        ):
            assert case.tag == next_tag
            assert lost is not None
            assert self.roll.withdrawn[lost] == "lost"

    @rule(
        case_id=files,
        reason=st.sampled_from(list(Deregistration)),
        back=st.sampled_from([-1, 0, 5, 45]),
        complete=st.booleans(),
        tag=st.sampled_from(list(TagReturn)),
    )
    def deregister(
        self, case_id: UUID, reason: Deregistration, back: int, complete: bool, tag: TagReturn
    ) -> None:
        """Deregistered on a day between taking in and today, with the details its reason needs."""
        case, mine = self.cases[case_id], self.model[case_id]
        on = self.today - timedelta(days=back)
        details = {
            Deregistration.HANDOVER: {"new_keeper": "Jonas Becker, Hauptstraße 3"},
            Deregistration.MOVED_AWAY: {"moved_to": "Neu-Anspach"},
        }.get(reason, {})
        expected = (
            case.status in CHANGEABLE
            and mine.taken_in <= on <= self.today
            and (complete or reason is Deregistration.DEATH)
        )
        passed = self._attempt(
            f"deregister ({reason.value})",
            lambda: case.deregister_dog(
                actor=self._keeper(case_id),
                at=self.at,
                register=self.registers[mine.chip],
                roll=self.roll,
                household=self._household(case_id),
                reason=reason,
                on=on,
                tag=tag,
                **(details if complete else {}),
            ),
            expected,
        )
        if passed:
            assert case.status == DogStatus.DEREGISTERED
            for year in case.tax_years:
                assert year <= on.year or case.tax_years[year].due == 0

    @rule(case_id=files)
    def assess_year(self, case_id: UUID) -> None:
        """This year assessed once the Bescheid is known; recorded only where the due moves."""
        case, mine = self.cases[case_id], self.model[case_id]
        last = case.deregistered_on.year if case.deregistered_on else self.today.year
        expected = case.status in ASSESSABLE and mine.taken_in.year <= self.today.year <= last
        outcome: list[bool] = []
        before = len(self.history[case_id])
        if self._attempt(
            "assess year",
            lambda: outcome.append(
                case.assess_tax_year(actor=CLERK, at=self.at, household=self._household(case_id))
            ),
            expected,
        ):
            new = self.history[case_id][before:]
            assert outcome == [bool(new)]  # nothing recorded where the year stands
            if new:
                assessed = [e for e in new if isinstance(e, DogRegistration.TaxYearAssessed)]
                assert [e.year for e in assessed] == [self.today.year]
            assert self.today.year in case.tax_years

    @rule(
        case_id=files,
        delivery=st.sampled_from([Delivery.COUNTER, Delivery.LETTER, Delivery.ELECTRONIC]),
        ahead=st.sampled_from([False, False, False, True]),
    )
    def notify_tax_change(self, case_id: UUID, delivery: Delivery, ahead: bool) -> None:
        """The amending notice of the years changed since the last one: sent today (or, to
        be refused, tomorrow), made known on the day its delivery sets, due a month on."""
        case = self.cases[case_id]
        years = list(case.changes_to_notify)
        charged = [
            entry.kassenzeichen
            for year in years
            if (entry := case.tax_years[year]).kassenzeichen is not None
        ]
        sent_on = self.today + timedelta(days=1) if ahead else None
        expected = (
            case.status in CHANGEABLE | {DogStatus.DEREGISTERED} and bool(years) and not ahead
        )
        before = len(self.history[case_id])
        if not self._attempt(
            "notify tax change",
            lambda: case.notify_tax_change(
                actor=CLERK, at=self.at, delivery=delivery, sent_on=sent_on
            ),
            expected,
        ):
            return
        (notice,) = self.history[case_id][before:]
        assert isinstance(notice, DogRegistration.TaxChangeNotified)
        notified_on = rule_on(self.today).notified_on(delivery, self.today, None)
        assert (notice.years, notice.kassenzeichen) == (years, charged)
        assert notice.amounts == [str(case.tax_years[year].due) for year in years]
        assert (notice.sent_on, notice.notified_on) == (self.today, notified_on)
        assert notice.due_on == add_months(notified_on, 1)
        assert case.changes_to_notify == []
        assert case.tax_changes[-1]["due_on"] == notice.due_on

    @rule(case_id=files)
    def withdraw(self, case_id: UUID) -> None:
        """The keeper withdraws before the dog is registered, never after."""
        case = self.cases[case_id]
        self._attempt(
            "withdraw",
            lambda: case.withdraw(actor=self._keeper(case_id), at=self.at),
            case.status in BEFORE_REGISTRATION,
        )

    @rule(case_id=files)
    def close(self, case_id: UUID) -> None:
        """A registered dog's file stays open."""
        case = self.cases[case_id]
        self._attempt(
            "close",
            lambda: case.close(actor=CLERK, at=self.at),
            False if case.registered else None,
        )

    @rule(months=st.sampled_from([1, 2, 4, 7]))
    def time_passes(self, months: int) -> None:
        """The clock moves on by months (to a new year now and then), for a few years."""
        if self.today.year < 2030:
            self.today = add_months(self.today, months)

    # ------------------------------------------------------------- invariants

    @invariant()
    def a_chips_register_holds_the_file_exactly_while_its_dog_is_registered(self) -> None:
        for chip, register in self.registers.items():
            holders = [
                case_id
                for case_id, case in self.cases.items()
                if case.registered and self.model[case_id].chip == chip
            ]
            assert len(holders) <= 1
            assert register.current_case == (holders[0] if holders else None)

    @invariant()
    def tags_issued_run_from_one_each_held_or_withdrawn(self) -> None:
        issued = [
            e.number for e in self.history[self.roll.id] if isinstance(e, TaxTagRoll.TagIssued)
        ]
        assert issued == list(range(1, self.roll.last_issued + 1))
        held, withdrawn = set(self.roll.holders), set(self.roll.withdrawn)
        assert not held & withdrawn
        assert held | withdrawn == set(issued)
        assert self.roll.holders == {
            case.tag: case_id
            for case_id, case in self.cases.items()
            if case.registered and case.tag is not None
        }
        for case in self.cases.values():
            assert case.tags == sorted(case.tags)
            assert case.registered == (case.tag is not None)

    @invariant()
    def the_dog_tax_charged_of_a_year_is_its_recorded_due(self) -> None:
        for case_id, case in self.cases.items():
            year_of = {
                e.kassenzeichen: e.year
                for e in self.history[case_id]
                if isinstance(e, DogRegistration.TaxYearAssessed) and e.kassenzeichen
            }
            live: dict[int, list[str]] = {}
            sums: dict[int, Decimal] = {}
            for charge in case.charges:
                if charge.ledger != DOG_TAX_LEDGER:
                    continue
                assert charge.kassenzeichen in year_of, "a dog tax charge of no year"
                if charge.kassenzeichen in case.withdrawn_charges:
                    continue
                year = year_of[charge.kassenzeichen]
                live.setdefault(year, []).append(charge.kassenzeichen)
                sums[year] = sums.get(year, Decimal(0)) + charge.amount
            assert set(sums) <= set(case.tax_years)
            for year, entry in case.tax_years.items():
                assert sums.get(year, Decimal(0)) == entry.due, (year, sums, entry)
                assert live.get(year, []) == ([entry.kassenzeichen] if entry.kassenzeichen else [])

    @invariant()
    def a_change_is_undated_until_its_notice_and_dated_a_month_after_it(self) -> None:
        for case_id, case in self.cases.items():
            assessed_by: dict[str, DogRegistration.TaxYearAssessed] = {}
            made_known: dict[str, DogRegistration.TaxChangeNotified] = {}
            for recorded in self.history[case_id]:
                if isinstance(recorded, DogRegistration.TaxYearAssessed) and recorded.kassenzeichen:
                    assessed_by[recorded.kassenzeichen] = recorded
                if isinstance(recorded, DogRegistration.TaxChangeNotified):
                    assert recorded.due_on == add_months(recorded.notified_on, 1)
                    for kassenzeichen in recorded.kassenzeichen:
                        assert kassenzeichen not in made_known, "a change made known twice"
                        made_known[kassenzeichen] = recorded
            assert case.changes_to_notify == sorted(set(case.changes_to_notify))
            assert set(case.changes_to_notify) <= set(case.tax_years)
            for charge in case.charges:
                if charge.ledger != DOG_TAX_LEDGER:
                    continue
                assessed = assessed_by[charge.kassenzeichen]
                live = charge.kassenzeichen not in case.withdrawn_charges
                if live and assessed.year in case.changes_to_notify:  # awaiting its notice
                    assert assessed.reason not in NOTICE_FREE, (assessed.year, assessed.reason)
                    assert charge.due_on is None
                    assert charge.kassenzeichen not in made_known, "a change awaiting is dated"
                elif assessed.reason in NOTICE_FREE:  # made known by the Bescheid in force
                    assert charge.kassenzeichen not in made_known
                else:  # a change falls due only by its notice, which dated it
                    assert charge.due_on is None
                    assert not live or charge.kassenzeichen in made_known, "never made known"

    @invariant()
    def every_year_assessed_replays_to_its_due(self) -> None:
        assessed = [
            (case_id, e)
            for case_id in self.cases
            for e in self.history[case_id]
            if isinstance(e, DogRegistration.TaxYearAssessed)
        ]
        for case_id, recorded in assessed[self.replayed_years :]:
            replayed = replay_year(recorded.rules)
            assert self.cases[case_id].due_in(replayed) == recorded.due
            assert replayed.year == recorded.year
        self.replayed_years = len(assessed)

    @invariant()
    def every_decision_replays_to_its_fee(self) -> None:
        for case in self.cases.values():
            for decision in case.decisions:
                assert case.replay_terms(decision).fee == decision.fee

    @invariant()
    def nothing_is_left_pending(self) -> None:
        for aggregate in self._aggregates():
            assert not aggregate.pending_events

    @invariant()
    def every_aggregate_rebuilds_from_its_events(self) -> None:
        for aggregate in self._aggregates():
            again = rebuilt(self.history[aggregate.id])
            assert type(again) is type(aggregate)
            assert state_of(again) == state_of(aggregate), type(aggregate).__name__

    def teardown(self) -> None:
        registered = sum(1 for case in self.cases.values() if case.registered_on is not None)
        event(f"files registered: {min(registered, 3)}")
        event(f"tags issued: {min(self.roll.last_issued, 4)}")
        years = {y for case in self.cases.values() for y in case.tax_years}
        event(f"years assessed: {len(years)}")


DogRegistrationMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestDogRegistrationMachine = DogRegistrationMachine.TestCase
