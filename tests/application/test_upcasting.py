"""Events stored in an older shape are read in the current one."""

from __future__ import annotations

import json
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from application.cases import CaseService
from application.store import VorgangStore
from tests.conftest import APPLICANT, CLERK


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
