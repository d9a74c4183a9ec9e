"""Erasing random subjects in random cases never breaks loading or later commands."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.clock import FixedClock
from application.store import VorgangStore
from application.views import CaseState
from domain.actor import Actor, Role
from domain.personal_data import ERASED_TEXT, Subjects
from infrastructure.privacy.transcoding import EncryptedPersonalData
from infrastructure.settings import Settings
from infrastructure.wiring import build
from tests.steps import submitted, take

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
APPLICANT = Actor("portal:4711", "Max Mustermann", Role.APPLICANT, "usingen")
ADMIN = Actor("dsb", "Datenschutz", Role.ADMIN, "usingen")
SUBJECTS = [Subjects.APPLICANT, Subjects.CASE_TEXT, Subjects.actor(CLERK.id)]

steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),  # which case
        st.sampled_from(["note", "claim_release", "erase", "request", "snapshot"]),
        st.sets(st.sampled_from(SUBJECTS), min_size=1),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=steps)
def test_history_loads_and_commands_work_whatever_was_erased(steps) -> None:  # type: ignore[no-untyped-def]
    folder = Path(tempfile.mkdtemp())
    clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    v = build(Settings(database_url=f"sqlite:///{folder}/v.db"), clock=clock)
    try:
        ids = [submitted(v.cases, applicant={"name": f"Person {i}"}) for i in range(3)]
        erased: dict[int, set[str]] = {i: set() for i in range(3)}
        snapshotted: dict[int, int] = {}
        erased_upto: dict[int, dict[str, int]] = {i: {} for i in range(3)}
        for index, action, subjects in steps:
            case_id = ids[index]
            if action == "erase":
                result = v.privacy.erase(
                    case_id,
                    actor=ADMIN,
                    reason="Frist",
                    legal_basis="Art. 17 DSGVO",
                    subjects=sorted(set(subjects) & set(v.keys.subjects_of(case_id))) or None,
                )
                erased[index] = set(v.keys.erased_subjects_of(case_id))
                version = v.cases.get(case_id, actor=CLERK).version
                for subject in result.subjects:
                    # events up to the erasure record were written under destroyed keys
                    erased_upto[index][subject] = version - 1
            elif action == "note":
                take(v.cases, case_id, "add_note", actor=CLERK, text="Vermerk")
            elif action == "claim_release":
                state = v.cases.get(case_id, actor=CLERK)
                if state.holder_id is None:
                    take(v.cases, case_id, "claim", actor=CLERK)
                else:
                    take(v.cases, case_id, "release", actor=CLERK, reason="Übergabe")
            elif action == "request" and v.cases.get(case_id, actor=CLERK).status == "submitted":
                take(
                    v.cases,
                    case_id,
                    "request_information",
                    actor=CLERK,
                    questions=["Nachweis?"],
                    reply_by=date(2026, 4, 1),
                    missing_documents=True,
                )
                take(v.cases, case_id, "provide_information", actor=APPLICANT, answer="anbei")
            elif action == "snapshot":
                version = v.cases.get(case_id, actor=CLERK).version
                if snapshotted.get(index) != version:  # one snapshot per version
                    v.store.take_snapshot(case_id)
                    snapshotted[index] = version

        fresh = VorgangStore(env=v.target.env, personal_data=EncryptedPersonalData(v.keys))
        try:
            for index, case_id in enumerate(ids):
                from_snapshots = CaseState.of(fresh.repository.get(case_id))
                head = from_snapshots.version
                replayed = CaseState.of(fresh.repository.get(case_id, version=head))
                assert replayed == from_snapshots
                expected_name = (
                    ERASED_TEXT if Subjects.APPLICANT in erased[index] else f"Person {index}"
                )
                assert from_snapshots.applicant["name"] == expected_name
                history = v.cases.history(case_id, actor=CLERK)
                assert len(history) == head
                clerk_erased_upto = erased_upto[index].get(Subjects.actor(CLERK.id), 0)
                for entry in history:
                    if entry.actor and entry.actor["id"] == CLERK.id:
                        gone = entry.version <= clerk_erased_upto
                        assert entry.actor["name"] == (ERASED_TEXT if gone else CLERK.display_name)
                take(v.cases, case_id, "add_note", actor=CLERK, text="Nach Löschung")  # still works
        finally:
            fresh.close()
    finally:
        v.close()
