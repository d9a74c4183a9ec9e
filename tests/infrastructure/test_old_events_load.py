"""Events stored before the events were typed load, and say the status they led to.

``events_stored_before_typing.jsonl`` holds events as the code before typed events stored
them (status-changing events then carried no ``status``): the demo of one town, whose cases
reach every status of every service, and two cases of ``FourEyesRequest`` below through
the countersignature and the payment gate. Each line also names the status the case had
after the event, as that code computed it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, decorated_func_callers
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from application.store import VorgangStore
from domain.case import Case, ChangesStatus
from domain.decision import DecisionOutcome
from tests.domain.case_fixtures import CLERK, START, SUPERVISOR, decided

LATER = START + timedelta(days=2)
STORED = Path(__file__).with_name("events_stored_before_typing.jsonl")


class FourEyesRequest(Case):
    """A case type with the countersignature and the payment gate (no service has both)."""

    COUNTERSIGN_REQUIRED = True
    PAYMENT_BEFORE_ISSUE = True


def four_eyes_cases() -> list[Case]:
    """Two cases through the four-eyes and payment steps, one forwarded, one remedied."""
    cases = []
    for forwarded in (True, False):
        case = decided(FourEyesRequest, fee="120.00")
        case.refuse_countersign(actor=SUPERVISOR, at=LATER, reason="Begründung unvollständig")
        case.decide(
            actor=CLERK,
            at=LATER + timedelta(hours=1),
            outcome=DecisionOutcome.APPROVED,
            justification="Die Voraussetzungen liegen jetzt vor.",
            legal_basis="§ 16 HStrG",
            legal_remedy_notice="Gegen diesen Bescheid kann Widerspruch erhoben werden.",
            fee=Decimal("120.00"),
        )
        case.countersign(actor=SUPERVISOR, at=LATER + timedelta(hours=2))
        case.record_payment(
            actor=CLERK,
            at=LATER + timedelta(hours=3),
            amount=Decimal("120.00"),
            payment_reference="KASSE-1",
        )
        case.notify(actor=CLERK, at=LATER + timedelta(hours=4))
        case.lodge_objection(actor=CLERK, at=LATER + timedelta(days=1), grounds="Zu teuer")
        if forwarded:
            case.forward_objection(
                actor=CLERK, at=LATER + timedelta(days=2), authority="Kreis", reason="Keine Abhilfe"
            )
            case.close(actor=CLERK, at=LATER + timedelta(days=3))
        else:
            case.remedy_objection(actor=CLERK, at=LATER + timedelta(days=2), reason="Abhilfe")
        cases.append(case)
    return cases


def stored_before() -> list[dict[str, Any]]:
    """The events of the file, in each aggregate's order."""
    return [json.loads(line) for line in STORED.read_text(encoding="utf-8").splitlines()]


def insert_stored_before(store: VorgangStore) -> list[dict[str, Any]]:
    """Write the old events through the recorder, byte for byte as they were stored."""
    lines = stored_before()
    store.recorder.insert_events([stored_event(line) for line in lines])
    return lines


def stored_event(line: dict[str, Any]) -> StoredEvent:
    """A line of the file as the recorder stores it."""
    return StoredEvent(
        originator_id=UUID(line["originator_id"]),
        originator_version=line["originator_version"],
        topic=line["topic"],
        state=json.dumps(line["state"]).encode(),
    )


def test_old_events_load_and_each_names_the_status_it_led_to(store: VorgangStore) -> None:
    lines = insert_stored_before(store)
    after = {(line["originator_id"], line["originator_version"]): line for line in lines}
    for case_id in sorted({line["originator_id"] for line in lines}):
        aggregate: Aggregate | None = None
        for event in store.events.get(UUID(case_id)):
            aggregate = event.mutate(aggregate)
            expected = after[(case_id, event.originator_version)]["status_after"]
            assert getattr(aggregate, "status", None) == expected
            if isinstance(event, ChangesStatus):
                assert event.status == expected, type(event).__qualname__
        assert aggregate is not None
        assert store.repository.get(UUID(case_id)).version == aggregate.version


def test_the_old_events_cover_every_event_that_gained_its_status(store: VorgangStore) -> None:
    gained = {
        klass
        for klass in decorated_func_callers.values()
        if issubclass(klass, ChangesStatus) and getattr(klass, "class_version", 1) == 2
    }
    old = [stored_event(line) for line in stored_before() if "class_version" not in line["state"]]
    met = {type(store.mapper.to_domain_event(stored)) for stored in old}
    assert sorted(get_topic(k) for k in gained - met) == []
    assert len(gained) == 22
