"""Resident parking after issue (issue #20): renewals, plate changes and revocations.

Each is a decision with its record and notification; a revocation names its ground of
§ 49 (2) HVwVfG and its hearing, and without immediate enforcement an objection suspends it
(§ 80 (1) VwGO) until it is final. Events stored in the shapes before still load.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.errors import DomainError, InvalidCommand
from domain.lifecycle import CaseStatus
from domain.services.parking_decisions import RevocationGround
from domain.services.parking_holding import HoldingKind
from domain.services.resident_parking import (
    ResidentParkingPermit,
    ResidentParkingStatus,
    example,
    holding,
)
from domain.working_days import berlin_date
from tests.conftest import CLERK
from tests.steps import in_review, take

REVOCATION: dict[str, Any] = {
    "ground": "facts_changed",
    "reason": "Laut Melderegister Wegzug aus dem Bewohnerparkbereich.",
    "discretion": "Der Parkraum im Bereich ist knapp; Vertrauensschutz besteht nicht.",
}


def issued(
    cases: CaseService,
    parking: CommandHandler,
    *,
    tenant: str = "usingen",
    street: str = "Obergasse",
    plate: str = "HG-AB 1",
    clerk: Actor = CLERK,
    notify: bool = True,
) -> UUID:
    """A permit decided by the rules (and handed over at the counter)."""
    data = example(berlin_date(cases.clock.now()))
    data["residence"]["street"] = street
    data["vehicle"]["number_plate"] = plate
    applicant = Actor(f"portal:{plate}", "Max Mustermann", Role.APPLICANT, tenant)
    case_id = cases.submit(
        actor=applicant,
        tenant=tenant,
        service="resident-parking",
        applicant={"name": "Max Mustermann"},
        data=data,
    ).case_id
    in_review(cases, case_id, actor=clerk)
    take(parking, case_id, "decide_by_rules", actor=clerk)
    if notify:
        take(cases, case_id, "notify", actor=clerk, delivery="counter")
    return case_id


def permit(store: VorgangStore, case_id: UUID) -> ResidentParkingPermit:
    case: ResidentParkingPermit = store.repository.get(case_id)
    return case


def claims(parking: CommandHandler, kind: HoldingKind, key: str) -> set[UUID]:
    return set(holding(parking.context, "usingen", kind, key).periods)


def revoke(parking: CommandHandler, case_id: UUID, today: date, **more: Any) -> None:
    take(
        parking,
        case_id,
        "revoke",
        actor=CLERK,
        **REVOCATION,
        facts_known_since=today,
        hearing_held_on=today,
        **more,
    )


# ------------------------------------------------------------------- residence and fees


def test_a_refusal_outside_every_zone_cites_the_registration_and_the_towns_rule(
    cases: CaseService, store: VorgangStore
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking, street="Am Riedborn", notify=False)
    decision = permit(store, case_id).current_decision()
    assert not decision.outcome.is_approval
    text = decision.justification.reveal()  # type: ignore[union-attr]
    assert "Meldebehörde" in text
    assert "Bewohnerparkregelung der Stadt Usingen" in text
    assert "§ 45 Abs. 1b Satz 1 Nr. 2a StVO" in text


def test_the_costs_decision_names_the_towns_ordinance_or_the_gebost(
    cases: CaseService, store: VorgangStore
) -> None:
    parking = CommandHandler(cases)
    usingen = permit(store, issued(cases, parking)).current_decision()
    assert usingen.costs is not None
    assert "Gebührenordnung für Bewohnerparkausweise der Stadt Usingen" in (
        usingen.costs.legal_basis
    )
    schmitten_clerk = Actor("lena.krause", "Lena Krause", Role.CLERK, "schmitten")
    schmitten = permit(
        store,
        issued(cases, parking, tenant="schmitten", street="Parkstraße", clerk=schmitten_clerk),
    ).current_decision()
    assert schmitten.costs is not None
    assert schmitten.costs.legal_basis.startswith("Gebührennummer 265 der Anlage zu § 1 GebOSt")
    fee = next(r for r in schmitten.rules if r.rules_id == "resident-parking-fee")
    assert fee.inputs["legal_basis"] == schmitten.costs.legal_basis


# ------------------------------------------------------------- renewal and plate change


def test_a_renewal_is_a_decision_that_takes_effect_on_its_notification(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    clock.advance(timedelta(days=330))  # Tuesday 26 January 2027: within six weeks of the end
    take(parking, case_id, "renew", actor=CLERK, months=12)
    case = permit(store, case_id)
    renewal = case.pending_permit_decision
    assert renewal is not None
    assert case.period == (date(2026, 3, 2), date(2027, 3, 1))  # not yet in effect
    assert "verlängert" in renewal["operative_part"].reveal()
    assert renewal["remedy_notice"].text.startswith("Rechtsbehelfsbelehrung")
    assert str(renewal["costs"].amount) == "60.00"
    assert "Gebührenordnung" in renewal["costs"].legal_basis
    assert "renew_permit" not in case.allowed_commands()
    assert "change_number_plate" not in case.allowed_commands()
    with pytest.raises(DomainError):
        take(parking, case_id, "renew", actor=CLERK)

    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="letter")
    case = permit(store, case_id)
    renewal = case.permit_decisions[-1]
    assert renewal["notified_on"] == date(
        2027, 2, 1
    )  # posted Tuesday; the fourth day, a Saturday, moves to Monday
    assert renewal["objection_deadline"] == date(2027, 3, 1)
    assert renewal["takes_effect_on"] == date(2027, 3, 2)  # the new period's first day
    assert case.period == (date(2026, 3, 2), date(2028, 3, 1))


def test_a_lapsed_permit_renewed_runs_from_its_notification(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    clock.advance(timedelta(days=400))  # the permit ended on 1 March 2027
    today = berlin_date(clock.now())
    take(parking, case_id, "renew", actor=CLERK, months=12)
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="letter")
    case = permit(store, case_id)
    notified_on = case.permit_decisions[-1]["notified_on"]
    assert notified_on > today
    assert case.period is not None
    assert case.period[0] == notified_on  # it takes effect on notification


def test_a_plate_change_frees_the_old_plate_when_it_takes_effect(
    cases: CaseService, store: VorgangStore
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    take(parking, case_id, "change_number_plate", actor=CLERK, vehicle={"number_plate": "HG-XY 2"})
    assert case_id in claims(parking, HoldingKind.NUMBER_PLATE, "HG-AB 1")
    assert case_id in claims(parking, HoldingKind.NUMBER_PLATE, "HG-XY 2")
    assert permit(store, case_id).number_plate.value == "HG-AB 1"  # type: ignore[union-attr]
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="counter")
    assert case_id not in claims(parking, HoldingKind.NUMBER_PLATE, "HG-AB 1")
    case = permit(store, case_id)
    assert case.number_plate.value == "HG-XY 2"  # type: ignore[union-attr]
    change = case.permit_decisions[-1]
    assert "HG-XY 2" in change["operative_part"].reveal()
    assert change["operative_part"].subject == "applicant"  # erased with the applicant's data


def test_a_plate_change_by_letter_or_from_a_later_day_keeps_the_old_plate_until_then(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    take(
        parking,
        case_id,
        "change_number_plate",
        actor=CLERK,
        vehicle={"number_plate": "HG-XY 2"},
        valid_from=date(2026, 3, 20),
    )
    new = holding(parking.context, "usingen", HoldingKind.NUMBER_PLATE, "HG-XY 2")
    assert new.periods[case_id][0] == date(2026, 3, 20)
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="letter")
    change = permit(store, case_id).permit_decisions[-1]
    assert change["notified_on"] == date(2026, 3, 6)  # posted Monday: the fourth day
    assert change["takes_effect_on"] == date(2026, 3, 20)  # the later day given
    old = holding(parking.context, "usingen", HoldingKind.NUMBER_PLATE, "HG-AB 1")
    assert old.periods[case_id] == (date(2026, 3, 2), date(2026, 3, 19))
    with pytest.raises(InvalidCommand) as too_late:
        take(
            parking,
            case_id,
            "change_number_plate",
            actor=CLERK,
            vehicle={"number_plate": "HG-XY 3"},
            valid_from=date(2027, 3, 2),
        )
    assert too_late.value.field == "valid_from"


# ------------------------------------------------------------------------- revocation


def test_a_revocation_with_immediate_enforcement_ends_the_permit_on_notification(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    today = berlin_date(clock.now())
    revoke(parking, case_id, today, immediate_enforcement="Der Parkraum wird sofort benötigt.")
    case = permit(store, case_id)
    revocation = case.permit_decisions[-1]
    assert revocation["legal_basis"] == (
        "§ 49 Abs. 2 Satz 1 Nr. 3 HVwVfG; § 80 Abs. 2 Satz 1 Nr. 4, Abs. 3 Satz 1 VwGO"
    )
    assert "sofortige Vollziehung" in revocation["operative_part"].reveal()
    assert revocation["hearing"].held_on == today
    assert case.ended_on is None
    assert case.status == CaseStatus.NOTIFIED
    clock.advance(timedelta(days=1))
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="counter")
    case = permit(store, case_id)
    assert case.status == ResidentParkingStatus.REVOKED
    assert case.ended_on == today + timedelta(days=1)
    assert case_id not in claims(parking, HoldingKind.NUMBER_PLATE, "HG-AB 1")

    with pytest.raises(InvalidCommand) as kept:  # lifting it needs the applicant's data
        case.check_erasure(
            actor=Actor("it.admin", "IT", Role.ADMIN, "usingen"),
            at=clock.now(),
            subjects=["applicant"],
            reason="Antrag",
            legal_basis="Art. 17 DSGVO",
        )
    assert "revocation" in str(kept.value)
    # An objection does not suspend it; its remedy lifts it and the permit stands again.
    take(parking, case_id, "lodge_revocation_objection", actor=CLERK, grounds="Ich wohne dort.")
    assert permit(store, case_id).status == ResidentParkingStatus.REVOKED
    take(parking, case_id, "remedy_revocation_objection", actor=CLERK, reason="Irrtum")
    case = permit(store, case_id)
    assert case.status == CaseStatus.NOTIFIED
    assert case.ended_on is None
    assert case_id in claims(parking, HoldingKind.NUMBER_PLATE, "HG-AB 1")
    assert case.service_state()["revocation"]["state"] == "lifted"


def test_a_revocation_in_effect_at_once_keeps_the_file_open_until_final_then_erasable(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    """Immediate enforcement does not shorten the objection period (§ 70 VwGO): a closed file
    could not record a timely objection, nor ever mark the revocation final, and its
    applicant's data could then never be erased."""
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    clock.advance(timedelta(days=40))  # the permit's own objection period is over
    revoke(parking, case_id, berlin_date(clock.now()), immediate_enforcement="Sofort.")
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="counter")
    with pytest.raises(InvalidCommand) as kept_open:
        take(parking, case_id, "close", actor=CLERK)
    assert kept_open.value.field == "revocation"
    clock.advance(timedelta(days=10))  # a timely objection can still be recorded
    take(parking, case_id, "lodge_revocation_objection", actor=CLERK, grounds="Ich wohne dort.")
    take(parking, case_id, "withdraw_revocation_objection", actor=CLERK)
    clock.advance(timedelta(days=30))
    take(parking, case_id, "mark_revocation_final", actor=CLERK)
    take(parking, case_id, "close", actor=CLERK)
    case = permit(store, case_id)
    assert case.status == CaseStatus.CLOSED
    case.check_erasure(
        actor=Actor("it.admin", "IT", Role.ADMIN, "usingen"),
        at=clock.now(),
        subjects=["applicant"],
        reason="Aufbewahrungsfrist abgelaufen",
        legal_basis="Art. 17 DSGVO",
    )


def test_a_revocation_still_open_in_a_file_closed_before_does_not_block_erasure(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    """Files closed with a revocation in effect (as revocations stored before read) take no
    step of its track any more: nothing can lift it, so the applicant's data is erasable."""
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    clock.advance(timedelta(days=40))
    revoke(parking, case_id, berlin_date(clock.now()), immediate_enforcement="Sofort.")
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="counter")
    case = permit(store, case_id)
    case._closed(  # as a file closed before the revocation had to be final
        status=CaseStatus.CLOSED, actor=CLERK.recorded_in(case_id), at=clock.now(), reason=None
    )
    assert case.open_revocation is not None
    case.check_erasure(
        actor=Actor("it.admin", "IT", Role.ADMIN, "usingen"),
        at=clock.now(),
        subjects=["applicant"],
        reason="Aufbewahrungsfrist abgelaufen",
        legal_basis="Art. 17 DSGVO",
    )


def test_a_permit_that_has_lapsed_is_not_revoked(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    """A permit whose period ended is settled by the lapse of time (§ 43 (2) HVwVfG): a
    revocation would have nothing left to end."""
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    valid_until = permit(store, case_id).service_state()["valid_until"]
    clock.advance(timedelta(days=(valid_until - berlin_date(clock.now())).days + 1))
    with pytest.raises(InvalidCommand) as lapsed:
        revoke(parking, case_id, berlin_date(clock.now()))
    assert lapsed.value.field == "at"
    assert permit(store, case_id).permit_decisions == []


def test_an_objection_suspends_a_revocation_without_immediate_enforcement(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    revoke(parking, case_id, berlin_date(clock.now()))
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="counter")
    case = permit(store, case_id)
    assert case.revocation is not None
    assert case.revocation["objection_deadline"] == date(2026, 4, 2)
    assert case.revocation["state"] == "awaiting_finality"
    assert "return_permit" not in case.allowed_commands()
    with pytest.raises(InvalidCommand) as early:
        take(parking, case_id, "mark_revocation_final", actor=CLERK)
    assert early.value.field == "at"
    take(parking, case_id, "lodge_revocation_objection", actor=CLERK, grounds="Ich wohne dort.")
    case = permit(store, case_id)
    assert case.revocation is not None
    assert case.revocation["state"] == "suspended"
    clock.advance(timedelta(days=60))  # the period is long over: the objection holds it open
    assert "mark_revocation_final" not in permit(store, case_id).allowed_commands()
    assert case.ended_on is None
    assert case_id in claims(parking, HoldingKind.NUMBER_PLATE, "HG-AB 1")
    with pytest.raises(DomainError):
        take(parking, case_id, "close", actor=CLERK)

    take(parking, case_id, "withdraw_revocation_objection", actor=CLERK)
    take(parking, case_id, "mark_revocation_final", actor=CLERK)
    case = permit(store, case_id)
    withdrawn_on = berlin_date(clock.now())
    assert case.status == ResidentParkingStatus.REVOKED
    assert case.ended_on == withdrawn_on  # final on withdrawal, the period being over
    assert case_id not in claims(parking, HoldingKind.NUMBER_PLATE, "HG-AB 1")
    assert case.service_state()["revocation"]["final_on"] == withdrawn_on


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ground": "reserved"}, "ground"),  # the permit reserves no revocation
        ({"ground": "requirement_not_met"}, "ground"),  # it carries no requirement
        ({"hearing_held_on": None}, "hearing_held_on"),  # § 28 (1) HVwVfG
        ({"hearing_held_on": date(2026, 3, 3)}, "hearing_held_on"),  # in the future
        ({"facts_known_since": date(2025, 2, 27)}, "facts_known_since"),  # § 48 (4) HVwVfG
        ({"facts_known_since": date(2026, 3, 3)}, "facts_known_since"),  # in the future
    ],
)
def test_a_revocation_without_its_legal_parts_is_refused(
    cases: CaseService, store: VorgangStore, change: dict[str, Any], field: str
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    today = date(2026, 3, 2)
    body = {**REVOCATION, "facts_known_since": today, "hearing_held_on": today, **change}
    before = permit(store, case_id).version
    with pytest.raises(InvalidCommand) as refused:
        take(parking, case_id, "revoke", actor=CLERK, **body)
    assert refused.value.field == field
    assert permit(store, case_id).version == before


def test_a_hearing_not_needed_is_recorded_with_its_reason(
    cases: CaseService, store: VorgangStore
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    body = {
        **REVOCATION,
        "facts_known_since": date(2026, 3, 2),
        "hearing_not_needed_because": "Gefahr im Verzug (§ 28 Abs. 2 Nr. 1 HVwVfG)",
    }
    take(parking, case_id, "revoke", actor=CLERK, **body)
    hearing = permit(store, case_id).permit_decisions[-1]["hearing"]
    assert hearing.not_needed_because.reveal().startswith("Gefahr im Verzug")


# ------------------------------------------------------------------------- old events


def copied_in_old_shapes(store: VorgangStore, case_id: UUID) -> UUID:
    """The case's events under a new id: renewal and plate change as version 1, the
    revocation as version 2, and no notifications of them (they did not exist)."""
    new_id = uuid4()
    events = []
    for stored in store.recorder.select_events(case_id):
        if stored.topic.endswith(".PermitDecisionNotified"):
            continue
        text = stored.state.decode().replace(case_id.hex, new_id.hex)
        state: dict[str, Any] = json.loads(text.replace(str(case_id), str(new_id)))
        if stored.topic.endswith((".PermitRenewed", ".NumberPlateChanged")):
            del state["class_version"]
            for name in (
                "starts_on",
                "operative_part",
                "legal_basis",
                "costs",
                "remedy_notice",
                "issuing_authority",
                "notified",
            ):
                state.pop(name, None)
        if stored.topic.endswith(".PermitRevoked"):
            state = {
                "class_version": 2,
                "timestamp": state["timestamp"],
                "actor": state["actor"],
                "at": state["at"],
                "revoked_on": state["revoked_on"],
                "reason": state["reason"],
                "legal_basis": "§ 49 Abs. 2 Satz 1 Nr. 3 HVwVfG",
                "status": ResidentParkingStatus.REVOKED,
            }
        events.append(
            StoredEvent(
                originator_id=new_id,
                originator_version=len(events) + 1,
                topic=stored.topic,
                state=json.dumps(state).encode(),
            )
        )
    store.recorder.insert_events(events)
    return new_id


def test_renewals_plate_changes_and_revocations_stored_before_still_load(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    parking = CommandHandler(cases)
    case_id = issued(cases, parking)
    clock.advance(timedelta(days=330))
    renewed_on = berlin_date(clock.now())
    take(parking, case_id, "renew", actor=CLERK, months=12)
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="counter")
    take(parking, case_id, "change_number_plate", actor=CLERK, vehicle={"number_plate": "HG-XY 2"})
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="counter")
    clock.advance(timedelta(days=3))
    revoked_on = berlin_date(clock.now())
    revoke(parking, case_id, revoked_on)
    take(parking, case_id, "notify_permit_decision", actor=CLERK, delivery="counter")
    stored = store.recorder.select_events(case_id)
    stored_state = json.loads(next(e for e in stored if "PermitRevoked" in e.topic).state.decode())
    assert stored_state["class_version"] == 3

    old = permit(store, copied_in_old_shapes(store, case_id))
    # Read as handed over at the counter on the day recorded, in effect at once.
    renewal, change, revocation = old.permit_decisions
    assert (renewal["delivery"], renewal["notified_on"]) == ("counter", renewed_on)
    assert renewal["remedy_notice"] is None
    assert renewal["objection_deadline"] == date(2028, 1, 26)  # § 58 (2) VwGO: a year
    assert old.period == (date(2026, 3, 2), date(2028, 3, 1))
    assert change["notified_on"] == renewed_on
    assert old.number_plate.value == "HG-XY 2"  # type: ignore[union-attr]
    assert revocation["ground"] is None
    assert revocation["legal_basis"] == "§ 49 Abs. 2 Satz 1 Nr. 3 HVwVfG"
    assert (revocation["notified_on"], revocation["takes_effect_on"]) == (revoked_on, revoked_on)
    assert revocation["state"] == "in_effect"
    assert old.status == ResidentParkingStatus.REVOKED
    assert old.ended_on == revoked_on
    assert old.pending_permit_decision is None
    assert "close" in old.allowed_commands()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"immediate_enforcement": "  "}, "immediate_enforcement"),  # § 80 (3) VwGO
        ({"discretion": " "}, "discretion"),  # § 39 (1) sentence 3 HVwVfG
        ({"hearing_not_needed_because": "Eilt", "hearing_held_on": date(2026, 3, 2)}, None),
    ],
)
def test_the_domain_refuses_empty_reasons_for_enforcement_and_discretion(
    cases: CaseService, store: VorgangStore, clock: FixedClock, change: dict[str, Any], field: str
) -> None:
    parking = CommandHandler(cases)
    case = permit(store, issued(cases, parking))
    body: dict[str, Any] = {
        **REVOCATION,
        "ground": RevocationGround.FACTS_CHANGED,
        "facts_known_since": date(2026, 3, 2),
        "hearing_held_on": date(2026, 3, 2),
        **change,
    }
    with pytest.raises(InvalidCommand) as refused:
        case.revoke_permit(actor=CLERK, at=clock.now(), **body)
    assert refused.value.field == (field or "hearing_not_needed_because")
