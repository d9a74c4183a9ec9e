"""A new case's data keys are committed with its events: together, or not at all.

Runs on SQLite and PostgreSQL (the ``vorgang`` fixture wires the encrypting store).
"""

from __future__ import annotations

import threading
from datetime import datetime
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from domain.case import Case
from domain.personal_data import PersonalData, Subjects
from infrastructure.database import parse_database_url
from infrastructure.privacy.key_store import NewKeyRow, UnknownDataKey
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from tests.conftest import APPLICANT, CLERK, POSTGRES_URL, admin_connection, require_postgres


def key_rows(v: Vorgang, case_id: UUID) -> list[str]:
    """The subjects that have key rows for this case."""
    return v.keys.subjects_of(case_id)


def new_case(v: Vorgang, case_id: UUID, name: str) -> Case:
    """A general case built in memory, not saved."""
    return Case.submit(
        case_id=case_id,
        actor=APPLICANT,
        at=datetime(2026, 3, 2, 9, 0).astimezone(),
        tenant="usingen",
        service="general",
        reference="USI-2026-999999",
        applicant={"name": PersonalData(case_id, Subjects.APPLICANT, name)},
        data={"subject": "Anliegen"},
        request_fingerprint="f",
        channel="online",
    )


def test_a_submission_commits_the_applicants_key_with_the_case(vorgang: Vorgang) -> None:
    result = vorgang.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant={"name": "Max Mustermann"},
        data={"subject": "Anliegen"},
    )
    assert key_rows(vorgang, result.case_id) == [Subjects.APPLICANT]
    # Nothing waits any more: the recorder took the row and wrote it.
    assert vorgang.keys.take_new_rows() == []
    again = vorgang.cases.get(result.case_id, actor=CLERK)
    assert again.applicant["name"] == "Max Mustermann"


def test_a_save_that_fails_leaves_no_key_row_and_no_cached_key(
    vorgang: Vorgang, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = uuid4()
    vorgang.store.save(new_case(vorgang, case_id, "Vorher"))  # takes version 1
    vorgang.keys.destroy(case_id)  # so the next save of this case needs a new key
    taken: list[NewKeyRow] = []
    take = vorgang.keys.take_new_rows

    def spy() -> list[NewKeyRow]:
        rows = take()
        taken.extend(rows)
        return rows

    monkeypatch.setattr(vorgang.keys, "take_new_rows", spy)
    with pytest.raises(IntegrityError):  # version 1 exists: the whole save fails
        vorgang.store.save(new_case(vorgang, case_id, "Zweite"))
    assert len(taken) == 1  # a key was made while encoding, and handed to the recorder
    with pytest.raises(UnknownDataKey):  # but neither stored nor cached
        vorgang.keys.key_for_reading(taken[0].key_id)
    # The next case gets its own key, written with its events, and reads back.
    third = uuid4()
    vorgang.store.save(new_case(vorgang, third, "Dritte"))
    assert key_rows(vorgang, third) == [Subjects.APPLICANT]
    assert vorgang.cases.get(third, actor=CLERK).applicant["name"] == "Dritte"


def test_rows_made_in_one_thread_are_not_written_by_another(vorgang: Vorgang) -> None:
    """The held-back rows are per thread: a save elsewhere does not take them."""
    made: list[NewKeyRow] = []

    def encode_elsewhere() -> None:
        vorgang.keys.key_for_writing(uuid4(), Subjects.APPLICANT)
        made.extend(vorgang.keys.take_new_rows())

    thread = threading.Thread(target=encode_elsewhere)
    thread.start()
    thread.join()
    assert len(made) == 1
    assert vorgang.keys.take_new_rows() == []


def test_a_new_case_needs_no_key_lookup_and_a_stored_one_does(
    vorgang: Vorgang, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No row can exist for a case the save creates: its first key is made at once."""
    lookups: list[str] = []
    select_live = vorgang.keys._select_live

    def counted(case_hex: str, subject: str):  # type: ignore[no-untyped-def]
        lookups.append(case_hex)
        return select_live(case_hex, subject)

    monkeypatch.setattr(vorgang.keys, "_select_live", counted)
    case_id = uuid4()
    vorgang.store.save(new_case(vorgang, case_id, "Neu"))
    assert lookups == []
    vorgang.keys._for_writing.clear()  # as in another process: nothing cached
    vorgang.keys.key_for_writing(case_id, Subjects.APPLICANT)
    assert lookups == [case_id.hex]
    assert vorgang.keys.take_new_rows() == []  # found the stored key: nothing new to write


@pytest.mark.postgres
def test_without_a_schema_keys_live_beside_the_events_whatever_the_search_path() -> None:
    """A database whose search_path names another schema first (e.g. set per role)."""
    require_postgres()
    name = f"t_search_path_{uuid4().hex[:8]}"
    base = parse_database_url(POSTGRES_URL)
    with admin_connection(base) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        with admin_connection(parse_database_url(url)) as conn:
            conn.execute("CREATE SCHEMA app")
            conn.execute(f'ALTER DATABASE "{name}" SET search_path = app, public')
        v = build(Settings(database_url=url))
        try:
            case_id = v.cases.submit(
                actor=APPLICANT,
                tenant="usingen",
                service="general",
                applicant={"name": "Max Mustermann"},
                data={"subject": "Anliegen"},
            ).case_id
            assert v.cases.get(case_id, actor=CLERK).applicant["name"] == "Max Mustermann"
        finally:
            v.close()
    finally:
        with admin_connection(base) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_key_made_outside_the_running_save_is_never_written_or_cached(
    vorgang: Vorgang,
) -> None:
    """Rows left over (an encode that failed before its save reached the recorder) belong
    to no save: neither the next save nor an empty one writes or caches them."""
    stray = vorgang.keys.key_for_writing(uuid4(), Subjects.APPLICANT)  # held back, no save
    vorgang.store.recorder.insert_events([])  # a save with nothing to write
    vorgang.store.save(new_case(vorgang, uuid4(), "Nächste"))  # the next real save
    with pytest.raises(UnknownDataKey):
        vorgang.keys.key_for_reading(stray.key_id)
