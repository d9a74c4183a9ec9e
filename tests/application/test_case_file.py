"""The case file (Akte): every event on the timeline, labelled in German, with who and why."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pypdf import PdfReader

from application.case_file import (
    CaseFiles,
    IntegrityProof,
    case_event_classes,
    label_of,
    timeline_of,
)
from application.cases import CaseService
from application.clock import FixedClock
from application.decision_audit import DecisionAudit
from application.errors import CaseNotFound
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.case import Case
from domain.personal_data import ERASED_TEXT
from domain.services.catalogue import SERVICES
from infrastructure.case_files import german_event_label
from infrastructure.documents.case_file_printer import WeasyPrintCaseFiles
from infrastructure.wiring import Vorgang
from tests.conftest import APPLICANT, CLERK, FOREIGN_CLERK, SUPERVISOR
from tests.steps import notified, pay_at_the_cash_office, submitted, take

AUDITOR = Actor("rpa.usingen", "Rechnungsprüfung Usingen", Role.AUDITOR, "usingen")
GROUNDS = "Die Gebühr ist zu hoch, schreibt Erika Mustermann."


def case_files(cases: CaseService, store: VorgangStore) -> CaseFiles:
    return CaseFiles(
        store,
        cases.clock,
        DecisionAudit(store, cases.clock, cases.withheld_from),
        german_event_label,
        withheld=cases.withheld_from,
    )


def test_every_event_class_of_every_case_type_has_a_german_label() -> None:
    assert Case.ObjectionLodged in case_event_classes()  # the legal track's are among them
    unlabelled = {
        (service, klass.__qualname__)
        for service, definition in SERVICES.items()
        for klass in case_event_classes({service: definition})  # those its case type records
        if label_of(klass, service, german_event_label) is None
    }
    assert unlabelled == set()


def test_an_event_class_without_a_label_is_found_missing() -> None:
    class Audited(Case.Event):
        """An event nobody labelled."""

    assert label_of(Audited, "general", german_event_label) is None
    assert label_of(Case.Submitted, "general", german_event_label) == "Antrag eingegangen"


def lifecycle(cases: CaseService, clock: FixedClock) -> UUID:
    """A general case asked a question, answered, decided with a fee, notified, objected to
    and paid at the cash office."""
    case_id = submitted(cases, applicant={"name": "Erika Mustermann"})
    clock.advance(timedelta(hours=1))
    take(cases, case_id, "claim", actor=CLERK)
    take(
        cases,
        case_id,
        "request_information",
        actor=CLERK,
        questions=["Bitte den Lageplan nachreichen."],
        reply_by=(clock.now() + timedelta(days=14)).date(),
    )
    take(cases, case_id, "provide_information", actor=APPLICANT, answer="Lageplan anbei.")
    clock.advance(timedelta(hours=1))
    take(cases, case_id, "confirm_complete", actor=CLERK)
    take(
        cases,
        case_id,
        "decide",
        actor=CLERK,
        outcome="approved",
        justification="j",
        legal_basis="§ 1 Satzung",
        fee=Decimal("25.00"),
    )
    notified(cases, case_id, actor=CLERK)
    take(cases, case_id, "lodge_objection", actor=CLERK, grounds=GROUNDS)
    pay_at_the_cash_office(cases, case_id)
    return case_id


def test_the_timeline_holds_every_event_of_the_case_with_label_actor_reason_and_status(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = lifecycle(cases, clock)
    timeline = case_files(cases, store).timeline(case_id, actor=AUDITOR)
    stored = list(store.events.get(case_id))
    assert [e.version for e in timeline] == [e.originator_version for e in stored]
    assert [e.event for e in timeline] == [type(e).__name__ for e in stored]
    assert all(e.label and e.label != e.event for e in timeline)
    by_event = {e.event: e for e in timeline}
    assert by_event["Submitted"].label == "Antrag eingegangen"
    assert by_event["Submitted"].status == "submitted"
    assert by_event["Decided"].reason == "j"
    assert by_event["ObjectionLodged"].reason == GROUNDS
    assert by_event["ObjectionLodged"].actor is not None
    assert by_event["ObjectionLodged"].actor.role == "clerk"
    assert by_event["ChargeSettled"].status == "notified"
    assert by_event["InformationRequested"].status == "information_requested"
    assert timeline[-1].status == "notified"


def test_the_file_holds_the_case_its_decisions_fees_and_messages(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = lifecycle(cases, clock)
    file = case_files(cases, store).assemble(case_id, AUDITOR)
    assert file.case.reference.startswith("USI-")
    assert file.case.town == "Stadt Usingen"
    assert file.case.applicant == {"name": "Erika Mustermann"}
    assert [(d.number, d.in_force, d.verdict) for d in file.decisions] == [(1, True, "consistent")]
    assert file.decisions[0].decided_by.role == "clerk"
    [fee] = file.fees
    assert (fee.amount, fee.receivable_status, fee.paid, fee.outstanding) == (
        Decimal("25.00"),
        "settled",
        Decimal("25.00"),
        Decimal("0.00"),
    )
    assert [p.channel for p in fee.payments] == ["counter"]
    [request] = file.messages.information_requests
    assert request.questions == ["Bitte den Lageplan nachreichen."]
    assert request.answer == "Lageplan anbei."
    assert file.proof == IntegrityProof(available=False, records=[], checkpoint=None)


def test_the_file_is_for_the_case_town_only(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = submitted(cases)
    files = case_files(cases, store)
    assert files.assemble(case_id, SUPERVISOR).case.id == case_id
    with pytest.raises(CaseNotFound):
        files.assemble(case_id, FOREIGN_CLERK)


def test_timeline_of_reads_events_it_is_given(cases: CaseService, store: VorgangStore) -> None:
    case_id = submitted(cases)
    events: list[Any] = list(store.events.get(case_id))
    [entry] = timeline_of(
        events, service="general", labels=german_event_label, positions=lambda v: 40 + v
    )
    assert (entry.position, entry.version, entry.label) == (41, 1, "Antrag eingegangen")


def printed(files: CaseFiles, case_id: UUID, actor: Actor = AUDITOR) -> tuple[str, str]:
    """The file as HTML and the text of its PDF."""
    printer = WeasyPrintCaseFiles()
    file = files.assemble(case_id, actor)
    pdf = printer.pdf(file)
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return printer.html(file), text


SECTIONS = (
    "Antrag und Daten",
    "Verlauf",
    "Entscheidungen mit Nachprüfung",
    "Gebühren und Zahlungen",
    "Schriftverkehr",
    "Integritätsnachweis",
)


def test_the_file_prints_in_german_with_every_section_as_html_and_pdf(
    cases: CaseService, store: VorgangStore, clock: FixedClock
) -> None:
    case_id = lifecycle(cases, clock)
    files = case_files(cases, store)
    html, text = printed(files, case_id)
    reference = files.assemble(case_id, AUDITOR).case.reference
    assert '<html lang="de">' in html
    for part in ("Akte", reference, "Stadt Usingen", *SECTIONS):
        assert part in html
        assert part in " ".join(text.split()), part
    assert "Widerspruch eingegangen" in " ".join(text.split())
    assert "Erika Mustermann" in text


def test_erased_personal_data_shows_as_geloescht_on_file_and_print(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    case_id = lifecycle(vorgang.cases, clock)
    files = case_files(vorgang.cases, vorgang.store)
    assert files.assemble(case_id, AUDITOR).case.applicant["name"] == "Erika Mustermann"
    vorgang.privacy.erase(
        case_id,
        actor=Actor("admin.usingen", "Admin", Role.ADMIN, "usingen"),
        reason="Aufbewahrungsfrist abgelaufen",
        legal_basis="Art. 17 DSGVO",
    )
    file = files.assemble(case_id, AUDITOR)
    assert file.case.applicant["name"] == ERASED_TEXT
    assert file.messages.information_requests[0].answer == ERASED_TEXT
    assert {e.event for e in file.timeline if e.reason == ERASED_TEXT} >= {"ObjectionLodged"}
    assert file.timeline[-1].event == "PersonalDataErased"
    assert file.erased_subjects
    html, text = printed(files, case_id)
    assert "Erika Mustermann" not in html
    assert "Erika Mustermann" not in text
    assert ERASED_TEXT in text
