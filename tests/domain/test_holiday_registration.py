"""A family's registration for a holiday offering: the form, the check at submission, the
draw's outcome, cancellation with move-up, fees, health notes and the catalogue's example."""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from pydantic import ValidationError

from domain.actor import Actor, Role
from domain.case_charges import CaseCharges
from domain.commands import Acting
from domain.errors import InvalidCommand, InvalidTransition, WrongTenant
from domain.holiday.offering import AllocationRules, EntryStatus, HolidayOffering
from domain.lifecycle import CaseStatus
from domain.payments.receivable import KEYWORD
from domain.personal_data import PersonalData, Subjects
from domain.personal_fields import personal_data_of
from domain.services.catalogue import SERVICES
from domain.services.holiday_registration import (
    FEE_LEDGER,
    HEALTH,
    SERVICE_ID,
    STEPS,
    HolidayRegistration,
    HolidayRegistrationApplication,
    Outcome,
    RegistrationCancellation,
    RegistrationStatus,
    child_key,
    example,
    register_at_submission,
    town_examples,
    withheld_health,
)
from domain.teams import DEFAULT_TEAMS

A = TypeVar("A", bound=Aggregate)
TOWN = "usingen"
JANA = Actor("jana.jugend", "Jana Jugendpflege", Role.CLERK, TOWN)  # the offering's staff
CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, TOWN)  # the town's, not the offering's
SCHMITTEN = Actor("dora.fischer", "Dora Fischer", Role.CLERK, "schmitten")
OPENS = datetime(2026, 5, 4, 8, tzinfo=UTC)
CLOSES = datetime(2026, 5, 31, 22, tzinfo=UTC)
DURING = datetime(2026, 5, 10, 9, tzinfo=UTC)
AFTER = datetime(2026, 6, 2, 9, tzinfo=UTC)
ENDED = datetime(2026, 7, 25, 9, tzinfo=UTC)
SEED = "fedcba9876543210" * 4
SECRET = b"test secret"


class Shared:
    """The shared aggregates the application would load, and its keyed ids (an HMAC)."""

    def __init__(self, *aggregates: Aggregate) -> None:
        self.stored: dict[UUID, Aggregate] = {a.id: a for a in aggregates}

    def keyed(
        self, aggregate_type: type[A], tenant: str, key: str, start: Callable[[UUID], A]
    ) -> A:
        raise NotImplementedError

    def identified(
        self, aggregate_type: type[A], aggregate_id: UUID, start: Callable[[UUID], A]
    ) -> A:
        found = self.stored.get(aggregate_id)
        if found is None:
            return start(aggregate_id)
        assert isinstance(found, aggregate_type)
        return found

    def referenced(self, aggregate_type: type[A], reference: str) -> A:
        raise NotImplementedError

    def key_of(self, tenant: str, kind: str, key: str) -> UUID:
        digest = hmac.new(SECRET, f"{tenant}|{kind}|{key}".encode(), hashlib.sha256).digest()
        return UUID(bytes=digest[:16])


def offering(tenant: str = TOWN, *, places: int = 2, fee: str = "25.00") -> HolidayOffering:
    published = HolidayOffering.publish(
        tenant=tenant,
        year=2026,
        code="KANU-1",
        activity="Kanutour",
        description="Drei Tage auf der Usa",
        location="Bootshaus",
        starts_on=date(2026, 7, 20),
        ends_on=date(2026, 7, 24),
        min_age=8,
        max_age=12,
        places=places,
        fee=Decimal(fee),
        registration_opens_at=OPENS,
        registration_closes_at=CLOSES,
        rules=AllocationRules(),
        staff=["jana.jugend"],
        actor=JANA if tenant == TOWN else SCHMITTEN,
        at=OPENS - timedelta(days=14),
    )
    published.collect_events()
    return published


def form(offering_id: UUID, *children: tuple[str, str], **more: Any) -> dict[str, Any]:
    """A registration of children (given name, date of birth) of the family Weber."""
    data: dict[str, Any] = {
        "offering": str(offering_id),
        "children": [
            {"given_name": name, "family_name": "Weber", "born_on": born} for name, born in children
        ],
        "guardians": [{"name": "Erika Weber", "phone": "06081 4711"}],
        "address": "Obergasse 12, 61250 Usingen",
        "municipality": TOWN,
    }
    data.update(more)
    return data


NUMBER = iter(range(1, 10_000))


def submitted(data: dict[str, Any], at: datetime = DURING) -> HolidayRegistration:
    """A registration case as the application submits it (before the check at submission)."""
    model = SERVICES[SERVICE_ID].validate(data, at.date())
    case_id = uuid4()
    applicant = Actor(f"portal:{case_id}", "Erika Weber", Role.APPLICANT, TOWN)
    case = HolidayRegistration.submit(
        case_id=case_id,
        actor=applicant,
        at=at,
        tenant=TOWN,
        service=SERVICE_ID,
        reference=f"USI-2026-{next(NUMBER):06d}",
        applicant={"name": PersonalData(case_id, Subjects.APPLICANT, "Erika Weber")},
        data=personal_data_of(model, case_id=case_id, subject=Subjects.APPLICANT),
        request_fingerprint="f" * 64,
    )
    assert isinstance(case, HolidayRegistration)
    return case


def registered(shared: Shared, data: dict[str, Any], at: datetime = DURING) -> HolidayRegistration:
    case = submitted(data, at)
    applicant = Actor(case.submitted_by, "Erika Weber", Role.APPLICANT, TOWN)
    changed = register_at_submission(case, Acting(applicant, at, shared))
    shared.stored[case.id] = case
    assert [a.id for a in changed] == [UUID(data["offering"])]
    return case


def applicant_of(case: HolidayRegistration) -> Actor:
    return Actor(case.submitted_by, "Erika Weber", Role.APPLICANT, TOWN)


# ------------------------------------------------------------------ the form


def test_health_notes_need_the_guardians_explicit_consent() -> None:
    data = form(uuid4(), ("Lena", "2016-04-01"))
    data["children"][0]["allergies"] = "Wespenstiche"
    with pytest.raises(InvalidCommand) as refused:
        SERVICES[SERVICE_ID].validate(data, DURING.date())
    assert refused.value.field == "data.health_consent"
    data["health_consent"] = {"given": True, "wording_version": "2026-1"}
    SERVICES[SERVICE_ID].validate(data, DURING.date())
    with pytest.raises(ValidationError):
        SERVICES[SERVICE_ID].validate(
            {**data, "health_consent": {"given": False, "wording_version": "2026-1"}}, date.today()
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"municipality": "wehrheim"}, "data.municipality"),
        ({"children": [{"given_name": "A", "family_name": "B", "born_on": "2027-01-01"}]}, None),
    ],
)
def test_the_form_refuses_an_unknown_town_and_a_birth_to_come(
    change: dict[str, Any], field: str | None
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        SERVICES[SERVICE_ID].validate(
            form(uuid4(), ("Lena", "2016-04-01"), **change), DURING.date()
        )
    assert refused.value.field == (field or "data.children[0].born_on")


def test_a_child_named_twice_and_too_many_children_are_refused() -> None:
    with pytest.raises(InvalidCommand) as twice:
        SERVICES[SERVICE_ID].validate(
            form(uuid4(), ("Lena", "2016-04-01"), (" lena ", "2016-04-01")), DURING.date()
        )
    assert twice.value.field == "data.children[1]"
    with pytest.raises(ValidationError):
        SERVICES[SERVICE_ID].validate(
            form(uuid4(), *[(f"K{i}", "2016-04-01") for i in range(6)]), DURING.date()
        )


def test_health_notes_are_special_category_data_of_a_subject_of_their_own() -> None:
    data = form(
        uuid4(),
        ("Lena", "2016-04-01"),
        health_consent={"given": True, "wording_version": "2026-1"},
    )
    data["children"][0]["health_notes"] = "Asthma, Spray im Rucksack"
    case = submitted(data)
    child = case.data["children"][0]
    assert isinstance(child["health_notes"], PersonalData)
    assert child["health_notes"].subject == HEALTH
    assert child["health_notes"].special_category
    assert child["given_name"].subject == Subjects.APPLICANT
    assert child["photo_consent"] is False


def test_a_childs_key_ignores_case_and_blanks_but_not_the_birth_day() -> None:
    assert child_key("Lena  Marie", "WEBER", date(2016, 4, 1)) == child_key(
        "lena marie", " weber", "2016-04-01"
    )
    assert child_key("Lena", "Weber", date(2016, 4, 1)) != child_key("Lena", "Weber", "2016-04-02")


# ------------------------------------------------------------------ at submission


def test_a_registration_is_recorded_on_the_offering_in_the_same_step() -> None:
    kanu = offering()
    shared = Shared(kanu)
    case = registered(shared, form(kanu.id, ("Lena", "2016-04-01"), ("Tim", "2014-09-30")))
    assert case.status == RegistrationStatus.REGISTERED
    assert (case.offering_id, case.offering_code) == (kanu.id, "KANU-1")
    entries = kanu.entries_of(case.id)
    assert [(e.child, e.age, e.status) for e in entries] == [
        (0, 10, EntryStatus.REGISTERED),
        (1, 11, EntryStatus.REGISTERED),
    ]
    keys = {e.key for e in entries}
    assert shared.key_of(TOWN, "HolidayChild", child_key("Lena", "Weber", "2016-04-01")).hex in keys
    assert "Lena" not in str(kanu.entries())


def test_a_registration_outside_the_window_or_for_no_offering_of_the_town_is_refused() -> None:
    kanu, foreign = offering(), offering("schmitten")
    shared = Shared(kanu, foreign)
    for data, at in (
        (form(kanu.id, ("Lena", "2016-04-01")), OPENS - timedelta(minutes=1)),
        (form(foreign.id, ("Lena", "2016-04-01")), DURING),
        (form(uuid4(), ("Lena", "2016-04-01")), DURING),
    ):
        case = submitted(data, min(at, DURING))
        with pytest.raises(InvalidCommand) as refused:
            register_at_submission(case, Acting(applicant_of(case), at, shared))
        assert refused.value.field == "data.offering"
        assert case.status == CaseStatus.SUBMITTED
    assert kanu.registered_count == 0
    assert foreign.registered_count == 0


def test_a_child_too_young_or_registered_already_is_refused_naming_it() -> None:
    kanu = offering()
    shared = Shared(kanu)
    registered(shared, form(kanu.id, ("Lena", "2016-04-01")))
    young = submitted(form(kanu.id, ("Tim", "2014-09-30"), ("Ida", "2019-01-01")))
    with pytest.raises(InvalidCommand) as too_young:
        register_at_submission(young, Acting(applicant_of(young), DURING, shared))
    assert too_young.value.field == "data.children[1].born_on"
    assert "aged 7 on 2026-07-20" in too_young.value.message
    again = submitted(form(kanu.id, ("LENA", "2016-04-01")))
    with pytest.raises(InvalidCommand) as twice:
        register_at_submission(again, Acting(applicant_of(again), DURING, shared))
    assert twice.value.field == "data.children[0]"
    assert kanu.registered_count == 1


def test_friends_share_a_keyed_group_of_the_offering() -> None:
    kanu = offering()
    shared = Shared(kanu)
    one = registered(shared, form(kanu.id, ("Lena", "2016-04-01"), friends_code="Biber 7"))
    two = registered(shared, form(kanu.id, ("Ole", "2016-02-01"), friends_code=" biber  7"))
    groups = {r.friends_group for r in kanu._registrations.values()}
    assert len(groups) == 1
    (group,) = groups
    assert group is not None
    assert "biber" not in group
    assert one.id != two.id
    code = one.data["friends_code"]  # the guardians' free text: the family's personal data
    assert isinstance(code, PersonalData)
    assert (code.case_id, code.subject) == (one.id, Subjects.APPLICANT)


# ------------------------------------------------------------------ the draw and fees


def drawn(kanu: HolidayOffering, cases: Sequence[HolidayRegistration]) -> None:
    kanu.draw(seed=SEED, places_held={}, actor=JANA, at=AFTER)
    for case in cases:
        case.note_draw(kanu, actor=JANA, at=AFTER)


def test_the_draw_is_noted_on_each_case_and_each_place_charged_its_fee() -> None:
    kanu = offering(places=2)
    shared = Shared(kanu)
    family = registered(shared, form(kanu.id, ("Lena", "2016-04-01"), ("Tim", "2014-09-30")))
    single = registered(shared, form(kanu.id, ("Ole", "2016-02-01"), municipality="other"))
    with pytest.raises(InvalidCommand):
        family.note_draw(kanu, actor=JANA, at=AFTER)  # not drawn yet
    drawn(kanu, [family, single])
    assert family.status == RegistrationStatus.PLACE_ALLOCATED  # residents first
    assert family.outcomes == {0: Outcome.ALLOCATED, 1: Outcome.ALLOCATED}
    assert [(c.amount, c.ledger) for c in family.charges] == [(Decimal("25.00"), FEE_LEDGER)] * 2
    assert set(family.child_charges) == {0, 1}
    assert single.status == RegistrationStatus.WAITING_LIST
    assert single.positions == {0: 1}
    assert single.charges == ()
    with pytest.raises(InvalidTransition):
        family.note_draw(kanu, actor=JANA, at=AFTER)


def test_a_registration_cancelled_before_the_draw_notes_nothing_of_it() -> None:
    kanu = offering()
    shared = Shared(kanu)
    gone = registered(shared, form(kanu.id, ("Lena", "2016-04-01")))
    stays = registered(shared, form(kanu.id, ("Ole", "2016-02-01")))
    step = STEPS.named("cancel_registration")
    body = RegistrationCancellation(reason="krank")
    step.execute(gone, body, Acting(applicant_of(gone), DURING, shared))
    assert gone.status == CaseStatus.CLOSED
    gone.collect_events()
    drawn(kanu, [gone, stays])
    assert gone.collect_events() == []
    assert stays.status == RegistrationStatus.PLACE_ALLOCATED
    assert [e.case_id for e in kanu.entries() if e.status == EntryStatus.ALLOCATED] == [stays.id]


def test_a_free_offering_charges_nothing() -> None:
    kanu = offering(fee="0.00")
    shared = Shared(kanu)
    case = registered(shared, form(kanu.id, ("Lena", "2016-04-01")))
    drawn(kanu, [case])
    assert case.status == RegistrationStatus.PLACE_ALLOCATED
    assert case.charges == ()


# ------------------------------------------------------------------ cancellation


def cancel(
    case: HolidayRegistration, shared: Shared, actor: Actor, children: list[int] | None = None
) -> Sequence[Any]:
    step = STEPS.named("cancel_registration")
    body = RegistrationCancellation(children=children, reason="Wir verreisen doch.")
    return step.execute(case, body, Acting(actor, AFTER + timedelta(days=1), shared))


def test_a_cancellation_moves_the_next_waiting_up_withdraws_and_charges_in_one_step() -> None:
    kanu = offering(places=1)
    shared = Shared(kanu)
    first = registered(shared, form(kanu.id, ("Lena", "2016-04-01")))
    second = registered(shared, form(kanu.id, ("Ole", "2016-02-01"), municipality="other"))
    drawn(kanu, [first, second])
    assert (first.status, second.status) == (
        RegistrationStatus.PLACE_ALLOCATED,
        RegistrationStatus.WAITING_LIST,
    )
    changed = cancel(first, shared, applicant_of(first))
    assert [a.id for a in changed] == [kanu.id, second.id]
    assert first.status == CaseStatus.CLOSED
    assert first.outcomes == {0: Outcome.CANCELLED}
    assert first.withdrawn_charges == {first.child_charges[0]}
    withdrawn = [e for e in first.collect_events() if isinstance(e, CaseCharges.ChargeWithdrawn)]
    assert [KEYWORD.fullmatch(e.reason) is not None for e in withdrawn] == [True]
    assert second.status == RegistrationStatus.PLACE_ALLOCATED
    assert second.outcomes == {0: Outcome.ALLOCATED}
    moved = [e for e in second.collect_events() if isinstance(e, HolidayRegistration.MovedUp)]
    assert [(e.child, e.from_position, e.because_of) for e in moved] == [(0, 1, first.id)]
    assert moved[0].actor.role is Role.SYSTEM
    assert len(second.charges) == 1
    assert kanu.allocated_count == 1


def test_a_move_up_on_a_stale_offering_leaves_the_case_that_changed_meanwhile_alone() -> None:
    kanu = offering(places=1)
    shared = Shared(kanu)
    first = registered(shared, form(kanu.id, ("Lena", "2016-04-01")))
    second = registered(shared, form(kanu.id, ("Ole", "2016-02-01"), municipality="other"))
    drawn(kanu, [first, second])
    kanu.collect_events()
    stale = copy.deepcopy(kanu)  # the offering as another step loaded it
    cancel(second, shared, applicant_of(second))  # the waiting family leaves first
    second.collect_events()
    # the holder's cancellation decided on the offering as it was before: it would move the
    # family up that has gone; its save fails on the offering's version (decided again)
    changed = cancel(first, Shared(stale, first, second), applicant_of(first))
    assert changed[0] is stale
    assert stale.status_of(second.id, 0) == EntryStatus.ALLOCATED
    assert second.collect_events() == []
    assert second.outcomes == {0: Outcome.CANCELLED}
    assert stale.pending_events[0].originator_version <= kanu.version  # its save fails


def test_cancelling_some_children_keeps_the_others_and_a_second_time_is_refused() -> None:
    kanu = offering(places=3)
    shared = Shared(kanu)
    family = registered(shared, form(kanu.id, ("Lena", "2016-04-01"), ("Tim", "2014-09-30")))
    drawn(kanu, [family])
    cancel(family, shared, JANA, [1])
    assert family.status == RegistrationStatus.PLACE_ALLOCATED
    assert family.outcomes == {0: Outcome.ALLOCATED, 1: Outcome.CANCELLED}
    assert family.withdrawn_charges == {family.child_charges[1]}
    with pytest.raises(InvalidCommand) as refused:
        cancel(family, shared, JANA, [1])
    assert refused.value.field == "children"


def test_another_towns_clerk_cannot_cancel_and_nobody_withdraws() -> None:
    kanu = offering()
    shared = Shared(kanu)
    case = registered(shared, form(kanu.id, ("Lena", "2016-04-01")))
    assert "withdraw" not in case.allowed_commands()
    assert "cancel_registration" in case.allowed_commands()
    with pytest.raises(WrongTenant):
        cancel(case, shared, SCHMITTEN)
    assert kanu.registered_count == 1


# ------------------------------------------------------------------ health notes


def test_health_notes_are_withheld_from_staff_who_are_not_the_offerings() -> None:
    kanu = offering()
    shared = Shared(kanu)
    case = registered(shared, form(kanu.id, ("Lena", "2016-04-01")))
    assert withheld_health(case, JANA, shared) == frozenset()
    assert withheld_health(case, CLERK, shared) == {HEALTH}
    assert withheld_health(case, applicant_of(case), shared) == frozenset()
    assert SERVICES[SERVICE_ID].withheld_from is withheld_health


def test_the_erasure_of_health_notes_is_noted_after_the_offering_and_closes_a_paid_file() -> None:
    kanu = offering(fee="0.00")
    shared = Shared(kanu)
    case = registered(shared, form(kanu.id, ("Lena", "2016-04-01")))
    drawn(kanu, [case])
    with pytest.raises(InvalidCommand) as early:
        case.note_health_erased(actor=JANA, at=datetime(2026, 7, 24, 9, tzinfo=UTC))
    assert early.value.field == "at"
    case.note_health_erased(actor=JANA, at=ENDED)
    assert case.health_erased_at == ENDED
    assert case.status == CaseStatus.CLOSED
    assert case.service_state()["health_erased_at"] == ENDED


def test_a_file_with_a_fee_still_open_stays_open_after_the_erasure() -> None:
    kanu = offering()
    shared = Shared(kanu)
    case = registered(shared, form(kanu.id, ("Lena", "2016-04-01")))
    drawn(kanu, [case])
    case.note_health_erased(actor=JANA, at=ENDED)
    assert case.status == RegistrationStatus.PLACE_ALLOCATED
    assert "settle_charge" in case.allowed_commands()


# ------------------------------------------------------------------ the catalogue


class Open:
    """The towns' offerings open now (the application's ``HolidayService.open_in``)."""

    def __init__(self, *offerings: HolidayOffering) -> None:
        self.offerings = offerings

    def open_in(self, tenant: str, at: datetime) -> list[HolidayOffering]:
        return [o for o in self.offerings if o.tenant == tenant and o.window_state(at) == "open"]


def test_each_town_with_an_open_offering_has_an_example_it_accepts_again_and_again() -> None:
    kanu = offering()
    shared = Shared(kanu)
    examples = town_examples(DURING, Open(kanu, offering("schmitten")))
    assert set(examples) == {TOWN, "schmitten"}
    for _ in range(3):
        data = town_examples(DURING, Open(kanu))[TOWN]
        registered(shared, data)
    assert kanu.registered_count == 3
    assert town_examples(AFTER, Open(kanu)) == {}
    assert town_examples(DURING.date(), Open(kanu))  # a day alone: its noon


def test_the_catalogue_lists_the_service_and_the_youth_work_office_handles_it() -> None:
    definition = SERVICES[SERVICE_ID]
    assert definition.on_submission is register_at_submission
    assert definition.town_examples is town_examples
    assert definition.retention.holds_fee_assessments
    HolidayRegistrationApplication.model_validate(example(DURING.date()))
    teams = {t.id: t for t in DEFAULT_TEAMS[TOWN]}
    assert teams["jugendpflege"].handles(SERVICE_ID)
    assert not teams["bauamt"].handles(SERVICE_ID)
