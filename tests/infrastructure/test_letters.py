"""The Bescheid as a document: each kind of letter, for each town, composed from a case built
with the domain and rendered as PDF/A-3b (fonts embedded) with the town's letterhead; the
templates are checked at start-up, and a bad one names its file and line."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pypdf
import pytest

from application.document_ports import LetterRenderer
from application.letters import Letter, compose, euro
from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.documents import DocumentKind
from domain.errors import InvalidCommand
from domain.objection import CostsBorneBy
from domain.personal_data import ERASED_TEXT, Erased, PersonalData, PersonalValue, Subjects
from domain.personal_fields import personal_data_of
from domain.services.road_opening import SERVICE_ID as ROAD_OPENING
from domain.services.road_opening import RoadOpeningApplication, RoadOpeningPermit
from domain.services.road_opening import example as road_opening_example
from domain.services.sewer_connection import DEBTOR, SewerConnection, SewerConnectionApplication
from domain.services.sewer_connection import SERVICE_ID as SEWER
from domain.services.sewer_connection import example as sewer_example
from domain.tenants import TENANTS
from domain.timers import scheduler_actor
from domain.working_days import BERLIN
from infrastructure.documents.letterheads import (
    LETTERHEADS_FILE,
    LetterheadProblem,
    iban_valid,
    load_letterheads,
)
from infrastructure.documents.rendering import TEMPLATES_DIR, TemplateProblem, WeasyPrintRenderer

TOWNS = tuple(TENANTS)
START = date(2026, 3, 2)  # a Monday


def noon(day: date) -> datetime:
    """Noon in Germany on that day."""
    return datetime.combine(day, time(12), tzinfo=BERLIN).astimezone(UTC)


def clerk(town: str) -> Actor:
    return Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, town)


def supervisor(town: str) -> Actor:
    return Actor("carla.koch", "Carla Koch", Role.SUPERVISOR, town)


class DeemedApprovalCase(Case):
    """A service whose rule orders deemed approval (§ 42a (1) sentence 1 HVwVfG)."""

    DEEMED_APPROVAL = True
    DEEMED_APPROVAL_RULE = "§ 99 Musterverordnung"
    DEEMED_APPROVAL_SUBJECT = "die beantragte Erlaubnis"


def applicant(case_id: Any) -> dict[str, PersonalValue]:
    values = {
        "name": "Erika Mustermann",
        "street": "Lindenweg",
        "house_number": "3",
        "postal_code": "61250",
        "city": "Usingen",
        "email": "erika@example.org",
    }
    return {key: PersonalData(case_id, Subjects.APPLICANT, v) for key, v in values.items()}


def submitted(
    town: str,
    case_class: type[Case] = Case,
    service: str = "general",
    form: Any = None,
    *,
    on: date = START,
) -> Any:
    """A case of this town, submitted on ``on``, complete and claimed by the town's clerk."""
    case_id = uuid4()
    data = (
        personal_data_of(form, case_id=case_id, subject=Subjects.APPLICANT)
        if form is not None
        else {"subject": "Anliegen"}
    )
    case = case_class.submit(
        case_id=case_id,
        actor=Actor("portal:4711", "Erika Mustermann", Role.APPLICANT, town),
        at=noon(on),
        tenant=town,
        service=service,
        reference=f"{TENANTS[town].reference_prefix}-2026-000012",
        applicant=applicant(case_id),
        data=data,
        request_fingerprint="f" * 64,
    )
    case.confirm_complete(actor=clerk(town), at=noon(on))
    case.claim(actor=clerk(town), at=noon(on))
    return case


def decided(town: str) -> Case:
    """A general case approved with a fee on the day after its submission."""
    case: Case = submitted(town)
    case.decide(
        actor=clerk(town),
        at=noon(START + timedelta(days=1)),
        outcome=DecisionOutcome.APPROVED,
        justification="Die Voraussetzungen liegen vor.",
        legal_basis="§ 16 HStrG",
        fee=Decimal("1234.50"),
    )
    return case


def road_opening_decided(town: str) -> Case:
    """A road opening permit, approved at discretion with its tariff's fee and works period."""
    day = START + timedelta(days=1)
    form = RoadOpeningApplication.model_validate(road_opening_example(START))
    permit: Case = submitted(town, RoadOpeningPermit, ROAD_OPENING, form)
    permit.decide(
        actor=clerk(town),
        at=noon(day),
        outcome=DecisionOutcome.APPROVED,
        justification="Die Sondernutzung ist erlaubnisfähig.",
        legal_basis="§§ 16, 18 HStrG",
        discretion="Der Gemeingebrauch wird nur kurz beeinträchtigt.",
    )
    return permit


def objection_decided(town: str) -> Case:
    """Decided, handed over, objected to, heard and dismissed by a Widerspruchsbescheid."""
    case = decided(town)
    case.notify(actor=clerk(town), at=noon(START + timedelta(days=1)))
    case.lodge_objection(
        actor=clerk(town),
        at=noon(date(2026, 3, 10)),
        grounds="Die Gebühr ist zu hoch.",
        received_on=date(2026, 3, 10),
    )
    case.hear_objection(actor=clerk(town), at=noon(date(2026, 4, 14)), held_on=date(2026, 4, 14))
    case.decide_objection(
        actor=supervisor(town),
        at=noon(date(2026, 4, 20)),
        outcome="dismissed",
        reasons="Die Gebühr entspricht dem Tarif.",
        costs_borne_by=CostsBorneBy.OBJECTOR,
        served_on=date(2026, 4, 20),
        fee=Decimal("50.00"),
    )
    return case


def certified(town: str) -> Case:
    """The § 42a period ended on 2 June without a decision; the certificate was issued."""
    case: Case = submitted(town, DeemedApprovalCase)
    case.record_deemed_approval(actor=scheduler_actor(town), at=noon(date(2026, 6, 3)))
    case.certify_deemed_approval(actor=clerk(town), at=noon(date(2026, 6, 10)))
    return case


def information_requested(town: str) -> Case:
    case: Case = submitted(town)
    case.request_information(
        actor=clerk(town),
        at=noon(START),
        questions=["Bitte reichen Sie den Lageplan des Grundstücks ein."],
        reply_by=date(2026, 3, 16),
        missing_documents=True,
    )
    return case


def charge_assessed(town: str) -> Case:
    """A sewer connection built by the town, accepted, and its charge assessed to a buyer."""
    form = SewerConnectionApplication.model_validate(sewer_example(START))
    permit: SewerConnection = submitted(town, SewerConnection, SEWER, form)
    day = START + timedelta(days=1)
    permit.determine_connection_point(
        actor=clerk(town),
        at=noon(day),
        manhole="S 12-034",
        invert_depth_m=Decimal("2.40"),
        description="Fahrbahnmitte",
    )
    permit.decide(
        actor=clerk(town),
        at=noon(day),
        outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
        justification="Der Anschluss entspricht der Entwässerungssatzung.",
        legal_basis="§ 12 Entwässerungssatzung",
    )
    permit.notify(actor=clerk(town), at=noon(day))
    built = date(2026, 4, 7)
    permit.report_construction(
        actor=clerk(town), at=noon(built), completed_on=built, pipe_length_m=Decimal("12.00")
    )
    permit.record_leak_test(
        actor=clerk(town), at=noon(built), tested_on=built, method="water", passed=True,
        tester="Uwe Hartmann",
    )  # fmt: skip
    permit.inspect_connection(actor=clerk(town), at=noon(built), inspected_on=built, defects=[])
    permit.assess_connection_charge(
        actor=clerk(town),
        at=noon(date(2026, 4, 14)),
        debtor_name="Jonas Käufer",
        debtor_address="Am Hattsteiner Weg 7, 61250 Usingen",
    )
    return permit


def applicant_erased(case: Case) -> Case:
    """The case as it reads once the applicant's key was destroyed: replayed from its events
    with every applicant value decoded as ``Erased``."""

    def erased(value: Any) -> Any:
        if isinstance(value, PersonalData) and value.subject == Subjects.APPLICANT:
            return Erased(value.case_id, value.subject)
        if isinstance(value, dict):
            return {key: erased(v) for key, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(erased(v) for v in value)
        if is_dataclass(value) and not isinstance(value, type):
            return replace(value, **{f.name: erased(getattr(value, f.name)) for f in fields(value)})
        return value

    replayed: Any = None
    for event in case.collect_events():
        for name, value in vars(event).items():
            object.__setattr__(event, name, erased(value))
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Case)
    return replayed


BUILDERS: dict[DocumentKind, Callable[[str], Case]] = {
    DocumentKind.DECISION: decided,
    DocumentKind.OBJECTION_DECISION: objection_decided,
    DocumentKind.DEEMED_APPROVAL_CERTIFICATE: certified,
    DocumentKind.INFORMATION_REQUEST: information_requested,
    DocumentKind.CHARGE_ASSESSMENT: charge_assessed,
}


def letter_of(case: Case, kind: DocumentKind, *, automatic: bool = False) -> Letter:
    """The letter the case issues next, as the application composes it."""
    number = case.next_document_number()
    town = case.tenant
    actor = scheduler_actor(town) if automatic else clerk(town)
    return compose(
        case,
        kind,
        number=number,
        issued_on=date(2026, 6, 15),
        issued_by=actor.recorded_in(case.id),
        automatic=automatic,
        cash_reference=case.cash_reference_for(kind, number),
    )


@dataclass(frozen=True)
class Rendered:
    case: Case
    letter: Letter
    pdf: bytes

    @property
    def reader(self) -> pypdf.PdfReader:
        return pypdf.PdfReader(io.BytesIO(self.pdf))

    @property
    def text(self) -> str:
        """The text of every page, without whitespace (lines break anywhere)."""
        return "".join("".join(page.extract_text().split()) for page in self.reader.pages)


def squeezed(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def renderer() -> WeasyPrintRenderer:
    return WeasyPrintRenderer(load_letterheads())


@pytest.fixture(scope="module")
def rendered(renderer: WeasyPrintRenderer) -> dict[tuple[DocumentKind, str], Rendered]:
    """Each kind of letter for each town, rendered once."""
    documents = {}
    for kind, build in BUILDERS.items():
        for town in TOWNS:
            case = build(town)
            letter = letter_of(case, kind, automatic=kind is DocumentKind.INFORMATION_REQUEST)
            documents[kind, town] = Rendered(case, letter, renderer.render(letter))
    return documents


@pytest.mark.parametrize("town", TOWNS)
@pytest.mark.parametrize("kind", list(DocumentKind))
def test_each_kind_renders_for_each_town_with_tenor_authority_and_remedy(
    rendered: dict[tuple[DocumentKind, str], Rendered], kind: DocumentKind, town: str
) -> None:
    document = rendered[kind, town]
    letter, text = document.letter, document.text
    assert document.pdf.startswith(b"%PDF-")
    assert letter.town == TENANTS[town].display_name
    assert squeezed(letter.issuing_authority) in text
    assert squeezed(letter.reference) in text
    for paragraph in letter.operative_part:
        assert squeezed(paragraph) in text
    if letter.remedy_notice is not None:
        assert squeezed(letter.remedy_notice.removeprefix("Rechtsbehelfsbelehrung: ")) in text
    assert "Seite1von" in text  # the footer numbers the pages


MM = 25.4 / 72  # millimetres per PDF point


def runs_on_first_page(pdf: bytes) -> dict[str, tuple[float, float]]:
    """Each text run's first baseline on page one, in mm from the left and from the top."""
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    height = float(page.mediabox.height)
    runs: dict[str, tuple[float, float]] = {}

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        runs.setdefault(text.strip(), (x * MM, (height - y) * MM))

    page.extract_text(visitor_text=visit)
    return runs


def test_the_first_page_follows_din_5008_form_b(
    rendered: dict[tuple[DocumentKind, str], Rendered],
) -> None:
    """Address field 45 mm down, 20 mm in (its lines indented to 25 mm) and 45 mm high;
    information block 125 mm in from 50 mm down; the text starts below both."""
    document = rendered[DocumentKind.DECISION, "usingen"]
    runs = runs_on_first_page(document.pdf)
    name_x, name_y = runs[document.letter.address.name]
    last_x, last_y = runs[document.letter.address.lines[-1]]
    label_x, label_y = runs["Aktenzeichen"]
    title_x, title_y = runs[document.letter.title]

    assert name_x == pytest.approx(25, abs=0.3)
    assert 45 + 17.7 < name_y < last_y < 45 + 45  # in the address zone under the return address
    assert last_x == pytest.approx(25, abs=0.3)
    assert label_x == pytest.approx(125, abs=0.3)
    assert 50 < label_y < 56
    assert title_x == pytest.approx(25, abs=0.3)
    assert title_y > 98.46


def test_the_letters_carry_what_each_kind_sets_out(
    rendered: dict[tuple[DocumentKind, str], Rendered],
) -> None:
    """Kassenzeichen where costs are assessed, the court for an action, the questions."""
    decision = rendered[DocumentKind.DECISION, "usingen"]
    assert decision.letter.costs is not None
    assert decision.letter.costs.cash_reference is not None
    assert squeezed(decision.letter.costs.cash_reference) in decision.text
    assert squeezed("1.234,50 EUR") in decision.text
    assert "DE22512500000000434011" in decision.text  # the cash office's IBAN
    assert squeezed("Im Auftrag") in decision.text
    assert "AnnaSchmidt" in decision.text
    charge = rendered[DocumentKind.CHARGE_ASSESSMENT, "glashuetten"]
    assert charge.letter.costs is not None
    assert charge.letter.costs.cash_reference
    assert squeezed(charge.letter.costs.cash_reference) in charge.text
    assert "JonasKäufer" in charge.text
    assert "Kostenersatzbescheid" in charge.text
    assert charge.letter.address.lines == ("Am Hattsteiner Weg 7", "61250 Usingen")
    objection = rendered[DocumentKind.OBJECTION_DECISION, "schmitten"]
    assert squeezed("Klage beim Verwaltungsgericht Frankfurt am Main") in objection.text
    assert squeezed("Zugestellt am 20.04.2026") in objection.text
    request = rendered[DocumentKind.INFORMATION_REQUEST, "neu-anspach"]
    assert squeezed("Lageplan des Grundstücks") in request.text
    assert squeezed("ruht die Bearbeitungsfrist") in request.text
    assert squeezed("ohne Unterschrift gültig (§ 37 Abs. 5 HVwVfG)") in request.text
    assert request.letter.contact_person is None
    certificate = rendered[DocumentKind.DEEMED_APPROVAL_CERTIFICATE, "usingen"]
    assert squeezed("als genehmigt gilt") in certificate.text


def test_pdf_a_metadata_and_every_font_embedded(
    rendered: dict[tuple[DocumentKind, str], Rendered],
) -> None:
    for document in (rendered[kind, "usingen"] for kind in DocumentKind):
        reader = document.reader
        xmp = reader.xmp_metadata
        assert xmp is not None
        rdf = xmp.rdf_root.toxml()
        assert 'pdfaid:part="3"' in rdf
        assert 'pdfaid:conformance="B"' in rdf
        assert reader.metadata is not None
        assert reader.metadata.title
        assert document.letter.reference in reader.metadata.title
        assert reader.metadata.author == document.letter.issuing_authority
        catalog: Any = reader.trailer["/Root"]
        assert catalog.get("/Lang") == "de"
        fonts = 0
        for page in reader.pages:
            resources: Any = page["/Resources"]
            for font in resources["/Font"].values():
                font = font.get_object()
                descriptor = font.get("/FontDescriptor")
                if descriptor is None:  # a composite font: its descendant describes it
                    descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                descriptor = descriptor.get_object()
                assert "/FontFile2" in descriptor or "/FontFile3" in descriptor, font
                assert "DejaVu" in str(font["/BaseFont"])
                fonts += 1
        assert fonts > 0


def test_subjects_name_the_applicant_and_never_staff() -> None:
    decision = letter_of(road_opening_decided("usingen"), DocumentKind.DECISION)
    assert Subjects.APPLICANT in decision.subjects
    assert Subjects.CASE_TEXT in decision.subjects  # the justification
    assert not any(subject.startswith("actor:") for subject in decision.subjects)
    assert decision.contact_person == "Anna Schmidt"  # shown, yet not a subject
    assert decision.addressee_subject == Subjects.APPLICANT
    labels = {item.label: item.text for item in decision.particulars}
    assert "Zeitraum der Arbeiten" in labels  # the road opening's works period
    assert "Sicherheitsleistung" not in labels  # none required of works this size
    charge = letter_of(charge_assessed("neu-anspach"), DocumentKind.CHARGE_ASSESSMENT)
    assert charge.addressee_subject == DEBTOR
    assert DEBTOR in charge.subjects
    assert charge.address.name == "Jonas Käufer"


def test_an_erased_applicant_shows_geloescht_and_is_no_subject(
    renderer: WeasyPrintRenderer,
) -> None:
    letter = letter_of(applicant_erased(decided("schmitten")), DocumentKind.DECISION)
    assert letter.address.name == ERASED_TEXT
    assert set(letter.address.lines) <= {ERASED_TEXT + " " + ERASED_TEXT}
    assert letter.costs is not None
    assert letter.costs.debtor == ERASED_TEXT
    assert Subjects.APPLICANT not in letter.subjects
    assert ERASED_TEXT in renderer.html(letter)


def test_records_of_old_events_without_the_notices_parts_still_make_a_letter() -> None:
    """Decisions and charge assessments recorded before their notices' parts existed."""
    case = decided("usingen")
    assert case.decision is not None
    case.decision = replace(
        case.decision, operative_part=None, hearing=None, issuing_authority=None, costs=None
    )
    letter = letter_of(case, DocumentKind.DECISION)
    assert letter.operative_part == ("Die beantragte Genehmigung wird erteilt.",)
    assert letter.issuing_authority == "Der Magistrat der Stadt Usingen"
    assert letter.costs is None
    assert [item.label for item in letter.reasoning] == ["Gründe", "Rechtsgrundlage"]
    permit = charge_assessed("glashuetten")
    assert isinstance(permit, SewerConnection)
    assert permit.charge is not None
    permit.charge = replace(
        permit.charge,
        legal_basis=None,
        tariff_day=None,
        debtor=None,
        debtor_address=None,
        remedy_notice=None,
        payment_note=None,
        issuing_authority=None,
    )
    charge = letter_of(permit, DocumentKind.CHARGE_ASSESSMENT)
    assert charge.address.name == "Sabine Roth"  # the owner in the application
    assert "owner" in charge.subjects
    assert charge.issuing_authority == "Der Gemeindevorstand der Gemeinde Glashütten"
    assert charge.remedy_notice is not None
    assert "Widerspruch" in charge.remedy_notice
    assert charge.costs is not None
    assert "§ 12" in charge.costs.legal_basis


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_compose_refuses_a_kind_the_case_has_no_record_for(kind: DocumentKind) -> None:
    case = submitted("usingen")
    with pytest.raises(InvalidCommand) as refused:
        letter_of(case, kind)
    assert refused.value.field == "kind"
    if kind is DocumentKind.INFORMATION_REQUEST:
        return
    assert case.next_document_number() == 1  # nothing recorded


def test_amounts_are_written_the_german_way() -> None:
    assert euro(Decimal("1234.5")) == "1.234,50 EUR"
    assert euro(Decimal("0")) == "0,00 EUR"
    assert euro(Decimal("1234567.891")) == "1.234.567,89 EUR"


# ------------------------------------------------------------------ templates


def templates_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, copy)
    return copy


def test_the_shipped_templates_pass_the_check(renderer: WeasyPrintRenderer) -> None:
    port: LetterRenderer = renderer  # the application's port, as mypy checks it
    port_version = port.template_version
    renderer.check_templates()
    assert renderer.template_version == port_version
    assert renderer.template_version.startswith("vorgang-letters-2026-12+")


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    templates = templates_copy(tmp_path)
    (templates / "decision.html.j2").write_text(
        '{% extends "base.html.j2" %}\n{% block content %}\n{% if letter.title %}\n{% endblock %}\n'
    )
    with pytest.raises(TemplateProblem) as problem:
        WeasyPrintRenderer(load_letterheads(), templates_dir=templates).check_templates()
    assert problem.value.template == "decision.html.j2"
    assert problem.value.line == 4
    assert "decision.html.j2" in str(problem.value)


def test_an_undefined_variable_in_a_towns_override_names_it(tmp_path: Path) -> None:
    templates = templates_copy(tmp_path)
    (templates / "glashuetten").mkdir()
    (templates / "glashuetten" / "charge_assessment.html.j2").write_text(
        '{% extends "base.html.j2" %}\n{% block content %}\n<p>{{ letter.title }}</p>\n'
        "<p>{{ letter.kassenzeichen }}</p>\n{% endblock %}\n"
    )
    renderer = WeasyPrintRenderer(load_letterheads(), templates_dir=templates)
    with pytest.raises(TemplateProblem) as problem:
        renderer.check_templates()
    assert problem.value.template == "glashuetten/charge_assessment.html.j2"
    assert problem.value.line == 4
    assert "kassenzeichen" in str(problem.value)


def test_a_changed_template_is_a_new_version(tmp_path: Path) -> None:
    templates = templates_copy(tmp_path)
    before = WeasyPrintRenderer(load_letterheads(), templates_dir=templates).template_version
    with (templates / "letter.css").open("a") as css:
        css.write("\nh1 { font-size: 14pt; }\n")
    after = WeasyPrintRenderer(load_letterheads(), templates_dir=templates).template_version
    assert before != after


# ------------------------------------------------------------------ letterheads


def test_every_town_has_a_valid_letterhead_with_the_configured_authorities() -> None:
    letterheads = load_letterheads()
    assert set(letterheads) == set(TENANTS)
    usingen = letterheads["usingen"]
    assert usingen.seat_lines == ("Wilhelmjstraße 1", "61250 Usingen")
    assert usingen.authorities.executive == "Der Magistrat der Stadt Usingen"
    assert all(iban_valid(lh.bank.iban) for lh in letterheads.values())


def test_a_wrong_iban_names_the_town_and_the_field(tmp_path: Path) -> None:
    broken = tmp_path / "letterheads.toml"
    text = LETTERHEADS_FILE.read_text()
    broken.write_text(text.replace("DE76512500000000434009", "DE77512500000000434009"))
    with pytest.raises(LetterheadProblem) as problem:
        load_letterheads(broken)
    assert (problem.value.town, problem.value.field) == ("schmitten", "bank.iban")
