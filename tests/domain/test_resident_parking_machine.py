"""Any sequence of commands keeps the resident parking permits' invariants, across cases.

A hypothesis state machine runs several permit cases of two towns side by side, sharing a
few residents and number plates (written in different spellings), through the use cases
on a SQLite file of its own: applications, decisions by the rules, notification,
objections, renewals, plate changes, returns, revocations and closing, while business time
moves on by days or by more than a year. The decision, the renewal and the plate change are
checked against a model of what they must accept, refuse or decide. After every step: no
two permits that have not ended hold the same resident or number plate of a town for an
overlapping time from today on; every holding claims exactly the permits that are in force
with their current plate; a refused command changed nothing; and a fresh store on the same
file replays the same cases and holdings.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from application.identities import CaseIdentities
from application.store import VorgangStore
from application.views import CaseState
from domain.actor import Actor, Role
from domain.errors import DomainError
from domain.lifecycle import WITHDRAWABLE, CaseStatus
from domain.personal_data import PersonalData
from domain.rules.resident_parking import zone_plan
from domain.services.parking_decisions import revocation_final_from
from domain.services.parking_holding import HoldingKind
from domain.services.resident_parking import (
    RENEWAL_WINDOW_DAYS,
    ResidentParkingPermit,
    ResidentParkingStatus,
    canonical_plate,
    holding,
    last_day,
    resident_key,
)
from domain.working_days import berlin_date
from persistence.transcodings import PersonalDataInClear
from tests.domain.case_fixtures import START
from tests.steps import take

SECRET = b"machine-secret-0123456789"
CLERKS = {
    "usingen": Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen"),
    "neu-anspach": Actor("jonas.becker", "Jonas Becker", Role.CLERK, "neu-anspach"),
}
# (name, street, house number): Usingen's zones hold Obergasse and Untergasse, Neu-Anspach's
# Schulstraße; Am Riedborn lies in no zone. Neu-Anspach allows secondary residences.
RESIDENTS = (
    ("Erika Weber", {"usingen": "Obergasse", "neu-anspach": "Schulstraße"}, "3"),
    ("erika  WEBER", {"usingen": "Obergasse", "neu-anspach": "Schulstraße"}, "3"),  # the same
    ("Erika Weber", {"usingen": "Untergasse", "neu-anspach": "Schulstraße"}, "5"),
    ("Hans Albrecht", {"usingen": "Obergasse", "neu-anspach": "Schulstraße"}, "3"),
    ("Fatma Yilmaz", {"usingen": "Am Riedborn", "neu-anspach": "Am Riedborn"}, "1"),
)
PLATES = ("HG-AB 1", "hg ab1", "HG-AB 2", "HG-C 33", "F-XY 999")
# An objection stands beside the permit (its track is no status): the permit's steps go on.
STATUSES_WITH_PERMIT_STEPS = frozenset({CaseStatus.NOTIFIED, CaseStatus.FINAL})
ENDING_STATUSES = STATUSES_WITH_PERMIT_STEPS


@dataclass
class Permit:
    """The model's view of one case."""

    tenant: str
    resident: str
    plate: str
    in_zone: bool
    months: int
    valid_from: date | None = None
    valid_until: date | None = None
    ended: bool = False
    # An open revocation: "awaiting_finality", "suspended" (by an objection in time) or
    # "in_effect" (immediate enforcement); None when there is none or it was lifted or final.
    revocation: str | None = None
    # Plates a change moved away from, held until the change takes effect (a letter's
    # notification day): plate → last day still held.
    old_plates: dict[str, date] = field(default_factory=dict)

    @property
    def in_force(self) -> bool:
        return self.valid_until is not None and not self.ended


class ResidentParkingMachine(RuleBasedStateMachine):
    """Permit cases of two towns, sharing residents and plates; one store on a SQLite file."""

    cases = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="vorgang-parking-"))
        self.env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.directory / "vorgang.db"),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
        self.store = VorgangStore(env=self.env, personal_data=PersonalDataInClear())
        self.clock = FixedClock(START)
        self.service = CaseService(self.store, self.clock, CaseIdentities(SECRET))
        self.parking = CommandHandler(self.service)
        self.model: dict[UUID, Permit] = {}
        self.submitted = 0
        self.steps_since_replay = 0

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # ---------------------------------------------------------------- helpers

    @property
    def today(self) -> date:
        return berlin_date(self.clock.now())

    def _case(self, case_id: UUID) -> ResidentParkingPermit:
        case: ResidentParkingPermit = self.store.repository.get(case_id)
        return case

    def _clerk(self, case_id: UUID) -> Actor:
        return CLERKS[self.model[case_id].tenant]

    def _conflict(self, case_id: UUID, start: date, until: date, *, plate: str) -> bool:
        """Would another permit in force hold the resident or this plate then?"""
        mine = self.model[case_id]
        for other_id, other in self.model.items():
            if other_id == case_id or other.tenant != mine.tenant:
                continue
            if start <= other.old_plates.get(plate, date.min):
                return True  # held until another permit's plate change takes effect
            if not other.in_force:
                continue
            assert other.valid_from is not None
            assert other.valid_until is not None
            shares = other.resident == mine.resident or other.plate == plate
            if shares and other.valid_from <= until and start <= other.valid_until:
                return True
        return False

    def _attempt(self, case_id: UUID, command: Any, expected: bool | None) -> bool:
        """Run a command; a refusal must change nothing; ``expected`` None means either."""
        before = self._case(case_id).version
        try:
            command()
        except DomainError:
            assert self._case(case_id).version == before, "a refused command changed the case"
            assert expected is not True, "the command was refused, but should pass"
            return False
        assert expected is not False, "the command passed, but should be refused"
        return True

    def _tell(self, what: str, passed: bool) -> None:
        event(f"{what}: {'passed' if passed else 'refused'}")

    def _notify_permit_decision(self, case_id: UUID, delivery: str = "counter") -> None:
        """The renewal, plate change or revocation just decided is handed over (or posted)."""
        take(
            self.parking,
            case_id,
            "notify_permit_decision",
            actor=self._clerk(case_id),
            delivery=delivery,
        )
        notified = self._case(case_id).permit_decisions[-1]
        if delivery == "counter":
            assert notified["notified_on"] == self.today
        assert notified["objection_deadline"] > notified["notified_on"]

    # ------------------------------------------------------------------ rules

    @rule(
        target=cases,
        tenant=st.sampled_from(sorted(CLERKS)),
        who=st.integers(min_value=0, max_value=len(RESIDENTS) - 1),
        plate=st.sampled_from(PLATES),
        main_residence=st.booleans(),
        months=st.sampled_from([1, 6, 12, 24]),
        decide_at_once=st.sampled_from([False, True, True]),
    )
    def apply(
        self,
        tenant: str,
        who: int,
        plate: str,
        main_residence: bool,
        months: int,
        decide_at_once: bool,
    ) -> UUID:
        """A resident applies; a clerk takes it into review (and often decides at once)."""
        name, streets, house_number = RESIDENTS[who]
        street = streets[tenant]
        self.submitted += 1
        applicant = Actor(f"portal:{self.submitted}", name, Role.APPLICANT, tenant)
        case_id = self.service.submit(
            actor=applicant,
            tenant=tenant,
            service="resident-parking",
            applicant={"name": name},
            data={
                "residence": {
                    "street": street,
                    "house_number": house_number,
                    "main_residence": main_residence,
                },
                "vehicle": {"number_plate": plate},
                "months": months,
            },
        ).case_id
        take(self.service, case_id, "claim", actor=CLERKS[tenant])
        take(self.service, case_id, "confirm_complete", actor=CLERKS[tenant])
        plan = zone_plan(tenant, self.today)
        self.model[case_id] = Permit(
            tenant=tenant,
            resident=resident_key(name, street, house_number),
            plate=canonical_plate(plate),
            in_zone=plan.zone_for(street) is not None
            and (main_residence or plan.secondary_residence_allowed),
            months=min(months, plan.max_validity_months),
        )
        if decide_at_once:
            self.decide_and_notify(case_id)
        return case_id

    @rule(case_id=cases)
    def decide_by_rules(self, case_id: UUID) -> None:
        """Issued exactly when the residence qualifies and nobody else holds resident or plate."""
        permit = self.model[case_id]
        status = self._case(case_id).status
        start = self.today
        until = last_day(start, permit.months)
        issue = permit.in_zone and not self._conflict(case_id, start, until, plate=permit.plate)
        passed = self._attempt(
            case_id,
            lambda: take(
                self.parking,
                case_id,
                "decide_by_rules",
                actor=self._clerk(case_id),
            ),
            expected=status == CaseStatus.IN_REVIEW,
        )
        if not passed:
            return
        event(f"decided: {'issued' if issue else 'refused'}")
        decision = self._case(case_id).decision
        assert decision is not None
        assert decision.outcome.is_approval is issue
        if issue:
            assert decision.expires_on == until
            permit.valid_from, permit.valid_until = start, until

    @rule(case_id=cases)
    def decide_and_notify(self, case_id: UUID) -> None:
        """The usual way: decided by the rules and notified in one go."""
        self.decide_by_rules(case_id)
        self.notify(case_id)

    @rule(case_id=cases)
    def notify(self, case_id: UUID) -> None:
        """The decision is handed over; the permit takes effect that day (§ 43 HVwVfG)."""
        status = self._case(case_id).status
        notified = self._attempt(
            case_id,
            lambda: take(
                self.service, case_id, "notify", actor=self._clerk(case_id), delivery="counter"
            ),
            expected=status == CaseStatus.DECIDED,
        )
        permit = self.model[case_id]
        if notified and permit.valid_from is not None:
            assert self._case(case_id).notified_on == self.today
            permit.valid_from = max(permit.valid_from, self.today)

    @rule(case_id=cases)
    def mark_final(self, case_id: UUID) -> None:
        """Final once the objection period is over (refused before)."""
        self._attempt(
            case_id,
            lambda: take(self.service, case_id, "mark_final", actor=self._clerk(case_id)),
            None,
        )

    @rule(case_id=cases)
    def lodge_and_remedy_objection(self, case_id: UUID) -> None:
        """An objection beside the permit, whatever its step; only a refusal is remedied with a
        new decision (and decided again later)."""
        case = self._case(case_id)
        status = case.status
        if case.notified_on is None or status in (CaseStatus.CLOSED, CaseStatus.WITHDRAWN):
            return
        clerk = self._clerk(case_id)
        lodged = self._attempt(
            case_id,
            lambda: take(
                self.service, case_id, "lodge_objection", actor=clerk, grounds="Einspruch"
            ),
            expected=case.open_objection is None,
        )
        if not lodged:
            return
        after = self._case(case_id)
        assert after.status == status  # the objection does not move the permit's track
        assert after.open_objection is not None
        reopens = status in (CaseStatus.NOTIFIED, CaseStatus.FINAL)
        self._attempt(
            case_id,
            lambda: take(self.service, case_id, "remedy_objection", actor=clerk, reason="Abhilfe"),
            expected=reopens and not self.model[case_id].in_force,
        )
        objection = self._case(case_id).open_objection
        if objection is not None:  # not remedied: decided instead (as inadmissible if late)
            # A road traffic matter: the supervising authority decides, once forwarded.
            take(self.service, case_id, "forward_objection", actor=clerk, reason="keine Abhilfe")
            take(
                self.service,
                case_id,
                "decide_objection",
                actor=clerk,
                outcome="dismissed" if objection.timely else "inadmissible",
                reasons="Die Voraussetzungen lagen nicht vor.",
                costs_borne_by="objector",
                served_on=self.today,
            )

    @rule(case_id=cases)
    def withdraw(self, case_id: UUID) -> None:
        """The applicant withdraws before a permit was issued, or after a refusal (until it is
        final); an issued permit holds resident and plate, and is returned instead."""
        case = self._case(case_id)
        name = case.applicant["name"]
        assert isinstance(name, PersonalData)
        applicant = Actor(case.submitted_by, name.value, Role.APPLICANT, case.tenant)
        issued = case.decision is not None and case.decision.outcome.is_approval
        expected: bool | None = None  # after a refusal: until it is final by law
        if case.status == CaseStatus.IN_REVIEW:
            expected = True
        elif issued or case.status not in WITHDRAWABLE or case.final_on is not None:
            expected = False
        passed = self._attempt(
            case_id, lambda: take(self.service, case_id, "withdraw", actor=applicant), expected
        )
        self._tell("withdraw", passed)
        if passed:
            assert not issued
            assert not self.model[case_id].in_force
            assert self._case(case_id).status == CaseStatus.WITHDRAWN

    @rule(case_id=cases, months=st.sampled_from([1, 6, 12, 24]))
    def renew(self, case_id: UUID, months: int) -> None:
        """Renewed from six weeks before the end, unless another permit holds it by then."""
        permit = self.model[case_id]
        status = self._case(case_id).status
        expected = status in STATUSES_WITH_PERMIT_STEPS and permit.in_force
        granted = min(months, zone_plan(permit.tenant, self.today).max_validity_months)
        start = until = self.today
        lapsed = False
        if expected:
            assert permit.valid_from is not None
            assert permit.valid_until is not None
            opens = permit.valid_until - timedelta(days=RENEWAL_WINDOW_DAYS)
            lapsed = self.today > permit.valid_until
            start = self.today if lapsed else permit.valid_from
            until = last_day(
                self.today if lapsed else permit.valid_until + timedelta(days=1), granted
            )
            expected = (
                self.today >= opens
                and permit.revocation is None
                and not self._conflict(case_id, max(self.today, start), until, plate=permit.plate)
            )
        passed = self._attempt(
            case_id,
            lambda: take(self.parking, case_id, "renew", actor=self._clerk(case_id), months=months),
            expected,
        )
        self._tell("renew", passed)
        if passed:
            assert self._case(case_id).pending_permit_decision is not None
            self._notify_permit_decision(case_id)  # it takes effect on notification
            permit.valid_from, permit.valid_until = start, until
            assert self._case(case_id).period == (start, until)

    @rule(
        case_id=cases,
        plate=st.sampled_from(PLATES),
        delivery=st.sampled_from(["counter", "letter", "electronic"]),
    )
    def change_number_plate(self, case_id: UUID, plate: str, delivery: str) -> None:
        """Another plate on a permit in force, unless another permit holds that plate."""
        permit = self.model[case_id]
        new = canonical_plate(plate)
        status = self._case(case_id).status
        expected = (
            status in STATUSES_WITH_PERMIT_STEPS
            and permit.in_force
            and new != permit.plate
            and permit.valid_until is not None
            and self.today <= permit.valid_until
            and permit.revocation is None
        )
        if expected:
            assert permit.valid_from is not None
            assert permit.valid_until is not None
            start = max(self.today, permit.valid_from)
            expected = not self._conflict(case_id, start, permit.valid_until, plate=new)
        passed = self._attempt(
            case_id,
            lambda: take(
                self.parking,
                case_id,
                "change_number_plate",
                actor=self._clerk(case_id),
                vehicle={"number_plate": plate},
            ),
            expected,
        )
        self._tell("change plate", passed)
        if passed:
            plate_now = self._case(case_id).number_plate
            assert isinstance(plate_now, PersonalData)
            assert plate_now.value == permit.plate  # the old plate until notified
            self._notify_permit_decision(case_id, delivery=delivery)
            takes_effect_on = self._case(case_id).permit_decisions[-1]["takes_effect_on"]
            assert takes_effect_on >= self.today
            assert permit.valid_until is not None
            if takes_effect_on > self.today:
                last = min(takes_effect_on - timedelta(days=1), permit.valid_until)
                permit.old_plates[permit.plate] = last
            permit.old_plates.pop(new, None)
            permit.plate = new

    @rule(case_id=cases, by_applicant=st.booleans())
    def return_permit(self, case_id: UUID, by_applicant: bool) -> None:
        """The holder (or a clerk) returns a permit in force."""
        permit = self.model[case_id]
        case = self._case(case_id)
        actor = self._clerk(case_id)
        if by_applicant:
            name = case.applicant["name"]
            assert isinstance(name, PersonalData)
            actor = Actor(case.submitted_by, name.value, Role.APPLICANT, permit.tenant)
        expected = case.status in ENDING_STATUSES and permit.in_force and permit.revocation is None
        if self._attempt(
            case_id, lambda: take(self.parking, case_id, "return_permit", actor=actor), expected
        ):
            permit.ended = True

    @rule(case_id=cases, immediate=st.booleans())
    def revoke(self, case_id: UUID, immediate: bool) -> None:
        """A clerk revokes a permit in force (§ 49 (2) no. 3 HVwVfG); notified at once.

        With immediate enforcement it ends the permit that day; without, the permit stays
        until the revocation is final.
        """
        permit = self.model[case_id]
        expected = (
            self._case(case_id).status in ENDING_STATUSES
            and permit.in_force
            and permit.valid_until is not None
            and self.today <= permit.valid_until  # a lapsed permit is settled (§ 43 (2))
            and permit.revocation is None
        )
        order = {"immediate_enforcement": "Parkraum sofort benötigt"} if immediate else {}
        passed = self._attempt(
            case_id,
            lambda: take(
                self.parking,
                case_id,
                "revoke",
                actor=self._clerk(case_id),
                ground="facts_changed",
                reason="Wegzug",
                facts_known_since=self.today.isoformat(),
                discretion="Parkraum knapp",
                hearing_not_needed_because="Gefahr im Verzug",
                **order,
            ),
            expected,
        )
        self._tell("revoke", passed)
        if not passed:
            return
        assert self._case(case_id).ended_on is None  # decided; in effect once notified
        self._notify_permit_decision(case_id)
        if immediate:
            permit.ended = True
            permit.revocation = "in_effect"
            assert self._case(case_id).status == ResidentParkingStatus.REVOKED
        else:
            permit.revocation = "awaiting_finality"
            assert self._case(case_id).ended_on is None

    @rule(case_id=cases, outcome=st.sampled_from(["withdraw", "remedy", "granted", "dismissed"]))
    def object_to_the_revocation(self, case_id: UUID, outcome: str) -> None:
        """An objection to the revocation, then withdrawn, remedied or decided."""
        permit = self.model[case_id]
        clerk = self._clerk(case_id)
        lodged = self._attempt(
            case_id,
            lambda: take(
                self.parking, case_id, "lodge_revocation_objection", actor=clerk, grounds="g"
            ),
            None if permit.revocation else False,
        )
        self._tell("revocation objection", lodged)
        if not lodged:
            return
        revocation = self._case(case_id).revocation
        assert revocation is not None
        timely = revocation["objections"][-1].timely
        if timely and permit.revocation == "awaiting_finality":
            permit.revocation = "suspended"
            assert revocation["state"] == "suspended"
        ended_by_it = permit.revocation == "in_effect"
        if outcome == "withdraw":
            take(self.parking, case_id, "withdraw_revocation_objection", actor=clerk)
            if permit.revocation == "suspended":
                permit.revocation = "awaiting_finality"
            return
        if outcome == "dismissed":
            take(
                self.parking,
                case_id,
                "decide_revocation_objection",
                actor=clerk,
                outcome="dismissed" if timely else "inadmissible",
                reasons="r",
                served_on=self.today.isoformat(),
            )
            if permit.revocation == "suspended":
                permit.revocation = "awaiting_finality"
            return
        restores = ended_by_it and permit.valid_until is not None
        retake = restores and permit.valid_until is not None and self.today <= permit.valid_until
        conflict = retake and self._conflict(
            case_id,
            max(self.today, permit.valid_from or self.today),
            permit.valid_until or self.today,
            plate=permit.plate,
        )
        command = (
            ("remedy_revocation_objection", {"reason": "Abhilfe"})
            if outcome == "remedy"
            else (
                "decide_revocation_objection",
                {"outcome": "granted", "reasons": "r", "served_on": self.today.isoformat()},
            )
        )
        passed = self._attempt(
            case_id,
            lambda: take(self.parking, case_id, command[0], actor=clerk, **command[1]),
            not conflict,
        )
        if passed:
            permit.revocation = None
            permit.ended = False
            assert self._case(case_id).ended_on is None

    @rule(case_id=cases, wait=st.booleans())
    def mark_revocation_final(self, case_id: UUID, wait: bool) -> None:
        """Final after the objection period (or the month for an action); the permit ends.

        ``wait``: the clerk waits for the first day it can be final (refused before).
        """
        permit = self.model[case_id]
        revocation = self._case(case_id).open_revocation
        first = revocation_final_from(revocation) if revocation else None
        if wait and first is not None and first > self.today:
            self.clock.advance(timedelta(days=(first - self.today).days))
        passed = self._attempt(
            case_id,
            lambda: take(
                self.parking, case_id, "mark_revocation_final", actor=self._clerk(case_id)
            ),
            None if permit.revocation else False,
        )
        self._tell("revocation final", passed)
        if passed:
            permit.revocation = None
            permit.ended = True
            assert self._case(case_id).status == ResidentParkingStatus.REVOKED

    @rule(case_id=cases)
    def close(self, case_id: UUID) -> None:
        """Closing is refused while the permit is in force or a revocation is not yet final
        (in effect at once included: its objection period still runs)."""
        permit = self.model[case_id]
        in_force_today = (
            permit.in_force and permit.valid_until is not None and self.today <= permit.valid_until
        ) or permit.revocation in ("awaiting_finality", "suspended", "in_effect")
        self._attempt(
            case_id,
            lambda: take(self.service, case_id, "close", actor=self._clerk(case_id)),
            False if in_force_today else None,
        )

    @rule(days=st.sampled_from([1, 20, 40, 150, 300, 330, 400]))
    def advance_time(self, days: int) -> None:
        """Business time moves on."""
        self.clock.advance(timedelta(days=days))

    # ------------------------------------------------------------- invariants

    def _current(self) -> dict[UUID, ResidentParkingPermit]:
        return {case_id: self._case(case_id) for case_id in self.model}

    @invariant()
    def the_model_and_the_cases_agree(self) -> None:
        for case_id, case in self._current().items():
            permit = self.model[case_id]
            if permit.in_force:
                assert case.period == (permit.valid_from, permit.valid_until)
                assert case.ended_on is None
                plate = case.number_plate
                assert isinstance(plate, PersonalData)
                assert plate.value == permit.plate
            if permit.ended:
                assert case.status in (
                    ResidentParkingStatus.RETURNED,
                    ResidentParkingStatus.REVOKED,
                    CaseStatus.CLOSED,
                )

    @invariant()
    def one_permit_per_resident_and_per_plate_from_today_on(self) -> None:
        in_force = [
            (case_id, p) for case_id, p in self.model.items() if p.in_force and p.valid_until
        ]
        for i, (a_id, a) in enumerate(in_force):
            for b_id, b in in_force[i + 1 :]:
                if a.tenant != b.tenant or (a.resident != b.resident and a.plate != b.plate):
                    continue
                assert a.valid_from
                assert a.valid_until
                assert b.valid_from
                assert b.valid_until
                a_from, b_from = max(self.today, a.valid_from), max(self.today, b.valid_from)
                overlap = a_from <= b.valid_until and b_from <= a.valid_until
                assert not overlap, f"{a_id} and {b_id} hold the same resident or plate"

    @invariant()
    def holdings_claim_exactly_the_permits_in_force(self) -> None:
        expected: dict[tuple[str, HoldingKind, str], dict[UUID, date]] = {}
        for case_id, permit in self.model.items():
            if permit.in_force and permit.valid_until and permit.valid_until >= self.today:
                for kind, key in (
                    (HoldingKind.RESIDENT, permit.resident),
                    (HoldingKind.NUMBER_PLATE, permit.plate),
                ):
                    claims = expected.setdefault((permit.tenant, kind, key), {})
                    claims[case_id] = permit.valid_until
            for old, last in permit.old_plates.items():
                if last >= self.today:
                    claims = expected.setdefault((permit.tenant, HoldingKind.NUMBER_PLATE, old), {})
                    claims[case_id] = last
        every_key = {
            (tenant, HoldingKind.RESIDENT, resident_key(name, streets[tenant], number))
            for tenant in CLERKS
            for name, streets, number in RESIDENTS
        } | {
            (tenant, HoldingKind.NUMBER_PLATE, canonical_plate(plate))
            for tenant in CLERKS
            for plate in PLATES
        }
        for tenant, kind, key in every_key:
            held = holding(self.parking.context, tenant, kind, key)
            claimed = {
                case_id: until
                for case_id, (_, until) in held.periods.items()
                if until >= self.today
            }
            assert claimed == expected.get((tenant, kind, key), {}), (tenant, kind)

    @invariant()
    def a_fresh_store_replays_the_same_cases(self) -> None:
        self.steps_since_replay += 1
        if self.steps_since_replay < 8:
            return
        self.steps_since_replay = 0
        fresh = VorgangStore(env=self.env, personal_data=PersonalDataInClear())
        try:
            for case_id in self.model:
                again: ResidentParkingPermit = fresh.repository.get(case_id)
                assert CaseState.of(again) == CaseState.of(self._case(case_id))
        finally:
            fresh.close()


ResidentParkingMachine.TestCase.settings = settings(
    max_examples=20,  # several permits per example: each runs long; the suite stays fast
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestResidentParkingMachine = ResidentParkingMachine.TestCase
