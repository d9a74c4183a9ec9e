"""The dog file's steps: what each command body holds, the shared aggregates each step
loads and saves with the file, and the scheduler's new-year assessment.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate
from pydantic import ConfigDict, Field, StringConstraints

from domain.actor import Role
from domain.case import Case
from domain.case_steps import STAFF
from domain.commands import (
    Acting,
    CommandBody,
    SharedAggregates,
    Step,
    Steps,
    Text,
    fields_of,
)
from domain.errors import InvalidCommand
from domain.lifecycle import CaseStatus
from domain.rules import notification
from domain.services.dog_register import (
    DogHousehold,
    DogRegister,
    TaxTagRoll,
    tag_roll_id,
)
from domain.services.dog_registration import (
    Deregistration,
    DogRegistration,
    TagReturn,
)
from domain.timers import TIMER_KINDS, Due, Fires, Readiness, RunCommand, TimerKind
from domain.working_days import berlin_date

# ------------------------------------------------------------------- steps
# Each step loads the shared aggregates it changes through the pipeline's context and returns
# them to be saved with the case; the steps that take or free the chip or a tag are declared
# with ``retry_lost_race``, so of two registrations of one chip (or two tags drawn at once)
# the loser is decided again and sees the winner.


def register_of(case: DogRegistration, acting: Acting) -> DogRegister:
    """The town's register entry of the case's chip (a fresh one if nobody holds it)."""
    shared: SharedAggregates = acting.context
    return shared.keyed(
        DogRegister,
        case.tenant,
        case.chip(),
        lambda register_id: DogRegister.start(id=register_id, tenant=case.tenant),
    )


def roll_of(case: DogRegistration, acting: Acting) -> TaxTagRoll:
    """The town's roll of tax tags."""
    shared: SharedAggregates = acting.context
    return shared.identified(
        TaxTagRoll,
        tag_roll_id(case.tenant),
        lambda roll_id: TaxTagRoll.start(id=roll_id, tenant=case.tenant),
    )


def household_of(case: DogRegistration, acting: Acting) -> DogHousehold:
    """The keeper's household of dogs in the town."""
    shared: SharedAggregates = acting.context
    return shared.keyed(
        DogHousehold,
        case.tenant,
        case.keeper_key(),
        lambda household_id: DogHousehold.start(id=household_id, tenant=case.tenant),
    )


def _not_found(case_id: UUID) -> DogRegistration:
    raise InvalidCommand("household", f"the household names a file {case_id} that is not stored")


def with_siblings(
    case: DogRegistration, household: DogHousehold, acting: Acting, reason: str
) -> list[Aggregate]:
    """The household's other dog files, assessed anew after this one changed the household
    (ranks move when a dog comes, goes or becomes exempt); those that changed are saved
    with this step."""
    shared: SharedAggregates = acting.context
    changed: list[Aggregate] = []
    for case_id in sorted(household.dogs, key=str):
        if case_id == case.id:
            continue
        other = shared.identified(DogRegistration, case_id, _not_found)
        other.reassess_with_household(
            actor=acting.actor, at=acting.at, household=household, reason=reason
        )
        if other.pending_events:
            changed.append(other)
    return changed


class DogEntry(CommandBody):
    """Enter the dog in the register (the Bescheid is decided with it)."""

    registered_on: date | None = Field(
        default=None, description="The day of the entry; today if omitted."
    )

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"registered_on": "2026-12-04"}]}
    )


class ReliefDecision(CommandBody):
    """The relief applied for: granted (dates may be narrowed) or refused, with reasons."""

    granted: bool
    reasons: Text
    from_day: date | None = Field(default=None, description="The application's if omitted.")
    until: date | None = Field(default=None, description="The application's if omitted.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "granted": True,
                    "reasons": "Vertrag mit dem Tierheim Usingen liegt vor.",
                }
            ]
        },
    )


class DangerFinding(CommandBody):
    """The dog was found dangerous in the individual case."""

    found_on: date
    reasons: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "found_on": "2026-11-30",
                    "reasons": "Beißvorfall am 20.11.2026 (Anzeige der Polizeistation Usingen).",
                }
            ]
        },
    )


class DangerousDogPermitDecision(CommandBody):
    """The permit of the public-order authority for a dangerous dog (HundeVO)."""

    granted: bool
    reasons: Text
    reliability_proof: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(default=None, description="Certificate of good conduct (Führungszeugnis).")
    expertise_proof: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(default=None, description="Sachkundenachweis.")
    temperament_test_passed_on: date | None = Field(
        default=None, description="Wesensprüfung passed on."
    )
    liability_insurance: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(default=None, description="Insurer and policy number.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "granted": True,
                    "reasons": "Alle Voraussetzungen nach der HundeVO sind nachgewiesen.",
                    "reliability_proof": "Führungszeugnis vom 02.11.2026",
                    "expertise_proof": "Sachkundenachweis Nr. 2026-117",
                    "temperament_test_passed_on": "2026-11-15",
                    "liability_insurance": "Taunus Versicherung AG, Police 4711-0815",
                }
            ]
        },
    )


class DogDeregistration(CommandBody):
    """The dog leaves the register: why, when, and what became of its tag."""

    reason: Deregistration
    on: date = Field(description="The day of death, handover or move.")
    tag: TagReturn = Field(default=TagReturn.RETURNED, description="What became of the tag.")
    new_keeper: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
        | None
    ) = Field(default=None, description="Name and address of the new keeper (handover).")
    moved_to: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(default=None, description="The new municipality (moving away).")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "handover",
                    "on": "2026-12-01",
                    "tag": "returned",
                    "new_keeper": "Jonas Weber, Hauptstraße 3, 61267 Neu-Anspach",
                }
            ]
        },
    )


class TaxYearAssessment(CommandBody):
    """Assess the tax of a year anew with the household as it stands."""

    year: int | None = Field(default=None, ge=2000, le=2199, description="This year if omitted.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"year": 2026}]})


class TaxChangeNotice(CommandBody):
    """How the amending notice was sent (§ 41 HVwVfG)."""

    delivery: Literal["counter", "letter", "electronic", "portal", "formal_service"] = Field(
        description="counter: handed over; letter: post; electronic: sent electronically; "
        "portal: made available for retrieval; formal_service: Zustellung (HVwZG)."
    )
    sent_on: date | None = Field(default=None, description="Today if omitted.")
    received_on: date | None = Field(
        default=None, description="Actual receipt where shown (portal, formal service, late)."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"delivery": "letter", "sent_on": "2026-12-03"}]},
    )


def notice_arguments(body: TaxChangeNotice) -> dict[str, Any]:
    """The body as the domain method's keywords (the delivery as its enum)."""
    return {
        "delivery": notification.Delivery(body.delivery),
        "sent_on": body.sent_on,
        "received_on": body.received_on,
    }


def register(case: DogRegistration, body: DogEntry | None, acting: Acting) -> list[Aggregate]:
    """Claim the chip, draw a tag, enter the household, decide the Bescheid."""
    register_entry, roll, household = (
        register_of(case, acting),
        roll_of(case, acting),
        household_of(case, acting),
    )
    case.register_dog(
        actor=acting.actor,
        at=acting.at,
        register=register_entry,
        roll=roll,
        household=household,
        registered_on=body.registered_on if body else None,
    )
    return [register_entry, roll, household, *with_siblings(case, household, acting, "entered")]


def with_household(method: str) -> Any:
    """A step that changes the dog as the household counts it (once registered)."""

    def run(case: DogRegistration, body: CommandBody | None, acting: Acting) -> list[Aggregate]:
        household = household_of(case, acting) if case.registered else None
        arguments = fields_of(body)
        getattr(case, method)(actor=acting.actor, at=acting.at, household=household, **arguments)
        if household is None:
            return []
        return [household, *with_siblings(case, household, acting, "household_changed")]

    run.__doc__ = f"Run {method} with the keeper's household, saved with the case."
    return run


def assess_year_step(
    case: DogRegistration, body: TaxYearAssessment | None, acting: Acting
) -> list[Aggregate]:
    """Assess a year with the household as it stands."""
    household = household_of(case, acting)
    case.assess_tax_year(
        actor=acting.actor,
        at=acting.at,
        household=household,
        year=body.year if body else None,
    )
    return []


def replace_tag(case: DogRegistration, body: None, acting: Acting) -> list[Aggregate]:
    """Withdraw the lost tag and issue the next number of the town's roll."""
    roll = roll_of(case, acting)
    case.replace_lost_tag(actor=acting.actor, at=acting.at, roll=roll)
    return [roll]


def deregister(case: DogRegistration, body: DogDeregistration, acting: Acting) -> list[Aggregate]:
    """Free the chip and the tag, leave the household, end the tax with the month."""
    register_entry, roll, household = (
        register_of(case, acting),
        roll_of(case, acting),
        household_of(case, acting),
    )
    case.deregister_dog(
        actor=acting.actor,
        at=acting.at,
        register=register_entry,
        roll=roll,
        household=household,
        reason=body.reason,
        on=body.on,
        tag=body.tag,
        new_keeper=body.new_keeper,
        moved_to=body.moved_to,
    )
    return [register_entry, roll, household, *with_siblings(case, household, acting, "left")]


def dog_step(name: str, path: str, summary: str, **more: Any) -> Step:
    """A dog file step: saved with the shared aggregates it changes, decided again on a
    lost race."""
    return Step(
        name=name,
        path="/{case_id}/" + path,
        summary=summary,
        aggregate=DogRegistration,
        **{"roles": STAFF, "retry_lost_race": True, **more},
    )


ASSESS_TAX_YEAR: Final = dog_step(
    "assess_tax_year",
    "dog-tax-years",
    "Dog registration: assess a year's tax",
    description="The year's tax with the household as it stands (this year if no year is "
    "given); the scheduler runs it on 1 January. An earlier charge of the year that differs "
    "is withdrawn and the new amount charged.",
    body=TaxYearAssessment,
    body_optional=True,
    run=assess_year_step,
)

STEPS: Final = Steps(
    "dog registration",
    (
        dog_step(
            "register_dog",
            "dog-register",
            "Dog registration: enter the dog in the register",
            description="Claims the chip in the town's register (refused if another file "
            "holds it), issues the town's next tax tag, enters the keeper's household and "
            "decides the Hundesteuerbescheid: the tax of every liable year, each charged "
            "under its own Kassenzeichen.",
            body=DogEntry,
            body_optional=True,
            run=register,
            holder_only=True,  # DogRegistration.register_dog: Case.check_holder
        ),
        dog_step(
            "decide_relief",
            "dog-relief",
            "Dog registration: decide the relief applied for",
            description="Granted (exemption or reduction under the Satzung, with its dates) "
            "or refused; a registered dog's tax is assessed anew.",
            body=ReliefDecision,
            run=with_household("decide_relief"),
        ),
        dog_step(
            "find_dog_dangerous",
            "dog-danger-findings",
            "Dog registration: find the dog dangerous",
            description="Found dangerous in the individual case (HundeVO): the dangerous "
            "dog's rate applies and a permit is needed.",
            body=DangerFinding,
            run=with_household("find_dog_dangerous"),
        ),
        dog_step(
            "decide_dangerous_dog_permit",
            "dangerous-dog-permit",
            "Dog registration: decide the dangerous-dog permit",
            description="Granted only with every requirement proven: keeper of age, "
            "reliability, expertise, temperament test, liability insurance, the dog "
            "registered with its chip.",
            body=DangerousDogPermitDecision,
        ),
        dog_step(
            "replace_lost_tag",
            "tag-replacements",
            "Dog registration: replace a lost tax tag",
            description="The lost number is withdrawn (never issued again) and the next one "
            "issued, for the Satzung's fee.",
            roles=(Role.APPLICANT, *STAFF),
            run=replace_tag,
        ),
        dog_step(
            "deregister_dog",
            "dog-deregistration",
            "Dog registration: deregister the dog",
            description="Death, handover to a new keeper, or moving away: the tax ends with "
            "the month, the chip is free and the tag is returned (or recorded lost).",
            roles=(Role.APPLICANT, *STAFF),
            body=DogDeregistration,
            run=deregister,
        ),
        ASSESS_TAX_YEAR,
        dog_step(
            "notify_tax_change",
            "dog-tax-change-notices",
            "Dog registration: make an amending notice known",
            description="The Änderungsbescheid of the years re-assessed since the last notice "
            "(a relief, a danger finding, a deregistration, a change in the household): their "
            "charges fall due a month after the Bekanntgabe, and the objection period runs "
            "from it.",
            body=TaxChangeNotice,
            arguments=notice_arguments,
            retry_lost_race=False,
        ),
    ),
)


# ------------------------------------------------------------------ timers
# The Bescheid stays in force for later years: on 1 January the scheduler assesses the new
# year with the household as it stands (``assess_tax_year`` as the system).


def tax_year_ready(case: Any, today: date) -> Readiness:
    """Due while the dog is registered, notified and this year not yet assessed."""
    if not isinstance(case, DogRegistration) or not case.registered:
        return Readiness.DONE
    if today.year in case.tax_years:
        return Readiness.DONE
    if case.status not in (CaseStatus.NOTIFIED, CaseStatus.FINAL):
        return Readiness.NOT_YET  # the Bescheid is made known first
    return Readiness.DUE


TAX_YEAR_BEGINS: Final = TimerKind(
    name="dog_tax_year_begins",
    summary="A new year of a registered dog: its tax is assessed (the Bescheid stays in force "
    "until changed) and charged, due on the Satzung's day.",
    fires=Fires.ON_THE_DAY,
    action=RunCommand(ASSESS_TAX_YEAR, tax_year_ready),
)


@TAX_YEAR_BEGINS.on(DogRegistration.DogRegistered)
def _registered(event: DogRegistration.DogRegistered, due: Due) -> Due:
    return Due(date(berlin_date(event.at).year + 1, 1, 1))


# Kept once the dog left the register (or the file ended): a later re-assessment of a past
# year (the household changed) moves no new year's date.
ENDED: Final = date.min


@TAX_YEAR_BEGINS.on(DogRegistration.TaxYearAssessed)
def _year_assessed(event: DogRegistration.TaxYearAssessed, due: Due) -> Due:
    if due.kept == ENDED:
        return due
    following = date(event.year + 1, 1, 1)
    return Due(following if due.on is None else max(due.on, following))


@TAX_YEAR_BEGINS.on(DogRegistration.DogDeregistered, Case.Withdrawn, Case.Closed)
def _file_ended(event: Any, due: Due) -> Due:
    return Due(None, kept=ENDED)


TIMER_KINDS.register(TAX_YEAR_BEGINS)
