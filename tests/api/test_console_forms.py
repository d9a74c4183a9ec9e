"""Console forms are generated from the command declarations: every declared step renders.

The walk covers every step of the shared lifecycle and of every service: its body renders to
labelled inputs (German words for the step, each field and each choice), and a filled-in
form parses back into the body model. A step whose body has a field of a type the console
cannot show fails here, as do German words missing for a new step, field or choice.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, Field
from starlette.datastructures import FormData

from api.console.forms import (
    ADD_ROW,
    ROW_FIELD,
    FormErrors,
    FormField,
    UnsupportedField,
    declared_steps,
    field_for,
    form_fields,
    has_german_label,
    parse_form,
    steps_for,
)
from api.console.labels import CHOICES, STEPS
from domain.case_steps import CASE_STEPS, Assignment, Decide, RequestInformation
from domain.commands import CommandBody, Step

SAMPLES = {"number_plate": "HG-AB 123"}
EVERY_STEP = [step for steps in declared_steps() for step in steps]
WITH_BODY = [step for step in EVERY_STEP if step.body is not None]


def ids(step: Step) -> str:
    return f"{step.name}-{step.body.__name__ if step.body else 'none'}"


def sample(f: FormField, form: list[tuple[str, Any]]) -> None:
    """Fill an input with a value its type accepts (the first row of a list of models)."""
    if f.widget == "group":
        if not f.required:
            return  # an optional part (a holder's consent) may contradict the rest
        for child in f.children:
            sample(child, form)
        return
    if f.widget == "rows":
        for child in f.rows[0]:
            sample(child, form)
        return
    low = int(Decimal(f.minimum)) if f.minimum is not None else 1
    value = {
        "text": "Beispiel",
        "textarea": "Ein Beispieltext.",
        "integer": str(max(low, 1) if f.maximum is None else min(max(low, 1), int(f.maximum))),
        "decimal": (f.maximum or "12.50").replace(".", ","),
        "date": "2026-12-01",
        "time": "09:30",
        "select": f.options[0].value if f.options else "",
        "checkbox": "on",
        "uuid": "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "pairs": "Sortiment: 3",
    }.get(f.widget)
    if f.widget == "lines":
        value = {int: "1\n2", Decimal: "1,5", date: "2026-12-01"}.get(f.item, "Erstens\nZweitens")
    value = SAMPLES.get(f.name.rsplit(".", 1)[-1], value)  # text of a pattern
    assert value is not None, f.widget
    form.append((f.name, value))


def inputs(fields: tuple[FormField, ...]) -> list[FormField]:
    found: list[FormField] = []
    for f in fields:
        found.append(f)
        found.extend(inputs(f.children if f.widget == "group" else ()))
        for row in f.rows:
            found.extend(inputs(row))
    return found


def models_of(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The model and every model nested in it."""
    found = [model]
    for info in model.model_fields.values():
        for inner in _types_in(info.annotation):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                found.extend(models_of(inner))
    return found


def _types_in(annotation: Any) -> list[Any]:
    from typing import get_args

    return [annotation, *(t for arg in get_args(annotation) for t in _types_in(arg))]


def test_the_walk_covers_the_shared_lifecycle_and_every_service() -> None:
    assert len(EVERY_STEP) >= 80
    assert {step.name for step in CASE_STEPS} <= {step.name for step in EVERY_STEP}
    assert "works_started" in {step.name for step in EVERY_STEP}  # a service's own step


@pytest.mark.parametrize("step", EVERY_STEP, ids=ids)
def test_every_declared_step_has_a_german_name(step: Step) -> None:
    assert step.name in STEPS, f"add a German name for {step.name} to api/console/labels.py"


@pytest.mark.parametrize("step", WITH_BODY, ids=ids)
def test_every_declared_body_renders_with_german_labels_and_choices(step: Step) -> None:
    assert step.body is not None
    fields = form_fields(step.body)
    assert fields
    for model in models_of(step.body):
        for name, info in model.model_fields.items():
            assert has_german_label(model, name, info), (
                f"{model.__name__}.{name} has no German label: give the Field an "
                "x-label-de or add a row to api/console/labels.py"
            )
    for f in inputs(fields):
        assert f.label
        for option in f.options:
            assert option.value in CHOICES, f"{f.name}: no German words for {option.value!r}"


@pytest.mark.parametrize("step", WITH_BODY, ids=ids)
def test_every_declared_body_parses_back_from_a_filled_in_form(step: Step) -> None:
    assert step.body is not None
    filled: list[tuple[str, Any]] = []
    for f in form_fields(step.body):
        sample(f, filled)
    body = parse_form(step.body, FormData(filled))
    assert isinstance(body, step.body)
    step(body)  # the step takes it as its command's body


def test_a_body_with_a_field_of_an_unsupported_type_is_refused_when_its_form_is_built() -> None:
    class Odd(CommandBody):
        tags: set[str]

    class Either(CommandBody):
        value: int | str

    with pytest.raises(UnsupportedField, match=r"Odd\.tags"):
        form_fields(Odd)
    with pytest.raises(UnsupportedField, match=r"Either\.value"):
        form_fields(Either)


def test_a_field_without_german_words_is_found() -> None:
    class Fresh(CommandBody):
        flux_capacity: int = Field(ge=1)

    (f,) = form_fields(Fresh)
    assert f.label == "Flux capacity"  # readable, but the walk above refuses it
    assert not has_german_label(Fresh, "flux_capacity", Fresh.model_fields["flux_capacity"])


def test_the_decision_form_offers_inputs_by_type() -> None:
    fields = {f.name: f for f in inputs(form_fields(Decide))}
    assert fields["outcome"].widget == "select"
    assert fields["outcome"].required
    assert [o.label for o in fields["outcome"].options] == [
        "Genehmigt",
        "Genehmigt mit Nebenbestimmungen",
        "Abgelehnt",
    ]
    assert fields["justification"].widget == "textarea"
    assert fields["justification"].label == "Begründung"
    assert fields["legal_basis"].widget == "text"
    assert fields["legal_basis"].max_length == 300
    assert fields["conditions"].widget == "lines"
    assert fields["hearing_held_on"].widget == "date"
    assert not fields["hearing_held_on"].required
    assert fields["fee"].widget == "decimal"
    assert fields["fee"].minimum == "0"
    assert fields["provisions"].widget == "rows"
    assert fields["provisions.0.kind"].widget == "select"


def test_a_request_for_information_parses_one_question_per_line() -> None:
    form = FormData(
        [
            ("questions", "Bitte Lageplan nachreichen.\n\n  Wer ist Bauherr?  "),
            ("reply_by", "2026-12-15"),
            ("missing_documents", "on"),
        ]
    )
    body = parse_form(RequestInformation, form)
    assert body == RequestInformation(
        questions=["Bitte Lageplan nachreichen.", "Wer ist Bauherr?"],
        reply_by=date(2026, 12, 15),
        missing_documents=True,
    )
    unchecked = parse_form(
        RequestInformation, FormData([("questions", "A"), ("reply_by", "2026-12-15")])
    )
    assert isinstance(unchecked, RequestInformation)
    assert unchecked.missing_documents is False


def test_errors_come_back_in_german_at_their_input() -> None:
    form = FormData([("questions", ""), ("reply_by", "15.12.")])
    with pytest.raises(FormErrors) as raised:
        parse_form(RequestInformation, form)
    assert raised.value.errors == {
        "questions": ["Bitte mindestens einen Eintrag angeben."],
        "reply_by": ["Bitte ein gültiges Datum angeben."],
    }


def test_an_error_in_a_line_names_its_line() -> None:
    too_long = "x" * 5001
    form = FormData([("questions", f"Erste Frage\n\n{too_long}"), ("reply_by", "2026-12-15")])
    with pytest.raises(FormErrors) as raised:
        parse_form(RequestInformation, form)
    assert raised.value.errors == {"questions": ["Zeile 3: Höchstens 5000 Zeichen."]}


def test_a_nested_model_is_a_fieldset_of_dotted_inputs() -> None:
    fields = form_fields(Assignment)
    assignee = fields[0]
    assert assignee.widget == "group"
    assert [c.name for c in assignee.children] == ["assignee.id", "assignee.name"]
    body = parse_form(
        Assignment,
        FormData(
            [("assignee.id", "ben.weber"), ("assignee.name", "Ben Weber"), ("reason", "Urlaub")]
        ),
    )
    assert isinstance(body, Assignment)
    assert body.assignee.id == "ben.weber"
    with pytest.raises(FormErrors) as raised:
        parse_form(Assignment, FormData([("assignee.name", "Ben Weber"), ("reason", "Urlaub")]))
    assert raised.value.errors == {"assignee.id": ["Bitte ausfüllen."]}


def test_rows_of_a_list_of_models_skip_blank_ones_and_name_the_row_shown() -> None:
    form = FormData(
        [
            ("outcome", "approved_with_conditions"),
            ("justification", "Passt."),
            ("legal_basis", "§ 16 HStrG"),
            ("fee", "1.234,50"),
            (f"{ROW_FIELD}.provisions", "3"),
            ("provisions.0.kind", ""),
            ("provisions.0.text", ""),
            ("provisions.1.kind", "time_limit"),
            ("provisions.1.text", "Bis Ende 2027."),
            ("provisions.2.kind", "condition"),
            ("provisions.2.text", ""),
        ]
    )
    with pytest.raises(FormErrors) as raised:
        parse_form(Decide, form)
    assert raised.value.errors == {"provisions.2.text": ["Bitte ausfüllen."]}
    fixed = FormData([*form.multi_items()[:-1], ("provisions.2.text", "Unter der Bedingung.")])
    body = parse_form(Decide, fixed)
    assert isinstance(body, Decide)
    assert body.fee == Decimal("1234.50")
    assert [(p.kind, p.text) for p in body.provisions] == [
        ("time_limit", "Bis Ende 2027."),
        ("condition", "Unter der Bedingung."),
    ]


def test_one_more_row_is_shown_on_request() -> None:
    from api.console.forms import row_counts

    counts = row_counts(FormData([(f"{ROW_FIELD}.provisions", "1"), (ADD_ROW, "provisions")]))
    assert counts == {"provisions": 2}
    fields = {f.name: f for f in form_fields(Decide, rows=counts)}
    assert len(fields["provisions"].rows) == 2


def test_an_api_problem_field_finds_its_input() -> None:
    fields = form_fields(Decide)
    assert field_for("provisions.0.text", fields) == "provisions.0.text"
    assert field_for("hearing_held_on", fields) == "hearing_held_on"
    assert field_for("conditions.2", fields) == "conditions"
    assert field_for("status", fields) == ""
    assert field_for("assignee.id", form_fields(Assignment)) == "assignee.id"


def test_the_steps_of_a_case_are_its_services_and_the_shared_ones() -> None:
    names = [step.name for step in steps_for("road-opening")]
    assert "works_started" in names
    assert "claim" in names
    assert all(s.name != "works_started" for s in steps_for("no-such-service"))


def test_uuid_and_select_defaults_are_shown_as_text() -> None:
    from domain.case_steps import BillTo, RemedyObjection

    (customer,) = form_fields(BillTo)
    assert customer.widget == "uuid"
    body = parse_form(BillTo, FormData([("business_customer", str(UUID(int=5)))]))
    assert isinstance(body, BillTo)
    fields = {f.name: f for f in form_fields(RemedyObjection)}
    assert fields["costs_borne_by"].default == "authority"
    assert fields["new_decision"].default is True
