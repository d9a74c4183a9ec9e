"""Erasure racing a command that writes personal data: nothing written before the erasure
is recorded stays readable after it.

A command's new data key is written with its events (held back until they commit), and a
key destroyed by an erasure is made anew by the next command that needs one. So an erasure
whose record loses the race against such a command destroys again (and, erasing everyone,
looks again at who has keys) before it records. Threads are paused and released by observed
events (the command's save reached the recorder, the erasure destroyed keys), never by time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Any

import pytest

from domain.actor import Actor, Role
from domain.personal_data import ERASED_TEXT
from infrastructure.wiring import Vorgang
from tests.conftest import APPLICANT, CLERK
from tests.steps import take

ADMIN = Actor("dsb.usingen", "Datenschutz Usingen", Role.ADMIN, "usingen")
WAIT = 30  # a guard against a hang; every wait below is released by an observed event


def race(
    vorgang: Vorgang,
    monkeypatch: pytest.MonkeyPatch,
    case_id: Any,
    command: Callable[[], object],
    subjects: Collection[str] | None,
) -> None:
    """The command's save waits at the recorder and the erasure after its first destroy;
    the command commits first, then the erasure goes on (and loses its save once)."""
    recorder = vorgang.store.recorder
    insert = recorder.insert_events
    command_thread: list[threading.Thread] = []
    at_recorder, commit = threading.Event(), threading.Event()

    def paused_insert(stored: Any, **kwargs: Any) -> Any:
        if command_thread and threading.current_thread() is command_thread[0]:
            at_recorder.set()
            assert commit.wait(WAIT)
        return insert(stored, **kwargs)

    monkeypatch.setattr(recorder, "insert_events", paused_insert)
    destroy = vorgang.keys.destroy
    destroyed, record = threading.Event(), threading.Event()

    def paused_destroy(case: Any, chosen: Any = None) -> list[str]:
        out = destroy(case, chosen)
        destroyed.set()
        assert record.wait(WAIT)
        return out

    monkeypatch.setattr(vorgang.keys, "destroy", paused_destroy)
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    def erase() -> object:
        return vorgang.privacy.erase(
            case_id,
            actor=ADMIN,
            reason="Löschfrist",
            legal_basis="Art. 17 DSGVO",
            subjects=subjects,
        )

    erasing = threading.Thread(target=run, args=(erase,))
    commanding = threading.Thread(target=run, args=(command,))
    command_thread.append(commanding)
    if subjects is None:  # the command has encoded (its new key held back) before the look
        commanding.start()
        assert at_recorder.wait(WAIT)
        erasing.start()
        assert destroyed.wait(WAIT)
    else:  # the erasure destroyed first; the command then makes a new key for the subject
        erasing.start()
        assert destroyed.wait(WAIT)
        commanding.start()
        assert at_recorder.wait(WAIT)
    commit.set()
    commanding.join(WAIT)
    record.set()
    erasing.join(WAIT)
    assert not errors, errors


def notes(vorgang: Vorgang, case_id: Any) -> list[str]:
    return [
        str(entry.data["text"])
        for entry in vorgang.cases.history(case_id, actor=CLERK)
        if entry.type == "NoteAdded"
    ]


def claimed_case(vorgang: Vorgang) -> Any:
    case_id = vorgang.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant={"name": "Max Mustermann"},
        data={"subject": "Umzug"},
    ).case_id
    take(vorgang.cases, case_id, "claim", actor=CLERK)
    return case_id


def test_erasing_everyone_also_erases_a_subject_whose_first_key_was_being_written(
    vorgang: Vorgang, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = claimed_case(vorgang)
    note = lambda: take(vorgang.cases, case_id, "add_note", actor=CLERK, text="geheime Notiz")  # noqa: E731
    race(vorgang, monkeypatch, case_id, note, None)
    assert notes(vorgang, case_id) == [ERASED_TEXT]


def test_erasing_a_subject_also_erases_what_a_command_wrote_with_a_new_key_meanwhile(
    vorgang: Vorgang, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = claimed_case(vorgang)
    take(vorgang.cases, case_id, "add_note", actor=CLERK, text="erste Notiz")
    note = lambda: take(vorgang.cases, case_id, "add_note", actor=CLERK, text="zweite Notiz")  # noqa: E731
    race(vorgang, monkeypatch, case_id, note, ["case-text"])
    assert notes(vorgang, case_id) == [ERASED_TEXT, ERASED_TEXT]
