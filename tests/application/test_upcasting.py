"""Events stored in an older shape are read in the current one.

Each test takes a case through the use cases, rewrites one of its stored events into the shape
an earlier release stored (the version it had, the fields it had), copies the case under a new
id, and reads it back: the shapes Procedure law 1 changed (the notification, the objection
and its status, the remedy, finality, the decision with its hand-typed notice and conditions,
the clock without its due date) all load, and say what they said then.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent

from application.cases import CaseService
from application.clock import FixedClock
from application.store import VorgangStore
from domain.case import Case
from domain.decision import DecisionOutcome, ProvisionKind
from domain.lifecycle import CaseStatus
from domain.objection import ObjectionState
from domain.personal_data import Subjects
from domain.rules.notification import Delivery
from tests.conftest import APPLICANT, CLERK, SUPERVISOR
from tests.steps import decided, submitted, take

Reshape = Callable[[dict[str, Any]], None]
# The objection as an earlier release stored it: received, grounds, by whom.
OLD_OBJECTION_FIELDS = ("received_on", "grounds", "lodged_by")


def copied(
    store: VorgangStore,
    case_id: UUID,
    reshape: Mapping[str, Reshape],
    renamed: Mapping[str, str] | None = None,
) -> UUID:
    """The case's events under a new id, those named (``Notified``) in their older shape, and
    those ``renamed`` stored as the event of that name (an event the code no longer takes)."""
    new_id = uuid4()
    events = []
    for stored in store.recorder.select_events(case_id):
        text = stored.state.decode().replace(case_id.hex, new_id.hex)
        state = json.loads(text.replace(str(case_id), str(new_id)))
        name = stored.topic.rsplit(".", 1)[-1]
        topic = stored.topic
        if name in reshape:
            reshape[name](state)
        if renamed and name in renamed:
            topic = topic.removesuffix(name) + renamed[name]
        events.append(
            StoredEvent(
                originator_id=new_id,
                originator_version=stored.originator_version,
                topic=topic,
                state=json.dumps(state).encode(),
            )
        )
    store.recorder.insert_events(events)
    return new_id


def loaded(store: VorgangStore, case_id: UUID) -> Case:
    """The case as the store reads it now."""
    case: Case = store.repository.get(case_id)
    return case


def version_2(*dropped: str, **status: str) -> Reshape:
    """Back to ``class_version`` 2: the fields named dropped, a status set if given."""

    def reshape(state: dict[str, Any]) -> None:
        state["class_version"] = 2
        for name in dropped:
            del state[name]
        state.update(status)

    return reshape


def notified_case(cases: CaseService, **notify: Any) -> UUID:
    """A general case decided and notified (at the counter unless said otherwise)."""
    case_id = submitted(cases)
    decided(cases, case_id)
    take(cases, case_id, "notify", actor=CLERK, **{"delivery": "counter", **notify})
    return case_id


def lodged_case(cases: CaseService, clock: FixedClock) -> UUID:
    """Notified on 2 March 2026, an objection received in time on 10 March."""
    case_id = notified_case(cases)
    clock.advance(timedelta(days=8))
    take(cases, case_id, "lodge_objection", actor=CLERK, grounds="Die Auflage ist zu streng")
    return case_id


def old_objection(state: dict[str, Any]) -> None:
    """The objection's value as an earlier release stored it."""
    data = state["objection"]["_data_"]
    state["objection"]["_data_"] = {name: data[name] for name in OLD_OBJECTION_FIELDS}


def test_a_version_1_submission_without_a_channel_reads_as_online(
    cases: CaseService, store: VorgangStore
) -> None:
    original = cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant={"name": "A"},
        data={"subject": "Anliegen"},
    )
    stored = store.recorder.select_events(original.case_id)[0]
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    state.pop("channel")  # the shape before version 2
    old_id = UUID("00000000-0000-4000-8000-000000000001")
    state["applicant"]["name"]["_data_"]["case"] = old_id.hex
    store.recorder.insert_events(
        [
            StoredEvent(
                originator_id=old_id,
                originator_version=1,
                topic=stored.topic,
                state=json.dumps(state).encode(),
            )
        ]
    )
    case = cases.get(old_id, actor=CLERK)
    assert case.channel == "online"
    assert case.reference == original.reference


def test_a_version_2_notification_reads_as_handed_over_on_the_day_recorded(
    cases: CaseService, store: VorgangStore
) -> None:
    case_id = notified_case(cases, delivery=Delivery.LETTER.value)
    now = loaded(store, case_id)
    assert now.notified_on == date(2026, 3, 6)  # posted Monday 2 March: four days
    old = version_2(
        "delivery",
        "sent_on",
        "received_on",
        "rules",
        "effective_from",
        "expires_on",
        "fee_due_on",
    )
    case = loaded(store, copied(store, case_id, {"Notified": old}))
    assert case.status == CaseStatus.NOTIFIED
    assert case.notified_on == date(2026, 3, 6)  # as recorded
    assert case.objection_deadline == now.objection_deadline
    assert case.notification == {
        "delivery": "counter",
        "sent_on": date(2026, 3, 6),
        "received_on": None,
    }
    assert case.decision is not None
    assert case.decision.notified_on is None  # no dates that follow were recorded then
    [notified] = [e for e in store.events.get(case.id) if isinstance(e, Case.Notified)]
    assert notified.rules is None
    assert notified.status == CaseStatus.NOTIFIED


def test_a_version_2_objection_with_its_status_leaves_the_case_where_it_stood(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = lodged_case(cases, clock)

    def old(state: dict[str, Any]) -> None:
        version_2(status="objection_lodged")(state)
        old_objection(state)

    case = loaded(store, copied(store, case_id, {"ObjectionLodged": old}))
    assert case.status == CaseStatus.NOTIFIED  # the retired status is not taken
    [lodged] = [e for e in store.events.get(case.id) if isinstance(e, Case.ObjectionLodged)]
    assert lodged.status == CaseStatus.NOTIFIED  # where every such objection was lodged
    objection = case.open_objection
    assert objection is not None
    assert objection.state == ObjectionState.PENDING
    assert objection.received_on == date(2026, 3, 10)
    assert objection.deadline == case.objection_deadline  # the period then in force
    assert objection.timely
    assert {"remedy_objection", "decide_objection"} <= case.allowed_commands()


def test_a_version_2_forwarded_objection_is_with_the_authority_beside_the_case(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    """An earlier release forwarded objections in self-government matters too, to an
    authority typed on the case; such a case now records a hearing where that stood, here
    rewritten into the forwarding as it was stored."""
    case_id = lodged_case(cases, clock)
    take(cases, case_id, "hear_objection", actor=CLERK, held_on=date(2026, 3, 10))

    def lodged(state: dict[str, Any]) -> None:
        version_2(status="objection_lodged")(state)
        old_objection(state)

    def forwarded(state: dict[str, Any]) -> None:
        reason = json.loads(json.dumps(state["actor"]["_data_"]["name"]))
        reason["_data_"].update(subject=Subjects.CASE_TEXT, value="keine Abhilfe")
        del state["held_on"], state["committee"]
        state.update(
            class_version=2,
            authority="Kreisausschuss des Hochtaunuskreises",
            reason=reason,
            status="objection_forwarded",
        )

    reshape = {"ObjectionLodged": lodged, "ObjectionHeard": forwarded}
    renamed = {"ObjectionHeard": "ObjectionForwarded"}
    case = loaded(store, copied(store, case_id, reshape, renamed))
    assert case.status == CaseStatus.NOTIFIED
    objection = case.open_objection
    assert objection is not None
    assert objection.state == ObjectionState.FORWARDED
    assert objection.forwarded_to == "Kreisausschuss des Hochtaunuskreises"


def test_an_objection_stored_before_it_recorded_the_status_loads(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    """Regression: Procedure law 1 first stored ``ObjectionLodged`` as version 3 without a
    status (it never moved the case); the event took a ``status`` since, still as version 3
    and without an upcaster, so such an event no longer loaded (docs/architecture.md,
    decision 6: a changed shape is a new ``class_version`` with an upcaster)."""
    case_id = lodged_case(cases, clock)

    def first_shape(state: dict[str, Any]) -> None:
        state["class_version"] = 3
        del state["status"]

    case = loaded(store, copied(store, case_id, {"ObjectionLodged": first_shape}))
    assert case.status == CaseStatus.NOTIFIED
    assert case.open_objection is not None


def test_a_widerspruchsbescheid_stored_before_it_could_call_for_a_new_decision_loads(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    """Regression: ``ObjectionDecided`` was first stored (version 1) without ``status`` and
    ``new_decision``; it took both since without a new ``class_version`` and upcaster: such an
    event no longer loaded."""
    case_id = lodged_case(cases, clock)
    take(cases, case_id, "hear_objection", actor=CLERK, held_on=date(2026, 3, 10))
    take(
        cases,
        case_id,
        "decide_objection",
        actor=SUPERVISOR,
        outcome="dismissed",
        reasons="unbegründet",
        costs_borne_by="objector",
        served_on=date(2026, 3, 10),
    )

    def first_shape(state: dict[str, Any]) -> None:
        del state["class_version"], state["status"], state["new_decision"]

    case = loaded(store, copied(store, case_id, {"ObjectionDecided": first_shape}))
    assert case.status == CaseStatus.NOTIFIED
    [objection] = case.objections
    assert objection.state == ObjectionState.DECIDED


def test_a_defective_notice_stored_before_it_recorded_the_status_loads(
    cases: CaseService, store: VorgangStore
) -> None:
    """Regression: ``RemedyNoticeFoundDefective`` was first stored (version 1) without a
    status (it never moved the case); it took one since (a case marked final is open again)
    without a new ``class_version`` and upcaster: such an event no longer loaded."""
    case_id = notified_case(cases)
    take(cases, case_id, "record_remedy_notice_defect", actor=SUPERVISOR, reason="fehlt")

    def first_shape(state: dict[str, Any]) -> None:
        del state["class_version"], state["status"]

    case = loaded(store, copied(store, case_id, {"RemedyNoticeFoundDefective": first_shape}))
    assert case.status == CaseStatus.NOTIFIED
    assert case.objection_deadline == date(2027, 3, 2)


def final_case(cases: CaseService, store: VorgangStore, clock: FixedClock) -> UUID:
    """Notified at the counter on 2 March 2026 and marked final the day after the month."""
    case_id = notified_case(cases)
    deadline = loaded(store, case_id).objection_deadline
    assert deadline is not None
    clock.advance(deadline - date(2026, 3, 2) + timedelta(days=1))
    take(cases, case_id, "mark_final", actor=CLERK)
    assert loaded(store, case_id).status == CaseStatus.FINAL
    return case_id


def test_a_version_3_objection_with_its_status_keeps_the_status_it_recorded(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    """The later version 3 recorded the status: an objection in time registered after the
    case was marked final reopened it, and still does when read as version 4."""
    case_id = final_case(cases, store, clock)
    deadline = loaded(store, case_id).objection_deadline
    take(cases, case_id, "lodge_objection", actor=CLERK, grounds="zu streng", received_on=deadline)

    def version_3(state: dict[str, Any]) -> None:
        state["class_version"] = 3

    case = loaded(store, copied(store, case_id, {"ObjectionLodged": version_3}))
    assert case.status == CaseStatus.NOTIFIED
    assert case.final_on is None


def test_a_version_1_defective_notice_on_a_final_case_left_it_final(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    """Version 1 never reopened a case marked final (it recorded no status); read now, it
    says what it said then: the status and the day of finality are kept, the year runs."""
    case_id = final_case(cases, store, clock)
    final_on = loaded(store, case_id).final_on
    take(cases, case_id, "record_remedy_notice_defect", actor=SUPERVISOR, reason="fehlt")
    assert loaded(store, case_id).status == CaseStatus.NOTIFIED  # as recorded today

    def first_shape(state: dict[str, Any]) -> None:
        del state["class_version"], state["status"]

    case = loaded(store, copied(store, case_id, {"RemedyNoticeFoundDefective": first_shape}))
    assert case.status == CaseStatus.FINAL
    assert case.final_on == final_on
    assert case.objection_deadline == date(2027, 3, 2)


def test_a_version_2_remedy_reopened_the_decision_for_review(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = lodged_case(cases, clock)
    take(cases, case_id, "remedy_objection", actor=SUPERVISOR, reason="Abhilfe")

    def lodged(state: dict[str, Any]) -> None:
        version_2(status="objection_lodged")(state)
        old_objection(state)

    reshape = {
        "ObjectionLodged": lodged,
        "ObjectionRemedied": version_2("remedy", "new_decision"),
    }
    case = loaded(store, copied(store, case_id, reshape))
    assert case.status == CaseStatus.IN_REVIEW
    assert case.decision is None
    assert case.notified_on is None
    assert case.objection_deadline is None
    [objection] = case.objections
    assert objection.state == ObjectionState.REMEDIED
    assert objection.remedy is None  # an old remedy recorded no extent or costs
    assert not objection.is_open


def test_a_version_2_finality_counts_from_the_day_it_was_recorded(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = notified_case(cases)
    clock.advance(timedelta(days=60))  # 1 May 2026, a holiday, business time all the same
    take(cases, case_id, "mark_final", actor=CLERK)
    now = loaded(store, case_id)
    assert now.final_on == date(2026, 4, 3)  # the day after the period (2 April)
    case = loaded(store, copied(store, case_id, {"BecameFinal": version_2("final_on")}))
    assert case.status == CaseStatus.FINAL
    assert case.final_on == date(2026, 5, 1)  # recorded then: the day of the event


def old_decision(notice: str) -> Reshape:
    """The decision as an earlier release stored it: a typed notice, conditions as texts."""

    def reshape(state: dict[str, Any]) -> None:
        data = state["decision"]["_data_"]
        provisions = data.pop("provisions")
        data["conditions"] = [p["_data_"]["text"] for p in provisions]
        data["legal_remedy_notice"] = notice
        for name in (
            "remedy_notice",
            "operative_part",
            "issuing_authority",
            "addressee",
            "representative",
            "hearing",
            "discretion",
            "costs",
            "valid_for_months",
            "notified_on",
        ):
            data.pop(name)

    return reshape


def test_an_old_decision_reads_its_typed_notice_and_its_conditions_as_requirements(
    cases: CaseService, store: VorgangStore
) -> None:
    case_id = submitted(cases)
    decided(
        cases,
        case_id,
        outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
        conditions=["Baustelle sichern", "Gehweg freihalten"],
        hearing_held_on=date(2026, 3, 2),
    )
    typed = "Gegen diesen Bescheid kann innerhalb eines Monats Widerspruch erhoben werden."
    case = loaded(store, copied(store, case_id, {"Decided": old_decision(typed)}))
    decision = case.decision
    assert decision is not None
    assert decision.legal_remedy_notice == typed
    assert decision.remedy_notice.complete
    assert decision.remedy_notice.version == "typed"
    assert [p.kind for p in decision.provisions] == [ProvisionKind.REQUIREMENT] * 2
    assert [c.reveal() for c in decision.conditions] == ["Baustelle sichern", "Gehweg freihalten"]
    assert decision.operative_part is None
    assert decision.issuing_authority is None
    assert decision.costs is None


def test_an_old_decision_with_an_empty_notice_gives_a_year_once_notified(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = submitted(cases)
    decided(cases, case_id)
    old_id = copied(store, case_id, {"Decided": old_decision("")})
    decision = loaded(store, old_id).decision
    assert decision is not None
    assert not decision.remedy_notice.complete  # no notice: § 58 (2) VwGO
    take(cases, old_id, "notify", actor=CLERK, delivery="counter")
    case = loaded(store, old_id)
    assert case.notified_on == date(2026, 3, 2)
    assert case.objection_deadline == date(2027, 3, 2)  # a year, not a month
    assert "record_remedy_notice_defect" not in case.allowed_commands()  # nothing to find
    clock.advance(timedelta(days=200))
    take(cases, old_id, "lodge_objection", actor=CLERK, grounds="nach sechs Monaten")
    objection = loaded(store, old_id).open_objection
    assert objection is not None
    assert objection.timely


def test_an_old_clock_without_its_due_date_gets_it_computed_once(
    cases: CaseService, store: VorgangStore
) -> None:
    case_id = submitted(cases)
    take(cases, case_id, "claim", actor=CLERK)
    take(cases, case_id, "confirm_complete", actor=CLERK)
    due = loaded(store, case_id).due_on
    assert due == date(2026, 3, 30)  # twenty working days from 2 March

    def old_clock(state: dict[str, Any]) -> None:
        clock = state["clock"]["_data_"]
        for name in ("deemed_approval", "months", "extension_communicated_on", "due_on"):
            del clock[name]
        del clock["decided_on"]

    reshape = {"Submitted": old_clock, "CompletenessConfirmed": old_clock}
    case = loaded(store, copied(store, case_id, reshape))
    assert case.due_on == due
    assert not case.clock.deemed_approval
    assert case.clock.decided_on is None
    assert case.clock.is_running
