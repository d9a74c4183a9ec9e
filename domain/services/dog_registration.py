"""Dog registration and dog tax (Hundeanmeldung, Hundesteuer): one file per dog and keeper.

The keeper registers a dog with the town (the Satzung requires it within two weeks of taking
it in): the keeper's address and date of birth, the dog (name, breed, colour, date of birth,
microchip), the day it was taken in, the dogs of the household, a relief applied for with
its proof, and tax paid to another town for the same months. A clerk then enters the dog in
the town's register (``register_dog``): the chip is claimed in the town's ``DogRegister``
(a chip is registered once per town at a time), the next tax tag of the town's
``TaxTagRoll`` is issued (a number is never issued twice), the dog enters the keeper's
``DogHousehold`` (the dogs the tax counts), and the Hundesteuerbescheid is decided in the
same step: the tax of every year from the first liable one, each year recorded with the
inputs it replays from (``domain.rules.dog_tax``) and charged under its own Kassenzeichen.

While the dog is kept, the file goes on: a relief is decided (``decide_relief``); a dog is
found dangerous in the individual case (``find_dog_dangerous``); the public-order authority
decides the permit a dangerous dog needs (``decide_dangerous_dog_permit``, HundeVO); a lost
tag is replaced for a fee (``replace_lost_tag``); the tax of each new year is assessed on
1 January by the scheduler (``assess_tax_year``: the assessment stays in force until
changed). A change that moves the tax of a year assesses that year anew: the earlier charge
is withdrawn (its receivable cancelled, money paid on it a refund due) and the new amount
charged. The keeper deregisters the dog (``deregister_dog``: death, handover to a new
keeper, moving away): the tax ends with the month, the chip is free, the tag comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.actor import Actor, ActorRecord
from domain.case import Case, ChangesStatus, DecisionTerms
from domain.case_charges import ChargeLine, ChargesMadeKnown
from domain.decision import Decision, DecisionOutcome, RulesApplied
from domain.errors import InvalidCommand
from domain.lifecycle import CaseStatus, extend_lifecycle
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.rules import dangerous_dogs, notification
from domain.rules.dog_tax import (
    DOG_TAX_RULES_ID,
    Credit,
    DogInHousehold,
    Relief,
    ReliefClaim,
    YearAssessment,
    assess_year,
    dog_from_record,
    dog_record,
    liability_months,
    replay_year,
    tariff_in_force,
)
from domain.rules.versions import AsRecorded, RulesChoice
from domain.services.dog_application import (
    DogRegistrationApplication,
)
from domain.services.dog_register import (
    DogHousehold,
    DogRegister,
    TaxTagRoll,
    keeper_key,
    normalised_chip,
)
from domain.working_days import add_months, berlin_date, period_end

SERVICE_ID: Final = "dog-registration"
LEGAL_BASIS: Final = (
    "§ 7 KAG Hessen mit der Hundesteuersatzung der Stadt/Gemeinde; Gefahrenabwehrverordnung "
    "über das Halten und Führen von Hunden (HundeVO)"
)
DOG_TAX_LEDGER: Final = "dog_tax"  # Hundesteuer
TAG_FEE_LEDGER: Final = "administrative_fee"  # the fee for a replacement tag
REGISTRATION_WEEKS: Final = 2  # the Satzung: register within two weeks of taking the dog in
NOTICE_FREE: Final = frozenset({"bescheid", "year"})  # made known by the Bescheid in force
ASSESSED_YEARS_BACK: Final = 4  # the assessment period (§ 4 KAG Hessen with § 169 (2) AO)

EVENT_LABELS: Final = {
    "DogRegistered": ("Hund ins Hunderegister eingetragen", "Dog entered in the register"),
    "TaxYearAssessed": ("Hundesteuer eines Jahres festgesetzt", "Dog tax of a year assessed"),
    "ReliefDecided": ("Steuerermäßigung entschieden", "Tax relief decided"),
    "DogFoundDangerous": ("Hund als gefährlich festgestellt", "Dog found dangerous"),
    "DangerousDogPermitDecided": (
        "Erlaubnis für einen gefährlichen Hund entschieden",
        "Dangerous-dog permit decided",
    ),
    "TagReplaced": ("Ersatz-Steuermarke ausgegeben", "Replacement tax tag issued"),
    "DogDeregistered": ("Hund abgemeldet", "Dog deregistered"),
    "TaxChangeNotified": (
        "Änderungsbescheid zur Hundesteuer bekanntgegeben",
        "Amending dog tax notice made known",
    ),
}


# --------------------------------------------------------------- the records


class Deregistration(StrEnum):
    """Why a dog leaves the register."""

    DEATH = "death"
    HANDOVER = "handover"  # to a new keeper (recorded)
    MOVED_AWAY = "moved_away"  # the keeper moved to another municipality


class TagReturn(StrEnum):
    """What became of the tag on deregistration."""

    RETURNED = "returned"
    LOST = "lost"
    NOT_RETURNED = "not_returned"


@dataclass(frozen=True, slots=True)
class TaxYear:
    """The tax of one year as last assessed: the record, what is due, under which charge."""

    year: int
    due: Decimal
    rules: RulesApplied
    kassenzeichen: str | None


class DogStatus:
    """Statuses after the Bescheid."""

    DEREGISTERED: Final = "deregistered"


_KEPT = {
    "decide_relief",
    "find_dog_dangerous",
    "decide_dangerous_dog_permit",
    "replace_lost_tag",
    "deregister_dog",
    "assess_tax_year",
}
_BEFORE_REGISTRATION = {"register_dog", "decide_relief", "find_dog_dangerous"}


class DogRegistration(Case):
    """One dog of one keeper: registered, taxed year by year, deregistered."""

    PROCESSING_PERIOD_WORKING_DAYS: ClassVar[int] = 10
    FEE_LEGAL_BASIS: ClassVar[str] = "§ 7 KAG Hessen mit der Hundesteuersatzung"
    FEE_BY_TARIFF_OF: ClassVar[str | None] = "the dog tax"
    APPROVED_ONLY_BY_RULES: ClassVar[str | None] = (
        "a dog is registered, and its tax assessed, by register_dog"
    )
    APPLICANT_COMMANDS: ClassVar[frozenset[str]] = Case.APPLICANT_COMMANDS | {
        "deregister_dog",
        "replace_lost_tag",
    }
    PUBLIC_EVENTS: ClassVar[Mapping[str, tuple[str, str]]] = {
        "DogRegistered": ("dog_registered", "Dog registration: the dog is in the register."),
        "TaxYearAssessed": ("dog_tax_assessed", "Dog registration: a year's tax was assessed."),
        "DogDeregistered": ("dog_deregistered", "Dog registration: the dog was deregistered."),
        "TaxChangeNotified": (
            "dog_tax_change_notified",
            "Dog registration: an amending notice of the tax was made known.",
        ),
    }
    LIFECYCLE = extend_lifecycle(
        Case.LIFECYCLE,
        {
            CaseStatus.SUBMITTED: {"decide_relief", "find_dog_dangerous"},
            CaseStatus.IN_REVIEW: set(_BEFORE_REGISTRATION),
            # Between the Bescheid and its Bekanntgabe nothing changes the tax: the Bescheid
            # made known states what is charged; a change after it is an amending notice.
            CaseStatus.DECIDED: {"decide_dangerous_dog_permit", "replace_lost_tag"},
            CaseStatus.NOTIFIED: {*_KEPT, "notify_tax_change"},
            CaseStatus.FINAL: {*_KEPT, "notify_tax_change"},
            DogStatus.DEREGISTERED: {"close", "assess_tax_year", "notify_tax_change"},
        },
    )

    def _submitted(self, submitted: Case.Submitted) -> None:
        super()._submitted(submitted)
        self.registered_on: date | None = None
        self.register_id: UUID | None = None
        self.household_id: UUID | None = None
        self.tag: int | None = None
        self.tags: list[int] = []
        self.household: tuple[DogInHousehold, ...] = ()  # the other dogs when registered
        self.household_entry: int | None = None  # its order in the household (ranks ties)
        self.breed_listed = False
        self.found_dangerous_on: date | None = None
        self.relief: ReliefClaim | None = None
        self.relief_refused = False
        self.permit: dict[str, Any] | None = None
        self.tax_years: dict[int, TaxYear] = {}
        self.deregistered_on: date | None = None
        self.deregistration: str | None = None
        self.changes_to_notify: list[int] = []  # years re-assessed, awaiting their notice
        self.changed_on: date | None = None  # the day of the last change awaiting a notice
        self.tax_changes: list[dict[str, Any]] = []  # the amending notices made known

    @property
    def application(self) -> DogRegistrationApplication:
        """The application data as submitted, typed, read as stored (never validated again)."""
        return DogRegistrationApplication.stored(self.data)

    # ------------------------------------------------------------------ queries

    @property
    def dangerous(self) -> bool:
        """A listed breed, or found dangerous in the individual case."""
        return self.breed_listed or self.found_dangerous_on is not None

    @property
    def registered(self) -> bool:
        """In the town's register (until deregistered)."""
        return self.registered_on is not None and self.deregistered_on is None

    def as_taxed(self) -> DogInHousehold:
        """This dog as the tax reads it."""
        stored = self.application
        return DogInHousehold(
            dog_id=str(self.id),
            taken_in=stored.taken_in_on,
            born_on=stored.dog.born_on,
            deregistered_on=self.deregistered_on,
            dangerous=self.dangerous,
            relief=self.relief,
            dangerous_from=None if self.breed_listed else self.found_dangerous_on,
            entered=self.household_entry,
        )

    def credits(self, year: int) -> tuple[Credit, ...]:
        """Tax paid elsewhere for this dog in the year, as the application gave it."""
        paid = self.application.paid_elsewhere
        if paid is None or int(paid.year) != year:
            return ()
        return (Credit(str(self.id), tuple(int(m) for m in paid.months), Decimal(paid.amount)),)

    def liable_years(self, until: int) -> list[int]:
        """The years from the first liable one (at most four back) through ``until``."""
        stored = self.application
        first = max(stored.taken_in_on.year, until - ASSESSED_YEARS_BACK + 1)
        return [
            year
            for year in range(first, until + 1)
            if liability_months(stored.taken_in_on, stored.dog.born_on, self.deregistered_on, year)
        ]

    def assess(self, year: int, others: Sequence[DogInHousehold]) -> YearAssessment:
        """The household's tax of the year with this dog as it stands."""
        dogs = [dog for dog in others if dog.dog_id != str(self.id)]
        return assess_year(self.tenant, year, (*dogs, self.as_taxed()), self.credits(year))

    def due_in(self, assessment: YearAssessment) -> Decimal:
        """This dog's share of a household assessment."""
        for dog in assessment.dogs:
            if dog.dog_id == str(self.id):
                return dog.due
        return Decimal("0.00")

    def keeper_key(self) -> str:
        """Who the keeper is, for the household: name and address (refused once erased)."""
        keeper = self.application.keeper
        return keeper_key(
            _revealed(self.applicant.get("name"), "applicant.name"),
            _revealed(keeper.street, "data.keeper.street"),
            _revealed(keeper.house_number, "data.keeper.house_number"),
            str(keeper.postcode),
        )

    def chip(self) -> str:
        """The normalised chip number (refused once erased)."""
        return normalised_chip(_revealed(self.application.dog.chip, "data.dog.chip"))

    def keeper_age_on(self, day: date) -> int | None:
        """The keeper's age in whole years on a day (None once erased)."""
        born = self.application.keeper.born_on
        text = born.value if isinstance(born, PersonalData) else born
        if isinstance(text, date):
            born_on = text
        elif isinstance(text, str):
            born_on = date.fromisoformat(text)
        else:
            return None
        return day.year - born_on.year - ((day.month, day.day) < (born_on.month, born_on.day))

    # ------------------------------------------------------------- registration

    def register_dog(
        self,
        *,
        actor: Actor,
        at: datetime,
        register: DogRegister,
        roll: TaxTagRoll,
        household: DogHousehold,
        registered_on: date | None = None,
    ) -> None:
        """Enter the dog in the register, issue its tag and decide the Hundesteuerbescheid.

        The chip is claimed in the town's register (refused if another file holds it), the
        roll issues the town's next tag number, the dog enters the keeper's household, and
        the tax of every liable year is assessed and charged in the same step.
        """
        record = self._begin("register_dog", actor, at)
        self.check_holder("register_dog", actor)
        today = berlin_date(at)
        day = registered_on or today
        if day > today:
            raise InvalidCommand("registered_on", "must not lie in the future")
        if day < berlin_date(self.submitted_at):
            raise InvalidCommand("registered_on", "must not lie before the submission")
        years = self.bescheid_years(today)
        others = _union(household.dogs_for_tax(year) for year in years)
        others = tuple(dog for dog in others if dog.dog_id != str(self.id))
        listed = dangerous_dogs.breed_listed(str(self.application.dog.breed), today)
        # Assessed before anything changes: a year the tariffs do not cover refuses the step
        # with the register, the roll and the household untouched.
        dog = replace(
            self.as_taxed(),
            dangerous=listed or self.found_dangerous_on is not None,
            dangerous_from=None if listed else self.found_dangerous_on,
            entered=household.entries + 1,
        )
        assessed = [
            assess_year(self.tenant, year, (*others, dog), self.credits(year)) for year in years
        ]
        register.register(case_id=self.id, registered_on=day, actor=actor, at=at)
        tag = roll.issue(case_id=self.id, actor=actor, at=at, reason="registration")
        household.enter(
            case_id=self.id,
            taken_in=dog.taken_in,
            born_on=dog.born_on,
            dangerous=dog.dangerous,
            dangerous_from=dog.dangerous_from,
            relief=self.relief,
            actor=actor,
            at=at,
        )
        self._dog_registered(
            actor=record,
            at=at,
            registered_on=day,
            register_id=register.id,
            household_id=household.id,
            tag=tag,
            breed_listed=listed,
            household=[dog_record(other) for other in others],
            household_entry=household.dogs[self.id].entered,
        )
        self.decide(
            actor=actor,
            at=at,
            outcome=DecisionOutcome.APPROVED,
            justification=_justification(tag, listed),
            legal_basis=tariff_in_force(self.tenant, today).legal_basis,
            rules=tuple(a.rules for a in assessed),
            operative_part=_operative_part(
                str(self.application.dog.name), tag, {a.year: self.due_in(a) for a in assessed}
            ),
        )

    def bescheid_years(self, today: date) -> list[int]:
        """The years the Bescheid assesses: every liable one through this year (at most four
        back); a dog not yet taxed this year (taken in in December, a puppy) its first year."""
        years = self.liable_years(today.year)
        if years:
            return years
        return self.liable_years(today.year + 1)[-1:]

    class DogRegistered(Aggregate.Event):
        """The dog is in the town's register with its tax tag (its chip held for it)."""

        actor: ActorRecord
        at: datetime
        registered_on: date
        register_id: UUID
        household_id: UUID
        tag: int
        breed_listed: bool
        household: list[dict[str, Any]]
        household_entry: int

    @event(DogRegistered)
    def _dog_registered(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        registered_on: date,
        register_id: UUID,
        household_id: UUID,
        tag: int,
        breed_listed: bool,
        household: list[dict[str, Any]],
        household_entry: int,
    ) -> None:
        self.registered_on = registered_on
        self.register_id = register_id
        self.household_id = household_id
        self.tag = tag
        self.tags.append(tag)
        self.breed_listed = breed_listed
        self.household = tuple(dog_from_record(r) for r in household)
        self.household_entry = household_entry
        self.last_activity_at = at

    # ----------------------------------------------------------- the Bescheid

    def terms_by_rules(
        self,
        outcome: DecisionOutcome,
        expires_on: date | None,
        decided_on: date,
        rules: RulesChoice,
    ) -> DecisionTerms | None:
        """The tax of every liable year: assessed anew, or replayed from its record."""
        if not outcome.is_approval:
            return DecisionTerms()
        if isinstance(rules, AsRecorded):
            assessments = [replay_year(r) for r in rules.rules if r.rules_id == DOG_TAX_RULES_ID]
        else:
            if self.registered_on is None:
                raise InvalidCommand("register_dog", "the dog is not in the register yet")
            years = self.bescheid_years(decided_on)
            assessments = [self.assess(year, self.household) for year in years]
        dues = {a.year: self.due_in(a) for a in assessments}
        return DecisionTerms(
            fee=sum(dues.values(), Decimal("0.00")),
            rules=tuple(a.rules for a in assessments),
            particulars={
                "tag": self.tag,
                "tax_years": {str(year): str(due) for year, due in dues.items()},
            },
        )

    def data_read_by_rules(self) -> Any:
        """A replay reads the dates and the relief; the keeper's address is not needed."""
        stored = self.application
        return {"taken_in_on": stored.taken_in_on, "dog_born_on": stored.dog.born_on}

    def fee_legal_basis(self) -> str:
        """The town's Hundesteuersatzung in force."""
        return tariff_in_force(self.tenant, berlin_date(self.submitted_at)).legal_basis

    def charge_lines(self, decision: Decision) -> tuple[ChargeLine, ...]:
        """No line of its own: ``charge_fees`` charges each year under its own Kassenzeichen."""
        return ()

    def charge_fees(self, record: ActorRecord, at: datetime, decision: Decision) -> None:
        """Each year the Bescheid assessed: recorded, and charged under its own Kassenzeichen."""
        number = len(self.decisions)
        for rules in decision.rules:
            if rules.rules_id == DOG_TAX_RULES_ID:
                assessed = replay_year(rules)
                today = berlin_date(at)
                # This year's and earlier years' tax falls due a month after the Bekanntgabe;
                # a year still ahead on its Satzung's day.
                due_on = self._due_on(assessed.year, today) if assessed.year > today.year else None
                self._assess_year_charged(
                    record, at, assessed, f"decision:{number}", due_on, "bescheid"
                )

    def _assess_year_charged(
        self,
        record: ActorRecord,
        at: datetime,
        assessed: YearAssessment,
        refers_to: str,
        due_on: date | None,
        reason: str,
    ) -> bool:
        """Record a year's assessment; charge it, withdrawing an earlier charge it replaces.

        False (and nothing recorded) where the year stands assessed at the same amount.
        """
        due = self.due_in(assessed)
        earlier = self.tax_years.get(assessed.year)
        if earlier is not None and earlier.due == due:
            return False
        if earlier is not None and earlier.kassenzeichen is not None:
            self.withdraw_charge(record, at, earlier.kassenzeichen, "reassessed")
        charge = self.charge_line(
            record,
            at,
            ChargeLine(DOG_TAX_LEDGER, due, assessed.rules.inputs["legal_basis"]),
            refers_to=refers_to,
            due_on=due_on,
        )
        self._tax_year_assessed(
            actor=record,
            at=at,
            year=assessed.year,
            rules=assessed.rules,
            due=due,
            kassenzeichen=charge.kassenzeichen if charge else None,
            reason=reason,
        )
        return True

    class TaxYearAssessed(Aggregate.Event):
        """The tax of a year as assessed, with the record it replays from and its charge."""

        actor: ActorRecord
        at: datetime
        year: int
        rules: RulesApplied
        due: Decimal
        kassenzeichen: str | None
        reason: str

    @event(TaxYearAssessed)
    def _tax_year_assessed(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        year: int,
        rules: RulesApplied,
        due: Decimal,
        kassenzeichen: str | None,
        reason: str,
    ) -> None:
        self.tax_years[year] = TaxYear(year, due, rules, kassenzeichen)
        if reason not in NOTICE_FREE:
            if year not in self.changes_to_notify:
                self.changes_to_notify = sorted([*self.changes_to_notify, year])
            self.changed_on = berlin_date(at)  # a notice is not sent before the change
        self.last_activity_at = at

    def withdraw(self, *, actor: Actor, at: datetime, reason: str | None = None) -> None:
        """Before registration only: a registered dog is deregistered, not withdrawn."""
        if self.registered_on is not None:
            raise InvalidCommand("status", "the dog is registered: deregister it instead")
        super().withdraw(actor=actor, at=at, reason=reason)

    # -------------------------------------------------------------- the years

    def assess_tax_year(
        self,
        *,
        actor: Actor,
        at: datetime,
        household: DogHousehold,
        year: int | None = None,
        reason: str = "year",
    ) -> bool:
        """Assess the tax of a year (this year by default) with the household as it stands.

        The scheduler runs it on 1 January (the Bescheid stays in force for later years
        until changed: the new year is charged, due on the tariff's day); staff run it after
        a change elsewhere in the household. False where the year stands as assessed.
        """
        record = self._begin("assess_tax_year", actor, at)
        today = berlin_date(at)
        wanted = year if year is not None else today.year
        if wanted > today.year:
            raise InvalidCommand("year", "a year is assessed from its first day")
        if self.registered_on is None:
            raise InvalidCommand("register_dog", "the dog is not in the register")
        last = self.deregistered_on.year if self.deregistered_on else today.year
        if not self.application.taken_in_on.year <= wanted <= last:
            raise InvalidCommand("year", f"the dog was not kept in {wanted}")
        others = [d for d in household.dogs_for_tax(wanted) if d.dog_id != str(self.id)]
        assessed = self.assess(wanted, others)
        if wanted in self.tax_years:  # a correction: made known by an amending notice
            return self._assess_year_charged(
                record, at, assessed, f"tax-year:{wanted}", None, "corrected"
            )
        return self._assess_year_charged(
            record, at, assessed, f"tax-year:{wanted}", self._due_on(wanted, today), reason
        )

    def _due_on(self, year: int, today: date) -> date:
        """The Satzung's day in the year, but never sooner than a month from today."""
        month, day = tariff_in_force(self.tenant, date(year, 1, 1)).payable_on
        return max(date(year, month, day), add_months(today, 1))

    def next_tax_year(self) -> int | None:
        """The next year to assess on its first day, while the dog is registered."""
        if not self.registered or self.decision is None:
            return None
        assessed = max(self.tax_years, default=berlin_date(self.decision.decided_at).year)
        return max(assessed, berlin_date(self.decision.decided_at).year) + 1

    # ------------------------------------------------------------- changes

    def decide_relief(
        self,
        *,
        actor: Actor,
        at: datetime,
        household: DogHousehold | None,
        granted: bool,
        reasons: str,
        from_day: date | None = None,
        until: date | None = None,
    ) -> None:
        """Grant or refuse the relief applied for, checking its proof and dates."""
        record = self._begin("decide_relief", actor, at)
        applied = self.application.relief
        if applied is None:
            raise InvalidCommand("relief", "no relief was applied for")
        claim = None
        if granted:
            rule = tariff_in_force(self.tenant, berlin_date(at)).relief(Relief(applied.reason))
            if rule is None:
                raise InvalidCommand("granted", "the Satzung grants no relief for this reason")
            listed = self.breed_listed or dangerous_dogs.breed_listed(
                str(self.application.dog.breed), berlin_date(at)
            )
            if (self.dangerous or listed) and not rule.for_dangerous_dogs:
                raise InvalidCommand("granted", "the Satzung grants a dangerous dog no reduction")
            start = from_day or applied.from_day
            end = until if until is not None else applied.until
            if end is not None and end < start:
                raise InvalidCommand("until", "must not lie before from_day")
            # The proof's reference (a benefits notice, a contract) may name the keeper: it
            # stays sealed in the application; the tax records only reason and dates.
            claim = ReliefClaim(Relief(applied.reason), start, end)
        self._relief_decided(
            actor=record,
            at=at,
            granted=granted,
            reason=str(Relief(applied.reason)),
            from_day=claim.from_day if claim else None,
            until=claim.until if claim else None,
            proof=claim.proof if claim else "",
            reasons=self._case_text(reasons, "reasons"),
        )
        if household is not None and self.registered:
            household.change(
                case_id=self.id,
                dangerous=self.dangerous,
                dangerous_from=None if self.breed_listed else self.found_dangerous_on,
                relief=self.relief,
                actor=actor,
                at=at,
            )
            self._reassess(record, at, household, "relief")

    class ReliefDecided(Aggregate.Event):
        """The relief applied for was granted (with its dates) or refused, with reasons."""

        actor: ActorRecord
        at: datetime
        granted: bool
        reason: str
        from_day: date | None
        until: date | None
        proof: str
        reasons: PersonalValue

    @event(ReliefDecided)
    def _relief_decided(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        granted: bool,
        reason: str,
        from_day: date | None,
        until: date | None,
        proof: str,
        reasons: PersonalValue,
    ) -> None:
        if granted and from_day is not None:
            self.relief = ReliefClaim(Relief(reason), from_day, until, proof)
            self.relief_refused = False
        else:
            self.relief = None
            self.relief_refused = True
        self.last_activity_at = at

    def find_dog_dangerous(
        self,
        *,
        actor: Actor,
        at: datetime,
        household: DogHousehold | None,
        found_on: date,
        reasons: str,
    ) -> None:
        """The public-order authority found the dog dangerous in the individual case.

        It then needs a permit (``decide_dangerous_dog_permit``) and pays the dangerous
        dog's rate; a registered dog's tax is assessed anew.
        """
        record = self._begin("find_dog_dangerous", actor, at)
        if self.found_dangerous_on is not None:
            raise InvalidCommand("found_on", "the dog was found dangerous already")
        if found_on > berlin_date(at):
            raise InvalidCommand("found_on", "must not lie in the future")
        self._dog_found_dangerous(
            actor=record, at=at, found_on=found_on, reasons=self._case_text(reasons, "reasons")
        )
        if household is not None and self.registered:
            household.change(
                case_id=self.id,
                dangerous=True,
                dangerous_from=None if self.breed_listed else found_on,
                relief=self.relief,
                actor=actor,
                at=at,
            )
            self._reassess(record, at, household, "found_dangerous")

    class DogFoundDangerous(Aggregate.Event):
        """Found dangerous in the individual case (§ 2 (2) HundeVO), with the reasons."""

        actor: ActorRecord
        at: datetime
        found_on: date
        reasons: PersonalValue

    @event(DogFoundDangerous)
    def _dog_found_dangerous(
        self, *, actor: ActorRecord, at: datetime, found_on: date, reasons: PersonalValue
    ) -> None:
        self.found_dangerous_on = found_on
        self.last_activity_at = at

    def decide_dangerous_dog_permit(
        self,
        *,
        actor: Actor,
        at: datetime,
        granted: bool,
        reliability_proof: str | None = None,
        expertise_proof: str | None = None,
        temperament_test_passed_on: date | None = None,
        liability_insurance: str | None = None,
        reasons: str,
    ) -> None:
        """The permit a dangerous dog needs (HundeVO): granted only when every requirement
        is proven — keeper of age, reliable, with expertise; temperament test passed;
        liability insurance; the dog chipped (registered with its chip)."""
        record = self._begin("decide_dangerous_dog_permit", actor, at)
        if not self.dangerous:
            raise InvalidCommand(
                "granted", "the dog is neither of a listed breed nor found dangerous"
            )
        today = berlin_date(at)
        rules = dangerous_dogs.rules_on(today)
        if granted:
            age = self.keeper_age_on(today)
            if age is None:
                raise InvalidCommand("data.keeper.born_on", "was erased: the age cannot be checked")
            if age < rules.minimum_keeper_age:
                raise InvalidCommand(
                    "granted", f"the keeper must be at least {rules.minimum_keeper_age}"
                )
            for field_name, value in (
                ("reliability_proof", reliability_proof),
                ("expertise_proof", expertise_proof),
                ("temperament_test_passed_on", temperament_test_passed_on),
                ("liability_insurance", liability_insurance),
            ):
                if not value:
                    raise InvalidCommand(field_name, "is required to grant the permit")
            if temperament_test_passed_on is not None and temperament_test_passed_on > today:
                raise InvalidCommand("temperament_test_passed_on", "must not lie in the future")
            if self.registered_on is None:
                raise InvalidCommand("register_dog", "the dog is registered with its chip first")
        self._dangerous_dog_permit_decided(
            actor=record,
            at=at,
            granted=granted,
            reliability_proof=self._keeper_text(reliability_proof, "reliability_proof"),
            expertise_proof=self._keeper_text(expertise_proof, "expertise_proof"),
            temperament_test_passed_on=temperament_test_passed_on,
            liability_insurance=self._keeper_text(liability_insurance, "liability_insurance"),
            reasons=self._case_text(reasons, "reasons"),
            rules=rules.record(self.breed_listed),
        )

    def _keeper_text(self, text: str | None, field_name: str) -> PersonalValue | None:
        """A proof's reference about the keeper (a certificate, a policy), sealed."""
        return self._personal(Subjects.APPLICANT, text, field_name) if text else None

    class DangerousDogPermitDecided(Aggregate.Event):
        """The permit for a dangerous dog, granted or refused, with what was proven."""

        actor: ActorRecord
        at: datetime
        granted: bool
        reliability_proof: PersonalValue | None
        expertise_proof: PersonalValue | None
        temperament_test_passed_on: date | None
        liability_insurance: PersonalValue | None
        reasons: PersonalValue
        rules: RulesApplied

    @event(DangerousDogPermitDecided)
    def _dangerous_dog_permit_decided(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        granted: bool,
        reliability_proof: PersonalValue | None,
        expertise_proof: PersonalValue | None,
        temperament_test_passed_on: date | None,
        liability_insurance: PersonalValue | None,
        reasons: PersonalValue,
        rules: RulesApplied,
    ) -> None:
        self.permit = {
            "granted": granted,
            "decided_on": berlin_date(at),
            "temperament_test_passed_on": temperament_test_passed_on,
            "rules_version": rules.version,
        }
        self.last_activity_at = at

    def replace_lost_tag(self, *, actor: Actor, at: datetime, roll: TaxTagRoll) -> int:
        """The tag was lost: it is withdrawn as lost and a new number issued, for a fee."""
        record = self._begin("replace_lost_tag", actor, at)
        if not self.registered or self.tag is None:
            raise InvalidCommand("tag", "the dog holds no tag")
        roll.withdraw(number=self.tag, case_id=self.id, how="lost", actor=actor, at=at)
        new = roll.issue(case_id=self.id, actor=actor, at=at, reason="replacement")
        today = berlin_date(at)
        fee = tariff_in_force(self.tenant, today).tag_replacement_fee
        self._tag_replaced(actor=record, at=at, lost=self.tag, tag=new, fee=fee)
        self.charge_line(
            record,
            at,
            ChargeLine(TAG_FEE_LEDGER, fee, self.fee_legal_basis()),
            refers_to=f"tag:{new}",
            due_on=add_months(today, 1),
        )
        return new

    class TagReplaced(Aggregate.Event):
        """A lost tag was replaced by a new number, for the Satzung's fee."""

        actor: ActorRecord
        at: datetime
        lost: int
        tag: int
        fee: Decimal

    @event(TagReplaced)
    def _tag_replaced(
        self, *, actor: ActorRecord, at: datetime, lost: int, tag: int, fee: Decimal
    ) -> None:
        self.tag = tag
        self.tags.append(tag)
        self.last_activity_at = at

    def deregister_dog(
        self,
        *,
        actor: Actor,
        at: datetime,
        register: DogRegister,
        roll: TaxTagRoll,
        household: DogHousehold,
        reason: Deregistration,
        on: date,
        tag: TagReturn,
        new_keeper: str | None = None,
        moved_to: str | None = None,
    ) -> None:
        """The dog leaves the register: the tax ends with the month, chip and tag are free.

        A handover records the new keeper (who registers the dog in their own file); a move
        records where to. The tax of every year from the month after is assessed anew.
        """
        record = self._begin("deregister_dog", actor, at)
        today = berlin_date(at)
        if on > today:
            raise InvalidCommand("on", "must not lie in the future")
        if on < self.application.taken_in_on:
            raise InvalidCommand("on", "must not lie before the dog was taken in")
        if reason is Deregistration.HANDOVER and not new_keeper:
            raise InvalidCommand("new_keeper", "a handover names the new keeper")
        if reason is Deregistration.MOVED_AWAY and not moved_to:
            raise InvalidCommand("moved_to", "a move names the new municipality")
        register.deregister(case_id=self.id, ended_on=on, how=reason.value, actor=actor, at=at)
        if self.tag is not None:
            roll.withdraw(number=self.tag, case_id=self.id, how=tag.value, actor=actor, at=at)
        household.leave(case_id=self.id, left_on=on, actor=actor, at=at)
        self._dog_deregistered(
            status=DogStatus.DEREGISTERED,
            actor=record,
            at=at,
            on=on,
            reason=reason.value,
            tag_return=tag.value,
            new_keeper=(
                self._personal("new-keeper", new_keeper, "new_keeper") if new_keeper else None
            ),
            moved_to=moved_to,
        )
        self._reassess(record, at, household, "deregistered")

    class DogDeregistered(ChangesStatus):
        """The dog left the register: died, handed over (to whom), or moved away (where)."""

        actor: ActorRecord
        at: datetime
        on: date
        reason: str
        tag_return: str
        new_keeper: PersonalValue | None
        moved_to: str | None

    @event(DogDeregistered)
    def _dog_deregistered(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        on: date,
        reason: str,
        tag_return: str,
        new_keeper: PersonalValue | None,
        moved_to: str | None,
        status: str,
    ) -> None:
        self.deregistered_on = on
        self.deregistration = reason
        self.tag = None
        self.status = status
        self.last_activity_at = at

    def _reassess(
        self, record: ActorRecord, at: datetime, household: DogHousehold, reason: str
    ) -> None:
        """Assess every year already assessed (and the current one) anew after a change."""
        today = berlin_date(at)
        first = today.year - ASSESSED_YEARS_BACK + 1  # earlier years stay as assessed
        for year in sorted(set(self.tax_years) | set(self.liable_years(today.year))):
            if year < first:
                continue
            if year > today.year and year not in self.tax_years:
                continue  # a year ahead is assessed when it begins (unless the Bescheid did)
            others = [d for d in household.dogs_for_tax(year) if d.dog_id != str(self.id)]
            assessed = self.assess(year, others)
            # The changed amount falls due a month after its amending notice is made known.
            self._assess_year_charged(record, at, assessed, f"tax-year:{year}", None, reason)

    def notify_tax_change(
        self,
        *,
        actor: Actor,
        at: datetime,
        delivery: notification.Delivery,
        sent_on: date | None = None,
        received_on: date | None = None,
    ) -> None:
        """Make the amending notice (Änderungsbescheid) known: the years re-assessed since
        the last notice, with their new amounts; the charges fall due a month after the
        Bekanntgabe, and the objection period runs from it (§ 41 HVwVfG, § 4 KAG)."""
        record = self._begin("notify_tax_change", actor, at)
        if not self.changes_to_notify:
            raise InvalidCommand("years", "no re-assessed year awaits its notice")
        today = berlin_date(at)
        sent = sent_on or today
        if sent > today:
            raise InvalidCommand("sent_on", "must not lie in the future")
        if self.changed_on is not None and sent < self.changed_on:
            raise InvalidCommand(
                "sent_on", f"the change it makes known was made on {self.changed_on}"
            )
        if received_on is not None and received_on > today:
            raise InvalidCommand("received_on", "must not lie in the future")
        rule = notification.rule_on(sent)
        day = rule.notified_on(delivery, sent, received_on)
        decision = self.current_decision()
        years = list(self.changes_to_notify)
        open_charges = [
            entry.kassenzeichen
            for year in years
            if (entry := self.tax_years[year]).kassenzeichen is not None
        ]
        self._tax_change_notified(
            actor=record,
            at=at,
            kassenzeichen=open_charges,
            due_on=add_months(day, 1),
            years=years,
            amounts=[str(self.tax_years[year].due) for year in years],
            notified_on=day,
            objection_deadline=period_end(day, decision.remedy_notice.period_months),
            delivery=delivery.value,
            sent_on=sent,
            received_on=received_on,
            rules=rule.record(delivery, sent, received_on, day),
        )

    class TaxChangeNotified(ChargesMadeKnown):
        """An amending notice was made known: its years, amounts, due date and period."""

        years: list[int]
        amounts: list[str]
        notified_on: date
        objection_deadline: date
        delivery: str
        sent_on: date
        received_on: date | None
        rules: RulesApplied

    @event(TaxChangeNotified)
    def _tax_change_notified(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        kassenzeichen: list[str],
        due_on: date,
        years: list[int],
        amounts: list[str],
        notified_on: date,
        objection_deadline: date,
        delivery: str,
        sent_on: date,
        received_on: date | None,
        rules: RulesApplied,
    ) -> None:
        self.changes_to_notify = [y for y in self.changes_to_notify if y not in years]
        self.tax_changes.append(
            {
                "years": dict(zip(years, amounts, strict=True)),
                "notified_on": notified_on,
                "objection_deadline": objection_deadline,
                "due_on": due_on,
            }
        )
        self.last_activity_at = at

    def reassess_with_household(
        self, *, actor: Actor, at: datetime, household: DogHousehold, reason: str
    ) -> None:
        """Another dog of the household came, went or changed: this dog's rank may have
        moved, so its years are assessed anew — part of that other dog's command, recorded
        under its actor (a file withdrawn, closed or never registered is left alone)."""
        if self.registered_on is None or self.status in (CaseStatus.CLOSED, CaseStatus.WITHDRAWN):
            return
        if household.tenant != self.tenant or self.id not in household.dogs:
            raise InvalidCommand("household", "the dog is not in this household")
        if self.notified_on is None:
            # Decided, not yet made known: its Bescheid must state what it charges, so a
            # change that would move its tax waits until it is made known.
            today = berlin_date(at)
            for year, entry in self.tax_years.items():
                others = [d for d in household.dogs_for_tax(year) if d.dog_id != str(self.id)]
                if year <= today.year and self.due_in(self.assess(year, others)) != entry.due:
                    raise InvalidCommand(
                        "household",
                        f"the Bescheid of {self.reference}, another dog of the household, is "
                        "not yet made known: notify it first",
                    )
            return
        self._reassess(actor.recorded_in(self.id), at, household, reason)

    def check_decision_reopenable(self) -> None:
        """A registered dog's Bescheid is not reopened: its tax is assessed anew and made
        known by an amending notice (an objection remedied in part refunds, as anywhere)."""
        if self.registered_on is not None:
            raise InvalidCommand(
                "new_decision",
                "a registered dog's Bescheid is not reopened: re-assess the year "
                "(dog-tax-years) and make the change known (dog-tax-change-notices)",
            )

    # -------------------------------------------------------------------- state

    def check_closable(self, at: datetime) -> None:
        """A registered dog's file stays open until the dog is deregistered."""
        if self.registered:
            raise InvalidCommand("status", "the dog is registered: deregister it first")
        if self.changes_to_notify:
            raise InvalidCommand(
                "changes_to_notify", "make the amending notice known first (dog-tax-change-notices)"
            )

    def service_state(self) -> dict[str, Any]:
        """Register, tag, danger, relief, permit, the years' tax, deregistration."""
        stored = self.application
        return {
            "registered_on": self.registered_on,
            "tag": self.tag,
            "tags": list(self.tags),
            "breed_listed": self.breed_listed,
            "found_dangerous_on": self.found_dangerous_on,
            "dangerous": self.dangerous,
            "permit_required": self.dangerous,
            "permit": self.permit,
            "relief": (
                {
                    "reason": self.relief.reason.value,
                    "from_day": self.relief.from_day,
                    "until": self.relief.until,
                }
                if self.relief
                else None
            ),
            "relief_refused": self.relief_refused,
            "declared_dogs_in_household": stored.dogs_in_household,
            "registered_dogs_in_household": len(self.household) + 1 if self.registered_on else None,
            "tax_years": {
                str(year): {"due": str(entry.due), "kassenzeichen": entry.kassenzeichen}
                for year, entry in sorted(self.tax_years.items())
            },
            "next_tax_year": self.next_tax_year(),
            "changes_to_notify": list(self.changes_to_notify),
            "tax_changes": list(self.tax_changes),
            "deregistered_on": self.deregistered_on,
            "deregistration": self.deregistration,
        }


def _revealed(value: object, field: str) -> str:
    """A value the register or the household needs; erased, the step is refused."""
    if isinstance(value, PersonalData):
        return value.value
    if isinstance(value, str):  # stored in clear before it was sealed
        return value
    raise InvalidCommand(field, "is needed to keep the register but was erased")


def _union(groups: Iterable[Sequence[DogInHousehold]]) -> tuple[DogInHousehold, ...]:
    """The dogs of several years' households, each once."""
    found: dict[str, DogInHousehold] = {}
    for group in groups:
        for dog in group:
            found.setdefault(dog.dog_id, dog)
    return tuple(found.values())


def _operative_part(dog: str, tag: int, dues: Mapping[int, Decimal]) -> str:
    """The Tenor of the Hundesteuerbescheid: the tax of each year, in force until changed."""
    years = "; ".join(f"{year}: {due:.2f} EUR".replace(".", ",") for year, due in dues.items())
    return (
        f"Für den Hund „{dog}“ (Steuermarke Nr. {tag}) wird die Hundesteuer festgesetzt"
        f"{': ' + years if years else ''}. Die Festsetzung gilt für die folgenden Jahre fort, "
        "bis ein neuer Bescheid ergeht."
    )


def _justification(tag: int, listed: bool) -> str:
    text = (
        "Der Hund ist in das Hunderegister eingetragen (Steuermarke Nr. "
        f"{tag}); die Hundesteuer wird nach der Hundesteuersatzung festgesetzt."
    )
    if listed:
        text += (
            " Der Hund gehört einer in der HundeVO gelisteten Rasse an: es gilt der Steuersatz "
            "für gefährliche Hunde; die Haltung bedarf der Erlaubnis."
        )
    return text
